/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* hvctl vcpu init: an INIT signal to a modelled vCPU. */

#include "online.h"

static int vcpu_init_run(int argc, char **argv)
{
	return hvctl_vcpu_erap_command(&hvctl_cmd_vcpu_init, argc, argv, "io.hvcap.Vm.Init", "erap_ctl",
				       "after INIT: vmcb01 erap_ctl ", "");
}

const struct hvctl_command hvctl_cmd_vcpu_init = {
	.group = "vcpu",
	.name = "init",
	.synopsis = "VM VCPU [--json]",
	.summary = "An INIT signal: vmcb01 is built again (ALLOW_LARGER_RAP iff ERAPS now)",
	.help =
		"KVM sets ALLOW_LARGER_RAP only when it builds vmcb01: at vCPU creation,\n"
		"when the guest's CPUID is still empty, and at INIT.  A vCPU created by\n"
		"'hvctl vm create' (create, then set CPUID, as VMMs do) therefore runs with\n"
		"the 32-entry RAP until its first INIT.  INIT also leaves L2 and resets CR3\n"
		"and CR4, which marks the RAP dirty.  Needs privileges.\n"
		"\n"
		"  -j, --json   the reply of io.hvcap.Vm.Init: {erap_ctl}\n"
		"  -h, --help   show this help\n",
	.run = vcpu_init_run,
};
