/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The helpers proto's JSON writers build objects with (json-build.h). */

#include <errno.h>
#include <stddef.h>
#include <string.h>

#include <proto/host.h>
#include <proto/json-writer.h>

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

/* An entry's members in the order written, each with its key, quoted, after the ',' or '{'. */
static const struct {
	char key[16];		/* zero-padded: copied whole, a constant-size copy */
	size_t len;
	size_t offset;
} cpuid_members[] = {
#define MEMBER(m) { "\"" #m "\":", sizeof("\"" #m "\":") - 1, offsetof(struct caps_cpuid_entry, m) }
	MEMBER(function), MEMBER(index), MEMBER(flags), MEMBER(eax), MEMBER(ebx), MEMBER(ecx), MEMBER(edx),
#undef MEMBER
};

void proto_cpuid_write(struct proto_json_writer *w, const struct caps_cpuid *c)
{
	proto_jw_array_begin(w);
	/* 71 entries of 7 numbers in a Validate reply: one copy per entry. */
	for (size_t i = 0; i < c->nent && i < CAPS_CPUID_MAX_ENTRIES; i++) {
		const char *e = (const char *)&c->entries[i];
		/* Each member: ',', its key (16 bytes copied), its number. */
		char buf[2 + 7 * (1 + 16 + PROTO_JW_INT64_MAX)], *p = buf;

		if (i > 0)
			*p++ = ',';
		for (size_t k = 0; k < sizeof(cpuid_members) / sizeof(cpuid_members[0]); k++) {
			uint32_t v;

			*p++ = k ? ',' : '{';
			memcpy(p, cpuid_members[k].key, sizeof(cpuid_members[k].key));
			p += cpuid_members[k].len;
			memcpy(&v, e + cpuid_members[k].offset, sizeof(v));
			p = proto_jw_put_int64(p, v);
		}
		*p++ = '}';
		proto_jw_raw(w, buf, (size_t)(p - buf));
	}
	proto_jw_array_end(w);
}

struct json_object *proto_cpuid_to_json(const struct caps_cpuid *c)
{
	struct proto_json_writer w;
	struct json_object *obj = NULL;
	int r;

	proto_jw_init(&w, 0);
	proto_cpuid_write(&w, c);
	r = proto_jw_to_object(&w, &obj);
	proto_jw_done(&w);
	if (r < 0)
		errno = -r;
	return obj;
}
