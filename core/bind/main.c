/*
 * main.c -- `scalelua`, the recipe runner and REPL.
 *
 * Behaves like the stock lua interpreter: `scalelua` alone is a REPL,
 * `scalelua recipe.lua args...` runs a recipe with `arg` set, and -e, -l,
 * -i, -v, -, -- and --help work as Lua users expect.  `require "scalelua"`
 * is preloaded from the sources compiled into the binary; the global `sl`
 * holds it too.  Errors print with a traceback and exit non-zero.
 */
#include "bind.h"

#include <lualib.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#if SCL_LINEEDIT == 1
#include <editline/readline.h>
#elif SCL_LINEEDIT == 2
#include <readline/history.h>
#include <readline/readline.h>
#endif

static const char *progname = "scalelua";
static lua_State *globalL;

static void usage(FILE *f) {
  fprintf(f,
          "usage: %s [options] [recipe.lua [args]]   (--outdir may follow the recipe)\n"
          "Runs a scalelua recipe, or starts the interactive REPL.\n"
          "Options:\n"
          "  -e stat       execute string 'stat'\n"
          "  -i            enter interactive mode after running the recipe\n"
          "  -l mod        require library 'mod' into global 'mod'\n"
          "  -l g=mod      require library 'mod' into global 'g'\n"
          "  -v, --version show version information\n"
          "  --outdir DIR  write the recipe's figures and results into DIR\n"
          "  --help        show this help\n"
          "  --            stop handling options\n"
          "  -             run standard input as a recipe and stop handling "
          "options\n"
          "Environment: SCALELUA_LUA_DIR=dir loads the Lua layer from dir\n"
          "(development); SCALELUA_THREADS=n sets CSV reader threads.\n",
          progname);
}

static void print_version(void) {
  printf("scalelua %s (%s)\n", scl_version(), LUA_RELEASE);
}

/* ---- Ctrl-C: stop the running Lua code, not the process (as lua.c) */

static void lstop(lua_State *L, lua_Debug *ar) {
  (void)ar;
  lua_sethook(L, NULL, 0, 0);
  luaL_error(L, "interrupted!");
}

static void laction(int sig) {
  int flag = LUA_MASKCALL | LUA_MASKRET | LUA_MASKLINE | LUA_MASKCOUNT;
  signal(sig, SIG_DFL); /* a second Ctrl-C kills the process */
  lua_sethook(globalL, lstop, flag, 1);
}

static int msghandler(lua_State *L) {
  const char *msg = lua_tostring(L, 1);
  if (msg == NULL) {
    if (luaL_callmeta(L, 1, "__tostring") && lua_type(L, -1) == LUA_TSTRING)
      return 1;
    msg = lua_pushfstring(L, "(error object is a %s value)",
                          luaL_typename(L, 1));
  }
  luaL_traceback(L, L, msg, 1);
  return 1;
}

static int docall(lua_State *L, int narg, int nres) {
  int base = lua_gettop(L) - narg;
  lua_pushcfunction(L, msghandler);
  lua_insert(L, base);
  globalL = L;
  signal(SIGINT, laction);
  int status = lua_pcall(L, narg, nres, base);
  signal(SIGINT, SIG_DFL);
  lua_remove(L, base);
  return status;
}

static int report(lua_State *L, int status) {
  if (status != LUA_OK) {
    const char *msg = lua_tostring(L, -1);
    fprintf(stderr, "%s: %s\n", progname, msg ? msg : "(error)");
    fflush(stderr);
    lua_pop(L, 1);
  }
  return status;
}

static int dochunk(lua_State *L, int status) {
  if (status == LUA_OK) status = docall(L, 0, 0);
  return report(L, status);
}

static int dostring(lua_State *L, const char *s, const char *name) {
  return dochunk(L, luaL_loadbuffer(L, s, strlen(s), name));
}

/* -l [g=]mod */
static int dolibrary(lua_State *L, char *spec) {
  char *eq = strchr(spec, '=');
  const char *mod = eq ? eq + 1 : spec;
  if (eq) *eq = '\0';
  lua_getglobal(L, "require");
  lua_pushstring(L, mod);
  int status = docall(L, 1, 1);
  if (status == LUA_OK) lua_setglobal(L, spec);
  return report(L, status);
}

static int runscript(lua_State *L, char **argv, int script, int argc) {
  const char *fname = argv[script];
  if (strcmp(fname, "-") == 0 && strcmp(argv[script - 1], "--") != 0)
    fname = NULL; /* stdin */
  int status = luaL_loadfile(L, fname);
  if (status == LUA_OK) {
    int n = 0;
    for (int i = script + 1; i < argc; i++, n++) lua_pushstring(L, argv[i]);
    status = docall(L, n, LUA_MULTRET);
  }
  return report(L, status);
}

/* ---- the REPL */

#define PROMPT "> "
#define PROMPT2 ">> "

static char *history_path(void) {
  static char path[4096];
  const char *home = getenv("HOME");
  if (!home || !*home) return NULL;
  snprintf(path, sizeof path, "%s/.scalelua_history", home);
  return path;
}

static int readline_line(lua_State *L, const char *prompt) {
#if SCL_LINEEDIT
  if (isatty(0)) {
    char *line = readline(prompt);
    if (!line) return 0;
    lua_pushstring(L, line);
    free(line);
    return 1;
  }
#endif
  char buf[8192];
  if (isatty(0)) {
    fputs(prompt, stdout);
    fflush(stdout);
  }
  if (!fgets(buf, sizeof buf, stdin)) return 0;
  size_t n = strlen(buf);
  if (n && buf[n - 1] == '\n') buf[--n] = '\0';
  lua_pushlstring(L, buf, n);
  return 1;
}

static void save_line(const char *line) {
#if SCL_LINEEDIT
  if (isatty(0) && *line) {
    add_history(line);
    const char *p = history_path();
    if (p) write_history(p);
  }
#else
  (void)line;
#endif
}

static int incomplete(lua_State *L, int status) {
  if (status == LUA_ERRSYNTAX) {
    size_t lmsg;
    const char *msg = lua_tolstring(L, -1, &lmsg);
    const char *eof = "<eof>";
    size_t le = strlen(eof);
    if (lmsg >= le && strcmp(msg + lmsg - le, eof) == 0) {
      lua_pop(L, 1);
      return 1;
    }
  }
  return 0;
}

/* Try "return <line>" first so expressions print their values. */
static int addreturn(lua_State *L) {
  const char *line = lua_tostring(L, -1);
  const char *ret = lua_pushfstring(L, "return %s;", line);
  int status = luaL_loadbuffer(L, ret, strlen(ret), "=stdin");
  if (status == LUA_OK) {
    lua_remove(L, -2);
    save_line(line);
  } else {
    lua_pop(L, 2);
  }
  return status;
}

static int multiline(lua_State *L) {
  for (;;) {
    size_t len;
    const char *line = lua_tolstring(L, 1, &len);
    int status = luaL_loadbuffer(L, line, len, "=stdin");
    if (!incomplete(L, status) || !readline_line(L, PROMPT2)) {
      save_line(line);
      return status;
    }
    lua_pushliteral(L, "\n");
    lua_insert(L, -2);
    lua_concat(L, 3);
  }
}

static int loadline(lua_State *L) {
  lua_settop(L, 0);
  if (!readline_line(L, PROMPT)) return -1;
  int status = addreturn(L);
  if (status != LUA_OK) status = multiline(L);
  lua_remove(L, 1);
  return status;
}

/* Print the results on the stack through scalelua's previewer. */
static void print_results(lua_State *L) {
  int n = lua_gettop(L);
  if (n == 0) return;
  luaL_checkstack(L, LUA_MINSTACK, "too many results to print");
  lua_getglobal(L, "require");
  lua_pushliteral(L, "scalelua.pretty");
  if (lua_pcall(L, 1, 1, 0) != LUA_OK) {
    lua_pop(L, 1);
    lua_getglobal(L, "print");
  } else {
    lua_getfield(L, -1, "print");
    lua_remove(L, -2);
  }
  lua_insert(L, 1);
  if (lua_pcall(L, n, 0, 0) != LUA_OK)
    report(L, LUA_ERRRUN);
}

static void repl(lua_State *L) {
  const char *old = progname;
  progname = NULL;
#if SCL_LINEEDIT
  const char *p = history_path();
  if (p && isatty(0)) read_history(p);
#endif
  if (isatty(0)) {
    print_version();
    printf("sl = require \"scalelua\" is loaded; help() lists what it "
           "offers.\n");
  }
  int status;
  while ((status = loadline(L)) != -1) {
    if (status == LUA_OK) status = docall(L, 0, LUA_MULTRET);
    if (status == LUA_OK)
      print_results(L);
    else {
      const char *msg = lua_tostring(L, -1);
      fprintf(stderr, "%s\n", msg ? msg : "(error)");
      lua_pop(L, 1);
    }
  }
  lua_settop(L, 0);
  if (isatty(0)) putchar('\n');
  progname = old;
}

/* ---- main */

typedef struct {
  int argc;
  char **argv;
  int status;
} pargs;

/* Open libraries, preload scalelua, set sl and arg; then do the options. */
static int pmain(lua_State *L) {
  pargs *a = lua_touserdata(L, 1);
  int argc = a->argc;
  char **argv = a->argv;
  int script = 0, interactive = 0, version = 0, has_e = 0;
  for (int i = 1; i < argc; i++) {
    const char *o = argv[i];
    if (o[0] != '-') {
      script = i;
      break;
    }
    if (strcmp(o, "--") == 0) {
      if (i + 1 < argc) script = i + 1;
      break;
    }
    if (strcmp(o, "-") == 0) {
      script = i;
      break;
    }
    if (strcmp(o, "--help") == 0 || strcmp(o, "-h") == 0) {
      usage(stdout);
      a->status = 0;
      return 0;
    }
    if (strcmp(o, "-v") == 0 || strcmp(o, "--version") == 0)
      version = 1;
    else if (strcmp(o, "-i") == 0)
      interactive = version = 1;
    else if (strcmp(o, "-e") == 0 || strcmp(o, "-l") == 0 ||
             strcmp(o, "--outdir") == 0) {
      if (strcmp(o, "-e") == 0) has_e = 1;
      if (++i >= argc) {
        fprintf(stderr, "%s: '%s' needs an argument\n", progname, o);
        usage(stderr);
        a->status = 1;
        return 0;
      }
    } else {
      fprintf(stderr, "%s: unrecognized option '%s'\n", progname, o);
      usage(stderr);
      a->status = 1;
      return 0;
    }
  }
  if (version) print_version();
  /*
   * `scalelua recipe.lua --outdir DIR` is read as `--outdir DIR recipe.lua`:
   * users put it on either side.  It is removed from the recipe's args.
   */
  const char *outdir_after = NULL;
  if (script)
    for (int i = script + 1; i + 1 < argc; i++)
      if (strcmp(argv[i], "--outdir") == 0) {
        outdir_after = argv[i + 1];
        for (int j = i; j + 2 < argc; j++) argv[j] = argv[j + 2];
        argc -= 2;
        a->argc = argc;
        break;
      }

  luaL_openlibs(L);
  sclb_preload(L);
  /* arg table: script at index 0, as lua.c */
  lua_createtable(L, argc, 1);
  for (int i = 0; i < argc; i++) {
    lua_pushstring(L, argv[i]);
    lua_rawseti(L, -2, i - (script ? script : argc));
  }
  lua_setglobal(L, "arg");
  lua_getglobal(L, "require");
  lua_pushliteral(L, "scalelua");
  if (report(L, docall(L, 1, 1)) != LUA_OK) {
    a->status = 1;
    return 0;
  }
  lua_getfield(L, -1, "help");
  lua_setglobal(L, "help");
  lua_setglobal(L, "sl");

  int end = script ? script : argc;
  for (int i = 1; i < end; i++) {
    const char *o = argv[i];
    int st = LUA_OK;
    if (strcmp(o, "-e") == 0)
      st = dostring(L, argv[++i], "=(command line)");
    else if (strcmp(o, "-l") == 0)
      st = dolibrary(L, argv[++i]);
    else if (strcmp(o, "--outdir") == 0) {
      lua_getglobal(L, "sl");
      lua_pushstring(L, argv[++i]);
      lua_setfield(L, -2, "outdir");
      lua_pop(L, 1);
    }
    if (st != LUA_OK) {
      a->status = 1;
      return 0;
    }
  }
  if (outdir_after) {
    lua_getglobal(L, "sl");
    lua_pushstring(L, outdir_after);
    lua_setfield(L, -2, "outdir");
    lua_pop(L, 1);
  }
  if (script && runscript(L, argv, script, argc) != LUA_OK) {
    a->status = 1;
    return 0;
  }
  if (interactive)
    repl(L);
  else if (!script && !has_e && !version) {
    if (isatty(0))
      repl(L);
    else if (dochunk(L, luaL_loadfile(L, NULL)) != LUA_OK) {
      a->status = 1;
      return 0;
    }
  }
  a->status = 0;
  return 0;
}

int main(int argc, char **argv) {
  if (argv[0] && argv[0][0]) progname = argv[0];
  lua_State *L = luaL_newstate();
  if (!L) {
    fprintf(stderr, "%s: cannot create state: not enough memory\n", progname);
    return EXIT_FAILURE;
  }
  pargs a = {argc, argv, 1};
  lua_pushcfunction(L, pmain);
  lua_pushlightuserdata(L, &a);
  int status = lua_pcall(L, 1, 0, 0);
  report(L, status);
  lua_close(L);
  return (status == LUA_OK && a.status == 0) ? EXIT_SUCCESS : EXIT_FAILURE;
}
