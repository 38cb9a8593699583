#!/usr/bin/env python3
"""fit_scipy.py -- the scipy side of scripts/bench-fit.

    fit_scipy.py DATA_DIR [RUNS]

Reads the raw doubles written by bench-fit's C driver and fits them the
way scalelua does, with scipy: the same models, the same starts, the same
MINPACK tolerances where MINPACK is used.  Prints "case seconds param..."
lines, each time the best of RUNS calls of the fit alone, in process CPU
seconds (the 4,500-start Chinchilla fit runs once).
"""
import sys
import time
import warnings

import numpy as np
from scipy import optimize, stats

DIR = sys.argv[1]
RUNS = int(sys.argv[2]) if len(sys.argv) > 2 else 5


def tols(n):
    """scalelua's default MINPACK tolerances (fit_lm.c, lm_run)."""
    return dict(ftol=1e-15 * max(1.0, n / 1000), xtol=1e-15)


def load(name):
    return np.fromfile(f"{DIR}/{name}", dtype="<f8")


def best_of(runs, fn):
    """Best process CPU time of runs calls (as the C driver measures)."""
    best, out = float("inf"), None
    for _ in range(runs):
        t0 = time.process_time()
        out = fn()
        best = min(best, time.process_time() - t0)
    return best, out


def report(name, secs, params, converged=True):
    vals = " ".join(f"{p:.8g}" for p in params)
    print(f"{name} {secs:.6g} {vals} {'converged' if converged else 'NOT-converged'}")


# ------------------------------------------------------------ power laws

def powerlaw_log(x, y):
    r = stats.linregress(np.log(x), np.log(y))
    return np.exp(r.intercept), r.slope


def pl_model(x, a, b):
    return a * np.power(x, b)


def pl_jac(x, a, b):
    xb = np.power(x, b)
    return np.column_stack((xb, a * xb * np.log(x)))


def powerlaw_nls(x, y):
    a0, b0 = powerlaw_log(x, y)
    p, _ = optimize.curve_fit(pl_model, x, y, p0=(a0, b0), jac=pl_jac,
                              method="lm", maxfev=20100, **tols(len(x)))
    return p


def sat_model(x, E, a, b):
    return E + a * np.power(x, b)


def sat_jac(x, E, a, b):
    xb = np.power(x, b)
    return np.column_stack((np.ones_like(x), xb, a * xb * np.log(x)))


def sat_starts(x, y):
    """The 9 starts of scalelua's saturating fit (see fit_lm.c)."""
    lo, hi = y.min(), y.max()
    span = hi - lo
    if lo > 0:
        Es = [f * lo for f in (0, 0.5, 0.8, 0.9, 0.97, 0.995)]
    else:
        Es = [lo - f * span for f in (2, 1, 0.3, 0.1, 0.03, 0.005)]
    Es += [hi + 0.01 * span, hi + 0.1 * span, hi + span]
    lx, starts = np.log(x), []
    for E in Es:
        sign = -1.0 if E > hi else 1.0
        z = sign * (y - E)
        if np.any(z <= 0):
            continue
        r = stats.linregress(lx, np.log(z))
        starts.append((E, sign * np.exp(r.intercept), r.slope))
    return starts


def sat_run(x, y, s):
    """curve_fit from start s: (params, rss), or None if it fails."""
    try:
        p, _, info, _, ier = optimize.curve_fit(
            sat_model, x, y, p0=s, jac=sat_jac, method="lm", maxfev=20100,
            full_output=True, **tols(len(x)))
    except RuntimeError:  # scipy raises when MINPACK did not converge
        return None
    return p, float(np.sum(info["fvec"] ** 2))


def saturating(x, y, start=None):
    """scalelua's strategy (fit_lm.c): the starts ranked by their sum of
    squares, curve_fit from the best until 3 converged, the lowest sum of
    squares wins; above 16384 points the starts are screened on every k-th
    point (about 8192) and the winner is run on all the data."""
    n = len(x)
    if start is None and n > 2 * 8192:
        k = -(-n // 8192)
        r = saturating(x[::k], y[::k])
        if r is not None:
            full = saturating(x, y, start=r)
            if full is not None:
                return full
    starts = [start] if start is not None else sat_starts(x, y)
    ranked = sorted(starts, key=lambda s: np.sum((y - sat_model(x, *s)) ** 2))
    best, best_rss, nconv = None, np.inf, 0
    for s in ranked:
        if nconv == 3:
            break
        r = sat_run(x, y, s)
        if r is None:
            continue
        nconv += 1
        if r[1] < best_rss:
            best, best_rss = r
    return best


# ------------------------------------------------------------ Chinchilla

def chinchilla(N, D, L, delta=1e-3):
    lN, lD, lL = np.log(N), np.log(D), np.log(L)

    def objective(th):
        a, b, e, al, be = th
        t1, t2 = a - al * lN, b - be * lD
        m = np.maximum(np.maximum(t1, t2), e)
        u, v, w = np.exp(t1 - m), np.exp(t2 - m), np.exp(e - m)
        s = u + v + w
        r = m + np.log(s) - lL
        h = np.clip(r, -delta, delta)  # huber'(r)
        f = np.sum(h * (r - 0.5 * h))  # huber(r), summed
        q = h / s
        return f, np.array([np.sum(q * u), np.sum(q * v), np.sum(q * w),
                            -np.sum(q * u * lN), -np.sum(q * v * lD)])

    best = None
    grid = np.arange(0, 2.01, 0.5)
    for a in range(0, 30, 5):
        for b in range(0, 30, 5):
            for e in np.arange(-1, 1.01, 0.5):
                for al in grid:
                    for be in grid:
                        r = optimize.minimize(objective, (a, b, e, al, be),
                                              jac=True, method="L-BFGS-B")
                        if best is None or r.fun < best.fun:
                            best = r
    a, b, e, al, be = best.x
    return (np.exp(e), np.exp(a), np.exp(b), al, be), best


def main():
    warnings.simplefilter("ignore")
    for tag in ("1e3", "1e6"):
        x, y = load(f"pl_x_{tag}"), load(f"pl_y_{tag}")
        xs, ys = load(f"sat_x_{tag}"), load(f"sat_y_{tag}")
        t, p = best_of(RUNS, lambda: powerlaw_log(x, y))
        report(f"powerlaw_log_{tag}", t, p)
        t, p = best_of(RUNS, lambda: powerlaw_nls(x, y))
        report(f"powerlaw_nls_{tag}", t, p)
        t, p = best_of(RUNS, lambda: saturating(xs, ys))
        report(f"saturating_{tag}", t, p)
    N, D, L = load("ch_N"), load("ch_D"), load("ch_L")
    t, (p, res) = best_of(1, lambda: chinchilla(N, D, L))
    report("chinchilla_250", t, p, res.success)


if __name__ == "__main__":
    main()
