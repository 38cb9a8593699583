/*
 * fit_lm.c -- power laws, saturating laws and general nonlinear least
 * squares, by Levenberg-Marquardt (MINPACK's lmder, from Debian's
 * libcminpack) with analytic Jacobians where we have them and central
 * differences where the caller has none.
 *
 * One driver (lm_run) serves every model: the model fills predictions
 * and, optionally, a column-major Jacobian of the predictions; the driver
 * turns them into weighted residuals, maps bounded parameters through a
 * smooth transform, counts iterations and carries callback errors out of
 * MINPACK (which only knows "negative flag: stop").  Standard errors come
 * from a QR of the Jacobian at the solution (scli_qr_stderr).
 */
#include "internal.h"

#include <cminpack.h>
#include <float.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

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
  double tol;    /* MINPACK ftol and xtol */
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
  double *yhat;  /* n */
  double *fd;    /* 2n for central differences (when m->jac is NULL) */
  double *sw;    /* n square roots of the weights, or NULL */
  int rc;        /* error that stopped the run */
  int jevals;
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
    int rc = m->eval(m, s->p, s->yhat);
    if (rc) {
      s->rc = callback_error(m->ctx, rc, "model");
      return -1;
    }
    for (size_t i = 0; i < n; i++) {
      double r = s->yhat[i] - m->y[i];
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
    for (size_t i = 0; i < n; i++) {
      double v = c[i] * dj;
      if (s->sw) v *= s->sw[i];
      if (!isfinite(v)) {
        s->rc = scli_error(m->ctx, SCL_ENOCONV,
                           "the Jacobian is not finite at observation %zu, "
                           "parameter %zu (%g)", i, j + 1, c[i]);
        return -1;
      }
      c[i] = v;
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
 * Levenberg-Marquardt from start; p receives the solution (also when it
 * did not converge, with res->converged = 0).  Errors: SCL_ENOMEM, the
 * code of a failing callback, SCL_EINVAL for a start where the model is
 * not finite.
 */
static int lm_run(const lm_model *m, const double *start, const lm_opts *o,
                  double *p, lm_result *res) {
  scl_ctx *ctx = m->ctx;
  size_t n = m->n, np = m->np;
  if (n > INT_MAX || np > INT_MAX || n * np > (size_t)INT_MAX)
    return scli_error(ctx, SCL_EINVAL, "fit: problem too large for MINPACK");
  size_t nd = n * np + 2 * n + 7 * np + n + (m->jac ? 0 : 2 * n) +
              (m->w ? n : 0);
  size_t bytes = nd * sizeof(double) + np * sizeof(int);
  double *mem = scli_malloc(ctx, bytes);
  if (!mem) return scli_oom(ctx);
  double *fjac = mem, *fvec = fjac + n * np, *wa4 = fvec + n;
  double *t = wa4 + n, *diag = t + np, *qtf = diag + np, *wa1 = qtf + np;
  double *wa2 = wa1 + np, *wa3 = wa2 + np, *pc = wa3 + np;
  double *yhat = pc + np, *fd = yhat + n;
  double *sw = m->jac ? fd : fd + 2 * n;
  int *ipvt = (int *)(sw + (m->w ? n : 0));
  lm_state s = {m, o, pc, yhat, m->jac ? NULL : fd, m->w ? sw : NULL,
                SCL_OK, 0, 0};
  if (m->w)
    for (size_t i = 0; i < n; i++) sw[i] = sqrt(m->w[i]);
  for (size_t j = 0; j < np; j++) t[j] = p_to_t(o, j, start[j]);
  /* the start must give finite predictions */
  for (size_t j = 0; j < np; j++) {
    double dj;
    pc[j] = t_to_p(o, j, t[j], &dj);
  }
  int rc = m->eval(m, pc, yhat);
  if (rc) {
    rc = callback_error(ctx, rc, "model");
    goto done;
  }
  for (size_t i = 0; i < n; i++)
    if (!isfinite(yhat[i])) {
      rc = scli_error(ctx, SCL_EINVAL,
                      "the model is not finite at the start values "
                      "(observation %zu gives %g)", i, yhat[i]);
      goto done;
    }
  /*
   * MINPACK's ftol (relative reduction of the sum of squares) and xtol
   * (relative change of the parameters).  1e-15, just above the machine
   * epsilon, because a flat sum of squares (NIST's ENSO) stops short of
   * six correct digits at 1e-12.
   */
  double tol = o->tol > 0 ? o->tol : 1e-15;
  int nfev = 0, njev = 0;
  int maxfev = o->max_iter > INT_MAX / 20 ? INT_MAX : o->max_iter * 20 + 100;
  int info = lmder(lm_fcn, &s, (int)n, (int)np, t, fvec, fjac, (int)n, tol,
                   tol, 0.0, maxfev, diag, 1, 100.0, 0, &nfev, &njev, ipvt,
                   qtf, wa1, wa2, wa3, wa4);
  if (s.rc) {
    rc = s.rc;
    goto done;
  }
  for (size_t j = 0; j < np; j++) {
    double dj;
    p[j] = t_to_p(o, j, t[j], &dj);
  }
  /* the sum of squares at the returned point, from a fresh evaluation */
  if ((rc = m->eval(m, p, yhat))) {
    rc = callback_error(ctx, rc, "model");
    goto done;
  }
  long double rss = 0;
  for (size_t i = 0; i < n; i++) {
    long double r = (long double)yhat[i] - m->y[i];
    rss += (m->w ? m->w[i] : 1) * r * r;
  }
  res->rss = (double)rss;
  res->iterations = njev;
  res->info = s.limited ? -1 : info;
  res->limited = s.limited;
  res->converged = !s.limited && info >= 1 && info <= 4 && isfinite(res->rss);
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

/*
 * Standard errors at p: J of the weighted residuals by QR, s2 = rss /
 * (n - np) with n the observations of positive weight.
 */
static int lm_stderr(const lm_model *m, const double *p, double rss,
                     size_t npos, double *se) {
  scl_ctx *ctx = m->ctx;
  size_t n = m->n, np = m->np;
  size_t bytes = (n * np + np + (m->jac ? 0 : 2 * n)) * sizeof(double);
  for (size_t j = 0; j < np; j++) se[j] = NAN;
  if (npos <= np) return SCL_OK;
  double *J = scli_malloc(ctx, bytes);
  if (!J) return scli_oom(ctx);
  double *pc = J + n * np;
  memcpy(pc, p, np * sizeof *pc);
  lm_state s = {m, NULL, pc, NULL, pc + np, NULL, SCL_OK, 0, 0};
  int rc = m->jac ? m->jac(m, pc, J) : fd_jacobian(&s, pc, J);
  if (rc) {
    if (m->jac) rc = callback_error(ctx, rc, "Jacobian");
    goto done;
  }
  if (m->w)
    for (size_t j = 0; j < np; j++)
      for (size_t i = 0; i < n; i++) J[j * n + i] *= sqrt(m->w[i]);
  int finite = 1;
  for (size_t i = 0; i < n * np; i++) finite &= isfinite(J[i]) != 0;
  size_t rank;
  if (finite)
    rc = scli_qr_stderr(ctx, J, n, np, rss / (double)(npos - np), se, &rank);
done:
  scli_free(ctx, J, bytes);
  return rc;
}

/* Weighted total sum of squares about the weighted mean. */
static double wtss(const double *y, const double *w, size_t n) {
  long double sw = 0, s = 0, t = 0;
  for (size_t i = 0; i < n; i++) {
    sw += w ? w[i] : 1;
    s += (w ? w[i] : 1) * (long double)y[i];
  }
  if (!(sw > 0)) return NAN;
  long double mean = s / sw;
  for (size_t i = 0; i < n; i++) {
    long double d = y[i] - mean;
    t += (w ? w[i] : 1) * d * d;
  }
  return (double)t;
}

static void lm_opts_from(const scl_fit_opts *o, lm_opts *lo) {
  lo->max_iter = o && o->max_iter > 0 ? o->max_iter : 1000;
  lo->tol = o && o->tol > 0 ? o->tol : 1e-15;
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

/* Data of a one-predictor law: ln x precomputed, with scratch. */
typedef struct {
  const double *x, *y, *w;
  size_t n;
  double *lx;  /* ln x */
  double *u;   /* scratch n */
  int method;
} law_data;

/* yhat = off + a exp(b ln x); flags b ln x beyond exp's range */
static void law_values(const law_data *d, double off, double a, double b,
                       double *yhat) {
  size_t n = d->n;
  int big = 0;
  for (size_t i = 0; i < n; i++) {
    double v = b * d->lx[i];
    big |= !(v <= 708);
    d->u[i] = v < -708 ? -708 : (v > 708 ? 708 : v);
  }
  scli_vexp(d->u, yhat, n);
  if (big)
    for (size_t i = 0; i < n; i++)
      if (!(b * d->lx[i] <= 708)) yhat[i] = isnan(b) ? NAN : INFINITY;
  for (size_t i = 0; i < n; i++) yhat[i] = off + a * yhat[i];
}

static int pl_eval(const lm_model *m, const double *p, double *yhat) {
  law_values(m->ud, 0, p[0], p[1], yhat);
  return SCL_OK;
}

static int pl_jac(const lm_model *m, const double *p, double *J) {
  const law_data *d = m->ud;
  size_t n = d->n;
  law_values(d, 0, 1, p[1], J); /* x^b */
  for (size_t i = 0; i < n; i++) J[n + i] = p[0] * J[i] * d->lx[i];
  return SCL_OK;
}

static int sat_eval(const lm_model *m, const double *p, double *yhat) {
  law_values(m->ud, p[0], p[1], p[2], yhat);
  return SCL_OK;
}

static int sat_jac(const lm_model *m, const double *p, double *J) {
  const law_data *d = m->ud;
  size_t n = d->n;
  law_values(d, 0, 1, p[2], J + n); /* x^b */
  for (size_t i = 0; i < n; i++) {
    J[i] = 1;
    J[2 * n + i] = p[1] * J[n + i] * d->lx[i];
  }
  return SCL_OK;
}

/* Closed-form weighted regression v = alpha + b u. */
typedef struct {
  double alpha, b, se_alpha, se_b, rss, tss;
} line_fit;

static int fit_line(scl_ctx *ctx, const double *u, const double *v,
                    const double *w, size_t n, size_t npos, line_fit *L) {
  long double sw = 0, su = 0, sv = 0;
  for (size_t i = 0; i < n; i++) {
    double wi = w ? w[i] : 1;
    sw += wi;
    su += wi * (long double)u[i];
    sv += wi * (long double)v[i];
  }
  long double mu = su / sw, mv = sv / sw, suu = 0, suv = 0, svv = 0;
  for (size_t i = 0; i < n; i++) {
    double wi = w ? w[i] : 1;
    long double du = u[i] - mu, dv = v[i] - mv;
    suu += wi * du * du;
    suv += wi * du * dv;
    svv += wi * dv * dv;
  }
  if (!(suu > 0) || suu <= 1e-28L * sw * (mu * mu + 1))
    return scli_error(ctx, SCL_EINVAL,
                      "all x are equal (x = %g): the exponent is not "
                      "determined", exp((double)mu));
  long double b = suv / suu, alpha = mv - b * mu, rss = 0;
  for (size_t i = 0; i < n; i++) {
    long double r = v[i] - alpha - b * u[i];
    rss += (w ? w[i] : 1) * r * r;
  }
  L->alpha = (double)alpha;
  L->b = (double)b;
  L->rss = (double)rss;
  L->tss = (double)svv;
  double s2 = npos > 2 ? L->rss / (double)(npos - 2) : NAN;
  L->se_b = sqrt(s2 / (double)suu);
  L->se_alpha = sqrt(s2 * (double)(1 / sw + mu * mu / suu));
  return SCL_OK;
}

/* Positive, finite values, naming the first that is not. */
static int check_positive(scl_ctx *ctx, const char *name, const double *v,
                          size_t n, const char *law) {
  for (size_t i = 0; i < n; i++)
    if (!(v[i] > 0) || !isfinite(v[i]))
      return scli_error(ctx, SCL_EINVAL, "%s[%zu] = %g: %s needs %s > 0",
                        name, i, v[i], law, name);
  return SCL_OK;
}

/* log of positive finite v; the vector kernel wants normal numbers. */
static void log_positive(const double *v, double *out, size_t n) {
  scli_vlog(v, out, n);
  for (size_t i = 0; i < n; i++)
    if (v[i] < DBL_MIN) out[i] = log(v[i]);
}

/* The work arrays of a law fit: ln x, ln y (or scratch), scratch. */
static int law_alloc(scl_ctx *ctx, law_data *d, double **ly) {
  d->lx = scli_malloc(ctx, 3 * d->n * sizeof(double));
  if (!d->lx) return scli_oom(ctx);
  d->u = d->lx + d->n;
  *ly = d->u + d->n;
  log_positive(d->x, d->lx, d->n);
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

static int powerlaw_core(scl_ctx *ctx, const double *x, const double *y,
                         const double *w, size_t n, const scl_fit_opts *o,
                         int want_se, law_result *R) {
  size_t npos;
  int rc;
  double *ly;
  if ((rc = scli_fit_check_weights(ctx, w, n, 2, &npos))) return rc;
  law_data d = {x, y, w, n, NULL, NULL, 0};
  if ((rc = law_alloc(ctx, &d, &ly))) return rc;
  log_positive(y, ly, n);
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
  lm_model m = {ctx, n, 2, y, w, pl_eval, pl_jac, &d};
  double start[2] = {a, L.b}, p[2];
  if (o->start) memcpy(start, o->start, sizeof start);
  if ((rc = lm_run(&m, start, &lo, p, &R->lm))) goto done;
  R->params[0] = p[0];
  R->params[1] = p[1];
  R->rss = R->lm.rss;
  double t = wtss(y, w, n);
  R->r2 = t > 0 ? 1 - R->rss / t : NAN;
  R->iterations = R->lm.iterations;
  R->converged = R->lm.converged;
  if (want_se) rc = lm_stderr(&m, p, R->rss, npos, R->se);
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
  if ((rc = law_common_checks(ctx, x, y, n, 2, "power law")) ||
      (rc = check_positive(ctx, "x", x, n, "power law")) ||
      (rc = check_positive(ctx, "y", y, n, "power law")))
    return rc;
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
  memcpy(f->params, R.params, 2 * sizeof(double));
  memcpy(f->se, R.se, 2 * sizeof(double));
  f->rss = R.rss;
  f->r2 = R.r2;
  f->n = n;
  f->iterations = R.iterations;
  f->converged = R.converged;
  if (R.nls)
    lm_set_reason(f, &R.lm, opts->max_iter > 0 ? opts->max_iter : 1000);
  else
    snprintf(f->reason, sizeof f->reason,
             "closed form: least squares on (log x, log y)");
  if (opts && opts->bootstrap) {
    law_boot B = {x, y, opts->weights, n, opts, f->params};
    if ((rc = scli_fit_bootstrap(ctx, f, n, opts, powerlaw_refit, &B))) {
      scl_fit_free(ctx, f);
      return rc;
    }
  }
  *out = f;
  return SCL_OK;
}

/* ------------------------------------------------------ saturating law */

/*
 * Starts for y = E + a x^b: E at fractions of min(y) below the data (for
 * decreasing, loss-like data) and above max(y) (for data rising to a
 * ceiling), with a and b from the log-space line fit of |y - E| -- the
 * exact answer if E were right.  Returns the number of starts.
 */
#define SAT_STARTS 9

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
    for (size_t i = 0; i < n && ok; i++) {
      d->u[i] = sign * (d->y[i] - E[j]);
      ok = d->u[i] > 0;
    }
    if (!ok) continue;
    log_positive(d->u, ly, n);
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

/* The best converged of the starts (or of all, if none converged). */
static int saturating_core(scl_ctx *ctx, const double *x, const double *y,
                           const double *w, size_t n, const scl_fit_opts *o,
                           const double *start, int want_se, law_result *R) {
  size_t npos;
  int rc;
  double *ly;
  if ((rc = scli_fit_check_weights(ctx, w, n, 3, &npos))) return rc;
  lm_opts lo;
  lm_opts_from(o, &lo);
  if ((rc = check_bounds(ctx, &lo, 3, saturating_names))) return rc;
  law_data d = {x, y, w, n, NULL, NULL, 0};
  if ((rc = law_alloc(ctx, &d, &ly))) return rc;
  double st[SAT_STARTS][3];
  int ns = 1;
  if (start) memcpy(st[0], start, sizeof st[0]);
  else if ((rc = sat_starts(ctx, &d, ly, npos, st, &ns)))
    goto done;
  lm_model m = {ctx, n, 3, y, w, sat_eval, sat_jac, &d};
  int have = 0;
  for (int s = 0; s < ns; s++) {
    double p[3];
    lm_result r;
    rc = lm_run(&m, st[s], &lo, p, &r);
    if (rc == SCL_EINVAL) { /* not finite at this start: try the next */
      scl_ctx_clear(ctx);
      rc = SCL_OK;
      continue;
    }
    if (rc) goto done;
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
  memcpy(f->params, R.params, 3 * sizeof(double));
  memcpy(f->se, R.se, 3 * sizeof(double));
  f->rss = R.rss;
  f->r2 = R.r2;
  f->n = n;
  f->iterations = R.iterations;
  f->converged = R.converged;
  lm_set_reason(f, &R.lm, opts && opts->max_iter > 0 ? opts->max_iter : 1000);
  if (opts && opts->bootstrap) {
    law_boot B = {x, y, opts->weights, n, opts, f->params};
    if ((rc = scli_fit_bootstrap(ctx, f, n, opts, saturating_refit, &B))) {
      scl_fit_free(ctx, f);
      return rc;
    }
  }
  *out = f;
  return SCL_OK;
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
  rc = lm_run(&m, start, &lo, p, r);
  if (!rc && se) rc = lm_stderr(&m, p, r->rss, npos, se);
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
