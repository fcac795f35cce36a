/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * The daemon's state behind daemon.h's lifecycle functions: the host
 * (host.c), the VM registry (registry.c), the state files (state.c), the
 * shared-memory control plane (control.c, control.h), the Watch streams
 * (events.c), and what the method files share (method-common.c).  The
 * server (server.c, main.c) does not use this header; methods do.
 *
 * Layering inside the daemon: method-*.c may use everything here;
 * registry.c, state.c, control.c, events.c and host.c never reply to
 * requests (events.c streams to watchers only) and never use
 * method-common.c.  Methods give new VMs the control plane's arena and
 * otherwise reach it only through hvcapd_state_save_vm(),
 * hvcapd_state_remove_vm() and reloads.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <hvcore/model.h>
#include <hvcore/policy.h>
#include <libcaps/dump.h>
#include <libcaps/policy.h>
#include <proto/json-decode.h>

#include "control.h"
#include "daemon.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/*
 * vCPU ids: KVM_MAX_VCPU_IDS on x86 is KVM_MAX_VCPUS (4096) times
 * KVM_VCPU_ID_RATIO (4); an id at or past it is refused by KVM_CREATE_VCPU.
 */
#define HVCAPD_MAX_VCPU_ID	(4 * 4096 - 1)

/* Value of a JSON id: VM ids are allocated from 1 and never reused while the daemon runs. */
#define HVCAPD_MAX_VM_ID	UINT32_MAX

/* ------------------------------------------------------------------ */
/* VMs (registry.c). */

struct hvcapd_vm {
	uint32_t id;
	char name[HVCAPD_MAX_NAME + 1];
	/* The policy as proto_policy_to_json() writes it: evaluated again on reload. */
	struct json_object *policy;
	char policy_name[CAPS_POLICY_NAME_MAX + 1];
	/* The host the VM was created on. */
	char created_fingerprint[CAPS_FINGERPRINT_MAX];
	/* The evaluation at creation: what vCPUs (hot-plugged ones too) get, and what drift is measured from. */
	struct caps_cpuid_entry *guest_cpuid;
	size_t guest_nent;
	struct caps guest_features;

	struct hv_vm *vm;
	/* vCPU ids in creation order (restore replays it; hvcore has no iterator). */
	uint32_t *vcpu_ids;
	size_t n_vcpus;
	size_t vcpu_ids_size;

	/* Its slot in the control plane's VM table, once published (control.c). */
	uint32_t ctl_slot;
	bool ctl_has_slot;

	/* Registry links: hash chains by id and by name, and the list in id order. */
	struct hvcapd_vm *id_next;
	struct hvcapd_vm *name_next;
	struct hvcapd_vm *prev;
	struct hvcapd_vm *next;
};

struct hvcapd_registry {
	struct hvcapd_vm **by_id;
	struct hvcapd_vm **by_name;
	size_t n_buckets;		/* a power of two */
	size_t count;
	struct hvcapd_vm *first;	/* ascending ids */
	struct hvcapd_vm *last;
	uint32_t next_id;
};

int hvcapd_registry_init(struct hvcapd_registry *r);
/* Free every VM and the tables. */
void hvcapd_registry_done(struct hvcapd_registry *r);

/* [A-Za-z0-9._-], 1..HVCAPD_MAX_NAME bytes. */
bool hvcapd_vm_name_is_valid(const char *s, size_t len);

/*
 * A VM named name on host, with the policy (a reference is taken) and the
 * evaluation's guest CPUID and features; no vCPUs, not registered.
 * max_vcpus bounds hvcore's vCPU creation; its control pages come from
 * arena (the control plane's), which must outlive it.
 */
int hvcapd_vm_new(const char *name, struct json_object *policy, const char *policy_name,
		  const char *fingerprint, const struct hv_host *host, uint32_t max_vcpus,
		  struct hv_page_arena *arena, const struct caps_cpuid *guest_cpuid,
		  const struct caps *guest_features, struct hvcapd_vm **ret);
void hvcapd_vm_free(struct hvcapd_vm *vm);

/*
 * Create vCPU id and give it the VM's guest CPUID: -EEXIST, -E2BIG (past
 * hvcore's max_vcpus), -ENOMEM, or hv_vcpu_set_cpuid()'s error with *ret_why.
 */
int hvcapd_vm_add_vcpu(struct hvcapd_vm *vm, uint32_t id, const char **ret_why);
/* Record a vCPU created by hv_vcpu_create() directly (restore). */
int hvcapd_vm_note_vcpu(struct hvcapd_vm *vm, uint32_t id);

/*
 * Register vm: with id 0 it gets the next free id.  -EEXIST for a name or
 * id in use, -ENOSPC when ids are exhausted, -ENOMEM.
 */
int hvcapd_registry_add(struct hvcapd_registry *r, struct hvcapd_vm *vm);
/* Unregister (the caller frees). */
void hvcapd_registry_remove(struct hvcapd_registry *r, struct hvcapd_vm *vm);
struct hvcapd_vm *hvcapd_registry_find(const struct hvcapd_registry *r, uint32_t id);
struct hvcapd_vm *hvcapd_registry_find_name(const struct hvcapd_registry *r, const char *name);

/* ------------------------------------------------------------------ */
/* The daemon (hvcapd.c). */

struct hvcapd_watcher {
	struct request *req;
};

struct hvcapd {
	struct hvcapd_config cfg;
	struct hvcapd_host *host;
	struct hvcapd_registry registry;

	/* state_dir/vms, open; -1 without a state directory. */
	int vms_fd;
	char *vms_path;

	struct request *watchers[HVCAPD_MAX_WATCHERS];
	size_t n_watchers;

	/* The shared-memory control plane and the arena every VM's pages come from. */
	struct hvcapd_control ctl;
};

static inline struct hvcapd_registry *hvcapd_registry(struct hvcapd *d)
{
	return &d->registry;
}

/*
 * Evaluate a policy on the daemon's host into a malloc()ed evaluation
 * (large: keep it off the stack).
 */
int hvcapd_evaluate(const struct hvcapd *d, const struct caps_policy *policy, enum caps_names names,
		    struct caps_evaluation **ret);

/* What a reload found (Host.Reload's reply). */
struct hvcapd_reload_result {
	char previous_fingerprint[CAPS_FINGERPRINT_MAX];
	char fingerprint[CAPS_FINGERPRINT_MAX];
	bool changed;
	uint32_t *drifted;	/* malloc()ed ids, ascending */
	size_t n_drifted;
};

/* Reload the host and measure drift; on failure the old host stays and err says why. */
int hvcapd_reload_host(struct hvcapd *d, struct hvcapd_reload_result *ret, char *err, size_t err_size);
void hvcapd_reload_result_done(struct hvcapd_reload_result *r);

/* ------------------------------------------------------------------ */
/* The host (host.c). */

/* Build the host the configuration asks for; err says why not. */
int hvcapd_host_new(const struct hvcapd_config *cfg, struct hvcapd_host **ret, char *err, size_t err_size);
void hvcapd_host_free(struct hvcapd_host *h);

/* ------------------------------------------------------------------ */
/* State files (state.c). */

/* Create state_dir/vms if needed, open it, remove temporary files left by a crash. */
int hvcapd_state_open(struct hvcapd *d);
void hvcapd_state_close(struct hvcapd *d);
/* Restore every VM; a file that fails is named on stderr and stops the start. */
int hvcapd_state_restore(struct hvcapd *d);

/* ------------------------------------------------------------------ */
/* Watch streams (events.c). */

/* Add a watcher: -EBUSY past HVCAPD_MAX_WATCHERS. */
int hvcapd_watch_add(struct hvcapd *d, struct request *req);
/* Forget every watcher (the server ends their requests). */
void hvcapd_watchers_done(struct hvcapd *d);

/* ------------------------------------------------------------------ */
/* Shared by the method files (method-common.c). */

/* The parameters every Vm method shares, for field tables. */
#define HVCAPD_FIELD_VM(T, member)						\
	{ .name = "vm", .type = PROTO_FIELD_INT, .flags = PROTO_FIELD_REQUIRED,	\
	  PROTO_MEMBER(T, member), .min = 0, .max = HVCAPD_MAX_VM_ID }
#define HVCAPD_FIELD_VCPU(T, member)						\
	{ .name = "vcpu", .type = PROTO_FIELD_INT, .flags = PROTO_FIELD_REQUIRED,	\
	  PROTO_MEMBER(T, member), .min = 0, .max = HVCAPD_MAX_VCPU_ID }
/* A 64-bit value as a "0x..." string, decoded strictly. */
#define HVCAPD_FIELD_HEX64(key, T, member)					\
	{ .name = key, .type = PROTO_FIELD_CUSTOM, .flags = PROTO_FIELD_REQUIRED,	\
	  PROTO_MEMBER(T, member), .decode = proto_decode_hex64 }

static inline unsigned hvcapd_max_vms(const struct hvcapd *d)
{
	return d->cfg.max_vms ? d->cfg.max_vms : HVCAPD_MAX_VMS;
}

static inline unsigned hvcapd_max_vcpus_per_vm(const struct hvcapd *d)
{
	return d->cfg.max_vcpus_per_vm ? d->cfg.max_vcpus_per_vm : HVCAPD_MAX_VCPUS_PER_VM;
}

/*
 * Add key: val to obj, consuming val whatever happens; -ENOMEM when obj or
 * val is NULL (a failed allocation upstream) or the add fails.
 */
int hvcapd_json_add(struct json_object *obj, const char *key, struct json_object *val);

/* "disabled", "xapic", "x2apic", "invalid". */
const char *hvcapd_apic_mode_name(enum hv_apic_mode m);
/* "enabled", "inhibited" or "not_allocated". */
const char *hvcapd_memslot_state(const struct hv_vm *vm);
/* A 64-bit value as the API writes it: "0x" and lower-case hex. */
struct json_object *hvcapd_json_hex64(uint64_t v);
/* A CPUID set as the API's []CpuidEntry. */
struct json_object *hvcapd_json_cpuid(const struct caps_cpuid_entry *e, size_t n);
/* Feature names of a caps set (linux spelling), for Vcpu.features. */
struct json_object *hvcapd_json_features(const struct caps *c, enum caps_names names);
/* APICv inhibit reasons as their names. */
struct json_object *hvcapd_json_inhibits(uint32_t reasons);

/* The field table of one CPUID entry {function, index, flags, eax, ebx, ecx, edx}. */
extern const struct proto_field hvcapd_cpuid_entry_fields[];
/* A CUSTOM decoder keeping a JSON object (borrowed from the parameters) in a struct json_object *. */
int hvcapd_decode_keep_object(const struct proto_field *f, struct json_object *v, void *base,
			      const char *path, struct proto_error *err);
/* The "names" enum: linux, qemu. */
const char *hvcapd_names_name(int value);

/*
 * Decode parameters through fields into base.  0: decoded; 1: answered
 * with InvalidParameter (the handler returns 0); -errno.
 */
int hvcapd_decode(struct request *req, const struct proto_field *fields, struct json_object *parameters,
		  void *base);

/*
 * A policy given as a JSON object, at JSON path "path" of the parameters,
 * into a malloc()ed caps_policy.  0, 1 (answered with InvalidParameter
 * naming path.key), -errno.
 */
int hvcapd_decode_policy(struct request *req, struct json_object *obj, const char *path,
			 struct caps_policy **ret);

/* ------------------------------------------------------------------ */
/*
 * A host of a cross-host question (fleet-host.c): io.hvcap.Policy's
 * FleetHost, for Baseline's hosts and Compare's own host and source.
 */

#define HVCAPD_FLEET_MAX_PARAMS	32	/* more than hv_host_params_names() lists, fewer than any abuse */
#define HVCAPD_FLEET_NAME_MAX	255	/* a file name fits */

/* A string borrowed from the parameters, as large as a message may be. */
struct hvcapd_text {
	const char *s;
	size_t len;
};

/* A CUSTOM decoder for a struct hvcapd_text of at most CAPS_DUMP_MAX_BYTES (a dump's text). */
int hvcapd_decode_dump_text(const struct proto_field *f, struct json_object *v, void *base, const char *path,
			    struct proto_error *err);

struct hvcapd_fleet_param {
	char key[64];
	char value[CAPS_PARAM_VALUE_MAX];
};

/* The element of a params map ({"key": "value"}) of struct hvcapd_fleet_param. */
extern const struct proto_field hvcapd_fleet_param_value;

/* FleetHost as given: exactly one of dump and record; params only with dump. */
struct hvcapd_fleet_input {
	char name[HVCAPD_FLEET_NAME_MAX + 1];
	bool has_name;
	struct hvcapd_text dump;
	struct json_object *record;	/* borrowed from the parameters */
	struct hvcapd_fleet_param kv[HVCAPD_FLEET_MAX_PARAMS];
	size_t n_kv;
};

/* FleetHost's fields {name, dump, record, params}, of a struct hvcapd_fleet_input. */
extern const struct proto_field hvcapd_fleet_input_fields[];

/* A host read and modelled: the policy target the questions are asked of. */
struct hvcapd_fleet_host {
	struct caps_dump raw;			/* a dump's */
	struct hv_model_result model;
	struct caps_host_record record;		/* a record's */
	struct hv_feature_status status[CAPS_NR_FEATURE_IDS];
	struct hv_policy_target target;
	const char *name;	/* given, a record's hostname or fingerprint, or the caller's default */
};

/*
 * The shape of host in alone: exactly one of dump and record, params only
 * with dump.  0, or 1 answered with InvalidParameter naming where's
 * member; -errno.  Check every host before reading any.
 */
int hvcapd_fleet_input_check(struct request *req, const struct hvcapd_fleet_input *in, const char *where);

/*
 * Read host in (a dump modelled with its params, or a record taken as it
 * is with the export's reasons) into h, whose name is default_name when
 * nothing names it.  Errors name the host by where ("hosts[2]",
 * "source"; "" for Compare's own): InvalidParameter (no dump or record,
 * both, params with a record), InvalidDump, InvalidHostParameter,
 * InvalidHostRecord.  0; 1 answered with an error; -errno.  h (large:
 * allocate it) borrows from in, which must outlive it.
 */
int hvcapd_fleet_host_load(struct request *req, const struct hvcapd_fleet_input *in, const char *where,
			   const char *default_name, struct hvcapd_fleet_host *h);

/* The VM, or NoSuchVm answered (NULL). */
struct hvcapd_vm *hvcapd_vm_or_reply(struct request *req, uint32_t id, int *ret_r);
/* The vCPU and its VM (*ret_vm), or NoSuchVm/NoSuchVcpu answered (NULL). */
struct hv_vcpu *hvcapd_vcpu_or_reply(struct request *req, uint32_t vm_id, uint32_t vcpu,
				     struct hvcapd_vm **ret_vm, int *ret_r);

/* Error replies with the IDL's parameters. */
int hvcapd_reply_no_such_vm(struct request *req, uint32_t vm);
int hvcapd_reply_no_such_vcpu(struct request *req, uint32_t vm, uint32_t vcpu);
int hvcapd_reply_invalid_state(struct request *req, const char *reason);
int hvcapd_reply_invalid_cpuid(struct request *req, const char *reason);

/* Policy decoding from a JSON object (also for the state files): proto's field tables. */
int hvcapd_policy_from_json(struct json_object *obj, struct caps_policy *ret, struct proto_error *err);

/*
 * Save a VM's state, then reply (consumes reply; {} for no parameters,
 * NULL when building it failed: -ENOMEM after saving).  A failed save is
 * -errno for the server to answer.
 */
int hvcapd_save_and_reply(struct request *req, uint32_t vm_id, struct json_object *reply);
