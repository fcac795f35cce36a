/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The host's identity and the kernel-version-dependent constants. */

#include <string.h>

#include "model-internal.h"

void host_identity_init(struct model *m)
{
	const struct caps_cpuid_entry *l0 = caps_cpuid_find(m->raw, 0, 0);
	const struct caps_cpuid_entry *l1 = caps_cpuid_find(m->raw, 1, 0);
	char id[13];
	uint32_t base;

	memcpy(id, &l0->ebx, 4);
	memcpy(id + 4, &l0->edx, 4);
	memcpy(id + 8, &l0->ecx, 4);
	id[12] = '\0';
	m->host_amd = strcmp(id, "AuthenticAMD") == 0 || strcmp(id, "HygonGenuine") == 0;
	m->host_intel = strcmp(id, "GenuineIntel") == 0 || strcmp(id, "CentaurHauls") == 0 ||
			strcmp(id, "  Shanghai  ") == 0;
	/* KVM enumerates 0xC000_0000 on Centaur hosts, and on Zhaoxin from 6.18. */
	m->centaur = strcmp(id, "CentaurHauls") == 0 ||
		     (strcmp(id, "  Shanghai  ") == 0 && m->p->kernel >= KVM_V(6, 18));
	base = (l1->eax >> 8) & 0xf;
	m->family = base == 0xf ? base + ((l1->eax >> 20) & 0xff) : base;
}

/* XCR0/XSS state components (Intel SDM vol. 1, 13.1). */
#define XFEATURE_MASK_FP		(1ull << 0)
#define XFEATURE_MASK_SSE		(1ull << 1)
#define XFEATURE_MASK_YMM		(1ull << 2)
#define XFEATURE_MASK_BNDREGS		(1ull << 3)
#define XFEATURE_MASK_BNDCSR		(1ull << 4)
#define XFEATURE_MASK_OPMASK		(1ull << 5)
#define XFEATURE_MASK_ZMM_HI256		(1ull << 6)
#define XFEATURE_MASK_HI16_ZMM		(1ull << 7)
#define XFEATURE_MASK_PKRU		(1ull << 9)
#define XFEATURE_MASK_CET_USER		(1ull << 11)
#define XFEATURE_MASK_CET_KERNEL	(1ull << 12)
#define XFEATURE_MASK_XTILE_CFG		(1ull << 17)
#define XFEATURE_MASK_XTILE_DATA	(1ull << 18)
#define XFEATURE_MASK_APX		(1ull << 19)

void versions_init(struct model *m)
{
	int k = m->p->kernel;

	/* docs/KVM-VERSIONS.md gives the sources of each value. */
	m->max_basic_leaf = k >= KVM_V(6, 12) ? 0x24 : 0x1f;
	m->max_ext_leaf = k >= KVM_V(6, 5) ? 0x80000022 : 0x80000021;
	m->limit_leaf7 = k >= KVM_V(6, 8) ? 2 : 1;
	m->avx10_version_max = k >= KVM_V(7, 0) ? 2 : 1;
	m->since_7_1_ecx = KVM_V(6, 18);
	m->since_8000_0021_ecx = KVM_V(6, 16);
	m->since_eraps_rapsize = KVM_V(7, 0);
	m->since_1e_1 = KVM_V(7, 0);
	m->since_24_1 = KVM_V(7, 0);
	m->synth_needs_kernel = m->p->tsa_fix == HV_TSA_FIX_ON ||
				(m->p->tsa_fix == HV_TSA_FIX_AUTO && k >= KVM_V(7, 0));
	m->kvm_supported_xcr0 = XFEATURE_MASK_FP | XFEATURE_MASK_SSE | XFEATURE_MASK_YMM |
				XFEATURE_MASK_BNDREGS | XFEATURE_MASK_BNDCSR | XFEATURE_MASK_OPMASK |
				XFEATURE_MASK_ZMM_HI256 | XFEATURE_MASK_HI16_ZMM | XFEATURE_MASK_PKRU |
				XFEATURE_MASK_XTILE_CFG | XFEATURE_MASK_XTILE_DATA;
	m->kvm_supported_xss = k >= KVM_V(6, 18) ? XFEATURE_MASK_CET_USER | XFEATURE_MASK_CET_KERNEL : 0;
}
