/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Migration checks (DESIGN.md §4): can a guest created on one host, with
 * the CPUID its VMM gave KVM_SET_CPUID2 there, run on another host after
 * live migration?  The guest keeps its CPUID (the VMM replays it on the
 * destination), so the question is what the destination's KVM must back
 * of it, field by field, not register by register (Cloud Hypervisor's
 * whole-register rules cannot tell MAXPHYADDR from the linear address
 * width packed beside it):
 *
 *   every feature bit             a subset of what KVM there supports
 *   invtsc                        blocks: the TSC rate differs between hosts
 *   XCR0/XSS components           a subset; each one's size, offset and
 *                                 alignment equal (XSAVE buffers move as they are)
 *   MAXPHYADDR, GuestPhysBits     not greater than the destination's
 *   RapSize (with ERAPS)          equal
 *   AVX10 version (with AVX10)    not greater
 *   AMX palette and TMUL limits   equal
 *   PMU version, counters, widths not greater; events available there too
 *   CLFLUSH line size             equal to the destination CPU's
 *   cache descriptors (0x4, 0x8000_001D)  a warning when they differ
 *   vendor                        the same
 *
 * The maximum basic and extended leaves are not held to the destination's:
 * KVM answers CPUID from the VMM's table, so leaves beyond the
 * destination's maximum are the VMM's to fill (frequencies, topology), and
 * every feature or number they hold is checked above on its own.  A guest
 * maximum above the destination's is a warning.
 */

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <hvcore/fleet.h>

struct check {
	const struct caps_cpuid *guest;
	const struct hv_policy_target *dest;
	const struct caps_cpuid *sup;	/* what KVM on the destination supports */
	enum caps_names names;
	struct caps_migration *ret;
	struct caps emulated;		/* KVM_GET_EMULATED_CPUID on the destination */
	struct caps blocked;		/* features a bit_subset blocker names already */
};

/* A register of the entry KVM's lookup finds, or 0 without one. */
static uint32_t reg_of(const struct caps_cpuid *c, uint32_t function, uint32_t index, enum caps_reg reg)
{
	const struct caps_cpuid_entry *e = caps_cpuid_find(c, function, index);

	return e ? caps_cpuid_entry_reg(e, reg) : 0;
}

/* The entry of exactly (function, index): XSAVE sub-leaves must not fall back to another. */
static const struct caps_cpuid_entry *entry_exact(const struct caps_cpuid *c, uint32_t function, uint32_t index)
{
	for (size_t i = 0; i < c->nent; i++)
		if (c->entries[i].function == function && c->entries[i].index == index)
			return &c->entries[i];
	return NULL;
}

static uint32_t field_of(uint32_t v, unsigned lsb, unsigned msb)
{
	uint32_t mask = msb - lsb >= 31 ? UINT32_MAX : ((UINT32_C(1) << (msb - lsb + 1)) - 1);

	return (v >> lsb) & mask;
}

/* The catalog name of a feature, or "CPUID_7_0_EBX[5]" for an unnamed bit. */
static void feature_label(const struct check *ck, int feature, char *buf, size_t size)
{
	const char *name = caps_feature_name(feature, ck->names);

	if (name)
		snprintf(buf, size, "%s", name);
	else
		snprintf(buf, size, "%s[%d]", caps_word_info(caps_feature_word(feature))->name,
			 caps_feature_bit(feature));
}

static struct caps_migrate_blocker *blocker(struct check *ck, const char *feature, enum caps_migrate_rule rule,
					  const char *field, uint32_t function, uint32_t index, enum caps_reg reg,
					  unsigned lsb, unsigned msb, uint64_t source, uint64_t destination,
					  const char *fmt, ...) __attribute__((format(printf, 12, 13)));

static struct caps_migrate_blocker *blocker(struct check *ck, const char *feature, enum caps_migrate_rule rule,
					  const char *field, uint32_t function, uint32_t index, enum caps_reg reg,
					  unsigned lsb, unsigned msb, uint64_t source, uint64_t destination,
					  const char *fmt, ...)
{
	struct caps_migration *ret = ck->ret;
	struct caps_migrate_blocker *b;
	va_list ap;

	ret->ok = false;
	if (ret->n_blockers++ >= CAPS_MIGRATE_MAX_BLOCKERS)
		return NULL;	/* the answer stands; the list is full */
	b = &ret->blockers[ret->n_blockers - 1];
	memset(b, 0, sizeof(*b));
	snprintf(b->feature, sizeof(b->feature), "%s", feature);
	b->rule = rule;
	snprintf(b->field, sizeof(b->field), "%s", field);
	b->function = function;
	b->index = index;
	b->reg = reg;
	b->lsb = (uint8_t)lsb;
	b->msb = (uint8_t)msb;
	b->source = source;
	b->destination = destination;
	va_start(ap, fmt);
	vsnprintf(b->detail, sizeof(b->detail), fmt, ap);
	va_end(ap);
	return b;
}

static void warning(struct check *ck, const char *feature, const char *reason, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static void warning(struct check *ck, const char *feature, const char *reason, const char *fmt, ...)
{
	struct caps_migration *ret = ck->ret;
	struct caps_migrate_warning *w;
	va_list ap;

	if (ret->n_warnings >= CAPS_MIGRATE_MAX_WARNINGS)
		return;
	w = &ret->warnings[ret->n_warnings++];
	snprintf(w->feature, sizeof(w->feature), "%s", feature);
	snprintf(w->reason, sizeof(w->reason), "%s", reason);
	va_start(ap, fmt);
	vsnprintf(w->detail, sizeof(w->detail), fmt, ap);
	va_end(ap);
}

static void check_vendor(struct check *ck)
{
	char guest[13], dest[13];
	struct caps_migrate_blocker *b;

	hv_cpuid_vendor(ck->guest, guest);
	hv_cpuid_vendor(ck->sup, dest);
	if (strcmp(guest, dest) == 0)
		return;
	b = blocker(ck, "vendor", CAPS_MIGRATE_SAME_VENDOR, "vendor", 0, 0, CAPS_REG_EBX, 0, 31, 0, 0,
		    "The guest's CPU is a %s; the destination's is a %s: KVM does not move guests between vendors.",
		    guest[0] ? guest : "(none)", dest[0] ? dest : "(none)");
	if (b) {
		memcpy(b->source_vendor, guest, sizeof(guest));
		memcpy(b->destination_vendor, dest, sizeof(dest));
	}
}

/* Every feature bit of the guest's CPUID words, against the destination's supported bits. */
static void check_feature_bits(struct check *ck)
{
	const struct hv_feature_status *status = ck->dest->status;

	for (int w = 0; w < NR_CAPS_WORDS; w++) {
		const struct caps_word_info *wi = caps_word_info(w);
		uint32_t g, d;

		if (wi->kind == CAPS_WORD_MSR)
			continue;	/* the guest CPUID carries no MSR */
		g = reg_of(ck->guest, wi->function, wi->index, wi->reg) & ~wi->field_mask;
		d = reg_of(ck->sup, wi->function, wi->index, wi->reg) & ~wi->field_mask;
		for (int bit = 0; bit < 32; bit++) {
			int f = w * 32 + bit;
			char name[CAPS_POLICY_FEATURE_NAME_MAX + 1];
			char why[CAPS_EVAL_TEXT_MAX];
			struct caps_migrate_blocker *b;

			if (!(g & (UINT32_C(1) << bit)))
				continue;
			feature_label(ck, f, name, sizeof(name));
			if (hv_feature_breaks_migration(f)) {
				blocker(ck, name, CAPS_MIGRATE_NOT_MIGRATABLE, "feature bit", wi->function, wi->index,
					wi->reg, (unsigned)bit, (unsigned)bit, 1, (d >> bit) & 1,
					"The guest has %s, which breaks live migration: the TSC rate differs between hosts.",
					name);
				continue;
			}
			if (d & (UINT32_C(1) << bit))
				continue;
			/* Bits that mirror run-time state (OSXSAVE, OSPKE) are the vCPU's, not the host's. */
			if (status[f].reason == HV_REASON_RUNTIME_ONLY)
				continue;
			if (caps_has(&ck->emulated, f)) {
				warning(ck, name, "emulated_on_destination",
					"KVM on the destination does not offer %s natively but emulates it: every use traps.",
					name);
				continue;
			}
			caps_set(&ck->blocked, f);
			hv_feature_status_string(&status[f], why, sizeof(why));
			b = blocker(ck, name, CAPS_MIGRATE_BIT_SUBSET, "feature bit", wi->function, wi->index, wi->reg,
				    (unsigned)bit, (unsigned)bit, 1, 0,
				    "The guest has %s; KVM on the destination does not support it (%s).", name, why);
			if (b) {
				b->has_reason = true;
				b->reason = status[f].reason;
				snprintf(b->reason_name, sizeof(b->reason_name), "%s",
					 hv_reason_name((enum hv_reason)status[f].reason));
				b->reason_detail = status[f].detail;
			}
		}
	}
}

/* The feature an XSAVE state component serves, or -1. */
static int xsave_component_feature(unsigned c)
{
	switch (c) {
	case 0: return X86_FEATURE_FPU;
	case 1: return X86_FEATURE_XMM;
	case 2: return X86_FEATURE_AVX;
	case 3: case 4: return X86_FEATURE_MPX;
	case 5: case 6: case 7: return X86_FEATURE_AVX512F;
	case 8: return X86_FEATURE_INTEL_PT;
	case 9: return X86_FEATURE_PKU;
	case 10: return X86_FEATURE_ENQCMD;	/* PASID */
	case 11: case 12: return X86_FEATURE_SHSTK;	/* CET user and supervisor state */
	case 14: return X86_FEATURE_UINTR;
	case 15: return X86_FEATURE_ARCH_LBR;
	case 17: case 18: return X86_FEATURE_AMX_TILE;
	case 19: return X86_FEATURE_APX;
	default: return -1;
	}
}

static void component_label(const struct check *ck, unsigned c, char *buf, size_t size)
{
	int f = xsave_component_feature(c);

	if (f >= 0)
		feature_label(ck, f, buf, size);
	else
		snprintf(buf, size, "xsave_component_%u", c);
}

/* The components of an XCR0 (0xD.0 EAX/EDX) or XSS (0xD.1 ECX/EDX) mask, against the destination's. */
static void check_xsave_mask(struct check *ck, uint32_t index, enum caps_reg lo, const char *what,
			     uint64_t guest, uint64_t dest)
{
	uint64_t missing = guest & ~dest;

	for (unsigned c = 0; c < 64; c++) {
		char name[CAPS_POLICY_FEATURE_NAME_MAX + 1], field[CAPS_MIGRATE_FIELD_MAX];
		int f = xsave_component_feature(c);

		if (!(missing & (UINT64_C(1) << c)))
			continue;
		if (f >= 0 && caps_has(&ck->blocked, f))
			continue;	/* the feature's own blocker says it */
		component_label(ck, c, name, sizeof(name));
		snprintf(field, sizeof(field), "XSAVE component %u (%s)", c, what);
		blocker(ck, name, CAPS_MIGRATE_BIT_SUBSET, field, 0xd, index, c < 32 ? lo : CAPS_REG_EDX, c % 32, c % 32,
			1, 0, "The guest's %s has XSAVE component %u (%s); KVM on the destination does not support it.",
			what, c, name);
	}
}

/*
 * Each state component the guest has must be laid out alike there: its
 * size, its offset in the standard format (user components) and its
 * 64-byte alignment in the compacted one, which the hardware applies and
 * the guest reads from its CPUID.
 */
static void check_xsave_layout(struct check *ck, uint64_t components)
{
	static const struct {
		enum caps_reg reg;
		unsigned lsb, msb;
		const char *what;
	} parts[] = {
		{ CAPS_REG_EAX, 0, 31, "size" },
		{ CAPS_REG_EBX, 0, 31, "offset" },
		{ CAPS_REG_ECX, 1, 1, "alignment" },
	};

	for (unsigned c = 2; c < 64; c++) {
		const struct caps_cpuid_entry *g, *d;

		if (!(components & (UINT64_C(1) << c)))
			continue;
		g = entry_exact(ck->guest, 0xd, c);
		d = entry_exact(ck->sup, 0xd, c);
		if (!g || !d)
			continue;	/* a component the destination lacks is blocked above */
		for (size_t i = 0; i < sizeof(parts) / sizeof(parts[0]); i++) {
			uint32_t gv = field_of(caps_cpuid_entry_reg(g, parts[i].reg), parts[i].lsb, parts[i].msb);
			uint32_t dv = field_of(caps_cpuid_entry_reg(d, parts[i].reg), parts[i].lsb, parts[i].msb);
			char name[CAPS_POLICY_FEATURE_NAME_MAX + 1], field[CAPS_MIGRATE_FIELD_MAX];

			/* Supervisor components (ECX[0]) have no standard-format offset. */
			if (parts[i].reg == CAPS_REG_EBX && (g->ecx & 1))
				continue;
			if (gv == dv)
				continue;
			component_label(ck, c, name, sizeof(name));
			snprintf(field, sizeof(field), "XSAVE component %u %s", c, parts[i].what);
			blocker(ck, name, CAPS_MIGRATE_EQUAL, field, 0xd, c, parts[i].reg, parts[i].lsb, parts[i].msb, gv, dv,
				"The guest's XSAVE component %u (%s) has %s %u; the destination's has %u.", c, name,
				parts[i].what, gv, dv);
		}
	}
}

static bool guest_has(const struct check *ck, int feature);

/*
 * The supervisor components a guest can use: none without XSAVES, and
 * only those of its features (CET state with SHSTK or IBT).  A guest
 * CPUID may list the host's XSS components regardless.
 */
static uint64_t usable_xss(const struct check *ck, uint64_t xss)
{
	if (!guest_has(ck, X86_FEATURE_XSAVES))
		return 0;
	for (unsigned c = 0; c < 64; c++) {
		int f = xsave_component_feature(c);
		bool has = f < 0 || guest_has(ck, f) || (f == X86_FEATURE_SHSTK && guest_has(ck, X86_FEATURE_IBT));

		if (!has)
			xss &= ~(UINT64_C(1) << c);
	}
	return xss;
}

static void check_xsave(struct check *ck)
{
	uint64_t gx = reg_of(ck->guest, 0xd, 0, CAPS_REG_EAX) | (uint64_t)reg_of(ck->guest, 0xd, 0, CAPS_REG_EDX) << 32;
	uint64_t dx = reg_of(ck->sup, 0xd, 0, CAPS_REG_EAX) | (uint64_t)reg_of(ck->sup, 0xd, 0, CAPS_REG_EDX) << 32;
	uint64_t gs = reg_of(ck->guest, 0xd, 1, CAPS_REG_ECX) | (uint64_t)reg_of(ck->guest, 0xd, 1, CAPS_REG_EDX) << 32;
	uint64_t ds = reg_of(ck->sup, 0xd, 1, CAPS_REG_ECX) | (uint64_t)reg_of(ck->sup, 0xd, 1, CAPS_REG_EDX) << 32;

	/* Without XSAVE the guest has no XSAVE state to move, whatever leaf 0xD says. */
	if (!entry_exact(ck->guest, 0xd, 0) || !guest_has(ck, X86_FEATURE_XSAVE))
		return;
	check_xsave_mask(ck, 0, CAPS_REG_EAX, "XCR0", gx, dx);
	gs = usable_xss(ck, gs);
	if (entry_exact(ck->guest, 0xd, 1))
		check_xsave_mask(ck, 1, CAPS_REG_ECX, "XSS", gs, ds);
	check_xsave_layout(ck, (gx & dx) | (gs & ds));
}

/* The guest's MAXPHYADDR as KVM reads it (cpuid_query_maxphyaddr()): 36 without 0x8000_0008. */
static int guest_maxphyaddr(const struct caps_cpuid *c)
{
	const struct caps_cpuid_entry *ext = caps_cpuid_find(c, 0x80000000, 0);
	const struct caps_cpuid_entry *e = caps_cpuid_find(c, 0x80000008, 0);

	if (!ext || ext->eax < 0x80000008 || !e)
		return 36;
	return (int)(e->eax & 0xff);
}

static void check_phys_bits(struct check *ck)
{
	int gp = guest_maxphyaddr(ck->guest), dp = guest_maxphyaddr(ck->sup);
	int gw, dw = hv_supported_guest_phys_bits(ck->sup);
	uint32_t gguest = field_of(reg_of(ck->guest, 0x80000008, 0, CAPS_REG_EAX), 16, 23);

	if (gp > dp) {
		blocker(ck, "phys_bits", CAPS_MIGRATE_NOT_GREATER, "MAXPHYADDR", 0x80000008, 0, CAPS_REG_EAX, 0, 7,
			(uint64_t)gp, (uint64_t)dp,
			"The guest has %d physical address bits; KVM on the destination supports %d.", gp, dp);
		return;
	}
	/* What the guest may use: MAXPHYADDR, narrowed by the GuestPhysBits it was told. */
	gw = gguest && (int)gguest < gp ? (int)gguest : gp;
	if (gw > dw)
		blocker(ck, "phys_bits", CAPS_MIGRATE_NOT_GREATER, "GuestPhysBits", 0x80000008, 0, CAPS_REG_EAX, 16, 23,
			(uint64_t)gw, (uint64_t)dw,
			"The guest may use %d-bit guest-physical addresses; TDP on the destination maps %d.", gw, dw);
}

/* A number the destination must reach, when the guest has feature (-1: always). */
static void not_greater(struct check *ck, int feature, const char *label, const char *field, uint32_t function,
			uint32_t index, enum caps_reg reg, unsigned lsb, unsigned msb)
{
	uint32_t g = field_of(reg_of(ck->guest, function, index, reg), lsb, msb);
	uint32_t d = field_of(reg_of(ck->sup, function, index, reg), lsb, msb);
	char name[CAPS_POLICY_FEATURE_NAME_MAX + 1];

	if (g <= d)
		return;
	if (feature >= 0)
		feature_label(ck, feature, name, sizeof(name));
	else
		snprintf(name, sizeof(name), "%s", label);
	blocker(ck, name, CAPS_MIGRATE_NOT_GREATER, field, function, index, reg, lsb, msb, g, d,
		"The guest's %s is %u; KVM on the destination supports %u.", field, g, d);
}

/* A number that must match the destination's in table dest (KVM's supported CPUID, or the CPU's own). */
static void equal_in(struct check *ck, const struct caps_cpuid *dest, int feature, const char *field,
		     uint32_t function, uint32_t index, enum caps_reg reg, unsigned lsb, unsigned msb)
{
	uint32_t g = field_of(reg_of(ck->guest, function, index, reg), lsb, msb);
	uint32_t d = field_of(reg_of(dest, function, index, reg), lsb, msb);
	char name[CAPS_POLICY_FEATURE_NAME_MAX + 1];

	if (g == d)
		return;
	feature_label(ck, feature, name, sizeof(name));
	blocker(ck, name, CAPS_MIGRATE_EQUAL, field, function, index, reg, lsb, msb, g, d,
		"The guest's %s is %u; the destination's is %u.", field, g, d);
}

/* A number that must match what KVM on the destination supports, as not_greater(). */
static void equal(struct check *ck, int feature, const char *field, uint32_t function, uint32_t index,
		  enum caps_reg reg, unsigned lsb, unsigned msb)
{
	equal_in(ck, ck->sup, feature, field, function, index, reg, lsb, msb);
}

static bool guest_has(const struct check *ck, int feature)
{
	const struct caps_word_info *wi = caps_word_info(caps_feature_word(feature));

	return reg_of(ck->guest, wi->function, wi->index, wi->reg) & caps_feature_mask(feature);
}

/* Numbers that come with a feature the destination also has (without it, its bit blocks). */
static bool both_have(const struct check *ck, int feature)
{
	return guest_has(ck, feature) && caps_has(&ck->dest->record->features, feature);
}

static void check_feature_numbers(struct check *ck)
{
	/* ERAPS: the guest relies on the RAP depth it was told (0x8000_0021.EBX[23:16]). */
	if (both_have(ck, X86_FEATURE_ERAPS))
		equal(ck, X86_FEATURE_ERAPS, "RapSize", 0x80000021, 0, CAPS_REG_EBX, 16, 23);
	/* AVX10: the version numbers the instruction set; a lower one lacks instructions. */
	if (both_have(ck, X86_FEATURE_AVX10))
		not_greater(ck, X86_FEATURE_AVX10, NULL, "AVX10 version", 0x24, 0, CAPS_REG_EBX, 0, 7);
	/* AMX: the palette's tile geometry and TMUL limits are what the guest programs for. */
	if (both_have(ck, X86_FEATURE_AMX_TILE)) {
		equal(ck, X86_FEATURE_AMX_TILE, "AMX palette 1 total and per-tile bytes", 0x1d, 1, CAPS_REG_EAX, 0, 31);
		equal(ck, X86_FEATURE_AMX_TILE, "AMX palette 1 bytes per row and names", 0x1d, 1, CAPS_REG_EBX, 0, 31);
		equal(ck, X86_FEATURE_AMX_TILE, "AMX palette 1 max rows", 0x1d, 1, CAPS_REG_ECX, 0, 15);
		equal(ck, X86_FEATURE_AMX_TILE, "TMUL maxk and maxn", 0x1e, 0, CAPS_REG_EBX, 0, 31);
	}
}

/*
 * Caches.  The guest flushes with the CLFLUSH line size it was told (leaf
 * 1 EBX[15:8], in 8-byte units): on a CPU with another line size it would
 * leave parts of lines unflushed, so the destination CPU's must be equal.
 * The cache descriptors (leaf 4, and 0x8000_001D on AMD: type, level,
 * ways, partitions, line size, sets) are the VMM's to describe and KVM
 * passes them through: a guest's that differ from the destination CPU's
 * are a warning (caches_differ), as the guest sized itself for caches it
 * no longer has.  The topology leaves (0xB, 0x1F, 0x8000_001E) describe
 * the VM's own vCPUs, not the host's, and are not compared.
 */
static void check_caches(struct check *ck)
{
	static const uint32_t leaves[] = { 0x4, 0x8000001d };
	const struct caps_cpuid *cpu = ck->dest->raw;

	if (guest_has(ck, X86_FEATURE_CLFLUSH) && caps_cpuid_find(cpu, 1, 0))
		equal_in(ck, cpu, X86_FEATURE_CLFLUSH, "CLFLUSH line size", 1, 0, CAPS_REG_EBX, 8, 15);
	for (size_t l = 0; l < sizeof(leaves) / sizeof(leaves[0]); l++) {
		for (size_t i = 0; i < ck->guest->nent; i++) {
			const struct caps_cpuid_entry *g = &ck->guest->entries[i], *d;

			/* EAX[4:0] 0: no more caches. */
			if (g->function != leaves[l] || !(g->eax & 0x1f))
				continue;
			d = entry_exact(cpu, g->function, g->index);
			if (d && (g->eax & 0xff) == (d->eax & 0xff) && g->ebx == d->ebx && g->ecx == d->ecx)
				continue;
			warning(ck, "cache", "caches_differ",
				"The guest's cache %u (CPUID 0x%x.%u: level %u) is %s the destination CPU's: it "
				"sized itself for caches it will not have.", g->index, g->function, g->index,
				(g->eax >> 5) & 7, d ? "not" : "not among");
			break;	/* one warning per leaf */
		}
	}
}

static uint32_t low_bits(uint32_t n)
{
	return n >= 32 ? UINT32_MAX : (UINT32_C(1) << n) - 1;
}

/* The guest's vPMU must exist there: as many counters, as wide, the same events. */
static void check_pmu(struct check *ck)
{
	uint32_t geax = reg_of(ck->guest, 0xa, 0, CAPS_REG_EAX), deax = reg_of(ck->sup, 0xa, 0, CAPS_REG_EAX);
	uint32_t glen = field_of(geax, 24, 31), dlen = field_of(deax, 24, 31), avail_g, avail_d;

	if (field_of(geax, 0, 7)) {
		not_greater(ck, -1, "pmu", "PMU version", 0xa, 0, CAPS_REG_EAX, 0, 7);
		not_greater(ck, -1, "pmu", "PMU general-purpose counters", 0xa, 0, CAPS_REG_EAX, 8, 15);
		not_greater(ck, -1, "pmu", "PMU counter width", 0xa, 0, CAPS_REG_EAX, 16, 23);
		not_greater(ck, -1, "pmu", "PMU fixed counters", 0xa, 0, CAPS_REG_EDX, 0, 4);
		not_greater(ck, -1, "pmu", "PMU fixed counter width", 0xa, 0, CAPS_REG_EDX, 5, 12);
		/* EBX[i] clear: event i is available, for i below the length in EAX[31:24]. */
		avail_g = ~reg_of(ck->guest, 0xa, 0, CAPS_REG_EBX) & low_bits(glen);
		avail_d = ~reg_of(ck->sup, 0xa, 0, CAPS_REG_EBX) & low_bits(dlen);
		if (avail_g & ~avail_d)
			blocker(ck, "pmu", CAPS_MIGRATE_BIT_SUBSET, "PMU architectural events", 0xa, 0, CAPS_REG_EBX, 0,
				glen ? glen - 1 : 0, avail_g, avail_d,
				"The guest counts architectural events 0x%x; the destination's PMU has 0x%x.",
				avail_g, avail_d);
	}
	/* AMD's PerfMonV2 counts its core counters in 0x8000_0022.EBX[3:0]. */
	if (guest_has(ck, X86_FEATURE_PERFMON_V2))
		not_greater(ck, -1, "pmu", "PMU core counters", 0x80000022, 0, CAPS_REG_EBX, 0, 3);
}

static void check_max_leaves(struct check *ck)
{
	static const uint32_t leaves[] = { 0, 0x80000000 };

	for (size_t i = 0; i < sizeof(leaves) / sizeof(leaves[0]); i++) {
		uint32_t g = reg_of(ck->guest, leaves[i], 0, CAPS_REG_EAX);
		uint32_t d = reg_of(ck->sup, leaves[i], 0, CAPS_REG_EAX);

		if (g > d)
			warning(ck, i ? "max_extended_leaf" : "max_basic_leaf", "max_leaf_greater",
				"The guest's CPUID goes up to leaf 0x%x, KVM on the destination to 0x%x: the leaves above "
				"are the VMM's to fill; their features and fields are checked one by one.", g, d);
	}
}

int hv_migrate_check(const struct caps_cpuid *guest, const struct hv_policy_target *dest,
		     enum caps_names names, struct caps_migration *ret)
{
	struct check ck = { 0 };

	if (!guest || !dest || !dest->record || !dest->status || !ret)
		return -EINVAL;
	ck.guest = guest;
	ck.dest = dest;
	ck.sup = &dest->record->supported;
	ck.names = names;
	ck.ret = ret;
	caps_from_cpuid(&ck.emulated, &dest->record->emulated, NULL);
	ret->ok = true;
	ret->n_blockers = ret->n_warnings = 0;

	check_vendor(&ck);
	check_feature_bits(&ck);
	check_xsave(&ck);
	check_phys_bits(&ck);
	check_feature_numbers(&ck);
	check_pmu(&ck);
	check_caches(&ck);
	check_max_leaves(&ck);
	return 0;
}
