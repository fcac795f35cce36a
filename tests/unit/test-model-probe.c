/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The model against the real thing: feed hvcore this machine's raw CPUID,
 * kernel flags and KVM module parameters, and compare its answer with what
 * KVM_GET_SUPPORTED_CPUID returns, feature by feature and entry by entry.
 * The figures go to the test log; docs/MODEL.md explains what remains.
 *
 * What may differ, and why:
 *   - vendor modules the model does not describe (anything but kvm_intel
 *     and kvm_amd, e.g. kvm_pvm) may hide features the model expects; they
 *     must never add one the model does not expect;
 *   - registers that derive from hidden features (0xD.1 sizes and XSS);
 *   - per-CPU values (APIC IDs) are kept equal by pinning to CPU 0.
 */

#include <errno.h>
#include <sched.h>
#include <string.h>

#include <hvcore/model.h>
#include <libcaps/host.h>

#include "test-util.h"

static struct caps_dump raw;
static struct caps_kernel_flags kflags;
static struct caps_host_record probe;
static struct hv_model_result model;
static bool module_described;

static bool is_described_module(const char *m)
{
	return strcmp(m, "kvm_intel") == 0 || strcmp(m, "kvm_amd") == 0;
}

START_TEST(test_model_probe_features_differ_only_as_documented)
{
	unsigned only_model = 0, only_kvm = 0, same = 0;
	char list[4096] = "", bad[4096] = "";

	for (size_t i = 0; i < caps_feature_count(); i++) {
		const struct caps_feature_info *fi = caps_feature_at(i);
		const struct caps_word_info *wi = caps_word_info(fi->word);
		bool k = caps_has(&probe.features, fi->id), m = caps_has(&model.record.features, fi->id);
		size_t len;

		/* KVM reports feature MSRs separately; the model does not model them. */
		if (wi->kind == CAPS_WORD_MSR)
			continue;
		if (k == m) {
			same++;
			continue;
		}
		if (m) {
			only_model++;
			len = strlen(list);
			snprintf(list + len, sizeof(list) - len, " %s", fi->name);
			if (!module_described)
				continue;
		} else {
			only_kvm++;
		}
		len = strlen(bad);
		snprintf(bad + len, sizeof(bad) - len, "\n  %s: %s", fi->name,
			 k ? "KVM reports it, the model does not" : "the model expects it, KVM does not");
	}
	fprintf(stderr, "model vs probe (%s): %u features agree, %u only in the model, %u only in KVM\n",
		probe.vendor_module, same, only_model, only_kvm);
	if (only_model)
		fprintf(stderr, "  hidden by %s:%s\n", probe.vendor_module, list);
	ck_assert_msg(bad[0] == '\0', "unexplained differences:%s", bad);
}
END_TEST

/* Registers that are not feature words must agree too, but for documented knock-ons. */
START_TEST(test_model_probe_entries_differ_only_as_documented)
{
	unsigned differ = 0, missing = 0;
	char bad[4096] = "";

	for (size_t i = 0; i < probe.supported.nent; i++) {
		const struct caps_cpuid_entry *k = &probe.supported.entries[i];
		const struct caps_cpuid_entry *m = caps_cpuid_find(&model.record.supported, k->function, k->index);
		const enum caps_reg regs[] = { CAPS_REG_EAX, CAPS_REG_EBX, CAPS_REG_ECX, CAPS_REG_EDX };

		if (!m || m->index != k->index || m->flags != k->flags) {
			missing++;
			snprintf(bad + strlen(bad), sizeof(bad) - strlen(bad), "\n  0x%x.%u: %s",
				 k->function, k->index, m ? "flags differ" : "missing from the model");
			continue;
		}
		for (size_t r = 0; r < 4; r++) {
			uint32_t kv = caps_cpuid_entry_reg(k, regs[r]), mv = caps_cpuid_entry_reg(m, regs[r]);
			int w = caps_word_find_cpuid(k->function, k->index, regs[r]);

			if (kv == mv)
				continue;
			differ++;
			/* Feature words were judged feature by feature above. */
			if (w >= 0)
				continue;
			/*
			 * 0xD.1: the compacted size follows XSAVES/XSAVEC, and the XSS
			 * components follow XSAVES, which a hiding module may remove.
			 */
			if (!module_described && k->function == 0xd && k->index == 1)
				continue;
			snprintf(bad + strlen(bad), sizeof(bad) - strlen(bad), "\n  0x%x.%u %s: kvm 0x%08x model 0x%08x",
				 k->function, k->index, caps_reg_name(regs[r]), kv, mv);
		}
	}
	/* Entries only the model has: XSS sub-leaves of components KVM hides. */
	for (size_t i = 0; i < model.record.supported.nent; i++) {
		const struct caps_cpuid_entry *m = &model.record.supported.entries[i];
		const struct caps_cpuid_entry *k = caps_cpuid_find(&probe.supported, m->function, m->index);

		if (k && k->index == m->index)
			continue;
		missing++;
		if (!module_described && m->function == 0xd && (m->ecx & 1))
			continue;
		snprintf(bad + strlen(bad), sizeof(bad) - strlen(bad), "\n  0x%x.%u: only in the model",
			 m->function, m->index);
	}
	fprintf(stderr, "model vs probe: %zu KVM entries, %zu model entries; %u registers differ, %u entries unmatched\n",
		probe.supported.nent, model.record.supported.nent, differ, missing);
	ck_assert_msg(bad[0] == '\0', "unexplained differences:%s", bad);
}
END_TEST

/*
 * KVM_GET_EMULATED_CPUID: leaves 0 and 1 are fixed; leaf 7 offers RDPID
 * exactly when the supported set has RDTSCP.  Both sides must follow
 * that rule with their own RDTSCP, and agree fully for described modules.
 */
static void check_emulated_rule(const struct caps_host_record *r, const char *who)
{
	const struct caps_cpuid_entry *l7 = caps_cpuid_find(&r->emulated, 7, 0);
	bool rdpid;

	ck_assert_msg(l7 != NULL, "%s: no emulated leaf 7", who);
	rdpid = l7->ecx & caps_feature_mask(X86_FEATURE_RDPID);
	ck_assert_msg(rdpid == caps_has(&r->features, X86_FEATURE_RDTSCP),
		      "%s: emulated RDPID %d, supported RDTSCP %d", who, rdpid,
		      caps_has(&r->features, X86_FEATURE_RDTSCP));
}

START_TEST(test_model_probe_emulated_cpuid_follows_the_rule)
{
	ck_assert_uint_eq(model.record.emulated.nent, probe.emulated.nent);
	for (size_t i = 0; i < probe.emulated.nent; i++) {
		const struct caps_cpuid_entry *k = &probe.emulated.entries[i];
		const struct caps_cpuid_entry *m = &model.record.emulated.entries[i];

		ck_assert_uint_eq(k->function, m->function);
		ck_assert_uint_eq(k->flags, m->flags);
		if (k->function != 7)
			ck_assert_int_eq(memcmp(k, m, sizeof(*k)), 0);
	}
	check_emulated_rule(&probe, "kvm");
	check_emulated_rule(&model.record, "model");
	if (module_described)
		ck_assert(caps_cpuid_equal(&model.record.emulated, &probe.emulated));
}
END_TEST

int main(void)
{
	struct caps_probe_error err = { { 0 } };
	struct hv_host_desc desc = { 0 };
	cpu_set_t set;
	Suite *s;
	TCase *tc;
	int r;

	/* The raw read and KVM's own host CPUID must come from one CPU. */
	CPU_ZERO(&set);
	CPU_SET(0, &set);
	if (sched_setaffinity(0, sizeof(set), &set) < 0) {
		perror("sched_setaffinity");
		return EXIT_FAILURE;
	}
	r = caps_host_probe_kvm(&probe, &err);
	if (r == -ENOENT || r == -EACCES || r == -EPERM || r == -ENXIO || r == -ENODEV) {
		fprintf(stderr, "SKIP: no usable /dev/kvm: %s\n", err.message);
		return TEST_EXIT_SKIP;
	}
	if (r < 0) {
		fprintf(stderr, "probe: %s\n", err.message);
		return EXIT_FAILURE;
	}
	if (caps_host_cpuid_read(&raw) < 0 || caps_kernel_flags_read(&kflags) < 0) {
		fprintf(stderr, "cannot read this machine's CPUID or /proc/cpuinfo\n");
		return EXIT_FAILURE;
	}
	desc.raw = &raw.cpuid;
	desc.kernel = &kflags;
	if (hv_host_params_from_record(&desc.params, &probe, &raw.cpuid) < 0 ||
	    hv_model_compute(&desc, &model) < 0) {
		fprintf(stderr, "cannot model this machine\n");
		return EXIT_FAILURE;
	}
	module_described = is_described_module(probe.vendor_module);
	fprintf(stderr, "vendor module %s (%s by the model), kernel %s\n", probe.vendor_module,
		module_described ? "described" : "not described", probe.kernel_release);

	s = suite_create("model-probe");
	tc = tcase_create("this machine");
	tcase_add_test(tc, test_model_probe_features_differ_only_as_documented);
	tcase_add_test(tc, test_model_probe_entries_differ_only_as_documented);
	tcase_add_test(tc, test_model_probe_emulated_cpuid_follows_the_rule);
	suite_add_tcase(s, tc);
	return test_run_suite(s);
}
