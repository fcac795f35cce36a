/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * io.hvcap.Vm.AddVcpu (privileged): hot-plug a vCPU with the VM's guest
 * CPUID (KVM_CREATE_VCPU, then KVM_SET_CPUID2).  An APIC access memslot
 * that hybrid AVIC inhibited stays inhibited: hvcore does not allocate it
 * again.
 */

#include <errno.h>

#include "hvcapd-internal.h"

struct params {
	uint32_t vm;
	uint32_t vcpu;
	bool has_vcpu;
};

static const struct proto_field fields[] = {
	HVCAPD_FIELD_VM(struct params, vm),
	{ .name = "vcpu", .type = PROTO_FIELD_INT, .flags = PROTO_FIELD_NULLABLE | PROTO_FIELD_PRESENCE,
	  PROTO_MEMBER(struct params, vcpu), .presence_offset = offsetof(struct params, has_vcpu),
	  .min = 0, .max = HVCAPD_MAX_VCPU_ID },
	{ .name = NULL },
};

static int reply_vcpu_exists(struct request *req, uint32_t vm, uint32_t vcpu)
{
	struct json_object *p = json_object_new_object();
	bool ok;

	ok = hvcapd_json_add(p, "vm", json_object_new_int64(vm)) == 0;
	ok = ok && hvcapd_json_add(p, "vcpu", json_object_new_int64(vcpu)) == 0;
	if (!ok) {
		json_object_put(p);
		return -ENOMEM;
	}
	return request_error(req, "io.hvcap.Vm.VcpuExists", p);
}

static int vm_add_vcpu(struct request *req, struct json_object *parameters)
{
	struct hvcapd *d = request_daemon(req);
	struct params p = { 0 };
	struct json_object *reply;
	struct hvcapd_vm *vm;
	const char *why = NULL;
	uint32_t id;
	int r;

	r = hvcapd_decode(req, fields, parameters, &p);
	if (r)
		return r < 0 ? r : 0;
	vm = hvcapd_vm_or_reply(req, p.vm, &r);
	if (!vm)
		return r;
	if (p.has_vcpu && hv_vm_vcpu(vm->vm, p.vcpu))
		return reply_vcpu_exists(req, vm->id, p.vcpu);
	if (vm->n_vcpus >= hvcapd_max_vcpus_per_vm(d))
		return request_limit_exceeded(req, "max_vcpus_per_vm", hvcapd_max_vcpus_per_vm(d));
	if (p.has_vcpu) {
		id = p.vcpu;
	} else {
		/* The lowest free id: at most n_vcpus lookups of O(log n). */
		for (id = 0; hv_vm_vcpu(vm->vm, id); id++)
			;
	}

	/* The reply first: after the vCPU exists, only saving may fail. */
	reply = json_object_new_object();
	if (hvcapd_json_add(reply, "vcpu", json_object_new_int64(id)) < 0) {
		json_object_put(reply);
		return -ENOMEM;
	}
	r = hvcapd_vm_add_vcpu(vm, id, &why);
	if (r < 0)
		json_object_put(reply);
	if (r < 0 && hv_vm_vcpu(vm->vm, id)) {
		int saved;

		/* The vCPU exists without CPUID, as after a failed KVM_SET_CPUID2: save that. */
		saved = hvcapd_state_save_vm(d, p.vm);
		if (saved < 0)
			return saved;
		if (r == -EINVAL || r == -EPERM)
			return hvcapd_reply_invalid_cpuid(req, why ? why : "KVM_SET_CPUID2 refuses the guest CPUID");
		return r;
	}
	if (r == -E2BIG)
		/* hvcore's bound, from when the VM was created or restored. */
		return request_limit_exceeded(req, "max_vcpus_per_vm", hvcapd_max_vcpus_per_vm(d));
	if (r < 0)
		return r;
	return hvcapd_save_and_reply(req, p.vm, reply);
}

const struct method method_vm_add_vcpu = {
	.name = "io.hvcap.Vm.AddVcpu",
	.flags = METHOD_PRIVILEGED | METHOD_MUTATES,
	.handler = vm_add_vcpu,
};
