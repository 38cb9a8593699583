/*
 * table.c -- columnar tables of numbers and interned strings.
 *
 * Each column owns its storage and capacity.  A string column stores one
 * uint32 code per row into a list of distinct strings (levels); the
 * levels live in an arena of large chunks and are found again through an
 * open-addressing hash table of codes, so a run name repeated on a million
 * rows costs one copy and a four-byte code per row.
 *
 * Functions that can fail build what they need first and only then touch
 * the table, so a failure (SCL_ENOMEM included) leaves the table as it
 * was and leaks nothing.
 */
#include "internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define NO_CODE UINT32_MAX
#define ARENA_MIN 4096
#define ARENA_MAX (256 * 1024)

typedef struct chunk {
  struct chunk *next;
  size_t size, used; /* size of data[] */
  char data[];
} chunk;

typedef struct level {
  char *s;       /* NUL-terminated, in the arena */
  size_t len;
  uint32_t hash;
} level;

typedef struct column {
  char *name;
  scl_type type;
  size_t cap;        /* rows allocated in num or codes */
  double *num;       /* SCL_NUMBER */
  uint32_t *codes;   /* SCL_STRING */
  level *lev;        /* levels */
  size_t nlev, levcap;
  uint32_t *slots;   /* hash: code + 1, 0 for empty */
  size_t nslots;     /* a power of two, or 0 */
  chunk *arena;
  uint32_t last;     /* the code interned last: runs repeat */
} column;

struct scl_table {
  scl_ctx *ctx;
  size_t nrows;
  column *cols;
  size_t ncols, colcap;
};

scl_ctx *scli_table_ctx(const scl_table *t) { return t->ctx; }

/* ------------------------------------------------------------ strings */

/*
 * A small multiply-xorshift hash over 8-byte words: run names and
 * methods are short, so speed matters more than avalanche quality.
 */
static uint32_t hash_bytes(const char *s, size_t n) {
  uint64_t h = 0x9e3779b97f4a7c15ULL ^ (n * 0xff51afd7ed558ccdULL);
  uint64_t w;
  while (n >= 8) {
    memcpy(&w, s, 8);
    h = (h ^ w) * 0xbf58476d1ce4e5b9ULL;
    h ^= h >> 31;
    s += 8;
    n -= 8;
  }
  if (n) {
    w = 0;
    memcpy(&w, s, n);
    h = (h ^ w) * 0x94d049bb133111ebULL;
  }
  h ^= h >> 29;
  h *= 0xbf58476d1ce4e5b9ULL;
  h ^= h >> 32;
  return (uint32_t)h;
}

/* Copy s[0..n) plus a NUL into the column's arena. */
static char *arena_copy(scl_ctx *ctx, column *c, const char *s, size_t n) {
  chunk *k = c->arena;
  if (!k || k->size - k->used < n + 1) {
    size_t want = k ? k->size * 2 : ARENA_MIN;
    if (want > ARENA_MAX) want = ARENA_MAX;
    if (want < n + 1) want = n + 1;
    chunk *nk = scli_malloc(ctx, sizeof *nk + want);
    if (!nk) return NULL;
    nk->size = want;
    nk->used = 0;
    if (k && k->size - k->used >= ARENA_MIN / 4 && want == n + 1) {
      /* A big string in its own chunk: keep filling the current one. */
      nk->next = k->next;
      k->next = nk;
    } else {
      nk->next = k;
      c->arena = nk;
    }
    k = nk;
  }
  char *d = k->data + k->used;
  memcpy(d, s, n);
  d[n] = '\0';
  k->used += n + 1;
  return d;
}

static void column_free(scl_ctx *ctx, column *c) {
  scli_free(ctx, c->name, strlen(c->name) + 1);
  scli_free(ctx, c->num, c->cap * sizeof *c->num);
  scli_free(ctx, c->codes, c->cap * sizeof *c->codes);
  scli_free(ctx, c->lev, c->levcap * sizeof *c->lev);
  scli_free(ctx, c->slots, c->nslots * sizeof *c->slots);
  for (chunk *k = c->arena, *nx; k; k = nx) {
    nx = k->next;
    scli_free(ctx, k, sizeof *k + k->size);
  }
  memset(c, 0, sizeof *c);
}

/* Rebuild the hash slots of c from its levels (no allocation). */
static void rehash_into(column *c, uint32_t *slots, size_t nslots) {
  size_t mask = nslots - 1;
  memset(slots, 0, nslots * sizeof *slots);
  for (size_t i = 0; i < c->nlev; i++) {
    size_t j = c->lev[i].hash & mask;
    while (slots[j]) j = (j + 1) & mask;
    slots[j] = (uint32_t)i + 1;
  }
}

/*
 * a[0..n) == b[0..n) for the short strings of logs (run names, methods)
 * without a call to memcmp: overlapping 8-byte words cover 8..32 bytes,
 * 4-byte words 4..7.  Every load stays inside both strings.
 */
static inline int same_bytes(const char *a, const char *b, size_t n) {
  if (n >= 8 && n <= 32) {
    uint64_t x, y, u, v;
    memcpy(&x, a, 8);
    memcpy(&y, b, 8);
    memcpy(&u, a + n - 8, 8);
    memcpy(&v, b + n - 8, 8);
    if ((x ^ y) | (u ^ v)) return 0;
    if (n <= 16) return 1;
    memcpy(&x, a + 8, 8);
    memcpy(&y, b + 8, 8);
    memcpy(&u, a + n - 16, 8);
    memcpy(&v, b + n - 16, 8);
    return !((x ^ y) | (u ^ v));
  }
  if (n >= 4 && n < 8) {
    uint32_t x, y, u, v;
    memcpy(&x, a, 4);
    memcpy(&y, b, 4);
    memcpy(&u, a + n - 4, 4);
    memcpy(&v, b + n - 4, 4);
    return !((x ^ y) | (u ^ v));
  }
  return memcmp(a, b, n) == 0;
}

/*
 * Find or add the level s[0..n) of string column c.  On failure the
 * column is unchanged (it may hold a larger hash or level array).
 */
static int intern(scl_ctx *ctx, column *c, const char *s, size_t n,
                  uint32_t *code) {
  if (c->last != NO_CODE && c->lev[c->last].len == n &&
      same_bytes(c->lev[c->last].s, s, n)) {
    *code = c->last;
    return SCL_OK;
  }
  uint32_t h = hash_bytes(s, n);
  if (c->nslots) {
    size_t mask = c->nslots - 1, j = h & mask;
    for (uint32_t v; (v = c->slots[j]) != 0; j = (j + 1) & mask) {
      uint32_t k = v - 1;
      const level *l = &c->lev[k];
      if (l->hash == h && l->len == n && same_bytes(l->s, s, n)) {
        *code = c->last = k;
        return SCL_OK;
      }
    }
  }
  if (c->nlev >= (size_t)NO_CODE - 1)
    return scli_error(ctx, SCL_EINVAL,
                      "column '%s': too many distinct strings", c->name);
  if ((c->nlev + 1) * 2 > c->nslots) {
    size_t ns = c->nslots ? c->nslots * 2 : 16;
    uint32_t *slots = scli_malloc(ctx, ns * sizeof *slots);
    if (!slots) return scli_oom(ctx);
    rehash_into(c, slots, ns);
    scli_free(ctx, c->slots, c->nslots * sizeof *c->slots);
    c->slots = slots;
    c->nslots = ns;
  }
  if (c->nlev == c->levcap) {
    size_t nc = c->levcap ? c->levcap * 2 : 8;
    level *lev = scli_realloc(ctx, c->lev, c->levcap * sizeof *lev,
                              nc * sizeof *lev);
    if (!lev) return scli_oom(ctx);
    c->lev = lev;
    c->levcap = nc;
  }
  char *d = arena_copy(ctx, c, s, n);
  if (!d) return scli_oom(ctx);
  uint32_t k = (uint32_t)c->nlev++;
  c->lev[k].s = d;
  c->lev[k].len = n;
  c->lev[k].hash = h;
  size_t mask = c->nslots - 1, j = h & mask;
  while (c->slots[j]) j = (j + 1) & mask;
  c->slots[j] = k + 1;
  *code = c->last = k;
  return SCL_OK;
}

/*
 * Forget the levels added after the first nlev (an operation that failed
 * half way).  Their arena bytes stay until the column is freed.
 */
static void levels_truncate(column *c, size_t nlev) {
  if (c->nlev == nlev) return;
  c->nlev = nlev;
  c->last = NO_CODE;
  if (c->nslots) rehash_into(c, c->slots, c->nslots);
}

/* ------------------------------------------------------------ columns */

static column *find_col(const scl_table *t, const char *name, size_t *idx) {
  for (size_t i = 0; i < t->ncols; i++)
    if (strcmp(t->cols[i].name, name) == 0) {
      if (idx) *idx = i;
      return &t->cols[i];
    }
  return NULL;
}

/* A fresh, empty column of the given type with room for cap rows. */
static int column_init(scl_ctx *ctx, column *c, const char *name,
                       scl_type type, size_t cap) {
  memset(c, 0, sizeof *c);
  c->last = NO_CODE;
  c->type = type;
  c->name = scli_strdup(ctx, name);
  if (!c->name) return scli_oom(ctx);
  c->cap = cap ? cap : 1;
  if (type == SCL_NUMBER) {
    if (c->cap > SIZE_MAX / sizeof(double)) goto oom;
    c->num = scli_malloc(ctx, c->cap * sizeof *c->num);
    if (!c->num) goto oom;
  } else {
    if (c->cap > SIZE_MAX / sizeof(uint32_t)) goto oom;
    c->codes = scli_malloc(ctx, c->cap * sizeof *c->codes);
    if (!c->codes) goto oom;
  }
  return SCL_OK;
oom:
  column_free(ctx, c);
  return scli_oom(ctx);
}

/* Grow the capacity of column c to at least n rows. */
static int column_reserve(scl_ctx *ctx, column *c, size_t n) {
  if (n <= c->cap) return SCL_OK;
  if (c->type == SCL_NUMBER) {
    if (n > SIZE_MAX / sizeof(double)) return scli_oom(ctx);
    double *v = scli_realloc(ctx, c->num, c->cap * sizeof *v, n * sizeof *v);
    if (!v) return scli_oom(ctx);
    c->num = v;
  } else {
    if (n > SIZE_MAX / sizeof(uint32_t)) return scli_oom(ctx);
    uint32_t *v =
        scli_realloc(ctx, c->codes, c->cap * sizeof *v, n * sizeof *v);
    if (!v) return scli_oom(ctx);
    c->codes = v;
  }
  c->cap = n;
  return SCL_OK;
}

/* Put column c (built elsewhere) into t, replacing one of the same name. */
static int table_put(scl_table *t, column *c) {
  size_t i;
  column *old = find_col(t, c->name, &i);
  if (old) {
    column_free(t->ctx, old);
    *old = *c;
    return SCL_OK;
  }
  if (t->ncols == t->colcap) {
    /* From one: a Column is a one-column table, and there are many. */
    size_t nc = t->colcap ? t->colcap * 2 : 1;
    column *cols = scli_realloc(t->ctx, t->cols, t->colcap * sizeof *cols,
                                nc * sizeof *cols);
    if (!cols) {
      column_free(t->ctx, c);
      return scli_oom(t->ctx);
    }
    t->cols = cols;
    t->colcap = nc;
  }
  t->cols[t->ncols++] = *c;
  return SCL_OK;
}

/* Check n against the row count for a new column called name. */
static int check_len(scl_table *t, const char *name, size_t n) {
  size_t i;
  if (t->ncols == 0 || (t->ncols == 1 && find_col(t, name, &i))) return 0;
  if (n != t->nrows)
    return scli_error(t->ctx, SCL_EINVAL,
                      "column '%s' has %zu values, the table has %zu rows",
                      name, n, t->nrows);
  return 0;
}

/* --------------------------------------------------------- public API */

int scl_table_new(scl_ctx *ctx, scl_table **out) {
  *out = NULL;
  scl_table *t = scli_calloc(ctx, 1, sizeof *t);
  if (!t) return scli_oom(ctx);
  t->ctx = ctx;
  *out = t;
  return SCL_OK;
}

void scl_table_free(scl_table *t) {
  if (!t) return;
  for (size_t i = 0; i < t->ncols; i++) column_free(t->ctx, &t->cols[i]);
  scli_free(t->ctx, t->cols, t->colcap * sizeof *t->cols);
  scli_free(t->ctx, t, sizeof *t);
}

size_t scl_table_nrows(const scl_table *t) { return t ? t->nrows : 0; }
size_t scl_table_ncols(const scl_table *t) { return t ? t->ncols : 0; }

int scl_table_find(const scl_table *t, const char *name) {
  size_t i;
  if (!t || !name || !find_col(t, name, &i)) return -1;
  return (int)i;
}

const char *scl_table_colname(const scl_table *t, size_t col) {
  return t && col < t->ncols ? t->cols[col].name : NULL;
}

scl_type scl_table_coltype(const scl_table *t, size_t col) {
  return t && col < t->ncols ? t->cols[col].type : (scl_type)0;
}

const double *scl_table_numbers(const scl_table *t, size_t col) {
  return t && col < t->ncols ? t->cols[col].num : NULL;
}

const uint32_t *scl_table_codes(const scl_table *t, size_t col) {
  return t && col < t->ncols ? t->cols[col].codes : NULL;
}

size_t scl_table_nlevels(const scl_table *t, size_t col) {
  return t && col < t->ncols ? t->cols[col].nlev : 0;
}

const char *scl_table_level(const scl_table *t, size_t col, uint32_t code) {
  if (!t || col >= t->ncols || code >= t->cols[col].nlev) return NULL;
  return t->cols[col].lev[code].s;
}

const char *scl_table_string(const scl_table *t, size_t col, size_t row) {
  if (!t || col >= t->ncols || row >= t->nrows) return NULL;
  const column *c = &t->cols[col];
  if (c->type != SCL_STRING) return NULL;
  return c->lev[c->codes[row]].s;
}

int scl_table_set_numbers(scl_table *t, const char *name, const double *v,
                          size_t n) {
  if (!name || (n && !v))
    return scli_error(t->ctx, SCL_EINVAL, "set_numbers: NULL argument");
  int rc = check_len(t, name, n);
  if (rc) return rc;
  column c;
  if ((rc = column_init(t->ctx, &c, name, SCL_NUMBER, n))) return rc;
  if (n) memcpy(c.num, v, n * sizeof *v);
  if ((rc = table_put(t, &c))) return rc;
  t->nrows = n;
  return SCL_OK;
}

int scl_table_add_numbers(scl_table *t, const char *name, size_t n,
                          double **v) {
  *v = NULL;
  if (!name)
    return scli_error(t->ctx, SCL_EINVAL, "add_numbers: NULL argument");
  int rc = check_len(t, name, n);
  if (rc) return rc;
  column c;
  if ((rc = column_init(t->ctx, &c, name, SCL_NUMBER, n))) return rc;
  double *num = c.num;
  if ((rc = table_put(t, &c))) return rc;
  t->nrows = n;
  *v = num;
  return SCL_OK;
}

int scl_table_set_strings(scl_table *t, const char *name,
                          const char *const *v, size_t n) {
  if (!name || (n && !v))
    return scli_error(t->ctx, SCL_EINVAL, "set_strings: NULL argument");
  for (size_t i = 0; i < n; i++)
    if (!v[i])
      return scli_error(t->ctx, SCL_EINVAL,
                        "set_strings: column '%s': value %zu is NULL", name,
                        i + 1);
  int rc = check_len(t, name, n);
  if (rc) return rc;
  column c;
  if ((rc = column_init(t->ctx, &c, name, SCL_STRING, n))) return rc;
  for (size_t i = 0; i < n; i++) {
    if ((rc = intern(t->ctx, &c, v[i], strlen(v[i]), &c.codes[i]))) {
      column_free(t->ctx, &c);
      return rc;
    }
  }
  if ((rc = table_put(t, &c))) return rc;
  t->nrows = n;
  return SCL_OK;
}

int scl_table_drop(scl_table *t, const char *name) {
  size_t i;
  column *c = name ? find_col(t, name, &i) : NULL;
  if (!c)
    return scli_error(t->ctx, SCL_EINVAL, "drop: no column '%s'",
                      name ? name : "(null)");
  column_free(t->ctx, c);
  memmove(&t->cols[i], &t->cols[i + 1],
          (t->ncols - i - 1) * sizeof *t->cols);
  if (--t->ncols == 0) t->nrows = 0;
  return SCL_OK;
}

/* Give the empty table dst the columns (names and types) of src. */
static int copy_schema(scl_table *dst, const scl_table *src) {
  for (size_t j = 0; j < src->ncols; j++) {
    column c;
    int rc = column_init(dst->ctx, &c, src->cols[j].name, src->cols[j].type,
                         0);
    if (!rc) rc = table_put(dst, &c);
    if (rc) {
      while (dst->ncols) column_free(dst->ctx, &dst->cols[--dst->ncols]);
      return rc;
    }
  }
  return SCL_OK;
}

int scl_table_append(scl_table *dst, const scl_table *src) {
  scl_ctx *ctx = dst->ctx;
  int rc, fresh = dst->ncols == 0;
  if (src->ncols == 0) return SCL_OK;
  if (fresh && (rc = copy_schema(dst, src))) return rc;
  if (dst->ncols != src->ncols)
    return scli_error(ctx, SCL_EINVAL,
                      "append: tables have %zu and %zu columns", dst->ncols,
                      src->ncols);
  /* Small appends (one row at a time) should not allocate at all. */
  size_t map_stack[16], oldlev_stack[16];
  uint32_t remap_stack[64];
  size_t *map = map_stack;
  if (dst->ncols > 16 &&
      !(map = scli_malloc(ctx, dst->ncols * sizeof *map))) {
    rc = scli_oom(ctx);
    goto rollback;
  }
  for (size_t j = 0; j < dst->ncols; j++) {
    size_t k;
    const column *s = find_col(src, dst->cols[j].name, &k);
    if (!s) {
      rc = scli_error(ctx, SCL_EINVAL, "append: column '%s' is missing",
                      dst->cols[j].name);
      goto done;
    }
    if (s->type != dst->cols[j].type) {
      rc = scli_error(ctx, SCL_EINVAL,
                      "append: column '%s' holds %s here and %s there",
                      dst->cols[j].name,
                      dst->cols[j].type == SCL_NUMBER ? "numbers" : "strings",
                      s->type == SCL_NUMBER ? "numbers" : "strings");
      goto done;
    }
    map[j] = k;
  }

  size_t n0 = dst->nrows, add = src->nrows; /* src may be dst */
  if (add > SIZE_MAX / 2 - n0) {
    rc = scli_oom(ctx);
    goto done;
  }
  for (size_t j = 0; j < dst->ncols; j++) {
    column *c = &dst->cols[j];
    if (c->cap < n0 + add) {
      size_t want = c->cap + c->cap / 2;
      if (want < n0 + add) want = n0 + add;
      if ((rc = column_reserve(ctx, c, want))) goto done;
    }
  }

  /* String columns: remap src codes into dst levels; undo on failure. */
  size_t jfail = dst->ncols;
  size_t *oldlev = oldlev_stack;
  if (dst->ncols > 16 &&
      !(oldlev = scli_malloc(ctx, dst->ncols * sizeof *oldlev))) {
    rc = scli_oom(ctx);
    goto done;
  }
  for (size_t j = 0; j < dst->ncols; j++) oldlev[j] = dst->cols[j].nlev;
  rc = SCL_OK;
  for (size_t j = 0; j < dst->ncols && !rc; j++) {
    column *c = &dst->cols[j];
    const column *s = &src->cols[map[j]];
    if (c->type != SCL_STRING) continue;
    if (s == c) {
      memmove(c->codes + n0, c->codes, add * sizeof *c->codes);
      continue;
    }
    uint32_t *remap = remap_stack;
    if (s->nlev > 64 && !(remap = scli_malloc(ctx, s->nlev * sizeof *remap))) {
      rc = scli_oom(ctx);
      jfail = j;
      break;
    }
    for (size_t k = 0; k < s->nlev; k++) remap[k] = NO_CODE;
    for (size_t r = 0; r < add; r++) {
      uint32_t sc = s->codes[r];
      if (remap[sc] == NO_CODE &&
          (rc = intern(ctx, c, s->lev[sc].s, s->lev[sc].len, &remap[sc]))) {
        jfail = j;
        break;
      }
      c->codes[n0 + r] = remap[sc];
    }
    if (remap != remap_stack) scli_free(ctx, remap, s->nlev * sizeof *remap);
  }
  if (rc) {
    for (size_t j = 0; j <= jfail && j < dst->ncols; j++)
      if (dst->cols[j].type == SCL_STRING)
        levels_truncate(&dst->cols[j], oldlev[j]);
    if (oldlev != oldlev_stack)
      scli_free(ctx, oldlev, dst->ncols * sizeof *oldlev);
    goto done;
  }
  if (oldlev != oldlev_stack)
    scli_free(ctx, oldlev, dst->ncols * sizeof *oldlev);
  for (size_t j = 0; j < dst->ncols; j++) {
    column *c = &dst->cols[j];
    if (c->type == SCL_NUMBER)
      memmove(c->num + n0, src->cols[map[j]].num, add * sizeof *c->num);
  }
  dst->nrows = n0 + add;
done:
  if (map != map_stack) scli_free(ctx, map, dst->ncols * sizeof *map);
rollback:
  if (rc && fresh) { /* give the empty table its emptiness back */
    while (dst->ncols) column_free(ctx, &dst->cols[--dst->ncols]);
    dst->nrows = 0;
  }
  return rc;
}

/*
 * Copy the levels of s that `used` marks into the fresh column d, keeping
 * their order, and turn used[] into the old-to-new code map.
 */
static int copy_used_levels(scl_ctx *ctx, column *d, const column *s,
                            uint32_t *used) {
  for (size_t k = 0; k < s->nlev; k++) {
    if (used[k] == NO_CODE) continue;
    int rc = intern(ctx, d, s->lev[k].s, s->lev[k].len, &used[k]);
    if (rc) return rc;
  }
  return SCL_OK;
}

/*
 * Rows rows[0..n) of the columns cols[0..ncols) of src (NULL: all of them)
 * as a new table: the one loop behind take, take_columns and group_by.
 */
static int take_cols(const scl_table *src, const size_t *cols, size_t ncols,
                     const size_t *rows, size_t n, scl_table **out) {
  scl_ctx *ctx = src->ctx;
  *out = NULL;
  for (size_t i = 0; i < n; i++)
    if (rows[i] >= src->nrows)
      return scli_error(ctx, SCL_EINVAL,
                        "take: row %zu out of range (the table has %zu rows)",
                        rows[i] + 1, src->nrows);
  scl_table *t;
  int rc = scl_table_new(ctx, &t);
  if (rc) return rc;
  for (size_t j = 0; j < ncols && !rc; j++) {
    const column *s = &src->cols[cols ? cols[j] : j];
    column c;
    if ((rc = column_init(ctx, &c, s->name, s->type, n))) break;
    if (s->type == SCL_NUMBER) {
      const double *v = s->num;
      double *d = c.num;
      for (size_t i = 0; i < n; i++) d[i] = v[rows[i]];
    } else {
      size_t nl = s->nlev ? s->nlev : 1;
      uint32_t *used = scli_malloc(ctx, nl * sizeof *used);
      if (!used) {
        column_free(ctx, &c);
        rc = scli_oom(ctx);
        break;
      }
      for (size_t k = 0; k < s->nlev; k++) used[k] = NO_CODE;
      for (size_t i = 0; i < n; i++) used[s->codes[rows[i]]] = 0;
      rc = copy_used_levels(ctx, &c, s, used);
      if (!rc)
        for (size_t i = 0; i < n; i++) c.codes[i] = used[s->codes[rows[i]]];
      scli_free(ctx, used, nl * sizeof *used);
      if (rc) {
        column_free(ctx, &c);
        break;
      }
    }
    rc = table_put(t, &c);
  }
  if (rc) {
    scl_table_free(t);
    return rc;
  }
  t->nrows = t->ncols ? n : 0;
  *out = t;
  return SCL_OK;
}

int scl_table_take(const scl_table *src, const size_t *rows, size_t n,
                   scl_table **out) {
  return take_cols(src, NULL, src->ncols, rows, n, out);
}

int scl_table_take_columns(const scl_table *src, const size_t *cols,
                           size_t ncols, const size_t *rows, size_t n,
                           scl_table **out) {
  *out = NULL;
  if (ncols && !cols)
    return scli_error(src->ctx, SCL_EINVAL, "take_columns: NULL columns");
  for (size_t j = 0; j < ncols; j++) {
    if (cols[j] >= src->ncols)
      return scli_error(src->ctx, SCL_EINVAL,
                        "take_columns: no column %zu (the table has %zu)",
                        cols[j] + 1, src->ncols);
    for (size_t k = 0; k < j; k++)
      if (cols[k] == cols[j])
        return scli_error(src->ctx, SCL_EINVAL,
                          "take_columns: column '%s' named twice",
                          src->cols[cols[j]].name);
  }
  return take_cols(src, cols, ncols, rows, n, out);
}

/* An exact copy of column s (levels in the same order). */
static int column_copy(scl_ctx *ctx, column *d, const column *s,
                       size_t nrows) {
  int rc = column_init(ctx, d, s->name, s->type, nrows);
  if (rc) return rc;
  if (s->type == SCL_NUMBER) {
    if (nrows) memcpy(d->num, s->num, nrows * sizeof *d->num);
    return SCL_OK;
  }
  if (nrows) memcpy(d->codes, s->codes, nrows * sizeof *d->codes);
  for (size_t k = 0; k < s->nlev; k++) {
    uint32_t code;
    if ((rc = intern(ctx, d, s->lev[k].s, s->lev[k].len, &code))) {
      column_free(ctx, d);
      return rc;
    }
  }
  return SCL_OK;
}

int scl_table_select(const scl_table *src, const char *const *names,
                     size_t n, scl_table **out) {
  scl_ctx *ctx = src->ctx;
  *out = NULL;
  for (size_t i = 0; i < n; i++) {
    if (!names[i] || !find_col(src, names[i], NULL))
      return scli_error(ctx, SCL_EINVAL, "select: no column '%s'",
                        names[i] ? names[i] : "(null)");
    for (size_t k = 0; k < i; k++)
      if (strcmp(names[k], names[i]) == 0)
        return scli_error(ctx, SCL_EINVAL, "select: column '%s' named twice",
                          names[i]);
  }
  scl_table *t;
  int rc = scl_table_new(ctx, &t);
  if (rc) return rc;
  for (size_t i = 0; i < n && !rc; i++) {
    column c;
    rc = column_copy(ctx, &c, find_col(src, names[i], NULL), src->nrows);
    if (!rc) rc = table_put(t, &c);
  }
  if (rc) {
    scl_table_free(t);
    return rc;
  }
  t->nrows = n ? src->nrows : 0;
  *out = t;
  return SCL_OK;
}

/* ------------------------------------------------------------ sorting */

typedef struct {
  const char *s;
  size_t n;
  uint32_t code;
} levref;

static int levref_cmp(const void *a, const void *b) {
  const levref *x = a, *y = b;
  size_t n = x->n < y->n ? x->n : y->n;
  int c = memcmp(x->s, y->s, n);
  if (c) return c;
  return (x->n > y->n) - (x->n < y->n);
}

/* An unsigned key that sorts like the double (NaN largest, -0 == 0). */
static uint64_t dkey(double v) {
  if (isnan(v)) return UINT64_MAX;
  if (v == 0) v = 0.0;
  uint64_t u;
  memcpy(&u, &v, sizeof u);
  return (u >> 63) ? ~u : (u | (1ULL << 63));
}

/*
 * Stable LSD radix sort of order[] by key[], 11 bits per pass; passes in
 * which every key has the same digit are skipped.  The data ping-pongs
 * between (key, order) and the scratch (k2, o2): returns whichever of
 * order and o2 ends up holding the result.
 */
static size_t *radix_sort_into(uint64_t *key, size_t *order, uint64_t *k2,
                               size_t *o2, size_t n) {
  enum { BITS = 11, NB = 1 << BITS };
  size_t count[NB];
  for (int shift = 0; shift < 64; shift += BITS) {
    memset(count, 0, sizeof count);
    for (size_t i = 0; i < n; i++) count[(key[i] >> shift) & (NB - 1)]++;
    if (count[(key[0] >> shift) & (NB - 1)] == n) continue;
    size_t sum = 0;
    for (size_t b = 0; b < NB; b++) {
      size_t c = count[b];
      count[b] = sum;
      sum += c;
    }
    for (size_t i = 0; i < n; i++) {
      size_t d = count[(key[i] >> shift) & (NB - 1)]++;
      k2[d] = key[i];
      o2[d] = order[i];
    }
    uint64_t *tk = key;
    key = k2;
    k2 = tk;
    size_t *to = order;
    order = o2;
    o2 = to;
  }
  return order;
}

int scl_table_order(const scl_table *t, size_t col, int desc,
                    size_t *order) {
  scl_ctx *ctx = t->ctx;
  if (col >= t->ncols)
    return scli_error(ctx, SCL_EINVAL, "order: no column %zu (table has %zu)",
                      col + 1, t->ncols);
  size_t n = t->nrows;
  if (n == 0) return SCL_OK;
  const column *c = &t->cols[col];
  int rc = SCL_OK;
  uint64_t *key = NULL, *k2 = NULL;
  size_t *o2 = NULL, *rank = NULL;
  levref *lr = NULL;
  key = scli_malloc(ctx, n * sizeof *key);
  k2 = scli_malloc(ctx, n * sizeof *k2);
  o2 = scli_malloc(ctx, n * sizeof *o2);
  if (!key || !k2 || !o2) {
    rc = scli_oom(ctx);
    goto done;
  }
  if (c->type == SCL_NUMBER) {
    for (size_t i = 0; i < n; i++) {
      uint64_t k = dkey(c->num[i]);
      key[i] = (desc && k != UINT64_MAX) ? UINT64_MAX - 1 - k : k;
    }
  } else {
    size_t nl = c->nlev ? c->nlev : 1;
    lr = scli_malloc(ctx, nl * sizeof *lr);
    rank = scli_malloc(ctx, nl * sizeof *rank);
    if (!lr || !rank) {
      rc = scli_oom(ctx);
      goto done;
    }
    for (size_t k = 0; k < c->nlev; k++) {
      lr[k].s = c->lev[k].s;
      lr[k].n = c->lev[k].len;
      lr[k].code = (uint32_t)k;
    }
    qsort(lr, c->nlev, sizeof *lr, levref_cmp);
    for (size_t k = 0; k < c->nlev; k++)
      rank[lr[k].code] = desc ? c->nlev - 1 - k : k;
    for (size_t i = 0; i < n; i++) key[i] = rank[c->codes[i]];
  }
  for (size_t i = 0; i < n; i++) order[i] = i;
  size_t *res = radix_sort_into(key, order, k2, o2, n);
  if (res != order) memcpy(order, res, n * sizeof *order);
done:
  scli_free(ctx, key, n * sizeof *key);
  scli_free(ctx, k2, n * sizeof *k2);
  scli_free(ctx, o2, n * sizeof *o2);
  if (lr) scli_free(ctx, lr, (c->nlev ? c->nlev : 1) * sizeof *lr);
  if (rank) scli_free(ctx, rank, (c->nlev ? c->nlev : 1) * sizeof *rank);
  return rc;
}

/* ----------------------------------------------------------- grouping */

#define NO_GROUP SIZE_MAX

/*
 * An open-addressing map from a pair of 64-bit words to a group number:
 * (number bits, 0) for the first key column, (group so far, value of the
 * next column) for the others.  Kept at most half full.
 */
typedef struct {
  uint64_t a, b;
  size_t id; /* NO_GROUP: empty */
} gslot;

typedef struct {
  gslot *s;
  size_t cap; /* a power of two */
  size_t used;
} gmap;

static size_t gmap_hash(uint64_t a, uint64_t b) {
  uint64_t h = a * 0x9e3779b97f4a7c15ULL ^ (b + 0x632be59bd9b4e019ULL);
  h ^= h >> 32;
  h *= 0xd6e8feb86659fd93ULL;
  h ^= h >> 32;
  return (size_t)h;
}

static int gmap_init(scl_ctx *ctx, gmap *m, size_t cap) {
  m->s = scli_malloc(ctx, cap * sizeof *m->s);
  if (!m->s) return scli_oom(ctx);
  m->cap = cap;
  m->used = 0;
  for (size_t i = 0; i < cap; i++) m->s[i].id = NO_GROUP;
  return SCL_OK;
}

static void gmap_free(scl_ctx *ctx, gmap *m) {
  scli_free(ctx, m->s, m->cap * sizeof *m->s);
  m->s = NULL;
  m->cap = m->used = 0;
}

/* The group of key (a, b), numbered *next (then incremented) when new. */
static int gmap_get(scl_ctx *ctx, gmap *m, uint64_t a, uint64_t b,
                    size_t *next, size_t *id) {
  size_t mask = m->cap - 1, j = gmap_hash(a, b) & mask;
  for (; m->s[j].id != NO_GROUP; j = (j + 1) & mask)
    if (m->s[j].a == a && m->s[j].b == b) {
      *id = m->s[j].id;
      return SCL_OK;
    }
  if ((m->used + 1) * 2 > m->cap) {
    gmap big;
    if (m->cap > SIZE_MAX / 2 / sizeof *m->s) return scli_oom(ctx);
    int rc = gmap_init(ctx, &big, m->cap * 2);
    if (rc) return rc;
    size_t bmask = big.cap - 1;
    for (size_t i = 0; i < m->cap; i++) {
      if (m->s[i].id == NO_GROUP) continue;
      size_t k = gmap_hash(m->s[i].a, m->s[i].b) & bmask;
      while (big.s[k].id != NO_GROUP) k = (k + 1) & bmask;
      big.s[k] = m->s[i];
    }
    big.used = m->used;
    gmap_free(ctx, m);
    *m = big;
    mask = m->cap - 1;
    for (j = gmap_hash(a, b) & mask; m->s[j].id != NO_GROUP;)
      j = (j + 1) & mask;
  }
  m->s[j].a = a;
  m->s[j].b = b;
  m->s[j].id = *id = (*next)++;
  m->used++;
  return SCL_OK;
}

/* The bits of v as a grouping key: every NaN one key, -0 the key of 0. */
static uint64_t num_key(double v) {
  if (isnan(v)) return 0x7ff8000000000000ULL;
  if (v == 0) return 0;
  uint64_t u;
  memcpy(&u, &v, sizeof u);
  return u;
}

/* Row r of key column c as a 64-bit key: a string's code, a number's. */
static inline uint64_t cell_key(const column *c, size_t r) {
  return c->type == SCL_STRING ? c->codes[r] : num_key(c->num[r]);
}

/* The first row at or after r, below lim, where key column c is not v. */
static size_t key_end(const column *c, uint64_t v, size_t r, size_t lim) {
  if (c->type == SCL_STRING) {
    const uint32_t *x = c->codes;
    while (r < lim && x[r] == v) r++;
  } else {
    const double *x = c->num;
    while (r < lim && num_key(x[r]) == v) r++;
  }
  return r;
}

/*
 * The runs of t: stretches of rows equal in every key column.  Training
 * logs hold each run's rows together, so there are few runs and the
 * grouping looks up one key per run, not per row.  Sets *at (allocated
 * here, room for m + 1) to where each starts, then n, and *m to their
 * number.  Each run's end is found a column at a time with tight loops.
 */
static int find_runs(const scl_table *t, const size_t *cols, size_t ncols,
                     size_t **at, size_t *m, size_t *cap) {
  scl_ctx *ctx = t->ctx;
  size_t n = t->nrows, k = 0, c = 64;
  size_t *a = scli_malloc(ctx, c * sizeof *a);
  if (!a) return scli_oom(ctx);
  for (size_t r = 0; r < n;) {
    size_t e = n;
    for (size_t j = 0; j < ncols; j++) {
      const column *col = &t->cols[cols[j]];
      e = key_end(col, cell_key(col, r), r + 1, e);
    }
    if (k + 1 == c) {
      size_t *b = scli_realloc(ctx, a, c * sizeof *a, 2 * c * sizeof *a);
      if (!b) {
        scli_free(ctx, a, c * sizeof *a);
        return scli_oom(ctx);
      }
      a = b;
      c *= 2;
    }
    a[k++] = r;
    r = e;
  }
  a[k] = n;
  *at = a;
  *m = k;
  *cap = c;
  return SCL_OK;
}

/*
 * Number the groups of the m runs starting at rows at[] by the first key
 * column, in order of first appearance: by code for strings (a code is a
 * distinct string), through the map for numbers.
 */
static int group_first(scl_ctx *ctx, const column *c, const size_t *at,
                       size_t m, size_t *gid, size_t *ngroups) {
  size_t next = 0;
  if (c->type == SCL_STRING) {
    size_t nl = c->nlev ? c->nlev : 1;
    size_t *of = scli_malloc(ctx, nl * sizeof *of);
    if (!of) return scli_oom(ctx);
    for (size_t k = 0; k < c->nlev; k++) of[k] = NO_GROUP;
    for (size_t k = 0; k < m; k++) {
      size_t *g = &of[c->codes[at[k]]];
      if (*g == NO_GROUP) *g = next++;
      gid[k] = *g;
    }
    scli_free(ctx, of, nl * sizeof *of);
    *ngroups = next;
    return SCL_OK;
  }
  gmap map;
  int rc = gmap_init(ctx, &map, 64);
  for (size_t k = 0; k < m && !rc; k++)
    rc = gmap_get(ctx, &map, num_key(c->num[at[k]]), 0, &next, &gid[k]);
  if (map.s) gmap_free(ctx, &map);
  *ngroups = next;
  return rc;
}

/* Refine the groups gid[0..m) of the runs by one more key column. */
static int group_more(scl_ctx *ctx, const column *c, const size_t *at,
                      size_t m, size_t *gid, size_t *ngroups) {
  gmap map;
  size_t next = 0;
  int rc = gmap_init(ctx, &map, 64);
  for (size_t k = 0; k < m && !rc; k++)
    rc = gmap_get(ctx, &map, gid[k], cell_key(c, at[k]), &next, &gid[k]);
  if (map.s) gmap_free(ctx, &map);
  *ngroups = next;
  return rc;
}

void scl_groups_free(scl_ctx *ctx, scl_groups *g) {
  if (!g) return;
  scli_free(ctx, g->start, (g->ngroups + 1) * sizeof *g->start);
  scli_free(ctx, g->rows, (g->nrows ? g->nrows : 1) * sizeof *g->rows);
  scli_free(ctx, g, sizeof *g);
}

/*
 * Group numbers per run (one pass over the runs per key column), then a
 * counting sort of the runs' rows by group, which keeps table order inside
 * each group.
 */
int scl_table_group(const scl_table *t, const size_t *cols, size_t ncols,
                    scl_groups **out) {
  scl_ctx *ctx = t->ctx;
  *out = NULL;
  if (ncols == 0 || !cols)
    return scli_error(ctx, SCL_EINVAL, "group: no columns to group by");
  for (size_t j = 0; j < ncols; j++)
    if (cols[j] >= t->ncols)
      return scli_error(ctx, SCL_EINVAL,
                        "group: no column %zu (the table has %zu)",
                        cols[j] + 1, t->ncols);
  size_t n = t->nrows, ng = 0, nb = (n ? n : 1) * sizeof(size_t);
  if (n > SIZE_MAX / sizeof(size_t) / 2) return scli_oom(ctx);
  size_t m = 0, acap = 0, *at = NULL, *gid = NULL;
  scl_groups *g = NULL;
  int rc = find_runs(t, cols, ncols, &at, &m, &acap);
  if (rc) return rc;
  g = scli_calloc(ctx, 1, sizeof *g);
  gid = scli_malloc(ctx, (m ? m : 1) * sizeof *gid);
  if (!g || !gid) {
    rc = scli_oom(ctx);
    goto fail;
  }
  g->nrows = n;
  rc = group_first(ctx, &t->cols[cols[0]], at, m, gid, &ng);
  for (size_t j = 1; j < ncols && !rc; j++)
    rc = group_more(ctx, &t->cols[cols[j]], at, m, gid, &ng);
  if (rc) goto fail;
  g->rows = scli_malloc(ctx, nb);
  g->start = scli_calloc(ctx, ng + 1, sizeof *g->start);
  if (!g->rows || !g->start) {
    rc = scli_oom(ctx);
    goto fail;
  }
  g->ngroups = ng;
  for (size_t k = 0; k < m; k++) g->start[gid[k] + 1] += at[k + 1] - at[k];
  for (size_t k = 0; k < ng; k++) g->start[k + 1] += g->start[k];
  /* Fill each group from its end backwards: start[k + 1] walks down to
   * the first slot of group k, which is where start[k] belongs. */
  for (size_t k = m; k-- > 0;) {
    size_t *end = &g->start[gid[k] + 1];
    for (size_t r = at[k + 1]; r-- > at[k];) g->rows[--*end] = r;
  }
  for (size_t k = 0; k < ng; k++) g->start[k] = g->start[k + 1];
  g->start[ng] = n;
  scli_free(ctx, at, acap * sizeof *at);
  scli_free(ctx, gid, (m ? m : 1) * sizeof *gid);
  *out = g;
  return SCL_OK;
fail:
  scli_free(ctx, at, acap * sizeof *at);
  if (gid) scli_free(ctx, gid, (m ? m : 1) * sizeof *gid);
  if (g) {
    if (g->rows) scli_free(ctx, g->rows, nb);
    if (g->start) scli_free(ctx, g->start, (ng + 1) * sizeof *g->start);
    scli_free(ctx, g, sizeof *g);
  }
  return rc;
}

/* ------------------------------------------- internals for the reader */

int scli_table_add_column(scl_table *t, const char *name, scl_type type,
                          size_t cap) {
  column c;
  int rc = column_init(t->ctx, &c, name, type, cap);
  if (!rc) rc = table_put(t, &c);
  return rc;
}

int scli_table_reserve(scl_table *t, size_t rows) {
  for (size_t j = 0; j < t->ncols; j++) {
    int rc = column_reserve(t->ctx, &t->cols[j], rows);
    if (rc) return rc;
  }
  return SCL_OK;
}

/* Give back the capacity beyond the row count (the reader over-reserves). */
void scli_table_shrink(scl_table *t) {
  size_t n = t->nrows ? t->nrows : 1;
  for (size_t j = 0; j < t->ncols; j++) {
    column *c = &t->cols[j];
    if (c->cap <= n) continue;
    if (c->type == SCL_NUMBER) {
      double *v = scli_realloc(t->ctx, c->num, c->cap * sizeof *v,
                               n * sizeof *v);
      if (!v) continue; /* keep the bigger block */
      c->num = v;
    } else {
      uint32_t *v = scli_realloc(t->ctx, c->codes, c->cap * sizeof *v,
                                 n * sizeof *v);
      if (!v) continue;
      c->codes = v;
    }
    c->cap = n;
  }
}

double *scli_table_numbers_mut(scl_table *t, size_t col) {
  return t->cols[col].num;
}

uint32_t *scli_table_codes_mut(scl_table *t, size_t col) {
  return t->cols[col].codes;
}

const char *scli_table_level_n(const scl_table *t, size_t col, uint32_t code,
                               size_t *len) {
  const level *l = &t->cols[col].lev[code];
  *len = l->len;
  return l->s;
}

int scli_table_intern(scl_table *t, size_t col, const char *s, size_t n,
                      uint32_t *code) {
  return intern(t->ctx, &t->cols[col], s, n, code);
}

/*
 * Turn column col into an empty string column with the same capacity
 * (the reader found text in a column it had been reading as numbers).
 */
int scli_table_make_strings(scl_table *t, size_t col) {
  column *c = &t->cols[col];
  /* Free first: the peak stays at one column's worth. */
  scli_free(t->ctx, c->num, c->cap * sizeof *c->num);
  c->num = NULL;
  c->type = SCL_STRING;
  c->codes = scli_malloc(t->ctx, c->cap * sizeof *c->codes);
  if (!c->codes) return scli_oom(t->ctx);
  return SCL_OK;
}

void scli_table_set_nrows(scl_table *t, size_t n) { t->nrows = n; }
