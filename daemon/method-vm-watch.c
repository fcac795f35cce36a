/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * io.hvcap.Vm.Watch (call with "more"): the call stays open and streams
 * events (events.c); the first reply is {"event": "watching"}.  At most
 * HVCAPD_MAX_WATCHERS streams at a time.
 */

#include <errno.h>

#include "hvcapd-internal.h"

static const struct proto_field fields[] = {
	{ .name = NULL },
};

static int vm_watch(struct request *req, struct json_object *parameters)
{
	char none;
	int r;

	r = hvcapd_decode(req, fields, parameters, &none);
	if (r)
		return r < 0 ? r : 0;
	r = hvcapd_watch_add(request_daemon(req), req);
	if (r == -EBUSY)
		return request_limit_exceeded(req, "max_watchers", HVCAPD_MAX_WATCHERS);
	/* A failed first reply: the server is closing the connection, which drops the watcher. */
	return r == -ENOMEM ? r : 0;
}

const struct method method_vm_watch = {
	.name = "io.hvcap.Vm.Watch",
	.flags = METHOD_NEEDS_MORE,
	.handler = vm_watch,
};
