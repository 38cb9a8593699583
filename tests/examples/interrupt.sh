#!/bin/sh
# Ctrl-C stops the running computation, not the REPL: a long Lua loop at
# once, a long C call when it returns; after it the next command works
# (no hook left behind).  Non-interactively SIGINT ends a run with
# "interrupted!" and status 1, and a second one kills a C call that never
# returns.  --max-time and --max-memory in the REPL stop one line and the
# session goes on.
# The REPL is driven through tmux (scripts/install-deps installs it), else
# through script(1).  Every wait is bounded.
. tests/examples/common.inc
top=$(pwd)
tmp=$(mktemp -d)
sock="$tmp/tmux.sock"
pid=""
cleanup() {
  [ -n "$pid" ] && kill -KILL "$pid" 2>/dev/null
  [ -S "$sock" ] && tmux -S "$sock" kill-server 2>/dev/null
  rm -rf "$tmp"
}
trap cleanup EXIT
export HOME="$tmp"

# wait_file FILE TEXT: up to 10 s for TEXT in FILE
wait_file() {
  i=0
  while [ $i -lt 100 ]; do
    grep -qF -e "$2" "$1" 2>/dev/null && return 0
    sleep 0.1
    i=$((i + 1))
  done
  return 1
}
# wait_exit: up to 60 s for $pid to end; its status in $rc
wait_exit() {
  i=0
  while kill -0 "$pid" 2>/dev/null && [ $i -lt 600 ]; do
    sleep 0.1
    i=$((i + 1))
  done
  if kill -0 "$pid" 2>/dev/null; then
    rc=999
    return 1
  fi
  wait "$pid"
  rc=$?
  pid=""
  cat "$tmp/e" >>"$tmp/all" # for the sanitizers' reports
  return 0
}

# A C call of about 1-3 s: ".-b" over 20000 characters, quadratic in C
slow_c='local s = string.rep("a", 2e4) local r = s:find(".-b")'
# A C call that returns when the test says so: opening a named pipe
# (open(2) waits for a writer)
mkfifo "$tmp/fifo"
read_fifo="local r = io.open('$tmp/fifo'):read('l')"
# let_it_return: open the pipe for writing (at most 10 s)
let_it_return() { timeout 10 sh -c 'echo line >"$1"' - "$tmp/fifo"; }

# ---- non-interactive: kill -INT
"$SL" -e 'io.stderr:write("ready\n") while true do end' 2>"$tmp/e" &
pid=$!
check "loop started" wait_file "$tmp/e" ready
kill -INT "$pid"
wait_exit
check "SIGINT ends a Lua loop (status 1)" [ "$rc" -eq 1 ]
check "  with \"interrupted!\"" grep -q "interrupted!" "$tmp/e"
check "  and a traceback" grep -q "(command line):1: in main chunk" "$tmp/e"

"$SL" -e "io.stderr:write('ready\n') $slow_c io.stderr:write('returned\n')" \
  2>"$tmp/e" &
pid=$!
check "C call started" wait_file "$tmp/e" ready
sleep 0.2
kill -INT "$pid"
wait_exit
check "SIGINT during a C call: status 1 when it returns" [ "$rc" -eq 1 ]
check "  interrupted at the return of string.find" sh -c \
  'grep -q "interrupted!" "$1" && grep -q "in function .string.find." "$1"' - "$tmp/e"
check "  and nothing after it ran" sh -c '! grep -q returned "$1"' - "$tmp/e"

"$SL" -e "io.stderr:write('ready\n') $read_fifo io.stderr:write('returned\n')" \
  2>"$tmp/e" &
pid=$!
check "blocking C call started" wait_file "$tmp/e" ready
sleep 0.2
kill -INT "$pid"
sleep 0.3
check "SIGINT waits for the C call" kill -0 "$pid"
let_it_return
wait_exit
check "  which ends the run when it returns" sh -c \
  '[ "$1" -eq 1 ] && grep -q "interrupted!" "$2" && ! grep -q returned "$2"' - "$rc" "$tmp/e"
check "  at the return of io.open" grep -q "in function 'io.open'" "$tmp/e"

"$SL" -e 'io.stderr:write("ready\n")
string.find(string.rep("a", 40), string.rep("a*", 40) .. "b")' 2>"$tmp/e" &
pid=$!
check "endless C call started" wait_file "$tmp/e" ready
sleep 0.2
kill -INT "$pid"
sleep 0.3
check "one SIGINT waits for the C call" kill -0 "$pid"
kill -INT "$pid"
wait_exit
check "a second SIGINT kills it" [ "$rc" -eq 130 ]

check "no sanitizer reports" sh -c '! grep -qE "Sanitizer|runtime error:" "$1"' - "$tmp/all"

# ---- the REPL
if [ -z "$SCALELUA_TEST_NO_TMUX" ] && command -v tmux >/dev/null 2>&1; then
  # wait_for N TEXT: up to 30 s for the N-th line holding TEXT
  wait_for() { screen_wait 30 "$1" F "$2"; }
  start() { # ARGS...: a REPL in the tmux session "repl"
    tm kill-session -t repl 2>/dev/null
    tm new-session -d -s repl -x 160 -y 60 "cd '$top' && '$SL' $*; sleep 30"
    wait_for 1 'help() lists what it offers'
  }
  check "REPL up" start
  type 'print("go" .. "!") while true do end'
  key Enter
  check "a Lua loop runs" wait_for 1 'go!'
  sleep 0.3
  key C-c
  check "Ctrl-C stops it" wait_for 1 'interrupted!'
  type 'print("after " .. 6 * 7)'
  key Enter
  check "the next command works" wait_for 1 'after 42'
  type 'local n = 0 for i = 1, 3e6 do n = n + 1 end print("counted " .. n)'
  key Enter
  check "no hook left: a loop runs to its end" wait_for 1 'counted 3000000'
  type "print('c' .. 'call') $read_fifo print('returned ' .. tostring(r))"
  key Enter
  check "a C call runs" wait_for 1 'ccall'
  sleep 0.3
  key C-c
  sleep 0.3
  check "  Ctrl-C waits for it" sh -c '[ "$(tmux -S "$1" capture-pane -p -J -S -300 -t repl | grep -c "interrupted!")" -eq 1 ]' - "$sock"
  let_it_return
  check "  and stops the code when it returns" wait_for 2 'interrupted!'
  check "  at the return of io.open" wait_for 1 "in function 'io.open'"
  check "  and nothing after it ran" sh -c '! tmux -S "$1" capture-pane -p -J -S -300 -t repl | grep -q "^returned"' - "$sock"
  type 'print("again " .. 6 * 7)'
  key Enter
  check "the session goes on" wait_for 1 'again 42'
  type 't = sl.read_csv("examples/quickstart/runs.csv") print("rows " .. #t)'
  key Enter
  check "scalelua works after interrupts" wait_for 1 'rows 96'

  check "REPL with --max-time 1 --max-memory 64M" start --max-time 1 --max-memory 64M
  type 'while true do end'
  key Enter
  check "a line stopped by the time limit" wait_for 1 'time limit of 1 s reached'
  type 'print("still " .. "here")'
  key Enter
  check "the session goes on" wait_for 1 'still here'
  type 'local n = 0 for i = 1, 1e6 do n = n + 1 end print("quick " .. n)'
  key Enter
  check "each line has its own time" wait_for 1 'quick 1000000'
  type 'x = string.rep("x", 100 * 2^20)'
  key Enter
  check "a line stopped by the memory limit" wait_for 1 'memory limit of 64 MiB reached'
  type 'y = string.rep("y", 10 * 2^20) print("then " .. #y)'
  key Enter
  check "the session goes on" wait_for 1 'then 10485760'
  key C-d
else
  # script(1): the keystrokes in one timed stream; ^C reaches the
  # terminal's line discipline, which sends SIGINT
  {
    sleep 1
    printf 'print("go" .. "!") while true do end\n'
    sleep 1
    printf '\003'
    sleep 0.5
    printf 'print("after " .. 6 * 7)\n'
    sleep 0.5
    printf '\004'
  } | script -qfc "'$SL'" /dev/null >"$tmp/out" 2>&1
  check "Ctrl-C stops a loop" grep -q 'interrupted!' "$tmp/out"
  check "the next command works" grep -q 'after 42' "$tmp/out"
fi
done_ interrupt
