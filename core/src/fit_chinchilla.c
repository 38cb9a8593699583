/*
 * fit_chinchilla.c -- Chinchilla "Approach 3" (Hoffmann et al. 2022):
 *
 *   L(N, D) = E + A / N^alpha + B / D^beta
 *
 * fitted to (N, D, loss) by minimising the SUM over runs of the Huber
 * loss (delta 1e-3 by default) of
 *
 *   r = LSE(a - alpha log N, b - beta log D, e) - log L,
 *
 * with A = exp(a), B = exp(b), E = exp(e) and LSE the log-sum-exp, by
 * L-BFGS (Debian's liblbfgs) with the analytic gradient, from Hoffmann's
 * grid of 4,500 starts: alpha, beta in {0, 0.5, ..., 2}, e in {-1, -0.5,
 * ..., 1}, a, b in {0, 5, ..., 25}.  The lowest final objective wins.
 *
 * Speed.  Every start is run until L-BFGS's own test passes, at a loose
 * tolerance (gradient norm 1e-5 relative, or less than 1e-5 relative
 * decrease per iteration, as scipy's L-BFGS-B defaults do); the ten best
 * end points are then run on to a tight tolerance.  The objective itself
 * is evaluated with the vector exp/log kernels of fit.c; in linear space,
 * LSE(t1, t2, e) = log(exp(t1) + exp(t2) + E), so a run costs two exps
 * and one log, with the arguments clamped to +-700 so nothing overflows.
 *
 * liblbfgs allocates its workspace with malloc and frees it before it
 * returns; that is the one allocation in scalelua not made through the
 * context's allocator (the library has no hook for one).
 */
#include "internal.h"

#include <float.h>
#include <lbfgs.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

static const char *const chin_names[] = {"E", "A", "B", "alpha", "beta"};

/* optimiser variables: a, b, e, alpha, beta */
enum { VA, VB, VE, VALPHA, VBETA, NV };

typedef struct {
  size_t n;
  const double *lN, *lD, *lL; /* logs of the data */
  const double *w;            /* weights, NULL: 1 */
  double delta;
  double *u, *v, *s, *ls;     /* scratch, n each */
  int iters;                  /* iterations of the current run */
} chin;

static double clamp700(double t) {
  return t < -700 ? -700 : (t > 700 ? 700 : t);
}

/*
 * The objective sum_i w_i huber(r_i) and its gradient.  With
 * p_k = exp(t_k) / S the softmax weights of LSE, dr/da = p_1,
 * dr/dalpha = -p_1 log N, dr/db = p_2, dr/dbeta = -p_2 log D, dr/de = p_3,
 * and huber'(r) = clamp(r, -delta, delta).
 */
#if defined(__GNUC__) || defined(__clang__)
typedef double v2d __attribute__((vector_size(16)));
typedef int64_t v2i __attribute__((vector_size(16)));

/* lanes of a where mask is set, else b */
static inline v2d vsel(v2i mask, v2d a, v2d b) {
  return (v2d)(((v2i)a & mask) | ((v2i)b & ~mask));
}
#endif

static lbfgsfloatval_t chin_eval(void *ud, const lbfgsfloatval_t *x,
                                 lbfgsfloatval_t *g, const int nv,
                                 const lbfgsfloatval_t step) {
  chin *c = ud;
  size_t n = c->n, i = 0;
  double a = x[VA], b = x[VB], al = x[VALPHA], be = x[VBETA];
  double E = exp(clamp700(x[VE])), d = c->delta;
  size_t k = 0;
  (void)nv;
  (void)step;
#if defined(__GNUC__) || defined(__clang__)
  v2d hi = {700, 700}, lo = -hi;
  for (; k + 2 <= n; k += 2) {
    v2d lN, lD;
    memcpy(&lN, c->lN + k, sizeof lN);
    memcpy(&lD, c->lD + k, sizeof lD);
    v2d t1 = a - al * lN, t2 = b - be * lD;
    t1 = vsel(t1 < lo, lo, vsel(t1 > hi, hi, t1));
    t2 = vsel(t2 < lo, lo, vsel(t2 > hi, hi, t2));
    memcpy(c->u + k, &t1, sizeof t1);
    memcpy(c->v + k, &t2, sizeof t2);
  }
#endif
  for (; k < n; k++) {
    c->u[k] = clamp700(a - al * c->lN[k]);
    c->v[k] = clamp700(b - be * c->lD[k]);
  }
  scli_vexp(c->u, c->u, n);
  scli_vexp(c->v, c->v, n);
  for (k = 0; k < n; k++) c->s[k] = c->u[k] + c->v[k] + E;
  scli_vlog(c->s, c->ls, n);
  double f = 0, ga = 0, gb = 0, ge = 0, gal = 0, gbe = 0;
#if defined(__GNUC__) || defined(__clang__)
  /* the same sums as the scalar loop below, two observations at a time */
  v2d vf = {0, 0}, va = vf, vb = vf, ve = vf, val = vf, vbe = vf;
  v2d vd = {d, d}, vnd = -vd;
  for (; i + 2 <= n; i += 2) {
    v2d ls, lL, sv, uv, vv, lN, lD, wv = {1, 1};
    memcpy(&ls, c->ls + i, sizeof ls);
    memcpy(&lL, c->lL + i, sizeof lL);
    memcpy(&sv, c->s + i, sizeof sv);
    memcpy(&uv, c->u + i, sizeof uv);
    memcpy(&vv, c->v + i, sizeof vv);
    memcpy(&lN, c->lN + i, sizeof lN);
    memcpy(&lD, c->lD + i, sizeof lD);
    if (c->w) memcpy(&wv, c->w + i, sizeof wv);
    v2d r = ls - lL;
    v2d h = vsel(r < vnd, vnd, vsel(r > vd, vd, r));
    vf += wv * h * (r - 0.5 * h);
    v2d q = wv * h / sv, qu = q * uv, qv = q * vv;
    va += qu;
    val -= qu * lN;
    vb += qv;
    vbe -= qv * lD;
    ve += q;
  }
  f = vf[0] + vf[1];
  ga = va[0] + va[1];
  gb = vb[0] + vb[1];
  ge = ve[0] + ve[1];
  gal = val[0] + val[1];
  gbe = vbe[0] + vbe[1];
#endif
  for (; i < n; i++) {
    double r = c->ls[i] - c->lL[i];
    double h = r < -d ? -d : (r > d ? d : r); /* huber'(r) */
    double wi = c->w ? c->w[i] : 1;
    f += wi * h * (r - 0.5 * h); /* = huber(r) on both branches */
    double q = wi * h / c->s[i];
    double qu = q * c->u[i], qv = q * c->v[i];
    ga += qu;
    gal -= qu * c->lN[i];
    gb += qv;
    gbe -= qv * c->lD[i];
    ge += q;
  }
  g[VA] = ga;
  g[VB] = gb;
  g[VE] = ge * E;
  g[VALPHA] = gal;
  g[VBETA] = gbe;
  return f;
}

static int chin_progress(void *ud, const lbfgsfloatval_t *x,
                         const lbfgsfloatval_t *g, const lbfgsfloatval_t fx,
                         const lbfgsfloatval_t xnorm,
                         const lbfgsfloatval_t gnorm,
                         const lbfgsfloatval_t step, int nv, int k, int ls) {
  chin *c = ud;
  (void)x; (void)g; (void)fx; (void)xnorm; (void)gnorm; (void)step;
  (void)nv; (void)ls;
  c->iters = k;
  return 0;
}

typedef struct {
  double x[NV];
  double f;
  int ret, iters;
} run;

/* One L-BFGS run from r->x (updated in place). */
static void chin_run(chin *c, lbfgs_parameter_t *prm, run *r) {
  c->iters = 0;
  lbfgsfloatval_t fx = INFINITY;
  r->ret = lbfgs(NV, r->x, &fx, chin_eval, chin_progress, c, prm);
  r->iters += c->iters;
  /* on some early failures lbfgs leaves fx unset: evaluate it */
  if (!isfinite(fx)) {
    double g[NV];
    fx = chin_eval(c, r->x, g, NV, 0);
  }
  r->f = isfinite(fx) ? fx : INFINITY;
}

static double gnorm_at(chin *c, const double *x) {
  double g[NV], s = 0;
  chin_eval(c, x, g, NV, 0);
  for (int k = 0; k < NV; k++) s += g[k] * g[k];
  return sqrt(s);
}

/*
 * Converged: L-BFGS's test passed, or it stopped because no step could
 * lower the objective any more (the usual end at a tight tolerance) with
 * a gradient that is small next to the objective's scale.
 */
static int chin_converged(chin *c, const run *r, double tol) {
  if (r->ret == LBFGS_SUCCESS || r->ret == LBFGS_ALREADY_MINIMIZED ||
      r->ret == LBFGS_STOP)
    return 1;
  if (r->ret == LBFGSERR_ROUNDING_ERROR || r->ret == LBFGSERR_MINIMUMSTEP ||
      r->ret == LBFGSERR_MAXIMUMLINESEARCH ||
      r->ret == LBFGSERR_INCORRECT_TMINMAX) {
    double xn = 0;
    for (int k = 0; k < NV; k++) xn += r->x[k] * r->x[k];
    return gnorm_at(c, r->x) <= sqrt(tol) * fmax(1, sqrt(xn)) * 1e-2;
  }
  return 0;
}

static const char *lbfgs_words(int ret) {
  switch (ret) {
  case LBFGS_SUCCESS: return "gradient test passed";
  case LBFGS_STOP: return "objective stopped decreasing";
  case LBFGS_ALREADY_MINIMIZED: return "start already minimal";
  case LBFGSERR_ROUNDING_ERROR: return "no further decrease possible";
  case LBFGSERR_MINIMUMSTEP: return "line search step at its minimum";
  case LBFGSERR_MAXIMUMLINESEARCH: return "line search limit";
  case LBFGSERR_MAXIMUMITERATION: return "iteration limit";
  default: return "line search failed";
  }
}

#define GRID_STARTS 4500
#define POLISH 10

/* Hoffmann et al.'s grid: start number k -> (a, b, e, alpha, beta). */
static void grid_start(int k, double *x) {
  x[VBETA] = 0.5 * (k % 5);
  k /= 5;
  x[VALPHA] = 0.5 * (k % 5);
  k /= 5;
  x[VE] = -1 + 0.5 * (k % 5);
  k /= 5;
  x[VB] = 5.0 * (k % 6);
  k /= 6;
  x[VA] = 5.0 * k;
}

static int lbfgs_oom(scl_ctx *ctx, int ret) {
  return ret == LBFGSERR_OUTOFMEMORY ? scli_oom(ctx) : SCL_OK;
}

/*
 * The fit proper on prepared logs: the grid (or one start), the polish,
 * the best.  *best receives the optimiser variables and status.
 */
static int chin_solve(scl_ctx *ctx, chin *c, const double *start,
                      const scl_fit_opts *o, run *best, int *nstarts) {
  double tol = o && o->tol > 0 ? o->tol : 1e-10;
  int maxit = o && o->max_iter > 0 ? o->max_iter : 2000;
  lbfgs_parameter_t loose, tight;
  lbfgs_parameter_init(&loose);
  loose.epsilon = 1e-5;
  loose.past = 1;
  loose.delta = 1e-5;
  loose.max_iterations = maxit;
  lbfgs_parameter_init(&tight);
  tight.epsilon = tol;
  tight.max_iterations = maxit;
  int rc = SCL_OK;
  run cand[POLISH];
  int ncand = 0;
  if (start) {
    run r = {{0}, 0, 0, 0};
    memcpy(r.x, start, sizeof r.x);
    cand[ncand++] = r;
    *nstarts = 1;
  } else {
    /* keep the POLISH best end points, sorted by objective */
    for (int k = 0; k < GRID_STARTS; k++) {
      run r = {{0}, 0, 0, 0};
      grid_start(k, r.x);
      chin_run(c, &loose, &r);
      if ((rc = lbfgs_oom(ctx, r.ret))) return rc;
      int pos = ncand;
      while (pos > 0 && r.f < cand[pos - 1].f) pos--;
      if (pos >= POLISH) continue;
      if (ncand < POLISH) ncand++;
      memmove(cand + pos + 1, cand + pos,
              (size_t)(ncand - 1 - pos) * sizeof *cand);
      cand[pos] = r;
    }
    *nstarts = GRID_STARTS;
  }
  int have = 0;
  for (int k = 0; k < ncand; k++) {
    run r = cand[k];
    chin_run(c, &tight, &r);
    if ((rc = lbfgs_oom(ctx, r.ret))) return rc;
    if (!have || r.f < best->f) {
      *best = r;
      have = 1;
    }
  }
  if (!have || !isfinite(best->f))
    return scli_error(ctx, SCL_ENOCONV,
                      "Chinchilla fit: no start reached a finite objective");
  return SCL_OK;
}

/* Logs of the data and the scratch arrays: one block of 7n doubles. */
static int chin_prepare(scl_ctx *ctx, chin *c, const double *N,
                        const double *D, const double *L, const double *w,
                        size_t n, double delta, double **mem) {
  *mem = scli_malloc(ctx, 7 * n * sizeof(double));
  if (!*mem) return scli_oom(ctx);
  double *lN = *mem, *lD = lN + n, *lL = lD + n;
  for (size_t i = 0; i < n; i++) {
    lN[i] = log(N[i]);
    lD[i] = log(D[i]);
    lL[i] = log(L[i]);
  }
  c->n = n;
  c->lN = lN;
  c->lD = lD;
  c->lL = lL;
  c->w = w;
  c->delta = delta;
  c->u = lL + n;
  c->v = c->u + n;
  c->s = c->v + n;
  c->ls = c->s + n;
  return SCL_OK;
}

/* Optimiser variables -> E, A, B, alpha, beta. */
static void to_params(const double *x, double *p) {
  p[0] = exp(x[VE]);
  p[1] = exp(x[VA]);
  p[2] = exp(x[VB]);
  p[3] = x[VALPHA];
  p[4] = x[VBETA];
}

typedef struct {
  const double *N, *D, *L, *w;
  size_t n;
  double delta;
  const scl_fit_opts *o;
  double x[NV]; /* full-data solution: the refits' start */
} chin_boot;

static int chin_refit(void *ud, scl_ctx *ctx, const size_t *idx, size_t n,
                      double *params) {
  const chin_boot *B = ud;
  size_t bytes = 4 * n * sizeof(double);
  double *g = scli_malloc(ctx, bytes);
  if (!g) return scli_oom(ctx);
  double *N = g, *D = N + n, *L = D + n, *w = L + n;
  for (size_t i = 0; i < n; i++) {
    N[i] = B->N[idx[i]];
    D[i] = B->D[idx[i]];
    L[i] = B->L[idx[i]];
    w[i] = B->w ? B->w[idx[i]] : 1;
  }
  chin c;
  double *mem;
  int rc = chin_prepare(ctx, &c, N, D, L, B->w ? w : NULL, n, B->delta, &mem);
  if (rc) goto done;
  run best;
  int ns;
  rc = chin_solve(ctx, &c, B->x, B->o, &best, &ns);
  if (!rc) to_params(best.x, params);
  scli_free(ctx, mem, 7 * n * sizeof(double));
done:
  scli_free(ctx, g, bytes);
  return rc;
}

static int check_data(scl_ctx *ctx, const char *name, const double *v,
                      size_t n) {
  if (!v) return scli_error(ctx, SCL_EINVAL, "Chinchilla fit: %s is NULL", name);
  for (size_t i = 0; i < n; i++)
    if (!(v[i] > 0) || !isfinite(v[i]))
      return scli_error(ctx, SCL_EINVAL,
                        "%s = %g at point %zu: Chinchilla fit needs %s > 0",
                        name, v[i], i + 1, name);
  return SCL_OK;
}

int scl_fit_chinchilla(scl_ctx *ctx, const double *N, const double *D,
                       const double *loss, size_t n, const scl_fit_opts *opts,
                       scl_fit **out) {
  int rc;
  *out = NULL;
  if ((rc = check_data(ctx, "N", N, n)) || (rc = check_data(ctx, "D", D, n)) ||
      (rc = check_data(ctx, "loss", loss, n)))
    return rc;
  const double *w = opts ? opts->weights : NULL;
  size_t npos;
  if ((rc = scli_fit_check_weights(ctx, w, n, NV, &npos))) return rc;
  if (n < NV)
    return scli_error(ctx, SCL_EINVAL,
                      "Chinchilla fit needs at least %d points, got %zu", NV,
                      n);
  double delta = opts && opts->delta != 0 ? opts->delta : 1e-3;
  if (!(delta > 0) || !isfinite(delta))
    return scli_error(ctx, SCL_EINVAL,
                      "Chinchilla fit: Huber delta = %g: must be > 0", delta);
  if (opts && (opts->lower || opts->upper))
    return scli_error(ctx, SCL_EINVAL,
                      "Chinchilla fit: bounds are not supported");
  double x0[NV], *start = NULL;
  if (opts && opts->start) {
    const double *s = opts->start;
    for (int j = 0; j < NV; j++)
      if (!isfinite(s[j]) || (j < 3 && !(s[j] > 0)))
        return scli_error(ctx, SCL_EINVAL,
                          "Chinchilla fit: start %s = %g%s", chin_names[j],
                          s[j], j < 3 ? " (must be > 0)" : "");
    x0[VE] = log(s[0]);
    x0[VA] = log(s[1]);
    x0[VB] = log(s[2]);
    x0[VALPHA] = s[3];
    x0[VBETA] = s[4];
    start = x0;
  }
  chin c;
  double *mem;
  if ((rc = chin_prepare(ctx, &c, N, D, loss, w, n, delta, &mem))) return rc;
  scl_fit *f = NULL;
  run best;
  int nstarts = 0;
  if ((rc = chin_solve(ctx, &c, start, opts, &best, &nstarts))) goto fail;
  if ((rc = scli_fit_new(ctx, SCL_FIT_CHINCHILLA, NV, chin_names, NULL, 0,
                         &f)))
    goto fail;
  to_params(best.x, f->params);
  double tol = opts && opts->tol > 0 ? opts->tol : 1e-10;
  f->rss = best.f; /* the objective: sum of Huber losses */
  f->n = npos;
  f->iterations = best.iters;
  f->converged = chin_converged(&c, &best, tol);
  double al = best.x[VALPHA], be = best.x[VBETA];
  f->extra[0] = be / (al + be);
  f->extra[1] = al / (al + be);
  snprintf(f->reason, sizeof f->reason, "L-BFGS, best of %d start%s: %s",
           nstarts, nstarts == 1 ? "" : "s", lbfgs_words(best.ret));
  if (opts && opts->bootstrap) {
    chin_boot B = {N, D, loss, w, n, delta, opts, {0}};
    memcpy(B.x, best.x, sizeof B.x);
    if ((rc = scli_fit_bootstrap(ctx, f, n, opts, chin_refit, &B))) goto fail;
  }
  scli_free(ctx, mem, 7 * n * sizeof(double));
  *out = f;
  return SCL_OK;
fail:
  scl_fit_free(ctx, f);
  scli_free(ctx, mem, 7 * n * sizeof(double));
  return rc;
}
