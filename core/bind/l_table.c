/*
 * l_table.c -- Lua binding of tables, columns and the CSV reader.
 *
 * A Table is a userdata owning an scl_table.  A Column is a userdata owning
 * a one-column scl_table: reading t.loss copies the column, so a Column
 * never dangles when its table changes, and arithmetic on Columns runs in C
 * (scl_vec_op) without touching Lua per element.
 */
#include "bind.h"

#include <glob.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* ------------------------------------------------------------ helpers */

static scl_ctx *check_ok(lua_State *L, scl_ctx *ctx, int rc) {
  if (rc != SCL_OK) sclb_fail(L, ctx);
  return ctx;
}

/* Scratch memory owned by a userdata pushed on the stack (freed by GC). */
static void *scratch(lua_State *L, size_t n) {
  return lua_newuserdatauv(L, n ? n : 1, 0);
}

static int table_gc(lua_State *L) {
  sclb_table *u = lua_touserdata(L, 1);
  if (u && u->t) {
    if (u->pins) /* a chart still draws from it */
      u->kept = u->t;
    else
      scl_table_free(u->t);
    u->t = NULL;
  }
  return 0;
}

const double *sclb_pin_numbers(lua_State *L, int idx, size_t *n,
                               sclb_table **col) {
  sclb_table *u = luaL_testudata(L, idx, SCLB_COLUMN);
  const double *v = u && u->t ? scl_table_numbers(u->t, 0) : NULL;
  if (!v) return NULL;
  *n = scl_table_nrows(u->t);
  *col = u;
  u->pins++;
  return v;
}

void sclb_unpin(sclb_table *u) {
  if (u->pins && --u->pins == 0 && u->kept) {
    scl_table_free(u->kept);
    u->kept = NULL;
  }
}

sclb_table *sclb_checktable(lua_State *L, int idx) {
  sclb_table *u = luaL_checkudata(L, idx, SCLB_TABLE);
  if (!u->t) luaL_argerror(L, idx, "table has been closed");
  return u;
}

static sclb_table *newtable(lua_State *L) {
  sclb_table *u = lua_newuserdatauv(L, sizeof *u, 0);
  *u = (sclb_table){NULL, NULL, 0};
  luaL_setmetatable(L, SCLB_TABLE);
  return u;
}

void sclb_pushtable(lua_State *L, scl_table *t) { newtable(L)->t = t; }

/* A Column is a one-column table with metatable SCLB_COLUMN. */
static scl_table *checkcol(lua_State *L, int idx) {
  sclb_table *u = luaL_checkudata(L, idx, SCLB_COLUMN);
  if (!u->t) luaL_argerror(L, idx, "column has been closed");
  return u->t;
}

static sclb_table *newcolumn(lua_State *L) {
  sclb_table *u = lua_newuserdatauv(L, sizeof *u, 0);
  *u = (sclb_table){NULL, NULL, 0};
  luaL_setmetatable(L, SCLB_COLUMN);
  return u;
}

/* Push a Column holding n numbers v (copied), named name. */
static void pushnumcol(lua_State *L, const char *name, const double *v,
                       size_t n) {
  scl_ctx *ctx = sclb_ctx(L);
  sclb_table *u = newcolumn(L);
  check_ok(L, ctx, scl_table_new(ctx, &u->t));
  check_ok(L, ctx, scl_table_set_numbers(u->t, name, v, n));
}

/* Push column col of t as a Column (a copy). */
static void pushcolumn(lua_State *L, const scl_table *t, size_t col) {
  scl_ctx *ctx = sclb_ctx(L);
  const char *name = scl_table_colname(t, col);
  sclb_table *u = newcolumn(L);
  check_ok(L, ctx, scl_table_select(t, &name, 1, &u->t));
}

void sclb_pushnumbers(lua_State *L, const double *v, size_t n) {
  lua_createtable(L, (int)n, 0);
  for (size_t i = 0; i < n; i++) {
    lua_pushnumber(L, v[i]);
    lua_rawseti(L, -2, (lua_Integer)i + 1);
  }
}

const double *sclb_checkvector(lua_State *L, int idx, size_t *n,
                               const char *name) {
  idx = lua_absindex(L, idx);
  sclb_table *u = luaL_testudata(L, idx, SCLB_COLUMN);
  if (u && !u->t) luaL_error(L, "%s: column has been closed", name);
  if (u) {
    const double *v = scl_table_numbers(u->t, 0);
    if (!v)
      luaL_error(L, "%s: column '%s' holds strings, not numbers", name,
                 scl_table_colname(u->t, 0));
    *n = scl_table_nrows(u->t);
    return v;
  }
  if (lua_type(L, idx) == LUA_TNUMBER) {
    double *v = scratch(L, sizeof *v);
    v[0] = lua_tonumber(L, idx);
    *n = 1;
    return v;
  }
  if (lua_type(L, idx) != LUA_TTABLE)
    luaL_error(L, "%s: expected a column or an array of numbers, got %s",
               name, luaL_typename(L, idx));
  size_t len = (size_t)luaL_len(L, idx);
  double *v = scratch(L, len * sizeof *v);
  for (size_t i = 0; i < len; i++) {
    int t = lua_geti(L, idx, (lua_Integer)i + 1);
    if (t != LUA_TNUMBER)
      luaL_error(L, "%s[%d]: expected a number, got %s", name, (int)i + 1,
                 lua_typename(L, t));
    v[i] = lua_tonumber(L, -1);
    lua_pop(L, 1);
  }
  *n = len;
  return v;
}

/* ------------------------------------------------------------ read_csv */

static char checkchar(lua_State *L, int idx, const char *field) {
  size_t len;
  const char *s = lua_tolstring(L, idx, &len);
  if (!s || len != 1)
    luaL_error(L, "read_csv: option '%s' must be a one-character string",
               field);
  return s[0];
}

/* Collect an array of strings at idx into a scratch array (pushed). */
static const char **strarray(lua_State *L, int idx, size_t *n,
                             const char *what) {
  idx = lua_absindex(L, idx);
  if (lua_type(L, idx) != LUA_TTABLE)
    luaL_error(L, "%s must be an array of strings", what);
  size_t len = (size_t)luaL_len(L, idx);
  const char **v = scratch(L, len * sizeof *v);
  for (size_t i = 0; i < len; i++) {
    lua_geti(L, idx, (lua_Integer)i + 1);
    if (lua_type(L, -1) != LUA_TSTRING)
      luaL_error(L, "%s[%d] must be a string", what, (int)i + 1);
    v[i] = lua_tostring(L, -1); /* anchored by the option table */
    lua_pop(L, 1);
  }
  *n = len;
  return v;
}

/*
 * Fill o from the options table at idx.  Strings stay anchored in that
 * table; arrays live in scratch userdata left on the stack.
 */
static void csvopts(lua_State *L, int idx, scl_csv_opts *o, const char *fn) {
  static const char *const known[] = {
      "delimiter", "quote", "header", "columns", "types", "na", "max_field",
      "threads", "file_column", "progress", NULL};
  scl_csv_opts_init(o);
  if (lua_isnoneornil(L, idx)) return;
  luaL_checktype(L, idx, LUA_TTABLE);
  idx = lua_absindex(L, idx);
  lua_pushnil(L);
  while (lua_next(L, idx)) {
    int ok = 0;
    if (lua_type(L, -2) == LUA_TSTRING)
      for (int i = 0; known[i]; i++)
        if (strcmp(lua_tostring(L, -2), known[i]) == 0) ok = 1;
    if (!ok)
      luaL_error(L, "%s: unknown option '%s'", fn,
                 lua_type(L, -2) == LUA_TSTRING ? lua_tostring(L, -2) : "?");
    lua_pop(L, 1);
  }
  if (lua_getfield(L, idx, "delimiter") != LUA_TNIL)
    o->delimiter = checkchar(L, -1, "delimiter");
  lua_pop(L, 1);
  if (lua_getfield(L, idx, "quote") != LUA_TNIL)
    o->quote = checkchar(L, -1, "quote");
  lua_pop(L, 1);
  if (lua_getfield(L, idx, "header") != LUA_TNIL) o->header = lua_toboolean(L, -1);
  lua_pop(L, 1);
  if (lua_getfield(L, idx, "max_field") != LUA_TNIL)
    o->max_field = (size_t)luaL_checkinteger(L, -1);
  lua_pop(L, 1);
  if (lua_getfield(L, idx, "threads") != LUA_TNIL)
    o->threads = (int)luaL_checkinteger(L, -1);
  lua_pop(L, 1);
  if (lua_getfield(L, idx, "file_column") != LUA_TNIL)
    o->file_column = luaL_checkstring(L, -1);
  lua_pop(L, 1);
  char what[64];
  snprintf(what, sizeof what, "%s: option 'columns'", fn);
  if (lua_getfield(L, idx, "columns") != LUA_TNIL)
    o->columns = strarray(L, -1, &o->ncolumns, what);
  else
    lua_pop(L, 1);
  snprintf(what, sizeof what, "%s: option 'na'", fn);
  if (lua_getfield(L, idx, "na") != LUA_TNIL)
    o->na = strarray(L, -1, &o->nna, what);
  else
    lua_pop(L, 1);
  if (lua_getfield(L, idx, "types") != LUA_TNIL) {
    int ti = lua_gettop(L);
    luaL_checktype(L, ti, LUA_TTABLE);
    size_t n = 0;
    lua_pushnil(L);
    while (lua_next(L, ti)) {
      n++;
      lua_pop(L, 1);
    }
    const char **names = scratch(L, n * sizeof *names);
    scl_type *types = scratch(L, n * sizeof *types);
    size_t i = 0;
    lua_pushnil(L);
    while (lua_next(L, ti)) {
      const char *tn = lua_tostring(L, -1);
      if (lua_type(L, -2) != LUA_TSTRING || !tn)
        luaL_error(L, "%s: option 'types' must map column names to "
                      "\"number\" or \"string\"", fn);
      names[i] = lua_tostring(L, -2);
      if (strcmp(tn, "number") == 0)
        types[i] = SCL_NUMBER;
      else if (strcmp(tn, "string") == 0)
        types[i] = SCL_STRING;
      else
        luaL_error(L, "%s: types.%s = '%s': want \"number\" or \"string\"", fn,
                   names[i], tn);
      i++;
      lua_pop(L, 1);
    }
    o->type_names = names;
    o->types = types;
    o->ntypes = n;
  } else {
    lua_pop(L, 1);
  }
}

/*
 * The progress bar of long reads: on standard error, only when it is a
 * terminal (a log file, a pipe or TERM=dumb gets nothing), for inputs of at
 * least PBAR_MIN bytes, redrawn at most ten times a second and cleared
 * at the end, so a finished read leaves the terminal as it was.
 */
#define PBAR_MIN ((double)(64 << 20))

typedef struct {
  char name[40];      /* the input as shown (its end, if long) */
  double total;       /* bytes */
  double t0, last;    /* seconds: start, last redraw */
  int drawn;
} pbar;

static double now_s(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

/* Bytes of the input at idx: a path, a pattern or an array of paths. */
static double input_bytes(lua_State *L, int idx) {
  struct stat st;
  double sum = 0;
  if (lua_type(L, idx) == LUA_TTABLE) {
    lua_Integer n = luaL_len(L, idx);
    for (lua_Integer i = 1; i <= n; i++) {
      lua_geti(L, idx, i);
      const char *p = lua_tostring(L, -1);
      if (p && stat(p, &st) == 0) sum += (double)st.st_size;
      lua_pop(L, 1);
    }
    return sum;
  }
  const char *path = lua_tostring(L, idx);
  if (!path || strcmp(path, "-") == 0) return 0; /* size unknown */
  if (stat(path, &st) == 0) return (double)st.st_size;
  glob_t gl;
  if (glob(path, 0, NULL, &gl) == 0)
    for (size_t i = 0; i < gl.gl_pathc; i++)
      if (stat(gl.gl_pathv[i], &st) == 0) sum += (double)st.st_size;
  globfree(&gl);
  return sum;
}

/* The core's progress callback (called on the reading thread). */
static void pbar_update(void *ud, double f) {
  pbar *b = ud;
  double t = now_s();
  if (f >= 1 || (b->drawn && t - b->last < 0.1)) return;
  char bar[31];
  int w = (int)(f * 30);
  for (int i = 0; i < 30; i++) bar[i] = i < w ? '#' : '.';
  bar[30] = '\0';
  double el = t - b->t0, mb = f * b->total / 1e6;
  fprintf(stderr, "\r\033[K%s [%s] %3d%% %.0f/%.0f MB", b->name, bar,
          (int)(f * 100), mb, b->total / 1e6);
  if (f > 0.02 && el > 0.5)
    fprintf(stderr, " %.0f MB/s %.0fs left", mb / el, el * (1 - f) / f);
  fflush(stderr);
  b->drawn = 1;
  b->last = t;
}

/* Set up the bar for the input at idx in o, if one is wanted. */
static void pbar_start(lua_State *L, int idx, scl_csv_opts *o, pbar *b,
                       int want) {
  memset(b, 0, sizeof *b);
  const char *term = getenv("TERM"); /* a dumb terminal has no erase-line */
  if (want == 0 || !isatty(2) || (term && strcmp(term, "dumb") == 0)) return;
  b->total = input_bytes(L, idx);
  if (b->total <= 0 || (want < 0 && b->total < PBAR_MIN)) return;
  const char *p = lua_type(L, idx) == LUA_TTABLE ? "read_csv"
                                                  : lua_tostring(L, idx);
  size_t n = strlen(p), cap = sizeof b->name;
  if (n < cap)
    memcpy(b->name, p, n + 1);
  else
    snprintf(b->name, cap, "...%s", p + n - (cap - 4));
  b->t0 = b->last = now_s();
  o->progress = 1;
  o->progress_fn = pbar_update;
  o->progress_ud = b;
}

static void pbar_end(pbar *b) {
  if (!b->drawn) return;
  fputs("\r\033[K", stderr);
  fflush(stderr);
}

/* read_csv(path | {paths...}, opts) -> Table */
static int l_read_csv(lua_State *L) {
  scl_ctx *ctx = sclb_ctx(L);
  scl_csv_opts o;
  csvopts(L, 2, &o, "read_csv");
  /* progress: nil (a bar for big inputs), true (any size), false (none) */
  int want = -1;
  if (lua_istable(L, 2)) {
    if (lua_getfield(L, 2, "progress") != LUA_TNIL)
      want = lua_toboolean(L, -1);
    lua_pop(L, 1);
  }
  pbar bar;
  pbar_start(L, 1, &o, &bar, want);
  sclb_table *u = newtable(L);
  int rc;
  if (lua_type(L, 1) == LUA_TTABLE) {
    size_t n;
    const char **paths = strarray(L, 1, &n, "read_csv: the list of paths");
    rc = scl_table_read_csv_files(ctx, paths, n, &o, &u->t);
    lua_pop(L, 1);
  } else {
    rc = scl_table_read_csv(ctx, luaL_checkstring(L, 1), &o, &u->t);
  }
  pbar_end(&bar);
  check_ok(L, ctx, rc);
  return 1;
}

/* read_csv_string(text, opts, name) -> Table */
static int l_read_csv_string(lua_State *L) {
  scl_ctx *ctx = sclb_ctx(L);
  size_t len;
  const char *s = luaL_checklstring(L, 1, &len);
  const char *name = luaL_optstring(L, 3, "<string>");
  scl_csv_opts o;
  csvopts(L, 2, &o, "read_csv_string");
  sclb_table *u = newtable(L);
  check_ok(L, ctx, scl_table_read_csv_buffer(ctx, name, s, len, &o, &u->t));
  return 1;
}

typedef struct {
  scl_csv_reader *r;
} reader_ud;

static int reader_gc(lua_State *L) {
  reader_ud *u = lua_touserdata(L, 1);
  if (u->r) {
    scl_csv_close(u->r);
    u->r = NULL;
  }
  return 0;
}

static int reader_next(lua_State *L) {
  reader_ud *u = lua_touserdata(L, lua_upvalueindex(1));
  if (!u->r) return 0;
  const char *const *f;
  const size_t *lens;
  size_t n;
  scl_ctx *ctx = sclb_ctx(L);
  if (scl_csv_next(u->r, &f, &lens, &n) != SCL_OK) {
    lua_pushstring(L, scl_ctx_errmsg(ctx));
    scl_csv_close(u->r);
    u->r = NULL;
    return lua_error(L);
  }
  if (n == 0) {
    scl_csv_close(u->r);
    u->r = NULL;
    return 0;
  }
  lua_createtable(L, (int)n, 0);
  for (size_t i = 0; i < n; i++) {
    lua_pushlstring(L, f[i], lens[i]);
    lua_rawseti(L, -2, (lua_Integer)i + 1);
  }
  return 1;
}

/* csv_records(path, opts) -> iterator, nil, nil, closer */
static int l_csv_records(lua_State *L) {
  scl_ctx *ctx = sclb_ctx(L);
  const char *path = luaL_checkstring(L, 1);
  scl_csv_opts o;
  csvopts(L, 2, &o, "csv_records");
  reader_ud *u = lua_newuserdatauv(L, sizeof *u, 0);
  u->r = NULL;
  if (luaL_newmetatable(L, "scalelua.CsvReader")) {
    lua_pushcfunction(L, reader_gc);
    lua_setfield(L, -2, "__gc");
    lua_pushcfunction(L, reader_gc);
    lua_setfield(L, -2, "__close");
  }
  lua_setmetatable(L, -2);
  int ud = lua_gettop(L);
  check_ok(L, ctx, scl_csv_open(ctx, path, &o, &u->r));
  lua_pushvalue(L, ud);
  lua_pushcclosure(L, reader_next, 1);
  lua_pushnil(L);
  lua_pushnil(L);
  lua_pushvalue(L, ud);
  return 4;
}

/* ------------------------------------------------------------ Table */

static int colindex(lua_State *L, const scl_table *t, int idx) {
  const char *name = luaL_checkstring(L, idx);
  int c = scl_table_find(t, name);
  if (c < 0) {
    lua_pushfstring(L, "no column '%s' (columns:", name);
    for (size_t i = 0; i < scl_table_ncols(t); i++)
      lua_pushfstring(L, "%s %s", i ? "," : "", scl_table_colname(t, i));
    lua_pushliteral(L, ")");
    lua_concat(L, (int)scl_table_ncols(t) + 2);
    return luaL_argerror(L, idx, lua_tostring(L, -1));
  }
  return c;
}

static int t_nrows(lua_State *L) {
  lua_pushinteger(L, (lua_Integer)scl_table_nrows(sclb_checktable(L, 1)->t));
  return 1;
}

static int t_ncols(lua_State *L) {
  lua_pushinteger(L, (lua_Integer)scl_table_ncols(sclb_checktable(L, 1)->t));
  return 1;
}

static int t_names(lua_State *L) {
  scl_table *t = sclb_checktable(L, 1)->t;
  size_t nc = scl_table_ncols(t);
  lua_createtable(L, (int)nc, 0);
  for (size_t i = 0; i < nc; i++) {
    lua_pushstring(L, scl_table_colname(t, i));
    lua_rawseti(L, -2, (lua_Integer)i + 1);
  }
  return 1;
}

static int t_types(lua_State *L) {
  scl_table *t = sclb_checktable(L, 1)->t;
  lua_newtable(L);
  for (size_t i = 0; i < scl_table_ncols(t); i++) {
    lua_pushstring(L, scl_table_coltype(t, i) == SCL_NUMBER ? "number"
                                                            : "string");
    lua_setfield(L, -2, scl_table_colname(t, i));
  }
  return 1;
}

static int t_column(lua_State *L) {
  scl_table *t = sclb_checktable(L, 1)->t;
  pushcolumn(L, t, (size_t)colindex(L, t, 2));
  return 1;
}

/* Push the value at (row, col) as a Lua number or string. */
static void pushcell(lua_State *L, const scl_table *t, size_t col,
                     size_t row) {
  if (scl_table_coltype(t, col) == SCL_NUMBER)
    lua_pushnumber(L, scl_table_numbers(t, col)[row]);
  else
    lua_pushstring(L, scl_table_string(t, col, row));
}

/* Push row (0-based) as a Lua table {name = value, ...}. */
static void pushrow(lua_State *L, const scl_table *t, size_t row) {
  size_t nc = scl_table_ncols(t);
  lua_createtable(L, 0, (int)nc);
  for (size_t c = 0; c < nc; c++) {
    pushcell(L, t, c, row);
    lua_setfield(L, -2, scl_table_colname(t, c));
  }
}

/* t:row(i) -> {col = value, ...} */
static int t_row(lua_State *L) {
  scl_table *t = sclb_checktable(L, 1)->t;
  lua_Integer i = luaL_checkinteger(L, 2);
  luaL_argcheck(L, i >= 1 && (size_t)i <= scl_table_nrows(t), 2,
                "row out of range");
  pushrow(L, t, (size_t)i - 1);
  return 1;
}

static int rows_iter(lua_State *L) {
  scl_table *t = sclb_checktable(L, 1)->t;
  lua_Integer i = luaL_checkinteger(L, 2) + 1;
  if ((size_t)i > scl_table_nrows(t)) return 0;
  lua_pushinteger(L, i);
  pushrow(L, t, (size_t)i - 1);
  return 2;
}

/* for i, row in t:rows() do ... end */
static int t_rows(lua_State *L) {
  sclb_checktable(L, 1);
  lua_pushcfunction(L, rows_iter);
  lua_pushvalue(L, 1);
  lua_pushinteger(L, 0);
  return 3;
}

/* Push a new Table of the given rows of t. */
static void pushtake(lua_State *L, const scl_table *t, const size_t *rows,
                     size_t n) {
  scl_ctx *ctx = sclb_ctx(L);
  sclb_table *u = newtable(L);
  check_ok(L, ctx, scl_table_take(t, rows, n, &u->t));
}

/* t:head(n = 10) */
static int t_head(lua_State *L) {
  scl_table *t = sclb_checktable(L, 1)->t;
  lua_Integer k = luaL_optinteger(L, 2, 10);
  size_t n = scl_table_nrows(t);
  if (k < 0) k = 0;
  if ((size_t)k < n) n = (size_t)k;
  size_t *rows = scratch(L, n * sizeof *rows);
  for (size_t i = 0; i < n; i++) rows[i] = i;
  pushtake(L, t, rows, n);
  return 1;
}

/* t:tail(n = 10) */
static int t_tail(lua_State *L) {
  scl_table *t = sclb_checktable(L, 1)->t;
  lua_Integer k = luaL_optinteger(L, 2, 10);
  size_t nr = scl_table_nrows(t), n = nr;
  if (k < 0) k = 0;
  if ((size_t)k < n) n = (size_t)k;
  size_t *rows = scratch(L, n * sizeof *rows);
  for (size_t i = 0; i < n; i++) rows[i] = nr - n + i;
  pushtake(L, t, rows, n);
  return 1;
}

/* Does cell (row, col) equal the Lua value at idx? */
static int cell_equals(lua_State *L, const scl_table *t, size_t col,
                       size_t row, int idx) {
  if (scl_table_coltype(t, col) == SCL_NUMBER)
    return lua_type(L, idx) == LUA_TNUMBER &&
           scl_table_numbers(t, col)[row] == lua_tonumber(L, idx);
  return lua_type(L, idx) == LUA_TSTRING &&
         strcmp(scl_table_string(t, col, row), lua_tostring(L, idx)) == 0;
}

/*
 * t:where(col, value) or t:where(col, {v1, v2, ...}) -> rows equal to value
 * t:where(function(row) return bool end)
 */
static int t_where(lua_State *L) {
  scl_table *t = sclb_checktable(L, 1)->t;
  size_t nr = scl_table_nrows(t), k = 0;
  size_t *rows = scratch(L, nr * sizeof *rows);
  if (lua_type(L, 2) == LUA_TFUNCTION) {
    for (size_t r = 0; r < nr; r++) {
      lua_pushvalue(L, 2);
      pushrow(L, t, r);
      lua_call(L, 1, 1);
      if (lua_toboolean(L, -1)) rows[k++] = r;
      lua_pop(L, 1);
    }
  } else {
    size_t col = (size_t)colindex(L, t, 2);
    luaL_checkany(L, 3);
    int multi = lua_type(L, 3) == LUA_TTABLE;
    lua_Integer nv = multi ? luaL_len(L, 3) : 1;
    int top = lua_gettop(L);
    if (multi)
      for (lua_Integer i = 1; i <= nv; i++) lua_geti(L, 3, i);
    else
      lua_pushvalue(L, 3);
    if (scl_table_coltype(t, col) == SCL_STRING) {
      /* compare codes, not strings */
      size_t nl = scl_table_nlevels(t, col);
      char *want = scratch(L, nl);
      memset(want, 0, nl);
      for (size_t c = 0; c < nl; c++)
        for (lua_Integer i = 1; i <= nv; i++)
          if (lua_type(L, top + (int)i) == LUA_TSTRING &&
              strcmp(scl_table_level(t, col, (uint32_t)c),
                     lua_tostring(L, top + (int)i)) == 0)
            want[c] = 1;
      const uint32_t *codes = scl_table_codes(t, col);
      for (size_t r = 0; r < nr; r++)
        if (want[codes[r]]) rows[k++] = r;
    } else {
      for (size_t r = 0; r < nr; r++)
        for (lua_Integer i = 1; i <= nv; i++)
          if (cell_equals(L, t, col, r, top + (int)i)) {
            rows[k++] = r;
            break;
          }
    }
  }
  pushtake(L, t, rows, k);
  return 1;
}

/* t:sort(col, desc) -> a new Table sorted by col (stable, NaN last) */
static int t_sort(lua_State *L) {
  scl_ctx *ctx = sclb_ctx(L);
  scl_table *t = sclb_checktable(L, 1)->t;
  size_t col = (size_t)colindex(L, t, 2);
  int desc = lua_toboolean(L, 3);
  size_t nr = scl_table_nrows(t);
  size_t *order = scratch(L, nr * sizeof *order);
  check_ok(L, ctx, scl_table_order(t, col, desc, order));
  pushtake(L, t, order, nr);
  return 1;
}

/* t:select(col, ...) or t:select{cols} -> a new Table of those columns */
static int t_select(lua_State *L) {
  scl_ctx *ctx = sclb_ctx(L);
  scl_table *t = sclb_checktable(L, 1)->t;
  size_t n;
  const char **names;
  if (lua_type(L, 2) == LUA_TTABLE) {
    names = strarray(L, 2, &n, "select: the list of columns");
  } else {
    n = (size_t)lua_gettop(L) - 1;
    names = scratch(L, n * sizeof *names);
    for (size_t i = 0; i < n; i++) names[i] = luaL_checkstring(L, (int)i + 2);
  }
  for (size_t i = 0; i < n; i++)
    if (scl_table_find(t, names[i]) < 0)
      luaL_error(L, "select: no column '%s'", names[i]);
  sclb_table *u = newtable(L);
  check_ok(L, ctx, scl_table_select(t, names, n, &u->t));
  return 1;
}

/* The groups of a group_by call, freed by __gc if a raise comes first. */
typedef struct {
  scl_ctx *ctx;
  scl_groups *g;
} groups_ud;

#define GROUPS_MT "scalelua.Groups"

static int groups_gc(lua_State *L) {
  groups_ud *u = luaL_checkudata(L, 1, GROUPS_MT);
  scl_groups_free(u->ctx, u->g);
  u->g = NULL;
  return 0;
}

static int groups_iter(lua_State *L) {
  /* upvalues: 1 array of {key, Table} pairs, 2 position */
  lua_Integer i = lua_tointeger(L, lua_upvalueindex(2)) + 1;
  if (lua_geti(L, lua_upvalueindex(1), i) == LUA_TNIL) return 0;
  lua_pushinteger(L, i);
  lua_replace(L, lua_upvalueindex(2));
  lua_geti(L, -1, 1);
  lua_geti(L, -2, 2);
  return 2;
}

/*
 * The column indices of the array of names at idx, in a scratch array
 * pushed on the stack; what names it in messages.  unique: a column named
 * twice is an error.
 */
static size_t *name_indices(lua_State *L, const scl_table *t, int idx,
                            size_t *n, const char *what, int unique) {
  const char **names = strarray(L, idx, n, what);
  size_t *cols = scratch(L, *n * sizeof *cols);
  for (size_t i = 0; i < *n; i++) {
    int c = scl_table_find(t, names[i]);
    if (c < 0) luaL_error(L, "%s: no column '%s'", what, names[i]);
    cols[i] = (size_t)c;
    for (size_t j = 0; unique && j < i; j++)
      if (cols[j] == cols[i])
        luaL_error(L, "%s: '%s' named twice", what, names[i]);
  }
  return cols;
}

/* The column indices of the option `columns` of the group_by options
 * table at idx (scratch, pushed). */
static size_t *group_columns(lua_State *L, const scl_table *t, int idx,
                             size_t *n) {
  lua_pushnil(L);
  while (lua_next(L, idx)) {
    lua_pop(L, 1);
    if (lua_type(L, -1) != LUA_TSTRING ||
        strcmp(lua_tostring(L, -1), "columns") != 0)
      luaL_error(L, "group_by: unknown option '%s'",
                 lua_type(L, -1) == LUA_TSTRING ? lua_tostring(L, -1) : "?");
  }
  lua_getfield(L, idx, "columns");
  return name_indices(L, t, -1, n, "group_by: option 'columns'", 1);
}

/*
 * Group the rows of t by the key columns cols[0..ng) (scl_table_group) into
 * a holder pushed on the stack, which frees them if a raise comes first.
 */
static const scl_groups *push_groups(lua_State *L, const scl_table *t,
                                     const size_t *cols, int ng) {
  scl_ctx *ctx = sclb_ctx(L);
  groups_ud *gu = lua_newuserdatauv(L, sizeof *gu, 0);
  gu->ctx = ctx;
  gu->g = NULL;
  luaL_setmetatable(L, GROUPS_MT);
  check_ok(L, ctx, scl_table_group(t, cols, (size_t)ng, &gu->g));
  return gu->g;
}

/* Free the groups held at idx now rather than at the next collection. */
static void drop_groups(lua_State *L, int idx) {
  lua_pushcfunction(L, groups_gc);
  lua_pushvalue(L, idx);
  lua_call(L, 1, 0);
}

/* Push group g's key: its first row's value, or an array of them. */
static void pushgroupkey(lua_State *L, const scl_table *t, const size_t *cols,
                         int ng, size_t row) {
  if (ng == 1) {
    pushcell(L, t, cols[0], row);
    return;
  }
  lua_createtable(L, ng, 0);
  for (int k = 0; k < ng; k++) {
    pushcell(L, t, cols[k], row);
    lua_rawseti(L, -2, k + 1);
  }
}

/*
 * t:group_by(col, ... [, {columns = {names}}]) -> iterator of key, subtable
 * Groups of equal key values (scl_table_group: NaN is one value) in order
 * of first appearance, each a new Table of its rows in table order.  The
 * key is the first row's value, or with several columns an array of
 * them.  With `columns` the subtables hold only those columns.
 */
static int t_group_by(lua_State *L) {
  scl_ctx *ctx = sclb_ctx(L);
  scl_table *t = sclb_checktable(L, 1)->t;
  int top = lua_gettop(L), opts = 0;
  if (top >= 2 && lua_type(L, top) == LUA_TTABLE) opts = top--;
  int ng = top - 1;
  luaL_argcheck(L, ng >= 1, 2, "group_by needs at least one column");
  size_t *cols = scratch(L, (size_t)ng * sizeof *cols);
  for (int g = 0; g < ng; g++) cols[g] = (size_t)colindex(L, t, g + 2);
  size_t nkeep = scl_table_ncols(t), *keep = NULL;
  if (opts) keep = group_columns(L, t, opts, &nkeep);
  const scl_groups *G = push_groups(L, t, cols, ng);
  int held = lua_gettop(L);
  lua_createtable(L, G->ngroups > INT_MAX ? INT_MAX : (int)G->ngroups, 0);
  int out = lua_gettop(L);
  for (size_t g = 0; g < G->ngroups; g++) {
    const size_t *rows = G->rows + G->start[g];
    size_t n = G->start[g + 1] - G->start[g];
    lua_createtable(L, 2, 0);
    pushgroupkey(L, t, cols, ng, rows[0]);
    lua_rawseti(L, -2, 1);
    sclb_table *u = newtable(L);
    check_ok(L, ctx, keep ? scl_table_take_columns(t, keep, nkeep, rows, n,
                                                   &u->t)
                          : scl_table_take(t, rows, n, &u->t));
    lua_rawseti(L, -2, 2);
    lua_rawseti(L, out, (lua_Integer)g + 1);
  }
  drop_groups(L, held);
  lua_pushinteger(L, 0);
  lua_pushcclosure(L, groups_iter, 2);
  return 1;
}

/*
 * group_columns(t, {key columns}, {value columns}) -> {{key, Column, ...}}
 *   For the experiment: the groups of t:group_by(keys...) in the same
 *   order with the same keys, each with its rows of the value columns as
 *   Columns straight away (no subtable to copy them out of again).
 */
static int l_group_columns(lua_State *L) {
  scl_ctx *ctx = sclb_ctx(L);
  scl_table *t = sclb_checktable(L, 1)->t;
  luaL_checktype(L, 2, LUA_TTABLE);
  luaL_checktype(L, 3, LUA_TTABLE);
  size_t ng, nv;
  size_t *cols = name_indices(L, t, 2, &ng, "group_columns: keys", 1);
  size_t *vals = name_indices(L, t, 3, &nv, "group_columns: values", 0);
  luaL_argcheck(L, ng >= 1 && ng <= 64, 2, "1 to 64 key columns");
  luaL_argcheck(L, nv <= 64, 3, "at most 64 value columns");
  const scl_groups *G = push_groups(L, t, cols, (int)ng);
  int held = lua_gettop(L);
  lua_createtable(L, G->ngroups > INT_MAX ? INT_MAX : (int)G->ngroups, 0);
  int out = lua_gettop(L);
  for (size_t g = 0; g < G->ngroups; g++) {
    const size_t *rows = G->rows + G->start[g];
    size_t n = G->start[g + 1] - G->start[g];
    lua_createtable(L, (int)nv + 1, 0);
    pushgroupkey(L, t, cols, (int)ng, rows[0]);
    lua_rawseti(L, -2, 1);
    for (size_t k = 0; k < nv; k++) {
      sclb_table *u = newcolumn(L);
      check_ok(L, ctx, scl_table_take_columns(t, &vals[k], 1, rows, n, &u->t));
      lua_rawseti(L, -2, (lua_Integer)k + 2);
    }
    lua_rawseti(L, out, (lua_Integer)g + 1);
  }
  drop_groups(L, held);
  lua_settop(L, out);
  return 1;
}

/*
 * flops_6nd(t, params, tokens, name [, divisor]) -> nothing
 *   For the experiment: sets column name of t to 6 * N * D (/ divisor),
 *   the same operations in the same order as those Column expressions
 *   (scl_vec_op), computed from t's own columns into the new one.
 */
static int l_flops_6nd(lua_State *L) {
  scl_ctx *ctx = sclb_ctx(L);
  scl_table *t = sclb_checktable(L, 1)->t;
  const char *name = luaL_checkstring(L, 4);
  int pc = colindex(L, t, 2), tc = colindex(L, t, 3);
  const double *N = scl_table_numbers(t, (size_t)pc);
  const double *D = scl_table_numbers(t, (size_t)tc);
  if (!N || !D)
    luaL_error(L, "flops_6nd: column '%s' holds strings, not numbers",
               N ? lua_tostring(L, 3) : lua_tostring(L, 2));
  size_t n = scl_table_nrows(t);
  double six = 6, div = luaL_optnumber(L, 5, 1);
  int by = !lua_isnoneornil(L, 5);
  /* Replacing an input column would free it: compute aside, then copy. */
  int aside = strcmp(name, lua_tostring(L, 2)) == 0 ||
              strcmp(name, lua_tostring(L, 3)) == 0;
  scl_table *dst = t;
  if (aside) {
    sclb_table *u = newcolumn(L);
    check_ok(L, ctx, scl_table_new(ctx, &u->t));
    dst = u->t;
  }
  double *out;
  check_ok(L, ctx, scl_table_add_numbers(dst, name, n, &out));
  check_ok(L, ctx, scl_vec_op(ctx, SCL_MUL, &six, 1, N, n, out, n));
  check_ok(L, ctx, scl_vec_op(ctx, SCL_MUL, out, n, D, n, out, n));
  if (by) check_ok(L, ctx, scl_vec_op(ctx, SCL_DIV, out, n, &div, 1, out, n));
  if (aside) check_ok(L, ctx, scl_table_set_numbers(t, name, out, n));
  return 0;
}

/* t:copy() -> a new Table with the same content */
static int t_copy(lua_State *L) {
  scl_table *t = sclb_checktable(L, 1)->t;
  size_t nr = scl_table_nrows(t);
  size_t *rows = scratch(L, nr * sizeof *rows);
  for (size_t i = 0; i < nr; i++) rows[i] = i;
  pushtake(L, t, rows, nr);
  return 1;
}

/* t:append(other): add other's rows in place */
static int t_append(lua_State *L) {
  scl_ctx *ctx = sclb_ctx(L);
  scl_table *t = sclb_checktable(L, 1)->t;
  scl_table *s = sclb_checktable(L, 2)->t;
  check_ok(L, ctx, scl_table_append(t, s));
  lua_settop(L, 1);
  return 1;
}

/* t:set(name, value): value a Column, an array or a scalar (broadcast). */
static int t_set(lua_State *L) {
  scl_ctx *ctx = sclb_ctx(L);
  scl_table *t = sclb_checktable(L, 1)->t;
  const char *name = luaL_checkstring(L, 2);
  size_t nr = scl_table_nrows(t), nc = scl_table_ncols(t);
  if (lua_isnil(L, 3)) {
    if (scl_table_find(t, name) >= 0) check_ok(L, ctx, scl_table_drop(t, name));
    return 0;
  }
  sclb_table *cu = luaL_testudata(L, 3, SCLB_COLUMN);
  if (cu && cu->t && scl_table_coltype(cu->t, 0) == SCL_STRING) {
    size_t n = scl_table_nrows(cu->t);
    if (nc && n != nr)
      luaL_error(L, "column '%s': %d values for a table of %d rows", name,
                 (int)n, (int)nr);
    const char **v = scratch(L, n * sizeof *v);
    for (size_t i = 0; i < n; i++) v[i] = scl_table_string(cu->t, 0, i);
    check_ok(L, ctx, scl_table_set_strings(t, name, v, n));
    return 0;
  }
  if (lua_type(L, 3) == LUA_TSTRING ||
      (lua_type(L, 3) == LUA_TTABLE && lua_geti(L, 3, 1) == LUA_TSTRING)) {
    size_t n = lua_type(L, 3) == LUA_TSTRING ? (nc ? nr : 1)
                                             : (size_t)luaL_len(L, 3);
    if (nc && n != nr)
      luaL_error(L, "column '%s': %d values for a table of %d rows", name,
                 (int)n, (int)nr);
    const char **v = scratch(L, n * sizeof *v);
    for (size_t i = 0; i < n; i++) {
      if (lua_type(L, 3) == LUA_TSTRING) {
        v[i] = lua_tostring(L, 3);
        continue;
      }
      lua_geti(L, 3, (lua_Integer)i + 1);
      if (lua_type(L, -1) != LUA_TSTRING)
        luaL_error(L, "column '%s'[%d]: expected a string", name, (int)i + 1);
      v[i] = lua_tostring(L, -1);
      lua_pop(L, 1);
    }
    check_ok(L, ctx, scl_table_set_strings(t, name, v, n));
    return 0;
  }
  lua_settop(L, 3);
  size_t n;
  const double *v = sclb_checkvector(L, 3, &n, name);
  if (n == 1 && nc && nr != 1) { /* broadcast a scalar */
    double x = v[0];
    double *b = scratch(L, nr * sizeof *b);
    for (size_t i = 0; i < nr; i++) b[i] = x;
    v = b;
    n = nr;
  }
  if (nc && n != nr)
    luaL_error(L, "column '%s': %d values for a table of %d rows", name,
               (int)n, (int)nr);
  check_ok(L, ctx, scl_table_set_numbers(t, name, v, n));
  return 0;
}

static int t_index(lua_State *L) {
  scl_table *t = sclb_checktable(L, 1)->t;
  if (lua_type(L, 2) == LUA_TSTRING) {
    luaL_getmetatable(L, SCLB_TABLE);
    lua_getfield(L, -1, "__methods");
    lua_pushvalue(L, 2);
    if (lua_rawget(L, -2) != LUA_TNIL) return 1;
    int c = scl_table_find(t, lua_tostring(L, 2));
    if (c >= 0) {
      pushcolumn(L, t, (size_t)c);
      return 1;
    }
  }
  return 0; /* t.nosuch is nil, like a Lua table */
}

static int t_newindex(lua_State *L) {
  lua_settop(L, 3);
  lua_pushcfunction(L, t_set);
  lua_insert(L, 1);
  lua_call(L, 3, 0);
  return 0;
}

static int t_len(lua_State *L) { return t_nrows(L); }

/* ------------------------------------------------------------ preview */

/* Append a cell's text to b, at most width characters. */
static void addcell(luaL_Buffer *b, lua_State *L, const scl_table *t,
                    size_t col, size_t row, int width, int right) {
  char tmp[64];
  const char *s;
  if (scl_table_coltype(t, col) == SCL_NUMBER) {
    snprintf(tmp, sizeof tmp, "%.6g", scl_table_numbers(t, col)[row]);
    s = tmp;
  } else {
    s = scl_table_string(t, col, row);
  }
  (void)L;
  int len = (int)strlen(s);
  if (len > width) {
    luaL_addlstring(b, s, (size_t)width - 1);
    luaL_addstring(b, "~");
    return;
  }
  if (right)
    for (int i = len; i < width; i++) luaL_addchar(b, ' ');
  luaL_addlstring(b, s, (size_t)len);
  if (!right)
    for (int i = len; i < width; i++) luaL_addchar(b, ' ');
}

/*
 * A preview like a data-frame library prints: dimensions, then a header of
 * names and types and the first and last rows.
 */
static int t_tostring(lua_State *L) {
  scl_table *t = sclb_checktable(L, 1)->t;
  size_t nr = scl_table_nrows(t), nc = scl_table_ncols(t);
  enum { MAXROWS = 10, MAXCOLS = 12, MAXW = 16 };
  size_t show = nr <= MAXROWS ? nr : MAXROWS;
  size_t cshow = nc <= MAXCOLS ? nc : MAXCOLS;
  luaL_Buffer b;
  luaL_buffinit(L, &b);
  lua_pushfstring(L, "Table: %d rows x %d columns\n", (int)nr, (int)nc);
  luaL_addvalue(&b);
  int w[MAXCOLS];
  for (size_t c = 0; c < cshow; c++) {
    int wc = (int)strlen(scl_table_colname(t, c));
    if (wc < 6) wc = 6;
    for (size_t k = 0; k < show; k++) {
      size_t r = (nr > MAXROWS && k >= MAXROWS / 2) ? nr - (MAXROWS - k) : k;
      char tmp[64];
      int len = scl_table_coltype(t, c) == SCL_NUMBER
                    ? snprintf(tmp, sizeof tmp, "%.6g",
                               scl_table_numbers(t, c)[r])
                    : (int)strlen(scl_table_string(t, c, r));
      if (len > wc) wc = len;
    }
    w[c] = wc > MAXW ? MAXW : wc;
  }
  for (int line = 0; line < 2; line++) {
    luaL_addstring(&b, "      ");
    for (size_t c = 0; c < cshow; c++) {
      const char *s = line == 0 ? scl_table_colname(t, c)
                      : scl_table_coltype(t, c) == SCL_NUMBER ? "<num>"
                                                              : "<str>";
      int len = (int)strlen(s);
      if (len > w[c]) len = w[c];
      luaL_addchar(&b, ' ');
      for (int i = len; i < w[c]; i++) luaL_addchar(&b, ' ');
      luaL_addlstring(&b, s, (size_t)len);
    }
    if (cshow < nc) luaL_addstring(&b, line == 0 ? "  ..." : "");
    luaL_addchar(&b, '\n');
  }
  for (size_t k = 0; k < show; k++) {
    size_t r = (nr > MAXROWS && k >= MAXROWS / 2) ? nr - (MAXROWS - k) : k;
    if (nr > MAXROWS && k == MAXROWS / 2) luaL_addstring(&b, "   ...\n");
    char num[32];
    snprintf(num, sizeof num, "%5d ", (int)r + 1);
    luaL_addstring(&b, num);
    for (size_t c = 0; c < cshow; c++) {
      luaL_addchar(&b, ' ');
      addcell(&b, L, t, c, r, w[c], 1);
    }
    luaL_addchar(&b, '\n');
  }
  luaL_pushresult(&b);
  /* drop the final newline */
  size_t len;
  const char *s = lua_tolstring(L, -1, &len);
  if (len && s[len - 1] == '\n') lua_pushlstring(L, s, len - 1);
  return 1;
}

/* ------------------------------------------------------------ Column */

static int c_len(lua_State *L) {
  lua_pushinteger(L, (lua_Integer)scl_table_nrows(checkcol(L, 1)));
  return 1;
}

static int c_get(lua_State *L) {
  scl_table *t = checkcol(L, 1);
  lua_Integer i = luaL_checkinteger(L, 2);
  if (i < 1 || (size_t)i > scl_table_nrows(t)) return 0;
  pushcell(L, t, 0, (size_t)i - 1);
  return 1;
}

static int c_index(lua_State *L) {
  if (lua_type(L, 2) == LUA_TNUMBER) return c_get(L);
  checkcol(L, 1);
  luaL_getmetatable(L, SCLB_COLUMN);
  lua_getfield(L, -1, "__methods");
  lua_pushvalue(L, 2);
  lua_rawget(L, -2);
  return 1;
}

static int c_name(lua_State *L) {
  lua_pushstring(L, scl_table_colname(checkcol(L, 1), 0));
  return 1;
}

static int c_type(lua_State *L) {
  scl_table *t = checkcol(L, 1);
  lua_pushstring(L, scl_table_coltype(t, 0) == SCL_NUMBER ? "number"
                                                          : "string");
  return 1;
}

static int c_totable(lua_State *L) {
  scl_table *t = checkcol(L, 1);
  size_t n = scl_table_nrows(t);
  lua_createtable(L, (int)n, 0);
  for (size_t i = 0; i < n; i++) {
    pushcell(L, t, 0, i);
    lua_rawseti(L, -2, (lua_Integer)i + 1);
  }
  return 1;
}

static const double *numcol(lua_State *L, int idx, size_t *n) {
  scl_table *t = checkcol(L, idx);
  const double *v = scl_table_numbers(t, 0);
  if (!v)
    luaL_error(L, "column '%s' holds strings, not numbers",
               scl_table_colname(t, 0));
  *n = scl_table_nrows(t);
  return v;
}

static int c_reduce(lua_State *L, double (*f)(const double *, size_t)) {
  size_t n;
  const double *v = numcol(L, 1, &n);
  lua_pushnumber(L, f(v, n));
  return 1;
}
static int c_sum(lua_State *L) { return c_reduce(L, scl_vec_sum); }
static int c_min(lua_State *L) { return c_reduce(L, scl_vec_min); }
static int c_max(lua_State *L) { return c_reduce(L, scl_vec_max); }

/* Distinct values in first-appearance order (strings or numbers). */
static int c_unique(lua_State *L) {
  scl_table *t = checkcol(L, 1);
  lua_newtable(L);
  int out = lua_gettop(L);
  if (scl_table_coltype(t, 0) == SCL_STRING) {
    size_t nl = scl_table_nlevels(t, 0), nr = scl_table_nrows(t), k = 0;
    char *seen = scratch(L, nl);
    memset(seen, 0, nl);
    const uint32_t *codes = scl_table_codes(t, 0);
    for (size_t r = 0; r < nr && k < nl; r++)
      if (!seen[codes[r]]) {
        seen[codes[r]] = 1;
        lua_pushstring(L, scl_table_level(t, 0, codes[r]));
        lua_rawseti(L, out, (lua_Integer)++k);
      }
  } else {
    size_t n;
    const double *v = numcol(L, 1, &n);
    lua_newtable(L);
    int seen = lua_gettop(L);
    lua_Integer k = 0;
    for (size_t i = 0; i < n; i++) {
      if (isnan(v[i])) continue;
      lua_pushnumber(L, v[i]);
      if (lua_rawget(L, seen) == LUA_TNIL) {
        lua_pushnumber(L, v[i]);
        lua_pushboolean(L, 1);
        lua_rawset(L, seen);
        lua_pushnumber(L, v[i]);
        lua_rawseti(L, out, ++k);
      }
      lua_pop(L, 1);
    }
    lua_settop(L, out);
  }
  return 1;
}

/* Element-wise arithmetic: Column op Column|number, number op Column. */
static int c_arith(lua_State *L, scl_op op, const char *sym) {
  scl_ctx *ctx = sclb_ctx(L);
  size_t na, nb;
  const double *a = sclb_checkvector(L, 1, &na, "left operand");
  int unary = op == SCL_NEG || op == SCL_LOG10 || op == SCL_LOG || op == SCL_EXP;
  const double *b = unary ? a : sclb_checkvector(L, 2, &nb, "right operand");
  if (unary) nb = na;
  size_t n = na > nb ? na : nb;
  if (na != nb && na != 1 && nb != 1)
    luaL_error(L, "column %s column: lengths differ (%d and %d)", sym,
               (int)na, (int)nb);
  /* The result is computed straight into the new Column's storage. */
  sclb_table *ua = luaL_testudata(L, 1, SCLB_COLUMN);
  const char *name = ua ? scl_table_colname(ua->t, 0) : "value";
  sclb_table *u = newcolumn(L);
  double *out;
  check_ok(L, ctx, scl_table_new(ctx, &u->t));
  check_ok(L, ctx, scl_table_add_numbers(u->t, name, n, &out));
  check_ok(L, ctx, scl_vec_op(ctx, op, a, na, b, nb, out, n));
  return 1;
}
static int c_add(lua_State *L) { return c_arith(L, SCL_ADD, "+"); }
static int c_sub(lua_State *L) { return c_arith(L, SCL_SUB, "-"); }
static int c_mul(lua_State *L) { return c_arith(L, SCL_MUL, "*"); }
static int c_div(lua_State *L) { return c_arith(L, SCL_DIV, "/"); }
static int c_pow(lua_State *L) { return c_arith(L, SCL_POW, "^"); }
static int c_unm(lua_State *L) { return c_arith(L, SCL_NEG, "-"); }
static int c_log10(lua_State *L) { return c_arith(L, SCL_LOG10, "log10"); }
static int c_log(lua_State *L) { return c_arith(L, SCL_LOG, "log"); }
static int c_exp(lua_State *L) { return c_arith(L, SCL_EXP, "exp"); }

static int c_mean(lua_State *L) {
  size_t n, k = 0;
  const double *v = numcol(L, 1, &n);
  for (size_t i = 0; i < n; i++) k += !isnan(v[i]);
  lua_pushnumber(L, k ? scl_vec_sum(v, n) / (double)k : NAN);
  return 1;
}

static int c_tostring(lua_State *L) {
  scl_table *t = checkcol(L, 1);
  size_t n = scl_table_nrows(t);
  luaL_Buffer b;
  luaL_buffinit(L, &b);
  lua_pushfstring(L, "Column '%s' <%s> [%d]: ", scl_table_colname(t, 0),
                  scl_table_coltype(t, 0) == SCL_NUMBER ? "num" : "str",
                  (int)n);
  luaL_addvalue(&b);
  for (size_t i = 0; i < n && i < 8; i++) {
    if (i) luaL_addstring(&b, ", ");
    if (scl_table_coltype(t, 0) == SCL_NUMBER) {
      char tmp[40];
      snprintf(tmp, sizeof tmp, "%.6g", scl_table_numbers(t, 0)[i]);
      luaL_addstring(&b, tmp);
    } else {
      lua_pushfstring(L, "%s", scl_table_string(t, 0, i));
      luaL_addvalue(&b);
    }
  }
  if (n > 8) luaL_addstring(&b, ", ...");
  luaL_pushresult(&b);
  return 1;
}

/* column(values, name) -> a new Column from an array of numbers/strings */
static int l_column(lua_State *L) {
  const char *name = luaL_optstring(L, 2, "value");
  luaL_checktype(L, 1, LUA_TTABLE);
  lua_geti(L, 1, 1);
  int strings = lua_type(L, -1) == LUA_TSTRING;
  lua_pop(L, 1);
  if (!strings) {
    size_t n;
    const double *v = sclb_checkvector(L, 1, &n, name);
    pushnumcol(L, name, v, n);
    return 1;
  }
  scl_ctx *ctx = sclb_ctx(L);
  size_t n;
  const char **v = strarray(L, 1, &n, "column: the values");
  sclb_table *u = newcolumn(L);
  check_ok(L, ctx, scl_table_new(ctx, &u->t));
  check_ok(L, ctx, scl_table_set_strings(u->t, name, v, n));
  return 1;
}

/* table{name = Column|array, ...} or table() -> a new Table */
static int l_table(lua_State *L) {
  scl_ctx *ctx = sclb_ctx(L);
  sclb_table *u = newtable(L);
  int ti = lua_gettop(L);
  check_ok(L, ctx, scl_table_new(ctx, &u->t));
  if (lua_istable(L, 1)) {
    /* deterministic order: array part names first ({"a", "b"}), else sorted */
    lua_newtable(L);
    int keys = lua_gettop(L);
    lua_pushnil(L);
    lua_Integer nk = 0;
    while (lua_next(L, 1)) {
      lua_pop(L, 1);
      if (lua_type(L, -1) != LUA_TSTRING)
        luaL_error(L, "table{}: keys must be column names");
      lua_pushvalue(L, -1);
      lua_rawseti(L, keys, ++nk);
    }
    lua_getglobal(L, "table");
    lua_getfield(L, -1, "sort");
    lua_remove(L, -2);
    lua_pushvalue(L, keys);
    lua_call(L, 1, 0);
    for (lua_Integer i = 1; i <= nk; i++) {
      lua_pushcfunction(L, t_set);
      lua_pushvalue(L, ti);
      lua_geti(L, keys, i);
      lua_pushvalue(L, -1);
      lua_gettable(L, 1);
      lua_call(L, 3, 0);
    }
  }
  lua_settop(L, ti);
  return 1;
}

static const luaL_Reg table_methods[] = {
    {"nrows", t_nrows},   {"ncols", t_ncols},       {"names", t_names},
    {"types", t_types},   {"column", t_column},     {"row", t_row},
    {"rows", t_rows},     {"head", t_head},         {"tail", t_tail},
    {"where", t_where},   {"sort", t_sort},         {"select", t_select},
    {"group_by", t_group_by}, {"copy", t_copy},     {"append", t_append},
    {"set", t_set},       {NULL, NULL}};

static const luaL_Reg table_meta[] = {
    {"__index", t_index},       {"__newindex", t_newindex},
    {"__len", t_len},           {"__tostring", t_tostring},
    {"__gc", table_gc},         {"__close", table_gc},
    {NULL, NULL}};

static const luaL_Reg column_methods[] = {
    {"totable", c_totable}, {"min", c_min},     {"max", c_max},
    {"sum", c_sum},         {"mean", c_mean},   {"name", c_name},
    {"type", c_type},       {"unique", c_unique}, {"log10", c_log10},
    {"log", c_log},         {"exp", c_exp},     {NULL, NULL}};

static const luaL_Reg column_meta[] = {
    {"__index", c_index}, {"__len", c_len},   {"__tostring", c_tostring},
    {"__add", c_add},     {"__sub", c_sub},   {"__mul", c_mul},
    {"__div", c_div},     {"__pow", c_pow},   {"__unm", c_unm},
    {"__gc", table_gc},   {"__close", table_gc}, {NULL, NULL}};

static const luaL_Reg funcs[] = {
    {"read_csv", l_read_csv},   {"read_csv_string", l_read_csv_string},
    {"csv_records", l_csv_records}, {"column", l_column},
    {"table", l_table},         {"group_columns", l_group_columns},
    {"flops_6nd", l_flops_6nd}, {NULL, NULL}};

static void newmeta(lua_State *L, const char *name, const luaL_Reg *meta,
                    const luaL_Reg *methods) {
  luaL_newmetatable(L, name);
  luaL_setfuncs(L, meta, 0);
  lua_newtable(L);
  luaL_setfuncs(L, methods, 0);
  lua_setfield(L, -2, "__methods");
  lua_pushstring(L, name);
  lua_setfield(L, -2, "__name");
  lua_pop(L, 1);
}

void sclb_open_table(lua_State *L) {
  luaL_newmetatable(L, GROUPS_MT);
  lua_pushcfunction(L, groups_gc);
  lua_setfield(L, -2, "__gc");
  lua_pop(L, 1);
  newmeta(L, SCLB_TABLE, table_meta, table_methods);
  newmeta(L, SCLB_COLUMN, column_meta, column_methods);
  luaL_setfuncs(L, funcs, 0);
}
