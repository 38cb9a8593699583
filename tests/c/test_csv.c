/*
 * test_csv.c -- the CSV reader: every option, every error with its exact
 * message, files/globs/stdin, the record iterator, and a differential
 * test of the two tokenizers (libcsv and the quote-free scanner) over
 * generated and random inputs.
 *
 * Run from the top of the tree (tests/run.sh does): fixtures are read from
 * tests/data/csv.
 */
#include "check.h"
#include "internal.h"
#include "scalelua.h"
#include "testalloc.h"

#include <fcntl.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define D "tests/data/csv/"

static scl_ctx *ctx;
static double scale = 1; /* argv[1]: fewer random cases (e.g. valgrind) */

static int rd(const char *csv, const scl_csv_opts *o, scl_table **t) {
  return scl_table_read_csv_buffer(ctx, "x.csv", csv, strlen(csv), o, t);
}

static int col(const scl_table *t, const char *name) {
  return scl_table_find(t, name);
}

static double num(const scl_table *t, const char *name, size_t row) {
  int j = col(t, name);
  if (j < 0 || scl_table_coltype(t, (size_t)j) != SCL_NUMBER) return -12345;
  return scl_table_numbers(t, (size_t)j)[row];
}

static const char *str(const scl_table *t, const char *name, size_t row) {
  int j = col(t, name);
  if (j < 0) return "(no column)";
  const char *s = scl_table_string(t, (size_t)j, row);
  return s ? s : "(not a string)";
}

static scl_type type(const scl_table *t, const char *name) {
  int j = col(t, name);
  return j < 0 ? (scl_type)0 : scl_table_coltype(t, (size_t)j);
}

/* Read must fail with code and exactly msg. */
static void expect_error(const char *csv, const scl_csv_opts *o, int code,
                         const char *msg) {
  scl_table *t = (scl_table *)1;
  int rc = rd(csv, o, &t);
  CHECK(rc == code && t == NULL, "rc %d (want %d) for %s", rc, code, msg);
  CHECK(strcmp(scl_ctx_errmsg(ctx), msg) == 0,
        "message\n  got  '%s'\n  want '%s'", scl_ctx_errmsg(ctx), msg);
  /* The libcsv tokenizer says the same. */
  t = (scl_table *)1;
  rc = scli_table_read_csv_buffer_tok(ctx, "x.csv", csv, strlen(csv), o,
                                      SCLI_TOK_LIBCSV, &t);
  CHECK(rc == code && t == NULL &&
            strcmp(scl_ctx_errmsg(ctx), msg) == 0,
        "libcsv path: rc %d '%s'", rc, scl_ctx_errmsg(ctx));
}

static void test_inference(void) {
  scl_table *t;
  int rc = scl_table_read_csv(ctx, D "runs.csv", NULL, &t);
  CHECK(rc == SCL_OK, "runs.csv: %s", scl_ctx_errmsg(ctx));
  if (rc) return;
  CHECK(scl_table_nrows(t) == 6 && scl_table_ncols(t) == 8, "6x8");
  const char *names[] = {"run", "method", "params", "step",
                         "tokens", "loss", "lr", "grad_norm"};
  for (size_t j = 0; j < 8; j++)
    CHECK(strcmp(scl_table_colname(t, j), names[j]) == 0, "name %zu", j);
  CHECK(type(t, "run") == SCL_STRING && type(t, "method") == SCL_STRING,
        "string columns");
  CHECK(type(t, "loss") == SCL_NUMBER && type(t, "grad_norm") == SCL_NUMBER,
        "numeric columns");
  CHECK(num(t, "loss", 2) == 3.8820 && num(t, "lr", 0) == 2.5e-04 &&
            num(t, "params", 3) == 3.5e8 && num(t, "tokens", 5) == 1.2288e6,
        "values");
  CHECK(isnan(num(t, "grad_norm", 2)) && isnan(num(t, "grad_norm", 5)),
        "NA and empty are NaN");
  CHECK(strcmp(str(t, "run", 4), "gpt-s2") == 0 &&
            scl_table_nlevels(t, (size_t)col(t, "run")) == 2,
        "interned runs");
  scl_table_free(t);

  /* A column that looks numeric for a while keeps its original text. */
  CHECK(rd("k,x\na,1\nb,2.50\nc,NA\nd,\ne, 7 \nf,abc\n", NULL, &t) == SCL_OK,
        "late text");
  CHECK(type(t, "x") == SCL_STRING, "x became strings");
  const char *want[] = {"1", "2.50", "NA", "", " 7 ", "abc"};
  for (size_t i = 0; i < 6; i++)
    CHECK(strcmp(str(t, "x", i), want[i]) == 0, "x[%zu] = '%s'", i,
          str(t, "x", i));
  scl_table_free(t);

  /* Numbers tolerate spaces; strings keep them (RFC 4180). */
  CHECK(rd("a,b\n 1.5 ,  x \n\t2,y\n", NULL, &t) == SCL_OK, "spaces");
  CHECK(num(t, "a", 0) == 1.5 && num(t, "a", 1) == 2 &&
            strcmp(str(t, "b", 0), "  x ") == 0,
        "spaces: '%s'", str(t, "b", 0));
  scl_table_free(t);

  /* All-NA and header-only columns are numeric. */
  CHECK(rd("a,b\nNA,1\nnull,2\nnan,3\nNaN,4\n,5\n", NULL, &t) == SCL_OK &&
            type(t, "a") == SCL_NUMBER && isnan(num(t, "a", 4)),
        "all NA");
  scl_table_free(t);
}

static void test_options(void) {
  scl_csv_opts o;
  scl_table *t;

  /* No header: V1, V2, ...; delimiter; quote character. */
  scl_csv_opts_init(&o);
  o.header = 0;
  o.delimiter = ';';
  o.quote = '\'';
  CHECK(rd("1;'a;b';x\n2;'it''s';y\n", &o, &t) == SCL_OK, "no header");
  CHECK(scl_table_ncols(t) == 3 && scl_table_nrows(t) == 2 &&
            num(t, "V1", 1) == 2 && strcmp(str(t, "V2", 0), "a;b") == 0 &&
            strcmp(str(t, "V2", 1), "it's") == 0,
        "V1..V3");
  scl_table_free(t);

  /* Tab-separated, no quoting at all (quote = 0): quotes are data. */
  scl_csv_opts_init(&o);
  o.delimiter = '\t';
  o.quote = 0;
  CHECK(rd("a\tb\n\"x\"\t1\n", &o, &t) == SCL_OK &&
            strcmp(str(t, "a", 0), "\"x\"") == 0 && num(t, "b", 0) == 1,
        "tsv, no quoting");
  scl_table_free(t);

  /* NA markers: custom list, numeric-looking marker, and none at all. */
  scl_csv_opts_init(&o);
  const char *na[] = {"-999", "missing"};
  o.na = na;
  o.nna = 2;
  CHECK(rd("a,b\n1,-999\n2,missing\n3, -999 \n4,-999.5\n", &o, &t) == SCL_OK,
        "custom NA");
  CHECK(isnan(num(t, "b", 0)) && isnan(num(t, "b", 1)) &&
            isnan(num(t, "b", 2)) && num(t, "b", 3) == -999.5,
        "custom NA values");
  scl_table_free(t);
  CHECK(rd("a,b\n1,NA\n", &o, &t) == SCL_OK && type(t, "b") == SCL_STRING,
        "NA is text when not a marker");
  scl_table_free(t);
  o.nna = 0;
  CHECK(rd("a,b\n1,\n2,3\n", &o, &t) == SCL_OK && type(t, "b") == SCL_STRING,
        "no markers: empty is text");
  scl_table_free(t);

  /* Type overrides. */
  scl_csv_opts_init(&o);
  const char *tn[] = {"id", "x"};
  scl_type ty[] = {SCL_STRING, SCL_NUMBER};
  o.type_names = tn;
  o.types = ty;
  o.ntypes = 2;
  CHECK(rd("id,x\n007,1\n008,NA\n", &o, &t) == SCL_OK &&
            type(t, "id") == SCL_STRING &&
            strcmp(str(t, "id", 0), "007") == 0 && isnan(num(t, "x", 1)),
        "declared types");
  scl_table_free(t);
  const char *tn2[] = {"r", "loss"};
  o.type_names = tn2;
  expect_error("r,loss\na,1\nbb,abc\n", &o, SCL_EPARSE,
               "x.csv:3:4: column 'loss': 'abc' is not a number");
  expect_error("r,loss\na,1\nbb,\"a\"\"b\"\n", &o, SCL_EPARSE,
               "x.csv:3:4: column 'loss': 'a\"b' is not a number");
  const char *tn3[] = {"zz"};
  o.type_names = tn3;
  o.ntypes = 1;
  expect_error("a,b\n1,2\n", &o, SCL_EINVAL,
               "x.csv: type given for unknown column 'zz'");
  scl_type badty[] = {(scl_type)7};
  o.type_names = tn;
  o.types = badty;
  expect_error("id,x\n1,2\n", &o, SCL_EINVAL,
               "csv: bad type 7 for column 'id'");

  /* Projection: only those columns, in that order. */
  scl_csv_opts_init(&o);
  const char *cols[] = {"loss", "run"};
  o.columns = cols;
  o.ncolumns = 2;
  CHECK(scl_table_read_csv(ctx, D "runs.csv", &o, &t) == SCL_OK, "projection");
  CHECK(scl_table_ncols(t) == 2 && col(t, "loss") == 0 && col(t, "run") == 1 &&
            num(t, "loss", 1) == 4.1077,
        "projected");
  scl_table_free(t);
  /* A column left out is never converted: text there is no error. */
  const char *only_a[] = {"a"};
  o.columns = only_a;
  o.ncolumns = 1;
  const char *tn4[] = {"b"};
  scl_type ty4[] = {SCL_NUMBER};
  o.type_names = tn4;
  o.types = ty4;
  o.ntypes = 1;
  CHECK(rd("a,b\n1,zzz\n", &o, &t) == SCL_OK && scl_table_ncols(t) == 1,
        "unprojected column not parsed");
  scl_table_free(t);
  scl_csv_opts_init(&o);
  const char *unk[] = {"a", "lr"};
  o.columns = unk;
  o.ncolumns = 2;
  expect_error("a,b\n1,2\n", &o, SCL_EINVAL,
               "x.csv: no column 'lr' (columns: a, b)");
  const char *twice[] = {"a", "a"};
  o.columns = twice;
  expect_error("a,b\n1,2\n", &o, SCL_EINVAL,
               "x.csv: column 'a' selected twice");

  /* Bad option values. */
  scl_csv_opts_init(&o);
  o.delimiter = '"';
  expect_error("a\n", &o, SCL_EINVAL,
               "csv: bad delimiter/quote pair (0x22, 0x22)");
  o.delimiter = '\n';
  expect_error("a\n", &o, SCL_EINVAL,
               "csv: bad delimiter/quote pair (0x0a, 0x22)");
}

static void test_syntax(void) {
  scl_table *t;
  /* Quoted fields, embedded delimiters/quotes/newlines, from a file. */
  int rc = scl_table_read_csv(ctx, D "quoted.csv", NULL, &t);
  CHECK(rc == SCL_OK, "quoted.csv: %s", scl_ctx_errmsg(ctx));
  if (!rc) {
    CHECK(scl_table_nrows(t) == 6, "6 rows");
    const char *want[] = {"plain", "with, comma", "say \"hi\"",
                          "two\nlines", " spaced ", ""};
    for (size_t i = 0; i < 6; i++)
      CHECK(strcmp(str(t, "note", i), want[i]) == 0, "note[%zu] '%s'", i,
            str(t, "note", i));
    CHECK(num(t, "value", 5) == 6.5 && num(t, "id", 3) == 4, "numbers");
    scl_table_free(t);
  }
  /* BOM and CRLF, blank line skipped. */
  rc = scl_table_read_csv(ctx, D "bom_crlf.csv", NULL, &t);
  CHECK(rc == SCL_OK && col(t, "run") == 0 && scl_table_nrows(t) == 3 &&
            num(t, "loss", 2) == 4 && num(t, "loss", 1) == 3.25 &&
            strcmp(str(t, "run", 2), "r2") == 0,
        "BOM + CRLF: %s", scl_ctx_errmsg(ctx));
  scl_table_free(t);
  /* Lone CR ends records too; no final newline; quoted numbers. */
  CHECK(rd("a,b\r1,\"2.5\"\r3,4", NULL, &t) == SCL_OK &&
            scl_table_nrows(t) == 2 && num(t, "b", 0) == 2.5 &&
            num(t, "b", 1) == 4,
        "CR, no final newline");
  scl_table_free(t);
  /* A trailing delimiter at the very end is one more (empty) field. */
  CHECK(rd("a,b\n1,", NULL, &t) == SCL_OK && isnan(num(t, "b", 0)),
        "trailing delimiter");
  scl_table_free(t);
  /* Empty names become V<n>; duplicates are errors. */
  CHECK(rd(",b,\n1,2,3\n", NULL, &t) == SCL_OK && col(t, "V1") == 0 &&
            col(t, "V3") == 2,
        "empty names");
  scl_table_free(t);
  expect_error("a,b,a\n1,2,3\n", NULL, SCL_EPARSE,
               "x.csv:1:5: duplicate column name 'a'");

  /* Errors with positions. */
  expect_error("a,b\n1,\"xy\n2,3\n", NULL, SCL_EPARSE,
               "x.csv:2:3: column 'b': unterminated quoted field");
  expect_error("a,b\n1,\"xy\"z\n", NULL, SCL_EPARSE,
               "x.csv:2:7: column 'b': unexpected 'z' after a closing quote");
  expect_error("a,b\n1,\"xy\" \n", NULL, SCL_EPARSE,
               "x.csv:2:7: column 'b': unexpected ' ' after a closing quote");
  expect_error("a,b\n1,x\"y\n", NULL, SCL_EPARSE,
               "x.csv:2:4: column 'b': quote inside an unquoted field");
  expect_error("a,b\n\"multi\nline\",1\n2,3,4\n", NULL, SCL_EPARSE,
               "x.csv:4:5: expected 2 fields, found 3: an extra field "
               "after column 'b'");
  expect_error("a,b\r\n1,2\r\n3\r\n", NULL, SCL_EPARSE,
               "x.csv:3:2: expected 2 fields, found 1: no value for "
               "column 'b'");
  scl_csv_opts o;
  scl_csv_opts_init(&o);
  o.max_field = 4;
  expect_error("a,b\n1,12345\n", &o, SCL_EPARSE,
               "x.csv:2:3: column 'b': field longer than 4 bytes");
  expect_error("a,b\n1,\"1\n345\"\n", &o, SCL_EPARSE,
               "x.csv:2:3: column 'b': field longer than 4 bytes");
  CHECK(rd("a,b\n1,\"1\"\"4\"\n", &o, &t) == SCL_OK &&
            strcmp(str(t, "b", 0), "1\"4") == 0,
        "4 bytes after unquoting fit");
  scl_table_free(t);
  /* The default cap is 1 MiB. */
  size_t big = (1u << 20) + 10;
  char *s = malloc(big + 16);
  memcpy(s, "a\n", 2);
  memset(s + 2, 'x', big);
  strcpy(s + 2 + big, "\n");
  CHECK(rd(s, NULL, &t) == SCL_EPARSE &&
            strcmp(scl_ctx_errmsg(ctx),
                   "x.csv:2:1: column 'a': field longer than 1048576 "
                   "bytes") == 0,
        "1 MiB cap: %s", scl_ctx_errmsg(ctx));
  s[2] = '"';
  strcpy(s + 2 + big, "\"\n");
  CHECK(rd(s, NULL, &t) == SCL_EPARSE &&
            strcmp(scl_ctx_errmsg(ctx),
                   "x.csv:2:1: column 'a': field longer than 1048576 "
                   "bytes") == 0,
        "1 MiB cap, quoted: %s", scl_ctx_errmsg(ctx));
  free(s);
  /* Ragged row from a file: the line number is the file's. */
  CHECK(scl_table_read_csv(ctx, D "ragged.csv", NULL, &t) == SCL_EPARSE &&
            strcmp(scl_ctx_errmsg(ctx),
                   D "ragged.csv:17:28: expected 8 fields, found 7: no "
                     "value for column 'grad_norm'") == 0,
        "ragged: %s", scl_ctx_errmsg(ctx));
}

static void test_files(void) {
  scl_table *t;
  /* Empty file, header only. */
  CHECK(scl_table_read_csv(ctx, D "empty.csv", NULL, &t) == SCL_OK &&
            scl_table_ncols(t) == 0 && scl_table_nrows(t) == 0,
        "empty file");
  scl_table_free(t);
  CHECK(scl_table_read_csv(ctx, D "header_only.csv", NULL, &t) == SCL_OK &&
            scl_table_ncols(t) == 3 && scl_table_nrows(t) == 0 &&
            type(t, "c") == SCL_NUMBER,
        "header only");
  scl_table_free(t);
  CHECK(rd("", NULL, &t) == SCL_OK && scl_table_ncols(t) == 0, "empty buf");
  scl_table_free(t);
  CHECK(rd("\n\r\n\n", NULL, &t) == SCL_OK && scl_table_ncols(t) == 0,
        "blank lines only");
  scl_table_free(t);

  /* Errors naming the path and strerror's text. */
  CHECK(scl_table_read_csv(ctx, D "missing.csv", NULL, &t) == SCL_EIO &&
            strcmp(scl_ctx_errmsg(ctx),
                   D "missing.csv: No such file or directory") == 0,
        "missing: %s", scl_ctx_errmsg(ctx));
  CHECK(scl_table_read_csv(ctx, "tests/data/csv", NULL, &t) == SCL_EIO &&
            strcmp(scl_ctx_errmsg(ctx), "tests/data/csv: Is a directory") ==
                0,
        "directory: %s", scl_ctx_errmsg(ctx));
  char dir[] = "/tmp/scl_csv_XXXXXX";
  CHECK(mkdtemp(dir) != NULL, "mkdtemp");
  char path[256];
  snprintf(path, sizeof path, "%s/locked.csv", dir);
  FILE *f = fopen(path, "w");
  fputs("a\n1\n", f);
  fclose(f);
  chmod(path, 0);
  if (geteuid() != 0) { /* root reads anything */
    char want[300];
    snprintf(want, sizeof want, "%s: Permission denied", path);
    CHECK(scl_table_read_csv(ctx, path, NULL, &t) == SCL_EIO &&
              strcmp(scl_ctx_errmsg(ctx), want) == 0,
          "unreadable: %s", scl_ctx_errmsg(ctx));
  }
  unlink(path);

  /* A glob: sorted, a file column, types agreed over all files. */
  int rc = scl_table_read_csv(ctx, D "parts/part-*.csv", NULL, &t);
  CHECK(rc == SCL_OK, "glob: %s", scl_ctx_errmsg(ctx));
  if (!rc) {
    CHECK(scl_table_nrows(t) == 4 && scl_table_ncols(t) == 4 &&
              col(t, "file") == 3,
          "4 rows, file column last");
    CHECK(strcmp(str(t, "file", 0), D "parts/part-1.csv") == 0 &&
              strcmp(str(t, "file", 2), D "parts/part-2.csv") == 0 &&
              strcmp(str(t, "file", 3), D "parts/part-3.csv") == 0,
          "file column values");
    /* part-3 has text in loss: earlier files are tokenized again. */
    CHECK(type(t, "loss") == SCL_STRING &&
              strcmp(str(t, "loss", 0), "3.0") == 0 &&
              strcmp(str(t, "loss", 2), "3.2") == 0 &&
              strcmp(str(t, "loss", 3), "oops") == 0,
          "loss over three files");
    CHECK(num(t, "step", 1) == 2, "step");
    scl_table_free(t);
  }
  scl_csv_opts o;
  scl_csv_opts_init(&o);
  const char *proj[] = {"file", "loss"};
  o.columns = proj;
  o.ncolumns = 2;
  o.file_column = "source";
  CHECK(scl_table_read_csv(ctx, D "parts/part-[12].csv", &o, &t) ==
            SCL_EINVAL &&
            strstr(scl_ctx_errmsg(ctx), "no column 'file'"),
        "renamed file column");
  proj[0] = "source";
  rc = scl_table_read_csv(ctx, D "parts/part-[12].csv", &o, &t);
  CHECK(rc == SCL_OK && col(t, "source") == 0 && scl_table_ncols(t) == 2 &&
            num(t, "loss", 2) == 3.2 &&
            scl_table_nlevels(t, 0) == 2,
        "projected file column: %s", scl_ctx_errmsg(ctx));
  scl_table_free(t);
  o.file_column = "run";
  o.columns = NULL;
  o.ncolumns = 0;
  CHECK(scl_table_read_csv(ctx, D "parts/part-*.csv", &o, &t) == SCL_EINVAL &&
            strstr(scl_ctx_errmsg(ctx), "has a column named 'run'"),
        "file column clash: %s", scl_ctx_errmsg(ctx));
  CHECK(scl_table_read_csv(ctx, D "nothing-*.csv", NULL, &t) == SCL_EIO &&
            strcmp(scl_ctx_errmsg(ctx),
                   D "nothing-*.csv: no files match the pattern") == 0,
        "no match: %s", scl_ctx_errmsg(ctx));
  CHECK(scl_table_read_csv(ctx, D "mismatch/*.csv", NULL, &t) == SCL_EPARSE &&
            strcmp(scl_ctx_errmsg(ctx),
                   D "mismatch/b.csv: header differs from " D
                     "mismatch/a.csv: column 3 is 'lr' here and 'loss' "
                     "there") == 0,
        "header mismatch: %s", scl_ctx_errmsg(ctx));

  /* An explicit list, with an empty file among them. */
  const char *list[] = {D "parts/part-2.csv", D "empty.csv",
                        D "parts/part-1.csv"};
  rc = scl_table_read_csv_files(ctx, list, 3, NULL, &t);
  CHECK(rc == SCL_OK && scl_table_nrows(t) == 3 &&
            strcmp(str(t, "run", 0), "r2") == 0 &&
            strcmp(str(t, "file", 1), D "parts/part-1.csv") == 0 &&
            num(t, "loss", 2) == 2.5,
        "file list: %s", scl_ctx_errmsg(ctx));
  scl_table_free(t);
  const char *list2[] = {D "parts/part-1.csv", D "header_only.csv"};
  CHECK(scl_table_read_csv_files(ctx, list2, 2, NULL, &t) == SCL_EPARSE &&
            strcmp(scl_ctx_errmsg(ctx),
                   D "header_only.csv: header has 3 columns, " D
                     "parts/part-1.csv has 3") != 0 &&
            strstr(scl_ctx_errmsg(ctx), "column 1 is 'a' here and 'run'"),
        "list header mismatch: %s", scl_ctx_errmsg(ctx));
  const char *list3[] = {D "parts/part-1.csv", D "missing.csv"};
  CHECK(scl_table_read_csv_files(ctx, list3, 2, NULL, &t) == SCL_EIO &&
            strstr(scl_ctx_errmsg(ctx), "missing.csv: No such file"),
        "missing in a list");
  CHECK(scl_table_read_csv_files(ctx, list3, 0, NULL, &t) == SCL_EINVAL,
        "empty list");

  /* Standard input: a pipe. */
  int fds[2];
  CHECK(pipe(fds) == 0, "pipe");
  const char *in = "a,b\n1,x\n2,y\n";
  CHECK(write(fds[1], in, strlen(in)) == (ssize_t)strlen(in), "write");
  close(fds[1]);
  int saved = dup(0);
  dup2(fds[0], 0);
  close(fds[0]);
  rc = scl_table_read_csv(ctx, "-", NULL, &t);
  dup2(saved, 0);
  close(saved);
  CHECK(rc == SCL_OK && scl_table_nrows(t) == 2 && num(t, "a", 1) == 2 &&
            strcmp(str(t, "b", 1), "y") == 0,
        "stdin: %s", scl_ctx_errmsg(ctx));
  scl_table_free(t);
  /* A character device is read, not mapped. */
  CHECK(scl_table_read_csv(ctx, "/dev/null", NULL, &t) == SCL_OK &&
            scl_table_ncols(t) == 0,
        "/dev/null");
  scl_table_free(t);

  /* A bigger mapped file (pages released on the way), no final newline. */
  snprintf(path, sizeof path, "%s/big.csv", dir);
  f = fopen(path, "w");
  fputs("run,step,loss\n", f);
  double sum = 0;
  for (int i = 0; i < 200000; i++) {
    fprintf(f, "r%d,%d,%.5f%s", i % 7, i, 1.0 + i * 1e-5,
            i < 199999 ? "\n" : "");
    sum += i;
  }
  fclose(f);
  rc = scl_table_read_csv(ctx, path, NULL, &t);
  CHECK(rc == SCL_OK && scl_table_nrows(t) == 200000 &&
            scl_table_nlevels(t, 0) == 7,
        "big file: %s", scl_ctx_errmsg(ctx));
  if (!rc) {
    CHECK(scl_vec_sum(scl_table_numbers(t, 1), 200000) == sum, "step sum");
    CHECK(num(t, "loss", 123456) == 2.23456, "loss value");
    CHECK(strcmp(str(t, "run", 199999), "r2") == 0, "last row");
  }
  scl_table_free(t);
  unlink(path);
  rmdir(dir);
}

static double last_fraction;
static int reports, backwards;

static void on_progress(void *ud, double f) {
  (void)ud;
  if (f < last_fraction) backwards++;
  last_fraction = f;
  reports++;
}

static void test_progress(void) {
  size_t n = 300000, at = 0;
  char *buf = malloc(n * 16 + 16);
  at += (size_t)sprintf(buf, "x,y\n");
  for (size_t i = 0; i < n; i++)
    at += (size_t)sprintf(buf + at, "%zu,%zu\n", i, i % 10);
  scl_csv_opts o;
  scl_csv_opts_init(&o);
  o.progress = 1;
  o.progress_fn = on_progress;
  o.threads = 1;
  scl_table *t;
  CHECK(scl_table_read_csv_buffer(ctx, "p.csv", buf, at, &o, &t) == SCL_OK,
        "read");
  CHECK(reports == 5 && backwards == 0 && last_fraction == 1.0,
        "progress: %d reports, %d backwards, last %g", reports, backwards,
        last_fraction);
  CHECK(scl_table_nrows(t) == n && num(t, "x", n - 1) == (double)(n - 1),
        "rows");
  scl_table_free(t);
  /* With threads, reports come from the calling thread, in order. */
  o.threads = 3;
  reports = backwards = 0;
  last_fraction = 0;
  CHECK(scl_table_read_csv_buffer(ctx, "p.csv", buf, at, &o, &t) == SCL_OK &&
            reports >= 2 && backwards == 0 && last_fraction == 1.0 &&
            scl_table_nrows(t) == n,
        "threaded progress: %d reports", reports);
  scl_table_free(t);
  free(buf);
}

static void test_iterator(void) {
  scl_csv_reader *r;
  const char *const *f;
  const size_t *len;
  size_t nf;
  int rc = scl_csv_open(ctx, D "quoted.csv", NULL, &r);
  CHECK(rc == SCL_OK, "open: %s", scl_ctx_errmsg(ctx));
  if (rc) return;
  size_t lines[] = {1, 2, 3, 4, 5, 7, 8}, k = 0;
  int ok = 1;
  while ((rc = scl_csv_next(r, &f, &len, &nf)) == SCL_OK && nf) {
    ok &= nf == 3 && k < 7 && scl_csv_line(r) == lines[k];
    for (size_t i = 0; i < nf; i++) ok &= f[i][len[i]] == '\0';
    if (k == 0) ok &= strcmp(f[0], "id") == 0 && strcmp(f[2], "value") == 0;
    if (k == 4) ok &= strcmp(f[1], "two\nlines") == 0 && len[1] == 9;
    k++;
  }
  CHECK(rc == SCL_OK && k == 7 && ok, "7 records with lines (k=%zu)", k);
  CHECK(scl_csv_next(r, &f, &len, &nf) == SCL_OK && nf == 0, "stays at end");
  scl_csv_close(r);
  scl_csv_close(NULL);

  /* Ragged records are fine here; errors come with positions. */
  CHECK(scli_csv_open_buffer(ctx, "i.csv", "a\nb,c\n\"d\"e\n", 11, NULL,
                             SCLI_TOK_AUTO, &r) == SCL_OK,
        "open buffer");
  CHECK(scl_csv_next(r, &f, &len, &nf) == SCL_OK && nf == 1, "1 field");
  CHECK(scl_csv_next(r, &f, &len, &nf) == SCL_OK && nf == 2 &&
            strcmp(f[1], "c") == 0 && scl_csv_line(r) == 2,
        "2 fields");
  CHECK(scl_csv_next(r, &f, &len, &nf) == SCL_EPARSE && nf == 0 &&
            strcmp(scl_ctx_errmsg(ctx),
                   "i.csv:3:4: unexpected 'e' after a closing quote") == 0,
        "error: %s", scl_ctx_errmsg(ctx));
  CHECK(scl_csv_next(r, &f, &len, &nf) == SCL_EPARSE, "error is sticky");
  scl_csv_close(r);
  /* Scanner, libcsv for the quoted record, scanner again. */
  const char *mix = "a,b\r\n1,x\r\n2,\"y\r\nz\"\r\n3,w\r\n\"4\",v";
  CHECK(scli_csv_open_buffer(ctx, "m.csv", mix, strlen(mix), NULL,
                             SCLI_TOK_AUTO, &r) == SCL_OK,
        "open mixed");
  size_t mlines[] = {1, 2, 3, 5, 6}, mk = 0;
  const char *second[] = {"b", "x", "y\r\nz", "w", "v"};
  const char *first[] = {"a", "1", "2", "3", "4"};
  ok = 1;
  while ((rc = scl_csv_next(r, &f, &len, &nf)) == SCL_OK && nf) {
    ok &= mk < 5 && nf == 2 && scl_csv_line(r) == mlines[mk] &&
          strcmp(f[0], first[mk]) == 0 && strcmp(f[1], second[mk]) == 0;
    mk++;
  }
  CHECK(rc == SCL_OK && mk == 5 && ok, "mixed records (k=%zu)", mk);
  scl_csv_close(r);
  CHECK(scl_csv_open(ctx, D "missing.csv", NULL, &r) == SCL_EIO && r == NULL,
        "open missing");
  CHECK(scli_csv_open_buffer(ctx, "q.csv", "\"a\"\n", 4, NULL, SCLI_TOK_FAST,
                             &r) == SCL_EINVAL &&
            strstr(scl_ctx_errmsg(ctx), "cannot read quoted input"),
        "the scanner refuses quotes");
}

/* ------------------------------------------------ differential tests */

static uint64_t rs = 0x9e3779b97f4a7c15ULL;
static unsigned rnd(unsigned n) {
  rs ^= rs << 13;
  rs ^= rs >> 7;
  rs ^= rs << 17;
  return (unsigned)(rs % n);
}

/*
 * Compare libcsv with the scanner (mode SCLI_TOK_FAST) or with the
 * automatic choice (SCLI_TOK_AUTO: scanner, then libcsv from the first
 * record with a quote) record by record; 1 when they agree.
 */
static int same_records(const char *buf, size_t len, const scl_csv_opts *o,
                        scl_ctx *c1, scl_ctx *c2, long *records, int mode) {
  scl_csv_reader *a, *b;
  int ra = scli_csv_open_buffer(c1, "d.csv", buf, len, o, SCLI_TOK_LIBCSV, &a);
  int rb = scli_csv_open_buffer(c2, "d.csv", buf, len, o, mode, &b);
  if (ra || rb) {
    scl_csv_close(a);
    scl_csv_close(b);
    return 0;
  }
  int same = 1;
  for (;;) {
    const char *const *fa, *const *fb;
    const size_t *la, *lb;
    size_t na, nb;
    ra = scl_csv_next(a, &fa, &la, &na);
    rb = scl_csv_next(b, &fb, &lb, &nb);
    if (ra != rb || na != nb) {
      same = 0;
      break;
    }
    if (ra) {
      same = strcmp(scl_ctx_errmsg(c1), scl_ctx_errmsg(c2)) == 0;
      break;
    }
    if (na == 0) break;
    (*records)++;
    if (scl_csv_line(a) != scl_csv_line(b)) same = 0;
    for (size_t i = 0; i < na && same; i++)
      same = la[i] == lb[i] && memcmp(fa[i], fb[i], la[i]) == 0;
    if (!same) break;
  }
  scl_csv_close(a);
  scl_csv_close(b);
  return same;
}

/* Compare the tables (or errors) the two tokenizers lead to. */
static int same_tables(const char *buf, size_t len, const scl_csv_opts *o,
                       scl_ctx *c1, scl_ctx *c2, int *errors, int mode) {
  scl_table *a, *b;
  int ra = scli_table_read_csv_buffer_tok(c1, "d.csv", buf, len, o,
                                          SCLI_TOK_LIBCSV, &a);
  int rb = scli_table_read_csv_buffer_tok(c2, "d.csv", buf, len, o, mode, &b);
  int same = ra == rb;
  if (same && ra) {
    (*errors)++;
    same = strcmp(scl_ctx_errmsg(c1), scl_ctx_errmsg(c2)) == 0;
  } else if (same) {
    same = scl_table_nrows(a) == scl_table_nrows(b) &&
           scl_table_ncols(a) == scl_table_ncols(b);
    for (size_t j = 0; same && j < scl_table_ncols(a); j++) {
      same = strcmp(scl_table_colname(a, j), scl_table_colname(b, j)) == 0 &&
             scl_table_coltype(a, j) == scl_table_coltype(b, j);
      for (size_t i = 0; same && i < scl_table_nrows(a); i++) {
        if (scl_table_coltype(a, j) == SCL_NUMBER) {
          double x = scl_table_numbers(a, j)[i], y = scl_table_numbers(b, j)[i];
          same = memcmp(&x, &y, sizeof x) == 0;
        } else {
          same = strcmp(scl_table_string(a, j, i),
                        scl_table_string(b, j, i)) == 0;
        }
      }
    }
  }
  if (!ra) scl_table_free(a);
  if (!rb) scl_table_free(b);
  return same;
}

static void test_differential(void) {
  scl_ctx *c1 = scl_ctx_new(NULL, NULL), *c2 = scl_ctx_new(NULL, NULL);
  static char buf[4096];
  scl_csv_opts o;
  long records = 0;
  int diff = 0, n = 0, errors = 0;
  /* Random bytes from a small alphabet rich in separators. */
  static const char alpha[] = "ab1.,,,\n\n\r \t;e-9";
  int iters = (int)(40000 * scale);
  for (int it = 0; it < iters; it++) {
    size_t len = rnd(120);
    for (size_t i = 0; i < len; i++)
      buf[i] = rnd(50) == 0 ? '\0' : alpha[rnd(sizeof alpha - 1)];
    scl_csv_opts_init(&o);
    if (rnd(4) == 0) o.delimiter = ';';
    if (rnd(3) == 0) o.max_field = 1 + rnd(6);
    if (!same_records(buf, len, &o, c1, c2, &records, SCLI_TOK_FAST)) {
      if (diff++ < 5) printf("records differ on input %d\n", it);
    }
    n++;
  }
  CHECK(diff == 0, "%d of %d random inputs tokenized differently", diff, n);
  CHECK(records > 100000 * scale, "only %ld records compared", records);

  /* With quotes: the automatic choice against libcsv alone. */
  static const char qalpha[] = "ab1.,,,\n\n\r \"\"\"e-9";
  diff = 0;
  records = 0;
  for (int it = 0; it < iters; it++) {
    size_t len = rnd(120);
    for (size_t i = 0; i < len; i++) {
      /* mostly quote-free prefixes, so the hand-over happens late */
      unsigned r = rnd(100);
      buf[i] = r == 0               ? '\0'
               : (r < 97 || i > 60) ? qalpha[rnd(sizeof qalpha - 5)]
                                    : '"';
      if (i > 40 && rnd(10) == 0) buf[i] = qalpha[rnd(sizeof qalpha - 1)];
    }
    scl_csv_opts_init(&o);
    if (rnd(3) == 0) o.max_field = 1 + rnd(6);
    if (!same_records(buf, len, &o, c1, c2, &records, SCLI_TOK_AUTO)) {
      if (diff++ < 5) printf("auto records differ on input %d\n", it);
    }
    int dummy = 0;
    if (!same_tables(buf, len, &o, c1, c2, &dummy, SCLI_TOK_AUTO)) {
      if (diff++ < 5) printf("auto tables differ on input %d\n", it);
    }
  }
  CHECK(diff == 0, "%d quoted random inputs read differently", diff);
  CHECK(records > 30000 * scale, "only %ld quoted records compared",
        records);

  /* Generated logs, with blanks, CRLF, NA, ragged rows and text. */
  int tdiff = 0;
  for (int it = 0; it < (int)(3000 * scale); it++) {
    size_t at = 0;
    int crlf = (int)rnd(2), rows = (int)rnd(30);
    const char *nl = crlf ? "\r\n" : "\n";
    scl_csv_opts_init(&o);
    at += (size_t)sprintf(buf + at, "run,step,loss,lr%s", nl);
    for (int r = 0; r < rows; r++) {
      unsigned kind = rnd(40);
      if (kind == 0) at += (size_t)sprintf(buf + at, "%s", nl);
      else if (kind == 1)
        at += (size_t)sprintf(buf + at, "r%d,%d,3.5%s", r, r, nl);
      else if (kind == 2)
        at += (size_t)sprintf(buf + at, "r%d,%d,oops,1e-3%s", r, r, nl);
      else if (kind == 3)
        at += (size_t)sprintf(buf + at, "r%d,%d,NA,%s", r, r, nl);
      else if (kind == 4)
        at += (size_t)sprintf(buf + at, "r%d,%d, 2.5 ,x%s", r, r, nl);
      else
        at += (size_t)sprintf(buf + at, "r%u,%d,%u.%04u,%u.%ue-0%u%s", rnd(3),
                              r * 100, 2 + rnd(3), rnd(10000), 1 + rnd(9),
                              rnd(10), 3 + rnd(4), nl);
    }
    if (rnd(3) == 0 && at >= 2) at -= crlf ? 2 : 1; /* no final newline */
    if (rnd(5) == 0) o.max_field = 3 + rnd(5);
    if (rnd(5) == 0) o.header = 0;
    if (rnd(5) == 0) {
      static const char *tn[] = {"loss"};
      static const scl_type ty[] = {SCL_NUMBER};
      o.type_names = tn;
      o.types = ty;
      o.ntypes = 1;
    }
    if (!same_tables(buf, at, &o, c1, c2, &errors, SCLI_TOK_FAST)) {
      if (tdiff++ < 5) printf("tables differ on:\n%.*s\n", (int)at, buf);
    }
    if (!same_records(buf, at, &o, c1, c2, &records, SCLI_TOK_FAST)) tdiff++;
    /* The same log with a quoted field somewhere: AUTO switches there. */
    if (at > 20 && rnd(2)) {
      size_t q = 20 + rnd((unsigned)(at - 20));
      while (q < at && buf[q] != ',' && buf[q] != '\n') q++;
      if (q + 1 < at && buf[q] == ',') {
        memmove(buf + q + 4, buf + q + 1, at - q - 1);
        memcpy(buf + q + 1, "\"x\"", 3);
        at += 3;
        if (!same_tables(buf, at, &o, c1, c2, &errors, SCLI_TOK_AUTO)) {
          if (tdiff++ < 5)
            printf("auto tables differ on:\n%.*s\n", (int)at, buf);
        }
        if (!same_records(buf, at, &o, c1, c2, &records, SCLI_TOK_AUTO))
          tdiff++;
      }
    }
  }
  CHECK(tdiff == 0, "%d generated logs read differently", tdiff);
  CHECK(errors > 100 * scale, "only %d error cases compared", errors);
  scl_ctx_free(c1);
  scl_ctx_free(c2);
}

/* ---------------------------------------------------------- growth */

/*
 * The reader makes room for the rows it expects from the bytes per row so
 * far, at once.  A log whose first rows are much shorter than the rest
 * makes that guess far too big, one whose first rows are longer far too
 * small: both must read right.  When the big guess cannot be had (here an
 * allocator refusing blocks over 256 KiB, as a process short of address
 * space would), the reader grows in steps instead of failing.
 */
typedef struct {
  testalloc ta;
  size_t limit; /* refuse to allocate or grow a block beyond this */
  long refused;
} capped;

static void *capped_fn(void *ud, void *p, size_t osize, size_t nsize) {
  capped *c = ud;
  if (nsize > c->limit && nsize > osize) {
    c->refused++;
    return NULL;
  }
  return testalloc_fn(&c->ta, p, osize, nsize);
}

/* 6000 rows "i,note": half with a 300-byte note, the short half first. */
static char *skewed_log(int short_first, size_t *len) {
  size_t n = 6000, at = 0;
  char *buf = malloc(n * 320 + 64), pad[301];
  memset(pad, 'x', 300);
  pad[300] = '\0';
  at += (size_t)sprintf(buf, "i,note\n");
  for (size_t r = 0; r < n; r++) {
    int long_row = (r >= n / 2) == (short_first != 0);
    at += (size_t)sprintf(buf + at, "%zu,%s\n", r, long_row ? pad : "s");
  }
  *len = at;
  return buf;
}

static int skewed_ok(const scl_table *t, int short_first) {
  if (scl_table_nrows(t) != 6000 || scl_table_ncols(t) != 2 ||
      type(t, "i") != SCL_NUMBER || type(t, "note") != SCL_STRING)
    return 0;
  for (size_t r = 0; r < 6000; r++) {
    int long_row = (r >= 3000) == (short_first != 0);
    if (num(t, "i", r) != (double)r ||
        strlen(str(t, "note", r)) != (long_row ? 300u : 1u))
      return 0;
  }
  return 1;
}

static void test_growth(void) {
  for (int short_first = 0; short_first < 2; short_first++) {
    size_t len;
    char *buf = skewed_log(short_first, &len);
    scl_csv_opts o;
    scl_csv_opts_init(&o);
    o.threads = 1;
    scl_table *t;
    int rc = scl_table_read_csv_buffer(ctx, "g.csv", buf, len, &o, &t);
    CHECK(rc == SCL_OK && skewed_ok(t, short_first),
          "skewed log (short rows first: %d): rc %d", short_first, rc);
    if (!rc) scl_table_free(t);

    capped c;
    memset(&c, 0, sizeof c);
    c.limit = 256 * 1024;
    scl_ctx *x = scl_ctx_new(capped_fn, &c);
    long base = c.ta.bytes;
    rc = scl_table_read_csv_buffer(x, "g.csv", buf, len, &o, &t);
    CHECK(rc == SCL_OK && skewed_ok(t, short_first),
          "skewed log, blocks capped (short rows first: %d): rc %d '%s'",
          short_first, rc, rc ? scl_ctx_errmsg(x) : "");
    if (!rc) scl_table_free(t);
    CHECK(c.ta.bytes == base && c.ta.bad_osize == 0,
          "capped: %ld bytes left, %ld bad sizes", c.ta.bytes - base,
          c.ta.bad_osize);
    /* Short rows first: the guess (~145000 rows) was too big and refused. */
    CHECK(short_first ? c.refused > 0 : c.refused == 0,
          "short rows first %d: %ld refusals", short_first, c.refused);
    scl_ctx_free(x);
    free(buf);
  }
}

/* ---------------------------------------------------------- threads */

/* 1 when a and b hold the same columns, types, values (bits) and levels. */
static int tables_equal(const scl_table *a, const scl_table *b) {
  if (scl_table_nrows(a) != scl_table_nrows(b) ||
      scl_table_ncols(a) != scl_table_ncols(b))
    return 0;
  for (size_t j = 0; j < scl_table_ncols(a); j++) {
    if (strcmp(scl_table_colname(a, j), scl_table_colname(b, j)) ||
        scl_table_coltype(a, j) != scl_table_coltype(b, j))
      return 0;
    size_t n = scl_table_nrows(a);
    if (scl_table_coltype(a, j) == SCL_NUMBER) {
      if (n && memcmp(scl_table_numbers(a, j), scl_table_numbers(b, j),
                      n * sizeof(double)))
        return 0;
      continue;
    }
    /* Same levels in the same order (first appearance), same codes. */
    if (scl_table_nlevels(a, j) != scl_table_nlevels(b, j) ||
        (n && memcmp(scl_table_codes(a, j), scl_table_codes(b, j),
                     n * sizeof(uint32_t))))
      return 0;
    for (uint32_t c = 0; c < scl_table_nlevels(a, j); c++)
      if (strcmp(scl_table_level(a, j, c), scl_table_level(b, j, c)))
        return 0;
  }
  return 1;
}

/* A log of about `rows` rows; `kind` adds one anomaly at `where` (0..1). */
static char *threaded_log(size_t rows, int kind, double where, size_t *len) {
  size_t cap = rows * 80 + 1024, at = 0;
  char *buf = malloc(cap);
  size_t mark = (size_t)(where * (double)rows);
  at += (size_t)sprintf(buf, "run,method,step,loss,lr,note\n");
  for (size_t r = 0; r < rows; r++) {
    const char *nl = (r % 17 == 3) ? "\r\n" : "\n";
    if (r % 101 == 50) at += (size_t)sprintf(buf + at, "%s", nl); /* blank */
    if (r == mark && kind == 1) /* text in a guessed column */
      at += (size_t)sprintf(buf + at, "r%zu,adamw,%zu,diverged,1e-4,x%s",
                            r % 13, r, nl);
    else if (r == mark && kind == 2) /* a bad number in a declared column */
      at += (size_t)sprintf(buf + at, "r%zu,adamw,%zu,3.5,0.x1,y%s", r % 13,
                            r, nl);
    else if (r == mark && kind == 3) /* a ragged row */
      at += (size_t)sprintf(buf + at, "r%zu,adamw,%zu,3.5%s", r % 13, r, nl);
    else if (r == mark && kind == 4) /* a quote: one thread from there on */
      at += (size_t)sprintf(buf + at, "r%zu,adamw,%zu,3.5,1e-3,\"a,\nb\"%s",
                            r % 13, r, nl);
    else if (r == mark && kind == 5) /* an overlong field */
      at += (size_t)sprintf(buf + at, "r%zu,adamw,%zu,3.5,1e-3,%s%s", r % 13,
                            r, "abcdefghijklmnopqrstuvwxyz0123456789", nl);
    else
      at += (size_t)sprintf(buf + at,
                            "r%zu,%s,%zu,%s%zu.%04zu,%zu.%zue-0%zu,%s%s",
                            (r / 1000) % 13, r % 3 ? "adamw" : "lion", r * 10,
                            r % 211 == 7 ? " " : "", 2 + r % 3,
                            (r * 7919) % 10000, 1 + r % 9, r % 10, 3 + r % 4,
                            r % 29 == 0 ? "NA" : (r % 31 == 0 ? "" : "ok"), nl);
  }
  if (kind == 6) at--; /* no final newline */
  *len = at;
  return buf;
}

static void test_threads(void) {
  scl_ctx *c1 = scl_ctx_new(NULL, NULL), *c2 = scl_ctx_new(NULL, NULL);
  int bad = 0, runs = 0, errors = 0;
  const double wheres[] = {0.1, 0.45, 0.55, 0.93};
  int nw = scale < 1 ? 1 : 4;
  for (int kind = 0; kind <= 6; kind++) {
    for (int wi = 0; wi < nw; wi++) {
      size_t len;
      char *buf = threaded_log(60000 + 7919 * (size_t)wi, kind, wheres[wi],
                               &len);
      for (int th = 2; th <= (scale < 1 ? 2 : 7); th += (th == 2 ? 1 : 4)) {
        scl_csv_opts o1, o2;
        scl_csv_opts_init(&o1);
        o1.threads = 1;
        if (kind == 2) { /* lr declared a number */
          static const char *tn[] = {"lr"};
          static const scl_type ty[] = {SCL_NUMBER};
          o1.type_names = tn;
          o1.types = ty;
          o1.ntypes = 1;
        }
        if (kind == 5) o1.max_field = 30;
        o2 = o1;
        o2.threads = th;
        scl_table *a, *b;
        int ra = scl_table_read_csv_buffer(c1, "t.csv", buf, len, &o1, &a);
        int rb = scl_table_read_csv_buffer(c2, "t.csv", buf, len, &o2, &b);
        runs++;
        if (ra != rb) {
          bad++;
          printf("kind %d where %g threads %d: rc %d vs %d (%s | %s)\n", kind,
                 wheres[wi], th, ra, rb, scl_ctx_errmsg(c1),
                 scl_ctx_errmsg(c2));
        } else if (ra) {
          errors++;
          if (strcmp(scl_ctx_errmsg(c1), scl_ctx_errmsg(c2))) {
            bad++;
            printf("kind %d: '%s' vs '%s'\n", kind, scl_ctx_errmsg(c1),
                   scl_ctx_errmsg(c2));
          }
        } else {
          if (!tables_equal(a, b)) {
            bad++;
            printf("kind %d where %g threads %d: tables differ\n", kind,
                   wheres[wi], th);
          }
          if (kind == 1 && type(a, "loss") != SCL_STRING) bad++;
          scl_table_free(a);
          scl_table_free(b);
        }
      }
      free(buf);
    }
  }
  int per = scale < 1 ? 1 : 4 * 3;
  CHECK(bad == 0 && runs == 7 * per, "%d of %d threaded reads differ", bad,
        runs);
  CHECK(errors == 3 * per, "%d error cases", errors);

  /* Files with a file column, threads on each. */
  char dir[] = "/tmp/scl_thr_XXXXXX", p1[64], p2[64];
  CHECK(mkdtemp(dir) != NULL, "mkdtemp");
  snprintf(p1, sizeof p1, "%s/a.csv", dir);
  snprintf(p2, sizeof p2, "%s/b.csv", dir);
  for (int i = 0; i < 2; i++) {
    size_t len;
    char *buf = threaded_log(40000, i ? 1 : 0, 0.8, &len);
    FILE *f = fopen(i ? p2 : p1, "w");
    fwrite(buf, 1, len, f);
    fclose(f);
    free(buf);
  }
  const char *paths[] = {p1, p2};
  scl_csv_opts o1, o2;
  scl_csv_opts_init(&o1);
  o1.threads = 1;
  o2 = o1;
  o2.threads = 4;
  scl_table *a, *b;
  int ra = scl_table_read_csv_files(c1, paths, 2, &o1, &a);
  int rb = scl_table_read_csv_files(c2, paths, 2, &o2, &b);
  CHECK(ra == SCL_OK && rb == SCL_OK && tables_equal(a, b) &&
            scl_table_nrows(a) == 80000 && type(a, "loss") == SCL_STRING &&
            strcmp(str(a, "file", scl_table_nrows(a) - 1), p2) == 0,
        "two files, threads: %d %d", ra, rb);
  if (!ra) scl_table_free(a);
  if (!rb) scl_table_free(b);
  unlink(p1);
  unlink(p2);
  rmdir(dir);
  scl_ctx_free(c1);
  scl_ctx_free(c2);
}

/*
 * The threads really at work: the progress callback (on the calling
 * thread, while the others parse) notes the most threads the process had,
 * from /proc/self/status.  SCALELUA_THREADS applies when opts.threads is
 * 0; opts.threads wins over it; a bad or empty value means the online CPUs.
 */
static int max_threads_seen;

static int threads_now(void) {
  FILE *st = fopen("/proc/self/status", "r");
  char line[256];
  int n = 0;
  while (st && fgets(line, sizeof line, st))
    if (sscanf(line, "Threads: %d", &n) == 1) break;
  if (st) fclose(st);
  return n;
}

static void on_progress_threads(void *ud, double f) {
  (void)ud, (void)f;
  int n = threads_now();
  if (n > max_threads_seen) max_threads_seen = n;
}

static int threads_used(const char *env, int opt, const char *buf,
                        size_t len) {
  if (env)
    setenv("SCALELUA_THREADS", env, 1);
  else
    unsetenv("SCALELUA_THREADS");
  scl_csv_opts o;
  scl_csv_opts_init(&o);
  o.threads = opt;
  o.progress = 1;
  o.progress_fn = on_progress_threads;
  /* (a sanitizer may run a thread of its own: count those we add) */
  int base = threads_now();
  max_threads_seen = base;
  scl_table *t;
  int rc = scl_table_read_csv_buffer(ctx, "env.csv", buf, len, &o, &t);
  if (rc) return -1;
  int ok = scl_table_nrows(t) == 400000;
  scl_table_free(t);
  return ok ? max_threads_seen - base + 1 : -2;
}

static void test_thread_env(void) {
  FILE *st = fopen("/proc/self/status", "r");
  if (!st) {
    printf("no /proc/self/status: thread count not observable, skipped\n");
    return;
  }
  fclose(st);
  size_t len;
  char *buf = threaded_log(400000, 0, 0, &len);
  const char *saved = getenv("SCALELUA_THREADS");
  char *keep = saved ? strdup(saved) : NULL;
  long cpus = sysconf(_SC_NPROCESSORS_ONLN);
  int want_default = cpus > 64 ? 64 : (int)cpus;
  /* 400000 rows, ~30 MB: enough for 3 ranges with 65536-row reports. */
  int a = threads_used("1", 0, buf, len), b = threads_used("3", 0, buf, len);
  int c = threads_used("3", 2, buf, len), d = threads_used("3", 1, buf, len);
  int e = threads_used(NULL, 0, buf, len), f = threads_used("x", 0, buf, len);
  CHECK(a == 1, "SCALELUA_THREADS=1: %d threads", a);
  CHECK(b == 3, "SCALELUA_THREADS=3: %d threads", b);
  CHECK(c == 2, "threads = 2 over SCALELUA_THREADS=3: %d threads", c);
  CHECK(d == 1, "threads = 1 over SCALELUA_THREADS=3: %d threads", d);
  CHECK(e == want_default && f == want_default,
        "default: %d and %d threads, %d online CPUs", e, f, want_default);
  if (keep) {
    setenv("SCALELUA_THREADS", keep, 1);
    free(keep);
  } else {
    unsetenv("SCALELUA_THREADS");
  }
  free(buf);
}

static void test_threads_oom(void) {
  size_t len;
  char *buf = threaded_log(40000, 1, 0.7, &len);
  int bad = 0, fails = 0;
  long step = scale < 1 ? 7 : 1;
  for (long k = 1; k < 100000; k += step) {
    /* testalloc.h's allocator suffices: the reader serialises its calls */
    testalloc c;
    scl_ctx *x = testalloc_ctx(&c);
    long base = c.bytes;
    c.count = 0;
    c.fail_at = k;
    scl_csv_opts o;
    scl_csv_opts_init(&o);
    o.threads = 3;
    scl_table *t;
    int rc = scl_table_read_csv_buffer(x, "m.csv", buf, len, &o, &t);
    long used = c.count;
    if (rc == SCL_OK) {
      if (scl_table_nrows(t) != 40000 || type(t, "loss") != SCL_STRING) bad++;
      scl_table_free(t);
    } else {
      fails++;
      if (rc != SCL_ENOMEM) bad++;
    }
    if (c.bytes != base) bad++;
    scl_ctx_free(x);
    if (used < k) break;
  }
  CHECK(bad == 0 && fails > 10 / step, "threaded OOM: %d bad, %d failures",
        bad, fails);
  free(buf);
}

int main(int argc, char **argv) {
  if (argc > 1) scale = atof(argv[1]);
  ctx = scl_ctx_new(NULL, NULL);
  test_inference();
  test_options();
  test_syntax();
  test_files();
  test_progress();
  test_iterator();
  test_differential();
  test_growth();
  test_threads();
  test_thread_env();
  test_threads_oom();
  scl_ctx_free(ctx);
  return check_done("test_csv");
}
