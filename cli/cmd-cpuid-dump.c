/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* hvctl cpuid dump: this machine's raw CPUID. */

#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include <libcaps/dump.h>
#include <libcaps/host.h>

#include "hvctl.h"

static void print_table(const struct caps_dump *d)
{
	printf("%-10s %-5s %-5s %-10s %-10s %-10s %-10s\n",
	       "function", "index", "flags", "eax", "ebx", "ecx", "edx");
	for (size_t i = 0; i < d->cpuid.nent; i++) {
		const struct caps_cpuid_entry *e = &d->cpuid.entries[i];

		printf("0x%08x 0x%02x  %-5s 0x%08x 0x%08x 0x%08x 0x%08x\n",
		       e->function, e->index,
		       (e->flags & CAPS_CPUID_FLAG_SIGNIFICANT_INDEX) ? "idx" : "-",
		       e->eax, e->ebx, e->ecx, e->edx);
	}
}

static int cpuid_dump_run(int argc, char **argv)
{
	static const struct option options[] = {
		{ "help",   no_argument,       NULL, 'h' },
		{ "json",   no_argument,       NULL, 'j' },
		{ "format", required_argument, NULL, 'f' },
		{ 0 }
	};
	const struct hvctl_command *cmd = &hvctl_cmd_cpuid_dump;
	enum caps_dump_format fmt = CAPS_DUMP_AUTO;	/* AUTO here = the table */
	struct caps_dump *d;
	char *text = NULL;
	int opt, r;

	while ((opt = getopt_long(argc, argv, ":hjf:", options, NULL)) != -1) {
		switch (opt) {
		case 'h':
			hvctl_command_help(cmd, stdout);
			return HVCTL_EXIT_OK;
		case 'j':
			fmt = CAPS_DUMP_JSON;
			break;
		case 'f':
			if (strcmp(optarg, "table") == 0)
				fmt = CAPS_DUMP_AUTO;
			else if (caps_dump_format_from_string(optarg, &fmt) < 0 || fmt == CAPS_DUMP_AUTO)
				return hvctl_usage_error(cmd, "unknown format '%s' (table, libvirt-xml, cpuid-r, json)",
							 optarg);
			break;
		default:
			return hvctl_getopt_error(cmd, opt, argv);
		}
	}
	if (optind < argc)
		return hvctl_usage_error(cmd, "unexpected argument '%s'", argv[optind]);

	d = malloc(sizeof(*d));
	if (!d) {
		fprintf(stderr, "hvctl cpuid dump: out of memory\n");
		return HVCTL_EXIT_FAILURE;
	}
	r = caps_host_cpuid_read(d);
	if (r < 0) {
		fprintf(stderr, "hvctl cpuid dump: cannot read this machine's CPUID: %s\n", strerror(-r));
		free(d);
		return HVCTL_EXIT_FAILURE;
	}
	if (fmt == CAPS_DUMP_AUTO) {
		print_table(d);
	} else {
		r = caps_dump_write(d, fmt, &text);
		if (r < 0) {
			fprintf(stderr, "hvctl cpuid dump: cannot write %s: %s\n",
				caps_dump_format_to_string(fmt), strerror(-r));
			free(d);
			return HVCTL_EXIT_FAILURE;
		}
		fputs(text, stdout);
		free(text);
	}
	free(d);
	return HVCTL_EXIT_OK;
}

const struct hvctl_command hvctl_cmd_cpuid_dump = {
	.group = "cpuid",
	.name = "dump",
	.synopsis = "[--json | --format FORMAT]",
	.summary = "Print this machine's raw CPUID, every leaf and sub-leaf",
	.help =
		"  -f, --format FORMAT  table (default), libvirt-xml, cpuid-r or json: the\n"
		"                       dump formats 'hvctl cpuid decode' reads\n"
		"  -j, --json           the same as --format json\n"
		"  -h, --help           show this help\n",
	.run = cpuid_dump_run,
};
