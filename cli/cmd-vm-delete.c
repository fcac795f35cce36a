/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* hvctl vm delete: unregister a VM. */

#include "online.h"

static int vm_delete_run(int argc, char **argv)
{
	const struct hvctl_command *cmd = &hvctl_cmd_vm_delete;
	struct json_object *reply = NULL;
	bool json = false;
	char **pos;
	int64_t id;
	int r;

	r = hvctl_parse_plain(cmd, argc, argv, 1, &json, &pos);
	if (r)
		return r < 0 ? HVCTL_EXIT_OK : r;
	r = hvctl_vm_call(cmd, pos[0], "io.hvcap.Vm.Delete", NULL, &reply, &id);
	if (r)
		return r;
	if (json)
		return hvctl_print_reply_json(reply);
	printf("deleted VM %lld\n", (long long)id);
	json_object_put(reply);
	return HVCTL_EXIT_OK;
}

const struct hvctl_command hvctl_cmd_vm_delete = {
	.group = "vm",
	.name = "delete",
	.synopsis = "VM [--json]",
	.summary = "Unregister a VM",
	.help =
		"VM is an id or a name.  Needs privileges.\n"
		"\n"
		"  -j, --json   the reply of io.hvcap.Vm.Delete: {}\n"
		"  -h, --help   show this help\n",
	.run = vm_delete_run,
};
