#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# hvctl policy baseline and hvctl policy migrate-check through the real
# binary, on the shared CPU dumps: the baseline's .policy is accepted as
# it is by 'hvctl policy check --host-dump' on every input, in both
# spellings and with --migratable; mixed vendors exit 1 unless
# --vendor-subset; the JSON contracts; migrate-check names the AVX-512
# features from Skylake-SP to Broadwell and passes the other way; exit
# statuses (0, 1, 2) and the human output; exported host records as
# either end; a VM of the real hvcapd as the guest (hvcapd answers through
# io.hvcap.Policy.Compare), the same blockers as offline.

. "${HVCAP_SRCDIR:?}/tests/cli/lib.sh"

cleanup() {
	stop_daemon
	rm -rf "$tmp"
}
trap cleanup EXIT

if [ ! -d "$data" ]; then
	echo "SKIP: no CPU dumps in '$data' (HVCAP_TESTDATA)"
	exit 77
fi

bdw="$data/x86_64-cpuid-Xeon-E5-2650-v4.xml"
sky="$data/x86_64-cpuid-Xeon-Gold-5115.xml"
cfl="$data/x86_64-cpuid-Core-i7-8700.xml"
spr="$data/x86_64-cpuid-Xeon-w7-3465X.xml"
amd="$data/x86_64-cpuid-EPYC-7601-32-Core.xml"
# The four Intel generations, as the positional parameters.
set -- "$bdw" "$sky" "$cfl" "$spr"

# Usage errors exit 2; --help exits 0 and documents every option.
expect 2 "no dumps" "$hvctl" policy baseline
expect 2 "bad option" "$hvctl" policy baseline --frobnicate "$bdw"
expect 2 "bad names" "$hvctl" policy baseline --names klingon "$bdw"
expect 2 "bad param" "$hvctl" policy baseline --param tdp=sometimes "$bdw"
expect 1 "missing dump" "$hvctl" policy baseline "$bdw" "$tmp/nonexistent.xml"
grep -q "nonexistent" "$tmp/err" || fail "the missing dump is not named: $(cat "$tmp/err")"
expect 0 "baseline --help" "$hvctl" policy baseline --help
for o in --migratable --vendor-subset --param --names --json; do
	grep -q -- "$o" "$tmp/out" || fail "baseline --help lacks $o"
done
expect 2 "migrate-check without --to" "$hvctl" policy migrate-check --from "$sky"
expect 2 "migrate-check without --from" "$hvctl" policy migrate-check --to "$sky"
expect 2 "migrate-check, two policies" "$hvctl" policy migrate-check --from "$sky" --to "$bdw" a.json b.json
expect 2 "migrate-check, unreadable policy" "$hvctl" policy migrate-check --from "$sky" --to "$bdw" "$tmp/none.json"
# A missing path is a policy, never a VM name (those have no '/'): no hvcapd is asked.
expect 2 "migrate-check, missing policy path" "$hvctl" policy migrate-check --to "$bdw" "$tmp/none.json"
! grep -q "hvcapd\|VM" "$tmp/err" || fail "a missing policy path was taken for a VM: $(cat "$tmp/err")"
expect 0 "migrate-check --help" "$hvctl" policy migrate-check --help
for o in --from --to --param --names --json; do
	grep -q -- "$o" "$tmp/out" || fail "migrate-check --help lacks $o"
done

# The baseline of four Intel generations: .policy is accepted as it is on each input.
for opts in "" "--migratable" "--names qemu" "--migratable --names qemu" "--param kernel=6.6"; do
	# Word splitting of $opts is meant.
	# shellcheck disable=SC2086
	expect 0 "baseline $opts" "$hvctl" policy baseline --json $opts "$@"
	jq '.policy' "$tmp/out" >"$tmp/policy.json" || fail "baseline $opts: no .policy"
	cp "$tmp/out" "$tmp/baseline.json"
	param=
	case $opts in *kernel=6.6*) param="--param kernel=6.6" ;; esac
	for h in "$@"; do
		# shellcheck disable=SC2086
		expect 0 "baseline $opts on $(basename "$h")" "$hvctl" policy check "$tmp/policy.json" --host-dump "$h" $param --json
		jq -e '.verdict == "accepted" and (.problems | length == 0)' "$tmp/out" >/dev/null ||
			fail "baseline $opts rejected on $(basename "$h"): $(jq -c .problems "$tmp/out" | head -c 400)"
	done
	jq -e --arg bdw "$bdw" --arg spr "$spr" '
	       .policy.base == "none" and .policy.vendor == "GenuineIntel" and (.policy.phys_bits | type == "number")
	       and (.policy.features | length > 60) and all(.policy.features[]; . == "require")
	       and (.hosts | length == 4) and (.hosts[0] == $bdw)
	       and (.excluded | type == "array") and (.warnings | type == "array")
	       and (.blockers | length > 10)
	       and all(.blockers[]; (.feature | type == "string") and (.hosts | length >= 1)
	               and all(.hosts[]; (.host | type == "string") and (.reason | type == "string")
	                       and (.reason != "supported") and (.emulated | type == "boolean")))
	       and ([.blockers[] | select(.feature == "avx512f" or .feature == "avx512f")][0].hosts
	            | map(.host) | index($bdw) != null)
	       and ([.blockers[] | select(.feature == "amx_tile" or .feature == "amx-tile")][0].hosts
	            | map(.host) | index($spr) == null)' "$tmp/baseline.json" >/dev/null ||
		fail "baseline $opts JSON: $(head -c 600 "$tmp/baseline.json")"
done
# With --migratable, invtsc is left out and listed; the policy says migratable.
expect 0 "baseline --migratable" "$hvctl" policy baseline --migratable --json "$@"
jq -e '.policy.migratable == true and (.excluded | index("constant_tsc")) and (.policy.features.constant_tsc == null)' \
	"$tmp/out" >/dev/null || fail "--migratable: $(jq -c '.excluded, .policy.migratable' "$tmp/out")"
expect 0 "baseline" "$hvctl" policy baseline --json "$@"
jq -e '.policy.migratable == false and (.excluded | length == 0) and (.policy.features.constant_tsc == "require")' \
	"$tmp/out" >/dev/null || fail "without --migratable: $(jq -c '.excluded, .policy.migratable' "$tmp/out")"

# The human summary: hosts, the baseline, the blockers table.
expect 0 "baseline, human" "$hvctl" policy baseline "$@"
grep -q "^hosts: *4" "$tmp/out" || fail "no hosts line"
grep -q "^baseline: .*features required, phys_bits [0-9]*, vendor GenuineIntel" "$tmp/out" || fail "no baseline line"
grep -q "^blockers: " "$tmp/out" || fail "no blockers line"
grep -q "^  avx512f  *0 (not_in_host_cpu)" "$tmp/out" || fail "avx512f's blocker does not name Broadwell (host 0)"

# Mixed vendors: exit 1 naming both, unless --vendor-subset (no vendor, a warning, accepted by both).
expect 1 "mixed vendors" "$hvctl" policy baseline "$sky" "$amd"
{ grep -q "AuthenticAMD" "$tmp/err" && grep -q -- "--vendor-subset" "$tmp/err"; } ||
	fail "mixed vendors message: $(cat "$tmp/err")"
expect 0 "mixed vendors, subset" "$hvctl" policy baseline --vendor-subset --json "$sky" "$amd"
jq -e '.policy.vendor == null and (.warnings | length >= 1) and (.policy.features.svm == null)
       and (.policy.features.vmx == null)' "$tmp/out" >/dev/null || fail "vendor subset: $(head -c 400 "$tmp/out")"
grep -q "warning" "$tmp/err" || fail "vendor subset: no warning on stderr"
jq '.policy' "$tmp/out" >"$tmp/subset.json"
for h in "$sky" "$amd"; do
	expect 0 "vendor subset on $(basename "$h")" "$hvctl" policy check "$tmp/subset.json" --host-dump "$h"
done

# Migration: Skylake-SP to Broadwell is blocked by named features; Broadwell to Skylake-SP moves.
expect 1 "Skylake-SP to Broadwell" "$hvctl" policy migrate-check --from "$sky" --to "$bdw" --json
jq -e --arg sky "$sky" --arg bdw "$bdw" '
       .from == $sky and .to == $bdw and .policy.base == "host"
       and .a_to_b.ok == false and .a_to_b.source_verdict == "accepted"
       and ([.a_to_b.blockers[] | select(.feature == "avx512f")][0]
            | .rule == "bit_subset" and .function == 7 and .index == 0 and .register == "ebx"
              and .bits == "16" and .source == 1 and .destination == 0 and .reason == "not_in_host_cpu")
       and all(.a_to_b.blockers[]; (.feature | length > 0) and (.rule | type == "string")
               and (.field | type == "string") and (.detail | length > 0))
       and .b_to_a.ok == true and (.b_to_a.blockers | length == 0)' "$tmp/out" >/dev/null ||
	fail "Skylake-SP to Broadwell: $(head -c 800 "$tmp/out")"
expect 0 "Broadwell to Skylake-SP" "$hvctl" policy migrate-check --from "$bdw" --to "$sky"
grep -q "^A -> B: *OK" "$tmp/out" || fail "no 'A -> B: OK' line"
grep -q "^B -> A: *NO: [0-9]* blockers" "$tmp/out" || fail "no 'B -> A: NO' line"
grep -q "^  avx512f  *bit_subset" "$tmp/out" || fail "avx512f is not in the human table"

# A numeric field: Sapphire Rapids' 52-bit MAXPHYADDR does not fit Coffee Lake's 39 bits.
expect 1 "Sapphire Rapids to Coffee Lake" "$hvctl" policy migrate-check --from "$spr" --to "$cfl" --json
jq -e '[.a_to_b.blockers[] | select(.feature == "phys_bits" and .field == "MAXPHYADDR")][0]
       | .rule == "not_greater" and .source == 52 and .destination == 39 and .bits == "7:0"' "$tmp/out" >/dev/null ||
	fail "MAXPHYADDR blocker: $(jq -c '.a_to_b.blockers' "$tmp/out" | head -c 600)"

# The baseline moves both ways between the hosts it was made for (without a vPMU, which a policy cannot narrow).
expect 0 "baseline, no PMU" "$hvctl" policy baseline --migratable --param enable_pmu=off --json "$@"
jq '.policy' "$tmp/out" >"$tmp/nopmu.json"
for a in "$@"; do
	for b in "$@"; do
		expect 0 "baseline from $(basename "$a") to $(basename "$b")" \
			"$hvctl" policy migrate-check --from "$a" --to "$b" --param enable_pmu=off "$tmp/nopmu.json" --json
		jq -e '.a_to_b.ok and .b_to_a.ok' "$tmp/out" >/dev/null || fail "baseline does not move $a <-> $b"
	done
done

# A policy rejected on the source: no guest to move, exit 1, the problems given.
printf '{"features": {"avx512f": "require"}}\n' >"$tmp/avx512.json"
expect 1 "rejected on the source" "$hvctl" policy migrate-check --from "$bdw" --to "$sky" "$tmp/avx512.json" --json
jq -e '.a_to_b.ok == false and .a_to_b.source_verdict == "rejected" and (.a_to_b.source_problems | length >= 1)
       and (.a_to_b.blockers | length == 0)
       and .b_to_a.ok == false and .b_to_a.source_verdict == "accepted"
       and (.b_to_a.blockers | map(.feature) == ["avx512f"])' "$tmp/out" >/dev/null ||
	fail "rejected on the source: $(head -c 400 "$tmp/out")"

# Exported host records as either end: the same blockers, with the exporting host's reasons.
expect 0 "export Broadwell" "$hvctl" host export --format json --dump "$bdw"
cp "$tmp/out" "$tmp/bdw-record.json"
expect 1 "Skylake-SP to Broadwell's record" "$hvctl" policy migrate-check --from "$sky" --to "$tmp/bdw-record.json" --json
jq -c '[.a_to_b.blockers[] | [.feature, .rule, .reason]]' "$tmp/out" >"$tmp/record-blockers"
expect 1 "Skylake-SP to Broadwell (dumps)" "$hvctl" policy migrate-check --from "$sky" --to "$bdw" --json
jq -c '[.a_to_b.blockers[] | [.feature, .rule, .reason]]' "$tmp/out" >"$tmp/dump-blockers"
cmp -s "$tmp/record-blockers" "$tmp/dump-blockers" ||
	fail "record and dump blockers differ: $(cat "$tmp/record-blockers") vs $(cat "$tmp/dump-blockers")"
expect 0 "Broadwell's record to Skylake-SP" "$hvctl" policy migrate-check --from "$tmp/bdw-record.json" --to "$sky"
printf '{"host": {"backend": "kvm"}}\n' >"$tmp/bad-record.json"
expect 1 "a bad record" "$hvctl" policy migrate-check --from "$sky" --to "$tmp/bad-record.json"
grep -q "bad-record.json: not a usable host record: host" "$tmp/err" || fail "bad record: $(cat "$tmp/err")"

# A VM of hvcapd (on Skylake-SP) as the guest: hvcapd answers, its vCPUs' CPUID checked on Broadwell.
start_daemon sky --host-dump "$sky"
printf '{"base": "host", "vcpus": 2, "migratable": true}\n' >"$tmp/mover.json"
expect 0 "create the VM" "$hvctl" vm create mover "$tmp/mover.json"
expect 1 "VM to Broadwell" "$hvctl" policy migrate-check --to "$bdw" mover --json
jq -e '.vm == "mover" and (.from | test("mover")) and .a_to_b.ok == false and .a_to_b.source_verdict == "accepted"
       and .b_to_a.ok == true' "$tmp/out" >/dev/null || fail "VM to Broadwell: $(head -c 600 "$tmp/out")"
jq -c '[.a_to_b.blockers[] | [.feature, .rule, .reason]]' "$tmp/out" >"$tmp/vm-blockers"
"$hvctl" policy migrate-check --from "$sky" --to "$bdw" "$tmp/mover.json" --json 2>/dev/null |
	jq -c '[.a_to_b.blockers[] | [.feature, .rule, .reason]]' >"$tmp/offline-blockers"
cmp -s "$tmp/vm-blockers" "$tmp/offline-blockers" ||
	fail "VM and offline blockers differ: $(cat "$tmp/vm-blockers") vs $(cat "$tmp/offline-blockers")"
expect 1 "VM to Broadwell's record" "$hvctl" policy migrate-check --to "$tmp/bdw-record.json" mover
grep -q "^A -> B: *NO: [0-9]* blockers" "$tmp/out" || fail "VM to record: no 'A -> B: NO' line"
grep -q "^  avx512f  *bit_subset.*not_in_host_cpu" "$tmp/out" || fail "VM to record: avx512f line"
expect 0 "VM to its own CPU" "$hvctl" policy migrate-check --to "$sky" 1
grep -q "^A -> B: *OK" "$tmp/out" || fail "VM to Skylake-SP: no 'A -> B: OK' line"
expect 2 "VM with --from" "$hvctl" policy migrate-check --from "$bdw" --to "$sky" mover
expect 2 "VM, a record with --param" "$hvctl" policy migrate-check --to "$tmp/bdw-record.json" --param tdp=off mover
expect 1 "no such VM" "$hvctl" policy migrate-check --to "$sky" nosuchvm
grep -q "nosuchvm" "$tmp/err" || fail "the unknown VM is not named: $(cat "$tmp/err")"
expect 2 "VM, a bad host parameter" "$hvctl" policy migrate-check --to "$bdw" --param warp=on mover
stop_daemon

finish
