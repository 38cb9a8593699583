/*
 * csv_fuzz.c -- libFuzzer target for the CSV reader.
 *
 * The first byte of the input picks the options (delimiter, quote,
 * header, a small field limit, custom NA markers); the rest is the CSV.
 * Every way of reading it must agree:
 *   - the record iterator with the automatic tokenizer, with libcsv
 *     forced and (for quote-free input) with the scanner forced: the same
 *     records, line numbers, status and message;
 *   - the table reader with the same three tokenizers: the same status,
 *     message and table;
 *   - the table against a small reference model built from the records
 *     (header names or V1.., duplicate names, field counts, type inference
 *     and values): same success or failure, same location on failure;
 *   - for one input in 32, the input repeated to over 1 MiB read with
 *     one thread and with four (the parallel reader only starts on large
 *     inputs): the same status, message and table.
 * A disagreement or a sanitizer report is a crash.
 */
#include "internal.h"
#include "scalelua.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NAME "f.csv"

static void die(const char *what, const char *detail) {
  fprintf(stderr, "csv_fuzz: %s%s%s\n", what, detail ? ": " : "",
          detail ? detail : "");
  abort();
}

/* ------------------------------------------------------------ records */

typedef struct {
  size_t nf;
  char **f;
  size_t *len;
  size_t line;
} rec;

typedef struct {
  rec *r;
  size_t n, cap;
  int rc;
  char msg[SCLI_ERRMAX];
} recs;

static void recs_free(recs *rs) {
  for (size_t i = 0; i < rs->n; i++) {
    for (size_t j = 0; j < rs->r[i].nf; j++) free(rs->r[i].f[j]);
    free(rs->r[i].f);
    free(rs->r[i].len);
  }
  free(rs->r);
  memset(rs, 0, sizeof *rs);
}

/* All records of buf through the iterator with tokenizer mode tok. */
static int read_records(const uint8_t *buf, size_t len,
                        const scl_csv_opts *o, int tok, recs *rs) {
  memset(rs, 0, sizeof *rs);
  scl_ctx *ctx = scl_ctx_new(NULL, NULL);
  scl_csv_reader *r;
  rs->rc = scli_csv_open_buffer(ctx, NAME, (const char *)buf, len, o, tok, &r);
  if (rs->rc) {
    snprintf(rs->msg, sizeof rs->msg, "%s", scl_ctx_errmsg(ctx));
    scl_ctx_free(ctx);
    return rs->rc;
  }
  for (;;) {
    const char *const *f;
    const size_t *l;
    size_t nf;
    int rc = scl_csv_next(r, &f, &l, &nf);
    if (rc) {
      rs->rc = rc;
      snprintf(rs->msg, sizeof rs->msg, "%s", scl_ctx_errmsg(ctx));
      /* the error is sticky */
      if (scl_csv_next(r, &f, &l, &nf) != rc) die("iterator", "not sticky");
      break;
    }
    if (nf == 0) break;
    if (rs->n == rs->cap) {
      rs->cap = rs->cap ? rs->cap * 2 : 16;
      rs->r = realloc(rs->r, rs->cap * sizeof *rs->r);
    }
    rec *x = &rs->r[rs->n++];
    x->nf = nf;
    x->f = malloc(nf * sizeof *x->f);
    x->len = malloc(nf * sizeof *x->len);
    x->line = scl_csv_line(r);
    for (size_t j = 0; j < nf; j++) {
      if (f[j][l[j]] != '\0') die("iterator", "field not NUL-terminated");
      x->f[j] = malloc(l[j] + 1);
      memcpy(x->f[j], f[j], l[j] + 1);
      x->len[j] = l[j];
    }
  }
  scl_csv_close(r);
  scl_ctx_free(ctx);
  return rs->rc;
}

static void same_records(const recs *a, const recs *b, const char *what) {
  if (a->rc != b->rc) die(what, "status differs");
  if (strcmp(a->msg, b->msg) != 0) die(what, "message differs");
  if (a->n != b->n) die(what, "record count differs");
  for (size_t i = 0; i < a->n; i++) {
    const rec *x = &a->r[i], *y = &b->r[i];
    if (x->nf != y->nf || x->line != y->line) die(what, "record shape");
    for (size_t j = 0; j < x->nf; j++)
      if (x->len[j] != y->len[j] || memcmp(x->f[j], y->f[j], x->len[j]))
        die(what, "field differs");
  }
}

/* ------------------------------------------------------------- tables */

typedef struct {
  int rc;
  char msg[SCLI_ERRMAX];
  scl_table *t;
  scl_ctx *ctx;
} tab;

static void read_table(const uint8_t *buf, size_t len, const scl_csv_opts *o,
                       int tok, tab *t) {
  t->ctx = scl_ctx_new(NULL, NULL);
  t->rc = scli_table_read_csv_buffer_tok(t->ctx, NAME, (const char *)buf, len,
                                         o, tok, &t->t);
  snprintf(t->msg, sizeof t->msg, "%s", t->rc ? scl_ctx_errmsg(t->ctx) : "");
  if (t->rc && t->t) die("table", "failed read returned a table");
}

static void tab_free(tab *t) {
  scl_table_free(t->t);
  scl_ctx_free(t->ctx);
}

static int same_double(double a, double b) {
  if (isnan(a) || isnan(b)) return isnan(a) && isnan(b);
  return memcmp(&a, &b, sizeof a) == 0;
}

static void same_tables(const tab *a, const tab *b, const char *what) {
  if (a->rc != b->rc) die(what, "table status differs");
  if (strcmp(a->msg, b->msg) != 0) die(what, "table message differs");
  if (a->rc) return;
  const scl_table *x = a->t, *y = b->t;
  size_t nr = scl_table_nrows(x), nc = scl_table_ncols(x);
  if (nr != scl_table_nrows(y) || nc != scl_table_ncols(y))
    die(what, "table shape differs");
  for (size_t c = 0; c < nc; c++) {
    if (strcmp(scl_table_colname(x, c), scl_table_colname(y, c)) != 0 ||
        scl_table_coltype(x, c) != scl_table_coltype(y, c))
      die(what, "column differs");
    for (size_t r = 0; r < nr; r++) {
      if (scl_table_coltype(x, c) == SCL_NUMBER) {
        if (!same_double(scl_table_numbers(x, c)[r],
                         scl_table_numbers(y, c)[r]))
          die(what, "number differs");
      } else if (strcmp(scl_table_string(x, c, r),
                        scl_table_string(y, c, r)) != 0) {
        die(what, "string differs");
      }
    }
  }
}

/* "name:line:col:" or "name:line:" of a message: its length. */
static size_t location_len(const char *m) {
  size_t n = strlen(NAME);
  if (strncmp(m, NAME ":", n + 1) != 0) return 0;
  const char *p = m + n + 1;
  for (int part = 0; part < 2; part++) {
    const char *d = p;
    while (*p >= '0' && *p <= '9') p++;
    if (p == d || *p != ':') return part ? (size_t)(d - m) : 0;
    p++;
  }
  return (size_t)(p - m);
}

/* ------------------------------------------------ the reference model */

static const char *const default_na[] = {"", "NA", "NaN", "nan", "null"};

typedef struct {
  const char *const *na;
  size_t nna;
} namodel;

static int model_is_na(const namodel *m, const char *f, size_t n) {
  while (n && (*f == ' ' || *f == '\t')) f++, n--;
  while (n && (f[n - 1] == ' ' || f[n - 1] == '\t')) n--;
  for (size_t i = 0; i < m->nna; i++)
    if (strlen(m->na[i]) == n && memcmp(m->na[i], f, n) == 0) return 1;
  return 0;
}

/* The column name of field j of the header record h (malloc'd). */
static char *model_name(const rec *h, size_t j, int header) {
  char *out = malloc(h->len[j] + 32);
  if (header && h->len[j] > 0 && !memchr(h->f[j], 0, h->len[j]))
    memcpy(out, h->f[j], h->len[j] + 1);
  else
    snprintf(out, 32, "V%zu", j + 1);
  return out;
}

static void free_names(char **names, size_t n) {
  for (size_t j = 0; j < n; j++) free(names[j]);
  free(names);
}

/*
 * Check the table t (read with AUTO) against what the records say it must
 * be.  rs holds the records up to the first tokenizer error (if any).
 */
static void check_model(const recs *rs, const tab *t, int header,
                        const namodel *m) {
  if (rs->n == 0) {
    /* No record: an empty table, or the tokenizer's error. */
    if (rs->rc) {
      if (t->rc != rs->rc || strcmp(t->msg, rs->msg) != 0)
        die("model", "error before the first record");
      return;
    }
    if (t->rc || scl_table_ncols(t->t) || scl_table_nrows(t->t))
      die("model", "no records but not an empty table");
    return;
  }
  const rec *h = &rs->r[0];
  size_t nf = h->nf;
  /* Duplicate names fail at the header. */
  char **names = calloc(nf, sizeof *names);
  for (size_t j = 0; j < nf; j++) {
    names[j] = model_name(h, j, header);
    for (size_t q = 0; q < j; q++)
      if (strcmp(names[q], names[j]) == 0) {
        free_names(names, nf);
        if (t->rc != SCL_EPARSE || !strstr(t->msg, "duplicate column name"))
          die("model", "duplicate name not reported");
        return;
      }
  }
  /* The first record with another field count fails, at a line of it
   * (where it ends when it is short: quoted fields may span lines). */
  size_t first = header ? 1 : 0;
  for (size_t i = first; i < rs->n; i++)
    if (rs->r[i].nf != nf) {
      free_names(names, nf);
      const rec *r = &rs->r[i];
      size_t last = r->line;
      for (size_t j = 0; j < r->nf; j++)
        for (size_t q = 0; q < r->len[j]; q++)
          last += r->f[j][q] == '\n' ||
                  (r->f[j][q] == '\r' &&
                   (q + 1 == r->len[j] || r->f[j][q + 1] != '\n'));
      size_t n = strlen(NAME ":");
      unsigned long line = strtoul(t->msg + n, NULL, 10);
      if (t->rc != SCL_EPARSE || strncmp(t->msg, NAME ":", n) != 0 ||
          line < r->line || line > last || !strstr(t->msg, "fields"))
        die("model", "ragged record not reported at its line");
      return;
    }
  if (rs->rc) {
    /* A tokenizer error after good records: the table fails there too. */
    free_names(names, nf);
    size_t ll = location_len(rs->msg);
    if (t->rc != rs->rc || ll == 0 || strncmp(t->msg, rs->msg, ll) != 0)
      die("model", "tokenizer error not reported at the same place");
    return;
  }
  if (t->rc) die("model", "table failed on good records");
  const scl_table *x = t->t;
  size_t nr = rs->n - first;
  if (scl_table_ncols(x) != nf || scl_table_nrows(x) != nr)
    die("model", "table shape");
  for (size_t j = 0; j < nf; j++) {
    if (strcmp(scl_table_colname(x, j), names[j]) != 0)
      die("model", "column name");
    int numeric = 1;
    for (size_t i = first; i < rs->n && numeric; i++) {
      double v;
      const rec *r = &rs->r[i];
      numeric = scl_parse_double(r->f[j], r->len[j], &v) ||
                model_is_na(m, r->f[j], r->len[j]);
    }
    if (scl_table_coltype(x, j) != (numeric ? SCL_NUMBER : SCL_STRING))
      die("model", "column type");
    for (size_t i = first; i < rs->n; i++) {
      const rec *r = &rs->r[i];
      if (numeric) {
        double v, got = scl_table_numbers(x, j)[i - first];
        if (model_is_na(m, r->f[j], r->len[j]))
          v = NAN;
        else
          scl_parse_double(r->f[j], r->len[j], &v);
        if (!same_double(v, got)) die("model", "number value");
      } else {
        const char *s = scl_table_string(x, j, i - first);
        if (!s || memcmp(s, r->f[j], r->len[j]) != 0 || s[r->len[j]] != '\0')
          die("model", "string value");
      }
    }
  }
  free_names(names, nf);
}

/* ------------------------------------------------------------- driver */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static const char delims[] = {',', ';', '\t', '|', ' ', ',', ',', ','};
  static const char quotes[] = {'"', '"', '\'', 0};
  static const char *const custom_na[] = {"-", "n/a", ""};
  static const size_t limits[] = {0, 3, 16, 64};
  if (size < 1) return 0;
  uint8_t sel = data[0];
  const uint8_t *buf = data + 1;
  size_t len = size - 1;
  scl_csv_opts o;
  scl_csv_opts_init(&o);
  o.delimiter = delims[sel & 7];
  o.quote = quotes[(sel >> 3) & 3];
  o.header = !((sel >> 5) & 1);
  o.max_field = limits[(sel >> 6) & 3];
  o.threads = 1;
  namodel m = {default_na, sizeof default_na / sizeof *default_na};
  if (o.delimiter == '|' && o.quote == '\'') { /* some custom NA markers */
    o.na = custom_na;
    o.nna = 3;
    m.na = custom_na;
    m.nna = 3;
  }
  int quoted = o.quote && memchr(buf, o.quote, len) != NULL;

  recs ra, rl, rf;
  read_records(buf, len, &o, SCLI_TOK_AUTO, &ra);
  read_records(buf, len, &o, SCLI_TOK_LIBCSV, &rl);
  same_records(&ra, &rl, "records auto/libcsv");
  if (!quoted) {
    read_records(buf, len, &o, SCLI_TOK_FAST, &rf);
    same_records(&ra, &rf, "records auto/fast");
    recs_free(&rf);
  }

  tab ta, tl, tf;
  read_table(buf, len, &o, SCLI_TOK_AUTO, &ta);
  read_table(buf, len, &o, SCLI_TOK_LIBCSV, &tl);
  same_tables(&ta, &tl, "table auto/libcsv");
  if (!quoted) {
    read_table(buf, len, &o, SCLI_TOK_FAST, &tf);
    same_tables(&ta, &tf, "table auto/fast");
    tab_free(&tf);
  }
  /* The public entry point is the automatic one. */
  tab tp;
  tp.ctx = scl_ctx_new(NULL, NULL);
  tp.rc = scl_table_read_csv_buffer(tp.ctx, NAME, (const char *)buf, len, &o,
                                    &tp.t);
  snprintf(tp.msg, sizeof tp.msg, "%s", tp.rc ? scl_ctx_errmsg(tp.ctx) : "");
  same_tables(&ta, &tp, "table public/auto");
  tab_free(&tp);

  check_model(&ra, &ta, o.header, &m);

  /* (Few fields per line: a megabyte record of many thousand fields is
   * slow to read for reasons of its own, see fuzz/README.md.) */
  size_t ndelim = 0;
  for (size_t i = 0; i < len; i++) ndelim += buf[i] == (uint8_t)o.delimiter;
  if (len > 0 && size % 32 == 0 && memchr(buf, '\n', len) && ndelim <= 64) {
    size_t reps = ((size_t)1200 << 10) / len + 1, blen = reps * len;
    char *big = malloc(blen);
    for (size_t i = 0; i < reps; i++) memcpy(big + i * len, buf, len);
    tab t1, t4;
    o.threads = 1;
    read_table((const uint8_t *)big, blen, &o, SCLI_TOK_AUTO, &t1);
    o.threads = 4;
    read_table((const uint8_t *)big, blen, &o, SCLI_TOK_AUTO, &t4);
    same_tables(&t1, &t4, "table 1 thread/4 threads");
    tab_free(&t1);
    tab_free(&t4);
    free(big);
  }

  tab_free(&ta);
  tab_free(&tl);
  recs_free(&ra);
  recs_free(&rl);
  return 0;
}
