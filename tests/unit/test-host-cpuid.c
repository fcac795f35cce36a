/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * This machine's raw CPUID: the enumeration rules, agreement with the
 * `cpuid` tool, and agreement with the kernel's /proc/cpuinfo.
 */

#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>

#include <libcaps/dump.h>
#include <libcaps/host.h>

#include "test-util.h"

static struct caps_dump host;

/* Run on one CPU: leaves such as the APIC ID differ between CPUs. */
static void pin_to_cpu0(void)
{
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(0, &set);
	ck_assert_int_eq(sched_setaffinity(0, sizeof(set), &set), 0);
}

static void read_host(void)
{
	pin_to_cpu0();
	ck_assert_int_eq(caps_host_cpuid_read(&host), 0);
}

START_TEST(test_host_cpuid_covers_every_leaf_up_to_the_maxima)
{
	const struct caps_cpuid_entry *l0, *ext;

	read_host();
	ck_assert_uint_gt(host.cpuid.nent, 2);
	ck_assert_uint_le(host.cpuid.nent, CAPS_CPUID_MAX_ENTRIES);
	l0 = &host.cpuid.entries[0];
	ck_assert_uint_eq(l0->function, 0);
	for (uint32_t fn = 0; fn <= l0->eax && fn < 0x100; fn++)
		ck_assert_msg(caps_cpuid_find(&host.cpuid, fn, CAPS_CPUID_INDEX_ANY), "leaf 0x%x missing", fn);
	ext = caps_cpuid_find(&host.cpuid, 0x80000000, 0);
	ck_assert_ptr_nonnull(ext);
	for (uint32_t fn = 0x80000000; fn <= ext->eax && fn < 0x80000100; fn++)
		ck_assert_msg(caps_cpuid_find(&host.cpuid, fn, CAPS_CPUID_INDEX_ANY), "leaf 0x%x missing", fn);

	for (size_t i = 0; i < host.cpuid.nent; i++) {
		const struct caps_cpuid_entry *e = &host.cpuid.entries[i];
		uint32_t base;

		ck_assert_int_eq(caps_cpuid_function_range(e->function, &base), 0);
		if (base == 0)
			ck_assert_uint_le(e->function, l0->eax);
		if (base == 0x80000000)
			ck_assert_uint_le(e->function, ext->eax);
		/* Exactly KVM's indexed functions carry SIGNIFICANT_INDEX. */
		ck_assert_uint_eq(!!(e->flags & CAPS_CPUID_FLAG_SIGNIFICANT_INDEX),
				  caps_cpuid_function_is_indexed(e->function));
		if (!caps_cpuid_function_is_indexed(e->function) && e->function != 0x23 &&
		    e->function != 0x80000020 && e->function != 0x80000026 && e->function != 0x20)
			ck_assert_msg(e->index == 0, "leaf 0x%x has sub-leaf %u", e->function, e->index);
	}
}
END_TEST

START_TEST(test_host_cpuid_xsave_subleaves_follow_the_component_mask)
{
	const struct caps_cpuid_entry *d0, *d1;
	uint64_t mask;

	read_host();
	d0 = caps_cpuid_find(&host.cpuid, 0xd, 0);
	d1 = caps_cpuid_find(&host.cpuid, 0xd, 1);
	if (!d0 || !d1)
		return;	/* no XSAVE leaf on this CPU: nothing to enumerate */
	mask = d0->eax | (uint64_t)d0->edx << 32 | d1->ecx | (uint64_t)d1->edx << 32;
	for (uint32_t i = 2; i < 64; i++)
		ck_assert_msg(!!caps_cpuid_find(&host.cpuid, 0xd, i) == !!(mask & (UINT64_C(1) << i)),
			      "0xD sub-leaf %u vs component mask 0x%llx", i, (unsigned long long)mask);
}
END_TEST

START_TEST(test_host_cpuid_leaf7_subleaves_follow_eax)
{
	const struct caps_cpuid_entry *l7;

	read_host();
	l7 = caps_cpuid_find(&host.cpuid, 7, 0);
	if (!l7)
		return;	/* pre-2013 CPU: no leaf 7 */
	for (uint32_t i = 0; i < 8; i++)
		ck_assert_msg(!!caps_cpuid_find(&host.cpuid, 7, i) == (i <= l7->eax),
			      "leaf 7 sub-leaf %u vs max %u", i, l7->eax);
}
END_TEST

/*
 * The `cpuid` tool (Debian package cpuid) reads the same CPU with its own
 * enumeration: every entry both read must be equal, and every entry only
 * the tool has must be an empty probe (a range or sub-leaf this CPU does
 * not have), or the enumeration missed a leaf.
 */
START_TEST(test_host_cpuid_agrees_with_the_cpuid_tool)
{
	static struct caps_dump tool;
	static char buf[CAPS_DUMP_MAX_BYTES];
	struct caps_dump_error err = { 0 };
	size_t len;
	FILE *p;
	int r;

	read_host();
	/* The child inherits this process's pinning to CPU 0. */
	p = popen("cpuid -r -1 2>/dev/null", "re");
	ck_assert_ptr_nonnull(p);
	len = fread(buf, 1, sizeof(buf), p);
	if (pclose(p) != 0 || len == 0) {
		fprintf(stderr, "SKIP: the cpuid tool is not installed\n");
		return;
	}
	r = caps_dump_parse(buf, len, CAPS_DUMP_CPUID_R, &tool, &err);
	ck_assert_msg(r == 0, "cpuid -r -1: line %u: %s", err.line, err.message);

	for (size_t i = 0; i < host.cpuid.nent; i++) {
		const struct caps_cpuid_entry *e = &host.cpuid.entries[i];
		const struct caps_cpuid_entry *t = caps_cpuid_find(&tool.cpuid, e->function, e->index);

		ck_assert_msg(t && t->index == e->index, "0x%x.%u: not read by the cpuid tool",
			      e->function, e->index);
		ck_assert_msg(t->eax == e->eax && t->ebx == e->ebx && t->ecx == e->ecx && t->edx == e->edx,
			      "0x%x.%u: differs from the cpuid tool", e->function, e->index);
	}
	for (size_t i = 0; i < tool.cpuid.nent; i++) {
		const struct caps_cpuid_entry *t = &tool.cpuid.entries[i];
		const struct caps_cpuid_entry *e = caps_cpuid_find(&host.cpuid, t->function, t->index);

		if (e && e->index == t->index)
			continue;
		ck_assert_msg(!t->eax && !t->ebx && !t->ecx && !t->edx,
			      "0x%x.%u: the cpuid tool reads data here that hvcap misses",
			      t->function, t->index);
	}
}
END_TEST

/* The first value of a "key : value" line of /proc/cpuinfo. */
static int cpuinfo_field(const char *key, char *buf, size_t size)
{
	FILE *f = fopen("/proc/cpuinfo", "re");
	static char line[16384];
	size_t klen = strlen(key);
	int r = -ENOENT;

	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f)) {
		char *colon;

		if (strncmp(line, key, klen) != 0 || (line[klen] != ' ' && line[klen] != '\t' && line[klen] != ':'))
			continue;
		colon = strchr(line, ':');
		if (!colon)
			continue;
		colon += 1 + (colon[1] == ' ');
		colon[strcspn(colon, "\n")] = '\0';
		snprintf(buf, size, "%s", colon);
		r = 0;
		break;
	}
	fclose(f);
	return r;
}

START_TEST(test_host_cpuid_identity_matches_proc_cpuinfo)
{
	struct caps_cpu_id id;
	char buf[256];

	read_host();
	ck_assert_int_eq(caps_cpu_id_decode(&host, &id), 0);
	if (cpuinfo_field("vendor_id", buf, sizeof(buf)) < 0)
		return;
	ck_assert_str_eq(id.vendor, buf);
	ck_assert_int_eq(cpuinfo_field("cpu family", buf, sizeof(buf)), 0);
	ck_assert_uint_eq(id.family, strtoul(buf, NULL, 10));
	ck_assert_int_eq(cpuinfo_field("model", buf, sizeof(buf)), 0);
	ck_assert_uint_eq(id.model, strtoul(buf, NULL, 10));
	ck_assert_int_eq(cpuinfo_field("stepping", buf, sizeof(buf)), 0);
	ck_assert_uint_eq(id.stepping, strtoul(buf, NULL, 10));
}
END_TEST

/*
 * Where the kernel's flags legitimately differ from raw CPUID.  Each row
 * says who changed what: the kernel clears bits it will not use and sets
 * flags it derives from other sources.  A difference not listed here is a
 * catalog error (a wrong bit or a wrong name).
 */
enum proc_direction {
	KERNEL_CLEARED,		/* set in CPUID, absent from /proc/cpuinfo */
	KERNEL_SET,		/* absent from CPUID, present in /proc/cpuinfo */
};

static const struct {
	const char *name;
	enum proc_direction dir;
	const char *why;
} proc_exceptions[] = {
	/* The kernel clears what it will not use. */
	{ "la57", KERNEL_CLEARED, "the kernel runs 4-level paging (no5lvl, or no CONFIG_X86_5LEVEL)" },
	{ "x2apic", KERNEL_CLEARED, "the kernel runs the APIC in xAPIC mode (nox2apic)" },
	{ "tsc_deadline_timer", KERNEL_CLEARED, "the kernel found the TSC-deadline erratum in this microcode" },
	{ "hle", KERNEL_CLEARED, "the kernel disabled TSX (tsx=off or the TAA mitigation)" },
	{ "rtm", KERNEL_CLEARED, "the kernel disabled TSX (tsx=off or the TAA mitigation)" },
	{ "pku", KERNEL_CLEARED, "the kernel does not use protection keys (nopku, or no CONFIG_X86_INTEL_MEMORY_PROTECTION_KEYS)" },
	{ "vmx", KERNEL_CLEARED, "firmware left VMX disabled in IA32_FEAT_CTL" },
	{ "sgx", KERNEL_CLEARED, "firmware left SGX disabled in IA32_FEAT_CTL" },
	/* The kernel sets what it knows the CPU has without saying so. */
	{ "arat", KERNEL_SET, "the kernel sets ARAT on AMD families after 0x11 and on every Hygon CPU" },
	{ "3dnowprefetch", KERNEL_SET, "the kernel sets PREFETCHW on AMD CPUs with 3DNow or long mode" },
};

static const char *proc_exception(const char *name, enum proc_direction dir)
{
	for (size_t i = 0; i < sizeof(proc_exceptions) / sizeof(proc_exceptions[0]); i++)
		if (proc_exceptions[i].name && proc_exceptions[i].dir == dir &&
		    strcmp(proc_exceptions[i].name, name) == 0)
			return proc_exceptions[i].why;
	return NULL;
}

static bool flag_listed(const char *flags, const char *name)
{
	size_t len = strlen(name);

	for (const char *p = flags; (p = strstr(p, name)); p += len)
		if ((p == flags || p[-1] == ' ') && (p[len] == ' ' || p[len] == '\0'))
			return true;
	return false;
}

START_TEST(test_host_cpuid_flags_match_proc_cpuinfo)
{
	static char flags[16384];
	struct caps present;
	char msg[8192] = "";
	unsigned compared = 0, bad = 0;

	read_host();
	if (cpuinfo_field("flags", flags, sizeof(flags)) < 0) {
		fprintf(stderr, "no /proc/cpuinfo flags line: nothing to compare\n");
		return;
	}
	caps_from_dump(&present, &host);
	for (size_t i = 0; i < caps_feature_count(); i++) {
		const struct caps_feature_info *fi = caps_feature_at(i);
		bool in_cpuid = caps_has(&present, fi->id);
		bool in_proc = flag_listed(flags, fi->name);
		enum proc_direction dir = in_cpuid ? KERNEL_CLEARED : KERNEL_SET;
		size_t len = strlen(msg);

		if (!(fi->flags & CAPS_FF_PROC))
			continue;
		compared++;
		if (in_cpuid == in_proc || proc_exception(fi->name, dir))
			continue;
		bad++;
		snprintf(msg + len, sizeof(msg) - len, "\n  %s: %s", fi->name,
			 in_cpuid ? "set in CPUID, not in /proc/cpuinfo" : "in /proc/cpuinfo, not set in CPUID");
	}
	fprintf(stderr, "compared %u /proc/cpuinfo flags\n", compared);
	ck_assert_uint_gt(compared, 50);
	ck_assert_msg(bad == 0, "%u unexplained differences:%s", bad, msg);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("host-cpuid");
	TCase *tc;

	tc = tcase_create("enumeration");
	tcase_add_test(tc, test_host_cpuid_covers_every_leaf_up_to_the_maxima);
	tcase_add_test(tc, test_host_cpuid_xsave_subleaves_follow_the_component_mask);
	tcase_add_test(tc, test_host_cpuid_leaf7_subleaves_follow_eax);
	tcase_add_test(tc, test_host_cpuid_agrees_with_the_cpuid_tool);
	suite_add_tcase(s, tc);

	tc = tcase_create("kernel");
	tcase_add_test(tc, test_host_cpuid_identity_matches_proc_cpuinfo);
	tcase_add_test(tc, test_host_cpuid_flags_match_proc_cpuinfo);
	suite_add_tcase(s, tc);

	return test_run_suite(s);
}
