/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * The cross-host questions (DESIGN.md §4, issue 9): the richest policy a
 * set of hosts all accept, with which host withholds which feature and
 * why (baseline.c); and whether a guest created on one host can move to
 * another, field by field of its CPUID (migrate.c).
 *
 * Pure: no I/O, no logging, no globals.  Hosts are policy targets
 * (hv_policy_target_from_model() of each host's model), so that the
 * baseline is held to exactly what `hvctl policy check` holds a policy to.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <hvcore/policy.h>

/* ------------------------------------------------------------------ */
/* Helpers both questions share. */

/*
 * The widest guest-physical address a host's KVM lets a guest use:
 * 0x8000_0008.EAX[7:0] (MAXPHYADDR; 36 without the leaf, as KVM's
 * cpuid_query_maxphyaddr()), narrowed to EAX[23:16] (GuestPhysBits:
 * what TDP can map, 48 with 4-level NPT/EPT) where KVM reports one.
 */
int hv_supported_guest_phys_bits(const struct caps_cpuid *supported);

/* The CPUID vendor string of leaf 0 into ret (13 bytes); "" without leaf 0. */
void hv_cpuid_vendor(const struct caps_cpuid *c, char ret[13]);

/* ------------------------------------------------------------------ */
/* Baseline. */

/* Hosts in one baseline; also io.hvcap.Policy.Baseline's limit. */
#define HV_BASELINE_MAX_HOSTS	64

/* Flags of hv_baseline_compute(). */
#define HV_BASELINE_MIGRATABLE		(1u << 0)	/* leave out what breaks live migration */
#define HV_BASELINE_VENDOR_SUBSET	(1u << 1)	/* mixed vendors: their common subset, no vendor */

enum hv_baseline_outcome {
	HV_BASELINE_OK,			/* policy holds the baseline */
	HV_BASELINE_MIXED_VENDORS,	/* hosts of different CPU vendors, and no VENDOR_SUBSET */
	HV_BASELINE_NOTHING_COMMON,	/* no feature is supported by KVM on every host */
};

/* One host whose KVM does not support a feature some other host's does, and why. */
struct hv_baseline_lack {
	uint16_t feature;	/* catalog id */
	uint16_t host;		/* index into the hosts given */
	uint8_t reason;		/* enum hv_reason: the host's model says why */
	bool emulated;		/* that KVM emulates it (KVM_GET_EMULATED_CPUID) */
	const char *detail;	/* the reason's detail (static), or NULL */
};

#define HV_BASELINE_MAX_WARNINGS	8

struct hv_baseline {
	enum hv_baseline_outcome outcome;
	/*
	 * With HV_BASELINE_OK: base none, every common feature "require"
	 * in catalog order, phys_bits the lowest guest-physical width,
	 * vendor when every host has the same Intel or AMD one, migratable
	 * as asked.
	 */
	struct caps_policy policy;
	struct caps common;		/* named features KVM supports on every host */
	struct caps partial;		/* ... on some hosts but not all */
	struct caps excluded;		/* common, but left out: not migratable */
	int phys_bits;			/* the lowest hv_supported_guest_phys_bits() */
	size_t phys_bits_host;		/* the first host that has it */
	char vendors[HV_BASELINE_MAX_HOSTS][13];	/* each host's CPUID vendor */
	bool mixed_vendors;
	/* The hosts lacking each partial feature, by feature then host; malloc()ed. */
	struct hv_baseline_lack *lacks;
	size_t n_lacks;
	size_t n_warnings;
	char warnings[HV_BASELINE_MAX_WARNINGS][CAPS_EVAL_TEXT_MAX];
};

/*
 * The baseline of n hosts (1..HV_BASELINE_MAX_HOSTS), feature names in
 * the policy in the given spelling.  Returns 0 with ret->outcome saying
 * whether ret->policy holds one (the lacks are filled either way); -EINVAL
 * for no hosts, too many or a target without its record; -E2BIG when the
 * common features do not fit a policy (CAPS_POLICY_MAX_FEATURES);
 * -ENOMEM.  Release with hv_baseline_done().
 */
int hv_baseline_compute(const struct hv_policy_target *hosts, size_t n, unsigned flags,
			enum caps_names names, struct hv_baseline *ret);

/* Free what hv_baseline_compute() allocated; accepts a zeroed or done baseline. */
void hv_baseline_done(struct hv_baseline *b);

/* ------------------------------------------------------------------ */
/* Migration check (the result's types are libcaps' caps_migration, which proto writes). */

/*
 * Whether a guest whose CPUID is guest (the KVM_SET_CPUID2 table it was
 * created with: a policy's evaluation on the source host) can run on
 * dest after live migration, names in the given spelling.  0 with the
 * answer in ret; -EINVAL for a NULL argument or a target without record.
 */
int hv_migrate_check(const struct caps_cpuid *guest, const struct hv_policy_target *dest,
		     enum caps_names names, struct caps_migration *ret);
