/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Registered VMs survive restarts (DESIGN.md §7): one file per VM,
 * <state_dir>/vms/<id>.json, written with json-c and read back through
 * proto's field tables.  A file is replaced atomically: the new text goes
 * to a temporary file in the same directory, which is fsync()ed and
 * renamed over the old one, and the directory is fsync()ed, all before
 * the mutating call replies.  A crash therefore leaves either the old or
 * the new file, never a mix; temporary files (".<id>.json.tmp") were
 * never acknowledged and are removed at start.
 *
 * The format (version 1):
 *
 *   {"version": 1, "vm": 3, "name": "web-1",
 *    "created_fingerprint": "hvcap1-...",
 *    "policy": {...proto_policy_to_json()...},
 *    "guest": {"features": [names], "cpuid": [CpuidEntry]},   the evaluation at creation
 *    "apic_access_memslot": "enabled" | "inhibited" | "not_allocated",
 *    "apicv_inhibits": [names],
 *    "vcpus": [{"vcpu": 0, "cpuid": [CpuidEntry], "has_run": false,
 *               "apic_base": "0xfee00900", "cr3": "0x0", "cr4": "0x0",
 *               "erap_ctl": 0, "vmcb02_erap_ctl": 0, "guest_mode": false,
 *               "rap_dirty": true, "vmcb02_allocated": false}, ...]}   in creation order
 *
 * Beside them, vms/next-id keeps the id counter when the VM with the
 * highest id is deleted.
 *
 * Restoring replays the VM into hvcore: hv_vm_new(), hv_vcpu_create() in
 * creation order, KVM_SET_CPUID2 with the saved entries, then
 * hv_vcpu_restore() and hv_vm_restore() for the state no guest write
 * reaches directly (include/hvcore/vm.h).
 */

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <syslog.h>
#include <unistd.h>

#include <libcaps/file.h>
#include <proto/policy.h>

#include "hvcapd-internal.h"

#define STATE_VERSION 1

/*
 * VM ids are never given out twice, restarts included: when the VM with
 * the highest id goes, the next id is kept in vms/next-id ("<decimal>\n",
 * replaced atomically), since no state file says it any more.
 */
#define NEXT_ID_FILE "next-id"

/*
 * The largest state file: 1024 vCPUs (HVCAPD_MAX_VCPUS_PER_VM) with 256
 * CPUID entries of about 100 bytes each are 26 MiB.
 */
#define STATE_FILE_MAX (32u * 1024 * 1024)

/* Containers a state file nests: document, vcpus, vCPU, cpuid, entry (policy: 3 below the top). */
#define STATE_MAX_DEPTH 6

/* ------------------------------------------------------------------ */
/* Writing. */

struct builder {
	bool ok;
};

static void add(struct builder *b, struct json_object *obj, const char *key, struct json_object *val)
{
	if (!b->ok || !obj || !val || json_object_object_add(obj, key, val) < 0) {
		json_object_put(val);
		b->ok = false;
	}
}

static void append(struct builder *b, struct json_object *arr, struct json_object *val)
{
	if (!b->ok || !arr || !val || json_object_array_add(arr, val) < 0) {
		json_object_put(val);
		b->ok = false;
	}
}

static struct json_object *vcpu_to_json(struct builder *b, const struct hv_vcpu *vcpu,
					struct caps_cpuid_entry *buf)
{
	struct json_object *o = json_object_new_object();
	struct hv_vcpu_pages pages;
	uint32_t n = CAPS_CPUID_MAX_ENTRIES;

	if (hv_vcpu_get_cpuid(vcpu, buf, &n) < 0)
		b->ok = false;
	hv_vcpu_control_pages(vcpu, &pages);
	add(b, o, "vcpu", json_object_new_int64(hv_vcpu_id(vcpu)));
	add(b, o, "cpuid", hvcapd_json_cpuid(buf, n));
	add(b, o, "has_run", json_object_new_boolean(hv_vcpu_has_run(vcpu)));
	add(b, o, "apic_base", hvcapd_json_hex64(hv_vcpu_apic_base(vcpu)));
	add(b, o, "cr3", hvcapd_json_hex64(hv_vcpu_cr3(vcpu)));
	add(b, o, "cr4", hvcapd_json_hex64(hv_vcpu_cr4(vcpu)));
	add(b, o, "erap_ctl", json_object_new_int(hv_vcpu_vmcb01_erap_ctl(vcpu)));
	add(b, o, "vmcb02_erap_ctl", json_object_new_int(hv_vcpu_vmcb02_erap_ctl(vcpu)));
	add(b, o, "guest_mode", json_object_new_boolean(hv_vcpu_is_guest_mode(vcpu)));
	add(b, o, "rap_dirty", json_object_new_boolean(hv_vcpu_is_rap_dirty(vcpu)));
	add(b, o, "vmcb02_allocated", json_object_new_boolean(pages.vmcb02 != UINT64_MAX));
	return o;
}

static struct json_object *vm_to_json(const struct hvcapd_vm *vm)
{
	struct builder b = { .ok = true };
	struct json_object *o = json_object_new_object();
	struct json_object *guest = json_object_new_object();
	struct json_object *vcpus = json_object_new_array();
	struct caps_cpuid_entry *buf = malloc(CAPS_CPUID_MAX_ENTRIES * sizeof(*buf));

	if (!buf)
		b.ok = false;
	add(&b, o, "version", json_object_new_int(STATE_VERSION));
	add(&b, o, "vm", json_object_new_int64(vm->id));
	add(&b, o, "name", json_object_new_string(vm->name));
	add(&b, o, "created_fingerprint", json_object_new_string(vm->created_fingerprint));
	add(&b, o, "policy", json_object_get(vm->policy));
	add(&b, guest, "features", hvcapd_json_features(&vm->guest_features, CAPS_NAMES_LINUX));
	add(&b, guest, "cpuid", hvcapd_json_cpuid(vm->guest_cpuid, vm->guest_nent));
	add(&b, o, "guest", guest);
	add(&b, o, "apic_access_memslot", json_object_new_string(hvcapd_memslot_state(vm->vm)));
	add(&b, o, "apicv_inhibits", hvcapd_json_inhibits(hv_vm_apicv_inhibit_reasons(vm->vm)));
	for (size_t i = 0; b.ok && i < vm->n_vcpus; i++)
		append(&b, vcpus, vcpu_to_json(&b, hv_vm_vcpu(vm->vm, vm->vcpu_ids[i]), buf));
	add(&b, o, "vcpus", vcpus);
	free(buf);
	if (!b.ok) {
		json_object_put(o);
		return NULL;
	}
	return o;
}

/* Replace <id>.json with text: temporary file, fsync, rename, fsync of the directory. */
static int write_file(struct hvcapd *d, uint32_t id, const char *text, size_t len)
{
	char tmp[32], name[32];
	int fd, r;

	snprintf(tmp, sizeof(tmp), ".%u.json.tmp", id);
	snprintf(name, sizeof(name), "%u.json", id);
	fd = openat(d->vms_fd, tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0)
		return -errno;
	r = caps_write_all(fd, text, len);
	if (r == 0)
		r = caps_write_all(fd, "\n", 1);
	if (r == 0 && fsync(fd) < 0)
		r = -errno;
	if (close(fd) < 0 && r == 0)
		r = -errno;
	if (r == 0 && renameat(d->vms_fd, tmp, d->vms_fd, name) < 0)
		r = -errno;
	if (r < 0) {
		unlinkat(d->vms_fd, tmp, 0);
		return r;
	}
	/* The rename is durable only once the directory is. */
	if (fsync(d->vms_fd) < 0)
		return -errno;
	return 0;
}

static int save_vm(struct hvcapd *d, const struct hvcapd_vm *vm)
{
	struct json_object *o = vm_to_json(vm);
	const char *text;
	size_t len;
	int r;

	if (!o)
		return -ENOMEM;
	text = json_object_to_json_string_length(o, JSON_C_TO_STRING_PLAIN, &len);
	r = text ? write_file(d, vm->id, text, len) : -ENOMEM;
	json_object_put(o);
	return r;
}

/* ------------------------------------------------------------------ */
/* Reading: the format's field tables. */

struct state_vcpu {
	uint32_t vcpu;
	struct caps_cpuid cpuid;
	struct hv_vcpu_restore_state s;
};

struct state_guest {
	struct caps_cpuid cpuid;
	struct caps features;
};

enum state_memslot {
	STATE_MEMSLOT_NOT_ALLOCATED,
	STATE_MEMSLOT_ENABLED,
	STATE_MEMSLOT_INHIBITED,
};

struct state_doc {
	int version;
	uint32_t vm;
	char name[HVCAPD_MAX_NAME + 1];
	char created_fingerprint[CAPS_FINGERPRINT_MAX];
	struct caps_policy *policy;		/* malloc()ed by decode_policy() */
	struct state_guest guest;
	int memslot;				/* enum state_memslot */
	uint32_t apicv_inhibits;
	struct state_vcpu *vcpus;		/* malloc()ed by decode_vcpus() */
	size_t n_vcpus;
};

static const char *memslot_name(int v)
{
	static const char *const names[] = {
		[STATE_MEMSLOT_NOT_ALLOCATED] = "not_allocated",
		[STATE_MEMSLOT_ENABLED] = "enabled",
		[STATE_MEMSLOT_INHIBITED] = "inhibited",
	};

	return v >= 0 && (size_t)v < ARRAY_SIZE(names) ? names[v] : NULL;
}

static bool fingerprint_is_valid(const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (s[i] < 0x21 || s[i] > 0x7e)
			return false;
	return true;
}

static int decode_policy(const struct proto_field *f, struct json_object *v, void *base,
			 const char *path, struct proto_error *err)
{
	struct state_doc *doc = base;
	struct proto_error perr = { { 0 } };
	char sub[2 * sizeof(err->path) + 2];
	int r;

	(void)f;
	if (!json_object_is_type(v, json_type_object))
		return proto_error_set(err, path, "expected an object, got %s", proto_json_type_desc(v));
	doc->policy = malloc(sizeof(*doc->policy));
	if (!doc->policy)
		return -ENOMEM;
	r = hvcapd_policy_from_json(v, doc->policy, &perr);
	if (r < 0) {
		snprintf(sub, sizeof(sub), "%s%s%s", path, perr.path[0] ? "." : "", perr.path);
		proto_error_set(err, sub, "%s", perr.message);
	}
	return r;
}

static int decode_features(const struct proto_field *f, struct json_object *v, void *base,
			   const char *path, struct proto_error *err)
{
	struct caps *c = (void *)((char *)base + f->offset);
	char sub[sizeof(err->path)];

	if (!json_object_is_type(v, json_type_array))
		return proto_error_set(err, path, "expected an array, got %s", proto_json_type_desc(v));
	caps_zero(c);
	for (size_t i = 0; i < json_object_array_length(v); i++) {
		const char *name;
		size_t len;
		int id, r;

		proto_json_path_index(sub, sizeof(sub), path, i);
		r = proto_json_get_string(json_object_array_get_idx(v, i), CAPS_POLICY_FEATURE_NAME_MAX, sub,
					  &name, &len, err);
		if (r < 0)
			return r;
		id = caps_feature_lookup(name);
		if (id < 0)
			return proto_error_set(err, sub, "unknown feature \"%s\"", name);
		caps_set(c, id);
	}
	return 0;
}

static int decode_inhibits(const struct proto_field *f, struct json_object *v, void *base,
			   const char *path, struct proto_error *err)
{
	uint32_t *mask = (void *)((char *)base + f->offset);
	char sub[sizeof(err->path)];

	if (!json_object_is_type(v, json_type_array))
		return proto_error_set(err, path, "expected an array, got %s", proto_json_type_desc(v));
	*mask = 0;
	for (size_t i = 0; i < json_object_array_length(v); i++) {
		const char *name;
		size_t len;
		int r, bit = -1;

		proto_json_path_index(sub, sizeof(sub), path, i);
		r = proto_json_get_string(json_object_array_get_idx(v, i), 64, sub, &name, &len, err);
		if (r < 0)
			return r;
		for (int k = 0; k < NR_APICV_INHIBIT_REASONS; k++)
			if (strcmp(hv_apicv_inhibit_name((enum hv_apicv_inhibit)k), name) == 0)
				bit = k;
		if (bit < 0)
			return proto_error_set(err, sub, "unknown APICv inhibit reason \"%s\"", name);
		*mask |= 1u << bit;
	}
	return 0;
}

static const struct proto_field cpuid_entry_element = {
	.type = PROTO_FIELD_OBJECT,
	.offset = 0,
	.fields = hvcapd_cpuid_entry_fields,
};

#define CPUID_ARRAY(T, member)							\
	.type = PROTO_FIELD_ARRAY,						\
	.flags = PROTO_FIELD_REQUIRED,						\
	.offset = offsetof(T, member.entries),					\
	.element = &cpuid_entry_element,					\
	.element_size = sizeof(struct caps_cpuid_entry),			\
	.max_count = CAPS_CPUID_MAX_ENTRIES,					\
	.count_offset = offsetof(T, member.nent)

#define HEX64(T, member)							\
	.type = PROTO_FIELD_CUSTOM,						\
	.flags = PROTO_FIELD_REQUIRED,						\
	PROTO_MEMBER(T, member),						\
	.decode = proto_decode_hex64

#define REQUIRED_BOOL(T, member)						\
	.type = PROTO_FIELD_BOOL,						\
	.flags = PROTO_FIELD_REQUIRED,						\
	PROTO_MEMBER(T, member)

static const struct proto_field vcpu_fields[] = {
	{ .name = "vcpu", .type = PROTO_FIELD_INT, .flags = PROTO_FIELD_REQUIRED,
	  PROTO_MEMBER(struct state_vcpu, vcpu), .min = 0, .max = HVCAPD_MAX_VCPU_ID },
	{ .name = "cpuid", CPUID_ARRAY(struct state_vcpu, cpuid) },
	{ .name = "has_run", REQUIRED_BOOL(struct state_vcpu, s.has_run) },
	{ .name = "apic_base", HEX64(struct state_vcpu, s.apic_base) },
	{ .name = "cr3", HEX64(struct state_vcpu, s.cr3) },
	{ .name = "cr4", HEX64(struct state_vcpu, s.cr4) },
	{ .name = "erap_ctl", .type = PROTO_FIELD_INT, .flags = PROTO_FIELD_REQUIRED,
	  PROTO_MEMBER(struct state_vcpu, s.vmcb01_erap_ctl), .min = 0, .max = UINT8_MAX },
	{ .name = "vmcb02_erap_ctl", .type = PROTO_FIELD_INT, .flags = PROTO_FIELD_REQUIRED,
	  PROTO_MEMBER(struct state_vcpu, s.vmcb02_erap_ctl), .min = 0, .max = UINT8_MAX },
	{ .name = "guest_mode", REQUIRED_BOOL(struct state_vcpu, s.guest_mode) },
	{ .name = "rap_dirty", REQUIRED_BOOL(struct state_vcpu, s.rap_dirty) },
	{ .name = "vmcb02_allocated", REQUIRED_BOOL(struct state_vcpu, s.vmcb02_allocated) },
	{ .name = NULL },
};

/* vCPUs a state file may list: hvcore's vCPU ids are unique, so at most every id. */
#define STATE_MAX_VCPUS (HVCAPD_MAX_VCPU_ID + 1)

static int decode_vcpus(const struct proto_field *f, struct json_object *v, void *base,
			const char *path, struct proto_error *err)
{
	struct state_doc *doc = base;
	char sub[sizeof(err->path)];
	size_t n;

	(void)f;
	if (!json_object_is_type(v, json_type_array))
		return proto_error_set(err, path, "expected an array, got %s", proto_json_type_desc(v));
	n = json_object_array_length(v);
	if (n > STATE_MAX_VCPUS) {
		proto_error_set(err, path, "%zu vCPUs, at most %d allowed", n, STATE_MAX_VCPUS);
		return -E2BIG;
	}
	doc->vcpus = calloc(n ? n : 1, sizeof(*doc->vcpus));
	if (!doc->vcpus)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		int r;

		proto_json_path_index(sub, sizeof(sub), path, i);
		r = proto_json_decode_object(vcpu_fields, json_object_array_get_idx(v, i), &doc->vcpus[i], sub, err);
		if (r < 0)
			return r;
		doc->n_vcpus = i + 1;
	}
	return 0;
}

static const struct proto_field guest_fields[] = {
	{ .name = "features", .type = PROTO_FIELD_CUSTOM, .flags = PROTO_FIELD_REQUIRED,
	  .offset = offsetof(struct state_guest, features), .decode = decode_features },
	{ .name = "cpuid", CPUID_ARRAY(struct state_guest, cpuid) },
	{ .name = NULL },
};

static const struct proto_field doc_fields[] = {
	{ .name = "version", .type = PROTO_FIELD_INT, .flags = PROTO_FIELD_REQUIRED,
	  PROTO_MEMBER(struct state_doc, version), .min = STATE_VERSION, .max = STATE_VERSION },
	{ .name = "vm", .type = PROTO_FIELD_INT, .flags = PROTO_FIELD_REQUIRED,
	  PROTO_MEMBER(struct state_doc, vm), .min = 1, .max = HVCAPD_MAX_VM_ID },
	{ .name = "name", .type = PROTO_FIELD_STRING, .flags = PROTO_FIELD_REQUIRED,
	  PROTO_MEMBER(struct state_doc, name), .valid = hvcapd_vm_name_is_valid,
	  .valid_desc = "1 to 64 of the characters A-Z, a-z, 0-9, '.', '_' and '-'" },
	{ .name = "created_fingerprint", .type = PROTO_FIELD_STRING, .flags = PROTO_FIELD_REQUIRED,
	  PROTO_MEMBER(struct state_doc, created_fingerprint), .valid = fingerprint_is_valid,
	  .valid_desc = "printable ASCII" },
	{ .name = "policy", .type = PROTO_FIELD_CUSTOM, .flags = PROTO_FIELD_REQUIRED,
	  .decode = decode_policy },
	{ .name = "guest", .type = PROTO_FIELD_OBJECT, .flags = PROTO_FIELD_REQUIRED,
	  .offset = offsetof(struct state_doc, guest), .fields = guest_fields },
	{ .name = "apic_access_memslot", .type = PROTO_FIELD_ENUM, .flags = PROTO_FIELD_REQUIRED,
	  PROTO_MEMBER(struct state_doc, memslot), .enum_name = memslot_name },
	{ .name = "apicv_inhibits", .type = PROTO_FIELD_CUSTOM, .flags = PROTO_FIELD_REQUIRED,
	  .offset = offsetof(struct state_doc, apicv_inhibits), .decode = decode_inhibits },
	{ .name = "vcpus", .type = PROTO_FIELD_CUSTOM, .flags = PROTO_FIELD_REQUIRED,
	  .decode = decode_vcpus },
	{ .name = NULL },
};

static void doc_free(struct state_doc *doc)
{
	if (!doc)
		return;
	free(doc->policy);
	free(doc->vcpus);
	free(doc);
}

/* ------------------------------------------------------------------ */
/* Restoring. */

/* Rebuild the VM a decoded file describes; err says why not. */
static int vm_from_doc(struct hvcapd *d, const struct state_doc *doc, struct hvcapd_vm **ret,
		       char *err, size_t size)
{
	struct json_object *policy = NULL;
	struct hv_vm_restore_state vs;
	struct hvcapd_vm *vm = NULL;
	uint32_t max_vcpus = hvcapd_max_vcpus_per_vm(d);
	const char *why = NULL;
	int r;

	/* The canonical form, as Create stores it. */
	policy = proto_policy_to_json(doc->policy);
	if (!policy) {
		snprintf(err, size, "policy: cannot be written back: %s", strerror(errno));
		return -errno;
	}
	/* A lower limit in the configuration does not take vCPUs away from a VM. */
	if (doc->n_vcpus > max_vcpus)
		max_vcpus = (uint32_t)doc->n_vcpus;
	r = hvcapd_vm_new(doc->name, policy, doc->policy->name, doc->created_fingerprint,
			  &d->host->target.host, max_vcpus ? max_vcpus : 1, d->ctl.arena, &doc->guest.cpuid,
			  &doc->guest.features, &vm);
	json_object_put(policy);
	if (r < 0) {
		snprintf(err, size, "cannot create the VM: %s", strerror(-r));
		return r;
	}
	vm->id = doc->vm;

	for (size_t i = 0; i < doc->n_vcpus; i++) {
		const struct state_vcpu *sv = &doc->vcpus[i];
		struct hv_vcpu *vcpu;

		r = hv_vcpu_create(vm->vm, sv->vcpu, &vcpu);
		if (r < 0) {
			snprintf(err, size, "vcpus[%zu]: cannot create vCPU %u: %s", i, sv->vcpu,
				 r == -EEXIST ? "listed twice" : strerror(-r));
			goto fail;
		}
		r = hvcapd_vm_note_vcpu(vm, sv->vcpu);
		if (r < 0) {
			snprintf(err, size, "out of memory");
			goto fail;
		}
		r = hv_vcpu_set_cpuid(vcpu, sv->cpuid.entries, sv->cpuid.nent, &why);
		if (r < 0) {
			snprintf(err, size, "vcpus[%zu].cpuid: KVM_SET_CPUID2 refuses it: %s", i,
				 why ? why : strerror(-r));
			goto fail;
		}
		r = hv_vcpu_restore(vcpu, &sv->s, &why);
		if (r < 0) {
			snprintf(err, size, "vcpus[%zu]: cannot be restored on this host: %s", i,
				 why ? why : strerror(-r));
			goto fail;
		}
	}
	vs = (struct hv_vm_restore_state) {
		.apic_access_memslot_enabled = doc->memslot == STATE_MEMSLOT_ENABLED,
		.apic_access_memslot_inhibited = doc->memslot == STATE_MEMSLOT_INHIBITED,
		.apicv_inhibit_reasons = doc->apicv_inhibits,
	};
	r = hv_vm_restore(vm->vm, &vs, &why);
	if (r < 0) {
		snprintf(err, size, "cannot be restored on this host: %s", why ? why : strerror(-r));
		goto fail;
	}
	*ret = vm;
	return 0;
fail:
	hvcapd_vm_free(vm);
	return r;
}

/* Read, parse and rebuild <id>.json; -ENOENT when there is none.  err says what failed. */
static int load_vm(struct hvcapd *d, uint32_t id, struct hvcapd_vm **ret, char *err, size_t size)
{
	struct proto_error perr = { { 0 } };
	struct json_object *top = NULL;
	struct state_doc *doc = NULL;
	char path[4096];
	size_t len;
	char *buf;
	int r;

	snprintf(path, sizeof(path), "%s/%u.json", d->vms_path, id);
	r = caps_read_file(path, STATE_FILE_MAX, &buf, &len);
	if (r == -E2BIG) {
		snprintf(err, size, "larger than %u bytes", STATE_FILE_MAX);
		return r;
	}
	if (r < 0) {
		snprintf(err, size, "%s", strerror(-r));
		return r;
	}
	r = proto_json_parse(buf, len, STATE_MAX_DEPTH, &top, &perr);
	free(buf);
	if (r < 0)
		goto decode_error;
	doc = calloc(1, sizeof(*doc));
	if (!doc) {
		r = -ENOMEM;
		snprintf(err, size, "out of memory");
		goto out;
	}
	r = proto_json_decode_object(doc_fields, top, doc, "", &perr);
	if (r < 0)
		goto decode_error;
	if (doc->vm != id) {
		snprintf(err, size, "vm: %u, but the file is named for VM %u", doc->vm, id);
		r = -EINVAL;
		goto out;
	}
	r = vm_from_doc(d, doc, ret, err, size);
	goto out;

decode_error:
	if (r == -ENOMEM)
		snprintf(err, size, "out of memory");
	else
		snprintf(err, size, "%s%s%s", perr.path, perr.path[0] ? ": " : "",
			 perr.message[0] ? perr.message : strerror(-r));
	if (r != -ENOMEM)
		r = -EINVAL;
out:
	json_object_put(top);
	doc_free(doc);
	return r;
}

static int compare_ids(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

/* "<id>.json" with a decimal id in 1..HVCAPD_MAX_VM_ID, no leading zero. */
static bool parse_file_name(const char *name, uint32_t *ret)
{
	uint64_t id = 0;
	const char *p = name;

	if (*p < '1' || *p > '9')
		return false;
	for (; *p >= '0' && *p <= '9'; p++) {
		id = id * 10 + (uint64_t)(*p - '0');
		if (id > HVCAPD_MAX_VM_ID)
			return false;
	}
	if (strcmp(p, ".json") != 0)
		return false;
	*ret = (uint32_t)id;
	return true;
}

/* Temporary files that a crash left: never renamed, so never acknowledged. */
static bool is_temporary(const char *name)
{
	size_t n = strlen(name);

	return name[0] == '.' && n > 4 && strcmp(name + n - 4, ".tmp") == 0;
}

/* The ids of the state files, sorted; temporary files removed on the way. */
static int list_ids(struct hvcapd *d, uint32_t **ret, size_t *ret_n)
{
	uint32_t *ids = NULL;
	size_t n = 0, size = 0;
	struct dirent *de;
	DIR *dir;
	int fd;

	fd = openat(d->vms_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	dir = fdopendir(fd);
	if (!dir) {
		close(fd);
		return -errno;
	}
	while ((errno = 0, de = readdir(dir))) {
		uint32_t id;

		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		if (is_temporary(de->d_name)) {
			if (unlinkat(d->vms_fd, de->d_name, 0) < 0)
				hvcapd_log(LOG_WARNING, "%s/%s: cannot remove: %m", d->vms_path, de->d_name);
			continue;
		}
		if (strcmp(de->d_name, NEXT_ID_FILE) == 0)
			continue;
		if (!parse_file_name(de->d_name, &id)) {
			hvcapd_log(LOG_WARNING, "%s/%s: not a state file, ignored", d->vms_path, de->d_name);
			continue;
		}
		if (n == size) {
			size_t m = size ? size * 2 : 64;
			uint32_t *p = realloc(ids, m * sizeof(*p));

			if (!p) {
				free(ids);
				closedir(dir);
				return -ENOMEM;
			}
			ids = p;
			size = m;
		}
		ids[n++] = id;
	}
	if (errno) {
		int r = -errno;

		free(ids);
		closedir(dir);
		return r;
	}
	closedir(dir);
	if (n)
		qsort(ids, n, sizeof(*ids), compare_ids);
	*ret = ids;
	*ret_n = n;
	return 0;
}


static int read_next_id(struct hvcapd *d)
{
	char path[4096], *buf, *end;
	unsigned long long v;
	size_t len;
	int r;

	snprintf(path, sizeof(path), "%s/" NEXT_ID_FILE, d->vms_path);
	r = caps_read_file(path, 32, &buf, &len);
	if (r == -ENOENT)
		return 0;
	if (r < 0) {
		hvcapd_log(LOG_ERR, "%s: %s", path, r == -E2BIG ? "larger than 32 bytes" : strerror(-r));
		return r;
	}
	errno = 0;
	v = strtoull(buf, &end, 10);
	if (errno || end == buf || buf[0] < '1' || buf[0] > '9' || strcmp(end, "\n") != 0 ||
	    v > HVCAPD_MAX_VM_ID + 1ull) {
		hvcapd_log(LOG_ERR, "%s: expected a VM id (1..%u) and a newline", path, HVCAPD_MAX_VM_ID);
		free(buf);
		return -EINVAL;
	}
	free(buf);
	/* UINT32_MAX + 1 is 0: exhausted, as the registry counts. */
	if (v > HVCAPD_MAX_VM_ID)
		d->registry.next_id = 0;
	else if (d->registry.next_id != 0 && v > d->registry.next_id)
		d->registry.next_id = (uint32_t)v;
	return 0;
}

static int write_next_id(struct hvcapd *d, uint64_t next)
{
	char text[32];
	int fd, r;
	int n = snprintf(text, sizeof(text), "%llu\n", (unsigned long long)next);

	fd = openat(d->vms_fd, "." NEXT_ID_FILE ".tmp", O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0)
		return -errno;
	r = caps_write_all(fd, text, (size_t)n);
	if (r == 0 && fsync(fd) < 0)
		r = -errno;
	if (close(fd) < 0 && r == 0)
		r = -errno;
	if (r == 0 && renameat(d->vms_fd, "." NEXT_ID_FILE ".tmp", d->vms_fd, NEXT_ID_FILE) < 0)
		r = -errno;
	if (r < 0)
		unlinkat(d->vms_fd, "." NEXT_ID_FILE ".tmp", 0);
	/* Durable with the unlink's fsync of the directory that follows. */
	return r;
}

static int mkdir_p(const char *path, mode_t mode)
{
	char buf[4096];
	size_t len = strlen(path);

	if (len == 0 || len >= sizeof(buf))
		return -ENAMETOOLONG;
	memcpy(buf, path, len + 1);
	for (char *p = buf + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(buf, 0755) < 0 && errno != EEXIST)
			return -errno;
		*p = '/';
	}
	if (mkdir(buf, mode) < 0 && errno != EEXIST)
		return -errno;
	return 0;
}

int hvcapd_state_open(struct hvcapd *d)
{
	const char *dir = d->cfg.state_dir;
	size_t len;
	int r;

	d->vms_fd = -1;
	if (!dir || !dir[0]) {
		hvcapd_log(LOG_NOTICE, "no state directory: registered VMs will not survive a restart");
		return 0;
	}
	len = strlen(dir) + sizeof("/vms");
	d->vms_path = malloc(len);
	if (!d->vms_path)
		return -ENOMEM;
	snprintf(d->vms_path, len, "%s/vms", dir);
	r = mkdir_p(dir, 0750);
	if (r == 0)
		r = mkdir_p(d->vms_path, 0700);
	if (r < 0) {
		hvcapd_log(LOG_ERR, "%s: cannot create the state directory: %s", d->vms_path, strerror(-r));
		return r;
	}
	d->vms_fd = open(d->vms_path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (d->vms_fd < 0) {
		r = -errno;
		hvcapd_log(LOG_ERR, "%s: %s", d->vms_path, strerror(-r));
		return r;
	}
	return 0;
}

void hvcapd_state_close(struct hvcapd *d)
{
	if (d->vms_fd >= 0)
		close(d->vms_fd);
	d->vms_fd = -1;
	free(d->vms_path);
	d->vms_path = NULL;
}

int hvcapd_state_restore(struct hvcapd *d)
{
	uint32_t *ids = NULL;
	size_t n = 0;
	char err[512];
	int r;

	if (d->vms_fd < 0)
		return 0;
	r = list_ids(d, &ids, &n);
	if (r < 0) {
		hvcapd_log(LOG_ERR, "%s: cannot list the state files: %s", d->vms_path, strerror(-r));
		return r;
	}
	for (size_t i = 0; i < n; i++) {
		struct hvcapd_vm *vm, *other;

		err[0] = '\0';
		r = load_vm(d, ids[i], &vm, err, sizeof(err));
		if (r == 0) {
			other = hvcapd_registry_find_name(&d->registry, vm->name);
			r = hvcapd_registry_add(&d->registry, vm);
			if (r < 0) {
				if (other)
					snprintf(err, sizeof(err), "name: \"%s\" is VM %u's name too", vm->name, other->id);
				else
					snprintf(err, sizeof(err), "cannot register: %s", strerror(-r));
				hvcapd_vm_free(vm);
			}
		}
		if (r < 0) {
			/* The file stays as it is: the operator decides what to do with it. */
			hvcapd_log(LOG_ERR, "%s/%u.json: %s", d->vms_path, ids[i], err);
			free(ids);
			return r;
		}
	}
	free(ids);
	r = read_next_id(d);
	if (r < 0)
		return r;
	if (n)
		hvcapd_log(LOG_INFO, "restored %zu VM%s from %s", n, n == 1 ? "" : "s", d->vms_path);
	return 0;
}

/* ------------------------------------------------------------------ */
/* The lifecycle functions of daemon.h. */

/*
 * After a failed save, make memory (and the control plane) equal the disk
 * again: rebuild the VM from its file, or drop it when it never had one
 * (a VM being created).
 */
static void revert_vm(struct hvcapd *d, struct hvcapd_vm *vm)
{
	struct hvcapd_vm *saved = NULL;
	uint32_t id = vm->id;
	char err[512] = "";
	int r;

	r = load_vm(d, id, &saved, err, sizeof(err));
	hvcapd_control_unpublish_vm(d, vm);
	hvcapd_registry_remove(&d->registry, vm);
	hvcapd_vm_free(vm);
	if (r == -ENOENT)
		return;
	if (r < 0) {
		hvcapd_log(LOG_ERR, "VM %u: state not saved and the saved one unreadable (%s): dropped until restart",
			   id, err);
		return;
	}
	if (hvcapd_registry_add(&d->registry, saved) < 0) {
		hvcapd_log(LOG_ERR, "VM %u: cannot register its saved state again: dropped until restart", id);
		hvcapd_vm_free(saved);
		return;
	}
	hvcapd_control_publish_vm(d, saved);
}

int hvcapd_state_save_vm(struct hvcapd *d, uint32_t vm_id)
{
	struct hvcapd_vm *vm = hvcapd_registry_find(&d->registry, vm_id);
	int r;

	if (!vm)
		return -ENOENT;
	if (d->vms_fd >= 0) {
		r = save_vm(d, vm);
		if (r < 0) {
			hvcapd_log(LOG_ERR, "%s/%u.json: cannot save: %s", d->vms_path, vm_id, strerror(-r));
			revert_vm(d, vm);
			return r;
		}
	}
	/* Readers see what a restart would restore, in the same turn. */
	hvcapd_control_publish_vm(d, vm);
	return 0;
}

/* Remove <id>.json, keeping the id counter first when it is the highest id. */
static int remove_file(struct hvcapd *d, uint32_t vm_id)
{
	char name[32];

	if (d->vms_fd < 0)
		return 0;
	/* The highest id goes: keep the counter before its only trace does. */
	if (d->registry.last && d->registry.last->id == vm_id) {
		int r = write_next_id(d, d->registry.next_id ? d->registry.next_id : HVCAPD_MAX_VM_ID + 1ull);

		if (r < 0) {
			hvcapd_log(LOG_ERR, "%s/" NEXT_ID_FILE ": cannot write: %s", d->vms_path, strerror(-r));
			return r;
		}
	}
	snprintf(name, sizeof(name), "%u.json", vm_id);
	if (unlinkat(d->vms_fd, name, 0) < 0 && errno != ENOENT) {
		int r = -errno;

		hvcapd_log(LOG_ERR, "%s/%s: cannot remove: %s", d->vms_path, name, strerror(-r));
		return r;
	}
	if (fsync(d->vms_fd) < 0) {
		int r = -errno;

		hvcapd_log(LOG_ERR, "%s: cannot sync: %s", d->vms_path, strerror(-r));
		return r;
	}
	return 0;
}

int hvcapd_state_remove_vm(struct hvcapd *d, uint32_t vm_id)
{
	struct hvcapd_vm *vm = hvcapd_registry_find(&d->registry, vm_id);
	int r = remove_file(d, vm_id);

	/* The control plane forgets the VM once the disk has: the caller frees it next. */
	if (r == 0 && vm)
		hvcapd_control_unpublish_vm(d, vm);
	return r;
}
