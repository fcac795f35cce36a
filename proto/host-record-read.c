/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * io.hvcap.Host's HostRecord read back from JSON (proto/host.h): what
 * proto_host_record_to_json() writes, as `hvctl host export --format
 * json` prints it under "host", for baselines over exported records.
 * Strict as the other readers (proto/json-decode.h): unknown keys, wrong
 * types, values out of range and arrays past the record's capacity are
 * refused with the path of the value at fault.
 */

#include <errno.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <proto/host.h>
#include <proto/json-decode.h>

/* The psABI defines x86-64-v1 to v4. */
#define HOST_LEVEL_MAX 4
/* A KvmCap name ("KVM_CAP_XSAVE2"): checked, then left out (the record keeps static names). */
#define KVM_CAP_NAME_MAX 63

struct record_scratch {
	struct caps_host_record r;
	struct proto_host_derived d;
};

static int decode_backend(const struct proto_field *f, struct json_object *v, void *base, const char *path,
			  struct proto_error *err)
{
	struct record_scratch *s = base;
	const char *str;
	size_t len;
	int r;

	(void)f;
	r = proto_json_get_string(v, 16, path, &str, &len, err);
	if (r < 0)
		return r;
	if (strcmp(str, "kvm") == 0)
		s->r.backend = CAPS_BACKEND_KVM;
	else if (strcmp(str, "model") == 0)
		s->r.backend = CAPS_BACKEND_MODEL;
	else
		return proto_error_set(err, path, "expected \"kvm\" or \"model\"");
	return 0;
}

static int decode_features(const struct proto_field *f, struct json_object *v, void *base, const char *path,
			   struct proto_error *err)
{
	struct record_scratch *s = base;
	size_t n;

	(void)f;
	if (!json_object_is_type(v, json_type_array))
		return proto_error_set(err, path, "expected an array, got %s", proto_json_type_desc(v));
	n = json_object_array_length(v);
	if (n > CAPS_NR_FEATURE_IDS)
		return proto_error_set(err, path, "more than %d features", CAPS_NR_FEATURE_IDS);
	caps_zero(&s->r.features);
	for (size_t i = 0; i < n; i++) {
		char p[160], shown[PROTO_SHOWN_SIZE];
		const char *name;
		size_t len;
		int id, r;

		proto_json_path_index(p, sizeof(p), path, i);
		r = proto_json_get_string(json_object_array_get_idx(v, i), 64, p, &name, &len, err);
		if (r < 0)
			return r;
		id = caps_feature_lookup(name);
		if (id < 0)
			return proto_error_set(err, p, "unknown feature '%s'",
					       proto_json_show(shown, sizeof(shown), name, len));
		caps_set(&s->r.features, id);
	}
	return 0;
}

/* KvmCap.name: checked, not kept (a record's names are static storage). */
static int decode_cap_name(const struct proto_field *f, struct json_object *v, void *base, const char *path,
			   struct proto_error *err)
{
	const char *str;
	size_t len;

	(void)f;
	(void)base;
	return proto_json_get_string(v, KVM_CAP_NAME_MAX, path, &str, &len, err);
}

static bool fingerprint_is_valid(const char *s, size_t len)
{
	(void)s;
	return len > 0;
}

#define U32_FIELD(st, m) \
	{ .name = #m, .type = PROTO_FIELD_INT, .flags = PROTO_FIELD_REQUIRED, PROTO_MEMBER(st, m), \
	  .min = 0, .max = UINT32_MAX }

static const struct proto_field cpuid_entry_fields[] = {
	U32_FIELD(struct caps_cpuid_entry, function),
	U32_FIELD(struct caps_cpuid_entry, index),
	U32_FIELD(struct caps_cpuid_entry, flags),
	U32_FIELD(struct caps_cpuid_entry, eax),
	U32_FIELD(struct caps_cpuid_entry, ebx),
	U32_FIELD(struct caps_cpuid_entry, ecx),
	U32_FIELD(struct caps_cpuid_entry, edx),
	{ .name = NULL },
};

static const struct proto_field cpuid_entry = {
	.type = PROTO_FIELD_OBJECT, .offset = 0, .fields = cpuid_entry_fields,
};

static const struct proto_field param_fields[] = {
	{ .name = "module", .type = PROTO_FIELD_STRING, .flags = PROTO_FIELD_REQUIRED,
	  PROTO_MEMBER(struct caps_param, module) },
	{ .name = "name", .type = PROTO_FIELD_STRING, .flags = PROTO_FIELD_REQUIRED,
	  PROTO_MEMBER(struct caps_param, name) },
	{ .name = "value", .type = PROTO_FIELD_STRING, .flags = PROTO_FIELD_REQUIRED,
	  PROTO_MEMBER(struct caps_param, value) },
	{ .name = NULL },
};

static const struct proto_field param_entry = {
	.type = PROTO_FIELD_OBJECT, .offset = 0, .fields = param_fields,
};

static const struct proto_field msr_fields[] = {
	U32_FIELD(struct caps_msr, index),
	{ .name = "value", .type = PROTO_FIELD_CUSTOM, .flags = PROTO_FIELD_REQUIRED,
	  PROTO_MEMBER(struct caps_msr, value), .decode = proto_decode_hex64 },
	{ .name = NULL },
};

static const struct proto_field msr_entry = {
	.type = PROTO_FIELD_OBJECT, .offset = 0, .fields = msr_fields,
};

static const struct proto_field kvm_cap_fields[] = {
	U32_FIELD(struct caps_kvm_cap, cap),
	{ .name = "name", .type = PROTO_FIELD_CUSTOM, .flags = PROTO_FIELD_REQUIRED, .decode = decode_cap_name },
	{ .name = "value", .type = PROTO_FIELD_INT, .flags = PROTO_FIELD_REQUIRED,
	  PROTO_MEMBER(struct caps_kvm_cap, value), .min = INT32_MIN, .max = INT32_MAX },
	{ .name = NULL },
};

static const struct proto_field kvm_cap_entry = {
	.type = PROTO_FIELD_OBJECT, .offset = 0, .fields = kvm_cap_fields,
};

#define R(m) offsetof(struct record_scratch, r.m)

static const struct proto_field record_fields[] = {
	{ .name = "backend", .type = PROTO_FIELD_CUSTOM, .flags = PROTO_FIELD_REQUIRED, .decode = decode_backend },
	{ .name = "kernel_release", .type = PROTO_FIELD_STRING, .flags = PROTO_FIELD_REQUIRED,
	  PROTO_MEMBER(struct record_scratch, r.kernel_release) },
	{ .name = "vendor_module", .type = PROTO_FIELD_STRING, .flags = PROTO_FIELD_REQUIRED,
	  PROTO_MEMBER(struct record_scratch, r.vendor_module) },
	{ .name = "api_version", .type = PROTO_FIELD_INT, .flags = PROTO_FIELD_REQUIRED,
	  PROTO_MEMBER(struct record_scratch, r.api_version), .min = 0, .max = INT32_MAX },
	{ .name = "microcode", .type = PROTO_FIELD_CUSTOM, .flags = PROTO_FIELD_NULLABLE | PROTO_FIELD_PRESENCE,
	  PROTO_MEMBER(struct record_scratch, r.microcode), .presence_offset = R(has_microcode),
	  .decode = proto_decode_hex64 },
	{ .name = "fingerprint", .type = PROTO_FIELD_STRING, .flags = PROTO_FIELD_REQUIRED,
	  PROTO_MEMBER(struct record_scratch, r.fingerprint), .valid = fingerprint_is_valid,
	  .valid_desc = "1 to 31 bytes" },
	{ .name = "level", .type = PROTO_FIELD_INT, .flags = PROTO_FIELD_REQUIRED,
	  PROTO_MEMBER(struct record_scratch, d.level), .min = 0, .max = HOST_LEVEL_MAX },
	{ .name = "avic", .type = PROTO_FIELD_BOOL, .flags = PROTO_FIELD_REQUIRED,
	  PROTO_MEMBER(struct record_scratch, d.avic) },
	{ .name = "x2avic", .type = PROTO_FIELD_BOOL, .flags = PROTO_FIELD_REQUIRED,
	  PROTO_MEMBER(struct record_scratch, d.x2avic) },
	{ .name = "params", .type = PROTO_FIELD_ARRAY, .flags = PROTO_FIELD_REQUIRED, .offset = R(params),
	  .element = &param_entry, .element_size = sizeof(struct caps_param), .max_count = CAPS_PARAM_MAX,
	  .count_offset = R(n_params) },
	{ .name = "features", .type = PROTO_FIELD_CUSTOM, .flags = PROTO_FIELD_REQUIRED, .decode = decode_features },
	{ .name = "cpuid", .type = PROTO_FIELD_ARRAY, .flags = PROTO_FIELD_REQUIRED, .offset = R(supported.entries),
	  .element = &cpuid_entry, .element_size = sizeof(struct caps_cpuid_entry),
	  .max_count = CAPS_CPUID_MAX_ENTRIES, .count_offset = R(supported.nent) },
	{ .name = "emulated_cpuid", .type = PROTO_FIELD_ARRAY, .flags = PROTO_FIELD_REQUIRED,
	  .offset = R(emulated.entries), .element = &cpuid_entry, .element_size = sizeof(struct caps_cpuid_entry),
	  .max_count = CAPS_CPUID_MAX_ENTRIES, .count_offset = R(emulated.nent) },
	{ .name = "msrs", .type = PROTO_FIELD_ARRAY, .flags = PROTO_FIELD_REQUIRED, .offset = R(msrs.msrs),
	  .element = &msr_entry, .element_size = sizeof(struct caps_msr), .max_count = CAPS_MSR_MAX,
	  .count_offset = R(msrs.n) },
	{ .name = "kvm_caps", .type = PROTO_FIELD_ARRAY, .flags = PROTO_FIELD_REQUIRED, .offset = R(kvm_caps),
	  .element = &kvm_cap_entry, .element_size = sizeof(struct caps_kvm_cap), .max_count = CAPS_KVM_CAP_MAX,
	  .count_offset = R(n_kvm_caps) },
	{ .name = NULL },
};

struct json_object *proto_host_record_unwrap(struct json_object *v)
{
	struct json_object *host;

	if (!json_object_is_type(v, json_type_object))
		return NULL;
	if (json_object_object_get_ex(v, "host", &host))
		return json_object_is_type(host, json_type_object) ? host : NULL;
	if (json_object_object_get_ex(v, "backend", NULL) && json_object_object_get_ex(v, "fingerprint", NULL) &&
	    json_object_object_get_ex(v, "cpuid", NULL))
		return v;
	return NULL;
}

/*
 * What KVM_GET_SUPPORTED_CPUID and KVM_GET_EMULATED_CPUID answer has one
 * entry per leaf and sub-leaf and only the flags KVM defines: a record
 * with more is none that a probe or model made, and hvcore's tables
 * (caps_cpuid_add()) would refuse it later.
 */
static int check_cpuid(const struct caps_cpuid *c, const char *path, const char *key, struct proto_error *err)
{
	char where[256];

	for (size_t i = 0; i < c->nent; i++) {
		const struct caps_cpuid_entry *e = &c->entries[i];

		snprintf(where, sizeof(where), "%s%s%s[%zu]", path, path[0] ? "." : "", key, i);
		if (e->flags & ~CAPS_CPUID_FLAGS_ALL)
			return proto_error_set(err, where, "flags 0x%x: bits KVM does not define", e->flags);
		for (size_t k = 0; k < i; k++)
			if (c->entries[k].function == e->function && c->entries[k].index == e->index)
				return proto_error_set(err, where, "a second entry for leaf 0x%x index %u", e->function,
						       e->index);
	}
	return 0;
}

int proto_host_record_from_json(struct json_object *v, const char *path, struct caps_host_record *ret,
				struct proto_host_derived *derived, struct proto_error *err)
{
	struct record_scratch *s;
	int r;

	if (!v || !path || !ret)
		return -EINVAL;
	if (!json_object_is_type(v, json_type_object))
		return proto_error_set(err, path, "expected a HostRecord object, got %s", proto_json_type_desc(v));
	s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	caps_host_record_init(&s->r, CAPS_BACKEND_MODEL);
	r = proto_json_decode_object(record_fields, v, s, path, err);
	if (r == 0)
		r = check_cpuid(&s->r.supported, path, "cpuid", err);
	if (r == 0)
		r = check_cpuid(&s->r.emulated, path, "emulated_cpuid", err);
	if (r == 0) {
		*ret = s->r;
		if (derived)
			*derived = s->d;
	}
	free(s);
	return r;
}

/* ---- exports: the record with the host's name and why KVM withholds features ---- */

/* Bytes of an export's hostname (HOST_NAME_MAX is 64; a FQDN may be longer). */
#define EXPORT_HOSTNAME_MAX 255

static int withheld_string(struct json_object *w, const char *key, bool nullable, const char *path,
			   const char **ret, struct proto_error *err)
{
	struct json_object *v;
	char where[320];
	size_t len;

	snprintf(where, sizeof(where), "%s.%s", path, key);
	*ret = NULL;
	if (!json_object_object_get_ex(w, key, &v))
		return nullable ? 0 : proto_error_set(err, where, "required");
	if (!v && nullable)
		return 0;
	return proto_json_get_string(v, CAPS_EVAL_TEXT_MAX - 1, where, ret, &len, err);
}

static int read_withheld(struct json_object *a, const char *path, struct proto_host_export *ret,
			 struct proto_error *err)
{
	char where[256];
	size_t n;
	int r;

	if (!json_object_is_type(a, json_type_array))
		return proto_error_set(err, path, "expected an array, got %s", proto_json_type_desc(a));
	n = json_object_array_length(a);
	if (n > CAPS_NR_FEATURE_IDS) {
		proto_error_set(err, path, "more than %d features", CAPS_NR_FEATURE_IDS);
		return -E2BIG;
	}
	for (size_t i = 0; i < n; i++) {
		struct json_object *w = json_object_array_get_idx(a, i);
		struct proto_host_withheld *h = &ret->withheld[i];
		const char *name;

		snprintf(where, sizeof(where), "%s[%zu]", path, i);
		if (!json_object_is_type(w, json_type_object))
			return proto_error_set(err, where, "expected an object, got %s", proto_json_type_desc(w));
		json_object_object_foreach(w, key, val) {
			(void)val;
			if (strcmp(key, "name") && strcmp(key, "reason") && strcmp(key, "detail"))
				return proto_error_set(err, where, "unknown member \"%s\"", key);
		}
		r = withheld_string(w, "name", false, where, &name, err);
		if (r == 0)
			r = withheld_string(w, "reason", false, where, &h->reason, err);
		if (r == 0)
			r = withheld_string(w, "detail", true, where, &h->detail, err);
		if (r < 0)
			return r;
		/* A feature this catalog lacks (a newer hvcap's) is kept as unknown, not refused. */
		h->feature = caps_feature_lookup(name);
	}
	ret->n_withheld = n;
	return 0;
}

int proto_host_export_from_json(struct json_object *v, const char *path, struct proto_host_export *ret,
				struct proto_error *err)
{
	struct json_object *record, *x;
	char where[192];
	const char *s;
	size_t len;
	int r;

	if (!v || !path || !ret)
		return -EINVAL;
	record = proto_host_record_unwrap(v);
	if (!record)
		return proto_error_set(err, path, "not a host record: expected a HostRecord (backend, fingerprint, "
				       "cpuid, ...) or an export holding one under \"host\"");
	snprintf(where, sizeof(where), "%s%s%s", path, record == v ? "" : (path[0] ? "." : ""),
		 record == v ? "" : "host");
	r = proto_host_record_from_json(record, where, &ret->record, &ret->derived, err);
	if (r < 0)
		return r;
	ret->hostname = NULL;
	ret->inventory = false;
	ret->n_withheld = 0;
	if (record == v)
		return 0;
	if (json_object_object_get_ex(v, "hostname", &x)) {
		snprintf(where, sizeof(where), "%s%shostname", path, path[0] ? "." : "");
		r = proto_json_get_string(x, EXPORT_HOSTNAME_MAX, where, &s, &len, err);
		if (r < 0)
			return r;
		ret->hostname = len ? s : NULL;
	}
	if (json_object_object_get_ex(v, "withheld", &x)) {
		snprintf(where, sizeof(where), "%s%swithheld", path, path[0] ? "." : "");
		r = read_withheld(x, where, ret, err);
		if (r < 0)
			return r;
		ret->inventory = true;
	}
	return 0;
}
