/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The VM registry: VMs by id and by name in two chained hash tables
 * (O(1) lookups whatever the number of VMs), and a list in id order for
 * List and for saving.  Ids come from a counter that only goes up, so a
 * new VM goes to the end of the list; restored VMs are inserted in order.
 */

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <hvcore/vm.h>
#include <json-c/json.h>

#include "hvcapd-internal.h"

/* The first table size; tables double when they hold as many VMs as buckets. */
#define REGISTRY_BUCKETS_MIN 64

bool hvcapd_vm_name_is_valid(const char *s, size_t len)
{
	if (len == 0 || len > HVCAPD_MAX_NAME)
		return false;
	for (size_t i = 0; i < len; i++) {
		char c = s[i];

		if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		      c == '.' || c == '_' || c == '-'))
			return false;
	}
	return true;
}

static size_t hash_id(uint32_t id, size_t n_buckets)
{
	/* Fibonacci hashing: consecutive ids spread over the table. */
	return (size_t)((id * UINT64_C(0x9e3779b97f4a7c15)) >> 32) & (n_buckets - 1);
}

static size_t hash_name(const char *s, size_t n_buckets)
{
	uint64_t h = UINT64_C(0xcbf29ce484222325);	/* FNV-1a */

	for (; *s; s++) {
		h ^= (uint8_t)*s;
		h *= UINT64_C(0x100000001b3);
	}
	return (size_t)(h ^ (h >> 32)) & (n_buckets - 1);
}

int hvcapd_registry_init(struct hvcapd_registry *r)
{
	memset(r, 0, sizeof(*r));
	r->by_id = calloc(REGISTRY_BUCKETS_MIN, sizeof(*r->by_id));
	r->by_name = calloc(REGISTRY_BUCKETS_MIN, sizeof(*r->by_name));
	if (!r->by_id || !r->by_name) {
		free(r->by_id);
		free(r->by_name);
		return -ENOMEM;
	}
	r->n_buckets = REGISTRY_BUCKETS_MIN;
	r->next_id = 1;
	return 0;
}

void hvcapd_registry_done(struct hvcapd_registry *r)
{
	struct hvcapd_vm *vm = r->first;

	while (vm) {
		struct hvcapd_vm *next = vm->next;

		hvcapd_vm_free(vm);
		vm = next;
	}
	free(r->by_id);
	free(r->by_name);
	memset(r, 0, sizeof(*r));
}

struct hvcapd_vm *hvcapd_registry_find(const struct hvcapd_registry *r, uint32_t id)
{
	for (struct hvcapd_vm *vm = r->by_id[hash_id(id, r->n_buckets)]; vm; vm = vm->id_next)
		if (vm->id == id)
			return vm;
	return NULL;
}

struct hvcapd_vm *hvcapd_registry_find_name(const struct hvcapd_registry *r, const char *name)
{
	for (struct hvcapd_vm *vm = r->by_name[hash_name(name, r->n_buckets)]; vm; vm = vm->name_next)
		if (strcmp(vm->name, name) == 0)
			return vm;
	return NULL;
}

/* Double both tables and rehash every VM (walking the id list). */
static int registry_grow(struct hvcapd_registry *r)
{
	size_t n = r->n_buckets * 2;
	struct hvcapd_vm **by_id = calloc(n, sizeof(*by_id));
	struct hvcapd_vm **by_name = calloc(n, sizeof(*by_name));

	if (!by_id || !by_name) {
		free(by_id);
		free(by_name);
		return -ENOMEM;
	}
	for (struct hvcapd_vm *vm = r->first; vm; vm = vm->next) {
		size_t i = hash_id(vm->id, n), j = hash_name(vm->name, n);

		vm->id_next = by_id[i];
		by_id[i] = vm;
		vm->name_next = by_name[j];
		by_name[j] = vm;
	}
	free(r->by_id);
	free(r->by_name);
	r->by_id = by_id;
	r->by_name = by_name;
	r->n_buckets = n;
	return 0;
}

int hvcapd_registry_add(struct hvcapd_registry *r, struct hvcapd_vm *vm)
{
	struct hvcapd_vm *after;
	size_t i, j;

	if (hvcapd_registry_find_name(r, vm->name))
		return -EEXIST;
	if (vm->id == 0) {
		if (r->next_id == 0)
			return -ENOSPC;	/* wrapped: 2^32 - 1 VMs created in one run */
		vm->id = r->next_id;
	} else if (hvcapd_registry_find(r, vm->id)) {
		return -EEXIST;
	}
	/* A growth failure only costs longer chains. */
	if (r->count >= r->n_buckets)
		(void)registry_grow(r);

	i = hash_id(vm->id, r->n_buckets);
	j = hash_name(vm->name, r->n_buckets);
	vm->id_next = r->by_id[i];
	r->by_id[i] = vm;
	vm->name_next = r->by_name[j];
	r->by_name[j] = vm;

	/* New ids are the highest: the walk back from the end stops at once. */
	for (after = r->last; after && after->id > vm->id; after = after->prev)
		;
	vm->prev = after;
	vm->next = after ? after->next : r->first;
	if (vm->next)
		vm->next->prev = vm;
	else
		r->last = vm;
	if (after)
		after->next = vm;
	else
		r->first = vm;

	if (vm->id >= r->next_id)
		r->next_id = vm->id + 1;	/* 0 after UINT32_MAX: exhausted */
	r->count++;
	return 0;
}

void hvcapd_registry_remove(struct hvcapd_registry *r, struct hvcapd_vm *vm)
{
	struct hvcapd_vm **p;

	for (p = &r->by_id[hash_id(vm->id, r->n_buckets)]; *p; p = &(*p)->id_next)
		if (*p == vm) {
			*p = vm->id_next;
			break;
		}
	for (p = &r->by_name[hash_name(vm->name, r->n_buckets)]; *p; p = &(*p)->name_next)
		if (*p == vm) {
			*p = vm->name_next;
			break;
		}
	if (vm->prev)
		vm->prev->next = vm->next;
	else
		r->first = vm->next;
	if (vm->next)
		vm->next->prev = vm->prev;
	else
		r->last = vm->prev;
	vm->prev = vm->next = vm->id_next = vm->name_next = NULL;
	r->count--;
}

int hvcapd_vm_new(const char *name, struct json_object *policy, const char *policy_name,
		  const char *fingerprint, const struct hv_host *host, uint32_t max_vcpus,
		  struct hv_page_arena *arena, const struct caps_cpuid *guest_cpuid,
		  const struct caps *guest_features, struct hvcapd_vm **ret)
{
	struct hvcapd_vm *vm;
	int r;

	if (!hvcapd_vm_name_is_valid(name, strlen(name)))
		return -EINVAL;
	vm = calloc(1, sizeof(*vm));
	if (!vm)
		return -ENOMEM;
	snprintf(vm->name, sizeof(vm->name), "%s", name);
	snprintf(vm->policy_name, sizeof(vm->policy_name), "%s", policy_name ? policy_name : "");
	snprintf(vm->created_fingerprint, sizeof(vm->created_fingerprint), "%s", fingerprint ? fingerprint : "");
	vm->guest_features = *guest_features;
	if (guest_cpuid->nent) {
		vm->guest_cpuid = malloc(guest_cpuid->nent * sizeof(*vm->guest_cpuid));
		if (!vm->guest_cpuid) {
			free(vm);
			return -ENOMEM;
		}
		memcpy(vm->guest_cpuid, guest_cpuid->entries, guest_cpuid->nent * sizeof(*vm->guest_cpuid));
	}
	vm->guest_nent = guest_cpuid->nent;
	r = hv_vm_new(host, max_vcpus, arena, &vm->vm);
	if (r < 0) {
		free(vm->guest_cpuid);
		free(vm);
		return r;
	}
	vm->policy = json_object_get(policy);
	*ret = vm;
	return 0;
}

void hvcapd_vm_free(struct hvcapd_vm *vm)
{
	if (!vm)
		return;
	hv_vm_free(vm->vm);
	json_object_put(vm->policy);
	free(vm->guest_cpuid);
	free(vm->vcpu_ids);
	free(vm);
}

int hvcapd_vm_note_vcpu(struct hvcapd_vm *vm, uint32_t id)
{
	if (vm->n_vcpus == vm->vcpu_ids_size) {
		size_t n = vm->vcpu_ids_size ? vm->vcpu_ids_size * 2 : 8;
		uint32_t *ids = realloc(vm->vcpu_ids, n * sizeof(*ids));

		if (!ids)
			return -ENOMEM;
		vm->vcpu_ids = ids;
		vm->vcpu_ids_size = n;
	}
	vm->vcpu_ids[vm->n_vcpus++] = id;
	return 0;
}

int hvcapd_vm_add_vcpu(struct hvcapd_vm *vm, uint32_t id, const char **ret_why)
{
	struct hv_vcpu *vcpu;
	int r;

	/* Room first: once hvcore has the vCPU, nothing may fail but KVM_SET_CPUID2. */
	if (vm->n_vcpus == vm->vcpu_ids_size) {
		size_t n = vm->vcpu_ids_size ? vm->vcpu_ids_size * 2 : 8;
		uint32_t *ids = realloc(vm->vcpu_ids, n * sizeof(*ids));

		if (!ids)
			return -ENOMEM;
		vm->vcpu_ids = ids;
		vm->vcpu_ids_size = n;
	}
	r = hv_vcpu_create(vm->vm, id, &vcpu);
	if (r < 0)
		return r;
	/*
	 * The VMM gives every vCPU the same CPUID (KVM_SET_CPUID2 right after
	 * KVM_CREATE_VCPU).  It cannot fail for a CPUID the evaluation
	 * accepted; if it did, the vCPU would stay without CPUID, which hvcore
	 * cannot undo (KVM has no vCPU destruction either), so say so.
	 */
	r = hv_vcpu_set_cpuid(vcpu, vm->guest_cpuid, vm->guest_nent, ret_why);
	vm->vcpu_ids[vm->n_vcpus++] = id;
	return r;
}
