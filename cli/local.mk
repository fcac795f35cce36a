# SPDX-License-Identifier: LGPL-2.1-or-later
# hvctl: one file per subcommand (cli/cmd-*.c), listed in cli/hvctl.c.

bin_PROGRAMS += cli/hvctl

cli_hvctl_SOURCES = \
	cli/hvctl.h \
	cli/hvctl.c \
	cli/output.h \
	cli/output.c \
	cli/host.h \
	cli/host.c \
	cli/cmd-host-probe.c \
	cli/cmd-host-model.c \
	cli/cmd-host-features.c \
	cli/cmd-policy-check.c \
	cli/cmd-cpuid-dump.c \
	cli/cmd-cpuid-decode.c

cli_hvctl_CFLAGS = $(AM_CFLAGS) $(JSONC_CFLAGS)
cli_hvctl_LDADD = proto/libproto.la hvcore/libhvcore.la libcaps/libcaps.la $(JSONC_LIBS)
