/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * hvcap's own dump format:
 *
 *   {"format": "hvcap-cpu-dump", "version": 1, "comment": "optional",
 *    "cpuid": [{"function": 7, "index": 0, "flags": 1,
 *               "eax": 0, "ebx": 0, "ecx": 0, "edx": 0}, ...],
 *    "msrs": [{"index": 266, "value": "0x000000000c000069"}]}
 *
 * Registers, function, index and flags are JSON integers, MSR values
 * "0x" hex strings (64 bits do not survive every JSON reader as
 * numbers).  The flags are KVM's and are kept as given.  json-c parses;
 * field tables decode, with exact types, ranges, no unknown and no
 * missing keys.
 */

#include <errno.h>
#include <inttypes.h>
#include <json-c/json.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libcaps/json-check.h>

#include "dump-internal.h"

#define JSON_DUMP_FORMAT "hvcap-cpu-dump"
#define JSON_DUMP_VERSION 1

/*
 * The format nests three containers (top object, "cpuid" array, entry
 * object); json-c counts the depth one higher than that.  Anything
 * deeper is refused while parsing, before it costs stack or memory.
 */
#define JSON_MAX_DEPTH 4

/* One 32-bit integer member of a "cpuid" entry. */
struct json_u32_field {
	const char *name;
	size_t offset;		/* offsetof() a uint32_t member, so aligned */
};

static const struct json_u32_field cpuid_fields[] = {
	{ "function", offsetof(struct caps_cpuid_entry, function) },
	{ "index", offsetof(struct caps_cpuid_entry, index) },
	{ "flags", offsetof(struct caps_cpuid_entry, flags) },
	{ "eax", offsetof(struct caps_cpuid_entry, eax) },
	{ "ebx", offsetof(struct caps_cpuid_entry, ebx) },
	{ "ecx", offsetof(struct caps_cpuid_entry, ecx) },
	{ "edx", offsetof(struct caps_cpuid_entry, edx) },
};
#define CPUID_NFIELDS (sizeof(cpuid_fields) / sizeof(cpuid_fields[0]))

static bool is_json_blank(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* Fail with what, at the line and column (1-based) of byte offset at in buf. */
static int json_error_at(struct caps_dump_error *err, const char *buf, size_t at,
			 const char *what)
{
	unsigned line = 1, column = 1;

	for (size_t i = 0; i < at; i++) {
		if (buf[i] == '\n') {
			line++;
			column = 1;
		} else {
			column++;
		}
	}
	return caps_dump_error_set(err, line, column, at, "%s", what);
}

/*
 * json-c keeps the last of duplicate keys without a word, and takes
 * single-quoted strings and keys with "\u0000" even in strict mode:
 * refuse them, at their line and column.
 */
static int json_check(const char *buf, size_t start, size_t end, struct caps_dump_error *err)
{
	struct caps_json_check_error cerr;
	char msg[sizeof(cerr.path) + sizeof(cerr.message) + 16];
	int r;

	r = caps_json_check(buf + start, end - start, JSON_MAX_DEPTH, &cerr);
	if (r >= 0 || r == -ENOMEM)
		return r;
	snprintf(msg, sizeof(msg), "%s: %s", cerr.path[0] ? cerr.path : "(top level)", cerr.message);
	json_error_at(err, buf, start + cerr.offset, msg);
	return r;
}

/* The decoder's state: the dump being built, and where errors go. */
struct json_reader {
	struct caps_dump *dump;
	struct caps_dump_error *err;
};

static int json_fail(struct json_reader *rd, const char *path, const char *what)
{
	return caps_dump_error_set(rd->err, 0, 0, 0, "%s: %s", path, what);
}

/* A JSON integer, exactly (json-c would coerce doubles and strings), in 0..max. */
static int get_uint(struct json_reader *rd, const char *path, struct json_object *v,
		    uint32_t max, uint32_t *ret)
{
	int64_t i;

	if (!json_object_is_type(v, json_type_int))
		return caps_dump_error_set(rd->err, 0, 0, 0, "%s: expected an integer in 0..0x%x, got %s",
					   path, max, json_type_to_name(json_object_get_type(v)));
	/* json-c clamps integers beyond int64 to INT64_MIN/INT64_MAX. */
	i = json_object_get_int64(v);
	if (i < 0 || (uint64_t)i > max)
		return caps_dump_error_set(rd->err, 0, 0, 0, "%s: expected an integer in 0..0x%x",
					   path, max);
	*ret = (uint32_t)i;
	return 0;
}

static int read_cpuid_entry(struct json_reader *rd, size_t n, struct json_object *obj)
{
	struct caps_cpuid_entry e = { 0 };
	uint32_t seen = 0;
	char path[64], sub[96], q[40];
	const char *why;
	int r;

	snprintf(path, sizeof(path), "cpuid[%zu]", n);
	if (!json_object_is_type(obj, json_type_object))
		return json_fail(rd, path, "expected an object");
	json_object_object_foreach(obj, key, val) {
		size_t f;

		for (f = 0; f < CPUID_NFIELDS; f++)
			if (strcmp(key, cpuid_fields[f].name) == 0)
				break;
		if (f == CPUID_NFIELDS)
			return caps_dump_error_set(rd->err, 0, 0, 0, "%s: unknown key \"%s\"", path,
						   caps_dump_sanitize(q, sizeof(q), key, strlen(key)));
		snprintf(sub, sizeof(sub), "%s.%s", path, key);
		r = get_uint(rd, sub, val, UINT32_MAX,
			     (uint32_t *)(void *)((char *)&e + cpuid_fields[f].offset));
		if (r < 0)
			return r;
		seen |= 1u << f;
	}
	for (size_t f = 0; f < CPUID_NFIELDS; f++)
		if (!(seen & (1u << f)))
			return caps_dump_error_set(rd->err, 0, 0, 0, "%s: missing key \"%s\"", path,
						   cpuid_fields[f].name);
	if (e.flags & ~CAPS_CPUID_FLAGS_ALL)
		return caps_dump_error_set(rd->err, 0, 0, 0, "%s.flags: unknown flag bits 0x%x",
					   path, e.flags & ~CAPS_CPUID_FLAGS_ALL);
	r = caps_dump_add_cpuid(rd->dump, &e, &why);
	if (r < 0) {
		caps_dump_error_set(rd->err, 0, 0, 0, "%s: function 0x%x index 0x%x: %s", path,
				    e.function, e.index, why);
		return r;
	}
	return 0;
}

static int read_msr(struct json_reader *rd, size_t n, struct json_object *obj)
{
	struct json_object *index = NULL, *value = NULL;
	char path[64], sub[96], q[40];
	const char *why, *s;
	uint32_t msr;
	uint64_t v;
	int r;

	snprintf(path, sizeof(path), "msrs[%zu]", n);
	if (!json_object_is_type(obj, json_type_object))
		return json_fail(rd, path, "expected an object");
	json_object_object_foreach(obj, key, val) {
		if (strcmp(key, "index") == 0)
			index = val;
		else if (strcmp(key, "value") == 0)
			value = val;
		else
			return caps_dump_error_set(rd->err, 0, 0, 0, "%s: unknown key \"%s\"", path,
						   caps_dump_sanitize(q, sizeof(q), key, strlen(key)));
	}
	if (!index)
		return json_fail(rd, path, "missing key \"index\"");
	if (!value)
		return json_fail(rd, path, "missing key \"value\"");
	snprintf(sub, sizeof(sub), "%s.index", path);
	r = get_uint(rd, sub, index, UINT32_MAX, &msr);
	if (r < 0)
		return r;
	snprintf(sub, sizeof(sub), "%s.value", path);
	if (!json_object_is_type(value, json_type_string))
		return json_fail(rd, sub, "expected a \"0x\" hex string of at most 64 bits");
	s = json_object_get_string(value);
	r = caps_dump_parse_hex(s, (size_t)json_object_get_string_len(value), UINT64_MAX, &v);
	if (r < 0)
		return json_fail(rd, sub, r == -ERANGE ? "value does not fit in 64 bits"
						      : "expected a \"0x\" hex string of at most 64 bits");
	r = caps_dump_add_msr(rd->dump, msr, v, &why);
	if (r < 0) {
		caps_dump_error_set(rd->err, 0, 0, 0, "%s: MSR 0x%x: %s", path, msr, why);
		return r;
	}
	return 0;
}

/* The members of an array, through fn; -E2BIG past max elements. */
static int read_array(struct json_reader *rd, const char *name, struct json_object *arr,
		      size_t max, int (*fn)(struct json_reader *, size_t, struct json_object *))
{
	size_t n;

	if (!json_object_is_type(arr, json_type_array))
		return json_fail(rd, name, "expected an array");
	n = json_object_array_length(arr);
	if (n > max) {
		caps_dump_error_set(rd->err, 0, 0, 0, "%s: %zu entries, at most %zu allowed",
				    name, n, max);
		return -E2BIG;
	}
	for (size_t i = 0; i < n; i++) {
		int r = fn(rd, i, json_object_array_get_idx(arr, i));

		if (r < 0)
			return r;
	}
	return 0;
}

static int read_top(struct json_reader *rd, struct json_object *top)
{
	struct json_object *format = NULL, *version = NULL, *comment = NULL;
	struct json_object *cpuid = NULL, *msrs = NULL;
	char q[40];
	uint32_t ver;
	int r;

	json_object_object_foreach(top, key, val) {
		if (strcmp(key, "format") == 0)
			format = val;
		else if (strcmp(key, "version") == 0)
			version = val;
		else if (strcmp(key, "comment") == 0)
			comment = val;
		else if (strcmp(key, "cpuid") == 0)
			cpuid = val;
		else if (strcmp(key, "msrs") == 0)
			msrs = val;
		else
			return caps_dump_error_set(rd->err, 0, 0, 0, "(top level): unknown key \"%s\"",
						   caps_dump_sanitize(q, sizeof(q), key, strlen(key)));
	}
	if (!format)
		return json_fail(rd, "(top level)", "missing key \"format\"");
	if (!json_object_is_type(format, json_type_string) ||
	    strcmp(json_object_get_string(format), JSON_DUMP_FORMAT) != 0 ||
	    (size_t)json_object_get_string_len(format) != strlen(JSON_DUMP_FORMAT))
		return json_fail(rd, "format", "expected \"" JSON_DUMP_FORMAT "\"");
	if (!version)
		return json_fail(rd, "(top level)", "missing key \"version\"");
	r = get_uint(rd, "version", version, UINT32_MAX, &ver);
	if (r < 0)
		return r;
	if (ver != JSON_DUMP_VERSION)
		return caps_dump_error_set(rd->err, 0, 0, 0, "version: %u is not supported (expected %d)",
					   ver, JSON_DUMP_VERSION);
	if (comment) {
		const char *s;
		size_t n;

		if (!json_object_is_type(comment, json_type_string))
			return json_fail(rd, "comment", "expected a string");
		s = json_object_get_string(comment);
		n = (size_t)json_object_get_string_len(comment);
		if (!caps_dump_comment_is_valid(s, n))
			return caps_dump_error_set(rd->err, 0, 0, 0,
						   "comment: expected UTF-8 text without control characters, at most %zu bytes",
						   sizeof(rd->dump->comment) - 1);
		memcpy(rd->dump->comment, s, n);
		rd->dump->comment[n] = '\0';
	}
	if (!cpuid)
		return json_fail(rd, "(top level)", "missing key \"cpuid\"");
	r = read_array(rd, "cpuid", cpuid, CAPS_CPUID_MAX_ENTRIES, read_cpuid_entry);
	if (r < 0)
		return r;
	if (rd->dump->cpuid.nent == 0)
		return json_fail(rd, "cpuid", "no entries");
	if (msrs) {
		r = read_array(rd, "msrs", msrs, CAPS_MSR_MAX, read_msr);
		if (r < 0)
			return r;
	}
	return 0;
}

/*
 * Whether buf is one complete JSON value.  Strict json-c fails on data
 * after the top-level object rather than stopping there; this tells
 * that case apart from a real syntax error, on the error path only.
 */
static bool json_is_complete(const char *buf, size_t len)
{
	struct json_tokener *tok = json_tokener_new_ex(JSON_MAX_DEPTH);
	struct json_object *obj;

	if (!tok)
		return false;
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8);
	obj = json_tokener_parse_ex(tok, buf, (int)len);
	json_tokener_free(tok);
	if (!obj)
		return false;
	json_object_put(obj);
	return true;
}

int caps_dump_parse_json(const char *buf, size_t len, struct caps_dump *ret,
			 struct caps_dump_error *err)
{
	struct json_reader rd = { .err = err };
	struct json_tokener *tok;
	struct json_object *top;
	size_t start = 0, end;
	int r;

	/* json_tokener_parse_ex() takes an int; callers cap dumps far below that. */
	if (len > CAPS_DUMP_MAX_BYTES)
		return caps_dump_error_set(err, 0, 0, 0, "dump is larger than %d bytes",
					   CAPS_DUMP_MAX_BYTES);
	/* RFC 8259 lets a reader ignore a byte order mark; json-c would not. */
	if (len >= 3 && memcmp(buf, "\xef\xbb\xbf", 3) == 0)
		start = 3;
	while (start < len && is_json_blank(buf[start]))
		start++;
	if (start == len)
		return caps_dump_error_set(err, 0, 0, len, "empty input");
	if (buf[start] != '{')
		return json_error_at(err, buf, start, "expected a JSON object");

	tok = json_tokener_new_ex(JSON_MAX_DEPTH);
	if (!tok)
		return -ENOMEM;
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8);
	top = json_tokener_parse_ex(tok, buf + start, (int)(len - start));
	end = start + json_tokener_get_parse_end(tok);
	if (!top) {
		enum json_tokener_error jerr = json_tokener_get_error(tok);

		char msg[128];

		if (jerr == json_tokener_continue)
			snprintf(msg, sizeof(msg), "unexpected end of input: the dump is truncated");
		else if (json_is_complete(buf + start, end - start))
			snprintf(msg, sizeof(msg), "trailing data after the JSON object");
		else
			snprintf(msg, sizeof(msg), "JSON syntax error: %s", json_tokener_error_desc(jerr));
		r = json_error_at(err, buf, jerr == json_tokener_continue ? len : end, msg);
		json_tokener_free(tok);
		return r;
	}
	json_tokener_free(tok);

	for (size_t i = end; i < len; i++) {
		if (!is_json_blank(buf[i])) {
			json_object_put(top);
			return json_error_at(err, buf, i, "trailing data after the JSON object");
		}
	}
	r = json_check(buf, start, end, err);
	if (r < 0) {
		json_object_put(top);
		return r;
	}

	rd.dump = malloc(sizeof(*rd.dump));
	if (!rd.dump) {
		json_object_put(top);
		return -ENOMEM;
	}
	caps_dump_init(rd.dump);
	r = read_top(&rd, top);
	if (r == 0)
		*ret = *rd.dump;
	free(rd.dump);
	json_object_put(top);
	return r;
}

/* Add key: val to obj, consuming val; -ENOMEM if either is missing. */
static int add_member(struct json_object *obj, const char *key, struct json_object *val)
{
	if (!val)
		return -ENOMEM;
	if (json_object_object_add(obj, key, val) < 0) {
		json_object_put(val);
		return -ENOMEM;
	}
	return 0;
}

static struct json_object *build_cpuid_entry(const struct caps_cpuid_entry *e)
{
	struct json_object *obj = json_object_new_object();

	if (!obj)
		return NULL;
	for (size_t f = 0; f < CPUID_NFIELDS; f++) {
		uint32_t v = *(const uint32_t *)(const void *)((const char *)e + cpuid_fields[f].offset);

		if (add_member(obj, cpuid_fields[f].name, json_object_new_int64(v)) < 0) {
			json_object_put(obj);
			return NULL;
		}
	}
	return obj;
}

static struct json_object *build_msr(const struct caps_msr *m)
{
	struct json_object *obj = json_object_new_object();
	char value[sizeof("0x") + 16];

	if (!obj)
		return NULL;
	snprintf(value, sizeof(value), "0x%016" PRIx64, m->value);
	if (add_member(obj, "index", json_object_new_int64(m->index)) < 0 ||
	    add_member(obj, "value", json_object_new_string(value)) < 0) {
		json_object_put(obj);
		return NULL;
	}
	return obj;
}

/* Append the results of build(items[i]) to a new array; NULL on ENOMEM. */
static struct json_object *build_cpuid_array(const struct caps_cpuid *c)
{
	struct json_object *arr = json_object_new_array_ext((int)c->nent);

	for (size_t i = 0; arr && i < c->nent; i++) {
		struct json_object *e = build_cpuid_entry(&c->entries[i]);

		if (!e || json_object_array_add(arr, e) < 0) {
			json_object_put(e);
			json_object_put(arr);
			arr = NULL;
		}
	}
	return arr;
}

static struct json_object *build_msr_array(const struct caps_msrs *m)
{
	struct json_object *arr = json_object_new_array_ext((int)m->n);

	for (size_t i = 0; arr && i < m->n; i++) {
		struct json_object *e = build_msr(&m->msrs[i]);

		if (!e || json_object_array_add(arr, e) < 0) {
			json_object_put(e);
			json_object_put(arr);
			arr = NULL;
		}
	}
	return arr;
}

int caps_dump_write_json(const struct caps_dump *d, char **ret)
{
	struct json_object *top;
	const char *s;
	char *out;
	int r;

	top = json_object_new_object();
	if (!top)
		return -ENOMEM;
	/* json-c keeps insertion order: the documented key order. */
	r = add_member(top, "format", json_object_new_string(JSON_DUMP_FORMAT));
	if (r == 0)
		r = add_member(top, "version", json_object_new_int(JSON_DUMP_VERSION));
	if (r == 0 && d->comment[0])
		r = add_member(top, "comment", json_object_new_string(d->comment));
	if (r == 0)
		r = add_member(top, "cpuid", build_cpuid_array(&d->cpuid));
	if (r == 0 && d->msrs.n > 0)
		r = add_member(top, "msrs", build_msr_array(&d->msrs));
	if (r < 0) {
		json_object_put(top);
		return r;
	}
	s = json_object_to_json_string_ext(top, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED |
					   JSON_C_TO_STRING_NOSLASHESCAPE);
	if (!s || asprintf(&out, "%s\n", s) < 0) {
		json_object_put(top);
		return -ENOMEM;
	}
	json_object_put(top);
	*ret = out;
	return 0;
}
