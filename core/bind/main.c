/*
 * main.c -- `scalelua`, the recipe runner and REPL.
 *
 * Behaves like the stock lua interpreter: `scalelua` alone is a REPL,
 * `scalelua recipe.lua args...` runs a recipe with `arg` set, and -e, -l,
 * -i, -v, -, -- and --help work as Lua users expect.  `require "scalelua"`
 * is preloaded from the sources compiled into the binary; the global `sl`
 * holds it too.  Errors print with a traceback and exit non-zero.
 *
 * The REPL completes names with TAB (globals, fields, Table columns and
 * methods; the candidates come from scalelua.help.complete).
 * `scalelua --watch recipe.lua` runs the recipe again, in a fresh Lua
 * state, whenever the recipe or a file it read changes (inotify).
 *
 * Other people's recipes: --safe runs them in the sandbox of safe.c
 * (no programs, no native code, no binary chunks, writes only inside the
 * output directory); --max-memory caps the bytes of the Lua state and of
 * the core's context together (a refused allocation is Lua's "not enough
 * memory"); --max-time caps the wall-clock time of each chunk run (the
 * recipe, each -e, each REPL line): a timer sets a hook at the deadline,
 * as Ctrl-C does, and a C computation that does not return within a grace
 * period after it ends the process (never while a file is being written).
 */
#include "bind.h"

#include <ctype.h>
#include <errno.h>
#include <fnmatch.h>
#include <glob.h>
#include <limits.h>
#include <lualib.h>
#include <math.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#if SCL_LINEEDIT == 1
#include <editline/readline.h>
#elif SCL_LINEEDIT == 2
#include <readline/history.h>
#include <readline/readline.h>
#endif

static const char *progname = "scalelua";
static lua_State *globalL;
/* Set by Ctrl-C: in watch mode it ends the loop. */
static volatile sig_atomic_t got_sigint;

/* --safe, --max-memory, --max-time (0: no limit) */
static struct {
  int safe;
  size_t max_memory;
  double max_time;
} lim;
/* Set around lua_close: 1 closing, 2 closed (the timer may still tick). */
static volatile sig_atomic_t closing;
#define SAFE_MAX_MEMORY ((size_t)4 << 30)
#define SAFE_MAX_TIME 60.0
/* The memory count of the running state (reset for every state). */
static sclb_memcap memcap;
/* Why the hook stops the running code: Ctrl-C or the time limit. */
enum { STOP_NONE, STOP_INT, STOP_TIME };
static volatile sig_atomic_t stop_why;
static char time_msg[64];  /* "time limit of 5 s reached" */
static char hard_msg[256]; /* the hard stop's line, written by the handler */
static size_t hard_len;
static char close_msg[160]; /* the same at the end, in finalizers */
static size_t close_len;

static void usage(FILE *f) {
  fprintf(f,
          "usage: %s [options] [recipe.lua [args]]\n"
          "(--outdir, --safe, --max-memory and --max-time may follow the "
          "recipe)\n"
          "Runs a scalelua recipe, or starts the interactive REPL.\n"
          "Options:\n"
          "  -e stat       execute string 'stat'\n"
          "  -i            enter interactive mode after running the recipe\n"
          "  -l mod        require library 'mod' into global 'mod'\n"
          "  -l g=mod      require library 'mod' into global 'g'\n"
          "  -v, --version show version information\n"
          "  --outdir DIR  write the recipe's figures and results into DIR\n"
          "  --watch       run the recipe again whenever it or a file it read\n"
          "                changes (Ctrl-C stops)\n"
          "  --safe        run an untrusted recipe: no programs, no native "
          "modules,\n"
          "                no binary chunks, writes only inside the output "
          "directory\n"
          "                (--outdir, else the current one); limits 4G and "
          "60 s\n"
          "  --max-memory SIZE  cap the memory of Lua and the core (512M, "
          "2G, 0: none)\n"
          "  --max-time SECS    cap the time of each chunk run (0: none)\n"
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

/*
 * The time limit's hook stays set, so a pcall in the recipe cannot swallow
 * it; it acts on Lua instructions only (line and count events), never on
 * the call of the message handler, which would make an error in error
 * handling of it.
 */
static void lstop(lua_State *L, lua_Debug *ar) {
  if (stop_why == STOP_TIME) {
    if (ar->event != LUA_HOOKLINE && ar->event != LUA_HOOKCOUNT) return;
    lua_pushstring(L, time_msg);
    lua_error(L);
  }
  lua_sethook(L, NULL, 0, 0);
  luaL_error(L, "interrupted!");
}

static void laction(int sig) {
  int flag = LUA_MASKCALL | LUA_MASKRET | LUA_MASKLINE | LUA_MASKCOUNT;
  got_sigint = 1;
  signal(sig, SIG_DFL); /* a second Ctrl-C kills the process */
  if (stop_why == STOP_TIME) return;
  stop_why = STOP_INT;
  lua_sethook(globalL, lstop, flag, 1);
}

/* ---- --max-time: a timer at the deadline, then every grace period */

/*
 * SIGALRM.  The first one (the deadline) sets the stopping hook, noticed
 * at the next Lua instruction.  A later one means the code still runs: a
 * C computation (the core cannot be cancelled), a loop in a coroutine
 * (the hook is on the main thread) or in a finalizer (Lua runs them with
 * hooks off).  It ends the process, unless a file is being written (the
 * writers rename a temporary file into place: the next tick decides).
 * While the state closes, the first tick already ends it.
 */
static void on_alarm(int sig) {
  (void)sig;
  if (closing == 2) return;
  if (closing == 1 && !sclb_writing()) {
    ssize_t w = write(STDERR_FILENO, close_msg, close_len);
    (void)w;
    _exit(EXIT_FAILURE);
  }
  if (stop_why != STOP_TIME) {
    stop_why = STOP_TIME;
    lua_sethook(globalL, lstop, LUA_MASKLINE | LUA_MASKCOUNT, 1);
    return;
  }
  if (sclb_writing()) return;
  ssize_t w = write(STDERR_FILENO, hard_msg, hard_len);
  (void)w;
  _exit(EXIT_FAILURE);
}

static void set_timer(double first, double every) {
  struct itimerval it;
  memset(&it, 0, sizeof it);
  it.it_value.tv_sec = (time_t)first;
  it.it_value.tv_usec = (suseconds_t)((first - floor(first)) * 1e6);
  it.it_interval.tv_sec = (time_t)every;
  it.it_interval.tv_usec = (suseconds_t)((every - floor(every)) * 1e6);
  if (first > 0 && !it.it_value.tv_sec && !it.it_value.tv_usec)
    it.it_value.tv_usec = 1;
  setitimer(ITIMER_REAL, &it, NULL);
}

/* The grace period of a C computation after the deadline. */
static double grace(void) {
  return lim.max_time / 10 > 2 ? lim.max_time / 10 : 2;
}

static void arm_deadline(lua_State *L) {
  stop_why = STOP_NONE;
  if (lim.max_time <= 0) return;
  globalL = L;
  set_timer(lim.max_time, grace());
}

/* After the run: no timer, no hook left behind. */
static void disarm_deadline(lua_State *L) {
  if (lim.max_time <= 0) return;
  set_timer(0, 0);
  if (stop_why == STOP_TIME) lua_sethook(L, NULL, 0, 0);
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
  atomic_store(&memcap.hit, 0);
  arm_deadline(L);
  signal(SIGINT, laction);
  int status = lua_pcall(L, narg, nres, base);
  signal(SIGINT, SIG_DFL);
  disarm_deadline(L);
  lua_remove(L, base);
  return status;
}

/* "512 MiB", "2 GiB", "1.5 GiB", "4096 bytes" */
static void format_size(char *buf, size_t len, size_t n) {
  static const char *const unit[] = {"KiB", "MiB", "GiB", "TiB"};
  int u = -1;
  double v = (double)n;
  while (u < 3 && v >= 1024) {
    v /= 1024;
    u++;
  }
  if (u < 0)
    snprintf(buf, len, "%zu byte%s", n, n == 1 ? "" : "s");
  else if (v == floor(v))
    snprintf(buf, len, "%.0f %s", v, unit[u]);
  else
    snprintf(buf, len, "%.1f %s", v, unit[u]);
}

/*
 * Print an error message (with progname outside the REPL).  A reached
 * limit is said first, in words: the time limit whatever the message
 * became (a recipe may have caught it), the memory limit when the error
 * is the one a refused allocation raises (Lua's "not enough memory" or
 * the core's "out of memory").
 */
static void error_message(const char *msg, int status) {
  const char *pre = progname ? progname : "";
  const char *sep = progname ? ": " : "";
  if (!msg) msg = "(error)";
  if (stop_why == STOP_TIME) {
    if (strncmp(msg, time_msg, strlen(time_msg)) != 0)
      fprintf(stderr, "%s%s%s\n", pre, sep, time_msg);
  } else if (atomic_load(&memcap.hit) && memcap.cap &&
             (status == LUA_ERRMEM || strstr(msg, "not enough memory") ||
              strstr(msg, "out of memory"))) {
    char size[32];
    format_size(size, sizeof size, memcap.cap);
    fprintf(stderr, "%s%smemory limit of %s reached\n", pre, sep, size);
    if (strcmp(msg, "not enough memory") == 0) {
      fflush(stderr);
      return;
    }
  }
  fprintf(stderr, "%s%s%s\n", pre, sep, msg);
  fflush(stderr);
}

static int report(lua_State *L, int status) {
  if (status != LUA_OK) {
    error_message(lua_tostring(L, -1), status);
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

#if SCL_LINEEDIT
static char *history_path(void) {
  static char path[4096];
  const char *home = getenv("HOME");
  if (!home || !*home) return NULL;
  snprintf(path, sizeof path, "%s/.scalelua_history", home);
  return path;
}
#endif

/* ---- tab completion (libedit's or GNU readline's completion hooks) */

#if SCL_LINEEDIT
static lua_State *complete_L;
static char **cands;
static size_t ncands, icand;

static void free_cands(void) {
  for (size_t i = 0; i < ncands; i++) free(cands[i]);
  free(cands);
  cands = NULL;
  ncands = 0;
}

/* Hands out the candidates one by one (readline frees them). */
static char *cand_gen(const char *text, int state) {
  (void)text;
  if (state == 0) icand = 0;
  return icand < ncands ? strdup(cands[icand++]) : NULL;
}

/* The Lua side: require("scalelua.help").complete(text) -> {words}. */
static int complete_lua(lua_State *L) {
  lua_getglobal(L, "require");
  lua_pushliteral(L, "scalelua.help");
  lua_call(L, 1, 1);
  lua_getfield(L, -1, "complete");
  lua_pushvalue(L, 1);
  lua_call(L, 1, 1);
  return 1;
}

/*
 * The word under the cursor ("sl.fit.po", "t:gr": '.' and ':' do not
 * break words) is completed as a whole; no file names as a fallback.
 */
static char **attempt_complete(const char *text, int start, int end) {
  (void)start;
  (void)end;
  rl_attempted_completion_over = 1;
  free_cands();
  lua_State *L = complete_L;
  if (!L) return NULL;
  int top = lua_gettop(L);
  lua_pushcfunction(L, complete_lua);
  lua_pushstring(L, text);
  if (lua_pcall(L, 1, 1, 0) == LUA_OK && lua_istable(L, -1)) {
    size_t n = (size_t)lua_rawlen(L, -1);
    cands = n ? calloc(n, sizeof *cands) : NULL;
    for (size_t i = 0; cands && i < n; i++) {
      lua_rawgeti(L, -1, (lua_Integer)i + 1);
      const char *w = lua_tostring(L, -1);
      if (w && (cands[ncands] = strdup(w)) != NULL) ncands++;
      lua_pop(L, 1);
    }
  }
  lua_settop(L, top);
  if (ncands == 0) return NULL;
  return rl_completion_matches(text, cand_gen);
}

static void setup_completion(lua_State *L) {
  complete_L = L;
  rl_readline_name = "scalelua";
  rl_attempted_completion_function = attempt_complete;
  static char breaks[] = " \t\n\"\\'`@$><=;|&{(,[]+-*/%^~#)}";
  rl_basic_word_break_characters = breaks;
  rl_completer_word_break_characters = breaks;
  rl_completion_append_character = '\0';
}
#endif

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
  setup_completion(L);
#endif
  if (isatty(0)) {
    print_version();
    printf("sl = require \"scalelua\" is loaded; help() lists what it "
           "offers.\n");
  }
  int status;
  for (;;) {
    stop_why = STOP_NONE; /* an error of loading is no limit reached */
    if ((status = loadline(L)) == -1) break;
    if (status == LUA_OK) status = docall(L, 0, LUA_MULTRET);
    if (status == LUA_OK)
      print_results(L);
    else {
      error_message(lua_tostring(L, -1), status);
      lua_pop(L, 1);
    }
  }
  lua_settop(L, 0);
  if (isatty(0)) putchar('\n');
#if SCL_LINEEDIT
  free_cands();
  complete_L = NULL;
#endif
  progname = old;
}

/* ---- watch mode: which files a run read */

/*
 * A file the recipe read (absolute path, directory resolved), or a glob
 * pattern it read through, with the file's state when it was read: a
 * change made while the recipe ran is caught by comparing these after it.
 */
typedef struct {
  char *path;
  int pattern;
  int exists;
  struct timespec mtime;
  off_t size;
  ino_t ino;
} tracked;

static tracked *tl;
static size_t ntl, captl;

static void track_reset(void) {
  for (size_t i = 0; i < ntl; i++) free(tl[i].path);
  free(tl);
  tl = NULL;
  ntl = captl = 0;
}

static void track_stat(tracked *t) {
  struct stat st;
  t->exists = stat(t->path, &st) == 0;
  if (t->exists) {
    t->mtime = st.st_mtim;
    t->size = st.st_size;
    t->ino = st.st_ino;
  }
}

static int has_glob(const char *s) { return strpbrk(s, "*?[") != NULL; }

/* path made absolute, with its directory resolved when it exists. */
static char *absolute(const char *path) {
  char cwd[PATH_MAX], dir[PATH_MAX], buf[2 * PATH_MAX + 2];
  if (path[0] == '/') {
    snprintf(buf, sizeof buf, "%s", path);
  } else {
    if (!getcwd(cwd, sizeof cwd)) return NULL;
    snprintf(buf, sizeof buf, "%s/%s", cwd, path);
  }
  char *slash = strrchr(buf, '/');
  *slash = '\0';
  const char *base = slash + 1;
  if (!has_glob(buf) && realpath(buf[0] ? buf : "/", dir)) {
    size_t n = strlen(dir) + strlen(base) + 2;
    char *out = malloc(n);
    if (out) snprintf(out, n, "%s/%s", strcmp(dir, "/") ? dir : "", base);
    return out;
  }
  *slash = '/';
  return strdup(buf);
}

static void track_add(const char *abs, int pattern) {
  for (size_t i = 0; i < ntl; i++)
    if (strcmp(tl[i].path, abs) == 0) return;
  if (ntl == captl) {
    size_t cap = captl ? 2 * captl : 16;
    tracked *n = realloc(tl, cap * sizeof *n);
    if (!n) return;
    tl = n;
    captl = cap;
  }
  tracked *t = &tl[ntl];
  memset(t, 0, sizeof *t);
  if (!(t->path = strdup(abs))) return;
  t->pattern = pattern;
  if (!pattern) track_stat(t);
  ntl++;
}

/* Record a path the recipe reads: a file, or a pattern and its matches. */
static void track_path(const char *path) {
  if (!path || !*path || strcmp(path, "-") == 0) return;
  char *abs = absolute(path);
  if (!abs) return;
  if (has_glob(abs)) {
    track_add(abs, 1);
    glob_t g;
    if (glob(abs, 0, NULL, &g) == 0)
      for (size_t i = 0; i < g.gl_pathc; i++) track_add(g.gl_pathv[i], 0);
    globfree(&g);
  } else {
    track_add(abs, 0);
  }
  free(abs);
}

/*
 * The wrapper around a function that reads files: records its path
 * argument (a string, or an array of them), then calls the original
 * (upvalue 1).  Upvalue 2 is 1 for io.open, which only counts reads.
 */
static int track_call(lua_State *L) {
  int is_open = (int)lua_tointeger(L, lua_upvalueindex(2));
  const char *mode = is_open ? luaL_optstring(L, 2, "r") : "r";
  if (mode[0] == 'r' && !strchr(mode, '+')) {
    if (lua_type(L, 1) == LUA_TSTRING) {
      track_path(lua_tostring(L, 1));
    } else if (lua_type(L, 1) == LUA_TTABLE) {
      for (lua_Integer i = 1; lua_rawgeti(L, 1, i) == LUA_TSTRING; i++) {
        track_path(lua_tostring(L, -1));
        lua_pop(L, 1);
      }
      lua_pop(L, 1);
    }
  }
  int n = lua_gettop(L);
  lua_pushvalue(L, lua_upvalueindex(1));
  lua_insert(L, 1);
  lua_call(L, n, LUA_MULTRET);
  return lua_gettop(L);
}

/* Replace field `name` of the table on top with a tracking wrapper. */
static void wrap_field(lua_State *L, const char *name, int is_open) {
  if (lua_getfield(L, -1, name) != LUA_TFUNCTION) {
    lua_pop(L, 1);
    return;
  }
  lua_pushinteger(L, is_open);
  lua_pushcclosure(L, track_call, 2);
  lua_setfield(L, -2, name);
}

/*
 * Before `require "scalelua"`: wrap the readers of scalelua.core (the Lua
 * layer calls them through that table) and Lua's own file readers.
 */
static void install_tracking(lua_State *L) {
  lua_getglobal(L, "require");
  lua_pushliteral(L, "scalelua.core");
  lua_call(L, 1, 1);
  wrap_field(L, "read_csv", 0);
  wrap_field(L, "csv_records", 0);
  lua_pop(L, 1);
  lua_getglobal(L, "io");
  wrap_field(L, "open", 1);
  wrap_field(L, "lines", 0);
  lua_pop(L, 1);
  lua_pushglobaltable(L);
  wrap_field(L, "dofile", 0);
  wrap_field(L, "loadfile", 0);
  lua_pop(L, 1);
}

/* ---- main */

typedef struct {
  int argc;
  char **argv;
  int status;
  int watch; /* --watch: the recipe runs again on changes */
  const char *outdir_after; /* --outdir found after the recipe (kept for
                               the runs of --watch, argv having shifted) */
} pargs;

/* Open libraries, preload scalelua, set sl and arg; then do the options. */
static int pmain(lua_State *L) {
  pargs *a = lua_touserdata(L, 1);
  int argc = a->argc;
  char **argv = a->argv;
  int script = 0, interactive = 0, version = 0, has_e = 0, watch = 0;
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
    else if (strcmp(o, "--watch") == 0)
      watch = 1;
    else if (strcmp(o, "--safe") == 0)
      ; /* main() did the limits */
    else if (strcmp(o, "--max-memory") == 0 || strcmp(o, "--max-time") == 0)
      i++;
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
  if (watch && (!script || strcmp(argv[script], "-") == 0)) {
    fprintf(stderr, "%s: --watch needs a recipe file\n", progname);
    a->status = 1;
    return 0;
  }
  a->watch = watch;
  if (version) print_version();
  /*
   * `scalelua recipe.lua --outdir DIR` is read as `--outdir DIR recipe.lua`:
   * users put it on either side.  It is removed from the recipe's args.
   */
  const char *outdir_after = a->outdir_after;
  if (script)
    for (int i = script + 1; i + 1 < argc; i++)
      if (strcmp(argv[i], "--outdir") == 0) {
        outdir_after = a->outdir_after = argv[i + 1];
        for (int j = i; j + 2 < argc; j++) argv[j] = argv[j + 2];
        argc -= 2;
        a->argc = argc;
        break;
      }

  luaL_openlibs(L);
  sclb_preload(L);
  if (watch) {
    track_reset();
    track_path(argv[script]);
    install_tracking(L);
  }
  /* --safe: the output directory, fixed now (sl.outdir may change) */
  char root[PATH_MAX];
  if (lim.safe) {
    /* the last --outdir before the recipe, unless one follows it */
    const char *od = outdir_after;
    for (int i = 1; !outdir_after && i < (script ? script : argc); i++) {
      if (strcmp(argv[i], "--outdir") == 0) od = argv[i + 1];
      if (strcmp(argv[i], "-e") == 0 || strcmp(argv[i], "-l") == 0 ||
          strcmp(argv[i], "--outdir") == 0 ||
          strcmp(argv[i], "--max-memory") == 0 ||
          strcmp(argv[i], "--max-time") == 0)
        i++;
    }
    if (!realpath(od ? od : ".", root)) {
      fprintf(stderr, "%s: --safe: output directory '%s': %s\n", progname,
              od ? od : ".", strerror(errno));
      a->status = 1;
      return 0;
    }
  }
  if (lim.safe || lim.max_time > 0)
    sclb_guard_writers(L, lim.safe ? root : NULL);
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
  if (lim.safe) sclb_sandbox(L, root);

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
  if (watch) {
    /* no REPL: the watch loop takes over */
  } else if (interactive)
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


/*
 * One run in a fresh Lua state: 1 when it succeeded.  With --max-memory
 * the state's allocator counts from the bytes the new state holds.  The
 * finalizers lua_close runs are recipe code too, and Lua runs them with
 * hooks off: under --max-time they get a grace period, then the hard stop.
 */
static int run_state(pargs *a) {
  lua_State *L = luaL_newstate();
  if (!L) {
    fprintf(stderr, "%s: cannot create state: not enough memory\n", progname);
    return 0;
  }
  memcap.cap = lim.max_memory;
  atomic_store(&memcap.hit, 0);
  if (lim.max_memory) {
    size_t used = (size_t)lua_gc(L, LUA_GCCOUNT) * 1024 +
                  (size_t)lua_gc(L, LUA_GCCOUNTB);
    atomic_store(&memcap.used, used);
    lua_setallocf(L, sclb_memcap_alloc, &memcap);
  }
  a->status = 1;
  lua_pushcfunction(L, pmain);
  lua_pushlightuserdata(L, a);
  int status = lua_pcall(L, 1, 0, 0);
  report(L, status);
  if (lim.max_time > 0) {
    closing = 1;
    set_timer(grace(), grace());
  }
  lua_close(L);
  closing = 2;
  if (lim.max_time > 0) set_timer(0, 0);
  closing = 0;
  fflush(stdout);
  return status == LUA_OK && a->status == 0;
}

/* ---- the watch loop */

static void on_sigint(int sig) {
  (void)sig;
  got_sigint = 1;
}

static double now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static const char *base_name(const char *p) {
  const char *s = strrchr(p, '/');
  return s ? s + 1 : p;
}

/* A tracked file whose state differs from when it was read, or NULL. */
static const char *changed_since_read(void) {
  for (size_t i = 0; i < ntl; i++) {
    if (tl[i].pattern) continue;
    tracked now = tl[i];
    track_stat(&now);
    if (now.exists != tl[i].exists ||
        (now.exists && (now.size != tl[i].size || now.ino != tl[i].ino ||
                        now.mtime.tv_sec != tl[i].mtime.tv_sec ||
                        now.mtime.tv_nsec != tl[i].mtime.tv_nsec)))
      return tl[i].path;
  }
  return NULL;
}

typedef struct {
  int wd;
  char *dir;
} watchdir;

/* Is dir/name one of the tracked files, or a match of a tracked pattern? */
static const char *relevant(const char *dir, const char *name) {
  char full[2 * PATH_MAX + 2];
  snprintf(full, sizeof full, "%s/%s", dir, name);
  for (size_t i = 0; i < ntl; i++) {
    if (tl[i].pattern ? fnmatch(tl[i].path, full, FNM_PATHNAME) == 0
                      : strcmp(tl[i].path, full) == 0)
      return tl[i].path;
  }
  return NULL;
}

/*
 * Read the pending events of fd; returns the first relevant path (into
 * why, when why[0] is still empty) and whether there was one.
 */
static int read_events(int fd, const watchdir *wds, size_t nwd, char *why,
                       size_t whylen) {
  char buf[16384] __attribute__((aligned(__alignof__(struct inotify_event))));
  int hit = 0;
  ssize_t n = read(fd, buf, sizeof buf);
  for (char *p = buf; n > 0 && p < buf + n;) {
    const struct inotify_event *ev = (const struct inotify_event *)p;
    p += sizeof *ev + ev->len;
    if (!ev->len) continue;
    for (size_t i = 0; i < nwd; i++) {
      if (wds[i].wd != ev->wd) continue;
      const char *path = relevant(wds[i].dir, ev->name);
      if (path) {
        hit = 1;
        if (!why[0]) snprintf(why, whylen, "%s", base_name(path));
      }
      break;
    }
  }
  return hit;
}

/*
 * Watch the directories of the tracked files (editors replace files by
 * renaming, which a watch on the file itself would miss) until one of
 * them changes; then wait for 100 ms of quiet (a writer appending rows
 * sends many events).  Returns 0 when interrupted.  SIGINT stays blocked
 * except inside ppoll, so a Ctrl-C between the check of got_sigint and
 * the wait is not lost.
 */
static int wait_for_change(char *why, size_t whylen) {
  why[0] = '\0';
  sigset_t block, waitmask;
  sigemptyset(&block);
  sigaddset(&block, SIGINT);
  sigprocmask(SIG_BLOCK, &block, &waitmask);
  sigdelset(&waitmask, SIGINT);
  int fd = inotify_init1(IN_CLOEXEC | IN_NONBLOCK);
  if (fd < 0) {
    fprintf(stderr, "%s: --watch: inotify: %s\n", progname, strerror(errno));
    sigprocmask(SIG_UNBLOCK, &block, NULL);
    return 0;
  }
  watchdir *wds = calloc(ntl ? ntl : 1, sizeof *wds);
  size_t nwd = 0;
  uint32_t mask = IN_MODIFY | IN_CLOSE_WRITE | IN_MOVED_TO | IN_CREATE |
                  IN_DELETE | IN_MOVED_FROM | IN_ATTRIB;
  for (size_t i = 0; wds && i < ntl; i++) {
    char *dir = strdup(tl[i].path);
    if (!dir) continue;
    char *slash = strrchr(dir, '/');
    if (slash == dir) slash[1] = '\0';
    else if (slash) *slash = '\0';
    int wd = has_glob(dir) ? -1 : inotify_add_watch(fd, dir, mask);
    int dup = 0;
    for (size_t k = 0; k < nwd; k++) dup |= wds[k].wd == wd;
    if (wd < 0 || dup) {
      free(dir);
      continue;
    }
    wds[nwd].wd = wd;
    wds[nwd++].dir = dir;
  }
  /* a file changed while the recipe ran: no need to wait */
  const char *early = changed_since_read();
  if (early) snprintf(why, whylen, "%s", base_name(early));
  int hit = early != NULL;
  struct pollfd pfd = {fd, POLLIN, 0};
  while (!hit && !got_sigint) {
    int r = ppoll(&pfd, 1, NULL, &waitmask);
    if (r < 0 && errno != EINTR) break;
    if (r > 0) hit = read_events(fd, wds, nwd, why, whylen);
  }
  /* debounce: until 100 ms pass without a relevant event */
  double quiet_from = now_ms();
  while (hit && !got_sigint) {
    double left = quiet_from + 100 - now_ms();
    if (left <= 0) break;
    struct timespec ts = {0, (long)(left * 1e6)};
    int r = ppoll(&pfd, 1, &ts, &waitmask);
    if (r > 0 && read_events(fd, wds, nwd, why, whylen)) quiet_from = now_ms();
  }
  for (size_t k = 0; k < nwd; k++) free(wds[k].dir);
  free(wds);
  close(fd);
  sigprocmask(SIG_UNBLOCK, &block, NULL);
  return hit && !got_sigint;
}

/*
 * `scalelua --watch recipe.lua`: after the first run, wait for a change,
 * run again in a fresh state, print one line per run; errors are shown
 * and the loop goes on.  Ctrl-C (during a run or while waiting) ends it.
 */
static int watch_loop(pargs *a, int first_ok, double first_ms) {
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_sigint;
  sigemptyset(&sa.sa_mask);
  int run = 1, ok = first_ok;
  double ms = first_ms;
  char why[PATH_MAX];
  why[0] = '\0';
  for (;;) {
    size_t npat = 0;
    for (size_t i = 0; i < ntl; i++) npat += tl[i].pattern != 0;
    char pats[48] = "";
    if (npat)
      snprintf(pats, sizeof pats, " and %s pattern%s",
               npat == 1 ? "a" : "several", npat == 1 ? "" : "s");
    fprintf(stderr, "%s: watch: run %d %s in %.0f ms%s%s%s; watching %zu "
                    "file%s%s (Ctrl-C stops)\n",
            progname, run, ok ? "ok" : "FAILED", ms, why[0] ? " (" : "", why,
            why[0] ? " changed)" : "", ntl - npat, ntl - npat == 1 ? "" : "s",
            pats);
    fflush(stderr);
    if (got_sigint) break;
    sigaction(SIGINT, &sa, NULL); /* no SA_RESTART: poll returns EINTR */
    if (!wait_for_change(why, sizeof why)) break;
    run++;
    double t0 = now_ms();
    ok = run_state(a);
    ms = now_ms() - t0;
  }
  track_reset();
  return EXIT_SUCCESS;
}

/*
 * SIZE: a number and an optional K, M, G or T (powers of 1024; "KiB",
 * "MB" and the like read the same); 0, "none" or "unlimited": no cap.
 */
static int parse_size(const char *s, size_t *out) {
  if (strcmp(s, "none") == 0 || strcmp(s, "unlimited") == 0) {
    *out = 0;
    return 1;
  }
  char *end;
  double v = strtod(s, &end);
  if (end == s || !isfinite(v) || v < 0 || !isdigit((unsigned char)*s))
    return 0;
  const char *units = "KMGT";
  const char *u = *end ? strchr(units, toupper((unsigned char)*end)) : NULL;
  if (u) {
    for (const char *p = units; p <= u; p++) v *= 1024;
    end++;
    if (*end == 'i') end++;
  }
  if (*end == 'B' || (*end == 'b' && u)) end++;
  if (*end || v >= 0x1p62) return 0;
  *out = (size_t)v;
  return 1;
}

/* SECONDS: a number, an optional "s"; 0, "none" or "unlimited": no cap. */
static int parse_seconds(const char *s, double *out) {
  if (strcmp(s, "none") == 0 || strcmp(s, "unlimited") == 0) {
    *out = 0;
    return 1;
  }
  char *end;
  double v = strtod(s, &end);
  if (end == s || !isfinite(v) || v < 0 || v > 1e8 ||
      !(isdigit((unsigned char)*s) || *s == '.'))
    return 0;
  if (*end == 's') end++;
  if (*end) return 0;
  *out = v;
  return 1;
}

/*
 * The options the Lua state depends on (--safe, --max-memory,
 * --max-time), read before it exists; after the recipe they are taken out
 * of its arguments, as --outdir is (a recipe run as `x.lua --safe` must
 * not run unguarded).  Returns 0 after an error message.
 */
static int limit_options(int *argc, char **argv) {
  int script = 0, mem_set = 0, time_set = 0;
  for (int i = 1; i < *argc && !script; i++) {
    const char *o = argv[i];
    if (o[0] != '-' || strcmp(o, "-") == 0)
      script = i;
    else if (strcmp(o, "--") == 0)
      script = i + 1 < *argc ? i + 1 : -1;
    else if (strcmp(o, "-e") == 0 || strcmp(o, "-l") == 0 ||
             strcmp(o, "--outdir") == 0 || strcmp(o, "--max-memory") == 0 ||
             strcmp(o, "--max-time") == 0)
      i++;
  }
  if (script < 0) script = 0;
  int end = script ? script : *argc;
  for (int i = 1; i < *argc;) {
    const char *o = argv[i];
    if (i == end) { /* the recipe: what follows is its arguments */
      i++;
      continue;
    }
    int take = 0;
    if (strcmp(o, "--safe") == 0) {
      lim.safe = 1;
      take = 1;
    } else if (strcmp(o, "--max-memory") == 0 ||
               strcmp(o, "--max-time") == 0) {
      const char *v = i + 1 < *argc ? argv[i + 1] : NULL;
      int mem = o[6] == 'm';
      if (!v || !(mem ? parse_size(v, &lim.max_memory)
                      : parse_seconds(v, &lim.max_time))) {
        fprintf(stderr, "%s: %s needs %s, not '%s'\n", progname, o,
                mem ? "a size such as 512M or 2G" : "a number of seconds",
                v ? v : "nothing");
        return 0;
      }
      *(mem ? &mem_set : &time_set) = 1;
      take = 2;
    }
    if (i < end) { /* an option before the recipe */
      if (!take && (strcmp(o, "-e") == 0 || strcmp(o, "-l") == 0 ||
                    strcmp(o, "--outdir") == 0))
        take = 2;
      i += take ? take : 1;
    } else if (take) { /* taken out of the recipe's arguments */
      for (int j = i; j + take <= *argc; j++) argv[j] = argv[j + take];
      *argc -= take;
    } else {
      i++;
    }
  }
  if (lim.safe && !mem_set) lim.max_memory = SAFE_MAX_MEMORY;
  if (lim.safe && !time_set) lim.max_time = SAFE_MAX_TIME;
  if (lim.max_time > 0) {
    snprintf(time_msg, sizeof time_msg, "time limit of %g s reached",
             lim.max_time);
    int n = snprintf(hard_msg, sizeof hard_msg,
                     "%s: %s; still running %g s later (in C code, a "
                     "coroutine or a finalizer, which cannot be "
                     "interrupted): stopped\n",
                     progname, time_msg, grace());
    hard_len = n > 0 && (size_t)n < sizeof hard_msg ? (size_t)n
                                                     : strlen(hard_msg);
    n = snprintf(close_msg, sizeof close_msg,
                 "%s: finalizers (__gc) still running %g s after the end: "
                 "stopped\n", progname, grace());
    close_len = n > 0 && (size_t)n < sizeof close_msg ? (size_t)n
                                                       : strlen(close_msg);
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_alarm;
    sa.sa_flags = SA_RESTART;
    sigemptyset(&sa.sa_mask);
    sigaddset(&sa.sa_mask, SIGINT);
    sigaction(SIGALRM, &sa, NULL);
  }
  return 1;
}

int main(int argc, char **argv) {
  if (argv[0] && argv[0][0]) progname = argv[0];
  if (!limit_options(&argc, argv)) return EXIT_FAILURE;
  pargs a = {argc, argv, 1, 0, NULL};
  double t0 = now_ms();
  int ok = run_state(&a);
  if (a.watch) return watch_loop(&a, ok, now_ms() - t0);
  return ok ? EXIT_SUCCESS : EXIT_FAILURE;
}
