/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * io.hvcap.Policy.Validate: a policy against this host; the reply is the
 * evaluation (`hvctl policy check --json`'s object).
 */

#include <errno.h>
#include <stdlib.h>

#include <proto/json-writer.h>
#include <proto/policy.h>
#include <proto/varlink.h>

#include "hvcapd-internal.h"

struct params {
	struct json_object *policy;
	int names;		/* enum caps_names */
};

static const struct proto_field fields[] = {
	{ .name = "policy", .type = PROTO_FIELD_CUSTOM, .flags = PROTO_FIELD_REQUIRED,
	  PROTO_MEMBER(struct params, policy), .decode = hvcapd_decode_keep_object },
	{ .name = "names", .type = PROTO_FIELD_ENUM, .flags = PROTO_FIELD_NULLABLE,
	  PROTO_MEMBER(struct params, names), .enum_name = hvcapd_names_name },
	{ .name = NULL },
};

static int policy_validate(struct request *req, struct json_object *parameters)
{
	struct params p = { .policy = NULL, .names = CAPS_NAMES_LINUX };
	struct caps_evaluation *ev = NULL;
	struct caps_policy *policy = NULL;
	struct proto_json_writer w;
	int r;

	r = hvcapd_decode(req, fields, parameters, &p);
	if (r)
		return r < 0 ? r : 0;
	r = hvcapd_decode_policy(req, p.policy, "policy", &policy);
	if (r)
		return r < 0 ? r : 0;
	r = hvcapd_evaluate(request_daemon(req), policy, (enum caps_names)p.names, &ev);
	free(policy);
	if (r < 0)
		return r;
	/* The reply is 1,100 values: written as text, not built as json-c objects. */
	proto_reply_begin(&w);
	proto_evaluation_write(&w, ev, (enum caps_names)p.names);
	free(ev);
	return request_reply_text(req, &w);
}

const struct method method_policy_validate = {
	.name = "io.hvcap.Policy.Validate",
	.flags = 0,
	.handler = policy_validate,
};
