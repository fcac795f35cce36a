/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * hvcapd's internal contract between the server (server.c: the libevent
 * loop, connections, framing, limits, authorization, dispatch) and the
 * methods (method-*.c, one per Varlink method, listed in methods.c).
 *
 * A method is a const table entry: its name, whether it is privileged,
 * and a handler that gets the checked parameters and answers with
 * request_reply()/request_error().  The server has already: parsed the
 * call, checked the caller's privilege (before decoding anything), and
 * checked the parameters against the method's IDL input type.  Handlers
 * decode the parameters into C structs with proto's field tables and
 * never call getsockopt() or check privileges themselves.
 */

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include <json-c/json.h>

#include <hvcore/model.h>
#include <hvcore/policy.h>
#include <hvcore/vm.h>
#include <libcaps/host.h>
#include <proto/json-decode.h>

/* Named limits (DESIGN.md §7); each has a test at the limit and one past it. */
#define HVCAPD_MAX_MESSAGE		(1024 * 1024)	/* bytes of one message, NUL excluded */
#define HVCAPD_MAX_DEPTH		16		/* JSON containers in a call */
#define HVCAPD_MAX_CONNECTIONS		4096		/* in total (sd-varlink's default) */
#define HVCAPD_MAX_CONNECTIONS_PER_UID	1024		/* per peer uid (sd-varlink's default) */
#define HVCAPD_IDLE_TIMEOUT_SEC		300		/* a connection with nothing to do */
#define HVCAPD_PARTIAL_TIMEOUT_SEC	10		/* a message started but not finished */
#define HVCAPD_MAX_PENDING_CALLS	256		/* pipelined calls queued per connection */
#define HVCAPD_MAX_OUTPUT		(16 * 1024 * 1024)	/* unread replies per connection */
#define HVCAPD_OUTPUT_PAUSE		(256 * 1024)	/* unread replies before a connection's calls wait */
#define HVCAPD_MAX_VMS			16384		/* registered VMs */
#define HVCAPD_MAX_VCPUS_PER_VM		1024		/* vCPUs of one VM */
#define HVCAPD_MAX_NAME			64		/* VM name bytes, [A-Za-z0-9._-] */
#define HVCAPD_MAX_WATCHERS		256		/* Watch streams */

struct hvcapd;
struct request;

#define METHOD_PRIVILEGED	(1u << 0)	/* root, the daemon's uid, or the admin group */
#define METHOD_MUTATES		(1u << 1)	/* state is saved before the reply */
#define METHOD_NEEDS_MORE	(1u << 2)	/* refused with ExpectedMore without "more" */

struct method {
	const char *name;		/* fully qualified: "io.hvcap.Vm.Create" */
	unsigned flags;			/* METHOD_* */
	/*
	 * Answer the call: request_reply()/request_error() exactly once
	 * (request_stream() any number of times first for "more" calls that
	 * stay open).  Returns 0, or -errno for a failure the server reports
	 * as an internal error.
	 */
	int (*handler)(struct request *req, struct json_object *parameters);
};

/* The table of every method, and lookup. */
extern const struct method *const hvcapd_methods[];
extern const size_t hvcapd_method_count;
const struct method *hvcapd_method_find(const char *name);

/* ------------------------------------------------------------------ */
/* The request API (server.c). */

struct hvcapd *request_daemon(const struct request *req);
uid_t request_uid(const struct request *req);
bool request_wants_more(const struct request *req);

/* Reply with parameters (consumed; NULL for none). */
int request_reply(struct request *req, struct json_object *parameters);
/*
 * Reply with parameters already written as text: w was started with
 * proto_reply_begin() (proto/varlink.h) and holds the parameters object;
 * it is emptied.  For replies too large to build as json-c objects fast.
 */
struct proto_json_writer;
int request_reply_text(struct request *req, struct proto_json_writer *w);
/* An intermediate reply of a "more" call ("continues": true); consumed. */
int request_stream(struct request *req, struct json_object *parameters);
/* Reply with an error (fully qualified name); parameters consumed, NULL for none. */
int request_error(struct request *req, const char *error, struct json_object *parameters);
/* org.varlink.service.InvalidParameter naming the parameter (a JSON path such as "policy.vcpus"). */
int request_invalid_parameter(struct request *req, const char *parameter);
/* io.hvcap.LimitExceeded. */
int request_limit_exceeded(struct request *req, const char *limit, int64_t value);

/*
 * Keep a "more" call open after the handler returns (Watch): the server
 * keeps req until request_reply()/request_error() or the client leaves;
 * on_close (may be NULL) runs when the client leaves first.
 *
 * (server.c) req is freed after its final reply or its on_close: do not
 * use it again.  While it is open, later calls on the same connection
 * wait (replies stay in call order).  The client cancels by closing the
 * connection.  request_stream() fails with -ENOBUFS (and the server drops
 * the connection) when the client does not read and HVCAPD_MAX_OUTPUT
 * is reached, -ECONNRESET once the connection is going away.  Replies to
 * "oneway" calls are dropped.
 */
void request_keep_open(struct request *req, void (*on_close)(struct request *req, void *data), void *data);

/* ------------------------------------------------------------------ */
/* The daemon's state (hvcapd.c, registry.c, state.c, events.c). */

enum hvcapd_backend_choice {
	HVCAPD_HOST_AUTO,	/* kvm if /dev/kvm opens, else the model of this CPU */
	HVCAPD_HOST_KVM,
	HVCAPD_HOST_MODEL,
};

struct hvcapd_config {
	const char *listen;		/* socket path; NULL: socket activation or the default */
	const char *state_dir;
	const char *control;		/* the shared-memory control file; NULL: none */
	gid_t control_gid;		/* its group (the socket's); (gid_t)-1: the daemon's */
	enum hvcapd_backend_choice host;
	const char *host_dump;		/* model backend: the dump */
	const char *params[64];		/* model backend: "K=V" */
	size_t n_params;
	const char *admin_group;	/* NULL: none */
	gid_t admin_gid;		/* resolved at start */
	bool has_admin_gid;
	int log_level;			/* LOG_ERR .. LOG_DEBUG */
	/* Limits, overridable by tests and the config file. */
	size_t max_message;
	unsigned max_connections;
	unsigned max_connections_per_uid;
	unsigned idle_timeout_sec;
	unsigned partial_timeout_sec;
	unsigned max_vms;
	unsigned max_vcpus_per_vm;
};

/* The host as the daemon serves it (host.c). */
struct hvcapd_host {
	struct caps_host_record *record;	/* probe or model record */
	struct hv_model_result *model;		/* the model (of this machine, for the probe) */
	struct hv_host_params params;
	struct caps_dump *raw;			/* the host's raw CPUID */
	struct hv_feature_status *status;	/* why each feature is or is not supported */
	struct hv_policy_target target;		/* for policy evaluation and VMs */
};

/* Log with an sd-daemon priority prefix on stderr (log.c). */
void hvcapd_log(int priority, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* The least urgent priority hvcapd_log() writes (LOG_INFO until set; log.c). */
void hvcapd_log_set_level(int level);

/*
 * The daemon's life (hvcapd.c): build the host (probe or model), restore
 * registered VMs from the state directory, and free it all.  hvcapd_init()
 * fails with a message on stderr naming the file and the error when a
 * state file does not parse, and leaves that file untouched.
 */
int hvcapd_init(const struct hvcapd_config *cfg, struct hvcapd **ret);
void hvcapd_free(struct hvcapd *d);
const struct hvcapd_config *hvcapd_get_config(const struct hvcapd *d);
const struct hvcapd_host *hvcapd_get_host(const struct hvcapd *d);

/*
 * SIGHUP: probe the host again (or re-read the dump), recompute every
 * VM's guest features under the new record, and send host_drift events
 * (with the fingerprints) to watchers.  The old host stays if re-probing
 * fails.
 */
int hvcapd_reload(struct hvcapd *d, char *summary, size_t size);

/*
 * Mutating methods call this before replying: the VM's state is durable
 * (temporary file, fsync, rename, fsync of the directory) and published in
 * the control plane when it returns 0.  On failure the method replies with
 * an error and the in-memory state (and the control plane) must equal
 * what is on disk.  Removing unpublishes the VM from the control plane.
 */
int hvcapd_state_save_vm(struct hvcapd *d, uint32_t vm_id);
int hvcapd_state_remove_vm(struct hvcapd *d, uint32_t vm_id);

/* Watch streams (events.c): send an event to every watcher. */
void hvcapd_event(struct hvcapd *d, const char *event, int64_t vm, const char *name,
		  const char *fingerprint, const char *detail);
