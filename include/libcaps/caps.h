/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * The x86 feature catalog and capability bitmaps.
 *
 * A feature is identified by word * 32 + bit, as in KVM: the word is one
 * 32-bit CPUID register (or one half of a feature MSR) from words-*.def,
 * the bit is the architectural bit number in it.  One data table
 * (features-*.def) produces the X86_FEATURE_* enum, the name lookup and
 * the reverse map from bit to name.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum caps_reg {
	CAPS_REG_EAX,
	CAPS_REG_EBX,
	CAPS_REG_ECX,
	CAPS_REG_EDX,
};

enum caps_word_kind {
	CAPS_WORD_KERNEL,	/* a Linux cpufeatures.h word */
	CAPS_WORD_KVM_ONLY,	/* a word only KVM tracks */
	CAPS_WORD_EXTRA,	/* a CPUID register KVM does not track */
	CAPS_WORD_MSR,		/* one 32-bit half of a feature MSR */
};

enum caps_word {
#define CAPS_CPUID_WORD(id, kind, fn, idx, reg, kword, fields) id,
#define CAPS_MSR_WORD(id, msr, half, fields) id,
#include <libcaps/words-cpuid.def>
#include <libcaps/words-msr.def>
#undef CAPS_CPUID_WORD
#undef CAPS_MSR_WORD
	NR_CAPS_WORDS
};

struct caps_word_info {
	const char *name;		/* "CPUID_7_0_EBX" */
	enum caps_word_kind kind;
	uint32_t function;		/* CPUID words */
	uint32_t index;
	enum caps_reg reg;
	int kernel_word;		/* -1 unless kind == CAPS_WORD_KERNEL */
	uint32_t msr;			/* MSR words */
	bool msr_high;			/* bits 63:32 rather than 31:0 */
	uint32_t field_mask;		/* bits holding numbers, not flags */
};

/* Per-feature flags. */
#define CAPS_FF_PROC	(1u << 0)	/* name is a /proc/cpuinfo flag for this bit */

enum x86_feature {
#define CAPS_FEATURE(id, word, bit, name, qemu, aliases, flags) \
	X86_FEATURE_##id = (word) * 32 + (bit),
#include <libcaps/features-basic.def>
#include <libcaps/features-ext.def>
#include <libcaps/features-msr.def>
#undef CAPS_FEATURE
};

#define CAPS_NR_FEATURE_IDS (NR_CAPS_WORDS * 32)

struct caps_feature_info {
	const char *name;	/* canonical (Linux) name */
	const char *qemu;	/* libvirt/QEMU spelling, NULL if none */
	const char *aliases;	/* further spellings, space separated, or NULL */
	uint16_t id;		/* word * 32 + bit */
	uint8_t word;		/* enum caps_word */
	uint8_t bit;
	uint16_t flags;		/* CAPS_FF_* */
};

enum caps_names {
	CAPS_NAMES_LINUX,	/* canonical names */
	CAPS_NAMES_QEMU,	/* libvirt/QEMU spelling where one exists */
};

static inline int caps_feature_word(int feature) { return feature / 32; }
static inline int caps_feature_bit(int feature) { return feature % 32; }
static inline uint32_t caps_feature_mask(int feature) { return UINT32_C(1) << (feature % 32); }

/* Word table. */
const struct caps_word_info *caps_word_info(enum caps_word word);
/*
 * FNV-1a (32 bit) over the names of the first n words, each with its NUL:
 * which word a feature id's word number means (the control plane's
 * cap_words_hash).  0 for n > NR_CAPS_WORDS.
 */
uint32_t caps_word_names_hash(size_t n);
/* The word that holds CPUID (function, index, reg), or -ENOENT. */
int caps_word_find_cpuid(uint32_t function, uint32_t index, enum caps_reg reg);
const char *caps_reg_name(enum caps_reg reg);	/* "eax" ... */

/* Feature table, in declaration order. */
size_t caps_feature_count(void);
const struct caps_feature_info *caps_feature_at(size_t i);
/* The named feature at word * 32 + bit, or NULL for an unnamed bit. */
const struct caps_feature_info *caps_feature_info(int feature);
/* The name of a feature in the requested spelling, or NULL if unnamed. */
const char *caps_feature_name(int feature, enum caps_names style);

/*
 * Look a feature up by its canonical name or any alias: case-insensitive,
 * with '-', '_' and '.' interchangeable.  Returns the feature id, -ENOENT
 * for an unknown name, -EINVAL for NULL or an over-long name.
 */
int caps_feature_lookup(const char *name);

/*
 * The known names nearest to an unknown one (edit distance), best first.
 * Writes at most n canonical names to ret and returns how many.
 */
size_t caps_feature_suggest(const char *name, const char **ret, size_t n);

/* Capability bitmaps: one bit per feature id. */
struct caps {
	uint32_t words[NR_CAPS_WORDS];
};

void caps_zero(struct caps *c);
bool caps_has(const struct caps *c, int feature);
void caps_set(struct caps *c, int feature);
void caps_clear(struct caps *c, int feature);
void caps_change(struct caps *c, int feature, bool on);

void caps_or(struct caps *dst, const struct caps *a, const struct caps *b);
void caps_and(struct caps *dst, const struct caps *a, const struct caps *b);
void caps_andnot(struct caps *dst, const struct caps *a, const struct caps *b);
bool caps_equal(const struct caps *a, const struct caps *b);
bool caps_is_subset(const struct caps *sub, const struct caps *super);
bool caps_is_empty(const struct caps *c);
unsigned caps_weight(const struct caps *c);

/* The first set feature id >= from, or -1. */
int caps_next(const struct caps *c, int from);

#define caps_for_each(f, c) \
	for (int f = caps_next((c), 0); f >= 0; f = caps_next((c), f + 1))
