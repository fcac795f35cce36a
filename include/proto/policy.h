/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * vCPU feature policies (DESIGN.md §4) and their evaluations as JSON:
 * the documents hvctl reads and the replies it and the daemon write.
 */

#include <stddef.h>

#include <libcaps/caps.h>
#include <libcaps/policy.h>
#include <proto/json-decode.h>

struct json_object;

/* A policy document, whole; far above any real one (512 features take 20 KiB). */
#define PROTO_POLICY_MAX_BYTES	(1024 * 1024)

/*
 * Containers a policy may nest: the document and "features" need two;
 * the third lets a container where a string or number belongs read as a
 * type error at its path rather than as a syntax error.
 */
#define PROTO_POLICY_MAX_DEPTH	3

/*
 * Parse a policy document of len bytes (no NUL-termination needed):
 *
 *   {"name": "web-tier", "vendor": "AuthenticAMD", "base": "none",
 *    "features": {"avx2": "require", "lam": "forbid"}, "vcpus": 8,
 *    "apic": "x2apic", "phys_bits": 48, "migratable": true}
 *
 * Every key is optional; absent ones keep caps_policy_init()'s defaults.
 * name: 1..CAPS_POLICY_NAME_MAX bytes of [A-Za-z0-9._-]; vendor:
 * "GenuineIntel" or "AuthenticAMD" ("intel" and "amd" are stored as
 * those); base, features' policies, apic: the names of their enums;
 * vcpus: 1..CAPS_POLICY_MAX_VCPUS; phys_bits: 0 (the host's) or 32..52;
 * migratable: a boolean.  A feature name is 1..CAPS_POLICY_FEATURE_NAME_MAX
 * bytes of [A-Za-z0-9._-], kept as written; one the catalog does not know
 * is stored with feature = -ENOENT for the evaluation to report, but two
 * spellings of one feature ("sse4.1", "sse4_1") are an error.
 *
 * Returns 0 and fills *ret; -EINVAL for anything malformed, -E2BIG for
 * a document over PROTO_POLICY_MAX_BYTES or more than
 * CAPS_POLICY_MAX_FEATURES features, -ENOMEM.  On failure *ret is
 * untouched and err (if not NULL) names the JSON path and the problem.
 */
int proto_policy_parse(const char *buf, size_t len, struct caps_policy *ret,
		       struct proto_error *err);

/*
 * Decode a policy from an already parsed JSON value (the "policy"
 * parameter of a Varlink call): the same rules, defaults, errors and
 * paths as proto_policy_parse() after its text is parsed, obj not
 * consumed.  Paths are relative to obj ("vcpus"; the caller prefixes
 * "policy.").  *ret is written only on success.
 */
int proto_policy_from_json(struct json_object *obj, struct caps_policy *ret,
			   struct proto_error *err);

/*
 * Read and parse a policy file ("-" = standard input), refusing more than
 * PROTO_POLICY_MAX_BYTES (-E2BIG).  I/O errors return -errno with the
 * file name and strerror() in err->message.
 */
int proto_policy_read_file(const char *path, struct caps_policy *ret, struct proto_error *err);

/*
 * A policy as a JSON object (a new reference) in the documented key
 * order; keys at their defaults are written too, except an empty name
 * and an absent vendor.  proto_policy_parse() of its text gives back p.
 * NULL with errno ENOMEM, or EINVAL for a policy no parse could return
 * (an enum out of range, a feature name that does not fit the syntax).
 */
struct json_object *proto_policy_to_json(const struct caps_policy *p);

/*
 * An evaluation as the JSON object of `hvctl policy check --json` and
 * io.hvcap.Policy.Validate (a new reference):
 *
 *   {"verdict": "accepted" | "rejected",
 *    "problems": [{"feature", "policy"?, "reason", "rule"?, "detail",
 *                  "function", "index", "register", "bit"     (CPUID)
 *                  | "msr", "bit"                             (MSR)}],
 *    "warnings": [{"feature", "reason", "detail"}],
 *    "guest": {"features": [names], "cpuid": [{"function", "index", "flags",
 *              "eax", "ebx", "ecx", "edx"}], "phys_bits"},
 *    "controls": {"erap_ctl": {"allow_larger_rap", "clear_rap"},
 *                 "apic_access_memslot", "apicv_inhibits": [names],
 *                 "cr3_lam_bits": ["lam_u48", "lam_u57"],
 *                 "snp_safe_control_pages"}}
 *
 * "policy" is left out when the problem has none, "rule" when empty, the
 * location when it is not valid; a warning about no one feature has
 * "feature": "".  Guest features are written in the names style (unnamed
 * bits only appear in "cpuid").
 * NULL with errno ENOMEM.
 */
struct json_object *proto_evaluation_to_json(const struct caps_evaluation *ev,
					     enum caps_names names);
/*
 * The same object written as text, without building it (the daemon's
 * Validate reply; proto/json-writer.h); a failure is the writer's error.
 */
struct proto_json_writer;
void proto_evaluation_write(struct proto_json_writer *w, const struct caps_evaluation *ev,
			    enum caps_names names);
/* Its members alone, inside an object the caller opened (Compare's reply adds "migration"). */
void proto_evaluation_write_members(struct proto_json_writer *w, const struct caps_evaluation *ev,
				    enum caps_names names);

/*
 * One direction of a migration check as MigrationDirection (Policy.Compare
 * with a source or vm; `hvctl policy migrate-check --json`'s a_to_b and
 * b_to_a):
 *
 *   {"ok", "source_verdict", "source_problems": [Problem],
 *    "n_blockers", "blockers": [MigrationBlocker], "warnings": [Warning]}
 *
 * source is the policy's evaluation on the source host, or NULL when the
 * guest is a VM's own vCPUs ("accepted", no problems); check is the
 * answer on the destination, not looked at when source rejected the
 * policy (no guest to move: not ok, no blockers).  A blocker is
 * {"feature", "rule", "field", "function", "index", "register", "bits"
 * ("7:0", "16"), "source", "destination", "detail"}, with
 * "source_vendor" and "destination_vendor" for same_vendor and "reason"
 * ("reason_detail") when the destination's model says why its KVM lacks
 * the feature.  The first CAPS_MIGRATE_MAX_BLOCKERS are written;
 * n_blockers counts them all.
 */
void proto_migration_direction_write(struct proto_json_writer *w, const struct caps_evaluation *source,
				     const struct caps_migration *check);
/* The same as a new reference: NULL with errno ENOMEM. */
struct json_object *proto_migration_direction_to_json(const struct caps_evaluation *source,
						      const struct caps_migration *check);

/* A blocker's bits: "7:0", "16" (buf of 8 bytes at least). */
void proto_migrate_bits(const struct caps_migrate_blocker *b, char *buf, size_t size);

/*
 * A baseline across hosts (io.hvcap.Policy.Baseline, `hvctl policy
 * baseline --json`) as plain data: hvcore computes it, hvcapd and hvctl
 * fill this from it, proto writes it.
 */
struct proto_baseline_lack {
	const char *feature;	/* the feature, in the chosen spelling */
	size_t host;		/* index into hosts */
	const char *reason;	/* that host's model's reason name (not_in_host_cpu, ...) */
	const char *detail;	/* its detail, or NULL */
	bool emulated;		/* that host's KVM emulates the feature (KVM_GET_EMULATED_CPUID) */
};

struct proto_baseline {
	const struct caps_policy *policy;
	const char *const *hosts;	/* how each host is named: its file, or its index */
	size_t n_hosts;
	const struct proto_baseline_lack *lacks;	/* grouped by feature */
	size_t n_lacks;
	const char *const *excluded;	/* features every host has, left out as not migratable */
	size_t n_excluded;
	const char *const *warnings;
	size_t n_warnings;
};

/*
 * The baseline as the JSON object of `hvctl policy baseline --json` and
 * io.hvcap.Policy.Baseline's reply (a new reference):
 *
 *   {"policy": {proto_policy_to_json()},
 *    "blockers": [{"feature", "hosts": [{"host", "reason", "detail", "emulated"}]}],
 *    "hosts": [names], "excluded": [names], "warnings": [sentences]}
 *
 * One blocker per feature, in the order of lacks; "detail" is null when
 * the reason has none.  NULL with errno ENOMEM, or EINVAL for a policy
 * proto_policy_to_json() refuses or a lack naming no host.
 */
struct json_object *proto_baseline_to_json(const struct proto_baseline *b);
