/*
 * l_init.c -- the module entry points and the per-state context.
 *
 * luaopen_scalelua_core builds the C module "scalelua.core".
 * luaopen_scalelua preloads the Lua sources compiled into the binary (or,
 * when SCALELUA_LUA_DIR is set, the ones in that directory, for working on
 * them without rebuilding) and returns require "scalelua".
 */
#include "bind.h"

#include <stdlib.h>
#include <string.h>

extern const struct {
  const char *name, *file, *src;
  size_t len;
} scli_lua_modules[];

static const char CTX_KEY = 'c';

static int ctx_gc(lua_State *L) {
  scl_ctx **p = lua_touserdata(L, 1);
  if (*p) {
    scl_ctx_free(*p);
    *p = NULL;
  }
  return 0;
}

scl_ctx *sclb_ctx(lua_State *L) {
  if (lua_rawgetp(L, LUA_REGISTRYINDEX, &CTX_KEY) == LUA_TUSERDATA) {
    scl_ctx *ctx = *(scl_ctx **)lua_touserdata(L, -1);
    lua_pop(L, 1);
    return ctx;
  }
  lua_pop(L, 1);
  scl_ctx **p = lua_newuserdatauv(L, sizeof *p, 0);
  *p = NULL;
  lua_newtable(L);
  lua_pushcfunction(L, ctx_gc);
  lua_setfield(L, -2, "__gc");
  lua_setmetatable(L, -2);
  /* a state whose memory is capped (scalelua --max-memory) caps ours too */
  void *ud;
  if (lua_getallocf(L, &ud) == sclb_memcap_alloc)
    *p = scl_ctx_new(sclb_memcap_ctx_alloc, ud);
  else
    *p = scl_ctx_new(NULL, NULL);
  if (!*p) luaL_error(L, "scalelua: out of memory");
  lua_rawsetp(L, LUA_REGISTRYINDEX, &CTX_KEY);
  return *p;
}

int sclb_fail(lua_State *L, scl_ctx *ctx) {
  const char *msg = scl_ctx_errmsg(ctx);
  lua_pushstring(L, *msg ? msg : scl_strerror(scl_ctx_errcode(ctx)));
  scl_ctx_clear(ctx);
  return lua_error(L);
}

int luaopen_scalelua_core(lua_State *L) {
  sclb_ctx(L);
  lua_newtable(L);
  lua_pushstring(L, scl_version());
  lua_setfield(L, -2, "version");
  sclb_open_table(L);
  sclb_open_envelope(L);
  sclb_open_fit(L);
  sclb_open_chart(L);
  sclb_open_io(L);
  return 1;
}

/* package.preload loader for an embedded module: upvalue = index. */
static int load_embedded(lua_State *L) {
  int i = (int)lua_tointeger(L, lua_upvalueindex(1));
  const char *dir = getenv("SCALELUA_LUA_DIR");
  if (dir && *dir) {
    const char *base = strrchr(scli_lua_modules[i].file, '/');
    lua_pushfstring(L, "%s%s", dir, base ? base : "/");
    if (luaL_loadfile(L, lua_tostring(L, -1)) != LUA_OK) return lua_error(L);
  } else {
    lua_pushfstring(L, "@%s", scli_lua_modules[i].file);
    if (luaL_loadbufferx(L, scli_lua_modules[i].src, scli_lua_modules[i].len,
                         lua_tostring(L, -1), "b") != LUA_OK)
      return lua_error(L);
  }
  lua_pushvalue(L, 1); /* module name */
  lua_call(L, 1, 1);
  return 1;
}

/* Register the embedded modules in package.preload (no overwrite). */
void sclb_preload(lua_State *L) {
  luaL_getsubtable(L, LUA_REGISTRYINDEX, LUA_PRELOAD_TABLE);
  lua_pushcfunction(L, luaopen_scalelua_core);
  lua_setfield(L, -2, "scalelua.core");
  for (int i = 0; scli_lua_modules[i].name; i++) {
    lua_pushinteger(L, i);
    lua_pushcclosure(L, load_embedded, 1);
    lua_setfield(L, -2, scli_lua_modules[i].name);
  }
  lua_pop(L, 1);
}

int luaopen_scalelua(lua_State *L) {
  sclb_preload(L);
  lua_getglobal(L, "require");
  lua_pushstring(L, "scalelua");
  lua_call(L, 1, 1);
  return 1;
}
