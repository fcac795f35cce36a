/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Guest CPUID and cpu_caps, KVM_SET_CPUID2, MAXPHYADDR, and CR3/CR4
 * legality with LAM (KVM-SEMANTICS.md §2 and §5 rules 7-13).
 *
 * hvcore does not model CR0, EFER, XSETBV or IA32_XSS writes.  So the
 * paging-mode checks of kvm_set_cr3()/kvm_set_cr4() (PDPTR loads under
 * PAE paging, PCIDE and LA57 rules in long mode) are out of scope, CR3
 * writes are treated as writes outside PAE paging, and XCR0/XSS keep
 * their RESET values.  The dynamic CPUID bits are applied as soon as
 * their source changes, which makes the 6.17+ deferral (and the flush
 * of pending updates at the start of KVM_SET_CPUID2) invisible.
 */

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "vm-internal.h"

/* ------------------------------------------------------------------ */
/* cpu_caps accessors (§2 rule 7). */

static bool feature_is_tracked(int feature)
{
	return feature >= 0 && feature < CAPS_NR_FEATURE_IDS && hv_word_is_tracked(caps_feature_word(feature));
}

bool hv_guest_cpu_cap_has(const struct hv_vcpu *vcpu, int feature)
{
	return feature_is_tracked(feature) && caps_has(&vcpu->cpu_caps, feature);
}

void hv_guest_cpu_cap_set(struct hv_vcpu *vcpu, int feature)
{
	if (feature_is_tracked(feature))
		caps_set(&vcpu->cpu_caps, feature);
}

void hv_guest_cpu_cap_clear(struct hv_vcpu *vcpu, int feature)
{
	if (feature_is_tracked(feature))
		caps_clear(&vcpu->cpu_caps, feature);
}

void hv_guest_cpu_cap_change(struct hv_vcpu *vcpu, int feature, bool on)
{
	if (feature_is_tracked(feature))
		caps_change(&vcpu->cpu_caps, feature, on);
}

const struct caps *hv_vcpu_cpu_caps(const struct hv_vcpu *vcpu)
{
	return &vcpu->cpu_caps;
}

static bool kvm_cpu_cap_has(const struct hv_vcpu *vcpu, int feature)
{
	return caps_has(&vcpu->vm->host.kvm_cpu_caps, feature);
}

/* The entry the feature's word lives in, with the lookup rule (§2 rule 16). */
static struct caps_cpuid_entry *feature_entry(const struct caps_cpuid *c, int feature)
{
	const struct caps_word_info *wi = caps_word_info((enum caps_word)caps_feature_word(feature));

	return (struct caps_cpuid_entry *)caps_cpuid_find(c, wi->function, wi->index);
}

bool hv_guest_cpuid_has(const struct hv_vcpu *vcpu, int feature)
{
	const struct caps_word_info *wi;
	const struct caps_cpuid_entry *e;

	if (feature < 0 || feature >= CAPS_NR_FEATURE_IDS)
		return false;
	wi = caps_word_info((enum caps_word)caps_feature_word(feature));
	if (wi->kind == CAPS_WORD_MSR)
		return false;
	e = feature_entry(vcpu->cpuid, feature);
	return e && (caps_cpuid_entry_reg(e, wi->reg) & caps_feature_mask(feature));
}

/* ------------------------------------------------------------------ */
/* Runtime CPUID bits (§2 rule 3). */

/* Models KVM's kvm_update_feature_runtime(): the entry and cpu_caps together. */
static void update_feature_runtime(struct hv_vcpu *vcpu, struct caps_cpuid_entry *e, int feature, bool on)
{
	enum caps_reg reg = caps_word_info((enum caps_word)caps_feature_word(feature))->reg;
	uint32_t v = caps_cpuid_entry_reg(e, reg);

	v = on ? v | caps_feature_mask(feature) : v & ~caps_feature_mask(feature);
	caps_cpuid_entry_set_reg(e, reg, v);
	hv_guest_cpu_cap_change(vcpu, feature, on);
}

void hv_update_cpuid_runtime(struct hv_vcpu *vcpu)
{
	struct caps_cpuid *c = vcpu->cpuid;
	struct caps_cpuid_entry *e;

	e = (struct caps_cpuid_entry *)caps_cpuid_find(c, 1, CAPS_CPUID_INDEX_ANY);
	if (e) {
		update_feature_runtime(vcpu, e, X86_FEATURE_OSXSAVE, vcpu->cr4 & HV_CR4_OSXSAVE);
		update_feature_runtime(vcpu, e, X86_FEATURE_APIC, vcpu->apic_base & HV_APIC_BASE_ENABLE);
		/*
		 * MWAIT follows IA32_MISC_ENABLE only with the MISC_ENABLE_NO_MWAIT
		 * quirk disabled; the quirk is on by default and hvcore keeps it.
		 */
	}
	e = (struct caps_cpuid_entry *)caps_cpuid_find(c, 7, 0);
	if (e)
		update_feature_runtime(vcpu, e, X86_FEATURE_OSPKE, vcpu->cr4 & HV_CR4_PKE);
	/* XSAVE sizes for XCR0 (and XSS), which keep their RESET value here. */
	e = (struct caps_cpuid_entry *)caps_cpuid_find(c, 0xd, 0);
	if (e)
		e->ebx = HV_XSAVE_RESET_SIZE;
	e = (struct caps_cpuid_entry *)caps_cpuid_find(c, 0xd, 1);
	if (e && (e->eax & (caps_feature_mask(X86_FEATURE_XSAVES) | caps_feature_mask(X86_FEATURE_XSAVEC))))
		e->ebx = HV_XSAVE_RESET_SIZE;
	/*
	 * The PV quirk clears 0x4000_0001.EAX PV_UNHALT when HLT exits are
	 * disabled; hvcore never disables them, so it changes nothing.
	 */
}

/* ------------------------------------------------------------------ */
/* kvm_vcpu_after_set_cpuid() (§2 rules 1-6). */

/* The register KVM emulates for a function (cpuid_func_emulated(), partially emulated included). */
static uint32_t emulated_reg(const struct hv_vcpu *vcpu, uint32_t function, enum caps_reg reg)
{
	if (function == 1 && reg == CAPS_REG_ECX)
		return caps_feature_mask(X86_FEATURE_MOVBE) | caps_feature_mask(X86_FEATURE_MWAIT);
	/* Leaf 7 is keyed by function alone, so every sub-leaf's ECX gets RDPID. */
	if (function == 7 && reg == CAPS_REG_ECX && kvm_cpu_cap_has(vcpu, X86_FEATURE_RDTSCP))
		return caps_feature_mask(X86_FEATURE_RDPID);
	return 0;
}

/* Words KVM tracks but never fills in kvm_cpu_caps: cpu_caps stays 0 there. */
static bool word_is_never_initialised(const struct caps_word_info *wi)
{
	return (wi->function == 0x6 && wi->reg == CAPS_REG_EAX) ||
	       (wi->function == 0x80000007 && wi->reg == CAPS_REG_EBX) ||
	       wi->function == 0x80860001;
}

/*
 * __cr4_reserved_bits(): the CR4 bits KVM knows (all others stay
 * reserved: SMXE, KL, PKS, UINTR, LASS, FRED, ...) and the feature each
 * needs.  CET needs SHSTK or IBT; the table lists both.
 */
static const struct {
	uint64_t bit;
	int feature;
} cr4_feature_bits[] = {
	{ HV_CR4_OSXSAVE,	X86_FEATURE_XSAVE },
	{ HV_CR4_SMEP,		X86_FEATURE_SMEP },
	{ HV_CR4_SMAP,		X86_FEATURE_SMAP },
	{ HV_CR4_FSGSBASE,	X86_FEATURE_FSGSBASE },
	{ HV_CR4_PKE,		X86_FEATURE_PKU },
	{ HV_CR4_LA57,		X86_FEATURE_LA57 },
	{ HV_CR4_UMIP,		X86_FEATURE_UMIP },
	{ HV_CR4_VMXE,		X86_FEATURE_VMX },
	{ HV_CR4_PCIDE,		X86_FEATURE_PCID },
	{ HV_CR4_LAM_SUP,	X86_FEATURE_LAM },
	{ HV_CR4_CET,		X86_FEATURE_SHSTK },
	{ HV_CR4_CET,		X86_FEATURE_IBT },
};

#define CR4_KNOWN_BITS								\
	(HV_CR4_VME | HV_CR4_PVI | HV_CR4_TSD | HV_CR4_DE | HV_CR4_PSE |	\
	 HV_CR4_PAE | HV_CR4_MCE | HV_CR4_PGE | HV_CR4_PCE | HV_CR4_OSFXSR |	\
	 HV_CR4_OSXMMEXCPT | HV_CR4_UMIP | HV_CR4_LA57 | HV_CR4_VMXE |		\
	 HV_CR4_FSGSBASE | HV_CR4_PCIDE | HV_CR4_OSXSAVE | HV_CR4_SMEP |	\
	 HV_CR4_SMAP | HV_CR4_PKE | HV_CR4_CET | HV_CR4_LAM_SUP)

/* Models KVM's __cr4_reserved_bits() for one set of capabilities. */
static uint64_t cr4_reserved_bits(const struct caps *c)
{
	uint64_t reserved = ~CR4_KNOWN_BITS;
	uint64_t allowed = 0;

	for (size_t i = 0; i < ARRAY_SIZE(cr4_feature_bits); i++) {
		if (caps_has(c, cr4_feature_bits[i].feature))
			allowed |= cr4_feature_bits[i].bit;
		else
			reserved |= cr4_feature_bits[i].bit;
	}
	/* CET is reserved only when neither SHSTK nor IBT is there. */
	return reserved & ~(allowed & HV_CR4_CET);
}

/* Models KVM's cpuid_query_maxphyaddr(). */
static int query_maxphyaddr(const struct caps_cpuid *c)
{
	const struct caps_cpuid_entry *e = caps_cpuid_find(c, 0x80000000, CAPS_CPUID_INDEX_ANY);

	if (!e || e->eax < 0x80000008)
		return HV_DEFAULT_MAXPHYADDR;
	e = caps_cpuid_find(c, 0x80000008, CAPS_CPUID_INDEX_ANY);
	return e ? (int)(e->eax & 0xff) : HV_DEFAULT_MAXPHYADDR;
}

static bool guest_vendor_is_amd_or_hygon(const struct caps_cpuid *c)
{
	const struct caps_cpuid_entry *e = caps_cpuid_find(c, 0, CAPS_CPUID_INDEX_ANY);
	char id[12];

	if (!e)
		return false;
	memcpy(id, &e->ebx, 4);
	memcpy(id + 4, &e->edx, 4);
	memcpy(id + 8, &e->ecx, 4);
	return memcmp(id, "AuthenticAMD", 12) == 0 || memcmp(id, "HygonGenuine", 12) == 0;
}

static void svm_vcpu_after_set_cpuid(struct hv_vcpu *vcpu)
{
	/*
	 * SVM cannot intercept XSAVES alone, only all of XSAVE through
	 * CR4.OSXSAVE: a guest with XSAVE on an XSAVES host can run XSAVES
	 * whatever its CPUID says, so KVM treats it as the guest's and
	 * context-switches XSS.  kvm_cpu_caps' XSAVES (F: the kernel's flag
	 * and the raw bit) stands for boot_cpu_has(X86_FEATURE_XSAVES).
	 */
	hv_guest_cpu_cap_change(vcpu, X86_FEATURE_XSAVES,
				kvm_cpu_cap_has(vcpu, X86_FEATURE_XSAVES) &&
				hv_guest_cpu_cap_has(vcpu, X86_FEATURE_XSAVE));
	/* Intel-compatible guests (not AMD/Hygon) use the VMSAVE/VMLOAD intercepts. */
	if (!vcpu->is_amd_compatible)
		hv_guest_cpu_cap_clear(vcpu, X86_FEATURE_V_VMSAVE_VMLOAD);
	/* The SEV C-bit leaves reserved_gpa_bits only for SEV guests, which hvcore does not create. */
}

static void vmx_vcpu_after_set_cpuid(struct hv_vcpu *vcpu)
{
	/* XSAVES depends on CR4.OSXSAVE, which depends on XSAVE. */
	if (!hv_guest_cpu_cap_has(vcpu, X86_FEATURE_XSAVE))
		hv_guest_cpu_cap_clear(vcpu, X86_FEATURE_XSAVES);
}

/* Models KVM's kvm_vcpu_after_set_cpuid(). */
static void vcpu_after_set_cpuid(struct hv_vcpu *vcpu)
{
	const struct hv_host *host = &vcpu->vm->host;
	const struct caps_cpuid_entry *e;
	bool allow_gbpages;

	caps_zero(&vcpu->cpu_caps);
	for (int w = 0; w < NR_CAPS_WORDS; w++) {
		const struct caps_word_info *wi = caps_word_info((enum caps_word)w);

		if (!hv_word_is_tracked(w) || word_is_never_initialised(wi))
			continue;
		e = caps_cpuid_find(vcpu->cpuid, wi->function, wi->index);
		if (!e)
			continue;
		/*
		 * A vCPU has a feature if KVM supports or emulates it and the
		 * guest CPUID enables it, advertised to userspace or not.
		 */
		vcpu->cpu_caps.words[w] = (host->kvm_cpu_caps.words[w] | emulated_reg(vcpu, wi->function, wi->reg)) &
					  caps_cpuid_entry_reg(e, wi->reg);
	}

	hv_update_cpuid_runtime(vcpu);

	/*
	 * With TDP the hardware page walker cannot be told to fault on
	 * 1 GiB pages: the guest has them iff the host does.  With shadow
	 * paging KVM honours the guest CPUID.
	 */
	allow_gbpages = host->tdp ? kvm_cpu_cap_has(vcpu, X86_FEATURE_GBPAGES)
				  : hv_guest_cpu_cap_has(vcpu, X86_FEATURE_GBPAGES);
	hv_guest_cpu_cap_change(vcpu, X86_FEATURE_GBPAGES, allow_gbpages);

	e = caps_cpuid_find(vcpu->cpuid, 0xd, 0);
	vcpu->guest_supported_xcr0 = e ? (e->eax | (uint64_t)e->edx << 32) & host->supported_xcr0 : 0;
	vcpu->is_amd_compatible = guest_vendor_is_amd_or_hygon(vcpu->cpuid);
	vcpu->maxphyaddr = query_maxphyaddr(vcpu->cpuid);
	vcpu->reserved_gpa_bits = hv_rsvd_bits_from(vcpu->maxphyaddr);
	vcpu->cr4_guest_rsvd_bits = cr4_reserved_bits(&host->kvm_cpu_caps) | cr4_reserved_bits(&vcpu->cpu_caps);

	if (hv_vcpu_is_svm(vcpu))
		svm_vcpu_after_set_cpuid(vcpu);
	else
		vmx_vcpu_after_set_cpuid(vcpu);
}

void hv_vcpu_cpuid_init(struct hv_vcpu *vcpu)
{
	/* kvm_arch_vcpu_create(): the derived state of an empty CPUID. */
	vcpu->cpuid->nent = 0;
	vcpu_after_set_cpuid(vcpu);
}

/* ------------------------------------------------------------------ */
/* KVM_SET_CPUID2 / KVM_GET_CPUID2 (§2 rules 8-16). */

/* Models KVM's kvm_check_cpuid(). */
static int check_cpuid(const struct hv_vcpu *vcpu, const struct caps_cpuid *c, const char **ret_why)
{
	const struct caps_cpuid_entry *e;
	uint64_t xfeatures;

	/* Linear address width: 48 (4-level), 57 (5-level), or 0 for "not reported". */
	e = caps_cpuid_find(c, 0x80000008, CAPS_CPUID_INDEX_ANY);
	if (e) {
		uint32_t vaddr_bits = (e->eax >> 8) & 0xff;

		if (vaddr_bits != 0 && vaddr_bits != 48 && vaddr_bits != 57) {
			*ret_why = "CPUID 0x80000008.EAX[15:8] (linear address bits) is not 0, 48 or 57";
			return -EINVAL;
		}
	}
	/* Dynamic user state (AMX tile data) needs the process's guest permission. */
	e = caps_cpuid_find(c, 0xd, 0);
	if (e) {
		xfeatures = e->eax | (uint64_t)e->edx << 32;
		if ((xfeatures & HV_XFEATURE_MASK_XTILE_DATA) && !vcpu->vm->host.amx_permitted) {
			*ret_why = "CPUID 0xD.0 enables AMX tile data (XCR0 bit 18) without "
				   "ARCH_REQ_XCOMP_GUEST_PERM";
			return -EPERM;
		}
	}
	return 0;
}

/* Models KVM's kvm_cpuid_check_equal(): incoming is the current array, old the previous. */
static int cpuid_check_equal(struct hv_vcpu *vcpu, const struct caps_cpuid *old, const char **ret_why)
{
	const struct caps_cpuid *incoming = vcpu->cpuid;

	/* KVM-owned bits must not make an identical CPUID look different. */
	hv_update_cpuid_runtime(vcpu);

	if (incoming->nent != old->nent) {
		*ret_why = "the vCPU has run and the new CPUID has a different number of entries";
		return -EINVAL;
	}
	for (size_t i = 0; i < incoming->nent; i++) {
		const struct caps_cpuid_entry *a = &incoming->entries[i], *b = &old->entries[i];

		if (a->function != b->function || a->index != b->index || a->flags != b->flags ||
		    a->eax != b->eax || a->ebx != b->ebx || a->ecx != b->ecx || a->edx != b->edx) {
			*ret_why = "the vCPU has run and the new CPUID differs from the current one "
				   "(an entry's function, index, flags, registers or position)";
			return -EINVAL;
		}
	}
	return 0;
}

/* Models KVM's kvm_set_cpuid(). */
int hv_vcpu_set_cpuid(struct hv_vcpu *vcpu, const struct caps_cpuid_entry *entries, size_t nent,
		      const char **ret_why)
{
	struct caps_cpuid *incoming, *old;
	struct caps saved_caps;
	const char *why = NULL;
	int r;

	if (nent > CAPS_CPUID_MAX_ENTRIES) {
		why = "more than 256 CPUID entries (KVM_MAX_CPUID_ENTRIES)";
		r = -E2BIG;
		goto fail;
	}
	if (nent && !entries) {
		why = "no entries to copy";
		r = -EFAULT;
		goto fail;
	}
	incoming = malloc(sizeof(*incoming));
	if (!incoming) {
		why = "out of memory for the CPUID entries";
		r = -ENOMEM;
		goto fail;
	}
	incoming->nent = nent;
	if (nent)
		memcpy(incoming->entries, entries, nent * sizeof(entries[0]));

	/* Swap the new array in and keep what it takes to unwind. */
	old = vcpu->cpuid;
	vcpu->cpuid = incoming;
	saved_caps = vcpu->cpu_caps;

	/*
	 * QEMU sets the CPUID of a re-plugged vCPU again on the fd it kept:
	 * after KVM_RUN only the same CPUID is accepted, and nothing is
	 * recomputed.  Anything else is -EINVAL, as upstream returns; not
	 * -EBUSY (§2(c)), so that callers see what KVM would tell them.
	 */
	if (vcpu->has_run) {
		r = cpuid_check_equal(vcpu, old, &why);
		if (r < 0)
			goto unwind;
		free(old);
		return 0;
	}

	r = check_cpuid(vcpu, incoming, &why);
	if (r < 0)
		goto unwind;
	vcpu_after_set_cpuid(vcpu);
	free(old);
	return 0;

unwind:
	vcpu->cpu_caps = saved_caps;
	vcpu->cpuid = old;
	free(incoming);
fail:
	if (ret_why)
		*ret_why = why;
	return r;
}

/* Models KVM's kvm_vcpu_ioctl_get_cpuid2(). */
int hv_vcpu_get_cpuid(const struct hv_vcpu *vcpu, struct caps_cpuid_entry *buf, uint32_t *nent)
{
	size_t n = vcpu->cpuid->nent;

	if (!nent)
		return -EFAULT;
	if (*nent < n)
		return -E2BIG;
	if (n && !buf)
		return -EFAULT;
	if (n)
		memcpy(buf, vcpu->cpuid->entries, n * sizeof(buf[0]));
	*nent = (uint32_t)n;
	return 0;
}

uint32_t hv_vcpu_cpuid_nent(const struct hv_vcpu *vcpu)
{
	return (uint32_t)vcpu->cpuid->nent;
}

bool hv_vcpu_has_run(const struct hv_vcpu *vcpu)
{
	return vcpu->has_run;
}

/* ------------------------------------------------------------------ */
/* Derived state, MAXPHYADDR and LAM (§5 rules 9-13). */

int hv_vcpu_maxphyaddr(const struct hv_vcpu *vcpu)
{
	return vcpu->maxphyaddr;
}

uint64_t hv_vcpu_reserved_gpa_bits(const struct hv_vcpu *vcpu)
{
	return vcpu->reserved_gpa_bits;
}

uint64_t hv_vcpu_guest_supported_xcr0(const struct hv_vcpu *vcpu)
{
	return vcpu->guest_supported_xcr0;
}

uint64_t hv_vcpu_cr4_guest_rsvd_bits(const struct hv_vcpu *vcpu)
{
	return vcpu->cr4_guest_rsvd_bits;
}

/* Models KVM's kvm_vcpu_is_legal_gpa(). */
bool hv_vcpu_is_legal_gpa(const struct hv_vcpu *vcpu, uint64_t gpa)
{
	return !(gpa & vcpu->reserved_gpa_bits);
}

bool hv_vcpu_is_legal_cr3(const struct hv_vcpu *vcpu, uint64_t cr3)
{
	/* Without LAM, bits 61/62 lie above MAXPHYADDR and are simply reserved. */
	if (hv_guest_cpu_cap_has(vcpu, X86_FEATURE_LAM))
		cr3 &= ~(HV_CR3_LAM_U48 | HV_CR3_LAM_U57);
	return hv_vcpu_is_legal_gpa(vcpu, cr3);
}

uint64_t hv_vcpu_get_active_cr3_lam_bits(const struct hv_vcpu *vcpu)
{
	if (!hv_guest_cpu_cap_has(vcpu, X86_FEATURE_LAM))
		return 0;
	return vcpu->cr3 & (HV_CR3_LAM_U48 | HV_CR3_LAM_U57);
}

void hv_vcpu_mark_rap_dirty(struct hv_vcpu *vcpu)
{
	/* Only SVM reads the CR3 dirty bit as "the RAP must be cleared". */
	if (hv_vcpu_is_svm(vcpu))
		vcpu->rap_dirty = true;
}

/* Models KVM's kvm_invalidate_pcid() as far as ERAPS sees it. */
static void invalidate_pcid(struct hv_vcpu *vcpu)
{
	/* With TDP, KVM flushes the guest's TLB for the PCID: hardware clears the RAP. */
	if (vcpu->vm->host.tdp)
		hv_vcpu_flush_tlb_guest(vcpu);
}

int hv_vcpu_set_cr3(struct hv_vcpu *vcpu, uint64_t cr3)
{
	bool skip_tlb_flush = false;

	if (vcpu->cr4 & HV_CR4_PCIDE) {
		skip_tlb_flush = cr3 & HV_CR3_PCID_NOFLUSH;
		cr3 &= ~HV_CR3_PCID_NOFLUSH;
	}
	if (cr3 != vcpu->cr3) {
		/* Checked for any mode: the helper also stuffs CR3 (RSM). */
		if (!hv_vcpu_is_legal_cr3(vcpu, cr3))
			return -EINVAL;
		vcpu->cr3 = cr3;
		/* VCPU_EXREG_CR3 dirty, which SVM reads as VCPU_EXREG_ERAPS. */
		hv_vcpu_mark_rap_dirty(vcpu);
	}
	if (!skip_tlb_flush)
		invalidate_pcid(vcpu);
	return 0;
}

uint64_t hv_vcpu_cr3(const struct hv_vcpu *vcpu)
{
	return vcpu->cr3;
}

/* Models KVM's kvm_set_cr4() for the CPUID-derived rules, and kvm_post_set_cr4()'s flushes. */
int hv_vcpu_set_cr4(struct hv_vcpu *vcpu, uint64_t cr4)
{
	uint64_t old = vcpu->cr4;

	if (cr4 & vcpu->cr4_guest_rsvd_bits)
		return -EINVAL;
	vcpu->cr4 = cr4;
	if ((old ^ cr4) & (HV_CR4_OSXSAVE | HV_CR4_PKE))
		hv_update_cpuid_runtime(vcpu);
	/* Toggling PGE, or clearing PCIDE, flushes all of the guest's TLB. */
	if (((old ^ cr4) & HV_CR4_PGE) || ((old & HV_CR4_PCIDE) && !(cr4 & HV_CR4_PCIDE)))
		hv_vcpu_flush_tlb_guest(vcpu);
	return 0;
}

uint64_t hv_vcpu_cr4(const struct hv_vcpu *vcpu)
{
	return vcpu->cr4;
}
