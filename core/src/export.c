/*
 * export.c -- machine-readable results: tables as CSV, and a JSON writer
 * for tables, fits and envelopes.
 *
 * Both formats promise that numbers come back bit for bit, so numbers are
 * printed with the fewest of 15, 16 or 17 digits that strtod reads back
 * to the same double.  Files are written beside their target under a
 * temporary name and renamed into place, so a reader (or a crash) never
 * sees half a file.  Temporary names are atomic.c's, shared with the
 * renderer: ".NAME.tmp-PID-XXXXXX", and those of dead processes are swept
 * away.
 *
 * JSON is written by a small streaming writer rather than through cJSON:
 * cJSON allocates through process-wide hooks (so not through the context
 * allocator) and its printer (1.7.15) accepts a 15-digit form within a
 * relative epsilon, printing 0.1 + 0.2 as 0.3, which does not round-trip.
 */
#include "internal.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define JSON_MAXDEPTH 512

/* ------------------------------------------------------------ numbers */

/*
 * The shortest of %.15g, %.16g and %.17g that reads back to v exactly
 * (%.17g always does).  The decimal point is '.' whatever the locale.
 * v must be finite.  Returns the length; buf holds at least 32 bytes.
 */
static int format_double(char *buf, double v) {
  int n = 0;
  for (int prec = 15; prec <= 17; prec++) {
    n = snprintf(buf, 32, "%.*g", prec, v);
    if (prec == 17) break;
    double back = strtod(buf, NULL);
    if (memcmp(&back, &v, sizeof v) == 0) break;
  }
  for (int i = 0; i < n; i++)
    if (buf[i] == ',') buf[i] = '.'; /* a locale's decimal comma */
  return n;
}

/* ------------------------------------------------------------ atomic files */

typedef struct {
  const char *path; /* the target */
  char *tmp;        /* NULL when writing to stdout */
  size_t tmpsize;
  FILE *f;
} outfile;

/* Open a new file beside path under a unique temporary name (atomic.c). */
static int out_open(scl_ctx *ctx, const char *what, const char *path,
                    outfile *o) {
  memset(o, 0, sizeof *o);
  o->path = path;
  if (!path || !*path)
    return scli_error(ctx, SCL_EINVAL, "%s: empty output path", what);
  if (strcmp(path, "-") == 0) {
    o->f = stdout;
    return SCL_OK;
  }
  o->tmpsize = scli_tmp_size(path);
  o->tmp = scli_malloc(ctx, o->tmpsize);
  if (!o->tmp) return scli_oom(ctx);
  int fd = scli_tmp_open(path, o->tmp, o->tmpsize);
  if (fd < 0) {
    int e = errno;
    scli_free(ctx, o->tmp, o->tmpsize);
    o->tmp = NULL;
    return scli_error(ctx, SCL_EIO, "%s: cannot write '%s': %s", what, path,
                      strerror(e));
  }
  o->f = fdopen(fd, "wb");
  if (!o->f) {
    int e = errno;
    close(fd);
    unlink(o->tmp);
    scli_free(ctx, o->tmp, o->tmpsize);
    o->tmp = NULL;
    return scli_error(ctx, e == ENOMEM ? SCL_ENOMEM : SCL_EIO,
                      "%s: cannot write '%s': %s", what, path, strerror(e));
  }
  return SCL_OK;
}

/*
 * Finish: on success (rc == SCL_OK) flush, close and rename into place;
 * otherwise drop the temporary file.  Returns the final status.
 */
static int out_close(scl_ctx *ctx, const char *what, outfile *o, int rc) {
  if (!o->tmp) { /* stdout */
    if (o->f && fflush(o->f) != 0 && rc == SCL_OK)
      rc = scli_error(ctx, SCL_EIO, "%s: cannot write to standard output: %s",
                      what, strerror(errno));
    return rc;
  }
  if (rc == SCL_OK && (fflush(o->f) != 0 || ferror(o->f)))
    rc = scli_error(ctx, SCL_EIO, "%s: cannot write '%s': %s", what, o->path,
                    strerror(errno));
  if (fclose(o->f) != 0 && rc == SCL_OK)
    rc = scli_error(ctx, SCL_EIO, "%s: cannot write '%s': %s", what, o->path,
                    strerror(errno));
  if (rc == SCL_OK && rename(o->tmp, o->path) != 0)
    rc = scli_error(ctx, SCL_EIO, "%s: cannot rename into '%s': %s", what,
                    o->path, strerror(errno));
  if (rc != SCL_OK) unlink(o->tmp);
  scli_free(ctx, o->tmp, o->tmpsize);
  o->tmp = NULL;
  return rc;
}

/* ------------------------------------------------------------ CSV */

/* Does the field need quotes (RFC 4180: comma, quote, CR, LF)? */
static int needs_quotes(const char *s, size_t n) {
  for (size_t i = 0; i < n; i++)
    if (s[i] == ',' || s[i] == '"' || s[i] == '\n' || s[i] == '\r') return 1;
  return 0;
}

static void put_field(FILE *f, const char *s, size_t n) {
  if (!needs_quotes(s, n)) {
    fwrite(s, 1, n, f);
    return;
  }
  putc('"', f);
  const char *end = s + n;
  while (s < end) {
    const char *q = memchr(s, '"', (size_t)(end - s));
    size_t k = q ? (size_t)(q - s) + 1 : (size_t)(end - s);
    fwrite(s, 1, k, f);
    if (q) putc('"', f); /* the quote again */
    s += k;
  }
  putc('"', f);
}

static void put_number(FILE *f, double v) {
  char buf[32];
  if (isnan(v)) return; /* missing: an empty field */
  if (isinf(v)) {
    fputs(v > 0 ? "inf" : "-inf", f);
    return;
  }
  fwrite(buf, 1, (size_t)format_double(buf, v), f);
}

int scl_table_write_csv(scl_ctx *ctx, const scl_table *t, const char *path) {
  if (!t) return scli_error(ctx, SCL_EINVAL, "write_csv: no table");
  size_t nc = scl_table_ncols(t), nr = scl_table_nrows(t);
  if (nc == 0)
    return scli_error(ctx, SCL_EINVAL,
                      "write_csv: '%s': the table has no columns", path);
  outfile o;
  int rc = out_open(ctx, "write_csv", path, &o);
  if (rc) return rc;
  FILE *f = o.f;
  for (size_t c = 0; c < nc; c++) {
    const char *name = scl_table_colname(t, c);
    if (c) putc(',', f);
    put_field(f, name, strlen(name));
  }
  putc('\n', f);
  for (size_t r = 0; r < nr && !ferror(f); r++) {
    for (size_t c = 0; c < nc; c++) {
      if (c) putc(',', f);
      const double *num = scl_table_numbers(t, c);
      if (num) {
        put_number(f, num[r]);
      } else {
        size_t len;
        const char *s =
            scli_table_level_n(t, c, scl_table_codes(t, c)[r], &len);
        put_field(f, s, len);
      }
    }
    putc('\n', f);
  }
  if (ferror(f))
    rc = scli_error(ctx, SCL_EIO, "write_csv: cannot write '%s': %s", path,
                    strerror(errno));
  return out_close(ctx, "write_csv", &o, rc);
}

/* ------------------------------------------------------------ JSON writer */

struct scl_json {
  scl_ctx *ctx;
  char *buf;
  size_t len, cap;
  int indent;
  int err;          /* sticky failure code */
  int after_key;    /* a key was written; its value is due */
  int done;         /* the top-level value is complete */
  size_t depth;
  char kind[JSON_MAXDEPTH];      /* 'o' or 'a' per open container */
  unsigned char any[JSON_MAXDEPTH]; /* 1 once the container has an item */
};

/* Record a failure; the writer keeps returning it. */
static int jfail(scl_json *j, int code, const char *msg) {
  j->err = code;
  if (code == SCL_ENOMEM) return scli_oom(j->ctx);
  return scli_error(j->ctx, code, "json: %s", msg);
}

/* Room for n more bytes (and a NUL). */
static int jreserve(scl_json *j, size_t n) {
  if (j->len + n + 1 <= j->cap) return SCL_OK;
  size_t cap = j->cap ? j->cap : 256;
  while (cap < j->len + n + 1) cap *= 2;
  char *p = scli_realloc(j->ctx, j->buf, j->cap, cap);
  if (!p) return jfail(j, SCL_ENOMEM, NULL);
  j->buf = p;
  j->cap = cap;
  return SCL_OK;
}

static void jput(scl_json *j, const char *s, size_t n) {
  memcpy(j->buf + j->len, s, n);
  j->len += n;
  j->buf[j->len] = '\0';
}

static int jwrite(scl_json *j, const char *s, size_t n) {
  if (jreserve(j, n)) return j->err;
  jput(j, s, n);
  return SCL_OK;
}

/* A newline and the indentation of the current depth (pretty mode). */
static int jnewline(scl_json *j) {
  if (!j->indent) return SCL_OK;
  size_t n = 1 + j->depth * (size_t)j->indent;
  if (jreserve(j, n)) return j->err;
  j->buf[j->len++] = '\n';
  memset(j->buf + j->len, ' ', n - 1);
  j->len += n - 1;
  j->buf[j->len] = '\0';
  return SCL_OK;
}

/*
 * Before a value (is_key = 0) or a key (is_key = 1): check that it is in
 * place and write the separator that precedes it.
 */
static int jbefore(scl_json *j, int is_key) {
  if (j->err) return j->err;
  if (j->depth == 0) {
    if (is_key)
      return jfail(j, SCL_EINVAL, "a key outside an object");
    if (j->done)
      return jfail(j, SCL_EINVAL, "a second top-level value");
    return SCL_OK;
  }
  char k = j->kind[j->depth - 1];
  if (k == 'o' && !is_key && !j->after_key)
    return jfail(j, SCL_EINVAL, "a value in an object needs a key first");
  if (k == 'o' && is_key && j->after_key)
    return jfail(j, SCL_EINVAL, "a key where a value is due");
  if (k == 'a' && is_key)
    return jfail(j, SCL_EINVAL, "a key inside an array");
  if (j->after_key) { /* the value of a member: ": " already written */
    j->after_key = 0;
    return SCL_OK;
  }
  if (j->any[j->depth - 1] && jwrite(j, ",", 1)) return j->err;
  j->any[j->depth - 1] = 1;
  return jnewline(j);
}

/* After a complete value: at depth 0 the document is done. */
static int jafter(scl_json *j) {
  if (j->depth == 0) j->done = 1;
  return SCL_OK;
}

int scl_json_new(scl_ctx *ctx, int indent, scl_json **out) {
  *out = NULL;
  if (indent < 0 || indent > 16)
    return scli_error(ctx, SCL_EINVAL, "json: indent %d is not in 0..16",
                      indent);
  scl_json *j = scli_calloc(ctx, 1, sizeof *j);
  if (!j) return scli_oom(ctx);
  j->ctx = ctx;
  j->indent = indent;
  *out = j;
  return SCL_OK;
}

void scl_json_free(scl_json *j) {
  if (!j) return;
  scli_free(j->ctx, j->buf, j->cap);
  scli_free(j->ctx, j, sizeof *j);
}

static int jopen(scl_json *j, char kind) {
  if (jbefore(j, 0)) return j->err;
  if (j->depth == JSON_MAXDEPTH)
    return jfail(j, SCL_EINVAL, "nested more than 512 levels");
  if (jwrite(j, kind == 'o' ? "{" : "[", 1)) return j->err;
  j->kind[j->depth] = kind;
  j->any[j->depth] = 0;
  j->depth++;
  return SCL_OK;
}

int scl_json_begin_object(scl_json *j) { return jopen(j, 'o'); }
int scl_json_begin_array(scl_json *j) { return jopen(j, 'a'); }

int scl_json_end(scl_json *j) {
  if (j->err) return j->err;
  if (j->depth == 0)
    return jfail(j, SCL_EINVAL, "end() with nothing open");
  if (j->after_key)
    return jfail(j, SCL_EINVAL, "end() where a value is due");
  char k = j->kind[--j->depth];
  if (j->any[j->depth] && jnewline(j)) return j->err;
  if (jwrite(j, k == 'o' ? "}" : "]", 1)) return j->err;
  return jafter(j);
}

/* Length of the valid UTF-8 sequence at s (at most n bytes), 0 if none. */
static size_t utf8_len(const unsigned char *s, size_t n) {
  unsigned c = s[0];
  size_t k;
  unsigned min;
  if (c < 0x80) return 1;
  if (c >= 0xC2 && c <= 0xDF) k = 2, min = 0x80;
  else if (c >= 0xE0 && c <= 0xEF) k = 3, min = 0x800;
  else if (c >= 0xF0 && c <= 0xF4) k = 4, min = 0x10000;
  else return 0;
  if (k > n) return 0;
  unsigned cp = c & (0xFF >> (k + 1));
  for (size_t i = 1; i < k; i++) {
    if ((s[i] & 0xC0) != 0x80) return 0;
    cp = (cp << 6) | (s[i] & 0x3F);
  }
  if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return 0;
  return k;
}

/* A quoted, escaped JSON string (invalid UTF-8 becomes U+FFFD). */
static int jquote(scl_json *j, const char *s, size_t n) {
  /* worst case: every byte becomes \u00XX or \ufffd (6 bytes) */
  if (n > (SIZE_MAX - 3) / 6) return jfail(j, SCL_ENOMEM, NULL);
  if (jreserve(j, n * 6 + 2)) return j->err;
  const unsigned char *p = (const unsigned char *)s, *end = p + n;
  char *o = j->buf + j->len;
  *o++ = '"';
  while (p < end) {
    unsigned c = *p;
    if (c == '"' || c == '\\') {
      *o++ = '\\';
      *o++ = (char)c;
      p++;
    } else if (c < 0x20) {
      static const char short_esc[] = "btn\0fr"; /* 8..13, 11 has none */
      *o++ = '\\';
      if (c >= 8 && c <= 13 && short_esc[c - 8]) {
        *o++ = short_esc[c - 8];
      } else {
        o += sprintf(o, "u%04x", c);
      }
      p++;
    } else if (c < 0x80) {
      *o++ = (char)c;
      p++;
    } else {
      size_t k = utf8_len(p, (size_t)(end - p));
      if (k) {
        memcpy(o, p, k);
        o += k;
        p += k;
      } else {
        memcpy(o, "\\ufffd", 6);
        o += 6;
        p++;
      }
    }
  }
  *o++ = '"';
  *o = '\0';
  j->len = (size_t)(o - j->buf);
  return SCL_OK;
}

static size_t arglen(const char *s, ptrdiff_t len) {
  return len < 0 ? strlen(s) : (size_t)len;
}

int scl_json_key(scl_json *j, const char *key, ptrdiff_t len) {
  if (jbefore(j, 1)) return j->err;
  if (!key) return jfail(j, SCL_EINVAL, "NULL key");
  if (jquote(j, key, arglen(key, len))) return j->err;
  if (jwrite(j, j->indent ? ": " : ":", j->indent ? 2 : 1)) return j->err;
  j->after_key = 1;
  return SCL_OK;
}

int scl_json_string(scl_json *j, const char *s, ptrdiff_t len) {
  if (jbefore(j, 0)) return j->err;
  if (!s) return jfail(j, SCL_EINVAL, "NULL string");
  if (jquote(j, s, arglen(s, len))) return j->err;
  return jafter(j);
}

/* A number's text, or null when it is not finite. */
static int jnum(scl_json *j, double v) {
  char buf[32];
  if (!isfinite(v)) return jwrite(j, "null", 4);
  return jwrite(j, buf, (size_t)format_double(buf, v));
}

int scl_json_number(scl_json *j, double v) {
  if (jbefore(j, 0) || jnum(j, v)) return j->err;
  return jafter(j);
}

int scl_json_integer(scl_json *j, int64_t v) {
  char buf[32];
  if (jbefore(j, 0)) return j->err;
  int n = snprintf(buf, sizeof buf, "%lld", (long long)v);
  if (jwrite(j, buf, (size_t)n)) return j->err;
  return jafter(j);
}

int scl_json_bool(scl_json *j, int b) {
  if (jbefore(j, 0)) return j->err;
  if (jwrite(j, b ? "true" : "false", b ? 4 : 5)) return j->err;
  return jafter(j);
}

int scl_json_null(scl_json *j) {
  if (jbefore(j, 0) || jwrite(j, "null", 4)) return j->err;
  return jafter(j);
}

int scl_json_numbers(scl_json *j, const double *v, size_t n) {
  if (jbefore(j, 0) || jwrite(j, "[", 1)) return j->err;
  for (size_t i = 0; i < n; i++) {
    if (i && jwrite(j, j->indent ? ", " : ",", j->indent ? 2 : 1))
      return j->err;
    if (jnum(j, v[i])) return j->err;
  }
  if (jwrite(j, "]", 1)) return j->err;
  return jafter(j);
}

int scl_json_table(scl_json *j, const scl_table *t) {
  if (!t) return j->err ? j->err : jfail(j, SCL_EINVAL, "no table");
  if (scl_json_begin_object(j)) return j->err;
  size_t nr = scl_table_nrows(t);
  for (size_t c = 0; c < scl_table_ncols(t); c++) {
    if (scl_json_key(j, scl_table_colname(t, c), -1)) return j->err;
    const double *num = scl_table_numbers(t, c);
    if (num) {
      if (scl_json_numbers(j, num, nr)) return j->err;
      continue;
    }
    const uint32_t *codes = scl_table_codes(t, c);
    if (jbefore(j, 0) || jwrite(j, "[", 1)) return j->err;
    for (size_t r = 0; r < nr; r++) {
      size_t len;
      const char *s = scli_table_level_n(t, c, codes[r], &len);
      if (r && jwrite(j, j->indent ? ", " : ",", j->indent ? 2 : 1))
        return j->err;
      if (jquote(j, s, len)) return j->err;
    }
    if (jwrite(j, "]", 1)) return j->err;
  }
  return scl_json_end(j);
}

/* {"name": v[0], ...} over the fit's parameter names. */
static int named(scl_json *j, const scl_fit *f, const char *key,
                 const double *v) {
  scl_json_key(j, key, -1);
  scl_json_begin_object(j);
  for (size_t i = 0; i < f->nparams; i++) {
    scl_json_key(j, f->names[i], -1);
    scl_json_number(j, v[i]);
  }
  return scl_json_end(j);
}

int scl_json_fit(scl_json *j, const scl_fit *f) {
  if (!f) return j->err ? j->err : jfail(j, SCL_EINVAL, "no fit");
  /* the writer's errors are sticky: check once at the end */
  scl_json_begin_object(j);
  scl_json_key(j, "kind", -1);
  scl_json_string(j, scl_fit_kind_name(f->kind), -1);
  named(j, f, "params", f->params);
  named(j, f, "stderr", f->se);
  if (f->ci_lo && f->ci_hi) {
    scl_json_key(j, "ci", -1);
    scl_json_begin_object(j);
    for (size_t i = 0; i < f->nparams; i++) {
      double ci[2] = {f->ci_lo[i], f->ci_hi[i]};
      scl_json_key(j, f->names[i], -1);
      scl_json_numbers(j, ci, 2);
    }
    scl_json_end(j);
  }
  scl_json_key(j, "rss", -1);
  scl_json_number(j, f->rss);
  scl_json_key(j, "r2", -1);
  scl_json_number(j, f->r2);
  scl_json_key(j, "n", -1);
  scl_json_integer(j, (int64_t)f->n);
  scl_json_key(j, "iterations", -1);
  scl_json_integer(j, f->iterations);
  scl_json_key(j, "converged", -1);
  scl_json_bool(j, f->converged);
  scl_json_key(j, "reason", -1);
  scl_json_string(j, f->reason, (ptrdiff_t)strnlen(f->reason,
                                                   sizeof f->reason));
  if (f->kind == SCL_FIT_CHINCHILLA) {
    scl_json_key(j, "extra", -1);
    scl_json_begin_object(j);
    scl_json_key(j, "a", -1);
    scl_json_number(j, f->extra[0]);
    scl_json_key(j, "b", -1);
    scl_json_number(j, f->extra[1]);
    scl_json_end(j);
  }
  if (f->kind == SCL_FIT_LINEAR) {
    scl_json_key(j, "intercept", -1);
    scl_json_bool(j, f->extra[0] == 1);
  }
  return scl_json_end(j);
}

int scl_json_envelope(scl_json *j, const scl_envelope *e,
                      const char *const *curve_names) {
  if (!e) return j->err ? j->err : jfail(j, SCL_EINVAL, "no envelope");
  scl_json_begin_object(j);
  scl_json_key(j, "x", -1);
  scl_json_numbers(j, e->x, e->n);
  scl_json_key(j, "y", -1);
  scl_json_numbers(j, e->y, e->n);
  scl_json_key(j, "curve", -1);
  if (jbefore(j, 0) || jwrite(j, "[", 1)) return j->err;
  for (size_t i = 0; i < e->n; i++) {
    char buf[32];
    if (i && jwrite(j, j->indent ? ", " : ",", j->indent ? 2 : 1))
      return j->err;
    if (curve_names) {
      const char *s = curve_names[e->curve[i]];
      if (!s) return jfail(j, SCL_EINVAL, "NULL curve name");
      if (jquote(j, s, strlen(s))) return j->err;
    } else {
      int n = snprintf(buf, sizeof buf, "%zu", e->curve[i]);
      if (jwrite(j, buf, (size_t)n)) return j->err;
    }
  }
  if (jwrite(j, "]", 1)) return j->err;
  scl_json_key(j, "excluded", -1);
  scl_json_integer(j, (int64_t)e->excluded);
  return scl_json_end(j);
}

int scl_json_text(scl_json *j, const char **text, size_t *len) {
  if (j->err) return j->err;
  if (!j->done)
    return scli_error(j->ctx, SCL_EINVAL, "json: the document is incomplete "
                      "(%zu open containers)", j->depth);
  *text = j->buf;
  if (len) *len = j->len;
  return SCL_OK;
}

int scl_json_write(scl_json *j, const char *path) {
  const char *text;
  size_t len;
  int rc = scl_json_text(j, &text, &len);
  if (rc) return rc;
  outfile o;
  rc = out_open(j->ctx, "write_json", path, &o);
  if (rc) return rc;
  if (fwrite(text, 1, len, o.f) != len || putc('\n', o.f) == EOF)
    rc = scli_error(j->ctx, SCL_EIO, "write_json: cannot write '%s': %s",
                    path, strerror(errno));
  return out_close(j->ctx, "write_json", &o, rc);
}
