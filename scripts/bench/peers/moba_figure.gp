# moba_figure.gp -- the gnuplot side of scripts/bench-figure.
#
#   gnuplot -e "csv='trailing_32k.csv'; out='fig.png'" moba_figure.gp
#
# Draws the MoBA Figure 3(b) the way examples/moba/figure.lua does, as far
# as gnuplot goes: the ten runs as lines, per method a power law fitted
# (gnuplot's `fit`) on (log C, log L) of the lower envelope of its runs,
# and the laws as dashed projections over 0.05..20 PFLOP/s-days on log-log
# axes, 960 x 720 pixels (6.4 x 4.8 in at 150 dpi), the same labels and
# legend.
#
# gnuplot cannot take an envelope itself, so one preprocessing step runs
# through system() (POSIX awk and sort, once, into a temporary file):
# compute = 6 * params * tokens in PFLOP/s-days (8.64e19 FLOP each); per
# method, each run sorted by compute and interpolated linearly in
# (log C, log L) inside its own range, the least value on a 1500-point
# log-spaced grid from the least to the greatest compute of the runs.
# The file holds, per method (moba, then full), two blocks: its runs
# (a blank line between runs) and its envelope.

if (!exists("csv")) csv = "examples/moba/data/trailing_32k.csv"
if (!exists("out")) out = "moba_gnuplot.png"

data = system("mktemp")
system(sprintf("awk -F, 'NR == 1 { for (i = 1; i <= NF; i++) c[$i] = i; next } \
  { print $(c[\"method\"]), $(c[\"run\"]), \
      6 * $(c[\"params\"]) * $(c[\"tokens\"]) / 8.64e19, $(c[\"trailing_loss\"]) }' '%s' \
  | sort -k1,1 -k2,2 -k3,3g | awk -v methods='moba full' '\
  { m = $1; if (m != pm || $2 != pr) { k = ++nc[m]; n[m, k] = 0 }; pm = m; pr = $2;\
    j = ++n[m, k]; x[m, k, j] = $3; y[m, k, j] = $4;\
    lx[m, k, j] = log($3); ly[m, k, j] = log($4) }\
  END { split(methods, ms, \" \");\
    for (q = 1; q <= 2; q++) { m = ms[q]; lo = \"\";\
      for (c = 1; c <= nc[m]; c++) {\
        for (j = 1; j <= n[m, c]; j++) print x[m, c, j], y[m, c, j];\
        print \"\";\
        if (lo == \"\" || x[m, c, 1] < lo) lo = x[m, c, 1];\
        if (lo == \"\" || x[m, c, n[m, c]] > hi) hi = x[m, c, n[m, c]] }\
      print \"\"; lo = log(lo); hi = log(hi); G = 1500;\
      for (c = 1; c <= nc[m]; c++) p[c] = 1;\
      for (g = 0; g < G; g++) { t = lo + (hi - lo) * g / (G - 1); best = \"\";\
        for (c = 1; c <= nc[m]; c++) { N = n[m, c];\
          if (t < lx[m, c, 1] || t > lx[m, c, N]) continue;\
          while (p[c] < N - 1 && lx[m, c, p[c] + 1] < t) p[c]++;\
          a = p[c]; b = a < N ? a + 1 : a;\
          xa = lx[m, c, a]; xb = lx[m, c, b]; ya = ly[m, c, a]; yb = ly[m, c, b];\
          v = xb > xa ? ya + (yb - ya) * (t - xa) / (xb - xa) : ya;\
          if (best == \"\" || v < best) best = v }\
        if (best != \"\") print exp(t), exp(best) }\
      print \"\"; print \"\" } }' > '%s'", csv, data))

set fit quiet
set fit nolog
lm(x) = la_m + b_m * x
lf(x) = la_f + b_f * x
la_m = 0.5; b_m = -0.1; la_f = 0.5; b_f = -0.1
fit lm(x) data index 1 using (log($1)):(log($2)) via la_m, b_m
fit lf(x) data index 3 using (log($1)):(log($2)) via la_f, b_f
print sprintf("MoBA             L = %.4g x C^%.4g", exp(la_m), b_m)
print sprintf("Full Attention   L = %.4g x C^%.4g", exp(la_f), b_f)

# y limits as scalelua takes them: points inside the x limits and both
# projections, 5% of the log span as margin.
xmin = 0.05; xmax = 20
inx(x, y) = (x >= xmin && x <= xmax) ? y : NaN
stats data index 0 using (inx($1, $2)) name "SM" nooutput
stats data index 2 using (inx($1, $2)) name "SF" nooutput
pm(x) = exp(la_m) * x**b_m
pf(x) = exp(la_f) * x**b_f
min(a, b) = a < b ? a : b
max(a, b) = a > b ? a : b
ylo = min(min(SM_min, SF_min), min(min(pm(xmin), pm(xmax)), min(pf(xmin), pf(xmax))))
yhi = max(max(SM_max, SF_max), max(max(pm(xmin), pm(xmax)), max(pf(xmin), pf(xmax))))
m = 0.05 * (log10(yhi) - log10(ylo))

set terminal pngcairo size 960, 720 font "DejaVu Sans,10" fontscale 1.6 linewidth 2
set output out
set logscale xy
set xrange [xmin:xmax]
set yrange [10**(log10(ylo) - m):10**(log10(yhi) + m)]
set format x "10^{%T}"
set mxtics 10
set ytics () # log axes tick whole decades only: label 1..9 x 10^0 as well
set for [k = 1:9] ytics add (sprintf("%d×10^{0}", k) k)
set xlabel "PFLOP/s-days"
set ylabel "Trailing LM loss (seqlen=32K, last 2K)"
set key top right box opaque reverse Left
set samples 200
plot data index 0 using 1:2 with lines lw 1.5 lc rgb "#1f77b4" notitle, \
     data index 2 using 1:2 with lines lw 1.5 lc rgb "#d62728" notitle, \
     pm(x) with lines dt 2 lw 1.5 lc rgb "#1f77b4" title "MoBA Projection", \
     pf(x) with lines dt 2 lw 1.5 lc rgb "#d62728" title "Full Attention Projection"
set output
system(sprintf("rm -f '%s'", data))
