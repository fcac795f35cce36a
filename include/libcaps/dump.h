/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * CPU dump readers and writers: libvirt's cputestdata XML, the text of
 * `cpuid -r`, and hvcap's own JSON.
 *
 * Every reader is strict: truncated, malformed, duplicate, oversized or
 * out-of-range input fails with -EINVAL (or -E2BIG for too many entries)
 * and an error that names the line and byte offset (for JSON schema
 * errors, the path: "cpuid[3].eax").  A reader never returns part of a
 * dump, and never writes *ret on failure.
 */

#include <stddef.h>
#include <stdint.h>

#include <libcaps/cpuid.h>

/* Larger than any real dump (the biggest libvirt dump is 12 KiB). */
#define CAPS_DUMP_MAX_BYTES (1024 * 1024)

enum caps_dump_format {
	CAPS_DUMP_AUTO,
	CAPS_DUMP_LIBVIRT_XML,	/* <cpudata><cpuid eax_in=... /><msr .../></cpudata> */
	CAPS_DUMP_CPUID_R,	/* `cpuid -r`: the first CPU's block */
	CAPS_DUMP_JSON,		/* hvcap's own JSON */
};

struct caps_dump_error {
	unsigned line;		/* 1-based; 0 when not known */
	unsigned column;	/* 1-based; 0 when not known */
	size_t offset;		/* byte offset of the problem */
	char message[256];
};

/* "auto", "libvirt-xml", "cpuid-r", "json". */
const char *caps_dump_format_to_string(enum caps_dump_format fmt);
/* 0 or -EINVAL for an unknown name. */
int caps_dump_format_from_string(const char *s, enum caps_dump_format *ret);

/* Guess the format from the first non-blank bytes; -EINVAL if none fits. */
int caps_dump_detect(const char *buf, size_t len, enum caps_dump_format *ret);

/*
 * Parse len bytes of buf.  buf need not be NUL-terminated; NUL bytes in
 * it are an error.  On failure, err (if not NULL) says where and why.
 */
int caps_dump_parse(const char *buf, size_t len, enum caps_dump_format fmt,
		    struct caps_dump *ret, struct caps_dump_error *err);

/*
 * Read and parse a file ("-" = standard input), refusing more than
 * CAPS_DUMP_MAX_BYTES.  I/O errors return -errno with err->message set.
 */
int caps_dump_read_file(const char *path, enum caps_dump_format fmt,
			struct caps_dump *ret, struct caps_dump_error *err);

/*
 * Serialize a dump.  *ret is a NUL-terminated malloc()ed string; reading
 * it back with the same format gives an equal dump: the entries, and for
 * XML and JSON the MSRs and the comment too (`cpuid -r` has no place for
 * them).  Only JSON carries entry flags; the XML and `cpuid -r` readers
 * derive them again (caps_cpuid_mark_indexed()).  XML comments cannot
 * hold "--", so the XML writer puts a space between the dashes.
 * -EINVAL for CAPS_DUMP_AUTO and for a dump no reader would return (no
 * entries, duplicates, functions out of range, an invalid comment).
 */
int caps_dump_write(const struct caps_dump *d, enum caps_dump_format fmt, char **ret);
