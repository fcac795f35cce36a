/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Host parameters of the model: defaults, parsing and names. */

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <hvcore/model.h>

static const char *const reason_names[] = {
#define HV_REASON_NAME(id, name) [HV_REASON_##id] = name,
	HV_REASONS(HV_REASON_NAME)
#undef HV_REASON_NAME
};

_Static_assert(sizeof(reason_names) / sizeof(reason_names[0]) == NR_HV_REASONS,
	       "every reason needs a name");

const char *hv_reason_name(enum hv_reason r)
{
	if ((unsigned)r >= NR_HV_REASONS)
		return "unknown";
	return reason_names[r];
}

size_t hv_note_names(uint8_t notes, const char *ret[HV_NR_NOTES])
{
	static const char *const names[HV_NR_NOTES] = {
		"emulated", "synthesized", "passthrough", "virtualization_hole", "vendor",
	};
	size_t n = 0;

	for (unsigned i = 0; i < HV_NR_NOTES; i++)
		if (notes & (1u << i))
			ret[n++] = names[i];
	return n;
}

void hv_explain_probe(const struct caps_host_record *probe, const struct hv_model_result *model,
		      struct hv_feature_status ret[CAPS_NR_FEATURE_IDS])
{
	for (int f = 0; f < CAPS_NR_FEATURE_IDS; f++) {
		bool kvm = caps_has(&probe->features, f);
		bool expected = model && caps_has(&model->record.features, f);

		if (model && kvm == expected)
			ret[f] = model->status[f];
		else if (kvm)
			ret[f] = (struct hv_feature_status) { .reason = HV_REASON_SUPPORTED };
		else
			ret[f] = (struct hv_feature_status) {
				.reason = HV_REASON_NOT_REPORTED_BY_KVM,
				.detail = model ? probe->vendor_module : NULL,
			};
	}
}

const char *hv_feature_status_string(const struct hv_feature_status *s, char *buf, size_t size)
{
	if (s->detail)
		snprintf(buf, size, "%s %s", hv_reason_name(s->reason), s->detail);
	else
		snprintf(buf, size, "%s", hv_reason_name(s->reason));
	return buf;
}

int hv_kernel_version_parse(const char *s, int *ret)
{
	char *end;
	unsigned long major, minor;

	if (!s || *s < '0' || *s > '9')
		return -EINVAL;
	major = strtoul(s, &end, 10);
	if (*end != '.' || end[1] < '0' || end[1] > '9')
		return -EINVAL;
	minor = strtoul(end + 1, &end, 10);
	if (*end != '\0' || major > 99 || minor > 99)
		return -EINVAL;
	*ret = KVM_V((int)major, (int)minor);
	return 0;
}

/* Vendor strings whose CPUs run kvm_intel (VMX) or kvm_amd (SVM). */
static int vendor_from_cpuid(const struct caps_cpuid *raw, enum hv_vendor *ret)
{
	static const struct {
		const char *id;
		enum hv_vendor vendor;
	} vendors[] = {
		{ "GenuineIntel", HV_VENDOR_INTEL },
		{ "CentaurHauls", HV_VENDOR_INTEL },
		{ "  Shanghai  ", HV_VENDOR_INTEL },
		{ "AuthenticAMD", HV_VENDOR_AMD },
		{ "HygonGenuine", HV_VENDOR_AMD },
	};
	const struct caps_cpuid_entry *e = caps_cpuid_find(raw, 0, 0);
	char id[13];

	if (!e)
		return -EINVAL;
	memcpy(id, &e->ebx, 4);
	memcpy(id + 4, &e->edx, 4);
	memcpy(id + 8, &e->ecx, 4);
	id[12] = '\0';
	for (size_t i = 0; i < sizeof(vendors) / sizeof(vendors[0]); i++) {
		if (strcmp(id, vendors[i].id) == 0) {
			*ret = vendors[i].vendor;
			return 0;
		}
	}
	return -EINVAL;
}

int hv_host_params_init(struct hv_host_params *p, const struct caps_cpuid *raw)
{
	struct hv_host_params d = {
		.vendor = HV_VENDOR_INTEL,
		.kernel = HV_KERNEL_DEFAULT,
		.tdp = true,
		.tdp_level = 4,
		.nested = true,
		.avic = false,
		.sev = false,
		.sev_es = false,
		.snp = false,
		.enable_pmu = true,
		.amx_permitted = false,
		.sched_info = true,
		.tsa_fix = HV_TSA_FIX_AUTO,
	};
	int r = raw ? vendor_from_cpuid(raw, &d.vendor) : -EINVAL;

	*p = d;
	return r;
}

enum param_type {
	PARAM_BOOL,
	PARAM_VENDOR,
	PARAM_KERNEL,
	PARAM_TDP_LEVEL,
	PARAM_TSA_FIX,
};

static const struct param_def {
	const char *name;
	enum param_type type;
	size_t offset;
	const char *help;
} param_defs[] = {
#define P(name, type, field, help) { name, type, offsetof(struct hv_host_params, field), help }
	P("vendor",        PARAM_VENDOR,    vendor,        "intel (kvm_intel, VMX) or amd (kvm_amd, SVM)"),
	P("kernel",        PARAM_KERNEL,    kernel,        "target kernel version, 6.1 .. 7.0"),
	P("tdp",           PARAM_BOOL,      tdp,           "two-dimensional paging (npt / ept)"),
	P("tdp_level",     PARAM_TDP_LEVEL, tdp_level,     "4 or 5 paging levels for NPT/EPT"),
	P("nested",        PARAM_BOOL,      nested,        "nested virtualization"),
	P("avic",          PARAM_BOOL,      avic,          "AVIC (x2AVIC follows the CPUID bit)"),
	P("sev",           PARAM_BOOL,      sev,           "SEV enabled in kvm_amd"),
	P("sev_es",        PARAM_BOOL,      sev_es,        "SEV-ES enabled in kvm_amd"),
	P("snp",           PARAM_BOOL,      snp,           "SEV-SNP enabled (host SNP initialised)"),
	P("enable_pmu",    PARAM_BOOL,      enable_pmu,    "kvm.enable_pmu"),
	P("amx_permitted", PARAM_BOOL,      amx_permitted, "the caller holds ARCH_REQ_XCOMP_GUEST_PERM for AMX"),
	P("sched_info",    PARAM_BOOL,      sched_info,    "CONFIG_SCHED_INFO (steal time)"),
	P("tsa_fix",       PARAM_TSA_FIX,   tsa_fix,       "auto, on or off: SYNTHESIZED_F needs the kernel flag (7.0-rc3)"),
#undef P
};

const char *hv_host_params_names(void)
{
	return "vendor kernel tdp tdp_level nested avic sev sev_es snp enable_pmu "
	       "amx_permitted sched_info tsa_fix";
}

static int parse_bool(const char *v, bool *ret)
{
	static const char *const yes[] = { "1", "y", "Y", "yes", "on", "true" };
	static const char *const no[] = { "0", "n", "N", "no", "off", "false" };

	for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
		if (strcmp(v, yes[i]) == 0) {
			*ret = true;
			return 0;
		}
		if (strcmp(v, no[i]) == 0) {
			*ret = false;
			return 0;
		}
	}
	return -EINVAL;
}

int hv_host_params_set(struct hv_host_params *p, const char *key, const char *value,
		       char *err, size_t err_size)
{
	const struct param_def *def = NULL;
	char *field;
	int v;

	if (!key || !value)
		return -EINVAL;
	for (size_t i = 0; i < sizeof(param_defs) / sizeof(param_defs[0]); i++)
		if (strcmp(param_defs[i].name, key) == 0)
			def = &param_defs[i];
	if (!def) {
		snprintf(err, err_size, "unknown parameter '%.64s' (valid: %s)", key, hv_host_params_names());
		return -EINVAL;
	}
	field = (char *)p + def->offset;
	switch (def->type) {
	case PARAM_BOOL:
		if (parse_bool(value, (bool *)field) == 0)
			return 0;
		snprintf(err, err_size, "%s: '%.64s' is not a boolean (on/off, yes/no, 1/0, y/n, true/false)",
			 key, value);
		return -EINVAL;
	case PARAM_VENDOR:
		if (strcmp(value, "intel") == 0 || strcmp(value, "kvm_intel") == 0)
			p->vendor = HV_VENDOR_INTEL;
		else if (strcmp(value, "amd") == 0 || strcmp(value, "kvm_amd") == 0)
			p->vendor = HV_VENDOR_AMD;
		else {
			snprintf(err, err_size, "vendor: '%.64s' is neither intel nor amd", value);
			return -EINVAL;
		}
		p->vendor_given = true;
		return 0;
	case PARAM_KERNEL:
		if (hv_kernel_version_parse(value, &v) < 0) {
			snprintf(err, err_size, "kernel: '%.64s' is not a version such as 6.18 or 7.0", value);
			return -EINVAL;
		}
		if (v < HV_KERNEL_OLDEST || v > HV_KERNEL_NEWEST) {
			snprintf(err, err_size, "kernel: %s is outside the versions the model covers (6.1 .. 7.0)",
				 value);
			return -EINVAL;
		}
		p->kernel = v;
		return 0;
	case PARAM_TSA_FIX:
		if (strcmp(value, "auto") == 0) {
			p->tsa_fix = HV_TSA_FIX_AUTO;
		} else {
			bool on;

			if (parse_bool(value, &on) < 0) {
				snprintf(err, err_size, "tsa_fix: '%.64s' is not auto, on or off", value);
				return -EINVAL;
			}
			p->tsa_fix = on ? HV_TSA_FIX_ON : HV_TSA_FIX_OFF;
		}
		return 0;
	case PARAM_TDP_LEVEL:
		if (strcmp(value, "4") == 0 || strcmp(value, "5") == 0) {
			p->tdp_level = value[0] - '0';
			return 0;
		}
		snprintf(err, err_size, "tdp_level: '%.64s' is neither 4 nor 5", value);
		return -EINVAL;
	}
	return -EINVAL;
}

/* A module parameter as a boolean: Y/N, 1/0 (sysfs prints both). */
static bool module_bool(const struct caps_host_record *r, const char *module, const char *name,
			bool fallback)
{
	const char *v = caps_host_record_param(r, module, name);
	bool b;

	if (!v || parse_bool(v, &b) < 0)
		return fallback;
	return b;
}

int hv_host_params_from_record(struct hv_host_params *p, const struct caps_host_record *r,
			       const struct caps_cpuid *raw)
{
	const struct caps_cpuid_entry *e;
	const char *mod = r->vendor_module;
	int version, ret;
	unsigned major, minor;

	ret = hv_host_params_init(p, raw);
	if (strcmp(mod, "kvm_amd") == 0) {
		p->vendor = HV_VENDOR_AMD;
		ret = 0;
	} else if (strcmp(mod, "kvm_intel") == 0) {
		p->vendor = HV_VENDOR_INTEL;
		ret = 0;
	}
	if (ret < 0)
		return ret;

	if (sscanf(r->kernel_release, "%u.%u", &major, &minor) == 2 && major < 100 && minor < 100) {
		version = KVM_V((int)major, (int)minor);
		if (version > HV_KERNEL_NEWEST)
			version = HV_KERNEL_NEWEST;
		if (version < HV_KERNEL_OLDEST)
			version = HV_KERNEL_OLDEST;
		p->kernel = version;
	}

	e = caps_cpuid_find(&r->supported, 0x80000008, 0);
	p->tdp = e && ((e->eax >> 16) & 0xff) != 0;
	if (strcmp(mod, "kvm_amd") == 0) {
		p->tdp = module_bool(r, mod, "npt", p->tdp);
		p->nested = module_bool(r, mod, "nested", p->nested);
		p->avic = module_bool(r, mod, "avic", p->avic);
		p->sev = module_bool(r, mod, "sev", p->sev);
		p->sev_es = module_bool(r, mod, "sev_es", p->sev_es);
		p->snp = module_bool(r, mod, "sev_snp", p->snp);
	} else if (strcmp(mod, "kvm_intel") == 0) {
		p->tdp = module_bool(r, mod, "ept", p->tdp);
		p->nested = module_bool(r, mod, "nested", p->nested);
	} else {
		/* A module the model does not describe: nested iff KVM offers SVM/VMX. */
		e = caps_cpuid_find(&r->supported, 0x80000001, 0);
		p->nested = (e && (e->ecx & (1u << 2)));
		e = caps_cpuid_find(&r->supported, 1, 0);
		p->nested |= (e && (e->ecx & (1u << 5)));
	}
	p->enable_pmu = module_bool(r, "kvm", "enable_pmu", p->enable_pmu);
	return 0;
}
