/*
 * test_render.c -- charts and the PLplot renderer.
 *
 * Renders small charts to PNG, SVG and PDF in a temporary directory and
 * checks what came out: PNG size and the colours of the lines in the
 * pixels decoded by libpng's reader, golden SVGs byte for byte
 * (SCALELUA_REGEN_GOLDEN=1 rewrites them), every error path (a clear
 * message, no file left behind, the old file intact), allocation failure
 * at every step, decimation, and the MoBA Figure 3(b) look-alike.
 */
#include "internal.h"

#include "check.h"
#include "testalloc.h"
#include "testdir.h"

#include <dirent.h>
#include <pthread.h>
#include <math.h>
#include <png.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* ------------------------------------------------------------ PNG */

typedef struct {
  uint32_t w, h;
  int channels;
  unsigned char *px; /* w*h*channels */
} image;

/* Decode an 8-bit RGB/RGBA PNG with libpng's reader (which also checks
 * the chunk CRCs and the zlib stream). */
static int png_read(const char *path, image *im) {
  png_image pi;
  memset(im, 0, sizeof *im);
  memset(&pi, 0, sizeof pi);
  pi.version = PNG_IMAGE_VERSION;
  if (!png_image_begin_read_from_file(&pi, path)) return 0;
  int alpha = (pi.format & PNG_FORMAT_FLAG_ALPHA) != 0;
  if (!(pi.format & PNG_FORMAT_FLAG_COLOR) ||
      (pi.format & (PNG_FORMAT_FLAG_LINEAR | PNG_FORMAT_FLAG_COLORMAP))) {
    png_image_free(&pi);
    return 0;
  }
  pi.format = alpha ? PNG_FORMAT_RGBA : PNG_FORMAT_RGB;
  im->w = pi.width;
  im->h = pi.height;
  im->channels = alpha ? 4 : 3;
  im->px = malloc(PNG_IMAGE_SIZE(pi));
  if (!im->px || !png_image_finish_read(&pi, NULL, im->px, 0, NULL)) {
    png_image_free(&pi);
    free(im->px);
    im->px = NULL;
    return 0;
  }
  return 1;
}

/* Pixels within tol of colour rgb in the rectangle [x0,x1) x [y0,y1). */
static long count_color(const image *im, uint32_t rgb, int tol, uint32_t x0,
                        uint32_t y0, uint32_t x1, uint32_t y1) {
  long n = 0;
  int r = rgb >> 16 & 255, g = rgb >> 8 & 255, bl = rgb & 255;
  for (uint32_t y = y0; y < y1 && y < im->h; y++)
    for (uint32_t x = x0; x < x1 && x < im->w; x++) {
      const unsigned char *p = im->px + ((size_t)y * im->w + x) * im->channels;
      if (abs(p[0] - r) <= tol && abs(p[1] - g) <= tol && abs(p[2] - bl) <= tol)
        n++;
    }
  return n;
}

/* Rows of the rectangle holding a run of at least len pixels of colour
 * rgb: the top and bottom edges of a legend frame, not text. */
static long frame_rows(const image *im, uint32_t rgb, uint32_t x0,
                       uint32_t y0, uint32_t x1, uint32_t y1, uint32_t len) {
  long rows = 0;
  int r = rgb >> 16 & 255, g = rgb >> 8 & 255, bl = rgb & 255;
  for (uint32_t y = y0; y < y1 && y < im->h; y++) {
    uint32_t run = 0, best = 0;
    for (uint32_t x = x0; x < x1 && x < im->w; x++) {
      const unsigned char *p = im->px + ((size_t)y * im->w + x) * im->channels;
      int near = abs(p[0] - r) <= 16 && abs(p[1] - g) <= 16 &&
                 abs(p[2] - bl) <= 16;
      run = near ? run + 1 : 0;
      if (run > best) best = run;
    }
    if (best >= len) rows++;
  }
  return rows;
}

/* ---------------------------------------------------------- charts */

/* The MoBA Figure 3(b) look-alike: ten training curves (five model sizes,
 * MoBA in blue, full attention in red) and two dashed projections. */
static scl_chart *moba_chart(scl_ctx *ctx, size_t npts) {
  scl_chart *c;
  if (scl_chart_new(ctx, &c)) return NULL;
  static const double ends[5] = {0.426, 0.873, 1.574, 2.854, 5.381};
  static const double a[2] = {1.546, 1.464}, b[2] = {-0.108, -0.097};
  static const uint32_t col[2] = {0x1f77b4, 0xd62728};
  int rc = scl_chart_set_axis(c, 0, 1, "PFLOP/s-days", 0.05, 20);
  if (!rc)
    rc = scl_chart_set_axis(c, 1, 1, "Trailing LM loss (seqlen=32K, last 2K)",
                            0.9, 5.0);
  double *x = malloc(npts * sizeof *x), *y = malloc(npts * sizeof *y);
  for (int m = 0; m < 2 && !rc; m++)
    for (int i = 0; i < 5 && !rc; i++) {
      for (size_t k = 0; k < npts; k++) {
        /* from 3% of the run's compute to its end, the loss falls from
         * 2.2x the law to it, with a little noise */
        double f = 1 - (double)k / (double)(npts - 1);
        double C = ends[i] * pow(0.03, f);
        x[k] = C;
        y[k] = a[m] * pow(C, b[m]) *
               (1 + 1.2 * (pow(C / ends[i], -0.35) - 1) /
                        (pow(0.03, -0.35) - 1)) *
               (1 + 0.004 * sin(37.0 * k));
      }
      scl_style s;
      scl_style_init(&s);
      s.color = col[m];
      s.width = 1.2;
      rc = scl_chart_add_line(c, x, y, npts, &s, NULL);
    }
  for (int m = 0; m < 2 && !rc; m++) {
    double px[2] = {0.05, 20}, py[2];
    for (int k = 0; k < 2; k++) py[k] = a[m] * pow(px[k], b[m]);
    scl_style s;
    scl_style_init(&s);
    s.color = col[m];
    s.dash = SCL_DASH_DASHED;
    rc = scl_chart_add_line(c, px, py, 2, &s,
                            m ? "Full Attention Projection"
                              : "MoBA Projection");
  }
  free(x);
  free(y);
  if (rc) {
    scl_chart_free(c);
    return NULL;
  }
  return c;
}

/* A small linear chart with a band, markers and every dash style. */
static scl_chart *small_chart(scl_ctx *ctx) {
  scl_chart *c;
  if (scl_chart_new(ctx, &c)) return NULL;
  double x[21], y[21], lo[21], hi[21];
  for (int i = 0; i < 21; i++) {
    x[i] = i * 0.5;
    y[i] = sin(x[i]);
    lo[i] = y[i] - 0.3;
    hi[i] = y[i] + 0.3;
  }
  scl_style s;
  scl_style_init(&s);
  s.alpha = 0.25;
  int rc = scl_chart_set_title(c, "Small chart");
  if (!rc) rc = scl_chart_set_axis(c, 0, 0, "step", NAN, NAN);
  if (!rc) rc = scl_chart_set_axis(c, 1, 0, "value", NAN, NAN);
  if (!rc) rc = scl_chart_add_band(c, x, lo, hi, 21, &s, "band");
  const scl_dash dashes[4] = {SCL_DASH_SOLID, SCL_DASH_DASHED,
                              SCL_DASH_DOTTED, SCL_DASH_DASHDOT};
  const scl_marker marks[4] = {SCL_MARK_CIRCLE, SCL_MARK_SQUARE,
                               SCL_MARK_TRIANGLE, SCL_MARK_CROSS};
  const char *names[4] = {"solid", "dashed", "dotted", "dashdot"};
  for (int d = 0; d < 4 && !rc; d++) {
    double yy[21];
    for (int i = 0; i < 21; i++) yy[i] = y[i] + 0.5 * (d + 1);
    scl_style_init(&s);
    s.dash = dashes[d];
    s.marker = marks[d];
    rc = scl_chart_add_line(c, x, yy, 21, &s, names[d]);
  }
  if (rc) {
    scl_chart_free(c);
    return NULL;
  }
  return c;
}

/* ------------------------------------------------------------ tests */

static void test_chart_api(scl_ctx *ctx) {
  scl_style s;
  scl_style_init(&s);
  CHECK(s.color == SCL_COLOR_AUTO && s.alpha == 1 && s.width == 1.5 &&
            s.dash == SCL_DASH_SOLID && s.marker == SCL_MARK_NONE &&
            s.marker_size == 4,
        "style defaults");
  scl_figure_opts o;
  scl_figure_opts_init(&o);
  CHECK(o.width_in == 6.4 && o.height_in == 4.8 && o.dpi == 150 &&
            o.rows == 1 && o.cols == 1 && o.font_pt == 10 && !o.title,
        "figure defaults");

  scl_chart *c;
  CHECK(scl_chart_new(ctx, &c) == SCL_OK, "new");
  double x[3] = {1, 2, 3}, y[3] = {4, 5, 6};
  CHECK(scl_chart_add_line(c, x, y, 3, NULL, "a") == SCL_OK, "line");
  CHECK(scl_chart_add_line(c, x, y, 3, &s, NULL) == SCL_OK, "line 2");
  x[0] = 99; /* copied in */
  CHECK(c->layers[0].x[0] == 1 && c->layers[0].n == 3, "data copied");
  CHECK(c->layers[0].style.color == 0x0072B2, "palette 0: %06X",
        c->layers[0].style.color);
  CHECK(c->layers[1].style.color == 0xD55E00, "palette 1: %06X",
        c->layers[1].style.color);
  CHECK(strcmp(c->layers[0].legend, "a") == 0 && !c->layers[1].legend,
        "legend");
  s.color = 0x123456;
  CHECK(scl_chart_add_band(c, x, y, y, 3, &s, "b") == SCL_OK, "band");
  CHECK(c->layers[2].style.color == 0x123456 && c->layers[2].y2, "band");
  for (int i = 0; i < 10; i++) /* grow the layer array */
    CHECK(scl_chart_add_line(c, x, y, 3, NULL, NULL) == SCL_OK, "more");
  CHECK(c->layers[6].style.color == 0x000000, "palette 6: %06X",
        c->layers[6].style.color);
  CHECK(c->nlayers == 13 && c->layers[12].style.color == 0xCC79A7,
        "palette wraps: %06X", c->layers[12].style.color);

  s.color = 0x1000000;
  CHECK(scl_chart_add_line(c, x, y, 3, &s, NULL) == SCL_EINVAL, "bad colour");
  scl_style_init(&s);
  s.alpha = 1.5;
  CHECK(scl_chart_add_line(c, x, y, 3, &s, NULL) == SCL_EINVAL, "alpha");
  CHECK(strstr(scl_ctx_errmsg(ctx), "alpha") != NULL, "%s",
        scl_ctx_errmsg(ctx));
  scl_style_init(&s);
  s.width = NAN;
  CHECK(scl_chart_add_line(c, x, y, 3, &s, NULL) == SCL_EINVAL, "width");
  scl_style_init(&s);
  s.dash = (scl_dash)9;
  CHECK(scl_chart_add_line(c, x, y, 3, &s, NULL) == SCL_EINVAL, "dash");
  CHECK(scl_chart_add_line(c, NULL, y, 3, NULL, NULL) == SCL_EINVAL, "NULL");
  CHECK(scl_chart_add_line(c, NULL, NULL, 0, NULL, NULL) == SCL_OK, "empty");

  CHECK(scl_chart_set_axis(c, 2, 0, NULL, NAN, NAN) == SCL_EINVAL, "axis 2");
  CHECK(scl_chart_set_axis(c, 0, 1, NULL, 0, 10) == SCL_EINVAL, "log 0");
  CHECK(strstr(scl_ctx_errmsg(ctx), "x axis") != NULL, "%s",
        scl_ctx_errmsg(ctx));
  CHECK(scl_chart_set_axis(c, 1, 0, NULL, INFINITY, NAN) == SCL_EINVAL,
        "inf limit");
  CHECK(scl_chart_set_axis(c, 1, 0, NULL, 2, 2) == SCL_EINVAL, "lo == hi");
  CHECK(scl_chart_set_axis(c, 1, 1, "loss", 0.5, NAN) == SCL_OK, "half");
  CHECK(c->axis[1].log && strcmp(c->axis[1].label, "loss") == 0 &&
            c->axis[1].lo == 0.5 && isnan(c->axis[1].hi),
        "axis stored");
  CHECK(scl_chart_set_axis(c, 1, 0, NULL, NAN, NAN) == SCL_OK &&
            !c->axis[1].label,
        "label cleared");
  CHECK(scl_chart_set_legend(c, (scl_legend_pos)42) == SCL_EINVAL, "legend");
  CHECK(scl_chart_set_legend(c, SCL_LEGEND_LOWER_LEFT) == SCL_OK &&
            c->legend == SCL_LEGEND_LOWER_LEFT,
        "legend set");
  CHECK(scl_chart_set_title(c, "t") == SCL_OK && !strcmp(c->title, "t"), "t");
  CHECK(scl_chart_set_title(c, NULL) == SCL_OK && !c->title, "no title");
  scl_chart_free(c);
  scl_chart_free(NULL);
}

/* Every k-th allocation of building a chart fails cleanly. */
static void test_chart_oom(void) {
  int done = 0;
  for (long k = 1; k < 200 && !done; k++) {
    testalloc st = {.fail_at = k};
    scl_ctx *ctx = scl_ctx_new(testalloc_fn, &st);
    if (!ctx) continue;
    scl_chart *c = small_chart(ctx);
    if (c) {
      done = 1;
      scl_chart_free(c);
    } else {
      CHECK(scl_ctx_errcode(ctx) == SCL_ENOMEM, "k=%ld: code %d", k,
            scl_ctx_errcode(ctx));
    }
    scl_ctx_free(ctx);
    CHECK(st.bytes == 0, "k=%ld: %ld bytes leaked", k, st.bytes);
  }
  CHECK(done, "chart built once allocations succeed");
}

/* A borrowed line draws the same bytes as a copied one, its summaries are
 * taken all the same, and the chart never frees or writes the caller's
 * arrays (ASan and valgrind watch); allocation failures leak nothing. */
static void test_line_ref(scl_ctx *ctx) {
  size_t n = 3000;
  double *x = malloc(n * sizeof *x), *y = malloc(n * sizeof *y);
  for (size_t i = 0; i < n; i++) {
    x[i] = 0.05 * pow(400, (double)i / (double)(n - 1));
    y[i] = 3 * pow(x[i], -0.1) * (1 + 0.02 * sin((double)i));
  }
  y[17] = NAN;
  scl_chart *c[2];
  for (int b = 0; b < 2; b++) {
    CHECK(scl_chart_new(ctx, &c[b]) == SCL_OK, "new");
    scl_chart_set_axis(c[b], 0, 1, "x", NAN, NAN);
    scl_chart_set_axis(c[b], 1, 1, "y", NAN, NAN);
    int rc = b ? scl_chart_add_line_ref(c[b], x, y, n, NULL, "run")
               : scl_chart_add_line(c[b], x, y, n, NULL, "run");
    CHECK(rc == SCL_OK, "add %d", b);
  }
  const scli_layer *l = &c[1]->layers[0];
  CHECK(l->x == x && l->y == y && l->borrowed, "borrowed, not copied");
  CHECK(l->xmin == x[0] && l->xmax == x[n - 1] && l->xsorted &&
            l->ymin == c[0]->layers[0].ymin && l->ymax == c[0]->layers[0].ymax,
        "summaries as for a copy");
  const char *pa = testdir_path("copied.svg"), *pb = testdir_path("borrowed.svg");
  CHECK(scl_render(ctx, &c[0], 1, NULL, pa) == SCL_OK &&
            scl_render(ctx, &c[1], 1, NULL, pb) == SCL_OK,
        "render: %s", scl_ctx_errmsg(ctx));
  size_t na, nb;
  char *sa = test_slurp(pa, &na), *sb = test_slurp(pb, &nb);
  CHECK(sa && sb && na == nb && memcmp(sa, sb, na) == 0, "same SVG");
  free(sa);
  free(sb);
  scl_chart_free(c[0]);
  scl_chart_free(c[1]);
  CHECK(x[5] == 0.05 * pow(400, 5.0 / (double)(n - 1)), "caller's data kept");
  /* an empty borrowed line may pass NULL */
  CHECK(scl_chart_new(ctx, &c[0]) == SCL_OK &&
            scl_chart_add_line_ref(c[0], NULL, NULL, 0, NULL, NULL) ==
                SCL_OK,
        "empty borrowed line");
  scl_chart_free(c[0]);
  for (long k = 1; k < 20; k++) {
    testalloc st = {.fail_at = k};
    scl_ctx *fc = scl_ctx_new(testalloc_fn, &st);
    if (!fc) continue;
    scl_chart *fcc = NULL;
    int rc = scl_chart_new(fc, &fcc);
    if (!rc) rc = scl_chart_add_line_ref(fcc, x, y, n, NULL, "legend");
    CHECK(rc == SCL_OK || rc == SCL_ENOMEM, "k=%ld: rc %d", k, rc);
    scl_chart_free(fcc);
    scl_ctx_free(fc);
    CHECK(st.bytes == 0, "k=%ld: %ld bytes leaked", k, st.bytes);
  }
  free(x);
  free(y);
}

/* Decimation keeps, per pixel column, first, last, lowest and highest. */
/* A layer's summaries (taken while copying, in blocks, with SSE2 on
 * clean blocks) against a plain reference, over random data with NaN,
 * infinities, values <= 0 and disorder placed anywhere. */
static void test_summaries(scl_ctx *ctx) {
  uint32_t seed = 99;
  int all = 1;
  for (int round = 0; round < 300; round++) {
    size_t n = 1 + (size_t)(round * 37 % 2500);
    double *x = malloc(n * sizeof *x), *y = malloc(n * sizeof *y);
    double *z = malloc(n * sizeof *z);
    for (size_t i = 0; i < n; i++) {
      x[i] = 0.5 + (double)i;
      y[i] = 1 + (double)((i * 7919) % 1000);
      z[i] = y[i] + 1;
    }
    int kinds = round % 8; /* how many oddities, each at a random place */
    for (int k = 0; k < kinds; k++) {
      seed = seed * 1664525u + 1013904223u;
      size_t at = (seed >> 8) % n;
      static const double odd[] = {NAN, INFINITY, -INFINITY, 0, -3, 1e-300};
      double v = odd[(seed >> 4) % 6];
      switch ((seed >> 12) % 4) {
      case 0: x[at] = v; break;
      case 1: y[at] = v; break;
      case 2: z[at] = v; break;
      default: x[at] = x[at] - 100; break; /* out of order */
      }
    }
    scl_chart *c;
    scl_chart_new(ctx, &c);
    CHECK(scl_chart_add_line(c, x, y, n, NULL, NULL) == SCL_OK &&
              scl_chart_add_band(c, x, y, z, n, NULL, NULL) == SCL_OK,
          "add");
    for (int b = 0; b < 2; b++) {
      const scli_layer *l = &c->layers[b];
      const double *y2 = b ? z : NULL;
      double xmin = INFINITY, xmax = -INFINITY, ymin = INFINITY,
             ymax = -INFINITY, prev = -INFINITY;
      size_t xneg = n, yneg = n, y2neg = n;
      int sorted = 1;
      for (size_t i = 0; i < n; i++) {
        if (!(x[i] >= prev)) sorted = 0;
        prev = x[i];
        if (x[i] <= 0 && xneg == n) xneg = i;
        if (y[i] <= 0 && yneg == n) yneg = i;
        if (y2 && y2[i] <= 0 && y2neg == n) y2neg = i;
        if (!isfinite(x[i])) continue;
        xmin = fmin(xmin, x[i]), xmax = fmax(xmax, x[i]);
        if (isfinite(y[i])) ymin = fmin(ymin, y[i]), ymax = fmax(ymax, y[i]);
        if (y2 && isfinite(y2[i]))
          ymin = fmin(ymin, y2[i]), ymax = fmax(ymax, y2[i]);
      }
      int ok = l->xmin == xmin && l->xmax == xmax && l->ymin == ymin &&
               l->ymax == ymax && l->xneg == xneg && l->yneg == yneg &&
               l->y2neg == y2neg && l->xsorted == sorted &&
               memcmp(l->x, x, n * sizeof *x) == 0;
      if (!ok) {
        all = 0;
        printf("round %d layer %d n %zu: x %g..%g (%g..%g) y %g..%g (%g..%g)"
               " neg %zu %zu %zu (%zu %zu %zu) sorted %d (%d)\n", round, b,
               n, l->xmin, l->xmax, xmin, xmax, l->ymin, l->ymax, ymin, ymax,
               l->xneg, l->yneg, l->y2neg, xneg, yneg, y2neg, l->xsorted,
               sorted);
      }
    }
    scl_chart_free(c);
    free(x);
    free(y);
    free(z);
  }
  CHECK(all, "layer summaries match the reference in 300 rounds");
}

static void test_decimate(void) {
  size_t n = 1000000, ncol = 500;
  double *x = malloc(n * sizeof *x), *y = malloc(n * sizeof *y);
  size_t *keep = malloc(n * sizeof *keep);
  for (size_t i = 0; i < n; i++) {
    x[i] = 0.05 * pow(400, (double)i / (double)(n - 1));
    y[i] = 2 * pow(x[i], -0.1) + 0.3 * sin((double)i * 0.01) *
                                      cos((double)i * 0.0007);
  }
  y[123456] = NAN; /* a gap is kept */
  size_t m = scli_decimate(x, y, n, 0.05, 20, 1, ncol, 0, keep);
  CHECK(m <= 4 * ncol + 3 && m > 2 * ncol, "kept %zu of %zu", m, n);
  /* knowing x ascending changes the speed, not the points */
  size_t *keep2 = malloc(n * sizeof *keep2);
  size_t m2 = scli_decimate(x, y, n, 0.05, 20, 1, ncol, SCLI_DEC_SORTED,
                            keep2);
  CHECK(m2 == m && memcmp(keep, keep2, m * sizeof *keep) == 0,
        "sorted path: %zu points, unsorted %zu", m2, m);
  double xl[7] = {0, 1, 2, 3, 4, 5, 6}, yl[7] = {1, 3, NAN, 2, 5, 0, 1};
  size_t a7[7], b7[7]; /* a gap inside a column, linear x */
  size_t ma = scli_decimate(xl, yl, 7, 0, 100, 0, 2, 0, a7);
  size_t mb = scli_decimate(xl, yl, 7, 0, 100, 0, 2, SCLI_DEC_SORTED, b7);
  CHECK(ma == mb && memcmp(a7, b7, ma * sizeof *a7) == 0 && ma == 7,
        "gap in a sorted column: %zu and %zu", ma, mb);
  int sorted = 1, gap = 0;
  for (size_t i = 0; i < m; i++) {
    if (i && keep[i] <= keep[i - 1]) sorted = 0;
    if (keep[i] == 123456) gap = 1;
  }
  CHECK(sorted && gap && keep[0] == 0 && keep[m - 1] == n - 1,
        "ordered, gap and ends kept");
  /* per column: the kept extremes are the true extremes */
  double lo[500], hi[500], klo[500], khi[500];
  for (size_t c = 0; c < ncol; c++)
    lo[c] = klo[c] = INFINITY, hi[c] = khi[c] = -INFINITY;
  for (size_t i = 0; i < n; i++) {
    if (isnan(y[i])) continue;
    size_t c = (size_t)fmin(ncol - 1, floor(log10(x[i] / 0.05) /
                                            log10(400) * (double)ncol));
    lo[c] = fmin(lo[c], y[i]);
    hi[c] = fmax(hi[c], y[i]);
  }
  for (size_t i = 0; i < m; i++) {
    size_t s = keep[i];
    if (isnan(y[s])) continue;
    size_t c = (size_t)fmin(ncol - 1, floor(log10(x[s] / 0.05) /
                                            log10(400) * (double)ncol));
    klo[c] = fmin(klo[c], y[s]);
    khi[c] = fmax(khi[c], y[s]);
  }
  int same = 1;
  for (size_t c = 0; c < ncol; c++)
    if (lo[c] != klo[c] || hi[c] != khi[c]) same = 0;
  CHECK(same, "column extremes preserved");
  /* ties: y on a coarse grid, so a column's extremes occur many times;
   * the sorted path (whole stretches at once) keeps the same first
   * occurrences as the point-by-point one */
  for (size_t i = 0; i < n; i++) y[i] = round(y[i] * 8) / 8;
  y[123456] = NAN;
  m = scli_decimate(x, y, n, 0.05, 20, 1, ncol, 0, keep);
  m2 = scli_decimate(x, y, n, 0.05, 20, 1, ncol, SCLI_DEC_SORTED, keep2);
  CHECK(m2 == m && memcmp(keep, keep2, m * sizeof *keep) == 0,
        "ties: sorted path %zu points, unsorted %zu", m2, m);
  for (size_t i = 0; i < n; i++)
    y[i] = 2 * pow(x[i], -0.1) + 0.3 * sin((double)i * 0.01) *
                                     cos((double)i * 0.0007);
  y[123456] = NAN;
  /* lines: each column's extremes, no more than two a column beyond the
   * ends of the stretches, the same with x known sorted */
  for (int f = 0; f < 2; f++) {
    int flags = SCLI_DEC_LINE | (f ? SCLI_DEC_SORTED : 0);
    size_t ml = scli_decimate(x, y, n, 0.05, 20, 1, ncol, flags, keep2);
    for (size_t c = 0; c < ncol; c++)
      klo[c] = INFINITY, khi[c] = -INFINITY;
    int gapl = 0;
    for (size_t i = 0; i < ml; i++) {
      size_t s = keep2[i];
      if (isnan(y[s])) {
        gapl = 1;
        continue;
      }
      size_t c = (size_t)fmin(ncol - 1, floor(log10(x[s] / 0.05) /
                                              log10(400) * (double)ncol));
      klo[c] = fmin(klo[c], y[s]);
      khi[c] = fmax(khi[c], y[s]);
    }
    same = 1;
    for (size_t c = 0; c < ncol; c++)
      if (lo[c] != klo[c] || hi[c] != khi[c]) same = 0;
    CHECK(same && gapl && ml <= 2 * ncol + 8 && keep2[0] == 0 &&
              keep2[ml - 1] == n - 1,
          "line decimation (flags %d): %zu points, extremes, gap, ends",
          flags, ml);
  }
  /* linear x, non-monotonic: still exact per run */
  double xs[8] = {0, 0.1, 0.2, 5, 5.1, 0.3, 0.35, 9}, ys[8] = {1, 5, 2, 3,
                                                               4, 0, 7, 1};
  size_t k8[8];
  size_t m8 = scli_decimate(xs, ys, 8, 0, 10, 0, 2, 0, k8);
  /* columns: 0 0 0 1 1 0 0 1 -> runs {0,1,2} {3,4} {5,6} {7} */
  CHECK(m8 == 8, "small runs keep all, got %zu", m8);
  double xr[6] = {0, 1, 2, 3, 4, 5}, yr[6] = {3, 9, 1, 4, 2, 3};
  size_t k6[6];
  size_t m6 = scli_decimate(xr, yr, 6, 0, 100, 0, 1, SCLI_DEC_SORTED, k6);
  CHECK(m6 == 4 && k6[0] == 0 && k6[1] == 1 && k6[2] == 2 && k6[3] == 5,
        "one column keeps first, max, min, last: %zu", m6);
  free(x);
  free(y);
  free(keep);
  free(keep2);
}

/*
 * The PNG writer on its own: images that a chart never makes (noise, one
 * pixel, long runs) decode to the same bytes; allocation failures (libpng
 * and zlib allocate through the context), an unwritable path and a write
 * error in the middle of the stream are clean errors without leaks.
 */
static void test_png_writer(scl_ctx *ctx) {
  uint32_t sizes[4][2] = {{1, 1}, {7, 5}, {300, 200}, {2000, 3}};
  srand(7);
  for (int k = 0; k < 4; k++) {
    uint32_t w = sizes[k][0], h = sizes[k][1];
    size_t n = (size_t)w * h * 3;
    unsigned char *rgb = malloc(n);
    for (size_t i = 0; i < n; i++) /* noise, or long runs then a pattern */
      rgb[i] = k < 3 ? (unsigned char)(rand() >> 7)
               : i < n / 2 ? 255 : (unsigned char)(i % 7 * 30);
    char name[32];
    snprintf(name, sizeof name, "writer%d.png", k);
    const char *p = testdir_path(name);
    int rc = scli_png_write(ctx, p, rgb, w, h);
    image im;
    CHECK(rc == SCL_OK && png_read(p, &im) && im.w == w && im.h == h &&
              im.channels == 3 && memcmp(im.px, rgb, n) == 0,
          "PNG writer round trip %ux%u (case %d)", w, h, k);
    free(im.px);
    free(rgb);
  }
  unsigned char px[12 * 3 * 10];
  memset(px, 200, sizeof px);
  int clean = 1, done = 0;
  long fail;
  for (fail = 1; fail < 200 && !done; fail++) {
    testalloc st;
    scl_ctx *fc = testalloc_ctx(&st);
    testalloc_fail_next(&st, fail);
    int rc = scli_png_write(fc, testdir_path("writer_oom.png"), px, 12, 10);
    st.fail_at = 0;
    if (rc == SCL_OK) done = 1;
    else if (rc != SCL_ENOMEM) clean = 0;
    scl_ctx_free(fc);
    if (st.bytes != 0) clean = 0;
  }
  CHECK(clean && done && fail > 4, "PNG writer: %ld allocation failures "
        "give SCL_ENOMEM, no leak", fail - 2);
  image im;
  CHECK(png_read(testdir_path("writer_oom.png"), &im) && im.w == 12 &&
            im.px[0] == 200, "PNG writer: written once allocations succeed");
  free(im.px);
  CHECK(scli_png_write(ctx, testdir_path("nodir/x.png"), px, 12, 10) == SCL_EIO &&
            strstr(scl_ctx_errmsg(ctx), "nodir/x.png"),
        "PNG writer: unwritable path is SCL_EIO: %s", scl_ctx_errmsg(ctx));
  /* /dev/full takes the file but fails the writes: libpng's error
   * unwinds by longjmp, and nothing it or zlib allocated stays behind */
  if (access("/dev/full", W_OK) == 0) {
    testalloc st;
    scl_ctx *fc = testalloc_ctx(&st);
    unsigned char *big = malloc(300 * 3 * 200);
    for (size_t i = 0; i < 300 * 3 * 200; i++)
      big[i] = (unsigned char)(rand() >> 7);
    int rc = scli_png_write(fc, "/dev/full", big, 300, 200);
    CHECK(rc == SCL_EIO && strstr(scl_ctx_errmsg(fc), "/dev/full"),
          "PNG writer: full device is SCL_EIO: %s", scl_ctx_errmsg(fc));
    scl_ctx_free(fc);
    CHECK(st.bytes == 0, "PNG writer: full device, %ld bytes leaked",
          st.bytes);
    free(big);
  }
  CHECK(scli_png_write(ctx, testdir_path("empty.png"), px, 0, 10) == SCL_EINVAL,
        "PNG writer: an empty image is SCL_EINVAL");
}

static void test_png(scl_ctx *ctx) {
  scl_chart *c = moba_chart(ctx, 300);
  CHECK(c != NULL, "moba chart");
  if (!c) return;
  scl_figure_opts o;
  scl_figure_opts_init(&o);
  const char *p = testdir_path("moba.png");
  int rc = scl_render(ctx, &c, 1, &o, p);
  CHECK(rc == SCL_OK, "render png: %s", scl_ctx_errmsg(ctx));
  image im;
  CHECK(png_read(p, &im), "decode %s", p);
  CHECK(im.w == 960 && im.h == 720, "6.4x4.8 in at 150 dpi: %ux%u", im.w,
        im.h);
  if (im.px) {
    CHECK(count_color(&im, 0xFFFFFF, 0, 0, 0, 20, 20) == 400,
          "white background");
    CHECK(count_color(&im, 0x1f77b4, 8, 0, 0, im.w, im.h) > 2000,
          "blue lines");
    CHECK(count_color(&im, 0xd62728, 8, 0, 0, im.w, im.h) > 2000,
          "red lines");
    CHECK(count_color(&im, 0x000000, 40, 0, 0, im.w, im.h) > 2000,
          "black axes and text");
    CHECK(count_color(&im, 0x0072B2, 4, 0, 0, im.w, im.h) == 0,
          "no palette colour");
    /* the legend (light grey frame) went to the upper right, where the
     * falling curves leave room */
    long ur = frame_rows(&im, 0xCCCCCC, im.w / 2, 0, im.w, im.h / 3, 100);
    long ll = frame_rows(&im, 0xCCCCCC, 0, im.h / 2, im.w / 2, im.h, 100);
    CHECK(ur >= 2 && ll == 0, "legend upper right: %ld vs %ld", ur, ll);
    free(im.px);
  }
  /* size follows the options: 4 x 3 in at 100 dpi */
  o.width_in = 4;
  o.height_in = 3;
  o.dpi = 100;
  rc = scl_render(ctx, &c, 1, &o, p);
  CHECK(rc == SCL_OK && png_read(p, &im) && im.w == 400 && im.h == 300,
        "400x300: %u x %u", im.w, im.h);
  free(im.px);
  scl_chart_free(c);
}

/* PNG lines drawn by raster.c look like cairo's: the MoBA chart and a
 * chart of 60 crossing translucent curves rendered both ways differ by
 * little on average, and by much only on a sliver of edge pixels. */
static void compare_fast(scl_ctx *ctx, scl_chart *c, const char *what) {
  const char *pf = testdir_path("fast.png"), *pc = testdir_path("cairo.png");
  int rc = scl_render(ctx, &c, 1, NULL, pf);
  scli_render_fast_lines(0);
  if (!rc) rc = scl_render(ctx, &c, 1, NULL, pc);
  scli_render_fast_lines(1);
  CHECK(rc == SCL_OK, "%s: %s", what, scl_ctx_errmsg(ctx));
  image a, b;
  if (rc || !png_read(pf, &a) || !png_read(pc, &b)) {
    CHECK(0, "%s: decode", what);
    return;
  }
  CHECK(a.w == b.w && a.h == b.h, "%s: same size", what);
  double sum = 0, ink_a = 0, ink_b = 0;
  long far = 0, n = (long)a.w * a.h * 3;
  for (long i = 0; i < n && a.w == b.w && a.h == b.h; i++) {
    int d = abs(a.px[i] - b.px[i]);
    sum += d;
    far += d > 96;
    ink_a += 255 - a.px[i];
    ink_b += 255 - b.px[i];
  }
  printf("%s: mean |diff| %.3f, %.4f%% of channels off by > 96, ink %.4f\n",
         what, sum / n, 100.0 * far / n, ink_a / ink_b);
  CHECK(sum / n < 1.0, "%s: mean difference %.3f", what, sum / n);
  CHECK(far < n / 500, "%s: %ld channels far off", what, far);
  CHECK(fabs(ink_a / ink_b - 1) < 0.03, "%s: ink ratio %.4f", what,
        ink_a / ink_b);
  free(a.px);
  free(b.px);
}

static void test_fast_lines(scl_ctx *ctx) {
  scl_chart *c = moba_chart(ctx, 300);
  CHECK(c != NULL, "moba chart");
  if (c) compare_fast(ctx, c, "moba");
  scl_chart_free(c);
  CHECK(scl_chart_new(ctx, &c) == SCL_OK, "new chart");
  double x[200], y[200];
  for (int k = 0; k < 60; k++) {
    for (int i = 0; i < 200; i++) {
      x[i] = i + 0.37 * k;
      y[i] = sin(i * (0.02 + 0.003 * k)) * (1 + 0.01 * k) + 0.02 * k;
    }
    scl_style s;
    scl_style_init(&s);
    s.width = 0.5 + 0.1 * (k % 30);
    s.alpha = k % 3 ? 1 : 0.5;
    CHECK(scl_chart_add_line(c, x, y, 200, &s, NULL) == SCL_OK, "line %d",
          k);
  }
  compare_fast(ctx, c, "60 curves");
  scl_chart_free(c);
}

/* "best" puts the legend in the corner with the fewest data points. */
static void test_best_legend(scl_ctx *ctx) {
  scl_chart *c;
  scl_chart_new(ctx, &c);
  double x[200], y[200];
  for (int i = 0; i < 200; i++) { /* rising: fills upper right, lower left */
    x[i] = i;
    y[i] = i;
  }
  scl_style s;
  scl_style_init(&s);
  s.color = 0x000000;
  scl_chart_add_line(c, x, y, 200, &s, "rising line with a long legend");
  const char *p = testdir_path("best.png");
  CHECK(scl_render(ctx, &c, 1, NULL, p) == SCL_OK, "%s", scl_ctx_errmsg(ctx));
  image im;
  if (png_read(p, &im)) {
    long ul = frame_rows(&im, 0xCCCCCC, 0, 0, im.w / 2, im.h / 3, 100);
    long ur = frame_rows(&im, 0xCCCCCC, im.w / 2, 0, im.w, im.h / 3, 100);
    CHECK(ul >= 2 && ur == 0, "legend upper left: %ld vs %ld", ul, ur);
    free(im.px);
  } else {
    CHECK(0, "decode");
  }
  scl_chart_free(c);
}

/* With explicit x limits, y limits come from the points inside them. */
static void test_visible_y(scl_ctx *ctx) {
  scl_chart *c;
  scl_chart_new(ctx, &c);
  double x[12], y[12];
  for (int i = 0; i < 12; i++) {
    x[i] = i - 1;               /* -1 .. 10 */
    y[i] = i < 2 ? 1000 : i / 10.0; /* huge where x < 1 */
  }
  scl_style s;
  scl_style_init(&s);
  s.color = 0xd62728;
  scl_chart_set_axis(c, 0, 0, NULL, 1, 10);
  scl_chart_add_line(c, x, y, 12, &s, NULL);
  const char *p = testdir_path("visible.png");
  CHECK(scl_render(ctx, &c, 1, NULL, p) == SCL_OK, "%s", scl_ctx_errmsg(ctx));
  image im;
  if (png_read(p, &im)) {
    /* the visible part rises across the whole height of the axes */
    long top = count_color(&im, 0xd62728, 8, 0, 0, im.w, im.h / 3);
    long bottom = count_color(&im, 0xd62728, 8, 0, im.h * 2 / 3, im.w, im.h);
    CHECK(top > 200 && bottom > 200, "top %ld, bottom %ld", top, bottom);
    free(im.px);
  } else {
    CHECK(0, "decode");
  }
  scl_chart_free(c);
}

static void test_grid_svg_pdf(scl_ctx *ctx) {
  scl_chart *p[3] = {small_chart(ctx), moba_chart(ctx, 100), small_chart(ctx)};
  CHECK(p[0] && p[1] && p[2], "charts");
  if (!p[0] || !p[1] || !p[2]) return;
  scl_chart_set_axis(p[2], 1, 1, "log value", NAN, NAN);
  scl_figure_opts o;
  scl_figure_opts_init(&o);
  o.rows = 2;
  o.cols = 2;
  o.width_in = 10;
  o.height_in = 7;
  o.title = "A 2 x 2 grid";
  /* p[2] has negative values on its now logarithmic y axis */
  int rc = scl_render(ctx, p, 3, &o, testdir_path("grid.png"));
  CHECK(rc == SCL_EINVAL, "negative on log y: %d", rc);
  CHECK(strstr(scl_ctx_errmsg(ctx), "panel 3, layer 1 (band band): lo[") &&
            strstr(scl_ctx_errmsg(ctx), "not positive on a log y axis"),
        "%s", scl_ctx_errmsg(ctx));
  scl_chart_set_axis(p[2], 1, 0, "value", NAN, NAN);
  rc = scl_render(ctx, p, 3, &o, testdir_path("grid.png"));
  CHECK(rc == SCL_OK, "grid: %s", scl_ctx_errmsg(ctx));
  image im;
  if (png_read(testdir_path("grid.png"), &im)) {
    CHECK(im.w == 1500 && im.h == 1050, "%u x %u", im.w, im.h);
    /* the fourth cell (lower right) is empty */
    CHECK(count_color(&im, 0xFFFFFF, 0, im.w / 2 + 5, im.h / 2 + 40,
                      im.w - 5, im.h - 5) ==
              (long)(im.w - 5 - im.w / 2 - 5) * (im.h - 5 - im.h / 2 - 40),
          "empty cell");
    free(im.px);
  }
  o.rows = 1;
  o.cols = 1;
  CHECK(scl_render(ctx, p, 2, &o, testdir_path("x.png")) == SCL_EINVAL,
        "2 panels in 1x1");
  CHECK(strstr(scl_ctx_errmsg(ctx), "do not fit"), "%s", scl_ctx_errmsg(ctx));

  o.rows = 2;
  o.cols = 2;
  size_t n;
  CHECK(scl_render(ctx, p, 3, &o, testdir_path("grid.svg")) == SCL_OK, "svg");
  char *svg = test_slurp(testdir_path("grid.svg"), &n);
  CHECK(svg && strstr(svg, "<svg") && strstr(svg, "width=\"720pt\"") &&
            strstr(svg, "height=\"504pt\""),
        "svg page 720 x 504 pt");
  CHECK(svg && strstr(svg, "rgb(12.156863%,46.666667%,70.588235%)"),
        "blue #1f77b4 in the svg");
  CHECK(svg && strstr(svg, "rgb(83.921569%,15.294118%,15.686275%)"),
        "red #d62728 in the svg");
  CHECK(svg && strstr(svg, "fill-opacity:0.25"), "translucent band");
  free(svg);
  CHECK(scl_render(ctx, p, 3, &o, testdir_path("grid.pdf")) == SCL_OK, "pdf");
  char *pdf = test_slurp(testdir_path("grid.pdf"), &n);
  CHECK(pdf && n > 1000 && memcmp(pdf, "%PDF-", 5) == 0, "pdf header");
  free(pdf);
  /* SOURCE_DATE_EPOCH fixes the PDF's creation date: identical bytes */
  setenv("SOURCE_DATE_EPOCH", "1700000000", 1);
  size_t n2;
  CHECK(scl_render(ctx, p, 3, &o, testdir_path("e1.pdf")) == SCL_OK, "pdf 1");
  CHECK(scl_render(ctx, p, 3, &o, testdir_path("e2.pdf")) == SCL_OK, "pdf 2");
  unsetenv("SOURCE_DATE_EPOCH");
  pdf = test_slurp(testdir_path("e1.pdf"), &n);
  char *pdf2 = test_slurp(testdir_path("e2.pdf"), &n2);
  CHECK(pdf && memmem(pdf, n, "/CreationDate (D:20231114221320Z)", 33),
        "date from SOURCE_DATE_EPOCH");
  CHECK(pdf && pdf2 && n == n2 && memcmp(pdf, pdf2, n) == 0,
        "reproducible PDF");
  free(pdf);
  free(pdf2);
  CHECK(scl_render(ctx, p, 3, &o, testdir_path("UPPER.SVG")) == SCL_OK,
        "extension case");
  for (int i = 0; i < 3; i++) scl_chart_free(p[i]);
}

/* Same input, same bytes; and the same as the golden files. */
static void test_golden(scl_ctx *ctx) {
  const char *regen = getenv("SCALELUA_REGEN_GOLDEN");
  const char *names[2] = {"moba_fig3b.svg", "small.svg"};
  for (int g = 0; g < 2; g++) {
    scl_chart *c = g ? small_chart(ctx) : moba_chart(ctx, 120);
    if (!c) {
      CHECK(0, "chart");
      continue;
    }
    const char *a = testdir_path("g1.svg"), *b = testdir_path("g2.svg");
    CHECK(scl_render(ctx, &c, 1, NULL, a) == SCL_OK, "%s",
          scl_ctx_errmsg(ctx));
    CHECK(scl_render(ctx, &c, 1, NULL, b) == SCL_OK, "%s",
          scl_ctx_errmsg(ctx));
    size_t na, nb, ng;
    char *sa = test_slurp(a, &na), *sb = test_slurp(b, &nb);
    CHECK(sa && sb && na == nb && memcmp(sa, sb, na) == 0,
          "%s: two renders are byte-identical", names[g]);
    char golden[512];
    snprintf(golden, sizeof golden, "tests/golden/%s", names[g]);
    if (regen && strcmp(regen, "1") == 0) {
      test_spit(golden, sa, na);
      printf("regenerated %s\n", golden);
    }
    char *sg = test_slurp(golden, &ng);
    CHECK(sg != NULL, "missing %s (run with SCALELUA_REGEN_GOLDEN=1)",
          golden);
    CHECK(sg && sa && ng == na && memcmp(sg, sa, na) == 0,
          "%s differs from the golden file (%zu vs %zu bytes); if the "
          "change is intended, rerun with SCALELUA_REGEN_GOLDEN=1",
          golden, na, ng);
    free(sa);
    free(sb);
    free(sg);
    scl_chart_free(c);
  }
}

static void test_errors(scl_ctx *ctx) {
  scl_chart *c = moba_chart(ctx, 50);
  char ok[512];
  snprintf(ok, sizeof ok, "%s", testdir_path("keep.png"));
  test_spit(ok, "old content", 11);
  int before = testdir_count();
  scl_figure_opts o;
  scl_figure_opts_init(&o);

  /* unknown extension */
  CHECK(scl_render(ctx, &c, 1, NULL, testdir_path("fig.gif")) == SCL_EINVAL,
        "gif");
  CHECK(strstr(scl_ctx_errmsg(ctx), "unknown extension"), "%s",
        scl_ctx_errmsg(ctx));
  CHECK(scl_render(ctx, &c, 1, NULL, testdir_path("noext")) == SCL_EINVAL,
        "no extension");
  /* missing directory */
  CHECK(scl_render(ctx, &c, 1, NULL, testdir_path("nodir/fig.png")) == SCL_EIO,
        "missing dir");
  CHECK(strstr(scl_ctx_errmsg(ctx), "nodir"), "%s", scl_ctx_errmsg(ctx));
  /* a directory where the file should be */
  mkdir(testdir_path("sub.png"), 0755);
  before++;
  CHECK(scl_render(ctx, &c, 1, NULL, testdir_path("sub.png")) == SCL_EINVAL,
        "directory as target");
  /* a file where the directory should be */
  CHECK(scl_render(ctx, &c, 1, NULL, testdir_path("keep.png/fig.png")) ==
            SCL_EIO,
        "file as directory");
  /* unwritable directory: root may write anywhere but /proc */
  const char *ro = "/proc/scalelua-test.png";
  if (geteuid() != 0) {
    mkdir(testdir_path("ro"), 0555);
    before++;
    ro = testdir_path("ro/fig.png");
  }
  CHECK(scl_render(ctx, &c, 1, NULL, ro) == SCL_EIO, "unwritable: %s",
        scl_ctx_errmsg(ctx));
  /* options */
  o.dpi = 0;
  CHECK(scl_render(ctx, &c, 1, &o, ok) == SCL_EINVAL, "dpi 0");
  scl_figure_opts_init(&o);
  o.width_in = NAN;
  CHECK(scl_render(ctx, &c, 1, &o, ok) == SCL_EINVAL, "NaN width");
  scl_figure_opts_init(&o);
  o.title = "bad \xff utf-8";
  CHECK(scl_render(ctx, &c, 1, &o, ok) == SCL_EINVAL, "bad UTF-8");
  CHECK(scl_render(ctx, NULL, 1, NULL, ok) == SCL_EINVAL, "no panels");
  CHECK(scl_render(ctx, &c, 1, NULL, NULL) == SCL_EINVAL, "NULL path");

  /* non-positive data on a log axis names panel, layer and index */
  double x[3] = {1, 2, 3}, y[3] = {1, 0, 2};
  scl_chart_add_line(c, x, y, 3, NULL, "zero");
  CHECK(scl_render(ctx, &c, 1, NULL, ok) == SCL_EINVAL, "zero on log");
  CHECK(strstr(scl_ctx_errmsg(ctx),
               "panel 1, layer 13 (line zero): y[2] = 0 is not positive on "
               "a log y axis"),
        "%s", scl_ctx_errmsg(ctx));
  scl_chart_free(c);

  /* NaN limits: no finite data on an axis without limits */
  scl_chart_new(ctx, &c);
  double nx[2] = {NAN, NAN}, ny[2] = {1, 2};
  scl_chart_add_line(c, nx, ny, 2, NULL, NULL);
  CHECK(scl_render(ctx, &c, 1, NULL, ok) == SCL_OK, "all-NaN x: empty axis");
  /* limits that overflow: huge data plus margins */
  double hx[2] = {-1.7e308, 1.7e308};
  scl_chart_add_line(c, hx, ny, 2, NULL, NULL);
  CHECK(scl_render(ctx, &c, 1, NULL, testdir_path("huge.png")) == SCL_EINVAL,
        "inf limits");
  CHECK(strstr(scl_ctx_errmsg(ctx), "x axis limits are not finite"), "%s",
        scl_ctx_errmsg(ctx));
  scl_chart_free(c);

  /* the old file survived every failure, nothing else was left */
  size_t n;
  remove(ok);
  test_spit(ok, "old content", 11);
  scl_chart_new(ctx, &c);
  scl_chart_set_axis(c, 0, 1, NULL, NAN, NAN);
  double bx[2] = {-1, 1};
  scl_chart_add_line(c, bx, ny, 2, NULL, NULL);
  CHECK(scl_render(ctx, &c, 1, NULL, ok) == SCL_EINVAL, "negative x on log");
  char *s = test_slurp(ok, &n);
  CHECK(s && n == 11 && memcmp(s, "old content", 11) == 0, "old file kept");
  free(s);
  scl_chart_free(c);
  CHECK(testdir_count() == before, "no files left: %d vs %d", testdir_count(), before);
}

/* Fail the k-th allocation of scl_render for every k. */
static void test_render_oom(void) {
  int done = 0;
  const char *p = testdir_path("oom.png");
  for (long k = 1; k < 100 && !done; k++) {
    testalloc st;
    scl_ctx *ctx = testalloc_ctx(&st);
    scl_chart *c = small_chart(ctx);
    if (!c) {
      CHECK(0, "chart");
      scl_ctx_free(ctx);
      break;
    }
    test_spit(p, "old", 3);
    int before = testdir_count();
    st.count = 0;
    st.fail_at = k;
    int rc = scl_render(ctx, &c, 1, NULL, p);
    st.fail_at = 0;
    if (rc == SCL_OK) {
      done = 1;
    } else {
      size_t n;
      char *s = test_slurp(p, &n);
      CHECK(rc == SCL_ENOMEM, "k=%ld: rc %d %s", k, rc, scl_ctx_errmsg(ctx));
      CHECK(s && n == 3, "k=%ld: old file intact", k);
      CHECK(testdir_count() == before, "k=%ld: no temporary left", k);
      free(s);
    }
    scl_chart_free(c);
    scl_ctx_free(ctx);
    CHECK(st.bytes == 0, "k=%ld: %ld bytes leaked", k, st.bytes);
  }
  CHECK(done, "render succeeds once allocations do");
}

typedef struct {
  const char *path;
  int rc[4];
} thread_job;

/* Each thread renders with its own context; the renderer serialises the
 * PLplot part. */
static void *render_thread(void *arg) {
  thread_job *t = arg;
  scl_ctx *ctx = scl_ctx_new(NULL, NULL);
  scl_chart *c = small_chart(ctx);
  for (int i = 0; i < 4; i++) t->rc[i] = scl_render(ctx, &c, 1, NULL, t->path);
  scl_chart_free(c);
  scl_ctx_free(ctx);
  return NULL;
}

static void test_threads(void) {
  char paths[3][512];
  thread_job jobs[3];
  pthread_t th[3];
  for (int i = 0; i < 3; i++) {
    snprintf(paths[i], sizeof paths[i], "%s/thread%d.%s", testdir(), i,
             i == 1 ? "svg" : "png");
    jobs[i].path = paths[i];
    pthread_create(&th[i], NULL, render_thread, &jobs[i]);
  }
  for (int i = 0; i < 3; i++) pthread_join(th[i], NULL);
  for (int i = 0; i < 3; i++)
    for (int k = 0; k < 4; k++)
      CHECK(jobs[i].rc[k] == SCL_OK, "thread %d render %d: %d", i, k,
            jobs[i].rc[k]);
  image im;
  CHECK(png_read(paths[2], &im) && im.w == 960, "thread PNG intact");
  free(im.px);
  size_t n;
  char *svg = test_slurp(paths[1], &n);
  CHECK(svg && n > 1000 && strstr(svg, "</svg>"), "thread SVG intact");
  free(svg);
}

static double now_ms(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec * 1e3 + t.tv_nsec / 1e6;
}

/* A 1e6-point curve costs about what a 2e3-point one does. */
static void test_speed(scl_ctx *ctx) {
  double ms[2];
  size_t sizes[2] = {2000, 1000000};
  for (int s = 0; s < 2; s++) {
    size_t n = sizes[s];
    double *x = malloc(n * sizeof *x), *y = malloc(n * sizeof *y);
    for (size_t i = 0; i < n; i++) {
      x[i] = 0.05 * pow(400, (double)i / (double)(n - 1));
      y[i] = 3 * pow(x[i], -0.1) * (1 + 0.02 * sin((double)i));
    }
    scl_chart *c;
    scl_chart_new(ctx, &c);
    scl_chart_set_axis(c, 0, 1, "x", NAN, NAN);
    scl_chart_set_axis(c, 1, 1, "y", NAN, NAN);
    scl_chart_add_line(c, x, y, n, NULL, "curve");
    double best = 1e9;
    for (int r = 0; r < 3; r++) {
      double t0 = now_ms();
      CHECK(scl_render(ctx, &c, 1, NULL, testdir_path("speed.png")) == SCL_OK,
            "%s", scl_ctx_errmsg(ctx));
      best = fmin(best, now_ms() - t0);
    }
    ms[s] = best;
    scl_chart_free(c);
    free(x);
    free(y);
  }
  printf("render: 2e3 points %.1f ms, 1e6 points %.1f ms\n", ms[0], ms[1]);
  /* Timing means nothing under valgrind (instrumented arithmetic). */
  const char *pre = getenv("LD_PRELOAD");
  if (pre && strstr(pre, "valgrind")) return;
  CHECK(ms[1] < 4 * ms[0] + 250, "1e6 points: %.1f ms vs %.1f ms", ms[1],
        ms[0]);
}

int main(void) {
  if (!testdir_make("scalelua-render")) return 1;
  scl_ctx *ctx = scl_ctx_new(NULL, NULL);
  test_chart_api(ctx);
  test_chart_oom();
  test_summaries(ctx);
  test_line_ref(ctx);
  test_decimate();
  test_png_writer(ctx);
  test_png(ctx);
  test_fast_lines(ctx);
  test_best_legend(ctx);
  test_visible_y(ctx);
  test_grid_svg_pdf(ctx);
  test_golden(ctx);
  test_errors(ctx);
  test_render_oom();
  test_threads();
  test_speed(ctx);
  scl_ctx_free(ctx);
  testdir_remove();
  return check_done("test_render");
}
