/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libFuzzer target: libhvcap's control-plane reader (proto/control.c) on
 * an arbitrary file, opened with hvcap_control_open() and asked every
 * query of hvcap/hvcap.h, as tests/unit/test-control-reader.c's fuzz loop
 * does with its own mutations.
 *
 * Input: one flags byte, then the file with the gap before the control
 * pages left out (control_base is 2 MiB aligned: a real file is mostly
 * zeros there).  The harness writes the bytes up to the end of the VM
 * table the header describes at offset 0 and the rest at control_base,
 * when the header's control_base is one it can reach (at most
 * FUZZ_MAX_CONTROL_BASE); otherwise the bytes as they are.  Flags:
 * FUZZ_RESEAL recomputes every record's check that the file holds, and
 * unless FUZZ_KEEP_ODD_SEQS (two bits) every seq is made even, so that
 * mutations reach the validation behind the checksums rather than the
 * seqlock's wait (a millisecond per query on an odd seq).
 */

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <hvcap/control.h>
#include <hvcap/hvcap.h>

#define FUZZ_RESEAL		0x01u
#define FUZZ_KEEP_ODD_SEQS	0x06u	/* both bits: a quarter of the inputs */
/* Files past a few control-base steps only cost time: the reader's checks are the same. */
#define FUZZ_MAX_CONTROL_BASE	(4u * HVCAP_CTL_CONTROL_ALIGN)
#define FUZZ_MAX_FILE_SIZE	(FUZZ_MAX_CONTROL_BASE + 1024u * HVCAP_CTL_PAGE_SIZE)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int memfd = -1;
static char path[64];

static bool is_query_result(int r)
{
	return r == 0 || r == 1 || r == -EBADMSG || r == -EAGAIN || r == -ESTALE || r == -ENOENT ||
	       r == -EINVAL || r == -ENOMEM;
}

static void check(int r, const char *what)
{
	if (!is_query_result(r)) {
		fprintf(stderr, "%s = %d: not a documented result\n", what, r);
		abort();
	}
}

static uint64_t round_up(uint64_t v, uint64_t to)
{
	return (v + to - 1) / to * to;
}

/* Make a record's seq even (a finished write) and its check right, as flags ask. */
static void record_fix(const void *rec, uint32_t *seq, uint32_t *chk, unsigned flags,
		       uint32_t (*check_fn)(const void *))
{
	if ((flags & FUZZ_KEEP_ODD_SEQS) != FUZZ_KEEP_ODD_SEQS && *seq != 0)
		*seq &= ~1u;
	if (flags & FUZZ_RESEAL)
		*chk = check_fn(rec);
}

static uint32_t host_check(const void *p) { return hvcap_ctl_host_check(p); }
static uint32_t vm_check(const void *p) { return hvcap_ctl_vm_check(p); }
static uint32_t vcpu_check(const void *p) { return hvcap_ctl_vcpu_check(p); }
static uint32_t header_check(const void *p) { return hvcap_ctl_header_check(p); }

/*
 * Fix the records of the file image in buf (n bytes): the file's bytes
 * [0, dense), then its control pages, which start at dense in buf.
 */
static void image_fix(unsigned char *buf, size_t n, size_t dense, unsigned flags)
{
	struct hvcap_ctl_header *h = (struct hvcap_ctl_header *)(void *)buf;
	uint64_t pages = n;

	if (!(flags & FUZZ_RESEAL) && (flags & FUZZ_KEEP_ODD_SEQS) == FUZZ_KEEP_ODD_SEQS)
		return;
	if (dense < sizeof(*h))
		return;
	if (h->host_offset <= dense && dense - h->host_offset >= sizeof(struct hvcap_ctl_host) &&
	    h->host_offset % _Alignof(struct hvcap_ctl_host) == 0) {
		struct hvcap_ctl_host *host = (struct hvcap_ctl_host *)(void *)(buf + h->host_offset);

		record_fix(host, &host->seq, &host->check, flags, host_check);
	}
	if (h->vm_table_offset <= dense && h->vm_table_offset % _Alignof(struct hvcap_ctl_vm) == 0)
		for (uint64_t i = 0; i < h->vm_table_capacity &&
		     (dense - h->vm_table_offset) / sizeof(struct hvcap_ctl_vm) > i; i++) {
			struct hvcap_ctl_vm *vm = (struct hvcap_ctl_vm *)(void *)(buf + h->vm_table_offset) + i;

			record_fix(vm, &vm->seq, &vm->check, flags, vm_check);
		}
	if (dense < n)
		pages = dense;
	else if (h->control_base && h->control_base < n && h->control_base % HVCAP_CTL_PAGE_SIZE == 0)
		pages = h->control_base;
	for (uint64_t off = pages; off < n && n - off >= sizeof(struct hvcap_ctl_vcpu); off += HVCAP_CTL_PAGE_SIZE) {
		struct hvcap_ctl_vcpu *v = (struct hvcap_ctl_vcpu *)(void *)(buf + off);

		record_fix(v, &v->seq, &v->check, flags, vcpu_check);
		if (n - off < HVCAP_CTL_PAGE_SIZE)
			break;
	}
	/* The header last: its variable part is what it checks. */
	record_fix(h, &h->seq, &h->check, flags, header_check);
}

/* Lay the input out as a file (the gap a hole, as ftruncate() leaves it): 0 or -errno. */
static int image_write(const uint8_t *in, size_t n, unsigned flags)
{
	struct hvcap_ctl_header h;
	unsigned char *buf;
	size_t dense = n, len = n;
	uint64_t base = 0;
	int r = 0;

	if (n >= sizeof(h)) {
		memcpy(&h, in, sizeof(h));
		if (h.control_base && h.control_base % HVCAP_CTL_CONTROL_ALIGN == 0 &&
		    h.control_base <= FUZZ_MAX_CONTROL_BASE && h.vm_table_offset < h.control_base &&
		    h.vm_table_capacity <= (h.control_base - h.vm_table_offset) / sizeof(struct hvcap_ctl_vm)) {
			uint64_t end = round_up(h.vm_table_offset + (uint64_t)h.vm_table_capacity *
						sizeof(struct hvcap_ctl_vm), HVCAP_CTL_PAGE_SIZE);

			if (end < n) {
				dense = end;
				base = h.control_base;
				len = base + (n - dense);
			}
		}
	}
	buf = malloc(n ? n : 1);
	if (!buf)
		return -ENOMEM;
	memcpy(buf, in, n);
	image_fix(buf, n, dense, flags);
	if (ftruncate(memfd, 0) < 0 || pwrite(memfd, buf, dense, 0) != (ssize_t)dense ||
	    (dense < n && pwrite(memfd, buf + dense, n - dense, (off_t)base) != (ssize_t)(n - dense)))
		r = errno ? -errno : -EIO;
	/* Zero control pages at the end need not be in the input: the header's file_size says where the file ends. */
	else if (n >= sizeof(h) && h.file_size > len && h.file_size <= FUZZ_MAX_FILE_SIZE &&
		 ftruncate(memfd, (off_t)h.file_size) < 0)
		r = -errno;
	free(buf);
	return r;
}

static void queries(struct hvcap_control *cp, uint32_t extra_vm, int feature)
{
	const uint32_t try_vms[] = { 0, 1, 2, 7, extra_vm, UINT32_MAX };
	struct hvcap_host_state *hs;
	struct hvcap_vm_state vm;
	struct hvcap_vcpu_state vs;
	struct hvcap_control_stats st;
	uint32_t vms[16], vcpus[16];
	size_t n_vms = 0, n;
	uint64_t u;
	int r;

	check(hvcap_control_host_cap_has(cp, feature), "host_cap_has");
	check(hvcap_control_host_cpu_has(cp, feature), "host_cpu_has");
	hs = malloc(sizeof(*hs));
	if (hs) {
		r = hvcap_control_read_host(cp, hs);
		check(r, "read_host");
		if (r == 0 && (memchr(hs->fingerprint, 0, sizeof(hs->fingerprint)) == NULL ||
			       hs->n_params > HVCAP_CTL_MAX_PARAMS))
			abort();
		free(hs);
	}
	check(hvcap_control_updates(cp, &u), "updates");
	check(hvcap_control_generation(cp, &u), "generation");
	r = hvcap_control_list_vms(cp, NULL, 0, &n_vms);
	check(r, "list_vms count");
	r = hvcap_control_list_vms(cp, vms, 16, &n_vms);
	check(r, "list_vms");
	if (r < 0)
		n_vms = 0;
	if (n_vms > 16)
		n_vms = 16;
	for (size_t i = 0; i < n_vms + sizeof(try_vms) / sizeof(try_vms[0]); i++) {
		uint32_t id = i < n_vms ? vms[i] : try_vms[i - n_vms];

		r = hvcap_control_read_vm(cp, id, &vm);
		check(r, "read_vm");
		if (r == 0 && (strlen(vm.name) > HVCAP_CTL_NAME_MAX || strlen(vm.policy_name) > HVCAP_CTL_NAME_MAX))
			abort();
		r = hvcap_control_list_vcpus(cp, id, vcpus, 16, &n);
		check(r, "list_vcpus");
		if (r < 0)
			n = 0;
		if (n > 16)
			n = 16;
		for (size_t j = 0; j <= n; j++) {
			uint32_t vcpu = j < n ? vcpus[j] : 3;

			r = hvcap_control_read_vcpu(cp, id, vcpu, &vs);
			check(r, "read_vcpu");
			if (r == 0 && vs.n_cap_words > HVCAP_CTL_CAP_WORDS)
				abort();
			/* Twice: the second answer may come from the handle's cache. */
			check(hvcap_control_guest_cpu_cap_has(cp, id, vcpu, feature), "guest_cpu_cap_has");
			check(hvcap_control_guest_cpu_cap_has(cp, id, vcpu, feature), "guest_cpu_cap_has");
		}
	}
	hvcap_control_get_stats(cp, &st);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct hvcap_control *cp = NULL;
	unsigned flags;
	int r;

	if (size < 1)
		return 0;
	if (memfd < 0) {
		memfd = memfd_create("hvcap-fuzz-control", MFD_CLOEXEC);
		if (memfd < 0)
			abort();
		snprintf(path, sizeof(path), "/proc/self/fd/%d", memfd);
	}
	flags = data[0];
	if (image_write(data + 1, size - 1, flags) < 0)
		return 0;
	r = hvcap_control_open(path, &cp);
	if (getenv("HVCAP_FUZZ_DEBUG"))
		fprintf(stderr, "hvcap_control_open = %d\n", r);
	if (r < 0) {
		if (r != -EBADMSG && r != -EPROTONOSUPPORT && r != -EAGAIN && r != -ESTALE && r != -ENOMEM) {
			fprintf(stderr, "hvcap_control_open = %d: not a documented result\n", r);
			abort();
		}
		return 0;
	}
	/* The flags byte's high bits pick a feature id, -1 and past the cap words included. */
	queries(cp, flags >> 2, (int)(flags >> 2) * 37 - 1);
	hvcap_control_close(cp);
	return 0;
}
