#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# hvcapd under valgrind's memcheck through a representative session of
# hvctl commands: every method family, errors, a Watch stream, a reload
# by API and by SIGHUP, a clean stop, and a restart that restores the
# state files.  Fails on any memcheck error and on any definitely or
# indirectly lost block.  The model backend of this machine's CPUID
# (valgrind does not know what KVM's ioctls write).  Skipped without
# valgrind, and in sanitizer builds (ASan and valgrind do not mix).

. "${HVCAP_SRCDIR:?}/tests/cli/lib.sh"
examples="${HVCAP_SRCDIR:?}/examples"
hvcapd="${HVCAP_BUILDDIR:?}/daemon/hvcapd"
watch_pid=

if ! command -v valgrind >/dev/null 2>&1; then
	echo "SKIP: valgrind is not installed"
	exit 77
fi
if [ -n "${HVCAP_TEST_WRAPPER:-}" ]; then
	echo "SKIP: every hvcapd already runs under \$HVCAP_TEST_WRAPPER"
	exit 77
fi
if [ -n "${HVCAP_SAN_CFLAGS:-}" ]; then
	echo "SKIP: a sanitizer build ($HVCAP_SAN_CFLAGS)"
	exit 77
fi

cleanup() {
	[ -n "$watch_pid" ] && kill "$watch_pid" 2>/dev/null
	stop_daemon
	rm -rf "$tmp"
}
trap cleanup EXIT

# start_daemon N: hvcapd under memcheck over $tmp's state (its log $tmp/vg.N.log).
start_daemon() {
	valgrind --quiet --vgdb=no --error-exitcode=99 --leak-check=full --show-leak-kinds=definite,indirect \
		--errors-for-leak-kinds=definite,indirect --track-fds=no --log-file="$tmp/vg.$1.log" \
		"$hvcapd" --listen "$tmp/s" --state-dir "$tmp/state" --host model --host-dump "$tmp/host.json" \
		2>>"$tmp/hvcapd.log" &
	daemon_pid=$!
	export HVCAP_ADDRESS="unix:$tmp/s"
	i=0
	while ! "$hvctl" vm list >/dev/null 2>&1; do
		i=$((i + 1))
		if [ "$i" -gt 600 ] || ! kill -0 "$daemon_pid" 2>/dev/null; then
			fail "hvcapd did not start under valgrind: $(tail -5 "$tmp/hvcapd.log") $(cat "$tmp/vg.$1.log")"
			finish
		fi
		sleep 0.1
	done
}

# stop_checked N: SIGTERM, then memcheck's verdict: exit 0, and a log without errors.
stop_checked() {
	kill -TERM "$daemon_pid"
	wait "$daemon_pid"
	status=$?
	daemon_pid=
	if [ "$status" -ne 0 ] || [ -s "$tmp/vg.$1.log" ]; then
		fail "hvcapd under memcheck (run $1): exit $status"
		sed 's/^/    /' "$tmp/vg.$1.log" | head -80
	fi
}

expect 0 "cpuid dump" "$hvctl" cpuid dump --json
cp "$tmp/out" "$tmp/host.json"

start=$(date +%s)
start_daemon 1

# The host.
expect 0 "host show" "$hvctl" host show
expect 0 "host show --json" "$hvctl" host show --json
expect 0 "host features" "$hvctl" host features
expect 0 "host export" "$hvctl" host export --format json
expect 0 "host reload" "$hvctl" host reload

# Watch, open through everything below.
"$hvctl" watch --json >"$tmp/watch.out" 2>&1 &
watch_pid=$!
i=0
while [ ! -s "$tmp/watch.out" ] && [ "$i" -lt 200 ]; do sleep 0.1; i=$((i + 1)); done

# Policies, accepted or not.
for p in "$examples"/*.json; do
	"$hvctl" policy check "$p" >/dev/null 2>&1
	[ $? -le 1 ] || fail "policy check $p"
done
echo '{"features": {"no-such-feature": "require"}}' >"$tmp/bad.json"
expect 1 "policy check, rejected" "$hvctl" policy check "$tmp/bad.json"
echo '{"vcpus": "two"}' >"$tmp/invalid.json"
"$hvctl" policy check "$tmp/invalid.json" >/dev/null 2>&1
[ $? -ne 0 ] || fail "policy check of an invalid policy succeeded"

# VMs and vCPUs.
expect 0 "vm create" "$hvctl" vm create web "$examples/host-passthrough.json"
echo '{"vcpus": 2}' >"$tmp/small.json"
expect 0 "vm create small" "$hvctl" vm create small "$tmp/small.json"
expect 1 "vm create, name taken" "$hvctl" vm create small "$tmp/small.json"
expect 0 "vm list" "$hvctl" vm list --json
expect 0 "vm show" "$hvctl" vm show web --json
expect 1 "vm show, no such VM" "$hvctl" vm show no-such-vm
expect 0 "vm add-vcpu" "$hvctl" vm add-vcpu small
expect 0 "vcpu write-cr3" "$hvctl" vcpu write-cr3 web 0 0x1000
expect 0 "vcpu run" "$hvctl" vcpu run web 0
expect 0 "vcpu set-apic-base" "$hvctl" vcpu set-apic-base web 0 0xfee00d00
expect 0 "vcpu init" "$hvctl" vcpu init web 0
"$hvctl" vcpu nested-run web 1 >/dev/null 2>&1
[ $? -le 1 ] || fail "vcpu nested-run"
"$hvctl" vcpu nested-exit web 1 >/dev/null 2>&1
[ $? -le 1 ] || fail "vcpu nested-exit"
"$hvctl" vcpu set-cpuid small 0 "$tmp/host.json" >/dev/null 2>&1
[ $? -le 1 ] || fail "vcpu set-cpuid"
expect 1 "vcpu run, no such vCPU" "$hvctl" vcpu run small 99
kill -HUP "$daemon_pid"
expect 0 "vm delete" "$hvctl" vm delete small
kill "$watch_pid" 2>/dev/null
wait "$watch_pid" 2>/dev/null
watch_pid=
grep -q vm_created "$tmp/watch.out" || fail "watch saw no vm_created: $(head -3 "$tmp/watch.out")"
stop_checked 1

# A restart restores the state files, under memcheck too.
start_daemon 2
expect 0 "vm show after a restart" "$hvctl" vm show web --json
grep -q '"cr3"' "$tmp/out" || fail "vm show after a restart: no cr3"
expect 0 "vm delete after a restart" "$hvctl" vm delete web
stop_checked 2

echo "valgrind: two hvcapd runs under memcheck, $(($(date +%s) - start)) s, no errors, no leaks"
finish
