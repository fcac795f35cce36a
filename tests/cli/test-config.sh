#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# The configuration file make install puts in /etc/hvcap (etc/hvcapd.conf):
# it documents every key daemon/config.c knows, the real hvcapd starts on
# it as shipped, and starts again with every key uncommented at the value
# the file says is the default, and those values are the daemon's.

. "${HVCAP_SRCDIR:?}/tests/cli/lib.sh"
conf="$HVCAP_SRCDIR/etc/hvcapd.conf"
hvcapd="${HVCAP_BUILDDIR:?}/daemon/hvcapd"
trap 'stop_daemon; rm -rf "$tmp"' EXIT

# --- Every key of the daemon's table is in the file, with its default shown.
keys=$(sed -n 's/^[[:space:]]*{ "\([a-z_]*\)", CONFIG_.*/\1/p' "$HVCAP_SRCDIR/daemon/config.c")
[ -n "$keys" ] || fail "no keys found in daemon/config.c"
for k in $keys; do
	grep -q "^#$k = " "$conf" || fail "etc/hvcapd.conf does not show key $k"
done
# ... and nothing the daemon does not know.
for k in $(sed -n 's/^#\([a-z_]*\) = .*/\1/p' "$conf" | sort -u); do
	echo "$keys" | grep -qx "$k" || fail "etc/hvcapd.conf shows unknown key $k"
done

# The limits' defaults in the file are the ones hvcapd --help states.
"$hvcapd" --help >"$tmp/help"
for k in max_message max_connections max_connections_per_uid idle_timeout partial_timeout max_vms \
	max_vcpus_per_vm; do
	v=$(sed -n "s/^#$k = //p" "$conf")
	tr '\n' ' ' <"$tmp/help" | grep -q "$k $v[ ,.]" || fail "$k = $v is not hvcapd --help's default"
done

# start NAME CONFIG: hvcapd on this machine's CPU (the model backend, so the
# test is the same everywhere) with --config CONFIG; 0 once it answers.
"$hvctl" cpuid dump --format json >"$tmp/host.json" || fail "cpuid dump"
start() {
	$wrap "$hvcapd" --listen "$tmp/$1.sock" --state-dir "$tmp/$1.state" --host model \
		--host-dump "$tmp/host.json" --config "$2" 2>"$tmp/$1.log" &
	daemon_pid=$!
	i=0
	while ! "$hvctl" --address "unix:$tmp/$1.sock" vm list >/dev/null 2>&1; do
		i=$((i + 1))
		if [ "$i" -gt 100 ] || ! kill -0 "$daemon_pid" 2>/dev/null; then
			wait "$daemon_pid" 2>/dev/null
			daemon_pid=
			return 1
		fi
		sleep 0.1
	done
	return 0
}

# --- As shipped.
if start shipped "$conf"; then
	"$hvctl" --address "unix:$tmp/shipped.sock" host show --json >"$tmp/out" || fail "host show"
	jq -e '.host.backend == "model"' "$tmp/out" >/dev/null || fail "shipped: not the model backend"
	stop_daemon
else
	fail "hvcapd does not start on the shipped file: $(cat "$tmp/shipped.log")"
fi

# --- Every key uncommented at its shown value, but those naming things
# this machine may not have (the admin group, a dump, the host choice the
# test makes itself) and the examples of param.
sed -e 's/^#\([a-z_]* = \)/\1/' -e '/^admin_group = /d' -e '/^host_dump = /d' -e '/^host = /d' \
	"$conf" >"$tmp/all.conf"
if start all "$tmp/all.conf"; then
	stop_daemon
else
	fail "hvcapd does not start with every default uncommented: $(cat "$tmp/all.log")"
fi

# --- A mistake in it stops the start, naming the file and line.
{ cat "$conf"; echo "max_vms = 0"; } >"$tmp/bad.conf"
n=$(wc -l <"$tmp/bad.conf")
if start bad "$tmp/bad.conf"; then
	fail "hvcapd started with max_vms = 0"
	stop_daemon
else
	grep -q "bad.conf:$n: max_vms" "$tmp/bad.log" || fail "no FILE:LINE for the bad line: $(cat "$tmp/bad.log")"
fi

finish
