/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* hvctl vm list: the VMs hvcapd has registered. */

#include "online.h"

static int vm_list_run(int argc, char **argv)
{
	const struct hvctl_command *cmd = &hvctl_cmd_vm_list;
	struct json_object *reply = NULL, *vms;
	bool json = false;
	char **pos;
	size_t n;
	int r;

	r = hvctl_parse_plain(cmd, argc, argv, 0, &json, &pos);
	if (r)
		return r < 0 ? HVCTL_EXIT_OK : r;
	r = hvctl_online_call_once(cmd, "io.hvcap.Vm.List", NULL, &reply);
	if (r)
		return r;
	if (json)
		return hvctl_print_reply_json(reply);
	vms = hvctl_json_get(reply, "vms");
	n = vms ? json_object_array_length(vms) : 0;
	printf("%-6s %-32s %5s  %s\n", "VM", "NAME", "VCPUS", "APIC ACCESS MEMSLOT");
	for (size_t i = 0; i < n; i++) {
		struct json_object *vm = json_object_array_get_idx(vms, i);

		printf("%-6lld %-32s %5lld  %s\n", (long long)hvctl_json_int(vm, "vm"),
		       hvctl_json_str(vm, "name"), (long long)hvctl_json_int(vm, "vcpus"),
		       hvctl_json_str(vm, "apic_access_memslot"));
	}
	printf("(%zu VM%s)\n", n, n == 1 ? "" : "s");
	json_object_put(reply);
	return HVCTL_EXIT_OK;
}

const struct hvctl_command hvctl_cmd_vm_list = {
	.group = "vm",
	.name = "list",
	.synopsis = "[--json]",
	.summary = "The VMs hvcapd has registered",
	.help =
		"  -j, --json   the reply of io.hvcap.Vm.List: {vms: [{vm, name, vcpus,\n"
		"               apic_access_memslot}]}\n"
		"  -h, --help   show this help\n",
	.run = vm_list_run,
};
