/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Capability bitmaps: has/set/clear/change and the set operations. */

#include <string.h>

#include <libcaps/caps.h>

#include "test-util.h"

START_TEST(test_caps_set_has_clear_change_round_trip)
{
	struct caps c;

	caps_zero(&c);
	ck_assert(caps_is_empty(&c));
	ck_assert(!caps_has(&c, X86_FEATURE_ERAPS));

	caps_set(&c, X86_FEATURE_ERAPS);
	ck_assert(caps_has(&c, X86_FEATURE_ERAPS));
	ck_assert_uint_eq(c.words[CPUID_8000_0021_EAX], 1u << 24);
	ck_assert_uint_eq(caps_weight(&c), 1);

	caps_change(&c, X86_FEATURE_FPU, true);
	ck_assert(caps_has(&c, X86_FEATURE_FPU));
	caps_change(&c, X86_FEATURE_FPU, false);
	ck_assert(!caps_has(&c, X86_FEATURE_FPU));

	caps_clear(&c, X86_FEATURE_ERAPS);
	ck_assert(caps_is_empty(&c));
}
END_TEST

START_TEST(test_caps_has_rejects_out_of_range_ids)
{
	struct caps c;

	memset(&c, 0xff, sizeof(c));
	ck_assert(!caps_has(&c, -1));
	ck_assert(!caps_has(&c, CAPS_NR_FEATURE_IDS));
	ck_assert(caps_has(&c, CAPS_NR_FEATURE_IDS - 1));
}
END_TEST

START_TEST(test_caps_set_operations_match_word_arithmetic)
{
	struct caps a, b, r;

	caps_zero(&a);
	caps_zero(&b);
	caps_set(&a, X86_FEATURE_FPU);
	caps_set(&a, X86_FEATURE_XMM4_1);
	caps_set(&b, X86_FEATURE_XMM4_1);
	caps_set(&b, X86_FEATURE_ERAPS);

	caps_or(&r, &a, &b);
	ck_assert_uint_eq(caps_weight(&r), 3);
	caps_and(&r, &a, &b);
	ck_assert_uint_eq(caps_weight(&r), 1);
	ck_assert(caps_has(&r, X86_FEATURE_XMM4_1));
	caps_andnot(&r, &a, &b);
	ck_assert_uint_eq(caps_weight(&r), 1);
	ck_assert(caps_has(&r, X86_FEATURE_FPU));

	ck_assert(!caps_equal(&a, &b));
	caps_and(&r, &a, &b);
	ck_assert(caps_is_subset(&r, &a));
	ck_assert(caps_is_subset(&r, &b));
	ck_assert(!caps_is_subset(&a, &b));
	ck_assert(caps_is_subset(&a, &a));
	r = a;
	ck_assert(caps_equal(&r, &a));

	/* dst may alias a source. */
	caps_or(&a, &a, &b);
	ck_assert_uint_eq(caps_weight(&a), 3);
}
END_TEST

START_TEST(test_caps_next_iterates_in_id_order)
{
	static const int ids[] = { 0, 31, 32, 33, 95, CAPS_NR_FEATURE_IDS - 1 };
	struct caps c;
	size_t n = 0;

	caps_zero(&c);
	ck_assert_int_eq(caps_next(&c, 0), -1);
	for (size_t i = 0; i < sizeof(ids) / sizeof(ids[0]); i++)
		caps_set(&c, ids[i]);
	caps_for_each(f, &c) {
		ck_assert_uint_lt(n, sizeof(ids) / sizeof(ids[0]));
		ck_assert_int_eq(f, ids[n]);
		n++;
	}
	ck_assert_uint_eq(n, sizeof(ids) / sizeof(ids[0]));
	ck_assert_int_eq(caps_next(&c, 34), 95);
	ck_assert_int_eq(caps_next(&c, -5), 0);
	ck_assert_int_eq(caps_next(&c, CAPS_NR_FEATURE_IDS), -1);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("caps");
	TCase *tc;

	tc = tcase_create("bits");
	tcase_add_test(tc, test_caps_set_has_clear_change_round_trip);
	tcase_add_test(tc, test_caps_has_rejects_out_of_range_ids);
	suite_add_tcase(s, tc);

	tc = tcase_create("sets");
	tcase_add_test(tc, test_caps_set_operations_match_word_arithmetic);
	tcase_add_test(tc, test_caps_next_iterates_in_id_order);
	suite_add_tcase(s, tc);

	return test_run_suite(s);
}
