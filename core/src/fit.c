/*
 * fit.c -- what every fit shares: options, the fit object, prediction,
 * crossovers and compute ratios, the percentile bootstrap, and the vector
 * exp/log kernels used by the fitting loops.
 *
 * The fitting methods themselves live in fit_lm.c (power law, saturating
 * law, general nonlinear least squares), fit_linear.c (linear and
 * polynomial least squares by Householder QR) and fit_chinchilla.c.
 */
#include "internal.h"

#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void scl_fit_opts_init(scl_fit_opts *o) {
  memset(o, 0, sizeof *o);
  o->method = SCL_METHOD_LOG;
}

/* ------------------------------------------------------------ fit object */

/*
 * A fit and everything it points to (arrays, generated parameter names)
 * is one allocation, so freeing cannot fail half-way and an allocation
 * failure has nothing to undo.  The block remembers its size for the
 * allocator's osize argument.
 */
typedef struct fit_block {
  scl_fit pub; /* first: a scl_fit * is a fit_block * */
  size_t bytes;
} fit_block;

int scli_fit_new(scl_ctx *ctx, scl_fit_kind kind, size_t np,
                 const char *const *names, const char *prefix, int first,
                 scl_fit **out) {
  char buf[32];
  size_t head = sizeof(fit_block);
  size_t arrays = 4 * np * sizeof(double);
  size_t ptrs = names ? 0 : np * sizeof(char *);
  size_t chars = 0;
  *out = NULL;
  if (np == 0 || np > ((size_t)1 << 20))
    return scli_error(ctx, SCL_EINVAL, "fit: %zu parameters", np);
  if (!names)
    for (size_t j = 0; j < np; j++)
      chars += (size_t)snprintf(buf, sizeof buf, "%s%zu", prefix,
                                j + (size_t)first) + 1;
  /* doubles first after the header keeps them aligned */
  size_t bytes = head + arrays + ptrs + chars;
  fit_block *b = scli_malloc(ctx, bytes);
  if (!b) return scli_oom(ctx);
  memset(b, 0, head);
  b->bytes = bytes;
  scl_fit *f = &b->pub;
  double *d = (double *)(b + 1);
  f->kind = kind;
  f->nparams = np;
  f->params = d;
  f->se = d + np;
  /* ci_lo/ci_hi stay NULL until a bootstrap fills the storage behind them */
  for (size_t j = 0; j < 4 * np; j++) d[j] = NAN;
  if (names) {
    f->names = names;
  } else {
    char **nm = (char **)(d + 4 * np);
    char *c = (char *)(nm + np);
    for (size_t j = 0; j < np; j++) {
      int k = snprintf(c, sizeof buf, "%s%zu", prefix, j + (size_t)first);
      nm[j] = c;
      c += k + 1;
    }
    f->names = (const char *const *)nm;
  }
  f->r2 = NAN;
  f->rss = NAN;
  for (int k = 0; k < 4; k++) f->extra[k] = NAN;
  *out = f;
  return SCL_OK;
}

const char *scl_fit_kind_name(scl_fit_kind k) {
  switch (k) {
  case SCL_FIT_POWERLAW: return "powerlaw";
  case SCL_FIT_SATURATING: return "saturating";
  case SCL_FIT_NLS: return "nls";
  case SCL_FIT_LINEAR: return "linear";
  case SCL_FIT_POLY: return "poly";
  case SCL_FIT_CHINCHILLA: return "chinchilla";
  }
  return "unknown";
}

void scl_fit_free(scl_ctx *ctx, scl_fit *f) {
  if (!f) return;
  fit_block *b = (fit_block *)f;
  scli_free(ctx, b, b->bytes);
}

/* The storage reserved for the interval bounds (see scli_fit_new). */
static double *ci_storage(scl_fit *f) { return f->params + 2 * f->nparams; }

/* ------------------------------------------------------------ validation */

int scli_fit_check_weights(scl_ctx *ctx, const double *w, size_t n,
                           size_t min_pos, size_t *npos) {
  size_t pos = 0;
  if (!w) {
    if (npos) *npos = n;
    return SCL_OK;
  }
  for (size_t i = 0; i < n; i++) {
    if (!isfinite(w[i]) || w[i] < 0)
      return scli_error(ctx, SCL_EINVAL,
                        "weight = %g at point %zu: weights must be finite and >= 0",
                        w[i], i + 1);
    pos += w[i] > 0;
  }
  if (pos < min_pos)
    return scli_error(ctx, SCL_EINVAL,
                      "only %zu observations have a positive weight; "
                      "this fit needs at least %zu", pos, min_pos);
  if (npos) *npos = pos;
  return SCL_OK;
}

int scli_fit_check_finite(scl_ctx *ctx, const char *name, const double *v,
                          size_t n) {
  for (size_t i = 0; i < n; i++)
    if (!isfinite(v[i]))
      return scli_error(ctx, SCL_EINVAL, "%s = %g at point %zu: values must be finite",
                        name, v[i], i + 1);
  return SCL_OK;
}

/* ------------------------------------------------------------ prediction */

static double poly_eval(const scl_fit *f, double x) {
  double s = 0;
  for (size_t j = f->nparams; j-- > 0;) s = s * x + f->params[j];
  return s;
}

double scl_fit_predict(const scl_fit *f, double x) {
  if (!f) return NAN;
  const double *p = f->params;
  switch (f->kind) {
  case SCL_FIT_POWERLAW: return p[0] * pow(x, p[1]);
  case SCL_FIT_SATURATING: return p[0] + p[1] * pow(x, p[2]);
  case SCL_FIT_POLY: return poly_eval(f, x);
  case SCL_FIT_LINEAR:
    /* one predictor only; extra[0] tells whether c0 is an intercept */
    if (f->extra[0] == 1 && f->nparams == 2) return p[0] + p[1] * x;
    if (f->extra[0] == 0 && f->nparams == 1) return p[0] * x;
    return NAN;
  default: return NAN;
  }
}

double scl_fit_predict2(const scl_fit *f, double N, double D) {
  if (!f || f->kind != SCL_FIT_CHINCHILLA) return NAN;
  const double *p = f->params;
  return p[0] + p[1] / pow(N, p[3]) + p[2] / pow(D, p[4]);
}

double scl_fit_predictn(const scl_fit *f, const double *x, size_t k) {
  if (!f) return NAN;
  if (f->kind == SCL_FIT_CHINCHILLA)
    return k == 2 ? scl_fit_predict2(f, x[0], x[1]) : NAN;
  if (f->kind != SCL_FIT_LINEAR) return k == 1 ? scl_fit_predict(f, x[0]) : NAN;
  int icpt = f->extra[0] == 1;
  if (f->nparams != k + (size_t)icpt) return NAN;
  double s = icpt ? f->params[0] : 0;
  for (size_t j = 0; j < k; j++) s += f->params[j + (size_t)icpt] * x[j];
  return s;
}

/* --------------------------------------------- crossovers and inversions */

/* Fits that scl_fit_predict can evaluate. */
static int one_predictor(const scl_fit *f) {
  switch (f->kind) {
  case SCL_FIT_POWERLAW:
  case SCL_FIT_SATURATING:
  case SCL_FIT_POLY: return 1;
  case SCL_FIT_LINEAR:
    return (f->extra[0] == 1 && f->nparams == 2) ||
           (f->extra[0] == 0 && f->nparams == 1);
  default: return 0;
  }
}

static const char *kind_prose(scl_fit_kind k) {
  switch (k) {
  case SCL_FIT_POWERLAW: return "power law";
  case SCL_FIT_SATURATING: return "saturating law";
  case SCL_FIT_NLS: return "nonlinear least-squares fit";
  case SCL_FIT_LINEAR: return "linear fit";
  case SCL_FIT_POLY: return "polynomial fit";
  case SCL_FIT_CHINCHILLA: return "Chinchilla fit";
  }
  return "fit";
}

static int check_law(scl_ctx *ctx, const scl_fit *f, const char *what) {
  if (!f) return scli_error(ctx, SCL_EINVAL, "%s: no fit given", what);
  if (!one_predictor(f))
    return scli_error(ctx, SCL_EINVAL,
                      "%s: a %s is not a law of one predictor x", what,
                      kind_prose(f->kind));
  for (size_t j = 0; j < f->nparams; j++)
    if (!isfinite(f->params[j]))
      return scli_error(ctx, SCL_EINVAL, "%s: parameter %s is %g", what,
                        f->names[j], f->params[j]);
  return SCL_OK;
}

/*
 * The search range for laws without a closed form: x from 1e-30 to 1e30
 * on a grid of 25 points per decade in log x.  Scaling laws live well
 * inside it (FLOPs, parameters and tokens are below 1e30).
 */
#define LOGX_LO (-30 * 2.302585092994046)
#define LOGX_HI (30 * 2.302585092994046)
#define LOGX_STEPS 1500

/* A function of u = ln x; *scale receives the size of the terms whose
 * difference it is, to tell a sign from rounding noise. */
typedef double (*logfn)(const void *ud, double u, double *scale);

static double value_of(logfn h, const void *ud, double u) {
  double scale;
  return h(ud, u, &scale);
}

/*
 * Brent's method on [a, b] where h(a) and h(b) have opposite signs (or one
 * is zero).  Used in log x: every law here is smooth there.
 */
static double brent(logfn h, const void *ud, double a, double b, double fa,
                    double fb) {
  double c = a, fc = fa, d = b - a, e = d;
  for (int it = 0; it < 200; it++) {
    if ((fb > 0) == (fc > 0)) {
      c = a;
      fc = fa;
      d = e = b - a;
    }
    if (fabs(fc) < fabs(fb)) {
      a = b; b = c; c = a;
      fa = fb; fb = fc; fc = fa;
    }
    double tol = 2 * DBL_EPSILON * fabs(b) + 1e-300;
    double m = 0.5 * (c - b);
    if (fabs(m) <= tol || fb == 0) return b;
    if (fabs(e) >= tol && fabs(fa) > fabs(fb)) {
      double s = fb / fa, p, q;
      if (a == c) {
        p = 2 * m * s;
        q = 1 - s;
      } else {
        double qq = fa / fc, r = fb / fc;
        p = s * (2 * m * qq * (qq - r) - (b - a) * (r - 1));
        q = (qq - 1) * (r - 1) * (s - 1);
      }
      if (p > 0) q = -q;
      else p = -p;
      if (2 * p < fmin(3 * m * q - fabs(tol * q), fabs(e * q))) {
        e = d;
        d = p / q;
      } else {
        d = m;
        e = m;
      }
    } else {
      d = m;
      e = m;
    }
    a = b;
    fa = fb;
    b += fabs(d) > tol ? d : (m > 0 ? tol : -tol);
    fb = value_of(h, ud, b);
  }
  return b;
}

/*
 * The first root of h(u) scanning u = ln x upwards over the grid, refined
 * by Brent.  Values within rounding noise of zero (|h| below 16 ulp of the
 * terms) have no trustworthy sign and are skipped: two laws that differ
 * by a constant 1 on top of 1e30 are not "meeting" there.  Returns 1 and
 * sets *u, or 0 when h never changes sign.
 */
static int first_root(logfn h, const void *ud, double *u) {
  double step = (LOGX_HI - LOGX_LO) / LOGX_STEPS;
  double u0 = 0, h0 = NAN;
  for (int k = 0; k <= LOGX_STEPS; k++) {
    double u1 = LOGX_LO + k * step, scale, h1 = h(ud, u1, &scale);
    if (!isfinite(h1) || fabs(h1) <= 16 * DBL_EPSILON * scale) continue;
    if (!isnan(h0) && (h0 > 0) != (h1 > 0)) {
      *u = brent(h, ud, u0, u1, h0, h1);
      return 1;
    }
    u0 = u1;
    h0 = h1;
  }
  return 0;
}

typedef struct {
  const scl_fit *f, *g;
  double y;
} pair;

static double diff_fg(const void *ud, double u, double *scale) {
  const pair *p = ud;
  double x = exp(u), a = scl_fit_predict(p->f, x), b = scl_fit_predict(p->g, x);
  *scale = fmax(fabs(a), fabs(b));
  return a - b;
}

static double diff_fy(const void *ud, double u, double *scale) {
  const pair *p = ud;
  double a = scl_fit_predict(p->f, exp(u));
  *scale = fmax(fabs(a), fabs(p->y));
  return a - p->y;
}

int scl_crossover(scl_ctx *ctx, const scl_fit *f, const scl_fit *g, double *x,
                  int *found) {
  int rc;
  *found = 0;
  *x = NAN;
  if ((rc = check_law(ctx, f, "crossover")) ||
      (rc = check_law(ctx, g, "crossover")))
    return rc;
  if (f->kind == SCL_FIT_POWERLAW && g->kind == SCL_FIT_POWERLAW) {
    /* a1 x^b1 = a2 x^b2  <=>  ln x = ln(a2/a1) / (b1 - b2) */
    double a1 = f->params[0], b1 = f->params[1];
    double a2 = g->params[0], b2 = g->params[1];
    if (fabs(b1 - b2) <= 4 * DBL_EPSILON * fmax(fabs(b1), fabs(b2)) ||
        a1 == 0 || a2 == 0 || (a1 > 0) != (a2 > 0))
      return SCL_OK; /* parallel (to rounding), or of opposite signs */
    double xc = exp(log(a2 / a1) / (b1 - b2));
    if (!(xc > 0) || !isfinite(xc)) return SCL_OK; /* beyond doubles */
    *x = xc;
    *found = 1;
    return SCL_OK;
  }
  pair p = {f, g, 0};
  double u;
  if (first_root(diff_fg, &p, &u)) {
    *x = exp(u);
    *found = 1;
  }
  return SCL_OK;
}

/*
 * x with law(x) = y: closed form for power and saturating laws, else the
 * first crossing of y on the log grid.  SCL_EINVAL when there is none.
 */
static int invert(scl_ctx *ctx, const scl_fit *f, double y, const char *which,
                  double *x) {
  const double *p = f->params;
  double base = NAN, b = NAN;
  if (f->kind == SCL_FIT_POWERLAW) {
    base = y / p[0];
    b = p[1];
  } else if (f->kind == SCL_FIT_SATURATING) {
    base = (y - p[0]) / p[1];
    b = p[2];
  }
  if (f->kind == SCL_FIT_POWERLAW || f->kind == SCL_FIT_SATURATING) {
    if (b != 0 && base > 0 && isfinite(base)) {
      *x = exp(log(base) / b);
      if (*x > 0 && isfinite(*x)) return SCL_OK;
    }
  } else {
    pair pr = {f, NULL, y};
    double u;
    if (first_root(diff_fy, &pr, &u)) {
      *x = exp(u);
      return SCL_OK;
    }
  }
  return scli_error(ctx, SCL_EINVAL,
                    "compute_ratio: law %s (%s) never reaches y = %g for x > 0",
                    which, kind_prose(f->kind), y);
}

int scl_compute_ratio(scl_ctx *ctx, const scl_fit *f, const scl_fit *g,
                      double y, double *ratio) {
  int rc;
  double xf, xg;
  *ratio = NAN;
  if ((rc = check_law(ctx, f, "compute_ratio")) ||
      (rc = check_law(ctx, g, "compute_ratio")))
    return rc;
  if (!isfinite(y))
    return scli_error(ctx, SCL_EINVAL, "compute_ratio: y = %g", y);
  if ((rc = invert(ctx, f, y, "f", &xf)) || (rc = invert(ctx, g, y, "g", &xg)))
    return rc;
  *ratio = xf / xg;
  return SCL_OK;
}

/* -------------------------------------------------------------- bootstrap */

/*
 * xoshiro256** seeded through splitmix64: small, fast, and the same stream
 * on every platform, so a seed reproduces an interval exactly.
 */
typedef struct {
  uint64_t s[4];
} rng;

static uint64_t splitmix64(uint64_t *x) {
  uint64_t z = (*x += 0x9e3779b97f4a7c15u);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
  return z ^ (z >> 31);
}

static uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

static void rng_seed(rng *r, uint64_t seed) {
  for (int i = 0; i < 4; i++) r->s[i] = splitmix64(&seed);
}

static uint64_t rng_next(rng *r) {
  uint64_t *s = r->s;
  uint64_t out = rotl(s[1] * 5, 7) * 9, t = s[1] << 17;
  s[2] ^= s[0];
  s[3] ^= s[1];
  s[1] ^= s[2];
  s[0] ^= s[3];
  s[2] ^= t;
  s[3] = rotl(s[3], 45);
  return out;
}

/* Uniform in [0, n) without modulo bias (rejection of the short tail). */
static size_t rng_below(rng *r, size_t n) {
  uint64_t m = (uint64_t)n, lim = UINT64_MAX - UINT64_MAX % m, v;
  do v = rng_next(r);
  while (v >= lim);
  return (size_t)(v % m);
}

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

/* Sample quantile q of sorted v[0..m) by linear interpolation (type 7). */
static double quantile(const double *v, size_t m, double q) {
  double h = (double)(m - 1) * q;
  size_t lo = (size_t)floor(h);
  if (lo + 1 >= m) return v[m - 1];
  return v[lo] + (h - (double)lo) * (v[lo + 1] - v[lo]);
}

/*
 * Percentile bootstrap: B resamples of the n observations drawn with
 * replacement, each refitted by the caller's refit(); the interval of each
 * parameter is the (1-level)/2 and (1+level)/2 quantiles of its refits.
 * A resample the method cannot fit (too few distinct x, no convergence)
 * is dropped and counted in the fit's reason; any other error (out of
 * memory, a failing callback) ends the bootstrap with that error.
 */
int scli_fit_bootstrap(scl_ctx *ctx, scl_fit *f, size_t n,
                       const scl_fit_opts *o, scli_refit_fn refit, void *ud) {
  size_t B = o->bootstrap, np = f->nparams;
  double level = o->level == 0 ? 0.95 : o->level;
  if (!(level > 0 && level < 1))
    return scli_error(ctx, SCL_EINVAL,
                      "bootstrap level = %g: must be between 0 and 1", level);
  if (B > ((size_t)1 << 24) || n > SIZE_MAX / sizeof(size_t) / 2)
    return scli_error(ctx, SCL_EINVAL, "bootstrap = %zu resamples: too many",
                      B);
  size_t isz = n * sizeof(size_t), esz = B * np * sizeof(double);
  size_t *idx = scli_malloc(ctx, isz);
  double *est = scli_malloc(ctx, esz);
  double *col = scli_malloc(ctx, B * sizeof(double));
  double *p = scli_malloc(ctx, np * sizeof(double));
  int rc = SCL_OK;
  if (!idx || !est || !col || !p) {
    rc = scli_oom(ctx);
    goto done;
  }
  rng r;
  rng_seed(&r, o->seed);
  size_t good = 0;
  for (size_t b = 0; b < B; b++) {
    for (size_t i = 0; i < n; i++) idx[i] = rng_below(&r, n);
    rc = refit(ud, ctx, idx, n, p);
    if (rc == SCL_EINVAL || rc == SCL_ENOCONV) {
      rc = SCL_OK;
      scl_ctx_clear(ctx);
      continue;
    }
    if (rc) goto done;
    int finite = 1;
    for (size_t j = 0; j < np; j++) finite &= isfinite(p[j]) != 0;
    if (!finite) continue;
    memcpy(est + good * np, p, np * sizeof(double));
    good++;
  }
  double *lo = ci_storage(f), *hi = lo + np;
  for (size_t j = 0; j < np; j++) {
    if (good < 2) {
      lo[j] = hi[j] = NAN;
      continue;
    }
    for (size_t b = 0; b < good; b++) col[b] = est[b * np + j];
    qsort(col, good, sizeof(double), cmp_double);
    lo[j] = quantile(col, good, (1 - level) / 2);
    hi[j] = quantile(col, good, (1 + level) / 2);
  }
  f->ci_lo = lo;
  f->ci_hi = hi;
  if (good < B) {
    size_t len = strlen(f->reason);
    if (len < sizeof f->reason - 1)
      snprintf(f->reason + len, sizeof f->reason - len,
               "; bootstrap: %zu of %zu resamples fitted", good, B);
  }
done:
  scli_free(ctx, idx, isz);
  scli_free(ctx, est, esz);
  scli_free(ctx, col, B * sizeof(double));
  scli_free(ctx, p, np * sizeof(double));
  return rc;
}

/* ------------------------------------------------------ vector kernels */

/*
 * exp and log over whole vectors with GCC/Clang vector extensions, four
 * lanes at a time.  The fitting loops spend most of their time here, and
 * scalar libm calls cannot be vectorised at -O2.  The kernels are written
 * once and compiled twice: for the baseline (SSE2 on x86-64: two 128-bit
 * halves) and, on x86-64, for AVX2 (one 256-bit op), chosen at run time.
 * Both compilations do the same operations in the same order, so they
 * give the same bits.  Accuracy about 2 ulp:
 *   exp: x = k ln2 + r, |r| <= ln2/2, exp(r) by its degree-13 Taylor
 *        polynomial (Estrin's scheme), times 2^k built in the exponent bits.
 *   log: x = 2^e m, m in [sqrt(1/2), sqrt(2)), log m = 2 atanh(s) with
 *        s = (m-1)/(m+1), the atanh series to s^21.
 * The inner kernels need |x| <= 708 (exp) and normal x > 0 (log); the
 * array functions below handle everything else through libm.
 */
#if defined(__GNUC__) || defined(__clang__)
/* 32-byte vectors pass by value only between always-inlined functions */
#if defined(__clang__)
#pragma clang diagnostic ignored "-Wunknown-warning-option"
#pragma clang diagnostic ignored "-Wpsabi"
#elif defined(__GNUC__)
#pragma GCC diagnostic ignored "-Wpsabi"
#endif
typedef double v4d __attribute__((vector_size(32)));
typedef int64_t v4i __attribute__((vector_size(32)));
typedef uint64_t v4u __attribute__((vector_size(32)));
#define LN2_HI 0x1.62e42fefa3800p-1
#define LN2_LO 0x1.ef35793c7673p-45
#define INLINE static inline __attribute__((always_inline))

INLINE v4d vexp4(v4d x) {
  const double shift = 0x1.8p52;
  v4d kd = x * 1.4426950408889634 + shift;
  v4u kb = (v4u)kd;
  kd -= shift;
  v4d r = x - kd * LN2_HI - kd * LN2_LO;
  v4d r2 = r * r, r4 = r2 * r2, r8 = r4 * r4;
  v4d p01 = 1.0 + r, p23 = 0.5 + r * (1.0 / 6);
  v4d p45 = 1.0 / 24 + r * (1.0 / 120), p67 = 1.0 / 720 + r * (1.0 / 5040);
  v4d p89 = 1.0 / 40320 + r * (1.0 / 362880);
  v4d pab = 1.0 / 3628800 + r * (1.0 / 39916800);
  v4d pcd = 1.0 / 479001600 + r * (1.0 / 6227020800.0);
  v4d q0 = p01 + r2 * p23, q1 = p45 + r2 * p67, q2 = p89 + r2 * pab;
  v4d p = q0 + r4 * q1 + r8 * (q2 + r4 * pcd);
  v4u scale = (kb + 1023) << 52;
  return p * (v4d)scale;
}

INLINE v4d vlog4(v4d x) {
  v4u b = (v4u)x;
  v4i e = (v4i)(b - 0x3fe6a09e667f3bcdu) >> 52;
  v4d m = (v4d)(b - ((v4u)e << 52));
  v4d f = m - 1.0, s = f / (2.0 + f), z = s * s, z2 = z * z, z4 = z2 * z2;
  v4d a0 = 1.0 / 3 + z * (1.0 / 5), a1 = 1.0 / 7 + z * (1.0 / 9);
  v4d a2 = 1.0 / 11 + z * (1.0 / 13), a3 = 1.0 / 15 + z * (1.0 / 17);
  v4d a4 = 1.0 / 19 + z * (1.0 / 21);
  v4d p = (a0 + z2 * a1) + z4 * ((a2 + z2 * a3) + z4 * a4);
  v4d hf = 0.5 * f * f;
  v4d lm = f - hf + s * (hf + 2.0 * z * p);
  v4d ed = __builtin_convertvector(e, v4d);
  return ed * LN2_HI + (lm + ed * LN2_LO);
}

/*
 * The array loops.  Lanes whose argument is outside the kernel's range
 * (or NaN) are redone with libm afterwards, as is the tail of fewer than
 * four elements, so the results are exp/log's for every input.
 */
INLINE void exp_loop(const double *x, double b, double *y, size_t n) {
  v4d hi = {708, 708, 708, 708}, lo = -hi, bv = {b, b, b, b};
  v4i odd = {0, 0, 0, 0};
  size_t i = 0;
  for (; i + 4 <= n; i += 4) {
    v4d v;
    memcpy(&v, x + i, sizeof v);
    v *= bv;
    v4i in = (v >= lo) & (v <= hi);
    odd |= ~in;
    v = (v4d)(((v4i)v & in) | ((v4i)hi & ~in));
    v = vexp4(v);
    memcpy(y + i, &v, sizeof v);
  }
  int any = (odd[0] | odd[1] | odd[2] | odd[3]) != 0;
  for (size_t k = any ? 0 : i; k < n; k++) {
    double t = b * x[k];
    if (k >= i || !(t >= -708 && t <= 708)) y[k] = exp(t);
  }
}

INLINE int log_loop(const double *x, double *y, size_t n) {
  v4d lo = {DBL_MIN, DBL_MIN, DBL_MIN, DBL_MIN};
  v4d hi = {DBL_MAX, DBL_MAX, DBL_MAX, DBL_MAX}, one = {1, 1, 1, 1};
  v4i odd = {0, 0, 0, 0};
  size_t i = 0;
  for (; i + 4 <= n; i += 4) {
    v4d v;
    memcpy(&v, x + i, sizeof v);
    v4i in = (v >= lo) & (v <= hi);
    odd |= ~in;
    v = (v4d)(((v4i)v & in) | ((v4i)one & ~in));
    v = vlog4(v);
    memcpy(y + i, &v, sizeof v);
  }
  int any = (odd[0] | odd[1] | odd[2] | odd[3]) != 0;
  for (size_t k = any ? 0 : i; k < n; k++)
    if (k >= i || !(x[k] >= DBL_MIN && x[k] <= DBL_MAX)) {
      any |= !(x[k] >= DBL_MIN && x[k] <= DBL_MAX);
      y[k] = log(x[k]);
    }
  return any;
}

static void exp_base(const double *x, double b, double *y, size_t n) {
  exp_loop(x, b, y, n);
}
static int log_base(const double *x, double *y, size_t n) {
  return log_loop(x, y, n);
}

#if defined(__x86_64__) || defined(__i386__)
__attribute__((target("avx2"))) static void exp_avx2(const double *x,
                                                      double b, double *y,
                                                      size_t n) {
  exp_loop(x, b, y, n);
}
__attribute__((target("avx2"))) static int log_avx2(const double *x,
                                                     double *y, size_t n) {
  return log_loop(x, y, n);
}
static int have_avx2(void) { return __builtin_cpu_supports("avx2"); }
#else
#define exp_avx2 exp_base
#define log_avx2 log_base
static int have_avx2(void) { return 0; }
#endif

void scli_vexp(const double *x, double *y, size_t n) {
  (have_avx2() ? exp_avx2 : exp_base)(x, 1, y, n);
}

void scli_vexp_scaled(const double *u, double b, double *y, size_t n) {
  (have_avx2() ? exp_avx2 : exp_base)(u, b, y, n);
}

int scli_vlog(const double *x, double *y, size_t n) {
  return (have_avx2() ? log_avx2 : log_base)(x, y, n);
}
#else
void scli_vexp(const double *x, double *y, size_t n) {
  for (size_t i = 0; i < n; i++) y[i] = exp(x[i]);
}
void scli_vexp_scaled(const double *u, double b, double *y, size_t n) {
  for (size_t i = 0; i < n; i++) y[i] = exp(b * u[i]);
}
int scli_vlog(const double *x, double *y, size_t n) {
  int odd = 0;
  for (size_t i = 0; i < n; i++) {
    odd |= !(x[i] >= DBL_MIN && x[i] <= DBL_MAX);
    y[i] = log(x[i]);
  }
  return odd;
}
#endif
