#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# The two Quick start commands of README.md:
#
#   scripts/quickstart.sh run    install build dependencies, build, and start
#                                hvcapd in the foreground on the embedded
#                                default (this machine's KVM, else the model
#                                of its CPU; the default socket and state
#                                directory of root or of the user)
#   scripts/quickstart.sh test   install build dependencies, build, and run
#                                the whole test suite
#
# Works as root and as a user with sudo, on a fresh Debian 12 machine, and
# is idempotent: packages already installed stay, the build is reused.
#
# Environment: BUILD_DIR (default: build), CONFIGURE_FLAGS (extra
# ./configure options, e.g. --enable-werror), MAKEFLAGS as usual.

set -eu

action=${1:-}
case "$action" in
run|test) ;;
*)
	echo "usage: $0 run|test" >&2
	exit 2
	;;
esac

top=$(cd "$(dirname "$0")/.." && pwd)
build=${BUILD_DIR:-build}
case "$build" in
/*) ;;
*) build="$top/$build" ;;
esac

# Debian package names (DESIGN.md §1); cpuid and jq are used by the tests,
# groff-base and man-db by the manual's checks, bash-completion by the
# completion test, valgrind by the memcheck test.
packages="build-essential autoconf automake libtool pkg-config
	libevent-dev libjson-c-dev libsystemd-dev check libexpat1-dev
	cpuid jq groff-base man-db bash-completion valgrind"

as_root() {
	if [ "$(id -u)" -eq 0 ]; then
		"$@"
	elif command -v sudo >/dev/null 2>&1; then
		sudo "$@"
	else
		echo "$0: need root or sudo to run: $*" >&2
		exit 1
	fi
}

missing=""
for p in $packages; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed"; then
		missing="$missing $p"
	fi
done
if [ -n "$missing" ]; then
	echo ">> installing:$missing"
	as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq
	# shellcheck disable=SC2086
	as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $missing
fi

cd "$top"
if [ ! -x configure ] || [ configure.ac -nt configure ] || [ Makefile.am -nt configure ]; then
	echo ">> autoreconf"
	autoreconf -fi
fi

mkdir -p "$build"
cd "$build"
stamp="$build/.configure-flags"
flags="${CONFIGURE_FLAGS:-}"
if [ ! -f Makefile ] || [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$flags" ] ||
   [ "$top/configure" -nt Makefile ]; then
	echo ">> configure $flags"
	# shellcheck disable=SC2086
	"$top/configure" $flags
	printf '%s' "$flags" > "$stamp"
fi

jobs=$(nproc 2>/dev/null || echo 2)
echo ">> make"
make -j"$jobs"

case "$action" in
run)
	cat <<EOF
>> hvcapd   (in the foreground on this machine's KVM, or the model of its CPU
   without /dev/kvm; Ctrl-C stops it).  In another terminal try:
     $build/cli/hvctl host show
     $build/cli/hvctl host features
     $build/cli/hvctl policy check $top/examples/x86-64-v3.json
     $build/cli/hvctl vm create web $top/examples/host-passthrough.json
     $build/cli/hvctl vm show web
     $build/cli/hvctl watch
EOF
	exec "$build/daemon/hvcapd"
	;;
test)
	echo ">> make check"
	if ! make -j"$jobs" check; then
		sh "$top/tests/failed-logs.sh" .
		exit 1
	fi
	;;
esac
