/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * Varlink messages (varlink.org; PEERS.md §4): one JSON object per
 * message, terminated by a NUL byte.  Calls carry method, parameters and
 * the oneway/more/upgrade flags; replies carry parameters, continues or
 * error.  Extra keys must be reverse-domain names ("io.hvcap.trace-id");
 * unprefixed unknown keys are refused.
 */

#include <stdbool.h>
#include <stddef.h>

#include <json-c/json.h>
#include <proto/json-decode.h>

/* The default and hard limit of one message, NUL excluded. */
#define PROTO_VARLINK_MAX_MESSAGE	(1024 * 1024)
/* Nesting of JSON containers in a message, the envelope included. */
#define PROTO_VARLINK_MAX_DEPTH		32
/* A fully qualified method or error name. */
#define PROTO_VARLINK_NAME_MAX		255

#define PROTO_CALL_ONEWAY	(1u << 0)
#define PROTO_CALL_MORE		(1u << 1)
#define PROTO_CALL_UPGRADE	(1u << 2)

struct proto_call {
	char method[PROTO_VARLINK_NAME_MAX + 1];	/* "io.hvcap.Vm.Create" */
	char interface[PROTO_VARLINK_NAME_MAX + 1];	/* "io.hvcap.Vm" */
	const char *member;		/* "Create": points into method */
	struct json_object *parameters;	/* an object, {} when omitted or null; owned */
	unsigned flags;			/* PROTO_CALL_* */
};

/*
 * Parse one call message (len bytes, no NUL inside, valid UTF-8, at most
 * max_depth containers deep, keys checked by caps_json_check()).  Errors:
 * -EINVAL with err->message (and err->path "method", "parameters", ...)
 * for anything that is not a valid call; the caller answers
 * org.varlink.service.InvalidParameter or closes the connection, as it
 * decides.  *ret is written only on success.
 *
 * max_depth is 1..CAPS_JSON_CHECK_MAX_DEPTH (0: PROTO_VARLINK_MAX_DEPTH).
 * -E2BIG for len above PROTO_VARLINK_MAX_MESSAGE (or more keys than
 * caps_json_check() follows); -ENOMEM.  "oneway" and "more" together are
 * -EINVAL: a oneway call gets no reply, so it cannot get several.
 */
int proto_call_parse(const char *msg, size_t len, unsigned max_depth, struct proto_call *ret,
		     struct proto_error *err);
void proto_call_done(struct proto_call *call);

/* A whole message, NUL-terminated, in a malloc()ed buffer of *ret_len bytes (NUL included). */
struct proto_json_writer;

struct proto_message {
	char *data;
	size_t len;
};

void proto_message_done(struct proto_message *m);

/*
 * Serialize a call; parameters may be NULL (left out) and are not consumed.
 * Every builder leaves out empty parameters, and fails with -EINVAL for a
 * name that is not a qualified Varlink name, parameters that are not an
 * object, unknown flags or ONEWAY with MORE, and text that is not valid
 * UTF-8 (json-c writes strings' bytes as they are); -E2BIG past
 * PROTO_VARLINK_MAX_MESSAGE; -ENOMEM.
 */
int proto_call_build(const char *method, struct json_object *parameters, unsigned flags,
		     struct proto_message *ret);
/* A reply: parameters may be NULL ({} is sent as absent); continues for "more" streams. */
int proto_reply_build(struct json_object *parameters, bool continues, struct proto_message *ret);
/*
 * A reply written as text (proto/json-writer.h) rather than built: start
 * w with proto_reply_begin(), write the parameters object's value, then
 * proto_reply_finish() checks and hands over the message as
 * proto_reply_build() would: the writer's error, -E2BIG past
 * PROTO_VARLINK_MAX_MESSAGE, -EINVAL for a NUL or invalid UTF-8.  w is
 * emptied either way.  The parameters must not be an empty object.
 */
void proto_reply_begin(struct proto_json_writer *w);
int proto_reply_finish(struct proto_json_writer *w, bool continues, struct proto_message *ret);
/* An error reply: error is the fully qualified name; parameters may be NULL. */
int proto_error_build(const char *error, struct json_object *parameters, struct proto_message *ret);

struct proto_reply {
	struct json_object *parameters;	/* owned; {} when absent */
	bool continues;
	char error[PROTO_VARLINK_NAME_MAX + 1];	/* "" unless an error reply */
};

/*
 * Parse a reply message; the same strictness as proto_call_parse().  Keys:
 * parameters (object or null), continues and upgraded (booleans), error (a
 * qualified name); "continues": true on an error is -EINVAL.
 */
int proto_reply_parse(const char *msg, size_t len, unsigned max_depth, struct proto_reply *ret,
		      struct proto_error *err);
void proto_reply_done(struct proto_reply *r);

/*
 * Incremental framing: collect bytes, hand out complete messages.  A
 * message longer than max without its NUL is -E2BIG (the connection is to
 * be closed).
 */
struct proto_framer {
	char *buf;
	size_t len;
	size_t cap;
	size_t start;	/* where the next message begins */
	size_t max;
	size_t tail;	/* where the incomplete message begins: before it, whole messages */
};

/* max: 1..PROTO_VARLINK_MAX_MESSAGE (0: PROTO_VARLINK_MAX_MESSAGE); -EINVAL above. */
int proto_framer_init(struct proto_framer *f, size_t max);
void proto_framer_done(struct proto_framer *f);
/* Append n bytes; -E2BIG when a message would exceed max, -ENOMEM. */
int proto_framer_feed(struct proto_framer *f, const void *data, size_t n);
/*
 * The next complete message (without its NUL): 1 and *ret_msg and *ret_len,
 * valid until the next call, or 0 when none is complete yet.
 */
int proto_framer_next(struct proto_framer *f, const char **ret_msg, size_t *ret_len);
/* Bytes held that do not yet form a complete message. */
size_t proto_framer_pending(const struct proto_framer *f);

/* Whether len bytes are valid UTF-8 (RFC 3629: no overlong forms, surrogates or code points above U+10FFFF). */
bool proto_utf8_is_valid(const char *s, size_t len);

/*
 * Varlink names (PEERS.md §4).  An interface: [A-Za-z]([-]*[A-Za-z0-9])*
 * (\.[A-Za-z0-9]([-]*[A-Za-z0-9])*)+ ("io.hvcap.Vm"): varlink.org's
 * grammar with upper case allowed, as sd-varlink allows it.
 */
bool proto_interface_name_is_valid(const char *name);
/* A method, error or type: [A-Z][A-Za-z0-9]* ("Create"). */
bool proto_member_name_is_valid(const char *name);
/* interface "." member, at most PROTO_VARLINK_NAME_MAX bytes ("io.hvcap.Vm.Create"). */
bool proto_qualified_name_is_valid(const char *name);
