/*
 * test_table.c -- tables (every function, error paths, allocation failure
 * with a counting allocator) and the vector kernels.
 */
#include "check.h"
#include "scalelua.h"
#include "testalloc.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The counting allocator of every test here (testalloc.h). */
static testalloc cnt;

static const char *str_at(const scl_table *t, const char *col, size_t row) {
  int j = scl_table_find(t, col);
  return j < 0 ? NULL : scl_table_string(t, (size_t)j, row);
}

static double num_at(const scl_table *t, const char *col, size_t row) {
  int j = scl_table_find(t, col);
  return j < 0 ? -999 : scl_table_numbers(t, (size_t)j)[row];
}

static scl_table *make_runs(scl_ctx *ctx, const char *const *runs,
                            const double *loss, size_t n) {
  scl_table *t;
  if (scl_table_new(ctx, &t)) return NULL;
  if (scl_table_set_strings(t, "run", runs, n) ||
      scl_table_set_numbers(t, "loss", loss, n)) {
    scl_table_free(t);
    return NULL;
  }
  return t;
}

static void test_basics(void) {
  scl_ctx *ctx = testalloc_ctx(&cnt);
  long base = cnt.bytes;
  scl_table *t;
  CHECK(scl_table_new(ctx, &t) == SCL_OK, "new");
  CHECK(scl_table_nrows(t) == 0 && scl_table_ncols(t) == 0, "empty");
  CHECK(scl_table_find(t, "x") == -1, "find on empty");
  scl_table_free(NULL);

  double x[] = {1, 2, 3, 4};
  CHECK(scl_table_set_numbers(t, "x", x, 4) == SCL_OK, "set_numbers");
  CHECK(scl_table_nrows(t) == 4 && scl_table_ncols(t) == 1, "4x1");
  x[0] = 99; /* the values were copied */
  CHECK(scl_table_numbers(t, 0)[0] == 1, "copied");
  CHECK(scl_table_coltype(t, 0) == SCL_NUMBER, "type number");
  CHECK(strcmp(scl_table_colname(t, 0), "x") == 0, "colname");
  CHECK(scl_table_codes(t, 0) == NULL, "no codes for numbers");
  CHECK(scl_table_string(t, 0, 0) == NULL, "no strings for numbers");
  CHECK(scl_table_nlevels(t, 0) == 0, "no levels for numbers");

  double y[] = {1, 2, 3};
  CHECK(scl_table_set_numbers(t, "y", y, 3) == SCL_EINVAL, "length mismatch");
  CHECK(strcmp(scl_ctx_errmsg(ctx),
               "column 'y' has 3 values, the table has 4 rows") == 0,
        "message: %s", scl_ctx_errmsg(ctx));
  CHECK(scl_table_ncols(t) == 1, "failed set adds nothing");

  const char *runs[] = {"a", "b", "a", "c"};
  CHECK(scl_table_set_strings(t, "run", runs, 4) == SCL_OK, "set_strings");
  CHECK(scl_table_find(t, "run") == 1, "find run");
  CHECK(scl_table_coltype(t, 1) == SCL_STRING, "type string");
  CHECK(scl_table_nlevels(t, 1) == 3, "3 levels, got %zu",
        scl_table_nlevels(t, 1));
  const uint32_t *codes = scl_table_codes(t, 1);
  CHECK(codes && codes[0] == codes[2] && codes[0] != codes[1] &&
            codes[1] != codes[3],
        "codes intern equal strings");
  CHECK(strcmp(scl_table_level(t, 1, codes[3]), "c") == 0, "level");
  CHECK(scl_table_level(t, 1, 3) == NULL, "level out of range");
  CHECK(strcmp(scl_table_string(t, 1, 2), "a") == 0, "string at row");
  CHECK(scl_table_string(t, 1, 4) == NULL, "row out of range");
  CHECK(scl_table_numbers(t, 1) == NULL, "no numbers for strings");
  CHECK(scl_table_colname(t, 2) == NULL && scl_table_coltype(t, 2) == 0 &&
            scl_table_numbers(t, 2) == NULL && scl_table_codes(t, 2) == NULL,
        "column out of range");

  const char *withnull[] = {"a", NULL, "b", "c"};
  CHECK(scl_table_set_strings(t, "bad", withnull, 4) == SCL_EINVAL,
        "NULL string");
  CHECK(strstr(scl_ctx_errmsg(ctx), "value 2 is NULL") != NULL, "msg: %s",
        scl_ctx_errmsg(ctx));

  /* Replacing keeps the position and may change the type. */
  CHECK(scl_table_set_strings(t, "x", runs, 4) == SCL_OK, "replace x");
  CHECK(scl_table_ncols(t) == 2 && scl_table_find(t, "x") == 0 &&
            scl_table_coltype(t, 0) == SCL_STRING,
        "replaced in place");
  CHECK(scl_table_set_numbers(t, "x", x, 4) == SCL_OK, "replace back");

  CHECK(scl_table_drop(t, "nope") == SCL_EINVAL, "drop missing");
  CHECK(strcmp(scl_ctx_errmsg(ctx), "drop: no column 'nope'") == 0, "msg %s",
        scl_ctx_errmsg(ctx));
  CHECK(scl_table_drop(t, "x") == SCL_OK && scl_table_ncols(t) == 1 &&
            scl_table_find(t, "run") == 0,
        "drop x");
  CHECK(scl_table_drop(t, "run") == SCL_OK && scl_table_nrows(t) == 0,
        "dropping the last column empties the table");
  CHECK(scl_table_set_numbers(t, "z", y, 3) == SCL_OK &&
            scl_table_nrows(t) == 3,
        "a fresh first column sets the rows again");
  /* The only column may be replaced with another length. */
  CHECK(scl_table_set_numbers(t, "z", x, 4) == SCL_OK &&
            scl_table_nrows(t) == 4,
        "sole column replaced");
  /* Zero-length columns. */
  scl_table *e;
  CHECK(scl_table_new(ctx, &e) == SCL_OK, "new");
  CHECK(scl_table_set_numbers(e, "a", NULL, 0) == SCL_OK &&
            scl_table_set_strings(e, "b", NULL, 0) == SCL_OK &&
            scl_table_nrows(e) == 0 && scl_table_ncols(e) == 2,
        "empty columns");
  scl_table_free(e);
  scl_table_free(t);
  CHECK(cnt.bytes == base, "leak: %ld bytes", cnt.bytes - base);
  CHECK(cnt.bad_osize == 0, "%ld wrong old sizes", cnt.bad_osize);
  scl_ctx_free(ctx);
}

static void test_append(void) {
  scl_ctx *ctx = testalloc_ctx(&cnt);
  long base = cnt.bytes;
  const char *r1[] = {"a", "b", "a"};
  const char *r2[] = {"c", "a", "c", "d"};
  double l1[] = {1, 2, 3}, l2[] = {4, 5, 6, 7};
  scl_table *a = make_runs(ctx, r1, l1, 3), *b = make_runs(ctx, r2, l2, 4);
  CHECK(a && b, "setup");
  /* In b, "c" is code 0 and "a" code 1: the codes must be remapped. */
  CHECK(scl_table_append(a, b) == SCL_OK, "append");
  CHECK(scl_table_nrows(a) == 7, "7 rows");
  const char *want[] = {"a", "b", "a", "c", "a", "c", "d"};
  int ok = 1;
  for (size_t i = 0; i < 7; i++)
    ok &= strcmp(str_at(a, "run", i), want[i]) == 0 &&
          num_at(a, "loss", i) == (double)(i + 1);
  CHECK(ok, "appended values");
  CHECK(scl_table_nlevels(a, 0) == 4, "levels a b c d, got %zu",
        scl_table_nlevels(a, 0));
  CHECK(scl_table_codes(a, 0)[4] == scl_table_codes(a, 0)[0],
        "'a' keeps its code");

  /* Self-append doubles the rows. */
  CHECK(scl_table_append(a, a) == SCL_OK && scl_table_nrows(a) == 14 &&
            strcmp(str_at(a, "run", 13), "d") == 0 &&
            num_at(a, "loss", 10) == 4 && scl_table_nlevels(a, 0) == 4,
        "self append");

  /* An empty table takes the schema. */
  scl_table *e;
  scl_table_new(ctx, &e);
  CHECK(scl_table_append(e, b) == SCL_OK && scl_table_nrows(e) == 4 &&
            scl_table_ncols(e) == 2 && strcmp(str_at(e, "run", 3), "d") == 0,
        "append to empty");
  /* Columns matched by name, whatever their order. */
  scl_table *c;
  scl_table_new(ctx, &c);
  scl_table_set_numbers(c, "loss", l1, 3);
  scl_table_set_strings(c, "run", r1, 3);
  CHECK(scl_table_append(e, c) == SCL_OK && scl_table_nrows(e) == 7 &&
            strcmp(str_at(e, "run", 5), "b") == 0 &&
            num_at(e, "loss", 6) == 3,
        "matched by name");

  /* Mismatches. */
  scl_table_drop(c, "loss");
  CHECK(scl_table_append(e, c) == SCL_EINVAL, "fewer columns");
  CHECK(strcmp(scl_ctx_errmsg(ctx), "append: tables have 2 and 1 columns") ==
            0,
        "msg %s", scl_ctx_errmsg(ctx));
  scl_table_set_numbers(c, "step", l1, 3);
  CHECK(scl_table_append(e, c) == SCL_EINVAL &&
            strcmp(scl_ctx_errmsg(ctx), "append: column 'loss' is missing") ==
                0,
        "other name: %s", scl_ctx_errmsg(ctx));
  scl_table_drop(c, "step");
  scl_table_set_strings(c, "loss", r1, 3);
  CHECK(scl_table_append(e, c) == SCL_EINVAL &&
            strstr(scl_ctx_errmsg(ctx), "'loss' holds numbers here and "
                                        "strings there") != NULL,
        "type: %s", scl_ctx_errmsg(ctx));
  CHECK(scl_table_nrows(e) == 7, "failed appends change nothing");

  /* Growth is amortised: 20000 one-row appends, few reallocations. */
  scl_table *one, *acc;
  const char *r[] = {"run-17"};
  double v[] = {0.5};
  one = make_runs(ctx, r, v, 1);
  scl_table_new(ctx, &acc);
  long before = cnt.count;
  int all = 1;
  for (int i = 0; i < 20000; i++) all &= scl_table_append(acc, one) == SCL_OK;
  long used = cnt.count - before;
  CHECK(all && scl_table_nrows(acc) == 20000, "20000 appends");
  CHECK(used < 100, "amortised growth: %ld allocations", used);
  CHECK(scl_table_nlevels(acc, 0) == 1, "one level");

  scl_table_free(one);
  scl_table_free(acc);
  scl_table_free(a);
  scl_table_free(b);
  scl_table_free(c);
  scl_table_free(e);
  CHECK(cnt.bytes == base, "leak: %ld bytes", cnt.bytes - base);
  CHECK(cnt.bad_osize == 0, "%ld wrong old sizes", cnt.bad_osize);
  scl_ctx_free(ctx);
}

static void test_take_select(void) {
  scl_ctx *ctx = testalloc_ctx(&cnt);
  long base = cnt.bytes;
  const char *runs[] = {"a", "b", "c", "b", "d"};
  double loss[] = {5, 4, 3, 2, 1};
  scl_table *t = make_runs(ctx, runs, loss, 5), *u;
  size_t rows[] = {3, 1, 3, 4};
  CHECK(scl_table_take(t, rows, 4, &u) == SCL_OK, "take");
  CHECK(scl_table_nrows(u) == 4 && scl_table_ncols(u) == 2, "4 rows");
  CHECK(strcmp(str_at(u, "run", 0), "b") == 0 &&
            strcmp(str_at(u, "run", 3), "d") == 0 && num_at(u, "loss", 2) == 2,
        "taken values");
  /* Only used levels, in their original order: b then d. */
  CHECK(scl_table_nlevels(u, 0) == 2 &&
            strcmp(scl_table_level(u, 0, 0), "b") == 0 &&
            strcmp(scl_table_level(u, 0, 1), "d") == 0,
        "compacted levels");
  scl_table_free(u);
  size_t bad[] = {0, 5};
  CHECK(scl_table_take(t, bad, 2, &u) == SCL_EINVAL && u == NULL,
        "row out of range");
  CHECK(strcmp(scl_ctx_errmsg(ctx),
               "take: row 6 out of range (the table has 5 rows)") == 0,
        "msg %s", scl_ctx_errmsg(ctx));
  CHECK(scl_table_take(t, NULL, 0, &u) == SCL_OK && scl_table_nrows(u) == 0 &&
            scl_table_ncols(u) == 2 && scl_table_nlevels(u, 0) == 0,
        "take nothing");
  scl_table_free(u);

  const char *names[] = {"loss", "run"};
  CHECK(scl_table_select(t, names, 2, &u) == SCL_OK, "select");
  CHECK(scl_table_find(u, "loss") == 0 && scl_table_find(u, "run") == 1 &&
            scl_table_nrows(u) == 5 && strcmp(str_at(u, "run", 4), "d") == 0 &&
            scl_table_nlevels(u, 1) == 4,
        "selected in order");
  scl_table_free(u);
  const char *unk[] = {"run", "lr"};
  CHECK(scl_table_select(t, unk, 2, &u) == SCL_EINVAL &&
            strcmp(scl_ctx_errmsg(ctx), "select: no column 'lr'") == 0,
        "unknown: %s", scl_ctx_errmsg(ctx));
  const char *dup[] = {"run", "run"};
  CHECK(scl_table_select(t, dup, 2, &u) == SCL_EINVAL &&
            strstr(scl_ctx_errmsg(ctx), "named twice"),
        "duplicate");
  CHECK(scl_table_select(t, names, 0, &u) == SCL_OK &&
            scl_table_ncols(u) == 0 && scl_table_nrows(u) == 0,
        "select nothing");
  scl_table_free(u);
  scl_table_free(t);
  CHECK(cnt.bytes == base, "leak: %ld bytes", cnt.bytes - base);
  CHECK(cnt.bad_osize == 0, "%ld wrong old sizes", cnt.bad_osize);
  scl_ctx_free(ctx);
}

static int is_perm(const size_t *o, size_t n) {
  char *seen = calloc(n, 1);
  int ok = 1;
  for (size_t i = 0; i < n; i++) {
    if (o[i] >= n || seen[o[i]]) ok = 0;
    else seen[o[i]] = 1;
  }
  free(seen);
  return ok;
}

static void test_order(void) {
  scl_ctx *ctx = testalloc_ctx(&cnt);
  long base = cnt.bytes;
  scl_table *t;
  scl_table_new(ctx, &t);
  double v[] = {3, NAN, -1, 3, 0.0, -0.0, INFINITY, -INFINITY, 2};
  const char *s[] = {"b", "ab", "a", "\xc3\xa9", "B", "b", "", "a", "ab"};
  scl_table_set_numbers(t, "v", v, 9);
  scl_table_set_strings(t, "s", s, 9);
  size_t o[9];
  CHECK(scl_table_order(t, 0, 0, o) == SCL_OK, "order");
  size_t asc[] = {7, 2, 4, 5, 8, 0, 3, 6, 1};
  CHECK(memcmp(o, asc, sizeof o) == 0,
        "ascending, stable, NaN last: %zu %zu %zu %zu %zu %zu %zu %zu %zu",
        o[0], o[1], o[2], o[3], o[4], o[5], o[6], o[7], o[8]);
  CHECK(scl_table_order(t, 0, 1, o) == SCL_OK, "order desc");
  size_t desc[] = {6, 0, 3, 8, 4, 5, 2, 7, 1};
  CHECK(memcmp(o, desc, sizeof o) == 0,
        "descending, stable, NaN last: %zu %zu %zu %zu %zu %zu %zu %zu %zu",
        o[0], o[1], o[2], o[3], o[4], o[5], o[6], o[7], o[8]);
  CHECK(scl_table_order(t, 1, 0, o) == SCL_OK, "order strings");
  /* "" < "B" < "a" = "a" < "ab" = "ab" < "b" = "b" < "\xc3\xa9" */
  size_t sasc[] = {6, 4, 2, 7, 1, 8, 0, 5, 3};
  CHECK(memcmp(o, sasc, sizeof o) == 0,
        "strings bytewise: %zu %zu %zu %zu %zu %zu %zu %zu %zu", o[0], o[1],
        o[2], o[3], o[4], o[5], o[6], o[7], o[8]);
  CHECK(scl_table_order(t, 1, 1, o) == SCL_OK, "strings desc");
  size_t sdesc[] = {3, 0, 5, 1, 8, 2, 7, 4, 6};
  CHECK(memcmp(o, sdesc, sizeof o) == 0, "strings descending, stable");
  CHECK(scl_table_order(t, 2, 0, o) == SCL_EINVAL, "no column 3");

  /* A larger random check: sorted and stable. */
  enum { N = 100000 };
  double *w = malloc(N * sizeof *w);
  size_t *ord = malloc(N * sizeof *ord);
  uint64_t z = 88172645463325252ULL;
  for (size_t i = 0; i < N; i++) {
    z ^= z << 13;
    z ^= z >> 7;
    z ^= z << 17;
    w[i] = (z % 1000 == 0) ? NAN : (double)(int64_t)(z % 2001) - 1000;
  }
  scl_table *big;
  scl_table_new(ctx, &big);
  scl_table_set_numbers(big, "w", w, N);
  CHECK(scl_table_order(big, 0, 0, ord) == SCL_OK, "order big");
  int sorted = is_perm(ord, N);
  for (size_t i = 1; i < N; i++) {
    double a = w[ord[i - 1]], b = w[ord[i]];
    if (isnan(a) ? !isnan(b) || ord[i - 1] > ord[i]
                 : (!isnan(b) && (a > b || (a == b && ord[i - 1] > ord[i]))))
      sorted = 0;
  }
  CHECK(sorted, "100000 values sorted stably");
  scl_table_free(big);
  free(w);
  free(ord);
  scl_table_free(t);
  CHECK(cnt.bytes == base, "leak: %ld bytes", cnt.bytes - base);
  scl_ctx_free(ctx);
}

/*
 * Fail allocation k, for every k, in read_csv_buffer, append, take,
 * select, set_strings and order: the call reports SCL_ENOMEM (or succeeds
 * when the failure was absorbed), and nothing leaks.
 */
static void test_alloc_failures(void) {
  const char *csv =
      "run,method,step,loss,note\n"
      "r1,adam,1,3.5,\"quoted, with comma\"\n"
      "r1,adam,2,3.25,x\n"
      "r2,sgd,1,NA,\"multi\nline\"\n"
      "r2,sgd,2,2.75,\"\"\n"
      "r3,adam,1,oops,y\n"; /* loss turns into strings at the last row */
  const char *plain = "a,b,c\n1,x,2.5\n2,y,3.5\n3,x,\n4,z,1e3\n5,y,7\n";
  for (int sticky = 0; sticky < 2; sticky++) {
    int bad = 0, leaks = 0, osz = 0, oks = 0, fails = 0;
    for (int which = 0; which < 2; which++) {
      const char *in = which ? plain : csv;
      for (long k = 1; k < 100000; k++) {
        scl_ctx *ctx = testalloc_ctx(&cnt);
        long base = cnt.bytes;
        cnt.fail_at = k;
        cnt.sticky = sticky;
        scl_table *t = NULL;
        int rc = scl_table_read_csv_buffer(ctx, "m.csv", in, strlen(in), NULL,
                                           &t);
        long used = cnt.count;
        if (rc == SCL_OK) {
          oks++;
          if (scl_table_nrows(t) != 5 || scl_table_ncols(t) != 3 + 2 * !which)
            bad++;
          if (!which && (scl_table_coltype(t, 3) != SCL_STRING ||
                         strcmp(scl_table_string(t, 3, 2), "NA") != 0 ||
                         strcmp(scl_table_string(t, 4, 2), "multi\nline")))
            bad++;
        } else {
          fails++;
          if (rc != SCL_ENOMEM || t != NULL) bad++;
        }
        scl_table_free(t);
        if (cnt.bytes != base) leaks++;
        if (cnt.bad_osize) osz++;
        scl_ctx_free(ctx);
        if (used < k) break; /* no k-th allocation: all were tried */
      }
    }
    CHECK(bad == 0 && leaks == 0 && osz == 0,
          "read_csv_buffer sticky=%d: %d bad, %d leaks, %d bad sizes", sticky,
          bad, leaks, osz);
    CHECK(fails > 20 && oks > 0, "read_csv_buffer: %d failures injected",
          fails);
  }

  /* append / take / select / set_strings / order on prepared tables. */
  const char *r1[] = {"a", "b", "a"}, *r2[] = {"c", "a", "e", "f", "c"};
  double l1[] = {1, 2, 3}, l2[] = {4, 5, 6, 7, 8};
  for (int op = 0; op < 5; op++) {
    int bad = 0, leaks = 0, fails = 0;
    for (long k = 1; k < 10000; k++) {
      scl_ctx *ctx = testalloc_ctx(&cnt);
      long base = cnt.bytes;
      scl_table *a = make_runs(ctx, r1, l1, 3), *b = make_runs(ctx, r2, l2, 5);
      scl_table *u = NULL;
      size_t rows[] = {4, 0, 2, 2}, ord[3];
      const char *names[] = {"loss", "run"};
      cnt.count = 0;
      cnt.fail_at = k;
      int rc;
      switch (op) {
      case 0: rc = scl_table_append(a, b); break;
      case 1: rc = scl_table_take(b, rows, 4, &u); break;
      case 2: rc = scl_table_select(b, names, 2, &u); break;
      case 3: rc = scl_table_set_strings(a, "run", r1, 3); break;
      default: rc = scl_table_order(a, 0, 0, ord); break;
      }
      long used = cnt.count;
      cnt.fail_at = 0;
      if (rc == SCL_OK) {
        if (op == 0 &&
            (scl_table_nrows(a) != 8 || scl_table_nlevels(a, 0) != 5 ||
             strcmp(str_at(a, "run", 5), "e") != 0))
          bad++;
        if (op == 1 && (scl_table_nrows(u) != 4 ||
                        strcmp(str_at(u, "run", 0), "c") != 0 ||
                        strcmp(str_at(u, "run", 2), "e") != 0 ||
                        scl_table_nlevels(u, 0) != 2))
          bad++;
        if (op == 4 && (ord[0] != 0 || ord[1] != 2 || ord[2] != 1)) bad++;
      } else {
        fails++;
        if (rc != SCL_ENOMEM) bad++;
        /* The target is unchanged. */
        if (op == 0 &&
            (scl_table_nrows(a) != 3 || scl_table_nlevels(a, 0) != 2))
          bad++;
        if (op == 0) { /* and still usable: the levels' hash is intact */
          if (scl_table_append(a, b) != SCL_OK || scl_table_nrows(a) != 8 ||
              scl_table_nlevels(a, 0) != 5 ||
              strcmp(str_at(a, "run", 7), "c") != 0 ||
              scl_table_codes(a, 0)[7] != scl_table_codes(a, 0)[3])
            bad++;
        }
        if (op == 3 && strcmp(str_at(a, "run", 1), "b") != 0) bad++;
      }
      scl_table_free(a);
      scl_table_free(b);
      scl_table_free(u);
      if (cnt.bytes != base || cnt.bad_osize) leaks++;
      scl_ctx_free(ctx);
      if (used < k) break;
    }
    CHECK(bad == 0 && leaks == 0, "op %d: %d bad, %d leaks", op, bad, leaks);
    CHECK(fails > 0, "op %d: no failure injected", op);
  }
}

/* ------------------------------------------------------------ grouping */

/* Are rows a and b equal in column c, by the rules of scl_table_group? */
static int same_cell(const scl_table *t, size_t c, size_t a, size_t b) {
  if (scl_table_coltype(t, c) == SCL_STRING)
    return strcmp(scl_table_string(t, c, a), scl_table_string(t, c, b)) == 0;
  double x = scl_table_numbers(t, c)[a], y = scl_table_numbers(t, c)[b];
  return (isnan(x) && isnan(y)) || x == y;
}

/*
 * Check g against groups found the slow way: each row joins the first
 * group whose first row equals it in every key column.  Returns the
 * number of mismatches.
 */
static int check_groups(const scl_table *t, const size_t *cols, size_t nc,
                        const scl_groups *g) {
  size_t n = scl_table_nrows(t), ng = 0;
  size_t *first = malloc((n + 1) * sizeof *first);
  size_t *gid = malloc((n + 1) * sizeof *gid);
  size_t *count = calloc(n + 1, sizeof *count);
  int bad = 0;
  for (size_t r = 0; r < n; r++) {
    size_t k = 0;
    for (; k < ng; k++) {
      size_t j = 0;
      while (j < nc && same_cell(t, cols[j], first[k], r)) j++;
      if (j == nc) break;
    }
    if (k == ng) first[ng++] = r;
    gid[r] = k;
    count[k]++;
  }
  if (g->ngroups != ng || g->nrows != n || g->start[0] != 0 ||
      g->start[ng] != n)
    bad++;
  else
    for (size_t k = 0; k < ng; k++) {
      if (g->start[k + 1] - g->start[k] != count[k]) {
        bad++;
        break;
      }
      /* every row of group k, in ascending order, the first one first */
      size_t prev = 0;
      for (size_t i = g->start[k]; i < g->start[k + 1]; i++) {
        size_t r = g->rows[i];
        if (r >= n || gid[r] != k || (i > g->start[k] && r <= prev) ||
            (i == g->start[k] && r != first[k]))
          bad++;
        prev = r;
      }
    }
  free(first);
  free(gid);
  free(count);
  return bad;
}

/* A small deterministic generator (xorshift64*). */
static uint64_t rng_state = 0x2545F4914F6CDD1DULL;
static uint64_t rng(void) {
  rng_state ^= rng_state >> 12;
  rng_state ^= rng_state << 25;
  rng_state ^= rng_state >> 27;
  return rng_state * 0x2545F4914F6CDD1DULL;
}

/*
 * A random table of n rows: s (strings from an alphabet of `ns`), x
 * (numbers from a small set with NaN, -0, 0, inf), y (up to `ny` distinct
 * numbers), in runs of equal rows as training logs have them.
 */
static scl_table *random_table(scl_ctx *ctx, size_t n, size_t ns, size_t ny) {
  static const char *alpha[] = {"a", "b", "", "run-1", "run-10", "Run-1",
                                "moba-568M-r0001", "full", "x y", "NaN"};
  static const double xs[] = {0.0, -0.0, 1.5, NAN, -2, INFINITY, 1e300, -NAN};
  const char **s = malloc((n + 1) * sizeof *s);
  char (*buf)[24] = malloc((n + 1) * sizeof *buf);
  double *x = malloc((n + 1) * sizeof *x), *y = malloc((n + 1) * sizeof *y);
  for (size_t r = 0; r < n; r++) {
    if (r == 0 || rng() % 4 == 0) {
      size_t k = (size_t)(rng() % ns);
      if (k < 10) {
        s[r] = alpha[k];
      } else {
        snprintf(buf[r], sizeof buf[r], "s%zu", k);
        s[r] = buf[r];
      }
      x[r] = xs[rng() % 8];
      y[r] = (double)(rng() % ny) * 0.25 - 3;
    } else {
      s[r] = s[r - 1];
      x[r] = x[r - 1];
      y[r] = y[r - 1];
    }
  }
  scl_table *t = NULL;
  if (scl_table_new(ctx, &t) || scl_table_set_strings(t, "s", s, n) ||
      scl_table_set_numbers(t, "x", x, n) ||
      scl_table_set_numbers(t, "y", y, n)) {
    scl_table_free(t);
    t = NULL;
  }
  free(s);
  free(buf);
  free(x);
  free(y);
  return t;
}

static void test_group(void) {
  scl_ctx *ctx = testalloc_ctx(&cnt);
  long base = cnt.bytes;
  /* A hand-made case: NaN is one value, -0 is 0, first appearance order. */
  const char *runs[] = {"b", "a", "b", "c", "a", "b"};
  double v[] = {NAN, 0.0, -NAN, -0.0, 2, 0.0};
  scl_table *t;
  scl_groups *g;
  CHECK(scl_table_new(ctx, &t) == SCL_OK &&
            scl_table_set_strings(t, "run", runs, 6) == SCL_OK &&
            scl_table_set_numbers(t, "v", v, 6) == SCL_OK,
        "table");
  size_t by_run = 0, by_v = 1, both[] = {0, 1};
  CHECK(scl_table_group(t, &by_run, 1, &g) == SCL_OK, "group by run");
  size_t want_start[] = {0, 3, 5, 6}, want_rows[] = {0, 2, 5, 1, 4, 3};
  CHECK(g->ngroups == 3 && g->nrows == 6 &&
            memcmp(g->start, want_start, sizeof want_start) == 0 &&
            memcmp(g->rows, want_rows, sizeof want_rows) == 0,
        "b (0 2 5), a (1 4), c (3)");
  scl_groups_free(ctx, g);
  CHECK(scl_table_group(t, &by_v, 1, &g) == SCL_OK, "group by v");
  size_t want_start2[] = {0, 2, 5, 6}, want_rows2[] = {0, 2, 1, 3, 5, 4};
  CHECK(g->ngroups == 3 &&
            memcmp(g->start, want_start2, sizeof want_start2) == 0 &&
            memcmp(g->rows, want_rows2, sizeof want_rows2) == 0,
        "NaN (0 2), 0 (1 3 5), 2 (4)");
  scl_groups_free(ctx, g);
  CHECK(scl_table_group(t, both, 2, &g) == SCL_OK, "group by run, v");
  size_t want_start3[] = {0, 2, 3, 4, 5, 6}, want_rows3[] = {0, 2, 1, 3, 4, 5};
  CHECK(g->ngroups == 5 &&
            memcmp(g->start, want_start3, sizeof want_start3) == 0 &&
            memcmp(g->rows, want_rows3, sizeof want_rows3) == 0,
        "(b NaN) (a 0) (c 0) (a 2) (b 0)");
  scl_groups_free(ctx, g);
  /* Errors. */
  size_t out_of_range = 2;
  CHECK(scl_table_group(t, &out_of_range, 1, &g) == SCL_EINVAL && g == NULL &&
            strcmp(scl_ctx_errmsg(ctx),
                   "group: no column 3 (the table has 2)") == 0,
        "column out of range: %s", scl_ctx_errmsg(ctx));
  CHECK(scl_table_group(t, both, 0, &g) == SCL_EINVAL && g == NULL,
        "no column");
  scl_groups_free(ctx, NULL);
  scl_table_free(t);
  /* No rows: no groups. */
  CHECK(scl_table_new(ctx, &t) == SCL_OK &&
            scl_table_set_numbers(t, "v", NULL, 0) == SCL_OK &&
            scl_table_group(t, &by_run, 1, &g) == SCL_OK && g->ngroups == 0 &&
            g->start[0] == 0,
        "empty table");
  scl_groups_free(ctx, g);
  scl_table_free(t);

  /* Random tables against the slow reference, every key combination. */
  static const size_t combos[][3] = {{0}, {1}, {2}, {0, 1}, {1, 0},
                                     {0, 2}, {2, 1, 0}, {0, 0}};
  static const size_t ncombo[] = {1, 1, 1, 2, 2, 2, 3, 2};
  int bad = 0, runs_done = 0;
  for (int trial = 0; trial < 60; trial++) {
    size_t n = (size_t)(rng() % 700), ns = 2 + (size_t)(rng() % 60);
    size_t ny = 1 + (size_t)(rng() % (trial % 3 ? 5 : 400));
    t = random_table(ctx, n, ns, ny);
    if (!t) {
      bad++;
      continue;
    }
    for (size_t c = 0; c < 8; c++) {
      if (scl_table_group(t, combos[c], ncombo[c], &g) != SCL_OK) {
        bad++;
        continue;
      }
      bad += check_groups(t, combos[c], ncombo[c], g);
      scl_groups_free(ctx, g);
      runs_done++;
    }
    scl_table_free(t);
  }
  CHECK(bad == 0 && runs_done == 480, "random groupings: %d bad of %d", bad,
        runs_done);
  /* A long log: 40000 rows, a few hundred groups, growing the hash. */
  t = random_table(ctx, 40000, 300, 900);
  size_t yx[] = {2, 1};
  CHECK(t && scl_table_group(t, yx, 2, &g) == SCL_OK &&
            check_groups(t, yx, 2, g) == 0 && g->ngroups > 300,
        "long log by (y, x): %zu groups", g ? g->ngroups : 0);
  scl_groups_free(ctx, g);
  scl_table_free(t);
  CHECK(cnt.bytes == base, "leak: %ld bytes", cnt.bytes - base);
  CHECK(cnt.bad_osize == 0, "%ld wrong old sizes", cnt.bad_osize);
  scl_ctx_free(ctx);
}

static void test_take_columns_add_numbers(void) {
  scl_ctx *ctx = testalloc_ctx(&cnt);
  long base = cnt.bytes;
  const char *runs[] = {"a", "b", "c", "b", "d"};
  double loss[] = {5, 4, 3, 2, 1};
  scl_table *t = make_runs(ctx, runs, loss, 5), *u;
  double step[] = {10, 20, 30, 40, 50};
  CHECK(scl_table_set_numbers(t, "step", step, 5) == SCL_OK, "step");
  size_t rows[] = {3, 1, 4}, cols[] = {2, 0};
  CHECK(scl_table_take_columns(t, cols, 2, rows, 3, &u) == SCL_OK, "take");
  CHECK(scl_table_ncols(u) == 2 && scl_table_nrows(u) == 3 &&
            strcmp(scl_table_colname(u, 0), "step") == 0 &&
            strcmp(scl_table_colname(u, 1), "run") == 0,
        "columns step, run");
  CHECK(num_at(u, "step", 0) == 40 && num_at(u, "step", 2) == 50 &&
            strcmp(str_at(u, "run", 1), "b") == 0 &&
            strcmp(str_at(u, "run", 2), "d") == 0 &&
            scl_table_nlevels(u, 1) == 2 &&
            strcmp(scl_table_level(u, 1, 0), "b") == 0,
        "taken values, levels b d");
  scl_table_free(u);
  size_t one = 1;
  CHECK(scl_table_take_columns(t, &one, 1, rows, 0, &u) == SCL_OK &&
            scl_table_ncols(u) == 1 && scl_table_nrows(u) == 0,
        "no rows");
  scl_table_free(u);
  CHECK(scl_table_take_columns(t, cols, 0, rows, 3, &u) == SCL_OK &&
            scl_table_ncols(u) == 0 && scl_table_nrows(u) == 0,
        "no columns");
  scl_table_free(u);
  size_t dup[] = {1, 1}, far[] = {3};
  CHECK(scl_table_take_columns(t, dup, 2, rows, 3, &u) == SCL_EINVAL &&
            u == NULL &&
            strcmp(scl_ctx_errmsg(ctx),
                   "take_columns: column 'loss' named twice") == 0,
        "twice: %s", scl_ctx_errmsg(ctx));
  CHECK(scl_table_take_columns(t, far, 1, rows, 3, &u) == SCL_EINVAL &&
            strstr(scl_ctx_errmsg(ctx), "no column 4"),
        "out of range: %s", scl_ctx_errmsg(ctx));
  size_t badrow[] = {5};
  CHECK(scl_table_take_columns(t, cols, 2, badrow, 1, &u) == SCL_EINVAL &&
            strstr(scl_ctx_errmsg(ctx), "row 6 out of range"),
        "row out of range: %s", scl_ctx_errmsg(ctx));

  /* add_numbers: new, replacing, wrong length. */
  double *v;
  CHECK(scl_table_add_numbers(t, "twice", 5, &v) == SCL_OK && v != NULL,
        "add");
  for (int i = 0; i < 5; i++) v[i] = 2 * loss[i];
  CHECK(scl_table_ncols(t) == 4 && num_at(t, "twice", 4) == 2 &&
            scl_table_numbers(t, 3) == v,
        "filled in place");
  CHECK(scl_table_add_numbers(t, "loss", 5, &v) == SCL_OK &&
            scl_table_ncols(t) == 4 && scl_table_find(t, "loss") == 1,
        "replaces in place");
  v[0] = -1;
  CHECK(num_at(t, "loss", 0) == -1, "the replacement's storage");
  CHECK(scl_table_add_numbers(t, "short", 4, &v) == SCL_EINVAL && v == NULL &&
            strcmp(scl_ctx_errmsg(ctx),
                   "column 'short' has 4 values, the table has 5 rows") == 0,
        "length: %s", scl_ctx_errmsg(ctx));
  scl_table_free(t);
  CHECK(scl_table_new(ctx, &t) == SCL_OK &&
            scl_table_add_numbers(t, "first", 3, &v) == SCL_OK &&
            scl_table_nrows(t) == 3,
        "the first column sets the row count");
  scl_table_free(t);
  CHECK(cnt.bytes == base, "leak: %ld bytes", cnt.bytes - base);
  CHECK(cnt.bad_osize == 0, "%ld wrong old sizes", cnt.bad_osize);
  scl_ctx_free(ctx);
}

/* Fail allocation k, for every k, in group, take_columns and add_numbers. */
static void test_group_alloc_failures(void) {
  for (int op = 0; op < 4; op++) {
    int bad = 0, leaks = 0, fails = 0;
    for (long k = 1; k < 10000; k++) {
      scl_ctx *ctx = testalloc_ctx(&cnt);
      long base = cnt.bytes;
      rng_state = 0x9E3779B97F4A7C15ULL;
      scl_table *t = random_table(ctx, 3000, 200, op == 1 ? 700 : 40), *u = NULL;
      scl_groups *g = NULL;
      size_t s_y[] = {0, 2}, x_y[] = {1, 2}, cols[] = {2, 0};
      size_t rows[] = {7, 3, 2999, 3};
      double *v = NULL;
      cnt.count = 0;
      cnt.fail_at = k;
      int rc;
      switch (op) {
      case 0: rc = scl_table_group(t, s_y, 2, &g); break;
      case 1: rc = scl_table_group(t, x_y, 2, &g); break;
      case 2: rc = scl_table_take_columns(t, cols, 2, rows, 4, &u); break;
      default: rc = scl_table_add_numbers(t, "z", 3000, &v); break;
      }
      long used = cnt.count;
      cnt.fail_at = 0;
      if (rc == SCL_OK) {
        if (op < 2) bad += check_groups(t, op ? x_y : s_y, 2, g);
        if (op == 2 && (scl_table_nrows(u) != 4 || scl_table_ncols(u) != 2))
          bad++;
        if (op == 3 && (scl_table_ncols(t) != 4 || !v)) bad++;
      } else {
        fails++;
        if (rc != SCL_ENOMEM || g || u || v) bad++;
        if (scl_table_ncols(t) != 3 || scl_table_nrows(t) != 3000) bad++;
      }
      scl_groups_free(ctx, g);
      scl_table_free(u);
      scl_table_free(t);
      if (cnt.bytes != base || cnt.bad_osize) leaks++;
      scl_ctx_free(ctx);
      if (used < k) break;
    }
    CHECK(bad == 0 && leaks == 0, "op %d: %d bad, %d leaks", op, bad, leaks);
    CHECK(fails >= (op == 3 ? 2 : 3), "op %d: %d failures injected", op,
          fails);
  }
}

static void test_vec(void) {
  scl_ctx *ctx = scl_ctx_new(NULL, NULL);
  double a[] = {1, 2, 4}, b[] = {2, 8, 16}, out[3];
  double two = 2;
  CHECK(scl_vec_op(ctx, SCL_ADD, a, 3, b, 3, out, 3) == SCL_OK &&
            out[0] == 3 && out[1] == 10 && out[2] == 20,
        "add");
  CHECK(scl_vec_op(ctx, SCL_SUB, a, 3, &two, 1, out, 3) == SCL_OK &&
            out[0] == -1 && out[2] == 2,
        "sub broadcast b");
  CHECK(scl_vec_op(ctx, SCL_DIV, &two, 1, b, 3, out, 3) == SCL_OK &&
            out[0] == 1 && out[1] == 0.25 && out[2] == 0.125,
        "div broadcast a");
  CHECK(scl_vec_op(ctx, SCL_MUL, &two, 1, &two, 1, out, 3) == SCL_OK &&
            out[0] == 4 && out[2] == 4,
        "both scalars");
  CHECK(scl_vec_op(ctx, SCL_POW, a, 3, &two, 1, out, 3) == SCL_OK &&
            out[2] == 16,
        "pow");
  CHECK(scl_vec_op(ctx, SCL_LOG10, b, 3, NULL, 0, out, 3) == SCL_OK,
        "log10");
  CHECK_NEAR(out[1], log10(8), 1e-15);
  CHECK(scl_vec_op(ctx, SCL_LOG, a, 3, NULL, 0, out, 3) == SCL_OK &&
            out[0] == 0,
        "log");
  CHECK_NEAR(out[2], log(4), 1e-15);
  CHECK(scl_vec_op(ctx, SCL_EXP, a, 3, NULL, 0, out, 3) == SCL_OK, "exp");
  CHECK_NEAR(out[1], exp(2), 1e-15);
  CHECK(scl_vec_op(ctx, SCL_NEG, &two, 1, NULL, 0, out, 3) == SCL_OK &&
            out[0] == -2 && out[2] == -2,
        "neg broadcast");
  /* Aliasing: out is a, or out is b, or a scalar operand inside out. */
  double x[] = {1, 2, 3};
  CHECK(scl_vec_op(ctx, SCL_MUL, x, 3, x, 3, x, 3) == SCL_OK && x[0] == 1 &&
            x[1] == 4 && x[2] == 9,
        "x = x * x");
  double y[] = {5, 1, 1};
  CHECK(scl_vec_op(ctx, SCL_ADD, y, 1, b, 3, y, 3) == SCL_OK && y[0] == 7 &&
            y[1] == 13 && y[2] == 21,
        "scalar read before the loop overwrites it");
  /* Bad lengths. */
  CHECK(scl_vec_op(ctx, SCL_ADD, a, 2, b, 3, out, 3) == SCL_EINVAL, "na=2");
  CHECK(strcmp(scl_ctx_errmsg(ctx),
               "vector operand a has 2 values, expected 1 or 3") == 0,
        "msg %s", scl_ctx_errmsg(ctx));
  CHECK(scl_vec_op(ctx, SCL_ADD, a, 3, b, 0, out, 3) == SCL_EINVAL, "nb=0");
  CHECK(scl_vec_op(ctx, (scl_op)42, a, 3, b, 3, out, 3) == SCL_EINVAL,
        "bad op");
  CHECK(scl_vec_op(ctx, SCL_ADD, a, 3, b, 3, out, 0) == SCL_OK, "n=0");

  double v[] = {NAN, 3, -2, NAN, 10};
  CHECK(scl_vec_sum(v, 5) == 11, "sum skips NaN");
  CHECK(scl_vec_min(v, 5) == -2 && scl_vec_max(v, 5) == 10, "min max");
  double nn[] = {NAN, NAN};
  CHECK(isnan(scl_vec_sum(nn, 2)) && isnan(scl_vec_min(nn, 2)) &&
            isnan(scl_vec_max(nn, 2)) && isnan(scl_vec_sum(NULL, 0)),
        "all NaN or empty: NaN");
  double inf[] = {1, INFINITY, 2};
  CHECK(scl_vec_sum(inf, 3) == INFINITY, "inf sum");
  /* Compensated: 1 + 1e100 + 1 - 1e100 is 2. */
  double hard[] = {1, 1e100, 1, -1e100};
  CHECK(scl_vec_sum(hard, 4) == 2, "compensated sum: %g",
        scl_vec_sum(hard, 4));
  double tenth[1000];
  for (int i = 0; i < 1000; i++) tenth[i] = 0.1;
  CHECK(scl_vec_sum(tenth, 1000) == 100, "0.1 * 1000: %.17g",
        scl_vec_sum(tenth, 1000));
  scl_ctx_free(ctx);
}

int main(void) {
  test_basics();
  test_append();
  test_take_select();
  test_order();
  test_alloc_failures();
  test_group();
  test_take_columns_add_numbers();
  test_group_alloc_failures();
  test_vec();
  return check_done("test_table");
}
