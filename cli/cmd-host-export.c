/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * hvctl host export: what guests can get on this host, for the programs
 * that place VMs: an inventory record (json), a Kubernetes Node Feature
 * Discovery feature file (nfd) and OpenStack placement traits (os-traits).
 * Every format is made from the host's HostRecord (io.hvcap.Host.Describe,
 * or the same record built offline), so that all three say the same.
 */

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <libcaps/file.h>
#include <proto/host.h>

#include "host.h"
#include "online.h"
#include "output.h"

enum export_format {
	EXPORT_JSON,
	EXPORT_NFD,
	EXPORT_OS_TRAITS,
};

/*
 * NFD's local source ignores a feature file larger than this
 * (MaxFeatureFileSize in source/local/local.go), so a bigger one would
 * silently remove every label: refuse to write it.
 */
#define NFD_FILE_MAX 65536

/* Kubernetes label rules (IsQualifiedName, IsValidLabelValue). */
#define NFD_PREFIX_MAX 253	/* a DNS-1123 subdomain */
#define NFD_NAME_MAX 63		/* the name segment, and a value */

/* The default label namespace, and the file's default name under --output DIR. */
#define NFD_NAMESPACE_DEFAULT "hvcap.io"
#define NFD_FILE_NAME_DEFAULT "hvcap"

/*
 * The default expiry: labels of a host whose refresher stopped disappear
 * within the hour; a timer refreshes the file well within it.
 */
#define NFD_EXPIRY_DEFAULT (60 * 60)
/* Labels meant to outlive a year of host changes are a mistake; this also bounds time_t arithmetic. */
#define NFD_EXPIRY_MAX (366LL * 24 * 60 * 60)

/* Placement's limit on a trait name (the traits table's name column). */
#define TRAIT_NAME_MAX 255

/* Which hosts a standard trait is meant for (os-traits' amd.py and intel.py). */
enum trait_vendor {
	TRAIT_ANY,
	TRAIT_AMD,	/* AuthenticAMD, HygonGenuine */
	TRAIT_INTEL,	/* GenuineIntel */
};

/*
 * KVM-supported features (canonical names) and the standard os-traits
 * trait each gives.  The names are those of os_traits/hw/cpu/x86/
 * {__init__,amd,intel}.py; the features mostly follow Nova's
 * CPU_TRAITS_MAPPING (nova/virt/libvirt/utils.py), which also gives svm
 * and vmx both the generic and the vendor trait.  A feature without a row
 * that applies to the host's vendor gets CUSTOM_HVCAP_<FEATURE> instead.
 */
static const struct os_trait {
	const char *feature;
	const char *trait;
	enum trait_vendor vendor;
} os_traits[] = {
	{ "3dnow",		"HW_CPU_X86_3DNOW",		TRAIT_ANY },
	{ "abm",		"HW_CPU_X86_ABM",		TRAIT_ANY },
	{ "aes",		"HW_CPU_X86_AESNI",		TRAIT_ANY },
	{ "avx",		"HW_CPU_X86_AVX",		TRAIT_ANY },
	{ "avx2",		"HW_CPU_X86_AVX2",		TRAIT_ANY },
	{ "avx512bw",		"HW_CPU_X86_AVX512BW",		TRAIT_ANY },
	{ "avx512cd",		"HW_CPU_X86_AVX512CD",		TRAIT_ANY },
	{ "avx512dq",		"HW_CPU_X86_AVX512DQ",		TRAIT_ANY },
	{ "avx512er",		"HW_CPU_X86_AVX512ER",		TRAIT_ANY },
	{ "avx512f",		"HW_CPU_X86_AVX512F",		TRAIT_ANY },
	{ "avx512pf",		"HW_CPU_X86_AVX512PF",		TRAIT_ANY },
	{ "avx512vl",		"HW_CPU_X86_AVX512VL",		TRAIT_ANY },
	{ "avx512_vnni",	"HW_CPU_X86_AVX512VNNI",	TRAIT_ANY },
	{ "avx512vbmi",		"HW_CPU_X86_AVX512VBMI",	TRAIT_ANY },
	{ "avx512ifma",		"HW_CPU_X86_AVX512IFMA",	TRAIT_ANY },
	{ "avx512_vbmi2",	"HW_CPU_X86_AVX512VBMI2",	TRAIT_ANY },
	{ "avx512_bitalg",	"HW_CPU_X86_AVX512BITALG",	TRAIT_ANY },
	{ "vaes",		"HW_CPU_X86_AVX512VAES",	TRAIT_ANY },
	{ "gfni",		"HW_CPU_X86_AVX512GFNI",	TRAIT_ANY },
	{ "vpclmulqdq",		"HW_CPU_X86_AVX512VPCLMULQDQ",	TRAIT_ANY },
	{ "avx512_vpopcntdq",	"HW_CPU_X86_AVX512VPOPCNTDQ",	TRAIT_ANY },
	{ "bmi1",		"HW_CPU_X86_BMI",		TRAIT_ANY },
	{ "bmi2",		"HW_CPU_X86_BMI2",		TRAIT_ANY },
	{ "pclmulqdq",		"HW_CPU_X86_CLMUL",		TRAIT_ANY },
	{ "f16c",		"HW_CPU_X86_F16C",		TRAIT_ANY },
	{ "fma",		"HW_CPU_X86_FMA3",		TRAIT_ANY },
	{ "fma4",		"HW_CPU_X86_FMA4",		TRAIT_ANY },
	{ "mmx",		"HW_CPU_X86_MMX",		TRAIT_ANY },
	{ "mpx",		"HW_CPU_X86_MPX",		TRAIT_ANY },
	{ "sha_ni",		"HW_CPU_X86_SHA",		TRAIT_ANY },
	{ "sse",		"HW_CPU_X86_SSE",		TRAIT_ANY },
	{ "sse2",		"HW_CPU_X86_SSE2",		TRAIT_ANY },
	{ "pni",		"HW_CPU_X86_SSE3",		TRAIT_ANY },
	{ "ssse3",		"HW_CPU_X86_SSSE3",		TRAIT_ANY },
	{ "sse4_1",		"HW_CPU_X86_SSE41",		TRAIT_ANY },
	{ "sse4_2",		"HW_CPU_X86_SSE42",		TRAIT_ANY },
	{ "sse4a",		"HW_CPU_X86_SSE4A",		TRAIT_ANY },
	{ "tbm",		"HW_CPU_X86_TBM",		TRAIT_ANY },
	{ "xop",		"HW_CPU_X86_XOP",		TRAIT_ANY },
	{ "sgx",		"HW_CPU_X86_SGX",		TRAIT_ANY },
	{ "rtm",		"HW_CPU_X86_TSX",		TRAIT_ANY },
	{ "pdpe1gb",		"HW_CPU_X86_PDPE1GB",		TRAIT_ANY },
	{ "intel_stibp",	"HW_CPU_X86_STIBP",		TRAIT_ANY },
	{ "amd_stibp",		"HW_CPU_X86_STIBP",		TRAIT_ANY },
	{ "svm",		"HW_CPU_X86_SVM",		TRAIT_ANY },
	{ "svm",		"HW_CPU_X86_AMD_SVM",		TRAIT_ANY },
	{ "vmx",		"HW_CPU_X86_VMX",		TRAIT_ANY },
	{ "vmx",		"HW_CPU_X86_INTEL_VMX",		TRAIT_ANY },
	{ "sev",		"HW_CPU_X86_AMD_SEV",		TRAIT_AMD },
	{ "sev_es",		"HW_CPU_X86_AMD_SEV_ES",	TRAIT_AMD },
	{ "sev_snp",		"HW_CPU_X86_AMD_SEV_SNP",	TRAIT_AMD },
	{ "amd_ibpb",		"HW_CPU_X86_AMD_IBPB",		TRAIT_AMD },
	{ "amd_ssb_no",		"HW_CPU_X86_AMD_NO_SSB",	TRAIT_AMD },
	{ "amd_ssbd",		"HW_CPU_X86_AMD_SSBD",		TRAIT_AMD },
	{ "virt_ssbd",		"HW_CPU_X86_AMD_VIRT_SSBD",	TRAIT_AMD },
	{ "md_clear",		"HW_CPU_X86_INTEL_MD_CLEAR",	TRAIT_INTEL },
	{ "pcid",		"HW_CPU_X86_INTEL_PCID",	TRAIT_INTEL },
	{ "spec_ctrl",		"HW_CPU_X86_INTEL_SPEC_CTRL",	TRAIT_INTEL },
	{ "spec_ctrl_ssbd",	"HW_CPU_X86_INTEL_SSBD",	TRAIT_INTEL },
};

/*
 * What KVM does on this host beyond single CPUID bits, as schedulers ask
 * for it: an NFD label <ns>/<label>=true, and where no feature's trait
 * says it already, a custom trait.  Each holds when the KVM-supported
 * feature is in the host record, or the record's boolean is true.
 */
static const struct capability {
	const char *label;
	const char *feature;
	const char *record_key;
	const char *trait;
} capabilities[] = {
	{ "kvm-avic",		NULL,		"avic",		"CUSTOM_HVCAP_KVM_AVIC" },
	{ "kvm-x2avic",		NULL,		"x2avic",	"CUSTOM_HVCAP_KVM_X2AVIC" },
	{ "kvm-eraps",		"eraps",	NULL,		NULL },
	{ "kvm-lam",		"lam",		NULL,		NULL },
	{ "kvm-sev-snp",	"sev_snp",	NULL,		NULL },
};

/* The host as every format reads it. */
struct export_host {
	struct json_object *record;	/* a HostRecord */
	struct json_object *caps;	/* {fingerprint, features: [FeatureStatus]}, for json */
	char source[320];		/* "hvcapd at unix:...", a dump's path, "this machine" */
};

struct export_options {
	enum export_format format;
	enum caps_names names;
	bool names_given;
	const char *names_arg;
	const char *nfd_namespace;
	const char *output;
	long long expiry;		/* seconds */
	bool nfd_only_given;		/* --nfd-namespace, --output or --expiry */
};

/* ------------------------------------------------------------------ */
/* Reading the host */

static int read_online(const struct hvctl_command *cmd, const struct export_options *opt,
		       struct export_host *x)
{
	struct json_object *describe = NULL, *p;
	struct hvctl_online o;
	int r;

	r = hvctl_online_connect(cmd, &o, true);
	if (r < 0)
		return hvctl_online_fallback(cmd, &o, r, "reading this machine's KVM directly");
	snprintf(x->source, sizeof(x->source), "hvcapd at %s", o.address);
	r = hvctl_online_call(cmd, &o, "io.hvcap.Host.Describe", NULL, &describe);
	if (r == 0 && opt->format == EXPORT_JSON) {
		p = json_object_new_object();
		if (p)
			json_object_object_add(p, "names", json_object_new_string(opt->names_arg));
		r = hvctl_online_call(cmd, &o, "io.hvcap.Host.GetCapabilities", p, &x->caps);
	}
	hvctl_online_close(&o);
	if (r == 0) {
		x->record = json_object_get(hvctl_json_get(describe, "host"));
		if (!x->record || !json_object_is_type(x->record, json_type_object)) {
			fprintf(stderr, "%s: hvcapd's Describe reply has no host record\n", hvctl_who(cmd));
			r = HVCTL_EXIT_FAILURE;
		}
	}
	json_object_put(describe);
	return r;
}

/* The record and capabilities of a modelled or probed host, as hvcapd would answer. */
static int read_offline(const struct hvctl_command *cmd, const char *dump, const struct hvctl_params *ps,
			struct export_host *x)
{
	struct proto_host_derived d;
	struct hvctl_host *h = calloc(1, sizeof(*h));
	int r;

	if (!h) {
		fprintf(stderr, "%s: out of memory\n", hvctl_who(cmd));
		return HVCTL_EXIT_FAILURE;
	}
	r = dump ? hvctl_host_model(cmd, h, dump, ps) : hvctl_host_this_machine(cmd, h);
	if (r == 0) {
		snprintf(x->source, sizeof(x->source), "%s", h->source);
		hvctl_host_derived(h, &d);
		x->record = proto_host_record_to_json(h->record, &d, CAPS_NAMES_LINUX);
		x->caps = hvctl_host_capabilities_json(h, false);
		if (!x->record || !x->caps) {
			fprintf(stderr, "%s: out of memory\n", hvctl_who(cmd));
			r = HVCTL_EXIT_FAILURE;
		}
	}
	free(h);
	return r;
}

/* o's member key when it is an array, else NULL: hvcapd may be another version. */
static struct json_object *get_array(struct json_object *o, const char *key)
{
	struct json_object *a = hvctl_json_get(o, key);

	return a && json_object_is_type(a, json_type_array) ? a : NULL;
}

/* Whether the record lists feature (a canonical name). */
static bool record_has_feature(struct json_object *record, const char *feature)
{
	struct json_object *features = get_array(record, "features");

	for (size_t i = 0; features && i < json_object_array_length(features); i++) {
		const char *name = json_object_get_string(json_object_array_get_idx(features, i));

		if (name && strcmp(name, feature) == 0)
			return true;
	}
	return false;
}

static bool capability_holds(const struct capability *c, struct json_object *record)
{
	if (c->feature)
		return record_has_feature(record, c->feature);
	return hvctl_json_bool(record, c->record_key);
}

/* The CPU vendor string from leaf 0 of the record's supported CPUID, or "". */
static void record_vendor(struct json_object *record, char ret[13])
{
	struct json_object *cpuid = get_array(record, "cpuid");

	ret[0] = '\0';
	for (size_t i = 0; cpuid && i < json_object_array_length(cpuid); i++) {
		struct json_object *e = json_object_array_get_idx(cpuid, i);
		uint32_t regs[3];

		if (hvctl_json_int(e, "function") != 0)
			continue;
		/* KVM passes the host's vendor through in EBX, EDX, ECX. */
		regs[0] = (uint32_t)hvctl_json_int(e, "ebx");
		regs[1] = (uint32_t)hvctl_json_int(e, "edx");
		regs[2] = (uint32_t)hvctl_json_int(e, "ecx");
		for (int r = 0; r < 3; r++)
			for (int b = 0; b < 4; b++)
				ret[r * 4 + b] = (char)(regs[r] >> (8 * b));
		ret[12] = '\0';
		return;
	}
}

/* ------------------------------------------------------------------ */
/* --format json */

/*
 * The inventory record: who (hostname, fingerprint, backend, kernel,
 * vendor module, source), what guests can get (level, features), which
 * of the host CPU's features KVM leaves out with the reason, and the whole
 * HostRecord (host), which 'hvctl policy baseline' reads back.
 */
static struct json_object *inventory(const struct export_host *x, enum caps_names names)
{
	struct json_object *o = json_object_new_object();
	struct json_object *supported = json_object_new_array();
	struct json_object *withheld = json_object_new_array();
	struct json_object *features = get_array(x->caps, "features");
	struct json_object *host = x->record;
	char hostname[256] = "";

	if (!o || !supported || !withheld) {
		json_object_put(o);
		json_object_put(supported);
		json_object_put(withheld);
		return NULL;
	}
	gethostname(hostname, sizeof(hostname) - 1);
	json_object_object_add(o, "hostname", json_object_new_string(hostname));
	json_object_object_add(o, "source", json_object_new_string(x->source));
	json_object_object_add(o, "fingerprint", json_object_get(hvctl_json_get(host, "fingerprint")));
	json_object_object_add(o, "backend", json_object_get(hvctl_json_get(host, "backend")));
	json_object_object_add(o, "kernel_release", json_object_get(hvctl_json_get(host, "kernel_release")));
	json_object_object_add(o, "vendor_module", json_object_get(hvctl_json_get(host, "vendor_module")));
	json_object_object_add(o, "microcode", json_object_get(hvctl_json_get(host, "microcode")));
	json_object_object_add(o, "level", json_object_get(hvctl_json_get(host, "level")));
	for (size_t i = 0; features && i < json_object_array_length(features); i++) {
		struct json_object *f = json_object_array_get_idx(features, i);
		const char *name = hvctl_json_str(f, "name");
		int id = caps_feature_lookup(name);
		const char *spelt = id >= 0 ? caps_feature_name(id, names) : NULL;
		struct json_object *n, *w;

		/* Offline names are canonical; hvcapd's already follow --names. */
		n = spelt ? json_object_new_string(spelt) : json_object_get(hvctl_json_get(f, "name"));
		if (hvctl_json_bool(f, "kvm")) {
			json_object_array_add(supported, n);
			continue;
		}
		if (!hvctl_json_bool(f, "host")) {
			json_object_put(n);
			continue;
		}
		w = json_object_new_object();
		json_object_object_add(w, "name", n);
		json_object_object_add(w, "reason", json_object_get(hvctl_json_get(f, "reason")));
		json_object_object_add(w, "detail", json_object_get(hvctl_json_get(f, "detail")));
		json_object_array_add(withheld, w);
	}
	json_object_object_add(o, "features", supported);
	json_object_object_add(o, "withheld", withheld);
	json_object_object_add(o, "host", json_object_get(host));
	return o;
}

/* ------------------------------------------------------------------ */
/* --format nfd */

static bool is_lower_alnum(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

static bool is_alnum(char c)
{
	return is_lower_alnum(c) || (c >= 'A' && c <= 'Z');
}

/* A DNS-1123 subdomain: dot-separated labels of [a-z0-9-], alphanumeric at both ends. */
static bool is_dns_subdomain(const char *s)
{
	size_t len = strlen(s), label = 0;

	if (len == 0 || len > NFD_PREFIX_MAX)
		return false;
	for (size_t i = 0; i < len; i++) {
		char c = s[i];

		if (c == '.') {
			if (label == 0 || s[i - 1] == '-')
				return false;
			label = 0;
			continue;
		}
		if (!is_lower_alnum(c) && c != '-')
			return false;
		if (label == 0 && c == '-')
			return false;
		/* RFC 1123 labels are at most 63 characters. */
		if (++label > 63)
			return false;
	}
	return label > 0 && s[len - 1] != '-';
}

/* A label name segment or a non-empty label value: [A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?, at most 63. */
static bool is_label_name(const char *s)
{
	size_t len = strlen(s);

	if (len == 0 || len > NFD_NAME_MAX || !is_alnum(s[0]) || !is_alnum(s[len - 1]))
		return false;
	for (size_t i = 1; i + 1 < len; i++)
		if (!is_alnum(s[i]) && s[i] != '-' && s[i] != '_' && s[i] != '.')
			return false;
	return true;
}

static bool has_suffix(const char *s, const char *suffix)
{
	size_t n = strlen(s), m = strlen(suffix);

	return n >= m && strcmp(s + n - m, suffix) == 0;
}

/*
 * A namespace NFD publishes labels in: a DNS subdomain, and not in
 * kubernetes.io (which nfd-master refuses, validate.Label()) but for its
 * own feature.node.kubernetes.io and profile.node.kubernetes.io and their
 * subdomains.  NULL, or why not.
 */
static const char *nfd_namespace_problem(const char *ns)
{
	if (!is_dns_subdomain(ns))
		return "not a DNS subdomain (lower-case letters, digits, '-' and '.', at most 253 characters, "
		       "labels of at most 63 that begin and end with a letter or digit)";
	if ((strcmp(ns, "kubernetes.io") == 0 || has_suffix(ns, ".kubernetes.io")) &&
	    strcmp(ns, "feature.node.kubernetes.io") != 0 && strcmp(ns, "profile.node.kubernetes.io") != 0 &&
	    !has_suffix(ns, ".feature.node.kubernetes.io") && !has_suffix(ns, ".profile.node.kubernetes.io"))
		return "nfd-master refuses labels in kubernetes.io but for feature.node.kubernetes.io and "
		       "profile.node.kubernetes.io";
	return NULL;
}

/* Write one label, or say on stderr why a name or value from hvcapd cannot be one. */
static void nfd_label(const struct hvctl_command *cmd, FILE *f, const char *ns, const char *prefix,
		      const char *name, const char *value)
{
	char key[NFD_NAME_MAX + 2];

	if ((size_t)snprintf(key, sizeof(key), "%s%s", prefix, name) >= sizeof(key) || !is_label_name(key)) {
		fprintf(stderr, "%s: '%s%s' is not a valid label name: left out\n", hvctl_who(cmd), prefix, name);
		return;
	}
	if (!is_label_name(value)) {
		fprintf(stderr, "%s: '%s' is not a valid value for label %s: left out\n", hvctl_who(cmd), value, key);
		return;
	}
	fprintf(f, "%s/%s=%s\n", ns, key, value);
}

/* A comment's text on one line: what could end the line or start a directive becomes '?'. */
static void nfd_comment_text(FILE *f, const char *s)
{
	for (; *s; s++)
		fputc((unsigned char)*s < 0x20 || *s == 0x7f ? '?' : *s, f);
}

/*
 * The feature file, into a memory buffer: the expiry directive first (it
 * applies to the lines after it), then the fingerprint, the level, the
 * capabilities and one label per KVM-supported feature.
 */
static int nfd_build(const struct hvctl_command *cmd, const struct export_host *x,
		     const struct export_options *opt, char **ret, size_t *ret_len)
{
	struct json_object *record = x->record;
	struct json_object *features = get_array(record, "features");
	time_t expiry = time(NULL) + (time_t)opt->expiry;
	char when[sizeof("YYYY-MM-DDTHH:MM:SSZ") + 16], level[16];
	const char *fp = hvctl_json_str(record, "fingerprint");
	struct tm tm;
	FILE *f;

	if (!gmtime_r(&expiry, &tm) || strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm) == 0) {
		fprintf(stderr, "%s: cannot express the expiry time\n", hvctl_who(cmd));
		return HVCTL_EXIT_FAILURE;
	}
	f = open_memstream(ret, ret_len);
	if (!f) {
		fprintf(stderr, "%s: out of memory\n", hvctl_who(cmd));
		return HVCTL_EXIT_FAILURE;
	}
	fputs("# hvcap: what KVM offers guests on this host, as Node Feature Discovery labels.\n", f);
	fputs("# Written by 'hvctl host export --format nfd' from ", f);
	nfd_comment_text(f, x->source);
	fputs(".\n", f);
	fprintf(f, "# +expiry-time=%s\n", when);
	nfd_label(cmd, f, opt->nfd_namespace, "", "fingerprint", fp ? fp : "");
	snprintf(level, sizeof(level), "%lld", (long long)hvctl_json_int(record, "level"));
	nfd_label(cmd, f, opt->nfd_namespace, "", "x86-64-level", level);
	for (size_t i = 0; i < sizeof(capabilities) / sizeof(capabilities[0]); i++)
		if (capability_holds(&capabilities[i], record))
			nfd_label(cmd, f, opt->nfd_namespace, "", capabilities[i].label, "true");
	for (size_t i = 0; features && i < json_object_array_length(features); i++) {
		const char *name = json_object_get_string(json_object_array_get_idx(features, i));

		if (name)
			nfd_label(cmd, f, opt->nfd_namespace, "cpu-", name, "true");
	}
	if (fclose(f) != 0) {
		free(*ret);
		*ret = NULL;
		fprintf(stderr, "%s: out of memory\n", hvctl_who(cmd));
		return HVCTL_EXIT_FAILURE;
	}
	if (*ret_len > NFD_FILE_MAX) {
		fprintf(stderr, "%s: the feature file would be %zu bytes; NFD ignores files over %d: "
			"use a shorter --nfd-namespace\n", hvctl_who(cmd), *ret_len, NFD_FILE_MAX);
		free(*ret);
		*ret = NULL;
		return HVCTL_EXIT_FAILURE;
	}
	return 0;
}

/* Where --output writes: the directory (open) and the file's name in it. */
struct nfd_output {
	int dfd;
	char dir[4096];
	char name[256];
};

/*
 * --output PATH: a directory (the file is PATH/hvcap) or a file name in a
 * directory that exists, not a dot file (NFD skips those, which is why the
 * new file is written as one first).  Checked before the host is read.
 */
static int nfd_output_open(const struct hvctl_command *cmd, const char *path, struct nfd_output *out)
{
	const char *slash = strrchr(path, '/');
	struct stat st;

	if (stat(path, &st) == 0 && S_ISDIR(st.st_mode)) {
		if ((size_t)snprintf(out->dir, sizeof(out->dir), "%s", path) >= sizeof(out->dir))
			return hvctl_usage_error(cmd, "--output '%s': path too long", path);
		snprintf(out->name, sizeof(out->name), "%s", NFD_FILE_NAME_DEFAULT);
	} else {
		if (!slash)
			snprintf(out->dir, sizeof(out->dir), ".");
		else if (slash == path)
			snprintf(out->dir, sizeof(out->dir), "/");
		else if ((size_t)(slash - path) >= sizeof(out->dir))
			return hvctl_usage_error(cmd, "--output '%s': path too long", path);
		else
			snprintf(out->dir, sizeof(out->dir), "%.*s", (int)(slash - path), path);
		if ((size_t)snprintf(out->name, sizeof(out->name), "%s", slash ? slash + 1 : path) >=
		    sizeof(out->name))
			return hvctl_usage_error(cmd, "--output '%s': file name too long", path);
		if (out->name[0] == '\0') {
			fprintf(stderr, "%s: --output: %s: no such directory\n", hvctl_who(cmd), path);
			return HVCTL_EXIT_FAILURE;
		}
		if (out->name[0] == '.')
			return hvctl_usage_error(cmd, "--output '%s': NFD ignores dot files; name a directory "
						 "or a file not starting with '.'", path);
	}
	out->dfd = open(out->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (out->dfd < 0) {
		fprintf(stderr, "%s: --output: %s: %s\n", hvctl_who(cmd), out->dir, strerror(errno));
		return HVCTL_EXIT_FAILURE;
	}
	return 0;
}

/*
 * Write the file as .NAME.XXXXXX beside NAME, sync it, rename it over NAME
 * and sync the directory: NFD reads the old file or the new one, never a
 * part, and a crash leaves one of them.
 */
static int nfd_output_write(const struct hvctl_command *cmd, const struct nfd_output *out,
			    const char *buf, size_t len)
{
	char tmp[sizeof(out->dir) + sizeof(out->name) + 16];
	int fd, r;

	snprintf(tmp, sizeof(tmp), "%s/.%s.XXXXXX", out->dir, out->name);
	fd = mkostemp(tmp, O_CLOEXEC);
	if (fd < 0) {
		fprintf(stderr, "%s: --output: cannot create a file in %s: %s\n", hvctl_who(cmd), out->dir,
			strerror(errno));
		return HVCTL_EXIT_FAILURE;
	}
	/* Readable by NFD's worker whatever our umask; written by us alone. */
	r = fchmod(fd, 0644) < 0 ? -errno : 0;
	if (r == 0)
		r = caps_write_all(fd, buf, len);
	if (r == 0 && fsync(fd) < 0)
		r = -errno;
	if (close(fd) < 0 && r == 0)
		r = -errno;
	if (r == 0 && renameat(AT_FDCWD, tmp, out->dfd, out->name) < 0)
		r = -errno;
	if (r < 0) {
		fprintf(stderr, "%s: --output: cannot write %s/%s: %s\n", hvctl_who(cmd), out->dir, out->name,
			strerror(-r));
		unlink(tmp);
		return HVCTL_EXIT_FAILURE;
	}
	/* The rename is durable once the directory is. */
	if (fsync(out->dfd) < 0) {
		fprintf(stderr, "%s: --output: cannot sync %s: %s\n", hvctl_who(cmd), out->dir, strerror(errno));
		return HVCTL_EXIT_FAILURE;
	}
	return HVCTL_EXIT_OK;
}

static int export_nfd(const struct hvctl_command *cmd, const struct export_host *x,
		      const struct export_options *opt, const struct nfd_output *out)
{
	char *buf = NULL;
	size_t len = 0;
	int r;

	r = nfd_build(cmd, x, opt, &buf, &len);
	if (r)
		return r;
	if (out)
		r = nfd_output_write(cmd, out, buf, len);
	else if (fwrite(buf, 1, len, stdout) != len || fflush(stdout) != 0)
		r = HVCTL_EXIT_FAILURE;
	free(buf);
	return r;
}

/* ------------------------------------------------------------------ */
/* --format os-traits */

struct trait_list {
	char **names;
	size_t n, cap;
};

static int trait_add(struct trait_list *l, const char *prefix, const char *name)
{
	size_t plen = strlen(prefix), len = plen + strlen(name);
	char *t;

	if (len > TRAIT_NAME_MAX)
		return 0;
	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 128;
		char **names = realloc(l->names, cap * sizeof(*names));

		if (!names)
			return -ENOMEM;
		l->names = names;
		l->cap = cap;
	}
	t = malloc(len + 1);
	if (!t)
		return -ENOMEM;
	/* Placement's trait names: [A-Z0-9_] only. */
	for (size_t i = 0; i <= len; i++) {
		char c = i < plen ? prefix[i] : name[i - plen];

		if (c >= 'a' && c <= 'z')
			c = (char)(c - 'a' + 'A');
		else if (c && !(c >= 'A' && c <= 'Z') && !(c >= '0' && c <= '9'))
			c = '_';
		t[i] = c;
	}
	l->names[l->n++] = t;
	return 0;
}

static int trait_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static bool trait_applies(const struct os_trait *t, const char *vendor)
{
	switch (t->vendor) {
	case TRAIT_AMD:
		return strcmp(vendor, "AuthenticAMD") == 0 || strcmp(vendor, "HygonGenuine") == 0;
	case TRAIT_INTEL:
		return strcmp(vendor, "GenuineIntel") == 0;
	default:
		return true;
	}
}

/* The standard traits of one feature into l; *ret_any whether there was one. */
static int traits_of_feature(struct trait_list *l, const char *feature, const char *vendor, bool *ret_any)
{
	int id = caps_feature_lookup(feature);

	*ret_any = false;
	for (size_t i = 0; id >= 0 && i < sizeof(os_traits) / sizeof(os_traits[0]); i++) {
		int row = caps_feature_lookup(os_traits[i].feature);
		int r;

		/* Every row names a catalog feature: a typo here is hvctl's bug. */
		assert(row >= 0);
		if (row != id || !trait_applies(&os_traits[i], vendor))
			continue;
		r = trait_add(l, "", os_traits[i].trait);
		if (r < 0)
			return r;
		*ret_any = true;
	}
	return 0;
}

static int export_os_traits(const struct hvctl_command *cmd, const struct export_host *x)
{
	struct json_object *features = get_array(x->record, "features");
	struct trait_list l = { 0 };
	int64_t level = hvctl_json_int(x->record, "level");
	char vendor[13], buf[32];
	int r = 0;

	record_vendor(x->record, vendor);
	for (size_t i = 0; r == 0 && features && i < json_object_array_length(features); i++) {
		const char *name = json_object_get_string(json_object_array_get_idx(features, i));
		bool any;

		if (!name || !*name)
			continue;
		r = traits_of_feature(&l, name, vendor, &any);
		if (r == 0 && !any)
			r = trait_add(&l, "CUSTOM_HVCAP_", name);
	}
	/* Every level up to the host's, so that a flavor can require "at least vN". */
	for (int64_t v = 1; r == 0 && v <= level && v <= 4; v++) {
		snprintf(buf, sizeof(buf), "X86_64_V%lld", (long long)v);
		r = trait_add(&l, "CUSTOM_HVCAP_", buf);
	}
	for (size_t i = 0; r == 0 && i < sizeof(capabilities) / sizeof(capabilities[0]); i++)
		if (capabilities[i].trait && capability_holds(&capabilities[i], x->record))
			r = trait_add(&l, "", capabilities[i].trait);
	if (r == 0) {
		qsort(l.names, l.n, sizeof(*l.names), trait_cmp);
		for (size_t i = 0; i < l.n; i++)
			if (i == 0 || strcmp(l.names[i], l.names[i - 1]) != 0)
				printf("%s\n", l.names[i]);
		if (fflush(stdout) != 0)
			r = -EIO;
	}
	for (size_t i = 0; i < l.n; i++)
		free(l.names[i]);
	free(l.names);
	if (r < 0) {
		fprintf(stderr, "%s: %s\n", hvctl_who(cmd), strerror(-r));
		return HVCTL_EXIT_FAILURE;
	}
	return HVCTL_EXIT_OK;
}

/* ------------------------------------------------------------------ */
/* The command */

/* "90", "90s", "30m", "1h", "2d": seconds, 1 .. NFD_EXPIRY_MAX. */
static int parse_duration(const char *s, long long *ret)
{
	static const struct {
		char unit;
		long long seconds;
	} units[] = { { 's', 1 }, { 'm', 60 }, { 'h', 60 * 60 }, { 'd', 24 * 60 * 60 } };
	long long n = 0, mult = 1;
	const char *p = s;

	if (*p < '0' || *p > '9')
		return -EINVAL;
	for (; *p >= '0' && *p <= '9'; p++) {
		n = n * 10 + (*p - '0');
		if (n > NFD_EXPIRY_MAX)
			return -ERANGE;
	}
	if (*p) {
		size_t i;

		for (i = 0; i < sizeof(units) / sizeof(units[0]) && units[i].unit != *p; i++)
			;
		if (i == sizeof(units) / sizeof(units[0]) || p[1])
			return -EINVAL;
		mult = units[i].seconds;
	}
	if (n == 0)
		return -ERANGE;
	if (n > NFD_EXPIRY_MAX / mult)
		return -ERANGE;
	*ret = n * mult;
	return 0;
}

static int host_export_run(int argc, char **argv)
{
	static const struct option options[] = {
		{ "help",          no_argument,       NULL, 'h' },
		{ "format",        required_argument, NULL, 'f' },
		{ "names",         required_argument, NULL, 'n' },
		{ "dump",          required_argument, NULL, 'd' },
		{ "param",         required_argument, NULL, 'p' },
		{ "nfd-namespace", required_argument, NULL, 'N' },
		{ "output",        required_argument, NULL, 'o' },
		{ "expiry",        required_argument, NULL, 'e' },
		{ 0 }
	};
	const struct hvctl_command *cmd = &hvctl_cmd_host_export;
	struct export_options opt = {
		.format = EXPORT_JSON,
		.names = CAPS_NAMES_LINUX,
		.names_arg = "linux",
		.nfd_namespace = NFD_NAMESPACE_DEFAULT,
		.expiry = NFD_EXPIRY_DEFAULT,
	};
	struct hvctl_params params = { .n = 0 };
	struct export_host x = { .record = NULL };
	struct nfd_output out = { .dfd = -1 };
	const char *dump = NULL, *problem;
	int o, r;

	while ((o = getopt_long(argc, argv, ":hf:n:d:p:N:o:e:", options, NULL)) != -1) {
		switch (o) {
		case 'f':
			if (strcmp(optarg, "json") == 0)
				opt.format = EXPORT_JSON;
			else if (strcmp(optarg, "nfd") == 0)
				opt.format = EXPORT_NFD;
			else if (strcmp(optarg, "os-traits") == 0)
				opt.format = EXPORT_OS_TRAITS;
			else
				return hvctl_usage_error(cmd, "unknown format '%s' (json, nfd or os-traits)", optarg);
			break;
		case 'n':
			if (hvctl_parse_names(cmd, optarg, &opt.names))
				return HVCTL_EXIT_USAGE;
			opt.names_arg = optarg;
			opt.names_given = true;
			break;
		case 'd':
			dump = optarg;
			break;
		case 'N':
			problem = nfd_namespace_problem(optarg);
			if (problem)
				return hvctl_usage_error(cmd, "--nfd-namespace '%s': %s", optarg, problem);
			opt.nfd_namespace = optarg;
			opt.nfd_only_given = true;
			break;
		case 'o':
			if (!*optarg)
				return hvctl_usage_error(cmd, "--output needs a directory or a file name");
			opt.output = optarg;
			opt.nfd_only_given = true;
			break;
		case 'e':
			r = parse_duration(optarg, &opt.expiry);
			if (r == -ERANGE)
				return hvctl_usage_error(cmd, "--expiry '%s': out of range (1s to 366d)", optarg);
			if (r < 0)
				return hvctl_usage_error(cmd, "--expiry '%s' is not a duration (90s, 30m, 1h, 2d)",
							 optarg);
			opt.nfd_only_given = true;
			break;
		default:
			r = hvctl_host_option(cmd, o, argv, NULL, NULL, &params);
			if (r != HVCTL_OPTION_TAKEN)
				return r;
			break;
		}
	}
	if (optind < argc)
		return hvctl_usage_error(cmd, "unexpected argument '%s'", argv[optind]);
	if (!dump && params.n)
		return hvctl_usage_error(cmd, "--param describes a --dump; the probe reads the real host");
	if (opt.nfd_only_given && opt.format != EXPORT_NFD)
		return hvctl_usage_error(cmd, "--nfd-namespace, --output and --expiry go with --format nfd");
	if (opt.names_given && opt.format != EXPORT_JSON)
		return hvctl_usage_error(cmd, "--names goes with --format json (labels and traits use "
					 "canonical names)");

	if (opt.output) {
		r = nfd_output_open(cmd, opt.output, &out);
		if (r)
			return r;
	}

	r = -1;
	if (!dump)
		r = read_online(cmd, &opt, &x);
	if (r < 0)
		r = read_offline(cmd, dump, &params, &x);
	if (r == 0) {
		switch (opt.format) {
		case EXPORT_JSON: {
			struct json_object *inv = inventory(&x, opt.names);

			if (!inv)
				fprintf(stderr, "%s: out of memory\n", hvctl_who(cmd));
			r = inv ? hvctl_print_reply_json(inv) : HVCTL_EXIT_FAILURE;
			break;
		}
		case EXPORT_NFD:
			r = export_nfd(cmd, &x, &opt, opt.output ? &out : NULL);
			break;
		case EXPORT_OS_TRAITS:
			r = export_os_traits(cmd, &x);
			break;
		}
	}
	json_object_put(x.record);
	json_object_put(x.caps);
	if (out.dfd >= 0)
		close(out.dfd);
	return r;
}

const struct hvctl_command hvctl_cmd_host_export = {
	.group = "host",
	.name = "export",
	.synopsis = "[--format json|nfd|os-traits] [--dump FILE [--param K=V]...] [--names linux|qemu] "
		    "[--nfd-namespace NS] [--output PATH] [--expiry DURATION]",
	.summary = "What guests can get on this host, for inventories, Kubernetes NFD and OpenStack placement",
	.help =
		"Without --dump, asks hvcapd (io.hvcap.Host.Describe); when no hvcapd answers,\n"
		"says so and asks this machine's KVM directly, as 'hvctl host features' does.\n"
		"With --dump, exports the host a raw CPUID dump describes ('hvctl host model\n"
		"--help' lists the parameters).  Formats:\n"
		"\n"
		"json       one object: hostname, source, fingerprint, backend, kernel_release,\n"
		"           vendor_module, microcode, level, features (what KVM offers guests),\n"
		"           withheld (the host CPU's features KVM does not offer: name, reason,\n"
		"           detail) and host (the whole HostRecord, for 'policy baseline')\n"
		"nfd        a Node Feature Discovery feature file (features.d): NS/fingerprint,\n"
		"           NS/x86-64-level=0..4, NS/kvm-avic, kvm-x2avic, kvm-eraps, kvm-lam,\n"
		"           kvm-sev-snp (when so) and NS/cpu-FEATURE=true per KVM-supported\n"
		"           feature, after '# +expiry-time=' (at most 64 KiB)\n"
		"os-traits  OpenStack placement traits, one per line: HW_CPU_X86_* where\n"
		"           os-traits has one, else CUSTOM_HVCAP_FEATURE; CUSTOM_HVCAP_X86_64_V1\n"
		"           up to the level, CUSTOM_HVCAP_KVM_AVIC and CUSTOM_HVCAP_KVM_X2AVIC\n"
		"\n"
		"  -f, --format FORMAT     json (default), nfd or os-traits\n"
		"  -d, --dump FILE         export the host this raw CPUID dump describes\n"
		"  -p, --param K=V         a host parameter for --dump (repeatable)\n"
		"  -n, --names STYLE       linux (default) or qemu feature names (json)\n"
		"  -N, --nfd-namespace NS  the labels' namespace (default hvcap.io)\n"
		"  -o, --output PATH       nfd: write the file atomically into directory PATH\n"
		"                          (as PATH/hvcap), or as file PATH, not to stdout\n"
		"  -e, --expiry DURATION   nfd: the labels expire after DURATION: 90s, 30m, 1h\n"
		"                          (default), 2d\n"
		"  -h, --help              show this help\n",
	.run = host_export_run,
};
