/* test_ticks.c -- tick positions and labels (scl_ticks). */
#include "scalelua.h"

#include "check.h"

#include <float.h>
#include <string.h>

static scl_ctx *ctx;
static scl_tick tk[SCL_TICKS_MAX];
static size_t nt;

static int ticks(double lo, double hi, int log) {
  nt = 0;
  return scl_ticks(ctx, lo, hi, log, tk, SCL_TICKS_MAX, &nt);
}

/* The labels of the labelled ticks joined with '|'. */
static const char *labels(void) {
  static char buf[2048];
  buf[0] = '\0';
  for (size_t i = 0; i < nt; i++) {
    if (!tk[i].labelled) continue;
    if (buf[0]) strcat(buf, "|");
    strcat(buf, tk[i].label);
  }
  return buf;
}

/* The values of the major ticks, count in *n. */
static size_t count(int major_only) {
  size_t k = 0;
  for (size_t i = 0; i < nt; i++)
    if (!major_only || tk[i].major) k++;
  return k;
}

static int ascending(void) {
  for (size_t i = 1; i < nt; i++)
    if (!(tk[i].value > tk[i - 1].value)) return 0;
  return 1;
}

static int within(double lo, double hi) {
  for (size_t i = 0; i < nt; i++)
    if (tk[i].value < lo * (1 - 1e-9) || tk[i].value > hi * (1 + 1e-9))
      return 0;
  return 1;
}

static void test_linear(void) {
  CHECK(ticks(0, 1, 0) == SCL_OK, "%s", scl_ctx_errmsg(ctx));
  CHECK(nt == 6, "nt = %zu", nt);
  CHECK(strcmp(labels(), "0|0.2|0.4|0.6|0.8|1") == 0, "%s", labels());
  CHECK(tk[0].value == 0 && !signbit(tk[0].value), "first %g", tk[0].value);
  CHECK(tk[3].value == 0.6, "0.6 exactly, got %.17g", tk[3].value);
  CHECK(count(1) == nt, "all linear ticks are major");

  CHECK(ticks(0, 3, 0) == SCL_OK, "0..3");
  CHECK(strcmp(labels(), "0|0.5|1|1.5|2|2.5|3") == 0, "%s", labels());

  CHECK(ticks(0, 1.5, 0) == SCL_OK, "0..1.5");
  CHECK(strcmp(labels(), "0|0.25|0.5|0.75|1|1.25|1.5") == 0, "%s", labels());
  CHECK(tk[1].value == 0.25, "%.17g", tk[1].value);

  CHECK(ticks(0, 15, 0) == SCL_OK, "0..15");
  CHECK(strcmp(labels(), "0|2.5|5|7.5|10|12.5|15") == 0, "%s", labels());

  CHECK(ticks(0, 100, 0) == SCL_OK, "0..100");
  CHECK(strcmp(labels(), "0|20|40|60|80|100") == 0, "%s", labels());

  /* negative: no "-0", symmetric labels */
  CHECK(ticks(-0.3, 0.3, 0) == SCL_OK, "-0.3..0.3");
  CHECK(strcmp(labels(), "-0.3|-0.2|-0.1|0|0.1|0.2|0.3") == 0, "%s",
        labels());
  CHECK(tk[3].value == 0 && !signbit(tk[3].value), "zero is +0");
  CHECK(tk[0].value == -0.3, "%.17g", tk[0].value);

  CHECK(ticks(-3, 7, 0) == SCL_OK, "-3..7");
  CHECK(strcmp(labels(), "-2|0|2|4|6") == 0, "%s", labels());
  CHECK(within(-3, 7), "inside the range");

  CHECK(ticks(-250, -10, 0) == SCL_OK, "-250..-10");
  CHECK(strcmp(labels(), "-250|-200|-150|-100|-50") == 0, "%s", labels());

  /* reversed gives the same ticks, ascending */
  CHECK(ticks(10, 0, 0) == SCL_OK, "10..0");
  CHECK(strcmp(labels(), "0|2|4|6|8|10") == 0, "%s", labels());
  CHECK(ascending(), "ascending");

  /* one point: widened by 10% around it, or to -1..1 around 0 */
  CHECK(ticks(5, 5, 0) == SCL_OK, "5..5");
  CHECK(strcmp(labels(), "4.6|4.8|5|5.2|5.4") == 0, "%s", labels());
  CHECK(ticks(0, 0, 0) == SCL_OK, "0..0");
  CHECK(strcmp(labels(), "-1|-0.5|0|0.5|1") == 0, "%s", labels());

  /* large and small magnitudes: mantissa x 10^E with a shared E */
  CHECK(ticks(1e6, 5e6, 0) == SCL_OK, "1e6..5e6");
  CHECK(strcmp(labels(), "1#(727)10#u6#d|2#(727)10#u6#d|3#(727)10#u6#d|"
                         "4#(727)10#u6#d|5#(727)10#u6#d") == 0,
        "%s", labels());
  CHECK(tk[2].value == 3e6, "%.17g", tk[2].value);
  CHECK(ticks(1e-5, 5e-5, 0) == SCL_OK, "1e-5..5e-5");
  CHECK(strcmp(tk[0].label, "1#(727)10#u-5#d") == 0, "%s", tk[0].label);
  CHECK(tk[1].value == 2e-5, "%.17g", tk[1].value);
  CHECK(ticks(0, 2e5, 0) == SCL_OK, "0..2e5");
  CHECK(strcmp(labels(), "0|0.5#(727)10#u5#d|1#(727)10#u5#d|"
                         "1.5#(727)10#u5#d|2#(727)10#u5#d") == 0,
        "%s", labels());

  /* the whole double range */
  CHECK(ticks(-DBL_MAX, DBL_MAX, 0) == SCL_OK, "+-DBL_MAX");
  CHECK(nt == 3 && tk[1].value == 0 && tk[2].value == 1e308, "nt %zu", nt);
  CHECK(strcmp(labels(), "-1#(727)10#u308#d|0|1#(727)10#u308#d") == 0, "%s",
        labels());
  CHECK(within(-DBL_MAX, DBL_MAX), "inside");

  /* a span at the limit of precision */
  CHECK(ticks(1e10, 1.0000001e10, 0) == SCL_OK, "narrow");
  CHECK(nt == 6, "nt %zu", nt);
  CHECK(tk[1].value == 10000000200.0, "%.17g", tk[1].value);
  CHECK(strcmp(tk[1].label, "1.00000002#(727)10#u10#d") == 0, "%s",
        tk[1].label);
  for (size_t i = 0; i < 5; i++)
    CHECK(strcmp(tk[i].label, tk[i + 1].label) != 0, "labels distinct");
}

static void test_log(void) {
  /* MoBA Figure 3(b) y axis: 0.9..4.5, less than a decade */
  CHECK(ticks(0.9, 4.5, 1) == SCL_OK, "%s", scl_ctx_errmsg(ctx));
  CHECK(strcmp(labels(), "10#u0#d|2#(727)10#u0#d|3#(727)10#u0#d|"
                         "4#(727)10#u0#d") == 0,
        "%s", labels());
  CHECK(nt == 5 && tk[0].value == 0.9 && !tk[0].labelled, "0.9 minor");
  CHECK(count(1) == 1 && tk[1].major && tk[1].value == 1, "one major");

  /* MoBA x axis: 0.05..20 PFLOP/s-days */
  CHECK(ticks(0.05, 20, 1) == SCL_OK, "0.05..20");
  CHECK(strcmp(labels(), "10#u-1#d|10#u0#d|10#u1#d") == 0, "%s", labels());
  CHECK(nt == 25, "5 + 9 + 9 minor and 3 major, nt %zu", nt);
  CHECK(count(1) == 3, "majors %zu", count(1));
  CHECK(tk[0].value == 0.05 && tk[6].value == 0.2, "%.17g %.17g",
        tk[0].value, tk[6].value);
  CHECK(tk[24].value == 20 && !tk[24].major, "last 20");
  CHECK(ascending() && within(0.05, 20), "ordered, inside");

  /* less than 0.4 decades: every coefficient labelled */
  CHECK(ticks(2, 5, 1) == SCL_OK, "2..5");
  CHECK(strcmp(labels(), "2#(727)10#u0#d|3#(727)10#u0#d|4#(727)10#u0#d|"
                         "5#(727)10#u0#d") == 0,
        "%s", labels());
  /* 0.4..1 decade: 2, 3, 4, 6 */
  CHECK(ticks(2, 9, 1) == SCL_OK, "2..9");
  CHECK(strcmp(labels(), "2#(727)10#u0#d|3#(727)10#u0#d|4#(727)10#u0#d|"
                         "6#(727)10#u0#d") == 0,
        "%s", labels());
  CHECK(nt == 8, "2..9 has 8 ticks, nt %zu", nt);
  /* one decade boundary, 1.5 decades: 2 and 5 */
  CHECK(ticks(0.15, 4.7, 1) == SCL_OK, "0.15..4.7");
  CHECK(strcmp(labels(), "2#(727)10#u-1#d|5#(727)10#u-1#d|10#u0#d|"
                         "2#(727)10#u0#d") == 0,
        "%s", labels());

  /* too short for two coefficients: linear ticks instead */
  CHECK(ticks(2.1, 2.9, 1) == SCL_OK, "2.1..2.9");
  CHECK(strcmp(labels(), "2.2|2.4|2.6|2.8") == 0, "%s", labels());
  CHECK(tk[0].value == 2.2, "%.17g", tk[0].value);

  /* two decades: majors labelled, 2..9 minor */
  CHECK(ticks(1, 100, 1) == SCL_OK, "1..100");
  CHECK(nt == 19 && count(1) == 3, "nt %zu", nt);
  CHECK(strcmp(labels(), "10#u0#d|10#u1#d|10#u2#d") == 0, "%s", labels());
  CHECK(tk[10].value == 20 && !tk[10].labelled, "20 minor");

  /* many decades: every 5th labelled, the others minor, no 2..9 */
  CHECK(ticks(1e-12, 1e12, 1) == SCL_OK, "1e-12..1e12");
  CHECK(nt == 25, "one tick per decade, nt %zu", nt);
  CHECK(strcmp(labels(), "10#u-10#d|10#u-5#d|10#u0#d|10#u5#d|10#u10#d") == 0,
        "%s", labels());
  CHECK(count(1) == 5, "majors only where labelled");
  /* ten decades: every 2nd */
  CHECK(ticks(1e-3, 1e7, 1) == SCL_OK, "1e-3..1e7");
  CHECK(strcmp(labels(), "10#u-2#d|10#u0#d|10#u2#d|10#u4#d|10#u6#d") == 0,
        "%s", labels());
  /* nine decades still every one */
  CHECK(ticks(1e-4, 1e4, 1) == SCL_OK, "1e-4..1e4");
  CHECK(count(1) == 9 && nt == 9 + 8 * 8, "nt %zu", nt);

  /* huge and tiny exponents */
  CHECK(ticks(1e-300, 1e300, 1) == SCL_OK, "1e-300..1e300");
  CHECK(strcmp(labels(), "10#u-300#d|10#u-200#d|10#u-100#d|10#u0#d|"
                         "10#u100#d|10#u200#d|10#u300#d") == 0,
        "%s", labels());
  CHECK(nt == 7, "no minor decades beyond 100, nt %zu", nt);
  CHECK(ticks(1e-320, 1e-310, 1) == SCL_OK, "subnormal");
  CHECK(count(1) == 6 && ascending(), "6 majors, nt %zu", nt);
  CHECK(ticks(4.9e-324, 4.9e-324, 1) == SCL_OK, "smallest subnormal");
  CHECK(nt == 2 && tk[0].value > 0 && tk[1].value > tk[0].value, "ends");
  CHECK(ticks(1e308, 1.7e308, 1) == SCL_OK, "top of the range");
  CHECK(nt == 8 && tk[7].value == 1.7e308, "nt %zu", nt);

  /* one point: widened half a decade each way */
  CHECK(ticks(3, 3, 1) == SCL_OK, "3..3");
  CHECK(strcmp(labels(), "10#u0#d|2#(727)10#u0#d|3#(727)10#u0#d|"
                         "4#(727)10#u0#d|6#(727)10#u0#d") == 0,
        "%s", labels());
  /* reversed */
  CHECK(ticks(100, 1, 1) == SCL_OK, "100..1");
  CHECK(nt == 19 && ascending(), "reversed nt %zu", nt);
}

static void test_errors(void) {
  CHECK(ticks(0, 1, 1) == SCL_EINVAL, "lo = 0 on log");
  CHECK(strstr(scl_ctx_errmsg(ctx), "positive") != NULL, "%s",
        scl_ctx_errmsg(ctx));
  CHECK(ticks(-1, 10, 1) == SCL_EINVAL, "lo < 0 on log");
  CHECK(ticks(1, NAN, 0) == SCL_EINVAL, "NaN");
  CHECK(strstr(scl_ctx_errmsg(ctx), "finite") != NULL, "%s",
        scl_ctx_errmsg(ctx));
  CHECK(ticks(1, INFINITY, 1) == SCL_EINVAL, "inf");
  scl_tick small[3];
  size_t n = 99;
  CHECK(scl_ticks(ctx, 0.05, 20, 1, small, 3, &n) == SCL_EINVAL, "small");
  CHECK(n == 25, "needed count reported, n = %zu", n);
  CHECK(scl_ticks(ctx, 0, 1, 0, NULL, 0, NULL) == SCL_EINVAL, "NULL n");
  CHECK(scl_ticks(ctx, 0, 1, 0, NULL, 0, &n) == SCL_EINVAL && n == 6,
        "count only: n = %zu", n);
}

int main(void) {
  ctx = scl_ctx_new(NULL, NULL);
  test_linear();
  test_log();
  test_errors();
  scl_ctx_free(ctx);
  return check_done("test_ticks");
}
