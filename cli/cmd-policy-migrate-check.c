/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * hvctl policy migrate-check: can a guest created on host A with a policy
 * move to host B by live migration, and back?  Offline, on the two
 * hosts' dumps as hvcore models them (or their exported host records):
 * the policy's evaluation on the source gives the guest CPUID, which the
 * destination's KVM must back field by field (hvcore/migrate.c has the
 * rules).  For a VM of hvcapd, hvcapd answers (io.hvcap.Policy.Compare
 * with vm): its vCPUs' CPUID on its host is the guest.
 */

#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <libcaps/dump.h>
#include <libcaps/file.h>

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
	struct caps_migration res;
};

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

static struct json_object *direction_json(const struct direction *d)
{
	return proto_migration_direction_to_json(&d->ev, &d->res);
}

/* The answer as one object: {from, to, policy or vm, a_to_b, b_to_a}; NULL when out of memory. */
static struct json_object *answer_json(const char *a, const char *b, const struct caps_policy *pol,
				       const struct direction *ab, const struct direction *ba)
{
	struct json_object *o = json_object_new_object();
	bool ok = o != NULL;

	ok = ok && json_object_object_add(o, "from", json_object_new_string(a)) == 0;
	ok = ok && json_object_object_add(o, "to", json_object_new_string(b)) == 0;
	ok = ok && json_object_object_add(o, "policy", proto_policy_to_json(pol)) == 0;
	ok = ok && json_object_object_add(o, "a_to_b", direction_json(ab)) == 0;
	ok = ok && json_object_object_add(o, "b_to_a", direction_json(ba)) == 0;
	if (!ok || !hvctl_json_get(o, "a_to_b") || !hvctl_json_get(o, "b_to_a") || !hvctl_json_get(o, "policy")) {
		json_object_put(o);
		return NULL;
	}
	return o;
}

/* A blocker's place: "0x7.0 EBX[16]", "vendor (CPUID 0x0)", or its field's name. */
static void blocker_where(struct json_object *b, char *buf, size_t size)
{
	const char *reg = hvctl_json_str(b, "register"), *field = hvctl_json_str(b, "field");
	char upper[4] = "?";

	for (int i = 0; reg && i < 3 && reg[i]; i++)
		upper[i] = (char)(reg[i] >= 'a' && reg[i] <= 'z' ? reg[i] - 'a' + 'A' : reg[i]);
	if (strcmp(hvctl_json_str(b, "rule"), "same_vendor") == 0)
		snprintf(buf, size, "vendor (CPUID 0x0)");
	else if (field && strcmp(field, "feature bit") != 0)
		snprintf(buf, size, "%s", field);
	else
		snprintf(buf, size, "0x%llx.%lld %s[%s]", (unsigned long long)hvctl_json_int(b, "function"),
			 (long long)hvctl_json_int(b, "index"), upper, hvctl_json_str(b, "bits"));
}

/* One direction, from its MigrationDirection object (offline or hvcapd's alike). */
static void print_direction(const char *label, const char *from, struct json_object *d)
{
	struct json_object *problems = hvctl_json_get(d, "source_problems");
	struct json_object *blockers = hvctl_json_get(d, "blockers"), *warnings = hvctl_json_get(d, "warnings");
	size_t n = blockers ? json_object_array_length(blockers) : 0;
	long long total = (long long)hvctl_json_int(d, "n_blockers");

	if (strcmp(hvctl_json_str(d, "source_verdict"), "accepted") != 0) {
		size_t np = problems ? json_object_array_length(problems) : 0;

		printf("%s  NO: the policy is rejected on %s (%zu problem%s)\n", label, from, np, np == 1 ? "" : "s");
		for (size_t i = 0; i < np; i++) {
			struct json_object *p = json_object_array_get_idx(problems, i);
			const char *feature = hvctl_json_str(p, "feature");

			printf("  problem: %s%s%s\n", feature ? feature : "", feature && *feature ? ": " : "",
			       hvctl_json_str(p, "detail"));
		}
		return;
	}
	if (hvctl_json_bool(d, "ok"))
		printf("%s  OK\n", label);
	else
		printf("%s  NO: %lld blocker%s\n", label, total, total == 1 ? "" : "s");
	if (n)
		printf("  %-20s %-14s %-34s %10s %10s\n", "FEATURE", "RULE", "FIELD", "GUEST", "DEST");
	for (size_t i = 0; i < n; i++) {
		struct json_object *b = json_object_array_get_idx(blockers, i);
		const char *reason = hvctl_json_str(b, "reason"), *detail = hvctl_json_str(b, "reason_detail");
		char where[80], gv[24], dv[24];

		blocker_where(b, where, sizeof(where));
		if (strcmp(hvctl_json_str(b, "rule"), "same_vendor") == 0) {
			snprintf(gv, sizeof(gv), "%s", hvctl_json_str(b, "source_vendor"));
			snprintf(dv, sizeof(dv), "%s", hvctl_json_str(b, "destination_vendor"));
		} else {
			snprintf(gv, sizeof(gv), "%lld", (long long)hvctl_json_int(b, "source"));
			snprintf(dv, sizeof(dv), "%lld", (long long)hvctl_json_int(b, "destination"));
		}
		printf("  %-20s %-14s %-34s %10s %10s", hvctl_json_str(b, "feature"), hvctl_json_str(b, "rule"),
		       where, gv, dv);
		if (reason)
			printf("  %s%s%s", reason, detail ? " " : "", detail ? detail : "");
		printf("\n");
	}
	for (size_t i = 0; warnings && i < json_object_array_length(warnings); i++) {
		struct json_object *w = json_object_array_get_idx(warnings, i);

		printf("  warning: %s: %s\n", hvctl_json_str(w, "feature"), hvctl_json_str(w, "detail"));
	}
}

static void print_human(struct json_object *answer, const char *policy_line)
{
	printf("A:       %s\n", hvctl_json_str(answer, "from"));
	printf("B:       %s\n", hvctl_json_str(answer, "to"));
	printf("policy:  %s\n", policy_line);
	print_direction("A -> B:", "A", hvctl_json_get(answer, "a_to_b"));
	print_direction("B -> A:", "B", hvctl_json_get(answer, "b_to_a"));
}

/* Print the answer and say whether the guest moves from A to B (an exit status). */
static int answer(struct json_object *o, bool json, const char *policy_line)
{
	int r;

	if (json) {
		r = hvctl_json_print(o);
		if (r < 0)
			return HVCTL_EXIT_FAILURE;
	} else {
		print_human(o, policy_line);
	}
	return hvctl_json_bool(hvctl_json_get(o, "a_to_b"), "ok") ? HVCTL_EXIT_OK : HVCTL_EXIT_FAILURE;
}

/*
 * A VM of hvcapd to host B: hvcapd answers (Policy.Compare with vm), its
 * host being A.  B's file goes as it is: a record's JSON, or a dump's text
 * with the parameters.
 */
static int migrate_vm(const struct hvctl_command *cmd, const char *vm_arg, const char *to,
		      const struct hvctl_params *params, enum caps_names names, bool json)
{
	struct json_object *extra = json_object_new_object(), *record = NULL, *reply = NULL, *m, *o;
	char *text = NULL, policy_line[160];
	size_t len;
	int r;

	if (!extra)
		goto oom;
	r = hvctl_host_record_read(to, &record);
	if (r < 0)
		goto oom;
	if (r > 0) {
		if (params->n) {
			json_object_put(record);
			json_object_put(extra);
			return hvctl_usage_error(cmd, "--param is for dumps: %s is a host record", to);
		}
		json_object_object_add(extra, "record", record);
	} else {
		struct json_object *kv = json_object_new_object();

		r = caps_read_file(to, CAPS_DUMP_MAX_BYTES, &text, &len);
		if (r < 0) {
			json_object_put(kv);
			json_object_put(extra);
			fprintf(stderr, "%s: %s: %s\n", hvctl_who(cmd), to,
				r == -EFBIG ? "larger than a dump may be (1 MiB)" : strerror(-r));
			return HVCTL_EXIT_FAILURE;
		}
		json_object_object_add(extra, "dump", json_object_new_string_len(text, (int)len));
		free(text);
		for (size_t i = 0; kv && i < params->n; i++) {
			const char *eq = strchr(params->kv[i], '=');
			char key[HVCTL_PARAM_KEY_MAX];

			snprintf(key, sizeof(key), "%.*s", (int)(eq - params->kv[i]), params->kv[i]);
			json_object_object_add(kv, key, json_object_new_string(eq + 1));
		}
		if (params->n)
			json_object_object_add(extra, "params", kv);
		else
			json_object_put(kv);
	}
	if (names == CAPS_NAMES_QEMU)
		json_object_object_add(extra, "names", json_object_new_string("qemu"));
	r = hvctl_vm_call(cmd, vm_arg, "io.hvcap.Policy.Compare", extra, &reply, NULL);
	if (r)
		return r;
	m = hvctl_json_get(reply, "migration");
	o = json_object_new_object();
	if (!m || !o) {
		json_object_put(o);
		json_object_put(reply);
		fprintf(stderr, "%s: hvcapd's answer has no migration\n", hvctl_who(cmd));
		return HVCTL_EXIT_FAILURE;
	}
	json_object_object_add(o, "from", json_object_get(hvctl_json_get(m, "source")));
	json_object_object_add(o, "to", json_object_new_string(to));
	json_object_object_add(o, "vm", json_object_new_string(vm_arg));
	json_object_object_add(o, "a_to_b", json_object_get(hvctl_json_get(m, "a_to_b")));
	json_object_object_add(o, "b_to_a", json_object_get(hvctl_json_get(m, "b_to_a")));
	json_object_put(reply);
	snprintf(policy_line, sizeof(policy_line), "the VM's own; A is the host hvcapd runs on");
	r = answer(o, json, policy_line);
	json_object_put(o);
	return r;
oom:
	json_object_put(extra);
	fprintf(stderr, "%s: out of memory\n", hvctl_who(cmd));
	return HVCTL_EXIT_FAILURE;
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
	struct json_object *o;
	struct caps_policy *pol;
	char policy_line[CAPS_POLICY_NAME_MAX + 64];
	bool json = false;
	int opt, r;

	while ((opt = getopt_long(argc, argv, ":hjn:f:t:p:", options, NULL)) != -1) {
		switch (opt) {
		case 'f':
			from = optarg;
			break;
		case 't':
			to = optarg;
			break;
		default:
			r = hvctl_host_option(cmd, opt, argv, &json, &names, &params);
			if (r != HVCTL_OPTION_TAKEN)
				return r;
			break;
		}
	}
	if (!to)
		return hvctl_usage_error(cmd, "--to is required");
	if (argc - optind > 1)
		return hvctl_usage_error(cmd, "one POLICY or VM at most");
	/*
	 * Not a file: a VM of hvcapd, whose host is A.  A VM name has no '/',
	 * so a missing "dir/policy.json" is a policy that does not read.
	 */
	if (argc - optind == 1 && !strchr(argv[optind], '/') && access(argv[optind], F_OK) != 0 &&
	    errno == ENOENT) {
		if (from)
			return hvctl_usage_error(cmd, "%s is no file; as a VM of hvcapd it moves from hvcapd's "
						 "host: no --from", argv[optind]);
		return migrate_vm(cmd, argv[optind], to, &params, names, json);
	}
	if (!from)
		return hvctl_usage_error(cmd, "--from is required with a POLICY");

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
	r = hvctl_host_load(cmd, &hosts[0], from, &params);
	if (r == 0)
		r = hvctl_host_load(cmd, &hosts[1], to, &params);
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
	o = answer_json(from, to, pol, &dirs[0], &dirs[1]);
	if (!o) {
		r = -ENOMEM;
		goto fail;
	}
	snprintf(policy_line, sizeof(policy_line), "%s (base %s%s)", pol->name[0] ? pol->name : "(unnamed)",
		 caps_policy_base_to_string(pol->base), pol->migratable ? ", migratable" : "");
	r = answer(o, json, policy_line);
	json_object_put(o);
out:
	free(dirs);
	for (int i = 0; hosts && i < 2; i++)
		hvctl_host_done(&hosts[i]);
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
	.synopsis = "--from FILE --to FILE [POLICY] | --to FILE VM  [--param K=V]... [--names linux|qemu] [--json]",
	.summary = "Can a guest created on host A move to host B by live migration, and back",
	.help =
		"Host A (--from) and host B (--to) are raw CPUID dumps (libvirt XML, 'cpuid\n"
		"-r' text or hvcap JSON), modelled offline as 'hvctl policy check --host-dump'\n"
		"does, or host records ('hvctl host export --format json' on that host),\n"
		"taken as they are.  The guest is POLICY evaluated on A (default: base host,\n"
		"migratable); its CPUID must be backed by KVM on B field by field: every\n"
		"feature bit supported there (bit_subset), no invtsc (not_migratable),\n"
		"MAXPHYADDR, GuestPhysBits, the AVX10 version and the PMU's counters not\n"
		"greater than B's (not_greater), XSAVE component sizes, offsets and alignment,\n"
		"RapSize, the AMX palette and the CLFLUSH line size equal (equal), the same\n"
		"vendor (same_vendor); cache descriptors that differ are a warning.\n"
		"Every blocker names the feature, the rule, the field and both values.  The\n"
		"answer is given both ways: A to B, and B to A with the policy evaluated on B.\n"
		"\n"
		"VM (a name or id that is no file) is a VM of hvcapd instead: A is the host\n"
		"hvcapd runs on, the guest is every vCPU's CPUID as hvcapd holds it, B to A\n"
		"evaluates the VM's policy on B; hvcapd answers (io.hvcap.Policy.Compare).\n"
		"\n"
		"  -f, --from FILE       host A, where the guest is created (not with VM)\n"
		"  -t, --to FILE         host B, where it moves to\n"
		"  -p, --param K=V       a host parameter for the dumps ('hvctl host model\n"
		"                        --help' lists them; records take none)\n"
		"  -n, --names STYLE     linux (default) or qemu feature names\n"
		"  -j, --json            {\"from\", \"to\", \"policy\" (or \"vm\"), \"a_to_b\": {\"ok\",\n"
		"                        \"source_verdict\", \"source_problems\", \"n_blockers\",\n"
		"                        \"blockers\": [{\"feature\", \"rule\", \"field\", \"function\",\n"
		"                        \"index\", \"register\", \"bits\", \"source\", \"destination\",\n"
		"                        \"source_vendor\"?, \"destination_vendor\"?, \"reason\"?,\n"
		"                        \"reason_detail\"?, \"detail\"}], \"warnings\"}, \"b_to_a\": {...}}\n"
		"  -h, --help            show this help\n"
		"\n"
		"Exit status: 0 the guest can move from A to B, 1 it cannot (or the policy is\n"
		"rejected on A, a dump or record is unreadable, no such VM), 2 usage error or\n"
		"an unreadable policy.\n",
	.run = policy_migrate_check_run,
};
