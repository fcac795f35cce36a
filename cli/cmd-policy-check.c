/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* hvctl policy check: will this vCPU feature policy run on this host, and if not, why not. */

#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include <proto/policy.h>

#include "host.h"
#include "output.h"

static void print_location(const struct caps_eval_location *w)
{
	if (!w->valid)
		return;
	if (w->msr)
		printf(" [MSR 0x%x bit %u]", w->function, w->bit);
	else
		printf(" [CPUID 0x%x.%u %s bit %u]", w->function, w->index, caps_reg_name(w->reg), w->bit);
}

static void print_human(const struct caps_policy *pol, const struct hvctl_host *h,
			const struct caps_evaluation *ev, enum caps_names names)
{
	unsigned n = 0;

	printf("policy:   %s (base %s, %u vCPU%s, %s%s)\n", pol->name[0] ? pol->name : "(unnamed)",
	       caps_policy_base_to_string(pol->base), pol->vcpus, pol->vcpus == 1 ? "" : "s",
	       pol->apic == CAPS_POLICY_APIC_X2APIC ? "x2APIC" : "xAPIC",
	       pol->migratable ? ", migratable" : "");
	printf("host:     %s (%s, %s, kernel %s)\n", h->source, caps_backend_to_string(h->record->backend),
	       h->record->vendor_module, h->record->kernel_release);
	printf("verdict:  %s", ev->accepted ? "ACCEPTED" : "REJECTED");
	if (ev->n_problems)
		printf(" (%zu problem%s)", ev->n_problems, ev->n_problems == 1 ? "" : "s");
	printf("\n");
	for (size_t i = 0; i < ev->n_problems; i++) {
		const struct caps_eval_problem *p = &ev->problems[i];

		printf("  problem: %s%s%s%s: %s%s%s%s", p->feature, p->has_policy ? " (" : "",
		       p->has_policy ? caps_feature_policy_to_string(p->policy) : "", p->has_policy ? ")" : "",
		       p->reason, p->rule[0] ? " [" : "", p->rule, p->rule[0] ? "]" : "");
		print_location(&p->where);
		printf("\n           %s\n", p->detail);
	}
	for (size_t i = 0; i < ev->n_warnings; i++) {
		const struct caps_eval_warning *w = &ev->warnings[i];

		printf("  warning: %s%s%s\n           %s\n", w->feature, w->feature[0] ? ": " : "", w->reason,
		       w->detail);
	}
	caps_for_each(f, &ev->guest_features)
		n += caps_feature_info(f) != NULL;
	printf("guest:    %u features, MAXPHYADDR %d, %zu CPUID entries for KVM_SET_CPUID2\n", n,
	       ev->guest_phys_bits, ev->guest_cpuid.nent);
	hvctl_print_features(&ev->guest_features, names);
	printf("controls: erap_ctl: allow_larger_rap=%s clear_rap=%s\n",
	       ev->erap_allow_larger_rap ? "yes" : "no", ev->erap_clear_rap ? "yes" : "no");
	printf("          APIC access memslot: %s\n", caps_eval_memslot_to_string(ev->apic_access_memslot));
	printf("          APICv inhibits:");
	for (size_t i = 0; i < ev->n_apicv_inhibits; i++)
		printf(" %s", ev->apicv_inhibits[i]);
	printf("%s\n", ev->n_apicv_inhibits ? "" : " none");
	printf("          CR3 LAM bits: %s\n", ev->cr3_lam_u48 ? "lam_u48 lam_u57" : "none");
	printf("          SNP-safe control pages: %s\n", ev->snp_safe_control_pages ? "yes" : "no");
}

static int policy_check_run(int argc, char **argv)
{
	static const struct option options[] = {
		{ "help",      no_argument,       NULL, 'h' },
		{ "json",      no_argument,       NULL, 'j' },
		{ "names",     required_argument, NULL, 'n' },
		{ "host-dump", required_argument, NULL, 'd' },
		{ "param",     required_argument, NULL, 'p' },
		{ 0 }
	};
	const struct hvctl_command *cmd = &hvctl_cmd_policy_check;
	enum caps_names names = CAPS_NAMES_LINUX;
	struct hvctl_params params = { .n = 0 };
	struct proto_error perr = { { 0 } };
	struct hv_policy_target target;
	const char *dump = NULL, *path;
	struct caps_policy *pol = NULL;
	struct caps_evaluation *ev = NULL;
	struct hvctl_host *h = NULL;
	bool json = false;
	int opt, r;

	while ((opt = getopt_long(argc, argv, ":hjn:d:p:", options, NULL)) != -1) {
		switch (opt) {
		case 'h':
			hvctl_command_help(cmd, stdout);
			return HVCTL_EXIT_OK;
		case 'j':
			json = true;
			break;
		case 'n':
			if (hvctl_parse_names(cmd, optarg, &names))
				return HVCTL_EXIT_USAGE;
			break;
		case 'd':
			dump = optarg;
			break;
		case 'p':
			if (hvctl_params_add(cmd, &params, optarg))
				return HVCTL_EXIT_USAGE;
			break;
		default:
			return hvctl_getopt_error(cmd, opt, argv);
		}
	}
	if (argc - optind != 1)
		return hvctl_usage_error(cmd, argc == optind ? "POLICY is required" : "one POLICY only");
	if (!dump && params.n)
		return hvctl_usage_error(cmd, "--param describes a --host-dump; this machine is probed as it is");
	path = argv[optind];

	pol = malloc(sizeof(*pol));
	ev = malloc(sizeof(*ev));
	h = calloc(1, sizeof(*h));
	if (!pol || !ev || !h) {
		fprintf(stderr, "hvctl policy check: out of memory\n");
		r = HVCTL_EXIT_FAILURE;
		goto out;
	}
	r = proto_policy_read_file(path, pol, &perr);
	if (r < 0) {
		/* An unreadable policy is a usage error: the input is the command's argument. */
		fprintf(stderr, "hvctl policy check: %s: %s%s%s\n", path, perr.path[0] ? perr.path : "",
			perr.path[0] ? ": " : "", perr.message[0] ? perr.message : strerror(-r));
		r = HVCTL_EXIT_USAGE;
		goto out;
	}

	if (dump) {
		r = hvctl_host_model(cmd, h, dump, &params);
	} else {
		r = hvctl_host_probe(cmd, h, true);
		if (r == -EIO) {
			r = HVCTL_EXIT_FAILURE;
		} else if (r < 0) {
			fprintf(stderr, "hvctl policy check: no usable /dev/kvm (%s): using the model of this machine's CPU\n",
				strerror(-r));
			memset(h, 0, sizeof(*h));
			r = hvctl_host_model_self(cmd, h);
		}
	}
	if (r != 0)
		goto out;

	hvctl_host_policy_target(h, &target);
	r = hv_policy_evaluate(pol, &target, names, ev);
	if (r < 0) {
		fprintf(stderr, "hvctl policy check: cannot evaluate: %s\n", strerror(-r));
		r = HVCTL_EXIT_FAILURE;
		goto out;
	}
	if (json) {
		struct json_object *o = proto_evaluation_to_json(ev, names);

		if (!o || hvctl_json_print(o) < 0) {
			fprintf(stderr, "hvctl policy check: out of memory\n");
			json_object_put(o);
			r = HVCTL_EXIT_FAILURE;
			goto out;
		}
		json_object_put(o);
	} else {
		print_human(pol, h, ev, names);
	}
	r = ev->accepted ? HVCTL_EXIT_OK : HVCTL_EXIT_FAILURE;
out:
	free(pol);
	free(ev);
	free(h);
	return r;
}

const struct hvctl_command hvctl_cmd_policy_check = {
	.group = "policy",
	.name = "check",
	.synopsis = "POLICY [--host-dump FILE [--param K=V]...] [--names linux|qemu] [--json]",
	.summary = "Will this vCPU feature policy run here, what the guest gets, and if not, why not",
	.help =
		"POLICY is a JSON document (DESIGN.md §4; examples/*.json): name, vendor,\n"
		"base (none, host, x86-64-v1..v4), features (name: force, require, optional,\n"
		"disable or forbid), vcpus, apic (xapic, x2apic), phys_bits, migratable.\n"
		"Without --host-dump it is checked against this machine's KVM (or the model\n"
		"of this machine's CPU when /dev/kvm is not usable).\n"
		"\n"
		"  -d, --host-dump FILE  check against the modelled host of this raw CPUID dump\n"
		"  -p, --param K=V       a host parameter for --host-dump ('hvctl host model\n"
		"                        --help' lists them)\n"
		"  -n, --names STYLE     linux (default) or qemu feature names\n"
		"  -j, --json            the evaluation: verdict, problems, warnings, guest\n"
		"                        (features, cpuid, phys_bits) and controls\n"
		"  -h, --help            show this help\n"
		"\n"
		"Exit status: 0 accepted, 1 rejected (or the host could not be read), 2 usage\n"
		"error or an unreadable policy (the JSON path of the bad field is named).\n",
	.run = policy_check_run,
};
