/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * hvcore's restore functions (include/hvcore/vm.h, "Restore"): a VM and
 * its vCPUs saved through the accessors and rebuilt in a fresh VM read
 * back identical, and every state no sequence of calls could reach is
 * refused with nothing changed.  Hosts are the synthetic Zen 5-like and
 * Sapphire Rapids-like CPUs of test-vm.c, modelled.
 */

#include <errno.h>
#include <string.h>

#include <hvcore/model.h>
#include <hvcore/vm.h>

#include "synthetic-hosts.h"

static struct caps_dump host;
static struct hv_model_result res;
static struct hv_host_params params;
static struct hv_host hh;
static struct caps_cpuid guest;

static void make_host(bool amd, const char *kv)
{
	amd ? synth_host_amd(&host) : synth_host_intel(&host);
	synth_model(&host.cpuid, kv, NULL, NULL, &params, &res);
	hv_host_from_model(&hh, &res, &params);
	guest = res.record.supported;
}

struct saved_vcpu {
	uint32_t id;
	struct caps_cpuid cpuid;
	struct hv_vcpu_restore_state s;
};

struct saved_vm {
	size_t n;
	struct saved_vcpu vcpus[8];
	struct hv_vm_restore_state s;
};

static void save(const struct hv_vm *vm, const uint32_t *ids, size_t n, struct saved_vm *ret)
{
	memset(ret, 0, sizeof(*ret));
	ret->n = n;
	for (size_t i = 0; i < n; i++) {
		const struct hv_vcpu *v = hv_vm_vcpu(vm, ids[i]);
		struct saved_vcpu *sv = &ret->vcpus[i];
		struct hv_vcpu_pages pages;
		uint32_t nent = CAPS_CPUID_MAX_ENTRIES;

		ck_assert_ptr_nonnull(v);
		sv->id = ids[i];
		ck_assert_int_eq(hv_vcpu_get_cpuid(v, sv->cpuid.entries, &nent), 0);
		sv->cpuid.nent = nent;
		hv_vcpu_control_pages(v, &pages);
		sv->s = (struct hv_vcpu_restore_state) {
			.has_run = hv_vcpu_has_run(v),
			.apic_base = hv_vcpu_apic_base(v),
			.cr3 = hv_vcpu_cr3(v),
			.cr4 = hv_vcpu_cr4(v),
			.vmcb01_erap_ctl = hv_vcpu_vmcb01_erap_ctl(v),
			.vmcb02_erap_ctl = hv_vcpu_vmcb02_erap_ctl(v),
			.guest_mode = hv_vcpu_is_guest_mode(v),
			.rap_dirty = hv_vcpu_is_rap_dirty(v),
			.vmcb02_allocated = pages.vmcb02 != UINT64_MAX,
		};
	}
	ret->s = (struct hv_vm_restore_state) {
		.apic_access_memslot_enabled = hv_vm_is_apic_access_memslot_enabled(vm),
		.apic_access_memslot_inhibited = hv_vm_is_apic_access_memslot_inhibited(vm),
		.apicv_inhibit_reasons = hv_vm_apicv_inhibit_reasons(vm),
	};
}

static struct hv_vm *restore(const struct saved_vm *s)
{
	struct hv_vm *vm = NULL;
	const char *why = NULL;

	ck_assert_int_eq(hv_vm_new(&hh, 8, NULL, &vm), 0);
	for (size_t i = 0; i < s->n; i++) {
		struct hv_vcpu *v;

		ck_assert_int_eq(hv_vcpu_create(vm, s->vcpus[i].id, &v), 0);
		ck_assert_msg(hv_vcpu_set_cpuid(v, s->vcpus[i].cpuid.entries, s->vcpus[i].cpuid.nent, &why) == 0,
			      "%s", why);
		ck_assert_msg(hv_vcpu_restore(v, &s->vcpus[i].s, &why) == 0, "%s", why);
	}
	ck_assert_msg(hv_vm_restore(vm, &s->s, &why) == 0, "%s", why);
	return vm;
}

static void assert_same(const struct hv_vm *a, const struct hv_vm *b, const uint32_t *ids, size_t n)
{
	ck_assert_int_eq(hv_vm_is_apic_access_memslot_enabled(a), hv_vm_is_apic_access_memslot_enabled(b));
	ck_assert_int_eq(hv_vm_is_apic_access_memslot_inhibited(a), hv_vm_is_apic_access_memslot_inhibited(b));
	ck_assert_uint_eq(hv_vm_apicv_inhibit_reasons(a), hv_vm_apicv_inhibit_reasons(b));
	ck_assert_uint_eq(hv_vm_vcpu_count(a), hv_vm_vcpu_count(b));
	for (size_t i = 0; i < n; i++) {
		const struct hv_vcpu *x = hv_vm_vcpu(a, ids[i]), *y = hv_vm_vcpu(b, ids[i]);
		struct caps_cpuid cx, cy;
		uint32_t nx = CAPS_CPUID_MAX_ENTRIES, ny = CAPS_CPUID_MAX_ENTRIES;

		ck_assert_ptr_nonnull(y);
		ck_assert_int_eq(hv_vcpu_get_cpuid(x, cx.entries, &nx), 0);
		ck_assert_int_eq(hv_vcpu_get_cpuid(y, cy.entries, &ny), 0);
		cx.nent = nx;
		cy.nent = ny;
		ck_assert(caps_cpuid_equal(&cx, &cy));
		ck_assert(caps_equal(hv_vcpu_cpu_caps(x), hv_vcpu_cpu_caps(y)));
		ck_assert_int_eq(hv_vcpu_has_run(x), hv_vcpu_has_run(y));
		ck_assert_uint_eq(hv_vcpu_apic_base(x), hv_vcpu_apic_base(y));
		ck_assert_int_eq(hv_vcpu_apic_mode(x), hv_vcpu_apic_mode(y));
		ck_assert_int_eq(hv_vcpu_is_apicv_active(x), hv_vcpu_is_apicv_active(y));
		ck_assert_uint_eq(hv_vcpu_cr3(x), hv_vcpu_cr3(y));
		ck_assert_uint_eq(hv_vcpu_cr4(x), hv_vcpu_cr4(y));
		ck_assert_uint_eq(hv_vcpu_vmcb01_erap_ctl(x), hv_vcpu_vmcb01_erap_ctl(y));
		ck_assert_uint_eq(hv_vcpu_vmcb02_erap_ctl(x), hv_vcpu_vmcb02_erap_ctl(y));
		ck_assert_int_eq(hv_vcpu_is_guest_mode(x), hv_vcpu_is_guest_mode(y));
		ck_assert_int_eq(hv_vcpu_is_rap_dirty(x), hv_vcpu_is_rap_dirty(y));
		ck_assert_int_eq(hv_vcpu_maxphyaddr(x), hv_vcpu_maxphyaddr(y));
		ck_assert_uint_eq(hv_vcpu_get_active_cr3_lam_bits(x), hv_vcpu_get_active_cr3_lam_bits(y));
	}
}

/* A VM with vCPUs 0 and 3: 0 ran, went through L2 and back, 3 is in x2APIC mode. */
static struct hv_vm *busy_vm(void)
{
	struct hv_vm *vm = NULL;
	struct hv_vcpu *v0, *v3;
	const char *why = NULL;
	uint8_t ctl;

	ck_assert_int_eq(hv_vm_new(&hh, 8, NULL, &vm), 0);
	ck_assert_int_eq(hv_vcpu_create(vm, 0, &v0), 0);
	ck_assert_int_eq(hv_vcpu_create(vm, 3, &v3), 0);
	ck_assert_msg(hv_vcpu_set_cpuid(v0, guest.entries, guest.nent, &why) == 0, "%s", why);
	ck_assert_msg(hv_vcpu_set_cpuid(v3, guest.entries, guest.nent, &why) == 0, "%s", why);
	hv_vcpu_init(v0);
	ck_assert_int_eq(hv_vcpu_set_cr3(v0, 0x1000), 0);
	ck_assert_int_eq(hv_vcpu_run(v0, &ctl), 0);
	if (hh.vendor == HV_VENDOR_AMD) {
		ck_assert_int_eq(hv_vcpu_nested_run(v0, ERAP_CONTROL_ALLOW_LARGER_RAP, &ctl), 0);
		ck_assert_int_eq(hv_vcpu_nested_exit(v0), 0);
	}
	ck_assert_int_eq(hv_vcpu_set_cr3(v0, 0x2000), 0);
	ck_assert_int_eq(hv_vcpu_set_apic_base(v3, HV_APIC_BASE_DEFAULT | HV_APIC_BASE_ENABLE |
					       HV_APIC_BASE_EXTD, false), 0);
	return vm;
}

START_TEST(test_vcpu_restore_reads_back_identical)
{
	static const uint32_t ids[] = { 0, 3 };
	static const char *const hosts[] = { "avic=on", "avic=off", "" };
	static struct saved_vm s;

	for (size_t h = 0; h < 3; h++) {
		struct hv_vm *a, *b;

		make_host(h < 2, hosts[h]);
		a = busy_vm();
		save(a, ids, 2, &s);
		b = restore(&s);
		assert_same(a, b, ids, 2);
		hv_vm_free(a);
		hv_vm_free(b);
	}
}
END_TEST

/* Hybrid AVIC (no x2AVIC): the inhibited memslot comes back inhibited, and stays so. */
START_TEST(test_vm_restore_keeps_memslot_inhibited)
{
	static const uint32_t ids[] = { 0, 3 };
	static struct saved_vm s;
	struct hv_vm *a, *b;
	struct hv_vcpu *v;

	synth_host_amd(&host);
	synth_feature(&host, X86_FEATURE_X2AVIC, false);
	synth_model(&host.cpuid, "avic=on", NULL, NULL, &params, &res);
	hv_host_from_model(&hh, &res, &params);
	guest = res.record.supported;
	a = busy_vm();
	ck_assert(hv_vm_is_hybrid_avic(a));
	ck_assert(hv_vm_is_apic_access_memslot_inhibited(a));
	save(a, ids, 2, &s);
	b = restore(&s);
	assert_same(a, b, ids, 2);
	ck_assert_int_eq(hv_vcpu_create(b, 5, &v), 0);
	ck_assert(hv_vm_is_apic_access_memslot_inhibited(b));
	ck_assert(!hv_vm_is_apic_access_memslot_enabled(b));
	hv_vm_free(a);
	hv_vm_free(b);
}
END_TEST

/* A restored vCPU that had run keeps its CPUID frozen. */
START_TEST(test_vcpu_restore_keeps_cpuid_frozen)
{
	static const uint32_t ids[] = { 0, 3 };
	static struct saved_vm s;
	struct caps_cpuid changed;
	struct hv_vm *a, *b;
	const char *why = NULL;

	make_host(true, "");
	a = busy_vm();
	save(a, ids, 2, &s);
	b = restore(&s);
	ck_assert(hv_vcpu_has_run(hv_vm_vcpu(b, 0)));
	changed = s.vcpus[0].cpuid;
	changed.entries[0].eax ^= 1;
	ck_assert_int_eq(hv_vcpu_set_cpuid(hv_vm_vcpu(b, 0), changed.entries, changed.nent, &why), -EINVAL);
	ck_assert_int_eq(hv_vcpu_set_cpuid(hv_vm_vcpu(b, 0), s.vcpus[0].cpuid.entries, s.vcpus[0].cpuid.nent,
					   &why), 0);
	hv_vm_free(a);
	hv_vm_free(b);
}
END_TEST

/* Negative rows: each unreachable state is refused, and the vCPU is unchanged. */
START_TEST(test_vcpu_restore_refuses_unreachable_states)
{
	const struct hv_vcpu_restore_state good = {
		.apic_base = HV_APIC_BASE_DEFAULT | HV_APIC_BASE_ENABLE | HV_APIC_BASE_BSP,
		.rap_dirty = true,
	};
	struct hv_vcpu_restore_state s;
	struct hv_vm *vm = NULL;
	struct hv_vcpu *v;
	const char *why = NULL;

	make_host(true, "");
	ck_assert_int_eq(hv_vm_new(&hh, 2, NULL, &vm), 0);
	ck_assert_int_eq(hv_vcpu_create(vm, 0, &v), 0);
	ck_assert_int_eq(hv_vcpu_set_cpuid(v, guest.entries, guest.nent, &why), 0);

#define REFUSED(field, value, err)							\
	do {									\
		s = good;							\
		s.field = value;						\
		why = NULL;							\
		ck_assert_int_eq(hv_vcpu_restore(v, &s, &why), err);		\
		ck_assert_ptr_nonnull(why);					\
		ck_assert(!hv_vcpu_has_run(v));					\
		ck_assert_uint_eq(hv_vcpu_cr3(v), 0);				\
	} while (0)

	REFUSED(vmcb01_erap_ctl, 0x4, -EINVAL);
	REFUSED(vmcb02_erap_ctl, 0x80, -EINVAL);
	REFUSED(apic_base, HV_APIC_BASE_DEFAULT | HV_APIC_BASE_EXTD, -EINVAL);	/* EXTD without EN */
	REFUSED(apic_base, HV_APIC_BASE_DEFAULT | HV_APIC_BASE_ENABLE | 0x1, -EINVAL);
	REFUSED(cr3, 1ull << 60, -EINVAL);	/* above 52 physical bits, no LAM */
	REFUSED(cr3, HV_CR3_PCID_NOFLUSH | 0x1000, -EINVAL);
	REFUSED(cr4, 1ull << 30, -EINVAL);	/* a reserved CR4 bit */
	REFUSED(guest_mode, true, -EINVAL);	/* in L2 without having run */
	ck_assert_int_eq(hv_vcpu_restore(NULL, &good, &why), -EINVAL);
	ck_assert_int_eq(hv_vcpu_restore(v, NULL, &why), -EINVAL);

	/* The positive row, then a second restore is refused: the vCPU has run. */
	s = good;
	s.has_run = true;
	ck_assert_int_eq(hv_vcpu_restore(v, &s, &why), 0);
	ck_assert_int_eq(hv_vcpu_restore(v, &s, &why), -EBUSY);
	hv_vm_free(vm);

	/* VMX: no erap_ctl and no RAP flag. */
	make_host(false, "");
	ck_assert_int_eq(hv_vm_new(&hh, 2, NULL, &vm), 0);
	ck_assert_int_eq(hv_vcpu_create(vm, 0, &v), 0);
	ck_assert_int_eq(hv_vcpu_set_cpuid(v, guest.entries, guest.nent, &why), 0);
	s = good;
	s.rap_dirty = false;
	s.vmcb01_erap_ctl = ERAP_CONTROL_ALLOW_LARGER_RAP;
	ck_assert_int_eq(hv_vcpu_restore(v, &s, &why), -EINVAL);
	s.vmcb01_erap_ctl = 0;
	s.rap_dirty = true;
	ck_assert_int_eq(hv_vcpu_restore(v, &s, &why), -EINVAL);
	s.rap_dirty = false;
	ck_assert_int_eq(hv_vcpu_restore(v, &s, &why), 0);
	hv_vm_free(vm);
#undef REFUSED
}
END_TEST

START_TEST(test_vm_restore_refuses_unreachable_states)
{
	struct hv_vm_restore_state s = { 0 };
	struct hv_vm *vm = NULL;
	const char *why = NULL;

	make_host(true, "avic=on");	/* x2AVIC: not hybrid */
	ck_assert_int_eq(hv_vm_new(&hh, 2, NULL, &vm), 0);
	s.apic_access_memslot_enabled = s.apic_access_memslot_inhibited = true;
	ck_assert_int_eq(hv_vm_restore(vm, &s, &why), -EINVAL);
	s.apic_access_memslot_enabled = false;
	ck_assert_int_eq(hv_vm_restore(vm, &s, &why), -EINVAL);	/* inhibited without hybrid AVIC */
	ck_assert(!hv_vm_is_apic_access_memslot_inhibited(vm));
	s.apic_access_memslot_inhibited = false;
	s.apicv_inhibit_reasons = 1u << 31;
	ck_assert_int_eq(hv_vm_restore(vm, &s, &why), -EINVAL);
	ck_assert_int_eq(hv_vm_restore(NULL, &s, &why), -EINVAL);
	/* The host decides DISABLED: a saved DISABLED on an APICv host does not stick. */
	s.apicv_inhibit_reasons = 1u << APICV_INHIBIT_REASON_DISABLED;
	s.apic_access_memslot_enabled = true;
	ck_assert_int_eq(hv_vm_restore(vm, &s, &why), 0);
	ck_assert_uint_eq(hv_vm_apicv_inhibit_reasons(vm), 0);
	ck_assert(hv_vm_is_apic_access_memslot_enabled(vm));
	hv_vm_free(vm);

	/* Without APICv there is no memslot to restore, and DISABLED is set whatever was saved. */
	make_host(true, "avic=off");
	ck_assert_int_eq(hv_vm_new(&hh, 2, NULL, &vm), 0);
	s.apicv_inhibit_reasons = 0;
	ck_assert_int_eq(hv_vm_restore(vm, &s, &why), -EINVAL);
	s.apic_access_memslot_enabled = false;
	ck_assert_int_eq(hv_vm_restore(vm, &s, &why), 0);
	ck_assert_uint_eq(hv_vm_apicv_inhibit_reasons(vm), 1u << APICV_INHIBIT_REASON_DISABLED);
	hv_vm_free(vm);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("vm-restore");
	TCase *tc = tcase_create("hv_vcpu_restore");

	tcase_add_test(tc, test_vcpu_restore_reads_back_identical);
	tcase_add_test(tc, test_vcpu_restore_keeps_cpuid_frozen);
	tcase_add_test(tc, test_vcpu_restore_refuses_unreachable_states);
	suite_add_tcase(s, tc);
	tc = tcase_create("hv_vm_restore");
	tcase_add_test(tc, test_vm_restore_keeps_memslot_inhibited);
	tcase_add_test(tc, test_vm_restore_refuses_unreachable_states);
	suite_add_tcase(s, tc);
	return test_run_suite(s);
}
