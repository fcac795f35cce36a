/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libFuzzer target: what hvcapd does with a client's bytes before a
 * method handler runs, in-process: the framer (proto/varlink.c) splits
 * the input into NUL-terminated messages, each is parsed as a call
 * (proto_call_parse()) and as a reply (proto_reply_parse(), the client
 * library's side), and a call's parameters go through the strict decoder
 * (proto/json-decode.c) with a field table that uses every field type, as
 * the method tables do (daemon/method-*.c).  The handlers themselves need
 * the daemon's request and event loop and are not driven here.
 */

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include <proto/json-decode.h>
#include <proto/varlink.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

enum color { COLOR_RED, COLOR_GREEN, COLOR_BLUE };

static const char *color_name(int value)
{
	static const char *const names[] = { "red", "green", "blue" };

	return value >= 0 && value < 3 ? names[value] : NULL;
}

static bool name_is_valid(const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '-'))
			return false;
	return len > 0;
}

struct entry {
	uint32_t function;
	uint32_t index;
	uint64_t value;
};

struct param {
	char key[32];
	char value[64];
};

struct params {
	char name[64];
	bool has_vcpu;
	uint32_t vcpu;
	int8_t level;
	int64_t delta;
	bool flag;
	int color;
	uint64_t cr3;
	struct {
		uint16_t apic;
		char mode[16];
	} apic;
	size_t n_entries;
	struct entry entries[8];
	size_t n_params;
	struct param params[4];
};

static const struct proto_field entry_fields[] = {
	{ .name = "function", .type = PROTO_FIELD_INT, .flags = PROTO_FIELD_REQUIRED,
	  PROTO_MEMBER(struct entry, function), .min = 0, .max = UINT32_MAX },
	{ .name = "index", .type = PROTO_FIELD_INT, PROTO_MEMBER(struct entry, index), .min = 0, .max = UINT32_MAX },
	{ .name = "value", .type = PROTO_FIELD_CUSTOM, .flags = PROTO_FIELD_NULLABLE,
	  PROTO_MEMBER(struct entry, value), .decode = proto_decode_hex64 },
	{ 0 },
};

static const struct proto_field entry_element = {
	.name = "entries[]", .type = PROTO_FIELD_OBJECT, .offset = 0, .size = sizeof(struct entry),
	.fields = entry_fields,
};

static const struct proto_field param_element = {
	.name = "params{}", .type = PROTO_FIELD_STRING, PROTO_MEMBER(struct param, value),
};

static const struct proto_field apic_fields[] = {
	{ .name = "id", .type = PROTO_FIELD_INT, .offset = 0, .size = sizeof(uint16_t), .min = 0, .max = 4095 },
	{ .name = "mode", .type = PROTO_FIELD_STRING, .offset = 2, .size = 16, .max_len = 8 },
	{ 0 },
};

static const struct proto_field fields[] = {
	{ .name = "name", .type = PROTO_FIELD_STRING, .flags = PROTO_FIELD_REQUIRED,
	  PROTO_MEMBER(struct params, name), .valid = name_is_valid, .valid_desc = "[a-z0-9-]+" },
	{ .name = "vcpu", .type = PROTO_FIELD_INT, .flags = PROTO_FIELD_PRESENCE | PROTO_FIELD_NULLABLE,
	  PROTO_MEMBER(struct params, vcpu), .presence_offset = offsetof(struct params, has_vcpu),
	  .min = 0, .max = 1023 },
	{ .name = "level", .type = PROTO_FIELD_INT, PROTO_MEMBER(struct params, level), .min = -128, .max = 127 },
	{ .name = "delta", .type = PROTO_FIELD_INT, PROTO_MEMBER(struct params, delta),
	  .min = INT64_MIN + 1, .max = INT64_MAX - 1 },
	{ .name = "flag", .type = PROTO_FIELD_BOOL, PROTO_MEMBER(struct params, flag) },
	{ .name = "color", .type = PROTO_FIELD_ENUM, PROTO_MEMBER(struct params, color), .enum_name = color_name },
	{ .name = "cr3", .type = PROTO_FIELD_CUSTOM, PROTO_MEMBER(struct params, cr3), .decode = proto_decode_hex64 },
	{ .name = "apic", .type = PROTO_FIELD_OBJECT, PROTO_MEMBER(struct params, apic), .fields = apic_fields },
	{ .name = "entries", .type = PROTO_FIELD_ARRAY, .offset = offsetof(struct params, entries),
	  .element = &entry_element, .element_size = sizeof(struct entry), .max_count = 8,
	  .count_offset = offsetof(struct params, n_entries) },
	{ .name = "params", .type = PROTO_FIELD_MAP, .offset = offsetof(struct params, params),
	  .element = &param_element, .element_size = sizeof(struct param), .max_count = 4,
	  .count_offset = offsetof(struct params, n_params), .key_offset = offsetof(struct param, key),
	  .key_size = sizeof(((struct param *)0)->key) },
	{ 0 },
};

static void check_err(const struct proto_error *err)
{
	if (!memchr(err->path, 0, sizeof(err->path)) || !memchr(err->message, 0, sizeof(err->message)))
		abort();
}

static void message(const char *msg, size_t len, unsigned depth)
{
	struct proto_error err = { { 0 } };
	struct proto_call call;
	struct proto_reply reply;
	struct proto_message out = { 0 };
	struct params p;
	int r;

	r = proto_call_parse(msg, len, depth, &call, &err);
	check_err(&err);
	if (r == 0) {
		if (!json_object_is_type(call.parameters, json_type_object))
			abort();
		if (strlen(call.interface) >= strlen(call.method))
			abort();
		memset(&p, 0, sizeof(p));
		memset(&err, 0, sizeof(err));
		r = proto_json_decode_object(fields, call.parameters, &p, "", &err);
		check_err(&err);
		if (r == 0 && (p.n_entries > 8 || p.n_params > 4 || !memchr(p.name, 0, sizeof(p.name))))
			abort();
		/* Answer it as the server would: a reply that carries the parameters back. */
		if (proto_reply_build(call.parameters, false, &out) == 0) {
			memset(&err, 0, sizeof(err));
			if (proto_reply_parse(out.data, out.len - 1, 0, &reply, &err) < 0) {
				fprintf(stderr, "a reply built from accepted parameters does not parse: %s: %s\n",
					err.path, err.message);
				abort();
			}
			proto_reply_done(&reply);
			proto_message_done(&out);
		}
		proto_call_done(&call);
	}
	memset(&err, 0, sizeof(err));
	if (proto_reply_parse(msg, len, depth, &reply, &err) == 0)
		proto_reply_done(&reply);
	check_err(&err);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct proto_framer f;
	const char *msg;
	size_t len, chunk;
	unsigned depth;

	if (size < 1)
		return 0;
	/* The first byte: the depth limit and how the bytes arrive (as reads of a socket would split them). */
	depth = data[0] % 40;
	chunk = 1 + (data[0] >> 3) * 7;
	data++;
	size--;
	if (proto_framer_init(&f, 64 * 1024) < 0)
		abort();
	for (size_t off = 0; off < size; off += chunk) {
		size_t n = size - off < chunk ? size - off : chunk;

		if (proto_framer_feed(&f, data + off, n) < 0)
			break;
		while (proto_framer_next(&f, &msg, &len) == 1)
			message(msg, len, depth > 32 ? 32 : depth);
	}
	(void)proto_framer_pending(&f);
	proto_framer_done(&f);
	return 0;
}
