/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Restoring saved VM and vCPU state (include/hvcore/vm.h, "Restore").
 *
 * KVM has no counterpart: these are the fields a process that models
 * KVM's VMs (hvcapd) must put back after a restart, and that no guest
 * write reaches directly.  Every value is checked against what the
 * vCPU's host and CPUID allow, so that a restored vCPU is one that some
 * sequence of calls could have produced; the derived state (runtime
 * CPUID bits, APICv activity) is then computed as the rules compute it.
 */

#include <errno.h>

#include "vm-internal.h"

#define ERAP_CONTROL_KNOWN (ERAP_CONTROL_ALLOW_LARGER_RAP | ERAP_CONTROL_CLEAR_RAP)

static int refuse(const char **ret_why, const char *why, int r)
{
	if (ret_why)
		*ret_why = why;
	return r;
}

/* Whether apic_base is a value hv_vcpu_set_apic_base() would accept from the host. */
static bool apic_base_is_valid(const struct hv_vcpu *vcpu, uint64_t value)
{
	uint64_t reserved = hv_rsvd_bits_from(vcpu->maxphyaddr) | HV_APIC_BASE_RESERVED_LOW;

	if (!hv_guest_cpu_cap_has(vcpu, X86_FEATURE_X2APIC))
		reserved |= HV_APIC_BASE_EXTD;
	if (value & reserved)
		return false;
	/* EXTD without EN: the mode KVM never enters. */
	return (value & (HV_APIC_BASE_ENABLE | HV_APIC_BASE_EXTD)) != HV_APIC_BASE_EXTD;
}

static const char *check_vcpu_state(const struct hv_vcpu *vcpu, const struct hv_vcpu_restore_state *s)
{
	bool svm = hv_vcpu_is_svm(vcpu);

	if ((s->vmcb01_erap_ctl | s->vmcb02_erap_ctl) & ~ERAP_CONTROL_KNOWN)
		return "erap_ctl has bits other than ALLOW_LARGER_RAP and CLEAR_RAP";
	if (!svm && (s->vmcb01_erap_ctl || s->vmcb02_erap_ctl))
		return "erap_ctl is an SVM control: a VMX vCPU has none";
	if (!svm && s->rap_dirty)
		return "the RAP flag is SVM's reading of a dirty CR3: a VMX vCPU has none";
	if (!apic_base_is_valid(vcpu, s->apic_base))
		return "the APIC base has reserved bits set or is in the invalid mode (EXTD without EN)";
	if (s->cr4 & vcpu->cr4_guest_rsvd_bits)
		return "CR4 has bits set that are reserved for this vCPU";
	if (s->cr3 != 0 && !hv_vcpu_is_legal_cr3(vcpu, s->cr3))
		return "CR3 is not legal for this vCPU (reserved bits, or LAM bits without LAM)";
	if (s->cr3 & HV_CR3_PCID_NOFLUSH)
		return "CR3 bit 63 is the PCID no-flush hint, which KVM strips";
	if (s->guest_mode && !(vcpu->vm->host.nested &&
			       hv_guest_cpu_cap_has(vcpu, svm ? X86_FEATURE_SVM : X86_FEATURE_VMX)))
		return "the vCPU runs L2, but nested virtualization is not enabled for it";
	if (s->guest_mode && !s->has_run)
		return "the vCPU runs L2 but has never run";
	return NULL;
}

int hv_vcpu_restore(struct hv_vcpu *vcpu, const struct hv_vcpu_restore_state *s, const char **ret_why)
{
	const char *why;
	int r;

	if (!vcpu || !s)
		return refuse(ret_why, "nothing to restore", -EINVAL);
	if (vcpu->has_run)
		return refuse(ret_why, "the vCPU has run: its state is its own", -EBUSY);
	why = check_vcpu_state(vcpu, s);
	if (why)
		return refuse(ret_why, why, -EINVAL);
	/* The only step that can fail comes first, so that a failure changes nothing. */
	if ((s->vmcb02_allocated || s->guest_mode) && vcpu->pages.vmcb02 == HV_NO_PAGE) {
		r = hv_vm_alloc_control_page(vcpu->vm, hv_vcpu_is_svm(vcpu) && vcpu->vm->host.snp,
					     &vcpu->pages.vmcb02);
		if (r < 0)
			return refuse(ret_why, "no page for vmcb02", r);
	}

	vcpu->has_run = s->has_run;
	vcpu->apic_base = s->apic_base;
	vcpu->cr3 = s->cr3;
	vcpu->cr4 = s->cr4;
	vcpu->vmcb01_erap_ctl = s->vmcb01_erap_ctl;
	vcpu->vmcb02_erap_ctl = s->vmcb02_erap_ctl;
	vcpu->guest_mode = s->guest_mode;
	vcpu->rap_dirty = s->rap_dirty;
	/* CPUID.1.EDX.APIC, OSXSAVE and OSPKE follow the restored APIC base and CR4. */
	hv_update_cpuid_runtime(vcpu);
	/* The state only: an APICv update would act on the memslot, which hv_vm_restore() sets. */
	hv_vcpu_update_apicv_state(vcpu);
	return 0;
}

int hv_vm_restore(struct hv_vm *vm, const struct hv_vm_restore_state *s, const char **ret_why)
{
	uint32_t reasons;

	if (!vm || !s)
		return refuse(ret_why, "nothing to restore", -EINVAL);
	if (s->apic_access_memslot_enabled && s->apic_access_memslot_inhibited)
		return refuse(ret_why, "the APIC access memslot cannot be both enabled and inhibited", -EINVAL);
	if (s->apic_access_memslot_inhibited && !vm->hybrid_avic)
		return refuse(ret_why, "only hybrid AVIC (AVIC without x2AVIC) inhibits the APIC access memslot",
			      -EINVAL);
	if (s->apic_access_memslot_enabled && !vm->host.enable_apicv)
		return refuse(ret_why, "the APIC access memslot exists only with APICv or AVIC", -EINVAL);
	if (s->apicv_inhibit_reasons & ~hv_apicv_required_inhibits(vm->host.vendor))
		return refuse(ret_why, "an APICv inhibit reason the vendor module does not use", -EINVAL);

	/* DISABLED says whether the host has APICv at all: the host decides it, not the saved state. */
	reasons = s->apicv_inhibit_reasons & ~BIT(APICV_INHIBIT_REASON_DISABLED);
	if (!vm->host.enable_apicv)
		reasons |= BIT(APICV_INHIBIT_REASON_DISABLED);

	vm->apic_access_memslot_enabled = s->apic_access_memslot_enabled;
	vm->apic_access_memslot_inhibited = s->apic_access_memslot_inhibited;
	vm->apicv_inhibit_reasons = reasons;
	for (size_t i = 0; i < vm->nr_vcpus; i++)
		hv_vcpu_update_apicv_state(vm->vcpus[i]);
	return 0;
}
