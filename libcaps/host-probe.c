/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The kvm backend: what this machine's KVM supports, asked through
 * /dev/kvm.  This is the only file in hvcap that opens /dev/kvm; every
 * ioctl here is a system ioctl (no VM, no vCPU is created).
 */

#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "host-internal.h"

/*
 * Capabilities newer than Debian 12's <linux/kvm.h> (Linux 6.1), with
 * their values from the newest upstream include/uapi/linux/kvm.h.
 */
#ifndef KVM_CAP_VM_TYPES
#define KVM_CAP_VM_TYPES 235
#endif
#ifndef KVM_CAP_X86_APIC_BUS_CYCLES_NS
#define KVM_CAP_X86_APIC_BUS_CYCLES_NS 237
#endif
#ifndef KVM_CAP_X86_GUEST_MODE
#define KVM_CAP_X86_GUEST_MODE 238
#endif

/*
 * The KVM_CHECK_EXTENSION answers a host record carries: the ones that
 * bound or shape what userspace can give a guest (vCPU counts, x2APIC
 * and exit controls, feature MSRs, nested state, XSAVE size, PMU, VM
 * types, TSC scaling, split irqchip, SGX, Hyper-V and hypercall exits,
 * notify VM exits, user-space MSRs, APIC bus frequency), plus the ones
 * that tell how to read this record (EXT_EMUL_CPUID gates the emulated
 * set) and the x86 exit and event controls of the same family.
 */
#define CAP(n) { KVM_CAP_##n, "KVM_CAP_" #n }
static const struct {
	uint32_t cap;
	const char *name;
} probed_caps[] = {
	CAP(NR_VCPUS),
	CAP(MAX_VCPUS),
	CAP(MAX_VCPU_ID),
	CAP(X2APIC_API),
	CAP(X86_DISABLE_EXITS),
	CAP(GET_MSR_FEATURES),
	CAP(NESTED_STATE),
	CAP(XSAVE2),
	CAP(PMU_CAPABILITY),
	CAP(VM_TYPES),
	CAP(TSC_CONTROL),
	CAP(SPLIT_IRQCHIP),
	CAP(SGX_ATTRIBUTE),
	CAP(HYPERV_CPUID),
	CAP(EXIT_HYPERCALL),
	CAP(X86_NOTIFY_VMEXIT),
	CAP(X86_USER_SPACE_MSR),
	CAP(X86_APIC_BUS_CYCLES_NS),
	CAP(EXT_EMUL_CPUID),
	CAP(XSAVE),
	CAP(XCRS),
	CAP(X86_SMM),
	CAP(EXCEPTION_PAYLOAD),
	CAP(X86_MSR_FILTER),
	CAP(X86_BUS_LOCK_EXIT),
	CAP(SYS_ATTRIBUTES),
	CAP(VM_TSC_CONTROL),
	CAP(X86_TRIPLE_FAULT_EVENT),
	CAP(VM_DISABLE_NX_HUGE_PAGES),
	CAP(X86_GUEST_MODE),
};
#undef CAP

_Static_assert(sizeof(probed_caps) / sizeof(probed_caps[0]) <= CAPS_KVM_CAP_MAX,
	       "a host record holds CAPS_KVM_CAP_MAX capabilities");

/*
 * KVM clamps nent to KVM_MAX_CPUID_ENTRIES (256) before it fills the
 * buffer, so asking for more never helps.  The first try is small so a
 * host's emulated set (a handful of entries) costs little.
 */
#define KVM_CPUID_NENT_MAX 256
#define KVM_CPUID_NENT_FIRST 32
_Static_assert(KVM_CPUID_NENT_MAX <= CAPS_CPUID_MAX_ENTRIES, "a host record holds KVM's CPUID");

/* Most hosts list fewer feature MSRs; KVM says how many it needs otherwise. */
#define KVM_MSR_LIST_FIRST 16
_Static_assert(KVM_MSR_LIST_FIRST <= CAPS_MSR_MAX, "the first list fits a host record");
/* KVM's list is fixed at module load; a list that keeps growing is a broken kernel. */
#define KVM_MSR_LIST_TRIES 4

static int open_error(int r, struct caps_probe_error *err)
{
	const char *hint;

	switch (r) {
	case -ENOENT:
		hint = "KVM is not available: load a KVM vendor module such as "
		       "kvm_intel or kvm_amd, or enable virtualization in the firmware";
		break;
	case -EACCES:
	case -EPERM:
		hint = "the kvm group or root is needed";
		break;
	case -ENXIO:
	case -ENODEV:
		hint = "no KVM vendor module serves the device: "
		       "is virtualization enabled in the firmware?";
		break;
	default:
		return caps_probe_error_set(err, r, "/dev/kvm: %s", strerror(-r));
	}
	return caps_probe_error_set(err, r, "/dev/kvm: %s (%s)", strerror(-r), hint);
}

static int ioctl_error(int r, const char *what, struct caps_probe_error *err)
{
	return caps_probe_error_set(err, r, "%s on /dev/kvm: %s", what, strerror(-r));
}

/* KVM_GET_SUPPORTED_CPUID or KVM_GET_EMULATED_CPUID into *set (empty). */
static int get_cpuid(int fd, unsigned long request, const char *what, struct caps_cpuid *set,
		     struct caps_probe_error *err)
{
	struct kvm_cpuid2 *c;
	uint32_t nent;
	int r;

	for (nent = KVM_CPUID_NENT_FIRST;; nent *= 2) {
		/*
		 * Zeroed: KVM_GET_EMULATED_CPUID fails with -EINVAL when any
		 * entry's padding is not zero (KVM's sanity_check_entries()).
		 */
		c = calloc(1, sizeof(*c) + nent * sizeof(c->entries[0]));
		if (!c)
			return caps_probe_error_set(err, -ENOMEM, "%s: %s", what, strerror(ENOMEM));
		c->nent = nent;
		if (ioctl(fd, request, c) == 0)
			break;
		r = -errno;
		free(c);
		/* KVM leaves nent as it was on -E2BIG: the size it needs is unknown, so double. */
		if (r != -E2BIG)
			return ioctl_error(r, what, err);
		if (nent >= KVM_CPUID_NENT_MAX)
			return caps_probe_error_set(err, -E2BIG,
						    "%s on /dev/kvm: more than %d entries",
						    what, KVM_CPUID_NENT_MAX);
	}

	r = 0;
	if (c->nent > nent) {
		r = caps_probe_error_set(err, -EPROTO,
					 "%s on /dev/kvm: KVM returned %u entries for %u",
					 what, c->nent, nent);
		goto out;
	}
	for (uint32_t i = 0; i < c->nent; i++) {
		const struct kvm_cpuid_entry2 *k = &c->entries[i];
		struct caps_cpuid_entry e = {
			.function = k->function, .index = k->index, .flags = k->flags,
			.eax = k->eax, .ebx = k->ebx, .ecx = k->ecx, .edx = k->edx,
		};

		r = caps_cpuid_add(set, &e);
		if (r < 0) {
			r = caps_probe_error_set(err, r,
						 "%s on /dev/kvm: entry 0x%x.0x%x (flags 0x%x): %s",
						 what, k->function, k->index, k->flags,
						 r == -EEXIST ? "listed twice" : strerror(-r));
			goto out;
		}
	}
out:
	free(c);
	return r;
}

/* KVM_GET_MSR_FEATURE_INDEX_LIST; *ret_list is malloc()ed. */
static int get_feature_msr_list(int fd, struct kvm_msr_list **ret_list,
				struct caps_probe_error *err)
{
	static const char what[] = "KVM_GET_MSR_FEATURE_INDEX_LIST";
	uint32_t n = KVM_MSR_LIST_FIRST;

	for (int tries = 0; tries < KVM_MSR_LIST_TRIES; tries++) {
		struct kvm_msr_list *l = calloc(1, sizeof(*l) + n * sizeof(l->indices[0]));
		uint32_t needed;
		int r;

		if (!l)
			return caps_probe_error_set(err, -ENOMEM, "%s: %s", what, strerror(ENOMEM));
		l->nmsrs = n;
		r = ioctl(fd, KVM_GET_MSR_FEATURE_INDEX_LIST, l) < 0 ? -errno : 0;
		/* Unlike the CPUID ioctls, KVM writes back the count it needs on -E2BIG. */
		needed = l->nmsrs;
		if (r == 0 && needed <= n) {
			*ret_list = l;
			return 0;
		}
		free(l);
		if (r == 0)
			return caps_probe_error_set(err, -EPROTO,
						    "%s on /dev/kvm: KVM returned %u MSRs for %u",
						    what, needed, n);
		if (r != -E2BIG)
			return ioctl_error(r, what, err);
		if (needed > CAPS_MSR_MAX)
			return caps_probe_error_set(err, -E2BIG,
						    "%s on /dev/kvm: KVM lists %u feature MSRs, "
						    "more than the %d a host record holds",
						    what, needed, CAPS_MSR_MAX);
		if (needed <= n)
			return caps_probe_error_set(err, -EPROTO,
						    "%s on /dev/kvm: -E2BIG for %u MSRs, "
						    "yet KVM needs %u",
						    what, n, needed);
		n = needed;
	}
	return caps_probe_error_set(err, -EPROTO, "%s on /dev/kvm: the list kept growing", what);
}

static int store_msrs(struct caps_msrs *msrs, const struct kvm_msr_entry *entries, int n,
		      struct caps_probe_error *err)
{
	for (int i = 0; i < n; i++) {
		int r = caps_msrs_add(msrs, entries[i].index, entries[i].data);

		if (r < 0)
			return caps_probe_error_set(err, r,
						    "KVM_GET_MSR_FEATURE_INDEX_LIST on /dev/kvm: "
						    "MSR 0x%x: %s", entries[i].index,
						    r == -EEXIST ? "listed twice" : strerror(-r));
	}
	return 0;
}

/* The feature MSRs, raw, through KVM_GET_MSRS on the system fd, into *msrs (empty). */
static int get_feature_msrs(int fd, struct caps_msrs *msrs, struct caps_probe_error *err)
{
	struct kvm_msr_list *list = NULL;
	struct kvm_msrs *m;
	size_t start = 0;
	int r;

	/* The list fits a host record: get_feature_msr_list() refuses longer ones. */
	r = get_feature_msr_list(fd, &list, err);
	if (r < 0)
		return r;
	m = calloc(1, sizeof(*m) + list->nmsrs * sizeof(m->entries[0]));
	if (!m) {
		r = caps_probe_error_set(err, -ENOMEM, "KVM_GET_MSRS: %s", strerror(ENOMEM));
		goto out_list;
	}

	while (start < list->nmsrs) {
		uint32_t count = list->nmsrs - (uint32_t)start;
		int done;

		memset(m, 0, sizeof(*m) + count * sizeof(m->entries[0]));
		m->nmsrs = count;
		for (uint32_t i = 0; i < count; i++)
			m->entries[i].index = list->indices[start + i];
		done = ioctl(fd, KVM_GET_MSRS, m);
		if (done < 0) {
			r = ioctl_error(-errno, "KVM_GET_MSRS", err);
			goto out;
		}
		if ((uint32_t)done > count) {
			r = caps_probe_error_set(err, -EPROTO,
						 "KVM_GET_MSRS on /dev/kvm: %d MSRs read of %u",
						 done, count);
			goto out;
		}
		r = store_msrs(msrs, m->entries, done, err);
		if (r < 0)
			goto out;
		/*
		 * KVM stops at the first MSR it refuses (msr_io()) and returns
		 * how many it read: skip the refused one, read on after it.
		 */
		start += (size_t)done + 1;
	}
	r = 0;
out:
	free(m);
out_list:
	free(list);
	return r;
}

static int check_extension(int fd, uint32_t cap, const char *name, int *ret,
			   struct caps_probe_error *err)
{
	int v = ioctl(fd, KVM_CHECK_EXTENSION, (unsigned long)cap);

	if (v < 0)
		return caps_probe_error_set(err, -errno, "KVM_CHECK_EXTENSION(%s) on /dev/kvm: %s",
					    name, strerror(errno));
	*ret = v;
	return 0;
}

static int probe_fd(int fd, struct caps_host_record *rec, struct caps_probe_error *err)
{
	int r, v;

	v = ioctl(fd, KVM_GET_API_VERSION, 0);
	if (v < 0)
		return ioctl_error(-errno, "KVM_GET_API_VERSION", err);
	rec->api_version = v;
	/* Every other ioctl's layout depends on it; 12 since Linux 2.6.22. */
	if (v != KVM_API_VERSION)
		return caps_probe_error_set(err, -EPROTONOSUPPORT,
					    "/dev/kvm: KVM API version %d, not %d",
					    v, KVM_API_VERSION);

	for (size_t i = 0; i < sizeof(probed_caps) / sizeof(probed_caps[0]); i++) {
		r = check_extension(fd, probed_caps[i].cap, probed_caps[i].name, &v, err);
		if (r < 0)
			return r;
		rec->kvm_caps[rec->n_kvm_caps++] = (struct caps_kvm_cap) {
			.cap = probed_caps[i].cap, .name = probed_caps[i].name, .value = v,
		};
	}

	r = get_cpuid(fd, KVM_GET_SUPPORTED_CPUID, "KVM_GET_SUPPORTED_CPUID", &rec->supported, err);
	if (r < 0)
		return r;

	/* Kernels before 3.13 lack the ioctl: no emulated set. */
	r = check_extension(fd, KVM_CAP_EXT_EMUL_CPUID, "KVM_CAP_EXT_EMUL_CPUID", &v, err);
	if (r < 0)
		return r;
	if (v > 0) {
		r = get_cpuid(fd, KVM_GET_EMULATED_CPUID, "KVM_GET_EMULATED_CPUID",
			      &rec->emulated, err);
		if (r < 0)
			return r;
	}

	/* Kernels before 4.17 have no feature MSRs on the system fd. */
	r = check_extension(fd, KVM_CAP_GET_MSR_FEATURES, "KVM_CAP_GET_MSR_FEATURES", &v, err);
	if (r < 0)
		return r;
	if (v > 0) {
		r = get_feature_msrs(fd, &rec->msrs, err);
		if (r < 0)
			return r;
	}
	return 0;
}

int caps_host_probe_kvm(struct caps_host_record *ret, struct caps_probe_error *err)
{
	struct caps_host_record *rec;
	int fd, r;

	if (err)
		err->message[0] = '\0';

	/* Read-write, as QEMU opens it: KVM checks nothing more for system ioctls. */
	fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (fd < 0)
		return open_error(-errno, err);

	rec = malloc(sizeof(*rec));
	if (!rec) {
		close(fd);
		return caps_probe_error_set(err, -ENOMEM, "host record: %s", strerror(ENOMEM));
	}
	caps_host_record_init(rec, CAPS_BACKEND_KVM);

	r = probe_fd(fd, rec, err);
	close(fd);
	if (r < 0)
		goto out;
	r = caps_host_sys_read_modules("/sys/module", rec, err);
	if (r < 0)
		goto out;
	r = caps_host_sys_read_system(rec, err);
	if (r < 0)
		goto out;

	caps_host_record_finish(rec);
	*ret = *rec;
out:
	free(rec);
	return r;
}
