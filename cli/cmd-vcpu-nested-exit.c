/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* hvctl vcpu nested-exit: leave L2 for L1. */

#include "online.h"

static int vcpu_nested_exit_run(int argc, char **argv)
{
	return hvctl_vcpu_erap_command(&hvctl_cmd_vcpu_nested_exit, argc, argv, "io.hvcap.Vm.NestedExit", "vmcb01_erap_ctl",
				       "back in L1: vmcb01 erap_ctl ", "");
}

const struct hvctl_command hvctl_cmd_vcpu_nested_exit = {
	.group = "vcpu",
	.name = "nested-exit",
	.synopsis = "VM VCPU [--json]",
	.summary = "Leave L2: L1's next VMRUN clears the RAP when L1 has ERAPS",
	.help =
		"L2 shared the return address predictor with L1, so KVM sets CLEAR_RAP in\n"
		"vmcb01 for L1's next run when L1's guest has ERAPS.\n"
		"io.hvcap.Vm.InvalidState when the vCPU is not in L2.  Needs privileges.\n"
		"\n"
		"  -j, --json   the reply of io.hvcap.Vm.NestedExit: {vmcb01_erap_ctl}\n"
		"  -h, --help   show this help\n",
	.run = vcpu_nested_exit_run,
};
