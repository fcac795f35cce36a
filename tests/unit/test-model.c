/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * hvcore's model of KVM's supported CPUID: the invariants 1-16 of
 * KVM-SEMANTICS.md §6, each with a row where the rule does not apply,
 * on synthetic hosts built here (an AMD Zen 5-like and an Intel
 * Sapphire Rapids-like CPU with the bits each rule needs).
 */

#include <errno.h>
#include <string.h>

#include <hvcore/model.h>

#include "synthetic-hosts.h"

static struct caps_dump host;
static struct hv_model_result res;
static struct caps cleared;
static struct caps_kernel_flags kflags;

static void host_entry(uint32_t fn, uint32_t idx, uint32_t a, uint32_t b, uint32_t c, uint32_t d)
{
	synth_entry(&host, fn, idx, a, b, c, d);
}

static struct caps_cpuid_entry *host_find(uint32_t fn, uint32_t idx)
{
	return synth_find(&host, fn, idx);
}

static void host_feature(int feature, bool on)
{
	synth_feature(&host, feature, on);
}

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

static void host_amd(void)
{
	synth_host_amd(&host);
}

static void host_intel(void)
{
	synth_host_intel(&host);
}

/* Model the host with space-separated "key=value" parameters. */
static void model_run(const char *params, const struct caps_kernel_flags *k)
{
	synth_model(&host.cpuid, params, k, &cleared, NULL, &res);
}

static bool supported(int feature)
{
	return caps_has(&res.record.features, feature);
}

/* The model's entry, or NULL. */
static const struct caps_cpuid_entry *out_find(uint32_t fn, uint32_t idx)
{
	return caps_cpuid_find(&res.record.supported, fn, idx);
}

/* The model's entry, which must exist. */
static const struct caps_cpuid_entry *out(uint32_t fn, uint32_t idx)
{
	const struct caps_cpuid_entry *e = out_find(fn, idx);

	if (!e) {
		ck_abort_msg("model reports no 0x%x.%u", fn, idx);
		abort();
	}
	return e;
}

static enum hv_reason reason(int feature)
{
	return (enum hv_reason)res.status[feature].reason;
}

static void setup(void)
{
	caps_zero(&cleared);
	memset(&kflags, 0, sizeof(kflags));
}

/* Kernel flags: every raw feature Linux prints, minus the names in drop. */
static void kflags_from_host(const char *const *drop, size_t n)
{
	struct caps raw;
	size_t len = 0;

	caps_from_dump(&raw, &host);
	kflags.flags[0] = '\0';
	for (size_t i = 0; i < caps_feature_count(); i++) {
		const struct caps_feature_info *fi = caps_feature_at(i);
		bool skip = false;

		if (!(fi->flags & CAPS_FF_PROC) || !caps_has(&raw, fi->id))
			continue;
		for (size_t j = 0; j < n; j++)
			skip |= strcmp(drop[j], fi->name) == 0;
		if (!skip)
			len += (size_t)snprintf(kflags.flags + len, sizeof(kflags.flags) - len, "%s%s",
						len ? " " : "", fi->name);
	}
}

/* 1. An F bit needs the kernel's flag (kernel words) and the raw bit. */
START_TEST(test_model_f_bits_need_kernel_and_raw)
{
	static const char *const drop[] = { "avx2", "sse4_2", "lahf_lm", "rdseed" };

	_i ? host_intel() : host_amd();
	kflags_from_host(drop, ARRAY_SIZE(drop));
	model_run("", &kflags);
	for (size_t i = 0; i < caps_feature_count(); i++) {
		const struct caps_feature_info *fi = caps_feature_at(i);
		const struct caps_word_info *wi = caps_word_info(fi->word);
		enum hv_cap_kind kind;
		struct caps raw;

		/* The fix-ups and vendor code set some F bits on purpose (rules 9-14). */
		if (hv_kvm_cap_row(fi->id, &kind, NULL) < 0 || kind != HV_CAP_F || !supported(fi->id) ||
		    (res.status[fi->id].notes & (HV_NOTE_SYNTHESIZED | HV_NOTE_VENDOR)))
			continue;
		caps_from_dump(&raw, &host);
		ck_assert_msg(caps_has(&raw, fi->id), "%s supported without the raw bit", fi->name);
		if (wi->kind == CAPS_WORD_KERNEL && (fi->flags & CAPS_FF_PROC))
			ck_assert_msg(caps_kernel_has_flag(&kflags, fi->name),
				      "%s supported without the kernel flag", fi->name);
	}
	/* Negative rows: the dropped flags, and a raw bit the host lacks. */
	ck_assert(!supported(X86_FEATURE_AVX2));
	ck_assert_int_eq(reason(X86_FEATURE_AVX2), HV_REASON_DISABLED_BY_KERNEL);
	ck_assert(!supported(X86_FEATURE_XMM4_2));
	ck_assert(!supported(X86_FEATURE_RDSEED));
	ck_assert(supported(X86_FEATURE_XMM4_1));
	ck_assert(!supported(X86_FEATURE_AVX512_VNNI));
	ck_assert_int_eq(reason(X86_FEATURE_AVX512_VNNI), HV_REASON_NOT_IN_HOST_CPU);
}
END_TEST

/* A host whose every register is zero, but for the vendor and the ranges. */
static void host_empty(bool amd)
{
	caps_dump_init(&host);
	if (amd)
		host_entry(0, 0, 0xd, 0x68747541, 0x444d4163, 0x69746e65);
	else
		host_entry(0, 0, 0xd, 0x756e6547, 0x6c65746e, 0x49656e69);
	host_entry(1, 0, amd ? 0x00b40f40 : 0x000806f8, 0, 0, 0);
	host_entry(7, 0, 0, 0, 0, 0);
	host_entry(0x80000000, 0, 0x8000001f, 0, 0, 0);
	caps_cpuid_mark_indexed(&host.cpuid);
}

/* 2. EMULATED_F bits need nothing from the host. */
START_TEST(test_model_emulated_bits_need_no_host_support)
{
	static const int emulated[] = {
		X86_FEATURE_X2APIC, X86_FEATURE_TSC_DEADLINE_TIMER, X86_FEATURE_HYPERVISOR,
		X86_FEATURE_TSC_ADJUST, X86_FEATURE_ARCH_CAPABILITIES, X86_FEATURE_NO_SMM_CTL_MSR,
	};

	host_empty(_i);
	kflags.flags[0] = '\0';
	model_run("", &kflags);
	for (size_t i = 0; i < ARRAY_SIZE(emulated); i++) {
		const char *name = caps_feature_name(emulated[i], CAPS_NAMES_LINUX);

		ck_assert_msg(caps_has(&res.kvm_cpu_caps, emulated[i]), "%s", name);
		/* No kernel bugs either: 0x8000_0021 is synthesized to carry NO_SMM_CTL_MSR. */
		ck_assert_msg(supported(emulated[i]), "%s", name);
		ck_assert(res.status[emulated[i]].notes & HV_NOTE_EMULATED);
	}
	/* Negative row: an F bit on the same empty host. */
	ck_assert(!supported(X86_FEATURE_AVX2));
	ck_assert(!supported(X86_FEATURE_XMM2));
}
END_TEST

/* 3. RUNTIME_F bits are never advertised. */
START_TEST(test_model_runtime_bits_never_advertised)
{
	static const int runtime[] = { X86_FEATURE_MWAIT, X86_FEATURE_OSXSAVE, X86_FEATURE_OSPKE };

	_i ? host_intel() : host_amd();
	model_run("", NULL);
	for (size_t i = 0; i < ARRAY_SIZE(runtime); i++) {
		ck_assert(!supported(runtime[i]));
		ck_assert_int_eq(reason(runtime[i]), HV_REASON_RUNTIME_ONLY);
	}
	/* Negative row: the features they qualify are advertised. */
	ck_assert(supported(X86_FEATURE_XSAVE));
	ck_assert(supported(X86_FEATURE_PKU));
}
END_TEST

/*
 * 4. SYNTHESIZED_F: in a KVM-only word unconditional as merged in 6.16 (the
 * Feb-2026 bug), kernel-gated since the 7.0-rc3 fix; in a kernel word
 * always kernel-gated.
 */
START_TEST(test_model_synthesized_bits)
{
	host_amd();
	host_feature(X86_FEATURE_TSA_SQ_NO, false);
	host_feature(X86_FEATURE_TSA_L1_NO, false);
	model_run("kernel=6.18", NULL);
	ck_assert(supported(X86_FEATURE_TSA_SQ_NO));
	ck_assert(supported(X86_FEATURE_TSA_L1_NO));
	ck_assert(res.status[X86_FEATURE_TSA_SQ_NO].notes & HV_NOTE_SYNTHESIZED);
	/* Negative rows: 7.0 (or a tree with the fix) needs the kernel's flag. */
	model_run("kernel=7.0", NULL);
	ck_assert(!supported(X86_FEATURE_TSA_SQ_NO));
	ck_assert_int_eq(reason(X86_FEATURE_TSA_SQ_NO), HV_REASON_DISABLED_BY_KERNEL);
	model_run("kernel=6.18 tsa_fix=on", NULL);
	ck_assert(!supported(X86_FEATURE_TSA_SQ_NO));
	/* Before 6.16 KVM did not report 0x8000_0021.ECX at all. */
	model_run("kernel=6.15", NULL);
	ck_assert(!supported(X86_FEATURE_TSA_SQ_NO));
	ck_assert_int_eq(reason(X86_FEATURE_TSA_SQ_NO), HV_REASON_KVM_TOO_OLD);
	/* With the kernel's flag, 7.0 reports them whatever raw CPUID says. */
	host_feature(X86_FEATURE_TSA_SQ_NO, true);
	model_run("kernel=7.0", NULL);
	ck_assert(supported(X86_FEATURE_TSA_SQ_NO));

	/* Kernel word (0x8000_0021.EAX): the kernel's synthetic flag decides. */
	host_feature(X86_FEATURE_LFENCE_RDTSC, false);
	model_run("", NULL);
	ck_assert(supported(X86_FEATURE_LFENCE_RDTSC));
	caps_set(&cleared, X86_FEATURE_LFENCE_RDTSC);
	model_run("", NULL);
	ck_assert(!supported(X86_FEATURE_LFENCE_RDTSC));
}
END_TEST

/* 5. PASSTHROUGH_F LA57: raw suffices when the kernel runs 4-level paging. */
START_TEST(test_model_passthrough_la57)
{
	static const char *const drop[] = { "la57" };

	host_amd();
	kflags_from_host(drop, 1);
	model_run("", &kflags);
	ck_assert(supported(X86_FEATURE_LA57));
	ck_assert(res.status[X86_FEATURE_LA57].notes & HV_NOTE_PASSTHROUGH);
	/* Negative row: without the raw bit, no passthrough. */
	host_feature(X86_FEATURE_LA57, false);
	model_run("", &kflags);
	ck_assert(!supported(X86_FEATURE_LA57));
	ck_assert_int_eq(reason(X86_FEATURE_LA57), HV_REASON_NOT_IN_HOST_CPU);
}
END_TEST

/* 6. PKU needs TDP. */
START_TEST(test_model_pku_needs_tdp)
{
	_i ? host_intel() : host_amd();
	model_run("tdp=off", NULL);
	ck_assert(!supported(X86_FEATURE_PKU));
	ck_assert_int_eq(reason(X86_FEATURE_PKU), HV_REASON_NEEDS_TDP);
	model_run("tdp=on", NULL);
	ck_assert(supported(X86_FEATURE_PKU));
	/* And the host's OSPKE. */
	caps_set(&cleared, X86_FEATURE_OSPKE);
	model_run("tdp=on", NULL);
	ck_assert(!supported(X86_FEATURE_PKU));
	ck_assert_int_eq(reason(X86_FEATURE_PKU), HV_REASON_DISABLED_BY_KERNEL);
}
END_TEST

/* 7. GBPAGES is always there with shadow paging. */
START_TEST(test_model_gbpages_without_tdp)
{
	_i ? host_intel() : host_amd();
	host_feature(X86_FEATURE_GBPAGES, false);
	model_run("tdp=off", NULL);
	ck_assert(supported(X86_FEATURE_GBPAGES));
	model_run("tdp=on", NULL);
	ck_assert(!supported(X86_FEATURE_GBPAGES));
	ck_assert_int_eq(reason(X86_FEATURE_GBPAGES), HV_REASON_NOT_IN_HOST_CPU);
	/* With the host bit and TDP, guests get 1 GiB pages whatever their CPUID: a hole. */
	host_feature(X86_FEATURE_GBPAGES, true);
	model_run("tdp=on", NULL);
	ck_assert(res.status[X86_FEATURE_GBPAGES].notes & HV_NOTE_VIRT_HOLE);
	model_run("tdp=off", NULL);
	ck_assert(!(res.status[X86_FEATURE_GBPAGES].notes & HV_NOTE_VIRT_HOLE));
}
END_TEST

/* 8. 0x8000_000A never has AVIC/x2AVIC, and is empty without nested SVM. */
START_TEST(test_model_svm_leaf)
{
	const struct caps_cpuid_entry *e;

	host_amd();
	model_run("nested=on avic=on", NULL);
	e = out(0x8000000a, 0);
	ck_assert_ptr_nonnull(e);
	ck_assert_uint_eq(e->eax, 1);
	ck_assert(e->edx & caps_feature_mask(X86_FEATURE_NPT));
	ck_assert(!(e->edx & caps_feature_mask(X86_FEATURE_AVIC)));
	ck_assert(!(e->edx & caps_feature_mask(X86_FEATURE_X2AVIC)));
	ck_assert_int_eq(reason(X86_FEATURE_AVIC), HV_REASON_NEVER_SUPPORTED_BY_KVM);
	model_run("nested=off", NULL);
	e = out(0x8000000a, 0);
	ck_assert(!e->eax && !e->ebx && !e->ecx && !e->edx);
	ck_assert_int_eq(reason(X86_FEATURE_NPT), HV_REASON_NEEDS_NESTED);
}
END_TEST

/* 9. 0x8000_001F is empty unless SEV is supported, and never shows EBX[31:6]. */
START_TEST(test_model_sev_leaf)
{
	const struct caps_cpuid_entry *e;

	host_amd();
	model_run("sev=off", NULL);
	e = out(0x8000001f, 0);
	ck_assert(!e->eax && !e->ebx && !e->ecx && !e->edx);
	ck_assert_int_eq(reason(X86_FEATURE_SEV), HV_REASON_NEEDS_PARAMETER);
	model_run("sev=on sev_es=on snp=on", NULL);
	e = out(0x8000001f, 0);
	ck_assert(e->eax & caps_feature_mask(X86_FEATURE_SEV));
	ck_assert(e->eax & caps_feature_mask(X86_FEATURE_SEV_SNP));
	ck_assert(!(e->eax & caps_feature_mask(X86_FEATURE_SME)));
	ck_assert_uint_eq(e->ebx & ~UINT32_C(0x3f), 0);
	ck_assert_uint_eq(e->ebx, 0x33);	/* C-bit position only */
	/* SEV needs NPT. */
	model_run("sev=on tdp=off", NULL);
	ck_assert(!supported(X86_FEATURE_SEV));
	ck_assert_int_eq(reason(X86_FEATURE_SEV), HV_REASON_NEEDS_TDP);
}
END_TEST

/* 10. MAXPHYADDR: GuestPhysBits 0 without TDP, <= 48 without 5-level TDP. */
START_TEST(test_model_phys_bits)
{
	const struct caps_cpuid_entry *e;

	_i ? host_intel() : host_amd();
	model_run("tdp=off", NULL);
	e = out(0x80000008, 0);
	ck_assert_uint_eq((e->eax >> 16) & 0xff, 0);
	ck_assert_uint_ge((e->eax >> 8) & 0xff, 48);
	ck_assert_uint_eq(e->eax & 0xff, 52);
	model_run("tdp=on", NULL);
	e = out(0x80000008, 0);
	ck_assert_uint_eq((e->eax >> 16) & 0xff, 48);
	model_run("tdp=on tdp_level=5", NULL);
	e = out(0x80000008, 0);
	ck_assert_uint_eq((e->eax >> 16) & 0xff, 52);
	/* A host reporting 39 virtual bits still gets 48. */
	host_find(0x80000008, 0)->eax = 0x2728;
	model_run("tdp=on", NULL);
	e = out(0x80000008, 0);
	ck_assert_uint_eq((e->eax >> 8) & 0xff, 48);
	ck_assert_uint_eq((e->eax >> 16) & 0xff, 40);
}
END_TEST

/* 11. The highest leaves KVM reports. */
START_TEST(test_model_max_leaves)
{
	host_amd();
	host_find(0, 0)->eax = 0x30;
	model_run("", NULL);
	ck_assert_uint_le(out(0, 0)->eax, 0x24);
	ck_assert_uint_le(out(0x80000000, 0)->eax, 0x80000022);
	ck_assert_ptr_null(out_find(0x80000023, 0));
	/* Negative row: a host below the caps keeps its own maxima. */
	host_find(0, 0)->eax = 0x10;
	model_run("", NULL);
	ck_assert_uint_eq(out(0, 0)->eax, 0x10);
	ck_assert_ptr_null(out_find(0x11, 0));
}
END_TEST

/* 12. Leaf 7: at most sub-leaf 2, whose EAX..ECX are zero. */
START_TEST(test_model_leaf7_subleaves)
{
	const struct caps_cpuid_entry *e;

	host_intel();
	host_find(7, 0)->eax = 3;
	host_find(7, 2)->eax = 0xffffffff;
	host_find(7, 2)->ebx = 0xffffffff;
	host_find(7, 2)->ecx = 0xffffffff;
	model_run("", NULL);
	ck_assert_uint_le(out(7, 0)->eax, 2);
	ck_assert_ptr_null(out_find(7, 3));
	e = out(7, 2);
	ck_assert_ptr_nonnull(e);
	ck_assert_uint_eq(e->eax | e->ebx | e->ecx, 0);
	/* Negative row: a host with only sub-leaf 0 gets only sub-leaf 0. */
	host_find(7, 0)->eax = 0;
	model_run("", NULL);
	ck_assert_uint_eq(out(7, 0)->eax, 0);
	ck_assert_ptr_null(out_find(7, 1));
}
END_TEST

/* 13. SIGNIFICANT_INDEX on exactly the indexed functions. */
START_TEST(test_model_significant_index_flags)
{
	_i ? host_intel() : host_amd();
	model_run("", NULL);
	for (size_t i = 0; i < res.record.supported.nent; i++) {
		const struct caps_cpuid_entry *e = &res.record.supported.entries[i];

		ck_assert_msg(!!(e->flags & CAPS_CPUID_FLAG_SIGNIFICANT_INDEX) ==
			      caps_cpuid_function_is_indexed(e->function), "0x%x.%u", e->function, e->index);
	}
	/* Negative row: a plain leaf (1) has no flag, an indexed one (0xD) has it. */
	ck_assert_uint_eq(out(1, 0)->flags, 0);
	ck_assert_uint_eq(out(0xd, 1)->flags, CAPS_CPUID_FLAG_SIGNIFICANT_INDEX);
}
END_TEST

/* 14. KVM_GET_SUPPORTED_CPUID's buffer rules. */
START_TEST(test_model_get_cpuid_buffer_rules)
{
	static struct caps_cpuid_entry buf[CAPS_CPUID_MAX_ENTRIES];
	uint32_t nent;

	host_amd();
	model_run("", NULL);
	nent = 0;
	ck_assert_int_eq(hv_get_cpuid(&res.record.supported, buf, &nent), -E2BIG);
	nent = (uint32_t)res.record.supported.nent - 1;
	ck_assert_int_eq(hv_get_cpuid(&res.record.supported, buf, &nent), -E2BIG);
	ck_assert_uint_eq(nent, res.record.supported.nent - 1);
	nent = 10000;
	ck_assert_int_eq(hv_get_cpuid(&res.record.supported, buf, &nent), 0);
	ck_assert_uint_eq(nent, res.record.supported.nent);
	ck_assert_int_eq(memcmp(buf, res.record.supported.entries, nent * sizeof(buf[0])), 0);
	/* Negative row: exactly enough room succeeds. */
	nent = (uint32_t)res.record.supported.nent;
	ck_assert_int_eq(hv_get_cpuid(&res.record.supported, buf, &nent), 0);
}
END_TEST

/* 15. ERAPS: kernel flag and raw bit, from 7.0, whatever NPT does. */
START_TEST(test_model_eraps_advertised)
{
	host_amd();
	model_run("kernel=7.0 tdp=on", NULL);
	ck_assert(supported(X86_FEATURE_ERAPS));
	model_run("kernel=7.0 tdp=off", NULL);
	ck_assert(supported(X86_FEATURE_ERAPS));
	/* Negative rows: an older kernel, no raw bit, no kernel flag. */
	model_run("kernel=6.18", NULL);
	ck_assert(!supported(X86_FEATURE_ERAPS));
	ck_assert_int_eq(reason(X86_FEATURE_ERAPS), HV_REASON_KVM_TOO_OLD);
	ck_assert_str_eq(res.status[X86_FEATURE_ERAPS].detail, "7.0");
	caps_set(&cleared, X86_FEATURE_ERAPS);
	model_run("kernel=7.0", NULL);
	ck_assert(!supported(X86_FEATURE_ERAPS));
	ck_assert_int_eq(reason(X86_FEATURE_ERAPS), HV_REASON_DISABLED_BY_KERNEL);
	caps_zero(&cleared);
	host_feature(X86_FEATURE_ERAPS, false);
	model_run("kernel=7.0", NULL);
	ck_assert(!supported(X86_FEATURE_ERAPS));
	ck_assert_int_eq(reason(X86_FEATURE_ERAPS), HV_REASON_NOT_IN_HOST_CPU);
}
END_TEST

/* 16. 0x8000_0021.EBX: RapSize only, and only with ERAPS. */
START_TEST(test_model_eraps_rapsize)
{
	host_amd();
	model_run("kernel=7.0", NULL);
	ck_assert_uint_eq(out(0x80000021, 0)->ebx, 0x00400000);
	model_run("kernel=6.18", NULL);
	ck_assert_uint_eq(out(0x80000021, 0)->ebx, 0);
	host_feature(X86_FEATURE_ERAPS, false);
	model_run("kernel=7.0", NULL);
	ck_assert_uint_eq(out(0x80000021, 0)->ebx, 0);
}
END_TEST

/* Vendor fix-ups name their reasons. */
START_TEST(test_model_vendor_reasons)
{
	host_amd();
	host_feature(X86_FEATURE_IBT, true);
	model_run("", NULL);
	ck_assert_int_eq(reason(X86_FEATURE_IBT), HV_REASON_VENDOR_CODE_CLEARS);
	/* A host without the bit: that is the deeper reason. */
	host_feature(X86_FEATURE_IBT, false);
	model_run("", NULL);
	ck_assert_int_eq(reason(X86_FEATURE_IBT), HV_REASON_NOT_IN_HOST_CPU);
	ck_assert(!supported(X86_FEATURE_VMX));
	ck_assert(supported(X86_FEATURE_SVM));
	/* SVM cannot intercept XSAVES; VMX can. */
	ck_assert(res.status[X86_FEATURE_XSAVES].notes & HV_NOTE_VIRT_HOLE);
	host_intel();
	model_run("nested=off", NULL);
	ck_assert(!(res.status[X86_FEATURE_XSAVES].notes & HV_NOTE_VIRT_HOLE));
	ck_assert(!supported(X86_FEATURE_VMX));
	ck_assert_int_eq(reason(X86_FEATURE_VMX), HV_REASON_NEEDS_NESTED);
	ck_assert(supported(X86_FEATURE_LAM));
	ck_assert(!supported(X86_FEATURE_SVM));
}
END_TEST

/* The XSAVE leaf: sizes computed from the permitted components. */
START_TEST(test_model_xsave_sizes)
{
	const struct caps_cpuid_entry *e;

	host_amd();
	model_run("", NULL);
	e = out(0xd, 0);
	ck_assert_uint_eq(e->eax, 0x2e7);
	ck_assert_uint_eq(e->ebx, 0x988);	/* PKRU at 0x980 + 8 */
	ck_assert_uint_eq(e->ecx, 0x988);
	ck_assert_ptr_nonnull(out(0xd, 9));
	ck_assert_ptr_null(out_find(0xd, 3));	/* not a host component */
	/* Without AVX-512 state permitted by the host, the size shrinks. */
	host_find(0xd, 0)->eax = 0x207;
	model_run("", NULL);
	e = out(0xd, 0);
	ck_assert_uint_eq(e->eax, 0x207);
	ck_assert_uint_eq(e->ebx, 0x988);	/* PKRU still last */
	ck_assert_ptr_null(out_find(0xd, 5));
}
END_TEST

/* Parameters: every bad key and value is refused with a message. */
START_TEST(test_model_params_are_validated)
{
	struct hv_host_params p;
	char err[256];
	int v;

	host_amd();
	ck_assert_int_eq(hv_host_params_init(&p, &host.cpuid), 0);
	ck_assert_int_eq(p.vendor, HV_VENDOR_AMD);
	ck_assert_int_eq(hv_host_params_set(&p, "kernl", "7.0", err, sizeof(err)), -EINVAL);
	ck_assert_ptr_nonnull(strstr(err, "kernel"));
	ck_assert_int_eq(hv_host_params_set(&p, "kernel", "6.0", err, sizeof(err)), -EINVAL);
	ck_assert_int_eq(hv_host_params_set(&p, "kernel", "7.1", err, sizeof(err)), -EINVAL);
	ck_assert_int_eq(hv_host_params_set(&p, "kernel", "seven", err, sizeof(err)), -EINVAL);
	ck_assert_int_eq(hv_host_params_set(&p, "tdp", "maybe", err, sizeof(err)), -EINVAL);
	ck_assert_int_eq(hv_host_params_set(&p, "vendor", "via", err, sizeof(err)), -EINVAL);
	ck_assert_int_eq(hv_host_params_set(&p, "tdp_level", "3", err, sizeof(err)), -EINVAL);
	ck_assert_int_eq(hv_host_params_set(&p, "kernel", "6.18", err, sizeof(err)), 0);
	ck_assert_int_eq(p.kernel, KVM_V(6, 18));
	ck_assert_int_eq(hv_kernel_version_parse("6.1", &v), 0);
	ck_assert_int_eq(v, 601);
	ck_assert_int_eq(hv_kernel_version_parse("6", &v), -EINVAL);
	ck_assert_int_eq(hv_kernel_version_parse("6.1.2", &v), -EINVAL);
	ck_assert_int_eq(hv_kernel_version_parse("", &v), -EINVAL);
	/* An unknown vendor must be given. */
	host_find(0, 0)->ebx = 0x12345678;
	ck_assert_int_eq(hv_host_params_init(&p, &host.cpuid), -EINVAL);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("model");
	TCase *tc;

	tc = tcase_create("invariants");
	tcase_add_checked_fixture(tc, setup, NULL);
	tcase_add_loop_test(tc, test_model_f_bits_need_kernel_and_raw, 0, 2);
	tcase_add_loop_test(tc, test_model_emulated_bits_need_no_host_support, 0, 2);
	tcase_add_loop_test(tc, test_model_runtime_bits_never_advertised, 0, 2);
	tcase_add_test(tc, test_model_synthesized_bits);
	tcase_add_test(tc, test_model_passthrough_la57);
	tcase_add_loop_test(tc, test_model_pku_needs_tdp, 0, 2);
	tcase_add_loop_test(tc, test_model_gbpages_without_tdp, 0, 2);
	tcase_add_test(tc, test_model_svm_leaf);
	tcase_add_test(tc, test_model_sev_leaf);
	tcase_add_loop_test(tc, test_model_phys_bits, 0, 2);
	tcase_add_test(tc, test_model_max_leaves);
	tcase_add_test(tc, test_model_leaf7_subleaves);
	tcase_add_loop_test(tc, test_model_significant_index_flags, 0, 2);
	tcase_add_test(tc, test_model_get_cpuid_buffer_rules);
	tcase_add_test(tc, test_model_eraps_advertised);
	tcase_add_test(tc, test_model_eraps_rapsize);
	suite_add_tcase(s, tc);

	tc = tcase_create("rules");
	tcase_add_checked_fixture(tc, setup, NULL);
	tcase_add_test(tc, test_model_vendor_reasons);
	tcase_add_test(tc, test_model_xsave_sizes);
	tcase_add_test(tc, test_model_params_are_validated);
	suite_add_tcase(s, tc);

	return test_run_suite(s);
}
