/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Baselines across hosts (DESIGN.md §4): the richest policy every host
 * accepts, and for each feature some hosts' KVM supports but not all,
 * which hosts withhold it and why.
 *
 * "Accepts" means what hv_policy_evaluate() means: a required feature
 * must be in the host's KVM-supported set (its record), the vendor must
 * match and phys_bits must not exceed the host's.  So the baseline is the
 * intersection of the records' named features, as "require" on base
 * none, with the lowest guest-physical width; a feature KVM only
 * emulates on some host is left out (the guest would trap on every use
 * there) and said so in that host's lack.
 */

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <hvcore/fleet.h>

/* Without 0x8000_0008, KVM's cpuid_query_maxphyaddr() assumes 36 bits. */
#define HV_DEFAULT_MAXPHYADDR	36

int hv_supported_guest_phys_bits(const struct caps_cpuid *supported)
{
	const struct caps_cpuid_entry *ext = caps_cpuid_find(supported, 0x80000000, 0);
	const struct caps_cpuid_entry *e = caps_cpuid_find(supported, 0x80000008, 0);
	int phys, guest;

	if (!ext || ext->eax < 0x80000008 || !e)
		return HV_DEFAULT_MAXPHYADDR;
	phys = (int)(e->eax & 0xff);
	guest = (int)((e->eax >> 16) & 0xff);
	return guest && guest < phys ? guest : phys;
}

void hv_cpuid_vendor(const struct caps_cpuid *c, char ret[13])
{
	const struct caps_cpuid_entry *e = caps_cpuid_find(c, 0, 0);

	memset(ret, 0, 13);
	if (!e)
		return;
	memcpy(ret, &e->ebx, 4);
	memcpy(ret + 4, &e->edx, 4);
	memcpy(ret + 8, &e->ecx, 4);
}

static void baseline_warning(struct hv_baseline *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void baseline_warning(struct hv_baseline *b, const char *fmt, ...)
{
	va_list ap;

	if (b->n_warnings >= HV_BASELINE_MAX_WARNINGS)
		return;
	va_start(ap, fmt);
	vsnprintf(b->warnings[b->n_warnings++], CAPS_EVAL_TEXT_MAX, fmt, ap);
	va_end(ap);
}

/* The features the catalog names: a baseline lists no bit it cannot name. */
static void named_features(struct caps *ret)
{
	caps_zero(ret);
	for (size_t i = 0; i < caps_feature_count(); i++)
		caps_set(ret, caps_feature_at(i)->id);
}

static int fill_lacks(const struct hv_policy_target *hosts, size_t n, struct hv_baseline *b)
{
	struct caps *emulated;
	size_t count = 0;

	caps_for_each(f, &b->partial)
		for (size_t i = 0; i < n; i++)
			count += !caps_has(&hosts[i].record->features, f);
	if (!count)
		return 0;
	emulated = calloc(n, sizeof(*emulated));
	b->lacks = calloc(count, sizeof(*b->lacks));
	if (!emulated || !b->lacks) {
		free(emulated);
		free(b->lacks);
		b->lacks = NULL;
		return -ENOMEM;
	}
	for (size_t i = 0; i < n; i++)
		caps_from_cpuid(&emulated[i], &hosts[i].record->emulated, NULL);
	caps_for_each(f, &b->partial) {
		for (size_t i = 0; i < n; i++) {
			const struct hv_feature_status *s = &hosts[i].status[f];
			struct hv_baseline_lack *l;

			if (caps_has(&hosts[i].record->features, f))
				continue;
			l = &b->lacks[b->n_lacks++];
			l->feature = (uint16_t)f;
			l->host = (uint16_t)i;
			l->reason = s->reason;
			l->detail = s->detail;
			l->emulated = caps_has(&emulated[i], f);
		}
	}
	free(emulated);
	return 0;
}

static int fill_policy(struct hv_baseline *b, unsigned flags, enum caps_names names)
{
	struct caps_policy *p = &b->policy;
	struct caps want;

	caps_policy_init(p);
	snprintf(p->name, sizeof(p->name), "baseline");
	p->base = CAPS_POLICY_BASE_NONE;
	p->migratable = flags & HV_BASELINE_MIGRATABLE;
	caps_andnot(&want, &b->common, &b->excluded);
	if (caps_weight(&want) > CAPS_POLICY_MAX_FEATURES)
		return -E2BIG;
	caps_for_each(f, &want) {
		struct caps_policy_feature *pf = &p->features[p->n_features++];

		snprintf(pf->name, sizeof(pf->name), "%s", caps_feature_name(f, names));
		pf->feature = f;
		pf->policy = CAPS_POLICY_REQUIRE;
	}
	/* A policy's phys_bits is 0 (the host's) or 32..52; anything else is the host's own. */
	if (b->phys_bits >= 32 && b->phys_bits <= 52)
		p->phys_bits = b->phys_bits;
	else
		baseline_warning(b, "The lowest guest-physical address width, %d bits, is outside what a policy "
				 "can name (32..52): the policy leaves phys_bits to each host.", b->phys_bits);
	if (!b->mixed_vendors) {
		if (strcmp(b->vendors[0], "GenuineIntel") == 0 || strcmp(b->vendors[0], "AuthenticAMD") == 0) {
			p->has_vendor = true;
			memcpy(p->vendor, b->vendors[0], sizeof(p->vendor));
		} else {
			baseline_warning(b, "Every host is a '%s' CPU, which a policy cannot name (GenuineIntel or "
					 "AuthenticAMD): the policy names no vendor.", b->vendors[0]);
		}
	}
	return 0;
}

/*
 * Whether guests of the baseline can move between every two hosts: what
 * a policy cannot narrow (the vPMU's counters, RapSize, the AVX10 version,
 * XSAVE layouts across vendors) may still differ.  Each field that blocks
 * some move gets one warning, naming the first pair it blocks.
 */
static int verify_migration(const struct hv_policy_target *hosts, size_t n, struct hv_baseline *b)
{
	struct caps_evaluation *ev = malloc(sizeof(*ev));
	struct caps_migration *res = malloc(sizeof(*res));
	char seen[HV_BASELINE_MAX_WARNINGS][CAPS_POLICY_FEATURE_NAME_MAX + CAPS_MIGRATE_FIELD_MAX + 2];
	size_t n_seen = 0;
	int r = 0;

	if (!ev || !res) {
		r = -ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < n && r == 0; i++) {
		r = hv_policy_evaluate(&b->policy, &hosts[i], CAPS_NAMES_LINUX, ev);
		if (r < 0 || !ev->accepted)
			continue;	/* the caller's checks say why; there is no guest to move */
		for (size_t j = 0; j < n && r == 0; j++) {
			size_t nb;

			if (j == i)
				continue;
			r = hv_migrate_check(&ev->guest_cpuid, &hosts[j], CAPS_NAMES_LINUX, res);
			nb = res->n_blockers < CAPS_MIGRATE_MAX_BLOCKERS ? res->n_blockers : CAPS_MIGRATE_MAX_BLOCKERS;
			for (size_t k = 0; r == 0 && k < nb && n_seen < HV_BASELINE_MAX_WARNINGS; k++) {
				const struct caps_migrate_blocker *bl = &res->blockers[k];
				char key[sizeof(seen[0])];
				bool known = false;

				snprintf(key, sizeof(key), "%s %s", bl->feature, bl->field);
				for (size_t s = 0; s < n_seen && !known; s++)
					known = strcmp(seen[s], key) == 0;
				/* Mixed vendors have their own warning. */
				if (known || bl->rule == CAPS_MIGRATE_SAME_VENDOR)
					continue;
				snprintf(seen[n_seen++], sizeof(seen[0]), "%s", key);
				if (bl->rule == CAPS_MIGRATE_NOT_MIGRATABLE) {
					baseline_warning(b, "The baseline requires %s, which breaks live migration whatever "
							 "the hosts: a migratable baseline leaves it out.", bl->feature);
					continue;
				}
				baseline_warning(b, "A guest of this baseline created on hosts[%zu] cannot move to hosts[%zu]: "
						 "its %s (%s) is %llu, hosts[%zu]'s %llu (%s); a policy cannot narrow it.",
						 i, j, bl->field, bl->feature, (unsigned long long)bl->source, j,
						 (unsigned long long)bl->destination, caps_migrate_rule_name(bl->rule));
			}
		}
	}
out:
	free(ev);
	free(res);
	return r;
}

int hv_baseline_compute(const struct hv_policy_target *hosts, size_t n, unsigned flags,
			enum caps_names names, struct hv_baseline *ret)
{
	struct caps named, any;
	int r;

	if (!hosts || !ret || n < 1 || n > HV_BASELINE_MAX_HOSTS)
		return -EINVAL;
	for (size_t i = 0; i < n; i++)
		if (!hosts[i].record || !hosts[i].status || !hosts[i].raw)
			return -EINVAL;

	memset(ret, 0, sizeof(*ret));
	caps_policy_init(&ret->policy);

	named_features(&named);
	caps_and(&ret->common, &hosts[0].record->features, &named);
	any = ret->common;
	ret->phys_bits = hv_supported_guest_phys_bits(&hosts[0].record->supported);
	for (size_t i = 0; i < n; i++) {
		int phys = hv_supported_guest_phys_bits(&hosts[i].record->supported);

		caps_and(&ret->common, &ret->common, &hosts[i].record->features);
		caps_or(&any, &any, &hosts[i].record->features);
		if (phys < ret->phys_bits) {
			ret->phys_bits = phys;
			ret->phys_bits_host = i;
		}
		hv_cpuid_vendor(hosts[i].raw, ret->vendors[i]);
		if (strcmp(ret->vendors[i], ret->vendors[0]) != 0)
			ret->mixed_vendors = true;
	}
	caps_and(&any, &any, &named);
	caps_andnot(&ret->partial, &any, &ret->common);
	if (flags & HV_BASELINE_MIGRATABLE)
		caps_for_each(f, &ret->common)
			if (hv_feature_breaks_migration(f))
				caps_set(&ret->excluded, f);

	r = fill_lacks(hosts, n, ret);
	if (r < 0)
		return r;

	if (ret->mixed_vendors && !(flags & HV_BASELINE_VENDOR_SUBSET)) {
		ret->outcome = HV_BASELINE_MIXED_VENDORS;
		return 0;
	}
	if (caps_is_empty(&ret->common)) {
		ret->outcome = HV_BASELINE_NOTHING_COMMON;
		return 0;
	}
	if (ret->mixed_vendors)
		baseline_warning(ret, "The hosts' CPUs come from different vendors: the baseline is their common "
				 "subset and names no vendor; KVM does not live-migrate guests between them.");
	r = fill_policy(ret, flags, names);
	if (r == 0)
		r = verify_migration(hosts, n, ret);
	if (r < 0) {
		hv_baseline_done(ret);
		return r;
	}
	ret->outcome = HV_BASELINE_OK;
	return 0;
}

void hv_baseline_done(struct hv_baseline *b)
{
	if (!b)
		return;
	free(b->lacks);
	b->lacks = NULL;
	b->n_lacks = 0;
}
