/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * proto's JSON writers build objects with these: every helper consumes
 * the value it is given, and failure (json-c out of memory) is a false
 * that the writer carries to proto_json_finish().  Internal to proto.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <json-c/json.h>

/* Add key: val to obj, consuming val; false if either is missing. */
bool proto_json_add(struct json_object *obj, const char *key, struct json_object *val);
/* proto_json_add(), or when ok is already false just drop val. */
bool proto_json_add_if(bool ok, struct json_object *obj, const char *key, struct json_object *val);
/* Append val to arr, consuming it; false if either is missing. */
bool proto_json_append(struct json_object *arr, struct json_object *val);
/* Return obj, or drop it and fail with errno ENOMEM. */
struct json_object *proto_json_finish(struct json_object *obj, bool ok);
/* A C string of at most size bytes (a fixed array that may lack its NUL). */
struct json_object *proto_json_new_string_n(const char *s, size_t size);

#define proto_json_new_string_member(s) proto_json_new_string_n((s), sizeof(s))
