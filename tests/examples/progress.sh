#!/bin/sh
# The progress bar of read_csv: drawn on standard error only when it is a
# terminal and the input is at least 64 MB (or progress = true), never
# when stderr is a file or a pipe, and always cleared at the end (also
# when the read fails), so only the program's own output is left.  The
# terminal cases run under script(1), which gives the program a pty.
. tests/examples/common.inc
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

scripts/gen-logs 70M "$tmp/big.csv" >/dev/null
scripts/gen-logs 10M "$tmp/small.csv" >/dev/null
cp "$tmp/big.csv" "$tmp/bad.csv"
echo "r,adamw,1,2,3,4.5,oops" >>"$tmp/bad.csv" # short: 7 of 8 fields
big_rows=$(($(wc -l <"$tmp/big.csv") - 1))
small_rows=$(($(wc -l <"$tmp/small.csv") - 1))

# read FILE [OPTS]: a recipe printing the row count
read_recipe() {
  printf 'local sl = require "scalelua"\n' >"$tmp/r.lua"
  printf 'print(#sl.read_csv("%s"%s))\n' "$1" "${2:+, $2}" >>"$tmp/r.lua"
}
# on_tty NAME FILE [OPTS]: run it with a terminal; output in $tmp/NAME.out
on_tty() {
  read_recipe "$2" "$3"
  script -qec "\"$SL\" \"$tmp/r.lua\"" /dev/null </dev/null >"$tmp/$1.out"
}
BAR='\[[#.]*\] *[0-9]*% [0-9]*/[0-9]* MB'
has_bar() { grep -q "$BAR" "$1"; }
no_bar() { ! grep -q "$BAR" "$1" && grep -q "$2" "$1"; }
# after the last erase-line sequence comes the program's own output
# (matching $2), and nothing of the bar
cleared_before() {
  awk -v pat="^$2" -v bar="$BAR" 'BEGIN { RS = "\033\\[K" }
    { last = $0; n++ }
    END { exit !(n > 1 && last ~ pat && last !~ bar) }' "$1"
}

# Not a terminal: nothing at all on stderr, whatever the size.
read_recipe "$tmp/big.csv"
check "file: rows" sh -c '[ "$("$1" "$2" 2>"$3")" = "$4" ]' - "$SL" \
  "$tmp/r.lua" "$tmp/err1" "$big_rows"
check "file: stderr empty" test ! -s "$tmp/err1"
check "pipe: stderr empty" sh -c \
  '"$1" "$2" 2>&1 >/dev/null | wc -c | grep -qx 0' - "$SL" "$tmp/r.lua"
read_recipe "$tmp/big.csv" "{ progress = true }"
check "file, progress = true: stderr empty" sh -c \
  '"$1" "$2" 2>"$3" >/dev/null && [ ! -s "$3" ]' - "$SL" "$tmp/r.lua" \
  "$tmp/err2"

if command -v script >/dev/null 2>&1; then
  on_tty big "$tmp/big.csv"
  check "tty, 70 MB: a bar" has_bar "$tmp/big.out"
  check "tty, 70 MB: cleared before the output" \
    cleared_before "$tmp/big.out" "$big_rows"
  check "tty, 70 MB: redrawn a few times, not per report" sh -c \
    'n=$(tr "\r" "\n" <"$1" | grep -c "MB"); [ "$n" -ge 1 ] && [ "$n" -le 40 ]' \
    - "$tmp/big.out"
  on_tty small "$tmp/small.csv"
  check "tty, 10 MB: no bar" no_bar "$tmp/small.out" "$small_rows"
  on_tty forced "$tmp/small.csv" "{ progress = true }"
  check "tty, 10 MB, progress = true: a bar" has_bar "$tmp/forced.out"
  check "tty, progress = true: cleared" \
    cleared_before "$tmp/forced.out" "$small_rows"
  read_recipe "$tmp/small.csv" "{ progress = true }"
  TERM=dumb script -qec "\"$SL\" \"$tmp/r.lua\"" /dev/null </dev/null \
    >"$tmp/dumb.out"
  check "tty, TERM=dumb: no bar" no_bar "$tmp/dumb.out" "$small_rows"
  on_tty off "$tmp/big.csv" "{ progress = false }"
  check "tty, 70 MB, progress = false: no bar" no_bar "$tmp/off.out" \
    "$big_rows"
  on_tty threads "$tmp/big.csv" "{ threads = 2 }"
  check "tty, 2 threads: a bar" has_bar "$tmp/threads.out"
  check "tty, 2 threads: cleared" cleared_before "$tmp/threads.out" \
    "$big_rows"
  # A read that fails at the end: the line is cleared before the error.
  st=0
  on_tty bad "$tmp/bad.csv" || st=$?
  check "tty, error: exits non-zero" test "$st" -ne 0
  check "tty, error: a bar" has_bar "$tmp/bad.out"
  check "tty, error: the message on a clean line" \
    cleared_before "$tmp/bad.out" '[^\r\n]*bad.csv:[0-9]*:[0-9]*: expected 8'
  # a read from standard input has no known size: no bar
  printf 'local sl = require "scalelua"\nprint(#sl.read_csv("-"))\n' \
    >"$tmp/stdin.lua"
  script -qec "\"$SL\" \"$tmp/stdin.lua\" <\"$tmp/big.csv\"" /dev/null \
    </dev/null >"$tmp/stdin.out"
  check "tty, standard input: no bar" no_bar "$tmp/stdin.out" "$big_rows"
else
  echo "script(1) not installed: terminal cases skipped"
fi
done_ progress
