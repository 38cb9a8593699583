#!/bin/sh
# Bad inputs through the runner (tests/bad/README.md has the table): each
# case is a tiny recipe run by build/scalelua in an empty directory.  An
# error must exit non-zero with a message naming the place (file:line:column
# and the column for CSV data, the recipe line and field for recipes) and
# leave no output and no temporary file; an accepted input must give a
# complete figure.
. tests/examples/common.inc
top=$(pwd)
bad="$top/tests/bad"
d=$(mktemp -d)
trap 'chmod -R u+w "$d"; rm -rf "$d"' EXIT

# run NAME RECIPE: run RECIPE in $d/NAME; sets rc, msg (first line of
# stderr) and left (files in the directory besides the recipe).
run() {
  w="$d/$1"
  mkdir -p "$w"
  printf '%s\n' "$2" >"$w/recipe.lua"
  (cd "$w" && "$SL" recipe.lua >"$d/$1.out" 2>"$d/$1.err")
  rc=$?
  msg=$(head -n 1 "$d/$1.err")
  left=$(cd "$w" && ls -A | grep -v '^recipe\.lua$' | tr '\n' ' ')
}

# A PNG that is whole: signature first, IEND chunk last.
whole_png() {
  [ "$(od -An -c -N4 "$1" | tr -d ' ')" = '211PNG' ] &&
    [ "$(tail -c 8 "$1" | od -An -c -N4 | tr -d ' ')" = 'IEND' ]
}

# expect_error NAME TEXT RECIPE: fails, stderr's first line holds TEXT,
# nothing written.
expect_error() {
  run "$1" "$3"
  check "$1: exits non-zero" [ "$rc" -ne 0 ]
  check "$1: message '$2' (got: $msg)" sh -c 'printf "%s\n" "$1" | grep -qF -- "$2"' - "$msg" "$2"
  check "$1: nothing left behind (got: $left)" [ -z "$left" ]
}

# expect_ok NAME RECIPE: succeeds with a whole fig.png and nothing else.
expect_ok() {
  run "$1" "$2"
  check "$1: exits 0 ($msg)" [ "$rc" -eq 0 ]
  check "$1: whole fig.png" whole_png "$d/$1/fig.png"
  check "$1: only fig.png written (got: $left)" [ "$left" = "fig.png " ]
}

# The standard recipe over one CSV file of the corpus:
# recipe FILE [MORE-EXPERIMENT-FIELDS] [FIT (none: no fit, curves only)]
#        [MORE-CHART-FIELDS]
recipe() {
  fit=${3:-'"powerlaw"'}
  if [ "$fit" = none ]; then
    fit= layers='layers = { "curves" }, '
  else
    fit=", fit = $fit" layers=
  fi
  cat <<EOF
local sl = require "scalelua"
local e = sl.experiment { data = "$1", x = "step", y = "loss", series = "run"$fit$2 }
sl.chart { data = e, $layers${4}output = "fig.png" }
EOF
}

# ---- CSV data -----------------------------------------------------------
expect_error empty "recipe.lua:2: experiment.data: no records in '$bad/empty.csv' (an empty file?)" \
  "$(recipe "$bad/empty.csv")"
expect_error header_only "recipe.lua:2: experiment.data: no data rows (a header only?)" \
  "$(recipe "$bad/header_only.csv")"
expect_error ragged_short "ragged_short.csv:3:5: expected 3 fields, found 2: no value for column 'loss'" \
  "$(recipe "$bad/ragged_short.csv")"
expect_error ragged_long "ragged_long.csv:3:10: expected 3 fields, found 4: an extra field after column 'loss'" \
  "$(recipe "$bad/ragged_long.csv")"
expect_error unclosed_quote "unclosed_quote.csv:2:1: column 'run': unterminated quoted field" \
  "$(recipe "$bad/unclosed_quote.csv")"
expect_error after_quote "after_quote.csv:2:5: column 'run': unexpected 'x' after a closing quote" \
  "$(recipe "$bad/after_quote.csv")"
expect_error nul "nul.csv:3:6: column 'loss': '3.1\\x00' is not a number" \
  "$(recipe "$bad/nul.csv")"
# invalid UTF-8 is read as is, but cannot become a legend
expect_error bad_utf8 "legend is not UTF-8" "$(recipe "$bad/bad_utf8.csv")"
expect_ok bad_utf8_nolegend "$(recipe "$bad/bad_utf8.csv" ', labels = { ["\255\254"] = "r1" }')"
expect_ok bom_start "$(recipe "$bad/bom_start.csv")"
expect_error bom_middle "bom_middle.csv:3:4: column 'step': '\\xef\\xbb\\xbf2' is not a number" \
  "$(recipe "$bad/bom_middle.csv")"
expect_ok cr_only "$(recipe "$bad/cr_only.csv")"
expect_error dup_columns "dup_columns.csv:1:15: duplicate column name 'step'" \
  "$(recipe "$bad/dup_columns.csv")"
expect_error number_abc "number_abc.csv:3:6: column 'loss': 'abc' is not a number" \
  "$(recipe "$bad/number_abc.csv")"
# +inf: no data point for the fit, a gap in the curve
expect_ok number_1e999 "$(recipe "$bad/number_1e999.csv")"
# -inf: no data point for the fit, but no place on a log axis either
expect_error number_neginf "y[2] = -inf is not positive on a log y axis" \
  "$(recipe "$bad/number_neginf.csv")"
expect_error truncated "truncated.csv:4:5: expected 3 fields, found 2: no value for column 'loss' (the last line has no line end: is the file still being written?)" \
  "$(recipe "$bad/truncated.csv")"
expect_ok truncated_value "$(recipe "$bad/truncated_value.csv")"
expect_error glob_headers "glob/b.csv: header differs from $bad/glob/a.csv: column 2 is 'loss' here and 'step' there" \
  "$(recipe "$bad/glob/*.csv")"
expect_error glob_nothing "$bad/nothing-*.csv: no files match the pattern" \
  "$(recipe "$bad/nothing-*.csv")"
expect_error missing "$d/gone.csv: No such file or directory" "$(recipe "$d/gone.csv")"
mkdir "$d/adir.csv"
expect_error directory "$d/adir.csv: Is a directory" "$(recipe "$d/adir.csv")"
mkdir "$d/vanish"
cp "$bad/cr_only.csv" "$d/vanish/a.csv"
ln -s "$d/vanish/deleted.csv" "$d/vanish/b.csv"
expect_error vanished "$d/vanish/b.csv: No such file or directory" "$(recipe "$d/vanish/*.csv")"

# a multi-megabyte field, generated here: over the 1 MiB cap unless allowed
awk 'BEGIN { printf "run,step,loss,note\nr1,1,3.5,"
  for (i = 0; i < 3 * 1024; i++) printf "%1024s", "x"
  printf "\nr1,2,3.1,short\nr1,4,2.9,\n" }' >"$d/big.csv"
check "big.csv is over 3 MiB" [ "$(wc -c <"$d/big.csv")" -gt 3145728 ]
expect_error big_field "big.csv:2:10: column 'note': field longer than 1048576 bytes" \
  "$(recipe "$d/big.csv")"
expect_ok big_field_allowed "$(recipe "$d/big.csv" ', read = { max_field = 4194304 }')"

# ---- the numeric layer --------------------------------------------------
expect_error few_points "recipe.lua:2: experiment.fit (series r1): saturating law needs at least 3 points, got 2" \
  "$(recipe "$bad/number_1e999.csv" ', where = { step = { 1, 4 } }' '"saturating"')"
printf 'run,step,loss\nr1,5,3.5\nr1,5,3.1\nr1,5,2.9\n' >"$d/same_x.csv"
expect_error equal_x "experiment.fit (series r1): all x are equal (x = 5): the exponent is not determined" \
  "$(recipe "$d/same_x.csv")"
printf 'run,step,loss\nr1,1,3.5\nr1,2,NA\nr1,4,2.9\nr1,8,2.7\n' >"$d/na.csv"
expect_ok nan "$(recipe "$d/na.csv")"
printf 'run,step,loss\nr1,1,3.5\nr1,2,0\nr1,4,2.9\nr1,8,2.7\n' >"$d/zero.csv"
expect_error log_zero "recipe.lua:2: experiment.fit (series r1): y = 0 at point 2: power law needs y > 0" \
  "$(recipe "$d/zero.csv")"
expect_error log_zero_curve "y[2] = 0 is not positive on a log y axis" \
  "$(recipe "$d/zero.csv" '' none)"
expect_error log_limit "recipe.lua:3: chart.x.min = 0: a log axis needs positive limits" \
  "$(recipe "$bad/cr_only.csv" '' '' 'x = { min = 0 }, ')"
printf 'run,step,loss\nr1,1,5\nr1,2,1\nr1,3,4\nr1,4,2\nr1,5,6\nr1,6,0.5\n' >"$d/noise.csv"
expect_error no_convergence "experiment.fit (series r1): the fit did not converge (stopped: iteration limit (2) reached)" \
  "$(recipe "$d/noise.csv" '' '{ law = "saturating", max_iter = 2 }')"

# ---- outputs ------------------------------------------------------------
good=$(recipe "$top/examples/quickstart/runs.csv")
expect_error missing_dir "render: directory 'nope': No such file or directory" \
  "$(printf '%s\n' "$good" | sed 's|"fig.png"|"nope/fig.png"|')"
expect_error not_a_dir "render: 'recipe.lua' is not a directory" \
  "$(printf '%s\n' "$good" | sed 's|"fig.png"|"recipe.lua/fig.png"|')"
if [ "$(id -u)" -ne 0 ]; then
  mkdir -p "$d/ro/out"
  chmod 555 "$d/ro/out"
  expect_error unwritable "render: directory 'out' is not writable" \
    "$(printf '%s\n' "$good" | sed 's|"fig.png"|"out/fig.png"|')"
elif [ -d /sys/kernel ] && ! touch /sys/kernel/.scl-probe 2>/dev/null; then
  # root may write anywhere on an ordinary file system; sysfs refuses
  expect_error unwritable "render: cannot create a file beside '/sys/kernel/fig.png'" \
    "$(printf '%s\n' "$good" | sed 's|"fig.png"|"/sys/kernel/fig.png"|')"
fi
expect_error unknown_format "recipe.lua:3: chart.output: 'fig.gif': unknown format (use .png, .svg or .pdf)" \
  "$(printf '%s\n' "$good" | sed 's|"fig.png"|{ "first.png", "fig.gif" }|')"
expect_error typo "recipe.lua:2: experiment: unknown field 'serie' (did you mean 'series'?)" \
  "$(printf '%s\n' "$good" | sed 's/series = "run"/serie = "run"/')"

# A recipe that fails halfway: the figures before the failure are whole
# (the same bytes as from a recipe that stops there), the one being
# written when it failed is not created, an old file it would have
# replaced is untouched.
half=$(cat <<EOF
local sl = require "scalelua"
local e = sl.experiment { data = "$top/examples/quickstart/runs.csv", x = "step",
  y = "loss", series = "method", curve = "run", fit = "powerlaw" }
sl.chart { data = e, output = "a.png" }
sl.chart { data = e, title = "two", output = { "b.png", "b.svg" } }
STOP
sl.chart { data = e, output = { "c.png" } }
EOF
)
mkdir "$d/ref"
printf '%s\n' "$half" | sed '/^STOP$/,$d' >"$d/ref/recipe.lua"
(cd "$d/ref" && "$SL" recipe.lua >/dev/null 2>&1)
check "halfway: reference renders" [ -f "$d/ref/b.svg" ]
w="$d/halfway_late"
mkdir -p "$w"
printf 'old figure\n' >"$w/c.png"
run halfway_late "$(printf '%s\n' "$half" | sed 's/^STOP$/sl.chart { data = e, output = { "d.png", "nope\/d.svg" } }/')"
check "halfway_late: exits non-zero" [ "$rc" -ne 0 ]
check "halfway_late: names the output ($msg)" sh -c 'printf "%s\n" "$1" | grep -qF "recipe.lua:6: render nope/d.svg"' - "$msg"
for f in a.png b.png b.svg; do
  check "halfway_late: $f whole" cmp -s "$w/$f" "$d/ref/$f"
done
check "halfway_late: d.png written before the failing output" whole_png "$w/d.png"
check "halfway_late: old c.png untouched" [ "$(cat "$w/c.png")" = "old figure" ]
check "halfway_late: nothing else (got: $left)" [ "$left" = "a.png b.png b.svg c.png d.png " ]
w="$d/halfway_typo"
mkdir -p "$w"
printf 'old figure\n' >"$w/c.png"
run halfway_typo "$(printf '%s\n' "$half" | sed 's/^STOP$/sl.chart { data = e, outptu = "c.png" }/')"
check "halfway_typo: exits non-zero" [ "$rc" -ne 0 ]
check "halfway_typo: names the field ($msg)" sh -c 'printf "%s\n" "$1" | grep -qF "recipe.lua:6: chart: unknown field '"'outptu'"' (did you mean '"'output'"'?)"' - "$msg"
for f in a.png b.png b.svg; do
  check "halfway_typo: $f whole" cmp -s "$w/$f" "$d/ref/$f"
done
check "halfway_typo: old c.png untouched" [ "$(cat "$w/c.png")" = "old figure" ]
check "halfway_typo: nothing else (got: $left)" [ "$left" = "a.png b.png b.svg c.png " ]

cd "$top" || exit 1
done_ bad_inputs
