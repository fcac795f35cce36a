/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* hvctl vm create: register a VM whose vCPUs get a policy's guest CPUID. */

#include <stdlib.h>

#include <proto/policy.h>

#include "online.h"

static int vm_create_run(int argc, char **argv)
{
	const struct hvctl_command *cmd = &hvctl_cmd_vm_create;
	struct json_object *params, *reply = NULL;
	struct caps_policy *pol;
	bool json = false;
	char **pos;
	int r;

	r = hvctl_parse_plain(cmd, argc, argv, 2, &json, &pos);
	if (r)
		return r < 0 ? HVCTL_EXIT_OK : r;
	pol = malloc(sizeof(*pol));
	if (!pol) {
		fprintf(stderr, "hvctl vm create: out of memory\n");
		return HVCTL_EXIT_FAILURE;
	}
	r = hvctl_policy_read(cmd, pos[1], pol);
	if (r) {
		free(pol);
		return r;
	}
	params = json_object_new_object();
	if (params) {
		json_object_object_add(params, "name", json_object_new_string(pos[0]));
		json_object_object_add(params, "policy", proto_policy_to_json(pol));
	}
	free(pol);
	r = hvctl_online_call_once(cmd, "io.hvcap.Vm.Create", params, &reply);
	if (r)
		return r;
	if (json)
		return hvctl_print_reply_json(reply);
	printf("created VM %lld '%s' with %lld vCPU%s\n", (long long)hvctl_json_int(reply, "vm"), pos[0],
	       (long long)hvctl_json_int(reply, "vcpus"), hvctl_json_int(reply, "vcpus") == 1 ? "" : "s");
	json_object_put(reply);
	return HVCTL_EXIT_OK;
}

const struct hvctl_command hvctl_cmd_vm_create = {
	.group = "vm",
	.name = "create",
	.synopsis = "NAME POLICY [--json]",
	.summary = "Register a VM whose vCPUs get what POLICY gives the guest on this host",
	.help =
		"The policy (a JSON file, as for 'hvctl policy check') is evaluated by\n"
		"hvcapd against its host; a rejected policy is refused with its problems.\n"
		"Each of the policy's vcpus gets the guest CPUID.  NAME is 1-64 characters\n"
		"of A-Z a-z 0-9 . _ - and must be new.  Needs privileges: root, hvcapd's\n"
		"user or its admin group.\n"
		"\n"
		"  -j, --json   the reply of io.hvcap.Vm.Create: {vm, vcpus}\n"
		"  -h, --help   show this help\n",
	.run = vm_create_run,
};
