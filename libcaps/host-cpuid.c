/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Raw CPUID of this machine: every leaf and sub-leaf the CPU enumerates.
 *
 * Which sub-leaves exist is a per-leaf rule from the Intel SDM and the
 * AMD APM; a leaf not listed here has only sub-leaf 0.  Where a leaf
 * announces its own count, the count is clamped to CAPS_SUBLEAF_MAX so a
 * broken (or hostile, under a hypervisor) CPUID cannot run away.
 */

#include <cpuid.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <libcaps/host.h>

/* No leaf defines more than 64 sub-leaves (0xD has one per XSAVE component). */
#define CAPS_SUBLEAF_MAX 64
/* No vendor range defines more than 256 leaves (caps_cpuid_function_range()). */
#define CAPS_RANGE_MAX 0xff

struct reader {
	struct caps_dump *dump;
	int error;
};

static void raw_cpuid(uint32_t fn, uint32_t idx, struct caps_cpuid_entry *ret)
{
	unsigned a, b, c, d;

	__cpuid_count(fn, idx, a, b, c, d);
	*ret = (struct caps_cpuid_entry) {
		.function = fn, .index = idx, .eax = a, .ebx = b, .ecx = c, .edx = d,
	};
}

static const struct caps_cpuid_entry *emit(struct reader *r, uint32_t fn, uint32_t idx)
{
	struct caps_cpuid_entry e;
	struct caps_cpuid *c = &r->dump->cpuid;
	int ret;

	if (r->error)
		return NULL;
	raw_cpuid(fn, idx, &e);
	if (caps_cpuid_function_is_indexed(fn))
		e.flags = CAPS_CPUID_FLAG_SIGNIFICANT_INDEX;
	ret = caps_cpuid_add(c, &e);
	if (ret < 0) {
		r->error = ret;
		return NULL;
	}
	return &c->entries[c->nent - 1];
}

/* Sub-leaves 0..n, n taken from EAX of sub-leaf 0. */
static void emit_counted(struct reader *r, uint32_t fn)
{
	const struct caps_cpuid_entry *e = emit(r, fn, 0);
	uint32_t n;

	if (!e)
		return;
	n = e->eax < CAPS_SUBLEAF_MAX ? e->eax : CAPS_SUBLEAF_MAX;
	for (uint32_t i = 1; i <= n; i++)
		emit(r, fn, i);
}

/* Sub-leaf i for every bit i >= first set in mask. */
static void emit_mask(struct reader *r, uint32_t fn, uint64_t mask, uint32_t first)
{
	for (uint32_t i = first; i < CAPS_SUBLEAF_MAX; i++)
		if (mask & (UINT64_C(1) << i))
			emit(r, fn, i);
}

/*
 * Sub-leaves until one is "null"; the null one is included when it is
 * sub-leaf 0 (the leaf exists but enumerates nothing) or, for topology
 * leaves, because software reads it to find the end.
 */
static void emit_until(struct reader *r, uint32_t fn, bool (*is_last)(const struct caps_cpuid_entry *),
		       bool keep_last)
{
	for (uint32_t i = 0; i < CAPS_SUBLEAF_MAX; i++) {
		struct caps_cpuid_entry probe;

		raw_cpuid(fn, i, &probe);
		if (is_last(&probe)) {
			if (i == 0 || keep_last)
				emit(r, fn, i);
			return;
		}
		emit(r, fn, i);
	}
}

/* Cache leaves 4 and 0x8000_001D: cache type EAX[4:0] == 0 ends the list. */
static bool cache_is_last(const struct caps_cpuid_entry *e)
{
	return (e->eax & 0x1f) == 0;
}

/* Topology leaves 0xB, 0x1F, 0x8000_0026: level type ECX[15:8] == 0 ends it. */
static bool topology_is_last(const struct caps_cpuid_entry *e)
{
	return ((e->ecx >> 8) & 0xff) == 0;
}

/* SGX leaf 0x12 from sub-leaf 2 on: EPC section type EAX[3:0] == 0 ends it. */
static bool sgx_epc_is_last(const struct caps_cpuid_entry *e)
{
	return (e->eax & 0xf) == 0;
}

static void emit_basic_leaf(struct reader *r, uint32_t fn)
{
	const struct caps_cpuid_entry *e;

	switch (fn) {
	case 0x4:
		emit_until(r, fn, cache_is_last, false);
		break;
	case 0x7: case 0x14: case 0x17: case 0x18: case 0x1d: case 0x1e:
	case 0x20: case 0x24:
		/* Sub-leaf 0 EAX is the highest sub-leaf. */
		emit_counted(r, fn);
		break;
	case 0xb: case 0x1f:
		emit_until(r, fn, topology_is_last, true);
		break;
	case 0xd: {
		/* 0 and 1 always; then one per XCR0 or XSS state component. */
		const struct caps_cpuid_entry *s0 = emit(r, fn, 0);
		const struct caps_cpuid_entry *s1 = emit(r, fn, 1);
		uint64_t mask;

		if (!s0 || !s1)
			break;
		mask = s0->eax | (uint64_t)s0->edx << 32 | s1->ecx | (uint64_t)s1->edx << 32;
		emit_mask(r, fn, mask, 2);
		break;
	}
	case 0xf:
		/* Sub-leaf i for each resource type bit i of 0xF.0.EDX (RDT monitoring). */
		e = emit(r, fn, 0);
		if (e)
			emit_mask(r, fn, e->edx, 1);
		break;
	case 0x10:
		/* Sub-leaf i for each resource bit i of 0x10.0.EBX (RDT allocation). */
		e = emit(r, fn, 0);
		if (e)
			emit_mask(r, fn, e->ebx, 1);
		break;
	case 0x12: {
		/* 0, 1 always; EPC sections from 2 until an invalid one, if SGX. */
		const struct caps_cpuid_entry *l7 = caps_cpuid_find(&r->dump->cpuid, 7, 0);

		emit(r, fn, 0);
		emit(r, fn, 1);
		if (l7 && (l7->ebx & (1u << 2))) {
			for (uint32_t i = 2; i < CAPS_SUBLEAF_MAX; i++) {
				struct caps_cpuid_entry probe;

				raw_cpuid(fn, i, &probe);
				if (sgx_epc_is_last(&probe))
					break;
				emit(r, fn, i);
			}
		}
		break;
	}
	case 0x23:
		/* Architectural PMU extensions: 0.EBX is a bitmap of valid sub-leaves. */
		e = emit(r, fn, 0);
		if (e)
			emit_mask(r, fn, e->ebx, 1);
		break;
	default:
		emit(r, fn, 0);
		break;
	}
}

static void emit_ext_leaf(struct reader *r, uint32_t fn)
{
	const struct caps_cpuid_entry *e;

	switch (fn) {
	case 0x8000001d:
		emit_until(r, fn, cache_is_last, false);
		break;
	case 0x80000020:
		/* AMD PQoS: 0.EBX is a bitmap of the valid sub-leaves. */
		e = emit(r, fn, 0);
		if (e)
			emit_mask(r, fn, e->ebx, 1);
		break;
	case 0x80000026:
		emit_until(r, fn, topology_is_last, true);
		break;
	default:
		emit(r, fn, 0);
		break;
	}
}

/* Emit base..max of one range; max is clamped to the range's 256 leaves. */
static void emit_range(struct reader *r, uint32_t base, void (*leaf)(struct reader *, uint32_t))
{
	struct caps_cpuid_entry probe;
	uint32_t max;

	raw_cpuid(base, 0, &probe);
	max = probe.eax;
	if (max < base || max - base > CAPS_RANGE_MAX)
		max = max < base ? base : base + CAPS_RANGE_MAX;
	for (uint32_t fn = base; fn <= max && !r->error; fn++)
		leaf(r, fn);
}

static void emit_plain_leaf(struct reader *r, uint32_t fn)
{
	emit(r, fn, 0);
}

static bool vendor_is(const struct caps_dump *d, const char *vendor)
{
	struct caps_cpu_id id;

	return caps_cpu_id_decode(d, &id) == 0 && strcmp(id.vendor, vendor) == 0;
}

int caps_host_cpuid_read(struct caps_dump *ret)
{
	struct caps_dump *d;
	struct reader r;
	const struct caps_cpuid_entry *l1;
	struct caps_cpuid_entry probe;

	if (!__get_cpuid_max(0, NULL))
		return -EOPNOTSUPP;

	d = malloc(sizeof(*d));
	if (!d)
		return -ENOMEM;
	caps_dump_init(d);
	r = (struct reader) { .dump = d };

	emit_range(&r, 0x00000000, emit_basic_leaf);

	/* The hypervisor range exists only when CPUID.1.ECX.HYPERVISOR says so. */
	l1 = caps_cpuid_find(&d->cpuid, 1, 0);
	if (l1 && (l1->ecx & (1u << 31))) {
		raw_cpuid(0x40000000, 0, &probe);
		if (probe.eax >= 0x40000000 && probe.eax <= 0x400000ff)
			emit_range(&r, 0x40000000, emit_plain_leaf);
	}

	raw_cpuid(0x80000000, 0, &probe);
	if (probe.eax >= 0x80000000 && probe.eax <= 0x800000ff)
		emit_range(&r, 0x80000000, emit_ext_leaf);

	/*
	 * Other CPUs answer an out-of-range leaf with the highest basic leaf,
	 * so the Centaur and Transmeta ranges are read only on their CPUs.
	 */
	if (vendor_is(d, "CentaurHauls") || vendor_is(d, "  Shanghai  ")) {
		raw_cpuid(0xc0000000, 0, &probe);
		if (probe.eax >= 0xc0000000 && probe.eax <= 0xc00000ff)
			emit_range(&r, 0xc0000000, emit_plain_leaf);
	}
	if (vendor_is(d, "GenuineTMx86") || vendor_is(d, "TransmetaCPU")) {
		raw_cpuid(0x80860000, 0, &probe);
		if (probe.eax >= 0x80860000 && probe.eax <= 0x808600ff)
			emit_range(&r, 0x80860000, emit_plain_leaf);
	}

	if (!r.error)
		*ret = *d;
	free(d);
	return r.error;
}
