#!/usr/bin/env python3
"""moba_figure.py -- the pandas + matplotlib side of scripts/bench-figure.

    moba_figure.py CSV OUT.png

Draws the MoBA Figure 3(b) the way examples/moba/figure.lua does, with the
usual Python tools, and writes OUT.png:

  - read the training logs (pandas), compute = 6 * params * tokens in
    PFLOP/s-days (8.64e19 FLOP each);
  - per method, the lower envelope of its runs in log-log space on a
    1500-point log-spaced grid from the least to the greatest compute of
    the runs (each run interpolated linearly in (log C, log L) inside its
    own range, never extrapolated);
  - a power law L = a * C^b fitted by least squares on (log C, log L) of
    the envelope;
  - the ten runs as lines, the two laws as dashed projections over
    0.05..20 PFLOP/s-days (200 points), log-log axes, the same labels,
    legend, 6.4 x 4.8 in at 150 dpi.

The y limits are taken like scalelua's (points inside the x limits, 5% of
the log span as margin), so both programs draw the same picture.
"""
import sys

import numpy as np
import pandas as pd
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402  (after choosing the backend)

LABELS = {"moba": "MoBA", "full": "Full Attention"}
COLORS = {"moba": "tab:blue", "full": "tab:red"}
XMIN, XMAX = 0.05, 20.0
GRID = 1500


def envelope(curves):
    """Lower envelope of [(x, y)] in log-log space on a log grid."""
    lo = min(x.min() for x, _ in curves)
    hi = max(x.max() for x, _ in curves)
    g = np.linspace(np.log(lo), np.log(hi), GRID)
    best = np.full(GRID, np.inf)
    for x, y in curves:
        order = np.argsort(x, kind="stable")
        lx, ly = np.log(x[order]), np.log(y[order])
        inside = (g >= lx[0]) & (g <= lx[-1])
        v = np.interp(g[inside], lx, ly)
        best[inside] = np.minimum(best[inside], v)
    keep = np.isfinite(best)
    return g[keep], best[keep]


def main():
    csv, out = sys.argv[1], sys.argv[2]
    d = pd.read_csv(csv)
    d["compute"] = 6.0 * d["params"] * d["tokens"] / 8.64e19
    d = d[(d["compute"] > 0) & (d["trailing_loss"] > 0)]

    fig, ax = plt.subplots(figsize=(6.4, 4.8), dpi=150)
    ylo, yhi = np.inf, -np.inf
    laws = []
    for method, g in d.groupby("method", sort=False):
        curves = []
        for _, r in g.groupby("run", sort=False):
            x = r["compute"].to_numpy()
            y = r["trailing_loss"].to_numpy()
            curves.append((x, y))
            ax.plot(x, y, color=COLORS[method], linewidth=1.5)
            seen = y[(x >= XMIN) & (x <= XMAX)]
            if seen.size:
                ylo, yhi = min(ylo, seen.min()), max(yhi, seen.max())
        lx, ly = envelope(curves)
        b, la = np.polyfit(lx, ly, 1)
        laws.append((method, np.exp(la), b))
    px = np.exp(np.linspace(np.log(XMIN), np.log(XMAX), 200))
    for method, a, b in laws:
        py = a * px ** b
        ylo, yhi = min(ylo, py.min()), max(yhi, py.max())
        ax.plot(px, py, color=COLORS[method], linewidth=1.5, linestyle="--",
                label=LABELS[method] + " Projection")
        print("%-16s L = %.4g x C^%.4g" % (LABELS[method], a, b))

    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlim(XMIN, XMAX)
    m = 0.05 * (np.log10(yhi) - np.log10(ylo))
    ax.set_ylim(10 ** (np.log10(ylo) - m), 10 ** (np.log10(yhi) + m))
    ax.set_xlabel("PFLOP/s-days")
    ax.set_ylabel("Trailing LM loss (seqlen=32K, last 2K)")
    ax.legend(loc="upper right")
    fig.savefig(out, dpi=150)


if __name__ == "__main__":
    main()
