/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * A JSON text written straight into one growing buffer, for the replies
 * whose json-c objects cost more than the call that asked for them (a
 * Validate reply is ~1,100 objects).  The writer prints exactly what
 * json_object_to_json_string_ext(JSON_C_TO_STRING_PLAIN |
 * JSON_C_TO_STRING_NOSLASHESCAPE) prints for the same values in the same
 * order, so a reader cannot tell which of the two wrote a message.
 *
 * Nothing is checked as it is written: the caller writes a well-formed
 * sequence (a key before each member's value, ends matching begins).
 * Failures are sticky: the first -ENOMEM, or -E2BIG past max bytes,
 * stops all writing and is what proto_jw_error() returns.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct json_object;

struct proto_json_writer {
	char *data;		/* malloc()ed; not NUL-terminated */
	size_t len;
	size_t cap;
	size_t max;		/* the most bytes the text may have */
	int error;		/* 0, -ENOMEM or -E2BIG */
	bool comma;		/* the next member or element needs a ',' */
};

/* An empty writer for at most max bytes (0: no limit but memory). */
void proto_jw_init(struct proto_json_writer *w, size_t max);
/* Free the text; the writer is empty again (and may be reused). */
void proto_jw_done(struct proto_json_writer *w);
static inline int proto_jw_error(const struct proto_json_writer *w)
{
	return w->error;
}

void proto_jw_object_begin(struct proto_json_writer *w);
void proto_jw_object_end(struct proto_json_writer *w);
void proto_jw_array_begin(struct proto_json_writer *w);
void proto_jw_array_end(struct proto_json_writer *w);
/* The key of the next member (escaped like any string). */
void proto_jw_key(struct proto_json_writer *w, const char *key);
/*
 * A key given already quoted with its colon, n bytes: PROTO_JW_KEY(w,
 * "name") for a literal that needs no escaping.  The fast path of replies
 * that write the same keys thousands of times.
 */
void proto_jw_key_quoted(struct proto_json_writer *w, const char *quoted, size_t n);
#define PROTO_JW_KEY(w, lit) proto_jw_key_quoted((w), "\"" lit "\":", sizeof("\"" lit "\":") - 1)
void proto_jw_string(struct proto_json_writer *w, const char *s);
/* A string of at most size bytes: a fixed array that may lack its NUL. */
void proto_jw_string_n(struct proto_json_writer *w, const char *s, size_t size);
void proto_jw_int64(struct proto_json_writer *w, int64_t v);
void proto_jw_bool(struct proto_json_writer *w, bool v);
/*
 * v's decimal digits written at p, which has room for PROTO_JW_INT64_MAX
 * bytes; returns the end (no NUL).  For callers that format a whole
 * record on the stack and proto_jw_raw() it at once.
 */
#define PROTO_JW_INT64_MAX	20
char *proto_jw_put_int64(char *p, int64_t v);
/* Bytes copied as they are: a caller's own well-formed JSON fragment. */
void proto_jw_raw(struct proto_json_writer *w, const char *s, size_t n);

#define proto_jw_string_member(w, s) proto_jw_string_n((w), (s), sizeof(s))

/*
 * Hand over the text, NUL-terminated (the NUL not counted in *ret_len),
 * and leave the writer empty; or the writer's error (and keep it).
 */
int proto_jw_take(struct proto_json_writer *w, char **ret, size_t *ret_len);

/*
 * The text parsed back into a json-c value, for callers that want one
 * (-EINVAL if the writer was given an ill-formed sequence); the writer is
 * left as it was.
 */
int proto_jw_to_object(const struct proto_json_writer *w, struct json_object **ret);
