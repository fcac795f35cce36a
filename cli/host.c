/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Loading, explaining and printing a host for the host commands. */

#include <errno.h>
#include <getopt.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <hvcore/vm.h>
#include <libcaps/dump.h>

#include <proto/host.h>
#include <proto/json-decode.h>

#include "host.h"
#include "output.h"

int hvctl_params_add(const struct hvctl_command *cmd, struct hvctl_params *ps, const char *kv)
{
	const char *eq = strchr(kv, '=');

	if (!eq || eq == kv)
		return hvctl_usage_error(cmd, "--param '%s' is not KEY=VALUE (keys: %s)", kv,
					 hv_host_params_names());
	if ((size_t)(eq - kv) >= HVCTL_PARAM_KEY_MAX)
		return hvctl_usage_error(cmd, "--param '%s': key too long", kv);
	if (ps->n >= sizeof(ps->kv) / sizeof(ps->kv[0]))
		return hvctl_usage_error(cmd, "too many --param options (at most 64)");
	ps->kv[ps->n++] = kv;
	return 0;
}

int hvctl_host_option(const struct hvctl_command *cmd, int opt, char **argv, bool *json,
		      enum caps_names *names, struct hvctl_params *params)
{
	switch (opt) {
	case 'h':
		hvctl_command_help(cmd, stdout);
		return HVCTL_EXIT_OK;
	case 'j':
		if (!json)
			break;
		*json = true;
		return HVCTL_OPTION_TAKEN;
	case 'n':
		if (!names)
			break;
		return hvctl_parse_names(cmd, optarg, names) ? HVCTL_EXIT_USAGE : HVCTL_OPTION_TAKEN;
	case 'p':
		if (!params)
			break;
		return hvctl_params_add(cmd, params, optarg) ? HVCTL_EXIT_USAGE : HVCTL_OPTION_TAKEN;
	}
	return hvctl_getopt_error(cmd, opt, argv);
}

static int apply_params(const struct hvctl_command *cmd, struct hv_host_params *p,
			const struct hvctl_params *ps)
{
	for (size_t i = 0; i < ps->n; i++) {
		char key[HVCTL_PARAM_KEY_MAX], err[512];
		const char *eq = strchr(ps->kv[i], '=');
		size_t klen = (size_t)(eq - ps->kv[i]);

		/* hvctl_params_add() let only KEY=VALUE with a short key through. */
		memcpy(key, ps->kv[i], klen);
		key[klen] = '\0';
		if (hv_host_params_set(p, key, eq + 1, err, sizeof(err)) < 0)
			return hvctl_usage_error(cmd, "--param %s", err);
	}
	return 0;
}

static int model_failed(const struct hvctl_command *cmd, const char *source, int r)
{
	if (r == -E2BIG)
		fprintf(stderr, "%s: %s: KVM's answer would exceed 256 entries\n",
			hvctl_who(cmd), source);
	else
		fprintf(stderr, "%s: %s: cannot model this host: %s\n", hvctl_who(cmd),
			source, strerror(-r));
	return HVCTL_EXIT_FAILURE;
}

int hvctl_host_model(const struct hvctl_command *cmd, struct hvctl_host *h, const char *dump,
		     const struct hvctl_params *ps)
{
	struct caps_dump_error err = { 0 };
	struct hv_host_desc desc = { 0 };
	bool vendor_known;
	int r;

	h->source = dump;
	r = caps_dump_read_file(dump, CAPS_DUMP_AUTO, &h->raw, &err);
	if (r < 0)
		return hvctl_dump_error(hvctl_who(cmd), dump, r, &err);
	desc.raw = &h->raw.cpuid;
	desc.kernel = NULL;
	/* The vendor comes from CPUID, or from vendor= when CPUID cannot tell. */
	vendor_known = hv_host_params_init(&desc.params, desc.raw) == 0;
	r = apply_params(cmd, &desc.params, ps);
	if (r)
		return r;
	if (!vendor_known && !desc.params.vendor_given)
		return hvctl_usage_error(cmd, "%s: the CPU vendor is neither Intel nor AMD; give --param vendor=intel|amd",
					 dump);
	r = hv_model_compute(&desc, &h->model);
	if (r < 0)
		return model_failed(cmd, dump, r);
	h->params = desc.params;
	h->record = &h->model.record;
	memcpy(h->status, h->model.status, sizeof(h->status));
	return 0;
}

static int model_this_machine(const struct hvctl_command *cmd, struct hvctl_host *h,
			      const struct hv_host_params *params)
{
	struct hv_host_desc desc = { 0 };
	int r;

	desc.raw = &h->raw.cpuid;
	desc.kernel = h->have_kernel ? &h->kernel : NULL;
	desc.params = *params;
	r = hv_model_compute(&desc, &h->model);
	if (r < 0)
		return model_failed(cmd, h->source, r);
	h->params = *params;
	return 0;
}

static int read_this_machine(const struct hvctl_command *cmd, struct hvctl_host *h)
{
	int r = caps_host_cpuid_read(&h->raw);

	h->source = "this machine";
	if (r < 0) {
		fprintf(stderr, "%s: cannot read this machine's CPUID: %s\n", hvctl_who(cmd),
			strerror(-r));
		return HVCTL_EXIT_FAILURE;
	}
	h->have_kernel = caps_kernel_flags_read(&h->kernel) == 0;
	return 0;
}

int hvctl_host_probe(const struct hvctl_command *cmd, struct hvctl_host *h, bool quiet)
{
	struct caps_probe_error err = { { 0 } };
	struct hv_host_params params;
	int r;

	r = read_this_machine(cmd, h);
	if (r)
		return -EIO;
	r = caps_host_probe_kvm(&h->probe, &err);
	if (r < 0) {
		if (!quiet)
			fprintf(stderr, "%s: %s\n", hvctl_who(cmd),
				err.message[0] ? err.message : strerror(-r));
		return r;
	}
	h->record = &h->probe;

	/* Explain what KVM reports and leaves out with the model of this machine. */
	if (hv_host_params_from_record(&params, &h->probe, &h->raw.cpuid) < 0 ||
	    model_this_machine(cmd, h, &params) != 0)
		hv_explain_probe(&h->probe, NULL, h->status);
	else
		hv_explain_probe(&h->probe, &h->model, h->status);
	return 0;
}

int hvctl_host_this_machine(const struct hvctl_command *cmd, struct hvctl_host *h)
{
	int r = hvctl_host_probe(cmd, h, true);

	if (r == -EIO)
		return HVCTL_EXIT_FAILURE;
	if (r < 0) {
		fprintf(stderr, "%s: no usable /dev/kvm (%s): using the model of this machine's CPU\n",
			hvctl_who(cmd), strerror(-r));
		memset(h, 0, sizeof(*h));
		r = hvctl_host_model_self(cmd, h);
	}
	return r;
}

void hvctl_host_policy_target(const struct hvctl_host *h, struct hv_policy_target *ret)
{
	if (h->json) {
		*ret = h->record_target;
		return;
	}
	hv_policy_target_from_model(ret, &h->model, &h->params, &h->raw.cpuid);
	ret->record = h->record;
	ret->status = h->status;
	if (h->record->backend == CAPS_BACKEND_KVM)
		hv_policy_target_use_probe(ret, &h->probe, h->status);
}

int hvctl_host_model_self(const struct hvctl_command *cmd, struct hvctl_host *h)
{
	struct hv_host_params params;
	int r;

	r = read_this_machine(cmd, h);
	if (r)
		return r;
	if (hv_host_params_init(&params, &h->raw.cpuid) < 0) {
		fprintf(stderr, "%s: this CPU's vendor is neither Intel nor AMD\n",
			hvctl_who(cmd));
		return HVCTL_EXIT_FAILURE;
	}
	r = model_this_machine(cmd, h, &params);
	if (r)
		return r;
	h->record = &h->model.record;
	memcpy(h->status, h->model.status, sizeof(h->status));
	return 0;
}

void hvctl_host_derived(const struct hvctl_host *h, struct proto_host_derived *ret)
{
	struct hv_policy_target t;

	hvctl_host_policy_target(h, &t);
	ret->level = hv_x86_64_level(&h->record->features);
	ret->avic = hv_host_is_avic_enabled(&t.host);
	ret->x2avic = hv_host_is_x2avic_enabled(&t.host);
}

struct json_object *hvctl_host_capabilities_json(const struct hvctl_host *h, bool all)
{
	struct json_object *o = json_object_new_object();
	struct json_object *a = json_object_new_array();
	struct caps host;

	if (!o || !a) {
		json_object_put(o);
		json_object_put(a);
		return NULL;
	}
	caps_from_dump(&host, &h->raw);
	json_object_object_add(o, "backend", json_object_new_string(caps_backend_to_string(h->record->backend)));
	json_object_object_add(o, "source", json_object_new_string(h->source));
	json_object_object_add(o, "vendor_module", json_object_new_string(h->record->vendor_module));
	json_object_object_add(o, "fingerprint", json_object_new_string(h->record->fingerprint));
	for (size_t i = 0; i < caps_feature_count(); i++) {
		const struct caps_feature_info *fi = caps_feature_at(i);
		const struct hv_feature_status *s = &h->status[fi->id];
		bool in_host = caps_has(&host, fi->id), kvm = caps_has(&h->record->features, fi->id);
		const char *note_names[HV_NR_NOTES];
		struct json_object *f;
		size_t n;

		if (!all && !in_host && !kvm)
			continue;
		n = kvm ? hv_note_names(s->notes, note_names) : 0;
		f = proto_feature_status_to_json(fi->name, fi->qemu, in_host, kvm,
						 hv_reason_name(kvm ? HV_REASON_SUPPORTED : s->reason),
						 kvm ? NULL : s->detail, note_names, n);
		if (!f) {
			json_object_put(o);
			json_object_put(a);
			return NULL;
		}
		json_object_array_add(a, f);
	}
	json_object_object_add(o, "features", a);
	return o;
}

/* A blank-separated list as a JSON array of strings. */
static struct json_object *words_json(const char *list)
{
	struct json_object *a = json_object_new_array();

	for (const char *p = list; a && *p;) {
		size_t len = strcspn(p, " ");

		if (len)
			json_object_array_add(a, json_object_new_string_len(p, (int)len));
		p += len;
		p += strspn(p, " ");
	}
	return a;
}

static void param_key(const struct caps_param *p, char *buf, size_t size)
{
	if (strcmp(p->module, "model") == 0)
		snprintf(buf, size, "%s", p->name);
	else
		snprintf(buf, size, "%s.%s", p->module, p->name);
}

static int print_json(const struct hvctl_host *h, enum caps_names names)
{
	const struct caps_host_record *r = h->record;
	struct proto_host_derived d;
	struct json_object *o = json_object_new_object();
	struct json_object *params = json_object_new_object();
	struct json_object *features = json_object_new_array();
	struct json_object *unsupported = json_object_new_array();
	int ret;

	if (!o || !params || !features || !unsupported) {
		json_object_put(o);
		json_object_put(params);
		json_object_put(features);
		json_object_put(unsupported);
		return -ENOMEM;
	}
	json_object_object_add(o, "backend", json_object_new_string(caps_backend_to_string(r->backend)));
	json_object_object_add(o, "source", json_object_new_string(h->source));
	json_object_object_add(o, "kernel_release", json_object_new_string(r->kernel_release));
	json_object_object_add(o, "vendor_module", json_object_new_string(r->vendor_module));
	json_object_object_add(o, "api_version", json_object_new_int(r->api_version));
	json_object_object_add(o, "microcode", r->has_microcode ? hvctl_json_hex64(r->microcode) : NULL);
	for (size_t i = 0; i < r->n_params; i++) {
		char key[CAPS_PARAM_MODULE_MAX + CAPS_PARAM_NAME_MAX + 2];

		param_key(&r->params[i], key, sizeof(key));
		json_object_object_add(params, key, json_object_new_string(r->params[i].value));
	}
	json_object_object_add(o, "params", params);
	json_object_object_add(o, "fingerprint", json_object_new_string(r->fingerprint));
	hvctl_host_derived(h, &d);
	json_object_object_add(o, "level", json_object_new_int(d.level));
	json_object_object_add(o, "avic", json_object_new_boolean(d.avic));
	json_object_object_add(o, "x2avic", json_object_new_boolean(d.x2avic));
	caps_for_each(f, &r->features) {
		const char *name = caps_feature_name(f, names);

		if (name)
			json_object_array_add(features, json_object_new_string(name));
	}
	json_object_object_add(o, "features", features);
	json_object_object_add(o, "cpuid", proto_cpuid_to_json(&r->supported));
	json_object_object_add(o, "emulated_cpuid", proto_cpuid_to_json(&r->emulated));
	json_object_object_add(o, "host_cpuid", proto_cpuid_to_json(&h->raw.cpuid));
	if (h->have_kernel) {
		json_object_object_add(o, "kernel_flags", words_json(h->kernel.flags));
		json_object_object_add(o, "kernel_bugs", words_json(h->kernel.bugs));
	}
	if (r->backend == CAPS_BACKEND_KVM) {
		struct json_object *msrs = json_object_new_array();
		struct json_object *caps = json_object_new_array();

		for (size_t i = 0; msrs && i < r->msrs.n; i++) {
			struct json_object *m = json_object_new_object();

			json_object_object_add(m, "index", json_object_new_int64(r->msrs.msrs[i].index));
			json_object_object_add(m, "value", hvctl_json_hex64(r->msrs.msrs[i].value));
			json_object_array_add(msrs, m);
		}
		for (size_t i = 0; caps && i < r->n_kvm_caps; i++) {
			struct json_object *c = json_object_new_object();

			json_object_object_add(c, "cap", json_object_new_int64(r->kvm_caps[i].cap));
			json_object_object_add(c, "name", json_object_new_string(r->kvm_caps[i].name));
			json_object_object_add(c, "value", json_object_new_int64(r->kvm_caps[i].value));
			json_object_array_add(caps, c);
		}
		json_object_object_add(o, "msrs", msrs);
		json_object_object_add(o, "kvm_caps", caps);
	}
	for (size_t i = 0; i < caps_feature_count(); i++) {
		const struct caps_feature_info *fi = caps_feature_at(i);
		const struct hv_feature_status *s = &h->status[fi->id];
		struct json_object *u;

		if (caps_has(&r->features, fi->id))
			continue;
		u = json_object_new_object();
		json_object_object_add(u, "feature", json_object_new_string(caps_feature_name(fi->id, names)));
		json_object_object_add(u, "reason", json_object_new_string(hv_reason_name(s->reason)));
		json_object_object_add(u, "detail", s->detail ? json_object_new_string(s->detail) : NULL);
		json_object_array_add(unsupported, u);
	}
	json_object_object_add(o, "unsupported", unsupported);
	ret = hvctl_json_print(o);
	json_object_put(o);
	return ret;
}

static void print_human(const struct hvctl_host *h, enum caps_names names)
{
	const struct caps_host_record *r = h->record;
	struct proto_host_derived d;
	struct hvctl_wrap wrap;
	unsigned n_features = 0, n_unsupported_host = 0;

	printf("backend:       %s\n", caps_backend_to_string(r->backend));
	printf("source:        %s\n", h->source);
	printf("kernel:        %s\n", r->kernel_release);
	printf("vendor module: %s\n", r->vendor_module);
	if (r->has_microcode)
		printf("microcode:     0x%llx\n", (unsigned long long)r->microcode);
	printf("fingerprint:   %s\n", r->fingerprint);
	hvctl_host_derived(h, &d);
	printf("x86-64 level:  %s\n", hvctl_level_string(d.level));
	printf("AVIC:          %s\n", hvctl_avic_string(d.avic, d.x2avic));
	printf("params:        ");
	hvctl_wrap_start(&wrap, stdout, 15, 15);
	for (size_t i = 0; i < r->n_params; i++) {
		char kv[CAPS_PARAM_MODULE_MAX + CAPS_PARAM_NAME_MAX + CAPS_PARAM_VALUE_MAX + 3];
		char key[CAPS_PARAM_MODULE_MAX + CAPS_PARAM_NAME_MAX + 2];

		param_key(&r->params[i], key, sizeof(key));
		snprintf(kv, sizeof(kv), "%s=%s", key, r->params[i].value);
		hvctl_wrap_word(&wrap, kv);
	}
	hvctl_wrap_end(&wrap);
	printf("CPUID entries: %zu supported, %zu emulated\n", r->supported.nent, r->emulated.nent);

	caps_for_each(f, &r->features)
		n_features += caps_feature_info(f) != NULL;
	for (size_t i = 0; i < caps_feature_count(); i++) {
		const struct caps_feature_info *fi = caps_feature_at(i);

		n_unsupported_host += caps_has(&h->model.raw, fi->id) && !caps_has(&r->features, fi->id);
	}
	printf("features:      %u supported\n", n_features);
	hvctl_print_features(&r->features, names);
	printf("not supported: %u of the host CPU's features ('hvctl host features' says why)\n",
	       n_unsupported_host);
}

int hvctl_host_print(const struct hvctl_host *h, enum caps_names names, bool json)
{
	if (json)
		return print_json(h, names);
	print_human(h, names);
	return 0;
}

/* Nesting of an export: the inventory, the host record, its arrays, their objects. */
#define RECORD_MAX_DEPTH 8

int hvctl_host_record_read(const char *path, struct json_object **ret)
{
	FILE *f = fopen(path, "rb");
	struct proto_error err;
	size_t len;
	char *buf;
	int r;

	*ret = NULL;
	if (!f)
		return 0;	/* the dump reader says why */
	buf = malloc(CAPS_DUMP_MAX_BYTES + 2);
	if (!buf) {
		fclose(f);
		return -ENOMEM;
	}
	len = fread(buf, 1, CAPS_DUMP_MAX_BYTES + 1, f);
	fclose(f);
	buf[len] = '\0';
	if (len == 0 || len > CAPS_DUMP_MAX_BYTES || buf[strspn(buf, " \t\r\n")] != '{') {
		free(buf);
		return 0;
	}
	r = proto_json_parse(buf, len, RECORD_MAX_DEPTH, ret, &err);
	free(buf);
	if (r == -ENOMEM)
		return r;
	if (r < 0)
		return 0;	/* not JSON: the dump reader says where */
	if (!proto_host_record_unwrap(*ret)) {
		json_object_put(*ret);
		*ret = NULL;
		return 0;
	}
	return 1;
}

int hvctl_host_load(const struct hvctl_command *cmd, struct hvctl_host *h, const char *path,
		    const struct hvctl_params *ps)
{
	struct proto_error err = { { 0 } };
	struct proto_host_export *x;
	struct json_object *json;
	int r;

	r = hvctl_host_record_read(path, &json);
	if (r < 0)
		goto oom;
	if (r == 0)
		return hvctl_host_model(cmd, h, path, ps);
	x = malloc(sizeof(*x));
	if (!x) {
		json_object_put(json);
		goto oom;
	}
	r = proto_host_export_from_json(json, "", x, &err);
	if (r < 0) {
		free(x);
		json_object_put(json);
		if (r == -ENOMEM)
			goto oom;
		fprintf(stderr, "%s: %s: not a usable host record: %s%s%s\n", hvctl_who(cmd), path, err.path,
			err.path[0] ? ": " : "", err.message);
		return HVCTL_EXIT_FAILURE;
	}
	h->source = path;
	h->json = json;
	h->probe = x->record;
	h->record = &h->probe;
	h->derived = x->derived;
	h->hostname = x->hostname;
	hv_policy_target_from_record(&h->record_target, &h->probe, x->derived.avic, x->derived.x2avic, h->status);
	if (x->inventory)
		hv_policy_status_inventory(h->status, &h->probe);
	for (size_t i = 0; i < x->n_withheld; i++)
		hv_policy_status_withhold(h->status, &h->probe, x->withheld[i].feature, x->withheld[i].reason,
					  x->withheld[i].detail);
	free(x);
	return 0;
oom:
	fprintf(stderr, "%s: %s: out of memory\n", hvctl_who(cmd), path);
	return HVCTL_EXIT_FAILURE;
}

void hvctl_host_done(struct hvctl_host *h)
{
	json_object_put(h->json);
	h->json = NULL;
}
