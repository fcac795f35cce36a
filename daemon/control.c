/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The shared-memory control plane's writer (DESIGN.md §6; the ABI is
 * include/hvcap/control.h, which says what every field holds).
 *
 * The file, in 4 KiB pages:
 *
 *   page 0                  the header
 *   page 1..3               the host record (8904 bytes)
 *   page 4..                the VM table: capacity 256-byte slots, where
 *                           capacity is max_vms (or the number of restored
 *                           VMs, if a lower max_vms came later)
 *   control_base            the control pages, control_base being the
 *                           table's end rounded up to 2 MiB: page n at
 *                           control_base + n * 4096 is page frame n of the
 *                           daemon-wide arena every VM allocates from
 *
 * The file is sparse (ftruncate()): on tmpfs, slots and pages that were
 * never written cost nothing.  Of the control pages, hvcapd writes only
 * vCPUs' vmcb01 pages; vmcb02 and AVIC backing pages stay as the arena
 * left them (zero, or an unused record if an earlier vCPU had them).
 *
 * Records are written with the seqlock protocol of control.h: seq + 1
 * (relaxed), release fence, the fields, seq + 2 (release), the checksum
 * computed over the final contents first.  A record whose contents did
 * not change is not written again, and seq only ever goes up (also for
 * unused records), so that a reader cannot take a page that was freed
 * and used again in between for the one it started to copy.  Readers
 * follow pointers (first_vcpu_page, next_page) only to records written
 * before the pointer: pages are published before their VM slot, later
 * vCPUs before earlier ones, and the header (updates, n_vms) last; a
 * deleted VM's slot is cleared before its pages.
 *
 * Growth: the arena's grow hook runs when hvcore finds it full; it
 * extends the file, remaps it, grows the arena, and only then publishes
 * the new size and generation.  Each step that can fail comes before
 * anything visible and is undone on failure, so a failed growth fails
 * the allocation (and the call: io.hvcap.LimitExceeded "space") with
 * memory, state file and control file as they were.
 */

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <syslog.h>
#include <unistd.h>

#include <hvcap/control.h>

#include "hvcapd-internal.h"

_Static_assert(NR_CAPS_WORDS <= HVCAP_CTL_CAP_WORDS, "libcaps' feature words fit the control plane's cap arrays");
_Static_assert(sizeof(((struct caps *)0)->words) == NR_CAPS_WORDS * sizeof(uint32_t), "caps words");
_Static_assert(CAPS_FINGERPRINT_MAX <= HVCAP_CTL_FINGERPRINT_MAX + 8, "fingerprint fits");
_Static_assert(HVCAPD_MAX_NAME <= HVCAP_CTL_NAME_MAX, "VM names fit");
_Static_assert(CAPS_POLICY_NAME_MAX <= HVCAP_CTL_NAME_MAX, "policy names fit");
_Static_assert(CAPS_PARAM_MODULE_MAX <= sizeof(((struct hvcap_ctl_param *)0)->module), "modules fit");
_Static_assert(CAPS_PARAM_NAME_MAX <= sizeof(((struct hvcap_ctl_param *)0)->name), "names fit");
_Static_assert(CAPS_PARAM_VALUE_MAX <= sizeof(((struct hvcap_ctl_param *)0)->value), "values fit");
_Static_assert(CAPS_PARAM_MAX <= HVCAP_CTL_MAX_PARAMS, "every parameter fits");
_Static_assert(sizeof(((struct caps_host_record *)0)->kernel_release) <=
	       sizeof(((struct hvcap_ctl_host *)0)->kernel_release), "kernel releases fit");
_Static_assert(NR_APICV_INHIBIT_REASONS <= 32, "APICv inhibit reasons fit a 32-bit mask");

#define PAGE		((uint64_t)HVCAP_CTL_PAGE_SIZE)
#define ALIGN_UP(x, a)	(((x) + (a) - 1) / (a) * (a))

/*
 * The arena starts with, and grows by at least, one 2 MiB extent of
 * pages: 512 VMCBs, and a control region that starts and ends 2 MiB
 * aligned.  Growth doubles it, so that a reader remaps O(log n) times.
 */
#define CONTROL_PAGES_STEP	(HVCAP_CTL_CONTROL_ALIGN / HVCAP_CTL_PAGE_SIZE)

/* Where the host record and the VM table start. */
#define HOST_OFFSET		PAGE
#define VM_TABLE_OFFSET		(HOST_OFFSET + ALIGN_UP((uint64_t)sizeof(struct hvcap_ctl_host), PAGE))

/*
 * c->map is an mmap() base, so page aligned, and every record sits at a
 * page-aligned offset (HOST_OFFSET, VM_TABLE_OFFSET, control_base) plus
 * a multiple of its own size: the (void *) casts below only tell the
 * compiler what the layout guarantees.
 */
static struct hvcap_ctl_header *header(const struct hvcapd_control *c)
{
	return (struct hvcap_ctl_header *)(void *)c->map;
}

static struct hvcap_ctl_host *host_record(const struct hvcapd_control *c)
{
	return (struct hvcap_ctl_host *)(void *)(c->map + HOST_OFFSET);
}

static struct hvcap_ctl_vm *vm_slot(const struct hvcapd_control *c, uint32_t slot)
{
	return (struct hvcap_ctl_vm *)(void *)(c->map + VM_TABLE_OFFSET) + slot;
}

static struct hvcap_ctl_vcpu *control_page(const struct hvcapd_control *c, uint64_t n)
{
	return (struct hvcap_ctl_vcpu *)(void *)(c->map + c->control_base + n * PAGE);
}

/* ------------------------------------------------------------------ */
/* The seqlock protocol. */

/*
 * Write the record src (size bytes, its seq at seq_offset, its check
 * computed) over dst, unless dst holds it already.  Only this process
 * writes dst, so reading it back needs no protocol.  Returns whether it
 * wrote.  dst is a record in the map and seq_offset an offsetof() of its
 * seq, so seq is aligned for the atomics.
 */
static bool record_publish(void *dst, const void *src, size_t size, size_t seq_offset)
{
	uint8_t *d = dst;
	const uint8_t *s = src;
	size_t after = seq_offset + sizeof(uint32_t);
	uint32_t *seq = (uint32_t *)(void *)(d + seq_offset);
	uint32_t v;

	if (memcmp(d, s, seq_offset) == 0 && memcmp(d + after, s + after, size - after) == 0)
		return false;
	v = __atomic_load_n(seq, __ATOMIC_RELAXED);
	__atomic_store_n(seq, v + 1, __ATOMIC_RELAXED);
	__atomic_thread_fence(__ATOMIC_RELEASE);
	memcpy(d, s, seq_offset);
	memcpy(d + after, s + after, size - after);
	__atomic_store_n(seq, v + 2, __ATOMIC_RELEASE);
	return true;
}

/* The header's variable part from c, as one record (generation .. reserved1 under seq). */
static void header_publish(struct hvcapd_control *c)
{
	struct hvcap_ctl_header h = *header(c);

	h.generation = c->generation;
	h.file_size = c->file_size;
	h.n_control_pages = c->n_pages;
	h.updates = c->updates;
	h.state = c->state;
	h.writer_pid = (uint32_t)getpid();
	h.n_vms = c->n_vms;
	memset(h.reserved1, 0, sizeof(h.reserved1));
	h.check = hvcap_ctl_header_check(&h);
	record_publish((uint8_t *)header(c) + offsetof(struct hvcap_ctl_header, seq),
		       (const uint8_t *)&h + offsetof(struct hvcap_ctl_header, seq),
		       sizeof(h) - offsetof(struct hvcap_ctl_header, seq), 0);
}

/* One published change: count it in updates, and say so in the header. */
static void changed(struct hvcapd_control *c)
{
	c->updates++;
	header_publish(c);
}

/* ------------------------------------------------------------------ */
/* What each record holds. */

/*
 * The string in the array src into the array dst (zeroed by the caller),
 * cut to fit with its NUL, as control.h promises.
 */
static void copy_string(char *dst, size_t dst_size, const char *src, size_t src_size)
{
	memcpy(dst, src, strnlen(src, dst_size - 1 < src_size ? dst_size - 1 : src_size));
}

#define COPY_STRING(dst, src) copy_string(dst, sizeof(dst), src, sizeof(src))

static void host_record_build(const struct hvcapd_host *h, struct hvcap_ctl_host *out)
{
	const struct caps_host_record *r = h->record;
	const struct hv_host *hv = &h->target.host;
	struct caps raw;
	uint32_t n = 0;

	memset(out, 0, sizeof(*out));
	out->backend = r->backend == CAPS_BACKEND_KVM ? HVCAP_CTL_BACKEND_KVM : HVCAP_CTL_BACKEND_MODEL;
	if (hv->snp)
		out->flags |= HVCAP_CTL_HOST_SNP;
	if (hv_host_is_hybrid_avic(hv))
		out->flags |= HVCAP_CTL_HOST_HYBRID_AVIC;
	out->api_version = r->api_version > 0 ? (uint32_t)r->api_version : 0;
	COPY_STRING(out->fingerprint, r->fingerprint);
	COPY_STRING(out->kernel_release, r->kernel_release);
	COPY_STRING(out->vendor_module, r->vendor_module);
	out->microcode = r->has_microcode ? r->microcode : 0;
	memcpy(out->kvm_caps, r->features.words, sizeof(r->features.words));
	caps_from_dump(&raw, h->raw);
	memcpy(out->host_caps, raw.words, sizeof(raw.words));
	/* Every parameter fits (the asserts above); NUL-terminated as libcaps keeps them. */
	for (size_t i = 0; i < r->n_params && n < HVCAP_CTL_MAX_PARAMS; i++, n++) {
		const struct caps_param *p = &r->params[i];
		struct hvcap_ctl_param *q = &out->params[n];

		COPY_STRING(q->module, p->module);
		COPY_STRING(q->name, p->name);
		COPY_STRING(q->value, p->value);
	}
	out->n_params = n;
	out->check = hvcap_ctl_host_check(out);
}

static uint32_t memslot_state(const struct hv_vm *vm)
{
	/* The order of hvcapd_memslot_state(), which Vm.Get reports. */
	if (hv_vm_is_apic_access_memslot_inhibited(vm))
		return HVCAP_CTL_MEMSLOT_INHIBITED;
	if (hv_vm_is_apic_access_memslot_enabled(vm))
		return HVCAP_CTL_MEMSLOT_ENABLED;
	return HVCAP_CTL_MEMSLOT_NOT_ALLOCATED;
}

static uint32_t apic_mode(enum hv_apic_mode m)
{
	switch (m) {
	case HV_APIC_MODE_XAPIC:
		return HVCAP_CTL_APIC_XAPIC;
	case HV_APIC_MODE_X2APIC:
		return HVCAP_CTL_APIC_X2APIC;
	case HV_APIC_MODE_DISABLED:
	default:
		/* EXTD without EN cannot be reached: hvcore refuses such writes. */
		return HVCAP_CTL_APIC_DISABLED;
	}
}

/* A vCPU's control page number: its vmcb01's page frame. */
static uint64_t vcpu_page(const struct hv_vcpu *v)
{
	struct hv_vcpu_pages pages;

	hv_vcpu_control_pages(v, &pages);
	return pages.vmcb01;
}

static void vcpu_record_build(const struct hvcapd_vm *vm, const struct hv_vcpu *v, uint64_t next_page,
			      struct hvcap_ctl_vcpu *out)
{
	const struct caps *caps = hv_vcpu_cpu_caps(v);
	int maxphyaddr = hv_vcpu_maxphyaddr(v);

	memset(out, 0, sizeof(*out));
	out->erap_ctl = hv_vcpu_vmcb01_erap_ctl(v);
	out->flags = HVCAP_CTL_VCPU_USED;
	if (hv_vcpu_has_run(v))
		out->flags |= HVCAP_CTL_VCPU_CPUID_FROZEN;
	if (hv_vcpu_is_guest_mode(v))
		out->flags |= HVCAP_CTL_VCPU_GUEST_MODE;
	if (hv_vcpu_is_rap_dirty(v))
		out->flags |= HVCAP_CTL_VCPU_RAP_DIRTY;
	if (hv_vcpu_is_apicv_active(v))
		out->flags |= HVCAP_CTL_VCPU_APICV_ACTIVE;
	out->vm_id = vm->id;
	out->vcpu_id = hv_vcpu_id(v);
	out->n_cpuid_entries = hv_vcpu_cpuid_nent(v);
	out->next_page = next_page;
	out->apic_base = hv_vcpu_apic_base(v);
	out->cr3 = hv_vcpu_cr3(v);
	out->apic_mode = apic_mode(hv_vcpu_apic_mode(v));
	out->vmcb02_erap_ctl = hv_vcpu_vmcb02_erap_ctl(v);
	out->maxphyaddr = (uint8_t)(maxphyaddr < 0 ? 0 : maxphyaddr > UINT8_MAX ? UINT8_MAX : maxphyaddr);
	memcpy(out->cpu_caps, caps->words, sizeof(caps->words));
	out->check = hvcap_ctl_vcpu_check(out);
}

static void vm_record_build(const struct hvcapd_vm *vm, struct hvcap_ctl_vm *out)
{
	memset(out, 0, sizeof(*out));
	out->flags = HVCAP_CTL_VM_USED;
	if (hv_vm_is_hybrid_avic(vm->vm))
		out->flags |= HVCAP_CTL_VM_HYBRID_AVIC;
	/* A VM keeps the host it was created on (and its page placement) across reloads. */
	if (hv_vm_host(vm->vm)->snp)
		out->flags |= HVCAP_CTL_VM_SNP;
	out->vm_id = vm->id;
	out->n_vcpus = (uint32_t)vm->n_vcpus;
	out->apic_access_memslot = memslot_state(vm->vm);
	out->apicv_inhibits = hv_vm_apicv_inhibit_reasons(vm->vm);
	out->first_vcpu_page = vm->n_vcpus ? vcpu_page(hv_vm_vcpu(vm->vm, vm->vcpu_ids[0])) : HVCAP_CTL_NO_PAGE;
	COPY_STRING(out->name, vm->name);
	COPY_STRING(out->policy_name, vm->policy_name);
	out->check = hvcap_ctl_vm_check(out);
}

/* ------------------------------------------------------------------ */
/* Publishing. */

static bool publish_host(struct hvcapd_control *c, const struct hvcapd_host *h)
{
	struct hvcap_ctl_host *rec = malloc(sizeof(*rec));
	bool written;

	/* 9 KiB: off the stack.  Without memory the record stays as it was, and says so by its fingerprint. */
	if (!rec) {
		hvcapd_log(LOG_ERR, "%s: out of memory: the host record is not updated", c->path);
		return false;
	}
	host_record_build(h, rec);
	written = record_publish(host_record(c), rec, sizeof(*rec), offsetof(struct hvcap_ctl_host, seq));
	free(rec);
	return written;
}

/* The vCPU pages, later vCPUs first (a page is written before anything points to it), then the slot. */
static bool publish_vm(struct hvcapd_control *c, const struct hvcapd_vm *vm)
{
	struct hvcap_ctl_vcpu page;
	struct hvcap_ctl_vm slot;
	uint64_t next = HVCAP_CTL_NO_PAGE;
	bool written = false;

	for (size_t i = vm->n_vcpus; i-- > 0;) {
		const struct hv_vcpu *v = hv_vm_vcpu(vm->vm, vm->vcpu_ids[i]);
		uint64_t n = vcpu_page(v);

		vcpu_record_build(vm, v, next, &page);
		written |= record_publish(control_page(c, n), &page, sizeof(page),
					  offsetof(struct hvcap_ctl_vcpu, seq));
		next = n;
	}
	vm_record_build(vm, &slot);
	written |= record_publish(vm_slot(c, vm->ctl_slot), &slot, sizeof(slot), offsetof(struct hvcap_ctl_vm, seq));
	return written;
}

/* The lowest free slot, taken; UINT32_MAX when none is (the registry never holds more VMs than slots). */
static uint32_t slot_take(struct hvcapd_control *c)
{
	for (uint32_t w = 0; w < (c->capacity + 63) / 64; w++) {
		uint64_t free_bits = ~c->slots[w];
		uint32_t slot;

		if (!free_bits)
			continue;
		slot = w * 64 + (uint32_t)__builtin_ctzll(free_bits);
		if (slot >= c->capacity)
			break;
		c->slots[w] |= 1ull << (slot % 64);
		c->n_vms++;
		return slot;
	}
	return UINT32_MAX;
}

static void slot_give_back(struct hvcapd_control *c, uint32_t slot)
{
	c->slots[slot / 64] &= ~(1ull << (slot % 64));
	c->n_vms--;
}

void hvcapd_control_publish_vm(struct hvcapd *d, struct hvcapd_vm *vm)
{
	struct hvcapd_control *c = &d->ctl;
	bool written = false;

	if (!c->map)
		return;
	if (!vm->ctl_has_slot) {
		uint32_t slot = slot_take(c);

		if (slot == UINT32_MAX) {
			/* A bug: the registry's count is bounded by the capacity. */
			hvcapd_log(LOG_ERR, "%s: no free slot for VM %u", c->path, vm->id);
			return;
		}
		vm->ctl_slot = slot;
		vm->ctl_has_slot = true;
		written = true;
	}
	written |= publish_vm(c, vm);
	if (written)
		changed(c);
}

void hvcapd_control_unpublish_vm(struct hvcapd *d, struct hvcapd_vm *vm)
{
	struct hvcapd_control *c = &d->ctl;
	struct hvcap_ctl_vcpu page;
	struct hvcap_ctl_vm slot;

	if (!c->map || !vm->ctl_has_slot)
		return;
	/* The slot first: readers stop following it before its pages change. */
	memset(&slot, 0, sizeof(slot));
	slot.check = hvcap_ctl_vm_check(&slot);
	record_publish(vm_slot(c, vm->ctl_slot), &slot, sizeof(slot), offsetof(struct hvcap_ctl_vm, seq));
	memset(&page, 0, sizeof(page));
	page.check = hvcap_ctl_vcpu_check(&page);
	for (size_t i = 0; i < vm->n_vcpus; i++)
		record_publish(control_page(c, vcpu_page(hv_vm_vcpu(vm->vm, vm->vcpu_ids[i]))), &page,
			       sizeof(page), offsetof(struct hvcap_ctl_vcpu, seq));
	slot_give_back(c, vm->ctl_slot);
	vm->ctl_has_slot = false;
	changed(c);
}

void hvcapd_control_publish_host(struct hvcapd *d)
{
	struct hvcapd_control *c = &d->ctl;

	if (c->map && publish_host(c, d->host))
		changed(c);
}

/* ------------------------------------------------------------------ */
/* Growth. */

/* Undo a file extension; the pages past old_size were never used. */
static void truncate_back(struct hvcapd_control *c, uint64_t old_size)
{
	if (ftruncate(c->fd, (off_t)old_size) < 0)
		hvcapd_log(LOG_WARNING, "%s: cannot shrink back to %llu bytes: %s", c->path,
			   (unsigned long long)old_size, strerror(errno));
}

/*
 * The arena's grow hook: make room for npages control pages.  Before the
 * file exists (VMs being restored), only the arena grows.
 */
static int control_grow_cb(void *data, uint64_t npages)
{
	struct hvcapd_control *c = data;
	uint64_t n = c->n_pages * 2, size, old_size = c->file_size;
	uint8_t *map;
	int r;

	if (n < npages)
		n = npages;
	n = ALIGN_UP(n, CONTROL_PAGES_STEP);
	if (!c->map)
		return hv_page_arena_grow(c->arena, n);

	size = c->control_base + n * PAGE;
	if (ftruncate(c->fd, (off_t)size) < 0) {
		r = -errno;
		hvcapd_log(LOG_ERR, "%s: cannot grow to %llu bytes: %s", c->path, (unsigned long long)size,
			   strerror(-r));
		/* A partial extension (EFBIG past RLIMIT_FSIZE, ENOSPC) is undone. */
		truncate_back(c, old_size);
		return -ENOSPC;
	}
	map = mremap(c->map, old_size, size, MREMAP_MAYMOVE);
	if (map == MAP_FAILED) {
		hvcapd_log(LOG_ERR, "%s: cannot map %llu bytes: %s", c->path, (unsigned long long)size,
			   strerror(errno));
		truncate_back(c, old_size);
		return -ENOSPC;
	}
	c->map = map;
	r = hv_page_arena_grow(c->arena, n);
	if (r < 0) {
		hvcapd_log(LOG_ERR, "%s: cannot grow the page arena to %llu pages: %s", c->path,
			   (unsigned long long)n, strerror(-r));
		/* Shrinking a mapping in place cannot fail; the pages past old_size were never used. */
		map = mremap(c->map, size, old_size, 0);
		if (map != MAP_FAILED)
			c->map = map;
		truncate_back(c, old_size);
		return -ENOSPC;
	}
	c->n_pages = n;
	c->file_size = size;
	/* Readers remap by generation; nothing already published moved. */
	c->generation++;
	changed(c);
	return 0;
}

/* ------------------------------------------------------------------ */
/* Life. */

int hvcapd_control_init(struct hvcapd *d)
{
	struct hvcapd_control *c = &d->ctl;
	int r;

	memset(c, 0, sizeof(*c));
	c->fd = -1;
	c->path = d->cfg.control;
	r = hv_page_arena_new(CONTROL_PAGES_STEP, &c->arena);
	if (r < 0)
		return r;
	c->n_pages = CONTROL_PAGES_STEP;
	hv_page_arena_set_grow(c->arena, control_grow_cb, c);
	return 0;
}

/* "<dir>/.<name>.tmp" beside path. */
/* Unmap and close the file and free the slot table (the file stays where it is). */
static void control_release(struct hvcapd_control *c)
{
	if (c->map)
		munmap(c->map, c->file_size);
	c->map = NULL;
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
	free(c->slots);
	c->slots = NULL;
}

static int temporary_path(const char *path, char *buf, size_t size)
{
	const char *slash = strrchr(path, '/');
	size_t dir = slash ? (size_t)(slash - path) + 1 : 0;
	int n = snprintf(buf, size, "%.*s.%s.tmp", (int)dir, path, path + dir);

	return n < 0 || (size_t)n >= size ? -ENAMETOOLONG : 0;
}

static void header_fixed_init(struct hvcapd_control *c)
{
	struct hvcap_ctl_header *h = header(c);

	memcpy(h->magic, HVCAP_CTL_MAGIC, sizeof(h->magic));
	h->abi_major = HVCAP_CTL_ABI_MAJOR;
	h->abi_minor = HVCAP_CTL_ABI_MINOR;
	h->page_size = HVCAP_CTL_PAGE_SIZE;
	h->header_size = sizeof(struct hvcap_ctl_header);
	h->host_size = sizeof(struct hvcap_ctl_host);
	h->vm_size = sizeof(struct hvcap_ctl_vm);
	h->vcpu_size = sizeof(struct hvcap_ctl_vcpu);
	h->host_offset = HOST_OFFSET;
	h->vm_table_offset = VM_TABLE_OFFSET;
	h->vm_table_capacity = c->capacity;
	h->n_cap_words = NR_CAPS_WORDS;
	h->cap_words_hash = caps_word_names_hash(NR_CAPS_WORDS);
	h->control_base = c->control_base;
}

int hvcapd_control_create(struct hvcapd *d)
{
	struct hvcapd_control *c = &d->ctl;
	const char *what = "create the control file";
	char tmp[PATH_MAX];
	size_t count = d->registry.count;
	int r;

	if (!c->path)
		return 0;
	r = temporary_path(c->path, tmp, sizeof(tmp));
	if (r < 0) {
		hvcapd_log(LOG_ERR, "%s: cannot create the control file: %s", c->path, strerror(-r));
		return r;
	}

	/* Restored VMs keep their slots even under a lower max_vms than they were created with. */
	c->capacity = hvcapd_max_vms(d);
	if (count > c->capacity)
		c->capacity = (uint32_t)count;
	c->slots = calloc((c->capacity + 63) / 64, sizeof(*c->slots));
	if (!c->slots) {
		r = -ENOMEM;
		goto fail;
	}
	c->control_base = ALIGN_UP(VM_TABLE_OFFSET + ALIGN_UP((uint64_t)c->capacity * sizeof(struct hvcap_ctl_vm), PAGE),
				   (uint64_t)HVCAP_CTL_CONTROL_ALIGN);
	c->file_size = c->control_base + c->n_pages * PAGE;

	/* A temporary file a crash left behind was never published: replace it. */
	if (unlink(tmp) < 0 && errno != ENOENT) {
		r = -errno;
		what = "remove the control file's old temporary file";
		goto fail;
	}
	c->fd = open(tmp, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0640);
	if (c->fd < 0) {
		r = -errno;
		goto fail;
	}
	/* Readers are the owner and the socket's group; the umask must not make it wider or narrower. */
	if (fchmod(c->fd, 0640) < 0) {
		r = -errno;
		what = "set the control file's mode";
		goto fail_unlink;
	}
	if (d->cfg.control_gid != (gid_t)-1 && d->cfg.control_gid != getegid() &&
	    fchown(c->fd, (uid_t)-1, d->cfg.control_gid) < 0)
		hvcapd_log(LOG_WARNING, "%s: cannot give the control file to group %u: %s", c->path,
			   (unsigned)d->cfg.control_gid, strerror(errno));
	if (ftruncate(c->fd, (off_t)c->file_size) < 0) {
		r = -errno;
		what = "size the control file";
		goto fail_unlink;
	}
	c->map = mmap(NULL, c->file_size, PROT_READ | PROT_WRITE, MAP_SHARED, c->fd, 0);
	if (c->map == MAP_FAILED) {
		c->map = NULL;
		r = -errno;
		what = "map the control file";
		goto fail_unlink;
	}

	header_fixed_init(c);
	c->generation = 1;
	c->state = HVCAP_CTL_STATE_STARTING;
	header_publish(c);
	publish_host(c, d->host);
	for (struct hvcapd_vm *vm = d->registry.first; vm; vm = vm->next)
		hvcapd_control_publish_vm(d, vm);
	c->state = HVCAP_CTL_STATE_RUNNING;
	changed(c);

	/* A new inode every start: readers of the previous one see it STOPPED, never this one's changes. */
	if (rename(tmp, c->path) < 0) {
		r = -errno;
		what = "rename the control file into place";
		goto fail_unlink;
	}
	hvcapd_log(LOG_DEBUG, "%s: control plane with %u VM slots, %llu control pages", c->path, c->capacity,
		   (unsigned long long)c->n_pages);
	return 0;

fail_unlink:
	unlink(tmp);
fail:
	hvcapd_log(LOG_ERR, "%s: cannot %s: %s", c->path, what, strerror(-r));
	control_release(c);
	/* VMs keep the slots they were given in memory only; they never outlive the start that failed. */
	for (struct hvcapd_vm *vm = d->registry.first; vm; vm = vm->next)
		vm->ctl_has_slot = false;
	return r;
}

void hvcapd_control_stop(struct hvcapd *d)
{
	struct hvcapd_control *c = &d->ctl;

	if (c->map) {
		c->state = HVCAP_CTL_STATE_STOPPED;
		changed(c);
	}
	control_release(c);
}

void hvcapd_control_done(struct hvcapd *d)
{
	hv_page_arena_free(d->ctl.arena);
	d->ctl.arena = NULL;
}
