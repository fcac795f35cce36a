/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * A test-side writer of control files, following hvcap/control.h to the
 * letter (docs/CONTROL-PLANE.md "Writing"): the layout, the checksums,
 * the seqlock's write side, the order in which a change's records are
 * published, growth.  The reader's tests, the install test's fixture
 * program and the benchmark build their files with it; it is independent
 * of hvcapd's writer on purpose, so that each checks the other against
 * the header.
 *
 * The file is mapped read-write over max_pages control pages, beyond its
 * end: the writer touches a page only after ftruncate() reached it.
 */

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <hvcap/control.h>
#include <libcaps/caps.h>

#define FIX_PAGE		((uint64_t)HVCAP_CTL_PAGE_SIZE)
/* The catalog's words today (libcaps NR_CAPS_WORDS): what hvcapd publishes. */
#define FIX_CAP_WORDS		((uint32_t)NR_CAPS_WORDS)

struct ctl_fixture {
	int fd;
	unsigned char *map;		/* mmap() base: page aligned, as every record offset is */
	size_t map_len;			/* control_base + max_pages pages: reserved, not all backed */
	uint64_t max_pages;
	struct hvcap_ctl_header *hdr;
	struct hvcap_ctl_host *host;
	struct hvcap_ctl_vm *vms;
	uint32_t capacity;
	uint32_t n_cap_words;
	uint64_t control_base;
	uint64_t n_pages;
	bool snp;
	uint8_t *page_used;		/* max_pages entries */
};

static inline uint64_t fix_round_up(uint64_t v, uint64_t to)
{
	return (v + to - 1) / to * to;
}

/* ---- the seqlock's write side (control.h) ----------------------------- */

static inline void fix_write_begin(uint32_t *seq)
{
	uint32_t s = __atomic_load_n(seq, __ATOMIC_RELAXED);

	__atomic_store_n(seq, s + 1, __ATOMIC_RELAXED);
	__atomic_thread_fence(__ATOMIC_RELEASE);
}

static inline void fix_write_end(uint32_t *seq)
{
	uint32_t s = __atomic_load_n(seq, __ATOMIC_RELAXED);

	__atomic_store_n(seq, s + 1, __ATOMIC_RELEASE);
}

static inline struct hvcap_ctl_vcpu *fix_page(struct ctl_fixture *f, uint64_t pfn)
{
	return (struct hvcap_ctl_vcpu *)(void *)(f->map + f->control_base + pfn * FIX_PAGE);
}

/* Recompute a record's check in place (no seq change: for files nobody reads yet, and corruption tests). */
static inline void fix_header_seal(struct ctl_fixture *f)
{
	f->hdr->check = hvcap_ctl_header_check(f->hdr);
}

static inline void fix_host_seal(struct ctl_fixture *f)
{
	f->host->check = hvcap_ctl_host_check(f->host);
}

static inline void fix_vm_seal(struct ctl_fixture *f, uint32_t slot)
{
	f->vms[slot].check = hvcap_ctl_vm_check(&f->vms[slot]);
}

static inline void fix_page_seal(struct ctl_fixture *f, uint64_t pfn)
{
	fix_page(f, pfn)->check = hvcap_ctl_vcpu_check(fix_page(f, pfn));
}

/* Publish a change of records: begin, change the fields, end (which seals). */
static inline void fix_header_begin(struct ctl_fixture *f)
{
	fix_write_begin(&f->hdr->seq);
}

static inline void fix_header_end(struct ctl_fixture *f)
{
	fix_header_seal(f);
	fix_write_end(&f->hdr->seq);
}

static inline void fix_host_begin(struct ctl_fixture *f)
{
	fix_write_begin(&f->host->seq);
}

static inline void fix_host_end(struct ctl_fixture *f)
{
	fix_host_seal(f);
	fix_write_end(&f->host->seq);
}

static inline void fix_vm_begin(struct ctl_fixture *f, uint32_t slot)
{
	fix_write_begin(&f->vms[slot].seq);
}

static inline void fix_vm_end(struct ctl_fixture *f, uint32_t slot)
{
	fix_vm_seal(f, slot);
	fix_write_end(&f->vms[slot].seq);
}

static inline void fix_page_begin(struct ctl_fixture *f, uint64_t pfn)
{
	fix_write_begin(&fix_page(f, pfn)->seq);
}

static inline void fix_page_end(struct ctl_fixture *f, uint64_t pfn)
{
	fix_page_seal(f, pfn);
	fix_write_end(&fix_page(f, pfn)->seq);
}

/* After every change: one more update, in the header (control.h: "+1 for every published change"). */
static inline void fix_publish(struct ctl_fixture *f)
{
	uint32_t n = 0;

	for (uint32_t i = 0; i < f->capacity; i++)
		n += !!(f->vms[i].flags & HVCAP_CTL_VM_USED);
	fix_header_begin(f);
	f->hdr->updates++;
	f->hdr->n_vms = n;
	fix_header_end(f);
}

/* ---- the file ----------------------------------------------------------- */

/*
 * A control file at path with capacity VM slots and n_pages control pages
 * (room to grow to max_pages), hvcapd RUNNING, a host record and no VM.
 * 0 or -errno.
 */
static inline int fix_create(struct ctl_fixture *f, const char *path, uint32_t capacity, uint64_t n_pages,
			     uint64_t max_pages, bool snp)
{
	uint64_t host_offset = FIX_PAGE;
	uint64_t vm_table_offset = host_offset + fix_round_up(sizeof(struct hvcap_ctl_host), FIX_PAGE);
	uint64_t control_base = fix_round_up(vm_table_offset + (uint64_t)capacity * sizeof(struct hvcap_ctl_vm),
					     HVCAP_CTL_CONTROL_ALIGN);
	struct hvcap_ctl_header *h;
	struct hvcap_ctl_host *host;
	void *p;

	if (max_pages < n_pages)
		max_pages = n_pages;
	memset(f, 0, sizeof(*f));
	f->fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (f->fd < 0)
		return -errno;
	if (ftruncate(f->fd, (off_t)(control_base + n_pages * FIX_PAGE)) < 0)
		goto fail;
	f->map_len = control_base + max_pages * FIX_PAGE;
	p = mmap(NULL, f->map_len, PROT_READ | PROT_WRITE, MAP_SHARED, f->fd, 0);
	if (p == MAP_FAILED)
		goto fail;
	f->page_used = calloc(max_pages ? max_pages : 1, 1);
	if (!f->page_used) {
		munmap(p, f->map_len);
		errno = ENOMEM;
		goto fail;
	}
	f->map = p;
	f->max_pages = max_pages;
	f->n_pages = n_pages;
	f->capacity = capacity;
	f->control_base = control_base;
	f->n_cap_words = FIX_CAP_WORDS;
	f->snp = snp;
	f->hdr = h = p;
	f->host = host = (struct hvcap_ctl_host *)(void *)(f->map + host_offset);
	f->vms = (struct hvcap_ctl_vm *)(void *)(f->map + vm_table_offset);

	memcpy(h->magic, HVCAP_CTL_MAGIC, sizeof(h->magic));
	h->abi_major = HVCAP_CTL_ABI_MAJOR;
	h->abi_minor = HVCAP_CTL_ABI_MINOR;
	h->page_size = HVCAP_CTL_PAGE_SIZE;
	h->header_size = sizeof(struct hvcap_ctl_header);
	h->host_size = sizeof(struct hvcap_ctl_host);
	h->vm_size = sizeof(struct hvcap_ctl_vm);
	h->vcpu_size = sizeof(struct hvcap_ctl_vcpu);
	h->host_offset = host_offset;
	h->vm_table_offset = vm_table_offset;
	h->vm_table_capacity = capacity;
	h->n_cap_words = FIX_CAP_WORDS;
	h->cap_words_hash = caps_word_names_hash(FIX_CAP_WORDS);
	h->control_base = control_base;

	host->backend = HVCAP_CTL_BACKEND_MODEL;
	host->flags = snp ? HVCAP_CTL_HOST_SNP : 0;
	host->api_version = 12;
	/* As libcaps writes it: "hvcap1-" and 16 hex digits. */
	snprintf(host->fingerprint, sizeof(host->fingerprint), "hvcap1-%016x", 0x5eed);
	snprintf(host->kernel_release, sizeof(host->kernel_release), "6.18.0-fixture");
	snprintf(host->vendor_module, sizeof(host->vendor_module), "kvm_amd");
	host->microcode = UINT64_C(0xa201016);
	host->n_params = 2;
	snprintf(host->params[0].module, sizeof(host->params[0].module), "kvm");
	snprintf(host->params[0].name, sizeof(host->params[0].name), "ignore_msrs");
	snprintf(host->params[0].value, sizeof(host->params[0].value), "N");
	snprintf(host->params[1].module, sizeof(host->params[1].module), "kvm_amd");
	snprintf(host->params[1].name, sizeof(host->params[1].name), "avic");
	snprintf(host->params[1].value, sizeof(host->params[1].value), "1");
	fix_host_begin(f);
	fix_host_end(f);

	/* Published last: until then a reader sees STARTING (state 0). */
	h->generation = 1;
	h->file_size = control_base + n_pages * FIX_PAGE;
	h->n_control_pages = n_pages;
	h->writer_pid = (uint32_t)getpid();
	fix_header_begin(f);
	h->state = HVCAP_CTL_STATE_RUNNING;
	fix_header_end(f);
	return 0;

fail:
	{
		int r = -errno;

		close(f->fd);
		return r;
	}
}

static inline void fix_close(struct ctl_fixture *f)
{
	if (f->map)
		munmap(f->map, f->map_len);
	if (f->fd >= 0)
		close(f->fd);
	free(f->page_used);
	f->map = NULL;
	f->fd = -1;
	f->page_used = NULL;
}

/* Grow to n_pages control pages: extend the file, then publish its size and a new generation. */
static inline int fix_grow(struct ctl_fixture *f, uint64_t n_pages)
{
	if (n_pages > f->max_pages)
		return -ENOSPC;
	if (ftruncate(f->fd, (off_t)(f->control_base + n_pages * FIX_PAGE)) < 0)
		return -errno;
	f->n_pages = n_pages;
	fix_header_begin(f);
	f->hdr->n_control_pages = n_pages;
	f->hdr->file_size = f->control_base + n_pages * FIX_PAGE;
	f->hdr->generation++;
	f->hdr->updates++;
	fix_header_end(f);
	return 0;
}

static inline void fix_set_state(struct ctl_fixture *f, enum hvcap_ctl_state state)
{
	fix_header_begin(f);
	f->hdr->state = state;
	f->hdr->updates++;
	fix_header_end(f);
}

/* ---- VMs and vCPUs ------------------------------------------------------ */

/* A free control page, as hv_snp_safe_alloc_page() would pick it: none at a 2 MiB offset with SNP. */
static inline int64_t fix_page_alloc(struct ctl_fixture *f)
{
	for (uint64_t pfn = 0; pfn < f->n_pages; pfn++) {
		/* control_base is 2 MiB aligned: page pfn is at a 2 MiB offset when pfn % 512 == 0. */
		if (f->snp && pfn % (HVCAP_CTL_CONTROL_ALIGN / FIX_PAGE) == 0)
			continue;
		if (!f->page_used[pfn]) {
			f->page_used[pfn] = 1;
			return (int64_t)pfn;
		}
	}
	return -ENOSPC;
}

/* A VM in the first free slot: the slot number, or -ENOSPC. */
static inline int fix_vm_add(struct ctl_fixture *f, uint32_t vm_id, const char *name, const char *policy)
{
	for (uint32_t i = 0; i < f->capacity; i++) {
		struct hvcap_ctl_vm *v = &f->vms[i];

		if (v->flags & HVCAP_CTL_VM_USED)
			continue;
		fix_vm_begin(f, i);
		v->flags = HVCAP_CTL_VM_USED | (f->snp ? HVCAP_CTL_VM_SNP : 0);
		v->vm_id = vm_id;
		v->n_vcpus = 0;
		v->apic_access_memslot = HVCAP_CTL_MEMSLOT_ENABLED;
		v->apicv_inhibits = 0;
		v->first_vcpu_page = HVCAP_CTL_NO_PAGE;
		memset(v->name, 0, sizeof(v->name));
		memset(v->policy_name, 0, sizeof(v->policy_name));
		snprintf(v->name, sizeof(v->name), "%s", name);
		snprintf(v->policy_name, sizeof(v->policy_name), "%s", policy);
		fix_vm_end(f, i);
		fix_publish(f);
		return (int)i;
	}
	return -ENOSPC;
}

static inline int fix_vm_slot(struct ctl_fixture *f, uint32_t vm_id)
{
	for (uint32_t i = 0; i < f->capacity; i++)
		if ((f->vms[i].flags & HVCAP_CTL_VM_USED) && f->vms[i].vm_id == vm_id)
			return (int)i;
	return -ENOENT;
}

/*
 * Add vCPU vcpu_id to the VM in slot with cap words caps (f->n_cap_words
 * of them): write its page, link it at the end of the VM's list, then
 * count it in n_vcpus.  The page number, or -ENOSPC.
 */
static inline int64_t fix_vcpu_add(struct ctl_fixture *f, uint32_t slot, uint32_t vcpu_id, const uint32_t *caps)
{
	struct hvcap_ctl_vm *vm = &f->vms[slot];
	int64_t pfn = fix_page_alloc(f);
	struct hvcap_ctl_vcpu *v;
	uint64_t tail = HVCAP_CTL_NO_PAGE;

	if (pfn < 0)
		return pfn;
	v = fix_page(f, (uint64_t)pfn);
	fix_page_begin(f, (uint64_t)pfn);
	v->flags = HVCAP_CTL_VCPU_USED | HVCAP_CTL_VCPU_APICV_ACTIVE;
	v->vm_id = vm->vm_id;
	v->vcpu_id = vcpu_id;
	v->n_cpuid_entries = 42;
	v->next_page = HVCAP_CTL_NO_PAGE;
	v->apic_base = UINT64_C(0xfee00900) | (vcpu_id == 0 ? 0x100 : 0);
	v->cr3 = 0;
	v->apic_mode = HVCAP_CTL_APIC_XAPIC;
	v->erap_ctl = 0;
	v->vmcb02_erap_ctl = 0;
	v->maxphyaddr = 48;
	memset(v->cpu_caps, 0, sizeof(v->cpu_caps));
	memcpy(v->cpu_caps, caps, f->n_cap_words * sizeof(uint32_t));
	fix_page_end(f, (uint64_t)pfn);

	for (uint64_t p = vm->first_vcpu_page; p != HVCAP_CTL_NO_PAGE; p = fix_page(f, p)->next_page)
		tail = p;
	if (tail == HVCAP_CTL_NO_PAGE) {
		/* The first: linked and counted in one write of the VM slot. */
		fix_vm_begin(f, slot);
		vm->first_vcpu_page = (uint64_t)pfn;
		vm->n_vcpus = 1;
		fix_vm_end(f, slot);
	} else {
		fix_page_begin(f, tail);
		fix_page(f, tail)->next_page = (uint64_t)pfn;
		fix_page_end(f, tail);
		fix_vm_begin(f, slot);
		vm->n_vcpus++;
		fix_vm_end(f, slot);
	}
	fix_publish(f);
	return pfn;
}

/* The page of a vCPU, or -ENOENT. */
static inline int64_t fix_vcpu_page(struct ctl_fixture *f, uint32_t slot, uint32_t vcpu_id)
{
	for (uint64_t p = f->vms[slot].first_vcpu_page; p != HVCAP_CTL_NO_PAGE; p = fix_page(f, p)->next_page)
		if (fix_page(f, p)->vcpu_id == vcpu_id)
			return (int64_t)p;
	return -ENOENT;
}

/*
 * Delete the VM in slot: the slot first (the VM is gone), then its pages
 * are freed: zeroed but for seq, which goes on up, and sealed (control.h:
 * a record once written keeps a valid check).
 */
static inline void fix_vm_delete(struct ctl_fixture *f, uint32_t slot)
{
	struct hvcap_ctl_vm *vm = &f->vms[slot];
	uint64_t p = vm->first_vcpu_page;
	uint32_t n = vm->n_vcpus;

	fix_vm_begin(f, slot);
	memset((char *)vm + offsetof(struct hvcap_ctl_vm, check), 0,
	       sizeof(*vm) - offsetof(struct hvcap_ctl_vm, check));
	fix_vm_end(f, slot);
	for (uint32_t i = 0; i < n && p != HVCAP_CTL_NO_PAGE; i++) {
		struct hvcap_ctl_vcpu *v = fix_page(f, p);
		uint64_t next = v->next_page;

		fix_page_begin(f, p);
		memset(v, 0, offsetof(struct hvcap_ctl_vcpu, seq));
		memset((char *)v + offsetof(struct hvcap_ctl_vcpu, check), 0,
		       sizeof(*v) - offsetof(struct hvcap_ctl_vcpu, check));
		fix_page_end(f, p);
		f->page_used[p] = 0;
		p = next;
	}
	fix_publish(f);
}

/* Words with the features in ids[] (feature ids) set. */
static inline void fix_caps(uint32_t *words, const int *ids, size_t n)
{
	memset(words, 0, HVCAP_CTL_CAP_WORDS * sizeof(uint32_t));
	for (size_t i = 0; i < n; i++)
		if (ids[i] >= 0 && ids[i] < (int)(HVCAP_CTL_CAP_WORDS * 32))
			words[ids[i] / 32] |= UINT32_C(1) << (ids[i] % 32);
}
