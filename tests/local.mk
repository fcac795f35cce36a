# SPDX-License-Identifier: LGPL-2.1-or-later
# Check suites, one binary per module (tests/unit/test-<module>.c), and
# the scripts that drive hvctl.

TEST_EXTENSIONS = .sh
SH_LOG_COMPILER = $(SHELL)

check_PROGRAMS += \
	tests/unit/test-catalog \
	tests/unit/test-caps \
	tests/unit/test-cpuid \
	tests/unit/test-dump \
	tests/unit/test-testdata \
	tests/unit/test-host-cpuid \
	tests/unit/test-host-probe \
	tests/unit/test-model \
	tests/unit/test-vm \
	tests/unit/test-model-probe \
	tests/unit/test-qemu-expansion \
	tests/unit/test-policy-json

TESTS += \
	tests/unit/test-catalog \
	tests/unit/test-caps \
	tests/unit/test-cpuid \
	tests/unit/test-dump \
	tests/unit/test-testdata \
	tests/unit/test-host-cpuid \
	tests/unit/test-host-probe \
	tests/unit/test-model \
	tests/unit/test-vm \
	tests/unit/test-model-probe \
	tests/unit/test-qemu-expansion \
	tests/unit/test-policy-json \
	tests/cli/test-hvctl-cpuid.sh \
	tests/cli/test-hvctl-host.sh

HVCAP_TEST_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS) -DHVCAP_TEST_SRCDIR='"$(abs_top_srcdir)"'
HVCAP_TEST_LIBS = libcaps/libcaps.la $(CHECK_LIBS)

tests_unit_test_catalog_SOURCES = tests/unit/test-catalog.c tests/unit/test-util.h
tests_unit_test_catalog_CFLAGS = $(HVCAP_TEST_CFLAGS)
tests_unit_test_catalog_LDADD = $(HVCAP_TEST_LIBS)

tests_unit_test_caps_SOURCES = tests/unit/test-caps.c tests/unit/test-util.h
tests_unit_test_caps_CFLAGS = $(HVCAP_TEST_CFLAGS)
tests_unit_test_caps_LDADD = $(HVCAP_TEST_LIBS)

tests_unit_test_cpuid_SOURCES = tests/unit/test-cpuid.c tests/unit/test-util.h
tests_unit_test_cpuid_CFLAGS = $(HVCAP_TEST_CFLAGS)
tests_unit_test_cpuid_LDADD = $(HVCAP_TEST_LIBS)

tests_unit_test_dump_SOURCES = tests/unit/test-dump.c tests/unit/test-util.h
tests_unit_test_dump_CFLAGS = $(HVCAP_TEST_CFLAGS)
tests_unit_test_dump_LDADD = $(HVCAP_TEST_LIBS)

tests_unit_test_testdata_SOURCES = tests/unit/test-testdata.c tests/unit/test-util.h
tests_unit_test_testdata_CFLAGS = $(HVCAP_TEST_CFLAGS) $(EXPAT_CFLAGS)
tests_unit_test_testdata_LDADD = $(HVCAP_TEST_LIBS) $(EXPAT_LIBS)

tests_unit_test_host_cpuid_SOURCES = tests/unit/test-host-cpuid.c tests/unit/test-util.h
tests_unit_test_host_cpuid_CFLAGS = $(HVCAP_TEST_CFLAGS)
tests_unit_test_host_cpuid_LDADD = $(HVCAP_TEST_LIBS)

tests_unit_test_host_probe_SOURCES = tests/unit/test-host-probe.c tests/unit/test-util.h
tests_unit_test_host_probe_CFLAGS = $(HVCAP_TEST_CFLAGS)
tests_unit_test_host_probe_LDADD = $(HVCAP_TEST_LIBS)

EXTRA_DIST += tests/data tests/cli/test-hvctl-cpuid.sh tests/cli/test-hvctl-host.sh

tests_unit_test_model_SOURCES = tests/unit/test-model.c tests/unit/test-util.h tests/unit/synthetic-hosts.h
tests_unit_test_model_CFLAGS = $(HVCAP_TEST_CFLAGS)
tests_unit_test_model_LDADD = hvcore/libhvcore.la $(HVCAP_TEST_LIBS)

tests_unit_test_vm_SOURCES = tests/unit/test-vm.c tests/unit/test-util.h tests/unit/synthetic-hosts.h
tests_unit_test_vm_CFLAGS = $(HVCAP_TEST_CFLAGS)
tests_unit_test_vm_LDADD = hvcore/libhvcore.la $(HVCAP_TEST_LIBS)

tests_unit_test_model_probe_SOURCES = tests/unit/test-model-probe.c tests/unit/test-util.h
tests_unit_test_model_probe_CFLAGS = $(HVCAP_TEST_CFLAGS)
tests_unit_test_model_probe_LDADD = hvcore/libhvcore.la $(HVCAP_TEST_LIBS)

tests_unit_test_qemu_expansion_SOURCES = tests/unit/test-qemu-expansion.c tests/unit/test-util.h
tests_unit_test_qemu_expansion_CFLAGS = $(HVCAP_TEST_CFLAGS) $(JSONC_CFLAGS)
tests_unit_test_qemu_expansion_LDADD = hvcore/libhvcore.la $(HVCAP_TEST_LIBS) $(JSONC_LIBS)

tests_unit_test_policy_json_SOURCES = tests/unit/test-policy-json.c tests/unit/test-util.h
tests_unit_test_policy_json_CFLAGS = $(HVCAP_TEST_CFLAGS) $(JSONC_CFLAGS)
tests_unit_test_policy_json_LDADD = proto/libproto.la $(HVCAP_TEST_LIBS) $(JSONC_LIBS)

check_PROGRAMS += tests/unit/test-policy
TESTS += tests/unit/test-policy
tests_unit_test_policy_SOURCES = tests/unit/test-policy.c tests/unit/test-util.h tests/unit/synthetic-hosts.h
tests_unit_test_policy_CFLAGS = $(HVCAP_TEST_CFLAGS)
tests_unit_test_policy_LDADD = hvcore/libhvcore.la $(HVCAP_TEST_LIBS)

TESTS += tests/cli/test-hvctl-policy.sh
EXTRA_DIST += tests/cli/test-hvctl-policy.sh tests/cli/lib.sh tests/cli/common.sh examples


# proto's Varlink layer: messages, framing, the IDL and its checker, the client.
check_PROGRAMS += tests/unit/test-varlink
TESTS += tests/unit/test-varlink
tests_unit_test_varlink_SOURCES = tests/unit/test-varlink.c tests/unit/test-util.h tests/unit/synthetic-hosts.h
tests_unit_test_varlink_CFLAGS = $(HVCAP_TEST_CFLAGS) $(JSONC_CFLAGS)
tests_unit_test_varlink_LDADD = proto/libproto.la hvcore/libhvcore.la $(HVCAP_TEST_LIBS) $(JSONC_LIBS)

# hvcore's restore functions (hvcapd's state files rebuild VMs with them).
check_PROGRAMS += tests/unit/test-vm-restore
TESTS += tests/unit/test-vm-restore
tests_unit_test_vm_restore_SOURCES = tests/unit/test-vm-restore.c tests/unit/test-util.h tests/unit/synthetic-hosts.h
tests_unit_test_vm_restore_CFLAGS = $(HVCAP_TEST_CFLAGS)
tests_unit_test_vm_restore_LDADD = hvcore/libhvcore.la $(HVCAP_TEST_LIBS)

# hvcapd's server: framing, limits, timeouts, authorization, introspection, the service manager.
check_PROGRAMS += tests/unit/test-daemon-server
TESTS += tests/unit/test-daemon-server
tests_unit_test_daemon_server_SOURCES = tests/unit/test-daemon-server.c tests/unit/daemon-harness.h tests/unit/test-util.h
tests_unit_test_daemon_server_CFLAGS = $(HVCAP_TEST_CFLAGS) $(JSONC_CFLAGS)
tests_unit_test_daemon_server_LDADD = proto/libproto.la $(HVCAP_TEST_LIBS) $(JSONC_LIBS)

# hvcapd's methods, state files and Watch streams, through the real daemon and proto's client.
check_PROGRAMS += tests/unit/test-daemon-methods
TESTS += tests/unit/test-daemon-methods
tests_unit_test_daemon_methods_SOURCES = tests/unit/test-daemon-methods.c tests/unit/test-util.h \
	tests/unit/daemon-harness.h tests/unit/daemon-client.h tests/unit/synthetic-hosts.h
tests_unit_test_daemon_methods_CFLAGS = $(HVCAP_TEST_CFLAGS) $(JSONC_CFLAGS)
tests_unit_test_daemon_methods_LDADD = proto/libproto.la $(HVCAP_TEST_LIBS) $(JSONC_LIBS)

# hvctl's online commands against the real hvcapd (model and kvm backends).
TESTS += tests/cli/test-hvctl-online.sh
EXTRA_DIST += tests/cli/test-hvctl-online.sh

# hvcapd's shared-memory control plane, as the real daemon writes it, against its API.
check_PROGRAMS += tests/unit/test-control-writer
TESTS += tests/unit/test-control-writer
tests_unit_test_control_writer_SOURCES = tests/unit/test-control-writer.c tests/unit/test-util.h \
	tests/unit/daemon-harness.h tests/unit/daemon-client.h tests/unit/synthetic-hosts.h
tests_unit_test_control_writer_CFLAGS = $(HVCAP_TEST_CFLAGS) $(JSONC_CFLAGS)
tests_unit_test_control_writer_LDADD = proto/libproto.la hvcore/libhvcore.la $(HVCAP_TEST_LIBS) $(JSONC_LIBS)

# The control-plane reader (libhvcap) against files the test fixture
# writes: every function, every corruption, a fuzz loop, a writer racing
# readers; and libhvcap installed, with pkg-config and the example.
check_PROGRAMS += tests/unit/test-control-reader tests/unit/control-fixture
TESTS += tests/unit/test-control-reader tests/cli/test-install.sh
EXTRA_DIST += tests/cli/test-install.sh
tests_unit_test_control_reader_SOURCES = tests/unit/test-control-reader.c tests/unit/control-fixture.h \
	tests/unit/test-util.h
tests_unit_test_control_reader_CFLAGS = $(HVCAP_TEST_CFLAGS) -pthread
tests_unit_test_control_reader_LDFLAGS = $(AM_LDFLAGS) -pthread
tests_unit_test_control_reader_LDADD = proto/libproto.la $(HVCAP_TEST_LIBS)
tests_unit_control_fixture_SOURCES = tests/unit/control-fixture.c tests/unit/control-fixture.h
tests_unit_control_fixture_LDADD = libcaps/libcaps.la

# The control plane under load: the real hvcapd mutating, libhvcap readers verifying every snapshot.
check_PROGRAMS += tests/unit/test-control-torture
TESTS += tests/unit/test-control-torture
tests_unit_test_control_torture_SOURCES = tests/unit/test-control-torture.c tests/unit/test-util.h \
	tests/unit/daemon-harness.h tests/unit/daemon-client.h tests/unit/synthetic-hosts.h
tests_unit_test_control_torture_CFLAGS = $(HVCAP_TEST_CFLAGS) $(JSONC_CFLAGS)
tests_unit_test_control_torture_LDADD = proto/libproto.la hvcore/libhvcore.la $(HVCAP_TEST_LIBS) $(JSONC_LIBS)

# The shipped /etc/hvcap/hvcapd.conf: every key documented, hvcapd starts on it.
TESTS += tests/cli/test-config.sh
EXTRA_DIST += tests/cli/test-config.sh

# The bash completion of hvctl, driven as bash drives it, with and without
# the bash-completion package, against the real hvcapd.
TESTS += tests/cli/test-completion.sh
EXTRA_DIST += tests/cli/test-completion.sh

# The manual pages: warning-free, and documenting every command, option,
# configuration key and policy field the programs have.
TESTS += tests/cli/test-man.sh
EXTRA_DIST += tests/cli/test-man.sh

# The systemd units as installed: systemd-analyze verify and security
# (exposure at most 2.0); as root, the installed hvcapd run as the units
# run it (sysusers.d, tmpfiles.d, socket activation, user hvcap with kvm)
# and driven by the installed hvctl as root, group members and others.
TESTS += tests/cli/test-systemd.sh
EXTRA_DIST += tests/cli/test-systemd.sh

# hvcapd under load and faults, the real daemon: 1,000 connections of 100
# pipelined calls and its memory after them, slow clients beside a
# well-behaved one, a full state directory, /dev/kvm lost at a reload.
check_PROGRAMS += tests/unit/test-daemon-load
TESTS += tests/unit/test-daemon-load
tests_unit_test_daemon_load_SOURCES = tests/unit/test-daemon-load.c tests/unit/test-util.h \
	tests/unit/daemon-harness.h tests/unit/daemon-client.h tests/unit/synthetic-hosts.h
tests_unit_test_daemon_load_CFLAGS = $(HVCAP_TEST_CFLAGS) $(JSONC_CFLAGS)
tests_unit_test_daemon_load_LDADD = proto/libproto.la $(HVCAP_TEST_LIBS) $(JSONC_LIBS)

# hvcapd under valgrind's memcheck through a session of hvctl commands
# (skipped without valgrind and in sanitizer builds).
TESTS += tests/cli/test-valgrind.sh
EXTRA_DIST += tests/cli/test-valgrind.sh

# The whole suite again with every hvcapd the tests start under memcheck:
# fails on any memcheck error or lost block (tests/check-valgrind.sh).
.PHONY: check-valgrind
check-valgrind: all
	$(SHELL) $(srcdir)/tests/check-valgrind.sh $(abs_top_builddir)
EXTRA_DIST += tests/check-valgrind.sh tests/failed-logs.sh
clean-local:
	rm -rf vg-logs

# hvctl host export, offline and from the real hvcapd: the NFD feature
# file against NFD's and Kubernetes' rules (keys, expiry, 64 KiB, atomic
# --output), valid placement traits, the x86-64 levels of the shared dumps.
TESTS += tests/cli/test-hvctl-export.sh
EXTRA_DIST += tests/cli/test-hvctl-export.sh

# The cross-host questions: baselines accepted by every host's model and
# maximal, migration checks field by field (hvcore/baseline.c, migrate.c)
# on the shared dumps, and io.hvcap.Policy.Baseline through the real hvcapd.
check_PROGRAMS += tests/unit/test-baseline
TESTS += tests/unit/test-baseline
tests_unit_test_baseline_SOURCES = tests/unit/test-baseline.c tests/unit/test-util.h \
	tests/unit/daemon-harness.h tests/unit/daemon-client.h tests/unit/synthetic-hosts.h
tests_unit_test_baseline_CFLAGS = $(HVCAP_TEST_CFLAGS) $(JSONC_CFLAGS)
tests_unit_test_baseline_LDADD = proto/libproto.la hvcore/libhvcore.la $(HVCAP_TEST_LIBS) $(JSONC_LIBS)

# hvctl policy baseline and policy migrate-check: the baseline's .policy
# is accepted by 'hvctl policy check --host-dump' on every input.
TESTS += tests/cli/test-hvctl-baseline.sh
EXTRA_DIST += tests/cli/test-hvctl-baseline.sh
