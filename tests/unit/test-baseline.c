/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The cross-host questions on real CPUs from ../shared/testdata (read in
 * place, never copied; the suite skips without them): baselines
 * (hvcore/baseline.c) are accepted by the model of every host and are
 * maximal, mixed vendors are refused; migration checks (hvcore/migrate.c)
 * name the features that block a move from a newer Intel CPU to an older
 * one and pass the other way, and every field rule has a row that holds
 * and one that breaks, on real dumps changed field by field; and
 * io.hvcap.Policy.Baseline in the real hvcapd answers what hvcore does.
 */

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <hvcore/fleet.h>
#include <libcaps/file.h>
#include <proto/host.h>
#include <proto/idl.h>
#include <proto/json-decode.h>
#include <proto/policy.h>

#include "daemon-client.h"

static char dir[4096];

/* A modelled host: its dump, the model, and the policy target over both. */
struct host {
	char name[64];
	struct caps_dump raw;
	struct hv_host_params params;
	struct hv_model_result model;
	struct hv_policy_target target;
};

static void host_model(struct host *h, const char *const *params)
{
	struct hv_host_desc desc = { 0 };
	char err[256];

	ck_assert_int_eq(hv_host_params_init(&h->params, &h->raw.cpuid), 0);
	for (size_t i = 0; params && params[i]; i++) {
		char key[64];
		const char *eq = strchr(params[i], '=');

		ck_assert_ptr_nonnull(eq);
		snprintf(key, sizeof(key), "%.*s", (int)(eq - params[i]), params[i]);
		ck_assert_msg(hv_host_params_set(&h->params, key, eq + 1, err, sizeof(err)) == 0, "%s", err);
	}
	desc.raw = &h->raw.cpuid;
	desc.params = h->params;
	ck_assert_int_eq(hv_model_compute(&desc, &h->model), 0);
	hv_policy_target_from_model(&h->target, &h->model, &h->params, &h->raw.cpuid);
}

/*
 * What the helpers below allocate is tracked, and what a test leaves is
 * freed by its teardown: the test programs run under LeakSanitizer.
 * test_free() forgets a tracked pointer and frees it.
 */
#define MAX_TRACKED 512
static void *tracked[MAX_TRACKED];
static size_t n_tracked;

static void *track(void *p)
{
	ck_assert_ptr_nonnull(p);
	ck_assert_uint_lt(n_tracked, MAX_TRACKED);
	tracked[n_tracked++] = p;
	return p;
}

static void test_free(void *p)
{
	for (size_t i = 0; p && i < n_tracked; i++) {
		if (tracked[i] == p) {
			tracked[i] = tracked[--n_tracked];
			break;
		}
	}
	free(p);
}

static void free_tracked(void)
{
	while (n_tracked)
		free(tracked[--n_tracked]);
}

/* The dump of cpu, unmodelled: change it, then host_model(). */
static struct host *host_read(const char *cpu)
{
	struct host *h = track(calloc(1, sizeof(*h)));

	snprintf(h->name, sizeof(h->name), "%s", cpu);
	ck_assert_msg(read_testdata(cpu, &h->raw), "no dump of %s in %s", cpu, dir);
	return h;
}

/* cpu modelled with the NULL-terminated "key=value" parameters. */
static struct host *host_new(const char *cpu, const char *const *params)
{
	struct host *h = host_read(cpu);

	host_model(h, params);
	return h;
}

static struct caps_cpuid_entry *raw_entry(struct host *h, uint32_t function, uint32_t index)
{
	for (size_t i = 0; i < h->raw.cpuid.nent; i++)
		if (h->raw.cpuid.entries[i].function == function && h->raw.cpuid.entries[i].index == index)
			return &h->raw.cpuid.entries[i];
	ck_abort_msg("%s has no leaf 0x%x.%u", h->name, function, index);
	return NULL;
}

static struct caps named_features(void)
{
	struct caps c;

	caps_zero(&c);
	for (size_t i = 0; i < caps_feature_count(); i++)
		caps_set(&c, caps_feature_at(i)->id);
	return c;
}

static struct caps_evaluation *evaluate(const struct caps_policy *p, const struct host *h)
{
	struct caps_evaluation *ev = malloc(sizeof(*ev));

	ck_assert_ptr_nonnull(ev);
	ck_assert_int_eq(hv_policy_evaluate(p, &h->target, CAPS_NAMES_LINUX, ev), 0);
	return ev;
}

static void assert_accepted(const struct caps_policy *p, const struct host *h)
{
	struct caps_evaluation *ev = evaluate(p, h);

	ck_assert_msg(ev->accepted && ev->n_problems == 0, "%s rejects the baseline: %s: %s", h->name,
		      ev->n_problems ? ev->problems[0].feature : "", ev->n_problems ? ev->problems[0].detail : "");
	test_free(ev);
}

static struct caps_policy *policy_new(const char *json)
{
	struct caps_policy *p = track(malloc(sizeof(*p)));
	struct proto_error err = { { 0 } };

	ck_assert_msg(proto_policy_parse(json, strlen(json), p, &err) == 0, "%s: %s", err.path, err.message);
	return p;
}

static void policy_add(struct caps_policy *p, int feature, enum caps_feature_policy fp)
{
	struct caps_policy_feature *pf = &p->features[p->n_features++];

	snprintf(pf->name, sizeof(pf->name), "%s", caps_feature_name(feature, CAPS_NAMES_LINUX));
	pf->feature = feature;
	pf->policy = fp;
}

/* Four Intel generations: Broadwell, Skylake-SP, Coffee Lake, Sapphire Rapids. */
static const char *const intel_cpus[] = {
	"Xeon-E5-2650-v4", "Xeon-Gold-5115", "Core-i7-8700", "Xeon-w7-3465X",
};
#define N_INTEL (sizeof(intel_cpus) / sizeof(intel_cpus[0]))

/* Every CPU of the shared data, for the rows that must hold on each. */
static const char *const all_cpus[] = {
	"Atom-P5362", "Core-i5-650", "Core-i7-8700", "Core2-Q9500", "EPYC-7601-32-Core",
	"EPYC-9334-32-Core", "Opteron-6234", "Ryzen-9-3900X-12-Core", "Xeon-6788P",
	"Xeon-E5-2650-v4", "Xeon-Gold-5115", "Xeon-w7-3465X",
};

static void intel_hosts(struct host *hosts[N_INTEL], struct hv_policy_target targets[N_INTEL])
{
	for (size_t i = 0; i < N_INTEL; i++) {
		hosts[i] = host_new(intel_cpus[i], NULL);
		targets[i] = hosts[i]->target;
	}
}

static struct hv_baseline *baseline_new(const struct hv_policy_target *t, size_t n, unsigned flags)
{
	struct hv_baseline *b = track(malloc(sizeof(*b)));

	ck_assert_int_eq(hv_baseline_compute(t, n, flags, CAPS_NAMES_LINUX, b), 0);
	return b;
}

static bool policy_requires(const struct caps_policy *p, int feature)
{
	for (size_t i = 0; i < p->n_features; i++)
		if (p->features[i].feature == feature)
			return p->features[i].policy == CAPS_POLICY_REQUIRE;
	return false;
}

/* ------------------------------------------------------------------ */
/* Baselines. */

/* _i: 0 plain, 1 --migratable. */
START_TEST(test_baseline_intel_accepted_by_every_host)
{
	unsigned flags = _i ? HV_BASELINE_MIGRATABLE : 0;
	struct host *hosts[N_INTEL];
	struct hv_policy_target targets[N_INTEL];
	struct hv_baseline *b;
	struct caps_policy *back = malloc(sizeof(*back));
	struct proto_error err = { { 0 } };
	struct json_object *o;
	const char *text;
	int phys = 64;

	intel_hosts(hosts, targets);
	b = baseline_new(targets, N_INTEL, flags);
	ck_assert_int_eq(b->outcome, HV_BASELINE_OK);
	ck_assert(b->policy.has_vendor);
	ck_assert_str_eq(b->policy.vendor, "GenuineIntel");
	ck_assert_int_eq(b->policy.base, CAPS_POLICY_BASE_NONE);
	ck_assert_int_eq(b->policy.migratable, _i);
	ck_assert_uint_gt(b->policy.n_features, 60);

	/* phys_bits: the narrowest guest-physical width, read here from 0x8000_0008.EAX. */
	for (size_t i = 0; i < N_INTEL; i++) {
		const struct caps_cpuid_entry *e = caps_cpuid_find(&hosts[i]->model.record.supported, 0x80000008, 0);
		int p = (int)(e->eax & 0xff), g = (int)((e->eax >> 16) & 0xff);

		if (g && g < p)
			p = g;
		phys = p < phys ? p : phys;
	}
	ck_assert_int_eq(b->policy.phys_bits, phys);

	for (size_t i = 0; i < N_INTEL; i++)
		assert_accepted(&b->policy, hosts[i]);

	/* The policy as `hvctl policy baseline --json` prints it reads back and is accepted as it is. */
	o = proto_policy_to_json(&b->policy);
	ck_assert_ptr_nonnull(o);
	text = json_object_to_json_string(o);
	ck_assert_int_eq(proto_policy_parse(text, strlen(text), back, &err), 0);
	json_object_put(o);
	ck_assert_uint_eq(back->n_features, b->policy.n_features);
	for (size_t i = 0; i < N_INTEL; i++)
		assert_accepted(back, hosts[i]);
	hv_baseline_done(b);
	test_free(b);
	test_free(back);
}
END_TEST

/*
 * Maximal: every feature KVM supports on all hosts is required (or, with
 * --migratable, left out because it breaks migration, and still accepted
 * everywhere when added); every other feature some host supports is
 * rejected by exactly the hosts its blocker names (unless KVM emulates it
 * there, which the evaluation accepts with a warning).
 */
START_TEST(test_baseline_intel_is_maximal)
{
	unsigned flags = _i ? HV_BASELINE_MIGRATABLE : 0;
	struct host *hosts[N_INTEL];
	struct hv_policy_target targets[N_INTEL];
	struct caps named = named_features(), common, any;
	struct caps_policy *p = malloc(sizeof(*p));
	struct hv_baseline *b;
	unsigned n_partial = 0;

	intel_hosts(hosts, targets);
	b = baseline_new(targets, N_INTEL, flags);
	caps_and(&common, &hosts[0]->model.record.features, &named);
	any = common;
	for (size_t i = 1; i < N_INTEL; i++) {
		caps_and(&common, &common, &hosts[i]->model.record.features);
		caps_or(&any, &any, &hosts[i]->model.record.features);
	}
	caps_and(&any, &any, &named);
	ck_assert(caps_equal(&common, &b->common));

	/* Nothing common is dropped but what breaks migration, and nothing else is required. */
	caps_for_each(f, &common) {
		bool excluded = flags && hv_feature_breaks_migration(f);

		ck_assert_msg(policy_requires(&b->policy, f) != excluded, "%s: required %d, excluded %d",
			      caps_feature_name(f, CAPS_NAMES_LINUX), policy_requires(&b->policy, f), excluded);
		ck_assert_int_eq(caps_has(&b->excluded, f), excluded);
		if (excluded) {
			caps_policy_copy(p, &b->policy);
			policy_add(p, f, CAPS_POLICY_REQUIRE);
			for (size_t i = 0; i < N_INTEL; i++)
				assert_accepted(p, hosts[i]);
		}
	}
	for (size_t i = 0; i < b->policy.n_features; i++)
		ck_assert(caps_has(&common, b->policy.features[i].feature));
	if (flags)
		ck_assert(caps_has(&b->excluded, X86_FEATURE_CONSTANT_TSC));

	/* Each feature only some hosts support: its blocker names exactly the hosts that reject it. */
	caps_for_each(f, &any) {
		bool lacks[N_INTEL] = { false }, emulated[N_INTEL] = { false }, rejected_somewhere = false;

		if (caps_has(&common, f))
			continue;
		n_partial++;
		ck_assert(caps_has(&b->partial, f));
		for (size_t k = 0; k < b->n_lacks; k++) {
			const struct hv_baseline_lack *l = &b->lacks[k];

			if (l->feature != f)
				continue;
			lacks[l->host] = true;
			emulated[l->host] = l->emulated;
			ck_assert_int_eq(l->reason, hosts[l->host]->model.status[f].reason);
			ck_assert_int_ne(l->reason, HV_REASON_SUPPORTED);
			ck_assert_ptr_eq(l->detail, hosts[l->host]->model.status[f].detail);
		}
		caps_policy_copy(p, &b->policy);
		policy_add(p, f, CAPS_POLICY_REQUIRE);
		for (size_t i = 0; i < N_INTEL; i++) {
			struct caps_evaluation *ev = evaluate(p, hosts[i]);

			ck_assert_int_eq(lacks[i], !caps_has(&hosts[i]->model.record.features, f));
			ck_assert_msg(ev->accepted == (!lacks[i] || emulated[i]), "%s on %s: accepted %d, lacks %d",
				      caps_feature_name(f, CAPS_NAMES_LINUX), hosts[i]->name, ev->accepted, lacks[i]);
			rejected_somewhere |= !ev->accepted;
			test_free(ev);
		}
		for (size_t i = 0; i < N_INTEL; i++)
			ck_assert(rejected_somewhere || !lacks[i] || emulated[i]);
	}
	ck_assert_uint_eq(n_partial, caps_weight(&b->partial));
	/* Sapphire Rapids' AVX-512 and AMX are not on Broadwell: some blockers must exist. */
	ck_assert(caps_has(&b->partial, X86_FEATURE_AVX512F));
	ck_assert(caps_has(&b->partial, X86_FEATURE_AMX_TILE));
	hv_baseline_done(b);
	test_free(b);
	test_free(p);
}
END_TEST

START_TEST(test_baseline_mixed_vendors_refused_unless_subset)
{
	struct host *intel = host_new("Xeon-Gold-5115", NULL), *amd = host_new("EPYC-7601-32-Core", NULL);
	struct hv_policy_target t[2] = { intel->target, amd->target };
	struct hv_baseline *b = malloc(sizeof(*b));

	ck_assert_int_eq(hv_baseline_compute(t, 2, 0, CAPS_NAMES_LINUX, b), 0);
	ck_assert_int_eq(b->outcome, HV_BASELINE_MIXED_VENDORS);
	ck_assert(b->mixed_vendors);
	ck_assert_str_eq(b->vendors[0], "GenuineIntel");
	ck_assert_str_eq(b->vendors[1], "AuthenticAMD");
	/* The blockers are there anyway: VMX on Intel only, SVM on AMD only. */
	ck_assert(caps_has(&b->partial, X86_FEATURE_VMX));
	ck_assert(caps_has(&b->partial, X86_FEATURE_SVM));
	hv_baseline_done(b);

	ck_assert_int_eq(hv_baseline_compute(t, 2, HV_BASELINE_VENDOR_SUBSET | HV_BASELINE_MIGRATABLE,
					     CAPS_NAMES_LINUX, b), 0);
	ck_assert_int_eq(b->outcome, HV_BASELINE_OK);
	ck_assert(!b->policy.has_vendor);
	ck_assert_uint_ge(b->n_warnings, 1);
	ck_assert_ptr_nonnull(strstr(b->warnings[0], "different vendors"));
	ck_assert(!policy_requires(&b->policy, X86_FEATURE_VMX));
	ck_assert(!policy_requires(&b->policy, X86_FEATURE_SVM));
	ck_assert(policy_requires(&b->policy, X86_FEATURE_XMM2));
	assert_accepted(&b->policy, intel);
	assert_accepted(&b->policy, amd);
	hv_baseline_done(b);
	test_free(b);
}
END_TEST

START_TEST(test_baseline_one_host_is_its_supported_set)
{
	struct host *h = host_new("Xeon-Gold-5115", NULL);
	struct caps named = named_features(), want;
	struct hv_baseline *b = baseline_new(&h->target, 1, 0);

	caps_and(&want, &h->model.record.features, &named);
	ck_assert_int_eq(b->outcome, HV_BASELINE_OK);
	ck_assert_uint_eq(b->policy.n_features, caps_weight(&want));
	ck_assert_uint_eq(b->n_lacks, 0);
	ck_assert(caps_is_empty(&b->partial));
	assert_accepted(&b->policy, h);
	hv_baseline_done(b);
	test_free(b);
}
END_TEST

START_TEST(test_baseline_bad_arguments_and_nothing_common)
{
	struct host *h = host_new("Core-i5-650", NULL);
	struct hv_policy_target t[HV_BASELINE_MAX_HOSTS + 1];
	struct hv_model_result *empty = malloc(sizeof(*empty));
	struct hv_baseline *b = malloc(sizeof(*b));

	for (size_t i = 0; i <= HV_BASELINE_MAX_HOSTS; i++)
		t[i] = h->target;
	ck_assert_int_eq(hv_baseline_compute(t, 0, 0, CAPS_NAMES_LINUX, b), -EINVAL);
	ck_assert_int_eq(hv_baseline_compute(t, HV_BASELINE_MAX_HOSTS + 1, 0, CAPS_NAMES_LINUX, b), -EINVAL);
	ck_assert_int_eq(hv_baseline_compute(NULL, 1, 0, CAPS_NAMES_LINUX, b), -EINVAL);
	ck_assert_int_eq(hv_baseline_compute(t, HV_BASELINE_MAX_HOSTS, 0, CAPS_NAMES_LINUX, b), 0);
	ck_assert_int_eq(b->outcome, HV_BASELINE_OK);
	hv_baseline_done(b);
	t[1].record = NULL;
	ck_assert_int_eq(hv_baseline_compute(t, 2, 0, CAPS_NAMES_LINUX, b), -EINVAL);

	/* A host whose KVM supports nothing (no real one: KVM always emulates some bits). */
	*empty = h->model;
	caps_zero(&empty->record.features);
	t[1].record = &empty->record;
	ck_assert_int_eq(hv_baseline_compute(t, 2, 0, CAPS_NAMES_LINUX, b), 0);
	ck_assert_int_eq(b->outcome, HV_BASELINE_NOTHING_COMMON);
	ck_assert_uint_gt(b->n_lacks, 50);
	hv_baseline_done(b);
	hv_baseline_done(b);	/* done twice is harmless */
	test_free(b);
	test_free(empty);
}
END_TEST

/* ------------------------------------------------------------------ */
/* Baselines over exported host records (proto/host-record-read.c). */

/* h's model record written as HostRecord and read back, field by field equal. */
static struct caps_host_record *record_round_trip(const struct host *h, struct proto_host_derived *d)
{
	struct caps_host_record *r = calloc(1, sizeof(*r));
	struct proto_error err = { { 0 } };
	struct json_object *o, *again;

	ck_assert_ptr_nonnull(r);
	d->level = hv_x86_64_level(&h->model.record.features);
	d->avic = hv_host_is_avic_enabled(&h->target.host);
	d->x2avic = hv_host_is_x2avic_enabled(&h->target.host);
	o = proto_host_record_to_json(&h->model.record, d, CAPS_NAMES_LINUX);
	ck_assert_ptr_nonnull(o);
	ck_assert_msg(proto_host_record_from_json(o, "host", r, NULL, &err) == 0, "%s: %s: %s", h->name,
		      err.path, err.message);
	ck_assert_int_eq(r->backend, h->model.record.backend);
	ck_assert_str_eq(r->fingerprint, h->model.record.fingerprint);
	ck_assert_str_eq(r->kernel_release, h->model.record.kernel_release);
	ck_assert_str_eq(r->vendor_module, h->model.record.vendor_module);
	ck_assert_int_eq(r->api_version, h->model.record.api_version);
	ck_assert(caps_equal(&r->features, &h->model.record.features));
	ck_assert_uint_eq(r->supported.nent, h->model.record.supported.nent);
	ck_assert(memcmp(r->supported.entries, h->model.record.supported.entries,
			 r->supported.nent * sizeof(r->supported.entries[0])) == 0);
	ck_assert_uint_eq(r->emulated.nent, h->model.record.emulated.nent);
	ck_assert(memcmp(r->emulated.entries, h->model.record.emulated.entries,
			 r->emulated.nent * sizeof(r->emulated.entries[0])) == 0);
	ck_assert_uint_eq(r->n_params, h->model.record.n_params);
	/* The strings, not the bytes past their NULs. */
	for (size_t k = 0; k < r->n_params; k++) {
		ck_assert_str_eq(r->params[k].module, h->model.record.params[k].module);
		ck_assert_str_eq(r->params[k].name, h->model.record.params[k].name);
		ck_assert_str_eq(r->params[k].value, h->model.record.params[k].value);
	}
	ck_assert_uint_eq(r->msrs.n, h->model.record.msrs.n);
	/* Written again, the same text. */
	again = proto_host_record_to_json(r, d, CAPS_NAMES_LINUX);
	ck_assert_ptr_nonnull(again);
	ck_assert_str_eq(json_object_to_json_string(again), json_object_to_json_string(o));
	json_object_put(again);
	json_object_put(o);
	return r;
}

/* _i: 0 plain, 1 --migratable.  Records of the four Intel hosts give the dumps' baseline. */
START_TEST(test_baseline_records_equal_dumps)
{
	unsigned flags = _i ? HV_BASELINE_MIGRATABLE : 0;
	struct host *hosts[N_INTEL];
	struct hv_policy_target targets[N_INTEL], rt[N_INTEL];
	struct caps_host_record *records[N_INTEL];
	struct hv_feature_status (*status)[CAPS_NR_FEATURE_IDS] = calloc(N_INTEL, sizeof(*status));
	struct hv_baseline *from_dumps, *from_records, *mixed;

	ck_assert_ptr_nonnull(status);
	intel_hosts(hosts, targets);
	for (size_t i = 0; i < N_INTEL; i++) {
		struct proto_host_derived d;

		records[i] = record_round_trip(hosts[i], &d);
		hv_policy_target_from_record(&rt[i], records[i], d.avic, d.x2avic, status[i]);
	}
	from_dumps = baseline_new(targets, N_INTEL, flags);
	from_records = baseline_new(rt, N_INTEL, flags);
	ck_assert_int_eq(from_dumps->outcome, HV_BASELINE_OK);
	ck_assert_int_eq(from_records->outcome, HV_BASELINE_OK);
	ck_assert_uint_eq(from_records->policy.n_features, from_dumps->policy.n_features);
	for (size_t k = 0; k < from_dumps->policy.n_features; k++)
		ck_assert_int_eq(from_records->policy.features[k].feature, from_dumps->policy.features[k].feature);
	ck_assert_int_eq(from_records->policy.phys_bits, from_dumps->policy.phys_bits);
	ck_assert_int_eq(from_records->phys_bits, from_dumps->phys_bits);
	ck_assert_int_eq(from_records->policy.has_vendor, from_dumps->policy.has_vendor);
	ck_assert(caps_equal(&from_records->partial, &from_dumps->partial));
	ck_assert(caps_equal(&from_records->excluded, &from_dumps->excluded));
	/* The same hosts lack the same features; a record's reason says where it came from. */
	ck_assert_uint_eq(from_records->n_lacks, from_dumps->n_lacks);
	for (size_t k = 0; k < from_records->n_lacks; k++) {
		ck_assert_int_eq(from_records->lacks[k].feature, from_dumps->lacks[k].feature);
		ck_assert_int_eq(from_records->lacks[k].host, from_dumps->lacks[k].host);
		ck_assert_int_eq(from_records->lacks[k].reason, HV_REASON_NOT_REPORTED_BY_KVM);
		ck_assert_str_eq(from_records->lacks[k].detail, "in the host record");
	}
	/* Every host accepts the records' baseline, as modelled too. */
	for (size_t i = 0; i < N_INTEL; i++)
		assert_accepted(&from_records->policy, hosts[i]);

	/* A mixed set: records for the first two, dumps for the rest. */
	rt[2] = targets[2];
	rt[3] = targets[3];
	mixed = baseline_new(rt, N_INTEL, flags);
	ck_assert_int_eq(mixed->outcome, HV_BASELINE_OK);
	ck_assert_uint_eq(mixed->policy.n_features, from_dumps->policy.n_features);
	ck_assert_int_eq(mixed->policy.phys_bits, from_dumps->policy.phys_bits);

	hv_baseline_done(from_dumps);
	hv_baseline_done(from_records);
	hv_baseline_done(mixed);
	test_free(from_dumps);
	test_free(from_records);
	test_free(mixed);
	for (size_t i = 0; i < N_INTEL; i++) {
		test_free(records[i]);
		test_free(hosts[i]);
	}
	test_free(status);
}
END_TEST

/* Records truncated, hostile or off by one field: refused, the path named. */
START_TEST(test_record_reader_refuses_bad_records)
{
	static const struct {
		const char *edit;	/* a Python-free edit: key to replace and its new JSON value */
		const char *value;
		const char *path;
	} rows[] = {
		{ "backend", "\"xen\"", "host.backend" },
		{ "level", "5", "host.level" },
		{ "api_version", "\"12\"", "host.api_version" },
		{ "features", "[\"no_such_feature\"]", "host.features[0]" },
		{ "cpuid", "[{\"function\": 0}]", "host.cpuid[0]" },
		{ "cpuid", "[{\"function\": 4294967296, \"index\": 0, \"flags\": 0, \"eax\": 0, \"ebx\": 0, "
			   "\"ecx\": 0, \"edx\": 0}]", "host.cpuid[0].function" },
		{ "msrs", "[{\"index\": 1, \"value\": \"0xzz\"}]", "host.msrs[0].value" },
		{ "fingerprint", "\"\"", "host.fingerprint" },
		{ "unknown_key", "1", "host.unknown_key" },
		/* Two entries for one leaf, flags KVM does not define: no KVM answers so. */
		{ "cpuid", "[{\"function\": 1, \"index\": 0, \"flags\": 0, \"eax\": 0, \"ebx\": 0, \"ecx\": 0, "
			   "\"edx\": 0}, {\"function\": 1, \"index\": 0, \"flags\": 0, \"eax\": 1, \"ebx\": 0, "
			   "\"ecx\": 0, \"edx\": 0}]", "host.cpuid[1]" },
		{ "emulated_cpuid", "[{\"function\": 7, \"index\": 0, \"flags\": 256, \"eax\": 0, \"ebx\": 0, "
				    "\"ecx\": 0, \"edx\": 0}]", "host.emulated_cpuid[0]" },
	};
	struct host *h = host_new("Core-i7-8700", NULL);
	struct proto_host_derived d = { .level = 3 };
	struct caps_host_record *r = calloc(1, sizeof(*r));
	struct json_object *o = proto_host_record_to_json(&h->model.record, &d, CAPS_NAMES_LINUX);
	struct json_object *big, *entries;

	ck_assert_ptr_nonnull(r);
	ck_assert_ptr_nonnull(o);
	for (size_t k = 0; k < sizeof(rows) / sizeof(rows[0]); k++) {
		struct json_object *copy = NULL, *v;
		struct proto_error err = { { 0 } };

		ck_assert_int_eq(json_object_deep_copy(o, &copy, NULL), 0);
		v = json_tokener_parse(rows[k].value);
		ck_assert_ptr_nonnull(v);
		json_object_object_add(copy, rows[k].edit, v);
		ck_assert_int_eq(proto_host_record_from_json(copy, "host", r, NULL, &err), -EINVAL);
		ck_assert_msg(strncmp(err.path, rows[k].path, strlen(rows[k].path)) == 0, "%s: path %s: %s",
			      rows[k].path, err.path, err.message);
		json_object_put(copy);
	}
	/* A required key missing. */
	{
		struct json_object *copy = NULL;
		struct proto_error err = { { 0 } };

		ck_assert_int_eq(json_object_deep_copy(o, &copy, NULL), 0);
		json_object_object_del(copy, "cpuid");
		ck_assert_int_eq(proto_host_record_from_json(copy, "host", r, NULL, &err), -EINVAL);
		ck_assert_ptr_nonnull(strstr(err.path, "cpuid"));
		ck_assert_ptr_nonnull(strstr(err.message, "missing"));
		json_object_put(copy);
	}
	/* Past the record's capacity: 257 CPUID entries. */
	big = NULL;	/* json_object_deep_copy() wants an empty destination */
	ck_assert_int_eq(json_object_deep_copy(o, &big, NULL), 0);
	entries = json_object_object_get(big, "cpuid");
	while (json_object_array_length(entries) <= CAPS_CPUID_MAX_ENTRIES)
		json_object_array_add(entries, json_object_get(json_object_array_get_idx(entries, 0)));
	ck_assert_int_eq(proto_host_record_from_json(big, "host", r, NULL, NULL), -E2BIG);
	json_object_put(big);
	/* Not an object; and what unwrap takes for a record. */
	ck_assert_int_eq(proto_host_record_from_json(entries = json_object_new_int(1), "host", r, NULL, NULL), -EINVAL);
	json_object_put(entries);
	ck_assert_ptr_eq(proto_host_record_unwrap(o), o);
	big = json_object_new_object();
	json_object_object_add(big, "host", json_object_get(o));
	ck_assert_ptr_eq(proto_host_record_unwrap(big), o);
	json_object_object_add(big, "host", json_object_new_array());
	ck_assert_ptr_null(proto_host_record_unwrap(big));
	json_object_put(big);
	json_object_put(o);
	test_free(r);
	test_free(h);
}
END_TEST

/* ------------------------------------------------------------------ */
/* Migration checks. */

/* The check of policy (NULL: base host) evaluated on from, against to. */
static struct caps_migration *migrate(const struct caps_policy *policy, const struct host *from,
					 const struct host *to, enum caps_names names)
{
	struct caps_policy *host = NULL;
	struct caps_evaluation *ev;
	struct caps_migration *res = malloc(sizeof(*res));

	ck_assert_ptr_nonnull(res);
	if (!policy)
		policy = host = policy_new("{\"base\": \"host\"}");
	ev = malloc(sizeof(*ev));
	ck_assert_int_eq(hv_policy_evaluate(policy, &from->target, names, ev), 0);
	ck_assert_msg(ev->accepted, "the policy is rejected on %s: %s", from->name,
		      ev->n_problems ? ev->problems[0].detail : "");
	ck_assert_int_eq(hv_migrate_check(&ev->guest_cpuid, &to->target, names, res), 0);
	test_free(ev);
	test_free(host);
	return res;
}

static const struct caps_migrate_blocker *find_blocker(const struct caps_migration *r, const char *feature,
						      const char *field)
{
	for (size_t i = 0; i < r->n_blockers && i < CAPS_MIGRATE_MAX_BLOCKERS; i++)
		if (strcmp(r->blockers[i].feature, feature) == 0 && (!field || strcmp(r->blockers[i].field, field) == 0))
			return &r->blockers[i];
	return NULL;
}

static void assert_ok(const struct caps_migration *r, const char *what)
{
	ck_assert_msg(r->ok && r->n_blockers == 0, "%s: %zu blockers, the first %s %s", what, r->n_blockers,
		      r->n_blockers ? r->blockers[0].feature : "", r->n_blockers ? r->blockers[0].field : "");
}

/* Skylake-SP to Broadwell: AVX-512 and more block, each named; Broadwell to Skylake-SP moves. */
START_TEST(test_migrate_newer_to_older_names_the_blocking_features)
{
	static const int avx512[] = {
		X86_FEATURE_AVX512F, X86_FEATURE_AVX512DQ, X86_FEATURE_AVX512CD, X86_FEATURE_AVX512BW,
		X86_FEATURE_AVX512VL,
	};
	struct host *sky = host_new("Xeon-Gold-5115", NULL), *bdw = host_new("Xeon-E5-2650-v4", NULL);
	struct caps_migration *r = migrate(NULL, sky, bdw, CAPS_NAMES_LINUX);

	ck_assert(!r->ok);
	ck_assert_uint_ge(r->n_blockers, 5);
	for (size_t i = 0; i < sizeof(avx512) / sizeof(avx512[0]); i++) {
		const struct caps_migrate_blocker *b = find_blocker(r, caps_feature_name(avx512[i], CAPS_NAMES_LINUX), NULL);

		ck_assert_msg(b, "no blocker names %s", caps_feature_name(avx512[i], CAPS_NAMES_LINUX));
		ck_assert_int_eq(b->rule, CAPS_MIGRATE_BIT_SUBSET);
		ck_assert_uint_eq(b->function, 7);
		ck_assert_uint_eq(b->index, 0);
		ck_assert_int_eq(b->reg, CAPS_REG_EBX);
		ck_assert_uint_eq(b->lsb, caps_feature_bit(avx512[i]));
		ck_assert_uint_eq(b->source, 1);
		ck_assert_uint_eq(b->destination, 0);
		ck_assert(b->has_reason);
		ck_assert_int_eq(b->reason, HV_REASON_NOT_IN_HOST_CPU);
		ck_assert_ptr_nonnull(strstr(b->detail, b->feature));
	}
	/* Every blocker names a catalog feature, not a leaf and register. */
	for (size_t i = 0; i < r->n_blockers; i++)
		ck_assert_msg(caps_feature_lookup(r->blockers[i].feature) >= 0, "%s", r->blockers[i].feature);
	/* The QEMU spelling when asked. */
	test_free(r);
	r = migrate(NULL, sky, bdw, CAPS_NAMES_QEMU);
	for (size_t i = 0; i < r->n_blockers; i++) {
		int f = caps_feature_lookup(r->blockers[i].feature);

		ck_assert_int_ge(f, 0);
		ck_assert_str_eq(r->blockers[i].feature, caps_feature_name(f, CAPS_NAMES_QEMU));
	}
	ck_assert_ptr_nonnull(find_blocker(r, "fdp-excptn-only", NULL));
	test_free(r);

	r = migrate(NULL, bdw, sky, CAPS_NAMES_LINUX);
	assert_ok(r, "Broadwell to Skylake-SP");
	test_free(r);
}
END_TEST

/* A guest moves to an identical host whatever its CPU: every rule holds (the negative rows' counterpart). */
START_TEST(test_migrate_to_the_same_host_is_ok)
{
	struct host *h = host_new(all_cpus[_i], NULL);
	struct caps_migration *r = migrate(NULL, h, h, CAPS_NAMES_LINUX);

	assert_ok(r, all_cpus[_i]);
	ck_assert_uint_eq(r->n_warnings, 0);
	test_free(r);
}
END_TEST

/* The baseline of Skylake-SP, Broadwell and Coffee Lake moves between every two of them. */
START_TEST(test_migrate_baseline_moves_both_ways)
{
	static const char *const cpus[] = { "Xeon-Gold-5115", "Xeon-E5-2650-v4", "Core-i7-8700" };
	struct host *h[3];
	struct hv_policy_target t[3];
	struct hv_baseline *b;

	for (size_t i = 0; i < 3; i++) {
		h[i] = host_new(cpus[i], NULL);
		t[i] = h[i]->target;
	}
	b = baseline_new(t, 3, HV_BASELINE_MIGRATABLE);
	for (size_t i = 0; i < 3; i++)
		for (size_t j = 0; j < 3; j++) {
			struct caps_migration *r = migrate(&b->policy, h[i], h[j], CAPS_NAMES_LINUX);
			char what[160];

			snprintf(what, sizeof(what), "baseline from %s to %s", cpus[i], cpus[j]);
			assert_ok(r, what);
			test_free(r);
		}
	/* Only PMU and max-leaf differences, which the baseline warns about, could block: none here. */
	for (size_t i = 0; i < b->n_warnings; i++)
		ck_assert_msg(!strstr(b->warnings[i], "cannot move"), "%s", b->warnings[i]);
	hv_baseline_done(b);
	test_free(b);
}
END_TEST

/* invtsc blocks whatever the destination has: the TSC rate differs between hosts. */
START_TEST(test_migrate_invtsc_is_not_migratable)
{
	struct host *h = host_new("Xeon-Gold-5115", NULL);
	struct caps_policy *p = policy_new("{\"features\": {\"invtsc\": \"require\"}, \"migratable\": false}");
	struct caps_migration *r = migrate(p, h, h, CAPS_NAMES_QEMU);
	const struct caps_migrate_blocker *b = find_blocker(r, "invtsc", NULL);

	ck_assert(!r->ok);
	ck_assert_ptr_nonnull(b);
	ck_assert_int_eq(b->rule, CAPS_MIGRATE_NOT_MIGRATABLE);
	ck_assert_uint_eq(b->source, 1);
	ck_assert_uint_eq(b->destination, 1);
	ck_assert_uint_eq(b->function, 0x80000007);
	test_free(r);
	test_free(p);
	/* A migratable base host leaves it out: nothing blocks. */
	p = policy_new("{\"base\": \"host\", \"migratable\": true}");
	r = migrate(p, h, h, CAPS_NAMES_LINUX);
	assert_ok(r, "base host, migratable");
	test_free(r);
	test_free(p);
}
END_TEST

/* MAXPHYADDR: a 46-bit guest cannot move to a 39-bit host; a policy's phys_bits can narrow it. */
START_TEST(test_migrate_maxphyaddr_not_greater)
{
	struct host *a = host_new("Xeon-Gold-5115", NULL), *b = host_read("Xeon-Gold-5115");
	struct caps_policy *narrow = policy_new("{\"base\": \"host\", \"phys_bits\": 39}");
	struct caps_migration *r;
	const struct caps_migrate_blocker *bl;

	raw_entry(b, 0x80000008, 0)->eax = (raw_entry(b, 0x80000008, 0)->eax & ~0xffu) | 39;
	host_model(b, NULL);
	r = migrate(NULL, a, b, CAPS_NAMES_LINUX);
	ck_assert_uint_eq(r->n_blockers, 1);
	bl = find_blocker(r, "phys_bits", "MAXPHYADDR");
	ck_assert_ptr_nonnull(bl);
	ck_assert_int_eq(bl->rule, CAPS_MIGRATE_NOT_GREATER);
	ck_assert_uint_eq(bl->source, 46);
	ck_assert_uint_eq(bl->destination, 39);
	ck_assert_uint_eq(bl->function, 0x80000008);
	ck_assert_int_eq(bl->reg, CAPS_REG_EAX);
	ck_assert_uint_eq(bl->lsb, 0);
	ck_assert_uint_eq(bl->msb, 7);
	test_free(r);
	r = migrate(NULL, b, a, CAPS_NAMES_LINUX);
	assert_ok(r, "39 bits to 46");
	test_free(r);
	r = migrate(narrow, a, b, CAPS_NAMES_LINUX);
	assert_ok(r, "phys_bits 39 to 39");
	test_free(r);
	test_free(narrow);
}
END_TEST

/* GuestPhysBits: without TDP a guest may use all 52 bits; 4-level EPT maps 48. */
START_TEST(test_migrate_guest_phys_bits_not_greater)
{
	static const char *const no_tdp[] = { "tdp=off", NULL };
	struct host *a = host_new("Xeon-w7-3465X", no_tdp), *b = host_new("Xeon-w7-3465X", NULL);
	struct caps_migration *r = migrate(NULL, a, b, CAPS_NAMES_LINUX);
	const struct caps_migrate_blocker *bl = find_blocker(r, "phys_bits", "GuestPhysBits");

	ck_assert_ptr_nonnull(bl);
	ck_assert_int_eq(bl->rule, CAPS_MIGRATE_NOT_GREATER);
	ck_assert_uint_eq(bl->source, 52);
	ck_assert_uint_eq(bl->destination, 48);
	ck_assert_uint_eq(bl->lsb, 16);
	ck_assert_uint_eq(bl->msb, 23);
	ck_assert_ptr_null(find_blocker(r, "phys_bits", "MAXPHYADDR"));
	test_free(r);
	r = migrate(NULL, b, a, CAPS_NAMES_LINUX);
	ck_assert_ptr_null(find_blocker(r, "phys_bits", NULL));
	test_free(r);
}
END_TEST

/* XSAVE: each component's size, offset and alignment must match; a component the host lacks blocks. */
START_TEST(test_migrate_xsave_layout_equal)
{
	struct host *a = host_new("Xeon-Gold-5115", NULL), *b = host_read("Xeon-Gold-5115");
	struct caps_migration *r;
	const struct caps_migrate_blocker *bl;
	struct caps_evaluation *ev;
	struct caps_cpuid_entry *d0;

	raw_entry(b, 0xd, 2)->eax *= 2;		/* AVX state twice as large */
	raw_entry(b, 0xd, 5)->ebx += 64;	/* AVX-512 opmask moved */
	raw_entry(b, 0xd, 6)->ecx |= 2;		/* ZMM_Hi256 64-byte aligned when compacted */
	host_model(b, NULL);
	r = migrate(NULL, a, b, CAPS_NAMES_LINUX);
	bl = find_blocker(r, "avx", "XSAVE component 2 size");
	ck_assert_ptr_nonnull(bl);
	ck_assert_int_eq(bl->rule, CAPS_MIGRATE_EQUAL);
	ck_assert_uint_eq(bl->source, 256);
	ck_assert_uint_eq(bl->destination, 512);
	ck_assert_uint_eq(bl->function, 0xd);
	ck_assert_uint_eq(bl->index, 2);
	bl = find_blocker(r, "avx512f", "XSAVE component 5 offset");
	ck_assert_ptr_nonnull(bl);
	ck_assert_uint_eq(bl->destination, bl->source + 64);
	bl = find_blocker(r, "avx512f", "XSAVE component 6 alignment");
	ck_assert_ptr_nonnull(bl);
	ck_assert_uint_eq(bl->source, 0);
	ck_assert_uint_eq(bl->destination, 1);
	ck_assert_uint_eq(r->n_blockers, 3);
	test_free(r);

	/* A guest whose XCR0 has PKRU (without PKU) cannot go where KVM offers no PKRU state. */
	test_free(b);
	b = host_new("Xeon-E5-2650-v4", NULL);
	ev = evaluate(policy_new("{\"base\": \"host\"}"), b);
	d0 = (struct caps_cpuid_entry *)caps_cpuid_find(&ev->guest_cpuid, 0xd, 0);
	ck_assert_ptr_nonnull(d0);
	d0->eax |= 1u << 9;
	r = malloc(sizeof(*r));
	ck_assert_int_eq(hv_migrate_check(&ev->guest_cpuid, &b->target, CAPS_NAMES_LINUX, r), 0);
	bl = find_blocker(r, "pku", "XSAVE component 9 (XCR0)");
	ck_assert_ptr_nonnull(bl);
	ck_assert_int_eq(bl->rule, CAPS_MIGRATE_BIT_SUBSET);
	ck_assert_uint_eq(bl->lsb, 9);
	ck_assert_uint_eq(r->n_blockers, 1);
	/* Without XSAVE itself there is no state to move. */
	for (size_t i = 0; i < ev->guest_cpuid.nent; i++)
		if (ev->guest_cpuid.entries[i].function == 1)
			ev->guest_cpuid.entries[i].ecx &= ~caps_feature_mask(X86_FEATURE_XSAVE);
	ck_assert_int_eq(hv_migrate_check(&ev->guest_cpuid, &b->target, CAPS_NAMES_LINUX, r), 0);
	assert_ok(r, "no XSAVE");
	test_free(r);
	test_free(ev);
}
END_TEST

/* The ERAPS host: a Zen 4 given ERAPS and a RAP of rap entries. */
static struct host *eraps_host_new(uint32_t rap)
{
	struct host *h = host_read("EPYC-9334-32-Core");

	set_feature(&h->raw, X86_FEATURE_ERAPS, true);
	raw_entry(h, 0x80000021, 0)->ebx = (raw_entry(h, 0x80000021, 0)->ebx & ~0x00ff0000u) | rap << 16;
	host_model(h, NULL);
	return h;
}

/* RapSize: the guest relies on the RAP depth it was told; equal, and only with ERAPS. */
START_TEST(test_migrate_rap_size_equal)
{
	struct host *a = eraps_host_new(64), *b = eraps_host_new(32), *c = eraps_host_new(64);
	struct caps_policy *no_eraps = policy_new("{\"base\": \"host\", \"features\": {\"eraps\": \"disable\"}}");
	struct caps_migration *r = migrate(NULL, a, b, CAPS_NAMES_LINUX);
	const struct caps_migrate_blocker *bl = find_blocker(r, "eraps", "RapSize");

	ck_assert_ptr_nonnull(bl);
	ck_assert_int_eq(bl->rule, CAPS_MIGRATE_EQUAL);
	ck_assert_uint_eq(bl->source, 64);
	ck_assert_uint_eq(bl->destination, 32);
	ck_assert_uint_eq(bl->lsb, 16);
	ck_assert_uint_eq(bl->msb, 23);
	ck_assert_uint_eq(r->n_blockers, 1);
	test_free(r);
	r = migrate(NULL, b, a, CAPS_NAMES_LINUX);	/* equal: smaller to larger blocks too */
	ck_assert_ptr_nonnull(find_blocker(r, "eraps", "RapSize"));
	test_free(r);
	r = migrate(NULL, a, c, CAPS_NAMES_LINUX);
	assert_ok(r, "RapSize 64 to 64");
	test_free(r);
	r = migrate(no_eraps, a, b, CAPS_NAMES_LINUX);
	assert_ok(r, "no ERAPS, RapSize differs");
	test_free(r);
	test_free(no_eraps);
}
END_TEST

/* AVX10: a version 2 guest (KVM 7.0 on a version 2 CPU) cannot go where KVM offers version 1. */
START_TEST(test_migrate_avx10_version_not_greater)
{
	static const char *const k618[] = { "kernel=6.18", NULL };
	struct host *a = host_read("Xeon-6788P"), *b = host_new("Xeon-6788P", NULL);
	struct host *c = host_read("Xeon-6788P");
	struct caps_migration *r;
	const struct caps_migrate_blocker *bl;

	raw_entry(a, 0x24, 0)->ebx = (raw_entry(a, 0x24, 0)->ebx & ~0xffu) | 2;
	host_model(a, NULL);
	*c = *a;
	host_model(c, k618);	/* the same CPU on a kernel that caps the version at 1 */
	r = migrate(NULL, a, b, CAPS_NAMES_LINUX);
	bl = find_blocker(r, "avx10", "AVX10 version");
	ck_assert_ptr_nonnull(bl);
	ck_assert_int_eq(bl->rule, CAPS_MIGRATE_NOT_GREATER);
	ck_assert_uint_eq(bl->source, 2);
	ck_assert_uint_eq(bl->destination, 1);
	ck_assert_uint_eq(bl->function, 0x24);
	test_free(r);
	r = migrate(NULL, a, c, CAPS_NAMES_LINUX);
	ck_assert_ptr_nonnull(find_blocker(r, "avx10", "AVX10 version"));
	test_free(r);
	r = migrate(NULL, b, a, CAPS_NAMES_LINUX);
	ck_assert_ptr_null(find_blocker(r, "avx10", NULL));
	test_free(r);
}
END_TEST

/* The vPMU: Sapphire Rapids' 8 counters and 8 events do not fit Broadwell's 4 and 7; without a PMU nothing blocks. */
START_TEST(test_migrate_pmu_not_greater)
{
	static const char *const no_pmu[] = { "enable_pmu=off", NULL };
	struct host *spr = host_new("Xeon-w7-3465X", NULL), *bdw = host_new("Xeon-E5-2650-v4", NULL);
	struct host *spr0 = host_new("Xeon-w7-3465X", no_pmu), *bdw0 = host_new("Xeon-E5-2650-v4", no_pmu);
	struct hv_policy_target t[2] = { spr->target, bdw->target }, t0[2] = { spr0->target, bdw0->target };
	struct hv_baseline *b = baseline_new(t, 2, HV_BASELINE_MIGRATABLE);
	struct caps_migration *r = migrate(&b->policy, spr, bdw, CAPS_NAMES_LINUX);
	const struct caps_migrate_blocker *bl = find_blocker(r, "pmu", "PMU general-purpose counters");
	bool warned = false;

	ck_assert_ptr_nonnull(bl);
	ck_assert_int_eq(bl->rule, CAPS_MIGRATE_NOT_GREATER);
	ck_assert_uint_gt(bl->source, bl->destination);
	ck_assert_ptr_nonnull(find_blocker(r, "pmu", "PMU architectural events"));
	for (size_t i = 0; i < r->n_blockers; i++)
		ck_assert_str_eq(r->blockers[i].feature, "pmu");
	test_free(r);
	/* The baseline says so: a policy cannot narrow the vPMU. */
	for (size_t i = 0; i < b->n_warnings; i++)
		warned |= strstr(b->warnings[i], "PMU general-purpose counters") != NULL;
	ck_assert(warned);
	r = migrate(&b->policy, bdw, spr, CAPS_NAMES_LINUX);
	assert_ok(r, "Broadwell's PMU to Sapphire Rapids");
	test_free(r);
	hv_baseline_done(b);

	b = baseline_new(t0, 2, HV_BASELINE_MIGRATABLE);
	r = migrate(&b->policy, spr0, bdw0, CAPS_NAMES_LINUX);
	assert_ok(r, "no PMU");
	test_free(r);
	hv_baseline_done(b);
	test_free(b);
}
END_TEST

/* Intel to AMD blocks on the vendor, and on what else differs (XSAVE offsets). */
START_TEST(test_migrate_vendor_same)
{
	struct host *intel = host_new("Xeon-Gold-5115", NULL), *amd = host_new("EPYC-7601-32-Core", NULL);
	struct hv_policy_target t[2] = { intel->target, amd->target };
	struct hv_baseline *b = baseline_new(t, 2, HV_BASELINE_VENDOR_SUBSET | HV_BASELINE_MIGRATABLE);
	struct caps_migration *r = migrate(&b->policy, intel, amd, CAPS_NAMES_LINUX);
	const struct caps_migrate_blocker *bl = find_blocker(r, "vendor", NULL);

	ck_assert_ptr_nonnull(bl);
	ck_assert_int_eq(bl->rule, CAPS_MIGRATE_SAME_VENDOR);
	ck_assert_str_eq(bl->source_vendor, "GenuineIntel");
	ck_assert_str_eq(bl->destination_vendor, "AuthenticAMD");
	test_free(r);
	hv_baseline_done(b);
	test_free(b);
}
END_TEST

/* The CLFLUSH line size must be the destination CPU's; other cache geometry only warns. */
START_TEST(test_migrate_caches)
{
	struct host *sky = host_new("Xeon-Gold-5115", NULL), *wide = host_read("Xeon-Gold-5115");
	struct host *sets = host_read("Xeon-Gold-5115");
	struct caps_migration *r;
	const struct caps_migrate_blocker *bl;
	bool warned = false;

	/* A CPU flushing 128-byte lines. */
	raw_entry(wide, 1, 0)->ebx = (raw_entry(wide, 1, 0)->ebx & ~0xff00u) | 16u << 8;
	host_model(wide, NULL);
	r = migrate(NULL, sky, wide, CAPS_NAMES_LINUX);
	bl = find_blocker(r, "clflush", "CLFLUSH line size");
	ck_assert_ptr_nonnull(bl);
	ck_assert_int_eq(bl->rule, CAPS_MIGRATE_EQUAL);
	ck_assert_uint_eq(bl->source, 8);
	ck_assert_uint_eq(bl->destination, 16);
	ck_assert_uint_eq(bl->function, 1);
	ck_assert_uint_eq(bl->lsb, 8);
	ck_assert_uint_eq(bl->msb, 15);
	ck_assert_uint_eq(r->n_blockers, 1);
	test_free(r);

	/* Twice the L3 sets: a warning naming the cache, the guest still moves. */
	raw_entry(sets, 4, 3)->ecx = raw_entry(sets, 4, 3)->ecx * 2 + 1;
	host_model(sets, NULL);
	r = migrate(NULL, sky, sets, CAPS_NAMES_LINUX);
	assert_ok(r, "other L3 sets");
	for (size_t i = 0; i < r->n_warnings; i++)
		warned |= strcmp(r->warnings[i].reason, "caches_differ") == 0 &&
			  strstr(r->warnings[i].detail, "CPUID 0x4.3") != NULL;
	ck_assert(warned);
	test_free(r);

	/* The same CPU: no cache warning. */
	r = migrate(NULL, sky, sky, CAPS_NAMES_LINUX);
	assert_ok(r, "to itself");
	for (size_t i = 0; i < r->n_warnings; i++)
		ck_assert_str_ne(r->warnings[i].reason, "caches_differ");
	test_free(r);
}
END_TEST

/* Leaves beyond the destination's maximum warn (the VMM fills them); emulated features warn. */
START_TEST(test_migrate_warnings_do_not_block)
{
	struct host *sky = host_new("Xeon-Gold-5115", NULL), *bdw = host_new("Xeon-E5-2650-v4", NULL);
	struct host *core2 = host_new("Core2-Q9500", NULL);
	struct caps_policy *p = policy_new("{\"features\": {\"sse2\": \"require\", \"movbe\": \"require\"}}");
	struct caps_migration *r = migrate(p, sky, core2, CAPS_NAMES_LINUX);
	bool max_leaf = false, movbe = false;

	for (size_t i = 0; i < r->n_warnings; i++) {
		max_leaf |= strcmp(r->warnings[i].reason, "max_leaf_greater") == 0;
		movbe |= strcmp(r->warnings[i].reason, "emulated_on_destination") == 0 &&
			 strcmp(r->warnings[i].feature, "movbe") == 0;
	}
	ck_assert(max_leaf);
	ck_assert(movbe);
	ck_assert_ptr_null(find_blocker(r, "movbe", NULL));
	test_free(r);
	test_free(p);

	p = policy_new("{\"features\": {\"sse2\": \"require\"}}");
	r = migrate(p, sky, bdw, CAPS_NAMES_LINUX);
	assert_ok(r, "SSE2 only, Skylake-SP to Broadwell");
	ck_assert_uint_eq(r->n_warnings, 2);
	ck_assert_str_eq(r->warnings[0].reason, "caches_differ");	/* Skylake-SP's L2 is 1 MiB, Broadwell's 256 KiB */
	ck_assert_str_eq(r->warnings[1].feature, "max_basic_leaf");
	test_free(r);
	test_free(p);

	r = malloc(sizeof(*r));
	ck_assert_int_eq(hv_migrate_check(NULL, &bdw->target, CAPS_NAMES_LINUX, r), -EINVAL);
	ck_assert_int_eq(hv_migrate_check(&bdw->model.record.supported, NULL, CAPS_NAMES_LINUX, r), -EINVAL);
	ck_assert_str_eq(caps_migrate_rule_name(CAPS_MIGRATE_NOT_GREATER), "not_greater");
	test_free(r);
}
END_TEST

/* ------------------------------------------------------------------ */
/* io.hvcap.Policy.Baseline through the real hvcapd. */

static char *dump_text(const char *cpu)
{
	char path[4600], *text;
	size_t len;

	snprintf(path, sizeof(path), "%s/x86_64-cpuid-%s.xml", dir, cpu);
	ck_assert_int_eq(caps_read_file(path, 1 << 20, &text, &len), 0);
	return text;
}

/* {"hosts": [{"name"?, "dump"}...], extra members...} as text (malloc()ed). */
static char *baseline_params(const char *const *cpus, size_t n, bool named, const char *extra)
{
	struct json_object *p = json_object_new_object(), *hosts = json_object_new_array(), *x;
	char *s;

	for (size_t i = 0; i < n; i++) {
		struct json_object *h = json_object_new_object();
		char *text = dump_text(cpus[i]);

		if (named)
			json_object_object_add(h, "name", json_object_new_string(cpus[i]));
		json_object_object_add(h, "dump", json_object_new_string(text));
		json_object_array_add(hosts, h);
		test_free(text);
	}
	json_object_object_add(p, "hosts", hosts);
	if (extra) {
		x = json_tokener_parse(extra);
		ck_assert_ptr_nonnull(x);
		json_object_object_foreach(x, k, v)
			json_object_object_add(p, k, json_object_get(v));
		json_object_put(x);
	}
	s = strdup(json_object_to_json_string_ext(p, JSON_C_TO_STRING_PLAIN));
	json_object_put(p);
	return s;
}

/* What hvctl policy baseline --json prints for the same hosts, computed here. */
static struct json_object *offline_baseline(const char *const *cpus, size_t n, unsigned flags, bool named)
{
	struct host *h[N_INTEL];
	struct hv_policy_target t[N_INTEL];
	const char *names[N_INTEL], *excluded[8], *warnings[HV_BASELINE_MAX_WARNINGS];
	char labels[N_INTEL][8];
	struct proto_baseline_lack *lacks;
	struct proto_baseline pb = { 0 };
	struct hv_baseline *b;
	struct json_object *o;

	for (size_t i = 0; i < n; i++) {
		h[i] = host_new(cpus[i], NULL);
		t[i] = h[i]->target;
		snprintf(labels[i], sizeof(labels[i]), "%zu", i);
		names[i] = named ? cpus[i] : labels[i];
	}
	b = baseline_new(t, n, flags);
	lacks = calloc(b->n_lacks, sizeof(*lacks));
	for (size_t i = 0; i < b->n_lacks; i++)
		lacks[i] = (struct proto_baseline_lack) {
			.feature = caps_feature_name(b->lacks[i].feature, CAPS_NAMES_LINUX),
			.host = b->lacks[i].host, .reason = hv_reason_name(b->lacks[i].reason),
			.detail = b->lacks[i].detail, .emulated = b->lacks[i].emulated,
		};
	pb.policy = &b->policy;
	pb.hosts = names;
	pb.n_hosts = n;
	pb.lacks = lacks;
	pb.n_lacks = b->n_lacks;
	pb.excluded = excluded;
	pb.warnings = warnings;
	caps_for_each(f, &b->excluded)
		excluded[pb.n_excluded++] = caps_feature_name(f, CAPS_NAMES_LINUX);
	for (size_t i = 0; i < b->n_warnings; i++)
		warnings[pb.n_warnings++] = b->warnings[i];
	o = proto_baseline_to_json(&pb);
	ck_assert_ptr_nonnull(o);
	test_free(lacks);
	hv_baseline_done(b);
	test_free(b);
	return o;
}

static void check_output(const char *method, struct json_object *reply)
{
	struct proto_error err = { { 0 } };

	ck_assert_int_eq(proto_idl_builtin_load(&err), 0);
	ck_assert_msg(proto_idl_check_output(proto_idl_builtin_find("io.hvcap.Policy"), method, reply, &err) == 0,
		      "%s reply breaks the IDL at %s: %s", method, err.path, err.message);
}

static void check_error(const char *error, struct json_object *params)
{
	struct proto_error err = { { 0 } };

	ck_assert_int_eq(proto_idl_builtin_load(&err), 0);
	ck_assert_msg(proto_idl_check_error(proto_idl_builtin_find("io.hvcap.Policy"), error, params, &err) == 0,
		      "%s breaks the IDL at %s: %s", error, err.path, err.message);
}

static void fails_parameter(const char *params, const char *parameter)
{
	struct json_object *e = fails_p("io.hvcap.Policy.Baseline", params, "org.varlink.service.InvalidParameter");

	ck_assert_str_eq(get_str(e, "parameter"), parameter);
	json_object_put(e);
}

START_TEST(test_daemon_baseline)
{
	static const char *const mixed[] = { "Xeon-Gold-5115", "EPYC-7601-32-Core" };
	const char *many[HV_BASELINE_MAX_HOSTS + 1];
	char path[4600], *params;
	struct json_object *r, *o, *e;
	struct caps_policy *p = malloc(sizeof(*p));
	struct proto_error err = { { 0 } };

	snprintf(path, sizeof(path), "%s/x86_64-cpuid-Xeon-Gold-5115.xml", dir);
	start_model(false, path, NULL);

	/* Named hosts, migratable: the reply is the offline baseline, to the byte, and fits the IDL. */
	params = baseline_params(intel_cpus, N_INTEL, true, "{\"migratable\": true}");
	r = ok("io.hvcap.Policy.Baseline", params);
	test_free(params);
	check_output("Baseline", r);
	o = offline_baseline(intel_cpus, N_INTEL, HV_BASELINE_MIGRATABLE, true);
	ck_assert_msg(json_object_equal(r, o), "hvcapd %.300s\noffline %.300s", json_object_to_json_string(r),
		      json_object_to_json_string(o));
	json_object_put(o);
	ck_assert_int_eq(proto_policy_from_json(get(r, "policy"), p, &err), 0);
	for (size_t i = 0; i < N_INTEL; i++)
		assert_accepted(p, host_new(intel_cpus[i], NULL));
	ck_assert_str_eq(json_object_get_string(json_object_array_get_idx(get(r, "excluded"), 0)), "constant_tsc");
	json_object_put(r);

	/* Unnamed hosts are named by their index. */
	params = baseline_params(intel_cpus, 2, false, NULL);
	r = ok("io.hvcap.Policy.Baseline", params);
	test_free(params);
	o = offline_baseline(intel_cpus, 2, 0, false);
	ck_assert(json_object_equal(r, o));
	ck_assert_str_eq(json_object_get_string(json_object_array_get_idx(get(r, "hosts"), 1)), "1");
	json_object_put(o);
	json_object_put(r);

	/* QEMU spellings. */
	params = baseline_params(intel_cpus, 2, false, "{\"names\": \"qemu\"}");
	r = ok("io.hvcap.Policy.Baseline", params);
	test_free(params);
	ck_assert_ptr_nonnull(json_object_object_get(get(get(r, "policy"), "features"), "sse4.1"));
	json_object_put(r);

	/* Mixed vendors: refused, naming each host's vendor; vendor_subset gives their common part. */
	params = baseline_params(mixed, 2, true, NULL);
	e = fails_p("io.hvcap.Policy.Baseline", params, "io.hvcap.Policy.MixedVendors");
	test_free(params);
	check_error("MixedVendors", e);
	ck_assert_str_eq(json_object_get_string(json_object_array_get_idx(get(e, "vendors"), 1)), "AuthenticAMD");
	ck_assert_str_eq(json_object_get_string(json_object_array_get_idx(get(e, "hosts"), 1)), "EPYC-7601-32-Core");
	json_object_put(e);
	params = baseline_params(mixed, 2, true, "{\"vendor_subset\": true}");
	r = ok("io.hvcap.Policy.Baseline", params);
	test_free(params);
	check_output("Baseline", r);
	ck_assert_ptr_null(json_object_object_get(get(r, "policy"), "vendor"));
	ck_assert_uint_ge(json_object_array_length(get(r, "warnings")), 1);
	json_object_put(r);

	/* Bad hosts are named by their index. */
	params = baseline_params(intel_cpus, 1, false, NULL);
	{
		struct json_object *x = json_tokener_parse(params);
		struct json_object *hosts = get(x, "hosts");

		json_object_array_add(hosts, json_tokener_parse("{\"dump\": \"<cpudata><cpuid\"}"));
		e = fails_p("io.hvcap.Policy.Baseline", json_object_to_json_string(x), "io.hvcap.Policy.InvalidDump");
		ck_assert_str_eq(strstr(get_str(e, "reason"), "hosts[1]: ") ? "yes" : get_str(e, "reason"), "yes");
		json_object_put(e);
		json_object_object_add(json_object_array_get_idx(hosts, 0), "params",
				       json_tokener_parse("{\"warp_drive\": \"on\"}"));
		e = fails_p("io.hvcap.Policy.Baseline", json_object_to_json_string(x),
			    "io.hvcap.Policy.InvalidHostParameter");
		ck_assert_str_eq(get_str(e, "parameter"), "hosts[0].params.warp_drive");
		json_object_put(e);
		json_object_put(x);
	}
	test_free(params);
	fails_parameter("{\"hosts\": []}", "hosts");
	fails_parameter("{}", "hosts");
	fails_parameter("{\"hosts\": [{\"name\": \"\", \"dump\": \"x\"}]}", "hosts[0].name");
	fails_parameter("{\"hosts\": [{\"name\": \"a\"}]}", "hosts[0].dump");
	fails_parameter("{\"hosts\": [{\"dump\": \"x\"}], \"migratable\": 1}", "migratable");
	fails_parameter("{\"hosts\": [{\"dump\": \"x\"}], \"names\": \"klingon\"}", "names");

	/* The limit: 64 hosts, and 65 is LimitExceeded. */
	for (size_t i = 0; i <= HV_BASELINE_MAX_HOSTS; i++)
		many[i] = "Core-i5-650";
	params = baseline_params(many, HV_BASELINE_MAX_HOSTS, false, NULL);
	r = ok("io.hvcap.Policy.Baseline", params);
	test_free(params);
	ck_assert_uint_eq(json_object_array_length(get(r, "hosts")), HV_BASELINE_MAX_HOSTS);
	json_object_put(r);
	params = baseline_params(many, HV_BASELINE_MAX_HOSTS + 1, false, NULL);
	e = fails_p("io.hvcap.Policy.Baseline", params, "io.hvcap.LimitExceeded");
	test_free(params);
	ck_assert_str_eq(get_str(e, "limit"), "max_baseline_hosts");
	ck_assert_int_eq(get_int(e, "value"), HV_BASELINE_MAX_HOSTS);
	json_object_put(e);
	test_free(p);
}
END_TEST

/* `hvctl host export --format json --dump` of cpu: the export a baseline takes as a host record. */
static struct json_object *export_of(const char *cpu)
{
	const char *b = getenv("HVCAP_BUILDDIR");
	char cmd[9000], *text = malloc(1 << 20);
	struct json_object *o;
	size_t len;
	FILE *f;

	ck_assert_ptr_nonnull(text);
	snprintf(cmd, sizeof(cmd), "'%s/cli/hvctl' host export --format json --dump '%s/x86_64-cpuid-%s.xml'",
		 b && *b ? b : ".", dir, cpu);
	f = popen(cmd, "r");
	ck_assert_ptr_nonnull(f);
	len = fread(text, 1, (1 << 20) - 1, f);
	ck_assert_int_eq(pclose(f), 0);
	text[len] = '\0';
	o = json_tokener_parse(text);
	free(text);
	ck_assert_msg(o != NULL, "%s printed no JSON", cmd);
	return o;
}

START_TEST(test_daemon_baseline_records)
{
	struct json_object *p = json_object_new_object(), *hosts = json_object_new_array(), *r, *o, *e, *x;
	char path[4600], *params;

	snprintf(path, sizeof(path), "%s/x86_64-cpuid-Xeon-Gold-5115.xml", dir);
	start_model(false, path, NULL);

	/*
	 * Exports of every Intel host, the hostname each one's CPU (they are
	 * all exported on this machine): the same baseline as from the dumps,
	 * the hosts named by hostname, and each blocker with the exporting
	 * host's own reason (its "withheld"), not "in the host record".
	 */
	for (size_t i = 0; i < N_INTEL; i++) {
		struct json_object *h = json_object_new_object();

		x = export_of(intel_cpus[i]);
		json_object_object_add(x, "hostname", json_object_new_string(intel_cpus[i]));
		json_object_object_add(h, "record", x);
		json_object_array_add(hosts, h);
	}
	json_object_object_add(p, "hosts", hosts);
	json_object_object_add(p, "migratable", json_object_new_boolean(true));
	r = ok("io.hvcap.Policy.Baseline", json_object_to_json_string(p));
	check_output("Baseline", r);
	o = offline_baseline(intel_cpus, N_INTEL, HV_BASELINE_MIGRATABLE, true);
	ck_assert_msg(json_object_equal(get(r, "policy"), get(o, "policy")), "records %s\ndumps %s",
		      json_object_to_json_string(get(r, "policy")), json_object_to_json_string(get(o, "policy")));
	ck_assert(json_object_equal(get(r, "hosts"), get(o, "hosts")));
	ck_assert(json_object_equal(get(r, "blockers"), get(o, "blockers")));
	ck_assert_uint_gt(json_object_array_length(get(r, "blockers")), 0);
	json_object_put(o);
	json_object_put(r);

	/* Two exports with one hostname: the second is named by its fingerprint. */
	x = json_object_array_get_idx(hosts, 1);
	json_object_object_add(get(x, "record"), "hostname", json_object_new_string(intel_cpus[0]));
	r = ok("io.hvcap.Policy.Baseline", json_object_to_json_string(p));
	ck_assert_str_eq(json_object_get_string(json_object_array_get_idx(get(r, "hosts"), 0)), intel_cpus[0]);
	ck_assert_str_eq(json_object_get_string(json_object_array_get_idx(get(r, "hosts"), 1)),
			 get_str(get(get(x, "record"), "host"), "fingerprint"));
	json_object_put(r);
	json_object_object_add(get(x, "record"), "hostname", json_object_new_string(intel_cpus[1]));

	/* A bare HostRecord (its "host"): named by its fingerprint, reasons from the record alone. */
	x = json_object_array_get_idx(hosts, 0);
	o = json_object_get(get(get(x, "record"), "host"));
	json_object_object_add(x, "record", o);
	r = ok("io.hvcap.Policy.Baseline", json_object_to_json_string(p));
	ck_assert_str_eq(json_object_get_string(json_object_array_get_idx(get(r, "hosts"), 0)),
			 get_str(o, "fingerprint"));
	json_object_put(r);

	/* A dump and a record for one host, neither, params with a record: named by path. */
	params = strdup(json_object_to_json_string(p));
	json_object_object_add(x, "dump", json_object_new_string("x"));
	fails_parameter(json_object_to_json_string(p), "hosts[0].record");
	json_object_object_del(x, "dump");
	json_object_object_add(x, "params", json_tokener_parse("{\"tdp\": \"off\"}"));
	fails_parameter(json_object_to_json_string(p), "hosts[0].params");
	json_object_object_del(x, "params");
	json_object_object_del(x, "record");
	fails_parameter(json_object_to_json_string(p), "hosts[0].dump");
	fails_parameter("{\"hosts\": [{\"record\": []}]}", "hosts[0].record");

	/* A record that does not read: InvalidHostRecord with the path and why. */
	json_object_put(p);
	p = json_tokener_parse(params);
	free(params);
	x = get(json_object_array_get_idx(get(p, "hosts"), 1), "record");
	json_object_object_add(get(x, "host"), "level", json_object_new_int(9));
	e = fails_p("io.hvcap.Policy.Baseline", json_object_to_json_string(p), "io.hvcap.Policy.InvalidHostRecord");
	check_error("InvalidHostRecord", e);
	ck_assert_str_eq(get_str(e, "parameter"), "hosts[1].record.host.level");
	json_object_put(e);
	json_object_object_add(get(x, "host"), "level", json_object_new_int(2));
	json_object_object_add(x, "withheld", json_tokener_parse("[{\"name\": \"avx\", \"why\": \"x\"}]"));
	e = fails_p("io.hvcap.Policy.Baseline", json_object_to_json_string(p), "io.hvcap.Policy.InvalidHostRecord");
	ck_assert_str_eq(get_str(e, "parameter"), "hosts[1].record.withheld[0]");
	json_object_put(e);
	json_object_object_add(x, "withheld", json_tokener_parse("[{\"name\": \"avx\", \"reason\": 3}]"));
	e = fails_p("io.hvcap.Policy.Baseline", json_object_to_json_string(p), "io.hvcap.Policy.InvalidHostRecord");
	ck_assert_str_eq(get_str(e, "parameter"), "hosts[1].record.withheld[0].reason");
	json_object_put(e);
	json_object_object_add(x, "host", json_object_new_string("x"));
	e = fails_p("io.hvcap.Policy.Baseline", json_object_to_json_string(p), "io.hvcap.Policy.InvalidHostRecord");
	ck_assert_str_eq(get_str(e, "parameter"), "hosts[1].record");
	json_object_put(e);
	/* A feature or reason this hvcap does not know (a newer exporter's) is not refused. */
	json_object_put(p);
	p = json_object_new_object();
	hosts = json_object_new_array();
	x = export_of("Xeon-E5-2650-v4");
	json_object_array_add(get(x, "withheld"),
			      json_tokener_parse("{\"name\": \"warp_drive\", \"reason\": \"not_in_host_cpu\"}"));
	json_object_array_add(get(x, "withheld"),
			      json_tokener_parse("{\"name\": \"avx512f\", \"reason\": \"too_new\", \"detail\": null}"));
	json_object_array_add(hosts, json_tokener_parse("{}"));
	json_object_object_add(json_object_array_get_idx(hosts, 0), "record", x);
	json_object_object_add(p, "hosts", hosts);
	r = ok("io.hvcap.Policy.Baseline", json_object_to_json_string(p));
	json_object_put(r);
	json_object_put(p);
}
END_TEST

/* A direction of a migration, as hvctl policy migrate-check --json and Compare write it, computed here. */
static struct json_object *offline_direction(struct host *from, struct host *to, const struct caps_policy *pol)
{
	struct caps_evaluation *ev = track(calloc(1, sizeof(*ev)));
	struct caps_migration *m = track(calloc(1, sizeof(*m)));
	struct json_object *o;

	ck_assert_int_eq(hv_policy_evaluate(pol, &from->target, CAPS_NAMES_LINUX, ev), 0);
	if (ev->accepted)
		ck_assert_int_eq(hv_migrate_check(&ev->guest_cpuid, &to->target, CAPS_NAMES_LINUX, m), 0);
	o = proto_migration_direction_to_json(ev, m);
	ck_assert_ptr_nonnull(o);
	test_free(ev);
	test_free(m);
	return o;
}

static bool has_blocker(struct json_object *direction, const char *feature, const char *rule)
{
	struct json_object *b = get(direction, "blockers");

	for (size_t i = 0; i < json_object_array_length(b); i++) {
		struct json_object *x = json_object_array_get_idx(b, i);

		if (strcmp(get_str(x, "feature"), feature) == 0 && strcmp(get_str(x, "rule"), rule) == 0)
			return true;
	}
	return false;
}

static void fails_compare(const char *params, const char *parameter)
{
	struct json_object *e = fails_p("io.hvcap.Policy.Compare", params, "org.varlink.service.InvalidParameter");

	ck_assert_str_eq(get_str(e, "parameter"), parameter);
	json_object_put(e);
}

START_TEST(test_daemon_compare_migration)
{
	struct host *sky = host_new("Xeon-Gold-5115", NULL), *bdw = host_new("Xeon-E5-2650-v4", NULL);
	struct caps_policy *pol = track(malloc(sizeof(*pol)));
	struct json_object *p, *r, *m, *o, *e, *vm;
	char path[4600], *sky_text = dump_text("Xeon-Gold-5115"), *bdw_text = dump_text("Xeon-E5-2650-v4");
	char call[256];

	snprintf(path, sizeof(path), "%s/x86_64-cpuid-Xeon-Gold-5115.xml", dir);
	start_model(false, path, NULL);
	caps_policy_init(pol);
	pol->base = CAPS_POLICY_BASE_HOST;
	pol->migratable = true;

	/* Skylake-SP (source) to Broadwell (dump): blocked by AVX-512, and back it moves. */
	p = json_object_new_object();
	json_object_object_add(p, "policy", proto_policy_to_json(pol));
	json_object_object_add(p, "dump", json_object_new_string(bdw_text));
	json_object_object_add(p, "source", json_object_new_object());
	json_object_object_add(get(p, "source"), "dump", json_object_new_string(sky_text));
	json_object_object_add(get(p, "source"), "name", json_object_new_string("sky"));
	r = ok("io.hvcap.Policy.Compare", json_object_to_json_string(p));
	check_output("Compare", r);
	m = get(r, "migration");
	ck_assert_str_eq(get_str(m, "source"), "sky");
	ck_assert_str_eq(get_str(m, "destination"), "destination");
	ck_assert(!json_object_get_boolean(get(get(m, "a_to_b"), "ok")));
	ck_assert(has_blocker(get(m, "a_to_b"), "avx512f", "bit_subset"));
	ck_assert(json_object_get_boolean(get(get(m, "b_to_a"), "ok")));
	/* Both directions are what hvcore answers offline, to the value. */
	o = offline_direction(sky, bdw, pol);
	ck_assert_msg(json_object_equal(get(m, "a_to_b"), o), "hvcapd %.400s\noffline %.400s",
		      json_object_to_json_string(get(m, "a_to_b")), json_object_to_json_string(o));
	json_object_put(o);
	o = offline_direction(bdw, sky, pol);
	ck_assert(json_object_equal(get(m, "b_to_a"), o));
	json_object_put(o);
	/* The evaluation itself is the policy on Broadwell. */
	ck_assert_str_eq(get_str(r, "verdict"), "accepted");
	json_object_put(r);

	/* Without a source: no migration. */
	json_object_object_del(p, "source");
	r = ok("io.hvcap.Policy.Compare", json_object_to_json_string(p));
	ck_assert_ptr_null(json_object_object_get(r, "migration"));
	json_object_put(r);

	/* The destination as an exported record: the same answer. */
	json_object_object_del(p, "dump");
	json_object_object_add(p, "record", export_of("Xeon-E5-2650-v4"));
	json_object_object_add(p, "source", json_tokener_parse("{}"));
	json_object_object_add(get(p, "source"), "dump", json_object_new_string(sky_text));
	r = ok("io.hvcap.Policy.Compare", json_object_to_json_string(p));
	check_output("Compare", r);
	m = get(r, "migration");
	ck_assert(has_blocker(get(m, "a_to_b"), "avx512f", "bit_subset"));
	ck_assert(json_object_get_boolean(get(get(m, "b_to_a"), "ok")));
	json_object_put(r);

	/* A VM of this daemon (on Skylake-SP) brings its own policy and vCPUs. */
	r = ok("io.hvcap.Vm.Create", "{\"name\": \"mover\", \"policy\": {\"base\": \"host\", \"vcpus\": 2, "
	       "\"migratable\": true}}");
	snprintf(call, sizeof(call), "{\"vm\": %lld, \"dump\": \"\"}", (long long)get_int(r, "vm"));
	vm = json_tokener_parse(call);
	json_object_object_add(vm, "dump", json_object_new_string(bdw_text));
	json_object_put(r);
	r = ok("io.hvcap.Policy.Compare", json_object_to_json_string(vm));
	check_output("Compare", r);
	m = get(r, "migration");
	ck_assert_ptr_nonnull(strstr(get_str(m, "source"), "mover"));
	ck_assert_str_eq(get_str(get(m, "a_to_b"), "source_verdict"), "accepted");
	ck_assert(!json_object_get_boolean(get(get(m, "a_to_b"), "ok")));
	ck_assert(has_blocker(get(m, "a_to_b"), "avx512f", "bit_subset"));
	ck_assert(json_object_get_boolean(get(get(m, "b_to_a"), "ok")));
	json_object_put(r);
	/* ... to its own host: nothing blocks. */
	json_object_object_add(vm, "dump", json_object_new_string(sky_text));
	r = ok("io.hvcap.Policy.Compare", json_object_to_json_string(vm));
	ck_assert(json_object_get_boolean(get(get(get(r, "migration"), "a_to_b"), "ok")));
	json_object_put(r);

	/* Bad combinations, each named. */
	json_object_object_add(vm, "policy", json_tokener_parse("{}"));
	fails_compare(json_object_to_json_string(vm), "policy");
	json_object_object_del(vm, "policy");
	json_object_object_add(vm, "source", json_tokener_parse("{\"dump\": \"x\"}"));
	fails_compare(json_object_to_json_string(vm), "vm");
	json_object_object_del(vm, "source");
	json_object_object_add(vm, "vm", json_object_new_int(4000));
	e = fails_p("io.hvcap.Policy.Compare", json_object_to_json_string(vm), "io.hvcap.Vm.NoSuchVm");
	json_object_put(e);
	fails_compare("{\"dump\": \"x\"}", "policy");
	fails_compare("{\"policy\": {}}", "dump");
	fails_compare("{\"policy\": {}, \"dump\": \"x\", \"record\": {}}", "record");
	fails_compare("{\"policy\": {}, \"record\": {}, \"params\": {\"tdp\": \"off\"}}", "params");
	fails_compare("{\"policy\": {}, \"dump\": \"x\", \"source\": {}}", "source.dump");
	fails_compare("{\"policy\": {}, \"dump\": \"x\", \"source\": 1}", "source");
	fails_compare("{\"policy\": {}, \"dump\": \"x\", \"vm\": -1}", "vm");
	json_object_object_add(p, "source", json_tokener_parse("{\"dump\": \"<cpudata><cpuid\"}"));
	e = fails_p("io.hvcap.Policy.Compare", json_object_to_json_string(p), "io.hvcap.Policy.InvalidDump");
	ck_assert_ptr_nonnull(strstr(get_str(e, "reason"), "source: "));
	json_object_put(e);
	json_object_object_add(p, "source", json_tokener_parse("{\"dump\": \"x\", \"params\": {\"warp\": \"1\"}}"));
	json_object_object_add(get(p, "source"), "dump", json_object_new_string(sky_text));
	e = fails_p("io.hvcap.Policy.Compare", json_object_to_json_string(p), "io.hvcap.Policy.InvalidHostParameter");
	ck_assert_str_eq(get_str(e, "parameter"), "source.params.warp");
	json_object_put(e);
	json_object_object_add(p, "record", json_tokener_parse("{\"backend\": \"kvm\"}"));
	e = fails_p("io.hvcap.Policy.Compare", json_object_to_json_string(p), "io.hvcap.Policy.InvalidHostRecord");
	ck_assert_str_eq(get_str(e, "parameter"), "record");
	json_object_put(e);

	json_object_put(vm);
	json_object_put(p);
	test_free(sky_text);
	test_free(bdw_text);
}
END_TEST

int main(void)
{
	const char *top = getenv("HVCAP_TESTDATA");
	Suite *s = suite_create("baseline");
	TCase *tc;

	if (!top || !*top) {
		fprintf(stderr, "SKIP: HVCAP_TESTDATA is not set: the baseline tests use the shared CPU dumps\n");
		return TEST_EXIT_SKIP;
	}
	snprintf(dir, sizeof(dir), "%s/libvirt-cputestdata", top);
	if (access(dir, R_OK | X_OK) != 0) {
		fprintf(stderr, "SKIP: %s: %s: the baseline tests use the shared CPU dumps\n", dir, strerror(errno));
		return TEST_EXIT_SKIP;
	}

	tc = tcase_create("baseline");
	tcase_add_checked_fixture(tc, NULL, free_tracked);
	tcase_add_loop_test(tc, test_baseline_intel_accepted_by_every_host, 0, 2);
	tcase_add_loop_test(tc, test_baseline_intel_is_maximal, 0, 2);
	tcase_add_test(tc, test_baseline_mixed_vendors_refused_unless_subset);
	tcase_add_test(tc, test_baseline_one_host_is_its_supported_set);
	tcase_add_test(tc, test_baseline_bad_arguments_and_nothing_common);
	tcase_add_loop_test(tc, test_baseline_records_equal_dumps, 0, 2);
	tcase_add_test(tc, test_record_reader_refuses_bad_records);
	tcase_set_timeout(tc, 60);
	suite_add_tcase(s, tc);

	tc = tcase_create("migrate");
	tcase_add_checked_fixture(tc, NULL, free_tracked);
	tcase_add_test(tc, test_migrate_newer_to_older_names_the_blocking_features);
	tcase_add_loop_test(tc, test_migrate_to_the_same_host_is_ok, 0, sizeof(all_cpus) / sizeof(all_cpus[0]));
	tcase_add_test(tc, test_migrate_baseline_moves_both_ways);
	tcase_add_test(tc, test_migrate_invtsc_is_not_migratable);
	tcase_add_test(tc, test_migrate_maxphyaddr_not_greater);
	tcase_add_test(tc, test_migrate_guest_phys_bits_not_greater);
	tcase_add_test(tc, test_migrate_xsave_layout_equal);
	tcase_add_test(tc, test_migrate_rap_size_equal);
	tcase_add_test(tc, test_migrate_avx10_version_not_greater);
	tcase_add_test(tc, test_migrate_pmu_not_greater);
	tcase_add_test(tc, test_migrate_vendor_same);
	tcase_add_test(tc, test_migrate_warnings_do_not_block);
	tcase_add_test(tc, test_migrate_caches);
	suite_add_tcase(s, tc);

	tc = tcase_create("daemon");
	tcase_add_checked_fixture(tc, NULL, free_tracked);
	tcase_add_test(tc, test_daemon_baseline);
	tcase_add_test(tc, test_daemon_baseline_records);
	tcase_add_test(tc, test_daemon_compare_migration);
	tcase_set_timeout(tc, 120);
	suite_add_tcase(s, tc);
	return test_run_suite(s);
}
