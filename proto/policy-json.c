/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Policy documents in, policies and evaluations out (proto/policy.h).
 * The field table below is the policy format; the only checks outside
 * it are the ones that span members: feature names against the catalog,
 * and two spellings of one feature.
 */

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <libcaps/cpuid.h>
#include <libcaps/file.h>
#include <proto/host.h>
#include <proto/json-writer.h>
#include <proto/policy.h>

#include "json-build.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* phys_bits other than 0: what x86-64 architecturally allows a guest. */
#define POLICY_PHYS_BITS_MIN	32
#define POLICY_PHYS_BITS_MAX	52

_Static_assert(sizeof(enum caps_policy_base) == sizeof(int), "ENUM fields are int-sized");
_Static_assert(sizeof(enum caps_feature_policy) == sizeof(int), "ENUM fields are int-sized");
_Static_assert(sizeof(enum caps_policy_apic) == sizeof(int), "ENUM fields are int-sized");

/* The charset of policy and feature names. */
static bool is_name_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '.' || c == '_' || c == '-';
}

static bool name_is_valid(const char *s, size_t len)
{
	if (len == 0)
		return false;
	for (size_t i = 0; i < len; i++)
		if (!is_name_char(s[i]))
			return false;
	return true;
}

#define NAME_CHARSET "1 or more of the characters A-Z, a-z, 0-9, '.', '_' and '-'"

static const char *base_name(int v)
{
	return caps_policy_base_to_string((enum caps_policy_base)v);
}

static const char *feature_policy_name(int v)
{
	return caps_feature_policy_to_string((enum caps_feature_policy)v);
}

static const char *const apic_names[] = {
	[CAPS_POLICY_APIC_XAPIC] = "xapic",
	[CAPS_POLICY_APIC_X2APIC] = "x2apic",
};

static const char *apic_name(int v)
{
	return v >= 0 && (size_t)v < ARRAY_SIZE(apic_names) ? apic_names[v] : NULL;
}

/* Accepted spellings of a vendor, and the CPUID vendor string each means. */
static const struct {
	const char *name;
	const char *vendor;
} vendor_names[] = {
	{ "GenuineIntel", "GenuineIntel" },
	{ "AuthenticAMD", "AuthenticAMD" },
	{ "intel", "GenuineIntel" },
	{ "amd", "AuthenticAMD" },
};

static int decode_vendor(const struct proto_field *f, struct json_object *v, void *base,
			 const char *path, struct proto_error *err)
{
	static const char expected[] = "expected \"GenuineIntel\", \"AuthenticAMD\", \"intel\" or \"amd\"";
	struct caps_policy *p = base;
	char shown[PROTO_SHOWN_SIZE];
	const char *s;
	size_t n;

	if (!json_object_is_type(v, json_type_string))
		return proto_error_set(err, path, "%s, got %s", expected, proto_json_type_desc(v));
	s = json_object_get_string(v);
	n = (size_t)json_object_get_string_len(v);
	for (size_t i = 0; i < ARRAY_SIZE(vendor_names); i++) {
		if (strlen(vendor_names[i].name) == n && memcmp(vendor_names[i].name, s, n) == 0) {
			_Static_assert(sizeof(p->vendor) == sizeof("GenuineIntel"), "vendor holds 12 bytes");
			memcpy(p->vendor, vendor_names[i].vendor, sizeof(p->vendor));
			p->has_vendor = true;
			return 0;
		}
	}
	return proto_error_set(err, path, "%s, got \"%s\"", expected,
			       proto_json_show(shown, sizeof(shown), s, n));
}

static int decode_phys_bits(const struct proto_field *f, struct json_object *v, void *base,
			    const char *path, struct proto_error *err)
{
	struct caps_policy *p = base;
	int64_t bits;
	int r;

	r = proto_json_get_int(v, 0, POLICY_PHYS_BITS_MAX, path, &bits, err);
	if (r < 0)
		return r;
	if (bits != 0 && bits < POLICY_PHYS_BITS_MIN)
		return proto_error_set(err, path, "expected 0 (the host's) or %d..%d, got %d",
				       POLICY_PHYS_BITS_MIN, POLICY_PHYS_BITS_MAX, (int)bits);
	p->phys_bits = (int)bits;
	return 0;
}

static const struct proto_field feature_policy_field = {
	.name = "policy",
	.type = PROTO_FIELD_ENUM,
	PROTO_MEMBER(struct caps_policy_feature, policy),
	.enum_name = feature_policy_name,
};

/* Every member is optional, and null means absent (the IDL's ?type). */
static const struct proto_field policy_fields[] = {
	{
		.name = "name",
		.flags = PROTO_FIELD_NULLABLE,
		.type = PROTO_FIELD_STRING,
		PROTO_MEMBER(struct caps_policy, name),
		.valid = name_is_valid,
		.valid_desc = NAME_CHARSET,
	}, {
		.name = "vendor",
		.flags = PROTO_FIELD_NULLABLE,
		.type = PROTO_FIELD_CUSTOM,
		PROTO_MEMBER(struct caps_policy, vendor),
		.decode = decode_vendor,
	}, {
		.name = "base",
		.flags = PROTO_FIELD_NULLABLE,
		.type = PROTO_FIELD_ENUM,
		PROTO_MEMBER(struct caps_policy, base),
		.enum_name = base_name,
	}, {
		.name = "features",
		.flags = PROTO_FIELD_NULLABLE,
		.type = PROTO_FIELD_MAP,
		.offset = offsetof(struct caps_policy, features),
		.element = &feature_policy_field,
		.element_size = sizeof(struct caps_policy_feature),
		.max_count = CAPS_POLICY_MAX_FEATURES,
		.count_offset = offsetof(struct caps_policy, n_features),
		.key_offset = offsetof(struct caps_policy_feature, name),
		.key_size = sizeof(((struct caps_policy_feature *)0)->name),
		.valid = name_is_valid,
		.valid_desc = NAME_CHARSET,
	}, {
		.name = "vcpus",
		.flags = PROTO_FIELD_NULLABLE,
		.type = PROTO_FIELD_INT,
		PROTO_MEMBER(struct caps_policy, vcpus),
		.min = 1,
		.max = CAPS_POLICY_MAX_VCPUS,
	}, {
		.name = "apic",
		.flags = PROTO_FIELD_NULLABLE,
		.type = PROTO_FIELD_ENUM,
		PROTO_MEMBER(struct caps_policy, apic),
		.enum_name = apic_name,
	}, {
		.name = "phys_bits",
		.flags = PROTO_FIELD_NULLABLE,
		.type = PROTO_FIELD_CUSTOM,
		PROTO_MEMBER(struct caps_policy, phys_bits),
		.decode = decode_phys_bits,
	}, {
		.name = "migratable",
		.flags = PROTO_FIELD_NULLABLE,
		.type = PROTO_FIELD_BOOL,
		PROTO_MEMBER(struct caps_policy, migratable),
	},
	{ .name = NULL },
};

/* Whether two names are one to caps_feature_lookup(): case, '-', '.' and '_' folded. */
static bool feature_names_match(const char *a, const char *b)
{
	for (;; a++, b++) {
		char ca = *a == '-' || *a == '.' ? '_' : (*a >= 'A' && *a <= 'Z' ? (char)(*a - 'A' + 'a') : *a);
		char cb = *b == '-' || *b == '.' ? '_' : (*b >= 'A' && *b <= 'Z' ? (char)(*b - 'A' + 'a') : *b);

		if (ca != cb)
			return false;
		if (!ca)
			return true;
	}
}

/*
 * Resolve the feature names, refusing a feature named twice: by two
 * aliases of one catalog entry, or by two spellings of one unknown name.
 */
static int resolve_features(struct caps_policy *p, struct proto_error *err)
{
	struct caps seen;
	char path[sizeof(err->path)];

	caps_zero(&seen);
	for (size_t i = 0; i < p->n_features; i++) {
		struct caps_policy_feature *pf = &p->features[i];
		int id = caps_feature_lookup(pf->name);

		if (id < 0 && id != -ENOENT) {
			proto_json_path_key(path, sizeof(path), "features", pf->name);
			return proto_error_set(err, path, "not a feature name");
		}
		pf->feature = id;
		if (id >= 0 && !caps_has(&seen, id)) {
			caps_set(&seen, id);
			continue;
		}
		for (size_t j = 0; j < i; j++) {
			const struct caps_policy_feature *prev = &p->features[j];

			if (id >= 0 ? prev->feature == id
				    : prev->feature == -ENOENT && feature_names_match(prev->name, pf->name)) {
				proto_json_path_key(path, sizeof(path), "features", pf->name);
				return proto_error_set(err, path,
						       "\"%s\" and \"%s\" name the same feature",
						       prev->name, pf->name);
			}
		}
	}
	return 0;
}

int proto_policy_from_json(struct json_object *obj, struct caps_policy *ret,
			   struct proto_error *err)
{
	struct caps_policy *p;
	int r;

	/* 33 KiB: not for the stack of a daemon's callback. */
	p = malloc(sizeof(*p));
	if (!p)
		return -ENOMEM;
	caps_policy_init(p);
	r = proto_json_decode_object(policy_fields, obj, p, "", err);
	if (r == 0)
		r = resolve_features(p, err);
	if (r == 0)
		caps_policy_copy(ret, p);
	free(p);
	return r;
}

int proto_policy_parse(const char *buf, size_t len, struct caps_policy *ret,
		       struct proto_error *err)
{
	struct json_object *top;
	int r;

	if (len > PROTO_POLICY_MAX_BYTES) {
		proto_error_set(err, "", "policy is larger than %d bytes", PROTO_POLICY_MAX_BYTES);
		return -E2BIG;
	}
	/* RFC 8259 lets a reader ignore a byte order mark; json-c would not. */
	if (len >= 3 && memcmp(buf, "\xef\xbb\xbf", 3) == 0) {
		buf += 3;
		len -= 3;
	}
	r = proto_json_parse(buf, len, PROTO_POLICY_MAX_DEPTH, &top, err);
	if (r < 0)
		return r;
	r = proto_policy_from_json(top, ret, err);
	json_object_put(top);
	return r;
}

int proto_policy_read_file(const char *path, struct caps_policy *ret, struct proto_error *err)
{
	char *buf;
	size_t len;
	int r;

	if (!path)
		return -EINVAL;
	r = caps_read_file(path, PROTO_POLICY_MAX_BYTES, &buf, &len);
	if (r == -E2BIG) {
		proto_error_set(err, "", "%s: larger than %d bytes", path, PROTO_POLICY_MAX_BYTES);
		return r;
	}
	if (r < 0) {
		proto_error_set(err, "", "%s: %s", path, strerror(-r));
		return r;
	}
	r = proto_policy_parse(buf, len, ret, err);
	free(buf);
	return r;
}

/* ---- writers ----------------------------------------------------------- */

/* A name of a fixed array that a parse could have returned. */
static bool member_name_is_valid(const char *s, size_t size, bool may_be_empty)
{
	size_t n = strnlen(s, size);

	return n < size && (n == 0 ? may_be_empty : name_is_valid(s, n));
}

/* Whether proto_policy_parse() could have returned p: what its output must read back as. */
static bool policy_is_valid(const struct caps_policy *p)
{
	if (!member_name_is_valid(p->name, sizeof(p->name), true) ||
	    !caps_policy_base_to_string(p->base) || !apic_name((int)p->apic) ||
	    p->vcpus < 1 || p->vcpus > CAPS_POLICY_MAX_VCPUS ||
	    (p->phys_bits != 0 && (p->phys_bits < POLICY_PHYS_BITS_MIN ||
				   p->phys_bits > POLICY_PHYS_BITS_MAX)) ||
	    p->n_features > CAPS_POLICY_MAX_FEATURES)
		return false;
	if (p->has_vendor && strcmp(p->vendor, "GenuineIntel") != 0 &&
	    strcmp(p->vendor, "AuthenticAMD") != 0)
		return false;
	for (size_t i = 0; i < p->n_features; i++)
		if (!member_name_is_valid(p->features[i].name, sizeof(p->features[i].name), false) ||
		    !caps_feature_policy_to_string(p->features[i].policy))
			return false;
	return true;
}

struct json_object *proto_policy_to_json(const struct caps_policy *p)
{
	struct json_object *obj, *features;
	bool ok;

	if (!policy_is_valid(p)) {
		errno = EINVAL;
		return NULL;
	}
	obj = json_object_new_object();
	features = json_object_new_object();
	ok = obj && features;
	if (ok && p->name[0])
		ok = proto_json_add(obj, "name", proto_json_new_string_member(p->name));
	if (ok && p->has_vendor)
		ok = proto_json_add(obj, "vendor", proto_json_new_string_member(p->vendor));
	ok = ok && proto_json_add(obj, "base", json_object_new_string(caps_policy_base_to_string(p->base)));
	for (size_t i = 0; ok && i < p->n_features; i++)
		ok = proto_json_add(features, p->features[i].name,
			 json_object_new_string(caps_feature_policy_to_string(p->features[i].policy)));
	ok = proto_json_add_if(ok, obj, "features", features);
	ok = ok && proto_json_add(obj, "vcpus", json_object_new_int64(p->vcpus));
	ok = ok && proto_json_add(obj, "apic", json_object_new_string(apic_name((int)p->apic)));
	ok = ok && proto_json_add(obj, "phys_bits", json_object_new_int(p->phys_bits));
	ok = ok && proto_json_add(obj, "migratable", json_object_new_boolean(p->migratable));
	return proto_json_finish(obj, ok);
}

static void problem_write(struct proto_json_writer *w, const struct caps_eval_problem *pr)
{
	const struct caps_eval_location *where = &pr->where;

	proto_jw_object_begin(w);
	PROTO_JW_KEY(w, "feature");
	proto_jw_string_member(w, pr->feature);
	if (pr->has_policy) {
		const char *policy = caps_feature_policy_to_string(pr->policy);

		PROTO_JW_KEY(w, "policy");
		proto_jw_string(w, policy ? policy : "unknown");
	}
	PROTO_JW_KEY(w, "reason");
	proto_jw_string_member(w, pr->reason);
	if (pr->rule[0]) {
		PROTO_JW_KEY(w, "rule");
		proto_jw_string_member(w, pr->rule);
	}
	PROTO_JW_KEY(w, "detail");
	proto_jw_string_member(w, pr->detail);
	if (where->valid && where->msr) {
		PROTO_JW_KEY(w, "msr");
		proto_jw_int64(w, where->function);
	} else if (where->valid) {
		PROTO_JW_KEY(w, "function");
		proto_jw_int64(w, where->function);
		PROTO_JW_KEY(w, "index");
		proto_jw_int64(w, where->index);
		PROTO_JW_KEY(w, "register");
		proto_jw_string(w, caps_reg_name(where->reg));
	}
	if (where->valid) {
		PROTO_JW_KEY(w, "bit");
		proto_jw_int64(w, where->bit);
	}
	proto_jw_object_end(w);
}

static void warning_write(struct proto_json_writer *w, const struct caps_eval_warning *wa)
{
	proto_jw_object_begin(w);
	PROTO_JW_KEY(w, "feature");
	proto_jw_string_member(w, wa->feature);
	PROTO_JW_KEY(w, "reason");
	proto_jw_string_member(w, wa->reason);
	PROTO_JW_KEY(w, "detail");
	proto_jw_string_member(w, wa->detail);
	proto_jw_object_end(w);
}

static void guest_write(struct proto_json_writer *w, const struct caps_evaluation *ev,
			enum caps_names names)
{
	assert(ev->guest_cpuid.nent <= CAPS_CPUID_MAX_ENTRIES);
	proto_jw_object_begin(w);
	PROTO_JW_KEY(w, "features");
	proto_jw_array_begin(w);
	caps_for_each(f, &ev->guest_features) {
		const char *name = caps_feature_name(f, names);

		if (name)
			proto_jw_string(w, name);
	}
	proto_jw_array_end(w);
	PROTO_JW_KEY(w, "cpuid");
	proto_cpuid_write(w, &ev->guest_cpuid);
	PROTO_JW_KEY(w, "phys_bits");
	proto_jw_int64(w, ev->guest_phys_bits);
	proto_jw_object_end(w);
}

static void controls_write(struct proto_json_writer *w, const struct caps_evaluation *ev)
{
	const char *memslot = caps_eval_memslot_to_string(ev->apic_access_memslot);

	assert(ev->n_apicv_inhibits <= CAPS_EVAL_MAX_INHIBITS);
	proto_jw_object_begin(w);
	PROTO_JW_KEY(w, "erap_ctl");
	proto_jw_object_begin(w);
	PROTO_JW_KEY(w, "allow_larger_rap");
	proto_jw_bool(w, ev->erap_allow_larger_rap);
	PROTO_JW_KEY(w, "clear_rap");
	proto_jw_bool(w, ev->erap_clear_rap);
	proto_jw_object_end(w);
	PROTO_JW_KEY(w, "apic_access_memslot");
	proto_jw_string(w, memslot ? memslot : "unknown");
	PROTO_JW_KEY(w, "apicv_inhibits");
	proto_jw_array_begin(w);
	for (size_t i = 0; i < ev->n_apicv_inhibits; i++)
		proto_jw_string_member(w, ev->apicv_inhibits[i]);
	proto_jw_array_end(w);
	PROTO_JW_KEY(w, "cr3_lam_bits");
	proto_jw_array_begin(w);
	if (ev->cr3_lam_u48)
		proto_jw_string(w, "lam_u48");
	if (ev->cr3_lam_u57)
		proto_jw_string(w, "lam_u57");
	proto_jw_array_end(w);
	PROTO_JW_KEY(w, "snp_safe_control_pages");
	proto_jw_bool(w, ev->snp_safe_control_pages);
	proto_jw_object_end(w);
}

void proto_evaluation_write(struct proto_json_writer *w, const struct caps_evaluation *ev,
			    enum caps_names names)
{
	proto_jw_object_begin(w);
	proto_evaluation_write_members(w, ev, names);
	proto_jw_object_end(w);
}

void proto_evaluation_write_members(struct proto_json_writer *w, const struct caps_evaluation *ev,
				    enum caps_names names)
{
	assert(ev->n_problems <= CAPS_EVAL_MAX_PROBLEMS);
	assert(ev->n_warnings <= CAPS_EVAL_MAX_WARNINGS);
	PROTO_JW_KEY(w, "verdict");
	proto_jw_string(w, ev->accepted ? "accepted" : "rejected");
	PROTO_JW_KEY(w, "problems");
	proto_jw_array_begin(w);
	for (size_t i = 0; i < ev->n_problems; i++)
		problem_write(w, &ev->problems[i]);
	proto_jw_array_end(w);
	PROTO_JW_KEY(w, "warnings");
	proto_jw_array_begin(w);
	for (size_t i = 0; i < ev->n_warnings; i++)
		warning_write(w, &ev->warnings[i]);
	proto_jw_array_end(w);
	PROTO_JW_KEY(w, "guest");
	guest_write(w, ev, names);
	PROTO_JW_KEY(w, "controls");
	controls_write(w, ev);
}

struct json_object *proto_evaluation_to_json(const struct caps_evaluation *ev,
					     enum caps_names names)
{
	struct proto_json_writer w;
	struct json_object *obj = NULL;
	int r;

	proto_jw_init(&w, 0);
	proto_evaluation_write(&w, ev, names);
	r = proto_jw_to_object(&w, &obj);
	proto_jw_done(&w);
	if (r < 0)
		errno = -r;
	return obj;
}

/* ---- migration checks -------------------------------------------------- */

void proto_migrate_bits(const struct caps_migrate_blocker *b, char *buf, size_t size)
{
	if (b->lsb == b->msb)
		snprintf(buf, size, "%u", b->lsb);
	else
		snprintf(buf, size, "%u:%u", b->msb, b->lsb);
}

static void migrate_blocker_write(struct proto_json_writer *w, const struct caps_migrate_blocker *b)
{
	const char *reg = caps_reg_name(b->reg);
	char bits[8];

	proto_migrate_bits(b, bits, sizeof(bits));
	proto_jw_object_begin(w);
	PROTO_JW_KEY(w, "feature");
	proto_jw_string_member(w, b->feature);
	PROTO_JW_KEY(w, "rule");
	proto_jw_string(w, caps_migrate_rule_name(b->rule));
	PROTO_JW_KEY(w, "field");
	proto_jw_string_member(w, b->field);
	PROTO_JW_KEY(w, "function");
	proto_jw_int64(w, b->function);
	PROTO_JW_KEY(w, "index");
	proto_jw_int64(w, b->index);
	PROTO_JW_KEY(w, "register");
	proto_jw_string(w, reg ? reg : "?");
	PROTO_JW_KEY(w, "bits");
	proto_jw_string(w, bits);
	PROTO_JW_KEY(w, "source");
	proto_jw_int64(w, b->source > INT64_MAX ? INT64_MAX : (int64_t)b->source);
	PROTO_JW_KEY(w, "destination");
	proto_jw_int64(w, b->destination > INT64_MAX ? INT64_MAX : (int64_t)b->destination);
	if (b->rule == CAPS_MIGRATE_SAME_VENDOR) {
		PROTO_JW_KEY(w, "source_vendor");
		proto_jw_string_member(w, b->source_vendor);
		PROTO_JW_KEY(w, "destination_vendor");
		proto_jw_string_member(w, b->destination_vendor);
	}
	if (b->has_reason) {
		PROTO_JW_KEY(w, "reason");
		proto_jw_string_member(w, b->reason_name);
		if (b->reason_detail) {
			PROTO_JW_KEY(w, "reason_detail");
			proto_jw_string(w, b->reason_detail);
		}
	}
	PROTO_JW_KEY(w, "detail");
	proto_jw_string_member(w, b->detail);
	proto_jw_object_end(w);
}

void proto_migration_direction_write(struct proto_json_writer *w, const struct caps_evaluation *source,
				     const struct caps_migration *check)
{
	bool moved = !source || source->accepted;
	size_t n = moved ? check->n_blockers : 0;

	assert(!source || source->n_problems <= CAPS_EVAL_MAX_PROBLEMS);
	assert(check->n_warnings <= CAPS_MIGRATE_MAX_WARNINGS);
	proto_jw_object_begin(w);
	PROTO_JW_KEY(w, "ok");
	proto_jw_bool(w, moved && check->ok);
	PROTO_JW_KEY(w, "source_verdict");
	proto_jw_string(w, moved ? "accepted" : "rejected");
	PROTO_JW_KEY(w, "source_problems");
	proto_jw_array_begin(w);
	for (size_t i = 0; source && i < source->n_problems; i++)
		problem_write(w, &source->problems[i]);
	proto_jw_array_end(w);
	PROTO_JW_KEY(w, "n_blockers");
	proto_jw_int64(w, (int64_t)n);
	PROTO_JW_KEY(w, "blockers");
	proto_jw_array_begin(w);
	for (size_t i = 0; i < n && i < CAPS_MIGRATE_MAX_BLOCKERS; i++)
		migrate_blocker_write(w, &check->blockers[i]);
	proto_jw_array_end(w);
	PROTO_JW_KEY(w, "warnings");
	proto_jw_array_begin(w);
	for (size_t i = 0; moved && i < check->n_warnings; i++) {
		proto_jw_object_begin(w);
		PROTO_JW_KEY(w, "feature");
		proto_jw_string_member(w, check->warnings[i].feature);
		PROTO_JW_KEY(w, "reason");
		proto_jw_string_member(w, check->warnings[i].reason);
		PROTO_JW_KEY(w, "detail");
		proto_jw_string_member(w, check->warnings[i].detail);
		proto_jw_object_end(w);
	}
	proto_jw_array_end(w);
	proto_jw_object_end(w);
}

struct json_object *proto_migration_direction_to_json(const struct caps_evaluation *source,
						      const struct caps_migration *check)
{
	struct proto_json_writer w;
	struct json_object *obj = NULL;
	int r;

	proto_jw_init(&w, 0);
	proto_migration_direction_write(&w, source, check);
	r = proto_jw_to_object(&w, &obj);
	proto_jw_done(&w);
	if (r < 0)
		errno = -r;
	return obj;
}

/* ---- baselines ---------------------------------------------------------- */

static struct json_object *strings_to_json(const char *const *s, size_t n)
{
	struct json_object *a = json_object_new_array();
	bool ok = a != NULL;

	for (size_t i = 0; ok && i < n; i++)
		ok = proto_json_append(a, json_object_new_string(s[i]));
	return proto_json_finish(a, ok);
}

static struct json_object *lack_to_json(const struct proto_baseline *b, const struct proto_baseline_lack *l)
{
	struct json_object *o = json_object_new_object();
	bool ok = o != NULL;

	ok = ok && proto_json_add(o, "host", json_object_new_string(b->hosts[l->host]));
	ok = ok && proto_json_add(o, "reason", json_object_new_string(l->reason));
	if (l->detail)
		ok = ok && proto_json_add(o, "detail", json_object_new_string(l->detail));
	else	/* json-c writes a NULL member as null: the IDL's ?string. */
		ok = ok && json_object_object_add(o, "detail", NULL) == 0;
	ok = ok && proto_json_add(o, "emulated", json_object_new_boolean(l->emulated));
	return proto_json_finish(o, ok);
}

static struct json_object *blockers_to_json(const struct proto_baseline *b)
{
	struct json_object *a = json_object_new_array(), *blocker = NULL, *hosts = NULL;
	bool ok = a != NULL;

	for (size_t i = 0; ok && i < b->n_lacks; i++) {
		const struct proto_baseline_lack *l = &b->lacks[i];

		if (!blocker || strcmp(l->feature, b->lacks[i - 1].feature) != 0) {
			blocker = json_object_new_object();
			hosts = json_object_new_array();
			ok = blocker && hosts && proto_json_add(blocker, "feature", json_object_new_string(l->feature));
			ok = proto_json_add_if(ok, blocker, "hosts", hosts);
			ok = ok ? proto_json_append(a, blocker) : (json_object_put(blocker), false);
		}
		ok = ok && proto_json_append(hosts, lack_to_json(b, l));
	}
	return proto_json_finish(a, ok);
}

struct json_object *proto_baseline_to_json(const struct proto_baseline *b)
{
	struct json_object *obj, *policy;
	bool ok;

	for (size_t i = 0; i < b->n_lacks; i++)
		if (b->lacks[i].host >= b->n_hosts || !b->lacks[i].feature || !b->lacks[i].reason) {
			errno = EINVAL;
			return NULL;
		}
	policy = proto_policy_to_json(b->policy);
	if (!policy)
		return NULL;
	obj = json_object_new_object();
	ok = obj != NULL;
	ok = proto_json_add_if(ok, obj, "policy", policy);
	ok = proto_json_add_if(ok, obj, "blockers", blockers_to_json(b));
	ok = proto_json_add_if(ok, obj, "hosts", strings_to_json(b->hosts, b->n_hosts));
	ok = proto_json_add_if(ok, obj, "excluded", strings_to_json(b->excluded, b->n_excluded));
	ok = proto_json_add_if(ok, obj, "warnings", strings_to_json(b->warnings, b->n_warnings));
	return proto_json_finish(obj, ok);
}
