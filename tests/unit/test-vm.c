/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * hvcore's VMs and vCPUs: the invariants 17-40 of KVM-SEMANTICS.md §6,
 * each with a row where the rule must not fire, and the rules of §2-§5
 * behind them.  Hosts come from the model (an AMD Zen 5-like and an
 * Intel Sapphire Rapids-like CPU, as in test-model.c) through
 * hv_host_from_model(); some rows then set hv_host fields directly.
 * Guests start from the host's KVM_GET_SUPPORTED_CPUID, as QEMU's
 * "-cpu host" does.
 */

#include <errno.h>
#include <string.h>

#include <hvcore/model.h>
#include <hvcore/vm.h>

#include "synthetic-hosts.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

static struct caps_dump host;
static struct hv_model_result res;
static struct hv_host_params params;
static struct hv_host hh;
static struct caps_cpuid guest;

/* ------------------------------------------------------------------ */
/* Synthetic hosts (from test-model.c). */

static void entry_feature(struct caps_cpuid_entry *e, int feature, bool on)
{
	synth_entry_feature(e, feature, on);
}

static void host_feature(int feature, bool on)
{
	synth_feature(&host, feature, on);
}

static void host_amd(void)
{
	synth_host_amd(&host);
}

static void host_intel(void)
{
	synth_host_intel(&host);
}

/* Model the host with "key=value" parameters and make hh from it. */
static void model_run(const char *kv_params)
{
	synth_model(&host.cpuid, kv_params, NULL, NULL, &params, &res);
	hv_host_from_model(&hh, &res, &params);
}

/* The host of the given vendor, modelled; the guest CPUID is what KVM supports. */
static void make_host(bool amd, const char *kv_params)
{
	amd ? host_amd() : host_intel();
	model_run(kv_params);
	guest = res.record.supported;
}

/* ------------------------------------------------------------------ */
/* Guest CPUID helpers. */

static struct caps_cpuid_entry *guest_find(uint32_t fn, uint32_t idx)
{
	for (size_t i = 0; i < guest.nent; i++)
		if (guest.entries[i].function == fn && guest.entries[i].index == idx)
			return &guest.entries[i];
	ck_abort_msg("guest has no 0x%x.%u", fn, idx);
	abort();
}

static void guest_feature(int feature, bool on)
{
	const struct caps_word_info *wi = caps_word_info(caps_feature_word(feature));

	entry_feature(guest_find(wi->function, wi->index), feature, on);
}

static void guest_remove(uint32_t fn, uint32_t idx)
{
	struct caps_cpuid_entry *e = guest_find(fn, idx);
	size_t i = (size_t)(e - guest.entries);

	memmove(e, e + 1, (guest.nent - i - 1) * sizeof(*e));
	guest.nent--;
}

/* A VM on hh with one vCPU (id 0) holding the guest CPUID. */
static struct hv_vm *vm_with_vcpu(uint32_t max_vcpus, struct hv_vcpu **ret)
{
	struct hv_vm *vm = NULL;
	const char *why = NULL;

	ck_assert_int_eq(hv_vm_new(&hh, max_vcpus, NULL, &vm), 0);
	ck_assert_int_eq(hv_vcpu_create(vm, 0, ret), 0);
	ck_assert_msg(hv_vcpu_set_cpuid(*ret, guest.entries, guest.nent, &why) == 0, "%s", why);
	return vm;
}

static bool cap(const struct hv_vcpu *v, int feature)
{
	return hv_guest_cpu_cap_has(v, feature);
}

/* The vCPU's CPUID as KVM_GET_CPUID2 returns it. */
static void get_cpuid(const struct hv_vcpu *v, struct caps_cpuid *ret)
{
	uint32_t n = CAPS_CPUID_MAX_ENTRIES;

	ck_assert_int_eq(hv_vcpu_get_cpuid(v, ret->entries, &n), 0);
	ret->nent = n;
}

/* The emulated register value of §2 rule 2, keyed by function. */
static uint32_t emulated_word(enum caps_word w)
{
	const struct caps_word_info *wi = caps_word_info(w);

	if (wi->function == 1 && wi->reg == CAPS_REG_ECX)
		return caps_feature_mask(X86_FEATURE_MOVBE) | caps_feature_mask(X86_FEATURE_MWAIT);
	if (wi->function == 7 && wi->reg == CAPS_REG_ECX && caps_has(&hh.kvm_cpu_caps, X86_FEATURE_RDTSCP))
		return caps_feature_mask(X86_FEATURE_RDPID);
	return 0;
}

static bool word_is_tracked(enum caps_word w)
{
	enum caps_word_kind k = caps_word_info(w)->kind;

	return k == CAPS_WORD_KERNEL || k == CAPS_WORD_KVM_ONLY;
}

/* The virtualization holes of word w on hh (§2 rules 4 and 6). */
static uint32_t hole_bits(enum caps_word w)
{
	uint32_t m = 0;

	if (hh.tdp && w == (enum caps_word)caps_feature_word(X86_FEATURE_GBPAGES))
		m |= caps_feature_mask(X86_FEATURE_GBPAGES);
	if (hh.vendor == HV_VENDOR_AMD && w == (enum caps_word)caps_feature_word(X86_FEATURE_XSAVES))
		m |= caps_feature_mask(X86_FEATURE_XSAVES);
	return m;
}

/* The runtime bits (§2 rule 3): set from CR4 and APIC_BASE, not from KVM's caps. */
static uint32_t runtime_bits(enum caps_word w)
{
	static const int f[] = { X86_FEATURE_OSXSAVE, X86_FEATURE_APIC, X86_FEATURE_OSPKE };
	uint32_t m = 0;

	for (size_t i = 0; i < ARRAY_SIZE(f); i++)
		if (caps_feature_word(f[i]) == (int)w)
			m |= caps_feature_mask(f[i]);
	return m;
}

static uint64_t genmask_from(int lo)
{
	return lo >= 64 ? 0 : UINT64_MAX << lo;
}

/* ------------------------------------------------------------------ */
/* hv_host_from_model(). */

START_TEST(test_host_from_model_amd)
{
	make_host(true, "avic=on snp=on");
	ck_assert_int_eq(hh.vendor, HV_VENDOR_AMD);
	ck_assert(hh.tdp && hh.nested);
	ck_assert(hh.enable_apicv);
	ck_assert(hh.x2avic);
	ck_assert(hv_host_is_avic_enabled(&hh) && hv_host_is_x2avic_enabled(&hh));
	ck_assert(!hv_host_is_hybrid_avic(&hh));
	ck_assert(hh.snp);
	ck_assert(hh.host_eraps);
	ck_assert(!hh.amx_permitted);
	ck_assert(caps_equal(&hh.kvm_cpu_caps, &res.kvm_cpu_caps));
	ck_assert_uint_eq(hh.supported_xcr0, 0x2e7);
	ck_assert_uint_eq(hh.supported_xss, 0);
	ck_assert_int_eq(hh.host_maxphyaddr, 52);

	/* Negative rows: each input off. */
	model_run("avic=off snp=off tdp=off nested=off");
	ck_assert(!hh.enable_apicv);
	ck_assert(!hv_host_is_avic_enabled(&hh) && !hv_host_is_x2avic_enabled(&hh));
	ck_assert(!hh.snp);
	ck_assert(!hh.tdp && !hh.nested);
	model_run("avic=on tdp=off");
	ck_assert_msg(!hh.enable_apicv, "AVIC needs NPT");
	host_feature(X86_FEATURE_X2AVIC, false);
	host_feature(X86_FEATURE_SEV_SNP, false);
	host_feature(X86_FEATURE_ERAPS, false);
	model_run("avic=on snp=on");
	ck_assert(hh.enable_apicv);
	ck_assert(!hh.x2avic);
	ck_assert_msg(hv_host_is_avic_enabled(&hh) && !hv_host_is_x2avic_enabled(&hh) && hv_host_is_hybrid_avic(&hh),
		      "AVIC without the CPU's x2AVIC is hybrid");
	ck_assert_msg(!hh.snp, "SNP needs the CPU's SEV_SNP");
	ck_assert(!hh.host_eraps);
	host_feature(X86_FEATURE_AVIC, false);
	model_run("avic=on");
	ck_assert(!hh.enable_apicv);
}
END_TEST

START_TEST(test_host_from_model_intel)
{
	make_host(false, "amx_permitted=on");
	ck_assert_int_eq(hh.vendor, HV_VENDOR_INTEL);
	ck_assert(hh.enable_apicv);
	ck_assert_msg(!hv_host_is_avic_enabled(&hh) && !hv_host_is_x2avic_enabled(&hh), "APICv is not AVIC");
	ck_assert(!hh.x2avic && !hh.snp && !hh.host_eraps);
	ck_assert(hh.amx_permitted);
	ck_assert_int_eq(hh.host_maxphyaddr, 52);
	ck_assert(hh.supported_xcr0 & 0x7);
	/* Negative row: no 0x8000_0008 in KVM's CPUID gives the default 36. */
	for (size_t i = 0; i < res.record.supported.nent; i++)
		if (res.record.supported.entries[i].function == 0x80000008)
			res.record.supported.entries[i].function = 0x80000009;
	hv_host_from_model(&hh, &res, &params);
	ck_assert_int_eq(hh.host_maxphyaddr, 36);
}
END_TEST

/* ------------------------------------------------------------------ */
/* cpu_caps (§2 rules 1-7; invariants 21-24, 30). */

/*
 * 21/22.  Guest CPUID with every tracked register all ones: cpu_caps
 * stays inside the guest CPUID and inside KVM's caps plus the emulated
 * bits, except the holes (and, for 22, the runtime bits CR4 sets).
 */
static void check_caps_subsets(const struct hv_vcpu *v, bool allow_runtime)
{
	const struct caps *c = hv_vcpu_cpu_caps(v);
	struct caps_cpuid now;

	get_cpuid(v, &now);
	for (int w = 0; w < NR_CAPS_WORDS; w++) {
		const struct caps_word_info *wi = caps_word_info(w);
		const struct caps_cpuid_entry *e;
		uint32_t g, k;

		if (!word_is_tracked(w)) {
			ck_assert_msg(c->words[w] == 0, "%s is not tracked but has bits", wi->name);
			continue;
		}
		e = caps_cpuid_find(&now, wi->function, wi->index);
		g = e ? caps_cpuid_entry_reg(e, wi->reg) : 0;
		k = hh.kvm_cpu_caps.words[w] | emulated_word(w) | (allow_runtime ? runtime_bits(w) : 0);
		ck_assert_msg((c->words[w] & ~hole_bits(w) & ~g) == 0, "%s: caps %08x outside CPUID %08x",
			      wi->name, c->words[w], g);
		ck_assert_msg((c->words[w] & ~hole_bits(w) & ~k) == 0, "%s: caps %08x outside KVM %08x",
			      wi->name, c->words[w], k);
	}
}

START_TEST(test_cpu_caps_within_guest_cpuid_and_kvm_caps)
{
	struct hv_vcpu *v;
	struct hv_vm *vm;
	const char *why;

	make_host(_i, "");
	for (int w = 0; w < NR_CAPS_WORDS; w++) {
		const struct caps_word_info *wi = caps_word_info(w);

		for (size_t i = 0; i < guest.nent; i++) {
			struct caps_cpuid_entry *e = &guest.entries[i];

			if (word_is_tracked(w) && e->function == wi->function && e->index == wi->index)
				caps_cpuid_entry_set_reg(e, wi->reg, UINT32_MAX);
		}
	}
	vm = vm_with_vcpu(1, &v);
	check_caps_subsets(v, false);
	/* Negative rows: bits the guest asks for but KVM lacks stay out. */
	ck_assert(!caps_has(&hh.kvm_cpu_caps, X86_FEATURE_AVX512_VNNI));
	ck_assert(hv_guest_cpuid_has(v, X86_FEATURE_AVX512_VNNI));
	ck_assert(!cap(v, X86_FEATURE_AVX512_VNNI));
	ck_assert(cap(v, X86_FEATURE_AVX2));

	/* With CR4 setting the runtime bits, 22 holds once they are allowed for. */
	ck_assert_int_eq(hv_vcpu_set_cr4(v, (1ull << 18) | (1ull << 22)), 0);
	ck_assert(cap(v, X86_FEATURE_OSXSAVE));
	ck_assert(cap(v, X86_FEATURE_OSPKE));
	check_caps_subsets(v, true);
	hv_vm_free(vm);

	/* A guest without the registers has none of their features. */
	make_host(_i, "");
	guest_remove(7, 0);
	vm = vm_with_vcpu(1, &v);
	ck_assert(!cap(v, X86_FEATURE_AVX2));
	ck_assert(!cap(v, X86_FEATURE_SMEP));
	ck_assert(cap(v, X86_FEATURE_XMM2));
	ck_assert_int_eq(hv_vcpu_set_cpuid(v, NULL, 0, &why), 0);
	/* Nothing but the GBPAGES hole: with TDP the guest has the host's 1 GiB pages. */
	ck_assert(cap(v, X86_FEATURE_GBPAGES));
	ck_assert_uint_eq(caps_weight(hv_vcpu_cpu_caps(v)), 1);
	hv_vm_free(vm);
}
END_TEST

/* Partially emulated bits: MOVBE and MWAIT, RDPID with RDTSCP; never without the guest's CPUID. */
START_TEST(test_cpu_caps_emulated_bits)
{
	struct hv_vcpu *v;
	struct hv_vm *vm;

	make_host(true, "");
	caps_clear(&hh.kvm_cpu_caps, X86_FEATURE_MOVBE);
	caps_clear(&hh.kvm_cpu_caps, X86_FEATURE_RDPID);
	guest_feature(X86_FEATURE_MOVBE, true);
	guest_feature(X86_FEATURE_MWAIT, true);
	guest_feature(X86_FEATURE_RDPID, true);
	vm = vm_with_vcpu(1, &v);
	ck_assert(cap(v, X86_FEATURE_MOVBE));
	ck_assert(cap(v, X86_FEATURE_MWAIT));
	ck_assert_msg(cap(v, X86_FEATURE_RDPID), "RDPID is emulated when KVM has RDTSCP");
	hv_vm_free(vm);

	/* Negative rows: RDPID without RDTSCP; none of them without the guest bit. */
	caps_clear(&hh.kvm_cpu_caps, X86_FEATURE_RDTSCP);
	vm = vm_with_vcpu(1, &v);
	ck_assert(!cap(v, X86_FEATURE_RDPID));
	ck_assert(cap(v, X86_FEATURE_MOVBE));
	hv_vm_free(vm);
	guest_feature(X86_FEATURE_MOVBE, false);
	guest_feature(X86_FEATURE_MWAIT, false);
	vm = vm_with_vcpu(1, &v);
	ck_assert(!cap(v, X86_FEATURE_MOVBE));
	ck_assert(!cap(v, X86_FEATURE_MWAIT));
	hv_vm_free(vm);
}
END_TEST

/* Words KVM never initialises, and words it does not track, stay 0. */
START_TEST(test_cpu_caps_untracked_words_stay_zero)
{
	static const enum caps_word never[] = { CPUID_6_EAX, CPUID_8000_0007_EBX, CPUID_8086_0001_EDX };
	struct caps_cpuid_entry extra = { .function = 0x80860001, .ebx = 0, .edx = UINT32_MAX };
	struct hv_vcpu *v;
	struct hv_vm *vm;

	make_host(false, "");
	for (size_t i = 0; i < ARRAY_SIZE(never); i++)
		hh.kvm_cpu_caps.words[never[i]] = UINT32_MAX;
	hh.kvm_cpu_caps.words[CPUID_14_0_EBX] = UINT32_MAX;
	guest_find(6, 0)->eax = UINT32_MAX;
	guest_find(0x80000007, 0)->ebx = UINT32_MAX;
	ck_assert_int_eq(caps_cpuid_add(&guest, &extra), 0);
	vm = vm_with_vcpu(1, &v);
	for (size_t i = 0; i < ARRAY_SIZE(never); i++)
		ck_assert_uint_eq(hv_vcpu_cpu_caps(v)->words[never[i]], 0);
	ck_assert_uint_eq(hv_vcpu_cpu_caps(v)->words[CPUID_14_0_EBX], 0);
	/* set/clear/change only reach tracked words. */
	hv_guest_cpu_cap_set(v, X86_FEATURE_VMX_EPT_AD);
	ck_assert(!cap(v, X86_FEATURE_VMX_EPT_AD));
	ck_assert(!cap(v, -1));
	ck_assert(!cap(v, CAPS_NR_FEATURE_IDS));
	/* Negative row: a tracked word next to them is filled. */
	ck_assert_uint_ne(hv_vcpu_cpu_caps(v)->words[CPUID_1_ECX], 0);
	hv_vm_free(vm);
}
END_TEST

/* set/clear/change touch cpu_caps only, never the CPUID entries (guest_cpuid_has). */
START_TEST(test_cpu_caps_accessors_leave_cpuid_alone)
{
	struct caps_cpuid before, after;
	struct hv_vcpu *v;
	struct hv_vm *vm;

	make_host(true, "");
	vm = vm_with_vcpu(1, &v);
	get_cpuid(v, &before);
	ck_assert(cap(v, X86_FEATURE_AVX2));
	hv_guest_cpu_cap_clear(v, X86_FEATURE_AVX2);
	ck_assert(!cap(v, X86_FEATURE_AVX2));
	ck_assert(hv_guest_cpuid_has(v, X86_FEATURE_AVX2));
	hv_guest_cpu_cap_change(v, X86_FEATURE_AVX2, true);
	ck_assert(cap(v, X86_FEATURE_AVX2));
	ck_assert(!hv_guest_cpuid_has(v, X86_FEATURE_AVX512_VNNI));
	hv_guest_cpu_cap_set(v, X86_FEATURE_AVX512_VNNI);
	ck_assert(cap(v, X86_FEATURE_AVX512_VNNI));
	ck_assert(!hv_guest_cpuid_has(v, X86_FEATURE_AVX512_VNNI));
	get_cpuid(v, &after);
	ck_assert(caps_cpuid_equal(&before, &after));
	hv_vm_free(vm);
}
END_TEST

/* 23. With TDP the guest has GBPAGES iff the host does, whatever its CPUID. */
START_TEST(test_cpu_caps_gbpages_hole)
{
	static const struct {
		const char *params;
		bool host_gbpages, guest_gbpages, want;
	} rows[] = {
		{ "tdp=on",  true,  false, true },	/* the hole */
		{ "tdp=on",  true,  true,  true },
		{ "tdp=on",  false, true,  false },	/* no host 1 GiB pages */
		{ "tdp=off", true,  false, false },	/* shadow paging honours CPUID */
		{ "tdp=off", true,  true,  true },
	};

	for (size_t i = 0; i < ARRAY_SIZE(rows); i++) {
		struct hv_vcpu *v;
		struct hv_vm *vm;

		_i ? host_amd() : host_intel();
		host_feature(X86_FEATURE_GBPAGES, rows[i].host_gbpages);
		model_run(rows[i].params);
		guest = res.record.supported;
		guest_feature(X86_FEATURE_GBPAGES, rows[i].guest_gbpages);
		vm = vm_with_vcpu(1, &v);
		ck_assert_msg(cap(v, X86_FEATURE_GBPAGES) == rows[i].want, "row %zu", i);
		ck_assert(hv_guest_cpuid_has(v, X86_FEATURE_GBPAGES) == rows[i].guest_gbpages);
		hv_vm_free(vm);
	}
}
END_TEST

/* 24. SVM: XSAVES = host XSAVES && guest XSAVE; VMX: XSAVES needs XSAVE. */
START_TEST(test_cpu_caps_xsaves_hole)
{
	static const struct {
		bool amd, host_xsaves, guest_xsave, guest_xsaves, want;
	} rows[] = {
		{ true,  true,  true,  false, true },	/* the hole: CPUID hides it */
		{ true,  true,  true,  true,  true },
		{ true,  true,  false, true,  false },	/* no XSAVE, no XSAVES */
		{ true,  false, true,  true,  false },	/* no host XSAVES */
		{ false, true,  true,  false, false },	/* VMX can intercept XSAVES */
		{ false, true,  true,  true,  true },
		{ false, true,  false, true,  false },	/* VMX clears XSAVES without XSAVE */
	};

	for (size_t i = 0; i < ARRAY_SIZE(rows); i++) {
		struct hv_vcpu *v;
		struct hv_vm *vm;

		make_host(rows[i].amd, "");
		if (!rows[i].host_xsaves)
			caps_clear(&hh.kvm_cpu_caps, X86_FEATURE_XSAVES);
		guest_feature(X86_FEATURE_XSAVE, rows[i].guest_xsave);
		guest_feature(X86_FEATURE_XSAVES, rows[i].guest_xsaves);
		vm = vm_with_vcpu(1, &v);
		ck_assert_msg(cap(v, X86_FEATURE_XSAVES) == rows[i].want, "row %zu", i);
		/* guest_cpuid_has() reads the entry userspace gave. */
		ck_assert(hv_guest_cpuid_has(v, X86_FEATURE_XSAVES) == rows[i].guest_xsaves);
		hv_vm_free(vm);
	}
}
END_TEST

/* SVM clears V_VMSAVE_VMLOAD for a guest that is not AMD-compatible. */
START_TEST(test_cpu_caps_v_vmsave_vmload_needs_amd_guest)
{
	struct hv_vcpu *v;
	struct hv_vm *vm;

	make_host(true, "");
	vm = vm_with_vcpu(1, &v);
	ck_assert(cap(v, X86_FEATURE_V_VMSAVE_VMLOAD));
	hv_vm_free(vm);
	/* An Intel vendor string. */
	guest_find(0, 0)->ebx = 0x756e6547;
	guest_find(0, 0)->edx = 0x49656e69;
	guest_find(0, 0)->ecx = 0x6c65746e;
	vm = vm_with_vcpu(1, &v);
	ck_assert(!cap(v, X86_FEATURE_V_VMSAVE_VMLOAD));
	ck_assert(hv_guest_cpuid_has(v, X86_FEATURE_V_VMSAVE_VMLOAD));
	hv_vm_free(vm);
}
END_TEST

/* Runtime bits update both the entry and cpu_caps; MWAIT keeps the quirk. */
START_TEST(test_cpu_caps_runtime_bits)
{
	struct hv_vcpu *v;
	struct hv_vm *vm;

	make_host(_i, "");
	guest_feature(X86_FEATURE_OSXSAVE, true);	/* KVM owns it: dropped at RESET's CR4 */
	guest_feature(X86_FEATURE_MWAIT, true);
	vm = vm_with_vcpu(1, &v);
	ck_assert(!cap(v, X86_FEATURE_OSXSAVE));
	ck_assert(!hv_guest_cpuid_has(v, X86_FEATURE_OSXSAVE));
	ck_assert(cap(v, X86_FEATURE_APIC));
	ck_assert(hv_guest_cpuid_has(v, X86_FEATURE_APIC));
	ck_assert_int_eq(hv_vcpu_set_cr4(v, (1ull << 18) | (1ull << 22)), 0);
	ck_assert(cap(v, X86_FEATURE_OSXSAVE) && hv_guest_cpuid_has(v, X86_FEATURE_OSXSAVE));
	ck_assert(cap(v, X86_FEATURE_OSPKE) && hv_guest_cpuid_has(v, X86_FEATURE_OSPKE));
	ck_assert_int_eq(hv_vcpu_set_apic_base(v, HV_APIC_BASE_DEFAULT | HV_APIC_BASE_BSP, false), 0);
	ck_assert(!cap(v, X86_FEATURE_APIC) && !hv_guest_cpuid_has(v, X86_FEATURE_APIC));
	ck_assert_int_eq(hv_vcpu_set_cr4(v, 0), 0);
	ck_assert(!cap(v, X86_FEATURE_OSXSAVE) && !hv_guest_cpuid_has(v, X86_FEATURE_OSXSAVE));
	ck_assert(!cap(v, X86_FEATURE_OSPKE));
	/* Negative row: MWAIT follows nothing while the quirk is on. */
	ck_assert(cap(v, X86_FEATURE_MWAIT) && hv_guest_cpuid_has(v, X86_FEATURE_MWAIT));
	/* INIT clears CR4 and with it OSXSAVE. */
	ck_assert_int_eq(hv_vcpu_set_cr4(v, 1ull << 18), 0);
	hv_vcpu_init(v);
	ck_assert(!cap(v, X86_FEATURE_OSXSAVE));
	ck_assert_uint_eq(hv_vcpu_cr4(v), 0);
	hv_vm_free(vm);
}
END_TEST

/* 30. The lookup rule: no SIGNIFICANT_INDEX matches any index; with it, only its own. */
START_TEST(test_cpu_caps_lookup_rule)
{
	static const struct {
		uint32_t flags, index;
		bool want;
	} rows[] = {
		{ 0, 0, true },
		{ 0, 5, true },						/* any index */
		{ CAPS_CPUID_FLAG_SIGNIFICANT_INDEX, 0, true },
		{ CAPS_CPUID_FLAG_SIGNIFICANT_INDEX, 5, false },	/* only its own */
	};

	make_host(false, "");
	for (size_t i = 0; i < ARRAY_SIZE(rows); i++) {
		struct caps_cpuid_entry e[3] = {
			{ .function = 1, .ecx = caps_feature_mask(X86_FEATURE_XSAVE),
			  .edx = caps_feature_mask(X86_FEATURE_FPU) },
			{ .function = 7, .index = rows[i].index, .flags = rows[i].flags,
			  .ebx = caps_feature_mask(X86_FEATURE_AVX2) },
			/* A duplicate: the first match wins. */
			{ .function = 1, .ecx = caps_feature_mask(X86_FEATURE_AVX) },
		};
		struct hv_vm *vm = NULL;
		struct hv_vcpu *v;

		ck_assert_int_eq(hv_vm_new(&hh, 1, NULL, &vm), 0);
		ck_assert_int_eq(hv_vcpu_create(vm, 0, &v), 0);
		ck_assert_int_eq(hv_vcpu_set_cpuid(v, e, ARRAY_SIZE(e), NULL), 0);
		ck_assert_msg(cap(v, X86_FEATURE_AVX2) == rows[i].want, "row %zu", i);
		ck_assert(hv_guest_cpuid_has(v, X86_FEATURE_AVX2) == rows[i].want);
		ck_assert(cap(v, X86_FEATURE_XSAVE));
		ck_assert(!cap(v, X86_FEATURE_AVX));
		hv_vm_free(vm);
	}
}
END_TEST

/* Derived state: guest_supported_xcr0 and cr4_guest_rsvd_bits. */
START_TEST(test_vcpu_derived_xcr0)
{
	struct hv_vcpu *v;
	struct hv_vm *vm;

	make_host(true, "");
	guest_find(0xd, 0)->eax = 0x2e7 | (1u << 3);	/* MPX state, not supported */
	guest_find(0xd, 0)->edx = 1;			/* bit 32 */
	vm = vm_with_vcpu(1, &v);
	ck_assert_uint_eq(hv_vcpu_guest_supported_xcr0(v), 0x2e7);
	hv_vm_free(vm);
	/* Negative row: no 0xD.0, no XCR0 bits. */
	guest_remove(0xd, 0);
	vm = vm_with_vcpu(1, &v);
	ck_assert_uint_eq(hv_vcpu_guest_supported_xcr0(v), 0);
	hv_vm_free(vm);
}
END_TEST

START_TEST(test_vcpu_cr4_reserved_bits)
{
	/* The CR4 bits hvcore models, each with the feature that frees it. */
	static const struct {
		int bit;
		int feature;
	} rows[] = {
		{ 18, X86_FEATURE_XSAVE }, { 20, X86_FEATURE_SMEP }, { 21, X86_FEATURE_SMAP },
		{ 16, X86_FEATURE_FSGSBASE }, { 22, X86_FEATURE_PKU }, { 12, X86_FEATURE_LA57 },
		{ 11, X86_FEATURE_UMIP }, { 13, X86_FEATURE_VMX }, { 17, X86_FEATURE_PCID },
		{ 28, X86_FEATURE_LAM },
	};
	struct hv_vcpu *v;
	struct hv_vm *vm;
	uint64_t rsvd;

	make_host(false, "");
	vm = vm_with_vcpu(1, &v);
	rsvd = hv_vcpu_cr4_guest_rsvd_bits(v);
	for (size_t i = 0; i < ARRAY_SIZE(rows); i++)
		ck_assert_msg(!(rsvd & (1ull << rows[i].bit)), "CR4 bit %d reserved with the feature", rows[i].bit);
	/* Never known to KVM: SMXE (14), KL (19), PKS (24), FRED (32). */
	ck_assert(rsvd & (1ull << 14));
	ck_assert(rsvd & (1ull << 19));
	ck_assert(rsvd & (1ull << 24));
	ck_assert(rsvd & (1ull << 32));
	ck_assert(!(rsvd & 0x7ff & ~(1ull << 11)));	/* VME..OSXMMEXCPT */
	hv_vm_free(vm);

	/* Negative rows: a guest without the feature has the bit reserved. */
	for (size_t i = 0; i < ARRAY_SIZE(rows); i++) {
		make_host(false, "");
		guest_feature(rows[i].feature, false);
		vm = vm_with_vcpu(1, &v);
		ck_assert_msg(hv_vcpu_cr4_guest_rsvd_bits(v) & (1ull << rows[i].bit), "CR4 bit %d", rows[i].bit);
		ck_assert_int_eq(hv_vcpu_set_cr4(v, 1ull << rows[i].bit), -EINVAL);
		hv_vm_free(vm);
	}
	/* CET: reserved only without both SHSTK and IBT. */
	make_host(false, "");
	guest_feature(X86_FEATURE_SHSTK, false);
	vm = vm_with_vcpu(1, &v);
	ck_assert(!(hv_vcpu_cr4_guest_rsvd_bits(v) & (1ull << 23)));
	hv_vm_free(vm);
	guest_feature(X86_FEATURE_IBT, false);
	vm = vm_with_vcpu(1, &v);
	ck_assert(hv_vcpu_cr4_guest_rsvd_bits(v) & (1ull << 23));
	hv_vm_free(vm);
	/*
	 * The KVM half: a feature KVM lacks is reserved whatever the guest
	 * says.  (cpu_caps never holds a CR4-gating feature KVM lacks, so
	 * the guest half alone gives the same mask; the row pins the result.)
	 */
	make_host(false, "");
	caps_clear(&hh.kvm_cpu_caps, X86_FEATURE_UMIP);
	vm = vm_with_vcpu(1, &v);
	ck_assert(hv_vcpu_cr4_guest_rsvd_bits(v) & (1ull << 11));
	hv_vm_free(vm);
}
END_TEST

/* ------------------------------------------------------------------ */
/* KVM_SET_CPUID2 / KVM_GET_CPUID2 (invariants 25-29). */

struct snapshot {
	struct caps_cpuid cpuid;
	struct caps caps;
};

static void snap(const struct hv_vcpu *v, struct snapshot *s)
{
	memset(s, 0, sizeof(*s));
	get_cpuid(v, &s->cpuid);
	s->caps = *hv_vcpu_cpu_caps(v);
}

static void assert_unchanged(const struct hv_vcpu *v, const struct snapshot *s)
{
	struct snapshot now;

	snap(v, &now);
	ck_assert_uint_eq(now.cpuid.nent, s->cpuid.nent);
	ck_assert_int_eq(memcmp(now.cpuid.entries, s->cpuid.entries, s->cpuid.nent * sizeof(s->cpuid.entries[0])), 0);
	ck_assert_int_eq(memcmp(&now.caps, &s->caps, sizeof(now.caps)), 0);
}

/* 25. nent > 256 is -E2BIG before anything; 256 is fine. */
START_TEST(test_set_cpuid_e2big_changes_nothing)
{
	static struct caps_cpuid_entry big[CAPS_CPUID_MAX_ENTRIES + 1];
	static struct snapshot before;
	struct hv_vcpu *v;
	struct hv_vm *vm;
	const char *why = NULL;

	make_host(true, "");
	vm = vm_with_vcpu(1, &v);
	snap(v, &before);
	for (size_t i = 0; i < ARRAY_SIZE(big); i++)
		big[i] = (struct caps_cpuid_entry) { .function = 0x40000000 + (uint32_t)i };
	ck_assert_int_eq(hv_vcpu_set_cpuid(v, big, ARRAY_SIZE(big), &why), -E2BIG);
	ck_assert_ptr_nonnull(why);
	assert_unchanged(v, &before);
	/* Negative row: 256 entries are accepted. */
	why = NULL;
	ck_assert_int_eq(hv_vcpu_set_cpuid(v, big, CAPS_CPUID_MAX_ENTRIES, &why), 0);
	ck_assert_ptr_null(why);
	hv_vm_free(vm);
}
END_TEST

/* 26. A kvm_check_cpuid() failure leaves GET_CPUID2 and cpu_caps byte-for-byte unchanged. */
START_TEST(test_set_cpuid_failure_is_transactional)
{
	static const struct {
		uint32_t vaddr_bits;
		int want;
	} rows[] = {
		{ 40, -EINVAL }, { 39, -EINVAL }, { 52, -EINVAL }, { 64, -EINVAL },
		{ 0, 0 }, { 48, 0 }, { 57, 0 },
	};
	static struct snapshot before;

	for (size_t i = 0; i < ARRAY_SIZE(rows); i++) {
		struct caps_cpuid_entry *e;
		struct hv_vcpu *v;
		struct hv_vm *vm;
		const char *why = NULL;

		make_host(_i, "");
		vm = vm_with_vcpu(1, &v);
		snap(v, &before);
		e = guest_find(0x80000008, 0);
		e->eax = (e->eax & ~0xff00u) | rows[i].vaddr_bits << 8;
		guest_feature(X86_FEATURE_AVX2, false);	/* a change that would show */
		ck_assert_int_eq(hv_vcpu_set_cpuid(v, guest.entries, guest.nent, &why), rows[i].want);
		if (rows[i].want) {
			ck_assert_ptr_nonnull(why);
			ck_assert_ptr_nonnull(strstr(why, "linear address"));
			assert_unchanged(v, &before);
			ck_assert(cap(v, X86_FEATURE_AVX2));
		} else {
			ck_assert(!cap(v, X86_FEATURE_AVX2));
		}
		hv_vm_free(vm);
	}
}
END_TEST

/* 27. After KVM_RUN: identical is accepted; any change is -EINVAL, never -EBUSY. */
enum mutation {
	MUT_NONE, MUT_REGISTER, MUT_FLAGS, MUT_INDEX, MUT_ORDER, MUT_ADD, MUT_REMOVE,
	MUT_OSXSAVE, MUT_APIC, MUT_OSPKE, MUT_XSAVE_SIZES, NR_MUTATIONS,
};

static void mutate(struct caps_cpuid *c, enum mutation m)
{
	struct caps_cpuid_entry *e;

	switch (m) {
	case MUT_NONE:
		break;
	case MUT_REGISTER:
		c->entries[1].ecx ^= caps_feature_mask(X86_FEATURE_AVX);
		break;
	case MUT_FLAGS:
		c->entries[0].flags ^= CAPS_CPUID_FLAG_STATEFUL_FUNC;
		break;
	case MUT_INDEX:
		e = (struct caps_cpuid_entry *)caps_cpuid_find(c, 7, 1);
		e->index = 3;
		break;
	case MUT_ORDER: {
		struct caps_cpuid_entry t = c->entries[0];

		c->entries[0] = c->entries[1];
		c->entries[1] = t;
		break;
	}
	case MUT_ADD:
		c->entries[c->nent++] = (struct caps_cpuid_entry) { .function = 0x40000010 };
		break;
	case MUT_REMOVE:
		c->nent--;
		break;
	case MUT_OSXSAVE:
		entry_feature((struct caps_cpuid_entry *)caps_cpuid_find(c, 1, 0), X86_FEATURE_OSXSAVE, true);
		break;
	case MUT_APIC:
		entry_feature((struct caps_cpuid_entry *)caps_cpuid_find(c, 1, 0), X86_FEATURE_APIC, false);
		break;
	case MUT_OSPKE:
		entry_feature((struct caps_cpuid_entry *)caps_cpuid_find(c, 7, 0), X86_FEATURE_OSPKE, true);
		break;
	case MUT_XSAVE_SIZES:
		((struct caps_cpuid_entry *)caps_cpuid_find(c, 0xd, 0))->ebx = 0x988;
		((struct caps_cpuid_entry *)caps_cpuid_find(c, 0xd, 1))->ebx = 0x1234;
		break;
	case NR_MUTATIONS:
		break;
	}
}

START_TEST(test_set_cpuid_after_run_identical_only)
{
	static const int want[NR_MUTATIONS] = {
		[MUT_NONE] = 0, [MUT_REGISTER] = -EINVAL, [MUT_FLAGS] = -EINVAL, [MUT_INDEX] = -EINVAL,
		[MUT_ORDER] = -EINVAL, [MUT_ADD] = -EINVAL, [MUT_REMOVE] = -EINVAL,
		/* KVM-owned bits are normalised before the comparison. */
		[MUT_OSXSAVE] = 0, [MUT_APIC] = 0, [MUT_OSPKE] = 0, [MUT_XSAVE_SIZES] = 0,
	};
	static struct snapshot before;
	static struct caps_cpuid c;
	enum mutation m = (enum mutation)_i;
	struct hv_vcpu *v;
	struct hv_vm *vm;
	const char *why = NULL;

	make_host(false, "");
	vm = vm_with_vcpu(1, &v);
	ck_assert_int_eq(hv_vcpu_run(v, NULL), 0);
	ck_assert(hv_vcpu_has_run(v));
	snap(v, &before);
	c = before.cpuid;
	mutate(&c, m);
	ck_assert_int_eq(hv_vcpu_set_cpuid(v, c.entries, c.nent, &why), want[m]);
	ck_assert_int_ne(want[m], -EBUSY);
	if (want[m])
		ck_assert_ptr_nonnull(strstr(why, "has run"));
	assert_unchanged(v, &before);
	hv_vm_free(vm);
}
END_TEST

/*
 * 26/27.  After the run, the comparison first applies the runtime bits to
 * the incoming entries, which changes cpu_caps; a mismatch must restore
 * them.  A vCPU whose CPUID lacks leaf 1 has no APIC cap; an incoming
 * leaf 1 would get APIC from APIC_BASE.EN.
 */
START_TEST(test_set_cpuid_after_run_failure_restores_caps)
{
	static struct snapshot before;
	struct hv_vcpu *v;
	struct hv_vm *vm;

	make_host(false, "");
	guest_remove(1, 0);
	vm = vm_with_vcpu(1, &v);
	ck_assert(!cap(v, X86_FEATURE_APIC));
	ck_assert_int_eq(hv_vcpu_run(v, NULL), 0);
	snap(v, &before);
	make_host(false, "");
	ck_assert_int_eq(hv_vcpu_set_cpuid(v, guest.entries, guest.nent, NULL), -EINVAL);
	assert_unchanged(v, &before);
	ck_assert(!cap(v, X86_FEATURE_APIC));
	hv_vm_free(vm);
}
END_TEST

/* Before the run, the same changes are simply taken. */
START_TEST(test_set_cpuid_before_run_takes_changes)
{
	static struct caps_cpuid c, now;
	struct hv_vcpu *v;
	struct hv_vm *vm;

	make_host(false, "");
	vm = vm_with_vcpu(1, &v);
	get_cpuid(v, &c);
	mutate(&c, MUT_ORDER);
	mutate(&c, MUT_REGISTER);
	ck_assert_int_eq(hv_vcpu_set_cpuid(v, c.entries, c.nent, NULL), 0);
	get_cpuid(v, &now);
	ck_assert(caps_cpuid_equal(&c, &now));
	ck_assert(!hv_vcpu_has_run(v));
	hv_vm_free(vm);
}
END_TEST

/* 28. GET_CPUID2 with too small a buffer. */
START_TEST(test_get_cpuid_too_small)
{
	static struct caps_cpuid_entry buf[CAPS_CPUID_MAX_ENTRIES];
	struct hv_vcpu *v;
	struct hv_vm *vm;
	uint32_t n;

	make_host(true, "");
	vm = vm_with_vcpu(1, &v);
	n = (uint32_t)guest.nent - 1;
	ck_assert_int_eq(hv_vcpu_get_cpuid(v, buf, &n), -E2BIG);
	ck_assert_uint_eq(n, guest.nent - 1);
	n = 0;
	ck_assert_int_eq(hv_vcpu_get_cpuid(v, buf, &n), -E2BIG);
	/* Negative rows: exactly enough, and more. */
	n = (uint32_t)guest.nent;
	ck_assert_int_eq(hv_vcpu_get_cpuid(v, buf, &n), 0);
	ck_assert_uint_eq(n, guest.nent);
	n = CAPS_CPUID_MAX_ENTRIES;
	ck_assert_int_eq(hv_vcpu_get_cpuid(v, buf, &n), 0);
	ck_assert_uint_eq(n, guest.nent);
	/* The count alone, without a buffer. */
	ck_assert_uint_eq(hv_vcpu_cpuid_nent(v), guest.nent);
	/* An empty CPUID fits anything. */
	ck_assert_int_eq(hv_vcpu_set_cpuid(v, NULL, 0, NULL), 0);
	n = 0;
	ck_assert_int_eq(hv_vcpu_get_cpuid(v, buf, &n), 0);
	ck_assert_uint_eq(n, 0);
	ck_assert_uint_eq(hv_vcpu_cpuid_nent(v), 0);
	hv_vm_free(vm);
}
END_TEST

/* 29. AMX tile data in 0xD.0 needs ARCH_REQ_XCOMP_GUEST_PERM. */
START_TEST(test_set_cpuid_amx_needs_permission)
{
	static struct snapshot before;
	struct hv_vcpu *v;
	struct hv_vm *vm;
	const char *why = NULL;

	make_host(false, "");
	vm = vm_with_vcpu(1, &v);
	snap(v, &before);
	guest_find(0xd, 0)->eax |= 3u << 17;
	ck_assert_int_eq(hv_vcpu_set_cpuid(v, guest.entries, guest.nent, &why), -EPERM);
	ck_assert_ptr_nonnull(strstr(why, "AMX"));
	assert_unchanged(v, &before);
	hv_vm_free(vm);
	/* Negative rows: with the permission; tile config alone. */
	hh.amx_permitted = true;
	vm = vm_with_vcpu(1, &v);
	hv_vm_free(vm);
	hh.amx_permitted = false;
	guest_find(0xd, 0)->eax &= ~(1u << 18);
	vm = vm_with_vcpu(1, &v);
	hv_vm_free(vm);
}
END_TEST

/* nent == 0 is legal: no caps, default MAXPHYADDR. */
START_TEST(test_set_cpuid_empty)
{
	struct hv_vcpu *v;
	struct hv_vm *vm;

	make_host(true, "");
	vm = vm_with_vcpu(1, &v);
	ck_assert_int_eq(hv_vcpu_set_cpuid(v, NULL, 0, NULL), 0);
	ck_assert_int_eq(hv_vcpu_maxphyaddr(v), 36);
	ck_assert_uint_eq(hv_vcpu_guest_supported_xcr0(v), 0);
	/* Only the GBPAGES hole (TDP): SVM's XSAVES hole needs the guest's XSAVE. */
	ck_assert(cap(v, X86_FEATURE_GBPAGES));
	ck_assert(!cap(v, X86_FEATURE_XSAVES));
	ck_assert_uint_eq(caps_weight(hv_vcpu_cpu_caps(v)), 1);
	hv_vm_free(vm);
	/* Negative row: without TDP, an empty CPUID means no capability at all. */
	make_host(true, "tdp=off");
	vm = vm_with_vcpu(1, &v);
	ck_assert_int_eq(hv_vcpu_set_cpuid(v, NULL, 0, NULL), 0);
	ck_assert(caps_is_empty(hv_vcpu_cpu_caps(v)));
	/* Negative row: NULL with entries is a copy fault. */
	ck_assert_int_eq(hv_vcpu_set_cpuid(v, NULL, 1, NULL), -EFAULT);
	hv_vm_free(vm);
}
END_TEST

/* ------------------------------------------------------------------ */
/* ERAPS (invariants 17-20, §3(c)). */

/* An ERAPS host (SVM, 7.0) and a guest with or without ERAPS. */
static struct hv_vm *eraps_vm(bool guest_eraps, struct hv_vcpu **ret)
{
	make_host(true, "kernel=7.0");
	ck_assert(caps_has(&hh.kvm_cpu_caps, X86_FEATURE_ERAPS));
	guest_feature(X86_FEATURE_ERAPS, guest_eraps);
	return vm_with_vcpu(4, ret);
}

static uint8_t run(struct hv_vcpu *v)
{
	uint8_t ctl = 0xff;

	ck_assert_int_eq(hv_vcpu_run(v, &ctl), 0);
	return ctl;
}

/* 17. A guest without ERAPS never gets either bit, whatever happens. */
START_TEST(test_eraps_no_bits_without_guest_eraps)
{
	bool with = _i;
	struct hv_vcpu *v;
	struct hv_vm *vm = eraps_vm(with, &v);
	uint8_t seen = 0, ctl;

	ck_assert(cap(v, X86_FEATURE_ERAPS) == with);
	hv_vcpu_init(v);
	seen |= run(v);
	ck_assert_int_eq(hv_vcpu_set_cr3(v, 0x1000), 0);
	hv_vcpu_flush_tlb_guest(v);
	seen |= run(v);
	ck_assert_int_eq(hv_vcpu_nested_run(v, 0xff, &ctl), 0);
	seen |= ctl | run(v);
	ck_assert_int_eq(hv_vcpu_nested_exit(v), 0);
	seen |= hv_vcpu_vmcb01_erap_ctl(v) | hv_vcpu_vmcb02_erap_ctl(v);
	seen |= run(v);
	hv_vcpu_init(v);
	seen |= hv_vcpu_vmcb01_erap_ctl(v) | hv_vcpu_vmcb02_erap_ctl(v);
	if (with) {
		/* Negative row: the same story with ERAPS sets both. */
		ck_assert_uint_eq(seen & (ERAP_CONTROL_ALLOW_LARGER_RAP | ERAP_CONTROL_CLEAR_RAP),
				  ERAP_CONTROL_ALLOW_LARGER_RAP | ERAP_CONTROL_CLEAR_RAP);
	} else {
		ck_assert_uint_eq(seen, 0);
		ck_assert(!hv_vcpu_is_full_rap_size_enabled(v));
	}
	hv_vm_free(vm);
}
END_TEST

/* 18. After every VMRUN on an ERAPS host, CLEAR_RAP is clear in the VMCB that ran. */
START_TEST(test_eraps_clear_rap_cleared_after_run)
{
	struct hv_vcpu *v;
	struct hv_vm *vm = eraps_vm(true, &v);
	uint8_t ctl;

	hv_vcpu_flush_tlb_guest(v);
	ck_assert(run(v) & ERAP_CONTROL_CLEAR_RAP);
	ck_assert(!(hv_vcpu_vmcb01_erap_ctl(v) & ERAP_CONTROL_CLEAR_RAP));
	ck_assert_int_eq(hv_vcpu_nested_run(v, 0, &ctl), 0);
	ck_assert(run(v) & ERAP_CONTROL_CLEAR_RAP);
	ck_assert(!(hv_vcpu_vmcb02_erap_ctl(v) & ERAP_CONTROL_CLEAR_RAP));
	ck_assert_int_eq(hv_vcpu_nested_exit(v), 0);
	ck_assert(run(v) & ERAP_CONTROL_CLEAR_RAP);
	ck_assert(!(hv_vcpu_vmcb01_erap_ctl(v) & ERAP_CONTROL_CLEAR_RAP));
	hv_vm_free(vm);

	/*
	 * Negative row: KVM clears the bit only when the host has ERAPS
	 * (a host record claiming KVM's ERAPS without it is inconsistent,
	 * and shows the gate).
	 */
	hh.host_eraps = false;
	vm = vm_with_vcpu(1, &v);
	hv_vcpu_flush_tlb_guest(v);
	ck_assert(run(v) & ERAP_CONTROL_CLEAR_RAP);
	ck_assert(hv_vcpu_vmcb01_erap_ctl(v) & ERAP_CONTROL_CLEAR_RAP);
	hv_vm_free(vm);
}
END_TEST

/* 19. Nested VMRUN: vmcb02 = (vmcb12 & ALLOW_LARGER_RAP) | CLEAR_RAP; #VMEXIT flushes L1's RAP. */
START_TEST(test_eraps_nested_transitions)
{
	static const uint8_t vmcb12[] = { 0, 1, 2, 3, 0xfe, 0xff };

	for (size_t i = 0; i < ARRAY_SIZE(vmcb12); i++) {
		struct hv_vcpu *v;
		struct hv_vm *vm = eraps_vm(true, &v);
		uint8_t ctl = 0;

		run(v);
		ck_assert(!(hv_vcpu_vmcb01_erap_ctl(v) & ERAP_CONTROL_CLEAR_RAP));
		ck_assert_int_eq(hv_vcpu_nested_run(v, vmcb12[i], &ctl), 0);
		ck_assert_uint_eq(ctl, (vmcb12[i] & 1) | 2);
		ck_assert_uint_eq(hv_vcpu_vmcb02_erap_ctl(v), (vmcb12[i] & 1) | 2);
		ck_assert(hv_vcpu_is_guest_mode(v));
		ck_assert(hv_vcpu_is_full_rap_size_enabled(v) == (vmcb12[i] & 1));
		ck_assert_int_eq(hv_vcpu_nested_exit(v), 0);
		ck_assert(hv_vcpu_vmcb01_erap_ctl(v) & ERAP_CONTROL_CLEAR_RAP);
		ck_assert(!hv_vcpu_is_guest_mode(v));
		hv_vm_free(vm);
	}

	/* Negative row: L1 without ERAPS leaves both VMCBs alone. */
	{
		struct hv_vcpu *v;
		struct hv_vm *vm = eraps_vm(false, &v);
		uint8_t ctl = 0xff;

		ck_assert_int_eq(hv_vcpu_nested_run(v, 3, &ctl), 0);
		ck_assert_uint_eq(ctl, 0);
		ck_assert_int_eq(hv_vcpu_nested_exit(v), 0);
		ck_assert_uint_eq(hv_vcpu_vmcb01_erap_ctl(v), 0);
		hv_vm_free(vm);
	}
}
END_TEST

/* Nested transitions need nested virtualization and the right mode. */
START_TEST(test_eraps_nested_preconditions)
{
	struct hv_vcpu *v;
	struct hv_vm *vm = eraps_vm(true, &v);
	uint8_t ctl;

	ck_assert_int_eq(hv_vcpu_nested_exit(v), -EINVAL);
	ck_assert_int_eq(hv_vcpu_nested_run(v, 0, &ctl), 0);
	ck_assert_int_eq(hv_vcpu_nested_run(v, 0, &ctl), -EINVAL);
	/* INIT leaves L2 without a #VMEXIT to L1. */
	hv_vcpu_init(v);
	ck_assert(!hv_vcpu_is_guest_mode(v));
	hv_vm_free(vm);
	/* Without SVM in the guest, or without nested, no VMRUN. */
	make_host(true, "");
	guest_feature(X86_FEATURE_SVM, false);
	vm = vm_with_vcpu(1, &v);
	ck_assert_int_eq(hv_vcpu_nested_run(v, 0, &ctl), -EINVAL);
	hv_vm_free(vm);
	make_host(true, "nested=off");
	guest_feature(X86_FEATURE_SVM, true);
	vm = vm_with_vcpu(1, &v);
	ck_assert_int_eq(hv_vcpu_nested_run(v, 0, &ctl), -EINVAL);
	hv_vm_free(vm);
}
END_TEST

/* 20. CR3 writes and guest TLB flushes before VMRUN set CLEAR_RAP for that VMRUN; nothing else does. */
START_TEST(test_eraps_clear_rap_on_cr3_and_flush)
{
	static const struct {
		const char *params;
		int event;	/* 0 none, 1 new CR3, 2 same CR3, 3 flush, 4 same CR3 NOFLUSH, 5 CR4.PGE, 6 CR4.SMEP */
		bool want;
	} rows[] = {
		{ "tdp=on",  0, false },
		{ "tdp=on",  1, true },
		{ "tdp=off", 1, true },
		{ "tdp=on",  2, true },		/* kvm_invalidate_pcid() flushes the guest TLB with TDP */
		{ "tdp=off", 2, false },	/* same CR3, no flush request without TDP */
		{ "tdp=on",  3, true },
		{ "tdp=on",  4, false },	/* PCID_NOFLUSH: no flush */
		{ "tdp=on",  5, true },		/* toggling PGE flushes all of the guest's TLB */
		{ "tdp=on",  6, false },
	};

	for (size_t i = 0; i < ARRAY_SIZE(rows); i++) {
		struct hv_vcpu *v;
		struct hv_vm *vm;

		make_host(true, rows[i].params);
		guest_feature(X86_FEATURE_ERAPS, true);
		vm = vm_with_vcpu(1, &v);
		/* RESET marked CR3 dirty: the first run flushes. */
		ck_assert(hv_vcpu_is_rap_dirty(v));
		ck_assert(run(v) & ERAP_CONTROL_CLEAR_RAP);
		ck_assert(!hv_vcpu_is_rap_dirty(v));
		ck_assert_int_eq(hv_vcpu_set_cr4(v, 1ull << 17), 0);	/* PCIDE */
		ck_assert_int_eq(hv_vcpu_set_cr3(v, 0x5000), 0);
		run(v);
		switch (rows[i].event) {
		case 1: ck_assert_int_eq(hv_vcpu_set_cr3(v, 0x6000), 0); break;
		case 2: ck_assert_int_eq(hv_vcpu_set_cr3(v, 0x5000), 0); break;
		case 3: hv_vcpu_flush_tlb_guest(v); break;
		case 4: ck_assert_int_eq(hv_vcpu_set_cr3(v, 0x5000 | HV_CR3_PCID_NOFLUSH), 0); break;
		case 5: ck_assert_int_eq(hv_vcpu_set_cr4(v, (1ull << 17) | (1ull << 7)), 0); break;
		case 6: ck_assert_int_eq(hv_vcpu_set_cr4(v, (1ull << 17) | (1ull << 20)), 0); break;
		default: break;
		}
		ck_assert_msg(!!(run(v) & ERAP_CONTROL_CLEAR_RAP) == rows[i].want, "row %zu", i);
		/* And the run after it has nothing to flush. */
		ck_assert(!(run(v) & ERAP_CONTROL_CLEAR_RAP));
		hv_vm_free(vm);
	}
}
END_TEST

/*
 * §3(c): ALLOW_LARGER_RAP comes from the guest's ERAPS at RESET and INIT
 * only.  The boot vCPU, created before its CPUID, runs with the 32-entry
 * RAP until an INIT; dropping ERAPS later does not clear the bit.
 */
START_TEST(test_eraps_larger_rap_only_at_reset_and_init)
{
	struct hv_vcpu *v, *ap;
	struct hv_vm *vm = eraps_vm(true, &v);

	ck_assert(cap(v, X86_FEATURE_ERAPS));
	ck_assert(!(run(v) & ERAP_CONTROL_ALLOW_LARGER_RAP));
	ck_assert(!hv_vcpu_is_full_rap_size_enabled(v));
	ck_assert(!hv_vcpu_is_rap_dirty(v));
	hv_vcpu_init(v);
	ck_assert(hv_vcpu_is_full_rap_size_enabled(v));
	/* INIT writes CR3 (to 0), so the RAP is flushed on the next entry too. */
	ck_assert(hv_vcpu_is_rap_dirty(v));
	ck_assert_uint_eq(run(v), ERAP_CONTROL_ALLOW_LARGER_RAP | ERAP_CONTROL_CLEAR_RAP);

	/* An AP: created, CPUID set, then INIT-SIPI from the guest. */
	ck_assert_int_eq(hv_vcpu_create(vm, 1, &ap), 0);
	ck_assert_int_eq(hv_vcpu_set_cpuid(ap, guest.entries, guest.nent, NULL), 0);
	ck_assert(!hv_vcpu_is_full_rap_size_enabled(ap));
	hv_vcpu_init(ap);
	ck_assert(hv_vcpu_is_full_rap_size_enabled(ap));

	/* The other way: the bit, once set, survives a CPUID without ERAPS. */
	ck_assert_int_eq(hv_vcpu_create(vm, 2, &ap), 0);
	ck_assert_int_eq(hv_vcpu_set_cpuid(ap, guest.entries, guest.nent, NULL), 0);
	hv_vcpu_init(ap);
	guest_feature(X86_FEATURE_ERAPS, false);
	ck_assert_int_eq(hv_vcpu_set_cpuid(ap, guest.entries, guest.nent, NULL), 0);
	ck_assert(!cap(ap, X86_FEATURE_ERAPS));
	ck_assert(hv_vcpu_is_full_rap_size_enabled(ap));
	/* Negative row: a guest without ERAPS at INIT gets no larger RAP. */
	ck_assert_int_eq(hv_vcpu_create(vm, 3, &ap), 0);
	ck_assert_int_eq(hv_vcpu_set_cpuid(ap, guest.entries, guest.nent, NULL), 0);
	hv_vcpu_init(ap);
	ck_assert(!hv_vcpu_is_full_rap_size_enabled(ap));
	hv_vm_free(vm);
}
END_TEST

/* VMX has no erap_ctl. */
START_TEST(test_eraps_vmx_has_no_vmcb)
{
	struct hv_vcpu *v;
	struct hv_vm *vm;
	uint8_t ctl = 0xff;

	make_host(false, "");
	vm = vm_with_vcpu(1, &v);
	ck_assert_int_eq(hv_vcpu_set_cr3(v, 0x1000), 0);
	ck_assert(!hv_vcpu_is_rap_dirty(v));
	ck_assert_uint_eq(run(v), 0);
	ck_assert_int_eq(hv_vcpu_nested_run(v, 3, &ctl), 0);
	ck_assert_uint_eq(ctl, 0);
	ck_assert_int_eq(hv_vcpu_nested_exit(v), 0);
	ck_assert_uint_eq(hv_vcpu_vmcb01_erap_ctl(v), 0);
	hv_vm_free(vm);
}
END_TEST

/* ------------------------------------------------------------------ */
/* APIC access memslot and APICv inhibits (invariants 31-36, §4(c)). */

enum host_kind { HOST_VMX, HOST_AVIC_OFF, HOST_X2AVIC, HOST_HYBRID, NR_HOST_KINDS };

static void make_apic_host(enum host_kind k)
{
	switch (k) {
	case HOST_VMX:
		make_host(false, "");
		break;
	case HOST_AVIC_OFF:
		make_host(true, "avic=off");
		break;
	case HOST_X2AVIC:
		make_host(true, "avic=on");
		break;
	case HOST_HYBRID:
		host_amd();
		host_feature(X86_FEATURE_X2AVIC, false);
		model_run("avic=on");
		guest = res.record.supported;
		break;
	case NR_HOST_KINDS:
		break;
	}
}

static uint64_t apic_base(const struct hv_vcpu *v, uint64_t mode)
{
	return HV_APIC_BASE_DEFAULT | mode | (hv_vcpu_id(v) == 0 ? HV_APIC_BASE_BSP : 0);
}

#define XAPIC	HV_APIC_BASE_ENABLE
#define X2APIC	(HV_APIC_BASE_ENABLE | HV_APIC_BASE_EXTD)

/* 34, checked after every step. */
static void check_memslot_invariant(const struct hv_vm *vm)
{
	if (hv_vm_is_apic_access_memslot_inhibited(vm))
		ck_assert(!hv_vm_is_apic_access_memslot_enabled(vm));
}

/* 31/32. The memslot goes away only with hybrid AVIC, and then for good. */
START_TEST(test_memslot_inhibited_only_with_hybrid_avic)
{
	enum host_kind k = (enum host_kind)_i;
	bool hybrid = k == HOST_HYBRID;
	bool allocated = k != HOST_AVIC_OFF;
	struct hv_vcpu *v;
	struct hv_vm *vm;

	make_apic_host(k);
	vm = vm_with_vcpu(2, &v);
	ck_assert(hv_vm_is_hybrid_avic(vm) == hybrid);
	ck_assert(hv_host_is_hybrid_avic(&hh) == hybrid);
	ck_assert(hv_vm_is_apic_access_memslot_enabled(vm) == allocated);
	ck_assert(!hv_vm_is_apic_access_memslot_inhibited(vm));

	ck_assert_int_eq(hv_vcpu_set_apic_base(v, apic_base(v, X2APIC), false), 0);
	ck_assert_int_eq(hv_vcpu_apic_mode(v), HV_APIC_MODE_X2APIC);
	check_memslot_invariant(vm);
	ck_assert(hv_vm_is_apic_access_memslot_inhibited(vm) == hybrid);
	ck_assert(hv_vm_is_apic_access_memslot_enabled(vm) == (allocated && !hybrid));

	/* Back to xAPIC (through disabled), and VM-wide inhibits coming and going. */
	ck_assert_int_eq(hv_vcpu_set_apic_base(v, apic_base(v, 0), false), 0);
	ck_assert_int_eq(hv_vcpu_set_apic_base(v, apic_base(v, XAPIC), false), 0);
	ck_assert_int_eq(hv_vm_set_or_clear_apicv_inhibit(vm, APICV_INHIBIT_REASON_BLOCKIRQ, true), 0);
	ck_assert_int_eq(hv_vm_set_or_clear_apicv_inhibit(vm, APICV_INHIBIT_REASON_BLOCKIRQ, false), 0);
	check_memslot_invariant(vm);
	ck_assert(hv_vm_is_apic_access_memslot_inhibited(vm) == hybrid);
	ck_assert(hv_vm_is_apic_access_memslot_enabled(vm) == (allocated && !hybrid));

	/* 33: hot-plug never brings it back. */
	ck_assert_int_eq(hv_vcpu_create(vm, 1, &v), 0);
	check_memslot_invariant(vm);
	ck_assert(hv_vm_is_apic_access_memslot_enabled(vm) == (allocated && !hybrid));
	ck_assert(hv_vm_is_apic_access_memslot_inhibited(vm) == hybrid);
	hv_vm_free(vm);
}
END_TEST

/* 32. Any x2APIC vCPU that processes an APICv update fires the inhibit: an inhibit transition is one. */
START_TEST(test_memslot_inhibited_by_inhibit_transition)
{
	struct hv_vcpu *v;
	struct hv_vm *vm;

	make_apic_host(HOST_HYBRID);
	vm = vm_with_vcpu(1, &v);
	/* Host-initiated (KVM_SET_MSRS/SET_LAPIC) writes raise the update too. */
	ck_assert_int_eq(hv_vcpu_set_apic_base(v, apic_base(v, X2APIC), true), 0);
	ck_assert(hv_vm_is_apic_access_memslot_inhibited(vm));
	hv_vm_free(vm);

	/* An inhibit set while x2APIC: the memslot was gone before, stays gone. */
	vm = vm_with_vcpu(1, &v);
	ck_assert_int_eq(hv_vm_set_or_clear_apicv_inhibit(vm, APICV_INHIBIT_REASON_IRQWIN, true), 0);
	ck_assert(hv_vm_is_apic_access_memslot_enabled(vm));
	ck_assert(!hv_vcpu_is_apicv_active(v));
	ck_assert_int_eq(hv_vcpu_set_apic_base(v, apic_base(v, X2APIC), false), 0);
	ck_assert(hv_vm_is_apic_access_memslot_inhibited(vm));
	check_memslot_invariant(vm);
	hv_vm_free(vm);
}
END_TEST

/*
 * §4(c): the inhibit fires at the next APICv update of an x2APIC vCPU.
 * A memslot created after the x2APIC switch (the boot vCPU went x2APIC
 * while a VM-wide inhibit kept the memslot away, then a vCPU is
 * hot-plugged with the inhibit gone) stays until that vCPU's next update.
 */
START_TEST(test_memslot_stale_until_next_apicv_update)
{
	struct hv_vcpu *v, *hot;
	struct hv_vm *vm = NULL;
	const char *why = NULL;

	make_apic_host(HOST_HYBRID);
	ck_assert_int_eq(hv_vm_new(&hh, 4, NULL, &vm), 0);
	ck_assert_int_eq(hv_vm_set_or_clear_apicv_inhibit(vm, APICV_INHIBIT_REASON_PIT_REINJ, true), 0);
	ck_assert_int_eq(hv_vcpu_create(vm, 0, &v), 0);
	ck_assert_msg(hv_vcpu_set_cpuid(v, guest.entries, guest.nent, &why) == 0, "%s", why);
	/* AVIC allocates only while APICv is not inhibited VM-wide. */
	ck_assert(!hv_vm_is_apic_access_memslot_enabled(vm));
	ck_assert_int_eq(hv_vcpu_set_apic_base(v, apic_base(v, X2APIC), false), 0);
	/* Nothing to delete, so nothing is recorded. */
	ck_assert(!hv_vm_is_apic_access_memslot_inhibited(vm));
	ck_assert_int_eq(hv_vm_set_or_clear_apicv_inhibit(vm, APICV_INHIBIT_REASON_PIT_REINJ, false), 0);
	ck_assert(!hv_vm_is_apic_access_memslot_enabled(vm));

	ck_assert_int_eq(hv_vcpu_create(vm, 1, &hot), 0);
	ck_assert(hv_vm_is_apic_access_memslot_enabled(vm));
	ck_assert(!hv_vm_is_apic_access_memslot_inhibited(vm));
	/* The hot-plugged vCPU's own update is in xAPIC mode: still there. */
	ck_assert_int_eq(hv_vcpu_apic_mode(hot), HV_APIC_MODE_XAPIC);

	/* vCPU 0's next update (here a VM-wide transition) deletes it. */
	ck_assert_int_eq(hv_vm_set_or_clear_apicv_inhibit(vm, APICV_INHIBIT_REASON_HYPERV, true), 0);
	ck_assert(!hv_vm_is_apic_access_memslot_enabled(vm));
	ck_assert(hv_vm_is_apic_access_memslot_inhibited(vm));
	check_memslot_invariant(vm);
	hv_vm_free(vm);
}
END_TEST

/* 35. APIC_BASE legality: guest vs host-initiated writes. */
START_TEST(test_apic_base_write_legality)
{
	static const struct {
		uint64_t from, to;	/* mode bits */
		uint64_t extra;		/* other bits in the written value */
		bool host_initiated;
		int want;
	} rows[] = {
		{ X2APIC, XAPIC,  0, false, -EINVAL },	/* x2APIC -> xAPIC directly */
		{ X2APIC, XAPIC,  0, true,  0 },
		{ 0,      X2APIC, 0, false, -EINVAL },	/* disabled -> x2APIC */
		{ 0,      X2APIC, 0, true,  0 },
		{ XAPIC,  X2APIC, 0, false, 0 },
		{ X2APIC, 0,      0, false, 0 },
		{ 0,      XAPIC,  0, false, 0 },
		{ XAPIC,  HV_APIC_BASE_EXTD, 0, true, -EINVAL },	/* invalid mode */
		{ XAPIC,  XAPIC,  1ull << 9, true, -EINVAL },		/* reserved low bit */
		{ XAPIC,  XAPIC,  1ull << 0, true, -EINVAL },
		{ XAPIC,  XAPIC,  1ull << 52, true, -EINVAL },		/* above MAXPHYADDR (52) */
		{ XAPIC,  XAPIC,  1ull << 51, false, 0 },
	};

	for (size_t i = 0; i < ARRAY_SIZE(rows); i++) {
		struct hv_vcpu *v;
		struct hv_vm *vm;
		uint64_t from, to;

		make_apic_host(HOST_X2AVIC);
		vm = vm_with_vcpu(1, &v);
		from = apic_base(v, rows[i].from);
		to = apic_base(v, rows[i].to) | rows[i].extra;
		ck_assert_int_eq(hv_vcpu_set_apic_base(v, from, true), 0);
		ck_assert_msg(hv_vcpu_set_apic_base(v, to, rows[i].host_initiated) == rows[i].want, "row %zu", i);
		ck_assert_uint_eq(hv_vcpu_apic_base(v), rows[i].want ? from : to);
		/* The same value again is always fine. */
		ck_assert_int_eq(hv_vcpu_set_apic_base(v, hv_vcpu_apic_base(v), false), 0);
		hv_vm_free(vm);
	}
}
END_TEST

/* 35. EXTD is reserved when the guest lacks X2APIC, even for the host. */
START_TEST(test_apic_base_extd_needs_x2apic_cap)
{
	struct hv_vcpu *v;
	struct hv_vm *vm;

	make_apic_host(HOST_HYBRID);
	guest_feature(X86_FEATURE_X2APIC, false);
	vm = vm_with_vcpu(1, &v);
	ck_assert_int_eq(hv_vcpu_set_apic_base(v, apic_base(v, X2APIC), true), -EINVAL);
	ck_assert_int_eq(hv_vcpu_set_apic_base(v, apic_base(v, X2APIC), false), -EINVAL);
	ck_assert_int_eq(hv_vcpu_apic_mode(v), HV_APIC_MODE_XAPIC);
	ck_assert(hv_vm_is_apic_access_memslot_enabled(vm));
	hv_vm_free(vm);
	/*
	 * Writing the current value is a no-op success even when the CPUID
	 * set since made a bit of it reserved (x2APIC, then no X2APIC).
	 */
	guest_feature(X86_FEATURE_X2APIC, true);
	vm = vm_with_vcpu(1, &v);
	ck_assert_int_eq(hv_vcpu_set_apic_base(v, apic_base(v, X2APIC), false), 0);
	guest_feature(X86_FEATURE_X2APIC, false);
	ck_assert_int_eq(hv_vcpu_set_cpuid(v, guest.entries, guest.nent, NULL), 0);
	ck_assert_int_eq(hv_vcpu_set_apic_base(v, apic_base(v, X2APIC), false), 0);
	ck_assert_int_eq(hv_vcpu_set_apic_base(v, apic_base(v, X2APIC), true), 0);
	ck_assert_int_eq(hv_vcpu_set_apic_base(v, apic_base(v, X2APIC) | (1ull << 12), true), -EINVAL);
	hv_vm_free(vm);
	/* A vCPU without any CPUID has no X2APIC either; its MAXPHYADDR is 36. */
	vm = NULL;
	ck_assert_int_eq(hv_vm_new(&hh, 1, NULL, &vm), 0);
	ck_assert_int_eq(hv_vcpu_create(vm, 0, &v), 0);
	ck_assert_int_eq(hv_vcpu_set_apic_base(v, apic_base(v, X2APIC), true), -EINVAL);
	ck_assert_int_eq(hv_vcpu_set_apic_base(v, apic_base(v, XAPIC) | (1ull << 36), true), -EINVAL);
	ck_assert_int_eq(hv_vcpu_set_apic_base(v, apic_base(v, XAPIC) | (1ull << 35), true), 0);
	hv_vm_free(vm);
}
END_TEST

/* Relocating an enabled APIC inhibits APICv VM-wide (APIC_BASE_MODIFIED). */
START_TEST(test_apic_base_relocation_inhibits_apicv)
{
	struct hv_vcpu *v;
	struct hv_vm *vm;

	make_apic_host((enum host_kind)_i);
	vm = vm_with_vcpu(1, &v);
	ck_assert_int_eq(hv_vcpu_set_apic_base(v, HV_APIC_BASE_BSP | XAPIC | 0xfed00000, false), 0);
	ck_assert(hv_vm_apicv_inhibit_reasons(vm) & (1u << APICV_INHIBIT_REASON_APIC_BASE_MODIFIED));
	ck_assert(!hv_vcpu_is_apicv_active(v));
	hv_vm_free(vm);
	/* Negative row: a disabled APIC may sit anywhere. */
	vm = vm_with_vcpu(1, &v);
	ck_assert_int_eq(hv_vcpu_set_apic_base(v, HV_APIC_BASE_BSP | 0xfed00000, false), 0);
	ck_assert(!(hv_vm_apicv_inhibit_reasons(vm) & (1u << APICV_INHIBIT_REASON_APIC_BASE_MODIFIED)));
	hv_vm_free(vm);
}
END_TEST

/* 36. PHYSICAL_ID_TOO_BIG: AVIC only, beyond the (x2)AVIC table. */
START_TEST(test_apicv_physical_id_too_big)
{
	static const struct {
		enum host_kind k;
		uint32_t id;
		bool want;
	} rows[] = {
		{ HOST_HYBRID, 255, false },
		{ HOST_HYBRID, 256, true },
		{ HOST_X2AVIC, 256, false },
		{ HOST_X2AVIC, 511, false },
		{ HOST_X2AVIC, 512, true },
		{ HOST_VMX,    4000, false },	/* VMX ignores AVIC-only reasons */
		{ HOST_AVIC_OFF, 4000, false },
	};

	for (size_t i = 0; i < ARRAY_SIZE(rows); i++) {
		uint32_t bit = 1u << APICV_INHIBIT_REASON_PHYSICAL_ID_TOO_BIG;
		struct hv_vcpu *v, *big;
		struct hv_vm *vm;

		make_apic_host(rows[i].k);
		vm = vm_with_vcpu(2, &v);
		ck_assert(hv_vcpu_is_apicv_active(v) == (rows[i].k != HOST_AVIC_OFF));
		ck_assert_int_eq(hv_vcpu_create(vm, rows[i].id, &big), 0);
		ck_assert_msg(!!(hv_vm_apicv_inhibit_reasons(vm) & bit) == rows[i].want, "row %zu", i);
		if (rows[i].want) {
			ck_assert(!hv_vcpu_is_apicv_active(big));
			ck_assert(!hv_vcpu_is_apicv_active(v));
		}
		hv_vm_free(vm);
	}
}
END_TEST

/* Required masks: VMX ignores AVIC-only reasons; unknown reasons are -EINVAL. */
START_TEST(test_apicv_required_inhibits)
{
	struct hv_vcpu *v;
	struct hv_vm *vm;

	ck_assert_uint_eq(hv_apicv_required_inhibits(HV_VENDOR_INTEL), 0x7f);
	ck_assert_uint_eq(hv_apicv_required_inhibits(HV_VENDOR_AMD), 0x1fff);
	make_apic_host(HOST_VMX);
	vm = vm_with_vcpu(1, &v);
	for (int r = APICV_INHIBIT_REASON_NESTED; r < NR_APICV_INHIBIT_REASONS; r++)
		ck_assert_int_eq(hv_vm_set_or_clear_apicv_inhibit(vm, (enum hv_apicv_inhibit)r, true), 0);
	ck_assert_uint_eq(hv_vm_apicv_inhibit_reasons(vm), 0);
	ck_assert(hv_vcpu_is_apicv_active(v));
	/* Negative row: a common reason is honoured. */
	ck_assert_int_eq(hv_vm_set_or_clear_apicv_inhibit(vm, APICV_INHIBIT_REASON_HYPERV, true), 0);
	ck_assert_uint_eq(hv_vm_apicv_inhibit_reasons(vm), 1u << APICV_INHIBIT_REASON_HYPERV);
	ck_assert(!hv_vcpu_is_apicv_active(v));
	ck_assert_int_eq(hv_vm_set_or_clear_apicv_inhibit(vm, APICV_INHIBIT_REASON_HYPERV, false), 0);
	ck_assert(hv_vcpu_is_apicv_active(v));
	ck_assert_int_eq(hv_vm_set_or_clear_apicv_inhibit(vm, NR_APICV_INHIBIT_REASONS, true), -EINVAL);
	hv_vm_free(vm);

	ck_assert_str_eq(hv_apicv_inhibit_name(APICV_INHIBIT_REASON_PHYSICAL_ID_TOO_BIG), "PHYSICAL_ID_TOO_BIG");
	ck_assert_str_eq(hv_apicv_inhibit_name(APICV_INHIBIT_REASON_DISABLED), "DISABLED");
	ck_assert_ptr_null(hv_apicv_inhibit_name(NR_APICV_INHIBIT_REASONS));
	for (int r = 0; r < NR_APICV_INHIBIT_REASONS; r++)
		ck_assert_ptr_nonnull(hv_apicv_inhibit_name((enum hv_apicv_inhibit)r));
}
END_TEST

/* APICv per vCPU: off without APICv, with a disabled APIC, and in L2 on AVIC. */
START_TEST(test_apicv_active_per_vcpu)
{
	struct hv_vcpu *v;
	struct hv_vm *vm;
	uint8_t ctl;

	make_apic_host(HOST_AVIC_OFF);
	vm = vm_with_vcpu(1, &v);
	ck_assert(!hv_vcpu_is_apicv_active(v));
	ck_assert_uint_eq(hv_vm_apicv_inhibit_reasons(vm), 1u << APICV_INHIBIT_REASON_DISABLED);
	ck_assert(!hv_vm_is_apic_access_memslot_enabled(vm));
	hv_vm_free(vm);

	make_apic_host(HOST_X2AVIC);
	vm = vm_with_vcpu(1, &v);
	ck_assert(hv_vcpu_is_apicv_active(v));
	ck_assert_int_eq(hv_vcpu_set_apic_base(v, apic_base(v, 0), false), 0);
	ck_assert(!hv_vcpu_is_apicv_active(v));
	ck_assert_int_eq(hv_vcpu_set_apic_base(v, apic_base(v, XAPIC), false), 0);
	ck_assert(hv_vcpu_is_apicv_active(v));
	ck_assert_int_eq(hv_vcpu_nested_run(v, 0, &ctl), 0);
	ck_assert(!hv_vcpu_is_apicv_active(v));
	ck_assert_int_eq(hv_vcpu_nested_exit(v), 0);
	ck_assert(hv_vcpu_is_apicv_active(v));
	hv_vm_free(vm);
}
END_TEST

/* ------------------------------------------------------------------ */
/* SNP-safe control pages (invariants 37-38). */

/* 37/38. Many SNP-safe allocations: never 2 MiB aligned, one page freed per call, no leak. */
START_TEST(test_snp_safe_alloc_many)
{
	enum { N = 3000 };
	static uint64_t pfns[N];
	struct hv_page_arena *a = NULL;

	ck_assert_int_eq(hv_page_arena_new(8192, &a), 0);
	for (size_t i = 0; i < N; i++) {
		uint64_t alloc = hv_page_arena_allocated(a), freed = hv_page_arena_freed(a);

		ck_assert_int_eq(hv_snp_safe_alloc_page(a, true, &pfns[i]), 0);
		ck_assert_msg(pfns[i] % 512 != 0, "pfn %llu is 2 MiB aligned", (unsigned long long)pfns[i]);
		ck_assert_uint_eq(hv_page_arena_allocated(a) - alloc, 2);
		ck_assert_uint_eq(hv_page_arena_freed(a) - freed, 1);
		/* Free some as we go, so that freed pages get reused. */
		if (i % 7 == 3) {
			hv_page_arena_free_page(a, pfns[i - 1]);
			pfns[i - 1] = UINT64_MAX;
		}
	}
	/* Every pfn that crossed a 2 MiB boundary was skipped over, not handed out. */
	ck_assert_uint_gt(hv_page_arena_allocated(a), 512 * 2);
	for (size_t i = 0; i < N; i++)
		for (size_t j = i + 1; j < N && j < i + 64; j++)
			if (pfns[i] != UINT64_MAX)
				ck_assert_uint_ne(pfns[i], pfns[j]);
	for (size_t i = 0; i < N; i++)
		if (pfns[i] != UINT64_MAX)
			hv_page_arena_free_page(a, pfns[i]);
	ck_assert_uint_eq(hv_page_arena_in_use(a), 0);
	ck_assert_uint_eq(hv_page_arena_allocated(a), hv_page_arena_freed(a));
	hv_page_arena_free(a);
}
END_TEST

/* 37 negative row: without SNP, plain pages, 2 MiB-aligned ones included, and no order-1 block. */
START_TEST(test_snp_off_plain_pages)
{
	struct hv_page_arena *a = NULL;
	bool aligned = false;

	ck_assert_int_eq(hv_page_arena_new(2048, &a), 0);
	for (uint64_t i = 0; i < 2048; i++) {
		uint64_t pfn;

		ck_assert_int_eq(hv_snp_safe_alloc_page(a, false, &pfn), 0);
		ck_assert_uint_eq(pfn, i);
		aligned |= pfn % 512 == 0;
		ck_assert_uint_eq(hv_page_arena_allocated(a), i + 1);
		ck_assert_uint_eq(hv_page_arena_freed(a), 0);
	}
	ck_assert(aligned);
	hv_page_arena_free(a);
}
END_TEST

/* Full arenas: -ENOMEM, then grow; growing never shrinks. */
START_TEST(test_arena_full_and_grow)
{
	struct hv_page_arena *a = NULL;
	uint64_t pfn, p1;

	ck_assert_int_eq(hv_page_arena_new(3, &a), 0);
	ck_assert_int_eq(hv_snp_safe_alloc_page(a, true, &pfn), 0);
	ck_assert_uint_eq(pfn, 1);	/* pfn 0 is 2 MiB aligned */
	/* Pages 0 and 2 are free, but no order-1 block is. */
	ck_assert_int_eq(hv_snp_safe_alloc_page(a, true, &p1), -ENOMEM);
	ck_assert_int_eq(hv_snp_safe_alloc_page(a, false, &p1), 0);
	ck_assert_uint_eq(p1, 0);
	ck_assert_int_eq(hv_page_arena_grow(a, 2), -EINVAL);
	ck_assert_int_eq(hv_page_arena_grow(a, 4), 0);
	ck_assert_int_eq(hv_snp_safe_alloc_page(a, true, &p1), 0);
	ck_assert_uint_eq(p1, 2);
	/* A pfn that is not handed out is ignored. */
	hv_page_arena_free_page(a, 3);
	hv_page_arena_free_page(a, 3);
	hv_page_arena_free_page(a, 1000);
	ck_assert_uint_eq(hv_page_arena_in_use(a), 3);
	hv_page_arena_free(a);
	hv_page_arena_free(NULL);
}
END_TEST

/* Freed pages are handed out again, lowest first, in both modes. */
START_TEST(test_arena_reuses_freed_pages)
{
	struct hv_page_arena *a = NULL;
	uint64_t pfn;

	ck_assert_int_eq(hv_page_arena_new(1024, &a), 0);
	for (uint64_t i = 0; i < 8; i++) {
		ck_assert_int_eq(hv_snp_safe_alloc_page(a, false, &pfn), 0);
		ck_assert_uint_eq(pfn, i);
	}
	hv_page_arena_free_page(a, 5);
	hv_page_arena_free_page(a, 1);
	ck_assert_int_eq(hv_snp_safe_alloc_page(a, false, &pfn), 0);
	ck_assert_uint_eq(pfn, 1);
	ck_assert_int_eq(hv_snp_safe_alloc_page(a, false, &pfn), 0);
	ck_assert_uint_eq(pfn, 5);
	ck_assert_int_eq(hv_snp_safe_alloc_page(a, false, &pfn), 0);
	ck_assert_uint_eq(pfn, 8);
	/* An order-1 block freed whole (pfns 2 and 3) is an order-1 block again. */
	hv_page_arena_free_page(a, 3);
	hv_page_arena_free_page(a, 2);
	ck_assert_int_eq(hv_snp_safe_alloc_page(a, true, &pfn), 0);
	ck_assert_uint_eq(pfn, 2);
	ck_assert_uint_eq(hv_page_arena_in_use(a), 8);
	hv_page_arena_free(a);
}
END_TEST

/* 37/38 through VMs: every VMCB, vmcb02 and AVIC backing page of an SNP host avoids 2 MiB alignment. */
START_TEST(test_snp_vm_control_pages)
{
	enum { NR = 300 };
	bool snp = _i;
	struct hv_page_arena *a = NULL;
	struct hv_vm *vm = NULL;
	bool aligned = false;

	make_host(true, snp ? "avic=on snp=on" : "avic=on snp=off");
	ck_assert(hh.snp == snp);
	ck_assert_int_eq(hv_page_arena_new(4096, &a), 0);
	ck_assert_int_eq(hv_vm_new(&hh, NR, a, &vm), 0);
	for (uint32_t id = 0; id < NR; id++) {
		struct hv_vcpu_pages pages;
		uint64_t alloc = hv_page_arena_allocated(a), freed = hv_page_arena_freed(a);
		struct hv_vcpu *v;

		ck_assert_int_eq(hv_vcpu_create(vm, id, &v), 0);
		/* Two pages (VMCB, AVIC backing), each costing an order-1 block with SNP. */
		ck_assert_uint_eq(hv_page_arena_allocated(a) - alloc, snp ? 4 : 2);
		ck_assert_uint_eq(hv_page_arena_freed(a) - freed, snp ? 2 : 0);
		if (id % 10 == 0) {
			uint8_t ctl;

			ck_assert_int_eq(hv_vcpu_set_cpuid(v, guest.entries, guest.nent, NULL), 0);
			ck_assert_int_eq(hv_vcpu_nested_run(v, 0, &ctl), 0);
			ck_assert_int_eq(hv_vcpu_nested_exit(v), 0);
			ck_assert_int_eq(hv_vcpu_nested_run(v, 0, &ctl), 0);	/* vmcb02 is kept */
		}
		hv_vcpu_control_pages(v, &pages);
		ck_assert_uint_ne(pages.vmcb01, UINT64_MAX);
		ck_assert_uint_ne(pages.avic_backing, UINT64_MAX);
		ck_assert((pages.vmcb02 != UINT64_MAX) == (id % 10 == 0));
		aligned |= pages.vmcb01 % 512 == 0 || pages.avic_backing % 512 == 0 ||
			   (pages.vmcb02 != UINT64_MAX && pages.vmcb02 % 512 == 0);
	}
	ck_assert_uint_eq(hv_page_arena_in_use(a), 2 * NR + NR / 10);
	/* Negative row: without SNP nothing keeps pages off 2 MiB boundaries. */
	ck_assert(aligned == !snp);
	hv_vm_free(vm);
	ck_assert_uint_eq(hv_page_arena_in_use(a), 0);
	hv_page_arena_free(a);
}
END_TEST

/* A shared arena's owner: what the grow hook was asked, and how it answers. */
struct grow_owner {
	struct hv_page_arena *a;
	unsigned calls;
	uint64_t size;		/* what the owner let the arena hold */
	bool asked_right;	/* every call asked for one order-1 block past the end */
	int fail;		/* -errno to refuse, 0 to grow */
	bool lie;		/* answer 0 without growing */
};

static int grow_cb(void *data, uint64_t npages)
{
	struct grow_owner *o = data;

	o->calls++;
	o->asked_right &= npages == ((o->size + 1) & ~1ull) + 2;
	if (o->fail)
		return o->fail;
	if (o->lie)
		return 0;
	o->size = npages;
	return hv_page_arena_grow(o->a, npages);
}

/* hv_page_arena_set_grow(): an allocation that finds a shared arena full asks its owner once. */
START_TEST(test_arena_grow_hook)
{
	bool snp = _i;
	struct grow_owner o = { .a = NULL, .asked_right = true };
	struct hv_vcpu_pages first, pages;
	struct hv_vm *vm = NULL;
	struct hv_vcpu *v;
	uint64_t in_use;
	uint8_t ctl;

	make_host(true, snp ? "avic=on snp=on nested=on" : "avic=on snp=off nested=on");
	ck_assert(hh.snp == snp);
	/* Room for exactly one vCPU: two pages, each an order-1 block with SNP (pfn 0 wasted). */
	o.size = snp ? 4 : 2;
	ck_assert_int_eq(hv_page_arena_new(o.size, &o.a), 0);
	ck_assert_int_eq(hv_vm_new(&hh, 64, o.a, &vm), 0);

	/* Without a hook a full shared arena is -ENOMEM, as before. */
	ck_assert_int_eq(hv_vcpu_create(vm, 0, &v), 0);
	hv_vcpu_control_pages(v, &first);
	ck_assert_int_eq(hv_vcpu_create(vm, 1, &v), -ENOMEM);
	ck_assert_uint_eq(hv_vm_vcpu_count(vm), 1);

	hv_page_arena_set_grow(o.a, grow_cb, &o);
	for (uint32_t id = 1; id < 40; id++) {
		unsigned calls = o.calls;

		ck_assert_int_eq(hv_vcpu_create(vm, id, &v), 0);
		/* At most one call per page a vCPU takes (VMCB, AVIC backing), each for room past the end. */
		ck_assert_uint_le(o.calls - calls, 2);
	}
	ck_assert_uint_gt(o.calls, 0);
	ck_assert(o.asked_right);
	/* Growth moves nothing: vCPU 0 keeps its pages. */
	hv_vcpu_control_pages(hv_vm_vcpu(vm, 0), &pages);
	ck_assert_uint_eq(pages.vmcb01, first.vmcb01);
	ck_assert_uint_eq(pages.avic_backing, first.avic_backing);

	/* The owner refuses: the creation fails with its error and changes nothing. */
	o.fail = -ENOSPC;
	for (uint32_t id = 100;; id++) {
		size_t count = hv_vm_vcpu_count(vm);
		unsigned calls = o.calls;
		int r;

		in_use = hv_page_arena_in_use(o.a);
		r = hv_vcpu_create(vm, id, &v);
		if (r == 0) {
			/* What the last growth left over: no call. */
			ck_assert_uint_eq(o.calls, calls);
			continue;
		}
		ck_assert_int_eq(r, -ENOSPC);
		ck_assert_uint_eq(hv_vm_vcpu_count(vm), count);
		ck_assert_ptr_null(hv_vm_vcpu(vm, id));
		ck_assert_uint_eq(hv_page_arena_in_use(o.a), in_use);
		break;
	}

	/* A nested VMRUN that needs vmcb02 fails the same way, before any state changes. */
	v = hv_vm_vcpu(vm, 0);
	ck_assert_int_eq(hv_vcpu_set_cpuid(v, guest.entries, guest.nent, NULL), 0);
	ck_assert_int_eq(hv_vcpu_nested_run(v, 0, &ctl), -ENOSPC);
	ck_assert(!hv_vcpu_is_guest_mode(v));
	ck_assert(!hv_vcpu_has_run(v));

	/* A hook that answers 0 without growing cannot make hvcore loop. */
	o.fail = 0;
	o.lie = true;
	ck_assert_int_eq(hv_vcpu_nested_run(v, 0, &ctl), -ENOMEM);
	/* And a removed hook is not called. */
	hv_page_arena_set_grow(o.a, NULL, &o);
	o.calls = 0;
	ck_assert_int_eq(hv_vcpu_nested_run(v, 0, &ctl), -ENOMEM);
	ck_assert_uint_eq(o.calls, 0);

	hv_vm_free(vm);
	ck_assert_uint_eq(hv_page_arena_in_use(o.a), 0);
	hv_page_arena_free(o.a);
}
END_TEST

/* VMX vCPUs take one plain page; no AVIC backing page. */
START_TEST(test_vmx_control_pages)
{
	struct hv_vcpu_pages pages;
	struct hv_vcpu *v;
	struct hv_vm *vm;

	make_host(false, "");
	vm = vm_with_vcpu(1, &v);
	hv_vcpu_control_pages(v, &pages);
	ck_assert_uint_eq(pages.vmcb01, 0);
	ck_assert_uint_eq(pages.vmcb02, UINT64_MAX);
	ck_assert_uint_eq(pages.avic_backing, UINT64_MAX);
	hv_vm_free(vm);
}
END_TEST

/* vCPU creation: limits, duplicate ids, a full arena changes nothing. */
START_TEST(test_vcpu_create_errors)
{
	struct hv_page_arena *a = NULL;
	struct hv_vcpu *v;
	struct hv_vm *vm = NULL;

	make_host(true, "avic=on snp=on");
	ck_assert_int_eq(hv_vm_new(&hh, 0, NULL, &vm), -EINVAL);
	ck_assert_int_eq(hv_page_arena_new(4, &a), 0);
	ck_assert_int_eq(hv_vm_new(&hh, 3, a, &vm), 0);
	ck_assert_int_eq(hv_vcpu_create(vm, 7, &v), 0);
	ck_assert_int_eq(hv_vcpu_create(vm, 7, &v), -EEXIST);
	/* Two order-1 blocks per vCPU: the arena of 4 pages is full. */
	ck_assert_int_eq(hv_vcpu_create(vm, 8, &v), -ENOMEM);
	ck_assert_uint_eq(hv_vm_vcpu_count(vm), 1);
	ck_assert_uint_eq(hv_page_arena_in_use(a), 2);
	ck_assert_ptr_null(hv_vm_vcpu(vm, 8));
	ck_assert_int_eq(hv_page_arena_grow(a, 64), 0);
	ck_assert_int_eq(hv_vcpu_create(vm, 8, &v), 0);
	ck_assert_int_eq(hv_vcpu_create(vm, 2, &v), 0);
	ck_assert_int_eq(hv_vcpu_create(vm, 9, &v), -E2BIG);
	ck_assert_ptr_eq(hv_vm_vcpu(vm, 2), v);
	ck_assert_uint_eq(hv_vcpu_id(hv_vm_vcpu(vm, 8)), 8);
	ck_assert_uint_eq(hv_vcpu_id(hv_vm_vcpu(vm, 7)), 7);
	ck_assert_int_eq(hv_vm_host(vm)->vendor, HV_VENDOR_AMD);
	hv_vm_free(vm);
	ck_assert_uint_eq(hv_page_arena_in_use(a), 0);
	hv_page_arena_free(a);
	hv_vm_free(NULL);
}
END_TEST

/* ------------------------------------------------------------------ */
/* MAXPHYADDR and LAM (invariants 39-40). */

/* 40. reserved_gpa_bits == GENMASK(63, maxphyaddr), 36 when 0x8000_0008 is absent or out of range. */
START_TEST(test_maxphyaddr_and_reserved_gpa_bits)
{
	static const struct {
		int64_t ext_max;	/* 0x8000_0000.EAX, -1 to remove the leaf */
		int phys;		/* 0x8000_0008.EAX[7:0], -1 to remove the leaf */
		int want;
	} rows[] = {
		{ 0x80000008, 46, 46 },
		{ 0x80000008, 52, 52 },
		{ 0x80000028, 39, 39 },
		{ 0x80000007, 46, 36 },		/* out of range */
		{ -1,         46, 36 },		/* no 0x8000_0000 */
		{ 0x80000008, -1, 36 },		/* no 0x8000_0008 */
		{ 0x80000008, 0,  0 },		/* not validated */
		{ 0x80000008, 64, 64 },
	};

	for (size_t i = 0; i < ARRAY_SIZE(rows); i++) {
		struct hv_vcpu *v;
		struct hv_vm *vm;

		make_host(false, "");
		if (rows[i].phys < 0) {
			guest_remove(0x80000008, 0);
		} else {
			struct caps_cpuid_entry *e = guest_find(0x80000008, 0);

			e->eax = (e->eax & ~0xffu) | (uint32_t)rows[i].phys;
		}
		if (rows[i].ext_max < 0)
			guest_remove(0x80000000, 0);
		else
			guest_find(0x80000000, 0)->eax = (uint32_t)rows[i].ext_max;
		vm = vm_with_vcpu(1, &v);
		ck_assert_msg(hv_vcpu_maxphyaddr(v) == rows[i].want, "row %zu: %d", i, hv_vcpu_maxphyaddr(v));
		ck_assert_uint_eq(hv_vcpu_reserved_gpa_bits(v), genmask_from(rows[i].want));
		if (rows[i].want > 0 && rows[i].want < 64) {
			ck_assert(hv_vcpu_is_legal_gpa(v, (1ull << rows[i].want) - 1));
			ck_assert(!hv_vcpu_is_legal_gpa(v, 1ull << rows[i].want));
		}
		hv_vm_free(vm);
	}
}
END_TEST

/* 39. CR3 bits 61/62 are legal only with LAM, and then iff the rest passes MAXPHYADDR. */
START_TEST(test_lam_cr3_legality)
{
	static const struct {
		bool lam;
		uint64_t cr3;
		bool legal;
	} rows[] = {
		{ false, 0x1000,                              true },
		{ false, 0x1000 | HV_CR3_LAM_U57,             false },
		{ false, 0x1000 | HV_CR3_LAM_U48,             false },
		{ true,  0x1000 | HV_CR3_LAM_U57,             true },
		{ true,  0x1000 | HV_CR3_LAM_U48,             true },
		{ true,  0x1000 | HV_CR3_LAM_U48 | HV_CR3_LAM_U57, true },
		{ true,  HV_CR3_LAM_U48 | (1ull << 46),       false },	/* above MAXPHYADDR 46 */
		{ true,  HV_CR3_LAM_U48 | (1ull << 45),       true },
		{ true,  HV_CR3_PCID_NOFLUSH,                 false },	/* bit 63 is not LAM */
	};

	for (size_t i = 0; i < ARRAY_SIZE(rows); i++) {
		struct caps_cpuid_entry *e;
		struct hv_vcpu *v;
		struct hv_vm *vm;

		make_host(false, "");
		ck_assert(caps_has(&hh.kvm_cpu_caps, X86_FEATURE_LAM));
		guest_feature(X86_FEATURE_LAM, rows[i].lam);
		e = guest_find(0x80000008, 0);
		e->eax = (e->eax & ~0xffu) | 46;
		vm = vm_with_vcpu(1, &v);
		ck_assert(cap(v, X86_FEATURE_LAM) == rows[i].lam);
		ck_assert_msg(hv_vcpu_is_legal_cr3(v, rows[i].cr3) == rows[i].legal, "row %zu", i);
		ck_assert_int_eq(hv_vcpu_set_cr3(v, rows[i].cr3), rows[i].legal ? 0 : -EINVAL);
		ck_assert_uint_eq(hv_vcpu_cr3(v), rows[i].legal ? rows[i].cr3 : 0);
		ck_assert_uint_eq(hv_vcpu_get_active_cr3_lam_bits(v),
				  rows[i].legal && rows[i].lam ? rows[i].cr3 & (HV_CR3_LAM_U48 | HV_CR3_LAM_U57) : 0);
		hv_vm_free(vm);
	}
}
END_TEST

/* With CR4.PCIDE, bit 63 is the no-flush hint and is stripped before the check. */
START_TEST(test_lam_cr3_pcid_noflush)
{
	struct hv_vcpu *v;
	struct hv_vm *vm;

	make_host(false, "");
	vm = vm_with_vcpu(1, &v);
	ck_assert_int_eq(hv_vcpu_set_cr3(v, 0x2000 | HV_CR3_PCID_NOFLUSH), -EINVAL);
	ck_assert_int_eq(hv_vcpu_set_cr4(v, HV_CR4_PCIDE), 0);
	ck_assert_int_eq(hv_vcpu_set_cr3(v, 0x2000 | HV_CR3_PCID_NOFLUSH | HV_CR3_LAM_U57), 0);
	ck_assert_uint_eq(hv_vcpu_cr3(v), 0x2000 | HV_CR3_LAM_U57);
	ck_assert_uint_eq(hv_vcpu_get_active_cr3_lam_bits(v), HV_CR3_LAM_U57);
	/* Losing LAM in CPUID makes the active bits read as none. */
	guest_feature(X86_FEATURE_LAM, false);
	ck_assert_int_eq(hv_vcpu_set_cpuid(v, guest.entries, guest.nent, NULL), 0);
	ck_assert_uint_eq(hv_vcpu_get_active_cr3_lam_bits(v), 0);
	hv_vm_free(vm);
}
END_TEST

/* 40. CR4.LAM_SUP needs the guest's LAM (and KVM's). */
START_TEST(test_lam_cr4_lam_sup)
{
	static const struct {
		bool kvm_lam, guest_lam;
		int want;
	} rows[] = {
		{ true,  true,  0 },
		{ true,  false, -EINVAL },
		{ false, true,  -EINVAL },
	};

	for (size_t i = 0; i < ARRAY_SIZE(rows); i++) {
		struct hv_vcpu *v;
		struct hv_vm *vm;

		_i ? make_host(false, "") : make_host(true, "");
		if (!_i)	/* AMD never enumerates LAM: KVM's cap follows the row */
			caps_change(&hh.kvm_cpu_caps, X86_FEATURE_LAM, rows[i].kvm_lam);
		else if (!rows[i].kvm_lam)
			caps_clear(&hh.kvm_cpu_caps, X86_FEATURE_LAM);
		caps_cpuid_entry_set_reg(guest_find(7, 1), CAPS_REG_EAX, rows[i].guest_lam ? caps_feature_mask(X86_FEATURE_LAM) : 0);
		vm = vm_with_vcpu(1, &v);
		ck_assert_msg(hv_vcpu_set_cr4(v, HV_CR4_LAM_SUP) == rows[i].want, "row %zu", i);
		ck_assert_uint_eq(hv_vcpu_cr4(v), rows[i].want ? 0 : HV_CR4_LAM_SUP);
		ck_assert(!!(hv_vcpu_cr4_guest_rsvd_bits(v) & HV_CR4_LAM_SUP) == !!rows[i].want);
		hv_vm_free(vm);
	}
}
END_TEST

int main(void)
{
	Suite *s = suite_create("vm");
	TCase *tc;

	tc = tcase_create("host");
	tcase_add_test(tc, test_host_from_model_amd);
	tcase_add_test(tc, test_host_from_model_intel);
	suite_add_tcase(s, tc);

	tc = tcase_create("cpu_caps");
	tcase_add_loop_test(tc, test_cpu_caps_within_guest_cpuid_and_kvm_caps, 0, 2);
	tcase_add_test(tc, test_cpu_caps_emulated_bits);
	tcase_add_test(tc, test_cpu_caps_untracked_words_stay_zero);
	tcase_add_test(tc, test_cpu_caps_accessors_leave_cpuid_alone);
	tcase_add_loop_test(tc, test_cpu_caps_gbpages_hole, 0, 2);
	tcase_add_test(tc, test_cpu_caps_xsaves_hole);
	tcase_add_test(tc, test_cpu_caps_v_vmsave_vmload_needs_amd_guest);
	tcase_add_loop_test(tc, test_cpu_caps_runtime_bits, 0, 2);
	tcase_add_test(tc, test_cpu_caps_lookup_rule);
	tcase_add_test(tc, test_vcpu_derived_xcr0);
	tcase_add_test(tc, test_vcpu_cr4_reserved_bits);
	suite_add_tcase(s, tc);

	tc = tcase_create("set_cpuid");
	tcase_add_test(tc, test_set_cpuid_e2big_changes_nothing);
	tcase_add_loop_test(tc, test_set_cpuid_failure_is_transactional, 0, 2);
	tcase_add_loop_test(tc, test_set_cpuid_after_run_identical_only, 0, NR_MUTATIONS);
	tcase_add_test(tc, test_set_cpuid_after_run_failure_restores_caps);
	tcase_add_test(tc, test_set_cpuid_before_run_takes_changes);
	tcase_add_test(tc, test_get_cpuid_too_small);
	tcase_add_test(tc, test_set_cpuid_amx_needs_permission);
	tcase_add_test(tc, test_set_cpuid_empty);
	suite_add_tcase(s, tc);

	tc = tcase_create("eraps");
	tcase_add_loop_test(tc, test_eraps_no_bits_without_guest_eraps, 0, 2);
	tcase_add_test(tc, test_eraps_clear_rap_cleared_after_run);
	tcase_add_test(tc, test_eraps_nested_transitions);
	tcase_add_test(tc, test_eraps_nested_preconditions);
	tcase_add_test(tc, test_eraps_clear_rap_on_cr3_and_flush);
	tcase_add_test(tc, test_eraps_larger_rap_only_at_reset_and_init);
	tcase_add_test(tc, test_eraps_vmx_has_no_vmcb);
	suite_add_tcase(s, tc);

	tc = tcase_create("memslot");
	tcase_add_loop_test(tc, test_memslot_inhibited_only_with_hybrid_avic, 0, NR_HOST_KINDS);
	tcase_add_test(tc, test_memslot_inhibited_by_inhibit_transition);
	tcase_add_test(tc, test_memslot_stale_until_next_apicv_update);
	tcase_add_test(tc, test_apic_base_write_legality);
	tcase_add_test(tc, test_apic_base_extd_needs_x2apic_cap);
	tcase_add_loop_test(tc, test_apic_base_relocation_inhibits_apicv, 0, NR_HOST_KINDS);
	tcase_add_test(tc, test_apicv_physical_id_too_big);
	tcase_add_test(tc, test_apicv_required_inhibits);
	tcase_add_test(tc, test_apicv_active_per_vcpu);
	suite_add_tcase(s, tc);

	tc = tcase_create("snp");
	tcase_add_test(tc, test_snp_safe_alloc_many);
	tcase_add_test(tc, test_snp_off_plain_pages);
	tcase_add_test(tc, test_arena_full_and_grow);
	tcase_add_test(tc, test_arena_reuses_freed_pages);
	tcase_add_loop_test(tc, test_arena_grow_hook, 0, 2);
	tcase_add_loop_test(tc, test_snp_vm_control_pages, 0, 2);
	tcase_add_test(tc, test_vmx_control_pages);
	tcase_add_test(tc, test_vcpu_create_errors);
	suite_add_tcase(s, tc);

	tc = tcase_create("lam");
	tcase_add_test(tc, test_maxphyaddr_and_reserved_gpa_bits);
	tcase_add_test(tc, test_lam_cr3_legality);
	tcase_add_test(tc, test_lam_cr3_pcid_noflush);
	tcase_add_loop_test(tc, test_lam_cr4_lam_sup, 0, 2);
	suite_add_tcase(s, tc);

	return test_run_suite(s);
}
