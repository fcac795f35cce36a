/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The /sys and /proc facts behind caps_host_probe_kvm(): host-sys.c. */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <libcaps/host.h>

/* Format err->message (err may be NULL) and return r, a -errno. */
int caps_probe_error_set(struct caps_probe_error *err, int r, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/*
 * Find the vendor module under sys_module ("/sys/module"): the
 * directories named kvm_*, sorted, the first being r->vendor_module
 * (left empty when there is none).  Append every readable file under
 * <sys_module>/kvm/parameters and then under each kvm_* module's
 * parameters, names sorted, the value without its trailing newline.
 * Unreadable files are skipped; an over-long name or value is
 * -ENAMETOOLONG and more than CAPS_PARAM_MAX parameters -E2BIG, with the
 * file named in err.  r is the caller's work record: on failure it holds
 * part of the parameters and is to be discarded.
 */
int caps_host_sys_read_modules(const char *sys_module, struct caps_host_record *r,
			       struct caps_probe_error *err);

/*
 * The "microcode" field of the first CPU in /proc/cpuinfo text: *ret_has
 * false when there is none (some hypervisors hide it), else *ret_value.
 * -EINVAL when the field is not a hexadecimal number.
 */
int caps_host_sys_parse_microcode(const char *text, size_t len, bool *ret_has,
				  uint64_t *ret_value);

/*
 * The first CPU's block of /proc/cpuinfo (up to 64 KiB, ending at the
 * first blank line) in a malloc()ed buffer.  -errno from open/read.
 */
int caps_cpuinfo_read(char **ret_buf, size_t *ret_len);

/*
 * The value of the first "key<blanks>: value" line of the first CPU's
 * block in /proc/cpuinfo text: a pointer into text and its length.
 * -ENOENT when the block has no such line.
 */
int caps_cpuinfo_field(const char *text, size_t len, const char *key,
		       const char **ret_value, size_t *ret_len);

/* Read /proc/cpuinfo, uname(2): fill r->has_microcode, r->microcode and r->kernel_release. */
int caps_host_sys_read_system(struct caps_host_record *r, struct caps_probe_error *err);
