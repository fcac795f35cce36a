/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * io.hvcap.Host.GetCapabilities: per catalog feature, in the host CPU?
 * supported by KVM? and if not, why (the same answer as `hvctl host
 * features --json` offline).
 */

#include <errno.h>

#include <proto/host.h>

#include "hvcapd-internal.h"

struct params {
	int names;		/* enum caps_names */
	bool all;
};

static const struct proto_field fields[] = {
	{ .name = "names", .type = PROTO_FIELD_ENUM, .flags = PROTO_FIELD_NULLABLE,
	  PROTO_MEMBER(struct params, names), .enum_name = hvcapd_names_name },
	{ .name = "all", .type = PROTO_FIELD_BOOL, .flags = PROTO_FIELD_NULLABLE,
	  PROTO_MEMBER(struct params, all) },
	{ .name = NULL },
};

static struct json_object *feature_json(const struct hvcapd_host *h, const struct caps *in_host,
					const struct caps_feature_info *fi, enum caps_names names)
{
	const struct hv_feature_status *s = &h->status[fi->id];
	bool kvm = caps_has(&h->record->features, fi->id);
	const char *note_names[HV_NR_NOTES];
	size_t n = kvm ? hv_note_names(s->notes, note_names) : 0;

	return proto_feature_status_to_json(caps_feature_name(fi->id, names), fi->qemu,
					    caps_has(in_host, fi->id), kvm,
					    hv_reason_name(kvm ? HV_REASON_SUPPORTED : s->reason),
					    kvm ? NULL : s->detail, note_names, n);
}

static int host_get_capabilities(struct request *req, struct json_object *parameters)
{
	const struct hvcapd_host *h = hvcapd_get_host(request_daemon(req));
	struct params p = { .names = CAPS_NAMES_LINUX, .all = false };
	struct json_object *reply, *features;
	struct caps in_host;
	bool ok;
	int r;

	r = hvcapd_decode(req, fields, parameters, &p);
	if (r)
		return r < 0 ? r : 0;
	caps_from_dump(&in_host, h->raw);
	features = json_object_new_array();
	for (size_t i = 0; features && i < caps_feature_count(); i++) {
		const struct caps_feature_info *fi = caps_feature_at(i);
		struct json_object *f;

		if (!p.all && !caps_has(&in_host, fi->id) && !caps_has(&h->record->features, fi->id))
			continue;
		f = feature_json(h, &in_host, fi, (enum caps_names)p.names);
		if (!f || json_object_array_add(features, f) < 0) {
			json_object_put(f);
			json_object_put(features);
			features = NULL;
		}
	}
	reply = json_object_new_object();
	ok = hvcapd_json_add(reply, "fingerprint", json_object_new_string(h->record->fingerprint)) == 0;
	/* features exists already: its add consumes it, or it is dropped here. */
	if (ok)
		ok = hvcapd_json_add(reply, "features", features) == 0;
	else
		json_object_put(features);
	if (!ok) {
		json_object_put(reply);
		return -ENOMEM;
	}
	return request_reply(req, reply);
}

const struct method method_host_get_capabilities = {
	.name = "io.hvcap.Host.GetCapabilities",
	.flags = 0,
	.handler = host_get_capabilities,
};
