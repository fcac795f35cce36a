/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * SNP-safe control pages (KVM-SEMANTICS.md §5 rules 1-6).
 *
 * On a host with SEV-SNP initialised, hardware marks the RMP entry of a
 * page it uses as a VMCB, VMSA or AVIC backing page "in use", and a 2 MiB
 * (or 1 GiB) RMP entry that collides with a 2 MiB-aligned in-use page
 * makes the CPU raise spurious RMP-violation #PFs.  KVM therefore never
 * hands hardware a 2 MiB-aligned page: it takes an order-1 block and
 * keeps the half that is not aligned.  The arena is a page allocator
 * over pfns [0, npages) that models that allocation exactly, with
 * counters for leak checks.
 */

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "vm-internal.h"

/* A 2 MiB page holds 512 pfns of 4 KiB. */
#define PFNS_PER_2M	512u

/* 52-bit physical addresses hold 2^40 pfns of 4 KiB; no arena is larger. */
#define HV_PAGE_ARENA_MAX_PAGES	(1ull << 40)

/* Two adjacent pfns that both start free, at every even position of a word. */
#define EVEN_BITS	0x5555555555555555ull

struct hv_page_arena {
	uint64_t npages;
	uint64_t *used;		/* one bit per pfn, set while handed out */
	uint64_t nwords;
	uint64_t allocated;	/* pages taken from the free pool */
	uint64_t freed;		/* pages given back */
	uint64_t first_free;	/* every pfn below it is in use */
	/* The owner's hook for a full shared arena (hv_page_arena_set_grow()). */
	int (*grow)(void *data, uint64_t npages);
	void *grow_data;
};

static uint64_t words_for(uint64_t npages)
{
	return (npages + 63) / 64;
}

int hv_page_arena_new(uint64_t npages, struct hv_page_arena **ret)
{
	struct hv_page_arena *a;

	if (!ret)
		return -EINVAL;
	if (npages > HV_PAGE_ARENA_MAX_PAGES)
		return -E2BIG;
	a = calloc(1, sizeof(*a));
	if (!a)
		return -ENOMEM;
	a->nwords = words_for(npages);
	if (a->nwords) {
		a->used = calloc(a->nwords, sizeof(*a->used));
		if (!a->used) {
			free(a);
			return -ENOMEM;
		}
	}
	a->npages = npages;
	*ret = a;
	return 0;
}

void hv_page_arena_free(struct hv_page_arena *a)
{
	if (!a)
		return;
	free(a->used);
	free(a);
}

int hv_page_arena_grow(struct hv_page_arena *a, uint64_t npages)
{
	uint64_t nwords;
	uint64_t *used;

	if (!a || npages < a->npages)
		return -EINVAL;
	if (npages > HV_PAGE_ARENA_MAX_PAGES)
		return -E2BIG;
	nwords = words_for(npages);
	if (nwords > a->nwords) {
		used = realloc(a->used, nwords * sizeof(*used));
		if (!used)
			return -ENOMEM;
		memset(used + a->nwords, 0, (nwords - a->nwords) * sizeof(*used));
		a->used = used;
		a->nwords = nwords;
	}
	/* Bits past the old end were never set: the new pages are free. */
	a->npages = npages;
	return 0;
}

uint64_t hv_page_arena_npages(const struct hv_page_arena *a)
{
	return a->npages;
}

void hv_page_arena_set_grow(struct hv_page_arena *a, int (*grow)(void *data, uint64_t npages), void *data)
{
	if (!a)
		return;
	a->grow = grow;
	a->grow_data = grow ? data : NULL;
}

int hv_page_arena_grow_by_hook(struct hv_page_arena *a)
{
	/*
	 * One order-1 block past the end fits any allocation: it starts at
	 * an even pfn, so round the end up to one first.
	 */
	uint64_t want = ((a->npages + 1) & ~1ull) + 2;
	int r;

	if (!a->grow || want > HV_PAGE_ARENA_MAX_PAGES)
		return -ENOMEM;
	r = a->grow(a->grow_data, want);
	if (r < 0)
		return r;
	/* A hook that did not grow the arena must not make the caller loop. */
	return a->npages >= want ? 0 : -ENOMEM;
}

uint64_t hv_page_arena_allocated(const struct hv_page_arena *a)
{
	return a->allocated;
}

uint64_t hv_page_arena_freed(const struct hv_page_arena *a)
{
	return a->freed;
}

uint64_t hv_page_arena_in_use(const struct hv_page_arena *a)
{
	return a->allocated - a->freed;
}

static bool pfn_is_used(const struct hv_page_arena *a, uint64_t pfn)
{
	return a->used[pfn / 64] & (1ull << (pfn % 64));
}

static void pfn_set_used(struct hv_page_arena *a, uint64_t pfn, bool used)
{
	if (used)
		a->used[pfn / 64] |= 1ull << (pfn % 64);
	else
		a->used[pfn / 64] &= ~(1ull << (pfn % 64));
}

/* The free pfns of word w, leaving out those past the end of the arena. */
static uint64_t word_free(const struct hv_page_arena *a, uint64_t w)
{
	uint64_t free_bits = ~a->used[w];
	uint64_t end = a->npages - w * 64;

	if (end < 64)
		free_bits &= (1ull << end) - 1;
	return free_bits;
}

/* The first free pfn >= from, or npages. */
static uint64_t next_free(const struct hv_page_arena *a, uint64_t from)
{
	for (uint64_t w = from / 64; w < a->nwords; w++) {
		uint64_t free_bits = word_free(a, w);

		if (w == from / 64)
			free_bits &= ~0ull << (from % 64);
		if (free_bits)
			return w * 64 + (uint64_t)__builtin_ctzll(free_bits);
	}
	return a->npages;
}

/* The first free order-1 block (an even pfn and its odd neighbour), or npages. */
static uint64_t next_free_pair(const struct hv_page_arena *a)
{
	for (uint64_t w = a->first_free / 64; w < a->nwords; w++) {
		uint64_t free_bits = word_free(a, w);
		uint64_t pairs = free_bits & (free_bits >> 1) & EVEN_BITS;

		if (pairs)
			return w * 64 + (uint64_t)__builtin_ctzll(pairs);
	}
	return a->npages;
}

static void take(struct hv_page_arena *a, uint64_t pfn)
{
	pfn_set_used(a, pfn, true);
	a->allocated++;
}

static void give_back(struct hv_page_arena *a, uint64_t pfn)
{
	pfn_set_used(a, pfn, false);
	a->freed++;
	if (pfn < a->first_free)
		a->first_free = pfn;
}

/* Models KVM's snp_safe_alloc_page_node(); without SNP, a plain alloc_page(). */
int hv_snp_safe_alloc_page(struct hv_page_arena *a, bool snp, uint64_t *ret_pfn)
{
	uint64_t pfn, keep;

	if (!a || !ret_pfn)
		return -EINVAL;
	if (!snp) {
		pfn = next_free(a, a->first_free);
		if (pfn >= a->npages)
			return -ENOMEM;
		take(a, pfn);
		a->first_free = next_free(a, pfn);
		*ret_pfn = pfn;
		return 0;
	}

	/*
	 * An order-1 block is 8 KiB aligned, so at most one of its two pages
	 * is 2 MiB aligned: keep the other one and free the aligned one (or,
	 * when neither is aligned, the second).
	 */
	pfn = next_free_pair(a);
	if (pfn >= a->npages)
		return -ENOMEM;
	take(a, pfn);
	take(a, pfn + 1);
	if (pfn % PFNS_PER_2M == 0) {
		give_back(a, pfn);
		keep = pfn + 1;
	} else {
		give_back(a, pfn + 1);
		keep = pfn;
	}
	a->first_free = next_free(a, a->first_free);
	*ret_pfn = keep;
	return 0;
}

void hv_page_arena_free_page(struct hv_page_arena *a, uint64_t pfn)
{
	/* A pfn that is not handed out is not ours to count: ignore it. */
	if (!a || pfn >= a->npages || !pfn_is_used(a, pfn))
		return;
	give_back(a, pfn);
}
