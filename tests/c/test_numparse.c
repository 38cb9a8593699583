/*
 * test_numparse.c -- scl_parse_double against glibc strtod, bit for bit.
 *
 * Hand-picked cases first (accepted and rejected spellings, the fast
 * path's edges, halfway cases), then at least two million generated
 * strings of many shapes.  An optional argument scales the random part
 * (e.g. "0.05" under valgrind).
 */
#include "check.h"
#include "internal.h"
#include "scalelua.h"

#include <float.h>
#include <inttypes.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static uint64_t rng_state = 0x243f6a8885a308d3ULL;

static uint64_t rnd(void) { /* splitmix64 */
  uint64_t z = (rng_state += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

static unsigned rndn(unsigned n) { return (unsigned)(rnd() % n); }

static uint64_t bits(double d) {
  uint64_t u;
  memcpy(&u, &d, sizeof u);
  return u;
}

/*
 * What strtod says about s: 1 and *v when, after trailing spaces/tabs are
 * cut (strtod itself skips the leading ones), it reads the whole string.
 */
static int ref_parse(const char *s, double *v) {
  size_t n = strlen(s);
  while (n && (s[n - 1] == ' ' || s[n - 1] == '\t')) n--;
  char *buf = malloc(n + 1);
  memcpy(buf, s, n);
  buf[n] = '\0';
  char *end;
  *v = strtod(buf, &end);
  int ok = n > 0 && end == buf + n;
  free(buf);
  return ok;
}

static long mismatches;
static long compared;

static long prefix_hits, prefix_bad;

/*
 * The fast path on a prefix, as the CSV reader calls it: the number is
 * followed by a delimiter and more bytes (so the 16-byte SSE2 steps run).
 * When it stops exactly at the delimiter, the value must be strtod's.
 */
static void check_prefix(const char *s, double ref, int rok) {
  static char buf[4200];
  size_t n = strlen(s);
  if (n > 4000) return;
  memcpy(buf, s, n);
  memcpy(buf + n, ",123456789012345678901234567890123456789", 41);
  double v;
  const char *stop;
  if (scli_parse_prefix(buf, buf + n + 41, &v, &stop) && stop == buf + n) {
    prefix_hits++;
    if (!rok || bits(v) != bits(ref)) {
      if (prefix_bad++ < 10)
        printf("prefix mismatch on \"%.80s\": %.17g vs %.17g\n", s, v, ref);
    }
  }
}

/* s must be accepted with strtod's exact bits. */
static void expect_same(const char *s) {
  double ours = 0, ref;
  int ok = scl_parse_double(s, strlen(s), &ours);
  int rok = ref_parse(s, &ref);
  check_prefix(s, ref, rok);
  compared++;
  if (!ok || !rok || bits(ours) != bits(ref)) {
    if (mismatches++ < 10)
      printf("mismatch on \"%.80s\": ours %d %.17g (%016" PRIx64
             "), strtod %d %.17g (%016" PRIx64 ")\n",
             s, ok, ours, bits(ours), rok, ref, bits(ref));
  }
}

/* Acceptance must agree with strtod's; accepted values must agree too. */
static void expect_agree(const char *s) {
  double ours = 0, ref;
  int ok = scl_parse_double(s, strlen(s), &ours);
  int rok = ref_parse(s, &ref);
  check_prefix(s, ref, rok);
  compared++;
  if (ok != rok || (ok && bits(ours) != bits(ref))) {
    if (mismatches++ < 10)
      printf("disagree on \"%.80s\": ours %d %.17g, strtod %d %.17g\n", s,
             ok, ours, rok, ref);
  }
}

static int accepts(const char *s) {
  double v;
  return scl_parse_double(s, strlen(s), &v);
}

static double val(const char *s) {
  double v = -12345;
  CHECK(scl_parse_double(s, strlen(s), &v), "\"%s\" rejected", s);
  return v;
}

static void hand_picked(void) {
  /* Values. */
  CHECK(val("0") == 0 && !signbit(val("0")), "0");
  CHECK(val("-0") == 0 && signbit(val("-0")), "-0 keeps its sign");
  CHECK(val("-0.0e5") == 0 && signbit(val("-0.0e5")), "-0.0e5");
  CHECK(val("3.4521") == 3.4521, "3.4521");
  CHECK(val("2.5e-04") == 2.5e-4, "2.5e-04");
  CHECK(val("+1.5") == 1.5, "+1.5");
  CHECK(val("  42  ") == 42, "spaces around");
  CHECK(val("\t7\t") == 7, "tabs around");
  CHECK(val(".5") == 0.5, ".5");
  CHECK(val("5.") == 5, "5.");
  CHECK(val("1.e2") == 100, "1.e2");
  CHECK(val("1E+05") == 1e5, "1E+05");
  CHECK(val("007") == 7, "007");
  CHECK(val("1e400") == INFINITY, "overflow to inf");
  CHECK(val("-1e400") == -INFINITY, "overflow to -inf");
  CHECK(val("1e-400") == 0, "underflow to 0");
  CHECK(val("4.9406564584124654e-324") == 4.9406564584124654e-324,
        "smallest subnormal");
  CHECK(val("1.7976931348623157e308") == DBL_MAX, "DBL_MAX");
  CHECK(val("9007199254740993") == 9007199254740992.0,
        "2^53+1 rounds to even");
  CHECK(val("123456789012345678901234567890") == 1.2345678901234568e29,
        "30 digits");
  CHECK(val("1e000000000000000000000000000001") == 10,
        "long exponent with leading zeros");
  CHECK(val("0.000000000000000000000000000000000001e36") == 1,
        "leading zeros then exponent");
  CHECK(val("inf") == INFINITY && val("-Infinity") == -INFINITY &&
            val("INF") == INFINITY && val("+iNfInItY") == INFINITY,
        "inf spellings");
  CHECK(isnan(val("nan")) && isnan(val("NaN")) && isnan(val("-NAN")),
        "nan spellings");
  CHECK(bits(val("-nan")) == bits(strtod("-nan", NULL)), "sign of -nan");
  CHECK(bits(val("nan")) == bits(strtod("nan", NULL)), "bits of nan");
  /* Every fast-path edge: 22 is the last exact power of ten. */
  CHECK(val("1e22") == 1e22 && val("1e23") == 1e23, "1e22, 1e23");
  CHECK(val("9007199254740992e22") == 9007199254740992e22, "2^53 * 1e22");
  CHECK(val("123e30") == 123e30, "m*10^(e-22) path");
  CHECK(val("1e-22") == 1e-22 && val("1e-23") == 1e-23, "1e-22, 1e-23");
  CHECK(val("8.98846567431158e307") == 8.98846567431158e307, "big");

  /* Rejections (documented choices included). */
  const char *bad[] = {"",     " ",    "+",      "-",     ".",     "e5",
                       "1e",   "1e+",  "1e-",    "1.5x",  "x1",    "12 3",
                       "1..2", "--1",  "+-1",    "1e5.5", "0x10",  "0X1p3",
                       "nan(1)", "infinit", "infinityy", "in", "na", "\n1",
                       "1\n",  "1,5",  "1_000",  "e",     ".e1",   "+.e1",
                       "1e 5", "- 1",  "0x",     "inf inity"};
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
    CHECK(!accepts(bad[i]), "\"%s\" accepted", bad[i]);
  /* Not NUL-terminated: only len bytes count. */
  double v = 0;
  CHECK(scl_parse_double("1.25xyz", 4, &v) && v == 1.25, "len respected");
  CHECK(!scl_parse_double("1.25", 0, &v), "empty by length");
  char nul[] = {'1', '\0', '2'};
  CHECK(!scl_parse_double(nul, 3, &v), "embedded NUL rejected");

  const char *same[] = {
      "0.1", "0.2", "0.3", "1.7976931348623158e308", "2.2250738585072011e-308",
      "2.2250738585072014e-308", "2.4703282292062327e-324",
      "2.4703282292062328e-324", "7.2057594037927933e16", "1e-320",
      "123456789012345678", "1234567890123456789", "12345678901234567890",
      "0.30000000000000004", "9999999999999999999999", "1e308", "1e309",
      "2.225073858507201136057409796709131975934819546351645648e-308",
      "1.00000000000000011102230246251565404236316680908203125",
      "1.00000000000000011102230246251565404236316680908203124",
      "1.00000000000000011102230246251565404236316680908203126",
      "9007199254740993.0000000000000000000000000000000000000000001",
      "4.94065645841246544e-324", "1.8e308", "-2.5e-04", "+.000e-0"};
  for (size_t i = 0; i < sizeof same / sizeof *same; i++) expect_same(same[i]);
}

/* Append n random digits (the first nonzero when lead). */
static size_t digits(char *p, size_t n, int lead) {
  for (size_t i = 0; i < n; i++)
    p[i] = (char)('0' + ((i == 0 && lead) ? 1 + rndn(9) : rndn(10)));
  return n;
}

static size_t exponent(char *p, int lo, int hi) {
  int e = lo + (int)rndn((unsigned)(hi - lo + 1));
  const char *forms[] = {"e", "E", "e+", "e-", "E-"};
  int f = (int)rndn(5);
  if (e < 0) f = (f & 1) ? 3 : 4;
  return (size_t)sprintf(p, "%s%0*d", forms[f], (int)rndn(3) + 1, abs(e));
}

/* A random decimal of the given shape into s. */
static void gen_decimal(char *s, int shape) {
  size_t n = 0;
  if (rndn(4) == 0) s[n++] = rndn(2) ? '-' : '+';
  switch (shape) {
  case 0: /* like a log: 3.4521, 1200, 0.0012 */
    n += digits(s + n, 1 + rndn(6), 0);
    if (rndn(4)) {
      s[n++] = '.';
      n += digits(s + n, rndn(9), 0);
    }
    if (rndn(3) == 0) n += exponent(s + n, -12, 12);
    break;
  case 1: /* 15 to 25 significant digits */
    n += digits(s + n, 1 + rndn(4), 1);
    s[n++] = '.';
    n += digits(s + n, 12 + rndn(18), 0);
    if (rndn(2)) n += exponent(s + n, -30, 30);
    break;
  case 2: /* exponents everywhere */
    n += digits(s + n, 1 + rndn(3), 1);
    if (rndn(2)) {
      s[n++] = '.';
      n += digits(s + n, 1 + rndn(5), 0);
    }
    n += exponent(s + n, -340, 320);
    break;
  case 3: /* subnormal and near-underflow */
    s[n++] = '0' + (char)rndn(10);
    s[n++] = '.';
    n += digits(s + n, 1 + rndn(20), 0);
    n += exponent(s + n, -330, -300);
    break;
  case 4: /* long mantissas: hundreds of digits */
    if (rndn(2)) {
      s[n++] = '0';
      s[n++] = '.';
      for (unsigned z = rndn(30); z; z--) s[n++] = '0';
    }
    n += digits(s + n, 100 + rndn(900), 1);
    if (rndn(2)) n += exponent(s + n, -400, 300);
    break;
  case 5: { /* leading zeros, dots at the ends */
    int dot = (int)rndn(2);
    for (unsigned z = rndn(25); z; z--) s[n++] = '0';
    if (dot) s[n++] = '.';
    for (unsigned z = rndn(25); z; z--) s[n++] = '0';
    n += digits(s + n, 1 + rndn(8), 0);
    if (!dot && rndn(2)) {
      s[n++] = '.';
      if (rndn(2)) n += digits(s + n, rndn(8), 0);
    }
    if (rndn(2)) n += exponent(s + n, -40, 40);
    break;
  }
  default: /* integers near 2^53 and 2^64 */
    n += (size_t)sprintf(s + n, "%" PRIu64,
                         (uint64_t)(1ULL << (50 + rndn(14))) +
                             (uint64_t)rndn(4096) - 2048);
    if (rndn(2)) n += exponent(s + n, -25, 40);
    break;
  }
  s[n] = '\0';
}

/* Shortest and longer printings of random doubles (all bit patterns). */
static void gen_printed(char *s) {
  uint64_t u = rnd();
  if (rndn(8) == 0) u &= 0x800fffffffffffffULL; /* subnormal */
  double d;
  memcpy(&d, &u, sizeof d);
  if (!isfinite(d)) d = 1.0 / 3;
  int prec = (int)rndn(20);
  switch (rndn(3)) {
  case 0: sprintf(s, "%.*e", prec, d); break;
  case 1: sprintf(s, "%.*g", prec + 1, d); break;
  default: sprintf(s, "%.17g", d); break;
  }
}

/*
 * Exactly halfway between two neighbouring doubles, printed in full
 * (long double holds the midpoint exactly), and one unit off either way.
 */
static void gen_halfway(char *s) {
  uint64_t u = rnd() & 0x7fefffffffffffffULL;
  if (rndn(4) == 0) u &= 0x000fffffffffffffULL; /* subnormal */
  if (rndn(4) == 0) u = (u & 0xfff0000000000000ULL) | rndn(4);
  double d;
  memcpy(&d, &u, sizeof d);
  long double mid = ((long double)d + (long double)nextafter(d, INFINITY)) / 2;
  int len = sprintf(s, "%.780Le", mid);
  /* Trim zeros of the mantissa, keep the exponent. */
  char *e = strchr(s, 'e');
  char ex[16];
  strcpy(ex, e);
  char *z = e;
  while (z[-1] == '0') z--;
  if (z[-1] == '.') z--;
  (void)len;
  int tweak = (int)rndn(3); /* 0: exact, 1: +1 in a new last digit, 2: -1 */
  if (tweak == 1) {
    if (!strchr(s, '.') || z <= strchr(s, '.')) *z++ = '.';
    for (unsigned k = rndn(3); k; k--) *z++ = '0';
    *z++ = '1';
  } else if (tweak == 2) {
    /* Subtract one unit in the last place of the printed mantissa. */
    char *q = z - 1;
    while (q >= s && (*q == '0' || *q == '.')) {
      if (*q == '0') *q = '9';
      q--;
    }
    if (q >= s && *q >= '1' && *q <= '9') (*q)--;
  }
  strcpy(z, ex);
}

/* Random strings over a number-ish alphabet: acceptance must agree. */
static void gen_noise(char *s) {
  static const char alpha[] = "0123456789..eE+-  \t";
  size_t n = rndn(9);
  for (size_t i = 0; i < n; i++) s[i] = alpha[rndn(sizeof alpha - 1)];
  s[n] = '\0';
}

int main(int argc, char **argv) {
  double scale = argc > 1 ? atof(argv[1]) : 1.0;
  long total = (long)(2200000 * scale);
  static char s[4096];

  hand_picked();
  CHECK(mismatches == 0, "%ld hand-picked mismatches", mismatches);

  long per[9] = {0}, bad[9] = {0};
  for (long i = 0; i < total; i++) {
    int kind = (int)(i % 9);
    long before = mismatches;
    if (kind <= 6) {
      gen_decimal(s, kind);
      expect_same(s);
    } else if (kind == 7) {
      if (i % 2) gen_printed(s); else gen_halfway(s);
      expect_same(s);
    } else {
      gen_noise(s);
      expect_agree(s);
    }
    per[kind]++;
    bad[kind] += mismatches - before;
  }
  const char *names[] = {"log-like", "15-25 digits", "exponents",
                         "subnormal", "long mantissas", "leading zeros",
                         "near 2^53/2^64", "printed/halfway", "noise"};
  for (int k = 0; k < 9; k++)
    CHECK(bad[k] == 0, "%s: %ld of %ld differ from strtod", names[k], bad[k],
          per[k]);
  CHECK(compared >= (long)(2000000 * scale), "compared only %ld", compared);
  CHECK(prefix_bad == 0 && prefix_hits > compared / 10,
        "prefix parser: %ld wrong of %ld taken", prefix_bad, prefix_hits);
  /*
   * The prefix parser on m e-k against one correctly rounded division, for
   * every k and m of every size up to 2^53 (16-digit integers included).
   */
  long divbad = 0, divn = 0;
  for (unsigned k = 1; k <= 22; k++) {
    double p10 = 1;
    for (unsigned i = 0; i < k; i++) p10 *= 10;
    for (long i = 0; i < (long)(100000 * scale) + 100; i++) {
      uint64_t m = rnd() >> (11 + rndn(53));
      if (i % 4 == 1) m = (m / 5 + 1) * 5; /* multiples of 5^j: exact ends */
      if (i % 4 == 2) m = (uint64_t)1 << rndn(54);
      if (m > (1ULL << 53)) m = 1ULL << 53;
      char buf[64];
      int n = sprintf(buf, "%" PRIu64 "e-%u,%40s", m, k, "");
      double v;
      const char *stop;
      divn++;
      if (!scli_parse_prefix(buf, buf + n, &v, &stop) || *stop != ',' ||
          bits(v) != bits((double)m / p10)) {
        if (divbad++ < 5)
          printf("%" PRIu64 " / 1e%u: %.17g vs %.17g\n", m, k, v,
                 (double)m / p10);
      }
    }
  }
  CHECK(divbad == 0, "%ld of %ld quotients differ from division", divbad,
        divn);
  /* The 16-byte steps on typical log fields, and where they stop. */
  const char *fields[] = {"3.4521,", "124439808,", "2.5e-04,", "0.8734\n",
                          "6291456000,", "-0.0,", "12345678.12345678,",
                          "123456789012345.5,", "1.e5,", ".25,"};
  for (size_t i = 0; i < sizeof fields / sizeof *fields; i++) {
    char buf[64];
    size_t n = strlen(fields[i]);
    memset(buf, 'x', sizeof buf);
    memcpy(buf, fields[i], n);
    double v, ref = strtod(fields[i], NULL);
    const char *stop;
    int ok = scli_parse_prefix(buf, buf + sizeof buf, &v, &stop);
    CHECK(ok && stop == buf + n - 1 && bits(v) == bits(ref),
          "prefix of %s: ok %d at %d, %.17g", fields[i], ok,
          ok ? (int)(stop - buf) : -1, v);
  }
  printf("compared %ld strings with strtod\n", compared);
  return check_done("test_numparse");
}
