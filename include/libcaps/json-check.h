/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * A lexical check of JSON text that json-c has already accepted, for
 * what json-c 0.16 lets through even with JSON_TOKENER_STRICT:
 *
 *   - a key repeated within one object: json-c keeps the last value
 *     without a word, so {"vcpus": 1, "vcpus": 4096} would mean 4096 to
 *     us and 1 to a reader that keeps the first;
 *   - single-quoted strings ('key'), which are not JSON;
 *   - keys holding U+0000 (a raw NUL byte or "\u0000"): json-c ends its
 *     C-string key there, so "eax\u0000x" would silently be "eax".
 *
 * Keys compare after decoding their escapes the way json-c does
 * ("\u0065ax" is "eax"; an unpaired surrogate is U+FFFD), so a
 * duplicate cannot hide behind a different spelling.
 *
 * The scan is iterative and bounded: a stack of at most max_depth
 * containers and one fixed table of the keys of the objects open at a
 * time (CAPS_JSON_CHECK_MAX_KEYS) with a hash index over it: about
 * 130 KiB, allocated once per call, whatever the input.  It knows no key
 * names, so every reader shares it (libcaps' dump reader, proto/).
 */

#include <stddef.h>

/* Deepest nesting the scan will follow; callers pass their own, smaller limit. */
#define CAPS_JSON_CHECK_MAX_DEPTH	64

/*
 * Keys of the objects open at one time (an object and the objects that
 * enclose it).  Far above every hvcap document: a policy carries at most
 * 512 features, a dump entry seven keys.
 */
#define CAPS_JSON_CHECK_MAX_KEYS	4096

struct caps_json_check_error {
	size_t offset;		/* byte offset in buf of the offending token */
	char path[128];		/* its container: "" at the top level, "features", "cpuid[3]" */
	char key[48];		/* the key concerned, printable ASCII only; "" if none */
	char message[112];	/* what is wrong, without the path: "duplicate key \"eax\"" */
};

/*
 * Check len bytes of buf, text that a JSON parser has accepted as one
 * value (whatever follows that value must not be passed).  Returns 0;
 * -EINVAL for a duplicate key, a single-quoted string, a key with a NUL,
 * nesting deeper than max_depth (at most CAPS_JSON_CHECK_MAX_DEPTH) or
 * text that is not JSON after all (an unterminated string); -E2BIG past
 * CAPS_JSON_CHECK_MAX_KEYS; -ENOMEM.  On -EINVAL and -E2BIG, err (if not
 * NULL) says where and why.
 */
int caps_json_check(const char *buf, size_t len, unsigned max_depth,
		    struct caps_json_check_error *err);
