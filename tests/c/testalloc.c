/* testalloc.c -- the counting, failing allocator (see testalloc.h). */
#include "testalloc.h"

#include <stdlib.h>
#include <string.h>

/* The header before each block: its size, then padding that keeps the
 * block aligned as malloc's are. */
#define HDR 2

void *testalloc_fn(void *ud, void *ptr, size_t osize, size_t nsize) {
  testalloc *a = ud;
  size_t *h = ptr ? (size_t *)ptr - HDR : NULL;
  if (h && h[0] != osize) a->bad_osize++;
  if (nsize == 0) {
    if (h) {
      a->blocks--;
      a->bytes -= (long)h[0];
      free(h);
    }
    return NULL;
  }
  a->count++;
  if (a->fail_at &&
      (a->count == a->fail_at || (a->sticky && a->count > a->fail_at)))
    return NULL;
  size_t old = h ? h[0] : 0;
  size_t *n = realloc(h, nsize + HDR * sizeof *n);
  if (!n) return NULL;
  if (!h) a->blocks++;
  n[0] = nsize;
  a->bytes += (long)nsize - (long)old;
  return n + HDR;
}

scl_ctx *testalloc_ctx(testalloc *a) {
  memset(a, 0, sizeof *a);
  return scl_ctx_new(testalloc_fn, a);
}

void testalloc_fail_next(testalloc *a, long k) { a->fail_at = a->count + k; }
