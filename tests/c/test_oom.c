/*
 * test_oom.c -- allocation failure at every allocation of every public
 * entry point not already covered by a module's own test.
 *
 * For each entry point and each k = 1, 2, ... the k-th allocation after
 * set-up fails; the call must then return SCL_ENOMEM with the message
 * "out of memory" and no output object, leave no block allocated (the
 * test allocator counts live blocks and bytes, and checks the old size
 * the library passes back), and, for rendering, leave the old file intact
 * and no temporary file beside it.  k grows until a call runs without
 * meeting the failure, which must then succeed.
 *
 * Already covered elsewhere, so not repeated here: every fit kind with
 * and without bootstrap incl. nls with a model callback and a Jacobian,
 * and Chinchilla from a given start (test_fit), the envelope on small
 * curves (test_envelope), PNG rendering of one small chart and chart
 * building (test_render), the threaded CSV reader (test_csv), the CSV
 * writer and JSON (test_export).  This file covers the rest: the CSV
 * reader single-threaded (scanner, libcsv, type conversion, options,
 * parse errors), from a file, a glob, a list and the record iterator;
 * table operations; vector kernels; smoothing; the envelope on long
 * curves (segment tree); Chinchilla's start grid; bounded and weighted
 * fits; crossover; ticks; SVG, PDF and multi-panel PNG rendering.
 * The last line before the summary gives the number of failure points.
 */
#include "check.h"
#include "testdir.h"
#include "scalelua.h"

#include <dirent.h>
#ifdef OOM_TRACE
#include <execinfo.h>
#endif
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* ------------------------------------------------------ the allocator */

#define HDR 16 /* bytes before each block: its size */

typedef struct {
  long count;        /* allocations and growths since armed */
  long fail_at;      /* the one that fails (0: none) */
  int failed;        /* the failure happened */
  long live;         /* blocks allocated */
  long long bytes;   /* bytes allocated */
  long bad_osize;    /* frees/growths told a wrong old size */
} tally;

static void *talloc(void *ud, void *ptr, size_t osize, size_t nsize) {
  tally *a = ud;
  char *h = ptr ? (char *)ptr - HDR : NULL;
  size_t old = 0;
  if (h) {
    memcpy(&old, h, sizeof old);
    if (osize != old && osize != 0) a->bad_osize++;
  }
  if (nsize == 0) {
    if (h) {
      a->live--;
      a->bytes -= (long long)old;
      free(h);
    }
    return NULL;
  }
  if (a->fail_at && ++a->count == a->fail_at) {
    a->failed = 1;
#ifdef OOM_TRACE
    void *bt[16];
    int nb = backtrace(bt, 16);
    backtrace_symbols_fd(bt, nb, 1); fflush(stdout);
#endif
    return NULL;
  }
  char *n = realloc(h, nsize + HDR);
  if (!n) return NULL;
  memcpy(n, &nsize, sizeof nsize);
  if (!h) a->live++;
  a->bytes += (long long)nsize - (long long)old;
  return n + HDR;
}

static void arm(tally *a, long k) {
  a->count = 0;
  a->fail_at = k;
}

static void disarm(tally *a) { a->fail_at = 0; }

/* ------------------------------------------------------------ fixtures */

static char *plain_csv, *quoted_csv;
static size_t plain_len, quoted_len;
static char file_a[128], file_b[128], file_c[128], file_q[128], glob_pat[128];
static double cx[5][400], cy[5][400];
static double fx[40], fy[40], fsat[40], fn[40], fd[40], fl[40], fw[40];

static char *cat(char *buf, size_t *len, size_t *cap, const char *s) {
  size_t n = strlen(s);
  if (*len + n + 1 > *cap) {
    *cap = (*len + n + 1) * 2;
    buf = realloc(buf, *cap);
  }
  memcpy(buf + *len, s, n + 1);
  *len += n;
  return buf;
}

/*
 * 3000 quote-free rows (the scanner and the fused loop; the table grows
 * past its first 1024 rows), a column that turns to text at row 2500
 * (re-tokenized to strings), NA markers, spaces around a number; and a
 * quoted variant (libcsv) with an embedded delimiter, doubled quotes, a
 * quoted line end and CRLF.
 */
static void make_fixtures(void) {
  size_t cap = 0;
  char line[160];
  plain_csv = cat(NULL, &plain_len, &cap, "run,step,loss,tag\n");
  for (int i = 0; i < 3000; i++) {
    snprintf(line, sizeof line, "r%d,%d,%s,%s\n", i % 37, i,
             i % 97 == 5 ? "NA" : i % 101 == 7 ? " 2.5 " : "3.25",
             i == 2500 ? "late-text" : i % 50 == 0 ? "" : "7");
    plain_csv = cat(plain_csv, &plain_len, &cap, line);
  }
  cap = 0;
  quoted_csv = cat(NULL, &quoted_len, &cap, "name,v,note\r\n");
  for (int i = 0; i < 300; i++) {
    snprintf(line, sizeof line,
             "\"r, %d\",%g,\"say \"\"hi\"\" %d\nthen more\"\r\n", i % 13,
             0.5 * i, i);
    quoted_csv = cat(quoted_csv, &quoted_len, &cap, line);
  }
  snprintf(file_a, sizeof file_a, "%s", testdir_path("a.csv"));
  snprintf(file_b, sizeof file_b, "%s", testdir_path("b.csv"));
  snprintf(file_c, sizeof file_c, "%s", testdir_path("c.csv"));
  snprintf(file_q, sizeof file_q, "%s", testdir_path("q.csv"));
  snprintf(glob_pat, sizeof glob_pat, "%s", testdir_path("[abc].csv"));
  test_spit(file_a, plain_csv, plain_len);
  const char *b = "run,step,loss,tag\nx,1,2,3\nx,2,1.5,q\n";
  const char *c = "run,step,loss,tag\ny,1,,\n";
  test_spit(file_b, b, strlen(b));
  test_spit(file_c, c, strlen(c));
  test_spit(file_q, quoted_csv, quoted_len);

  /* five long curves that overlap: the envelope's segment tree */
  for (int c = 0; c < 5; c++)
    for (int i = 0; i < 400; i++) {
      cx[c][i] = (1 + c) * 1e-2 * pow(1.02, i);
      cy[c][i] = (2 + 0.1 * c) * pow(cx[c][i], -0.1 + 0.01 * c) +
                 0.01 * sin(i + c);
    }
  for (int i = 0; i < 40; i++) {
    fx[i] = 1 + i;
    fy[i] = 5 * pow(fx[i], -0.3) * (1 + 0.01 * sin(3.0 * i));
    fsat[i] = 1.5 + 3 * pow(fx[i], -0.5) + 0.005 * cos(5.0 * i);
    fn[i] = 1e7 * (1 + i % 8) * (1 + i / 8);
    fd[i] = 1e9 * (1 + i % 5) * (1 + i / 10.0);
    fl[i] = 1.7 + 400 / pow(fn[i], 0.34) + 410 / pow(fd[i], 0.28);
    fw[i] = 1 + (i % 3);
  }
}

/* ------------------------------------------------------------- driver */

typedef int (*case_fn)(scl_ctx *ctx, tally *a, long k);

static long total_points;

/*
 * Run fn for k = 1, 2, ... until it meets no failure; fn sets up, arms
 * the allocator with k, calls the entry point and cleans up.  want is the
 * status of the run without failure (SCL_OK, or an error for inputs that
 * are bad on purpose).  zero: the entry point must not allocate at all.
 */
static void exercise(const char *name, case_fn fn, int want, int zero) {
  long points = 0, recovered = 0, k;
  int codes = 1, clean = 1, finished = 0;
  for (k = 1; k < 200000 && !finished; k++) {
    tally a;
    memset(&a, 0, sizeof a);
    scl_ctx *ctx = scl_ctx_new(talloc, &a);
    if (!ctx) {
      CHECK(0, "%s: no context", name);
      return;
    }
    int rc = fn(ctx, &a, k);
    disarm(&a);
    if (!a.failed) {
      finished = 1;
      CHECK(rc == want, "%s: without failure: rc %d (want %d) '%s'", name, rc,
            want, scl_ctx_errmsg(ctx));
    } else {
      points++;
      if (rc == want) {
        recovered++; /* e.g. a shrink that failed, or libcsv asking for
                        less: the result was checked by fn */
      } else if (rc != SCL_ENOMEM ||
                 !strstr(scl_ctx_errmsg(ctx), "out of memory")) {
        if (codes)
          printf("  %s: allocation %ld failed -> %d '%s'\n", name, k, rc,
                 scl_ctx_errmsg(ctx));
        codes = 0;
      }
    }
    scl_ctx_free(ctx);
    if (a.live || a.bytes || a.bad_osize) {
      if (clean)
        printf("  %s: k = %ld leaves %ld blocks, %lld bytes, %ld bad sizes\n",
               name, k, a.live, a.bytes, a.bad_osize);
      clean = 0;
    }
  }
  CHECK(finished, "%s: never ran to the end", name);
  CHECK(codes, "%s: a failed allocation gave another status than "
        "SCL_ENOMEM 'out of memory'", name);
  CHECK(clean, "%s: leak or wrong size under allocation failure", name);
  if (zero)
    CHECK(points == 0, "%s: %ld allocations (none expected)", name, points);
  else
    CHECK(points > 0, "%s: no allocation exercised", name);
  printf("  %-28s %5ld failure points (%ld recovered)\n", name, points,
         recovered);
  total_points += points;
}

/* ----------------------------------------------------------- CSV cases */

static int table_out(int rc, scl_table *t) {
  if (rc && t) return -1; /* output on failure: reported as a bad status */
  scl_table_free(t);
  return rc;
}

static int c_buffer_plain(scl_ctx *ctx, tally *a, long k) {
  scl_csv_opts o;
  scl_csv_opts_init(&o);
  o.threads = 1;
  scl_table *t = (scl_table *)1;
  arm(a, k);
  int rc = scl_table_read_csv_buffer(ctx, "p.csv", plain_csv, plain_len, &o,
                                     &t);
  disarm(a);
  if (!rc && (scl_table_nrows(t) != 3000 ||
              scl_table_coltype(t, 3) != SCL_STRING))
    rc = -2;
  return table_out(rc, t);
}

static int c_buffer_quoted(scl_ctx *ctx, tally *a, long k) {
  scl_table *t = (scl_table *)1;
  arm(a, k);
  int rc = scl_table_read_csv_buffer(ctx, "q.csv", quoted_csv, quoted_len,
                                     NULL, &t);
  disarm(a);
  if (!rc && (scl_table_nrows(t) != 300 ||
              strcmp(scl_table_string(t, 2, 299), "say \"hi\" 299\nthen more")))
    rc = -2;
  return table_out(rc, t);
}

static int c_buffer_options(scl_ctx *ctx, tally *a, long k) {
  static const char *const cols[] = {"tag", "loss", "run"};
  static const char *const tn[] = {"tag", "loss"};
  static const scl_type ty[] = {SCL_STRING, SCL_NUMBER};
  static const char *const na[] = {"NA", "-"};
  scl_csv_opts o;
  scl_csv_opts_init(&o);
  o.threads = 1;
  o.columns = cols;
  o.ncolumns = 3;
  o.type_names = tn;
  o.types = ty;
  o.ntypes = 2;
  o.na = na;
  o.nna = 2;
  scl_table *t = (scl_table *)1;
  arm(a, k);
  int rc = scl_table_read_csv_buffer(ctx, "p.csv", plain_csv, plain_len, &o,
                                     &t);
  disarm(a);
  if (!rc && (scl_table_ncols(t) != 3 || scl_table_nrows(t) != 3000))
    rc = -2;
  return table_out(rc, t);
}

/* A declared number column meets text at the last row: the parse error
 * comes after every allocation of the rows before it. */
static int c_buffer_error(scl_ctx *ctx, tally *a, long k) {
  static const char *const tn[] = {"tag"};
  static const scl_type ty[] = {SCL_NUMBER};
  scl_csv_opts o;
  scl_csv_opts_init(&o);
  o.threads = 1;
  o.type_names = tn;
  o.types = ty;
  o.ntypes = 1;
  scl_table *t = (scl_table *)1;
  arm(a, k);
  int rc = scl_table_read_csv_buffer(ctx, "p.csv", plain_csv, plain_len, &o,
                                     &t);
  disarm(a);
  if (rc == SCL_EPARSE &&
      !strstr(scl_ctx_errmsg(ctx), "p.csv:2502:") )
    rc = -2;
  return table_out(rc, t);
}

static int c_file(scl_ctx *ctx, tally *a, long k) {
  scl_csv_opts o;
  scl_csv_opts_init(&o);
  o.threads = 1;
  scl_table *t = (scl_table *)1;
  arm(a, k);
  int rc = scl_table_read_csv(ctx, file_q, &o, &t);
  disarm(a);
  if (!rc && scl_table_nrows(t) != 300) rc = -2;
  return table_out(rc, t);
}

static int c_glob(scl_ctx *ctx, tally *a, long k) {
  scl_csv_opts o;
  scl_csv_opts_init(&o);
  o.threads = 1;
  scl_table *t = (scl_table *)1;
  arm(a, k);
  int rc = scl_table_read_csv(ctx, glob_pat, &o, &t);
  disarm(a);
  if (!rc && (scl_table_nrows(t) != 3003 || scl_table_find(t, "file") != 4))
    rc = -2;
  return table_out(rc, t);
}

static int c_files(scl_ctx *ctx, tally *a, long k) {
  const char *paths[] = {file_c, file_b, file_c};
  scl_table *t = (scl_table *)1;
  arm(a, k);
  int rc = scl_table_read_csv_files(ctx, paths, 3, NULL, &t);
  disarm(a);
  if (!rc && scl_table_nrows(t) != 4) rc = -2;
  return table_out(rc, t);
}

static int c_iterator(scl_ctx *ctx, tally *a, long k) {
  scl_csv_reader *r = (scl_csv_reader *)1;
  size_t records = 0;
  arm(a, k);
  int rc = scl_csv_open(ctx, file_q, NULL, &r);
  if (rc) {
    disarm(a);
    return r ? -1 : rc;
  }
  for (;;) {
    const char *const *f;
    const size_t *l;
    size_t nf;
    if ((rc = scl_csv_next(r, &f, &l, &nf)) || nf == 0) break;
    records++;
  }
  disarm(a);
  scl_csv_close(r);
  if (!rc && records != 301) rc = -2;
  return rc;
}

/* --------------------------------------------------------- table cases */

static scl_table *small_table(scl_ctx *ctx) {
  static const double v[] = {3, 1, NAN, 2, 5};
  static const char *const s[] = {"b", "a", "b", "c", "a"};
  scl_table *t;
  if (scl_table_new(ctx, &t)) return NULL;
  if (scl_table_set_numbers(t, "v", v, 5) ||
      scl_table_set_strings(t, "s", s, 5)) {
    scl_table_free(t);
    return NULL;
  }
  return t;
}

/* new, set columns, append, take, select, order, drop: one sequence. */
static int c_table_ops(scl_ctx *ctx, tally *a, long k) {
  static const size_t rows[] = {4, 0, 0, 2};
  static const char *const names[] = {"s", "v"};
  scl_table *t = NULL, *u = NULL, *w = NULL, *x = NULL;
  size_t order[10];
  arm(a, k);
  int rc = (t = small_table(ctx)) ? SCL_OK : SCL_ENOMEM;
  if (!rc) rc = scl_table_new(ctx, &u);
  if (!rc) rc = scl_table_append(u, t);
  if (!rc) rc = scl_table_append(u, t);
  if (!rc) rc = scl_table_take(u, rows, 4, &w);
  if (!rc) rc = scl_table_select(w, names, 2, &x);
  if (!rc) rc = scl_table_order(u, 1, 1, order);
  if (!rc) rc = scl_table_drop(x, "s");
  disarm(a);
  if (!rc && (scl_table_nrows(u) != 10 || scl_table_ncols(x) != 1 ||
              scl_table_numbers(x, 0)[0] != 5))
    rc = -2;
  if (rc == SCL_ENOMEM && !t) scl_ctx_error(ctx, rc, "out of memory");
  scl_table_free(t);
  scl_table_free(u);
  scl_table_free(w);
  scl_table_free(x);
  return rc;
}

static int c_vec(scl_ctx *ctx, tally *a, long k) {
  double out[40];
  arm(a, k);
  int rc = scl_vec_op(ctx, SCL_POW, fx, 40, fy, 40, out, 40);
  if (!rc) rc = scl_vec_op(ctx, SCL_LOG10, out, 40, NULL, 0, out, 40);
  disarm(a);
  return rc;
}

static int c_smooth(scl_ctx *ctx, tally *a, long k) {
  double y[40];
  memcpy(y, fy, sizeof y);
  arm(a, k);
  int rc = scl_smooth_trailing(ctx, y, 40, 5, y); /* in place: a copy */
  if (!rc) rc = scl_smooth_proportional(ctx, fx, y, 40, 0.2, y);
  if (!rc) rc = scl_smooth_ema(ctx, y, 40, 0.3, y);
  disarm(a);
  return rc;
}

/* ------------------------------------------------ envelope, fits, ticks */

static int c_envelope_long(scl_ctx *ctx, tally *a, long k) {
  scl_curve c[5];
  for (int i = 0; i < 5; i++) c[i] = (scl_curve){cx[i], cy[i], 400};
  scl_envelope_opts o;
  scl_envelope_opts_init(&o);
  scl_envelope *e = (scl_envelope *)1, *p = (scl_envelope *)1;
  arm(a, k);
  int rc = scl_envelope_compute(ctx, c, 5, &o, &e);
  if (rc) {
    disarm(a);
    return e ? -1 : rc;
  }
  o.mode = SCL_ENV_POINTS;
  rc = scl_envelope_compute(ctx, c, 5, &o, &p);
  disarm(a);
  if (!rc && (e->n < 1000 || p->n < 1000)) rc = -2;
  scl_envelope_free(ctx, e);
  if (rc == SCL_ENOMEM) return p ? -1 : rc;
  scl_envelope_free(ctx, p);
  return rc;
}

static int fit_out(scl_ctx *ctx, int rc, scl_fit *f) {
  if (rc && f) return -1;
  scl_fit_free(ctx, f);
  return rc;
}

static int c_chinchilla_grid(scl_ctx *ctx, tally *a, long k) {
  scl_fit *f = (scl_fit *)1;
  arm(a, k);
  int rc = scl_fit_chinchilla(ctx, fn, fd, fl, 40, NULL, &f);
  disarm(a);
  if (!rc && fabs(f->params[3] - 0.34) > 0.02) rc = -2;
  return fit_out(ctx, rc, f);
}

static int c_bounded_weighted(scl_ctx *ctx, tally *a, long k) {
  double lo[3] = {0, 0, -2}, hi[3] = {3, 10, 0};
  scl_fit_opts o;
  scl_fit_opts_init(&o);
  o.weights = fw;
  o.lower = lo;
  o.upper = hi;
  scl_fit *f = (scl_fit *)1, *g = (scl_fit *)1;
  arm(a, k);
  int rc = scl_fit_saturating(ctx, fx, fsat, 40, &o, &f);
  if (rc) {
    disarm(a);
    return f ? -1 : rc;
  }
  o.lower = o.upper = NULL;
  o.method = SCL_METHOD_NLS;
  rc = scl_fit_powerlaw(ctx, fx, fy, 40, &o, &g);
  disarm(a);
  if (!rc && fabs(f->params[2] + 0.5) > 0.05) rc = -2;
  scl_fit_free(ctx, f);
  return fit_out(ctx, rc, g);
}

static int c_crossover(scl_ctx *ctx, tally *a, long k) {
  scl_fit *f, *g;
  if (scl_fit_powerlaw(ctx, fx, fy, 40, NULL, &f)) return -3;
  if (scl_fit_powerlaw(ctx, fx, fsat, 40, NULL, &g)) {
    scl_fit_free(ctx, f);
    return -3;
  }
  double x = 0, r = 0;
  int found = 0;
  arm(a, k);
  int rc = scl_crossover(ctx, f, g, &x, &found);
  if (!rc) rc = scl_compute_ratio(ctx, f, g, 2.5, &r);
  disarm(a);
  scl_fit_free(ctx, f);
  scl_fit_free(ctx, g);
  return rc;
}

static int c_ticks(scl_ctx *ctx, tally *a, long k) {
  scl_tick t[SCL_TICKS_MAX];
  size_t n;
  arm(a, k);
  int rc = scl_ticks(ctx, 0.05, 20, 1, t, SCL_TICKS_MAX, &n);
  if (!rc) rc = scl_ticks(ctx, -3, 7, 0, t, SCL_TICKS_MAX, &n);
  disarm(a);
  return rc;
}

/* ------------------------------------------------------------- render */

static scl_chart *chart(scl_ctx *ctx, int band) {
  scl_chart *c;
  if (scl_chart_new(ctx, &c)) return NULL;
  scl_style s;
  scl_style_init(&s);
  double lo[40], hi[40];
  for (int i = 0; i < 40; i++) {
    lo[i] = fy[i] * 0.95;
    hi[i] = fy[i] * 1.05;
  }
  int rc = scl_chart_set_title(c, "Loss #(727) compute");
  if (!rc) rc = scl_chart_set_axis(c, 0, 1, "PFLOP/s-days", NAN, NAN);
  if (!rc) rc = scl_chart_set_axis(c, 1, 1, "loss", NAN, NAN);
  if (!rc) rc = scl_chart_set_legend(c, SCL_LEGEND_BEST);
  if (!rc) rc = scl_chart_add_line(c, fx, fy, 40, &s, "fit");
  s.marker = SCL_MARK_CIRCLE;
  if (!rc) rc = scl_chart_add_line(c, fx, fsat, 40, &s, "sat");
  if (!rc && band) rc = scl_chart_add_band(c, fx, lo, hi, 40, &s, "band");
  if (rc) {
    scl_chart_free(c);
    return NULL;
  }
  return c;
}

static int render_case(scl_ctx *ctx, tally *a, long k, const char *name,
                       int panels) {
  const char *path = testdir_path(name);
  scl_chart *c[2] = {chart(ctx, 0), chart(ctx, 1)};
  if (!c[0] || !c[1]) {
    scl_chart_free(c[0]);
    scl_chart_free(c[1]);
    return -3;
  }
  scl_figure_opts o;
  scl_figure_opts_init(&o);
  o.width_in = 5;
  o.height_in = 3;
  o.dpi = 60;
  if (panels == 2) {
    o.cols = 2;
    o.title = "two panels";
  }
  test_spit(path, "old", 3);
  int before = testdir_count();
  arm(a, k);
  int rc = scl_render(ctx, c, (size_t)panels, &o, path);
  disarm(a);
  scl_chart_free(c[0]);
  scl_chart_free(c[1]);
  size_t n = 0;
  char *s = test_slurp(path, &n);
  if (rc) {
    /* the old file stays whole, and nothing else is left beside it */
    if (!s || n != 3 || memcmp(s, "old", 3) != 0 || testdir_count() != before)
      rc = -4;
  } else if (!s || n < 100) {
    rc = -5;
  }
  free(s);
  return rc;
}

static int c_render_svg(scl_ctx *ctx, tally *a, long k) {
  return render_case(ctx, a, k, "o.svg", 1);
}
static int c_render_pdf(scl_ctx *ctx, tally *a, long k) {
  return render_case(ctx, a, k, "o.pdf", 1);
}
static int c_render_grid_png(scl_ctx *ctx, tally *a, long k) {
  return render_case(ctx, a, k, "o.png", 2);
}

int main(void) {
  if (!testdir_make("scl-oom")) return 1;
  make_fixtures();
  exercise("read_csv_buffer (scanner)", c_buffer_plain, SCL_OK, 0);
  exercise("read_csv_buffer (libcsv)", c_buffer_quoted, SCL_OK, 0);
  exercise("read_csv_buffer (options)", c_buffer_options, SCL_OK, 0);
  exercise("read_csv_buffer (error)", c_buffer_error, SCL_EPARSE, 0);
  exercise("read_csv (file)", c_file, SCL_OK, 0);
  exercise("read_csv (glob)", c_glob, SCL_OK, 0);
  exercise("read_csv_files", c_files, SCL_OK, 0);
  exercise("csv_open/next", c_iterator, SCL_OK, 0);
  exercise("table operations", c_table_ops, SCL_OK, 0);
  exercise("vec_op", c_vec, SCL_OK, 1);
  exercise("smooth (in place)", c_smooth, SCL_OK, 0);
  exercise("envelope (long curves)", c_envelope_long, SCL_OK, 0);
  exercise("fit_chinchilla (grid)", c_chinchilla_grid, SCL_OK, 0);
  exercise("fits bounded/weighted", c_bounded_weighted, SCL_OK, 0);
  exercise("crossover/compute_ratio", c_crossover, SCL_OK, 1);
  exercise("ticks", c_ticks, SCL_OK, 1);
  exercise("render svg", c_render_svg, SCL_OK, 0);
  exercise("render pdf", c_render_pdf, SCL_OK, 0);
  exercise("render 2 panels png", c_render_grid_png, SCL_OK, 0);
  printf("allocation failure points exercised: %ld\n", total_points);

  const char *names[] = {"a.csv", "b.csv", "c.csv", "q.csv", "o.svg",
                         "o.pdf", "o.png"};
  for (size_t i = 0; i < sizeof names / sizeof *names; i++)
    unlink(testdir_path(names[i]));
  CHECK(testdir_count() == 0, "stray files in %s", testdir());
  testdir_remove();
  free(plain_csv);
  free(quoted_csv);
  return check_done("oom");
}
