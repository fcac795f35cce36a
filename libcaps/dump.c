/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Dump format names, detection, and file reading. */

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <libcaps/file.h>

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

int caps_dump_parse_hex(const char *s, size_t len, uint64_t max, uint64_t *ret)
{
	uint64_t v = 0;

	if (len < 3 || s[0] != '0' || s[1] != 'x')
		return -EINVAL;
	for (size_t i = 2; i < len; i++) {
		unsigned digit;

		if (s[i] >= '0' && s[i] <= '9')
			digit = (unsigned)(s[i] - '0');
		else if (s[i] >= 'a' && s[i] <= 'f')
			digit = (unsigned)(s[i] - 'a' + 10);
		else if (s[i] >= 'A' && s[i] <= 'F')
			digit = (unsigned)(s[i] - 'A' + 10);
		else
			return -EINVAL;
		/* Leading zeros are fine; a value past max is not. */
		if (digit > max || v > (max - digit) / 16)
			return -ERANGE;
		v = v * 16 + digit;
	}
	*ret = v;
	return 0;
}

int caps_dump_add_cpuid(struct caps_dump *d, const struct caps_cpuid_entry *e,
			const char **ret_why)
{
	int r;

	if (caps_cpuid_function_range(e->function, NULL) < 0) {
		*ret_why = "function outside every CPUID range";
		return -EINVAL;
	}
	if (e->index > CAPS_DUMP_INDEX_MAX) {
		*ret_why = "sub-leaf index above 0xff";
		return -EINVAL;
	}
	r = caps_cpuid_add(&d->cpuid, e);
	switch (r) {
	case 0:
		return 0;
	case -EEXIST:
		*ret_why = "duplicate entry for this function and sub-leaf";
		return -EINVAL;
	case -E2BIG:
		*ret_why = "more than 256 CPUID entries";
		return -E2BIG;
	default:
		*ret_why = "unknown CPUID entry flags";
		return -EINVAL;
	}
}

int caps_dump_add_msr(struct caps_dump *d, uint32_t index, uint64_t value,
		      const char **ret_why)
{
	int r = caps_msrs_add(&d->msrs, index, value);

	switch (r) {
	case 0:
		return 0;
	case -E2BIG:
		*ret_why = "more than 64 MSRs";
		return -E2BIG;
	default:
		*ret_why = "duplicate MSR";
		return -EINVAL;
	}
}

/* Length of the well-formed UTF-8 sequence (RFC 3629) at s, or 0. */
static size_t utf8_sequence_len(const unsigned char *s, size_t len)
{
	uint32_t cp, min;
	size_t n;

	if (s[0] < 0x80)
		return 1;
	if ((s[0] & 0xe0) == 0xc0) {
		n = 2, cp = s[0] & 0x1f, min = 0x80;
	} else if ((s[0] & 0xf0) == 0xe0) {
		n = 3, cp = s[0] & 0x0f, min = 0x800;
	} else if ((s[0] & 0xf8) == 0xf0) {
		n = 4, cp = s[0] & 0x07, min = 0x10000;
	} else {
		return 0;
	}
	if (len < n)
		return 0;
	for (size_t i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (s[i] & 0x3f);
	}
	/* Overlong forms, surrogates and values past Unicode are malformed. */
	if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	/* XML 1.0 forbids U+FFFE and U+FFFF even in comments. */
	if (cp == 0xfffe || cp == 0xffff)
		return 0;
	return n;
}

bool caps_dump_comment_is_valid(const char *s, size_t len)
{
	const unsigned char *u = (const unsigned char *)s;

	if (len >= sizeof(((struct caps_dump *)NULL)->comment))
		return false;
	for (size_t i = 0; i < len;) {
		size_t n = utf8_sequence_len(u + i, len - i);

		if (n == 0 || (n == 1 && (u[i] < 0x20 || u[i] == 0x7f)))
			return false;
		i += n;
	}
	return true;
}

int caps_dump_validate(const struct caps_dump *d)
{
	struct caps_dump *copy;
	size_t clen;
	int r = 0;

	if (d->cpuid.nent == 0 || d->cpuid.nent > CAPS_CPUID_MAX_ENTRIES ||
	    d->msrs.n > CAPS_MSR_MAX)
		return -EINVAL;
	clen = strnlen(d->comment, sizeof(d->comment));
	if (!caps_dump_comment_is_valid(d->comment, clen))
		return -EINVAL;

	/* Re-add every entry to a scratch dump: the readers' own checks. */
	copy = malloc(sizeof(*copy));
	if (!copy)
		return -ENOMEM;
	caps_dump_init(copy);
	for (size_t i = 0; i < d->cpuid.nent && r == 0; i++) {
		const char *why;

		if (caps_dump_add_cpuid(copy, &d->cpuid.entries[i], &why) < 0)
			r = -EINVAL;
	}
	for (size_t i = 0; i < d->msrs.n && r == 0; i++) {
		const char *why;

		if (caps_dump_add_msr(copy, d->msrs.msrs[i].index, d->msrs.msrs[i].value, &why) < 0)
			r = -EINVAL;
	}
	free(copy);
	return r;
}

const char *caps_dump_sanitize(char *buf, size_t size, const char *s, size_t len)
{
	size_t i, n = 0;

	if (size == 0)
		return buf;
	for (i = 0; i < len && n + 1 < size; i++)
		buf[n++] = s[i] >= 0x20 && s[i] < 0x7f ? s[i] : '?';
	/* Mark a cut, when there is room to say so. */
	if (i < len && size >= 4) {
		n = n > size - 4 ? size - 4 : n;
		memcpy(buf + n, "...", 3);
		n += 3;
	}
	buf[n] = '\0';
	return buf;
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
	size_t len;
	int r;

	if (!path)
		return -EINVAL;
	r = caps_read_file(path, CAPS_DUMP_MAX_BYTES, &buf, &len);
	if (r == -E2BIG)
		return caps_dump_error_set(err, 0, 0, CAPS_DUMP_MAX_BYTES,
					   "%s: larger than %d bytes", path, CAPS_DUMP_MAX_BYTES);
	if (r < 0) {
		if (err)
			caps_dump_error_set(err, 0, 0, 0, "%s: %s", path, strerror(-r));
		return r;
	}
	r = caps_dump_parse(buf, len, fmt, ret, err);
	free(buf);
	return r;
}

int caps_dump_write_stream(const struct caps_dump *d,
			   void (*emit)(const struct caps_dump *d, FILE *f), char **ret)
{
	char *out = NULL;
	size_t size = 0;
	FILE *f = open_memstream(&out, &size);
	bool failed;

	if (!f)
		return -ENOMEM;
	emit(d, f);
	failed = ferror(f);
	if (fclose(f) != 0 || failed) {
		free(out);
		return -ENOMEM;
	}
	*ret = out;
	return 0;
}

int caps_dump_write(const struct caps_dump *d, enum caps_dump_format fmt, char **ret)
{
	int r;

	if (!d || !ret)
		return -EINVAL;
	/* Writers promise that their output reads back: refuse what would not. */
	r = caps_dump_validate(d);
	if (r < 0)
		return r;
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
