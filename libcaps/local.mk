# SPDX-License-Identifier: LGPL-2.1-or-later
# libcaps: feature catalog, bitmaps, CPUID entry sets, dump readers and
# writers, and host probing.  json-c and expat stay in the dump files.

noinst_LTLIBRARIES += libcaps/libcaps.la

libcaps_libcaps_la_SOURCES = \
	include/libcaps/caps.h \
	include/libcaps/cpuid.h \
	include/libcaps/dump.h \
	include/libcaps/file.h \
	include/libcaps/host.h \
	include/libcaps/json-check.h \
	include/libcaps/policy.h \
	include/libcaps/words-cpuid.def \
	include/libcaps/words-msr.def \
	include/libcaps/features-basic.def \
	include/libcaps/features-ext.def \
	include/libcaps/features-msr.def \
	libcaps/catalog.c \
	libcaps/caps.c \
	libcaps/cpuid.c \
	libcaps/dump.c \
	libcaps/file.c \
	libcaps/dump-libvirt.c \
	libcaps/dump-cpuid-r.c \
	libcaps/dump-json.c \
	libcaps/json-check.c \
	libcaps/host-cpuid.c \
	libcaps/host-kernel.c \
	libcaps/host-record.c \
	libcaps/policy.c \
	libcaps/host-probe.c \
	libcaps/host-sys.c \
	libcaps/host-internal.h \
	libcaps/dump-internal.h

libcaps_libcaps_la_CFLAGS = $(AM_CFLAGS) $(JSONC_CFLAGS) $(EXPAT_CFLAGS)
libcaps_libcaps_la_LIBADD = $(JSONC_LIBS) $(EXPAT_LIBS)
