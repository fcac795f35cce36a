/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * io.hvcap.Vm.SetCpuid (privileged): KVM_SET_CPUID2 on a vCPU.  At most
 * 256 entries (KVM_MAX_CPUID_ENTRIES), counted before any is decoded;
 * transactional; after the vCPU has run only the identical CPUID passes,
 * anything else is CpuidFrozen.
 */

#include <errno.h>
#include <stdlib.h>

#include "hvcapd-internal.h"

struct params {
	uint32_t vm;
	uint32_t vcpu;
	struct caps_cpuid entries;
};

static const struct proto_field entry_element = {
	.type = PROTO_FIELD_OBJECT,
	.offset = 0,
	.fields = hvcapd_cpuid_entry_fields,
};

static const struct proto_field fields[] = {
	HVCAPD_FIELD_VM(struct params, vm),
	HVCAPD_FIELD_VCPU(struct params, vcpu),
	{ .name = "entries", .type = PROTO_FIELD_ARRAY, .flags = PROTO_FIELD_REQUIRED,
	  .offset = offsetof(struct params, entries.entries), .element = &entry_element,
	  .element_size = sizeof(struct caps_cpuid_entry), .max_count = CAPS_CPUID_MAX_ENTRIES,
	  .count_offset = offsetof(struct params, entries.nent) },
	{ .name = NULL },
};

static int reply_too_many(struct request *req, size_t n)
{
	struct json_object *p = json_object_new_object();
	bool ok;

	ok = hvcapd_json_add(p, "entries", json_object_new_int64((int64_t)n)) == 0;
	ok = ok && hvcapd_json_add(p, "max", json_object_new_int(CAPS_CPUID_MAX_ENTRIES)) == 0;
	if (!ok) {
		json_object_put(p);
		return -ENOMEM;
	}
	return request_error(req, "io.hvcap.Vm.TooManyEntries", p);
}

static int reply_frozen(struct request *req, uint32_t vm, uint32_t vcpu)
{
	struct json_object *p = json_object_new_object();
	bool ok;

	ok = hvcapd_json_add(p, "vm", json_object_new_int64(vm)) == 0;
	ok = ok && hvcapd_json_add(p, "vcpu", json_object_new_int64(vcpu)) == 0;
	if (!ok) {
		json_object_put(p);
		return -ENOMEM;
	}
	return request_error(req, "io.hvcap.Vm.CpuidFrozen", p);
}

static int set_cpuid(struct request *req, struct json_object *parameters, struct params *p)
{
	struct json_object *entries;
	struct hvcapd_vm *vm;
	struct hv_vcpu *vcpu;
	const char *why = NULL;
	int r;

	/* As KVM checks nent before copying: the count decides before any entry is decoded. */
	if (json_object_object_get_ex(parameters, "entries", &entries) &&
	    json_object_is_type(entries, json_type_array) &&
	    json_object_array_length(entries) > CAPS_CPUID_MAX_ENTRIES)
		return reply_too_many(req, json_object_array_length(entries));
	r = hvcapd_decode(req, fields, parameters, p);
	if (r)
		return r < 0 ? r : 0;
	vcpu = hvcapd_vcpu_or_reply(req, p->vm, p->vcpu, &vm, &r);
	if (!vcpu)
		return r;

	r = hv_vcpu_set_cpuid(vcpu, p->entries.entries, p->entries.nent, &why);
	if (r == -E2BIG)
		return reply_too_many(req, p->entries.nent);
	if (r == -EINVAL && hv_vcpu_has_run(vcpu))
		return reply_frozen(req, vm->id, p->vcpu);
	if (r == -EINVAL || r == -EPERM)
		return hvcapd_reply_invalid_cpuid(req, why ? why : "KVM_SET_CPUID2 refuses it");
	if (r < 0)
		return r;
	return hvcapd_save_and_reply(req, vm->id, json_object_new_object());
}

static int vm_set_cpuid(struct request *req, struct json_object *parameters)
{
	/* 7 KiB of entries: not for the stack of an event callback. */
	struct params *p = calloc(1, sizeof(*p));
	int r;

	if (!p)
		return -ENOMEM;
	r = set_cpuid(req, parameters, p);
	free(p);
	return r;
}

const struct method method_vm_set_cpuid = {
	.name = "io.hvcap.Vm.SetCpuid",
	.flags = METHOD_PRIVILEGED | METHOD_MUTATES,
	.handler = vm_set_cpuid,
};
