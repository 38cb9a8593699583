/*
 * csv.c -- reading CSV into typed tables, and the record iterator.
 *
 * Layers, bottom up:
 *   sources     a file (mmap), standard input or a buffer, as one byte
 *               range with a UTF-8 byte order mark removed;
 *   tokenizers  turn a source into records of unquoted fields.  Records
 *               without a quote character go through a memchr-style
 *               scanner (SSE2); a record whose first line holds a quote
 *               goes through libcsv (strict mode), from its first byte.
 *               Both give the same records and the same errors where
 *               both apply (tests/c/test_csv.c checks this on random
 *               input);
 *   ingestion   turns records into columns: numbers while every field
 *               parses (or is an NA marker), interned strings otherwise.
 *               Quote-free records take a fused loop that parses fields
 *               where they lie; big quote-free stretches may be cut into
 *               ranges read by threads (read_parallel).
 *
 * Positions: libcsv reports none, so the tokenizers remember the byte
 * offset where each field starts; line and column are computed from the
 * offset only when a message needs them.  Lines end at LF, CR LF or a lone
 * CR (libcsv ends records at each of them); columns count bytes from 1.
 *
 * Type inference keeps no field text: a column is parsed as numbers until
 * a field is neither a number nor an NA marker; then it becomes a string
 * column and the rows read so far are tokenized again (the sources stay
 * mapped) to intern their text.  Memory thus stays at the size of the
 * columns, whatever the size of the input: parsed pages of the mapping are
 * given back as the reader goes.
 */
#include "internal.h"
#include "numparse.h"

#include <csv.h>
#include <errno.h>
#include <fcntl.h>
#include <glob.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif

#define DEFAULT_MAX_FIELD ((size_t)1 << 20)
#define LIBCSV_CHUNK 65536
#define REPORT_ROWS 65536 /* rows between progress reports */
#ifndef AHEAD_ROWS
#define AHEAD_ROWS 32768 /* rows whose column pages are faulted in ahead */
#endif
#define SHOW_MAX 40 /* bytes of a bad field quoted in a message */

static const char *const default_na[] = {"", "NA", "NaN", "nan", "null"};

void scl_csv_opts_init(scl_csv_opts *o) {
  memset(o, 0, sizeof *o);
  o->delimiter = ',';
  o->quote = '"';
  o->header = 1;
}

/* ------------------------------------------------------------ sources */

typedef struct source {
  char *name;                /* for messages ("<stdin>" for "-") */
  char *path;                /* as given: the file column's value */
  const unsigned char *data; /* the bytes, after any byte order mark */
  size_t len;
  void *map;                 /* mmap'd file, or */
  size_t maplen, released;   /* bytes of the mapping given back */
  char *heap;                /* bytes read into memory */
  size_t heapcap;
} source;

static void source_close(scl_ctx *ctx, source *s) {
  if (s->name) scli_free(ctx, s->name, strlen(s->name) + 1);
  if (s->path) scli_free(ctx, s->path, strlen(s->path) + 1);
  if (s->map) munmap(s->map, s->maplen);
  scli_free(ctx, s->heap, s->heapcap);
  memset(s, 0, sizeof *s);
}

static void strip_bom(source *s) {
  if (s->len >= 3 && s->data[0] == 0xEF && s->data[1] == 0xBB &&
      s->data[2] == 0xBF) {
    s->data += 3;
    s->len -= 3;
  }
}

/* Read all of fd (a pipe, a terminal, a special file) into s->heap. */
static int read_all(scl_ctx *ctx, int fd, source *s) {
  size_t n = 0;
  for (;;) {
    if (n == s->heapcap) {
      size_t nc = s->heapcap ? s->heapcap * 2 : 65536;
      char *h = scli_realloc(ctx, s->heap, s->heapcap, nc);
      if (!h) return scli_oom(ctx);
      s->heap = h;
      s->heapcap = nc;
    }
    ssize_t got = read(fd, s->heap + n, s->heapcap - n);
    if (got < 0) {
      if (errno == EINTR) continue;
      return scli_error(ctx, SCL_EIO, "%s: %s", s->name, strerror(errno));
    }
    if (got == 0) break;
    n += (size_t)got;
  }
  s->data = (const unsigned char *)s->heap;
  s->len = n;
  return SCL_OK;
}

/*
 * Open path ("-": standard input) as a source.  Regular files are mapped:
 * no copy of the file is made, and the pages already parsed can be given
 * back (see release_range).
 */
static int source_open(scl_ctx *ctx, const char *path, source *s) {
  int stdin_ = strcmp(path, "-") == 0;
  memset(s, 0, sizeof *s);
  s->name = scli_strdup(ctx, stdin_ ? "<stdin>" : path);
  s->path = scli_strdup(ctx, path);
  if (!s->name || !s->path) {
    source_close(ctx, s);
    return scli_oom(ctx);
  }
  int rc = SCL_OK, fd = 0;
  if (!stdin_) {
    do
      fd = open(path, O_RDONLY | O_CLOEXEC);
    while (fd < 0 && errno == EINTR);
    if (fd < 0) {
      rc = scli_error(ctx, SCL_EIO, "%s: %s", path, strerror(errno));
      source_close(ctx, s);
      return rc;
    }
  }
  struct stat st;
  if (fstat(fd, &st) != 0) {
    rc = scli_error(ctx, SCL_EIO, "%s: %s", s->name, strerror(errno));
  } else if (S_ISDIR(st.st_mode)) {
    rc = scli_error(ctx, SCL_EIO, "%s: %s", s->name, strerror(EISDIR));
  } else if (S_ISREG(st.st_mode) && st.st_size > 0) {
    s->maplen = (size_t)st.st_size;
    s->map = mmap(NULL, s->maplen, PROT_READ, MAP_PRIVATE, fd, 0);
    if (s->map == MAP_FAILED) { /* some file systems cannot map */
      s->map = NULL;
      s->maplen = 0;
      rc = read_all(ctx, fd, s);
    } else {
      madvise(s->map, s->maplen, MADV_SEQUENTIAL);
      s->data = s->map;
      s->len = s->maplen;
    }
  } else if (!S_ISREG(st.st_mode)) {
    rc = read_all(ctx, fd, s);
  }
  if (!stdin_) close(fd);
  if (rc) {
    source_close(ctx, s);
    return rc;
  }
  if (!s->data) s->data = (const unsigned char *)"";
  strip_bom(s);
  return SCL_OK;
}

static int source_buffer(scl_ctx *ctx, const char *name, const char *buf,
                         size_t len, source *s) {
  memset(s, 0, sizeof *s);
  s->name = scli_strdup(ctx, name ? name : "<buffer>");
  s->path = scli_strdup(ctx, name ? name : "<buffer>");
  if (!s->name || !s->path) {
    source_close(ctx, s);
    return scli_oom(ctx);
  }
  s->data = (const unsigned char *)(buf ? buf : "");
  s->len = buf ? len : 0;
  strip_bom(s);
  return SCL_OK;
}

/* ---------------------------------------------------------- tokenizers */

typedef struct tok {
  scl_ctx *ctx;
  const char *name;
  const unsigned char *buf;
  size_t len, pos;
  unsigned char delim, quote;
  size_t max_field;
  int fast; /* 1: the scanner; 0: libcsv */
  int eof;
  int err;  /* sticky error code */
  int noswitch, quote_hit; /* a worker's scanner stops at quotes */
  int rec_lib;             /* the current record came from libcsv */
  char *const *names; /* column names by field, once known (for messages) */
  size_t nnames;
  unsigned char special[256]; /* delimiter, CR, LF, quote: the scanner stops */
  /* the current record */
  size_t nf, fcap;
  const char **fptr;
  size_t *flen, *foff, *rbo; /* length, source offset, offset in rb */
  size_t rec_off;
  /* libcsv */
  struct csv_parser p;
  int p_live;
  char *rb; /* unquoted field bytes, each NUL-terminated */
  size_t rbn, rbcap;
  size_t fstart; /* source offset where the current field started */
  int row_end, cb_rc;
  /* line-number cache: line of byte lc_off */
  size_t lc_off, lc_line;
} tok;

/*
 * The four per-field arrays of a record share one block, so growing them
 * either fully succeeds or leaves the record untouched.
 */
static size_t field_bytes(size_t n) {
  return n * (sizeof(const char *) + 3 * sizeof(size_t));
}

/*
 * libcsv's allocator hooks take no user pointer: the context (and parser,
 * for the old block size) of the call in progress is kept per thread.
 */
static _Thread_local scl_ctx *tl_ctx;
static _Thread_local struct csv_parser *tl_parser;

static void *lib_realloc(void *p, size_t n) {
  size_t old = p ? tl_parser->entry_size : 0;
  return scli_realloc(tl_ctx, p, old, n);
}

static void lib_free(void *p) { scli_free(tl_ctx, p, tl_parser->entry_size); }

/* RFC 4180: spaces are data.  libcsv trims them unless told otherwise. */
static int lib_no_space(unsigned char c) {
  (void)c;
  return 0;
}

static void tok_bind(tok *t) {
  tl_ctx = t->ctx;
  tl_parser = &t->p;
}

static int is_break(const tok *t, size_t i) {
  unsigned char c = t->buf[i];
  return c == '\n' || (c == '\r' && (i + 1 >= t->len || t->buf[i + 1] != '\n'));
}

/* 1-based line of byte off, counting on from the last answer. */
static size_t line_of(tok *t, size_t off) {
  if (off < t->lc_off) {
    t->lc_off = 0;
    t->lc_line = 1;
  }
  size_t ln = t->lc_line;
  const unsigned char *b = t->buf;
  for (size_t i = t->lc_off; i < off; i++) {
    if (b[i] == '\n') {
      ln++;
    } else if (b[i] == '\r') {
      if (i + 1 >= t->len || b[i + 1] != '\n') ln++;
    }
  }
  t->lc_off = off;
  t->lc_line = ln;
  return ln;
}

static size_t col_of(const tok *t, size_t off) {
  size_t j = off;
  while (j > 0 && !is_break(t, j - 1)) j--;
  return off - j + 1;
}

/* An error at byte off: "name:line:col: message". */
static int tok_error(tok *t, int code, size_t off, const char *fmt, ...)
#ifdef __GNUC__
    __attribute__((format(printf, 4, 5)))
#endif
    ;
static int tok_error(tok *t, int code, size_t off, const char *fmt, ...) {
  char msg[SCLI_ERRMAX];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  size_t line = line_of(t, off);
  if (t->names && t->nf < t->nnames) /* the field being read */
    return scli_error(t->ctx, code, "%s:%zu:%zu: column '%s': %s", t->name,
                      line, col_of(t, off), t->names[t->nf], msg);
  return scli_error(t->ctx, code, "%s:%zu:%zu: %s", t->name, line,
                    col_of(t, off), msg);
}

static int too_long(tok *t, size_t off) {
  return tok_error(t, SCL_EPARSE, off, "field longer than %zu bytes",
                   t->max_field);
}

/* Ready libcsv to read records from t->pos (a record start). */
static void lib_start(tok *t) {
  csv_init(&t->p, CSV_STRICT | CSV_STRICT_FINI);
  csv_set_delim(&t->p, t->delim);
  csv_set_quote(&t->p, t->quote);
  csv_set_space_func(&t->p, lib_no_space);
  csv_set_realloc_func(&t->p, lib_realloc);
  csv_set_free_func(&t->p, lib_free);
  csv_set_blk_size(&t->p, 4096);
  t->p_live = 1;
  t->fstart = t->pos;
}

static int lib_next(tok *t);

static int tok_init(tok *t, scl_ctx *ctx, const source *s,
                    unsigned char delim, unsigned char quote,
                    size_t max_field, int mode) {
  memset(t, 0, sizeof *t);
  t->ctx = ctx;
  t->name = s->name;
  t->buf = s->data;
  t->len = s->len;
  t->delim = delim;
  t->quote = quote;
  t->max_field = max_field;
  t->lc_line = 1;
  t->special[delim] = t->special['\r'] = t->special['\n'] = 1;
  if (quote) t->special[quote] = 1;
  /*
   * AUTO reads with the scanner and hands each record whose first line
   * holds a quote to libcsv (see fast_next): a file is never read ahead
   * just to look for quotes, and rare quoted fields cost little.
   */
  if (mode == SCLI_TOK_FAST && quote && t->len &&
      memchr(t->buf, quote, t->len))
    return scli_error(ctx, SCL_EINVAL,
                      "%s: the fast tokenizer cannot read quoted input",
                      t->name);
  t->fast = !quote || mode != SCLI_TOK_LIBCSV;
  if (!t->fast) lib_start(t);
  return SCL_OK;
}

static void tok_free(tok *t) {
  scl_ctx *ctx = t->ctx;
  if (t->p_live) {
    tok_bind(t);
    csv_free(&t->p);
  }
  scli_free(ctx, t->fptr, field_bytes(t->fcap));
  scli_free(ctx, t->rb, t->rbcap);
  memset(t, 0, sizeof *t);
}

/*
 * Room for more fields (see field_bytes).
 */
static int grow_fields(tok *t) {
  size_t nc = t->fcap ? t->fcap * 2 : 16;
  char *blk = scli_malloc(t->ctx, field_bytes(nc));
  if (!blk) return scli_oom(t->ctx);
  const char **fp = (const char **)blk;
  size_t *a = (size_t *)(blk + nc * sizeof *fp);
  if (t->fcap) {
    memcpy(fp, t->fptr, t->fcap * sizeof *fp);
    memcpy(a, t->flen, t->fcap * sizeof *a);
    memcpy(a + nc, t->foff, t->fcap * sizeof *a);
    memcpy(a + 2 * nc, t->rbo, t->fcap * sizeof *a);
    scli_free(t->ctx, t->fptr, field_bytes(t->fcap));
  }
  t->fptr = fp;
  t->flen = a;
  t->foff = a + nc;
  t->rbo = a + 2 * nc;
  t->fcap = nc;
  return SCL_OK;
}

/*
 * The first delimiter, CR, LF or quote at or after p (end if none).  SSE2
 * looks at 16 bytes per step; fields in logs are short, so one step
 * usually finds the end.
 */
static inline const unsigned char *scan_field(const tok *t,
                                              const unsigned char *p,
                                              const unsigned char *end) {
#ifdef __SSE2__
  const __m128i vd = _mm_set1_epi8((char)t->delim);
  const __m128i vn = _mm_set1_epi8('\n'), vr = _mm_set1_epi8('\r');
  const __m128i vq = _mm_set1_epi8((char)(t->quote ? t->quote : t->delim));
  while (end - p >= 16) {
    __m128i x = _mm_loadu_si128((const __m128i *)(const void *)p);
    __m128i hit = _mm_or_si128(
        _mm_or_si128(_mm_cmpeq_epi8(x, vd), _mm_cmpeq_epi8(x, vq)),
        _mm_or_si128(_mm_cmpeq_epi8(x, vn), _mm_cmpeq_epi8(x, vr)));
    unsigned mask = (unsigned)_mm_movemask_epi8(hit);
    if (mask) return p + __builtin_ctz(mask);
    p += 16;
  }
#endif
  const unsigned char *sp = t->special;
  while (p < end && !sp[*p]) p++;
  return p;
}

/*
 * The scanner: one record of quote-free input.  At a quote it goes back to
 * the start of the record and lets libcsv read that record (which may go
 * on over several lines); the next one is the scanner's again.  Between
 * records libcsv is in its start state, so this reads exactly as libcsv
 * alone would.
 */
static int fast_next(tok *t) {
  const unsigned char *b = t->buf, *end = b + t->len, *p = b + t->pos;
  unsigned char delim = t->delim;
  t->nf = 0;
  t->rec_lib = 0;
  while (p < end && (*p == '\n' || *p == '\r')) p++; /* blank lines */
  if (p == end) {
    t->pos = t->len;
    t->eof = 1;
    return SCL_OK;
  }
  t->rec_off = (size_t)(p - b);
  for (;;) {
    const unsigned char *s = p;
    p = scan_field(t, p, end);
    if (p < end && *p == t->quote && t->quote) {
      t->pos = t->rec_off;
      if (t->noswitch) {
        t->quote_hit = t->eof = 1;
        t->nf = 0;
        return SCL_OK;
      }
      if (!t->p_live) lib_start(t);
      t->fstart = t->pos;
      return lib_next(t);
    }
    size_t n = (size_t)(p - s);
    if (n > t->max_field) return too_long(t, (size_t)(s - b));
    if (t->nf == t->fcap) {
      int rc = grow_fields(t);
      if (rc) return rc;
    }
    t->fptr[t->nf] = (const char *)s;
    t->flen[t->nf] = n;
    t->foff[t->nf] = (size_t)(s - b);
    t->nf++;
    if (p == end) break;
    if (*p++ != delim) break; /* CR or LF ends the record */
  }
  t->pos = (size_t)(p - b);
  return SCL_OK;
}

static void lib_on_field(void *s, size_t n, void *ud) {
  tok *t = ud;
  if (t->cb_rc) return;
  if (n > t->max_field) {
    t->cb_rc = too_long(t, t->fstart);
    return;
  }
  if (t->nf == t->fcap && (t->cb_rc = grow_fields(t))) return;
  if (t->rbcap - t->rbn < n + 1) {
    size_t nc = t->rbcap ? t->rbcap : 256;
    while (nc - t->rbn < n + 1) nc *= 2;
    char *rb = scli_realloc(t->ctx, t->rb, t->rbcap, nc);
    if (!rb) {
      t->cb_rc = scli_oom(t->ctx);
      return;
    }
    t->rb = rb;
    t->rbcap = nc;
  }
  memcpy(t->rb + t->rbn, s, n);
  t->rb[t->rbn + n] = '\0';
  t->rbo[t->nf] = t->rbn;
  t->flen[t->nf] = n;
  t->foff[t->nf] = t->fstart;
  t->nf++;
  t->rbn += n + 1;
}

static void lib_on_row(int c, void *ud) {
  (void)c;
  ((tok *)ud)->row_end = 1;
}

/* End of the chunk fed to libcsv: just after the next delimiter/CR/LF. */
static size_t chunk_end(const tok *t, size_t s) {
  size_t lim = t->len - s > LIBCSV_CHUNK ? s + LIBCSV_CHUNK : t->len;
  const unsigned char *b = t->buf;
  unsigned char d = t->delim;
  while (s < lim && b[s] != d && b[s] != '\n' && b[s] != '\r') s++;
  return s < lim ? s + 1 : lim;
}

/*
 * libcsv: one record.  The input is fed in chunks ending just after a
 * delimiter or line end, so a field's callback always comes from the last
 * byte of a chunk and the start of the next field is known: it is where
 * the parser stands whenever it is between fields (no bytes buffered, not
 * inside quotes).
 */
static int lib_next(tok *t) {
  t->nf = 0;
  t->rbn = 0;
  t->row_end = 0;
  t->cb_rc = 0;
  while (!t->row_end) {
    if (t->pos == t->len) {
      tok_bind(t);
      int r = csv_fini(&t->p, lib_on_field, lib_on_row, t);
      t->eof = 1;
      if (r != 0)
        return tok_error(t, SCL_EPARSE, t->fstart,
                         "unterminated quoted field");
      if (t->cb_rc) return t->cb_rc;
      break;
    }
    size_t s = t->pos, e = chunk_end(t, s);
    tok_bind(t);
    size_t got = csv_parse(&t->p, t->buf + s, e - s, lib_on_field,
                           lib_on_row, t);
    if (t->cb_rc) return t->cb_rc;
    if (got < e - s) {
      size_t at = s + got;
      if (csv_error(&t->p) != CSV_EPARSE) return scli_oom(t->ctx);
      if (!t->p.quoted)
        return tok_error(t, SCL_EPARSE, at,
                         "quote inside an unquoted field");
      unsigned char c = t->buf[at];
      if (c >= 0x20 && c < 0x7f)
        return tok_error(t, SCL_EPARSE, at,
                         "unexpected '%c' after a closing quote", c);
      return tok_error(t, SCL_EPARSE, at,
                       "unexpected byte 0x%02x after a closing quote", c);
    }
    t->pos = e;
    if (t->p.entry_pos == 0 && !t->p.quoted)
      t->fstart = e;
    else if (t->p.entry_pos > t->max_field + 1)
      return too_long(t, t->fstart);
  }
  for (size_t i = 0; i < t->nf; i++) t->fptr[i] = t->rb + t->rbo[i];
  if (t->nf) t->rec_off = t->foff[0];
  t->rec_lib = 1;
  return SCL_OK;
}

/* The next record: t->nf fields (0 at the end of input). */
static int tok_next(tok *t) {
  if (t->err) return t->err;
  if (t->eof) {
    t->nf = 0;
    return SCL_OK;
  }
  int rc = t->fast ? fast_next(t) : lib_next(t);
  if (rc) {
    t->err = rc;
    t->nf = 0;
  }
  return rc;
}

/* Make the record's fields NUL-terminated copies (for the iterator). */
static int tok_materialize(tok *t) {
  if (t->rec_lib) return SCL_OK;
  size_t need = 0;
  for (size_t i = 0; i < t->nf; i++) need += t->flen[i] + 1;
  if (need > t->rbcap) {
    char *rb = scli_realloc(t->ctx, t->rb, t->rbcap, need);
    if (!rb) return scli_oom(t->ctx);
    t->rb = rb;
    t->rbcap = need;
  }
  size_t at = 0;
  for (size_t i = 0; i < t->nf; i++) {
    memcpy(t->rb + at, t->fptr[i], t->flen[i]);
    t->rb[at + t->flen[i]] = '\0';
    t->fptr[i] = t->rb + at;
    at += t->flen[i] + 1;
  }
  return SCL_OK;
}

/* ------------------------------------------------------------ options */

typedef struct ropts {
  unsigned char delim, quote;
  int header;
  size_t max_field;
  const char *const *na;
  size_t nna;
  int na_first; /* an NA marker reads as a number: test NA before parsing */
  const char *file_column;
  const scl_csv_opts *o;
  scl_csv_opts dflt; /* o points here when no options were given */
} ropts;

static int resolve_opts(scl_ctx *ctx, const scl_csv_opts *o, ropts *r) {
  memset(r, 0, sizeof *r);
  if (!o) {
    scl_csv_opts_init(&r->dflt);
    o = &r->dflt;
  }
  r->o = o;
  r->delim = (unsigned char)o->delimiter;
  r->quote = (unsigned char)o->quote;
  r->header = o->header != 0;
  r->max_field = o->max_field ? o->max_field : DEFAULT_MAX_FIELD;
  r->file_column = o->file_column ? o->file_column : "file";
  if (r->delim == '\r' || r->delim == '\n' || r->quote == '\r' ||
      r->quote == '\n' || (r->quote && r->delim == r->quote))
    return scli_error(ctx, SCL_EINVAL,
                      "csv: bad delimiter/quote pair (0x%02x, 0x%02x)",
                      r->delim, r->quote);
  if (o->na) {
    r->na = o->na;
    r->nna = o->nna;
  } else {
    r->na = default_na;
    r->nna = sizeof default_na / sizeof *default_na;
  }
  for (size_t i = 0; i < r->nna; i++) {
    double v;
    if (!r->na[i])
      return scli_error(ctx, SCL_EINVAL, "csv: NA marker %zu is NULL", i + 1);
    if (scl_parse_double(r->na[i], strlen(r->na[i]), &v) && !isnan(v))
      r->na_first = 1;
  }
  if ((o->ncolumns && !o->columns) || (o->ntypes && (!o->types ||
                                                     !o->type_names)))
    return scli_error(ctx, SCL_EINVAL, "csv: NULL option array");
  for (size_t i = 0; i < o->ntypes; i++)
    if (o->types[i] != SCL_NUMBER && o->types[i] != SCL_STRING)
      return scli_error(ctx, SCL_EINVAL, "csv: bad type %d for column '%s'",
                        (int)o->types[i],
                        o->type_names[i] ? o->type_names[i] : "(null)");
  return SCL_OK;
}

/* Is f[0..n), without surrounding spaces, one of the NA markers? */
static int is_na(const ropts *r, const char *f, size_t n) {
  while (n && (*f == ' ' || *f == '\t')) f++, n--;
  while (n && (f[n - 1] == ' ' || f[n - 1] == '\t')) n--;
  for (size_t i = 0; i < r->nna; i++) {
    const char *m = r->na[i];
    if (strlen(m) == n && memcmp(m, f, n) == 0) return 1;
  }
  return 0;
}

/* ---------------------------------------------------------- ingestion */

enum { ST_GUESS, ST_NUM, ST_STR };

typedef struct ocol {
  long fidx; /* field of the record; -1: the file column */
  int state;
} ocol;

typedef struct ingest {
  scl_ctx *ctx;
  ropts r;
  int tokmode;
  source *src;
  size_t nsrc;
  int multi;           /* add the file column */
  scl_table *t;
  int schema;          /* columns defined */
  size_t nfields;      /* fields per record */
  char **hdr;          /* the header's names (or V1..), owned */
  size_t hdr_src;      /* the source they came from */
  ocol *oc;
  size_t noc;
  size_t nrows, cap;
  double **num;        /* per output column, refreshed after growth */
  uint32_t **code;
  uint32_t filecode;
  int have_filecode;
  size_t total, done;  /* bytes: all sources, sources finished */
  size_t next_report;  /* rows: next call of report() */
  size_t next_progress; /* rows: next progress report */
  size_t faulted;      /* rows whose column pages are faulted in */
  size_t nthreads;     /* for large quote-free sources */
  struct worker *ws;   /* the threads at work, for progress */
  size_t nws;
} ingest;

static void ingest_free(ingest *g) {
  scl_ctx *ctx = g->ctx;
  if (g->hdr) {
    for (size_t j = 0; j < g->nfields; j++)
      if (g->hdr[j]) scli_free(ctx, g->hdr[j], strlen(g->hdr[j]) + 1);
    scli_free(ctx, g->hdr, g->nfields * sizeof *g->hdr);
  }
  scli_free(ctx, g->oc, g->noc * sizeof *g->oc);
  scli_free(ctx, g->num, g->noc * sizeof *g->num);
  scli_free(ctx, g->code, g->noc * sizeof *g->code);
  scl_table_free(g->t);
  g->t = NULL;
}

static void refresh_ptrs(ingest *g) {
  for (size_t k = 0; k < g->noc; k++) {
    g->num[k] = scli_table_numbers_mut(g->t, k);
    g->code[k] = scli_table_codes_mut(g->t, k);
  }
}

static long find_name(char *const *names, size_t n, const char *name) {
  for (size_t j = 0; j < n; j++)
    if (strcmp(names[j], name) == 0) return (long)j;
  return -1;
}

/* "a, b, c" into buf, cut short to fit. */
static void list_names(char *buf, size_t cap, char *const *names, size_t n) {
  size_t at = 0;
  buf[0] = '\0';
  for (size_t j = 0; j < n && at + 8 < cap; j++) {
    int w = snprintf(buf + at, cap - at, "%s%s", j ? ", " : "", names[j]);
    if (w < 0 || (size_t)w >= cap - at) {
      snprintf(buf + (cap > 4 ? cap - 4 : 0), 4, "...");
      return;
    }
    at += (size_t)w;
  }
}

/*
 * The name of column j: the header's field, or V<j+1> without a header
 * and for empty (or NUL-holding) names.
 */
static size_t header_name(const tok *tk, size_t j, int header, char *vname,
                          const char **nm) {
  if (header && tk->flen[j] > 0 && !memchr(tk->fptr[j], 0, tk->flen[j])) {
    *nm = tk->fptr[j];
    return tk->flen[j];
  }
  *nm = vname;
  return (size_t)snprintf(vname, 32, "V%zu", j + 1);
}

/*
 * The first record of the first non-empty source fixes the columns: names
 * (from the header, or V1..Vn), the projection, the declared types and
 * the file column.
 */
static int define_schema(ingest *g, tok *tk, const source *s) {
  scl_ctx *ctx = g->ctx;
  const scl_csv_opts *o = g->r.o;
  size_t nf = tk->nf;
  g->hdr = scli_calloc(ctx, nf, sizeof *g->hdr);
  if (!g->hdr) return scli_oom(ctx);
  g->nfields = nf;
  g->hdr_src = (size_t)(s - g->src);
  for (size_t j = 0; j < nf; j++) {
    char vname[32];
    const char *nm;
    size_t n = header_name(tk, j, g->r.header, vname, &nm);
    if (!(g->hdr[j] = scli_malloc(ctx, n + 1))) return scli_oom(ctx);
    memcpy(g->hdr[j], nm, n);
    g->hdr[j][n] = '\0';
  }
  for (size_t j = 0; j < nf; j++)
    if (find_name(g->hdr, j, g->hdr[j]) >= 0)
      return tok_error(tk, SCL_EPARSE, tk->foff[j],
                       "duplicate column name '%s'", g->hdr[j]);

  /* Output columns: the projection's order, or the file's. */
  size_t noc = o->ncolumns ? o->ncolumns
                           : nf + (g->multi && find_name(g->hdr, nf,
                                                         g->r.file_column) < 0);
  if (!o->ncolumns && g->multi && noc == nf)
    return scli_error(ctx, SCL_EINVAL,
                      "%s: has a column named '%s': choose another "
                      "file_column",
                      s->name, g->r.file_column);
  g->oc = scli_calloc(ctx, noc, sizeof *g->oc);
  g->num = scli_calloc(ctx, noc, sizeof *g->num);
  g->code = scli_calloc(ctx, noc, sizeof *g->code);
  if (!g->oc || !g->num || !g->code) {
    g->noc = noc;
    return scli_oom(ctx);
  }
  g->noc = noc;
  const char **names = scli_calloc(ctx, noc, sizeof *names);
  if (!names) return scli_oom(ctx);
  int rc = SCL_OK;
  for (size_t k = 0; k < noc; k++) {
    if (!o->ncolumns) {
      g->oc[k].fidx = k < nf ? (long)k : -1;
    } else {
      const char *want = o->columns[k];
      long j = want ? find_name(g->hdr, nf, want) : -1;
      if (j < 0 && !(want && g->multi &&
                     strcmp(want, g->r.file_column) == 0)) {
        char avail[256];
        list_names(avail, sizeof avail, g->hdr, nf);
        rc = scli_error(ctx, SCL_EINVAL, "%s: no column '%s' (columns: %s)",
                        s->name, want ? want : "(null)", avail);
        goto done;
      }
      for (size_t q = 0; q < k; q++)
        if (strcmp(o->columns[q], want) == 0) {
          rc = scli_error(ctx, SCL_EINVAL, "%s: column '%s' selected twice",
                          s->name, want);
          goto done;
        }
      g->oc[k].fidx = j;
    }
    names[k] = g->oc[k].fidx < 0 ? g->r.file_column : g->hdr[g->oc[k].fidx];
    g->oc[k].state = g->oc[k].fidx < 0 ? ST_STR : ST_GUESS;
  }
  for (size_t i = 0; i < o->ntypes; i++) {
    long j = o->type_names[i] ? find_name(g->hdr, nf, o->type_names[i]) : -1;
    if (j < 0) {
      rc = scli_error(ctx, SCL_EINVAL, "%s: type given for unknown column '%s'",
                      s->name, o->type_names[i] ? o->type_names[i] : "(null)");
      goto done;
    }
    for (size_t k = 0; k < noc; k++)
      if (g->oc[k].fidx == j)
        g->oc[k].state = o->types[i] == SCL_STRING ? ST_STR : ST_NUM;
  }
  if ((rc = scl_table_new(ctx, &g->t))) goto done;
  g->cap = 1024;
  for (size_t k = 0; k < noc && !rc; k++)
    rc = scli_table_add_column(g->t, names[k],
                               g->oc[k].state == ST_STR ? SCL_STRING
                                                        : SCL_NUMBER,
                               g->cap);
  if (!rc) refresh_ptrs(g);
  g->schema = 1;
done:
  scli_free(ctx, names, noc * sizeof *names);
  return rc;
}

/* A later file's header must name the same columns in the same order. */
static int check_header(ingest *g, tok *tk, const source *s) {
  const char *first = g->src[g->hdr_src].name;
  if (tk->nf != g->nfields)
    return scli_error(g->ctx, SCL_EPARSE,
                      "%s: header has %zu columns, %s has %zu", s->name,
                      tk->nf, first, g->nfields);
  for (size_t j = 0; j < tk->nf; j++) {
    char vname[32];
    const char *nm;
    size_t n = header_name(tk, j, 1, vname, &nm);
    if (strlen(g->hdr[j]) != n || memcmp(g->hdr[j], nm, n) != 0)
      return scli_error(g->ctx, SCL_EPARSE,
                        "%s: header differs from %s: column %zu is '%.*s' "
                        "here and '%s' there",
                        s->name, first, j + 1, (int)(n > 64 ? 64 : n), nm,
                        g->hdr[j]);
  }
  return SCL_OK;
}

/*
 * Fault in the column memory of rows [from, to) in one call per column
 * (MADV_POPULATE_WRITE, Linux 5.14+) instead of one page fault per 4 KiB
 * page as the rows are written: the 7.3 MB of columns of a 10 MB log took
 * ~1900 faults, and 5.8 ms faulted that way against 4.5 ms populated.
 * Only a hint: other systems and kernels without it skip it.  The page
 * holding `from` is included (a no-op when it is in already), the one
 * holding `to` is left to the next call.
 */
static void prefault_rows(ingest *g, size_t from, size_t to) {
#ifdef __linux__
  const uintptr_t pg = 4096;
  if (to <= from) return;
  for (size_t k = 0; k < g->noc; k++) {
    char *p;
    size_t w;
    if (g->num[k]) {
      p = (char *)g->num[k];
      w = sizeof(double);
    } else if (g->code[k]) {
      p = (char *)g->code[k];
      w = sizeof(uint32_t);
    } else {
      continue;
    }
    uintptr_t a = (uintptr_t)(p + from * w) & ~(pg - 1);
    uintptr_t e = (uintptr_t)(p + to * w) & ~(pg - 1);
    if (e > a) (void)madvise((void *)a, e - a, 23 /* MADV_POPULATE_WRITE */);
  }
#else
  (void)g, (void)from, (void)to;
#endif
}

/*
 * Keep the column pages of the next rows faulted in: from row up to
 * AHEAD_ROWS ahead, but not beyond `end` (the rows there is room for, or
 * expected).  Room is made for all the rows expected at once (see
 * grow_rows), so pages are faulted in as the reader gets near them: RSS
 * holds at most AHEAD_ROWS rows beyond the table's final size, and pages
 * the kernel has just zeroed are written while still in cache (writing 8
 * columns of 97 MB took 0.49 s faulting 256 KB to 1 MB ahead in each,
 * 0.95 s with everything faulted in first).
 */
static void fault_ahead(ingest *g, size_t row, size_t end, size_t *faulted) {
  size_t from = *faulted > row ? *faulted : row;
  size_t to = end - row > AHEAD_ROWS ? row + AHEAD_ROWS : end;
  if (end > row && to > from) {
    prefault_rows(g, from, to);
    *faulted = to;
  }
}

/*
 * The row count the input will give, judged from the bytes consumed for
 * the rows read so far (the rows so far when there is nothing to judge by).
 */
static size_t expected_rows(const ingest *g, size_t consumed) {
  if (consumed == 0 || g->nrows == 0 || consumed >= g->total) return g->nrows;
  double est = (double)g->nrows * ((double)g->total / (double)consumed);
  return est < 1e18 ? (size_t)est : (size_t)1e18;
}

/* Single thread: fault ahead, up to the room made and the rows expected. */
static void fault_ahead_main(ingest *g, size_t consumed) {
  size_t end = expected_rows(g, consumed) + 1024;
  fault_ahead(g, g->nrows, end < g->cap ? end : g->cap, &g->faulted);
}

/*
 * Make room for more rows.  Room for the row count expected from the
 * bytes read so far (plus 2%) is made at once, the first time after 1024
 * rows: small blocks of memory grow by copying (only big ones are
 * remapped), and steps of an eighth copied a 10 MB log's columns eight
 * times over.  A wrong guess costs little: below it the steps of an
 * eighth go on, and room beyond it is address space, not memory (pages
 * are touched only as rows are written, see fault_ahead, and the table is
 * shrunk at the end).  If that much address space cannot be had (a guess
 * from a few short first rows of a huge file), the step of an eighth is
 * tried instead.  Near the end of the input the estimate caps the step,
 * so the last one is not an eighth too big.
 */
static int grow_rows(ingest *g, size_t consumed) {
  size_t step = g->cap + (g->cap / 8 > 4096 ? g->cap / 8 : 4096);
  size_t want = step;
  if (consumed > 0 && g->total > consumed) {
    double est = (double)expected_rows(g, consumed);
    size_t e = (size_t)(est * (consumed > g->total / 2 ? 1.01 : 1.02)) + 1024;
    if (consumed > g->total / 2 ? e > g->cap && e < want : e > want)
      want = e;
  }
  int rc = scli_table_reserve(g->t, want);
  if (rc && want > step) rc = scli_table_reserve(g->t, want = step);
  if (rc) return rc;
  g->cap = want;
  refresh_ptrs(g);
  fault_ahead_main(g, consumed);
  return SCL_OK;
}

/*
 * Column k held numbers up to row `row` and now meets text: make it a
 * string column and intern the text of rows [0, row) by tokenizing the
 * sources again from the start.
 */
static int to_strings(ingest *g, size_t k, size_t row) {
  int rc = scli_table_make_strings(g->t, k);
  if (rc) return rc;
  g->oc[k].state = ST_STR;
  g->num[k] = NULL;
  g->code[k] = scli_table_codes_mut(g->t, k);
  size_t r = 0, fidx = (size_t)g->oc[k].fidx;
  for (size_t si = 0; si < g->nsrc && r < row && !rc; si++) {
    tok tk;
    if ((rc = tok_init(&tk, g->ctx, &g->src[si], g->r.delim, g->r.quote,
                       g->r.max_field, g->tokmode)))
      break;
    rc = tok_next(&tk);
    if (!rc && tk.nf && g->r.header) rc = tok_next(&tk);
    while (!rc && tk.nf && r < row) {
      rc = scli_table_intern(g->t, k, tk.fptr[fidx], tk.flen[fidx],
                             &g->code[k][r]);
      r++;
      if (!rc) rc = tok_next(&tk);
    }
    tok_free(&tk);
  }
  return rc;
}

/* Length of the valid UTF-8 sequence at f[0..n), 0 if there is none. */
static size_t utf8_len(const unsigned char *f, size_t n) {
  unsigned c = f[0];
  size_t k = c >= 0xC2 && c <= 0xDF ? 2 : c >= 0xE0 && c <= 0xEF ? 3
           : c >= 0xF0 && c <= 0xF4 ? 4 : 0;
  if (k == 0 || k > n) return 0;
  for (size_t i = 1; i < k; i++)
    if ((f[i] & 0xC0) != 0x80) return 0;
  return k;
}

/*
 * A field as a message shows it: at most SHOW_MAX bytes; control bytes
 * (a NUL would cut the message short), bytes of broken UTF-8 and a byte
 * order mark (invisible) as \xNN; "..." when cut.
 */
static void show_field(char *out, size_t cap, const char *s, size_t n) {
  const unsigned char *f = (const unsigned char *)s;
  size_t at = 0, i = 0, lim = n > SHOW_MAX ? SHOW_MAX : n;
  while (i < lim && at + 16 < cap) {
    size_t k = f[i] >= 0x80 ? utf8_len(f + i, n - i) : 1;
    int bom = k == 3 && f[i] == 0xEF && f[i + 1] == 0xBB && f[i + 2] == 0xBF;
    if (f[i] < 0x20 || f[i] == 0x7f || k == 0 || bom) {
      at += (size_t)snprintf(out + at, cap - at, "\\x%02x", f[i]);
      i++;
    } else {
      memcpy(out + at, f + i, k);
      at += k;
      i += k;
    }
  }
  snprintf(out + at, cap - at, "%s", i < n ? "..." : "");
}

static int not_a_number(ingest *g, tok *tk, size_t k, size_t j) {
  char shown[4 * SHOW_MAX + 8];
  show_field(shown, sizeof shown, tk->fptr[j], tk->flen[j]);
  return tok_error(tk, SCL_EPARSE, tk->foff[j],
                   "column '%s': '%s' is not a number",
                   scl_table_colname(g->t, k), shown);
}

/*
 * A thread's share of a parallel read (see read_parallel): the records in
 * source bytes [a, b) become rows [base, base + count) of the table.  It
 * interns strings into a private table and allocates through a locked
 * context, so the caller's context and table are only read meanwhile.
 */
typedef struct worker {
  ingest *g;
  source *s;
  size_t a, b;
  size_t count;          /* records in [a, b), counted first */
  size_t base, row;      /* first row, next row */
  int hasq;              /* the count met a quote: no threads from here */
  scl_ctx *ctx;          /* locked allocator, private message */
  scl_table *lt;         /* private levels of the string columns */
  unsigned char *text;   /* per column: text met in a guessed column */
  size_t released, next_report, next_progress; /* see report() */
  size_t faulted;        /* rows whose column pages are faulted in */
  _Atomic size_t done;   /* bytes parsed, for the progress callback */
  int on_caller;         /* taken by the calling thread (it reports) */
  int rc;
} worker;

/*
 * A record with another field count than the header: the message points
 * at the first extra field, or at the end of a short record and names the
 * first column left without a value.  A short last line without a line
 * end is most likely a log still being written: say so.
 */
static int ragged(ingest *g, tok *tk, const source *s) {
  (void)s;
  size_t nf = tk->nf, want = g->nfields;
  char why[160];
  size_t at;
  if (nf > want) {
    at = tk->foff[want];
    snprintf(why, sizeof why, "an extra field after column '%s'",
             g->hdr[want - 1]);
  } else {
    at = tk->pos; /* just after the record: back over its line end */
    while (at > tk->rec_off &&
           (tk->buf[at - 1] == '\n' || tk->buf[at - 1] == '\r'))
      at--;
    snprintf(why, sizeof why, "no value for column '%s'%s", g->hdr[nf],
             at == tk->len && tk->pos == tk->len
                 ? " (the last line has no line end: is the file still "
                   "being written?)"
                 : "");
  }
  char *const *names = tk->names;
  tk->names = NULL; /* the message names its column itself */
  int rc = tok_error(tk, SCL_EPARSE, at, "expected %zu fields, found %zu: %s",
                     want, nf, why);
  tk->names = names;
  return rc;
}

/*
 * Store the record in tk as the next row: of the table (w NULL), or of
 * worker w, which notes text in a guessed column instead of converting
 * it (the caller converts once all threads are done).
 */
static int store_row(ingest *g, tok *tk, const source *s, worker *w) {
  int rc;
  scl_table *lt = w ? w->lt : g->t;
  size_t row;
  if (w) {
    if ((row = w->row) == w->base + w->count)
      return scli_error(w->ctx, SCL_EINVAL, "%s: records miscounted",
                        s->name);
  } else {
    row = g->nrows;
    if (row == g->cap && (rc = grow_rows(g, g->done + tk->pos))) return rc;
  }
  for (size_t k = 0; k < g->noc; k++) {
    const ocol *c = &g->oc[k];
    if (c->fidx < 0) {
      if (!g->have_filecode) { /* (never in a worker: set before) */
        if ((rc = scli_table_intern(g->t, k, s->path, strlen(s->path),
                                    &g->filecode)))
          return rc;
        g->have_filecode = 1;
      }
      g->code[k][row] = g->filecode;
      continue;
    }
    const char *f = tk->fptr[c->fidx];
    size_t n = tk->flen[c->fidx];
    if (c->state == ST_STR) {
      if ((rc = scli_table_intern(lt, k, f, n, &g->code[k][row]))) return rc;
      continue;
    }
    double v;
    if (g->r.na_first && is_na(&g->r, f, n)) {
      v = NAN;
    } else if (scl_parse_double(f, n, &v)) {
      /* a number */
    } else if (is_na(&g->r, f, n)) {
      v = NAN;
    } else if (c->state == ST_NUM) {
      return not_a_number(g, tk, k, (size_t)c->fidx);
    } else if (w) {
      w->text[k] = 1;
      v = NAN;
    } else {
      if ((rc = to_strings(g, k, row))) return rc;
      if ((rc = scli_table_intern(g->t, k, f, n, &g->code[k][row])))
        return rc;
      continue;
    }
    g->num[k][row] = v;
  }
  if (w)
    w->row = row + 1;
  else
    g->nrows = row + 1;
  return SCL_OK;
}

/* Give back the whole pages of source bytes [from, upto) not given yet. */
static void release_range(const source *s, size_t from, size_t *released,
                          size_t upto) {
  if (!s->map) return;
  size_t skip = (size_t)(s->data - (const unsigned char *)s->map);
  long pg = sysconf(_SC_PAGESIZE);
  if (pg <= 0) return;
  size_t lo = skip + (*released > from ? *released : from);
  size_t hi = skip + upto;
  lo = (lo + (size_t)pg - 1) / (size_t)pg * (size_t)pg;
  hi = hi / (size_t)pg * (size_t)pg;
  if (hi > lo) {
    madvise((char *)s->map + lo, hi - lo, MADV_DONTNEED);
    *released = hi - skip;
  }
}

/*
 * Called every AHEAD_ROWS / 2 rows: keeps the column pages ahead faulted
 * in and gives back the parsed pages of the input (so that RSS holds
 * little more than the columns: ~1.3 MB of a log, not the 5 MB between
 * two progress reports).  Every REPORT_ROWS rows and at the end of a
 * thread's range (final) it calls the progress callback (only from the
 * calling thread).
 */
static void report(ingest *g, const tok *tk, source *s, worker *w,
                   int final) {
  const scl_csv_opts *o = g->r.o;
  size_t done, row = w ? w->row : g->nrows;
  size_t *next = w ? &w->next_report : &g->next_report;
  size_t *progress = w ? &w->next_progress : &g->next_progress;
  if (w) {
    fault_ahead(g, row, w->base + w->count, &w->faulted);
    release_range(s, w->a, &w->released, tk->pos);
  } else {
    fault_ahead_main(g, g->done + tk->pos);
    release_range(s, 0, &s->released, tk->pos);
  }
  int due = row >= *progress || final;
  if (due) *progress = row + REPORT_ROWS;
  *next = row + AHEAD_ROWS / 2 < *progress ? row + AHEAD_ROWS / 2 : *progress;
  if (!due) return;
  if (w) {
    atomic_store_explicit(&w->done, tk->pos - w->a, memory_order_relaxed);
    if (!w->on_caller) return;
    done = g->done + g->ws[0].a;
    for (size_t i = 0; i < g->nws; i++)
      done += atomic_load_explicit(&g->ws[i].done, memory_order_relaxed);
  } else {
    done = g->done + tk->pos;
  }
  if (o->progress && o->progress_fn && g->total)
    o->progress_fn(o->progress_ud, (double)done / (double)g->total);
}

/*
 * The hot loop for quote-free input: fields are parsed where they lie,
 * numbers in one pass (parse_prefix stops at the delimiter), strings
 * interned straight from the mapped file.  Anything unusual in a record
 * (NA markers, spaces around numbers, text in a numeric column, a wrong
 * field count, an overlong field, a quote) sends that record back through
 * tok_next + store_row, which decide exactly as the libcsv path would.
 * With a worker w, rows go to w's range and the loop stops at w->b.
 */
static int fused_rows(ingest *g, tok *tk, source *s, worker *w) {
  const unsigned char *b = tk->buf, *end = b + tk->len;
  const unsigned char *stop_at = w ? b + w->b : end;
  const unsigned char *sp = tk->special;
  unsigned char delim = tk->delim;
  int quote = tk->quote ? tk->quote : -1;
  size_t nf = g->nfields, max_field = tk->max_field;
  scl_ctx *ctx = w ? w->ctx : g->ctx;
  scl_table *lt = w ? w->lt : g->t;
  int empty_na = 0, rc = SCL_OK;
  for (size_t i = 0; i < g->r.nna; i++) empty_na |= g->r.na[i][0] == '\0';
  /*
   * Per field, in a local array the hot loop reads without going through
   * g (whose column states a store through a code pointer could alias):
   * -1 when not kept, else 2 k + 1 for numeric (or guessed) output column
   * k, 2 k for a string one.  A record read the careful way may turn a
   * guessed column into strings: the array is made again after one.
   */
  long fk_stack[64], *fk = fk_stack, filek = -1;
  const int na_first = g->r.na_first;
  if (nf > 64 && !(fk = scli_malloc(ctx, nf * sizeof *fk)))
    return scli_oom(ctx);
  for (size_t j = 0; j < nf; j++) fk[j] = -1;
  for (size_t k = 0; k < g->noc; k++)
    if (g->oc[k].fidx < 0) filek = (long)k;
#define FIELD_KINDS()                                                         \
  for (size_t k = 0; k < g->noc; k++)                                         \
    if (g->oc[k].fidx >= 0)                                                   \
      fk[g->oc[k].fidx] = 2 * (long)k + (g->oc[k].state != ST_STR)
  FIELD_KINDS();
  while (!tk->eof && tk->fast) {
    const unsigned char *p = b + tk->pos;
    while (p < end && (*p == '\n' || *p == '\r')) p++;
    if (p >= stop_at) {
      tk->pos = (size_t)(p - b);
      if (p == end) tk->eof = 1;
      break;
    }
    size_t row = w ? w->row : g->nrows;
    if (w ? row == w->base + w->count : row == g->cap) {
      if (w) {
        rc = scli_error(ctx, SCL_EINVAL, "%s: records miscounted", s->name);
        break;
      }
      if ((rc = grow_rows(g, g->done + (size_t)(p - b)))) break;
    }
    const unsigned char *rec = p;
    size_t j = 0;
    /* With an NA marker that reads as a number, the careful way only. */
    for (; j < nf && !na_first; j++) {
      const unsigned char *f = p;
      long kind = fk[j], k = kind >> 1;
      if (kind >= 0 && (kind & 1)) {
        double v;
        const char *stop;
        if (p < end && *p == quote) break;
        if (p < end && !sp[*p]) {
          if (!parse_prefix((const char *)p, (const char *)end, &v, &stop))
            break;
          p = (const unsigned char *)stop;
          if ((p < end && !sp[*p]) || (size_t)(p - f) > max_field) break;
        } else if (empty_na) {
          v = NAN;
        } else {
          break;
        }
        g->num[k][row] = v;
      } else {
        p = scan_field(tk, p, end);
        if ((p < end && *p == quote) || (size_t)(p - f) > max_field) break;
        if (kind >= 0 && (rc = scli_table_intern(lt, (size_t)k,
                                                 (const char *)f,
                                                 (size_t)(p - f),
                                                 &g->code[k][row])))
          goto out;
      }
      /* p is at the field's end: a delimiter, CR, LF or the end. */
      if (j + 1 < nf) {
        if (p == end || *p != delim) break;
        p++;
      } else if (p < end && *p != '\n' && *p != '\r') {
        break;
      }
    }
    if (j < nf || na_first) {
      /* Redo this record the careful way. */
      tk->pos = (size_t)(rec - b);
      if ((rc = tok_next(tk))) break;
      if (tk->nf == 0) {
        if (tk->quote_hit) /* workers read quote-free ranges only */
          rc = scli_error(ctx, SCL_EINVAL, "%s: quote in a counted range",
                          s->name);
        break;
      }
      if (tk->nf != g->nfields) {
        rc = ragged(g, tk, s);
        break;
      }
      if ((rc = store_row(g, tk, s, w))) break;
      FIELD_KINDS();
    } else {
      if (filek >= 0) {
        if (!g->have_filecode) {
          if ((rc = scli_table_intern(g->t, (size_t)filek, s->path,
                                      strlen(s->path), &g->filecode)))
            break;
          g->have_filecode = 1;
        }
        g->code[filek][row] = g->filecode;
      }
      if (p < end) p++; /* the CR or LF */
      tk->pos = (size_t)(p - b);
      if (w)
        w->row = row + 1;
      else
        g->nrows = row + 1;
    }
    if (w ? w->row >= w->next_report : g->nrows >= g->next_report)
      report(g, tk, s, w, 0);
  }
out:
#undef FIELD_KINDS
  if (fk != fk_stack) scli_free(ctx, fk, nf * sizeof *fk);
  return rc;
}

/* ---------------------------------------------------------- threads */

#define MIN_CHUNK ((size_t)512 * 1024) /* bytes per thread, at least */

/* Serialises the caller's allocator for the worker contexts. */
typedef struct lockalloc {
  scl_ctx *ctx;
  pthread_mutex_t mu;
} lockalloc;

static void *locked_alloc(void *ud, void *p, size_t osize, size_t nsize) {
  lockalloc *l = ud;
  pthread_mutex_lock(&l->mu);
  void *r = l->ctx->alloc(l->ctx->ud, p, osize, nsize);
  pthread_mutex_unlock(&l->mu);
  return r;
}

/*
 * Records in [from, to) of quote-free input: the bytes that are not CR or
 * LF and follow a CR, an LF or the start (from is a record start).  Stops
 * with *hasq at a quote, since then line ends need not end records.
 * SSE2 marks the starts of a 16-byte block as bytes of -1 (line ends of
 * the block shifted by one, the previous block's last one carried in) and
 * adds them up bytewise, summed every 255 blocks (no popcount: without
 * -mpopcnt the compiler makes it a libgcc call, a tenth of a threaded
 * read's time).
 */
static size_t count_records(const unsigned char *b, size_t from, size_t to,
                            int quote, int *hasq, unsigned *prevp) {
  size_t n = 0, i = from;
  unsigned prev = *prevp; /* 1: the byte before `from` ended a line */
  *hasq = 0;
#ifdef __SSE2__
  const __m128i vn = _mm_set1_epi8('\n'), vr = _mm_set1_epi8('\r');
  const __m128i vq = _mm_set1_epi8((char)(quote >= 0 ? quote : '\n'));
  const __m128i zero = _mm_setzero_si128();
  __m128i carry = _mm_cvtsi32_si128(prev ? 0xff : 0), acc = zero;
  unsigned blocks = 0;
  for (; to - i >= 16; i += 16) {
    __m128i x = _mm_loadu_si128((const __m128i *)(const void *)(b + i));
    if (quote >= 0 && _mm_movemask_epi8(_mm_cmpeq_epi8(x, vq))) {
      *hasq = 1;
      return n; /* (not used: the range is read by one thread) */
    }
    __m128i t = _mm_or_si128(_mm_cmpeq_epi8(x, vn), _mm_cmpeq_epi8(x, vr));
    __m128i before = _mm_or_si128(_mm_slli_si128(t, 1), carry);
    acc = _mm_sub_epi8(acc, _mm_andnot_si128(t, before));
    carry = _mm_srli_si128(t, 15);
    if (++blocks == 255) {
      __m128i sum = _mm_sad_epu8(acc, zero);
      n += (size_t)_mm_cvtsi128_si32(sum) +
           (size_t)_mm_cvtsi128_si32(_mm_srli_si128(sum, 8));
      acc = zero;
      blocks = 0;
    }
  }
  __m128i sum = _mm_sad_epu8(acc, zero);
  n += (size_t)_mm_cvtsi128_si32(sum) +
       (size_t)_mm_cvtsi128_si32(_mm_srli_si128(sum, 8));
  prev = (unsigned)_mm_cvtsi128_si32(carry) & 1;
#endif
  for (; i < to; i++) {
    unsigned c = b[i];
    if ((int)c == quote) {
      *hasq = 1;
      return n;
    }
    unsigned t = c == '\n' || c == '\r';
    n += !t && prev;
    prev = t;
  }
  *prevp = prev;
  return n;
}

/* Count a range in 8 MiB steps, giving back the pages behind. */
static void *count_main(void *arg) {
  worker *w = arg;
  int quote = w->g->r.quote ? w->g->r.quote : -1;
  size_t released = w->a, step = (size_t)8 << 20;
  unsigned prev = 1;
  w->count = 0;
  for (size_t at = w->a; at < w->b && !w->hasq; at += step) {
    size_t to = w->b - at > step ? at + step : w->b;
    w->count += count_records(w->s->data, at, to, quote, &w->hasq, &prev);
    release_range(w->s, w->a, &released, to);
  }
  return NULL;
}

static void *parse_main(void *arg) {
  worker *w = arg;
  ingest *g = w->g;
  tok tk;
  w->rc = tok_init(&tk, w->ctx, w->s, g->r.delim, g->r.quote, g->r.max_field,
                   SCLI_TOK_AUTO);
  if (w->rc) return NULL;
  tk.noswitch = 1;
  tk.names = g->hdr;
  tk.nnames = g->nfields;
  tk.pos = w->a;
  w->faulted = w->row;
  w->next_progress = w->row + REPORT_ROWS;
  w->next_report = w->row + AHEAD_ROWS / 2;
  fault_ahead(g, w->row, w->base + w->count, &w->faulted);
  w->rc = fused_rows(g, &tk, w->s, w);
  if (!w->rc && w->row != w->base + w->count)
    w->rc = scli_error(w->ctx, SCL_EINVAL, "%s: records miscounted",
                       w->s->name);
  if (!w->rc) report(g, &tk, w->s, w, 1);
  tok_free(&tk);
  return NULL;
}

/* Ranges [0, n) handed out in order to the threads that ask. */
typedef struct pool {
  worker *ws;
  size_t n;
  atomic_size_t next;
  void *(*fn)(void *);
} pool;

static void pool_work(pool *p, int caller) {
  for (;;) {
    size_t i = atomic_fetch_add(&p->next, 1);
    if (i >= p->n) return;
    p->ws[i].on_caller = caller;
    p->fn(&p->ws[i]);
  }
}

static void *pool_main(void *arg) {
  pool_work(arg, 0);
  return NULL;
}

/*
 * Run fn on workers [0, n) with nth threads, this one among them: each
 * takes the next range nobody has taken, so a thread slowed down by
 * other work on the machine simply takes fewer ranges.  Threads that
 * cannot be created leave their share to the others.
 */
static void run_workers(worker *ws, size_t n, size_t nth,
                        void *(*fn)(void *)) {
  pool p = {ws, n, 0, fn};
  atomic_init(&p.next, 0);
  pthread_t th[64];
  int started[64] = {0};
  if (nth > n) nth = n;
  if (nth > 64) nth = 64;
  for (size_t i = 1; i < nth; i++)
    started[i] = pthread_create(&th[i], NULL, pool_main, &p) == 0;
  pool_work(&p, 1);
  for (size_t i = 1; i < nth; i++)
    if (started[i]) pthread_join(th[i], NULL);
}

/*
 * Read the rest of source s from tk->pos (a record start, no quote seen
 * yet) with up to nth threads.  The bytes are cut into ranges at line
 * ends (four a thread, handed out in order to whichever thread is free,
 * so that one slowed by other work on the machine does less of it); the
 * threads first count each range's records (so every range
 * knows its first row and writes straight into the table's columns: no
 * copies, no extra memory), then parse them.  From the first range that
 * holds a quote on, the caller reads on alone, since a quoted line end
 * may lie anywhere after it.  Levels are merged range by range and
 * guessed columns that met text are converted at the end, which gives
 * exactly the table (and the first error) a single thread gives.
 */
static int read_parallel(ingest *g, tok *tk, source *s, size_t nth) {
  const unsigned char *b = s->data;
  size_t start = tk->pos, len = s->len, span = len - start;
  if (span < 2 * MIN_CHUNK) return SCL_OK;
  if (nth > span / MIN_CHUNK) nth = span / MIN_CHUNK;
  if (nth > 64) nth = 64;
  /* Four ranges a thread (of 2 MiB at least) for the pool to balance. */
  size_t nr = nth * 4;
  if (nr > span / (4 * MIN_CHUNK)) nr = span / (4 * MIN_CHUNK);
  if (nr < nth) nr = nth;
  scl_ctx *ctx = g->ctx;
  worker *ws = scli_calloc(ctx, nr, sizeof *ws);
  if (!ws) return scli_oom(ctx);
  lockalloc la = {ctx, PTHREAD_MUTEX_INITIALIZER};
  size_t n = 0, at = start;
  int rc = SCL_OK;
  for (size_t i = 0; i < nr && at < len; i++) {
    size_t e = i + 1 == nr ? len : start + span / nr * (i + 1);
    if (e < at) e = at;
    while (e < len && b[e] != '\n' && b[e] != '\r') e++;
    while (e < len && (b[e] == '\n' || b[e] == '\r')) e++;
    ws[n].g = g;
    ws[n].s = s;
    ws[n].a = at;
    ws[n].b = e;
    at = e;
    n++;
  }
  run_workers(ws, n, nth, count_main);
  size_t nq = 0;
  while (nq < n && !ws[nq].hasq) nq++;
  if (nq < 2) goto done; /* not worth it: read on alone */

  /* Rows for the counted ranges, file code, private levels. */
  size_t rows = g->nrows;
  for (size_t i = 0; i < nq; i++) {
    ws[i].base = ws[i].row = rows;
    rows += ws[i].count;
  }
  if (rows > g->cap) {
    if ((rc = scli_table_reserve(g->t, rows))) goto done;
    g->cap = rows;
    refresh_ptrs(g);
  }
  for (size_t k = 0; k < g->noc && !rc; k++)
    if (g->oc[k].fidx < 0 && !g->have_filecode) {
      rc = scli_table_intern(g->t, k, s->path, strlen(s->path), &g->filecode);
      g->have_filecode = !rc;
    }
  for (size_t i = 0; i < nq && !rc; i++) {
    worker *w = &ws[i];
    if (!(w->ctx = scl_ctx_new(locked_alloc, &la)) ||
        !(w->text = scli_calloc(ctx, g->noc, 1)) ||
        scl_table_new(w->ctx, &w->lt)) {
      rc = scli_oom(ctx);
      break;
    }
    for (size_t k = 0; k < g->noc && !rc; k++)
      if (scli_table_add_column(w->lt, scl_table_colname(g->t, k),
                                g->oc[k].state == ST_STR ? SCL_STRING
                                                         : SCL_NUMBER,
                                1))
        rc = scli_oom(ctx);
  }
  if (rc) goto done;

  g->ws = ws;
  g->nws = nq;
  run_workers(ws, nq, nth, parse_main);
  g->ws = NULL;
  g->nws = 0;
  for (size_t i = 0; i < nq; i++)
    if (ws[i].rc) { /* the first range's error is the first error */
      rc = scli_error(ctx, ws[i].rc, "%s", ws[i].ctx->msg);
      goto done;
    }

  /* Levels in order of first appearance, as one thread makes them. */
  for (size_t k = 0; k < g->noc && !rc; k++) {
    if (g->oc[k].fidx < 0 || g->oc[k].state != ST_STR) continue;
    for (size_t i = 0; i < nq && !rc; i++) {
      worker *w = &ws[i];
      size_t nl = scl_table_nlevels(w->lt, k);
      uint32_t *map = scli_malloc(ctx, (nl ? nl : 1) * sizeof *map);
      if (!map) {
        rc = scli_oom(ctx);
        break;
      }
      for (size_t c = 0; c < nl && !rc; c++) {
        size_t ln;
        const char *lv = scli_table_level_n(w->lt, k, (uint32_t)c, &ln);
        rc = scli_table_intern(g->t, k, lv, ln, &map[c]);
      }
      uint32_t *codes = g->code[k];
      if (!rc)
        for (size_t r = w->base; r < w->base + w->count; r++)
          codes[r] = map[codes[r]];
      scli_free(ctx, map, (nl ? nl : 1) * sizeof *map);
    }
  }
  g->nrows = rows;
  for (size_t k = 0; k < g->noc && !rc; k++) {
    int text = 0;
    for (size_t i = 0; i < nq; i++) text |= ws[i].text[k];
    if (text) rc = to_strings(g, k, rows);
  }
  if (!rc) {
    tk->pos = nq < n ? ws[nq].a : len;
    g->next_progress = g->nrows + REPORT_ROWS;
    g->next_report = g->nrows; /* fault the next rows in at once */
  }
done:
  for (size_t i = 0; i < n; i++) {
    scl_table_free(ws[i].lt);
    if (ws[i].text) scli_free(ctx, ws[i].text, g->noc ? g->noc : 1);
    scl_ctx_free(ws[i].ctx);
  }
  scli_free(ctx, ws, nr * sizeof *ws);
  pthread_mutex_destroy(&la.mu);
  return rc;
}

static int read_source(ingest *g, source *s) {
  tok tk;
  int rc = tok_init(&tk, g->ctx, s, g->r.delim, g->r.quote, g->r.max_field,
                    g->tokmode);
  if (rc) return rc;
  g->have_filecode = 0;
  rc = tok_next(&tk);
  if (rc || tk.nf == 0) goto done;
  if (!g->schema) {
    if ((rc = define_schema(g, &tk, s))) goto done;
    tk.names = g->hdr;
    tk.nnames = g->nfields;
    if (g->r.header && (rc = tok_next(&tk))) goto done;
  } else if (g->r.header) {
    if ((rc = check_header(g, &tk, s))) goto done;
    tk.names = g->hdr;
    tk.nnames = g->nfields;
    if ((rc = tok_next(&tk))) goto done;
  } else {
    tk.names = g->hdr;
    tk.nnames = g->nfields;
  }
  if (tk.fast && tk.nf) {
    /*
     * The record in hand goes the normal way (a column of text is known
     * as such from then on), the rest through threads and the loop.
     */
    if (tk.nf != g->nfields) {
      rc = ragged(g, &tk, s);
      goto done;
    }
    if ((rc = store_row(g, &tk, s, NULL))) goto done;
    if (g->nthreads > 1 && g->tokmode != SCLI_TOK_LIBCSV &&
        (rc = read_parallel(g, &tk, s, g->nthreads)))
      goto done;
    if ((rc = fused_rows(g, &tk, s, NULL)) || (rc = tok_next(&tk))) goto done;
  }
  while (tk.nf) {
    if (tk.nf != g->nfields) {
      rc = ragged(g, &tk, s);
      goto done;
    }
    if ((rc = store_row(g, &tk, s, NULL))) goto done;
    if (g->nrows >= g->next_report) report(g, &tk, s, NULL, 0);
    if ((rc = tok_next(&tk))) goto done;
  }
done:
  tok_free(&tk);
  g->done += s->len;
  return rc;
}

/* opts->threads, or the default (scli_threads). */
static size_t thread_count(const scl_csv_opts *o) {
  return o->threads > 0 ? (size_t)(o->threads > 64 ? 64 : o->threads)
                        : scli_threads();
}

/* Read the opened sources into one table. */
static int ingest_run(scl_ctx *ctx, source *src, size_t nsrc, int multi,
                      const scl_csv_opts *opts, int tokmode, scl_table **out) {
  ingest g;
  memset(&g, 0, sizeof g);
  g.ctx = ctx;
  g.src = src;
  g.nsrc = nsrc;
  g.multi = multi;
  g.tokmode = tokmode;
  g.next_report = AHEAD_ROWS / 2;
  g.next_progress = REPORT_ROWS;
  int rc = resolve_opts(ctx, opts, &g.r);
  g.nthreads = thread_count(g.r.o);
  for (size_t i = 0; i < nsrc; i++) g.total += src[i].len;
  for (size_t i = 0; i < nsrc && !rc; i++) rc = read_source(&g, &src[i]);
  if (!rc && !g.t) rc = scl_table_new(ctx, &g.t); /* no records at all */
  if (rc) {
    ingest_free(&g);
    return rc;
  }
  scli_table_set_nrows(g.t, g.nrows);
  scli_table_shrink(g.t);
  if (g.r.o->progress && g.r.o->progress_fn)
    g.r.o->progress_fn(g.r.o->progress_ud, 1.0);
  *out = g.t;
  g.t = NULL;
  ingest_free(&g);
  return SCL_OK;
}

static void close_sources(scl_ctx *ctx, source *src, size_t n) {
  if (!src) return;
  for (size_t i = 0; i < n; i++) source_close(ctx, &src[i]);
  scli_free(ctx, src, (n ? n : 1) * sizeof *src);
}

static int read_paths(scl_ctx *ctx, const char *const *paths, size_t n,
                      int multi, const scl_csv_opts *opts, scl_table **out) {
  source *src = scli_calloc(ctx, n ? n : 1, sizeof *src);
  if (!src) return scli_oom(ctx);
  int rc = SCL_OK;
  size_t opened = 0;
  for (; opened < n && !rc; opened++) {
    if (!paths[opened]) {
      rc = scli_error(ctx, SCL_EINVAL, "csv: path %zu is NULL", opened + 1);
      break;
    }
    rc = source_open(ctx, paths[opened], &src[opened]);
  }
  if (!rc) rc = ingest_run(ctx, src, n, multi, opts, SCLI_TOK_AUTO, out);
  close_sources(ctx, src, n);
  return rc;
}

/* --------------------------------------------------------- public API */

static int has_glob(const char *p) { return strpbrk(p, "*?[") != NULL; }

int scl_table_read_csv(scl_ctx *ctx, const char *path,
                       const scl_csv_opts *opts, scl_table **out) {
  *out = NULL;
  if (!path) return scli_error(ctx, SCL_EINVAL, "read_csv: path is NULL");
  struct stat st;
  if (strcmp(path, "-") == 0 || !has_glob(path) || stat(path, &st) == 0)
    return read_paths(ctx, &path, 1, 0, opts, out);
  glob_t gl;
  int g = glob(path, 0, NULL, &gl);
  if (g == GLOB_NOMATCH)
    return scli_error(ctx, SCL_EIO, "%s: no files match the pattern", path);
  if (g == GLOB_NOSPACE) {
    globfree(&gl);
    return scli_oom(ctx);
  }
  if (g != 0) {
    globfree(&gl);
    return scli_error(ctx, SCL_EIO, "%s: cannot expand the pattern: %s", path,
                      strerror(errno));
  }
  int rc = read_paths(ctx, (const char *const *)gl.gl_pathv, gl.gl_pathc, 1,
                      opts, out);
  globfree(&gl);
  return rc;
}

int scl_table_read_csv_files(scl_ctx *ctx, const char *const *paths,
                             size_t npaths, const scl_csv_opts *opts,
                             scl_table **out) {
  *out = NULL;
  if (!paths || npaths == 0)
    return scli_error(ctx, SCL_EINVAL, "read_csv_files: no paths given");
  return read_paths(ctx, paths, npaths, 1, opts, out);
}

int scli_table_read_csv_buffer_tok(scl_ctx *ctx, const char *name,
                                   const char *buf, size_t len,
                                   const scl_csv_opts *opts, int tokmode,
                                   scl_table **out) {
  *out = NULL;
  source s;
  int rc = source_buffer(ctx, name, buf, len, &s);
  if (rc) return rc;
  rc = ingest_run(ctx, &s, 1, 0, opts, tokmode, out);
  source_close(ctx, &s);
  return rc;
}

int scl_table_read_csv_buffer(scl_ctx *ctx, const char *name, const char *buf,
                              size_t len, const scl_csv_opts *opts,
                              scl_table **out) {
  return scli_table_read_csv_buffer_tok(ctx, name, buf, len, opts,
                                        SCLI_TOK_AUTO, out);
}

/* ---------------------------------------------------- record iterator */

struct scl_csv_reader {
  scl_ctx *ctx;
  source src;
  tok tk;
  size_t line;
};

/*
 * The second half of opening a reader r (zeroed, its source opened with
 * status rc): the tokenizer on the source, then r to *out; on any failure
 * everything is released, so both openers share one cleanup.
 */
static int reader_finish(scl_ctx *ctx, scl_csv_reader *r, int rc,
                         const scl_csv_opts *opts, int tokmode,
                         scl_csv_reader **out) {
  ropts ro;
  if (!rc) rc = resolve_opts(ctx, opts, &ro);
  if (!rc)
    rc = tok_init(&r->tk, ctx, &r->src, ro.delim, ro.quote, ro.max_field,
                  tokmode);
  if (rc) {
    tok_free(&r->tk);
    source_close(ctx, &r->src);
    scli_free(ctx, r, sizeof *r);
    return rc;
  }
  *out = r;
  return SCL_OK;
}

int scli_csv_open_buffer(scl_ctx *ctx, const char *name, const char *buf,
                         size_t len, const scl_csv_opts *opts, int tokmode,
                         scl_csv_reader **out) {
  *out = NULL;
  scl_csv_reader *r = scli_calloc(ctx, 1, sizeof *r);
  if (!r) return scli_oom(ctx);
  r->ctx = ctx;
  int rc = source_buffer(ctx, name, buf, len, &r->src);
  return reader_finish(ctx, r, rc, opts, tokmode, out);
}

int scl_csv_open(scl_ctx *ctx, const char *path, const scl_csv_opts *opts,
                 scl_csv_reader **out) {
  *out = NULL;
  if (!path) return scli_error(ctx, SCL_EINVAL, "csv_open: path is NULL");
  scl_csv_reader *r = scli_calloc(ctx, 1, sizeof *r);
  if (!r) return scli_oom(ctx);
  r->ctx = ctx;
  int rc = source_open(ctx, path, &r->src);
  return reader_finish(ctx, r, rc, opts, SCLI_TOK_AUTO, out);
}

int scl_csv_next(scl_csv_reader *r, const char *const **fields,
                 const size_t **lens, size_t *nfields) {
  *nfields = 0;
  int rc = tok_next(&r->tk);
  if (!rc) rc = tok_materialize(&r->tk);
  if (rc) return rc;
  if (r->tk.nf) r->line = line_of(&r->tk, r->tk.rec_off);
  *fields = r->tk.fptr;
  *lens = r->tk.flen;
  *nfields = r->tk.nf;
  return SCL_OK;
}

size_t scl_csv_line(const scl_csv_reader *r) { return r ? r->line : 0; }

void scl_csv_close(scl_csv_reader *r) {
  if (!r) return;
  scl_ctx *ctx = r->ctx;
  tok_free(&r->tk);
  source_close(ctx, &r->src);
  scli_free(ctx, r, sizeof *r);
}
