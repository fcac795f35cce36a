/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * Table-driven decoding of JSON into C structs (STYLE.md "Decoding
 * requests"): policy documents now, Varlink method parameters later.
 *
 * A field table lists, per key, the JSON type it must have and where the
 * value goes.  Decoding rejects unknown keys, missing required keys,
 * inexact types (json-c's getters coerce silently: a string reads as 0,
 * 1.5 as 1, so none is called before the type is checked), integers out
 * of range (checked before narrowing), over-long strings and strings
 * with a NUL, enum strings outside their set and arrays or maps past
 * their capacity.  Every error names the JSON path of the value at
 * fault ("features.avx2", "cpuid[3].eax") and what was expected.
 *
 * Decoding writes into the struct as it goes and leaves it partly
 * written on failure: decode into a scratch copy and hand it out only on
 * success.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct json_object;

/*
 * What went wrong and where.  path is "" for the document as a whole
 * (syntax, size) and for its top-level value; messages about the text
 * itself carry the line, column and byte offset.
 */
struct proto_error {
	char path[128];
	char message[256];
};

enum proto_field_type {
	PROTO_FIELD_BOOL,	/* true or false, into a bool */
	PROTO_FIELD_INT,	/* an integer literal in min..max, into a 1, 2, 4 or 8-byte integer */
	PROTO_FIELD_STRING,	/* a string of at most max_len bytes, into char[size] */
	PROTO_FIELD_ENUM,	/* a string that enum_name() returns for some value, into an int-sized enum */
	PROTO_FIELD_OBJECT,	/* an object, decoded by the table fields into the member */
	PROTO_FIELD_ARRAY,	/* an array, each element decoded by element */
	PROTO_FIELD_MAP,	/* an object with free keys: each member one element, key included */
	PROTO_FIELD_CUSTOM,	/* decode() checks and stores the value */
};

/* Field flags. */
#define PROTO_FIELD_REQUIRED	(1u << 0)	/* absence is an error */
#define PROTO_FIELD_NULLABLE	(1u << 1)	/* null counts as absent (Varlink's ?type) */
#define PROTO_FIELD_PRESENCE	(1u << 2)	/* set the bool at presence_offset when present */

struct proto_field;

/*
 * A custom decoder: check v and store it into base (the struct the
 * field's table fills; f->offset locates the member).  Returns 0, or
 * fails through proto_error_set() with path.
 */
typedef int (*proto_decode_fn)(const struct proto_field *f, struct json_object *v, void *base,
			       const char *path, struct proto_error *err);

/* Whether a string (also a MAP key) is acceptable beyond its length. */
typedef bool (*proto_string_valid_fn)(const char *s, size_t len);

/* The JSON name of an enum value, or NULL past the last: values count from 0. */
typedef const char *(*proto_enum_name_fn)(int value);

struct proto_field {
	const char *name;		/* the key; NULL ends a table */
	enum proto_field_type type;
	unsigned flags;			/* PROTO_FIELD_* */
	size_t offset;			/* of the member in the struct being filled */
	size_t size;			/* of the member (BOOL, INT, STRING, ENUM) */
	size_t presence_offset;		/* bool set when present, with PROTO_FIELD_PRESENCE */

	/*
	 * INT.  json-c clamps literals beyond 64 bits to the int64/uint64
	 * limits, so a range must stay inside (INT64_MIN, INT64_MAX);
	 * 64-bit values travel as "0x" strings (proto_decode_hex64()).
	 */
	int64_t min, max;

	/* STRING, and the keys of a MAP. */
	size_t max_len;			/* bytes, excluding the NUL; 0: size (key_size) - 1 */
	proto_string_valid_fn valid;	/* NULL: anything without a NUL */
	const char *valid_desc;		/* what valid() accepts, for messages */

	/* ENUM */
	proto_enum_name_fn enum_name;

	/* OBJECT */
	const struct proto_field *fields;

	/*
	 * ARRAY and MAP: the elements live inline at offset, max_count of
	 * element_size bytes each, and their number goes to the size_t at
	 * count_offset.  element decodes one value into its element (its
	 * offset is relative to the element; for an array of objects, an
	 * OBJECT field at offset 0) after zeroing it.  A MAP copies each key into the
	 * char[key_size] at key_offset of its element.
	 */
	const struct proto_field *element;
	size_t element_size;
	size_t max_count;
	size_t count_offset;
	size_t key_offset;
	size_t key_size;

	/* CUSTOM */
	proto_decode_fn decode;
	const void *data;		/* for decode() */
};

/* offset and size of a member, for the initializers of a table. */
#define PROTO_MEMBER(type, member) \
	.offset = offsetof(type, member), .size = sizeof(((type *)0)->member)

/*
 * Parse len bytes of JSON text into *ret (a new reference): one object,
 * strict (json-c's JSON_TOKENER_STRICT, valid UTF-8), nested at most
 * max_depth containers deep (1..CAPS_JSON_CHECK_MAX_DEPTH; {"a": [1]} is
 * two), nothing but blanks after it, no NUL byte,
 * and passing caps_json_check() (no duplicate keys, single quotes or
 * keys with a NUL).  -EINVAL, -E2BIG (len above INT32_MAX, or more keys
 * than caps_json_check() follows) or -ENOMEM.
 */
int proto_json_parse(const char *buf, size_t len, unsigned max_depth,
		     struct json_object **ret, struct proto_error *err);

/*
 * Decode the object obj through the table fields into base.  path names
 * obj ("" for the top level).  -EINVAL, or -E2BIG for an ARRAY or MAP
 * past max_count; err (if not NULL) says where and why.
 */
int proto_json_decode_object(const struct proto_field *fields, struct json_object *obj,
			     void *base, const char *path, struct proto_error *err);

/* Decode v as f describes into base + f->offset; path names v. */
int proto_json_decode_value(const struct proto_field *f, struct json_object *v, void *base,
			    const char *path, struct proto_error *err);

/* Building blocks for custom decoders. */

/* A JSON integer literal (not a double, bool or string) in min..max. */
int proto_json_get_int(struct json_object *v, int64_t min, int64_t max, const char *path,
		       int64_t *ret, struct proto_error *err);

/* A JSON string of at most max_len bytes and without a NUL; *ret stays json-c's. */
int proto_json_get_string(struct json_object *v, size_t max_len, const char *path,
			  const char **ret, size_t *ret_len, struct proto_error *err);

/* A CUSTOM decoder for a uint64_t written as "0x" and 1..16 hex digits. */
int proto_decode_hex64(const struct proto_field *f, struct json_object *v, void *base,
		       const char *path, struct proto_error *err);

/* "an integer", "a string", "null", ... for "expected X, got Y". */
const char *proto_json_type_desc(struct json_object *v);

/*
 * Untrusted text for a message, into buf of at least PROTO_SHOWN_SIZE
 * bytes: printable ASCII kept, any other character (a UTF-8 sequence
 * counts once) as '?', cut with "..." past PROTO_SHOWN_SIZE - 5
 * characters.  Returns buf.
 */
#define PROTO_SHOWN_SIZE 48
const char *proto_json_show(char *buf, size_t size, const char *s, size_t len);

/* "parent.key" and "parent[index]", keys shown as printable ASCII, cut with "..." if long. */
void proto_json_path_key(char *buf, size_t size, const char *parent, const char *key);
void proto_json_path_index(char *buf, size_t size, const char *parent, size_t index);

/* Fill err (if not NULL) with path and the message; returns -EINVAL. */
int proto_error_set(struct proto_error *err, const char *path, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
