/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The dump readers and writers: libvirt XML, `cpuid -r` text and hvcap
 * JSON.  The fixtures under tests/data/dumps/ are one synthetic CPU in
 * each format; real dumps come from $HVCAP_TESTDATA and from this
 * machine's `cpuid` tool when present.
 */

#include <cpuid.h>
#include <errno.h>
#include <glob.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <libcaps/dump.h>

#include "test-util.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

#define FIXTURE_XML		"tests/data/dumps/synthetic.xml"
#define FIXTURE_CPUID_R		"tests/data/dumps/synthetic.cpuid-r"
#define FIXTURE_CPUID_R_ALL	"tests/data/dumps/synthetic-all-cpus.cpuid-r"
#define FIXTURE_JSON		"tests/data/dumps/synthetic.json"

static const enum caps_dump_format all_formats[] = {
	CAPS_DUMP_LIBVIRT_XML, CAPS_DUMP_CPUID_R, CAPS_DUMP_JSON,
};

/* ---- helpers ---------------------------------------------------------- */

/* The whole file, NUL-terminated; fails the test if it cannot be read. */
static char *read_text(const char *path, size_t *ret_len)
{
	FILE *f = fopen(path, "re");
	char *buf;
	long n;

	ck_assert_msg(f, "cannot open %s", path);
	ck_assert_int_eq(fseek(f, 0, SEEK_END), 0);
	n = ftell(f);
	ck_assert_int_ge(n, 0);
	rewind(f);
	buf = malloc((size_t)n + 1);
	ck_assert_ptr_nonnull(buf);
	ck_assert_uint_eq(fread(buf, 1, (size_t)n, f), (size_t)n);
	buf[n] = '\0';
	fclose(f);
	if (ret_len)
		*ret_len = (size_t)n;
	return buf;
}

static void parse_ok(const char *text, size_t len, enum caps_dump_format fmt, struct caps_dump *d)
{
	struct caps_dump_error err = { 0 };
	int r = caps_dump_parse(text, len, fmt, d, &err);

	ck_assert_msg(r == 0, "%s: parse failed with %d at %u:%u (offset %zu): %s",
		      caps_dump_format_to_string(fmt), r, err.line, err.column, err.offset,
		      err.message);
}

static void parse_str_ok(const char *text, enum caps_dump_format fmt, struct caps_dump *d)
{
	parse_ok(text, strlen(text), fmt, d);
}

static void load_fixture(const char *rel, enum caps_dump_format fmt, struct caps_dump *d)
{
	struct caps_dump_error err = { 0 };
	int r = caps_dump_read_file(test_srcpath(rel), fmt, d, &err);

	ck_assert_msg(r == 0, "%s: %d at %u:%u: %s", rel, r, err.line, err.column, err.message);
}

/*
 * Parse must fail with r_expected, leave *ret alone, and say why: the
 * message contains message, and the error is on line (unless 0).
 */
static void expect_failure(const char *what, const char *text, size_t len,
			   enum caps_dump_format fmt, int r_expected, unsigned line,
			   const char *message)
{
	struct caps_dump d, sentinel;
	struct caps_dump_error err;
	int r;

	memset(&sentinel, 0xa5, sizeof(sentinel));
	memcpy(&d, &sentinel, sizeof(d));
	memset(&err, 0, sizeof(err));
	r = caps_dump_parse(text, len, fmt, &d, &err);
	ck_assert_msg(r == r_expected, "%s: returned %d, expected %d (%u:%u: %s)", what, r,
		      r_expected, err.line, err.column, err.message);
	ck_assert_msg(memcmp(&d, &sentinel, sizeof(d)) == 0, "%s: *ret written on failure", what);
	ck_assert_msg(err.message[0], "%s: no error message", what);
	ck_assert_msg(strstr(err.message, message), "%s: message \"%s\" lacks \"%s\"", what,
		      err.message, message);
	if (line)
		ck_assert_msg(err.line == line, "%s: error on line %u, expected %u (%s)", what,
			      err.line, line, err.message);
	ck_assert_msg(err.offset <= len, "%s: offset %zu past the input (%zu)", what, err.offset, len);
}

static const struct caps_cpuid_entry *find_entry(const struct caps_dump *d, uint32_t fn,
						 uint32_t index)
{
	for (size_t i = 0; i < d->cpuid.nent; i++)
		if (d->cpuid.entries[i].function == fn && d->cpuid.entries[i].index == index)
			return &d->cpuid.entries[i];
	return NULL;
}

static void check_entry(const struct caps_dump *d, uint32_t fn, uint32_t index, uint32_t flags,
			uint32_t eax, uint32_t ebx, uint32_t ecx, uint32_t edx)
{
	const struct caps_cpuid_entry *e = find_entry(d, fn, index);

	ck_assert_msg(e, "leaf 0x%x.%u missing", fn, index);
	ck_assert_uint_eq(e->flags, flags);
	ck_assert_uint_eq(e->eax, eax);
	ck_assert_uint_eq(e->ebx, ebx);
	ck_assert_uint_eq(e->ecx, ecx);
	ck_assert_uint_eq(e->edx, edx);
}

/* What every fixture holds; the MSRs and comment only where the format has them. */
static void check_synthetic(const struct caps_dump *d, bool has_extras)
{
	uint64_t v;

	ck_assert_uint_eq(d->cpuid.nent, 9);
	ck_assert_uint_eq(d->cpuid.entries[0].function, 0);
	ck_assert_uint_eq(d->cpuid.entries[8].function, 0x80000008);
	check_entry(d, 0x0, 0, 0, 0x0000000d, 0x756e6547, 0x6c65746e, 0x49656e69);
	check_entry(d, 0x1, 0, 0, 0x000906ea, 0x00100800, 0x7ffafbff, 0xbfebfbff);
	/* Sub-leaves of indexed functions carry SIGNIFICANT_INDEX. */
	check_entry(d, 0x7, 0, CAPS_CPUID_FLAG_SIGNIFICANT_INDEX,
		    0x00000001, 0x029c6fbf, 0x40000000, 0xbc000400);
	check_entry(d, 0x7, 1, CAPS_CPUID_FLAG_SIGNIFICANT_INDEX, 0x00000010, 0, 0, 0);
	check_entry(d, 0xd, 1, CAPS_CPUID_FLAG_SIGNIFICANT_INDEX, 0x0000000f, 0x00000440, 0, 0);
	check_entry(d, 0x80000001, 0, 0, 0, 0, 0x00000121, 0x2c100800);
	ck_assert_ptr_null(find_entry(d, 0xd, 2));
	if (!has_extras) {
		ck_assert_uint_eq(d->msrs.n, 0);
		ck_assert_str_eq(d->comment, "");
		return;
	}
	ck_assert_str_eq(d->comment, "hvcap synthetic CPU @ 1.00GHz");
	ck_assert_uint_eq(d->msrs.n, 3);
	ck_assert_int_eq(caps_msrs_get(&d->msrs, 0xcf, &v), 0);
	ck_assert_uint_eq(v, 0x20);
	ck_assert_int_eq(caps_msrs_get(&d->msrs, 0x10a, &v), 0);
	ck_assert_uint_eq(v, 0x0c000069);
	/* libvirt's edx is bits 63:32. */
	ck_assert_int_eq(caps_msrs_get(&d->msrs, 0x480, &v), 0);
	ck_assert_uint_eq(v, 0x00da040000000004ull);
}

static void check_same_dump(const struct caps_dump *a, const struct caps_dump *b, bool has_extras,
			    const char *what)
{
	ck_assert_msg(caps_cpuid_equal(&a->cpuid, &b->cpuid), "%s: CPUID entries differ", what);
	if (!has_extras) {
		ck_assert_msg(b->msrs.n == 0 && b->comment[0] == '\0',
			      "%s: MSRs or comment from nowhere", what);
		return;
	}
	ck_assert_msg(a->msrs.n == b->msrs.n, "%s: %zu MSRs, then %zu", what, a->msrs.n, b->msrs.n);
	for (size_t i = 0; i < a->msrs.n; i++) {
		ck_assert_uint_eq(a->msrs.msrs[i].index, b->msrs.msrs[i].index);
		ck_assert_uint_eq(a->msrs.msrs[i].value, b->msrs.msrs[i].value);
	}
	ck_assert_msg(strcmp(a->comment, b->comment) == 0, "%s: comment \"%s\", then \"%s\"", what,
		      a->comment, b->comment);
}

/* Write d in fmt, read it back, and compare: the round-trip promise. */
static void check_round_trip(const struct caps_dump *d, enum caps_dump_format fmt, const char *what)
{
	struct caps_dump back;
	char *text = NULL, *again = NULL;
	char name[256];
	int r;

	snprintf(name, sizeof(name), "%s via %s", what, caps_dump_format_to_string(fmt));
	r = caps_dump_write(d, fmt, &text);
	ck_assert_msg(r == 0, "%s: write failed with %d", name, r);
	ck_assert_ptr_nonnull(text);
	parse_str_ok(text, fmt, &back);
	check_same_dump(d, &back, fmt != CAPS_DUMP_CPUID_R, name);
	/* Writing what was read gives the same text: the output is stable. */
	ck_assert_int_eq(caps_dump_write(&back, fmt, &again), 0);
	ck_assert_str_eq(again, text);
	free(again);
	free(text);
}

/* The function of generated entry i: 0..0xff, then the extended range. */
static uint32_t generated_function(size_t i)
{
	return i < 0x100 ? (uint32_t)i : 0x80000000u + (uint32_t)(i - 0x100);
}

/* A dump with n leaves (and m MSRs where the format has them), as text. */
static char *generate(enum caps_dump_format fmt, size_t n, size_t m)
{
	char *out = NULL;
	size_t size = 0;
	FILE *f = open_memstream(&out, &size);

	ck_assert_ptr_nonnull(f);
	switch (fmt) {
	case CAPS_DUMP_LIBVIRT_XML:
		fputs("<cpudata arch='x86'>\n", f);
		for (size_t i = 0; i < n; i++)
			fprintf(f, "  <cpuid eax_in='0x%08x' ecx_in='0x00' eax='0x%08zx' ebx='0x00000000' ecx='0x00000000' edx='0x00000000'/>\n",
				generated_function(i), i);
		for (size_t i = 0; i < m; i++)
			fprintf(f, "  <msr index='0x%zx' edx='0x00000000' eax='0x00000001'/>\n", 0x480 + i);
		fputs("</cpudata>\n", f);
		break;
	case CAPS_DUMP_CPUID_R:
		fputs("CPU:\n", f);
		for (size_t i = 0; i < n; i++)
			fprintf(f, "   0x%08x 0x00: eax=0x%08zx ebx=0x00000000 ecx=0x00000000 edx=0x00000000\n",
				generated_function(i), i);
		break;
	case CAPS_DUMP_JSON:
		fputs("{\"format\": \"hvcap-cpu-dump\", \"version\": 1, \"cpuid\": [\n", f);
		for (size_t i = 0; i < n; i++)
			fprintf(f, "%s{\"function\": %u, \"index\": 0, \"flags\": 0, \"eax\": %zu, \"ebx\": 0, \"ecx\": 0, \"edx\": 0}\n",
				i ? "," : "", generated_function(i), i);
		fputs("], \"msrs\": [\n", f);
		for (size_t i = 0; i < m; i++)
			fprintf(f, "%s{\"index\": %zu, \"value\": \"0x1\"}\n", i ? "," : "", 0x480 + i);
		fputs("]}\n", f);
		break;
	default:
		ck_abort_msg("no generator for format %d", fmt);
	}
	ck_assert_int_eq(fclose(f), 0);
	return out;
}

/* Negative cases: one malformation each. */
struct bad_input {
	const char *name;
	const char *text;
	int r;
	unsigned line;		/* of the error; 0 = not checked */
	const char *message;	/* substring of the message */
};

static void expect_bad_input(const struct bad_input *b, enum caps_dump_format fmt)
{
	expect_failure(b->name, b->text, strlen(b->text), fmt, b->r, b->line, b->message);
}

/* ---- format names, detection, generic parse --------------------------- */

START_TEST(test_format_names_round_trip)
{
	static const char *const names[] = { "auto", "libvirt-xml", "cpuid-r", "json" };
	enum caps_dump_format fmt;

	for (size_t i = 0; i < ARRAY_SIZE(names); i++) {
		ck_assert_int_eq(caps_dump_format_from_string(names[i], &fmt), 0);
		ck_assert_int_eq(fmt, (int)i);
		ck_assert_str_eq(caps_dump_format_to_string(fmt), names[i]);
	}
	ck_assert_int_eq(caps_dump_format_from_string("xml", &fmt), -EINVAL);
	ck_assert_int_eq(caps_dump_format_from_string(NULL, &fmt), -EINVAL);
	ck_assert_ptr_null(caps_dump_format_to_string((enum caps_dump_format)42));
}
END_TEST

START_TEST(test_detect_recognises_each_format)
{
	static const struct {
		const char *text;
		int r;
		enum caps_dump_format fmt;
	} cases[] = {
		{ "<cpudata arch='x86'>", 0, CAPS_DUMP_LIBVIRT_XML },
		{ "\n  <!-- comment -->", 0, CAPS_DUMP_LIBVIRT_XML },
		{ "\xef\xbb\xbf{\"format\"", 0, CAPS_DUMP_JSON },
		{ "CPU:\n", 0, CAPS_DUMP_CPUID_R },
		{ "CPU 0:\n", 0, CAPS_DUMP_CPUID_R },
		{ "   0x00000000 0x00: eax=", 0, CAPS_DUMP_CPUID_R },
		{ "", -EINVAL, CAPS_DUMP_AUTO },
		{ " \t\r\n", -EINVAL, CAPS_DUMP_AUTO },
		{ "hello", -EINVAL, CAPS_DUMP_AUTO },
	};

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		enum caps_dump_format fmt = CAPS_DUMP_AUTO;

		ck_assert_int_eq(caps_dump_detect(cases[i].text, strlen(cases[i].text), &fmt),
				 cases[i].r);
		ck_assert_int_eq(fmt, cases[i].fmt);
	}
}
END_TEST

START_TEST(test_parse_auto_reads_every_fixture)
{
	static const char *const fixtures[] = { FIXTURE_XML, FIXTURE_CPUID_R, FIXTURE_JSON };

	for (size_t i = 0; i < ARRAY_SIZE(fixtures); i++) {
		struct caps_dump d;

		load_fixture(fixtures[i], CAPS_DUMP_AUTO, &d);
		check_synthetic(&d, i != 1);
	}
	expect_failure("undetectable", "hello\n", 6, CAPS_DUMP_AUTO, -EINVAL, 1, "unrecognised dump format");
}
END_TEST

START_TEST(test_parse_rejects_nul_bytes)
{
	static const char *const fixtures[] = { FIXTURE_XML, FIXTURE_CPUID_R, FIXTURE_JSON };

	for (size_t i = 0; i < ARRAY_SIZE(fixtures); i++) {
		size_t len;
		char *text = read_text(test_srcpath(fixtures[i]), &len);
		struct caps_dump_error err;
		struct caps_dump d;

		text[len / 2] = '\0';
		expect_failure(fixtures[i], text, len, all_formats[i], -EINVAL, 0, "NUL byte");
		ck_assert_int_eq(caps_dump_parse(text, len, CAPS_DUMP_AUTO, &d, &err), -EINVAL);
		ck_assert_uint_eq(err.offset, len / 2);
		free(text);
	}
}
END_TEST

START_TEST(test_parse_rejects_empty_input)
{
	static const char *const empties[] = { "", " \n\t\r\n" };

	for (size_t e = 0; e < ARRAY_SIZE(empties); e++) {
		expect_failure("empty, libvirt", empties[e], strlen(empties[e]), CAPS_DUMP_LIBVIRT_XML,
			       -EINVAL, 0, "no element found");
		expect_failure("empty, cpuid -r", empties[e], strlen(empties[e]), CAPS_DUMP_CPUID_R,
			       -EINVAL, 0, "no CPUID leaf lines");
		expect_failure("empty, json", empties[e], strlen(empties[e]), CAPS_DUMP_JSON,
			       -EINVAL, 0, "empty input");
		expect_failure("empty, auto", empties[e], strlen(empties[e]), CAPS_DUMP_AUTO,
			       -EINVAL, 0, "unrecognised");
	}
}
END_TEST

/* Failures after many entries were added still leave *ret alone. */
START_TEST(test_parse_leaves_ret_untouched_on_failure)
{
	/* How the last of 200 generated leaves (function 199) reads, and a copy of leaf 0. */
	static const char *const last[][2] = {
		[CAPS_DUMP_LIBVIRT_XML] = { "eax_in='0x000000c7'", "eax_in='0x00000000'" },
		[CAPS_DUMP_CPUID_R] = { "0x000000c7 0x00:", "0x00000000 0x00:" },
		[CAPS_DUMP_JSON] = { "\"function\": 199", "\"function\":   0" },
	};

	for (size_t i = 0; i < ARRAY_SIZE(all_formats); i++) {
		enum caps_dump_format fmt = all_formats[i];
		char *text = generate(fmt, 257, 0);
		char *dup = generate(fmt, 200, 0);
		char *at;

		expect_failure("257 entries", text, strlen(text), fmt, -E2BIG, 0, "256");
		at = strstr(dup, last[fmt][0]);
		ck_assert_ptr_nonnull(at);
		ck_assert_uint_eq(strlen(last[fmt][0]), strlen(last[fmt][1]));
		memcpy(at, last[fmt][1], strlen(last[fmt][1]));
		expect_failure("late duplicate", dup, strlen(dup), fmt, -EINVAL, 0, "duplicate");
		free(text);
		free(dup);
	}
}
END_TEST

/* ---- libvirt XML ------------------------------------------------------- */

#define XML_HEAD "<cpudata arch='x86'>\n"
#define XML_LEAF0 "  <cpuid eax_in='0x00000000' ecx_in='0x00' eax='0x0000000d' ebx='0x756e6547' ecx='0x6c65746e' edx='0x49656e69'/>\n"
#define XML_TAIL "</cpudata>\n"
#define XML_CPUID(fn, idx) "  <cpuid eax_in='" fn "' ecx_in='" idx "' eax='0x0' ebx='0x0' ecx='0x0' edx='0x0'/>\n"

START_TEST(test_libvirt_parse_reads_fixture)
{
	struct caps_dump d;

	load_fixture(FIXTURE_XML, CAPS_DUMP_LIBVIRT_XML, &d);
	check_synthetic(&d, true);
}
END_TEST

START_TEST(test_libvirt_parse_accepts_declaration_comments_and_any_attribute_order)
{
	static const char text[] =
		"\xef\xbb\xbf<?xml version='1.0' encoding='UTF-8'?>\n"
		"<!--\n   first\tcomment,\n  kept  -->\n"
		"<cpudata arch=\"x86\">\n"
		"  <!-- second comment, ignored -->\n"
		"  <cpuid edx='0x4' ecx='0x3' ebx='0x2' eax='0x1' ecx_in='0x1' eax_in='0x7'/>\n"
		"  <cpuid eax_in='0x00000007' ecx_in='0x00' eax='0xABCDEF01' ebx='0x0' ecx='0x0' edx='0x0'></cpuid>\n"
		"  <msr eax='0xffffffff' edx='0x1' index='0xc0000103'/>\n"
		"</cpudata>\n<!-- trailing -->\n";
	struct caps_dump d;
	uint64_t v;

	parse_str_ok(text, CAPS_DUMP_LIBVIRT_XML, &d);
	ck_assert_str_eq(d.comment, "first comment,   kept");
	ck_assert_uint_eq(d.cpuid.nent, 2);
	check_entry(&d, 7, 1, CAPS_CPUID_FLAG_SIGNIFICANT_INDEX, 1, 2, 3, 4);
	check_entry(&d, 7, 0, CAPS_CPUID_FLAG_SIGNIFICANT_INDEX, 0xabcdef01, 0, 0, 0);
	ck_assert_int_eq(caps_msrs_get(&d.msrs, 0xc0000103, &v), 0);
	ck_assert_uint_eq(v, 0x1ffffffffull);
}
END_TEST

START_TEST(test_libvirt_parse_cuts_long_comment_at_character_boundary)
{
	char text[1024], comment[400];
	struct caps_dump d;
	size_t n = 0;

	/* 126 ASCII bytes, then two-byte characters: the cut cannot split one. */
	memset(comment, 'x', 126);
	n = 126;
	for (int i = 0; i < 10; i++) {
		memcpy(comment + n, "\xc3\xa9", 2);
		n += 2;
	}
	comment[n] = '\0';
	snprintf(text, sizeof(text), "<!-- %s -->\n" XML_HEAD XML_LEAF0 XML_TAIL, comment);
	parse_str_ok(text, CAPS_DUMP_LIBVIRT_XML, &d);
	ck_assert_uint_eq(strlen(d.comment), 126);

	comment[128] = '\0';	/* 126 x, then one é: 128 bytes */
	snprintf(text, sizeof(text), "<!-- %s -->\n" XML_HEAD XML_LEAF0 XML_TAIL, comment);
	parse_str_ok(text, CAPS_DUMP_LIBVIRT_XML, &d);
	ck_assert_uint_eq(strlen(d.comment), 126);
	comment[126] = 'y';
	comment[127] = '\0';	/* 127 ASCII bytes: exactly fits */
	snprintf(text, sizeof(text), "<!-- %s -->\n" XML_HEAD XML_LEAF0 XML_TAIL, comment);
	parse_str_ok(text, CAPS_DUMP_LIBVIRT_XML, &d);
	ck_assert_str_eq(d.comment, comment);
}
END_TEST

/* XML allows DEL in a comment; a dump's comment may not hold it (found by fuzz/fuzz-dump). */
START_TEST(test_libvirt_parse_rejects_comment_with_control_character)
{
	const char text[] = "<!-- model\x7f name -->\n" XML_HEAD XML_LEAF0 XML_TAIL;

	expect_failure("DEL in the comment", text, strlen(text), CAPS_DUMP_LIBVIRT_XML, -EINVAL, 1,
		       "control characters");
}
END_TEST

/* Every strict prefix fails, unless it holds the whole root element. */
START_TEST(test_libvirt_parse_rejects_every_truncation)
{
	size_t len, complete;
	char *text = read_text(test_srcpath(FIXTURE_XML), &len);

	complete = (size_t)(strstr(text, "</cpudata>") - text) + strlen("</cpudata>");
	for (size_t k = 0; k < len; k++) {
		char what[64];

		snprintf(what, sizeof(what), "prefix of %zu bytes", k);
		if (k >= complete) {
			struct caps_dump d;

			parse_ok(text, k, CAPS_DUMP_LIBVIRT_XML, &d);
			check_synthetic(&d, true);
		} else {
			expect_failure(what, text, k, CAPS_DUMP_LIBVIRT_XML, -EINVAL, 0, "");
		}
	}
	free(text);
}
END_TEST

static const struct bad_input libvirt_bad_syntax[] = {
	{ "unclosed root", XML_HEAD XML_LEAF0, -EINVAL, 3, "no element found" },
	{ "mismatched tag", XML_HEAD XML_LEAF0 "</cpu>\n", -EINVAL, 3, "mismatched tag" },
	{ "unquoted attribute", XML_HEAD "  <cpuid eax_in=0x0/>\n" XML_TAIL, -EINVAL, 2, "not well-formed" },
	{ "element after the root", XML_HEAD XML_LEAF0 XML_TAIL XML_LEAF0, -EINVAL, 4, "junk after document element" },
	{ "text after the root", XML_HEAD XML_LEAF0 XML_TAIL "garbage\n", -EINVAL, 4, "junk after document element" },
	{ "invalid UTF-8", "<!-- \xff -->\n" XML_HEAD XML_LEAF0 XML_TAIL, -EINVAL, 1, "not well-formed" },
	{ "undefined entity", XML_HEAD "  <cpuid eax_in='&x;'/>\n" XML_TAIL, -EINVAL, 2, "undefined entity" },
	{ "duplicate attribute (expat)", XML_HEAD "  <cpuid eax_in='0x0' eax_in='0x0'/>\n" XML_TAIL, -EINVAL, 2, "duplicate attribute" },
	{ "declaration not first", "\n<?xml version='1.0'?>\n" XML_HEAD XML_LEAF0 XML_TAIL, -EINVAL, 2, "XML or text declaration not at start" },
};

static const struct bad_input libvirt_bad_schema[] = {
	{ "wrong root", "<cpu arch='x86'>\n" XML_LEAF0 "</cpu>\n", -EINVAL, 1, "root element is <cpu>" },
	{ "missing arch", "<cpudata>\n" XML_LEAF0 XML_TAIL, -EINVAL, 1, "missing attribute 'arch'" },
	{ "wrong arch", "<cpudata arch='arm'>\n" XML_LEAF0 XML_TAIL, -EINVAL, 1, "arch='arm'" },
	{ "unknown root attribute", "<cpudata arch='x86' model='x'>\n" XML_LEAF0 XML_TAIL, -EINVAL, 1, "unknown attribute 'model'" },
	{ "unknown element", XML_HEAD XML_LEAF0 "  <leaf eax_in='0x1'/>\n" XML_TAIL, -EINVAL, 3, "unknown element <leaf>" },
	{ "unknown cpuid attribute", XML_HEAD "  <cpuid eax_in='0x0' ecx_in='0x0' eax='0x0' ebx='0x0' ecx='0x0' edx='0x0' esx='0x0'/>\n" XML_TAIL, -EINVAL, 2, "unknown attribute 'esx'" },
	{ "missing msr attribute", XML_HEAD XML_LEAF0 "  <msr index='0x10a' eax='0x0'/>\n" XML_TAIL, -EINVAL, 3, "<msr>: missing attribute 'edx'" },
	{ "unknown msr attribute", XML_HEAD XML_LEAF0 "  <msr index='0x10a' eax='0x0' edx='0x0' ecx='0x0'/>\n" XML_TAIL, -EINVAL, 3, "<msr>: unknown attribute 'ecx'" },
	{ "text content", XML_HEAD XML_LEAF0 "  hello\n" XML_TAIL, -EINVAL, 3, "unexpected text" },
	{ "text inside cpuid", XML_HEAD "  <cpuid eax_in='0x0' ecx_in='0x0' eax='0x0' ebx='0x0' ecx='0x0' edx='0x0'>1</cpuid>\n" XML_TAIL, -EINVAL, 2, "unexpected text" },
	{ "nested element", XML_HEAD "  <cpuid eax_in='0x0' ecx_in='0x0' eax='0x0' ebx='0x0' ecx='0x0' edx='0x0'>\n    <msr index='0x1' eax='0x0' edx='0x0'/>\n  </cpuid>\n" XML_TAIL, -EINVAL, 3, "take no content" },
	{ "processing instruction", XML_HEAD "<?hvcap x?>\n" XML_LEAF0 XML_TAIL, -EINVAL, 2, "processing instructions" },
	{ "CDATA section", XML_HEAD "<![CDATA[ ]]>\n" XML_LEAF0 XML_TAIL, -EINVAL, 2, "CDATA" },
	{ "no entries", "<!-- empty -->\n<cpudata arch='x86'/>\n", -EINVAL, 0, "no <cpuid> entries" },
	{ "only MSRs", XML_HEAD "  <msr index='0x10a' eax='0x0' edx='0x0'/>\n" XML_TAIL, -EINVAL, 0, "no <cpuid> entries" },
};

static const struct bad_input libvirt_bad_numbers[] = {
	{ "decimal", XML_HEAD XML_CPUID("13", "0x00") XML_TAIL, -EINVAL, 2, "eax_in='13': expected a 0x-prefixed hex number" },
	{ "bare 0x", XML_HEAD XML_CPUID("0x", "0x00") XML_TAIL, -EINVAL, 2, "expected a 0x-prefixed hex number" },
	{ "empty value", XML_HEAD XML_CPUID("", "0x00") XML_TAIL, -EINVAL, 2, "eax_in=''" },
	{ "not hex", XML_HEAD XML_CPUID("0x0000000g", "0x00") XML_TAIL, -EINVAL, 2, "expected a 0x-prefixed hex number" },
	{ "upper-case prefix", XML_HEAD XML_CPUID("0X00000000", "0x00") XML_TAIL, -EINVAL, 2, "expected a 0x-prefixed hex number" },
	{ "negative", XML_HEAD XML_CPUID("-0x1", "0x00") XML_TAIL, -EINVAL, 2, "expected a 0x-prefixed hex number" },
	{ "leading blank", XML_HEAD XML_CPUID(" 0x1", "0x00") XML_TAIL, -EINVAL, 2, "expected a 0x-prefixed hex number" },
	{ "trailing blank", XML_HEAD XML_CPUID("0x1 ", "0x00") XML_TAIL, -EINVAL, 2, "expected a 0x-prefixed hex number" },
	{ "33 bits", XML_HEAD XML_CPUID("0x100000000", "0x00") XML_TAIL, -EINVAL, 2, "does not fit in 32 bits" },
	{ "msr half over 32 bits", XML_HEAD XML_LEAF0 "  <msr index='0x10a' eax='0x1ffffffff' edx='0x0'/>\n" XML_TAIL, -EINVAL, 3, "eax='0x1ffffffff': value does not fit in 32 bits" },
};

static const struct bad_input libvirt_bad_entries[] = {
	{ "duplicate leaf", XML_HEAD XML_LEAF0 XML_CPUID("0x00000001", "0x00") XML_CPUID("0x00000000", "0x00") XML_TAIL, -EINVAL, 4, "<cpuid eax_in='0x00000000' ecx_in='0x00'>: duplicate entry" },
	{ "duplicate sub-leaf", XML_HEAD XML_CPUID("0x7", "0x1") XML_CPUID("0x00000007", "0x01") XML_TAIL, -EINVAL, 3, "duplicate entry" },
	{ "duplicate MSR", XML_HEAD XML_LEAF0 "  <msr index='0x10a' eax='0x0' edx='0x0'/>\n  <msr index='0x10A' eax='0x1' edx='0x0'/>\n" XML_TAIL, -EINVAL, 4, "<msr index='0x10a'>: duplicate MSR" },
	{ "function past the basic range", XML_HEAD XML_CPUID("0x00000100", "0x00") XML_TAIL, -EINVAL, 2, "outside every CPUID range" },
	{ "function in no range", XML_HEAD XML_CPUID("0x12345678", "0x00") XML_TAIL, -EINVAL, 2, "outside every CPUID range" },
	{ "sub-leaf above 0xff", XML_HEAD XML_CPUID("0x0000000d", "0x100") XML_TAIL, -EINVAL, 2, "sub-leaf index above 0xff" },
};

static void check_bad_table(const struct bad_input *table, size_t n, enum caps_dump_format fmt)
{
	for (size_t i = 0; i < n; i++)
		expect_bad_input(&table[i], fmt);
}

START_TEST(test_libvirt_parse_rejects_malformed_xml)
{
	check_bad_table(libvirt_bad_syntax, ARRAY_SIZE(libvirt_bad_syntax), CAPS_DUMP_LIBVIRT_XML);
}
END_TEST

START_TEST(test_libvirt_parse_rejects_schema_violations)
{
	static const char missing[] = XML_HEAD XML_LEAF0
		"  <cpuid eax_in='0x1' ecx_in='0x0' eax='0x0' ebx='0x0' ecx='0x0'/>\n" XML_TAIL;
	struct caps_dump_error err;
	struct caps_dump d;

	check_bad_table(libvirt_bad_schema, ARRAY_SIZE(libvirt_bad_schema), CAPS_DUMP_LIBVIRT_XML);
	expect_failure("missing cpuid attribute", missing, strlen(missing), CAPS_DUMP_LIBVIRT_XML,
		       -EINVAL, 3, "<cpuid>: missing attribute 'edx'");
	/* Line, column (1-based) and byte offset of the element. */
	ck_assert_int_eq(caps_dump_parse(missing, strlen(missing), CAPS_DUMP_LIBVIRT_XML, &d, &err),
			 -EINVAL);
	ck_assert_uint_eq(err.column, 3);
	ck_assert_uint_eq(err.offset, strlen(XML_HEAD XML_LEAF0) + 2);
}
END_TEST

START_TEST(test_libvirt_parse_rejects_bad_numbers)
{
	check_bad_table(libvirt_bad_numbers, ARRAY_SIZE(libvirt_bad_numbers), CAPS_DUMP_LIBVIRT_XML);
}
END_TEST

START_TEST(test_libvirt_parse_rejects_duplicate_and_out_of_range_entries)
{
	check_bad_table(libvirt_bad_entries, ARRAY_SIZE(libvirt_bad_entries), CAPS_DUMP_LIBVIRT_XML);
}
END_TEST

START_TEST(test_libvirt_parse_enforces_entry_limits)
{
	char *ok = generate(CAPS_DUMP_LIBVIRT_XML, CAPS_CPUID_MAX_ENTRIES, CAPS_MSR_MAX);
	char *too_many = generate(CAPS_DUMP_LIBVIRT_XML, CAPS_CPUID_MAX_ENTRIES + 1, 0);
	char *too_many_msrs = generate(CAPS_DUMP_LIBVIRT_XML, 1, CAPS_MSR_MAX + 1);
	struct caps_dump d;

	parse_str_ok(ok, CAPS_DUMP_LIBVIRT_XML, &d);
	ck_assert_uint_eq(d.cpuid.nent, CAPS_CPUID_MAX_ENTRIES);
	ck_assert_uint_eq(d.msrs.n, CAPS_MSR_MAX);
	expect_failure("257 leaves", too_many, strlen(too_many), CAPS_DUMP_LIBVIRT_XML, -E2BIG,
		       CAPS_CPUID_MAX_ENTRIES + 2, "more than 256 CPUID entries");
	expect_failure("65 MSRs", too_many_msrs, strlen(too_many_msrs), CAPS_DUMP_LIBVIRT_XML,
		       -E2BIG, CAPS_MSR_MAX + 3, "more than 64 MSRs");
	free(ok);
	free(too_many);
	free(too_many_msrs);
}
END_TEST

START_TEST(test_libvirt_parse_rejects_doctype_and_entities)
{
	static const struct bad_input cases[] = {
		{ "billion laughs",
		  "<?xml version='1.0'?>\n"
		  "<!DOCTYPE cpudata [\n"
		  " <!ENTITY lol 'lol'>\n"
		  " <!ENTITY lol1 '&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;'>\n"
		  " <!ENTITY lol2 '&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;'>\n"
		  " <!ENTITY lol3 '&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;'>\n"
		  " <!ENTITY lol4 '&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;'>\n"
		  " <!ENTITY lol5 '&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;'>\n"
		  " <!ENTITY lol6 '&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;'>\n"
		  " <!ENTITY lol7 '&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;'>\n"
		  " <!ENTITY lol8 '&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;'>\n"
		  " <!ENTITY lol9 '&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;'>\n"
		  "]>\n"
		  "<cpudata arch='x86'>&lol9;</cpudata>\n",
		  -EINVAL, 2, "DOCTYPE declarations are not allowed" },
		{ "plain DOCTYPE", "<!DOCTYPE cpudata>\n" XML_HEAD XML_LEAF0 XML_TAIL, -EINVAL, 1, "DOCTYPE" },
		{ "external entity",
		  "<!DOCTYPE cpudata [ <!ENTITY x SYSTEM 'file:///etc/passwd'> ]>\n"
		  XML_HEAD "  <cpuid eax_in='&x;'/>\n" XML_TAIL, -EINVAL, 1, "DOCTYPE" },
		{ "external DTD", "<!DOCTYPE cpudata SYSTEM 'http://example.com/x.dtd'>\n" XML_HEAD XML_LEAF0 XML_TAIL,
		  -EINVAL, 1, "DOCTYPE" },
	};

	check_bad_table(cases, ARRAY_SIZE(cases), CAPS_DUMP_LIBVIRT_XML);
}
END_TEST

/* ---- cpuid -r ---------------------------------------------------------- */

#define CR_LEAF0 "   0x00000000 0x00: eax=0x0000000d ebx=0x756e6547 ecx=0x6c65746e edx=0x49656e69\n"
#define CR_LEAF1 "   0x00000001 0x00: eax=0x000906ea ebx=0x00100800 ecx=0x7ffafbff edx=0xbfebfbff\n"
#define CR_LEAF(fn, idx) "   " fn " " idx ": eax=0x00000000 ebx=0x00000000 ecx=0x00000000 edx=0x00000000\n"

START_TEST(test_cpuid_r_parse_reads_fixture)
{
	struct caps_dump d;

	load_fixture(FIXTURE_CPUID_R, CAPS_DUMP_CPUID_R, &d);
	check_synthetic(&d, false);
}
END_TEST

START_TEST(test_cpuid_r_parse_stops_at_the_next_cpu)
{
	struct caps_dump d;
	size_t len;
	char *text = read_text(test_srcpath(FIXTURE_CPUID_R_ALL), &len);

	load_fixture(FIXTURE_CPUID_R_ALL, CAPS_DUMP_AUTO, &d);
	/* CPU 0's leaf 1 (APIC ID 0), not CPU 1's. */
	check_synthetic(&d, false);
	/* Whatever follows the next header is not looked at. */
	text = realloc(text, len + 32);
	ck_assert_ptr_nonnull(text);
	strcpy(text + len, "garbage\n");
	parse_str_ok(text, CAPS_DUMP_CPUID_R, &d);
	check_synthetic(&d, false);
	free(text);
	/* Without an opening header, any header ends the block. */
	parse_str_ok(CR_LEAF0 "CPU 1:\n" CR_LEAF0, CAPS_DUMP_CPUID_R, &d);
	ck_assert_uint_eq(d.cpuid.nent, 1);
	expect_failure("empty first block", "CPU 0:\nCPU 1:\n" CR_LEAF0,
		       strlen("CPU 0:\nCPU 1:\n" CR_LEAF0), CAPS_DUMP_CPUID_R, -EINVAL, 0,
		       "no CPUID leaf lines");
}
END_TEST

START_TEST(test_cpuid_r_parse_accepts_headerless_crlf_and_blank_lines)
{
	struct caps_dump d;

	parse_str_ok(CR_LEAF0 CR_LEAF1, CAPS_DUMP_CPUID_R, &d);
	ck_assert_uint_eq(d.cpuid.nent, 2);
	parse_str_ok("\xef\xbb\xbf" "CPU:\r\n"
		     "   0x00000000 0x00: eax=0x0000000d ebx=0x756e6547 ecx=0x6c65746e edx=0x49656e69\r\n"
		     "\r\n  \t\n"
		     "0x1 0x0:\teax=0xA ebx=0x0000000000b  ecx=0xc edx=0xd \t\r\n"
		     "   \n  ",
		     CAPS_DUMP_CPUID_R, &d);
	ck_assert_uint_eq(d.cpuid.nent, 2);
	check_entry(&d, 0, 0, 0, 0x0000000d, 0x756e6547, 0x6c65746e, 0x49656e69);
	check_entry(&d, 1, 0, 0, 0xa, 0xb, 0xc, 0xd);
}
END_TEST

/* The leaves `cpuid` probes beyond the basic ranges are kept like any other. */
START_TEST(test_cpuid_r_parse_keeps_phi_and_hypervisor_leaves)
{
	struct caps_dump d;

	parse_str_ok("CPU:\n" CR_LEAF0
		     CR_LEAF("0x20000000", "0x00")
		     CR_LEAF("0x40000000", "0x00")
		     CR_LEAF("0x40000100", "0x00")
		     CR_LEAF("0x80000000", "0x00"),
		     CAPS_DUMP_CPUID_R, &d);
	ck_assert_uint_eq(d.cpuid.nent, 5);
	ck_assert_ptr_nonnull(find_entry(&d, 0x20000000, 0));
	ck_assert_ptr_nonnull(find_entry(&d, 0x40000100, 0));
}
END_TEST

/*
 * The rule: a prefix reads as the leaves of its complete lines when it
 * ends at a line boundary (blanks after it allowed) and holds at least
 * one leaf; cut inside a line, it fails.
 */
START_TEST(test_cpuid_r_parse_truncation_rule)
{
	size_t len;
	char *text = read_text(test_srcpath(FIXTURE_CPUID_R), &len);

	for (size_t k = 0; k < len; k++) {
		size_t line_start = 0, leaves = 0;
		bool tail_blank = true;
		char what[64];

		for (size_t i = 0; i < k; i++) {
			if (text[i] == '\n') {
				if (strncmp(text + line_start, "   0x", 5) == 0)
					leaves++;
				line_start = i + 1;
			}
		}
		for (size_t i = line_start; i < k; i++)
			if (text[i] != ' ')
				tail_blank = false;
		snprintf(what, sizeof(what), "prefix of %zu bytes", k);
		if (tail_blank && leaves > 0) {
			struct caps_dump d;

			parse_ok(text, k, CAPS_DUMP_CPUID_R, &d);
			ck_assert_msg(d.cpuid.nent == leaves, "%s: %zu leaves, expected %zu", what,
				      d.cpuid.nent, leaves);
		} else {
			expect_failure(what, text, k, CAPS_DUMP_CPUID_R, -EINVAL, 0,
				       leaves ? "no newline" : "");
		}
	}
	free(text);
}
END_TEST

static const struct bad_input cpuid_r_bad_lines[] = {
	{ "unknown line", "CPU:\n" CR_LEAF0 "hello\n", -EINVAL, 3, "unrecognised line" },
	{ "bad header", "CPU x:\n" CR_LEAF0, -EINVAL, 1, "unrecognised line" },
	{ "header with trailing text", "CPU 0: x\n" CR_LEAF0, -EINVAL, 1, "unrecognised line" },
	{ "upper-case prefix", "CPU:\n   0X00000000 0x00: eax=0x0 ebx=0x0 ecx=0x0 edx=0x0\n", -EINVAL, 2, "unrecognised line" },
	{ "decimal function", "CPU:\n   7 0x00: eax=0x0 ebx=0x0 ecx=0x0 edx=0x0\n", -EINVAL, 2, "unrecognised line" },
	{ "missing sub-leaf", "CPU:\n   0x00000000: eax=0x0 ebx=0x0 ecx=0x0 edx=0x0\n", -EINVAL, 2, "expected a blank after the function" },
	{ "missing colon", "CPU:\n   0x00000000 0x00 eax=0x0 ebx=0x0 ecx=0x0 edx=0x0\n", -EINVAL, 2, "expected ':' after the sub-leaf" },
	{ "registers out of order", "CPU:\n   0x00000000 0x00: eax=0x0 ecx=0x0 ebx=0x0 edx=0x0\n", -EINVAL, 2, "expected \"ebx=\"" },
	{ "missing register", "CPU:\n   0x00000000 0x00: eax=0x0 ebx=0x0 ecx=0x0\n", -EINVAL, 2, "expected a blank before the next register" },
	{ "decimal value", "CPU:\n   0x00000000 0x00: eax=13 ebx=0x0 ecx=0x0 edx=0x0\n", -EINVAL, 2, "eax: expected a 0x-prefixed hex number" },
	{ "non-hex digit", "CPU:\n   0x00000000 0x00: eax=0x0 ebx=0x0 ecx=0x0 edx=0x0000000g\n", -EINVAL, 2, "unexpected text after edx" },
	{ "33-bit value", "CPU:\n   0x00000000 0x00: eax=0x0 ebx=0x100000000 ecx=0x0 edx=0x0\n", -EINVAL, 2, "ebx: value does not fit in 32 bits" },
	{ "33-bit function", "CPU:\n   0x100000000 0x00: eax=0x0 ebx=0x0 ecx=0x0 edx=0x0\n", -EINVAL, 2, "function does not fit in 32 bits" },
	{ "trailing text", "CPU:\n" CR_LEAF1 "   0x00000000 0x00: eax=0x0 ebx=0x0 ecx=0x0 edx=0x0 # x\n", -EINVAL, 3, "unexpected text after edx" },
	{ "no blank between registers", "CPU:\n   0x00000000 0x00: eax=0x0ebx=0x0 ecx=0x0 edx=0x0\n", -EINVAL, 2, "expected a blank before the next register" },
	{ "last line cut", "CPU:\n" CR_LEAF0 "   0x00000001 0x00: eax=0x000906ea", -EINVAL, 3, "no newline" },
	{ "CR without LF at the end", "CPU:\n" CR_LEAF0 "   0x00000001 0x00: eax=0x0 ebx=0x0 ecx=0x0 edx=0x0\r", -EINVAL, 3, "no newline" },
	{ "header only", "CPU:\n", -EINVAL, 0, "no CPUID leaf lines" },
};

static const struct bad_input cpuid_r_bad_entries[] = {
	{ "duplicate leaf", "CPU:\n" CR_LEAF0 CR_LEAF1 CR_LEAF0, -EINVAL, 4, "leaf 0x00000000 sub-leaf 0x00: duplicate entry" },
	{ "function past the basic range", "CPU:\n" CR_LEAF("0x00000100", "0x00"), -EINVAL, 2, "outside every CPUID range" },
	{ "function in no range", "CPU:\n" CR_LEAF("0x12345678", "0x00"), -EINVAL, 2, "outside every CPUID range" },
	{ "sub-leaf above 0xff", "CPU:\n" CR_LEAF("0x0000000d", "0x100"), -EINVAL, 2, "sub-leaf index above 0xff" },
};

START_TEST(test_cpuid_r_parse_rejects_malformed_lines)
{
	struct caps_dump_error err;
	struct caps_dump d;
	static const char text[] = "CPU:\n   0x00000000 0x00: eax=0x0 ecx=0x0 ebx=0x0 edx=0x0\n";

	check_bad_table(cpuid_r_bad_lines, ARRAY_SIZE(cpuid_r_bad_lines), CAPS_DUMP_CPUID_R);
	/* The column and offset point at the offending field. */
	ck_assert_int_eq(caps_dump_parse(text, strlen(text), CAPS_DUMP_CPUID_R, &d, &err), -EINVAL);
	ck_assert_uint_eq(err.line, 2);
	ck_assert_uint_eq(err.column, 29);
	ck_assert_uint_eq(err.offset, 5 + 28);
}
END_TEST

START_TEST(test_cpuid_r_parse_rejects_duplicate_and_out_of_range_entries)
{
	check_bad_table(cpuid_r_bad_entries, ARRAY_SIZE(cpuid_r_bad_entries), CAPS_DUMP_CPUID_R);
}
END_TEST

START_TEST(test_cpuid_r_parse_enforces_entry_limit)
{
	char *ok = generate(CAPS_DUMP_CPUID_R, CAPS_CPUID_MAX_ENTRIES, 0);
	char *too_many = generate(CAPS_DUMP_CPUID_R, CAPS_CPUID_MAX_ENTRIES + 1, 0);
	struct caps_dump d;

	parse_str_ok(ok, CAPS_DUMP_CPUID_R, &d);
	ck_assert_uint_eq(d.cpuid.nent, CAPS_CPUID_MAX_ENTRIES);
	expect_failure("257 leaves", too_many, strlen(too_many), CAPS_DUMP_CPUID_R, -E2BIG,
		       CAPS_CPUID_MAX_ENTRIES + 2, "more than 256 CPUID entries");
	free(ok);
	free(too_many);
}
END_TEST

/* The `cpuid` binary on PATH, or NULL. */
static bool have_cpuid_tool(void)
{
	const char *path = getenv("PATH");
	char *dirs, *dir, *save = NULL;
	bool found = false;

	if (!path)
		return false;
	dirs = strdup(path);
	ck_assert_ptr_nonnull(dirs);
	for (dir = strtok_r(dirs, ":", &save); dir && !found; dir = strtok_r(NULL, ":", &save)) {
		char file[4096];

		snprintf(file, sizeof(file), "%s/cpuid", dir);
		found = access(file, X_OK) == 0;
	}
	free(dirs);
	return found;
}

/* The whole output of cmd; NULL if it does not exit 0. */
static char *run(const char *cmd)
{
	FILE *p = popen(cmd, "r");
	char *out = NULL;
	size_t len = 0, n;
	char chunk[4096];
	int status;

	ck_assert_ptr_nonnull(p);
	while ((n = fread(chunk, 1, sizeof(chunk), p)) > 0) {
		out = realloc(out, len + n + 1);
		ck_assert_ptr_nonnull(out);
		memcpy(out + len, chunk, n);
		len += n;
	}
	status = pclose(p);
	if (!out || status == -1 || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		free(out);
		return NULL;
	}
	out[len] = '\0';
	return out;
}

START_TEST(test_cpuid_r_parse_reads_this_machine)
{
	unsigned a, b, c, d_;
	struct caps_dump d, all;
	const struct caps_cpuid_entry *leaf0;
	char *one, *every, *written, *line, *save = NULL, *from;

	if (!have_cpuid_tool()) {
		fprintf(stderr, "SKIP: test_cpuid_r_parse_reads_this_machine: no `cpuid` tool on PATH\n");
		return;
	}
	one = run("cpuid -r -1 2>/dev/null");
	every = run("cpuid -r 2>/dev/null");
	if (!one || !every) {
		fprintf(stderr, "SKIP: test_cpuid_r_parse_reads_this_machine: `cpuid -r` failed here\n");
		free(one);
		free(every);
		return;
	}
	parse_str_ok(one, CAPS_DUMP_AUTO, &d);
	/* On a big machine every CPU's block together passes the size limit. */
	if (strlen(every) > CAPS_DUMP_MAX_BYTES) {
		every[CAPS_DUMP_MAX_BYTES] = '\0';
		*(strrchr(every, '\n') + 1) = '\0';
	}
	parse_str_ok(every, CAPS_DUMP_AUTO, &all);
	ck_assert_uint_gt(d.cpuid.nent, 2);
	ck_assert_uint_gt(all.cpuid.nent, 2);

	/* Leaf 0 is what this CPU says. */
	__cpuid_count(0, 0, a, b, c, d_);
	leaf0 = find_entry(&d, 0, 0);
	ck_assert_ptr_nonnull(leaf0);
	ck_assert_uint_eq(leaf0->eax, a);
	ck_assert_uint_eq(leaf0->ebx, b);
	ck_assert_uint_eq(leaf0->ecx, c);
	ck_assert_uint_eq(leaf0->edx, d_);

	/* The writer's lines are the tool's own, minus the leaves it skips. */
	ck_assert_int_eq(caps_dump_write(&d, CAPS_DUMP_CPUID_R, &written), 0);
	from = one;
	for (line = strtok_r(written, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char *at = strstr(from, line);

		ck_assert_msg(at, "written line \"%s\" is not in the tool's output (in order)", line);
		from = at + strlen(line);
	}
	check_round_trip(&d, CAPS_DUMP_JSON, "this machine");
	check_round_trip(&d, CAPS_DUMP_LIBVIRT_XML, "this machine");
	check_round_trip(&d, CAPS_DUMP_CPUID_R, "this machine");
	free(written);
	free(one);
	free(every);
}
END_TEST

/* ---- JSON -------------------------------------------------------------- */

#define JSON_HEAD "{\"format\": \"hvcap-cpu-dump\", \"version\": 1,\n"
#define JSON_ENTRY0 "{\"function\": 0, \"index\": 0, \"flags\": 0, \"eax\": 13, \"ebx\": 1970169159, \"ecx\": 1818588270, \"edx\": 1231384169}"
#define JSON_ENTRY(fn, idx, extra) "{\"function\": " fn ", \"index\": " idx ", \"flags\": 0, \"eax\": 0, \"ebx\": 0, \"ecx\": 0, \"edx\": 0" extra "}"
#define JSON_DOC(rest) JSON_HEAD " \"cpuid\": [" JSON_ENTRY0 "]" rest "}\n"
#define JSON_EAX(v) JSON_HEAD " \"cpuid\": [\n  {\"function\": 0, \"index\": 0, \"flags\": 0, \"eax\": " v ", \"ebx\": 0, \"ecx\": 0, \"edx\": 0}]}\n"

START_TEST(test_json_parse_reads_fixture)
{
	struct caps_dump d;

	load_fixture(FIXTURE_JSON, CAPS_DUMP_JSON, &d);
	check_synthetic(&d, true);
}
END_TEST

START_TEST(test_json_parse_keeps_flags_as_given)
{
	struct caps_dump d;

	parse_str_ok(JSON_HEAD "\"cpuid\": ["
		     "{\"function\": 7, \"index\": 0, \"flags\": 0, \"eax\": 1, \"ebx\": 0, \"ecx\": 0, \"edx\": 0},"
		     "{\"function\": 1, \"index\": 0, \"flags\": 7, \"eax\": 2, \"ebx\": 0, \"ecx\": 0, \"edx\": 0}]}",
		     CAPS_DUMP_JSON, &d);
	check_entry(&d, 7, 0, 0, 1, 0, 0, 0);
	check_entry(&d, 1, 0, CAPS_CPUID_FLAGS_ALL, 2, 0, 0, 0);
}
END_TEST

START_TEST(test_json_parse_accepts_any_key_order_escapes_and_optional_keys)
{
	struct caps_dump d;
	uint64_t v;

	parse_str_ok("\xef\xbb\xbf\n{\"cpuid\": [{\"edx\": 4, \"ecx\": 3, \"ebx\": 2, \"\\u0065ax\": 1, "
		     "\"flags\": 0, \"index\": 0, \"function\": 2147483648}],\n"
		     " \"msrs\": [{\"value\": \"0xFFFFFFFFFFFFFFFF\", \"index\": 4294967295}],\n"
		     " \"comment\": \"caf\\u00e9 \\\"x\\\" a--b\", \"version\": 1, \"format\": \"hvcap-cpu-dump\"}\n\n",
		     CAPS_DUMP_JSON, &d);
	check_entry(&d, 0x80000000, 0, 0, 1, 2, 3, 4);
	ck_assert_int_eq(caps_msrs_get(&d.msrs, 0xffffffff, &v), 0);
	ck_assert_uint_eq(v, UINT64_MAX);
	ck_assert_str_eq(d.comment, "caf\xc3\xa9 \"x\" a--b");

	parse_str_ok(JSON_DOC(", \"msrs\": []"), CAPS_DUMP_JSON, &d);
	ck_assert_uint_eq(d.msrs.n, 0);
	ck_assert_str_eq(d.comment, "");
}
END_TEST

START_TEST(test_json_parse_rejects_every_truncation)
{
	size_t len, complete;
	char *text = read_text(test_srcpath(FIXTURE_JSON), &len);

	complete = (size_t)(strrchr(text, '}') - text) + 1;
	for (size_t k = 0; k < len; k++) {
		char what[64];

		snprintf(what, sizeof(what), "prefix of %zu bytes", k);
		if (k >= complete) {
			struct caps_dump d;

			parse_ok(text, k, CAPS_DUMP_JSON, &d);
			check_synthetic(&d, true);
		} else {
			expect_failure(what, text, k, CAPS_DUMP_JSON, -EINVAL, 0, k ? "truncated" : "empty input");
		}
	}
	free(text);
}
END_TEST

static const struct bad_input json_bad_syntax[] = {
	{ "not an object", "[" JSON_ENTRY0 "]\n", -EINVAL, 1, "expected a JSON object" },
	{ "trailing comma", JSON_HEAD " \"cpuid\": [" JSON_ENTRY0 ",]}\n", -EINVAL, 2, "JSON syntax error" },
	{ "missing colon", JSON_HEAD " \"cpuid\" [" JSON_ENTRY0 "]}\n", -EINVAL, 2, "JSON syntax error" },
	{ "comment", JSON_HEAD " /* x */ \"cpuid\": [" JSON_ENTRY0 "]}\n", -EINVAL, 2, "JSON syntax error" },
	{ "single-quoted key", JSON_DOC(",\n 'msrs': []"), -EINVAL, 3, "single-quoted strings are not JSON" },
	{ "invalid UTF-8", JSON_DOC(",\n \"comment\": \"\xc3\x28\""), -EINVAL, 3, "JSON syntax error: invalid utf-8" },
	{ "trailing garbage", JSON_DOC("") "x\n", -EINVAL, 3, "trailing data after the JSON object" },
	{ "second object", JSON_DOC("") "{}\n", -EINVAL, 3, "trailing data after the JSON object" },
	{ "deep nesting", JSON_HEAD " \"cpuid\": [[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]}\n", -EINVAL, 2, "nesting too deep" },
	{ "deep objects", "{\"a\": {\"b\": {\"c\": {\"d\": {}}}}}\n", -EINVAL, 1, "nesting too deep" },
	{ "truncated", JSON_HEAD " \"cpuid\": [" JSON_ENTRY0, -EINVAL, 2, "truncated" },
};

static const struct bad_input json_bad_types[] = {
	{ "cpuid not an array", JSON_HEAD " \"cpuid\": " JSON_ENTRY0 "}", -EINVAL, 0, "cpuid: expected an array" },
	{ "entry not an object", JSON_HEAD " \"cpuid\": [" JSON_ENTRY0 ", 7]}", -EINVAL, 0, "cpuid[1]: expected an object" },
	{ "register as string", JSON_EAX("\"0x1\""), -EINVAL, 0, "cpuid[0].eax: expected an integer in 0..0xffffffff, got string" },
	{ "register as double", JSON_EAX("1.0"), -EINVAL, 0, "cpuid[0].eax: expected an integer in 0..0xffffffff, got double" },
	{ "register as exponent", JSON_EAX("1e3"), -EINVAL, 0, "got double" },
	{ "register as NaN", JSON_EAX("NaN"), -EINVAL, 0, "got double" },
	{ "register as boolean", JSON_EAX("true"), -EINVAL, 0, "got boolean" },
	{ "register as null", JSON_EAX("null"), -EINVAL, 0, "got null" },
	{ "version as array", "{\"format\": \"hvcap-cpu-dump\", \"version\": [1], \"cpuid\": [" JSON_ENTRY0 "]}", -EINVAL, 0, "version: expected an integer in 0..0xffffffff, got array" },
	{ "register as object", JSON_EAX("{}"), -EINVAL, 0, "cpuid[0].eax: expected an integer in 0..0xffffffff, got object" },
	{ "negative register", JSON_EAX("-1"), -EINVAL, 0, "cpuid[0].eax: expected an integer in 0..0xffffffff" },
	{ "33-bit register", JSON_EAX("4294967296"), -EINVAL, 0, "cpuid[0].eax: expected an integer in 0..0xffffffff" },
	{ "65-bit register", JSON_EAX("18446744073709551616"), -EINVAL, 0, "cpuid[0].eax: expected an integer" },
	{ "huge negative register", JSON_EAX("-99999999999999999999"), -EINVAL, 0, "cpuid[0].eax: expected an integer" },
	{ "format as number", "{\"format\": 1, \"version\": 1, \"cpuid\": [" JSON_ENTRY0 "]}", -EINVAL, 0, "format: expected \"hvcap-cpu-dump\"" },
	{ "wrong format", "{\"format\": \"libvirt\", \"version\": 1, \"cpuid\": [" JSON_ENTRY0 "]}", -EINVAL, 0, "format: expected" },
	{ "format with NUL", "{\"format\": \"hvcap-cpu-dump\\u0000x\", \"version\": 1, \"cpuid\": [" JSON_ENTRY0 "]}", -EINVAL, 0, "format: expected" },
	{ "version as string", "{\"format\": \"hvcap-cpu-dump\", \"version\": \"1\", \"cpuid\": [" JSON_ENTRY0 "]}", -EINVAL, 0, "version: expected an integer" },
	{ "future version", "{\"format\": \"hvcap-cpu-dump\", \"version\": 2, \"cpuid\": [" JSON_ENTRY0 "]}", -EINVAL, 0, "version: 2 is not supported" },
	{ "comment as number", JSON_DOC(", \"comment\": 5"), -EINVAL, 0, "comment: expected a string" },
	{ "comment with newline", JSON_DOC(", \"comment\": \"a\\nb\""), -EINVAL, 0, "comment: expected UTF-8 text without control characters" },
	{ "comment with NUL", JSON_DOC(", \"comment\": \"a\\u0000b\""), -EINVAL, 0, "comment: expected" },
	{ "comment too long", JSON_DOC(", \"comment\": \""
		"0123456789012345678901234567890123456789012345678901234567890123"
		"0123456789012345678901234567890123456789012345678901234567890123\""), -EINVAL, 0, "at most 127 bytes" },
	{ "msrs not an array", JSON_DOC(", \"msrs\": {}"), -EINVAL, 0, "msrs: expected an array" },
	{ "msr not an object", JSON_DOC(", \"msrs\": [1]"), -EINVAL, 0, "msrs[0]: expected an object" },
	{ "msr value as number", JSON_DOC(", \"msrs\": [{\"index\": 266, \"value\": 1}]"), -EINVAL, 0, "msrs[0].value: expected a \"0x\" hex string" },
	{ "msr value in decimal", JSON_DOC(", \"msrs\": [{\"index\": 266, \"value\": \"12\"}]"), -EINVAL, 0, "msrs[0].value: expected a \"0x\" hex string" },
	{ "msr value with blank", JSON_DOC(", \"msrs\": [{\"index\": 266, \"value\": \"0x1 \"}]"), -EINVAL, 0, "msrs[0].value: expected" },
	{ "65-bit msr value", JSON_DOC(", \"msrs\": [{\"index\": 266, \"value\": \"0x10000000000000000\"}]"), -EINVAL, 0, "msrs[0].value: value does not fit in 64 bits" },
	{ "msr index as string", JSON_DOC(", \"msrs\": [{\"index\": \"0x10a\", \"value\": \"0x1\"}]"), -EINVAL, 0, "msrs[0].index: expected an integer" },
};

static const struct bad_input json_bad_keys[] = {
	{ "unknown top-level key", JSON_DOC(", \"model\": \"x\""), -EINVAL, 0, "(top level): unknown key \"model\"" },
	{ "unknown entry key", JSON_HEAD " \"cpuid\": [" JSON_ENTRY0 ", " JSON_ENTRY("1", "0", ", \"esx\": 0") "]}", -EINVAL, 0, "cpuid[1]: unknown key \"esx\"" },
	{ "unknown msr key", JSON_DOC(", \"msrs\": [{\"index\": 1, \"value\": \"0x1\", \"high\": 0}]"), -EINVAL, 0, "msrs[0]: unknown key \"high\"" },
	{ "missing format", "{\"version\": 1, \"cpuid\": [" JSON_ENTRY0 "]}", -EINVAL, 0, "(top level): missing key \"format\"" },
	{ "missing version", "{\"format\": \"hvcap-cpu-dump\", \"cpuid\": [" JSON_ENTRY0 "]}", -EINVAL, 0, "missing key \"version\"" },
	{ "missing cpuid", JSON_HEAD " \"msrs\": []}", -EINVAL, 0, "missing key \"cpuid\"" },
	{ "missing register", JSON_HEAD " \"cpuid\": [{\"function\": 0, \"index\": 0, \"flags\": 0, \"eax\": 0, \"ebx\": 0, \"ecx\": 0}]}", -EINVAL, 0, "cpuid[0]: missing key \"edx\"" },
	{ "missing flags", JSON_HEAD " \"cpuid\": [{\"function\": 0, \"index\": 0, \"eax\": 0, \"ebx\": 0, \"ecx\": 0, \"edx\": 0}]}", -EINVAL, 0, "cpuid[0]: missing key \"flags\"" },
	{ "missing msr value", JSON_DOC(", \"msrs\": [{\"index\": 1}]"), -EINVAL, 0, "msrs[0]: missing key \"value\"" },
	{ "duplicate top-level key", JSON_DOC(",\n \"version\": 1"), -EINVAL, 3, "(top level): duplicate key \"version\"" },
	{ "duplicate entry key", JSON_HEAD " \"cpuid\": [" JSON_ENTRY0 ",\n " JSON_ENTRY("1", "0", ", \"eax\": 5") "]}", -EINVAL, 3, "cpuid[1]: duplicate key \"eax\"" },
	{ "duplicate key behind a NUL", JSON_HEAD " \"cpuid\": [\n " JSON_ENTRY("1", "0", ", \"eax\\u0000x\": 5") "]}", -EINVAL, 3, "cpuid[0]: key with a NUL character" },
	{ "key with a NUL", JSON_HEAD " \"cpuid\": [\n {\"function\": 0, \"index\": 0, \"flags\": 0, \"eax\\u0000\": 0, \"ebx\": 0, \"ecx\": 0, \"edx\": 0}]}", -EINVAL, 3, "cpuid[0]: key with a NUL character" },
	{ "duplicate key spelt with an escape", JSON_HEAD " \"cpuid\": [\n " JSON_ENTRY("1", "0", ", \"\\u0065dx\": 5") "]}", -EINVAL, 3, "cpuid[0]: duplicate key \"edx\"" },
	{ "duplicate msr key", JSON_DOC(", \"msrs\": [{\"index\": 1, \"value\": \"0x1\"},\n {\"index\": 2, \"value\": \"0x1\", \"index\": 3}]"), -EINVAL, 3, "msrs[1]: duplicate key \"index\"" },
};

static const struct bad_input json_bad_entries[] = {
	{ "duplicate leaf", JSON_HEAD " \"cpuid\": [" JSON_ENTRY0 ", " JSON_ENTRY("0", "0", "") "]}", -EINVAL, 0, "cpuid[1]: function 0x0 index 0x0: duplicate entry" },
	{ "duplicate msr", JSON_DOC(", \"msrs\": [{\"index\": 266, \"value\": \"0x1\"}, {\"index\": 266, \"value\": \"0x2\"}]"), -EINVAL, 0, "msrs[1]: MSR 0x10a: duplicate MSR" },
	{ "function past the basic range", JSON_HEAD " \"cpuid\": [" JSON_ENTRY("256", "0", "") "]}", -EINVAL, 0, "cpuid[0]: function 0x100 index 0x0: function outside every CPUID range" },
	{ "sub-leaf above 0xff", JSON_HEAD " \"cpuid\": [" JSON_ENTRY("13", "256", "") "]}", -EINVAL, 0, "sub-leaf index above 0xff" },
	{ "unknown flags", JSON_HEAD " \"cpuid\": [{\"function\": 0, \"index\": 0, \"flags\": 8, \"eax\": 0, \"ebx\": 0, \"ecx\": 0, \"edx\": 0}]}", -EINVAL, 0, "cpuid[0].flags: unknown flag bits 0x8" },
	{ "no entries", JSON_HEAD " \"cpuid\": []}", -EINVAL, 0, "cpuid: no entries" },
};

START_TEST(test_json_parse_rejects_malformed_json)
{
	check_bad_table(json_bad_syntax, ARRAY_SIZE(json_bad_syntax), CAPS_DUMP_JSON);
}
END_TEST

START_TEST(test_json_parse_reports_syntax_error_position)
{
	static const char text[] = "{\"format\": \"hvcap-cpu-dump\",\n \"version\": 1,,\n}";
	struct caps_dump_error err;
	struct caps_dump d;

	ck_assert_int_eq(caps_dump_parse(text, strlen(text), CAPS_DUMP_JSON, &d, &err), -EINVAL);
	ck_assert_uint_eq(err.offset, (size_t)(strstr(text, ",,") - text) + 1);
	ck_assert_uint_eq(err.line, 2);
	ck_assert_uint_eq(err.column, 15);
}
END_TEST

START_TEST(test_json_parse_rejects_wrong_types_and_ranges)
{
	check_bad_table(json_bad_types, ARRAY_SIZE(json_bad_types), CAPS_DUMP_JSON);
}
END_TEST

START_TEST(test_json_parse_rejects_unknown_missing_and_duplicate_keys)
{
	check_bad_table(json_bad_keys, ARRAY_SIZE(json_bad_keys), CAPS_DUMP_JSON);
}
END_TEST

START_TEST(test_json_parse_rejects_duplicate_and_out_of_range_entries)
{
	check_bad_table(json_bad_entries, ARRAY_SIZE(json_bad_entries), CAPS_DUMP_JSON);
}
END_TEST

START_TEST(test_json_parse_enforces_entry_limits)
{
	char *ok = generate(CAPS_DUMP_JSON, CAPS_CPUID_MAX_ENTRIES, CAPS_MSR_MAX);
	char *too_many = generate(CAPS_DUMP_JSON, CAPS_CPUID_MAX_ENTRIES + 1, 0);
	char *too_many_msrs = generate(CAPS_DUMP_JSON, 1, CAPS_MSR_MAX + 1);
	struct caps_dump d;

	parse_str_ok(ok, CAPS_DUMP_JSON, &d);
	ck_assert_uint_eq(d.cpuid.nent, CAPS_CPUID_MAX_ENTRIES);
	ck_assert_uint_eq(d.msrs.n, CAPS_MSR_MAX);
	expect_failure("257 leaves", too_many, strlen(too_many), CAPS_DUMP_JSON, -E2BIG, 0,
		       "cpuid: 257 entries, at most 256 allowed");
	expect_failure("65 MSRs", too_many_msrs, strlen(too_many_msrs), CAPS_DUMP_JSON, -E2BIG, 0,
		       "msrs: 65 entries, at most 64 allowed");
	free(ok);
	free(too_many);
	free(too_many_msrs);
}
END_TEST

/* ---- caps_dump_read_file ---------------------------------------------- */

/* A temporary file holding len bytes of text; the caller unlinks it. */
static void write_temp(char *path, size_t size, const char *text, size_t len)
{
	const char *tmp = getenv("TMPDIR");
	int fd;

	snprintf(path, size, "%s/test-dump-XXXXXX", tmp && *tmp ? tmp : "/tmp");
	fd = mkstemp(path);
	ck_assert_int_ge(fd, 0);
	for (size_t done = 0; done < len;) {
		ssize_t n = write(fd, text + done, len - done);

		ck_assert_int_gt(n, 0);
		done += (size_t)n;
	}
	ck_assert_int_eq(close(fd), 0);
}

START_TEST(test_read_file_reads_each_format)
{
	for (size_t i = 0; i < ARRAY_SIZE(all_formats); i++) {
		static const char *const fixtures[] = { FIXTURE_XML, FIXTURE_CPUID_R, FIXTURE_JSON };
		struct caps_dump d;

		load_fixture(fixtures[i], all_formats[i], &d);
		check_synthetic(&d, all_formats[i] != CAPS_DUMP_CPUID_R);
	}
}
END_TEST

/* The fixture, padded with blanks to exactly total bytes. */
static char *padded_fixture(const char *rel, size_t total)
{
	size_t len;
	char *text = read_text(test_srcpath(rel), &len);

	ck_assert_uint_lt(len, total);
	text = realloc(text, total);
	ck_assert_ptr_nonnull(text);
	memset(text + len, ' ', total - len);
	text[total - 1] = '\n';
	return text;
}

START_TEST(test_read_file_accepts_exactly_max_bytes)
{
	static const char *const fixtures[] = { FIXTURE_XML, FIXTURE_CPUID_R, FIXTURE_JSON };

	for (size_t i = 0; i < ARRAY_SIZE(fixtures); i++) {
		char *text = padded_fixture(fixtures[i], CAPS_DUMP_MAX_BYTES);
		struct caps_dump_error err = { 0 };
		struct caps_dump d;
		char path[4096];
		int r;

		write_temp(path, sizeof(path), text, CAPS_DUMP_MAX_BYTES);
		r = caps_dump_read_file(path, CAPS_DUMP_AUTO, &d, &err);
		unlink(path);
		ck_assert_msg(r == 0, "%s: %d: %s", fixtures[i], r, err.message);
		check_synthetic(&d, i != 1);
		free(text);
	}
}
END_TEST

START_TEST(test_read_file_rejects_one_byte_over_max)
{
	char *text = padded_fixture(FIXTURE_XML, CAPS_DUMP_MAX_BYTES + 1);
	struct caps_dump_error err = { 0 };
	struct caps_dump d, sentinel;
	char path[4096];
	int r;

	memset(&sentinel, 0x5a, sizeof(sentinel));
	d = sentinel;
	write_temp(path, sizeof(path), text, CAPS_DUMP_MAX_BYTES + 1);
	r = caps_dump_read_file(path, CAPS_DUMP_AUTO, &d, &err);
	unlink(path);
	ck_assert_int_eq(r, -EINVAL);
	ck_assert_msg(strstr(err.message, "larger than 1048576 bytes"), "%s", err.message);
	ck_assert_int_eq(memcmp(&d, &sentinel, sizeof(d)), 0);
	/* The same limit holds for a buffer. */
	expect_failure("buffer over the limit", text, CAPS_DUMP_MAX_BYTES + 1, CAPS_DUMP_LIBVIRT_XML,
		       -EINVAL, 0, "larger than");
	free(text);
}
END_TEST

START_TEST(test_read_file_reports_missing_file)
{
	struct caps_dump_error err = { 0 };
	struct caps_dump d;

	ck_assert_int_eq(caps_dump_read_file("/nonexistent/dump.xml", CAPS_DUMP_AUTO, &d, &err),
			 -ENOENT);
	ck_assert_msg(strstr(err.message, "/nonexistent/dump.xml"), "%s", err.message);
	ck_assert_int_eq(caps_dump_read_file(NULL, CAPS_DUMP_AUTO, &d, &err), -EINVAL);
}
END_TEST

/* ---- writers ----------------------------------------------------------- */

/* The writer's output for the synthetic dump is the fixture, byte for byte. */
static void check_writer_layout(enum caps_dump_format fmt, const char *rel)
{
	char *expected = read_text(test_srcpath(rel), NULL);
	struct caps_dump d;
	char *text;

	load_fixture(FIXTURE_XML, CAPS_DUMP_LIBVIRT_XML, &d);
	ck_assert_int_eq(caps_dump_write(&d, fmt, &text), 0);
	ck_assert_str_eq(text, expected);
	free(text);
	free(expected);
}

START_TEST(test_write_libvirt_uses_libvirt_layout)
{
	check_writer_layout(CAPS_DUMP_LIBVIRT_XML, FIXTURE_XML);
}
END_TEST

START_TEST(test_write_cpuid_r_uses_cpuid_tool_layout)
{
	check_writer_layout(CAPS_DUMP_CPUID_R, FIXTURE_CPUID_R);
}
END_TEST

START_TEST(test_write_json_uses_stable_key_order)
{
	check_writer_layout(CAPS_DUMP_JSON, FIXTURE_JSON);
}
END_TEST

START_TEST(test_write_round_trips_every_format)
{
	static const char *const fixtures[] = { FIXTURE_XML, FIXTURE_CPUID_R, FIXTURE_JSON };

	for (size_t i = 0; i < ARRAY_SIZE(fixtures); i++) {
		struct caps_dump d;

		load_fixture(fixtures[i], all_formats[i], &d);
		for (size_t j = 0; j < ARRAY_SIZE(all_formats); j++)
			check_round_trip(&d, all_formats[j], fixtures[i]);
	}
}
END_TEST

/*
 * Flags survive JSON only: XML and `cpuid -r` carry none and their
 * readers derive them, so a JSON dump whose flags differ from that
 * derivation (all 0 here) round-trips through JSON alone.
 */
START_TEST(test_write_round_trips_full_dumps)
{
	for (size_t i = 0; i < ARRAY_SIZE(all_formats); i++) {
		char *text = generate(all_formats[i], CAPS_CPUID_MAX_ENTRIES,
				      all_formats[i] == CAPS_DUMP_CPUID_R ? 0 : CAPS_MSR_MAX);
		struct caps_dump d;

		parse_str_ok(text, all_formats[i], &d);
		for (size_t j = 0; j < ARRAY_SIZE(all_formats); j++)
			if (all_formats[i] != CAPS_DUMP_JSON || all_formats[j] == CAPS_DUMP_JSON)
				check_round_trip(&d, all_formats[j], "256 entries");
		free(text);
	}
}
END_TEST

START_TEST(test_write_libvirt_breaks_double_dashes_in_comment)
{
	struct caps_dump d, back;
	char *text;

	load_fixture(FIXTURE_JSON, CAPS_DUMP_JSON, &d);
	strcpy(d.comment, "a--b---c -");
	ck_assert_int_eq(caps_dump_write(&d, CAPS_DUMP_LIBVIRT_XML, &text), 0);
	ck_assert_msg(strncmp(text, "<!-- a- -b- - -c - -->\n", 23) == 0, "%s", text);
	parse_str_ok(text, CAPS_DUMP_LIBVIRT_XML, &back);
	ck_assert_str_eq(back.comment, "a- -b- - -c -");
	free(text);

	/* JSON carries it unchanged, with escapes where JSON needs them. */
	strcpy(d.comment, "a--b \"quoted\" \\ </cpudata> caf\xc3\xa9");
	check_round_trip(&d, CAPS_DUMP_JSON, "comment");
	/* Without "--", XML carries markup characters unchanged too. */
	strcpy(d.comment, "\"quoted\" 'x' & <cpudata> -> caf\xc3\xa9 -");
	check_round_trip(&d, CAPS_DUMP_LIBVIRT_XML, "comment with markup");
}
END_TEST

START_TEST(test_write_cpuid_r_drops_comment_and_msrs)
{
	struct caps_dump d, back;
	char *text;

	load_fixture(FIXTURE_XML, CAPS_DUMP_LIBVIRT_XML, &d);
	ck_assert_int_eq(caps_dump_write(&d, CAPS_DUMP_CPUID_R, &text), 0);
	ck_assert_ptr_null(strstr(text, "synthetic"));
	parse_str_ok(text, CAPS_DUMP_CPUID_R, &back);
	check_synthetic(&back, false);
	free(text);
}
END_TEST

START_TEST(test_write_rejects_what_no_reader_accepts)
{
	struct caps_dump good, d;
	char *text = (char *)"untouched";

	load_fixture(FIXTURE_JSON, CAPS_DUMP_JSON, &good);
	for (size_t i = 0; i < ARRAY_SIZE(all_formats); i++) {
		enum caps_dump_format fmt = all_formats[i];

		d = good;
		d.cpuid.nent = 0;
		ck_assert_int_eq(caps_dump_write(&d, fmt, &text), -EINVAL);
		d = good;
		d.cpuid.nent = CAPS_CPUID_MAX_ENTRIES + 1;
		ck_assert_int_eq(caps_dump_write(&d, fmt, &text), -EINVAL);
		d = good;
		d.cpuid.entries[1] = d.cpuid.entries[0];
		ck_assert_int_eq(caps_dump_write(&d, fmt, &text), -EINVAL);
		d = good;
		d.cpuid.entries[0].function = 0x100;
		ck_assert_int_eq(caps_dump_write(&d, fmt, &text), -EINVAL);
		d = good;
		d.cpuid.entries[0].index = 0x100;
		ck_assert_int_eq(caps_dump_write(&d, fmt, &text), -EINVAL);
		d = good;
		d.cpuid.entries[0].flags = 0x8;
		ck_assert_int_eq(caps_dump_write(&d, fmt, &text), -EINVAL);
		d = good;
		d.msrs.msrs[1].index = d.msrs.msrs[0].index;
		ck_assert_int_eq(caps_dump_write(&d, fmt, &text), -EINVAL);
		d = good;
		memset(d.comment, 'x', sizeof(d.comment));	/* unterminated */
		ck_assert_int_eq(caps_dump_write(&d, fmt, &text), -EINVAL);
		d = good;
		strcpy(d.comment, "line\nbreak");
		ck_assert_int_eq(caps_dump_write(&d, fmt, &text), -EINVAL);
		d = good;
		strcpy(d.comment, "bad \xff UTF-8");
		ck_assert_int_eq(caps_dump_write(&d, fmt, &text), -EINVAL);
	}
	ck_assert_int_eq(caps_dump_write(&good, CAPS_DUMP_AUTO, &text), -EINVAL);
	ck_assert_int_eq(caps_dump_write(NULL, CAPS_DUMP_JSON, &text), -EINVAL);
	ck_assert_str_eq(text, "untouched");
}
END_TEST

/* A raw dump of libvirt's: not a decoding (-host, -guest, -json) or a mask. */
static bool is_raw_libvirt_dump(const char *path)
{
	static const char *const suffixes[] = {
		"-host.xml", "-guest.xml", "-json.xml", "-enabled.xml", "-disabled.xml",
	};
	size_t n = strlen(path);

	for (size_t i = 0; i < ARRAY_SIZE(suffixes); i++) {
		size_t s = strlen(suffixes[i]);

		if (n >= s && strcmp(path + n - s, suffixes[i]) == 0)
			return false;
	}
	return true;
}

static size_t count_substrings(const char *text, const char *needle)
{
	size_t n = 0;

	for (const char *p = text; (p = strstr(p, needle)); p += strlen(needle))
		n++;
	return n;
}

START_TEST(test_write_round_trips_libvirt_testdata)
{
	const char *dir = getenv("HVCAP_TESTDATA");
	char pattern[4096];
	size_t tested = 0;
	glob_t g;

	if (!dir || !*dir) {
		fprintf(stderr, "SKIP: test_write_round_trips_libvirt_testdata: HVCAP_TESTDATA is not set\n");
		return;
	}
	snprintf(pattern, sizeof(pattern), "%s/libvirt-cputestdata/x86_64-cpuid-*.xml", dir);
	if (glob(pattern, 0, NULL, &g) != 0) {
		fprintf(stderr, "SKIP: test_write_round_trips_libvirt_testdata: no %s\n", pattern);
		return;
	}
	for (size_t i = 0; i < g.gl_pathc; i++) {
		const char *path = g.gl_pathv[i];
		struct caps_dump_error err = { 0 };
		struct caps_dump d;
		char *orig, *text;
		int r;

		if (!is_raw_libvirt_dump(path))
			continue;
		orig = read_text(path, NULL);
		r = caps_dump_read_file(path, CAPS_DUMP_AUTO, &d, &err);
		ck_assert_msg(r == 0, "%s:%u:%u: %s", path, err.line, err.column, err.message);
		ck_assert_uint_eq(d.cpuid.nent, count_substrings(orig, "<cpuid "));
		ck_assert_uint_eq(d.msrs.n, count_substrings(orig, "<msr "));
		ck_assert_msg(d.comment[0], "%s: no comment", path);
		ck_assert_ptr_nonnull(strstr(orig, d.comment));
		/* libvirt's own layout, byte for byte. */
		ck_assert_int_eq(caps_dump_write(&d, CAPS_DUMP_LIBVIRT_XML, &text), 0);
		ck_assert_msg(strcmp(text, orig) == 0, "%s: the writer changed the layout", path);
		free(text);
		for (size_t j = 0; j < ARRAY_SIZE(all_formats); j++)
			check_round_trip(&d, all_formats[j], path);
		free(orig);
		tested++;
	}
	globfree(&g);
	ck_assert_msg(tested >= 12, "only %zu raw libvirt dumps found", tested);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("dump");
	TCase *tc;

	tc = tcase_create("format");
	tcase_add_test(tc, test_format_names_round_trip);
	tcase_add_test(tc, test_detect_recognises_each_format);
	tcase_add_test(tc, test_parse_auto_reads_every_fixture);
	tcase_add_test(tc, test_parse_rejects_nul_bytes);
	tcase_add_test(tc, test_parse_rejects_empty_input);
	tcase_add_test(tc, test_parse_leaves_ret_untouched_on_failure);
	suite_add_tcase(s, tc);

	tc = tcase_create("libvirt");
	tcase_add_test(tc, test_libvirt_parse_reads_fixture);
	tcase_add_test(tc, test_libvirt_parse_accepts_declaration_comments_and_any_attribute_order);
	tcase_add_test(tc, test_libvirt_parse_cuts_long_comment_at_character_boundary);
	tcase_add_test(tc, test_libvirt_parse_rejects_comment_with_control_character);
	tcase_add_test(tc, test_libvirt_parse_rejects_every_truncation);
	tcase_add_test(tc, test_libvirt_parse_rejects_malformed_xml);
	tcase_add_test(tc, test_libvirt_parse_rejects_schema_violations);
	tcase_add_test(tc, test_libvirt_parse_rejects_bad_numbers);
	tcase_add_test(tc, test_libvirt_parse_rejects_duplicate_and_out_of_range_entries);
	tcase_add_test(tc, test_libvirt_parse_enforces_entry_limits);
	tcase_add_test(tc, test_libvirt_parse_rejects_doctype_and_entities);
	suite_add_tcase(s, tc);

	tc = tcase_create("cpuid_r");
	tcase_add_test(tc, test_cpuid_r_parse_reads_fixture);
	tcase_add_test(tc, test_cpuid_r_parse_stops_at_the_next_cpu);
	tcase_add_test(tc, test_cpuid_r_parse_accepts_headerless_crlf_and_blank_lines);
	tcase_add_test(tc, test_cpuid_r_parse_keeps_phi_and_hypervisor_leaves);
	tcase_add_test(tc, test_cpuid_r_parse_truncation_rule);
	tcase_add_test(tc, test_cpuid_r_parse_rejects_malformed_lines);
	tcase_add_test(tc, test_cpuid_r_parse_rejects_duplicate_and_out_of_range_entries);
	tcase_add_test(tc, test_cpuid_r_parse_enforces_entry_limit);
	tcase_add_test(tc, test_cpuid_r_parse_reads_this_machine);
	suite_add_tcase(s, tc);

	tc = tcase_create("json");
	tcase_add_test(tc, test_json_parse_reads_fixture);
	tcase_add_test(tc, test_json_parse_keeps_flags_as_given);
	tcase_add_test(tc, test_json_parse_accepts_any_key_order_escapes_and_optional_keys);
	tcase_add_test(tc, test_json_parse_rejects_every_truncation);
	tcase_add_test(tc, test_json_parse_rejects_malformed_json);
	tcase_add_test(tc, test_json_parse_reports_syntax_error_position);
	tcase_add_test(tc, test_json_parse_rejects_wrong_types_and_ranges);
	tcase_add_test(tc, test_json_parse_rejects_unknown_missing_and_duplicate_keys);
	tcase_add_test(tc, test_json_parse_rejects_duplicate_and_out_of_range_entries);
	tcase_add_test(tc, test_json_parse_enforces_entry_limits);
	suite_add_tcase(s, tc);

	tc = tcase_create("read_file");
	tcase_add_test(tc, test_read_file_reads_each_format);
	tcase_add_test(tc, test_read_file_accepts_exactly_max_bytes);
	tcase_add_test(tc, test_read_file_rejects_one_byte_over_max);
	tcase_add_test(tc, test_read_file_reports_missing_file);
	suite_add_tcase(s, tc);

	tc = tcase_create("write");
	tcase_add_test(tc, test_write_libvirt_uses_libvirt_layout);
	tcase_add_test(tc, test_write_cpuid_r_uses_cpuid_tool_layout);
	tcase_add_test(tc, test_write_json_uses_stable_key_order);
	tcase_add_test(tc, test_write_round_trips_every_format);
	tcase_add_test(tc, test_write_round_trips_full_dumps);
	tcase_add_test(tc, test_write_libvirt_breaks_double_dashes_in_comment);
	tcase_add_test(tc, test_write_cpuid_r_drops_comment_and_msrs);
	tcase_add_test(tc, test_write_rejects_what_no_reader_accepts);
	tcase_add_test(tc, test_write_round_trips_libvirt_testdata);
	suite_add_tcase(s, tc);

	return test_run_suite(s);
}
