/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * bench/control-fastpath: libhvcap's control-plane queries against a
 * plain bit test (DESIGN.md §9: within 10x), without a daemon.  Writes a
 * control file with the test fixture (tests/unit/control-fixture.h) in
 * $TMPDIR, or reads FILE (a running hvcapd's, with a VM and vCPU of it),
 * and prints ns per call, each the best of five runs of a loop over 64
 * feature ids:
 *
 *   bench/control-fastpath [FILE VM VCPU]
 *
 * bench/run-control.sh compares the same query with the socket, against
 * a real hvcapd (bench/control-query.c).
 */

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <hvcap/hvcap.h>
#include <libcaps/caps.h>

#include "control-fixture.h"

#define ROUNDS 5

static double now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static int features[64];
static uint32_t words[HVCAP_CTL_CAP_WORDS];
static volatile long sink;

/* The baseline: the bit test a program does on its own array, kept in the loop by a barrier. */
static double bench_plain(long n)
{
	double t0 = now_ns();
	long sum = 0;

	for (long i = 0; i < n; i++) {
		int f = features[i & 63];

		__asm__ __volatile__("" : : : "memory");
		sum += (words[f / 32] >> (f % 32)) & 1;
	}
	sink = sum;
	return (now_ns() - t0) / (double)n;
}

/* The same through a call into the library: libcaps' caps_has(). */
static double bench_caps_has(long n)
{
	const struct caps *c = (const struct caps *)(const void *)words;
	double t0 = now_ns();
	long sum = 0;

	for (long i = 0; i < n; i++)
		sum += caps_has(c, features[i & 63]);
	sink = sum;
	return (now_ns() - t0) / (double)n;
}

static double bench_guest(struct hvcap_control *cp, uint32_t vm, uint32_t vcpu, long n)
{
	double t0 = now_ns();
	long sum = 0;

	for (long i = 0; i < n; i++)
		sum += hvcap_control_guest_cpu_cap_has(cp, vm, vcpu, features[i & 63]);
	sink = sum;
	return (now_ns() - t0) / (double)n;
}

static double bench_host(struct hvcap_control *cp, long n)
{
	double t0 = now_ns();
	long sum = 0;

	for (long i = 0; i < n; i++)
		sum += hvcap_control_host_cap_has(cp, features[i & 63]);
	sink = sum;
	return (now_ns() - t0) / (double)n;
}

static double bench_read_vcpu(struct hvcap_control *cp, uint32_t vm, uint32_t vcpu, long n)
{
	struct hvcap_vcpu_state vs;
	double t0 = now_ns();
	long sum = 0;

	for (long i = 0; i < n; i++)
		sum += hvcap_control_read_vcpu(cp, vm, vcpu, &vs) + vs.cpu_caps[0];
	sink = sum;
	return (now_ns() - t0) / (double)n;
}

/* The fixture changes the vCPU's page before every query: the copy, its checksum and the write. */
static double bench_guest_changed(struct hvcap_control *cp, struct ctl_fixture *f, uint64_t pfn, long n)
{
	double t0 = now_ns();
	long sum = 0;

	for (long i = 0; i < n; i++) {
		fix_page_begin(f, pfn);
		fix_page(f, pfn)->cr3 = (uint64_t)i << 12;
		fix_page_end(f, pfn);
		sum += hvcap_control_guest_cpu_cap_has(cp, 1, 0, features[i & 63]);
	}
	sink = sum;
	return (now_ns() - t0) / (double)n;
}

static double best(double a, double b)
{
	return a < b ? a : b;
}

int main(int argc, char **argv)
{
	struct hvcap_control *cp;
	struct ctl_fixture f = { .fd = -1 };
	char dir[PATH_MAX - 16] = "", path[PATH_MAX];
	const char *tmp = getenv("TMPDIR");
	uint32_t vm = 1, vcpu = 0;
	uint64_t pfn = 0;
	double plain = 1e9, call = 1e9, guest = 1e9, host = 1e9, read = 1e9, changed = 1e9;
	int r;

	if (argc != 1 && argc != 4) {
		fprintf(stderr, "usage: %s [FILE VM VCPU]\n", argv[0]);
		return 2;
	}
	if (argc == 4) {
		snprintf(path, sizeof(path), "%s", argv[1]);
		vm = (uint32_t)strtoul(argv[2], NULL, 0);
		vcpu = (uint32_t)strtoul(argv[3], NULL, 0);
	} else {
		const int has[] = { X86_FEATURE_FPU, X86_FEATURE_XMM2, X86_FEATURE_AVX2, X86_FEATURE_ERAPS };
		int slot;
		int64_t p;

		snprintf(dir, sizeof(dir), "%s/hvcap-bench-XXXXXX", tmp && tmp[0] == '/' ? tmp : "/tmp");
		if (!mkdtemp(dir)) {
			perror("mkdtemp");
			return 1;
		}
		snprintf(path, sizeof(path), "%s/control", dir);
		r = fix_create(&f, path, 16, 64, 64, false);
		if (r < 0) {
			fprintf(stderr, "%s: %s\n", path, strerror(-r));
			return 1;
		}
		fix_caps(words, has, 4);
		fix_host_begin(&f);
		memcpy(f.host->kvm_caps, words, sizeof(words));
		fix_host_end(&f);
		slot = fix_vm_add(&f, 1, "bench", "bench");
		if (slot < 0)
			return 1;
		p = fix_vcpu_add(&f, (uint32_t)slot, 0, words);
		if (p < 0)
			return 1;
		pfn = (uint64_t)p;
		fix_publish(&f);
	}
	r = hvcap_control_open(path, &cp);
	if (r < 0) {
		fprintf(stderr, "%s: %s\n", path, strerror(-r));
		return 1;
	}
	if (argc == 4) {
		struct hvcap_vcpu_state vs;

		r = hvcap_control_read_vcpu(cp, vm, vcpu, &vs);
		if (r < 0) {
			fprintf(stderr, "vCPU %u of VM %u: %s\n", vcpu, vm, strerror(-r));
			return 1;
		}
		memcpy(words, vs.cpu_caps, sizeof(words));
	}
	/* Spread over the words the file publishes (fixture: FIX_CAP_WORDS). */
	for (int i = 0; i < 64; i++)
		features[i] = (int)(((unsigned)i * 2654435761u) % (FIX_CAP_WORDS * 32));
	/* Every query must answer, or the figures mean nothing. */
	r = hvcap_control_guest_cpu_cap_has(cp, vm, vcpu, features[0]);
	if (r >= 0)
		r = hvcap_control_host_cap_has(cp, features[0]);
	if (r < 0) {
		fprintf(stderr, "%s: %s\n", path, strerror(-r));
		return 1;
	}

	for (int round = 0; round < ROUNDS; round++) {
		plain = best(plain, bench_plain(50000000));
		call = best(call, bench_caps_has(50000000));
		guest = best(guest, bench_guest(cp, vm, vcpu, 50000000));
		host = best(host, bench_host(cp, 20000000));
		read = best(read, bench_read_vcpu(cp, vm, vcpu, 1000000));
		if (argc == 1)
			changed = best(changed, bench_guest_changed(cp, &f, pfn, 1000000));
	}
	printf("plain bit test (inline)                 %7.2f ns\n", plain);
	printf("caps_has() (a library call)             %7.2f ns\n", call);
	printf("hvcap_control_guest_cpu_cap_has()       %7.2f ns  %5.1fx the plain bit test, %4.1fx caps_has()\n",
	       guest, guest / plain, guest / call);
	printf("hvcap_control_host_cap_has()            %7.2f ns  %5.1fx the plain bit test\n", host, host / plain);
	printf("hvcap_control_read_vcpu()               %7.2f ns\n", read);
	if (argc == 1)
		printf("guest_cpu_cap_has(), page just changed  %7.2f ns  (the fixture's write included)\n", changed);
	hvcap_control_close(cp);
	if (argc == 1) {
		fix_close(&f);
		unlink(path);
		rmdir(dir);
	}
	return 0;
}
