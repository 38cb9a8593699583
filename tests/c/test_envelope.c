/*
 * test_envelope.c -- the log-log lower envelope: hand-computed cases, a
 * randomized comparison with a brute-force reference, error messages and
 * allocation failure at every allocation.
 */
#include "check.h"
#include "scalelua.h"
#include "testalloc.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------ helpers */

static scl_envelope *run(scl_ctx *ctx, const scl_curve *c, size_t nc,
                         scl_env_mode mode, size_t grid) {
  scl_envelope_opts o;
  scl_envelope_opts_init(&o);
  o.mode = mode;
  o.grid = grid;
  scl_envelope *e = NULL;
  int rc = scl_envelope_compute(ctx, c, nc, &o, &e);
  CHECK(rc == SCL_OK, "rc %d: %s", rc, scl_ctx_errmsg(ctx));
  return rc == SCL_OK ? e : NULL;
}

static void expect_point(const scl_envelope *e, size_t i, double x, double y,
                         size_t curve) {
  if (!e || i >= e->n) {
    CHECK(0, "no point %zu", i);
    return;
  }
  CHECK_NEAR(e->x[i], x, 1e-13);
  CHECK_NEAR(e->y[i], y, 1e-13);
  CHECK(e->curve[i] == curve, "point %zu: curve %zu, want %zu", i,
        e->curve[i], curve);
}

/* ------------------------------------------------ hand-computed cases */

/*
 * A falls from 4 to 1 over [1, 100]: y = 4 x^(-log10(4)/2); B is 2
 * everywhere.  They cross at x = 10 (y = 2).
 */
static void test_crossing(scl_ctx *ctx) {
  double ax[] = {1, 100}, ay[] = {4, 1};
  double bx[] = {1, 100}, by[] = {2, 2};
  scl_curve c[] = {{ax, ay, 2}, {bx, by, 2}};

  scl_envelope *e = run(ctx, c, 2, SCL_ENV_POINTS, 0);
  CHECK(e && e->n == 2, "points: n = %zu", e ? e->n : 0);
  expect_point(e, 0, 1, 2, 1);
  expect_point(e, 1, 100, 1, 0);
  CHECK(e && e->excluded == 0, "excluded");
  scl_envelope_free(ctx, e);

  /* grid of 5: 1, 10^0.5, 10, 10^1.5, 100 */
  e = run(ctx, c, 2, SCL_ENV_GRID, 5);
  CHECK(e && e->n == 5, "grid: n = %zu", e ? e->n : 0);
  expect_point(e, 0, 1, 2, 1);
  expect_point(e, 1, sqrt(10), 2, 1);
  CHECK(e && fabs(e->y[2] - 2) < 1e-13, "at the crossing y = %.17g",
        e ? e->y[2] : 0);
  expect_point(e, 3, pow(10, 1.5), sqrt(2), 0);
  expect_point(e, 4, 100, 1, 0);
  scl_envelope_free(ctx, e);
}

/* Two curves with a gap: grid points inside the gap are left out. */
static void test_disjoint(scl_ctx *ctx) {
  double ax[] = {1, 2.5}, ay[] = {3, 3};
  double bx[] = {3.5, 8}, by[] = {2, 1};
  scl_curve c[] = {{ax, ay, 2}, {bx, by, 2}};
  /* grid of 7 over [1, 8]: 2^(j/2) = 1, 1.41, 2, 2.83, 4, 5.66, 8 */
  scl_envelope *e = run(ctx, c, 2, SCL_ENV_GRID, 7);
  CHECK(e && e->n == 6, "n = %zu, want 6 (2.83 is in the gap)", e ? e->n : 0);
  expect_point(e, 0, 1, 3, 0);
  expect_point(e, 1, sqrt(2), 3, 0);
  expect_point(e, 2, 2, 3, 0);
  /* B: y = 2 (x / 3.5)^(log(1/2) / log(8/3.5)) */
  double sl = log(0.5) / log(8 / 3.5);
  expect_point(e, 3, 4, 2 * pow(4 / 3.5, sl), 1);
  expect_point(e, 4, 4 * sqrt(2), 2 * pow(4 * sqrt(2) / 3.5, sl), 1);
  expect_point(e, 5, 8, 1, 1);
  scl_envelope_free(ctx, e);
}

/* Single-point curves count only at their own x. */
static void test_single_points(scl_ctx *ctx) {
  double ax[] = {1, 10}, ay[] = {10, 10};
  double p1x[] = {2}, p1y[] = {3};
  double p2x[] = {2}, p2y[] = {1};
  double p3x[] = {5}, p3y[] = {4};
  double p4x[] = {1}, p4y[] = {0.5};
  scl_curve c[] = {{ax, ay, 2}, {p1x, p1y, 1}, {p2x, p2y, 1}, {p3x, p3y, 1},
                   {p4x, p4y, 1}};
  scl_envelope *e = run(ctx, c, 5, SCL_ENV_POINTS, 0);
  CHECK(e && e->n == 4, "n = %zu", e ? e->n : 0);
  expect_point(e, 0, 1, 0.5, 4);
  expect_point(e, 1, 2, 1, 2);
  expect_point(e, 2, 5, 4, 3);
  expect_point(e, 3, 10, 10, 0);
  scl_envelope_free(ctx, e);

  /* on a grid of 3 (1, sqrt 10, 10) only the point at x = 1 is hit */
  e = run(ctx, c, 5, SCL_ENV_GRID, 3);
  CHECK(e && e->n == 3, "n = %zu", e ? e->n : 0);
  expect_point(e, 0, 1, 0.5, 4);
  expect_point(e, 1, sqrt(10), 10, 0);
  expect_point(e, 2, 10, 10, 0);
  scl_envelope_free(ctx, e);

  /* every point at the same x: the range is one point */
  double sx[] = {3}, sy[] = {7}, tx[] = {3, 3}, ty[] = {9, 6};
  scl_curve d[] = {{sx, sy, 1}, {tx, ty, 2}};
  e = run(ctx, d, 2, SCL_ENV_GRID, 1500);
  CHECK(e && e->n == 1, "degenerate range: n = %zu", e ? e->n : 0);
  expect_point(e, 0, 3, 6, 1);
  scl_envelope_free(ctx, e);
}

/* Unsorted input with a duplicate x, and exact log-log interpolation. */
static void test_unsorted(scl_ctx *ctx) {
  double x[] = {10, 1, 100, 10}, y[] = {5, 8, 2, 3};
  scl_curve c[] = {{x, y, 4}};
  scl_envelope *e = run(ctx, c, 1, SCL_ENV_POINTS, 0);
  CHECK(e && e->n == 3, "n = %zu", e ? e->n : 0);
  expect_point(e, 0, 1, 8, 0);
  expect_point(e, 1, 10, 3, 0); /* min of 5 and 3 */
  expect_point(e, 2, 100, 2, 0);
  scl_envelope_free(ctx, e);

  /* halfway in log x the interpolated y is the geometric mean */
  e = run(ctx, c, 1, SCL_ENV_GRID, 5);
  CHECK(e && e->n == 5, "n = %zu", e ? e->n : 0);
  expect_point(e, 1, sqrt(10), sqrt(24), 0);
  expect_point(e, 3, pow(10, 1.5), sqrt(6), 0);
  scl_envelope_free(ctx, e);

  /* y = 1/x through two points: every grid point is on it */
  double hx[] = {16, 1}, hy[] = {1.0 / 16, 1};
  scl_curve h[] = {{hx, hy, 2}};
  e = run(ctx, h, 1, SCL_ENV_GRID, 5);
  CHECK(e && e->n == 5, "n = %zu", e ? e->n : 0);
  for (size_t i = 0; e && i < 5; i++)
    expect_point(e, i, pow(2, (double)i), pow(2, -(double)i), 0);
  scl_envelope_free(ctx, e);

  /* identical curves: the tie goes to the lower index */
  scl_curve same[] = {{hx, hy, 2}, {hx, hy, 2}};
  e = run(ctx, same, 2, SCL_ENV_GRID, 9);
  size_t first = 0;
  for (size_t i = 0; e && i < e->n; i++) first += e->curve[i];
  CHECK(e && first == 0, "ties not resolved to curve 0");
  scl_envelope_free(ctx, e);
}

static void test_excluded(scl_ctx *ctx) {
  double ax[] = {0, -1, 1, 2, NAN, 3, INFINITY};
  double ay[] = {1, 1, NAN, 2, 1, -1, 1};
  double bx[] = {1, 4}, by[] = {4, 1.5};
  scl_curve c[] = {{ax, ay, 7}, {bx, by, 2}};
  scl_envelope *e = run(ctx, c, 2, SCL_ENV_POINTS, 0);
  CHECK(e && e->excluded == 6, "excluded = %zu, want 6",
        e ? e->excluded : 0);
  CHECK(e && e->n == 3, "n = %zu", e ? e->n : 0);
  /* the one kept point (2, 2) of curve 0 is below B there (2.449) */
  expect_point(e, 0, 1, 4, 1);
  expect_point(e, 1, 2, 2, 0);
  expect_point(e, 2, 4, 1.5, 1);
  scl_envelope_free(ctx, e);
}

static void test_errors(scl_ctx *ctx) {
  scl_envelope *e = (scl_envelope *)&e; /* must be reset to NULL */
  scl_envelope_opts o;
  scl_envelope_opts_init(&o);
  CHECK(o.mode == SCL_ENV_GRID && o.grid == 1500, "defaults");

  double x[] = {1, 2}, y[] = {1, 2};
  scl_curve one[] = {{x, y, 2}};
  int rc = scl_envelope_compute(ctx, one, 0, NULL, &e);
  CHECK(rc == SCL_EINVAL && e == NULL, "no curves: rc %d", rc);
  CHECK(strstr(scl_ctx_errmsg(ctx), "no curves") != NULL, "msg: %s",
        scl_ctx_errmsg(ctx));

  o.grid = 1;
  rc = scl_envelope_compute(ctx, one, 1, &o, &e);
  CHECK(rc == SCL_EINVAL, "grid 1: rc %d", rc);
  CHECK(strstr(scl_ctx_errmsg(ctx), "grid = 1") != NULL, "msg: %s",
        scl_ctx_errmsg(ctx));

  double bx[] = {0, -2, NAN}, by[] = {1, 1, 1};
  double cx[] = {1, 2}, cy[] = {0, -3};
  scl_curve bad[] = {{bx, by, 3}, {cx, cy, 2}, {NULL, NULL, 0}};
  rc = scl_envelope_compute(ctx, bad, 3, NULL, &e);
  CHECK(rc == SCL_EINVAL && e == NULL, "no valid points: rc %d", rc);
  CHECK(strstr(scl_ctx_errmsg(ctx),
               "5 of 5 excluded (1 NaN or infinite, 2 with x <= 0, 2 with "
               "y <= 0)") != NULL,
        "msg: %s", scl_ctx_errmsg(ctx));

  scl_curve nul[] = {{x, NULL, 2}};
  rc = scl_envelope_compute(ctx, nul, 1, NULL, &e);
  CHECK(rc == SCL_EINVAL, "NULL y: rc %d", rc);
  CHECK(strstr(scl_ctx_errmsg(ctx), "curve 0: y is NULL") != NULL, "msg: %s",
        scl_ctx_errmsg(ctx));
  scl_envelope_free(ctx, NULL);
}

/* ------------------------------------------------ brute force */

static uint64_t rng_state = 0x9e3779b97f4a7c15u;
static double urand(void) { /* xorshift64*, uniform in [0, 1) */
  rng_state ^= rng_state >> 12;
  rng_state ^= rng_state << 25;
  rng_state ^= rng_state >> 27;
  return (double)((rng_state * 2685821657736338717u) >> 11) * 0x1p-53;
}

/*
 * The reference: value of one curve at x by scanning all its points --
 * sort-free: the nearest valid point at or left of x and at or right of x,
 * with min y among equal x.  Returns 0 when x is outside the curve.
 */
static int brute_value(const scl_curve *c, double x, double *y) {
  double lx = -INFINITY, ly = INFINITY, rx = INFINITY, ry = INFINITY;
  for (size_t i = 0; i < c->n; i++) {
    double px = c->x[i], py = c->y[i];
    if (!(px > 0) || !(py > 0) || !isfinite(px) || !isfinite(py)) continue;
    if (px <= x && (px > lx || (px == lx && py < ly))) {
      lx = px;
      ly = py;
    }
    if (px >= x && (px < rx || (px == rx && py < ry))) {
      rx = px;
      ry = py;
    }
  }
  if (lx == -INFINITY || rx == INFINITY) return 0;
  if (lx == x) {
    *y = ly;
  } else if (rx == x) {
    *y = ry;
  } else {
    double t = (log(x) - log(lx)) / (log(rx) - log(lx));
    *y = exp(log(ly) + t * (log(ry) - log(ly)));
  }
  return 1;
}

static int brute_min(const scl_curve *c, size_t nc, double x, double *y) {
  int any = 0;
  double best = INFINITY;
  for (size_t k = 0; k < nc; k++) {
    double v;
    if (brute_value(&c[k], x, &v) && v < best) {
      best = v;
      any = 1;
    }
  }
  *y = best;
  return any;
}

static int cmp_d(const void *a, const void *b) {
  double u = *(const double *)a, v = *(const double *)b;
  return u < v ? -1 : u > v;
}

enum { MAXC = 40, MAXP = 300 };
static double xs[MAXC][MAXP], ys[MAXC][MAXP], all[MAXC * MAXP];

/*
 * One random problem of up to maxc curves of up to maxp points, checked in
 * both modes against the reference.  Small problems on fine grids send
 * long segments to the tree; many dense curves mostly update directly.
 */
static void random_case(scl_ctx *ctx, size_t maxc, size_t maxp, int *bad) {
  scl_curve c[MAXC];
  size_t nc = 1 + (size_t)(urand() * (double)maxc), nvalid = 0, nexcl = 0;
  for (size_t k = 0; k < nc; k++) {
    size_t n = 1 + (size_t)(urand() * (double)(urand() < 0.3 ? 3 : maxp));
    double lo = -2 + 3 * urand(), span = 0.1 + 3 * urand();
    double level = 1 + 5 * urand(), slope = -0.5 * urand();
    for (size_t i = 0; i < n; i++) {
      double lx = lo + span * urand();
      if (i > 0 && urand() < 0.1) lx = log10(xs[k][i - 1]); /* duplicate */
      xs[k][i] = pow(10, lx);
      ys[k][i] = level * pow(xs[k][i], slope) * (1 + 0.3 * urand());
      double r = urand();
      if (r < 0.03) {
        xs[k][i] = -xs[k][i];
      } else if (r < 0.06) {
        ys[k][i] = NAN;
      } else if (r < 0.08) {
        ys[k][i] = 0;
      }
      if (xs[k][i] > 0 && ys[k][i] > 0)
        all[nvalid++] = xs[k][i];
      else
        nexcl++;
    }
    c[k] = (scl_curve){xs[k], ys[k], n};
  }
  if (nvalid == 0) return;
  qsort(all, nvalid, sizeof *all, cmp_d);
  size_t nu = 1;
  for (size_t i = 1; i < nvalid; i++)
    if (all[i] != all[nu - 1]) all[nu++] = all[i];

  /* POINTS: exactly the distinct valid x, each with the brute minimum */
  scl_envelope *e = run(ctx, c, nc, SCL_ENV_POINTS, 0);
  if (!e) return;
  if (e->n != nu || e->excluded != nexcl) (*bad)++;
  for (size_t i = 0; i < e->n && i < nu; i++) {
    double want;
    brute_min(c, nc, all[i], &want);
    double got_own;
    int ok = e->x[i] == all[i] && fabs(e->y[i] - want) <= 1e-12 * want &&
             e->curve[i] < nc && brute_value(&c[e->curve[i]], e->x[i], &got_own) &&
             fabs(got_own - e->y[i]) <= 1e-12 * want;
    if (!ok) (*bad)++;
  }
  scl_envelope_free(ctx, e);

  /* GRID: each covered grid point, in order, with the brute minimum */
  size_t g = 2 + (size_t)(urand() * 1000);
  e = run(ctx, c, nc, SCL_ENV_GRID, g);
  if (!e) return;
  double lo = all[0], hi = all[nu - 1];
  size_t covered = 0, i = 0;
  for (size_t j = 0; j < (lo == hi ? 1 : g); j++) {
    double x = j == 0       ? lo
               : j == g - 1 ? hi
                            : exp(log(lo) + (double)j / (double)(g - 1) *
                                                (log(hi) - log(lo)));
    double want;
    if (!brute_min(c, nc, x, &want)) continue;
    covered++;
    if (i < e->n) {
      if (fabs(e->x[i] - x) > 1e-14 * x || fabs(e->y[i] - want) > 1e-12 * want)
        (*bad)++;
      i++;
    }
  }
  if (covered != e->n) (*bad)++;
  scl_envelope_free(ctx, e);
}

static void test_random(scl_ctx *ctx) {
  int bad = 0;
  for (int t = 0; t < 2000; t++) random_case(ctx, 8, 40, &bad);
  CHECK(bad == 0, "%d mismatches against the brute-force reference", bad);
  bad = 0;
  for (int t = 0; t < 12; t++) random_case(ctx, MAXC, MAXP, &bad);
  CHECK(bad == 0, "large: %d mismatches against the reference", bad);
}

/* ------------------------------------------------ allocation failure */

static void test_alloc_failure(void) {
  double ax[] = {5, 1, 3, 3, 20, -1}, ay[] = {2, 4, 3, 2.5, 1, 1};
  double bx[] = {2, 40}, by[] = {5, 0.5};
  scl_curve c[] = {{ax, ay, 6}, {bx, by, 2}};
  for (int mode = 0; mode < 2; mode++) {
    int done = 0, clean = 1;
    long k;
    for (k = 1; k < 100 && !done; k++) {
      testalloc a;
      scl_ctx *ctx = testalloc_ctx(&a);
      if (!ctx) {
        clean = 0;
        break;
      }
      testalloc_fail_next(&a, k);
      scl_envelope_opts o;
      scl_envelope_opts_init(&o);
      o.mode = mode ? SCL_ENV_POINTS : SCL_ENV_GRID;
      o.grid = 50;
      scl_envelope *e = NULL;
      int rc = scl_envelope_compute(ctx, c, 2, &o, &e);
      if (rc == SCL_OK) {
        done = 1;
        if (!e || e->excluded != 1) clean = 0;
        scl_envelope_free(ctx, e);
      } else if (rc != SCL_ENOMEM || e != NULL ||
                 strcmp(scl_ctx_errmsg(ctx), "out of memory") != 0) {
        clean = 0;
      }
      if (a.blocks != 1) clean = 0; /* only the context is left */
      scl_ctx_free(ctx);
      if (a.blocks != 0) clean = 0;
    }
    CHECK(done, "mode %d: never succeeded", mode);
    CHECK(clean, "mode %d: bad status or leak when failing allocation", mode);
    CHECK(k > 5, "mode %d: only %ld allocations exercised", mode, k - 1);
  }
}

int main(void) {
  scl_ctx *ctx = scl_ctx_new(NULL, NULL);
  test_crossing(ctx);
  test_disjoint(ctx);
  test_single_points(ctx);
  test_unsorted(ctx);
  test_excluded(ctx);
  test_errors(ctx);
  test_random(ctx);
  test_alloc_failure();
  scl_ctx_free(ctx);
  return check_done("envelope");
}
