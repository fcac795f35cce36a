/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * io.hvcap.Vm.Init (privileged): an INIT signal.  KVM runs init_vmcb()
 * again, so erap_ctl gets ALLOW_LARGER_RAP iff the guest has ERAPS at this
 * moment (the only place KVM sets it); the vCPU leaves L2 and its CR3 and
 * CR4 are reset, which marks the RAP dirty.
 */

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

static int vm_init(struct request *req, struct json_object *parameters)
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

	hv_vcpu_init(vcpu);
	reply = json_object_new_object();
	if (hvcapd_json_add(reply, "erap_ctl", json_object_new_int(hv_vcpu_vmcb01_erap_ctl(vcpu))) < 0) {
		json_object_put(reply);
		reply = NULL;
	}
	return hvcapd_save_and_reply(req, vm->id, reply);
}

const struct method method_vm_init = {
	.name = "io.hvcap.Vm.Init",
	.flags = METHOD_PRIVILEGED | METHOD_MUTATES,
	.handler = vm_init,
};
