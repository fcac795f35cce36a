/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * Policy evaluation (DESIGN.md §4): a vCPU feature policy against a host,
 * giving the verdict, the problems and warnings, the guest CPUID a VMM
 * would pass to KVM_SET_CPUID2, the cpu_caps KVM derives from it, and the
 * controls KVM derives (erap_ctl, the APIC access memslot, APICv
 * inhibits, CR3 LAM bits, SNP-safe control pages).
 */

#include <libcaps/policy.h>

#include <hvcore/model.h>
#include <hvcore/vm.h>

/* The x86-64 psABI microarchitecture levels, 1..4. */
#define HV_X86_64_LEVEL_MAX 4

/*
 * The features level (1..4) adds over the level below (level 1: the
 * baseline).  Returns how many, and points *ret at a static array.
 */
size_t hv_x86_64_level_features(int level, const int **ret);

/* The highest level whose features (cumulatively) are all in c; 0 if none. */
int hv_x86_64_level(const struct caps *c);

/*
 * Whether a feature breaks live migration whatever the destination offers
 * (QEMU's unmigratable flags: invtsc, as the TSC rate differs between
 * hosts).  A migratable policy leaves these out of base host; baselines
 * with --migratable leave them out; migration checks block on them.
 */
bool hv_feature_breaks_migration(int feature);

/* The host a policy is evaluated against. */
struct hv_policy_target {
	const struct caps_host_record *record;	/* what KVM supports (probe or model) */
	const struct hv_feature_status *status;	/* why a feature is not supported */
	const struct caps_cpuid *raw;		/* the host's raw CPUID */
	struct hv_host host;			/* for the VM and vCPU model */
};

/*
 * A target from the model of a host: the model's record and reasons, its
 * kvm_cpu_caps for the vCPU model.  m and raw must outlive the target.
 */
void hv_policy_target_from_model(struct hv_policy_target *ret, const struct hv_model_result *m,
				 const struct hv_host_params *p, const struct caps_cpuid *raw);

/*
 * Hold guests to what the real KVM answered (a probe of this machine,
 * which must outlive the target) rather than to the model of it: the
 * record, kvm_cpu_caps and the supported XCR0 and XSS from its leaf 0xD;
 * status (the reasons) must explain that probe (hv_explain_probe()).
 */
void hv_policy_target_use_probe(struct hv_policy_target *t, const struct caps_host_record *probe,
				const struct hv_feature_status *status);

/*
 * A target from a host record read back from elsewhere (`hvctl host
 * export --format json` on that host): KVM's own answer as recorded, no
 * model.  The record's supported CPUID stands for the host's raw CPUID
 * (the record has no other), its features for kvm_cpu_caps; the vendor,
 * TDP and nesting come from its parameters (hv_host_params_from_record()),
 * AVIC and x2AVIC from the HostRecord's avic and x2avic.  status is
 * filled: supported, or not_reported_by_kvm with the detail "in the host
 * record" (callers with better reasons may overwrite them).  r and status
 * must outlive the target.
 */
void hv_policy_target_from_record(struct hv_policy_target *ret, const struct caps_host_record *r, bool avic,
				  bool x2avic, struct hv_feature_status status[CAPS_NR_FEATURE_IDS]);

/*
 * Better reasons for a target from a record, from the export it came in
 * (`hvctl host export --format json`'s "withheld": the features the host
 * CPU has and its KVM does not offer, with that host's own reasons).
 * hv_policy_status_inventory() first: a feature neither supported nor
 * withheld is not in the host CPU; then hv_policy_status_withhold() for
 * each entry: feature (a catalog id; -1 for a name unknown here) withheld
 * for reason (a name) with detail (may be NULL; must outlive status).  A
 * reason unknown here, "supported", or a feature the record supports
 * leaves not_reported_by_kvm "in the host record" (for an unsupported
 * feature) rather than trust it.
 */
void hv_policy_status_inventory(struct hv_feature_status status[CAPS_NR_FEATURE_IDS],
				const struct caps_host_record *r);
void hv_policy_status_withhold(struct hv_feature_status status[CAPS_NR_FEATURE_IDS],
			       const struct caps_host_record *r, int feature, const char *reason,
			       const char *detail);

/*
 * Evaluate policy on target, feature names in the given spelling.
 * 0 (the verdict is in ret->accepted), or -ENOMEM / -EINVAL when the
 * evaluation itself could not run.
 */
int hv_policy_evaluate(const struct caps_policy *policy, const struct hv_policy_target *target,
		       enum caps_names names, struct caps_evaluation *ret);
