/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * hvcapd's shared-memory control plane (include/hvcap/control.h) as the
 * real daemon writes it (tests/unit/daemon-harness.h), compared with
 * what its Varlink API says about the same state.
 *
 * The daemon is idle whenever the test reads the file (every call has
 * been answered), so the test reads the mapping through control.h's
 * structs directly; it still checks every record's seq (even) and
 * checksum before it trusts a field, and never indexes the mapping with
 * a value it has not range-checked.
 *
 * Hosts are model backends from dumps, as in test-daemon-methods.c
 * (tests/unit/daemon-client.h writes them): with $HVCAP_TESTDATA, the
 * EPYC-7601 (AVIC without x2AVIC: hybrid AVIC with avic=on) and an ERAPS
 * host made from the EPYC-9334 (which has SEV-SNP, so snp=on enables it
 * for the allocator); without it, the same made from
 * tests/unit/synthetic-hosts.h's Zen 5-like CPU.
 */

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <json-c/json.h>

#include <hvcap/control.h>
#include <hvcore/vm.h>
#include <libcaps/caps.h>
#include <libcaps/dump.h>
#include <proto/client.h>

#include "daemon-client.h"

#define NOBODY_UID 65534
#define NOBODY_GID 65534
/* hvcapd's default max_vms: the VM table's capacity. */
#define DEFAULT_MAX_VMS 16384
#define SIZE_2M (2u * 1024 * 1024)
#define X2APIC_BASE "\"0xfee00d00\""	/* EN | EXTD | BSP */

/* ------------------------------------------------------------------ */
/* The control file, mapped read-only. */

struct ctl {
	int fd;
	const uint8_t *p;
	size_t size;		/* of the mapping: the file's size when it was mapped */
	struct stat st;
};

static void ctl_map(struct ctl *m, const char *path)
{
	m->fd = open(path, O_RDONLY | O_CLOEXEC);
	ck_assert_msg(m->fd >= 0, "%s: %s", path, strerror(errno));
	ck_assert_int_eq(fstat(m->fd, &m->st), 0);
	m->size = (size_t)m->st.st_size;
	ck_assert_uint_ge(m->size, HVCAP_CTL_PAGE_SIZE);
	m->p = mmap(NULL, m->size, PROT_READ, MAP_SHARED, m->fd, 0);
	ck_assert(m->p != MAP_FAILED);
}

static void ctl_unmap(struct ctl *m)
{
	munmap((void *)m->p, m->size);
	close(m->fd);
}

static bool is_zero(const void *p, size_t n)
{
	const uint8_t *b = p;

	for (size_t i = 0; i < n; i++)
		if (b[i])
			return false;
	return true;
}

static bool has_nul(const char *s, size_t size)
{
	return memchr(s, '\0', size) != NULL;
}

/*
 * The header, checked: the fixed part against control.h, the variable
 * part's seq and checksum, and (current: the mapping is of the file's
 * present size) file_size against the mapping.
 */
static const struct hvcap_ctl_header *header_ok(const struct ctl *m, bool current)
{
	const struct hvcap_ctl_header *h = (const void *)m->p;

	ck_assert(memcmp(h->magic, HVCAP_CTL_MAGIC, sizeof(h->magic)) == 0);
	ck_assert_uint_eq(h->abi_major, HVCAP_CTL_ABI_MAJOR);
	ck_assert_uint_eq(h->abi_minor, HVCAP_CTL_ABI_MINOR);
	ck_assert_uint_eq(h->page_size, HVCAP_CTL_PAGE_SIZE);
	ck_assert_uint_eq(h->header_size, sizeof(struct hvcap_ctl_header));
	ck_assert_uint_eq(h->host_size, sizeof(struct hvcap_ctl_host));
	ck_assert_uint_eq(h->vm_size, sizeof(struct hvcap_ctl_vm));
	ck_assert_uint_eq(h->vcpu_size, sizeof(struct hvcap_ctl_vcpu));
	/* The host record at page 1, eleven pages long; the table right after it. */
	ck_assert_uint_eq(h->host_offset, HVCAP_CTL_PAGE_SIZE);
	ck_assert_uint_eq(h->vm_table_offset, 12 * HVCAP_CTL_PAGE_SIZE);
	ck_assert_uint_ge(h->vm_table_offset, h->host_offset + sizeof(struct hvcap_ctl_host));
	ck_assert_uint_gt(h->vm_table_capacity, 0);
	/* control_base: the table's end rounded up to 2 MiB. */
	ck_assert_uint_eq(h->control_base % HVCAP_CTL_CONTROL_ALIGN, 0);
	ck_assert_uint_ge(h->control_base, h->vm_table_offset + (uint64_t)h->vm_table_capacity * h->vm_size);
	ck_assert_uint_lt(h->control_base - HVCAP_CTL_CONTROL_ALIGN,
			  h->vm_table_offset + (uint64_t)h->vm_table_capacity * h->vm_size);
	ck_assert_uint_eq(h->n_cap_words, NR_CAPS_WORDS);
	ck_assert_uint_le(h->n_cap_words, HVCAP_CTL_CAP_WORDS);

	ck_assert_msg(h->seq % 2 == 0 && h->seq > 0, "header seq %u", h->seq);
	ck_assert_uint_eq(h->check, hvcap_ctl_header_check(h));
	ck_assert_uint_ge(h->generation, 1);
	ck_assert_uint_gt(h->n_control_pages, 0);
	ck_assert_uint_eq(h->file_size, h->control_base + h->n_control_pages * HVCAP_CTL_PAGE_SIZE);
	if (current)
		ck_assert_uint_eq(h->file_size, m->size);
	ck_assert(h->state == HVCAP_CTL_STATE_RUNNING || h->state == HVCAP_CTL_STATE_STOPPED);
	ck_assert_uint_ne(h->writer_pid, 0);
	ck_assert_uint_le(h->n_vms, h->vm_table_capacity);
	ck_assert(is_zero(h->reserved0, sizeof(h->reserved0)));
	return h;
}

static const struct hvcap_ctl_host *host_ok(const struct ctl *m)
{
	const struct hvcap_ctl_header *h = header_ok(m, false);
	const struct hvcap_ctl_host *r = (const void *)(m->p + h->host_offset);

	ck_assert_msg(r->seq % 2 == 0 && r->seq > 0, "host seq %u", r->seq);
	ck_assert_uint_eq(r->check, hvcap_ctl_host_check(r));
	ck_assert_uint_le(r->n_params, HVCAP_CTL_MAX_PARAMS);
	ck_assert(has_nul(r->fingerprint, sizeof(r->fingerprint)));
	ck_assert(has_nul(r->kernel_release, sizeof(r->kernel_release)));
	ck_assert(has_nul(r->vendor_module, sizeof(r->vendor_module)));
	return r;
}

/* Slot i, checked: never written (seq 0, all zero) or a consistent record. */
static const struct hvcap_ctl_vm *slot_ok(const struct ctl *m, uint32_t i)
{
	const struct hvcap_ctl_header *h = (const void *)m->p;
	const struct hvcap_ctl_vm *s;

	check_that(i < h->vm_table_capacity, "slot %u past %u", i, h->vm_table_capacity);
	s = (const void *)(m->p + h->vm_table_offset + (uint64_t)i * h->vm_size);
	if (s->seq == 0) {
		check_that(is_zero(s, sizeof(*s)), "slot %u: seq 0 but not empty", i);
		return s;
	}
	check_that(s->seq % 2 == 0, "slot %u: seq %u is odd", i, s->seq);
	check_that(s->check == hvcap_ctl_vm_check(s), "slot %u: bad checksum", i);
	check_that(has_nul(s->name, sizeof(s->name)) && has_nul(s->policy_name, sizeof(s->policy_name)),
		   "slot %u: names not NUL-terminated", i);
	if (!(s->flags & HVCAP_CTL_VM_USED))
		check_that(s->vm_id == 0 && s->n_vcpus == 0 && s->name[0] == '\0', "slot %u: unused but filled", i);
	return s;
}

/* Control page n, checked like a slot. */
static const struct hvcap_ctl_vcpu *page_ok(const struct ctl *m, uint64_t n)
{
	const struct hvcap_ctl_header *h = (const void *)m->p;
	const struct hvcap_ctl_vcpu *p;

	check_that(n < h->n_control_pages, "page %" PRIu64 " past %" PRIu64, n, h->n_control_pages);
	check_that(h->control_base + (n + 1) * HVCAP_CTL_PAGE_SIZE <= m->size, "page %" PRIu64 " past the mapping", n);
	p = (const void *)(m->p + h->control_base + n * HVCAP_CTL_PAGE_SIZE);
	if (p->seq == 0) {
		check_that(is_zero(p, sizeof(*p)), "page %" PRIu64 ": seq 0 but not empty", n);
		return p;
	}
	check_that(p->seq % 2 == 0, "page %" PRIu64 ": seq %u is odd", n, p->seq);
	check_that(p->check == hvcap_ctl_vcpu_check(p), "page %" PRIu64 ": bad checksum", n);
	if (!(p->flags & HVCAP_CTL_VCPU_USED))
		check_that(is_zero(p->vmcb_reserved0, HVCAP_CTL_VCPU_RECORD) && p->vm_id == 0 && p->cr3 == 0,
			   "page %" PRIu64 ": unused but filled", n);
	return p;
}

/* The one slot in use for VM id, or NULL. */
static const struct hvcap_ctl_vm *slot_of(const struct ctl *m, uint32_t id)
{
	const struct hvcap_ctl_header *h = (const void *)m->p;
	const struct hvcap_ctl_vm *found = NULL;

	for (uint32_t i = 0; i < h->vm_table_capacity; i++) {
		const struct hvcap_ctl_vm *s = slot_ok(m, i);

		if ((s->flags & HVCAP_CTL_VM_USED) && s->vm_id == id) {
			check_that(!found, "VM %u has two slots", id);
			found = s;
		}
	}
	return found;
}

/* ------------------------------------------------------------------ */
/* The host record against io.hvcap.Host.Describe and GetCapabilities. */

static void assert_host_is_describe(const struct ctl *m, bool snp, bool hybrid)
{
	const struct hvcap_ctl_host *r = host_ok(m);
	struct json_object *p = ok("io.hvcap.Host.Describe", NULL), *host = get(p, "host"), *params, *mc, *c;
	struct caps want;
	uint32_t k = 0;

	ck_assert_uint_eq(r->backend, strcmp(get_str(host, "backend"), "kvm") == 0 ? HVCAP_CTL_BACKEND_KVM
										     : HVCAP_CTL_BACKEND_MODEL);
	ck_assert_str_eq(r->fingerprint, get_str(host, "fingerprint"));
	ck_assert_str_eq(r->kernel_release, get_str(host, "kernel_release"));
	ck_assert_str_eq(r->vendor_module, get_str(host, "vendor_module"));
	ck_assert_uint_eq(r->api_version, get_int(host, "api_version"));
	ck_assert_uint_eq(r->microcode, json_object_object_get_ex(host, "microcode", &mc) ? get_hex(host, "microcode") : 0);
	ck_assert_uint_eq(!!(r->flags & HVCAP_CTL_HOST_SNP), snp);
	ck_assert_uint_eq(!!(r->flags & HVCAP_CTL_HOST_HYBRID_AVIC), hybrid);

	/* Every parameter, in order. */
	params = get(host, "params");
	ck_assert_uint_gt(json_object_array_length(params), 0);
	for (size_t i = 0; i < json_object_array_length(params); i++) {
		struct json_object *q = json_object_array_get_idx(params, i);
		const char *module = get_str(q, "module"), *name = get_str(q, "name"), *value = get_str(q, "value");

		ck_assert_uint_lt(k, r->n_params);
		ck_assert_str_eq(r->params[k].module, module);
		ck_assert_str_eq(r->params[k].name, name);
		ck_assert_str_eq(r->params[k].value, value);
		k++;
	}
	ck_assert_uint_eq(k, r->n_params);
	ck_assert(is_zero(&r->params[k], (HVCAP_CTL_MAX_PARAMS - k) * sizeof(r->params[0])));

	/* kvm_caps: Describe's features. */
	features_from_json(get(host, "features"), &want);
	assert_words_are(r->kvm_caps, &want, "kvm_caps");
	json_object_put(p);

	/* host_caps and kvm_caps: GetCapabilities' "host" and "kvm" for every catalog feature. */
	p = ok("io.hvcap.Host.GetCapabilities", "{\"all\": true}");
	c = get(p, "features");
	ck_assert_uint_gt(json_object_array_length(c), 100);
	for (size_t i = 0; i < json_object_array_length(c); i++) {
		struct json_object *f = json_object_array_get_idx(c, i);
		int id = caps_feature_lookup(get_str(f, "name"));

		check_that(id >= 0, "unknown feature %s", get_str(f, "name"));
		check_that(word_has(r->host_caps, id) == get_bool(f, "host"), "host_caps: %s", get_str(f, "name"));
		check_that(word_has(r->kvm_caps, id) == get_bool(f, "kvm"), "kvm_caps: %s", get_str(f, "name"));
	}
	json_object_put(p);
}

/* ------------------------------------------------------------------ */
/* VM slots and control pages against io.hvcap.Vm.Get. */

/* A field of a vCPU's page against Vm.Get's value. */
#define check_field(a, b, id, what)							\
	check_that((uint64_t)(a) == (uint64_t)(b), "vCPU %u: %s is %" PRIu64 ", Get says %" PRIu64,	\
		   id, what, (uint64_t)(a), (uint64_t)(b))

static void assert_vcpu_is_get(const struct hvcap_ctl_vcpu *p, uint32_t vm, struct json_object *c)
{
	uint32_t id = (uint32_t)get_int(c, "vcpu");
	struct caps want;

	check_that(p->flags & HVCAP_CTL_VCPU_USED, "vCPU %u: page not in use", id);
	check_field(p->vm_id, vm, id, "vm_id");
	check_field(p->vcpu_id, id, id, "vcpu_id");
	check_field(!!(p->flags & HVCAP_CTL_VCPU_CPUID_FROZEN), get_bool(c, "cpuid_frozen"), id, "CPUID_FROZEN");
	check_field(!!(p->flags & HVCAP_CTL_VCPU_GUEST_MODE), get_bool(c, "guest_mode"), id, "GUEST_MODE");
	check_field(!!(p->flags & HVCAP_CTL_VCPU_RAP_DIRTY), get_bool(c, "rap_dirty"), id, "RAP_DIRTY");
	check_field(!!(p->flags & HVCAP_CTL_VCPU_APICV_ACTIVE), get_bool(c, "apicv_active"), id, "APICV_ACTIVE");
	check_field(p->flags & ~0x1fu, 0, id, "unknown flags");
	check_field(p->n_cpuid_entries, get_int(c, "cpuid_entries"), id, "n_cpuid_entries");
	check_field(p->apic_base, get_hex(c, "apic_base"), id, "apic_base");
	check_field(p->apic_mode, apic_mode_of(get_str(c, "apic_mode")), id, "apic_mode");
	check_field(p->cr3, get_hex(c, "cr3"), id, "cr3");
	/* erap_ctl at the VMCB's offset, byte for byte. */
	check_field(((const uint8_t *)p)[HVCAP_CTL_VMCB_ERAP_CTL], get_int(c, "erap_ctl"), id, "erap_ctl");
	check_field(p->vmcb02_erap_ctl, get_int(c, "vmcb02_erap_ctl"), id, "vmcb02_erap_ctl");
	check_field(p->maxphyaddr, get_int(c, "maxphyaddr"), id, "maxphyaddr");
	features_from_json(get(c, "features"), &want);
	assert_words_are(p->cpu_caps, &want, "cpu_caps");
}

/*
 * VM id's slot and vCPU pages equal Vm.Get; order (n entries, or NULL)
 * is the creation order the chain must follow.  Pages the VM uses are
 * marked in used (one byte per control page).
 */
static void assert_vm_is_get(const struct ctl *m, uint32_t id, const uint32_t *order, size_t n, uint8_t *used)
{
	const struct hvcap_ctl_vm *s = slot_of(m, id);
	struct json_object *v = vm_info(id);
	struct json_object *vcpus = get(v, "vcpus");
	uint64_t page;

	ck_assert_msg(s, "VM %u has no slot", id);
	ck_assert_str_eq(s->name, get_str(v, "name"));
	ck_assert_str_eq(s->policy_name, get_str(v, "policy_name"));
	ck_assert_uint_eq(!!(s->flags & HVCAP_CTL_VM_HYBRID_AVIC), get_bool(v, "hybrid_avic"));
	ck_assert_uint_eq(s->flags & ~(HVCAP_CTL_VM_USED | HVCAP_CTL_VM_HYBRID_AVIC | HVCAP_CTL_VM_SNP), 0);
	ck_assert_uint_eq(s->apic_access_memslot, memslot_of(get_str(v, "apic_access_memslot")));
	ck_assert_uint_eq(s->apicv_inhibits, inhibits_of(get(v, "apicv_inhibits")));
	ck_assert_uint_eq(s->n_vcpus, json_object_array_length(vcpus));
	if (order)
		ck_assert_uint_eq(s->n_vcpus, n);

	/* The chain: every vCPU once, in creation order, then the end. */
	page = s->first_vcpu_page;
	for (uint32_t i = 0; i < s->n_vcpus; i++) {
		const struct hvcap_ctl_vcpu *p = page_ok(m, page);

		ck_assert_msg(!used[page], "page %" PRIu64 " twice", page);
		used[page] = 1;
		if (order)
			ck_assert_uint_eq(p->vcpu_id, order[i]);
		assert_vcpu_is_get(p, id, vcpu_info(v, p->vcpu_id));
		page = p->next_page;
	}
	ck_assert_msg(page == HVCAP_CTL_NO_PAGE, "VM %u: the chain goes on past %u vCPUs", id, s->n_vcpus);
	json_object_put(v);
}

/*
 * The whole plane equals the API: every listed VM (order, if given, for
 * VM order_vm), no other slot in use, and no control page in use but the
 * VMs' vCPU pages.  Returns the number of pages in use.
 */
static size_t assert_plane_is_api(const struct ctl *m, uint32_t order_vm, const uint32_t *order, size_t n)
{
	const struct hvcap_ctl_header *h = header_ok(m, true);
	struct json_object *p = ok("io.hvcap.Vm.List", NULL), *vms = get(p, "vms");
	uint8_t *used = calloc(h->n_control_pages, 1);
	uint32_t slots = 0;
	size_t pages = 0;

	ck_assert_ptr_nonnull(used);
	ck_assert_uint_eq(h->state, HVCAP_CTL_STATE_RUNNING);
	for (size_t i = 0; i < json_object_array_length(vms); i++) {
		uint32_t id = (uint32_t)get_int(json_object_array_get_idx(vms, i), "vm");

		assert_vm_is_get(m, id, id == order_vm ? order : NULL, n, used);
	}
	for (uint32_t i = 0; i < h->vm_table_capacity; i++)
		slots += !!(slot_ok(m, i)->flags & HVCAP_CTL_VM_USED);
	ck_assert_uint_eq(slots, json_object_array_length(vms));
	ck_assert_uint_eq(h->n_vms, slots);
	for (uint64_t k = 0; k < h->n_control_pages; k++) {
		const struct hvcap_ctl_vcpu *pg = page_ok(m, k);

		check_that(!!(pg->flags & HVCAP_CTL_VCPU_USED) == used[k], "page %" PRIu64 ": used %d, listed %d", k,
			   !!(pg->flags & HVCAP_CTL_VCPU_USED), used[k]);
		pages += used[k];
	}
	free(used);
	json_object_put(p);
	return pages;
}

/* The header's updates, which must grow with every change. */
static uint64_t updates(const struct ctl *m)
{
	return header_ok(m, false)->updates;
}

/* Page numbers of a VM's vCPUs, in chain order, into pages[] (at most max). */
static size_t vm_pages(const struct ctl *m, uint32_t id, uint64_t *pages, size_t max)
{
	const struct hvcap_ctl_vm *s = slot_of(m, id);
	uint64_t page;
	size_t n = 0;

	ck_assert_ptr_nonnull(s);
	for (page = s->first_vcpu_page; page != HVCAP_CTL_NO_PAGE; page = page_ok(m, page)->next_page) {
		ck_assert_uint_lt(n, max);
		pages[n++] = page;
	}
	return n;
}

/* ------------------------------------------------------------------ */
/* The file: header, host record, stop. */

START_TEST(test_control_header_host_and_stop)
{
	static struct caps_dump d;
	const struct hvcap_ctl_header *h;
	const struct hvcap_ctl_host *r;
	struct json_object *p;
	uint64_t u, seq;
	struct stat st;
	struct ctl m;

	setup_dumps();
	start_model(false, dump_hybrid, "--param", "avic=on", NULL);
	ctl_map(&m, control_path);
	h = header_ok(&m, true);
	ck_assert_uint_eq(h->state, HVCAP_CTL_STATE_RUNNING);
	ck_assert_uint_eq(h->writer_pid, (uint32_t)td.pid);
	ck_assert_uint_eq(h->vm_table_capacity, DEFAULT_MAX_VMS);
	ck_assert_uint_eq(h->n_vms, 0);
	/* The table is 4 MiB: control_base is at 6 MiB, and one 2 MiB extent of pages follows. */
	ck_assert_uint_eq(h->control_base, 3 * SIZE_2M);
	ck_assert_uint_eq(h->n_control_pages, SIZE_2M / HVCAP_CTL_PAGE_SIZE);
	/* A regular file, 0640, sparse: what was never written costs nothing. */
	ck_assert(S_ISREG(m.st.st_mode));
	ck_assert_uint_eq(m.st.st_mode & 07777, 0640);
	ck_assert_uint_lt((uint64_t)m.st.st_blocks * 512, m.size / 8);
	for (uint32_t i = 0; i < h->vm_table_capacity; i++)
		check_that(is_zero(slot_ok(&m, i), sizeof(struct hvcap_ctl_vm)), "slot %u written", i);

	/* The host record is Describe's; hybrid AVIC, no SNP. */
	assert_host_is_describe(&m, false, true);

	/* A reload that changes nothing publishes nothing. */
	u = updates(&m);
	r = host_ok(&m);
	seq = r->seq;
	p = ok("io.hvcap.Host.Reload", NULL);
	ck_assert(!get_bool(p, "changed"));
	json_object_put(p);
	ck_assert_uint_eq(updates(&m), u);
	ck_assert_uint_eq(r->seq, seq);

	/* Host.Reload over a changed host: the new record, in the same turn. */
	hybrid_host(&d);
	set_feature(&d, X86_FEATURE_AVX2, false);
	write_dump(&d, dump_hybrid);
	p = ok("io.hvcap.Host.Reload", NULL);
	ck_assert(get_bool(p, "changed"));
	ck_assert_str_eq(host_ok(&m)->fingerprint, get_str(p, "fingerprint"));
	json_object_put(p);
	ck_assert_uint_gt(updates(&m), u);
	ck_assert_uint_gt(r->seq, seq);
	assert_host_is_describe(&m, false, true);

	/* SIGHUP: the same, once the daemon got to it. */
	hybrid_host(&d);
	write_dump(&d, dump_hybrid);
	u = updates(&m);
	kill(td.pid, SIGHUP);
	ck_assert_int_eq(test_daemon_wait_notify(&td, "READY=1", 20000), 0);
	ck_assert_uint_gt(updates(&m), u);
	assert_host_is_describe(&m, false, true);

	/* A clean stop: STOPPED, published, and the file stays. */
	u = updates(&m);
	stop(SIGTERM);
	h = header_ok(&m, true);
	ck_assert_uint_eq(h->state, HVCAP_CTL_STATE_STOPPED);
	ck_assert_uint_eq(h->updates, u + 1);
	ck_assert_int_eq(stat(control_path, &st), 0);
	ck_assert_uint_eq(st.st_ino, m.st.st_ino);
	ctl_unmap(&m);
}
END_TEST

/* ------------------------------------------------------------------ */
/* VM slots and control pages. */

START_TEST(test_control_vms_on_hybrid_avic_host)
{
	uint32_t order[] = { 0, 1, 2, 7, 3 };
	uint64_t b_pages[8], u;
	uint32_t a, b;
	size_t nb;
	struct ctl m;

	setup_dumps();
	start_model(false, dump_hybrid, "--param", "avic=on", NULL);
	ctl_map(&m, control_path);

	a = create("hy", "{\"name\": \"tmpl\", \"vcpus\": 3, \"apic\": \"x2apic\"}");
	b = create("other", "{\"vcpus\": 2}");
	ck_assert_uint_eq(assert_plane_is_api(&m, a, order, 3), 5);
	ck_assert_str_eq(slot_of(&m, a)->policy_name, "tmpl");
	ck_assert(slot_of(&m, a)->flags & HVCAP_CTL_VM_HYBRID_AVIC);
	ck_assert_uint_eq(slot_of(&m, a)->apic_access_memslot, HVCAP_CTL_MEMSLOT_ENABLED);

	/* Hot-plug: an explicit id, then the lowest free one; the chain keeps creation order. */
	u = updates(&m);
	json_object_put(ok("io.hvcap.Vm.AddVcpu", "{\"vm\": 1, \"vcpu\": 7}"));
	ck_assert_uint_gt(updates(&m), u);
	json_object_put(ok("io.hvcap.Vm.AddVcpu", "{\"vm\": 1}"));
	ck_assert_uint_eq(assert_plane_is_api(&m, a, order, 5), 7);

	/* x2APIC under hybrid AVIC inhibits the memslot: the slot says so in the same turn. */
	u = updates(&m);
	json_object_put(vcpu_call("io.hvcap.Vm.SetApicBase", a, 0, ", \"value\": " X2APIC_BASE));
	ck_assert_uint_gt(updates(&m), u);
	ck_assert_uint_eq(slot_of(&m, a)->apic_access_memslot, HVCAP_CTL_MEMSLOT_INHIBITED);
	assert_plane_is_api(&m, a, order, 5);

	/* CR3, INIT, a run (CPUID frozen). */
	json_object_put(vcpu_call("io.hvcap.Vm.WriteCr3", a, 1, ", \"cr3\": \"0x1000\""));
	json_object_put(vcpu_call("io.hvcap.Vm.Init", a, 2, ""));
	json_object_put(vcpu_call("io.hvcap.Vm.Run", a, 2, ""));
	assert_plane_is_api(&m, a, order, 5);
	ck_assert(page_ok(&m, slot_of(&m, a)->first_vcpu_page)->apic_mode == HVCAP_CTL_APIC_X2APIC);

	/* A mutating call that changes nothing (the same APIC base again) publishes nothing. */
	u = updates(&m);
	json_object_put(vcpu_call("io.hvcap.Vm.SetApicBase", a, 0, ", \"value\": " X2APIC_BASE));
	ck_assert_uint_eq(updates(&m), u);

	/* Delete: the slot is free and the pages are unused records. */
	nb = vm_pages(&m, b, b_pages, ARRAY_SIZE(b_pages));
	ck_assert_uint_eq(nb, 2);
	delete_vm(b);
	ck_assert_ptr_null(slot_of(&m, b));
	for (size_t i = 0; i < nb; i++) {
		const struct hvcap_ctl_vcpu *p = page_ok(&m, b_pages[i]);

		ck_assert_uint_gt(p->seq, 0);
		ck_assert_uint_eq(p->flags, 0);
	}
	ck_assert_uint_eq(assert_plane_is_api(&m, a, order, 5), 5);
	ck_assert_uint_eq(header_ok(&m, true)->n_vms, 1);

	/* A new VM may take the freed pages: they are written again, whole. */
	create("third", "{\"vcpus\": 2}");
	ck_assert_uint_eq(assert_plane_is_api(&m, a, order, 5), 7);
	ctl_unmap(&m);
}
END_TEST

START_TEST(test_control_vms_on_eraps_host)
{
	const struct hvcap_ctl_vcpu *p;
	uint64_t e_pages[4];
	uint32_t e, plain;
	struct ctl m;

	setup_dumps();
	start_model(false, dump_eraps, NULL);
	ctl_map(&m, control_path);
	e = create("e", "{\"features\": {\"eraps\": \"require\", \"svm\": \"require\"}, \"vcpus\": 2}");
	plain = create("plain", "{\"features\": {\"avx2\": \"require\"}}");
	assert_plane_is_api(&m, 0, NULL, 0);
	ck_assert_uint_eq(vm_pages(&m, e, e_pages, ARRAY_SIZE(e_pages)), 2);
	p = page_ok(&m, e_pages[0]);
	ck_assert(word_has(p->cpu_caps, X86_FEATURE_ERAPS));
	ck_assert(word_has(p->cpu_caps, X86_FEATURE_SVM));
	ck_assert(!(slot_of(&m, e)->flags & HVCAP_CTL_VM_HYBRID_AVIC));

	/* RESET left the RAP dirty; the first VMRUN flushes it and freezes CPUID. */
	ck_assert(p->flags & HVCAP_CTL_VCPU_RAP_DIRTY);
	json_object_put(vcpu_call("io.hvcap.Vm.Run", e, 0, ""));
	ck_assert(!(p->flags & HVCAP_CTL_VCPU_RAP_DIRTY));
	ck_assert(p->flags & HVCAP_CTL_VCPU_CPUID_FROZEN);
	assert_plane_is_api(&m, 0, NULL, 0);

	/* A CR3 write dirties the RAP. */
	json_object_put(vcpu_call("io.hvcap.Vm.WriteCr3", e, 0, ", \"cr3\": \"0x1000\""));
	ck_assert(p->flags & HVCAP_CTL_VCPU_RAP_DIRTY);
	ck_assert_uint_eq(p->cr3, 0x1000);
	assert_plane_is_api(&m, 0, NULL, 0);

	/* L2: vmcb02 = (vmcb12 & ALLOW_LARGER_RAP) | CLEAR_RAP. */
	json_object_put(vcpu_call("io.hvcap.Vm.NestedRun", e, 0, ", \"vmcb12_erap_ctl\": 1"));
	ck_assert(p->flags & HVCAP_CTL_VCPU_GUEST_MODE);
	ck_assert_uint_eq(p->vmcb02_erap_ctl, HVCAP_CTL_ERAP_ALLOW_LARGER_RAP | HVCAP_CTL_ERAP_CLEAR_RAP);
	assert_plane_is_api(&m, 0, NULL, 0);

	/* The nested #VMEXIT: vmcb01 gets CLEAR_RAP, at the VMCB's offset. */
	json_object_put(vcpu_call("io.hvcap.Vm.NestedExit", e, 0, ""));
	ck_assert(!(p->flags & HVCAP_CTL_VCPU_GUEST_MODE));
	ck_assert(p->erap_ctl & HVCAP_CTL_ERAP_CLEAR_RAP);
	assert_plane_is_api(&m, 0, NULL, 0);
	json_object_put(vcpu_call("io.hvcap.Vm.Run", e, 0, ""));
	ck_assert(!(p->erap_ctl & HVCAP_CTL_ERAP_CLEAR_RAP));

	/* INIT on the other vCPU: ALLOW_LARGER_RAP, as the guest has ERAPS now. */
	json_object_put(vcpu_call("io.hvcap.Vm.Init", e, 1, ""));
	ck_assert(page_ok(&m, e_pages[1])->erap_ctl & HVCAP_CTL_ERAP_ALLOW_LARGER_RAP);
	json_object_put(vcpu_call("io.hvcap.Vm.Run", e, 1, ""));
	assert_plane_is_api(&m, 0, NULL, 0);

	/* Delete both: nothing in use. */
	delete_vm(e);
	for (size_t i = 0; i < 2; i++)
		ck_assert_uint_eq(page_ok(&m, e_pages[i])->flags, 0);
	delete_vm(plain);
	ck_assert_uint_eq(assert_plane_is_api(&m, 0, NULL, 0), 0);
	ck_assert_uint_eq(header_ok(&m, true)->n_vms, 0);
	ctl_unmap(&m);
}
END_TEST

/* ------------------------------------------------------------------ */
/* Growth. */

START_TEST(test_control_grows_and_keeps_offsets)
{
	const struct hvcap_ctl_header *h0;
	uint64_t a_pages[128], gen0, pages0, size0;
	struct hvcap_ctl_vm a_slot;
	uint8_t *a_copy;
	struct ctl m0, m1;
	struct stat st;
	size_t na;
	uint32_t a;

	setup_dumps();
	/* No AVIC: one control page per vCPU. */
	start_model(false, dump_eraps, NULL);
	ctl_map(&m0, control_path);
	h0 = header_ok(&m0, true);
	gen0 = h0->generation;
	pages0 = h0->n_control_pages;
	size0 = h0->file_size;

	a = create("a", "{\"vcpus\": 100}");
	json_object_put(vcpu_call("io.hvcap.Vm.WriteCr3", a, 5, ", \"cr3\": \"0x2000\""));
	na = vm_pages(&m0, a, a_pages, ARRAY_SIZE(a_pages));
	ck_assert_uint_eq(na, 100);
	a_copy = malloc(na * HVCAP_CTL_PAGE_SIZE);
	ck_assert_ptr_nonnull(a_copy);
	for (size_t i = 0; i < na; i++)
		memcpy(a_copy + i * HVCAP_CTL_PAGE_SIZE, page_ok(&m0, a_pages[i]), HVCAP_CTL_PAGE_SIZE);
	a_slot = *slot_of(&m0, a);

	/* 700 vCPUs in all: past the first 512 pages. */
	create("b", "{\"vcpus\": 300}");
	create("c", "{\"vcpus\": 300}");

	/* The old mapping sees the new size and generation in the header (same inode). */
	h0 = header_ok(&m0, false);
	ck_assert_uint_gt(h0->generation, gen0);
	ck_assert_uint_gt(h0->n_control_pages, pages0);
	ck_assert_uint_ge(h0->n_control_pages, 700);
	ck_assert_uint_gt(h0->file_size, size0);
	ck_assert_int_eq(stat(control_path, &st), 0);
	ck_assert_uint_eq(st.st_ino, m0.st.st_ino);
	ck_assert_uint_eq((uint64_t)st.st_size, h0->file_size);
	/* Pages published before the growth are where they were, and as they were, in the old mapping too. */
	for (size_t i = 0; i < na; i++)
		ck_assert_msg(memcmp(a_copy + i * HVCAP_CTL_PAGE_SIZE, page_ok(&m0, a_pages[i]), HVCAP_CTL_PAGE_SIZE) == 0,
			      "page %" PRIu64 " changed", a_pages[i]);

	/* A reader remaps by generation: the same offsets, the same contents. */
	ctl_map(&m1, control_path);
	header_ok(&m1, true);
	ck_assert(memcmp(slot_of(&m1, a), &a_slot, sizeof(a_slot)) == 0);
	for (size_t i = 0; i < na; i++)
		ck_assert(memcmp(a_copy + i * HVCAP_CTL_PAGE_SIZE, page_ok(&m1, a_pages[i]), HVCAP_CTL_PAGE_SIZE) == 0);
	ck_assert_uint_eq(assert_plane_is_api(&m1, 0, NULL, 0), 700);
	free(a_copy);
	ctl_unmap(&m1);
	ctl_unmap(&m0);
}
END_TEST

/*
 * A growth the file system refuses (RLIMIT_FSIZE at the file's first
 * size) fails the call with LimitExceeded and changes nothing: not the
 * VMs, not the state, not the file.
 */
START_TEST(test_control_failed_growth_changes_nothing)
{
	const struct hvcap_ctl_header *h;
	struct json_object *before, *after, *e;
	uint64_t gen, upd, size, b_pages[2], a_pages[600];
	char conf[400], limit[256];
	struct ctl m;
	struct stat st;
	uint32_t a, b;
	FILE *f;

	setup_dumps();
	/* 4 VM slots: control_base at 2 MiB, 2 MiB of pages, a 4 MiB file. */
	snprintf(conf, sizeof(conf), "%s/hvcapd.conf", dumps_dir);
	f = fopen(conf, "w");
	ck_assert_ptr_nonnull(f);
	fputs("max_vms = 4\n", f);
	fclose(f);
	daemon_fsize = 2 * SIZE_2M;
	start_model(false, dump_eraps, "--config", conf, NULL);
	ctl_map(&m, control_path);
	h = header_ok(&m, true);
	ck_assert_uint_eq(h->vm_table_capacity, 4);
	ck_assert_uint_eq(h->control_base, SIZE_2M);
	ck_assert_uint_eq(h->file_size, 2 * SIZE_2M);

	/* 512 vCPUs fill the 512 pages. */
	a = create("a", "{\"vcpus\": 511}");
	b = create("b", "{}");
	ck_assert_uint_eq(assert_plane_is_api(&m, 0, NULL, 0), 512);
	before = vm_info(a);
	gen = h->generation;
	upd = h->updates;
	size = h->file_size;

	e = fails_p("io.hvcap.Vm.AddVcpu", "{\"vm\": 1}", "io.hvcap.LimitExceeded");
	ck_assert_str_eq(get_str(e, "limit"), "space");
	json_object_put(e);
	json_object_put(fails_p("io.hvcap.Vm.Create", "{\"name\": \"c\", \"policy\": {}}", "io.hvcap.LimitExceeded"));
	snprintf(limit, sizeof(limit), "%s: cannot grow", control_path);
	ck_assert(log_contains(limit));

	after = vm_info(a);
	ck_assert(json_object_equal(before, after));
	json_object_put(after);
	json_object_put(before);
	h = header_ok(&m, true);
	ck_assert_uint_eq(h->generation, gen);
	ck_assert_uint_eq(h->updates, upd);
	ck_assert_uint_eq(h->file_size, size);
	ck_assert_int_eq(stat(control_path, &st), 0);
	ck_assert_uint_eq((uint64_t)st.st_size, size);
	ck_assert_uint_eq(assert_plane_is_api(&m, 0, NULL, 0), 512);

	/* A freed page is room again: no growth needed. */
	ck_assert_uint_eq(vm_pages(&m, b, b_pages, ARRAY_SIZE(b_pages)), 1);
	delete_vm(b);
	json_object_put(ok("io.hvcap.Vm.AddVcpu", "{\"vm\": 1}"));
	ck_assert_uint_eq(vm_pages(&m, a, a_pages, ARRAY_SIZE(a_pages)), 512);
	ck_assert_uint_eq(a_pages[511], b_pages[0]);
	ck_assert_uint_eq(assert_plane_is_api(&m, 0, NULL, 0), 512);
	ck_assert_uint_eq(page_ok(&m, b_pages[0])->vm_id, a);
	ck_assert_uint_eq(header_ok(&m, true)->generation, gen);
	ctl_unmap(&m);
}
END_TEST

/* ------------------------------------------------------------------ */
/* SEV-SNP: no control page in use at a 2 MiB aligned offset. */

/* The number of pages in use at a 2 MiB aligned file offset. */
static unsigned aligned_pages_in_use(const struct ctl *m)
{
	const struct hvcap_ctl_header *h = header_ok(m, true);
	unsigned n = 0;

	for (uint64_t k = 0; k < h->n_control_pages; k++)
		if ((page_ok(m, k)->flags & HVCAP_CTL_VCPU_USED) &&
		    (h->control_base + k * HVCAP_CTL_PAGE_SIZE) % SIZE_2M == 0)
			n++;
	return n;
}

START_TEST(test_control_snp_pages_avoid_2m_offsets)
{
	bool snp = _i;
	size_t used;
	struct ctl m;

	setup_dumps();
	start_model(false, dump_eraps, "--param", snp ? "snp=on" : "snp=off", NULL);
	ctl_map(&m, control_path);
	assert_host_is_describe(&m, snp, false);
	create("s1", "{\"vcpus\": 301}");
	create("s2", "{\"vcpus\": 301}");
	ctl_unmap(&m);
	/* Grown past 2 MiB boundaries: map it again. */
	ctl_map(&m, control_path);
	used = assert_plane_is_api(&m, 0, NULL, 0);
	ck_assert_uint_eq(used, 602);
	/* The VMs say where their pages are: created on an SNP host or not. */
	for (uint32_t i = 0; i < header_ok(&m, true)->vm_table_capacity; i++) {
		const struct hvcap_ctl_vm *v = slot_ok(&m, i);

		if (v->flags & HVCAP_CTL_VM_USED)
			ck_assert_uint_eq(!!(v->flags & HVCAP_CTL_VM_SNP), snp);
	}
	/* With SNP every vCPU costs an order-1 block, and the arena grew twice. */
	ck_assert_uint_ge(header_ok(&m, true)->n_control_pages, snp ? 2048 : 1024);
	/* Negative row: without SNP the allocator starts at pfn 0, control_base itself. */
	if (snp)
		ck_assert_uint_eq(aligned_pages_in_use(&m), 0);
	else
		ck_assert_uint_ge(aligned_pages_in_use(&m), 2);
	ctl_unmap(&m);
}
END_TEST

/* ------------------------------------------------------------------ */
/* Restarts: a new inode every start; the old one says STOPPED. */

START_TEST(test_control_restart_makes_new_inode)
{
	const struct hvcap_ctl_header *h;
	uint32_t order[] = { 0, 1, 5 };
	struct ctl old, cur, killed;
	uint64_t u;
	struct stat st;
	uint32_t a;
	DIR *dir;
	struct dirent *de;

	setup_dumps();
	start_model(false, dump_hybrid, "--param", "avic=on", NULL);
	a = create("r", "{\"vcpus\": 2, \"apic\": \"x2apic\"}");
	json_object_put(ok("io.hvcap.Vm.AddVcpu", "{\"vm\": 1, \"vcpu\": 5}"));
	json_object_put(vcpu_call("io.hvcap.Vm.SetApicBase", a, 1, ", \"value\": " X2APIC_BASE));
	json_object_put(vcpu_call("io.hvcap.Vm.Run", a, 0, ""));
	create("s", "{}");
	ctl_map(&old, control_path);
	assert_plane_is_api(&old, a, order, 3);
	stop(SIGTERM);
	h = header_ok(&old, true);
	ck_assert_uint_eq(h->state, HVCAP_CTL_STATE_STOPPED);
	u = h->updates;

	/* The restarted daemon publishes the restored VMs in a file of its own. */
	start_model(true, dump_hybrid, "--param", "avic=on", NULL);
	ctl_map(&cur, control_path);
	ck_assert_uint_ne(cur.st.st_ino, old.st.st_ino);
	h = header_ok(&cur, true);
	ck_assert_uint_eq(h->state, HVCAP_CTL_STATE_RUNNING);
	ck_assert_uint_eq(h->writer_pid, (uint32_t)td.pid);
	ck_assert_uint_eq(h->n_vms, 2);
	assert_plane_is_api(&cur, a, order, 3);
	ck_assert_uint_eq(slot_of(&cur, a)->apic_access_memslot, HVCAP_CTL_MEMSLOT_INHIBITED);
	/* The old inode never changes again. */
	h = header_ok(&old, true);
	ck_assert_uint_eq(h->state, HVCAP_CTL_STATE_STOPPED);
	ck_assert_uint_eq(h->updates, u);
	delete_vm(a);
	ck_assert_uint_eq(header_ok(&old, true)->updates, u);
	ck_assert_ptr_nonnull(slot_of(&old, a));

	/* After SIGKILL the file still says RUNNING; the next start replaces it all the same. */
	stop(SIGKILL);
	ck_assert_uint_eq(header_ok(&cur, true)->state, HVCAP_CTL_STATE_RUNNING);
	start_model(true, dump_hybrid, "--param", "avic=on", NULL);
	ctl_map(&killed, control_path);
	ck_assert_uint_ne(killed.st.st_ino, cur.st.st_ino);
	ck_assert_uint_eq(header_ok(&killed, true)->writer_pid, (uint32_t)td.pid);
	assert_plane_is_api(&killed, 0, NULL, 0);
	ck_assert_uint_eq(header_ok(&killed, true)->n_vms, 1);

	/* No temporary file is left beside it. */
	dir = opendir(td.dir);
	ck_assert_ptr_nonnull(dir);
	while ((de = readdir(dir)))
		ck_assert_msg(!strstr(de->d_name, ".tmp"), "left over: %s", de->d_name);
	closedir(dir);
	ck_assert_int_eq(stat(control_path, &st), 0);
	ctl_unmap(&killed);
	ctl_unmap(&cur);
	ctl_unmap(&old);
}
END_TEST

/* ------------------------------------------------------------------ */
/* Permissions. */

/* open(path, flags) as uid/gid (no supplementary groups): 0 or the errno. */
static int open_as(const char *path, uid_t uid, gid_t gid, int flags)
{
	int status = 0;
	pid_t pid = fork();

	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		int fd;

		if (setgroups(0, NULL) < 0 || setresgid(gid, gid, gid) < 0 || setresuid(uid, uid, uid) < 0)
			_exit(255);
		fd = open(path, flags | O_CLOEXEC);
		_exit(fd >= 0 ? 0 : errno);
	}
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert(WIFEXITED(status) && WEXITSTATUS(status) != 255);
	return WEXITSTATUS(status);
}

START_TEST(test_control_permissions)
{
	struct group *gr = getgrgid(NOBODY_GID);
	char group[64];
	struct stat st, sock;

	if (geteuid() != 0) {
		fprintf(stderr, "skipped: dropping to nobody needs root\n");
		return;
	}
	ck_assert_msg(gr, "no group %u", NOBODY_GID);
	snprintf(group, sizeof(group), "%s", gr->gr_name);
	setup_dumps();

	/* The admin group's members read the file; nobody else does, and nobody writes. */
	start_model(false, dump_eraps, "--admin-group", group, NULL);
	ck_assert_int_eq(chmod(td.dir, 0711), 0);
	ck_assert_int_eq(stat(control_path, &st), 0);
	ck_assert_uint_eq(st.st_mode & 07777, 0640);
	ck_assert_uint_eq(st.st_uid, geteuid());
	ck_assert_uint_eq(st.st_gid, NOBODY_GID);
	ck_assert_int_eq(open_as(control_path, NOBODY_UID, NOBODY_GID, O_RDWR), EACCES);
	ck_assert_int_eq(open_as(control_path, NOBODY_UID, NOBODY_GID, O_RDONLY), 0);
	ck_assert_int_eq(open_as(control_path, NOBODY_UID, NOBODY_GID - 1, O_RDONLY), EACCES);
	ck_assert_int_eq(open_as(control_path, NOBODY_UID, NOBODY_GID - 1, O_RDWR), EACCES);
	stop(SIGTERM);

	/* Without an admin group: the socket's group. */
	start_model(true, dump_eraps, NULL);
	ck_assert_int_eq(stat(control_path, &st), 0);
	ck_assert_int_eq(stat(td.socket, &sock), 0);
	ck_assert_uint_eq(st.st_mode & 07777, 0640);
	ck_assert_uint_eq(st.st_gid, sock.st_gid);
	ck_assert_int_eq(open_as(control_path, NOBODY_UID, NOBODY_GID, O_RDWR), EACCES);
}
END_TEST

/* ------------------------------------------------------------------ */
/* --control PATH. */

START_TEST(test_control_path_option)
{
	char path[512], file[512], dirpath[512];
	struct stat st;
	struct ctl m;
	FILE *f;

	setup_dumps();
	/* Honoured, with missing parent directories created; nothing at the default place. */
	snprintf(path, sizeof(path), "%s/sub/dir/ctl", dumps_dir);
	start_model(false, dump_hybrid, "--control", path, NULL);
	ck_assert_int_eq(stat(control_path, &st), -1);
	ctl_map(&m, path);
	ck_assert_uint_eq(header_ok(&m, true)->state, HVCAP_CTL_STATE_RUNNING);
	create("x", "{}");
	assert_plane_is_api(&m, 0, NULL, 0);
	stop(SIGTERM);
	ck_assert_uint_eq(header_ok(&m, true)->state, HVCAP_CTL_STATE_STOPPED);
	ctl_unmap(&m);

	/* Unusable: below a regular file, or a directory; the start fails naming the path. */
	snprintf(file, sizeof(file), "%s/plain", dumps_dir);
	f = fopen(file, "w");
	ck_assert_ptr_nonnull(f);
	fclose(f);
	snprintf(path, sizeof(path), "%s/plain/ctl", dumps_dir);
	ck_assert_int_eq(start_expect_failure(dump_hybrid, "--control", path, NULL), 1);
	ck_assert_msg(log_contains(path), "the log does not name %s", path);
	snprintf(dirpath, sizeof(dirpath), "%s/sub", dumps_dir);
	ck_assert_int_eq(start_expect_failure(dump_hybrid, "--control", dirpath, NULL), 1);
	ck_assert_msg(log_contains(dirpath), "the log does not name %s", dirpath);
	ck_assert_int_eq(stat(dirpath, &st), 0);
	ck_assert(S_ISDIR(st.st_mode));
	snprintf(path, sizeof(path), "%s/.sub.tmp", dumps_dir);
	ck_assert_int_eq(stat(path, &st), -1);
	/* Relative: a usage error. */
	ck_assert_int_eq(start_expect_failure(dump_hybrid, "--control", "relative/ctl", NULL), 2);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("control-writer");
	TCase *tc;

	if (access(test_hvcapd_path(), X_OK) != 0) {
		fprintf(stderr, "SKIP: %s is not built\n", test_hvcapd_path());
		return TEST_EXIT_SKIP;
	}

	tc = tcase_create("file");
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_control_header_host_and_stop);
	tcase_add_test(tc, test_control_restart_makes_new_inode);
	tcase_add_test(tc, test_control_permissions);
	tcase_add_test(tc, test_control_path_option);
	suite_add_tcase(s, tc);

	tc = tcase_create("vms");
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_control_vms_on_hybrid_avic_host);
	tcase_add_test(tc, test_control_vms_on_eraps_host);
	suite_add_tcase(s, tc);

	tc = tcase_create("growth");
	tcase_set_timeout(tc, 300);
	tcase_add_test(tc, test_control_grows_and_keeps_offsets);
	tcase_add_test(tc, test_control_failed_growth_changes_nothing);
	tcase_add_loop_test(tc, test_control_snp_pages_avoid_2m_offsets, 0, 2);
	suite_add_tcase(s, tc);

	return test_run_suite(s);
}
