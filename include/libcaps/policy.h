/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * vCPU feature policies and their evaluations (DESIGN.md §4), as plain
 * data: proto/ reads and writes them as JSON, hvcore evaluates them.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <libcaps/caps.h>
#include <libcaps/cpuid.h>

/* Limits of a policy document (each has a test at the limit and one past it). */
#define CAPS_POLICY_NAME_MAX		64	/* bytes of "name" */
#define CAPS_POLICY_FEATURE_NAME_MAX	64	/* bytes of a feature name */
#define CAPS_POLICY_MAX_FEATURES	512	/* more than every catalog spelling a policy needs */
#define CAPS_POLICY_MAX_VCPUS		4096	/* KVM_MAX_VCPUS on x86 */

enum caps_policy_base {
	CAPS_POLICY_BASE_NONE,		/* only what "features" asks */
	CAPS_POLICY_BASE_HOST,		/* every KVM-supported feature */
	CAPS_POLICY_BASE_X86_64_V1,	/* psABI levels */
	CAPS_POLICY_BASE_X86_64_V2,
	CAPS_POLICY_BASE_X86_64_V3,
	CAPS_POLICY_BASE_X86_64_V4,
};

/* libvirt's feature policies. */
enum caps_feature_policy {
	CAPS_POLICY_FORCE,	/* set even if unsupported; warn */
	CAPS_POLICY_REQUIRE,	/* reject unless supported */
	CAPS_POLICY_OPTIONAL,	/* set iff supported */
	CAPS_POLICY_DISABLE,	/* never set */
	CAPS_POLICY_FORBID,	/* reject if the host supports it */
};

enum caps_policy_apic {
	CAPS_POLICY_APIC_XAPIC,		/* the default: the guest stays in xAPIC mode */
	CAPS_POLICY_APIC_X2APIC,	/* the guest switches to x2APIC */
};

struct caps_policy_feature {
	char name[CAPS_POLICY_FEATURE_NAME_MAX + 1];	/* as written */
	int feature;				/* catalog id, or -ENOENT if unknown */
	enum caps_feature_policy policy;
};

struct caps_policy {
	char name[CAPS_POLICY_NAME_MAX + 1];		/* "" if absent */
	bool has_vendor;
	char vendor[13];			/* "GenuineIntel" or "AuthenticAMD" */
	enum caps_policy_base base;		/* default none */
	size_t n_features;
	struct caps_policy_feature features[CAPS_POLICY_MAX_FEATURES];
	uint32_t vcpus;				/* default 1 */
	enum caps_policy_apic apic;		/* default xapic */
	int phys_bits;				/* 0: the host's */
	bool migratable;			/* default true */
};

const char *caps_policy_base_to_string(enum caps_policy_base b);
int caps_policy_base_from_string(const char *s, enum caps_policy_base *ret);
const char *caps_feature_policy_to_string(enum caps_feature_policy p);
int caps_feature_policy_from_string(const char *s, enum caps_feature_policy *ret);

/* Fill p with the defaults above. */
void caps_policy_init(struct caps_policy *p);
/*
 * dst = src, copying only the features in use (n_features of 512): what
 * *dst = *src means for a policy, at a fraction of its 33 KiB.
 */
void caps_policy_copy(struct caps_policy *dst, const struct caps_policy *src);

/*
 * The result of evaluating a policy against a host.  Strings are
 * filled by hvcore and printed as they are by proto/ and hvctl.
 */
#define CAPS_EVAL_MAX_PROBLEMS	256
#define CAPS_EVAL_MAX_WARNINGS	256
#define CAPS_EVAL_TEXT_MAX	256
#define CAPS_EVAL_WORD_MAX	48
#define CAPS_EVAL_MAX_INHIBITS	16

/* Where a feature lives, for problems that name one. */
struct caps_eval_location {
	bool valid;
	bool msr;			/* an MSR feature: index is the MSR */
	uint32_t function;		/* CPUID function, or the MSR index */
	uint32_t index;
	enum caps_reg reg;
	uint8_t bit;			/* bit in the register (0..63 for MSRs) */
};

struct caps_eval_problem {
	char feature[CAPS_POLICY_FEATURE_NAME_MAX + 1];	/* the name in the chosen spelling */
	bool has_policy;
	enum caps_feature_policy policy;
	char reason[CAPS_EVAL_WORD_MAX];	/* unknown_feature, not_supported_by_kvm, ... */
	char rule[CAPS_EVAL_WORD_MAX];		/* e.g. kvm_older_than_7.0, or "" */
	char detail[CAPS_EVAL_TEXT_MAX];	/* one sentence */
	struct caps_eval_location where;
};

struct caps_eval_warning {
	char feature[CAPS_POLICY_FEATURE_NAME_MAX + 1];	/* "" when not about one feature */
	char reason[CAPS_EVAL_WORD_MAX];	/* forced_unsupported, virtualization_hole, ... */
	char detail[CAPS_EVAL_TEXT_MAX];
};

enum caps_eval_memslot {
	CAPS_EVAL_MEMSLOT_ENABLED,		/* the APIC access page stays mapped */
	CAPS_EVAL_MEMSLOT_INHIBITED_WHEN_X2APIC,	/* deleted for good once a vCPU uses x2APIC */
	CAPS_EVAL_MEMSLOT_NOT_USED,		/* no APIC virtualization: no memslot */
};

const char *caps_eval_memslot_to_string(enum caps_eval_memslot m);

struct caps_evaluation {
	bool accepted;
	size_t n_problems;
	struct caps_eval_problem problems[CAPS_EVAL_MAX_PROBLEMS];
	size_t n_warnings;
	struct caps_eval_warning warnings[CAPS_EVAL_MAX_WARNINGS];

	/* What the guest gets. */
	struct caps guest_features;		/* the vCPU's cpu_caps */
	struct caps_cpuid guest_cpuid;		/* for KVM_SET_CPUID2 */
	int guest_phys_bits;

	/* What KVM derives. */
	bool erap_allow_larger_rap;
	bool erap_clear_rap;
	enum caps_eval_memslot apic_access_memslot;
	size_t n_apicv_inhibits;
	char apicv_inhibits[CAPS_EVAL_MAX_INHIBITS][32];
	bool cr3_lam_u48;
	bool cr3_lam_u57;
	bool snp_safe_control_pages;
};

/* ------------------------------------------------------------------ */
/*
 * A migration check's answer (hvcore's hv_migrate_check(); hvcapd's
 * Policy.Compare with a source, `hvctl policy migrate-check`), as plain
 * data: proto writes it.
 */

/*
 * The rules a guest's CPUID fields are held to on the destination host
 * (hvcore/migrate.c, hv_migrate_check(), lists the fields each rule covers):
 *
 *   bit_subset      every feature bit set for the guest, KVM on the
 *                   destination supports
 *   not_migratable  a feature that breaks live migration whatever the
 *                   destination supports (invtsc: the TSC rate)
 *   not_greater     a number the destination must reach (MAXPHYADDR,
 *                   the AVX10 version, PMU counters and widths)
 *   equal           a number that must match (XSAVE component sizes and
 *                   offsets, RapSize, the AMX palette, the
 *                   CLFLUSH line size)
 *   same_vendor     the CPU vendor string
 */
#define CAPS_MIGRATE_RULES(X) \
	X(BIT_SUBSET,		"bit_subset") \
	X(NOT_MIGRATABLE,	"not_migratable") \
	X(NOT_GREATER,		"not_greater") \
	X(EQUAL,		"equal") \
	X(SAME_VENDOR,		"same_vendor")

enum caps_migrate_rule {
#define CAPS_MIGRATE_RULE_ENUM(id, name) CAPS_MIGRATE_##id,
	CAPS_MIGRATE_RULES(CAPS_MIGRATE_RULE_ENUM)
#undef CAPS_MIGRATE_RULE_ENUM
	NR_CAPS_MIGRATE_RULES
};

const char *caps_migrate_rule_name(enum caps_migrate_rule r);

#define CAPS_MIGRATE_MAX_BLOCKERS	256
#define CAPS_MIGRATE_MAX_WARNINGS	64
#define CAPS_MIGRATE_FIELD_MAX	48

/* Why a guest cannot move: one CPUID field and the rule it breaks. */
struct caps_migrate_blocker {
	/*
	 * The catalog name of the feature the field belongs to, in the
	 * chosen spelling ("avx512f", "eraps" for RapSize), or for a number
	 * no feature owns the policy's word for it ("phys_bits").
	 */
	char feature[CAPS_POLICY_FEATURE_NAME_MAX + 1];
	enum caps_migrate_rule rule;
	char field[CAPS_MIGRATE_FIELD_MAX];	/* "MAXPHYADDR", "XSAVE component 5 size", "feature bit" */
	uint32_t function;		/* where the field lives */
	uint32_t index;
	enum caps_reg reg;
	uint8_t lsb, msb;		/* its bits in the register */
	uint64_t source;		/* the guest's value (1/0 for a bit) */
	uint64_t destination;		/* the destination's (KVM-supported) value */
	/* For bit_subset: why the destination's KVM lacks the feature (its model's reason). */
	bool has_reason;
	uint8_t reason;			/* hvcore's enum hv_reason */
	char reason_name[CAPS_EVAL_WORD_MAX];	/* its name: not_in_host_cpu, ... */
	const char *reason_detail;	/* static, or NULL */
	char detail[CAPS_EVAL_TEXT_MAX];	/* one sentence */
	/* same_vendor: the two vendor strings (source, destination hold 0). */
	char source_vendor[13];
	char destination_vendor[13];
};

struct caps_migrate_warning {
	char feature[CAPS_POLICY_FEATURE_NAME_MAX + 1];
	char reason[CAPS_EVAL_WORD_MAX];	/* emulated_on_destination, max_leaf_greater */
	char detail[CAPS_EVAL_TEXT_MAX];
};

struct caps_migration {
	bool ok;			/* no blockers */
	size_t n_blockers;		/* all of them, even past the array */
	struct caps_migrate_blocker blockers[CAPS_MIGRATE_MAX_BLOCKERS];
	size_t n_warnings;
	struct caps_migrate_warning warnings[CAPS_MIGRATE_MAX_WARNINGS];
};
