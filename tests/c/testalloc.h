/*
 * testalloc.h -- the counting, failing allocator of the C unit tests.
 *
 * Pass testalloc_fn with a testalloc as the context's allocator (or use
 * testalloc_ctx).  Every block carries its true size in a header, so a
 * wrong old size from the library is counted in bad_osize; blocks and
 * bytes count what is allocated now.  Allocation number fail_at (counting
 * new blocks and growths, from 1; 0: none) returns NULL, and with sticky
 * every later one too.
 */
#ifndef SCL_TESTALLOC_H
#define SCL_TESTALLOC_H

#include "scalelua.h"

typedef struct {
  long count;     /* allocations and growths so far */
  long fail_at;   /* the one that fails (0: none) */
  int sticky;     /* also fail every one after fail_at */
  long blocks;    /* blocks allocated now */
  long bytes;     /* bytes allocated now */
  long bad_osize; /* frees and growths given a wrong old size */
} testalloc;

void *testalloc_fn(void *ud, void *ptr, size_t osize, size_t nsize);

/* Zero *a and make a context allocating through it (NULL on failure). */
scl_ctx *testalloc_ctx(testalloc *a);

/* Fail the k-th allocation from now (k >= 1). */
void testalloc_fail_next(testalloc *a, long k);

#endif
