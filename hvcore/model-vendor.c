/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The speculation-control fix-ups of kvm_set_cpu_caps() and the vendor
 * modules' own: models svm_set_cpu_caps(), sev_set_cpu_caps() and
 * vmx_set_cpu_caps() (KVM-SEMANTICS.md §1(a) rules 9, 11, 14).
 */

#include "model-internal.h"

/* kvm_cpu_cap_check_and_set(): set only if the host kernel has it. */
static void cap_check_and_set(struct model *m, int feature, uint8_t note)
{
	if (model_kernel_has(m, feature))
		model_cap_set(m, feature, note);
	else
		model_cap_clear(m, feature, caps_has(&m->raw_caps, feature) ?
				HV_REASON_DISABLED_BY_KERNEL : HV_REASON_NOT_IN_HOST_CPU, NULL);
}

void spec_ctrl_fixups(struct model *m)
{
	/*
	 * Rule 9: on AMD, the separate IBPB/IBRS bits say what SPEC_CTRL
	 * would; Intel hosts have SPEC_CTRL in 7.0.EDX themselves.
	 */
	if (model_kernel_has(m, X86_FEATURE_AMD_IBPB_RET) && model_kernel_has(m, X86_FEATURE_AMD_IBPB) &&
	    model_kernel_has(m, X86_FEATURE_AMD_IBRS))
		model_cap_set(m, X86_FEATURE_SPEC_CTRL, HV_NOTE_SYNTHESIZED);
	if (m->lx.stibp)
		model_cap_set(m, X86_FEATURE_INTEL_STIBP, HV_NOTE_SYNTHESIZED);
	if (model_kernel_has(m, X86_FEATURE_AMD_SSBD))
		model_cap_set(m, X86_FEATURE_SPEC_CTRL_SSBD, HV_NOTE_SYNTHESIZED);

	/* Rule 11: and the other way round for 0x8000_0008.EBX. */
	if (m->lx.ibpb) {
		model_cap_set(m, X86_FEATURE_AMD_IBPB, HV_NOTE_SYNTHESIZED);
		if (model_kernel_has(m, X86_FEATURE_SPEC_CTRL) && !m->lx.bug_eibrs_pbrsb)
			model_cap_set(m, X86_FEATURE_AMD_IBPB_RET, HV_NOTE_SYNTHESIZED);
	}
	if (m->lx.ibrs)
		model_cap_set(m, X86_FEATURE_AMD_IBRS, HV_NOTE_SYNTHESIZED);
	if (m->lx.stibp)
		model_cap_set(m, X86_FEATURE_AMD_STIBP, HV_NOTE_SYNTHESIZED);
	if (model_kernel_has(m, X86_FEATURE_SPEC_CTRL_SSBD))
		model_cap_set(m, X86_FEATURE_AMD_SSBD, HV_NOTE_SYNTHESIZED);
	if (!m->lx.bug_spec_store_bypass)
		model_cap_set(m, X86_FEATURE_AMD_SSB_NO, HV_NOTE_SYNTHESIZED);
	/* The SPEC_CTRL MSR is preferred over the VIRT_SPEC_CTRL one. */
	if (m->lx.ls_cfg_ssbd && !model_kernel_has(m, X86_FEATURE_AMD_SSBD))
		model_cap_set(m, X86_FEATURE_VIRT_SSBD, HV_NOTE_SYNTHESIZED);
}

/* A VENDOR_F feature nested SVM offers when the host has it. */
static void svm_nested_cap(struct model *m, int feature, bool condition, enum hv_reason why,
			   const char *detail)
{
	if (!m->p->nested)
		model_status(m, feature, HV_REASON_NEEDS_NESTED, NULL);
	else if (!condition)
		model_status(m, feature, why, detail);
	else
		model_cap_set(m, feature, HV_NOTE_VENDOR);
}

void svm_set_cpu_caps(struct model *m)
{
	const struct hv_host_params *p = m->p;
	bool host_has;

	model_cap_clear(m, X86_FEATURE_IBT, HV_REASON_VENDOR_CODE_CLEARS, "svm");

	/* SVM's module parameters follow the hardware by default (svm_hardware_setup()). */
	svm_nested_cap(m, X86_FEATURE_SVM, true, HV_REASON_SUPPORTED, NULL);
	svm_nested_cap(m, X86_FEATURE_VMCBCLEAN, true, HV_REASON_SUPPORTED, NULL);
	svm_nested_cap(m, X86_FEATURE_FLUSHBYASID, true, HV_REASON_SUPPORTED, NULL);
	svm_nested_cap(m, X86_FEATURE_NRIPS, caps_has(&m->raw_caps, X86_FEATURE_NRIPS),
		       HV_REASON_NOT_IN_HOST_CPU, NULL);
	svm_nested_cap(m, X86_FEATURE_NPT, p->tdp, HV_REASON_NEEDS_TDP, NULL);
	svm_nested_cap(m, X86_FEATURE_TSCRATEMSR, caps_has(&m->raw_caps, X86_FEATURE_TSCRATEMSR),
		       HV_REASON_NOT_IN_HOST_CPU, NULL);
	host_has = caps_has(&m->raw_caps, X86_FEATURE_V_VMSAVE_VMLOAD);
	svm_nested_cap(m, X86_FEATURE_V_VMSAVE_VMLOAD, host_has && p->tdp,
		       host_has ? HV_REASON_NEEDS_TDP : HV_REASON_NOT_IN_HOST_CPU, NULL);
	svm_nested_cap(m, X86_FEATURE_LBRV, caps_has(&m->raw_caps, X86_FEATURE_LBRV),
		       HV_REASON_NOT_IN_HOST_CPU, NULL);
	svm_nested_cap(m, X86_FEATURE_PAUSEFILTER, model_kernel_has(m, X86_FEATURE_PAUSEFILTER),
		       HV_REASON_NOT_IN_HOST_CPU, NULL);
	svm_nested_cap(m, X86_FEATURE_PFTHRESHOLD, model_kernel_has(m, X86_FEATURE_PFTHRESHOLD),
		       HV_REASON_NOT_IN_HOST_CPU, NULL);
	svm_nested_cap(m, X86_FEATURE_VGIF, caps_has(&m->raw_caps, X86_FEATURE_VGIF),
		       HV_REASON_NOT_IN_HOST_CPU, NULL);
	/* vnmi = vgif && the vnmi parameter && host VNMI. */
	svm_nested_cap(m, X86_FEATURE_VNMI, caps_has(&m->raw_caps, X86_FEATURE_VNMI) &&
		       caps_has(&m->raw_caps, X86_FEATURE_VGIF), HV_REASON_NOT_IN_HOST_CPU, NULL);
	svm_nested_cap(m, X86_FEATURE_SVME_ADDR_CHK, true, HV_REASON_SUPPORTED, NULL);

	/* The vPMU: PERFCTR_CORE with enable_pmu; PERFMON_V2 only as PMU version 2. */
	if (!p->enable_pmu)
		model_status(m, X86_FEATURE_PERFCTR_CORE, HV_REASON_NEEDS_PMU, NULL);
	else if (model_kernel_has(m, X86_FEATURE_PERFCTR_CORE))
		model_cap_set(m, X86_FEATURE_PERFCTR_CORE, HV_NOTE_VENDOR);
	else
		model_status(m, X86_FEATURE_PERFCTR_CORE, HV_REASON_NOT_IN_HOST_CPU, NULL);
	if (!p->enable_pmu)
		model_cap_clear(m, X86_FEATURE_PERFMON_V2, HV_REASON_NEEDS_PMU, NULL);
	else if (!caps_has(&m->caps, X86_FEATURE_PERFCTR_CORE))
		model_cap_clear(m, X86_FEATURE_PERFMON_V2, HV_REASON_NEEDS_FEATURE, "perfctr_core");

	/* sev_set_cpu_caps(): SEV needs NPT; each level needs its parameter. */
	if (!p->sev || !p->tdp)
		model_status(m, X86_FEATURE_SEV, p->sev ? HV_REASON_NEEDS_TDP : HV_REASON_NEEDS_PARAMETER,
			     p->sev ? NULL : "sev");
	else
		cap_check_and_set(m, X86_FEATURE_SEV, HV_NOTE_VENDOR);
	if (!p->sev_es || !caps_has(&m->caps, X86_FEATURE_SEV))
		model_status(m, X86_FEATURE_SEV_ES, HV_REASON_NEEDS_PARAMETER, p->sev_es ? "sev" : "sev_es");
	else
		cap_check_and_set(m, X86_FEATURE_SEV_ES, HV_NOTE_VENDOR);
	if (!p->snp || !caps_has(&m->caps, X86_FEATURE_SEV_ES))
		model_status(m, X86_FEATURE_SEV_SNP, HV_REASON_NEEDS_PARAMETER, p->snp ? "sev_es" : "snp");
	else
		cap_check_and_set(m, X86_FEATURE_SEV_SNP, HV_NOTE_VENDOR);
	/* Secure TSC for SNP guests (6.18): with SNP, if the host has it. */
	if (caps_has(&m->caps, X86_FEATURE_SEV_SNP))
		cap_check_and_set(m, X86_FEATURE_SNP_SECURE_TSC, HV_NOTE_VENDOR);
	else
		model_status(m, X86_FEATURE_SNP_SECURE_TSC, HV_REASON_NEEDS_PARAMETER, "snp");

	/* SVM virtualizes SSBD through VIRT_SPEC_CTRL whenever the host can. */
	if (m->lx.ls_cfg_ssbd || model_kernel_has(m, X86_FEATURE_AMD_SSBD))
		model_cap_set(m, X86_FEATURE_VIRT_SSBD, HV_NOTE_VENDOR);

	/* Bus-lock #DB and MSR immediates are not virtualized by SVM (6.11, 6.18). */
	if (p->kernel >= KVM_V(6, 11))
		model_cap_clear(m, X86_FEATURE_BUS_LOCK_DETECT, HV_REASON_VENDOR_CODE_CLEARS, "svm");
	model_cap_clear(m, X86_FEATURE_MSR_IMM, HV_REASON_VENDOR_CODE_CLEARS, "svm");
}

void vmx_set_cpu_caps(struct model *m)
{
	const struct hv_host_params *p = m->p;

	if (p->nested)
		model_cap_set(m, X86_FEATURE_VMX, HV_NOTE_VENDOR);
	else
		model_status(m, X86_FEATURE_VMX, HV_REASON_NEEDS_NESTED, NULL);

	/*
	 * kvm_mpx_supported(): host MPX with the BNDREGS/BNDCSR state in XCR0
	 * (the VMX BNDCFGS controls come with MPX hardware).
	 */
	{
		const struct caps_cpuid_entry *d0 = caps_cpuid_find(m->raw, 0xd, 0);
		bool state = d0 && d0->index == 0 && (d0->eax & 0x18) == 0x18;

		if (state)
			cap_check_and_set(m, X86_FEATURE_MPX, HV_NOTE_VENDOR);
		else
			model_status(m, X86_FEATURE_MPX, caps_has(&m->raw_caps, X86_FEATURE_MPX) ?
				     HV_REASON_NEEDS_FEATURE : HV_REASON_NOT_IN_HOST_CPU,
				     caps_has(&m->raw_caps, X86_FEATURE_MPX) ? "bndregs and bndcsr xsave state" : NULL);
	}

	/* Intel PT for guests needs kvm_intel.pt_mode=1 (default 0). */
	model_status(m, X86_FEATURE_INTEL_PT, HV_REASON_NEEDS_PARAMETER, "kvm_intel.pt_mode=1");

	if (!p->enable_pmu)
		model_cap_clear(m, X86_FEATURE_PDCM, HV_REASON_NEEDS_PMU, NULL);

	/* DS/DTES64 need PEBS virtualization, which a dump cannot show. */
	model_status(m, X86_FEATURE_DS, HV_REASON_VENDOR_CODE_DOES_NOT_SET, "needs PEBS virtualization");
	model_status(m, X86_FEATURE_DTES64, HV_REASON_VENDOR_CODE_DOES_NOT_SET, "needs PEBS virtualization");

	/* WAITPKG: when the VMX "enable user wait and pause" control exists. */
	cap_check_and_set(m, X86_FEATURE_WAITPKG, HV_NOTE_VENDOR);

	/* UMIP is emulated with descriptor-table exiting where the CPU lacks it. */
	if (!caps_has(&m->caps, X86_FEATURE_UMIP))
		model_cap_set(m, X86_FEATURE_UMIP, HV_NOTE_EMULATED);

	/* SGX needs launch control for kvm_intel to enable it. */
	if (!model_kernel_has(m, X86_FEATURE_SGX_LC)) {
		static const int sgx[] = {
			X86_FEATURE_SGX, X86_FEATURE_SGX_LC, X86_FEATURE_SGX1, X86_FEATURE_SGX2,
			X86_FEATURE_SGX_EDECCSSA,
		};

		for (size_t i = 0; i < sizeof(sgx) / sizeof(sgx[0]); i++)
			model_cap_clear(m, sgx[i], HV_REASON_NEEDS_FEATURE, "sgx_lc");
	}
}
