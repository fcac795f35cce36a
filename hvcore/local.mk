# SPDX-License-Identifier: LGPL-2.1-or-later
# hvcore: the hypervisor core model.  Pure: libcaps only, no I/O, no logging.

noinst_LTLIBRARIES += hvcore/libhvcore.la

hvcore_libhvcore_la_SOURCES = \
	include/hvcore/model.h \
	include/hvcore/vm.h \
	include/hvcore/policy.h \
	include/hvcore/fleet.h \
	hvcore/model-internal.h \
	hvcore/kvm-caps.def \
	hvcore/params.c \
	hvcore/model.c \
	hvcore/model-host.c \
	hvcore/model-vendor.c \
	hvcore/model-leaves.c \
	hvcore/levels.c \
	hvcore/policy.c \
	hvcore/vm-internal.h \
	hvcore/arena.c \
	hvcore/vm.c \
	hvcore/vcpu.c \
	hvcore/apic.c \
	hvcore/eraps.c \
	hvcore/restore.c \
	hvcore/baseline.c \
	hvcore/migrate.c

hvcore_libhvcore_la_LIBADD = libcaps/libcaps.la
