/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * io.hvcap.Policy's FleetHost: one host of a cross-host question
 * (Baseline's hosts, Compare's own host and its source), given as a raw
 * CPUID dump with model parameters or as a host record exported on it,
 * read into the policy target the question is asked of.
 */

#include <errno.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <proto/host.h>

#include "hvcapd-internal.h"

int hvcapd_decode_dump_text(const struct proto_field *f, struct json_object *v, void *base, const char *path,
			    struct proto_error *err)
{
	/* f->offset is PROTO_MEMBER()'s offsetof(), so the member is aligned. */
	struct hvcapd_text *t = (struct hvcapd_text *)(void *)((char *)base + f->offset);

	return proto_json_get_string(v, CAPS_DUMP_MAX_BYTES, path, &t->s, &t->len, err);
}

const struct proto_field hvcapd_fleet_param_value = {
	.type = PROTO_FIELD_STRING,
	PROTO_MEMBER(struct hvcapd_fleet_param, value),
};

static bool name_is_valid(const char *s, size_t len)
{
	(void)s;
	return len > 0;
}

const struct proto_field hvcapd_fleet_input_fields[] = {
	{ .name = "name", .type = PROTO_FIELD_STRING, .flags = PROTO_FIELD_NULLABLE | PROTO_FIELD_PRESENCE,
	  PROTO_MEMBER(struct hvcapd_fleet_input, name),
	  .presence_offset = offsetof(struct hvcapd_fleet_input, has_name),
	  .valid = name_is_valid, .valid_desc = "1 to 255 bytes" },
	{ .name = "dump", .type = PROTO_FIELD_CUSTOM, .flags = PROTO_FIELD_NULLABLE,
	  PROTO_MEMBER(struct hvcapd_fleet_input, dump), .decode = hvcapd_decode_dump_text },
	{ .name = "record", .type = PROTO_FIELD_CUSTOM, .flags = PROTO_FIELD_NULLABLE,
	  PROTO_MEMBER(struct hvcapd_fleet_input, record), .decode = hvcapd_decode_keep_object },
	{ .name = "params", .type = PROTO_FIELD_MAP, .flags = PROTO_FIELD_NULLABLE,
	  .offset = offsetof(struct hvcapd_fleet_input, kv), .element = &hvcapd_fleet_param_value,
	  .element_size = sizeof(struct hvcapd_fleet_param), .max_count = HVCAPD_FLEET_MAX_PARAMS,
	  .count_offset = offsetof(struct hvcapd_fleet_input, n_kv),
	  .key_offset = offsetof(struct hvcapd_fleet_param, key),
	  .key_size = sizeof(((struct hvcapd_fleet_param *)0)->key) },
	{ .name = NULL },
};

/* "hosts[2].dump", or "dump" for Compare's own host. */
static void member_path(char *buf, size_t size, const char *where, const char *member)
{
	snprintf(buf, size, "%s%s%s", where, where[0] ? "." : "", member);
}

static int reply_error(struct request *req, const char *error, const char *k1, const char *v1, const char *k2,
		       const char *v2)
{
	struct json_object *p = json_object_new_object();
	bool ok;

	ok = hvcapd_json_add(p, k1, json_object_new_string(v1)) == 0;
	ok = ok && (!k2 || hvcapd_json_add(p, k2, json_object_new_string(v2)) == 0);
	if (!ok) {
		json_object_put(p);
		return -ENOMEM;
	}
	return request_error(req, error, p);
}

/* InvalidDump, its reason prefixed with where ("hosts[2]: line 3, ..."). */
static int reply_invalid_dump(struct request *req, const char *where, const char *reason)
{
	char text[768];
	int r;

	snprintf(text, sizeof(text), "%s%s%s", where, where[0] ? ": " : "", reason);
	r = reply_error(req, "io.hvcap.Policy.InvalidDump", "reason", text, NULL, NULL);
	return r < 0 ? r : 1;
}

static int reply_invalid_host_parameter(struct request *req, const char *where, const char *key,
					const char *reason)
{
	char parameter[384], member[128];
	int r;

	snprintf(member, sizeof(member), "params.%s", key);
	member_path(parameter, sizeof(parameter), where, where[0] ? member : key);
	r = reply_error(req, "io.hvcap.Policy.InvalidHostParameter", "parameter", parameter, "reason", reason);
	return r < 0 ? r : 1;
}

static int reply_invalid_parameter(struct request *req, const char *where, const char *member)
{
	char parameter[320];
	int r;

	member_path(parameter, sizeof(parameter), where, member);
	r = request_invalid_parameter(req, parameter);
	return r < 0 ? r : 1;
}

static int load_dump(struct request *req, const struct hvcapd_fleet_input *in, const char *where,
		     struct hvcapd_fleet_host *h)
{
	struct caps_dump_error derr = { 0 };
	struct hv_host_desc desc = { 0 };
	char reason[512];
	bool vendor_known;
	int r;

	r = caps_dump_parse(in->dump.s, in->dump.len, CAPS_DUMP_AUTO, &h->raw, &derr);
	if (r == -ENOMEM)
		return r;
	if (r < 0) {
		if (derr.line)
			snprintf(reason, sizeof(reason), "line %u, column %u (offset %zu): %s", derr.line,
				 derr.column, derr.offset, derr.message[0] ? derr.message : strerror(-r));
		else
			snprintf(reason, sizeof(reason), "offset %zu: %s", derr.offset,
				 derr.message[0] ? derr.message : strerror(-r));
		return reply_invalid_dump(req, where, reason);
	}
	desc.raw = &h->raw.cpuid;
	desc.kernel = NULL;	/* a dump carries no kernel flags: a stock kernel's, as hvctl */
	vendor_known = hv_host_params_init(&desc.params, desc.raw) == 0;
	for (size_t k = 0; k < in->n_kv; k++)
		if (hv_host_params_set(&desc.params, in->kv[k].key, in->kv[k].value, reason, sizeof(reason)) < 0)
			return reply_invalid_host_parameter(req, where, in->kv[k].key, reason);
	if (!vendor_known && !desc.params.vendor_given)
		return reply_invalid_host_parameter(req, where, "vendor",
						    "the dump's CPU vendor is neither Intel nor AMD: give vendor=intel|amd");
	r = hv_model_compute(&desc, &h->model);
	if (r == -ENOMEM)
		return r;
	if (r < 0)
		return reply_invalid_dump(req, where, r == -E2BIG ? "KVM's answer for this host would exceed 256 entries"
								  : "the dump lacks leaf 0 or leaf 1: no host to model");
	hv_policy_target_from_model(&h->target, &h->model, &desc.params, &h->raw.cpuid);
	return 0;
}

static int load_record(struct request *req, const struct hvcapd_fleet_input *in, const char *where,
		       struct hvcapd_fleet_host *h)
{
	struct proto_error err = { { 0 } };
	struct proto_host_export *x = malloc(sizeof(*x));
	char path[384];
	int r;

	if (!x)
		return -ENOMEM;
	member_path(path, sizeof(path), where, "record");
	r = proto_host_export_from_json(in->record, path, x, &err);
	if (r < 0) {
		free(x);
		if (r == -ENOMEM)
			return r;
		r = reply_error(req, "io.hvcap.Policy.InvalidHostRecord", "parameter", err.path[0] ? err.path : path,
				"reason", err.message);
		return r < 0 ? r : 1;
	}
	h->record = x->record;
	hv_policy_target_from_record(&h->target, &h->record, x->derived.avic, x->derived.x2avic, h->status);
	if (x->inventory)
		hv_policy_status_inventory(h->status, &h->record);
	/* The details stay in the parameters' JSON, which outlives the call. */
	for (size_t i = 0; i < x->n_withheld; i++)
		hv_policy_status_withhold(h->status, &h->record, x->withheld[i].feature, x->withheld[i].reason,
					  x->withheld[i].detail);
	if (!h->name)
		h->name = x->hostname ? x->hostname : h->record.fingerprint;
	free(x);
	return 0;
}

int hvcapd_fleet_input_check(struct request *req, const struct hvcapd_fleet_input *in, const char *where)
{
	if (!in->dump.s && !in->record)
		return reply_invalid_parameter(req, where, "dump");
	if (in->dump.s && in->record)
		return reply_invalid_parameter(req, where, "record");
	if (in->record && in->n_kv)
		return reply_invalid_parameter(req, where, "params");
	return 0;
}

int hvcapd_fleet_host_load(struct request *req, const struct hvcapd_fleet_input *in, const char *where,
			   const char *default_name, struct hvcapd_fleet_host *h)
{
	int r;

	r = hvcapd_fleet_input_check(req, in, where);
	if (r)
		return r;
	h->name = in->has_name ? in->name : NULL;
	r = in->record ? load_record(req, in, where, h) : load_dump(req, in, where, h);
	if (r == 0 && !h->name)
		h->name = default_name;
	return r;
}
