/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The state of one model computation, shared by hvcore/model*.c. */

#include <hvcore/model.h>

/* SECS.ATTRIBUTES KVM advertises: DEBUG, MODE64BIT, PROVISIONKEY, EINITTOKENKEY, KSS, AEXNOTIFY. */
#define SGX_ATTR_MASK 0x000004b6u

struct model {
	const struct hv_host_desc *desc;
	const struct hv_host_params *p;
	const struct caps_cpuid *raw;

	/* The host. */
	uint32_t max_basic, max_ext, max_centaur;
	bool host_intel;	/* GenuineIntel, Centaur, Zhaoxin */
	bool host_amd;		/* AuthenticAMD, HygonGenuine */
	bool centaur;		/* the 0xC000_0000 range exists */
	uint32_t family;
	struct caps raw_caps;	/* raw CPUID, with raw_host_cpuid()'s range rule */
	struct caps kernel;	/* boot_cpu_data */
	struct {
		bool ibpb, ibrs, stibp, ls_cfg_ssbd, lfence_rdtsc;
		bool bug_null_seg, bug_spec_store_bypass, bug_eibrs_pbrsb;
	} lx;

	/* What differs by kernel version (versions_init()). */
	uint32_t max_basic_leaf;	/* 0x0.EAX cap */
	uint32_t max_ext_leaf;		/* 0x8000_0000.EAX cap */
	uint32_t limit_leaf7;		/* 0x7.0.EAX cap */
	uint32_t avx10_version_max;
	int since_7_1_ecx, since_8000_0021_ecx, since_eraps_rapsize;
	int since_1e_1, since_24_1;
	bool synth_needs_kernel;	/* the 7.0-rc3 SYNTHESIZED_F fix */
	uint64_t kvm_supported_xcr0, kvm_supported_xss;

	/* kvm_cpu_caps[] and why each feature is where it is. */
	struct caps caps;
	struct hv_feature_status status[CAPS_NR_FEATURE_IDS];
	bool status_set[CAPS_NR_FEATURE_IDS];
	bool listed[CAPS_NR_FEATURE_IDS];	/* a kvm-caps.def row names it */
	uint8_t kind[CAPS_NR_FEATURE_IDS];	/* its row's kind + 1, 0 if none */
	struct hv_feature_status leaf_reason[CAPS_NR_FEATURE_IDS];
	bool leaf_filtered[NR_CAPS_WORDS];

	/* Derived for the leaves. */
	uint64_t permitted_xcr0, permitted_xss;
	uint32_t pv_features;
	uint32_t limit_basic, limit_ext, limit_centaur;
	int error;
};

bool model_kernel_has(const struct model *m, int feature);
bool model_kernel_flag(const struct model *m, const char *name, bool fallback);
bool model_kernel_bug(const struct model *m, const char *name, bool fallback);
void model_status(struct model *m, int feature, enum hv_reason reason, const char *detail);
/* kvm_cpu_cap_set(): note says how (HV_NOTE_*). */
void model_cap_set(struct model *m, int feature, uint8_t note);
/* kvm_cpu_cap_clear(), with the reason. */
void model_cap_clear(struct model *m, int feature, enum hv_reason reason, const char *detail);
/* Say that the leaf carrying word w is reported empty, and why. */
void model_leaf_filter(struct model *m, enum caps_word w, enum hv_reason reason, const char *detail);

/* model-host.c */
void host_identity_init(struct model *m);
void versions_init(struct model *m);

/* model-vendor.c */
void spec_ctrl_fixups(struct model *m);
void svm_set_cpu_caps(struct model *m);
void vmx_set_cpu_caps(struct model *m);

/* model-leaves.c */
void xsave_init(struct model *m);
void pv_features_init(struct model *m);
void pmu_leaf_0xa(struct model *m, struct caps_cpuid_entry *e);
void pmu_leaf_0x80000022(struct model *m, struct caps_cpuid_entry *e);
void amx_leaf_0x1e(struct model *m, struct caps_cpuid *out, struct caps_cpuid_entry *e);
void avx10_leaf_0x24(struct model *m, struct caps_cpuid *out, struct caps_cpuid_entry *e);
void model_emit(struct model *m, struct caps_cpuid *out, const struct caps_cpuid_entry *e);
struct caps_cpuid_entry model_host_start(const struct model *m, uint32_t fn, uint32_t idx);
