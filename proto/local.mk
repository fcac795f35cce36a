# SPDX-License-Identifier: LGPL-2.1-or-later
# proto: JSON codecs (strict decoding through field tables) and, later,
# Varlink framing and the client library.  May use libcaps and json-c;
# never hvcore, libevent or libsystemd.  Never logs.

noinst_LTLIBRARIES += proto/libproto.la

proto_libproto_la_SOURCES = \
	include/proto/json-decode.h \
	include/proto/policy.h \
	proto/json-decode.c \
	proto/policy-json.c

proto_libproto_la_CFLAGS = $(AM_CFLAGS) $(JSONC_CFLAGS)
proto_libproto_la_LIBADD = libcaps/libcaps.la $(JSONC_LIBS)
