/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * hvctl policy migrate-check: can a guest created on host A with a policy
 * move to host B by live migration, and back?  Offline, on the two
 * hosts' dumps as hvcore models them: the policy's evaluation on the
 * source gives the guest CPUID, which the destination's KVM must back
 * field by field (hvcore/migrate.c has the rules).
 */

#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include <hvcore/fleet.h>
#include <proto/policy.h>

#include "host.h"
#include "online.h"
#include "output.h"

/* One direction: the evaluation on the source, and the check on the destination. */
struct direction {
	const struct hvctl_host *from, *to;
	struct hv_policy_target from_target, to_target;
	struct caps_evaluation ev;
	struct hv_migrate_result res;
};

static bool direction_is_ok(const struct direction *d)
{
	return d->ev.accepted && d->res.ok;
}

static int direction_run(struct direction *d, const struct caps_policy *pol, enum caps_names names)
{
	int r;

	hvctl_host_policy_target(d->from, &d->from_target);
	hvctl_host_policy_target(d->to, &d->to_target);
	r = hv_policy_evaluate(pol, &d->from_target, names, &d->ev);
	if (r < 0)
		return r;
	if (!d->ev.accepted) {
		d->res.ok = false;	/* no guest to move */
		return 0;
	}
	return hv_migrate_check(&d->ev.guest_cpuid, &d->to_target, names, &d->res);
}

/* "EAX[7:0]", "EBX[16]". */
static void bits_label(const struct hv_migrate_blocker *b, char *buf, size_t size)
{
	char reg[4];

	for (int i = 0; i < 3; i++)
		reg[i] = (char)(caps_reg_name(b->reg)[i] - 'a' + 'A');
	reg[3] = '\0';
	if (b->lsb == b->msb)
		snprintf(buf, size, "%s[%u]", reg, b->lsb);
	else
		snprintf(buf, size, "%s[%u:%u]", reg, b->msb, b->lsb);
}

static struct json_object *blocker_json(const struct hv_migrate_blocker *b)
{
	struct json_object *o = json_object_new_object();
	char bits[16];

	if (!o)
		return NULL;
	bits_label(b, bits, sizeof(bits));
	json_object_object_add(o, "feature", json_object_new_string(b->feature));
	json_object_object_add(o, "rule", json_object_new_string(hv_migrate_rule_name(b->rule)));
	json_object_object_add(o, "field", json_object_new_string(b->field));
	json_object_object_add(o, "function", json_object_new_int64(b->function));
	json_object_object_add(o, "index", json_object_new_int64(b->index));
	json_object_object_add(o, "register", json_object_new_string(caps_reg_name(b->reg)));
	json_object_object_add(o, "bits", json_object_new_string_len(strchr(bits, '[') + 1,
								     (int)strlen(strchr(bits, '[') + 1) - 1));
	if (b->rule == HV_MIGRATE_SAME_VENDOR) {
		json_object_object_add(o, "source", json_object_new_string(b->source_vendor));
		json_object_object_add(o, "destination", json_object_new_string(b->destination_vendor));
	} else {
		json_object_object_add(o, "source", json_object_new_int64((int64_t)b->source));
		json_object_object_add(o, "destination", json_object_new_int64((int64_t)b->destination));
	}
	if (b->has_reason) {
		json_object_object_add(o, "reason", json_object_new_string(hv_reason_name((enum hv_reason)b->reason)));
		json_object_object_add(o, "reason_detail",
				       b->reason_detail ? json_object_new_string(b->reason_detail) : NULL);
	}
	json_object_object_add(o, "detail", json_object_new_string(b->detail));
	return o;
}

static struct json_object *direction_json(const struct direction *d, enum caps_names names)
{
	struct json_object *o = json_object_new_object(), *ev, *blockers, *warnings;
	size_t n = d->res.n_blockers < HV_MIGRATE_MAX_BLOCKERS ? d->res.n_blockers : HV_MIGRATE_MAX_BLOCKERS;

	if (!o)
		return NULL;
	ev = proto_evaluation_to_json(&d->ev, names);
	json_object_object_add(o, "ok", json_object_new_boolean(direction_is_ok(d)));
	json_object_object_add(o, "source_verdict", json_object_new_string(d->ev.accepted ? "accepted" : "rejected"));
	json_object_object_add(o, "source_problems", json_object_get(hvctl_json_get(ev, "problems")));
	json_object_put(ev);
	blockers = json_object_new_array();
	warnings = json_object_new_array();
	for (size_t i = 0; d->ev.accepted && blockers && i < n; i++)
		json_object_array_add(blockers, blocker_json(&d->res.blockers[i]));
	for (size_t i = 0; d->ev.accepted && warnings && i < d->res.n_warnings; i++) {
		struct json_object *w = json_object_new_object();

		json_object_object_add(w, "feature", json_object_new_string(d->res.warnings[i].feature));
		json_object_object_add(w, "reason", json_object_new_string(d->res.warnings[i].reason));
		json_object_object_add(w, "detail", json_object_new_string(d->res.warnings[i].detail));
		json_object_array_add(warnings, w);
	}
	json_object_object_add(o, "blockers", blockers);
	json_object_object_add(o, "warnings", warnings);
	return o;
}

static int print_json(const char *a, const char *b, const struct caps_policy *pol, const struct direction *ab,
		      const struct direction *ba, enum caps_names names)
{
	struct json_object *o = json_object_new_object();
	int r;

	if (!o)
		return -ENOMEM;
	json_object_object_add(o, "from", json_object_new_string(a));
	json_object_object_add(o, "to", json_object_new_string(b));
	json_object_object_add(o, "policy", proto_policy_to_json(pol));
	json_object_object_add(o, "a_to_b", direction_json(ab, names));
	json_object_object_add(o, "b_to_a", direction_json(ba, names));
	r = hvctl_json_print(o);
	json_object_put(o);
	return r;
}

static void print_direction(const char *label, const char *from, const struct direction *d)
{
	size_t n = d->res.n_blockers < HV_MIGRATE_MAX_BLOCKERS ? d->res.n_blockers : HV_MIGRATE_MAX_BLOCKERS;

	if (!d->ev.accepted) {
		printf("%s  NO: the policy is rejected on %s (%zu problem%s)\n", label, from, d->ev.n_problems,
		       d->ev.n_problems == 1 ? "" : "s");
		for (size_t i = 0; i < d->ev.n_problems && i < CAPS_EVAL_MAX_PROBLEMS; i++)
			printf("  problem: %s%s%s\n", d->ev.problems[i].feature,
			       d->ev.problems[i].feature[0] ? ": " : "", d->ev.problems[i].detail);
		return;
	}
	if (d->res.ok)
		printf("%s  OK\n", label);
	else
		printf("%s  NO: %zu blocker%s\n", label, d->res.n_blockers, d->res.n_blockers == 1 ? "" : "s");
	if (n)
		printf("  %-20s %-14s %-34s %10s %10s\n", "FEATURE", "RULE", "FIELD", "GUEST", "DEST");
	for (size_t i = 0; i < n; i++) {
		const struct hv_migrate_blocker *b = &d->res.blockers[i];
		char where[64], bits[16], gv[24], dv[24];

		bits_label(b, bits, sizeof(bits));
		if (b->rule == HV_MIGRATE_SAME_VENDOR) {
			snprintf(where, sizeof(where), "vendor (CPUID 0x0)");
			snprintf(gv, sizeof(gv), "%s", b->source_vendor);
			snprintf(dv, sizeof(dv), "%s", b->destination_vendor);
		} else {
			snprintf(where, sizeof(where), "0x%x.%u %s", b->function, b->index, bits);
			snprintf(gv, sizeof(gv), "%llu", (unsigned long long)b->source);
			snprintf(dv, sizeof(dv), "%llu", (unsigned long long)b->destination);
		}
		printf("  %-20s %-14s %-34s %10s %10s", b->feature, hv_migrate_rule_name(b->rule),
		       strcmp(b->field, "feature bit") == 0 ? where : b->field, gv, dv);
		if (b->has_reason) {
			const struct hv_feature_status s = { .reason = b->reason, .detail = b->reason_detail };
			char why[160];

			printf("  %s", hv_feature_status_string(&s, why, sizeof(why)));
		}
		printf("\n");
	}
	for (size_t i = 0; i < d->res.n_warnings; i++)
		printf("  warning: %s: %s\n", d->res.warnings[i].feature, d->res.warnings[i].detail);
}

static void print_human(const char *a, const char *b, const struct caps_policy *pol, const struct direction *ab,
			const struct direction *ba)
{
	printf("A:       %s\n", a);
	printf("B:       %s\n", b);
	printf("policy:  %s (base %s%s)\n", pol->name[0] ? pol->name : "(unnamed)",
	       caps_policy_base_to_string(pol->base), pol->migratable ? ", migratable" : "");
	print_direction("A -> B:", "A", ab);
	print_direction("B -> A:", "B", ba);
}

static int policy_migrate_check_run(int argc, char **argv)
{
	static const struct option options[] = {
		{ "help",  no_argument,       NULL, 'h' },
		{ "json",  no_argument,       NULL, 'j' },
		{ "names", required_argument, NULL, 'n' },
		{ "from",  required_argument, NULL, 'f' },
		{ "to",    required_argument, NULL, 't' },
		{ "param", required_argument, NULL, 'p' },
		{ 0 }
	};
	const struct hvctl_command *cmd = &hvctl_cmd_policy_migrate_check;
	enum caps_names names = CAPS_NAMES_LINUX;
	struct hvctl_params params = { .n = 0 };
	const char *from = NULL, *to = NULL;
	struct hvctl_host *hosts = NULL;
	struct direction *dirs = NULL;
	struct caps_policy *pol;
	bool json = false;
	int opt, r;

	while ((opt = getopt_long(argc, argv, ":hjn:f:t:p:", options, NULL)) != -1) {
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
		case 'f':
			from = optarg;
			break;
		case 't':
			to = optarg;
			break;
		case 'p':
			if (hvctl_params_add(cmd, &params, optarg))
				return HVCTL_EXIT_USAGE;
			break;
		default:
			return hvctl_getopt_error(cmd, opt, argv);
		}
	}
	if (!from || !to)
		return hvctl_usage_error(cmd, "both --from and --to are required");
	if (argc - optind > 1)
		return hvctl_usage_error(cmd, "one POLICY at most");

	pol = malloc(sizeof(*pol));
	if (!pol) {
		fprintf(stderr, "%s: out of memory\n", hvctl_who(cmd));
		return HVCTL_EXIT_FAILURE;
	}
	if (argc - optind == 1) {
		r = hvctl_policy_read(cmd, argv[optind], pol);
		if (r)
			goto out;
	} else {
		/* A guest created on A as `-cpu host,migratable=on` would be. */
		caps_policy_init(pol);
		pol->base = CAPS_POLICY_BASE_HOST;
	}
	hosts = calloc(2, sizeof(*hosts));
	dirs = calloc(2, sizeof(*dirs));
	if (!hosts || !dirs) {
		r = -ENOMEM;
		goto fail;
	}
	r = hvctl_host_model(cmd, &hosts[0], from, &params);
	if (r == 0)
		r = hvctl_host_model(cmd, &hosts[1], to, &params);
	if (r)
		goto out;
	dirs[0].from = &hosts[0];
	dirs[0].to = &hosts[1];
	dirs[1].from = &hosts[1];
	dirs[1].to = &hosts[0];
	for (int i = 0; i < 2; i++) {
		r = direction_run(&dirs[i], pol, names);
		if (r < 0)
			goto fail;
	}
	if (json) {
		r = print_json(from, to, pol, &dirs[0], &dirs[1], names);
		if (r < 0)
			goto fail;
	} else {
		print_human(from, to, pol, &dirs[0], &dirs[1]);
	}
	r = direction_is_ok(&dirs[0]) ? HVCTL_EXIT_OK : HVCTL_EXIT_FAILURE;
out:
	free(dirs);
	free(hosts);
	free(pol);
	return r;
fail:
	fprintf(stderr, "%s: cannot check: %s\n", hvctl_who(cmd), strerror(-r));
	r = HVCTL_EXIT_FAILURE;
	goto out;
}

const struct hvctl_command hvctl_cmd_policy_migrate_check = {
	.group = "policy",
	.name = "migrate-check",
	.synopsis = "--from FILE --to FILE [POLICY] [--param K=V]... [--names linux|qemu] [--json]",
	.summary = "Can a guest created on host A move to host B by live migration, and back",
	.help =
		"Both hosts, A (--from) and B (--to), are raw CPUID dumps (libvirt XML, 'cpuid\n"
		"-r' text or hvcap JSON), modelled offline as 'hvctl policy check\n"
		"--host-dump' does.  The guest is POLICY evaluated on A (default: base host,\n"
		"migratable); its CPUID must be backed by KVM on B field by field: every\n"
		"feature bit supported there (bit_subset), no invtsc (not_migratable),\n"
		"MAXPHYADDR, GuestPhysBits, the AVX10 version and the PMU's counters not\n"
		"greater than B's (not_greater), XSAVE component sizes, offsets and alignment,\n"
		"RapSize and the AMX palette equal (equal), the same vendor (same_vendor).\n"
		"Every blocker names the feature, the rule, the field and both values.  The\n"
		"answer is given both ways: A to B, and B to A with the policy evaluated on B.\n"
		"\n"
		"  -f, --from FILE       the dump of host A, where the guest is created\n"
		"  -t, --to FILE         the dump of host B, where it moves to\n"
		"  -p, --param K=V       a host parameter for both dumps ('hvctl host model\n"
		"                        --help' lists them)\n"
		"  -n, --names STYLE     linux (default) or qemu feature names\n"
		"  -j, --json            {\"from\", \"to\", \"policy\", \"a_to_b\": {\"ok\",\n"
		"                        \"source_verdict\", \"source_problems\", \"blockers\": [{\"feature\",\n"
		"                        \"rule\", \"field\", \"function\", \"index\", \"register\", \"bits\",\n"
		"                        \"source\", \"destination\", \"reason\"?, \"detail\"}],\n"
		"                        \"warnings\"}, \"b_to_a\": {...}}\n"
		"  -h, --help            show this help\n"
		"\n"
		"Exit status: 0 the guest can move from A to B, 1 it cannot (or the policy is\n"
		"rejected on A, or a dump is unreadable), 2 usage error or an unreadable policy.\n",
	.run = policy_migrate_check_run,
};
