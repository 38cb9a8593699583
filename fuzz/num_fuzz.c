/*
 * num_fuzz.c -- libFuzzer target for scl_parse_double.
 *
 * For any bytes:
 *   - scl_parse_double accepts exactly the documented grammar (checked by
 *     an independent recogniser below): optional spaces/tabs around an
 *     optional sign and a decimal (digits with an optional point and
 *     exponent) or inf / infinity / nan in any case;
 *   - what it accepts, glibc strtod reads to the end (before trailing
 *     blanks) and gives the same bits;
 *   - the fast prefix parser (scli_parse_prefix, used by the CSV hot loop)
 *     only claims numbers that scl_parse_double gives identically.
 * The input is used where libFuzzer puts it (an exactly sized buffer), so
 * a read past the end is an AddressSanitizer report.
 */
#include "internal.h"
#include "scalelua.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void die(const char *what, const uint8_t *s, size_t n) {
  fprintf(stderr, "num_fuzz: %s: '%.*s'\n", what, (int)n, (const char *)s);
  abort();
}

static int digit(uint8_t c) { return c >= '0' && c <= '9'; }

static int word(const uint8_t *s, size_t n, const char *w) {
  if (strlen(w) != n) return 0;
  for (size_t i = 0; i < n; i++) {
    uint8_t c = s[i];
    if (c >= 'A' && c <= 'Z') c = (uint8_t)(c + 32);
    if (c != (uint8_t)w[i]) return 0;
  }
  return 1;
}

/* The documented grammar, written independently of numparse.c. */
static int grammar(const uint8_t *s, size_t n) {
  size_t a = 0, b = n;
  while (a < b && (s[a] == ' ' || s[a] == '\t')) a++;
  while (b > a && (s[b - 1] == ' ' || s[b - 1] == '\t')) b--;
  if (a < b && (s[a] == '+' || s[a] == '-')) a++;
  if (a == b) return 0;
  if (word(s + a, b - a, "inf") || word(s + a, b - a, "infinity") ||
      word(s + a, b - a, "nan"))
    return 1;
  size_t i = a, nd = 0;
  while (i < b && digit(s[i])) i++, nd++;
  if (i < b && s[i] == '.') {
    i++;
    while (i < b && digit(s[i])) i++, nd++;
  }
  if (nd == 0) return 0;
  if (i < b && (s[i] == 'e' || s[i] == 'E')) {
    i++;
    if (i < b && (s[i] == '+' || s[i] == '-')) i++;
    size_t ne = 0;
    while (i < b && digit(s[i])) i++, ne++;
    if (ne == 0) return 0;
  }
  return i == b;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  double v;
  int ok = scl_parse_double((const char *)data, size, &v);
  if (ok != grammar(data, size)) die(ok ? "accepted" : "rejected", data, size);
  if (ok) {
    char *z = malloc(size + 1);
    memcpy(z, data, size);
    z[size] = '\0';
    size_t b = size;
    while (b > 0 && (z[b - 1] == ' ' || z[b - 1] == '\t')) b--;
    char *end;
    double w = strtod(z, &end);
    if (end != z + b) die("strtod stops elsewhere", data, size);
    if (memcmp(&v, &w, sizeof v) != 0) die("bits differ from strtod", data,
                                          size);
    free(z);
  }
  /* The fast prefix parser, from every start within the first bytes. */
  for (size_t at = 0; at < size && at < 4; at++) {
    const char *s = (const char *)data + at, *e = (const char *)data + size;
    const char *stop = NULL;
    double p;
    if (!scli_parse_prefix(s, e, &p, &stop)) continue;
    if (!(stop > s && stop <= e)) die("prefix stop out of range", data, size);
    double q;
    if (!scl_parse_double(s, (size_t)(stop - s), &q))
      die("prefix claims a non-number", data, size);
    if (memcmp(&p, &q, sizeof p) != 0) die("prefix bits differ", data, size);
  }
  return 0;
}
