/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The x86-64 microarchitecture levels of the System V psABI (x86-64 psABI
 * 1.0, section 3.1.1): each level is the one below plus its features.
 * OSXSAVE (v3) is the OS's XSAVE enablement, a runtime bit; its feature
 * is XSAVE.  OSFXSR (v1) is CR4 state every 64-bit OS sets.
 */

#include <hvcore/policy.h>

static const int level1[] = {
	X86_FEATURE_CMOV, X86_FEATURE_CX8, X86_FEATURE_FPU, X86_FEATURE_FXSR, X86_FEATURE_MMX,
	X86_FEATURE_SYSCALL, X86_FEATURE_XMM, X86_FEATURE_XMM2, X86_FEATURE_LM,
};

static const int level2[] = {
	X86_FEATURE_CX16, X86_FEATURE_LAHF_LM, X86_FEATURE_POPCNT, X86_FEATURE_XMM3,
	X86_FEATURE_XMM4_1, X86_FEATURE_XMM4_2, X86_FEATURE_SSSE3,
};

static const int level3[] = {
	X86_FEATURE_AVX, X86_FEATURE_AVX2, X86_FEATURE_BMI1, X86_FEATURE_BMI2, X86_FEATURE_F16C,
	X86_FEATURE_FMA, X86_FEATURE_ABM, X86_FEATURE_MOVBE, X86_FEATURE_XSAVE,
};

static const int level4[] = {
	X86_FEATURE_AVX512F, X86_FEATURE_AVX512BW, X86_FEATURE_AVX512CD, X86_FEATURE_AVX512DQ,
	X86_FEATURE_AVX512VL,
};

static const struct {
	const int *features;
	size_t n;
} levels[] = {
	{ level1, sizeof(level1) / sizeof(level1[0]) },
	{ level2, sizeof(level2) / sizeof(level2[0]) },
	{ level3, sizeof(level3) / sizeof(level3[0]) },
	{ level4, sizeof(level4) / sizeof(level4[0]) },
};

_Static_assert(sizeof(levels) / sizeof(levels[0]) == HV_X86_64_LEVEL_MAX, "one row per level");

size_t hv_x86_64_level_features(int level, const int **ret)
{
	if (level < 1 || level > HV_X86_64_LEVEL_MAX) {
		*ret = NULL;
		return 0;
	}
	*ret = levels[level - 1].features;
	return levels[level - 1].n;
}

int hv_x86_64_level(const struct caps *c)
{
	int level = 0;

	for (int l = 1; l <= HV_X86_64_LEVEL_MAX; l++) {
		for (size_t i = 0; i < levels[l - 1].n; i++)
			if (!caps_has(c, levels[l - 1].features[i]))
				return level;
		level = l;
	}
	return level;
}
