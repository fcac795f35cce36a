/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * JSON text to json-c objects to C structs, strictly (json-decode.h).
 * json-c parses; caps_json_check() refuses what json-c lets through; the
 * field tables decode.  The decoder recurses along the tables, whose
 * nesting the program fixes, never along the input.
 */

#include <assert.h>
#include <errno.h>
#include <inttypes.h>
#include <json-c/json.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <libcaps/json-check.h>
#include <proto/json-decode.h>

/* Longest key or string value an error shows before cutting it with "...". */
#define SHOWN_MAX (PROTO_SHOWN_SIZE - 5)

int proto_error_set(struct proto_error *err, const char *path, const char *fmt, ...)
{
	va_list ap;

	if (!err)
		return -EINVAL;
	snprintf(err->path, sizeof(err->path), "%s", path ? path : "");
	va_start(ap, fmt);
	vsnprintf(err->message, sizeof(err->message), fmt, ap);
	va_end(ap);
	return -EINVAL;
}

const char *proto_json_show(char *buf, size_t size, const char *s, size_t len)
{
	size_t n = 0;

	assert(size >= PROTO_SHOWN_SIZE);
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c >= 0x80 && c < 0xc0)
			continue;
		if (n == SHOWN_MAX) {
			memcpy(buf + n, "...", 4);
			return buf;
		}
		buf[n++] = c >= 0x20 && c < 0x7f ? (char)c : '?';
	}
	buf[n] = '\0';
	return buf;
}

/* Mark a path cut short by snprintf(). */
static void path_cut(char *buf, size_t size, int n)
{
	if (n >= 0 && (size_t)n >= size && size > 4)
		memcpy(buf + size - 4, "...", 4);
}

/*
 * buf = a b c, cut with "..." as path_cut() marks what snprintf() cut.
 * Paths are built for every member decoded, errors or not: no snprintf().
 */
static void path_join(char *buf, size_t size, const char *a, const char *b, const char *c)
{
	const char *parts[3] = { a, b, c };
	size_t n = 0;

	if (size == 0)
		return;
	for (size_t i = 0; i < 3; i++) {
		size_t len = strlen(parts[i]);

		if (len > size - 1 - n) {
			memcpy(buf + n, parts[i], size - 1 - n);
			buf[size - 1] = '\0';
			path_cut(buf, size, (int)size);
			return;
		}
		memcpy(buf + n, parts[i], len);
		n += len;
	}
	buf[n] = '\0';
}

void proto_json_path_key(char *buf, size_t size, const char *parent, const char *key)
{
	char shown[PROTO_SHOWN_SIZE];

	proto_json_show(shown, sizeof(shown), key, strlen(key));
	path_join(buf, size, parent, parent[0] ? "." : "", shown);
}

void proto_json_path_index(char *buf, size_t size, const char *parent, size_t index)
{
	char digits[24], *d = digits + sizeof(digits);

	*--d = '\0';
	*--d = ']';
	do
		*--d = (char)('0' + index % 10);
	while ((index /= 10) != 0);
	*--d = '[';
	path_join(buf, size, parent, d, "");
}

const char *proto_json_type_desc(struct json_object *v)
{
	switch (json_object_get_type(v)) {
	case json_type_null:
		return "null";
	case json_type_boolean:
		return "a boolean";
	case json_type_double:
		return "a number with a fraction or exponent";
	case json_type_int:
		return "an integer";
	case json_type_object:
		return "an object";
	case json_type_array:
		return "an array";
	case json_type_string:
		return "a string";
	}
	return "an unknown type";
}

static bool is_blank(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* Fail at byte at of buf, with its line and column (1-based). */
static int text_error(struct proto_error *err, int r, const char *buf, size_t at, const char *what)
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
	proto_error_set(err, "", "%s at line %u, column %u (byte %zu)", what, line, column, at);
	return r;
}

/*
 * json-c counts the depth of values: a scalar inside n containers is at
 * n + 1.  Its limit one above ours lets every container hold values.
 */
static struct json_tokener *tokener_new(unsigned max_depth)
{
	struct json_tokener *tok = json_tokener_new_ex((int)max_depth + 1);

	if (tok)
		json_tokener_set_flags(tok, JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8);
	return tok;
}

/*
 * Whether buf is one complete JSON value.  Strict json-c fails on data
 * after the value rather than stopping there; this tells that case
 * apart from a real syntax error, on the error path only.
 */
static bool is_complete(const char *buf, size_t len, unsigned max_depth)
{
	struct json_tokener *tok = tokener_new(max_depth);
	struct json_object *obj;

	if (!tok)
		return false;
	obj = json_tokener_parse_ex(tok, buf, (int)len);
	json_tokener_free(tok);
	json_object_put(obj);
	return obj != NULL;
}

/*
 * caps_json_check() of buf[start, end): what json-c lets through (duplicate
 * keys, U+0000 in keys, nesting past max_depth), with the path of the
 * member at fault.  0, or -errno with err set.
 */
static int check_error(const char *buf, size_t start, size_t end, unsigned max_depth,
		       struct proto_error *err)
{
	struct caps_json_check_error cerr;
	int r;

	r = caps_json_check(buf + start, end - start, max_depth, &cerr);
	if (r == 0 || r == -ENOMEM)
		return r;
	text_error(err, r, buf, start + cerr.offset, cerr.message);
	if (err && cerr.key[0])
		proto_json_path_key(err->path, sizeof(err->path), cerr.path, cerr.key);
	else if (err)
		snprintf(err->path, sizeof(err->path), "%s", cerr.path);
	return r;
}

int proto_json_parse(const char *buf, size_t len, unsigned max_depth,
		     struct json_object **ret, struct proto_error *err)
{
	struct json_tokener *tok;
	struct json_object *obj;
	const char *nul;
	size_t start = 0, end;
	char what[sizeof(((struct caps_json_check_error *)0)->message) + 32];
	int r;

	if ((!buf && len) || max_depth == 0 || max_depth > CAPS_JSON_CHECK_MAX_DEPTH)
		return -EINVAL;
	/* json_tokener_parse_ex() takes an int; callers cap documents far below it. */
	if (len > INT32_MAX) {
		proto_error_set(err, "", "text larger than %d bytes", INT32_MAX);
		return -E2BIG;
	}
	nul = len ? memchr(buf, '\0', len) : NULL;
	if (nul)
		return text_error(err, -EINVAL, buf, (size_t)(nul - buf), "NUL byte");
	while (start < len && is_blank(buf[start]))
		start++;
	if (start == len)
		return proto_error_set(err, "", "empty input");
	/* Only an object ends unambiguously: a bare number at the end could go on. */
	if (buf[start] != '{')
		return text_error(err, -EINVAL, buf, start, "expected a JSON object");

	tok = tokener_new(max_depth);
	if (!tok)
		return -ENOMEM;
	obj = json_tokener_parse_ex(tok, buf + start, (int)(len - start));
	end = start + json_tokener_get_parse_end(tok);
	if (!obj) {
		enum json_tokener_error jerr = json_tokener_get_error(tok);

		json_tokener_free(tok);
		/* Too deep for json-c: say where, as caps_json_check() does below the limit. */
		if (jerr == json_tokener_error_depth && check_error(buf, start, len, max_depth, err) < 0)
			return -EINVAL;
		if (jerr == json_tokener_continue)
			return text_error(err, -EINVAL, buf, len, "unexpected end of input: the text is truncated");
		if (is_complete(buf + start, end - start, max_depth))
			return text_error(err, -EINVAL, buf, end, "trailing data after the JSON object");
		snprintf(what, sizeof(what), "JSON syntax error: %s", json_tokener_error_desc(jerr));
		return text_error(err, -EINVAL, buf, end, what);
	}
	json_tokener_free(tok);

	for (size_t i = end; i < len; i++) {
		if (!is_blank(buf[i])) {
			json_object_put(obj);
			return text_error(err, -EINVAL, buf, i, "trailing data after the JSON object");
		}
	}

	r = check_error(buf, start, end, max_depth, err);
	if (r < 0) {
		json_object_put(obj);
		return r;
	}
	*ret = obj;
	return 0;
}

int proto_json_get_int(struct json_object *v, int64_t min, int64_t max, const char *path,
		       int64_t *ret, struct proto_error *err)
{
	int64_t i;

	if (!json_object_is_type(v, json_type_int))
		return proto_error_set(err, path, "expected an integer in %" PRId64 "..%" PRId64 ", got %s",
				       min, max, proto_json_type_desc(v));
	i = json_object_get_int64(v);
	/* json-c holds 2^63..2^64-1 as uint64 and reads it back as INT64_MAX. */
	if (i == INT64_MAX && json_object_get_uint64(v) > (uint64_t)INT64_MAX)
		return proto_error_set(err, path, "expected an integer in %" PRId64 "..%" PRId64 ", got %" PRIu64,
				       min, max, json_object_get_uint64(v));
	if (i < min || i > max)
		return proto_error_set(err, path, "expected an integer in %" PRId64 "..%" PRId64 ", got %" PRId64,
				       min, max, i);
	*ret = i;
	return 0;
}

int proto_json_get_string(struct json_object *v, size_t max_len, const char *path,
			  const char **ret, size_t *ret_len, struct proto_error *err)
{
	const char *s;
	size_t n;

	if (!json_object_is_type(v, json_type_string))
		return proto_error_set(err, path, "expected a string, got %s", proto_json_type_desc(v));
	s = json_object_get_string(v);
	n = (size_t)json_object_get_string_len(v);
	/* json-c keeps "\u0000" in the string; C would end it there. */
	if (memchr(s, '\0', n))
		return proto_error_set(err, path, "string contains a NUL character");
	if (n > max_len)
		return proto_error_set(err, path, "expected at most %zu bytes, got %zu", max_len, n);
	*ret = s;
	*ret_len = n;
	return 0;
}

int proto_decode_hex64(const struct proto_field *f, struct json_object *v, void *base,
		       const char *path, struct proto_error *err)
{
	static const char expected[] = "expected a \"0x\" hex string of at most 64 bits";
	uint64_t value = 0;
	const char *s;
	size_t n;

	assert(f->size == sizeof(uint64_t));
	if (!json_object_is_type(v, json_type_string))
		return proto_error_set(err, path, "%s, got %s", expected, proto_json_type_desc(v));
	s = json_object_get_string(v);
	n = (size_t)json_object_get_string_len(v);
	if (n < 3 || s[0] != '0' || (s[1] != 'x' && s[1] != 'X'))
		return proto_error_set(err, path, "%s", expected);
	for (size_t i = 2; i < n; i++) {
		char c = s[i];
		unsigned d;

		if (c >= '0' && c <= '9')
			d = (unsigned)(c - '0');
		else if (c >= 'a' && c <= 'f')
			d = (unsigned)(c - 'a' + 10);
		else if (c >= 'A' && c <= 'F')
			d = (unsigned)(c - 'A' + 10);
		else
			return proto_error_set(err, path, "%s", expected);
		if (value > UINT64_MAX >> 4)
			return proto_error_set(err, path, "value does not fit in 64 bits");
		value = value << 4 | d;
	}
	memcpy((char *)base + f->offset, &value, sizeof(value));
	return 0;
}

/* Whether min..max fits the member: signed or unsigned, as the table means it. */
static bool range_fits(size_t size, int64_t min, int64_t max)
{
	switch (size) {
	case 1:
		return min >= INT8_MIN && max <= UINT8_MAX;
	case 2:
		return min >= INT16_MIN && max <= UINT16_MAX;
	case 4:
		return min >= INT32_MIN && max <= UINT32_MAX;
	case 8:
		return true;
	default:
		return false;
	}
}

/* Store v, in range for the member (range_fits()), as its size says. */
static void store_int(void *ptr, size_t size, int64_t v)
{
	uint8_t u8 = (uint8_t)v;
	uint16_t u16 = (uint16_t)v;
	uint32_t u32 = (uint32_t)v;

	switch (size) {
	case 1:
		memcpy(ptr, &u8, 1);
		break;
	case 2:
		memcpy(ptr, &u16, 2);
		break;
	case 4:
		memcpy(ptr, &u32, 4);
		break;
	default:
		memcpy(ptr, &v, 8);
		break;
	}
}

static int decode_enum(const struct proto_field *f, struct json_object *v, void *ptr,
		       const char *path, struct proto_error *err)
{
	char list[192], shown[PROTO_SHOWN_SIZE];
	const char *s = "", *name;
	size_t n = 0, at = 0;
	int i;

	assert(f->enum_name && f->size == sizeof(int));
	if (json_object_is_type(v, json_type_string)) {
		s = json_object_get_string(v);
		n = (size_t)json_object_get_string_len(v);
		for (i = 0; (name = f->enum_name(i)); i++) {
			if (strlen(name) == n && memcmp(name, s, n) == 0) {
				memcpy(ptr, &i, sizeof(i));
				return 0;
			}
		}
	}

	list[0] = '\0';
	for (i = 0; (name = f->enum_name(i)) && at < sizeof(list); i++) {
		int w = snprintf(list + at, sizeof(list) - at, "%s\"%s\"", i ? ", " : "", name);

		if (w < 0)
			break;
		at += (size_t)w;
	}
	path_cut(list, sizeof(list), (int)at);
	if (!json_object_is_type(v, json_type_string))
		return proto_error_set(err, path, "expected one of %s, got %s", list, proto_json_type_desc(v));
	return proto_error_set(err, path, "expected one of %s, got \"%s\"", list,
			       proto_json_show(shown, sizeof(shown), s, n));
}

static int decode_string(const struct proto_field *f, struct json_object *v, void *ptr,
			 const char *path, struct proto_error *err)
{
	size_t max = f->max_len ? f->max_len : f->size - 1;
	const char *s;
	size_t n;
	int r;

	assert(max < f->size);
	r = proto_json_get_string(v, max, path, &s, &n, err);
	if (r < 0)
		return r;
	if (f->valid && !f->valid(s, n))
		return proto_error_set(err, path, "expected %s", f->valid_desc ? f->valid_desc : "a valid string");
	memcpy(ptr, s, n);
	((char *)ptr)[n] = '\0';
	return 0;
}

static int decode_array(const struct proto_field *f, struct json_object *v, void *ptr,
			const char *path, struct proto_error *err)
{
	char sub[sizeof(err->path)];
	size_t n;

	assert(f->element && f->element_size);
	if (!json_object_is_type(v, json_type_array))
		return proto_error_set(err, path, "expected an array, got %s", proto_json_type_desc(v));
	n = json_object_array_length(v);
	if (n > f->max_count) {
		proto_error_set(err, path, "%zu elements, at most %zu allowed", n, f->max_count);
		return -E2BIG;
	}
	for (size_t i = 0; i < n; i++) {
		char *elem = (char *)ptr + i * f->element_size;
		int r;

		proto_json_path_index(sub, sizeof(sub), path, i);
		memset(elem, 0, f->element_size);
		r = proto_json_decode_value(f->element, json_object_array_get_idx(v, i), elem, sub, err);
		if (r < 0)
			return r;
	}
	return (int)n;
}

static int decode_map(const struct proto_field *f, struct json_object *v, void *ptr,
		      const char *path, struct proto_error *err)
{
	size_t max_key = f->max_len ? f->max_len : f->key_size - 1;
	char sub[sizeof(err->path)];
	struct json_object_iter it;
	size_t n, i = 0;

	assert(f->element && f->element_size && max_key < f->key_size);
	if (!json_object_is_type(v, json_type_object))
		return proto_error_set(err, path, "expected an object, got %s", proto_json_type_desc(v));
	n = (size_t)json_object_object_length(v);
	if (n > f->max_count) {
		proto_error_set(err, path, "%zu members, at most %zu allowed", n, f->max_count);
		return -E2BIG;
	}
	json_object_object_foreachC(v, it) {
		char *elem = (char *)ptr + i * f->element_size;
		size_t klen = strlen(it.key);
		int r;

		proto_json_path_key(sub, sizeof(sub), path, it.key);
		if (klen == 0 || klen > max_key)
			return proto_error_set(err, sub, "expected a key of 1..%zu bytes, got %zu",
					       max_key, klen);
		if (f->valid && !f->valid(it.key, klen))
			return proto_error_set(err, sub, "invalid key: expected %s",
					       f->valid_desc ? f->valid_desc : "a valid key");
		memset(elem, 0, f->element_size);
		memcpy(elem + f->key_offset, it.key, klen + 1);
		r = proto_json_decode_value(f->element, it.val, elem, sub, err);
		if (r < 0)
			return r;
		i++;
	}
	return (int)i;
}

int proto_json_decode_value(const struct proto_field *f, struct json_object *v, void *base,
			    const char *path, struct proto_error *err)
{
	char *ptr = (char *)base + f->offset;
	int64_t i;
	int r;

	switch (f->type) {
	case PROTO_FIELD_BOOL:
		assert(f->size == sizeof(bool));
		if (!json_object_is_type(v, json_type_boolean))
			return proto_error_set(err, path, "expected true or false, got %s", proto_json_type_desc(v));
		*(bool *)ptr = json_object_get_boolean(v);
		return 0;
	case PROTO_FIELD_INT:
		assert(f->min <= f->max && f->min > INT64_MIN && f->max < INT64_MAX);
		assert(range_fits(f->size, f->min, f->max));
		r = proto_json_get_int(v, f->min, f->max, path, &i, err);
		if (r < 0)
			return r;
		store_int(ptr, f->size, i);
		return 0;
	case PROTO_FIELD_STRING:
		return decode_string(f, v, ptr, path, err);
	case PROTO_FIELD_ENUM:
		return decode_enum(f, v, ptr, path, err);
	case PROTO_FIELD_OBJECT:
		return proto_json_decode_object(f->fields, v, ptr, path, err);
	case PROTO_FIELD_ARRAY:
	case PROTO_FIELD_MAP: {
		size_t n;

		r = f->type == PROTO_FIELD_ARRAY ? decode_array(f, v, ptr, path, err)
						 : decode_map(f, v, ptr, path, err);
		if (r < 0)
			return r;
		/* memcpy(), as store_int() does: this code cannot see the member's alignment. */
		n = (size_t)r;
		memcpy((char *)base + f->count_offset, &n, sizeof(n));
		return 0;
	}
	case PROTO_FIELD_CUSTOM:
		assert(f->decode);
		return f->decode(f, v, base, path, err);
	}
	assert(!"unknown field type");
	return -EINVAL;
}

static const struct proto_field *field_find(const struct proto_field *fields, const char *key)
{
	for (const struct proto_field *f = fields; f->name; f++)
		if (strcmp(f->name, key) == 0)
			return f;
	return NULL;
}

static int unknown_key(const struct proto_field *fields, const char *path, const char *key,
		       struct proto_error *err)
{
	char known[160], shown[PROTO_SHOWN_SIZE];
	size_t at = 0;

	known[0] = '\0';
	for (const struct proto_field *f = fields; f->name && at < sizeof(known); f++) {
		int w = snprintf(known + at, sizeof(known) - at, "%s%s", at ? ", " : "", f->name);

		if (w < 0)
			break;
		at += (size_t)w;
	}
	path_cut(known, sizeof(known), (int)at);
	return proto_error_set(err, path, "unknown key \"%s\" (known keys: %s)",
			       proto_json_show(shown, sizeof(shown), key, strlen(key)), known);
}

int proto_json_decode_object(const struct proto_field *fields, struct json_object *obj,
			     void *base, const char *path, struct proto_error *err)
{
	char sub[sizeof(err->path)];
	struct json_object_iter it;

	if (!json_object_is_type(obj, json_type_object))
		return proto_error_set(err, path, "expected an object, got %s", proto_json_type_desc(obj));
	json_object_object_foreachC(obj, it) {
		const struct proto_field *f = field_find(fields, it.key);
		int r;

		proto_json_path_key(sub, sizeof(sub), path, it.key);
		if (!f)
			return unknown_key(fields, sub, it.key, err);
		if (!it.val && (f->flags & PROTO_FIELD_NULLABLE))
			continue;
		r = proto_json_decode_value(f, it.val, base, sub, err);
		if (r < 0)
			return r;
		if (f->flags & PROTO_FIELD_PRESENCE)
			*(bool *)((char *)base + f->presence_offset) = true;
	}
	for (const struct proto_field *f = fields; f->name; f++) {
		struct json_object *v;

		if (!(f->flags & PROTO_FIELD_REQUIRED))
			continue;
		if (!json_object_object_get_ex(obj, f->name, &v) ||
		    (!v && (f->flags & PROTO_FIELD_NULLABLE))) {
			proto_json_path_key(sub, sizeof(sub), path, f->name);
			return proto_error_set(err, sub, "missing required key");
		}
	}
	return 0;
}
