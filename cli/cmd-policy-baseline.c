/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * hvctl policy baseline: the richest policy every host of a set accepts
 * (offline, on the hosts' dumps as hvcore models them), and which host
 * withholds which feature, and why.
 */

#include <errno.h>
#include <getopt.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <hvcore/fleet.h>
#include <proto/host.h>
#include <proto/policy.h>

#include "host.h"
#include "output.h"

/* Everything one run needs, on the heap: HV_BASELINE_MAX_HOSTS modelled hosts are large. */
struct run {
	size_t n;
	const char *names[HV_BASELINE_MAX_HOSTS];
	struct hvctl_host *hosts;		/* n */
	struct hv_policy_target targets[HV_BASELINE_MAX_HOSTS];
	bool from_record[HV_BASELINE_MAX_HOSTS];
	char labels[HV_BASELINE_MAX_HOSTS][256];	/* a record's hostname or fingerprint */
	struct hv_baseline b;
};

/*
 * Host i came as a host record: name it by its hostname, or its
 * fingerprint when it has none or an earlier host has that name (then by
 * its file).
 */
static void name_record(struct run *run, size_t i)
{
	const struct hvctl_host *h = &run->hosts[i];
	const char *label = h->hostname;

	for (size_t k = 0; label && k < i; k++)
		if (strcmp(run->names[k], label) == 0)
			label = NULL;
	snprintf(run->labels[i], sizeof(run->labels[i]), "%s", label ? label : h->probe.fingerprint);
	for (size_t k = 0; k < i; k++)
		if (strcmp(run->names[k], run->labels[i]) == 0)
			snprintf(run->labels[i], sizeof(run->labels[i]), "%s", run->names[i]);
	run->names[i] = run->labels[i];
	run->from_record[i] = true;
}

static void print_mixed_vendors(const struct hvctl_command *cmd, const struct run *run)
{
	fprintf(stderr, "%s: the hosts' CPUs come from different vendors:", hvctl_who(cmd));
	for (size_t i = 0; i < run->n; i++) {
		bool first = true;

		/* One line per vendor, at its first host. */
		for (size_t k = 0; k < i && first; k++)
			first = strcmp(run->b.vendors[k], run->b.vendors[i]) != 0;
		if (!first)
			continue;
		fprintf(stderr, "\n  %s:", run->b.vendors[i][0] ? run->b.vendors[i] : "(no vendor)");
		for (size_t k = i; k < run->n; k++)
			if (strcmp(run->b.vendors[k], run->b.vendors[i]) == 0)
				fprintf(stderr, "\n    %s", run->names[k]);
	}
	fprintf(stderr, "\nKVM does not live-migrate guests between vendors; give --vendor-subset for the\n"
		"features they have in common anyway.\n");
}

static int print_json(const struct run *run, enum caps_names names)
{
	const struct hv_baseline *b = &run->b;
	const char *excluded[CAPS_POLICY_MAX_FEATURES], *warnings[HV_BASELINE_MAX_WARNINGS];
	struct proto_baseline pb = {
		.policy = &b->policy, .hosts = run->names, .n_hosts = run->n,
		.excluded = excluded, .warnings = warnings,
	};
	struct proto_baseline_lack *lacks = calloc(b->n_lacks ? b->n_lacks : 1, sizeof(*lacks));
	struct json_object *o;
	int r;

	if (!lacks)
		return -ENOMEM;
	for (size_t i = 0; i < b->n_lacks; i++)
		lacks[i] = (struct proto_baseline_lack) {
			.feature = caps_feature_name(b->lacks[i].feature, names),
			.host = b->lacks[i].host,
			.reason = hv_reason_name((enum hv_reason)b->lacks[i].reason),
			.detail = b->lacks[i].detail,
			.emulated = b->lacks[i].emulated,
		};
	pb.lacks = lacks;
	pb.n_lacks = b->n_lacks;
	caps_for_each(f, &b->excluded)
		if (pb.n_excluded < sizeof(excluded) / sizeof(excluded[0]))
			excluded[pb.n_excluded++] = caps_feature_name(f, names);
	for (size_t i = 0; i < b->n_warnings; i++)
		warnings[pb.n_warnings++] = b->warnings[i];
	o = proto_baseline_to_json(&pb);
	free(lacks);
	if (!o)
		return -errno;
	r = hvctl_json_print(o);
	json_object_put(o);
	return r;
}

/* The hosts lacking one feature, from lacks[*i] on: "0 (not_in_host_cpu), 2 (needs_tdp, emulated)". */
static void print_lacks(const struct hv_baseline *b, size_t *i)
{
	int f = b->lacks[*i].feature;
	struct hvctl_wrap wrap;

	hvctl_wrap_start(&wrap, stdout, 26, 26);
	for (; *i < b->n_lacks && b->lacks[*i].feature == f; (*i)++) {
		const struct hv_baseline_lack *l = &b->lacks[*i];
		const struct hv_feature_status s = { .reason = l->reason, .detail = l->detail };
		char why[160], word[200];

		hv_feature_status_string(&s, why, sizeof(why));
		snprintf(word, sizeof(word), "%u (%s%s)%s", l->host, why, l->emulated ? ", emulated" : "",
			 *i + 1 < b->n_lacks && b->lacks[*i + 1].feature == f ? "," : "");
		hvctl_wrap_word(&wrap, word);
	}
	hvctl_wrap_end(&wrap);
}

/* A sentence wrapped under "warning:". */
static void print_warning(const char *text)
{
	struct hvctl_wrap wrap;
	char word[CAPS_EVAL_TEXT_MAX];

	printf("warning:    ");
	hvctl_wrap_start(&wrap, stdout, 12, 12);
	for (const char *p = text; *p;) {
		size_t len = strcspn(p, " ");

		snprintf(word, sizeof(word), "%.*s", (int)len, p);
		if (len)
			hvctl_wrap_word(&wrap, word);
		p += len;
		p += strspn(p, " ");
	}
	hvctl_wrap_end(&wrap);
}

static void print_human(const struct run *run, enum caps_names names)
{
	const struct hv_baseline *b = &run->b;
	const struct caps_policy *p = &b->policy;
	struct caps named, required;
	unsigned n_partial = caps_weight(&b->partial);
	int width = 0;

	caps_zero(&named);
	for (size_t i = 0; i < caps_feature_count(); i++)
		caps_set(&named, caps_feature_at(i)->id);
	for (size_t i = 0; i < run->n; i++)
		width = (int)strlen(run->names[i]) > width ? (int)strlen(run->names[i]) : width;
	printf("hosts:      %zu\n", run->n);
	for (size_t i = 0; i < run->n; i++) {
		struct caps c;

		caps_and(&c, &run->hosts[i].record->features, &named);
		printf("  %-3zu %-*s  %-12s %3u features, phys_bits %d%s\n", i, width, run->names[i], b->vendors[i],
		       caps_weight(&c), hv_supported_guest_phys_bits(&run->hosts[i].record->supported),
		       run->from_record[i] ? " (host record)" : "");
	}
	caps_zero(&required);
	for (size_t i = 0; i < p->n_features; i++)
		caps_set(&required, p->features[i].feature);
	printf("baseline:   %zu features required, phys_bits %d, vendor %s%s\n", p->n_features, p->phys_bits,
	       p->has_vendor ? p->vendor : "(any)", p->migratable ? ", migratable" : "");
	hvctl_print_features(&required, names);
	if (!caps_is_empty(&b->excluded)) {
		struct hvctl_wrap wrap;

		printf("excluded:   ");
		hvctl_wrap_start(&wrap, stdout, 12, 12);
		caps_for_each(f, &b->excluded)
			hvctl_wrap_word(&wrap, caps_feature_name(f, names));
		hvctl_wrap_word(&wrap, "(break live migration)");
		hvctl_wrap_end(&wrap);
	}
	printf("blockers:   %u feature%s some hosts' KVM supports, others not\n", n_partial, n_partial == 1 ? "" : "s");
	if (n_partial)
		printf("  %-22s  %s\n", "FEATURE", "HOSTS WITHOUT IT (reason)");
	for (size_t i = 0; i < b->n_lacks;) {
		printf("  %-22s  ", caps_feature_name(b->lacks[i].feature, names));
		print_lacks(b, &i);
	}
	for (size_t i = 0; i < b->n_warnings; i++)
		print_warning(b->warnings[i]);
}

static int policy_baseline_run(int argc, char **argv)
{
	static const struct option options[] = {
		{ "help",          no_argument,       NULL, 'h' },
		{ "json",          no_argument,       NULL, 'j' },
		{ "names",         required_argument, NULL, 'n' },
		{ "migratable",    no_argument,       NULL, 'm' },
		{ "vendor-subset", no_argument,       NULL, 'V' },
		{ "param",         required_argument, NULL, 'p' },
		{ 0 }
	};
	const struct hvctl_command *cmd = &hvctl_cmd_policy_baseline;
	enum caps_names names = CAPS_NAMES_LINUX;
	struct hvctl_params params = { .n = 0 };
	unsigned flags = 0;
	struct run *run;
	bool json = false;
	int opt, r;

	while ((opt = getopt_long(argc, argv, ":hjn:mVp:", options, NULL)) != -1) {
		switch (opt) {
		case 'm':
			flags |= HV_BASELINE_MIGRATABLE;
			break;
		case 'V':
			flags |= HV_BASELINE_VENDOR_SUBSET;
			break;
		default:
			r = hvctl_host_option(cmd, opt, argv, &json, &names, &params);
			if (r != HVCTL_OPTION_TAKEN)
				return r;
			break;
		}
	}
	if (argc == optind)
		return hvctl_usage_error(cmd, "at least one FILE (a host's dump) is required");
	if (argc - optind > HV_BASELINE_MAX_HOSTS)
		return hvctl_usage_error(cmd, "at most %d hosts", HV_BASELINE_MAX_HOSTS);

	run = calloc(1, sizeof(*run));
	if (run)
		run->hosts = calloc((size_t)(argc - optind), sizeof(*run->hosts));
	if (!run || !run->hosts) {
		r = -ENOMEM;
		goto fail;
	}
	run->n = (size_t)(argc - optind);
	for (size_t i = 0; i < run->n; i++) {
		run->names[i] = argv[optind + (int)i];
		r = hvctl_host_load(cmd, &run->hosts[i], run->names[i], &params);
		if (r)
			goto out;
		hvctl_host_policy_target(&run->hosts[i], &run->targets[i]);
		if (run->hosts[i].json)
			name_record(run, i);
	}
	r = hv_baseline_compute(run->targets, run->n, flags, names, &run->b);
	if (r < 0)
		goto fail;
	switch (run->b.outcome) {
	case HV_BASELINE_MIXED_VENDORS:
		print_mixed_vendors(cmd, run);
		r = HVCTL_EXIT_FAILURE;
		goto out;
	case HV_BASELINE_NOTHING_COMMON:
		fprintf(stderr, "%s: no feature is supported by KVM on every host\n", hvctl_who(cmd));
		r = HVCTL_EXIT_FAILURE;
		goto out;
	case HV_BASELINE_OK:
		break;
	}
	for (size_t i = 0; json && i < run->b.n_warnings; i++)
		fprintf(stderr, "%s: warning: %s\n", hvctl_who(cmd), run->b.warnings[i]);
	if (json) {
		r = print_json(run, names);
		if (r < 0)
			goto fail;
	} else {
		print_human(run, names);
	}
	r = HVCTL_EXIT_OK;
out:
	if (run) {
		hv_baseline_done(&run->b);
		for (size_t i = 0; run->hosts && i < run->n; i++)
			hvctl_host_done(&run->hosts[i]);
		free(run->hosts);
	}
	free(run);
	return r;
fail:
	fprintf(stderr, "%s: %s\n", hvctl_who(cmd), r == -E2BIG ? "the common features do not fit a policy" :
		strerror(-r));
	r = HVCTL_EXIT_FAILURE;
	goto out;
}

const struct hvctl_command hvctl_cmd_policy_baseline = {
	.group = "policy",
	.name = "baseline",
	.synopsis = "FILE... [--migratable] [--vendor-subset] [--param K=V]... [--names linux|qemu] [--json]",
	.summary = "The richest policy every host accepts, and which host withholds which feature",
	.help =
		"Each FILE is a host's raw CPUID dump (libvirt cputestdata XML, 'cpuid -r' text\n"
		"or hvcap JSON), modelled offline as 'hvctl policy check --host-dump' does, or\n"
		"a host record: a JSON object with a HostRecord under \"host\" ('hvctl host\n"
		"export --format json' on that host, or Host.Describe's reply) or the\n"
		"HostRecord itself.  A record's KVM-supported CPUID is that host's target as it\n"
		"is (no model, no --param); the host is named by its hostname, or its\n"
		"fingerprint, and its blockers carry the export's reasons (\"withheld\"), else\n"
		"not_reported_by_kvm \"in the host record\".  Dumps and records mix.  The\n"
		"baseline is a policy on base none that requires every feature KVM supports on\n"
		"all the hosts, with phys_bits the lowest guest-physical address width and the\n"
		"vendor when they share one; each blocker is a feature some hosts' KVM\n"
		"supports but not all, with the hosts that lack it and the model's reason.\n"
		"Hosts of different CPU vendors are refused unless --vendor-subset.\n"
		"\n"
		"  -m, --migratable      leave out the features that break live migration\n"
		"                        (invtsc), and mark the policy migratable\n"
		"  -V, --vendor-subset   for hosts of different vendors: their common features,\n"
		"                        naming no vendor (with a warning)\n"
		"  -p, --param K=V       a host parameter for every FILE ('hvctl host model\n"
		"                        --help' lists them)\n"
		"  -n, --names STYLE     linux (default) or qemu feature names\n"
		"  -j, --json            {\"policy\", \"blockers\": [{\"feature\", \"hosts\": [{\"host\",\n"
		"                        \"reason\", \"detail\", \"emulated\"}]}], \"hosts\", \"excluded\",\n"
		"                        \"warnings\"}; .policy is a policy 'hvctl policy check'\n"
		"                        accepts as it is\n"
		"  -h, --help            show this help\n"
		"\n"
		"Exit status: 0 a baseline, 1 hosts of different vendors (without\n"
		"--vendor-subset), no common feature, an unreadable dump or a bad host record,\n"
		"2 usage error.\n",
	.run = policy_baseline_run,
};
