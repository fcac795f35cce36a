/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * io.hvcap.Host's HostRecord and FeatureStatus as JSON (proto/host.h).
 * The key set of each object is the IDL type's, so that what hvctl prints
 * offline and what hvcapd answers are one format.
 */

#include <errno.h>
#include <inttypes.h>
#include <json-c/json.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include <proto/host.h>

#include "json-build.h"

static struct json_object *new_hex64(uint64_t v, bool padded)
{
	char buf[sizeof("0x") + 16];

	snprintf(buf, sizeof(buf), padded ? "0x%016" PRIx64 : "0x%" PRIx64, v);
	return json_object_new_string(buf);
}

static struct json_object *param_to_json(const struct caps_param *p)
{
	struct json_object *obj = json_object_new_object();
	bool ok = obj != NULL;

	ok = ok && proto_json_add(obj, "module", proto_json_new_string_member(p->module));
	ok = ok && proto_json_add(obj, "name", proto_json_new_string_member(p->name));
	ok = ok && proto_json_add(obj, "value", proto_json_new_string_member(p->value));
	return proto_json_finish(obj, ok);
}

static struct json_object *msr_to_json(const struct caps_msr *m)
{
	struct json_object *obj = json_object_new_object();
	bool ok = obj != NULL;

	ok = ok && proto_json_add(obj, "index", json_object_new_int64(m->index));
	ok = ok && proto_json_add(obj, "value", new_hex64(m->value, true));
	return proto_json_finish(obj, ok);
}

static struct json_object *kvm_cap_to_json(const struct caps_kvm_cap *c)
{
	struct json_object *obj = json_object_new_object();
	bool ok = obj != NULL;

	ok = ok && proto_json_add(obj, "cap", json_object_new_int64(c->cap));
	ok = ok && proto_json_add(obj, "name", json_object_new_string(c->name ? c->name : ""));
	ok = ok && proto_json_add(obj, "value", json_object_new_int64(c->value));
	return proto_json_finish(obj, ok);
}

/* The psABI defines x86-64-v1 to v4 (hvcore's HV_X86_64_LEVEL_MAX). */
#define HOST_LEVEL_MAX 4

struct json_object *proto_host_record_to_json(const struct caps_host_record *r,
					      const struct proto_host_derived *d,
					      enum caps_names names)
{
	const char *backend = caps_backend_to_string(r->backend);
	struct json_object *obj, *params, *features, *msrs, *kvm_caps;
	bool ok;

	if (!backend || d->level < 0 || d->level > HOST_LEVEL_MAX ||
	    r->supported.nent > CAPS_CPUID_MAX_ENTRIES ||
	    r->emulated.nent > CAPS_CPUID_MAX_ENTRIES || r->msrs.n > CAPS_MSR_MAX ||
	    r->n_params > CAPS_PARAM_MAX || r->n_kvm_caps > CAPS_KVM_CAP_MAX) {
		errno = EINVAL;
		return NULL;
	}
	obj = json_object_new_object();
	params = json_object_new_array();
	features = json_object_new_array();
	msrs = json_object_new_array();
	kvm_caps = json_object_new_array();
	ok = obj && params && features && msrs && kvm_caps;

	ok = ok && proto_json_add(obj, "backend", json_object_new_string(backend));
	ok = ok && proto_json_add(obj, "kernel_release", proto_json_new_string_member(r->kernel_release));
	ok = ok && proto_json_add(obj, "vendor_module", proto_json_new_string_member(r->vendor_module));
	ok = ok && proto_json_add(obj, "api_version", json_object_new_int(r->api_version));
	if (ok && r->has_microcode)
		ok = proto_json_add(obj, "microcode", new_hex64(r->microcode, false));
	ok = ok && proto_json_add(obj, "fingerprint", proto_json_new_string_member(r->fingerprint));
	ok = ok && proto_json_add(obj, "level", json_object_new_int(d->level));
	ok = ok && proto_json_add(obj, "avic", json_object_new_boolean(d->avic));
	ok = ok && proto_json_add(obj, "x2avic", json_object_new_boolean(d->x2avic));

	for (size_t i = 0; ok && i < r->n_params; i++)
		ok = proto_json_append(params, param_to_json(&r->params[i]));
	ok = proto_json_add_if(ok, obj, "params", params);

	caps_for_each(f, &r->features) {
		const char *name = caps_feature_name(f, names);

		if (ok && name)
			ok = proto_json_append(features, json_object_new_string(name));
	}
	ok = proto_json_add_if(ok, obj, "features", features);

	ok = ok && proto_json_add(obj, "cpuid", proto_cpuid_to_json(&r->supported));
	ok = ok && proto_json_add(obj, "emulated_cpuid", proto_cpuid_to_json(&r->emulated));

	for (size_t i = 0; ok && i < r->msrs.n; i++)
		ok = proto_json_append(msrs, msr_to_json(&r->msrs.msrs[i]));
	ok = proto_json_add_if(ok, obj, "msrs", msrs);

	for (size_t i = 0; ok && i < r->n_kvm_caps; i++)
		ok = proto_json_append(kvm_caps, kvm_cap_to_json(&r->kvm_caps[i]));
	ok = proto_json_add_if(ok, obj, "kvm_caps", kvm_caps);
	return proto_json_finish(obj, ok);
}

struct json_object *proto_feature_status_to_json(const char *name, const char *qemu, bool host,
						 bool kvm, const char *reason, const char *detail,
						 const char *const *notes, size_t n_notes)
{
	struct json_object *obj, *arr;
	bool ok;

	if (!name || !reason || (n_notes && !notes)) {
		errno = EINVAL;
		return NULL;
	}
	obj = json_object_new_object();
	arr = json_object_new_array();
	ok = obj && arr;
	ok = ok && proto_json_add(obj, "name", json_object_new_string(name));
	if (ok && qemu)
		ok = proto_json_add(obj, "qemu", json_object_new_string(qemu));
	ok = ok && proto_json_add(obj, "host", json_object_new_boolean(host));
	ok = ok && proto_json_add(obj, "kvm", json_object_new_boolean(kvm));
	ok = ok && proto_json_add(obj, "reason", json_object_new_string(reason));
	if (ok && detail)
		ok = proto_json_add(obj, "detail", json_object_new_string(detail));
	for (size_t i = 0; ok && i < n_notes; i++)
		ok = proto_json_append(arr, json_object_new_string(notes[i] ? notes[i] : ""));
	ok = proto_json_add_if(ok, obj, "notes", arr);
	return proto_json_finish(obj, ok);
}
