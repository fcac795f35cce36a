/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * proto/'s JSON: the lexical key check (libcaps/json-check.c), the
 * field-table decoder (proto/json-decode.c), policy documents in and
 * policies and evaluations out (proto/policy-json.c).
 */

#include <errno.h>
#include <json-c/json.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <libcaps/json-check.h>
#include <proto/json-decode.h>
#include <proto/json-writer.h>
#include <proto/policy.h>
#include <proto/varlink.h>

#include "test-util.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* DESIGN.md §4's example, with a QEMU spelling and a MSR feature. */
static const char full_policy[] =
	"{\n"
	"  \"name\": \"web-tier\",\n"
	"  \"vendor\": \"AuthenticAMD\",\n"
	"  \"base\": \"x86-64-v2\",\n"
	"  \"features\": { \"avx2\": \"require\", \"eraps\": \"require\", \"lam\": \"forbid\",\n"
	"                \"invtsc\": \"disable\", \"avx512f\": \"optional\", \"sse4.1\": \"force\",\n"
	"                \"rdctl-no\": \"optional\" },\n"
	"  \"vcpus\": 8,\n"
	"  \"apic\": \"x2apic\",\n"
	"  \"phys_bits\": 48,\n"
	"  \"migratable\": false\n"
	"}\n";

/* ---- helpers ---------------------------------------------------------- */

static struct caps_policy *policy_new(void)
{
	struct caps_policy *p = malloc(sizeof(*p));

	ck_assert_ptr_nonnull(p);
	return p;
}

static void parse_ok_len(const char *text, size_t len, struct caps_policy *p)
{
	struct proto_error err = { { 0 } };
	int r = proto_policy_parse(text, len, p, &err);

	ck_assert_msg(r == 0, "parse failed with %d: %s: %s", r, err.path, err.message);
}

static void parse_ok(const char *text, struct caps_policy *p)
{
	parse_ok_len(text, strlen(text), p);
}

/*
 * Parsing must fail with r_expected, leave *ret alone, name path exactly
 * (unless NULL) and say message (a substring).
 */
static void expect_failure_len(const char *what, const char *text, size_t len, int r_expected,
			       const char *path, const char *message)
{
	struct caps_policy *p = policy_new(), *sentinel = policy_new();
	struct proto_error err;
	int r;

	memset(sentinel, 0xa5, sizeof(*sentinel));
	memcpy(p, sentinel, sizeof(*p));
	memset(&err, 0, sizeof(err));
	r = proto_policy_parse(text, len, p, &err);
	ck_assert_msg(r == r_expected, "%s: returned %d, expected %d (%s: %s)", what, r, r_expected,
		      err.path, err.message);
	ck_assert_msg(memcmp(p, sentinel, sizeof(*p)) == 0, "%s: *ret written on failure", what);
	ck_assert_msg(err.message[0], "%s: no error message", what);
	ck_assert_msg(strstr(err.message, message), "%s: message \"%s\" lacks \"%s\"", what,
		      err.message, message);
	if (path)
		ck_assert_msg(strcmp(err.path, path) == 0, "%s: path \"%s\", expected \"%s\" (%s)", what,
			      err.path, path, err.message);
	free(p);
	free(sentinel);
}

static void expect_failure(const char *what, const char *text, int r_expected, const char *path,
			   const char *message)
{
	expect_failure_len(what, text, strlen(text), r_expected, path, message);
}

struct bad_policy {
	const char *what;
	const char *text;
	int r;
	const char *path;	/* exact; NULL: not checked */
	const char *message;	/* substring */
};

static void check_bad_table(const struct bad_policy *t, size_t n)
{
	for (size_t i = 0; i < n; i++)
		expect_failure(t[i].what, t[i].text, t[i].r, t[i].path, t[i].message);
}

static const struct caps_policy_feature *find_feature(const struct caps_policy *p, const char *name)
{
	for (size_t i = 0; i < p->n_features; i++)
		if (strcmp(p->features[i].name, name) == 0)
			return &p->features[i];
	return NULL;
}

static void check_feature(const struct caps_policy *p, const char *name, int id,
			  enum caps_feature_policy policy)
{
	const struct caps_policy_feature *pf = find_feature(p, name);

	ck_assert_msg(pf, "feature %s missing", name);
	ck_assert_int_eq(pf->feature, id);
	ck_assert_int_eq(pf->policy, policy);
}

/* Semantic equality: the arrays' bytes after their NUL do not count. */
static void check_policy_equal(const struct caps_policy *a, const struct caps_policy *b)
{
	ck_assert_str_eq(a->name, b->name);
	ck_assert_int_eq(a->has_vendor, b->has_vendor);
	if (a->has_vendor)
		ck_assert_str_eq(a->vendor, b->vendor);
	ck_assert_int_eq(a->base, b->base);
	ck_assert_uint_eq(a->n_features, b->n_features);
	for (size_t i = 0; i < a->n_features; i++) {
		ck_assert_str_eq(a->features[i].name, b->features[i].name);
		ck_assert_int_eq(a->features[i].feature, b->features[i].feature);
		ck_assert_int_eq(a->features[i].policy, b->features[i].policy);
	}
	ck_assert_uint_eq(a->vcpus, b->vcpus);
	ck_assert_int_eq(a->apic, b->apic);
	ck_assert_int_eq(a->phys_bits, b->phys_bits);
	ck_assert_int_eq(a->migratable, b->migratable);
}

/* write(p), then parse it back: the same policy. */
static void check_round_trip(const struct caps_policy *p)
{
	struct json_object *obj = proto_policy_to_json(p);
	struct caps_policy *back = policy_new();
	const char *text;

	ck_assert_ptr_nonnull(obj);
	text = json_object_to_json_string_ext(obj, JSON_C_TO_STRING_PRETTY);
	ck_assert_ptr_nonnull(text);
	parse_ok(text, back);
	check_policy_equal(p, back);
	json_object_put(obj);
	free(back);
}

/* A document {"features": {...}} of n catalog features, canonical names. */
static char *features_doc(size_t n)
{
	size_t size = 64 + n * (CAPS_POLICY_FEATURE_NAME_MAX + 24), at = 0;
	char *text = malloc(size);

	ck_assert_ptr_nonnull(text);
	ck_assert_uint_le(n, caps_feature_count());
	at += (size_t)snprintf(text + at, size - at, "{\"features\": {");
	for (size_t i = 0; i < n; i++)
		at += (size_t)snprintf(text + at, size - at, "%s\n \"%s\": \"optional\"", i ? "," : "",
				       caps_feature_at(i)->name);
	snprintf(text + at, size - at, "}}\n");
	return text;
}

/* A temporary file holding len bytes of text; the caller unlinks it. */
static void write_temp(char *path, size_t size, const char *text, size_t len)
{
	const char *tmp = getenv("TMPDIR");
	int fd;

	snprintf(path, size, "%s/test-policy-json-XXXXXX", tmp && *tmp ? tmp : "/tmp");
	fd = mkstemp(path);
	ck_assert_int_ge(fd, 0);
	for (size_t done = 0; done < len;) {
		ssize_t n = write(fd, text + done, len - done);

		ck_assert_int_gt(n, 0);
		done += (size_t)n;
	}
	ck_assert_int_eq(close(fd), 0);
}

/* A policy document of exactly len bytes: {"name": "x"} padded with blanks. */
static char *sized_doc(size_t len)
{
	static const char head[] = "{\"name\": \"x\"";
	char *text = malloc(len + 1);

	ck_assert_ptr_nonnull(text);
	ck_assert_uint_gt(len, sizeof(head));
	memcpy(text, head, sizeof(head) - 1);
	memset(text + sizeof(head) - 1, ' ', len - sizeof(head));
	text[len - 1] = '}';
	text[len] = '\0';
	return text;
}

/* ---- proto_policy_parse: valid documents ----------------------------- */

START_TEST(test_policy_parse_reads_full_policy)
{
	struct caps_policy *p = policy_new();

	parse_ok(full_policy, p);
	ck_assert_str_eq(p->name, "web-tier");
	ck_assert(p->has_vendor);
	ck_assert_str_eq(p->vendor, "AuthenticAMD");
	ck_assert_int_eq(p->base, CAPS_POLICY_BASE_X86_64_V2);
	ck_assert_uint_eq(p->n_features, 7);
	/* Document order, names as written. */
	ck_assert_str_eq(p->features[0].name, "avx2");
	ck_assert_str_eq(p->features[5].name, "sse4.1");
	ck_assert_str_eq(p->features[6].name, "rdctl-no");
	check_feature(p, "avx2", X86_FEATURE_AVX2, CAPS_POLICY_REQUIRE);
	check_feature(p, "eraps", X86_FEATURE_ERAPS, CAPS_POLICY_REQUIRE);
	check_feature(p, "lam", X86_FEATURE_LAM, CAPS_POLICY_FORBID);
	check_feature(p, "invtsc", caps_feature_lookup("invtsc"), CAPS_POLICY_DISABLE);
	check_feature(p, "avx512f", caps_feature_lookup("avx512f"), CAPS_POLICY_OPTIONAL);
	check_feature(p, "sse4.1", X86_FEATURE_XMM4_1, CAPS_POLICY_FORCE);
	check_feature(p, "rdctl-no", X86_FEATURE_RDCL_NO, CAPS_POLICY_OPTIONAL);
	ck_assert_int_ge(caps_feature_lookup("invtsc"), 0);
	ck_assert_uint_eq(p->vcpus, 8);
	ck_assert_int_eq(p->apic, CAPS_POLICY_APIC_X2APIC);
	ck_assert_int_eq(p->phys_bits, 48);
	ck_assert(!p->migratable);
	free(p);
}
END_TEST

START_TEST(test_policy_parse_applies_defaults)
{
	/* null is absent, as for a Varlink ?type. */
	static const char *const empties[] = {
		"{}", " \n{ }\n\n", "\xef\xbb\xbf{}", "{\"features\": {}}",
		("{\"name\": null, \"vendor\": null, \"base\": null, \"features\": null, \"vcpus\": null, "
		 "\"apic\": null, \"phys_bits\": null, \"migratable\": null}"),
	};
	struct caps_policy *p = policy_new(), *def = policy_new();

	caps_policy_init(def);
	for (size_t i = 0; i < ARRAY_SIZE(empties); i++) {
		memset(p, 0x5a, sizeof(*p));
		parse_ok(empties[i], p);
		check_policy_equal(p, def);
		ck_assert_str_eq(p->name, "");
		ck_assert(!p->has_vendor);
		ck_assert_int_eq(p->base, CAPS_POLICY_BASE_NONE);
		ck_assert_uint_eq(p->n_features, 0);
		ck_assert_uint_eq(p->vcpus, 1);
		ck_assert_int_eq(p->apic, CAPS_POLICY_APIC_XAPIC);
		ck_assert_int_eq(p->phys_bits, 0);
		ck_assert(p->migratable);
	}
	free(p);
	free(def);
}
END_TEST

START_TEST(test_policy_parse_stores_canonical_vendor)
{
	static const struct {
		const char *text, *vendor;
	} t[] = {
		{ "{\"vendor\": \"GenuineIntel\"}", "GenuineIntel" },
		{ "{\"vendor\": \"intel\"}", "GenuineIntel" },
		{ "{\"vendor\": \"AuthenticAMD\"}", "AuthenticAMD" },
		{ "{\"vendor\": \"amd\"}", "AuthenticAMD" },
	};
	struct caps_policy *p = policy_new();

	for (size_t i = 0; i < ARRAY_SIZE(t); i++) {
		parse_ok(t[i].text, p);
		ck_assert(p->has_vendor);
		ck_assert_str_eq(p->vendor, t[i].vendor);
	}
	free(p);
}
END_TEST

START_TEST(test_policy_parse_accepts_every_enum_value_and_limit)
{
	static const char *const bases[] = { "none", "host", "x86-64-v1", "x86-64-v2", "x86-64-v3", "x86-64-v4" };
	static const char *const policies[] = { "force", "require", "optional", "disable", "forbid" };
	struct caps_policy *p = policy_new();
	char text[512], name[CAPS_POLICY_NAME_MAX + 1];

	for (size_t i = 0; i < ARRAY_SIZE(bases); i++) {
		snprintf(text, sizeof(text), "{\"base\": \"%s\"}", bases[i]);
		parse_ok(text, p);
		ck_assert_int_eq(p->base, (int)i);
	}
	for (size_t i = 0; i < ARRAY_SIZE(policies); i++) {
		snprintf(text, sizeof(text), "{\"features\": {\"avx2\": \"%s\"}}", policies[i]);
		parse_ok(text, p);
		ck_assert_int_eq(p->features[0].policy, (int)i);
	}
	parse_ok("{\"apic\": \"xapic\"}", p);
	ck_assert_int_eq(p->apic, CAPS_POLICY_APIC_XAPIC);
	parse_ok("{\"apic\": \"x2apic\"}", p);
	ck_assert_int_eq(p->apic, CAPS_POLICY_APIC_X2APIC);
	parse_ok("{\"vcpus\": 1}", p);
	ck_assert_uint_eq(p->vcpus, 1);
	parse_ok("{\"vcpus\": 4096}", p);
	ck_assert_uint_eq(p->vcpus, 4096);
	parse_ok("{\"phys_bits\": 0}", p);
	ck_assert_int_eq(p->phys_bits, 0);
	parse_ok("{\"phys_bits\": 32}", p);
	ck_assert_int_eq(p->phys_bits, 32);
	parse_ok("{\"phys_bits\": 52}", p);
	ck_assert_int_eq(p->phys_bits, 52);
	parse_ok("{\"migratable\": true}", p);
	ck_assert(p->migratable);

	/* A name of exactly CAPS_POLICY_NAME_MAX bytes, every allowed character. */
	memset(name, 'a', CAPS_POLICY_NAME_MAX);
	memcpy(name, "AZaz09._-", 9);
	name[CAPS_POLICY_NAME_MAX] = '\0';
	snprintf(text, sizeof(text), "{\"name\": \"%s\"}", name);
	parse_ok(text, p);
	ck_assert_str_eq(p->name, name);
	/* And a feature name of CAPS_POLICY_FEATURE_NAME_MAX bytes (unknown). */
	snprintf(text, sizeof(text), "{\"features\": {\"%s\": \"optional\"}}", name);
	parse_ok(text, p);
	ck_assert_str_eq(p->features[0].name, name);
	ck_assert_int_eq(p->features[0].feature, -ENOENT);
	free(p);
}
END_TEST

START_TEST(test_policy_parse_rejects_negative_zero_vcpus)
{
	expect_failure("-0 vCPUs", "{\"vcpus\": -0}", -EINVAL, "vcpus", "expected an integer in 1..4096, got 0");
}
END_TEST

START_TEST(test_policy_parse_stores_unknown_feature_as_enoent)
{
	struct caps_policy *p = policy_new();

	parse_ok("{\"features\": {\"avx2\": \"require\", \"avx9000\": \"require\", \"no-such_thing.x\": \"forbid\"}}", p);
	ck_assert_uint_eq(p->n_features, 3);
	check_feature(p, "avx2", X86_FEATURE_AVX2, CAPS_POLICY_REQUIRE);
	check_feature(p, "avx9000", -ENOENT, CAPS_POLICY_REQUIRE);
	check_feature(p, "no-such_thing.x", -ENOENT, CAPS_POLICY_FORBID);
	free(p);
}
END_TEST

START_TEST(test_policy_parse_resolves_any_spelling)
{
	struct caps_policy *p = policy_new();

	parse_ok("{\"features\": {\"SSE4-1\": \"require\", \"Rdctl_No\": \"optional\", \"avx512F\": \"forbid\"}}", p);
	check_feature(p, "SSE4-1", X86_FEATURE_XMM4_1, CAPS_POLICY_REQUIRE);
	check_feature(p, "Rdctl_No", X86_FEATURE_RDCL_NO, CAPS_POLICY_OPTIONAL);
	check_feature(p, "avx512F", caps_feature_lookup("avx512f"), CAPS_POLICY_FORBID);
	free(p);
}
END_TEST

START_TEST(test_policy_parse_accepts_512_features_and_rejects_513)
{
	char *ok = features_doc(CAPS_POLICY_MAX_FEATURES);
	char *over = features_doc(CAPS_POLICY_MAX_FEATURES + 1);
	struct caps_policy *p = policy_new();

	parse_ok(ok, p);
	ck_assert_uint_eq(p->n_features, CAPS_POLICY_MAX_FEATURES);
	for (size_t i = 0; i < p->n_features; i++) {
		ck_assert_str_eq(p->features[i].name, caps_feature_at(i)->name);
		ck_assert_int_eq(p->features[i].feature, caps_feature_at(i)->id);
	}
	expect_failure("513 features", over, -E2BIG, "features", "513 members, at most 512 allowed");
	free(ok);
	free(over);
	free(p);
}
END_TEST

/* ---- proto_policy_parse: malformed documents ------------------------- */

static const struct bad_policy bad_types[] = {
	{ "top level array", "[]", -EINVAL, "", "expected a JSON object" },
	{ "top level string", "\"x\"", -EINVAL, "", "expected a JSON object" },
	{ "top level number", "1", -EINVAL, "", "expected a JSON object" },
	{ "top level null", "null", -EINVAL, "", "expected a JSON object" },

	{ "name as number", "{\"name\": 5}", -EINVAL, "name", "expected a string, got an integer" },
	{ "name as boolean", "{\"name\": true}", -EINVAL, "name", "expected a string, got a boolean" },
	{ "name as array", "{\"name\": [\"x\"]}", -EINVAL, "name", "expected a string, got an array" },
	{ "name as object", "{\"name\": {}}", -EINVAL, "name", "expected a string, got an object" },

	{ "vendor as number", "{\"vendor\": 1}", -EINVAL, "vendor", "got an integer" },
	{ "vendor as array", "{\"vendor\": [\"amd\"]}", -EINVAL, "vendor", "got an array" },

	{ "base as number", "{\"base\": 0}", -EINVAL, "base", "expected one of \"none\", \"host\", \"x86-64-v1\", \"x86-64-v2\", \"x86-64-v3\", \"x86-64-v4\", got an integer" },
	{ "base as boolean", "{\"base\": false}", -EINVAL, "base", "got a boolean" },
	{ "base as array", "{\"base\": [\"host\"]}", -EINVAL, "base", "got an array" },

	{ "features as array", "{\"features\": [\"avx2\"]}", -EINVAL, "features", "expected an object, got an array" },
	{ "features as string", "{\"features\": \"avx2\"}", -EINVAL, "features", "expected an object, got a string" },
	{ "features as number", "{\"features\": 1}", -EINVAL, "features", "expected an object, got an integer" },
	{ "features as boolean", "{\"features\": true}", -EINVAL, "features", "expected an object, got a boolean" },
	{ "feature policy as number", "{\"features\": {\"avx2\": 1}}", -EINVAL, "features.avx2", "expected one of \"force\", \"require\", \"optional\", \"disable\", \"forbid\", got an integer" },
	{ "feature policy as boolean", "{\"features\": {\"avx2\": true}}", -EINVAL, "features.avx2", "got a boolean" },
	{ "feature policy as null", "{\"features\": {\"avx2\": null}}", -EINVAL, "features.avx2", "got null" },
	{ "feature policy as array", "{\"features\": {\"avx2\": [\"require\"]}}", -EINVAL, "features.avx2", "got an array" },
	{ "feature policy as object", "{\"features\": {\"avx2\": {}}}", -EINVAL, "features.avx2", "got an object" },

	{ "vcpus as string", "{\"vcpus\": \"8\"}", -EINVAL, "vcpus", "expected an integer in 1..4096, got a string" },
	{ "vcpus as fraction", "{\"vcpus\": 1.5}", -EINVAL, "vcpus", "got a number with a fraction or exponent" },
	{ "vcpus as 8.0", "{\"vcpus\": 8.0}", -EINVAL, "vcpus", "got a number with a fraction or exponent" },
	{ "vcpus as exponent", "{\"vcpus\": 8e0}", -EINVAL, "vcpus", "got a number with a fraction or exponent" },
	{ "vcpus as NaN", "{\"vcpus\": NaN}", -EINVAL, "vcpus", "got a number with a fraction or exponent" },
	{ "vcpus as Infinity", "{\"vcpus\": Infinity}", -EINVAL, "vcpus", "got a number with a fraction or exponent" },
	{ "vcpus as boolean", "{\"vcpus\": true}", -EINVAL, "vcpus", "got a boolean" },
	{ "vcpus as array", "{\"vcpus\": [8]}", -EINVAL, "vcpus", "got an array" },
	{ "vcpus as object", "{\"vcpus\": {}}", -EINVAL, "vcpus", "got an object" },

	{ "apic as number", "{\"apic\": 2}", -EINVAL, "apic", "expected one of \"xapic\", \"x2apic\", got an integer" },
	{ "apic as boolean", "{\"apic\": true}", -EINVAL, "apic", "got a boolean" },

	{ "phys_bits as string", "{\"phys_bits\": \"48\"}", -EINVAL, "phys_bits", "expected an integer in 0..52, got a string" },
	{ "phys_bits as fraction", "{\"phys_bits\": 48.5}", -EINVAL, "phys_bits", "got a number with a fraction or exponent" },
	{ "phys_bits as boolean", "{\"phys_bits\": false}", -EINVAL, "phys_bits", "got a boolean" },
	{ "phys_bits as array", "{\"phys_bits\": []}", -EINVAL, "phys_bits", "got an array" },

	{ "migratable as string", "{\"migratable\": \"true\"}", -EINVAL, "migratable", "expected true or false, got a string" },
	{ "migratable as 1", "{\"migratable\": 1}", -EINVAL, "migratable", "expected true or false, got an integer" },
	{ "migratable as 0", "{\"migratable\": 0}", -EINVAL, "migratable", "got an integer" },
	{ "migratable as object", "{\"migratable\": {}}", -EINVAL, "migratable", "got an object" },
};

static const struct bad_policy bad_ranges[] = {
	{ "0 vCPUs", "{\"vcpus\": 0}", -EINVAL, "vcpus", "expected an integer in 1..4096, got 0" },
	{ "4097 vCPUs", "{\"vcpus\": 4097}", -EINVAL, "vcpus", "expected an integer in 1..4096, got 4097" },
	{ "negative vCPUs", "{\"vcpus\": -1}", -EINVAL, "vcpus", "got -1" },
	{ "2^32 + 1 vCPUs", "{\"vcpus\": 4294967297}", -EINVAL, "vcpus", "got 4294967297" },
	{ "2^63 vCPUs", "{\"vcpus\": 9223372036854775808}", -EINVAL, "vcpus", "got 9223372036854775808" },
	{ "2^64 vCPUs", "{\"vcpus\": 18446744073709551616}", -EINVAL, "vcpus", "expected an integer in 1..4096" },
	{ "-2^70 vCPUs", "{\"vcpus\": -1180591620717411303424}", -EINVAL, "vcpus", "expected an integer in 1..4096" },
	{ "phys_bits 31", "{\"phys_bits\": 31}", -EINVAL, "phys_bits", "expected 0 (the host's) or 32..52, got 31" },
	{ "phys_bits 1", "{\"phys_bits\": 1}", -EINVAL, "phys_bits", "got 1" },
	{ "phys_bits 53", "{\"phys_bits\": 53}", -EINVAL, "phys_bits", "expected an integer in 0..52, got 53" },
	{ "phys_bits -1", "{\"phys_bits\": -1}", -EINVAL, "phys_bits", "got -1" },
	{ "name of 65 bytes", "{\"name\": \"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\"}", -EINVAL, "name", "expected at most 64 bytes, got 65" },
	{ "empty name", "{\"name\": \"\"}", -EINVAL, "name", "expected 1 or more of the characters" },
	{ "name with a blank", "{\"name\": \"web tier\"}", -EINVAL, "name", "A-Z, a-z, 0-9, '.', '_' and '-'" },
	{ "name with a slash", "{\"name\": \"../etc\"}", -EINVAL, "name", "A-Z, a-z, 0-9" },
	{ "name with UTF-8", "{\"name\": \"caf\xc3\xa9\"}", -EINVAL, "name", "A-Z, a-z, 0-9" },
	{ "name with a newline", "{\"name\": \"a\\nb\"}", -EINVAL, "name", "A-Z, a-z, 0-9" },
	{ "feature name of 65 bytes", "{\"features\": {\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\": \"require\"}}", -EINVAL, NULL, "expected a key of 1..64 bytes, got 65" },
	{ "empty feature name", "{\"features\": {\"\": \"require\"}}", -EINVAL, "features.", "expected a key of 1..64 bytes, got 0" },
	{ "feature name with a blank", "{\"features\": {\"avx 2\": \"require\"}}", -EINVAL, "features.avx 2", "invalid key: expected 1 or more of the characters" },
	{ "feature name with a slash", "{\"features\": {\"a/b\": \"require\"}}", -EINVAL, "features.a/b", "invalid key" },
	{ "feature name with UTF-8", "{\"features\": {\"\\u00e9\": \"require\"}}", -EINVAL, "features.?", "invalid key" },
};

static const struct bad_policy bad_keys_and_names[] = {
	{ "unknown top-level key", "{\"name\": \"x\", \"colour\": \"blue\"}", -EINVAL, "colour", "unknown key \"colour\" (known keys: name, vendor, base, features, vcpus, apic, phys_bits, migratable)" },
	{ "key in the wrong case", "{\"VCPUS\": 8}", -EINVAL, "VCPUS", "unknown key \"VCPUS\"" },
	{ "unknown key with odd bytes", "{\"a\\u0001\\u00e9b\": 1}", -EINVAL, "a??b", "unknown key \"a??b\"" },
	{ "unknown base", "{\"base\": \"x86-64-v5\"}", -EINVAL, "base", "expected one of \"none\", \"host\", \"x86-64-v1\", \"x86-64-v2\", \"x86-64-v3\", \"x86-64-v4\", got \"x86-64-v5\"" },
	{ "base in the wrong case", "{\"base\": \"Host\"}", -EINVAL, "base", "got \"Host\"" },
	{ "unknown vendor", "{\"vendor\": \"CentaurHauls\"}", -EINVAL, "vendor", "expected \"GenuineIntel\", \"AuthenticAMD\", \"intel\" or \"amd\", got \"CentaurHauls\"" },
	{ "vendor in the wrong case", "{\"vendor\": \"Intel\"}", -EINVAL, "vendor", "got \"Intel\"" },
	{ "vendor with a blank", "{\"vendor\": \"GenuineIntel \"}", -EINVAL, "vendor", "got \"GenuineIntel \"" },
	{ "unknown apic", "{\"apic\": \"x3apic\"}", -EINVAL, "apic", "expected one of \"xapic\", \"x2apic\", got \"x3apic\"" },
	{ "unknown feature policy", "{\"features\": {\"avx2\": \"required\"}}", -EINVAL, "features.avx2", "expected one of \"force\", \"require\", \"optional\", \"disable\", \"forbid\", got \"required\"" },
	{ "feature policy in the wrong case", "{\"features\": {\"avx2\": \"Require\"}}", -EINVAL, "features.avx2", "got \"Require\"" },
	{ "two spellings of one feature", "{\"features\": {\"sse4.1\": \"require\", \"avx2\": \"optional\", \"sse4_1\": \"require\"}}", -EINVAL, "features.sse4_1", "\"sse4.1\" and \"sse4_1\" name the same feature" },
	{ "two cases of one feature", "{\"features\": {\"avx2\": \"require\", \"AVX2\": \"forbid\"}}", -EINVAL, "features.AVX2", "\"avx2\" and \"AVX2\" name the same feature" },
	{ "alias and QEMU name", "{\"features\": {\"rdcl_no\": \"require\", \"rdctl-no\": \"forbid\"}}", -EINVAL, "features.rdctl-no", "\"rdcl_no\" and \"rdctl-no\" name the same feature" },
	{ "two spellings of one unknown name", "{\"features\": {\"foo-bar\": \"require\", \"FOO.bar\": \"forbid\"}}", -EINVAL, "features.FOO.bar", "\"foo-bar\" and \"FOO.bar\" name the same feature" },
};

static const struct bad_policy bad_syntax[] = {
	{ "empty input", "", -EINVAL, "", "empty input" },
	{ "only blanks", " \n\t\r\n", -EINVAL, "", "empty input" },
	{ "trailing garbage", "{\"vcpus\": 2} x", -EINVAL, "", "trailing data after the JSON object at line 1, column 14 (byte 13)" },
	{ "second object", "{\"vcpus\": 2}\n{}", -EINVAL, "", "trailing data after the JSON object at line 2, column 1 (byte 13)" },
	{ "trailing comma after the object", "{},", -EINVAL, "", "trailing data" },
	{ "trailing comma in the object", "{\"vcpus\": 2,}", -EINVAL, "", "JSON syntax error" },
	{ "missing colon", "{\"vcpus\" 2}", -EINVAL, "", "JSON syntax error" },
	{ "comment", "{/* x */ \"vcpus\": 2}", -EINVAL, "", "JSON syntax error" },
	{ "unquoted key", "{vcpus: 2}", -EINVAL, "", "JSON syntax error" },
	{ "invalid UTF-8", "{\"name\": \"\xc3\x28\"}", -EINVAL, "", "JSON syntax error: invalid utf-8" },
	{ "leading zero", "{\"vcpus\": 08}", -EINVAL, "", "JSON syntax error" },
	{ "truncated", "{\"vcpus\": 2", -EINVAL, "", "unexpected end of input: the text is truncated" },
	{ "nesting too deep (objects)", "{\"features\": {\"avx2\": {\"x\": {}}}}", -EINVAL, "features.avx2", "nesting too deep at line 1, column 29 (byte 28)" },
	{ "nesting too deep (values)", "{\"features\": {\"avx2\": {\"x\": {\"y\": 1}}}}", -EINVAL, "features.avx2", "nesting too deep at line 1, column 29 (byte 28)" },
	{ "nesting too deep (arrays)", "{\"name\": [[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]}", -EINVAL, "name[0]", "nesting too deep at line 1, column 12 (byte 11)" },
	{ "single-quoted key", "{'vcpus': 2}", -EINVAL, "", "single-quoted strings are not JSON at line 1, column 2 (byte 1)" },
	{ "single-quoted feature", "{\"features\": {\n 'avx2': \"require\"}}", -EINVAL, "features", "single-quoted strings are not JSON at line 2, column 2" },
	{ "duplicate top-level key", "{\"vcpus\": 1,\n \"vcpus\": 4096}", -EINVAL, "vcpus", "duplicate key \"vcpus\" at line 2, column 2 (byte 14)" },
	{ "duplicate key spelt with an escape", "{\"vcpus\": 1, \"\\u0076cpus\": 4096}", -EINVAL, "vcpus", "duplicate key \"vcpus\"" },
	{ "duplicate feature", "{\"features\": {\"avx2\": \"require\", \"avx2\": \"forbid\"}}", -EINVAL, "features.avx2", "duplicate key \"avx2\"" },
	{ "duplicate unknown key", "{\"x\": 1, \"x\": 2}", -EINVAL, "x", "duplicate key \"x\"" },
	{ "key with \\u0000", "{\"vcpus\\u0000x\": 2}", -EINVAL, "", "key with a NUL character at line 1, column 2 (byte 1)" },
	{ "duplicate behind \\u0000", "{\"vcpus\": 1, \"vcpus\\u0000\": 2}", -EINVAL, "", "key with a NUL character" },
	{ "feature key with \\u0000", "{\"features\": {\"avx2\\u0000evil\": \"require\"}}", -EINVAL, "features", "key with a NUL character" },
	{ "name with \\u0000", "{\"name\": \"web\\u0000tier\"}", -EINVAL, "name", "string contains a NUL character" },
	{ "feature policy with \\u0000", "{\"features\": {\"avx2\": \"require\\u0000x\"}}", -EINVAL, "features.avx2", "got \"require?x\"" },
	{ "vendor with \\u0000", "{\"vendor\": \"amd\\u0000\"}", -EINVAL, "vendor", "got \"amd?\"" },
	{ "base with \\u0000", "{\"base\": \"host\\u0000\"}", -EINVAL, "base", "got \"host?\"" },
};

START_TEST(test_policy_parse_rejects_wrong_types)
{
	check_bad_table(bad_types, ARRAY_SIZE(bad_types));
}
END_TEST

START_TEST(test_policy_parse_rejects_out_of_range_values)
{
	check_bad_table(bad_ranges, ARRAY_SIZE(bad_ranges));
}
END_TEST

START_TEST(test_policy_parse_rejects_unknown_keys_values_and_duplicate_spellings)
{
	check_bad_table(bad_keys_and_names, ARRAY_SIZE(bad_keys_and_names));
}
END_TEST

START_TEST(test_policy_parse_rejects_malformed_json)
{
	check_bad_table(bad_syntax, ARRAY_SIZE(bad_syntax));
}
END_TEST

START_TEST(test_policy_parse_rejects_raw_nul_bytes)
{
	static const char key[] = "{\"vcpus\0\": 2}";
	static const char value[] = "{\"name\": \"a\0b\"}";
	static const char after[] = "{\"vcpus\": 2}\0";

	expect_failure_len("NUL in a key", key, sizeof(key) - 1, -EINVAL, "", "NUL byte at line 1, column 8 (byte 7)");
	expect_failure_len("NUL in a value", value, sizeof(value) - 1, -EINVAL, "", "NUL byte");
	expect_failure_len("NUL after the object", after, sizeof(after) - 1, -EINVAL, "", "NUL byte");
}
END_TEST

START_TEST(test_policy_parse_rejects_every_truncation)
{
	size_t len = strlen(full_policy), complete = (size_t)(strrchr(full_policy, '}') - full_policy) + 1;
	struct caps_policy *p = policy_new(), *whole = policy_new();

	parse_ok(full_policy, whole);
	for (size_t k = 0; k <= len; k++) {
		char what[64];

		snprintf(what, sizeof(what), "prefix of %zu bytes", k);
		if (k >= complete) {
			parse_ok_len(full_policy, k, p);
			check_policy_equal(p, whole);
		} else {
			expect_failure_len(what, full_policy, k, -EINVAL, "", k ? "truncated" : "empty input");
		}
	}
	free(p);
	free(whole);
}
END_TEST

START_TEST(test_policy_parse_enforces_size_limit)
{
	char *at = sized_doc(PROTO_POLICY_MAX_BYTES), *over = sized_doc(PROTO_POLICY_MAX_BYTES + 1);
	struct caps_policy *p = policy_new();

	ck_assert_uint_eq(strlen(at), 1024 * 1024);
	parse_ok(at, p);
	ck_assert_str_eq(p->name, "x");
	expect_failure("1 MiB + 1", over, -E2BIG, "", "policy is larger than 1048576 bytes");
	free(at);
	free(over);
	free(p);
}
END_TEST

/* ---- proto_policy_read_file ------------------------------------------ */

START_TEST(test_policy_read_file_reads_and_limits)
{
	char *at = sized_doc(PROTO_POLICY_MAX_BYTES), *over = sized_doc(PROTO_POLICY_MAX_BYTES + 1);
	struct caps_policy *p = policy_new(), *sentinel = policy_new();
	struct proto_error err = { { 0 } };
	char path[4096];

	write_temp(path, sizeof(path), full_policy, strlen(full_policy));
	ck_assert_int_eq(proto_policy_read_file(path, p, &err), 0);
	ck_assert_str_eq(p->name, "web-tier");
	ck_assert_uint_eq(p->n_features, 7);
	unlink(path);

	write_temp(path, sizeof(path), at, strlen(at));
	ck_assert_int_eq(proto_policy_read_file(path, p, &err), 0);
	ck_assert_str_eq(p->name, "x");
	unlink(path);

	write_temp(path, sizeof(path), over, strlen(over));
	memset(sentinel, 0xa5, sizeof(*sentinel));
	memcpy(p, sentinel, sizeof(*p));
	ck_assert_int_eq(proto_policy_read_file(path, p, &err), -E2BIG);
	ck_assert_ptr_nonnull(strstr(err.message, "larger than 1048576 bytes"));
	ck_assert_mem_eq(p, sentinel, sizeof(*p));
	unlink(path);

	write_temp(path, sizeof(path), "{\"vcpus\": 0}", 12);
	ck_assert_int_eq(proto_policy_read_file(path, p, &err), -EINVAL);
	ck_assert_str_eq(err.path, "vcpus");
	unlink(path);

	ck_assert_int_eq(proto_policy_read_file("/nonexistent/policy.json", p, &err), -ENOENT);
	ck_assert_str_eq(err.path, "");
	ck_assert_str_eq(err.message, "/nonexistent/policy.json: No such file or directory");
	ck_assert_int_eq(proto_policy_read_file(NULL, p, &err), -EINVAL);
	free(at);
	free(over);
	free(p);
	free(sentinel);
}
END_TEST

START_TEST(test_policy_read_file_reads_stdin)
{
	struct caps_policy *p = policy_new();
	struct proto_error err = { { 0 } };
	char path[4096];
	FILE *f;

	write_temp(path, sizeof(path), full_policy, strlen(full_policy));
	f = freopen(path, "r", stdin);
	ck_assert_ptr_nonnull(f);
	ck_assert_int_eq(proto_policy_read_file("-", p, &err), 0);
	ck_assert_str_eq(p->name, "web-tier");
	unlink(path);
	free(p);
}
END_TEST

/* ---- writers ---------------------------------------------------------- */

START_TEST(test_policy_to_json_round_trips)
{
	struct caps_policy *p = policy_new();
	char *many = features_doc(CAPS_POLICY_MAX_FEATURES);
	struct json_object *obj;

	parse_ok(full_policy, p);
	check_round_trip(p);

	caps_policy_init(p);
	check_round_trip(p);

	parse_ok(many, p);
	check_round_trip(p);

	parse_ok("{\"vendor\": \"intel\", \"features\": {\"avx9000\": \"force\", \"SSE4-1\": \"forbid\"},"
		 " \"base\": \"host\", \"vcpus\": 4096, \"phys_bits\": 52}", p);
	check_round_trip(p);

	/* Key order and defaults written out; an empty name and no vendor left out. */
	caps_policy_init(p);
	obj = proto_policy_to_json(p);
	ck_assert_ptr_nonnull(obj);
	ck_assert_str_eq(json_object_to_json_string_ext(obj, JSON_C_TO_STRING_PLAIN),
			 "{\"base\":\"none\",\"features\":{},\"vcpus\":1,\"apic\":\"xapic\",\"phys_bits\":0,\"migratable\":true}");
	json_object_put(obj);
	parse_ok("{\"migratable\": false, \"features\": {\"avx2\": \"require\", \"lam\": \"forbid\"}, \"name\": \"n\", \"vendor\": \"amd\"}", p);
	obj = proto_policy_to_json(p);
	ck_assert_ptr_nonnull(obj);
	ck_assert_str_eq(json_object_to_json_string_ext(obj, JSON_C_TO_STRING_PLAIN),
			 "{\"name\":\"n\",\"vendor\":\"AuthenticAMD\",\"base\":\"none\",\"features\":{\"avx2\":\"require\",\"lam\":\"forbid\"},"
			 "\"vcpus\":1,\"apic\":\"xapic\",\"phys_bits\":0,\"migratable\":false}");
	json_object_put(obj);
	free(many);
	free(p);
}
END_TEST

START_TEST(test_policy_to_json_rejects_what_no_parse_returns)
{
	struct caps_policy *p = policy_new();

	parse_ok(full_policy, p);
	p->base = (enum caps_policy_base)6;
	errno = 0;
	ck_assert_ptr_null(proto_policy_to_json(p));
	ck_assert_int_eq(errno, EINVAL);

	parse_ok(full_policy, p);
	p->features[2].policy = (enum caps_feature_policy)5;
	ck_assert_ptr_null(proto_policy_to_json(p));

	parse_ok(full_policy, p);
	strcpy(p->features[1].name, "a b");
	ck_assert_ptr_null(proto_policy_to_json(p));

	parse_ok(full_policy, p);
	strcpy(p->name, "a/b");
	ck_assert_ptr_null(proto_policy_to_json(p));

	parse_ok(full_policy, p);
	p->vcpus = 0;
	ck_assert_ptr_null(proto_policy_to_json(p));

	parse_ok(full_policy, p);
	p->phys_bits = 31;
	ck_assert_ptr_null(proto_policy_to_json(p));

	parse_ok(full_policy, p);
	strcpy(p->vendor, "CentaurHauls");
	ck_assert_ptr_null(proto_policy_to_json(p));
	free(p);
}
END_TEST

/* The keys of obj, in order, must be exactly those listed (NULL-terminated). */
static void check_keys(struct json_object *obj, const char *what, const char *const *keys)
{
	struct json_object_iter it;
	size_t i = 0;

	ck_assert_msg(json_object_is_type(obj, json_type_object), "%s: not an object", what);
	json_object_object_foreachC(obj, it) {
		ck_assert_msg(keys[i], "%s: unexpected key \"%s\"", what, it.key);
		ck_assert_msg(strcmp(keys[i], it.key) == 0, "%s: key %zu is \"%s\", expected \"%s\"", what,
			      i, it.key, keys[i]);
		i++;
	}
	ck_assert_msg(!keys[i], "%s: key \"%s\" missing", what, keys[i]);
}

static struct json_object *member(struct json_object *obj, const char *key)
{
	struct json_object *v = NULL;

	ck_assert_msg(json_object_object_get_ex(obj, key, &v), "no key \"%s\"", key);
	return v;
}

static void check_str(struct json_object *obj, const char *key, const char *expected)
{
	struct json_object *v = member(obj, key);

	ck_assert_msg(json_object_is_type(v, json_type_string), "%s: not a string", key);
	ck_assert_str_eq(json_object_get_string(v), expected);
}

static void check_int(struct json_object *obj, const char *key, int64_t expected)
{
	struct json_object *v = member(obj, key);

	ck_assert_msg(json_object_is_type(v, json_type_int), "%s: not an integer", key);
	ck_assert_int_eq(json_object_get_int64(v), expected);
}

static void check_bool(struct json_object *obj, const char *key, bool expected)
{
	struct json_object *v = member(obj, key);

	ck_assert_msg(json_object_is_type(v, json_type_boolean), "%s: not a boolean", key);
	ck_assert_int_eq(json_object_get_boolean(v), expected);
}

/* A hand-filled evaluation: every kind of problem, warning and control. */
static struct caps_evaluation *sample_evaluation(void)
{
	struct caps_evaluation *ev = calloc(1, sizeof(*ev));
	struct caps_eval_problem *pr;
	struct caps_cpuid_entry e = { .function = 7, .index = 0, .flags = CAPS_CPUID_FLAG_SIGNIFICANT_INDEX,
				      .eax = 1, .ebx = 0x20, .ecx = 0, .edx = 0x80000000u };

	ck_assert_ptr_nonnull(ev);
	ev->accepted = false;

	pr = &ev->problems[ev->n_problems++];
	strcpy(pr->feature, "eraps");
	pr->has_policy = true;
	pr->policy = CAPS_POLICY_REQUIRE;
	strcpy(pr->reason, "not_supported_by_kvm");
	strcpy(pr->rule, "kvm_older_than_7.0");
	strcpy(pr->detail, "KVM before Linux 7.0 does not advertise ERAPS.");
	pr->where = (struct caps_eval_location) {
		.valid = true, .function = 0x80000021u, .index = 0, .reg = CAPS_REG_EAX, .bit = 24,
	};

	pr = &ev->problems[ev->n_problems++];
	strcpy(pr->feature, "rdctl-no");
	pr->has_policy = true;
	pr->policy = CAPS_POLICY_FORBID;
	strcpy(pr->reason, "forbidden_but_supported");
	strcpy(pr->detail, "The host reports RDCL_NO.");
	pr->where = (struct caps_eval_location) { .valid = true, .msr = true, .function = 0x10a, .bit = 0 };

	pr = &ev->problems[ev->n_problems++];
	strcpy(pr->feature, "avx9000");
	strcpy(pr->reason, "unknown_feature");
	strcpy(pr->detail, "No such feature; did you mean avx512f?");

	strcpy(ev->warnings[0].feature, "sse4_1");
	strcpy(ev->warnings[0].reason, "forced_unsupported");
	strcpy(ev->warnings[0].detail, "Forced although KVM does not support it.");
	strcpy(ev->warnings[1].reason, "virtualization_hole");
	strcpy(ev->warnings[1].detail, "The guest sees GBPAGES with TDP anyway.");
	ev->n_warnings = 2;

	caps_zero(&ev->guest_features);
	caps_set(&ev->guest_features, X86_FEATURE_XMM4_1);
	caps_set(&ev->guest_features, X86_FEATURE_AVX2);
	caps_cpuid_init(&ev->guest_cpuid);
	ck_assert_int_eq(caps_cpuid_add(&ev->guest_cpuid, &e), 0);
	e = (struct caps_cpuid_entry) { .function = 0x80000008u, .eax = 0x3030 };
	ck_assert_int_eq(caps_cpuid_add(&ev->guest_cpuid, &e), 0);
	ev->guest_phys_bits = 48;

	ev->erap_allow_larger_rap = true;
	ev->erap_clear_rap = false;
	ev->apic_access_memslot = CAPS_EVAL_MEMSLOT_INHIBITED_WHEN_X2APIC;
	strcpy(ev->apicv_inhibits[0], "PHYSICAL_ID_TOO_BIG");
	strcpy(ev->apicv_inhibits[1], "X2APIC");
	ev->n_apicv_inhibits = 2;
	ev->cr3_lam_u48 = true;
	ev->cr3_lam_u57 = true;
	ev->snp_safe_control_pages = true;
	return ev;
}

START_TEST(test_evaluation_to_json_writes_exact_keys)
{
	static const char *const top_keys[] = { "verdict", "problems", "warnings", "guest", "controls", NULL };
	static const char *const cpuid_problem_keys[] = { "feature", "policy", "reason", "rule", "detail", "function", "index", "register", "bit", NULL };
	static const char *const msr_problem_keys[] = { "feature", "policy", "reason", "detail", "msr", "bit", NULL };
	static const char *const bare_problem_keys[] = { "feature", "reason", "detail", NULL };
	static const char *const warning_keys[] = { "feature", "reason", "detail", NULL };
	static const char *const bare_warning_keys[] = { "feature", "reason", "detail", NULL };
	static const char *const guest_keys[] = { "features", "cpuid", "phys_bits", NULL };
	static const char *const entry_keys[] = { "function", "index", "flags", "eax", "ebx", "ecx", "edx", NULL };
	static const char *const controls_keys[] = { "erap_ctl", "apic_access_memslot", "apicv_inhibits", "cr3_lam_bits", "snp_safe_control_pages", NULL };
	static const char *const erap_keys[] = { "allow_larger_rap", "clear_rap", NULL };
	struct caps_evaluation *ev = sample_evaluation();
	struct json_object *obj = proto_evaluation_to_json(ev, CAPS_NAMES_LINUX);
	struct json_object *a, *o, *guest, *controls;

	ck_assert_ptr_nonnull(obj);
	check_keys(obj, "evaluation", top_keys);
	check_str(obj, "verdict", "rejected");

	a = member(obj, "problems");
	ck_assert_uint_eq(json_object_array_length(a), 3);
	o = json_object_array_get_idx(a, 0);
	check_keys(o, "problems[0]", cpuid_problem_keys);
	check_str(o, "feature", "eraps");
	check_str(o, "policy", "require");
	check_str(o, "reason", "not_supported_by_kvm");
	check_str(o, "rule", "kvm_older_than_7.0");
	check_str(o, "detail", "KVM before Linux 7.0 does not advertise ERAPS.");
	check_int(o, "function", 2147483681);
	check_int(o, "index", 0);
	check_str(o, "register", "eax");
	check_int(o, "bit", 24);
	o = json_object_array_get_idx(a, 1);
	check_keys(o, "problems[1]", msr_problem_keys);
	check_str(o, "policy", "forbid");
	check_int(o, "msr", 0x10a);
	check_int(o, "bit", 0);
	o = json_object_array_get_idx(a, 2);
	check_keys(o, "problems[2]", bare_problem_keys);
	check_str(o, "reason", "unknown_feature");

	a = member(obj, "warnings");
	ck_assert_uint_eq(json_object_array_length(a), 2);
	check_keys(json_object_array_get_idx(a, 0), "warnings[0]", warning_keys);
	check_str(json_object_array_get_idx(a, 0), "feature", "sse4_1");
	check_keys(json_object_array_get_idx(a, 1), "warnings[1]", bare_warning_keys);
	check_str(json_object_array_get_idx(a, 1), "feature", "");
	check_str(json_object_array_get_idx(a, 1), "reason", "virtualization_hole");

	guest = member(obj, "guest");
	check_keys(guest, "guest", guest_keys);
	a = member(guest, "features");
	ck_assert_uint_eq(json_object_array_length(a), 2);
	ck_assert_str_eq(json_object_get_string(json_object_array_get_idx(a, 0)), "sse4_1");
	ck_assert_str_eq(json_object_get_string(json_object_array_get_idx(a, 1)), "avx2");
	a = member(guest, "cpuid");
	ck_assert_uint_eq(json_object_array_length(a), 2);
	o = json_object_array_get_idx(a, 0);
	check_keys(o, "guest.cpuid[0]", entry_keys);
	check_int(o, "function", 7);
	check_int(o, "flags", 1);
	check_int(o, "eax", 1);
	check_int(o, "ebx", 0x20);
	check_int(o, "edx", 0x80000000u);
	o = json_object_array_get_idx(a, 1);
	check_int(o, "function", 0x80000008u);
	check_int(o, "eax", 0x3030);
	check_int(guest, "phys_bits", 48);

	controls = member(obj, "controls");
	check_keys(controls, "controls", controls_keys);
	check_keys(member(controls, "erap_ctl"), "controls.erap_ctl", erap_keys);
	check_bool(member(controls, "erap_ctl"), "allow_larger_rap", true);
	check_bool(member(controls, "erap_ctl"), "clear_rap", false);
	check_str(controls, "apic_access_memslot", "inhibited_when_x2apic");
	a = member(controls, "apicv_inhibits");
	ck_assert_uint_eq(json_object_array_length(a), 2);
	ck_assert_str_eq(json_object_get_string(json_object_array_get_idx(a, 0)), "PHYSICAL_ID_TOO_BIG");
	ck_assert_str_eq(json_object_get_string(json_object_array_get_idx(a, 1)), "X2APIC");
	a = member(controls, "cr3_lam_bits");
	ck_assert_uint_eq(json_object_array_length(a), 2);
	ck_assert_str_eq(json_object_get_string(json_object_array_get_idx(a, 0)), "lam_u48");
	ck_assert_str_eq(json_object_get_string(json_object_array_get_idx(a, 1)), "lam_u57");
	check_bool(controls, "snp_safe_control_pages", true);
	json_object_put(obj);
	free(ev);
}
END_TEST

START_TEST(test_evaluation_to_json_writes_accepted_and_empty_lists)
{
	struct caps_evaluation *ev = calloc(1, sizeof(*ev));
	struct json_object *obj, *controls;

	ck_assert_ptr_nonnull(ev);
	ev->accepted = true;
	ev->apic_access_memslot = CAPS_EVAL_MEMSLOT_NOT_USED;
	ev->cr3_lam_u48 = true;
	obj = proto_evaluation_to_json(ev, CAPS_NAMES_LINUX);
	ck_assert_ptr_nonnull(obj);
	ck_assert_str_eq(json_object_to_json_string_ext(obj, JSON_C_TO_STRING_PLAIN),
			 "{\"verdict\":\"accepted\",\"problems\":[],\"warnings\":[],"
			 "\"guest\":{\"features\":[],\"cpuid\":[],\"phys_bits\":0},"
			 "\"controls\":{\"erap_ctl\":{\"allow_larger_rap\":false,\"clear_rap\":false},"
			 "\"apic_access_memslot\":\"not_used\",\"apicv_inhibits\":[],\"cr3_lam_bits\":[\"lam_u48\"],"
			 "\"snp_safe_control_pages\":false}}");
	controls = member(obj, "controls");
	check_str(controls, "apic_access_memslot", "not_used");
	json_object_put(obj);
	ev->apic_access_memslot = CAPS_EVAL_MEMSLOT_ENABLED;
	obj = proto_evaluation_to_json(ev, CAPS_NAMES_LINUX);
	check_str(member(obj, "controls"), "apic_access_memslot", "enabled");
	json_object_put(obj);
	free(ev);
}
END_TEST

START_TEST(test_evaluation_to_json_uses_requested_names)
{
	struct caps_evaluation *ev = sample_evaluation();
	struct json_object *obj = proto_evaluation_to_json(ev, CAPS_NAMES_QEMU);
	struct json_object *features = member(member(obj, "guest"), "features");

	ck_assert_str_eq(json_object_get_string(json_object_array_get_idx(features, 0)), "sse4.1");
	ck_assert_str_eq(json_object_get_string(json_object_array_get_idx(features, 1)), "avx2");
	json_object_put(obj);
	free(ev);
}
END_TEST

/* ---- the text writer (proto/json-writer.h) ---------------------------- */

#define JSONC_FLAGS (JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE)

/* The writer's text so far, NUL-terminated in a buffer the caller frees. */
static char *writer_text(struct proto_json_writer *w)
{
	char *s;
	size_t n;

	ck_assert_int_eq(proto_jw_take(w, &s, &n), 0);
	ck_assert_uint_eq(strlen(s), n);
	return s;
}

/* The writer's text must be json-c's printing of obj, byte for byte. */
static void check_writer_is_jsonc(struct proto_json_writer *w, struct json_object *obj)
{
	char *text = writer_text(w);

	ck_assert_str_eq(text, json_object_to_json_string_ext(obj, JSONC_FLAGS));
	free(text);
	json_object_put(obj);
}

START_TEST(test_writer_escapes_every_byte_as_json_c)
{
	char all[256];

	/* Each byte alone between two letters, as a value and as a key. */
	for (int c = 1; c < 256; c++) {
		char s[4] = { 'a', (char)c, 'b', 0 };
		struct proto_json_writer w;
		struct json_object *obj = json_object_new_object();

		json_object_object_add(obj, s, json_object_new_string(s));
		proto_jw_init(&w, 0);
		proto_jw_object_begin(&w);
		proto_jw_key(&w, s);
		proto_jw_string(&w, s);
		proto_jw_object_end(&w);
		check_writer_is_jsonc(&w, obj);
	}
	/* All of them in one string, and cut by a fixed array's size. */
	for (int c = 1; c < 256; c++)
		all[c - 1] = (char)c;
	all[255] = 0;
	{
		struct proto_json_writer w;
		struct json_object *arr = json_object_new_array();

		json_object_array_add(arr, json_object_new_string(all));
		json_object_array_add(arr, json_object_new_string_len(all, 40));
		proto_jw_init(&w, 0);
		proto_jw_array_begin(&w);
		proto_jw_string(&w, all);
		proto_jw_string_n(&w, all, 40);
		proto_jw_array_end(&w);
		check_writer_is_jsonc(&w, arr);
	}
}
END_TEST

START_TEST(test_writer_prints_numbers_and_nesting_as_json_c)
{
	static const int64_t numbers[] = { 0, 1, -1, 9, 10, 4294967295LL, -4294967296LL,
					   INT64_MAX, INT64_MIN, INT64_MIN + 1 };
	struct proto_json_writer w;
	struct json_object *obj = json_object_new_object();
	struct json_object *arr = json_object_new_array();
	struct json_object *nested = json_object_new_array();

	proto_jw_init(&w, 0);
	proto_jw_object_begin(&w);
	proto_jw_key(&w, "n");
	proto_jw_array_begin(&w);
	for (size_t i = 0; i < ARRAY_SIZE(numbers); i++) {
		proto_jw_int64(&w, numbers[i]);
		json_object_array_add(arr, json_object_new_int64(numbers[i]));
	}
	proto_jw_array_end(&w);
	json_object_object_add(obj, "n", arr);
	/* [[], {}, [{}], true, false, ""] */
	proto_jw_key(&w, "e");
	proto_jw_array_begin(&w);
	proto_jw_array_begin(&w);
	proto_jw_array_end(&w);
	proto_jw_object_begin(&w);
	proto_jw_object_end(&w);
	proto_jw_array_begin(&w);
	proto_jw_object_begin(&w);
	proto_jw_object_end(&w);
	proto_jw_array_end(&w);
	proto_jw_bool(&w, true);
	proto_jw_bool(&w, false);
	proto_jw_string(&w, "");
	proto_jw_array_end(&w);
	json_object_array_add(nested, json_object_new_array());
	json_object_array_add(nested, json_object_new_object());
	json_object_array_add(nested, json_object_new_array());
	json_object_array_add(json_object_array_get_idx(nested, 2), json_object_new_object());
	json_object_array_add(nested, json_object_new_boolean(true));
	json_object_array_add(nested, json_object_new_boolean(false));
	json_object_array_add(nested, json_object_new_string(""));
	json_object_object_add(obj, "e", nested);
	proto_jw_key(&w, "last");
	proto_jw_object_begin(&w);
	proto_jw_object_end(&w);
	json_object_object_add(obj, "last", json_object_new_object());
	proto_jw_object_end(&w);
	check_writer_is_jsonc(&w, obj);
}
END_TEST

START_TEST(test_writer_limit_is_sticky_and_take_terminates)
{
	struct proto_json_writer w;
	struct json_object *obj = NULL;
	char big[8192], *s;
	size_t n;

	proto_jw_init(&w, 10);
	proto_jw_string(&w, "12345678");	/* 10 bytes with the quotes: fits */
	ck_assert_int_eq(proto_jw_error(&w), 0);
	proto_jw_bool(&w, true);		/* past max */
	ck_assert_int_eq(proto_jw_error(&w), -E2BIG);
	proto_jw_done(&w);
	/* done keeps max; the error goes */
	ck_assert_uint_eq(w.max, 10);
	proto_jw_string(&w, "1234567890");
	ck_assert_int_eq(proto_jw_error(&w), -E2BIG);
	proto_jw_string(&w, "");		/* sticky, even for what would fit */
	ck_assert_int_eq(proto_jw_take(&w, &s, &n), -E2BIG);
	ck_assert_int_eq(proto_jw_to_object(&w, &obj), -E2BIG);
	proto_jw_done(&w);

	/* A text that fills the buffer exactly still gets its NUL. */
	memset(big, 'x', sizeof(big));
	proto_jw_init(&w, 0);
	proto_jw_raw(&w, big, sizeof(big));
	ck_assert_uint_eq(w.len, w.cap);
	ck_assert_int_eq(proto_jw_take(&w, &s, &n), 0);
	ck_assert_uint_eq(n, sizeof(big));
	ck_assert_int_eq(s[n], 0);
	ck_assert_ptr_null(w.data);
	free(s);

	/* An ill-formed sequence is no object. */
	proto_jw_init(&w, 0);
	proto_jw_object_begin(&w);
	proto_jw_key(&w, "a");
	ck_assert_int_eq(proto_jw_to_object(&w, &obj), -EINVAL);
	proto_jw_done(&w);
}
END_TEST

/* An evaluation whose strings need escaping, with every array at its largest. */
static struct caps_evaluation *hostile_evaluation(void)
{
	struct caps_evaluation *ev = sample_evaluation();

	strcpy(ev->problems[2].detail, "quote \" backslash \\ tab \t newline \n bell \a del \x7f \xc3\xa9t\xc3\xa9");
	strcpy(ev->warnings[0].detail, "slash / and \x01\x1f");
	caps_cpuid_init(&ev->guest_cpuid);
	for (uint32_t i = 0; i < CAPS_CPUID_MAX_ENTRIES; i++) {
		struct caps_cpuid_entry e = {
			.function = 0x80000000u + i, .index = i * 7u, .flags = i & 1,
			.eax = 0xffffffffu - i, .ebx = i * 0x01010101u, .ecx = 0, .edx = 1u << (i % 32),
		};

		ck_assert_int_eq(caps_cpuid_add(&ev->guest_cpuid, &e), 0);
	}
	/* every named feature */
	memset(&ev->guest_features, 0xff, sizeof(ev->guest_features));
	return ev;
}

START_TEST(test_evaluation_text_is_json_c_text)
{
	struct caps_evaluation *ev = hostile_evaluation();

	for (int names = CAPS_NAMES_LINUX; names <= CAPS_NAMES_QEMU; names++) {
		struct proto_json_writer w;
		struct json_object *obj = proto_evaluation_to_json(ev, (enum caps_names)names);

		ck_assert_ptr_nonnull(obj);
		ck_assert_uint_eq(json_object_array_length(member(member(obj, "guest"), "cpuid")),
				  CAPS_CPUID_MAX_ENTRIES);
		ck_assert_str_eq(json_object_get_string(member(json_object_array_get_idx(member(obj, "problems"), 2), "detail")),
				 ev->problems[2].detail);
		proto_jw_init(&w, 0);
		proto_evaluation_write(&w, ev, (enum caps_names)names);
		check_writer_is_jsonc(&w, obj);
	}
	free(ev);
}
END_TEST

START_TEST(test_reply_text_is_reply_build_message)
{
	struct caps_evaluation *ev = hostile_evaluation();
	struct json_object *obj = proto_evaluation_to_json(ev, CAPS_NAMES_LINUX);

	for (int continues = 0; continues <= 1; continues++) {
		struct proto_message built = { 0 }, text = { 0 };
		struct proto_json_writer w;

		ck_assert_int_eq(proto_reply_build(obj, continues, &built), 0);
		proto_reply_begin(&w);
		proto_evaluation_write(&w, ev, CAPS_NAMES_LINUX);
		ck_assert_int_eq(proto_reply_finish(&w, continues, &text), 0);
		ck_assert_ptr_null(w.data);
		ck_assert_uint_eq(text.len, built.len);
		ck_assert_int_eq(text.data[text.len - 1], 0);
		ck_assert_mem_eq(text.data, built.data, built.len);
		proto_message_done(&built);
		proto_message_done(&text);
	}
	json_object_put(obj);
	free(ev);
}
END_TEST

START_TEST(test_reply_text_refuses_what_reply_build_refuses)
{
	struct proto_message m = { .data = NULL, .len = 77 };
	struct proto_json_writer w;
	char *big = malloc(PROTO_VARLINK_MAX_MESSAGE);

	ck_assert_ptr_nonnull(big);
	memset(big, 'a', PROTO_VARLINK_MAX_MESSAGE - 1);
	big[PROTO_VARLINK_MAX_MESSAGE - 1] = 0;
	/* {"parameters":{"s":"aaa..."}} is past the limit */
	proto_reply_begin(&w);
	proto_jw_object_begin(&w);
	proto_jw_key(&w, "s");
	proto_jw_string(&w, big);
	proto_jw_object_end(&w);
	ck_assert_int_eq(proto_reply_finish(&w, false, &m), -E2BIG);
	ck_assert_ptr_null(w.data);
	ck_assert_ptr_null(m.data);
	ck_assert_uint_eq(m.len, 77);
	free(big);

	/* Not UTF-8: json-c would write it as it is, so the check is ours. */
	proto_reply_begin(&w);
	proto_jw_object_begin(&w);
	proto_jw_key(&w, "s");
	proto_jw_string(&w, "\xff\xfe");
	proto_jw_object_end(&w);
	ck_assert_int_eq(proto_reply_finish(&w, false, &m), -EINVAL);
	ck_assert_ptr_null(m.data);
}
END_TEST

/* ---- the field-table decoder on its own ------------------------------ */

struct test_entry {
	uint32_t function;
	uint8_t small;
	int16_t delta;
	uint64_t mask;
};

struct test_request {
	char id[9];
	bool has_id;
	int64_t big;
	bool flag;
	size_t n_entries;
	struct test_entry entries[3];
	struct {
		int level;
	} inner;
};

static const struct proto_field test_entry_fields[] = {
	{ .name = "function", .type = PROTO_FIELD_INT, .flags = PROTO_FIELD_REQUIRED,
	  PROTO_MEMBER(struct test_entry, function), .min = 0, .max = UINT32_MAX },
	{ .name = "small", .type = PROTO_FIELD_INT, PROTO_MEMBER(struct test_entry, small), .min = 0, .max = 255 },
	{ .name = "delta", .type = PROTO_FIELD_INT, PROTO_MEMBER(struct test_entry, delta), .min = -300, .max = 300 },
	{ .name = "mask", .type = PROTO_FIELD_CUSTOM, PROTO_MEMBER(struct test_entry, mask), .decode = proto_decode_hex64 },
	{ .name = NULL },
};

static const struct proto_field test_entry_element = {
	.type = PROTO_FIELD_OBJECT, .offset = 0, .fields = test_entry_fields,
};

static const struct proto_field test_inner_fields[] = {
	{ .name = "level", .type = PROTO_FIELD_INT, .flags = PROTO_FIELD_REQUIRED,
	  .offset = 0, .size = sizeof(int), .min = -5, .max = 5 },
	{ .name = NULL },
};

static const struct proto_field test_request_fields[] = {
	{ .name = "id", .type = PROTO_FIELD_STRING, .flags = PROTO_FIELD_NULLABLE | PROTO_FIELD_PRESENCE,
	  PROTO_MEMBER(struct test_request, id), .presence_offset = offsetof(struct test_request, has_id) },
	{ .name = "big", .type = PROTO_FIELD_INT, PROTO_MEMBER(struct test_request, big),
	  .min = INT64_MIN + 1, .max = INT64_MAX - 1 },
	{ .name = "flag", .type = PROTO_FIELD_BOOL, .flags = PROTO_FIELD_REQUIRED | PROTO_FIELD_NULLABLE,
	  PROTO_MEMBER(struct test_request, flag) },
	{ .name = "entries", .type = PROTO_FIELD_ARRAY, .offset = offsetof(struct test_request, entries),
	  .element = &test_entry_element, .element_size = sizeof(struct test_entry), .max_count = 3,
	  .count_offset = offsetof(struct test_request, n_entries) },
	{ .name = "inner", .type = PROTO_FIELD_OBJECT, .offset = offsetof(struct test_request, inner),
	  .fields = test_inner_fields },
	{ .name = NULL },
};

static int decode_request(const char *text, struct test_request *req, struct proto_error *err)
{
	struct json_object *obj;
	int r;

	memset(req, 0, sizeof(*req));
	memset(err, 0, sizeof(*err));
	r = proto_json_parse(text, strlen(text), 4, &obj, err);
	if (r < 0)
		return r;
	r = proto_json_decode_object(test_request_fields, obj, req, "", err);
	json_object_put(obj);
	return r;
}

START_TEST(test_decode_fills_struct_through_tables)
{
	struct test_request req;
	struct proto_error err;

	ck_assert_int_eq(decode_request("{\"id\": \"abcdefgh\", \"big\": -9223372036854775807, \"flag\": true,"
					" \"entries\": [{\"function\": 4294967295, \"small\": 255, \"delta\": -300, \"mask\": \"0xFFFFFFFFFFFFFFFF\"},"
					" {\"function\": 0, \"mask\": \"0x0\"}], \"inner\": {\"level\": -5}}", &req, &err), 0);
	ck_assert_str_eq(req.id, "abcdefgh");
	ck_assert(req.has_id);
	ck_assert_int_eq(req.big, INT64_MIN + 1);
	ck_assert(req.flag);
	ck_assert_uint_eq(req.n_entries, 2);
	ck_assert_uint_eq(req.entries[0].function, UINT32_MAX);
	ck_assert_uint_eq(req.entries[0].small, 255);
	ck_assert_int_eq(req.entries[0].delta, -300);
	ck_assert_uint_eq(req.entries[0].mask, UINT64_MAX);
	ck_assert_uint_eq(req.entries[1].function, 0);
	ck_assert_uint_eq(req.entries[1].mask, 0);
	ck_assert_int_eq(req.inner.level, -5);

	/* null is absent for NULLABLE fields: no presence, and "flag" still counts as missing. */
	ck_assert_int_eq(decode_request("{\"id\": null, \"flag\": false, \"big\": 9223372036854775806}", &req, &err), 0);
	ck_assert(!req.has_id);
	ck_assert_int_eq(req.big, INT64_MAX - 1);
	ck_assert_int_eq(decode_request("{\"flag\": null}", &req, &err), -EINVAL);
	ck_assert_str_eq(err.path, "flag");
	ck_assert_str_eq(err.message, "missing required key");
}
END_TEST

START_TEST(test_decode_names_the_path_of_every_error)
{
	static const struct {
		const char *text;
		int r;
		const char *path, *message;
	} t[] = {
		{ "{}", -EINVAL, "flag", "missing required key" },
		{ "{\"flag\": true, \"entries\": [{\"function\": 1}, {\"small\": 1}]}", -EINVAL, "entries[1].function", "missing required key" },
		{ "{\"flag\": true, \"entries\": [{\"function\": 1}, {\"function\": 2, \"small\": 256}]}", -EINVAL, "entries[1].small", "expected an integer in 0..255, got 256" },
		{ "{\"flag\": true, \"entries\": [{\"function\": 1, \"delta\": -301}]}", -EINVAL, "entries[0].delta", "expected an integer in -300..300, got -301" },
		{ "{\"flag\": true, \"entries\": [{\"function\": 4294967296}]}", -EINVAL, "entries[0].function", "expected an integer in 0..4294967295, got 4294967296" },
		{ "{\"flag\": true, \"entries\": [{\"function\": \"1\"}]}", -EINVAL, "entries[0].function", "got a string" },
		{ "{\"flag\": true, \"entries\": [{\"function\": 1, \"eax\": 1}]}", -EINVAL, "entries[0].eax", "unknown key \"eax\" (known keys: function, small, delta, mask)" },
		{ "{\"flag\": true, \"entries\": [7]}", -EINVAL, "entries[0]", "expected an object, got an integer" },
		{ "{\"flag\": true, \"entries\": {}}", -EINVAL, "entries", "expected an array, got an object" },
		{ "{\"flag\": true, \"entries\": [{\"function\": 1}, {\"function\": 2}, {\"function\": 3}, {\"function\": 4}]}", -E2BIG, "entries", "4 elements, at most 3 allowed" },
		{ "{\"flag\": true, \"entries\": [{\"function\": 1, \"mask\": 1}]}", -EINVAL, "entries[0].mask", "expected a \"0x\" hex string of at most 64 bits, got an integer" },
		{ "{\"flag\": true, \"entries\": [{\"function\": 1, \"mask\": \"0x\"}]}", -EINVAL, "entries[0].mask", "expected a \"0x\" hex string" },
		{ "{\"flag\": true, \"entries\": [{\"function\": 1, \"mask\": \"12\"}]}", -EINVAL, "entries[0].mask", "expected a \"0x\" hex string" },
		{ "{\"flag\": true, \"entries\": [{\"function\": 1, \"mask\": \"0x1g\"}]}", -EINVAL, "entries[0].mask", "expected a \"0x\" hex string" },
		{ "{\"flag\": true, \"entries\": [{\"function\": 1, \"mask\": \"0x1\\u0000\"}]}", -EINVAL, "entries[0].mask", "expected a \"0x\" hex string" },
		{ "{\"flag\": true, \"entries\": [{\"function\": 1, \"mask\": \"0x10000000000000000\"}]}", -EINVAL, "entries[0].mask", "value does not fit in 64 bits" },
		{ "{\"flag\": true, \"inner\": {}}", -EINVAL, "inner.level", "missing required key" },
		{ "{\"flag\": true, \"inner\": {\"level\": 6}}", -EINVAL, "inner.level", "expected an integer in -5..5, got 6" },
		{ "{\"flag\": true, \"inner\": []}", -EINVAL, "inner", "expected an object, got an array" },
		{ "{\"flag\": true, \"inner\": null}", -EINVAL, "inner", "expected an object, got null" },
		{ "{\"flag\": true, \"id\": \"123456789\"}", -EINVAL, "id", "expected at most 8 bytes, got 9" },
		{ "{\"flag\": true, \"big\": 9223372036854775807}", -EINVAL, "big", "got 9223372036854775807" },
		{ "{\"flag\": true, \"big\": 9223372036854775808}", -EINVAL, "big", "got 9223372036854775808" },
		{ "{\"flag\": true, \"big\": 18446744073709551615}", -EINVAL, "big", "got 18446744073709551615" },
		{ "{\"flag\": 1}", -EINVAL, "flag", "expected true or false, got an integer" },
		{ "{\"flag\": true, \"entries\": [{\"function\": 1, \"function\": 2}]}", -EINVAL, "entries[0].function", "duplicate key \"function\"" },
		{ "{\"flag\": true, \"entries\": [[[[]]]]}", -EINVAL, "entries[0][0]", "nesting too deep at line 1, column 30 (byte 29)" },
	};
	struct test_request req;
	struct proto_error err;

	for (size_t i = 0; i < ARRAY_SIZE(t); i++) {
		int r = decode_request(t[i].text, &req, &err);

		ck_assert_msg(r == t[i].r, "%s: %d (%s: %s)", t[i].text, r, err.path, err.message);
		ck_assert_msg(strcmp(err.path, t[i].path) == 0, "%s: path \"%s\", expected \"%s\"", t[i].text,
			      err.path, t[i].path);
		ck_assert_msg(strstr(err.message, t[i].message), "%s: message \"%s\" lacks \"%s\"", t[i].text,
			      err.message, t[i].message);
	}
}
END_TEST

START_TEST(test_decode_paths_show_hostile_keys_safely)
{
	char text[1024], key[300];
	struct test_request req;
	struct proto_error err;

	memset(key, 'k', sizeof(key) - 1);
	key[sizeof(key) - 1] = '\0';
	snprintf(text, sizeof(text), "{\"flag\": true, \"%s\": 1}", key);
	ck_assert_int_eq(decode_request(text, &req, &err), -EINVAL);
	ck_assert_uint_lt(strlen(err.path), sizeof(err.path));
	ck_assert_ptr_nonnull(strstr(err.path, "..."));
	ck_assert_ptr_nonnull(strstr(err.message, "unknown key"));

	ck_assert_int_eq(decode_request("{\"flag\": true, \"\\u001b[31m\\ud83d\\ude00\": 1}", &req, &err), -EINVAL);
	ck_assert_str_eq(err.path, "?[31m?");
}
END_TEST

/* ---- caps_json_check -------------------------------------------------- */

static int check_str_json(const char *text, unsigned depth, struct caps_json_check_error *err)
{
	memset(err, 0, sizeof(*err));
	return caps_json_check(text, strlen(text), depth, err);
}

START_TEST(test_json_check_accepts_distinct_keys)
{
	static const char *const ok[] = {
		"{}",
		"[]",
		"{\"a\": 1, \"b\": 2, \"A\": 3, \"a \": 4}",
		"{\"a\": {\"a\": {\"a\": 1}}, \"b\": {\"a\": 2}}",
		"[{\"a\": 1}, {\"a\": 2}, {\"a\": [{\"a\": 3}, {\"a\": 4}]}]",
		"{\"a\": {\"b\": 1}, \"b\": 2}",
		"{\"a\": \"{\\\"a\\\": 1, 'x'}\", \"b\": \"it's\"}",
		"{\"a\\\\\": 1, \"a\": 2, \"a\\\"\": 3}",
		"{\"\\u00e9\": 1, \"e\\u0301\": 2}",
		"{\"\\ud83d\\ude00\": 1, \"\\ud83d\\ude01\": 2}",
		"{\"\": 1, \" \": 2}",
		"{\"n\": null, \"t\": true, \"f\": false, \"x\": -1.5e3}",
	};
	struct caps_json_check_error err;

	for (size_t i = 0; i < ARRAY_SIZE(ok); i++)
		ck_assert_msg(check_str_json(ok[i], 8, &err) == 0, "%s: %s", ok[i], err.message);
}
END_TEST

START_TEST(test_json_check_rejects_duplicates_with_path_and_offset)
{
	static const struct {
		const char *text;
		size_t offset;
		const char *path, *key, *message;
	} t[] = {
		{ "{\"a\": 1, \"a\": 2}", 9, "", "a", "duplicate key \"a\"" },
		{ "{\"x\": [0, {\"y\": {\"b\": 1, \"c\": 2, \"b\": 3}}]}", 33, "x[1].y", "b", "duplicate key \"b\"" },
		{ "{\"a\": {\"k\": 1}, \"b\": {\"k\": 1, \"k\": 2}}", 30, "b", "k", "duplicate key \"k\"" },
		{ "{\"eax\": 1, \"\\u0065ax\": 2}", 11, "", "eax", "duplicate key \"eax\"" },
		{ "{\"\\u00e9\": 1, \"\xc3\xa9\": 2}", 14, "", "?", "duplicate key \"?\"" },
		{ "{\"\\ud83d\\ude00\": 1, \"\xf0\x9f\x98\x80\": 2}", 20, "", "?", "duplicate key" },
		/* json-c turns unpaired surrogates into U+FFFD: the same key to it. */
		{ "{\"\\ud800\": 1, \"\\udc00\": 2}", 14, "", "?", "duplicate key" },
		{ "{\"\\ud800\": 1, \"\xef\xbf\xbd\": 2}", 14, "", "?", "duplicate key" },
		{ "{\"a/b\": 1, \"a\\/b\": 2}", 11, "", "a/b", "duplicate key \"a/b\"" },
		{ "{\"t\\t\": 1, \"t\\u0009\": 2}", 11, "", "t?", "duplicate key \"t?\"" },
		{ "{\"\": 1, \"\": 2}", 8, "", "", "duplicate key \"\"" },
		{ "[1, 2, {\"a\": 1, \"b\": [], \"a\": 2}]", 25, "[2]", "a", "duplicate key \"a\"" },
	};
	struct caps_json_check_error err;

	for (size_t i = 0; i < ARRAY_SIZE(t); i++) {
		ck_assert_msg(check_str_json(t[i].text, 8, &err) == -EINVAL, "%s: accepted", t[i].text);
		ck_assert_msg(err.offset == t[i].offset, "%s: offset %zu, expected %zu", t[i].text, err.offset, t[i].offset);
		ck_assert_msg(strcmp(err.path, t[i].path) == 0, "%s: path \"%s\"", t[i].text, err.path);
		ck_assert_msg(strcmp(err.key, t[i].key) == 0, "%s: key \"%s\"", t[i].text, err.key);
		ck_assert_msg(strstr(err.message, t[i].message), "%s: message \"%s\"", t[i].text, err.message);
	}
}
END_TEST

START_TEST(test_json_check_rejects_single_quotes_nul_keys_and_depth)
{
	static const char raw_nul[] = "{\"a\0\": 1}";
	struct caps_json_check_error err;

	ck_assert_int_eq(check_str_json("{'a': 1}", 8, &err), -EINVAL);
	ck_assert_uint_eq(err.offset, 1);
	ck_assert_str_eq(err.message, "single-quoted strings are not JSON");
	ck_assert_int_eq(check_str_json("{\"a\": {\"b\": 'x'}}", 8, &err), -EINVAL);
	ck_assert_uint_eq(err.offset, 12);
	ck_assert_str_eq(err.path, "a");

	ck_assert_int_eq(check_str_json("{\"a\": [{\"b\\u0000c\": 1}]}", 8, &err), -EINVAL);
	ck_assert_uint_eq(err.offset, 8);
	ck_assert_str_eq(err.path, "a[0]");
	ck_assert_str_eq(err.message, "key with a NUL character");
	ck_assert_int_eq(caps_json_check(raw_nul, sizeof(raw_nul) - 1, 8, &err), -EINVAL);
	ck_assert_str_eq(err.message, "key with a NUL character");
	/* A NUL in a value is the decoder's business (json_object_get_string_len()). */
	ck_assert_int_eq(check_str_json("{\"a\": \"\\u0000\"}", 8, &err), 0);

	ck_assert_int_eq(check_str_json("{\"a\": {\"b\": {}}}", 3, &err), 0);
	ck_assert_int_eq(check_str_json("{\"a\": {\"b\": {\"c\": []}}}", 3, &err), -EINVAL);
	ck_assert_str_eq(err.message, "nesting too deep");
	ck_assert_uint_eq(err.offset, 18);
	ck_assert_str_eq(err.path, "a.b");
	ck_assert_int_eq(check_str_json("[]", 0, &err), -EINVAL);

	ck_assert_int_eq(check_str_json("{\"a\": \"x}", 8, &err), -EINVAL);
	ck_assert_str_eq(err.message, "unterminated string");
	ck_assert_int_eq(check_str_json("{\"a\": [}", 8, &err), -EINVAL);
	ck_assert_int_eq(check_str_json("{\"a\": 1", 8, &err), -EINVAL);
	ck_assert_int_eq(caps_json_check(NULL, 0, 8, NULL), 0);
}
END_TEST

START_TEST(test_json_check_follows_any_depth_without_recursion)
{
	size_t depth = CAPS_JSON_CHECK_MAX_DEPTH;
	char *text = malloc(2 * depth + 1);
	struct caps_json_check_error err;

	ck_assert_ptr_nonnull(text);
	memset(text, '[', depth);
	memset(text + depth, ']', depth);
	text[2 * depth] = '\0';
	ck_assert_int_eq(caps_json_check(text, 2 * depth, 1000, &err), 0);
	free(text);

	depth = 100000;
	text = malloc(2 * depth + 1);
	ck_assert_ptr_nonnull(text);
	memset(text, '[', depth);
	memset(text + depth, ']', depth);
	ck_assert_int_eq(caps_json_check(text, 2 * depth, 1000, &err), -EINVAL);
	ck_assert_str_eq(err.message, "nesting too deep");
	ck_assert_uint_eq(err.offset, CAPS_JSON_CHECK_MAX_DEPTH);
	free(text);
}
END_TEST

/* An object of n keys "k0".."k<n-1>", or of sibling objects of per keys each. */
static char *keys_doc(size_t n, size_t per)
{
	size_t size = 32 + n * 24, at = 0;
	char *text = malloc(size);

	ck_assert_ptr_nonnull(text);
	at += (size_t)snprintf(text + at, size - at, per ? "[{" : "{");
	for (size_t i = 0; i < n; i++) {
		bool next_object = per && i && i % per == 0;

		at += (size_t)snprintf(text + at, size - at, "%s\"k%zu\": %zu", next_object ? "}, {" : i ? ", " : "",
				       per ? i % per : i, i);
	}
	snprintf(text + at, size - at, per ? "}]" : "}");
	return text;
}

START_TEST(test_json_check_limits_open_keys)
{
	char *at_limit = keys_doc(CAPS_JSON_CHECK_MAX_KEYS, 0);
	char *over = keys_doc(CAPS_JSON_CHECK_MAX_KEYS + 1, 0);
	char *siblings = keys_doc(4 * CAPS_JSON_CHECK_MAX_KEYS, 1000);
	char *dup = keys_doc(CAPS_JSON_CHECK_MAX_KEYS, 0);
	struct caps_json_check_error err;

	ck_assert_int_eq(check_str_json(at_limit, 8, &err), 0);
	ck_assert_int_eq(check_str_json(over, 8, &err), -E2BIG);
	ck_assert_ptr_nonnull(strstr(err.message, "too many keys"));
	/* Keys of closed objects do not count. */
	ck_assert_int_eq(check_str_json(siblings, 8, &err), 0);
	/* The last key duplicating the first, 4095 keys later. */
	memcpy(strstr(dup, "\"k4095\""), "\"k0\"   ", 7);
	ck_assert_int_eq(check_str_json(dup, 8, &err), -EINVAL);
	ck_assert_str_eq(err.key, "k0");
	free(at_limit);
	free(over);
	free(siblings);
	free(dup);
}
END_TEST

START_TEST(test_json_check_cuts_long_keys_and_paths)
{
	char text[2048], key[600];
	struct caps_json_check_error err;

	memset(key, 'x', sizeof(key) - 1);
	key[sizeof(key) - 1] = '\0';
	snprintf(text, sizeof(text), "{\"%s\": {\"%s\": [{\"a\": 1, \"a\": 2}]}}", key, key);
	ck_assert_int_eq(check_str_json(text, 8, &err), -EINVAL);
	ck_assert_uint_lt(strlen(err.path), sizeof(err.path));
	ck_assert_ptr_nonnull(strstr(err.path, "..."));
	ck_assert_str_eq(err.key, "a");

	snprintf(text, sizeof(text), "{\"%s\": 1, \"%s\": 2}", key, key);
	ck_assert_int_eq(check_str_json(text, 8, &err), -EINVAL);
	ck_assert_uint_lt(strlen(err.key), sizeof(err.key));
	ck_assert_ptr_nonnull(strstr(err.key, "..."));
}
END_TEST

int main(void)
{
	Suite *s = suite_create("policy-json");
	TCase *tc;

	tc = tcase_create("json_check");
	tcase_add_test(tc, test_json_check_accepts_distinct_keys);
	tcase_add_test(tc, test_json_check_rejects_duplicates_with_path_and_offset);
	tcase_add_test(tc, test_json_check_rejects_single_quotes_nul_keys_and_depth);
	tcase_add_test(tc, test_json_check_follows_any_depth_without_recursion);
	tcase_add_test(tc, test_json_check_limits_open_keys);
	tcase_add_test(tc, test_json_check_cuts_long_keys_and_paths);
	suite_add_tcase(s, tc);

	tc = tcase_create("decode");
	tcase_add_test(tc, test_decode_fills_struct_through_tables);
	tcase_add_test(tc, test_decode_names_the_path_of_every_error);
	tcase_add_test(tc, test_decode_paths_show_hostile_keys_safely);
	suite_add_tcase(s, tc);

	tc = tcase_create("policy_parse");
	tcase_add_test(tc, test_policy_parse_reads_full_policy);
	tcase_add_test(tc, test_policy_parse_applies_defaults);
	tcase_add_test(tc, test_policy_parse_stores_canonical_vendor);
	tcase_add_test(tc, test_policy_parse_accepts_every_enum_value_and_limit);
	tcase_add_test(tc, test_policy_parse_rejects_negative_zero_vcpus);
	tcase_add_test(tc, test_policy_parse_stores_unknown_feature_as_enoent);
	tcase_add_test(tc, test_policy_parse_resolves_any_spelling);
	tcase_add_test(tc, test_policy_parse_accepts_512_features_and_rejects_513);
	tcase_add_test(tc, test_policy_parse_rejects_wrong_types);
	tcase_add_test(tc, test_policy_parse_rejects_out_of_range_values);
	tcase_add_test(tc, test_policy_parse_rejects_unknown_keys_values_and_duplicate_spellings);
	tcase_add_test(tc, test_policy_parse_rejects_malformed_json);
	tcase_add_test(tc, test_policy_parse_rejects_raw_nul_bytes);
	tcase_add_test(tc, test_policy_parse_rejects_every_truncation);
	tcase_add_test(tc, test_policy_parse_enforces_size_limit);
	suite_add_tcase(s, tc);

	tc = tcase_create("policy_read_file");
	tcase_add_test(tc, test_policy_read_file_reads_and_limits);
	tcase_add_test(tc, test_policy_read_file_reads_stdin);
	suite_add_tcase(s, tc);

	tc = tcase_create("write");
	tcase_add_test(tc, test_policy_to_json_round_trips);
	tcase_add_test(tc, test_policy_to_json_rejects_what_no_parse_returns);
	tcase_add_test(tc, test_evaluation_to_json_writes_exact_keys);
	tcase_add_test(tc, test_evaluation_to_json_writes_accepted_and_empty_lists);
	tcase_add_test(tc, test_evaluation_to_json_uses_requested_names);
	tcase_add_test(tc, test_writer_escapes_every_byte_as_json_c);
	tcase_add_test(tc, test_writer_prints_numbers_and_nesting_as_json_c);
	tcase_add_test(tc, test_writer_limit_is_sticky_and_take_terminates);
	tcase_add_test(tc, test_evaluation_text_is_json_c_text);
	tcase_add_test(tc, test_reply_text_is_reply_build_message);
	tcase_add_test(tc, test_reply_text_refuses_what_reply_build_refuses);
	suite_add_tcase(s, tc);

	return test_run_suite(s);
}
