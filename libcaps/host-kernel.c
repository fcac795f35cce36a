/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The kernel's feature flags and bugs, from /proc/cpuinfo. */

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <libcaps/host.h>

#include "host-internal.h"

int caps_cpuinfo_field(const char *text, size_t len, const char *key,
		       const char **ret_value, size_t *ret_len)
{
	size_t klen = strlen(key);
	const char *end = text + len;

	for (const char *line = text; line < end;) {
		const char *eol = memchr(line, '\n', (size_t)(end - line));
		const char *p = line + klen;

		if (!eol)
			eol = end;
		/* A blank line ends the first CPU's block. */
		if (eol == line)
			break;
		if ((size_t)(eol - line) > klen && memcmp(line, key, klen) == 0) {
			while (p < eol && (*p == ' ' || *p == '\t'))
				p++;
			if (p < eol && *p == ':') {
				p++;
				while (p < eol && *p == ' ')
					p++;
				*ret_value = p;
				*ret_len = (size_t)(eol - p);
				return 0;
			}
		}
		line = eol + 1;
	}
	return -ENOENT;
}

int caps_cpuinfo_read(char **ret_buf, size_t *ret_len)
{
	/* The first CPU's block is all anyone here needs; cap the read there. */
	enum { CPUINFO_MAX = 64 * 1024 };
	char *buf = malloc(CPUINFO_MAX);
	size_t len = 0;
	int fd, r = 0;

	if (!buf)
		return -ENOMEM;
	fd = open("/proc/cpuinfo", O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		r = -errno;
		free(buf);
		return r;
	}
	while (len < CPUINFO_MAX) {
		ssize_t n = read(fd, buf + len, CPUINFO_MAX - len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			r = -errno;
			break;
		}
		if (n == 0)
			break;
		len += (size_t)n;
		if (memmem(buf, len, "\n\n", 2))
			break;
	}
	close(fd);
	if (r < 0) {
		free(buf);
		return r;
	}
	*ret_buf = buf;
	*ret_len = len;
	return 0;
}

static int field_copy(const char *text, size_t len, const char *key, char *dst, size_t size)
{
	const char *v;
	size_t n;
	int r = caps_cpuinfo_field(text, len, key, &v, &n);

	if (r < 0)
		return r;
	if (n >= size)
		return -E2BIG;
	memcpy(dst, v, n);
	dst[n] = '\0';
	return 0;
}

int caps_kernel_flags_parse(const char *text, size_t len, struct caps_kernel_flags *ret)
{
	struct caps_kernel_flags k = { { 0 } };
	int r;

	r = field_copy(text, len, "flags", k.flags, sizeof(k.flags));
	if (r < 0)
		return r;
	/* Old kernels and some CPUs have no bugs line: no known bugs. */
	r = field_copy(text, len, "bugs", k.bugs, sizeof(k.bugs));
	if (r < 0 && r != -ENOENT)
		return r;
	*ret = k;
	return 0;
}

int caps_kernel_flags_read(struct caps_kernel_flags *ret)
{
	char *buf;
	size_t len;
	int r = caps_cpuinfo_read(&buf, &len);

	if (r < 0)
		return r;
	r = caps_kernel_flags_parse(buf, len, ret);
	free(buf);
	return r;
}

static bool word_listed(const char *list, const char *name)
{
	size_t len = strlen(name);

	if (len == 0)
		return false;
	for (const char *p = list; (p = strstr(p, name)); p += len)
		if ((p == list || p[-1] == ' ') && (p[len] == ' ' || p[len] == '\0'))
			return true;
	return false;
}

bool caps_kernel_has_flag(const struct caps_kernel_flags *k, const char *name)
{
	return word_listed(k->flags, name);
}

bool caps_kernel_has_bug(const struct caps_kernel_flags *k, const char *name)
{
	return word_listed(k->bugs, name);
}
