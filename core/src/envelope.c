/*
 * envelope.c -- the lower envelope of many training curves in log-log space
 * (the compute frontier of Kaplan et al. 2020 and of Chinchilla's Approach
 * 1).  Every curve is a piecewise-linear function of log x in log y; the
 * envelope is the pointwise minimum of those functions, sampled at a
 * log-spaced grid or at the union of the curves' own x values.
 *
 * Cost.  With P valid points and Q queries: sorting, O(P log P + Q log Q);
 * then each segment of each curve finds the queries it covers by galloping
 * search.  A segment covering a few queries (up to DIRECT_MAX) updates
 * them directly; a longer one is inserted into a Li Chao segment tree over
 * the query indices (each segment is a line in log-log space, and two lines
 * cross at most once), O(log^2 Q) per segment; each query then reads the
 * tree in O(log Q).  So O(P log P + Q log Q + L log^2 Q) with L <= P the
 * long segments -- never Q times P, and independent of how many curves
 * overlap.  The winning segment's value is recomputed at the
 * end from its own points, so a query at a data point returns that point's
 * y exactly.
 */
#include "internal.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define NONE SIZE_MAX

/* A kept point and its logs.  Segment s joins p[s] and p[s + 1]. */
typedef struct {
  double x, y, lx, ly;
} pt;

/* Everything the sweep needs, allocated once per call. */
typedef struct {
  pt *p;                /* kept points, curve after curve, sorted by x */
  const double *q, *lq; /* queries ascending, and their logs */
  size_t m;             /* number of queries */
  size_t *tree;         /* Li Chao tree: a segment per node, or NONE */
  size_t leaves;        /* power of two >= m */
  double *best;         /* per query: best log y of direct updates */
  size_t *bseg;         /* ... and that segment, or NONE */
} sweep;

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

/*
 * First index i >= j with q[i] >= x (q[i] > x when strict), m if none.
 * Galloping from j: O(log d) for an answer d places on, so walking a
 * sorted curve over the sorted queries costs little more than its length.
 */
static size_t gallop(const double *q, size_t m, size_t j, double x,
                     int strict) {
#define BEFORE(i) (strict ? q[i] <= x : q[i] < x)
  if (j >= m || !BEFORE(j)) return j;
  size_t lo = j, hi, step = 1; /* q[lo] is before x */
  for (;;) {
    hi = lo + step;
    if (hi >= m) {
      hi = m;
      break;
    }
    if (!BEFORE(hi)) break;
    lo = hi;
    step *= 2;
  }
  while (hi - lo > 1) { /* q[lo] before, q[hi] (or the end) not */
    size_t mid = lo + (hi - lo) / 2;
    if (BEFORE(mid))
      lo = mid;
    else
      hi = mid;
  }
  return hi;
#undef BEFORE
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
        pts[w++] = (pt){x, y, 0, 0};
    }
    if (w - start > 1) {
      size_t i = start + 1; /* logs come in order: sort only if not */
      while (i < w && cmp_pt(&pts[i - 1], &pts[i]) <= 0) i++;
      if (i < w) qsort(pts + start, w - start, sizeof *pts, cmp_pt);
      size_t u = start + 1;
      for (size_t i = start + 1; i < w; i++)
        if (pts[i].x != pts[u - 1].x) pts[u++] = pts[i];
      w = u;
    }
    for (size_t i = start; i < w; i++) pts[i].lx = NAN; /* need_logs */
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

/* log y of segment s at query j (inside it): its ends exactly, else the
   line through them in log-log space. */
static double logval(const sweep *w, size_t s, size_t j) {
  const pt *a = &w->p[s];
  if (w->q[j] == a->x) return a->ly;
  const pt *b = a + 1;
  if (w->q[j] == b->x) return b->ly;
  return a->ly + (b->ly - a->ly) / (b->lx - a->lx) * (w->lq[j] - a->lx);
}

/* Does segment s beat segment t at query j?  Ties go to the lower index,
   which is the lower curve index as the curves are stored in order. */
static int beats(const sweep *w, size_t s, size_t t, size_t j) {
  double u = logval(w, s, j), v = logval(w, t, j);
  return u < v || (u == v && s < t);
}

/*
 * Li Chao insertion of segment s into the node covering queries [lo, hi],
 * which s covers entirely: the node keeps the winner at the middle; the
 * loser can only win on one side of it, and moves down that side.
 */
static void tree_put(sweep *w, size_t node, size_t lo, size_t hi, size_t s) {
  for (;;) {
    size_t t = w->tree[node];
    if (t == NONE) {
      w->tree[node] = s;
      return;
    }
    size_t mid = lo + (hi - lo) / 2;
    if (beats(w, s, t, mid)) {
      w->tree[node] = s;
      s = t;
      t = w->tree[node];
    }
    if (lo == hi) return;
    if (beats(w, s, t, lo)) {
      node = 2 * node;
      hi = mid;
    } else if (beats(w, s, t, hi)) {
      node = 2 * node + 1;
      lo = mid + 1;
    } else {
      return;
    }
  }
}

/* Insert segment s over the queries [l, r] (node covers [lo, hi]). */
static void tree_insert(sweep *w, size_t node, size_t lo, size_t hi, size_t l,
                        size_t r, size_t s) {
  if (r < lo || hi < l) return;
  if (l <= lo && hi <= r) {
    tree_put(w, node, lo, hi, s);
    return;
  }
  size_t mid = lo + (hi - lo) / 2;
  tree_insert(w, 2 * node, lo, mid, l, r, s);
  tree_insert(w, 2 * node + 1, mid + 1, hi, l, r, s);
}

/* The best segment at query j: the direct updates and the tree's
   nodes on the path to leaf j.  NONE when no curve covers it. */
static size_t tree_best(const sweep *w, size_t j) {
  size_t node = 1, lo = 0, hi = w->leaves - 1, win = w->bseg[j];
  if (!w->tree) return win;
  for (;;) {
    size_t s = w->tree[node];
    if (s != NONE && (win == NONE || beats(w, s, win, j))) win = s;
    if (lo == hi) return win;
    size_t mid = lo + (hi - lo) / 2;
    if (j <= mid) {
      node = 2 * node;
      hi = mid;
    } else {
      node = 2 * node + 1;
      lo = mid + 1;
    }
  }
}

static void point_update(sweep *w, size_t s, size_t j) {
  double v = logval(w, s, j);
  if (w->bseg[j] == NONE || v < w->best[j] ||
      (v == w->best[j] && s < w->bseg[j])) {
    w->best[j] = v;
    w->bseg[j] = s;
  }
}

/*
 * Segments covering at most this many queries update them one by one;
 * longer ones go into the tree.  Both bound the work per segment by a
 * constant or O(log^2 Q), and the direct updates are cheaper and keep the
 * tree (and the walk down it for every query) out of the common case of
 * dense curves on a sparse grid.
 */
#define DIRECT_MAX 32

/* The logs of a point, taken when a segment first needs them (a dense
   curve on a sparse grid has most of its segments cover no query, and
   two logs a point were half of the envelope's time). */
static void need_logs(pt *p) {
  if (p->lx != p->lx) {
    p->lx = log(p->x);
    p->ly = log(p->y);
  }
}

/* Hand every segment of the curve in p[a .. b) to the queries it covers;
   the tree is allocated on first use (SCL_ENOMEM if that fails). */
static int add_curve(scl_ctx *ctx, sweep *w, size_t a, size_t b) {
  pt *p = w->p;
  size_t j = gallop(w->q, w->m, 0, p[a].x, 0);
  if (b - a == 1) { /* a lone point covers only queries equal to it */
    need_logs(&p[a]);
    for (; j < w->m && w->q[j] == p[a].x; j++) point_update(w, a, j);
    return SCL_OK;
  }
  for (size_t s = a; s + 1 < b && j < w->m; s++) {
    j = gallop(w->q, w->m, j, p[s].x, 0);
    size_t end = gallop(w->q, w->m, j, p[s + 1].x, 1); /* q > x[s+1] */
    if (end > j) {
      need_logs(&p[s]);
      need_logs(&p[s + 1]);
    }
    if (end - j <= DIRECT_MAX) {
      for (size_t k = j; k < end; k++) point_update(w, s, k);
      continue;
    }
    if (!w->tree) {
      w->tree = alloc_array(ctx, 2 * w->leaves, sizeof *w->tree);
      if (!w->tree) return scli_oom(ctx);
      for (size_t k = 0; k < 2 * w->leaves; k++) w->tree[k] = NONE;
    }
    tree_insert(w, 1, 0, w->leaves - 1, j, end - 1, s);
  }
  return SCL_OK;
}

/* y of segment s at query j, from its own points (exact at its ends). */
static double value(const sweep *w, size_t s, size_t j) {
  const pt *a = &w->p[s];
  if (w->q[j] == a->x) return a->y;
  if (w->q[j] == a[1].x) return a[1].y;
  return exp(logval(w, s, j));
}

/* The curve that segment s belongs to: the last c with off[c] <= s. */
static size_t curve_of(const size_t *off, size_t ncurves, size_t s) {
  size_t lo = 0, hi = ncurves; /* off[lo] <= s < off[hi] */
  while (hi - lo > 1) {
    size_t mid = lo + (hi - lo) / 2;
    if (off[mid] <= s)
      lo = mid;
    else
      hi = mid;
  }
  return lo;
}

void scl_envelope_free(scl_ctx *ctx, scl_envelope *e) {
  if (!e) return;
  size_t n = e->n ? e->n : 1;
  scli_free(ctx, e->x, n * sizeof *e->x);
  scli_free(ctx, e->y, n * sizeof *e->y);
  scli_free(ctx, e->curve, n * sizeof *e->curve);
  scli_free(ctx, e, sizeof *e);
}

/* The envelope object: the covered queries, with value and curve. */
static int build_result(scl_ctx *ctx, const sweep *w, const size_t *win,
                        const size_t *off, size_t ncurves, size_t excluded,
                        scl_envelope **out) {
  size_t n = 0;
  for (size_t j = 0; j < w->m; j++)
    if (win[j] != NONE) n++;
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
  for (size_t j = 0; j < w->m; j++) {
    if (win[j] == NONE) continue;
    e->x[i] = w->q[j];
    e->y[i] = value(w, win[j], j);
    e->curve[i] = curve_of(off, ncurves, win[j]);
    i++;
  }
  *out = e;
  return SCL_OK;
}

static int check_args(scl_ctx *ctx, const scl_curve *curves, size_t ncurves,
                      const scl_envelope_opts *opts, size_t *total) {
  if (ncurves == 0 || !curves)
    return scli_error(ctx, SCL_EINVAL, "envelope: no curves given");
  if (opts->mode != SCL_ENV_GRID && opts->mode != SCL_ENV_POINTS)
    return scli_error(ctx, SCL_EINVAL, "envelope: unknown mode %d",
                      (int)opts->mode);
  if (opts->mode == SCL_ENV_GRID && opts->grid < 2)
    return scli_error(ctx, SCL_EINVAL,
                      "envelope: grid = %zu: need at least 2 points",
                      opts->grid);
  *total = 0;
  for (size_t c = 0; c < ncurves; c++) {
    if (curves[c].n && (!curves[c].x || !curves[c].y))
      return scli_error(ctx, SCL_EINVAL, "envelope: curve %zu: %s is NULL", c,
                        curves[c].x ? "y" : "x");
    if (curves[c].n > SIZE_MAX - *total) return scli_oom(ctx);
    *total += curves[c].n;
  }
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
  size_t total = 0;
  if (!out) return scli_error(ctx, SCL_EINVAL, "envelope: out is NULL");
  *out = NULL;
  if (!opts) {
    scl_envelope_opts_init(&defaults);
    opts = &defaults;
  }
  int rc = check_args(ctx, curves, ncurves, opts, &total);
  if (rc) return rc;

  sweep w = {0};
  double *q = NULL, *lq = NULL;
  size_t m = 0, why[3] = {0, 0, 0}, *win = NULL;
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
  w.leaves = 1;
  while (w.leaves < m) w.leaves *= 2;
  lq = alloc_array(ctx, m, sizeof *lq);
  w.best = alloc_array(ctx, m, sizeof *w.best);
  w.bseg = alloc_array(ctx, m, sizeof *w.bseg);
  win = alloc_array(ctx, m, sizeof *win);
  if (!lq || !w.best || !w.bseg || !win) {
    rc = scli_oom(ctx);
    goto done;
  }
  for (size_t j = 0; j < m; j++) {
    lq[j] = log(q[j]);
    w.bseg[j] = NONE;
  }
  w.p = pts;
  w.q = q;
  w.lq = lq;
  w.m = m;
  for (size_t c = 0; c < ncurves && rc == SCL_OK; c++)
    if (off[c + 1] > off[c]) rc = add_curve(ctx, &w, off[c], off[c + 1]);
  if (rc) goto done;
  for (size_t j = 0; j < m; j++) win[j] = tree_best(&w, j);
  rc = build_result(ctx, &w, win, off, ncurves, excluded, out);

done:
  scli_free(ctx, win, m * sizeof *win);
  if (w.tree) scli_free(ctx, w.tree, 2 * w.leaves * sizeof *w.tree);
  scli_free(ctx, w.bseg, m * sizeof *w.bseg);
  scli_free(ctx, w.best, m * sizeof *w.best);
  scli_free(ctx, lq, m * sizeof *lq);
  scli_free(ctx, q, m * sizeof *q);
  scli_free(ctx, pts, total * sizeof *pts);
  scli_free(ctx, off, (ncurves + 1) * sizeof *off);
  return rc;
}
