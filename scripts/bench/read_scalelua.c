/*
 * read_scalelua.c -- the scalelua side of scripts/bench-ingest: a small
 * program linked with build/libscalelua.a.
 *
 *   read_scalelua CSV THREADS [COL,COL,...] [READS]
 *
 * Reads CSV with scl_table_read_csv (THREADS: opts.threads, 0 for the
 * default; with a list of columns, the projection keeps only those; an
 * empty list keeps all) and prints one line: "wall_s cpu_s rows data_bytes
 * reads", the read call's own wall-clock and CPU seconds (CPU summed over
 * threads) and the size of the typed columns it made (8 bytes a number, 4
 * a string code), the yardstick for memory.
 *
 * With READS > 1 the file is read that many times in this process (each
 * table freed before the next read) and the times are the mean per read:
 * the process's start-up (first touch of its code, libc's set-up) is
 * amortised, and a small file read often enough takes as long as a big
 * one read once, so both meet the machine's other load alike.  glibc's
 * mmap threshold is then pinned at its default, since otherwise freeing
 * the first table raises it and later reads would grow their columns on
 * the heap instead of in mappings: every read allocates as a first read
 * in a fresh process does.
 */
#include "scalelua.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif

static double secs(clockid_t id) {
  struct timespec t;
  clock_gettime(id, &t);
  return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

int main(int argc, char **argv) {
  if (argc < 3) {
    fprintf(stderr, "usage: %s CSV THREADS [COL,COL,...] [READS]\n",
            argv[0]);
    return 2;
  }
  long reads = argc > 4 ? atol(argv[4]) : 1;
  if (reads < 1) {
    fprintf(stderr, "%s: READS must be at least 1\n", argv[0]);
    return 2;
  }
#if defined(__GLIBC__) && defined(M_MMAP_THRESHOLD)
  if (reads > 1) mallopt(M_MMAP_THRESHOLD, 128 * 1024);
#endif
  scl_ctx *ctx = scl_ctx_new(NULL, NULL);
  if (!ctx) {
    fprintf(stderr, "%s: out of memory\n", argv[0]);
    return 1;
  }
  scl_csv_opts o;
  scl_csv_opts_init(&o);
  o.threads = atoi(argv[2]);
  const char *cols[64];
  size_t nc = 0;
  if (argc > 3 && argv[3][0])
    for (char *t = strtok(argv[3], ","); t && nc < 64; t = strtok(NULL, ","))
      cols[nc++] = t;
  o.columns = nc ? cols : NULL;
  o.ncolumns = nc;
  double wall = 0, cpu = 0;
  size_t bytes = 0, n = 0;
  for (long r = 0; r < reads; r++) {
    scl_table *t;
    double w0 = secs(CLOCK_MONOTONIC), c0 = secs(CLOCK_PROCESS_CPUTIME_ID);
    int rc = scl_table_read_csv(ctx, argv[1], &o, &t);
    double c1 = secs(CLOCK_PROCESS_CPUTIME_ID), w1 = secs(CLOCK_MONOTONIC);
    if (rc) {
      fprintf(stderr, "%s\n", scl_ctx_errmsg(ctx));
      scl_ctx_free(ctx);
      return 1;
    }
    wall += w1 - w0;
    cpu += c1 - c0;
    n = scl_table_nrows(t);
    bytes = 0;
    for (size_t j = 0; j < scl_table_ncols(t); j++)
      bytes += n * (scl_table_coltype(t, j) == SCL_NUMBER ? 8 : 4);
    scl_table_free(t);
  }
  printf("%.6f %.6f %zu %zu %ld\n", wall / (double)reads, cpu / (double)reads,
         n, bytes, reads);
  scl_ctx_free(ctx);
  return 0;
}
