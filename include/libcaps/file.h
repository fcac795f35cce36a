/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stddef.h>

/*
 * Read a whole file ("-" = standard input) of at most max bytes into a
 * malloc()ed buffer with a terminating NUL (not counted in *ret_len).
 * -E2BIG when the file holds more than max bytes, -errno from open/read.
 */
int caps_read_file(const char *path, size_t max, char **ret_buf, size_t *ret_len);

/* Write all len bytes of buf to fd, again after EINTR and short writes; 0 or -errno. */
int caps_write_all(int fd, const void *buf, size_t len);
