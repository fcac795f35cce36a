/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * Synthetic hosts for the hvcore suites: an AMD Zen 5-like CPU (SVM with
 * AVIC and x2AVIC, SEV/SNP, ERAPS) and an Intel Sapphire Rapids-like CPU
 * (VMX, LAM, AMX, PMU v5), built entry by entry, and the model run on a
 * host with "key=value" parameters.
 */

#include <string.h>

#include <hvcore/model.h>

#include "test-util.h"

static inline void synth_entry(struct caps_dump *d, uint32_t fn, uint32_t idx,
			       uint32_t a, uint32_t b, uint32_t c, uint32_t dx)
{
	struct caps_cpuid_entry e = {
		.function = fn, .index = idx, .eax = a, .ebx = b, .ecx = c, .edx = dx,
	};

	ck_assert_int_eq(caps_cpuid_add(&d->cpuid, &e), 0);
}

/* An entry the test built; its absence is a bug in the test. */
static inline struct caps_cpuid_entry *synth_find(struct caps_dump *d, uint32_t fn, uint32_t idx)
{
	for (size_t i = 0; i < d->cpuid.nent; i++)
		if (d->cpuid.entries[i].function == fn && d->cpuid.entries[i].index == idx)
			return &d->cpuid.entries[i];
	ck_abort_msg("host has no 0x%x.%u", fn, idx);
	abort();
}

/* Set or clear a catalog feature's bit in an entry of its leaf. */
static inline void synth_entry_feature(struct caps_cpuid_entry *e, int feature, bool on)
{
	enum caps_reg reg = caps_word_info(caps_feature_word(feature))->reg;
	uint32_t v = caps_cpuid_entry_reg(e, reg);

	v = on ? v | caps_feature_mask(feature) : v & ~caps_feature_mask(feature);
	caps_cpuid_entry_set_reg(e, reg, v);
}

static inline void synth_feature(struct caps_dump *d, int feature, bool on)
{
	const struct caps_word_info *wi = caps_word_info(caps_feature_word(feature));

	synth_entry_feature(synth_find(d, wi->function, wi->index), feature, on);
}

static inline void synth_features(struct caps_dump *d, const int *f, size_t n, bool on)
{
	for (size_t i = 0; i < n; i++)
		synth_feature(d, f[i], on);
}

/* XSAVE components x87..AVX-512 and PKRU at their standard offsets; CET in XSS. */
static inline void synth_xsave(struct caps_dump *d)
{
	synth_entry(d, 0xd, 0, 0x2e7, 0x988, 0x988, 0);
	synth_entry(d, 0xd, 1, 0xf, 0x988, 0x1800, 0);
	synth_entry(d, 0xd, 2, 0x100, 0x240, 0, 0);
	synth_entry(d, 0xd, 5, 0x40, 0x340, 0, 0);
	synth_entry(d, 0xd, 6, 0x200, 0x380, 0, 0);
	synth_entry(d, 0xd, 7, 0x400, 0x580, 0, 0);
	synth_entry(d, 0xd, 9, 0x8, 0x980, 0, 0);
	synth_entry(d, 0xd, 11, 0x10, 0, 1, 0);	/* CET_U, in XSS */
	synth_entry(d, 0xd, 12, 0x18, 0, 1, 0);	/* CET_S, in XSS */
}

static const int synth_common_features[] = {
	X86_FEATURE_FPU, X86_FEATURE_TSC, X86_FEATURE_MSR, X86_FEATURE_PAE, X86_FEATURE_CX8,
	X86_FEATURE_APIC, X86_FEATURE_CMOV, X86_FEATURE_CLFLUSH, X86_FEATURE_MMX,
	X86_FEATURE_FXSR, X86_FEATURE_XMM, X86_FEATURE_XMM2, X86_FEATURE_XMM3,
	X86_FEATURE_PCLMULQDQ, X86_FEATURE_MWAIT, X86_FEATURE_SSSE3, X86_FEATURE_CX16,
	X86_FEATURE_XMM4_1, X86_FEATURE_XMM4_2, X86_FEATURE_X2APIC, X86_FEATURE_MOVBE,
	X86_FEATURE_POPCNT, X86_FEATURE_AES, X86_FEATURE_XSAVE, X86_FEATURE_OSXSAVE,
	X86_FEATURE_AVX, X86_FEATURE_F16C, X86_FEATURE_RDRAND,
	X86_FEATURE_FSGSBASE, X86_FEATURE_BMI1, X86_FEATURE_AVX2, X86_FEATURE_SMEP,
	X86_FEATURE_BMI2, X86_FEATURE_ERMS, X86_FEATURE_INVPCID, X86_FEATURE_AVX512F,
	X86_FEATURE_RDSEED, X86_FEATURE_ADX, X86_FEATURE_SMAP, X86_FEATURE_CLFLUSHOPT,
	X86_FEATURE_CLWB, X86_FEATURE_SHA_NI, X86_FEATURE_UMIP, X86_FEATURE_PKU,
	X86_FEATURE_OSPKE, X86_FEATURE_LA57, X86_FEATURE_RDPID, X86_FEATURE_GFNI,
	X86_FEATURE_XSAVEOPT, X86_FEATURE_XSAVEC, X86_FEATURE_XGETBV1, X86_FEATURE_XSAVES,
	X86_FEATURE_LAHF_LM, X86_FEATURE_ABM, X86_FEATURE_SYSCALL, X86_FEATURE_NX,
	X86_FEATURE_GBPAGES, X86_FEATURE_RDTSCP, X86_FEATURE_LM, X86_FEATURE_CONSTANT_TSC,
};

static inline void synth_host_amd(struct caps_dump *d)
{
	static const int amd[] = {
		X86_FEATURE_SVM, X86_FEATURE_SSE4A, X86_FEATURE_PERFCTR_CORE, X86_FEATURE_TOPOEXT,
		X86_FEATURE_NPT, X86_FEATURE_LBRV, X86_FEATURE_NRIPS, X86_FEATURE_TSCRATEMSR,
		X86_FEATURE_VMCBCLEAN, X86_FEATURE_FLUSHBYASID, X86_FEATURE_DECODEASSISTS,
		X86_FEATURE_PAUSEFILTER, X86_FEATURE_PFTHRESHOLD, X86_FEATURE_AVIC,
		X86_FEATURE_V_VMSAVE_VMLOAD, X86_FEATURE_VGIF, X86_FEATURE_X2AVIC, X86_FEATURE_VNMI,
		X86_FEATURE_SME, X86_FEATURE_SEV, X86_FEATURE_SEV_ES, X86_FEATURE_SEV_SNP,
		X86_FEATURE_AMD_IBPB, X86_FEATURE_AMD_IBRS, X86_FEATURE_AMD_STIBP,
		X86_FEATURE_AMD_SSBD, X86_FEATURE_AMD_IBPB_RET, X86_FEATURE_CLZERO,
		X86_FEATURE_NULL_SEL_CLR_BASE, X86_FEATURE_AUTOIBRS, X86_FEATURE_ERAPS,
		X86_FEATURE_PERFMON_V2, X86_FEATURE_PCID,
	};

	caps_dump_init(d);
	synth_entry(d, 0, 0, 0x10, 0x68747541, 0x444d4163, 0x69746e65);	/* AuthenticAMD */
	synth_entry(d, 1, 0, 0x00b40f40, 0x00100800, 0, 0);		/* family 0x1a */
	synth_entry(d, 6, 0, 0x4, 0, 0, 0);
	synth_entry(d, 7, 0, 1, 0, 0, 0);
	synth_entry(d, 7, 1, 0, 0, 0, 0);
	synth_xsave(d);
	synth_entry(d, 0x80000000, 0, 0x80000028, 0x68747541, 0x444d4163, 0x69746e65);
	synth_entry(d, 0x80000001, 0, 0x00b40f40, 0, 0, 0);
	synth_entry(d, 0x80000007, 0, 0, 0, 0, 0);
	/* 52 physical bits, 57 virtual bits (LA57 host). */
	synth_entry(d, 0x80000008, 0, 0x3934, 0, 0x00007001, 0);
	synth_entry(d, 0x8000000a, 0, 1, 0x8000, 0, 0);
	synth_entry(d, 0x8000001f, 0, 0, 0x0000f1b3, 0x3ee, 1);	/* C-bit 51, 3 bits reduction */
	/* RapSize 64 in EBX[23:16], plus bits KVM must not pass on. */
	synth_entry(d, 0x80000021, 0, 0, 0x0f40ff0f, 0, 0);
	synth_entry(d, 0x80000022, 0, 0, 6, 0, 0);
	synth_features(d, synth_common_features,
		       sizeof(synth_common_features) / sizeof(synth_common_features[0]), true);
	synth_features(d, amd, sizeof(amd) / sizeof(amd[0]), true);
	caps_cpuid_mark_indexed(&d->cpuid);
}

static inline void synth_host_intel(struct caps_dump *d)
{
	static const int intel[] = {
		X86_FEATURE_VMX, X86_FEATURE_PDCM, X86_FEATURE_PCID, X86_FEATURE_TSC_DEADLINE_TIMER,
		X86_FEATURE_SPEC_CTRL, X86_FEATURE_INTEL_STIBP, X86_FEATURE_SPEC_CTRL_SSBD,
		X86_FEATURE_ARCH_CAPABILITIES, X86_FEATURE_AMX_TILE, X86_FEATURE_LAM,
		X86_FEATURE_WAITPKG, X86_FEATURE_SERIALIZE, X86_FEATURE_IBT, X86_FEATURE_SHSTK,
		X86_FEATURE_BUS_LOCK_DETECT,
	};

	caps_dump_init(d);
	synth_entry(d, 0, 0, 0x20, 0x756e6547, 0x6c65746e, 0x49656e69);	/* GenuineIntel */
	synth_entry(d, 1, 0, 0x000806f8, 0x00800800, 0, 0);		/* family 6 model 0x8f */
	synth_entry(d, 6, 0, 0x4, 0, 0, 0);
	synth_entry(d, 7, 0, 2, 0, 0, 0);
	synth_entry(d, 7, 1, 0, 0, 0, 0);
	synth_entry(d, 7, 2, 0, 0, 0, 0x3f);
	synth_entry(d, 0xa, 0, 0x08080205, 0, 0, 0x00008604);		/* v5, 8 GP, 4 fixed */
	synth_xsave(d);
	synth_entry(d, 0x80000000, 0, 0x80000008, 0, 0, 0);
	synth_entry(d, 0x80000001, 0, 0, 0, 0, 0);
	synth_entry(d, 0x80000007, 0, 0, 0, 0, 0);
	synth_entry(d, 0x80000008, 0, 0x3934, 0, 0, 0);
	synth_features(d, synth_common_features,
		       sizeof(synth_common_features) / sizeof(synth_common_features[0]), true);
	synth_features(d, intel, sizeof(intel) / sizeof(intel[0]), true);
	caps_cpuid_mark_indexed(&d->cpuid);
}

/*
 * Model raw with blank-separated "key=value" parameters, optional kernel
 * flags and cleared features; the parameters used go to *ret_params.
 */
static inline void synth_model(const struct caps_cpuid *raw, const char *kv,
			       const struct caps_kernel_flags *k, const struct caps *cleared,
			       struct hv_host_params *ret_params, struct hv_model_result *ret)
{
	struct hv_host_desc desc = { .raw = raw, .kernel = k, .kernel_cleared = cleared };
	char buf[256], err[256];
	char *save = NULL;

	ck_assert_int_eq(hv_host_params_init(&desc.params, raw), 0);
	snprintf(buf, sizeof(buf), "%s", kv);
	for (char *p = strtok_r(buf, " ", &save); p; p = strtok_r(NULL, " ", &save)) {
		char *eq = strchr(p, '=');

		ck_assert_ptr_nonnull(eq);
		*eq = '\0';
		ck_assert_msg(hv_host_params_set(&desc.params, p, eq + 1, err, sizeof(err)) == 0, "%s", err);
	}
	ck_assert_int_eq(hv_model_compute(&desc, ret), 0);
	if (ret_params)
		*ret_params = desc.params;
}
