/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * hvcore's supported-CPUID model against what QEMU saw under KVM on real
 * machines: for every CPU of libvirt's cputestdata (read in place from
 * ../shared/testdata) that has a QMP transcript (.json), the model run on
 * the raw dump (.xml) is compared with the `true` properties of QEMU's
 * query-cpu-model-expansion of `host`, feature by feature.
 *
 * The compared features are the QEMU boolean properties that name a
 * catalog feature in a CPUID word KVM tracks (a kernel or KVM-only word)
 * or in the KVM PV leaf 0x4000_0001.  Feature-MSR words (arch-capabilities
 * bits, vmx-*) are left out: they are not CPUID and KVM reports them
 * through KVM_GET_MSRS.  A feature QEMU did not know has no property and
 * is not compared; `false` means QEMU knew it and KVM (or QEMU) left it off.
 *
 * Every disagreement must be explained by one rule of the table below:
 * something QEMU itself does to KVM's answer, or a KVM change newer than
 * the kernel the dump was taken with (the model starts at 6.1, the dumps
 * are older).  Each rule names its features and the exact condition; a
 * disagreement no rule explains fails the CPU's test, and so does a rule
 * that explains nothing.  docs/QEMU-COMPARISON.md gives the sources.
 */

#include <dirent.h>
#include <errno.h>
#include <stdarg.h>
#include <string.h>

#include <json-c/json.h>

#include <hvcore/model.h>
#include <libcaps/dump.h>

#include "test-util.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* The largest transcript is 51 KB; anything this big is not one. */
#define TRANSCRIPT_MAX_BYTES (4 * 1024 * 1024)

#define MAX_STEMS 64

static char testdata_dir[4096];
static char *stems[MAX_STEMS];
static size_t n_stems;

/*
 * The CPUs, the model parameters chosen for each, and the newest kernel
 * the dump can have been taken with.  That bound comes from the QEMU data
 * itself: a feature QEMU knew (it has a property), the CPU has, and every
 * kernel from some release on reports, yet QEMU saw it `false`.  The
 * evidence is one such feature; every kernel rule that applies to the CPU
 * must agree with the bound (a rule fires only below it).
 *
 * kernel=6.1 everywhere: every dump predates 6.1, the oldest kernel the
 * model covers, so 6.1 is the nearest it can play.  nested=off where QEMU
 * saw neither VMX nor SVM on a CPU that has it: KVM sets that bit exactly
 * when the vendor module's nested parameter is on (kvm_intel.nested
 * defaulted to 0 before Linux 4.20).
 */
static const struct cpu_case {
	const char *stem;
	const char *params;		/* for hv_host_params_set(), blank separated */
	const char *why;		/* why these parameters */
	int kernel_max;			/* KVM_V(): newest possible dump kernel; 0 unknown */
	const char *evidence;		/* what bounds the kernel */
	const char *qemu;		/* QEMU generation, from its property set */
} cpu_cases[] = {
	{
		.stem = "Atom-P5362",
		.params = "kernel=6.1",
		.why = "vmx=true: nested on (the default)",
		.evidence = "none needed: no kernel rule applies",
		.qemu = "5.0 (vmx-* properties, WAITPKG override still in kvm.c)",
	},
	{
		.stem = "Core-i5-650",
		.params = "kernel=6.1 nested=off",
		.why = "vmx=false on a VMX CPU: kvm_intel.nested=0",
		.kernel_max = KVM_V(4, 15),
		.evidence = "kvm-pv-tlb-flush=false (KVM has it from 4.16)",
		.qemu = "2.12 (kvm-pv-tlb-flush, no kvm-pv-ipi)",
	},
	{
		.stem = "Core-i7-8700",
		.params = "kernel=6.1 nested=off",
		.why = "vmx=false on a VMX CPU: kvm_intel.nested=0",
		.kernel_max = KVM_V(5, 3),
		.evidence = "ibpb=false on a SPEC_CTRL CPU (KVM derives it from 5.4)",
		.qemu = "2.12/3.0 (ssbd, kvm-pv-tlb-flush, no kvm-pv-ipi)",
	},
	{
		.stem = "EPYC-7601-32-Core",
		.params = "kernel=6.1 nested=off",
		.why = "svm=false on an SVM CPU: kvm_amd.nested=0",
		.kernel_max = KVM_V(4, 16),
		.evidence = "perfctr-core=false on a CPU with it (KVM has it from 4.17)",
		.qemu = "2.10/2.11 (no ibpb, no kvm-pv-tlb-flush)",
	},
	{
		.stem = "Opteron-6234",
		.params = "kernel=6.1 nested=off",
		.why = "svm=false on an SVM CPU: kvm_amd.nested=0",
		.kernel_max = KVM_V(4, 4),
		.evidence = "rdtscp=false on a CPU with it (SVM offers it from 4.5)",
		.qemu = "older than 2.10 (a features-only expansion)",
	},
	{
		.stem = "Ryzen-9-3900X-12-Core",
		.params = "kernel=6.1",
		.why = "svm=true: nested on (the default)",
		.kernel_max = KVM_V(5, 15),
		.evidence = "tsc-scale=false with svm=true on a CPU with it (nested TSC scaling from 5.16)",
		.qemu = "5.1 (Icelake-Server-v4, no kvm-asyncpf-int)",
	},
	{
		.stem = "Xeon-E5-2650-v4",
		.params = "kernel=6.1 nested=off",
		.why = "vmx=false on a VMX CPU: kvm_intel.nested=0",
		.kernel_max = KVM_V(4, 15),
		.evidence = "umip=false on a CPU without UMIP (VMX emulates it from 4.16)",
		.qemu = "2.10/2.11 (no spec-ctrl, no kvm-pv-tlb-flush)",
	},
	{
		.stem = "Xeon-Gold-5115",
		.params = "kernel=6.1 nested=off",
		.why = "vmx=false on a VMX CPU: kvm_intel.nested=0",
		.kernel_max = KVM_V(4, 12),
		.evidence = "xsaves=false on a CPU with it (absent from VMX in 4.1..4.12)",
		.qemu = "2.10/2.11 with Spectre backports (spec-ctrl, no kvm-pv-tlb-flush)",
	},
};

/* Which way a disagreement goes. */
enum side {
	QEMU_ONLY,	/* QEMU true, the model does not support it */
	MODEL_ONLY,	/* the model supports it, QEMU false */
};

enum rule_raw {
	RAW_ANY,
	RAW_SET,	/* the host's raw CPUID has the bit */
	RAW_CLEAR,	/* it does not: KVM emulates or synthesizes it */
};

enum rule_vendor {
	VENDOR_ANY,
	VENDOR_INTEL,	/* kvm_intel */
	VENDOR_AMD,	/* kvm_amd */
};

struct rule {
	const char *name;
	const char *reason;
	enum side side;
	const int *features;		/* X86_FEATURE_* */
	size_t n_features;
	enum rule_vendor vendor;
	enum rule_raw raw;
	int model_reason;		/* REASON(x): the model must say why so; 0 any */
	int kernel_before;		/* KVM_V(): only where the dump's kernel predates it */
	const char *cpus;		/* NULL, or the only CPUs (stems) it covers */
};

#define FEATURES(...) \
	.features = (const int[]){ __VA_ARGS__ }, \
	.n_features = sizeof((const int[]){ __VA_ARGS__ }) / sizeof(int)
#define REASON(id) (HV_REASON_##id + 1)

static const struct rule rules[] = {
	/* What QEMU (target/i386/kvm/kvm.c, cpu.c) does to KVM's answer. */
	{
		.name = "qemu_sets_hypervisor",
		.reason = "QEMU ORs HYPERVISOR into 1.ECX itself; KVM lists it only from 6.14",
		.side = QEMU_ONLY, FEATURES(X86_FEATURE_HYPERVISOR),
		.model_reason = REASON(KVM_TOO_OLD),
	},
	{
		.name = "qemu_sets_tsc_deadline",
		.reason = "QEMU adds TSC_DEADLINE given KVM_CAP_TSC_DEADLINE_TIMER and an in-kernel "
			  "irqchip; KVM lists it only from 6.14",
		.side = QEMU_ONLY, FEATURES(X86_FEATURE_TSC_DEADLINE_TIMER),
		.model_reason = REASON(KVM_TOO_OLD),
	},
	{
		.name = "qemu_drops_unmigratable_invtsc",
		.reason = "invtsc is in QEMU's unmigratable_flags: -cpu host (migratable=on) leaves it out",
		.side = MODEL_ONLY, FEATURES(X86_FEATURE_CONSTANT_TSC),
	},
	{
		.name = "qemu_host_does_not_autoenable_topoext",
		.reason = "TOPOEXT is in QEMU's no_autoenable_flags (3.1+): -cpu host needs a consistent "
			  "cache topology first",
		.side = MODEL_ONLY, FEATURES(X86_FEATURE_TOPOEXT),
		.vendor = VENDOR_AMD, .cpus = "Ryzen-9-3900X-12-Core",
	},
	{
		.name = "qemu_waitpkg_needs_cpu_pm",
		.reason = "QEMU 4.2..5.0 cleared WAITPKG from KVM's answer unless -overcommit cpu-pm=on",
		.side = MODEL_ONLY, FEATURES(X86_FEATURE_WAITPKG),
		.vendor = VENDOR_INTEL, .cpus = "Atom-P5362",
	},
	{
		.name = "qemu_sets_kvm_hint_dedicated",
		.reason = "QEMU ORs KVM_HINTS_REALTIME into 0x4000_0001.EDX (KVM never sets hints); "
			  "QEMU 2.12 still auto-enabled it on -cpu host",
		.side = QEMU_ONLY, FEATURES(X86_FEATURE_KVM_HINTS_REALTIME),
		.model_reason = REASON(NEVER_SUPPORTED_BY_KVM), .cpus = "Core-i5-650",
	},

	/* The dump's kernel is older than the KVM change (and than 6.1). */
	{
		.name = "kernel_before_4_5_svm_rdtscp",
		.reason = "SVM offers RDTSCP to guests from Linux 4.5",
		.side = MODEL_ONLY, FEATURES(X86_FEATURE_RDTSCP),
		.vendor = VENDOR_AMD, .raw = RAW_SET, .kernel_before = KVM_V(4, 5),
	},
	{
		.name = "kernel_before_4_13_vmx_xsaves",
		.reason = "Linux 4.1..4.12 did not offer XSAVES to VMX guests",
		.side = MODEL_ONLY, FEATURES(X86_FEATURE_XSAVES),
		.vendor = VENDOR_INTEL, .raw = RAW_SET, .kernel_before = KVM_V(4, 13),
	},
	{
		.name = "kernel_before_4_16_pv_tlb_flush",
		.reason = "KVM_FEATURE_PV_TLB_FLUSH exists from Linux 4.16",
		.side = MODEL_ONLY, FEATURES(X86_FEATURE_KVM_PV_TLB_FLUSH),
		.kernel_before = KVM_V(4, 16),
	},
	{
		.name = "kernel_before_4_16_vmx_umip_emulation",
		.reason = "VMX emulates UMIP on CPUs without it (descriptor-table exiting) from Linux 4.16",
		.side = MODEL_ONLY, FEATURES(X86_FEATURE_UMIP),
		.vendor = VENDOR_INTEL, .raw = RAW_CLEAR, .kernel_before = KVM_V(4, 16),
	},
	{
		.name = "kernel_before_4_17_amd_perfctr_core_topoext",
		.reason = "PMU: PERFCTR_CORE, and TOPOEXT with it, joined KVM's 0x8000_0001.ECX list "
			  "in Linux 4.17",
		.side = MODEL_ONLY, FEATURES(X86_FEATURE_PERFCTR_CORE, X86_FEATURE_TOPOEXT),
		.vendor = VENDOR_AMD, .raw = RAW_SET, .kernel_before = KVM_V(4, 17),
	},
	{
		.name = "kernel_before_4_19_arch_capabilities_emulated",
		.reason = "KVM reports ARCH_CAPABILITIES without the host's CPUID bit from Linux 4.19 "
			  "(VMX; every host from 5.1)",
		.side = MODEL_ONLY, FEATURES(X86_FEATURE_ARCH_CAPABILITIES),
		.vendor = VENDOR_INTEL, .raw = RAW_CLEAR, .kernel_before = KVM_V(4, 19),
	},
	{
		.name = "kernel_before_4_20_intel_stibp",
		.reason = "KVM reports 7.0.EDX STIBP from Linux 4.20 "
			  "(\"Report STIBP on GET_SUPPORTED_CPUID\")",
		.side = MODEL_ONLY, FEATURES(X86_FEATURE_INTEL_STIBP),
		.vendor = VENDOR_INTEL, .raw = RAW_SET, .kernel_before = KVM_V(4, 20),
	},
	{
		.name = "kernel_before_5_4_ibpb_from_spec_ctrl",
		.reason = "KVM sets 0x8000_0008.EBX IBPB from the kernel's IBPB flag (Intel SPEC_CTRL) "
			  "from Linux 5.4",
		.side = MODEL_ONLY, FEATURES(X86_FEATURE_AMD_IBPB),
		.vendor = VENDOR_INTEL, .raw = RAW_CLEAR, .kernel_before = KVM_V(5, 4),
	},
	{
		.name = "kernel_before_5_5_svm_xsaves",
		.reason = "SVM offers XSAVES to guests from Linux 5.5",
		.side = MODEL_ONLY, FEATURES(X86_FEATURE_XSAVES),
		.vendor = VENDOR_AMD, .raw = RAW_SET, .kernel_before = KVM_V(5, 5),
	},
	{
		.name = "kernel_before_5_7_svm_leaf_without_nested",
		.reason = "nested SVM: before 5.7 KVM filled 0x8000_000A (NPT, NRIPS) even with "
			  "kvm_amd.nested=0",
		.side = QEMU_ONLY, FEATURES(X86_FEATURE_NPT, X86_FEATURE_NRIPS),
		.vendor = VENDOR_AMD, .model_reason = REASON(NEEDS_NESTED),
		.kernel_before = KVM_V(5, 7),
	},
	{
		.name = "kernel_before_5_9_pdcm",
		.reason = "PMU: KVM reports PDCM (guest PERF_CAPABILITIES) from Linux 5.9",
		.side = MODEL_ONLY, FEATURES(X86_FEATURE_PDCM),
		.vendor = VENDOR_INTEL, .raw = RAW_SET, .kernel_before = KVM_V(5, 9),
	},
	{
		.name = "kernel_before_5_16_nested_svm_features",
		.reason = "nested SVM: TSC scaling (5.16), VMCB clean bits, LBRV, PAUSE filter and "
			  "threshold (5.18/5.19) were offered to L1 later",
		.side = MODEL_ONLY,
		FEATURES(X86_FEATURE_TSCRATEMSR, X86_FEATURE_VMCBCLEAN, X86_FEATURE_LBRV,
			 X86_FEATURE_PAUSEFILTER, X86_FEATURE_PFTHRESHOLD),
		.vendor = VENDOR_AMD, .raw = RAW_SET, .kernel_before = KVM_V(5, 16),
	},
};

/* One CPU's comparison. */
struct tally {
	unsigned compared;
	unsigned agree;
	unsigned qemu_only;
	unsigned model_only;
	unsigned unexplained;
	unsigned skipped_msr;		/* properties naming feature-MSR bits */
	unsigned rule_hits[ARRAY_SIZE(rules)];
	char detail[8192];		/* one line per disagreement */
	char failures[8192];		/* the unexplained ones */
};

/* What QEMU said about one feature, over all its spellings. */
enum qemu_value {
	QEMU_ABSENT,
	QEMU_FALSE,
	QEMU_TRUE,
};

static struct caps_dump dump;
static struct hv_model_result res;

static const struct cpu_case *cpu_case_find(const char *stem)
{
	for (size_t i = 0; i < ARRAY_SIZE(cpu_cases); i++)
		if (strcmp(cpu_cases[i].stem, stem) == 0)
			return &cpu_cases[i];
	return NULL;
}

static void appendf(char *buf, size_t size, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static void appendf(char *buf, size_t size, const char *fmt, ...)
{
	size_t len = strlen(buf);
	va_list ap;

	if (len + 1 >= size)
		return;
	va_start(ap, fmt);
	vsnprintf(buf + len, size - len, fmt, ap);
	va_end(ap);
}

static const char *version_string(int v, char *buf, size_t size)
{
	snprintf(buf, size, "%d.%d", v / 100, v % 100);
	return buf;
}

/* A word whose bits are CPUID features KVM reports: kernel, KVM-only, KVM PV. */
static bool word_is_compared(enum caps_word w)
{
	const struct caps_word_info *wi = caps_word_info(w);

	return wi->kind == CAPS_WORD_KERNEL || wi->kind == CAPS_WORD_KVM_ONLY ||
	       w == CPUID_4000_0001_EAX || w == CPUID_4000_0001_EDX;
}

/* A token of a blank-separated list, matched whole. */
static bool list_has(const char *list, const char *word)
{
	size_t n = strlen(word);

	for (const char *p = list; (p = strstr(p, word)); p += n)
		if ((p == list || p[-1] == ' ') && (p[n] == '\0' || p[n] == ' '))
			return true;
	return false;
}

static bool rule_matches(const struct rule *r, const struct cpu_case *cc,
			 const struct hv_host_params *p, int feature, enum side side)
{
	bool listed = false, raw = caps_has(&res.raw, feature);

	for (size_t i = 0; i < r->n_features; i++)
		listed |= r->features[i] == feature;
	if (!listed || r->side != side)
		return false;
	if (r->cpus && !list_has(r->cpus, cc->stem))
		return false;
	if ((r->vendor == VENDOR_INTEL && p->vendor != HV_VENDOR_INTEL) ||
	    (r->vendor == VENDOR_AMD && p->vendor != HV_VENDOR_AMD))
		return false;
	if ((r->raw == RAW_SET && !raw) || (r->raw == RAW_CLEAR && raw))
		return false;
	if (r->model_reason && res.status[feature].reason != r->model_reason - 1)
		return false;
	if (r->kernel_before && (!cc->kernel_max || cc->kernel_max >= r->kernel_before))
		return false;
	return true;
}

/* Read a whole file into a NUL-terminated buffer; 0 or -errno. */
static int file_read(const char *path, char **ret, size_t *ret_len)
{
	FILE *f = fopen(path, "re");
	char *buf;
	size_t len;
	int r;

	if (!f)
		return -errno;
	buf = malloc(TRANSCRIPT_MAX_BYTES + 1);
	if (!buf) {
		fclose(f);
		return -ENOMEM;
	}
	len = fread(buf, 1, TRANSCRIPT_MAX_BYTES + 1, f);
	r = ferror(f) ? -EIO : len > TRANSCRIPT_MAX_BYTES ? -EFBIG : 0;
	fclose(f);
	if (r < 0) {
		free(buf);
		return r;
	}
	buf[len] = '\0';
	*ret = buf;
	*ret_len = len;
	return 0;
}

/* RFC 8259 whitespace, which separates the transcript's documents. */
static bool is_json_blank(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

static struct json_object *member(struct json_object *o, const char *key, enum json_type type)
{
	struct json_object *v;

	if (!o || !json_object_is_type(o, json_type_object) || !json_object_object_get_ex(o, key, &v) ||
	    !json_object_is_type(v, type))
		return NULL;
	return v;
}

/*
 * The QMP transcript holds one JSON document after another, blank-line
 * separated; json_tokener parses one at a time.  Returns the first whose
 * "id" is "model-expansion" (the caller puts it) and its
 * return.model.props in *ret_props.
 */
static struct json_object *expansion_load(const char *path, struct json_object **ret_props)
{
	struct json_tokener *tok = json_tokener_new();
	struct json_object *doc = NULL;
	char *buf = NULL;
	size_t len = 0, off = 0;
	int r = file_read(path, &buf, &len);

	ck_assert_msg(r == 0, "%s: %s", path, strerror(-r));
	ck_assert_ptr_nonnull(tok);
	while (off < len) {
		struct json_object *id;

		while (off < len && is_json_blank(buf[off]))
			off++;
		if (off == len)
			break;
		json_tokener_reset(tok);
		doc = json_tokener_parse_ex(tok, buf + off, (int)(len - off));
		ck_assert_msg(doc != NULL, "%s: byte %zu: %s", path, off,
			      json_tokener_error_desc(json_tokener_get_error(tok)));
		off += json_tokener_get_parse_end(tok);
		id = member(doc, "id", json_type_string);
		if (id && strcmp(json_object_get_string(id), "model-expansion") == 0)
			break;
		json_object_put(doc);
		doc = NULL;
	}
	json_tokener_free(tok);
	free(buf);

	ck_assert_msg(doc != NULL, "%s: no document with \"id\": \"model-expansion\"", path);
	*ret_props = member(member(member(doc, "return", json_type_object), "model", json_type_object),
			    "props", json_type_object);
	ck_assert_msg(*ret_props != NULL, "%s: model-expansion has no return.model.props object", path);
	return doc;
}

/* Model the raw dump of cc with cc's parameters; the parameters used go to *ret_params. */
static void model_run(const struct cpu_case *cc, struct hv_host_params *ret_params)
{
	struct hv_host_desc desc = { .raw = &dump.cpuid };
	struct caps_dump_error derr = { 0 };
	char path[8192], params[256], err[256];
	char *save = NULL;
	int r;

	snprintf(path, sizeof(path), "%s/x86_64-cpuid-%s.xml", testdata_dir, cc->stem);
	r = caps_dump_read_file(path, CAPS_DUMP_LIBVIRT_XML, &dump, &derr);
	ck_assert_msg(r == 0, "%s:%u: %s", path, derr.line, derr.message);

	ck_assert_int_eq(hv_host_params_init(&desc.params, &dump.cpuid), 0);
	snprintf(params, sizeof(params), "%s", cc->params);
	for (char *kv = strtok_r(params, " ", &save); kv; kv = strtok_r(NULL, " ", &save)) {
		char *eq = strchr(kv, '=');

		ck_assert_msg(eq != NULL, "%s: parameter '%s' is not key=value", cc->stem, kv);
		*eq = '\0';
		ck_assert_msg(hv_host_params_set(&desc.params, kv, eq + 1, err, sizeof(err)) == 0,
			      "%s: %s", cc->stem, err);
	}
	r = hv_model_compute(&desc, &res);
	ck_assert_msg(r == 0, "%s: hv_model_compute: %s", cc->stem, strerror(-r));
	*ret_params = desc.params;
}

static void compare_cpu(const struct cpu_case *cc, struct tally *t)
{
	static enum qemu_value qemu[CAPS_NR_FEATURE_IDS];
	static const char *spelling[CAPS_NR_FEATURE_IDS];
	struct hv_host_params p;
	struct json_object *doc, *props;
	char path[8192];

	memset(t, 0, sizeof(*t));
	memset(qemu, 0, sizeof(qemu));
	memset(spelling, 0, sizeof(spelling));
	model_run(cc, &p);

	snprintf(path, sizeof(path), "%s/x86_64-cpuid-%s.json", testdata_dir, cc->stem);
	doc = expansion_load(path, &props);
	json_object_object_foreach(props, key, val) {
		enum qemu_value v;
		int f;

		/* Numbers and strings (level, family, model-id...) are not features. */
		if (!json_object_is_type(val, json_type_boolean))
			continue;
		f = caps_feature_lookup(key);
		/* Not a feature: check, enforce, pmu, hv-*, kvm, migratable... */
		if (f < 0)
			continue;
		if (!word_is_compared((enum caps_word)caps_feature_word(f))) {
			t->skipped_msr += caps_word_info(caps_feature_word(f))->kind == CAPS_WORD_MSR;
			continue;
		}
		v = json_object_get_boolean(val) ? QEMU_TRUE : QEMU_FALSE;
		/* QEMU's aliases (sse4.1, sse4-1, sse4_1) are one property. */
		ck_assert_msg(qemu[f] == QEMU_ABSENT || qemu[f] == v, "%s: QEMU says %s=%s but %s=%s",
			      cc->stem, spelling[f], qemu[f] == QEMU_TRUE ? "true" : "false", key,
			      v == QEMU_TRUE ? "true" : "false");
		if (qemu[f] == QEMU_ABSENT)
			spelling[f] = key;
		qemu[f] = v;
	}

	for (int f = 0; f < CAPS_NR_FEATURE_IDS; f++) {
		bool q = qemu[f] == QEMU_TRUE, m = caps_has(&res.record.features, f);
		enum side side = q ? QEMU_ONLY : MODEL_ONLY;
		const struct rule *hit = NULL;
		char status[128];

		if (qemu[f] == QEMU_ABSENT)
			continue;
		t->compared++;
		if (q == m) {
			t->agree++;
			continue;
		}
		if (q)
			t->qemu_only++;
		else
			t->model_only++;
		for (size_t i = 0; i < ARRAY_SIZE(rules) && !hit; i++) {
			if (rule_matches(&rules[i], cc, &p, f, side)) {
				hit = &rules[i];
				t->rule_hits[i]++;
			}
		}
		hv_feature_status_string(&res.status[f], status, sizeof(status));
		appendf(t->detail, sizeof(t->detail), "  %-10s %-22s raw=%d model: %-36s %s\n",
			q ? "qemu-only" : "model-only", spelling[f], caps_has(&res.raw, f), status,
			hit ? hit->name : "UNEXPLAINED");
		if (!hit) {
			t->unexplained++;
			appendf(t->failures, sizeof(t->failures),
				"\n  %s=%s, model %s (%s, %s, raw bit %s)", spelling[f], q ? "true" : "false",
				m ? "supports it" : "does not", caps_feature_name(f, CAPS_NAMES_LINUX),
				status, caps_has(&res.raw, f) ? "set" : "clear");
		}
	}
	json_object_put(doc);
}

static void tally_print(const struct cpu_case *cc, const struct tally *t)
{
	printf("%-22s %4u compared %4u agree %3u qemu-only %3u model-only %6.1f%%\n", cc->stem,
	       t->compared, t->agree, t->qemu_only, t->model_only,
	       t->compared ? 100.0 * t->agree / t->compared : 0.0);
}

START_TEST(test_qemu_expansion_disagreements_are_explained)
{
	const char *stem = stems[_i];
	const struct cpu_case *cc = cpu_case_find(stem);
	static struct tally t;
	char kmax[16];

	ck_assert_msg(cc != NULL, "%s has a QEMU transcript but no row in cpu_cases[]: choose its "
		      "model parameters and say why", stem);
	compare_cpu(cc, &t);
	printf("%s: params \"%s\" (%s); dump kernel <= %s (%s); QEMU %s\n", stem, cc->params, cc->why,
	       cc->kernel_max ? version_string(cc->kernel_max, kmax, sizeof(kmax)) : "?", cc->evidence,
	       cc->qemu);
	printf("%s", t.detail);
	tally_print(cc, &t);
	fflush(stdout);
	ck_assert_msg(t.compared > 100, "%s: only %u features compared: the transcript or the catalog "
		      "lost its names", stem, t.compared);
	ck_assert_msg(t.unexplained == 0, "%s: %u disagreements no rule explains:%s", stem, t.unexplained,
		      t.failures);
}
END_TEST

/*
 * The figures of all CPUs and the total; every rule must explain at least
 * one disagreement, so that a rule the model or the data no longer needs
 * is noticed and removed rather than left to excuse something else.
 */
START_TEST(test_qemu_expansion_totals_and_every_rule_used)
{
	static struct tally t;
	struct tally total = { 0 };
	char unused[2048] = "";

	printf("\n%-22s agreement of the model with QEMU's expansion of -cpu host\n", "CPU");
	for (size_t i = 0; i < n_stems; i++) {
		const struct cpu_case *cc = cpu_case_find(stems[i]);

		ck_assert_msg(cc != NULL, "%s: no row in cpu_cases[]", stems[i]);
		compare_cpu(cc, &t);
		tally_print(cc, &t);
		total.compared += t.compared;
		total.agree += t.agree;
		total.qemu_only += t.qemu_only;
		total.model_only += t.model_only;
		total.unexplained += t.unexplained;
		total.skipped_msr += t.skipped_msr;
		for (size_t r = 0; r < ARRAY_SIZE(rules); r++)
			total.rule_hits[r] += t.rule_hits[r];
	}
	printf("%-22s %4u compared %4u agree %3u qemu-only %3u model-only %6.1f%%\n", "total",
	       total.compared, total.agree, total.qemu_only, total.model_only,
	       total.compared ? 100.0 * total.agree / total.compared : 0.0);
	printf("(%u properties naming feature-MSR bits not compared; %u disagreements unexplained)\n",
	       total.skipped_msr, total.unexplained);
	for (size_t r = 0; r < ARRAY_SIZE(rules); r++) {
		printf("  %3u  %-46s %s\n", total.rule_hits[r], rules[r].name, rules[r].reason);
		if (!total.rule_hits[r])
			appendf(unused, sizeof(unused), " %s", rules[r].name);
	}
	fflush(stdout);
	ck_assert_msg(unused[0] == '\0', "rules that explain nothing (remove them):%s", unused);
}
END_TEST

/* Every row of cpu_cases[] has its data, and no CPU's data went missing. */
START_TEST(test_qemu_expansion_has_all_eight_cpus)
{
	for (size_t i = 0; i < ARRAY_SIZE(cpu_cases); i++) {
		bool found = false;

		for (size_t j = 0; j < n_stems; j++)
			found |= strcmp(stems[j], cpu_cases[i].stem) == 0;
		ck_assert_msg(found, "%s: no x86_64-cpuid-%s.json in %s", cpu_cases[i].stem,
			      cpu_cases[i].stem, testdata_dir);
	}
	ck_assert_uint_eq(n_stems, 8);
}
END_TEST

/* Every rule names features in compared words and only CPUs that exist. */
START_TEST(test_qemu_expansion_rules_are_well_formed)
{
	for (size_t i = 0; i < ARRAY_SIZE(rules); i++) {
		const struct rule *r = &rules[i];

		ck_assert_msg(r->name && r->reason && r->n_features > 0, "rule %zu is incomplete", i);
		for (size_t j = 0; j < r->n_features; j++)
			ck_assert_msg(word_is_compared((enum caps_word)caps_feature_word(r->features[j])),
				      "%s: %s is not in a compared word", r->name,
				      caps_feature_name(r->features[j], CAPS_NAMES_LINUX));
		if (r->cpus) {
			char cpus[256], *save = NULL;

			snprintf(cpus, sizeof(cpus), "%s", r->cpus);
			for (char *s = strtok_r(cpus, " ", &save); s; s = strtok_r(NULL, " ", &save))
				ck_assert_msg(cpu_case_find(s) != NULL, "%s: unknown CPU %s", r->name, s);
		}
	}
}
END_TEST

static int stem_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The CPUs with a QMP transcript: x86_64-cpuid-<CPU>.json. */
static int stems_load(void)
{
	static const char prefix[] = "x86_64-cpuid-";
	const char *top = getenv("HVCAP_TESTDATA");
	struct dirent *de;
	DIR *dir;

	if (!top || !*top)
		return -ENOENT;
	snprintf(testdata_dir, sizeof(testdata_dir), "%s/libvirt-cputestdata", top);
	dir = opendir(testdata_dir);
	if (!dir)
		return -errno;
	while ((de = readdir(dir))) {
		size_t len = strlen(de->d_name), plen = sizeof(prefix) - 1;

		if (len > plen + 5 && strncmp(de->d_name, prefix, plen) == 0 &&
		    strcmp(de->d_name + len - 5, ".json") == 0 && n_stems < MAX_STEMS)
			stems[n_stems++] = strndup(de->d_name + plen, len - plen - 5);
	}
	closedir(dir);
	qsort(stems, n_stems, sizeof(stems[0]), stem_cmp);
	return 0;
}

int main(void)
{
	Suite *s = suite_create("qemu-expansion");
	TCase *tc;
	int r = stems_load();

	if (r < 0) {
		fprintf(stderr, "SKIP: libvirt test data not found (HVCAP_TESTDATA=%s): %s\n",
			getenv("HVCAP_TESTDATA") ? getenv("HVCAP_TESTDATA") : "(unset)", strerror(-r));
		return TEST_EXIT_SKIP;
	}

	tc = tcase_create("compare");
	tcase_add_test(tc, test_qemu_expansion_has_all_eight_cpus);
	tcase_add_test(tc, test_qemu_expansion_rules_are_well_formed);
	tcase_add_loop_test(tc, test_qemu_expansion_disagreements_are_explained, 0, (int)n_stems);
	tcase_add_test(tc, test_qemu_expansion_totals_and_every_rule_used);
	suite_add_tcase(s, tc);
	return test_run_suite(s);
}
