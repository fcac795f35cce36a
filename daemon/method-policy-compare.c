/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * io.hvcap.Policy.Compare: a policy against another host, given as a raw
 * CPUID dump with model parameters or as a host record exported on it
 * (`hvctl policy check --host-dump FILE --param K=V`, over the socket);
 * with a source host, or a VM of this daemon, also whether the guest can
 * move from there to that host by live migration, and back (`hvctl
 * policy migrate-check`, over the socket).
 */

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <hvcore/fleet.h>
#include <hvcore/vm.h>
#include <proto/json-writer.h>
#include <proto/policy.h>
#include <proto/varlink.h>

#include "hvcapd-internal.h"

struct params {
	struct json_object *policy;
	struct hvcapd_fleet_input host;		/* dump, record, params: the host compared with */
	struct hvcapd_fleet_input source;
	bool has_source;
	uint32_t vm;
	bool has_vm;
	int names;				/* enum caps_names */
};

static const struct proto_field fields[] = {
	{ .name = "policy", .type = PROTO_FIELD_CUSTOM, .flags = PROTO_FIELD_NULLABLE,
	  PROTO_MEMBER(struct params, policy), .decode = hvcapd_decode_keep_object },
	{ .name = "dump", .type = PROTO_FIELD_CUSTOM, .flags = PROTO_FIELD_NULLABLE,
	  PROTO_MEMBER(struct params, host.dump), .decode = hvcapd_decode_dump_text },
	{ .name = "record", .type = PROTO_FIELD_CUSTOM, .flags = PROTO_FIELD_NULLABLE,
	  PROTO_MEMBER(struct params, host.record), .decode = hvcapd_decode_keep_object },
	{ .name = "params", .type = PROTO_FIELD_MAP, .flags = PROTO_FIELD_NULLABLE,
	  .offset = offsetof(struct params, host.kv), .element = &hvcapd_fleet_param_value,
	  .element_size = sizeof(struct hvcapd_fleet_param), .max_count = HVCAPD_FLEET_MAX_PARAMS,
	  .count_offset = offsetof(struct params, host.n_kv),
	  .key_offset = offsetof(struct hvcapd_fleet_param, key),
	  .key_size = sizeof(((struct hvcapd_fleet_param *)0)->key) },
	{ .name = "source", .type = PROTO_FIELD_OBJECT, .flags = PROTO_FIELD_NULLABLE | PROTO_FIELD_PRESENCE,
	  .offset = offsetof(struct params, source), .fields = hvcapd_fleet_input_fields,
	  .presence_offset = offsetof(struct params, has_source) },
	{ .name = "vm", .type = PROTO_FIELD_INT, .flags = PROTO_FIELD_NULLABLE | PROTO_FIELD_PRESENCE,
	  PROTO_MEMBER(struct params, vm), .min = 0, .max = HVCAPD_MAX_VM_ID,
	  .presence_offset = offsetof(struct params, has_vm) },
	{ .name = "names", .type = PROTO_FIELD_ENUM, .flags = PROTO_FIELD_NULLABLE,
	  PROTO_MEMBER(struct params, names), .enum_name = hvcapd_names_name },
	{ .name = NULL },
};

/* What the handler needs besides the parameters: large, so allocated once. */
struct compare {
	struct params p;
	struct caps_policy policy;
	struct hvcapd_fleet_host host;		/* B: the host compared with */
	struct hvcapd_fleet_host source;	/* A, when given as a host */
	struct caps_evaluation ev;		/* the policy on B: the reply */
	struct caps_evaluation source_ev;	/* ... on A */
	struct caps_migration there;		/* A to B */
	struct caps_migration back;		/* B to A */
	struct caps_migration vcpu;		/* one vCPU of the VM to B */
	struct caps_cpuid cpuid;
};

/* Blockers of one vCPU into all: one per CPUID field and rule, as the first vCPU found it. */
static void merge_vcpu(struct caps_migration *all, const struct caps_migration *one)
{
	size_t n = one->n_blockers < CAPS_MIGRATE_MAX_BLOCKERS ? one->n_blockers : CAPS_MIGRATE_MAX_BLOCKERS;

	for (size_t i = 0; i < n; i++) {
		const struct caps_migrate_blocker *b = &one->blockers[i];
		bool seen = false;

		for (size_t k = 0; !seen && k < all->n_blockers && k < CAPS_MIGRATE_MAX_BLOCKERS; k++) {
			const struct caps_migrate_blocker *a = &all->blockers[k];

			seen = a->rule == b->rule && a->function == b->function && a->index == b->index &&
			       a->reg == b->reg && a->lsb == b->lsb && a->msb == b->msb;
		}
		if (seen)
			continue;
		if (all->n_blockers < CAPS_MIGRATE_MAX_BLOCKERS)
			all->blockers[all->n_blockers] = *b;
		all->n_blockers++;
	}
	for (size_t i = 0; i < one->n_warnings && all->n_warnings < CAPS_MIGRATE_MAX_WARNINGS; i++) {
		bool seen = false;

		for (size_t k = 0; !seen && k < all->n_warnings; k++)
			seen = strcmp(all->warnings[k].feature, one->warnings[i].feature) == 0 &&
			       strcmp(all->warnings[k].reason, one->warnings[i].reason) == 0;
		if (!seen)
			all->warnings[all->n_warnings++] = one->warnings[i];
	}
	all->ok = all->n_blockers == 0;
}

/* Every vCPU of the VM, its CPUID as KVM_GET_CPUID2 gives it, to B. */
static int check_vm(struct compare *c, const struct hvcapd_vm *vm, enum caps_names names)
{
	int r;

	c->there = (struct caps_migration) { .ok = true };
	for (size_t i = 0; i < vm->n_vcpus; i++) {
		const struct hv_vcpu *v = hv_vm_vcpu(vm->vm, vm->vcpu_ids[i]);
		uint32_t nent = CAPS_CPUID_MAX_ENTRIES;

		if (!v)
			continue;
		r = hv_vcpu_get_cpuid(v, c->cpuid.entries, &nent);
		if (r < 0)
			return r;
		c->cpuid.nent = nent;
		r = hv_migrate_check(&c->cpuid, &c->host.target, names, &c->vcpu);
		if (r < 0)
			return r;
		merge_vcpu(&c->there, &c->vcpu);
	}
	return 0;
}

static void write_reply(struct proto_json_writer *w, struct compare *c, const char *source_name,
			enum caps_names names)
{
	proto_reply_begin(w);
	proto_jw_object_begin(w);
	proto_evaluation_write_members(w, &c->ev, names);
	if (source_name) {
		PROTO_JW_KEY(w, "migration");
		proto_jw_object_begin(w);
		PROTO_JW_KEY(w, "source");
		proto_jw_string(w, source_name);
		PROTO_JW_KEY(w, "destination");
		proto_jw_string(w, c->host.name);
		PROTO_JW_KEY(w, "a_to_b");
		proto_migration_direction_write(w, c->p.has_vm ? NULL : &c->source_ev, &c->there);
		PROTO_JW_KEY(w, "b_to_a");
		proto_migration_direction_write(w, &c->ev, &c->back);
		proto_jw_object_end(w);
	}
	proto_jw_object_end(w);
}

static int compare_run(struct request *req, struct json_object *parameters, struct compare *c)
{
	const struct hvcapd *d = request_daemon(req);
	enum caps_names names;
	struct caps_policy *policy = NULL;
	const struct hv_policy_target *source_target = NULL;
	const struct hvcapd_vm *vm = NULL;
	const char *source_name = NULL;
	char vm_name[HVCAPD_MAX_NAME + 16];
	struct json_object *policy_json;
	struct proto_json_writer w;
	int r;

	r = hvcapd_decode(req, fields, parameters, &c->p);
	if (r)
		return r < 0 ? r : 0;
	names = (enum caps_names)c->p.names;
	/* A VM brings its own policy; anything else needs one. */
	if (c->p.has_vm && c->p.has_source)
		return request_invalid_parameter(req, "vm");
	if (c->p.has_vm == (c->p.policy != NULL))
		return request_invalid_parameter(req, "policy");
	r = hvcapd_fleet_input_check(req, &c->p.host, "");
	if (r == 0 && c->p.has_source)
		r = hvcapd_fleet_input_check(req, &c->p.source, "source");
	if (r)
		return r < 0 ? r : 0;
	if (c->p.has_vm) {
		vm = hvcapd_vm_or_reply(req, c->p.vm, &r);
		if (!vm)
			return r;
	}
	r = hvcapd_fleet_host_load(req, &c->p.host, "", "destination", &c->host);
	if (r)
		return r < 0 ? r : 0;
	policy_json = vm ? vm->policy : c->p.policy;
	r = hvcapd_decode_policy(req, policy_json, "policy", &policy);
	if (r)
		return r < 0 ? r : 0;
	c->policy = *policy;
	free(policy);

	r = hv_policy_evaluate(&c->policy, &c->host.target, names, &c->ev);
	if (r < 0)
		return r;
	if (c->p.has_source) {
		r = hvcapd_fleet_host_load(req, &c->p.source, "source", "source", &c->source);
		if (r)
			return r < 0 ? r : 0;
		source_target = &c->source.target;
		source_name = c->source.name;
		r = hv_policy_evaluate(&c->policy, source_target, names, &c->source_ev);
		if (r < 0)
			return r;
		if (c->source_ev.accepted)
			r = hv_migrate_check(&c->source_ev.guest_cpuid, &c->host.target, names, &c->there);
	} else if (vm) {
		source_target = &hvcapd_get_host(d)->target;
		snprintf(vm_name, sizeof(vm_name), "vm %u (%s)", vm->id, vm->name);
		source_name = vm_name;
		r = check_vm(c, vm, names);
	}
	if (r < 0)
		return r;
	if (source_target && c->ev.accepted)
		r = hv_migrate_check(&c->ev.guest_cpuid, source_target, names, &c->back);
	if (r < 0)
		return r;
	write_reply(&w, c, source_name, names);
	return request_reply_text(req, &w);
}

static int policy_compare(struct request *req, struct json_object *parameters)
{
	struct compare *c = calloc(1, sizeof(*c));
	int r;

	if (!c)
		return -ENOMEM;
	c->p.names = CAPS_NAMES_LINUX;
	r = compare_run(req, parameters, c);
	free(c);
	return r;
}

const struct method method_policy_compare = {
	.name = "io.hvcap.Policy.Compare",
	.flags = 0,
	.handler = policy_compare,
};
