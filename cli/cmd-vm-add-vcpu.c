/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* hvctl vm add-vcpu: hot-plug a vCPU. */

#include <getopt.h>
#include <stdint.h>

#include "online.h"

static int vm_add_vcpu_run(int argc, char **argv)
{
	static const struct option options[] = {
		{ "help", no_argument,       NULL, 'h' },
		{ "json", no_argument,       NULL, 'j' },
		{ "vcpu", required_argument, NULL, 'v' },
		{ 0 }
	};
	const struct hvctl_command *cmd = &hvctl_cmd_vm_add_vcpu;
	struct json_object *extra = NULL, *reply = NULL;
	bool json = false, have_vcpu = false;
	uint32_t vcpu = 0;
	int64_t id;
	int opt, r;

	while ((opt = getopt_long(argc, argv, ":hjv:", options, NULL)) != -1) {
		switch (opt) {
		case 'h':
			hvctl_command_help(cmd, stdout);
			return HVCTL_EXIT_OK;
		case 'j':
			json = true;
			break;
		case 'v':
			if (hvctl_parse_id(optarg, INT32_MAX, &vcpu) < 0)
				return hvctl_usage_error(cmd, "--vcpu '%s' is not a vCPU id", optarg);
			have_vcpu = true;
			break;
		default:
			return hvctl_getopt_error(cmd, opt, argv);
		}
	}
	if (argc - optind != 1)
		return hvctl_usage_error(cmd, "expected 1 argument: %s", cmd->synopsis);

	if (have_vcpu) {
		extra = json_object_new_object();
		if (extra)
			json_object_object_add(extra, "vcpu", json_object_new_int64(vcpu));
	}
	r = hvctl_vm_call(cmd, argv[optind], "io.hvcap.Vm.AddVcpu", extra, &reply, &id);
	if (r)
		return r;
	if (json)
		return hvctl_print_reply_json(reply);
	printf("added vCPU %lld to VM %lld\n", (long long)hvctl_json_int(reply, "vcpu"), (long long)id);
	json_object_put(reply);
	return HVCTL_EXIT_OK;
}

const struct hvctl_command hvctl_cmd_vm_add_vcpu = {
	.group = "vm",
	.name = "add-vcpu",
	.synopsis = "VM [--vcpu ID] [--json]",
	.summary = "Hot-plug a vCPU, which gets the VM's guest CPUID",
	.help =
		"VM is an id or a name.  On a hybrid-AVIC host where the VM's APIC access\n"
		"memslot is inhibited, it stays inhibited for the new vCPU.  Needs\n"
		"privileges.\n"
		"\n"
		"  -v, --vcpu ID   the new vCPU's id (default: the lowest free one)\n"
		"  -j, --json      the reply of io.hvcap.Vm.AddVcpu: {vcpu}\n"
		"  -h, --help      show this help\n",
	.run = vm_add_vcpu_run,
};
