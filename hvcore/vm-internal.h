/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * The state of VMs and vCPUs, shared by hvcore/vm.c, vcpu.c, apic.c and
 * eraps.c.  KVM-SEMANTICS.md §2-§5 give the rules; the field comments
 * name the KVM state each field stands for.
 */

#include <hvcore/vm.h>

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define BIT(n) (1u << (n))
#define BIT_ULL(n) (1ull << (n))

/* CR4 bits (Intel SDM vol. 3, 2.5; AMD APM vol. 2, 3.1.3). */
#define HV_CR4_VME		BIT_ULL(0)
#define HV_CR4_PVI		BIT_ULL(1)
#define HV_CR4_TSD		BIT_ULL(2)
#define HV_CR4_DE		BIT_ULL(3)
#define HV_CR4_PSE		BIT_ULL(4)
#define HV_CR4_PAE		BIT_ULL(5)
#define HV_CR4_MCE		BIT_ULL(6)
#define HV_CR4_PGE		BIT_ULL(7)
#define HV_CR4_PCE		BIT_ULL(8)
#define HV_CR4_OSFXSR		BIT_ULL(9)
#define HV_CR4_OSXMMEXCPT	BIT_ULL(10)
#define HV_CR4_UMIP		BIT_ULL(11)
#define HV_CR4_LA57		BIT_ULL(12)
#define HV_CR4_VMXE		BIT_ULL(13)
#define HV_CR4_FSGSBASE		BIT_ULL(16)
#define HV_CR4_OSXSAVE		BIT_ULL(18)
#define HV_CR4_SMEP		BIT_ULL(20)
#define HV_CR4_SMAP		BIT_ULL(21)
#define HV_CR4_PKE		BIT_ULL(22)
#define HV_CR4_CET		BIT_ULL(23)

/* IA32_APIC_BASE bits 0-7 and 9 are reserved (Intel SDM vol. 3, 11.4.4). */
#define HV_APIC_BASE_RESERVED_LOW	0x2ffull

/*
 * XCR0 and IA32_XSS keep their RESET values (x87 only, 0): hvcore models
 * no XSETBV and no XSS writes.  The standard and compacted XSAVE sizes
 * for x87 alone are the 512-byte legacy region plus the 64-byte header.
 */
#define HV_XFEATURE_MASK_FP		BIT_ULL(0)
#define HV_XFEATURE_MASK_XTILE_DATA	BIT_ULL(18)
#define HV_XSAVE_RESET_SIZE		576u

/* Without CPUID 0x8000_0008, KVM assumes 36 physical address bits. */
#define HV_DEFAULT_MAXPHYADDR	36

/* No control page: what hv_vcpu_control_pages() reports. */
#define HV_NO_PAGE UINT64_MAX

struct hv_vm {
	struct hv_host host;
	uint32_t max_vcpus;
	struct hv_page_arena *arena;
	bool arena_is_private;		/* the VM made it and grows it */

	struct hv_vcpu **vcpus;		/* creation order (kvm_for_each_vcpu) */
	struct hv_vcpu **by_id;		/* sorted by vcpu_id */
	size_t nr_vcpus;
	size_t vcpus_size;		/* room in both arrays */

	/* kvm_x86_ops.allow_apicv_in_x2apic_without_x2apic_virtualization */
	bool hybrid_avic;
	bool apic_access_memslot_enabled;
	bool apic_access_memslot_inhibited;
	uint32_t apicv_inhibit_reasons;
};

struct hv_vcpu {
	struct hv_vm *vm;
	uint32_t vcpu_id;

	/* vcpu->arch.cpuid_entries/cpuid_nent: swapped whole by SET_CPUID2. */
	struct caps_cpuid *cpuid;
	struct caps cpu_caps;
	/* kvm_vcpu_has_run(): last_vmentry_cpu != -1. */
	bool has_run;

	/* Derived by kvm_vcpu_after_set_cpuid(). */
	int maxphyaddr;
	uint64_t reserved_gpa_bits;
	uint64_t guest_supported_xcr0;
	uint64_t cr4_guest_rsvd_bits;
	bool is_amd_compatible;

	uint64_t cr3;
	uint64_t cr4;
	uint64_t xcr0;
	uint64_t ia32_xss;
	uint64_t apic_base;
	bool apicv_active;		/* apic->apicv_active */

	/* SVM: erap_ctl of vmcb01 and vmcb02, and which one runs. */
	uint8_t vmcb01_erap_ctl;
	uint8_t vmcb02_erap_ctl;
	bool guest_mode;
	/* VCPU_EXREG_ERAPS, the alias of VCPU_EXREG_CR3 in regs_dirty. */
	bool rap_dirty;

	struct hv_vcpu_pages pages;
};

/* The words KVM tracks in cpu_caps (reverse_cpuid): kernel and KVM-only words. */
static inline bool hv_word_is_tracked(int word)
{
	const struct caps_word_info *wi;

	if (word < 0 || word >= NR_CAPS_WORDS)
		return false;
	wi = caps_word_info((enum caps_word)word);
	return wi->kind == CAPS_WORD_KERNEL || wi->kind == CAPS_WORD_KVM_ONLY;
}

static inline bool hv_vm_is_svm(const struct hv_vm *vm)
{
	return vm->host.vendor == HV_VENDOR_AMD;
}

static inline bool hv_vcpu_is_svm(const struct hv_vcpu *vcpu)
{
	return hv_vm_is_svm(vcpu->vm);
}

/* Bits [63:maxphyaddr]; none for 64 and above (KVM does not validate the leaf). */
static inline uint64_t hv_rsvd_bits_from(int maxphyaddr)
{
	if (maxphyaddr <= 0)
		return UINT64_MAX;
	if (maxphyaddr >= 64)
		return 0;
	return UINT64_MAX << maxphyaddr;
}

/* vcpu.c */
void hv_vcpu_cpuid_init(struct hv_vcpu *vcpu);
/* Models KVM's kvm_update_cpuid_runtime(). */
void hv_update_cpuid_runtime(struct hv_vcpu *vcpu);
/* Models KVM's kvm_register_mark_dirty(VCPU_EXREG_CR3) as SVM reads it. */
void hv_vcpu_mark_rap_dirty(struct hv_vcpu *vcpu);

/* apic.c */
/* Models KVM's kvm_vcpu_update_apicv(): the memslot check, then the state. */
void hv_vcpu_update_apicv(struct hv_vcpu *vcpu);
/* Models KVM's __kvm_vcpu_update_apicv(): apicv_active only. */
void hv_vcpu_update_apicv_state(struct hv_vcpu *vcpu);
/* Models KVM's kvm_alloc_apic_access_page(). */
void hv_alloc_apic_access_page(struct hv_vm *vm);
/* vCPU RESET of the local APIC: enabled xAPIC at the default base. */
void hv_lapic_reset(struct hv_vcpu *vcpu);
/* The AVIC part of vCPU creation (avic_init_backing_page()) and VMX's allocation. */
void hv_vcpu_create_apicv(struct hv_vcpu *vcpu);

/* eraps.c */
/* Models the ERAPS part of SVM's init_vmcb(). */
void hv_init_vmcb_eraps(struct hv_vcpu *vcpu);

/* arena.c */
uint64_t hv_page_arena_npages(const struct hv_page_arena *a);
/*
 * A full shared arena: ask its owner's grow hook for room for one more
 * allocation.  0 once the arena holds it; the hook's -errno; -ENOMEM
 * without a hook or when the hook did not grow the arena enough.
 */
int hv_page_arena_grow_by_hook(struct hv_page_arena *a);

/* vm.c */
/*
 * A control page from the VM's arena (SNP-safe if snp), growing a private
 * arena on demand and a shared one through its owner's grow hook.
 */
int hv_vm_alloc_control_page(struct hv_vm *vm, bool snp, uint64_t *ret_pfn);
