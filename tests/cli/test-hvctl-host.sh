#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# hvctl host probe / model / features through the real binary: output
# shape, parameters and their errors, the kernel-version gate on ERAPS,
# the probe on the real /dev/kvm, and the fallback to the model for a
# user who may not open /dev/kvm.

. "${HVCAP_SRCDIR:?}/tests/cli/lib.sh"

# A dump of our own, so the model part runs without ../shared: this machine.
"$hvctl" cpuid dump --format json >"$tmp/self.json" || fail "cpuid dump"

# Usage errors name the parameter and the valid ones.
expect 2 "model without --dump" "$hvctl" host model
expect 2 "unknown parameter" "$hvctl" host model --dump "$tmp/self.json" --param kernl=7.0
grep -q "kernl" "$tmp/err" && grep -q "tdp" "$tmp/err" || fail "unknown parameter not named with the valid ones"
expect 2 "parameter without =" "$hvctl" host model --dump "$tmp/self.json" --param tdp
expect 2 "kernel too old" "$hvctl" host model --dump "$tmp/self.json" --param kernel=5.4
grep -q "6.1" "$tmp/err" || fail "kernel range not stated"
expect 2 "kernel not a version" "$hvctl" host model --dump "$tmp/self.json" --param kernel=latest
expect 2 "bad boolean" "$hvctl" host model --dump "$tmp/self.json" --param nested=perhaps
expect 2 "bad vendor" "$hvctl" host model --dump "$tmp/self.json" --param vendor=via
expect 2 "features --param without --dump" "$hvctl" host features --param tdp=off
expect 2 "bad --names" "$hvctl" host features --names klingon
expect 0 "host --help" "$hvctl" host --help
expect 0 "model --help" "$hvctl" host model --help
grep -q "tsa_fix" "$tmp/out" || fail "model --help does not list every parameter"

# Bad dumps are failures, not usage errors.
printf 'junk\n' >"$tmp/junk"
expect 1 "model of a bad dump" "$hvctl" host model --dump "$tmp/junk"
expect 1 "model of a missing dump" "$hvctl" host model --dump "$tmp/nonexistent"

# The model's JSON shape.
expect 0 "model --json" "$hvctl" host model --dump "$tmp/self.json" --json
jq -e '.backend == "model" and (.params.kernel == "7.0") and (.fingerprint | startswith("hvcap1-"))
       and (.features | length > 10) and (.cpuid | length > 10)
       and all(.cpuid[]; (.function|type)=="number" and (.eax|type)=="number" and (.flags|type)=="number")
       and (.unsupported | length > 0)
       and all(.unsupported[]; (.feature|type)=="string" and (.reason|type)=="string")' \
	"$tmp/out" >/dev/null || fail "model --json lacks the documented fields"
cp "$tmp/out" "$tmp/model.json"
expect 0 "model again" "$hvctl" host model --dump "$tmp/self.json" --json
[ "$(jq -r .fingerprint "$tmp/out")" = "$(jq -r .fingerprint "$tmp/model.json")" ] ||
	fail "the model's fingerprint is not stable"
expect 0 "model with tdp=off" "$hvctl" host model --dump "$tmp/self.json" --json --param tdp=off
[ "$(jq -r .fingerprint "$tmp/out")" != "$(jq -r .fingerprint "$tmp/model.json")" ] ||
	fail "a parameter change did not change the fingerprint"
jq -e '[.cpuid[] | select(.function == 2147483656)][0].eax | (. / 65536 | floor) % 256 == 0' "$tmp/out" >/dev/null ||
	fail "tdp=off still reports GuestPhysBits"
jq -e '.features | index("pdpe1gb")' "$tmp/out" >/dev/null || fail "tdp=off does not force GBPAGES"
expect 0 "model --names qemu" "$hvctl" host model --dump "$tmp/self.json" --json --names qemu
jq -e '.features | index("sse4.1") or (index("sse4_1") | not)' "$tmp/out" >/dev/null ||
	fail "--names qemu did not use libvirt spellings"

# ERAPS: advertised by kernel 7.0 whatever tdp says, not by 6.18 (KVM-SEMANTICS.md §3).
if [ -d "$data" ]; then
	xml="$data/x86_64-cpuid-EPYC-9334-32-Core.xml"
	line=$(grep "eax_in='0x80000021'" "$xml")
	eax=$(echo "$line" | sed "s/.* eax='\(0x[0-9a-f]*\)'.*/\1/")
	new=$(printf "0x%08x" $((eax | 0x01000000)))
	sed "s/\(eax_in='0x80000021' ecx_in='0x00' eax='\)$eax'/\1$new'/; s/\(eax_in='0x80000021' ecx_in='0x00' eax='$new' ebx='\)0x[0-9a-f]*'/\10x00400000'/" \
		"$xml" >"$tmp/eraps.xml"
	expect 0 "decode the ERAPS host" "$hvctl" cpuid decode --json "$tmp/eraps.xml"
	jq -e '.features | index("eraps")' "$tmp/out" >/dev/null || fail "the edited dump lacks ERAPS"
	for tdp in on off; do
		expect 0 "ERAPS host, 7.0, tdp=$tdp" "$hvctl" host model --dump "$tmp/eraps.xml" --json \
			--param kernel=7.0 --param tdp=$tdp
		jq -e '.features | index("eraps")' "$tmp/out" >/dev/null || fail "kernel 7.0 tdp=$tdp does not advertise ERAPS"
		jq -e '[.cpuid[] | select(.function == 2147483681)][0].ebx == 4194304' "$tmp/out" >/dev/null ||
			fail "kernel 7.0 does not pass RapSize alone"
	done
	expect 0 "ERAPS host, 6.18" "$hvctl" host model --dump "$tmp/eraps.xml" --json --param kernel=6.18
	jq -e '(.features | index("eraps") | not) and
	       ([.unsupported[] | select(.feature == "eraps")][0].reason == "kvm_older_than") and
	       ([.unsupported[] | select(.feature == "eraps")][0].detail == "7.0")' "$tmp/out" >/dev/null ||
		fail "kernel 6.18 advertises ERAPS or does not say why"
	expect 0 "features of the ERAPS host" "$hvctl" host features --dump "$tmp/eraps.xml" --param kernel=6.18
	grep -E "^eraps +yes +no +kvm_older_than 7.0" "$tmp/out" >/dev/null || fail "host features does not explain ERAPS"

	# Named features: only those rows, in any spelling; exit 1 unless KVM supports all.
	expect 1 "features eraps sse2 on 6.18" "$hvctl" host features --dump "$tmp/eraps.xml" --param kernel=6.18 \
		ERAPS sse2
	[ "$(grep -cE "^(eraps|sse2) " "$tmp/out")" -eq 2 ] && [ "$(wc -l <"$tmp/out")" -eq 4 ] ||
		fail "features eraps sse2: not exactly their rows: $(cat "$tmp/out")"
	expect 0 "features eraps on 7.0" "$hvctl" host features --dump "$tmp/eraps.xml" --param kernel=7.0 eraps \
		avx512-vnni --json
	jq -e '[.features[].name] | sort == ["avx512_vnni", "eraps"]' "$tmp/out" >/dev/null ||
		fail "features --json with names: $(jq -c '[.features[].name]' "$tmp/out")"
	expect 2 "features with an unknown name" "$hvctl" host features --dump "$tmp/eraps.xml" avx9
	grep -q "unknown feature 'avx9' (did you mean avx" "$tmp/err" || fail "no suggestion: $(cat "$tmp/err")"

	for sig in "$data"/*.sig; do
		stem=${sig%.sig}
		expect 0 "$(basename "$stem"): model" "$hvctl" host model --dump "$stem.xml" --json
	done
fi

# The probe, on the real /dev/kvm.
if [ -c /dev/kvm ] && [ "$(id -u)" -eq 0 ]; then
	expect 0 "probe" "$hvctl" host probe --json
	jq -e '.backend == "kvm" and (.vendor_module | startswith("kvm_")) and (.api_version == 12)
	       and (.cpuid | length > 10) and (.params | length > 0) and (.kvm_caps | length > 0)
	       and (.host_cpuid | length > 10) and (.kernel_flags | index("fpu")) and (.kernel_bugs | type == "array")
	       and (.fingerprint | startswith("hvcap1-"))' "$tmp/out" >/dev/null ||
		fail "probe --json lacks the documented fields"
	cp "$tmp/out" "$tmp/probe.json"
	expect 0 "probe again" "$hvctl" host probe --json
	[ "$(jq -r .fingerprint "$tmp/out")" = "$(jq -r .fingerprint "$tmp/probe.json")" ] ||
		fail "the probe's fingerprint is not stable"
	expect 0 "probe, human" "$hvctl" host probe
	grep -q "^backend: *kvm" "$tmp/out" || fail "probe output has no backend line"
	expect 0 "features" "$hvctl" host features --json
	jq -e '.backend == "kvm" and all(.features[]; (.kvm | not) or .reason == "supported")' "$tmp/out" >/dev/null ||
		fail "features --json is inconsistent"

	# An unprivileged user: the probe says why; features falls back to the model.
	if command -v setpriv >/dev/null 2>&1; then
		chmod 755 "$tmp"
		as_nobody() { setpriv --reuid=nobody --regid=nogroup --clear-groups "$@"; }
		if ! as_nobody test -r /dev/kvm; then
			expect 1 "probe as nobody" as_nobody "$hvctl" host probe
			grep -q "/dev/kvm" "$tmp/err" || fail "the probe's error does not name /dev/kvm"
			expect 0 "features as nobody" as_nobody "$hvctl" host features --json
			grep -q "using the model" "$tmp/err" || fail "features as nobody does not say it fell back"
			jq -e '.backend == "model"' "$tmp/out" >/dev/null || fail "features as nobody did not use the model"
		fi
	fi
else
	echo "note: no /dev/kvm (or not root): probe part skipped"
	expect 0 "features without kvm" "$hvctl" host features
fi

finish
