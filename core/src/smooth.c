/*
 * smooth.c -- smoothing of noisy training curves: a bias-corrected
 * exponential moving average, a trailing moving average and a window
 * proportional to x (the same relative width at every scale, which suits
 * log axes).
 *
 * NaN values of y are missing points: they enter no average and their
 * output is NaN, so a smoothed column keeps the gaps of its input.  The
 * same holds for infinities (a diverged step), which would otherwise turn
 * every later running sum into NaN.  The
 * running sums are compensated (Neumaier), so long series do not drift.
 */
#include "internal.h"

#include <math.h>
#include <string.h>

/* A running sum with a compensation term for the low-order bits lost. */
typedef struct {
  double s, c;
  size_t n;
} ksum;

static void ksum_add(ksum *k, double v) {
  double t = k->s + v;
  if (fabs(k->s) >= fabs(v))
    k->c += (k->s - t) + v;
  else
    k->c += (v - t) + k->s;
  k->s = t;
}

static void put(ksum *k, double v) {
  if (!isfinite(v)) return;
  ksum_add(k, v);
  k->n++;
}

/* Remove v; an emptied sum restarts at exactly zero. */
static void take(ksum *k, double v) {
  if (!isfinite(v)) return;
  if (--k->n == 0) {
    k->s = k->c = 0;
    return;
  }
  ksum_add(k, -v);
}

static double mean(const ksum *k) {
  return k->n ? (k->s + k->c) / (double)k->n : NAN;
}

static int check_io(scl_ctx *ctx, const char *fn, const double *y, size_t n,
                    const double *out) {
  if (n && (!y || !out))
    return scli_error(ctx, SCL_EINVAL, "%s: %s is NULL", fn, y ? "out" : "y");
  return SCL_OK;
}

/*
 * When out is y itself the averages below would read values already
 * overwritten, so they work from a copy; otherwise from y directly.
 */
static const double *source(scl_ctx *ctx, const double *y, size_t n,
                            const double *out, double **copy) {
  *copy = NULL;
  if (y != out) return y;
  if (n > (size_t)-1 / sizeof **copy) return NULL;
  *copy = scli_malloc(ctx, n * sizeof **copy);
  if (*copy) memcpy(*copy, y, n * sizeof **copy);
  return *copy;
}

/*
 * m_t = (1 - alpha) m_{t-1} + alpha y_t from m_0 = 0, divided by
 * 1 - (1 - alpha)^t as Adam does, so the start is not pulled towards 0.
 * t counts the finite values seen so far.
 */
int scl_smooth_ema(scl_ctx *ctx, const double *y, size_t n, double alpha,
                   double *out) {
  int rc = check_io(ctx, "smooth_ema", y, n, out);
  if (rc) return rc;
  if (!(alpha > 0 && alpha <= 1))
    return scli_error(ctx, SCL_EINVAL,
                      "smooth_ema: alpha = %g: must be in (0, 1]", alpha);
  double m = 0, keep = 1; /* keep = (1 - alpha)^t */
  for (size_t i = 0; i < n; i++) {
    double v = y[i];
    if (!isfinite(v)) {
      out[i] = NAN;
      continue;
    }
    m = (1 - alpha) * m + alpha * v;
    keep *= 1 - alpha;
    out[i] = m / (1 - keep);
  }
  return SCL_OK;
}

/* out[i]: mean of the non-NaN values among y[i-window+1 .. i]. */
int scl_smooth_trailing(scl_ctx *ctx, const double *y, size_t n,
                        size_t window, double *out) {
  int rc = check_io(ctx, "smooth_trailing", y, n, out);
  if (rc) return rc;
  if (window < 1)
    return scli_error(ctx, SCL_EINVAL,
                      "smooth_trailing: window = 0: must be at least 1");
  if (n == 0) return SCL_OK;
  double *copy;
  const double *v = source(ctx, y, n, out, &copy);
  if (!v) return scli_oom(ctx);
  ksum k = {0, 0, 0};
  for (size_t i = 0; i < n; i++) {
    put(&k, v[i]);
    if (i >= window) take(&k, v[i - window]);
    out[i] = isfinite(v[i]) ? mean(&k) : NAN;
  }
  scli_free(ctx, copy, n * sizeof *copy);
  return SCL_OK;
}

/*
 * Two pointers: as x grows, both ends of [x(1 - frac), x(1 + frac)] grow,
 * so each point enters and leaves the running sum once: O(n).
 */
int scl_smooth_proportional(scl_ctx *ctx, const double *x, const double *y,
                            size_t n, double frac, double *out) {
  int rc = check_io(ctx, "smooth_proportional", y, n, out);
  if (rc) return rc;
  if (n && !x)
    return scli_error(ctx, SCL_EINVAL, "smooth_proportional: x is NULL");
  if (!(frac >= 0 && isfinite(frac)))
    return scli_error(ctx, SCL_EINVAL,
                      "smooth_proportional: frac = %g: must be finite and "
                      ">= 0",
                      frac);
  for (size_t i = 0; i < n; i++) {
    if (!(x[i] >= 0 && isfinite(x[i])))
      return scli_error(ctx, SCL_EINVAL,
                        "smooth_proportional: x[%zu] = %g: must be finite "
                        "and >= 0",
                        i, x[i]);
    if (i && x[i] < x[i - 1])
      return scli_error(ctx, SCL_EINVAL,
                        "smooth_proportional: x is not increasing: x[%zu] = "
                        "%g < x[%zu] = %g",
                        i, x[i], i - 1, x[i - 1]);
  }
  if (n == 0) return SCL_OK;
  double *copy;
  const double *v = source(ctx, y, n, out, &copy);
  if (!v) return scli_oom(ctx);
  ksum k = {0, 0, 0};
  size_t lo = 0, hi = 0; /* the sum holds v[lo .. hi) */
  for (size_t i = 0; i < n; i++) {
    double top = x[i] * (1 + frac);
    double bottom = frac < 1 ? x[i] * (1 - frac) : 0;
    while (hi < n && x[hi] <= top) put(&k, v[hi++]);
    while (x[lo] < bottom) take(&k, v[lo++]);
    out[i] = isfinite(v[i]) ? mean(&k) : NAN;
  }
  scli_free(ctx, copy, n * sizeof *copy);
  return SCL_OK;
}
