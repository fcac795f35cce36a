#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# bench/run-control.sh [BUILD_DIR]: start hvcapd on a temporary socket,
# register a VM, and time guest_cpu_cap_has on the control plane against a
# plain bit test and against the socket (bench/control-query.c), then each of
# libhvcap's queries on the same file (bench/control-fastpath.c).  hvcapd and
# the benchmark are pinned to one CPU: waking a process on another CPU costs
# tens of microseconds on some machines, which is not what is measured.

set -eu

top=$(cd "$(dirname "$0")/.." && pwd)
build=$(cd "${1:-$top/build}" && pwd)
tmp=$(mktemp -d)
pid=
trap '[ -n "$pid" ] && kill "$pid" 2>/dev/null; wait 2>/dev/null; rm -rf "$tmp"' EXIT

pin="taskset -c 0"
command -v taskset >/dev/null 2>&1 || pin=

# The host: this machine (its KVM, or the model of its CPU).
$pin "$build/daemon/hvcapd" --listen "$tmp/io.hvcap" --state-dir "$tmp/state" 2>"$tmp/hvcapd.log" &
pid=$!
export HVCAP_ADDRESS="unix:$tmp/io.hvcap"
i=0
until "$build/cli/hvctl" vm list >/dev/null 2>&1; do
	i=$((i + 1))
	[ "$i" -lt 100 ] || { cat "$tmp/hvcapd.log" >&2; exit 1; }
	sleep 0.1
done
printf '{"name": "bench", "base": "host", "vcpus": 4}\n' >"$tmp/policy.json"
vm=$("$build/cli/hvctl" vm create --json bench "$tmp/policy.json" | sed -n 's/.*"vm": *\([0-9]*\).*/\1/p')
echo "hvcapd on $(uname -r), $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//'); pinned: ${pin:-no}"
$pin "$build/bench/control-query" --control "$tmp/control" --address "unix:$tmp/io.hvcap" --vm "$vm" --vcpu 1 \
	--feature "${FEATURE:-sse2}"
# Each of libhvcap's queries on the same file: the fast path, full copies.
$pin "$build/bench/control-fastpath" "$tmp/control" "$vm" 1
