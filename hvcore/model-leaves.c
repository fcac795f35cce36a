/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The leaves with more to them than a feature word: XSAVE, PMU, AMX, AVX10, KVM PV. */

#include "model-internal.h"

/* KVM_PMC_MAX_FIXED and the GP counter limits KVM enforces. */
#define KVM_MAX_NR_INTEL_GP_COUNTERS	8
#define KVM_MAX_NR_FIXED_COUNTERS	3
#define KVM_MAX_NR_AMD_GP_COUNTERS	6
#define AMD64_NUM_COUNTERS		4
#define AMD64_NUM_COUNTERS_CORE		6

void xsave_init(struct model *m)
{
	const struct caps_cpuid_entry *d0 = caps_cpuid_find(m->raw, 0xd, 0);
	const struct caps_cpuid_entry *d1 = caps_cpuid_find(m->raw, 0xd, 1);
	uint64_t host_xcr0 = 0, host_xss = 0;

	/*
	 * The host kernel enables every component the CPU reports and KVM
	 * knows; AMX tile data needs the asking process's guest permission
	 * (kvm_get_filtered_xcr0()), and tile config goes with it.
	 */
	if (d0 && d0->index == 0 && model_kernel_has(m, X86_FEATURE_XSAVE))
		host_xcr0 = d0->eax | (uint64_t)d0->edx << 32;
	if (d1 && d1->index == 1 && model_kernel_has(m, X86_FEATURE_XSAVES))
		host_xss = d1->ecx | (uint64_t)d1->edx << 32;
	m->permitted_xcr0 = host_xcr0 & m->kvm_supported_xcr0;
	if (!m->p->amx_permitted)
		m->permitted_xcr0 &= ~((1ull << 17) | (1ull << 18));
	/* VMX reports MPX state only with MPX itself. */
	if (!caps_has(&m->caps, X86_FEATURE_MPX))
		m->permitted_xcr0 &= ~((1ull << 3) | (1ull << 4));
	/* kvm_setup_xss_caps() (6.18): supervisor state needs XSAVES, CET state needs CET, and CET needs both. */
	m->permitted_xss = host_xss & m->kvm_supported_xss;
	if (!caps_has(&m->caps, X86_FEATURE_XSAVES))
		m->permitted_xss = 0;
	if (!caps_has(&m->caps, X86_FEATURE_SHSTK) && !caps_has(&m->caps, X86_FEATURE_IBT))
		m->permitted_xss &= ~((1ull << 11) | (1ull << 12));
	if ((m->permitted_xss & ((1ull << 11) | (1ull << 12))) != ((1ull << 11) | (1ull << 12))) {
		m->permitted_xss &= ~((1ull << 11) | (1ull << 12));
		if (m->p->kernel >= KVM_V(6, 18)) {
			model_cap_clear(m, X86_FEATURE_SHSTK, HV_REASON_NEEDS_FEATURE, "xsaves with cet_user and cet_kernel state");
			model_cap_clear(m, X86_FEATURE_IBT, HV_REASON_NEEDS_FEATURE, "xsaves with cet_user and cet_kernel state");
		}
	}
}

void pv_features_init(struct model *m)
{
	static const int always[] = {
		X86_FEATURE_KVM_CLOCKSOURCE, X86_FEATURE_KVM_NOP_IO_DELAY,
		X86_FEATURE_KVM_CLOCKSOURCE2, X86_FEATURE_KVM_ASYNC_PF, X86_FEATURE_KVM_PV_EOI,
		X86_FEATURE_KVM_PV_UNHALT, X86_FEATURE_KVM_PV_TLB_FLUSH,
		X86_FEATURE_KVM_ASYNC_PF_VMEXIT, X86_FEATURE_KVM_PV_SEND_IPI,
		X86_FEATURE_KVM_POLL_CONTROL, X86_FEATURE_KVM_PV_SCHED_YIELD,
		X86_FEATURE_KVM_ASYNC_PF_INT, X86_FEATURE_KVM_CLOCKSOURCE_STABLE_BIT,
	};

	m->pv_features = 0;
	for (size_t i = 0; i < sizeof(always) / sizeof(always[0]); i++)
		m->pv_features |= caps_feature_mask(always[i]);
	if (m->p->sched_info)
		m->pv_features |= caps_feature_mask(X86_FEATURE_KVM_STEAL_TIME);
	else
		model_status(m, X86_FEATURE_KVM_STEAL_TIME, HV_REASON_NEEDS_PARAMETER, "sched_info");
}

/* Intel's architectural PMU leaf, from kvm_pmu_cap (kvm_init_pmu_capability()). */
void pmu_leaf_0xa(struct model *m, struct caps_cpuid_entry *e)
{
	uint32_t version = e->eax & 0xff, gp = (e->eax >> 8) & 0xff, fixed = e->edx & 0x1f;
	bool arch_perfmon = model_kernel_flag(m, "arch_perfmon", m->host_intel && version > 0);

	if (!m->p->enable_pmu || !arch_perfmon || m->p->vendor != HV_VENDOR_INTEL) {
		e->eax = e->ebx = e->ecx = e->edx = 0;
		return;
	}
	if (version > 2)
		version = 2;
	if (gp > KVM_MAX_NR_INTEL_GP_COUNTERS)
		gp = KVM_MAX_NR_INTEL_GP_COUNTERS;
	if (fixed > KVM_MAX_NR_FIXED_COUNTERS)
		fixed = KVM_MAX_NR_FIXED_COUNTERS;
	/* EAX: version, counters, width, event mask length; EBX: unavailable events. */
	e->eax = version | gp << 8 | (e->eax & 0xffff0000);
	e->ecx = 0;
	/* EDX: fixed counters, their width, and AnyThread deprecated (bit 15). */
	e->edx = fixed | (e->edx & 0x1fe0) | (version ? 1u << 15 : 0);
}

void pmu_leaf_0x80000022(struct model *m, struct caps_cpuid_entry *e)
{
	uint32_t gp;

	e->ecx = e->edx = 0;
	if (!m->p->enable_pmu || !caps_has(&m->caps, X86_FEATURE_PERFMON_V2)) {
		model_leaf_filter(m, CPUID_8000_0022_EAX, m->p->enable_pmu ? HV_REASON_NEEDS_FEATURE :
				  HV_REASON_NEEDS_PMU, m->p->enable_pmu ? "perfmon_v2" : NULL);
		/* 6.5 .. 6.13 zeroed EBX after copying it into EAX. */
		e->eax = m->p->kernel < KVM_V(6, 14) ? e->ebx : 0;
		e->ebx = 0;
		return;
	}
	gp = e->ebx & 0xf;
	if (!gp)
		gp = caps_has(&m->caps, X86_FEATURE_PERFCTR_CORE) ? AMD64_NUM_COUNTERS_CORE : AMD64_NUM_COUNTERS;
	if (gp > KVM_MAX_NR_AMD_GP_COUNTERS)
		gp = KVM_MAX_NR_AMD_GP_COUNTERS;
	e->eax = m->caps.words[CPUID_8000_0022_EAX];
	e->ebx = gp;
}

void amx_leaf_0x1e(struct model *m, struct caps_cpuid *out, struct caps_cpuid_entry *e)
{
	if (!caps_has(&m->caps, X86_FEATURE_AMX_TILE)) {
		model_leaf_filter(m, CPUID_1E_1_EAX, HV_REASON_NEEDS_FEATURE, "amx_tile");
		e->eax = e->ebx = e->ecx = e->edx = 0;
		model_emit(m, out, e);
		return;
	}
	/* Sub-leaf 0: the TMUL limits, as the host reports them; 7.0 caps EAX at sub-leaf 1. */
	if (m->p->kernel >= m->since_1e_1 && e->eax > 1)
		e->eax = 1;
	model_emit(m, out, e);
	if (m->p->kernel >= m->since_1e_1) {
		struct caps_cpuid_entry s1 = model_host_start(m, 0x1e, 1);

		s1.eax = m->caps.words[CPUID_1E_1_EAX];
		s1.ebx = s1.ecx = s1.edx = 0;
		model_emit(m, out, &s1);
	} else {
		model_leaf_filter(m, CPUID_1E_1_EAX, HV_REASON_KVM_TOO_OLD, "7.0");
	}
}

void avx10_leaf_0x24(struct model *m, struct caps_cpuid *out, struct caps_cpuid_entry *e)
{
	uint32_t version;

	if (!caps_has(&m->caps, X86_FEATURE_AVX10)) {
		model_leaf_filter(m, CPUID_24_0_EBX, HV_REASON_NEEDS_FEATURE, "avx10");
		model_leaf_filter(m, CPUID_24_1_ECX, HV_REASON_NEEDS_FEATURE, "avx10");
		e->eax = e->ebx = e->ecx = e->edx = 0;
		model_emit(m, out, e);
		return;
	}
	version = e->ebx & 0xff;
	if (version > m->avx10_version_max)
		version = m->avx10_version_max;
	e->ebx = m->caps.words[CPUID_24_0_EBX] | version;
	e->ecx = e->edx = 0;
	if (m->p->kernel >= m->since_24_1) {
		struct caps_cpuid_entry s1 = model_host_start(m, 0x24, 1);

		e->eax = e->eax < 1 ? e->eax : 1;	/* highest sub-leaf, at most 1 */
		if (!e->eax) {
			model_emit(m, out, e);
			return;
		}
		model_emit(m, out, e);
		s1.eax = s1.ebx = s1.edx = 0;
		s1.ecx = m->caps.words[CPUID_24_1_ECX];
		model_emit(m, out, &s1);
	} else {
		e->eax = 0;
		model_leaf_filter(m, CPUID_24_1_ECX, HV_REASON_KVM_TOO_OLD, "7.0");
		model_emit(m, out, e);
	}
}
