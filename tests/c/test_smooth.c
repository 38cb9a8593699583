/*
 * test_smooth.c -- EMA, trailing and proportional smoothing: exact values,
 * NaN gaps, in-place use, long-series accuracy against a direct
 * recomputation, errors and allocation failure.
 */
#include "check.h"
#include "scalelua.h"
#include "testalloc.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static void expect(const double *got, const double *want, size_t n,
                   const char *what) {
  for (size_t i = 0; i < n; i++) {
    if (isnan(want[i])) {
      CHECK(isnan(got[i]), "%s[%zu] = %g, want NaN", what, i, got[i]);
    } else {
      CHECK(fabs(got[i] - want[i]) <= 1e-15 * fabs(want[i]),
            "%s[%zu] = %.17g, want %.17g", what, i, got[i], want[i]);
    }
  }
}

static void test_ema(scl_ctx *ctx) {
  double y[] = {4, 8, 2}, out[4];
  /* m = 2, 5, 3.5; divided by 1 - 0.5^t = 0.5, 0.75, 0.875 */
  CHECK(scl_smooth_ema(ctx, y, 3, 0.5, out) == SCL_OK, "ema");
  expect(out, (double[]){4, 20.0 / 3, 4}, 3, "ema");

  /* NaN is a gap: it keeps its place and the state skips it */
  double g[] = {NAN, 4, NAN, 8};
  CHECK(scl_smooth_ema(ctx, g, 4, 0.5, out) == SCL_OK, "ema gap");
  expect(out, (double[]){NAN, 4, NAN, 20.0 / 3}, 4, "ema gap");

  /* alpha = 1 is the identity; in place */
  double z[] = {3, 1, 2};
  CHECK(scl_smooth_ema(ctx, z, 3, 1, z) == SCL_OK, "ema alpha 1");
  expect(z, (double[]){3, 1, 2}, 3, "ema alpha 1");

  /* alpha = 0.25 in place: m = 1, 1.75, 1.3125 / (0.25, 0.4375, 0.578125) */
  double w[] = {4, 4, 0};
  CHECK(scl_smooth_ema(ctx, w, 3, 0.25, w) == SCL_OK, "ema in place");
  expect(w, (double[]){4, 4, 1.3125 / 0.578125}, 3, "ema in place");

  /* a constant stays constant (the bias correction at work) */
  double c[200], co[200];
  for (int i = 0; i < 200; i++) c[i] = 2.5;
  CHECK(scl_smooth_ema(ctx, c, 200, 0.01, co) == SCL_OK, "ema const");
  double worst = 0;
  for (int i = 0; i < 200; i++) worst = fmax(worst, fabs(co[i] - 2.5));
  CHECK(worst < 1e-13, "constant drifted by %g", worst);

  CHECK(scl_smooth_ema(ctx, y, 3, 0, out) == SCL_EINVAL, "alpha 0");
  CHECK(strstr(scl_ctx_errmsg(ctx), "alpha = 0") != NULL, "msg: %s",
        scl_ctx_errmsg(ctx));
  CHECK(scl_smooth_ema(ctx, y, 3, 1.5, out) == SCL_EINVAL, "alpha 1.5");
  CHECK(scl_smooth_ema(ctx, y, 3, NAN, out) == SCL_EINVAL, "alpha NaN");
  CHECK(scl_smooth_ema(ctx, NULL, 3, 0.5, out) == SCL_EINVAL, "y NULL");
  CHECK(scl_smooth_ema(ctx, NULL, 0, 0.5, NULL) == SCL_OK, "n = 0");
}

static void test_trailing(scl_ctx *ctx) {
  double y[] = {1, 2, 3, 4, 5}, out[6];
  CHECK(scl_smooth_trailing(ctx, y, 5, 3, out) == SCL_OK, "trailing");
  expect(out, (double[]){1, 1.5, 2, 3, 4}, 5, "trailing");

  CHECK(scl_smooth_trailing(ctx, y, 5, 1, out) == SCL_OK, "window 1");
  expect(out, y, 5, "window 1");
  CHECK(scl_smooth_trailing(ctx, y, 5, 99, out) == SCL_OK, "window 99");
  expect(out, (double[]){1, 1.5, 2, 2.5, 3}, 5, "window 99");

  double g[] = {1, NAN, 3, 4, 5, NAN, NAN, NAN, 9};
  CHECK(scl_smooth_trailing(ctx, g, 9, 3, g) == SCL_OK, "gap in place");
  expect(g, (double[]){1, NAN, 2, 3.5, 4, NAN, NAN, NAN, 9}, 9, "gap");

  /* an infinite loss (a diverged step) is a gap too, not a poison */
  double d[] = {1, INFINITY, 3, -INFINITY, 5, 7};
  CHECK(scl_smooth_trailing(ctx, d, 6, 2, out) == SCL_OK, "inf");
  expect(out, (double[]){1, NAN, 3, NAN, 5, 6}, 6, "inf");
  /* finite values 1 3 5 7: m = 5.1875 over 1 - 0.5^4 at the end */
  CHECK(scl_smooth_ema(ctx, d, 6, 0.5, out) == SCL_OK, "ema inf");
  CHECK(isnan(out[1]) && fabs(out[5] - 83.0 / 15) < 1e-14, "ema inf: %g %g",
        out[1], out[5]);

  double z[] = {1, 2, 3, 4, 5};
  CHECK(scl_smooth_trailing(ctx, z, 5, 2, z) == SCL_OK, "in place");
  expect(z, (double[]){1, 1.5, 2.5, 3.5, 4.5}, 5, "in place");

  CHECK(scl_smooth_trailing(ctx, y, 5, 0, out) == SCL_EINVAL, "window 0");
  CHECK(strstr(scl_ctx_errmsg(ctx), "window = 0") != NULL, "msg: %s",
        scl_ctx_errmsg(ctx));
}

/* Naive O(n window) reference for the long-series accuracy check. */
static void test_trailing_long(scl_ctx *ctx) {
  enum { N = 200000, W = 37 };
  double *y = malloc(N * sizeof *y), *out = malloc(N * sizeof *out);
  uint64_t s = 12345;
  for (size_t i = 0; i < N; i++) {
    s = s * 6364136223846793005u + 1442695040888963407u;
    double u = (double)(s >> 11) * 0x1p-53;
    y[i] = (i % 1000 == 0 ? 1e6 : 1) * (3 + u); /* spikes stress the sum */
  }
  CHECK(scl_smooth_trailing(ctx, y, N, W, out) == SCL_OK, "long");
  double worst = 0;
  for (size_t i = 0; i < N; i++) {
    double sum = 0;
    size_t lo = i + 1 >= W ? i + 1 - W : 0;
    for (size_t j = lo; j <= i; j++) sum += y[j];
    double want = sum / (double)(i - lo + 1);
    worst = fmax(worst, fabs(out[i] - want) / want);
  }
  CHECK(worst < 1e-13, "long series: relative error %g", worst);
  free(y);
  free(out);
}

static void test_proportional(scl_ctx *ctx) {
  double x[] = {1, 2, 3, 4, 6, 8}, y[] = {1, 2, 3, 4, 5, 6}, out[6];
  /* windows: [.5,1.5] [1,3] [1.5,4.5] [2,6] [3,9] [4,12] */
  CHECK(scl_smooth_proportional(ctx, x, y, 6, 0.5, out) == SCL_OK, "prop");
  expect(out, (double[]){1, 2, 3, 3.5, 4.5, 5}, 6, "prop");

  /* frac 0: only equal x are averaged; x = 0 (a step-0 row) is allowed */
  double x0[] = {0, 0, 2, 2, 5}, y0[] = {8, 6, 1, 2, 3};
  CHECK(scl_smooth_proportional(ctx, x0, y0, 5, 0, out) == SCL_OK, "frac 0");
  expect(out, (double[]){7, 7, 1.5, 1.5, 3}, 5, "frac 0");

  /* frac >= 1: the window reaches back to x = 0 */
  CHECK(scl_smooth_proportional(ctx, x, y, 6, 1.5, out) == SCL_OK, "frac 1.5");
  /* tops: 2.5 5 7.5 10 15 20 */
  expect(out, (double[]){1.5, 2.5, 3, 3.5, 3.5, 3.5}, 6, "frac 1.5");

  /* in place, with a gap */
  double g[] = {1, 2, NAN, 4, 5, 6};
  CHECK(scl_smooth_proportional(ctx, x, g, 6, 0.5, g) == SCL_OK, "prop gap");
  expect(g, (double[]){1, 1.5, NAN, 11.0 / 3, 5, 5}, 6, "prop gap");

  double bad[] = {1, 3, 2};
  CHECK(scl_smooth_proportional(ctx, bad, y, 3, 0.1, out) == SCL_EINVAL,
        "decreasing x");
  CHECK(strstr(scl_ctx_errmsg(ctx), "x[2] = 2 < x[1] = 3") != NULL, "msg: %s",
        scl_ctx_errmsg(ctx));
  double neg[] = {-1, 3};
  CHECK(scl_smooth_proportional(ctx, neg, y, 2, 0.1, out) == SCL_EINVAL,
        "negative x");
  double nan[] = {1, NAN};
  CHECK(scl_smooth_proportional(ctx, nan, y, 2, 0.1, out) == SCL_EINVAL,
        "NaN x");
  CHECK(scl_smooth_proportional(ctx, x, y, 6, -0.1, out) == SCL_EINVAL,
        "frac < 0");
  CHECK(strstr(scl_ctx_errmsg(ctx), "frac = -0.1") != NULL, "msg: %s",
        scl_ctx_errmsg(ctx));
  CHECK(scl_smooth_proportional(ctx, x, y, 6, INFINITY, out) == SCL_EINVAL,
        "frac inf");
  CHECK(scl_smooth_proportional(ctx, NULL, y, 6, 0.1, out) == SCL_EINVAL,
        "x NULL");
}

/* Against an O(n^2) reference on random increasing x with ties. */
static void test_proportional_random(scl_ctx *ctx) {
  enum { N = 3000 };
  double *x = malloc(N * sizeof *x), *y = malloc(N * sizeof *y);
  double *out = malloc(N * sizeof *out);
  uint64_t s = 99;
  double cur = 0;
  int bad = 0;
  for (int t = 0; t < 5; t++) {
    for (size_t i = 0; i < N; i++) {
      s = s * 6364136223846793005u + 1442695040888963407u;
      double u = (double)(s >> 11) * 0x1p-53;
      if (u > 0.2) cur += 10 * u; /* 20% ties */
      x[i] = cur;
      y[i] = u < 0.05 ? NAN : 2 + u;
    }
    double frac = 0.02 + 0.1 * t;
    CHECK(scl_smooth_proportional(ctx, x, y, N, frac, out) == SCL_OK, "rand");
    for (size_t i = 0; i < N; i++) {
      double sum = 0, lo = x[i] * (1 - frac), hi = x[i] * (1 + frac);
      size_t k = 0;
      for (size_t j = 0; j < N; j++)
        if (x[j] >= lo && x[j] <= hi && !isnan(y[j])) {
          sum += y[j];
          k++;
        }
      double want = isnan(y[i]) ? NAN : sum / (double)k;
      if (isnan(want) ? !isnan(out[i]) : fabs(out[i] - want) > 1e-12 * want)
        bad++;
    }
  }
  CHECK(bad == 0, "%d mismatches against the O(n^2) reference", bad);
  free(x);
  free(y);
  free(out);
}

/* In place needs one copy: its failure is a clean SCL_ENOMEM, no leak. */
static void test_alloc_failure(void) {
  testalloc a;
  scl_ctx *ctx = testalloc_ctx(&a);
  double x[] = {1, 2, 3}, y[] = {1, 2, 3}, keep[] = {1, 2, 3};
  testalloc_fail_next(&a, 1);
  CHECK(scl_smooth_trailing(ctx, y, 3, 2, y) == SCL_ENOMEM, "trailing oom");
  CHECK(memcmp(y, keep, sizeof y) == 0, "y changed on failure");
  testalloc_fail_next(&a, 1);
  CHECK(scl_smooth_proportional(ctx, x, y, 3, 0.5, y) == SCL_ENOMEM,
        "proportional oom");
  CHECK(strcmp(scl_ctx_errmsg(ctx), "out of memory") == 0, "msg: %s",
        scl_ctx_errmsg(ctx));
  CHECK(a.blocks == 1, "leak: %ld blocks", a.blocks);
  /* out-of-place calls need no memory at all */
  double out[3];
  testalloc_fail_next(&a, 1);
  CHECK(scl_smooth_trailing(ctx, y, 3, 2, out) == SCL_OK, "no alloc");
  CHECK(scl_smooth_ema(ctx, y, 3, 0.5, y) == SCL_OK, "ema no alloc");
  a.fail_at = 0;
  CHECK(scl_smooth_proportional(ctx, x, y, 3, 0.5, y) == SCL_OK, "prop ok");
  CHECK(a.blocks == 1, "leak after success: %ld blocks", a.blocks);
  scl_ctx_free(ctx);
  CHECK(a.blocks == 0, "context leaked");
}

int main(void) {
  scl_ctx *ctx = scl_ctx_new(NULL, NULL);
  test_ema(ctx);
  test_trailing(ctx);
  test_trailing_long(ctx);
  test_proportional(ctx);
  test_proportional_random(ctx);
  test_alloc_failure();
  scl_ctx_free(ctx);
  return check_done("smooth");
}
