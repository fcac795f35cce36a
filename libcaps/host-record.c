/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The host record: parameters, features and the drift fingerprint. */

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libcaps/host.h>

const char *caps_backend_to_string(enum caps_backend b)
{
	switch (b) {
	case CAPS_BACKEND_KVM:
		return "kvm";
	case CAPS_BACKEND_MODEL:
		return "model";
	}
	return NULL;
}

void caps_host_record_init(struct caps_host_record *r, enum caps_backend backend)
{
	memset(r, 0, sizeof(*r));
	r->backend = backend;
	caps_cpuid_init(&r->supported);
	caps_cpuid_init(&r->emulated);
	caps_msrs_init(&r->msrs);
}

static int copy_field(char *dst, size_t size, const char *src)
{
	size_t len = strlen(src);

	if (len >= size)
		return -ENAMETOOLONG;
	memcpy(dst, src, len + 1);
	return 0;
}

int caps_host_record_add_param(struct caps_host_record *r, const char *module,
			       const char *name, const char *value)
{
	struct caps_param p;

	if (r->n_params >= CAPS_PARAM_MAX)
		return -E2BIG;
	if (copy_field(p.module, sizeof(p.module), module) < 0 ||
	    copy_field(p.name, sizeof(p.name), name) < 0 ||
	    copy_field(p.value, sizeof(p.value), value) < 0)
		return -ENAMETOOLONG;
	r->params[r->n_params++] = p;
	return 0;
}

const char *caps_host_record_param(const struct caps_host_record *r, const char *module,
				   const char *name)
{
	for (size_t i = 0; i < r->n_params; i++)
		if (strcmp(r->params[i].module, module) == 0 && strcmp(r->params[i].name, name) == 0)
			return r->params[i].value;
	return NULL;
}

uint64_t caps_msr_to_feature_form(uint32_t index, uint64_t raw)
{
	switch (index) {
	case 0x48b:	/* IA32_VMX_PROCBASED_CTLS2 */
	case 0x48d:	/* IA32_VMX_TRUE_PINBASED_CTLS */
	case 0x48e:	/* IA32_VMX_TRUE_PROCBASED_CTLS */
	case 0x48f:	/* IA32_VMX_TRUE_EXIT_CTLS */
	case 0x490:	/* IA32_VMX_TRUE_ENTRY_CTLS */
		/* Allowed-1 settings that are not must-be-1: what software may choose. */
		return (raw >> 32) & ~(uint32_t)raw;
	default:
		return raw;
	}
}

/* 64-bit FNV-1a: stable, byte-order independent, no dependency. */
struct fnv {
	uint64_t h;
};

static void fnv_bytes(struct fnv *f, const void *p, size_t n)
{
	const unsigned char *b = p;

	for (size_t i = 0; i < n; i++) {
		f->h ^= b[i];
		f->h *= UINT64_C(1099511628211);
	}
}

static void fnv_str(struct fnv *f, const char *s)
{
	/* The terminating NUL separates fields: "ab"+"c" differs from "a"+"bc". */
	fnv_bytes(f, s, strlen(s) + 1);
}

static void fnv_u64(struct fnv *f, uint64_t v)
{
	unsigned char b[8];

	for (int i = 0; i < 8; i++)
		b[i] = (unsigned char)(v >> (8 * i));
	fnv_bytes(f, b, sizeof(b));
}

static int param_cmp(const void *a, const void *b)
{
	const struct caps_param *x = *(const struct caps_param *const *)a;
	const struct caps_param *y = *(const struct caps_param *const *)b;
	int r = strcmp(x->module, y->module);

	return r ? r : strcmp(x->name, y->name);
}

void caps_host_record_finish(struct caps_host_record *r)
{
	const struct caps_param *sorted[CAPS_PARAM_MAX];
	struct caps_msrs feature_form;
	struct fnv f = { UINT64_C(14695981039346656037) };

	caps_msrs_init(&feature_form);
	for (size_t i = 0; i < r->msrs.n; i++)
		caps_msrs_add(&feature_form, r->msrs.msrs[i].index,
			      caps_msr_to_feature_form(r->msrs.msrs[i].index, r->msrs.msrs[i].value));
	caps_from_cpuid(&r->features, &r->supported, &feature_form);

	fnv_str(&f, "hvcap-host-fingerprint-1");
	fnv_str(&f, r->kernel_release);
	fnv_str(&f, r->vendor_module);
	for (size_t i = 0; i < r->n_params; i++)
		sorted[i] = &r->params[i];
	qsort(sorted, r->n_params, sizeof(sorted[0]), param_cmp);
	fnv_u64(&f, r->n_params);
	for (size_t i = 0; i < r->n_params; i++) {
		fnv_str(&f, sorted[i]->module);
		fnv_str(&f, sorted[i]->name);
		fnv_str(&f, sorted[i]->value);
	}
	fnv_u64(&f, r->has_microcode ? r->microcode : UINT64_MAX);
	fnv_u64(&f, (uint64_t)(int64_t)r->api_version);
	fnv_u64(&f, r->supported.nent);
	for (size_t i = 0; i < r->supported.nent; i++) {
		struct caps_cpuid_entry c = r->supported.entries[i];
		const struct caps_cpuid_entry *e = &c;

		/*
		 * KVM passes the calling CPU's APIC IDs through: leave them out,
		 * or the fingerprint would depend on where the prober ran.
		 */
		if (c.function == 0x1)
			c.ebx &= 0x00ffffff;
		else if (c.function == 0xb || c.function == 0x1f)
			c.edx = 0;
		else if (c.function == 0x8000001e)
			c.eax = 0;
		fnv_u64(&f, (uint64_t)e->function << 32 | e->index);
		fnv_u64(&f, (uint64_t)e->flags << 32 | e->eax);
		fnv_u64(&f, (uint64_t)e->ebx << 32 | e->ecx);
		fnv_u64(&f, e->edx);
	}
	snprintf(r->fingerprint, sizeof(r->fingerprint), "hvcap1-%016llx", (unsigned long long)f.h);
}
