#!/bin/sh
# The README's quick-start example prints a per-run summary.
. tests/examples/common.inc
out=$("$SL" examples/quickstart/summary.lua 2>&1)
rc=$?
check "runs" [ "$rc" -eq 0 ]
check "preview" sh -c 'printf "%s\n" "$1" | grep -q "Table: 3 rows x 8 columns"' - "$out"
check "four runs" [ "$(printf '%s\n' "$out" | grep -cE '^(full|moba)-[0-9]+m ')" -eq 4 ]
check "final loss of full-125m" sh -c 'printf "%s\n" "$1" | grep -E "^full-125m " | grep -q " 3.3172$"' - "$out"
done_ quickstart
