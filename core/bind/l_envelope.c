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
  size_t nc = (size_t)luaL_len(L, 1);
  scl_curve *curves = lua_newuserdatauv(L, (nc ? nc : 1) * sizeof *curves, 0);
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
  }
  scl_envelope *e = NULL;
  if (scl_envelope_compute(ctx, curves, nc, &o, &e) != SCL_OK)
    return sclb_fail(L, ctx);
  /* copy into Lua-owned memory before anything can raise */
  double *x = lua_newuserdatauv(L, (e->n ? e->n : 1) * sizeof *x, 0);
  double *y = lua_newuserdatauv(L, (e->n ? e->n : 1) * sizeof *y, 0);
  size_t *which = lua_newuserdatauv(L, (e->n ? e->n : 1) * sizeof *which, 0);
  size_t n = e->n, excluded = e->excluded;
  memcpy(x, e->x, n * sizeof *x);
  memcpy(y, e->y, n * sizeof *y);
  memcpy(which, e->curve, n * sizeof *which);
  scl_envelope_free(ctx, e);
  lua_getfield(L, LUA_REGISTRYINDEX, "_LOADED");
  lua_getfield(L, -1, "scalelua.core");
  lua_getfield(L, -1, "table");
  lua_call(L, 0, 1);
  int t = lua_gettop(L);
  lua_getfield(L, t, "set");
  lua_pushvalue(L, t);
  lua_pushliteral(L, "x");
  sclb_pushnumbers(L, x, n);
  lua_call(L, 3, 0);
  lua_getfield(L, t, "set");
  lua_pushvalue(L, t);
  lua_pushliteral(L, "y");
  sclb_pushnumbers(L, y, n);
  lua_call(L, 3, 0);
  lua_getfield(L, t, "set");
  lua_pushvalue(L, t);
  lua_pushliteral(L, "curve");
  lua_createtable(L, (int)n, 0);
  for (size_t i = 0; i < n; i++) {
    lua_geti(L, 1, (lua_Integer)which[i] + 1);
    if (lua_getfield(L, -1, "name") != LUA_TSTRING) {
      lua_pop(L, 1);
      lua_pushfstring(L, "%d", (int)which[i] + 1);
    }
    lua_remove(L, -2);
    lua_rawseti(L, -2, (lua_Integer)i + 1);
  }
  lua_call(L, 3, 0);
  lua_pushvalue(L, t);
  lua_pushinteger(L, (lua_Integer)excluded);
  return 2;
}

/*
 * smooth(kind, y, param [, x]) -> array
 *   kind "ema" (param alpha), "trailing" (window), "proportional" (frac, x)
 */
static int l_smooth(lua_State *L) {
  scl_ctx *ctx = sclb_ctx(L);
  const char *kind = luaL_checkstring(L, 1);
  size_t n;
  const double *y = sclb_checkvector(L, 2, &n, "y");
  double *out = lua_newuserdatauv(L, (n ? n : 1) * sizeof *out, 0);
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
    return luaL_argerror(L, 1, "want \"ema\", \"trailing\" or \"proportional\"");
  }
  if (rc != SCL_OK) return sclb_fail(L, ctx);
  sclb_pushnumbers(L, out, n);
  return 1;
}

static const luaL_Reg funcs[] = {
    {"envelope", l_envelope}, {"smooth", l_smooth}, {NULL, NULL}};

void sclb_open_envelope(lua_State *L) { luaL_setfuncs(L, funcs, 0); }
