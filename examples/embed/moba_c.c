/*
 * moba_c.c -- MoBA Figure 3(b) through the C API alone (no Lua): read the
 * trailing-loss logs, compute C = 6ND / 8.64e19 PFLOP/s-days, take the
 * lower envelope of each method's runs, fit L = a C^b, print the laws and
 * their crossover, and draw the curves with dashed projections.  It does
 * what examples/moba/figure.lua does, step by step, and draws the same
 * figure (the SVGs are byte-identical).
 *
 *   cc moba_c.c $(pkg-config --cflags --libs scalelua) -o moba_c
 *   ./moba_c examples/moba/data/trailing_32k.csv moba_c.png [moba_c.svg]
 */
#include <scalelua.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* One method: its runs (curves), envelope and law. */
typedef struct {
  const char *method, *label;
  uint32_t color;
  scl_curve *curves;
  size_t ncurves;
  scl_envelope *env;
  scl_fit *fit;
} series;

static scl_ctx *ctx;

/* Stop with the library's message (file:line:column where it has one). */
static void check(int rc, const char *what) {
  if (rc == SCL_OK) return;
  fprintf(stderr, "moba_c: %s: %s (%s)\n", what, scl_ctx_errmsg(ctx),
          scl_strerror(rc));
  exit(EXIT_FAILURE);
}

static int column(const scl_table *t, const char *name) {
  int c = scl_table_find(t, name);
  if (c < 0) {
    fprintf(stderr, "moba_c: no column '%s'\n", name);
    exit(EXIT_FAILURE);
  }
  return c;
}

static void *xmalloc(size_t n) {
  void *p = malloc(n ? n : 1);
  if (!p) {
    fprintf(stderr, "moba_c: out of memory\n");
    exit(EXIT_FAILURE);
  }
  return p;
}

int main(int argc, char **argv) {
  if (argc < 3) {
    fprintf(stderr, "usage: %s trailing_32k.csv out.png [out.svg ...]\n",
            argv[0]);
    return 2;
  }
  ctx = scl_ctx_new(NULL, NULL);
  if (!ctx) return EXIT_FAILURE;

  /* read only the columns we use */
  static const char *const cols[] = {"run", "method", "params", "tokens",
                                     "trailing_loss"};
  scl_csv_opts o;
  scl_csv_opts_init(&o);
  o.columns = cols;
  o.ncolumns = 5;
  scl_table *t;
  check(scl_table_read_csv(ctx, argv[1], &o, &t), "read");
  size_t n = scl_table_nrows(t);
  int crun = column(t, "run"), cmethod = column(t, "method");
  const double *N = scl_table_numbers(t, (size_t)column(t, "params"));
  const double *D = scl_table_numbers(t, (size_t)column(t, "tokens"));
  const double *loss =
      scl_table_numbers(t, (size_t)column(t, "trailing_loss"));
  if (!N || !D || !loss) {
    fprintf(stderr, "moba_c: params, tokens and trailing_loss must be "
                    "numeric\n");
    return EXIT_FAILURE;
  }

  /* compute in PFLOP/s-days: (6 N) D / 8.64e19, in C */
  double *C = xmalloc(n * sizeof *C);
  const double six = 6, pflops_day = 8.64e19;
  check(scl_vec_op(ctx, SCL_MUL, &six, 1, N, n, C, n), "6N");
  check(scl_vec_op(ctx, SCL_MUL, C, n, D, n, C, n), "6ND");
  check(scl_vec_op(ctx, SCL_DIV, C, n, &pflops_day, 1, C, n), "PFLOP/s-days");

  /* series = methods, curves = runs, both in order of first appearance
     (string codes are given in that order) */
  const uint32_t *mcode = scl_table_codes(t, (size_t)cmethod);
  const uint32_t *rcode = scl_table_codes(t, (size_t)crun);
  size_t nmethods = scl_table_nlevels(t, (size_t)cmethod);
  size_t nruns = scl_table_nlevels(t, (size_t)crun);
  size_t *count = calloc(nruns, sizeof *count);
  uint32_t *run_method = xmalloc(nruns * sizeof *run_method);
  for (size_t i = 0; i < n; i++) {
    count[rcode[i]]++;
    run_method[rcode[i]] = mcode[i];
  }
  series *S = calloc(nmethods, sizeof *S);
  for (size_t m = 0; m < nmethods; m++) {
    series *s = &S[m];
    s->method = scl_table_level(t, (size_t)cmethod, (uint32_t)m);
    int moba = strcmp(s->method, "moba") == 0;
    s->label = moba ? "MoBA"
               : strcmp(s->method, "full") == 0 ? "Full Attention"
                                                : s->method;
    s->color = moba ? 0x1f77b4 : 0xd62728; /* matplotlib blue, red */
    s->curves = calloc(nruns, sizeof *s->curves);
    for (size_t r = 0; r < nruns; r++) {
      if (run_method[r] != m) continue;
      double *x = xmalloc(count[r] * sizeof *x);
      double *y = xmalloc(count[r] * sizeof *y);
      size_t k = 0;
      for (size_t i = 0; i < n; i++)
        if (rcode[i] == r) {
          x[k] = C[i];
          y[k++] = loss[i];
        }
      s->curves[s->ncurves++] = (scl_curve){x, y, k};
    }
    /* the compute frontier and the law fitted to it */
    check(scl_envelope_compute(ctx, s->curves, s->ncurves, NULL, &s->env),
          "envelope");
    check(scl_fit_powerlaw(ctx, s->env->x, s->env->y, s->env->n, NULL,
                           &s->fit),
          "fit");
  }

  printf("fitted laws, trailing_loss against compute (C API)\n");
  for (size_t m = 0; m < nmethods; m++) {
    const scl_fit *f = S[m].fit;
    printf("  %-24s L = %.4g x C^%.4g   R^2 %.4f %6zu points\n", S[m].label,
           f->params[0], f->params[1], f->r2, f->n);
  }
  for (size_t a = 0; a < nmethods; a++)
    for (size_t b = a + 1; b < nmethods; b++) {
      double x;
      int found;
      check(scl_crossover(ctx, S[a].fit, S[b].fit, &x, &found), "crossover");
      if (found)
        printf("  %s and %s cross at compute = %.4g (trailing_loss = "
               "%.4g)\n",
               S[a].label, S[b].label, x, scl_fit_predict(S[a].fit, x));
      else
        printf("  %s and %s never cross\n", S[a].label, S[b].label);
    }

  /* the chart: every run as a solid line, then each law as a dashed
     projection over the x range, 200 points log-spaced */
  scl_chart *ch;
  check(scl_chart_new(ctx, &ch), "chart");
  const double xlo = 0.05, xhi = 20;
  check(scl_chart_set_axis(ch, 0, 1, "PFLOP/s-days", xlo, xhi), "x axis");
  check(scl_chart_set_axis(ch, 1, 1, "Trailing LM loss (seqlen=32K, last 2K)",
                           0.9, NAN),
        "y axis");
  check(scl_chart_set_legend(ch, SCL_LEGEND_UPPER_RIGHT), "legend");
  for (size_t m = 0; m < nmethods; m++) {
    scl_style st;
    scl_style_init(&st);
    st.color = S[m].color;
    for (size_t c = 0; c < S[m].ncurves; c++)
      check(scl_chart_add_line(ch, S[m].curves[c].x, S[m].curves[c].y,
                               S[m].curves[c].n, &st, NULL),
            "curve");
  }
  enum { NP = 200 };
  double px[NP], py[NP];
  for (size_t m = 0; m < nmethods; m++) {
    for (int k = 0; k < NP; k++) {
      double u = (double)k / (NP - 1);
      px[k] = exp(log(xlo) + u * (log(xhi) - log(xlo)));
      py[k] = scl_fit_predict(S[m].fit, px[k]);
    }
    scl_style st;
    scl_style_init(&st);
    st.color = S[m].color;
    st.dash = SCL_DASH_DASHED;
    char legend[96];
    snprintf(legend, sizeof legend, "%s Projection", S[m].label);
    check(scl_chart_add_line(ch, px, py, NP, &st, legend), "projection");
  }
  scl_figure_opts fo;
  scl_figure_opts_init(&fo);
  for (int i = 2; i < argc; i++) {
    check(scl_render(ctx, &ch, 1, &fo, argv[i]), "render");
    printf("wrote %s\n", argv[i]);
  }

  scl_chart_free(ch);
  for (size_t m = 0; m < nmethods; m++) {
    for (size_t c = 0; c < S[m].ncurves; c++) {
      free((double *)S[m].curves[c].x);
      free((double *)S[m].curves[c].y);
    }
    free(S[m].curves);
    scl_envelope_free(ctx, S[m].env);
    scl_fit_free(ctx, S[m].fit);
  }
  free(S);
  free(count);
  free(run_method);
  free(C);
  scl_table_free(t);
  scl_ctx_free(ctx);
  return EXIT_SUCCESS;
}
