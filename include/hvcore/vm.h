/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * The per-VM and per-vCPU core of KVM x86 as hvcore models it
 * (KVM-SEMANTICS.md §2-§5): guest cpu_caps and KVM_SET_CPUID2, ERAPS,
 * APIC access memslot inhibition and APICv inhibits, SNP-safe control
 * pages, MAXPHYADDR and LAM.  Where hvcore models a KVM function, the
 * function says so and keeps KVM's name with an hv_ prefix.
 *
 * Pure: no I/O, no logging, no globals.  Functions return 0 or -errno
 * and write ret_* outputs only on success.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <hvcore/model.h>
#include <libcaps/caps.h>
#include <libcaps/cpuid.h>

/* ------------------------------------------------------------------ */
/* The host a VM runs on: what the per-VM code needs of it. */

struct hv_host {
	enum hv_vendor vendor;
	bool tdp;			/* npt / ept */
	bool nested;
	bool enable_apicv;		/* AVIC (SVM) or APICv (VMX) in use */
	bool x2avic;			/* host 0x8000_000A.EDX[18] (SVM) */
	bool snp;			/* CC_ATTR_HOST_SEV_SNP: SNP initialised */
	bool host_eraps;		/* cpu_feature_enabled(X86_FEATURE_ERAPS) */
	bool amx_permitted;		/* ARCH_REQ_XCOMP_GUEST_PERM held */
	struct caps kvm_cpu_caps;	/* kvm_cpu_caps[] */
	uint64_t supported_xcr0;	/* kvm_caps.supported_xcr0 */
	uint64_t supported_xss;
	int host_maxphyaddr;		/* KVM's 0x8000_0008.EAX[7:0]; 36 if absent */
};

/*
 * A host from the model (kvm_cpu_caps, parameters, raw CPUID bits).
 * enable_apicv on AMD needs avic=, NPT and the CPU's AVIC (as
 * avic_hardware_setup()); snp needs snp= and the CPU's SEV_SNP, whatever
 * KVM's sev parameters say (CC_ATTR_HOST_SEV_SNP is the host kernel's).
 */
void hv_host_from_model(struct hv_host *ret, const struct hv_model_result *m,
			const struct hv_host_params *p);

/* ------------------------------------------------------------------ */
/* SNP-safe control pages (§5 rules 1-6, invariants 37-38). */

/* A page allocator over a range of page frame numbers [0, npages). */
struct hv_page_arena;

/* -E2BIG beyond 2^40 pages (52-bit physical addresses). */
int hv_page_arena_new(uint64_t npages, struct hv_page_arena **ret);
void hv_page_arena_free(struct hv_page_arena *a);
/*
 * Let the arena hold npages pages in all (the control plane's file
 * grows); -EINVAL for fewer than it holds now.
 */
int hv_page_arena_grow(struct hv_page_arena *a, uint64_t npages);

/*
 * Growth of a shared arena (one passed to hv_vm_new()), which hvcore
 * never grows by itself: what backs its pages belongs to its owner (for
 * hvcapd, the control plane's file).  When an allocation for a VM finds
 * the arena full, hvcore calls grow(data, npages) once, npages being the
 * size in all that fits one more allocation of either kind whatever is
 * free now (one new order-1 block past the end).
 * The owner extends what backs the pages, calls hv_page_arena_grow()
 * with npages or more, and returns 0; or returns -errno and leaves the
 * arena as it was, and the allocation (and the vCPU creation or nested
 * VMRUN that needed it) fails with that error, changing nothing.  A hook
 * that returns 0 without growing the arena enough makes the allocation
 * fail with -ENOMEM.  grow NULL (the default) removes the hook: a full
 * arena is -ENOMEM.  Private arenas grow on their own and never call it.
 */
void hv_page_arena_set_grow(struct hv_page_arena *a, int (*grow)(void *data, uint64_t npages), void *data);

/* Counters for leak checks: pages handed out and pages given back. */
uint64_t hv_page_arena_allocated(const struct hv_page_arena *a);
uint64_t hv_page_arena_freed(const struct hv_page_arena *a);
uint64_t hv_page_arena_in_use(const struct hv_page_arena *a);

/*
 * Models snp_safe_alloc_page_node().  With snp, allocate an order-1
 * (two-page, 8 KiB aligned) block, keep the page that is not 2 MiB
 * aligned (pfn % 512 != 0) and free the other; without, one page.
 * -ENOMEM when the arena is full.
 */
int hv_snp_safe_alloc_page(struct hv_page_arena *a, bool snp, uint64_t *ret_pfn);
/* Give a page back; a pfn that is not handed out is ignored. */
void hv_page_arena_free_page(struct hv_page_arena *a, uint64_t pfn);

/* ------------------------------------------------------------------ */
/* APICv inhibit reasons (§4(b)): value = bit in the inhibit mask. */

#define HV_APICV_INHIBITS(X) \
	X(DISABLED,		0) \
	X(HYPERV,		1) \
	X(ABSENT,		2) \
	X(BLOCKIRQ,		3) \
	X(PHYSICAL_ID_ALIASED,	4) \
	X(APIC_ID_MODIFIED,	5) \
	X(APIC_BASE_MODIFIED,	6) \
	X(NESTED,		7) \
	X(IRQWIN,		8) \
	X(PIT_REINJ,		9) \
	X(SEV,			10) \
	X(LOGICAL_ID_ALIASED,	11) \
	X(PHYSICAL_ID_TOO_BIG,	12)

enum hv_apicv_inhibit {
#define HV_APICV_INHIBIT_ENUM(name, bit) APICV_INHIBIT_REASON_##name = bit,
	HV_APICV_INHIBITS(HV_APICV_INHIBIT_ENUM)
#undef HV_APICV_INHIBIT_ENUM
	NR_APICV_INHIBIT_REASONS
};

/* "PHYSICAL_ID_TOO_BIG", or NULL for an unknown value. */
const char *hv_apicv_inhibit_name(enum hv_apicv_inhibit r);
/* The reasons the vendor honours (required_apicv_inhibits). */
uint32_t hv_apicv_required_inhibits(enum hv_vendor vendor);

/* AVIC physical ID table limits (xAVIC / x2AVIC, as read). */
#define HV_AVIC_MAX_PHYSICAL_ID		0xffu
#define HV_X2AVIC_MAX_PHYSICAL_ID	0x1ffu

/* ------------------------------------------------------------------ */
/* VMs and vCPUs. */

/* The VMCB ERAPS control byte (erap_ctl, control area +0x5D). */
#define ERAP_CONTROL_ALLOW_LARGER_RAP	(1u << 0)
#define ERAP_CONTROL_CLEAR_RAP		(1u << 1)

/* IA32_APIC_BASE bits. */
#define HV_APIC_BASE_BSP	(1ull << 8)
#define HV_APIC_BASE_EXTD	(1ull << 10)
#define HV_APIC_BASE_ENABLE	(1ull << 11)
#define HV_APIC_BASE_DEFAULT	0xfee00000ull

/* CR3/CR4 bits for LAM and PCID (§5 rule 8). */
#define HV_CR3_LAM_U57		(1ull << 61)
#define HV_CR3_LAM_U48		(1ull << 62)
#define HV_CR3_PCID_NOFLUSH	(1ull << 63)
#define HV_CR4_PCIDE		(1ull << 17)
#define HV_CR4_LAM_SUP		(1ull << 28)

enum hv_apic_mode {
	HV_APIC_MODE_DISABLED,
	HV_APIC_MODE_XAPIC,
	HV_APIC_MODE_X2APIC,
	HV_APIC_MODE_INVALID,	/* EXTD without EN: never reachable */
};

struct hv_vm;
struct hv_vcpu;

/*
 * A VM on host (copied).  max_vcpus bounds vCPU creation; the arena holds
 * the VM's control pages (VMCB, vmcb02, VMSA, AVIC backing) and must
 * outlive the VM; NULL gives the VM a private arena, which grows on
 * demand (a shared arena grows through hv_page_arena_set_grow()'s hook).
 * -EINVAL for max_vcpus == 0.
 */
int hv_vm_new(const struct hv_host *host, uint32_t max_vcpus, struct hv_page_arena *arena,
	      struct hv_vm **ret);
void hv_vm_free(struct hv_vm *vm);

const struct hv_host *hv_vm_host(const struct hv_vm *vm);
size_t hv_vm_vcpu_count(const struct hv_vm *vm);
/* The vCPU with that id, or NULL. */
struct hv_vcpu *hv_vm_vcpu(const struct hv_vm *vm, uint32_t vcpu_id);

/*
 * The vendor flag of §4 rule 1
 * (allow_apicv_in_x2apic_without_x2apic_virtualization): SVM with AVIC
 * enabled and no x2AVIC, i.e. hybrid AVIC.  Every VM on such a host
 * has it.
 */
bool hv_host_is_hybrid_avic(const struct hv_host *host);
/* SVM uses AVIC (avic=1, NPT, the CPU's AVIC); and in x2APIC mode too (x2AVIC). */
bool hv_host_is_avic_enabled(const struct hv_host *host);
bool hv_host_is_x2avic_enabled(const struct hv_host *host);
bool hv_vm_is_hybrid_avic(const struct hv_vm *vm);
bool hv_vm_is_apic_access_memslot_enabled(const struct hv_vm *vm);
bool hv_vm_is_apic_access_memslot_inhibited(const struct hv_vm *vm);

/* The VM-wide APICv inhibit reasons (bit = enum hv_apicv_inhibit). */
uint32_t hv_vm_apicv_inhibit_reasons(const struct hv_vm *vm);
/*
 * Models kvm_set_or_clear_apicv_inhibit(): reasons outside the vendor's
 * required mask are ignored; a transition between "none" and "some"
 * sends every vCPU an APICv update.  -EINVAL for an unknown reason.
 */
int hv_vm_set_or_clear_apicv_inhibit(struct hv_vm *vm, enum hv_apicv_inhibit reason, bool set);

/*
 * Models kvm_arch_vcpu_create() as far as the rules go: the SNP-safe
 * VMCB (and on SVM with APICv the AVIC backing page), PHYSICAL_ID_TOO_BIG
 * for an id beyond the AVIC/x2AVIC table, the APIC access memslot
 * allocation (a no-op once inhibited), vCPU RESET (xAPIC enabled at
 * 0xFEE00000, ALLOW_LARGER_RAP iff the guest has ERAPS, which a new vCPU
 * without CPUID does not), and the APICv update every creation raises.
 * -EEXIST for a used id, -E2BIG past max_vcpus, -ENOMEM.
 */
int hv_vcpu_create(struct hv_vm *vm, uint32_t vcpu_id, struct hv_vcpu **ret);

uint32_t hv_vcpu_id(const struct hv_vcpu *vcpu);

/* KVM_SET_CPUID2 (§2 rules 8-14, 16; invariants 25-27, 29). */
#define HV_CPUID_REASON_MAX 160
/*
 * 0, -E2BIG (nent > 256), -EINVAL (a kvm_check_cpuid() failure, or a
 * CPUID different from the current one after the vCPU has run), -EPERM
 * (AMX without permission), -EFAULT (entries NULL with nent > 0),
 * -ENOMEM.  On failure the vCPU's entries and cpu_caps are byte-for-byte
 * unchanged and *ret_why (if not NULL) points to a static sentence saying
 * why; on success *ret_why is not written.
 */
int hv_vcpu_set_cpuid(struct hv_vcpu *vcpu, const struct caps_cpuid_entry *entries, size_t nent,
		      const char **ret_why);
/*
 * KVM_GET_CPUID2: -E2BIG when *nent is too small (*nent unchanged), else
 * the entries and *nent.  The entries carry KVM's runtime bits.
 */
int hv_vcpu_get_cpuid(const struct hv_vcpu *vcpu, struct caps_cpuid_entry *buf, uint32_t *nent);
/* The number of entries KVM_GET_CPUID2 returns (cpuid_nent). */
uint32_t hv_vcpu_cpuid_nent(const struct hv_vcpu *vcpu);
/* True once the vCPU has entered the guest (KVM_RUN): CPUID is frozen. */
bool hv_vcpu_has_run(const struct hv_vcpu *vcpu);

/* The guest's capabilities (§2 rule 7): O(1) bit operations on cpu_caps. */
bool hv_guest_cpu_cap_has(const struct hv_vcpu *vcpu, int feature);
void hv_guest_cpu_cap_set(struct hv_vcpu *vcpu, int feature);
void hv_guest_cpu_cap_clear(struct hv_vcpu *vcpu, int feature);
void hv_guest_cpu_cap_change(struct hv_vcpu *vcpu, int feature, bool on);
/* The whole cpu_caps array. */
const struct caps *hv_vcpu_cpu_caps(const struct hv_vcpu *vcpu);
/* guest_cpuid_has(): the raw userspace CPUID entry, not cpu_caps. */
bool hv_guest_cpuid_has(const struct hv_vcpu *vcpu, int feature);

/* Derived state (§2 rule 5, §5 rules 9-13). */
int hv_vcpu_maxphyaddr(const struct hv_vcpu *vcpu);
uint64_t hv_vcpu_reserved_gpa_bits(const struct hv_vcpu *vcpu);
uint64_t hv_vcpu_guest_supported_xcr0(const struct hv_vcpu *vcpu);
uint64_t hv_vcpu_cr4_guest_rsvd_bits(const struct hv_vcpu *vcpu);

/* LAM and CR3/CR4 legality. */
bool hv_vcpu_is_legal_gpa(const struct hv_vcpu *vcpu, uint64_t gpa);
/* Models kvm_vcpu_is_legal_cr3(). */
bool hv_vcpu_is_legal_cr3(const struct hv_vcpu *vcpu, uint64_t cr3);
/* Models kvm_get_active_cr3_lam_bits(). */
uint64_t hv_vcpu_get_active_cr3_lam_bits(const struct hv_vcpu *vcpu);
/*
 * Models kvm_set_cr3(): with CR4.PCIDE bit 63 is the no-flush hint and
 * is stripped; an illegal CR3 is -EINVAL (#GP).  A change of CR3 marks
 * the RAP dirty (§3 rule 7), and with TDP so does any write without the
 * no-flush hint (kvm_invalidate_pcid() flushes the guest TLB).  hvcore
 * does not model paging modes: writes count as outside PAE paging.
 */
int hv_vcpu_set_cr3(struct hv_vcpu *vcpu, uint64_t cr3);
uint64_t hv_vcpu_cr3(const struct hv_vcpu *vcpu);
/*
 * CR4 writes: -EINVAL (#GP) for a reserved bit such as LAM_SUP without
 * LAM (hv_vcpu_cr4_guest_rsvd_bits()).  OSXSAVE/PKE update the runtime
 * CPUID bits; toggling PGE or clearing PCIDE flushes the guest TLB.
 */
int hv_vcpu_set_cr4(struct hv_vcpu *vcpu, uint64_t cr4);
uint64_t hv_vcpu_cr4(const struct hv_vcpu *vcpu);

/*
 * IA32_APIC_BASE writes (§4 rule 10): -EINVAL for reserved bits, the
 * invalid mode, and (guest writes only) x2APIC -> xAPIC and disabled ->
 * x2APIC.  An EN/EXTD change raises the vCPU's APICv update, which in
 * x2APIC mode under hybrid AVIC inhibits the APIC access memslot (§4
 * rules 2-3).  The same value again is a no-op success.
 */
int hv_vcpu_set_apic_base(struct hv_vcpu *vcpu, uint64_t value, bool host_initiated);
uint64_t hv_vcpu_apic_base(const struct hv_vcpu *vcpu);
enum hv_apic_mode hv_vcpu_apic_mode(const struct hv_vcpu *vcpu);
/* Whether APICv/AVIC is active on this vCPU. */
bool hv_vcpu_is_apicv_active(const struct hv_vcpu *vcpu);

/* ERAPS (§3). */
/* vCPU INIT: init_vmcb() again, ALLOW_LARGER_RAP iff the guest has ERAPS now. */
void hv_vcpu_init(struct hv_vcpu *vcpu);
/* svm_flush_tlb_guest(): hardware clears the RAP on a guest TLB flush. */
void hv_vcpu_flush_tlb_guest(struct hv_vcpu *vcpu);
/*
 * One VMRUN: pre-run sets CLEAR_RAP in the current VMCB when the guest
 * has ERAPS and the RAP is dirty; *ret_erap_ctl is the byte VMRUN used;
 * post-run clears the dirty flag and, on an ERAPS host, CLEAR_RAP.
 * Freezes CPUID.
 */
int hv_vcpu_run(struct hv_vcpu *vcpu, uint8_t *ret_erap_ctl);
/*
 * Nested VMRUN with vmcb12's erap_ctl: builds vmcb02 (if L1 has ERAPS:
 * (vmcb12 & ALLOW_LARGER_RAP) | CLEAR_RAP) and enters L2.  -EINVAL
 * without nested virtualization (the host's nested parameter and L1's
 * SVM, or VMX, capability) or when already in L2; -ENOMEM when the
 * first VMRUN cannot get vmcb02's page.  Freezes CPUID: L1 runs.
 */
int hv_vcpu_nested_run(struct hv_vcpu *vcpu, uint8_t vmcb12_erap_ctl, uint8_t *ret_vmcb02_erap_ctl);
/* Nested #VMEXIT: back to vmcb01, CLEAR_RAP set in it if L1 has ERAPS.  -EINVAL outside L2. */
int hv_vcpu_nested_exit(struct hv_vcpu *vcpu);
bool hv_vcpu_is_guest_mode(const struct hv_vcpu *vcpu);
uint8_t hv_vcpu_vmcb01_erap_ctl(const struct hv_vcpu *vcpu);
uint8_t hv_vcpu_vmcb02_erap_ctl(const struct hv_vcpu *vcpu);
bool hv_vcpu_is_rap_dirty(const struct hv_vcpu *vcpu);
/* Models vmcb_is_full_rap_size_enabled() on the current VMCB. */
bool hv_vcpu_is_full_rap_size_enabled(const struct hv_vcpu *vcpu);

/*
 * The vCPU's control pages (pfns in the arena); pages not allocated are
 * reported as UINT64_MAX.  On VMX, vmcb01/vmcb02 hold the VMCS pages.
 */
struct hv_vcpu_pages {
	uint64_t vmcb01;
	uint64_t vmcb02;	/* allocated at the first nested VMRUN */
	uint64_t avic_backing;	/* SVM with APICv */
};

void hv_vcpu_control_pages(const struct hv_vcpu *vcpu, struct hv_vcpu_pages *ret);

/* ------------------------------------------------------------------ */
/*
 * Restore: put a VM and its vCPUs back into a state they had, for a
 * process that saved them (hvcapd's state files) and rebuilds them after
 * a restart.  KVM has no such operation (a VMM migrating a VM restores
 * registers through KVM_SET_SREGS/KVM_SET_MSRS, which hvcore does not
 * model); the public API cannot reach these fields directly, because
 * erap_ctl, the RAP flag, guest mode and the memslot are the results of
 * histories, not values a guest writes.
 *
 * The order a restorer follows: hv_vm_new(), hv_vcpu_create() for every
 * vCPU in its creation order, hv_vcpu_set_cpuid() with the saved entries
 * (KVM_GET_CPUID2's, runtime bits included), hv_vcpu_restore() for every
 * vCPU, then hv_vm_restore().  Saved values come from the accessors
 * (hv_vcpu_has_run(), hv_vcpu_apic_base(), hv_vcpu_cr3(), hv_vcpu_cr4(),
 * hv_vcpu_vmcb01/02_erap_ctl(), hv_vcpu_is_guest_mode(),
 * hv_vcpu_is_rap_dirty(), hv_vcpu_control_pages(),
 * hv_vm_is_apic_access_memslot_enabled/inhibited(),
 * hv_vm_apicv_inhibit_reasons()).
 */
struct hv_vcpu_restore_state {
	bool has_run;			/* CPUID frozen */
	uint64_t apic_base;		/* IA32_APIC_BASE */
	uint64_t cr3;
	uint64_t cr4;
	uint8_t vmcb01_erap_ctl;	/* ERAP_CONTROL_* */
	uint8_t vmcb02_erap_ctl;
	bool guest_mode;		/* running L2 */
	bool rap_dirty;			/* VCPU_EXREG_ERAPS */
	bool vmcb02_allocated;		/* a nested VMRUN happened */
};

/*
 * Restore a vCPU whose CPUID is set and that has not run.  Validated
 * against the vCPU as it is (its host and CPUID), so that a state no
 * sequence of calls could reach is refused: -EINVAL for erap_ctl bits
 * other than ALLOW_LARGER_RAP/CLEAR_RAP (or any on VMX), an APIC base
 * with reserved bits or the invalid mode, an illegal CR3, reserved CR4
 * bits, guest mode without nested virtualization, a dirty RAP on VMX;
 * -EBUSY when the vCPU has run; -ENOMEM for vmcb02's page.  On failure
 * nothing changes and *ret_why (if not NULL) points to a static sentence.
 * The derived state follows: runtime CPUID bits, APICv activity.
 */
int hv_vcpu_restore(struct hv_vcpu *vcpu, const struct hv_vcpu_restore_state *s, const char **ret_why);

struct hv_vm_restore_state {
	bool apic_access_memslot_enabled;
	bool apic_access_memslot_inhibited;
	uint32_t apicv_inhibit_reasons;	/* bit = enum hv_apicv_inhibit */
};

/*
 * Restore the VM-wide state after its vCPUs: the APIC access memslot and
 * the APICv inhibit reasons, then every vCPU's APICv activity.  -EINVAL
 * (with *ret_why) for a memslot both enabled and inhibited, an inhibited
 * memslot without hybrid AVIC, an enabled one without APICv, or an
 * unknown inhibit reason; nothing changes then.
 */
int hv_vm_restore(struct hv_vm *vm, const struct hv_vm_restore_state *s, const char **ret_why);
