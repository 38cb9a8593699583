#!/bin/sh
# Runs every test: the C unit tests (build/tests/test_*), the Lua tests
# (tests/lua/test_*.lua through build/scalelua) and the example tests
# (tests/examples/*.sh).  Each prints a last line "name: N passed, N failed";
# this adds them up and ends with the same line for the whole suite.
B=${B:-build}
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top" || exit 1
export SCALELUA_TEST_BUILD="$top/$B"
total_p=0
total_f=0
log=$(mktemp)
trap 'rm -f "$log"' EXIT

run() {  # name, command...
  name=$1
  shift
  start=$(date +%s%N)
  "$@" >"$log" 2>&1
  rc=$?
  ms=$(( ($(date +%s%N) - start) / 1000000 ))
  last=$(grep -E '[0-9]+ passed, [0-9]+ failed' "$log" | tail -n 1)
  p=$(printf '%s\n' "$last" | sed -n 's/.* \([0-9][0-9]*\) passed.*/\1/p')
  f=$(printf '%s\n' "$last" | sed -n 's/.*passed, \([0-9][0-9]*\) failed.*/\1/p')
  [ -n "$p" ] || p=0
  [ -n "$f" ] || f=0
  if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then f=1; fi  # crashed or no summary
  if [ "$p" -eq 0 ] && [ "$f" -eq 0 ]; then f=1; fi  # ran nothing
  total_p=$((total_p + p))
  total_f=$((total_f + f))
  if [ "$f" -ne 0 ]; then
    echo "FAIL $name ($p passed, $f failed, exit $rc, ${ms} ms)"
    sed 's/^/    /' "$log" | tail -n 40
  else
    echo "ok   $name ($p passed, ${ms} ms)"
  fi
}

for t in "$B"/tests/test_*; do
  [ -x "$t" ] || continue
  run "c/$(basename "$t")" "$t"
done
for t in tests/lua/test_*.lua; do
  [ -f "$t" ] || continue
  run "lua/$(basename "$t" .lua)" "$B/scalelua" "$t"
done
for t in tests/examples/*.sh; do
  [ -f "$t" ] || continue
  run "examples/$(basename "$t" .sh)" sh "$t"
done
echo "$total_p passed, $total_f failed"
[ "$total_f" -eq 0 ]
