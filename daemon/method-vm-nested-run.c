/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * io.hvcap.Vm.NestedRun (privileged): L1 runs VMRUN with vmcb12's
 * erap_ctl and the vCPU enters L2.  With ERAPS in L1, KVM builds vmcb02's
 * byte as vmcb12's ALLOW_LARGER_RAP plus CLEAR_RAP.  InvalidState when
 * the vCPU is in L2 already or has no nested virtualization.
 */

#include <errno.h>

#include "hvcapd-internal.h"

struct params {
	uint32_t vm;
	uint32_t vcpu;
	uint8_t vmcb12_erap_ctl;
};

static const struct proto_field fields[] = {
	HVCAPD_FIELD_VM(struct params, vm),
	HVCAPD_FIELD_VCPU(struct params, vcpu),
	{ .name = "vmcb12_erap_ctl", .type = PROTO_FIELD_INT, .flags = PROTO_FIELD_NULLABLE,
	  PROTO_MEMBER(struct params, vmcb12_erap_ctl), .min = 0, .max = UINT8_MAX },
	{ .name = NULL },
};

static int vm_nested_run(struct request *req, struct json_object *parameters)
{
	struct params p = { 0 };
	struct json_object *reply;
	struct hvcapd_vm *vm;
	struct hv_vcpu *vcpu;
	uint8_t vmcb02 = 0;
	int r;

	r = hvcapd_decode(req, fields, parameters, &p);
	if (r)
		return r < 0 ? r : 0;
	vcpu = hvcapd_vcpu_or_reply(req, p.vm, p.vcpu, &vm, &r);
	if (!vcpu)
		return r;

	if (hv_vcpu_is_guest_mode(vcpu))
		return hvcapd_reply_invalid_state(req, "the vCPU runs L2 already: NestedExit first");
	r = hv_vcpu_nested_run(vcpu, p.vmcb12_erap_ctl, &vmcb02);
	if (r == -EINVAL)
		return hvcapd_reply_invalid_state(req, "no nested virtualization for this vCPU: the host's nested "
						       "parameter and the guest's svm (or vmx) feature are both needed");
	if (r < 0)
		return r;
	reply = json_object_new_object();
	if (hvcapd_json_add(reply, "vmcb02_erap_ctl", json_object_new_int(vmcb02)) < 0) {
		json_object_put(reply);
		reply = NULL;
	}
	return hvcapd_save_and_reply(req, vm->id, reply);
}

const struct method method_vm_nested_run = {
	.name = "io.hvcap.Vm.NestedRun",
	.flags = METHOD_PRIVILEGED | METHOD_MUTATES,
	.handler = vm_nested_run,
};
