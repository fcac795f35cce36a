/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* io.hvcap.Host.Describe: the host record and its fingerprint. */

#include <errno.h>

#include <hvcore/policy.h>
#include <hvcore/vm.h>
#include <proto/host.h>

#include "hvcapd-internal.h"

static const struct proto_field fields[] = {
	{ .name = NULL },
};

static int host_describe(struct request *req, struct json_object *parameters)
{
	const struct hvcapd_host *h = hvcapd_get_host(request_daemon(req));
	struct proto_host_derived derived;
	struct json_object *reply, *host;
	char none;
	int r;

	r = hvcapd_decode(req, fields, parameters, &none);
	if (r)
		return r < 0 ? r : 0;
	derived.level = hv_x86_64_level(&h->record->features);
	derived.avic = hv_host_is_avic_enabled(&h->target.host);
	derived.x2avic = hv_host_is_x2avic_enabled(&h->target.host);
	host = proto_host_record_to_json(h->record, &derived, CAPS_NAMES_LINUX);
	reply = json_object_new_object();
	if (hvcapd_json_add(reply, "host", host) < 0) {
		json_object_put(reply);
		return -ENOMEM;
	}
	return request_reply(req, reply);
}

const struct method method_host_describe = {
	.name = "io.hvcap.Host.Describe",
	.flags = 0,
	.handler = host_describe,
};
