/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Dump format names, detection, and file reading. */

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dump-internal.h"

static const char *const format_names[] = {
	[CAPS_DUMP_AUTO] = "auto",
	[CAPS_DUMP_LIBVIRT_XML] = "libvirt-xml",
	[CAPS_DUMP_CPUID_R] = "cpuid-r",
	[CAPS_DUMP_JSON] = "json",
};

const char *caps_dump_format_to_string(enum caps_dump_format fmt)
{
	if ((unsigned)fmt >= sizeof(format_names) / sizeof(format_names[0]))
		return NULL;
	return format_names[fmt];
}

int caps_dump_format_from_string(const char *s, enum caps_dump_format *ret)
{
	if (!s)
		return -EINVAL;
	for (size_t i = 0; i < sizeof(format_names) / sizeof(format_names[0]); i++) {
		if (strcmp(s, format_names[i]) == 0) {
			*ret = (enum caps_dump_format)i;
			return 0;
		}
	}
	return -EINVAL;
}

int caps_dump_error_set(struct caps_dump_error *err, unsigned line, unsigned column,
			size_t offset, const char *fmt, ...)
{
	va_list ap;

	if (!err)
		return -EINVAL;
	err->line = line;
	err->column = column;
	err->offset = offset;
	va_start(ap, fmt);
	vsnprintf(err->message, sizeof(err->message), fmt, ap);
	va_end(ap);
	return -EINVAL;
}

int caps_dump_detect(const char *buf, size_t len, enum caps_dump_format *ret)
{
	size_t i = 0;

	/* A UTF-8 byte order mark is whitespace to every format here. */
	if (len >= 3 && memcmp(buf, "\xef\xbb\xbf", 3) == 0)
		i = 3;
	while (i < len && (buf[i] == ' ' || buf[i] == '\t' || buf[i] == '\r' || buf[i] == '\n'))
		i++;
	if (i == len)
		return -EINVAL;
	switch (buf[i]) {
	case '<':
		*ret = CAPS_DUMP_LIBVIRT_XML;
		return 0;
	case '{':
		*ret = CAPS_DUMP_JSON;
		return 0;
	default:
		/* `cpuid -r` starts with "CPU:" (-1) or "CPU 0:", or with a leaf line. */
		if ((len - i >= 3 && memcmp(buf + i, "CPU", 3) == 0) ||
		    (len - i >= 2 && memcmp(buf + i, "0x", 2) == 0)) {
			*ret = CAPS_DUMP_CPUID_R;
			return 0;
		}
		return -EINVAL;
	}
}

int caps_dump_parse(const char *buf, size_t len, enum caps_dump_format fmt,
		    struct caps_dump *ret, struct caps_dump_error *err)
{
	if (!buf || !ret)
		return -EINVAL;
	if (len > CAPS_DUMP_MAX_BYTES)
		return caps_dump_error_set(err, 0, 0, CAPS_DUMP_MAX_BYTES,
					   "dump is larger than %d bytes", CAPS_DUMP_MAX_BYTES);
	if (memchr(buf, '\0', len)) {
		size_t at = (size_t)((const char *)memchr(buf, '\0', len) - buf);

		return caps_dump_error_set(err, 0, 0, at, "NUL byte at offset %zu", at);
	}
	if (fmt == CAPS_DUMP_AUTO && caps_dump_detect(buf, len, &fmt) < 0)
		return caps_dump_error_set(err, 1, 1, 0,
					   "unrecognised dump format (expected libvirt XML, `cpuid -r` text or hvcap JSON)");
	switch (fmt) {
	case CAPS_DUMP_LIBVIRT_XML:
		return caps_dump_parse_libvirt(buf, len, ret, err);
	case CAPS_DUMP_CPUID_R:
		return caps_dump_parse_cpuid_r(buf, len, ret, err);
	case CAPS_DUMP_JSON:
		return caps_dump_parse_json(buf, len, ret, err);
	default:
		return -EINVAL;
	}
}

int caps_dump_read_file(const char *path, enum caps_dump_format fmt,
			struct caps_dump *ret, struct caps_dump_error *err)
{
	char *buf;
	size_t len = 0;
	int fd, r;

	if (!path)
		return -EINVAL;
	if (strcmp(path, "-") == 0) {
		fd = STDIN_FILENO;
	} else {
		fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
		if (fd < 0) {
			r = -errno;
			if (err)
				caps_dump_error_set(err, 0, 0, 0, "%s: %s", path, strerror(-r));
			return r;
		}
	}

	/* One byte more than allowed, to tell "at the limit" from "over it". */
	buf = malloc(CAPS_DUMP_MAX_BYTES + 1);
	if (!buf) {
		r = -ENOMEM;
		goto out;
	}
	for (;;) {
		ssize_t n = read(fd, buf + len, CAPS_DUMP_MAX_BYTES + 1 - len);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			r = -errno;
			if (err)
				caps_dump_error_set(err, 0, 0, len, "%s: %s", path, strerror(-r));
			goto out;
		}
		if (n == 0)
			break;
		len += (size_t)n;
		if (len > CAPS_DUMP_MAX_BYTES) {
			r = caps_dump_error_set(err, 0, 0, CAPS_DUMP_MAX_BYTES,
						"%s: larger than %d bytes", path, CAPS_DUMP_MAX_BYTES);
			goto out;
		}
	}
	r = caps_dump_parse(buf, len, fmt, ret, err);
out:
	free(buf);
	if (fd != STDIN_FILENO)
		close(fd);
	return r;
}

int caps_dump_write(const struct caps_dump *d, enum caps_dump_format fmt, char **ret)
{
	if (!d || !ret)
		return -EINVAL;
	switch (fmt) {
	case CAPS_DUMP_LIBVIRT_XML:
		return caps_dump_write_libvirt(d, ret);
	case CAPS_DUMP_CPUID_R:
		return caps_dump_write_cpuid_r(d, ret);
	case CAPS_DUMP_JSON:
		return caps_dump_write_json(d, ret);
	default:
		return -EINVAL;
	}
}
