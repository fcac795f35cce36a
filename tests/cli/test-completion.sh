#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# The bash completion (completion/hvctl) driven as bash drives it:
# COMP_WORDS split at blanks and at = and :, COMP_CWORD, COMP_LINE and
# COMP_POINT set, the function 'complete -p hvctl' names called, COMPREPLY
# checked.  Commands, subcommands, options, enumerated option values, host
# parameters, file names, feature names in both spellings, and VMs and
# vCPUs from the real hvcapd on a temporary socket (nothing, silently,
# without one).  Once on its own and once over the bash-completion package
# when it is installed.  'hvctl complete', which supplies the words, is
# checked directly too.

# make check runs tests with sh: the completion is bash's.
if [ -z "${BASH_VERSION:-}" ]; then
	if ! command -v bash >/dev/null 2>&1; then
		echo "SKIP: bash is not installed"
		exit 77
	fi
	exec bash "$0" "$@"
fi

hvctl="${HVCAP_BUILDDIR:?}/cli/hvctl"
hvcapd="${HVCAP_BUILDDIR:?}/daemon/hvcapd"
script="${HVCAP_SRCDIR:?}/completion/hvctl"
bash_completion=/usr/share/bash-completion/bash_completion
tmp=$(mktemp -d)
daemon_pid=
wrap=${HVCAP_TEST_WRAPPER:-}	# make check-valgrind (tests/cli/common.sh)
failures=0

cleanup() {
	if [ -n "$daemon_pid" ]; then
		kill -TERM "$daemon_pid" 2>/dev/null
		wait "$daemon_pid" 2>/dev/null
	fi
	rm -rf "$tmp"
}
trap cleanup EXIT

fail() {
	echo "FAIL: $*"
	failures=$((failures + 1))
}

# The hvctl the completion runs is the one on PATH, as for a user.
export PATH="${HVCAP_BUILDDIR}/cli:$PATH"
export HVCAP_ADDRESS="unix:$tmp/no-hvcapd"

# --- hvctl complete, directly: exit statuses, and never a word on stderr.
check_complete() {
	local want=$1 what=$2
	shift 2
	"$hvctl" complete "$@" >"$tmp/out" 2>"$tmp/err"
	local got=$?
	[ "$got" -eq "$want" ] || fail "hvctl complete $what: exit $got, want $want"
	if [ "$want" -ne 2 ] && [ -s "$tmp/err" ]; then
		fail "hvctl complete $what wrote on stderr: $(head -3 "$tmp/err")"
	fi
}

check_complete 0 commands commands
# Every command 'hvctl --help' lists, and no other.
"$hvctl" --help | sed -n '/^Commands/,/^$/s/^  \([a-z][a-z0-9-]*\( [a-z][a-z0-9-]*\)\?\)  .*/\1/p' >"$tmp/help-commands"
[ -s "$tmp/help-commands" ] || fail "no commands parsed from hvctl --help"
diff -u "$tmp/help-commands" "$tmp/out" >/dev/null ||
	fail "complete commands differs from hvctl --help: $(diff "$tmp/help-commands" "$tmp/out" | head -5)"
check_complete 0 features features
grep -qx avx512f "$tmp/out" || fail "complete features: no avx512f"
grep -qx sse4_1 "$tmp/out" || fail "complete features: no sse4_1 (Linux spelling)"
n_linux=$(wc -l <"$tmp/out")
check_complete 0 "features --names qemu" features --names qemu
grep -qx sse4.1 "$tmp/out" || fail "complete features --names qemu: no sse4.1"
[ "$(wc -l <"$tmp/out")" -eq "$n_linux" ] || fail "the two spellings list different numbers of features"
check_complete 0 params params
grep -qx tsa_fix=auto "$tmp/out" || fail "complete params: no tsa_fix=auto"
grep -qx kernel=7.0 "$tmp/out" || fail "complete params: no kernel=7.0"
grep -qx vendor=amd "$tmp/out" || fail "complete params: no vendor=amd"
check_complete 1 "vms without hvcapd" vms
[ -s "$tmp/out" ] && fail "complete vms without hvcapd printed: $(head -3 "$tmp/out")"
check_complete 1 "vcpus without hvcapd" vcpus web
check_complete 2 "nothing" 
check_complete 2 "unknown list" bogus
check_complete 2 "--names with params" --names qemu params
check_complete 2 "vcpus without VM" vcpus
check_complete 0 --help --help

# complete_line LINE: call the completion for LINE (the cursor at its
# end) as bash does; the offered words, sorted, in $tmp/out, and what the
# function wrote in $tmp/err.
complete_line() {
	local line=$1 tok='' ch i func
	COMP_WORDS=()
	for ((i = 0; i < ${#line}; i++)); do
		ch=${line:i:1}
		case $ch in
		' ')
			[[ -n $tok ]] && COMP_WORDS+=("$tok")
			tok=
			;;
		[=:])
			[[ -n $tok ]] && COMP_WORDS+=("$tok")
			COMP_WORDS+=("$ch")
			tok=
			;;
		*)
			tok+=$ch
			;;
		esac
	done
	if [[ -n $tok ]]; then
		COMP_WORDS+=("$tok")
	elif [[ $line == *' ' ]]; then
		COMP_WORDS+=("")
	fi
	COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
	COMP_LINE=$line
	COMP_POINT=${#line}
	COMPREPLY=()
	func=$(complete -p hvctl 2>/dev/null | sed -n 's/.*-F \([^ ]*\) .*/\1/p')
	if [[ -z $func ]]; then
		fail "no completion function registered for hvctl"
		: >"$tmp/out"
		return
	fi
	"$func" hvctl "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD - 1]}" >"$tmp/stdout" 2>"$tmp/err"
	if ((${#COMPREPLY[@]})); then
		printf '%s\n' "${COMPREPLY[@]}" | sort >"$tmp/out"
	else
		: >"$tmp/out"
	fi
	[[ -s $tmp/err || -s $tmp/stdout ]] && fail "'$line': the completion printed: $(cat "$tmp/stdout" "$tmp/err" | head -3)"
}

# offers WHAT LINE WORD...: exactly these words.
offers() {
	local what=$1 line=$2 got want
	shift 2
	complete_line "$line"
	got=$(tr '\n' ' ' <"$tmp/out")
	want=$( (($#)) && printf '%s\n' "$@" | sort | tr '\n' ' ')
	[[ $got == "$want" ]] || fail "$mode: $what: '$line' offers '$got', want '$want'"
}

# offers_some WHAT LINE WORD...: at least these words, and only words
# that start like the last word of LINE.
offers_some() {
	local what=$1 line=$2 w prefix
	shift 2
	complete_line "$line"
	prefix=${line##*[ =:]}
	for w; do
		grep -qxF -- "$w" "$tmp/out" || fail "$mode: $what: '$line' does not offer '$w' ($(head -c 200 "$tmp/out" | tr '\n' ' '))"
	done
	while read -r w; do
		[[ $w == "$prefix"* ]] || fail "$mode: $what: '$line' offers '$w'"
	done <"$tmp/out"
}

# Files the file-name cases complete.
mkdir -p "$tmp/files/sub"
: >"$tmp/files/policy-a.json"
: >"$tmp/files/policy-b.json"
: >"$tmp/files/dump.xml"

# The offline cases, without any hvcapd.
offline_cases() {
	local -a groups subs

	mapfile -t groups < <(cut -d' ' -f1 "$tmp/help-commands" | sort -u)
	offers "commands" "hvctl " "${groups[@]}"
	offers "commands by prefix" "hvctl v" vcpu vm
	mapfile -t subs < <("$hvctl" vm --help | sed -n 's/^  \([a-z][a-z0-9-]*\)  .*/\1/p')
	offers "vm subcommands" "hvctl vm " "${subs[@]}"
	offers "vm subcommands, after --address" "hvctl --address unix:$tmp/x vm " "${subs[@]}"
	offers "vcpu subcommands by prefix" "hvctl vcpu n" nested-exit nested-run
	offers "global options" "hvctl --" --address --help --version
	offers "--address" "hvctl --address " unix:
	offers "--address's socket" "hvctl --address unix:$tmp/files/d" "$tmp/files/dump.xml"
	offers "--address='s socket" "hvctl --address=unix:$tmp/files/d" "$tmp/files/dump.xml"

	offers "options" "hvctl host features --" --all --dump --help --json --names --param
	offers "options by prefix" "hvctl vm add-vcpu --v" --vcpu
	offers "options when no argument is due" "hvctl vm list " --help --json
	offers "short option's value" "hvctl host features -n " linux qemu
	offers "--names" "hvctl host features --names " linux qemu
	offers "--names=" "hvctl host show --names=" linux qemu
	offers "--names=q" "hvctl host show --names=q" qemu
	offers "--format of decode" "hvctl cpuid decode --format " auto cpuid-r json libvirt-xml
	offers "--format of dump" "hvctl cpuid dump --format " cpuid-r json libvirt-xml table
	offers "--format of export" "hvctl host export --format " json nfd os-traits
	offers "--format of set-cpuid" "hvctl vcpu set-cpuid --format l" libvirt-xml
	offers "no values for an id" "hvctl vm add-vcpu --vcpu "
	offers "complete's lists" "hvctl complete " commands features params vcpus vms

	offers_some "--param" "hvctl host model --param " kernel= tsa_fix= vendor= avic=
	offers "--param by prefix" "hvctl host model --param tdp" tdp= tdp_level=
	offers "--param's values" "hvctl host model --param tsa_fix=" auto off on
	offers "--param's values by prefix" "hvctl policy check -p vendor=a" amd
	offers "--param=K=V" "hvctl host features --param=kernel=7" 7.0

	offers "FILE of --dump" "hvctl host model --dump $tmp/files/d" "$tmp/files/dump.xml"
	offers "FILE of --dump=" "hvctl host model --dump=$tmp/files/d" "$tmp/files/dump.xml"
	offers "POLICY" "hvctl policy check $tmp/files/pol" "$tmp/files/policy-a.json" "$tmp/files/policy-b.json"
	offers "POLICY after an option" "hvctl policy check --json $tmp/files/policy-" \
		"$tmp/files/policy-a.json" "$tmp/files/policy-b.json"
	offers "FILE of decode" "hvctl cpuid decode --names qemu $tmp/files/s" "$tmp/files/sub"
	offers "a second POLICY is not due" "hvctl policy check $tmp/files/policy-a.json $tmp/files/p"

	# Feature names where a usage line says FEATURE (host features), in both spellings.
	offers_some "FEATURE" "hvctl host features avx5" avx512f avx512bw avx512vl
	offers_some "FEATURE, QEMU spelling" "hvctl host features avx512-vp" avx512-vpopcntdq
	offers "FEATURE, both spellings" "hvctl host features sse4" sse4.1 sse4.2 sse4_1 sse4_2 sse4a
	offers "FEATURE after an option" "hvctl host features --json popc" popcnt
	offers "a second FEATURE" "hvctl host features avx2 popc" popcnt

	# Without hvcapd: no VM, no vCPU, and not a word on stderr.
	offers "VM without hvcapd" "hvctl vm show "
	offers "VCPU without hvcapd" "hvctl vcpu run web "
	offers "VM at --address without hvcapd" "hvctl --address unix:$tmp/elsewhere vm delete "
	offers "VM at a bad address" "hvctl --address tcp:nowhere vm delete "
}

# The cases with hvcapd at $HVCAP_ADDRESS (and $tmp/none at nobody).
online_cases() {
	offers "VMs" "hvctl vm show " db-1 web
	offers "VMs by prefix" "hvctl vm delete w" web
	offers "VM ids once a digit is typed" "hvctl vm show 1" 1
	offers "VM of add-vcpu" "hvctl vm add-vcpu --json d" db-1
	offers "VM of a vcpu command" "hvctl vcpu write-cr3 " db-1 web
	offers "vCPUs of the VM" "hvctl vcpu run web " 0 1 5
	offers "vCPUs of the VM by id" "hvctl vcpu init --json 2 " 0 1
	offers "vCPUs of an unknown VM" "hvctl vcpu run nosuchvm "
	offers "no VM for vm create" "hvctl vm create "
	offers "FILE after VM VCPU" "hvctl vcpu set-cpuid web 0 $tmp/files/d" "$tmp/files/dump.xml"
	HVCAP_ADDRESS="unix:$tmp/none" offers "--address wins over HVCAP_ADDRESS" \
		"hvctl --address $daemon_address vm show " db-1 web
	HVCAP_ADDRESS="unix:$tmp/none" offers "--address= wins over HVCAP_ADDRESS" \
		"hvctl --address=$daemon_address vm show " db-1 web
	HVCAP_ADDRESS="unix:$tmp/none" offers "HVCAP_ADDRESS at nobody" "hvctl vm show "
}

# run_mode NAME [FILE]: the cases in a shell that sourced FILE (the
# bash-completion package), then the script under test.
# shellcheck disable=SC2030,SC2031 # each mode counts in its subshell
run_mode() {
	(
		mode=$1
		failures=0
		if [[ -n ${2-} ]]; then
			# shellcheck disable=SC1090
			. "$2" || fail "$mode: cannot source $2"
			declare -F _init_completion >/dev/null || fail "$mode: no _init_completion in $2"
		fi
		# shellcheck disable=SC1090
		. "$script" || fail "$mode: cannot source $script"
		if [[ -z ${2-} ]] && declare -F _init_completion >/dev/null; then
			fail "$mode: _init_completion is defined"
		fi
		"$3"
		exit "$failures"
	)
	failures=$((failures + $?))
}

modes() {
	run_mode "without bash-completion" "" "$1"
	if [[ -r $bash_completion ]]; then
		run_mode "with bash-completion" "$bash_completion" "$1"
	else
		echo "note: $bash_completion missing: the completion ran without it only"
	fi
}

modes offline_cases

# --- hvcapd (the model of this machine's CPU) on a temporary socket.
daemon_address="unix:$tmp/h.sock"
$wrap "$hvcapd" --listen "$tmp/h.sock" --state-dir "$tmp/h.state" --host model 2>"$tmp/h.log" &
daemon_pid=$!
export HVCAP_ADDRESS="$daemon_address"
i=0
while ! "$hvctl" vm list >/dev/null 2>&1; do
	i=$((i + 1))
	if [ "$i" -gt 100 ] || ! kill -0 "$daemon_pid" 2>/dev/null; then
		fail "hvcapd did not start: $(cat "$tmp/h.log")"
		echo "$failures failure(s)"
		exit 1
	fi
	sleep 0.1
done
printf '{"name": "two", "vcpus": 2}\n' >"$tmp/two.json"
"$hvctl" vm create web "$tmp/two.json" >/dev/null || fail "vm create web"
"$hvctl" vm create db-1 "$tmp/two.json" >/dev/null || fail "vm create db-1"
"$hvctl" vm add-vcpu web --vcpu 5 >/dev/null || fail "vm add-vcpu web --vcpu 5"

check_complete 0 "vms" vms
printf '1 web\n2 db-1\n' | diff - "$tmp/out" >/dev/null || fail "complete vms: $(cat "$tmp/out")"
check_complete 0 "vcpus web" vcpus web
printf '0\n1\n5\n' | diff - "$tmp/out" >/dev/null || fail "complete vcpus web: $(cat "$tmp/out")"
check_complete 0 "vcpus 2" vcpus 2
check_complete 1 "vcpus of an unknown VM" vcpus nosuchvm

modes online_cases

if [ "$failures" -ne 0 ]; then
	echo "$failures failure(s)"
	exit 1
fi
echo "all passed"
exit 0
