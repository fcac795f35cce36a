/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* JSON text straight into a buffer (proto/json-writer.h). */

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include <proto/json-writer.h>

#define JW_FIRST_CAP	8192

void proto_jw_init(struct proto_json_writer *w, size_t max)
{
	*w = (struct proto_json_writer){ .max = max ? max : SIZE_MAX };
}

void proto_jw_done(struct proto_json_writer *w)
{
	free(w->data);
	proto_jw_init(w, w->max);
}

/* jw_reserve()'s rare part: grow the buffer, or fail for good. */
static bool jw_grow(struct proto_json_writer *w, size_t n)
{
	size_t cap;
	char *p;

	if (w->error)
		return false;
	if (n > w->max - w->len) {
		w->error = -E2BIG;
		return false;
	}
	cap = w->cap ? w->cap : JW_FIRST_CAP;
	while (cap - w->len < n)
		cap = cap > SIZE_MAX / 2 ? SIZE_MAX : cap * 2;
	p = realloc(w->data, cap);
	if (!p) {
		w->error = -ENOMEM;
		return false;
	}
	w->data = p;
	w->cap = cap;
	return true;
}

/*
 * Room for n more bytes, or false (and the error set) from now on.  cap
 * never exceeds what max allows plus the growth step, so the limit is
 * checked here too: len + n past max fails even with room in the buffer.
 */
static inline bool jw_reserve(struct proto_json_writer *w, size_t n)
{
	if (n <= w->cap - w->len && n <= w->max - w->len && !w->error)
		return true;
	return jw_grow(w, n);
}

void proto_jw_raw(struct proto_json_writer *w, const char *s, size_t n)
{
	if (!jw_reserve(w, n))
		return;
	memcpy(w->data + w->len, s, n);
	w->len += n;
}

static void jw_byte(struct proto_json_writer *w, char c)
{
	if (jw_reserve(w, 1))
		w->data[w->len++] = c;
}

/* A value or a key goes after a ',' unless it is its container's first. */
static void jw_separate(struct proto_json_writer *w)
{
	if (w->comma)
		jw_byte(w, ',');
}

void proto_jw_object_begin(struct proto_json_writer *w)
{
	jw_separate(w);
	jw_byte(w, '{');
	w->comma = false;
}

void proto_jw_object_end(struct proto_json_writer *w)
{
	jw_byte(w, '}');
	w->comma = true;
}

void proto_jw_array_begin(struct proto_json_writer *w)
{
	jw_separate(w);
	jw_byte(w, '[');
	w->comma = false;
}

void proto_jw_array_end(struct proto_json_writer *w)
{
	jw_byte(w, ']');
	w->comma = true;
}

/* Bytes json-c escapes (with JSON_C_TO_STRING_NOSLASHESCAPE): its letter, or 'u' for \u00XX. */
static const char jw_escape[256] = {
	['\b'] = 'b', ['\f'] = 'f', ['\n'] = 'n', ['\r'] = 'r', ['\t'] = 't',
	[0x00] = 'u', [0x01] = 'u', [0x02] = 'u', [0x03] = 'u', [0x04] = 'u', [0x05] = 'u',
	[0x06] = 'u', [0x07] = 'u', [0x0b] = 'u', [0x0e] = 'u', [0x0f] = 'u', [0x10] = 'u',
	[0x11] = 'u', [0x12] = 'u', [0x13] = 'u', [0x14] = 'u', [0x15] = 'u', [0x16] = 'u',
	[0x17] = 'u', [0x18] = 'u', [0x19] = 'u', [0x1a] = 'u', [0x1b] = 'u', [0x1c] = 'u',
	[0x1d] = 'u', [0x1e] = 'u', [0x1f] = 'u', ['"'] = '"', ['\\'] = '\\',
};

/* The quote, the backslash and the control characters escaped; UTF-8 and DEL as they are. */
static void jw_quoted(struct proto_json_writer *w, const char *s, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	size_t run = 0;

	/* The common case, nothing to escape, is one reservation and one copy. */
	if (!jw_reserve(w, n + 2))
		return;
	w->data[w->len++] = '"';
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		char esc = jw_escape[c];

		if (!esc)
			continue;
		proto_jw_raw(w, s + run, i - run);
		run = i + 1;
		if (esc != 'u') {
			char two[2] = { '\\', esc };

			proto_jw_raw(w, two, 2);
		} else {
			char six[6] = { '\\', 'u', '0', '0', hex[c >> 4], hex[c & 0xf] };

			proto_jw_raw(w, six, 6);
		}
	}
	proto_jw_raw(w, s + run, n - run);
	jw_byte(w, '"');
}

void proto_jw_key(struct proto_json_writer *w, const char *key)
{
	jw_separate(w);
	jw_quoted(w, key, strlen(key));
	jw_byte(w, ':');
	w->comma = false;
}

void proto_jw_key_quoted(struct proto_json_writer *w, const char *quoted, size_t n)
{
	if (!jw_reserve(w, n + 1))
		return;
	if (w->comma)
		w->data[w->len++] = ',';
	memcpy(w->data + w->len, quoted, n);
	w->len += n;
	w->comma = false;
}

void proto_jw_string_n(struct proto_json_writer *w, const char *s, size_t size)
{
	jw_separate(w);
	jw_quoted(w, s, strnlen(s, size));
	w->comma = true;
}

void proto_jw_string(struct proto_json_writer *w, const char *s)
{
	proto_jw_string_n(w, s, SIZE_MAX);
}

char *proto_jw_put_int64(char *p, int64_t v)
{
	uint64_t u = v < 0 ? -(uint64_t)v : (uint64_t)v;
	size_t n = 1;

	if (v < 0)
		*p++ = '-';
	/* The digits written backwards from the end: no copy, no memcpy() call. */
	for (uint64_t t = u; t >= 10; t /= 10)
		n++;
	for (size_t i = n; i-- > 0; u /= 10)
		p[i] = (char)('0' + u % 10);
	return p + n;
}

void proto_jw_int64(struct proto_json_writer *w, int64_t v)
{
	char buf[PROTO_JW_INT64_MAX];

	jw_separate(w);
	proto_jw_raw(w, buf, (size_t)(proto_jw_put_int64(buf, v) - buf));
	w->comma = true;
}

void proto_jw_bool(struct proto_json_writer *w, bool v)
{
	jw_separate(w);
	if (v)
		proto_jw_raw(w, "true", 4);
	else
		proto_jw_raw(w, "false", 5);
	w->comma = true;
}

int proto_jw_take(struct proto_json_writer *w, char **ret, size_t *ret_len)
{
	if (w->error)
		return w->error;
	/* The NUL may go one past max: the limit is on the text. */
	if (w->len == w->cap) {
		char *p = realloc(w->data, w->cap + 1);

		if (!p)
			return -ENOMEM;
		w->data = p;
		w->cap++;
	}
	w->data[w->len] = '\0';
	*ret = w->data;
	*ret_len = w->len;
	w->data = NULL;
	proto_jw_done(w);
	return 0;
}

int proto_jw_to_object(const struct proto_json_writer *w, struct json_object **ret)
{
	struct json_tokener *tok;
	struct json_object *obj;
	enum json_tokener_error e;

	if (w->error)
		return w->error;
	if (w->len > INT32_MAX)
		return -E2BIG;
	tok = json_tokener_new();
	if (!tok)
		return -ENOMEM;
	obj = json_tokener_parse_ex(tok, w->data ? w->data : "", (int)w->len);
	e = json_tokener_get_error(tok);
	if (obj && (e != json_tokener_success || json_tokener_get_parse_end(tok) != w->len)) {
		json_object_put(obj);
		obj = NULL;
	}
	json_tokener_free(tok);
	if (!obj)
		return e == json_tokener_success ? -ENOMEM : -EINVAL;
	*ret = obj;
	return 0;
}
