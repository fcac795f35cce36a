/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* hvctl vcpu run: one modelled VMRUN. */

#include "online.h"

static int vcpu_run_run(int argc, char **argv)
{
	return hvctl_vcpu_erap_command(&hvctl_cmd_vcpu_run, argc, argv, "io.hvcap.Vm.Run", "erap_ctl",
				       "VMRUN used erap_ctl ", "; the vCPU's CPUID is frozen");
}

const struct hvctl_command hvctl_cmd_vcpu_run = {
	.group = "vcpu",
	.name = "run",
	.synopsis = "VM VCPU [--json]",
	.summary = "One modelled VMRUN: the erap_ctl it uses; freezes CPUID, clears CLEAR_RAP",
	.help =
		"Runs the vCPU once as KVM's SVM code would: CLEAR_RAP is set for this VMRUN\n"
		"when the RAP is dirty and the guest has ERAPS, and cleared after it when the\n"
		"host has ERAPS; from now on the vCPU only accepts its current CPUID.  Needs\n"
		"privileges.\n"
		"\n"
		"  -j, --json   the reply of io.hvcap.Vm.Run: {erap_ctl}\n"
		"  -h, --help   show this help\n",
	.run = vcpu_run_run,
};
