/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libFuzzer target: the policy codec (proto/policy-json.c) on arbitrary
 * bytes, then, for a policy it accepts, hvcore's evaluation
 * (hvcore/policy.c) against two fixed model hosts from
 * tests/unit/synthetic-hosts.h (an AMD Zen 5-like host with AVIC, an
 * Intel Sapphire Rapids-like one), and the evaluation's and the policy's
 * JSON.  An accepted policy must encode and decode back.
 */

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include <hvcore/policy.h>
#include <libcaps/policy.h>
#include <proto/policy.h>

#include "fuzz-hosts.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct fuzz_host {
	struct caps_dump dump;
	struct hv_host_params params;
	struct hv_model_result model;
	struct hv_policy_target target;
};

static struct fuzz_host *hosts[2];

/* synth_model() without Check's assertions, which need a running test. */
static void model(struct fuzz_host *h, const char *const *kv)
{
	struct hv_host_desc desc = { .raw = &h->dump.cpuid };
	char err[256];

	if (hv_host_params_init(&desc.params, &h->dump.cpuid) < 0)
		abort();
	for (; kv[0]; kv += 2)
		if (hv_host_params_set(&desc.params, kv[0], kv[1], err, sizeof(err)) < 0) {
			fprintf(stderr, "fuzz-policy: %s\n", err);
			abort();
		}
	if (hv_model_compute(&desc, &h->model) < 0)
		abort();
	h->params = desc.params;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	static const char *const amd[] = { "kernel", "6.18", "avic", "on", NULL };
	static const char *const intel[] = { "kernel", "6.12", NULL };

	for (int i = 0; i < 2; i++) {
		struct fuzz_host *h = calloc(1, sizeof(*h));

		if (!h)
			abort();
		caps_dump_init(&h->dump);
		if (i == 0) {
			synth_host_amd(&h->dump);
			model(h, amd);
		} else {
			synth_host_intel(&h->dump);
			model(h, intel);
		}
		hv_policy_target_from_model(&h->target, &h->model, &h->params, &h->dump.cpuid);
		hosts[i] = h;
	}
	return 0;
}

static void evaluate(const struct caps_policy *p, const struct hv_policy_target *t, enum caps_names names)
{
	struct caps_evaluation *ev = calloc(1, sizeof(*ev));
	struct json_object *o;
	int r;

	if (!ev)
		return;
	r = hv_policy_evaluate(p, t, names, ev);
	if (r < 0 && r != -ENOMEM && r != -EINVAL)
		abort();
	if (r == 0) {
		o = proto_evaluation_to_json(ev, names);
		if (o)
			(void)json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN);
		json_object_put(o);
	}
	free(ev);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct caps_policy *p = malloc(sizeof(*p)), *back = malloc(sizeof(*back));
	struct proto_error err = { { 0 } };
	struct json_object *o;
	const char *s;

	if (!p || !back)
		goto out;
	if (proto_policy_parse((const char *)data, size, p, &err) < 0) {
		if (!memchr(err.message, 0, sizeof(err.message)) || !memchr(err.path, 0, sizeof(err.path)))
			abort();
		goto out;
	}
	o = proto_policy_to_json(p);
	if (o) {
		s = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN);
		if (proto_policy_parse(s, strlen(s), back, &err) < 0) {
			fprintf(stderr, "an accepted policy does not read back: %s: %s\n%s\n", err.path, err.message, s);
			abort();
		}
		if (back->n_features != p->n_features || back->vcpus != p->vcpus || back->base != p->base) {
			fprintf(stderr, "an accepted policy reads back otherwise:\n%s\n", s);
			abort();
		}
		json_object_put(o);
	}
	evaluate(p, &hosts[size & 1]->target, CAPS_NAMES_LINUX);
	evaluate(p, &hosts[!(size & 1)]->target, CAPS_NAMES_QEMU);
out:
	free(p);
	free(back);
	return 0;
}
