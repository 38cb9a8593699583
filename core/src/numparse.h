/*
 * numparse.h -- the fast path of numparse.c, as static inline functions
 * for the two files that parse numbers by the million: numparse.c
 * (scl_parse_double) and csv.c (the fused CSV loop).  A call per field
 * cost the CSV reader a tenth of its instructions (the function is too big
 * for the compiler to inline across files on its own).  Not an interface:
 * other files use scl_parse_double or scli_parse_prefix (internal.h).
 */
#ifndef SCALELUA_NUMPARSE_H
#define SCALELUA_NUMPARSE_H

#include <float.h>
#include <stdint.h>
#include <string.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif

static const double pow10_exact[23] = {
    1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,  1e8,  1e9,  1e10, 1e11,
    1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};

static const uint64_t pow10_int[16] = {
    1ULL,
    10ULL,
    100ULL,
    1000ULL,
    10000ULL,
    100000ULL,
    1000000ULL,
    10000000ULL,
    100000000ULL,
    1000000000ULL,
    10000000000ULL,
    100000000000ULL,
    1000000000000ULL,
    10000000000000ULL,
    100000000000000ULL,
    1000000000000000ULL};

static inline int np_digit(unsigned char c) { return (unsigned)(c - '0') < 10; }

/*
 * The fast path alone, on a prefix: a plain decimal (sign, at most 19
 * digits, optional fraction and exponent, no spaces) starting at s whose
 * value the Clinger step gives exactly.  Returns 1 with *stop just after
 * it, or 0 when the text needs the full parser.  The CSV reader calls this
 * on a field's first byte and accepts the number when *stop is the field's
 * end, so numbers are scanned once.
 */
#if defined(__SSE2__) && defined(__BYTE_ORDER__) &&                           \
    __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
#define SWAR_DIGITS 1
/*
 * The value of the n <= 8 ASCII digits at q (8 bytes must be readable):
 * the digits are moved to the top of a little-endian word, and three
 * multiplications combine pairs, quads and octets of digits.
 */
static inline uint64_t digits8w(uint64_t v, unsigned n) {
  if (n == 0) return 0;
  v <<= 8 * (8 - n);
  v = ((v & 0x0F0F0F0F0F0F0F0FULL) * 2561) >> 8;
  v = ((v & 0x00FF00FF00FF00FFULL) * 6553601) >> 16;
  return ((v & 0x0000FFFF0000FFFFULL) * 42949672960001ULL) >> 32;
}

static inline uint64_t digits8(const unsigned char *q, unsigned n) {
  uint64_t v;
  memcpy(&v, q, 8);
  return digits8w(v, n);
}

/* The value of n <= 16 digits at q (16 bytes readable). */
static inline uint64_t digits16(const unsigned char *q, unsigned n) {
  if (n <= 8) return digits8(q, n);
  return digits8(q, 8) * pow10_int[n - 8] + digits8(q + 8, n - 8);
}

/* Bit i set when q[i] is an ASCII digit, for i < 16. */
static inline unsigned digit_mask(const unsigned char *q) {
  __m128i x = _mm_loadu_si128((const __m128i *)(const void *)q);
  __m128i ge = _mm_cmpgt_epi8(x, _mm_set1_epi8('0' - 1));
  __m128i le = _mm_cmplt_epi8(x, _mm_set1_epi8('9' + 1));
  return (unsigned)_mm_movemask_epi8(_mm_and_si128(ge, le));
}
#endif

static inline int parse_prefix(const char *s, const char *end, double *out,
                               const char **stop) {
#if FLT_EVAL_METHOD == 0
  const unsigned char *p = (const unsigned char *)s;
  const unsigned char *e = (const unsigned char *)end;
  int neg = 0;
  if (p < e && (*p == '-' || *p == '+')) neg = *p++ == '-';
  uint64_t m = 0;
  long nd, fd = 0;
#ifdef SWAR_DIGITS
  if (e - p >= 32) {
    /* Digits, '.', digits within 16 bytes: no loop over characters. */
    unsigned dm = digit_mask(p);
    unsigned n1 = (unsigned)__builtin_ctz(~dm);
    if (n1 == 16) goto scalar_int; /* 16+ digits: count them one by one */
    const unsigned char *d0 = p;
    p += n1;
    nd = n1;
    if (*p != '.') {
      m = digits16(d0, n1);
      goto exponent;
    }
    unsigned n2 = (unsigned)__builtin_ctz(~(dm >> (n1 + 1)));
    if (n1 + 1 + n2 >= 16) { /* may go on: count on */
      m = digits16(d0, n1);
      goto scalar_tail;
    }
    if (n1 + n2 > 19) return 0;
    if (n1 + n2 <= 8) {
      /* "12.345": one conversion of the digits with the point taken
         out (the word at d0 + 1 supplies those after it). */
      uint64_t lo, hi, keep = n1 ? ~0ULL >> (64 - 8 * n1) : 0;
      memcpy(&lo, d0, 8);
      memcpy(&hi, d0 + 1, 8);
      m = digits8w((lo & keep) | (hi & ~keep), n1 + n2);
    } else {
      m = digits16(d0, n1) * pow10_int[n2] + digits16(p + 1, n2);
    }
    p += 1 + n2;
    fd = n2;
    nd += n2;
    goto exponent;
  }
#endif
#ifdef SWAR_DIGITS
scalar_int:
#endif
  {
    const unsigned char *d0 = p;
    while (p < e && np_digit(*p)) m = m * 10 + (unsigned)(*p++ - '0');
    nd = p - d0;
  }
#ifdef SWAR_DIGITS
scalar_tail:
#endif
  if (p < e && *p == '.') {
    const unsigned char *f0 = ++p;
    while (p < e && np_digit(*p)) m = m * 10 + (unsigned)(*p++ - '0');
    fd = p - f0;
    nd += fd;
  }
#ifdef SWAR_DIGITS
exponent:
#endif
  if (nd == 0 || nd > 19) return 0; /* (m may have wrapped: not used) */
  long te = -fd;
  if (p < e && (*p | 0x20) == 'e') {
    int eneg = 0;
    p++;
    if (p < e && (*p == '-' || *p == '+')) eneg = *p++ == '-';
    const unsigned char *x0 = p;
    long x = 0;
    while (p < e && np_digit(*p) && p - x0 < 4) x = x * 10 + (*p++ - '0');
    if (p == x0 || (p < e && np_digit(*p))) return 0;
    te += eneg ? -x : x;
  }
  if (m > (1ULL << 53) || te < -22 || te > 22) return 0;
  double v = (double)m;
  v = te < 0 ? v / pow10_exact[-te] : v * pow10_exact[te];
  *out = neg ? -v : v;
  *stop = (const char *)p;
  return 1;
#else
  (void)s, (void)end, (void)out, (void)stop;
  return 0;
#endif
}

#endif
