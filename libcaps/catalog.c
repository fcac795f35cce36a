/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The feature catalog: the word table, the feature table and the name
 * lookup, all produced from the words-*.def and features-*.def lists.
 */

#include <ctype.h>
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <libcaps/caps.h>

#define CAPS_HALF_LO false
#define CAPS_HALF_HI true

static const struct caps_word_info caps_words[NR_CAPS_WORDS] = {
#define CAPS_CPUID_WORD(id, kind, fn, idx, reg, kword, fields) \
	[id] = { #id, CAPS_WORD_##kind, fn, idx, CAPS_REG_##reg, kword, 0, false, fields },
#define CAPS_MSR_WORD(id, msr, half, fields) \
	[id] = { #id, CAPS_WORD_MSR, 0, 0, CAPS_REG_EAX, -1, msr, CAPS_HALF_##half, fields },
#include <libcaps/words-cpuid.def>
#include <libcaps/words-msr.def>
#undef CAPS_CPUID_WORD
#undef CAPS_MSR_WORD
};

/* Position of each feature in the table, in declaration order. */
enum {
#define CAPS_FEATURE(id, word, bit, name, qemu, aliases, flags) CAPS_FIDX_##id,
#include <libcaps/features-basic.def>
#include <libcaps/features-ext.def>
#include <libcaps/features-msr.def>
#undef CAPS_FEATURE
	CAPS_NR_FEATURES
};

static const struct caps_feature_info caps_features[CAPS_NR_FEATURES] = {
#define CAPS_FEATURE(id, word, bit, name, qemu, aliases, flags) \
	[CAPS_FIDX_##id] = { name, qemu, aliases, X86_FEATURE_##id, word, bit, flags },
#include <libcaps/features-basic.def>
#include <libcaps/features-ext.def>
#include <libcaps/features-msr.def>
#undef CAPS_FEATURE
};

/*
 * Reverse map from feature id to table position + 1 (0 = unnamed bit).
 * Two entries for one bit would need two members of the same name in the
 * struct below, which no compiler accepts; a bit number out of range
 * fails its _Static_assert.
 */
static const uint16_t caps_feature_rev[CAPS_NR_FEATURE_IDS] = {
#define CAPS_FEATURE(id, word, bit, name, qemu, aliases, flags) \
	[X86_FEATURE_##id] = CAPS_FIDX_##id + 1,
#include <libcaps/features-basic.def>
#include <libcaps/features-ext.def>
#include <libcaps/features-msr.def>
#undef CAPS_FEATURE
};

struct caps_catalog_one_name_per_bit {
#define CAPS_FEATURE(id, word, bit, name, qemu, aliases, flags) char bit_##word##_##bit;
#include <libcaps/features-basic.def>
#include <libcaps/features-ext.def>
#include <libcaps/features-msr.def>
#undef CAPS_FEATURE
};

#define CAPS_FEATURE(id, word, bit, name, qemu, aliases, flags) \
	_Static_assert((bit) >= 0 && (bit) < 32, #id ": bit out of range"); \
	_Static_assert(sizeof(name) > 1, #id ": empty name");
#include <libcaps/features-basic.def>
#include <libcaps/features-ext.def>
#include <libcaps/features-msr.def>
#undef CAPS_FEATURE

_Static_assert(NR_CAPS_WORDS <= UINT8_MAX, "word numbers must fit caps_feature_info.word");
_Static_assert(CAPS_NR_FEATURE_IDS <= UINT16_MAX, "feature ids must fit uint16_t");
_Static_assert(CAPS_NR_FEATURES < UINT16_MAX, "table positions must fit the reverse map");

const struct caps_word_info *caps_word_info(enum caps_word word)
{
	if ((unsigned)word >= NR_CAPS_WORDS)
		return NULL;
	return &caps_words[word];
}

uint32_t caps_word_names_hash(size_t n)
{
	uint32_t h = UINT32_C(0x811c9dc5);

	if (n > NR_CAPS_WORDS)
		return 0;
	for (size_t w = 0; w < n; w++) {
		const char *name = caps_words[w].name;

		/* Each name with its NUL, so that "AB","C" and "A","BC" differ. */
		do {
			h ^= (unsigned char)*name;
			h *= UINT32_C(0x01000193);
		} while (*name++);
	}
	return h;
}

int caps_word_find_cpuid(uint32_t function, uint32_t index, enum caps_reg reg)
{
	for (int w = 0; w < NR_CAPS_WORDS; w++) {
		const struct caps_word_info *wi = &caps_words[w];

		if (wi->kind != CAPS_WORD_MSR && wi->function == function &&
		    wi->index == index && wi->reg == reg)
			return w;
	}
	return -ENOENT;
}

const char *caps_reg_name(enum caps_reg reg)
{
	static const char *const names[] = { "eax", "ebx", "ecx", "edx" };

	if ((unsigned)reg >= 4)
		return "?";
	return names[reg];
}

size_t caps_feature_count(void)
{
	return CAPS_NR_FEATURES;
}

const struct caps_feature_info *caps_feature_at(size_t i)
{
	if (i >= CAPS_NR_FEATURES)
		return NULL;
	return &caps_features[i];
}

const struct caps_feature_info *caps_feature_info(int feature)
{
	if (feature < 0 || feature >= CAPS_NR_FEATURE_IDS || !caps_feature_rev[feature])
		return NULL;
	return &caps_features[caps_feature_rev[feature] - 1];
}

const char *caps_feature_name(int feature, enum caps_names style)
{
	const struct caps_feature_info *fi = caps_feature_info(feature);

	if (!fi)
		return NULL;
	if (style == CAPS_NAMES_QEMU && fi->qemu)
		return fi->qemu;
	return fi->name;
}

/*
 * Name lookup.  Names compare after folding case and mapping '-' and '.'
 * to '_'.  The index is an open-addressing hash table over every
 * spelling, built once on first use; it points into the const table and
 * allocates nothing.
 */

#define CAPS_NAME_MAX 64
/* Power of two, more than twice the number of spellings (about 1,400). */
#define CAPS_NAME_SLOTS 4096

struct caps_name_slot {
	const char *name;	/* not NUL-terminated for aliases */
	uint8_t len;
	uint16_t fidx;		/* table position + 1; 0 = empty slot */
};

static struct caps_name_slot caps_name_index[CAPS_NAME_SLOTS];
static size_t caps_name_count;
static pthread_once_t caps_name_once = PTHREAD_ONCE_INIT;

static inline char fold(char c)
{
	if (c == '-' || c == '.')
		return '_';
	return (char)tolower((unsigned char)c);
}

static uint32_t name_hash(const char *s, size_t len)
{
	uint32_t h = 2166136261u;	/* FNV-1a */

	for (size_t i = 0; i < len; i++) {
		h ^= (unsigned char)fold(s[i]);
		h *= 16777619u;
	}
	return h;
}

static bool name_equal(const char *a, size_t alen, const char *b, size_t blen)
{
	if (alen != blen)
		return false;
	for (size_t i = 0; i < alen; i++)
		if (fold(a[i]) != fold(b[i]))
			return false;
	return true;
}

static const struct caps_name_slot *name_index_find(const char *s, size_t len)
{
	uint32_t h = name_hash(s, len) & (CAPS_NAME_SLOTS - 1);

	for (;;) {
		const struct caps_name_slot *slot = &caps_name_index[h];

		if (!slot->fidx)
			return NULL;
		if (name_equal(slot->name, slot->len, s, len))
			return slot;
		h = (h + 1) & (CAPS_NAME_SLOTS - 1);
	}
}

static void name_index_add(const char *s, size_t len, size_t fidx)
{
	uint32_t h;

	/*
	 * A spelling that two features share (or a feature lists twice)
	 * keeps its first owner; tests/unit/test-catalog.c proves the
	 * shipped table has none.
	 */
	if (len == 0 || len > CAPS_NAME_MAX || name_index_find(s, len))
		return;
	if (caps_name_count >= CAPS_NAME_SLOTS / 2)
		return;
	h = name_hash(s, len) & (CAPS_NAME_SLOTS - 1);
	while (caps_name_index[h].fidx)
		h = (h + 1) & (CAPS_NAME_SLOTS - 1);
	caps_name_index[h] = (struct caps_name_slot) {
		.name = s, .len = (uint8_t)len, .fidx = (uint16_t)(fidx + 1),
	};
	caps_name_count++;
}

/* Call fn for every spelling of feature i: canonical, QEMU, aliases. */
static void for_each_spelling(size_t i, void (*fn)(const char *, size_t, size_t, void *), void *data)
{
	const struct caps_feature_info *fi = &caps_features[i];
	const char *p;

	fn(fi->name, strlen(fi->name), i, data);
	if (fi->qemu)
		fn(fi->qemu, strlen(fi->qemu), i, data);
	for (p = fi->aliases; p && *p;) {
		size_t len = strcspn(p, " ");

		if (len)
			fn(p, len, i, data);
		p += len;
		p += strspn(p, " ");
	}
}

static void index_spelling(const char *s, size_t len, size_t i, void *data)
{
	(void)data;
	name_index_add(s, len, i);
}

static void name_index_build(void)
{
	for (size_t i = 0; i < CAPS_NR_FEATURES; i++)
		for_each_spelling(i, index_spelling, NULL);
}

int caps_feature_lookup(const char *name)
{
	const struct caps_name_slot *slot;
	size_t len;

	if (!name)
		return -EINVAL;
	len = strlen(name);
	if (len == 0 || len > CAPS_NAME_MAX)
		return -EINVAL;
	pthread_once(&caps_name_once, name_index_build);
	slot = name_index_find(name, len);
	if (!slot)
		return -ENOENT;
	return caps_features[slot->fidx - 1].id;
}

/* Levenshtein distance over folded characters, capped at CAPS_NAME_MAX. */
static unsigned name_distance(const char *a, size_t alen, const char *b, size_t blen)
{
	unsigned row[CAPS_NAME_MAX + 1];

	if (alen > CAPS_NAME_MAX)
		alen = CAPS_NAME_MAX;
	if (blen > CAPS_NAME_MAX)
		blen = CAPS_NAME_MAX;
	for (size_t j = 0; j <= blen; j++)
		row[j] = (unsigned)j;
	for (size_t i = 1; i <= alen; i++) {
		unsigned diag = row[0];

		row[0] = (unsigned)i;
		for (size_t j = 1; j <= blen; j++) {
			unsigned up = row[j];
			unsigned best = diag + (fold(a[i - 1]) != fold(b[j - 1]));

			if (up + 1 < best)
				best = up + 1;
			if (row[j - 1] + 1 < best)
				best = row[j - 1] + 1;
			diag = up;
			row[j] = best;
		}
	}
	return row[blen];
}

struct suggest_ctx {
	const char *name;
	size_t len;
	unsigned best[CAPS_NR_FEATURES];
};

static void suggest_spelling(const char *s, size_t len, size_t i, void *data)
{
	struct suggest_ctx *ctx = data;
	unsigned d = name_distance(ctx->name, ctx->len, s, len);

	if (d < ctx->best[i])
		ctx->best[i] = d;
}

size_t caps_feature_suggest(const char *name, const char **ret, size_t n)
{
	struct suggest_ctx *ctx;
	unsigned limit;
	size_t found = 0;

	if (!name || !ret || n == 0)
		return 0;
	ctx = calloc(1, sizeof(*ctx));
	if (!ctx)
		return 0;
	ctx->name = name;
	ctx->len = strnlen(name, CAPS_NAME_MAX + 1);
	for (size_t i = 0; i < CAPS_NR_FEATURES; i++) {
		ctx->best[i] = UINT32_MAX;
		for_each_spelling(i, suggest_spelling, ctx);
	}

	/* Close enough to be a typo: a third of the name, at least 2 edits. */
	limit = (unsigned)(ctx->len / 3);
	if (limit < 2)
		limit = 2;
	for (unsigned d = 0; d <= limit && found < n; d++)
		for (size_t i = 0; i < CAPS_NR_FEATURES && found < n; i++)
			if (ctx->best[i] == d)
				ret[found++] = caps_features[i].name;
	free(ctx);
	return found;
}
