/*
 * ticks.c -- tick positions and labels for linear and log axes.
 *
 * The labels are PLplot text: "#u".."#d" raise and lower (superscripts) and
 * "#(727)" is the Hershey multiplication sign, which the unicode drivers
 * (cairo, svg) draw as U+00D7.  Nothing here calls PLplot: the renderer
 * draws the ticks itself from what this file computes.
 *
 * Linear axes get "nice" steps (1, 2, 2.5 or 5 x 10^k), at most 8 ticks,
 * labelled with the fewest decimals that tell them apart.  Log axes follow
 * matplotlib: a major tick per decade labelled 10^k, minor ticks at
 * 2..9 x 10^k; when fewer than two decades are visible some minor ticks are
 * labelled too (2x10^0, 3x10^0, ...), and when very many decades are
 * visible only every 2nd, 5th, 10th... decade keeps a labelled major tick.
 */
#include "internal.h"

#include <float.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

/* Most intervals on a linear axis (so at most 8 ticks). */
#define LIN_BINS 7
/* Most labelled decades on a log axis before decades are skipped. */
#define LOG_LABELS 9

typedef struct {
  scl_tick *t;   /* caller's buffer */
  size_t max;    /* its capacity */
  size_t n;      /* ticks produced so far (may exceed max) */
} tickbuf;

/* m x 10^e as close to the decimal value as doubles allow: dividing an
 * exact integer by an exact power of ten rounds once, so 3 x 10^-1 is the
 * double nearest 0.3 (not 0.30000000000000004). */
static double dec(double m, int e) {
  if (e >= 0) return m * pow(10.0, e);
  if (e >= -300) return m / pow(10.0, -e);
  return m * pow(10.0, e);
}

static void push(tickbuf *b, double v, int major, const char *label) {
  if (b->n < b->max) {
    scl_tick *t = &b->t[b->n];
    t->value = v;
    t->major = major;
    t->labelled = label != NULL;
    if (label)
      snprintf(t->label, sizeof t->label, "%s", label);
    else
      t->label[0] = '\0';
  }
  b->n++;
}

/* Drop trailing zeros after a decimal point, and the point itself. */
static void trim_zeros(char *s) {
  char *dot = strchr(s, '.');
  if (!dot) return;
  char *end = s + strlen(s);
  while (end > dot + 1 && end[-1] == '0') end--;
  if (end == dot + 1) end = dot;
  *end = '\0';
  if (strcmp(s, "-0") == 0) strcpy(s, "0");
}

/*
 * Label of the linear tick i*mult x 10^e.  Plain decimals for moderate
 * magnitudes; mantissa x 10^E (E from the largest tick, shared by all
 * labels of the axis) otherwise, since "0.00002" or "3000000" are hard to
 * read on a figure.
 */
static void lin_label(char *out, size_t size, double i, double mult, int e,
                      int sci, int E) {
  int extra = (mult == 2.5) ? 1 : 0;
  double units = i * mult; /* the value in units of 10^e, exact */
  if (units == 0) {
    snprintf(out, size, "0");
    return;
  }
  if (!sci) {
    int d = (e < 0 ? -e : 0) + extra;
    snprintf(out, size, "%.*f", d, dec(units, e));
    trim_zeros(out);
    return;
  }
  int d = (E - e > 0 ? E - e : 0) + extra;
  char m[24];
  if (d > 15) d = 15;
  snprintf(m, sizeof m, "%.*f", d, dec(units, e - E));
  trim_zeros(m);
  snprintf(out, size, "%s#(727)10#u%d#d", m, E);
}

/* The two ends of the axis, where no nicer ticks can be computed. */
static void ends(tickbuf *b, double lo, double hi) {
  char label[48];
  snprintf(label, sizeof label, "%.3g", lo);
  push(b, lo, 1, label);
  snprintf(label, sizeof label, "%.3g", hi);
  push(b, hi, 1, label);
}

/* Nice linear ticks on [lo, hi] (lo < hi, both finite), all major. */
static void lin_ticks(tickbuf *b, double lo, double hi) {
  static const double mults[] = {1, 2, 2.5, 5, 10};
  double raw = hi / LIN_BINS - lo / LIN_BINS; /* no overflow for +-DBL_MAX */
  if (!(raw >= DBL_MIN)) { /* subnormal: no decimal step is representable */
    ends(b, lo, hi);
    return;
  }
  int e = (int)floor(log10(raw));
  double mult = 10;
  for (size_t k = 0; k < sizeof mults / sizeof *mults; k++) {
    if (dec(mults[k], e) >= raw * (1 - 1e-12)) {
      mult = mults[k];
      break;
    }
  }
  if (mult == 10) {
    mult = 1;
    e++;
  }
  double step = dec(mult, e);
  /* + 0.0 turns a -0 from ceil(-tiny) into 0 */
  double i0 = ceil(lo / step - 1e-9) + 0.0, i1 = floor(hi / step + 1e-9);
  if (!(step > 0 && isfinite(step) && i1 - i0 < 100)) {
    ends(b, lo, hi);
    return;
  }
  double big = fmax(fabs(dec(i0 * mult, e)), fabs(dec(i1 * mult, e)));
  int sci = big >= 1e5 || (big > 0 && big < 1e-3);
  int E = big > 0 ? (int)floor(log10(big) + 1e-12) : 0;
  for (double i = i0; i <= i1; i++) {
    char label[48];
    lin_label(label, sizeof label, i, mult, e, sci, E);
    push(b, dec(i * mult, e), 1, label);
  }
}

static int in_log_range(double lv, double a, double b) {
  return lv >= a - 1e-9 && lv <= b + 1e-9;
}

/* The tick value itself lies on the axis [lo, hi] (to rounding): m x 10^k
 * can miss by more than the log test allows among subnormals. */
static int on_axis(double v, double lo, double hi) {
  return isfinite(v) && v > 0 && v >= lo - lo * 1e-9 && v <= hi + hi * 1e-9;
}

static void decade_label(char *out, size_t size, int m, int k) {
  if (m == 1)
    snprintf(out, size, "10#u%d#d", k);
  else
    snprintf(out, size, "%d#(727)10#u%d#d", m, k);
}

/*
 * Log ticks on [lo, hi] (0 < lo < hi).  a and b are the decade exponents
 * of the ends.  Which minor ticks get labels when fewer than two decades
 * show follows matplotlib's LogFormatter: all of 2..9 below 0.4 decades,
 * the coefficients 2, 3, 4, 6 up to a decade, 2 and 5 beyond.
 */
static void log_ticks(tickbuf *b, double lo, double hi) {
  double a = log10(lo), z = log10(hi), span = z - a;
  int k0 = (int)floor(a), k1 = (int)ceil(z);
  int nmaj = 0;
  for (int k = k0; k <= k1; k++)
    if (in_log_range(k, a, z)) nmaj++;
  char label[48];

  if (nmaj >= 2) {
    static const int strides[] = {1, 2, 5};
    int stride = 1;
    for (int scale = 1;; scale *= 10) {
      int found = 0;
      for (size_t s = 0; s < 3 && !found; s++) {
        stride = strides[s] * scale;
        int nlab = 0;
        for (int k = k0; k <= k1; k++)
          if (in_log_range(k, a, z) && (k % stride + stride) % stride == 0)
            nlab++;
        found = nlab <= LOG_LABELS;
      }
      if (found) break;
    }
    for (int k = k0; k <= k1; k++) {
      int on = (k % stride + stride) % stride == 0;
      double v = dec(1, k);
      if (in_log_range(k, a, z) && on_axis(v, lo, hi)) {
        if (on) {
          decade_label(label, sizeof label, 1, k);
          push(b, v, 1, label);
        } else if (k1 - k0 <= 100) {
          push(b, v, 0, NULL);
        }
      }
      if (stride > 1) continue;
      for (int m = 2; m <= 9; m++) {
        double w = dec(m, k);
        if (on_axis(w, lo, hi) && in_log_range(k + log10(m), a, z))
          push(b, w, 0, NULL);
      }
    }
    return;
  }

  /* Less than two decades: label chosen coefficients. */
  static const int set_wide[] = {1, 2, 5, 0}, set_mid[] = {1, 2, 3, 4, 6, 0},
                   set_all[] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 0};
  const int *set = span > 1 ? set_wide : span > 0.4 ? set_mid : set_all;
  size_t first = b->n;
  int nlab = 0;
  for (int k = k0; k <= k1; k++) {
    for (int m = 1; m <= 9; m++) {
      double w = dec(m, k);
      if (!(on_axis(w, lo, hi) && in_log_range(k + log10(m), a, z)))
        continue;
      int lab = 0;
      for (const int *p = set; *p; p++)
        lab |= *p == m;
      if (lab) {
        decade_label(label, sizeof label, m, k);
        nlab++;
      }
      push(b, w, m == 1, lab ? label : NULL);
    }
  }
  if (nlab >= 2) return;
  /* A very short span holds fewer than two such ticks: plain linear ones
   * say more (2.2, 2.4, 2.6 rather than nothing at all). */
  b->n = first;
  lin_ticks(b, lo, hi);
}

int scl_ticks(scl_ctx *ctx, double lo, double hi, int log, scl_tick *ticks,
              size_t max, size_t *n) {
  if (!n || (!ticks && max > 0))
    return scli_error(ctx, SCL_EINVAL, "ticks: NULL output argument");
  *n = 0;
  if (!isfinite(lo) || !isfinite(hi))
    return scli_error(ctx, SCL_EINVAL,
                      "ticks: axis limits must be finite (got %g, %g)", lo,
                      hi);
  if (log && (lo <= 0 || hi <= 0))
    return scli_error(ctx, SCL_EINVAL,
                      "ticks: log axis limits must be positive (got %g, %g)",
                      lo, hi);
  if (lo > hi) { /* a reversed axis has the same ticks */
    double t = lo;
    lo = hi;
    hi = t;
  }
  /* One point (or a span lost in rounding): widen around it. */
  if (hi - lo <= 1e-12 * fmax(fabs(lo), fabs(hi))) {
    double v = lo;
    if (log) {
      lo = v / sqrt(10.0);
      hi = v * sqrt(10.0);
      if (!(lo > 0)) lo = v; /* v is the smallest subnormal */
      if (!isfinite(hi)) hi = v;
      if (!(hi > lo))
        return scli_error(ctx, SCL_EINVAL,
                          "ticks: cannot widen the log axis around %g", v);
    } else if (v == 0) {
      lo = -1;
      hi = 1;
    } else {
      double d = fabs(v) * 0.1;
      lo = v - d;
      hi = v + d;
      /* near +-DBL_MAX the widened ends must stay finite */
      if (!isfinite(lo)) lo = -DBL_MAX;
      if (!isfinite(hi)) hi = DBL_MAX;
      if (!(hi > lo)) { /* a subnormal v: d underflowed to 0 */
        lo = nextafter(v, -INFINITY);
        hi = nextafter(v, INFINITY);
      }
    }
  }
  tickbuf b = {ticks, max, 0};
  if (log)
    log_ticks(&b, lo, hi);
  else
    lin_ticks(&b, lo, hi);
  if (b.n > max) {
    *n = b.n;
    return scli_error(ctx, SCL_EINVAL,
                      "ticks: %zu ticks do not fit in a buffer of %zu", b.n,
                      max);
  }
  *n = b.n;
  return SCL_OK;
}
