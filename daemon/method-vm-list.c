/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* io.hvcap.Vm.List: every registered VM, in id order. */

#include <errno.h>

#include "hvcapd-internal.h"

static const struct proto_field fields[] = {
	{ .name = NULL },
};

static struct json_object *summary_json(const struct hvcapd_vm *vm)
{
	struct json_object *o = json_object_new_object();
	bool ok;

	ok = hvcapd_json_add(o, "vm", json_object_new_int64(vm->id)) == 0;
	ok = ok && hvcapd_json_add(o, "name", json_object_new_string(vm->name)) == 0;
	ok = ok && hvcapd_json_add(o, "vcpus", json_object_new_int64((int64_t)hv_vm_vcpu_count(vm->vm))) == 0;
	ok = ok && hvcapd_json_add(o, "apic_access_memslot",
				   json_object_new_string(hvcapd_memslot_state(vm->vm))) == 0;
	if (!ok) {
		json_object_put(o);
		return NULL;
	}
	return o;
}

static int vm_list(struct request *req, struct json_object *parameters)
{
	struct hvcapd_registry *reg = hvcapd_registry(request_daemon(req));
	struct json_object *reply, *vms = json_object_new_array();
	char none;
	int r;

	r = hvcapd_decode(req, fields, parameters, &none);
	if (r) {
		json_object_put(vms);
		return r < 0 ? r : 0;
	}
	for (const struct hvcapd_vm *vm = reg->first; vms && vm; vm = vm->next) {
		struct json_object *s = summary_json(vm);

		if (!s || json_object_array_add(vms, s) < 0) {
			json_object_put(s);
			json_object_put(vms);
			vms = NULL;
		}
	}
	reply = json_object_new_object();
	if (hvcapd_json_add(reply, "vms", vms) < 0) {
		json_object_put(reply);
		return -ENOMEM;
	}
	return request_reply(req, reply);
}

const struct method method_vm_list = {
	.name = "io.hvcap.Vm.List",
	.flags = 0,
	.handler = vm_list,
};
