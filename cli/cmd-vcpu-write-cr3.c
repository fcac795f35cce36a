/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* hvctl vcpu write-cr3: would KVM take this MOV to CR3, and with which LAM bits. */

#include <inttypes.h>

#include "online.h"

static int vcpu_write_cr3_run(int argc, char **argv)
{
	const struct hvctl_command *cmd = &hvctl_cmd_vcpu_write_cr3;
	struct json_object *extra, *reply = NULL, *lam;
	bool json = false, legal;
	char hex[24];
	uint64_t v;
	char **pos;
	int r;

	r = hvctl_parse_plain(cmd, argc, argv, 3, &json, &pos);
	if (r)
		return r < 0 ? HVCTL_EXIT_OK : r;
	if (hvctl_parse_u64(pos[2], &v) < 0)
		return hvctl_usage_error(cmd, "CR3 '%s' is not a 64-bit number", pos[2]);
	snprintf(hex, sizeof(hex), "0x%" PRIx64, v);
	extra = json_object_new_object();
	if (extra)
		json_object_object_add(extra, "cr3", json_object_new_string(hex));
	r = hvctl_vcpu_call(cmd, pos[0], pos[1], "io.hvcap.Vm.WriteCr3", extra, &reply);
	if (r)
		return r;
	legal = hvctl_json_bool(reply, "legal");
	if (json) {
		r = hvctl_print_reply_json(reply);
		return r ? r : legal ? HVCTL_EXIT_OK : HVCTL_EXIT_FAILURE;
	}
	if (!legal) {
		printf("CR3 %s: illegal: KVM injects #GP (reserved bits, or LAM bits without LAM)\n", hex);
	} else {
		lam = hvctl_json_get(reply, "lam_bits");
		printf("CR3 %s: legal; LAM bits:", hex);
		for (size_t i = 0; lam && i < json_object_array_length(lam); i++)
			printf(" %s", json_object_get_string(json_object_array_get_idx(lam, i)));
		printf("%s%s\n", lam && json_object_array_length(lam) ? "" : " none",
		       hvctl_json_bool(reply, "rap_dirty") ? "; the RAP is dirty" : "");
	}
	json_object_put(reply);
	return legal ? HVCTL_EXIT_OK : HVCTL_EXIT_FAILURE;
}

const struct hvctl_command hvctl_cmd_vcpu_write_cr3 = {
	.group = "vcpu",
	.name = "write-cr3",
	.synopsis = "VM VCPU CR3 [--json]",
	.summary = "A guest MOV to CR3: legal (LAM bits) or #GP; marks the RAP dirty",
	.help =
		"CR3 is the value written (0x1000, 0x4000000000001000 with LAM_U57, ...).\n"
		"A legal write marks the vCPU's return address predictor dirty, so that its\n"
		"next VMRUN clears it when the guest has ERAPS.  Needs privileges.\n"
		"\n"
		"  -j, --json   the reply of io.hvcap.Vm.WriteCr3: {legal, lam_bits, rap_dirty}\n"
		"  -h, --help   show this help\n"
		"\n"
		"Exit status: 0 legal, 1 illegal (KVM would inject #GP) or a failed request.\n",
	.run = vcpu_write_cr3_run,
};
