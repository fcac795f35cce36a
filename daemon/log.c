/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Logging: one line per message on stderr with the sd-daemon priority
 * prefix ("<3>"), which journald turns into the priority and strips.
 * Messages may quote what a client sent, so control characters are
 * replaced before the line is written: a client cannot forge log lines.
 */

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#include "server.h"

static int log_max_priority = LOG_INFO;

void hvcapd_log_set_level(int level)
{
	if (level >= LOG_EMERG && level <= LOG_DEBUG)
		log_max_priority = level;
}

static const char *const log_level_names[] = {
	[LOG_ERR] = "err",
	[LOG_WARNING] = "warning",
	[LOG_NOTICE] = "notice",
	[LOG_INFO] = "info",
	[LOG_DEBUG] = "debug",
};

int log_level_from_name(const char *name)
{
	for (size_t i = 0; i < sizeof(log_level_names) / sizeof(log_level_names[0]); i++)
		if (log_level_names[i] && strcmp(log_level_names[i], name) == 0)
			return (int)i;
	return -EINVAL;
}

void hvcapd_log(int priority, const char *fmt, ...)
{
	/* One write() per line keeps lines whole when stderr is shared. */
	char line[2048];
	va_list ap;
	size_t len, prefix;
	int n;

	if (priority > log_max_priority)
		return;

	n = snprintf(line, sizeof(line), "<%d>", priority & LOG_PRIMASK);
	prefix = (size_t)n;
	va_start(ap, fmt);
	n = vsnprintf(line + prefix, sizeof(line) - prefix - 1, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	len = strlen(line);
	for (size_t i = prefix; i < len; i++)
		if ((unsigned char)line[i] < 0x20 || line[i] == 0x7f)
			line[i] = '?';
	line[len++] = '\n';

	for (size_t done = 0; done < len;) {
		ssize_t w = write(STDERR_FILENO, line + done, len - done);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return;
		done += (size_t)w;
	}
}
