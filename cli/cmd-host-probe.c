/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* hvctl host probe: what this machine's KVM supports, asked through /dev/kvm. */

#include <getopt.h>
#include <stdlib.h>

#include "host.h"

static int host_probe_run(int argc, char **argv)
{
	static const struct option options[] = {
		{ "help",  no_argument,       NULL, 'h' },
		{ "json",  no_argument,       NULL, 'j' },
		{ "names", required_argument, NULL, 'n' },
		{ 0 }
	};
	const struct hvctl_command *cmd = &hvctl_cmd_host_probe;
	enum caps_names names = CAPS_NAMES_LINUX;
	struct hvctl_host *h;
	bool json = false;
	int opt, r;

	while ((opt = getopt_long(argc, argv, ":hjn:", options, NULL)) != -1) {
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
		default:
			return hvctl_getopt_error(cmd, opt, argv);
		}
	}
	if (optind < argc)
		return hvctl_usage_error(cmd, "unexpected argument '%s'", argv[optind]);

	h = calloc(1, sizeof(*h));
	if (!h) {
		fprintf(stderr, "hvctl host probe: out of memory\n");
		return HVCTL_EXIT_FAILURE;
	}
	r = hvctl_host_probe(cmd, h, false) < 0 ? HVCTL_EXIT_FAILURE : HVCTL_EXIT_OK;
	if (r == HVCTL_EXIT_OK && hvctl_host_print(h, names, json) < 0) {
		fprintf(stderr, "hvctl host probe: out of memory\n");
		r = HVCTL_EXIT_FAILURE;
	}
	free(h);
	return r;
}

const struct hvctl_command hvctl_cmd_host_probe = {
	.group = "host",
	.name = "probe",
	.synopsis = "[--names linux|qemu] [--json]",
	.summary = "Ask this machine's KVM what it supports (offline, as hvcapd would)",
	.help =
		"Opens /dev/kvm and records KVM_GET_SUPPORTED_CPUID, KVM_GET_EMULATED_CPUID,\n"
		"the feature MSRs, KVM_CHECK_EXTENSION answers, the vendor module and every\n"
		"kvm and vendor module parameter, the kernel release and the microcode, and a\n"
		"fingerprint over them.  Without /dev/kvm (or permission to open it) it says so\n"
		"and exits 1; 'hvctl host features' falls back to the model then.\n"
		"\n"
		"  -n, --names STYLE  linux (default) or qemu feature names\n"
		"  -j, --json         the object 'hvctl host model --json' prints, with\n"
		"                     backend \"kvm\", msrs and kvm_caps\n"
		"  -h, --help         show this help\n",
	.run = host_probe_run,
};
