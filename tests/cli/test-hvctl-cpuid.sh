#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# hvctl cpuid dump/decode through the real binary: exit statuses, error
# messages, JSON shape, both name spellings on every libvirt dump, and
# round trips of this machine's CPUID through every dump format.

. "${HVCAP_SRCDIR:?}/tests/cli/lib.sh"

# Usage errors exit 2 and name the problem.
expect 0 "--help" "$hvctl" --help
expect 0 "--version" "$hvctl" --version
expect 2 "no command" "$hvctl"
expect 2 "unknown command" "$hvctl" frobnicate
expect 2 "unknown subcommand" "$hvctl" cpuid frobnicate
expect 0 "group help" "$hvctl" cpuid --help
expect 0 "decode --help" "$hvctl" cpuid decode --help
grep -q -- "--names" "$tmp/out" || fail "decode --help does not document --names"
expect 2 "unknown option" "$hvctl" cpuid decode --bogus
grep -q "unknown option '--bogus'" "$tmp/err" || fail "unknown option not named"
expect 2 "bad --names" "$hvctl" cpuid decode --names klingon
expect 2 "bad --format" "$hvctl" cpuid decode --format yaml
expect 2 "missing option argument" "$hvctl" cpuid decode --format
expect 2 "two files" "$hvctl" cpuid decode a b
expect 2 "dump takes no file" "$hvctl" cpuid dump somefile
expect 2 "dump --format auto" "$hvctl" cpuid dump --format auto

# Bad dumps exit 1 with the reason (and the line where there is one).
expect 1 "missing file" "$hvctl" cpuid decode "$tmp/nonexistent"
grep -q "nonexistent" "$tmp/err" || fail "missing file not named"
printf '<cpudata arch="x86">\n  <cpuid eax_in="0x0" ecx_in="0x0" eax="0x1" ebx="0x0" ecx="0x0"/>\n</cpudata>\n' >"$tmp/bad.xml"
expect 1 "XML entry missing edx" "$hvctl" cpuid decode "$tmp/bad.xml"
grep -q ":2:" "$tmp/err" || fail "XML error without its line: $(cat "$tmp/err")"
printf 'hello\n' >"$tmp/junk"
expect 1 "unrecognised format" "$hvctl" cpuid decode "$tmp/junk"
: >"$tmp/empty"
expect 1 "empty file" "$hvctl" cpuid decode "$tmp/empty"
printf '{"format": "hvcap-cpu-dump", "version": 1, "cpuid": [' >"$tmp/trunc.json"
expect 1 "truncated JSON" "$hvctl" cpuid decode "$tmp/trunc.json"
expect 1 "a directory" "$hvctl" cpuid decode "$tmp"

# This machine: decode, and every dump format round-trips the features.
expect 0 "decode this machine" "$hvctl" cpuid decode --json
jq -e '.vendor and (.family|type=="number") and (.model|type=="number") and
       (.stepping|type=="number") and (.features|length > 10) and (.unknown_bits|type=="array")' \
	"$tmp/out" >/dev/null || fail "decode --json lacks the documented fields"
jq -c '.features' "$tmp/out" >"$tmp/self.features"
for fmt in json libvirt-xml cpuid-r; do
	expect 0 "dump --format $fmt" "$hvctl" cpuid dump --format "$fmt"
	cp "$tmp/out" "$tmp/self.$fmt"
	expect 0 "decode --format $fmt" "$hvctl" cpuid decode --json --format "$fmt" "$tmp/self.$fmt"
	jq -c '.features' "$tmp/out" | cmp -s - "$tmp/self.features" ||
		fail "features differ after a round trip through $fmt"
	"$hvctl" cpuid decode --json - <"$tmp/self.$fmt" >"$tmp/out" 2>"$tmp/err" ||
		fail "decode from standard input ($fmt)"
done
if command -v cpuid >/dev/null 2>&1; then
	cpuid -r -1 >"$tmp/cpuid-r.txt"
	expect 0 "decode cpuid -r -1" "$hvctl" cpuid decode --json "$tmp/cpuid-r.txt"
	cpuid -r >"$tmp/cpuid-r-all.txt"
	expect 0 "decode cpuid -r (all CPUs)" "$hvctl" cpuid decode "$tmp/cpuid-r-all.txt"
fi

# Every libvirt dump decodes in both spellings; libvirt's -host.xml
# features appear under exactly libvirt's names with --names qemu.
if [ -d "$data" ]; then
	n=0
	for sig in "$data"/*.sig; do
		stem=${sig%.sig}
		name=$(basename "$stem")
		n=$((n + 1))
		expect 0 "$name: decode" "$hvctl" cpuid decode "$stem.xml"
		expect 0 "$name: decode --names qemu --json" "$hvctl" cpuid decode --names qemu --json "$stem.xml"
		cp "$tmp/out" "$tmp/qemu.json"
		expect 0 "$name: decode --json" "$hvctl" cpuid decode --json "$stem.xml"
		[ "$(jq '.features|length' "$tmp/out")" = "$(jq '.features|length' "$tmp/qemu.json")" ] ||
			fail "$name: the two spellings list different numbers of features"
		fam=$(sed -n 's/^family: *\([0-9]*\).*/\1/p' "$sig")
		[ "$(jq .family "$tmp/out")" = "$fam" ] || fail "$name: family differs from .sig"
		for f in $(sed -n "s/^ *<feature name='\([^']*\)'.*/\1/p" "$stem-host.xml"); do
			jq -e --arg f "$f" '.features | index($f)' "$tmp/qemu.json" >/dev/null ||
				fail "$name: -host.xml feature '$f' missing from --names qemu output"
		done
	done
	[ "$n" -eq 12 ] || fail "expected 12 libvirt CPUs, found $n"
else
	echo "note: no libvirt test data at $data; skipped that part"
fi

finish
