/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * What this machine's CPU, kernel and KVM say about themselves, and the
 * host record that both the KVM probe and hvcore's model produce.
 */

#include <stdbool.h>
#include <stdint.h>

#include <libcaps/cpuid.h>

/*
 * Execute the CPUID instruction for every leaf and sub-leaf the CPU
 * enumerates, following each leaf's own sub-leaf rule (see host-cpuid.c),
 * up to the maxima in leaves 0, 0x4000_0000 (when a hypervisor is
 * present), 0x8000_0000 and, on Centaur/Zhaoxin and Transmeta CPUs,
 * 0xC000_0000 and 0x8086_0000.  Indexed entries carry SIGNIFICANT_INDEX.
 * -E2BIG if the CPU enumerates more than CAPS_CPUID_MAX_ENTRIES entries.
 */
int caps_host_cpuid_read(struct caps_dump *ret);

/*
 * The kernel's view of the CPU: /proc/cpuinfo "flags" and "bugs" of the
 * first CPU, as blank-separated names.  Linux prints only the features
 * that carry a quoted name in cpufeatures.h, so a name's absence means
 * "cleared" only for the features the catalog marks CAPS_FF_PROC.
 */
#define CAPS_KERNEL_FLAGS_MAX 8192
#define CAPS_KERNEL_BUGS_MAX 1024

struct caps_kernel_flags {
	char flags[CAPS_KERNEL_FLAGS_MAX];
	char bugs[CAPS_KERNEL_BUGS_MAX];
};

/* Parse /proc/cpuinfo text (len bytes).  -ENOENT without a flags line. */
int caps_kernel_flags_parse(const char *text, size_t len, struct caps_kernel_flags *ret);
/* Read /proc/cpuinfo. */
int caps_kernel_flags_read(struct caps_kernel_flags *ret);
bool caps_kernel_has_flag(const struct caps_kernel_flags *k, const char *name);
bool caps_kernel_has_bug(const struct caps_kernel_flags *k, const char *name);

/* Where a host record came from. */
enum caps_backend {
	CAPS_BACKEND_KVM,	/* asked the running kernel through /dev/kvm */
	CAPS_BACKEND_MODEL,	/* computed by hvcore from a host description */
};

const char *caps_backend_to_string(enum caps_backend b);

/*
 * A module or model parameter.  The kvm backend records every file under
 * /sys/module/kvm/parameters and /sys/module/<vendor>/parameters; the
 * model records its own parameters with module "model".
 */
#define CAPS_PARAM_MAX 192
#define CAPS_PARAM_MODULE_MAX 32
#define CAPS_PARAM_NAME_MAX 64
#define CAPS_PARAM_VALUE_MAX 128

struct caps_param {
	char module[CAPS_PARAM_MODULE_MAX];
	char name[CAPS_PARAM_NAME_MAX];
	char value[CAPS_PARAM_VALUE_MAX];
};

/* A KVM_CHECK_EXTENSION answer. */
#define CAPS_KVM_CAP_MAX 64

struct caps_kvm_cap {
	uint32_t cap;		/* KVM_CAP_* number */
	const char *name;	/* "KVM_CAP_XSAVE2": static storage */
	int64_t value;		/* the ioctl's return value */
};

/* "hvcap1-" and 16 hex digits of a 64-bit FNV-1a hash. */
#define CAPS_FINGERPRINT_MAX 32

struct caps_host_record {
	enum caps_backend backend;
	char kernel_release[65];	/* uname -r; the model's target kernel */
	char vendor_module[CAPS_PARAM_MODULE_MAX];	/* "kvm_amd", "kvm_intel", "kvm_pvm", ... */
	int api_version;		/* KVM_GET_API_VERSION (12) */
	bool has_microcode;
	uint64_t microcode;

	struct caps_cpuid supported;	/* KVM_GET_SUPPORTED_CPUID */
	struct caps_cpuid emulated;	/* KVM_GET_EMULATED_CPUID */
	struct caps_msrs msrs;		/* feature MSRs: KVM_GET_MSRS on the system fd */
	struct caps features;		/* named features of supported + msrs */

	size_t n_params;
	struct caps_param params[CAPS_PARAM_MAX];
	size_t n_kvm_caps;
	struct caps_kvm_cap kvm_caps[CAPS_KVM_CAP_MAX];

	char fingerprint[CAPS_FINGERPRINT_MAX];
};

void caps_host_record_init(struct caps_host_record *r, enum caps_backend backend);

/* Append a parameter; -E2BIG when full, -ENAMETOOLONG when a field does not fit. */
int caps_host_record_add_param(struct caps_host_record *r, const char *module,
			       const char *name, const char *value);
/* The value of module.name, or NULL. */
const char *caps_host_record_param(const struct caps_host_record *r, const char *module,
				   const char *name);

/*
 * Fill r->features from r->supported and r->msrs, and r->fingerprint from
 * the kernel release, vendor module, parameters (sorted by module and
 * name), microcode, API version and supported CPUID entries, leaving out
 * the APIC IDs of the CPU that asked (1.EBX[31:24], 0xB/0x1F.EDX,
 * 0x8000_001E.EAX).  The hash is stable across runs, CPUs, byte orders
 * and parameter order.
 */
void caps_host_record_finish(struct caps_host_record *r);

/*
 * The value a feature MSR has in caps_dump/libvirt form: the VMX control
 * MSRs (0x48b, 0x48d..0x490) reduced to the controls that may be 1 but
 * need not be ((v >> 32) & ~(uint32_t)v, in bits 31:0), every other MSR
 * unchanged.  KVM_GET_MSRS returns raw values.
 */
uint64_t caps_msr_to_feature_form(uint32_t index, uint64_t raw);

/*
 * The kvm backend: ask this machine's KVM (host-probe.c, the one file
 * that opens /dev/kvm) and read the vendor module's parameters, the
 * kernel release and the microcode revision from /sys and /proc.
 */
struct caps_probe_error {
	char message[256];
};

/*
 * Probe this machine's KVM into *ret (backend kvm, finished with
 * caps_host_record_finish()).  -ENOENT: no /dev/kvm; -EACCES/-EPERM: no
 * permission; -ENXIO/-ENODEV as the kernel says; other -errno for ioctl
 * failures.  err->message says what failed, in words an operator
 * understands (e.g. "/dev/kvm: Permission denied (the kvm group or root
 * is needed)").  err may be NULL; on success its message is empty.
 */
int caps_host_probe_kvm(struct caps_host_record *ret, struct caps_probe_error *err);
