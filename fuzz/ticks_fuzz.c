/*
 * ticks_fuzz.c -- libFuzzer target for scl_ticks.
 *
 * Input: two doubles (lo, hi; any bits: NaN, inf, subnormals), a flags
 * byte (log axis) and a buffer size byte.  scl_ticks must either refuse
 * (only for non-finite limits, non-positive ones on a log axis, or a
 * buffer too small, then saying how many it needs) or give ticks that are
 * finite, strictly ascending, within the axis (widened when lo == hi),
 * positive on a log axis, with well-formed labels; the same for the
 * reversed axis; and the same again when asked twice.
 */
#include "scalelua.h"

#include <float.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void die(const char *what, double lo, double hi, int log) {
  fprintf(stderr, "ticks_fuzz: %s (lo %.17g, hi %.17g, log %d)\n", what, lo,
          hi, log);
  abort();
}

/* Same ticks: values (bits), flags and label text. */
static int same(const scl_tick *x, const scl_tick *y, size_t n) {
  for (size_t i = 0; i < n; i++)
    if (memcmp(&x[i].value, &y[i].value, sizeof x[i].value) != 0 ||
        x[i].major != y[i].major || x[i].labelled != y[i].labelled ||
        strcmp(x[i].label, y[i].label) != 0)
      return 0;
  return 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 16) return 0;
  double lo, hi;
  memcpy(&lo, data, 8);
  memcpy(&hi, data + 8, 8);
  int log = size > 16 ? data[16] & 1 : 0;
  size_t small = size > 17 ? data[17] % (SCL_TICKS_MAX + 1) : SCL_TICKS_MAX;

  scl_ctx *ctx = scl_ctx_new(NULL, NULL);
  scl_tick t[SCL_TICKS_MAX], u[SCL_TICKS_MAX], *s = malloc(
      (small ? small : 1) * sizeof *s);
  size_t n = 12345, m = 12345, k = 12345;
  int rc = scl_ticks(ctx, lo, hi, log, t, SCL_TICKS_MAX, &n);
  int bad = !isfinite(lo) || !isfinite(hi) || (log && (lo <= 0 || hi <= 0));
  if (bad) {
    if (rc != SCL_EINVAL || n != 0) die("bad limits accepted", lo, hi, log);
    goto out;
  }
  if (rc != SCL_OK) die(scl_ctx_errmsg(ctx), lo, hi, log);
  if (n < 2 || n > SCL_TICKS_MAX) die("tick count", lo, hi, log);

  double a = fmin(lo, hi), b = fmax(lo, hi);
  int widened = b - a <= 1e-12 * fmax(fabs(a), fabs(b));
  int labelled = 0;
  for (size_t i = 0; i < n; i++) {
    double v = t[i].value;
    if (!isfinite(v)) die("non-finite tick", lo, hi, log);
    if (log && !(v > 0)) die("non-positive tick on a log axis", lo, hi, log);
    if (i && !(v > t[i - 1].value)) die("ticks not ascending", lo, hi, log);
    if (!widened) {
      int in = log ? v >= a * (1 - 3e-9) && v <= b * (1 + 3e-9)
                   : v >= a - 1e-8 * (b - a) - 1e-15 * fabs(a) &&
                         v <= b + 1e-8 * (b - a) + 1e-15 * fabs(b);
      if (!in) die("tick outside the axis", lo, hi, log);
    }
    if (memchr(t[i].label, '\0', sizeof t[i].label) == NULL)
      die("label not terminated", lo, hi, log);
    if ((t[i].labelled != 0) != (t[i].label[0] != '\0'))
      die("labelled flag and label disagree", lo, hi, log);
    labelled += t[i].labelled != 0;
  }
  if (labelled == 0) die("no labelled tick", lo, hi, log);

  /* Reversed: the same ticks.  Twice: the same ticks. */
  if (scl_ticks(ctx, hi, lo, log, u, SCL_TICKS_MAX, &m) != SCL_OK || m != n ||
      !same(t, u, n))
    die("reversed axis differs", lo, hi, log);
  if (scl_ticks(ctx, lo, hi, log, u, SCL_TICKS_MAX, &m) != SCL_OK || m != n ||
      !same(t, u, n))
    die("not deterministic", lo, hi, log);

  /* A smaller buffer: fits, or fails saying how many are needed. */
  rc = scl_ticks(ctx, lo, hi, log, s, small, &k);
  if (n <= small) {
    if (rc != SCL_OK || k != n || !same(s, t, n))
      die("small buffer that fits", lo, hi, log);
  } else if (rc != SCL_EINVAL || k != n) {
    die("small buffer: count needed", lo, hi, log);
  }
out:
  free(s);
  scl_ctx_free(ctx);
  return 0;
}
