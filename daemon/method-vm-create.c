/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * io.hvcap.Vm.Create (privileged): evaluate the policy on this host,
 * refuse it when rejected, and create a VM whose policy.vcpus vCPUs
 * (ids 0..n-1) each get the guest CPUID, as a VMM does: KVM_CREATE_VCPU,
 * then KVM_SET_CPUID2.
 */

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <proto/policy.h>

#include "hvcapd-internal.h"

struct params {
	char name[HVCAPD_MAX_NAME + 1];
	struct json_object *policy;
};

static const struct proto_field fields[] = {
	{ .name = "name", .type = PROTO_FIELD_STRING, .flags = PROTO_FIELD_REQUIRED,
	  PROTO_MEMBER(struct params, name), .valid = hvcapd_vm_name_is_valid,
	  .valid_desc = "1 to 64 of the characters A-Z, a-z, 0-9, '.', '_' and '-'" },
	{ .name = "policy", .type = PROTO_FIELD_CUSTOM, .flags = PROTO_FIELD_REQUIRED,
	  PROTO_MEMBER(struct params, policy), .decode = hvcapd_decode_keep_object },
	{ .name = NULL },
};

static int reply_rejected(struct request *req, const struct caps_evaluation *ev)
{
	struct json_object *eval = proto_evaluation_to_json(ev, CAPS_NAMES_LINUX);
	struct json_object *problems = NULL, *p;

	if (!eval)
		return -ENOMEM;
	if (json_object_object_get_ex(eval, "problems", &problems))
		json_object_get(problems);
	json_object_put(eval);
	p = json_object_new_object();
	if (hvcapd_json_add(p, "problems", problems) < 0) {
		json_object_put(p);
		return -ENOMEM;
	}
	return request_error(req, "io.hvcap.Vm.PolicyRejected", p);
}

static int reply_exists(struct request *req, const char *name)
{
	struct json_object *p = json_object_new_object();

	if (hvcapd_json_add(p, "name", json_object_new_string(name)) < 0) {
		json_object_put(p);
		return -ENOMEM;
	}
	return request_error(req, "io.hvcap.Vm.VmExists", p);
}

static int vm_create(struct request *req, struct json_object *parameters)
{
	struct hvcapd *d = request_daemon(req);
	struct params p = { .name = "" };
	struct caps_evaluation *ev = NULL;
	struct caps_policy *policy = NULL;
	struct json_object *canonical = NULL, *reply;
	struct hvcapd_vm *vm = NULL;
	const char *why = NULL;
	uint32_t id, n_vcpus;
	bool ok;
	int r;

	r = hvcapd_decode(req, fields, parameters, &p);
	if (r)
		return r < 0 ? r : 0;
	r = hvcapd_decode_policy(req, p.policy, "policy", &policy);
	if (r)
		return r < 0 ? r : 0;

	if (hvcapd_registry_find_name(hvcapd_registry(d), p.name)) {
		r = reply_exists(req, p.name);
		goto out;
	}
	if (hvcapd_registry(d)->count >= hvcapd_max_vms(d)) {
		r = request_limit_exceeded(req, "max_vms", hvcapd_max_vms(d));
		goto out;
	}
	if (policy->vcpus > hvcapd_max_vcpus_per_vm(d)) {
		r = request_limit_exceeded(req, "max_vcpus_per_vm", hvcapd_max_vcpus_per_vm(d));
		goto out;
	}
	r = hvcapd_evaluate(d, policy, CAPS_NAMES_LINUX, &ev);
	if (r < 0)
		goto out;
	if (!ev->accepted) {
		r = reply_rejected(req, ev);
		goto out;
	}

	/* The policy as it will be saved and evaluated again on reload: its canonical form. */
	canonical = proto_policy_to_json(policy);
	if (!canonical) {
		r = -ENOMEM;
		goto out;
	}
	r = hvcapd_vm_new(p.name, canonical, policy->name, d->host->record->fingerprint, &d->host->target.host,
			  hvcapd_max_vcpus_per_vm(d), d->ctl.arena, &ev->guest_cpuid, &ev->guest_features, &vm);
	if (r < 0)
		goto out;
	n_vcpus = policy->vcpus;
	for (uint32_t i = 0; i < n_vcpus; i++) {
		r = hvcapd_vm_add_vcpu(vm, i, &why);
		if (r == -EINVAL || r == -EPERM) {
			/* The evaluation tried this CPUID and accepted it; this is a bug, not the caller's. */
			r = hvcapd_reply_invalid_cpuid(req, why ? why : "KVM_SET_CPUID2 refuses the guest CPUID");
			goto out;
		}
		if (r < 0)
			goto out;
	}
	r = hvcapd_registry_add(hvcapd_registry(d), vm);
	if (r == -ENOSPC) {
		r = request_limit_exceeded(req, "max_vm_id", HVCAPD_MAX_VM_ID);
		goto out;
	}
	if (r < 0)
		goto out;
	id = vm->id;
	vm = NULL;	/* the registry's now; a failed save takes it out again */
	r = hvcapd_state_save_vm(d, id);
	if (r < 0)
		goto out;

	{
		struct hvcapd_vm *created = hvcapd_registry_find(hvcapd_registry(d), id);

		hvcapd_event(d, "vm_created", id, created->name, NULL, NULL);
	}
	reply = json_object_new_object();
	ok = hvcapd_json_add(reply, "vm", json_object_new_int64(id)) == 0;
	ok = ok && hvcapd_json_add(reply, "vcpus", json_object_new_int64(n_vcpus)) == 0;
	if (!ok) {
		json_object_put(reply);
		r = -ENOMEM;
		goto out;
	}
	r = request_reply(req, reply);
out:
	hvcapd_vm_free(vm);
	json_object_put(canonical);
	free(policy);
	free(ev);
	return r;
}

const struct method method_vm_create = {
	.name = "io.hvcap.Vm.Create",
	.flags = METHOD_PRIVILEGED | METHOD_MUTATES,
	.handler = vm_create,
};
