/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * proto/'s Varlink layer: names and UTF-8, calls and replies
 * (proto/varlink.c), the framer, interface descriptions and the checker
 * (proto/idl.c), the JSON of io.hvcap.Host and io.hvcap.Policy against
 * the IDL (proto/host-json.c, proto/policy-json.c), and the client
 * (proto/client.c) against a forked server that answers canned replies.
 */

#include <errno.h>
#include <inttypes.h>
#include <json-c/json.h>
#include <limits.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <hvcore/policy.h>
#include <proto/client.h>
#include <proto/host.h>
#include <proto/idl.h>
#include <proto/policy.h>
#include <proto/varlink.h>

#include "synthetic-hosts.h"
#include "test-util.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* ---- helpers ---------------------------------------------------------- */

static struct json_object *json(const char *text)
{
	struct json_object *o = json_tokener_parse(text);

	ck_assert_msg(o != NULL, "test JSON does not parse: %s", text);
	return o;
}

/* A message built by a builder, as a C string (its NUL included in len). */
static void expect_message(const struct proto_message *m, const char *text)
{
	ck_assert_ptr_nonnull(m->data);
	ck_assert_uint_eq(m->len, strlen(text) + 1);
	ck_assert_int_eq(m->data[m->len - 1], '\0');
	ck_assert_str_eq(m->data, text);
}

/* Text repeated into a new buffer: prefix, n times fill, suffix. */
static char *text_fill(const char *prefix, char fill, size_t n, const char *suffix, size_t *ret_len)
{
	size_t a = strlen(prefix), c = strlen(suffix);
	char *buf = malloc(a + n + c + 1);

	ck_assert_ptr_nonnull(buf);
	memcpy(buf, prefix, a);
	memset(buf + a, fill, n);
	memcpy(buf + a + n, suffix, c + 1);
	*ret_len = a + n + c;
	return buf;
}

/* ---- names and UTF-8 -------------------------------------------------- */

static const struct {
	const char *bytes;
	bool valid;
	const char *what;
} utf8_cases[] = {
	{ "plain ASCII", true, "ASCII" },
	{ "caf\xc3\xa9", true, "two bytes (U+00E9)" },
	{ "\xe2\x82\xac", true, "three bytes (U+20AC)" },
	{ "\xf0\x9f\x98\x80", true, "four bytes (U+1F600)" },
	{ "\xed\x9f\xbf", true, "U+D7FF, below the surrogates" },
	{ "\xee\x80\x80", true, "U+E000, above the surrogates" },
	{ "\xef\xbf\xbf", true, "U+FFFF" },
	{ "\xf4\x8f\xbf\xbf", true, "U+10FFFF, the last code point" },
	{ "\xc0\x80", false, "overlong NUL (C0 80)" },
	{ "\xc1\xbf", false, "overlong two bytes (C1)" },
	{ "\xe0\x80\xaf", false, "overlong '/' in three bytes" },
	{ "\xe0\x9f\xbf", false, "overlong U+07FF in three bytes" },
	{ "\xf0\x80\x80\xaf", false, "overlong '/' in four bytes" },
	{ "\xf0\x8f\xbf\xbf", false, "overlong U+FFFF in four bytes" },
	{ "\xed\xa0\x80", false, "high surrogate U+D800" },
	{ "\xed\xbf\xbf", false, "low surrogate U+DFFF" },
	{ "\xed\xa0\xbd\xed\xb8\x80", false, "a surrogate pair in CESU-8" },
	{ "\xf4\x90\x80\x80", false, "U+110000, past the last code point" },
	{ "\xf5\x80\x80\x80", false, "lead byte F5" },
	{ "\xff", false, "byte FF" },
	{ "\x80", false, "a lone continuation byte" },
	{ "a\xbf", false, "a continuation byte after ASCII" },
	{ "\xc3", false, "truncated two bytes" },
	{ "\xe2\x82", false, "truncated three bytes" },
	{ "\xf0\x9f\x98", false, "truncated four bytes" },
	{ "\xe2\x28\xa1", false, "a bad second byte" },
	{ "\xf0\x9f\x28\x80", false, "a bad third byte" },
	{ "\xc3x", false, "ASCII where a continuation byte belongs" },
};

START_TEST(test_utf8_is_valid_follows_rfc3629)
{
	for (size_t i = 0; i < ARRAY_SIZE(utf8_cases); i++)
		ck_assert_msg(proto_utf8_is_valid(utf8_cases[i].bytes, strlen(utf8_cases[i].bytes)) ==
			      utf8_cases[i].valid, "%s", utf8_cases[i].what);
	ck_assert(proto_utf8_is_valid("", 0));
	ck_assert(!proto_utf8_is_valid("\xc3\xa9", 1));
}
END_TEST

START_TEST(test_names_follow_the_varlink_grammar)
{
	static const char *const interfaces_ok[] = {
		"io.hvcap", "io.hvcap.Vm", "org.varlink.service", "a.b", "a-b.c", "a--b.c0",
		"x.0abc", "org.example.ftl", "Io.hvcap", "io.systemd.Resolve",
	};
	static const char *const interfaces_bad[] = {
		"", "io", "0io.hvcap", "-io.x", "io-.x", "io.x-", "io.-x", "io..x", "io.x.", ".io.x",
		"io_x.y", "io.x y", "io.x/y", "io.caf\xc3\xa9",
	};
	static const char *const members_ok[] = { "A", "Create", "GetInterfaceDescription", "X9a" };
	static const char *const members_bad[] = { "", "a", "create", "Get_Info", "Get-Info", "9A", "\xc3\x84" };
	static const char *const qualified_ok[] = {
		"io.hvcap.Vm.Create", "org.varlink.service.GetInfo", "a.b.C", "io.hvcap.vm.Get",
		"io.hvcap.Vm",
	};
	static const char *const qualified_bad[] = {
		"", "Create", "io.hvcap", "io.Create", "io.hvcap.Vm.create", "0o.hvcap.Get",
		"io..x.Get", "io.x-.Get", "io.-x.Get", "1o.x.Get", "io.x.Get_x", "io.x.Get!",
		"io.x.", "io.x.Get.", ".io.x.Get",
	};
	char name[PROTO_VARLINK_NAME_MAX + 2];

	for (size_t i = 0; i < ARRAY_SIZE(interfaces_ok); i++)
		ck_assert_msg(proto_interface_name_is_valid(interfaces_ok[i]), "%s", interfaces_ok[i]);
	for (size_t i = 0; i < ARRAY_SIZE(interfaces_bad); i++)
		ck_assert_msg(!proto_interface_name_is_valid(interfaces_bad[i]), "%s", interfaces_bad[i]);
	for (size_t i = 0; i < ARRAY_SIZE(members_ok); i++)
		ck_assert_msg(proto_member_name_is_valid(members_ok[i]), "%s", members_ok[i]);
	for (size_t i = 0; i < ARRAY_SIZE(members_bad); i++)
		ck_assert_msg(!proto_member_name_is_valid(members_bad[i]), "%s", members_bad[i]);
	for (size_t i = 0; i < ARRAY_SIZE(qualified_ok); i++)
		ck_assert_msg(proto_qualified_name_is_valid(qualified_ok[i]), "%s", qualified_ok[i]);
	for (size_t i = 0; i < ARRAY_SIZE(qualified_bad); i++)
		ck_assert_msg(!proto_qualified_name_is_valid(qualified_bad[i]), "%s", qualified_bad[i]);
	ck_assert(!proto_interface_name_is_valid(NULL));
	ck_assert(!proto_qualified_name_is_valid(NULL));

	/* 255 bytes are a name; 256 are not. */
	memset(name, 'a', sizeof(name));
	memcpy(name, "io.", 3);
	memcpy(name + PROTO_VARLINK_NAME_MAX - 2, ".M", 2);
	name[PROTO_VARLINK_NAME_MAX] = '\0';
	ck_assert(proto_qualified_name_is_valid(name));
	memcpy(name + PROTO_VARLINK_NAME_MAX - 2, "a.M", 3);
	name[PROTO_VARLINK_NAME_MAX + 1] = '\0';
	ck_assert_uint_eq(strlen(name), PROTO_VARLINK_NAME_MAX + 1);
	ck_assert(!proto_qualified_name_is_valid(name));
}
END_TEST

/* ---- calls ------------------------------------------------------------ */

static int call_parse(const char *text, size_t len, unsigned depth, struct proto_call *ret,
		      struct proto_error *err)
{
	memset(err, 0, sizeof(*err));
	return proto_call_parse(text, len, depth, ret, err);
}

static void call_ok(const char *text, struct proto_call *ret)
{
	struct proto_error err;
	int r = call_parse(text, strlen(text), PROTO_VARLINK_MAX_DEPTH, ret, &err);

	ck_assert_msg(r == 0, "%s: %d %s: %s", text, r, err.path, err.message);
}

START_TEST(test_call_build_writes_exact_text)
{
	struct json_object *p = json("{\"vm\": 1, \"name\": \"a/b\"}");
	struct json_object *empty = json_object_new_object();
	struct proto_message m;

	ck_assert_int_eq(proto_call_build("io.hvcap.Vm.Get", p, PROTO_CALL_MORE, &m), 0);
	expect_message(&m, "{\"method\":\"io.hvcap.Vm.Get\",\"parameters\":{\"vm\":1,\"name\":\"a/b\"},\"more\":true}");
	proto_message_done(&m);
	ck_assert_ptr_null(m.data);

	/* No parameters, or none in them: the key is left out. */
	ck_assert_int_eq(proto_call_build("io.hvcap.Vm.List", NULL, 0, &m), 0);
	expect_message(&m, "{\"method\":\"io.hvcap.Vm.List\"}");
	proto_message_done(&m);
	ck_assert_int_eq(proto_call_build("io.hvcap.Vm.List", empty, PROTO_CALL_ONEWAY, &m), 0);
	expect_message(&m, "{\"method\":\"io.hvcap.Vm.List\",\"oneway\":true}");
	proto_message_done(&m);
	ck_assert_int_eq(proto_call_build("io.hvcap.Vm.List", NULL, PROTO_CALL_UPGRADE, &m), 0);
	expect_message(&m, "{\"method\":\"io.hvcap.Vm.List\",\"upgrade\":true}");
	proto_message_done(&m);

	/* Parameters are not consumed. */
	ck_assert_int_eq(json_object_get_int(json_object_object_get(p, "vm")), 1);
	json_object_put(p);
	json_object_put(empty);
}
END_TEST

START_TEST(test_call_round_trips)
{
	static const unsigned flag_sets[] = {
		0, PROTO_CALL_ONEWAY, PROTO_CALL_MORE, PROTO_CALL_UPGRADE,
		PROTO_CALL_MORE | PROTO_CALL_UPGRADE, PROTO_CALL_ONEWAY | PROTO_CALL_UPGRADE,
	};
	struct json_object *p = json("{\"policy\": {\"features\": {\"avx2\": \"require\"}, \"vcpus\": 8},"
				     " \"s\": \"caf\xc3\xa9 \\u0001 \\\" \\\\\", \"f\": 1.5, \"n\": null,"
				     " \"l\": [1, -2, true, {}]}");

	for (size_t i = 0; i < ARRAY_SIZE(flag_sets); i++) {
		struct proto_message m;
		struct proto_call c;

		ck_assert_int_eq(proto_call_build("io.hvcap.Policy.Validate", p, flag_sets[i], &m), 0);
		call_ok(m.data, &c);
		ck_assert_str_eq(c.method, "io.hvcap.Policy.Validate");
		ck_assert_str_eq(c.interface, "io.hvcap.Policy");
		ck_assert_str_eq(c.member, "Validate");
		ck_assert_ptr_eq(c.member, c.method + strlen("io.hvcap.Policy."));
		ck_assert_uint_eq(c.flags, flag_sets[i]);
		ck_assert(json_object_equal(c.parameters, p));
		proto_call_done(&c);
		ck_assert_ptr_null(c.parameters);
		proto_message_done(&m);
	}
	json_object_put(p);
}
END_TEST

START_TEST(test_call_parse_defaults_parameters_and_ignores_extensions)
{
	static const char *const texts[] = {
		"{\"method\": \"io.hvcap.Vm.List\"}",
		"{\"method\": \"io.hvcap.Vm.List\", \"parameters\": null}",
		"{\"method\": \"io.hvcap.Vm.List\", \"parameters\": {}}",
		" \n\t{\"parameters\": {}, \"method\": \"io.hvcap.Vm.List\"}\r\n ",
		"{\"method\": \"io.hvcap.Vm.List\", \"io.hvcap.trace-id\": \"abc\"}",
		"{\"method\": \"io.hvcap.Vm.List\", \"org.example.x\": {\"nested\": [1, 2]}}",
		"{\"method\": \"io.hvcap.Vm.List\", \"oneway\": false, \"more\": false, \"upgrade\": false}",
	};

	for (size_t i = 0; i < ARRAY_SIZE(texts); i++) {
		struct proto_call c;

		call_ok(texts[i], &c);
		ck_assert_str_eq(c.member, "List");
		ck_assert_uint_eq(c.flags, 0);
		ck_assert(json_object_is_type(c.parameters, json_type_object));
		ck_assert_int_eq(json_object_object_length(c.parameters), 0);
		proto_call_done(&c);
	}
}
END_TEST

static const struct {
	const char *what;
	const char *text;
	const char *path;
	const char *message;
} call_malformations[] = {
	{ "empty", "", "", "empty input" },
	{ "blanks only", "  \n", "", "empty input" },
	{ "an array", "[{\"method\": \"a.b.C\"}]", "", "expected a JSON object" },
	{ "a string", "\"a.b.C\"", "", "expected a JSON object" },
	{ "a number", "1", "", "expected a JSON object" },
	{ "null", "null", "", "expected a JSON object" },
	{ "truncated", "{\"method\": \"a.b.C\"", "", "truncated" },
	{ "trailing data", "{\"method\": \"a.b.C\"} {}", "", "trailing data" },
	{ "syntax error", "{\"method\": \"a.b.C\",}", "", "syntax error" },
	{ "single quotes", "{'method': 'a.b.C'}", "", "" },
	{ "no method", "{}", "method", "missing" },
	{ "no method, parameters", "{\"parameters\": {}}", "method", "missing" },
	{ "method null", "{\"method\": null}", "method", "expected a string, got null" },
	{ "method a number", "{\"method\": 1}", "method", "expected a string" },
	{ "method an object", "{\"method\": {}}", "method", "expected a string" },
	{ "method empty", "{\"method\": \"\"}", "method", "not a qualified name" },
	{ "method unqualified", "{\"method\": \"Create\"}", "method", "not a qualified name" },
	{ "method an interface", "{\"method\": \"io.hvcap\"}", "method", "not a qualified name" },
	{ "method lower case", "{\"method\": \"io.hvcap.Vm.create\"}", "method", "not a qualified name" },
	{ "interface with a digit first", "{\"method\": \"0o.hvcap.Create\"}", "method", "not a qualified name" },
	{ "interface one segment", "{\"method\": \"io.Create\"}", "method", "not a qualified name" },
	{ "empty segment", "{\"method\": \"io..x.Create\"}", "method", "not a qualified name" },
	{ "hyphen at a segment end", "{\"method\": \"io.x-.Create\"}", "method", "not a qualified name" },
	{ "underscore in member", "{\"method\": \"io.x.Get_vm\"}", "method", "not a qualified name" },
	{ "NUL in method", "{\"method\": \"io.x.Get\\u0000\"}", "method", "not a qualified name" },
	{ "space in method", "{\"method\": \"io.x.Get \"}", "method", "not a qualified name" },
	{ "oneway a number", "{\"method\": \"a.b.C\", \"oneway\": 1}", "oneway", "expected true or false" },
	{ "more a string", "{\"method\": \"a.b.C\", \"more\": \"true\"}", "more", "expected true or false" },
	{ "upgrade null", "{\"method\": \"a.b.C\", \"upgrade\": null}", "upgrade", "got null" },
	{ "oneway and more", "{\"method\": \"a.b.C\", \"oneway\": true, \"more\": true}", "more", "oneway" },
	{ "parameters an array", "{\"method\": \"a.b.C\", \"parameters\": []}", "parameters", "expected an object, got an array" },
	{ "parameters a string", "{\"method\": \"a.b.C\", \"parameters\": \"x\"}", "parameters", "expected an object" },
	{ "parameters a number", "{\"method\": \"a.b.C\", \"parameters\": 0}", "parameters", "expected an object" },
	{ "parameters a boolean", "{\"method\": \"a.b.C\", \"parameters\": true}", "parameters", "expected an object" },
	{ "unknown key", "{\"method\": \"a.b.C\", \"foo\": 1}", "foo", "unknown key" },
	{ "a reply's key", "{\"method\": \"a.b.C\", \"continues\": true}", "continues", "unknown key" },
	{ "a reply's error", "{\"method\": \"a.b.C\", \"error\": \"a.b.E\"}", "error", "unknown key" },
	{ "duplicate method", "{\"method\": \"a.b.C\", \"method\": \"a.b.D\"}", "method", "duplicate key" },
	{ "duplicate parameter", "{\"method\": \"a.b.C\", \"parameters\": {\"vm\": 1, \"vm\": 2}}", "parameters.vm", "duplicate key" },
};

START_TEST(test_call_parse_rejects_malformations)
{
	for (size_t i = 0; i < ARRAY_SIZE(call_malformations); i++) {
		struct proto_call c, sentinel;
		struct proto_error err;
		int r;

		memset(&sentinel, 0xa5, sizeof(sentinel));
		c = sentinel;
		r = call_parse(call_malformations[i].text, strlen(call_malformations[i].text),
			       PROTO_VARLINK_MAX_DEPTH, &c, &err);
		ck_assert_msg(r == -EINVAL, "%s: returned %d", call_malformations[i].what, r);
		ck_assert_msg(memcmp(&c, &sentinel, sizeof(c)) == 0, "%s: *ret written", call_malformations[i].what);
		ck_assert_msg(strcmp(err.path, call_malformations[i].path) == 0, "%s: path \"%s\", expected \"%s\"",
			      call_malformations[i].what, err.path, call_malformations[i].path);
		ck_assert_msg(strstr(err.message, call_malformations[i].message), "%s: message \"%s\"",
			      call_malformations[i].what, err.message);
	}
}
END_TEST

START_TEST(test_call_parse_rejects_invalid_utf8_anywhere)
{
	for (size_t i = 0; i < ARRAY_SIZE(utf8_cases); i++) {
		char text[256];
		struct proto_call c;
		struct proto_error err;
		int r;

		/* In a parameter's value, in a key, and in an extension's key. */
		static const char *const before[] = {
			"{\"method\": \"a.b.C\", \"parameters\": {\"s\": \"x",
			"{\"method\": \"a.b.C\", \"parameters\": {\"k",
			"{\"method\": \"a.b.C\", \"io.x",
		};
		static const char *const after[] = { "y\"}}", "\": 1}}", "\": 1}" };

		for (size_t k = 0; k < ARRAY_SIZE(before); k++) {
			snprintf(text, sizeof(text), "%s%s%s", before[k], utf8_cases[i].bytes, after[k]);
			r = call_parse(text, strlen(text), PROTO_VARLINK_MAX_DEPTH, &c, &err);
			if (utf8_cases[i].valid) {
				ck_assert_msg(r == 0, "%s in form %zu: %d %s", utf8_cases[i].what, k, r, err.message);
				proto_call_done(&c);
			} else {
				ck_assert_msg(r == -EINVAL, "%s in form %zu: %d", utf8_cases[i].what, k, r);
				ck_assert_msg(strstr(err.message, "invalid UTF-8"), "%s: %s", utf8_cases[i].what,
					      err.message);
			}
		}
	}
}
END_TEST

START_TEST(test_call_parse_rejects_nul_bytes)
{
	static const char text[] = "{\"method\": \"a.b.C\"}";
	char buf[64];
	struct proto_call c;
	struct proto_error err;

	/* The framer's NUL passed along, a NUL inside a string, and one between tokens. */
	ck_assert_int_eq(call_parse(text, sizeof(text), PROTO_VARLINK_MAX_DEPTH, &c, &err), -EINVAL);
	ck_assert_ptr_nonnull(strstr(err.message, "NUL"));
	memcpy(buf, "{\"method\": \"a.b\0C\"}", 20);
	ck_assert_int_eq(call_parse(buf, 20, PROTO_VARLINK_MAX_DEPTH, &c, &err), -EINVAL);
	ck_assert_ptr_nonnull(strstr(err.message, "NUL"));
	memcpy(buf, "{\0\"method\": \"a.b.C\"}", 20);
	ck_assert_int_eq(call_parse(buf, 20, PROTO_VARLINK_MAX_DEPTH, &c, &err), -EINVAL);
	/* An escaped U+0000 in a key is refused as well (json-c would cut the key there). */
	{
		static const char escaped[] = "{\"method\": \"a.b.C\", \"io.x\\u0000\": 1}";

		ck_assert_int_eq(call_parse(escaped, strlen(escaped), PROTO_VARLINK_MAX_DEPTH, &c, &err), -EINVAL);
		ck_assert_ptr_nonnull(strstr(err.message, "NUL"));
	}
}
END_TEST

/*
 * A call nesting depth containers in all, the envelope and parameters
 * included: {"method": ..., "parameters": {"a": {"a": 1}}} is three deep
 * (or {"a": [1]} with arrays below the parameters).
 */
static char *nested_call(unsigned depth, bool arrays)
{
	size_t n, cap = 64 + 8 * (size_t)depth;
	char *buf = malloc(cap);

	ck_assert_ptr_nonnull(buf);
	ck_assert_uint_ge(depth, 2);
	n = (size_t)snprintf(buf, cap, "{\"method\": \"a.b.C\", \"parameters\": {\"a\": ");
	for (unsigned i = 3; i <= depth; i++)
		n += (size_t)snprintf(buf + n, cap - n, "%s", arrays ? "[" : "{\"a\": ");
	n += (size_t)snprintf(buf + n, cap - n, "1");
	for (unsigned i = depth; i >= 3; i--)
		n += (size_t)snprintf(buf + n, cap - n, "%s", arrays ? "]" : "}");
	n += (size_t)snprintf(buf + n, cap - n, "}}");
	ck_assert_uint_lt(n, cap);
	return buf;
}

START_TEST(test_call_parse_limits_depth)
{
	static const unsigned limits[] = { 2, 3, 16, PROTO_VARLINK_MAX_DEPTH, 64 };

	for (size_t i = 0; i < ARRAY_SIZE(limits); i++) {
		for (int arrays = 0; arrays <= 1; arrays++) {
			char *at = nested_call(limits[i], arrays), *over = nested_call(limits[i] + 1, arrays);
			struct proto_call c;
			struct proto_error err;
			int r;

			r = call_parse(at, strlen(at), limits[i], &c, &err);
			ck_assert_msg(r == 0, "depth %u (%s) at the limit: %d %s", limits[i], at, r, err.message);
			proto_call_done(&c);
			r = call_parse(over, strlen(over), limits[i], &c, &err);
			ck_assert_msg(r == -EINVAL, "depth %u (%s) over the limit: %d", limits[i], over, r);
			free(at);
			free(over);
		}
	}

	/* 0 is the default depth. */
	{
		char *at = nested_call(PROTO_VARLINK_MAX_DEPTH, false);
		char *over = nested_call(PROTO_VARLINK_MAX_DEPTH + 1, false);
		struct proto_call c;
		struct proto_error err;

		ck_assert_int_eq(call_parse(at, strlen(at), 0, &c, &err), 0);
		proto_call_done(&c);
		ck_assert_int_eq(call_parse(over, strlen(over), 0, &c, &err), -EINVAL);
		ck_assert_int_eq(call_parse(at, strlen(at), 65, &c, &err), -EINVAL);
		free(at);
		free(over);
	}
}
END_TEST

START_TEST(test_call_parse_limits_size)
{
	static const char prefix[] = "{\"method\": \"a.b.C\", \"parameters\": {\"s\": \"";
	static const char suffix[] = "\"}}";
	const size_t fill = PROTO_VARLINK_MAX_MESSAGE - (sizeof(prefix) - 1) - (sizeof(suffix) - 1);
	struct proto_call c;
	struct proto_error err;
	size_t len;
	char *text;

	/* Exactly PROTO_VARLINK_MAX_MESSAGE bytes: a long string parameter. */
	text = text_fill(prefix, 'x', fill, suffix, &len);
	ck_assert_uint_eq(len, PROTO_VARLINK_MAX_MESSAGE);
	ck_assert_int_eq(call_parse(text, len, 0, &c, &err), 0);
	proto_call_done(&c);
	free(text);

	text = text_fill(prefix, 'x', fill + 1, suffix, &len);
	ck_assert_uint_eq(len, PROTO_VARLINK_MAX_MESSAGE + 1);
	ck_assert_int_eq(call_parse(text, len, 0, &c, &err), -E2BIG);
	ck_assert_ptr_nonnull(strstr(err.message, "larger than"));
	free(text);
}
END_TEST

START_TEST(test_call_build_refuses_what_a_peer_would)
{
	struct json_object *arr = json("[1]"), *bad = json_object_new_object(), *big;
	struct proto_message m = { .data = (char *)"sentinel", .len = 9 };
	size_t len;
	char *s;

	ck_assert_int_eq(proto_call_build("Create", NULL, 0, &m), -EINVAL);
	ck_assert_int_eq(proto_call_build("io.hvcap.Vm.create", NULL, 0, &m), -EINVAL);
	ck_assert_int_eq(proto_call_build(NULL, NULL, 0, &m), -EINVAL);
	ck_assert_int_eq(proto_call_build("a.b.C", arr, 0, &m), -EINVAL);
	ck_assert_int_eq(proto_call_build("a.b.C", NULL, 1u << 3, &m), -EINVAL);
	ck_assert_int_eq(proto_call_build("a.b.C", NULL, PROTO_CALL_ONEWAY | PROTO_CALL_MORE, &m), -EINVAL);

	/* json-c writes a string's bytes as they are: the builder checks them. */
	json_object_object_add(bad, "s", json_object_new_string("\xed\xa0\x80"));
	ck_assert_int_eq(proto_call_build("a.b.C", bad, 0, &m), -EINVAL);
	ck_assert_int_eq(proto_reply_build(bad, false, &m), -EINVAL);
	ck_assert_int_eq(proto_error_build("a.b.E", bad, &m), -EINVAL);

	/* Too large for any peer to take. */
	s = text_fill("", 'x', PROTO_VARLINK_MAX_MESSAGE, "", &len);
	big = json_object_new_object();
	json_object_object_add(big, "s", json_object_new_string(s));
	ck_assert_int_eq(proto_call_build("a.b.C", big, 0, &m), -E2BIG);
	ck_assert_int_eq(proto_reply_build(big, false, &m), -E2BIG);
	ck_assert_int_eq(proto_error_build("a.b.E", big, &m), -E2BIG);
	ck_assert_str_eq(m.data, "sentinel");
	free(s);
	json_object_put(big);
	json_object_put(bad);
	json_object_put(arr);
}
END_TEST

/* ---- replies ---------------------------------------------------------- */

static int reply_parse(const char *text, struct proto_reply *ret, struct proto_error *err)
{
	memset(err, 0, sizeof(*err));
	return proto_reply_parse(text, strlen(text), PROTO_VARLINK_MAX_DEPTH, ret, err);
}

START_TEST(test_reply_build_writes_exact_text)
{
	struct json_object *p = json("{\"vm\": 3}"), *empty = json_object_new_object();
	struct proto_message m;

	ck_assert_int_eq(proto_reply_build(NULL, false, &m), 0);
	expect_message(&m, "{}");
	proto_message_done(&m);
	ck_assert_int_eq(proto_reply_build(empty, false, &m), 0);
	expect_message(&m, "{}");
	proto_message_done(&m);
	ck_assert_int_eq(proto_reply_build(p, false, &m), 0);
	expect_message(&m, "{\"parameters\":{\"vm\":3}}");
	proto_message_done(&m);
	ck_assert_int_eq(proto_reply_build(p, true, &m), 0);
	expect_message(&m, "{\"parameters\":{\"vm\":3},\"continues\":true}");
	proto_message_done(&m);
	ck_assert_int_eq(proto_reply_build(NULL, true, &m), 0);
	expect_message(&m, "{\"continues\":true}");
	proto_message_done(&m);

	ck_assert_int_eq(proto_error_build("io.hvcap.Vm.NoSuchVm", p, &m), 0);
	expect_message(&m, "{\"error\":\"io.hvcap.Vm.NoSuchVm\",\"parameters\":{\"vm\":3}}");
	proto_message_done(&m);
	ck_assert_int_eq(proto_error_build("org.varlink.service.PermissionDenied", empty, &m), 0);
	expect_message(&m, "{\"error\":\"org.varlink.service.PermissionDenied\"}");
	proto_message_done(&m);
	ck_assert_int_eq(proto_error_build("NoSuchVm", NULL, &m), -EINVAL);
	ck_assert_int_eq(proto_error_build("io.hvcap.Vm.NoSuchVm", NULL, &m), 0);
	expect_message(&m, "{\"error\":\"io.hvcap.Vm.NoSuchVm\"}");
	proto_message_done(&m);
	json_object_put(p);
	json_object_put(empty);
}
END_TEST

START_TEST(test_reply_round_trips)
{
	struct json_object *p = json("{\"host\": {\"features\": [\"avx2\", \"sse4_1\"], \"api_version\": 12}}");
	struct proto_message m;
	struct proto_reply r;
	struct proto_error err;

	ck_assert_int_eq(proto_reply_build(p, true, &m), 0);
	ck_assert_int_eq(reply_parse(m.data, &r, &err), 0);
	ck_assert(r.continues);
	ck_assert_str_eq(r.error, "");
	ck_assert(json_object_equal(r.parameters, p));
	proto_reply_done(&r);
	ck_assert_ptr_null(r.parameters);
	proto_message_done(&m);

	ck_assert_int_eq(proto_error_build("io.hvcap.Vm.NoSuchVm", p, &m), 0);
	ck_assert_int_eq(reply_parse(m.data, &r, &err), 0);
	ck_assert(!r.continues);
	ck_assert_str_eq(r.error, "io.hvcap.Vm.NoSuchVm");
	ck_assert(json_object_equal(r.parameters, p));
	proto_reply_done(&r);
	proto_message_done(&m);

	/* Absent and null parameters read as {}; upgraded and extensions are accepted. */
	ck_assert_int_eq(reply_parse("{}", &r, &err), 0);
	ck_assert_int_eq(json_object_object_length(r.parameters), 0);
	proto_reply_done(&r);
	ck_assert_int_eq(reply_parse("{\"parameters\": null, \"upgraded\": false, \"io.x.y\": 1}", &r, &err), 0);
	ck_assert(json_object_is_type(r.parameters, json_type_object));
	proto_reply_done(&r);
	json_object_put(p);
}
END_TEST

START_TEST(test_reply_parse_rejects_malformations)
{
	static const struct {
		const char *text;
		const char *path;
	} cases[] = {
		{ "[]", "" },
		{ "\"x\"", "" },
		{ "", "" },
		{ "{\"parameters\": []}", "parameters" },
		{ "{\"parameters\": 1}", "parameters" },
		{ "{\"continues\": 1}", "continues" },
		{ "{\"continues\": \"true\"}", "continues" },
		{ "{\"upgraded\": null}", "upgraded" },
		{ "{\"error\": 1}", "error" },
		{ "{\"error\": null}", "error" },
		{ "{\"error\": \"\"}", "error" },
		{ "{\"error\": \"NoSuchVm\"}", "error" },
		{ "{\"error\": \"io.hvcap.Vm.noSuchVm\"}", "error" },
		{ "{\"error\": \"io.hvcap.Vm.NoSuchVm\", \"continues\": true}", "continues" },
		{ "{\"method\": \"a.b.C\"}", "method" },
		{ "{\"oneway\": true}", "oneway" },
		{ "{\"bogus\": 1}", "bogus" },
		{ "{\"parameters\": {\"a\": \"\xc0\xaf\"}}", "" },
		{ "{\"error\": \"a.b.E\", \"error\": \"a.b.F\"}", "error" },
	};

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		struct proto_reply r, sentinel;
		struct proto_error err;
		int ret;

		memset(&sentinel, 0x5a, sizeof(sentinel));
		r = sentinel;
		ret = reply_parse(cases[i].text, &r, &err);
		ck_assert_msg(ret == -EINVAL, "%s: returned %d", cases[i].text, ret);
		ck_assert_msg(memcmp(&r, &sentinel, sizeof(r)) == 0, "%s: *ret written", cases[i].text);
		ck_assert_msg(strcmp(err.path, cases[i].path) == 0, "%s: path \"%s\"", cases[i].text, err.path);
	}
}
END_TEST

/* ---- the framer ------------------------------------------------------- */

/* Messages of a stream: three calls, the last one empty-bodied. */
static const char framer_stream[] =
	"{\"method\":\"a.b.C\"}\0{\"method\":\"a.b.D\",\"parameters\":{\"x\":\"caf\xc3\xa9\"}}\0{}";
#define FRAMER_STREAM_LEN sizeof(framer_stream)	/* the last NUL is the third message's */

static const char *const framer_messages[] = {
	"{\"method\":\"a.b.C\"}",
	"{\"method\":\"a.b.D\",\"parameters\":{\"x\":\"caf\xc3\xa9\"}}",
	"{}",
};

/* Drain f, checking each message against framer_messages from *next on. */
static void framer_drain(struct proto_framer *f, size_t *next)
{
	const char *msg;
	size_t len;
	int r;

	while ((r = proto_framer_next(f, &msg, &len)) == 1) {
		ck_assert_uint_lt(*next, ARRAY_SIZE(framer_messages));
		ck_assert_uint_eq(len, strlen(framer_messages[*next]));
		ck_assert(memcmp(msg, framer_messages[*next], len) == 0);
		(*next)++;
	}
	ck_assert_int_eq(r, 0);
}

START_TEST(test_framer_splits_at_every_byte_boundary)
{
	/* Two pieces, split at every offset. */
	for (size_t cut = 0; cut <= FRAMER_STREAM_LEN; cut++) {
		struct proto_framer f;
		size_t next = 0;

		ck_assert_int_eq(proto_framer_init(&f, 0), 0);
		ck_assert_int_eq(proto_framer_feed(&f, framer_stream, cut), 0);
		framer_drain(&f, &next);
		ck_assert_int_eq(proto_framer_feed(&f, framer_stream + cut, FRAMER_STREAM_LEN - cut), 0);
		framer_drain(&f, &next);
		ck_assert_uint_eq(next, 3);
		ck_assert_uint_eq(proto_framer_pending(&f), 0);
		proto_framer_done(&f);
	}

	/* One byte at a time, draining after each, and every pending count on the way. */
	{
		struct proto_framer f;
		size_t next = 0, since_nul = 0;

		ck_assert_int_eq(proto_framer_init(&f, 0), 0);
		for (size_t i = 0; i < FRAMER_STREAM_LEN; i++) {
			ck_assert_int_eq(proto_framer_feed(&f, framer_stream + i, 1), 0);
			since_nul = framer_stream[i] ? since_nul + 1 : 0;
			ck_assert_uint_eq(proto_framer_pending(&f), since_nul);
			framer_drain(&f, &next);
		}
		ck_assert_uint_eq(next, 3);
		proto_framer_done(&f);
	}
}
END_TEST

START_TEST(test_framer_takes_several_messages_in_one_feed)
{
	struct proto_framer f;
	const char *msg;
	size_t next = 0, len;

	ck_assert_int_eq(proto_framer_init(&f, 0), 0);
	/* All three and the start of a fourth. */
	ck_assert_int_eq(proto_framer_feed(&f, framer_stream, FRAMER_STREAM_LEN), 0);
	ck_assert_int_eq(proto_framer_feed(&f, "{\"meth", 6), 0);
	ck_assert_uint_eq(proto_framer_pending(&f), 6);
	framer_drain(&f, &next);
	ck_assert_uint_eq(next, 3);
	ck_assert_int_eq(proto_framer_feed(&f, "od\":1}\0\0", 8), 0);
	ck_assert_uint_eq(proto_framer_pending(&f), 0);
	ck_assert_int_eq(proto_framer_next(&f, &msg, &len), 1);
	ck_assert_uint_eq(len, 12);
	ck_assert(memcmp(msg, "{\"method\":1}", 12) == 0);
	/* An empty message is a message: the parser refuses it, not the framer. */
	ck_assert_int_eq(proto_framer_next(&f, &msg, &len), 1);
	ck_assert_uint_eq(len, 0);
	ck_assert_int_eq(proto_framer_next(&f, &msg, &len), 0);
	ck_assert_int_eq(proto_framer_feed(&f, NULL, 0), 0);
	proto_framer_done(&f);
	proto_framer_done(&f);
}
END_TEST

START_TEST(test_framer_limits_message_size)
{
	enum { MAX = 16 };
	char exact[MAX + 1], over[MAX + 2];
	struct proto_framer f;
	const char *msg;
	size_t len;

	memset(exact, 'x', MAX);
	exact[MAX] = '\0';
	memset(over, 'y', MAX + 1);
	over[MAX + 1] = '\0';

	/* Exactly max bytes, in one feed and split. */
	ck_assert_int_eq(proto_framer_init(&f, MAX), 0);
	ck_assert_int_eq(proto_framer_feed(&f, exact, sizeof(exact)), 0);
	ck_assert_int_eq(proto_framer_next(&f, &msg, &len), 1);
	ck_assert_uint_eq(len, MAX);
	ck_assert_int_eq(proto_framer_feed(&f, exact, MAX), 0);
	ck_assert_uint_eq(proto_framer_pending(&f), MAX);
	ck_assert_int_eq(proto_framer_feed(&f, "", 1), 0);
	ck_assert_int_eq(proto_framer_next(&f, &msg, &len), 1);
	ck_assert_uint_eq(len, MAX);

	/* max + 1: refused as soon as it is known, the state unchanged. */
	ck_assert_int_eq(proto_framer_feed(&f, over, sizeof(over)), -E2BIG);
	ck_assert_int_eq(proto_framer_feed(&f, over, MAX + 1), -E2BIG);
	ck_assert_uint_eq(proto_framer_pending(&f), 0);
	ck_assert_int_eq(proto_framer_feed(&f, over, MAX), 0);
	ck_assert_int_eq(proto_framer_feed(&f, "y", 1), -E2BIG);
	ck_assert_uint_eq(proto_framer_pending(&f), MAX);
	proto_framer_done(&f);

	/* A long message after short ones in the same feed. */
	ck_assert_int_eq(proto_framer_init(&f, MAX), 0);
	{
		char buf[4 + MAX + 2];

		memcpy(buf, "ab\0\0", 4);
		memset(buf + 4, 'z', MAX + 1);
		buf[4 + MAX + 1] = '\0';
		ck_assert_int_eq(proto_framer_feed(&f, buf, sizeof(buf)), -E2BIG);
		ck_assert_int_eq(proto_framer_next(&f, &msg, &len), 0);
	}
	proto_framer_done(&f);

	ck_assert_int_eq(proto_framer_init(&f, PROTO_VARLINK_MAX_MESSAGE + 1), -EINVAL);
	ck_assert_int_eq(proto_framer_init(&f, 0), 0);
	ck_assert_uint_eq(f.max, PROTO_VARLINK_MAX_MESSAGE);
	proto_framer_done(&f);
}
END_TEST

START_TEST(test_framer_takes_a_message_of_the_hard_limit)
{
	size_t len;
	char *big = text_fill("", 'x', PROTO_VARLINK_MAX_MESSAGE, "", &len);
	struct proto_framer f;
	const char *msg;
	size_t n;

	ck_assert_int_eq(proto_framer_init(&f, 0), 0);
	/* In 64 KiB reads, as the client and the daemon feed it, then its NUL. */
	for (size_t at = 0; at < len; at += 65536)
		ck_assert_int_eq(proto_framer_feed(&f, big + at, len - at < 65536 ? len - at : 65536), 0);
	ck_assert_uint_eq(proto_framer_pending(&f), PROTO_VARLINK_MAX_MESSAGE);
	ck_assert_int_eq(proto_framer_feed(&f, "x", 1), -E2BIG);
	ck_assert_int_eq(proto_framer_feed(&f, "\0{}\0", 4), 0);
	ck_assert_int_eq(proto_framer_next(&f, &msg, &n), 1);
	ck_assert_uint_eq(n, PROTO_VARLINK_MAX_MESSAGE);
	ck_assert_int_eq(proto_framer_next(&f, &msg, &n), 1);
	ck_assert_uint_eq(n, 2);
	/* Drained, the buffer gives back what the large message took. */
	ck_assert_int_eq(proto_framer_feed(&f, "{}", 2), 0);
	ck_assert_uint_le(f.cap, 64 * 1024);
	ck_assert_uint_eq(proto_framer_pending(&f), 2);
	proto_framer_done(&f);
	free(big);
}
END_TEST

/* ---- interface descriptions ------------------------------------------- */

static const char *const builtin_names[] = {
	"io.hvcap", "io.hvcap.Host", "io.hvcap.Policy", "io.hvcap.Vm", "org.varlink.service",
};

static char *read_text(const char *path)
{
	FILE *f = fopen(path, "r");
	char *buf;
	long n;

	ck_assert_msg(f != NULL, "%s", path);
	ck_assert_int_eq(fseek(f, 0, SEEK_END), 0);
	n = ftell(f);
	ck_assert_int_ge(n, 0);
	rewind(f);
	buf = malloc((size_t)n + 1);
	ck_assert_ptr_nonnull(buf);
	ck_assert_uint_eq(fread(buf, 1, (size_t)n, f), (size_t)n);
	buf[n] = '\0';
	fclose(f);
	return buf;
}

START_TEST(test_idl_builtin_parses_every_embedded_file)
{
	struct proto_error err = { { 0 } };
	int r = proto_idl_builtin_load(&err);

	/* A syntax error in proto/varlink/ fails here, naming the file and line. */
	ck_assert_msg(r == 0, "embedded interface: %s", err.message);
	ck_assert_uint_eq(proto_idl_builtin_count(), ARRAY_SIZE(builtin_names));
	for (size_t i = 0; i < ARRAY_SIZE(builtin_names); i++) {
		const struct proto_idl *idl = proto_idl_builtin(i);
		char rel[128], *text;

		ck_assert_ptr_nonnull(idl);
		ck_assert_str_eq(proto_idl_name(idl), builtin_names[i]);
		ck_assert_ptr_eq(proto_idl_builtin_find(builtin_names[i]), idl);
		/* The text is the file's, comments and all (GetInterfaceDescription). */
		snprintf(rel, sizeof(rel), "proto/varlink/%s.varlink", builtin_names[i]);
		text = read_text(test_srcpath(rel));
		ck_assert_str_eq(proto_idl_text(idl), text);
		free(text);
	}
	ck_assert_ptr_null(proto_idl_builtin(ARRAY_SIZE(builtin_names)));
	ck_assert_ptr_null(proto_idl_builtin_find("io.hvcap.Nope"));
	ck_assert_ptr_null(proto_idl_builtin_find(NULL));
}
END_TEST

START_TEST(test_idl_builtin_lists_methods_and_errors)
{
	static const char *const vm_methods[] = {
		"Create", "List", "Get", "Delete", "AddVcpu", "SetCpuid", "SetApicBase", "WriteCr3", "Init", "Run",
		"NestedRun", "NestedExit", "Watch",
	};
	const struct proto_idl *vm = proto_idl_builtin_find("io.hvcap.Vm");
	const struct proto_idl *host = proto_idl_builtin_find("io.hvcap.Host");
	const struct proto_idl *policy = proto_idl_builtin_find("io.hvcap.Policy");
	const struct proto_idl *hvcap = proto_idl_builtin_find("io.hvcap");
	const struct proto_idl *service = proto_idl_builtin_find("org.varlink.service");

	ck_assert_uint_eq(proto_idl_method_count(vm), ARRAY_SIZE(vm_methods));
	for (size_t i = 0; i < ARRAY_SIZE(vm_methods); i++) {
		ck_assert_str_eq(proto_idl_method_name(vm, i), vm_methods[i]);
		ck_assert(proto_idl_has_method(vm, vm_methods[i]));
	}
	ck_assert_ptr_null(proto_idl_method_name(vm, ARRAY_SIZE(vm_methods)));
	ck_assert(proto_idl_has_method(vm, "io.hvcap.Vm.Create"));
	ck_assert(!proto_idl_has_method(vm, "io.hvcap.Host.Create"));
	ck_assert(!proto_idl_has_method(vm, "NoSuchVm"));
	ck_assert(!proto_idl_has_method(vm, "Vcpu"));
	ck_assert(proto_idl_has_error(vm, "NoSuchVm"));
	ck_assert(proto_idl_has_error(vm, "io.hvcap.Vm.CpuidFrozen"));
	ck_assert(!proto_idl_has_error(vm, "Create"));

	ck_assert_uint_eq(proto_idl_method_count(host), 3);
	ck_assert(proto_idl_has_error(host, "ReloadFailed"));
	ck_assert_uint_eq(proto_idl_method_count(policy), 3);
	ck_assert(proto_idl_has_method(policy, "Baseline"));
	ck_assert(proto_idl_has_error(policy, "MixedVendors"));
	ck_assert_uint_eq(proto_idl_method_count(hvcap), 0);
	ck_assert(proto_idl_has_error(hvcap, "PermissionDenied"));
	ck_assert(proto_idl_has_error(hvcap, "LimitExceeded"));
	ck_assert_uint_eq(proto_idl_method_count(service), 2);
	ck_assert_str_eq(proto_idl_method_name(service, 0), "GetInfo");
	ck_assert_str_eq(proto_idl_method_name(service, 1), "GetInterfaceDescription");
	ck_assert(proto_idl_has_error(service, "InvalidParameter"));
	ck_assert(proto_idl_has_error(service, "ExpectedMore"));
	ck_assert(proto_idl_has_error(policy, "InvalidDump"));
}
END_TEST

/* Every construct of the grammar, comments in every place whitespace may be. */
static const char every_construct[] =
	"# The interface's documentation.\n"
	"interface org.example.every-thing # a comment after the name\n"
	"\n"
	"# An enum type.\n"
	"type Color (red, green, blue_ish)\n"
	"\n"
	"type Inner(x: int, y: ?float)\n"
	"\n"
	"# A struct type using every kind.\n"
	"type All (\n"
	"  b: bool, # trailing comment\n"
	"  i: int,\n"
	"  f: float,\n"
	"  s: string,\n"
	"  o: object,\n"
	"  color: Color,\n"
	"  inner: Inner,\n"
	"  inline_struct: (a: string, nested: (deep: bool)),\n"
	"  inline_enum: (one, two),\n"
	"  list: []int,\n"
	"  matrix: [][]Inner,\n"
	"  map: [string]Inner,\n"
	"  set: [string](),\n"
	"  maybe: ?string,\n"
	"  maybe_list: ?[]string,\n"
	"  list_of_maybe: []?int,\n"
	"  map_of_maybe: [string]?Color,\n"
	"  self: ?All\n"
	")\n"
	"\n"
	"method Nothing() -> ()\n"
	"method Take(all: All, extra: ?Inner) -> (ok: bool)\n"
	"method\tSpaced  (  a  :  int  ,  b : [ ]int  )  ->  (  )\n"
	"method Multi(\n"
	"  # a comment inside\n"
	"  a: int\n"
	") -> (\n"
	"  b: int\n"
	")\n"
	"error Failed (reason: string, code: ?int)\n"
	"error Bare ()\n";

START_TEST(test_idl_parse_reads_every_construct)
{
	struct proto_error err = { { 0 } };
	struct proto_idl *idl = NULL;
	char *spaced = strdup(every_construct);
	int r;

	/* "[ ]" is not "[]": take the variant without it for the positive parse. */
	ck_assert_ptr_nonnull(spaced);
	{
		char *p = strstr(spaced, "[ ]int");

		ck_assert_ptr_nonnull(p);
		memcpy(p, "[]int ", 6);
	}
	r = proto_idl_parse(spaced, &idl, &err);
	ck_assert_msg(r == 0, "%s", err.message);
	ck_assert_str_eq(proto_idl_name(idl), "org.example.every-thing");
	ck_assert_str_eq(proto_idl_text(idl), spaced);
	ck_assert_uint_eq(proto_idl_method_count(idl), 4);
	ck_assert_str_eq(proto_idl_method_name(idl, 2), "Spaced");
	ck_assert(proto_idl_has_error(idl, "Failed"));
	ck_assert(proto_idl_has_error(idl, "Bare"));
	ck_assert(!proto_idl_has_method(idl, "All"));
	proto_idl_free(idl);
	proto_idl_free(NULL);

	/* Blanks inside "[]" are an error, at its line. */
	r = proto_idl_parse(every_construct, &idl, &err);
	ck_assert_int_eq(r, -EINVAL);
	ck_assert_msg(strstr(err.message, "line 33,"), "%s", err.message);
	free(spaced);
}
END_TEST

static const struct {
	const char *text;
	const char *where;	/* "line N" in the message */
	const char *what;	/* a part of the message */
} idl_syntax_errors[] = {
	{ "", "line 1", "interface" },
	{ "# only a comment\n", "line 2", "interface" },
	{ "type A (a: int)\n", "line 1", "interface" },
	{ "interface Foo\nerror E ()\n", "line 1", "interface name" },
	{ "interface foo\nerror E ()\n", "line 1", "interface name" },
	{ "interface org.example\n", "line 2", "at least one" },
	{ "interface org.example\n\nfoo Bar ()\n", "line 3", "\"type\", \"method\" or \"error\"" },
	{ "interface org.example\ntype lower (a: int)\n", "line 2", "name" },
	{ "interface org.example\ntype A (a: integer)\n", "line 2", "expected a type" },
	{ "interface org.example\ntype A (a int)\n", "line 2", "',' or ')'" },
	{ "interface org.example\nmethod M(a int) -> ()\n", "line 2", "':'" },
	{ "interface org.example\ntype A (a: int,)\n", "line 2", "field name" },
	{ "interface org.example\ntype A (a: int b: int)\n", "line 2", "',' or ')'" },
	{ "interface org.example\ntype A (a: int\n", "line 3", "',' or ')'" },
	{ "interface org.example\ntype A (\n  a: int,\n  a: string\n)\n", "line 4", "duplicate field" },
	{ "interface org.example\ntype A (x, y, x)\n", "line 2", "duplicate enum" },
	{ "interface org.example\ntype A (x, y: int)\n", "line 2", "',' or ')'" },
	{ "interface org.example\ntype A (a: int)\nerror A ()\n", "line 3", "exists" },
	{ "interface org.example\nmethod M() -> ()\n\nmethod M() -> ()\n", "line 4", "exists" },
	{ "interface org.example\nmethod M()\n", "line 3", "->" },
	{ "interface org.example\nmethod M() (a: int)\n", "line 2", "->" },
	{ "interface org.example\nmethod M(a, b) -> ()\n", "line 2", "enum is not allowed" },
	{ "interface org.example\nerror E (a, b)\n", "line 2", "enum is not allowed" },
	{ "interface org.example\nmethod M() -> (a: ??int)\n", "line 2", "nullable" },
	{ "interface org.example\nmethod M() -> (a: ?)\n", "line 2", "expected a type" },
	{ "interface org.example\nmethod M() -> (a: [int]int)\n", "line 2", "[string]" },
	{ "interface org.example\nmethod M() -> (a: [] int)\n", "line 2", "element type" },
	{ "interface org.example\nmethod M() -> (a_: int)\n", "line 2", "field name" },
	{ "interface org.example\nmethod M() -> (a__b: int)\n", "line 2", "field name" },
	{ "interface org.example\nmethod M() -> (_a: int)\n", "line 2", "field name" },
	{ "interface org.example\nmethod M() -> (a: Missing)\n", "line 2", "Missing is not a type" },
	{ "interface org.example\nmethod N() -> ()\n\n\nmethod M() -> (a: N)\n", "line 5", "N is not a type" },
	{ "interface org.example\ntype A (a: Bad_name)\n", "line 2", "type name" },
	{ "interface org.example\n# caf\xc3\n", "", "UTF-8" },
	{ "interface org.example\nerror E () !\n", "line 2", "\"type\", \"method\" or \"error\"" },
	{ "interface org.example\nerror E\n", "line 3", "'('" },
};

START_TEST(test_idl_parse_reports_syntax_errors_with_lines)
{
	for (size_t i = 0; i < ARRAY_SIZE(idl_syntax_errors); i++) {
		struct proto_idl *idl = (struct proto_idl *)&idl_syntax_errors[i];
		struct proto_error err = { { 0 } };
		int r = proto_idl_parse(idl_syntax_errors[i].text, &idl, &err);

		ck_assert_msg(r == -EINVAL, "case %zu: returned %d", i, r);
		ck_assert_msg(idl == (struct proto_idl *)&idl_syntax_errors[i], "case %zu: *ret written", i);
		ck_assert_msg(strstr(err.message, idl_syntax_errors[i].where), "case %zu: \"%s\" lacks \"%s\"",
			      i, err.message, idl_syntax_errors[i].where);
		ck_assert_msg(strstr(err.message, idl_syntax_errors[i].what), "case %zu: \"%s\" lacks \"%s\"",
			      i, err.message, idl_syntax_errors[i].what);
	}
}
END_TEST

START_TEST(test_idl_parse_limits_nesting)
{
	char text[2048];
	size_t n;
	struct proto_idl *idl;
	struct proto_error err = { { 0 } };

	for (int depth = 31; depth <= 33; depth++) {
		n = (size_t)snprintf(text, sizeof(text), "interface org.example\ntype A (");
		for (int i = 1; i < depth; i++)
			n += (size_t)snprintf(text + n, sizeof(text) - n, "a: (");
		n += (size_t)snprintf(text + n, sizeof(text) - n, "a: int");
		for (int i = 0; i < depth; i++)
			n += (size_t)snprintf(text + n, sizeof(text) - n, ")");
		snprintf(text + n, sizeof(text) - n, "\n");
		if (depth <= 32) {
			ck_assert_msg(proto_idl_parse(text, &idl, &err) == 0, "%d: %s", depth, err.message);
			proto_idl_free(idl);
		} else {
			ck_assert_int_eq(proto_idl_parse(text, &idl, &err), -EINVAL);
			ck_assert_ptr_nonnull(strstr(err.message, "nested too deeply"));
		}
	}
	/* Arrays count as well. */
	n = (size_t)snprintf(text, sizeof(text), "interface org.example\ntype A (a: ");
	for (int i = 0; i < 40; i++)
		n += (size_t)snprintf(text + n, sizeof(text) - n, "[]");
	snprintf(text + n, sizeof(text) - n, "int)\n");
	ck_assert_int_eq(proto_idl_parse(text, &idl, &err), -EINVAL);
}
END_TEST

/* The every_construct interface, parsed, for the checker's tests. */
static struct proto_idl *every_idl(void)
{
	struct proto_error err = { { 0 } };
	struct proto_idl *idl;
	char *text = strdup(every_construct), *p;

	ck_assert_ptr_nonnull(text);
	p = strstr(text, "[ ]int");
	memcpy(p, "[]int ", 6);
	ck_assert_msg(proto_idl_parse(text, &idl, &err) == 0, "%s", err.message);
	free(text);
	return idl;
}

/* A valid All as JSON text; %s is spliced in before the closing brace. */
#define ALL_OK \
	"{\"b\": true, \"i\": -5, \"f\": 1.5, \"s\": \"x\", \"o\": {\"any\": [1]}, \"color\": \"green\"," \
	" \"inner\": {\"x\": 1}, \"inline_struct\": {\"a\": \"\", \"nested\": {\"deep\": false}}," \
	" \"inline_enum\": \"two\", \"list\": [1, 2, 3], \"matrix\": [[{\"x\": 1, \"y\": 2}], []]," \
	" \"map\": {\"k\": {\"x\": 2, \"y\": null}}, \"set\": {\"a\": {}, \"b\": {}}," \
	" \"list_of_maybe\": [1, null], \"map_of_maybe\": {\"a\": \"red\", \"b\": null}%s}"

static int check_take(struct proto_idl *idl, const char *all_extra, const char *outer_extra,
		      struct proto_error *err)
{
	char text[4096];
	struct json_object *p;
	int r;

	snprintf(text, sizeof(text), "{\"all\": " ALL_OK "%s}", all_extra, outer_extra);
	p = json(text);
	memset(err, 0, sizeof(*err));
	r = proto_idl_check_input(idl, "Take", p, err);
	json_object_put(p);
	return r;
}

START_TEST(test_idl_check_accepts_every_kind)
{
	static const char *const extras[] = {
		"",
		", \"maybe\": null, \"maybe_list\": null, \"self\": null",
		", \"maybe\": \"x\", \"maybe_list\": [\"a\"]",
		", \"self\": {\"b\": false, \"i\": 0, \"f\": 0, \"s\": \"\", \"o\": {}, \"color\": \"red\","
		" \"inner\": {\"x\": 0}, \"inline_struct\": {\"a\": \"\", \"nested\": {\"deep\": true}},"
		" \"inline_enum\": \"one\", \"list\": [], \"matrix\": [], \"map\": {}, \"set\": {},"
		" \"list_of_maybe\": [], \"map_of_maybe\": {}}",
	};
	struct proto_idl *idl = every_idl();
	struct proto_error err;

	for (size_t i = 0; i < ARRAY_SIZE(extras); i++) {
		int r = check_take(idl, extras[i], "", &err);

		ck_assert_msg(r == 0, "extra %zu: %s: %s", i, err.path, err.message);
	}
	/* The numbers, one at a time, in place of the defaults. */
	{
		static const struct {
			const char *key, *value;
		} numbers[] = {
			{ "\"f\": 1.5", "\"f\": 2" },
			{ "\"f\": 1.5", "\"f\": -1e300" },
			{ "\"i\": -5", "\"i\": 9223372036854775807" },
			{ "\"i\": -5", "\"i\": -9223372036854775808" },
		};

		for (size_t i = 0; i < ARRAY_SIZE(numbers); i++) {
			char text[4096], *at;
			struct json_object *p;
			size_t klen = strlen(numbers[i].key);

			snprintf(text, sizeof(text), "{\"all\": " ALL_OK "}", "");
			at = strstr(text, numbers[i].key);
			ck_assert_ptr_nonnull(at);
			memmove(at + strlen(numbers[i].value), at + klen, strlen(at + klen) + 1);
			memcpy(at, numbers[i].value, strlen(numbers[i].value));
			p = json(text);
			ck_assert_msg(proto_idl_check_input(idl, "Take", p, &err) == 0, "%s: %s: %s",
				      numbers[i].value, err.path, err.message);
			json_object_put(p);
		}
	}
	/* Nullable parameters may be null at the top level too. */
	ck_assert_int_eq(check_take(idl, "", ", \"extra\": null", &err), 0);
	ck_assert_int_eq(check_take(idl, "", ", \"extra\": {\"x\": 3}", &err), 0);
	proto_idl_free(idl);
}
END_TEST

/* Replace the first key: value of ALL_OK (by key text) with a new value, and check. */
static int check_take_replacing(struct proto_idl *idl, const char *old, const char *new,
				struct proto_error *err)
{
	char text[4096], *at;
	struct json_object *p;
	int r;

	snprintf(text, sizeof(text), "{\"all\": " ALL_OK "}", "");
	at = strstr(text, old);
	ck_assert_msg(at != NULL, "%s", old);
	memmove(at + strlen(new), at + strlen(old), strlen(at + strlen(old)) + 1);
	memcpy(at, new, strlen(new));
	p = json(text);
	memset(err, 0, sizeof(*err));
	r = proto_idl_check_input(idl, "Take", p, err);
	json_object_put(p);
	return r;
}

START_TEST(test_idl_check_refuses_each_kind_with_its_path)
{
	static const struct {
		const char *old, *new, *path, *message;
	} cases[] = {
		{ "\"b\": true", "\"b\": 1", "all.b", "expected true or false, got an integer" },
		{ "\"b\": true", "\"b\": null", "all.b", "got null" },
		{ "\"i\": -5", "\"i\": 1.0", "all.i", "expected an integer" },
		{ "\"i\": -5", "\"i\": \"1\"", "all.i", "expected an integer, got a string" },
		{ "\"i\": -5", "\"i\": 9223372036854775808", "all.i", "64-bit" },
		{ "\"i\": -5", "\"i\": true", "all.i", "expected an integer" },
		{ "\"f\": 1.5", "\"f\": \"1.5\"", "all.f", "expected a number" },
		{ "\"f\": 1.5", "\"f\": []", "all.f", "expected a number" },
		{ "\"s\": \"x\"", "\"s\": 1", "all.s", "expected a string" },
		{ "\"s\": \"x\"", "\"s\": \"a\\u0000b\"", "all.s", "NUL" },
		{ "\"o\": {\"any\": [1]}", "\"o\": [1]", "all.o", "expected an object, got an array" },
		{ "\"o\": {\"any\": [1]}", "\"o\": \"{}\"", "all.o", "expected an object" },
		{ "\"color\": \"green\"", "\"color\": \"purple\"", "all.color",
		  "expected one of \"red\", \"green\", \"blue_ish\", got \"purple\"" },
		{ "\"color\": \"green\"", "\"color\": \"Green\"", "all.color", "expected one of" },
		{ "\"color\": \"green\"", "\"color\": 1", "all.color", "expected a string" },
		{ "\"inner\": {\"x\": 1}", "\"inner\": {}", "all.inner.x", "missing required field" },
		{ "\"inner\": {\"x\": 1}", "\"inner\": {\"x\": 1, \"z\": 2}", "all.inner.z", "unknown field" },
		{ "\"inner\": {\"x\": 1}", "\"inner\": {\"x\": 1, \"y\": \"2\"}", "all.inner.y", "expected a number" },
		{ "\"inner\": {\"x\": 1}", "\"inner\": [1]", "all.inner", "expected an object" },
		{ "\"nested\": {\"deep\": false}", "\"nested\": {\"deep\": 0}", "all.inline_struct.nested.deep",
		  "expected true or false" },
		{ "\"inline_enum\": \"two\"", "\"inline_enum\": \"three\"", "all.inline_enum", "\"one\", \"two\"" },
		{ "\"list\": [1, 2, 3]", "\"list\": [1, 2, \"3\"]", "all.list[2]", "expected an integer" },
		{ "\"list\": [1, 2, 3]", "\"list\": [1, null]", "all.list[1]", "got null" },
		{ "\"list\": [1, 2, 3]", "\"list\": {}", "all.list", "expected an array, got an object" },
		{ "\"matrix\": [[{\"x\": 1, \"y\": 2}], []]", "\"matrix\": [[], [{\"x\": 1}, {\"x\": true}]]",
		  "all.matrix[1][1].x", "expected an integer" },
		{ "\"map\": {\"k\": {\"x\": 2, \"y\": null}}", "\"map\": {\"k\": {\"x\": 2}, \"avx2\": 1}",
		  "all.map.avx2", "expected an object, got an integer" },
		{ "\"map\": {\"k\": {\"x\": 2, \"y\": null}}", "\"map\": [1]", "all.map", "expected an object" },
		{ "\"set\": {\"a\": {}, \"b\": {}}", "\"set\": {\"a\": {}, \"b\": true}", "all.set.b", "expected an object" },
		{ "\"set\": {\"a\": {}, \"b\": {}}", "\"set\": {\"a\": {\"x\": 1}}", "all.set.a.x", "unknown field" },
		{ "\"set\": {\"a\": {}, \"b\": {}}", "\"set\": [\"a\"]", "all.set", "expected an object" },
		{ "\"b\": true", "\"b\": true, \"maybe\": 1", "all.maybe", "expected a string" },
		{ "\"b\": true", "\"b\": true, \"maybe_list\": [1]", "all.maybe_list[0]", "expected a string" },
		{ "\"list_of_maybe\": [1, null]", "\"list_of_maybe\": [null, \"x\"]", "all.list_of_maybe[1]",
		  "expected an integer" },
		{ "\"map_of_maybe\": {\"a\": \"red\", \"b\": null}", "\"map_of_maybe\": {\"a\": \"pink\"}",
		  "all.map_of_maybe.a", "expected one of" },
		{ "\"list_of_maybe\": [1, null], ", "", "all.list_of_maybe", "missing required field" },
		{ "\"b\": true", "\"b\": true, \"self\": {\"b\": true}", "all.self.i", "missing required field" },
		{ "\"b\": true", "\"b\": true, \"bogus\": 1", "all.bogus", "unknown field" },
		{ "\"b\": true, ", "", "all.b", "missing required field" },
	};
	struct proto_idl *idl = every_idl();
	struct proto_error err;
	struct json_object *p;

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		int r = check_take_replacing(idl, cases[i].old, cases[i].new, &err);

		ck_assert_msg(r == -EINVAL, "%s: returned %d", cases[i].new, r);
		ck_assert_msg(strcmp(err.path, cases[i].path) == 0, "%s: path \"%s\", expected \"%s\"",
			      cases[i].new, err.path, cases[i].path);
		ck_assert_msg(strstr(err.message, cases[i].message), "%s: message \"%s\"", cases[i].new,
			      err.message);
	}

	/* The parameters themselves. */
	ck_assert_int_eq(check_take(idl, "", ", \"unknown\": 1", &err), -EINVAL);
	ck_assert_str_eq(err.path, "unknown");
	ck_assert_int_eq(proto_idl_check_input(idl, "Take", NULL, &err), -EINVAL);
	ck_assert_str_eq(err.path, "all");
	ck_assert_str_eq(err.message, "missing required field");
	p = json("[]");
	ck_assert_int_eq(proto_idl_check_input(idl, "Take", p, &err), -EINVAL);
	ck_assert_str_eq(err.path, "");
	json_object_put(p);
	p = json("{\"all\": null}");
	ck_assert_int_eq(proto_idl_check_input(idl, "Take", p, &err), -EINVAL);
	ck_assert_str_eq(err.path, "all");
	json_object_put(p);

	/* Empty structs, unknown members, outputs and errors. */
	ck_assert_int_eq(proto_idl_check_input(idl, "Nothing", NULL, &err), 0);
	p = json("{\"a\": 1}");
	ck_assert_int_eq(proto_idl_check_input(idl, "Nothing", p, &err), -EINVAL);
	ck_assert_str_eq(err.path, "a");
	ck_assert_int_eq(proto_idl_check_input(idl, "Missing", p, &err), -ENOENT);
	ck_assert_int_eq(proto_idl_check_input(idl, "Failed", p, &err), -ENOENT);
	ck_assert_int_eq(proto_idl_check_input(idl, "org.example.every-thing.Multi", p, &err), 0);
	ck_assert_int_eq(proto_idl_check_input(idl, "org.example.other.Multi", p, &err), -ENOENT);
	/* Multi's output has b, not a: the unknown field is named first. */
	ck_assert_int_eq(proto_idl_check_output(idl, "Multi", p, &err), -EINVAL);
	ck_assert_str_eq(err.path, "a");
	ck_assert_int_eq(proto_idl_check_output(idl, "Multi", NULL, &err), -EINVAL);
	ck_assert_str_eq(err.path, "b");
	ck_assert_int_eq(proto_idl_check_error(idl, "Bare", p, &err), -EINVAL);
	ck_assert_int_eq(proto_idl_check_error(idl, "Take", p, &err), -ENOENT);
	json_object_put(p);
	p = json("{\"reason\": \"x\", \"code\": null}");
	ck_assert_int_eq(proto_idl_check_error(idl, "Failed", p, &err), 0);
	ck_assert_int_eq(proto_idl_check_error(idl, "org.example.every-thing.Failed", p, &err), 0);
	json_object_put(p);
	proto_idl_free(idl);
}
END_TEST

START_TEST(test_idl_check_names_paths_in_the_real_interfaces)
{
	const struct proto_idl *vm = proto_idl_builtin_find("io.hvcap.Vm");
	const struct proto_idl *policy = proto_idl_builtin_find("io.hvcap.Policy");
	const struct proto_idl *service = proto_idl_builtin_find("org.varlink.service");
	struct proto_error err = { { 0 } };
	struct json_object *p;

	p = json("{\"policy\": {\"features\": {\"avx2\": 1}}}");
	ck_assert_int_eq(proto_idl_check_input(policy, "Validate", p, &err), -EINVAL);
	ck_assert_str_eq(err.path, "policy.features.avx2");
	json_object_put(p);
	p = json("{\"policy\": {\"vcpus\": 8.0}}");
	ck_assert_int_eq(proto_idl_check_input(policy, "io.hvcap.Policy.Validate", p, &err), -EINVAL);
	ck_assert_str_eq(err.path, "policy.vcpus");
	json_object_put(p);
	p = json("{\"policy\": {\"name\": null, \"vcpus\": 8}, \"names\": \"qemu\"}");
	ck_assert_int_eq(proto_idl_check_input(policy, "Validate", p, &err), 0);
	json_object_put(p);

	p = json("{\"vm\": 1, \"vcpu\": 0, \"entries\": ["
		 "{\"function\": 0, \"index\": 0, \"flags\": 0, \"eax\": 1, \"ebx\": 2, \"ecx\": 3, \"edx\": 4},"
		 "{\"function\": 1, \"index\": 0, \"flags\": 0, \"eax\": 1, \"ebx\": 2, \"ecx\": 3, \"edx\": 4},"
		 "{\"function\": 7, \"index\": 0, \"flags\": 1, \"eax\": 1, \"ebx\": 2, \"ecx\": 3, \"edx\": 4},"
		 "{\"function\": 7, \"index\": 1, \"flags\": 1, \"eax\": \"1\", \"ebx\": 2, \"ecx\": 3, \"edx\": 4}]}");
	ck_assert_int_eq(proto_idl_check_input(vm, "SetCpuid", p, &err), -EINVAL);
	ck_assert_str_eq(err.path, "entries[3].eax");
	json_object_put(p);

	p = json("{\"name\": \"web\", \"policy\": {\"anything\": [1]}}");
	ck_assert_int_eq(proto_idl_check_input(vm, "Create", p, &err), 0);
	json_object_put(p);
	p = json("{\"name\": \"web\", \"policy\": []}");
	ck_assert_int_eq(proto_idl_check_input(vm, "Create", p, &err), -EINVAL);
	ck_assert_str_eq(err.path, "policy");
	json_object_put(p);

	p = json("{\"interface\": \"io.hvcap.Vm\"}");
	ck_assert_int_eq(proto_idl_check_input(service, "GetInterfaceDescription", p, &err), 0);
	ck_assert_int_eq(proto_idl_check_error(service, "InterfaceNotFound", p, &err), 0);
	json_object_put(p);
	ck_assert_int_eq(proto_idl_check_error(service, "PermissionDenied", NULL, &err), 0);
	p = json("{\"problems\": [{\"feature\": \"lam\"}, {}]}");
	ck_assert_int_eq(proto_idl_check_error(vm, "PolicyRejected", p, &err), 0);
	json_object_put(p);
	p = json("{\"problems\": [{}, 1]}");
	ck_assert_int_eq(proto_idl_check_error(vm, "PolicyRejected", p, &err), -EINVAL);
	ck_assert_str_eq(err.path, "problems[1]");
	json_object_put(p);
}
END_TEST

/* ---- io.hvcap.Host and io.hvcap.Policy JSON against the IDL ------------ */

/* A record with every field in use. */
static struct caps_host_record *full_record(void)
{
	static const struct caps_cpuid_entry entries[] = {
		{ .function = 0, .eax = 0x20, .ebx = 0x68747541, .ecx = 0x444d4163, .edx = 0x69746e65 },
		{ .function = 7, .index = 0, .flags = 1, .ebx = 0xffffffff },
	};
	struct caps_host_record *r = malloc(sizeof(*r));

	ck_assert_ptr_nonnull(r);
	caps_host_record_init(r, CAPS_BACKEND_KVM);
	snprintf(r->kernel_release, sizeof(r->kernel_release), "6.12.0-test");
	snprintf(r->vendor_module, sizeof(r->vendor_module), "kvm_amd");
	r->api_version = 12;
	r->has_microcode = true;
	r->microcode = 0xa101148;
	for (size_t i = 0; i < ARRAY_SIZE(entries); i++) {
		ck_assert_int_eq(caps_cpuid_add(&r->supported, &entries[i]), 0);
		ck_assert_int_eq(caps_cpuid_add(&r->emulated, &entries[i]), 0);
	}
	ck_assert_int_eq(caps_msrs_add(&r->msrs, 0x10a, 0x8000000000000001ull), 0);
	ck_assert_int_eq(caps_host_record_add_param(r, "kvm_amd", "nested", "1"), 0);
	ck_assert_int_eq(caps_host_record_add_param(r, "kvm", "enable_pmu", "Y"), 0);
	r->kvm_caps[r->n_kvm_caps++] = (struct caps_kvm_cap) { .cap = 176, .name = "KVM_CAP_XSAVE2", .value = 4096 };
	r->kvm_caps[r->n_kvm_caps++] = (struct caps_kvm_cap) { .cap = 1, .name = NULL, .value = -1 };
	caps_host_record_finish(r);
	return r;
}

static void check_describe(struct json_object *host_json)
{
	const struct proto_idl *host = proto_idl_builtin_find("io.hvcap.Host");
	struct json_object *reply = json_object_new_object();
	struct proto_error err = { { 0 } };
	struct proto_message m;
	struct proto_reply back;

	ck_assert_ptr_nonnull(host_json);
	json_object_object_add(reply, "host", host_json);
	ck_assert_msg(proto_idl_check_output(host, "Describe", reply, &err) == 0, "%s: %s", err.path, err.message);
	/* And it travels: built, parsed back, checked again. */
	ck_assert_int_eq(proto_reply_build(reply, false, &m), 0);
	ck_assert_int_eq(proto_reply_parse(m.data, m.len - 1, 0, &back, &err), 0);
	ck_assert_int_eq(proto_idl_check_output(host, "Describe", back.parameters, &err), 0);
	proto_reply_done(&back);
	proto_message_done(&m);
	json_object_put(reply);
}

START_TEST(test_host_record_to_json_matches_host_record_type)
{
	struct proto_host_derived d = { .level = 3, .avic = true, .x2avic = false };
	struct caps_host_record *r = full_record();
	struct json_object *o = proto_host_record_to_json(r, &d, CAPS_NAMES_LINUX), *v;

	ck_assert_ptr_nonnull(o);
	ck_assert_str_eq(json_object_get_string(json_object_object_get(o, "backend")), "kvm");
	ck_assert_int_eq(json_object_get_int(json_object_object_get(o, "level")), 3);
	ck_assert(json_object_get_boolean(json_object_object_get(o, "avic")));
	ck_assert(!json_object_get_boolean(json_object_object_get(o, "x2avic")));
	ck_assert_str_eq(json_object_get_string(json_object_object_get(o, "microcode")), "0xa101148");
	v = json_object_array_get_idx(json_object_object_get(o, "msrs"), 0);
	ck_assert_str_eq(json_object_get_string(json_object_object_get(v, "value")), "0x8000000000000001");
	ck_assert_int_eq(json_object_get_int(json_object_object_get(v, "index")), 0x10a);
	v = json_object_array_get_idx(json_object_object_get(o, "params"), 0);
	ck_assert_str_eq(json_object_get_string(json_object_object_get(v, "module")), "kvm_amd");
	ck_assert_str_eq(json_object_get_string(json_object_object_get(v, "name")), "nested");
	v = json_object_array_get_idx(json_object_object_get(o, "cpuid"), 1);
	ck_assert_int_eq(json_object_get_int64(json_object_object_get(v, "ebx")), 0xffffffffll);
	ck_assert_str_eq(json_object_get_string(json_object_object_get(o, "fingerprint")), r->fingerprint);
	ck_assert_int_gt(json_object_array_length(json_object_object_get(o, "features")), 0);
	check_describe(o);

	/* No microcode: the key is left out, and the record still checks. */
	r->has_microcode = false;
	o = proto_host_record_to_json(r, &d, CAPS_NAMES_QEMU);
	ck_assert(!json_object_object_get_ex(o, "microcode", NULL));
	check_describe(o);

	/* A level the psABI does not define. */
	d.level = 5;
	errno = 0;
	ck_assert_ptr_null(proto_host_record_to_json(r, &d, CAPS_NAMES_LINUX));
	ck_assert_int_eq(errno, EINVAL);
	d.level = -1;
	ck_assert_ptr_null(proto_host_record_to_json(r, &d, CAPS_NAMES_LINUX));
	d.level = 0;

	/* A record no probe makes. */
	r->n_params = CAPS_PARAM_MAX + 1;
	errno = 0;
	ck_assert_ptr_null(proto_host_record_to_json(r, &d, CAPS_NAMES_LINUX));
	ck_assert_int_eq(errno, EINVAL);
	free(r);
}
END_TEST

static struct hv_model_result *model_amd(struct caps_dump *raw, struct hv_host_params *params)
{
	struct hv_model_result *m = malloc(sizeof(*m));

	ck_assert_ptr_nonnull(m);
	caps_dump_init(raw);
	synth_host_amd(raw);
	synth_model(&raw->cpuid, "", NULL, NULL, params, m);
	return m;
}

START_TEST(test_host_record_of_the_model_matches_host_record_type)
{
	static struct caps_dump raw;
	struct hv_host_params params;
	struct hv_model_result *m = model_amd(&raw, &params);
	struct proto_host_derived d = { .level = hv_x86_64_level(&m->record.features) };

	check_describe(proto_host_record_to_json(&m->record, &d, CAPS_NAMES_LINUX));
	check_describe(proto_host_record_to_json(&m->record, &d, CAPS_NAMES_QEMU));
	free(m);
}
END_TEST

START_TEST(test_feature_status_to_json_matches_feature_status_type)
{
	static const char *const notes[] = { "gated on NPT", "not migratable" };
	const struct proto_idl *host = proto_idl_builtin_find("io.hvcap.Host");
	struct json_object *reply = json("{\"fingerprint\": \"hvcap1-0123456789abcdef\"}");
	struct json_object *features = json_object_new_array(), *a, *b;
	struct proto_error err = { { 0 } };

	a = proto_feature_status_to_json("sse4_1", "sse4.1", true, true, "supported", NULL, NULL, 0);
	b = proto_feature_status_to_json("eraps", NULL, true, false, "not_supported_by_kvm",
					 "KVM before 7.0 does not know ERAPS", notes, ARRAY_SIZE(notes));
	ck_assert_ptr_nonnull(a);
	ck_assert_ptr_nonnull(b);
	ck_assert_str_eq(json_object_get_string(json_object_object_get(a, "qemu")), "sse4.1");
	ck_assert(!json_object_object_get_ex(a, "detail", NULL));
	ck_assert(!json_object_object_get_ex(b, "qemu", NULL));
	ck_assert_int_eq(json_object_array_length(json_object_object_get(a, "notes")), 0);
	ck_assert_int_eq(json_object_array_length(json_object_object_get(b, "notes")), 2);
	ck_assert(!json_object_get_boolean(json_object_object_get(b, "kvm")));
	json_object_array_add(features, a);
	json_object_array_add(features, b);
	json_object_object_add(reply, "features", features);
	ck_assert_msg(proto_idl_check_output(host, "GetCapabilities", reply, &err) == 0, "%s: %s", err.path,
		      err.message);
	json_object_put(reply);

	errno = 0;
	ck_assert_ptr_null(proto_feature_status_to_json(NULL, NULL, false, false, "x", NULL, NULL, 0));
	ck_assert_int_eq(errno, EINVAL);
	ck_assert_ptr_null(proto_feature_status_to_json("x", NULL, false, false, "x", NULL, NULL, 1));
}
END_TEST

static void check_validate(const struct caps_evaluation *ev, enum caps_names names)
{
	const struct proto_idl *policy = proto_idl_builtin_find("io.hvcap.Policy");
	struct json_object *o = proto_evaluation_to_json(ev, names);
	struct proto_error err = { { 0 } };

	ck_assert_ptr_nonnull(o);
	ck_assert_msg(proto_idl_check_output(policy, "Validate", o, &err) == 0, "%s: %s", err.path, err.message);
	ck_assert_msg(proto_idl_check_output(policy, "Compare", o, &err) == 0, "%s: %s", err.path, err.message);
	json_object_put(o);
}

START_TEST(test_evaluation_to_json_matches_validate_output)
{
	static const char *const policies[] = {
		"{\"name\": \"web-tier\", \"vendor\": \"AuthenticAMD\", \"base\": \"none\","
		" \"features\": {\"avx2\": \"require\", \"eraps\": \"require\", \"lam\": \"forbid\","
		" \"invtsc\": \"disable\", \"avx512f\": \"optional\", \"no-such-feature\": \"require\"},"
		" \"vcpus\": 8, \"apic\": \"x2apic\", \"phys_bits\": 48, \"migratable\": true}",
		"{\"base\": \"host\", \"features\": {\"sse4.1\": \"force\"}}",
		"{\"base\": \"x86-64-v2\", \"vendor\": \"GenuineIntel\"}",
	};
	static struct caps_dump raw;
	static struct caps_evaluation ev;
	struct hv_host_params params;
	struct hv_model_result *m = model_amd(&raw, &params);
	struct hv_policy_target target;
	struct caps_policy *p = malloc(sizeof(*p));
	struct proto_error err = { { 0 } };

	ck_assert_ptr_nonnull(p);
	hv_policy_target_from_model(&target, m, &params, &raw.cpuid);
	for (size_t i = 0; i < ARRAY_SIZE(policies); i++) {
		ck_assert_msg(proto_policy_parse(policies[i], strlen(policies[i]), p, &err) == 0, "%s", err.message);
		ck_assert_int_eq(hv_policy_evaluate(p, &target, CAPS_NAMES_LINUX, &ev), 0);
		check_validate(&ev, CAPS_NAMES_LINUX);
		ck_assert_int_eq(hv_policy_evaluate(p, &target, CAPS_NAMES_QEMU, &ev), 0);
		check_validate(&ev, CAPS_NAMES_QEMU);
	}

	/* Every optional part by hand: an MSR problem, one without a policy or rule, a warning for no feature. */
	memset(&ev, 0, sizeof(ev));
	ev.accepted = false;
	ev.n_problems = 3;
	snprintf(ev.problems[0].feature, sizeof(ev.problems[0].feature), "avx2");
	ev.problems[0].has_policy = true;
	ev.problems[0].policy = CAPS_POLICY_REQUIRE;
	snprintf(ev.problems[0].reason, sizeof(ev.problems[0].reason), "not_supported_by_kvm");
	snprintf(ev.problems[0].rule, sizeof(ev.problems[0].rule), "kvm_older_than_7.0");
	ev.problems[0].where = (struct caps_eval_location) { .valid = true, .function = 7, .reg = CAPS_REG_EBX, .bit = 5 };
	snprintf(ev.problems[1].feature, sizeof(ev.problems[1].feature), "rdctl_no");
	snprintf(ev.problems[1].reason, sizeof(ev.problems[1].reason), "not_in_host_cpu");
	ev.problems[1].where = (struct caps_eval_location) { .valid = true, .msr = true, .function = 0x10a, .bit = 0 };
	snprintf(ev.problems[2].feature, sizeof(ev.problems[2].feature), "nope");
	snprintf(ev.problems[2].reason, sizeof(ev.problems[2].reason), "unknown_feature");
	ev.n_warnings = 1;
	snprintf(ev.warnings[0].reason, sizeof(ev.warnings[0].reason), "virtualization_hole");
	ev.guest_phys_bits = 48;
	ev.n_apicv_inhibits = 1;
	snprintf(ev.apicv_inhibits[0], sizeof(ev.apicv_inhibits[0]), "x2apic");
	ev.cr3_lam_u48 = ev.cr3_lam_u57 = true;
	check_validate(&ev, CAPS_NAMES_LINUX);
	free(p);
	free(m);
}
END_TEST

/* Field by field: struct copies need not carry padding. */
static void assert_policies_equal(const struct caps_policy *a, const struct caps_policy *b)
{
	ck_assert_str_eq(a->name, b->name);
	ck_assert_int_eq(a->has_vendor, b->has_vendor);
	ck_assert(memcmp(a->vendor, b->vendor, sizeof(a->vendor)) == 0);
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

START_TEST(test_policy_from_json_decodes_as_parse_does)
{
	static const char text[] =
		"{\"name\": \"web-tier\", \"vendor\": \"amd\", \"base\": \"x86-64-v3\","
		" \"features\": {\"avx2\": \"require\", \"sse4.1\": \"force\"}, \"vcpus\": 8,"
		" \"apic\": \"x2apic\", \"phys_bits\": 48, \"migratable\": false}";
	const struct proto_idl *policy = proto_idl_builtin_find("io.hvcap.Policy");
	struct caps_policy *a = malloc(sizeof(*a)), *b = malloc(sizeof(*b)), *sentinel = malloc(sizeof(*b));
	struct proto_error err = { { 0 } };
	struct json_object *o = json(text), *params, *back;

	ck_assert_ptr_nonnull(a);
	ck_assert_ptr_nonnull(b);
	ck_assert_ptr_nonnull(sentinel);
	memset(a, 0, sizeof(*a));
	memset(b, 0, sizeof(*b));
	ck_assert_int_eq(proto_policy_parse(text, strlen(text), a, &err), 0);
	ck_assert_int_eq(proto_policy_from_json(o, b, &err), 0);
	assert_policies_equal(a, b);
	ck_assert_uint_eq(b->n_features, 2);
	ck_assert_int_eq(b->vcpus, 8);
	json_object_put(o);

	/* What proto_policy_to_json() writes passes Validate's input type and reads back. */
	back = proto_policy_to_json(b);
	ck_assert_ptr_nonnull(back);
	params = json_object_new_object();
	json_object_object_add(params, "policy", back);
	ck_assert_msg(proto_idl_check_input(policy, "Validate", params, &err) == 0, "%s", err.message);
	memset(a, 0, sizeof(*a));
	ck_assert_int_eq(proto_policy_from_json(back, a, &err), 0);
	assert_policies_equal(a, b);
	json_object_put(params);

	/* The same errors and paths; *ret untouched. */
	memset(sentinel, 0x3c, sizeof(*sentinel));
	memcpy(a, sentinel, sizeof(*a));
	o = json("{\"features\": {\"avx2\": \"maybe\"}}");
	ck_assert_int_eq(proto_policy_from_json(o, a, &err), -EINVAL);
	ck_assert_str_eq(err.path, "features.avx2");
	json_object_put(o);
	o = json("{\"features\": {\"sse4.1\": \"require\", \"sse4_1\": \"force\"}}");
	ck_assert_int_eq(proto_policy_from_json(o, a, &err), -EINVAL);
	json_object_put(o);
	o = json("{\"vcpus\": 0}");
	ck_assert_int_eq(proto_policy_from_json(o, a, &err), -EINVAL);
	ck_assert_str_eq(err.path, "vcpus");
	json_object_put(o);
	o = json("[1]");
	ck_assert_int_eq(proto_policy_from_json(o, a, &err), -EINVAL);
	json_object_put(o);
	ck_assert(memcmp(a, sentinel, sizeof(*a)) == 0);
	free(a);
	free(b);
	free(sentinel);
}
END_TEST

/* ---- the client ------------------------------------------------------- */

/*
 * A server in a child process: it accepts one connection and runs a
 * script against it.  The child cannot use Check's assertions: it exits
 * with 2 on a mismatch, and server_stop() asserts a clean exit.
 */
struct test_server {
	char dir[48];
	char path[64];
	char address[80];
	pid_t pid;
};

#define SRV_EXPECT(cond) do { if (!(cond)) { fprintf(stderr, "server: %s:%d: %s\n", __FILE__, __LINE__, #cond); _exit(2); } } while (0)

/* Read one message (NUL excluded) into buf; NULL at EOF. */
static char *srv_read(int fd, char *buf, size_t size)
{
	size_t n = 0;

	for (;;) {
		ssize_t r = read(fd, buf + n, 1);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return NULL;
		if (buf[n] == '\0')
			return buf;
		SRV_EXPECT(++n < size);
	}
}

/* Read one call and check its method (and its flags, if flags >= 0). */
static void srv_expect_call(int fd, const char *method, int flags)
{
	char buf[65536];
	struct proto_call c;
	struct proto_error err;

	SRV_EXPECT(srv_read(fd, buf, sizeof(buf)));
	SRV_EXPECT(proto_call_parse(buf, strlen(buf), 0, &c, &err) == 0);
	SRV_EXPECT(strcmp(c.method, method) == 0);
	SRV_EXPECT(flags < 0 || c.flags == (unsigned)flags);
	proto_call_done(&c);
}

static void srv_write(int fd, const void *data, size_t len)
{
	const char *p = data;

	while (len) {
		ssize_t n = send(fd, p, len, MSG_NOSIGNAL);

		if (n < 0 && errno == EINTR)
			continue;
		SRV_EXPECT(n > 0);
		p += n;
		len -= (size_t)n;
	}
}

/* Send text and its NUL. */
static void srv_send(int fd, const char *text)
{
	srv_write(fd, text, strlen(text) + 1);
}

/* Wait for the client to close. */
static void srv_wait_close(int fd)
{
	char buf[4096];

	for (;;) {
		ssize_t n = read(fd, buf, sizeof(buf));

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return;
	}
}

static void server_start(struct test_server *s, void (*script)(int fd))
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int lfd;

	snprintf(s->dir, sizeof(s->dir), "/tmp/hvcap-test-varlink-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(s->dir));
	snprintf(s->path, sizeof(s->path), "%s/io.hvcap", s->dir);
	snprintf(s->address, sizeof(s->address), "unix:%s", s->path);
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", s->path);
	lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	ck_assert_int_ge(lfd, 0);
	ck_assert_int_eq(bind(lfd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	ck_assert_int_eq(listen(lfd, 4), 0);
	s->pid = fork();
	ck_assert_int_ge(s->pid, 0);
	if (s->pid == 0) {
		int fd = accept(lfd, NULL, NULL);

		SRV_EXPECT(fd >= 0);
		close(lfd);
		script(fd);
		close(fd);
		_exit(0);
	}
	close(lfd);
}

static void server_stop(struct test_server *s)
{
	int status;

	ck_assert_int_eq(waitpid(s->pid, &status, 0), s->pid);
	ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0, "the server script failed (status %d)", status);
	unlink(s->path);
	rmdir(s->dir);
}

static struct proto_client *client_connect(const struct test_server *s)
{
	struct proto_client *c;
	int r = proto_client_connect(s->address, &c);

	ck_assert_msg(r == 0, "connect %s: %d", s->address, r);
	ck_assert_int_ge(proto_client_fd(c), 0);
	return c;
}

static void script_call(int fd)
{
	srv_expect_call(fd, "io.hvcap.Vm.Get", 0);
	srv_send(fd, "{\"parameters\":{\"vm\":{\"vm\":1,\"name\":\"web\"}}}");
	srv_expect_call(fd, "io.hvcap.Vm.Get", 0);
	srv_send(fd, "{\"error\":\"io.hvcap.Vm.NoSuchVm\",\"parameters\":{\"vm\":7}}");
	srv_expect_call(fd, "io.hvcap.Vm.Delete", 0);
	srv_send(fd, "{}");
	srv_wait_close(fd);
}

START_TEST(test_client_call_returns_replies_and_errors)
{
	struct test_server s;
	struct proto_client *c;
	struct proto_reply r;
	struct json_object *p = json("{\"vm\": 1}");

	server_start(&s, script_call);
	c = client_connect(&s);
	ck_assert_int_eq(proto_client_call(c, "io.hvcap.Vm.Get", p, 0, &r), 0);
	ck_assert_str_eq(r.error, "");
	ck_assert(!r.continues);
	ck_assert_str_eq(json_object_get_string(json_object_object_get(json_object_object_get(r.parameters, "vm"),
								       "name")), "web");
	proto_reply_done(&r);

	/* An error reply is a value, not a failure. */
	ck_assert_int_eq(proto_client_call(c, "io.hvcap.Vm.Get", p, 0, &r), 0);
	ck_assert_str_eq(r.error, "io.hvcap.Vm.NoSuchVm");
	ck_assert_int_eq(json_object_get_int(json_object_object_get(r.parameters, "vm")), 7);
	proto_reply_done(&r);

	ck_assert_int_eq(proto_client_call(c, "io.hvcap.Vm.Delete", p, 0, &r), 0);
	ck_assert_int_eq(json_object_object_length(r.parameters), 0);
	proto_reply_done(&r);

	/* A bad method name never reaches the wire. */
	ck_assert_int_eq(proto_client_call(c, "Delete", p, 0, &r), -EINVAL);
	ck_assert_int_eq(proto_client_recv(c, &r), -ENOMSG);
	proto_client_free(c);
	proto_client_free(NULL);
	server_stop(&s);
	json_object_put(p);
}
END_TEST

static void script_pipelined(int fd)
{
	char all[256];
	size_t n = 0;

	srv_expect_call(fd, "a.b.First", 0);
	srv_expect_call(fd, "a.b.Second", 0);
	srv_expect_call(fd, "a.b.Third", 0);
	/* All three replies in one write. */
	for (int i = 1; i <= 3; i++)
		n += (size_t)snprintf(all + n, sizeof(all) - n, "{\"parameters\":{\"n\":%d}}", i) + 1;
	srv_write(fd, all, n);
	srv_wait_close(fd);
}

START_TEST(test_client_pipelines_calls_in_order)
{
	static const char *const methods[] = { "a.b.First", "a.b.Second", "a.b.Third" };
	struct test_server s;
	struct proto_client *c;
	struct proto_reply r;

	server_start(&s, script_pipelined);
	c = client_connect(&s);
	for (size_t i = 0; i < ARRAY_SIZE(methods); i++)
		ck_assert_int_eq(proto_client_send(c, methods[i], NULL, 0), 0);
	/* With calls in flight, call() would take another call's reply. */
	ck_assert_int_eq(proto_client_call(c, "a.b.Fourth", NULL, 0, &r), -EBUSY);
	for (int i = 1; i <= 3; i++) {
		ck_assert_int_eq(proto_client_recv(c, &r), 0);
		ck_assert_int_eq(json_object_get_int(json_object_object_get(r.parameters, "n")), i);
		proto_reply_done(&r);
	}
	ck_assert_int_eq(proto_client_recv(c, &r), -ENOMSG);
	proto_client_free(c);
	server_stop(&s);
}
END_TEST

static void script_more(int fd)
{
	srv_expect_call(fd, "io.hvcap.Vm.Watch", PROTO_CALL_MORE);
	srv_send(fd, "{\"parameters\":{\"event\":\"watching\"},\"continues\":true}");
	srv_send(fd, "{\"parameters\":{\"event\":\"vm_created\",\"vm\":1},\"continues\":true}");
	srv_send(fd, "{\"parameters\":{\"event\":\"vm_deleted\",\"vm\":1}}");
	/* A stream the call did not ask for. */
	srv_expect_call(fd, "io.hvcap.Vm.List", 0);
	srv_send(fd, "{\"parameters\":{\"vms\":[]},\"continues\":true}");
	srv_wait_close(fd);
}

START_TEST(test_client_streams_replies_with_more)
{
	static const char *const events[] = { "watching", "vm_created", "vm_deleted" };
	struct test_server s;
	struct proto_client *c;
	struct proto_reply r;

	server_start(&s, script_more);
	c = client_connect(&s);
	ck_assert_int_eq(proto_client_call(c, "io.hvcap.Vm.Watch", NULL, PROTO_CALL_MORE, &r), 0);
	for (size_t i = 0;; i++) {
		ck_assert_uint_lt(i, ARRAY_SIZE(events));
		ck_assert_str_eq(json_object_get_string(json_object_object_get(r.parameters, "event")), events[i]);
		if (!r.continues) {
			ck_assert_uint_eq(i, 2);
			proto_reply_done(&r);
			break;
		}
		proto_reply_done(&r);
		ck_assert_int_eq(proto_client_recv(c, &r), 0);
	}
	ck_assert_int_eq(proto_client_recv(c, &r), -ENOMSG);
	ck_assert_int_eq(proto_client_call(c, "io.hvcap.Vm.List", NULL, 0, &r), -EPROTO);
	/* The connection is over. */
	ck_assert_int_eq(proto_client_call(c, "io.hvcap.Vm.List", NULL, 0, &r), -EPROTO);
	proto_client_free(c);
	server_stop(&s);
}
END_TEST

static void script_oneway(int fd)
{
	srv_expect_call(fd, "io.hvcap.Host.Reload", PROTO_CALL_ONEWAY);
	srv_expect_call(fd, "io.hvcap.Host.Describe", 0);
	srv_send(fd, "{\"parameters\":{\"n\":2}}");
	srv_wait_close(fd);
}

START_TEST(test_client_oneway_waits_for_nothing)
{
	struct test_server s;
	struct proto_client *c;
	struct proto_reply r, sentinel;

	server_start(&s, script_oneway);
	c = client_connect(&s);
	memset(&sentinel, 0x77, sizeof(sentinel));
	r = sentinel;
	ck_assert_int_eq(proto_client_call(c, "io.hvcap.Host.Reload", NULL, PROTO_CALL_ONEWAY, &r), 0);
	ck_assert(memcmp(&r, &sentinel, sizeof(r)) == 0);
	ck_assert_int_eq(proto_client_recv(c, &r), -ENOMSG);
	/* The next call's reply is its own. */
	ck_assert_int_eq(proto_client_call(c, "io.hvcap.Host.Describe", NULL, 0, &r), 0);
	ck_assert_int_eq(json_object_get_int(json_object_object_get(r.parameters, "n")), 2);
	proto_reply_done(&r);
	proto_client_free(c);
	server_stop(&s);
}
END_TEST

static void script_silent(int fd)
{
	srv_expect_call(fd, "a.b.Slow", 0);
	srv_wait_close(fd);
}

START_TEST(test_client_times_out)
{
	struct test_server s;
	struct proto_client *c;
	struct proto_reply r;
	struct timespec t0, t1;
	long ms;

	server_start(&s, script_silent);
	c = client_connect(&s);
	proto_client_set_timeout(c, 200);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	ck_assert_int_eq(proto_client_call(c, "a.b.Slow", NULL, 0, &r), -ETIMEDOUT);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	ms = (t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000;
	ck_assert_int_ge(ms, 190);
	ck_assert_int_lt(ms, 5000);
	/* A late reply would be taken for the next call's: the connection is over. */
	ck_assert_int_eq(proto_client_call(c, "a.b.Slow", NULL, 0, &r), -ETIMEDOUT);
	proto_client_free(c);
	server_stop(&s);
}
END_TEST

static void script_slow_reply(int fd)
{
	srv_expect_call(fd, "a.b.Slow", 0);
	usleep(300 * 1000);
	srv_send(fd, "{\"parameters\":{\"ok\":true}}");
	srv_wait_close(fd);
}

static volatile sig_atomic_t alarms;

static void on_alarm(int sig)
{
	(void)sig;
	alarms++;
}

START_TEST(test_client_survives_signals)
{
	struct sigaction sa = { .sa_handler = on_alarm };	/* no SA_RESTART: every wait sees EINTR */
	struct itimerval every = { .it_interval = { 0, 10000 }, .it_value = { 0, 10000 } };
	struct itimerval off = { { 0, 0 }, { 0, 0 } };
	struct test_server s;
	struct proto_client *c;
	struct proto_reply r;

	ck_assert_int_eq(sigaction(SIGALRM, &sa, NULL), 0);
	server_start(&s, script_slow_reply);
	c = client_connect(&s);
	proto_client_set_timeout(c, 5000);
	ck_assert_int_eq(setitimer(ITIMER_REAL, &every, NULL), 0);
	ck_assert_int_eq(proto_client_call(c, "a.b.Slow", NULL, 0, &r), 0);
	ck_assert_int_eq(setitimer(ITIMER_REAL, &off, NULL), 0);
	ck_assert_int_gt(alarms, 5);
	ck_assert(json_object_get_boolean(json_object_object_get(r.parameters, "ok")));
	proto_reply_done(&r);
	proto_client_free(c);
	server_stop(&s);
}
END_TEST

static void script_close_mid_message(int fd)
{
	srv_expect_call(fd, "a.b.C", 0);
	srv_write(fd, "{\"parameters\":{\"x\"", 18);
}

static void script_close_without_reply(int fd)
{
	srv_expect_call(fd, "a.b.C", 0);
}

START_TEST(test_client_fails_when_the_peer_closes)
{
	struct test_server s;
	struct proto_client *c;
	struct proto_reply r;

	server_start(&s, script_close_mid_message);
	c = client_connect(&s);
	ck_assert_int_eq(proto_client_call(c, "a.b.C", NULL, 0, &r), -ECONNRESET);
	ck_assert_int_eq(proto_client_call(c, "a.b.C", NULL, 0, &r), -ECONNRESET);
	proto_client_free(c);
	server_stop(&s);

	server_start(&s, script_close_without_reply);
	c = client_connect(&s);
	ck_assert_int_eq(proto_client_call(c, "a.b.C", NULL, 0, &r), -ECONNRESET);
	proto_client_free(c);
	server_stop(&s);
}
END_TEST

static void script_close_at_once(int fd)
{
	(void)fd;
}

START_TEST(test_client_send_to_a_closed_peer_is_an_error_not_sigpipe)
{
	struct test_server s;
	struct proto_client *c;
	struct json_object *p = json_object_new_object();
	size_t len;
	char *big = text_fill("", 'x', 512 * 1024, "", &len);
	int r;

	/* SIGPIPE's default action would kill the test. */
	signal(SIGPIPE, SIG_DFL);
	json_object_object_add(p, "s", json_object_new_string(big));
	server_start(&s, script_close_at_once);
	c = client_connect(&s);
	server_stop(&s);
	r = proto_client_send(c, "a.b.C", p, 0);
	ck_assert_msg(r == -EPIPE || r == -ECONNRESET, "send returned %d", r);
	ck_assert_int_eq(proto_client_send(c, "a.b.C", NULL, 0), r);
	proto_client_free(c);
	json_object_put(p);
	free(big);
}
END_TEST

static const char *malformed_reply;

static void script_malformed(int fd)
{
	srv_expect_call(fd, "a.b.C", 0);
	srv_write(fd, malformed_reply, strlen(malformed_reply) + 1);
	srv_wait_close(fd);
}

static void script_oversized(int fd)
{
	char chunk[65536];

	srv_expect_call(fd, "a.b.C", 0);
	memset(chunk, ' ', sizeof(chunk));
	chunk[0] = '{';
	/* Never a NUL: the client gives up past its limit and closes. */
	for (size_t sent = 0; sent <= PROTO_VARLINK_MAX_MESSAGE + sizeof(chunk); sent += sizeof(chunk)) {
		ssize_t n = send(fd, chunk, sizeof(chunk), MSG_NOSIGNAL);

		if (n < 0)
			break;
	}
	srv_wait_close(fd);
}

START_TEST(test_client_refuses_malformed_replies)
{
	static const char *const replies[] = {
		"[1]",
		"",
		"{\"bogus\":1}",
		"{\"parameters\":[]}",
		"{\"error\":\"NotQualified\"}",
		"{\"error\":\"a.b.E\",\"continues\":true}",
		"{\"parameters\":{\"s\":\"\xed\xa0\x80\"}}",
		"{\"parameters\":{}} trailing",
		"{\"parameters\":{\"a\":1,\"a\":2}}",
	};
	struct test_server s;
	struct proto_client *c;
	struct proto_reply r;

	for (size_t i = 0; i < ARRAY_SIZE(replies); i++) {
		malformed_reply = replies[i];
		server_start(&s, script_malformed);
		c = client_connect(&s);
		ck_assert_msg(proto_client_call(c, "a.b.C", NULL, 0, &r) == -EPROTO, "%s", replies[i]);
		proto_client_free(c);
		server_stop(&s);
	}

	server_start(&s, script_oversized);
	c = client_connect(&s);
	ck_assert_int_eq(proto_client_call(c, "a.b.C", NULL, 0, &r), -EPROTO);
	proto_client_free(c);
	server_stop(&s);
}
END_TEST

START_TEST(test_client_connect_reports_errno)
{
	char path[300], addr[320];
	struct proto_client *c = (struct proto_client *)&c;
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	char dir[] = "/tmp/hvcap-test-varlink-XXXXXX";
	int fd;

	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(path, sizeof(path), "unix:%s/none", dir);
	ck_assert_int_eq(proto_client_connect(path, &c), -ENOENT);
	ck_assert_int_eq(proto_client_connect(path + 5, &c), -ENOENT);

	/* A socket bound but not listening refuses. */
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/dead", dir);
	fd = socket(AF_UNIX, SOCK_STREAM, 0);
	ck_assert_int_eq(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	snprintf(addr, sizeof(addr), "unix:%s", sa.sun_path);
	ck_assert_int_eq(proto_client_connect(addr, &c), -ECONNREFUSED);
	close(fd);
	unlink(sa.sun_path);

	ck_assert_int_eq(proto_client_connect("tcp:localhost:1", &c), -EINVAL);
	ck_assert_int_eq(proto_client_connect("unix:", &c), -EINVAL);
	ck_assert_int_eq(proto_client_connect("relative", &c), -EINVAL);
	ck_assert_int_eq(proto_client_connect(NULL, &c), -EINVAL);
	memset(path, 'a', sizeof(path));
	memcpy(path, "unix:/", 6);
	path[5 + sizeof(sa.sun_path)] = '\0';
	ck_assert_int_eq(proto_client_connect(path, &c), -ENAMETOOLONG);
	ck_assert_ptr_eq(c, (struct proto_client *)&c);
	rmdir(dir);
}
END_TEST

START_TEST(test_client_connects_to_abstract_sockets)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	char name[64], address[80];
	struct proto_client *c;
	socklen_t len;
	int fd;

	snprintf(name, sizeof(name), "hvcap-test-%d", (int)getpid());
	memcpy(sa.sun_path + 1, name, strlen(name));
	len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + strlen(name));
	fd = socket(AF_UNIX, SOCK_STREAM, 0);
	ck_assert_int_eq(bind(fd, (struct sockaddr *)&sa, len), 0);
	ck_assert_int_eq(listen(fd, 1), 0);
	snprintf(address, sizeof(address), "unix:@%s", name);
	ck_assert_int_eq(proto_client_connect(address, &c), 0);
	proto_client_free(c);
	close(fd);
}
END_TEST

/* Resolve with a clean environment: address, $HVCAP_ADDRESS, $XDG_RUNTIME_DIR. */
static int resolve(const char *address, const char *env, const char *xdg, char *buf, size_t size)
{
	if (env)
		setenv(PROTO_ADDRESS_ENV, env, 1);
	else
		unsetenv(PROTO_ADDRESS_ENV);
	if (xdg)
		setenv("XDG_RUNTIME_DIR", xdg, 1);
	else
		unsetenv("XDG_RUNTIME_DIR");
	return proto_address_resolve(address, buf, size);
}

/* The defaults as a user: in a child that is not root (dropped to nobody when the test runs as root). */
static void check_user_defaults(void)
{
	char buf[256], long_dir[200];
	pid_t pid = fork();
	int status;

	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		if (geteuid() == 0 && setresuid(65534, 65534, 65534) < 0)
			_exit(3);
		if (resolve(NULL, NULL, "/run/user/1000", buf, sizeof(buf)) != 0 ||
		    strcmp(buf, "unix:/run/user/1000/hvcap/io.hvcap") != 0)
			_exit(4);
		/* No usable runtime directory: the system socket (the hvcap group may use it). */
		if (resolve(NULL, NULL, NULL, buf, sizeof(buf)) != 0 || strcmp(buf, PROTO_ADDRESS_SYSTEM) != 0)
			_exit(5);
		if (resolve(NULL, NULL, "relative", buf, sizeof(buf)) != 0 ||
		    strcmp(buf, PROTO_ADDRESS_SYSTEM) != 0)
			_exit(6);
		memset(long_dir, 'd', sizeof(long_dir) - 1);
		long_dir[0] = '/';
		long_dir[sizeof(long_dir) - 1] = '\0';
		if (resolve(NULL, NULL, long_dir, buf, sizeof(buf)) != -ENAMETOOLONG)
			_exit(7);
		/* The environment's address wins over the runtime directory. */
		if (resolve(NULL, "unix:/tmp/x", "/run/user/1000", buf, sizeof(buf)) != 0 ||
		    strcmp(buf, "unix:/tmp/x") != 0)
			_exit(8);
		_exit(0);
	}
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0, "user defaults: child exit %d",
		      WEXITSTATUS(status));
}

START_TEST(test_address_resolve_follows_the_defaults)
{
	char buf[256], small[8], long_path[200];

	ck_assert_int_eq(resolve("unix:/run/x.sock", "unix:/env", NULL, buf, sizeof(buf)), 0);
	ck_assert_str_eq(buf, "unix:/run/x.sock");
	ck_assert_int_eq(resolve("/run/x.sock", NULL, NULL, buf, sizeof(buf)), 0);
	ck_assert_str_eq(buf, "unix:/run/x.sock");
	ck_assert_int_eq(resolve("unix:@hvcap", NULL, NULL, buf, sizeof(buf)), 0);
	ck_assert_str_eq(buf, "unix:@hvcap");
	ck_assert_int_eq(resolve(NULL, "unix:/env/sock", "/run/user/1", buf, sizeof(buf)), 0);
	ck_assert_str_eq(buf, "unix:/env/sock");
	ck_assert_int_eq(resolve("", "/env/sock", NULL, buf, sizeof(buf)), 0);
	ck_assert_str_eq(buf, "unix:/env/sock");
	if (geteuid() == 0) {
		ck_assert_int_eq(resolve(NULL, NULL, "/run/user/0", buf, sizeof(buf)), 0);
		ck_assert_str_eq(buf, PROTO_ADDRESS_SYSTEM);
		ck_assert_int_eq(resolve(NULL, "", NULL, buf, sizeof(buf)), 0);
		ck_assert_str_eq(buf, PROTO_ADDRESS_SYSTEM);
	}
	check_user_defaults();

	/* Errors leave buf alone. */
	strcpy(buf, "untouched");
	ck_assert_int_eq(resolve("tcp:host:1", NULL, NULL, buf, sizeof(buf)), -EINVAL);
	ck_assert_int_eq(resolve(NULL, "exec:/bin/x", NULL, buf, sizeof(buf)), -EINVAL);
	ck_assert_int_eq(resolve("relative/sock", NULL, NULL, buf, sizeof(buf)), -EINVAL);
	ck_assert_int_eq(resolve("unix:", NULL, NULL, buf, sizeof(buf)), -EINVAL);
	ck_assert_int_eq(resolve("unix:@", NULL, NULL, buf, sizeof(buf)), -EINVAL);
	memset(long_path, 'p', sizeof(long_path) - 1);
	long_path[0] = '/';
	long_path[sizeof(long_path) - 1] = '\0';
	ck_assert_int_eq(resolve(long_path, NULL, NULL, buf, sizeof(buf)), -ENAMETOOLONG);
	/* sun_path holds 107 bytes and the NUL. */
	long_path[108] = '\0';
	ck_assert_int_eq(resolve(long_path, NULL, NULL, buf, sizeof(buf)), -ENAMETOOLONG);
	ck_assert_str_eq(buf, "untouched");
	long_path[107] = '\0';
	ck_assert_int_eq(resolve(long_path, NULL, NULL, buf, sizeof(buf)), 0);
	ck_assert_uint_eq(strlen(buf), 5 + 107);
	strcpy(small, "keep");
	ck_assert_int_eq(resolve("unix:/run/x.sock", NULL, NULL, small, sizeof(small)), -ENOBUFS);
	ck_assert_str_eq(small, "keep");
	ck_assert_int_eq(proto_address_resolve("unix:/x", NULL, 0), -EINVAL);
}
END_TEST

/* ---- the suite -------------------------------------------------------- */

int main(void)
{
	Suite *s = suite_create("varlink");
	TCase *tc;

	tc = tcase_create("names");
	tcase_add_test(tc, test_utf8_is_valid_follows_rfc3629);
	tcase_add_test(tc, test_names_follow_the_varlink_grammar);
	suite_add_tcase(s, tc);

	tc = tcase_create("call");
	tcase_add_test(tc, test_call_build_writes_exact_text);
	tcase_add_test(tc, test_call_round_trips);
	tcase_add_test(tc, test_call_parse_defaults_parameters_and_ignores_extensions);
	tcase_add_test(tc, test_call_parse_rejects_malformations);
	tcase_add_test(tc, test_call_parse_rejects_invalid_utf8_anywhere);
	tcase_add_test(tc, test_call_parse_rejects_nul_bytes);
	tcase_add_test(tc, test_call_parse_limits_depth);
	tcase_add_test(tc, test_call_parse_limits_size);
	tcase_add_test(tc, test_call_build_refuses_what_a_peer_would);
	suite_add_tcase(s, tc);

	tc = tcase_create("reply");
	tcase_add_test(tc, test_reply_build_writes_exact_text);
	tcase_add_test(tc, test_reply_round_trips);
	tcase_add_test(tc, test_reply_parse_rejects_malformations);
	suite_add_tcase(s, tc);

	tc = tcase_create("framer");
	tcase_add_test(tc, test_framer_splits_at_every_byte_boundary);
	tcase_add_test(tc, test_framer_takes_several_messages_in_one_feed);
	tcase_add_test(tc, test_framer_limits_message_size);
	tcase_add_test(tc, test_framer_takes_a_message_of_the_hard_limit);
	suite_add_tcase(s, tc);

	tc = tcase_create("idl");
	tcase_add_test(tc, test_idl_builtin_parses_every_embedded_file);
	tcase_add_test(tc, test_idl_builtin_lists_methods_and_errors);
	tcase_add_test(tc, test_idl_parse_reads_every_construct);
	tcase_add_test(tc, test_idl_parse_reports_syntax_errors_with_lines);
	tcase_add_test(tc, test_idl_parse_limits_nesting);
	tcase_add_test(tc, test_idl_check_accepts_every_kind);
	tcase_add_test(tc, test_idl_check_refuses_each_kind_with_its_path);
	tcase_add_test(tc, test_idl_check_names_paths_in_the_real_interfaces);
	suite_add_tcase(s, tc);

	tc = tcase_create("json");
	tcase_add_test(tc, test_host_record_to_json_matches_host_record_type);
	tcase_add_test(tc, test_host_record_of_the_model_matches_host_record_type);
	tcase_add_test(tc, test_feature_status_to_json_matches_feature_status_type);
	tcase_add_test(tc, test_evaluation_to_json_matches_validate_output);
	tcase_add_test(tc, test_policy_from_json_decodes_as_parse_does);
	suite_add_tcase(s, tc);

	tc = tcase_create("client");
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, test_client_call_returns_replies_and_errors);
	tcase_add_test(tc, test_client_pipelines_calls_in_order);
	tcase_add_test(tc, test_client_streams_replies_with_more);
	tcase_add_test(tc, test_client_oneway_waits_for_nothing);
	tcase_add_test(tc, test_client_times_out);
	tcase_add_test(tc, test_client_survives_signals);
	tcase_add_test(tc, test_client_fails_when_the_peer_closes);
	tcase_add_test(tc, test_client_send_to_a_closed_peer_is_an_error_not_sigpipe);
	tcase_add_test(tc, test_client_refuses_malformed_replies);
	tcase_add_test(tc, test_client_connect_reports_errno);
	tcase_add_test(tc, test_client_connects_to_abstract_sockets);
	tcase_add_test(tc, test_address_resolve_follows_the_defaults);
	suite_add_tcase(s, tc);

	return test_run_suite(s);
}
