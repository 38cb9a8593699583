#!/bin/sh
# Panel (a) and the sixteen-panel appendix figure render and print laws.
. tests/examples/common.inc
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
a=$("$SL" --outdir "$out" examples/moba/lm_loss.lua 2>&1)
check "lm_loss runs" [ $? -eq 0 ]
echo "$a"
check "lm_loss png" [ -s "$out/moba_lm_loss.png" ]
check "lm_loss MoBA law 2.625 C^-0.063" sh -c 'printf "%s\n" "$1" | grep -Eq "MoBA +L = 2\.6[12][0-9]* x C\^-0\.06[2-4]"' - "$a"
p=$("$SL" --outdir "$out" examples/moba/positions.lua 2>&1)
check "positions runs" [ $? -eq 0 ]
echo "$p"
check "positions png" [ -s "$out/moba_positions.png" ]
check "positions svg" [ -s "$out/moba_positions.svg" ]
check "sixteen windows" [ "$(printf '%s\n' "$p" | grep -cE '^[0-9]+K-[0-9]+K ')" -eq 16 ]
check "0K-2K MoBA law 3.075 C^-0.078" sh -c 'printf "%s\n" "$1" | grep -Eq "^0K-2K +L = 3\.0[67][0-9]* x C\^-0\.07[7-9]"' - "$p"
dims=$(od -An -tu1 -j16 -N8 "$out/moba_positions.png" | awk '{print $1*16777216+$2*65536+$3*256+$4, $5*16777216+$6*65536+$7*256+$8}')
check "positions png 1600x1300 ($dims)" [ "$dims" = "1600 1300" ]
done_ moba_panels
