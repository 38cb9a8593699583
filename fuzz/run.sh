#!/bin/sh
# Runs each libFuzzer target for a while: fuzz/run.sh BUILD SECONDS TARGET...
# Each target starts from its seed corpus (fuzz/corpus/<target>, copied to
# BUILD/corpus/<target> so new inputs do not land in the repository) and
# writes any crashing input to BUILD/findings/<target>-crash-*.  Prints one
# line per target ("csv: 1234567 executions, 0 crashes") and fails if any
# target found a crash, a leak or a timeout.
B=$1
secs=$2
shift 2
mkdir -p "$B/findings"
status=0
for t in "$@"; do
  corpus="$B/corpus/$t"
  mkdir -p "$corpus"
  cp fuzz/corpus/"$t"/* "$corpus"/ 2>/dev/null
  dict=
  [ -f "fuzz/$t.dict" ] && dict="-dict=fuzz/$t.dict"
  case $t in
    num) maxlen=1200 ;;
    ticks) maxlen=18 ;;
    *) maxlen=4096 ;;
  esac
  log="$B/$t.log"
  "$B/${t}_fuzz" -max_total_time="$secs" -max_len="$maxlen" -timeout=20 \
    -rss_limit_mb=2560 -print_final_stats=1 \
    -artifact_prefix="$B/findings/$t-" $dict "$corpus" >"$log" 2>&1
  rc=$?
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
  found=$(ls "$B/findings" | grep -c "^$t-")
  echo "$t: ${execs:-?} executions, $found findings (exit $rc; log $log)"
  if [ "$rc" -ne 0 ] || [ "$found" -ne 0 ]; then
    status=1
    grep -E "ERROR|SUMMARY|_fuzz: |Test unit written" "$log" | head -n 8
  fi
done
exit $status
