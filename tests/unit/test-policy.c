/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Policy evaluation against real CPUs from ../shared/testdata (read in
 * place).  The shared data has no Zen 5 (ERAPS) and no LAM CPU: those
 * fixtures are derived here from real dumps by setting the documented
 * bits, never committed as edited copies.
 */

#include <errno.h>
#include <string.h>
#include <unistd.h>

#include <hvcore/policy.h>
#include <libcaps/dump.h>

#include "synthetic-hosts.h"

static char dir[4096];
static struct caps_dump host;
static struct hv_model_result model;
static struct hv_host_params params;
static struct hv_policy_target target;
static struct caps_policy policy;
static struct caps_evaluation ev;

static void load(const char *cpu)
{
	struct caps_dump_error err = { 0 };
	char path[8192];

	snprintf(path, sizeof(path), "%s/x86_64-cpuid-%s.xml", dir, cpu);
	ck_assert_msg(caps_dump_read_file(path, CAPS_DUMP_AUTO, &host, &err) == 0, "%s: %s", path, err.message);
}

/* Set (or clear) a catalog feature's bit in the loaded dump. */
static void set_feature(int feature, bool on)
{
	const struct caps_word_info *wi = caps_word_info(caps_feature_word(feature));

	for (size_t i = 0; i < host.cpuid.nent; i++) {
		struct caps_cpuid_entry *e = &host.cpuid.entries[i];
		uint32_t v;

		if (e->function != wi->function || e->index != wi->index)
			continue;
		v = caps_cpuid_entry_reg(e, wi->reg);
		v = on ? v | caps_feature_mask(feature) : v & ~caps_feature_mask(feature);
		caps_cpuid_entry_set_reg(e, wi->reg, v);
		return;
	}
	ck_abort_msg("dump has no entry for %s", caps_feature_name(feature, CAPS_NAMES_LINUX));
}

static struct caps_cpuid_entry *entry(uint32_t fn, uint32_t idx)
{
	for (size_t i = 0; i < host.cpuid.nent; i++)
		if (host.cpuid.entries[i].function == fn && host.cpuid.entries[i].index == idx)
			return &host.cpuid.entries[i];
	ck_abort_msg("dump has no 0x%x.%u", fn, idx);
	abort();
}

/* A Zen 5 from a Zen 4: EPYC-9334 with ERAPS and a 64-entry RAP. */
static void load_zen5(void)
{
	load("EPYC-9334-32-Core");
	set_feature(X86_FEATURE_ERAPS, true);
	entry(0x80000021, 0)->ebx = (entry(0x80000021, 0)->ebx & ~0x00ff0000u) | (64u << 16);
}

/* A LAM CPU from a Sapphire Rapids workstation: 7.1.EAX[26]. */
static void load_lam(void)
{
	load("Xeon-w7-3465X");
	set_feature(X86_FEATURE_LAM, true);
}

/* Model the loaded host with "k=v k=v" and make it the target. */
static void model_host(const char *kv)
{
	synth_model(&host.cpuid, kv, NULL, NULL, &params, &model);
	hv_policy_target_from_model(&target, &model, &params, &host.cpuid);
}

static void policy_new(enum caps_policy_base base)
{
	caps_policy_init(&policy);
	policy.base = base;
}

static void policy_feature(const char *name, enum caps_feature_policy p)
{
	struct caps_policy_feature *f = &policy.features[policy.n_features++];

	snprintf(f->name, sizeof(f->name), "%s", name);
	f->feature = caps_feature_lookup(name);
	f->policy = p;
}

static void evaluate(void)
{
	ck_assert_int_eq(hv_policy_evaluate(&policy, &target, CAPS_NAMES_LINUX, &ev), 0);
}

static const struct caps_eval_problem *problem_for(const char *feature)
{
	for (size_t i = 0; i < ev.n_problems; i++)
		if (strcmp(ev.problems[i].feature, feature) == 0)
			return &ev.problems[i];
	return NULL;
}

static const struct caps_eval_warning *warning_for(const char *feature, const char *reason)
{
	for (size_t i = 0; i < ev.n_warnings; i++)
		if (strcmp(ev.warnings[i].feature, feature) == 0 && strcmp(ev.warnings[i].reason, reason) == 0)
			return &ev.warnings[i];
	return NULL;
}

static bool has_inhibit(const char *name)
{
	for (size_t i = 0; i < ev.n_apicv_inhibits; i++)
		if (strcmp(ev.apicv_inhibits[i], name) == 0)
			return true;
	return false;
}

/* Hybrid AVIC (AVIC without x2AVIC) deletes the APIC access memslot once a vCPU uses x2APIC. */
START_TEST(test_policy_hybrid_avic_predicts_memslot_inhibition)
{
	load("EPYC-7601-32-Core");	/* Zen 1: AVIC, no x2AVIC */
	model_host("avic=on");
	policy_new(CAPS_POLICY_BASE_NONE);
	policy.apic = CAPS_POLICY_APIC_X2APIC;
	evaluate();
	ck_assert_int_eq(ev.apic_access_memslot, CAPS_EVAL_MEMSLOT_INHIBITED_WHEN_X2APIC);
	/* xAPIC guests keep it. */
	policy.apic = CAPS_POLICY_APIC_XAPIC;
	evaluate();
	ck_assert_int_eq(ev.apic_access_memslot, CAPS_EVAL_MEMSLOT_ENABLED);
	/* With x2AVIC (Zen 4) x2APIC guests keep it too. */
	load("EPYC-9334-32-Core");
	model_host("avic=on");
	policy.apic = CAPS_POLICY_APIC_X2APIC;
	evaluate();
	ck_assert_int_eq(ev.apic_access_memslot, CAPS_EVAL_MEMSLOT_ENABLED);
	/* Without AVIC, SVM has no APIC access memslot at all. */
	model_host("avic=off");
	evaluate();
	ck_assert_int_eq(ev.apic_access_memslot, CAPS_EVAL_MEMSLOT_NOT_USED);
}
END_TEST

/* vCPU ids beyond the AVIC table: PHYSICAL_ID_TOO_BIG. */
START_TEST(test_policy_predicts_physical_id_too_big)
{
	load("EPYC-7601-32-Core");
	model_host("avic=on");
	policy_new(CAPS_POLICY_BASE_NONE);
	policy.vcpus = 256;
	evaluate();
	ck_assert(!has_inhibit("PHYSICAL_ID_TOO_BIG"));
	policy.vcpus = 257;
	evaluate();
	ck_assert(has_inhibit("PHYSICAL_ID_TOO_BIG"));
	/* x2AVIC covers 512 ids. */
	load("EPYC-9334-32-Core");
	model_host("avic=on");
	evaluate();
	ck_assert(!has_inhibit("PHYSICAL_ID_TOO_BIG"));
	policy.vcpus = 513;
	evaluate();
	ck_assert(has_inhibit("PHYSICAL_ID_TOO_BIG"));
	/* VMX ignores AVIC-only reasons. */
	load("Xeon-Gold-5115");
	model_host("");
	policy.vcpus = 1000;
	evaluate();
	ck_assert(!has_inhibit("PHYSICAL_ID_TOO_BIG"));
}
END_TEST

START_TEST(test_policy_snp_gives_snp_safe_control_pages)
{
	load("EPYC-9334-32-Core");
	model_host("sev=on sev_es=on snp=on");
	policy_new(CAPS_POLICY_BASE_HOST);
	evaluate();
	ck_assert(ev.snp_safe_control_pages);
	model_host("sev=on sev_es=on snp=off");
	evaluate();
	ck_assert(!ev.snp_safe_control_pages);
}
END_TEST

/* ERAPS: accepted with 7.0 (TDP or not), rejected with 6.18 by rule kvm_older_than_7.0. */
START_TEST(test_policy_eraps_by_kernel_version)
{
	const struct caps_eval_problem *p;

	load_zen5();
	policy_new(CAPS_POLICY_BASE_NONE);
	policy_feature("eraps", CAPS_POLICY_REQUIRE);

	model_host("kernel=7.0");
	evaluate();
	ck_assert_msg(ev.accepted, "%s", ev.n_problems ? ev.problems[0].detail : "");
	ck_assert(caps_has(&ev.guest_features, X86_FEATURE_ERAPS));
	ck_assert(ev.erap_allow_larger_rap);
	ck_assert(!ev.erap_clear_rap);

	model_host("kernel=7.0 tdp=off");
	evaluate();
	ck_assert(ev.accepted);

	model_host("kernel=6.18");
	evaluate();
	ck_assert(!ev.accepted);
	p = problem_for("eraps");
	ck_assert_ptr_nonnull(p);
	ck_assert_str_eq(p->reason, "not_supported_by_kvm");
	ck_assert_str_eq(p->rule, "kvm_older_than_7.0");
	ck_assert_ptr_nonnull(strstr(p->detail, "7.0"));
	ck_assert(p->where.valid && p->where.function == 0x80000021 && p->where.bit == 24 &&
		  p->where.reg == CAPS_REG_EAX);
	ck_assert(!ev.erap_allow_larger_rap);

	/* Negative row: a Zen 4 has no ERAPS at all. */
	load("EPYC-9334-32-Core");
	model_host("kernel=7.0");
	evaluate();
	ck_assert_str_eq(problem_for("eraps")->reason, "not_in_host_cpu");
}
END_TEST

START_TEST(test_policy_lam_gives_cr3_lam_bits)
{
	load_lam();
	model_host("");
	policy_new(CAPS_POLICY_BASE_X86_64_V3);
	policy_feature("lam", CAPS_POLICY_REQUIRE);
	evaluate();
	ck_assert_msg(ev.accepted, "%s", ev.n_problems ? ev.problems[0].detail : "");
	ck_assert(ev.cr3_lam_u48 && ev.cr3_lam_u57);
	/* Without LAM in the guest: no LAM bits. */
	policy.features[0].policy = CAPS_POLICY_DISABLE;
	evaluate();
	ck_assert(!ev.cr3_lam_u48 && !ev.cr3_lam_u57);
	/* AMD hosts never have it. */
	load("EPYC-9334-32-Core");
	model_host("");
	policy.features[0].policy = CAPS_POLICY_REQUIRE;
	evaluate();
	ck_assert(!ev.accepted);
}
END_TEST

START_TEST(test_policy_unknown_feature_rejected_with_suggestion)
{
	load("EPYC-9334-32-Core");
	model_host("");
	policy_new(CAPS_POLICY_BASE_NONE);
	policy_feature("avx512ff", CAPS_POLICY_REQUIRE);
	ck_assert_int_lt(policy.features[0].feature, 0);
	evaluate();
	ck_assert(!ev.accepted);
	ck_assert_str_eq(problem_for("avx512ff")->reason, "unknown_feature");
	ck_assert_ptr_nonnull(strstr(problem_for("avx512ff")->detail, "avx512f"));
}
END_TEST

START_TEST(test_policy_forbid_and_force)
{
	const struct caps_eval_warning *w;

	load("EPYC-9334-32-Core");
	model_host("");
	policy_new(CAPS_POLICY_BASE_NONE);
	policy_feature("avx2", CAPS_POLICY_FORBID);
	evaluate();
	ck_assert(!ev.accepted);
	ck_assert_str_eq(problem_for("avx2")->reason, "forbidden_but_supported");
	ck_assert(!caps_has(&ev.guest_features, X86_FEATURE_AVX2));
	/* Negative row: forbidding what the host lacks is fine. */
	policy.features[0].feature = X86_FEATURE_LAM;
	snprintf(policy.features[0].name, sizeof(policy.features[0].name), "lam");
	evaluate();
	ck_assert(ev.accepted);

	/* force: in the CPUID, warned, and not in the guest's caps. */
	policy_new(CAPS_POLICY_BASE_NONE);
	policy_feature("lam", CAPS_POLICY_FORCE);
	evaluate();
	ck_assert(ev.accepted);
	w = warning_for("lam", "forced_unsupported");
	ck_assert_ptr_nonnull(w);
	ck_assert(!caps_has(&ev.guest_features, X86_FEATURE_LAM));
	ck_assert(caps_cpuid_find(&ev.guest_cpuid, 7, 1)->eax & caps_feature_mask(X86_FEATURE_LAM));
	/* Negative row: forcing a supported feature does not warn. */
	policy.features[0].feature = X86_FEATURE_AVX2;
	snprintf(policy.features[0].name, sizeof(policy.features[0].name), "avx2");
	evaluate();
	ck_assert_ptr_null(warning_for("avx2", "forced_unsupported"));
	ck_assert(caps_has(&ev.guest_features, X86_FEATURE_AVX2));
}
END_TEST

START_TEST(test_policy_optional_disable_and_levels)
{
	load("Ryzen-9-3900X-12-Core");	/* Zen 2: x86-64-v3, no AVX-512 */
	model_host("");
	policy_new(CAPS_POLICY_BASE_X86_64_V3);
	policy_feature("avx512f", CAPS_POLICY_OPTIONAL);
	policy_feature("sha_ni", CAPS_POLICY_DISABLE);
	evaluate();
	ck_assert(ev.accepted);
	ck_assert(!caps_has(&ev.guest_features, X86_FEATURE_AVX512F));
	ck_assert(!caps_has(&ev.guest_features, X86_FEATURE_SHA_NI));
	ck_assert_int_eq(hv_x86_64_level(&ev.guest_features), 3);
	policy.base = CAPS_POLICY_BASE_X86_64_V4;
	evaluate();
	ck_assert(!ev.accepted);
	ck_assert_str_eq(problem_for("avx512f")->reason, "not_in_host_cpu");
	ck_assert_int_eq(hv_x86_64_level(&model.record.features), 3);
	load("EPYC-9334-32-Core");
	model_host("");
	evaluate();
	ck_assert(ev.accepted);
}
END_TEST

START_TEST(test_policy_vendor_phys_bits_and_migration)
{
	load("EPYC-9334-32-Core");
	model_host("");
	policy_new(CAPS_POLICY_BASE_HOST);
	ck_assert(policy.migratable);
	evaluate();
	ck_assert(ev.accepted);
	/* invtsc breaks migration: left out of base host, warned when required. */
	ck_assert(!caps_has(&ev.guest_features, X86_FEATURE_CONSTANT_TSC));
	policy_feature("invtsc", CAPS_POLICY_REQUIRE);
	evaluate();
	ck_assert_ptr_nonnull(warning_for("constant_tsc", "not_migratable"));
	policy.migratable = false;
	policy.n_features = 0;
	evaluate();
	ck_assert(caps_has(&ev.guest_features, X86_FEATURE_CONSTANT_TSC));

	policy.has_vendor = true;
	snprintf(policy.vendor, sizeof(policy.vendor), "GenuineIntel");
	evaluate();
	ck_assert(!ev.accepted);
	ck_assert_str_eq(ev.problems[0].reason, "vendor_mismatch");
	snprintf(policy.vendor, sizeof(policy.vendor), "AuthenticAMD");
	policy.phys_bits = 40;
	evaluate();
	ck_assert(ev.accepted);
	ck_assert_int_eq(ev.guest_phys_bits, 40);
	policy.phys_bits = 53;
	evaluate();
	ck_assert(!ev.accepted);
	ck_assert_str_eq(ev.problems[0].reason, "phys_bits_too_large");
}
END_TEST

START_TEST(test_policy_virtualization_hole_warned)
{
	load("EPYC-9334-32-Core");
	model_host("tdp=on");
	policy_new(CAPS_POLICY_BASE_HOST);
	policy_feature("pdpe1gb", CAPS_POLICY_DISABLE);
	policy_feature("xsaves", CAPS_POLICY_DISABLE);
	evaluate();
	/* With TDP the guest still gets 1 GiB pages; SVM cannot hide XSAVES. */
	ck_assert(caps_has(&ev.guest_features, X86_FEATURE_GBPAGES));
	ck_assert_ptr_nonnull(warning_for("pdpe1gb", "virtualization_hole"));
	ck_assert(caps_has(&ev.guest_features, X86_FEATURE_XSAVES));
	ck_assert_ptr_nonnull(warning_for("xsaves", "virtualization_hole"));
	/* Negative row: shadow paging can hide 1 GiB pages. */
	model_host("tdp=off");
	evaluate();
	ck_assert(!caps_has(&ev.guest_features, X86_FEATURE_GBPAGES));
	ck_assert_ptr_null(warning_for("pdpe1gb", "virtualization_hole"));
}
END_TEST

/* Round trip: for every CPU and base host, the guest CPUID through a fresh vCPU gives guest.features. */
static const char *const cpus[] = {
	"Atom-P5362", "Core-i5-650", "Core-i7-8700", "Core2-Q9500", "EPYC-7601-32-Core",
	"EPYC-9334-32-Core", "Opteron-6234", "Ryzen-9-3900X-12-Core", "Xeon-6788P",
	"Xeon-E5-2650-v4", "Xeon-Gold-5115", "Xeon-w7-3465X",
};

START_TEST(test_policy_round_trip_base_host)
{
	struct hv_vm *vm;
	struct hv_vcpu *v;
	const char *why = NULL;

	load(cpus[_i]);
	model_host("");
	policy_new(CAPS_POLICY_BASE_HOST);
	evaluate();
	ck_assert_msg(ev.accepted, "%s: %s", cpus[_i], ev.n_problems ? ev.problems[0].detail : "");
	ck_assert_int_eq(hv_vm_new(&target.host, 1, NULL, &vm), 0);
	ck_assert_int_eq(hv_vcpu_create(vm, 0, &v), 0);
	ck_assert_msg(hv_vcpu_set_cpuid(v, ev.guest_cpuid.entries, ev.guest_cpuid.nent, &why) == 0,
		      "%s: %s", cpus[_i], why);
	ck_assert_msg(caps_equal(hv_vcpu_cpu_caps(v), &ev.guest_features), "%s: cpu_caps differ", cpus[_i]);
	/* The evaluation's features are KVM's offer minus the non-migratable ones. */
	caps_for_each(f, &ev.guest_features)
		ck_assert_msg(caps_has(&model.kvm_cpu_caps, f) || f == X86_FEATURE_APIC ||
			      f == X86_FEATURE_GBPAGES || f == X86_FEATURE_XSAVES ||
			      f == X86_FEATURE_MOVBE || f == X86_FEATURE_RDPID,
			      "%s: %s beyond KVM's caps", cpus[_i], caps_feature_name(f, CAPS_NAMES_LINUX));
	hv_vm_free(vm);
}
END_TEST

START_TEST(test_policy_levels_are_cumulative_psabi)
{
	const int *f;
	struct caps c;

	ck_assert_uint_eq(hv_x86_64_level_features(0, &f), 0);
	ck_assert_uint_eq(hv_x86_64_level_features(5, &f), 0);
	caps_zero(&c);
	ck_assert_int_eq(hv_x86_64_level(&c), 0);
	for (int level = 1; level <= HV_X86_64_LEVEL_MAX; level++) {
		size_t n = hv_x86_64_level_features(level, &f);

		ck_assert_uint_gt(n, 0);
		for (size_t i = 0; i < n; i++)
			caps_set(&c, f[i]);
		ck_assert_int_eq(hv_x86_64_level(&c), level);
	}
	caps_clear(&c, X86_FEATURE_POPCNT);	/* a v2 feature: the level drops to 1 */
	ck_assert_int_eq(hv_x86_64_level(&c), 1);
}
END_TEST

int main(void)
{
	const char *top = getenv("HVCAP_TESTDATA");
	Suite *s = suite_create("policy");
	TCase *tc;

	if (!top || !*top) {
		fprintf(stderr, "SKIP: HVCAP_TESTDATA is not set: the policy tests use the shared CPU dumps\n");
		return TEST_EXIT_SKIP;
	}
	snprintf(dir, sizeof(dir), "%s/libvirt-cputestdata", top);
	if (access(dir, R_OK | X_OK) != 0) {
		fprintf(stderr, "SKIP: %s: %s: the policy tests use the shared CPU dumps\n", dir, strerror(errno));
		return TEST_EXIT_SKIP;
	}

	tc = tcase_create("real cpus");
	tcase_add_test(tc, test_policy_hybrid_avic_predicts_memslot_inhibition);
	tcase_add_test(tc, test_policy_predicts_physical_id_too_big);
	tcase_add_test(tc, test_policy_snp_gives_snp_safe_control_pages);
	tcase_add_test(tc, test_policy_eraps_by_kernel_version);
	tcase_add_test(tc, test_policy_lam_gives_cr3_lam_bits);
	tcase_add_test(tc, test_policy_unknown_feature_rejected_with_suggestion);
	tcase_add_test(tc, test_policy_forbid_and_force);
	tcase_add_test(tc, test_policy_optional_disable_and_levels);
	tcase_add_test(tc, test_policy_vendor_phys_bits_and_migration);
	tcase_add_test(tc, test_policy_virtualization_hole_warned);
	tcase_add_loop_test(tc, test_policy_round_trip_base_host, 0, sizeof(cpus) / sizeof(cpus[0]));
	suite_add_tcase(s, tc);

	tc = tcase_create("levels");
	tcase_add_test(tc, test_policy_levels_are_cumulative_psabi);
	suite_add_tcase(s, tc);
	return test_run_suite(s);
}
