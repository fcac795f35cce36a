/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * io.hvcap.Policy.Baseline: the richest policy every host of a set
 * accepts, each host given as a raw CPUID dump and model parameters or
 * as a host record exported on it (FleetHost, fleet-host.c), with the
 * features some hosts' KVM supports and others not, and why (`hvctl
 * policy baseline`, over the socket).
 */

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <hvcore/fleet.h>
#include <proto/policy.h>

#include "hvcapd-internal.h"

struct params {
	/* One past the limit, so that too many hosts is LimitExceeded rather than InvalidParameter. */
	struct hvcapd_fleet_input hosts[HV_BASELINE_MAX_HOSTS + 1];
	size_t n_hosts;
	bool migratable;
	bool vendor_subset;
	int names;			/* enum caps_names */
};

static const struct proto_field host_element = {
	.type = PROTO_FIELD_OBJECT, .offset = 0, .fields = hvcapd_fleet_input_fields,
};

static const struct proto_field fields[] = {
	{ .name = "hosts", .type = PROTO_FIELD_ARRAY, .flags = PROTO_FIELD_REQUIRED,
	  .offset = offsetof(struct params, hosts), .element = &host_element,
	  .element_size = sizeof(struct hvcapd_fleet_input), .max_count = HV_BASELINE_MAX_HOSTS + 1,
	  .count_offset = offsetof(struct params, n_hosts) },
	{ .name = "migratable", .type = PROTO_FIELD_BOOL, .flags = PROTO_FIELD_NULLABLE,
	  PROTO_MEMBER(struct params, migratable) },
	{ .name = "vendor_subset", .type = PROTO_FIELD_BOOL, .flags = PROTO_FIELD_NULLABLE,
	  PROTO_MEMBER(struct params, vendor_subset) },
	{ .name = "names", .type = PROTO_FIELD_ENUM, .flags = PROTO_FIELD_NULLABLE,
	  PROTO_MEMBER(struct params, names), .enum_name = hvcapd_names_name },
	{ .name = NULL },
};

/* What the handler needs besides the parameters: large, so allocated once. */
struct baseline {
	struct params p;
	struct hvcapd_fleet_host *hosts;	/* p.n_hosts of them */
	char labels[HV_BASELINE_MAX_HOSTS][24];	/* "0", "1": the name of a dump given none */
	struct hv_policy_target targets[HV_BASELINE_MAX_HOSTS];
	const char *names[HV_BASELINE_MAX_HOSTS];
	struct hv_baseline b;
	struct proto_baseline_lack *lacks;
	const char *excluded[CAPS_POLICY_MAX_FEATURES];
	const char *warnings[HV_BASELINE_MAX_WARNINGS];
};

static int reply_mixed_vendors(struct request *req, const struct baseline *c)
{
	struct json_object *p = json_object_new_object(), *hosts = json_object_new_array();
	struct json_object *vendors = json_object_new_array();
	bool ok = p && hosts && vendors;

	for (size_t i = 0; ok && i < c->p.n_hosts; i++) {
		ok = json_object_array_add(hosts, json_object_new_string(c->names[i])) == 0;
		ok = ok && json_object_array_add(vendors, json_object_new_string(c->b.vendors[i])) == 0;
	}
	ok = hvcapd_json_add(p, "hosts", hosts) == 0 && ok;
	ok = hvcapd_json_add(p, "vendors", vendors) == 0 && ok;
	if (!ok) {
		json_object_put(p);
		return -ENOMEM;
	}
	return request_error(req, "io.hvcap.Policy.MixedVendors", p);
}

static bool name_taken(const struct baseline *c, size_t i, const char *name)
{
	for (size_t k = 0; k < i; k++)
		if (strcmp(c->names[k], name) == 0)
			return true;
	return false;
}

/* Read host i: 0, 1 (answered with an error), -errno. */
static int load_host(struct request *req, struct baseline *c, size_t i)
{
	char where[32];
	int r;

	snprintf(where, sizeof(where), "hosts[%zu]", i);
	snprintf(c->labels[i], sizeof(c->labels[i]), "%zu", i);
	r = hvcapd_fleet_host_load(req, &c->p.hosts[i], where, c->labels[i], &c->hosts[i]);
	if (r)
		return r;
	c->targets[i] = c->hosts[i].target;
	c->names[i] = c->hosts[i].name;
	/*
	 * A record unnamed by the caller is its hostname: when an earlier host
	 * has that name (records exported on hosts that share one), its
	 * fingerprint, else its index, so that the blockers stay unambiguous.
	 */
	if (c->p.hosts[i].record && !c->p.hosts[i].has_name) {
		if (name_taken(c, i, c->names[i]))
			c->names[i] = c->hosts[i].record.fingerprint;
		if (name_taken(c, i, c->names[i]))
			c->names[i] = c->labels[i];
	}
	return 0;
}

static int reply_baseline(struct request *req, struct baseline *c, enum caps_names names)
{
	const struct hv_baseline *b = &c->b;
	struct proto_baseline pb = {
		.policy = &b->policy, .hosts = c->names, .n_hosts = c->p.n_hosts,
		.excluded = c->excluded, .warnings = c->warnings,
	};
	struct json_object *reply;

	c->lacks = calloc(b->n_lacks ? b->n_lacks : 1, sizeof(*c->lacks));
	if (!c->lacks)
		return -ENOMEM;
	for (size_t i = 0; i < b->n_lacks; i++)
		c->lacks[i] = (struct proto_baseline_lack) {
			.feature = caps_feature_name(b->lacks[i].feature, names),
			.host = b->lacks[i].host,
			.reason = hv_reason_name((enum hv_reason)b->lacks[i].reason),
			.detail = b->lacks[i].detail,
			.emulated = b->lacks[i].emulated,
		};
	pb.lacks = c->lacks;
	pb.n_lacks = b->n_lacks;
	caps_for_each(f, &b->excluded)
		c->excluded[pb.n_excluded++] = caps_feature_name(f, names);
	for (size_t i = 0; i < b->n_warnings; i++)
		c->warnings[pb.n_warnings++] = b->warnings[i];
	reply = proto_baseline_to_json(&pb);
	if (!reply)
		return -ENOMEM;
	return request_reply(req, reply);
}

static int baseline_run(struct request *req, struct json_object *parameters, struct baseline *c)
{
	enum caps_names names;
	unsigned flags = 0;
	int r;

	r = hvcapd_decode(req, fields, parameters, &c->p);
	if (r)
		return r < 0 ? r : 0;
	if (c->p.n_hosts > HV_BASELINE_MAX_HOSTS)
		return request_limit_exceeded(req, "max_baseline_hosts", HV_BASELINE_MAX_HOSTS);
	if (c->p.n_hosts == 0)
		return request_invalid_parameter(req, "hosts");
	names = (enum caps_names)c->p.names;
	c->hosts = calloc(c->p.n_hosts, sizeof(*c->hosts));
	if (!c->hosts)
		return -ENOMEM;
	for (size_t i = 0; i < c->p.n_hosts; i++) {
		char where[32];

		snprintf(where, sizeof(where), "hosts[%zu]", i);
		r = hvcapd_fleet_input_check(req, &c->p.hosts[i], where);
		if (r)
			return r < 0 ? r : 0;
	}
	for (size_t i = 0; i < c->p.n_hosts; i++) {
		r = load_host(req, c, i);
		if (r)
			return r < 0 ? r : 0;
	}
	if (c->p.migratable)
		flags |= HV_BASELINE_MIGRATABLE;
	if (c->p.vendor_subset)
		flags |= HV_BASELINE_VENDOR_SUBSET;
	r = hv_baseline_compute(c->targets, c->p.n_hosts, flags, names, &c->b);
	if (r < 0)
		return r == -E2BIG ? request_limit_exceeded(req, "max_policy_features", CAPS_POLICY_MAX_FEATURES) : r;
	switch (c->b.outcome) {
	case HV_BASELINE_MIXED_VENDORS:
		return reply_mixed_vendors(req, c);
	case HV_BASELINE_NOTHING_COMMON:
		return request_error(req, "io.hvcap.Policy.NoCommonFeatures", NULL);
	case HV_BASELINE_OK:
		break;
	}
	return reply_baseline(req, c, names);
}

static int policy_baseline(struct request *req, struct json_object *parameters)
{
	struct baseline *c = calloc(1, sizeof(*c));
	int r;

	if (!c)
		return -ENOMEM;
	c->p.names = CAPS_NAMES_LINUX;
	r = baseline_run(req, parameters, c);
	hv_baseline_done(&c->b);
	free(c->lacks);
	free(c->hosts);
	free(c);
	return r;
}

const struct method method_policy_baseline = {
	.name = "io.hvcap.Policy.Baseline",
	.flags = 0,
	.handler = policy_baseline,
};
