#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# tests/check-valgrind.sh BUILD_DIR [TEST...]: the test suite (`make
# check`, or only the TESTs named) with every hvcapd the tests start, and
# the hvctl that test-daemon-methods compares hvcapd with, under
# valgrind's memcheck ($HVCAP_TEST_WRAPPER, which the test harnesses put
# before the daemon's command).  `make check-valgrind` runs it.
#
# Fails when a test fails, and when any of those processes had a memcheck
# error or a definitely or indirectly lost block: each writes its report
# to BUILD_DIR/vg-logs/PID.log, which memcheck leaves empty when there is
# nothing to say.  A daemon a test kills with SIGKILL has no leak report,
# only its errors up to then.  Check's timeouts are stretched (memcheck
# runs code 20-50 times slower); timings the tests print mean nothing.

set -u

build=$(cd "${1:?usage: tests/check-valgrind.sh BUILD_DIR [TEST...]}" && pwd)
shift
logs=$build/vg-logs

if ! command -v valgrind >/dev/null 2>&1; then
	echo "check-valgrind: valgrind is not installed" >&2
	exit 77
fi
if grep -q '^HVCAP_SAN_CFLAGS = .*-fsanitize' "$build/Makefile"; then
	echo "check-valgrind: $build is a sanitizer build (ASan and valgrind do not mix)" >&2
	exit 77
fi

rm -rf "$logs"
mkdir -p "$logs"
# Tests run some daemons as nobody: they write their reports here too.
chmod 1777 "$logs"
# --vgdb=no: no gdbserver FIFOs in /tmp.  A daemon killed with SIGKILL
# leaves its own behind, and a later one as nobody that gets the same
# PID could not create them and died before main().
wrapper="valgrind --quiet --vgdb=no --error-exitcode=99 --leak-check=full --show-leak-kinds=definite,indirect"
wrapper="$wrapper --errors-for-leak-kinds=definite,indirect --track-fds=no --log-file=$logs/%p.log"

status=0
if [ $# -gt 0 ]; then
	CK_TIMEOUT_MULTIPLIER=20 make -C "$build" check HVCAP_TEST_WRAPPER="$wrapper" TESTS="$*" || status=$?
else
	CK_TIMEOUT_MULTIPLIER=20 make -C "$build" check HVCAP_TEST_WRAPPER="$wrapper" || status=$?
fi

runs=$(find "$logs" -name '*.log' | wc -l)
bad=$(find "$logs" -name '*.log' -size +0 | sort)
nbad=$(printf '%s' "$bad" | grep -c . || :)
echo "check-valgrind: $runs processes under memcheck, $nbad with errors or leaks"
for f in $bad; do
	echo "---- $f"
	head -60 "$f"
done
[ "$nbad" -eq 0 ] || status=1
# Last, where a CI log's tail shows it: why the tests that failed failed.
[ "$status" -eq 0 ] || sh "$(dirname "$0")/failed-logs.sh" "$build"
if [ "$runs" -eq 0 ] && [ "$status" -eq 0 ]; then
	echo "check-valgrind: no process ran under memcheck: is the wrapper reaching the tests?" >&2
	status=1
fi
exit "$status"
