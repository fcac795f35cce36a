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

/*
 * json-c prints every integer with snprintf(), which was a fifth of the
 * daemon's time in a Validate reply (71 CPUID entries of 7 integers each,
 * bench/run-all.sh): print the decimal digits here instead.
 */
static int int64_to_json_cb(struct json_object *jso, struct printbuf *pb, int level, int flags)
{
	int64_t v = json_object_get_int64(jso);
	uint64_t u = v < 0 ? -(uint64_t)v : (uint64_t)v;
	char buf[24], *p = buf + sizeof(buf);

	(void)level;
	(void)flags;
	do
		*--p = (char)('0' + u % 10);
	while ((u /= 10) != 0);
	if (v < 0)
		*--p = '-';
	return printbuf_memappend(pb, p, (int)(buf + sizeof(buf) - p));
}

struct json_object *proto_json_new_int64(int64_t v)
{
	struct json_object *obj = json_object_new_int64(v);

	if (obj)
		json_object_set_serializer(obj, int64_to_json_cb, NULL, NULL);
	return obj;
}

bool proto_json_add_literal(struct json_object *obj, const char *key, struct json_object *val)
{
	if (!val)
		return false;
	if (!obj || json_object_object_add_ex(obj, key, val,
					      JSON_C_OBJECT_ADD_KEY_IS_NEW | JSON_C_OBJECT_ADD_CONSTANT_KEY) < 0) {
		json_object_put(val);
		return false;
	}
	return true;
}

static struct json_object *cpuid_entry_to_json(const struct caps_cpuid_entry *e)
{
	struct json_object *obj = json_object_new_object();
	bool ok = obj != NULL;

	ok = ok && proto_json_add_literal(obj, "function", proto_json_new_int64(e->function));
	ok = ok && proto_json_add_literal(obj, "index", proto_json_new_int64(e->index));
	ok = ok && proto_json_add_literal(obj, "flags", proto_json_new_int64(e->flags));
	ok = ok && proto_json_add_literal(obj, "eax", proto_json_new_int64(e->eax));
	ok = ok && proto_json_add_literal(obj, "ebx", proto_json_new_int64(e->ebx));
	ok = ok && proto_json_add_literal(obj, "ecx", proto_json_new_int64(e->ecx));
	ok = ok && proto_json_add_literal(obj, "edx", proto_json_new_int64(e->edx));
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
