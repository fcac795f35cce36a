#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# fuzz/run.sh [SECONDS] [TARGET...]: run each libFuzzer target of a build
# configured with --enable-fuzzing for SECONDS (default 60), on a copy of
# its seed corpus (fuzz/corpus/TARGET) with its dictionary (fuzz/TARGET.dict),
# and print how many inputs each ran.  Fails on any crash, leak, timeout
# or out-of-memory; the reproducer is kept in the work directory.
#
# Run from the build directory (or set HVCAP_BUILDDIR); targets default to
# all of them.  HVCAP_FUZZ_WORKDIR keeps the corpora and logs somewhere
# other than a temporary directory; HVCAP_FUZZ_ARGS adds libFuzzer flags.
# To see what a target made of one input (a seed, a reproducer):
# HVCAP_FUZZ_DEBUG=1 fuzz/fuzz-NAME FILE (control, state and daemon say).

set -eu

srcdir=$(cd "$(dirname "$0")/.." && pwd)
builddir=${HVCAP_BUILDDIR:-$(pwd)}
seconds=60
all_targets="control dump policy varlink state daemon record"

if [ $# -gt 0 ]; then
	case $1 in
	''|*[!0-9]*) ;;
	*) seconds=$1; shift ;;
	esac
fi
targets=${*:-$all_targets}

if [ -n "${HVCAP_FUZZ_WORKDIR:-}" ]; then
	work=$HVCAP_FUZZ_WORKDIR
	mkdir -p "$work"
else
	work=$(mktemp -d "${TMPDIR:-/tmp}/hvcap-fuzz.XXXXXX")
fi

# A crash, leak or UB report aborts; a slow input is a failure too (a
# reader must never wait long on a file).
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1:allocator_may_return_null=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

failed=""
total=0
for t in $targets; do
	bin=$builddir/fuzz/fuzz-$t
	if [ ! -x "$bin" ]; then
		if [ -f "$srcdir/fuzz/fuzz-$t.c" ]; then
			echo "fuzz/run.sh: $bin is missing: configure with CC=clang --enable-fuzzing and make" >&2
			failed="$failed $t"
		else
			echo "fuzz/run.sh: no target $t (targets: $all_targets)" >&2
			failed="$failed $t"
		fi
		continue
	fi
	corpus=$work/$t/corpus
	artifacts=$work/$t/artifacts/
	rm -rf "$corpus" "$artifacts"
	mkdir -p "$corpus" "$artifacts"
	if [ -d "$srcdir/fuzz/corpus/$t" ]; then
		cp "$srcdir/fuzz/corpus/$t/"* "$corpus/" 2>/dev/null || :
	fi
	dict=
	if [ -s "$srcdir/fuzz/$t.dict" ]; then
		dict=-dict=$srcdir/fuzz/$t.dict
	fi
	log=$work/$t/log
	# shellcheck disable=SC2086
	if "$bin" $dict -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
		-max_len=131072 -print_final_stats=1 -artifact_prefix="$artifacts" \
		${HVCAP_FUZZ_ARGS:-} "$corpus" >"$log" 2>&1; then
		status=ok
	else
		status=FAILED
		failed="$failed $t"
	fi
	execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
	cov=$(grep -o 'cov: [0-9]*' "$log" | tail -n 1 | sed 's/cov: //')
	printf '%-8s %-6s %10s execs in %ss, coverage %s edges, corpus %s inputs\n' \
		"$t" "$status" "${execs:-?}" "$seconds" "${cov:-?}" "$(ls "$corpus" | wc -l)"
	total=$((total + ${execs:-0}))
	if [ "$status" = FAILED ]; then
		grep -E 'ERROR|SUMMARY|runtime error|Test unit written|abort' "$log" | head -n 20 >&2 || :
		echo "fuzz/run.sh: $t failed; log $log, reproducer in $artifacts" >&2
	fi
done
echo "fuzz/run.sh: $total inputs in all; work directory $work"
if [ -n "$failed" ]; then
	echo "fuzz/run.sh: FAILED:$failed" >&2
	exit 1
fi
if [ -z "${HVCAP_FUZZ_WORKDIR:-}" ]; then
	rm -rf "$work"
fi
