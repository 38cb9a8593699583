#!/bin/sh
# scalelua --watch: reruns the recipe when its data or the recipe itself
# changes (appended rows, a new file matching a glob, an editor's
# rename-over), keeps going after an error, ignores unrelated files, and
# stops on Ctrl-C (SIGINT).  Every wait is bounded (5 s).
. tests/examples/common.inc
tmp=$(mktemp -d)
pid=""
cleanup() {
  [ -n "$pid" ] && kill "$pid" 2>/dev/null
  rm -rf "$tmp"
}
trap cleanup EXIT

mkdir "$tmp/logs"
printf 'run,step,loss\nr1,1,3.0\nr1,2,2.5\n' >"$tmp/data.csv"
printf 'run,step,loss\nr2,1,3.2\n' >"$tmp/logs/a.csv"
cat >"$tmp/recipe.lua" <<'EOF'
local sl = require "scalelua"
local t = sl.read_csv(sl.here("data.csv"))
local g = sl.read_csv(sl.here("logs/*.csv"))
sl.write_json(sl.here("out.json"), { rows = #t, logs = #g, min = t.loss:min() })
print("rows " .. #t .. " logs " .. #g)
EOF

# wait_until CMD...: up to 5 s for CMD to succeed
wait_until() {
  i=0
  while [ $i -lt 50 ]; do
    "$@" && return 0
    sleep 0.1
    i=$((i + 1))
  done
  return 1
}
runs() { grep -c 'watch: run [0-9]* ' "$tmp/err" 2>/dev/null || echo 0; }
has_runs() { [ "$(runs)" -ge "$1" ]; }
out_has() { grep -q "$1" "$tmp/out.json" 2>/dev/null; }

check "--watch needs a recipe" sh -c '! "$1" --watch 2>/dev/null'  - "$SL"
check "--watch refuses stdin" sh -c 'echo "print(1)" | "$1" --watch - 2>/dev/null; [ $? -ne 0 ]' - "$SL"

(cd "$tmp" && exec "$SL" --watch recipe.lua >"$tmp/out" 2>"$tmp/err") &
pid=$!
check "first run" wait_until out_has '"rows": 2'
check "first run reported" wait_until grep -q 'watch: run 1 ok .*watching 3 files and a pattern' "$tmp/err"

m1=$(stat -c %Y.%y "$tmp/out.json")
printf 'r1,3,2.25\nr1,4,2.0\n' >>"$tmp/data.csv"
check "appended rows rerun the recipe" wait_until out_has '"rows": 4'
check "the line names the change" wait_until grep -q 'watch: run 2 ok .*(data.csv changed)' "$tmp/err"
check "output file rewritten" sh -c '[ "$(stat -c %Y.%y "$1")" != "$2" ]' - "$tmp/out.json" "$m1"

printf 'run,step,loss\nr3,1,3.1\nr3,2,2.9\n' >"$tmp/logs/b.csv"
check "a new file matching the glob" wait_until out_has '"logs": 3'

# an unrelated file in a watched directory does not rerun
n=$(runs)
echo notes >"$tmp/notes.txt"
echo x >"$tmp/logs/readme.txt"
sleep 0.5
check "unrelated files ignored ($n runs)" [ "$(runs)" -eq "$n" ]

# a broken recipe: the error is shown, the watcher keeps going
printf 'local x = \n' >>"$tmp/recipe.lua"
check "error reported" wait_until grep -q 'watch: run [0-9]* FAILED' "$tmp/err"
check "error message shown" grep -q "recipe.lua:[0-9]*: unexpected symbol" "$tmp/err"
check "still running after the error" kill -0 "$pid"
# fixed the way editors save: a new file renamed over the old one
n=$(runs)
head -n 5 "$tmp/recipe.lua" >"$tmp/recipe.new"
echo 'print("fixed")' >>"$tmp/recipe.new"
mv "$tmp/recipe.new" "$tmp/recipe.lua"
check "rename-over reruns" wait_until has_runs $((n + 1))
check "fixed recipe ran" wait_until grep -q '^fixed$' "$tmp/out"
check "last run ok" sh -c 'grep "watch: run" "$1" | tail -n 1 | grep -q " ok .*(recipe.lua changed)"' - "$tmp/err"
check "recipe output" grep -q '^rows 4 logs 3$' "$tmp/out"

# one rerun for a burst of writes (debounce)
n=$(runs)
for k in 5 6 7 8 9; do printf 'r1,%s,1.9\n' "$k" >>"$tmp/data.csv"; done
check "burst picked up" wait_until out_has '"rows": 9'
sleep 0.4
check "burst gave one or two runs" sh -c 'r=$(grep -c "watch: run" "$1"); [ $((r - $2)) -ge 1 ] && [ $((r - $2)) -le 2 ]' - "$tmp/err" "$n"

# --outdir after the recipe holds for every run
mkdir "$tmp/od"
printf 'print("outdir " .. tostring(require("scalelua").outdir))\n' >"$tmp/od.lua"
(cd "$tmp" && exec "$SL" --watch od.lua --outdir "$tmp/od" >"$tmp/od.out" 2>"$tmp/od.err") &
pid2=$!
check "outdir: first run" wait_until grep -q "outdir $tmp/od" "$tmp/od.out"
echo '-- edited' >>"$tmp/od.lua"
check "outdir: second run" wait_until sh -c '[ "$(grep -c "^outdir $2$" "$1")" -eq 2 ]' - "$tmp/od.out" "$tmp/od"
kill -INT "$pid2"
wait "$pid2"

# Ctrl-C ends it, with status 0
kill -INT "$pid"
check "SIGINT stops the watcher" wait_until sh -c '! kill -0 "$1" 2>/dev/null' - "$pid"
wait "$pid"
rc=$?
pid=""
check "exit status 0 ($rc)" [ "$rc" -eq 0 ]
done_ watch
