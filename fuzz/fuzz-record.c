/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libFuzzer target: host records read back from JSON (proto's
 * proto_host_export_from_json(): an export of `hvctl host export --format
 * json`, Host.Describe's reply or a bare HostRecord), as hvcapd's
 * Policy.Baseline and Policy.Compare and hvctl's baseline and
 * migrate-check take them from other hosts.  For a record it accepts:
 * the policy target hvcore makes of it with the export's reasons, a
 * baseline of it with a fixed model host (tests/unit/synthetic-hosts.h),
 * and migration checks both ways between the two, each written as JSON.
 * A record accepted must write and read back equal.
 */

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include <hvcore/fleet.h>
#include <hvcore/policy.h>
#include <proto/host.h>
#include <proto/json-decode.h>
#include <proto/policy.h>

#include "fuzz-hosts.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Nesting of an export, as hvctl reads one. */
#define RECORD_MAX_DEPTH 8

static struct caps_dump *model_dump;
static struct hv_model_result *model;
static struct hv_policy_target model_target;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	struct hv_host_desc desc = { 0 };

	(void)argc;
	(void)argv;
	model_dump = calloc(1, sizeof(*model_dump));
	model = calloc(1, sizeof(*model));
	if (!model_dump || !model)
		abort();
	caps_dump_init(model_dump);
	synth_host_intel(model_dump);
	desc.raw = &model_dump->cpuid;
	if (hv_host_params_init(&desc.params, desc.raw) < 0 || hv_model_compute(&desc, model) < 0)
		abort();
	hv_policy_target_from_model(&model_target, model, &desc.params, &model_dump->cpuid);
	return 0;
}

/* What one accepted record goes through. */
struct work {
	struct proto_host_export x, back;
	struct hv_feature_status status[CAPS_NR_FEATURE_IDS];
	struct hv_policy_target targets[2];
	struct hv_baseline b;
	struct caps_policy policy;
	struct caps_evaluation ev;
	struct caps_migration m;
};

static void migrate(struct work *w, const struct hv_policy_target *from, const struct hv_policy_target *to)
{
	struct json_object *o;

	if (hv_policy_evaluate(&w->policy, from, CAPS_NAMES_LINUX, &w->ev) < 0)
		return;
	memset(&w->m, 0, sizeof(w->m));
	if (w->ev.accepted && hv_migrate_check(&w->ev.guest_cpuid, to, CAPS_NAMES_QEMU, &w->m) < 0)
		abort();
	o = proto_migration_direction_to_json(&w->ev, &w->m);
	if (o)
		(void)json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN);
	json_object_put(o);
}

/* The record written as HostRecord must read back as it was. */
static void round_trip(struct work *w)
{
	struct proto_error err = { { 0 } };
	struct json_object *o = proto_host_record_to_json(&w->x.record, &w->x.derived, CAPS_NAMES_LINUX);

	if (!o)
		return;	/* out of memory, or a record no probe makes: refused by the writer */
	if (proto_host_export_from_json(o, "", &w->back, &err) < 0) {
		if (err.message[0] && strstr(err.message, "memory"))
			goto out;
		fprintf(stderr, "an accepted record does not read back: %s: %s\n", err.path, err.message);
		abort();
	}
	if (strcmp(w->back.record.fingerprint, w->x.record.fingerprint) != 0 ||
	    w->back.record.supported.nent != w->x.record.supported.nent ||
	    !caps_equal(&w->back.record.features, &w->x.record.features) ||
	    w->back.derived.level != w->x.derived.level) {
		fprintf(stderr, "an accepted record reads back otherwise\n");
		abort();
	}
out:
	json_object_put(o);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct proto_error err = { { 0 } };
	struct json_object *v = NULL;
	struct work *w;
	int r;

	if (proto_json_parse((const char *)data, size, RECORD_MAX_DEPTH, &v, &err) < 0)
		return 0;
	w = calloc(1, sizeof(*w));
	if (!w)
		goto out;
	r = proto_host_export_from_json(v, "record", &w->x, &err);
	if (r < 0) {
		if (r != -EINVAL && r != -E2BIG && r != -ENOMEM)
			abort();
		if (!memchr(err.message, 0, sizeof(err.message)) || !memchr(err.path, 0, sizeof(err.path)))
			abort();
		goto out;
	}
	hv_policy_target_from_record(&w->targets[0], &w->x.record, w->x.derived.avic, w->x.derived.x2avic,
				     w->status);
	if (w->x.inventory)
		hv_policy_status_inventory(w->status, &w->x.record);
	for (size_t i = 0; i < w->x.n_withheld; i++)
		hv_policy_status_withhold(w->status, &w->x.record, w->x.withheld[i].feature, w->x.withheld[i].reason,
					  w->x.withheld[i].detail);
	round_trip(w);

	w->targets[1] = model_target;
	r = hv_baseline_compute(w->targets, 2, size & 1 ? HV_BASELINE_MIGRATABLE : HV_BASELINE_VENDOR_SUBSET,
				CAPS_NAMES_LINUX, &w->b);
	if (r < 0 && r != -E2BIG && r != -ENOMEM) {
		fprintf(stderr, "hv_baseline_compute: %s\n", strerror(-r));
		abort();
	}
	if (r == 0 && w->b.outcome == HV_BASELINE_OK)
		w->policy = w->b.policy;
	else {
		caps_policy_init(&w->policy);
		w->policy.base = CAPS_POLICY_BASE_HOST;
	}
	hv_baseline_done(&w->b);
	migrate(w, &w->targets[0], &model_target);
	migrate(w, &model_target, &w->targets[0]);
out:
	free(w);
	json_object_put(v);
	return 0;
}
