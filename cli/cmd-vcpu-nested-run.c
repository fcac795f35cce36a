/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* hvctl vcpu nested-run: enter L2 with vmcb12's erap_ctl. */

#include <getopt.h>

#include "online.h"

static int vcpu_nested_run_run(int argc, char **argv)
{
	static const struct option options[] = {
		{ "help",     no_argument,       NULL, 'h' },
		{ "json",     no_argument,       NULL, 'j' },
		{ "erap-ctl", required_argument, NULL, 'e' },
		{ 0 }
	};
	const struct hvctl_command *cmd = &hvctl_cmd_vcpu_nested_run;
	struct json_object *extra = NULL, *reply = NULL;
	bool json = false, have_erap = false;
	uint32_t erap = 0;
	char buf[64];
	int opt, r;

	while ((opt = getopt_long(argc, argv, ":hje:", options, NULL)) != -1) {
		switch (opt) {
		case 'h':
			hvctl_command_help(cmd, stdout);
			return HVCTL_EXIT_OK;
		case 'j':
			json = true;
			break;
		case 'e': {
			uint64_t v;

			if (hvctl_parse_u64(optarg, &v) < 0 || v > 0xff)
				return hvctl_usage_error(cmd, "--erap-ctl '%s' is not a byte (0-0xff)", optarg);
			erap = (uint32_t)v;
			have_erap = true;
			break;
		}
		default:
			return hvctl_getopt_error(cmd, opt, argv);
		}
	}
	if (argc - optind != 2)
		return hvctl_usage_error(cmd, "expected 2 arguments: %s", cmd->synopsis);
	if (have_erap) {
		extra = json_object_new_object();
		if (extra)
			json_object_object_add(extra, "vmcb12_erap_ctl", json_object_new_int64(erap));
	}
	r = hvctl_vcpu_call(cmd, argv[optind], argv[optind + 1], "io.hvcap.Vm.NestedRun", extra, &reply);
	if (r)
		return r;
	if (json)
		return hvctl_print_reply_json(reply);
	printf("in L2: vmcb02 erap_ctl %s\n",
	       hvctl_erap_string(hvctl_json_int(reply, "vmcb02_erap_ctl"), buf, sizeof(buf)));
	json_object_put(reply);
	return HVCTL_EXIT_OK;
}

const struct hvctl_command hvctl_cmd_vcpu_nested_run = {
	.group = "vcpu",
	.name = "nested-run",
	.synopsis = "VM VCPU [--erap-ctl BYTE] [--json]",
	.summary = "Enter L2: the erap_ctl KVM builds in vmcb02 from vmcb12",
	.help =
		"Models L1's VMRUN of its guest.  When L1 has ERAPS, KVM builds vmcb02's\n"
		"erap_ctl as vmcb12's ALLOW_LARGER_RAP plus CLEAR_RAP (the RAP is always\n"
		"flushed on entry to L2); otherwise it stays 0.\n"
		"io.hvcap.Vm.InvalidState when the vCPU is already in L2 or its guest has no\n"
		"SVM.  Needs privileges.\n"
		"\n"
		"  -e, --erap-ctl BYTE  vmcb12's erap_ctl (default 0): bit 0 ALLOW_LARGER_RAP,\n"
		"                       bit 1 CLEAR_RAP\n"
		"  -j, --json           the reply of io.hvcap.Vm.NestedRun: {vmcb02_erap_ctl}\n"
		"  -h, --help           show this help\n",
	.run = vcpu_nested_run_run,
};
