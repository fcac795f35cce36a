/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * APICv inhibits and the APIC access memslot (KVM-SEMANTICS.md §4).
 *
 * SVM's hybrid AVIC (AVIC without x2AVIC) keeps AVIC on for a vCPU in
 * x2APIC mode, where KVM emulates the x2APIC MSRs and hardware does not
 * know the vCPU left xAPIC mode.  The APIC access page memslot would then
 * let the guest reach the virtual APIC page through MMIO, and the VM's
 * page tables are shared by all vCPUs, so KVM deletes the memslot for
 * good the first time a vCPU in x2APIC mode processes an APICv update.
 *
 * The §4(c) edge is kept as KVM has it: the inhibit fires only when a
 * vCPU in x2APIC mode processes an APICv update while the memslot
 * exists.  A memslot created later (a vCPU hot-plugged after a VM-wide
 * inhibit went away, while another vCPU already runs in x2APIC) stays
 * until some x2APIC vCPU processes its next update: an EN/EXTD change,
 * or a VM-wide inhibit transition.
 */

#include <errno.h>

#include "vm-internal.h"

/* MSR_IA32_APICBASE_BASE: the base address field KVM maps. */
#define APIC_BASE_ADDRESS_MASK	0xfffff000ull

static const char *const apicv_inhibit_names[] = {
#define HV_APICV_INHIBIT_NAME(name, bit) [bit] = #name,
	HV_APICV_INHIBITS(HV_APICV_INHIBIT_NAME)
#undef HV_APICV_INHIBIT_NAME
};

#define HV_APICV_INHIBIT_COUNT(name, bit) + 1
#define NR_APICV_INHIBIT_NAMES (0 HV_APICV_INHIBITS(HV_APICV_INHIBIT_COUNT))

/* As many names as reasons, and no value past the last: every reason has a name. */
_Static_assert(ARRAY_SIZE(apicv_inhibit_names) == NR_APICV_INHIBIT_REASONS,
	       "every APICv inhibit reason needs a name");
_Static_assert(NR_APICV_INHIBIT_NAMES == (int)NR_APICV_INHIBIT_REASONS,
	       "APICv inhibit reasons must be numbered 0..N-1 without gaps");
#undef NR_APICV_INHIBIT_NAMES
#undef HV_APICV_INHIBIT_COUNT

const char *hv_apicv_inhibit_name(enum hv_apicv_inhibit r)
{
	if ((unsigned)r >= NR_APICV_INHIBIT_REASONS)
		return NULL;
	return apicv_inhibit_names[r];
}

/* VMX_REQUIRED_APICV_INHIBITS: the reasons common to APICv and AVIC. */
#define VMX_REQUIRED_APICV_INHIBITS					\
	(BIT(APICV_INHIBIT_REASON_DISABLED) |				\
	 BIT(APICV_INHIBIT_REASON_HYPERV) |				\
	 BIT(APICV_INHIBIT_REASON_ABSENT) |				\
	 BIT(APICV_INHIBIT_REASON_BLOCKIRQ) |				\
	 BIT(APICV_INHIBIT_REASON_PHYSICAL_ID_ALIASED) |		\
	 BIT(APICV_INHIBIT_REASON_APIC_ID_MODIFIED) |			\
	 BIT(APICV_INHIBIT_REASON_APIC_BASE_MODIFIED))

/* AVIC_REQUIRED_APICV_INHIBITS: AVIC also needs the reasons only it has. */
#define AVIC_REQUIRED_APICV_INHIBITS					\
	(VMX_REQUIRED_APICV_INHIBITS |					\
	 BIT(APICV_INHIBIT_REASON_NESTED) |				\
	 BIT(APICV_INHIBIT_REASON_IRQWIN) |				\
	 BIT(APICV_INHIBIT_REASON_PIT_REINJ) |				\
	 BIT(APICV_INHIBIT_REASON_SEV) |				\
	 BIT(APICV_INHIBIT_REASON_LOGICAL_ID_ALIASED) |			\
	 BIT(APICV_INHIBIT_REASON_PHYSICAL_ID_TOO_BIG))

uint32_t hv_apicv_required_inhibits(enum hv_vendor vendor)
{
	return vendor == HV_VENDOR_AMD ? AVIC_REQUIRED_APICV_INHIBITS : VMX_REQUIRED_APICV_INHIBITS;
}

uint32_t hv_vm_apicv_inhibit_reasons(const struct hv_vm *vm)
{
	return vm->apicv_inhibit_reasons;
}

/* Models KVM's __kvm_set_or_clear_apicv_inhibit(). */
int hv_vm_set_or_clear_apicv_inhibit(struct hv_vm *vm, enum hv_apicv_inhibit reason, bool set)
{
	uint32_t old, new;

	if (!vm || (unsigned)reason >= NR_APICV_INHIBIT_REASONS)
		return -EINVAL;
	if (!(hv_apicv_required_inhibits(vm->host.vendor) & BIT(reason)))
		return 0;

	old = new = vm->apicv_inhibit_reasons;
	if (set)
		new |= BIT(reason);
	else
		new &= ~BIT(reason);
	vm->apicv_inhibit_reasons = new;

	/* Only a change between "none" and "some" matters to the vCPUs. */
	if (!!old != !!new)
		for (size_t i = 0; i < vm->nr_vcpus; i++)
			hv_vcpu_update_apicv(vm->vcpus[i]);
	return 0;
}

/* Models KVM's kvm_alloc_apic_access_page(). */
void hv_alloc_apic_access_page(struct hv_vm *vm)
{
	/* Once deleted, never again: hot-plugged vCPUs do not bring it back. */
	if (vm->apic_access_memslot_enabled || vm->apic_access_memslot_inhibited)
		return;
	vm->apic_access_memslot_enabled = true;
}

/* Models KVM's kvm_inhibit_apic_access_page(). */
static void inhibit_apic_access_page(struct hv_vcpu *vcpu)
{
	struct hv_vm *vm = vcpu->vm;

	/* No memslot, nothing to delete: the inhibit is not recorded either. */
	if (!vm->apic_access_memslot_enabled)
		return;
	/*
	 * KVM deletes the memslot first and clears "enabled" after, so that
	 * another vCPU never sees "disabled" while the memslot still exists.
	 */
	vm->apic_access_memslot_enabled = false;
	vm->apic_access_memslot_inhibited = true;
}

/* Models KVM's kvm_apic_mode(). */
static enum hv_apic_mode apic_mode_of(uint64_t apic_base)
{
	switch (apic_base & (HV_APIC_BASE_ENABLE | HV_APIC_BASE_EXTD)) {
	case 0:
		return HV_APIC_MODE_DISABLED;
	case HV_APIC_BASE_ENABLE:
		return HV_APIC_MODE_XAPIC;
	case HV_APIC_BASE_ENABLE | HV_APIC_BASE_EXTD:
		return HV_APIC_MODE_X2APIC;
	default:
		return HV_APIC_MODE_INVALID;
	}
}

enum hv_apic_mode hv_vcpu_apic_mode(const struct hv_vcpu *vcpu)
{
	return apic_mode_of(vcpu->apic_base);
}

/* The per-vCPU reasons (svm_vcpu_get_apicv_inhibit_reasons()): AVIC is off in L2. */
static uint32_t vcpu_apicv_inhibit_reasons(const struct hv_vcpu *vcpu)
{
	if (hv_vcpu_is_svm(vcpu) && vcpu->guest_mode)
		return BIT(APICV_INHIBIT_REASON_NESTED);
	return 0;
}

void hv_vcpu_update_apicv_state(struct hv_vcpu *vcpu)
{
	/* kvm_vcpu_apicv_activated(), and never with the APIC hardware-disabled. */
	vcpu->apicv_active = !vcpu->vm->apicv_inhibit_reasons && !vcpu_apicv_inhibit_reasons(vcpu) &&
			     hv_vcpu_apic_mode(vcpu) != HV_APIC_MODE_DISABLED;
}

void hv_vcpu_update_apicv(struct hv_vcpu *vcpu)
{
	if (hv_vcpu_apic_mode(vcpu) == HV_APIC_MODE_X2APIC && vcpu->vm->hybrid_avic)
		inhibit_apic_access_page(vcpu);
	hv_vcpu_update_apicv_state(vcpu);
}

bool hv_vcpu_is_apicv_active(const struct hv_vcpu *vcpu)
{
	return vcpu->apicv_active;
}

void hv_vcpu_create_apicv(struct hv_vcpu *vcpu)
{
	struct hv_vm *vm = vcpu->vm;
	uint32_t id = vcpu->vcpu_id;

	if (!vm->host.enable_apicv)
		return;
	if (!hv_vm_is_svm(vm)) {
		/* vmx_vcpu_create(): APIC accesses are virtualized, whatever the inhibits. */
		hv_alloc_apic_access_page(vm);
		return;
	}

	/* avic_init_backing_page(): the physical ID table has no entry for this id. */
	if ((!vm->host.x2avic && id > HV_AVIC_MAX_PHYSICAL_ID) || id > HV_X2AVIC_MAX_PHYSICAL_ID) {
		hv_vm_set_or_clear_apicv_inhibit(vm, APICV_INHIBIT_REASON_PHYSICAL_ID_TOO_BIG, true);
		vcpu->apicv_active = false;
		return;
	}
	/* AVIC walks the shared NPT, so the memslot is needed only while APICv is on. */
	if (!vm->apicv_inhibit_reasons)
		hv_alloc_apic_access_page(vm);
}

void hv_lapic_reset(struct hv_vcpu *vcpu)
{
	/* kvm_lapic_reset() at RESET: enabled xAPIC, BSP for the boot vCPU (id 0). */
	vcpu->apic_base = HV_APIC_BASE_DEFAULT | HV_APIC_BASE_ENABLE |
			  (vcpu->vcpu_id == 0 ? HV_APIC_BASE_BSP : 0);
}

/* Models KVM's kvm_apic_set_base() and __kvm_apic_set_base(). */
int hv_vcpu_set_apic_base(struct hv_vcpu *vcpu, uint64_t value, bool host_initiated)
{
	enum hv_apic_mode old_mode = hv_vcpu_apic_mode(vcpu);
	enum hv_apic_mode new_mode = apic_mode_of(value);
	uint64_t old = vcpu->apic_base;
	uint64_t reserved;

	if (value == old)
		return 0;

	/* kvm_vcpu_reserved_gpa_bits_raw(): from MAXPHYADDR, never the SEV C-bit. */
	reserved = hv_rsvd_bits_from(vcpu->maxphyaddr) | HV_APIC_BASE_RESERVED_LOW;
	if (!hv_guest_cpu_cap_has(vcpu, X86_FEATURE_X2APIC))
		reserved |= HV_APIC_BASE_EXTD;
	if ((value & reserved) || new_mode == HV_APIC_MODE_INVALID)
		return -EINVAL;
	/* The guest must go x2APIC -> disabled -> xAPIC, and xAPIC before x2APIC. */
	if (!host_initiated) {
		if (old_mode == HV_APIC_MODE_X2APIC && new_mode == HV_APIC_MODE_XAPIC)
			return -EINVAL;
		if (old_mode == HV_APIC_MODE_DISABLED && new_mode == HV_APIC_MODE_X2APIC)
			return -EINVAL;
	}

	vcpu->apic_base = value;
	/* CPUID.1.EDX.APIC follows IA32_APIC_BASE.EN (a runtime bit). */
	if ((old ^ value) & HV_APIC_BASE_ENABLE)
		hv_update_cpuid_runtime(vcpu);
	/*
	 * kvm_lapic_set_base(): an enabled APIC away from 0xFEE00000 inhibits
	 * APICv for good.  KVM compares the base address field (bits 31:12)
	 * only (MSR_IA32_APICBASE_BASE).
	 */
	if ((value & HV_APIC_BASE_ENABLE) && (value & APIC_BASE_ADDRESS_MASK) != HV_APIC_BASE_DEFAULT)
		hv_vm_set_or_clear_apicv_inhibit(vcpu->vm, APICV_INHIBIT_REASON_APIC_BASE_MODIFIED, true);
	if ((old ^ value) & (HV_APIC_BASE_ENABLE | HV_APIC_BASE_EXTD))
		hv_vcpu_update_apicv(vcpu);
	return 0;
}

uint64_t hv_vcpu_apic_base(const struct hv_vcpu *vcpu)
{
	return vcpu->apic_base;
}
