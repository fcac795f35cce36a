# SPDX-License-Identifier: LGPL-2.1-or-later
#
# Shared by the tests/cli/test-*.sh scripts that drive hvctl: sourced, not
# run.  common.sh's $tmp, fail, expect, finish and install_build, and:
#
#   hvctl     the binary under test
#   data      the libvirt CPU dumps in ../shared (may not exist)
#   stop_daemon            SIGTERM the hvcapd in $daemon_pid (if any), wait
#
# HVCAP_ADDRESS points to a socket nobody listens on, so that commands that
# ask hvcapd when it runs behave the same whether or not one runs on this
# machine; scripts that start their own hvcapd set it to its socket.

. "${HVCAP_SRCDIR:?}/tests/cli/common.sh"

hvctl="${HVCAP_BUILDDIR:?}/cli/hvctl"
data="${HVCAP_TESTDATA:-}/libvirt-cputestdata"
export HVCAP_ADDRESS="unix:$tmp/no-hvcapd"
daemon_pid=

stop_daemon() {
	if [ -n "$daemon_pid" ]; then
		kill -TERM "$daemon_pid" 2>/dev/null
		wait "$daemon_pid" 2>/dev/null
		daemon_pid=
	fi
}

# Every script reads JSON with jq, which scripts/quickstart.sh installs.
if ! command -v jq >/dev/null 2>&1; then
	echo "SKIP: jq is not installed (scripts/quickstart.sh installs it)"
	exit 77
fi
