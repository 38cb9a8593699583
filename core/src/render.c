/*
 * render.c -- draws charts with PLplot (the only file that calls PLplot).
 *
 * PLplot is used as a canvas: lines, fills and text on a page measured in
 * "units" (pixels for PNG, points for SVG and PDF).  Ticks, labels, the
 * legend and the layout are ours, computed before PLplot starts, because
 * PLplot's own log axes cannot label less than a decade and its failure
 * modes are severe (exit() on an unwritable file, stdin reads on an unknown
 * device, hangs on non-finite limits).  So everything is validated first,
 * our allocations are made first, and the file is written to a temporary
 * name beside the target and renamed into place.  A renderer killed before
 * the rename (SIGKILL, a crash) leaves its temporary file, named
 * .NAME.tmp-PID-XXXXXX; the next render (or export) of NAME removes those
 * of processes that no longer exist (atomic.c).
 *
 * PNG: cairo draws into our RGB buffer (PLplot's memcairo device) and
 * libpng writes it at zlib's fastest level (see the PNG section); cairo's
 * own writer cost two thirds of a render.  Solid lines are drawn into that
 * buffer by raster.c before PLplot draws the rest over them (draw_fast):
 * cairo's stroker took 1.6 s for the 2,700 curves of a sweep, raster.c a
 * tenth of that, with the same pixels to within a level or two on edges.
 *
 * Sizes follow matplotlib's defaults so figures look at home in a paper:
 * 10 pt text, 12 pt titles, 0.8 pt axes, 3.5 pt major and 2 pt minor ticks
 * pointing out, a legend with a light frame on a translucent white box.
 */
#include "internal.h"
#include "plload.h" /* <plplot.h>, its calls through dlopen (plload.c) */

#include <png.h>

#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <setjmp.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* PLplot keeps global state: one render at a time. */
static pthread_mutex_t render_lock = PTHREAD_MUTEX_INITIALIZER;

/* PLplot's cmap0 slots we use: 0 background, 1 ink, 15 the current layer. */
enum { COL_BG = 0, COL_INK = 1, COL_LAYER = 15 };

/* How PLplot relates our page units to its millimetres and font sizes
 * (measured on 5.15 with the cairo and svg drivers): a page of N units is
 * N/72 inches to PLplot, and a character height of h mm gives a font of
 * h * 96/25.4 units. */
#define MM_PER_UNIT (25.4 / 72.0)
#define FONT_PER_MM (96.0 / 25.4)

/* Text geometry in ems, relative to PLplot's reference point, which sits
 * half a digit height above the baseline. */
#define REF_ABOVE_BASE 0.376
#define CAP_TOP 0.355   /* digits and capitals above the reference */
#define SUP_TOP 0.84    /* a superscript's top above the reference */
#define BASE_BELOW 0.38 /* baseline below the reference */
#define DESC_BELOW 0.62 /* descenders below the reference */

/* Advance widths of ASCII 32..126 in DejaVu Sans (cairo's "sans" here and
 * matplotlib's default font), in 1/1000 em, read from the font's hmtx. */
static const unsigned short advance[95] = {
    318, 401, 460, 838, 636, 950, 780, 275, 390, 390, 500, 838, 318, 361,
    318, 337, 636, 636, 636, 636, 636, 636, 636, 636, 636, 636, 337, 337,
    838, 838, 838, 531, 1000, 684, 686, 698, 770, 632, 575, 775, 752, 295,
    295, 656, 557, 863, 748, 787, 603, 787, 695, 635, 611, 732, 684, 989,
    685, 611, 685, 390, 337, 390, 838, 500, 500, 613, 635, 550, 635, 615,
    352, 635, 634, 278, 278, 579, 278, 974, 634, 612, 635, 635, 411, 521,
    392, 634, 592, 818, 592, 592, 525, 636, 337, 636, 838};

typedef struct {
  double w;    /* width in em */
  int sup;     /* has a superscript */
  int desc;    /* has letters reaching below the baseline */
} text_ext;

/*
 * Width of PLplot text in ems, following its escapes: #u/#d change level
 * (0.75 size per level), #(NNN) is one Hershey symbol, #[0xNNNN] one
 * unicode character, ## a '#', #f?/#g? fonts and Greek letters.
 */
static text_ext measure(const char *s) {
  text_ext e = {0, 0, 0};
  int level = 0;
  for (const unsigned char *p = (const unsigned char *)s; *p;) {
    double size = pow(0.75, abs(level));
    if (*p == '#' && p[1]) {
      unsigned char c = p[1];
      p += 2;
      if (c == 'u') {
        level++;
        if (level > 0) e.sup = 1;
      } else if (c == 'd') {
        level--;
      } else if (c == '(' || c == '[') {
        char close = c == '(' ? ')' : ']';
        while (*p && *p != close) p++;
        if (*p) p++;
        e.w += 0.838 * size;
      } else if (c == '#') {
        e.w += 0.838 * size;
      } else if (c == 'g') {
        if (*p) p++;
        e.w += 0.62 * size;
        e.desc = 1;
      } else if (c == 'f') {
        if (*p) p++;
      }
      continue;
    }
    if (*p >= 32 && *p < 127) {
      e.w += advance[*p - 32] / 1000.0 * size;
      if (strchr("gjpqy(),;[]{}|_", *p)) e.desc = 1;
      p++;
    } else { /* one UTF-8 sequence */
      p++;
      while ((*p & 0xC0) == 0x80) p++;
      e.w += 0.7 * size;
    }
  }
  return e;
}

/* PLplot aborts text that is not UTF-8; reject it before we start. */
static int valid_utf8(const char *s) {
  const unsigned char *p = (const unsigned char *)s;
  while (*p) {
    int n = *p < 0x80 ? 0 : (*p & 0xE0) == 0xC0 ? 1 : (*p & 0xF0) == 0xE0 ? 2
            : (*p & 0xF8) == 0xF0 ? 3 : -1;
    if (n < 0 || (n == 1 && *p < 0xC2)) return 0;
    p++;
    while (n--) {
      if ((*p & 0xC0) != 0x80) return 0;
      p++;
    }
  }
  return 1;
}

typedef struct {
  int log;
  double t0, t1;                 /* limits in drawing space (log10 if log) */
  scl_tick ticks[SCL_TICKS_MAX]; /* from scl_ticks */
  size_t nticks;
  unsigned char show[SCL_TICKS_MAX]; /* label kept after thinning */
} axis_lay;

/* Choosing a "best" legend place: the nine candidate boxes (page units)
 * and how many points, segments and band columns each would cover,
 * counted while the layers are drawn, from the same decimated points. */
typedef struct {
  int on;
  double w, h, rx[9], ry[9], bad[9];
} legend_pick;

typedef struct {
  const scl_chart *c;
  axis_lay ax[2];
  double bx0, bx1, by0, by1; /* the axes box, page units */
  legend_pick lp;
  size_t drawn; /* layers before this one are drawn already (PNG lines) */
} panel_lay;

typedef struct {
  scl_ctx *ctx;
  double W, H;   /* page size in units */
  double k;      /* units per point */
  double fs;     /* base font size in units */
  int raster;
  panel_lay *p;
  size_t np;
  double *wx, *wy; /* work buffers, wcap doubles each */
  size_t *keep, *keep2;
  size_t wcap;
} job;

static double tr(double v, int log) { return log ? log10(v) : v; }

static const char *axis_name(int a) { return a ? "y" : "x"; }

/* Page coordinate of drawing-space value t on axis a of panel p. */
static double page(const panel_lay *p, int a, double t) {
  const axis_lay *ax = &p->ax[a];
  double u0 = a ? p->by0 : p->bx0, u1 = a ? p->by1 : p->bx1;
  return u0 + (t - ax->t0) / (ax->t1 - ax->t0) * (u1 - u0);
}

/* First index of ascending x[0..n) with x > v (after: 1) or x >= v. */
static size_t lower_bound(const double *x, size_t n, double v, int after) {
  size_t lo = 0, hi = n;
  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    if (after ? x[mid] <= v : x[mid] < v)
      lo = mid + 1;
    else
      hi = mid;
  }
  return lo;
}

/*
 * Check one panel's data and settle its axis limits.  Non-positive values
 * on a log axis are errors naming the layer and index (PLplot would hang
 * on log10(0)); NaN values are gaps.  Limits not given come from the data
 * with a 5% margin in drawing space, as matplotlib does.
 */
static int settle_axes(scl_ctx *ctx, size_t pi, panel_lay *pl) {
  const scl_chart *c = pl->c;
  for (int a = 0; a < 2; a++) {
    axis_lay *ax = &pl->ax[a];
    ax->log = c->axis[a].log;
    double dmin = INFINITY, dmax = -INFINITY;
    double xlo = -INFINITY, xhi = INFINITY; /* the x range in data units */
    if (a == 1) {
      const axis_lay *xa = &pl->ax[0];
      double u0 = xa->log ? pow(10, xa->t0) : xa->t0;
      double u1 = xa->log ? pow(10, xa->t1) : xa->t1;
      xlo = fmin(u0, u1);
      xhi = fmax(u0, u1);
    }
    for (size_t li = 0; li < c->nlayers; li++) {
      const scli_layer *l = &c->layers[li];
      const double *vs[2] = {a ? l->y : l->x, a && l->y2 ? l->y2 : NULL};
      size_t neg[2] = {a ? l->yneg : l->xneg, a && l->y2 ? l->y2neg : l->n};
      for (int vi = 0; vi < 2 && ax->log; vi++) {
        if (neg[vi] >= l->n) continue;
        size_t i = neg[vi];
        return scli_error(
            ctx, SCL_EINVAL,
            "panel %zu, layer %zu (%s%s%s): %s[%zu] = %g is not "
            "positive on a log %s axis",
            pi + 1, li + 1, l->kind == SCLI_LINE ? "line" : "band",
            l->legend ? " " : "", l->legend ? l->legend : "",
            l->kind == SCLI_BAND && a ? (vi ? "hi" : "lo") : axis_name(a),
            i + 1, vs[vi][i], axis_name(a));
      }
      if (a == 0 || l->xmin > l->xmax ||
          (l->xmin >= xlo && l->xmax <= xhi)) { /* the whole layer */
        double lo = a ? l->ymin : l->xmin, hi = a ? l->ymax : l->xmax;
        if (lo < dmin) dmin = lo;
        if (hi > dmax) dmax = hi;
        continue;
      }
      /* y limits from the points inside the x range only: a curve that
       * starts left of an explicit x limit should not stretch the y axis
       * for points nobody sees.  Sorted x: the visible run of indices. */
      size_t i0 = 0, i1 = l->n;
      if (l->xsorted) {
        i0 = lower_bound(l->x, l->n, xlo, 0);
        i1 = lower_bound(l->x, l->n, xhi, 1);
      }
      for (int vi = 0; vi < 2; vi++) {
        const double *v = vs[vi];
        for (size_t i = i0; v && i < i1; i++) {
          if (!isfinite(v[i]) || !(l->x[i] >= xlo && l->x[i] <= xhi))
            continue;
          if (v[i] < dmin) dmin = v[i];
          if (v[i] > dmax) dmax = v[i];
        }
      }
    }
    if (dmin <= dmax) { /* the transform is monotonic: only the ends */
      dmin = tr(dmin, ax->log);
      dmax = tr(dmax, ax->log);
    }
    double lo = c->axis[a].lo, hi = c->axis[a].hi;
    if (dmin > dmax) { /* no data: matplotlib's empty axes */
      dmin = 0;
      dmax = 1;
    }
    double span = dmax - dmin;
    double m = span > 0 ? 0.05 * span
                        : ax->log ? 0.5 : (dmin != 0 ? 0.1 * fabs(dmin) : 1);
    double t0 = isnan(lo) ? dmin - m : tr(lo, ax->log);
    double t1 = isnan(hi) ? dmax + m : tr(hi, ax->log);
    if (isnan(lo) != isnan(hi) && !(t1 > t0)) {
      /* One limit given beyond the data: keep it, open a unit span. */
      double w = ax->log ? 1 : fmax(1, fabs(isnan(lo) ? t1 : t0) * 0.1);
      if (isnan(lo))
        t0 = t1 - w;
      else
        t1 = t0 + w;
    }
    if (!isfinite(t0) || !isfinite(t1) || t0 == t1)
      return scli_error(ctx, SCL_EINVAL,
                        "panel %zu: %s axis limits are not finite (%g, %g)",
                        pi + 1, axis_name(a), t0, t1);
    if (ax->log && (fabs(t0) > 307 || fabs(t1) > 307))
      return scli_error(ctx, SCL_EINVAL,
                        "panel %zu: log %s axis limits out of range", pi + 1,
                        axis_name(a));
    ax->t0 = t0;
    ax->t1 = t1;
    double v0 = ax->log ? pow(10, t0) : t0, v1 = ax->log ? pow(10, t1) : t1;
    int rc = scl_ticks(ctx, v0, v1, ax->log, ax->ticks, SCL_TICKS_MAX,
                       &ax->nticks);
    if (rc) return rc;
  }
  return SCL_OK;
}

/* Sizes in points, matplotlib's defaults. */
#define TICK_MAJOR 3.5
#define TICK_MINOR 2.0
#define TICK_PAD 3.5
#define LABEL_PAD 4.0
#define TITLE_PAD 6.0
#define AXES_LW 0.8
#define TITLE_SCALE 1.2

/* The widest labelled y tick and the tallest x tick label, in ems. */
static void tick_label_size(const panel_lay *p, double *yw, double *xh) {
  *yw = 0;
  *xh = CAP_TOP + BASE_BELOW;
  for (size_t i = 0; i < p->ax[1].nticks; i++)
    if (p->ax[1].ticks[i].labelled)
      *yw = fmax(*yw, measure(p->ax[1].ticks[i].label).w);
  for (size_t i = 0; i < p->ax[0].nticks; i++)
    if (p->ax[0].ticks[i].labelled && measure(p->ax[0].ticks[i].label).sup)
      *xh = SUP_TOP + BASE_BELOW;
}

/*
 * How far labelled ticks stick out past the box (x labels to the right,
 * y labels above), so margins leave room for them.
 */
static void overhang(const job *j, const panel_lay *p, double *right,
                     double *top) {
  *right = *top = 0;
  for (size_t i = 0; i < p->ax[0].nticks; i++) {
    const scl_tick *t = &p->ax[0].ticks[i];
    if (!t->labelled) continue;
    double x = page(p, 0, tr(t->value, p->ax[0].log));
    double half = measure(t->label).w * j->fs / 2;
    *right = fmax(*right, x + half - fmax(p->bx0, p->bx1));
  }
  for (size_t i = 0; i < p->ax[1].nticks; i++) {
    const scl_tick *t = &p->ax[1].ticks[i];
    if (!t->labelled) continue;
    double y = page(p, 1, tr(t->value, p->ax[1].log));
    double up = (measure(t->label).sup ? SUP_TOP : CAP_TOP) * j->fs;
    *top = fmax(*top, y + up - fmax(p->by0, p->by1));
  }
}

/*
 * The axes box of a panel in its cell: margins from the sizes of the tick
 * labels, axis labels and title, so that nothing touches or is clipped.
 * Two passes: the second knows how far the end labels stick out.
 */
static void layout_panel(const job *j, panel_lay *p, double cx0, double cx1,
                         double cy0, double cy1) {
  double k = j->k, fs = j->fs, pad = 0.6 * fs;
  double yw, xh;
  tick_label_size(p, &yw, &xh);
  double left = pad + (TICK_MAJOR + TICK_PAD) * k + yw * fs;
  if (p->c->axis[1].label)
    left += LABEL_PAD * k + (CAP_TOP + DESC_BELOW) * fs;
  double bottom = pad + (TICK_MAJOR + TICK_PAD) * k + xh * fs;
  if (p->c->axis[0].label)
    bottom += LABEL_PAD * k + (CAP_TOP + DESC_BELOW) * fs;
  double top = pad, right = pad;
  if (p->c->title)
    top += TITLE_PAD * k + (CAP_TOP + DESC_BELOW) * fs * TITLE_SCALE;
  double rx = 0, ty = 0;
  for (int pass = 0; pass < 2; pass++) {
    p->bx0 = cx0 + left;
    p->bx1 = cx1 - right - fmax(0, rx - pad + 0.1 * fs);
    p->by0 = cy0 + bottom;
    p->by1 = cy1 - top - (p->c->title ? 0 : fmax(0, ty - pad + 0.1 * fs));
    if (p->bx1 < p->bx0 + 1) p->bx1 = p->bx0 + 1;
    if (p->by1 < p->by0 + 1) p->by1 = p->by0 + 1;
    overhang(j, p, &rx, &ty);
  }
}

/*
 * Decide which tick labels to draw so that none overlap: majors first
 * (greedily, in order), then minor labels that fit between them.
 */
static void thin_labels(const job *j, panel_lay *p) {
  for (int a = 0; a < 2; a++) {
    axis_lay *ax = &p->ax[a];
    double lo[SCL_TICKS_MAX], hi[SCL_TICKS_MAX];
    double gap = 0.4 * j->fs;
    for (size_t i = 0; i < ax->nticks; i++) {
      const scl_tick *t = &ax->ticks[i];
      double c = page(p, a, tr(t->value, ax->log));
      text_ext e = measure(t->label);
      double half = a ? ((e.sup ? SUP_TOP : CAP_TOP) + BASE_BELOW) / 2
                      : e.w / 2;
      lo[i] = c - half * j->fs;
      hi[i] = c + half * j->fs;
      ax->show[i] = 0;
    }
    for (int pass = 0; pass < 2; pass++) {
      for (size_t i = 0; i < ax->nticks; i++) {
        const scl_tick *t = &ax->ticks[i];
        if (!t->labelled || t->major != (pass == 0)) continue;
        int ok = 1;
        for (size_t q = 0; q < ax->nticks && ok; q++)
          if (ax->show[q] && lo[i] < hi[q] + gap && lo[q] < hi[i] + gap)
            ok = 0;
        ax->show[i] = (unsigned char)ok;
      }
    }
  }
}

/* ------------------------------------------------------------- drawing */

/* Full-page world coordinates in units, for text, ticks and legends. */
static void page_coords(const job *j) {
  plvpor(0, 1, 0, 1);
  plwind(0, j->W, 0, j->H);
}

/* Data coordinates clipped to the panel's box. */
static void data_coords(const job *j, const panel_lay *p) {
  plvpor(p->bx0 / j->W, p->bx1 / j->W, p->by0 / j->H, p->by1 / j->H);
  plwind(p->ax[0].t0, p->ax[0].t1, p->ax[1].t0, p->ax[1].t1);
}

static void ink(void) { plcol0(COL_INK); }

static void set_color(uint32_t rgb, double alpha) {
  plscol0a(COL_LAYER, (PLINT)(rgb >> 16 & 0xFF), (PLINT)(rgb >> 8 & 0xFF),
           (PLINT)(rgb & 0xFF), alpha);
  plcol0(COL_LAYER);
}

/* Text at page position (x, y); just 0 left, 0.5 centre, 1 right. */
static void text(double x, double y, double size, int vertical, double just,
                 const char *s) {
  plschr(size / FONT_PER_MM, 1.0);
  if (vertical)
    plptex(x, y, 0, 1, just, s);
  else
    plptex(x, y, 1, 0, just, s);
}

/* The font size, at most size, at which s spans no more than room units
 * (a long axis label on a small figure shrinks rather than being cut). */
static double fit_size(const char *s, double size, double room) {
  double w = measure(s).w;
  return w * size > room && w > 0 ? fmax(room / w, 1) : size;
}

/* Room for text centred at c on a page side of length len. */
static double room_at(const job *j, double c, double len) {
  double pad = 0.3 * j->fs;
  return 2 * fmax(0, fmin(c - pad, len - pad - c));
}

/* Dash pattern of a style, matplotlib's proportions scaled by the width. */
static void set_dash(const job *j, scl_dash d, double width_pt) {
  static const double dashed[] = {3.7, 1.6}, dotted[] = {1, 1.65},
                      dashdot[] = {6.4, 1.6, 1, 1.6};
  const double *pat = NULL;
  int n = 0;
  switch (d) {
  case SCL_DASH_DASHED: pat = dashed, n = 2; break;
  case SCL_DASH_DOTTED: pat = dotted, n = 2; break;
  case SCL_DASH_DASHDOT: pat = dashdot, n = 4; break;
  default: break;
  }
  if (!pat) {
    pllsty(1);
    return;
  }
  PLINT mark[2], space[2];
  double w = fmax(width_pt, 0.5) * j->k * MM_PER_UNIT * 1000;
  for (int i = 0; i < n / 2; i++) {
    mark[i] = (PLINT)lround(pat[2 * i] * w);
    space[i] = (PLINT)lround(pat[2 * i + 1] * w);
    if (mark[i] < 1) mark[i] = 1;
    if (space[i] < 1) space[i] = 1;
  }
  plstyl(n / 2, mark, space);
}

/* A filled marker centred at (x, y) in the current world coordinates,
 * sx/sy world units per page unit. */
static void marker(const job *j, scl_marker m, double size_pt, double x,
                   double y, double sx, double sy) {
  double r = size_pt * j->k / 2;
  PLFLT px[16], py[16];
  int n = 0;
  switch (m) {
  case SCL_MARK_CIRCLE:
    n = 16;
    for (int i = 0; i < n; i++) {
      px[i] = x + r * cos(2 * M_PI * i / n) * sx;
      py[i] = y + r * sin(2 * M_PI * i / n) * sy;
    }
    break;
  case SCL_MARK_SQUARE:
    n = 4;
    for (int i = 0; i < n; i++) {
      px[i] = x + (i == 1 || i == 2 ? r : -r) * 0.9 * sx;
      py[i] = y + (i >= 2 ? r : -r) * 0.9 * sy;
    }
    break;
  case SCL_MARK_TRIANGLE:
    n = 3;
    for (int i = 0; i < n; i++) {
      px[i] = x + r * 1.15 * cos(M_PI / 2 + 2 * M_PI * i / 3) * sx;
      py[i] = y + r * 1.15 * (sin(M_PI / 2 + 2 * M_PI * i / 3) + 0.25) * sy;
    }
    break;
  case SCL_MARK_CROSS: {
    PLFLT ax[2] = {x - r * sx, x + r * sx}, ay[2] = {y - r * sy, y + r * sy};
    PLFLT by[2] = {y + r * sy, y - r * sy};
    pllsty(1);
    plline(2, ax, ay);
    plline(2, ax, by);
    return;
  }
  default: return;
  }
  plfill(n, px, py);
}

/* Merge two ascending index lists without duplicates into out. */
static size_t merge_idx(const size_t *a, size_t na, const size_t *b,
                        size_t nb, size_t *out) {
  size_t i = 0, q = 0, m = 0;
  while (i < na || q < nb) {
    size_t v;
    if (q >= nb || (i < na && a[i] < b[q]))
      v = a[i++];
    else if (i >= na || b[q] < a[i])
      v = b[q++];
    else
      v = a[i++], q++;
    out[m++] = v;
  }
  return m;
}

/* Pixel columns of a panel for decimation (4 per point for vectors). */
static size_t columns(const job *j, const panel_lay *p) {
  double w = fabs(p->bx1 - p->bx0) * (j->raster ? 1 : 4 / j->k);
  return w < 1 ? 1 : (size_t)w;
}

/*
 * The points of a layer's curve (y, or a band edge) to draw, transformed
 * into drawing space in j->wx/j->wy; returns the count.  Long curves are
 * decimated to the panel's pixel columns first.
 */
static size_t curve_points(const job *j, const panel_lay *p,
                           const scli_layer *l, const double *y) {
  size_t ncol = columns(j, p), n = l->n;
  int xl = p->ax[0].log, yl = p->ax[1].log;
  double x0 = xl ? pow(10, p->ax[0].t0) : p->ax[0].t0;
  double x1 = xl ? pow(10, p->ax[0].t1) : p->ax[0].t1;
  if (n > 4 * ncol) {
    int flags = (l->xsorted ? SCLI_DEC_SORTED : 0) |
                (l->kind == SCLI_LINE ? SCLI_DEC_LINE : 0);
    n = scli_decimate(l->x, y, l->n, x0, x1, xl, ncol, flags, j->keep);
  } else {
    for (size_t i = 0; i < n; i++) j->keep[i] = i;
  }
  for (size_t i = 0; i < n; i++) {
    size_t s = j->keep[i];
    j->wx[i] = tr(l->x[s], xl);
    j->wy[i] = tr(y[s], yl);
  }
  return n;
}

/* Does the segment (x0,y0)-(x1,y1) cross the rectangle?  Liang-Barsky. */
static int seg_hits(double x0, double y0, double x1, double y1, double rx0,
                    double ry0, double rx1, double ry1) {
  double t0 = 0, t1 = 1, dx = x1 - x0, dy = y1 - y0;
  double pq[4][2] = {{-dx, x0 - rx0}, {dx, rx1 - x0}, {-dy, y0 - ry0},
                     {dy, ry1 - y0}};
  for (int i = 0; i < 4; i++) {
    double pp = pq[i][0], q = pq[i][1];
    if (pp == 0) {
      if (q < 0) return 0;
    } else {
      double r = q / pp;
      if (pp < 0) {
        if (r > t1) return 0;
        if (r > t0) t0 = r;
      } else {
        if (r < t0) return 0;
        if (r < t1) t1 = r;
      }
    }
  }
  return 1;
}

/* Count the drawing-space polyline (wx, wy)[0..n) against the candidates:
 * a point inside a box and a segment crossing it each count one (a
 * two-point power law crosses a box without a point inside it). */
static void pick_line(legend_pick *lp, const panel_lay *p, const double *wx,
                      const double *wy, size_t n) {
  if (!lp->on) return;
  double px = NAN, py = NAN;
  for (size_t i = 0; i < n; i++) {
    double x = page(p, 0, wx[i]), y = page(p, 1, wy[i]);
    if (!isfinite(x) || !isfinite(y)) {
      px = py = NAN;
      continue;
    }
    for (int c = 0; c < 9; c++) {
      double x0 = lp->rx[c], y0 = lp->ry[c], x1 = x0 + lp->w, y1 = y0 + lp->h;
      if (x >= x0 && x <= x1 && y >= y0 && y <= y1) lp->bad[c] += 1;
      if (isfinite(px) && seg_hits(px, py, x, y, x0, y0, x1, y1))
        lp->bad[c] += 1;
    }
    px = x;
    py = y;
  }
}

/* A band counts by sampled columns. */
static void pick_band(legend_pick *lp, const panel_lay *p,
                      const scli_layer *l) {
  if (!lp->on) return;
  size_t step = l->n / 2000 + 1;
  for (size_t i = 0; i < l->n; i += step) {
    double x = page(p, 0, tr(l->x[i], p->ax[0].log));
    double y0 = page(p, 1, tr(l->y[i], p->ax[1].log));
    double y1 = page(p, 1, tr(l->y2[i], p->ax[1].log));
    if (!isfinite(x) || !isfinite(y0) || !isfinite(y1)) continue;
    for (int c = 0; c < 9; c++)
      if (seg_hits(x, y0, x, y1, lp->rx[c], lp->ry[c], lp->rx[c] + lp->w,
                   lp->ry[c] + lp->h))
        lp->bad[c] += 1;
  }
}

/* Draw polyline runs between non-finite points. */
static void draw_runs(const double *x, const double *y, size_t n) {
  size_t i = 0;
  while (i < n) {
    while (i < n && !(isfinite(x[i]) && isfinite(y[i]))) i++;
    size_t s = i;
    while (i < n && isfinite(x[i]) && isfinite(y[i])) i++;
    if (i - s >= 2) plline((PLINT)(i - s), (PLFLT *)x + s, (PLFLT *)y + s);
  }
}

static void draw_line(const job *j, const panel_lay *p, const scli_layer *l,
                      legend_pick *lp) {
  size_t n = curve_points(j, p, l, l->y);
  pick_line(lp, p, j->wx, j->wy, n);
  const scl_style *s = &l->style;
  set_color(s->color, s->alpha);
  if (s->width > 0) {
    plwidth(s->width * j->k);
    set_dash(j, s->dash, s->width);
    draw_runs(j->wx, j->wy, n);
    pllsty(1);
  }
  if (s->marker != SCL_MARK_NONE && s->marker_size > 0) {
    double sx = (p->ax[0].t1 - p->ax[0].t0) / (p->bx1 - p->bx0);
    double sy = (p->ax[1].t1 - p->ax[1].t0) / (p->by1 - p->by0);
    plwidth(fmax(s->width, 1) * j->k * 0.5);
    for (size_t i = 0; i < n; i++)
      if (isfinite(j->wx[i]) && isfinite(j->wy[i]))
        marker(j, s->marker, s->marker_size, j->wx[i], j->wy[i], sx, sy);
  }
}

/* A band: polygons between its edges, split where a value is missing. */
static void draw_band(const job *j, const panel_lay *p, const scli_layer *l) {
  size_t ncol = columns(j, p), n = l->n, *idx = j->keep2;
  int xl = p->ax[0].log, yl = p->ax[1].log;
  if (n > 4 * ncol) {
    double x0 = xl ? pow(10, p->ax[0].t0) : p->ax[0].t0;
    double x1 = xl ? pow(10, p->ax[0].t1) : p->ax[0].t1;
    int flags = l->xsorted ? SCLI_DEC_SORTED : 0;
    size_t na = scli_decimate(l->x, l->y, n, x0, x1, xl, ncol, flags, j->keep);
    size_t *tmp = j->keep + na; /* the second list after the first */
    size_t nb = scli_decimate(l->x, l->y2, n, x0, x1, xl, ncol, flags, tmp);
    n = merge_idx(j->keep, na, tmp, nb, idx);
  } else {
    for (size_t i = 0; i < n; i++) idx[i] = i;
  }
  set_color(l->style.color, l->style.alpha);
  size_t i = 0;
  while (i < n) {
    size_t m = 0;
    for (; i < n; i++) {
      size_t s = idx[i];
      double x = tr(l->x[s], xl), a = tr(l->y[s], yl), b = tr(l->y2[s], yl);
      if (!(isfinite(x) && isfinite(a) && isfinite(b))) {
        if (m) break;
        continue;
      }
      j->wx[m] = x;
      j->wy[m] = a;
      j->wx[j->wcap - 1 - m] = x; /* upper edge from the end, backwards */
      j->wy[j->wcap - 1 - m] = b;
      m++;
    }
    if (m >= 2) {
      size_t top = j->wcap - m;
      memmove(j->wx + m, j->wx + top, m * sizeof(double));
      memmove(j->wy + m, j->wy + top, m * sizeof(double));
      plfill((PLINT)(2 * m), j->wx, j->wy);
    }
  }
}

/* Outward ticks on the left and bottom, their labels, and the box. */
static void draw_axes(const job *j, const panel_lay *p) {
  double k = j->k;
  ink();
  pllsty(1);
  for (int a = 0; a < 2; a++) {
    const axis_lay *ax = &p->ax[a];
    for (size_t i = 0; i < ax->nticks; i++) {
      const scl_tick *t = &ax->ticks[i];
      double c = page(p, a, tr(t->value, ax->log));
      double len = (t->major ? TICK_MAJOR : TICK_MINOR) * k;
      plwidth((t->major ? AXES_LW : 0.6) * k);
      if (a == 0)
        pljoin(c, p->by0, c, p->by0 - len);
      else
        pljoin(p->bx0, c, p->bx0 - len, c);
      if (!ax->show[i]) continue;
      double gap = (TICK_MAJOR + TICK_PAD) * k;
      if (a == 0) {
        double up = (measure(t->label).sup ? SUP_TOP : CAP_TOP) * j->fs;
        text(c, p->by0 - gap - up, j->fs, 0, 0.5, t->label);
      } else {
        text(p->bx0 - gap, c, j->fs, 0, 1.0, t->label);
      }
    }
  }
  plwidth(AXES_LW * k);
  PLFLT bx[5] = {p->bx0, p->bx1, p->bx1, p->bx0, p->bx0};
  PLFLT by[5] = {p->by0, p->by0, p->by1, p->by1, p->by0};
  plline(5, bx, by);

  /* Axis labels and title, placed from the same sizes as the layout. */
  double yw, xh;
  tick_label_size(p, &yw, &xh);
  const char *xl = p->c->axis[0].label, *yl = p->c->axis[1].label;
  double cx = (p->bx0 + p->bx1) / 2, cy = (p->by0 + p->by1) / 2;
  if (xl) {
    double y = p->by0 - (TICK_MAJOR + TICK_PAD + LABEL_PAD) * k -
               xh * j->fs - CAP_TOP * j->fs;
    text(cx, y, fit_size(xl, j->fs, room_at(j, cx, j->W)), 0, 0.5, xl);
  }
  if (yl) {
    double x = p->bx0 - (TICK_MAJOR + TICK_PAD + LABEL_PAD) * k -
               yw * j->fs - DESC_BELOW * j->fs;
    text(x, cy, fit_size(yl, j->fs, room_at(j, cy, j->H)), 1, 0.5, yl);
  }
  if (p->c->title) {
    double fs = j->fs * TITLE_SCALE;
    double y = fmax(p->by0, p->by1) + TITLE_PAD * k + DESC_BELOW * fs;
    text(cx, y, fit_size(p->c->title, fs, room_at(j, cx, j->W)), 0, 0.5,
         p->c->title);
  }
}

/* ------------------------------------------------------------- legend */

typedef struct {
  double w, h;       /* box size, units */
  double row;        /* row pitch */
  size_t n;          /* entries */
} legend_box;

#define LEG_PAD 0.4    /* ems: border pad */
#define LEG_HANDLE 2.0 /* sample line length */
#define LEG_TEXTPAD 0.8
#define LEG_SPACE 0.5
#define LEG_AXPAD 0.5

static legend_box legend_size(const job *j, const scl_chart *c) {
  legend_box b = {0, 0, 0, 0};
  double tw = 0;
  for (size_t i = 0; i < c->nlayers; i++)
    if (c->layers[i].legend) {
      b.n++;
      tw = fmax(tw, measure(c->layers[i].legend).w);
    }
  double fs = j->fs;
  b.row = (1.0 + LEG_SPACE) * fs;
  b.w = (2 * LEG_PAD + LEG_HANDLE + LEG_TEXTPAD + tw) * fs;
  b.h = (2 * LEG_PAD + b.n + (b.n ? b.n - 1 : 0) * LEG_SPACE) * fs;
  return b;
}

/* Legend anchors as fractions of the free room across and up the axes:
 * matplotlib's order for "best" (upper right first), then the explicit
 * positions' entries. */
static const double anchors[9][2] = {{1, 1},   {0, 1},   {0, 0},
                                     {1, 0},   {0, .5},  {1, .5},
                                     {.5, 0},  {.5, 1},  {.5, .5}};

static int anchor_of(scl_legend_pos pos) {
  switch (pos) {
  case SCL_LEGEND_UPPER_LEFT: return 1;
  case SCL_LEGEND_LOWER_LEFT: return 2;
  case SCL_LEGEND_LOWER_RIGHT: return 3;
  default: return 0;
  }
}

/* The lower-left corner (x, y) of a legend box at anchor a, page units. */
static void legend_at(const job *j, const panel_lay *p, const legend_box *b,
                      int a, double *x, double *y) {
  double pad = LEG_AXPAD * j->fs;
  double l = fmin(p->bx0, p->bx1), r = fmax(p->bx0, p->bx1);
  double bo = fmin(p->by0, p->by1), t = fmax(p->by0, p->by1);
  *x = l + pad + anchors[a][0] * (r - l - 2 * pad - b->w);
  *y = bo + pad + anchors[a][1] * (t - bo - 2 * pad - b->h);
}

/* A rounded rectangle as a polygon (matplotlib's fancy box). */
static int round_rect(double x0, double y0, double w, double h, double r,
                      PLFLT *px, PLFLT *py) {
  double cx[4] = {x0 + w - r, x0 + r, x0 + r, x0 + w - r};
  double cy[4] = {y0 + h - r, y0 + h - r, y0 + r, y0 + r};
  int n = 0;
  for (int c = 0; c < 4; c++)
    for (int s = 0; s <= 4; s++) {
      double ang = M_PI / 2 * c + M_PI / 2 * s / 4;
      px[n] = cx[c] + r * cos(ang);
      py[n] = cy[c] + r * sin(ang);
      n++;
    }
  px[n] = px[0];
  py[n] = py[0];
  return n + 1;
}

/*
 * matplotlib's "best": of nine places (corners, edge centres, centre), the
 * one whose box covers the fewest data (counted by pick_line and
 * pick_band while drawing); ties go to the first in matplotlib's order.
 */
static void pick_start(const job *j, const panel_lay *p, legend_pick *lp) {
  legend_box b = legend_size(j, p->c);
  lp->on = p->c->legend == SCL_LEGEND_BEST && b.n > 0;
  lp->w = b.w;
  lp->h = b.h;
  for (int c = 0; c < 9; c++) {
    lp->bad[c] = 0;
    legend_at(j, p, &b, c, &lp->rx[c], &lp->ry[c]);
  }
}

static void draw_legend(const job *j, const panel_lay *p,
                        const legend_pick *lp) {
  const scl_chart *c = p->c;
  if (c->legend == SCL_LEGEND_NONE) return;
  legend_box b = legend_size(j, c);
  if (!b.n) return;
  int a = anchor_of(c->legend);
  if (c->legend == SCL_LEGEND_BEST)
    for (int k = 1; k < 9; k++)
      if (lp->bad[k] < lp->bad[a]) a = k;
  double x0, y0;
  legend_at(j, p, &b, a, &x0, &y0);
  page_coords(j);
  PLFLT px[21], py[21];
  int n = round_rect(x0, y0, b.w, b.h, 0.2 * j->fs, px, py);
  set_color(0xFFFFFF, 0.8);
  plfill(n, px, py);
  set_color(0xCCCCCC, 1);
  pllsty(1);
  plwidth(AXES_LW * j->k);
  plline(n, px, py);

  double fs = j->fs, rowy = y0 + b.h - (LEG_PAD + 0.5) * fs;
  double hx0 = x0 + LEG_PAD * fs, hx1 = hx0 + LEG_HANDLE * fs;
  for (size_t i = 0; i < c->nlayers; i++) {
    const scli_layer *l = &c->layers[i];
    if (!l->legend) continue;
    const scl_style *s = &l->style;
    set_color(s->color, s->alpha);
    if (l->kind == SCLI_BAND) {
      PLFLT bx[4] = {hx0, hx1, hx1, hx0};
      PLFLT by[4] = {rowy - 0.35 * fs, rowy - 0.35 * fs, rowy + 0.35 * fs,
                     rowy + 0.35 * fs};
      plfill(4, bx, by);
    } else {
      if (s->width > 0) {
        plwidth(s->width * j->k);
        set_dash(j, s->dash, s->width);
        pljoin(hx0, rowy, hx1, rowy);
        pllsty(1);
      }
      if (s->marker != SCL_MARK_NONE)
        marker(j, s->marker, s->marker_size, (hx0 + hx1) / 2, rowy, 1, 1);
    }
    ink();
    text(hx1 + LEG_TEXTPAD * fs, rowy, fs, 0, 0, l->legend);
    rowy -= b.row;
  }
}

/* -------------------------------------------------------------- files */

typedef struct {
  const char *ext, *dev;
  int raster;
} format;

static const format formats[] = {
    {".png", "memcairo", 1}, {".svg", "svgcairo", 0}, {".pdf", "pdfcairo", 0}};

static const format *format_of(const char *path) {
  const char *dot = strrchr(path, '.'), *slash = strrchr(path, '/');
  if (!dot || (slash && dot < slash)) return NULL;
  for (size_t i = 0; i < sizeof formats / sizeof *formats; i++)
    if (strcasecmp(dot, formats[i].ext) == 0) return &formats[i];
  return NULL;
}

/* Is the PLplot device compiled in and its driver installed?  Asking for
 * an unknown one makes plinit prompt on stdin. */
static int have_device(const char *dev) {
  const char *menu[128], *names[128];
  const char **mp = menu, **np = names;
  int n = 128;
  plgDevs(&mp, &np, &n);
  for (int i = 0; i < n; i++)
    if (names[i] && strcmp(names[i], dev) == 0) return 1;
  return 0;
}

/* The directory must exist and be writable, or PLplot calls exit(). */
static int check_target(scl_ctx *ctx, const char *path) {
  size_t n = strlen(path);
  if (n == 0 || path[n - 1] == '/')
    return scli_error(ctx, SCL_EINVAL, "render: '%s' names no file", path);
  struct stat st;
  if (stat(path, &st) == 0 && S_ISDIR(st.st_mode))
    return scli_error(ctx, SCL_EINVAL, "render: '%s' is a directory", path);
  const char *slash = strrchr(path, '/');
  char dir[4096];
  if (!slash) {
    strcpy(dir, ".");
  } else {
    size_t dn = slash == path ? 1 : (size_t)(slash - path);
    if (dn >= sizeof dir)
      return scli_error(ctx, SCL_EINVAL, "render: path too long");
    memcpy(dir, path, dn);
    dir[dn] = '\0';
  }
  if (stat(dir, &st) != 0)
    return scli_error(ctx, SCL_EIO, "render: directory '%s': %s", dir,
                      strerror(errno));
  if (!S_ISDIR(st.st_mode))
    return scli_error(ctx, SCL_EIO, "render: '%s' is not a directory", dir);
  if (access(dir, W_OK | X_OK) != 0)
    return scli_error(ctx, SCL_EIO, "render: directory '%s' is not "
                      "writable: %s", dir, strerror(errno));
  return SCL_OK;
}

static int check_opts(scl_ctx *ctx, const scl_figure_opts *o, size_t np) {
  if (!(o->width_in > 0.5 && o->width_in <= 100 && o->height_in > 0.5 &&
        o->height_in <= 100))
    return scli_error(ctx, SCL_EINVAL, "render: figure size %g x %g in is "
                      "not within 0.5..100 in", o->width_in, o->height_in);
  if (!(o->dpi >= 10 && o->dpi <= 2400))
    return scli_error(ctx, SCL_EINVAL, "render: dpi %g is not within "
                      "10..2400", o->dpi);
  if (o->width_in * o->dpi > 30000 || o->height_in * o->dpi > 30000)
    return scli_error(ctx, SCL_EINVAL, "render: %g x %g pixels is too "
                      "large", o->width_in * o->dpi, o->height_in * o->dpi);
  if (!(o->font_pt >= 2 && o->font_pt <= 72))
    return scli_error(ctx, SCL_EINVAL, "render: font size %g pt is not "
                      "within 2..72", o->font_pt);
  if (o->rows < 1 || o->cols < 1 || o->rows > 50 || o->cols > 50)
    return scli_error(ctx, SCL_EINVAL, "render: grid %d x %d is not within "
                      "1..50", o->rows, o->cols);
  if (np > (size_t)o->rows * (size_t)o->cols)
    return scli_error(ctx, SCL_EINVAL, "render: %zu panels do not fit a "
                      "%d x %d grid", np, o->rows, o->cols);
  if (o->title && !valid_utf8(o->title))
    return scli_error(ctx, SCL_EINVAL, "render: figure title is not UTF-8");
  return SCL_OK;
}

/* Every string PLplot will see must be UTF-8. */
static int check_text(scl_ctx *ctx, size_t pi, const scl_chart *c) {
  if (c->title && !valid_utf8(c->title))
    return scli_error(ctx, SCL_EINVAL, "panel %zu: title is not UTF-8",
                      pi + 1);
  for (int a = 0; a < 2; a++)
    if (c->axis[a].label && !valid_utf8(c->axis[a].label))
      return scli_error(ctx, SCL_EINVAL, "panel %zu: %s label is not UTF-8",
                        pi + 1, axis_name(a));
  for (size_t i = 0; i < c->nlayers; i++)
    if (c->layers[i].legend && !valid_utf8(c->layers[i].legend))
      return scli_error(ctx, SCL_EINVAL, "panel %zu, layer %zu: legend is "
                        "not UTF-8", pi + 1, i + 1);
  return SCL_OK;
}

/* The panels' boxes, from the page size and the labels. */
static void layout_figure(job *j, const scl_figure_opts *o) {
  double top = 0;
  if (o->title) top = (TITLE_SCALE * 1.0 + 0.8) * j->fs + 0.3 * j->fs;
  double cw = j->W / o->cols, chh = (j->H - top) / o->rows;
  for (size_t i = 0; i < j->np; i++) {
    panel_lay *p = &j->p[i];
    int r = (int)(i / (size_t)o->cols), c = (int)(i % (size_t)o->cols);
    double cx0 = c * cw, cy1 = j->H - top - r * chh;
    layout_panel(j, p, cx0, cx0 + cw, cy1 - chh, cy1);
    thin_labels(j, p);
    pick_start(j, p, &p->lp);
  }
}

/* What one PLplot pass draws: everything (vector outputs), or for PNG the
 * bands under the lines, then what the raster pass left (see draw_fast). */
typedef enum { PASS_ALL, PASS_UNDER, PASS_OVER } pass;

static int has_bands(const job *j) {
  for (size_t i = 0; i < j->np; i++)
    for (size_t li = 0; li < j->p[i].c->nlayers; li++)
      if (j->p[i].c->layers[li].kind == SCLI_BAND) return 1;
  return 0;
}

/* Draw a pass onto the open PLplot stream. */
static void draw_figure(job *j, const scl_figure_opts *o, pass ps) {
  pladv(0);
  for (size_t i = 0; i < j->np; i++) {
    panel_lay *p = &j->p[i];
    data_coords(j, p);
    if (ps != PASS_OVER)
      for (size_t li = 0; li < p->c->nlayers; li++) {
        const scli_layer *l = &p->c->layers[li];
        if (l->kind == SCLI_BAND) {
          draw_band(j, p, l);
          pick_band(&p->lp, p, l);
        }
      }
    if (ps == PASS_UNDER) continue;
    for (size_t li = ps == PASS_OVER ? p->drawn : 0; li < p->c->nlayers; li++) {
      const scli_layer *l = &p->c->layers[li];
      if (l->kind == SCLI_LINE) draw_line(j, p, l, &p->lp);
    }
    page_coords(j);
    draw_axes(j, p);
    draw_legend(j, p, &p->lp);
  }
  if (o->title && ps != PASS_UNDER) {
    page_coords(j);
    ink();
    double fs = TITLE_SCALE * j->fs;
    text(j->W / 2, j->H - 0.6 * j->fs - CAP_TOP * fs, fs, 0, 0.5,
         o->title);
  }
}

/* Set by tests to compare the raster pass with cairo's strokes. */
static int fast_lines = 1;
void scli_render_fast_lines(int on) { fast_lines = on; }

/* A line the raster pass can draw: solid, without markers. */
static int fast_line(const scli_layer *l) {
  const scl_style *s = &l->style;
  return l->kind == SCLI_LINE && s->dash == SCL_DASH_SOLID &&
         (s->marker == SCL_MARK_NONE || !(s->marker_size > 0));
}

/* Threads for the raster pass: SCALELUA_THREADS, or the online CPUs;
 * one for small work, where starting threads costs more than it saves. */
static unsigned raster_threads(size_t points) {
  size_t n = points < 50000 ? 1 : scli_threads();
  return n > 16 ? 16 : (unsigned)n;
}

/*
 * PNG: each panel's solid lines, up to the first layer that is not one
 * (bands aside: they are drawn first anyway), are drawn by raster.c into
 * the image before PLplot draws the rest over them, so the layer order is
 * kept.  Lines and legend choice come from the same decimated points as
 * in draw_line.  A panel's lines are gathered in pixels first and drawn
 * together, the image's rows shared among threads.
 */
static int draw_fast(job *j, unsigned char *mem) {
  scl_ctx *ctx = j->ctx;
  /* each panel's fast lines end at its first other line (p->drawn); room
   * for the panel with the most of them and their points (decimated, so
   * at most as many; pages of a big block never written are never
   * mapped) */
  size_t maxl = 0, maxp = 0;
  for (size_t i = 0; i < j->np; i++) {
    panel_lay *p = &j->p[i];
    size_t nl = 0, np = 0, li = 0;
    for (; li < p->c->nlayers; li++) {
      const scli_layer *l = &p->c->layers[li];
      if (l->kind == SCLI_BAND) continue;
      if (!fast_line(l)) break;
      nl++, np += l->n;
    }
    p->drawn = li;
    if (nl > maxl) maxl = nl;
    if (np > maxp) maxp = np;
  }
  if (!maxl) return SCL_OK;
  scli_raster r;
  int rc = scli_raster_init(ctx, &r, mem, (uint32_t)j->W, (uint32_t)j->H);
  double *pts = rc ? NULL : scli_malloc(ctx, 2 * maxp * sizeof *pts);
  scli_rline *lines = pts ? scli_malloc(ctx, maxl * sizeof *lines) : NULL;
  if (!rc && !lines) rc = scli_oom(ctx);
  for (size_t i = 0; i < j->np && !rc; i++) {
    panel_lay *p = &j->p[i];
    scli_raster_clip(&r, p->bx0, j->H - p->by0, p->bx1, j->H - p->by1);
    size_t nl = 0, npts = 0;
    for (size_t li = 0; li < p->drawn; li++) {
      const scli_layer *l = &p->c->layers[li];
      if (l->kind == SCLI_BAND) continue;
      size_t n = curve_points(j, p, l, l->y);
      pick_line(&p->lp, p, j->wx, j->wy, n);
      double *px = pts + npts, *py = px + n;
      for (size_t k = 0; k < n; k++) {
        px[k] = page(p, 0, j->wx[k]);
        py[k] = j->H - page(p, 1, j->wy[k]);
      }
      lines[nl++] = (scli_rline){px, py, n, l->style.width * j->k,
                                 l->style.color, l->style.alpha};
      npts += 2 * n;
    }
    scli_raster_lines(&r, lines, nl, raster_threads(npts / 2));
  }
  scli_free(ctx, pts, 2 * maxp * sizeof *pts);
  scli_free(ctx, lines, maxl * sizeof *lines);
  scli_raster_free(&r);
  return rc;
}

static void free_job(job *j) {
  scl_ctx *ctx = j->ctx;
  scli_free(ctx, j->p, j->np * sizeof *j->p);
  scli_free(ctx, j->wx, j->wcap * sizeof(double));
  scli_free(ctx, j->wy, j->wcap * sizeof(double));
  scli_free(ctx, j->keep, j->wcap * sizeof(size_t));
  scli_free(ctx, j->keep2, j->wcap * sizeof(size_t));
}

/*
 * cairo numbers its SVG surfaces with a process-wide counter
 * (<g id="surface6"> on the third render), so renumber "surfaceN" ids in
 * order of appearance: the same chart then gives the same bytes.
 */
static int normalize_svg(scl_ctx *ctx, const char *tmp) {
  FILE *f = fopen(tmp, "rb");
  if (!f)
    return scli_error(ctx, SCL_EIO, "render: cannot reopen '%s': %s", tmp,
                      strerror(errno));
  long n = -1;
  if (fseek(f, 0, SEEK_END) == 0) n = ftell(f);
  rewind(f);
  char *buf = n >= 0 ? scli_malloc(ctx, (size_t)n + 1) : NULL;
  size_t got = buf ? fread(buf, 1, (size_t)n, f) : 0;
  fclose(f);
  if (!buf)
    return n < 0 ? scli_error(ctx, SCL_EIO, "render: cannot read '%s'", tmp)
                 : scli_oom(ctx);
  buf[got] = '\0';
  long seen[64];
  int nseen = 0, rc = SCL_OK;
  f = fopen(tmp, "wb");
  if (!f) rc = scli_error(ctx, SCL_EIO, "render: cannot rewrite '%s': %s",
                          tmp, strerror(errno));
  static const char key[] = "surface";
  char *p = buf, *end = buf + got;
  while (f && p < end) {
    char *hit = strstr(p, key);
    char *digits = hit ? hit + sizeof key - 1 : NULL;
    if (!hit || hit >= end) {
      fwrite(p, 1, (size_t)(end - p), f);
      break;
    }
    fwrite(p, 1, (size_t)(digits - p), f);
    p = digits;
    if (*p < '0' || *p > '9') continue;
    long id = strtol(p, &p, 10);
    int k = 0;
    while (k < nseen && seen[k] != id) k++;
    if (k == nseen && nseen < 64) seen[nseen++] = id;
    fprintf(f, "%ld", k < 64 ? (long)k + 1 : id);
  }
  if (f && (ferror(f) | fclose(f)))
    rc = scli_error(ctx, SCL_EIO, "render: cannot write '%s'", tmp);
  scli_free(ctx, buf, (size_t)n + 1);
  return rc;
}

/*
 * cairo stamps PDFs with the time of writing.  For reproducible figures,
 * honour SOURCE_DATE_EPOCH (reproducible-builds.org) when it is set: the
 * 14 date digits are overwritten in place, so the xref offsets stay valid.
 */
static int pdf_date(scl_ctx *ctx, const char *tmp) {
  const char *epoch = getenv("SOURCE_DATE_EPOCH");
  if (!epoch || !*epoch) return SCL_OK;
  char *end;
  long long t = strtoll(epoch, &end, 10);
  struct tm tm;
  time_t tt = (time_t)t;
  if (*end || t < 0 || !gmtime_r(&tt, &tm)) return SCL_OK;
  char stamp[32];
  snprintf(stamp, sizeof stamp, "%04d%02d%02d%02d%02d%02d",
           tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
           tm.tm_min, tm.tm_sec);
  if (strlen(stamp) != 14) return SCL_OK;
  FILE *f = fopen(tmp, "r+b");
  if (!f) return scli_error(ctx, SCL_EIO, "render: cannot reopen '%s'", tmp);
  static const char key[] = "/CreationDate (D:";
  char win[4096 + sizeof key];
  size_t have = 0;
  long base = 0; /* file offset of win[0] */
  int rc = SCL_OK;
  for (;;) {
    size_t got = fread(win + have, 1, sizeof win - have - 1, f);
    have += got;
    win[have] = '\0';
    char *hit = memmem(win, have, key, sizeof key - 1);
    if (hit && (size_t)(hit - win) + sizeof key - 1 + 14 <= have) {
      long at = base + (long)(hit - win) + (long)sizeof key - 1;
      if (fseek(f, at, SEEK_SET) != 0 || fwrite(stamp, 1, 14, f) != 14)
        rc = scli_error(ctx, SCL_EIO, "render: cannot write '%s'", tmp);
      break;
    }
    if (got == 0) break;
    size_t keep = have < sizeof key + 14 ? have : sizeof key + 14;
    memmove(win, win + have - keep, keep);
    base += (long)(have - keep);
    have = keep;
  }
  if (fclose(f) != 0 && rc == SCL_OK)
    rc = scli_error(ctx, SCL_EIO, "render: cannot write '%s'", tmp);
  return rc;
}

/* ---------------------------------------------------------------- PNG */

/*
 * PNG files are written by libpng from cairo's pixels, not by cairo's own
 * writer, which uses zlib's default level and adaptive row filters and
 * took two thirds of a render.  A chart is flat colour and antialiased
 * edges on white, where zlib's fastest level with the "None" row filter is
 * the quickest choice and the smallest of the fast ones (the MoBA figure:
 * None 82 KB in 6 ms; Sub 99 KB, Up 104 KB, adaptive 95 KB, each slower;
 * cairo's level 6 and adaptive filters 89 KB in 37 ms).  libpng allocates
 * through the context, reports errors by longjmp and never prints.
 */

typedef struct {
  scl_ctx *ctx;
  int oom;       /* an allocation failed */
  char msg[128]; /* libpng's error message */
} pw_state;

/* A block from the context carries its size for scli_free. */
typedef union {
  size_t n;
  max_align_t align;
} pw_hdr;

/* libpng's allocations, and zlib's through it, come from the context; a
 * failure is remembered, so the error libpng raises becomes SCL_ENOMEM. */
static png_voidp pw_alloc(png_structp png, png_alloc_size_t n) {
  pw_state *s = png_get_mem_ptr(png);
  pw_hdr *h = n <= SIZE_MAX - sizeof(pw_hdr)
                  ? scli_malloc(s->ctx, n + sizeof(pw_hdr))
                  : NULL;
  if (!h) {
    s->oom = 1;
    return NULL;
  }
  h->n = n + sizeof *h;
  return h + 1;
}

static void pw_free(png_structp png, png_voidp p) {
  pw_state *s = png_get_mem_ptr(png);
  if (p) scli_free(s->ctx, (pw_hdr *)p - 1, ((pw_hdr *)p - 1)->n);
}

/* libpng's error callback must not return: keep the message, unwind. */
static void pw_error(png_structp png, png_const_charp msg) {
  pw_state *s = png_get_error_ptr(png);
  snprintf(s->msg, sizeof s->msg, "%s", msg);
  png_longjmp(png, 1);
}

static void pw_warning(png_structp png, png_const_charp msg) {
  (void)png;
  (void)msg;
}

/* The libpng calls that can fail, with setjmp here so that no local of
 * the caller changes between setjmp and longjmp.  1: written. */
static int pw_rows(png_structp png, png_infop info, FILE *f,
                   const unsigned char *rgb, uint32_t w, uint32_t h) {
  if (setjmp(png_jmpbuf(png))) return 0;
  png_init_io(png, f);
  png_set_IHDR(png, info, w, h, 8, PNG_COLOR_TYPE_RGB, PNG_INTERLACE_NONE,
               PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
  png_set_compression_level(png, 1); /* zlib's Z_BEST_SPEED */
  png_set_filter(png, PNG_FILTER_TYPE_BASE, PNG_FILTER_NONE);
  png_write_info(png, info);
  for (uint32_t y = 0; y < h; y++)
    png_write_row(png, rgb + (size_t)y * w * 3);
  png_write_end(png, info);
  return 1;
}

/* Write an 8-bit RGB image (h rows of 3w bytes) to path as a PNG. */
int scli_png_write(scl_ctx *ctx, const char *path, const unsigned char *rgb,
                   uint32_t w, uint32_t h) {
  if (w == 0 || h == 0 || w > PNG_UINT_31_MAX / 3 || h > PNG_UINT_31_MAX)
    return scli_error(ctx, SCL_EINVAL, "render: %u x %u pixels cannot be "
                      "written as PNG", w, h);
  pw_state s = {ctx, 0, ""};
  png_structp png = png_create_write_struct_2(
      PNG_LIBPNG_VER_STRING, &s, pw_error, pw_warning, &s, pw_alloc, pw_free);
  png_infop info = png ? png_create_info_struct(png) : NULL;
  if (!info) {
    png_destroy_write_struct(&png, NULL);
    return s.oom ? scli_oom(ctx)
                 : scli_error(ctx, SCL_ERENDER, "render: libpng: %s",
                              s.msg[0] ? s.msg : "cannot start");
  }
  FILE *f = fopen(path, "wb");
  if (!f) {
    png_destroy_write_struct(&png, &info);
    return scli_error(ctx, SCL_EIO, "render: cannot write '%s': %s", path,
                      strerror(errno));
  }
  errno = 0;
  int ok = pw_rows(png, info, f, rgb, w, h), err = errno;
  png_destroy_write_struct(&png, &info);
  if (!ok) {
    fclose(f);
    if (s.oom) return scli_oom(ctx);
    return scli_error(ctx, SCL_EIO, "render: cannot write '%s': libpng: "
                      "%s%s%s", path, s.msg, err ? ": " : "",
                      err ? strerror(err) : "");
  }
  if (fclose(f) != 0)
    return scli_error(ctx, SCL_EIO, "render: cannot write '%s': %s", path,
                      strerror(errno));
  return SCL_OK;
}

/* Run PLplot on the temporary file, or into mem (RGB, W x H) for PNG;
 * SCL_OK or SCL_ERENDER. */
static int run_plplot(job *j, const scl_figure_opts *o, const char *dev,
                      const char *tmp, unsigned char *mem, pass ps) {
  PLINT old, strm, plerr = 0;
  char plmsg[1024] = "";
  plgstrm(&old);
  plmkstrm(&strm);
  if (strm < 0) {
    return scli_error(j->ctx, SCL_ERENDER, "render: PLplot has no free "
                      "stream");
  }
  plsError(&plerr, plmsg);
  plsdev(dev);
  if (mem) {
    plsmem((PLINT)lround(j->W), (PLINT)lround(j->H), mem);
  } else {
    plsfnam(tmp);
    plspage(0, 0, (PLINT)lround(j->W), (PLINT)lround(j->H), 0, 0);
  }
  plscolbg(255, 255, 255);
  plscmap0n(16);
  plscol0(COL_BG, 255, 255, 255);
  plscol0(COL_INK, 0, 0, 0);
  plinit();
  if (!plerr) draw_figure(j, o, ps);
  plend1();
  plsstrm(old);
  if (plerr)
    return scli_error(j->ctx, SCL_ERENDER, "render: PLplot: %s", plmsg);
  return SCL_OK;
}

int scl_render(scl_ctx *ctx, scl_chart *const *panels, size_t npanels,
               const scl_figure_opts *opts, const char *path) {
  scl_figure_opts defaults;
  if (!opts) {
    scl_figure_opts_init(&defaults);
    opts = &defaults;
  }
  if (!path) return scli_error(ctx, SCL_EINVAL, "render: NULL path");
  if (!panels || npanels == 0)
    return scli_error(ctx, SCL_EINVAL, "render: no panels");
  for (size_t i = 0; i < npanels; i++)
    if (!panels[i])
      return scli_error(ctx, SCL_EINVAL, "render: panel %zu is NULL", i + 1);
  const format *f = format_of(path);
  if (!f)
    return scli_error(ctx, SCL_EINVAL, "render: '%s': unknown extension "
                      "(use .png, .svg or .pdf)", path);
  int rc = check_opts(ctx, opts, npanels);
  if (rc) return rc;
  rc = check_target(ctx, path);
  if (rc) return rc;

  job j;
  memset(&j, 0, sizeof j);
  j.ctx = ctx;
  j.raster = f->raster;
  j.k = f->raster ? opts->dpi / 72.0 : 1.0;
  j.W = round(opts->width_in * 72 * j.k);
  j.H = round(opts->height_in * 72 * j.k);
  j.fs = opts->font_pt * j.k;
  j.np = npanels;
  size_t maxn = 2;
  for (size_t i = 0; i < npanels; i++)
    for (size_t l = 0; l < panels[i]->nlayers; l++)
      if (panels[i]->layers[l].n > maxn) maxn = panels[i]->layers[l].n;
  j.wcap = 2 * maxn;
  j.p = scli_calloc(ctx, npanels, sizeof *j.p);
  j.wx = scli_malloc(ctx, j.wcap * sizeof(double));
  j.wy = scli_malloc(ctx, j.wcap * sizeof(double));
  j.keep = scli_malloc(ctx, j.wcap * sizeof(size_t));
  j.keep2 = scli_malloc(ctx, j.wcap * sizeof(size_t));
  size_t tn = scli_tmp_size(path);
  char *tmp = scli_malloc(ctx, tn);
  /* PNG: cairo draws into our RGB buffer (memcairo), libpng writes it */
  size_t memn = f->raster ? (size_t)j.W * 3 * (size_t)j.H : 0;
  unsigned char *mem = memn ? scli_malloc(ctx, memn) : NULL;
  if (!j.p || !j.wx || !j.wy || !j.keep || !j.keep2 || !tmp ||
      (memn && !mem)) {
    rc = scli_oom(ctx);
    goto done;
  }
  for (size_t i = 0; i < npanels && !rc; i++) {
    j.p[i].c = panels[i];
    rc = check_text(ctx, i, panels[i]);
    if (!rc) rc = settle_axes(ctx, i, &j.p[i]);
  }
  if (!rc) rc = scli_plplot_load(ctx); /* the first render opens PLplot */
  if (rc) goto done;

  pthread_mutex_lock(&render_lock);
  if (!have_device(f->dev)) {
    pthread_mutex_unlock(&render_lock);
    rc = scli_error(ctx, SCL_ERENDER, "render: PLplot device '%s' is not "
                    "available (install plplot-driver-cairo)", f->dev);
    goto done;
  }
  int fd = scli_tmp_open(path, tmp, tn); /* atomic.c */
  if (fd < 0) {
    pthread_mutex_unlock(&render_lock);
    rc = scli_error(ctx, SCL_EIO, "render: cannot create a file beside "
                    "'%s': %s", path, strerror(errno));
    goto done;
  }
  close(fd);
  layout_figure(&j, opts);
  if (!mem) {
    rc = run_plplot(&j, opts, f->dev, tmp, NULL, PASS_ALL);
  } else {
    memset(mem, 0xFF, memn); /* the white background */
    if (has_bands(&j)) rc = run_plplot(&j, opts, f->dev, tmp, mem, PASS_UNDER);
    if (!rc && fast_lines) rc = draw_fast(&j, mem);
    if (!rc) rc = run_plplot(&j, opts, f->dev, tmp, mem, PASS_OVER);
  }
  pthread_mutex_unlock(&render_lock);
  if (!rc && mem)
    rc = scli_png_write(ctx, tmp, mem, (uint32_t)j.W, (uint32_t)j.H);
  if (!rc && strcmp(f->dev, "svgcairo") == 0) rc = normalize_svg(ctx, tmp);
  if (!rc && strcmp(f->dev, "pdfcairo") == 0) rc = pdf_date(ctx, tmp);
  if (!rc && rename(tmp, path) != 0)
    rc = scli_error(ctx, SCL_EIO, "render: cannot rename to '%s': %s", path,
                    strerror(errno));
  if (rc) unlink(tmp);

done:
  if (tmp) scli_free(ctx, tmp, tn);
  scli_free(ctx, mem, memn);
  free_job(&j);
  return rc;
}
