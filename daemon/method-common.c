/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * What the method files share: decoding through field tables with the
 * InvalidParameter answer, VM and vCPU lookups with their errors, and the
 * JSON pieces of the replies.
 */

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <proto/policy.h>

#include "hvcapd-internal.h"

const struct proto_field hvcapd_cpuid_entry_fields[] = {
	{ .name = "function", .type = PROTO_FIELD_INT, .flags = PROTO_FIELD_REQUIRED,
	  PROTO_MEMBER(struct caps_cpuid_entry, function), .min = 0, .max = UINT32_MAX },
	{ .name = "index", .type = PROTO_FIELD_INT, .flags = PROTO_FIELD_REQUIRED,
	  PROTO_MEMBER(struct caps_cpuid_entry, index), .min = 0, .max = UINT32_MAX },
	{ .name = "flags", .type = PROTO_FIELD_INT, .flags = PROTO_FIELD_REQUIRED,
	  PROTO_MEMBER(struct caps_cpuid_entry, flags), .min = 0, .max = UINT32_MAX },
	{ .name = "eax", .type = PROTO_FIELD_INT, .flags = PROTO_FIELD_REQUIRED,
	  PROTO_MEMBER(struct caps_cpuid_entry, eax), .min = 0, .max = UINT32_MAX },
	{ .name = "ebx", .type = PROTO_FIELD_INT, .flags = PROTO_FIELD_REQUIRED,
	  PROTO_MEMBER(struct caps_cpuid_entry, ebx), .min = 0, .max = UINT32_MAX },
	{ .name = "ecx", .type = PROTO_FIELD_INT, .flags = PROTO_FIELD_REQUIRED,
	  PROTO_MEMBER(struct caps_cpuid_entry, ecx), .min = 0, .max = UINT32_MAX },
	{ .name = "edx", .type = PROTO_FIELD_INT, .flags = PROTO_FIELD_REQUIRED,
	  PROTO_MEMBER(struct caps_cpuid_entry, edx), .min = 0, .max = UINT32_MAX },
	{ .name = NULL },
};

int hvcapd_decode_keep_object(const struct proto_field *f, struct json_object *v, void *base,
			      const char *path, struct proto_error *err)
{
	if (!json_object_is_type(v, json_type_object))
		return proto_error_set(err, path, "expected an object, got %s", proto_json_type_desc(v));
	/* f->offset is PROTO_MEMBER()'s offsetof(), so the member is aligned. */
	*(struct json_object **)(void *)((char *)base + f->offset) = v;
	return 0;
}

const char *hvcapd_names_name(int value)
{
	switch (value) {
	case CAPS_NAMES_LINUX:
		return "linux";
	case CAPS_NAMES_QEMU:
		return "qemu";
	default:
		return NULL;
	}
}

const char *hvcapd_apic_mode_name(enum hv_apic_mode m)
{
	switch (m) {
	case HV_APIC_MODE_DISABLED:
		return "disabled";
	case HV_APIC_MODE_XAPIC:
		return "xapic";
	case HV_APIC_MODE_X2APIC:
		return "x2apic";
	default:
		return "invalid";
	}
}

const char *hvcapd_memslot_state(const struct hv_vm *vm)
{
	if (hv_vm_is_apic_access_memslot_inhibited(vm))
		return "inhibited";
	if (hv_vm_is_apic_access_memslot_enabled(vm))
		return "enabled";
	return "not_allocated";
}

int hvcapd_json_add(struct json_object *obj, const char *key, struct json_object *val)
{
	if (!obj || !val || json_object_object_add(obj, key, val) < 0) {
		json_object_put(val);
		return -ENOMEM;
	}
	return 0;
}

struct json_object *hvcapd_json_hex64(uint64_t v)
{
	char buf[24];

	snprintf(buf, sizeof(buf), "0x%" PRIx64, v);
	return json_object_new_string(buf);
}

static bool add_int(struct json_object *o, const char *key, int64_t v)
{
	struct json_object *i = json_object_new_int64(v);

	if (!i || json_object_object_add(o, key, i) < 0) {
		json_object_put(i);
		return false;
	}
	return true;
}

struct json_object *hvcapd_json_cpuid(const struct caps_cpuid_entry *e, size_t n)
{
	struct json_object *a = json_object_new_array();

	for (size_t i = 0; a && i < n; i++) {
		struct json_object *o = json_object_new_object();

		if (!o || !add_int(o, "function", e[i].function) || !add_int(o, "index", e[i].index) ||
		    !add_int(o, "flags", e[i].flags) || !add_int(o, "eax", e[i].eax) ||
		    !add_int(o, "ebx", e[i].ebx) || !add_int(o, "ecx", e[i].ecx) ||
		    !add_int(o, "edx", e[i].edx) || json_object_array_add(a, o) < 0) {
			json_object_put(o);
			json_object_put(a);
			return NULL;
		}
	}
	return a;
}

struct json_object *hvcapd_json_features(const struct caps *c, enum caps_names names)
{
	struct json_object *a = json_object_new_array();

	caps_for_each(f, c) {
		const char *name = caps_feature_name(f, names);
		struct json_object *s;

		if (!a)
			return NULL;
		if (!name)
			continue;
		s = json_object_new_string(name);
		if (!s || json_object_array_add(a, s) < 0) {
			json_object_put(s);
			json_object_put(a);
			return NULL;
		}
	}
	return a;
}

struct json_object *hvcapd_json_inhibits(uint32_t reasons)
{
	struct json_object *a = json_object_new_array();

	for (int i = 0; a && i < NR_APICV_INHIBIT_REASONS; i++) {
		struct json_object *s;

		if (!(reasons & (1u << i)))
			continue;
		s = json_object_new_string(hv_apicv_inhibit_name((enum hv_apicv_inhibit)i));
		if (!s || json_object_array_add(a, s) < 0) {
			json_object_put(s);
			json_object_put(a);
			return NULL;
		}
	}
	return a;
}

int hvcapd_decode(struct request *req, const struct proto_field *fields, struct json_object *parameters,
		  void *base)
{
	struct proto_error err = { { 0 } };
	int r;

	r = proto_json_decode_object(fields, parameters, base, "", &err);
	if (r == -ENOMEM)
		return r;
	if (r < 0) {
		r = request_invalid_parameter(req, err.path[0] ? err.path : "parameters");
		return r < 0 ? r : 1;
	}
	return 0;
}

int hvcapd_decode_policy(struct request *req, struct json_object *obj, const char *path,
			 struct caps_policy **ret)
{
	struct proto_error err = { { 0 } };
	struct caps_policy *p = malloc(sizeof(*p));
	char where[sizeof(err.path) + 64];
	int r;

	if (!p)
		return -ENOMEM;
	r = hvcapd_policy_from_json(obj, p, &err);
	if (r == -ENOMEM) {
		free(p);
		return r;
	}
	if (r < 0) {
		free(p);
		snprintf(where, sizeof(where), "%s%s%s", path, err.path[0] ? "." : "", err.path);
		r = request_invalid_parameter(req, where);
		return r < 0 ? r : 1;
	}
	*ret = p;
	return 0;
}

static struct json_object *object1(const char *k1, struct json_object *v1)
{
	struct json_object *o = json_object_new_object();

	if (!o || !v1 || json_object_object_add(o, k1, v1) < 0) {
		json_object_put(o);
		json_object_put(v1);
		return NULL;
	}
	return o;
}

static struct json_object *object2(const char *k1, struct json_object *v1, const char *k2,
				   struct json_object *v2)
{
	struct json_object *o = object1(k1, v1);

	if (!o || !v2 || json_object_object_add(o, k2, v2) < 0) {
		json_object_put(o);
		json_object_put(v2);
		return NULL;
	}
	return o;
}

int hvcapd_reply_no_such_vm(struct request *req, uint32_t vm)
{
	return request_error(req, "io.hvcap.Vm.NoSuchVm", object1("vm", json_object_new_int64(vm)));
}

int hvcapd_reply_no_such_vcpu(struct request *req, uint32_t vm, uint32_t vcpu)
{
	return request_error(req, "io.hvcap.Vm.NoSuchVcpu",
			     object2("vm", json_object_new_int64(vm), "vcpu", json_object_new_int64(vcpu)));
}

int hvcapd_reply_invalid_state(struct request *req, const char *reason)
{
	return request_error(req, "io.hvcap.Vm.InvalidState", object1("reason", json_object_new_string(reason)));
}

int hvcapd_reply_invalid_cpuid(struct request *req, const char *reason)
{
	return request_error(req, "io.hvcap.Vm.InvalidCpuid", object1("reason", json_object_new_string(reason)));
}

struct hvcapd_vm *hvcapd_vm_or_reply(struct request *req, uint32_t id, int *ret_r)
{
	struct hvcapd_vm *vm = hvcapd_registry_find(hvcapd_registry(request_daemon(req)), id);

	if (!vm)
		*ret_r = hvcapd_reply_no_such_vm(req, id);
	return vm;
}

struct hv_vcpu *hvcapd_vcpu_or_reply(struct request *req, uint32_t vm_id, uint32_t vcpu,
				     struct hvcapd_vm **ret_vm, int *ret_r)
{
	struct hvcapd_vm *vm = hvcapd_vm_or_reply(req, vm_id, ret_r);
	struct hv_vcpu *v;

	if (!vm)
		return NULL;
	v = hv_vm_vcpu(vm->vm, vcpu);
	if (!v)
		*ret_r = hvcapd_reply_no_such_vcpu(req, vm->id, vcpu);
	*ret_vm = vm;
	return v;
}

int hvcapd_save_and_reply(struct request *req, uint32_t vm_id, struct json_object *reply)
{
	int r = hvcapd_state_save_vm(request_daemon(req), vm_id);

	if (r < 0) {
		json_object_put(reply);
		return r;
	}
	/* A reply that could not be built: the state is saved all the same. */
	if (!reply)
		return -ENOMEM;
	return request_reply(req, reply);
}
