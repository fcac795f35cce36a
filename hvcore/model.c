/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The model of KVM's supported-CPUID computation.
 *
 * Models KVM's kvm_set_cpu_caps() (kvm_cpu_cap_init() per word, the common
 * fix-ups, svm_set_cpu_caps()/vmx_set_cpu_caps()), kvm_dev_ioctl_get_cpuid()
 * and __do_cpuid_func() / __do_cpuid_func_emulated(), as KVM-SEMANTICS.md
 * §1 specifies them, for the kernel versions docs/KVM-VERSIONS.md covers.
 * Every feature that ends up unsupported carries the reason the rule that
 * removed it gives.
 */

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <hvcore/model.h>

#include "model-internal.h"

struct kvm_cap_row {
	uint8_t word;
	uint16_t feature;
	uint8_t kind;
	uint16_t since;
};

static const struct kvm_cap_row kvm_cap_rows[] = {
#define KVM_CAP(w, f, k, s) { w, X86_FEATURE_##f, HV_CAP_##k, s },
#include "kvm-caps.def"
#undef KVM_CAP
};

/* A row in the wrong word would silently never apply. */
#define KVM_CAP(w, f, k, s) \
	_Static_assert(X86_FEATURE_##f / 32 == (w), #f " is not in word " #w); \
	_Static_assert((s) >= HV_KERNEL_OLDEST && (s) <= HV_KERNEL_NEWEST, #f ": version out of range");
#include "kvm-caps.def"
#undef KVM_CAP

static const char *const cap_kind_names[] = {
#define HV_CAP_KIND_NAME(id, name) [HV_CAP_##id] = name,
	HV_CAP_KINDS(HV_CAP_KIND_NAME)
#undef HV_CAP_KIND_NAME
};

_Static_assert(sizeof(cap_kind_names) / sizeof(cap_kind_names[0]) == NR_HV_CAP_KINDS,
	       "every flag kind needs a name");

const char *hv_cap_kind_name(enum hv_cap_kind k)
{
	if ((unsigned)k >= NR_HV_CAP_KINDS)
		return "?";
	return cap_kind_names[k];
}

int hv_kvm_cap_row(int feature, enum hv_cap_kind *ret_kind, int *ret_since)
{
	for (size_t i = 0; i < sizeof(kvm_cap_rows) / sizeof(kvm_cap_rows[0]); i++) {
		if (kvm_cap_rows[i].feature == feature) {
			if (ret_kind)
				*ret_kind = (enum hv_cap_kind)kvm_cap_rows[i].kind;
			if (ret_since)
				*ret_since = kvm_cap_rows[i].since;
			return 0;
		}
	}
	return -ENOENT;
}

static const char *version_string(int v)
{
	/* Static strings for details: one per version the model covers. */
	static const char *const names[] = {
		"6.1", "6.2", "6.3", "6.4", "6.5", "6.6", "6.7", "6.8", "6.9", "6.10",
		"6.11", "6.12", "6.13", "6.14", "6.15", "6.16", "6.17", "6.18", "6.19",
	};

	if (v == KVM_V(7, 0))
		return "7.0";
	if (v >= KVM_V(6, 1) && v <= KVM_V(6, 19))
		return names[v - KVM_V(6, 1)];
	return "?";
}

/* The raw register behind a word, with raw_host_cpuid()'s range rule. */
static uint32_t raw_reg(const struct model *m, uint32_t fn, uint32_t idx, enum caps_reg reg)
{
	const struct caps_cpuid_entry *e;
	uint32_t base, max;

	if (caps_cpuid_function_range(fn, &base) < 0)
		return 0;
	switch (base) {
	case 0x00000000: max = m->max_basic; break;
	case 0x80000000: max = m->max_ext; break;
	case 0xc0000000: max = m->max_centaur; break;
	default:
		/* KVM WARNs on any other range and reads 0 (§1(a) rule 5). */
		return 0;
	}
	if (fn > max)
		return 0;
	e = caps_cpuid_find(m->raw, fn, idx);
	return e ? caps_cpuid_entry_reg(e, reg) : 0;
}

static const struct caps_cpuid_entry *host_entry(const struct model *m, uint32_t fn, uint32_t idx)
{
	const struct caps_cpuid_entry *e = caps_cpuid_find(m->raw, fn, idx);

	/* Without SIGNIFICANT_INDEX an entry answers any index; want the exact one. */
	if (e && caps_cpuid_function_is_indexed(fn) && e->index != idx)
		return NULL;
	return e;
}

bool model_kernel_has(const struct model *m, int feature)
{
	return caps_has(&m->kernel, feature);
}

bool model_kernel_flag(const struct model *m, const char *name, bool fallback)
{
	if (!m->desc->kernel)
		return fallback;
	return caps_kernel_has_flag(m->desc->kernel, name);
}

bool model_kernel_bug(const struct model *m, const char *name, bool fallback)
{
	if (!m->desc->kernel)
		return fallback;
	return caps_kernel_has_bug(m->desc->kernel, name);
}

void model_status(struct model *m, int feature, enum hv_reason reason, const char *detail)
{
	m->status[feature].reason = (uint8_t)reason;
	m->status[feature].detail = detail;
	m->status_set[feature] = true;
}

void model_cap_set(struct model *m, int feature, uint8_t note)
{
	/* A feature whose row is newer than the target kernel: no code set it then. */
	if (m->listed[feature] && !m->kind[feature])
		return;
	caps_set(&m->caps, feature);
	m->status[feature].notes |= note;
	if (!caps_has(&m->raw_caps, feature))
		m->status[feature].notes |= HV_NOTE_SYNTHESIZED;
	m->status_set[feature] = false;
}

void model_cap_clear(struct model *m, int feature, enum hv_reason reason, const char *detail)
{
	if (!caps_has(&m->caps, feature) && m->status_set[feature] &&
	    m->status[feature].reason != HV_REASON_VENDOR_CODE_DOES_NOT_SET)
		return;	/* keep the first reason: it is the deeper one */
	caps_clear(&m->caps, feature);
	m->status[feature].notes = 0;
	model_status(m, feature, reason, detail);
}

/*
 * The kernel's caps (boot_cpu_data): by default every raw feature, as a
 * stock kernel keeps them; with /proc/cpuinfo, a feature the kernel
 * prints is present iff printed, and a printed name the catalog knows
 * turns that feature on (the kernel may set a flag without the bit).
 */
static void kernel_caps_init(struct model *m)
{
	const struct caps_kernel_flags *k = m->desc->kernel;

	m->kernel = m->raw_caps;
	if (m->desc->kernel_cleared)
		caps_andnot(&m->kernel, &m->kernel, m->desc->kernel_cleared);
	if (!k)
		return;
	for (size_t i = 0; i < caps_feature_count(); i++) {
		const struct caps_feature_info *fi = caps_feature_at(i);
		bool printed = caps_kernel_has_flag(k, fi->name);

		if (fi->flags & CAPS_FF_PROC)
			caps_change(&m->kernel, fi->id, printed);
		else if (printed)
			caps_set(&m->kernel, fi->id);
	}
	if (m->desc->kernel_cleared)
		caps_andnot(&m->kernel, &m->kernel, m->desc->kernel_cleared);
}

static bool word_is_kvm(enum caps_word w)
{
	const struct caps_word_info *wi = caps_word_info(w);

	return wi->kind == CAPS_WORD_KERNEL || wi->kind == CAPS_WORD_KVM_ONLY;
}

/* Models kvm_cpu_cap_init(): one word, KVM-SEMANTICS.md §1(a) rule 4. */
static void cap_init_word(struct model *m, enum caps_word w)
{
	const struct caps_word_info *wi = caps_word_info(w);
	uint32_t features = 0, passthrough = 0, synthesized = 0, emulated = 0, caps, raw;

	for (size_t i = 0; i < sizeof(kvm_cap_rows) / sizeof(kvm_cap_rows[0]); i++) {
		const struct kvm_cap_row *row = &kvm_cap_rows[i];
		uint32_t bit = caps_feature_mask(row->feature);
		enum hv_cap_kind kind = (enum hv_cap_kind)row->kind;

		if (row->word != w)
			continue;
		m->listed[row->feature] = true;
		if (row->since > m->p->kernel) {
			model_status(m, row->feature, HV_REASON_KVM_TOO_OLD, version_string(row->since));
			continue;
		}
		m->kind[row->feature] = (uint8_t)(kind + 1);

		switch (kind) {
		case HV_CAP_F:
		case HV_CAP_X86_64_F:
		case HV_CAP_ALIASED_1_EDX_F:
			features |= bit;
			break;
		case HV_CAP_SCATTERED_F:
			if (model_kernel_has(m, row->feature))
				features |= bit;
			else
				model_status(m, row->feature, caps_has(&m->raw_caps, row->feature) ?
					     HV_REASON_DISABLED_BY_KERNEL : HV_REASON_NOT_IN_HOST_CPU, NULL);
			break;
		case HV_CAP_EMULATED_F:
			features |= bit;
			emulated |= bit;
			break;
		case HV_CAP_SYNTHESIZED_F:
			/*
			 * Since 7.0-rc3 a synthesized bit needs boot_cpu_has() even in a
			 * KVM-only word (which has no kernel mask); before, TSA_SQ_NO and
			 * TSA_L1_NO were set on every host.
			 */
			if (wi->kind == CAPS_WORD_KVM_ONLY && m->synth_needs_kernel &&
			    !model_kernel_has(m, row->feature)) {
				model_status(m, row->feature, HV_REASON_DISABLED_BY_KERNEL, NULL);
				break;
			}
			features |= bit;
			synthesized |= bit;
			break;
		case HV_CAP_PASSTHROUGH_F:
			features |= bit;
			passthrough |= bit;
			break;
		case HV_CAP_VENDOR_F:
			model_status(m, row->feature, HV_REASON_VENDOR_CODE_DOES_NOT_SET,
				     m->p->vendor == HV_VENDOR_AMD ? "kvm_amd" : "kvm_intel");
			break;
		case HV_CAP_RUNTIME_F:
			model_status(m, row->feature, HV_REASON_RUNTIME_ONLY, NULL);
			break;
		case NR_HV_CAP_KINDS:
			break;
		}
	}

	raw = raw_reg(m, wi->function, wi->index, wi->reg);
	caps = features;
	if (wi->kind == CAPS_WORD_KERNEL)
		caps &= m->kernel.words[w];
	caps |= passthrough;
	caps &= raw | synthesized;
	caps |= emulated;
	m->caps.words[w] = caps;

	/* Say why each listed bit fell, and how each kept bit got there. */
	for (int bit = 0; bit < 32; bit++) {
		int f = (int)w * 32 + bit;
		uint32_t mask = UINT32_C(1) << bit;

		if (caps & mask) {
			if ((emulated & mask) && !(raw & mask))
				m->status[f].notes |= HV_NOTE_EMULATED;
			else if ((synthesized & mask) && !(raw & mask))
				m->status[f].notes |= HV_NOTE_SYNTHESIZED;
			if ((passthrough & mask) && !(m->kernel.words[w] & mask))
				m->status[f].notes |= HV_NOTE_PASSTHROUGH;
			continue;
		}
		if (!(features & mask) || m->status_set[f])
			continue;
		if (!(raw & mask) && !(synthesized & mask))
			model_status(m, f, HV_REASON_NOT_IN_HOST_CPU, NULL);
		else
			model_status(m, f, HV_REASON_DISABLED_BY_KERNEL, NULL);
	}
}

/* The Linux-defined features and bugs the fix-ups consult. */
static void linux_flags_init(struct model *m)
{
	const struct caps *r = &m->raw_caps;
	bool spec_ctrl = caps_has(r, X86_FEATURE_SPEC_CTRL);
	uint32_t family = m->family;

	m->lx.ibpb = model_kernel_flag(m, "ibpb", spec_ctrl || caps_has(r, X86_FEATURE_AMD_IBPB));
	m->lx.ibrs = model_kernel_flag(m, "ibrs", spec_ctrl || caps_has(r, X86_FEATURE_AMD_IBRS));
	m->lx.stibp = model_kernel_flag(m, "stibp", caps_has(r, X86_FEATURE_INTEL_STIBP) ||
					caps_has(r, X86_FEATURE_AMD_STIBP));
	/*
	 * The kernel uses the LS_CFG MSR for SSBD on AMD families 0x15-0x17
	 * that have neither AMD_SSBD nor VIRT_SSBD; Linux does not print it.
	 */
	m->lx.ls_cfg_ssbd = m->host_amd && family >= 0x15 && family <= 0x17 &&
			    !caps_has(r, X86_FEATURE_AMD_SSBD) && !caps_has(r, X86_FEATURE_VIRT_SSBD);
	/*
	 * BUG_NULL_SEG (check_null_seg_clears_base()): AMD and Hygon CPUs
	 * without NULL_SEL_CLR_BASE, except Zen 2 / Hygon 0x18 on bare metal,
	 * which clear the base without saying so.
	 */
	m->lx.bug_null_seg = model_kernel_bug(m, "null_seg",
		m->host_amd && !caps_has(r, X86_FEATURE_NULL_SEL_CLR_BASE) &&
		(caps_has(r, X86_FEATURE_HYPERVISOR) || (family != 0x17 && family != 0x18)));
	/* Without the bugs line: affected unless the CPU says it is not. */
	m->lx.bug_spec_store_bypass = model_kernel_bug(m, "spec_store_bypass",
		!caps_has(r, X86_FEATURE_SSB_NO) && !caps_has(r, X86_FEATURE_AMD_SSB_NO));
	m->lx.bug_eibrs_pbrsb = model_kernel_bug(m, "eibrs_pbrsb",
		m->host_intel && caps_has(r, X86_FEATURE_IBRS_ALL) && !caps_has(r, X86_FEATURE_PBRSB_NO));
	/*
	 * LFENCE_RDTSC: AMD/Hygon from family 0x10 make LFENCE serializing
	 * (DE_CFG), and LFENCE is serializing on every Intel CPU with SSE2.
	 */
	m->lx.lfence_rdtsc = model_kernel_flag(m, "lfence_rdtsc",
		caps_has(r, X86_FEATURE_LFENCE_RDTSC) ||
		(caps_has(r, X86_FEATURE_XMM2) && (m->host_intel || family >= 0x10)));
	if (m->desc->kernel_cleared && caps_has(m->desc->kernel_cleared, X86_FEATURE_LFENCE_RDTSC))
		m->lx.lfence_rdtsc = false;
	if (m->lx.lfence_rdtsc)
		caps_set(&m->kernel, X86_FEATURE_LFENCE_RDTSC);
}

/* Models the fix-ups of kvm_set_cpu_caps() after the per-word init (§1(a) rules 8-13). */
static void common_fixups(struct model *m)
{
	const struct hv_host_params *p = m->p;

	/* Rule 8: PKU needs TDP and the host's OSPKE. */
	if (!p->tdp)
		model_cap_clear(m, X86_FEATURE_PKU, HV_REASON_NEEDS_TDP, NULL);
	else if (!model_kernel_has(m, X86_FEATURE_OSPKE))
		model_cap_clear(m, X86_FEATURE_PKU, HV_REASON_DISABLED_BY_KERNEL, "ospke");

	/*
	 * CET (6.18): shadow stacks need TDP, and neither CET feature survives
	 * allow_smaller_maxphyaddr, which both vendors force on without TDP.
	 */
	if (!p->tdp && p->kernel >= KVM_V(6, 18)) {
		model_cap_clear(m, X86_FEATURE_SHSTK, HV_REASON_NEEDS_TDP, NULL);
		model_cap_clear(m, X86_FEATURE_IBT, HV_REASON_NEEDS_TDP, NULL);
	}

	/* Rule 9: 7.0.EDX speculation controls from the host's AMD bits. */
	spec_ctrl_fixups(m);

	/* Rule 10: shadow paging emulates 1 GiB pages with smaller ones. */
	if (!p->tdp)
		model_cap_set(m, X86_FEATURE_GBPAGES, HV_NOTE_SYNTHESIZED);

	/* Rule 12. */
	if (!m->lx.bug_null_seg)
		model_cap_set(m, X86_FEATURE_NULL_SEL_CLR_BASE, HV_NOTE_SYNTHESIZED);
	else if (!caps_has(&m->caps, X86_FEATURE_NULL_SEL_CLR_BASE))
		model_status(m, X86_FEATURE_NULL_SEL_CLR_BASE, HV_REASON_NOT_IN_HOST_CPU, NULL);
}

void model_leaf_filter(struct model *m, enum caps_word w, enum hv_reason reason, const char *detail)
{
	for (int bit = 0; bit < 32; bit++)
		m->leaf_reason[w * 32 + bit] = (struct hv_feature_status) {
			.reason = (uint8_t)reason, .detail = detail,
		};
	m->leaf_filtered[w] = true;
}

void model_emit(struct model *m, struct caps_cpuid *out, const struct caps_cpuid_entry *e)
{
	int r;

	if (m->error)
		return;
	r = caps_cpuid_add(out, e);
	if (r < 0)
		m->error = r;
}

/* An entry that starts as the host's CPUID(fn, idx), zero-filled if absent. */
struct caps_cpuid_entry model_host_start(const struct model *m, uint32_t fn, uint32_t idx)
{
	const struct caps_cpuid_entry *h = host_entry(m, fn, idx);
	struct caps_cpuid_entry e = { .function = fn, .index = idx };

	if (h) {
		e.eax = h->eax;
		e.ebx = h->ebx;
		e.ecx = h->ecx;
		e.edx = h->edx;
	}
	if (caps_cpuid_function_is_indexed(fn))
		e.flags = CAPS_CPUID_FLAG_SIGNIFICANT_INDEX;
	return e;
}

static void zero_regs(struct caps_cpuid_entry *e)
{
	e->eax = e->ebx = e->ecx = e->edx = 0;
}

/* XSAVE area size for the components in xcr0 (xstate_required_size()). */
static uint32_t xstate_size(const struct model *m, uint64_t mask, bool compacted)
{
	uint32_t size = 512 + 64;	/* legacy area + XSAVE header */

	for (int i = 2; i < 64; i++) {
		const struct caps_cpuid_entry *c;
		uint32_t offset;

		if (!(mask & (UINT64_C(1) << i)))
			continue;
		c = host_entry(m, 0xd, (uint32_t)i);
		if (!c)
			continue;
		if (compacted)
			offset = (c->ecx & 0x2) ? (size + 63) & ~UINT32_C(63) : size;
		else
			offset = c->ebx;
		if (offset + c->eax > size)
			size = offset + c->eax;
	}
	return size;
}

static void do_leaf_0xd(struct model *m, struct caps_cpuid *out)
{
	struct caps_cpuid_entry e = model_host_start(m, 0xd, 0);
	uint64_t xcr0 = m->permitted_xcr0, xss = m->permitted_xss;

	e.eax &= (uint32_t)xcr0;
	e.edx &= (uint32_t)(xcr0 >> 32);
	e.ebx = e.ecx = xstate_size(m, xcr0, false);
	model_emit(m, out, &e);
	if (!xcr0)
		return;

	e = model_host_start(m, 0xd, 1);
	e.eax = m->caps.words[CPUID_D_1_EAX];
	if (caps_has(&m->caps, X86_FEATURE_XSAVES) || caps_has(&m->caps, X86_FEATURE_XSAVEC))
		e.ebx = xstate_size(m, xcr0 | xss, true);
	else
		e.ebx = 0;
	e.ecx &= (uint32_t)xss;
	e.edx &= (uint32_t)(xss >> 32);
	model_emit(m, out, &e);

	for (uint32_t i = 2; i < 64; i++) {
		uint64_t bit = UINT64_C(1) << i;
		const struct caps_cpuid_entry *h;

		if (!((xcr0 | xss) & bit))
			continue;
		h = host_entry(m, 0xd, i);
		/* KVM drops (and WARNs about) a component the CPU describes badly. */
		if (!h || !h->eax || (h->ecx & 1) != !!(xss & bit))
			continue;
		e = model_host_start(m, 0xd, i);
		if (!caps_has(&m->caps, X86_FEATURE_XFD))
			e.ecx &= ~UINT32_C(4);
		e.edx = 0;
		model_emit(m, out, &e);
	}
}

/* 0x8000_0008.EAX: MAXPHYADDR rules 20-23 of §1(a). */
static uint32_t phys_addr_eax(const struct model *m)
{
	uint32_t host = raw_reg(m, 0x80000008, 0, CAPS_REG_EAX);
	uint32_t virt_as = (host >> 8) & 0xff, phys_as, g_phys_as;

	if (virt_as < 48)
		virt_as = 48;
	if (!host)
		phys_as = 36;	/* no 0x8000_0008: the architectural default */
	else
		phys_as = host & 0xff;
	if (!m->p->tdp) {
		/* x86_phys_bits: the kernel reduces it by SME's key bits when memory encryption is on. */
		g_phys_as = 0;
	} else if (m->p->kernel < KVM_V(6, 10)) {
		/* Before 6.10: the host's GuestPhysBits if any as MAXPHYADDR, EAX[23:16] = 0. */
		if ((host >> 16) & 0xff)
			phys_as = (host >> 16) & 0xff;
		g_phys_as = 0;
	} else {
		g_phys_as = phys_as;
		if (m->p->tdp_level < 5 && g_phys_as > 48)
			g_phys_as = 48;
	}
	return phys_as | virt_as << 8 | g_phys_as << 16;
}

static void do_leaf(struct model *m, struct caps_cpuid *out, uint32_t fn)
{
	struct caps_cpuid_entry e = model_host_start(m, fn, 0);
	const struct caps *c = &m->caps;

	switch (fn) {
	case 0x0:
		e.eax = m->limit_basic;
		break;
	case 0x1:
		e.ecx = c->words[CPUID_1_ECX];
		e.edx = c->words[CPUID_1_EDX];
		break;
	case 0x2:
		break;
	case 0x4:
	case 0x8000001d:
		/* Sub-leaves until the previous one's cache type is 0. */
		model_emit(m, out, &e);
		for (uint32_t i = 1; (e.eax & 0x1f) && i < 64; i++) {
			e = model_host_start(m, fn, i);
			model_emit(m, out, &e);
		}
		return;
	case 0x6:
		/* ARAT only: KVM emulates the APIC timer, always running. */
		zero_regs(&e);
		e.eax = 0x4;
		break;
	case 0x7: {
		uint32_t max = e.eax < m->limit_leaf7 ? e.eax : m->limit_leaf7;

		e.eax = max;
		e.ebx = c->words[CPUID_7_0_EBX];
		e.ecx = c->words[CPUID_7_ECX];
		e.edx = c->words[CPUID_7_EDX];
		model_emit(m, out, &e);
		if (max >= 1) {
			e = model_host_start(m, 7, 1);
			e.eax = c->words[CPUID_7_1_EAX];
			e.ebx = 0;
			if (m->p->kernel >= m->since_7_1_ecx)
				e.ecx = c->words[CPUID_7_1_ECX];
			else
				model_leaf_filter(m, CPUID_7_1_ECX, HV_REASON_KVM_TOO_OLD, "6.18");
			e.edx = m->p->kernel >= KVM_V(6, 2) ? c->words[CPUID_7_1_EDX] : 0;
			model_emit(m, out, &e);
		}
		if (max >= 2) {
			e = model_host_start(m, 7, 2);
			e.eax = e.ebx = e.ecx = 0;
			e.edx = c->words[CPUID_7_2_EDX];
			model_emit(m, out, &e);
		}
		return;
	}
	case 0xa:
		pmu_leaf_0xa(m, &e);
		break;
	case 0xb:
	case 0x1f:
		/* No topology: only sub-leaf 0, with the host's x2APIC ID in EDX. */
		e.eax = e.ebx = e.ecx = 0;
		break;
	case 0xd:
		do_leaf_0xd(m, out);
		return;
	case 0x12:
		if (!caps_has(c, X86_FEATURE_SGX)) {
			model_leaf_filter(m, CPUID_12_EAX, HV_REASON_NEEDS_FEATURE, "sgx");
			zero_regs(&e);
			break;
		}
		e.eax = c->words[CPUID_12_EAX];
		e.ebx &= 1;	/* MISCSELECT: EXINFO only */
		model_emit(m, out, &e);
		e = model_host_start(m, 0x12, 1);
		/* SECS.ATTRIBUTES: the architectural flags, XFRM left to userspace. */
		e.eax &= SGX_ATTR_MASK;
		e.ebx = 0;
		model_emit(m, out, &e);
		return;
	case 0x14:
	case 0x1d: {
		int need = fn == 0x14 ? X86_FEATURE_INTEL_PT : X86_FEATURE_AMX_TILE;
		uint32_t n;

		if (!caps_has(c, need)) {
			zero_regs(&e);
			break;
		}
		n = e.eax < 63 ? e.eax : 63;
		model_emit(m, out, &e);
		for (uint32_t i = 1; i <= n; i++) {
			e = model_host_start(m, fn, i);
			model_emit(m, out, &e);
		}
		return;
	}
	case 0x1e:
		amx_leaf_0x1e(m, out, &e);
		return;
	case 0x24:
		avx10_leaf_0x24(m, out, &e);
		return;
	case 0x40000000:
		e.eax = 0x40000001;
		e.ebx = 0x4b4d564b;	/* "KVMK" */
		e.ecx = 0x564b4d56;	/* "VMKV" */
		e.edx = 0x0000004d;	/* "M\0\0\0" */
		break;
	case 0x40000001:
		zero_regs(&e);
		e.eax = m->pv_features;
		break;
	case 0x80000000:
		e.eax = m->limit_ext;
		break;
	case 0x80000001:
		e.ebx &= ~UINT32_C(0x0fff0000);
		e.ecx = c->words[CPUID_8000_0001_ECX];
		e.edx = c->words[CPUID_8000_0001_EDX];
		break;
	case 0x80000005:
		/* L1 cache and TLB data: the default (zero) case before 6.6. */
		if (m->p->kernel < KVM_V(6, 6))
			zero_regs(&e);
		break;
	case 0x80000006:
		e.edx &= ~UINT32_C(0x00030000);
		break;
	case 0x80000007:
		e.eax = e.ebx = e.ecx = 0;
		/* x86_power is the host's 0x8000_0007.EDX; before the KVM-only word (6.3), bit 8 of it. */
		if (m->p->kernel < KVM_V(6, 3))
			e.edx &= caps_feature_mask(X86_FEATURE_CONSTANT_TSC);
		else
			e.edx = c->words[CPUID_8000_0007_EDX] & e.edx;
		break;
	case 0x80000008:
		e.eax = phys_addr_eax(m);
		e.ebx = c->words[CPUID_8000_0008_EBX];
		e.ecx &= ~UINT32_C(0xffff0f00);
		e.edx = 0;
		break;
	case 0x8000000a:
		if (!caps_has(c, X86_FEATURE_SVM)) {
			/* Nested SVM is what puts SVM into kvm_cpu_caps. */
			model_leaf_filter(m, CPUID_8000_000A_EDX,
					  m->p->vendor == HV_VENDOR_AMD ? HV_REASON_NEEDS_NESTED :
					  HV_REASON_NEEDS_FEATURE, m->p->vendor == HV_VENDOR_AMD ? NULL : "svm");
			zero_regs(&e);
			break;
		}
		e.eax = 1;	/* SVM revision */
		e.ebx = 8;	/* ASIDs */
		e.ecx = 0;
		e.edx = c->words[CPUID_8000_000A_EDX];
		break;
	case 0x80000019:
		e.ecx = e.edx = 0;
		break;
	case 0x8000001a:
		e.eax &= 0x7;
		e.ebx = e.ecx = e.edx = 0;
		break;
	case 0x8000001f:
		if (!caps_has(c, X86_FEATURE_SEV)) {
			model_leaf_filter(m, CPUID_8000_001F_EAX, HV_REASON_NEEDS_PARAMETER, "sev");
			zero_regs(&e);
			break;
		}
		e.eax = c->words[CPUID_8000_001F_EAX];
		/* NumVMPL and PhysAddrReduction are not for guests. */
		e.ebx &= ~UINT32_C(0xfffff000);
		e.ebx &= ~UINT32_C(0x00000fc0);
		break;
	case 0x80000021:
		e.eax = c->words[CPUID_8000_0021_EAX];
		e.ebx = (m->p->kernel >= m->since_eraps_rapsize && caps_has(c, X86_FEATURE_ERAPS)) ?
			e.ebx & 0x00ff0000 : 0;
		if (m->p->kernel >= m->since_8000_0021_ecx) {
			e.ecx = c->words[CPUID_8000_0021_ECX];
		} else {
			model_leaf_filter(m, CPUID_8000_0021_ECX, HV_REASON_KVM_TOO_OLD, "6.16");
			e.ecx = 0;
		}
		e.edx = 0;
		break;
	case 0x80000022:
		pmu_leaf_0x80000022(m, &e);
		break;
	case 0xc0000000:
		e.eax = m->limit_centaur;
		break;
	case 0xc0000001:
		e.edx = c->words[CPUID_C000_0001_EDX];
		break;
	default:
		/* 3, 5, 0xC000_0002..4 and everything else: all zero. */
		zero_regs(&e);
		break;
	}
	model_emit(m, out, &e);
}

/* Models kvm_dev_ioctl_get_cpuid(KVM_GET_SUPPORTED_CPUID), §1(a) rule 16. */
static void do_supported(struct model *m, struct caps_cpuid *out)
{
	caps_cpuid_init(out);
	for (uint32_t fn = 0; fn <= m->limit_basic && !m->error; fn++)
		do_leaf(m, out, fn);
	for (uint32_t fn = 0x80000000; fn <= m->limit_ext && !m->error; fn++)
		do_leaf(m, out, fn);
	if (m->centaur)
		for (uint32_t fn = 0xc0000000; fn <= m->limit_centaur && !m->error; fn++)
			do_leaf(m, out, fn);
	for (uint32_t fn = 0x40000000; fn <= 0x40000001 && !m->error; fn++)
		do_leaf(m, out, fn);

	/* Words whose leaf lies beyond what KVM reports. */
	for (int w = 0; w < NR_CAPS_WORDS; w++) {
		const struct caps_word_info *wi = caps_word_info(w);
		uint32_t base, limit, host_max;

		if (!word_is_kvm((enum caps_word)w) || m->leaf_filtered[w] ||
		    caps_cpuid_function_range(wi->function, &base) < 0)
			continue;
		limit = base == 0 ? m->limit_basic : base == 0x80000000 ? m->limit_ext : m->limit_centaur;
		host_max = base == 0 ? m->max_basic : base == 0x80000000 ? m->max_ext : m->max_centaur;
		if (wi->function <= limit && (base != 0xc0000000 || m->centaur))
			continue;
		model_leaf_filter(m, (enum caps_word)w,
				  wi->function > host_max ? HV_REASON_NOT_IN_HOST_CPU : HV_REASON_KVM_TOO_OLD,
				  NULL);
	}
}

/* Models __do_cpuid_func_emulated(), §1(a) rule 24. */
static void do_emulated(struct model *m, struct caps_cpuid *out)
{
	struct caps_cpuid_entry e;

	caps_cpuid_init(out);
	e = (struct caps_cpuid_entry) { .function = 0, .eax = 7 };
	model_emit(m, out, &e);
	e = (struct caps_cpuid_entry) { .function = 1, .ecx = caps_feature_mask(X86_FEATURE_MOVBE) };
	model_emit(m, out, &e);
	e = (struct caps_cpuid_entry) { .function = 7, .flags = CAPS_CPUID_FLAG_SIGNIFICANT_INDEX };
	if (caps_has(&m->caps, X86_FEATURE_RDTSCP))
		e.ecx = caps_feature_mask(X86_FEATURE_RDPID);
	model_emit(m, out, &e);
}

static void limits_init(struct model *m)
{
	uint32_t host_ext = m->max_ext;

	m->limit_basic = m->max_basic < m->max_basic_leaf ? m->max_basic : m->max_basic_leaf;
	if (host_ext < 0x80000000)
		host_ext = 0x80000000;
	m->limit_ext = host_ext < m->max_ext_leaf ? host_ext : m->max_ext_leaf;
	/* Synthesize 0x8000_0021 where the host stops short of it (§1(a) 0x8000_0000 row). */
	if (m->limit_ext >= 0x8000001d && (m->lx.lfence_rdtsc || !m->lx.bug_null_seg) &&
	    m->limit_ext < 0x80000021)
		m->limit_ext = 0x80000021;
	m->limit_centaur = m->max_centaur < 0xc0000004 ? m->max_centaur : 0xc0000004;
}

/* Where the final CPUID lost a bit kvm_cpu_caps had, or the leaf never carried it. */
static void finish_status(struct model *m, struct hv_model_result *res)
{
	for (int f = 0; f < CAPS_NR_FEATURE_IDS; f++) {
		enum caps_word w = (enum caps_word)(f / 32);
		const struct caps_word_info *wi = caps_word_info(w);
		struct hv_feature_status *s = &res->status[f];

		*s = m->status[f];
		if (caps_has(&res->record.features, f)) {
			s->reason = HV_REASON_SUPPORTED;
			s->detail = NULL;
			if (!caps_has(&m->raw_caps, f) && !(s->notes & (HV_NOTE_EMULATED | HV_NOTE_PASSTHROUGH)))
				s->notes |= HV_NOTE_SYNTHESIZED;
			continue;
		}
		s->notes = 0;
		if (caps_has(&m->caps, f) && m->leaf_filtered[w]) {
			*s = m->leaf_reason[f];
			continue;
		}
		if (m->status_set[f])
			continue;
		if (wi->kind == CAPS_WORD_MSR) {
			s->reason = HV_REASON_NOT_REPORTED_BY_KVM;
			s->detail = "feature MSRs";
		} else if (wi->kind == CAPS_WORD_EXTRA && w != CPUID_4000_0001_EAX &&
			   w != CPUID_4000_0001_EDX) {
			s->reason = HV_REASON_NOT_REPORTED_BY_KVM;
			s->detail = NULL;
		} else if (!m->listed[f] && word_is_kvm(w) && !caps_has(&m->caps, f)) {
			s->reason = HV_REASON_NEVER_SUPPORTED_BY_KVM;
			s->detail = NULL;
		} else if (!caps_has(&m->raw_caps, f)) {
			s->reason = HV_REASON_NOT_IN_HOST_CPU;
			s->detail = NULL;
		} else {
			s->reason = HV_REASON_NEVER_SUPPORTED_BY_KVM;
			s->detail = NULL;
		}
	}
	/*
	 * Virtualization holes (KVM-SEMANTICS.md §2 rules 4, 6): with TDP a
	 * guest gets the host's 1 GiB pages whatever its CPUID says, and SVM
	 * cannot intercept XSAVES.
	 */
	if (caps_has(&res->record.features, X86_FEATURE_GBPAGES) && m->p->tdp)
		res->status[X86_FEATURE_GBPAGES].notes |= HV_NOTE_VIRT_HOLE;
	if (caps_has(&res->record.features, X86_FEATURE_XSAVES) && m->p->vendor == HV_VENDOR_AMD)
		res->status[X86_FEATURE_XSAVES].notes |= HV_NOTE_VIRT_HOLE;

	/* The KVM PV word: bits KVM never sets, and steal time's condition. */
	for (int bit = 0; bit < 32; bit++) {
		int f = CPUID_4000_0001_EAX * 32 + bit;

		if (!caps_has(&res->record.features, f) && !m->status_set[f])
			res->status[f] = (struct hv_feature_status) { .reason = HV_REASON_NEVER_SUPPORTED_BY_KVM };
		f = CPUID_4000_0001_EDX * 32 + bit;
		if (!caps_has(&res->record.features, f))
			res->status[f] = (struct hv_feature_status) {
				.reason = HV_REASON_NEVER_SUPPORTED_BY_KVM, .detail = "set by userspace",
			};
	}
}

static int record_params(struct caps_host_record *r, const struct hv_host_params *p)
{
	static const char *const on_off[] = { "off", "on" };
	char kernel[16];
	int ret = 0;

	snprintf(kernel, sizeof(kernel), "%d.%d", p->kernel / 100, p->kernel % 100);
#define ADD(name, value) do { if (!ret) ret = caps_host_record_add_param(r, "model", name, value); } while (0)
	ADD("vendor", p->vendor == HV_VENDOR_AMD ? "amd" : "intel");
	ADD("kernel", kernel);
	ADD("tdp", on_off[p->tdp]);
	ADD("tdp_level", p->tdp_level == 5 ? "5" : "4");
	ADD("nested", on_off[p->nested]);
	ADD("avic", on_off[p->avic]);
	ADD("sev", on_off[p->sev]);
	ADD("sev_es", on_off[p->sev_es]);
	ADD("snp", on_off[p->snp]);
	ADD("enable_pmu", on_off[p->enable_pmu]);
	ADD("amx_permitted", on_off[p->amx_permitted]);
	ADD("sched_info", on_off[p->sched_info]);
	ADD("tsa_fix", p->tsa_fix == HV_TSA_FIX_AUTO ? "auto" : on_off[p->tsa_fix == HV_TSA_FIX_ON]);
#undef ADD
	return ret;
}

int hv_model_compute(const struct hv_host_desc *desc, struct hv_model_result *ret)
{
	struct hv_model_result *res = NULL;
	struct model *m;
	const struct caps_cpuid_entry *e;
	int r;

	if (!desc || !desc->raw || !ret)
		return -EINVAL;
	if (desc->params.kernel < HV_KERNEL_OLDEST || desc->params.kernel > HV_KERNEL_NEWEST)
		return -ERANGE;
	if (!caps_cpuid_find(desc->raw, 0, 0) || !caps_cpuid_find(desc->raw, 1, 0))
		return -EINVAL;

	m = calloc(1, sizeof(*m));
	res = calloc(1, sizeof(*res));
	if (!m || !res) {
		r = -ENOMEM;
		goto out;
	}
	m->desc = desc;
	m->p = &desc->params;
	m->raw = desc->raw;

	e = caps_cpuid_find(m->raw, 0, 0);
	m->max_basic = e->eax;
	e = caps_cpuid_find(m->raw, 0x80000000, 0);
	m->max_ext = e && e->eax >= 0x80000000 ? e->eax : 0;
	host_identity_init(m);
	e = m->centaur ? caps_cpuid_find(m->raw, 0xc0000000, 0) : NULL;
	m->max_centaur = e && e->eax >= 0xc0000000 ? e->eax : 0;
	versions_init(m);

	for (int w = 0; w < NR_CAPS_WORDS; w++) {
		const struct caps_word_info *wi = caps_word_info(w);

		if (wi->kind != CAPS_WORD_MSR)
			m->raw_caps.words[w] = raw_reg(m, wi->function, wi->index, wi->reg);
	}
	kernel_caps_init(m);
	linux_flags_init(m);

	/* kvm_set_cpu_caps(): words, common fix-ups, then the vendor's. */
	for (int w = 0; w < NR_CAPS_WORDS; w++) {
		const struct caps_word_info *wi = caps_word_info(w);

		/* Words KVM tracks but never initialises (6.EAX, 0x8000_0007.EBX, 0x8086_0001) stay 0. */
		if (word_is_kvm((enum caps_word)w) && wi->function != 0x6 &&
		    wi->function != 0x80860001 && !(wi->function == 0x80000007 && wi->reg == CAPS_REG_EBX))
			cap_init_word(m, (enum caps_word)w);
	}
	common_fixups(m);
	if (m->p->vendor == HV_VENDOR_AMD)
		svm_set_cpu_caps(m);
	else
		vmx_set_cpu_caps(m);
	xsave_init(m);
	pv_features_init(m);
	limits_init(m);

	caps_host_record_init(&res->record, CAPS_BACKEND_MODEL);
	snprintf(res->record.kernel_release, sizeof(res->record.kernel_release), "%d.%d",
		 m->p->kernel / 100, m->p->kernel % 100);
	snprintf(res->record.vendor_module, sizeof(res->record.vendor_module), "%s",
		 m->p->vendor == HV_VENDOR_AMD ? "kvm_amd" : "kvm_intel");
	res->record.api_version = 12;	/* KVM_API_VERSION, unchanged since 2.6.22 */
	r = record_params(&res->record, m->p);
	if (r < 0)
		goto out;
	do_supported(m, &res->record.supported);
	do_emulated(m, &res->record.emulated);
	if (m->error) {
		r = m->error;
		goto out;
	}
	caps_host_record_finish(&res->record);

	res->kvm_cpu_caps = m->caps;
	res->raw = m->raw_caps;
	finish_status(m, res);
	*ret = *res;
	r = 0;
out:
	free(m);
	free(res);
	return r;
}

int hv_get_cpuid(const struct caps_cpuid *set, struct caps_cpuid_entry *buf, uint32_t *nent)
{
	uint32_t room;

	if (*nent < 1)
		return -E2BIG;
	room = *nent > CAPS_CPUID_MAX_ENTRIES ? CAPS_CPUID_MAX_ENTRIES : *nent;
	if (set->nent > room)
		return -E2BIG;
	memcpy(buf, set->entries, set->nent * sizeof(set->entries[0]));
	*nent = (uint32_t)set->nent;
	return 0;
}
