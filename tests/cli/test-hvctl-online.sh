#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# hvctl's online commands against the real hvcapd on a temporary socket
# and state directory: the model backend on an ERAPS host derived from a
# real EPYC dump and on a hybrid-AVIC EPYC, and the kvm backend where
# /dev/kvm exists.  Every command in both output forms, the exit statuses,
# the errors by name, privileges as nobody, Watch, and a restart.

. "${HVCAP_SRCDIR:?}/tests/cli/lib.sh"
examples="${HVCAP_SRCDIR:?}/examples"
launch=
watch_pid=

cleanup() {
	[ -n "$watch_pid" ] && kill "$watch_pid" 2>/dev/null
	stop_daemon
	rm -rf "$tmp"
}
trap cleanup EXIT

# --- No daemon: a clear message naming the address, and the fallbacks.
expect 1 "host show without hvcapd" "$hvctl" host show
grep -q "no hvcapd answers at unix:$tmp/no-hvcapd" "$tmp/err" || fail "address not named: $(cat "$tmp/err")"
expect 1 "vm list without hvcapd" "$hvctl" --address "unix:$tmp/elsewhere" vm list
grep -q "unix:$tmp/elsewhere" "$tmp/err" || fail "--address not used: $(cat "$tmp/err")"
expect 2 "bad address" "$hvctl" --address "tcp:1.2.3.4" vm list
expect 2 "--address without value" "$hvctl" --address
printf '{"name": "empty"}\n' >"$tmp/empty.json"
"$hvctl" policy check "$tmp/empty.json" >"$tmp/out" 2>"$tmp/err"
grep -q "no hvcapd answers at unix:$tmp/no-hvcapd.*directly" "$tmp/err" ||
	fail "policy check fallback not announced: $(cat "$tmp/err")"
grep -q "^host: *this machine" "$tmp/out" || fail "policy check did not fall back to this machine"

if [ ! -d "$data" ]; then
	echo "SKIP: no CPU dumps in ${HVCAP_TESTDATA:-\$HVCAP_TESTDATA}"
	exit 77
fi

# An ERAPS host (Zen 5-like): the EPYC-9334 dump with Fn8000_0021 EAX[24]
# and RapSize 64 in EBX[23:16].
xml="$data/x86_64-cpuid-EPYC-9334-32-Core.xml"
line=$(grep "eax_in='0x80000021' ecx_in='0x00'" "$xml")
eax=$(echo "$line" | sed "s/.* eax='\(0x[0-9a-f]*\)'.*/\1/")
ebx=$(echo "$line" | sed "s/.* ebx='\(0x[0-9a-f]*\)'.*/\1/")
neax=$(printf '0x%08x' $((eax | 0x01000000)))
nebx=$(printf '0x%08x' $(((ebx & ~0x00ff0000) | 0x00400000)))
sed "/eax_in='0x80000021' ecx_in='0x00'/s/ eax='$eax' ebx='$ebx'/ eax='$neax' ebx='$nebx'/" "$xml" >"$tmp/zen5.xml"
grep -q "eax='$neax' ebx='$nebx'" "$tmp/zen5.xml" || fail "could not derive the ERAPS dump"

start_daemon zen5 --host-dump "$tmp/zen5.xml" --param kernel=7.0

# --- host show, features, export.
expect 0 "host show" "$hvctl" host show
grep -q "^backend: *model" "$tmp/out" || fail "host show: backend"
grep -q "eraps" "$tmp/out" || fail "host show: no eraps among the features"
expect 0 "host show --json" "$hvctl" host show --json
fp=$(jq -r .host.fingerprint "$tmp/out")
jq -e '.host.backend == "model" and .host.vendor_module == "kvm_amd" and (.host.features | index("eraps"))
       and (.host.cpuid | length > 10)' "$tmp/out" >/dev/null || fail "host show --json: $(head -c 300 "$tmp/out")"
expect 0 "host show --names qemu" "$hvctl" host show --names qemu
grep -q "sse4.1" "$tmp/out" || fail "host show --names qemu: no sse4.1"
expect 0 "host features" "$hvctl" host features
grep -q "^source: hvcapd at unix:$tmp/zen5.sock (fingerprint $fp)" "$tmp/out" || fail "host features: source line"
grep -q "^eraps  *yes  *yes" "$tmp/out" || fail "host features: eraps row"
expect 0 "host features --json --all" "$hvctl" host features --json --all
[ "$(jq -r .fingerprint "$tmp/out")" = "$fp" ] || fail "host features: fingerprint"
jq -e '[.features[] | select(.name == "avx512_vp2intersect")][0] | .kvm == false and .host == false' "$tmp/out" \
	>/dev/null || fail "host features --all lacks an absent feature"
# The daemon's answer equals hvctl's own model of the same host.
"$hvctl" host features --json --all --dump "$tmp/zen5.xml" --param kernel=7.0 >"$tmp/offline.json" ||
	fail "host features --dump"
jq -S .features "$tmp/out" >"$tmp/a.json"
jq -S .features "$tmp/offline.json" >"$tmp/b.json"
cmp -s "$tmp/a.json" "$tmp/b.json" || fail "host features: daemon and offline model differ"
expect 0 "host export" "$hvctl" host export --format json
jq -e --arg fp "$fp" '.fingerprint == $fp and (.features | index("eraps")) and (.withheld | type == "array")
       and all(.withheld[]; .reason != "supported")' "$tmp/out" >/dev/null || fail "host export: $(head -c 300 "$tmp/out")"
expect 0 "host export without --format (json)" "$hvctl" host export
jq -e --arg fp "$fp" '.fingerprint == $fp and .host.fingerprint == $fp' "$tmp/out" >/dev/null ||
	fail "host export without --format: $(head -c 300 "$tmp/out")"
expect 2 "host export --format xml" "$hvctl" host export --format xml

# --- policy check through the daemon equals the offline check of the same host.
for p in "$examples"/*.json "$tmp/empty.json"; do
	"$hvctl" policy check --json "$p" >"$tmp/online.json" 2>"$tmp/err"
	on=$?
	"$hvctl" policy check --json "$p" --host-dump "$tmp/zen5.xml" --param kernel=7.0 >"$tmp/offline.json" 2>/dev/null
	off=$?
	[ "$on" -eq "$off" ] || fail "policy check $(basename "$p"): exit $on online, $off offline"
	jq -S . "$tmp/online.json" >"$tmp/a.json"
	jq -S . "$tmp/offline.json" >"$tmp/b.json"
	cmp -s "$tmp/a.json" "$tmp/b.json" || fail "policy check $(basename "$p"): daemon and offline differ"
done
# Compare: hvcapd models a dump it is sent, as hvctl does offline.
zen1="$data/x86_64-cpuid-EPYC-7601-32-Core.xml"
for p in "$examples/large-x2apic.json" "$examples/web-tier-amd.json"; do
	"$hvctl" policy check --json "$p" --host-dump "$zen1" --param avic=on --daemon >"$tmp/online.json" 2>"$tmp/err"
	on=$?
	"$hvctl" policy check --json "$p" --host-dump "$zen1" --param avic=on >"$tmp/offline.json" 2>/dev/null
	off=$?
	[ "$on" -eq "$off" ] || fail "policy check --daemon $(basename "$p"): exit $on, offline $off: $(cat "$tmp/err")"
	jq -S . "$tmp/online.json" >"$tmp/a.json"
	jq -S . "$tmp/offline.json" >"$tmp/b.json"
	cmp -s "$tmp/a.json" "$tmp/b.json" || fail "policy check --daemon $(basename "$p"): Compare and offline differ"
done
expect 0 "policy check --daemon (human)" "$hvctl" policy check "$tmp/empty.json" --host-dump "$zen1" --daemon
grep -q "^host: *$zen1, modelled by hvcapd at unix:$tmp/zen5.sock" "$tmp/out" || fail "Compare: host line"
expect 2 "policy check --daemon: bad parameter" "$hvctl" policy check "$tmp/empty.json" --host-dump "$zen1" \
	--param avic=sometimes --daemon
grep -q "io.hvcap.Policy.InvalidHostParameter" "$tmp/err" || fail "InvalidHostParameter not named: $(cat "$tmp/err")"
expect 2 "policy check --daemon: --param without =" "$hvctl" policy check "$tmp/empty.json" \
	--host-dump "$zen1" --param avic --daemon
grep -q "not KEY=VALUE" "$tmp/err" || fail "--param without '=': $(cat "$tmp/err")"
printf 'not a dump\n' >"$tmp/garbage.txt"
expect 1 "policy check --daemon: bad dump" "$hvctl" policy check "$tmp/empty.json" --host-dump "$tmp/garbage.txt" --daemon
grep -q "io.hvcap.Policy.InvalidDump" "$tmp/err" || fail "InvalidDump not named: $(cat "$tmp/err")"
expect 2 "policy check --daemon without a dump" "$hvctl" policy check "$tmp/empty.json" --daemon
expect 0 "policy check (human)" "$hvctl" policy check "$examples/web-tier-amd.json"
grep -q "^host: *hvcapd at unix:$tmp/zen5.sock" "$tmp/out" || fail "policy check: host line"
grep -q "^verdict: *ACCEPTED" "$tmp/out" || fail "policy check: verdict"

# --- VMs.
printf '{"name": "nested", "vendor": "AuthenticAMD", "features": {"eraps": "require", "svm": "require",
  "lam": "optional"}, "vcpus": 2, "apic": "x2apic"}\n' >"$tmp/nested.json"
printf '{"name": "x2", "apic": "x2apic"}\n' >"$tmp/x2apic.json"
expect 0 "vm create" "$hvctl" vm create web "$examples/web-tier-amd.json"
grep -q "^created VM [0-9]* 'web' with 8 vCPUs" "$tmp/out" || fail "vm create: $(cat "$tmp/out")"
expect 0 "vm create --json" "$hvctl" vm create --json l1 "$tmp/nested.json"
l1=$(jq -r .vm "$tmp/out")
jq -e '.vcpus == 2' "$tmp/out" >/dev/null || fail "vm create --json: $(cat "$tmp/out")"
expect 1 "vm create: name taken" "$hvctl" vm create web "$tmp/empty.json"
grep -q "io.hvcap.Vm.VmExists" "$tmp/err" || fail "VmExists not named"
printf '{"features": {"avx512_vp2intersect": "require"}}\n' >"$tmp/rejected.json"
expect 1 "vm create: rejected policy" "$hvctl" vm create nope "$tmp/rejected.json"
grep -q "io.hvcap.Vm.PolicyRejected" "$tmp/err" && grep -q "problem: avx512_vp2intersect" "$tmp/err" ||
	fail "PolicyRejected without its problem: $(cat "$tmp/err")"
printf '{"vcpus": "8"}\n' >"$tmp/bad.json"
expect 2 "vm create: bad policy file" "$hvctl" vm create bad "$tmp/bad.json"
grep -q "vcpus" "$tmp/err" || fail "bad policy not named"
expect 2 "vm create: bad name" "$hvctl" vm create "no spaces" "$tmp/empty.json"
grep -q "org.varlink.service.InvalidParameter" "$tmp/err" && grep -q '"name"' "$tmp/err" ||
	fail "bad name: $(cat "$tmp/err")"
expect 2 "vm create: name too long" "$hvctl" vm create \
	"$(printf 'x%.0s' $(seq 65))" "$tmp/empty.json"
expect 0 "vm create: name of 64" "$hvctl" vm create "$(printf 'y%.0s' $(seq 64))" "$tmp/empty.json"
expect 0 "vm list" "$hvctl" vm list
grep -q "^(3 VMs)" "$tmp/out" || fail "vm list: $(cat "$tmp/out")"
expect 0 "vm list --json" "$hvctl" vm list --json
jq -e '[.vms[].name] | index("web") and index("l1")' "$tmp/out" >/dev/null || fail "vm list --json"
expect 0 "vm show by name" "$hvctl" vm show web
grep -q "^vCPU 7:" "$tmp/out" || fail "vm show: no vCPU 7"
expect 0 "vm show --json" "$hvctl" vm show --json "$l1"
jq -e '.vm.name == "l1" and (.vm.vcpus | length == 2) and (.vm.vcpus[0].features | index("eraps"))
       and .vm.vcpus[0].cpuid_frozen == false and .vm.vcpus[0].apic_base == "0xfee00900"' "$tmp/out" \
	>/dev/null || fail "vm show --json: $(head -c 400 "$tmp/out")"
expect 1 "vm show: no such VM" "$hvctl" vm show 999
grep -q "io.hvcap.Vm.NoSuchVm" "$tmp/err" || fail "NoSuchVm not named"
expect 1 "vm show: no such name" "$hvctl" vm show nosuchname
expect 0 "vm add-vcpu" "$hvctl" vm add-vcpu l1
grep -q "^added vCPU 2 to VM $l1" "$tmp/out" || fail "add-vcpu: $(cat "$tmp/out")"
expect 0 "vm add-vcpu --vcpu" "$hvctl" vm add-vcpu --json --vcpu 9 l1
jq -e '.vcpu == 9' "$tmp/out" >/dev/null || fail "add-vcpu --vcpu"
expect 1 "vm add-vcpu: taken" "$hvctl" vm add-vcpu --vcpu 9 l1
grep -q "io.hvcap.Vm.VcpuExists" "$tmp/err" || fail "VcpuExists not named"
expect 2 "vm add-vcpu: bad id" "$hvctl" vm add-vcpu --vcpu -1 l1

# --- vCPUs: ERAPS, CR3/LAM, nesting, CPUID, APIC base.
expect 0 "vcpu run" "$hvctl" vcpu run l1 0 --json
jq -e '.erap_ctl == 2' "$tmp/out" >/dev/null || fail "first run: CLEAR_RAP expected (RESET dirtied the RAP)"
expect 0 "vcpu run again" "$hvctl" vcpu run l1 0
grep -q "erap_ctl 0x00 (none)" "$tmp/out" || fail "second run: $(cat "$tmp/out")"
expect 0 "vcpu write-cr3" "$hvctl" vcpu write-cr3 l1 0 0x1000
grep -q "legal; LAM bits: none; the RAP is dirty" "$tmp/out" || fail "write-cr3: $(cat "$tmp/out")"
expect 0 "vcpu run after CR3" "$hvctl" vcpu run --json l1 0
jq -e '.erap_ctl == 2' "$tmp/out" >/dev/null || fail "run after a CR3 write: CLEAR_RAP expected"
expect 1 "vcpu write-cr3: reserved bit" "$hvctl" vcpu write-cr3 l1 0 0x8000000000001000
grep -q "illegal" "$tmp/out" || fail "reserved CR3 bit accepted"
expect 1 "vcpu write-cr3 --json: reserved bit" "$hvctl" vcpu write-cr3 --json l1 0 0x8000000000001000
jq -e '.legal == false' "$tmp/out" >/dev/null || fail "write-cr3 --json legal"
expect 2 "vcpu write-cr3: not a number" "$hvctl" vcpu write-cr3 l1 0 banana
expect 0 "vcpu init" "$hvctl" vcpu init --json l1 0
jq -e '.erap_ctl == 1' "$tmp/out" >/dev/null || fail "INIT of an ERAPS guest: ALLOW_LARGER_RAP expected"
expect 0 "vm create plain" "$hvctl" vm create plain "$tmp/empty.json"
expect 0 "vcpu init without ERAPS" "$hvctl" vcpu init --json plain 0
jq -e '.erap_ctl == 0' "$tmp/out" >/dev/null || fail "INIT of a guest without ERAPS set ALLOW_LARGER_RAP"
expect 0 "vm delete plain" "$hvctl" vm delete plain
expect 0 "vcpu nested-run" "$hvctl" vcpu nested-run --erap-ctl 1 l1 0 --json
jq -e '.vmcb02_erap_ctl == 3' "$tmp/out" >/dev/null || fail "vmcb02 erap_ctl: $(cat "$tmp/out")"
expect 1 "vcpu nested-run twice" "$hvctl" vcpu nested-run l1 0
grep -q "io.hvcap.Vm.InvalidState" "$tmp/err" || fail "InvalidState not named"
expect 0 "vcpu nested-exit" "$hvctl" vcpu nested-exit l1 0
grep -q "vmcb01 erap_ctl 0x03 (ALLOW_LARGER_RAP CLEAR_RAP)" "$tmp/out" || fail "nested-exit: $(cat "$tmp/out")"
expect 1 "vcpu nested-exit outside L2" "$hvctl" vcpu nested-exit l1 0
expect 2 "vcpu nested-run: bad byte" "$hvctl" vcpu nested-run --erap-ctl 256 l1 0
expect 1 "vcpu run: no such vCPU" "$hvctl" vcpu run l1 5
grep -q "io.hvcap.Vm.NoSuchVcpu" "$tmp/err" || fail "NoSuchVcpu not named"

# KVM_SET_CPUID2: the guest CPUID of the policy before the vCPU runs; after
# it ran, anything else is CpuidFrozen.
"$hvctl" policy check --json "$tmp/nested.json" |
	jq '{format: "hvcap-cpu-dump", version: 1, cpuid: .guest.cpuid}' >"$tmp/guest-cpuid.json"
"$hvctl" policy check --json "$tmp/empty.json" |
	jq '{format: "hvcap-cpu-dump", version: 1, cpuid: .guest.cpuid}' >"$tmp/other-cpuid.json"
expect 0 "vcpu set-cpuid before run" "$hvctl" vcpu set-cpuid l1 1 "$tmp/guest-cpuid.json"
expect 0 "vcpu set-cpuid: other CPUID before run" "$hvctl" vcpu set-cpuid l1 1 "$tmp/other-cpuid.json"
expect 0 "vcpu set-cpuid: back" "$hvctl" vcpu set-cpuid l1 1 "$tmp/guest-cpuid.json"
expect 0 "vcpu run 1" "$hvctl" vcpu run l1 1
expect 1 "vcpu set-cpuid after run" "$hvctl" vcpu set-cpuid l1 1 "$tmp/other-cpuid.json"
grep -q "io.hvcap.Vm.CpuidFrozen" "$tmp/err" || fail "CpuidFrozen not named: $(cat "$tmp/err")"
printf '{"format": "hvcap-cpu-dump", "version": 1,
  "cpuid": [{"function": 1, "index": 0, "flags": 0, "eax": 0, "ebx": 0, "ecx": 0, "edx": 0},
  {"function": 1, "index": 0, "flags": 0, "eax": 0, "ebx": 0, "ecx": 0, "edx": 0}]}\n' >"$tmp/dup-cpuid.json"
expect 1 "vcpu set-cpuid: unreadable file" "$hvctl" vcpu set-cpuid l1 2 "$tmp/dup-cpuid.json"
expect 1 "vcpu set-cpuid: missing file" "$hvctl" vcpu set-cpuid l1 2 "$tmp/nonexistent.json"

expect 0 "vcpu set-apic-base x2apic" "$hvctl" vcpu set-apic-base l1 0 0xfee00d00
grep -q "APIC mode x2apic" "$tmp/out" || fail "set-apic-base: $(cat "$tmp/out")"
expect 1 "vcpu set-apic-base x2apic -> xapic (guest)" "$hvctl" vcpu set-apic-base l1 0 0xfee00900
grep -q "io.hvcap.Vm.InvalidApicBase" "$tmp/err" || fail "InvalidApicBase not named"
expect 0 "vcpu set-apic-base disabled (guest)" "$hvctl" vcpu set-apic-base --json l1 0 0xfee00000
jq -e '.apic_mode == "disabled"' "$tmp/out" >/dev/null || fail "APIC not disabled"
expect 0 "vcpu set-apic-base --host-initiated" "$hvctl" vcpu set-apic-base --host-initiated l1 0 0xfee00900

# --- Privileges: nobody may read, not change.  The socket is 0660: let
# nobody reach it for this test.
if command -v setpriv >/dev/null 2>&1 && [ "$(id -u)" -eq 0 ]; then
	chmod 0711 "$tmp"
	chmod 0666 "$tmp/zen5.sock"
	chmod 0644 "$tmp/empty.json"
	as_nobody="setpriv --reuid=nobody --regid=nogroup --clear-groups"
	expect 0 "nobody: vm list" $as_nobody "$hvctl" vm list
	expect 0 "nobody: host show" $as_nobody "$hvctl" host show --json
	expect 0 "nobody: policy check" $as_nobody "$hvctl" policy check "$tmp/empty.json"
	expect 1 "nobody: vm create" $as_nobody "$hvctl" vm create sneaky "$tmp/empty.json"
	grep -q "io.hvcap.PermissionDenied" "$tmp/err" || fail "nobody: PermissionDenied not named: $(cat "$tmp/err")"
	expect 1 "nobody: vcpu run" $as_nobody "$hvctl" vcpu run l1 0
	grep -q "io.hvcap.PermissionDenied" "$tmp/err" || fail "nobody: vcpu run not denied"
	expect 1 "nobody: host reload" $as_nobody "$hvctl" host reload
	grep -q "io.hvcap.PermissionDenied" "$tmp/err" || fail "nobody: host reload not denied"
	expect 1 "nobody: vm delete" $as_nobody "$hvctl" vm delete web
	grep -q "^<5>permission denied: uid 65534 .*io.hvcap.Vm.Delete" "$tmp/zen5.log" ||
		fail "denied request not logged with uid and method: $(tail -3 "$tmp/zen5.log")"
	chmod 0700 "$tmp"
else
	echo "note: not root or no setpriv: the unprivileged path is not tested here"
fi

# --- top: the control plane (beside the socket) says what Vm.Get says.
expect 0 "top --once --json" "$hvctl" top --once --json
[ "$(jq -r .control "$tmp/out")" = "$tmp/control" ] || fail "top: control file $(jq -r .control "$tmp/out")"
jq -e --arg fp "$fp" '.host.fingerprint == $fp and .host.backend == "model"' "$tmp/out" >/dev/null ||
	fail "top: host"
cp "$tmp/out" "$tmp/top.json"
for vm in $("$hvctl" vm list --json | jq -r '.vms[].vm'); do
	"$hvctl" vm show --json "$vm" | jq -S .vm >"$tmp/a.json"
	jq -S --argjson vm "$vm" '.vms[] | select(.vm == $vm) | del(.vcpus[].control_page_offset)' "$tmp/top.json" \
		>"$tmp/b.json"
	cmp -s "$tmp/a.json" "$tmp/b.json" || fail "top: VM $vm differs from Vm.Get: $(diff "$tmp/a.json" "$tmp/b.json" | head -5)"
done
[ "$(jq '.vms | length' "$tmp/top.json")" -eq "$("$hvctl" vm list --json | jq '.vms | length')" ] ||
	fail "top: not every VM"
expect 0 "top --once" "$hvctl" top --once
grep -q "^ *[0-9]* web  *8 " "$tmp/out" || fail "top: no row for web: $(head -5 "$tmp/out")"
grep -q "^ *0 frozen xapic  *0x03  0x03   no " "$tmp/out" || fail "top: vCPU 0 of l1: $(grep -A3 ' l1 ' "$tmp/out")"
expect 0 "top --control" "$hvctl" --address unix:/nonexistent top --once --control "$tmp/control"
HVCAP_CONTROL="$tmp/control" expect 0 "top with HVCAP_CONTROL" "$hvctl" --address unix:/nonexistent top --once
expect 1 "top: no control file" "$hvctl" top --once --control "$tmp/nonexistent"
grep -q "no control plane" "$tmp/err" || fail "top: missing file: $(cat "$tmp/err")"
printf 'garbage' >"$tmp/garbage.ctl"
expect 1 "top: not a control file" "$hvctl" top --once --control "$tmp/garbage.ctl"
grep -q "not a valid control file" "$tmp/err" || fail "top: garbage: $(cat "$tmp/err")"
expect 2 "top: bad interval" "$hvctl" top --interval 0
# Live: a line per change.
"$hvctl" top --json --interval 0.2 >"$tmp/top-live.out" 2>"$tmp/top-live.err" &
top_pid=$!
# Waits, not sleeps: under memcheck or on a busy machine either side may be slow.
i=0
while [ ! -s "$tmp/top-live.out" ] && [ "$i" -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
expect 0 "vm create while top runs" "$hvctl" vm create topped "$tmp/empty.json"
i=0
while ! tail -n 1 "$tmp/top-live.out" | grep -q '"topped"' && [ "$i" -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
kill "$top_pid" 2>/dev/null
wait "$top_pid" 2>/dev/null
jq -s -e 'length >= 2 and (.[-1].vms | map(.name) | index("topped")) and ((.[0].vms | map(.name) | index("topped")) | not)' \
	"$tmp/top-live.out" >/dev/null || fail "top: live updates: $(wc -l <"$tmp/top-live.out") lines"
expect 0 "vm delete topped" "$hvctl" vm delete topped
if [ "$(id -u)" -eq 0 ] && command -v setpriv >/dev/null 2>&1; then
	chmod 0711 "$tmp"
	expect 1 "nobody: top" setpriv --reuid=nobody --regid=nogroup --clear-groups "$hvctl" top --once \
		--control "$tmp/control"
	grep -q "Permission denied" "$tmp/err" || fail "nobody read the control plane: $(cat "$tmp/err")"
	[ "$(stat -c %a "$tmp/control")" = 640 ] || fail "control file mode $(stat -c %a "$tmp/control")"
	chmod 0700 "$tmp"
fi

# --- Watch: events stream while VMs come and go.
"$hvctl" watch --json >"$tmp/watch.out" 2>"$tmp/watch.err" &
watch_pid=$!
i=0
while [ ! -s "$tmp/watch.out" ] && [ "$i" -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
expect 0 "vm create while watched" "$hvctl" vm create watched "$tmp/empty.json"
expect 0 "vm delete while watched" "$hvctl" vm delete watched
i=0
while [ "$(wc -l <"$tmp/watch.out")" -lt 3 ] && [ "$i" -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
kill "$watch_pid" 2>/dev/null
wait "$watch_pid" 2>/dev/null
watch_pid=
jq -s -e '.[0].event == "watching" and .[1].event == "vm_created" and .[1].name == "watched"
          and .[2].event == "vm_deleted" and .[2].vm == .[1].vm' "$tmp/watch.out" >/dev/null ||
	fail "watch: $(cat "$tmp/watch.out" "$tmp/watch.err")"

# --- Reload: the host loses AVX2 (a BIOS or microcode change); the VMs
# whose policy gave them AVX2 drifted, and Watch says so.
"$hvctl" watch --json >"$tmp/watch.out" 2>"$tmp/watch.err" &
watch_pid=$!
i=0
while [ ! -s "$tmp/watch.out" ] && [ "$i" -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
expect 0 "host reload: unchanged" "$hvctl" host reload --json
jq -e --arg fp "$fp" '.changed == false and .fingerprint == $fp and .drifted == []' "$tmp/out" >/dev/null ||
	fail "reload of an unchanged host: $(cat "$tmp/out")"
cp "$tmp/zen5.xml" "$tmp/zen5.orig.xml"
line=$(grep "eax_in='0x00000007' ecx_in='0x00'" "$tmp/zen5.xml")
ebx7=$(echo "$line" | sed "s/.* ebx='\(0x[0-9a-f]*\)'.*/\1/")
sed "/eax_in='0x00000007' ecx_in='0x00'/s/ ebx='$ebx7'/ ebx='$(printf '0x%08x' $((ebx7 & ~0x20)))'/" \
	"$tmp/zen5.orig.xml" >"$tmp/zen5.xml"
expect 0 "host reload: changed" "$hvctl" host reload
grep -q "^the host changed: fingerprint" "$tmp/out" && grep -q "^1 VM drifted: $(
	"$hvctl" vm list --json | jq '.vms[] | select(.name == "web") | .vm')" "$tmp/out" ||
	fail "reload after losing AVX2: $(cat "$tmp/out")"
i=0
while ! grep -q '"vm"' "$tmp/watch.out" && [ "$i" -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
kill "$watch_pid" 2>/dev/null
wait "$watch_pid" 2>/dev/null
watch_pid=
jq -s -e '[.[] | select(.event == "host_drift")] | length == 2 and (.[1].name == "web")
          and (.[1].detail | test("-avx2"))' "$tmp/watch.out" >/dev/null ||
	fail "no host_drift events for web: $(cat "$tmp/watch.out")"
printf 'garbage\n' >"$tmp/zen5.xml"
expect 1 "host reload: unreadable dump" "$hvctl" host reload
grep -q "io.hvcap.Host.ReloadFailed" "$tmp/err" || fail "ReloadFailed not named: $(cat "$tmp/err")"
expect 0 "host show after a failed reload" "$hvctl" host show --json
jq -e --arg fp "$fp" '.host.fingerprint != $fp' "$tmp/out" >/dev/null || fail "the reloaded host was lost"
cp "$tmp/zen5.orig.xml" "$tmp/zen5.xml"
expect 0 "host reload: back" "$hvctl" host reload --json
jq -e --arg fp "$fp" '.changed and .fingerprint == $fp and .drifted == []' "$tmp/out" >/dev/null ||
	fail "reload back to the first host: $(cat "$tmp/out")"

# --- Restart: every VM and vCPU comes back as it was.
"$hvctl" vm list --json >"$tmp/list-before.json"
"$hvctl" vm show --json l1 >"$tmp/l1-before.json"
stop_daemon
start_daemon zen5 --host-dump "$tmp/zen5.xml" --param kernel=7.0
"$hvctl" vm list --json >"$tmp/list-after.json"
"$hvctl" vm show --json l1 >"$tmp/l1-after.json"
cmp -s "$tmp/list-before.json" "$tmp/list-after.json" || fail "restart: VM list changed"
cmp -s "$tmp/l1-before.json" "$tmp/l1-after.json" || fail "restart: VM l1 changed"
jq -e '.vm.vcpus[0].cpuid_frozen and .vm.vcpus[1].cpuid_frozen and (.vm.vcpus[2].cpuid_frozen | not)' \
	"$tmp/l1-after.json" >/dev/null || fail "restart: frozen flags"
expect 1 "set-cpuid after restart is still frozen" "$hvctl" vcpu set-cpuid l1 1 "$tmp/other-cpuid.json"
expect 0 "vm delete" "$hvctl" vm delete l1
expect 1 "vm delete again" "$hvctl" vm delete "$l1"
stop_daemon

# --- Hybrid AVIC (EPYC-7601, AVIC without x2AVIC): the first x2APIC vCPU
# inhibits the APIC access memslot for good, also for vCPUs added later.
start_daemon avic --host-dump "$data/x86_64-cpuid-EPYC-7601-32-Core.xml" --param avic=on
"$hvctl" watch --json >"$tmp/watch.out" 2>"$tmp/watch.err" &
watch_pid=$!
i=0
while [ ! -s "$tmp/watch.out" ] && [ "$i" -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
expect 0 "avic: vm create" "$hvctl" vm create guest "$tmp/x2apic.json"
expect 0 "avic: vm show" "$hvctl" vm show --json guest
jq -e '.vm.hybrid_avic and .vm.apic_access_memslot == "enabled"' "$tmp/out" >/dev/null ||
	fail "avic: memslot before x2APIC: $(jq -c '.vm | del(.vcpus)' "$tmp/out")"
expect 0 "avic: x2APIC" "$hvctl" vcpu set-apic-base guest 0 0xfee00d00
grep -q "APIC access memslot inhibited" "$tmp/out" || fail "avic: $(cat "$tmp/out")"
expect 0 "avic: back to xAPIC (host)" "$hvctl" vcpu set-apic-base --host-initiated guest 0 0xfee00900
expect 0 "avic: add-vcpu" "$hvctl" vm add-vcpu guest
expect 0 "avic: vm list" "$hvctl" vm list
grep -q "guest  *2  inhibited" "$tmp/out" || fail "avic: memslot not inhibited for good: $(cat "$tmp/out")"
i=0
while ! grep -q memslot_inhibited "$tmp/watch.out" && [ "$i" -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
kill "$watch_pid" 2>/dev/null
wait "$watch_pid" 2>/dev/null
watch_pid=
[ "$(grep -c memslot_inhibited "$tmp/watch.out")" -eq 1 ] || fail "avic: one memslot_inhibited event expected"
stop_daemon

# --- The kvm backend on this machine: the daemon's probe answers like hvctl's own.
# CPUID leaves 0x1, 0xb and 0x8000001e carry the APIC ID of the CPU that
# probed: both probes run on CPU 0.
if [ -r /dev/kvm ] && [ -w /dev/kvm ] && command -v taskset >/dev/null 2>&1; then
	launch="taskset -c 0"
	start_daemon kvm --host kvm
	expect 0 "kvm: host show" "$hvctl" host show --json
	jq -e '.host.backend == "kvm" and (.host.kvm_caps | length > 0)' "$tmp/out" >/dev/null || fail "kvm: host show"
	for p in "$examples"/*.json "$tmp/empty.json"; do
		"$hvctl" policy check --json "$p" >"$tmp/online.json" 2>/dev/null
		on=$?
		# Under the daemon's wrapper too: valgrind answers CPUID for what it runs.
		HVCAP_ADDRESS="unix:$tmp/no-hvcapd" taskset -c 0 $wrap "$hvctl" policy check --json "$p" \
			>"$tmp/offline.json" 2>/dev/null
		off=$?
		[ "$on" -eq "$off" ] || fail "kvm: policy check $(basename "$p"): exit $on online, $off offline"
		jq -S . "$tmp/online.json" >"$tmp/a.json"
		jq -S . "$tmp/offline.json" >"$tmp/b.json"
		cmp -s "$tmp/a.json" "$tmp/b.json" || fail "kvm: policy check $(basename "$p"): daemon and hvctl differ"
	done
	expect 0 "kvm: vm create" "$hvctl" vm create here "$tmp/empty.json"
	expect 0 "kvm: vcpu run" "$hvctl" vcpu run here 0
	stop_daemon
else
	echo "note: no usable /dev/kvm: the kvm backend is not tested here"
fi

finish
