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
	cli/online.h \
	cli/online.c \
	cli/cmd-host-show.c \
	cli/cmd-host-features.c \
	cli/cmd-host-export.c \
	cli/cmd-host-reload.c \
	cli/cmd-host-probe.c \
	cli/cmd-host-model.c \
	cli/cmd-policy-check.c \
	cli/cmd-policy-baseline.c \
	cli/cmd-policy-migrate-check.c \
	cli/cmd-vm-create.c \
	cli/cmd-vm-list.c \
	cli/cmd-vm-show.c \
	cli/cmd-vm-delete.c \
	cli/cmd-vm-add-vcpu.c \
	cli/cmd-vcpu-set-cpuid.c \
	cli/cmd-vcpu-set-apic-base.c \
	cli/cmd-vcpu-write-cr3.c \
	cli/cmd-vcpu-init.c \
	cli/cmd-vcpu-run.c \
	cli/cmd-vcpu-nested-run.c \
	cli/cmd-vcpu-nested-exit.c \
	cli/cmd-watch.c \
	cli/cmd-top.c \
	cli/cmd-cpuid-dump.c \
	cli/cmd-cpuid-decode.c \
	cli/cmd-complete.c

cli_hvctl_CFLAGS = $(AM_CFLAGS) $(JSONC_CFLAGS)
cli_hvctl_LDADD = proto/libproto.la hvcore/libhvcore.la libcaps/libcaps.la $(JSONC_LIBS)
