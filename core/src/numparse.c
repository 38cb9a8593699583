/*
 * numparse.c -- exact, fast decimal to double conversion.
 *
 * scl_parse_double returns the same bits glibc strtod returns, for every
 * input it accepts.  Accepted: optional spaces/tabs around the number, an
 * optional sign ('+' or '-'), then either a decimal ("12", "1.5", ".5",
 * "5.", "1e-3", "2.5E+04") or one of the words inf, infinity, nan in any
 * case.  Rejected although strtod takes them: hexadecimal ("0x10": in a
 * log it is more likely an id or a hash than a quantity), "nan(...)",
 * other white space (newline, \v, \f), and anything followed by other
 * text ("1e", "1.5x", "12 3").  Out-of-range decimals give what strtod
 * gives: +-inf above the largest double, zero or a subnormal below.
 *
 * Common short decimals take the Clinger fast path: when the significant
 * digits form an integer m <= 2^53 and the decimal exponent is within
 * [-22, 22], both m and 10^|e| are exact doubles and one IEEE multiply or
 * divide rounds the exact product correctly.  Everything else goes to
 * strtod_l in the C locale, on a rewritten copy of at most ~830 bytes
 * (digits past the 800th significant one only matter as "nonzero", so they
 * are replaced by a single sticky '1'), so no allocation is ever needed.
 */
#include "internal.h"
#include "numparse.h"

#include <float.h>
#include <locale.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* Significant digits kept when rewriting for strtod (>= 768 needed). */
#define KEEP_DIGITS 800

static pthread_once_t c_locale_once = PTHREAD_ONCE_INIT;
static locale_t c_locale;

static void c_locale_init(void) {
  c_locale = newlocale(LC_ALL_MASK, "C", (locale_t)0);
}

/*
 * strtod in the C locale whatever the program's locale is, so a German
 * setlocale() in an embedding program cannot change what "1.5" means.
 */
static double strtod_c(const char *s, char **end) {
  pthread_once(&c_locale_once, c_locale_init);
  if (c_locale) return strtod_l(s, end, c_locale);
  return strtod(s, end);
}

static int is_digit(unsigned char c) { return (unsigned)(c - '0') < 10; }

static int lower(unsigned char c) {
  return (c >= 'A' && c <= 'Z') ? c + ('a' - 'A') : c;
}

/* Case-insensitive comparison of s[0..n) with the lower-case word w. */
static int word_eq(const char *s, size_t n, const char *w) {
  size_t k = strlen(w);
  if (n != k) return 0;
  for (size_t i = 0; i < n; i++)
    if (lower((unsigned char)s[i]) != w[i]) return 0;
  return 1;
}

/*
 * The slow path: rewrite the already validated decimal p[0..n) (sign
 * removed) as "0.<digits>e<exp>" with at most KEEP_DIGITS significant
 * digits plus a sticky digit, and let strtod round it.  Correct rounding
 * only depends on which pair of neighbouring halfway points the value lies
 * between; those points have at most 767 significant digits, so the value
 * truncated to 800 digits plus a nonzero 801st lies between the same pair.
 */
static double slow_path(int neg, const char *p, size_t n) {
  char buf[KEEP_DIGITS + 40];
  size_t nb = 0, kept = 0;
  int sticky = 0, seen_point = 0, started = 0;
  long long point = 0; /* exponent so that value = 0.<kept digits> * 10^point */
  long long ex = 0;
  size_t i = 0;

  if (neg) buf[nb++] = '-';
  buf[nb++] = '0';
  buf[nb++] = '.';
  for (; i < n; i++) {
    unsigned char c = (unsigned char)p[i];
    if (c == '.') {
      seen_point = 1;
      continue;
    }
    if (!is_digit(c)) break;
    if (!started) {
      if (c == '0') {
        if (seen_point) point--;
        continue;
      }
      started = 1;
    }
    if (!seen_point) point++;
    if (kept < KEEP_DIGITS) {
      buf[nb++] = (char)c;
      kept++;
    } else if (c != '0') {
      sticky = 1;
    }
  }
  if (!started) return neg ? -0.0 : 0.0;
  if (sticky) buf[nb++] = '1';
  if (i < n) { /* exponent: [eE][+-]?digits, already validated */
    int eneg = 0;
    i++;
    if (p[i] == '+' || p[i] == '-') eneg = p[i++] == '-';
    for (; i < n; i++) {
      if (ex < 100000000LL) ex = ex * 10 + (p[i] - '0');
    }
    if (eneg) ex = -ex;
  }
  ex += point;
  /* Beyond +-99999 the result is inf or zero whatever the digits are. */
  if (ex > 99999) ex = 99999;
  if (ex < -99999) ex = -99999;
  buf[nb++] = 'e';
  if (ex < 0) {
    buf[nb++] = '-';
    ex = -ex;
  }
  char tmp[8];
  int nt = 0;
  do {
    tmp[nt++] = (char)('0' + ex % 10);
    ex /= 10;
  } while (ex);
  while (nt) buf[nb++] = tmp[--nt];
  buf[nb] = '\0';
  return strtod_c(buf, NULL);
}

/* The fast path on a prefix (see numparse.h), for callers elsewhere. */
int scli_parse_prefix(const char *s, const char *end, double *out,
                      const char **stop) {
  return parse_prefix(s, end, out, stop);
}

int scl_parse_double(const char *s, size_t len, double *out) {
  const char *p = s, *e = s + len;
  while (p < e && (*p == ' ' || *p == '\t')) p++;
  while (e > p && (e[-1] == ' ' || e[-1] == '\t')) e--;
  if (p == e) return 0;
  const char *stop;
  if (parse_prefix(p, e, out, &stop) && stop == e) return 1;

  int neg = 0;
  if (*p == '+' || *p == '-') {
    neg = *p == '-';
    p++;
    if (p == e) return 0;
  }
  const char *num = p; /* after the sign */

  if (!is_digit((unsigned char)*p) && *p != '.') {
    size_t n = (size_t)(e - p);
    if (word_eq(p, n, "inf") || word_eq(p, n, "infinity") ||
        word_eq(p, n, "nan")) {
      /* Rare: let strtod produce the exact bits (sign of NaN included). */
      char buf[16];
      const char *from = neg ? p - 1 : p;
      size_t k = (size_t)(e - from);
      memcpy(buf, from, k);
      buf[k] = '\0';
      *out = strtod_c(buf, NULL);
      return 1;
    }
    return 0;
  }

  /*
   * Scan the mantissa: up to 19 significant digits accumulate into m;
   * later ones only set `dropped`.  dexp is the decimal exponent of m.
   */
  uint64_t m = 0;
  int nsig = 0, ndig = 0, dropped = 0;
  long dexp = 0;
  while (p < e && is_digit((unsigned char)*p)) {
    unsigned d = (unsigned)(*p - '0');
    ndig++;
    if (nsig < 19) {
      if (m || d) {
        m = m * 10 + d;
        nsig++;
      }
    } else {
      dexp++;
      dropped = 1;
    }
    p++;
  }
  if (p < e && *p == '.') {
    p++;
    while (p < e && is_digit((unsigned char)*p)) {
      unsigned d = (unsigned)(*p - '0');
      ndig++;
      if (nsig < 19) {
        if (m || d) {
          m = m * 10 + d;
          nsig++;
        }
        dexp--;
      } else {
        dropped = 1;
      }
      p++;
    }
  }
  if (ndig == 0) return 0;

  long ex = 0;
  if (p < e && (*p == 'e' || *p == 'E')) {
    int eneg = 0;
    p++;
    if (p < e && (*p == '+' || *p == '-')) eneg = *p++ == '-';
    if (p == e || !is_digit((unsigned char)*p)) return 0;
    while (p < e && is_digit((unsigned char)*p)) {
      if (ex < 100000000L) ex = ex * 10 + (*p - '0');
      p++;
    }
    if (eneg) ex = -ex;
  }
  if (p != e) return 0;

  if (m == 0 && !dropped) { /* all digits zero */
    *out = neg ? -0.0 : 0.0;
    return 1;
  }
  /*
   * `dropped` only means more than 19 significant digits were seen; the
   * slow path handles those (they may all be zeros, which is fine).
   */
#if FLT_EVAL_METHOD == 0
  if (!dropped && m <= (1ULL << 53)) {
    long te = dexp + ex;
    double v = (double)m;
    if (te >= 0 && te <= 22) {
      v = v * pow10_exact[te];
      *out = neg ? -v : v;
      return 1;
    }
    if (te < 0 && te >= -22) {
      v = v / pow10_exact[-te];
      *out = neg ? -v : v;
      return 1;
    }
    /* m * 10^(te-22) may still be an exact integer below 2^53. */
    if (te > 22 && te <= 22 + 15) {
      uint64_t k = pow10_int[te - 22];
      if (m <= (1ULL << 53) / k) {
        v = (double)(m * k) * 1e22;
        *out = neg ? -v : v;
        return 1;
      }
    }
  }
#endif
  *out = slow_path(neg, num, (size_t)(e - num));
  return 1;
}
