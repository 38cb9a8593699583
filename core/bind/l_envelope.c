/*
 * l_envelope.c -- Lua binding of the envelope and the smoothers.
 */
#include "bind.h"

#include <string.h>

/*
 * envelope(curves, {mode = "grid"|"points", grid = 1500})
 *   curves: array of {x = vector, y = vector, name = string}
 * -> Table {x, y, curve (the curve's name, or its index as a string)},
 *    number of excluded points
 */
static int l_envelope(lua_State *L) {
  scl_ctx *ctx = sclb_ctx(L);
  luaL_checktype(L, 1, LUA_TTABLE);
  scl_envelope_opts o;
  scl_envelope_opts_init(&o);
  if (!lua_isnoneornil(L, 2)) {
    luaL_checktype(L, 2, LUA_TTABLE);
    lua_pushnil(L);
    while (lua_next(L, 2)) {
      const char *k = lua_type(L, -2) == LUA_TSTRING ? lua_tostring(L, -2) : "?";
      if (strcmp(k, "mode") == 0) {
        const char *m = luaL_checkstring(L, -1);
        if (strcmp(m, "grid") == 0)
          o.mode = SCL_ENV_GRID;
        else if (strcmp(m, "points") == 0)
          o.mode = SCL_ENV_POINTS;
        else
          luaL_error(L, "envelope: mode '%s': want \"grid\" or \"points\"", m);
      } else if (strcmp(k, "grid") == 0) {
        lua_Integer g = luaL_checkinteger(L, -1);
        if (g < 2) luaL_error(L, "envelope: grid = %d: need at least 2", (int)g);
        o.grid = (size_t)g;
      } else {
        luaL_error(L, "envelope: unknown option '%s'", k);
      }
      lua_pop(L, 1);
    }
  }
  lua_settop(L, 1);
  size_t nc = (size_t)luaL_len(L, 1), total = 0;
  scl_curve *curves = lua_newuserdatauv(L, (nc ? nc : 1) * sizeof *curves, 0);
  /* Each curve's name for the result, or its index as text. */
  const char **names = lua_newuserdatauv(L, (nc ? nc : 1) * sizeof *names, 0);
  char(*index)[24] = lua_newuserdatauv(L, (nc ? nc : 1) * sizeof *index, 0);
  for (size_t i = 0; i < nc; i++) {
    luaL_checkstack(L, 8, "too many curves");
    if (lua_geti(L, 1, (lua_Integer)i + 1) != LUA_TTABLE)
      luaL_error(L, "envelope: curve %d is not a table", (int)i + 1);
    int ci = lua_gettop(L);
    size_t nx, ny;
    char what[64];
    lua_getfield(L, ci, "x");
    snprintf(what, sizeof what, "curve %d: x", (int)i + 1);
    curves[i].x = sclb_checkvector(L, -1, &nx, what);
    lua_getfield(L, ci, "y");
    snprintf(what, sizeof what, "curve %d: y", (int)i + 1);
    curves[i].y = sclb_checkvector(L, -1, &ny, what);
    if (nx != ny)
      luaL_error(L, "envelope: curve %d: x has %d values, y has %d", (int)i + 1,
                 (int)nx, (int)ny);
    curves[i].n = nx; /* the vectors stay on the stack until we return */
    total += nx;
    if (lua_getfield(L, ci, "name") == LUA_TSTRING) {
      names[i] = lua_tostring(L, -1); /* anchored on the stack too */
    } else {
      snprintf(index[i], sizeof index[i], "%d", (int)i + 1);
      names[i] = index[i];
    }
  }
  /*
   * Everything that can raise comes before the envelope is computed: the
   * result Table, and room for its curve names (GRID gives at most `grid`
   * points, POINTS at most one per input point).
   */
  size_t cap = o.mode == SCL_ENV_GRID ? o.grid : total;
  const char **which = lua_newuserdatauv(L, (cap ? cap : 1) * sizeof *which, 0);
  sclb_table *u = lua_newuserdatauv(L, sizeof *u, 0);
  *u = (sclb_table){NULL, NULL, 0};
  luaL_setmetatable(L, SCLB_TABLE);
  if (scl_table_new(ctx, &u->t) != SCL_OK) return sclb_fail(L, ctx);
  scl_envelope *e = NULL;
  if (scl_envelope_compute(ctx, curves, nc, &o, &e) != SCL_OK)
    return sclb_fail(L, ctx);
  size_t n = e->n, excluded = e->excluded;
  int rc = n > cap ? scl_ctx_error(ctx, SCL_EINVAL, "envelope: %zu points "
                                   "for at most %zu", n, cap)
                   : SCL_OK;
  for (size_t i = 0; i < n && !rc; i++) which[i] = names[e->curve[i]];
  if (!rc) rc = scl_table_set_numbers(u->t, "x", e->x, n);
  if (!rc) rc = scl_table_set_numbers(u->t, "y", e->y, n);
  if (!rc) rc = scl_table_set_strings(u->t, "curve", which, n);
  scl_envelope_free(ctx, e);
  if (rc != SCL_OK) return sclb_fail(L, ctx);
  lua_pushinteger(L, (lua_Integer)excluded);
  return 2;
}

/*
 * Smooth the y at stack index 2 (n values) into out, as arguments 1, 3
 * and 4 say; raises on bad arguments or a core failure.
 */
static void smooth_into(lua_State *L, const double *y, size_t n,
                        double *out) {
  scl_ctx *ctx = sclb_ctx(L);
  const char *kind = luaL_checkstring(L, 1);
  int rc;
  if (strcmp(kind, "ema") == 0) {
    rc = scl_smooth_ema(ctx, y, n, luaL_checknumber(L, 3), out);
  } else if (strcmp(kind, "trailing") == 0) {
    lua_Integer w = luaL_checkinteger(L, 3);
    luaL_argcheck(L, w >= 1, 3, "window must be at least 1");
    rc = scl_smooth_trailing(ctx, y, n, (size_t)w, out);
  } else if (strcmp(kind, "proportional") == 0) {
    size_t nx;
    const double *x = sclb_checkvector(L, 4, &nx, "x");
    if (nx != n) luaL_error(L, "smooth: x has %d values, y has %d", (int)nx, (int)n);
    rc = scl_smooth_proportional(ctx, x, y, n, luaL_checknumber(L, 3), out);
  } else {
    luaL_argerror(L, 1, "want \"ema\", \"trailing\" or \"proportional\"");
    return;
  }
  if (rc != SCL_OK) sclb_fail(L, ctx);
}

/*
 * smooth(kind, y, param [, x]) -> array
 *   kind "ema" (param alpha), "trailing" (window), "proportional" (frac, x)
 */
static int l_smooth(lua_State *L) {
  luaL_checkstring(L, 1);
  size_t n;
  const double *y = sclb_checkvector(L, 2, &n, "y");
  double *out = lua_newuserdatauv(L, (n ? n : 1) * sizeof *out, 0);
  smooth_into(L, y, n, out);
  sclb_pushnumbers(L, out, n);
  return 1;
}

/*
 * smooth_column(kind, y, param [, x]) -> Column
 *   The same, into a new Column named as y (when y is a Column) or
 *   "value": the experiment keeps its curves as Columns.
 */
static int l_smooth_column(lua_State *L) {
  scl_ctx *ctx = sclb_ctx(L);
  luaL_checkstring(L, 1);
  size_t n;
  const double *y = sclb_checkvector(L, 2, &n, "y");
  sclb_table *yc = luaL_testudata(L, 2, SCLB_COLUMN);
  const char *name = yc ? scl_table_colname(yc->t, 0) : "value";
  sclb_table *u = lua_newuserdatauv(L, sizeof *u, 0);
  *u = (sclb_table){NULL, NULL, 0};
  luaL_setmetatable(L, SCLB_COLUMN);
  double *out;
  if (scl_table_new(ctx, &u->t) != SCL_OK ||
      scl_table_add_numbers(u->t, name, n, &out) != SCL_OK)
    return sclb_fail(L, ctx);
  smooth_into(L, y, n, out);
  return 1;
}

static const luaL_Reg funcs[] = {
    {"envelope", l_envelope},
    {"smooth", l_smooth},
    {"smooth_column", l_smooth_column},
    {NULL, NULL}};

void sclb_open_envelope(lua_State *L) { luaL_setfuncs(L, funcs, 0); }
