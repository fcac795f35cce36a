/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * The model of KVM's supported-CPUID computation (KVM-SEMANTICS.md §1):
 * from a host description to the CPUID KVM_GET_SUPPORTED_CPUID would
 * return, and for every catalog feature why it is or is not supported.
 * Pure code: no I/O, no logging, no globals.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <libcaps/host.h>

/* Kernel versions as major * 100 + minor: 7.0 is 700, 6.18 is 618. */
#define KVM_V(major, minor) ((major) * 100 + (minor))
#define HV_KERNEL_OLDEST KVM_V(6, 1)
#define HV_KERNEL_NEWEST KVM_V(7, 0)
#define HV_KERNEL_DEFAULT KVM_V(7, 0)

/* Which vendor module the model plays. */
enum hv_vendor {
	HV_VENDOR_INTEL,	/* kvm_intel: VMX */
	HV_VENDOR_AMD,		/* kvm_amd: SVM */
};

/*
 * Host parameters.  Defaults describe a stock kernel on that CPU: the
 * vendor from the CPUID vendor string, TDP and nested on, AVIC and SEV off
 * (they need firmware and module configuration a dump cannot show), the
 * PMU on, kernel 7.0.  docs/MODEL.md lists every parameter.
 */
struct hv_host_params {
	enum hv_vendor vendor;
	bool vendor_given;	/* vendor= was set, not derived */
	int kernel;		/* KVM_V(), HV_KERNEL_OLDEST..HV_KERNEL_NEWEST */
	bool tdp;		/* npt / ept */
	int tdp_level;		/* 4 or 5: paging levels of NPT/EPT */
	bool nested;
	bool avic;		/* x2AVIC follows the CPUID bit */
	bool sev;
	bool sev_es;
	bool snp;
	bool enable_pmu;
	bool amx_permitted;	/* the asking process has ARCH_REQ_XCOMP_GUEST_PERM */
	bool sched_info;	/* CONFIG_SCHED_INFO: steal time */
	/*
	 * The 7.0-rc3 fix: SYNTHESIZED_F needs the kernel's flag in KVM-only
	 * words too (before it, TSA_SQ_NO/TSA_L1_NO were set on every host).
	 * HV_TSA_FIX_AUTO follows the kernel version; stable trees may differ.
	 */
	enum { HV_TSA_FIX_AUTO, HV_TSA_FIX_ON, HV_TSA_FIX_OFF } tsa_fix;
};

/*
 * Fill p with the defaults for a host whose raw CPUID is raw.  -EINVAL
 * when the vendor is neither Intel/Zhaoxin/Centaur (VMX) nor AMD/Hygon
 * (SVM) and has to be given.
 */
int hv_host_params_init(struct hv_host_params *p, const struct caps_cpuid *raw);

/*
 * Apply one "key=value".  -EINVAL with a message in err naming the key
 * and, for an unknown key or a bad value, the valid ones.
 */
int hv_host_params_set(struct hv_host_params *p, const char *key, const char *value,
		       char *err, size_t err_size);

/* Parse "7.0" / "6.18" into KVM_V(); -EINVAL for anything else. */
int hv_kernel_version_parse(const char *s, int *ret);

/*
 * Model parameters that describe a probed host: the vendor from the
 * module name (or the CPUID vendor for other modules such as kvm_pvm),
 * the kernel from its release (clamped to the versions covered), nested,
 * npt/ept, AVIC and SEV from the vendor module's parameters, enable_pmu
 * from kvm's, and TDP from KVM's own 0x8000_0008.EAX[23:16] where the
 * module has no npt/ept parameter (KVM reports GuestPhysBits only with
 * TDP).  raw is the host's raw CPUID.  Returns 0, or -EINVAL when the
 * vendor cannot be told.
 */
int hv_host_params_from_record(struct hv_host_params *p, const struct caps_host_record *r,
			       const struct caps_cpuid *raw);

/* The list of parameter names, blank separated, for messages and --help. */
const char *hv_host_params_names(void);

/*
 * Why a feature is or is not supported.  Each reason has a stable name
 * (the API and `hvctl host features` show it) and a detail: a version, a
 * parameter, or the feature a leaf depends on.
 */
#define HV_REASONS(X) \
	X(SUPPORTED,			"supported") \
	X(NOT_IN_HOST_CPU,		"not_in_host_cpu") \
	X(DISABLED_BY_KERNEL,		"disabled_by_kernel") \
	X(NEVER_SUPPORTED_BY_KVM,	"never_supported_by_kvm") \
	X(KVM_TOO_OLD,			"kvm_older_than") \
	X(RUNTIME_ONLY,			"runtime_only") \
	X(VENDOR_CODE_CLEARS,		"vendor_code_clears") \
	X(VENDOR_CODE_DOES_NOT_SET,	"vendor_code_does_not_set") \
	X(NEEDS_TDP,			"needs_tdp") \
	X(NEEDS_NESTED,			"needs_nested") \
	X(NEEDS_PARAMETER,		"needs_parameter") \
	X(NEEDS_PMU,			"needs_pmu") \
	X(NEEDS_FEATURE,		"needs_feature") \
	X(KVM_CLEARS,			"kvm_clears") \
	X(NOT_REPORTED_BY_KVM,		"not_reported_by_kvm")

enum hv_reason {
#define HV_REASON_ENUM(id, name) HV_REASON_##id,
	HV_REASONS(HV_REASON_ENUM)
#undef HV_REASON_ENUM
	NR_HV_REASONS
};

const char *hv_reason_name(enum hv_reason r);

/* Notes on supported features: how KVM arrived at them. */
#define HV_NOTE_EMULATED	(1u << 0)	/* KVM emulates it; host support irrelevant */
#define HV_NOTE_SYNTHESIZED	(1u << 1)	/* KVM sets it without the raw CPUID bit */
#define HV_NOTE_PASSTHROUGH	(1u << 2)	/* supported although the host kernel clears it */
#define HV_NOTE_VIRT_HOLE	(1u << 3)	/* guests get it whatever their CPUID says */
#define HV_NOTE_VENDOR		(1u << 4)	/* set by the vendor module's code */
#define HV_NR_NOTES		5

/*
 * The names of the notes set in notes ("emulated", "synthesized",
 * "passthrough", "virtualization_hole", "vendor"), in that order, into
 * ret (room for HV_NR_NOTES); returns how many.
 */
size_t hv_note_names(uint8_t notes, const char *ret[HV_NR_NOTES]);

struct hv_feature_status {
	uint8_t reason;		/* enum hv_reason */
	uint8_t notes;		/* HV_NOTE_* */
	const char *detail;	/* static text, or NULL */
};

/*
 * The inputs: raw CPUID, optional kernel flags, parameters.  Linux prints
 * only some features in /proc/cpuinfo; kernel_cleared names features the
 * kernel cleared that flags cannot show (clearcpuid=, a config option).
 */
struct hv_host_desc {
	const struct caps_cpuid *raw;
	const struct caps_kernel_flags *kernel;	/* NULL: what a stock kernel keeps */
	const struct caps *kernel_cleared;	/* NULL: none */
	struct hv_host_params params;
};

/* The flag kinds of kvm_cpu_cap_init() (KVM-SEMANTICS.md §1(a) rule 6). */
#define HV_CAP_KINDS(X) \
	X(F,			"F") \
	X(X86_64_F,		"X86_64_F") \
	X(SCATTERED_F,		"SCATTERED_F") \
	X(EMULATED_F,		"EMULATED_F") \
	X(SYNTHESIZED_F,	"SYNTHESIZED_F") \
	X(PASSTHROUGH_F,	"PASSTHROUGH_F") \
	X(ALIASED_1_EDX_F,	"ALIASED_1_EDX_F") \
	X(VENDOR_F,		"VENDOR_F") \
	X(RUNTIME_F,		"RUNTIME_F")

enum hv_cap_kind {
#define HV_CAP_KIND_ENUM(id, name) HV_CAP_##id,
	HV_CAP_KINDS(HV_CAP_KIND_ENUM)
#undef HV_CAP_KIND_ENUM
	NR_HV_CAP_KINDS
};

const char *hv_cap_kind_name(enum hv_cap_kind k);

/*
 * How the newest kvm_set_cpu_caps() lists a feature (hvcore/kvm-caps.def):
 * 0 with its kind and the first kernel that lists it, or -ENOENT.
 */
int hv_kvm_cap_row(int feature, enum hv_cap_kind *ret_kind, int *ret_since);

struct hv_model_result {
	struct caps_host_record record;		/* backend model */
	struct caps kvm_cpu_caps;		/* kvm_cpu_caps[] after every fix-up */
	struct caps raw;			/* the raw features of the host */
	struct hv_feature_status status[CAPS_NR_FEATURE_IDS];
};

/*
 * Explain a probe of this machine's KVM with the model of this machine
 * (NULL when it could not be computed): where both support a feature, the
 * model's notes; where the model agrees KVM lacks it, the model's reason;
 * where the model expects a feature KVM does not report, the vendor
 * module is to ask (not_reported_by_kvm, with its name).
 */
void hv_explain_probe(const struct caps_host_record *probe, const struct hv_model_result *model,
		      struct hv_feature_status ret[CAPS_NR_FEATURE_IDS]);

/*
 * Compute what KVM on the described host would return from
 * KVM_GET_SUPPORTED_CPUID and KVM_GET_EMULATED_CPUID.  -EINVAL when the
 * description cannot be modelled (no leaf 0 or 1), -E2BIG when the
 * result would not fit KVM's 256 entries.
 */
int hv_model_compute(const struct hv_host_desc *desc, struct hv_model_result *ret);

/*
 * Copy a supported/emulated CPUID set out as KVM_GET_SUPPORTED_CPUID does
 * (KVM-SEMANTICS.md §1(a) rules 15 and 17): *nent < 1 or a buffer too
 * small for the set gives -E2BIG and leaves *nent alone; *nent above 256
 * counts as 256; on success *nent is the number of entries copied.
 */
int hv_get_cpuid(const struct caps_cpuid *set, struct caps_cpuid_entry *buf, uint32_t *nent);

/* A feature's status in words: "kvm_older_than 7.0", "needs_parameter sev". */
const char *hv_feature_status_string(const struct hv_feature_status *s, char *buf, size_t size);
