/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The host the daemon serves (--host auto|kvm|model), built as hvctl's
 * offline commands build it (cli/host.c) so that both give the same
 * answers: the KVM probe explained by the model of this machine, or the
 * model of a dump (or of this machine's CPU) with --param values.
 */

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>

#include <hvcore/model.h>
#include <hvcore/policy.h>
#include <libcaps/dump.h>
#include <libcaps/host.h>

#include "hvcapd-internal.h"

/* struct hvcapd_host points into this. */
struct host_storage {
	struct hvcapd_host pub;
	struct caps_host_record probe;
	struct hv_model_result model;
	struct caps_dump raw;
	struct caps_kernel_flags kernel;
	bool have_kernel;
	struct hv_feature_status status[CAPS_NR_FEATURE_IDS];
};

static int apply_params(const struct hvcapd_config *cfg, struct hv_host_params *p, char *err, size_t size)
{
	for (size_t i = 0; i < cfg->n_params; i++) {
		const char *kv = cfg->params[i], *eq = strchr(kv, '=');
		char key[64], why[512];
		size_t klen;

		if (!eq || eq == kv) {
			snprintf(err, size, "--param '%s' is not KEY=VALUE (keys: %s)", kv, hv_host_params_names());
			return -EINVAL;
		}
		klen = (size_t)(eq - kv);
		if (klen >= sizeof(key)) {
			snprintf(err, size, "--param '%s': key too long", kv);
			return -EINVAL;
		}
		memcpy(key, kv, klen);
		key[klen] = '\0';
		if (hv_host_params_set(p, key, eq + 1, why, sizeof(why)) < 0) {
			snprintf(err, size, "--param %s", why);
			return -EINVAL;
		}
	}
	return 0;
}

static int compute(struct host_storage *h, const struct hv_host_params *params, bool with_kernel,
		   const char *source, char *err, size_t size)
{
	struct hv_host_desc desc = { 0 };
	int r;

	desc.raw = &h->raw.cpuid;
	desc.kernel = with_kernel && h->have_kernel ? &h->kernel : NULL;
	desc.params = *params;
	r = hv_model_compute(&desc, &h->model);
	if (r == -E2BIG)
		snprintf(err, size, "%s: KVM's answer would exceed 256 entries", source);
	else if (r < 0)
		snprintf(err, size, "%s: cannot model this host: %s", source, strerror(-r));
	if (r < 0)
		return r;
	h->pub.params = *params;
	return 0;
}

static int read_this_machine(struct host_storage *h, char *err, size_t size)
{
	int r = caps_host_cpuid_read(&h->raw);

	if (r < 0) {
		snprintf(err, size, "cannot read this machine's CPUID: %s", strerror(-r));
		return r;
	}
	h->have_kernel = caps_kernel_flags_read(&h->kernel) == 0;
	return 0;
}

/* The model of a dump (desc.kernel NULL: a dump carries no kernel flags), as hvctl host model. */
static int model_dump(struct host_storage *h, const struct hvcapd_config *cfg, char *err, size_t size)
{
	struct caps_dump_error derr = { 0 };
	struct hv_host_params params;
	bool vendor_known;
	int r;

	r = caps_dump_read_file(cfg->host_dump, CAPS_DUMP_AUTO, &h->raw, &derr);
	if (r < 0) {
		if (derr.line)
			snprintf(err, size, "%s:%u:%u: %s", cfg->host_dump, derr.line, derr.column,
				 derr.message[0] ? derr.message : strerror(-r));
		else
			snprintf(err, size, "%s: %s", cfg->host_dump, derr.message[0] ? derr.message : strerror(-r));
		return r;
	}
	vendor_known = hv_host_params_init(&params, &h->raw.cpuid) == 0;
	r = apply_params(cfg, &params, err, size);
	if (r < 0)
		return r;
	if (!vendor_known && !params.vendor_given) {
		snprintf(err, size, "%s: the CPU vendor is neither Intel nor AMD; give --param vendor=intel|amd",
			 cfg->host_dump);
		return -EINVAL;
	}
	return compute(h, &params, false, cfg->host_dump, err, size);
}

/* The model of this machine's CPU and kernel flags, as hvctl's fallback. */
static int model_self(struct host_storage *h, const struct hvcapd_config *cfg, char *err, size_t size)
{
	struct hv_host_params params;
	bool vendor_known;
	int r;

	r = read_this_machine(h, err, size);
	if (r < 0)
		return r;
	vendor_known = hv_host_params_init(&params, &h->raw.cpuid) == 0;
	if (cfg->host == HVCAPD_HOST_MODEL) {
		r = apply_params(cfg, &params, err, size);
		if (r < 0)
			return r;
	}
	if (!vendor_known && !params.vendor_given) {
		snprintf(err, size, "this CPU's vendor is neither Intel nor AMD");
		return -EINVAL;
	}
	return compute(h, &params, true, "this machine", err, size);
}

/* The KVM probe, each feature explained with the model of this machine (cli/host.c). */
static int probe_kvm(struct host_storage *h, char *err, size_t size)
{
	struct caps_probe_error perr = { { 0 } };
	struct hv_host_params params;
	char ignored[16];
	int r;

	r = read_this_machine(h, err, size);
	if (r < 0)
		return r;
	r = caps_host_probe_kvm(&h->probe, &perr);
	if (r < 0) {
		snprintf(err, size, "%s", perr.message[0] ? perr.message : strerror(-r));
		return r;
	}
	h->pub.record = &h->probe;
	if (hv_host_params_from_record(&params, &h->probe, &h->raw.cpuid) < 0 ||
	    compute(h, &params, true, "this machine", ignored, sizeof(ignored)) < 0)
		hv_explain_probe(&h->probe, NULL, h->status);
	else
		hv_explain_probe(&h->probe, &h->model, h->status);
	return 0;
}

/* What policies are evaluated against, as hvctl_host_policy_target(). */
static void make_target(struct host_storage *h)
{
	struct hv_policy_target *t = &h->pub.target;

	hv_policy_target_from_model(t, &h->model, &h->pub.params, &h->raw.cpuid);
	t->record = h->pub.record;
	t->status = h->status;
	if (h->pub.record->backend == CAPS_BACKEND_KVM)
		hv_policy_target_use_probe(t, &h->probe, h->status);
}

int hvcapd_host_new(const struct hvcapd_config *cfg, struct hvcapd_host **ret, char *err, size_t err_size)
{
	struct host_storage *h = calloc(1, sizeof(*h));
	int r;

	if (!h)
		return -ENOMEM;
	switch (cfg->host) {
	case HVCAPD_HOST_KVM:
		r = probe_kvm(h, err, err_size);
		break;
	case HVCAPD_HOST_MODEL:
		r = cfg->host_dump ? model_dump(h, cfg, err, err_size) : model_self(h, cfg, err, err_size);
		if (r == 0)
			h->pub.record = &h->model.record;
		break;
	case HVCAPD_HOST_AUTO:
	default:
		r = probe_kvm(h, err, err_size);
		if (r < 0 && r != -ENOMEM) {
			hvcapd_log(LOG_NOTICE, "no usable /dev/kvm (%s): serving the model of this machine's CPU", err);
			memset(h, 0, sizeof(*h));
			r = model_self(h, cfg, err, err_size);
			if (r == 0)
				h->pub.record = &h->model.record;
		}
		break;
	}
	if (r < 0) {
		free(h);
		return r;
	}
	if (h->pub.record == &h->model.record)
		memcpy(h->status, h->model.status, sizeof(h->status));
	h->pub.model = &h->model;
	h->pub.raw = &h->raw;
	h->pub.status = h->status;
	make_target(h);
	*ret = &h->pub;
	return 0;
}

void hvcapd_host_free(struct hvcapd_host *h)
{
	/* pub is the first member: the storage starts where it does. */
	free(h);
}
