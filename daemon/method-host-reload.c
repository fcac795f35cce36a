/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * io.hvcap.Host.Reload (privileged): probe the host again (or re-read the
 * dump), and list the VMs whose guest features drifted.  When the host
 * cannot be read, the previous one stays and the call fails with
 * io.hvcap.Host.ReloadFailed.
 */

#include <errno.h>
#include <string.h>
#include <syslog.h>

#include "hvcapd-internal.h"

static const struct proto_field fields[] = {
	{ .name = NULL },
};

static int host_reload(struct request *req, struct json_object *parameters)
{
	struct hvcapd *d = request_daemon(req);
	struct hvcapd_reload_result res;
	struct json_object *reply, *drifted;
	char err[512] = "";
	char none;
	bool ok;
	int r;

	r = hvcapd_decode(req, fields, parameters, &none);
	if (r)
		return r < 0 ? r : 0;
	r = hvcapd_reload_host(d, &res, err, sizeof(err));
	if (r == -ENOMEM)
		return r;
	if (r < 0) {
		struct json_object *p = json_object_new_object();

		hvcapd_log(LOG_WARNING, "reload failed, keeping the previous host: %s", err[0] ? err : strerror(-r));
		if (hvcapd_json_add(p, "reason", json_object_new_string(err[0] ? err : strerror(-r))) < 0) {
			json_object_put(p);
			return -ENOMEM;
		}
		return request_error(req, "io.hvcap.Host.ReloadFailed", p);
	}
	drifted = json_object_new_array();
	for (size_t i = 0; drifted && i < res.n_drifted; i++)
		if (json_object_array_add(drifted, json_object_new_int64(res.drifted[i])) < 0) {
			json_object_put(drifted);
			drifted = NULL;
		}
	reply = json_object_new_object();
	ok = hvcapd_json_add(reply, "previous_fingerprint", json_object_new_string(res.previous_fingerprint)) == 0;
	ok = ok && hvcapd_json_add(reply, "fingerprint", json_object_new_string(res.fingerprint)) == 0;
	ok = ok && hvcapd_json_add(reply, "changed", json_object_new_boolean(res.changed)) == 0;
	/* drifted exists already: its add consumes it, or it is dropped here. */
	if (ok)
		ok = hvcapd_json_add(reply, "drifted", drifted) == 0;
	else
		json_object_put(drifted);
	if (!ok) {
		json_object_put(reply);
		hvcapd_reload_result_done(&res);
		return -ENOMEM;
	}
	hvcapd_reload_result_done(&res);
	return request_reply(req, reply);
}

const struct method method_host_reload = {
	.name = "io.hvcap.Host.Reload",
	.flags = METHOD_PRIVILEGED | METHOD_MUTATES,
	.handler = host_reload,
};
