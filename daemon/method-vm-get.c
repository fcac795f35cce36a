/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* io.hvcap.Vm.Get: a VM with its memslot, APICv inhibits and vCPUs (by id). */

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "hvcapd-internal.h"

struct params {
	uint32_t vm;
};

static const struct proto_field fields[] = {
	HVCAPD_FIELD_VM(struct params, vm),
	{ .name = NULL },
};

/* buf: room for KVM_GET_CPUID2's answer, which gives the entry count. */
static struct json_object *vcpu_json(const struct hv_vcpu *v, struct caps_cpuid_entry *buf)
{
	struct json_object *o = json_object_new_object();
	uint32_t n = CAPS_CPUID_MAX_ENTRIES;
	bool ok;

	if (hv_vcpu_get_cpuid(v, buf, &n) < 0) {
		json_object_put(o);
		return NULL;
	}
	ok = hvcapd_json_add(o, "vcpu", json_object_new_int64(hv_vcpu_id(v))) == 0;
	ok = ok && hvcapd_json_add(o, "cpuid_frozen", json_object_new_boolean(hv_vcpu_has_run(v))) == 0;
	ok = ok && hvcapd_json_add(o, "cpuid_entries", json_object_new_int64(n)) == 0;
	ok = ok && hvcapd_json_add(o, "apic_base", hvcapd_json_hex64(hv_vcpu_apic_base(v))) == 0;
	ok = ok && hvcapd_json_add(o, "apic_mode",
				   json_object_new_string(hvcapd_apic_mode_name(hv_vcpu_apic_mode(v)))) == 0;
	ok = ok && hvcapd_json_add(o, "apicv_active", json_object_new_boolean(hv_vcpu_is_apicv_active(v))) == 0;
	ok = ok && hvcapd_json_add(o, "cr3", hvcapd_json_hex64(hv_vcpu_cr3(v))) == 0;
	ok = ok && hvcapd_json_add(o, "rap_dirty", json_object_new_boolean(hv_vcpu_is_rap_dirty(v))) == 0;
	ok = ok && hvcapd_json_add(o, "erap_ctl", json_object_new_int(hv_vcpu_vmcb01_erap_ctl(v))) == 0;
	ok = ok && hvcapd_json_add(o, "vmcb02_erap_ctl", json_object_new_int(hv_vcpu_vmcb02_erap_ctl(v))) == 0;
	ok = ok && hvcapd_json_add(o, "guest_mode", json_object_new_boolean(hv_vcpu_is_guest_mode(v))) == 0;
	ok = ok && hvcapd_json_add(o, "maxphyaddr", json_object_new_int(hv_vcpu_maxphyaddr(v))) == 0;
	ok = ok && hvcapd_json_add(o, "features", hvcapd_json_features(hv_vcpu_cpu_caps(v), CAPS_NAMES_LINUX)) == 0;
	if (!ok) {
		json_object_put(o);
		return NULL;
	}
	return o;
}

static int compare_ids(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

static struct json_object *vm_json(const struct hvcapd_vm *vm)
{
	struct json_object *o = json_object_new_object(), *vcpus = json_object_new_array();
	uint32_t *ids = malloc((vm->n_vcpus ? vm->n_vcpus : 1) * sizeof(*ids));
	struct caps_cpuid_entry *buf = malloc(CAPS_CPUID_MAX_ENTRIES * sizeof(*buf));
	bool ok;

	if (!ids || !buf) {
		json_object_put(vcpus);
		vcpus = NULL;
	} else {
		memcpy(ids, vm->vcpu_ids, vm->n_vcpus * sizeof(*ids));
		qsort(ids, vm->n_vcpus, sizeof(*ids), compare_ids);
	}
	for (size_t i = 0; vcpus && i < vm->n_vcpus; i++) {
		struct json_object *v = vcpu_json(hv_vm_vcpu(vm->vm, ids[i]), buf);

		if (!v || json_object_array_add(vcpus, v) < 0) {
			json_object_put(v);
			json_object_put(vcpus);
			vcpus = NULL;
		}
	}
	free(ids);
	free(buf);
	ok = hvcapd_json_add(o, "vm", json_object_new_int64(vm->id)) == 0;
	ok = ok && hvcapd_json_add(o, "name", json_object_new_string(vm->name)) == 0;
	ok = ok && hvcapd_json_add(o, "policy_name", json_object_new_string(vm->policy_name)) == 0;
	ok = ok && hvcapd_json_add(o, "apic_access_memslot",
				   json_object_new_string(hvcapd_memslot_state(vm->vm))) == 0;
	ok = ok && hvcapd_json_add(o, "hybrid_avic", json_object_new_boolean(hv_vm_is_hybrid_avic(vm->vm))) == 0;
	ok = ok && hvcapd_json_add(o, "apicv_inhibits",
				   hvcapd_json_inhibits(hv_vm_apicv_inhibit_reasons(vm->vm))) == 0;
	/* vcpus exists already: its add consumes it, or it is dropped here. */
	if (ok)
		ok = hvcapd_json_add(o, "vcpus", vcpus) == 0;
	else
		json_object_put(vcpus);
	if (!ok) {
		json_object_put(o);
		return NULL;
	}
	return o;
}

static int vm_get(struct request *req, struct json_object *parameters)
{
	struct params p = { 0 };
	struct json_object *reply;
	struct hvcapd_vm *vm;
	int r;

	r = hvcapd_decode(req, fields, parameters, &p);
	if (r)
		return r < 0 ? r : 0;
	vm = hvcapd_vm_or_reply(req, p.vm, &r);
	if (!vm)
		return r;
	reply = json_object_new_object();
	if (hvcapd_json_add(reply, "vm", vm_json(vm)) < 0) {
		json_object_put(reply);
		return -ENOMEM;
	}
	return request_reply(req, reply);
}

const struct method method_vm_get = {
	.name = "io.hvcap.Vm.Get",
	.flags = 0,
	.handler = vm_get,
};
