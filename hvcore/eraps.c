/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * ERAPS, AMD's Enhanced Return Address Predictor Security (Zen 5 and
 * later), as merged for Linux 7.0 (KVM-SEMANTICS.md §3).
 *
 * Hardware tags RAP entries host or guest and flushes the guest's on
 * MOV CR3, INVPCID and implicit TLB flushes; a guest runs with the
 * legacy 32-entry RAP unless the VMCB's erap_ctl sets ALLOW_LARGER_RAP,
 * and CLEAR_RAP makes the next VMRUN flush the RAP.  KVM emulates the
 * flushes hardware cannot see (CR3 writes KVM performs, guest TLB flush
 * requests, nested transitions, which hardware cannot tell apart by
 * ASID) by setting CLEAR_RAP.  Everything depends on the guest's ERAPS
 * capability, never on the host's alone: userspace owns the vCPU model.
 *
 * §3(c), decided: ALLOW_LARGER_RAP is set only by init_vmcb(), at vCPU
 * RESET (creation) and INIT, from the guest capability at that moment,
 * and nothing clears it.  A boot vCPU whose CPUID is set after creation
 * therefore runs with the 32-entry RAP until its first INIT, and a CPUID
 * that drops ERAPS before the first run leaves the bit set.  hvcore
 * keeps this as merged: init_vmcb() is the only writer of the bit in
 * the 7.0 code and in the 2026 kvm-x86 patches that touch it (the
 * register rename and the nested VMRUN rework); svm_vcpu_after_set_cpuid()
 * does not touch erap_ctl, and no upstream fix was found.
 */

#include <errno.h>

#include "vm-internal.h"

static uint8_t *current_erap_ctl(struct hv_vcpu *vcpu)
{
	return vcpu->guest_mode ? &vcpu->vmcb02_erap_ctl : &vcpu->vmcb01_erap_ctl;
}

void hv_init_vmcb_eraps(struct hv_vcpu *vcpu)
{
	if (hv_vcpu_is_svm(vcpu) && hv_guest_cpu_cap_has(vcpu, X86_FEATURE_ERAPS))
		*current_erap_ctl(vcpu) |= ERAP_CONTROL_ALLOW_LARGER_RAP;
}

/* Models KVM's svm_leave_nested(): back to vmcb01 without a #VMEXIT to L1. */
static void leave_nested(struct hv_vcpu *vcpu)
{
	vcpu->guest_mode = false;
	hv_vcpu_update_apicv_state(vcpu);
}

/* Models KVM's kvm_vcpu_reset(vcpu, true). */
void hv_vcpu_init(struct hv_vcpu *vcpu)
{
	/* INIT forces the vCPU out of L2 first. */
	if (vcpu->guest_mode)
		leave_nested(vcpu);
	hv_init_vmcb_eraps(vcpu);
	/* The APIC base survives INIT; CR3, CR4 and XCR0 do not. */
	vcpu->xcr0 = HV_XFEATURE_MASK_FP;
	vcpu->cr3 = 0;
	hv_vcpu_mark_rap_dirty(vcpu);
	vcpu->cr4 = 0;
	hv_update_cpuid_runtime(vcpu);
}

/* Models KVM's svm_flush_tlb_guest(). */
void hv_vcpu_flush_tlb_guest(struct hv_vcpu *vcpu)
{
	/* Hardware clears the RAP on every TLB flush, so KVM must on the emulated ones. */
	hv_vcpu_mark_rap_dirty(vcpu);
}

/* Models the ERAPS parts of KVM's svm_vcpu_run() and of the run loop. */
int hv_vcpu_run(struct hv_vcpu *vcpu, uint8_t *ret_erap_ctl)
{
	uint8_t *ctl = current_erap_ctl(vcpu);
	uint8_t used;

	vcpu->has_run = true;
	if (!hv_vcpu_is_svm(vcpu)) {
		if (ret_erap_ctl)
			*ret_erap_ctl = 0;
		return 0;
	}

	if (hv_guest_cpu_cap_has(vcpu, X86_FEATURE_ERAPS) && vcpu->rap_dirty)
		*ctl |= ERAP_CONTROL_CLEAR_RAP;
	used = *ctl;

	/* After VMRUN: regs_dirty = 0, and the flush request is spent. */
	vcpu->rap_dirty = false;
	/*
	 * KVM clears CLEAR_RAP on an ERAPS host whether or not the guest has
	 * ERAPS: the AND costs the same as the test.
	 */
	if (vcpu->vm->host.host_eraps)
		*ctl &= (uint8_t)~ERAP_CONTROL_CLEAR_RAP;
	if (ret_erap_ctl)
		*ret_erap_ctl = used;
	return 0;
}

/* L1 may run a nested guest: KVM's nested parameter and L1's SVM (or VMX) capability. */
static bool nested_is_enabled(const struct hv_vcpu *vcpu)
{
	return vcpu->vm->host.nested &&
	       hv_guest_cpu_cap_has(vcpu, hv_vcpu_is_svm(vcpu) ? X86_FEATURE_SVM : X86_FEATURE_VMX);
}

/* Models the ERAPS parts of KVM's nested_svm_vmrun() and nested_vmcb02_prepare_control(). */
int hv_vcpu_nested_run(struct hv_vcpu *vcpu, uint8_t vmcb12_erap_ctl, uint8_t *ret_vmcb02_erap_ctl)
{
	int r;

	if (!nested_is_enabled(vcpu) || vcpu->guest_mode)
		return -EINVAL;
	/*
	 * KVM allocates vmcb02 when L1 sets EFER.SVME (svm_allocate_nested()),
	 * which hvcore does not model: the first nested VMRUN stands for it.
	 * vmcb02 is a VMCB, so SNP-safe (§5(c)); on VMX it is vmcs02.
	 */
	if (vcpu->pages.vmcb02 == HV_NO_PAGE) {
		r = hv_vm_alloc_control_page(vcpu->vm, hv_vcpu_is_svm(vcpu) && vcpu->vm->host.snp,
					     &vcpu->pages.vmcb02);
		if (r < 0)
			return r;
	}

	/* L1 executes VMRUN inside KVM_RUN. */
	vcpu->has_run = true;
	vcpu->guest_mode = true;
	/*
	 * L1 decides whether L2 may use the larger RAP, and KVM always
	 * flushes the RAP on entry to L2: hardware would treat L1's and
	 * L2's entries alike.  Without ERAPS in L1, vmcb02 is left alone.
	 */
	if (hv_vcpu_is_svm(vcpu) && hv_guest_cpu_cap_has(vcpu, X86_FEATURE_ERAPS))
		vcpu->vmcb02_erap_ctl = (vmcb12_erap_ctl & ERAP_CONTROL_ALLOW_LARGER_RAP) |
					ERAP_CONTROL_CLEAR_RAP;
	/* x2APIC cannot change across a nested transition: no memslot check (§4). */
	hv_vcpu_update_apicv_state(vcpu);
	if (ret_vmcb02_erap_ctl)
		*ret_vmcb02_erap_ctl = vcpu->vmcb02_erap_ctl;
	return 0;
}

/* Models the ERAPS part of KVM's nested_svm_vmexit(). */
int hv_vcpu_nested_exit(struct hv_vcpu *vcpu)
{
	if (!vcpu->guest_mode)
		return -EINVAL;
	/* L1's next run must not consume return addresses L2 left behind. */
	if (hv_vcpu_is_svm(vcpu) && hv_guest_cpu_cap_has(vcpu, X86_FEATURE_ERAPS))
		vcpu->vmcb01_erap_ctl |= ERAP_CONTROL_CLEAR_RAP;
	vcpu->guest_mode = false;
	hv_vcpu_update_apicv_state(vcpu);
	return 0;
}

bool hv_vcpu_is_guest_mode(const struct hv_vcpu *vcpu)
{
	return vcpu->guest_mode;
}

uint8_t hv_vcpu_vmcb01_erap_ctl(const struct hv_vcpu *vcpu)
{
	return vcpu->vmcb01_erap_ctl;
}

uint8_t hv_vcpu_vmcb02_erap_ctl(const struct hv_vcpu *vcpu)
{
	return vcpu->vmcb02_erap_ctl;
}

bool hv_vcpu_is_rap_dirty(const struct hv_vcpu *vcpu)
{
	return vcpu->rap_dirty;
}

/* Models KVM's vmcb_is_full_rap_size_enabled() on the current VMCB. */
bool hv_vcpu_is_full_rap_size_enabled(const struct hv_vcpu *vcpu)
{
	uint8_t ctl = vcpu->guest_mode ? vcpu->vmcb02_erap_ctl : vcpu->vmcb01_erap_ctl;

	return ctl & ERAP_CONTROL_ALLOW_LARGER_RAP;
}
