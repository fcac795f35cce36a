/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Watch streams: io.hvcap.Vm.Watch calls stay open (request_keep_open())
 * and every event goes to each of them as a "continues" reply.  A
 * watcher whose client left is dropped by the server's close callback; a
 * watcher the server can no longer write to (the server then closes its
 * connection) is dropped when a send fails.
 *
 * Events (io.hvcap.Vm.Watch's reply):
 *   {"event": "watching"}                                   first reply
 *   {"event": "vm_created", "vm", "name"}
 *   {"event": "vm_deleted", "vm", "name"}
 *   {"event": "memslot_inhibited", "vm", "name", "detail"}
 *   {"event": "host_drift", "fingerprint", "detail"}        once per reload that changed anything
 *   {"event": "host_drift", "vm", "name", "fingerprint", "detail"}   per drifted VM
 */

#include <errno.h>
#include <string.h>
#include <syslog.h>

#include "hvcapd-internal.h"

static void watcher_remove(struct hvcapd *d, struct request *req)
{
	for (size_t i = 0; i < d->n_watchers; i++) {
		if (d->watchers[i] != req)
			continue;
		/* Order does not matter to watchers: move the last one here. */
		d->watchers[i] = d->watchers[--d->n_watchers];
		return;
	}
}

static void watcher_closed_cb(struct request *req, void *data)
{
	watcher_remove(data, req);
}

int hvcapd_watch_add(struct hvcapd *d, struct request *req)
{
	struct json_object *first;
	int r;

	if (d->n_watchers >= HVCAPD_MAX_WATCHERS)
		return -EBUSY;
	first = json_object_new_object();
	if (!first || json_object_object_add(first, "event", json_object_new_string("watching")) < 0) {
		json_object_put(first);
		return -ENOMEM;
	}
	request_keep_open(req, watcher_closed_cb, d);
	d->watchers[d->n_watchers++] = req;
	r = request_stream(req, first);
	if (r < 0)
		watcher_remove(d, req);
	return r;
}

void hvcapd_watchers_done(struct hvcapd *d)
{
	d->n_watchers = 0;
}

static struct json_object *event_new(const char *event, int64_t vm, const char *name,
				     const char *fingerprint, const char *detail)
{
	struct json_object *o = json_object_new_object();
	bool ok = o != NULL;

	ok = ok && json_object_object_add(o, "event", json_object_new_string(event)) == 0;
	if (ok && vm >= 0)
		ok = json_object_object_add(o, "vm", json_object_new_int64(vm)) == 0;
	if (ok && name)
		ok = json_object_object_add(o, "name", json_object_new_string(name)) == 0;
	if (ok && fingerprint)
		ok = json_object_object_add(o, "fingerprint", json_object_new_string(fingerprint)) == 0;
	if (ok && detail)
		ok = json_object_object_add(o, "detail", json_object_new_string(detail)) == 0;
	if (!ok) {
		json_object_put(o);
		return NULL;
	}
	return o;
}

void hvcapd_event(struct hvcapd *d, const char *event, int64_t vm, const char *name,
		  const char *fingerprint, const char *detail)
{
	struct json_object *o;
	size_t i = 0;

	if (!d->n_watchers)
		return;
	o = event_new(event, vm, name, fingerprint, detail);
	if (!o) {
		hvcapd_log(LOG_WARNING, "out of memory: event %s not sent to %zu watchers", event, d->n_watchers);
		return;
	}
	while (i < d->n_watchers) {
		struct request *req = d->watchers[i];

		/* request_stream() consumes its reference; every watcher gets the same object. */
		if (request_stream(req, json_object_get(o)) < 0) {
			/*
			 * The connection is gone or its client reads too slowly
			 * (HVCAPD_MAX_OUTPUT): the server closes it, and a client
			 * that reconnects knows it may have missed events.
			 */
			watcher_remove(d, req);
			continue;
		}
		i++;
	}
	json_object_put(o);
}
