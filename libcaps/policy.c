/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Policy vocabulary: names of bases, feature policies and memslot states. */

#include <assert.h>
#include <errno.h>
#include <string.h>

#include <libcaps/policy.h>

static const char *const base_names[] = {
	[CAPS_POLICY_BASE_NONE] = "none",
	[CAPS_POLICY_BASE_HOST] = "host",
	[CAPS_POLICY_BASE_X86_64_V1] = "x86-64-v1",
	[CAPS_POLICY_BASE_X86_64_V2] = "x86-64-v2",
	[CAPS_POLICY_BASE_X86_64_V3] = "x86-64-v3",
	[CAPS_POLICY_BASE_X86_64_V4] = "x86-64-v4",
};

static const char *const policy_names[] = {
	[CAPS_POLICY_FORCE] = "force",
	[CAPS_POLICY_REQUIRE] = "require",
	[CAPS_POLICY_OPTIONAL] = "optional",
	[CAPS_POLICY_DISABLE] = "disable",
	[CAPS_POLICY_FORBID] = "forbid",
};

static const char *const memslot_names[] = {
	[CAPS_EVAL_MEMSLOT_ENABLED] = "enabled",
	[CAPS_EVAL_MEMSLOT_INHIBITED_WHEN_X2APIC] = "inhibited_when_x2apic",
	[CAPS_EVAL_MEMSLOT_NOT_USED] = "not_used",
};

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

static int lookup(const char *const *names, size_t n, const char *s)
{
	if (!s)
		return -EINVAL;
	for (size_t i = 0; i < n; i++)
		if (names[i] && strcmp(names[i], s) == 0)
			return (int)i;
	return -EINVAL;
}

const char *caps_policy_base_to_string(enum caps_policy_base b)
{
	return (unsigned)b < ARRAY_SIZE(base_names) ? base_names[b] : NULL;
}

int caps_policy_base_from_string(const char *s, enum caps_policy_base *ret)
{
	int i = lookup(base_names, ARRAY_SIZE(base_names), s);

	if (i < 0)
		return i;
	*ret = (enum caps_policy_base)i;
	return 0;
}

const char *caps_feature_policy_to_string(enum caps_feature_policy p)
{
	return (unsigned)p < ARRAY_SIZE(policy_names) ? policy_names[p] : NULL;
}

int caps_feature_policy_from_string(const char *s, enum caps_feature_policy *ret)
{
	int i = lookup(policy_names, ARRAY_SIZE(policy_names), s);

	if (i < 0)
		return i;
	*ret = (enum caps_feature_policy)i;
	return 0;
}

const char *caps_eval_memslot_to_string(enum caps_eval_memslot m)
{
	return (unsigned)m < ARRAY_SIZE(memslot_names) ? memslot_names[m] : NULL;
}

static const char *const migrate_rule_names[] = {
#define CAPS_MIGRATE_RULE_NAME(id, name) [CAPS_MIGRATE_##id] = name,
	CAPS_MIGRATE_RULES(CAPS_MIGRATE_RULE_NAME)
#undef CAPS_MIGRATE_RULE_NAME
};

_Static_assert(ARRAY_SIZE(migrate_rule_names) == NR_CAPS_MIGRATE_RULES, "every migration rule has a name");

const char *caps_migrate_rule_name(enum caps_migrate_rule r)
{
	return (unsigned)r < NR_CAPS_MIGRATE_RULES ? migrate_rule_names[r] : "?";
}

void caps_policy_init(struct caps_policy *p)
{
	p->name[0] = '\0';
	p->has_vendor = false;
	p->vendor[0] = '\0';
	p->base = CAPS_POLICY_BASE_NONE;
	p->n_features = 0;
	p->vcpus = 1;
	p->apic = CAPS_POLICY_APIC_XAPIC;
	p->phys_bits = 0;
	p->migratable = true;
}

void caps_policy_copy(struct caps_policy *dst, const struct caps_policy *src)
{
	memcpy(dst->name, src->name, sizeof(dst->name));
	dst->has_vendor = src->has_vendor;
	memcpy(dst->vendor, src->vendor, sizeof(dst->vendor));
	dst->base = src->base;
	assert(src->n_features <= CAPS_POLICY_MAX_FEATURES);
	dst->n_features = src->n_features;
	memcpy(dst->features, src->features, src->n_features * sizeof(dst->features[0]));
	dst->vcpus = src->vcpus;
	dst->apic = src->apic;
	dst->phys_bits = src->phys_bits;
	dst->migratable = src->migratable;
}
