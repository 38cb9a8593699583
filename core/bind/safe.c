/*
 * safe.c -- running other people's recipes: the sandbox of `scalelua
 * --safe`, the guard around the writers of scalelua.core, and the
 * allocators that count memory against the cap of --max-memory.
 *
 * The sandbox edits the standard library of a state in place before the
 * recipe runs: what could run programs, load native code or binary
 * chunks, touch files outside the output directory, read the environment
 * or reach the originals through the debug library is replaced by a
 * function that raises "--safe: <name> is not allowed".  Files may be
 * read anywhere; writes (io.open, io.output and the writers of
 * scalelua.core: render, write_csv, write_json) must resolve, symbolic
 * links and ".." included, to a place inside the output directory fixed
 * when the state starts.  The originals live only in upvalues of C
 * closures, which no code in the state can reach without the debug
 * library.
 */
#include "bind.h"

#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* ---------------------------------------------------------------- memory */

/* Reserve grow bytes under the cap; 0 (and hit set) when they do not fit. */
static int reserve(sclb_memcap *m, size_t grow) {
  size_t now = atomic_fetch_add(&m->used, grow) + grow;
  if (m->cap && (now > m->cap || now < grow)) {
    atomic_fetch_sub(&m->used, grow);
    atomic_store(&m->hit, 1);
    return 0;
  }
  return 1;
}

/*
 * The lua_Alloc of a capped state.  Lua passes the true old size of every
 * block (a type tag when ptr is NULL), so the count is exact.  Shrinking
 * never fails, as Lua expects.
 */
void *sclb_memcap_alloc(void *ud, void *ptr, size_t osize, size_t nsize) {
  sclb_memcap *m = ud;
  size_t old = ptr ? osize : 0;
  if (nsize == 0) {
    free(ptr);
    atomic_fetch_sub(&m->used, old);
    return NULL;
  }
  if (nsize <= old) {
    void *p = realloc(ptr, nsize);
    if (p) atomic_fetch_sub(&m->used, old - nsize);
    return p ? p : ptr;
  }
  if (!reserve(m, nsize - old)) return NULL;
  void *p = realloc(ptr, nsize);
  if (!p) atomic_fetch_sub(&m->used, nsize - old);
  return p;
}

/* The size header of a block of the core's context. */
typedef union {
  size_t n;
  max_align_t align;
} hdr;

/*
 * The scl_alloc_fn of the context of a capped state (sclb_ctx).  Each
 * block carries its size, so the count does not depend on the old sizes
 * the core passes back; the counter is atomic because the CSV reader
 * allocates from several threads.
 */
void *sclb_memcap_ctx_alloc(void *ud, void *ptr, size_t osize, size_t nsize) {
  sclb_memcap *m = ud;
  (void)osize;
  hdr *h = ptr ? (hdr *)ptr - 1 : NULL;
  size_t old = h ? h->n + sizeof *h : 0;
  if (nsize == 0) {
    free(h);
    atomic_fetch_sub(&m->used, old);
    return NULL;
  }
  if (nsize > SIZE_MAX - sizeof *h) {
    atomic_store(&m->hit, 1);
    return NULL;
  }
  size_t total = nsize + sizeof *h;
  if (total > old && !reserve(m, total - old)) return NULL;
  hdr *n = realloc(h, total);
  if (!n) {
    if (total > old) atomic_fetch_sub(&m->used, total - old);
    return NULL;
  }
  if (total < old) atomic_fetch_sub(&m->used, old - total);
  n->n = nsize;
  return n + 1;
}

/* ---------------------------------------------------------------- paths */

/* Is the resolved path p root itself or below it? */
static int inside(const char *root, const char *p) {
  size_t n = strlen(root);
  if (n == 1 && root[0] == '/') return p[0] == '/';
  return strncmp(p, root, n) == 0 && (p[n] == '\0' || p[n] == '/');
}

/*
 * Why path may not be written (pushed onto the stack and returned), or
 * NULL when it may.  The directory part is resolved (symbolic links and
 * ".."); an existing last part that is a symbolic link is resolved too,
 * since open() follows it.  opens: the writer opens the path itself (an
 * existing file with other hard links could be a file outside); the core
 * writers rename a temporary file over it instead.
 */
static const char *why_not(lua_State *L, const char *root, const char *path,
                           int opens) {
  char buf[PATH_MAX], dir[PATH_MAX], full[PATH_MAX];
  if (!*path) return lua_pushliteral(L, "is an empty path");
  int len;
  if (path[0] == '/') {
    len = snprintf(buf, sizeof buf, "%s", path);
  } else {
    if (!getcwd(dir, sizeof dir))
      return lua_pushfstring(L, "cannot be resolved (%s)", strerror(errno));
    len = snprintf(buf, sizeof buf, "%s/%s", dir, path);
  }
  if (len < 0 || (size_t)len >= sizeof buf)
    return lua_pushliteral(L, "is too long a path");
  char *slash = strrchr(buf, '/');
  const char *base = slash + 1;
  if (!*base || strcmp(base, ".") == 0 || strcmp(base, "..") == 0)
    return lua_pushliteral(L, "is not a file name");
  *slash = '\0';
  if (!realpath(buf[0] ? buf : "/", dir))
    return lua_pushfstring(L, "is in a directory that cannot be resolved (%s)",
                           strerror(errno));
  if (!inside(root, dir))
    return lua_pushfstring(L, "is outside the output directory %s", root);
  len = snprintf(full, sizeof full, "%s/%s", strcmp(dir, "/") ? dir : "", base);
  if (len < 0 || (size_t)len >= sizeof full)
    return lua_pushliteral(L, "is too long a path");
  struct stat st;
  if (lstat(full, &st) != 0) return NULL; /* a new file in dir */
  if (S_ISLNK(st.st_mode)) {
    char target[PATH_MAX];
    if (!realpath(full, target))
      return lua_pushfstring(L, "is a symbolic link that cannot be resolved "
                                "(%s)", strerror(errno));
    if (!inside(root, target))
      return lua_pushfstring(L, "is a symbolic link to %s, outside the output "
                                "directory %s", target, root);
  } else if (opens && S_ISREG(st.st_mode) && st.st_nlink > 1) {
    return lua_pushliteral(L, "has other hard links (one may be outside the "
                              "output directory)");
  }
  return NULL;
}

/* Raise "where: --safe: fn: 'path' <why>" unless path may be written. */
static void check_write(lua_State *L, const char *root, const char *fn,
                        const char *path, int opens) {
  const char *why = why_not(L, root, path, opens);
  if (why) luaL_error(L, "--safe: %s: '%s' %s", fn, path, why);
}

/* ---------------------------------------------------------------- writers */

static volatile sig_atomic_t writing;

int sclb_writing(void) { return writing != 0; }

/*
 * A writer of scalelua.core behind its guard.  Upvalues: the original, the
 * index of its path argument, its name, the output directory (nil: no
 * check, only the mark that a file is being written, which keeps the hard
 * stop of --max-time away from a half-written file), whether "-" is
 * standard output for it (the CSV and JSON writers; for the renderer it
 * would be a file name).  The original runs
 * under pcall so the mark is always cleared; an argument error names the
 * writer, which the original, called from here, cannot know.
 */
static int guarded_writer(lua_State *L) {
  int idx = (int)lua_tointeger(L, lua_upvalueindex(2));
  const char *fn = lua_tostring(L, lua_upvalueindex(3));
  const char *path = luaL_checkstring(L, idx);
  int file = strcmp(path, "-") != 0 || !lua_toboolean(L, lua_upvalueindex(5));
  if (file && lua_type(L, lua_upvalueindex(4)) == LUA_TSTRING)
    check_write(L, lua_tostring(L, lua_upvalueindex(4)), fn, path, 0);
  int n = lua_gettop(L);
  lua_pushvalue(L, lua_upvalueindex(1));
  lua_insert(L, 1);
  if (file) writing++;
  int status = lua_pcall(L, n, LUA_MULTRET, 0);
  if (file) writing--;
  if (status != LUA_OK) {
    const char *msg = lua_tostring(L, -1);
    if (msg && strstr(msg, " to '?'")) {
      lua_pushfstring(L, " to '%s'", fn);
      luaL_gsub(L, msg, " to '?'", lua_tostring(L, -1));
    }
    return lua_error(L);
  }
  return lua_gettop(L);
}

/* Put the guard around field name of the table at t (path at idx). */
static void guard_field(lua_State *L, int t, const char *name, int idx,
                        const char *root, int dash) {
  if (lua_getfield(L, t, name) != LUA_TFUNCTION) {
    lua_pop(L, 1);
    return;
  }
  lua_pushinteger(L, idx);
  lua_pushstring(L, name);
  if (root)
    lua_pushstring(L, root);
  else
    lua_pushnil(L);
  lua_pushboolean(L, dash);
  lua_pushcclosure(L, guarded_writer, 5);
  lua_setfield(L, t, name);
}

/* The loader of scalelua.core once guarded: the guarded module (upvalue). */
static int guarded_core(lua_State *L) {
  lua_pushvalue(L, lua_upvalueindex(1));
  return 1;
}

/*
 * The preload entry of scalelua.core is replaced too: called directly, the
 * original would build a new module with bare writers (and put the bare
 * write_csv back among the Table methods).
 */
void sclb_guard_writers(lua_State *L, const char *root) {
  lua_getglobal(L, "require");
  lua_pushliteral(L, "scalelua.core");
  lua_call(L, 1, 1);
  int core = lua_gettop(L);
  guard_field(L, core, "render", 3, root, 0);
  guard_field(L, core, "write_csv", 2, root, 1);
  guard_field(L, core, "write_json", 1, root, 1);
  luaL_getmetatable(L, SCLB_TABLE);
  if (lua_type(L, -1) == LUA_TTABLE &&
      lua_getfield(L, -1, "__methods") == LUA_TTABLE)
    guard_field(L, lua_gettop(L), "write_csv", 2, root, 1);
  luaL_getsubtable(L, LUA_REGISTRYINDEX, LUA_PRELOAD_TABLE);
  lua_pushvalue(L, core);
  lua_pushcclosure(L, guarded_core, 1);
  lua_setfield(L, -2, "scalelua.core");
  lua_settop(L, core - 1);
}

/* ---------------------------------------------------------------- sandbox */

/* Raise "where: --safe: <what> is not allowed<note>" (where: the caller). */
static int refuse(lua_State *L, const char *what, const char *note) {
  return luaL_error(L, "--safe: %s is not allowed%s", what, note);
}

/* What a forbidden function becomes.  Upvalue: its full name. */
static int forbidden(lua_State *L) {
  return refuse(L, lua_tostring(L, lua_upvalueindex(1)), "");
}

/* Set field name of the table at t to a refusing function. */
static void forbid(lua_State *L, int t, const char *lib, const char *name) {
  lua_pushfstring(L, "%s.%s", lib, name);
  lua_pushcclosure(L, forbidden, 1);
  lua_setfield(L, t, name);
}

/* Call upvalue 1 with the arguments on the stack; return all it returns. */
static int call_original(lua_State *L) {
  int n = lua_gettop(L);
  lua_pushvalue(L, lua_upvalueindex(1));
  lua_insert(L, 1);
  lua_call(L, n, LUA_MULTRET);
  return lua_gettop(L);
}

/* A mode of io.open as Lua accepts it: [rwa]+?b* */
static int valid_mode(const char *m) {
  if (!*m || !strchr("rwa", *m++)) return 0;
  if (*m == '+') m++;
  return strspn(m, "b") == strlen(m);
}

/* io.open(path [, mode]): writes only inside the output directory. */
static int safe_open(lua_State *L) {
  const char *path = luaL_checkstring(L, 1);
  const char *mode = luaL_optstring(L, 2, "r");
  luaL_argcheck(L, valid_mode(mode), 2, "invalid mode");
  if (strcmp(mode, "r") != 0 && strcmp(mode, "rb") != 0)
    check_write(L, lua_tostring(L, lua_upvalueindex(2)), "io.open", path, 1);
  return call_original(L);
}

/* io.output([file | path]): a path is opened for writing. */
static int safe_output(lua_State *L) {
  if (lua_type(L, 1) == LUA_TSTRING || lua_type(L, 1) == LUA_TNUMBER)
    check_write(L, lua_tostring(L, lua_upvalueindex(2)), "io.output",
                lua_tostring(L, 1), 1);
  return call_original(L);
}

/* os.setlocale(): queries only; a new locale would change how numbers read. */
static int safe_setlocale(lua_State *L) {
  if (!lua_isnoneornil(L, 1))
    return refuse(L, "os.setlocale", " (only queries: os.setlocale())");
  return call_original(L);
}

/*
 * After load/loadfile returned (nil, msg): a binary chunk refused by mode
 * "t" becomes the sandbox's error.
 */
static void binary_refused(lua_State *L, const char *fn) {
  if (lua_gettop(L) >= 2 && lua_isnil(L, 1)) {
    const char *msg = lua_tostring(L, 2);
    if (msg && strstr(msg, "attempt to load a binary chunk")) {
      lua_pushfstring(L, "%s of binary chunks", fn);
      refuse(L, lua_tostring(L, -1), "");
    }
  }
}

/*
 * Force mode "t" at argument index m of a load/loadfile call with n
 * arguments (an explicit env after it keeps its place); refuse an
 * explicit mode allowing binary chunks.
 */
static void text_mode(lua_State *L, int m, const char *fn) {
  int n = lua_gettop(L);
  if (n >= m && !lua_isnil(L, m)) {
    const char *mode = luaL_checkstring(L, m);
    if (strchr(mode, 'b')) {
      lua_pushfstring(L, "%s of binary chunks", fn);
      refuse(L, lua_tostring(L, -1), "");
    }
  }
  if (n < m - 1) lua_settop(L, m - 1);
  lua_pushliteral(L, "t");
  if (n >= m)
    lua_replace(L, m);
}

/* load(chunk [, name [, mode [, env]]]) with text chunks only. */
static int safe_load(lua_State *L) {
  size_t len;
  const char *s = lua_type(L, 1) == LUA_TSTRING ? lua_tolstring(L, 1, &len)
                                                 : NULL;
  if (s && len > 0 && s[0] == LUA_SIGNATURE[0])
    return refuse(L, "load of binary chunks", "");
  text_mode(L, 3, "load");
  int n = call_original(L);
  binary_refused(L, "load");
  return n;
}

/* loadfile([path [, mode [, env]]]) with text chunks only. */
static int safe_loadfile(lua_State *L) {
  text_mode(L, 2, "loadfile");
  int n = call_original(L);
  binary_refused(L, "loadfile");
  return n;
}

/* dofile([path]) through the safe loadfile (upvalue 1). */
static int safe_dofile(lua_State *L) {
  lua_settop(L, 1);
  lua_pushvalue(L, lua_upvalueindex(1));
  lua_pushvalue(L, 1);
  lua_call(L, 1, 2);
  if (lua_isnil(L, -2)) return lua_error(L);
  lua_pop(L, 1);
  lua_call(L, 0, LUA_MULTRET);
  return lua_gettop(L) - 1;
}

/*
 * require(name): what is loaded already (the standard libraries and what
 * the runner loaded) or preloaded (the scalelua modules; a recipe may add
 * Lua functions there), nothing from the file system.
 */
static int safe_require(lua_State *L) {
  const char *name = luaL_checkstring(L, 1);
  lua_settop(L, 1);
  luaL_getsubtable(L, LUA_REGISTRYINDEX, LUA_LOADED_TABLE);
  int ok = lua_getfield(L, -1, name) != LUA_TNIL;
  lua_pop(L, 2);
  if (!ok) {
    luaL_getsubtable(L, LUA_REGISTRYINDEX, LUA_PRELOAD_TABLE);
    ok = lua_getfield(L, -1, name) != LUA_TNIL;
    lua_pop(L, 2);
  }
  if (!ok) {
    lua_pushfstring(L, "require '%s'", name);
    return refuse(L, lua_tostring(L, -1), " (only the scalelua modules and "
                                          "the standard libraries)");
  }
  return call_original(L);
}

/* Replace field name of the table at t by f with upvalues (original, extra). */
static void wrap(lua_State *L, int t, const char *name, lua_CFunction f,
                 const char *extra) {
  lua_getfield(L, t, name);
  int nup = 1;
  if (extra) {
    lua_pushstring(L, extra);
    nup = 2;
  }
  lua_pushcclosure(L, f, nup);
  lua_setfield(L, t, name);
}

void sclb_sandbox(lua_State *L, const char *root) {
  int top = lua_gettop(L);
  lua_pushglobaltable(L);
  int g = lua_gettop(L);

  lua_getglobal(L, "os");
  int os = lua_gettop(L);
  static const char *const os_no[] = {"execute", "remove", "rename", "exit",
                                      "tmpname", "getenv", NULL};
  for (int i = 0; os_no[i]; i++) forbid(L, os, "os", os_no[i]);
  wrap(L, os, "setlocale", safe_setlocale, NULL);

  lua_getglobal(L, "io");
  int io = lua_gettop(L);
  forbid(L, io, "io", "popen");
  forbid(L, io, "io", "tmpfile");
  wrap(L, io, "open", safe_open, root);
  wrap(L, io, "output", safe_output, root);

  wrap(L, g, "load", safe_load, NULL);
  wrap(L, g, "loadfile", safe_loadfile, NULL);
  lua_getfield(L, g, "loadfile"); /* the safe one */
  lua_pushcclosure(L, safe_dofile, 1);
  lua_setfield(L, g, "dofile");
  wrap(L, g, "require", safe_require, NULL);

  lua_getglobal(L, "package");
  int pkg = lua_gettop(L);
  forbid(L, pkg, "package", "loadlib");
  lua_pushliteral(L, "");
  lua_setfield(L, pkg, "path");
  lua_pushliteral(L, "");
  lua_setfield(L, pkg, "cpath");
  lua_createtable(L, 1, 0); /* searchers: package.preload only */
  if (lua_getfield(L, pkg, "searchers") == LUA_TTABLE) {
    lua_rawgeti(L, -1, 1);
    lua_rawseti(L, -3, 1);
  }
  lua_pop(L, 1);
  lua_setfield(L, pkg, "searchers");

  /* debug: traceback only; the rest refuses */
  lua_getglobal(L, "debug");
  int dbg = lua_gettop(L);
  lua_newtable(L);
  int safe = lua_gettop(L);
  if (lua_type(L, dbg) == LUA_TTABLE) {
    lua_pushnil(L);
    while (lua_next(L, dbg)) {
      lua_pop(L, 1);
      if (lua_type(L, -1) == LUA_TSTRING &&
          strcmp(lua_tostring(L, -1), "traceback") != 0)
        forbid(L, safe, "debug", lua_tostring(L, -1));
    }
    lua_getfield(L, dbg, "traceback");
    lua_setfield(L, safe, "traceback");
  }
  lua_pushvalue(L, safe);
  lua_setglobal(L, "debug");
  luaL_getsubtable(L, LUA_REGISTRYINDEX, LUA_LOADED_TABLE);
  lua_pushvalue(L, safe);
  lua_setfield(L, -2, "debug");
  lua_settop(L, top);
}
