/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * sd_notify(3): what the service manager learns from hvcapd.  READY=1
 * once the socket listens and the host is known, STATUS= when what the
 * daemon does changes, RELOADING=1 around SIGHUP, STOPPING=1, and
 * WATCHDOG=1 pings when the unit sets WatchdogSec=.  Without
 * $NOTIFY_SOCKET every call does nothing; a failure to notify is not a
 * reason to stop serving.
 */

#include <stdarg.h>
#include <stdio.h>
#include <time.h>

#include <systemd/sd-daemon.h>

#include "server.h"

void notify_ready(const char *status)
{
	sd_notifyf(0, "READY=1\nSTATUS=%s", status);
}

void notify_status(const char *fmt, ...)
{
	char status[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(status, sizeof(status), fmt, ap);
	va_end(ap);
	sd_notifyf(0, "STATUS=%s", status);
}

void notify_reloading(void)
{
	struct timespec ts;

	/* Type=notify-reload wants the monotonic time with RELOADING=1. */
	clock_gettime(CLOCK_MONOTONIC, &ts);
	sd_notifyf(0, "RELOADING=1\nSTATUS=Reloading the host\nMONOTONIC_USEC=%llu",
		   (unsigned long long)ts.tv_sec * 1000000ULL + (unsigned long long)ts.tv_nsec / 1000);
}

void notify_stopping(void)
{
	sd_notify(0, "STOPPING=1\nSTATUS=Shutting down");
}

void notify_watchdog(void)
{
	sd_notify(0, "WATCHDOG=1");
}

uint64_t notify_watchdog_interval_usec(void)
{
	uint64_t usec = 0;

	/* Ping at half the interval, as sd_watchdog_enabled(3) advises. */
	if (sd_watchdog_enabled(0, &usec) <= 0)
		return 0;
	return usec / 2 ? usec / 2 : 1;
}
