# SPDX-License-Identifier: LGPL-2.1-or-later
#
# Shared by the tests/cli/test-*.sh scripts: sourced, not run.
#
#   hvctl     the binary under test
#   data      the libvirt CPU dumps in ../shared (may not exist)
#   tmp       a scratch directory, removed on exit
#   fail MSG               count a failure
#   expect STATUS WHAT CMD...  run CMD (stdout in $tmp/out, stderr in
#                          $tmp/err) and fail unless it exits STATUS
#   finish                 exit 1 with the count, or 0
#
# HVCAP_ADDRESS points to a socket nobody listens on, so that commands that
# ask hvcapd when it runs behave the same whether or not one runs on this
# machine; scripts that start their own hvcapd set it to its socket.

set -u

hvctl="${HVCAP_BUILDDIR:?}/cli/hvctl"
data="${HVCAP_TESTDATA:-}/libvirt-cputestdata"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
failures=0
export HVCAP_ADDRESS="unix:$tmp/no-hvcapd"

fail() {
	echo "FAIL: $*"
	failures=$((failures + 1))
}

expect() {
	want=$1
	shift
	what=$1
	shift
	"$@" >"$tmp/out" 2>"$tmp/err"
	got=$?
	if [ "$got" -ne "$want" ]; then
		fail "$what: exit $got, want $want"
		sed 's/^/    stderr: /' "$tmp/err" | head -5
	fi
}

finish() {
	if [ "$failures" -ne 0 ]; then
		echo "$failures failure(s)"
		exit 1
	fi
	echo "all passed"
	exit 0
}

# Every script reads JSON with jq, which scripts/quickstart.sh installs.
if ! command -v jq >/dev/null 2>&1; then
	echo "SKIP: jq is not installed (scripts/quickstart.sh installs it)"
	exit 77
fi
