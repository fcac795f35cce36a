/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * io.hvcap.Vm.SetApicBase (privileged): a write of IA32_APIC_BASE.  On a
 * hybrid-AVIC host, the first vCPU that switches to x2APIC makes KVM
 * delete the APIC access memslot for good; watchers hear of it once.
 */

#include <errno.h>
#include <stdio.h>

#include "hvcapd-internal.h"

struct params {
	uint32_t vm;
	uint32_t vcpu;
	uint64_t value;
	bool host_initiated;
};

static const struct proto_field fields[] = {
	HVCAPD_FIELD_VM(struct params, vm),
	HVCAPD_FIELD_VCPU(struct params, vcpu),
	HVCAPD_FIELD_HEX64("value", struct params, value),
	{ .name = "host_initiated", .type = PROTO_FIELD_BOOL, .flags = PROTO_FIELD_NULLABLE,
	  PROTO_MEMBER(struct params, host_initiated) },
	{ .name = NULL },
};

static int reply_invalid(struct request *req, uint64_t value)
{
	struct json_object *p = json_object_new_object();

	if (hvcapd_json_add(p, "value", hvcapd_json_hex64(value)) < 0) {
		json_object_put(p);
		return -ENOMEM;
	}
	return request_error(req, "io.hvcap.Vm.InvalidApicBase", p);
}

static int vm_set_apic_base(struct request *req, struct json_object *parameters)
{
	struct hvcapd *d = request_daemon(req);
	struct params p = { .host_initiated = false };
	struct json_object *reply;
	struct hvcapd_vm *vm;
	struct hv_vcpu *vcpu;
	bool was_inhibited, ok;
	char detail[96];
	uint32_t id;
	int r;

	r = hvcapd_decode(req, fields, parameters, &p);
	if (r)
		return r < 0 ? r : 0;
	vcpu = hvcapd_vcpu_or_reply(req, p.vm, p.vcpu, &vm, &r);
	if (!vcpu)
		return r;

	was_inhibited = hv_vm_is_apic_access_memslot_inhibited(vm->vm);
	r = hv_vcpu_set_apic_base(vcpu, p.value, p.host_initiated);
	if (r == -EINVAL)
		return reply_invalid(req, p.value);
	if (r < 0)
		return r;

	reply = json_object_new_object();
	ok = hvcapd_json_add(reply, "apic_mode",
			     json_object_new_string(hvcapd_apic_mode_name(hv_vcpu_apic_mode(vcpu)))) == 0;
	ok = ok && hvcapd_json_add(reply, "apic_access_memslot",
				   json_object_new_string(hvcapd_memslot_state(vm->vm))) == 0;
	if (!ok) {
		json_object_put(reply);
		reply = NULL;
	}
	id = vm->id;
	if (!was_inhibited && hv_vm_is_apic_access_memslot_inhibited(vm->vm)) {
		/* Saved first: watchers hear only of what survives a restart. */
		r = hvcapd_state_save_vm(d, id);
		if (r < 0) {
			json_object_put(reply);
			return r;
		}
		snprintf(detail, sizeof(detail), "vCPU %u entered x2APIC mode under hybrid AVIC", p.vcpu);
		hvcapd_event(d, "memslot_inhibited", id, vm->name, NULL, detail);
		if (!reply)
			return -ENOMEM;
		return request_reply(req, reply);
	}
	return hvcapd_save_and_reply(req, id, reply);
}

const struct method method_vm_set_apic_base = {
	.name = "io.hvcap.Vm.SetApicBase",
	.flags = METHOD_PRIVILEGED | METHOD_MUTATES,
	.handler = vm_set_apic_base,
};
