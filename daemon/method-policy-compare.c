/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * io.hvcap.Policy.Compare: a policy against the host a raw CPUID dump and
 * model parameters describe (`hvctl policy check --host-dump FILE
 * --param K=V`, over the socket).
 */

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <hvcore/model.h>
#include <hvcore/policy.h>
#include <libcaps/dump.h>
#include <proto/json-writer.h>
#include <proto/policy.h>
#include <proto/varlink.h>

#include "hvcapd-internal.h"

/* Model parameters in one call: more than hv_host_params_names() lists, fewer than any abuse. */
#define COMPARE_MAX_PARAMS 64

struct param {
	char key[64];
	char value[CAPS_PARAM_VALUE_MAX];
};

struct params {
	struct json_object *policy;
	const char *dump;
	size_t dump_len;
	struct param kv[COMPARE_MAX_PARAMS];
	size_t n_kv;
	int names;		/* enum caps_names */
};

/* The dump's text, borrowed from the parameters: it may be as large as a message. */
static int decode_dump(const struct proto_field *f, struct json_object *v, void *base, const char *path,
		       struct proto_error *err)
{
	struct params *p = base;

	(void)f;
	return proto_json_get_string(v, CAPS_DUMP_MAX_BYTES, path, &p->dump, &p->dump_len, err);
}

static const struct proto_field param_value = {
	.type = PROTO_FIELD_STRING,
	PROTO_MEMBER(struct param, value),
};

static const struct proto_field fields[] = {
	{ .name = "policy", .type = PROTO_FIELD_CUSTOM, .flags = PROTO_FIELD_REQUIRED,
	  PROTO_MEMBER(struct params, policy), .decode = hvcapd_decode_keep_object },
	{ .name = "dump", .type = PROTO_FIELD_CUSTOM, .flags = PROTO_FIELD_REQUIRED,
	  .decode = decode_dump },
	{ .name = "params", .type = PROTO_FIELD_MAP, .flags = PROTO_FIELD_NULLABLE,
	  .offset = offsetof(struct params, kv), .element = &param_value,
	  .element_size = sizeof(struct param), .max_count = COMPARE_MAX_PARAMS,
	  .count_offset = offsetof(struct params, n_kv), .key_offset = offsetof(struct param, key),
	  .key_size = sizeof(((struct param *)0)->key) },
	{ .name = "names", .type = PROTO_FIELD_ENUM, .flags = PROTO_FIELD_NULLABLE,
	  PROTO_MEMBER(struct params, names), .enum_name = hvcapd_names_name },
	{ .name = NULL },
};

static int reply_invalid_dump(struct request *req, const char *reason)
{
	struct json_object *p = json_object_new_object();

	if (hvcapd_json_add(p, "reason", json_object_new_string(reason)) < 0) {
		json_object_put(p);
		return -ENOMEM;
	}
	return request_error(req, "io.hvcap.Policy.InvalidDump", p);
}

static int reply_invalid_host_parameter(struct request *req, const char *parameter, const char *reason)
{
	struct json_object *p = json_object_new_object();
	bool ok;

	ok = hvcapd_json_add(p, "parameter", json_object_new_string(parameter)) == 0;
	ok = ok && hvcapd_json_add(p, "reason", json_object_new_string(reason)) == 0;
	if (!ok) {
		json_object_put(p);
		return -ENOMEM;
	}
	return request_error(req, "io.hvcap.Policy.InvalidHostParameter", p);
}

/* What the handler needs besides the parameters: large, so allocated once. */
struct compare {
	struct params p;
	struct caps_dump raw;
	struct hv_model_result model;
	struct caps_policy policy;
	struct caps_evaluation ev;
	struct hv_policy_target target;
};

static int compare_run(struct request *req, struct json_object *parameters, struct compare *c)
{
	struct caps_dump_error derr = { 0 };
	struct hv_host_desc desc = { 0 };
	struct caps_policy *policy = NULL;
	struct proto_json_writer w;
	char reason[512];
	bool vendor_known;
	int r;

	r = hvcapd_decode(req, fields, parameters, &c->p);
	if (r)
		return r < 0 ? r : 0;
	r = hvcapd_decode_policy(req, c->p.policy, "policy", &policy);
	if (r)
		return r < 0 ? r : 0;
	c->policy = *policy;
	free(policy);

	r = caps_dump_parse(c->p.dump, c->p.dump_len, CAPS_DUMP_AUTO, &c->raw, &derr);
	if (r == -ENOMEM)
		return r;
	if (r < 0) {
		if (derr.line)
			snprintf(reason, sizeof(reason), "line %u, column %u (offset %zu): %s", derr.line,
				 derr.column, derr.offset, derr.message[0] ? derr.message : strerror(-r));
		else
			snprintf(reason, sizeof(reason), "offset %zu: %s", derr.offset,
				 derr.message[0] ? derr.message : strerror(-r));
		return reply_invalid_dump(req, reason);
	}

	desc.raw = &c->raw.cpuid;
	desc.kernel = NULL;	/* a dump carries no kernel flags: a stock kernel's, as hvctl */
	vendor_known = hv_host_params_init(&desc.params, desc.raw) == 0;
	for (size_t i = 0; i < c->p.n_kv; i++) {
		if (hv_host_params_set(&desc.params, c->p.kv[i].key, c->p.kv[i].value, reason, sizeof(reason)) < 0)
			return reply_invalid_host_parameter(req, c->p.kv[i].key, reason);
	}
	if (!vendor_known && !desc.params.vendor_given)
		return reply_invalid_host_parameter(req, "vendor",
						    "the dump's CPU vendor is neither Intel nor AMD: give vendor=intel|amd");
	r = hv_model_compute(&desc, &c->model);
	if (r == -ENOMEM)
		return r;
	if (r < 0)
		return reply_invalid_dump(req, r == -E2BIG ? "KVM's answer for this host would exceed 256 entries"
							   : "the dump lacks leaf 0 or leaf 1: no host to model");

	hv_policy_target_from_model(&c->target, &c->model, &desc.params, &c->raw.cpuid);
	r = hv_policy_evaluate(&c->policy, &c->target, (enum caps_names)c->p.names, &c->ev);
	if (r < 0)
		return r;
	proto_reply_begin(&w);
	proto_evaluation_write(&w, &c->ev, (enum caps_names)c->p.names);
	return request_reply_text(req, &w);
}

static int policy_compare(struct request *req, struct json_object *parameters)
{
	struct compare *c = calloc(1, sizeof(*c));
	int r;

	if (!c)
		return -ENOMEM;
	c->p.names = CAPS_NAMES_LINUX;
	r = compare_run(req, parameters, c);
	free(c);
	return r;
}

const struct method method_policy_compare = {
	.name = "io.hvcap.Policy.Compare",
	.flags = 0,
	.handler = policy_compare,
};
