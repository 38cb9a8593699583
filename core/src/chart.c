/*
 * chart.c -- chart descriptions: axes, layers, legend, styles.
 *
 * A chart is plain data (copied in) that render.c turns into a figure; no
 * PLplot here.  Also the decimation of long lines, which is pure geometry:
 * a 1e6-point curve drawn into 800 pixel columns needs at most four points
 * per column (first, last, lowest, highest) to look exactly the same.
 */
#include "internal.h"

#include <float.h>
#include <math.h>
#include <string.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif

/* Okabe & Ito's colour-blind-safe palette, yellow last (weak on white). */
static const uint32_t palette[] = {0x0072B2, 0xD55E00, 0x009E73, 0xE69F00,
                                   0xCC79A7, 0x56B4E9, 0x000000, 0xF0E442};

void scl_style_init(scl_style *s) {
  if (!s) return;
  s->color = SCL_COLOR_AUTO;
  s->alpha = 1;
  s->width = 1.5;
  s->dash = SCL_DASH_SOLID;
  s->marker = SCL_MARK_NONE;
  s->marker_size = 4;
}

void scl_figure_opts_init(scl_figure_opts *o) {
  if (!o) return;
  o->width_in = 6.4;
  o->height_in = 4.8;
  o->dpi = 150;
  o->rows = 1;
  o->cols = 1;
  o->font_pt = 10;
  o->title = NULL;
}

int scl_chart_new(scl_ctx *ctx, scl_chart **out) {
  if (!out) return scli_error(ctx, SCL_EINVAL, "chart_new: NULL out");
  *out = NULL;
  scl_chart *c = scli_calloc(ctx, 1, sizeof *c);
  if (!c) return scli_oom(ctx);
  c->ctx = ctx;
  for (int a = 0; a < 2; a++) {
    c->axis[a].lo = NAN;
    c->axis[a].hi = NAN;
  }
  c->legend = SCL_LEGEND_BEST;
  *out = c;
  return SCL_OK;
}

static void free_str(scl_ctx *ctx, char *s) {
  if (s) scli_free(ctx, s, strlen(s) + 1);
}

static void free_layer(scl_ctx *ctx, scli_layer *l) {
  size_t bytes = l->n * sizeof(double);
  if (!l->borrowed) {
    scli_free(ctx, l->x, bytes);
    scli_free(ctx, l->y, bytes);
  }
  scli_free(ctx, l->y2, bytes);
  free_str(ctx, l->legend);
}

void scl_chart_free(scl_chart *c) {
  if (!c) return;
  scl_ctx *ctx = c->ctx;
  for (size_t i = 0; i < c->nlayers; i++)
    free_layer(ctx, &c->layers[i]);
  scli_free(ctx, c->layers, c->cap * sizeof *c->layers);
  free_str(ctx, c->title);
  for (int a = 0; a < 2; a++)
    free_str(ctx, c->axis[a].label);
  scli_free(ctx, c, sizeof *c);
}

/* Replace *dst by a copy of src (NULL clears); *dst is kept on failure. */
static int set_str(scl_ctx *ctx, char **dst, const char *src) {
  char *copy = NULL;
  if (src && !(copy = scli_strdup(ctx, src))) return scli_oom(ctx);
  free_str(ctx, *dst);
  *dst = copy;
  return SCL_OK;
}

int scl_chart_set_title(scl_chart *c, const char *title) {
  return set_str(c->ctx, &c->title, title);
}

int scl_chart_set_axis(scl_chart *c, int axis, int log, const char *label,
                       double lo, double hi) {
  scl_ctx *ctx = c->ctx;
  if (axis != 0 && axis != 1)
    return scli_error(ctx, SCL_EINVAL, "set_axis: axis %d is neither 0 (x) "
                      "nor 1 (y)", axis);
  const char *name = axis ? "y" : "x";
  if (isinf(lo) || isinf(hi))
    return scli_error(ctx, SCL_EINVAL, "%s axis: limits must be finite or "
                      "NaN (from the data), got %g, %g", name, lo, hi);
  if (log && (lo <= 0 || hi <= 0))
    return scli_error(ctx, SCL_EINVAL, "%s axis: log axis limits must be "
                      "positive, got %g, %g", name, lo, hi);
  if (lo == hi)
    return scli_error(ctx, SCL_EINVAL, "%s axis: lower and upper limits "
                      "are equal (%g)", name, lo);
  int rc = set_str(ctx, &c->axis[axis].label, label);
  if (rc) return rc;
  c->axis[axis].log = log != 0;
  c->axis[axis].lo = lo;
  c->axis[axis].hi = hi;
  return SCL_OK;
}

int scl_chart_set_legend(scl_chart *c, scl_legend_pos pos) {
  if ((int)pos < SCL_LEGEND_NONE || pos > SCL_LEGEND_LOWER_RIGHT)
    return scli_error(c->ctx, SCL_EINVAL, "set_legend: unknown position %d",
                      (int)pos);
  c->legend = pos;
  return SCL_OK;
}

/* Check a style and resolve its automatic colour for layer index idx. */
static int check_style(scl_ctx *ctx, const scl_style *in, size_t idx,
                       scl_style *out) {
  if (in)
    *out = *in;
  else
    scl_style_init(out);
  if (out->color == SCL_COLOR_AUTO)
    out->color = palette[idx % (sizeof palette / sizeof *palette)];
  else if (out->color > 0xFFFFFF)
    return scli_error(ctx, SCL_EINVAL, "layer %zu: colour 0x%X is not "
                      "0xRRGGBB", idx + 1, (unsigned)out->color);
  if (!(out->alpha >= 0 && out->alpha <= 1))
    return scli_error(ctx, SCL_EINVAL, "layer %zu: alpha %g is not in "
                      "0..1", idx + 1, out->alpha);
  if (!(out->width >= 0 && out->width <= 100))
    return scli_error(ctx, SCL_EINVAL, "layer %zu: width %g is not in "
                      "0..100 points", idx + 1, out->width);
  if (!(out->marker_size >= 0 && out->marker_size <= 100))
    return scli_error(ctx, SCL_EINVAL, "layer %zu: marker size %g is not "
                      "in 0..100 points", idx + 1, out->marker_size);
  if ((int)out->dash < SCL_DASH_SOLID || out->dash > SCL_DASH_DASHDOT)
    return scli_error(ctx, SCL_EINVAL, "layer %zu: unknown dash %d",
                      idx + 1, (int)out->dash);
  if ((int)out->marker < SCL_MARK_NONE || out->marker > SCL_MARK_CROSS)
    return scli_error(ctx, SCL_EINVAL, "layer %zu: unknown marker %d",
                      idx + 1, (int)out->marker);
  return SCL_OK;
}

/* The summaries of points [i, e) the careful way: any value may be NaN,
 * infinite or <= 0. */
static void summarize_slow(scli_layer *l, const double *y2, size_t i,
                           size_t e, double *prev, int *sorted) {
  size_t n = l->n;
  for (; i < e; i++) {
    double xi = l->x[i], yi = l->y[i], zi = y2 ? y2[i] : yi;
    if (!(xi >= *prev)) *sorted = 0; /* also NaN */
    *prev = xi;
    if (xi <= 0 && l->xneg == n) l->xneg = i;
    if (yi <= 0 && l->yneg == n) l->yneg = i;
    if (zi <= 0 && y2 && l->y2neg == n) l->y2neg = i;
    if (!(fabs(xi) <= DBL_MAX)) continue; /* y counts at finite x only */
    if (xi < l->xmin) l->xmin = xi;
    if (xi > l->xmax) l->xmax = xi;
    if (fabs(yi) <= DBL_MAX) {
      if (yi < l->ymin) l->ymin = yi;
      if (yi > l->ymax) l->ymax = yi;
    }
    if (fabs(zi) <= DBL_MAX) {
      if (zi < l->ymin) l->ymin = zi;
      if (zi > l->ymax) l->ymax = zi;
    }
  }
}

/*
 * Copy the layer's data in and take its summaries (see scli_layer): render
 * settles its axis limits from these instead of reading a million points
 * twice per render.  Blocks of points that are all finite and positive
 * (the usual case) are summarised without branches, which made adding a
 * million-point curve several times faster; a block with anything else is
 * done point by point.
 */
static void fill_layer(scli_layer *l, const double *x, const double *y,
                       const double *y2) {
  enum { BLOCK = 512 };
  size_t n = l->n;
  l->xmin = l->ymin = INFINITY;
  l->xmax = l->ymax = -INFINITY;
  l->xneg = l->yneg = l->y2neg = n;
  l->xsorted = 1;
  if (!n) return; /* x, y may be NULL */
  if (!l->borrowed) {
    memcpy(l->x, x, n * sizeof *x);
    memcpy(l->y, y, n * sizeof *y);
  }
  if (y2) memcpy(l->y2, y2, n * sizeof *y2);
  int sorted = 1;
  double prev = -INFINITY;
  for (size_t i = 0; i < n; i += BLOCK) {
    size_t e = n - i > BLOCK ? i + BLOCK : n;
    const double *xs = l->x, *ys = l->y;
    int ok = 1, up = 1;
    double p = prev;
    double xlo = l->xmin, xhi = l->xmax, ylo = l->ymin, yhi = l->ymax;
    size_t k = i;
#ifdef __SSE2__
    if (!y2) { /* lines, two points at a time */
      const __m128d zero = _mm_setzero_pd(), big = _mm_set1_pd(DBL_MAX);
      __m128d vxlo = _mm_set1_pd(xlo), vxhi = _mm_set1_pd(xhi);
      __m128d vylo = _mm_set1_pd(ylo), vyhi = _mm_set1_pd(yhi);
      __m128d bad = _mm_setzero_pd(), down = _mm_setzero_pd();
      __m128d last = _mm_set1_pd(p); /* x before the pair, in its high half */
      for (; k + 2 <= e; k += 2) {
        __m128d vx = _mm_loadu_pd(xs + k), vy = _mm_loadu_pd(ys + k);
        /* not (0 < v <= DBL_MAX): also NaN */
        bad = _mm_or_pd(bad, _mm_cmpngt_pd(vx, zero));
        bad = _mm_or_pd(bad, _mm_cmpnle_pd(vx, big));
        bad = _mm_or_pd(bad, _mm_cmpngt_pd(vy, zero));
        bad = _mm_or_pd(bad, _mm_cmpnle_pd(vy, big));
        /* each x against the one before it */
        __m128d before = _mm_shuffle_pd(last, vx, 1);
        down = _mm_or_pd(down, _mm_cmplt_pd(vx, before));
        last = vx;
        vxlo = _mm_min_pd(vxlo, vx), vxhi = _mm_max_pd(vxhi, vx);
        vylo = _mm_min_pd(vylo, vy), vyhi = _mm_max_pd(vyhi, vy);
      }
      ok = !_mm_movemask_pd(bad);
      up = !_mm_movemask_pd(down);
      double t[2];
      _mm_storeu_pd(t, last);
      p = t[1];
      _mm_storeu_pd(t, vxlo), xlo = fmin(t[0], t[1]);
      _mm_storeu_pd(t, vxhi), xhi = fmax(t[0], t[1]);
      _mm_storeu_pd(t, vylo), ylo = fmin(t[0], t[1]);
      _mm_storeu_pd(t, vyhi), yhi = fmax(t[0], t[1]);
    }
#endif
    for (; k < e; k++) { /* positive and finite, all of them */
      double xi = xs[k], yi = ys[k], zi = y2 ? y2[k] : yi;
      ok &= (xi > 0) & (xi <= DBL_MAX) & (yi > 0) & (yi <= DBL_MAX) &
            (zi > 0) & (zi <= DBL_MAX);
      up &= xi >= p;
      p = xi;
      xlo = xi < xlo ? xi : xlo;
      xhi = xi > xhi ? xi : xhi;
      ylo = yi < ylo ? yi : ylo;
      yhi = yi > yhi ? yi : yhi;
      ylo = zi < ylo ? zi : ylo;
      yhi = zi > yhi ? zi : yhi;
    }
    if (ok) {
      sorted &= up;
      prev = p;
      l->xmin = xlo, l->xmax = xhi, l->ymin = ylo, l->ymax = yhi;
    } else {
      summarize_slow(l, y2, i, e, &prev, &sorted);
    }
  }
  l->xsorted = sorted;
}

/* Shared by add_line and add_band: y2 NULL for a line. */
static int add_layer(scl_chart *c, scli_layer_kind kind, const double *x,
                     const double *y, const double *y2, size_t n,
                     const scl_style *s, const char *legend, int borrow) {
  scl_ctx *ctx = c->ctx;
  const char *what = kind == SCLI_LINE ? "line" : "band";
  if (n && (!x || !y || (kind == SCLI_BAND && !y2)))
    return scli_error(ctx, SCL_EINVAL, "%s %zu: NULL data", what,
                      c->nlayers + 1);
  if (n > ((size_t)-1) / sizeof(double) / 2)
    return scli_error(ctx, SCL_EINVAL, "%s %zu: too many points (%zu)",
                      what, c->nlayers + 1, n);
  scli_layer l;
  memset(&l, 0, sizeof l);
  l.kind = kind;
  l.n = n;
  int rc = check_style(ctx, s, c->nlayers, &l.style);
  if (rc) return rc;
  if (c->nlayers == c->cap) {
    size_t cap = c->cap ? 2 * c->cap : 4;
    scli_layer *p = scli_realloc(ctx, c->layers, c->cap * sizeof *p,
                                 cap * sizeof *p);
    if (!p) return scli_oom(ctx);
    c->layers = p;
    c->cap = cap;
  }
  l.borrowed = borrow;
  if (borrow) { /* the caller's, never written through */
    l.x = (double *)x;
    l.y = (double *)y;
  } else {
    l.x = scli_malloc(ctx, n * sizeof(double));
    l.y = scli_malloc(ctx, n * sizeof(double));
  }
  l.y2 = kind == SCLI_BAND ? scli_malloc(ctx, n * sizeof(double)) : NULL;
  l.legend = legend ? scli_strdup(ctx, legend) : NULL;
  if ((!borrow && (!l.x || !l.y)) || (kind == SCLI_BAND && !l.y2) ||
      (legend && !l.legend)) {
    free_layer(ctx, &l);
    return scli_oom(ctx);
  }
  fill_layer(&l, x, y, kind == SCLI_BAND ? y2 : NULL);
  c->layers[c->nlayers++] = l;
  return SCL_OK;
}

int scl_chart_add_line(scl_chart *c, const double *x, const double *y,
                       size_t n, const scl_style *s, const char *legend) {
  return add_layer(c, SCLI_LINE, x, y, NULL, n, s, legend, 0);
}

int scl_chart_add_line_ref(scl_chart *c, const double *x, const double *y,
                           size_t n, const scl_style *s, const char *legend) {
  return add_layer(c, SCLI_LINE, x, y, NULL, n, s, legend, 1);
}

int scl_chart_add_band(scl_chart *c, const double *x, const double *lo,
                       const double *hi, size_t n, const scl_style *s,
                       const char *legend) {
  return add_layer(c, SCLI_BAND, x, lo, hi, n, s, legend, 0);
}

/*
 * Append a finished run (r: its first, low, high and last indices).  M4:
 * the distinct four in index order.  SCLI_DEC_LINE: the low and the high,
 * the one nearer the previous point first, so the line snakes down and up
 * through the columns instead of zigzagging three times in each (as close
 * to the full line's pixels, measured, and a fifth less to stroke); plus
 * the run's first point where a stretch of line starts (after a gap) and
 * its last where it ends, so the ends stay exact.
 */
static size_t flush_run(const size_t r[4], const double *y, int flags,
                        int starts, int ends, size_t *keep, size_t m) {
  if (flags & SCLI_DEC_LINE) {
    if (starts) keep[m++] = r[0];
    size_t a = r[1], b = r[2];
    if (m && fabs(y[keep[m - 1]] - y[b]) < fabs(y[keep[m - 1]] - y[a]))
      a = r[2], b = r[1];
    if (!m || keep[m - 1] != a) keep[m++] = a;
    if (keep[m - 1] != b) keep[m++] = b;
    if (ends && keep[m - 1] != r[3]) keep[m++] = r[3];
    return m;
  }
  size_t v[4] = {r[0], r[1], r[2], r[3]};
  for (int i = 1; i < 4; i++) /* insertion sort of four */
    for (int j = i; j > 0 && v[j] < v[j - 1]; j--) {
      size_t t = v[j];
      v[j] = v[j - 1];
      v[j - 1] = t;
    }
  for (int i = 0; i < 4; i++)
    if (i == 0 || v[i] != v[i - 1]) keep[m++] = v[i];
  return m;
}

/* The first index >= i of ascending x[0..n) with x >= v (n if none), by
 * doubling steps then halving: a column's run costs its logarithm. */
static size_t gallop(const double *x, size_t i, size_t n, double v) {
  size_t lo = i, step = 1, hi = i;
  while (hi < n && x[hi] < v) {
    lo = hi + 1;
    hi = n - hi > step ? hi + step : n;
    step *= 2;
  }
  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    if (x[mid] < v)
      lo = mid + 1;
    else
      hi = mid;
  }
  return lo;
}

/*
 * Of y[i..e), all finite (the usual case), the lowest below *ylo and the
 * highest above *yhi, first occurrences, into run[1], run[2]: two at a
 * time with SSE2, each lane keeping its extremes and where they were.  Returns e, or i
 * unchanged when the stretch is short or holds a non-finite value (the
 * caller's point-by-point loop then does it, with the same result).
 */
static size_t run_extremes(const double *y, size_t i, size_t e, double *ylo,
                           double *yhi, size_t run[4]) {
#ifdef __SSE2__
  if (e - i < 16) return i;
  const __m128d big = _mm_set1_pd(DBL_MAX), sign = _mm_set1_pd(-0.0);
  const __m128d two = _mm_set1_pd(2);
  __m128d lo = _mm_set1_pd(*ylo), hi = _mm_set1_pd(*yhi);
  __m128d ilo = _mm_set1_pd(-1), ihi = ilo; /* where each lane's came from */
  __m128d idx = _mm_setr_pd((double)i, (double)i + 1);
  __m128d bad = _mm_setzero_pd();
  size_t k = i;
  for (; k + 2 <= e; k += 2, idx = _mm_add_pd(idx, two)) {
    __m128d v = _mm_loadu_pd(y + k);
    bad = _mm_or_pd(bad, _mm_cmpnle_pd(_mm_andnot_pd(sign, v), big));
    __m128d below = _mm_cmplt_pd(v, lo), above = _mm_cmpgt_pd(v, hi);
    lo = _mm_or_pd(_mm_and_pd(below, v), _mm_andnot_pd(below, lo));
    ilo = _mm_or_pd(_mm_and_pd(below, idx), _mm_andnot_pd(below, ilo));
    hi = _mm_or_pd(_mm_and_pd(above, v), _mm_andnot_pd(above, hi));
    ihi = _mm_or_pd(_mm_and_pd(above, idx), _mm_andnot_pd(above, ihi));
  }
  if (_mm_movemask_pd(bad)) return i;
  double l[2], il[2], h[2], ih[2];
  _mm_storeu_pd(l, lo), _mm_storeu_pd(il, ilo);
  _mm_storeu_pd(h, hi), _mm_storeu_pd(ih, ihi);
  /* the lower lane wins; on a tie the earlier point (first occurrence) */
  int a = l[1] < l[0] || (l[1] == l[0] && il[1] < il[0]);
  int b = h[1] > h[0] || (h[1] == h[0] && ih[1] < ih[0]);
  double mn = l[a], mx = h[b], imn = il[a], imx = ih[b];
  if (k < e) { /* the odd last point */
    if (!(fabs(y[k]) <= DBL_MAX)) return i;
    if (y[k] < mn) mn = y[k], imn = (double)k;
    if (y[k] > mx) mx = y[k], imx = (double)k;
  }
  if (mn < *ylo) *ylo = mn, run[1] = (size_t)imn;
  if (mx > *yhi) *yhi = mx, run[2] = (size_t)imx;
  return e;
#else
  (void)y, (void)e, (void)ylo, (void)yhi, (void)run;
  return i;
#endif
}

/*
 * M4 decimation (see internal.h).  The column of a point on a log axis
 * needs a log10, which for a million points cost more than drawing them;
 * so the x interval of the current column is kept in data units and a
 * point inside it takes the column without a logarithm.  Curves are
 * mostly ordered in x, so a log10 (and two pow) are paid about once per
 * column.  At a column edge the two ways may disagree in the last bit,
 * which only moves a point on the edge to its neighbour column.  With x
 * known ascending, a column's end is found by search and only y is read.
 */
size_t scli_decimate(const double *x, const double *y, size_t n, double x0,
                     double x1, int xlog, size_t ncols, int flags,
                     size_t *keep) {
  double t0 = xlog ? log10(x0) : x0, t1 = xlog ? log10(x1) : x1;
  double scale = (double)ncols / (t1 - t0), nc = (double)ncols;
  size_t m = 0, run[4] = {0, 0, 0, 0}; /* first, low, high, last */
  double ylo = 0, yhi = 0;              /* y at run[1] and run[2] */
  int open = 0, starts = 1; /* a run is open; it starts a stretch */
  int xsorted = flags & SCLI_DEC_SORTED;
  double col = 0;
  double lo = 1, hi = 0; /* column col spans x in [lo, hi) */
  for (size_t i = 0; i < n; i++) {
    double xi = x[i], yi = y[i];
    if (xi >= lo && xi < hi && fabs(yi) <= DBL_MAX) {
      if (open && xsorted) { /* the column's points without reading x */
        size_t e = gallop(x, i, n, hi);
        i = run_extremes(y, i, e, &ylo, &yhi, run);
        for (; i < e; i++) {
          yi = y[i];
          if (!(fabs(yi) <= DBL_MAX)) break; /* a gap: the slow path */
          if (yi < ylo) ylo = yi, run[1] = i;
          if (yi > yhi) yhi = yi, run[2] = i;
        }
        run[3] = i - 1;
        i--;
        continue;
      }
      if (open) { /* the common case: one more point in the column */
        if (yi < ylo) ylo = yi, run[1] = i;
        if (yi > yhi) yhi = yi, run[2] = i;
        run[3] = i;
        continue;
      }
    } else {
      double t = xlog ? (xi > 0 ? log10(xi) : NAN) : xi;
      if (!isfinite(t) || !isfinite(yi) || !isfinite(scale)) {
        if (open) m = flush_run(run, y, flags, starts, 1, keep, m);
        open = 0;
        starts = 1;
        keep[m++] = i;
        continue;
      }
      /* Columns off the axis collapse into one on each side. */
      double u = (t - t0) * scale;
      double c = u >= 0 ? (u < nc ? floor(u) : nc) : -1;
      double ta = t0 + (c < 0 ? -INFINITY : c) / scale;
      double tb = t0 + (c >= nc ? INFINITY : c + 1) / scale;
      lo = fmin(ta, tb);
      hi = fmax(ta, tb);
      if (xlog) {
        lo = lo > -308 ? pow(10, lo) : 0;
        hi = hi < 308 ? pow(10, hi) : INFINITY;
        if (!(lo > 0)) lo = DBL_MIN; /* x <= 0 takes the slow path */
      }
      if (open && c == col) {
        if (yi < ylo) ylo = yi, run[1] = i;
        if (yi > yhi) yhi = yi, run[2] = i;
        run[3] = i;
        continue;
      }
      if (open) {
        m = flush_run(run, y, flags, starts, 0, keep, m);
        starts = 0;
      }
      col = c;
    }
    open = 1;
    ylo = yhi = yi;
    run[0] = run[1] = run[2] = run[3] = i;
  }
  if (open) m = flush_run(run, y, flags, starts, 1, keep, m);
  return m;
}
