/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * control-fixture PATH [--stopped]: write a valid control file at PATH, as
 * hvcapd would publish it, for tests/cli/test-install.sh (which runs the
 * installed example against it).  The host supports fpu, sse2, avx2 and
 * eraps; VM 1 "web" has two vCPUs with all four, VM 2 "db" three vCPUs of
 * which vCPU 2 lacks avx2, VM 7 "batch" none.
 */

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <libcaps/caps.h>

#include "control-fixture.h"

int main(int argc, char **argv)
{
	const int web[] = { X86_FEATURE_FPU, X86_FEATURE_XMM2, X86_FEATURE_AVX2, X86_FEATURE_ERAPS };
	const int db[] = { X86_FEATURE_FPU, X86_FEATURE_XMM2, X86_FEATURE_AVX2 };
	uint32_t caps[HVCAP_CTL_CAP_WORDS];
	struct ctl_fixture f;
	int r, slot;

	if (argc < 2 || argc > 3 || (argc == 3 && strcmp(argv[2], "--stopped") != 0)) {
		fprintf(stderr, "usage: %s PATH [--stopped]\n", argv[0]);
		return 2;
	}
	r = fix_create(&f, argv[1], 16, 64, 64, false);
	if (r < 0) {
		fprintf(stderr, "%s: %s\n", argv[1], strerror(-r));
		return 1;
	}
	fix_host_begin(&f);
	fix_caps(caps, web, 4);
	memcpy(f.host->host_caps, caps, sizeof(caps));
	memcpy(f.host->kvm_caps, caps, sizeof(caps));
	fix_host_end(&f);
	fix_publish(&f);

	slot = fix_vm_add(&f, 1, "web", "web-tier-amd");
	for (uint32_t i = 0; i < 2; i++)
		fix_vcpu_add(&f, (uint32_t)slot, i, caps);
	slot = fix_vm_add(&f, 2, "db", "x86-64-v3");
	fix_caps(caps, db, 3);
	fix_vcpu_add(&f, (uint32_t)slot, 0, caps);
	fix_vcpu_add(&f, (uint32_t)slot, 1, caps);
	fix_caps(caps, db, 2);
	fix_vcpu_add(&f, (uint32_t)slot, 2, caps);
	fix_vm_add(&f, 7, "batch", "host-passthrough");
	if (argc == 3)
		fix_set_state(&f, HVCAP_CTL_STATE_STOPPED);
	if (msync(f.map, f.map_len - f.max_pages * FIX_PAGE + f.n_pages * FIX_PAGE, MS_SYNC) < 0) {
		fprintf(stderr, "%s: %s\n", argv[1], strerror(errno));
		return 1;
	}
	fix_close(&f);
	return 0;
}
