#!/bin/sh
# Running other people's recipes: scalelua --safe refuses each forbidden
# operation by name (and it does not happen), writes only inside the
# output directory (absolute paths, "..", symbolic links and hard links to
# outside refused, the core's writers included), runs the MoBA recipe;
# --max-memory stops Lua allocations and the core's (read_csv, column
# arithmetic); --max-time stops loops, pcall loops, C calls, coroutines
# and finalizers within bounded time and leaves written files whole.
. tests/examples/common.inc
top=$(pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
work="$tmp/work"
outside="$tmp/outside"
mkdir -p "$work/out/sub" "$outside"
echo secret >"$outside/secret.txt"
echo original >"$outside/hardsrc.txt"
ln -s "$outside/secret.txt" "$work/out/link_file"
ln -s "$outside" "$work/out/link_dir"
ln -s "$outside/missing.txt" "$work/out/dangling"
ln "$outside/hardsrc.txt" "$work/out/hard.txt" 2>/dev/null
ln -s "$work/out/sub" "$work/out/link_inside"

# run ARGS...: scalelua in $work; stdout in $tmp/o, stderr in $tmp/e,
# exit status in $rc.  Sanitizer reports (make sanitize) are counted:
# many runs here are meant to fail, which would hide them.
san=0
run() {
  (cd "$work" && "$SL" "$@" >"$tmp/o" 2>"$tmp/e")
  rc=$?
  if grep -qE 'Sanitizer|runtime error:' "$tmp/e"; then
    san=$((san + 1))
    echo "SANITIZER REPORT: $*"
    head -n 20 "$tmp/e"
  fi
}
# safe CODE: CODE as a recipe file under --safe --outdir out
safe() {
  printf '%s\n' "$1" >"$tmp/r.lua"
  run --safe --outdir out "$tmp/r.lua"
}
err_has() { grep -qF -e "$1" "$tmp/e"; }
out_is() { [ "$(cat "$tmp/o")" = "$1" ]; }
show() { sed 's/^/    /' "$tmp/e" | head -n 5; }

# refused NAME CODE: fails with "--safe: NAME is not allowed"
refused() {
  safe "$2"
  [ "$rc" -eq 1 ] && err_has "--safe: $1 is not allowed" && return 0
  echo "    exit $rc"
  show
  return 1
}
check "os.execute" refused os.execute 'os.execute("touch ran")'
check "os.execute did not run" [ ! -e "$work/ran" ]
check "io.popen" refused io.popen 'io.popen("touch ran")'
check "os.remove" refused os.remove 'os.remove("out/sub")'
check "os.remove removed nothing" [ -d "$work/out/sub" ]
check "os.rename" refused os.rename 'os.rename("out/sub", "out/moved")'
check "os.exit" refused os.exit 'os.exit(0)'
check "os.tmpname" refused os.tmpname 'print(os.tmpname())'
check "os.getenv" refused os.getenv 'print(os.getenv("HOME"))'
check "os.setlocale (a change)" refused os.setlocale 'os.setlocale("C")'
check "io.tmpfile" refused io.tmpfile 'io.tmpfile()'
check "package.loadlib" refused package.loadlib \
  'package.loadlib("libc.so.6", "puts")'
printf 'print("evil module ran")\n' >"$outside/evil.lua"
check "require from package.path" refused "require 'evil'" \
  "package.path = '$outside/?.lua'; require 'evil'"
check "the module did not run" sh -c '! grep -q "evil module ran" "$1"' - "$tmp/o"
check "require of a C module" refused "require 'lpeg'" \
  "package.cpath = '/usr/lib/x86_64-linux-gnu/lua/5.4/?.so'; require 'lpeg'"
check "load of a binary chunk" refused "load of binary chunks" \
  'load(string.dump(function() return 1 end))'
check "load with mode b" refused "load of binary chunks" \
  'load("return 1", "x", "b")'
check "load with mode bt" refused "load of binary chunks" \
  'load("return 1", "x", "bt")'
"$SL" -e "local f = assert(io.open('$outside/chunk.luac', 'wb'))
f:write(string.dump(function() return 42 end)) f:close()"
check "loadfile of a binary chunk" refused "loadfile of binary chunks" \
  "loadfile('$outside/chunk.luac')"
check "dofile of a binary chunk" refused "loadfile of binary chunks" \
  "dofile('$outside/chunk.luac')"
check "debug.getinfo" refused debug.getinfo 'debug.getinfo(1)'
check "debug.sethook" refused debug.sethook 'debug.sethook(print, "l")'
check "debug.getupvalue" refused debug.getupvalue 'debug.getupvalue(io.open, 1)'
check "debug.getregistry" refused debug.getregistry 'debug.getregistry()'
check "the message names the recipe line" err_has "r.lua:1: --safe:"
run --safe -l lpeg -e 'print(1)'
check "-l of a module from the file system" [ "$rc" -eq 1 ]
check "  refused by name" err_has "--safe: require 'lpeg' is not allowed"
run --safe -e 'os.execute("touch ran")'
check "-e runs in the sandbox too" sh -c '[ "$1" -eq 1 ] && [ ! -e "$2" ]' - "$rc" "$work/ran"
printf 'os.execute("touch ran")\n' >"$tmp/r.lua"
run "$tmp/r.lua" --safe
check "--safe after the recipe holds" sh -c '[ "$1" -eq 1 ] && [ ! -e "$2" ]' - "$rc" "$work/ran"
(cd "$work" && printf 'print(os.getenv("HOME"))\n' | "$SL" --safe - >"$tmp/o" 2>"$tmp/e")
check "a recipe on standard input" err_has "--safe: os.getenv is not allowed"

# what stays: reading anywhere, text chunks, clocks, the scalelua modules
safe "print(io.open('$outside/secret.txt'):read('l'), #io.lines('$outside/secret.txt')())
print(load('return 6 * 7')(), type(os.clock()), os.time() > 0, #os.date('%Y'))
print(require('scalelua') == sl, require('string') == string, os.setlocale())
print((debug.traceback('tb'):gsub('\\n.*', '')))
local f = load(function() return nil end) print(type(f))"
check "allowed functions work" out_is "secret	6
42	number	true	4
true	true	C
tb
function"
check "  (exit 0)" [ "$rc" -eq 0 ]
run --safe -e 'help("Table") t = sl.read_csv_string("x,y\n1,2")
print(table.concat(require("scalelua.help").complete("t:gr"), " "))'
check "help and completion work in the sandbox" sh -c \
  '[ "$1" -eq 0 ] && grep -q "^Table: named columns" "$2" && grep -qx "t:group_by" "$2"' \
  - "$rc" "$tmp/o"
safe 'local c = package.preload["scalelua.core"]()
print(c == require("scalelua.core"))
c.write_json("/tmp/scalelua-safe-escape.json", {1})'
check "a second scalelua.core has the guarded writers" sh -c \
  '[ "$1" -eq 1 ] && [ "$(cat "$2")" = true ] && [ ! -e /tmp/scalelua-safe-escape.json ]' \
  - "$rc" "$tmp/o"

# writes
wrote() { # CODE FILE: the recipe succeeds and FILE holds "ok"
  safe "$1"
  [ "$rc" -eq 0 ] && [ "$(cat "$2" 2>/dev/null)" = ok ] && return 0
  show
  return 1
}
check "io.open inside the output directory" wrote \
  'local f = assert(io.open("out/a.txt", "w")) f:write("ok") f:close()' "$work/out/a.txt"
check "in a subdirectory, through a link inside" wrote \
  'local f = assert(io.open("out/link_inside/b.txt", "w")) f:write("ok") f:close()' \
  "$work/out/sub/b.txt"
check "\"..\" that stays inside" wrote \
  'local f = assert(io.open("out/sub/../c.txt", "w")) f:write("ok") f:close()' \
  "$work/out/c.txt"
check "io.output inside" wrote \
  'io.output("out/d.txt") io.write("ok") io.close()' "$work/out/d.txt"
check "append inside" wrote \
  'local f = assert(io.open("out/e.txt", "a")) f:write("ok") f:close()' "$work/out/e.txt"
safe 'local t = sl.read_csv_string("run,loss\nr1,2.5\nr2,2.25")
t:write_csv("out/t.csv") sl.write_csv(t, "out/t2.csv")
sl.write_json("out/t.json", {rows = #t}) t:write_csv("-")'
check "write_csv, write_json inside (and to stdout)" sh -c \
  '[ "$1" -eq 0 ] && [ -s "$2/t.csv" ] && [ -s "$2/t2.csv" ] && grep -q "\"rows\": 2" "$2/t.json" && grep -q "^r2,2.25$" "$3"' \
  - "$rc" "$work/out" "$tmp/o"

# wrefused FN PATH CODE WHY: fails with "--safe: FN: 'PATH' WHY", and
# nothing appeared outside
wrefused() {
  before=$(ls -A "$outside" "$tmp" | wc -l)
  safe "$3"
  after=$(ls -A "$outside" "$tmp" | wc -l)
  [ "$rc" -eq 1 ] && err_has "--safe: $1: '$2' $4" && [ "$before" = "$after" ] &&
    [ "$(cat "$outside/secret.txt")" = secret ] &&
    [ "$(cat "$outside/hardsrc.txt")" = original ] && [ ! -e "$work/new.txt" ] &&
    return 0
  echo "    exit $rc ($before/$after entries outside)"
  show
  return 1
}
check "io.open of an absolute path outside" wrefused io.open "$outside/new.txt" \
  "io.open('$outside/new.txt', 'w')" "is outside the output directory $work/out"
check "io.open of ../" wrefused io.open "out/../new.txt" \
  'io.open("out/../new.txt", "w")' "is outside the output directory"
check "io.open of the current directory" wrefused io.open "new.txt" \
  'io.open("new.txt", "w")' "is outside the output directory"
check "io.open \"r+\" outside" wrefused io.open "$outside/secret.txt" \
  "io.open('$outside/secret.txt', 'r+')" "is outside the output directory"
check "io.open through a link to a file outside" wrefused io.open "out/link_file" \
  'io.open("out/link_file", "w")' "is a symbolic link to $outside/secret.txt"
check "io.open through a link to a directory outside" wrefused io.open \
  "out/link_dir/new.txt" 'io.open("out/link_dir/new.txt", "a")' \
  "is outside the output directory"
check "io.open of a dangling link" wrefused io.open "out/dangling" \
  'io.open("out/dangling", "w")' "is a symbolic link that cannot be resolved"
if [ -f "$work/out/hard.txt" ]; then
  check "io.open of a hard link to a file outside" wrefused io.open \
    "out/hard.txt" 'io.open("out/hard.txt", "w")' "has other hard links"
fi
check "io.open of a directory name" wrefused io.open "out/.." \
  'io.open("out/..", "w")' "is not a file name"
check "io.output outside" wrefused io.output "$outside/new.txt" \
  "io.output('$outside/new.txt')" "is outside the output directory"
check "write_csv outside" wrefused write_csv "$outside/t.csv" \
  "sl.read_csv_string('a\\n1'):write_csv('$outside/t.csv')" "is outside"
check "sl.write_csv through a link" wrefused write_csv "out/link_dir/t.csv" \
  "sl.write_csv(sl.read_csv_string('a\\n1'), 'out/link_dir/t.csv')" "is outside"
check "write_csv over a link to outside" wrefused write_csv "out/link_file" \
  "sl.read_csv_string('a\\n1'):write_csv('out/link_file')" "is a symbolic link to"
check "write_json outside" wrefused write_json "../new.json" \
  'sl.write_json("../new.json", {1})' "is outside"
check "render outside (the core function)" wrefused render "$outside/f.png" \
  "local core = require 'scalelua.core' core.render(core.chart(), nil, '$outside/f.png')" \
  "is outside"
moba="local e = sl.experiment { data = '$top/examples/moba/data/trailing_32k.csv',
  compute = {}, y = 'trailing_loss', series = 'method', curve = 'run',
  envelope = true, fit = 'powerlaw' }"
check "a chart to a path outside" wrefused render "$outside/f.png" \
  "$moba sl.chart { data = e, output = '$outside/f.png' }" "is outside"
check "sl.outdir changed by the recipe" wrefused render "$outside/f.svg" \
  "sl.outdir = '$outside' $moba sl.chart { data = e, output = 'f.svg' }" "is outside"
check "experiment results outside" wrefused write_json "$outside/r.json" \
  "sl.outdir = '$outside' sl.experiment { data = '$top/examples/moba/data/trailing_32k.csv',
  compute = {}, y = 'trailing_loss', results = 'r.json' }" "is outside"

# the output directory
printf 'local f = assert(io.open("here.txt", "w")) f:write("ok") f:close()\n' >"$tmp/r.lua"
run --safe "$tmp/r.lua"
check "without --outdir: the current directory" sh -c \
  '[ "$1" -eq 0 ] && [ "$(cat "$2")" = ok ]' - "$rc" "$work/here.txt"
run --safe --outdir nowhere -e 'print(1)'
check "--outdir that does not exist" sh -c \
  '[ "$1" -eq 1 ] && grep -q "output directory .nowhere.: No such file" "$2"' - "$rc" "$tmp/e"

# the MoBA recipe
mkdir "$tmp/moba"
(cd "$tmp" && "$SL" --safe --outdir moba "$top/examples/moba/figure.lua" >"$tmp/o" 2>"$tmp/e")
rc=$?
grep -qE 'Sanitizer|runtime error:' "$tmp/e" && san=$((san + 1))
check "MoBA under --safe runs" [ "$rc" -eq 0 ]
check "  figures in the output directory" sh -c \
  '[ -s "$1/moba_trailing_loss.png" ] && [ -s "$1/moba_trailing_loss.svg" ]' - "$tmp/moba"
check "  laws reported" grep -q "MoBA *L = 1.54[0-9] x C^-0.10[0-9]" "$tmp/o"
check "  nothing else written" sh -c '[ "$(ls "$1" | wc -l)" -eq 2 ]' - "$tmp/moba"

# --max-memory
elapsed_ok() { [ $(( ($(date +%s%N) - t0) / 1000000 )) -lt "$1" ]; }
memhit() { # LIMIT-TEXT ARGS...: fails with "memory limit of LIMIT-TEXT reached"
  lim=$1
  shift
  run "$@"
  [ "$rc" -eq 1 ] && err_has "scalelua: memory limit of $lim reached" && return 0
  echo "    exit $rc"
  show
  return 1
}
t0=$(date +%s%N)
check "a Lua allocation loop" memhit "64 MiB" --max-memory 64M -e \
  'local t = {} for i = 1, 1e9 do t[i] = {i} end'
check "  stopped soon (< 20 s)" elapsed_ok 20000
check "one large string" memhit "64 MiB" --max-memory 64M -e \
  'local s = string.rep("x", 100 * 2^20)'
check "a large table.concat" memhit "32 MiB" --max-memory 32M -e \
  'local t = {} for i = 1, 4e5 do t[i] = "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx" end
local s = table.concat(t) print(#s)'
check "column arithmetic in the core" memhit "64 MiB" --max-memory 64M -e \
  'local a = {} for i = 1, 1e6 do a[i] = i end
local c, keep = sl.column(a), {}
for i = 1, 100 do keep[i] = c * 2 end'
check "  the core's error follows" err_has "out of memory"
awk 'BEGIN { print "a,b,c"; for (i = 1; i <= 1000000; i++) print i "," i * 2 "," i / 4 }' \
  >"$tmp/big.csv"
check "read_csv of 21 MB in 16 MiB" memhit "16 MiB" --max-memory 16M -e \
  "print(#sl.read_csv('$tmp/big.csv'))"
SCALELUA_THREADS=2 run --max-memory 16M -e "print(#sl.read_csv('$tmp/big.csv'))"
check "  with two reader threads" sh -c \
  '[ "$1" -eq 1 ] && grep -q "memory limit of 16 MiB reached" "$2"' - "$rc" "$tmp/e"
run --max-memory 256M -e "print(#sl.read_csv('$tmp/big.csv'))"
check "  and in 256 MiB it reads" sh -c '[ "$1" -eq 0 ] && [ "$(cat "$2")" = 1000000 ]' \
  - "$rc" "$tmp/o"
run --max-memory 64M -e 'local ok, e = pcall(string.rep, "x", 100 * 2^20)
print(ok, e, #string.rep("y", 1000))'
check "a recipe may catch the error and go on" sh -c \
  '[ "$1" -eq 0 ] && [ "$(cat "$2")" = "false	not enough memory	1000" ]' - "$rc" "$tmp/o"
# a grid of 1e9 points: 8 GB asked of the core at once
huge='sl.envelope({{x = {1, 2, 3}, y = {3, 2, 1}}}, {grid = 1e9})'
check "--safe caps at 4 GiB by default" memhit "4 GiB" --safe -e "$huge"
check "1.5G reads as 1.5 GiB" memhit "1.5 GiB" --max-memory 1.5G -e "$huge"
printf 'local s = string.rep("x", 100 * 2^20)\n' >"$tmp/big.lua"
check "--max-memory after the recipe" memhit "64 MiB" "$tmp/big.lua" --max-memory 64M
run --max-memory lots -e 'print(1)'
check "a bad size is refused" sh -c \
  '[ "$1" -eq 1 ] && grep -q "needs a size such as 512M" "$2"' - "$rc" "$tmp/e"
run --max-memory 0 -e 'print(#string.rep("x", 100 * 2^20))'
check "0: no cap" out_is 104857600

# --max-time
timehit() { # MS ARGS...: fails with the time limit, in less than MS
  ms=$1
  shift
  t0=$(date +%s%N)
  run "$@"
  took=$(( ($(date +%s%N) - t0) / 1000000 ))
  [ "$rc" -eq 1 ] && err_has "scalelua: time limit of 1 s reached" &&
    [ "$took" -lt "$ms" ] && [ "$took" -ge 900 ] && return 0
  echo "    exit $rc after $took ms"
  show
  return 1
}
check "an endless loop" timehit 5000 --max-time 1 -e 'while true do end'
check "  the traceback says where" err_has "(command line):1: in main chunk"
check "a loop that catches the error" timehit 5000 --max-time 1 -e \
  'while true do pcall(function() while true do end end) end'
check "xpcall with a handler" timehit 5000 --max-time 1 -e \
  'while true do xpcall(function() while true do end end, function(m) return m end) end'
printf 'while true do local s = 0 for i = 1, 100 do s = s + i end end\n' >"$tmp/loop.lua"
check "a recipe under --safe" timehit 5000 --safe --max-time 1 --outdir out "$tmp/loop.lua"
check "a C call that does not return (hard stop)" timehit 8000 --max-time 1 -e \
  'string.find(string.rep("a", 40), string.rep("a*", 40) .. "b")'
check "  said so" err_has "still running 2 s later"
check "a loop in a coroutine (hard stop)" timehit 8000 --max-time 1 -e \
  'coroutine.wrap(function() while true do end end)()'
t0=$(date +%s%N)
run --max-time 1 -e 'setmetatable({}, {__gc = function() while true do end end}) print("ran")'
check "a finalizer that never ends" sh -c \
  '[ "$1" -eq 1 ] && grep -q "finalizers (__gc) still running 2 s after the end" "$2" && [ "$(cat "$3")" = ran ]' \
  - "$rc" "$tmp/e" "$tmp/o"
check "  stopped (< 8 s)" elapsed_ok 8000
run --max-time 1 -e 'sl.write_json("out/before.json", {done = true}) while true do end'
check "a file written before the limit is whole" sh -c \
  '[ "$1" -eq 1 ] && grep -q "\"done\": true" "$2/before.json" && [ -z "$(ls -A "$2" | grep tmp-)" ]' \
  - "$rc" "$work/out"
run --max-time 2 -e 'local s = 0 for i = 1, 1e6 do s = s + i end print(s)'
check "a quick run is unaffected" sh -c '[ "$1" -eq 0 ] && [ "$(cat "$2")" = 500000500000 ]' \
  - "$rc" "$tmp/o"
run --max-time soon -e 'print(1)'
check "a bad time is refused" sh -c \
  '[ "$1" -eq 1 ] && grep -q "needs a number of seconds" "$2"' - "$rc" "$tmp/e"
check "no sanitizer reports ($san)" [ "$san" -eq 0 ]
done_ safe
