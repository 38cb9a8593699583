#!/bin/sh
# The MoBA reference figure (README's first command) renders, prints the
# fitted laws, and the PNG has the expected size and both series colours.
. tests/examples/common.inc
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
top=$(pwd)
report=$(cd "$out" && "$SL" "$top/examples/moba/figure.lua" 2>&1)
rc=$?
check "runs" [ "$rc" -eq 0 ]
echo "$report"
check "png written to the current directory" [ -s "$out/moba_trailing_loss.png" ]
check "svg written" [ -s "$out/moba_trailing_loss.svg" ]
# laws within 1% (a) and 0.003 (b) of the paper's 1.546 C^-0.108 / 1.464 C^-0.097
law() { printf '%s\n' "$report" | sed -n "s/^ *$1 *L = \([0-9.]*\) x C^\(-[0-9.]*\).*/\1 \2/p"; }
check "MoBA law" awk -v s="$(law MoBA)" 'BEGIN{split(s,p," "); exit !(p[1]>1.546*0.99 && p[1]<1.546*1.01 && p[2]>-0.111 && p[2]<-0.105)}'
check "Full law" awk -v s="$(law 'Full Attention')" 'BEGIN{split(s,p," "); exit !(p[1]>1.464*0.99 && p[1]<1.464*1.01 && p[2]>-0.100 && p[2]<-0.094)}'
check "crossover reported" sh -c 'printf "%s\n" "$1" | grep -q "cross at compute = "' - "$report"
# PNG: 8-byte signature, IHDR width/height (big-endian) at bytes 16..23
dims=$(od -An -tu1 -j16 -N8 "$out/moba_trailing_loss.png" | awk '{print $1*16777216+$2*65536+$3*256+$4, $5*16777216+$6*65536+$7*256+$8}')
check "png size 960x720 ($dims)" [ "$dims" = "960 720" ]
check "svg has blue and red" sh -c 'grep -q "rgb(12.156863%,46.666667%,70.588235%)" "$1" && grep -q "rgb(83.921569%,15.294118%,15.686275%)" "$1"' - "$out/moba_trailing_loss.svg"
# --outdir
mkdir "$out/sub"
check "--outdir" sh -c '"$1" --outdir "$2" examples/moba/figure.lua >/dev/null && [ -s "$2/moba_trailing_loss.png" ]' - "$SL" "$out/sub"
mkdir "$out/sub2"
check "--outdir after the recipe" sh -c '"$1" examples/moba/figure.lua --outdir "$2" >/dev/null && [ -s "$2/moba_trailing_loss.png" ]' - "$SL" "$out/sub2"
done_ moba
