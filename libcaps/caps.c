/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Capability bitmaps: one bit per feature id (word * 32 + bit). */

#include <assert.h>
#include <string.h>

#include <libcaps/caps.h>

static inline bool feature_is_valid(int feature)
{
	return feature >= 0 && feature < CAPS_NR_FEATURE_IDS;
}

void caps_zero(struct caps *c)
{
	memset(c, 0, sizeof(*c));
}

bool caps_has(const struct caps *c, int feature)
{
	if (!feature_is_valid(feature))
		return false;
	return c->words[caps_feature_word(feature)] & caps_feature_mask(feature);
}

void caps_set(struct caps *c, int feature)
{
	assert(feature_is_valid(feature));
	c->words[caps_feature_word(feature)] |= caps_feature_mask(feature);
}

void caps_clear(struct caps *c, int feature)
{
	assert(feature_is_valid(feature));
	c->words[caps_feature_word(feature)] &= ~caps_feature_mask(feature);
}

void caps_change(struct caps *c, int feature, bool on)
{
	if (on)
		caps_set(c, feature);
	else
		caps_clear(c, feature);
}

void caps_or(struct caps *dst, const struct caps *a, const struct caps *b)
{
	for (int w = 0; w < NR_CAPS_WORDS; w++)
		dst->words[w] = a->words[w] | b->words[w];
}

void caps_and(struct caps *dst, const struct caps *a, const struct caps *b)
{
	for (int w = 0; w < NR_CAPS_WORDS; w++)
		dst->words[w] = a->words[w] & b->words[w];
}

void caps_andnot(struct caps *dst, const struct caps *a, const struct caps *b)
{
	for (int w = 0; w < NR_CAPS_WORDS; w++)
		dst->words[w] = a->words[w] & ~b->words[w];
}

bool caps_equal(const struct caps *a, const struct caps *b)
{
	return memcmp(a->words, b->words, sizeof(a->words)) == 0;
}

bool caps_is_subset(const struct caps *sub, const struct caps *super)
{
	for (int w = 0; w < NR_CAPS_WORDS; w++)
		if (sub->words[w] & ~super->words[w])
			return false;
	return true;
}

bool caps_is_empty(const struct caps *c)
{
	for (int w = 0; w < NR_CAPS_WORDS; w++)
		if (c->words[w])
			return false;
	return true;
}

unsigned caps_weight(const struct caps *c)
{
	unsigned n = 0;

	for (int w = 0; w < NR_CAPS_WORDS; w++)
		n += (unsigned)__builtin_popcount(c->words[w]);
	return n;
}

int caps_next(const struct caps *c, int from)
{
	if (from < 0)
		from = 0;
	for (int w = from / 32; w < NR_CAPS_WORDS; w++) {
		uint32_t bits = c->words[w];

		if (w == from / 32)
			bits &= ~UINT32_C(0) << (from % 32);
		if (bits)
			return w * 32 + __builtin_ctz(bits);
	}
	return -1;
}
