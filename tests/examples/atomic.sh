#!/bin/sh
# Atomic outputs: a recipe rendering fig.png and fig.svg over existing files
# is killed with SIGKILL at random moments (30 times, spread over a run's
# duration).  After each kill every target must be byte-identical to the
# complete old or the complete new figure (reference copies), never
# truncated.  A killed renderer may leave its temporary file: it must be
# recognisable (.fig.png.tmp-PID-XXXXXX, PID the killed process) and gone
# after the next complete render, which also leaves no temporary file of
# its own.
. tests/examples/common.inc
top=$(pwd)
d=$(mktemp -d)
trap 'rm -rf "$d"' EXIT
cat >"$d/fig.lua" <<'EOF'
-- arg[1] = 1 or 2: two versions of the same figure
local sl = require "scalelua"
local v = tonumber(arg[1])
local run, x, y = {}, {}, {}
for r = 1, 4 do
  for i = 1, 1000 do
    local c = 1e-3 * 1.008 ^ i * r
    run[#run + 1], x[#x + 1] = "r" .. r, c
    y[#y + 1] = (2 + 0.1 * r) * c ^ (-0.05 * v) + 0.01 * math.sin(i / (7 * v))
  end
end
local e = sl.experiment { data = sl.table { run = run, x = x, y = y },
  x = "x", y = "y", curve = "run", envelope = true, fit = "powerlaw" }
sl.chart { data = e, title = "version " .. v, layers = { "curves", "envelope", "projection" },
  size = { 3, 2 }, dpi = 60, output = { "fig.png", "fig.svg" } }
EOF

# References: the complete old (1) and new (2) figures, and the time a run
# takes (to spread the kills over it).
mkdir "$d/ref1" "$d/ref2" "$d/work"
(cd "$d/ref1" && "$SL" "$d/fig.lua" 1) || echo "FAIL reference 1"
start=$(date +%s%N)
(cd "$d/ref2" && "$SL" "$d/fig.lua" 2) || echo "FAIL reference 2"
ms=$(( ($(date +%s%N) - start) / 1000000 ))
start=$(date +%s%N)
(cd "$d/work" && "$SL" "$d/fig.lua" 2 && cmp -s fig.png ../ref2/fig.png &&
  cmp -s fig.svg ../ref2/fig.svg)
check "the same recipe gives the same bytes" [ $? -eq 0 ]
ms=$(( (ms + ($(date +%s%N) - start) / 1000000) / 2 ))
cp "$d/ref1/fig.png" "$d/ref1/fig.svg" "$d/work/"

whole() {  # target: old or new, complete
  cmp -s "$d/work/$1" "$d/ref1/$1" || cmp -s "$d/work/$1" "$d/ref2/$1"
}
temps() { ls -A "$d/work" | grep -c '\.tmp-'; }
killed=""
old=0 new=0 left=0 i=0 bad_name=0
for delay in $(awk -v n=30 -v t="$ms" 'BEGIN { srand(20261129)
    for (i = 0; i < n; i++) printf "%.3f\n", rand() * t * 1.5 / 1000 }'); do
  i=$((i + 1))
  v=$((i % 2 + 1))
  (cd "$d/work" && exec "$SL" "$d/fig.lua" "$v") >/dev/null 2>&1 &
  pid=$!
  sleep "$delay"
  kill -9 "$pid" 2>/dev/null
  wait "$pid" 2>/dev/null
  killed="$killed $pid"
  for f in fig.png fig.svg; do
    check "kill $i after ${delay}s: $f whole" whole "$f"
  done
  if cmp -s "$d/work/fig.svg" "$d/ref1/fig.svg"; then old=$((old + 1)); else new=$((new + 1)); fi
  # leftovers: .fig.(png|svg).tmp-PID-XXXXXX of a killed process only
  for t in $(ls -A "$d/work" | grep '\.tmp-'); do
    left=$((left + 1))
    p=$(printf '%s\n' "$t" | sed -n 's/^\.fig\.\(png\|svg\)\.tmp-\([0-9][0-9]*\)-[A-Za-z0-9]\{6\}$/\2/p')
    case " $killed " in
      *" $p "*) [ -n "$p" ] || bad_name=$((bad_name + 1)) ;;
      *) bad_name=$((bad_name + 1)); echo "unexpected file $t" ;;
    esac
  done
done
echo "30 kills within ~$(( ms * 15 / 10 )) ms of the start: the svg held version 1 after $old," \
  "version 2 after $new; $left temporary files left by killed renderers"
check "leftovers are named .NAME.tmp-PID-XXXXXX of a killed PID" [ "$bad_name" -eq 0 ]

# A complete render removes the leftovers and leaves none of its own.
(cd "$d/work" && "$SL" "$d/fig.lua" 1 >/dev/null)
check "complete render succeeds" [ $? -eq 0 ]
check "no temporary file after a complete render ($(temps) left)" [ "$(temps)" -eq 0 ]
check "png is the new one" cmp -s "$d/work/fig.png" "$d/ref1/fig.png"
check "svg is the new one" cmp -s "$d/work/fig.svg" "$d/ref1/fig.svg"
check "nothing else in the directory" [ "$(ls -A "$d/work" | wc -l)" -eq 2 ]
cd "$top" || exit 1
done_ atomic
