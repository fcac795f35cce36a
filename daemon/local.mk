# SPDX-License-Identifier: LGPL-2.1-or-later
# hvcapd: the Varlink daemon.  server.c owns the loop and the connections;
# one method per daemon/method-*.c file, listed in daemon/methods.c.  May
# use libcaps, hvcore, proto, libevent and libsystemd; never cli.  Logs
# (stderr, sd-daemon priority prefixes).

sbin_PROGRAMS += daemon/hvcapd

# Everything of hvcapd but main.c, server.c and state.c, which fuzz/'s
# targets include (for their static functions) and so link apart.
hvcapd_common_sources = \
	daemon/daemon.h \
	daemon/server.h \
	daemon/config.c \
	daemon/log.c \
	daemon/notify.c \
	daemon/auth.c \
	daemon/listen.c \
	daemon/methods.c \
	daemon/method-service.c

daemon_hvcapd_SOURCES = daemon/main.c daemon/server.c daemon/state.c $(hvcapd_common_sources)

daemon_hvcapd_CFLAGS = $(AM_CFLAGS) $(JSONC_CFLAGS) $(LIBEVENT_CFLAGS) $(SYSTEMD_CFLAGS)
daemon_hvcapd_LDADD = proto/libproto.la hvcore/libhvcore.la libcaps/libcaps.la \
	$(LIBEVENT_LIBS) $(SYSTEMD_LIBS) $(JSONC_LIBS)

# The daemon's state and methods: the host, the VM registry, state files,
# Watch streams, and one file per method.
hvcapd_common_sources += \
	daemon/hvcapd-internal.h \
	daemon/control.h \
	daemon/control.c \
	daemon/hvcapd.c \
	daemon/host.c \
	daemon/registry.c \
	daemon/events.c \
	daemon/fleet-host.c \
	daemon/method-common.c \
	daemon/method-host-describe.c \
	daemon/method-host-get-capabilities.c \
	daemon/method-host-reload.c \
	daemon/method-policy-validate.c \
	daemon/method-policy-compare.c \
	daemon/method-policy-baseline.c \
	daemon/method-vm-create.c \
	daemon/method-vm-list.c \
	daemon/method-vm-get.c \
	daemon/method-vm-delete.c \
	daemon/method-vm-add-vcpu.c \
	daemon/method-vm-set-cpuid.c \
	daemon/method-vm-set-apic-base.c \
	daemon/method-vm-write-cr3.c \
	daemon/method-vm-init.c \
	daemon/method-vm-run.c \
	daemon/method-vm-nested-run.c \
	daemon/method-vm-nested-exit.c \
	daemon/method-vm-watch.c
