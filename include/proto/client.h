/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * The Varlink client: connect to hvcapd (or any Varlink service on a Unix
 * socket), call methods, read streamed replies.  Errors from the service
 * are values (proto_reply.error), not failures of the call.
 */

#include <stdbool.h>
#include <stddef.h>

#include <proto/varlink.h>

/* Where hvcapd listens when no address is given (DESIGN.md §5). */
#define PROTO_ADDRESS_SYSTEM	"unix:/run/hvcap/io.hvcap"
#define PROTO_ADDRESS_ENV	"HVCAP_ADDRESS"

/*
 * The address to use: the given one, else $HVCAP_ADDRESS, else the
 * system socket for root and $XDG_RUNTIME_DIR/hvcap/io.hvcap otherwise.
 * Writes "unix:PATH" to buf; -EINVAL for an address that is not unix:,
 * -ENAMETOOLONG when PATH does not fit sockaddr_un.
 *
 * NULL and "" count as not given (an empty $HVCAP_ADDRESS too).  A bare
 * path ("/run/x", "./x") means unix:PATH; "unix:@name" is an abstract
 * socket.  A user without an absolute $XDG_RUNTIME_DIR (cron, su) gets
 * the system socket, which members of the hvcap group may use.
 * -ENOBUFS when buf is too small; buf is written only on success.
 */
int proto_address_resolve(const char *address, char *buf, size_t size);

struct proto_client;

/*
 * Connect to "unix:PATH" (or a bare path).  -errno from socket/connect
 * (-ENOENT, -ECONNREFUSED when nothing listens, -EACCES).
 * -EINVAL and -ENAMETOOLONG for addresses as proto_address_resolve().
 */
int proto_client_connect(const char *address, struct proto_client **ret);
void proto_client_free(struct proto_client *c);

/* Give up on a reply after timeout_ms (default 30 s; 0 waits forever). */
void proto_client_set_timeout(struct proto_client *c, int timeout_ms);

/*
 * One call and its reply (its first reply with PROTO_CALL_MORE).
 * parameters may be NULL and are not consumed.  Returns 0 with *ret
 * filled (an error reply is still 0: see ret->error), -errno when the
 * connection failed, -ETIMEDOUT, -EPROTO for a malformed reply.
 * PROTO_CALL_ONEWAY sends and returns without a reply (*ret untouched).
 */
int proto_client_call(struct proto_client *c, const char *method, struct json_object *parameters,
		      unsigned flags, struct proto_reply *ret);

/* Send a call without waiting (for pipelining); replies come in call order. */
int proto_client_send(struct proto_client *c, const char *method, struct json_object *parameters,
		      unsigned flags);
/*
 * Read the next reply.  -ENOMSG when no call awaits one.  The peer closing
 * (mid-message or not) is -ECONNRESET; a reply that does not parse, is
 * larger than PROTO_VARLINK_MAX_MESSAGE or continues a call sent without
 * PROTO_CALL_MORE is -EPROTO.  Every failure but -ENOMSG and a call that
 * never reached the wire (-EINVAL, -ENOMEM) ends the connection, -ETIMEDOUT
 * too (a late reply would be taken for the next call's): later calls
 * return the same error.  proto_client_call() is -EBUSY while sent calls
 * await replies.
 */
int proto_client_recv(struct proto_client *c, struct proto_reply *ret);

/* The connection's file descriptor (for poll()). */
int proto_client_fd(const struct proto_client *c);
