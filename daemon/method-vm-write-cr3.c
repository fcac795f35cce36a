/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * io.hvcap.Vm.WriteCr3 (privileged): a guest MOV to CR3.  An illegal
 * value (reserved bits, LAM bits without LAM) is KVM's #GP: legal false,
 * nothing changes.  A legal change marks the RAP dirty on SVM, so the
 * next VMRUN of an ERAPS guest sets CLEAR_RAP.
 */

#include <errno.h>

#include "hvcapd-internal.h"

struct params {
	uint32_t vm;
	uint32_t vcpu;
	uint64_t cr3;
};

static const struct proto_field fields[] = {
	HVCAPD_FIELD_VM(struct params, vm),
	HVCAPD_FIELD_VCPU(struct params, vcpu),
	HVCAPD_FIELD_HEX64("cr3", struct params, cr3),
	{ .name = NULL },
};

static struct json_object *lam_bits_json(uint64_t bits)
{
	struct json_object *a = json_object_new_array();

	if (a && (bits & HV_CR3_LAM_U48) && json_object_array_add(a, json_object_new_string("lam_u48")) < 0)
		goto fail;
	if (a && (bits & HV_CR3_LAM_U57) && json_object_array_add(a, json_object_new_string("lam_u57")) < 0)
		goto fail;
	return a;
fail:
	json_object_put(a);
	return NULL;
}

static int vm_write_cr3(struct request *req, struct json_object *parameters)
{
	struct params p = { 0 };
	struct json_object *reply;
	struct hvcapd_vm *vm;
	struct hv_vcpu *vcpu;
	bool legal, ok;
	int r;

	r = hvcapd_decode(req, fields, parameters, &p);
	if (r)
		return r < 0 ? r : 0;
	vcpu = hvcapd_vcpu_or_reply(req, p.vm, p.vcpu, &vm, &r);
	if (!vcpu)
		return r;

	r = hv_vcpu_set_cr3(vcpu, p.cr3);
	if (r < 0 && r != -EINVAL)
		return r;
	legal = r == 0;
	reply = json_object_new_object();
	ok = hvcapd_json_add(reply, "legal", json_object_new_boolean(legal)) == 0;
	ok = ok && hvcapd_json_add(reply, "lam_bits", lam_bits_json(hv_vcpu_get_active_cr3_lam_bits(vcpu))) == 0;
	ok = ok && hvcapd_json_add(reply, "rap_dirty", json_object_new_boolean(hv_vcpu_is_rap_dirty(vcpu))) == 0;
	if (!ok) {
		json_object_put(reply);
		reply = NULL;
	}
	if (!legal) {
		/* #GP: the vCPU is as it was, nothing to save. */
		return reply ? request_reply(req, reply) : -ENOMEM;
	}
	return hvcapd_save_and_reply(req, vm->id, reply);
}

const struct method method_vm_write_cr3 = {
	.name = "io.hvcap.Vm.WriteCr3",
	.flags = METHOD_PRIVILEGED | METHOD_MUTATES,
	.handler = vm_write_cr3,
};
