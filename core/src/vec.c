/*
 * vec.c -- element-wise vector kernels and NaN-skipping reductions, the
 * arithmetic behind column expressions (loss * 1.0, log10(flops), ...).
 */
#include "internal.h"

#include <math.h>

static int is_unary(scl_op op) {
  return op == SCL_NEG || op == SCL_LOG10 || op == SCL_LOG || op == SCL_EXP;
}

static double apply(scl_op op, double x, double y) {
  switch (op) {
  case SCL_ADD: return x + y;
  case SCL_SUB: return x - y;
  case SCL_MUL: return x * y;
  case SCL_DIV: return x / y;
  case SCL_POW: return pow(x, y);
  case SCL_NEG: return -x;
  case SCL_LOG10: return log10(x);
  case SCL_LOG: return log(x);
  case SCL_EXP: return exp(x);
  }
  return NAN;
}

static int bad_len(scl_ctx *ctx, const char *which, size_t got, size_t n) {
  if (!ctx) return SCL_EINVAL;
  return scli_error(ctx, SCL_EINVAL,
                    "vector operand %s has %zu values, expected 1 or %zu",
                    which, got, n);
}

/*
 * One loop per (broadcast, broadcast) shape keeps the common full-length
 * case free of index arithmetic.  Scalars are read before the loop, so
 * out may be the same array as a or b.
 */
int scl_vec_op(scl_ctx *ctx, scl_op op, const double *a, size_t na,
               const double *b, size_t nb, double *out, size_t n) {
  if ((unsigned)op > (unsigned)SCL_EXP) {
    if (ctx) scli_error(ctx, SCL_EINVAL, "unknown vector operation %d", op);
    return SCL_EINVAL;
  }
  if (n == 0) return SCL_OK;
  if (!out) {
    if (ctx) scli_error(ctx, SCL_EINVAL, "vector output is NULL");
    return SCL_EINVAL;
  }
  if ((na != 1 && na != n) || !a) return bad_len(ctx, "a", a ? na : 0, n);
  if (is_unary(op)) {
    if (na == 1) {
      double v = apply(op, a[0], 0);
      for (size_t i = 0; i < n; i++) out[i] = v;
    } else {
      for (size_t i = 0; i < n; i++) out[i] = apply(op, a[i], 0);
    }
    return SCL_OK;
  }
  if ((nb != 1 && nb != n) || !b) return bad_len(ctx, "b", b ? nb : 0, n);
  if (na == n && nb == n) {
    switch (op) { /* the hot cases, vectorisable */
    case SCL_ADD: for (size_t i = 0; i < n; i++) out[i] = a[i] + b[i]; break;
    case SCL_SUB: for (size_t i = 0; i < n; i++) out[i] = a[i] - b[i]; break;
    case SCL_MUL: for (size_t i = 0; i < n; i++) out[i] = a[i] * b[i]; break;
    case SCL_DIV: for (size_t i = 0; i < n; i++) out[i] = a[i] / b[i]; break;
    default:
      for (size_t i = 0; i < n; i++) out[i] = apply(op, a[i], b[i]);
    }
  } else if (na == n) {
    double y = b[0];
    for (size_t i = 0; i < n; i++) out[i] = apply(op, a[i], y);
  } else if (nb == n) {
    double x = a[0];
    for (size_t i = 0; i < n; i++) out[i] = apply(op, x, b[i]);
  } else {
    double v = apply(op, a[0], b[0]);
    for (size_t i = 0; i < n; i++) out[i] = v;
  }
  return SCL_OK;
}

/*
 * Neumaier's compensated sum: loss curves add up millions of values of
 * very different sizes.  With an infinite term the plain sum is returned,
 * since the compensation would turn inf into NaN.
 */
double scl_vec_sum(const double *v, size_t n) {
  double s = 0, c = 0, plain = 0;
  size_t k = 0;
  for (size_t i = 0; i < n; i++) {
    double x = v[i];
    if (isnan(x)) continue;
    k++;
    plain += x;
    double t = s + x;
    if (fabs(s) >= fabs(x))
      c += (s - t) + x;
    else
      c += (x - t) + s;
    s = t;
  }
  if (k == 0) return NAN;
  if (!isfinite(plain)) return plain;
  return s + c;
}

double scl_vec_min(const double *v, size_t n) {
  double m = NAN;
  for (size_t i = 0; i < n; i++)
    if (!isnan(v[i]) && (isnan(m) || v[i] < m)) m = v[i];
  return m;
}

double scl_vec_max(const double *v, size_t n) {
  double m = NAN;
  for (size_t i = 0; i < n; i++)
    if (!isnan(v[i]) && (isnan(m) || v[i] > m)) m = v[i];
  return m;
}
