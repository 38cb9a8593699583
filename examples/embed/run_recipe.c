/*
 * run_recipe.c -- run a scalelua recipe inside a C program's own Lua
 * state, then read a result back from Lua.  The scalelua Lua modules come
 * compiled into libscalelua-lua; nothing is looked up on disk.
 *
 *   cc run_recipe.c $(pkg-config --cflags --libs scalelua-lua) -o run_recipe
 *   ./run_recipe examples/moba/figure.lua [--outdir DIR] [args...]
 *
 * The recipe's return value, if it returns an experiment, is summarised
 * from C through the Lua API (exp:fits()).
 */
#include <lauxlib.h>
#include <lua.h>
#include <lualib.h>
#include <scalelua.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Error handler: the message with a traceback. */
static int traceback(lua_State *L) {
  const char *msg = lua_tostring(L, 1);
  luaL_traceback(L, L, msg ? msg : "(error object is not a string)", 1);
  return 1;
}

/* Print "series: a b" for each fitted power law of the experiment on top. */
static void print_fits(lua_State *L) {
  if (lua_getfield(L, -1, "fits") != LUA_TFUNCTION) {
    lua_pop(L, 1);
    return;
  }
  lua_pushvalue(L, -2);
  if (lua_pcall(L, 1, 1, 0) != LUA_OK || !lua_istable(L, -1)) {
    lua_pop(L, 1);
    return;
  }
  lua_pushnil(L);
  while (lua_next(L, -2)) {
    lua_getfield(L, -1, "a");
    lua_getfield(L, -2, "b");
    if (lua_isnumber(L, -2) && lua_isnumber(L, -1))
      printf("from C: %s: a = %.17g, b = %.17g\n", lua_tostring(L, -4),
             lua_tonumber(L, -2), lua_tonumber(L, -1));
    lua_pop(L, 3);
  }
  lua_pop(L, 1);
}

int main(int argc, char **argv) {
  if (argc < 2) {
    fprintf(stderr, "usage: %s recipe.lua [--outdir DIR] [args...]\n",
            argv[0]);
    return 2;
  }
  lua_State *L = luaL_newstate();
  if (!L) return EXIT_FAILURE;
  luaL_openlibs(L);
  /* require "scalelua" now works anywhere in this state */
  luaL_requiref(L, "scalelua", luaopen_scalelua, 0);
  int sl = lua_gettop(L);
  printf("scalelua %s (C library %s) in %s\n",
         (lua_getfield(L, sl, "version"), lua_tostring(L, -1)), scl_version(),
         LUA_RELEASE);
  lua_pop(L, 1);

  /* arg, as the stock interpreter sets it; --outdir sets sl.outdir */
  lua_newtable(L);
  lua_pushstring(L, argv[1]);
  lua_rawseti(L, -2, 0);
  int nargs = 0;
  for (int i = 2; i < argc; i++) {
    if (strcmp(argv[i], "--outdir") == 0 && i + 1 < argc) {
      lua_pushstring(L, argv[++i]);
      lua_setfield(L, sl, "outdir");
      continue;
    }
    lua_pushstring(L, argv[i]);
    lua_rawseti(L, -2, ++nargs);
  }
  lua_setglobal(L, "arg");

  lua_pushcfunction(L, traceback);
  int status = luaL_loadfile(L, argv[1]);
  if (status == LUA_OK) status = lua_pcall(L, 0, 1, sl + 1);
  if (status != LUA_OK) {
    fprintf(stderr, "run_recipe: %s\n", lua_tostring(L, -1));
    lua_close(L);
    return EXIT_FAILURE;
  }
  if (lua_istable(L, -1)) print_fits(L);
  lua_close(L);
  return EXIT_SUCCESS;
}
