# SPDX-License-Identifier: LGPL-2.1-or-later
#
# Shared by every tests/cli/test-*.sh script: sourced, not run.  lib.sh
# adds what the hvctl scripts need on top of it.
#
#   tmp       a scratch directory, removed on exit
#   fail MSG               count a failure
#   expect STATUS WHAT CMD...  run CMD (stdout in $tmp/out, stderr in
#                          $tmp/err) and fail unless it exits STATUS
#   finish                 exit 1 with the count, or 0
#   install_build ROOT     make install the build into DESTDIR ROOT; a
#                          failure ends the script
#   wrap      $HVCAP_TEST_WRAPPER: words to run each started hvcapd under,
#             unquoted before "$hvcapd" (`make check-valgrind`: memcheck)

set -u

: "${HVCAP_BUILDDIR:?}" "${HVCAP_SRCDIR:?}"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
failures=0
wrap=${HVCAP_TEST_WRAPPER:-}

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

install_build() {
	# A make of its own, not a part of the make check that runs the script.
	if ! (unset MAKEFLAGS MFLAGS MAKELEVEL
	      make -C "$HVCAP_BUILDDIR" install DESTDIR="$1") >"$tmp/install.log" 2>&1; then
		tail -20 "$tmp/install.log"
		echo "FAIL: make install DESTDIR=$1"
		exit 1
	fi
}
