/*
 * test_raster.c -- raster.c's antialiased polylines, pixel by pixel.
 *
 * Coverage of lines whose edges fall on or between pixel boundaries is
 * known exactly; alpha blending, the one-coverage-per-line rule (a line
 * crossing itself or doubling back is not inked twice), the clip, breaks
 * at non-finite points, segments to points far off the image, and the
 * total ink of diagonal lines (length x width) are checked against those
 * values; init fails cleanly when memory runs out.
 */
#include "internal.h"

#include "check.h"
#include "testalloc.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

enum { W = 64, H = 48 };
static unsigned char img[W * H * 3];

static void clear(void) { memset(img, 0xFF, sizeof img); }

static const unsigned char *px(int x, int y) {
  return img + ((size_t)y * W + x) * 3;
}

/* Ink of pixel (x, y) in [0, 1]: how far its red channel went from white
 * towards black (lines are drawn in black unless said otherwise). */
static double ink(int x, int y) { return (255 - px(x, y)[0]) / 255.0; }

static double total_ink(void) {
  double s = 0;
  for (int y = 0; y < H; y++)
    for (int x = 0; x < W; x++) s += ink(x, y);
  return s;
}

static int untouched(int x0, int y0, int x1, int y1) {
  for (int y = y0; y < y1; y++)
    for (int x = x0; x < x1; x++)
      if (px(x, y)[0] != 255 || px(x, y)[1] != 255 || px(x, y)[2] != 255)
        return 0;
  return 1;
}

static void test_horizontal(scli_raster *r) {
  /* width 3 centred on y = 10.5 covers rows 9, 10 and 11 exactly */
  clear();
  double x[2] = {10, 40}, y[2] = {10.5, 10.5};
  scli_raster_line(r, x, y, 2, 3, 0x000000, 1);
  for (int row = 9; row <= 11; row++)
    CHECK(ink(20, row) == 1, "row %d full: %g", row, ink(20, row));
  CHECK(ink(20, 8) == 0 && ink(20, 12) == 0, "rows 8 and 12 clear");
  CHECK(untouched(0, 0, W, 8) && untouched(0, 13, W, H), "nothing else");
  /* round caps: the end reaches 1.5 px past x = 40 on the centre row,
   * half of pixel 41 */
  CHECK(ink(40, 10) == 1 && fabs(ink(41, 10) - 0.5) < 0.01 &&
            ink(42, 10) == 0,
        "cap: %g %g %g", ink(40, 10), ink(41, 10), ink(42, 10));

  /* width 2 centred on y = 10.25 covers [9.25, 11.25): row 9 three
   * quarters, row 10 all, row 11 a quarter */
  clear();
  y[0] = y[1] = 10.25;
  scli_raster_line(r, x, y, 2, 2, 0x000000, 1);
  CHECK(fabs(ink(25, 9) - 0.75) < 0.01, "row 9: %g", ink(25, 9));
  CHECK(ink(25, 10) == 1, "row 10: %g", ink(25, 10));
  CHECK(fabs(ink(25, 11) - 0.25) < 0.01, "row 11: %g", ink(25, 11));
  /* the ink of a line is its area */
  CHECK(fabs(total_ink() - (30 * 2 + M_PI)) < 1.0, "area: %g",
        total_ink());

  /* a hairline (0.5 px) on a pixel row: half ink, one row */
  clear();
  y[0] = y[1] = 20.5;
  scli_raster_line(r, x, y, 2, 0.5, 0x000000, 1);
  CHECK(fabs(ink(25, 20) - 0.5) < 0.01 && ink(25, 19) < 0.01 &&
            ink(25, 21) < 0.01,
        "hairline: %g %g %g", ink(25, 19), ink(25, 20), ink(25, 21));
}

static void test_vertical_and_colour(scli_raster *r) {
  /* a vertical line of width 1 on column 30, in 0x336699 */
  clear();
  double x[2] = {30.5, 30.5}, y[2] = {5, 40};
  scli_raster_line(r, x, y, 2, 1, 0x336699, 1);
  const unsigned char *p = px(30, 20);
  CHECK(p[0] == 0x33 && p[1] == 0x66 && p[2] == 0x99, "colour %02x%02x%02x",
        p[0], p[1], p[2]);
  CHECK(untouched(0, 0, 30, H) && untouched(31, 0, W, H), "one column");
  /* alpha 0.5 over white: halfway */
  clear();
  scli_raster_line(r, x, y, 2, 1, 0x000000, 0.5);
  CHECK(abs(px(30, 20)[0] - 128) <= 1, "alpha: %d", px(30, 20)[0]);
}

static void test_single_coverage(scli_raster *r) {
  /* a translucent line doubling back over itself, and a zigzag crossing
   * itself, are inked once: the same as a single pass */
  clear();
  double x[3] = {10, 50, 10}, y[3] = {24.5, 24.5, 24.5};
  scli_raster_line(r, x, y, 3, 3, 0x000000, 0.5);
  int back = px(30, 24)[0];
  clear();
  scli_raster_line(r, x, y, 2, 3, 0x000000, 0.5);
  CHECK(back == px(30, 24)[0], "doubled back: %d vs %d", back,
        px(30, 24)[0]);
  /* two separate lines do stack */
  scli_raster_line(r, x, y, 2, 3, 0x000000, 0.5);
  CHECK(abs(px(30, 24)[0] - 64) <= 1, "two lines: %d", px(30, 24)[0]);
  /* many short segments along one straight line: ink as one segment */
  clear();
  double zx[41], zy[41];
  for (int i = 0; i <= 40; i++) zx[i] = 10 + i, zy[i] = 30.5;
  scli_raster_line(r, zx, zy, 41, 2, 0x000000, 1);
  double many = total_ink();
  clear();
  scli_raster_line(r, zx, zy + 0, 2, 2, 0x000000, 1);
  double first = total_ink();
  clear();
  double ends[2] = {10, 50}, ey[2] = {30.5, 30.5};
  scli_raster_line(r, ends, ey, 2, 2, 0x000000, 1);
  CHECK(fabs(many - total_ink()) < 1e-9, "segments %g vs one %g", many,
        total_ink());
  CHECK(first < many, "first segment alone is shorter");
}

static void test_diagonal(scli_raster *r) {
  /* ink of a diagonal: length x width plus the round caps, within 2% */
  for (int k = 0; k < 8; k++) {
    clear();
    double ang = 0.1 + k * 0.19, len = 30, w = 1 + 0.4 * k;
    double x[2] = {32 - len / 2 * cos(ang), 32 + len / 2 * cos(ang)};
    double y[2] = {24 - len / 2 * sin(ang), 24 + len / 2 * sin(ang)};
    scli_raster_line(r, x, y, 2, w, 0x000000, 1);
    double want = len * w + M_PI * w * w / 4;
    CHECK(fabs(total_ink() / want - 1) < 0.02, "angle %.2f width %.1f: ink "
          "%g, area %g", ang, w, total_ink(), want);
  }
}

static void test_clip_breaks_far(scli_raster *r) {
  /* the clip keeps the line inside [20, 40] x [10, 30] (pixel centres) */
  clear();
  scli_raster_clip(r, 20, 10, 40, 30);
  double x[2] = {0, 63}, y[2] = {0, 47};
  scli_raster_line(r, x, y, 2, 4, 0x000000, 1);
  CHECK(untouched(0, 0, W, 10) && untouched(0, 30, W, H) &&
            untouched(0, 0, 20, H) && untouched(40, 0, W, H),
        "clipped");
  CHECK(ink(30, 22) > 0.5, "inside drawn: %g", ink(30, 22));
  scli_raster_clip(r, 0, 0, W, H);

  /* NaN and infinity break the line; a lone point draws nothing */
  clear();
  double bx[6] = {5, 20, NAN, 40, INFINITY, 50};
  double by[6] = {5.5, 5.5, 5.5, 40.5, 40.5, 20};
  scli_raster_line(r, bx, by, 6, 1, 0x000000, 1);
  CHECK(ink(12, 5) == 1, "first run drawn");
  CHECK(untouched(22, 0, W, H), "nothing after the break: the lone point "
        "and the segments to NaN and infinity draw nothing");

  /* a segment from a point far off the image: its visible part only,
   * without scanning the distance */
  clear();
  double fx[2] = {-1e300, 30}, fy[2] = {20.5, 20.5};
  scli_raster_line(r, fx, fy, 2, 1, 0x000000, 1);
  CHECK(ink(0, 20) == 1 && ink(29, 20) == 1 && ink(32, 20) == 0,
        "far start: %g %g %g", ink(0, 20), ink(29, 20), ink(32, 20));
  /* and to one far off at an angle: the direction is kept (from (30,
   * 20.5) towards the lower left at 45 degrees) */
  clear();
  fx[0] = -1e300, fy[0] = -1e300 + 20.5 - 30;
  scli_raster_line(r, fx, fy, 2, 1, 0x000000, 1);
  CHECK(ink(20, 10) > 0.5 && ink(10, 0) > 0.5 && ink(20, 20) == 0,
        "far diagonal: %g %g %g", ink(20, 10), ink(10, 0), ink(20, 20));
  double gx[2] = {-1e308, 1e308}, gy[2] = {-1e308, 1e308};
  scli_raster_line(r, gx, gy, 2, 1, 0x000000, 1); /* no hang, no crash */

  /* width or alpha 0, and an empty line, draw nothing */
  clear();
  scli_raster_line(r, x, y, 2, 0, 0x000000, 1);
  scli_raster_line(r, x, y, 2, 2, 0x000000, 0);
  scli_raster_line(r, x, y, 0, 2, 0x000000, 1);
  scli_raster_line(r, x, y, 1, 2, 0x000000, 1);
  CHECK(untouched(0, 0, W, H), "nothing drawn");
}

/* Lines drawn together on several threads give the very image of one
 * thread drawing them one after another: a thread inks and blends only
 * its own blocks of rows, even where a line's rows straddle another
 * thread's block (a tall image of many lines crossing every block, drawn
 * several times over, so that a thread touching the other's rows shows). */
static void test_threads(scl_ctx *ctx) {
  enum { TW = 320, TH = 240, NL = 300, NP = 200 };
  static double xs[NL][NP], ys[NL][NP];
  static unsigned char one[TW * TH * 3], many[TW * TH * 3];
  scli_rline lines[NL];
  uint32_t seed = 12345;
  for (int k = 0; k < NL; k++) {
    for (int i = 0; i < NP; i++) {
      seed = seed * 1664525u + 1013904223u;
      xs[k][i] = -5 + (TW + 10) * (double)i / NP;
      ys[k][i] = -5 + (TH + 10) * ((seed >> 8) / 16777216.0);
    }
    lines[k] = (scli_rline){xs[k], ys[k], NP, 0.3 + 0.2 * (k % 12),
                            (uint32_t)(k * 0x3A5F17u) & 0xFFFFFF,
                            k % 4 ? 1 : 0.4};
  }
  for (unsigned t = 1; t <= 4; t++)
    for (int rep = 0; rep < (t == 1 ? 1 : 4); rep++) {
      unsigned char *im = t == 1 ? one : many;
      scli_raster r;
      memset(im, 0xFF, sizeof one);
      CHECK(scli_raster_init(ctx, &r, im, TW, TH) == SCL_OK, "init");
      scli_raster_clip(&r, 3, 2, TW - 4, TH - 3);
      if (t == 1)
        for (int k = 0; k < NL; k++)
          scli_raster_line(&r, xs[k], ys[k], NP, lines[k].w, lines[k].rgb,
                           lines[k].alpha);
      else
        scli_raster_lines(&r, lines, NL, t);
      scli_raster_free(&r);
      if (t > 1)
        CHECK(memcmp(one, many, sizeof one) == 0,
              "%u threads, round %d: same image", t, rep + 1);
    }
  long inked = 0;
  for (size_t i = 0; i < sizeof one; i++) inked += one[i] != 0xFF;
  CHECK(inked > (long)sizeof one / 4, "drawn: %ld", inked);
}

static void test_oom(void) {
  for (long k = 1; k <= 3; k++) {
    testalloc a;
    scl_ctx *ctx = testalloc_ctx(&a);
    testalloc_fail_next(&a, k);
    scli_raster r;
    int rc = scli_raster_init(ctx, &r, img, W, H);
    if (!rc) {
      double x[2] = {1, 60}, y[2] = {1, 40};
      scli_raster_line(&r, x, y, 2, 2, 0, 1);
    }
    scli_raster_free(&r);
    CHECK(k > 2 ? rc == SCL_OK : rc == SCL_ENOMEM, "fail %ld: rc %d", k, rc);
    scl_ctx_free(ctx);
    CHECK(a.blocks == 0 && a.bad_osize == 0, "fail %ld: %ld blocks left", k,
          a.blocks);
  }
}

int main(void) {
  scl_ctx *ctx = scl_ctx_new(NULL, NULL);
  scli_raster r;
  CHECK(scli_raster_init(ctx, &r, img, W, H) == SCL_OK, "init");
  test_horizontal(&r);
  test_vertical_and_colour(&r);
  test_single_coverage(&r);
  test_diagonal(&r);
  test_clip_breaks_far(&r);
  scli_raster_free(&r);
  test_threads(ctx);
  test_oom();
  scl_ctx_free(ctx);
  return check_done("test_raster");
}
