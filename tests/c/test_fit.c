/*
 * test_fit.c -- the fits on data with known answers: seeded synthetic
 * laws, the MoBA laws, crossovers and compute ratios, bootstrap intervals,
 * degenerate inputs, the Chinchilla fit, and allocation failure at every
 * allocation of every entry point.
 */
#include "check.h"
#include "internal.h" /* the vector kernels, tested against libm */
#include "scalelua.h"
#include "testalloc.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* ------------------------------------------------------------- helpers */

/* A small seeded generator for the test data (independent of the one in
 * the library). */
static uint64_t rs = 88172645463325252u;
static double urand(void) {
  rs ^= rs << 13;
  rs ^= rs >> 7;
  rs ^= rs << 17;
  return (double)(rs >> 11) / 9007199254740992.0;
}
static double nrand(void) { /* Box-Muller */
  double u = urand(), v = urand();
  return sqrt(-2 * log(u + 1e-300)) * cos(6.283185307179586 * v);
}

static int has(const char *s, const char *sub) { return strstr(s, sub) != NULL; }

#if defined(__has_include)
#if __has_include(<valgrind/valgrind.h>)
#include <valgrind/valgrind.h>
#endif
#endif

#if defined(__has_feature)
#if __has_feature(address_sanitizer)
#define SCL_TEST_ASAN 1
#endif
#endif

static int timing_applies(void) {
#if defined(__SANITIZE_ADDRESS__) || defined(SCL_TEST_ASAN) ||                 \
    !defined(__OPTIMIZE__)
  return 0;
#elif defined(RUNNING_ON_VALGRIND)
  return !RUNNING_ON_VALGRIND;
#else
  return 1;
#endif
}

static double cpu_seconds(void) {
  return (double)clock() / CLOCKS_PER_SEC;
}

/* ----------------------------------------------------------- power law */

static void test_powerlaw_moba(scl_ctx *ctx) {
  /* MoBA's laws, sampled exactly over C in [0.05, 20] */
  double C[40], y1[40], y2[40];
  for (int i = 0; i < 40; i++) {
    C[i] = 0.05 * pow(400.0, i / 39.0);
    y1[i] = 1.546 * pow(C[i], -0.108);
    y2[i] = 1.464 * pow(C[i], -0.097);
  }
  scl_fit_opts o;
  scl_fit_opts_init(&o);
  CHECK(o.method == SCL_METHOD_LOG && o.weights == NULL && o.bootstrap == 0,
        "opts_init defaults");
  scl_fit *f = NULL, *g = NULL, *h = NULL;
  CHECK(scl_fit_powerlaw(ctx, C, y1, 40, &o, &f) == SCL_OK, "%s",
        scl_ctx_errmsg(ctx));
  CHECK(scl_fit_powerlaw(ctx, C, y2, 40, NULL, &g) == SCL_OK, "%s",
        scl_ctx_errmsg(ctx));
  CHECK_NEAR(f->params[0], 1.546, 1e-4);
  CHECK_NEAR(f->params[1], -0.108, 1e-4);
  CHECK_NEAR(g->params[0], 1.464, 1e-4);
  CHECK_NEAR(g->params[1], -0.097, 1e-4);
  CHECK(f->rss < 1e-25 && f->r2 > 1 - 1e-12, "exact data: rss %g r2 %.17g",
        f->rss, f->r2);
  CHECK(f->se[1] < 1e-10, "exact data: se(b) %g", f->se[1]);
  CHECK(f->kind == SCL_FIT_POWERLAW && f->nparams == 2 && f->n == 40 &&
            strcmp(f->names[0], "a") == 0 && strcmp(f->names[1], "b") == 0,
        "fit shape");
  CHECK(f->ci_lo == NULL && f->ci_hi == NULL, "no bootstrap, no ci");
  CHECK(f->converged == 1 && has(f->reason, "log"), "reason '%s'", f->reason);
  CHECK_NEAR(scl_fit_predict(f, 2.0), 1.546 * pow(2.0, -0.108), 1e-4);
  /* the nonlinear method from the log fit: the same exact answer */
  o.method = SCL_METHOD_NLS;
  CHECK(scl_fit_powerlaw(ctx, C, y1, 40, &o, &h) == SCL_OK, "%s",
        scl_ctx_errmsg(ctx));
  CHECK_NEAR(h->params[0], 1.546, 1e-6);
  CHECK_NEAR(h->params[1], -0.108, 1e-6);
  CHECK(h->converged == 1 && h->iterations >= 0, "nls converged: %s",
        h->reason);
  /* crossover of the two laws: ln x = ln(a2/a1) / (b1 - b2) */
  double x;
  int found;
  CHECK(scl_crossover(ctx, f, g, &x, &found) == SCL_OK && found, "%s",
        scl_ctx_errmsg(ctx));
  CHECK(fabs(x - 141.8) < 0.1, "MoBA crossover %.4f, want ~141.8", x);
  CHECK_NEAR(scl_fit_predict(f, x), scl_fit_predict(g, x), 1e-12);
  /* compute ratio: x_f(y) / x_g(y) in closed form */
  double r, want = pow(1.9 / f->params[0], 1 / f->params[1]) /
                   pow(1.9 / g->params[0], 1 / g->params[1]);
  CHECK(scl_compute_ratio(ctx, f, g, 1.9, &r) == SCL_OK, "%s",
        scl_ctx_errmsg(ctx));
  CHECK_NEAR(r, want, 1e-12);
  /* at the crossover both laws need the same compute */
  CHECK(scl_compute_ratio(ctx, f, g, scl_fit_predict(f, x), &r) == SCL_OK &&
            fabs(r - 1) < 1e-9,
        "ratio at the crossover %.17g", r);
  /* a power law with a > 0 never reaches y <= 0 */
  CHECK(scl_compute_ratio(ctx, f, g, -1, &r) == SCL_EINVAL &&
            has(scl_ctx_errmsg(ctx), "never reaches"),
        "unreachable y: %s", scl_ctx_errmsg(ctx));
  /* parallel laws never meet */
  scl_fit *p = NULL;
  double y3[40];
  for (int i = 0; i < 40; i++) y3[i] = 2.0 * pow(C[i], -0.108);
  CHECK(scl_fit_powerlaw(ctx, C, y3, 40, NULL, &p) == SCL_OK, "fit");
  p->params[1] = f->params[1];
  CHECK(scl_crossover(ctx, f, p, &x, &found) == SCL_OK && !found,
        "parallel laws: found %d", found);
  scl_fit_free(ctx, p);
  scl_fit_free(ctx, f);
  scl_fit_free(ctx, g);
  scl_fit_free(ctx, h);
}

static void test_powerlaw_noise(scl_ctx *ctx) {
  /* y = 3 x^-0.3 exp(0.02 eps): the log fit recovers a, b within noise */
  enum { N = 200 };
  double x[N], y[N];
  for (int i = 0; i < N; i++) {
    x[i] = pow(10, -1 + 4.0 * i / (N - 1));
    y[i] = 3 * pow(x[i], -0.3) * exp(0.02 * nrand());
  }
  scl_fit *f = NULL, *g = NULL;
  CHECK(scl_fit_powerlaw(ctx, x, y, N, NULL, &f) == SCL_OK, "%s",
        scl_ctx_errmsg(ctx));
  CHECK(fabs(f->params[1] + 0.3) < 4 * f->se[1] && f->se[1] < 0.002,
        "b = %g +- %g", f->params[1], f->se[1]);
  CHECK(fabs(f->params[0] - 3) < 4 * f->se[0] && f->se[0] < 0.02,
        "a = %g +- %g", f->params[0], f->se[0]);
  /* residual sd in log space is about the noise sd */
  double sd = sqrt(f->rss / (N - 2));
  CHECK(sd > 0.016 && sd < 0.024, "log residual sd %g", sd);
  CHECK(f->r2 > 0.99 && f->r2 < 1, "r2 %g", f->r2);
  scl_fit_opts o;
  scl_fit_opts_init(&o);
  o.method = SCL_METHOD_NLS;
  CHECK(scl_fit_powerlaw(ctx, x, y, N, &o, &g) == SCL_OK, "%s",
        scl_ctx_errmsg(ctx));
  CHECK(g->converged && fabs(g->params[1] + 0.3) < 4 * g->se[1],
        "nls b = %g +- %g (%s)", g->params[1], g->se[1], g->reason);
  /* linear-space rss is at most the log fit's, evaluated in linear space */
  double rss_log = 0;
  for (int i = 0; i < N; i++) {
    double d = y[i] - scl_fit_predict(f, x[i]);
    rss_log += d * d;
  }
  CHECK(g->rss <= rss_log * (1 + 1e-12), "nls rss %g > log fit's %g", g->rss,
        rss_log);
  /* weights: weight 2 on a point equals duplicating it */
  double w[N + 1], x2[N + 1], y2[N + 1];
  for (int i = 0; i < N; i++) {
    w[i] = i == 7 ? 2 : 1;
    x2[i] = x[i];
    y2[i] = y[i];
  }
  x2[N] = x[7];
  y2[N] = y[7];
  scl_fit *fw = NULL, *fd = NULL;
  scl_fit_opts_init(&o);
  o.weights = w;
  CHECK(scl_fit_powerlaw(ctx, x, y, N, &o, &fw) == SCL_OK, "weights");
  CHECK(scl_fit_powerlaw(ctx, x2, y2, N + 1, NULL, &fd) == SCL_OK, "dup");
  CHECK_NEAR(fw->params[0], fd->params[0], 1e-12);
  CHECK_NEAR(fw->params[1], fd->params[1], 1e-12);
  scl_fit_free(ctx, fw);
  scl_fit_free(ctx, fd);
  scl_fit_free(ctx, f);
  scl_fit_free(ctx, g);
}

static void test_powerlaw_errors(scl_ctx *ctx) {
  double x[5] = {1, 2, 3, -1, 5}, y[5] = {1, 2, 3, 4, 5};
  scl_fit *f = (scl_fit *)1;
  CHECK(scl_fit_powerlaw(ctx, x, y, 5, NULL, &f) == SCL_EINVAL && f == NULL,
        "x <= 0 rejected");
  CHECK(strcmp(scl_ctx_errmsg(ctx), "x = -1 at point 4: power law needs x > 0") == 0,
        "message '%s'", scl_ctx_errmsg(ctx));
  x[3] = 4;
  y[1] = NAN;
  CHECK(scl_fit_powerlaw(ctx, x, y, 5, NULL, &f) == SCL_EINVAL &&
            has(scl_ctx_errmsg(ctx), "y = nan at point 2"),
        "NaN y: '%s'", scl_ctx_errmsg(ctx));
  y[1] = 0;
  CHECK(scl_fit_powerlaw(ctx, x, y, 5, NULL, &f) == SCL_EINVAL &&
            has(scl_ctx_errmsg(ctx), "y = 0 at point 2: power law needs y > 0"),
        "zero y: '%s'", scl_ctx_errmsg(ctx));
  y[1] = 2;
  CHECK(scl_fit_powerlaw(ctx, x, y, 1, NULL, &f) == SCL_EINVAL &&
            has(scl_ctx_errmsg(ctx), "at least 2 points"),
        "one point: '%s'", scl_ctx_errmsg(ctx));
  double xs[4] = {2, 2, 2, 2};
  CHECK(scl_fit_powerlaw(ctx, xs, y, 4, NULL, &f) == SCL_EINVAL &&
            has(scl_ctx_errmsg(ctx), "all x are equal"),
        "equal x: '%s'", scl_ctx_errmsg(ctx));
  scl_fit_opts o;
  scl_fit_opts_init(&o);
  double w[5] = {1, 1, -1, 1, 1};
  o.weights = w;
  CHECK(scl_fit_powerlaw(ctx, x, y, 5, &o, &f) == SCL_EINVAL &&
            has(scl_ctx_errmsg(ctx), "weight = -1 at point 3"),
        "negative weight: '%s'", scl_ctx_errmsg(ctx));
  w[2] = 0;
  w[0] = w[1] = w[3] = 0;
  CHECK(scl_fit_powerlaw(ctx, x, y, 5, &o, &f) == SCL_EINVAL &&
            has(scl_ctx_errmsg(ctx), "positive weight"),
        "one positive weight: '%s'", scl_ctx_errmsg(ctx));
  o.weights = NULL;
  o.method = (scl_fit_method)7;
  CHECK(scl_fit_powerlaw(ctx, x, y, 5, &o, &f) == SCL_EINVAL, "bad method");
  /* NLS, LINEAR with many columns, CHINCHILLA are not laws of one x */
  scl_fit *lin = NULL, *pl = NULL;
  const double *cols[2] = {x, y};
  CHECK(scl_fit_linear(ctx, cols, 2, y, 5, 1, NULL, &lin) == SCL_EINVAL ||
            lin != NULL,
        "linear");
  CHECK(scl_fit_powerlaw(ctx, x, y, 5, NULL, &pl) == SCL_OK, "pl");
  if (lin) {
    double xc;
    int found;
    CHECK(scl_crossover(ctx, pl, lin, &xc, &found) == SCL_EINVAL &&
              has(scl_ctx_errmsg(ctx), "not a law of one predictor"),
          "crossover with a 2-column linear fit: '%s'", scl_ctx_errmsg(ctx));
  }
  scl_fit_free(ctx, lin);
  scl_fit_free(ctx, pl);
  scl_fit_free(ctx, NULL); /* no-op */
}

/* -------------------------------------------------------- saturating */

static void test_saturating(scl_ctx *ctx) {
  enum { N = 60 };
  double x[N], y[N], yn[N];
  for (int i = 0; i < N; i++) {
    x[i] = pow(10, 7 + 5.0 * i / (N - 1));
    y[i] = 1.69 + 480 * pow(x[i], -0.31);
    yn[i] = y[i] * (1 + 0.002 * nrand());
  }
  scl_fit *f = NULL, *g = NULL, *b = NULL;
  CHECK(scl_fit_saturating(ctx, x, y, N, NULL, &f) == SCL_OK, "%s",
        scl_ctx_errmsg(ctx));
  CHECK_NEAR(f->params[0], 1.69, 1e-6);
  CHECK_NEAR(f->params[1], 480, 1e-5);
  CHECK_NEAR(f->params[2], -0.31, 1e-6);
  CHECK(f->converged && f->r2 > 1 - 1e-12, "exact saturating: %s r2 %g",
        f->reason, f->r2);
  CHECK(strcmp(f->names[0], "E") == 0, "names");
  CHECK_NEAR(scl_fit_predict(f, 1e9), 1.69 + 480 * pow(1e9, -0.31), 1e-6);
  CHECK(scl_fit_saturating(ctx, x, yn, N, NULL, &g) == SCL_OK, "%s",
        scl_ctx_errmsg(ctx));
  CHECK(g->converged && fabs(g->params[0] - 1.69) < 4 * g->se[0] &&
            fabs(g->params[2] + 0.31) < 4 * g->se[2],
        "noisy: E %g +- %g, b %g +- %g", g->params[0], g->se[0], g->params[2],
        g->se[2]);
  /* an upper bound on E below the truth holds E at or under it */
  scl_fit_opts o;
  scl_fit_opts_init(&o);
  double lo[3] = {0, NAN, -INFINITY}, hi[3] = {1.5, NAN, 0};
  o.lower = lo;
  o.upper = hi;
  CHECK(scl_fit_saturating(ctx, x, y, N, &o, &b) == SCL_OK, "%s",
        scl_ctx_errmsg(ctx));
  CHECK(b->params[0] >= 0 && b->params[0] <= 1.5 + 1e-12 &&
            b->params[0] > 1.4 && b->params[2] <= 0,
        "bounded E %.10g b %g", b->params[0], b->params[2]);
  CHECK(b->rss > f->rss, "a binding bound costs rss");
  /* the crossover of a saturating law and a power law, by root finding */
  scl_fit *pl = NULL;
  double yp[N];
  /* 1000 x^-0.4 is above the saturating law for small x, below later */
  for (int i = 0; i < N; i++) yp[i] = 1000 * pow(x[i], -0.4);
  CHECK(scl_fit_powerlaw(ctx, x, yp, N, NULL, &pl) == SCL_OK, "pl");
  double xc;
  int found;
  CHECK(scl_crossover(ctx, f, pl, &xc, &found) == SCL_OK && found, "%s",
        scl_ctx_errmsg(ctx));
  CHECK(found && fabs(scl_fit_predict(f, xc) - scl_fit_predict(pl, xc)) <
                     1e-9 * scl_fit_predict(pl, xc),
        "saturating/power crossover at %g: %g vs %g", xc,
        scl_fit_predict(f, xc), scl_fit_predict(pl, xc));
  /* compute ratio with a saturating law: x_f(2.0) in closed form */
  double r, xf = pow((2.0 - f->params[0]) / f->params[1], 1 / f->params[2]);
  double xg = pow(2.0 / pl->params[0], 1 / pl->params[1]);
  CHECK(scl_compute_ratio(ctx, f, pl, 2.0, &r) == SCL_OK, "%s",
        scl_ctx_errmsg(ctx));
  CHECK_NEAR(r, xf / xg, 1e-10);
  /* below the floor E the saturating law never gets */
  CHECK(scl_compute_ratio(ctx, f, pl, 1.5, &r) == SCL_EINVAL &&
            has(scl_ctx_errmsg(ctx), "law f (saturating law) never reaches"),
        "below E: '%s'", scl_ctx_errmsg(ctx));
  /* degenerate: constant y, fewer points than parameters, x <= 0, bad
   * bounds */
  double c[5] = {2, 2, 2, 2, 2};
  scl_fit *d = NULL;
  CHECK(scl_fit_saturating(ctx, x, c, 5, NULL, &d) == SCL_EINVAL &&
            has(scl_ctx_errmsg(ctx), "all y are equal"),
        "constant y: '%s'", scl_ctx_errmsg(ctx));
  CHECK(scl_fit_saturating(ctx, x, y, 2, NULL, &d) == SCL_EINVAL &&
            has(scl_ctx_errmsg(ctx), "at least 3 points"),
        "two points: '%s'", scl_ctx_errmsg(ctx));
  double xn[4] = {1, 0, 2, 3};
  CHECK(scl_fit_saturating(ctx, xn, y, 4, NULL, &d) == SCL_EINVAL &&
            has(scl_ctx_errmsg(ctx), "x = 0 at point 2"),
        "x = 0: '%s'", scl_ctx_errmsg(ctx));
  double badlo[3] = {2, NAN, NAN}, badhi[3] = {1, NAN, NAN};
  o.lower = badlo;
  o.upper = badhi;
  CHECK(scl_fit_saturating(ctx, x, y, N, &o, &d) == SCL_EINVAL &&
            has(scl_ctx_errmsg(ctx), "bounds of parameter E"),
        "crossed bounds: '%s'", scl_ctx_errmsg(ctx));
  CHECK(d == NULL, "no fit on error");
  scl_fit_free(ctx, pl);
  scl_fit_free(ctx, b);
  scl_fit_free(ctx, f);
  scl_fit_free(ctx, g);
}

/* ------------------------------------------------------------------ NLS */

/* y = p1 exp(-p2 x) + p3; with a call counter and failure switch */
typedef struct {
  int calls, fail_on, code;
} model_ud;

static int decay(void *ud, scl_ctx *ctx, const double *p, size_t np,
                 const double *X, size_t n, size_t k, double *yhat) {
  model_ud *m = ud;
  (void)np;
  (void)k;
  if (m && ++m->calls == m->fail_on) {
    if (m->code == SCL_ECALLBACK)
      return scl_ctx_error(ctx, SCL_ECALLBACK, "boom at call %d", m->calls);
    return m->code; /* no message: the library supplies one */
  }
  for (size_t i = 0; i < n; i++) yhat[i] = p[0] * exp(-p[1] * X[i]) + p[2];
  return SCL_OK;
}

static int decay_jac(void *ud, scl_ctx *ctx, const double *p, size_t np,
                     const double *X, size_t n, size_t k, double *J) {
  (void)ud;
  (void)ctx;
  (void)k;
  for (size_t i = 0; i < n; i++) {
    double e = exp(-p[1] * X[i]);
    J[i * np] = e;
    J[i * np + 1] = -p[0] * X[i] * e;
    J[i * np + 2] = 1;
  }
  return SCL_OK;
}

/* two predictors: y = p1 x1 + p2 x2^2 */
static int two(void *ud, scl_ctx *ctx, const double *p, size_t np,
               const double *X, size_t n, size_t k, double *yhat) {
  (void)ud;
  (void)ctx;
  (void)np;
  for (size_t i = 0; i < n; i++)
    yhat[i] = p[0] * X[i * k] + p[1] * X[i * k + 1] * X[i * k + 1];
  return SCL_OK;
}

static void test_nls(scl_ctx *ctx) {
  enum { N = 50 };
  double x[N], y[N];
  for (int i = 0; i < N; i++) {
    x[i] = i * 0.2;
    y[i] = 5 * exp(-0.7 * x[i]) + 1.5 + 0.01 * nrand();
  }
  double start[3] = {1, 0.1, 0};
  scl_fit *f = NULL, *g = NULL;
  CHECK(scl_fit_nls(ctx, decay, decay_jac, NULL, x, N, 1, y, 3, start, NULL,
                    &f) == SCL_OK,
        "%s", scl_ctx_errmsg(ctx));
  CHECK(f->converged && fabs(f->params[0] - 5) < 4 * f->se[0] &&
            fabs(f->params[1] - 0.7) < 4 * f->se[1] &&
            fabs(f->params[2] - 1.5) < 4 * f->se[2],
        "decay: %g %g %g (%s)", f->params[0], f->params[1], f->params[2],
        f->reason);
  CHECK(strcmp(f->names[0], "p1") == 0 && strcmp(f->names[2], "p3") == 0,
        "nls names %s %s", f->names[0], f->names[2]);
  CHECK(f->iterations > 0 && has(f->reason, "converged"), "reason '%s'",
        f->reason);
  CHECK(isnan(scl_fit_predict(f, 1.0)), "nls predict is the caller's");
  /* central differences give the same answer */
  CHECK(scl_fit_nls(ctx, decay, NULL, NULL, x, N, 1, y, 3, start, NULL, &g) ==
            SCL_OK,
        "%s", scl_ctx_errmsg(ctx));
  for (int j = 0; j < 3; j++) {
    CHECK_NEAR(g->params[j], f->params[j], 1e-7);
    CHECK_NEAR(g->se[j], f->se[j], 1e-4);
  }
  scl_fit_free(ctx, g);
  g = NULL;
  /* iteration limit: honest non-convergence */
  scl_fit_opts o;
  scl_fit_opts_init(&o);
  o.max_iter = 2;
  CHECK(scl_fit_nls(ctx, decay, decay_jac, NULL, x, N, 1, y, 3, start, &o,
                    &g) == SCL_OK,
        "%s", scl_ctx_errmsg(ctx));
  CHECK(g && !g->converged && has(g->reason, "iteration limit"),
        "limited: %d '%s'", g ? g->converged : -1, g ? g->reason : "");
  scl_fit_free(ctx, g);
  g = NULL;
  /* a callback error comes back with its message and code */
  model_ud m = {0, 3, SCL_ECALLBACK};
  CHECK(scl_fit_nls(ctx, decay, NULL, &m, x, N, 1, y, 3, start, NULL, &g) ==
                SCL_ECALLBACK &&
            g == NULL,
        "callback error");
  CHECK(strcmp(scl_ctx_errmsg(ctx), "boom at call 3") == 0, "message '%s'",
        scl_ctx_errmsg(ctx));
  model_ud m2 = {0, 5, SCL_EIO};
  CHECK(scl_fit_nls(ctx, decay, NULL, &m2, x, N, 1, y, 3, start, NULL, &g) ==
            SCL_EIO,
        "the callback's own code");
  CHECK(has(scl_ctx_errmsg(ctx), "model callback failed"), "message '%s'",
        scl_ctx_errmsg(ctx));
  model_ud m3 = {0, 1, 99};
  CHECK(scl_fit_nls(ctx, decay, NULL, &m3, x, N, 1, y, 3, start, NULL, &g) ==
            SCL_ECALLBACK,
        "an unknown code becomes SCL_ECALLBACK");
  /* two predictors */
  double X2[2 * N], y2[N];
  for (int i = 0; i < N; i++) {
    X2[2 * i] = urand() * 10;
    X2[2 * i + 1] = urand() * 3;
    y2[i] = 2 * X2[2 * i] - 0.5 * X2[2 * i + 1] * X2[2 * i + 1];
  }
  double s2[2] = {1, 1};
  CHECK(scl_fit_nls(ctx, two, NULL, NULL, X2, N, 2, y2, 2, s2, NULL, &g) ==
            SCL_OK,
        "%s", scl_ctx_errmsg(ctx));
  CHECK_NEAR(g->params[0], 2, 1e-9);
  CHECK_NEAR(g->params[1], -0.5, 1e-9);
  scl_fit_free(ctx, g);
  g = NULL;
  /* degenerate */
  CHECK(scl_fit_nls(ctx, decay, NULL, NULL, x, 2, 1, y, 3, start, NULL, &g) ==
                SCL_EINVAL &&
            has(scl_ctx_errmsg(ctx), "2 observations for 3 parameters"),
        "too few: '%s'", scl_ctx_errmsg(ctx));
  double bad[3] = {1, NAN, 0};
  CHECK(scl_fit_nls(ctx, decay, NULL, NULL, x, N, 1, y, 3, bad, NULL, &g) ==
                SCL_EINVAL &&
            has(scl_ctx_errmsg(ctx), "start p2 = nan"),
        "NaN start: '%s'", scl_ctx_errmsg(ctx));
  double yb[N];
  memcpy(yb, y, sizeof yb);
  yb[9] = INFINITY;
  CHECK(scl_fit_nls(ctx, decay, NULL, NULL, x, N, 1, yb, 3, start, NULL, &g) ==
                SCL_EINVAL &&
            has(scl_ctx_errmsg(ctx), "y = inf at point 10"),
        "inf y: '%s'", scl_ctx_errmsg(ctx));
  /* a start where the model overflows is reported, not iterated */
  double huge[3] = {1, -1e5, 0};
  CHECK(scl_fit_nls(ctx, decay, NULL, NULL, x, N, 1, y, 3, huge, NULL, &g) ==
                SCL_EINVAL &&
            has(scl_ctx_errmsg(ctx), "not finite at the start"),
        "overflowing start: '%s'", scl_ctx_errmsg(ctx));
  scl_fit_free(ctx, f);
}

/* ------------------------------------------------------- linear, poly */

static void test_linear(scl_ctx *ctx) {
  enum { N = 30 };
  double x1[N], x2[N], y[N], dup[N];
  for (int i = 0; i < N; i++) {
    x1[i] = urand() * 4;
    x2[i] = urand() * 2 - 1;
    y[i] = 1 + 2 * x1[i] - 3 * x2[i];
    dup[i] = 2 * x1[i] - 1;
  }
  const double *cols[2] = {x1, x2};
  scl_fit *f = NULL;
  CHECK(scl_fit_linear(ctx, cols, 2, y, N, 1, NULL, &f) == SCL_OK, "%s",
        scl_ctx_errmsg(ctx));
  CHECK_NEAR(f->params[0], 1, 1e-12);
  CHECK_NEAR(f->params[1], 2, 1e-12);
  CHECK_NEAR(f->params[2], -3, 1e-12);
  CHECK(f->extra[0] == 1 && strcmp(f->names[0], "c0") == 0, "intercept flag");
  double row[2] = {0.5, 0.25};
  CHECK_NEAR(scl_fit_predictn(f, row, 2), 1 + 1 - 0.75, 1e-12);
  CHECK(isnan(scl_fit_predictn(f, row, 1)), "wrong arity is NaN");
  scl_fit_free(ctx, f);
  f = NULL;
  /* without intercept */
  double yo[N];
  for (int i = 0; i < N; i++) yo[i] = 2 * x1[i] - 3 * x2[i];
  CHECK(scl_fit_linear(ctx, cols, 2, yo, N, 0, NULL, &f) == SCL_OK, "%s",
        scl_ctx_errmsg(ctx));
  CHECK(f->nparams == 2 && f->extra[0] == 0 &&
            strcmp(f->names[0], "c1") == 0,
        "no intercept: %zu params", f->nparams);
  CHECK_NEAR(f->params[0], 2, 1e-12);
  CHECK_NEAR(f->params[1], -3, 1e-12);
  scl_fit_free(ctx, f);
  f = NULL;
  /* rank deficiency: x2 = 2 x1 - 1 is collinear with x1 and the intercept */
  const double *bad[2] = {x1, dup};
  CHECK(scl_fit_linear(ctx, bad, 2, y, N, 1, NULL, &f) == SCL_EINVAL &&
            f == NULL && has(scl_ctx_errmsg(ctx), "rank deficient"),
        "collinear: '%s'", scl_ctx_errmsg(ctx));
  CHECK(scl_fit_linear(ctx, cols, 2, y, 2, 1, NULL, &f) == SCL_EINVAL &&
            has(scl_ctx_errmsg(ctx), "2 observations for 3 coefficients"),
        "too few rows: '%s'", scl_ctx_errmsg(ctx));
  double xn[N];
  memcpy(xn, x1, sizeof xn);
  xn[4] = NAN;
  const double *nc[1] = {xn};
  CHECK(scl_fit_linear(ctx, nc, 1, y, N, 1, NULL, &f) == SCL_EINVAL &&
            has(scl_ctx_errmsg(ctx), "column 1, row 4 = nan"),
        "NaN in X: '%s'", scl_ctx_errmsg(ctx));
  /* noisy fit: standard errors against the textbook formula for one x */
  double yn[N], sx = 0, sy = 0;
  for (int i = 0; i < N; i++) {
    yn[i] = 1 + 2 * x1[i] + 0.1 * nrand();
    sx += x1[i];
    sy += yn[i];
  }
  double mx = sx / N, sxx = 0, sxy = 0;
  for (int i = 0; i < N; i++) {
    sxx += (x1[i] - mx) * (x1[i] - mx);
    sxy += (x1[i] - mx) * (yn[i] - sy / N);
  }
  double b = sxy / sxx, a = sy / N - b * mx, rss = 0;
  for (int i = 0; i < N; i++) rss += pow(yn[i] - a - b * x1[i], 2);
  double s2 = rss / (N - 2);
  CHECK(scl_fit_linear(ctx, cols, 1, yn, N, 1, NULL, &f) == SCL_OK, "fit");
  CHECK_NEAR(f->params[1], b, 1e-12);
  CHECK_NEAR(f->params[0], a, 1e-12);
  CHECK_NEAR(f->se[1], sqrt(s2 / sxx), 1e-10);
  CHECK_NEAR(f->se[0], sqrt(s2 * (1.0 / N + mx * mx / sxx)), 1e-10);
  CHECK_NEAR(f->rss, rss, 1e-10);
  CHECK_NEAR(scl_fit_predict(f, 2.0), a + 2 * b, 1e-12);
  scl_fit_free(ctx, f);
}

static void test_poly(scl_ctx *ctx) {
  enum { N = 25 };
  double x[N], y[N];
  for (int i = 0; i < N; i++) {
    x[i] = 100 + i; /* far from 0: the centring matters */
    y[i] = 3 - 0.5 * x[i] + 0.01 * x[i] * x[i] - 2e-5 * pow(x[i], 3);
  }
  scl_fit *f = NULL;
  CHECK(scl_fit_poly(ctx, x, y, N, 3, NULL, &f) == SCL_OK, "%s",
        scl_ctx_errmsg(ctx));
  CHECK_NEAR(f->params[0], 3, 1e-7);
  CHECK_NEAR(f->params[1], -0.5, 1e-8);
  CHECK_NEAR(f->params[2], 0.01, 1e-8);
  CHECK_NEAR(f->params[3], -2e-5, 1e-8);
  CHECK_NEAR(scl_fit_predict(f, 110.5),
             3 - 0.5 * 110.5 + 0.01 * 110.5 * 110.5 - 2e-5 * pow(110.5, 3),
             1e-10);
  /* inverse by root finding: where the cubic reaches y(105) */
  scl_fit *g = NULL;
  double line[N];
  for (int i = 0; i < N; i++) line[i] = 1 + 2 * x[i];
  CHECK(scl_fit_poly(ctx, x, line, N, 1, NULL, &g) == SCL_OK, "line");
  double r;
  CHECK(scl_compute_ratio(ctx, g, g, 211, &r) == SCL_OK && fabs(r - 1) < 1e-12,
        "ratio of a law with itself %g", r);
  scl_fit *pl = NULL;
  double yp[N];
  for (int i = 0; i < N; i++) yp[i] = 2 * pow(x[i], 1.0);
  CHECK(scl_fit_powerlaw(ctx, x, yp, N, NULL, &pl) == SCL_OK, "pl");
  pl->params[0] = 2; /* exactly, so that 1 + 2x - 2x stays 1 */
  pl->params[1] = 1;
  g->params[0] = 1;
  g->params[1] = 2;
  /* line reaches 211 at x = 105, the power law 2x at 105.5 */
  CHECK(scl_compute_ratio(ctx, g, pl, 211, &r) == SCL_OK, "%s",
        scl_ctx_errmsg(ctx));
  CHECK_NEAR(r, 105 / 105.5, 1e-9);
  double xc;
  int found;
  CHECK(scl_crossover(ctx, g, pl, &xc, &found) == SCL_OK && !found,
        "1 + 2x and 2x never meet: found %d at %g", found, xc);
  scl_fit_free(ctx, pl);
  scl_fit_free(ctx, g);
  scl_fit_free(ctx, f);
  f = NULL;
  /* degenerate */
  double x3[6] = {1, 2, 3, 1, 2, 3};
  CHECK(scl_fit_poly(ctx, x3, y, 6, 4, NULL, &f) == SCL_EINVAL &&
            has(scl_ctx_errmsg(ctx), "do not determine"),
        "3 distinct x, degree 4: '%s'", scl_ctx_errmsg(ctx));
  double xe[5] = {2, 2, 2, 2, 2};
  CHECK(scl_fit_poly(ctx, xe, y, 5, 1, NULL, &f) == SCL_EINVAL &&
            has(scl_ctx_errmsg(ctx), "all x are equal"),
        "equal x: '%s'", scl_ctx_errmsg(ctx));
  CHECK(scl_fit_poly(ctx, x, y, 3, 3, NULL, &f) == SCL_EINVAL,
        "fewer points than coefficients");
  CHECK(scl_fit_poly(ctx, x, y, N, -1, NULL, &f) == SCL_EINVAL, "degree -1");
  /* degree 0 is the (weighted) mean */
  CHECK(scl_fit_poly(ctx, x, y, N, 0, NULL, &f) == SCL_OK, "degree 0");
  double m = 0;
  for (int i = 0; i < N; i++) m += y[i] / N;
  CHECK_NEAR(f->params[0], m, 1e-12);
  scl_fit_free(ctx, f);
}

/* -------------------------------------------------------------- bootstrap */

static void test_bootstrap(scl_ctx *ctx) {
  enum { N = 40 };
  double x[N], y[N];
  for (int i = 0; i < N; i++) {
    x[i] = pow(10, 3.0 * i / (N - 1));
    y[i] = 2 * pow(x[i], -0.25) * exp(0.05 * nrand());
  }
  scl_fit_opts o;
  scl_fit_opts_init(&o);
  o.bootstrap = 300;
  o.seed = 42;
  scl_fit *a = NULL, *b = NULL, *c = NULL;
  CHECK(scl_fit_powerlaw(ctx, x, y, N, &o, &a) == SCL_OK, "%s",
        scl_ctx_errmsg(ctx));
  CHECK(scl_fit_powerlaw(ctx, x, y, N, &o, &b) == SCL_OK, "again");
  o.seed = 43;
  CHECK(scl_fit_powerlaw(ctx, x, y, N, &o, &c) == SCL_OK, "other seed");
  CHECK(a->ci_lo && a->ci_hi, "intervals present");
  int same = 1, differ = 0;
  for (int j = 0; j < 2; j++) {
    same &= a->ci_lo[j] == b->ci_lo[j] && a->ci_hi[j] == b->ci_hi[j];
    differ |= a->ci_lo[j] != c->ci_lo[j];
    CHECK(a->ci_lo[j] < a->params[j] && a->params[j] < a->ci_hi[j],
          "estimate %g inside its interval [%g, %g]", a->params[j],
          a->ci_lo[j], a->ci_hi[j]);
  }
  CHECK(same, "same seed, same intervals");
  CHECK(differ, "another seed, other intervals");
  /* the percentile interval is about +-1.96 standard errors wide */
  double width = a->ci_hi[1] - a->ci_lo[1];
  CHECK(width > 2.5 * a->se[1] && width < 5.5 * a->se[1],
        "width %g vs se %g", width, a->se[1]);
  scl_fit_free(ctx, a);
  scl_fit_free(ctx, b);
  scl_fit_free(ctx, c);
  /* coverage: 90% intervals of b cover the truth about 90% of the time */
  int cover = 0, trials = 100;
  o.level = 0.9;
  o.bootstrap = 200;
  for (int t = 0; t < trials; t++) {
    for (int i = 0; i < N; i++)
      y[i] = 2 * pow(x[i], -0.25) * exp(0.05 * nrand());
    o.seed = (uint64_t)t;
    scl_fit *f = NULL;
    if (scl_fit_powerlaw(ctx, x, y, N, &o, &f) == SCL_OK)
      cover += f->ci_lo[1] <= -0.25 && -0.25 <= f->ci_hi[1];
    scl_fit_free(ctx, f);
  }
  CHECK(cover >= 78 && cover <= 98, "90%% intervals covered %d of %d", cover,
        trials);
  /* every kind takes a bootstrap */
  double sat[N], lin2[N];
  for (int i = 0; i < N; i++) {
    sat[i] = 1 + 3 * pow(x[i], -0.5) + 0.01 * nrand();
    lin2[i] = 1 + 0.5 * log(x[i]) + 0.1 * nrand();
  }
  o.bootstrap = 50;
  o.seed = 7;
  scl_fit *s = NULL, *p = NULL, *n = NULL;
  CHECK(scl_fit_saturating(ctx, x, sat, N, &o, &s) == SCL_OK && s->ci_lo &&
            s->ci_lo[0] < s->params[0] && s->params[0] < s->ci_hi[0],
        "saturating bootstrap: %s", scl_ctx_errmsg(ctx));
  double lx[N];
  for (int i = 0; i < N; i++) lx[i] = log(x[i]);
  CHECK(scl_fit_poly(ctx, lx, lin2, N, 1, &o, &p) == SCL_OK && p->ci_lo &&
            p->ci_lo[1] < 0.5 && 0.5 < p->ci_hi[1],
        "poly bootstrap [%g, %g]", p && p->ci_lo ? p->ci_lo[1] : NAN,
        p && p->ci_hi ? p->ci_hi[1] : NAN);
  double start[3] = {3, 0.5, 1};
  double neg[N];
  for (int i = 0; i < N; i++) neg[i] = -lx[i];
  CHECK(scl_fit_nls(ctx, decay, decay_jac, NULL, lx, N, 1, sat, 3, start, &o,
                    &n) == SCL_OK &&
            n->ci_lo && n->ci_lo[0] < n->ci_hi[0],
        "nls bootstrap: %s", scl_ctx_errmsg(ctx));
  (void)neg;
  scl_fit_free(ctx, s);
  scl_fit_free(ctx, p);
  scl_fit_free(ctx, n);
  /* a bad level is an error */
  o.level = 1.5;
  scl_fit *z = NULL;
  CHECK(scl_fit_powerlaw(ctx, x, y, N, &o, &z) == SCL_EINVAL && z == NULL &&
            has(scl_ctx_errmsg(ctx), "level"),
        "level 1.5: '%s'", scl_ctx_errmsg(ctx));
}

/* ------------------------------------------------------ vector kernels */

/* Relative error, with an absolute floor near zero/underflow. */
static double relerr(double got, double want) {
  if (got == want || (isnan(got) && isnan(want))) return 0;
  if (!isfinite(want) || !isfinite(got)) return INFINITY;
  return fabs(got - want) / fmax(fabs(want), 1e-300);
}

static void test_kernels(void) {
  enum { N = 20011 }; /* odd: the tail after the vector loop is used */
  static double x[N], y[N], z[N];
  double worst = 0;
  for (int i = 0; i < N; i++) x[i] = -745 + 1455.0 * i / (N - 1);
  x[3] = NAN;
  x[4] = INFINITY;
  x[5] = -INFINITY;
  x[6] = 709.7;
  x[7] = -740; /* subnormal result */
  scli_vexp(x, y, N);
  for (int i = 0; i < N; i++) {
    double want = exp(x[i]);
    /* below 1e-300 results are subnormal: compare absolutely */
    double e = fabs(want) < 1e-300 ? fabs(y[i] - want) / 1e-300
                                   : relerr(y[i], want);
    worst = fmax(worst, e);
  }
  CHECK(worst < 1e-15, "vexp: worst relative error %.3g", worst);
  worst = 0;
  scli_vexp_scaled(x, -0.5, z, N);
  for (int i = 0; i < N; i++)
    worst = fmax(worst, fabs(exp(-0.5 * x[i])) < 1e-300
                            ? 0
                            : relerr(z[i], exp(-0.5 * x[i])));
  CHECK(worst < 1e-15, "vexp_scaled: worst relative error %.3g", worst);
  /* logs over the whole range, and the flag for what is not normal > 0 */
  for (int i = 0; i < N; i++) x[i] = pow(10, -300 + 600.0 * i / (N - 1));
  CHECK(scli_vlog(x, y, N) == 0, "normal positive inputs: no flag");
  worst = 0;
  for (int i = 0; i < N; i++)
    worst = fmax(worst, log(x[i]) == 0 ? fabs(y[i]) : relerr(y[i], log(x[i])));
  CHECK(worst < 1e-15, "vlog: worst relative error %.3g", worst);
  x[10] = 4.9e-324;
  x[11] = 0;
  x[12] = -2;
  x[13] = NAN;
  CHECK(scli_vlog(x, y, N) == 1, "flagged inputs");
  CHECK_NEAR(y[10], log(4.9e-324), 1e-15);
  CHECK(isinf(y[11]) && y[11] < 0 && isnan(y[12]) && isnan(y[13]),
        "log(0) -inf, log(-2) and log(NaN) NaN");
  /* in place */
  for (int i = 0; i < 8; i++) z[i] = i * 0.25;
  scli_vexp(z, z, 8);
  CHECK_NEAR(z[7], exp(1.75), 1e-15);
}

/* ------------------------------------------------- large data sets */

static void test_large(scl_ctx *ctx) {
  /* above 16384 points the saturating grid runs on a subsample and the
   * winner is polished on everything by the fused LM */
  enum { N = 40000 };
  static double x[N], y[N], yn[N];
  for (int i = 0; i < N; i++) {
    x[i] = pow(10, 6 + 6.0 * urand());
    y[i] = 2.1 + 350 * pow(x[i], -0.29);
    yn[i] = y[i] * (1 + 0.003 * nrand());
  }
  scl_fit *f = NULL, *g = NULL, *h = NULL;
  CHECK(scl_fit_saturating(ctx, x, y, N, NULL, &f) == SCL_OK, "%s",
        scl_ctx_errmsg(ctx));
  if (f) {
    CHECK_NEAR(f->params[0], 2.1, 1e-8);
    CHECK_NEAR(f->params[1], 350, 1e-7);
    CHECK_NEAR(f->params[2], -0.29, 1e-8);
    CHECK(f->converged && f->n == N, "converged: %s", f->reason);
  }
  CHECK(scl_fit_saturating(ctx, x, yn, N, NULL, &g) == SCL_OK, "%s",
        scl_ctx_errmsg(ctx));
  if (g) {
    CHECK(fabs(g->params[0] - 2.1) < 4 * g->se[0] &&
              fabs(g->params[2] + 0.29) < 4 * g->se[2] && g->se[2] < 0.01,
          "noisy large: E %g +- %g, b %g +- %g", g->params[0], g->se[0],
          g->params[2], g->se[2]);
    /* the same minimum as MINPACK's lmder from the truth on all points:
     * a start below 16384 points never takes the subsample path, so run
     * the check on the first 16000 points both ways */
    scl_fit *a = NULL, *b = NULL;
    scl_fit_opts o;
    scl_fit_opts_init(&o);
    double st[3] = {2.1, 350, -0.29};
    o.start = st;
    CHECK(scl_fit_saturating(ctx, x, yn, 16000, NULL, &a) == SCL_OK &&
              scl_fit_saturating(ctx, x, yn, 16000, &o, &b) == SCL_OK,
          "%s", scl_ctx_errmsg(ctx));
    if (a && b) {
      CHECK_NEAR(a->params[2], b->params[2], 1e-7);
      CHECK_NEAR(a->rss, b->rss, 1e-10);
    }
    scl_fit_free(ctx, a);
    scl_fit_free(ctx, b);
  }
  /* power law, nls, with an upper bound on b that binds */
  static double py[N];
  for (int i = 0; i < N; i++) py[i] = 3 * pow(x[i], -0.2) * (1 + 0.01 * nrand());
  scl_fit_opts o;
  scl_fit_opts_init(&o);
  o.method = SCL_METHOD_NLS;
  double up[2] = {NAN, -0.25};
  o.upper = up;
  CHECK(scl_fit_powerlaw(ctx, x, py, N, &o, &h) == SCL_OK, "%s",
        scl_ctx_errmsg(ctx));
  if (h) CHECK(h->params[1] <= -0.25 && h->params[1] > -0.2501,
               "bounded b = %.10g", h->params[1]);
  scl_fit_free(ctx, f);
  scl_fit_free(ctx, g);
  scl_fit_free(ctx, h);
  /* a bound in general NLS (the transformation under lmder) */
  double xs[30], ys[30], start[3] = {1, 0.5, 1}, lo[3] = {NAN, NAN, 2};
  for (int i = 0; i < 30; i++) {
    xs[i] = i * 0.3;
    ys[i] = 4 * exp(-0.6 * xs[i]) + 1.0;
  }
  scl_fit_opts_init(&o);
  o.lower = lo;
  scl_fit *n = NULL;
  CHECK(scl_fit_nls(ctx, decay, decay_jac, NULL, xs, 30, 1, ys, 3, start, &o,
                    &n) == SCL_OK,
        "%s", scl_ctx_errmsg(ctx));
  if (n) CHECK(n->params[2] >= 2 && n->params[2] < 2.001,
               "lower bound on p3: %.10g", n->params[2]);
  scl_fit_free(ctx, n);
}

/* ------------------------------------------------------------ Chinchilla */

/* A Chinchilla-like grid: 25 model sizes from 7e7 to 1.6e10, each trained
 * on 10 token counts around 20 tokens per parameter. */
static size_t chinchilla_grid(double *N, double *D, double *L, double noise) {
  size_t n = 0;
  for (int i = 0; i < 25; i++)
    for (int j = 0; j < 10; j++) {
      N[n] = 7e7 * pow(16e9 / 7e7, i / 24.0);
      D[n] = N[n] * 20 * pow(10, (j - 4.5) / 4.5 * 0.7);
      L[n] = (1.69 + 406.4 / pow(N[n], 0.34) + 410.7 / pow(D[n], 0.28)) *
             exp(noise * nrand());
      n++;
    }
  return n;
}

static void test_chinchilla(scl_ctx *ctx) {
  double N[250], D[250], L[250];
  size_t n = chinchilla_grid(N, D, L, 0);
  scl_fit *f = NULL;
  double t0 = cpu_seconds();
  CHECK(scl_fit_chinchilla(ctx, N, D, L, n, NULL, &f) == SCL_OK, "%s",
        scl_ctx_errmsg(ctx));
  double t = cpu_seconds() - t0;
  printf("chinchilla: 4500 starts on %zu points in %.3f s cpu\n", n, t);
  /* the budget holds for optimised builds, not under ASan or valgrind */
  if (timing_applies()) CHECK(t < 1.0, "Chinchilla fit took %.3f s", t);
  if (!f) return;
  CHECK_NEAR(f->params[0], 1.69, 1e-4);
  CHECK_NEAR(f->params[1], 406.4, 1e-3);
  CHECK_NEAR(f->params[2], 410.7, 1e-3);
  CHECK_NEAR(f->params[3], 0.34, 1e-4);
  CHECK_NEAR(f->params[4], 0.28, 1e-4);
  CHECK_NEAR(f->extra[0], 0.28 / 0.62, 1e-4);
  CHECK_NEAR(f->extra[1], 0.34 / 0.62, 1e-4);
  CHECK(f->rss < 1e-12 && f->converged && has(f->reason, "4500 starts"),
        "objective %g converged %d '%s'", f->rss, f->converged, f->reason);
  CHECK(strcmp(f->names[3], "alpha") == 0 && f->kind == SCL_FIT_CHINCHILLA,
        "names");
  CHECK_NEAR(scl_fit_predict2(f, 1e9, 2e10),
             1.69 + 406.4 / pow(1e9, 0.34) + 410.7 / pow(2e10, 0.28), 1e-6);
  double nd[2] = {1e9, 2e10};
  CHECK_NEAR(scl_fit_predictn(f, nd, 2), scl_fit_predict2(f, 1e9, 2e10),
             1e-15);
  CHECK(isnan(scl_fit_predict(f, 1e9)), "one-argument predict is NaN");
  scl_fit_free(ctx, f);
  f = NULL;
  /* 1% noise on the loss: the exponents still within a few hundredths */
  chinchilla_grid(N, D, L, 0.01);
  CHECK(scl_fit_chinchilla(ctx, N, D, L, n, NULL, &f) == SCL_OK, "%s",
        scl_ctx_errmsg(ctx));
  if (f) {
    CHECK(fabs(f->params[0] - 1.69) < 0.1 && fabs(f->params[3] - 0.34) < 0.03 &&
              fabs(f->params[4] - 0.28) < 0.03,
          "noisy: E %g alpha %g beta %g", f->params[0], f->params[3],
          f->params[4]);
    /* no single start does better than the grid's winner */
    scl_fit_opts o;
    scl_fit_opts_init(&o);
    double st[5] = {1, 100, 100, 0.5, 0.5};
    o.start = st;
    scl_fit *g = NULL;
    CHECK(scl_fit_chinchilla(ctx, N, D, L, n, &o, &g) == SCL_OK &&
              g->rss >= f->rss * (1 - 1e-9),
          "single start objective %g below the grid's %g", g ? g->rss : NAN,
          f->rss);
    CHECK(g && has(g->reason, "1 start"), "reason '%s'", g ? g->reason : "");
    scl_fit_free(ctx, g);
  }
  scl_fit_free(ctx, f);
  f = NULL;
  /* errors */
  double bad = L[3];
  L[3] = -1;
  CHECK(scl_fit_chinchilla(ctx, N, D, L, n, NULL, &f) == SCL_EINVAL &&
            has(scl_ctx_errmsg(ctx), "loss = -1 at point 4"),
        "negative loss: '%s'", scl_ctx_errmsg(ctx));
  L[3] = bad;
  CHECK(scl_fit_chinchilla(ctx, N, D, L, 4, NULL, &f) == SCL_EINVAL &&
            has(scl_ctx_errmsg(ctx), "at least 5 points"),
        "4 points: '%s'", scl_ctx_errmsg(ctx));
  scl_fit_opts o;
  scl_fit_opts_init(&o);
  o.delta = -1;
  CHECK(scl_fit_chinchilla(ctx, N, D, L, n, &o, &f) == SCL_EINVAL &&
            has(scl_ctx_errmsg(ctx), "delta"),
        "delta -1: '%s'", scl_ctx_errmsg(ctx));
  scl_fit *cf = NULL, *pl = NULL;
  double st[5] = {1.69, 406.4, 410.7, 0.34, 0.28};
  scl_fit_opts_init(&o);
  o.start = st;
  CHECK(scl_fit_chinchilla(ctx, N, D, L, n, &o, &cf) == SCL_OK, "start");
  double x[3] = {1, 2, 3}, y[3] = {3, 2, 1.5};
  CHECK(scl_fit_powerlaw(ctx, x, y, 3, NULL, &pl) == SCL_OK, "pl");
  double xc, r;
  int found;
  CHECK(scl_crossover(ctx, cf, pl, &xc, &found) == SCL_EINVAL &&
            has(scl_ctx_errmsg(ctx), "Chinchilla fit is not a law of one"),
        "crossover with Chinchilla: '%s'", scl_ctx_errmsg(ctx));
  CHECK(scl_compute_ratio(ctx, pl, cf, 2, &r) == SCL_EINVAL, "ratio");
  scl_fit_free(ctx, cf);
  scl_fit_free(ctx, pl);
}

/* ------------------------------------------------------ allocation failure */

typedef int (*entry_fn)(scl_ctx *ctx, scl_fit **out);

static double ox[30], oy[30], osat[30], on[30], od[30], ol[30];

static int e_powerlaw(scl_ctx *ctx, scl_fit **out) {
  return scl_fit_powerlaw(ctx, ox, oy, 30, NULL, out);
}
static int e_powerlaw_nls_boot(scl_ctx *ctx, scl_fit **out) {
  scl_fit_opts o;
  scl_fit_opts_init(&o);
  o.method = SCL_METHOD_NLS;
  o.bootstrap = 3;
  return scl_fit_powerlaw(ctx, ox, oy, 30, &o, out);
}
static int e_saturating(scl_ctx *ctx, scl_fit **out) {
  scl_fit_opts o;
  scl_fit_opts_init(&o);
  o.bootstrap = 2;
  return scl_fit_saturating(ctx, ox, osat, 30, &o, out);
}
static int e_nls(scl_ctx *ctx, scl_fit **out) {
  double s[3] = {1, 0.5, 1};
  scl_fit_opts o;
  scl_fit_opts_init(&o);
  o.bootstrap = 2;
  return scl_fit_nls(ctx, decay, NULL, NULL, on, 30, 1, osat, 3, s, &o, out);
}
static int e_nls_jac(scl_ctx *ctx, scl_fit **out) {
  double s[3] = {1, 0.5, 1};
  return scl_fit_nls(ctx, decay, decay_jac, NULL, on, 30, 1, osat, 3, s, NULL,
                     out);
}
static int e_linear(scl_ctx *ctx, scl_fit **out) {
  const double *c[2] = {ox, osat};
  scl_fit_opts o;
  scl_fit_opts_init(&o);
  o.bootstrap = 2;
  return scl_fit_linear(ctx, c, 2, oy, 30, 1, &o, out);
}
static int e_poly(scl_ctx *ctx, scl_fit **out) {
  scl_fit_opts o;
  scl_fit_opts_init(&o);
  o.bootstrap = 2;
  return scl_fit_poly(ctx, on, oy, 30, 3, &o, out);
}
static double big_x[20000], big_y[20000];
static int e_saturating_large(scl_ctx *ctx, scl_fit **out) {
  return scl_fit_saturating(ctx, big_x, big_y, 20000, NULL, out);
}
static int e_chinchilla(scl_ctx *ctx, scl_fit **out) {
  double s[5] = {1.5, 300, 300, 0.3, 0.3};
  scl_fit_opts o;
  scl_fit_opts_init(&o);
  o.start = s;
  o.bootstrap = 2;
  return scl_fit_chinchilla(ctx, on, od, ol, 30, &o, out);
}

static void test_oom(void) {
  for (int i = 0; i < 30; i++) {
    ox[i] = 1 + i;
    oy[i] = 5 * pow(ox[i], -0.3) * (1 + 0.01 * nrand());
    osat[i] = 2 + 3 * exp(-0.4 * i * 0.3) + 0.01 * nrand();
    on[i] = i * 0.3;
    od[i] = 1e8 * (1 + i % 5) * (1 + i / 5);
    ol[i] = 1.7 + 400 / pow(1e7 * (1 + i), 0.34) + 400 / pow(od[i], 0.28);
    on[i] = i * 0.3;
  }
  for (int i = 0; i < 20000; i++) {
    big_x[i] = 1 + i;
    big_y[i] = 2 + 30 * pow(big_x[i], -0.4) * (1 + 0.001 * nrand());
  }
  /* Chinchilla needs N: reuse od-like values in a separate array */
  static double cn[30];
  for (int i = 0; i < 30; i++) cn[i] = 1e7 * (1 + i);
  static const struct {
    const char *name;
    entry_fn fn;
  } entries[] = {{"powerlaw", e_powerlaw},
                 {"powerlaw nls+bootstrap", e_powerlaw_nls_boot},
                 {"saturating+bootstrap", e_saturating},
                 {"saturating, 20000 points", e_saturating_large},
                 {"nls+bootstrap", e_nls},
                 {"nls jacobian", e_nls_jac},
                 {"linear+bootstrap", e_linear},
                 {"poly+bootstrap", e_poly},
                 {"chinchilla+bootstrap", e_chinchilla}};
  for (size_t e = 0; e < sizeof entries / sizeof entries[0]; e++) {
    if (entries[e].fn == e_chinchilla) memcpy(on, cn, sizeof on);
    int ok = 0, clean = 1, codes = 1;
    long k;
    for (k = 1; k < 100000 && !ok; k++) {
      testalloc c = {.fail_at = k};
      scl_ctx *ctx = scl_ctx_new(testalloc_fn, &c);
      if (!ctx) continue; /* the context itself was allocation k */
      scl_fit *f = NULL;
      int rc = entries[e].fn(ctx, &f);
      if (rc == SCL_OK) {
        ok = 1;
        CHECK(f != NULL, "%s: no fit", entries[e].name);
      } else {
        int good = rc == SCL_ENOMEM && f == NULL &&
                   strcmp(scl_ctx_errmsg(ctx), "out of memory") == 0;
        codes &= good;
        if (!good) {
          printf("  %s: allocation %ld failed -> %d '%s'\n", entries[e].name,
                 k, rc, scl_ctx_errmsg(ctx));
          k = 100000; /* stop: the entry point is broken, not the alloc */
        }
      }
      scl_fit_free(ctx, f);
      scl_ctx_free(ctx);
      clean &= c.blocks == 0 && c.bytes == 0 && !c.bad_osize;
      if (!(c.blocks == 0 && c.bytes == 0 && !c.bad_osize))
        printf("  %s: k = %ld leaves %ld blocks, %ld bytes%s\n",
               entries[e].name, k, c.blocks, c.bytes,
               c.bad_osize ? " (wrong osize)" : "");
    }
    CHECK(ok, "%s never succeeded", entries[e].name);
    CHECK(codes, "%s: a failed allocation gave something else than a clean "
          "SCL_ENOMEM", entries[e].name);
    CHECK(clean, "%s: leak or wrong osize under allocation failure",
          entries[e].name);
    CHECK(k > 3, "%s: only %ld allocation points", entries[e].name, k - 1);
  }
  /* the ox-based arrays were changed for Chinchilla; nothing else uses them */
}

/* Kind names, as the Lua binding and the JSON results spell them. */
static void test_kind_names(void) {
  static const char *want[] = {"unknown", "powerlaw", "saturating", "nls",
                               "linear", "poly", "chinchilla", "unknown"};
  for (int k = 0; k < 8; k++)
    CHECK(strcmp(scl_fit_kind_name((scl_fit_kind)k), want[k]) == 0,
          "kind %d: %s", k, scl_fit_kind_name((scl_fit_kind)k));
}

int main(void) {
  scl_ctx *ctx = scl_ctx_new(NULL, NULL);
  test_kind_names();
  test_powerlaw_moba(ctx);
  test_powerlaw_noise(ctx);
  test_powerlaw_errors(ctx);
  test_saturating(ctx);
  test_nls(ctx);
  test_linear(ctx);
  test_poly(ctx);
  test_bootstrap(ctx);
  test_kernels();
  test_large(ctx);
  test_chinchilla(ctx);
  test_oom();
  scl_ctx_free(ctx);
  return check_done("fit");
}
