#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# The manual pages stay complete and warning-free:
#
#   - every page in man/ renders without one warning, with groff -ww and
#     with man -l as a reader runs it, from a tree laid out as make install
#     lays it out (so that an alias's ".so man3/hvcap.3" resolves); its .TH
#     names its file; a page with a table asks for tbl; man/local.mk
#     installs exactly the pages in man/;
#   - hvctl.1 has a section for every command `hvctl --help` lists, which
#     documents every long option of that command's --help (or the
#     OPTIONS section does, for the options every command shares);
#   - hvcapd.8 documents every long option of `hvcapd --help`;
#   - hvcapd.conf.5 documents every key of daemon/config.c's table, and
#     no other;
#   - hvcap-policy.5 documents every field, base, APIC mode and feature
#     policy of the policy codec;
#   - hvcap.3 names every function of include/hvcap/hvcap.h.
#
# Needs groff (Debian: groff-base); man (man-db) adds the man -l rendering.

set -eu

: "${HVCAP_BUILDDIR:?}" "${HVCAP_SRCDIR:?}"
src="$HVCAP_SRCDIR"
hvctl="$HVCAP_BUILDDIR/cli/hvctl"
hvcapd="$HVCAP_BUILDDIR/daemon/hvcapd"

if ! command -v groff >/dev/null 2>&1; then
	echo "SKIP: groff is not installed (Debian: groff-base)"
	exit 77
fi

# $tmp, fail, finish.
. "$src/tests/cli/common.sh"

# --- The pages, installed as make install would: man/X.N -> manN/X.N.
pages=$(cd "$src/man" && ls | grep '\.[1-8]$' || true)
[ -n "$pages" ] || fail "no pages in $src/man"
for p in $pages; do
	mkdir -p "$tmp/man/man${p##*.}"
	cp "$src/man/$p" "$tmp/man/man${p##*.}/$p"
done

# man/local.mk installs them all, and nothing else.
listed=$(tr ' \t\\' '\n\n\n' <"$src/man/local.mk" | sed -n 's|^man/\(.*\.[1-8]\)$|\1|p' | sort)
[ "$listed" = "$(echo "$pages" | sort)" ] ||
	fail "man/local.mk's dist_man_MANS ($(echo $listed)) is not the pages in man/ ($(echo $pages))"

# --- Every page renders without a warning.
have_man=yes
if ! command -v man >/dev/null 2>&1; then
	have_man=
	echo "note: man is not installed (Debian: man-db); checking with groff only"
fi
for p in $pages; do
	rel="man${p##*.}/$p"
	if grep -q '^\.so ' "$src/man/$p"; then
		# An alias: one .so line (after comments) to a page that exists.
		target=$(sed -n 's/^\.so //p' "$src/man/$p")
		other=$(grep -v '^\.so \|^\.\\"' "$src/man/$p" || true)
		[ -z "$other" ] || fail "$p: an alias page holds more than its .so line"
		[ -f "$tmp/man/$target" ] || fail "$p: .so $target: no such page in man/"
	else
		# .TH names the file: HVCAPD.CONF 5 for hvcapd.conf.5.
		name=$(echo "${p%.*}" | tr '[:lower:]' '[:upper:]')
		th=$(sed -n 's/^\.TH \([^ ]*\) \([^ ]*\) .*/\1 \2/p' "$src/man/$p")
		[ "$th" = "$name ${p##*.}" ] || fail "$p: .TH says '$th', not '$name ${p##*.}'"
		# man runs tbl only for pages whose first line asks for it.
		if grep -q '^\.TS' "$src/man/$p" && ! head -1 "$src/man/$p" | grep -q "^'\\\\\" t"; then
			fail "$p: has a table (.TS) but its first line is not '\\\" t"
		fi
	fi
	warnings=$(cd "$tmp/man" && groff -t -man -Tutf8 -ww -z "$rel" 2>&1 || echo "groff failed")
	if [ -n "$warnings" ]; then
		fail "$p: groff -ww reports:"
		echo "$warnings" | sed 's/^/    /'
	fi
	if [ -n "$have_man" ]; then
		warnings=$(cd "$tmp/man" && LC_ALL=C.UTF-8 MANROFFSEQ='' MANWIDTH=80 \
			man --warnings=w -E UTF-8 -l -Tutf8 -Z "$rel" 2>&1 >/dev/null || echo "man -l failed")
		if [ -n "$warnings" ]; then
			fail "$p: man -l reports:"
			echo "$warnings" | sed 's/^/    /'
		fi
	fi
done

# text PAGE: the page as plain text, one line per paragraph (no line
# breaks inside an option name), section headings at column 0, .SS
# headings at 3, tags at 7.
text() {
	(cd "$tmp/man" && groff -t -man -Tascii -P-cbou -rLL=2000n "man${1##*.}/$1" 2>/dev/null)
}

# section HEADING: the lines of the .SH section HEADING on standard input.
section() {
	awk -v h="$1" '/^[^ ]/ { in_s = ($0 == h) } in_s'
}

# has_tag OPTION: whether an entry on standard input is tagged OPTION
# ("--json", "-j, --json", "--host auto|kvm|model", "max_vms = N").
has_tag() {
	grep -Eq -- "^ {7}(-[A-Za-z0-9], )?$1([ ,=]|\$)"
}

# long_options FILE: the long options of a --help text, from its Usage
# line and its option lines ("  -j, --json   ...").
long_options() {
	{
		grep '^Usage:' "$1" | grep -o -- '--[a-z][a-z0-9-]*' || true
		sed -n 's/^  \(-[A-Za-z0-9], \)\{0,1\}\(--[a-z][a-z0-9-]*\).*/\2/p' "$1"
	} | sort -u
}

# --- hvctl.1: every command has a section, which documents its options.
for f in "$hvctl" "$hvcapd"; do
	[ -x "$f" ] || fail "$f is not built"
done
if [ -x "$hvctl" ]; then
	text hvctl.1 >"$tmp/hvctl.txt"
	section OPTIONS <"$tmp/hvctl.txt" >"$tmp/hvctl-options.txt"
	"$hvctl" --help >"$tmp/help"
	for o in $(long_options "$tmp/help"); do
		has_tag "$o" <"$tmp/hvctl-options.txt" ||
			fail "hvctl.1: OPTIONS has no entry for hvctl's $o (from 'hvctl --help')"
	done
	sed -n 's/^  \([a-z][a-z0-9-]*\( [a-z][a-z0-9-]*\)\{0,1\}\)  .*/\1/p' "$tmp/help" >"$tmp/commands"
	[ "$(wc -l <"$tmp/commands")" -ge 10 ] ||
		fail "found only '$(echo $(cat "$tmp/commands"))' as commands in 'hvctl --help'"
	while read -r c; do
		# The .SS headings that name the command ("hvctl vm show VM").
		awk -v cmd="hvctl $c " '
			/^[^ ]/ || /^   [^ ]/ { in_s = 0 }
			/^   hvctl / { h = $0 " "; gsub(/,/, " ", h); if (index(h, cmd)) in_s = 1 }
			in_s' "$tmp/hvctl.txt" >"$tmp/section"
		if [ ! -s "$tmp/section" ]; then
			fail "hvctl.1: no section (.SS \"hvctl $c ...\") for 'hvctl $c'"
			continue
		fi
		# Word splitting makes "vm show" two arguments.
		# shellcheck disable=SC2086
		if ! "$hvctl" $c --help >"$tmp/cmd-help" 2>&1; then
			fail "hvctl $c --help failed"
			continue
		fi
		for o in $(long_options "$tmp/cmd-help"); do
			has_tag "$o" <"$tmp/section" || has_tag "$o" <"$tmp/hvctl-options.txt" ||
				fail "hvctl.1: section 'hvctl $c' has no entry for $o (from 'hvctl $c --help')"
		done
	done <"$tmp/commands"
fi

# --- hvcapd.8: every option.
if [ -x "$hvcapd" ]; then
	text hvcapd.8 | section OPTIONS >"$tmp/hvcapd-options.txt"
	"$hvcapd" --help >"$tmp/help"
	options=$(long_options "$tmp/help")
	[ "$(echo "$options" | wc -l)" -ge 5 ] || fail "found only '$(echo $options)' in 'hvcapd --help'"
	for o in $options; do
		has_tag "$o" <"$tmp/hvcapd-options.txt" ||
			fail "hvcapd.8: OPTIONS has no entry for $o (from 'hvcapd --help')"
	done
fi

# --- hvcapd.conf.5: every key of daemon/config.c, and no other.
keys=$(sed -n 's/^[[:space:]]*{ "\([a-z_]*\)", CONFIG_.*/\1/p' "$src/daemon/config.c")
[ "$(echo "$keys" | wc -l)" -ge 5 ] || fail "found only '$(echo $keys)' in daemon/config.c's config_keys"
text hvcapd.conf.5 | section KEYS >"$tmp/keys.txt"
for k in $keys; do
	has_tag "$k =" <"$tmp/keys.txt" || fail "hvcapd.conf.5: KEYS has no entry for $k (daemon/config.c)"
done
for k in $(sed -n 's/^       \([a-z_]*\) = .*/\1/p' "$tmp/keys.txt"); do
	echo "$keys" | grep -qx "$k" || fail "hvcapd.conf.5: KEYS documents $k, which daemon/config.c does not know"
done

# --- hvcap-policy.5: every field (proto/policy-json.c) and every word.
fields=$(sed -n '/^static const struct proto_field policy_fields\[\]/,/^};/s/^[[:space:]]*\.name = "\([a-z_]*\)",.*/\1/p' \
	"$src/proto/policy-json.c")
[ "$(echo "$fields" | wc -l)" -ge 5 ] || fail "found only '$(echo $fields)' in proto/policy-json.c's policy_fields"
text hvcap-policy.5 >"$tmp/policy.txt"
section FIELDS <"$tmp/policy.txt" >"$tmp/fields.txt"
for f in $fields; do
	has_tag "$f" <"$tmp/fields.txt" || fail "hvcap-policy.5: FIELDS has no entry for $f (proto/policy-json.c)"
done
# words ARRAY FILE: the strings of a designated-initializer name table.
words() {
	sed -n "/$1\\[\\] = {/,/^};/s/^[[:space:]]*\\[[A-Z0-9_]*\\] = \"\\([a-z0-9-]*\\)\",.*/\\1/p" "$2"
}
for w in $(words policy_names "$src/libcaps/policy.c"); do
	section "FEATURE POLICIES" <"$tmp/policy.txt" | has_tag "$w" ||
		fail "hvcap-policy.5: FEATURE POLICIES has no entry for $w (libcaps/policy.c)"
done
for w in $(words base_names "$src/libcaps/policy.c") $(words apic_names "$src/proto/policy-json.c"); do
	grep -Eq "(^|[^a-z0-9-])$w([^a-z0-9-]|\$)" "$tmp/fields.txt" ||
		fail "hvcap-policy.5: FIELDS does not mention $w (libcaps/policy.c, proto/policy-json.c)"
done

# --- hvcap.3: every function of the public header, in NAME and SYNOPSIS.
functions=$(sed -n 's/^[a-z][a-z_ ]*[ *]\(hvcap_[a-z_]*\)(.*/\1/p' "$src/include/hvcap/hvcap.h" | sort -u)
[ "$(echo "$functions" | wc -l)" -ge 5 ] || fail "found only '$(echo $functions)' in include/hvcap/hvcap.h"
text hvcap.3 >"$tmp/hvcap.txt"
for fn in $functions; do
	for s in NAME SYNOPSIS; do
		section "$s" <"$tmp/hvcap.txt" | grep -q "$fn\\b" || fail "hvcap.3: $s does not name $fn()"
	done
done

finish
