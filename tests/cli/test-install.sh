#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# libhvcap as another program gets it: `make install` into a scratch root,
# pkg-config pointed into it, every installed header compiled on its own,
# the exported symbols, and examples/control/query.c built with nothing
# but `cc $(pkg-config --cflags --libs hvcap)` and run against a control
# file that tests/unit/control-fixture writes and against a real hvcapd's.
# A sanitizer build passes its flags in $HVCAP_SAN_CFLAGS (the library
# needs their runtime).

. "${HVCAP_SRCDIR:?}/tests/cli/common.sh"
san="${HVCAP_SAN_CFLAGS:-}"

for tool in make pkg-config cc nm; do
	if ! command -v "$tool" >/dev/null 2>&1; then
		echo "SKIP: $tool is not installed (scripts/quickstart.sh installs it)"
		exit 77
	fi
done

root="$tmp/root"
install_build "$root"

pc=$(find "$root" -name hvcap.pc -path '*/pkgconfig/*' | head -1)
if [ -z "$pc" ]; then
	echo "FAIL: no hvcap.pc installed"
	exit 1
fi
pcdir=$(dirname "$pc")
libdir=$(dirname "$pcdir")
export PKG_CONFIG_PATH="$pcdir"
export PKG_CONFIG_SYSROOT_DIR="$root"

# ---- pkg-config ----------------------------------------------------------
pkg-config --exists hvcap || fail "pkg-config does not find hvcap in $pcdir"
[ "$(pkg-config --modversion hvcap)" = "$(sed -n 's/^Version: *//p' "$pc")" ] || fail "--modversion"
cflags=$(pkg-config --cflags hvcap)
libs=$(pkg-config --libs hvcap)
case " $cflags " in
*" -I$root/"*/include" "*) ;;
*) fail "--cflags '$cflags' does not point into $root" ;;
esac
case " $libs " in
*" -L$libdir "*"-lhvcap "*) ;;
*) fail "--libs '$libs' is not -L$libdir -lhvcap" ;;
esac
grep -q '^Requires.private:.*json-c' "$pc" || fail "hvcap.pc: json-c is not in Requires.private"
grep -q '^Requires.private:.*expat' "$pc" || fail "hvcap.pc: expat is not in Requires.private"
incdir=${cflags#-I}
incdir=${incdir%% *}

# ---- the library ---------------------------------------------------------
[ -e "$libdir/libhvcap.so.0" ] || fail "no libhvcap.so.0 in $libdir"
nm -D --defined-only "$libdir/libhvcap.so" | awk '{ print $NF }' >"$tmp/symbols"
bad=$(grep -Ev '^(hvcap_|caps_|proto_)' "$tmp/symbols" | grep -Ev '^(_init|_fini)$' | head -5)
[ -z "$bad" ] || fail "libhvcap exports symbols outside hvcap_, caps_, proto_: $bad"
for sym in hvcap_control_open hvcap_control_guest_cpu_cap_has hvcap_feature_lookup caps_feature_lookup \
	caps_cpuid_add caps_dump_parse proto_client_connect proto_client_call; do
	grep -qx "$sym" "$tmp/symbols" || fail "libhvcap does not export $sym"
done

# ---- every installed header, on its own ---------------------------------
n=0
for h in $(cd "$incdir" && find . -name '*.h' | sed 's|^\./||' | sort); do
	n=$((n + 1))
	printf '#include <%s>\n#include <%s>\nint main(void) { return 0; }\n' "$h" "$h" >"$tmp/h.c"
	# shellcheck disable=SC2086
	if ! cc -std=gnu11 -Wall -Wextra -Werror -c -o "$tmp/h.o" "$tmp/h.c" $cflags 2>"$tmp/h.err"; then
		fail "<$h> does not compile on its own"
		head -5 "$tmp/h.err"
	fi
done
[ "$n" -ge 8 ] || fail "only $n headers installed"
for h in hvcap/hvcap.h hvcap/control.h hvcap/libcaps/caps.h hvcap/libcaps/cpuid.h hvcap/libcaps/dump.h \
	hvcap/proto/client.h; do
	[ -e "$incdir/$h" ] || fail "<$h> is not installed"
done
# Nothing but hvcap/ in the include directory: no top-level libcaps/ or proto/.
others=$(cd "$incdir" && ls | grep -vx hvcap)
[ -z "$others" ] || fail "headers installed outside $incdir/hvcap: $others"

# ---- the example ---------------------------------------------------------
# shellcheck disable=SC2086
if ! cc $san -o "$tmp/query" "$HVCAP_SRCDIR/examples/control/query.c" $(pkg-config --cflags --libs hvcap) \
	2>"$tmp/cc.err"; then
	head -20 "$tmp/cc.err"
	fail "examples/control/query.c does not build with pkg-config alone"
	echo "$failures failure(s)"
	exit 1
fi

"$HVCAP_BUILDDIR/tests/unit/control-fixture" "$tmp/control" || fail "control-fixture"
LD_LIBRARY_PATH="$libdir" "$tmp/query" avx2 "$tmp/control" >"$tmp/out" 2>"$tmp/err"
rc=$?
cat >"$tmp/want" <<WANT
host: fingerprint hvcap1-0000000000005eed
host: avx2: cpu yes, kvm yes
vm 1 web: vcpu 0 avx2 yes
vm 1 web: vcpu 1 avx2 yes
vm 2 db: vcpu 0 avx2 yes
vm 2 db: vcpu 1 avx2 yes
vm 2 db: vcpu 2 avx2 no
vm 7 batch: no vcpus
WANT
[ "$rc" -eq 0 ] || { fail "query avx2: exit $rc"; cat "$tmp/err"; }
diff -u "$tmp/want" "$tmp/out" || fail "query avx2: unexpected output"
LD_LIBRARY_PATH="$libdir" ldd "$tmp/query" 2>/dev/null | grep -q "$libdir/libhvcap.so.0" ||
	fail "query does not load libhvcap from $libdir"

# QEMU's spelling, $HVCAP_CONTROL, and a feature no vCPU has.
HVCAP_CONTROL="$tmp/control" LD_LIBRARY_PATH="$libdir" "$tmp/query" sse4.2 >"$tmp/out" 2>"$tmp/err" ||
	fail "query sse4.2 with \$HVCAP_CONTROL: exit $?"
[ "$(grep -c 'sse4_2 no$' "$tmp/out")" -eq 5 ] || { fail "query sse4.2"; cat "$tmp/out"; }
LD_LIBRARY_PATH="$libdir" "$tmp/query" no-such-feature "$tmp/control" >/dev/null 2>"$tmp/err"
[ $? -eq 2 ] || fail "query with an unknown feature: not exit 2"
LD_LIBRARY_PATH="$libdir" "$tmp/query" avx2 "$tmp/missing" >/dev/null 2>"$tmp/err"
[ $? -eq 1 ] && grep -q 'No such file' "$tmp/err" || fail "query on a missing file"
"$HVCAP_BUILDDIR/tests/unit/control-fixture" "$tmp/stopped" --stopped || fail "control-fixture --stopped"
LD_LIBRARY_PATH="$libdir" "$tmp/query" avx2 "$tmp/stopped" >/dev/null 2>"$tmp/err"
[ $? -eq 1 ] && grep -q 'hvcapd has stopped' "$tmp/err" || fail "query on a stopped file"

# And against a real hvcapd: its answers are io.hvcap.Vm.Get's.  The model
# of the EPYC-9334 (with AVX2) serves VMs with and without AVX2.
xml="${HVCAP_TESTDATA:-}/libvirt-cputestdata/x86_64-cpuid-EPYC-9334-32-Core.xml"
if [ -r "$xml" ] && command -v jq >/dev/null 2>&1; then
	hvctl="$HVCAP_BUILDDIR/cli/hvctl"
	"$HVCAP_BUILDDIR/daemon/hvcapd" --listen "$tmp/io.hvcap" --state-dir "$tmp/state" --host-dump "$xml" \
		2>"$tmp/hvcapd.log" &
	pid=$!
	trap 'kill "$pid" 2>/dev/null; rm -rf "$tmp"' EXIT
	export HVCAP_ADDRESS="unix:$tmp/io.hvcap"
	i=0
	until "$hvctl" vm list >/dev/null 2>&1 || [ "$i" -gt 100 ]; do i=$((i + 1)); sleep 0.1; done
	printf '{"features": {"avx2": "require"}, "vcpus": 2}\n' >"$tmp/with.json"
	printf '{"features": {"avx2": "disable", "sse2": "require"}, "vcpus": 3}\n' >"$tmp/without.json"
	"$hvctl" vm create with "$tmp/with.json" >/dev/null || fail "hvctl vm create with"
	"$hvctl" vm create without "$tmp/without.json" >/dev/null || fail "hvctl vm create without"
	LD_LIBRARY_PATH="$libdir" "$tmp/query" avx2 "$tmp/control" >"$tmp/out" 2>"$tmp/err" ||
		{ fail "query avx2 on hvcapd's control plane: exit $?"; cat "$tmp/err"; }
	{
		"$hvctl" host show --json | jq -r '"host: fingerprint \(.host.fingerprint)"'
		"$hvctl" host features --json --all |
			jq -r '.features[] | select(.name == "avx2") | "host: avx2: cpu \(if .host then "yes" else "no" end), kvm \(if .kvm then "yes" else "no" end)"'
		for vm in $("$hvctl" vm list --json | jq -r '.vms[].vm'); do
			"$hvctl" vm show --json "$vm" | jq -r '.vm as $v | $v.vcpus[] |
				"vm \($v.vm) \($v.name): vcpu \(.vcpu) avx2 \(if (.features | index("avx2")) then "yes" else "no" end)"'
		done
	} >"$tmp/want"
	diff -u "$tmp/want" "$tmp/out" || fail "query on hvcapd's control plane differs from what the API says"
	grep -q ": vcpu 2 avx2 no$" "$tmp/out" || fail "the VM without AVX2 was not listed"
	kill "$pid"
	wait "$pid" 2>/dev/null
	LD_LIBRARY_PATH="$libdir" "$tmp/query" avx2 "$tmp/control" >/dev/null 2>"$tmp/err"
	[ $? -eq 1 ] && grep -q 'hvcapd has stopped' "$tmp/err" || fail "query after hvcapd stopped: $(cat "$tmp/err")"
else
	echo "note: no EPYC-9334 dump or no jq: the example was not run against hvcapd"
fi

# The example's own Makefile, as its comment says to use it.
if command -v make >/dev/null 2>&1; then
	cp "$HVCAP_SRCDIR/examples/control/query.c" "$HVCAP_SRCDIR/examples/control/Makefile" "$tmp/"
	make -C "$tmp" query CFLAGS="-O2 -Wall -Wextra -Werror $san" >"$tmp/make.log" 2>&1 ||
		{ fail "examples/control/Makefile"; tail -5 "$tmp/make.log"; }
fi

finish
