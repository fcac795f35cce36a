/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Policy evaluation (DESIGN.md §4).
 *
 * The evaluation builds the guest CPUID a VMM would pass to
 * KVM_SET_CPUID2 for the policy, then asks the VM and vCPU model what KVM
 * makes of it: the guest's cpu_caps are those of a modelled vCPU given
 * that CPUID, and the controls are read off a modelled VM.  So the
 * reported feature set is what KVM would give the guest, holes included,
 * and feeding the guest CPUID back through the vCPU model reproduces it.
 */

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <hvcore/policy.h>

/* Features that break live migration (QEMU's unmigratable_flags). */
static const int not_migratable[] = {
	X86_FEATURE_CONSTANT_TSC,	/* invtsc: the TSC rate differs between hosts */
};

bool hv_feature_breaks_migration(int feature)
{
	for (size_t i = 0; i < sizeof(not_migratable) / sizeof(not_migratable[0]); i++)
		if (not_migratable[i] == feature)
			return true;
	return false;
}

/* Everything evaluate() needs, in one heap object (the evaluation is large). */
struct eval {
	const struct caps_policy *policy;
	const struct hv_policy_target *t;
	enum caps_names names;
	struct caps_evaluation *ev;
	struct caps raw;		/* host CPU features */
	struct caps emulated;		/* KVM_GET_EMULATED_CPUID: offered by trapping */
	struct caps want;		/* features the policy puts in the guest CPUID */
	struct caps asked;		/* features the policy names with force/require/optional */
	const char *kernel;		/* the target kernel release, for sentences */
};

static void copy_text(char *dst, size_t size, const char *src)
{
	snprintf(dst, size, "%s", src ? src : "");
}

static const char *feature_name(const struct eval *e, int feature)
{
	const char *n = caps_feature_name(feature, e->names);

	return n ? n : "?";
}

static void where_of(int feature, struct caps_eval_location *ret)
{
	const struct caps_word_info *wi = caps_word_info(caps_feature_word(feature));

	*ret = (struct caps_eval_location) { .valid = wi != NULL };
	if (!wi)
		return;
	if (wi->kind == CAPS_WORD_MSR) {
		ret->msr = true;
		ret->function = wi->msr;
		ret->bit = (uint8_t)(caps_feature_bit(feature) + (wi->msr_high ? 32 : 0));
	} else {
		ret->function = wi->function;
		ret->index = wi->index;
		ret->reg = wi->reg;
		ret->bit = (uint8_t)caps_feature_bit(feature);
	}
}

static struct caps_eval_problem *problem(struct eval *e, const char *name, const enum caps_feature_policy *policy,
					 const char *reason, const char *rule, const char *fmt, ...)
	__attribute__((format(printf, 6, 7)));

static struct caps_eval_problem *problem(struct eval *e, const char *name, const enum caps_feature_policy *policy,
					 const char *reason, const char *rule, const char *fmt, ...)
{
	struct caps_evaluation *ev = e->ev;
	struct caps_eval_problem *p;
	va_list ap;

	ev->accepted = false;
	if (ev->n_problems >= CAPS_EVAL_MAX_PROBLEMS)
		return NULL;	/* the verdict stands; the list is full */
	p = &ev->problems[ev->n_problems++];
	memset(p, 0, sizeof(*p));
	copy_text(p->feature, sizeof(p->feature), name);
	if (policy) {
		p->has_policy = true;
		p->policy = *policy;
	}
	copy_text(p->reason, sizeof(p->reason), reason);
	copy_text(p->rule, sizeof(p->rule), rule);
	va_start(ap, fmt);
	vsnprintf(p->detail, sizeof(p->detail), fmt, ap);
	va_end(ap);
	return p;
}

static void warning(struct eval *e, const char *name, const char *reason, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static void warning(struct eval *e, const char *name, const char *reason, const char *fmt, ...)
{
	struct caps_evaluation *ev = e->ev;
	struct caps_eval_warning *w;
	va_list ap;

	if (ev->n_warnings >= CAPS_EVAL_MAX_WARNINGS)
		return;
	w = &ev->warnings[ev->n_warnings++];
	copy_text(w->feature, sizeof(w->feature), name);
	copy_text(w->reason, sizeof(w->reason), reason);
	va_start(ap, fmt);
	vsnprintf(w->detail, sizeof(w->detail), fmt, ap);
	va_end(ap);
}

static bool supported(const struct eval *e, int feature)
{
	return caps_has(&e->t->record->features, feature);
}

/*
 * KVM_GET_EMULATED_CPUID lists what KVM gives a guest by trapping and
 * emulating the instruction (MOVBE, RDPID): usable, but slow.
 */
static bool only_emulated(const struct eval *e, int feature)
{
	return !supported(e, feature) && caps_has(&e->emulated, feature);
}

static void emulated_warning(struct eval *e, int feature)
{
	warning(e, feature_name(e, feature), "emulated_by_kvm",
		"KVM does not offer %s natively but emulates it (KVM_GET_EMULATED_CPUID): every use traps.",
		feature_name(e, feature));
}

/* "kvm_older_than_7.0", "needs_parameter_sev": the rule behind a status. */
static void rule_of(const struct hv_feature_status *s, char *buf, size_t size)
{
	size_t n;

	n = (size_t)snprintf(buf, size, "%s", hv_reason_name((enum hv_reason)s->reason));
	if (s->detail && n + 1 < size && !strchr(s->detail, ' '))
		snprintf(buf + n, size - n, "_%s", s->detail);
}

/* One sentence on why KVM does not offer a feature. */
static void why_not(const struct eval *e, int feature, char *buf, size_t size)
{
	const struct hv_feature_status *s = &e->t->status[feature];
	const char *name = feature_name(e, feature);
	const char *module = e->t->record->vendor_module;
	const char *d = s->detail ? s->detail : "";

	switch ((enum hv_reason)s->reason) {
	case HV_REASON_NOT_IN_HOST_CPU:
		snprintf(buf, size, "The host CPU does not have %s.", name);
		break;
	case HV_REASON_DISABLED_BY_KERNEL:
		snprintf(buf, size, "The host kernel has %s disabled%s%s.", name, *d ? ": " : "", d);
		break;
	case HV_REASON_NEVER_SUPPORTED_BY_KVM:
		snprintf(buf, size, "KVM never offers %s to guests%s%s.", name, *d ? " (" : "", *d ? d : "");
		if (*d)
			strncat(buf, ")", size - strlen(buf) - 1);
		break;
	case HV_REASON_KVM_TOO_OLD:
		snprintf(buf, size, "KVM in Linux %s does not offer %s; it arrived in Linux %s.",
			 e->kernel, name, d);
		break;
	case HV_REASON_RUNTIME_ONLY:
		snprintf(buf, size, "%s mirrors state the guest sets at run time; KVM never offers it.", name);
		break;
	case HV_REASON_VENDOR_CODE_CLEARS:
		snprintf(buf, size, "%s clears %s: it cannot virtualize it.", module, name);
		break;
	case HV_REASON_VENDOR_CODE_DOES_NOT_SET:
		snprintf(buf, size, "%s does not offer %s%s%s.", module, name, *d ? ": " : "", d);
		break;
	case HV_REASON_NEEDS_TDP:
		snprintf(buf, size, "%s needs two-dimensional paging (NPT/EPT), which is off on this host.", name);
		break;
	case HV_REASON_NEEDS_NESTED:
		snprintf(buf, size, "%s needs nested virtualization (%s.nested=1).", name, module);
		break;
	case HV_REASON_NEEDS_PARAMETER:
		snprintf(buf, size, "%s needs the %s parameter, which is off on this host.", name, d);
		break;
	case HV_REASON_NEEDS_PMU:
		snprintf(buf, size, "%s needs the virtual PMU (kvm.enable_pmu=1).", name);
		break;
	case HV_REASON_NEEDS_FEATURE:
		snprintf(buf, size, "%s needs %s, which KVM does not offer here.", name, d);
		break;
	case HV_REASON_NOT_REPORTED_BY_KVM:
		snprintf(buf, size, "KVM%s%s does not report %s.", *d ? " with " : "", d, name);
		break;
	default:
		snprintf(buf, size, "KVM does not offer %s.", name);
		break;
	}
}

/* A problem for a feature KVM does not offer. */
static void unsupported_problem(struct eval *e, int feature, const enum caps_feature_policy *policy,
				const char *context)
{
	const struct hv_feature_status *s = &e->t->status[feature];
	char rule[CAPS_EVAL_WORD_MAX], why[CAPS_EVAL_TEXT_MAX];
	struct caps_eval_problem *p;
	bool not_in_cpu = s->reason == HV_REASON_NOT_IN_HOST_CPU;

	rule_of(s, rule, sizeof(rule));
	why_not(e, feature, why, sizeof(why));
	p = problem(e, feature_name(e, feature), policy, not_in_cpu ? "not_in_host_cpu" : "not_supported_by_kvm",
		    not_in_cpu ? "" : rule, "%s%s", context, why);
	if (p)
		where_of(feature, &p->where);
}

static void unknown_feature(struct eval *e, const struct caps_policy_feature *pf)
{
	const char *near[3];
	size_t n = caps_feature_suggest(pf->name, near, 3);
	char hint[160] = "";

	for (size_t i = 0; i < n; i++)
		snprintf(hint + strlen(hint), sizeof(hint) - strlen(hint), "%s%s", i ? ", " : "; did you mean ",
			 caps_feature_name(caps_feature_lookup(near[i]), e->names));
	problem(e, pf->name, &pf->policy, "unknown_feature", "", "No CPU feature is called '%s'%s?",
		pf->name, n ? hint : "");
	/* A sentence, not a question, when there is nothing to suggest. */
	if (!n && e->ev->n_problems)
		snprintf(e->ev->problems[e->ev->n_problems - 1].detail, CAPS_EVAL_TEXT_MAX,
			 "No CPU feature is called '%s'.", pf->name);
}

static void apply_base(struct eval *e)
{
	const struct caps_policy *pol = e->policy;

	caps_zero(&e->want);
	if (pol->base == CAPS_POLICY_BASE_HOST) {
		e->want = e->t->record->features;
		if (pol->migratable)
			for (size_t i = 0; i < sizeof(not_migratable) / sizeof(not_migratable[0]); i++)
				caps_clear(&e->want, not_migratable[i]);
		return;
	}
	if (pol->base >= CAPS_POLICY_BASE_X86_64_V1 && pol->base <= CAPS_POLICY_BASE_X86_64_V4) {
		int top = (int)(pol->base - CAPS_POLICY_BASE_X86_64_V1) + 1;
		char context[64];

		snprintf(context, sizeof(context), "%s needs it. ", caps_policy_base_to_string(pol->base));
		for (int level = 1; level <= top; level++) {
			const int *f;
			size_t n = hv_x86_64_level_features(level, &f);

			for (size_t i = 0; i < n; i++) {
				caps_set(&e->want, f[i]);
				if (only_emulated(e, f[i]))
					emulated_warning(e, f[i]);
				else if (!supported(e, f[i]))
					unsupported_problem(e, f[i], NULL, context);
			}
		}
	}
}

static void apply_features(struct eval *e)
{
	const struct caps_policy *pol = e->policy;

	for (size_t i = 0; i < pol->n_features; i++) {
		const struct caps_policy_feature *pf = &pol->features[i];
		int f = pf->feature;
		char why[CAPS_EVAL_TEXT_MAX];

		if (f < 0) {
			unknown_feature(e, pf);
			continue;
		}
		switch (pf->policy) {
		case CAPS_POLICY_FORCE:
			caps_set(&e->want, f);
			caps_set(&e->asked, f);
			if (only_emulated(e, f)) {
				emulated_warning(e, f);
			} else if (!supported(e, f)) {
				why_not(e, f, why, sizeof(why));
				warning(e, feature_name(e, f), "forced_unsupported",
					"%s is forced into the guest CPUID, but the guest will not get it: %s",
					feature_name(e, f), why);
			}
			break;
		case CAPS_POLICY_REQUIRE:
			caps_set(&e->asked, f);
			if (supported(e, f)) {
				caps_set(&e->want, f);
			} else if (only_emulated(e, f)) {
				caps_set(&e->want, f);
				emulated_warning(e, f);
			} else {
				unsupported_problem(e, f, &pf->policy, "");
			}
			if (pol->migratable && hv_feature_breaks_migration(f))
				warning(e, feature_name(e, f), "not_migratable",
					"%s is required but breaks live migration (the TSC rate differs between hosts).",
					feature_name(e, f));
			break;
		case CAPS_POLICY_OPTIONAL:
			caps_set(&e->asked, f);
			caps_change(&e->want, f, supported(e, f));
			break;
		case CAPS_POLICY_DISABLE:
			caps_clear(&e->want, f);
			break;
		case CAPS_POLICY_FORBID:
			caps_clear(&e->want, f);
			if (supported(e, f)) {
				struct caps_eval_problem *p = problem(e, feature_name(e, f), &pf->policy,
					"forbidden_but_supported", "",
					"The policy forbids %s, and KVM on this host offers it.", feature_name(e, f));

				if (p)
					where_of(f, &p->where);
			}
			break;
		}
	}
}

/* The bits of a feature word the policy decides: all but its numeric fields. */
static uint32_t named_mask(int w)
{
	return ~caps_word_info(w)->field_mask;
}

/* The XSAVE components the guest's features need (what QEMU enables). */
static uint64_t xcr0_for(const struct caps *want)
{
	uint64_t m = 0x3;	/* x87, SSE */

	if (caps_has(want, X86_FEATURE_AVX))
		m |= 1ull << 2;
	if (caps_has(want, X86_FEATURE_MPX))
		m |= (1ull << 3) | (1ull << 4);
	if (caps_has(want, X86_FEATURE_AVX512F))
		m |= (1ull << 5) | (1ull << 6) | (1ull << 7);
	if (caps_has(want, X86_FEATURE_PKU))
		m |= 1ull << 9;
	if (caps_has(want, X86_FEATURE_AMX_TILE))
		m |= (1ull << 17) | (1ull << 18);
	return m;
}

/* Leaves that describe one feature go empty without it, as VMMs do. */
static bool leaf_dropped(const struct caps *want, uint32_t fn)
{
	switch (fn) {
	case 0x12: return !caps_has(want, X86_FEATURE_SGX);
	case 0x14: return !caps_has(want, X86_FEATURE_INTEL_PT);
	case 0x1d: case 0x1e: return !caps_has(want, X86_FEATURE_AMX_TILE);
	case 0x24: return !caps_has(want, X86_FEATURE_AVX10);
	case 0x8000000a: return !caps_has(want, X86_FEATURE_SVM);
	case 0x8000001f: return !caps_has(want, X86_FEATURE_SEV);
	default: return false;
	}
}

/* A CPUID word the guest CPUID takes from the policy. */
struct policy_word {
	uint32_t function;
	uint32_t index;
	enum caps_reg reg;
	int word;
	uint32_t mask;		/* named_mask() */
};

/*
 * The guest CPUID: KVM's supported entries with every feature word
 * replaced by the policy's features, MAXPHYADDR set, and the XSAVE
 * components and single-feature leaves trimmed to what the guest has.
 */
static int build_guest_cpuid(struct eval *e)
{
	const struct caps_cpuid *sup = &e->t->record->supported;
	struct caps_cpuid *out = &e->ev->guest_cpuid;
	uint64_t xcr0 = xcr0_for(&e->want);
	struct policy_word words[NR_CAPS_WORDS];
	size_t n_words = 0;

	/*
	 * The words whose named bits the policy decides: the words KVM tracks
	 * and the KVM PV word, with where they live.  Collected once, then
	 * matched against each entry: a pass over the whole catalog per entry
	 * was the evaluation's largest cost.
	 */
	for (int w = 0; w < NR_CAPS_WORDS; w++) {
		const struct caps_word_info *wi = caps_word_info(w);

		if (wi->kind == CAPS_WORD_MSR || (wi->kind == CAPS_WORD_EXTRA && w != CPUID_4000_0001_EAX))
			continue;
		words[n_words++] = (struct policy_word) {
			.function = wi->function, .index = wi->index, .reg = wi->reg, .word = w,
			.mask = named_mask(w),
		};
	}

	caps_cpuid_init(out);
	for (size_t i = 0; i < sup->nent; i++) {
		struct caps_cpuid_entry g = sup->entries[i];
		int r;

		if (g.function == 0xd && g.index >= 2 && g.index < 64 && !(xcr0 & (1ull << g.index)) &&
		    !(g.ecx & 1))	/* XSS components (ECX[0]) follow XSAVES, not XCR0 */
			continue;
		if (leaf_dropped(&e->want, g.function) && g.index > 0)
			continue;
		if (leaf_dropped(&e->want, g.function))
			g.eax = g.ebx = g.ecx = g.edx = 0;
		for (size_t k = 0; k < n_words; k++) {
			const struct policy_word *pw = &words[k];

			if (pw->function != g.function || pw->index != g.index)
				continue;
			caps_cpuid_entry_set_reg(&g, pw->reg, (caps_cpuid_entry_reg(&g, pw->reg) & ~pw->mask) |
						 (e->want.words[pw->word] & pw->mask));
		}
		if (g.function == 0xd && g.index == 0) {
			g.eax &= (uint32_t)xcr0;
			g.edx &= (uint32_t)(xcr0 >> 32);
		}
		if (g.function == 0x80000008)
			g.eax = (g.eax & ~0xffu) | (uint32_t)e->ev->guest_phys_bits;
		if (g.function == 0x80000021 && !caps_has(&e->want, X86_FEATURE_ERAPS))
			g.ebx &= ~0x00ff0000u;	/* RapSize goes with ERAPS */
		r = caps_cpuid_add(out, &g);
		if (r < 0)
			return r;
	}
	return 0;
}

static const int runtime_bits[] = {
	X86_FEATURE_APIC, X86_FEATURE_OSXSAVE, X86_FEATURE_OSPKE, X86_FEATURE_MWAIT,
};

static bool is_runtime_bit(int feature)
{
	for (size_t i = 0; i < sizeof(runtime_bits) / sizeof(runtime_bits[0]); i++)
		if (runtime_bits[i] == feature)
			return true;
	return false;
}

/*
 * Ask the VM and vCPU model what KVM makes of the guest CPUID: cpu_caps,
 * MAXPHYADDR, the ERAPS control after INIT, the APIC access memslot with
 * the policy's APIC mode, the APICv inhibits with the highest vCPU id,
 * and the LAM bits.
 */
static int derive(struct eval *e)
{
	const struct caps_policy *pol = e->policy;
	struct caps_evaluation *ev = e->ev;
	struct hv_vm *vm = NULL;
	struct hv_vcpu *bsp, *last;
	const char *why = NULL;
	uint32_t inhibits;
	uint8_t erap;
	int r;

	r = hv_vm_new(&e->t->host, pol->vcpus, NULL, &vm);
	if (r < 0)
		return r;
	r = hv_vcpu_create(vm, 0, &bsp);
	if (r < 0)
		goto out;
	r = hv_vcpu_set_cpuid(bsp, ev->guest_cpuid.entries, ev->guest_cpuid.nent, &why);
	if (r < 0) {
		/* The policy asks for a CPUID KVM refuses: say why, derive nothing. */
		problem(e, "", NULL, "invalid_cpuid", r == -EPERM ? "amx_permission" : "kvm_check_cpuid",
			"KVM_SET_CPUID2 would fail: %s", why ? why : strerror(-r));
		r = 0;
		goto out;
	}
	ev->guest_features = *hv_vcpu_cpu_caps(bsp);
	ev->guest_phys_bits = hv_vcpu_maxphyaddr(bsp);

	/* Features KVM gives the guest that its CPUID does not list. */
	caps_for_each(f, &ev->guest_features) {
		if (caps_has(&e->want, f) || is_runtime_bit(f))
			continue;
		warning(e, feature_name(e, f), "virtualization_hole",
			"The guest gets %s although its CPUID does not list it: %s cannot hide it.",
			feature_name(e, f), f == X86_FEATURE_GBPAGES ? "with TDP, the hardware" :
			e->t->host.vendor == HV_VENDOR_AMD ? "SVM" : "KVM");
	}

	/*
	 * ERAPS: KVM sets ALLOW_LARGER_RAP only at vCPU RESET and INIT, from
	 * the guest's caps at that moment (KVM-SEMANTICS.md §3(c)); report the
	 * control as INIT leaves it, which is what every AP starts with.
	 */
	hv_vcpu_init(bsp);
	erap = hv_vcpu_vmcb01_erap_ctl(bsp);
	ev->erap_allow_larger_rap = erap & ERAP_CONTROL_ALLOW_LARGER_RAP;
	ev->erap_clear_rap = erap & ERAP_CONTROL_CLEAR_RAP;
	if (hv_guest_cpu_cap_has(bsp, X86_FEATURE_ERAPS))
		warning(e, feature_name(e, X86_FEATURE_ERAPS), "larger_rap_after_init",
			"KVM enables the larger RAP at vCPU RESET and INIT only: the boot vCPU, whose CPUID is set "
			"after RESET, uses the 32-entry RAP until its first INIT.");

	ev->cr3_lam_u48 = ev->cr3_lam_u57 = hv_guest_cpu_cap_has(bsp, X86_FEATURE_LAM);
	ev->snp_safe_control_pages = e->t->host.snp;

	/* The highest vCPU id decides PHYSICAL_ID_TOO_BIG. */
	if (pol->vcpus > 1) {
		r = hv_vcpu_create(vm, pol->vcpus - 1, &last);
		if (r < 0)
			goto out;
	}

	if (pol->apic == CAPS_POLICY_APIC_X2APIC) {
		uint64_t base = HV_APIC_BASE_DEFAULT | HV_APIC_BASE_ENABLE | HV_APIC_BASE_EXTD | HV_APIC_BASE_BSP;

		/* The guest itself switches from xAPIC to x2APIC. */
		if (hv_vcpu_set_apic_base(bsp, base, false) < 0)
			problem(e, feature_name(e, X86_FEATURE_X2APIC), NULL, "x2apic_unavailable", "",
				"The policy wants x2APIC, but the guest's CPUID lacks %s.",
				feature_name(e, X86_FEATURE_X2APIC));
	}
	if (hv_vm_is_apic_access_memslot_inhibited(vm))
		ev->apic_access_memslot = CAPS_EVAL_MEMSLOT_INHIBITED_WHEN_X2APIC;
	else if (hv_vm_is_apic_access_memslot_enabled(vm))
		ev->apic_access_memslot = CAPS_EVAL_MEMSLOT_ENABLED;
	else
		ev->apic_access_memslot = CAPS_EVAL_MEMSLOT_NOT_USED;

	inhibits = hv_vm_apicv_inhibit_reasons(vm);
	for (int i = 0; i < NR_APICV_INHIBIT_REASONS && ev->n_apicv_inhibits < CAPS_EVAL_MAX_INHIBITS; i++)
		if (inhibits & (1u << i))
			copy_text(ev->apicv_inhibits[ev->n_apicv_inhibits++], sizeof(ev->apicv_inhibits[0]),
				  hv_apicv_inhibit_name((enum hv_apicv_inhibit)i));
	r = 0;
out:
	hv_vm_free(vm);
	return r;
}

static bool host_vendor_is(const struct caps_cpuid *raw, const char *vendor)
{
	const struct caps_cpuid_entry *e = caps_cpuid_find(raw, 0, 0);
	char id[13];

	if (!e)
		return false;
	memcpy(id, &e->ebx, 4);
	memcpy(id + 4, &e->edx, 4);
	memcpy(id + 8, &e->ecx, 4);
	id[12] = '\0';
	return strcmp(id, vendor) == 0;
}

void hv_policy_target_from_model(struct hv_policy_target *ret, const struct hv_model_result *m,
				 const struct hv_host_params *p, const struct caps_cpuid *raw)
{
	ret->record = &m->record;
	ret->status = m->status;
	ret->raw = raw;
	hv_host_from_model(&ret->host, m, p);
}

void hv_policy_target_use_probe(struct hv_policy_target *t, const struct caps_host_record *probe,
				const struct hv_feature_status *status)
{
	const struct caps_cpuid_entry *d0 = caps_cpuid_find(&probe->supported, 0xd, 0);
	const struct caps_cpuid_entry *d1 = caps_cpuid_find(&probe->supported, 0xd, 1);

	t->record = probe;
	t->status = status;
	t->host.kvm_cpu_caps = probe->features;
	t->host.supported_xcr0 = d0 && d0->index == 0 ? d0->eax | (uint64_t)d0->edx << 32 : 0;
	t->host.supported_xss = d1 && d1->index == 1 ? d1->ecx | (uint64_t)d1->edx << 32 : 0;
}

void hv_policy_target_from_record(struct hv_policy_target *ret, const struct caps_host_record *r, bool avic,
				  bool x2avic, struct hv_feature_status status[CAPS_NR_FEATURE_IDS])
{
	const struct caps_cpuid_entry *e;
	struct hv_host_params p;

	memset(ret, 0, sizeof(*ret));
	for (int f = 0; f < CAPS_NR_FEATURE_IDS; f++)
		status[f] = caps_has(&r->features, f)
			? (struct hv_feature_status) { .reason = HV_REASON_SUPPORTED }
			: (struct hv_feature_status) { .reason = HV_REASON_NOT_REPORTED_BY_KVM,
						       .detail = "in the host record" };
	ret->raw = &r->supported;
	if (hv_host_params_from_record(&p, r, &r->supported) == 0) {
		ret->host.vendor = p.vendor;
		ret->host.tdp = p.tdp;
		ret->host.nested = p.nested;
		ret->host.amx_permitted = p.amx_permitted;
		ret->host.snp = p.snp && caps_has(&r->features, X86_FEATURE_SEV_SNP);
	}
	ret->host.enable_apicv = ret->host.vendor == HV_VENDOR_AMD ? avic : true;
	ret->host.x2avic = x2avic;
	ret->host.host_eraps = caps_has(&r->features, X86_FEATURE_ERAPS);
	ret->host.host_maxphyaddr = 36;
	e = caps_cpuid_find(&r->supported, 0x80000008, CAPS_CPUID_INDEX_ANY);
	if (e && (e->eax & 0xff))
		ret->host.host_maxphyaddr = (int)(e->eax & 0xff);
	hv_policy_target_use_probe(ret, r, status);
}

void hv_policy_status_inventory(struct hv_feature_status status[CAPS_NR_FEATURE_IDS],
				const struct caps_host_record *r)
{
	for (int f = 0; f < CAPS_NR_FEATURE_IDS; f++)
		if (!caps_has(&r->features, f))
			status[f] = (struct hv_feature_status) { .reason = HV_REASON_NOT_IN_HOST_CPU };
}

void hv_policy_status_withhold(struct hv_feature_status status[CAPS_NR_FEATURE_IDS],
			       const struct caps_host_record *r, int feature, const char *reason,
			       const char *detail)
{
	int rs = -1;

	if (feature < 0 || feature >= CAPS_NR_FEATURE_IDS || caps_has(&r->features, feature))
		return;
	for (int i = 0; reason && i < NR_HV_REASONS; i++)
		if (strcmp(hv_reason_name((enum hv_reason)i), reason) == 0)
			rs = i;
	if (rs < 0 || rs == HV_REASON_SUPPORTED) {
		/* Not one this hvcore knows: what the record itself says. */
		status[feature] = (struct hv_feature_status) { .reason = HV_REASON_NOT_REPORTED_BY_KVM,
							       .detail = "in the host record" };
		return;
	}
	status[feature] = (struct hv_feature_status) { .reason = (uint8_t)rs, .detail = detail };
}

int hv_policy_evaluate(const struct caps_policy *policy, const struct hv_policy_target *target,
		       enum caps_names names, struct caps_evaluation *ret)
{
	const struct caps_cpuid_entry *pa;
	struct eval *e;
	int r, host_phys;

	if (!policy || !target || !target->record || !target->status || !target->raw || !ret)
		return -EINVAL;
	if (policy->vcpus < 1 || policy->vcpus > CAPS_POLICY_MAX_VCPUS)
		return -EINVAL;
	e = calloc(1, sizeof(*e));
	if (!e)
		return -ENOMEM;
	e->policy = policy;
	e->t = target;
	e->names = names;
	e->ev = ret;
	caps_from_cpuid(&e->raw, target->raw, NULL);
	caps_from_cpuid(&e->emulated, &target->record->emulated, NULL);
	e->kernel = target->record->kernel_release;

	ret->accepted = true;
	ret->n_problems = ret->n_warnings = ret->n_apicv_inhibits = 0;
	caps_zero(&ret->guest_features);
	caps_cpuid_init(&ret->guest_cpuid);
	ret->erap_allow_larger_rap = ret->erap_clear_rap = false;
	ret->apic_access_memslot = CAPS_EVAL_MEMSLOT_NOT_USED;
	ret->cr3_lam_u48 = ret->cr3_lam_u57 = false;
	ret->snp_safe_control_pages = false;

	if (policy->has_vendor && !host_vendor_is(target->raw, policy->vendor))
		problem(e, "", NULL, "vendor_mismatch", "", "The policy is for %s CPUs; this host's CPU is not.",
			policy->vendor);

	/* MAXPHYADDR: KVM reports the host's in 0x8000_0008.EAX[7:0]; a guest may have fewer. */
	pa = caps_cpuid_find(&target->record->supported, 0x80000008, 0);
	host_phys = pa ? (int)(pa->eax & 0xff) : 36;
	ret->guest_phys_bits = policy->phys_bits ? policy->phys_bits : host_phys;
	if (policy->phys_bits > host_phys)
		problem(e, "", NULL, "phys_bits_too_large", "",
			"The policy asks for %d physical address bits; the host has %d.", policy->phys_bits,
			host_phys);

	apply_base(e);
	apply_features(e);
	/* x2APIC mode needs the X2APIC bit, which KVM always offers (EMULATED_F). */
	if (policy->apic == CAPS_POLICY_APIC_X2APIC && supported(e, X86_FEATURE_X2APIC))
		caps_set(&e->want, X86_FEATURE_X2APIC);
	for (size_t i = 0; i < policy->n_features; i++)
		if (policy->features[i].feature == X86_FEATURE_X2APIC &&
		    (policy->features[i].policy == CAPS_POLICY_DISABLE || policy->features[i].policy == CAPS_POLICY_FORBID))
			caps_clear(&e->want, X86_FEATURE_X2APIC);

	r = build_guest_cpuid(e);
	if (r == 0)
		r = derive(e);
	free(e);
	return r;
}
