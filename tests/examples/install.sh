#!/bin/sh
# make install into a temporary DESTDIR (PREFIX=/opt/scalelua-test): the
# exact set of files, SONAME links, pkg-config files; the embedding
# examples and the man page's example built against the installed tree
# with pkg-config (shared and static) and run; the stock lua5.4 requires
# the installed module; the installed runner works; the man pages render
# without warnings; make uninstall removes exactly what install added.
. tests/examples/common.inc
top=$(pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
stage="$tmp/stage"
prefix=/opt/scalelua-test
root="$stage$prefix"
data="$top/examples/moba/data/trailing_32k.csv"
Brel=${B#"$top"/}
version=$("$SL" -v | sed -n 's/^scalelua \([0-9.]*\) .*/\1/p')

# sanitizer builds: programs and the stock interpreter need the runtimes
san=""
preload=""
if readelf -d "$B/libscalelua.so" 2>/dev/null | grep -q 'libasan'; then
  san="-fsanitize=address,undefined"
  preload="$(cc -print-file-name=libasan.so) $(cc -print-file-name=libubsan.so)"
  export ASAN_OPTIONS=detect_leaks=0
fi
CC=${CC:-cc}
mk() { env -u MAKEFLAGS -u MAKELEVEL -u MFLAGS make -s --no-print-directory B="$Brel" PREFIX="$prefix" DESTDIR="$stage" "$@"; }

mk install >"$tmp/install.log" 2>&1
rc=$?
check "make install" [ "$rc" -eq 0 ]
[ "$rc" -eq 0 ] || cat "$tmp/install.log"

# exactly these files
{
  for f in bin/scalelua include/scalelua.h lib/libscalelua.a \
    lib/libscalelua.so lib/libscalelua.so.0 "lib/libscalelua.so.$version" \
    lib/libscalelua-lua.so lib/libscalelua-lua.so.0 \
    "lib/libscalelua-lua.so.$version" lib/pkgconfig/scalelua.pc \
    lib/pkgconfig/scalelua-lua.pc lib/lua/5.4/scalelua/core.so \
    share/man/man1/scalelua.1 share/man/man3/scalelua.3; do
    echo "$f"
  done
  for f in lua/scalelua/*.lua; do echo "share/lua/5.4/scalelua/${f##*/}"; done
} | sort >"$tmp/want"
(cd "$root" && find . \( -type f -o -type l \) | sed 's|^\./||' | sort) >"$tmp/got"
check "installed files are exactly the expected ones" cmp -s "$tmp/want" "$tmp/got"
cmp -s "$tmp/want" "$tmp/got" || diff "$tmp/want" "$tmp/got"
check "nothing outside PREFIX" sh -c '[ "$(cd "$1" && find . -type f | grep -vc "^\./${2#/}/")" -eq 0 ]' - "$stage" "$prefix"
check "libscalelua.so -> .so.0 -> .so.$version" sh -c '[ "$(readlink "$1/libscalelua.so")" = libscalelua.so.0 ] && [ "$(readlink "$1/libscalelua.so.0")" = "libscalelua.so.$2" ]' - "$root/lib" "$version"
check "libscalelua-lua.so links" sh -c '[ "$(readlink "$1/libscalelua-lua.so")" = libscalelua-lua.so.0 ] && [ "$(readlink "$1/libscalelua-lua.so.0")" = "libscalelua-lua.so.$2" ]' - "$root/lib" "$version"
check "installed SONAME" sh -c 'readelf -d "$1" | grep -q "SONAME.*\[libscalelua.so.0\]"' - "$root/lib/libscalelua.so.$version"
check "header installed as is" cmp -s core/include/scalelua.h "$root/include/scalelua.h"
check "scalelua.pc prefix" grep -qx "prefix=$prefix" "$root/lib/pkgconfig/scalelua.pc"
# PLplot is opened with dlopen on the first render: nothing installed links
# it, and the .pc files do not ask for it
for f in "lib/libscalelua.so.$version" "lib/libscalelua-lua.so.$version" \
  bin/scalelua lib/lua/5.4/scalelua/core.so; do
  check "$f does not link libplplot" sh -c '! readelf -d "$1" | grep -q "NEEDED.*libplplot"' - "$root/$f"
done
check "the .pc files require no plplot" sh -c '! grep -hE "^(Requires|Libs)" "$1"/scalelua.pc "$1"/scalelua-lua.pc | grep -qi plplot' - "$root/lib/pkgconfig"

# build against the installed tree through pkg-config; the prefix moves
# into DESTDIR with --define-variable (which would also move lua5.4's own
# paths, so Lua's flags come from a separate call)
export PKG_CONFIG_PATH="$root/lib/pkgconfig"
pc() { pkg-config --define-variable=prefix="$root" "$@"; }
check "pkg-config --modversion ($(pc --modversion scalelua))" [ "$(pc --modversion scalelua)" = "$version" ]
check "pkg-config cflags point into DESTDIR" sh -c 'printf "%s" "$1" | grep -q -- "-I$2/include"' - "$(pc --cflags scalelua)" "$root"
cflags="-std=c11 -Wall -Wextra -Werror -O2 $san"
check "moba_c builds with pkg-config" $CC $cflags examples/embed/moba_c.c -o "$tmp/moba_c" $(pc --cflags --libs scalelua) -lm
check "run_recipe builds with pkg-config" $CC $cflags examples/embed/run_recipe.c -o "$tmp/run_recipe" \
  $(pc --cflags --libs scalelua-lua) $(pkg-config --cflags --libs lua5.4)
# static: libscalelua.a plus the private libraries the .pc lists
static_libs=$(pc --static --libs scalelua | sed 's/ -lscalelua / /; s/^-lscalelua //; s/ -lscalelua$//')
check "moba_c links statically" $CC $cflags examples/embed/moba_c.c -o "$tmp/moba_c_static" \
  -I"$root/include" "$root/lib/libscalelua.a" $static_libs -lm
check "static binary needs no libscalelua.so" sh -c '! readelf -d "$1" | grep -q libscalelua' - "$tmp/moba_c_static"

law() { printf '%s\n' "$1" | sed -n "s/^ *$2 *L = \([0-9.]*\) x C^\(-[0-9.]*\).*/\1 \2/p"; }
inrange() { awk -v s="$1" -v a="$2" -v b="$3" 'BEGIN{split(s,p," "); exit !(p[1]>a*0.99 && p[1]<a*1.01 && p[2]>b-0.003 && p[2]<b+0.003)}'; }
export LD_LIBRARY_PATH="$root/lib"
check "moba_c uses the installed library" sh -c 'ldd "$1" | grep -q "libscalelua.so.0 => $2/lib/libscalelua.so.0"' - "$tmp/moba_c" "$root"
out=$(cd "$tmp" && ./moba_c "$data" moba.png 2>&1)
check "moba_c runs" [ $? -eq 0 ]
echo "$out"
check "moba_c: MoBA law $(law "$out" MoBA)" inrange "$(law "$out" MoBA)" 1.546 -0.108
check "moba_c: Full law $(law "$out" 'Full Attention')" inrange "$(law "$out" 'Full Attention')" 1.464 -0.097
check "moba_c: PNG" [ -s "$tmp/moba.png" ]
sout=$(cd "$tmp" && env -u LD_LIBRARY_PATH ./moba_c_static "$data" static.svg 2>&1)
check "static moba_c prints the same laws" [ "$(law "$sout" MoBA)" = "$(law "$out" MoBA)" ]
mkdir "$tmp/rr"
rout=$("$tmp/run_recipe" examples/moba/figure.lua --outdir "$tmp/rr" 2>&1)
check "run_recipe runs the recipe" [ $? -eq 0 ]
check "run_recipe: the same laws" sh -c '[ -n "$1" ] && [ "$1" = "$2" ]' - "$(law "$rout" MoBA)" "$(law "$out" MoBA)"
check "run_recipe: figure written" [ -s "$tmp/rr/moba_trailing_loss.png" ]

# the example of scalelua(3) compiles and runs
if command -v groff >/dev/null 2>&1; then
  groff -man -Tascii -P-cbou "$root/share/man/man3/scalelua.3" 2>/dev/null |
    sed -n '/^           #include <scalelua.h>/,/^           }$/p' | sed 's/^           //' >"$tmp/manex.c"
  check "scalelua(3) example builds" $CC $cflags "$tmp/manex.c" -o "$tmp/manex" $(pc --cflags --libs scalelua)
  check "scalelua(3) example runs" sh -c '"$1" | grep -q "^L = [0-9.]* x C^-[0-9.]*$"' - "$tmp/manex"
fi

# the stock interpreter finds the installed Lua layer and C module
export LUA_PATH="$root/share/lua/5.4/?.lua;$root/share/lua/5.4/?/init.lua;;"
export LUA_CPATH="$root/lib/lua/5.4/?.so;;"
if command -v lua5.4 >/dev/null 2>&1; then
  lout=$(LD_PRELOAD="$preload" lua5.4 -e '
    local sl = require "scalelua"
    print(sl.version, package.searchpath("scalelua.core", package.cpath),
      package.searchpath("scalelua", package.path))
    print(sl.fit.powerlaw({1, 2, 4}, {2, 1.6, 1.28}))' 2>&1)
  echo "$lout"
  check "lua5.4: require \"scalelua\" ($version)" sh -c 'printf "%s\n" "$1" | head -n 1 | grep -q "^$2	"' - "$lout" "$version"
  check "lua5.4: the installed core.so" sh -c 'printf "%s\n" "$1" | grep -qF "$2/lib/lua/5.4/scalelua/core.so"' - "$lout" "$root"
  check "lua5.4: the installed init.lua" sh -c 'printf "%s\n" "$1" | grep -qF "$2/share/lua/5.4/scalelua/init.lua"' - "$lout" "$root"
  check "lua5.4: a fit" sh -c 'printf "%s\n" "$1" | grep -qx "L = 2 x C^-0.3219"' - "$lout"
  mkdir "$tmp/lua"
  fout=$(cd "$tmp/lua" && LD_PRELOAD="$preload" lua5.4 "$top/examples/moba/figure.lua" 2>&1)
  check "lua5.4 runs figure.lua: same laws" sh -c '[ -n "$1" ] && [ "$1" = "$2" ]' - "$(law "$fout" MoBA)" "$(law "$out" MoBA)"
  check "lua5.4 runs figure.lua: figure" [ -s "$tmp/lua/moba_trailing_loss.png" ]
else
  echo "lua5.4 not found: skipping the stock interpreter"
fi
unset LUA_PATH LUA_CPATH

# the installed runner
check "installed scalelua --version" sh -c '"$1" --version | grep -q "^scalelua $2 "' - "$root/bin/scalelua" "$version"
check "installed scalelua runs Lua" sh -c '[ "$("$1" -e "io.write(sl.to_json({1, 0.5}))")" = "[1,0.5]" ]' - "$root/bin/scalelua"
check "--help lists --watch" sh -c '"$1" --help | grep -q -- "--watch"' - "$root/bin/scalelua"
maps='for l in io.lines("/proc/self/maps") do if l:find("libplplot", 1, true) then io.write("mapped") os.exit(0) end end io.write("none")'
check "installed scalelua starts without libplplot" [ "$("$root/bin/scalelua" -e "$maps")" = none ]

# man pages render without warnings and say what they should
for page in man1/scalelua.1 man3/scalelua.3; do
  f="$root/share/man/$page"
  if command -v groff >/dev/null 2>&1; then
    check "$page renders without warnings" sh -c '[ -z "$(groff -man -Tutf8 -ww -z "$1" 2>&1)" ]' - "$f"
    groff -man -Tutf8 "$f" 2>/dev/null | sed 's/.\x08//g' >"$tmp/page.txt"
  elif command -v man >/dev/null 2>&1; then
    man -l "$f" 2>/dev/null | sed 's/.\x08//g' >"$tmp/page.txt"
  else
    echo "no groff or man: $page not rendered"
    continue
  fi
  check "$page: NAME and SYNOPSIS" sh -c 'grep -q "^NAME" "$1" && grep -q "^SYNOPSIS" "$1"' - "$tmp/page.txt"
done
if command -v man >/dev/null 2>&1; then
  check "man -M finds scalelua(1)" sh -c '[ "$(man -M "$1" -w 1 scalelua)" = "$1/man1/scalelua.1" ]' - "$root/share/man"
  check "scalelua(1) documents the recipe fields" sh -c 'man -l "$1" 2>/dev/null | grep -q "sl.experiment{...}" && man -l "$1" 2>/dev/null | grep -q "WATCH MODE"' - "$root/share/man/man1/scalelua.1"
  check "scalelua(3) documents the export" sh -c 'man -l "$1" 2>/dev/null | grep -q "scl_table_write_csv"' - "$root/share/man/man3/scalelua.3"
fi

# uninstall removes exactly what install added
mkdir -p "$root/lib/lua/5.4/other" "$root/share/man/man1"
echo keep >"$root/lib/lua/5.4/other/keep.so"
echo keep >"$root/lib/libscalelua.so.9"
echo keep >"$root/share/man/man1/other.1"
mk uninstall >"$tmp/uninstall.log" 2>&1
check "make uninstall" [ $? -eq 0 ]
left=$(cd "$stage" && find . \( -type f -o -type l \) | sort | tr '\n' ' ')
check "only unrelated files left ($left)" [ "$left" = "./opt/scalelua-test/lib/libscalelua.so.9 ./opt/scalelua-test/lib/lua/5.4/other/keep.so ./opt/scalelua-test/share/man/man1/other.1 " ]
check "scalelua directories removed" sh -c '[ ! -e "$1/lib/lua/5.4/scalelua" ] && [ ! -e "$1/share/lua/5.4/scalelua" ]' - "$root"
check "uninstall twice is harmless" mk uninstall
done_ install
