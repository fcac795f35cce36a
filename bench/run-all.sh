#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# bench/run-all.sh [BUILD_DIR]: every benchmark of docs/PERFORMANCE.md in one
# run on this machine (`make bench`).  Each section starts its own hvcapd on
# a temporary socket and prints its figures with the ratio to its reference,
# measured in the same run:
#
#   validate    io.hvcap.Policy.Validate round trip (bench/validate-call.json)
#               against a Unix-socket echo server with the same message sizes,
#               client and servers pinned to CPU 0, then unpinned
#   throughput  Validate calls per second, 1, 2 and 8 clients, 8 calls in
#               flight each, against the echo server
#   control     bench/run-control.sh (control plane vs bit test vs socket)
#   scale       hvcapd's memory, Vm.Create and Vm.Get with 1, 1000 and
#               10000 VMs of 4 vCPUs, state directory on /dev/shm
#   startup     exec to READY=1 (sd_notify) with the kvm and model backends
#   callgrind   instructions per Validate call in hvcapd (valgrind)
#   libvirt     the same policy through virConnectCompareHypervisorCPU
#               (bench/libvirt-compare.py), when python3-libvirt is installed
#               and libvirtd with the QEMU driver answers; skipped otherwise
#
# Timings are printed, never asserted.  BENCH_QUICK=1 makes every section
# shorter (fewer calls, 2000 VMs at most) for a smoke run.

set -eu

top=$(cd "$(dirname "$0")/.." && pwd)
build=$(cd "${1:-$top/build}" && pwd)
rtt="$build/bench/varlink-rtt"
call="$top/bench/validate-call.json"
tmp=$(mktemp -d)
shm=$(mktemp -d -p /dev/shm 2>/dev/null || mktemp -d)
pids=
cleanup() {
	for p in $pids; do kill "$p" 2>/dev/null || :; done
	wait 2>/dev/null || :
	rm -rf "$tmp" "$shm"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

quick=${BENCH_QUICK:-}
count=20000
seconds=2
levels="1 1000 10000"
if [ -n "$quick" ]; then
	count=2000
	seconds=0.5
	levels="1 1000 2000"
fi

pin="taskset -c 0"
command -v taskset >/dev/null 2>&1 || pin=

# field NAME LINE: the value of NAME=VALUE in LINE.
field() { printf '%s\n' "$2" | tr ' ' '\n' | sed -n "s/^$1=//p"; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }
us() { awk -v n="$1" 'BEGIN { printf "%.1f", n / 1000 }'; }

# start_hvcapd DIR [OPTION...]: hvcapd on DIR/io.hvcap; sets $pid.
start_hvcapd() {
	dir=$1
	shift
	mkdir -p "$dir"
	"$build/daemon/hvcapd" --listen "$dir/io.hvcap" --state-dir "$dir/state" --control "$dir/control" \
		--log-level warning "$@" 2>"$dir/hvcapd.log" &
	pid=$!
	pids="$pids $pid"
	i=0
	until [ -S "$dir/io.hvcap" ]; do
		i=$((i + 1))
		[ "$i" -lt 300 ] || { cat "$dir/hvcapd.log" >&2; exit 1; }
		sleep 0.1
	done
}

stop() {
	kill "$1" 2>/dev/null || :
	wait "$1" 2>/dev/null || :
}

echo "== machine"
echo "cpus: $(nproc); cpu: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')"
echo "kernel: $(uname -r); kvm module: $(ls -d /sys/module/kvm_* 2>/dev/null | sed 's|.*/||' | tr '\n' ' ')"
echo "hvcapd: $build/daemon/hvcapd"

echo
echo "== validate: Policy.Validate round trip vs a Unix-socket echo server (p50/p99, one client)"
start_hvcapd "$tmp/v"
hv=$pid
# The echo server answers with as many bytes as hvcapd's reply.
size=$(field reply_bytes "$("$rtt" latency "$tmp/v/io.hvcap" "$call" 1)")
"$rtt" echo "$tmp/echo" "$size" &
echo_pid=$!
pids="$pids $echo_pid"
until [ -S "$tmp/echo" ]; do sleep 0.05; done
for mode in pinned unpinned; do
	if [ "$mode" = pinned ]; then
		[ -n "$pin" ] || continue
		cpus=0
		run=$pin
	else
		cpus=0-$(($(nproc) - 1))
		run=
	fi
	taskset -apc "$cpus" "$hv" >/dev/null 2>&1 || :
	taskset -apc "$cpus" "$echo_pid" >/dev/null 2>&1 || :
	v=$($run "$rtt" latency "$tmp/v/io.hvcap" "$call" "$count")
	e=$($run "$rtt" latency "$tmp/echo" "$call" "$count")
	printf '%-9s Validate p50 %7s us  p99 %7s us | echo p50 %6s us  p99 %6s us | p50 ratio %sx  p99 ratio %sx  (request %s B, reply %s B)\n' \
		"$mode" "$(us "$(field p50_ns "$v")")" "$(us "$(field p99_ns "$v")")" \
		"$(us "$(field p50_ns "$e")")" "$(us "$(field p99_ns "$e")")" \
		"$(ratio "$(field p50_ns "$v")" "$(field p50_ns "$e")")" \
		"$(ratio "$(field p99_ns "$v")" "$(field p50_ns "$e")")" \
		"$(field request_bytes "$v")" "$(field reply_bytes "$v")"
done

echo
echo "== throughput: Validate calls/s, 8 calls in flight per client (unpinned)"
for clients in 1 2 8; do
	v=$("$rtt" throughput "$tmp/v/io.hvcap" "$call" "$clients" 8 "$seconds")
	e=$("$rtt" throughput "$tmp/echo" "$call" "$clients" 8 "$seconds")
	printf '%s client(s): Validate %8s/s | echo %8s/s | ratio %s\n' "$clients" \
		"$(field calls_per_s "$v")" "$(field calls_per_s "$e")" \
		"$(ratio "$(field calls_per_s "$v")" "$(field calls_per_s "$e")")"
done
stop "$echo_pid"
stop "$hv"

echo
echo "== control plane: guest_cpu_cap_has vs bit test vs socket (bench/run-control.sh)"
sh "$top/bench/run-control.sh" "$build"

echo
echo "== scale: VMs of 4 vCPUs, state directory on /dev/shm (no fsync cost: $shm)"
start_hvcapd "$shm/s"
hv=$pid
have=0
sample=200
[ -n "$quick" ] && sample=50
first_n=
for n in $levels; do
	out=$("$rtt" scale "$shm/s/io.hvcap" "$hv" "$have" "$n" "$sample")
	mem=$(printf '%s\n' "$out" | sed -n 1p)
	lat=$(printf '%s\n' "$out" | sed -n 2p)
	rss=$(($(field rss_anon_kb "$mem") + $(field rss_shmem_kb "$mem")))
	if [ -z "$first_n" ]; then
		first_n=$n
		first_rss=$rss
		first_create=$(field create_p50_ns "$lat")
		first_get=$(field get_p50_ns "$lat")
	fi
	per=
	[ "$n" -gt "$first_n" ] && per=$(awk -v a="$rss" -v b="$first_rss" -v n="$n" -v m="$first_n" \
		'BEGIN { printf "%.0f", (a - b) * 1024 / ((n - m) * 4) }')
	printf '%6s VMs: RSS %7s kB (anon %s, shmem %s) %s| Create p50 %6s us p99 %7s us (x%s) | Get p50 %6s us p99 %7s us (x%s)\n' \
		"$n" "$rss" "$(field rss_anon_kb "$mem")" "$(field rss_shmem_kb "$mem")" \
		"${per:+$per B/vCPU above 1 VM }" \
		"$(us "$(field create_p50_ns "$lat")")" "$(us "$(field create_p99_ns "$lat")")" \
		"$(ratio "$(field create_p50_ns "$lat")" "$first_create")" \
		"$(us "$(field get_p50_ns "$lat")")" "$(us "$(field get_p99_ns "$lat")")" \
		"$(ratio "$(field get_p50_ns "$lat")" "$first_get")"
	have=$((n + sample))
done
echo "state: $(du -sk "$shm/s/state" | cut -f1) kB in $(ls "$shm/s/state/vms" | wc -l) files; control file: $(du -k "$shm/s/control" | cut -f1) kB"
stop "$hv"

echo
echo "== startup: exec to READY=1 (p50 of 10)"
"$build/cli/hvctl" cpuid dump --format json >"$tmp/host.json"
runs=10
[ -n "$quick" ] && runs=3
for backend in kvm model; do
	rm -rf "$tmp/st"
	mkdir -p "$tmp/st"
	set -- --host "$backend"
	[ "$backend" = model ] && set -- --host model --host-dump "$tmp/host.json"
	if [ "$backend" = kvm ] && ! [ -r /dev/kvm ]; then
		echo "kvm: skipped (no /dev/kvm)"
		continue
	fi
	r=$("$rtt" ready "$runs" -- "$build/daemon/hvcapd" --listen "$tmp/st/io.hvcap" --state-dir "$tmp/st/state" \
		--control "$tmp/st/control" --log-level warning "$@")
	printf '%-5s backend: READY=1 after p50 %s ms (best %s ms)\n' "$backend" \
		"$(field ready_p50_ms "$r")" "$(field ready_min_ms "$r")"
done

echo
echo "== instructions per Validate call (callgrind: hvcapd's conn_dispatch(), inclusive)"
# Unlike the timings, not moved by the load on the machine: the figure to
# compare builds with.
if command -v valgrind >/dev/null 2>&1; then
	mkdir -p "$tmp/cg"
	valgrind --tool=callgrind --vgdb=no --collect-atstart=no --toggle-collect=conn_dispatch \
		--callgrind-out-file="$tmp/cg/out" "$build/daemon/hvcapd" --listen "$tmp/cg/io.hvcap" \
		--state-dir "$tmp/cg/state" --control "$tmp/cg/control" --log-level warning 2>"$tmp/cg/log" &
	pid=$!
	pids="$pids $pid"
	i=0
	until "$rtt" latency "$tmp/cg/io.hvcap" "$call" 1 >/dev/null 2>&1; do
		i=$((i + 1))
		[ "$i" -lt 300 ] || { cat "$tmp/cg/log" >&2; exit 1; }
		sleep 0.1
	done
	# 1 call above, then 100 timed after 20 to warm up.
	"$rtt" latency "$tmp/cg/io.hvcap" "$call" 100 >/dev/null
	stop "$pid"
	awk '/^(summary|totals):/ { printf "%.0f instructions per call (121 calls)\n", $2 / 121; exit }' "$tmp/cg/out"
else
	echo "skipped: valgrind is absent"
fi

echo
echo "== libvirt"
# The same policy through virConnectCompareHypervisorCPU (libvirtd with the
# QEMU driver), timed from one Python client against Validate on a fresh
# hvcapd: bench/libvirt-compare.py.  The Python is one with the libvirt
# module: python3-libvirt is Debian's, which a python3 found first in $PATH
# (pyenv, a virtualenv) does not see.
py=
for p in python3 /usr/bin/python3; do
	if "$p" -c 'import libvirt' 2>/dev/null; then
		py=$p
		break
	fi
done
uri=qemu:///system
if [ -z "$py" ]; then
	echo "skipped: no python3 with the libvirt module (python3-libvirt)"
elif ! why=$("$py" -c 'import sys, libvirt
libvirt.registerErrorHandler(lambda ctx, err: None, None)
try:
    libvirt.open(sys.argv[1]).close()
except libvirt.libvirtError as e:
    sys.exit(str(e))' "$uri" 2>&1); then
	echo "skipped: no libvirt connection to $uri (is libvirtd running?): $why"
else
	start_hvcapd "$tmp/lv"
	"$py" "$top/bench/libvirt-compare.py" --uri "$uri" --varlink-rtt "$rtt" "$tmp/lv/io.hvcap" "$call" "$count"
	stop "$pid"
fi
