/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * io.hvcap.Vm.Run (privileged): one modelled VMRUN.  erap_ctl is the byte
 * VMRUN used (CLEAR_RAP set when the ERAPS guest's RAP was dirty);
 * afterwards KVM has cleared CLEAR_RAP (on an ERAPS host) and the vCPU's
 * CPUID is frozen.
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

static int vm_run(struct request *req, struct json_object *parameters)
{
	struct params p = { 0 };
	struct json_object *reply;
	struct hvcapd_vm *vm;
	struct hv_vcpu *vcpu;
	uint8_t erap_ctl = 0;
	int r;

	r = hvcapd_decode(req, fields, parameters, &p);
	if (r)
		return r < 0 ? r : 0;
	vcpu = hvcapd_vcpu_or_reply(req, p.vm, p.vcpu, &vm, &r);
	if (!vcpu)
		return r;

	r = hv_vcpu_run(vcpu, &erap_ctl);
	if (r < 0)
		return r;
	reply = json_object_new_object();
	if (hvcapd_json_add(reply, "erap_ctl", json_object_new_int(erap_ctl)) < 0) {
		json_object_put(reply);
		reply = NULL;
	}
	return hvcapd_save_and_reply(req, vm->id, reply);
}

const struct method method_vm_run = {
	.name = "io.hvcap.Vm.Run",
	.flags = METHOD_PRIVILEGED | METHOD_MUTATES,
	.handler = vm_run,
};
