# SPDX-License-Identifier: LGPL-2.1-or-later
# Benchmarks (DESIGN.md §9): built with the tree, but run by
# hand (bench/run-*.sh) or all at once by `make bench`; they print figures
# and never assert timings.

# The control plane against a bit test and the socket, on a real hvcapd
# (bench/run-control.sh).
noinst_PROGRAMS += bench/control-query
bench_control_query_SOURCES = bench/control-query.c
bench_control_query_CFLAGS = $(AM_CFLAGS) $(JSONC_CFLAGS)
bench_control_query_LDADD = proto/libhvcap.la $(JSONC_LIBS)
EXTRA_DIST += bench/run-control.sh

# libhvcap's queries against a bit test, on a file the test fixture writes
# (no daemon needed).  Linked to the library as a client program is:
# every query goes through the PLT.
noinst_PROGRAMS += bench/control-fastpath
bench_control_fastpath_SOURCES = bench/control-fastpath.c tests/unit/control-fixture.h
bench_control_fastpath_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/tests/unit
bench_control_fastpath_LDADD = proto/libhvcap.la

# Round trips, throughput, scale and start-up against hvcapd, with a
# Unix-socket echo server as the reference (bench/run-all.sh).
noinst_PROGRAMS += bench/varlink-rtt
bench_varlink_rtt_SOURCES = bench/varlink-rtt.c
EXTRA_DIST += bench/run-all.sh bench/validate-call.json

# The same check against libvirt's virConnectCompareHypervisorCPU, when
# python3-libvirt and libvirtd are there (bench/run-all.sh).
EXTRA_DIST += bench/libvirt-compare.py

# `make bench`: every figure of docs/PERFORMANCE.md, on this machine, in one
# run (never part of `make check`).
.PHONY: bench
bench: bench/varlink-rtt bench/control-query bench/control-fastpath daemon/hvcapd cli/hvctl
	$(SHELL) $(top_srcdir)/bench/run-all.sh $(abs_builddir)
