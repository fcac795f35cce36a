/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* hvctl host features: per feature, in the host CPU? supported by KVM? why not? */

#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include <proto/host.h>

#include "host.h"
#include "online.h"
#include "output.h"

/* Why, in one cell: the notes of a supported feature, else the reason and its detail. */
static void why(struct json_object *f, char *buf, size_t size)
{
	struct json_object *list = hvctl_json_get(f, "notes");
	const char *detail = hvctl_json_str(f, "detail");
	size_t n = 0;

	buf[0] = '\0';
	if (!hvctl_json_bool(f, "kvm")) {
		snprintf(buf, size, "%s%s%s", hvctl_json_str(f, "reason") ? hvctl_json_str(f, "reason") : "",
			 detail ? " " : "", detail ? detail : "");
		return;
	}
	for (size_t i = 0; list && i < json_object_array_length(list) && n < size; i++)
		n += (size_t)snprintf(buf + n, size - n, "%s%s", n ? ", " : "",
				      json_object_get_string(json_object_array_get_idx(list, i)));
}

static void print_row(const char *name, struct json_object *f)
{
	char reason[160];

	why(f, reason, sizeof(reason));
	printf("%-28s %-4s %-4s %s\n", name, hvctl_json_bool(f, "host") ? "yes" : "no",
	       hvctl_json_bool(f, "kvm") ? "yes" : "no", reason);
}

/*
 * The table, in CPUID order, from the features array of either answer
 * (GetCapabilities or features_json()); names this hvctl's catalog does
 * not know come last, as the daemon spelled them.
 */
static void print_table(const char *source, struct json_object *features, enum caps_names names,
			bool all)
{
	static struct json_object *by_id[CAPS_NR_FEATURE_IDS];
	size_t n = features ? json_object_array_length(features) : 0;
	int words[NR_CAPS_WORDS];

	memset(by_id, 0, sizeof(by_id));
	printf("source: %s\n", source);
	printf("%-28s %-4s %-4s %s\n", "FEATURE", "HOST", "KVM", "WHY");
	for (size_t i = 0; i < n; i++) {
		struct json_object *f = json_object_array_get_idx(features, i);
		int id = caps_feature_lookup(hvctl_json_str(f, "name"));

		if (id >= 0 && id < CAPS_NR_FEATURE_IDS)
			by_id[id] = f;
	}
	hvctl_words_by_leaf(words);
	for (int i = 0; i < NR_CAPS_WORDS; i++) {
		for (int bit = 0; bit < 32; bit++) {
			int id = words[i] * 32 + bit;
			const char *name = caps_feature_name(id, names);

			if (name && by_id[id])
				print_row(name, by_id[id]);
		}
	}
	for (size_t i = 0; i < n; i++) {
		struct json_object *f = json_object_array_get_idx(features, i);
		const char *name = hvctl_json_str(f, "name");
		int id = caps_feature_lookup(name);

		if (name && (id < 0 || id >= CAPS_NR_FEATURE_IDS || !caps_feature_name(id, names)))
			print_row(name, f);
	}
	if (!all)
		printf("(%zu features in the host CPU or supported by KVM; --all lists every catalog feature)\n",
		       n);
}

/*
 * Keep only the features named on the command line in a reply's features
 * array, in place.  *ret_all_kvm: whether KVM supports every one of them.
 */
static int features_only(struct json_object *reply, const struct caps *only, bool *ret_all_kvm)
{
	struct json_object *features = hvctl_json_get(reply, "features");
	struct json_object *kept = json_object_new_array();
	struct caps seen;

	if (!kept)
		return -ENOMEM;
	caps_zero(&seen);
	for (size_t i = 0; features && i < json_object_array_length(features); i++) {
		struct json_object *f = json_object_array_get_idx(features, i);
		int id = caps_feature_lookup(hvctl_json_str(f, "name"));

		if (id < 0 || id >= CAPS_NR_FEATURE_IDS || !caps_has(only, id))
			continue;
		caps_set(&seen, id);
		if (!hvctl_json_bool(f, "kvm"))
			*ret_all_kvm = false;
		json_object_array_add(kept, json_object_get(f));
	}
	/* A named feature the answer leaves out is one KVM does not support. */
	if (!caps_equal(&seen, only))
		*ret_all_kvm = false;
	json_object_object_add(reply, "features", kept);
	return 0;
}

/* The FEATURE arguments, by any spelling; an unknown one is a usage error with suggestions. */
static int parse_features(const struct hvctl_command *cmd, char **names, int n, struct caps *ret)
{
	caps_zero(ret);
	for (int i = 0; i < n; i++) {
		int id = caps_feature_lookup(names[i]);

		if (id < 0) {
			const char *near[3];
			size_t k = caps_feature_suggest(names[i], near, 3);

			return hvctl_usage_error(cmd, "unknown feature '%s'%s%s%s%s%s%s%s", names[i],
						 k ? " (did you mean " : "", k ? near[0] : "", k > 1 ? ", " : "",
						 k > 1 ? near[1] : "", k > 2 ? ", " : "", k > 2 ? near[2] : "",
						 k ? "?)" : "");
		}
		caps_set(ret, id);
	}
	return 0;
}

/* Print an answer (the JSON or the table), narrowed to only when given; the exit status. */
static int features_print(struct json_object *reply, const char *source, enum caps_names names, bool all,
			  bool json, const struct caps *only)
{
	bool all_kvm = true;

	if (only && features_only(reply, only, &all_kvm) < 0) {
		json_object_put(reply);
		fprintf(stderr, "hvctl host features: out of memory\n");
		return HVCTL_EXIT_FAILURE;
	}
	if (json) {
		int r = hvctl_print_reply_json(reply);

		if (r != HVCTL_EXIT_OK)
			return r;
	} else {
		print_table(source, hvctl_json_get(reply, "features"), names, all || only);
		json_object_put(reply);
	}
	return all_kvm ? HVCTL_EXIT_OK : HVCTL_EXIT_FAILURE;
}

/* Ask hvcapd; HVCTL_EXIT_OK..USAGE, or -1 when no daemon answers. */
static int features_online(const struct hvctl_command *cmd, enum caps_names names, bool all, bool json,
			   const struct caps *only)
{
	struct json_object *p, *reply = NULL;
	struct hvctl_online o;
	char source[192];
	int r;

	r = hvctl_online_connect(cmd, &o, true);
	if (r < 0)
		return hvctl_online_fallback(cmd, &o, r, "reading this machine's KVM directly");
	p = json_object_new_object();
	if (p) {
		json_object_object_add(p, "names", json_object_new_string(names == CAPS_NAMES_QEMU ? "qemu" : "linux"));
		json_object_object_add(p, "all", json_object_new_boolean(all || only));
	}
	r = hvctl_online_call(cmd, &o, "io.hvcap.Host.GetCapabilities", p, &reply);
	snprintf(source, sizeof(source), "hvcapd at %s (fingerprint %s)", o.address,
		 r == 0 && hvctl_json_str(reply, "fingerprint") ? hvctl_json_str(reply, "fingerprint") : "?");
	hvctl_online_close(&o);
	if (r)
		return r;
	return features_print(reply, source, names, all, json, only);
}

static int host_features_run(int argc, char **argv)
{
	static const struct option options[] = {
		{ "help",  no_argument,       NULL, 'h' },
		{ "json",  no_argument,       NULL, 'j' },
		{ "all",   no_argument,       NULL, 'a' },
		{ "names", required_argument, NULL, 'n' },
		{ "dump",  required_argument, NULL, 'd' },
		{ "param", required_argument, NULL, 'p' },
		{ 0 }
	};
	const struct hvctl_command *cmd = &hvctl_cmd_host_features;
	enum caps_names names = CAPS_NAMES_LINUX;
	struct hvctl_params params = { .n = 0 };
	const char *dump = NULL;
	struct hvctl_host *h;
	struct caps only;
	bool json = false, all = false, some;
	int opt, r;

	while ((opt = getopt_long(argc, argv, ":hjan:d:p:", options, NULL)) != -1) {
		switch (opt) {
		case 'a':
			all = true;
			break;
		case 'd':
			dump = optarg;
			break;
		default:
			r = hvctl_host_option(cmd, opt, argv, &json, &names, &params);
			if (r != HVCTL_OPTION_TAKEN)
				return r;
			break;
		}
	}
	some = optind < argc;
	if (parse_features(cmd, argv + optind, argc - optind, &only))
		return HVCTL_EXIT_USAGE;
	if (!dump && params.n)
		return hvctl_usage_error(cmd, "--param describes a --dump; the probe reads the real host");

	if (!dump) {
		r = features_online(cmd, names, all, json, some ? &only : NULL);
		if (r >= 0)
			return r;
	}
	h = calloc(1, sizeof(*h));
	if (!h) {
		fprintf(stderr, "hvctl host features: out of memory\n");
		return HVCTL_EXIT_FAILURE;
	}
	if (dump) {
		r = hvctl_host_model(cmd, h, dump, &params);
	} else {
		r = hvctl_host_this_machine(cmd, h);
	}
	if (r == 0) {
		struct json_object *o;
		char source[320];

		o = hvctl_host_capabilities_json(h, all || some);
		if (!o) {
			fprintf(stderr, "hvctl host features: out of memory\n");
			r = HVCTL_EXIT_FAILURE;
		} else {
			snprintf(source, sizeof(source), "%s (%s, %s)", h->source,
				 caps_backend_to_string(h->record->backend), h->record->vendor_module);
			r = features_print(o, source, names, all, json, some ? &only : NULL);
		}
	}
	free(h);
	return r;
}

const struct hvctl_command hvctl_cmd_host_features = {
	.group = "host",
	.name = "features",
	.synopsis = "[FEATURE]... [--dump FILE [--param K=V]...] [--all] [--names linux|qemu] [--json]",
	.summary = "Per feature: in the host CPU, supported by KVM, and why not",
	.help =
		"Without --dump, asks hvcapd (io.hvcap.Host.GetCapabilities); when no hvcapd\n"
		"answers, says so and asks this machine's KVM directly (falling back to the\n"
		"model of this machine's CPU when /dev/kvm is not usable), explaining what\n"
		"KVM leaves out with the model.  With --dump, models the described host\n"
		"offline ('hvctl host model --help' lists the parameters).  Reasons: not_in_host_cpu, disabled_by_kernel,\n"
		"never_supported_by_kvm, kvm_older_than VERSION, runtime_only,\n"
		"vendor_code_clears, vendor_code_does_not_set, needs_tdp, needs_nested,\n"
		"needs_parameter NAME, needs_pmu, needs_feature NAME, not_reported_by_kvm.\n"
		"Supported features may note: emulated, synthesized, passthrough, vendor.\n"
		"FEATUREs (Linux or QEMU spellings, any case: avx512_vnni, AVX512-VNNI) narrow\n"
		"the answer to them; the exit status is then 1 unless KVM supports all.\n"
		"\n"
		"  -d, --dump FILE     model the host this raw CPUID dump describes\n"
		"  -p, --param K=V     a host parameter for --dump (repeatable)\n"
		"  -a, --all           every catalog feature, not only those the host CPU or\n"
		"                      KVM has\n"
		"  -n, --names STYLE   linux (default) or qemu feature names\n"
		"  -j, --json          an object with fingerprint and a features array of\n"
		"                      {name, qemu, host, kvm, reason, detail, notes}: the\n"
		"                      reply of GetCapabilities, or offline the same with\n"
		"                      backend, source and vendor_module\n"
		"  -h, --help          show this help\n",
	.run = host_features_run,
};
