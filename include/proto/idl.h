/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * Varlink interface descriptions (varlink.org/Interface-Definition): the
 * files proto/varlink/<interface>.varlink are the single source of the
 * API's method names and field types.  They are embedded at build time;
 * the daemon serves their text from GetInterfaceDescription and checks
 * every call's parameters against the method's input type before a
 * handler sees them.
 */

#include <stdbool.h>
#include <stddef.h>

#include <json-c/json.h>
#include <proto/json-decode.h>

struct proto_idl;

/* The embedded interfaces, in a fixed order (io.hvcap, ..., org.varlink.service). */
size_t proto_idl_builtin_count(void);
/*
 * Parse the embedded interfaces (once, for every thread): 0, or the first
 * failure with err naming the file and line.  The daemon calls it before
 * READY=1; a unit test makes a broken embedded file fail the build's checks.
 */
int proto_idl_builtin_load(struct proto_error *err);
/* The i-th embedded interface, parsed once; NULL past the end. */
const struct proto_idl *proto_idl_builtin(size_t i);
/* The embedded interface of that name, or NULL. */
const struct proto_idl *proto_idl_builtin_find(const char *interface);

/* Parse IDL text; -EINVAL with err naming the line for a syntax error. */
int proto_idl_parse(const char *text, struct proto_idl **ret, struct proto_error *err);
void proto_idl_free(struct proto_idl *idl);

const char *proto_idl_name(const struct proto_idl *idl);	/* "io.hvcap.Vm" */
const char *proto_idl_text(const struct proto_idl *idl);	/* the source, comments included */
size_t proto_idl_method_count(const struct proto_idl *idl);
const char *proto_idl_method_name(const struct proto_idl *idl, size_t i);	/* "Create" */
bool proto_idl_has_method(const struct proto_idl *idl, const char *method);
bool proto_idl_has_error(const struct proto_idl *idl, const char *error);	/* "NoSuchVm" */

/*
 * Methods and errors are named by their member name ("Create") or fully
 * qualified with this interface ("io.hvcap.Vm.Create"), here and below.
 * parameters NULL counts as {}.  Nullable (?T) fields may be absent or
 * null; int is a JSON integer in the int64 range (1.0 is not one); float
 * any number; object any JSON object; strings hold no U+0000.
 */

/*
 * Check a call's parameters (an object) against the method's input type:
 * unknown fields, missing non-nullable fields, wrong types (int must be a
 * JSON integer; enums one of their names; maps objects; named types
 * resolved) are -EINVAL with err->path naming the parameter ("policy.vcpus").
 * -ENOENT for an unknown method.
 */
int proto_idl_check_input(const struct proto_idl *idl, const char *method,
			  struct json_object *parameters, struct proto_error *err);
/* The same for a reply's parameters against the output type (tests use it). */
int proto_idl_check_output(const struct proto_idl *idl, const char *method,
			   struct json_object *parameters, struct proto_error *err);
/* The same for an error's parameters against the error's type. */
int proto_idl_check_error(const struct proto_idl *idl, const char *error,
			  struct json_object *parameters, struct proto_error *err);
