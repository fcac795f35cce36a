/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * CPUID entry sets, feature-MSR sets and CPU dumps.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <libcaps/caps.h>

/* KVM_MAX_CPUID_ENTRIES: what KVM accepts per vCPU, and our per-CPU limit. */
#define CAPS_CPUID_MAX_ENTRIES 256

/* Feature MSRs a dump may carry; libvirt's dumps carry at most a dozen. */
#define CAPS_MSR_MAX 64

/* struct kvm_cpuid_entry2 flags. */
#define CAPS_CPUID_FLAG_SIGNIFICANT_INDEX	(1u << 0)
#define CAPS_CPUID_FLAG_STATEFUL_FUNC		(1u << 1)
#define CAPS_CPUID_FLAG_STATE_READ_NEXT		(1u << 2)
#define CAPS_CPUID_FLAGS_ALL			0x7u

struct caps_cpuid_entry {
	uint32_t function;
	uint32_t index;
	uint32_t flags;
	uint32_t eax;
	uint32_t ebx;
	uint32_t ecx;
	uint32_t edx;
};

struct caps_cpuid {
	size_t nent;
	struct caps_cpuid_entry entries[CAPS_CPUID_MAX_ENTRIES];
};

struct caps_msr {
	uint32_t index;
	uint64_t value;
};

struct caps_msrs {
	size_t n;
	struct caps_msr msrs[CAPS_MSR_MAX];
};

/*
 * True for the functions whose sub-leaves KVM distinguishes (it marks
 * their entries KVM_CPUID_FLAG_SIGNIFCANT_INDEX): 4, 7, 0xB, 0xD, 0xF,
 * 0x10, 0x12, 0x14, 0x17, 0x18, 0x1D, 0x1E, 0x1F, 0x24, 0x8000_001D.
 */
bool caps_cpuid_function_is_indexed(uint32_t function);

/*
 * The vendor range a function belongs to: 0, 0x2000_0000 (Xeon Phi),
 * 0x4000_0000 + n * 0x100 (hypervisor classes, n < 256), 0x8000_0000,
 * 0x8086_0000 (Transmeta) or 0xC000_0000 (Centaur).  -ERANGE when it lies
 * outside the first 256 functions of each: no CPU defines leaves there,
 * so a dump that names one is corrupt.
 */
int caps_cpuid_function_range(uint32_t function, uint32_t *ret_base);

uint32_t caps_cpuid_entry_reg(const struct caps_cpuid_entry *e, enum caps_reg reg);
void caps_cpuid_entry_set_reg(struct caps_cpuid_entry *e, enum caps_reg reg, uint32_t value);

void caps_cpuid_init(struct caps_cpuid *c);

/*
 * Append an entry.  -E2BIG when the set is full; -EEXIST when an entry
 * with the same (function, index) exists; -EINVAL for unknown flags.
 */
int caps_cpuid_add(struct caps_cpuid *c, const struct caps_cpuid_entry *e);

/*
 * KVM's lookup rule (cpuid_entry2_find): the first entry whose function
 * matches and that either lacks SIGNIFICANT_INDEX or has the requested
 * index.  CAPS_CPUID_INDEX_ANY matches any entry of the function.
 */
#define CAPS_CPUID_INDEX_ANY UINT32_MAX
const struct caps_cpuid_entry *caps_cpuid_find(const struct caps_cpuid *c,
					       uint32_t function, uint32_t index);

/*
 * Set SIGNIFICANT_INDEX on the entries of indexed functions, and on every
 * entry of a function that appears with more than one index.  Raw dumps
 * carry no flags; this makes the lookup rule find their sub-leaves.
 */
void caps_cpuid_mark_indexed(struct caps_cpuid *c);

/* Byte-for-byte equality, order included. */
bool caps_cpuid_equal(const struct caps_cpuid *a, const struct caps_cpuid *b);

void caps_msrs_init(struct caps_msrs *m);
/* -E2BIG when full, -EEXIST for a duplicate index. */
int caps_msrs_add(struct caps_msrs *m, uint32_t index, uint64_t value);
/* 0 and *ret_value, or -ENOENT. */
int caps_msrs_get(const struct caps_msrs *m, uint32_t index, uint64_t *ret_value);

/* One CPU's raw CPUID and feature MSRs, as read from a dump or the CPU. */
struct caps_dump {
	struct caps_cpuid cpuid;
	struct caps_msrs msrs;
	char comment[128];	/* libvirt's model comment, if any */
};

void caps_dump_init(struct caps_dump *d);

/*
 * Fill ret with the feature words of a CPUID set and feature MSRs (in
 * dump form, see caps_msr_to_feature_form()); absent leaves give 0.
 * msrs may be NULL.
 */
void caps_from_cpuid(struct caps *ret, const struct caps_cpuid *c, const struct caps_msrs *msrs);

/* The same for a dump. */
void caps_from_dump(struct caps *ret, const struct caps_dump *d);

/* Identification decoded from leaves 0, 1 and 0x8000_0002..4. */
struct caps_cpu_id {
	char vendor[13];
	char brand[49];		/* empty if the dump lacks the brand leaves */
	uint32_t signature;	/* CPUID.1.EAX & 0x0fff3fff */
	unsigned family;
	unsigned model;
	unsigned stepping;
};

/* -ENOENT when leaf 0 or leaf 1 is missing. */
int caps_cpu_id_decode(const struct caps_dump *d, struct caps_cpu_id *ret);

/* A set bit of a catalog word that the catalog does not name. */
struct caps_unknown_bit {
	enum caps_word word;
	uint8_t bit;
};

/*
 * Bits that are set in the dump's feature words but unnamed, leaving out
 * the words' numeric fields (caps_word_info()->field_mask).  Writes at
 * most n, word by word, and returns the total count.
 */
size_t caps_unknown_bits(const struct caps_dump *d, struct caps_unknown_bit *ret, size_t n);
