/*
 * fit_linear.c -- linear and polynomial least squares by Householder QR
 * with column pivoting, and the QR-based standard errors that the
 * nonlinear fits share.
 *
 * Why QR and not the normal equations: forming X'X squares the condition
 * number, and the NIST problem Filip (a degree-10 polynomial) is already
 * near the limit of double precision before squaring.  The columns are
 * centred (when there is an intercept) and scaled to unit length before
 * the factorisation; a polynomial is fitted in t = (x - mid) / halfrange
 * and converted back to powers of x, with its covariance, in long double.
 */
#include "internal.h"

#include <float.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

/* -------------------------------------------------------------- QR core */

/*
 * Factor the column-major m x n matrix A (m >= n) as A P = Q R in place:
 * R in the upper triangle, the Householder vectors (with implicit leading
 * 1) below it, their scalars in tau, the column order in perm.  The pivot
 * is the remaining column of largest norm, so a (nearly) dependent column
 * ends up last with a tiny diagonal element.  cn: n doubles of scratch.
 */
static void qr_factor(double *A, size_t m, size_t n, double *tau, size_t *perm,
                      double *cn) {
  for (size_t j = 0; j < n; j++) perm[j] = j;
  for (size_t k = 0; k < n; k++) {
    /* pivot: remaining norms, recomputed (cheap next to the update) */
    size_t best = k;
    for (size_t j = k; j < n; j++) {
      const double *c = A + j * m;
      double s = 0;
      for (size_t i = k; i < m; i++) s += c[i] * c[i];
      cn[j] = s;
      if (s > cn[best]) best = j;
    }
    if (best != k) {
      double *a = A + k * m, *b = A + best * m;
      for (size_t i = 0; i < m; i++) {
        double t = a[i];
        a[i] = b[i];
        b[i] = t;
      }
      size_t t = perm[k];
      perm[k] = perm[best];
      perm[best] = t;
    }
    double *v = A + k * m;
    double norm = sqrt(cn[best]), x0 = v[k];
    if (norm == 0) {
      tau[k] = 0;
      continue;
    }
    double beta = x0 > 0 ? -norm : norm;
    tau[k] = (beta - x0) / beta;
    double scale = 1 / (x0 - beta);
    for (size_t i = k + 1; i < m; i++) v[i] *= scale;
    v[k] = beta;
    for (size_t j = k + 1; j < n; j++) {
      double *c = A + j * m;
      double s = c[k];
      for (size_t i = k + 1; i < m; i++) s += v[i] * c[i];
      s *= tau[k];
      c[k] -= s;
      for (size_t i = k + 1; i < m; i++) c[i] -= s * v[i];
    }
  }
}

/* b := Q' b for the factorisation above. */
static void qr_qtb(const double *A, size_t m, size_t n, const double *tau,
                   double *b) {
  for (size_t k = 0; k < n; k++) {
    if (tau[k] == 0) continue;
    const double *v = A + k * m;
    double s = b[k];
    for (size_t i = k + 1; i < m; i++) s += v[i] * b[i];
    s *= tau[k];
    b[k] -= s;
    for (size_t i = k + 1; i < m; i++) b[i] -= s * v[i];
  }
}

/* Numerical rank: diagonal elements above tol relative to the first. */
static size_t qr_rank(const double *A, size_t m, size_t n) {
  double tol = 10 * (double)(m > n ? m : n) * DBL_EPSILON;
  double r0 = n ? fabs(A[0]) : 0;
  size_t r = 0;
  while (r < n && fabs(A[r * m + r]) > tol * r0) r++;
  return r;
}

/*
 * Ri := R^-1 (n x n, column-major, upper) from the factor in A.  The
 * covariance of the permuted solution is s2 Ri Ri'.
 */
static void qr_rinv(const double *A, size_t m, size_t n, double *Ri) {
  memset(Ri, 0, n * n * sizeof *Ri);
  for (size_t j = n; j-- > 0;) {
    Ri[j * n + j] = 1 / A[j * m + j];
    for (size_t i = j; i-- > 0;) {
      double s = 0;
      for (size_t k = i + 1; k <= j; k++) s += A[k * m + i] * Ri[j * n + k];
      Ri[j * n + i] = -s / A[i * m + i];
    }
  }
}

/*
 * Full covariance (unpermuted, n x n row-major) s2 (A'A)^-1 from R^-1;
 * cov[perm[i], perm[j]] = s2 sum_k Ri[i,k] Ri[j,k].
 */
static void qr_cov(const double *Ri, const size_t *perm, size_t n, double s2,
                   double *cov) {
  for (size_t i = 0; i < n; i++)
    for (size_t j = i; j < n; j++) {
      double s = 0;
      for (size_t k = j; k < n; k++) s += Ri[k * n + i] * Ri[k * n + j];
      cov[perm[i] * n + perm[j]] = cov[perm[j] * n + perm[i]] = s2 * s;
    }
}

int scli_qr_stderr(scl_ctx *ctx, double *J, size_t n, size_t p, double s2,
                   double *se, size_t *rank) {
  size_t bytes = (p * p + 3 * p) * sizeof(double) + p * sizeof(size_t);
  double *w = scli_malloc(ctx, bytes);
  *rank = 0;
  if (!w) return scli_oom(ctx);
  double *tau = w, *cn = w + p, *sc = w + 2 * p, *Ri = w + 3 * p;
  size_t *perm = (size_t *)(Ri + p * p);
  for (size_t j = 0; j < p; j++) se[j] = NAN;
  if (n >= p) {
    /* unit columns: the rank decision then ignores parameter units */
    for (size_t j = 0; j < p; j++) {
      double s = 0, *c = J + j * n;
      for (size_t i = 0; i < n; i++) s += c[i] * c[i];
      sc[j] = sqrt(s);
      if (sc[j] > 0)
        for (size_t i = 0; i < n; i++) c[i] /= sc[j];
    }
    qr_factor(J, n, p, tau, perm, cn);
    *rank = qr_rank(J, n, p);
    if (*rank == p) {
      qr_rinv(J, n, p, Ri);
      for (size_t i = 0; i < p; i++) {
        double s = 0;
        for (size_t k = i; k < p; k++) s += Ri[k * p + i] * Ri[k * p + i];
        se[perm[i]] = sqrt(s2 * s) / sc[perm[i]];
      }
    }
  }
  scli_free(ctx, w, bytes);
  return SCL_OK;
}

/* ------------------------------------------------- least-squares problem */

/*
 * A weighted least-squares problem after row selection: m rows (weight
 * > 0), k predictor columns (raw values, column-major), optional
 * intercept.  lsq_solve() centres and scales a copy, solves by QR and
 * reports coefficients and their full covariance in the raw basis.
 */
typedef struct {
  size_t m, k;
  int icpt;
  double *X;  /* m x k raw predictors */
  double *y;  /* m */
  double *w;  /* m weights (NULL: 1) */
} lsq;

typedef struct {
  double *coef; /* p = k + icpt */
  double *cov;  /* p x p, or NULL */
  double rss, tss;
  size_t rank;
  size_t bad; /* first dependent column (raw index) when rank < k */
} lsq_out;

/* Weighted mean by two passes (the second removes the first's error). */
static double wmean(const double *v, const double *w, size_t m, double sw) {
  double s = 0, c = 0;
  for (size_t i = 0; i < m; i++) s += (w ? w[i] : 1) * v[i];
  s /= sw;
  for (size_t i = 0; i < m; i++) c += (w ? w[i] : 1) * (v[i] - s);
  return s + c / sw;
}

static int lsq_solve(scl_ctx *ctx, const lsq *L, lsq_out *o) {
  size_t m = L->m, k = L->k, p = k + (size_t)L->icpt;
  size_t nd = m * k + m + m + 5 * k + k * k + (k ? 0 : 1);
  size_t bytes = nd * sizeof(double) + k * sizeof(size_t);
  double *mem = scli_malloc(ctx, bytes);
  if (!mem) return scli_oom(ctx);
  double *A = mem, *b = A + m * k, *sw = b + m, *mean = sw + m;
  double *scale = mean + k, *tau = scale + k, *cn = tau + k, *d = cn + k;
  double *Ri = d + k;
  size_t *perm = (size_t *)(Ri + k * k + (k ? 0 : 1));
  double sumw = 0, ybar = 0;
  for (size_t i = 0; i < m; i++) {
    sw[i] = L->w ? sqrt(L->w[i]) : 1;
    sumw += L->w ? L->w[i] : 1;
  }
  if (L->icpt) ybar = wmean(L->y, L->w, m, sumw);
  for (size_t i = 0; i < m; i++) b[i] = sw[i] * (L->y[i] - ybar);
  for (size_t j = 0; j < k; j++) {
    const double *x = L->X + j * m;
    double *a = A + j * m, s = 0;
    mean[j] = L->icpt ? wmean(x, L->w, m, sumw) : 0;
    for (size_t i = 0; i < m; i++) {
      a[i] = sw[i] * (x[i] - mean[j]);
      s += a[i] * a[i];
    }
    scale[j] = sqrt(s);
    if (scale[j] > 0)
      for (size_t i = 0; i < m; i++) a[i] /= scale[j];
  }
  o->rank = k;
  o->bad = 0;
  for (size_t j = 0; j < k; j++)
    if (scale[j] == 0) {
      o->rank = 0;
      o->bad = j;
    }
  if (o->rank == k && k > 0) {
    qr_factor(A, m, k, tau, perm, cn);
    o->rank = qr_rank(A, m, k);
    if (o->rank < k) o->bad = perm[o->rank];
  }
  if (o->rank < k) {
    scli_free(ctx, mem, bytes);
    return SCL_OK;
  }
  /* solve R z = (Q'b)[0..k), then undo pivoting and scaling */
  if (k) qr_qtb(A, m, k, tau, b);
  long double rss = 0;
  for (size_t i = k; i < m; i++) rss += (long double)b[i] * b[i];
  for (size_t j = k; j-- > 0;) {
    long double s = b[j];
    for (size_t t = j + 1; t < k; t++) s -= (long double)A[t * m + j] * d[t];
    d[j] = (double)(s / A[j * m + j]);
  }
  double *c = o->coef + L->icpt;
  for (size_t j = 0; j < k; j++) c[perm[j]] = d[j] / scale[perm[j]];
  if (L->icpt) {
    long double s = ybar;
    for (size_t j = 0; j < k; j++) s -= (long double)c[j] * mean[j];
    o->coef[0] = (double)s;
  }
  /* residuals from the data, not from Q'b, in extended precision */
  rss = 0;
  long double tss = 0;
  for (size_t i = 0; i < m; i++) {
    long double r = L->y[i] - (L->icpt ? (long double)o->coef[0] : 0);
    for (size_t j = 0; j < k; j++) r -= (long double)c[j] * L->X[j * m + i];
    double wi = L->w ? L->w[i] : 1;
    rss += wi * r * r;
    long double dy = L->y[i] - ybar;
    tss += wi * dy * dy;
  }
  o->rss = (double)rss;
  o->tss = (double)tss;
  if (o->cov) {
    double s2 = m > p ? o->rss / (double)(m - p) : NAN;
    double *cv = o->cov;
    size_t off = (size_t)L->icpt;
    if (k) {
      qr_rinv(A, m, k, Ri);
      /* slopes block, in scaled units first */
      double *tmp = A; /* the factor is no longer needed: reuse as k x k */
      qr_cov(Ri, perm, k, s2, tmp);
      for (size_t i = 0; i < k; i++)
        for (size_t j = 0; j < k; j++)
          cv[(i + off) * p + j + off] = tmp[i * k + j] / (scale[i] * scale[j]);
    }
    if (L->icpt) {
      /* c0 = ybar - mean'c: var = s2/sumw + mean' C mean, cov = -C mean */
      long double v0 = s2 / sumw;
      for (size_t i = 0; i < k; i++) {
        long double cm = 0;
        for (size_t j = 0; j < k; j++) cm += cv[(i + 1) * p + j + 1] * mean[j];
        cv[(i + 1) * p] = cv[i + 1] = (double)-cm;
        v0 += cm * mean[i];
      }
      cv[0] = (double)v0;
    }
  }
  scli_free(ctx, mem, bytes);
  return SCL_OK;
}

/* ------------------------------------------------------------ linear fit */

typedef struct {
  const double *const *X;
  size_t ncols;
  const double *y, *w;
  size_t n;
  int intercept;
  /* a polynomial is a linear fit on t^1..t^degree */
  int poly, degree;
  double mid, half;
  const double *x; /* poly: the x values */
  int norefine;     /* poly: set inside poly_refine */
} lin_problem;

/* Fill an lsq from the rows idx[0..n) (or all rows) with weight > 0. */
static int lin_build(scl_ctx *ctx, const lin_problem *P, const size_t *idx,
                     size_t n, lsq *L, size_t *bytes) {
  size_t k = P->poly ? (size_t)P->degree : P->ncols, m = 0;
  for (size_t r = 0; r < n; r++) {
    size_t i = idx ? idx[r] : r;
    m += !P->w || P->w[i] > 0;
  }
  *bytes = (m * k + 2 * m) * sizeof(double) + sizeof(double);
  double *mem = scli_malloc(ctx, *bytes);
  if (!mem) return scli_oom(ctx);
  L->m = m;
  L->k = k;
  L->icpt = P->poly ? 1 : P->intercept;
  L->X = mem;
  L->y = mem + m * k;
  L->w = P->w ? L->y + m : NULL;
  size_t row = 0;
  for (size_t r = 0; r < n; r++) {
    size_t i = idx ? idx[r] : r;
    if (P->w && !(P->w[i] > 0)) continue;
    L->y[row] = P->y[i];
    if (L->w) L->w[row] = P->w[i];
    if (P->poly) {
      double t = (P->x[i] - P->mid) / P->half, tp = 1;
      for (size_t j = 0; j < k; j++) L->X[j * m + row] = tp *= t;
    } else {
      for (size_t j = 0; j < k; j++) L->X[j * m + row] = P->X[j][i];
    }
    row++;
  }
  return SCL_OK;
}

/*
 * Polynomial coefficients from powers of t = (x - mid)/half to powers of
 * x: c_k = sum_{j>=k} d_j C(j,k) (-mid)^(j-k) / half^j, i.e. c = T d, and
 * cov_c = T cov_d T'.  In long double: the alternating sums cancel.
 */
static int poly_to_x(scl_ctx *ctx, const lin_problem *P, double *coef,
                     double *cov) {
  size_t p = (size_t)P->degree + 1;
  size_t bytes = (p * p + p) * sizeof(long double);
  long double *T = scli_malloc(ctx, bytes);
  if (!T) return scli_oom(ctx);
  long double *c = T + p * p;
  memset(T, 0, p * p * sizeof *T);
  for (size_t j = 0; j < p; j++) {
    /* (x - mid)^j / half^j = sum_k C(j,k) x^k (-mid)^(j-k) / half^j */
    long double binom = 1, hj = powl((long double)P->half, (long double)j);
    for (size_t k = 0; k <= j; k++) {
      if (k > 0) binom = binom * (long double)(j - k + 1) / (long double)k;
      T[k * p + j] =
          binom * powl(-(long double)P->mid, (long double)(j - k)) / hj;
    }
  }
  for (size_t k = 0; k < p; k++) {
    long double s = 0;
    for (size_t j = k; j < p; j++) s += T[k * p + j] * coef[j];
    c[k] = s;
  }
  if (cov) {
    /* cov := T cov T', row by row through a scratch row in c's place */
    size_t cb = p * p * sizeof(long double);
    long double *M = scli_malloc(ctx, cb);
    if (!M) {
      scli_free(ctx, T, bytes);
      return scli_oom(ctx);
    }
    for (size_t i = 0; i < p; i++)
      for (size_t j = 0; j < p; j++) {
        long double s = 0;
        for (size_t t = 0; t < p; t++) s += T[i * p + t] * cov[t * p + j];
        M[i * p + j] = s;
      }
    for (size_t i = 0; i < p; i++)
      for (size_t j = 0; j < p; j++) {
        long double s = 0;
        for (size_t t = 0; t < p; t++) s += M[i * p + t] * T[j * p + t];
        cov[i * p + j] = (double)s;
      }
    scli_free(ctx, M, cb);
  }
  for (size_t k = 0; k < p; k++) coef[k] = (double)c[k];
  scli_free(ctx, T, bytes);
  return SCL_OK;
}

/* Error for a rank-deficient design, naming the culprit. */
static int rank_error(scl_ctx *ctx, const lin_problem *P, const lsq_out *o,
                      size_t k) {
  if (P->poly)
    return scli_error(ctx, SCL_EINVAL,
                      "polynomial of degree %d: the x values do not determine "
                      "it (rank %zu of %zu; too few distinct x?)",
                      P->degree, o->rank + 1, k + 1);
  return scli_error(ctx, SCL_EINVAL,
                    "linear fit: X is rank deficient (rank %zu of %zu): "
                    "column %zu is %s",
                    o->rank + (size_t)P->intercept, k + (size_t)P->intercept,
                    o->bad + 1,
                    P->intercept ? "constant or a linear combination of the "
                                   "others and the intercept"
                                 : "zero or a linear combination of the "
                                   "others");
}

static int lin_fit(scl_ctx *ctx, const lin_problem *P, const size_t *idx,
                   size_t n, double *coef, double *cov, double *rss,
                   double *tss, size_t *m);

/*
 * One step of iterative refinement for a polynomial: fit the residual of
 * the converted coefficients (computed in long double from powers of x)
 * and add the converted correction.  The conversion from powers of t
 * loses digits to cancellation (Wampler1: 1e5 to 1 sums); the correction
 * is small, so its own conversion error is negligible.  Updates *rss.
 */
static int poly_refine(scl_ctx *ctx, const lin_problem *P, const size_t *idx,
                       size_t n, double *coef, double *rss) {
  size_t p = (size_t)P->degree + 1, bytes = (P->n + p) * sizeof(double);
  double *r = scli_malloc(ctx, bytes);
  if (!r) return scli_oom(ctx);
  double *dc = r + P->n;
  for (size_t i = 0; i < P->n; i++) {
    long double s = 0;
    for (size_t j = p; j-- > 0;) s = s * P->x[i] + coef[j];
    r[i] = (double)(P->y[i] - s);
  }
  lin_problem Q = *P;
  Q.y = r;
  Q.norefine = 1;
  double rss2;
  int rc = lin_fit(ctx, &Q, idx, n, dc, NULL, &rss2, NULL, NULL);
  if (rc == SCL_OK) {
    /*
     * Keep the step only if it lowers the sum of squares, evaluated in
     * powers of x, by more than that evaluation's own rounding noise.
     * With large coefficients and |x| >> 1 (Filip) the noise wins and the
     * step would only add it to the coefficients.
     */
    long double before = 0, after = 0, noise = 0;
    for (size_t t = 0; t < n; t++) {
      size_t i = idx ? idx[t] : t;
      double wi = P->w ? P->w[i] : 1;
      if (!(wi > 0)) continue;
      long double s0 = 0, s1 = 0, a = 0, ax = fabs(P->x[i]);
      for (size_t j = p; j-- > 0;) {
        s0 = s0 * P->x[i] + coef[j];
        s1 = s1 * P->x[i] + ((long double)coef[j] + dc[j]);
        a = a * ax + fabs(coef[j]);
      }
      long double r0 = P->y[i] - s0, r1 = P->y[i] - s1, e = a * LDBL_EPSILON;
      before += wi * r0 * r0;
      after += wi * r1 * r1;
      noise += wi * e * (2 * fabsl(r0) + e);
    }
    if (before - after > 4 * noise) {
      for (size_t j = 0; j < p; j++) coef[j] += dc[j];
      *rss = rss2;
    }
  }
  scli_free(ctx, r, bytes);
  return rc;
}

/* Fit the rows idx[0..n) (all when idx is NULL): coef, and cov if asked. */
static int lin_fit(scl_ctx *ctx, const lin_problem *P, const size_t *idx,
                   size_t n, double *coef, double *cov, double *rss,
                   double *tss, size_t *m) {
  lsq L = {0, 0, 0, NULL, NULL, NULL};
  size_t bytes = 0;
  int rc = lin_build(ctx, P, idx, n, &L, &bytes);
  if (rc) return rc;
  size_t p = L.k + (size_t)L.icpt;
  if (L.m < p) {
    rc = scli_error(ctx, SCL_EINVAL,
                    "%s: %zu observations for %zu coefficients",
                    P->poly ? "polynomial fit" : "linear fit", L.m, p);
    goto done;
  }
  lsq_out o = {coef, cov, 0, 0, 0, 0};
  if ((rc = lsq_solve(ctx, &L, &o))) goto done;
  if (o.rank < L.k) {
    rc = rank_error(ctx, P, &o, L.k);
    goto done;
  }
  if (P->poly) {
    if ((rc = poly_to_x(ctx, P, coef, cov))) goto done;
    if (!P->norefine && (rc = poly_refine(ctx, P, idx, n, coef, &o.rss)))
      goto done;
  }
  if (rss) *rss = o.rss;
  if (tss) *tss = o.tss;
  if (m) *m = L.m;
done:
  scli_free(ctx, L.X, bytes);
  return rc;
}

static int lin_refit(void *ud, scl_ctx *ctx, const size_t *idx, size_t n,
                     double *params) {
  return lin_fit(ctx, ud, idx, n, params, NULL, NULL, NULL, NULL);
}

/* Shared tail of scl_fit_linear and scl_fit_poly. */
static int lin_run(scl_ctx *ctx, const lin_problem *P, const scl_fit_opts *o,
                   scl_fit_kind kind, scl_fit **out) {
  size_t p = P->poly ? (size_t)P->degree + 1
                     : P->ncols + (size_t)P->intercept;
  size_t cb = p * p * sizeof(double);
  scl_fit *f = NULL;
  double *cov = NULL, rss = NAN, tss = NAN;
  size_t m = 0;
  int rc = scli_fit_new(ctx, kind, p, NULL, "c",
                        P->poly || P->intercept ? 0 : 1, &f);
  if (rc) return rc;
  if (!(cov = scli_malloc(ctx, cb))) {
    rc = scli_oom(ctx);
    goto fail;
  }
  if ((rc = lin_fit(ctx, P, NULL, P->n, f->params, cov, &rss, &tss, &m)))
    goto fail;
  for (size_t j = 0; j < p; j++)
    f->se[j] = m > p && cov[j * p + j] >= 0 ? sqrt(cov[j * p + j]) : NAN;
  f->rss = rss;
  /* without an intercept tss is about 0 (uncentred R^2, as R's lm) */
  f->r2 = tss > 0 ? 1 - rss / tss : NAN;
  f->n = m;
  f->iterations = 0;
  f->converged = 1;
  f->extra[0] = P->poly ? NAN : (double)P->intercept;
  snprintf(f->reason, sizeof f->reason, "exact solution (Householder QR)");
  if (o && o->bootstrap) {
    rc = scli_fit_bootstrap(ctx, f, P->n, o, lin_refit, (void *)P);
    if (rc) goto fail;
  }
  scli_free(ctx, cov, cb);
  *out = f;
  return SCL_OK;
fail:
  scli_free(ctx, cov, cb);
  scl_fit_free(ctx, f);
  return rc;
}

int scl_fit_linear(scl_ctx *ctx, const double *const *X, size_t ncols,
                   const double *y, size_t n, int intercept,
                   const scl_fit_opts *opts, scl_fit **out) {
  int rc;
  *out = NULL;
  size_t p = ncols + (intercept != 0);
  if (p == 0)
    return scli_error(ctx, SCL_EINVAL,
                      "linear fit: no predictors and no intercept");
  if (ncols && !X) return scli_error(ctx, SCL_EINVAL, "linear fit: X is NULL");
  if (!y) return scli_error(ctx, SCL_EINVAL, "linear fit: y is NULL");
  for (size_t j = 0; j < ncols; j++) {
    if (!X[j])
      return scli_error(ctx, SCL_EINVAL, "linear fit: X column %zu is NULL",
                        j + 1);
    for (size_t i = 0; i < n; i++)
      if (!isfinite(X[j][i]))
        return scli_error(ctx, SCL_EINVAL,
                          "linear fit: X column %zu, row %zu = %g: values "
                          "must be finite", j + 1, i, X[j][i]);
  }
  if ((rc = scli_fit_check_finite(ctx, "y", y, n))) return rc;
  const double *w = opts ? opts->weights : NULL;
  if ((rc = scli_fit_check_weights(ctx, w, n, p, NULL))) return rc;
  if (n < p)
    return scli_error(ctx, SCL_EINVAL,
                      "linear fit: %zu observations for %zu coefficients", n,
                      p);
  lin_problem P = {X, ncols, y, w, n, intercept != 0, 0, 0, 0, 0, NULL, 0};
  return lin_run(ctx, &P, opts, SCL_FIT_LINEAR, out);
}

int scl_fit_poly(scl_ctx *ctx, const double *x, const double *y, size_t n,
                 int degree, const scl_fit_opts *opts, scl_fit **out) {
  int rc;
  *out = NULL;
  if (degree < 0 || degree > 50)
    return scli_error(ctx, SCL_EINVAL,
                      "polynomial degree %d: must be between 0 and 50",
                      degree);
  if (!x || !y)
    return scli_error(ctx, SCL_EINVAL, "polynomial fit: x or y is NULL");
  if ((rc = scli_fit_check_finite(ctx, "x", x, n)) ||
      (rc = scli_fit_check_finite(ctx, "y", y, n)))
    return rc;
  const double *w = opts ? opts->weights : NULL;
  size_t p = (size_t)degree + 1;
  if ((rc = scli_fit_check_weights(ctx, w, n, p, NULL))) return rc;
  if (n < p)
    return scli_error(ctx, SCL_EINVAL,
                      "polynomial of degree %d: %zu observations for %zu "
                      "coefficients", degree, n, p);
  double lo = INFINITY, hi = -INFINITY;
  for (size_t i = 0; i < n; i++)
    if (!w || w[i] > 0) {
      lo = fmin(lo, x[i]);
      hi = fmax(hi, x[i]);
    }
  if (degree > 0 && !(hi > lo))
    return scli_error(ctx, SCL_EINVAL,
                      "polynomial of degree %d: all x are equal (%g)", degree,
                      lo);
  lin_problem P = {NULL, 0, y, w, n, 1, 1, degree, 0, 1, x, 0};
  if (degree > 0) {
    P.mid = 0.5 * (lo + hi);
    P.half = 0.5 * (hi - lo);
  }
  return lin_run(ctx, &P, opts, SCL_FIT_POLY, out);
}
