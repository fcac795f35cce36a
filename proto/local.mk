# SPDX-License-Identifier: LGPL-2.1-or-later
# proto: JSON codecs (strict decoding through field tables), Varlink
# messages, framing and interface descriptions, and the client library.
# May use libcaps and json-c; never hvcore, libevent or libsystemd.  Never
# logs.

noinst_LTLIBRARIES += proto/libproto.la

proto_libproto_la_SOURCES = \
	include/proto/client.h \
	include/proto/host.h \
	include/proto/idl.h \
	include/proto/json-decode.h \
	include/proto/json-writer.h \
	include/proto/policy.h \
	include/proto/varlink.h \
	proto/client.c \
	proto/host-json.c \
	proto/host-record-read.c \
	proto/idl-builtin.h \
	proto/idl.c \
	proto/json-build.h \
	proto/json-build.c \
	proto/json-decode.c \
	proto/json-writer.c \
	proto/policy-json.c \
	proto/varlink.c

# The interface files, embedded in the order proto_idl_builtin() lists them.
proto_idl_files = \
	proto/varlink/io.hvcap.varlink \
	proto/varlink/io.hvcap.Host.varlink \
	proto/varlink/io.hvcap.Policy.varlink \
	proto/varlink/io.hvcap.Vm.varlink \
	proto/varlink/org.varlink.service.varlink

# Installed too, for clients and tools that read interfaces from files
# (varlinkctl, code generators): $(datadir)/hvcap/varlink.
varlinkdir = $(datadir)/hvcap/varlink
varlink_DATA = $(proto_idl_files)

nodist_proto_libproto_la_SOURCES = proto/idl-builtin.c
CLEANFILES += proto/idl-builtin.c
EXTRA_DIST += $(proto_idl_files) proto/embed-idl.awk

# Generated in the build tree from the source tree's files (VPATH finds
# the prerequisites; the recipe reads them from $(srcdir)).
proto/idl-builtin.c: $(proto_idl_files) proto/embed-idl.awk
	$(AM_V_GEN)$(MKDIR_P) proto && \
	(cd $(srcdir) && $(AWK) -f proto/embed-idl.awk $(proto_idl_files)) > $@.tmp && \
	mv -f $@.tmp $@

proto_libproto_la_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/proto
proto_libproto_la_CFLAGS = $(AM_CFLAGS) $(JSONC_CFLAGS)
proto_libproto_la_LIBADD = libcaps/libcaps.la $(JSONC_LIBS)

# The control-plane reader and libhvcap's feature names (hvcap/hvcap.h).
proto_libproto_la_SOURCES += \
	include/hvcap/control.h \
	include/hvcap/hvcap.h \
	proto/control.c \
	proto/features.c

# libhvcap: the installed client library.  libcaps (feature catalog, CPUID
# sets, dumps), proto (the Varlink client and the control-plane reader),
# exporting only their prefixes; hvctl and hvcapd keep linking the
# convenience libraries.
lib_LTLIBRARIES += proto/libhvcap.la
proto_libhvcap_la_SOURCES =
proto_libhvcap_la_LIBADD = proto/libproto.la
proto_libhvcap_la_LDFLAGS = $(AM_LDFLAGS) -version-info 0:0:0 \
	-export-symbols-regex '^(hvcap_|caps_|proto_)' -no-undefined

# Its public headers, all under $(includedir)/hvcap so that nothing else's
# libcaps/ or proto/ is in the way: <hvcap/hvcap.h>, and with hvcap.pc's
# second -I, <libcaps/caps.h> and <proto/client.h> as the headers include
# each other (tests/cli/test-install.sh compiles each one on its own from
# the installed tree).
hvcapincludedir = $(includedir)/hvcap
hvcapinclude_HEADERS = \
	include/hvcap/control.h \
	include/hvcap/hvcap.h

libcapsincludedir = $(includedir)/hvcap/libcaps
libcapsinclude_HEADERS = \
	include/libcaps/caps.h \
	include/libcaps/cpuid.h \
	include/libcaps/dump.h \
	include/libcaps/words-cpuid.def \
	include/libcaps/words-msr.def \
	include/libcaps/features-basic.def \
	include/libcaps/features-ext.def \
	include/libcaps/features-msr.def

protoincludedir = $(includedir)/hvcap/proto
protoinclude_HEADERS = \
	include/proto/client.h \
	include/proto/varlink.h \
	include/proto/json-decode.h \
	include/proto/json-writer.h

pkgconfigdir = $(libdir)/pkgconfig
pkgconfig_DATA = hvcap.pc
