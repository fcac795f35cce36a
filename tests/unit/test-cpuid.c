/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* CPUID entry sets, MSR sets, the lookup rule and dump decoding. */

#include <errno.h>
#include <string.h>

#include <libcaps/cpuid.h>

#include "test-util.h"

static struct caps_cpuid_entry entry(uint32_t fn, uint32_t idx, uint32_t flags)
{
	return (struct caps_cpuid_entry) {
		.function = fn, .index = idx, .flags = flags,
		.eax = fn ^ 0xa, .ebx = idx ^ 0xb, .ecx = 0xc, .edx = 0xd,
	};
}

START_TEST(test_cpuid_add_accepts_256_and_rejects_257)
{
	static struct caps_cpuid c;
	struct caps_cpuid_entry e;

	caps_cpuid_init(&c);
	for (uint32_t i = 0; i < CAPS_CPUID_MAX_ENTRIES; i++) {
		e = entry(0xd, i, CAPS_CPUID_FLAG_SIGNIFICANT_INDEX);
		ck_assert_int_eq(caps_cpuid_add(&c, &e), 0);
	}
	ck_assert_uint_eq(c.nent, 256);
	e = entry(0xd, 256, CAPS_CPUID_FLAG_SIGNIFICANT_INDEX);
	ck_assert_int_eq(caps_cpuid_add(&c, &e), -E2BIG);
	ck_assert_uint_eq(c.nent, 256);
}
END_TEST

START_TEST(test_cpuid_add_rejects_duplicates_and_unknown_flags)
{
	static struct caps_cpuid c;
	struct caps_cpuid_entry e = entry(7, 0, 0);

	caps_cpuid_init(&c);
	ck_assert_int_eq(caps_cpuid_add(&c, &e), 0);
	ck_assert_int_eq(caps_cpuid_add(&c, &e), -EEXIST);
	e = entry(7, 1, 1u << 3);
	ck_assert_int_eq(caps_cpuid_add(&c, &e), -EINVAL);
	ck_assert_uint_eq(c.nent, 1);
}
END_TEST

/* KVM-SEMANTICS.md §2 rule 16 and invariant 30. */
START_TEST(test_cpuid_find_honours_significant_index)
{
	static struct caps_cpuid c;
	struct caps_cpuid_entry e;
	const struct caps_cpuid_entry *r;

	caps_cpuid_init(&c);
	e = entry(7, 0, CAPS_CPUID_FLAG_SIGNIFICANT_INDEX);
	caps_cpuid_add(&c, &e);
	e = entry(7, 1, CAPS_CPUID_FLAG_SIGNIFICANT_INDEX);
	caps_cpuid_add(&c, &e);
	e = entry(0x80000001, 0, 0);
	caps_cpuid_add(&c, &e);

	r = caps_cpuid_find(&c, 7, 1);
	ck_assert_ptr_nonnull(r);
	ck_assert_uint_eq(r->index, 1);
	/* With the flag, only its own index matches. */
	ck_assert_ptr_null(caps_cpuid_find(&c, 7, 2));
	/* Without the flag, any index matches. */
	r = caps_cpuid_find(&c, 0x80000001, 5);
	ck_assert_ptr_nonnull(r);
	ck_assert_uint_eq(r->index, 0);
	/* "Don't care" finds the first entry of the function. */
	r = caps_cpuid_find(&c, 7, CAPS_CPUID_INDEX_ANY);
	ck_assert_uint_eq(r->index, 0);
	ck_assert_ptr_null(caps_cpuid_find(&c, 8, 0));
}
END_TEST

START_TEST(test_cpuid_find_first_unflagged_entry_wins)
{
	static struct caps_cpuid c;
	struct caps_cpuid_entry e;

	/* Userspace may pass sub-leaf 1 before sub-leaf 0 without the flag. */
	caps_cpuid_init(&c);
	e = entry(7, 1, 0);
	caps_cpuid_add(&c, &e);
	e = entry(7, 0, 0);
	caps_cpuid_add(&c, &e);
	ck_assert_uint_eq(caps_cpuid_find(&c, 7, 0)->index, 1);
}
END_TEST

START_TEST(test_cpuid_mark_indexed_flags_indexed_and_multi_index_functions)
{
	static struct caps_cpuid c;
	struct caps_cpuid_entry e;

	caps_cpuid_init(&c);
	e = entry(0xd, 0, 0);		/* indexed by KVM's list */
	caps_cpuid_add(&c, &e);
	e = entry(0x1, 0, 0);		/* plain */
	caps_cpuid_add(&c, &e);
	e = entry(0x80000020, 0, 0);	/* has sub-leaves in this dump */
	caps_cpuid_add(&c, &e);
	e = entry(0x80000020, 1, 0);
	caps_cpuid_add(&c, &e);
	caps_cpuid_mark_indexed(&c);
	ck_assert_uint_eq(c.entries[0].flags, CAPS_CPUID_FLAG_SIGNIFICANT_INDEX);
	ck_assert_uint_eq(c.entries[1].flags, 0);
	ck_assert_uint_eq(c.entries[2].flags, CAPS_CPUID_FLAG_SIGNIFICANT_INDEX);
	ck_assert_uint_eq(c.entries[3].flags, CAPS_CPUID_FLAG_SIGNIFICANT_INDEX);
}
END_TEST

START_TEST(test_cpuid_indexed_functions_match_kvm)
{
	static const uint32_t indexed[] = {
		4, 7, 0xb, 0xd, 0xf, 0x10, 0x12, 0x14, 0x17, 0x18, 0x1d, 0x1e, 0x1f, 0x24, 0x8000001d,
	};
	size_t n = 0;

	for (size_t i = 0; i < sizeof(indexed) / sizeof(indexed[0]); i++)
		ck_assert(caps_cpuid_function_is_indexed(indexed[i]));
	for (uint32_t fn = 0; fn < 0x100; fn++)
		n += caps_cpuid_function_is_indexed(fn) + caps_cpuid_function_is_indexed(0x80000000 + fn);
	ck_assert_uint_eq(n, sizeof(indexed) / sizeof(indexed[0]));
}
END_TEST

START_TEST(test_cpuid_function_range_bounds)
{
	uint32_t base;

	ck_assert_int_eq(caps_cpuid_function_range(0x24, &base), 0);
	ck_assert_uint_eq(base, 0);
	ck_assert_int_eq(caps_cpuid_function_range(0x800000ff, &base), 0);
	ck_assert_uint_eq(base, 0x80000000);
	ck_assert_int_eq(caps_cpuid_function_range(0x40000001, &base), 0);
	ck_assert_uint_eq(base, 0x40000000);
	ck_assert_int_eq(caps_cpuid_function_range(0x40000101, &base), 0);
	ck_assert_uint_eq(base, 0x40000100);
	ck_assert_int_eq(caps_cpuid_function_range(0x40010000, NULL), -ERANGE);
	ck_assert_int_eq(caps_cpuid_function_range(0xc0000001, &base), 0);
	ck_assert_int_eq(caps_cpuid_function_range(0x80860001, &base), 0);
	ck_assert_int_eq(caps_cpuid_function_range(0x20000000, &base), 0);
	ck_assert_uint_eq(base, 0x20000000);
	ck_assert_int_eq(caps_cpuid_function_range(0x20000100, NULL), -ERANGE);
	ck_assert_int_eq(caps_cpuid_function_range(0x100, NULL), -ERANGE);
	ck_assert_int_eq(caps_cpuid_function_range(0x80000100, NULL), -ERANGE);
	ck_assert_int_eq(caps_cpuid_function_range(0xffffffff, NULL), -ERANGE);
	ck_assert_int_eq(caps_cpuid_function_range(0x12345678, NULL), -ERANGE);
}
END_TEST

START_TEST(test_msrs_add_get_limits)
{
	static struct caps_msrs m;
	uint64_t v;

	caps_msrs_init(&m);
	ck_assert_int_eq(caps_msrs_get(&m, 0x10a, &v), -ENOENT);
	for (uint32_t i = 0; i < CAPS_MSR_MAX; i++)
		ck_assert_int_eq(caps_msrs_add(&m, 0x1000 + i, i), 0);
	ck_assert_int_eq(caps_msrs_add(&m, 0x10a, 1), -E2BIG);
	ck_assert_int_eq(caps_msrs_add(&m, 0x1000, 1), -EEXIST);
	ck_assert_int_eq(caps_msrs_get(&m, 0x1005, &v), 0);
	ck_assert_uint_eq(v, 5);
}
END_TEST

static void dump_add(struct caps_dump *d, uint32_t fn, uint32_t idx,
		     uint32_t a, uint32_t b, uint32_t c, uint32_t dx)
{
	struct caps_cpuid_entry e = {
		.function = fn, .index = idx, .eax = a, .ebx = b, .ecx = c, .edx = dx,
	};

	ck_assert_int_eq(caps_cpuid_add(&d->cpuid, &e), 0);
}

/* Signatures of real CPUs and what the SDM/APM rule decodes them to. */
static const struct {
	uint32_t eax;
	unsigned family, model, stepping;
} signatures[] = {
	{ 0x00a10f11, 0x19, 0x11, 1 },	/* AMD EPYC 9334 (Zen 4): ext family */
	{ 0x00870f10, 0x17, 0x71, 0 },	/* AMD Ryzen 9 3900X (Zen 2) */
	{ 0x00600f12, 0x15, 0x01, 2 },	/* AMD Opteron 6234: ext model 0 */
	{ 0x00020f12, 0x0f, 0x21, 2 },	/* AMD Athlon 64 X2: family 0xF uses ext model */
	{ 0x000906ea, 0x06, 0x9e, 10 },	/* Intel Core i7-8700: family 6 uses ext model */
	{ 0x000a06d1, 0x06, 0xad, 1 },	/* Intel Xeon 6788P */
	{ 0x00000f29, 0x0f, 0x02, 9 },	/* Intel Pentium 4 (family 0xF, ext family 0) */
	{ 0x00000435, 0x04, 0x03, 5 },	/* i486: no extension applies */
	{ 0x00100f22, 0x10, 0x02, 2 },	/* AMD family 10h */
	{ 0xf0ff0f00, 0x1e, 0xf0, 0 },	/* reserved bits 31:28 are ignored */
};

START_TEST(test_cpu_id_decode_family_model_stepping)
{
	struct caps_dump d;
	struct caps_cpu_id id;

	caps_dump_init(&d);
	dump_add(&d, 0, 0, 0xd, 0x68747541, 0x444d4163, 0x69746e65);
	dump_add(&d, 1, 0, signatures[_i].eax, 0, 0, 0);
	ck_assert_int_eq(caps_cpu_id_decode(&d, &id), 0);
	ck_assert_str_eq(id.vendor, "AuthenticAMD");
	ck_assert_uint_eq(id.family, signatures[_i].family);
	ck_assert_uint_eq(id.model, signatures[_i].model);
	ck_assert_uint_eq(id.stepping, signatures[_i].stepping);
	ck_assert_uint_eq(id.signature, signatures[_i].eax & 0x0fff3fff);
	ck_assert_str_eq(id.brand, "");
}
END_TEST

static void put_str(uint32_t *regs, const char *s)
{
	memcpy(regs, s, 16);
}

START_TEST(test_cpu_id_decode_brand_and_vendor)
{
	struct caps_dump d;
	struct caps_cpu_id id;
	uint32_t r[12];
	char brand[49] = "  AMD EPYC 9334 32-Core Processor               ";

	caps_dump_init(&d);
	ck_assert_int_eq(caps_cpu_id_decode(&d, &id), -ENOENT);
	dump_add(&d, 0, 0, 0x24, 0x756e6547, 0x6c65746e, 0x49656e69);
	ck_assert_int_eq(caps_cpu_id_decode(&d, &id), -ENOENT);
	dump_add(&d, 1, 0, 0x000a06d1, 0, 0, 0);
	dump_add(&d, 0x80000000, 0, 0x80000008, 0, 0, 0);
	put_str(r, brand);
	put_str(r + 4, brand + 16);
	put_str(r + 8, brand + 32);
	for (uint32_t i = 0; i < 3; i++)
		dump_add(&d, 0x80000002 + i, 0, r[4 * i], r[4 * i + 1], r[4 * i + 2], r[4 * i + 3]);
	ck_assert_int_eq(caps_cpu_id_decode(&d, &id), 0);
	ck_assert_str_eq(id.vendor, "GenuineIntel");
	ck_assert_str_eq(id.brand, "AMD EPYC 9334 32-Core Processor");
}
END_TEST

START_TEST(test_cpu_id_decode_sanitises_unprintable_vendor)
{
	struct caps_dump d;
	struct caps_cpu_id id;

	caps_dump_init(&d);
	dump_add(&d, 0, 0, 1, 0x00000a41, 0xffffffff, 0x20202020);
	dump_add(&d, 1, 0, 0x600, 0, 0, 0);
	ck_assert_int_eq(caps_cpu_id_decode(&d, &id), 0);
	ck_assert_str_eq(id.vendor, "A???    ????");
}
END_TEST

START_TEST(test_from_dump_reads_cpuid_and_msr_words)
{
	struct caps_dump d;
	struct caps c;

	caps_dump_init(&d);
	dump_add(&d, 1, 0, 0, 0, 1u << 19, 1u << 0);
	dump_add(&d, 0x80000021, 0, 1u << 24, 0, 0, 0);
	caps_cpuid_mark_indexed(&d.cpuid);
	ck_assert_int_eq(caps_msrs_add(&d.msrs, 0x10a, 0x1), 0);
	caps_from_dump(&c, &d);
	ck_assert(caps_has(&c, X86_FEATURE_FPU));
	ck_assert(caps_has(&c, X86_FEATURE_XMM4_1));
	ck_assert(caps_has(&c, X86_FEATURE_ERAPS));
	ck_assert(caps_has(&c, X86_FEATURE_RDCL_NO));
	ck_assert_uint_eq(caps_weight(&c), 4);
}
END_TEST

START_TEST(test_from_dump_missing_subleaf_reads_as_zero)
{
	struct caps_dump d;
	struct caps c;

	/* 7.0 only: 7.1 must not be answered by 7.0 once flags are marked. */
	caps_dump_init(&d);
	dump_add(&d, 7, 0, 0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff);
	caps_cpuid_mark_indexed(&d.cpuid);
	caps_from_dump(&c, &d);
	ck_assert_uint_eq(c.words[CPUID_7_0_EBX], 0xffffffff);
	ck_assert_uint_eq(c.words[CPUID_7_1_EAX], 0);
	ck_assert_uint_eq(c.words[CPUID_7_2_EDX], 0);
}
END_TEST

START_TEST(test_unknown_bits_lists_only_unnamed_set_bits)
{
	struct caps_dump d;
	struct caps_unknown_bit u[64];
	size_t n, total = 0;

	caps_dump_init(&d);
	/* Every bit of 1.EDX and 0x8000_0021.EAX set. */
	dump_add(&d, 1, 0, 0, 0, 0, 0xffffffff);
	dump_add(&d, 0x80000021, 0, 0xffffffff, 0, 0, 0);
	caps_cpuid_mark_indexed(&d.cpuid);
	n = caps_unknown_bits(&d, u, 64);
	for (int bit = 0; bit < 32; bit++) {
		total += !caps_feature_info(CPUID_1_EDX * 32 + bit);
		total += !caps_feature_info(CPUID_8000_0021_EAX * 32 + bit);
	}
	ck_assert_uint_eq(n, total);
	for (size_t i = 0; i < n && i < 64; i++) {
		ck_assert(u[i].word == CPUID_1_EDX || u[i].word == CPUID_8000_0021_EAX);
		ck_assert_ptr_null(caps_feature_info(u[i].word * 32 + u[i].bit));
	}
	/* The count is the total even when the buffer is smaller. */
	ck_assert_uint_eq(caps_unknown_bits(&d, u, 1), total);
}
END_TEST

START_TEST(test_unknown_bits_leaves_out_numeric_fields)
{
	struct caps_dump d;
	struct caps_unknown_bit u[8];

	/* AVX10 version 1 in 0x24.0.EBX[7:0], 7.0.ECX MAWAU = 0x1f: numbers. */
	caps_dump_init(&d);
	dump_add(&d, 7, 0, 0, 0, 0x1fu << 17, 0);
	dump_add(&d, 0x24, 0, 0, 0x01, 0, 0);
	caps_cpuid_mark_indexed(&d.cpuid);
	ck_assert_uint_eq(caps_unknown_bits(&d, u, 8), 0);
	ck_assert_uint_eq(caps_word_info(CPUID_24_0_EBX)->field_mask, 0xff);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("cpuid");
	TCase *tc;

	tc = tcase_create("entries");
	tcase_add_test(tc, test_cpuid_add_accepts_256_and_rejects_257);
	tcase_add_test(tc, test_cpuid_add_rejects_duplicates_and_unknown_flags);
	tcase_add_test(tc, test_cpuid_indexed_functions_match_kvm);
	tcase_add_test(tc, test_cpuid_function_range_bounds);
	tcase_add_test(tc, test_msrs_add_get_limits);
	suite_add_tcase(s, tc);

	tc = tcase_create("lookup");
	tcase_add_test(tc, test_cpuid_find_honours_significant_index);
	tcase_add_test(tc, test_cpuid_find_first_unflagged_entry_wins);
	tcase_add_test(tc, test_cpuid_mark_indexed_flags_indexed_and_multi_index_functions);
	suite_add_tcase(s, tc);

	tc = tcase_create("decode");
	tcase_add_loop_test(tc, test_cpu_id_decode_family_model_stepping, 0,
			    sizeof(signatures) / sizeof(signatures[0]));
	tcase_add_test(tc, test_cpu_id_decode_brand_and_vendor);
	tcase_add_test(tc, test_cpu_id_decode_sanitises_unprintable_vendor);
	tcase_add_test(tc, test_from_dump_reads_cpuid_and_msr_words);
	tcase_add_test(tc, test_from_dump_missing_subleaf_reads_as_zero);
	tcase_add_test(tc, test_unknown_bits_lists_only_unnamed_set_bits);
	tcase_add_test(tc, test_unknown_bits_leaves_out_numeric_fields);
	suite_add_tcase(s, tc);

	return test_run_suite(s);
}
