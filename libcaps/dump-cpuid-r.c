/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Placeholder until the cpuid-r reader lands. */

#include <errno.h>

#include "dump-internal.h"

int caps_dump_parse_cpuid_r(const char *buf, size_t len, struct caps_dump *ret,
			struct caps_dump_error *err)
{
	return caps_dump_error_set(err, 0, 0, 0, "cpuid-r dumps are not supported yet");
}

int caps_dump_write_cpuid_r(const struct caps_dump *d, char **ret)
{
	return -EOPNOTSUPP;
}
