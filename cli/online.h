/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * hvctl's online side: talking to hvcapd through proto's Varlink client.
 * The address is --address (before the command), else $HVCAP_ADDRESS,
 * else the default for root or for a user (DESIGN.md §5).
 */

#include <stdbool.h>
#include <stdint.h>

#include <json-c/json.h>
#include <libcaps/policy.h>
#include <proto/client.h>

#include "hvctl.h"

/* Set by hvctl.c from the global --address option; NULL when not given. */
extern const char *hvctl_address;

struct hvctl_online {
	char address[128];
	struct proto_client *client;
};

/*
 * Connect to the daemon.  On failure, unless quiet, print why, naming the
 * address tried ("no hvcapd answers at unix:/run/hvcap/io.hvcap: ...").
 * Returns 0, or -errno (-ENOENT/-ECONNREFUSED when no daemon listens).
 */
int hvctl_online_connect(const struct hvctl_command *cmd, struct hvctl_online *o, bool quiet);
/* The same, not quiet, as an exit status: 0, HVCTL_EXIT_USAGE for a bad address, or failure. */
int hvctl_online_open(const struct hvctl_command *cmd, struct hvctl_online *o);
void hvctl_online_close(struct hvctl_online *o);

/*
 * For commands that work without the daemon, after hvctl_online_connect()
 * failed with r: -1 after saying on stderr that no daemon answered (naming
 * the address and the error) and what the command does instead; or
 * HVCTL_EXIT_USAGE for a bad --address/$HVCAP_ADDRESS.
 */
int hvctl_online_fallback(const struct hvctl_command *cmd, const struct hvctl_online *o, int r,
			  const char *instead);

/* True for the errors that mean "no daemon at that address". */
bool hvctl_online_is_absent(int r);

/*
 * Call method with parameters (consumed, may be NULL).  0 with *ret the
 * reply parameters (owned by the caller) on success; on an error reply,
 * print it in words and return HVCTL_EXIT_FAILURE (or HVCTL_EXIT_USAGE
 * for InvalidParameter and InvalidHostParameter, the command line's
 * fault); on a
 * connection failure print it and return HVCTL_EXIT_FAILURE.
 */
int hvctl_online_call(const struct hvctl_command *cmd, struct hvctl_online *o, const char *method,
		      struct json_object *parameters, struct json_object **ret);

/* Connect, call, close: the whole exchange of most commands. */
int hvctl_online_call_once(const struct hvctl_command *cmd, const char *method,
			   struct json_object *parameters, struct json_object **ret);

/* Print an error reply in one or two lines: name and what its parameters say. */
void hvctl_print_varlink_error(const struct hvctl_command *cmd, const char *error,
			       struct json_object *parameters);

/* Parse a non-negative decimal id (VM, vCPU) up to max; -EINVAL otherwise. */
int hvctl_parse_id(const char *s, uint32_t max, uint32_t *ret);

/*
 * Resolve a VM given as an id or a name (io.hvcap.Vm.List).  Returns 0,
 * or an exit status after printing why.
 */
int hvctl_resolve_vm(const struct hvctl_command *cmd, struct hvctl_online *o, const char *arg,
		     int64_t *ret);

/* Small JSON accessors for printing replies (NULL/0/false when absent or mistyped). */
const char *hvctl_json_str(struct json_object *o, const char *key);
int64_t hvctl_json_int(struct json_object *o, const char *key);
bool hvctl_json_bool(struct json_object *o, const char *key);
struct json_object *hvctl_json_get(struct json_object *o, const char *key);

/*
 * Parse --help/--json and exactly n_pos positional arguments.  Returns 0
 * (*ret_pos the arguments), -1 after printing help (exit 0), or an exit
 * status after a usage error.
 */
int hvctl_parse_plain(const struct hvctl_command *cmd, int argc, char **argv, int n_pos,
		      bool *json, char ***ret_pos);

/*
 * The feature set named by a JSON array of names (either style); names
 * this hvctl's catalog does not know are counted in *ret_unknown.
 */
void hvctl_json_features(struct json_object *names, struct caps *ret, size_t *ret_unknown);

/*
 * Read a policy file; an unreadable one is a usage error (the input is the
 * command's argument), reported with the JSON path of the bad field.
 * 0 or HVCTL_EXIT_USAGE.
 */
int hvctl_policy_read(const struct hvctl_command *cmd, const char *path, struct caps_policy *ret);

/*
 * The whole exchange of a vm command: connect, resolve VM (an id or a
 * name), call method with {"vm": id} and the extra parameters (consumed,
 * may be NULL).  0 with *ret the reply and *ret_vm (may be NULL) the id,
 * or an exit status after printing why.
 */
int hvctl_vm_call(const struct hvctl_command *cmd, const char *vm_arg, const char *method,
		  struct json_object *extra, struct json_object **ret, int64_t *ret_vm);

/*
 * The whole exchange of a vcpu command: connect, resolve "VM VCPU", add
 * the extra parameters (consumed, may be NULL), call.  0 with *ret the
 * reply, or an exit status after printing why.
 */
int hvctl_vcpu_call(const struct hvctl_command *cmd, const char *vm_arg, const char *vcpu_arg,
		    const char *method, struct json_object *extra, struct json_object **ret);

/*
 * A vcpu command whose only arguments are VM VCPU and whose reply is one
 * erap_ctl byte under key: printed between before and after, or --json.
 */
int hvctl_vcpu_erap_command(const struct hvctl_command *cmd, int argc, char **argv, const char *method,
			    const char *key, const char *before, const char *after);

/* An erap_ctl byte in words: "0x03 (ALLOW_LARGER_RAP CLEAR_RAP)". */
const char *hvctl_erap_string(int64_t v, char *buf, size_t size);

/* Parse a 64-bit value given in decimal, 0x hex or 0 octal; -EINVAL otherwise. */
int hvctl_parse_u64(const char *s, uint64_t *ret);

/* Print a reply as JSON (consumed); the exit status. */
int hvctl_print_reply_json(struct json_object *reply);
