/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* hvctl policy check: will this vCPU feature policy run on this host, and if not, why not. */

#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include <libcaps/dump.h>
#include <libcaps/file.h>
#include <proto/policy.h>

#include "host.h"
#include "online.h"
#include "output.h"

static void print_location(struct json_object *p)
{
	if (hvctl_json_get(p, "msr"))
		printf(" [MSR 0x%llx bit %lld]", (long long)hvctl_json_int(p, "msr"),
		       (long long)hvctl_json_int(p, "bit"));
	else if (hvctl_json_get(p, "function"))
		printf(" [CPUID 0x%llx.%lld %s bit %lld]", (long long)hvctl_json_int(p, "function"),
		       (long long)hvctl_json_int(p, "index"), hvctl_json_str(p, "register"),
		       (long long)hvctl_json_int(p, "bit"));
}

static void print_list(struct json_object *a)
{
	size_t n = a ? json_object_array_length(a) : 0;

	for (size_t i = 0; i < n; i++)
		printf(" %s", json_object_get_string(json_object_array_get_idx(a, i)));
	printf("%s\n", n ? "" : " none");
}

/* The evaluation (the JSON of io.hvcap.Policy.Validate, from the daemon or computed here) in words. */
static void print_human(const struct caps_policy *pol, const char *host, struct json_object *ev,
			enum caps_names names)
{
	struct json_object *problems = hvctl_json_get(ev, "problems");
	struct json_object *warnings = hvctl_json_get(ev, "warnings");
	struct json_object *guest = hvctl_json_get(ev, "guest"), *controls = hvctl_json_get(ev, "controls");
	struct json_object *erap = hvctl_json_get(controls, "erap_ctl"), *cpuid = hvctl_json_get(guest, "cpuid");
	size_t n_problems = problems ? json_object_array_length(problems) : 0;
	struct caps features;

	printf("policy:   %s (base %s, %u vCPU%s, %s%s)\n", pol->name[0] ? pol->name : "(unnamed)",
	       caps_policy_base_to_string(pol->base), pol->vcpus, pol->vcpus == 1 ? "" : "s",
	       pol->apic == CAPS_POLICY_APIC_X2APIC ? "x2APIC" : "xAPIC",
	       pol->migratable ? ", migratable" : "");
	printf("host:     %s\n", host);
	printf("verdict:  %s", hvctl_json_str(ev, "verdict") && strcmp(hvctl_json_str(ev, "verdict"), "accepted") == 0 ?
	       "ACCEPTED" : "REJECTED");
	if (n_problems)
		printf(" (%zu problem%s)", n_problems, n_problems == 1 ? "" : "s");
	printf("\n");
	for (size_t i = 0; i < n_problems; i++) {
		struct json_object *p = json_object_array_get_idx(problems, i);
		const char *policy = hvctl_json_str(p, "policy"), *rule = hvctl_json_str(p, "rule");

		printf("  problem: %s%s%s%s: %s%s%s%s", hvctl_json_str(p, "feature"), policy ? " (" : "",
		       policy ? policy : "", policy ? ")" : "", hvctl_json_str(p, "reason"), rule ? " [" : "",
		       rule ? rule : "", rule ? "]" : "");
		print_location(p);
		printf("\n           %s\n", hvctl_json_str(p, "detail"));
	}
	for (size_t i = 0; warnings && i < json_object_array_length(warnings); i++) {
		struct json_object *w = json_object_array_get_idx(warnings, i);
		const char *feature = hvctl_json_str(w, "feature") ? hvctl_json_str(w, "feature") : "";

		printf("  warning: %s%s%s\n           %s\n", feature, feature[0] ? ": " : "",
		       hvctl_json_str(w, "reason"), hvctl_json_str(w, "detail"));
	}
	hvctl_json_features(hvctl_json_get(guest, "features"), &features, NULL);
	printf("guest:    %u features, MAXPHYADDR %lld, %zu CPUID entries for KVM_SET_CPUID2\n",
	       caps_weight(&features), (long long)hvctl_json_int(guest, "phys_bits"),
	       cpuid ? json_object_array_length(cpuid) : 0);
	hvctl_print_features(&features, names);
	printf("controls: erap_ctl: allow_larger_rap=%s clear_rap=%s\n",
	       hvctl_json_bool(erap, "allow_larger_rap") ? "yes" : "no",
	       hvctl_json_bool(erap, "clear_rap") ? "yes" : "no");
	printf("          APIC access memslot: %s\n", hvctl_json_str(controls, "apic_access_memslot"));
	printf("          APICv inhibits:");
	print_list(hvctl_json_get(controls, "apicv_inhibits"));
	printf("          CR3 LAM bits:");
	print_list(hvctl_json_get(controls, "cr3_lam_bits"));
	printf("          SNP-safe control pages: %s\n",
	       hvctl_json_bool(controls, "snp_safe_control_pages") ? "yes" : "no");
}

/*
 * Ask hvcapd (io.hvcap.Policy.Validate): 0 with *ret the evaluation, an
 * exit status, or -1 when no daemon answers.
 */
static int check_online(const struct hvctl_command *cmd, const struct caps_policy *pol,
			enum caps_names names, char *host, size_t size, struct json_object **ret)
{
	struct hvctl_online o;
	struct json_object *p;
	int r;

	r = hvctl_online_connect(cmd, &o, true);
	if (r < 0)
		return hvctl_online_fallback(cmd, &o, r, "checking against this machine's KVM directly");
	p = json_object_new_object();
	if (p) {
		json_object_object_add(p, "policy", proto_policy_to_json(pol));
		json_object_object_add(p, "names", json_object_new_string(names == CAPS_NAMES_QEMU ? "qemu" : "linux"));
	}
	r = hvctl_online_call(cmd, &o, "io.hvcap.Policy.Validate", p, ret);
	snprintf(host, size, "hvcapd at %s", o.address);
	hvctl_online_close(&o);
	return r;
}

/*
 * Have hvcapd evaluate the policy against a dump (io.hvcap.Policy.Compare):
 * 0 with *ret the evaluation, or an exit status.
 */
static int check_compare(const struct hvctl_command *cmd, const struct caps_policy *pol, const char *dump,
			 const struct hvctl_params *params, enum caps_names names, char *host,
			 size_t size, struct json_object **ret)
{
	struct json_object *p, *kv;
	struct hvctl_online o;
	size_t len;
	char *text;
	int r;

	r = caps_read_file(dump, CAPS_DUMP_MAX_BYTES, &text, &len);
	if (r < 0) {
		fprintf(stderr, "%s: %s: %s\n", hvctl_who(cmd), dump, strerror(-r));
		return HVCTL_EXIT_FAILURE;
	}
	p = json_object_new_object();
	kv = json_object_new_object();
	if (p && kv) {
		for (size_t i = 0; i < params->n; i++) {
			const char *eq = strchr(params->kv[i], '=');
			char key[HVCTL_PARAM_KEY_MAX];

			snprintf(key, sizeof(key), "%.*s", (int)(eq - params->kv[i]), params->kv[i]);
			json_object_object_add(kv, key, json_object_new_string(eq + 1));
		}
		json_object_object_add(p, "policy", proto_policy_to_json(pol));
		json_object_object_add(p, "dump", json_object_new_string_len(text, (int)len));
		json_object_object_add(p, "params", kv);
		kv = NULL;
		json_object_object_add(p, "names", json_object_new_string(names == CAPS_NAMES_QEMU ? "qemu" : "linux"));
	}
	json_object_put(kv);
	free(text);
	r = hvctl_online_open(cmd, &o);
	if (r) {
		json_object_put(p);
		return r;
	}
	r = hvctl_online_call(cmd, &o, "io.hvcap.Policy.Compare", p, ret);
	snprintf(host, size, "%s, modelled by hvcapd at %s", dump, o.address);
	hvctl_online_close(&o);
	return r;
}

/* Evaluate here: against a dump's model, this machine's KVM, or its model. */
static int check_offline(const struct hvctl_command *cmd, const struct caps_policy *pol, const char *dump,
			 const struct hvctl_params *params, enum caps_names names, char *host,
			 size_t size, struct json_object **ret)
{
	struct hv_policy_target target;
	struct caps_evaluation *ev;
	struct hvctl_host *h;
	int r;

	ev = malloc(sizeof(*ev));
	h = calloc(1, sizeof(*h));
	if (!ev || !h) {
		r = -ENOMEM;
		goto fail;
	}
	if (dump) {
		r = hvctl_host_model(cmd, h, dump, params);
	} else {
		r = hvctl_host_this_machine(cmd, h);
	}
	if (r != 0)
		goto out;
	snprintf(host, size, "%s (%s, %s, kernel %s)", h->source, caps_backend_to_string(h->record->backend),
		 h->record->vendor_module, h->record->kernel_release);
	hvctl_host_policy_target(h, &target);
	r = hv_policy_evaluate(pol, &target, names, ev);
	if (r < 0)
		goto fail;
	*ret = proto_evaluation_to_json(ev, names);
	r = *ret ? 0 : -ENOMEM;
	if (r < 0)
		goto fail;
out:
	free(ev);
	free(h);
	return r;
fail:
	fprintf(stderr, "hvctl policy check: cannot evaluate: %s\n", strerror(-r));
	r = HVCTL_EXIT_FAILURE;
	goto out;
}

static int policy_check_run(int argc, char **argv)
{
	static const struct option options[] = {
		{ "help",      no_argument,       NULL, 'h' },
		{ "json",      no_argument,       NULL, 'j' },
		{ "names",     required_argument, NULL, 'n' },
		{ "host-dump", required_argument, NULL, 'd' },
		{ "param",     required_argument, NULL, 'p' },
		{ "daemon",    no_argument,       NULL, 'D' },
		{ 0 }
	};
	const struct hvctl_command *cmd = &hvctl_cmd_policy_check;
	enum caps_names names = CAPS_NAMES_LINUX;
	struct hvctl_params params = { .n = 0 };
	struct json_object *ev = NULL;
	struct caps_policy *pol;
	const char *dump = NULL;
	bool json = false, daemon = false;
	char host[512];
	int opt, r;

	while ((opt = getopt_long(argc, argv, ":hjn:d:p:D", options, NULL)) != -1) {
		switch (opt) {
		case 'd':
			dump = optarg;
			break;
		case 'D':
			daemon = true;
			break;
		default:
			r = hvctl_host_option(cmd, opt, argv, &json, &names, &params);
			if (r != HVCTL_OPTION_TAKEN)
				return r;
			break;
		}
	}
	if (argc - optind != 1)
		return hvctl_usage_error(cmd, argc == optind ? "POLICY is required" : "one POLICY only");
	if (daemon && !dump)
		return hvctl_usage_error(cmd, "--daemon goes with --host-dump (without it hvcapd is asked anyway)");
	if (!dump && params.n)
		return hvctl_usage_error(cmd, "--param describes a --host-dump; this machine is probed as it is");

	pol = malloc(sizeof(*pol));
	if (!pol) {
		fprintf(stderr, "hvctl policy check: out of memory\n");
		return HVCTL_EXIT_FAILURE;
	}
	r = hvctl_policy_read(cmd, argv[optind], pol);
	if (r)
		goto out;
	if (daemon)
		r = check_compare(cmd, pol, dump, &params, names, host, sizeof(host), &ev);
	else
		r = dump ? -1 : check_online(cmd, pol, names, host, sizeof(host), &ev);
	if (r < 0)
		r = check_offline(cmd, pol, dump, &params, names, host, sizeof(host), &ev);
	if (r)
		goto out;
	r = strcmp(hvctl_json_str(ev, "verdict") ? hvctl_json_str(ev, "verdict") : "", "accepted") == 0 ?
		HVCTL_EXIT_OK : HVCTL_EXIT_FAILURE;
	if (json) {
		if (hvctl_json_print(ev) < 0) {
			fprintf(stderr, "hvctl policy check: out of memory\n");
			r = HVCTL_EXIT_FAILURE;
		}
	} else {
		print_human(pol, host, ev, names);
	}
out:
	json_object_put(ev);
	free(pol);
	return r;
}

const struct hvctl_command hvctl_cmd_policy_check = {
	.group = "policy",
	.name = "check",
	.synopsis = "POLICY [--host-dump FILE [--param K=V]... [--daemon]] [--names linux|qemu] [--json]",
	.summary = "Will this vCPU feature policy run here, what the guest gets, and if not, why not",
	.help =
		"POLICY is a JSON document (DESIGN.md §4; examples/*.json): name, vendor,\n"
		"base (none, host, x86-64-v1..v4), features (name: force, require, optional,\n"
		"disable or forbid), vcpus, apic (xapic, x2apic), phys_bits, migratable.\n"
		"Without --host-dump it is checked by hvcapd (io.hvcap.Policy.Validate); when\n"
		"no hvcapd answers, hvctl says so and checks it against this machine's KVM\n"
		"itself (or the model of this machine's CPU when /dev/kvm is not usable).\n"
		"With --host-dump it is checked offline against the modelled host (or, with\n"
		"--daemon, by hvcapd).\n"
		"\n"
		"  -d, --host-dump FILE  check against the modelled host of this raw CPUID dump\n"
		"  -p, --param K=V       a host parameter for --host-dump ('hvctl host model\n"
		"                        --help' lists them)\n"
		"  -D, --daemon          with --host-dump: have hvcapd model the dump and\n"
		"                        evaluate (io.hvcap.Policy.Compare)\n"
		"  -n, --names STYLE     linux (default) or qemu feature names\n"
		"  -j, --json            the evaluation: verdict, problems, warnings, guest\n"
		"                        (features, cpuid, phys_bits) and controls\n"
		"  -h, --help            show this help\n"
		"\n"
		"Exit status: 0 accepted, 1 rejected (or the host could not be read), 2 usage\n"
		"error or an unreadable policy (the JSON path of the bad field is named).\n",
	.run = policy_check_run,
};
