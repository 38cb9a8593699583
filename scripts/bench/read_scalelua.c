/*
 * read_scalelua.c -- the scalelua side of scripts/bench-ingest: a small
 * program linked with build/libscalelua.a.
 *
 *   read_scalelua CSV THREADS [COL,COL,...]
 *
 * Reads CSV with scl_table_read_csv (THREADS: opts.threads, 0 for the
 * default; with a list of columns, the projection keeps only those) and
 * prints one line: "wall_s cpu_s rows data_bytes", the read call's own
 * wall-clock and CPU seconds (CPU summed over threads) and the size of
 * the typed columns it made (8 bytes a number, 4 a string code), the
 * yardstick for memory.
 */
#include "scalelua.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double secs(clockid_t id) {
  struct timespec t;
  clock_gettime(id, &t);
  return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

int main(int argc, char **argv) {
  if (argc < 3) {
    fprintf(stderr, "usage: %s CSV THREADS [COL,COL,...]\n", argv[0]);
    return 2;
  }
  scl_ctx *ctx = scl_ctx_new(NULL, NULL);
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
  scl_table *t;
  double w0 = secs(CLOCK_MONOTONIC), c0 = secs(CLOCK_PROCESS_CPUTIME_ID);
  int rc = scl_table_read_csv(ctx, argv[1], &o, &t);
  double c1 = secs(CLOCK_PROCESS_CPUTIME_ID), w1 = secs(CLOCK_MONOTONIC);
  if (rc) {
    fprintf(stderr, "%s\n", scl_ctx_errmsg(ctx));
    return 1;
  }
  size_t bytes = 0, n = scl_table_nrows(t);
  for (size_t j = 0; j < scl_table_ncols(t); j++)
    bytes += n * (scl_table_coltype(t, j) == SCL_NUMBER ? 8 : 4);
  printf("%.4f %.4f %zu %zu\n", w1 - w0, c1 - c0, n, bytes);
  scl_table_free(t);
  scl_ctx_free(ctx);
  return 0;
}
