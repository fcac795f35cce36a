#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# tests/failed-logs.sh [DIR]: the last lines of every test log under DIR
# (default .) whose test failed or erred, so that what CI shows of a
# failing run (its last lines) says why, not only which.

set -u

dir=${1:-.}
find "$dir" -name '*.trs' | sort | while read -r trs; do
	if grep -qE '^:test-result: (FAIL|ERROR)' "$trs"; then
		echo "---- ${trs%.trs}.log"
		tail -n 60 "${trs%.trs}.log"
	fi
done
