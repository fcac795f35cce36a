/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* hvctl vcpu set-cpuid: KVM_SET_CPUID2 on a modelled vCPU. */

#include <getopt.h>
#include <stdlib.h>

#include <libcaps/dump.h>
#include <proto/host.h>

#include "online.h"
#include "output.h"

static int vcpu_set_cpuid_run(int argc, char **argv)
{
	static const struct option options[] = {
		{ "help",   no_argument,       NULL, 'h' },
		{ "json",   no_argument,       NULL, 'j' },
		{ "format", required_argument, NULL, 'f' },
		{ 0 }
	};
	const struct hvctl_command *cmd = &hvctl_cmd_vcpu_set_cpuid;
	enum caps_dump_format fmt = CAPS_DUMP_AUTO;
	struct caps_dump_error err = { 0 };
	struct json_object *extra, *reply = NULL;
	struct caps_dump *dump;
	bool json = false;
	int opt, r;

	while ((opt = getopt_long(argc, argv, ":hjf:", options, NULL)) != -1) {
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
		default:
			return hvctl_getopt_error(cmd, opt, argv);
		}
	}
	if (argc - optind != 3)
		return hvctl_usage_error(cmd, "expected 3 arguments: %s", cmd->synopsis);

	dump = malloc(sizeof(*dump));
	if (!dump) {
		fprintf(stderr, "hvctl vcpu set-cpuid: out of memory\n");
		return HVCTL_EXIT_FAILURE;
	}
	r = caps_dump_read_file(argv[optind + 2], fmt, dump, &err);
	if (r < 0) {
		free(dump);
		return hvctl_dump_error(hvctl_who(cmd), argv[optind + 2], r, &err);
	}
	extra = json_object_new_object();
	if (extra)
		json_object_object_add(extra, "entries", proto_cpuid_to_json(&dump->cpuid));
	r = hvctl_vcpu_call(cmd, argv[optind], argv[optind + 1], "io.hvcap.Vm.SetCpuid", extra, &reply);
	if (r == 0 && json) {
		r = hvctl_print_reply_json(reply);
	} else if (r == 0) {
		printf("vCPU %s of VM %s: CPUID set (%zu entries)\n", argv[optind + 1], argv[optind],
		       dump->cpuid.nent);
		json_object_put(reply);
	}
	free(dump);
	return r;
}

const struct hvctl_command hvctl_cmd_vcpu_set_cpuid = {
	.group = "vcpu",
	.name = "set-cpuid",
	.synopsis = "VM VCPU FILE [--format FORMAT] [--json]",
	.summary = "Set a vCPU's CPUID as KVM_SET_CPUID2 does (identical only, once it has run)",
	.help =
		"FILE holds the CPUID entries: an hvcap JSON dump ({\"format\":\n"
		"\"hvcap-cpu-dump\", \"version\": 1, \"cpuid\": [{function, index, flags, eax,\n"
		"ebx, ecx, edx}]}), libvirt XML or 'cpuid -r' text.  The CPUID a policy gives:\n"
		"  hvctl policy check --json POLICY |\n"
		"    jq '{format: \"hvcap-cpu-dump\", version: 1, cpuid: .guest.cpuid}'\n"
		"hvcapd checks them as KVM does (at most 256 entries, no duplicates, a sane\n"
		"XSAVE size and MAXPHYADDR) and applies all of them or none.  After the vCPU\n"
		"has run only the identical CPUID is accepted (io.hvcap.Vm.CpuidFrozen).\n"
		"Needs privileges.\n"
		"\n"
		"  -f, --format FORMAT  auto (default), libvirt-xml, cpuid-r or json\n"
		"  -j, --json           the reply of io.hvcap.Vm.SetCpuid: {}\n"
		"  -h, --help           show this help\n",
	.run = vcpu_set_cpuid_run,
};
