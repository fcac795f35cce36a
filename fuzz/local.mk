# SPDX-License-Identifier: LGPL-2.1-or-later
# fuzz: libFuzzer targets, built only with ./configure --enable-fuzzing
# (CC=clang): each fuzz/fuzz-NAME.c calls the project's parsers in-process.
# fuzz/run.sh runs them on copies of fuzz/corpus/NAME with fuzz/NAME.dict.

# The sources are distributed either way, with the seed corpora (the
# directory, recursively) and the dictionaries.
EXTRA_DIST += \
	fuzz/run.sh \
	fuzz/fuzz-hosts.h \
	fuzz/fuzz-control.c \
	fuzz/fuzz-dump.c \
	fuzz/fuzz-policy.c \
	fuzz/fuzz-varlink.c \
	fuzz/fuzz-state.c \
	fuzz/fuzz-daemon.c \
	fuzz/fuzz-record.c \
	fuzz/corpus \
	fuzz/control.dict \
	fuzz/dump.dict \
	fuzz/policy.dict \
	fuzz/varlink.dict \
	fuzz/state.dict \
	fuzz/daemon.dict \
	fuzz/record.dict

if ENABLE_FUZZING
noinst_PROGRAMS += \
	fuzz/fuzz-control \
	fuzz/fuzz-dump \
	fuzz/fuzz-policy \
	fuzz/fuzz-varlink \
	fuzz/fuzz-state \
	fuzz/fuzz-daemon \
	fuzz/fuzz-record
endif

fuzz_link_flags = $(AM_LDFLAGS) $(HVCAP_FUZZ_CFLAGS)

fuzz_fuzz_control_SOURCES = fuzz/fuzz-control.c
fuzz_fuzz_control_CFLAGS = $(AM_CFLAGS) $(HVCAP_FUZZ_CFLAGS)
fuzz_fuzz_control_LDFLAGS = $(fuzz_link_flags)
fuzz_fuzz_control_LDADD = proto/libproto.la libcaps/libcaps.la

fuzz_fuzz_dump_SOURCES = fuzz/fuzz-dump.c
fuzz_fuzz_dump_CFLAGS = $(AM_CFLAGS) $(HVCAP_FUZZ_CFLAGS)
fuzz_fuzz_dump_LDFLAGS = $(fuzz_link_flags)
fuzz_fuzz_dump_LDADD = libcaps/libcaps.la

fuzz_fuzz_policy_SOURCES = fuzz/fuzz-policy.c
fuzz_fuzz_policy_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/tests/unit -DHVCAP_TEST_SRCDIR='"$(abs_top_srcdir)"'
fuzz_fuzz_policy_CFLAGS = $(AM_CFLAGS) $(HVCAP_FUZZ_CFLAGS) $(CHECK_CFLAGS) $(JSONC_CFLAGS)
fuzz_fuzz_policy_LDFLAGS = $(fuzz_link_flags)
fuzz_fuzz_policy_LDADD = proto/libproto.la hvcore/libhvcore.la libcaps/libcaps.la $(CHECK_LIBS) $(JSONC_LIBS)

fuzz_fuzz_record_SOURCES = fuzz/fuzz-record.c
fuzz_fuzz_record_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/tests/unit -DHVCAP_TEST_SRCDIR='"$(abs_top_srcdir)"'
fuzz_fuzz_record_CFLAGS = $(AM_CFLAGS) $(HVCAP_FUZZ_CFLAGS) $(CHECK_CFLAGS) $(JSONC_CFLAGS)
fuzz_fuzz_record_LDFLAGS = $(fuzz_link_flags)
fuzz_fuzz_record_LDADD = proto/libproto.la hvcore/libhvcore.la libcaps/libcaps.la $(CHECK_LIBS) $(JSONC_LIBS)

fuzz_fuzz_varlink_SOURCES = fuzz/fuzz-varlink.c
fuzz_fuzz_varlink_CFLAGS = $(AM_CFLAGS) $(HVCAP_FUZZ_CFLAGS) $(JSONC_CFLAGS)
fuzz_fuzz_varlink_LDFLAGS = $(fuzz_link_flags)
fuzz_fuzz_varlink_LDADD = proto/libproto.la libcaps/libcaps.la $(JSONC_LIBS)

# The state-file loader is static in daemon/state.c: fuzz-state.c includes
# it and links the rest of hvcapd but main.c (daemon/local.mk's
# hvcapd_common_sources and server.c).
fuzz_fuzz_state_SOURCES = fuzz/fuzz-state.c daemon/server.c $(hvcapd_common_sources)
fuzz_fuzz_state_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/daemon -I$(top_srcdir)/tests/unit \
	-DHVCAP_TEST_SRCDIR='"$(abs_top_srcdir)"'
fuzz_fuzz_state_CFLAGS = $(AM_CFLAGS) $(HVCAP_FUZZ_CFLAGS) $(CHECK_CFLAGS) $(JSONC_CFLAGS) \
	$(LIBEVENT_CFLAGS) $(SYSTEMD_CFLAGS)
fuzz_fuzz_state_LDFLAGS = $(fuzz_link_flags)
fuzz_fuzz_state_LDADD = proto/libproto.la hvcore/libhvcore.la libcaps/libcaps.la \
	$(LIBEVENT_LIBS) $(SYSTEMD_LIBS) $(CHECK_LIBS) $(JSONC_LIBS)

# hvcapd's request path: fuzz-daemon.c includes daemon/server.c (its
# connection functions are static) and links the rest but main.c
# (hvcapd_common_sources and state.c).
fuzz_fuzz_daemon_SOURCES = fuzz/fuzz-daemon.c daemon/state.c $(hvcapd_common_sources)
fuzz_fuzz_daemon_CPPFLAGS = $(fuzz_fuzz_state_CPPFLAGS)
fuzz_fuzz_daemon_CFLAGS = $(fuzz_fuzz_state_CFLAGS)
fuzz_fuzz_daemon_LDFLAGS = $(fuzz_link_flags)
fuzz_fuzz_daemon_LDADD = $(fuzz_fuzz_state_LDADD)
