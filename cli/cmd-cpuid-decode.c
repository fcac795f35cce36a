/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* hvctl cpuid decode: named features, vendor and signature of a dump. */

#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include <libcaps/dump.h>
#include <libcaps/host.h>

#include "hvctl.h"
#include "output.h"

/* Enough for every bit of every word. */
#define MAX_UNKNOWN (NR_CAPS_WORDS * 32)

struct decode {
	const char *source;
	struct caps_dump dump;
	struct caps_cpu_id id;
	struct caps features;
	struct caps_unknown_bit unknown[MAX_UNKNOWN];
	size_t n_unknown;
};

static struct json_object *unknown_bit_json(const struct caps_unknown_bit *u)
{
	const struct caps_word_info *wi = caps_word_info(u->word);
	struct json_object *o = json_object_new_object();

	if (!o)
		return NULL;
	if (wi->kind == CAPS_WORD_MSR) {
		json_object_object_add(o, "msr", json_object_new_int64(wi->msr));
		json_object_object_add(o, "bit", json_object_new_int(u->bit + (wi->msr_high ? 32 : 0)));
	} else {
		json_object_object_add(o, "function", json_object_new_int64(wi->function));
		json_object_object_add(o, "index", json_object_new_int64(wi->index));
		json_object_object_add(o, "register", json_object_new_string(caps_reg_name(wi->reg)));
		json_object_object_add(o, "bit", json_object_new_int(u->bit));
	}
	return o;
}

static int print_json(const struct decode *dc, enum caps_names names)
{
	struct json_object *o = json_object_new_object();
	struct json_object *features = json_object_new_array();
	struct json_object *unknown = json_object_new_array();
	char sig[16];
	int r;

	if (!o || !features || !unknown) {
		json_object_put(o);
		json_object_put(features);
		json_object_put(unknown);
		return -ENOMEM;
	}
	snprintf(sig, sizeof(sig), "0x%08x", dc->id.signature);
	json_object_object_add(o, "source", json_object_new_string(dc->source));
	json_object_object_add(o, "vendor", json_object_new_string(dc->id.vendor));
	json_object_object_add(o, "brand", json_object_new_string(dc->id.brand));
	json_object_object_add(o, "signature", json_object_new_string(sig));
	json_object_object_add(o, "family", json_object_new_int((int)dc->id.family));
	json_object_object_add(o, "model", json_object_new_int((int)dc->id.model));
	json_object_object_add(o, "stepping", json_object_new_int((int)dc->id.stepping));
	caps_for_each(f, &dc->features) {
		const char *name = caps_feature_name(f, names);

		if (name)
			json_object_array_add(features, json_object_new_string(name));
	}
	json_object_object_add(o, "features", features);
	for (size_t i = 0; i < dc->n_unknown && i < MAX_UNKNOWN; i++)
		json_object_array_add(unknown, unknown_bit_json(&dc->unknown[i]));
	json_object_object_add(o, "unknown_bits", unknown);
	r = hvctl_json_print(o);
	json_object_put(o);
	return r;
}

static void print_human(const struct decode *dc, enum caps_names names)
{
	unsigned named = 0;
	char label[48];

	printf("source:    %s\n", dc->source);
	if (dc->dump.comment[0])
		printf("comment:   %s\n", dc->dump.comment);
	printf("vendor:    %s\n", dc->id.vendor);
	if (dc->id.brand[0])
		printf("brand:     %s\n", dc->id.brand);
	printf("signature: 0x%08x\n", dc->id.signature);
	printf("family:    %u (0x%x)\n", dc->id.family, dc->id.family);
	printf("model:     %u (0x%x)\n", dc->id.model, dc->id.model);
	printf("stepping:  %u (0x%x)\n", dc->id.stepping, dc->id.stepping);

	caps_for_each(f, &dc->features)
		named += caps_feature_info(f) != NULL;
	printf("features:  %u\n", named);
	hvctl_print_features(&dc->features, names);

	/* caps_unknown_bits() lists them word by word: one line per word. */
	printf("unknown bits: %zu\n", dc->n_unknown);
	for (size_t i = 0; i < dc->n_unknown && i < MAX_UNKNOWN; i++) {
		static struct hvctl_wrap wrap;
		char bit[8];

		if (i == 0 || dc->unknown[i].word != dc->unknown[i - 1].word) {
			if (i)
				hvctl_wrap_end(&wrap);
			printf("  %-22s ", hvctl_word_label(dc->unknown[i].word, label, sizeof(label)));
			hvctl_wrap_start(&wrap, stdout, 25, 25);
			hvctl_wrap_word(&wrap, "bits");
		}
		snprintf(bit, sizeof(bit), "%u", dc->unknown[i].bit);
		hvctl_wrap_word(&wrap, bit);
		if (i + 1 == dc->n_unknown || i + 1 == MAX_UNKNOWN)
			hvctl_wrap_end(&wrap);
	}
}

static int cpuid_decode_run(int argc, char **argv)
{
	static const struct option options[] = {
		{ "help",   no_argument,       NULL, 'h' },
		{ "json",   no_argument,       NULL, 'j' },
		{ "format", required_argument, NULL, 'f' },
		{ "names",  required_argument, NULL, 'n' },
		{ 0 }
	};
	const struct hvctl_command *cmd = &hvctl_cmd_cpuid_decode;
	enum caps_dump_format fmt = CAPS_DUMP_AUTO;
	enum caps_names names = CAPS_NAMES_LINUX;
	struct caps_dump_error err = { 0 };
	struct decode *dc;
	bool json = false;
	int opt, r, status = HVCTL_EXIT_FAILURE;

	while ((opt = getopt_long(argc, argv, ":hjf:n:", options, NULL)) != -1) {
		switch (opt) {
		case 'h':
			hvctl_command_help(cmd, stdout);
			return HVCTL_EXIT_OK;
		case 'j':
			json = true;
			break;
		case 'f':
			if (caps_dump_format_from_string(optarg, &fmt) < 0)
				return hvctl_usage_error(cmd, "unknown format '%s' (auto, libvirt-xml, cpuid-r, json)",
							 optarg);
			break;
		case 'n':
			if (hvctl_parse_names(cmd, optarg, &names))
				return HVCTL_EXIT_USAGE;
			break;
		default:
			return hvctl_getopt_error(cmd, opt, argv);
		}
	}
	if (argc - optind > 1)
		return hvctl_usage_error(cmd, "one FILE at most, got '%s' and '%s'", argv[optind],
					 argv[optind + 1]);

	dc = calloc(1, sizeof(*dc));
	if (!dc) {
		fprintf(stderr, "hvctl cpuid decode: out of memory\n");
		return HVCTL_EXIT_FAILURE;
	}
	if (optind < argc) {
		dc->source = argv[optind];
		r = caps_dump_read_file(dc->source, fmt, &dc->dump, &err);
		if (r < 0) {
			hvctl_dump_error("hvctl cpuid decode", dc->source, r, &err);
			goto out;
		}
	} else {
		dc->source = "this machine";
		r = caps_host_cpuid_read(&dc->dump);
		if (r < 0) {
			fprintf(stderr, "hvctl cpuid decode: cannot read this machine's CPUID: %s\n",
				strerror(-r));
			goto out;
		}
	}

	r = caps_cpu_id_decode(&dc->dump, &dc->id);
	if (r < 0) {
		fprintf(stderr, "hvctl cpuid decode: %s: the dump lacks leaf 0 or leaf 1\n", dc->source);
		goto out;
	}
	caps_from_dump(&dc->features, &dc->dump);
	dc->n_unknown = caps_unknown_bits(&dc->dump, dc->unknown, MAX_UNKNOWN);

	if (json) {
		if (print_json(dc, names) < 0) {
			fprintf(stderr, "hvctl cpuid decode: out of memory\n");
			goto out;
		}
	} else {
		print_human(dc, names);
	}
	status = HVCTL_EXIT_OK;
out:
	free(dc);
	return status;
}

const struct hvctl_command hvctl_cmd_cpuid_decode = {
	.group = "cpuid",
	.name = "decode",
	.synopsis = "[--format FORMAT] [--names linux|qemu] [--json] [FILE]",
	.summary = "Decode a CPUID dump (or this machine) into vendor, signature and named features",
	.help =
		"FILE is a libvirt cputestdata XML dump, the output of `cpuid -r`, or an\n"
		"hvcap JSON dump ('-' reads standard input).  Without FILE, this machine's\n"
		"own CPUID is decoded.\n"
		"\n"
		"  -f, --format FORMAT  auto (default), libvirt-xml, cpuid-r or json\n"
		"  -n, --names STYLE    linux (default): Linux /proc/cpuinfo names;\n"
		"                       qemu: the libvirt/QEMU spellings where they exist\n"
		"  -j, --json           print an object with vendor, family, model,\n"
		"                       stepping, features and unknown_bits\n"
		"  -h, --help           show this help\n"
		"\n"
		"Exit status: 0 decoded, 1 the dump is unreadable or malformed (reason on\n"
		"stderr), 2 usage error.\n",
	.run = cpuid_decode_run,
};
