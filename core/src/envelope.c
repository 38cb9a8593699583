/*
 * envelope.c -- the lower envelope of many training curves in log-log space
 * (the compute frontier of Kaplan et al. 2020 and of Chinchilla's Approach
 * 1).  Every curve is a piecewise-linear function of log x in log y; the
 * envelope is the pointwise minimum of those functions, sampled at a
 * log-spaced grid or at the union of the curves' own x values.
 *
 * Cost: sorting the valid points and the queries, then one merge-like walk
 * per curve over the queries inside its x range (binary search for the
 * first one), so O(P log P + Q log Q + coverage) where P is the number of
 * points, Q the number of queries and coverage the number of (query, curve)
 * pairs with the query inside the curve's range -- never Q * P.
 */
#include "internal.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
  double x, y;
} pt;

void scl_envelope_opts_init(scl_envelope_opts *o) {
  o->mode = SCL_ENV_GRID;
  o->grid = 1500;
}

/* n * size bytes, or 0 when that overflows (callers treat it as OOM). */
static size_t bytes(size_t n, size_t size) {
  if (n == 0) return size;
  if (n > SIZE_MAX / size) return 0;
  return n * size;
}

static void *alloc_array(scl_ctx *ctx, size_t n, size_t size) {
  size_t b = bytes(n, size);
  return b ? scli_malloc(ctx, b) : NULL;
}

/* Order points by x, then y, so the first of equal x has the least y. */
static int cmp_pt(const void *a, const void *b) {
  const pt *p = a, *q = b;
  if (p->x != q->x) return p->x < q->x ? -1 : 1;
  if (p->y != q->y) return p->y < q->y ? -1 : 1;
  return 0;
}

static int cmp_double(const void *a, const void *b) {
  double u = *(const double *)a, v = *(const double *)b;
  return u < v ? -1 : u > v ? 1 : 0;
}

/* First index j in q[0..m) with q[j] >= x (m when none). */
static size_t lower_bound(const double *q, size_t m, double x) {
  size_t lo = 0, hi = m;
  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    if (q[mid] < x)
      lo = mid + 1;
    else
      hi = mid;
  }
  return lo;
}

/*
 * Copy the valid points of every curve into pts (curve after curve), sort
 * each curve's run by x and merge duplicate x keeping the least y.  Curve c
 * ends up in pts[off[c] .. off[c+1]).  Returns the number of points kept and
 * counts the dropped ones by reason.
 */
static size_t gather(const scl_curve *curves, size_t ncurves, pt *pts,
                     size_t *off, size_t why[3]) {
  size_t w = 0;
  for (size_t c = 0; c < ncurves; c++) {
    size_t start = w;
    off[c] = start;
    for (size_t i = 0; i < curves[c].n; i++) {
      double x = curves[c].x[i], y = curves[c].y[i];
      if (!isfinite(x) || !isfinite(y))
        why[0]++;
      else if (x <= 0)
        why[1]++;
      else if (y <= 0)
        why[2]++;
      else
        pts[w++] = (pt){x, y};
    }
    size_t k = w - start;
    if (k > 1) {
      qsort(pts + start, k, sizeof *pts, cmp_pt);
      size_t u = start + 1;
      for (size_t i = start + 1; i < w; i++)
        if (pts[i].x != pts[u - 1].x) pts[u++] = pts[i];
      w = u;
    }
  }
  off[ncurves] = w;
  return w;
}

/*
 * The query abscissae, ascending.  GRID: m log-spaced values whose ends are
 * exactly the least and greatest x (one value when they coincide), so the
 * envelope's ends are the data's own points.  POINTS: the distinct x values
 * of all curves.  *qp is allocated here; *mp receives its length.
 */
static int make_queries(scl_ctx *ctx, const scl_envelope_opts *o,
                        const pt *pts, size_t npts, const size_t *off,
                        size_t ncurves, double **qp, size_t *mp) {
  double *q;
  size_t m;
  if (o->mode == SCL_ENV_GRID) {
    double lo = INFINITY, hi = -INFINITY;
    for (size_t c = 0; c < ncurves; c++) {
      if (off[c] == off[c + 1]) continue;
      if (pts[off[c]].x < lo) lo = pts[off[c]].x;
      if (pts[off[c + 1] - 1].x > hi) hi = pts[off[c + 1] - 1].x;
    }
    m = lo == hi ? 1 : o->grid;
    q = alloc_array(ctx, m, sizeof *q);
    if (!q) return scli_oom(ctx);
    double llo = log(lo), lhi = log(hi);
    q[0] = lo;
    for (size_t j = 1; j < m; j++) {
      double t = (double)j / (double)(m - 1);
      double v = j == m - 1 ? hi : exp(llo + t * (lhi - llo));
      if (v > hi) v = hi;
      if (v < q[j - 1]) v = q[j - 1]; /* keep rounding from reordering */
      q[j] = v;
    }
  } else {
    q = alloc_array(ctx, npts, sizeof *q);
    if (!q) return scli_oom(ctx);
    for (size_t i = 0; i < npts; i++) q[i] = pts[i].x;
    qsort(q, npts, sizeof *q, cmp_double);
    m = 1;
    for (size_t i = 1; i < npts; i++)
      if (q[i] != q[m - 1]) q[m++] = q[i];
  }
  *qp = q;
  *mp = m;
  return SCL_OK;
}

/*
 * Lower best[] with curve c wherever a query lies inside its x range.  The
 * segment cursor s only moves forward because the queries are sorted; the
 * log-space line of the current segment is computed once per segment.
 */
static void sweep_curve(const pt *p, size_t k, size_t c, const double *q,
                        size_t m, double *best, size_t *who) {
  size_t j = lower_bound(q, m, p[0].x);
  size_t s = 0, cached = SIZE_MAX;
  double lx0 = 0, ly0 = 0, slope = 0;
  for (; j < m && q[j] <= p[k - 1].x; j++) {
    double x = q[j], y;
    while (s + 1 < k && p[s + 1].x < x) s++;
    if (x == p[s].x) {
      y = p[s].y;
    } else if (x == p[s + 1].x) {
      y = p[s + 1].y;
    } else {
      if (cached != s) {
        lx0 = log(p[s].x);
        ly0 = log(p[s].y);
        slope = (log(p[s + 1].y) - ly0) / (log(p[s + 1].x) - lx0);
        cached = s;
      }
      y = exp(ly0 + slope * (log(x) - lx0));
    }
    if (y < best[j]) {
      best[j] = y;
      who[j] = c;
    }
  }
}

void scl_envelope_free(scl_ctx *ctx, scl_envelope *e) {
  if (!e) return;
  size_t n = e->n ? e->n : 1;
  scli_free(ctx, e->x, n * sizeof *e->x);
  scli_free(ctx, e->y, n * sizeof *e->y);
  scli_free(ctx, e->curve, n * sizeof *e->curve);
  scli_free(ctx, e, sizeof *e);
}

/* The envelope object holding the covered queries (who[j] set). */
static int build_result(scl_ctx *ctx, const double *q, const double *best,
                        const size_t *who, size_t m, size_t excluded,
                        scl_envelope **out) {
  size_t n = 0;
  for (size_t j = 0; j < m; j++)
    if (who[j] != SIZE_MAX) n++;
  scl_envelope *e = scli_malloc(ctx, sizeof *e);
  if (!e) return scli_oom(ctx);
  memset(e, 0, sizeof *e);
  e->n = n;
  e->excluded = excluded;
  e->x = alloc_array(ctx, n, sizeof *e->x);
  e->y = alloc_array(ctx, n, sizeof *e->y);
  e->curve = alloc_array(ctx, n, sizeof *e->curve);
  if (!e->x || !e->y || !e->curve) {
    scl_envelope_free(ctx, e);
    return scli_oom(ctx);
  }
  size_t i = 0;
  for (size_t j = 0; j < m; j++) {
    if (who[j] == SIZE_MAX) continue;
    e->x[i] = q[j];
    e->y[i] = best[j];
    e->curve[i] = who[j];
    i++;
  }
  *out = e;
  return SCL_OK;
}

/*
 * Grid queries not covered by any curve (gaps between disjoint curves) are
 * left out of the result; ties go to the curve with the lowest index.
 */
int scl_envelope_compute(scl_ctx *ctx, const scl_curve *curves,
                         size_t ncurves, const scl_envelope_opts *opts,
                         scl_envelope **out) {
  scl_envelope_opts defaults;
  if (!out) return scli_error(ctx, SCL_EINVAL, "envelope: out is NULL");
  *out = NULL;
  if (!opts) {
    scl_envelope_opts_init(&defaults);
    opts = &defaults;
  }
  if (ncurves == 0 || !curves)
    return scli_error(ctx, SCL_EINVAL, "envelope: no curves given");
  if (opts->mode != SCL_ENV_GRID && opts->mode != SCL_ENV_POINTS)
    return scli_error(ctx, SCL_EINVAL, "envelope: unknown mode %d",
                      (int)opts->mode);
  if (opts->mode == SCL_ENV_GRID && opts->grid < 2)
    return scli_error(ctx, SCL_EINVAL,
                      "envelope: grid = %zu: need at least 2 points",
                      opts->grid);
  size_t total = 0;
  for (size_t c = 0; c < ncurves; c++) {
    if (curves[c].n && (!curves[c].x || !curves[c].y))
      return scli_error(ctx, SCL_EINVAL, "envelope: curve %zu: %s is NULL", c,
                        curves[c].x ? "y" : "x");
    if (curves[c].n > SIZE_MAX - total) return scli_oom(ctx);
    total += curves[c].n;
  }

  int rc = SCL_OK;
  double *q = NULL, *best = NULL;
  size_t *who = NULL, m = 0, why[3] = {0, 0, 0};
  size_t *off = alloc_array(ctx, ncurves + 1, sizeof *off);
  pt *pts = alloc_array(ctx, total, sizeof *pts);
  if (!off || !pts) {
    rc = scli_oom(ctx);
    goto done;
  }
  size_t npts = gather(curves, ncurves, pts, off, why);
  size_t excluded = why[0] + why[1] + why[2];
  if (npts == 0) {
    rc = scli_error(ctx, SCL_EINVAL,
                    "envelope: no valid points in %zu curve%s: %zu of %zu "
                    "excluded (%zu NaN or infinite, %zu with x <= 0, %zu with "
                    "y <= 0)",
                    ncurves, ncurves == 1 ? "" : "s", excluded, total, why[0],
                    why[1], why[2]);
    goto done;
  }
  rc = make_queries(ctx, opts, pts, npts, off, ncurves, &q, &m);
  if (rc) goto done;
  best = alloc_array(ctx, m, sizeof *best);
  who = alloc_array(ctx, m, sizeof *who);
  if (!best || !who) {
    rc = scli_oom(ctx);
    goto done;
  }
  for (size_t j = 0; j < m; j++) {
    best[j] = INFINITY;
    who[j] = SIZE_MAX;
  }
  for (size_t c = 0; c < ncurves; c++)
    if (off[c + 1] > off[c])
      sweep_curve(pts + off[c], off[c + 1] - off[c], c, q, m, best, who);
  rc = build_result(ctx, q, best, who, m, excluded, out);

done:
  scli_free(ctx, who, m * sizeof *who);
  scli_free(ctx, best, m * sizeof *best);
  scli_free(ctx, q, m * sizeof *q);
  scli_free(ctx, pts, total * sizeof *pts);
  scli_free(ctx, off, (ncurves + 1) * sizeof *off);
  return rc;
}
