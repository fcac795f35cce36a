/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libFuzzer target: libcaps's dump readers (libcaps/dump*.c) on arbitrary
 * bytes: format detection, then each reader (libvirt XML, `cpuid -r`,
 * hvcap JSON) and the auto-detecting entry point.  A dump a reader
 * accepts must write back in that format and read back equal
 * (caps_dump_write()'s contract), and in JSON from any reader.
 */

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libcaps/cpuid.h>
#include <libcaps/dump.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void round_trip(const struct caps_dump *d, enum caps_dump_format fmt)
{
	struct caps_dump_error err = { 0 };
	struct caps_dump *back;
	char *text = NULL;
	int r;

	r = caps_dump_write(d, fmt, &text);
	if (r == -ENOMEM)
		return;
	if (r < 0) {
		fprintf(stderr, "caps_dump_write(%s) of an accepted dump = %d\n", caps_dump_format_to_string(fmt), r);
		abort();
	}
	back = malloc(sizeof(*back));
	if (!back) {
		free(text);
		return;
	}
	r = caps_dump_parse(text, strlen(text), fmt, back, &err);
	if (r < 0) {
		fprintf(stderr, "%s written does not read back: %s\n%s\n", caps_dump_format_to_string(fmt),
			err.message, text);
		abort();
	}
	if (back->cpuid.nent != d->cpuid.nent) {
		fprintf(stderr, "%s round trip: %zu entries, then %zu\n", caps_dump_format_to_string(fmt),
			(size_t)d->cpuid.nent, (size_t)back->cpuid.nent);
		abort();
	}
	free(back);
	free(text);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const enum caps_dump_format formats[] = {
		CAPS_DUMP_AUTO, CAPS_DUMP_LIBVIRT_XML, CAPS_DUMP_CPUID_R, CAPS_DUMP_JSON,
	};
	const char *buf = (const char *)data;
	struct caps_dump_error err;
	enum caps_dump_format detected;
	struct caps_dump *d;

	(void)caps_dump_detect(buf, size, &detected);
	d = malloc(sizeof(*d));
	if (!d)
		return 0;
	for (size_t i = 0; i < sizeof(formats) / sizeof(formats[0]); i++) {
		memset(&err, 0, sizeof(err));
		if (caps_dump_parse(buf, size, formats[i], d, &err) < 0) {
			if (!memchr(err.message, 0, sizeof(err.message)))
				abort();
			continue;
		}
		if (formats[i] != CAPS_DUMP_AUTO)
			round_trip(d, formats[i]);
		round_trip(d, CAPS_DUMP_JSON);
	}
	free(d);
	return 0;
}
