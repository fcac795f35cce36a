/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The lexical JSON key check (json-check.h).  It runs over text json-c
 * has accepted, so it only needs to tell strings from structure: it
 * tracks the open containers on an explicit stack, records every key of
 * the open objects in one fixed table (popped with its object) and
 * compares each new key with the keys of its own object that share its
 * hash bucket, byte by byte on the decoded text when the hashes match.
 * Nothing here recurses or allocates beyond one fixed-size block, and
 * a key costs one bucket walk, not a pass over its object.
 */

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libcaps/json-check.h>

/* Longest key text an error shows before cutting it with "...". */
#define SHOWN_KEY_MAX 40

/* Hash buckets of the key table: a power of two, twice the keys. */
#define CHECK_BUCKETS (2 * CAPS_JSON_CHECK_MAX_KEYS)
#define CHECK_NONE UINT32_MAX
_Static_assert((CHECK_BUCKETS & (CHECK_BUCKETS - 1)) == 0, "buckets are a power of two");

/* One key of an open object. */
struct check_key {
	uint64_t hash;		/* FNV-1a over the decoded bytes */
	uint32_t offset;	/* first byte after the opening quote */
	uint32_t len;		/* raw bytes up to the closing quote */
	uint32_t prev;		/* the previous key in this bucket, or CHECK_NONE */
};

/* One open container. */
struct check_level {
	bool is_object;
	bool expect_key;	/* the next string of this object is a key */
	bool has_key;		/* key_offset/key_len name the current member */
	uint32_t key_offset;
	uint32_t key_len;
	size_t index;		/* current element of an array */
	size_t first_key;	/* this object's first entry in keys[] */
};

struct check_state {
	const char *buf;
	struct caps_json_check_error *err;
	size_t depth;
	size_t nkeys;
	struct check_level levels[CAPS_JSON_CHECK_MAX_DEPTH];
	struct check_key keys[CAPS_JSON_CHECK_MAX_KEYS];
	/*
	 * The newest key of each bucket.  Keys are pushed and popped in
	 * stack order, so a bucket's chain runs from newer to older keys
	 * and popping a key puts back the bucket's head it replaced.
	 */
	uint32_t buckets[CHECK_BUCKETS];
	uint32_t bucket_mask;	/* buckets in use, less one: sized to the text */
};

/*
 * The decoded bytes of a key, one at a time, as json-c decodes them:
 * escapes resolved, code points as UTF-8, a surrogate pair as one code
 * point and an unpaired surrogate as U+FFFD.  json-c has accepted the
 * text, so escapes are complete; should they not be, the rest of the
 * key comes out raw rather than overrunning it.
 */
struct key_reader {
	const unsigned char *s;
	size_t len;
	size_t i;
	unsigned char out[4];
	unsigned n_out;
	unsigned i_out;
};

static void key_reader_init(struct key_reader *r, const char *s, size_t len)
{
	*r = (struct key_reader) { .s = (const unsigned char *)s, .len = len };
}

/* Four hex digits at s[at], or -1. */
static int32_t hex4(const unsigned char *s, size_t len, size_t at)
{
	int32_t v = 0;

	if (at > len || len - at < 4)
		return -1;
	for (size_t k = at; k < at + 4; k++) {
		unsigned char h = s[k];

		v <<= 4;
		if (h >= '0' && h <= '9')
			v |= h - '0';
		else if (h >= 'a' && h <= 'f')
			v |= h - 'a' + 10;
		else if (h >= 'A' && h <= 'F')
			v |= h - 'A' + 10;
		else
			return -1;
	}
	return v;
}

static int unescape(unsigned char c)
{
	switch (c) {
	case 'b':
		return '\b';
	case 'f':
		return '\f';
	case 'n':
		return '\n';
	case 'r':
		return '\r';
	case 't':
		return '\t';
	default:	/* '"', '\\', '/' */
		return c;
	}
}

/* The next decoded byte (U+0000 gives 0), or -1 at the end of the key. */
static int key_next(struct key_reader *r)
{
	int32_t cp, lo;

	if (r->i_out < r->n_out)
		return r->out[r->i_out++];
	if (r->i >= r->len)
		return -1;
	if (r->s[r->i] != '\\' || r->i + 1 >= r->len)
		return r->s[r->i++];
	if (r->s[r->i + 1] != 'u') {
		r->i += 2;
		return unescape(r->s[r->i - 1]);
	}
	cp = hex4(r->s, r->len, r->i + 2);
	if (cp < 0)
		return r->s[r->i++];
	r->i += 6;
	if (cp >= 0xd800 && cp < 0xdc00) {
		lo = r->i + 1 < r->len && r->s[r->i] == '\\' && r->s[r->i + 1] == 'u'
			? hex4(r->s, r->len, r->i + 2) : -1;
		if (lo >= 0xdc00 && lo < 0xe000) {
			cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
			r->i += 6;
		} else {
			cp = 0xfffd;
		}
	} else if (cp >= 0xdc00 && cp < 0xe000) {
		cp = 0xfffd;
	}

	r->i_out = 1;
	if (cp < 0x80) {
		r->n_out = 0;
		r->i_out = 0;
		return cp;
	} else if (cp < 0x800) {
		r->out[0] = (unsigned char)(0xc0 | (cp >> 6));
		r->out[1] = (unsigned char)(0x80 | (cp & 0x3f));
		r->n_out = 2;
	} else if (cp < 0x10000) {
		r->out[0] = (unsigned char)(0xe0 | (cp >> 12));
		r->out[1] = (unsigned char)(0x80 | ((cp >> 6) & 0x3f));
		r->out[2] = (unsigned char)(0x80 | (cp & 0x3f));
		r->n_out = 3;
	} else {
		r->out[0] = (unsigned char)(0xf0 | (cp >> 18));
		r->out[1] = (unsigned char)(0x80 | ((cp >> 12) & 0x3f));
		r->out[2] = (unsigned char)(0x80 | ((cp >> 6) & 0x3f));
		r->out[3] = (unsigned char)(0x80 | (cp & 0x3f));
		r->n_out = 4;
	}
	return r->out[0];
}

/* Whether two raw keys decode to the same bytes. */
static bool keys_equal(const char *a, size_t alen, const char *b, size_t blen)
{
	struct key_reader ra, rb;
	int ca, cb;

	key_reader_init(&ra, a, alen);
	key_reader_init(&rb, b, blen);
	do {
		ca = key_next(&ra);
		cb = key_next(&rb);
		if (ca != cb)
			return false;
	} while (ca >= 0);
	return true;
}

/* Append text to buf (a C string of size bytes), ending in "..." if it is cut. */
static void append(char *buf, size_t size, const char *text)
{
	size_t n = strlen(buf), add = strlen(text);

	if (n + add < size) {
		memcpy(buf + n, text, add + 1);
	} else if (size > 4) {
		size_t keep = size - 4 > n ? size - 4 - n : 0;

		memcpy(buf + n, text, keep);
		memcpy(buf + size - 4, "...", 4);
	}
}

/*
 * A key for a message: printable ASCII kept, any other character (a
 * UTF-8 sequence counts once) as '?', long keys cut with "...".
 */
static void show_key(char *buf, size_t size, const char *s, size_t len)
{
	struct key_reader r;
	size_t n = 0;
	int c;

	key_reader_init(&r, s, len);
	while ((c = key_next(&r)) >= 0) {
		if (c >= 0x80 && c < 0xc0)
			continue;
		if (n == SHOWN_KEY_MAX || n + 4 >= size) {
			memcpy(buf + n, "...", 4);
			return;
		}
		buf[n++] = c >= 0x20 && c < 0x7f ? (char)c : '?';
	}
	buf[n] = '\0';
}

/* The path of the container at levels[depth - 1]: the members that lead to it. */
static void level_path(const struct check_state *st, size_t depth, char *buf, size_t size)
{
	buf[0] = '\0';
	for (size_t i = 0; i + 1 < depth; i++) {
		const struct check_level *l = &st->levels[i];
		char part[SHOWN_KEY_MAX + 8];

		if (l->is_object) {
			char key[SHOWN_KEY_MAX + 4];

			if (l->has_key)
				show_key(key, sizeof(key), st->buf + l->key_offset, l->key_len);
			else
				strcpy(key, "?");
			snprintf(part, sizeof(part), "%s%s", buf[0] ? "." : "", key);
		} else {
			snprintf(part, sizeof(part), "[%zu]", l->index);
		}
		append(buf, size, part);
	}
}

static int check_fail(struct check_state *st, int r, size_t offset, const char *key,
		      size_t key_len, const char *what)
{
	struct caps_json_check_error *err = st->err;

	if (!err)
		return r;
	memset(err, 0, sizeof(*err));
	err->offset = offset;
	level_path(st, st->depth, err->path, sizeof(err->path));
	if (key) {
		show_key(err->key, sizeof(err->key), key, key_len);
		snprintf(err->message, sizeof(err->message), "%s \"%s\"", what, err->key);
	} else {
		snprintf(err->message, sizeof(err->message), "%s", what);
	}
	return r;
}

/* A key of the innermost object, s[0..len) between its quotes. */
static int check_key(struct check_state *st, size_t offset, size_t len)
{
	struct check_level *top = &st->levels[st->depth - 1];
	const char *s = st->buf + offset;
	uint64_t hash = UINT64_C(0xcbf29ce484222325);
	struct key_reader r;
	uint32_t *bucket;
	int c;

	top->has_key = true;
	top->key_offset = (uint32_t)offset;
	top->key_len = (uint32_t)len;

	key_reader_init(&r, s, len);
	while ((c = key_next(&r)) >= 0) {
		if (c == 0)
			return check_fail(st, -EINVAL, offset - 1, NULL, 0, "key with a NUL character");
		hash = (hash ^ (unsigned char)c) * UINT64_C(0x100000001b3);
	}
	bucket = &st->buckets[hash & st->bucket_mask];
	/* Older keys in the chain than this object's first belong to enclosing objects. */
	for (uint32_t k = *bucket; k != CHECK_NONE && k >= top->first_key; k = st->keys[k].prev) {
		const struct check_key *prev = &st->keys[k];

		if (prev->hash == hash && keys_equal(st->buf + prev->offset, prev->len, s, len))
			return check_fail(st, -EINVAL, offset - 1, s, len, "duplicate key");
	}
	if (st->nkeys == CAPS_JSON_CHECK_MAX_KEYS)
		return check_fail(st, -E2BIG, offset - 1, NULL, 0,
				  "too many keys in the open objects (more than 4096)");
	st->keys[st->nkeys] = (struct check_key) {
		.hash = hash, .offset = (uint32_t)offset, .len = (uint32_t)len, .prev = *bucket,
	};
	*bucket = (uint32_t)st->nkeys++;
	return 0;
}

static int check_scan(struct check_state *st, size_t len, size_t max_depth)
{
	const char *buf = st->buf;

	for (size_t i = 0; i < len; i++) {
		struct check_level *top = st->depth ? &st->levels[st->depth - 1] : NULL;
		char c = buf[i];

		switch (c) {
		case '{':
		case '[':
			if (st->depth >= max_depth)
				return check_fail(st, -EINVAL, i, NULL, 0, "nesting too deep");
			st->levels[st->depth++] = (struct check_level) {
				.is_object = c == '{', .expect_key = c == '{', .first_key = st->nkeys,
			};
			break;
		case '}':
		case ']':
			if (!top || top->is_object != (c == '}'))
				return check_fail(st, -EINVAL, i, NULL, 0, "unbalanced brackets");
			while (st->nkeys > top->first_key) {
				const struct check_key *k = &st->keys[--st->nkeys];

				st->buckets[k->hash & st->bucket_mask] = k->prev;
			}
			st->depth--;
			break;
		case ',':
			if (top && top->is_object) {
				top->expect_key = true;
				top->has_key = false;
			} else if (top) {
				top->index++;
			}
			break;
		case ':':
			if (top)
				top->expect_key = false;
			break;
		case '\'':
			return check_fail(st, -EINVAL, i, NULL, 0, "single-quoted strings are not JSON");
		case '"': {
			size_t first = ++i;
			int r;

			while (i < len && buf[i] != '"')
				i += buf[i] == '\\' ? 2 : 1;
			if (i >= len)
				return check_fail(st, -EINVAL, first - 1, NULL, 0, "unterminated string");
			if (top && top->is_object && top->expect_key) {
				r = check_key(st, first, i - first);
				if (r < 0)
					return r;
			}
			break;
		}
		default:
			break;
		}
	}
	if (st->depth)
		return check_fail(st, -EINVAL, len, NULL, 0, "unterminated container");
	return 0;
}

int caps_json_check(const char *buf, size_t len, unsigned max_depth,
		    struct caps_json_check_error *err)
{
	struct check_state *st;
	size_t nb;
	int r;

	if (!buf && len)
		return -EINVAL;
	if (max_depth > CAPS_JSON_CHECK_MAX_DEPTH)
		max_depth = CAPS_JSON_CHECK_MAX_DEPTH;
	/* Keys are recorded as 32-bit offsets; json-c takes an int length anyway. */
	if (len > UINT32_MAX) {
		if (err) {
			memset(err, 0, sizeof(*err));
			snprintf(err->message, sizeof(err->message), "text larger than 4 GiB");
		}
		return -E2BIG;
	}
	st = malloc(sizeof(*st));
	if (!st)
		return -ENOMEM;
	st->buf = buf;
	st->err = err;
	st->depth = 0;
	st->nkeys = 0;
	/*
	 * A key takes three bytes at least ("":), so a short text has few:
	 * twice as many buckets as it can have keys, not CHECK_BUCKETS (a
	 * 618-byte call would spend more on clearing them than on its scan).
	 */
	nb = 16;
	while (nb < CHECK_BUCKETS && nb < 2 * (len / 3 + 1))
		nb *= 2;
	st->bucket_mask = (uint32_t)(nb - 1);
	memset(st->buckets, 0xff, nb * sizeof(st->buckets[0]));	/* CHECK_NONE */
	r = check_scan(st, len, max_depth);
	free(st);
	return r;
}
