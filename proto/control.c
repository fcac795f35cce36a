/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The control-plane reader (hvcap/hvcap.h): maps the file hvcapd publishes
 * read-only and answers from stable, validated copies of its records
 * (hvcap/control.h, docs/CONTROL-PLANE.md).
 *
 * Trust.  Whoever can write the file (hvcapd, or anyone with its uid) may
 * change any byte at any time, so every value read from the mapping is
 * either only compared (a seq, the generation, a peeked id) or copied
 * under the record's seqlock and validated before it is used; no value
 * from the mapping ever sizes an access or indexes the mapping until the
 * copy that holds it has passed validation.  The header's fixed part is
 * copied and validated once, at open, and never read again.
 *
 * Records that depend on each other (the VM slot, its chain of control
 * pages, the header's page count) cannot be read at one instant: a lookup
 * reads them one after the other and checks how they fit together.  When
 * they do not fit it reads them all again; if every record read had the
 * same seq both times, the records held those values together in between,
 * so the file itself is inconsistent: -EBADMSG.  If anything changed,
 * hvcapd was writing, and the lookup tries again (CTL_LOOKUP_ATTEMPTS).
 */

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <hvcap/hvcap.h>
#include <libcaps/caps.h>

/*
 * How often a reader looks at an odd seq before it gives up with -EAGAIN:
 * hvcapd writes a record in well under a microsecond, and one pause is
 * about 10-140 cycles, so this waits out a writer that was preempted in
 * the middle of a record for some 0.1-1 ms, not longer.
 */
#define CTL_SEQ_SPINS		10000u
/* Lookups read again while hvcapd keeps changing what they read. */
#define CTL_LOOKUP_ATTEMPTS	64u
/* vCPUs whose control page a handle remembers: direct mapped, a power of two. */
#define CTL_CACHE_SIZE		256u

#define CTL_PAGE		((uint64_t)HVCAP_CTL_PAGE_SIZE)

/* A lookup's records did not fit together (internal; never returned). */
#define CTL_INCONSISTENT	1

#define CTL_HOST_FLAGS	(HVCAP_CTL_HOST_SNP | HVCAP_CTL_HOST_HYBRID_AVIC)
#define CTL_VM_FLAGS	(HVCAP_CTL_VM_USED | HVCAP_CTL_VM_HYBRID_AVIC | HVCAP_CTL_VM_SNP)
#define CTL_VCPU_FLAGS	(HVCAP_CTL_VCPU_USED | HVCAP_CTL_VCPU_CPUID_FROZEN | HVCAP_CTL_VCPU_GUEST_MODE | \
			 HVCAP_CTL_VCPU_RAP_DIRTY | HVCAP_CTL_VCPU_APICV_ACTIVE)
#define CTL_ERAP_BITS	(HVCAP_CTL_ERAP_ALLOW_LARGER_RAP | HVCAP_CTL_ERAP_CLEAR_RAP)
/* KVM_MAX_CPUID_ENTRIES */
#define CTL_MAX_CPUID_ENTRIES	256u

struct ctl_cache_entry {
	const struct hvcap_ctl_vcpu *page;	/* in the current mapping; NULL: empty */
	uint64_t pfn;				/* its page number */
	uint32_t vm_id;
	uint32_t vcpu_id;
	uint32_t seq;				/* of the copy that was validated */
};

struct hvcap_control {
	int fd;
	/*
	 * An mmap() base, so page aligned; records are read only at offsets
	 * that ctl_check_fixed() found page (control_base: 2 MiB) aligned,
	 * plus multiples of their own size, hence the (const void *) casts.
	 */
	const unsigned char *map;
	size_t map_size;
	uint64_t generation;		/* the header's when the file was mapped */

	/* The header's fixed part: validated at open, never read again. */
	uint64_t host_offset;
	uint64_t vm_table_offset;
	uint64_t control_base;
	uint32_t vm_table_capacity;
	uint32_t n_cap_words;
	uint32_t n_features;		/* n_cap_words * 32 */
	/*
	 * The file's minor version is not newer than ours: bits and values
	 * we do not know are corruption.  A newer minor may add them (a
	 * compatible addition), and they are passed on as they are.
	 */
	bool strict;

	uint32_t vm_hint;		/* the slot the last VM lookup found */
	bool header_checked;
	uint32_t header_seq;		/* of the last header copy whose check matched */
	bool host_cached;
	uint32_t host_seq;
	struct hvcap_control_stats stats;
	struct ctl_cache_entry cache[CTL_CACHE_SIZE];
	struct hvcap_ctl_host host;	/* a validated copy, at host_seq */
};

static inline void cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
	__builtin_ia32_pause();
#endif
}

static inline uint64_t fp_mix(uint64_t fp, uint64_t v)
{
	/* FNV-1a over 64-bit values: only compared, never stored. */
	return (fp ^ v) * UINT64_C(0x100000001b3);
}

static bool str_is_terminated(const char *s, size_t max)
{
	return memchr(s, '\0', max) != NULL;
}

/* ---- the seqlock --------------------------------------------------- */

/*
 * Copy len bytes at src, guarded by *seqp, into dst: control.h's reader
 * side.  The copy may race with hvcapd's writes (as in KVM's pvclock and
 * every seqlock reader); the seq check throws such a copy away.
 */
static int ctl_copy(struct hvcap_control *cp, const uint32_t *seqp, void *dst, const void *src,
		    size_t len, uint32_t *ret_seq)
{
	for (unsigned i = 0; i < CTL_SEQ_SPINS; i++) {
		uint32_t s1 = __atomic_load_n(seqp, __ATOMIC_ACQUIRE);

		if (!(s1 & 1)) {
			memcpy(dst, src, len);
			__atomic_thread_fence(__ATOMIC_ACQUIRE);
			if (__atomic_load_n(seqp, __ATOMIC_RELAXED) == s1) {
				cp->stats.reads++;
				*ret_seq = s1;
				return 0;
			}
		}
		cp->stats.retries++;
		cpu_relax();
	}
	return -EAGAIN;
}

/* ---- mapping and the header ---------------------------------------- */

static void ctl_cache_flush(struct hvcap_control *cp)
{
	memset(cp->cache, 0, sizeof(cp->cache));
}

/* Map the file as the header copy h describes it (file_size already checked against the layout). */
static int ctl_map(struct hvcap_control *cp, const struct hvcap_ctl_header *h)
{
	struct stat st;
	void *p;

	if (fstat(cp->fd, &st) < 0)
		return -errno;
	/* hvcapd extends the file before it publishes the size: never map past the real end. */
	if (st.st_size < 0 || h->file_size > (uint64_t)st.st_size)
		return -EBADMSG;
	if (h->file_size > SIZE_MAX)
		return -ENOMEM;
	p = mmap(NULL, (size_t)h->file_size, PROT_READ, MAP_SHARED, cp->fd, 0);
	if (p == MAP_FAILED)
		return -errno;
	munmap((void *)cp->map, cp->map_size);
	cp->map = p;
	cp->map_size = (size_t)h->file_size;
	cp->generation = h->generation;
	cp->stats.remaps++;
	/* The cache holds pointers into the old mapping. */
	ctl_cache_flush(cp);
	return 0;
}

/*
 * A stable, validated copy of the header's variable part (the fixed part
 * of *h stays zero), with the file mapped as it says.  -EAGAIN while
 * hvcapd builds the file or writes the header, -ESTALE once it stopped.
 */
static int ctl_read_header(struct hvcap_control *cp, struct hvcap_ctl_header *h)
{
	const struct hvcap_ctl_header *src = (const struct hvcap_ctl_header *)(const void *)cp->map;
	const size_t off = offsetof(struct hvcap_ctl_header, seq);
	uint32_t seq;
	int r;

	memset(h, 0, sizeof(*h));
	r = ctl_copy(cp, &src->seq, (char *)h + off, (const char *)src + off, sizeof(*h) - off, &seq);
	if (r < 0)
		return r;
	/* Nothing in a header that is still being built means anything yet, its check neither. */
	if (h->state == HVCAP_CTL_STATE_STARTING)
		return -EAGAIN;
	/* The same seq as a copy whose check matched: the same bytes (hvcapd changes seq with every write). */
	if (!(cp->header_checked && seq == cp->header_seq)) {
		if (h->check != hvcap_ctl_header_check(h))
			return -EBADMSG;
		cp->header_checked = true;
		cp->header_seq = seq;
	}
	if (h->state == HVCAP_CTL_STATE_STOPPED)
		return -ESTALE;
	if (h->state != HVCAP_CTL_STATE_RUNNING)
		return -EBADMSG;
	if (h->n_vms > cp->vm_table_capacity)
		return -EBADMSG;
	if (h->n_control_pages > (UINT64_MAX - cp->control_base) / CTL_PAGE - 1)
		return -EBADMSG;
	if (h->file_size < cp->control_base + h->n_control_pages * CTL_PAGE)
		return -EBADMSG;
	if (h->generation != cp->generation || h->file_size > cp->map_size) {
		r = ctl_map(cp, h);
		if (r < 0)
			return r;
	}
	return 0;
}

/* ---- records ------------------------------------------------------- */

static const struct hvcap_ctl_vm *ctl_vm_slot(const struct hvcap_control *cp, uint32_t slot)
{
	return (const struct hvcap_ctl_vm *)(const void *)(cp->map + cp->vm_table_offset +
							   (uint64_t)slot * sizeof(struct hvcap_ctl_vm));
}

/* Control page pfn, when the header copy h counts it (then it is mapped), else NULL. */
static const struct hvcap_ctl_vcpu *ctl_page(const struct hvcap_control *cp,
					     const struct hvcap_ctl_header *h, uint64_t pfn)
{
	uint64_t off;

	if (pfn >= h->n_control_pages)
		return NULL;
	off = cp->control_base + pfn * CTL_PAGE;
	if (off > cp->map_size || cp->map_size - off < CTL_PAGE)
		return NULL;
	return (const struct hvcap_ctl_vcpu *)(const void *)(cp->map + off);
}

/*
 * A stable copy of VM slot `slot`: 0 and a validated copy for a VM, -ENOENT
 * for an unused slot, -EBADMSG, -EAGAIN.  control.h: a record whose seq is
 * 0 was never written (all zero, no valid check); any other has a valid
 * check, and USED says whether it holds a VM.
 */
static int ctl_read_vm(struct hvcap_control *cp, uint32_t slot, struct hvcap_ctl_vm *v, uint32_t *ret_seq)
{
	const struct hvcap_ctl_vm *src = ctl_vm_slot(cp, slot);
	int r;

	r = ctl_copy(cp, &src->seq, v, src, sizeof(*v), ret_seq);
	if (r < 0)
		return r;
	if (*ret_seq == 0)
		return v->flags & HVCAP_CTL_VM_USED ? -EBADMSG : -ENOENT;
	if (v->check != hvcap_ctl_vm_check(v))
		return -EBADMSG;
	if (!(v->flags & HVCAP_CTL_VM_USED))
		return -ENOENT;
	if (cp->strict && ((v->flags & ~CTL_VM_FLAGS) ||
			   v->apic_access_memslot > HVCAP_CTL_MEMSLOT_INHIBITED))
		return -EBADMSG;
	if (!str_is_terminated(v->name, HVCAP_CTL_NAME_MAX + 1) ||
	    !str_is_terminated(v->policy_name, HVCAP_CTL_NAME_MAX + 1))
		return -EBADMSG;
	return 0;
}

/*
 * A stable copy of control page pfn (its erap_ctl and hvcap's record):
 * 0 and a validated copy for a vCPU, -ENOENT for a page that holds none
 * (unused as ctl_read_vm() says, or another use of the arena's),
 * -ERANGE for a page the header copy h does not count, -EBADMSG, -EAGAIN.
 * A copy at checked_seq, the seq of a copy whose check matched, has the
 * same bytes: its check is not computed again.
 */
static int ctl_read_page_checked(struct hvcap_control *cp, const struct hvcap_ctl_header *h, uint64_t pfn,
				 struct hvcap_ctl_vcpu *v, uint32_t *ret_seq, const uint32_t *checked_seq)
{
	const struct hvcap_ctl_vcpu *src = ctl_page(cp, h, pfn);
	const size_t start = offsetof(struct hvcap_ctl_vcpu, erap_ctl);
	const size_t end = offsetof(struct hvcap_ctl_vcpu, cpu_caps) + sizeof(src->cpu_caps);
	int r;

	if (!src)
		return -ERANGE;
	r = ctl_copy(cp, &src->seq, (char *)v + start, (const char *)src + start, end - start, ret_seq);
	if (r < 0)
		return r;
	if (*ret_seq == 0)
		return v->flags & HVCAP_CTL_VCPU_USED ? -EBADMSG : -ENOENT;
	if (!(checked_seq && *checked_seq == *ret_seq) && v->check != hvcap_ctl_vcpu_check(v))
		return -EBADMSG;
	if (!(v->flags & HVCAP_CTL_VCPU_USED))
		return -ENOENT;
	if (cp->strict && ((v->flags & ~CTL_VCPU_FLAGS) || v->apic_mode > HVCAP_CTL_APIC_X2APIC ||
			   (v->erap_ctl & ~CTL_ERAP_BITS) || (v->vmcb02_erap_ctl & ~CTL_ERAP_BITS)))
		return -EBADMSG;
	if (v->n_cpuid_entries > CTL_MAX_CPUID_ENTRIES)
		return -EBADMSG;
	return 0;
}

static int ctl_read_page(struct hvcap_control *cp, const struct hvcap_ctl_header *h, uint64_t pfn,
			 struct hvcap_ctl_vcpu *v, uint32_t *ret_seq)
{
	return ctl_read_page_checked(cp, h, pfn, v, ret_seq, NULL);
}

/* The host record, validated, in cp->host (kept while its seq does not change). */
static int ctl_read_host(struct hvcap_control *cp)
{
	const struct hvcap_ctl_host *src = (const struct hvcap_ctl_host *)(const void *)(cp->map + cp->host_offset);
	struct hvcap_ctl_host *h = &cp->host;
	uint32_t seq;
	int r;

	if (cp->host_cached && __atomic_load_n(&src->seq, __ATOMIC_ACQUIRE) == cp->host_seq)
		return 0;
	cp->host_cached = false;
	r = ctl_copy(cp, &src->seq, h, src, sizeof(*h), &seq);
	if (r < 0)
		return r;
	if (h->check != hvcap_ctl_host_check(h))
		return -EBADMSG;
	if (h->n_params > HVCAP_CTL_MAX_PARAMS)
		return -EBADMSG;
	if (cp->strict && ((h->flags & ~CTL_HOST_FLAGS) ||
			   (h->backend != HVCAP_CTL_BACKEND_KVM && h->backend != HVCAP_CTL_BACKEND_MODEL)))
		return -EBADMSG;
	if (!str_is_terminated(h->fingerprint, HVCAP_CTL_FINGERPRINT_MAX + 1) ||
	    !str_is_terminated(h->kernel_release, sizeof(h->kernel_release)) ||
	    !str_is_terminated(h->vendor_module, sizeof(h->vendor_module)))
		return -EBADMSG;
	for (uint32_t i = 0; i < h->n_params; i++) {
		const struct hvcap_ctl_param *p = &h->params[i];

		if (!str_is_terminated(p->module, sizeof(p->module)) ||
		    !str_is_terminated(p->name, sizeof(p->name)) ||
		    !str_is_terminated(p->value, sizeof(p->value)))
			return -EBADMSG;
	}
	cp->host_seq = seq;
	cp->host_cached = true;
	return 0;
}

/* ---- lookups ------------------------------------------------------- */

/*
 * The slot of VM vm_id and a validated copy of it, or -ENOENT.  Slots are
 * first told apart by a peek at their vm_id, which is only compared: the
 * copy of the slot that matches is what counts.
 */
static int ctl_find_vm(struct hvcap_control *cp, uint32_t vm_id, struct hvcap_ctl_vm *v,
		       uint32_t *ret_slot, uint32_t *ret_seq)
{
	uint32_t n = cp->vm_table_capacity;

	for (uint32_t i = 0; i < n; i++) {
		uint32_t slot = cp->vm_hint + i < n ? cp->vm_hint + i : cp->vm_hint + i - n;
		const struct hvcap_ctl_vm *src = ctl_vm_slot(cp, slot);
		int r;

		if (__atomic_load_n(&src->vm_id, __ATOMIC_RELAXED) != vm_id)
			continue;
		r = ctl_read_vm(cp, slot, v, ret_seq);
		if (r == -ENOENT)
			continue;
		if (r < 0)
			return r;
		if (v->vm_id != vm_id)
			continue;	/* hvcapd reused the slot while we looked */
		cp->vm_hint = slot;
		*ret_slot = slot;
		return 0;
	}
	return -ENOENT;
}

/* A walk along a VM's vCPUs: the whole list, or until one vCPU. */
struct ctl_walk {
	uint32_t vm_id;
	bool vm_only;			/* only the VM slot */
	bool find;			/* stop at vcpu_id */
	uint32_t vcpu_id;
	uint32_t *ids;			/* !find: the ids, at most max */
	size_t max;

	size_t n;			/* !find: vCPUs seen */
	struct hvcap_ctl_vm vm;
	uint64_t pfn;			/* find: where it is */
	uint32_t seq;
	const struct hvcap_ctl_vcpu *page;
	struct hvcap_ctl_vcpu copy;	/* find: a validated copy of its page */
};

/*
 * One pass.  The chain runs from the VM's first_vcpu_page through
 * next_page; hvcapd links a new vCPU's page before it counts it in
 * n_vcpus, so n_vcpus pages of this VM must be there, followed by the
 * end of the list or by one page of this VM that ends it (a vCPU being
 * added: not counted yet, not reported).  Anything else does not fit:
 * CTL_INCONSISTENT.  *fp collects the seq of every record read.
 */
static int ctl_walk_once(struct hvcap_control *cp, struct ctl_walk *w, uint64_t *fp)
{
	struct hvcap_ctl_header h;
	struct hvcap_ctl_vcpu *v = &w->copy;
	uint32_t slot, seq;
	uint64_t pfn;
	int r;

	r = ctl_read_header(cp, &h);
	if (r < 0)
		return r;
	*fp = fp_mix(*fp, h.seq);
	r = ctl_find_vm(cp, w->vm_id, &w->vm, &slot, &seq);
	if (r < 0)
		return r;
	*fp = fp_mix(fp_mix(*fp, slot), seq);
	if (w->vm.n_vcpus > h.n_control_pages)
		return CTL_INCONSISTENT;
	if (w->vm_only)
		return 0;

	w->n = 0;
	pfn = w->vm.first_vcpu_page;
	for (uint32_t i = 0; i < w->vm.n_vcpus; i++) {
		if (pfn == HVCAP_CTL_NO_PAGE)
			return CTL_INCONSISTENT;	/* fewer pages than vCPUs */
		r = ctl_read_page(cp, &h, pfn, v, &seq);
		*fp = fp_mix(fp_mix(*fp, pfn), seq);
		if (r == -EAGAIN)
			return r;
		if (r < 0 || v->vm_id != w->vm_id)
			return CTL_INCONSISTENT;
		if (w->find && v->vcpu_id == w->vcpu_id) {
			w->pfn = pfn;
			w->seq = seq;
			w->page = ctl_page(cp, &h, pfn);
			return 0;
		}
		if (!w->find && w->n < w->max)
			w->ids[w->n] = v->vcpu_id;
		w->n++;
		pfn = v->next_page;
	}
	if (pfn != HVCAP_CTL_NO_PAGE) {
		/* A vCPU being added, or a cycle (whose pages never end the list). */
		r = ctl_read_page(cp, &h, pfn, v, &seq);
		*fp = fp_mix(fp_mix(*fp, pfn), seq);
		if (r == -EAGAIN)
			return r;
		if (r < 0 || v->vm_id != w->vm_id || v->next_page != HVCAP_CTL_NO_PAGE)
			return CTL_INCONSISTENT;
	}
	return w->find ? -ENOENT : 0;
}

static int ctl_walk(struct hvcap_control *cp, struct ctl_walk *w)
{
	uint64_t prev = 0;

	for (unsigned attempt = 0; attempt < CTL_LOOKUP_ATTEMPTS; attempt++) {
		uint64_t fp = UINT64_C(0xcbf29ce484222325);
		int r = ctl_walk_once(cp, w, &fp);

		if (r != CTL_INCONSISTENT)
			return r;
		/* The same records, unchanged, and still they do not fit: the file is corrupt. */
		if (attempt > 0 && fp == prev)
			return -EBADMSG;
		prev = fp;
		cp->stats.retries++;
		cpu_relax();
	}
	return -EAGAIN;
}

static struct ctl_cache_entry *ctl_cache_slot(struct hvcap_control *cp, uint32_t vm_id, uint32_t vcpu_id)
{
	/* vCPU ids of one VM are consecutive: keep them in consecutive entries. */
	return &cp->cache[(vm_id * UINT32_C(0x9e3779b1) + vcpu_id) & (CTL_CACHE_SIZE - 1)];
}

/*
 * A validated copy of vCPU (vm_id, vcpu_id)'s control page: from the page
 * the cache remembers while it still holds that vCPU, else by a lookup,
 * which the cache then remembers.
 */
static int ctl_find_vcpu(struct hvcap_control *cp, uint32_t vm_id, uint32_t vcpu_id,
			 struct hvcap_ctl_vcpu *ret, uint64_t *ret_pfn)
{
	struct ctl_cache_entry *e = ctl_cache_slot(cp, vm_id, vcpu_id);
	struct ctl_walk w = { .vm_id = vm_id, .find = true, .vcpu_id = vcpu_id };
	struct hvcap_ctl_header h;
	int r;

	r = ctl_read_header(cp, &h);
	if (r < 0)
		return r;
	/* ctl_read_header() flushed the cache if it mapped the file again. */
	if (e->page && e->vm_id == vm_id && e->vcpu_id == vcpu_id) {
		uint32_t seq;

		r = ctl_read_page_checked(cp, &h, e->pfn, ret, &seq, &e->seq);
		if (r == -EAGAIN)
			return r;
		if (r == 0 && ret->vm_id == vm_id && ret->vcpu_id == vcpu_id) {
			e->seq = seq;
			*ret_pfn = e->pfn;
			return 0;
		}
		/* hvcapd freed the page, or gave it to another vCPU. */
		e->page = NULL;
	}

	r = ctl_walk(cp, &w);
	if (r < 0)
		return r;
	*e = (struct ctl_cache_entry) {
		.page = w.page, .pfn = w.pfn, .vm_id = vm_id, .vcpu_id = vcpu_id, .seq = w.seq,
	};
	memcpy(ret, &w.copy, sizeof(*ret));
	*ret_pfn = w.pfn;
	return 0;
}

/* ---- opening ------------------------------------------------------- */

int hvcap_control_path_resolve(const char *path, char *buf, size_t size)
{
	char user[PATH_MAX];
	const char *runtime;
	size_t len;

	if (!buf)
		return -EINVAL;
	if (!path || !path[0]) {
		path = getenv(HVCAP_CONTROL_ENV);
		if (path && !path[0])
			path = NULL;
	}
	if (!path) {
		runtime = getenv("XDG_RUNTIME_DIR");
		/* As proto_address_resolve(): root, and users without a runtime directory, use the system's. */
		if (geteuid() == 0 || !runtime || runtime[0] != '/') {
			path = HVCAP_CONTROL_SYSTEM;
		} else {
			if ((size_t)snprintf(user, sizeof(user), "%s/hvcap/control", runtime) >= sizeof(user))
				return -ENAMETOOLONG;
			path = user;
		}
	}
	len = strlen(path);
	if (len >= size)
		return -ENOBUFS;
	memcpy(buf, path, len + 1);
	return 0;
}

/* Check the header's fixed part (a copy) against the file's real size. */
static int ctl_check_fixed(const struct hvcap_ctl_header *f, uint64_t real_size)
{
	uint64_t host_end, vm_table_end;

	if (memcmp(f->magic, HVCAP_CTL_MAGIC, sizeof(f->magic)) != 0)
		return -EBADMSG;
	if (f->abi_major != HVCAP_CTL_ABI_MAJOR)
		return -EPROTONOSUPPORT;
	if (f->page_size != HVCAP_CTL_PAGE_SIZE || f->header_size != sizeof(struct hvcap_ctl_header) ||
	    f->host_size != sizeof(struct hvcap_ctl_host) || f->vm_size != sizeof(struct hvcap_ctl_vm) ||
	    f->vcpu_size != sizeof(struct hvcap_ctl_vcpu))
		return -EBADMSG;
	if (f->n_cap_words == 0 || f->n_cap_words > HVCAP_CTL_CAP_WORDS)
		return -EBADMSG;
	/*
	 * Feature ids mean what this library's catalog says only if the file
	 * numbers its words alike; a writer with more words than we know
	 * cannot be checked, and is refused too (a newer libhvcap reads it).
	 */
	if (f->n_cap_words > NR_CAPS_WORDS || f->cap_words_hash != caps_word_names_hash(f->n_cap_words))
		return -EPROTONOSUPPORT;
	if (f->host_offset % CTL_PAGE || f->vm_table_offset % CTL_PAGE ||
	    f->control_base % HVCAP_CTL_CONTROL_ALIGN)
		return -EBADMSG;
	/* The header page, then the host record and the VM table apart, all before control_base. */
	if (f->host_offset < CTL_PAGE || f->vm_table_offset < CTL_PAGE || f->control_base > real_size)
		return -EBADMSG;
	if (f->host_offset > f->control_base || f->control_base - f->host_offset < f->host_size)
		return -EBADMSG;
	host_end = f->host_offset + f->host_size;
	if (f->vm_table_offset > f->control_base ||
	    (f->control_base - f->vm_table_offset) / f->vm_size < f->vm_table_capacity)
		return -EBADMSG;
	vm_table_end = f->vm_table_offset + (uint64_t)f->vm_table_capacity * f->vm_size;
	if (f->vm_table_capacity && f->host_offset < vm_table_end && f->vm_table_offset < host_end)
		return -EBADMSG;
	return 0;
}

int hvcap_control_open(const char *path, struct hvcap_control **ret)
{
	struct hvcap_control *cp;
	struct hvcap_ctl_header fixed, h;
	char buf[PATH_MAX];
	struct stat st;
	void *p;
	int r;

	if (!ret)
		return -EINVAL;
	r = hvcap_control_path_resolve(path, buf, sizeof(buf));
	if (r < 0)
		return r;
	cp = calloc(1, sizeof(*cp));
	if (!cp)
		return -ENOMEM;
	cp->fd = open(buf, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (cp->fd < 0) {
		r = -errno;
		free(cp);
		return r;
	}
	if (fstat(cp->fd, &st) < 0) {
		r = -errno;
		goto fail;
	}
	/* A FIFO or a device is not a control file, and mapping it could block or have effects. */
	if (!S_ISREG(st.st_mode) || st.st_size < (off_t)CTL_PAGE) {
		r = -EBADMSG;
		goto fail;
	}
	p = mmap(NULL, CTL_PAGE, PROT_READ, MAP_SHARED, cp->fd, 0);
	if (p == MAP_FAILED) {
		r = -errno;
		goto fail;
	}
	cp->map = p;
	cp->map_size = CTL_PAGE;

	memcpy(&fixed, p, offsetof(struct hvcap_ctl_header, seq));
	r = ctl_check_fixed(&fixed, (uint64_t)st.st_size);
	if (r < 0)
		goto fail;
	cp->host_offset = fixed.host_offset;
	cp->vm_table_offset = fixed.vm_table_offset;
	cp->control_base = fixed.control_base;
	cp->vm_table_capacity = fixed.vm_table_capacity;
	cp->n_cap_words = fixed.n_cap_words;
	cp->n_features = fixed.n_cap_words * 32;
	cp->strict = fixed.abi_minor <= HVCAP_CTL_ABI_MINOR;

	/* file_size >= control_base > one page: this maps the whole file. */
	r = ctl_read_header(cp, &h);
	if (r < 0)
		goto fail;
	cp->stats.remaps = 0;
	*ret = cp;
	return 0;

fail:
	hvcap_control_close(cp);
	return r;
}

void hvcap_control_close(struct hvcap_control *cp)
{
	if (!cp)
		return;
	if (cp->map)
		munmap((void *)cp->map, cp->map_size);
	if (cp->fd >= 0)
		close(cp->fd);
	free(cp);
}

/* ---- queries ------------------------------------------------------- */

static int ctl_feature_check(const struct hvcap_control *cp, int feature)
{
	if (feature < 0 || (uint32_t)feature >= cp->n_features)
		return -EINVAL;
	return 0;
}

static int ctl_bit(const uint32_t *words, int feature)
{
	return (int)((words[feature / 32] >> (feature % 32)) & 1);
}

/* While the file is mapped as it is and hvcapd runs, whether it is the copy the handle validated. */
static bool ctl_host_is_current(const struct hvcap_control *cp)
{
	const struct hvcap_ctl_header *hdr = (const struct hvcap_ctl_header *)(const void *)cp->map;
	const struct hvcap_ctl_host *src = (const struct hvcap_ctl_host *)(const void *)(cp->map + cp->host_offset);

	return cp->host_cached &&
	       __atomic_load_n(&hdr->generation, __ATOMIC_ACQUIRE) == cp->generation &&
	       __atomic_load_n(&hdr->state, __ATOMIC_RELAXED) == HVCAP_CTL_STATE_RUNNING &&
	       __atomic_load_n(&src->seq, __ATOMIC_ACQUIRE) == cp->host_seq;
}

static int ctl_host_bit(struct hvcap_control *cp, int feature, bool kvm)
{
	struct hvcap_ctl_header h;
	int r;

	if (!cp)
		return -EINVAL;
	r = ctl_feature_check(cp, feature);
	if (r < 0)
		return r;
	if (ctl_host_is_current(cp)) {
		cp->stats.cache_hits++;
		return ctl_bit(kvm ? cp->host.kvm_caps : cp->host.host_caps, feature);
	}
	r = ctl_read_header(cp, &h);
	if (r < 0)
		return r;
	r = ctl_read_host(cp);
	if (r < 0)
		return r;
	return ctl_bit(kvm ? cp->host.kvm_caps : cp->host.host_caps, feature);
}

int hvcap_control_host_cap_has(struct hvcap_control *cp, int feature)
{
	return ctl_host_bit(cp, feature, true);
}

int hvcap_control_host_cpu_has(struct hvcap_control *cp, int feature)
{
	return ctl_host_bit(cp, feature, false);
}

static int guest_cpu_cap_has_slow(struct hvcap_control *cp, uint32_t vm_id, uint32_t vcpu_id, int feature)
{
	struct hvcap_ctl_vcpu v;
	uint64_t pfn;
	int r;

	r = ctl_find_vcpu(cp, vm_id, vcpu_id, &v, &pfn);
	if (r < 0)
		return r;
	return ctl_bit(v.cpu_caps, feature);
}

/*
 * The fast path: the vCPU's page as the cache remembers it, while the file
 * is mapped as it is, hvcapd runs, and the page's seq is the one of the
 * copy that was validated (its bytes are those of that copy, then).  One
 * word is read under the seqlock; anything else takes the slow path.
 */
int hvcap_control_guest_cpu_cap_has(struct hvcap_control *cp, uint32_t vm_id, uint32_t vcpu_id,
				    int feature)
{
	const struct hvcap_ctl_header *hdr;
	struct ctl_cache_entry *e;

	if (!cp || feature < 0 || (uint32_t)feature >= cp->n_features)
		return -EINVAL;
	e = ctl_cache_slot(cp, vm_id, vcpu_id);
	hdr = (const struct hvcap_ctl_header *)(const void *)cp->map;
	if (e->page && e->vm_id == vm_id && e->vcpu_id == vcpu_id &&
	    __atomic_load_n(&hdr->generation, __ATOMIC_ACQUIRE) == cp->generation &&
	    __atomic_load_n(&hdr->state, __ATOMIC_RELAXED) == HVCAP_CTL_STATE_RUNNING) {
		const struct hvcap_ctl_vcpu *page = e->page;
		uint32_t seq = __atomic_load_n(&page->seq, __ATOMIC_ACQUIRE);

		if (seq == e->seq) {
			uint32_t word = __atomic_load_n(&page->cpu_caps[feature / 32], __ATOMIC_RELAXED);

			__atomic_thread_fence(__ATOMIC_ACQUIRE);
			if (__atomic_load_n(&page->seq, __ATOMIC_RELAXED) == seq) {
				cp->stats.cache_hits++;
				return (int)((word >> (feature % 32)) & 1);
			}
		}
	}
	return guest_cpu_cap_has_slow(cp, vm_id, vcpu_id, feature);
}

int hvcap_control_read_vcpu(struct hvcap_control *cp, uint32_t vm_id, uint32_t vcpu_id,
			    struct hvcap_vcpu_state *ret)
{
	struct hvcap_ctl_vcpu v;
	uint64_t pfn;
	int r;

	if (!cp || !ret)
		return -EINVAL;
	r = ctl_find_vcpu(cp, vm_id, vcpu_id, &v, &pfn);
	if (r < 0)
		return r;
	memset(ret, 0, sizeof(*ret));
	ret->vm_id = v.vm_id;
	ret->vcpu_id = v.vcpu_id;
	ret->cpuid_frozen = v.flags & HVCAP_CTL_VCPU_CPUID_FROZEN;
	ret->guest_mode = v.flags & HVCAP_CTL_VCPU_GUEST_MODE;
	ret->rap_dirty = v.flags & HVCAP_CTL_VCPU_RAP_DIRTY;
	ret->apicv_active = v.flags & HVCAP_CTL_VCPU_APICV_ACTIVE;
	ret->apic_mode = v.apic_mode;
	ret->apic_base = v.apic_base;
	ret->cr3 = v.cr3;
	ret->erap_ctl = v.erap_ctl;
	ret->vmcb02_erap_ctl = v.vmcb02_erap_ctl;
	ret->maxphyaddr = v.maxphyaddr;
	ret->n_cpuid_entries = v.n_cpuid_entries;
	ret->control_page_offset = cp->control_base + pfn * CTL_PAGE;
	ret->n_cap_words = cp->n_cap_words;
	memcpy(ret->cpu_caps, v.cpu_caps, cp->n_cap_words * sizeof(uint32_t));
	return 0;
}

int hvcap_control_read_vm(struct hvcap_control *cp, uint32_t vm_id, struct hvcap_vm_state *ret)
{
	struct ctl_walk w = { .vm_id = vm_id, .vm_only = true };
	int r;

	if (!cp || !ret)
		return -EINVAL;
	r = ctl_walk(cp, &w);
	if (r < 0)
		return r;
	memset(ret, 0, sizeof(*ret));
	ret->vm_id = w.vm.vm_id;
	memcpy(ret->name, w.vm.name, sizeof(ret->name) - 1);
	memcpy(ret->policy_name, w.vm.policy_name, sizeof(ret->policy_name) - 1);
	ret->n_vcpus = w.vm.n_vcpus;
	ret->apic_access_memslot = w.vm.apic_access_memslot;
	ret->apicv_inhibits = w.vm.apicv_inhibits;
	ret->hybrid_avic = w.vm.flags & HVCAP_CTL_VM_HYBRID_AVIC;
	ret->snp = w.vm.flags & HVCAP_CTL_VM_SNP;
	return 0;
}

int hvcap_control_read_host(struct hvcap_control *cp, struct hvcap_host_state *ret)
{
	struct hvcap_ctl_header h;
	const struct hvcap_ctl_host *c;
	int r;

	if (!cp || !ret)
		return -EINVAL;
	r = ctl_read_header(cp, &h);
	if (r < 0)
		return r;
	r = ctl_read_host(cp);
	if (r < 0)
		return r;
	c = &cp->host;
	memset(ret, 0, sizeof(*ret));
	ret->backend = c->backend;
	ret->flags = c->flags;
	ret->api_version = c->api_version;
	memcpy(ret->fingerprint, c->fingerprint, sizeof(ret->fingerprint) - 1);
	memcpy(ret->kernel_release, c->kernel_release, sizeof(ret->kernel_release));
	memcpy(ret->vendor_module, c->vendor_module, sizeof(ret->vendor_module));
	ret->microcode = c->microcode;
	ret->n_cap_words = cp->n_cap_words;
	memcpy(ret->kvm_caps, c->kvm_caps, cp->n_cap_words * sizeof(uint32_t));
	memcpy(ret->host_caps, c->host_caps, cp->n_cap_words * sizeof(uint32_t));
	ret->n_params = c->n_params;
	memcpy(ret->params, c->params, c->n_params * sizeof(c->params[0]));
	return 0;
}

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return (x > y) - (x < y);
}

int hvcap_control_list_vms(struct hvcap_control *cp, uint32_t *ids, size_t max, size_t *ret_n)
{
	struct hvcap_ctl_header h;
	uint32_t *all = NULL;
	size_t n = 0, cap = 0;
	int r;

	if (!cp || !ret_n || (max && !ids))
		return -EINVAL;
	r = ctl_read_header(cp, &h);
	if (r < 0)
		return r;
	for (uint32_t slot = 0; slot < cp->vm_table_capacity; slot++) {
		const struct hvcap_ctl_vm *src = ctl_vm_slot(cp, slot);
		struct hvcap_ctl_vm v;
		uint32_t seq;

		/* A peek skips unused slots hvcapd is not writing (nothing in them is used); a copy decides the rest. */
		if (!(__atomic_load_n(&src->seq, __ATOMIC_ACQUIRE) & 1) &&
		    !(__atomic_load_n(&src->flags, __ATOMIC_RELAXED) & HVCAP_CTL_VM_USED))
			continue;
		r = ctl_read_vm(cp, slot, &v, &seq);
		if (r == -ENOENT)
			continue;
		if (r < 0)
			goto out;
		if (n == cap) {
			size_t ncap = cap ? cap * 2 : 64;
			uint32_t *p = realloc(all, ncap * sizeof(*all));

			if (!p) {
				r = -ENOMEM;
				goto out;
			}
			all = p;
			cap = ncap;
		}
		all[n++] = v.vm_id;
	}
	if (n)
		qsort(all, n, sizeof(*all), cmp_u32);
	/* VM ids are never given out twice: two slots with one id are a corrupt table. */
	for (size_t i = 1; i < n; i++)
		if (all[i] == all[i - 1]) {
			r = -EBADMSG;
			goto out;
		}
	if (n && max)
		memcpy(ids, all, (n < max ? n : max) * sizeof(*ids));
	*ret_n = n;
	r = 0;
out:
	free(all);
	return r;
}

int hvcap_control_list_vcpus(struct hvcap_control *cp, uint32_t vm_id, uint32_t *ids, size_t max,
			     size_t *ret_n)
{
	struct ctl_walk w = { .vm_id = vm_id, .ids = ids, .max = max };
	int r;

	if (!cp || !ret_n || (max && !ids))
		return -EINVAL;
	r = ctl_walk(cp, &w);
	if (r < 0)
		return r;
	*ret_n = w.n;
	return 0;
}

/* A counter of the header's variable part (at offset field) into *ret. */
static int ctl_header_counter(struct hvcap_control *cp, size_t field, uint64_t *ret)
{
	struct hvcap_ctl_header h;
	int r;

	if (!cp || !ret)
		return -EINVAL;
	r = ctl_read_header(cp, &h);
	if (r < 0)
		return r;
	memcpy(ret, (const char *)&h + field, sizeof(*ret));
	return 0;
}

int hvcap_control_updates(struct hvcap_control *cp, uint64_t *ret)
{
	return ctl_header_counter(cp, offsetof(struct hvcap_ctl_header, updates), ret);
}

int hvcap_control_generation(struct hvcap_control *cp, uint64_t *ret)
{
	return ctl_header_counter(cp, offsetof(struct hvcap_ctl_header, generation), ret);
}

void hvcap_control_get_stats(const struct hvcap_control *cp, struct hvcap_control_stats *ret)
{
	if (!ret)
		return;
	if (!cp) {
		memset(ret, 0, sizeof(*ret));
		return;
	}
	*ret = cp->stats;
}
