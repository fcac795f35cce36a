/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* hvctl host model: what KVM would support on a host described by a dump. */

#include <getopt.h>
#include <stdlib.h>

#include "host.h"

static int host_model_run(int argc, char **argv)
{
	static const struct option options[] = {
		{ "help",  no_argument,       NULL, 'h' },
		{ "json",  no_argument,       NULL, 'j' },
		{ "names", required_argument, NULL, 'n' },
		{ "dump",  required_argument, NULL, 'd' },
		{ "param", required_argument, NULL, 'p' },
		{ 0 }
	};
	const struct hvctl_command *cmd = &hvctl_cmd_host_model;
	enum caps_names names = CAPS_NAMES_LINUX;
	struct hvctl_params params = { .n = 0 };
	const char *dump = NULL;
	struct hvctl_host *h;
	bool json = false;
	int opt, r;

	while ((opt = getopt_long(argc, argv, ":hjn:d:p:", options, NULL)) != -1) {
		switch (opt) {
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
	if (optind < argc)
		return hvctl_usage_error(cmd, "unexpected argument '%s'", argv[optind]);
	if (!dump)
		return hvctl_usage_error(cmd, "--dump FILE is required");

	h = calloc(1, sizeof(*h));
	if (!h) {
		fprintf(stderr, "hvctl host model: out of memory\n");
		return HVCTL_EXIT_FAILURE;
	}
	r = hvctl_host_model(cmd, h, dump, &params);
	if (r == 0 && hvctl_host_print(h, names, json) < 0) {
		fprintf(stderr, "hvctl host model: out of memory\n");
		r = HVCTL_EXIT_FAILURE;
	}
	free(h);
	return r;
}

const struct hvctl_command hvctl_cmd_host_model = {
	.group = "host",
	.name = "model",
	.synopsis = "--dump FILE [--param K=V]... [--names linux|qemu] [--json]",
	.summary = "Compute what KVM would support on the host a CPUID dump describes",
	.help =
		"FILE is a raw CPUID dump (libvirt XML, `cpuid -r` or hvcap JSON).  Parameters\n"
		"describe the host's kernel and KVM modules (docs/MODEL.md):\n"
		"  vendor=intel|amd       vendor module (default: from the CPUID vendor)\n"
		"  kernel=6.1..7.0        target kernel (default 7.0)\n"
		"  tdp=on|off             NPT/EPT (default on); tdp_level=4|5 (default 4)\n"
		"  nested=on|off          nested virtualization (default on)\n"
		"  avic=on|off            AVIC (default off); x2AVIC follows the CPUID bit\n"
		"  sev, sev_es, snp       SEV levels enabled in kvm_amd (default off)\n"
		"  enable_pmu=on|off      kvm.enable_pmu (default on)\n"
		"  amx_permitted=on|off   the caller holds AMX guest permission (default off)\n"
		"  sched_info=on|off      CONFIG_SCHED_INFO, steal time (default on)\n"
		"  tsa_fix=auto|on|off    SYNTHESIZED_F needs the kernel flag (7.0-rc3; auto by kernel)\n"
		"\n"
		"  -d, --dump FILE     the host's raw CPUID\n"
		"  -p, --param K=V     a host parameter (repeatable)\n"
		"  -n, --names STYLE   linux (default) or qemu feature names\n"
		"  -j, --json          an object with backend, params, fingerprint, features,\n"
		"                      cpuid, emulated_cpuid and unsupported ({feature, reason,\n"
		"                      detail} for every catalog feature not supported)\n"
		"  -h, --help          show this help\n"
		"\n"
		"Exit status: 0 modelled, 1 bad dump, 2 usage error (bad parameter).\n",
	.run = host_model_run,
};
