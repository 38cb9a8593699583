#!/bin/sh
# The interactive REPL, driven through a terminal: tab completion of
# globals, fields, Table methods and columns, value printing, help(),
# multi-line input, errors that do not end the session, Ctrl-D.
# Uses tmux when it is installed (scripts/install-deps installs it), else
# a pseudo-terminal from script(1) with the keystrokes written in one go.
. tests/examples/common.inc
top=$(pwd)
tmp=$(mktemp -d)
export HOME="$tmp" # the history file goes here
sock="$tmp/tmux.sock"
cleanup() {
  [ -S "$sock" ] && tmux -S "$sock" kill-server 2>/dev/null
  rm -rf "$tmp"
}
trap cleanup EXIT

if [ -z "$SCALELUA_TEST_NO_TMUX" ] && command -v tmux >/dev/null 2>&1; then
  SCREEN_LINES=200
  # wait_for TEXT, wait_re REGEX: up to 5 s for it to appear on screen
  wait_for() { screen_wait 5 1 F "$1"; }
  wait_re() { screen_wait 5 1 E "$1"; }
  # the input line currently shown (the last prompt line)
  line_is() {
    i=0
    while [ $i -lt 30 ]; do
      [ "$(screen | grep -E '^>>? ' | tail -n 1 | sed 's/ *$//')" = "> $1" ] && return 0
      sleep 0.1
      i=$((i + 1))
    done
    echo "--- input line is '$(screen | grep -E '^>>? ' | tail -n 1)', want '> $1'"
    return 1
  }
  tm new-session -d -s repl -x 160 -y 60 "cd '$top' && '$SL'"
  check "banner" wait_for 'help() lists what it offers'
  type 't = sl.read_csv("examples/quickstart/runs.csv")'; key Enter
  type '#t'; key Enter
  check "value of #t" wait_for '96'

  type 'sl.fit.powe'; key Tab
  check "complete sl.fit.powe -> sl.fit.powerlaw" line_is 'sl.fit.powerlaw'
  key C-u
  type 'sl.exper'; key Tab
  check "complete a field loaded on first use" line_is 'sl.experiment'
  key C-u
  type 't:gr'; key Tab
  check "complete a Table method" line_is 't:group_by'
  key C-u
  type 't.lo'; key Tab
  check "complete a column name" line_is 't.loss'
  key C-u
  type 't.loss:me'; key Tab
  check "complete a Column method" line_is 't.loss:mean'
  key C-u
  type 'prin'; key Tab
  check "complete a global" line_is 'print'
  key C-u
  type 'sl.fi'; key Tab; key Tab
  check "two candidates listed" wait_for 'sl.figure sl.fit'
  key C-u

  type 'sl.fit.powerlaw({1, 2, 4}, {1, 0.5, 0.25})'; key Enter
  check "a fit prints as its law" wait_for 'L = 1 x C^-1'
  type '{a = 1, b = {2, 3}}'; key Enter
  check "a table prints as a preview" wait_for '{a = 1, b = {2, 3}}'
  type '1 + 1, "two"'; key Enter
  check "several values" wait_re '^2 +"two"$'
  type 't:head(2)'; key Enter
  check "a Table preview" wait_for 'Table: 2 rows x 7 columns'
  type 'help(sl.fit.powerlaw)'; key Enter
  check "help(sl.fit.powerlaw)" wait_for 'Fits y = a * x^b'
  type 'for i = 1, 2 do'; key Enter
  check "continuation prompt" wait_for '>> '
  type 'print(i * 111)'; key Enter; type 'end'; key Enter
  check "multi-line statement ran" wait_for '222'
  type 'error("oops")'; key Enter
  check "error shown" wait_for 'oops'
  type 'print("still " .. "here")'; key Enter
  check "session continues after an error" wait_for 'still here'
  key C-d
  i=0
  while tm has-session -t repl 2>/dev/null && [ $i -lt 30 ]; do
    sleep 0.1
    i=$((i + 1))
  done
  check "Ctrl-D ends the REPL" sh -c '! tmux -S "$1" has-session -t repl 2>/dev/null' - "$sock"
  check "history saved" grep -q 'help(sl.fit.powerlaw)' "$tmp/.scalelua_history"
else
  # script(1): one burst of keystrokes; Tab reaches libedit through the pty
  input=$(printf 't = sl.read_csv("examples/quickstart/runs.csv")\nsl.fit.powe\t\nt:gr\t\025t.lo\t:mean()\n1 + 1, "two"\nhelp(sl.fit.powerlaw)\n\004')
  out=$(printf '%s' "$input" | (sleep 0.5; cat) | script -qfc "'$SL'" /dev/null 2>&1 | tr -d '\r')
  check "complete sl.fit.powe" sh -c 'printf "%s\n" "$1" | grep -q "function: "' - "$out"
  mean=$("$SL" -e 'print(string.format("%.10g", sl.read_csv("examples/quickstart/runs.csv").loss:mean()))')
  check "complete t.lo, mean printed ($mean)" sh -c 'printf "%s\n" "$1" | grep -qxF "$2"' - "$out" "$mean"
  check "values printed" sh -c 'printf "%s\n" "$1" | grep -q "2	\"two\""' - "$out"
  check "help" sh -c 'printf "%s\n" "$1" | grep -q "Fits y = a \* x^b"' - "$out"
fi
done_ repl
