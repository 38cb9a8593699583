# Shared by the example tests: `check NAME COMMAND...` counts a pass when the
# command succeeds; `done_ NAME` prints the summary line.
B=${SCALELUA_TEST_BUILD:-build}
SL="$B/scalelua"
pass=0
fail=0
check() {
  what=$1
  shift
  if "$@"; then
    pass=$((pass + 1))
  else
    fail=$((fail + 1))
    echo "FAIL $what"
  fi
}
done_() {
  echo "$1: $pass passed, $fail failed"
  [ "$fail" -eq 0 ]
}
