/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Helpers shared by the Check suites. */

#include <check.h>
#include <stdio.h>
#include <stdlib.h>

/* Exit status that automake's test driver reports as SKIP. */
#define TEST_EXIT_SKIP 77

/* Run one suite, printing failures; the exit status for main(). */
static inline int test_run_suite(Suite *s)
{
	SRunner *sr = srunner_create(s);
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}

/* A file under the source tree (tests/data/...); the result is static. */
static inline const char *test_srcpath(const char *rel)
{
	static char buf[4096];
	const char *top = getenv("HVCAP_SRCDIR");

	snprintf(buf, sizeof(buf), "%s/%s", top ? top : HVCAP_TEST_SRCDIR, rel);
	return buf;
}
