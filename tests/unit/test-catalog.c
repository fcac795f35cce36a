/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The feature catalog: table consistency, names, aliases and lookup. */

#include <ctype.h>
#include <errno.h>
#include <string.h>

#include <libcaps/caps.h>

#include "test-util.h"

/* Fold a spelling the way the lookup does, into buf. */
static const char *fold(const char *s, size_t len, char *buf, size_t size)
{
	size_t i;

	for (i = 0; i < len && i + 1 < size; i++)
		buf[i] = (s[i] == '-' || s[i] == '.') ? '_' : (char)tolower((unsigned char)s[i]);
	buf[i] = '\0';
	return buf;
}

struct spelling {
	char folded[80];
	size_t feature_index;
};

static size_t collect_spellings(struct spelling *out, size_t max)
{
	size_t n = 0;

	for (size_t i = 0; i < caps_feature_count(); i++) {
		const struct caps_feature_info *fi = caps_feature_at(i);
		const char *p;

		ck_assert_uint_lt(n + 1, max);
		fold(fi->name, strlen(fi->name), out[n].folded, sizeof(out[n].folded));
		out[n++].feature_index = i;
		/* QEMU's spelling may equal the canonical one: listed once. */
		if (fi->qemu) {
			ck_assert_uint_lt(n + 1, max);
			fold(fi->qemu, strlen(fi->qemu), out[n].folded, sizeof(out[n].folded));
			if (strcmp(out[n].folded, out[n - 1].folded) != 0)
				out[n++].feature_index = i;
		}
		for (p = fi->aliases; p && *p;) {
			size_t len = strcspn(p, " ");

			ck_assert_msg(len > 0, "%s: empty alias (double space?)", fi->name);
			ck_assert_uint_lt(n + 1, max);
			fold(p, len, out[n].folded, sizeof(out[n].folded));
			out[n++].feature_index = i;
			p += len;
			ck_assert_msg(*p == '\0' || p[1] != '\0', "%s: trailing space in aliases", fi->name);
			p += strspn(p, " ");
		}
	}
	return n;
}

static int spelling_cmp(const void *a, const void *b)
{
	return strcmp(((const struct spelling *)a)->folded, ((const struct spelling *)b)->folded);
}

START_TEST(test_catalog_every_spelling_is_unique_after_folding)
{
	static struct spelling sp[8192];
	size_t n = collect_spellings(sp, sizeof(sp) / sizeof(sp[0]));

	qsort(sp, n, sizeof(sp[0]), spelling_cmp);
	for (size_t i = 1; i < n; i++) {
		const struct caps_feature_info *a = caps_feature_at(sp[i - 1].feature_index);
		const struct caps_feature_info *b = caps_feature_at(sp[i].feature_index);

		ck_assert_msg(strcmp(sp[i - 1].folded, sp[i].folded) != 0,
			      "spelling '%s' is used by %s and %s (or twice by one)",
			      sp[i].folded, a->name, b->name);
	}
}
END_TEST

START_TEST(test_catalog_every_entry_round_trips_name_bit_name)
{
	for (size_t i = 0; i < caps_feature_count(); i++) {
		const struct caps_feature_info *fi = caps_feature_at(i);
		const char *p;

		ck_assert_ptr_eq(caps_feature_info(fi->id), fi);
		ck_assert_int_eq(fi->id, fi->word * 32 + fi->bit);
		ck_assert_str_eq(caps_feature_name(fi->id, CAPS_NAMES_LINUX), fi->name);
		ck_assert_str_eq(caps_feature_name(fi->id, CAPS_NAMES_QEMU), fi->qemu ? fi->qemu : fi->name);
		ck_assert_msg(caps_feature_lookup(fi->name) == fi->id, "lookup(%s)", fi->name);
		if (fi->qemu)
			ck_assert_msg(caps_feature_lookup(fi->qemu) == fi->id, "lookup(%s)", fi->qemu);
		for (p = fi->aliases; p && *p;) {
			size_t len = strcspn(p, " ");
			char alias[80];

			ck_assert_uint_lt(len, sizeof(alias));
			memcpy(alias, p, len);
			alias[len] = '\0';
			ck_assert_msg(caps_feature_lookup(alias) == fi->id, "lookup(%s)", alias);
			p += len;
			p += strspn(p, " ");
		}
	}
}
END_TEST

START_TEST(test_catalog_no_two_entries_share_a_bit)
{
	static unsigned char seen[CAPS_NR_FEATURE_IDS];

	for (size_t i = 0; i < caps_feature_count(); i++) {
		const struct caps_feature_info *fi = caps_feature_at(i);

		ck_assert_uint_lt(fi->word, NR_CAPS_WORDS);
		ck_assert_uint_lt(fi->bit, 32);
		ck_assert_msg(!(caps_word_info(fi->word)->field_mask & caps_feature_mask(fi->id)),
			      "%s: named bit inside a numeric field", fi->name);
		ck_assert_msg(!seen[fi->id], "%s: bit already named", fi->name);
		seen[fi->id] = 1;
	}
}
END_TEST

START_TEST(test_catalog_names_use_the_documented_charsets)
{
	for (size_t i = 0; i < caps_feature_count(); i++) {
		const struct caps_feature_info *fi = caps_feature_at(i);

		/* Canonical: Linux style, lower case, digits and '_'. */
		ck_assert_msg(strspn(fi->name, "abcdefghijklmnopqrstuvwxyz0123456789_") == strlen(fi->name),
			      "canonical name '%s'", fi->name);
		if (fi->qemu)
			ck_assert_msg(strspn(fi->qemu, "abcdefghijklmnopqrstuvwxyz0123456789_.-") == strlen(fi->qemu),
				      "QEMU name '%s'", fi->qemu);
		ck_assert_msg(!(fi->flags & ~CAPS_FF_PROC), "%s: unknown flags", fi->name);
		/* /proc/cpuinfo prints CPUID bits only. */
		if (fi->flags & CAPS_FF_PROC)
			ck_assert_int_ne(caps_word_info(fi->word)->kind, CAPS_WORD_MSR);
	}
}
END_TEST

START_TEST(test_catalog_words_are_consistent)
{
	bool kernel_seen[64] = { false };

	for (int w = 0; w < NR_CAPS_WORDS; w++) {
		const struct caps_word_info *wi = caps_word_info(w);

		ck_assert_ptr_nonnull(wi);
		ck_assert_ptr_nonnull(wi->name);
		if (wi->kind == CAPS_WORD_MSR) {
			ck_assert_int_eq(wi->kernel_word, -1);
			ck_assert_uint_ne(wi->msr, 0);
			continue;
		}
		ck_assert_msg(caps_word_find_cpuid(wi->function, wi->index, wi->reg) == w,
			      "%s: two words for one register", wi->name);
		if (wi->kind == CAPS_WORD_KERNEL) {
			ck_assert_int_ge(wi->kernel_word, 0);
			ck_assert_int_lt(wi->kernel_word, 64);
			ck_assert_msg(!kernel_seen[wi->kernel_word], "%s: kernel word reused", wi->name);
			kernel_seen[wi->kernel_word] = true;
		} else {
			ck_assert_int_eq(wi->kernel_word, -1);
		}
	}
	ck_assert_ptr_null(caps_word_info(NR_CAPS_WORDS));
	ck_assert_int_eq(caps_word_find_cpuid(7, 0, CAPS_REG_EBX), CPUID_7_0_EBX);
	ck_assert_int_eq(caps_word_find_cpuid(0x80000021, 0, CAPS_REG_EAX), CPUID_8000_0021_EAX);
	ck_assert_int_eq(caps_word_find_cpuid(7, 5, CAPS_REG_EBX), -ENOENT);
}
END_TEST

/*
 * Positions that KVM-SEMANTICS.md and the seed reviews rely on, looked up
 * by name so that a wrong name or a wrong bit both fail.
 */
static const struct {
	const char *name;
	enum caps_word word;
	unsigned bit;
} known_positions[] = {
	{ "fpu", CPUID_1_EDX, 0 },
	{ "apic", CPUID_1_EDX, 9 },
	{ "sse4_1", CPUID_1_ECX, 19 },
	{ "sse4.1", CPUID_1_ECX, 19 },
	{ "monitor", CPUID_1_ECX, 3 },		/* KVM's MWAIT: RUNTIME_F */
	{ "mwait", CPUID_1_ECX, 3 },
	{ "x2apic", CPUID_1_ECX, 21 },		/* EMULATED_F */
	{ "tsc_deadline_timer", CPUID_1_ECX, 24 },
	{ "tsc-deadline", CPUID_1_ECX, 24 },
	{ "osxsave", CPUID_1_ECX, 27 },
	{ "hypervisor", CPUID_1_ECX, 31 },
	{ "arat", CPUID_6_EAX, 2 },
	{ "tsc_adjust", CPUID_7_0_EBX, 1 },
	{ "pku", CPUID_7_ECX, 3 },
	{ "ospke", CPUID_7_ECX, 4 },
	{ "la57", CPUID_7_ECX, 16 },		/* PASSTHROUGH_F */
	{ "arch_capabilities", CPUID_7_EDX, 29 },
	{ "lam", CPUID_7_1_EAX, 26 },
	{ "msr_imm", CPUID_7_1_ECX, 5 },
	{ "avx10", CPUID_7_1_EDX, 19 },
	{ "bhi_ctrl", CPUID_7_2_EDX, 4 },
	{ "xfd", CPUID_D_1_EAX, 4 },
	{ "xsaves", CPUID_D_1_EAX, 3 },
	{ "sgx1", CPUID_12_EAX, 0 },
	{ "avx10-512", CPUID_24_0_EBX, 18 },
	{ "pdpe1gb", CPUID_8000_0001_EDX, 26 },	/* KVM's GBPAGES */
	{ "gbpages", CPUID_8000_0001_EDX, 26 },
	{ "svm", CPUID_8000_0001_ECX, 2 },
	{ "constant_tsc", CPUID_8000_0007_EDX, 8 },
	{ "invtsc", CPUID_8000_0007_EDX, 8 },
	{ "npt", CPUID_8000_000A_EDX, 0 },
	{ "avic", CPUID_8000_000A_EDX, 13 },
	{ "x2avic", CPUID_8000_000A_EDX, 18 },
	{ "sev", CPUID_8000_001F_EAX, 1 },
	{ "sev_es", CPUID_8000_001F_EAX, 3 },
	{ "sev_snp", CPUID_8000_001F_EAX, 4 },
	{ "null_sel_clr_base", CPUID_8000_0021_EAX, 6 },
	{ "no_smm_ctl_msr", CPUID_8000_0021_EAX, 9 },
	{ "eraps", CPUID_8000_0021_EAX, 24 },
	{ "srso_user_kernel_no", CPUID_8000_0021_EAX, 30 },
	{ "tsa_sq_no", CPUID_8000_0021_ECX, 1 },
	{ "tsa_l1_no", CPUID_8000_0021_ECX, 2 },
	{ "perfmon_v2", CPUID_8000_0022_EAX, 0 },
	{ "kvmclock", CPUID_4000_0001_EAX, 0 },
	{ "rdctl-no", MSR_ARCH_CAP_LO, 0 },
	{ "its-no", MSR_ARCH_CAP_HI, 30 },
	{ "split-lock-detect", MSR_CORE_CAP_LO, 5 },
	{ "vmx-rdtsc-exit", MSR_VMX_TRUE_PROCBASED_CTLS_LO, 12 },
	{ "vmx-nested-exception", MSR_VMX_BASIC_HI, 26 },
};

START_TEST(test_catalog_known_positions_hold)
{
	int id = caps_feature_lookup(known_positions[_i].name);

	ck_assert_msg(id >= 0, "%s: not in the catalog", known_positions[_i].name);
	ck_assert_msg(caps_feature_word(id) == (int)known_positions[_i].word &&
		      caps_feature_bit(id) == (int)known_positions[_i].bit,
		      "%s: at %s bit %d", known_positions[_i].name,
		      caps_word_info(caps_feature_word(id))->name, caps_feature_bit(id));
}
END_TEST

START_TEST(test_catalog_lookup_folds_case_and_separators)
{
	ck_assert_int_eq(caps_feature_lookup("SSE4_1"), X86_FEATURE_XMM4_1);
	ck_assert_int_eq(caps_feature_lookup("Sse4-1"), X86_FEATURE_XMM4_1);
	ck_assert_int_eq(caps_feature_lookup("sse4.1"), X86_FEATURE_XMM4_1);
	ck_assert_int_eq(caps_feature_lookup("ERAPS"), X86_FEATURE_ERAPS);
	ck_assert_int_eq(caps_feature_lookup("RDCTL_NO"), X86_FEATURE_RDCL_NO);
}
END_TEST

START_TEST(test_catalog_lookup_rejects_unknown_and_bad_names)
{
	char longname[200];

	memset(longname, 'a', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = '\0';
	ck_assert_int_eq(caps_feature_lookup("no-such-feature"), -ENOENT);
	ck_assert_int_eq(caps_feature_lookup("sse4_1 "), -ENOENT);
	ck_assert_int_eq(caps_feature_lookup("sse4__1"), -ENOENT);
	ck_assert_int_eq(caps_feature_lookup(""), -EINVAL);
	ck_assert_int_eq(caps_feature_lookup(NULL), -EINVAL);
	ck_assert_int_eq(caps_feature_lookup(longname), -EINVAL);
}
END_TEST

START_TEST(test_catalog_suggest_offers_nearest_names)
{
	const char *s[4];
	size_t n;
	bool found = false;

	n = caps_feature_suggest("sse4_3", s, 4);
	ck_assert_uint_ge(n, 1);
	for (size_t i = 0; i < n; i++)
		found |= strcmp(s[i], "sse4_1") == 0;
	ck_assert_msg(found, "sse4_1 not suggested for sse4_3");

	n = caps_feature_suggest("erap", s, 4);
	ck_assert_uint_ge(n, 1);
	ck_assert_str_eq(s[0], "eraps");

	ck_assert_uint_eq(caps_feature_suggest("qqqqqqqqqqqqqqqqqqqq", s, 4), 0);
	ck_assert_uint_eq(caps_feature_suggest(NULL, s, 4), 0);
	ck_assert_uint_eq(caps_feature_suggest("erap", s, 0), 0);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("catalog");
	TCase *tc;

	tc = tcase_create("table");
	tcase_add_test(tc, test_catalog_every_spelling_is_unique_after_folding);
	tcase_add_test(tc, test_catalog_every_entry_round_trips_name_bit_name);
	tcase_add_test(tc, test_catalog_no_two_entries_share_a_bit);
	tcase_add_test(tc, test_catalog_names_use_the_documented_charsets);
	tcase_add_test(tc, test_catalog_words_are_consistent);
	tcase_add_loop_test(tc, test_catalog_known_positions_hold, 0,
			    sizeof(known_positions) / sizeof(known_positions[0]));
	suite_add_tcase(s, tc);

	tc = tcase_create("lookup");
	tcase_add_test(tc, test_catalog_lookup_folds_case_and_separators);
	tcase_add_test(tc, test_catalog_lookup_rejects_unknown_and_bad_names);
	tcase_add_test(tc, test_catalog_suggest_offers_nearest_names);
	suite_add_tcase(s, tc);

	return test_run_suite(s);
}
