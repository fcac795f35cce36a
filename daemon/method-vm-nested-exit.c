/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * io.hvcap.Vm.NestedExit (privileged): a nested #VMEXIT back to L1.  With
 * ERAPS in L1, KVM sets CLEAR_RAP in vmcb01 so that L1's next run does
 * not consume L2's return addresses.  InvalidState outside L2.
 */

#include <errno.h>

#include "hvcapd-internal.h"

struct params {
	uint32_t vm;
	uint32_t vcpu;
};

static const struct proto_field fields[] = {
	HVCAPD_FIELD_VM(struct params, vm),
	HVCAPD_FIELD_VCPU(struct params, vcpu),
	{ .name = NULL },
};

static int vm_nested_exit(struct request *req, struct json_object *parameters)
{
	struct params p = { 0 };
	struct json_object *reply;
	struct hvcapd_vm *vm;
	struct hv_vcpu *vcpu;
	int r;

	r = hvcapd_decode(req, fields, parameters, &p);
	if (r)
		return r < 0 ? r : 0;
	vcpu = hvcapd_vcpu_or_reply(req, p.vm, p.vcpu, &vm, &r);
	if (!vcpu)
		return r;

	r = hv_vcpu_nested_exit(vcpu);
	if (r == -EINVAL)
		return hvcapd_reply_invalid_state(req, "the vCPU does not run L2: NestedRun first");
	if (r < 0)
		return r;
	reply = json_object_new_object();
	if (hvcapd_json_add(reply, "vmcb01_erap_ctl", json_object_new_int(hv_vcpu_vmcb01_erap_ctl(vcpu))) < 0) {
		json_object_put(reply);
		reply = NULL;
	}
	return hvcapd_save_and_reply(req, vm->id, reply);
}

const struct method method_vm_nested_exit = {
	.name = "io.hvcap.Vm.NestedExit",
	.flags = METHOD_PRIVILEGED | METHOD_MUTATES,
	.handler = vm_nested_exit,
};
