#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# hvctl policy check through the real binary: exit statuses (0 accepted,
# 1 rejected, 2 usage or unreadable policy), the JSON contract, every
# shipped example, and the ERAPS verdicts by kernel version on a Zen 5
# derived from a real Zen 4 dump.

. "${HVCAP_SRCDIR:?}/tests/cli/lib.sh"
examples="${HVCAP_SRCDIR:?}/examples"

"$hvctl" cpuid dump --format json >"$tmp/self.json" || fail "cpuid dump"
printf '{"name": "empty"}\n' >"$tmp/empty.json"

# Usage errors and unreadable policies exit 2, naming what is wrong.
expect 2 "no policy" "$hvctl" policy check
expect 2 "two policies" "$hvctl" policy check a.json b.json
expect 2 "--param without --host-dump" "$hvctl" policy check "$tmp/empty.json" --param tdp=off
expect 2 "bad host param" "$hvctl" policy check "$tmp/empty.json" --host-dump "$tmp/self.json" --param tdp=sometimes
expect 2 "missing policy file" "$hvctl" policy check "$tmp/nonexistent.json"
printf '{"vcpus": "8"}\n' >"$tmp/bad-type.json"
expect 2 "wrong type" "$hvctl" policy check "$tmp/bad-type.json" --host-dump "$tmp/self.json"
grep -q "vcpus" "$tmp/err" || fail "wrong type not named by its path: $(cat "$tmp/err")"
printf '{"features": {"avx2": "demand"}}\n' >"$tmp/bad-policy.json"
expect 2 "bad feature policy" "$hvctl" policy check "$tmp/bad-policy.json" --host-dump "$tmp/self.json"
grep -q "features.avx2" "$tmp/err" || fail "bad feature policy not named by its path: $(cat "$tmp/err")"
printf '{"name": "a", "name": "b"}\n' >"$tmp/dup.json"
expect 2 "duplicate key" "$hvctl" policy check "$tmp/dup.json" --host-dump "$tmp/self.json"
printf '{"name": "x", "colour": "blue"}\n' >"$tmp/unknown-key.json"
expect 2 "unknown key" "$hvctl" policy check "$tmp/unknown-key.json" --host-dump "$tmp/self.json"
grep -q "colour" "$tmp/err" || fail "unknown key not named"
printf '{"name": ' >"$tmp/trunc.json"
expect 2 "truncated policy" "$hvctl" policy check "$tmp/trunc.json" --host-dump "$tmp/self.json"

# An empty policy is accepted everywhere; the JSON contract holds.
expect 0 "empty policy" "$hvctl" policy check "$tmp/empty.json" --host-dump "$tmp/self.json" --json
jq -e '.verdict == "accepted" and (.problems | length == 0) and (.warnings | type == "array")
       and (.guest.features | type == "array") and (.guest.cpuid | length > 10)
       and all(.guest.cpuid[]; (.function|type)=="number" and (.flags|type)=="number")
       and (.guest.phys_bits | type == "number")
       and (.controls.erap_ctl.allow_larger_rap | type == "boolean")
       and (.controls.erap_ctl.clear_rap | type == "boolean")
       and (.controls.apic_access_memslot | IN("enabled", "inhibited_when_x2apic", "not_used"))
       and (.controls.apicv_inhibits | type == "array") and (.controls.cr3_lam_bits | type == "array")
       and (.controls.snp_safe_control_pages | type == "boolean")' "$tmp/out" >/dev/null ||
	fail "the evaluation JSON lacks the documented fields"

# A rejection: exit 1, problems with feature, policy, reason, detail and location.
printf '{"features": {"avx513": "require", "lam": "require"}, "vendor": "amd"}\n' >"$tmp/reject.json"
expect 1 "rejected policy" "$hvctl" policy check "$tmp/reject.json" --host-dump "$tmp/self.json" --json
jq -e '.verdict == "rejected"
       and ([.problems[] | select(.feature == "avx513")][0] | .reason == "unknown_feature" and (.detail | test("avx512")))
       and ([.problems[] | select(.feature == "lam")][0] | .policy == "require" and (.function == 7) and (.index == 1)
            and (.register == "eax") and (.bit == 26))' "$tmp/out" >/dev/null ||
	fail "rejection JSON: $(head -c 600 "$tmp/out")"
expect 1 "rejected, human" "$hvctl" policy check "$tmp/reject.json" --host-dump "$tmp/self.json"
grep -q "^verdict: *REJECTED" "$tmp/out" || fail "no REJECTED verdict line"
grep -q "did you mean" "$tmp/out" || fail "no suggestion for the unknown feature"

# --names qemu spells features the libvirt way.
printf '{"features": {"sse4_1": "optional", "pclmulqdq": "optional"}}\n' >"$tmp/names.json"
expect 0 "qemu names" "$hvctl" policy check "$tmp/names.json" --host-dump "$tmp/self.json" --json --names qemu
jq -e '(.guest.features | index("sse4_1") | not)' "$tmp/out" >/dev/null || fail "--names qemu kept Linux names"

# Every example parses and evaluates (accepted or rejected, never unreadable).
for p in "$examples"/*.json; do
	"$hvctl" policy check "$p" --host-dump "$tmp/self.json" --json >"$tmp/out" 2>"$tmp/err"
	rc=$?
	[ "$rc" -eq 0 ] || [ "$rc" -eq 1 ] || fail "example $(basename "$p"): exit $rc: $(cat "$tmp/err")"
done

# ERAPS on a Zen 5 derived from the EPYC-9334 dump: 7.0 accepts (TDP or not), 6.18 rejects.
if [ -d "$data" ]; then
	xml="$data/x86_64-cpuid-EPYC-9334-32-Core.xml"
	line=$(grep "eax_in='0x80000021'" "$xml")
	eax=$(echo "$line" | sed "s/.* eax='\(0x[0-9a-f]*\)'.*/\1/")
	new=$(printf "0x%08x" $((eax | 0x01000000)))
	sed "s/\(eax_in='0x80000021' ecx_in='0x00' eax='\)$eax'/\1$new'/; s/\(eax_in='0x80000021' ecx_in='0x00' eax='$new' ebx='\)0x[0-9a-f]*'/\10x00400000'/" \
		"$xml" >"$tmp/zen5.xml"
	printf '{"vendor": "AuthenticAMD", "features": {"eraps": "require"}, "apic": "x2apic"}\n' >"$tmp/eraps.json"
	for tdp in on off; do
		expect 0 "ERAPS on 7.0, tdp=$tdp" "$hvctl" policy check "$tmp/eraps.json" --host-dump "$tmp/zen5.xml" \
			--param kernel=7.0 --param tdp=$tdp --json
		jq -e '.controls.erap_ctl.allow_larger_rap == true' "$tmp/out" >/dev/null ||
			fail "ERAPS guest without ALLOW_LARGER_RAP (tdp=$tdp)"
	done
	expect 1 "ERAPS on 6.18" "$hvctl" policy check "$tmp/eraps.json" --host-dump "$tmp/zen5.xml" --param kernel=6.18 --json
	jq -e '[.problems[] | select(.feature == "eraps")][0] | .reason == "not_supported_by_kvm" and .rule == "kvm_older_than_7.0"' \
		"$tmp/out" >/dev/null || fail "6.18 rejection lacks rule kvm_older_than_7.0: $(head -c 400 "$tmp/out")"

	# Hybrid AVIC (Zen 1): an x2APIC guest deletes the APIC access memslot for good.
	expect 0 "x2APIC on hybrid AVIC" "$hvctl" policy check "$tmp/empty.json" \
		--host-dump "$data/x86_64-cpuid-EPYC-7601-32-Core.xml" --param avic=on --json
	jq -e '.controls.apic_access_memslot == "enabled"' "$tmp/out" >/dev/null || fail "xAPIC guest lost the memslot"
	printf '{"apic": "x2apic", "vcpus": 300}\n' >"$tmp/x2apic.json"
	expect 0 "x2APIC on hybrid AVIC" "$hvctl" policy check "$tmp/x2apic.json" \
		--host-dump "$data/x86_64-cpuid-EPYC-7601-32-Core.xml" --param avic=on --json
	jq -e '.controls.apic_access_memslot == "inhibited_when_x2apic" and
	       (.controls.apicv_inhibits | index("PHYSICAL_ID_TOO_BIG"))' "$tmp/out" >/dev/null ||
		fail "hybrid AVIC predictions: $(jq -c .controls "$tmp/out")"
fi

# This machine (probe, or the model without /dev/kvm).
"$hvctl" policy check "$tmp/empty.json" >"$tmp/out" 2>"$tmp/err"
rc=$?
[ "$rc" -eq 0 ] || fail "empty policy on this machine: exit $rc: $(cat "$tmp/err")"
grep -q "^host: *this machine" "$tmp/out" || fail "no host line for this machine"

finish
