/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* hvctl host features: per feature, in the host CPU? supported by KVM? why not? */

#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "host.h"
#include "output.h"

static const struct {
	uint8_t note;
	const char *name;
} notes[] = {
	{ HV_NOTE_EMULATED, "emulated" },
	{ HV_NOTE_SYNTHESIZED, "synthesized" },
	{ HV_NOTE_PASSTHROUGH, "passthrough" },
	{ HV_NOTE_VIRT_HOLE, "virtualization_hole" },
	{ HV_NOTE_VENDOR, "vendor" },
};

static void why(const struct hv_feature_status *s, bool kvm, char *buf, size_t size)
{
	size_t n = 0;

	buf[0] = '\0';
	if (!kvm) {
		hv_feature_status_string(s, buf, size);
		return;
	}
	for (size_t i = 0; i < sizeof(notes) / sizeof(notes[0]) && n < size; i++)
		if (s->notes & notes[i].note)
			n += (size_t)snprintf(buf + n, size - n, "%s%s", n ? ", " : "", notes[i].name);
}

static int print_json(const struct hvctl_host *h, const struct caps *host, bool all)
{
	struct json_object *o = json_object_new_object();
	struct json_object *a = json_object_new_array();
	int r;

	if (!o || !a) {
		json_object_put(o);
		json_object_put(a);
		return -ENOMEM;
	}
	json_object_object_add(o, "backend", json_object_new_string(caps_backend_to_string(h->record->backend)));
	json_object_object_add(o, "source", json_object_new_string(h->source));
	json_object_object_add(o, "vendor_module", json_object_new_string(h->record->vendor_module));
	json_object_object_add(o, "fingerprint", json_object_new_string(h->record->fingerprint));
	for (size_t i = 0; i < caps_feature_count(); i++) {
		const struct caps_feature_info *fi = caps_feature_at(i);
		const struct hv_feature_status *s = &h->status[fi->id];
		bool in_host = caps_has(host, fi->id), kvm = caps_has(&h->record->features, fi->id);
		struct json_object *f, *n;

		if (!all && !in_host && !kvm)
			continue;
		f = json_object_new_object();
		n = json_object_new_array();
		json_object_object_add(f, "name", json_object_new_string(fi->name));
		json_object_object_add(f, "qemu", fi->qemu ? json_object_new_string(fi->qemu) : NULL);
		json_object_object_add(f, "host", json_object_new_boolean(in_host));
		json_object_object_add(f, "kvm", json_object_new_boolean(kvm));
		json_object_object_add(f, "reason", json_object_new_string(hv_reason_name(kvm ? HV_REASON_SUPPORTED : s->reason)));
		json_object_object_add(f, "detail", !kvm && s->detail ? json_object_new_string(s->detail) : NULL);
		for (size_t k = 0; kvm && k < sizeof(notes) / sizeof(notes[0]); k++)
			if (s->notes & notes[k].note)
				json_object_array_add(n, json_object_new_string(notes[k].name));
		json_object_object_add(f, "notes", n);
		json_object_array_add(a, f);
	}
	json_object_object_add(o, "features", a);
	r = hvctl_json_print(o);
	json_object_put(o);
	return r;
}

static void print_table(const struct hvctl_host *h, const struct caps *host, enum caps_names names,
			bool all)
{
	int words[NR_CAPS_WORDS];
	unsigned rows = 0;

	printf("source: %s (%s, %s)\n", h->source, caps_backend_to_string(h->record->backend),
	       h->record->vendor_module);
	printf("%-28s %-4s %-4s %s\n", "FEATURE", "HOST", "KVM", "WHY");
	hvctl_words_by_leaf(words);
	for (int i = 0; i < NR_CAPS_WORDS; i++) {
		for (int bit = 0; bit < 32; bit++) {
			int f = words[i] * 32 + bit;
			const char *name = caps_feature_name(f, names);
			bool in_host = caps_has(host, f), kvm = caps_has(&h->record->features, f);
			char reason[160];

			if (!name || (!all && !in_host && !kvm))
				continue;
			why(&h->status[f], kvm, reason, sizeof(reason));
			printf("%-28s %-4s %-4s %s\n", name, in_host ? "yes" : "no", kvm ? "yes" : "no", reason);
			rows++;
		}
	}
	if (!all)
		printf("(%u features in the host CPU or supported by KVM; --all lists every catalog feature)\n",
		       rows);
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
	struct caps host;
	bool json = false, all = false;
	int opt, r;

	while ((opt = getopt_long(argc, argv, ":hjan:d:p:", options, NULL)) != -1) {
		switch (opt) {
		case 'h':
			hvctl_command_help(cmd, stdout);
			return HVCTL_EXIT_OK;
		case 'j':
			json = true;
			break;
		case 'a':
			all = true;
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
	if (optind < argc)
		return hvctl_usage_error(cmd, "unexpected argument '%s'", argv[optind]);
	if (!dump && params.n)
		return hvctl_usage_error(cmd, "--param describes a --dump; the probe reads the real host");

	h = calloc(1, sizeof(*h));
	if (!h) {
		fprintf(stderr, "hvctl host features: out of memory\n");
		return HVCTL_EXIT_FAILURE;
	}
	if (dump) {
		r = hvctl_host_model(cmd, h, dump, &params);
	} else {
		r = hvctl_host_probe(cmd, h, true);
		if (r == -EIO) {
			r = HVCTL_EXIT_FAILURE;
		} else if (r < 0) {
			fprintf(stderr, "hvctl host features: no usable /dev/kvm (%s): using the model of this machine's CPU\n",
				strerror(-r));
			memset(h, 0, sizeof(*h));
			r = hvctl_host_model_self(cmd, h);
		}
	}
	if (r == 0) {
		caps_from_dump(&host, &h->raw);
		if (json) {
			if (print_json(h, &host, all) < 0) {
				fprintf(stderr, "hvctl host features: out of memory\n");
				r = HVCTL_EXIT_FAILURE;
			}
		} else {
			print_table(h, &host, names, all);
		}
	}
	free(h);
	return r;
}

const struct hvctl_command hvctl_cmd_host_features = {
	.group = "host",
	.name = "features",
	.synopsis = "[--dump FILE [--param K=V]...] [--all] [--names linux|qemu] [--json]",
	.summary = "Per feature: in the host CPU, supported by KVM, and why not",
	.help =
		"Without --dump, asks this machine's KVM (falling back to the model of this\n"
		"machine's CPU when /dev/kvm is not usable) and explains what KVM leaves out\n"
		"with the model; with --dump, models the described host ('hvctl host model\n"
		"--help' lists the parameters).  Reasons: not_in_host_cpu, disabled_by_kernel,\n"
		"never_supported_by_kvm, kvm_older_than VERSION, runtime_only,\n"
		"vendor_code_clears, vendor_code_does_not_set, needs_tdp, needs_nested,\n"
		"needs_parameter NAME, needs_pmu, needs_feature NAME, not_reported_by_kvm.\n"
		"Supported features may note: emulated, synthesized, passthrough, vendor.\n"
		"\n"
		"  -d, --dump FILE     model the host this raw CPUID dump describes\n"
		"  -p, --param K=V     a host parameter for --dump (repeatable)\n"
		"  -a, --all           every catalog feature, not only those the host CPU or\n"
		"                      KVM has\n"
		"  -n, --names STYLE   linux (default) or qemu feature names\n"
		"  -j, --json          an object with a features array of {name, qemu, host,\n"
		"                      kvm, reason, detail, notes}\n"
		"  -h, --help          show this help\n",
	.run = host_features_run,
};
