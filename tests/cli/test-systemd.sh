#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# hvcapd's systemd files as `make install` puts them: the units pass
# `systemd-analyze verify` and rate at most 2.0 in `systemd-analyze
# security`; then, as root, the installed hvcapd runs the way the units
# run it -- the user and groups from our sysusers.d file, the directories
# from our tmpfiles.d file, the socket bound by a socket activator with the
# socket unit's mode and group, the command line, user, groups and umask
# taken from the service's ExecStart=, User=, Group=, SupplementaryGroups=
# and UMask= -- and the installed hvctl talks to it as root, as a member of
# the hvcap group, as a member of the admin group and as an outsider.
#
# The runtime part creates the system user hvcap and the groups hvcap,
# hvcap-admin and kvm on this machine (systemd-sysusers, idempotent), and,
# where no udev has given /dev/kvm to the kvm group, does what udev's rule
# does for the test's duration.  Everything else lives in a scratch
# directory: the paths /run/hvcap and /var/lib/hvcap are moved under it.
# The confinement directives themselves (ProtectSystem=, PrivateDevices=,
# the system call filter, ...) need systemd as PID 1 and are not run here.

# shellcheck disable=SC2317 # the functions below run through expect and the trap
# lib.sh: $tmp, fail, expect, finish; its $hvctl (the build's) is replaced by the installed one.
. "${HVCAP_SRCDIR:?}/tests/cli/lib.sh"

pid=
kvm_restore=

cleanup() {
	if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
		kill "$pid" 2>/dev/null
		wait "$pid" 2>/dev/null
	fi
	if [ -n "$kvm_restore" ]; then
		chgrp "${kvm_restore%:*}" /dev/kvm
		chmod "${kvm_restore#*:}" /dev/kvm
	fi
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 1' INT TERM HUP

if ! command -v systemd-analyze >/dev/null 2>&1; then
	echo "SKIP: systemd-analyze is not installed (package systemd)"
	exit 77
fi

# ---- install -------------------------------------------------------------
root="$tmp/root"
install_build "$root"

service=$(find "$root" -path '*/system/hvcapd.service' | head -1)
socket=$(find "$root" -path '*/system/hvcapd.socket' | head -1)
nfd_service=$(find "$root" -path '*/system/hvcap-nfd.service' | head -1)
nfd_timer=$(find "$root" -path '*/system/hvcap-nfd.timer' | head -1)
sysusers=$(find "$root" -path '*/sysusers.d/hvcap.conf' | head -1)
tmpfiles=$(find "$root" -path '*/tmpfiles.d/hvcap.conf' | head -1)
man8=$(find "$root" -path '*/man8/hvcapd.8' | head -1)
examples=$(dirname "$(find "$root" -name host-passthrough.json | head -1)")
for f in "$service" "$socket" "$nfd_service" "$nfd_timer" "$sysusers" "$tmpfiles" "$man8" "$examples/host-passthrough.json"; do
	[ -n "$f" ] && [ -f "$f" ] && continue
	echo "FAIL: make install did not install the unit, sysusers.d, tmpfiles.d, man and example files"
	find "$root" -type f | sed "s|^$root||" | sort
	exit 1
done
echo "installed: ${service#"$root"} ${socket#"$root"} ${nfd_service#"$root"} ${nfd_timer#"$root"}"
echo "           ${sysusers#"$root"} ${tmpfiles#"$root"}"

# One key of a unit file: the value of its last line (for the service, the
# ones the test runs hvcapd by).
unit_key() {
	sed -n "s/^$2=//p" "$1" | tail -1
}

left=$(grep -n '@[a-z_]*@' "$service")
[ -z "$left" ] || fail "hvcapd.service: unsubstituted: $left"
left=$(grep -n '@[a-z_]*@' "$nfd_service")
[ -z "$left" ] || fail "hvcap-nfd.service: unsubstituted: $left"

# ExecStart= names the installed hvcapd and hvcapd.conf, and the directories
# the unit has systemd create (its non-root defaults would be the XDG ones).
execstart=$(unit_key "$service" ExecStart)
set -f
# shellcheck disable=SC2086
set -- $execstart
set +f
daemon=$1
[ -x "$root$daemon" ] || fail "ExecStart=$daemon is not the installed hvcapd"
config=$(printf '%s\n' "$execstart" | sed -n 's/.*--config \([^ ]*\).*/\1/p')
if [ -z "$config" ] || [ ! -f "$root$config" ]; then
	fail "ExecStart= --config '$config' is not the installed hvcapd.conf"
fi
case " $execstart " in
*" --state-dir /var/lib/$(unit_key "$service" StateDirectory) "*) ;;
*) fail "ExecStart= does not give StateDirectory= as --state-dir: $execstart" ;;
esac
listen=$(unit_key "$socket" ListenStream)
case " $execstart " in
*" --control $(dirname "$listen")/control "*) ;;
*) fail "ExecStart= does not put --control beside the socket $listen: $execstart" ;;
esac
[ "$(dirname "$listen")" = "/run/$(unit_key "$service" RuntimeDirectory)" ] ||
	fail "the socket $listen is not in the service's RuntimeDirectory="
hvctl="$root$(dirname "$(dirname "$daemon")")/bin/hvctl"
[ -x "$hvctl" ] || fail "no installed hvctl beside $daemon"

# hvcap-nfd.service's ExecStart= is the installed hvctl exporting NFD's
# feature file into the directory it may write.
nfd_exec=$(unit_key "$nfd_service" ExecStart)
nfd_hvctl=${nfd_exec%% *}
[ "$root$nfd_hvctl" = "$hvctl" ] || fail "hvcap-nfd.service: ExecStart=$nfd_hvctl is not the installed hvctl"
nfd_dir=$(printf '%s\n' "$nfd_exec" | sed -n 's/.* --output \([^ ]*\).*/\1/p')
[ "$nfd_dir" = /etc/kubernetes/node-feature-discovery/features.d ] ||
	fail "hvcap-nfd.service: --output '$nfd_dir' is not NFD's features.d"
[ "$(unit_key "$nfd_service" ReadWritePaths)" = "$nfd_dir" ] ||
	fail "hvcap-nfd.service: ReadWritePaths= is not its --output $nfd_dir"
[ "/etc/$(unit_key "$nfd_service" ConfigurationDirectory)" = "$nfd_dir" ] ||
	fail "hvcap-nfd.service: ConfigurationDirectory= is not its --output $nfd_dir"

# ---- systemd-analyze verify ----------------------------------------------
# verify checks that ExecStart='s program exists: a copy of the units whose
# ExecStart= names the DESTDIR's hvcapd (nothing else changes).  The
# Documentation= pages are looked up in the DESTDIR too, with man(1).
units="$tmp/units"
mkdir -p "$units"
cp "$socket" "$units/"
sed "s|^ExecStart=$daemon |ExecStart=$root$daemon |" "$service" >"$units/hvcapd.service"
cp "$nfd_timer" "$units/"
sed "s|^ExecStart=$nfd_hvctl |ExecStart=$root$nfd_hvctl |" "$nfd_service" >"$units/hvcap-nfd.service"
manpath=$(dirname "$(dirname "$man8")")
if command -v man >/dev/null 2>&1; then man=yes; else man=no; fi
echo "MANPATH=$manpath systemd-analyze verify --man=$man $units/hvcapd.socket $units/hvcapd.service" \
	"$units/hvcap-nfd.timer $units/hvcap-nfd.service"
MANPATH="$manpath" systemd-analyze verify --man="$man" "$units/hvcapd.socket" "$units/hvcapd.service" \
	"$units/hvcap-nfd.timer" "$units/hvcap-nfd.service" >"$tmp/verify" 2>&1
rc=$?
if [ "$rc" -ne 0 ] || [ -s "$tmp/verify" ]; then
	fail "systemd-analyze verify: exit $rc"
	sed 's/^/    /' "$tmp/verify"
fi

# ---- systemd-analyze security --------------------------------------------
# The threshold counts tenths: 20 is an exposure of 2.0, the top of "OK".
echo "systemd-analyze security --offline=yes --threshold=20 --no-pager $units/hvcapd.service"
systemd-analyze security --offline=yes --threshold=20 --no-pager "$units/hvcapd.service" >"$tmp/security" 2>&1
rc=$?
exposure=$(sed -n 's/.*Overall exposure level for hvcapd.service: \([0-9.]*\).*/\1/p' "$tmp/security")
grep '✗' "$tmp/security" | sed 's/^/    /'
echo "exposure: ${exposure:-unknown} (at most 2.0)"
if [ -z "$exposure" ] || [ "$rc" -ne 0 ] || ! awk -v e="$exposure" 'BEGIN { exit !(e <= 2.0) }'; then
	fail "systemd-analyze security: exposure ${exposure:-unknown}, exit $rc"
	tail -5 "$tmp/security"
fi
# hvcap-nfd.service runs as root (it writes root's /etc), which costs it 0.4; at most 2.0 all the same.
echo "systemd-analyze security --offline=yes --threshold=20 --no-pager $units/hvcap-nfd.service"
systemd-analyze security --offline=yes --threshold=20 --no-pager "$units/hvcap-nfd.service" >"$tmp/security" 2>&1
rc=$?
exposure=$(sed -n 's/.*Overall exposure level for hvcap-nfd.service: \([0-9.]*\).*/\1/p' "$tmp/security")
grep '✗' "$tmp/security" | sed 's/^/    /'
echo "exposure: ${exposure:-unknown} (at most 2.0)"
if [ -z "$exposure" ] || [ "$rc" -ne 0 ] || ! awk -v e="$exposure" 'BEGIN { exit !(e <= 2.0) }'; then
	fail "systemd-analyze security hvcap-nfd.service: exposure ${exposure:-unknown}, exit $rc"
	tail -5 "$tmp/security"
fi

# ---- the installed hvcapd, run as the units run it -----------------------
skip=
[ "$(id -u)" -eq 0 ] || skip="not root"
for tool in systemd-socket-activate setpriv systemd-sysusers systemd-tmpfiles; do
	command -v "$tool" >/dev/null 2>&1 || skip="${skip:+$skip; }no $tool"
done
if [ -n "$skip" ]; then
	[ "$failures" -eq 0 ] || finish
	echo "SKIP: running hvcapd as the units do: $skip (the unit checks passed)"
	exit 77
fi

user=$(unit_key "$service" User)
group=$(unit_key "$service" Group)
groups=$(unit_key "$service" SupplementaryGroups)
umask=$(unit_key "$service" UMask)
smode=$(unit_key "$socket" SocketMode)
sgroup=$(unit_key "$socket" SocketGroup)
admin=hvcap-admin

# The accounts, from our sysusers.d file (a second run changes nothing).
if ! systemd-sysusers "$sysusers" >"$tmp/sysusers.log" 2>&1; then
	cat "$tmp/sysusers.log"
	fail "systemd-sysusers $sysusers"
	finish
fi
if ! systemd-sysusers "$sysusers" >"$tmp/sysusers.log" 2>&1 || [ -s "$tmp/sysusers.log" ]; then
	fail "systemd-sysusers is not idempotent: $(cat "$tmp/sysusers.log")"
fi
for g in "$group" "$sgroup" "$admin" $(echo "$groups" | tr ',' ' '); do
	getent group "$g" >/dev/null || fail "systemd-sysusers did not create group $g"
done
for g in $(echo "$group $groups" | tr ',' ' '); do
	id -nG "$user" | tr ' ' '\n' | grep -qx "$g" || fail "user $user is not in group $g: $(id -nG "$user")"
done
home=$(getent passwd "$user" | cut -d: -f6)
shell=$(getent passwd "$user" | cut -d: -f7)
[ "$(getent passwd "$user" | cut -d: -f3)" -lt 1000 ] || fail "$user is not a system user"
case "$shell" in */nologin | */false) ;; *) fail "$user has a login shell: $shell" ;; esac

# /dev/kvm reaches hvcapd through the kvm group: udev's rule makes it
# root:kvm 0660; a machine without udev gets that for the test's duration.
backend=model
if [ -c /dev/kvm ] && "$hvctl" host probe >/dev/null 2>&1; then
	backend=kvm
	kvm_gid=$(getent group kvm | cut -d: -f3)
	if [ "$(stat -c %g /dev/kvm)" != "$kvm_gid" ] || [ $(($(stat -c 0%a /dev/kvm) & 060)) -ne 48 ]; then
		kvm_restore="$(stat -c %g:%a /dev/kvm)"
		echo "note: /dev/kvm is $(stat -c %G:%a /dev/kvm): kvm:0660 (as udev's rule) for the test"
		if ! chgrp kvm /dev/kvm || ! chmod 0660 /dev/kvm; then
			fail "chgrp kvm /dev/kvm"
		fi
	fi
	setpriv --reuid "$user" --regid "$group" --clear-groups "$hvctl" host probe >/dev/null 2>&1 &&
		fail "$user opens /dev/kvm without the kvm group"
	expect 0 "hvctl host probe as $user with groups $groups" \
		setpriv --reuid "$user" --regid "$group" --groups "$groups" "$hvctl" host probe
fi

# The directories, from our tmpfiles.d file with /run and /var/lib moved
# into the scratch directory (which the users below must traverse).
chmod 0755 "$tmp"
relocate() {
	sed -e "s|/run/hvcap|$tmp/run/hvcap|g" -e "s|/var/lib/hvcap|$tmp/var/lib/hvcap|g"
}
relocate <"$tmpfiles" >"$tmp/tmpfiles.conf"
systemd-tmpfiles --create "$tmp/tmpfiles.conf" || fail "systemd-tmpfiles --create (our tmpfiles.d file)"
rundir="$tmp/run/hvcap"
statedir="$tmp/var/lib/hvcap"
for d in "$rundir" "$statedir"; do
	[ "$(stat -c '%U:%G %a' "$d" 2>/dev/null)" = "$user:$group 750" ] ||
		fail "$d is $(stat -c '%U:%G %a' "$d" 2>&1), not $user:$group 750"
done
sock=$(printf '%s\n' "$listen" | relocate)
control="$rundir/control"

# The installed hvcapd.conf, with the admin group hvcap.sysusers creates.
cp "$root$config" "$tmp/hvcapd.conf"
printf 'admin_group = %s\n' "$admin" >>"$tmp/hvcapd.conf"
chmod 0644 "$tmp/hvcapd.conf"

# ExecStart= word by word: the program from the DESTDIR, the paths moved.
n=$#
while [ "$n" -gt 0 ]; do
	arg=$1
	shift
	case "$arg" in
	"$daemon") arg="$root$daemon" ;;
	"$config") arg="$tmp/hvcapd.conf" ;;
	*) arg=$(printf '%s\n' "$arg" | relocate) ;;
	esac
	set -- "$@" "$arg"
	n=$((n - 1))
done
echo "hvcapd: $*"

# systemd-socket-activate binds the socket as root and, at the first
# connection, execs setpriv (same pid: $LISTEN_PID holds) which drops to
# the unit's user, groups and capabilities and execs hvcapd with the
# unit's umask, in the environment systemd gives a User= service.
start_hvcapd() {
	rm -f "$sock"
	# shellcheck disable=SC2016 # the inner sh expands $0 and $@
	env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
		HOME="$home" USER="$user" LOGNAME="$user" SHELL="$shell" \
		systemd-socket-activate -l "$sock" \
		setpriv --reuid "$user" --regid "$group" --groups "$groups" --no-new-privs \
		--inh-caps=-all --bounding-set=-all \
		sh -c 'umask "$0" && exec "$@"' "$umask" "$@" >>"$tmp/hvcapd.log" 2>&1 &
	pid=$!
	i=0
	until [ -S "$sock" ] || [ "$i" -gt 100 ]; do i=$((i + 1)); sleep 0.1; done
	# What hvcapd.socket's SocketMode= and SocketGroup= do.
	if ! chgrp "$sgroup" "$sock" || ! chmod "$smode" "$sock"; then
		fail "no socket at $sock"
	fi
	# The first connection starts hvcapd; it answers once it is READY.
	i=0
	until "$hvctl" --address "unix:$sock" host show >/dev/null 2>&1 || [ "$i" -gt 100 ]; do
		i=$((i + 1))
		sleep 0.1
	done
}
start_hvcapd "$@"
addr="unix:$sock"

if ! kill -0 "$pid" 2>/dev/null || ! "$hvctl" --address "$addr" host show >/dev/null 2>&1; then
	fail "the installed hvcapd does not answer on $sock"
	sed 's/^/    hvcapd: /' "$tmp/hvcapd.log"
	finish
fi
grep -q 'Listening on the socket systemd passed' "$tmp/hvcapd.log" ||
	fail "hvcapd did not take the socket from \$LISTEN_FDS: $(cat "$tmp/hvcapd.log")"

# The process: the unit's user and groups, no capabilities, no new privileges.
st=/proc/$pid/status
[ "$(awk '/^Uid:/ { print $3 }' "$st")" = "$(id -u "$user")" ] || fail "hvcapd does not run as $user"
[ "$(awk '/^Gid:/ { print $3 }' "$st")" = "$(getent group "$group" | cut -d: -f3)" ] ||
	fail "hvcapd does not run with group $group"
for g in $(echo "$groups" | tr ',' ' '); do
	gid=$(getent group "$g" | cut -d: -f3)
	awk '/^Groups:/' "$st" | grep -qw "$gid" || fail "hvcapd is not in group $g: $(grep '^Groups:' "$st")"
done
grep -q '^CapEff:[[:space:]]*0*$' "$st" || fail "hvcapd has capabilities: $(grep '^CapEff:' "$st")"
grep -q '^NoNewPrivs:[[:space:]]*1$' "$st" || fail "hvcapd may gain privileges"

# Root: the host on the real /dev/kvm, a VM, the control plane.
expect 0 "hvctl host show as root" "$hvctl" --address "$addr" host show --json
got=$(jq -r '.host.backend' "$tmp/out")
[ "$got" = "$backend" ] || fail "host show: backend $got, want $backend (hvcapd as $user with group kvm)"
echo "host: backend $got"
expect 0 "hvctl vm create as root" "$hvctl" --address "$addr" vm create web "$examples/host-passthrough.json"
expect 0 "hvctl vm list as root" "$hvctl" --address "$addr" vm list --json
jq -e '.vms[] | select(.name == "web")' "$tmp/out" >/dev/null || fail "vm list: no VM web"
expect 0 "hvctl top --once as root" "$hvctl" top --once --json --control "$control"
jq -e '.vms[] | select(.name == "web")' "$tmp/out" >/dev/null || fail "top: no VM web in $control"

# What hvcapd writes: the control file for the socket's group, state files for nobody else.
[ "$(stat -c '%U:%G %a' "$control")" = "$user:$sgroup 640" ] ||
	fail "$control is $(stat -c '%U:%G %a' "$control"), not $user:$sgroup 640"
[ -z "$(find "$statedir" ! -user "$user")" ] || fail "files in $statedir not owned by $user"
[ -z "$(find "$statedir" -perm /o=rwx)" ] || fail "files in $statedir open to others: $(find "$statedir" -perm /o=rwx)"
[ -n "$(find "$statedir" -type f)" ] || fail "no state files in $statedir"

# A member of hvcap: queries, maps the control file, may not mutate.
as_member() {
	setpriv --reuid nobody --regid "$sgroup" --clear-groups "$@"
}
expect 0 "hvctl host show in group $sgroup" as_member "$hvctl" --address "$addr" host show
expect 0 "hvctl vm list in group $sgroup" as_member "$hvctl" --address "$addr" vm list
grep -q web "$tmp/out" || fail "vm list in group $sgroup: no VM web"
expect 1 "hvctl vm create in group $sgroup" as_member "$hvctl" --address "$addr" vm create db \
	"$examples/host-passthrough.json"
grep -q 'permission denied' "$tmp/err" || fail "vm create in group $sgroup: $(cat "$tmp/err")"
expect 0 "hvctl top --once in group $sgroup" as_member "$hvctl" top --once --control "$control"

# A member of the admin group (and of hvcap, for the socket): may mutate.
as_admin() {
	setpriv --reuid nobody --regid "$admin" --groups "$sgroup" "$@"
}
expect 0 "hvctl vm create in group $admin" as_admin "$hvctl" --address "$addr" vm create db \
	"$examples/host-passthrough.json"
expect 0 "hvctl vm delete in group $admin" as_admin "$hvctl" --address "$addr" vm delete db

# Anybody else: the socket and the control file refuse at the file system.
as_other() {
	setpriv --reuid nobody --regid nogroup --clear-groups "$@"
}
expect 1 "hvctl host show outside $sgroup" as_other "$hvctl" --address "$addr" host show
grep -q 'Permission denied' "$tmp/err" || fail "host show outside $sgroup: not EACCES: $(cat "$tmp/err")"
expect 1 "hvctl top --once outside $sgroup" as_other "$hvctl" top --once --control "$control"
grep -q 'Permission denied' "$tmp/err" || fail "top outside $sgroup: not EACCES: $(cat "$tmp/err")"

# hvcap-nfd.service's ExecStart=, as the unit runs it: root without
# capabilities, in the hvcap group (how it reaches the socket in the
# hvcap-only run directory), the default address moved with /run/hvcap, and
# features.d a scratch directory.  The file is renamed into place: each run
# leaves a new inode and no dot file.
nfd_out="$tmp/features.d"
mkdir -m 0755 "$nfd_out"
nfd_groups=$(unit_key "$nfd_service" SupplementaryGroups)
nfd_umask=$(unit_key "$nfd_service" UMask)
nfd_cmd=$(printf '%s\n' "$nfd_exec" | sed -e "s|^$nfd_hvctl |$hvctl |" -e "s| --output $nfd_dir| --output $nfd_out|")
echo "hvcap-nfd: $nfd_cmd"
# (In a function: its positional parameters leave hvcapd's alone.)
run_nfd() {
	set -f
	# shellcheck disable=SC2086
	set -- $nfd_cmd
	set +f
	# shellcheck disable=SC2016 # the inner sh expands $0 and $@
	env HVCAP_ADDRESS="$addr" setpriv --groups "$nfd_groups" --no-new-privs --inh-caps=-all --bounding-set=-all \
		sh -c 'umask "$0" && exec "$@"' "$nfd_umask" "$@"
}
expect 0 "hvcap-nfd.service's ExecStart=" run_nfd
[ ! -s "$tmp/err" ] || fail "hvcap-nfd: did not ask hvcapd: $(cat "$tmp/err")"
nfd_file="$nfd_out/hvcap"
if [ ! -f "$nfd_file" ]; then
	fail "hvcap-nfd: no $nfd_file: $(ls -A "$nfd_out")"
else
	[ "$(stat -c '%U %a' "$nfd_file")" = "root 644" ] ||
		fail "$nfd_file is $(stat -c '%U %a' "$nfd_file"), not root 644"
	# Comments, then the expiry 30 minutes from now, then the labels.
	head -1 "$nfd_file" | grep -q '^# ' || fail "hvcap-nfd: first line is not a comment: $(head -1 "$nfd_file")"
	expiry=$(grep -v '^# [^+]' "$nfd_file" | head -1)
	case "$expiry" in
	'# +expiry-time='*) ;;
	*) fail "hvcap-nfd: after the comments, not the expiry: $expiry" ;;
	esac
	left=$(($(date -u -d "${expiry#*=}" +%s) - $(date +%s)))
	if [ "$left" -le 1700 ] || [ "$left" -gt 1800 ]; then
		fail "hvcap-nfd: expiry ${expiry#*=} is not 30m from now"
	fi
	grep -v '^#' "$nfd_file" | head -1 | grep -q '^hvcap\.io/fingerprint=' ||
		fail "hvcap-nfd: first label is not the fingerprint: $(grep -v '^#' "$nfd_file" | head -1)"
	fp=$("$hvctl" --address "$addr" host export | jq -r .fingerprint)
	grep -qx "hvcap.io/fingerprint=$fp" "$nfd_file" || fail "hvcap-nfd: the fingerprint is not hvcapd's $fp"
	sed -n '1,/^[^#]/p' "$nfd_file" | sed 's/^/    /'
	ino=$(stat -c %i "$nfd_file")
	expect 0 "hvcap-nfd.service's ExecStart= again" run_nfd
	[ "$(stat -c %i "$nfd_file")" != "$ino" ] || fail "hvcap-nfd: the file was rewritten in place, not renamed"
	[ "$(ls -A "$nfd_out")" = hvcap ] || fail "hvcap-nfd: left in features.d: $(ls -A "$nfd_out")"
fi

# ExecReload=: SIGHUP re-probes and hvcapd goes on serving.
kill -HUP "$pid"
i=0
until grep -q 'reloaded' "$tmp/hvcapd.log" || [ "$i" -gt 100 ]; do i=$((i + 1)); sleep 0.1; done
grep -q 'reloaded' "$tmp/hvcapd.log" || fail "no reload after SIGHUP: $(tail -3 "$tmp/hvcapd.log")"
expect 0 "hvctl vm show after SIGHUP" "$hvctl" --address "$addr" vm show web

# SIGTERM (systemctl stop) is a clean exit; started again, the registry is still there.
kill -TERM "$pid"
wait "$pid"
rc=$?
pid=
[ "$rc" -eq 0 ] || fail "hvcapd exited $rc on SIGTERM"
start_hvcapd "$@"
expect 0 "hvctl vm show after a restart" "$hvctl" --address "$addr" vm show web

if [ "$failures" -ne 0 ]; then
	sed 's/^/    hvcapd: /' "$tmp/hvcapd.log"
fi
finish
