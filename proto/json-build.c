/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The helpers proto's JSON writers build objects with (json-build.h). */

#include <errno.h>
#include <string.h>

#include <proto/host.h>

#include "json-build.h"

bool proto_json_add(struct json_object *obj, const char *key, struct json_object *val)
{
	if (!val)
		return false;
	if (!obj || json_object_object_add(obj, key, val) < 0) {
		json_object_put(val);
		return false;
	}
	return true;
}

bool proto_json_add_if(bool ok, struct json_object *obj, const char *key, struct json_object *val)
{
	if (ok)
		return proto_json_add(obj, key, val);
	json_object_put(val);
	return false;
}

bool proto_json_append(struct json_object *arr, struct json_object *val)
{
	if (!val)
		return false;
	if (!arr || json_object_array_add(arr, val) < 0) {
		json_object_put(val);
		return false;
	}
	return true;
}

struct json_object *proto_json_finish(struct json_object *obj, bool ok)
{
	if (ok && obj)
		return obj;
	json_object_put(obj);
	errno = ENOMEM;
	return NULL;
}

struct json_object *proto_json_new_string_n(const char *s, size_t size)
{
	return json_object_new_string_len(s, (int)strnlen(s, size));
}

static struct json_object *cpuid_entry_to_json(const struct caps_cpuid_entry *e)
{
	struct json_object *obj = json_object_new_object();
	bool ok = obj != NULL;

	ok = ok && proto_json_add(obj, "function", json_object_new_int64(e->function));
	ok = ok && proto_json_add(obj, "index", json_object_new_int64(e->index));
	ok = ok && proto_json_add(obj, "flags", json_object_new_int64(e->flags));
	ok = ok && proto_json_add(obj, "eax", json_object_new_int64(e->eax));
	ok = ok && proto_json_add(obj, "ebx", json_object_new_int64(e->ebx));
	ok = ok && proto_json_add(obj, "ecx", json_object_new_int64(e->ecx));
	ok = ok && proto_json_add(obj, "edx", json_object_new_int64(e->edx));
	return proto_json_finish(obj, ok);
}

struct json_object *proto_cpuid_to_json(const struct caps_cpuid *c)
{
	struct json_object *arr = json_object_new_array();
	bool ok = arr != NULL;

	for (size_t i = 0; ok && i < c->nent && i < CAPS_CPUID_MAX_ENTRIES; i++)
		ok = proto_json_append(arr, cpuid_entry_to_json(&c->entries[i]));
	return proto_json_finish(arr, ok);
}
