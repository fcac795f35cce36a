/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The per-format readers and writers behind dump.c. */

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>

#include <libcaps/dump.h>

/*
 * Highest CPUID sub-leaf a dump may carry.  libvirt and `cpuid -r` both
 * write the sub-leaf as two hex digits, and no CPU defines sub-leaves
 * above 0xff, so every format accepts the same entries.
 */
#define CAPS_DUMP_INDEX_MAX 0xffu

int caps_dump_parse_libvirt(const char *buf, size_t len, struct caps_dump *ret,
			    struct caps_dump_error *err);
int caps_dump_parse_cpuid_r(const char *buf, size_t len, struct caps_dump *ret,
			    struct caps_dump_error *err);
int caps_dump_parse_json(const char *buf, size_t len, struct caps_dump *ret,
			 struct caps_dump_error *err);

/* Writers get a dump caps_dump_validate() has accepted. */
int caps_dump_write_libvirt(const struct caps_dump *d, char **ret);
int caps_dump_write_cpuid_r(const struct caps_dump *d, char **ret);
int caps_dump_write_json(const struct caps_dump *d, char **ret);

/*
 * Run emit() on a memory stream and hand its text to *ret: the body of
 * the line-oriented writers.  -ENOMEM when the stream fails.
 */
int caps_dump_write_stream(const struct caps_dump *d,
			   void (*emit)(const struct caps_dump *d, FILE *f), char **ret);

/*
 * Parse "0x" followed by one or more hex digits (either case), exactly
 * len bytes, into a value of at most max.  -EINVAL for bad syntax,
 * -ERANGE for a value above max.
 */
int caps_dump_parse_hex(const char *s, size_t len, uint64_t max, uint64_t *ret);

/*
 * Append one entry read from a dump: its function must lie in a CPUID
 * range (caps_cpuid_function_range()), its sub-leaf be at most
 * CAPS_DUMP_INDEX_MAX, its flags known and (function, index) new.
 * -EINVAL, or -E2BIG past CAPS_CPUID_MAX_ENTRIES; *ret_why says why.
 */
int caps_dump_add_cpuid(struct caps_dump *d, const struct caps_cpuid_entry *e,
			const char **ret_why);
/* The same for an MSR: -EINVAL for a duplicate, -E2BIG past CAPS_MSR_MAX. */
int caps_dump_add_msr(struct caps_dump *d, uint32_t index, uint64_t value,
		      const char **ret_why);

/*
 * A comment every format can carry: well-formed UTF-8 without control
 * characters or the non-characters XML forbids, shorter than
 * sizeof(struct caps_dump.comment).
 */
bool caps_dump_comment_is_valid(const char *s, size_t len);

/*
 * 0 if d is what a reader could have returned: 1..CAPS_CPUID_MAX_ENTRIES
 * entries that caps_dump_add_cpuid() accepts, unique MSRs and a valid,
 * terminated comment; -EINVAL otherwise.  Writers refuse anything else,
 * since they promise that their output reads back.
 */
int caps_dump_validate(const struct caps_dump *d);

/*
 * Copy at most len bytes of untrusted text into buf for an error
 * message: printable ASCII kept, anything else as '?', long text cut
 * with "...".  Returns buf.
 */
const char *caps_dump_sanitize(char *buf, size_t size, const char *s, size_t len);

/* Fill err (if not NULL) and return -EINVAL. */
int caps_dump_error_set(struct caps_dump_error *err, unsigned line, unsigned column,
			size_t offset, const char *fmt, ...) __attribute__((format(printf, 5, 6)));
