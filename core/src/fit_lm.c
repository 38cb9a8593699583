/*
 * fit_lm.c -- power laws, saturating laws and general nonlinear least
 * squares by Levenberg-Marquardt.
 *
 * lm_run drives MINPACK's lmder (Debian's libcminpack) for the general
 * fits and the saturating law's grid of starts: the model fills
 * predictions and, optionally, a column-major Jacobian of them; the
 * driver turns them into weighted residuals, maps bounded parameters
 * through a smooth transform, counts iterations and carries callback
 * errors out of MINPACK (which only knows "negative flag: stop").
 * Standard errors come from a QR of the Jacobian at the solution
 * (scli_qr_stderr); central differences stand in for a missing Jacobian.
 *
 * law_lm is a Levenberg-Marquardt of our own for the two laws of one
 * predictor, y = a x^b and y = E + a x^b, one fused pass over the data
 * per evaluation: the power law's nonlinear fit, and the saturating fit
 * from a single start on large data (after the grid ran on a subsample).
 * The log-space power law is a closed-form line fit (fit_line).
 */
#include "internal.h"

#include <cminpack.h>
#include <float.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

/*
 * Weighted sums over the data, two observations per step in vector lanes
 * where the compiler has vector extensions: wsum1 gives sum w, sum w a,
 * sum w b; wsum2, about centres ca, cb, gives sum w da, sum w db,
 * sum w da^2, sum w da db, sum w db^2 (b may be NULL: only the a terms).
 * Centred two-pass sums keep doubles accurate without long double.
 * The scalar forms *_from, which also finish the vector loops, add the
 * observations [i, n) to the sums t.
 */
static void wsum1_from(const double *a, const double *b, const double *w,
                       size_t i, size_t n, double *t) {
  for (; i < n; i++) {
    double wi = w ? w[i] : 1;
    t[0] += wi;
    t[1] += wi * a[i];
    t[2] += wi * (b ? b[i] : a[i]);
  }
}

static void wsum2_from(const double *a, const double *b, const double *w,
                       size_t i, size_t n, double ca, double cb, double *t) {
  for (; i < n; i++) {
    double wi = w ? w[i] : 1, da = a[i] - ca, db = (b ? b[i] : a[i]) - cb;
    t[0] += wi * da;
    t[1] += wi * db;
    t[2] += wi * da * da;
    t[3] += wi * da * db;
    t[4] += wi * db * db;
  }
}

#if defined(__GNUC__) || defined(__clang__)
typedef double v2d __attribute__((vector_size(16)));

/* Points i, i+1 of a, of b (a when NULL) and of w (1 when NULL). */
static inline void load2(const double *a, const double *b, const double *w,
                         size_t i, v2d *x, v2d *y, v2d *wi) {
  memcpy(x, a + i, sizeof *x);
  if (b)
    memcpy(y, b + i, sizeof *y);
  else
    *y = *x;
  if (w)
    memcpy(wi, w + i, sizeof *wi);
  else
    *wi = (v2d){1, 1};
}

static void wsum1(const double *a, const double *b, const double *w,
                  size_t n, double *t) {
  v2d s0 = {0, 0}, s1 = s0, s2 = s0;
  size_t i = 0;
  for (; i + 2 <= n; i += 2) {
    v2d x, y, wi;
    load2(a, b, w, i, &x, &y, &wi);
    s0 += wi;
    s1 += wi * x;
    s2 += wi * y;
  }
  t[0] = s0[0] + s0[1];
  t[1] = s1[0] + s1[1];
  t[2] = s2[0] + s2[1];
  wsum1_from(a, b, w, i, n, t);
}

static void wsum2(const double *a, const double *b, const double *w,
                  size_t n, double ca, double cb, double *t) {
  v2d s[5], va = {ca, ca}, vb = {cb, cb};
  memset(s, 0, sizeof s);
  size_t i = 0;
  for (; i + 2 <= n; i += 2) {
    v2d x, y, wi;
    load2(a, b, w, i, &x, &y, &wi);
    v2d da = x - va, db = y - vb, wda = wi * da;
    s[0] += wda;
    s[1] += wi * db;
    s[2] += wda * da;
    s[3] += wda * db;
    s[4] += wi * db * db;
  }
  for (int k = 0; k < 5; k++) t[k] = s[k][0] + s[k][1];
  wsum2_from(a, b, w, i, n, ca, cb, t);
}

/* sum w ((b - cb) - k (a - ca))^2: a line's residual sum of squares */
static double wsum_line(const double *a, const double *b, const double *w,
                        size_t n, double ca, double cb, double k) {
  v2d s = {0, 0}, va = {ca, ca}, vb = {cb, cb}, vk = {k, k};
  size_t i = 0;
  for (; i + 2 <= n; i += 2) {
    v2d x, y, wi = {1, 1};
    memcpy(&x, a + i, sizeof x);
    memcpy(&y, b + i, sizeof y);
    if (w) memcpy(&wi, w + i, sizeof wi);
    v2d r = (y - vb) - vk * (x - va);
    s += wi * r * r;
  }
  double t = s[0] + s[1];
  for (; i < n; i++) {
    double r = (b[i] - cb) - k * (a[i] - ca);
    t += (w ? w[i] : 1) * r * r;
  }
  return t;
}

/* index of the first v[i] that is not positive and finite, or n */
static size_t first_nonpositive(const double *v, size_t n) {
  v2d lo = {0, 0}, hi = {DBL_MAX, DBL_MAX};
  size_t i = 0;
  for (; i + 2 <= n; i += 2) {
    v2d x;
    memcpy(&x, v + i, sizeof x);
    __typeof__(x > lo) ok = (x > lo) & (x <= hi);
    if (!(ok[0] & ok[1])) break;
  }
  for (; i < n; i++)
    if (!(v[i] > 0) || !(v[i] <= DBL_MAX)) return i;
  return n;
}
#else
static double wsum_line(const double *a, const double *b, const double *w,
                        size_t n, double ca, double cb, double k) {
  double t = 0;
  for (size_t i = 0; i < n; i++) {
    double r = (b[i] - cb) - k * (a[i] - ca);
    t += (w ? w[i] : 1) * r * r;
  }
  return t;
}

static size_t first_nonpositive(const double *v, size_t n) {
  for (size_t i = 0; i < n; i++)
    if (!(v[i] > 0) || !(v[i] <= DBL_MAX)) return i;
  return n;
}

static void wsum1(const double *a, const double *b, const double *w,
                  size_t n, double *t) {
  t[0] = t[1] = t[2] = 0;
  wsum1_from(a, b, w, 0, n, t);
}

static void wsum2(const double *a, const double *b, const double *w,
                  size_t n, double ca, double cb, double *t) {
  memset(t, 0, 5 * sizeof *t);
  wsum2_from(a, b, w, 0, n, ca, cb, t);
}
#endif

/* --------------------------------------------------------------- driver */

typedef struct lm_model lm_model;

/* yhat[0..n) for parameters p; SCL_OK or an error recorded on ctx. */
typedef int (*lm_eval_fn)(const lm_model *m, const double *p, double *yhat);
/* J[j*n + i] = d yhat[i] / d p[j] (column-major); NULL: differences. */
typedef int (*lm_jac_fn)(const lm_model *m, const double *p, double *J);

struct lm_model {
  scl_ctx *ctx;
  size_t n, np;
  const double *y;
  const double *w; /* weights, NULL: 1 */
  lm_eval_fn eval;
  lm_jac_fn jac;
  void *ud;
};

typedef struct {
  int max_iter;  /* outer iterations (Jacobian evaluations) */
  double tol;    /* MINPACK ftol and xtol (0: defaults, see lm_run) */
  const double *lower, *upper; /* NULL: unbounded; +-inf or NaN: none */
} lm_opts;

typedef struct {
  double rss;
  int iterations, info, converged, limited;
} lm_result;

/* Per-run state handed to MINPACK as its void *p. */
typedef struct {
  const lm_model *m;
  const lm_opts *o;
  double *p;     /* parameters for the current t */
  double *fd;    /* 2n for central differences (when m->jac is NULL) */
  double *sw;    /* n square roots of the weights, or NULL */
  int rc;        /* error that stopped the run */
  int jevals, fevals;
  int limited;   /* stopped by max_iter */
} lm_state;

/*
 * Bounds by transformation (as MINUIT does), so that MINPACK works on an
 * unbounded variable t:  both bounds  p = lo + (hi-lo)(1 + sin t)/2,
 * lower only  p = lo - 1 + sqrt(t^2 + 1),  upper only  p = hi + 1 -
 * sqrt(t^2 + 1).  Returns dp/dt in *d.
 */
static double bound_of(const double *b, size_t j) {
  return b && isfinite(b[j]) ? b[j] : NAN;
}

static double t_to_p(const lm_opts *o, size_t j, double t, double *d) {
  double lo = bound_of(o->lower, j), hi = bound_of(o->upper, j);
  if (!isnan(lo) && !isnan(hi)) {
    *d = 0.5 * (hi - lo) * cos(t);
    return lo + 0.5 * (hi - lo) * (1 + sin(t));
  }
  if (!isnan(lo)) {
    double s = sqrt(t * t + 1);
    *d = t / s;
    return lo - 1 + s;
  }
  if (!isnan(hi)) {
    double s = sqrt(t * t + 1);
    *d = -t / s;
    return hi + 1 - s;
  }
  *d = 1;
  return t;
}

/* The inverse, for the start; p is first moved strictly inside. */
static double p_to_t(const lm_opts *o, size_t j, double p) {
  double lo = bound_of(o->lower, j), hi = bound_of(o->upper, j);
  if (!isnan(lo) && !isnan(hi)) {
    double u = 2 * (p - lo) / (hi - lo) - 1;
    u = fmax(-0.999, fmin(0.999, u));
    return asin(u);
  }
  if (!isnan(lo)) {
    double q = fmax(p - lo, 1e-3 * fmax(1, fabs(lo))) + 1;
    return sqrt(q * q - 1);
  }
  if (!isnan(hi)) {
    double q = fmax(hi - p, 1e-3 * fmax(1, fabs(hi))) + 1;
    return sqrt(q * q - 1);
  }
  return p;
}

/* A callback failed: keep its message, or write one if it left none. */
static int callback_error(scl_ctx *ctx, int rc, const char *what) {
  if (rc < 0 || rc > SCL_ECALLBACK) rc = SCL_ECALLBACK;
  if (scl_ctx_errcode(ctx) != rc || !*scl_ctx_errmsg(ctx))
    scli_error(ctx, rc, "%s callback failed (%s)", what, scl_strerror(rc));
  return rc;
}

/*
 * Central differences: (f(p + h e_j) - f(p - h e_j)) / 2h with h a
 * cube-root-of-epsilon step relative to |p_j|; error O(h^2), about 1e-10
 * relative instead of forward differences' 1e-8.
 */
static int fd_jacobian(lm_state *s, double *p, double *J) {
  const lm_model *m = s->m;
  size_t n = m->n;
  double *fp = s->fd, *fm = s->fd + n;
  for (size_t j = 0; j < m->np; j++) {
    double pj = p[j];
    double h = 6.0554544523933395e-06 * (pj != 0 ? fabs(pj) : 1);
    volatile double up = pj + h, dn = pj - h; /* exactly representable h */
    int rc;
    p[j] = up;
    rc = m->eval(m, p, fp);
    p[j] = dn;
    if (!rc) rc = m->eval(m, p, fm);
    p[j] = pj;
    if (rc) return callback_error(m->ctx, rc, "model");
    double inv = 1 / (up - dn);
    for (size_t i = 0; i < n; i++) J[j * n + i] = (fp[i] - fm[i]) * inv;
  }
  return SCL_OK;
}

static int lm_fcn(void *ud, int mi, int ni, const double *t, double *fvec,
                  double *fjac, int ldfjac, int iflag) {
  lm_state *s = ud;
  const lm_model *m = s->m;
  size_t n = (size_t)mi, np = (size_t)ni;
  double dpdt[64], *d = np <= 64 ? dpdt : NULL;
  (void)ldfjac; /* == m: we allocate fjac ourselves */
  for (size_t j = 0; j < np; j++) {
    double dj;
    s->p[j] = t_to_p(s->o, j, t[j], &dj);
    if (d) d[j] = dj;
  }
  if (iflag == 1) {
    int rc = m->eval(m, s->p, fvec); /* predictions, then residuals */
    if (rc) {
      s->rc = callback_error(m->ctx, rc, "model");
      return -1;
    }
    if (s->fevals++ == 0) /* MINPACK's first call: the start */
      for (size_t i = 0; i < n; i++)
        if (!isfinite(fvec[i])) {
          s->rc = scli_error(m->ctx, SCL_EINVAL,
                             "the model is not finite at the start values "
                             "(observation %zu gives %g)", i, fvec[i]);
          return -1;
        }
    for (size_t i = 0; i < n; i++) {
      double r = fvec[i] - m->y[i];
      if (s->sw) r *= s->sw[i];
      /* a huge finite residual makes MINPACK reject the step */
      fvec[i] = isfinite(r) ? r : 1e100;
    }
    return 0;
  }
  if (iflag != 2) return 0;
  if (s->jevals++ >= s->o->max_iter) {
    s->limited = 1;
    return -1;
  }
  int rc = m->jac ? m->jac(m, s->p, fjac) : fd_jacobian(s, s->p, fjac);
  if (rc) {
    s->rc = m->jac ? callback_error(m->ctx, rc, "Jacobian") : rc;
    return -1;
  }
  for (size_t j = 0; j < np; j++) {
    double dj = d ? d[j] : 1;
    if (!d) t_to_p(s->o, j, t[j], &dj);
    double *c = fjac + j * n;
    if (dj != 1 || s->sw) /* chain rule of the bounds, weights */
      for (size_t i = 0; i < n; i++) c[i] *= s->sw ? dj * s->sw[i] : dj;
    double acc = 0; /* NaN or inf anywhere makes the sum NaN */
    for (size_t i = 0; i < n; i++) acc += c[i] * 0;
    if (acc != 0)
      for (size_t i = 0; i < n; i++)
        if (!isfinite(c[i])) {
          s->rc = scli_error(m->ctx, SCL_ENOCONV,
                             "the Jacobian is not finite at observation %zu, "
                             "parameter %zu (%g)", i, j + 1, c[i]);
          return -1;
        }
  }
  return 0;
}

static const char *lm_reason(int info) {
  switch (info) {
  case 0: return "improper input parameters";
  case 1: return "converged: relative reduction of the sum of squares <= tol";
  case 2: return "converged: relative change of the parameters <= tol";
  case 3: return "converged: sum of squares and parameters both within tol";
  case 4: return "converged: residuals orthogonal to the Jacobian";
  case 5: return "stopped: too many function evaluations";
  case 6: return "stopped: tol too small, no further reduction possible";
  case 7: return "stopped: tol too small, no further improvement possible";
  case 8: return "stopped: residuals orthogonal to the Jacobian to "
                 "machine precision";
  default: return "stopped";
  }
}

/*
 * The Jacobian of the weighted residuals at p into J (n x np), then the
 * standard errors by QR with s2 = rss / (npos - np), npos the observations
 * of positive weight.  fd: 2n scratch when the model has no Jacobian.
 */
static int stderr_at(const lm_model *m, double *p, double rss, size_t npos,
                     double *J, double *fd, double *se) {
  size_t n = m->n, np = m->np, rank;
  for (size_t j = 0; j < np; j++) se[j] = NAN;
  if (npos <= np) return SCL_OK;
  lm_state s = {m, NULL, p, fd, NULL, SCL_OK, 0, 0, 0};
  int rc = m->jac ? m->jac(m, p, J) : fd_jacobian(&s, p, J);
  if (rc) return m->jac ? callback_error(m->ctx, rc, "Jacobian") : rc;
  if (m->w)
    for (size_t i = 0; i < n; i++) {
      double sw = sqrt(m->w[i]);
      for (size_t j = 0; j < np; j++) J[j * n + i] *= sw;
    }
  for (size_t i = 0; i < n * np; i++)
    if (!isfinite(J[i])) return SCL_OK; /* no standard errors */
  return scli_qr_stderr(m->ctx, J, n, np, rss / (double)(npos - np), se,
                        &rank);
}

/*
 * Levenberg-Marquardt from start; p receives the solution (also when it
 * did not converge, with res->converged = 0), and se, unless NULL, the
 * standard errors there (npos: observations of positive weight).
 * Errors: SCL_ENOMEM, the code of a failing callback, SCL_EINVAL for a
 * start where the model is not finite.
 */
static int lm_run(const lm_model *m, const double *start, const lm_opts *o,
                  double *p, lm_result *res, double *se, size_t npos) {
  scl_ctx *ctx = m->ctx;
  size_t n = m->n, np = m->np;
  if (n > INT_MAX || np > INT_MAX || n * np > (size_t)INT_MAX)
    return scli_error(ctx, SCL_EINVAL, "fit: problem too large for MINPACK");
  size_t nd = n * np + 2 * n + 7 * np + (m->jac ? 0 : 2 * n) +
              (m->w ? n : 0);
  size_t bytes = nd * sizeof(double) + np * sizeof(int);
  double *mem = scli_malloc(ctx, bytes);
  if (!mem) return scli_oom(ctx);
  double *fjac = mem, *fvec = fjac + n * np, *wa4 = fvec + n;
  double *t = wa4 + n, *diag = t + np, *qtf = diag + np, *wa1 = qtf + np;
  double *wa2 = wa1 + np, *wa3 = wa2 + np, *pc = wa3 + np;
  double *fd = pc + np;
  double *sw = m->jac ? fd : fd + 2 * n;
  int *ipvt = (int *)(sw + (m->w ? n : 0));
  lm_state s = {m, o, pc, m->jac ? NULL : fd, m->w ? sw : NULL, SCL_OK, 0, 0,
                0};
  int rc = SCL_OK;
  if (m->w)
    for (size_t i = 0; i < n; i++) sw[i] = sqrt(m->w[i]);
  for (size_t j = 0; j < np; j++) t[j] = p_to_t(o, j, start[j]);
  /*
   * MINPACK's ftol (relative reduction of the sum of squares) and xtol
   * (relative change of the parameters): by default 1e-15, just above
   * the machine epsilon, because a flat sum of squares (NIST's ENSO) stops
   * short of six correct digits at 1e-12.  The rounding error of a sum of
   * n squares grows with n, so ftol does too beyond 1000 observations
   * (1e-12 at a million); below that noise MINPACK could only stop by
   * shrinking its steps, one wasted evaluation each.
   */
  double ftol = o->tol > 0 ? o->tol : 1e-15 * fmax(1, (double)n / 1000);
  double xtol = o->tol > 0 ? o->tol : 1e-15;
  int nfev = 0, njev = 0;
  int maxfev = o->max_iter > INT_MAX / 20 ? INT_MAX : o->max_iter * 20 + 100;
  int info = lmder(lm_fcn, &s, (int)n, (int)np, t, fvec, fjac, (int)n, ftol,
                   xtol, 0.0, maxfev, diag, 1, 100.0, 0, &nfev, &njev, ipvt,
                   qtf, wa1, wa2, wa3, wa4);
  if (s.rc) {
    rc = s.rc;
    goto done;
  }
  for (size_t j = 0; j < np; j++) {
    double dj;
    p[j] = t_to_p(o, j, t[j], &dj);
  }
  /* fvec holds the weighted residuals at the returned point */
  long double rss = 0;
  for (size_t i = 0; i < n; i++) rss += (long double)fvec[i] * fvec[i];
  res->rss = (double)rss;
  res->iterations = njev;
  res->info = s.limited ? -1 : info;
  res->limited = s.limited;
  res->converged = !s.limited && info >= 1 && info <= 4 && isfinite(res->rss);
  /* MINPACK's workspace is free now: the Jacobian goes where R was */
  if (se) {
    memcpy(pc, p, np * sizeof *pc);
    rc = stderr_at(m, pc, res->rss, npos, fjac, fd, se);
  }
done:
  scli_free(ctx, mem, bytes);
  return rc;
}

static void lm_set_reason(scl_fit *f, const lm_result *r, int max_iter) {
  if (r->limited)
    snprintf(f->reason, sizeof f->reason,
             "stopped: iteration limit (%d) reached", max_iter);
  else
    snprintf(f->reason, sizeof f->reason, "%s", lm_reason(r->info));
}

/* Standard errors at p with a workspace of their own (see stderr_at). */
static int lm_stderr(const lm_model *m, const double *p, double rss,
                     size_t npos, double *se) {
  size_t n = m->n, np = m->np;
  size_t bytes = (n * np + np + (m->jac ? 0 : 2 * n)) * sizeof(double);
  double *J = scli_malloc(m->ctx, bytes);
  if (!J) return scli_oom(m->ctx);
  double *pc = J + n * np;
  memcpy(pc, p, np * sizeof *pc);
  int rc = stderr_at(m, pc, rss, npos, J, pc + np, se);
  scli_free(m->ctx, J, bytes);
  return rc;
}

/* Weighted total sum of squares about the weighted mean. */
static double wtss(const double *y, const double *w, size_t n) {
  double t[5];
  wsum1(y, NULL, w, n, t);
  double sw = t[0];
  if (!(sw > 0)) return NAN;
  wsum2(y, NULL, w, n, t[1] / sw, t[1] / sw, t);
  /* about the first-pass mean; the correction moves it to the true one */
  return t[2] - t[0] * t[0] / sw;
}

static void lm_opts_from(const scl_fit_opts *o, lm_opts *lo) {
  lo->max_iter = o && o->max_iter > 0 ? o->max_iter : 1000;
  lo->tol = o && o->tol > 0 ? o->tol : 0; /* 0: lm_run's default */
  lo->lower = o ? o->lower : NULL;
  lo->upper = o ? o->upper : NULL;
}

/* Bounds must be ordered; NaN and +-inf mean none. */
static int check_bounds(scl_ctx *ctx, const lm_opts *o, size_t np,
                        const char *const *names) {
  for (size_t j = 0; j < np; j++) {
    double lo = bound_of(o->lower, j), hi = bound_of(o->upper, j);
    if (!isnan(lo) && !isnan(hi) && !(lo < hi))
      return scli_error(ctx, SCL_EINVAL,
                        "bounds of parameter %s: lower %g is not below "
                        "upper %g", names ? names[j] : "?", lo, hi);
  }
  return SCL_OK;
}

/* --------------------------------------------------------- power laws */

static const char *const powerlaw_names[] = {"a", "b"};
static const char *const saturating_names[] = {"E", "a", "b"};

/*
 * Data of a one-predictor law: ln x precomputed, and x^b for the last b
 * evaluated.  MINPACK asks for the Jacobian at the point it has just
 * evaluated, and the standard errors are wanted at the solution: both
 * reuse x^b instead of another pass of exps over the data.
 */
typedef struct {
  const double *x, *y, *w;
  size_t n;
  double *lx;  /* ln x */
  double *xb;  /* x^b_cached (sat_starts borrows it as scratch) */
  double b_cached;
  int cached;
} law_data;

static const double *law_xb(law_data *d, double b) {
  if (!d->cached || d->b_cached != b || isnan(b)) {
    scli_vexp_scaled(d->lx, b, d->xb, d->n);
    d->b_cached = b;
    d->cached = 1;
  }
  return d->xb;
}

/* yhat = off + a x^b */
static void law_values(law_data *d, double off, double a, double b,
                       double *yhat) {
  const double *xb = law_xb(d, b);
  for (size_t i = 0; i < d->n; i++) yhat[i] = off + a * xb[i];
}

static int sat_eval(const lm_model *m, const double *p, double *yhat) {
  law_values(m->ud, p[0], p[1], p[2], yhat);
  return SCL_OK;
}

static int sat_jac(const lm_model *m, const double *p, double *J) {
  law_data *d = m->ud;
  size_t n = d->n;
  const double *xb = law_xb(d, p[2]);
  for (size_t i = 0; i < n; i++) {
    J[i] = 1;
    J[n + i] = xb[i];
    J[2 * n + i] = p[1] * xb[i] * d->lx[i];
  }
  return SCL_OK;
}

/* Closed-form weighted regression v = alpha + b u. */
typedef struct {
  double alpha, b, se_alpha, se_b, rss, tss;
} line_fit;

static int fit_line(scl_ctx *ctx, const double *u, const double *v,
                    const double *w, size_t n, size_t npos, line_fit *L) {
  /* means, then centred sums with the means' own rounding taken out */
  double t[5];
  wsum1(u, v, w, n, t);
  double sw = t[0], mu = t[1] / sw, mv = t[2] / sw;
  wsum2(u, v, w, n, mu, mv, t);
  double cu = t[0] / sw, cv = t[1] / sw;
  double suu = t[2] - sw * cu * cu, suv = t[3] - sw * cu * cv;
  double svv = t[4] - sw * cv * cv;
  mu += cu;
  mv += cv;
  if (!(suu > 0) || suu <= 1e-28 * sw * (mu * mu + 1))
    return scli_error(ctx, SCL_EINVAL,
                      "all x are equal (x = %g): the exponent is not "
                      "determined", exp(mu));
  double b = suv / suu, alpha = mv - b * mu;
  /* rss from the residuals: svv - b suv would cancel on a good fit */
  double rss = wsum_line(u, v, w, n, mu, mv, b);
  L->alpha = alpha;
  L->b = b;
  L->rss = rss;
  L->tss = svv;
  double s2 = npos > 2 ? rss / (double)(npos - 2) : NAN;
  L->se_b = sqrt(s2 / suu);
  L->se_alpha = sqrt(s2 * (1 / sw + mu * mu / suu));
  return SCL_OK;
}

/* Positive, finite values, naming the first that is not. */
static int check_positive(scl_ctx *ctx, const char *name, const double *v,
                          size_t n, const char *law) {
  size_t i = first_nonpositive(v, n);
  if (i < n)
    return scli_error(ctx, SCL_EINVAL, "%s = %g at point %zu: %s needs %s > 0",
                      name, v[i], i + 1, law, name);
  return SCL_OK;
}

/* log of positive finite v. */
static void log_positive(const double *v, double *out, size_t n) {
  scli_vlog(v, out, n);
}

/*
 * The work arrays of a law fit: ln x, ln y (or scratch), x^b.  x must be
 * positive and finite: the log pass notices anything else, and then the
 * first offending value is named (law: "power law" in the message).
 */
static int law_alloc(scl_ctx *ctx, law_data *d, double **ly,
                     const char *law) {
  d->lx = scli_malloc(ctx, 3 * d->n * sizeof(double));
  if (!d->lx) return scli_oom(ctx);
  *ly = d->lx + d->n;
  d->xb = *ly + d->n;
  d->cached = 0;
  int rc;
  if (scli_vlog(d->x, d->lx, d->n) &&
      (rc = check_positive(ctx, "x", d->x, d->n, law))) {
    scli_free(ctx, d->lx, 3 * d->n * sizeof(double));
    d->lx = NULL;
    return rc;
  }
  return SCL_OK;
}

static void law_release(scl_ctx *ctx, law_data *d) {
  scli_free(ctx, d->lx, 3 * d->n * sizeof(double));
  d->lx = NULL;
}

/*
 * One power-law fit on (x, y, w): the log-space regression, then, for
 * METHOD_NLS, Levenberg-Marquardt in linear space from it (or from
 * start).  Fills params, se (when se is not NULL), rss/r2 and status.
 */
typedef struct {
  double params[3], se[3];
  double rss, r2;
  int iterations, converged;
  lm_result lm;
  int nls;
} law_result;

/*
 * Levenberg-Marquardt specialised to the two laws of one predictor, in
 * linear space: y = a x^b (np = 2, parameters a, b) and y = E + a x^b
 * (np = 3, parameters E, a, b).  One fused pass per evaluation gives the
 * weighted sum of squares, J'J and J'r (J = [1,] x^b, a x^b ln x, with
 * x^b from the vector kernel), and the damped normal equations
 * (J'J + lambda diag(J'J)) d = J'r are solved by Cholesky.  MINPACK's
 * general lmder makes a dozen passes over the data per iteration for the
 * same step, which on a million points is most of the fit.  The normal
 * equations' conditioning only affects the steps, not the answer: the
 * minimum is where J'r, computed directly, vanishes.
 */
typedef struct {
  double rss, A[3][3], g[3];
} law_sums;

/*
 * The sums of one evaluation: t[0] rss, then over the columns x^b and
 * a x^b ln x: t[1..3] the J'J entries, t[4..5] J'r; for np = 3 also the
 * constant column: t[6] sum w, t[7..8] its J'J row, t[9] its J'r.
 */
static void law_sums_from(const double *xb, const double *lx, const double *y,
                          const double *w, size_t i, size_t n, double off,
                          double a, double *t) {
  for (; i < n; i++) {
    double wi = w ? w[i] : 1, j1 = xb[i], j2 = a * j1 * lx[i];
    double r = y[i] - off - a * j1;
    t[0] += wi * r * r;
    t[1] += wi * j1 * j1;
    t[2] += wi * j1 * j2;
    t[3] += wi * j2 * j2;
    t[4] += wi * j1 * r;
    t[5] += wi * j2 * r;
    t[6] += wi;
    t[7] += wi * j1;
    t[8] += wi * j2;
    t[9] += wi * r;
  }
}

#if defined(__GNUC__) || defined(__clang__)
/* two observations per step, in vector lanes (SSE2 on x86-64), the odd
 * one out by the scalar form */
static void law_sums_v(const double *xb, const double *lx, const double *y,
                       const double *w, size_t n, double off, double a,
                       int three, double *t) {
  v2d s[10];
  memset(s, 0, sizeof s);
  size_t i = 0;
  for (; i + 2 <= n; i += 2) {
    v2d j1, l, yy, wi = {1, 1};
    memcpy(&j1, xb + i, sizeof j1);
    memcpy(&l, lx + i, sizeof l);
    memcpy(&yy, y + i, sizeof yy);
    if (w) memcpy(&wi, w + i, sizeof wi);
    v2d j2 = a * j1 * l, r = yy - off - a * j1, wj1 = wi * j1, wj2 = wi * j2;
    v2d wr = wi * r;
    s[0] += wr * r;
    s[1] += wj1 * j1;
    s[2] += wj1 * j2;
    s[3] += wj2 * j2;
    s[4] += wj1 * r;
    s[5] += wj2 * r;
    if (three) {
      s[6] += wi;
      s[7] += wj1;
      s[8] += wj2;
      s[9] += wr;
    }
  }
  for (int k = 0; k < 10; k++) t[k] = s[k][0] + s[k][1];
  law_sums_from(xb, lx, y, w, i, n, off, a, t);
}
#else
static void law_sums_v(const double *xb, const double *lx, const double *y,
                       const double *w, size_t n, double off, double a,
                       int three, double *t) {
  (void)three;
  memset(t, 0, 10 * sizeof *t);
  law_sums_from(xb, lx, y, w, 0, n, off, a, t);
}
#endif

static void law_pass(law_data *d, int np, const double *p, law_sums *S) {
  double off = np == 3 ? p[0] : 0, a = p[np - 2], b = p[np - 1], t[10];
  const double *xb = law_xb(d, b);
  if (np == 3) law_sums_v(xb, d->lx, d->y, d->w, d->n, off, a, 1, t);
  else law_sums_v(xb, d->lx, d->y, d->w, d->n, off, a, 0, t);
  int o = np == 3; /* index of the x^b column */
  S->rss = t[0];
  S->A[o][o] = t[1];
  S->A[o][o + 1] = S->A[o + 1][o] = t[2];
  S->A[o + 1][o + 1] = t[3];
  S->g[o] = t[4];
  S->g[o + 1] = t[5];
  if (np == 3) {
    S->A[0][0] = t[6];
    S->A[0][1] = S->A[1][0] = t[7];
    S->A[0][2] = S->A[2][0] = t[8];
    S->g[0] = t[9];
  }
}

static double clamp_bound(const lm_opts *o, size_t j, double v) {
  double lo = bound_of(o->lower, j), hi = bound_of(o->upper, j);
  if (!isnan(lo) && v < lo) v = lo;
  if (!isnan(hi) && v > hi) v = hi;
  return v;
}

/* Solve M d = g for symmetric positive definite M (np <= 3) by Cholesky;
 * 0 when M is not (numerically) positive definite. */
static int chol_solve(int np, double M[3][3], const double *g, double *d) {
  double L[3][3] = {{0}}, z[3];
  for (int i = 0; i < np; i++)
    for (int j = 0; j <= i; j++) {
      double v = M[i][j];
      for (int k = 0; k < j; k++) v -= L[i][k] * L[j][k];
      if (i == j) {
        if (!(v > 0) || !isfinite(v)) return 0;
        L[i][i] = sqrt(v);
      } else {
        L[i][j] = v / L[j][j];
      }
    }
  for (int i = 0; i < np; i++) {
    double v = g[i];
    for (int k = 0; k < i; k++) v -= L[i][k] * z[k];
    z[i] = v / L[i][i];
  }
  for (int i = np; i-- > 0;) {
    double v = z[i];
    for (int k = i + 1; k < np; k++) v -= L[k][i] * d[k];
    d[i] = v / L[i][i];
  }
  return 1;
}

/*
 * From start (moved inside the bounds), to p.  Bounds are kept by
 * clamping each trial point.  res->info follows MINPACK's numbering (1
 * sum of squares, 2 parameters, 3 both, 6 no further reduction); se
 * (unless NULL) from s2 (J'J)^-1 at the solution.
 */
static int law_lm(scl_ctx *ctx, law_data *d, int np, const double *start,
                  const lm_opts *o, size_t npos, double *p, lm_result *res,
                  double *se) {
  double ftol = o->tol > 0 ? o->tol : 1e-15 * fmax(1, (double)d->n / 1000);
  double xtol = o->tol > 0 ? o->tol : 1e-15;
  double th[3], tr[3];
  for (int j = 0; j < np; j++) th[j] = clamp_bound(o, (size_t)j, start[j]);
  law_sums S, T;
  law_pass(d, np, th, &S);
  if (!isfinite(S.rss))
    return scli_error(ctx, SCL_EINVAL,
                      "%s: the model is not finite at the start values",
                      np == 2 ? "power law" : "saturating law");
  double lambda = 1e-3;
  int it = 0, info = 0;
  while (!info && it < o->max_iter) {
    it++;
    for (;;) { /* raise the damping until a step lowers the sum */
      double M[3][3], dlt[3] = {0, 0, 0};
      for (int i = 0; i < np; i++)
        for (int j = 0; j < np; j++)
          M[i][j] = S.A[i][j] * (i == j ? 1 + lambda : 1);
      int ok = chol_solve(np, M, S.g, dlt), small = 1;
      for (int j = 0; ok && j < np; j++) {
        ok = isfinite(dlt[j]);
        tr[j] = clamp_bound(o, (size_t)j, th[j] + dlt[j]);
        small &= fabs(tr[j] - th[j]) <= xtol * (fabs(th[j]) + xtol);
      }
      if (ok) {
        law_pass(d, np, tr, &T);
        if (T.rss <= S.rss) {
          double red = S.rss > 0 ? (S.rss - T.rss) / S.rss : 0;
          memcpy(th, tr, sizeof th);
          S = T;
          lambda = fmax(lambda * 0.1, 1e-12);
          if (red <= ftol) info = small ? 3 : 1;
          else if (small) info = 2;
          break;
        }
        if (small) { /* the step vanished before the sum went down */
          info = 2;
          break;
        }
      }
      lambda *= 10;
      if (lambda > 1e20) {
        info = 6;
        break;
      }
    }
  }
  memcpy(p, th, (size_t)np * sizeof *p);
  res->rss = S.rss;
  res->iterations = it;
  res->limited = !info;
  res->info = info ? info : -1;
  res->converged = info >= 1 && info <= 3 && isfinite(S.rss);
  if (se) {
    /* (J'J)^-1 column by column through the same Cholesky */
    double s2 = npos > (size_t)np ? S.rss / (double)(npos - (size_t)np) : NAN;
    for (int j = 0; j < np; j++) {
      double M[3][3], e[3] = {0, 0, 0}, c[3] = {0, 0, 0};
      memcpy(M, S.A, sizeof M);
      e[j] = 1;
      se[j] = chol_solve(np, M, e, c) && c[j] > 0 ? sqrt(s2 * c[j]) : NAN;
    }
  }
  return SCL_OK;
}

static int powerlaw_core(scl_ctx *ctx, const double *x, const double *y,
                         const double *w, size_t n, const scl_fit_opts *o,
                         int want_se, law_result *R) {
  size_t npos;
  int rc;
  double *ly;
  if ((rc = scli_fit_check_weights(ctx, w, n, 2, &npos))) return rc;
  law_data d = {x, y, w, n, NULL, NULL, 0, 0};
  if ((rc = law_alloc(ctx, &d, &ly, "power law"))) return rc;
  if (scli_vlog(y, ly, n) &&
      (rc = check_positive(ctx, "y", y, n, "power law")))
    goto done;
  line_fit L;
  if ((rc = fit_line(ctx, d.lx, ly, w, n, npos, &L))) goto done;
  double a = exp(L.alpha);
  R->params[0] = a;
  R->params[1] = L.b;
  R->se[0] = a * L.se_alpha; /* delta method: d exp(alpha) = exp(alpha) */
  R->se[1] = L.se_b;
  R->rss = L.rss;
  R->r2 = L.tss > 0 ? 1 - L.rss / L.tss : NAN;
  R->iterations = 0;
  R->converged = 1;
  R->nls = o && o->method == SCL_METHOD_NLS;
  if (!R->nls) goto done;

  lm_opts lo;
  lm_opts_from(o, &lo);
  if ((rc = check_bounds(ctx, &lo, 2, powerlaw_names))) goto done;
  double start[2] = {a, L.b}, p[2] = {a, L.b};
  if (o->start) memcpy(start, o->start, sizeof start);
  if ((rc = law_lm(ctx, &d, 2, start, &lo, npos, p, &R->lm,
                    want_se ? R->se : NULL)))
    goto done;
  R->params[0] = p[0];
  R->params[1] = p[1];
  R->rss = R->lm.rss;
  double t = wtss(y, w, n);
  R->r2 = t > 0 ? 1 - R->rss / t : NAN;
  R->iterations = R->lm.iterations;
  R->converged = R->lm.converged;
done:
  law_release(ctx, &d);
  return rc;
}

/* Gathered copies of a resample, for the bootstrap refits. */
typedef struct {
  const double *x, *y, *w;
  size_t n;
  const scl_fit_opts *o;
  const double *best; /* full-data solution: the refits' start */
} law_boot;

static int gather(scl_ctx *ctx, const law_boot *B, const size_t *idx,
                  size_t n, double **mem) {
  *mem = scli_malloc(ctx, 3 * n * sizeof(double));
  if (!*mem) return scli_oom(ctx);
  double *x = *mem, *y = x + n, *w = y + n;
  for (size_t i = 0; i < n; i++) {
    x[i] = B->x[idx[i]];
    y[i] = B->y[idx[i]];
    w[i] = B->w ? B->w[idx[i]] : 1;
  }
  return SCL_OK;
}

static int powerlaw_refit(void *ud, scl_ctx *ctx, const size_t *idx,
                          size_t n, double *params) {
  const law_boot *B = ud;
  double *mem;
  int rc = gather(ctx, B, idx, n, &mem);
  if (rc) return rc;
  scl_fit_opts o = *B->o;
  if (o.method == SCL_METHOD_NLS) o.start = B->best;
  law_result R;
  rc = powerlaw_core(ctx, mem, mem + n, B->w ? mem + 2 * n : NULL, n, &o, 0,
                     &R);
  if (!rc && !R.converged)
    rc = scli_error(ctx, SCL_ENOCONV, "bootstrap refit did not converge");
  if (!rc) memcpy(params, R.params, 2 * sizeof(double));
  scli_free(ctx, mem, 3 * n * sizeof(double));
  return rc;
}

/*
 * The end of both law fits: R's np parameters and statistics into f, how
 * it was solved (the log-space closed form is the power law's), then the
 * bootstrap when asked, which refits resamples of (x, y) from f's
 * parameters and appends to the reason.  f goes to *out, or is freed on
 * failure.
 */
static int law_finish(scl_ctx *ctx, scl_fit *f, const law_result *R,
                      size_t np, const double *x, const double *y, size_t n,
                      const scl_fit_opts *opts, scli_refit_fn refit,
                      scl_fit **out) {
  memcpy(f->params, R->params, np * sizeof(double));
  memcpy(f->se, R->se, np * sizeof(double));
  f->rss = R->rss;
  f->r2 = R->r2;
  f->n = n;
  f->iterations = R->iterations;
  f->converged = R->converged;
  if (R->nls)
    lm_set_reason(f, &R->lm,
                  opts && opts->max_iter > 0 ? opts->max_iter : 1000);
  else
    snprintf(f->reason, sizeof f->reason,
             "closed form: least squares on (log x, log y)");
  if (opts && opts->bootstrap) {
    law_boot B = {x, y, opts->weights, n, opts, f->params};
    int rc = scli_fit_bootstrap(ctx, f, n, opts, refit, &B);
    if (rc) {
      scl_fit_free(ctx, f);
      return rc;
    }
  }
  *out = f;
  return SCL_OK;
}

static int law_common_checks(scl_ctx *ctx, const double *x, const double *y,
                             size_t n, size_t need, const char *law) {
  if (!x || !y)
    return scli_error(ctx, SCL_EINVAL, "%s: x or y is NULL", law);
  if (n < need)
    return scli_error(ctx, SCL_EINVAL, "%s needs at least %zu points, got %zu",
                      law, need, n);
  return SCL_OK;
}

int scl_fit_powerlaw(scl_ctx *ctx, const double *x, const double *y,
                     size_t n, const scl_fit_opts *opts, scl_fit **out) {
  int rc;
  *out = NULL;
  /* x > 0 and y > 0 are checked by the logs in powerlaw_core */
  if ((rc = law_common_checks(ctx, x, y, n, 2, "power law"))) return rc;
  if (opts && opts->method != SCL_METHOD_LOG && opts->method != SCL_METHOD_NLS)
    return scli_error(ctx, SCL_EINVAL, "power law: unknown method %d",
                      (int)opts->method);
  law_result R;
  if ((rc = powerlaw_core(ctx, x, y, opts ? opts->weights : NULL, n, opts, 1,
                          &R)))
    return rc;
  scl_fit *f;
  if ((rc = scli_fit_new(ctx, SCL_FIT_POWERLAW, 2, powerlaw_names, NULL, 0,
                         &f)))
    return rc;
  return law_finish(ctx, f, &R, 2, x, y, n, opts, powerlaw_refit, out);
}

/* ------------------------------------------------------ saturating law */

/*
 * Starts for y = E + a x^b: E at fractions of min(y) below the data (for
 * decreasing, loss-like data) and above max(y) (for data rising to a
 * ceiling), with a and b from the log-space line fit of |y - E| -- the
 * exact answer if E were right.  Returns the number of starts.  The fit
 * keeps the best of the first SAT_RUNS converged runs, best starts first.
 */
#define SAT_STARTS 9
#define SAT_RUNS 3

static int sat_starts(scl_ctx *ctx, law_data *d, double *ly, size_t npos,
                      double st[SAT_STARTS][3], int *ns) {
  size_t n = d->n;
  double lo = INFINITY, hi = -INFINITY;
  for (size_t i = 0; i < n; i++)
    if (!d->w || d->w[i] > 0) {
      lo = fmin(lo, d->y[i]);
      hi = fmax(hi, d->y[i]);
    }
  double span = hi - lo, E[SAT_STARTS];
  int k = 0;
  if (lo > 0) {
    static const double fr[] = {0, 0.5, 0.8, 0.9, 0.97, 0.995};
    for (int j = 0; j < 6; j++) E[k++] = fr[j] * lo;
  } else {
    static const double fr[] = {2, 1, 0.3, 0.1, 0.03, 0.005};
    for (int j = 0; j < 6; j++) E[k++] = lo - fr[j] * span;
  }
  E[k++] = hi + 0.01 * span;
  E[k++] = hi + 0.1 * span;
  E[k++] = hi + span;
  *ns = 0;
  for (int j = 0; j < k; j++) {
    int sign = E[j] > hi ? -1 : 1, ok = 1;
    double *z = d->xb; /* scratch: no x^b cached during the starts */
    d->cached = 0;
    for (size_t i = 0; i < n && ok; i++) {
      z[i] = sign * (d->y[i] - E[j]);
      ok = z[i] > 0;
    }
    if (!ok) continue;
    log_positive(z, ly, n);
    line_fit L;
    int rc = fit_line(ctx, d->lx, ly, d->w, n, npos, &L);
    if (rc) return rc;
    st[*ns][0] = E[j];
    st[*ns][1] = sign * exp(L.alpha);
    st[*ns][2] = L.b;
    (*ns)++;
  }
  return SCL_OK;
}

static int saturating_core(scl_ctx *ctx, const double *x, const double *y,
                           const double *w, size_t n, const scl_fit_opts *o,
                           const double *start, int want_se, law_result *R);

/*
 * On a large data set the starts are screened on a systematic subsample
 * of about SAT_SAMPLE points, and the winner is run on the whole: every
 * Levenberg-Marquardt iteration costs MINPACK a dozen passes over the
 * data, and a start that is already close to the answer needs only a few.
 * Sets *done when that gave a converged fit (else the caller runs the
 * full screening).
 */
#define SAT_SAMPLE 8192

static int saturating_sampled(scl_ctx *ctx, const double *x, const double *y,
                              const double *w, size_t n,
                              const scl_fit_opts *o, int want_se,
                              law_result *R, int *done) {
  size_t k = (n + SAT_SAMPLE - 1) / SAT_SAMPLE, m = (n + k - 1) / k;
  size_t bytes = 3 * m * sizeof(double);
  double *sx = scli_malloc(ctx, bytes);
  *done = 0;
  if (!sx) return scli_oom(ctx);
  double *sy = sx + m, *sw = sy + m;
  for (size_t i = 0; i < m; i++) {
    sx[i] = x[i * k];
    sy[i] = y[i * k];
    sw[i] = w ? w[i * k] : 1;
  }
  law_result S;
  int rc = saturating_core(ctx, sx, sy, w ? sw : NULL, m, o, NULL, 0, &S);
  if (rc == SCL_EINVAL || rc == SCL_ENOCONV) { /* e.g. too few weights */
    scl_ctx_clear(ctx);
    rc = SCL_OK;
  } else if (rc == SCL_OK && S.converged) {
    rc = saturating_core(ctx, x, y, w, n, o, S.params, want_se, R);
    *done = rc == SCL_OK && R->converged;
  }
  scli_free(ctx, sx, bytes);
  return rc;
}

/* The best converged of the starts (or of all, if none converged). */
static int saturating_core(scl_ctx *ctx, const double *x, const double *y,
                           const double *w, size_t n, const scl_fit_opts *o,
                           const double *start, int want_se, law_result *R) {
  size_t npos;
  int rc;
  double *ly;
  if (!start && n > 2 * SAT_SAMPLE) {
    int done;
    rc = saturating_sampled(ctx, x, y, w, n, o, want_se, R, &done);
    if (rc || done) return rc;
  }
  if ((rc = scli_fit_check_weights(ctx, w, n, 3, &npos))) return rc;
  lm_opts lo;
  lm_opts_from(o, &lo);
  if ((rc = check_bounds(ctx, &lo, 3, saturating_names))) return rc;
  law_data d = {x, y, w, n, NULL, NULL, 0, 0};
  if ((rc = law_alloc(ctx, &d, &ly, "saturating law"))) return rc;
  double st[SAT_STARTS][3];
  int ns = 1;
  if (start) memcpy(st[0], start, sizeof st[0]);
  else if ((rc = sat_starts(ctx, &d, ly, npos, st, &ns)))
    goto done;
  lm_model m = {ctx, n, 3, y, w, sat_eval, sat_jac, &d};
  /*
   * Rank the starts by their sum of squares (one pass each) and run
   * Levenberg-Marquardt from the best ones until SAT_RUNS have converged:
   * a start on the wrong side of the data (E above a decaying curve) wanders
   * along a degenerate valley for the whole iteration budget, and on a
   * million points that budget is minutes.
   */
  double srss[SAT_STARTS];
  int order[SAT_STARTS];
  for (int k = 0; k < ns; k++) {
    sat_eval(&m, st[k], ly);
    long double acc = 0;
    for (size_t i = 0; i < n; i++) {
      long double r = (long double)ly[i] - y[i];
      acc += (w ? w[i] : 1) * r * r;
    }
    srss[k] = isfinite((double)acc) ? (double)acc : INFINITY;
    int pos = k;
    while (pos > 0 && srss[order[pos - 1]] > srss[k]) {
      order[pos] = order[pos - 1];
      pos--;
    }
    order[pos] = k;
  }
  int have = 0, nconv = 0;
  /*
   * One start on a large data set (the polish after the subsample, a
   * bootstrap refit, the caller's start): the fused LM above, one pass
   * per evaluation, with lmder as the fallback should it not converge.
   */
  if (ns == 1 && n > 2 * SAT_SAMPLE && isfinite(srss[0])) {
    double p[3];
    lm_result r;
    rc = law_lm(ctx, &d, 3, st[0], &lo, npos, p, &r, NULL);
    if (rc == SCL_EINVAL) {
      scl_ctx_clear(ctx);
      rc = SCL_OK;
    } else if (rc) {
      goto done;
    } else if (r.converged) {
      memcpy(R->params, p, sizeof p);
      R->lm = r;
      have = 1;
      nconv = SAT_RUNS;
    }
  }
  for (int k = 0; k < ns && nconv < SAT_RUNS; k++) {
    int s = order[k];
    double p[3];
    lm_result r;
    if (!isfinite(srss[s])) continue;
    rc = lm_run(&m, st[s], &lo, p, &r, NULL, 0);
    if (rc == SCL_EINVAL) { /* not finite at this start: try the next */
      scl_ctx_clear(ctx);
      rc = SCL_OK;
      continue;
    }
    if (rc) goto done;
    nconv += r.converged;
    int better = !have || (r.converged && !R->lm.converged) ||
                 (r.converged == R->lm.converged && r.rss < R->lm.rss);
    if (better) {
      memcpy(R->params, p, sizeof p);
      R->lm = r;
      have = 1;
    }
  }
  if (!have) {
    rc = scli_error(ctx, SCL_ENOCONV,
                    "saturating law: the model is not finite at any start");
    goto done;
  }
  R->rss = R->lm.rss;
  double t = wtss(y, w, n);
  R->r2 = t > 0 ? 1 - R->rss / t : NAN;
  R->iterations = R->lm.iterations;
  R->converged = R->lm.converged;
  R->nls = 1;
  for (int j = 0; j < 3; j++) R->se[j] = NAN;
  if (want_se) rc = lm_stderr(&m, R->params, R->rss, npos, R->se);
done:
  law_release(ctx, &d);
  return rc;
}

static int saturating_refit(void *ud, scl_ctx *ctx, const size_t *idx,
                            size_t n, double *params) {
  const law_boot *B = ud;
  double *mem;
  int rc = gather(ctx, B, idx, n, &mem);
  if (rc) return rc;
  law_result R;
  rc = saturating_core(ctx, mem, mem + n, B->w ? mem + 2 * n : NULL, n, B->o,
                       B->best, 0, &R);
  if (!rc && !R.converged)
    rc = scli_error(ctx, SCL_ENOCONV, "bootstrap refit did not converge");
  if (!rc) memcpy(params, R.params, 3 * sizeof(double));
  scli_free(ctx, mem, 3 * n * sizeof(double));
  return rc;
}

int scl_fit_saturating(scl_ctx *ctx, const double *x, const double *y,
                       size_t n, const scl_fit_opts *opts, scl_fit **out) {
  int rc;
  *out = NULL;
  if ((rc = law_common_checks(ctx, x, y, n, 3, "saturating law")) ||
      (rc = check_positive(ctx, "x", x, n, "saturating law")) ||
      (rc = scli_fit_check_finite(ctx, "y", y, n)))
    return rc;
  int same = 1, samex = 1;
  for (size_t i = 1; i < n; i++) {
    same &= y[i] == y[0];
    samex &= x[i] == x[0];
  }
  if (same)
    return scli_error(ctx, SCL_EINVAL,
                      "saturating law: all y are equal (%g): E and a are not "
                      "separately determined", y[0]);
  if (samex)
    return scli_error(ctx, SCL_EINVAL,
                      "saturating law: all x are equal (x = %g): the "
                      "exponent is not determined", x[0]);
  if (opts && opts->start)
    for (int j = 0; j < 3; j++)
      if (!isfinite(opts->start[j]))
        return scli_error(ctx, SCL_EINVAL, "saturating law: start %s = %g",
                          saturating_names[j], opts->start[j]);
  law_result R;
  if ((rc = saturating_core(ctx, x, y, opts ? opts->weights : NULL, n, opts,
                            opts ? opts->start : NULL, 1, &R)))
    return rc;
  scl_fit *f;
  if ((rc = scli_fit_new(ctx, SCL_FIT_SATURATING, 3, saturating_names, NULL,
                         0, &f)))
    return rc;
  return law_finish(ctx, f, &R, 3, x, y, n, opts, saturating_refit, out);
}

/* ------------------------------------------------- general nonlinear LS */

typedef struct {
  scl_model_fn model;
  scl_jac_fn jac;
  void *ud;
  const double *X;
  size_t k;
  double *Jr; /* row-major scratch n x np for the user's Jacobian */
} user_model;

static int user_eval(const lm_model *m, const double *p, double *yhat) {
  const user_model *u = m->ud;
  return u->model(u->ud, m->ctx, p, m->np, u->X, m->n, u->k, yhat);
}

static int user_jac(const lm_model *m, const double *p, double *J) {
  const user_model *u = m->ud;
  size_t n = m->n, np = m->np;
  int rc = u->jac(u->ud, m->ctx, p, np, u->X, n, u->k, u->Jr);
  if (rc) return rc;
  for (size_t i = 0; i < n; i++)
    for (size_t j = 0; j < np; j++) J[j * n + i] = u->Jr[i * np + j];
  return SCL_OK;
}

typedef struct {
  scl_model_fn model;
  scl_jac_fn jac;
  void *ud;
  const double *X, *y, *w;
  size_t n, k, np;
  const double *best;
  const scl_fit_opts *o;
} nls_boot;

/* One NLS fit of (X, y, w) from start; se when want_se. */
static int nls_core(scl_ctx *ctx, const nls_boot *P, const double *X,
                    const double *y, const double *w, size_t n,
                    const double *start, double *p, double *se, lm_result *r) {
  size_t npos, np = P->np;
  int rc;
  if ((rc = scli_fit_check_weights(ctx, w, n, np, &npos))) return rc;
  size_t jb = P->jac ? n * np * sizeof(double) : 0;
  user_model u = {P->model, P->jac, P->ud, X, P->k, NULL};
  if (jb && !(u.Jr = scli_malloc(ctx, jb))) return scli_oom(ctx);
  lm_model m = {ctx, n, np, y, w, user_eval, P->jac ? user_jac : NULL, &u};
  lm_opts lo;
  lm_opts_from(P->o, &lo);
  rc = lm_run(&m, start, &lo, p, r, se, npos);
  scli_free(ctx, u.Jr, jb);
  return rc;
}

static int nls_refit(void *ud, scl_ctx *ctx, const size_t *idx, size_t n,
                     double *params) {
  const nls_boot *P = ud;
  size_t k = P->k;
  size_t bytes = (n * k + 2 * n) * sizeof(double);
  double *mem = scli_malloc(ctx, bytes);
  if (!mem) return scli_oom(ctx);
  double *X = mem, *y = X + n * k, *w = y + n;
  for (size_t i = 0; i < n; i++) {
    if (k) memcpy(X + i * k, P->X + idx[i] * k, k * sizeof(double));
    y[i] = P->y[idx[i]];
    w[i] = P->w ? P->w[idx[i]] : 1;
  }
  lm_result r;
  int rc = nls_core(ctx, P, X, y, P->w ? w : NULL, n, P->best, params, NULL,
                    &r);
  if (!rc && !r.converged)
    rc = scli_error(ctx, SCL_ENOCONV, "bootstrap refit did not converge");
  scli_free(ctx, mem, bytes);
  return rc;
}

int scl_fit_nls(scl_ctx *ctx, scl_model_fn model, scl_jac_fn jac, void *ud,
                const double *X, size_t n, size_t k, const double *y,
                size_t np, const double *start, const scl_fit_opts *opts,
                scl_fit **out) {
  int rc;
  *out = NULL;
  if (!model) return scli_error(ctx, SCL_EINVAL, "nls: no model function");
  if (np == 0) return scli_error(ctx, SCL_EINVAL, "nls: no parameters");
  if (!start) return scli_error(ctx, SCL_EINVAL, "nls: no start values");
  if (!y || (k && !X))
    return scli_error(ctx, SCL_EINVAL, "nls: X or y is NULL");
  if (n < np)
    return scli_error(ctx, SCL_EINVAL,
                      "nls: %zu observations for %zu parameters", n, np);
  for (size_t j = 0; j < np; j++)
    if (!isfinite(start[j]))
      return scli_error(ctx, SCL_EINVAL, "nls: start p%zu = %g", j + 1,
                        start[j]);
  if ((rc = scli_fit_check_finite(ctx, "y", y, n))) return rc;
  if (k && (rc = scli_fit_check_finite(ctx, "X", X, n * k))) return rc;
  scl_fit *f;
  if ((rc = scli_fit_new(ctx, SCL_FIT_NLS, np, NULL, "p", 1, &f))) return rc;
  lm_opts lo;
  lm_opts_from(opts, &lo);
  if ((rc = check_bounds(ctx, &lo, np, f->names))) goto fail;
  const double *w = opts ? opts->weights : NULL;
  nls_boot P = {model, jac, ud, X, y, w, n, k, np, f->params, opts};
  lm_result r;
  if ((rc = nls_core(ctx, &P, X, y, w, n, start, f->params, f->se, &r)))
    goto fail;
  f->rss = r.rss;
  double t = wtss(y, w, n);
  f->r2 = t > 0 ? 1 - r.rss / t : NAN;
  f->n = n;
  f->iterations = r.iterations;
  f->converged = r.converged;
  lm_set_reason(f, &r, lo.max_iter);
  if (opts && opts->bootstrap &&
      (rc = scli_fit_bootstrap(ctx, f, n, opts, nls_refit, &P)))
    goto fail;
  *out = f;
  return SCL_OK;
fail:
  scl_fit_free(ctx, f);
  return rc;
}
