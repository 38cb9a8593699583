/*
 * test_moba_data.c -- the synthetic MoBA logs (examples/moba/data) keep
 * their calibration: for every panel and method, the lower envelope of the
 * five runs (scl_envelope_compute, 1500-point log grid over the covered
 * compute range) fitted with log C -> log L least squares gives back the
 * published law within 0.3% in a and 0.001 in b (the generator calibrates
 * to the printed precision; the recipes' tests allow 1% and 0.003).  Also
 * checks the shape of the files (runs, steps, compute at the end, trailing
 * = 30K-32K window, lm_loss = mean of the windows) and of the curves: the
 * fan of training curves of a scaling-law figure, with the larger runs
 * starting near the untrained loss, entering the plotted range (C >= 0.05)
 * higher the larger they are and bending from steep to flat, every run
 * ending on the law, the smallest run (alone on the envelope at small
 * compute) close to the law throughout, and the envelope close to the
 * fitted line over the plotted range.
 *
 * Reads the CSVs with plain stdio (the files have no quoted fields), so it
 * does not depend on the CSV reader.  Run from the top of the repository,
 * or set SCALELUA_MOBA_DATA to the data directory.
 */
#include "check.h"
#include "scalelua.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define MAXCOL 32
#define MAXROW 20000

/* The published fits L = a C^b, C in PFLOP/s-days (arXiv 2502.13189,
   Figure 3 and the appendix figure; /work/shared/data/moba). */
static const struct {
  const char *file, *column;
  double a[2], b[2]; /* [moba, full] */
} LAWS[] = {
    {"lm_loss_8k.csv", "lm_loss", {2.625, 2.622}, {-0.063, -0.063}},
    {"trailing_32k.csv", "trailing_loss", {1.546, 1.464}, {-0.108, -0.097}},
    {"positions_32k.csv", "loss_0k_2k", {3.075, 3.068}, {-0.078, -0.078}},
    {"positions_32k.csv", "loss_2k_4k", {2.415, 2.411}, {-0.084, -0.083}},
    {"positions_32k.csv", "loss_4k_6k", {2.085, 2.077}, {-0.081, -0.081}},
    {"positions_32k.csv", "loss_6k_8k", {1.899, 1.894}, {-0.092, -0.092}},
    {"positions_32k.csv", "loss_8k_10k", {1.789, 1.774}, {-0.091, -0.089}},
    {"positions_32k.csv", "loss_10k_12k", {1.721, 1.697}, {-0.092, -0.087}},
    {"positions_32k.csv", "loss_12k_14k", {1.670, 1.645}, {-0.089, -0.088}},
    {"positions_32k.csv", "loss_14k_16k", {1.630, 1.600}, {-0.089, -0.087}},
    {"positions_32k.csv", "loss_16k_18k", {1.607, 1.567}, {-0.090, -0.087}},
    {"positions_32k.csv", "loss_18k_20k", {1.586, 1.542}, {-0.091, -0.087}},
    {"positions_32k.csv", "loss_20k_22k", {1.571, 1.519}, {-0.093, -0.086}},
    {"positions_32k.csv", "loss_22k_24k", {1.566, 1.513}, {-0.089, -0.085}},
    {"positions_32k.csv", "loss_24k_26k", {1.565, 1.502}, {-0.091, -0.085}},
    {"positions_32k.csv", "loss_26k_28k", {1.562, 1.493}, {-0.095, -0.088}},
    {"positions_32k.csv", "loss_28k_30k", {1.547, 1.471}, {-0.097, -0.091}},
    {"positions_32k.csv", "loss_30k_32k", {1.546, 1.464}, {-0.108, -0.097}},
};
#define NLAWS (sizeof LAWS / sizeof LAWS[0])

static const char *METHODS[2] = {"moba", "full"};
static const double RUN_END[5] = {0.426, 0.873, 1.574, 2.854, 5.381};

/* One CSV file held as text fields; numbers parsed on demand. */
typedef struct {
  int ncol;
  size_t nrow;
  char *names[MAXCOL];
  char **cell; /* nrow * ncol, row-major */
} csv;

static char *dup(const char *s) {
  char *d = malloc(strlen(s) + 1);
  if (d) strcpy(d, s);
  return d;
}

static int split(char *line, char **out) {
  int n = 0;
  line[strcspn(line, "\r\n")] = '\0';
  for (char *p = line; n < MAXCOL;) {
    out[n++] = p;
    char *c = strchr(p, ',');
    if (!c) break;
    *c = '\0';
    p = c + 1;
  }
  return n;
}

static int csv_load(const char *dir, const char *name, csv *t) {
  char path[1024], line[4096];
  snprintf(path, sizeof path, "%s/%s", dir, name);
  memset(t, 0, sizeof *t);
  FILE *f = fopen(path, "r");
  if (!f) return 0;
  char *fields[MAXCOL];
  if (!fgets(line, sizeof line, f)) {
    fclose(f);
    return 0;
  }
  t->ncol = split(line, fields);
  for (int i = 0; i < t->ncol; i++) t->names[i] = dup(fields[i]);
  t->cell = malloc((size_t)MAXROW * (size_t)t->ncol * sizeof *t->cell);
  int ok = t->cell != NULL;
  while (ok && fgets(line, sizeof line, f)) {
    if (split(line, fields) != t->ncol || t->nrow == MAXROW) {
      ok = 0;
      break;
    }
    for (int i = 0; i < t->ncol; i++)
      t->cell[t->nrow * (size_t)t->ncol + (size_t)i] = dup(fields[i]);
    t->nrow++;
  }
  fclose(f);
  return ok;
}

static void csv_free(csv *t) {
  for (int i = 0; i < t->ncol; i++) free(t->names[i]);
  for (size_t i = 0; i < t->nrow * (size_t)t->ncol; i++) free(t->cell[i]);
  free(t->cell);
}

static int col(const csv *t, const char *name) {
  for (int i = 0; i < t->ncol; i++)
    if (strcmp(t->names[i], name) == 0) return i;
  return -1;
}

static const char *str(const csv *t, size_t r, int c) {
  return t->cell[r * (size_t)t->ncol + (size_t)c];
}

static double num(const csv *t, size_t r, int c) {
  return strtod(str(t, r, c), NULL);
}

/*
 * The curves of one method: x = compute 6 N D / 8.64e19, y = column ycol,
 * one curve per run (rows of a run are contiguous).  Arrays are malloc'd
 * into x and y (nrow each); returns the number of curves (<= 8).
 */
static size_t curves(const csv *t, const char *method, int ycol, double *x,
                     double *y, scl_curve *c) {
  int cm = col(t, "method"), cr = col(t, "run"), cp = col(t, "params"),
      ct = col(t, "tokens");
  size_t nc = 0, k = 0;
  for (size_t r = 0; r < t->nrow; r++) {
    if (strcmp(str(t, r, cm), method) != 0) continue;
    if (nc == 0 || strcmp(str(t, r, cr), str(t, r - 1, cr)) != 0) {
      if (nc == 8) break;
      c[nc++] = (scl_curve){x + k, y + k, 0};
    }
    x[k] = 6.0 * num(t, r, cp) * num(t, r, ct) / 8.64e19;
    y[k] = num(t, r, ycol);
    c[nc - 1].n++;
    k++;
  }
  return nc;
}

/* Least squares line through (log x, log y): y = a x^b. */
static void powerlaw(const double *x, const double *y, size_t n, double *a,
                     double *b) {
  double su = 0, sv = 0, suu = 0, suv = 0;
  for (size_t i = 0; i < n; i++) {
    su += log(x[i]);
    sv += log(y[i]);
  }
  double mu = su / (double)n, mv = sv / (double)n;
  for (size_t i = 0; i < n; i++) {
    double du = log(x[i]) - mu;
    suu += du * du;
    suv += du * (log(y[i]) - mv);
  }
  *b = suv / suu;
  *a = exp(mv - *b * mu);
}

static double worst_a, worst_b, worst_env;

/* Loss of a curve at compute c by log-log interpolation (NAN outside). */
static double at(const scl_curve *r, double c) {
  for (size_t j = 0; j + 1 < r->n; j++)
    if (r->x[j] <= c && c <= r->x[j + 1]) {
      double t = log(c / r->x[j]) / log(r->x[j + 1] / r->x[j]);
      return r->y[j] * pow(r->y[j + 1] / r->y[j], t);
    }
  return NAN;
}

/* Log-log slope of a curve between compute c0 and c1. */
static double slope(const scl_curve *r, double c0, double c1) {
  return log(at(r, c1) / at(r, c0)) / log(c1 / c0);
}

#define EDGE 0.05 /* left edge of the paper's figures, PFLOP/s-days */

/* One panel, one method: the calibration and the run shapes. */
static void check_panel(scl_ctx *ctx, const csv *t, size_t li, int m) {
  int yc = col(t, LAWS[li].column);
  CHECK(yc >= 0, "%s: no column %s", LAWS[li].file, LAWS[li].column);
  if (yc < 0) return;
  double *x = malloc(t->nrow * sizeof *x), *y = malloc(t->nrow * sizeof *y);
  scl_curve c[8];
  size_t nc = curves(t, METHODS[m], yc, x, y, c);
  CHECK(nc == 5, "%s %s: %zu runs", LAWS[li].column, METHODS[m], nc);

  double la = LAWS[li].a[m], lb = LAWS[li].b[m];
  const char *cn = LAWS[li].column, *mn = METHODS[m];
  double edge_prev = 0;
  for (size_t k = 0; k < nc; k++) {
    const scl_curve *r = &c[k];
    CHECK(r->n >= 300 && r->n <= 600, "run %zu: %zu points", k, r->n);
    CHECK(fabs(r->x[r->n - 1] / RUN_END[k] - 1) < 0.005,
          "run %zu ends at C = %g, want about %g", k, r->x[r->n - 1],
          RUN_END[k]);
    double end = log(r->y[r->n - 1] / (la * pow(r->x[r->n - 1], lb)));
    CHECK(fabs(end) < 0.015, "%s %s run %zu ends %.2f%% off the law", cn,
          mn, k, 100 * end);
    CHECK(r->y[0] > r->y[r->n - 1] * 1.2, "run %zu hardly falls", k);
    /* the fan at the left edge: larger runs enter higher */
    double edge = at(r, EDGE);
    CHECK(edge > edge_prev, "%s %s run %zu at C = %g: %.3f, not above the "
          "smaller run's %.3f", cn, mn, k, EDGE, edge, edge_prev);
    edge_prev = edge;
    if (k == 0) {
      /* alone on the envelope at small compute: on the law throughout */
      double dev = 0;
      for (size_t j = 0; j < r->n; j++)
        dev = fmax(dev, fabs(log(r->y[j] / (la * pow(r->x[j], lb)))));
      CHECK(dev < 0.03, "%s %s smallest run %.2f%% off the law", cn, mn,
            100 * dev);
    } else {
      /* starts near the untrained loss, falls steeply, then flattens */
      CHECK(r->y[0] > 10 && r->y[0] < 11.2, "%s %s run %zu starts at %.2f",
            cn, mn, k, r->y[0]);
      double s0 = slope(r, EDGE, 2 * EDGE);
      double s1 = slope(r, r->x[r->n - 1] / sqrt(10), r->x[r->n - 1]);
      CHECK(s0 < 1.5 * s1 && s1 < 0, "%s %s run %zu: slope %.3f at the "
            "left edge, %.3f at the end", cn, mn, k, s0, s1);
    }
  }
  CHECK(edge_prev > 1.5 * la * pow(EDGE, lb), "%s %s: largest run %.3f at "
        "C = %g, hardly above the law", cn, mn, edge_prev, EDGE);

  scl_envelope_opts o;
  scl_envelope_opts_init(&o);
  scl_envelope *e = NULL;
  int rc = scl_envelope_compute(ctx, c, nc, &o, &e);
  CHECK(rc == SCL_OK, "envelope: %s", scl_ctx_errmsg(ctx));
  if (rc == SCL_OK) {
    double a, b;
    powerlaw(e->x, e->y, e->n, &a, &b);
    double ra = a / la - 1, db = b - lb;
    printf("  %-14s %s  a %.4f (published %.3f, %+.3f%%)  b %.5f "
           "(published %.3f, %+.5f)  envelope %zu points\n",
           LAWS[li].column, METHODS[m], a, la, 100 * ra, b, lb, db, e->n);
    CHECK(fabs(ra) < 0.003, "%s %s: a = %.4f, published %.3f", cn, mn, a,
          la);
    CHECK(fabs(db) < 0.001, "%s %s: b = %.5f, published %.3f", cn, mn, b,
          lb);
    CHECK(e->n == 1500 && e->excluded == 0, "n %zu excluded %zu", e->n,
          e->excluded);
    /* the envelope hugs the fitted line where the figures show it */
    double env = 0;
    for (size_t j = 0; j < e->n; j++)
      if (e->x[j] >= EDGE) env = fmax(env, fabs(log(e->y[j] /
                                                    (a * pow(e->x[j], b)))));
    CHECK(env < 0.02, "%s %s: envelope %.2f%% off the fit", cn, mn,
          100 * env);
    worst_a = fmax(worst_a, fabs(ra));
    worst_b = fmax(worst_b, fabs(db));
    worst_env = fmax(worst_env, env);
  }
  scl_envelope_free(ctx, e);
  free(x);
  free(y);
}

/* The two 32K files describe the same runs, row for row. */
static void check_32k(const csv *tr, const csv *pos) {
  CHECK(tr->nrow == pos->nrow, "%zu vs %zu rows", tr->nrow, pos->nrow);
  if (tr->nrow != pos->nrow) return;
  int t16 = col(tr, "trailing_loss"), p16 = col(pos, "loss_30k_32k");
  int lm = col(tr, "lm_loss"), w0 = col(pos, "loss_0k_2k");
  int cs = col(tr, "step"), cr = col(tr, "run");
  size_t same = 0, mean_ok = 0;
  for (size_t r = 0; r < tr->nrow; r++) {
    if (strcmp(str(tr, r, t16), str(pos, r, p16)) == 0 &&
        strcmp(str(tr, r, cs), str(pos, r, cs)) == 0 &&
        strcmp(str(tr, r, cr), str(pos, r, cr)) == 0)
      same++;
    double s = 0;
    for (int w = 0; w < 16; w++) s += num(pos, r, w0 + w);
    if (fabs(s / 16 - num(tr, r, lm)) <= 1e-5) mean_ok++;
  }
  CHECK(same == tr->nrow, "trailing_loss != loss_30k_32k on %zu rows",
        tr->nrow - same);
  CHECK(mean_ok == tr->nrow, "lm_loss != mean of windows on %zu rows",
        tr->nrow - mean_ok);
}

/* Steps grow by a fixed interval; tokens = step * tokens per step. */
static void check_steps(const csv *t, const char *name) {
  int cs = col(t, "step"), ct = col(t, "tokens"), cr = col(t, "run");
  CHECK(cs >= 0 && ct >= 0 && cr >= 0, "%s: columns", name);
  size_t bad = 0;
  for (size_t r = 1; r < t->nrow; r++) {
    if (strcmp(str(t, r, cr), str(t, r - 1, cr)) != 0) continue;
    double s0 = num(t, r - 1, cs), s1 = num(t, r, cs);
    double tps0 = num(t, r - 1, ct) / s0, tps1 = num(t, r, ct) / s1;
    if (!(s1 > s0) || tps0 != tps1) bad++;
  }
  CHECK(bad == 0, "%s: %zu rows out of step", name, bad);
}

int main(void) {
  const char *dir = getenv("SCALELUA_MOBA_DATA");
  if (!dir) dir = "examples/moba/data";
  const char *files[3] = {"lm_loss_8k.csv", "trailing_32k.csv",
                          "positions_32k.csv"};
  csv t[3];
  int loaded = 1;
  for (int i = 0; i < 3; i++) {
    int ok = csv_load(dir, files[i], &t[i]);
    CHECK(ok, "cannot read %s/%s", dir, files[i]);
    loaded &= ok;
  }
  if (loaded) {
    scl_ctx *ctx = scl_ctx_new(NULL, NULL);
    printf("recovered laws (envelope + log-log least squares):\n");
    for (size_t li = 0; li < NLAWS; li++) {
      const csv *f = &t[0];
      for (int i = 0; i < 3; i++)
        if (strcmp(LAWS[li].file, files[i]) == 0) f = &t[i];
      for (int m = 0; m < 2; m++) check_panel(ctx, f, li, m);
    }
    printf("worst: a %.3f%%, b %.5f; envelope within %.2f%% of the fit "
           "for C >= %g\n", 100 * worst_a, worst_b, 100 * worst_env, EDGE);
    check_32k(&t[1], &t[2]);
    for (int i = 0; i < 3; i++) check_steps(&t[i], files[i]);
    scl_ctx_free(ctx);
  }
  for (int i = 0; i < 3; i++) csv_free(&t[i]);
  return check_done("moba_data");
}
