/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* hvctl vcpu set-apic-base: a write of IA32_APIC_BASE. */

#include <getopt.h>
#include <inttypes.h>

#include "online.h"

static int vcpu_set_apic_base_run(int argc, char **argv)
{
	static const struct option options[] = {
		{ "help",           no_argument, NULL, 'h' },
		{ "json",           no_argument, NULL, 'j' },
		{ "host-initiated", no_argument, NULL, 'H' },
		{ 0 }
	};
	const struct hvctl_command *cmd = &hvctl_cmd_vcpu_set_apic_base;
	struct json_object *extra, *reply = NULL;
	bool json = false, host = false;
	char hex[24];
	uint64_t v;
	int opt, r;

	while ((opt = getopt_long(argc, argv, ":hjH", options, NULL)) != -1) {
		switch (opt) {
		case 'h':
			hvctl_command_help(cmd, stdout);
			return HVCTL_EXIT_OK;
		case 'j':
			json = true;
			break;
		case 'H':
			host = true;
			break;
		default:
			return hvctl_getopt_error(cmd, opt, argv);
		}
	}
	if (argc - optind != 3)
		return hvctl_usage_error(cmd, "expected 3 arguments: %s", cmd->synopsis);
	if (hvctl_parse_u64(argv[optind + 2], &v) < 0)
		return hvctl_usage_error(cmd, "VALUE '%s' is not a 64-bit number", argv[optind + 2]);

	snprintf(hex, sizeof(hex), "0x%" PRIx64, v);
	extra = json_object_new_object();
	if (extra) {
		json_object_object_add(extra, "value", json_object_new_string(hex));
		json_object_object_add(extra, "host_initiated", json_object_new_boolean(host));
	}
	r = hvctl_vcpu_call(cmd, argv[optind], argv[optind + 1], "io.hvcap.Vm.SetApicBase", extra, &reply);
	if (r)
		return r;
	if (json)
		return hvctl_print_reply_json(reply);
	printf("APIC base %s: APIC mode %s, APIC access memslot %s\n", hex, hvctl_json_str(reply, "apic_mode"),
	       hvctl_json_str(reply, "apic_access_memslot"));
	json_object_put(reply);
	return HVCTL_EXIT_OK;
}

const struct hvctl_command hvctl_cmd_vcpu_set_apic_base = {
	.group = "vcpu",
	.name = "set-apic-base",
	.synopsis = "VM VCPU VALUE [--host-initiated] [--json]",
	.summary = "Write IA32_APIC_BASE: APIC mode changes and x2APIC memslot inhibition",
	.help =
		"VALUE is the MSR value (0xfee00900: xAPIC enabled, BSP; 0xfee00d00: x2APIC).\n"
		"A guest write may not go from x2APIC to xAPIC or from disabled to x2APIC,\n"
		"nor set reserved bits (io.hvcap.Vm.InvalidApicBase).  On a hybrid-AVIC host\n"
		"the first switch of any vCPU to x2APIC inhibits the VM's APIC access memslot\n"
		"for good.  Needs privileges.\n"
		"\n"
		"  -H, --host-initiated  a write by the VMM (KVM_SET_MSRS), not by the guest\n"
		"  -j, --json            the reply of io.hvcap.Vm.SetApicBase: {apic_mode,\n"
		"                        apic_access_memslot}\n"
		"  -h, --help            show this help\n",
	.run = vcpu_set_apic_base_run,
};
