#!/bin/sh
# The C API and the embedding library, in the build tree: examples/embed
# compile with -Werror, moba_c prints the MoBA laws (the same as the
# recipe's, within 1% of the paper's) and renders an SVG byte-identical to
# the one the same chart renders from Lua; run_recipe runs recipes in its
# own Lua state and reads results back; the libraries export only scl_*
# and luaopen_* symbols.
. tests/examples/common.inc
top=$(pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
data="$top/examples/moba/data/trailing_32k.csv"

# sanitizer builds (make sanitize): the programs need the runtime too
san=""
if readelf -d "$B/libscalelua.so" 2>/dev/null | grep -q 'libasan'; then
  san="-fsanitize=address,undefined"
  # fontconfig (under cairo) keeps its cache until exit: not our leak
  # (make sanitize points LSAN_OPTIONS at tests/lsan.supp already)
  if [ -z "$LSAN_OPTIONS" ]; then
    echo "leak:libfontconfig.so" >"$tmp/lsan.supp"
    export LSAN_OPTIONS="suppressions=$tmp/lsan.supp"
  fi
fi
CC=${CC:-cc}
cflags="-std=c11 -Wall -Wextra -Werror -O2 $san"

check "moba_c builds" $CC $cflags -Icore/include examples/embed/moba_c.c \
  -o "$tmp/moba_c" -L"$B" -lscalelua -Wl,-rpath,"$B" -lm
check "run_recipe builds" $CC $cflags -Icore/include $(pkg-config --cflags lua5.4) \
  examples/embed/run_recipe.c -o "$tmp/run_recipe" -L"$B" -lscalelua-lua \
  -lscalelua $(pkg-config --libs lua5.4) -Wl,-rpath,"$B"

out=$(cd "$tmp" && ./moba_c "$data" moba_c.png moba_c.svg 2>&1)
rc=$?
echo "$out"
check "moba_c runs" [ "$rc" -eq 0 ]
# laws within 1% (a) and 0.003 (b) of the paper's 1.546 C^-0.108 / 1.464 C^-0.097
law() { printf '%s\n' "$1" | sed -n "s/^ *$2 *L = \([0-9.]*\) x C^\(-[0-9.]*\).*/\1 \2/p"; }
inrange() { awk -v s="$1" -v a="$2" -v b="$3" 'BEGIN{split(s,p," "); exit !(p[1]>a*0.99 && p[1]<a*1.01 && p[2]>b-0.003 && p[2]<b+0.003)}'; }
check "MoBA law from C ($(law "$out" MoBA))" inrange "$(law "$out" MoBA)" 1.546 -0.108
check "Full law from C ($(law "$out" 'Full Attention'))" inrange "$(law "$out" 'Full Attention')" 1.464 -0.097
check "crossover from C" sh -c 'printf "%s\n" "$1" | grep -q "MoBA and Full Attention cross at compute = "' - "$out"
dims=$(od -An -tu1 -j16 -N8 "$tmp/moba_c.png" | awk '{print $1*16777216+$2*65536+$3*256+$4, $5*16777216+$6*65536+$7*256+$8}')
check "png 960x720 ($dims)" [ "$dims" = "960 720" ]

# the same chart through the Lua layer: the same laws, the same SVG
cat >"$tmp/mirror.lua" <<EOF
local sl = require "scalelua"
local runs = sl.experiment {
  data = "$data", compute = { params = "params", tokens = "tokens" },
  y = "trailing_loss", series = "method", curve = "run",
  labels = { moba = "MoBA", full = "Full Attention" },
  envelope = true, fit = "powerlaw" }
print(runs:report())
sl.chart { data = runs, x = { label = "PFLOP/s-days", min = 0.05, max = 20 },
  y = { label = "Trailing LM loss (seqlen=32K, last 2K)", min = 0.9 },
  style = { moba = { color = "blue" }, full = { color = "red" } },
  layers = { "curves", "projection" }, legend = "upper right",
  output = "lua.svg" }
EOF
lout=$(cd "$tmp" && "$SL" mirror.lua 2>&1)
check "same MoBA law as Lua" [ "$(law "$lout" MoBA)" = "$(law "$out" MoBA)" ]
check "same Full law as Lua" [ "$(law "$lout" 'Full Attention')" = "$(law "$out" 'Full Attention')" ]
check "SVG from C identical to the Lua one" cmp -s "$tmp/moba_c.svg" "$tmp/lua.svg"

# run_recipe: the shipped recipe, and one that returns its experiment
mkdir "$tmp/rr"
rout=$("$tmp/run_recipe" examples/moba/figure.lua --outdir "$tmp/rr" 2>&1)
check "run_recipe runs figure.lua" [ $? -eq 0 ]
check "run_recipe: version line" sh -c 'printf "%s\n" "$1" | grep -q "^scalelua [0-9.]* (C library [0-9.]*) in Lua 5.4"' - "$rout"
check "run_recipe: the recipe's laws" [ "$(law "$rout" MoBA)" = "$(law "$out" MoBA)" ]
check "run_recipe: --outdir honoured" [ -s "$tmp/rr/moba_trailing_loss.png" ]
cat >"$tmp/ret.lua" <<EOF
local sl = require "scalelua"
local e = sl.experiment { data = "$data", compute = {}, y = "trailing_loss",
  series = "method", curve = "run", envelope = true, fit = "powerlaw" }
print(string.format("lua: moba: a = %.17g, b = %.17g", e:get("moba").fit.a, e:get("moba").fit.b))
return e
EOF
rout=$("$tmp/run_recipe" "$tmp/ret.lua" 2>&1)
from_lua=$(printf '%s\n' "$rout" | sed -n 's/^lua: moba: //p')
from_c=$(printf '%s\n' "$rout" | sed -n 's/^from C: moba: //p')
check "results read back from C ($from_c)" sh -c '[ -n "$1" ] && [ "$1" = "$2" ]' - "$from_c" "$from_lua"
"$tmp/run_recipe" "$tmp/missing.lua" >/dev/null 2>"$tmp/err"
check "run_recipe: a missing recipe fails" [ $? -eq 1 ]
check "run_recipe: and says why" grep -q "cannot open .*missing.lua" "$tmp/err"

# the header from C++ (extern "C"), next to lua.hpp
CXX=${CXX:-c++}
if command -v "$CXX" >/dev/null 2>&1; then
  cat >"$tmp/cxx.cc" <<'EOF'
#include <lua.hpp>
#include <scalelua.h>
#include <cstdio>
int main() {
  lua_State *L = luaL_newstate();
  luaL_openlibs(L);
  luaL_requiref(L, "scalelua", luaopen_scalelua, 0);
  lua_getfield(L, -1, "version");
  std::printf("%s %s %s\n", lua_tostring(L, -1), scl_version(), SCL_VERSION_STRING);
  lua_close(L);
  return 0;
}
EOF
  check "C++ includes scalelua.h and links" $CXX -std=c++11 -Wall -Wextra -Werror $san \
    -Icore/include $(pkg-config --cflags lua5.4) "$tmp/cxx.cc" -o "$tmp/cxx" \
    -L"$B" -lscalelua-lua -lscalelua $(pkg-config --libs lua5.4) -Wl,-rpath,"$B"
  v=$("$SL" -v | sed -n 's/^scalelua \([0-9.]*\) .*/\1/p')
  check "C++: versions agree" [ "$("$tmp/cxx")" = "$v $v $v" ]
fi

# exported symbols: the API only (sanitizer runtimes add __asan_* etc.)
exports() { nm -D --defined-only "$1" | awk '{print $NF}' | grep -v '^_' | sort; }
bad=$(exports "$B/libscalelua.so" | grep -v '^scl_')
check "libscalelua.so exports scl_* only${bad:+: $bad}" [ -z "$bad" ]
check "libscalelua.so exports scl_version" sh -c 'nm -D --defined-only "$1" | grep -q " scl_version$"' - "$B/libscalelua.so"
bad=$(exports "$B/libscalelua-lua.so" | grep -v '^luaopen_scalelua$\|^luaopen_scalelua_core$')
check "libscalelua-lua.so exports luaopen_* only${bad:+: $bad}" [ -z "$bad" ]
bad=$(exports "$B/lua/scalelua/core.so" | grep -v '^scl_\|^luaopen_')
check "core.so exports scl_* and luaopen_* only${bad:+: $bad}" [ -z "$bad" ]
check "SONAME libscalelua.so.0" sh -c 'readelf -d "$1" | grep -q "SONAME.*\[libscalelua.so.0\]"' - "$B/libscalelua.so"
check "SONAME libscalelua-lua.so.0" sh -c 'readelf -d "$1" | grep -q "SONAME.*\[libscalelua-lua.so.0\]"' - "$B/libscalelua-lua.so"
check "the C library has no Lua" sh -c '! readelf -d "$1" | grep -q liblua' - "$B/libscalelua.so"
done_ embed
