/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The daemon's life: the host, the registry of VMs restored from the
 * state directory, evaluation on the host, and reload with drift.
 */

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>

#include <proto/policy.h>

#include "hvcapd-internal.h"

int hvcapd_policy_from_json(struct json_object *obj, struct caps_policy *ret, struct proto_error *err)
{
	return proto_policy_from_json(obj, ret, err);
}

int hvcapd_evaluate(const struct hvcapd *d, const struct caps_policy *policy, enum caps_names names,
		    struct caps_evaluation **ret)
{
	struct caps_evaluation *ev = malloc(sizeof(*ev));
	int r;

	if (!ev)
		return -ENOMEM;
	r = hv_policy_evaluate(policy, &d->host->target, names, ev);
	if (r < 0) {
		free(ev);
		return r;
	}
	*ret = ev;
	return 0;
}

int hvcapd_init(const struct hvcapd_config *cfg, struct hvcapd **ret)
{
	struct hvcapd *d;
	char err[512];
	int r;

	d = calloc(1, sizeof(*d));
	if (!d)
		return -ENOMEM;
	d->cfg = *cfg;
	d->vms_fd = -1;
	d->ctl.fd = -1;
	r = hvcapd_registry_init(&d->registry);
	if (r < 0) {
		free(d);
		return r;
	}
	err[0] = '\0';
	r = hvcapd_host_new(&d->cfg, &d->host, err, sizeof(err));
	if (r < 0) {
		hvcapd_log(LOG_ERR, "cannot build the host: %s", err[0] ? err : strerror(-r));
		goto fail;
	}
	/* The arena first: restored VMs take their control pages from it. */
	r = hvcapd_control_init(d);
	if (r < 0)
		goto fail;
	r = hvcapd_state_open(d);
	if (r < 0)
		goto fail;
	r = hvcapd_state_restore(d);
	if (r < 0)
		goto fail;
	r = hvcapd_control_create(d);
	if (r < 0)
		goto fail;
	*ret = d;
	return 0;
fail:
	hvcapd_free(d);
	return r;
}

void hvcapd_free(struct hvcapd *d)
{
	if (!d)
		return;
	/* Whatever ends the daemon, readers learn that nothing will change any more. */
	hvcapd_control_stop(d);
	hvcapd_watchers_done(d);
	hvcapd_registry_done(&d->registry);
	hvcapd_control_done(d);
	hvcapd_state_close(d);
	hvcapd_host_free(d->host);
	free(d);
}

const struct hvcapd_config *hvcapd_get_config(const struct hvcapd *d)
{
	return &d->cfg;
}

const struct hvcapd_host *hvcapd_get_host(const struct hvcapd *d)
{
	return d->host;
}

void hvcapd_reload_result_done(struct hvcapd_reload_result *r)
{
	free(r->drifted);
	r->drifted = NULL;
	r->n_drifted = 0;
}

/*
 * One evaluation per distinct policy text: VMs made from one template
 * share it, so a reload costs what the distinct policies cost.
 */
struct reload_memo {
	char *policy;			/* the policy's JSON text */
	bool ok;			/* the policy parsed and evaluated */
	bool accepted;
	struct caps guest_features;
	struct reload_memo *next;
};

#define RELOAD_MEMO_BUCKETS 256

static size_t memo_hash(const char *s)
{
	uint64_t h = UINT64_C(0xcbf29ce484222325);

	for (; *s; s++) {
		h ^= (uint8_t)*s;
		h *= UINT64_C(0x100000001b3);
	}
	return (size_t)(h % RELOAD_MEMO_BUCKETS);
}

static const struct reload_memo *memo_get(struct hvcapd *d, struct reload_memo **memo,
					  struct json_object *policy_obj)
{
	const char *text = json_object_to_json_string_ext(policy_obj, JSON_C_TO_STRING_PLAIN);
	struct caps_evaluation *ev = NULL;
	struct caps_policy *policy;
	struct reload_memo *m;
	size_t h;

	if (!text)
		return NULL;
	h = memo_hash(text);
	for (m = memo[h]; m; m = m->next)
		if (strcmp(m->policy, text) == 0)
			return m;
	m = calloc(1, sizeof(*m));
	if (!m)
		return NULL;
	m->policy = strdup(text);
	policy = malloc(sizeof(*policy));
	if (!m->policy || !policy) {
		free(m->policy);
		free(m);
		free(policy);
		return NULL;
	}
	if (hvcapd_policy_from_json(policy_obj, policy, NULL) == 0 &&
	    hvcapd_evaluate(d, policy, CAPS_NAMES_LINUX, &ev) == 0) {
		m->ok = true;
		m->accepted = ev->accepted;
		m->guest_features = ev->guest_features;
		free(ev);
	}
	free(policy);
	m->next = memo[h];
	memo[h] = m;
	return m;
}

static void memo_free(struct reload_memo **memo)
{
	for (size_t i = 0; i < RELOAD_MEMO_BUCKETS; i++) {
		while (memo[i]) {
			struct reload_memo *m = memo[i];

			memo[i] = m->next;
			free(m->policy);
			free(m);
		}
	}
}

/* Add the drift of one VM in words ("-avx512f +eraps", "now rejected") to buf. */
static void drift_detail(const struct hvcapd_vm *vm, const struct reload_memo *m, char *buf, size_t size)
{
	size_t n = 0;

	buf[0] = '\0';
	if (!m->ok) {
		snprintf(buf, size, "the policy can no longer be evaluated");
		return;
	}
	if (!m->accepted)
		n += (size_t)snprintf(buf, size, "the policy is now rejected;");
	for (int f = 0; f < CAPS_NR_FEATURE_IDS && n < size; f++) {
		bool was = caps_has(&vm->guest_features, f), is = caps_has(&m->guest_features, f);
		const char *name;

		if (was == is)
			continue;
		name = caps_feature_name(f, CAPS_NAMES_LINUX);
		if (name)
			n += (size_t)snprintf(buf + n, size - n, " %c%s", is ? '+' : '-', name);
		else
			n += (size_t)snprintf(buf + n, size - n, " %c%d", is ? '+' : '-', f);
	}
	if (n >= size && size > 4)
		memcpy(buf + size - 4, "...", 4);
}

int hvcapd_reload_host(struct hvcapd *d, struct hvcapd_reload_result *ret, char *err, size_t err_size)
{
	struct reload_memo *memo[RELOAD_MEMO_BUCKETS] = { NULL };
	struct hvcapd_reload_result res = { .drifted = NULL };
	struct hvcapd_host *h, *old = d->host;
	size_t size = 0;
	char detail[512];
	int r;

	r = hvcapd_host_new(&d->cfg, &h, err, err_size);
	if (r < 0)
		return r;
	snprintf(res.previous_fingerprint, sizeof(res.previous_fingerprint), "%s", old->record->fingerprint);
	snprintf(res.fingerprint, sizeof(res.fingerprint), "%s", h->record->fingerprint);
	res.changed = strcmp(res.previous_fingerprint, res.fingerprint) != 0;
	/* VMs keep the hv_host they were created with (a copy): the old host can go. */
	d->host = h;
	hvcapd_host_free(old);
	hvcapd_control_publish_host(d);

	/*
	 * A VM drifted when its policy, evaluated on the new host, gives
	 * other guest features than the VM got, or is rejected now.  The VM
	 * itself keeps its vCPUs and CPUID: KVM does not change a running
	 * guest's CPUID, and the daemon reports rather than acts.
	 */
	for (struct hvcapd_vm *vm = d->registry.first; vm; vm = vm->next) {
		const struct reload_memo *m = memo_get(d, memo, vm->policy);

		if (!m) {
			r = -ENOMEM;
			goto out;
		}
		if (m->ok && m->accepted && caps_equal(&m->guest_features, &vm->guest_features))
			continue;
		if (res.n_drifted == size) {
			size_t n = size ? size * 2 : 16;
			uint32_t *ids = realloc(res.drifted, n * sizeof(*ids));

			if (!ids) {
				r = -ENOMEM;
				goto out;
			}
			res.drifted = ids;
			size = n;
		}
		res.drifted[res.n_drifted++] = vm->id;
	}

	if (res.changed || res.n_drifted) {
		snprintf(detail, sizeof(detail), "previous fingerprint %s; %zu VM%s drifted",
			 res.previous_fingerprint, res.n_drifted, res.n_drifted == 1 ? "" : "s");
		hvcapd_event(d, "host_drift", -1, NULL, res.fingerprint, detail);
		for (size_t i = 0; i < res.n_drifted; i++) {
			struct hvcapd_vm *vm = hvcapd_registry_find(&d->registry, res.drifted[i]);
			const struct reload_memo *m = memo_get(d, memo, vm->policy);

			if (!m)
				continue;
			drift_detail(vm, m, detail, sizeof(detail));
			hvcapd_event(d, "host_drift", vm->id, vm->name, res.fingerprint,
				     detail[0] == ' ' ? detail + 1 : detail);
		}
	}
	*ret = res;
	res.drifted = NULL;
	r = 0;
out:
	free(res.drifted);
	memo_free(memo);
	return r;
}

int hvcapd_reload(struct hvcapd *d, char *summary, size_t size)
{
	struct hvcapd_reload_result res;
	char err[512] = "";
	int r;

	r = hvcapd_reload_host(d, &res, err, sizeof(err));
	if (r < 0) {
		snprintf(summary, size, "reload failed, keeping the previous host: %s",
			 err[0] ? err : strerror(-r));
		return r;
	}
	if (res.changed)
		snprintf(summary, size, "host %s (was %s), %zu VM%s drifted", res.fingerprint,
			 res.previous_fingerprint, res.n_drifted, res.n_drifted == 1 ? "" : "s");
	else
		snprintf(summary, size, "host %s (unchanged), %zu VM%s drifted", res.fingerprint,
			 res.n_drifted, res.n_drifted == 1 ? "" : "s");
	hvcapd_reload_result_done(&res);
	return 0;
}
