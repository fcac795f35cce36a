# SPDX-License-Identifier: LGPL-2.1-or-later
#
# Shared by the tests/cli/test-*.sh scripts that drive hvctl: sourced, not
# run.  common.sh's $tmp, fail, expect, finish and install_build, and:
#
#   hvctl     the binary under test
#   data      the libvirt CPU dumps in ../shared (may not exist)
#   start_daemon NAME ARGS...  hvcapd (under $launch and $wrap) on
#                          $tmp/NAME.sock, state in $tmp/NAME.state;
#                          HVCAP_ADDRESS points to it once it answers
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
hvcapd="${HVCAP_BUILDDIR:?}/daemon/hvcapd"
launch=${launch:-}

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

start_daemon() {
	name=$1
	shift
	$launch $wrap "$hvcapd" --listen "$tmp/$name.sock" --state-dir "$tmp/$name.state" "$@" 2>>"$tmp/$name.log" &
	daemon_pid=$!
	export HVCAP_ADDRESS="unix:$tmp/$name.sock"
	i=0
	while ! "$hvctl" vm list >/dev/null 2>&1; do
		i=$((i + 1))
		if [ "$i" -gt 100 ] || ! kill -0 "$daemon_pid" 2>/dev/null; then
			fail "hvcapd $name did not start: $(cat "$tmp/$name.log")"
			finish
		fi
		sleep 0.1
	done
}
