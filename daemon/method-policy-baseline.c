/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * io.hvcap.Policy.Baseline: the richest policy every host of a set
 * accepts, each host given as a raw CPUID dump and model parameters
 * (as Policy.Compare takes one), with the features some hosts' KVM
 * supports and others not, and why (`hvctl policy baseline`, over the
 * socket).
 */

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <hvcore/fleet.h>
#include <libcaps/dump.h>
#include <proto/policy.h>

#include "hvcapd-internal.h"

/* Model parameters per host: more than hv_host_params_names() lists, fewer than any abuse. */
#define BASELINE_MAX_PARAMS	32
/* Bytes of a host's name: a file name fits. */
#define BASELINE_NAME_MAX	255

struct param {
	char key[64];
	char value[CAPS_PARAM_VALUE_MAX];
};

struct host_param {
	char name[BASELINE_NAME_MAX + 1];
	bool has_name;
	const char *dump;		/* borrowed from the parameters */
	size_t dump_len;
	struct param kv[BASELINE_MAX_PARAMS];
	size_t n_kv;
};

struct params {
	/* One past the limit, so that too many hosts is LimitExceeded rather than InvalidParameter. */
	struct host_param hosts[HV_BASELINE_MAX_HOSTS + 1];
	size_t n_hosts;
	bool migratable;
	bool vendor_subset;
	int names;			/* enum caps_names */
};

static int decode_dump(const struct proto_field *f, struct json_object *v, void *base, const char *path,
		       struct proto_error *err)
{
	struct host_param *h = base;

	(void)f;
	return proto_json_get_string(v, CAPS_DUMP_MAX_BYTES, path, &h->dump, &h->dump_len, err);
}

static const struct proto_field param_value = {
	.type = PROTO_FIELD_STRING,
	PROTO_MEMBER(struct param, value),
};

static bool name_is_valid(const char *s, size_t len)
{
	(void)s;
	return len > 0;
}

static const struct proto_field host_fields[] = {
	{ .name = "name", .type = PROTO_FIELD_STRING, .flags = PROTO_FIELD_NULLABLE | PROTO_FIELD_PRESENCE,
	  PROTO_MEMBER(struct host_param, name), .presence_offset = offsetof(struct host_param, has_name),
	  .valid = name_is_valid, .valid_desc = "1 to 255 bytes" },
	{ .name = "dump", .type = PROTO_FIELD_CUSTOM, .flags = PROTO_FIELD_REQUIRED, .decode = decode_dump },
	{ .name = "params", .type = PROTO_FIELD_MAP, .flags = PROTO_FIELD_NULLABLE,
	  .offset = offsetof(struct host_param, kv), .element = &param_value,
	  .element_size = sizeof(struct param), .max_count = BASELINE_MAX_PARAMS,
	  .count_offset = offsetof(struct host_param, n_kv), .key_offset = offsetof(struct param, key),
	  .key_size = sizeof(((struct param *)0)->key) },
	{ .name = NULL },
};

static const struct proto_field host_element = {
	.type = PROTO_FIELD_OBJECT, .offset = 0, .fields = host_fields,
};

static const struct proto_field fields[] = {
	{ .name = "hosts", .type = PROTO_FIELD_ARRAY, .flags = PROTO_FIELD_REQUIRED,
	  .offset = offsetof(struct params, hosts), .element = &host_element,
	  .element_size = sizeof(struct host_param), .max_count = HV_BASELINE_MAX_HOSTS + 1,
	  .count_offset = offsetof(struct params, n_hosts) },
	{ .name = "migratable", .type = PROTO_FIELD_BOOL, .flags = PROTO_FIELD_NULLABLE,
	  PROTO_MEMBER(struct params, migratable) },
	{ .name = "vendor_subset", .type = PROTO_FIELD_BOOL, .flags = PROTO_FIELD_NULLABLE,
	  PROTO_MEMBER(struct params, vendor_subset) },
	{ .name = "names", .type = PROTO_FIELD_ENUM, .flags = PROTO_FIELD_NULLABLE,
	  PROTO_MEMBER(struct params, names), .enum_name = hvcapd_names_name },
	{ .name = NULL },
};

/* One host's dump, model and policy target. */
struct host {
	struct caps_dump raw;
	struct hv_model_result model;
	char label[16];			/* "0", "1": the name of a host given none */
};

/* What the handler needs besides the parameters: large, so allocated once. */
struct baseline {
	struct params p;
	struct host *hosts;		/* p.n_hosts of them */
	struct hv_policy_target targets[HV_BASELINE_MAX_HOSTS];
	const char *names[HV_BASELINE_MAX_HOSTS];
	struct hv_baseline b;
	struct proto_baseline_lack *lacks;
	const char *excluded[CAPS_POLICY_MAX_FEATURES];
	const char *warnings[HV_BASELINE_MAX_WARNINGS];
};

static int reply_invalid_dump(struct request *req, size_t host, const char *reason)
{
	struct json_object *p = json_object_new_object();
	char text[768];

	snprintf(text, sizeof(text), "hosts[%zu]: %s", host, reason);
	if (hvcapd_json_add(p, "reason", json_object_new_string(text)) < 0) {
		json_object_put(p);
		return -ENOMEM;
	}
	return request_error(req, "io.hvcap.Policy.InvalidDump", p);
}

static int reply_invalid_host_parameter(struct request *req, size_t host, const char *key, const char *reason)
{
	struct json_object *p = json_object_new_object();
	char parameter[128];
	bool ok;

	snprintf(parameter, sizeof(parameter), "hosts[%zu].params.%s", host, key);
	ok = hvcapd_json_add(p, "parameter", json_object_new_string(parameter)) == 0;
	ok = ok && hvcapd_json_add(p, "reason", json_object_new_string(reason)) == 0;
	if (!ok) {
		json_object_put(p);
		return -ENOMEM;
	}
	return request_error(req, "io.hvcap.Policy.InvalidHostParameter", p);
}

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

/* Read and model host i: 0, 1 (answered with an error), -errno. */
static int model_host(struct request *req, struct baseline *c, size_t i)
{
	const struct host_param *hp = &c->p.hosts[i];
	struct host *h = &c->hosts[i];
	struct caps_dump_error derr = { 0 };
	struct hv_host_desc desc = { 0 };
	char reason[512];
	bool vendor_known;
	int r;

	snprintf(h->label, sizeof(h->label), "%zu", i);
	c->names[i] = hp->has_name ? hp->name : h->label;
	r = caps_dump_parse(hp->dump, hp->dump_len, CAPS_DUMP_AUTO, &h->raw, &derr);
	if (r == -ENOMEM)
		return r;
	if (r < 0) {
		if (derr.line)
			snprintf(reason, sizeof(reason), "line %u, column %u (offset %zu): %s", derr.line,
				 derr.column, derr.offset, derr.message[0] ? derr.message : strerror(-r));
		else
			snprintf(reason, sizeof(reason), "offset %zu: %s", derr.offset,
				 derr.message[0] ? derr.message : strerror(-r));
		r = reply_invalid_dump(req, i, reason);
		return r < 0 ? r : 1;
	}
	desc.raw = &h->raw.cpuid;
	desc.kernel = NULL;	/* a dump carries no kernel flags: a stock kernel's, as Compare */
	vendor_known = hv_host_params_init(&desc.params, desc.raw) == 0;
	for (size_t k = 0; k < hp->n_kv; k++) {
		if (hv_host_params_set(&desc.params, hp->kv[k].key, hp->kv[k].value, reason, sizeof(reason)) < 0) {
			r = reply_invalid_host_parameter(req, i, hp->kv[k].key, reason);
			return r < 0 ? r : 1;
		}
	}
	if (!vendor_known && !desc.params.vendor_given) {
		r = reply_invalid_host_parameter(req, i, "vendor",
						 "the dump's CPU vendor is neither Intel nor AMD: give vendor=intel|amd");
		return r < 0 ? r : 1;
	}
	r = hv_model_compute(&desc, &h->model);
	if (r == -ENOMEM)
		return r;
	if (r < 0) {
		r = reply_invalid_dump(req, i, r == -E2BIG ? "KVM's answer for this host would exceed 256 entries"
						       : "the dump lacks leaf 0 or leaf 1: no host to model");
		return r < 0 ? r : 1;
	}
	hv_policy_target_from_model(&c->targets[i], &h->model, &desc.params, &h->raw.cpuid);
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
		r = model_host(req, c, i);
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
