/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * tests/unit/synthetic-hosts.h for the fuzz targets.  Its hosts are built
 * with Check's assertions, and Check 0.15 records even a passing one as
 * test progress, which needs a running test: here they are plain checks
 * that abort.
 *
 * fuzz_write_synthetic_host() writes the synthetic AMD host as an hvcap
 * JSON dump to path, for the targets that start hvcapd's host on it;
 * it aborts on failure (a fuzz target cannot run without its host).
 */

#include <stdio.h>
#include <stdlib.h>

#include <check.h>
#undef ck_assert_int_eq
#undef ck_assert_msg
#undef ck_assert_ptr_nonnull
#undef ck_abort_msg
#define ck_assert_int_eq(a, b)		do { if ((a) != (b)) abort(); } while (0)
#define ck_assert_msg(e, ...)		do { if (!(e)) abort(); } while (0)
#define ck_assert_ptr_nonnull(p)	do { if (!(p)) abort(); } while (0)
#define ck_abort_msg(...)		abort()

#include <libcaps/dump.h>

#include "synthetic-hosts.h"

static inline void fuzz_write_synthetic_host(const char *path)
{
	struct caps_dump *host = calloc(1, sizeof(*host));
	char *text = NULL;
	FILE *f;

	if (!host)
		abort();
	caps_dump_init(host);
	synth_host_amd(host);
	if (caps_dump_write(host, CAPS_DUMP_JSON, &text) < 0)
		abort();
	f = fopen(path, "we");
	if (!f || fputs(text, f) == EOF || fclose(f) == EOF)
		abort();
	free(text);
	free(host);
}
