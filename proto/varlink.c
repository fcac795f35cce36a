/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Varlink messages (varlink.h; PEERS.md §4): calls and replies to and from
 * JSON text, and the NUL framing of a byte stream.  Every message is the
 * peer's: its size, bytes (UTF-8, no NUL), nesting, keys and flag types are
 * checked before any of it is used, and a builder never writes a message
 * that its own parser would refuse for its bytes.
 */

#include <errno.h>
#include <json-c/json.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <libcaps/json-check.h>
#include <proto/json-writer.h>
#include <proto/varlink.h>

/* ---- names and bytes -------------------------------------------------- */

/*
 * The offset of the first byte that does not start a well-formed UTF-8
 * sequence (RFC 3629 table 3.7 of Unicode), or len.  json-c's
 * JSON_TOKENER_VALIDATE_UTF8 only counts continuation bytes: it lets
 * overlong forms, UTF-16 surrogates and code points past U+10FFFF through.
 */
static size_t utf8_invalid_at(const char *str, size_t len)
{
	const unsigned char *s = (const unsigned char *)str;
	size_t i = 0;

	while (i < len) {
		unsigned char c = s[i];
		unsigned char lo = 0x80, hi = 0xbf;
		size_t n;

		if (c < 0x80) {
			uint64_t word;

			/* Replies are ASCII but for names: eight bytes at a time. */
			i++;
			while (len - i >= sizeof(word)) {
				memcpy(&word, s + i, sizeof(word));
				if (word & UINT64_C(0x8080808080808080))
					break;
				i += sizeof(word);
			}
			continue;
		}
		if (c >= 0xc2 && c <= 0xdf) {
			n = 1;
		} else if (c >= 0xe0 && c <= 0xef) {
			n = 2;
			if (c == 0xe0)
				lo = 0xa0;	/* overlong below U+0800 */
			else if (c == 0xed)
				hi = 0x9f;	/* U+D800..U+DFFF: surrogates */
		} else if (c >= 0xf0 && c <= 0xf4) {
			n = 3;
			if (c == 0xf0)
				lo = 0x90;	/* overlong below U+10000 */
			else if (c == 0xf4)
				hi = 0x8f;	/* past U+10FFFF */
		} else {
			return i;	/* a continuation byte, 0xc0/0xc1 (overlong) or 0xf5.. */
		}
		if (len - i <= n)
			return i;	/* truncated */
		if (s[i + 1] < lo || s[i + 1] > hi)
			return i;
		for (size_t k = 2; k <= n; k++)
			if (s[i + k] < 0x80 || s[i + k] > 0xbf)
				return i;
		i += n + 1;
	}
	return len;
}

bool proto_utf8_is_valid(const char *s, size_t len)
{
	return utf8_invalid_at(s, len) == len;
}

static bool is_alnum(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

/*
 * An interface name of n bytes at s: PEERS.md §4's reverse-domain grammar
 * with upper case letters allowed, as sd-varlink allows them: varlink.org's
 * grammar is lower case only, but io.hvcap.Vm (DESIGN.md §5) and systemd's
 * own io.systemd.Resolve are not.
 */
static bool interface_name_is_valid_n(const char *s, size_t n)
{
	size_t segments = 0;
	size_t i = 0;

	if (n == 0 || !((s[0] >= 'a' && s[0] <= 'z') || (s[0] >= 'A' && s[0] <= 'Z')))
		return false;
	while (i < n) {
		/* A segment: [A-Za-z0-9]([-]*[A-Za-z0-9])*; the first starts with a letter (above). */
		if (!is_alnum(s[i]))
			return false;
		i++;
		while (i < n && s[i] != '.') {
			if (s[i] != '-' && !is_alnum(s[i]))
				return false;
			i++;
		}
		if (s[i - 1] == '-')
			return false;
		segments++;
		if (i < n && ++i == n)
			return false;	/* a trailing '.' */
	}
	return segments >= 2;
}

static bool member_name_is_valid_n(const char *s, size_t n)
{
	if (n == 0 || s[0] < 'A' || s[0] > 'Z')
		return false;
	for (size_t i = 1; i < n; i++)
		if (!is_alnum(s[i]))
			return false;
	return true;
}

bool proto_interface_name_is_valid(const char *name)
{
	return name && interface_name_is_valid_n(name, strlen(name));
}

bool proto_member_name_is_valid(const char *name)
{
	return name && member_name_is_valid_n(name, strlen(name));
}

/* Whether s[0..n) is interface "." member; *ret_dot: where the member's dot is. */
static bool qualified_name_split(const char *s, size_t n, size_t *ret_dot)
{
	const char *dot;

	if (n > PROTO_VARLINK_NAME_MAX || memchr(s, '\0', n))
		return false;
	dot = memrchr(s, '.', n);
	if (!dot || !interface_name_is_valid_n(s, (size_t)(dot - s)) ||
	    !member_name_is_valid_n(dot + 1, n - (size_t)(dot - s) - 1))
		return false;
	*ret_dot = (size_t)(dot - s);
	return true;
}

bool proto_qualified_name_is_valid(const char *name)
{
	size_t dot;

	return name && qualified_name_split(name, strlen(name), &dot);
}

/* ---- parsing ---------------------------------------------------------- */

/*
 * The envelope of a call or reply: checked for size and bytes here (json-c
 * would stop at a NUL and accept overlong UTF-8), then parsed strictly by
 * proto_json_parse() (one object, depth, duplicate keys).
 */
static int message_parse(const char *msg, size_t len, unsigned max_depth,
			 struct json_object **ret, struct proto_error *err)
{
	const char *nul;
	size_t bad;

	if (!msg && len)
		return -EINVAL;
	if (max_depth == 0)
		max_depth = PROTO_VARLINK_MAX_DEPTH;
	if (max_depth > CAPS_JSON_CHECK_MAX_DEPTH)
		return -EINVAL;
	if (len > PROTO_VARLINK_MAX_MESSAGE) {
		proto_error_set(err, "", "message larger than %d bytes", PROTO_VARLINK_MAX_MESSAGE);
		return -E2BIG;
	}
	nul = len ? memchr(msg, '\0', len) : NULL;
	if (nul)
		return proto_error_set(err, "", "NUL byte inside the message (byte %zu)",
				       (size_t)(nul - msg));
	bad = utf8_invalid_at(msg, len);
	if (bad != len)
		return proto_error_set(err, "", "invalid UTF-8 at byte %zu", bad);
	return proto_json_parse(msg, len, max_depth, ret, err);
}

static int get_flag(struct json_object *v, const char *key, bool *ret, struct proto_error *err)
{
	if (!json_object_is_type(v, json_type_boolean))
		return proto_error_set(err, key, "expected true or false, got %s", proto_json_type_desc(v));
	*ret = json_object_get_boolean(v);
	return 0;
}

/* A qualified name value (method, error) into buf; *ret_dot: its member's dot. */
static int get_name(struct json_object *v, const char *key, char *buf, size_t *ret_dot,
		    struct proto_error *err)
{
	char shown[PROTO_SHOWN_SIZE];
	const char *s;
	size_t n;

	if (!json_object_is_type(v, json_type_string))
		return proto_error_set(err, key, "expected a string, got %s", proto_json_type_desc(v));
	s = json_object_get_string(v);
	n = (size_t)json_object_get_string_len(v);
	if (!qualified_name_split(s, n, ret_dot))
		return proto_error_set(err, key,
				       "\"%s\" is not a qualified name (interface.Member, at most %d bytes)",
				       proto_json_show(shown, sizeof(shown), s, n), PROTO_VARLINK_NAME_MAX);
	memcpy(buf, s, n);
	buf[n] = '\0';
	return 0;
}

/* parameters: an object (a new reference), or null / absent for {}. */
static int get_parameters(struct json_object *v, struct json_object **ret, struct proto_error *err)
{
	if (!v)
		return 0;
	if (!json_object_is_type(v, json_type_object))
		return proto_error_set(err, "parameters", "expected an object, got %s",
				       proto_json_type_desc(v));
	*ret = json_object_get(v);
	return 0;
}

/* A key that is not one of the envelope's: reverse-domain ones are extensions to ignore. */
static int other_key(const char *key, struct proto_error *err)
{
	char path[sizeof(err->path)];

	if (strchr(key, '.'))
		return 0;
	proto_json_path_key(path, sizeof(path), "", key);
	return proto_error_set(err, path, "unknown key (extensions need a reverse-domain name)");
}

int proto_call_parse(const char *msg, size_t len, unsigned max_depth, struct proto_call *ret,
		     struct proto_error *err)
{
	struct json_object *top, *parameters = NULL;
	struct json_object_iter it;
	char method[PROTO_VARLINK_NAME_MAX + 1] = "";
	bool has_method = false, oneway = false, more = false, upgrade = false;
	size_t dot = 0;
	int r;

	r = message_parse(msg, len, max_depth, &top, err);
	if (r < 0)
		return r;
	json_object_object_foreachC(top, it) {
		if (strcmp(it.key, "method") == 0) {
			r = get_name(it.val, "method", method, &dot, err);
			has_method = r == 0;
		} else if (strcmp(it.key, "parameters") == 0) {
			r = get_parameters(it.val, &parameters, err);
		} else if (strcmp(it.key, "oneway") == 0) {
			r = get_flag(it.val, "oneway", &oneway, err);
		} else if (strcmp(it.key, "more") == 0) {
			r = get_flag(it.val, "more", &more, err);
		} else if (strcmp(it.key, "upgrade") == 0) {
			r = get_flag(it.val, "upgrade", &upgrade, err);
		} else {
			r = other_key(it.key, err);
		}
		if (r < 0)
			goto fail;
	}
	if (!has_method) {
		r = proto_error_set(err, "method", "missing: a call names its method");
		goto fail;
	}
	if (oneway && more) {
		r = proto_error_set(err, "more", "a oneway call cannot ask for more replies");
		goto fail;
	}
	if (!parameters) {
		parameters = json_object_new_object();
		if (!parameters) {
			r = -ENOMEM;
			goto fail;
		}
	}
	json_object_put(top);

	memcpy(ret->method, method, sizeof(method));
	memcpy(ret->interface, method, dot);
	ret->interface[dot] = '\0';
	ret->member = ret->method + dot + 1;
	ret->parameters = parameters;
	ret->flags = (oneway ? PROTO_CALL_ONEWAY : 0) | (more ? PROTO_CALL_MORE : 0) |
		     (upgrade ? PROTO_CALL_UPGRADE : 0);
	return 0;

fail:
	json_object_put(parameters);
	json_object_put(top);
	return r;
}

void proto_call_done(struct proto_call *call)
{
	if (!call)
		return;
	json_object_put(call->parameters);
	call->parameters = NULL;
}

int proto_reply_parse(const char *msg, size_t len, unsigned max_depth, struct proto_reply *ret,
		      struct proto_error *err)
{
	struct json_object *top, *parameters = NULL;
	struct json_object_iter it;
	char error[PROTO_VARLINK_NAME_MAX + 1] = "";
	bool continues = false, upgraded = false;
	size_t dot;
	int r;

	r = message_parse(msg, len, max_depth, &top, err);
	if (r < 0)
		return r;
	json_object_object_foreachC(top, it) {
		if (strcmp(it.key, "parameters") == 0)
			r = get_parameters(it.val, &parameters, err);
		else if (strcmp(it.key, "continues") == 0)
			r = get_flag(it.val, "continues", &continues, err);
		else if (strcmp(it.key, "upgraded") == 0)
			r = get_flag(it.val, "upgraded", &upgraded, err);
		else if (strcmp(it.key, "error") == 0)
			r = get_name(it.val, "error", error, &dot, err);
		else
			r = other_key(it.key, err);
		if (r < 0)
			goto fail;
	}
	if (error[0] && continues) {
		r = proto_error_set(err, "continues", "an error reply ends the call: it cannot continue");
		goto fail;
	}
	if (!parameters) {
		parameters = json_object_new_object();
		if (!parameters) {
			r = -ENOMEM;
			goto fail;
		}
	}
	json_object_put(top);

	ret->parameters = parameters;
	ret->continues = continues;
	memcpy(ret->error, error, sizeof(error));
	return 0;

fail:
	json_object_put(parameters);
	json_object_put(top);
	return r;
}

void proto_reply_done(struct proto_reply *r)
{
	if (!r)
		return;
	json_object_put(r->parameters);
	r->parameters = NULL;
}

/* ---- building --------------------------------------------------------- */

void proto_message_done(struct proto_message *m)
{
	if (!m)
		return;
	free(m->data);
	m->data = NULL;
	m->len = 0;
}

/* Add key: val to obj, consuming val. */
static int add(struct json_object *obj, const char *key, struct json_object *val)
{
	if (!val)
		return -ENOMEM;
	if (json_object_object_add(obj, key, val) < 0) {
		json_object_put(val);
		return -ENOMEM;
	}
	return 0;
}

/* Add parameters (not consumed) unless NULL or empty; -EINVAL if not an object. */
static int add_parameters(struct json_object *obj, struct json_object *parameters)
{
	if (!parameters)
		return 0;
	if (!json_object_is_type(parameters, json_type_object))
		return -EINVAL;
	if (json_object_object_length(parameters) == 0)
		return 0;
	return add(obj, "parameters", json_object_get(parameters));
}

/* Write obj as a NUL-terminated message; consumes obj. */
static int message_finish(struct json_object *obj, struct proto_message *ret)
{
	const char *s;
	size_t n;
	char *data;
	int r = 0;

	s = json_object_to_json_string_length(obj, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE,
					      &n);
	if (!s)
		r = -ENOMEM;
	else if (n > PROTO_VARLINK_MAX_MESSAGE)
		r = -E2BIG;
	else if (memchr(s, '\0', n) || !proto_utf8_is_valid(s, n))
		r = -EINVAL;
	if (r < 0) {
		json_object_put(obj);
		return r;
	}
	data = malloc(n + 1);
	if (!data) {
		json_object_put(obj);
		return -ENOMEM;
	}
	memcpy(data, s, n);
	data[n] = '\0';
	json_object_put(obj);
	ret->data = data;
	ret->len = n + 1;
	return 0;
}

int proto_call_build(const char *method, struct json_object *parameters, unsigned flags,
		     struct proto_message *ret)
{
	struct json_object *obj;
	int r;

	if (!proto_qualified_name_is_valid(method) ||
	    (flags & ~(PROTO_CALL_ONEWAY | PROTO_CALL_MORE | PROTO_CALL_UPGRADE)) ||
	    ((flags & PROTO_CALL_ONEWAY) && (flags & PROTO_CALL_MORE)) ||
	    (parameters && !json_object_is_type(parameters, json_type_object)))
		return -EINVAL;
	obj = json_object_new_object();
	if (!obj)
		return -ENOMEM;
	r = add(obj, "method", json_object_new_string(method));
	if (r == 0)
		r = add_parameters(obj, parameters);
	if (r == 0 && (flags & PROTO_CALL_ONEWAY))
		r = add(obj, "oneway", json_object_new_boolean(true));
	if (r == 0 && (flags & PROTO_CALL_MORE))
		r = add(obj, "more", json_object_new_boolean(true));
	if (r == 0 && (flags & PROTO_CALL_UPGRADE))
		r = add(obj, "upgrade", json_object_new_boolean(true));
	if (r < 0) {
		json_object_put(obj);
		return r;
	}
	return message_finish(obj, ret);
}

int proto_reply_build(struct json_object *parameters, bool continues, struct proto_message *ret)
{
	struct json_object *obj;
	int r;

	if (parameters && !json_object_is_type(parameters, json_type_object))
		return -EINVAL;
	obj = json_object_new_object();
	if (!obj)
		return -ENOMEM;
	r = add_parameters(obj, parameters);
	if (r == 0 && continues)
		r = add(obj, "continues", json_object_new_boolean(true));
	if (r < 0) {
		json_object_put(obj);
		return r;
	}
	return message_finish(obj, ret);
}

void proto_reply_begin(struct proto_json_writer *w)
{
	proto_jw_init(w, PROTO_VARLINK_MAX_MESSAGE);
	proto_jw_raw(w, "{\"parameters\":", strlen("{\"parameters\":"));
}

int proto_reply_finish(struct proto_json_writer *w, bool continues, struct proto_message *ret)
{
	int r;

	if (continues)
		proto_jw_raw(w, ",\"continues\":true", strlen(",\"continues\":true"));
	proto_jw_raw(w, "}", 1);
	r = proto_jw_error(w);
	if (r == 0 && (memchr(w->data, '\0', w->len) || !proto_utf8_is_valid(w->data, w->len)))
		r = -EINVAL;
	if (r == 0)
		r = proto_jw_take(w, &ret->data, &ret->len);
	if (r < 0) {
		proto_jw_done(w);
		return r;
	}
	ret->len++;
	return 0;
}

int proto_error_build(const char *error, struct json_object *parameters, struct proto_message *ret)
{
	struct json_object *obj;
	int r;

	if (!proto_qualified_name_is_valid(error) ||
	    (parameters && !json_object_is_type(parameters, json_type_object)))
		return -EINVAL;
	obj = json_object_new_object();
	if (!obj)
		return -ENOMEM;
	r = add(obj, "error", json_object_new_string(error));
	if (r == 0)
		r = add_parameters(obj, parameters);
	if (r < 0) {
		json_object_put(obj);
		return r;
	}
	return message_finish(obj, ret);
}

/* ---- framing ---------------------------------------------------------- */

/* A buffer that grew past this for one large message shrinks back once it is drained. */
#define FRAMER_KEEP	(64 * 1024)
#define FRAMER_INITIAL	4096

int proto_framer_init(struct proto_framer *f, size_t max)
{
	if (max == 0)
		max = PROTO_VARLINK_MAX_MESSAGE;
	if (max > PROTO_VARLINK_MAX_MESSAGE)
		return -EINVAL;
	*f = (struct proto_framer) { .max = max };
	return 0;
}

void proto_framer_done(struct proto_framer *f)
{
	if (!f)
		return;
	free(f->buf);
	f->buf = NULL;
	f->len = f->cap = f->start = f->tail = 0;
}

/* Drop the messages handed out, and make room for n more bytes. */
static int framer_reserve(struct proto_framer *f, size_t n)
{
	size_t held = f->len - f->start, need, cap;
	char *buf;

	if (f->start) {
		memmove(f->buf, f->buf + f->start, held);
		f->tail -= f->start;
		f->len = held;
		f->start = 0;
	}
	/* Bounded by the caller's reads: n, plus at most max bytes of one incomplete message, plus whole ones. */
	if (n > SIZE_MAX - held)
		return -ENOMEM;
	need = held + n;
	if (need <= f->cap) {
		if (f->cap <= FRAMER_KEEP || need > FRAMER_KEEP)
			return 0;
		/* Give back what one large message took. */
		buf = realloc(f->buf, FRAMER_KEEP);
		if (buf) {
			f->buf = buf;
			f->cap = FRAMER_KEEP;
		}
		return 0;
	}
	cap = f->cap ? f->cap : FRAMER_INITIAL;
	while (cap < need)
		cap = cap > SIZE_MAX / 2 ? need : cap * 2;
	buf = realloc(f->buf, cap);
	if (!buf)
		return -ENOMEM;
	f->buf = buf;
	f->cap = cap;
	return 0;
}

int proto_framer_feed(struct proto_framer *f, const void *data, size_t n)
{
	const char *p = data, *end = p + n, *last_nul = NULL;
	size_t open = f->len - f->tail;	/* bytes of the incomplete message so far */
	int r;

	if (n == 0)
		return 0;
	if (!data)
		return -EINVAL;
	/* Check every message the bytes finish or start before taking any of them. */
	for (const char *q = p; q < end;) {
		const char *nul = memchr(q, '\0', (size_t)(end - q));
		size_t piece = (size_t)((nul ? nul : end) - q);

		if (piece > f->max - open)
			return -E2BIG;
		if (!nul)
			break;
		open = 0;
		last_nul = nul;
		q = nul + 1;
	}
	r = framer_reserve(f, n);
	if (r < 0)
		return r;
	memcpy(f->buf + f->len, p, n);
	if (last_nul)
		f->tail = f->len + (size_t)(last_nul - p) + 1;
	f->len += n;
	return 0;
}

int proto_framer_next(struct proto_framer *f, const char **ret_msg, size_t *ret_len)
{
	const char *msg, *nul;

	if (f->start >= f->tail)
		return 0;
	msg = f->buf + f->start;
	nul = memchr(msg, '\0', f->tail - f->start);
	if (!nul)
		return -EINVAL;	/* cannot happen: tail follows a NUL */
	f->start = (size_t)(nul - f->buf) + 1;
	*ret_msg = msg;
	*ret_len = (size_t)(nul - msg);
	return 1;
}

size_t proto_framer_pending(const struct proto_framer *f)
{
	return f->len - f->tail;
}
