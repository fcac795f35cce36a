# SPDX-License-Identifier: LGPL-2.1-or-later
# hvcore: the hypervisor core model.  Pure: libcaps only, no I/O, no logging.

noinst_LTLIBRARIES += hvcore/libhvcore.la

hvcore_libhvcore_la_SOURCES = \
	include/hvcore/model.h \
	hvcore/model-internal.h \
	hvcore/kvm-caps.def \
	hvcore/params.c \
	hvcore/model.c \
	hvcore/model-host.c \
	hvcore/model-vendor.c \
	hvcore/model-leaves.c

hvcore_libhvcore_la_LIBADD = libcaps/libcaps.la
