#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# hvctl host export in its three formats, offline (--dump) and from the
# real hvcapd on a temporary socket: the NFD feature file against NFD's
# and Kubernetes' rules (key syntax, the expiry directive, the 64 KiB
# limit, the atomic --output), every os-trait a valid placement trait and
# the known ones on known dumps, the x86-64 level of the shared dumps, the
# JSON record for baselines, and every kind of bad input.

. "${HVCAP_SRCDIR:?}/tests/cli/lib.sh"

cleanup() {
	stop_daemon
	chmod -R u+w "$tmp" 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT

# check_nfd FILE NS: FILE is a valid NFD local-source feature file whose
# labels are all in NS: comments, the expiry directive (RFC 3339, in the
# future, before every label) and key[=value] lines with a valid
# Kubernetes label key and value, each key once, under 64 KiB.
check_nfd() {
	f=$1
	ns=$2
	size=$(wc -c <"$f")
	[ "$size" -lt 65536 ] || fail "nfd: $f is $size bytes, NFD ignores files over 64 KiB"
	[ "$size" -gt 0 ] || fail "nfd: $f is empty"
	# The first non-comment, non-empty line comes after the directive.
	first_label=$(grep -n -v '^#' "$f" | head -1 | cut -d: -f1)
	directive=$(grep -n '^# +' "$f" | head -1 | cut -d: -f1)
	[ -n "$directive" ] && [ "$directive" -lt "${first_label:-0}" ] ||
		fail "nfd: no '# +expiry-time=' before the first label in $f"
	grep '^# +' "$f" | grep -v -q '^# +expiry-time=' && fail "nfd: a directive other than expiry-time"
	when=$(sed -n 's/^# +expiry-time=//p' "$f")
	[ "$(echo "$when" | wc -l)" -eq 1 ] || fail "nfd: not one expiry-time directive"
	echo "$when" | grep -Eq '^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]+)?(Z|[+-][0-9]{2}:[0-9]{2})$' ||
		fail "nfd: expiry-time '$when' is not RFC 3339"
	t=$(date -u -d "$when" +%s 2>/dev/null) || fail "nfd: date cannot parse '$when'"
	[ "${t:-0}" -gt "$(date -u +%s)" ] || fail "nfd: expiry-time $when is not in the future"
	# key[=value]: prefix a DNS-1123 subdomain of at most 253, name and
	# value [A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])? of at most 63.
	grep -v '^#' "$f" | grep -v '^$' >"$tmp/labels" || fail "nfd: no labels in $f"
	bad=$(awk -F= '
		{
			key = $1; value = (NF > 1) ? substr($0, length($1) + 2) : "true"
			n = index(key, "/"); prefix = substr(key, 1, n - 1); name = substr(key, n + 1)
			ok = n > 1 && length(prefix) <= 253 && prefix ~ /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/
			ok = ok && length(name) <= 63 && name ~ /^[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/
			ok = ok && length(value) <= 63 && (value == "" || value ~ /^[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/)
			if (!ok) print
		}' "$tmp/labels")
	[ -z "$bad" ] || fail "nfd: invalid label lines: $(echo "$bad" | head -3)"
	grep -v -q "^$ns/" "$tmp/labels" && fail "nfd: labels outside $ns: $(grep -v "^$ns/" "$tmp/labels" | head -2)"
	dups=$(cut -d= -f1 "$tmp/labels" | sort | uniq -d)
	[ -z "$dups" ] || fail "nfd: keys given twice: $dups"
}

# check_traits FILE: one valid placement trait per line, sorted, each once.
check_traits() {
	[ -s "$1" ] || fail "os-traits: no traits"
	bad=$(grep -E -v '^(HW_CPU_X86_[A-Z0-9_]+|CUSTOM_[A-Z0-9_]+)$' "$1")
	[ -z "$bad" ] || fail "os-traits: invalid trait names: $(echo "$bad" | head -3)"
	long=$(awk 'length($0) > 255' "$1")
	[ -z "$long" ] || fail "os-traits: names over 255 characters"
	sort -u "$1" | cmp -s - "$1" || fail "os-traits: not sorted and unique"
}

# A synthetic AMD host with every CPUID bit set but the vendor, the
# maximum leaves, topology and sizes: as many features as KVM can offer.
jq -n '
def ones(f; i): {function: f, index: i, flags: 1, eax: 4294967295, ebx: 4294967295, ecx: 4294967295, edx: 4294967295};
{format: "hvcap-cpu-dump", version: 1, cpuid: (
  [{function: 0, index: 0, flags: 0, eax: 36, ebx: 1752462657, ecx: 1145913699, edx: 1769238117}]
  + [range(1; 37) | select(. != 2 and . != 4 and . != 11 and . != 13 and . != 31) as $f | range(0; 3) | ones($f; .)]
  + [{function: 2147483648, index: 0, flags: 0, eax: 2147483688, ebx: 0, ecx: 0, edx: 0}]
  + [range(2147483649; 2147483689) | select(. != 2147483656 and . != 2147483677 and . != 2147483678) | ones(.; 0)]
  + [{function: 2147483656, index: 0, flags: 0, eax: 12336, ebx: 4294967295, ecx: 0, edx: 0}]
)}' >"$tmp/rich.json" || fail "jq could not write the synthetic dump"
rich="--dump $tmp/rich.json --param sev=on --param sev_es=on --param snp=on --param avic=on"

# --- The trait table: every row names a catalog feature, and hvctl.1 lists
# exactly the table's rows.
sed -n '/^} os_traits\[\] = {/,/^};/s/^[[:space:]]*{ "\([a-z0-9_]*\)",[[:space:]]*"\([A-Z0-9_]*\)",.*/\1 \2/p' \
	"$HVCAP_SRCDIR/cli/cmd-host-export.c" >"$tmp/table"
[ "$(wc -l <"$tmp/table")" -ge 50 ] || fail "found only $(wc -l <"$tmp/table") rows in cli/cmd-host-export.c's os_traits"
"$hvctl" complete features >"$tmp/catalog"
sed -n '/^marked AMD only/,/^\.fi/p' "$HVCAP_SRCDIR/man/hvctl.1" | grep '^[a-z0-9_]* *HW_CPU_X86_' |
	sed 's/ *(AMD)$//; s/ *(Intel)$//' | awk '{ for (i = 2; i <= NF; i++) print $1, $i }' >"$tmp/man-table"
sort "$tmp/table" | cmp -s - "$(sort "$tmp/man-table" >"$tmp/man-sorted"; echo "$tmp/man-sorted")" ||
	fail "hvctl.1's trait table is not cli/cmd-host-export.c's: $(sort "$tmp/table" | diff - "$tmp/man-sorted" | head -5)"
while read -r feature trait; do
	grep -qx "$feature" "$tmp/catalog" || fail "os_traits: $feature ($trait) is not a catalog feature"
done <"$tmp/table"

# --- Usage errors: exit 2, with the reason.
expect 0 "--help" "$hvctl" host export --help
for w in nfd os-traits json hvcap.io --nfd-namespace --output --expiry; do
	grep -q -- "$w" "$tmp/out" || fail "--help does not mention $w"
done
expect 2 "unknown --format" "$hvctl" host export --format xml
grep -q "unknown format 'xml' (json, nfd or os-traits)" "$tmp/err" || fail "unknown format: $(cat "$tmp/err")"
for ns in Bad_NS -lead.example trail-.example a..b example.com. kubernetes.io node.kubernetes.io \
	"$(printf 'a%.0s' $(seq 1 64)).example" "$(printf 'abcdefgh.%.0s' $(seq 1 28))io"; do
	expect 2 "--nfd-namespace '$ns'" "$hvctl" host export --format nfd --nfd-namespace "$ns" $rich
	grep -q -- "--nfd-namespace" "$tmp/err" || fail "bad namespace '$ns' not named: $(cat "$tmp/err")"
done
for d in 0 1y 367d "" 1.5h -1h; do
	expect 2 "--expiry '$d'" "$hvctl" host export --format nfd --expiry "$d" $rich
done
expect 2 "--output with json" "$hvctl" host export --output "$tmp" $rich
expect 2 "--nfd-namespace with os-traits" "$hvctl" host export --format os-traits --nfd-namespace example.com $rich
expect 2 "--names with nfd" "$hvctl" host export --format nfd --names qemu $rich
expect 2 "--names klingon" "$hvctl" host export --names klingon $rich
expect 2 "--param without --dump" "$hvctl" host export --param avic=on
expect 2 "--output to a dot file" "$hvctl" host export --format nfd --output "$tmp/.hidden" $rich
grep -q "dot files" "$tmp/err" || fail "dot file: $(cat "$tmp/err")"
[ ! -e "$tmp/.hidden" ] || fail "a dot file was written"
expect 2 "an argument" "$hvctl" host export --format nfd extra $rich
expect 2 "a bad --param" "$hvctl" host export --format nfd --dump "$tmp/rich.json" --param avic=sometimes
expect 1 "a bad dump" "$hvctl" host export --format nfd --dump "$tmp/nonexistent.json"

# --- The synthetic rich host: valid files, namespaces, the size limit.
expect 0 "nfd of the rich host" "$hvctl" host export --format nfd $rich
cp "$tmp/out" "$tmp/rich.nfd"
check_nfd "$tmp/rich.nfd" hvcap.io
for l in kvm-avic kvm-x2avic kvm-eraps kvm-sev-snp cpu-avx512f cpu-svm cpu-sev_snp; do
	grep -q "^hvcap.io/$l=true\$" "$tmp/rich.nfd" || fail "nfd: no $l label on the rich host"
done
grep -q '^hvcap.io/x86-64-level=4$' "$tmp/rich.nfd" || fail "nfd: rich host not at level 4"
grep -Eq '^hvcap.io/fingerprint=hvcap1-[0-9a-f]{16}$' "$tmp/rich.nfd" || fail "nfd: no fingerprint label"
n_kvm=$("$hvctl" host model $rich --json | jq '.features | length')
[ "$(grep -c '^hvcap.io/cpu-' "$tmp/rich.nfd")" -eq "$n_kvm" ] || fail "nfd: not one cpu- label per KVM-supported feature"
expect 0 "nfd --nfd-namespace" "$hvctl" host export --format nfd --nfd-namespace nodes.example.com $rich
check_nfd "$tmp/out" nodes.example.com
expect 0 "nfd in NFD's own namespace" "$hvctl" host export --format nfd --nfd-namespace feature.node.kubernetes.io $rich
check_nfd "$tmp/out" feature.node.kubernetes.io
# The longest namespace there is makes the rich host's file too big for NFD.
long="$(printf 'a%.0s' $(seq 1 63)).$(printf 'b%.0s' $(seq 1 63)).$(printf 'c%.0s' $(seq 1 63)).$(printf 'd%.0s' $(seq 1 61))"
[ "${#long}" -eq 253 ] || fail "the long namespace is ${#long} characters"
expect 1 "nfd over 64 KiB" "$hvctl" host export --format nfd --nfd-namespace "$long" $rich
grep -q "65536" "$tmp/err" || fail "the size refusal does not say the limit: $(cat "$tmp/err")"
[ ! -s "$tmp/out" ] || fail "a part of an oversized file was printed"
# --expiry: the directive is that far away.
expect 0 "nfd --expiry 2d" "$hvctl" host export --format nfd --expiry 2d $rich
when=$(sed -n 's/^# +expiry-time=//p' "$tmp/out")
delta=$(($(date -u -d "$when" +%s) - $(date -u +%s)))
[ "$delta" -gt $((2 * 86400 - 120)) ] && [ "$delta" -le $((2 * 86400)) ] || fail "--expiry 2d: $when is ${delta}s away"
expect 0 "nfd, default expiry" "$hvctl" host export --format nfd $rich
when=$(sed -n 's/^# +expiry-time=//p' "$tmp/out")
delta=$(($(date -u -d "$when" +%s) - $(date -u +%s)))
[ "$delta" -gt $((3600 - 120)) ] && [ "$delta" -le 3600 ] || fail "default expiry: $when is ${delta}s away, not 1 h"

# --- --output: atomic, into a directory or as a file, replacing the old one.
mkdir "$tmp/features.d"
printf 'hvcap.io/stale=true\n' >"$tmp/features.d/hvcap"
ino=$(stat -c %i "$tmp/features.d/hvcap")
expect 0 "nfd --output DIR" "$hvctl" host export --format nfd --output "$tmp/features.d" $rich
[ ! -s "$tmp/out" ] || fail "--output also printed to stdout"
[ -f "$tmp/features.d/hvcap" ] || fail "--output DIR: no file hvcap"
check_nfd "$tmp/features.d/hvcap" hvcap.io
grep -q stale "$tmp/features.d/hvcap" && fail "--output: the previous file was not replaced"
[ "$(stat -c %i "$tmp/features.d/hvcap")" != "$ino" ] || fail "--output: written in place, not renamed"
[ "$(stat -c %a "$tmp/features.d/hvcap")" = 644 ] || fail "--output: mode $(stat -c %a "$tmp/features.d/hvcap")"
grep -v '^#' "$tmp/rich.nfd" >"$tmp/a"
grep -v '^#' "$tmp/features.d/hvcap" >"$tmp/b"
cmp -s "$tmp/a" "$tmp/b" || fail "--output: other labels than on stdout"
expect 0 "nfd --output FILE" "$hvctl" host export --format nfd --output "$tmp/features.d/kvm" --nfd-namespace example.com $rich
check_nfd "$tmp/features.d/kvm" example.com
[ -z "$(ls -A "$tmp/features.d" | grep '^\.')" ] || fail "--output left dot files: $(ls -A "$tmp/features.d")"
[ "$(ls -A "$tmp/features.d" | wc -l)" -eq 2 ] || fail "--output: files $(ls -A "$tmp/features.d")"
# A refused file leaves the previous one alone.
cp "$tmp/features.d/hvcap" "$tmp/before"
expect 1 "nfd --output over 64 KiB" "$hvctl" host export --format nfd --output "$tmp/features.d" --nfd-namespace "$long" $rich
cmp -s "$tmp/before" "$tmp/features.d/hvcap" || fail "a refused file replaced the previous one"
[ -z "$(ls -A "$tmp/features.d" | grep '^\.')" ] || fail "a refused file left a dot file"
# Directories that cannot take the file: exit 1, naming them.
expect 1 "--output into a missing directory" "$hvctl" host export --format nfd --output "$tmp/missing/hvcap" $rich
grep -q "$tmp/missing" "$tmp/err" || fail "missing directory not named: $(cat "$tmp/err")"
expect 1 "--output into a missing DIR/" "$hvctl" host export --format nfd --output "$tmp/missing/" $rich
: >"$tmp/plain"
expect 1 "--output under a file" "$hvctl" host export --format nfd --output "$tmp/plain/hvcap" $rich
if command -v setpriv >/dev/null 2>&1 && [ "$(id -u)" -eq 0 ]; then
	chmod 0711 "$tmp"
	chmod 0644 "$tmp/rich.json"
	mkdir "$tmp/locked"
	chmod 0555 "$tmp/locked"
	expect 1 "--output into an unwritable directory" setpriv --reuid=nobody --regid=nogroup --clear-groups \
		"$hvctl" host export --format nfd --output "$tmp/locked" $rich
	grep -q "cannot create a file in $tmp/locked: Permission denied" "$tmp/err" ||
		fail "unwritable directory: $(cat "$tmp/err")"
	[ -z "$(ls -A "$tmp/locked")" ] || fail "something was written into the unwritable directory"
fi

# --- os-traits of the rich host.
expect 0 "os-traits of the rich host" "$hvctl" host export --format os-traits $rich
cp "$tmp/out" "$tmp/rich.traits"
check_traits "$tmp/rich.traits"
for t in HW_CPU_X86_AMD_SVM HW_CPU_X86_SVM HW_CPU_X86_AMD_SEV HW_CPU_X86_AMD_SEV_ES HW_CPU_X86_AMD_SEV_SNP \
	HW_CPU_X86_AVX512F HW_CPU_X86_AVX2 HW_CPU_X86_SSE42 CUSTOM_HVCAP_ERAPS CUSTOM_HVCAP_X86_64_V1 \
	CUSTOM_HVCAP_X86_64_V4 CUSTOM_HVCAP_KVM_AVIC CUSTOM_HVCAP_KVM_X2AVIC; do
	grep -qx "$t" "$tmp/rich.traits" || fail "os-traits: no $t on the rich host"
done
# A feature with a standard trait gets no custom one, and Intel's traits stay on Intel hosts.
for t in CUSTOM_HVCAP_AVX2 CUSTOM_HVCAP_SVM CUSTOM_HVCAP_SSE4_2 HW_CPU_X86_INTEL_VMX HW_CPU_X86_INTEL_PCID; do
	grep -qx "$t" "$tmp/rich.traits" && fail "os-traits: $t on the rich AMD host"
done
grep -qx CUSTOM_HVCAP_PCID "$tmp/rich.traits" || fail "os-traits: pcid on AMD is not a custom trait"

# --- json: the inventory and the whole host record, offline.
expect 0 "json of the rich host" "$hvctl" host export $rich
jq -e '.level == 4 and .host.level == 4 and .host.avic and .host.x2avic
       and .fingerprint == .host.fingerprint and (.host.fingerprint | startswith("hvcap1-"))
       and (.host.cpuid | length > 10) and (.host.features | length) == (.features | length)
       and (.host | has("backend") and has("kernel_release") and has("vendor_module") and has("params"))
       and (.withheld | type == "array") and .source == $dump' --arg dump "$tmp/rich.json" "$tmp/out" >/dev/null ||
	fail "json export: $(head -c 400 "$tmp/out")"

if [ ! -d "$data" ]; then
	echo "SKIP: no CPU dumps in ${HVCAP_TESTDATA:-\$HVCAP_TESTDATA}"
	exit 77
fi

# --- The x86-64 level of the shared dumps: Core 2 lacks POPCNT and SSE4.2
# (v1), Westmere has them but no AVX (v2), Zen 1 has AVX2 but no AVX-512
# (v3), Skylake-SP and Zen 4 have AVX-512 (v4).
for pair in Core2-Q9500:1 Core-i5-650:2 Atom-P5362:2 EPYC-7601-32-Core:3 Core-i7-8700:3 \
	Xeon-Gold-5115:4 EPYC-9334-32-Core:4 Xeon-6788P:4; do
	name=${pair%:*}
	want=${pair#*:}
	dump="$data/x86_64-cpuid-$name.xml"
	got=$("$hvctl" host model --dump "$dump" --json | jq .level)
	[ "$got" = "$want" ] || fail "$name: host model level $got, want $want"
	"$hvctl" host export --format nfd --dump "$dump" >"$tmp/$name.nfd" || fail "$name: nfd export"
	check_nfd "$tmp/$name.nfd" hvcap.io
	grep -qx "hvcap.io/x86-64-level=$want" "$tmp/$name.nfd" || fail "$name: nfd level label"
	"$hvctl" host export --format os-traits --dump "$dump" >"$tmp/$name.traits" || fail "$name: os-traits export"
	check_traits "$tmp/$name.traits"
	grep -qx "CUSTOM_HVCAP_X86_64_V$want" "$tmp/$name.traits" || fail "$name: no CUSTOM_HVCAP_X86_64_V$want"
	grep -qx "CUSTOM_HVCAP_X86_64_V$((want + 1))" "$tmp/$name.traits" && fail "$name: a level above $want"
	"$hvctl" host export --dump "$dump" >"$tmp/$name.json" || fail "$name: json export"
	jq -e --argjson l "$want" '.level == $l and .host.level == $l' "$tmp/$name.json" >/dev/null ||
		fail "$name: json level"
done
# Old CPUs lack AVX: level 2 or lower; modern ones with AVX-512: 4.
grep -q '^hvcap.io/cpu-avx=' "$tmp/Core-i5-650.nfd" && fail "Core-i5-650 has an avx label"
grep -q '^hvcap.io/cpu-avx512f=true$' "$tmp/Xeon-Gold-5115.nfd" || fail "Xeon-Gold-5115 has no avx512f label"

# Known traits of known hosts.
grep -qx HW_CPU_X86_AMD_SVM "$tmp/EPYC-7601-32-Core.traits" || fail "EPYC-7601: no HW_CPU_X86_AMD_SVM"
grep -qx HW_CPU_X86_SVM "$tmp/EPYC-7601-32-Core.traits" || fail "EPYC-7601: no HW_CPU_X86_SVM"
grep -q '^HW_CPU_X86_INTEL_' "$tmp/EPYC-7601-32-Core.traits" && fail "EPYC-7601: an Intel trait"
grep -qx HW_CPU_X86_AMD_SEV "$tmp/EPYC-7601-32-Core.traits" && fail "EPYC-7601: SEV without sev=on"
for t in HW_CPU_X86_AVX2 HW_CPU_X86_VMX HW_CPU_X86_INTEL_VMX HW_CPU_X86_AESNI HW_CPU_X86_SSE41; do
	grep -qx "$t" "$tmp/Core-i7-8700.traits" || fail "Core-i7-8700: no $t"
done
grep -q '^HW_CPU_X86_AMD_' "$tmp/Core-i7-8700.traits" && fail "Core-i7-8700: an AMD trait"
grep -qx HW_CPU_X86_AVX "$tmp/Core-i5-650.traits" && fail "Core-i5-650: HW_CPU_X86_AVX"
zen1="$data/x86_64-cpuid-EPYC-7601-32-Core.xml"
expect 0 "EPYC-7601 with SEV" "$hvctl" host export --format os-traits --dump "$zen1" --param sev=on
grep -qx HW_CPU_X86_AMD_SEV "$tmp/out" || fail "EPYC-7601 sev=on: no HW_CPU_X86_AMD_SEV"
expect 0 "EPYC-7601 with AVIC" "$hvctl" host export --format nfd --dump "$zen1" --param avic=on
grep -qx hvcap.io/kvm-avic=true "$tmp/out" || fail "EPYC-7601 avic=on: no kvm-avic label"
grep -q kvm-x2avic "$tmp/out" && fail "EPYC-7601 (no x2AVIC): a kvm-x2avic label"

# --- From hvcapd: the same answers as offline, and the level in the host record.
start_daemon hvcapd --host-dump "$zen1" --param avic=on
expect 0 "host show --json" "$hvctl" host show --json
"$hvctl" host model --dump "$zen1" --param avic=on --json >"$tmp/offline.json" || fail "host model"
for k in level avic x2avic fingerprint; do
	[ "$(jq -c ".host.$k" "$tmp/out")" = "$(jq -c ".$k" "$tmp/offline.json")" ] ||
		fail "host show: $k $(jq -c ".host.$k" "$tmp/out") vs offline $(jq -c ".$k" "$tmp/offline.json")"
done
jq -e '.host.level == 3 and .host.avic and (.host.x2avic | not)' "$tmp/out" >/dev/null || fail "host show: level/avic"
expect 0 "host show" "$hvctl" host show
grep -q '^x86-64 level: *x86-64-v3$' "$tmp/out" || fail "host show: no level line"
grep -q '^AVIC: *on, xAVIC only' "$tmp/out" || fail "host show: no AVIC line"
expect 0 "host model (human)" "$hvctl" host model --dump "$zen1"
grep -q '^x86-64 level: *x86-64-v3$' "$tmp/out" || fail "host model: no level line"

expect 0 "online nfd" "$hvctl" host export --format nfd
check_nfd "$tmp/out" hvcap.io
grep -q "from hvcapd at unix:$tmp/hvcapd.sock" "$tmp/out" || fail "online nfd: source not said"
grep -v '^#' "$tmp/out" >"$tmp/a"
"$hvctl" host export --format nfd --dump "$zen1" --param avic=on | grep -v '^#' >"$tmp/b"
cmp -s "$tmp/a" "$tmp/b" || fail "nfd: hvcapd's and the offline labels differ"
expect 0 "online os-traits" "$hvctl" host export --format os-traits
"$hvctl" host export --format os-traits --dump "$zen1" --param avic=on >"$tmp/b"
cmp -s "$tmp/out" "$tmp/b" || fail "os-traits: hvcapd's and the offline traits differ"
expect 0 "online json (the default)" "$hvctl" host export
jq -S 'del(.source)' "$tmp/out" >"$tmp/a"
"$hvctl" host export --dump "$zen1" --param avic=on | jq -S 'del(.source)' >"$tmp/b"
cmp -s "$tmp/a" "$tmp/b" || fail "json: hvcapd's and the offline export differ"
jq -e --arg fp "$(jq -r .fingerprint "$tmp/offline.json")" \
	'.fingerprint == $fp and .host.fingerprint == $fp and .level == 3' "$tmp/out" >/dev/null || fail "online json"
expect 0 "online json --names qemu" "$hvctl" host export --format json --names qemu
jq -e '.features | index("sse4.1")' "$tmp/out" >/dev/null || fail "json --names qemu: no sse4.1"
expect 0 "online nfd --output" "$hvctl" host export --format nfd --output "$tmp/features.d"
check_nfd "$tmp/features.d/hvcap" hvcap.io
grep -qx hvcap.io/kvm-avic=true "$tmp/features.d/hvcap" || fail "online --output: no kvm-avic"
stop_daemon

# No hvcapd: said, and this machine is exported instead.
export HVCAP_ADDRESS="unix:$tmp/no-hvcapd"
"$hvctl" host export --format os-traits >"$tmp/out" 2>"$tmp/err"
grep -q "no hvcapd answers at unix:$tmp/no-hvcapd" "$tmp/err" || fail "no hvcapd: not said: $(cat "$tmp/err")"
check_traits "$tmp/out"

finish
