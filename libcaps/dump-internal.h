/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The per-format readers and writers behind dump.c. */

#include <stdarg.h>

#include <libcaps/dump.h>

int caps_dump_parse_libvirt(const char *buf, size_t len, struct caps_dump *ret,
			    struct caps_dump_error *err);
int caps_dump_parse_cpuid_r(const char *buf, size_t len, struct caps_dump *ret,
			    struct caps_dump_error *err);
int caps_dump_parse_json(const char *buf, size_t len, struct caps_dump *ret,
			 struct caps_dump_error *err);

int caps_dump_write_libvirt(const struct caps_dump *d, char **ret);
int caps_dump_write_cpuid_r(const struct caps_dump *d, char **ret);
int caps_dump_write_json(const struct caps_dump *d, char **ret);

/* Fill err (if not NULL) and return -EINVAL. */
int caps_dump_error_set(struct caps_dump_error *err, unsigned line, unsigned column,
			size_t offset, const char *fmt, ...) __attribute__((format(printf, 5, 6)));
