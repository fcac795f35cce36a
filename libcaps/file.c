/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Reading a bounded input file, for the dump and policy readers; writing one whole. */

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <libcaps/file.h>

int caps_read_file(const char *path, size_t max, char **ret_buf, size_t *ret_len)
{
	size_t len = 0;
	char *buf;
	int fd, r = 0;

	if (!path || !ret_buf || !ret_len)
		return -EINVAL;
	if (strcmp(path, "-") == 0) {
		fd = STDIN_FILENO;
	} else {
		fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
		if (fd < 0)
			return -errno;
	}
	/* One byte more than allowed, to tell "at the limit" from "over it", and the NUL. */
	buf = malloc(max + 2);
	if (!buf) {
		r = -ENOMEM;
		goto out;
	}
	for (;;) {
		ssize_t n = read(fd, buf + len, max + 1 - len);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			r = -errno;
			break;
		}
		if (n == 0)
			break;
		len += (size_t)n;
		if (len > max) {
			r = -E2BIG;
			break;
		}
	}
out:
	if (fd != STDIN_FILENO)
		close(fd);
	if (r < 0) {
		free(buf);
		return r;
	}
	buf[len] = '\0';
	*ret_buf = buf;
	*ret_len = len;
	return 0;
}

int caps_write_all(int fd, const void *buf, size_t len)
{
	const char *p = buf;

	while (len > 0) {
		ssize_t n = write(fd, p, len);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}
