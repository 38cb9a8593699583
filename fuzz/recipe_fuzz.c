/*
 * recipe_fuzz.c -- libFuzzer target for recipe validation.
 *
 * The input is the text of a Lua expression, typically a table
 * constructor like the argument of sl.experiment{...} or sl.chart{...}.
 * It is evaluated in a sandbox (text chunks only, an environment holding
 * a small data table T, an experiment E built from it and a copy of math)
 * and the value is handed to sl.experiment, sl.chart and sl.figure.
 * Errors are expected; crashes, sanitizer reports and leaks are not.
 *
 * One Lua state serves all inputs, with the scalelua modules preloaded
 * from core/bind (luaopen_scalelua).  The sandbox keeps runs independent:
 * file reads go to an in-memory CSV, rendering is replaced by a check of
 * its arguments, T and E are rebuilt for every input, and the tables a
 * chunk can reach and change (the Experiment and Chart classes, the
 * string library) are restored after it.  Runaway code is stopped by an
 * instruction budget and a memory cap.
 *
 * libFuzzer only sees the C code's coverage; the line hook also counts
 * the lines of the scalelua Lua modules that run into libFuzzer's extra
 * counters, so inputs that reach new validation branches are kept.
 */
#include "bind.h"

#include <lualib.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MEM_CAP ((size_t)256 << 20)
#define BUDGET 4000 /* thousands of VM instructions per input */

static lua_State *L;
static size_t mem_used;
static long budget;

/* Lua-level coverage for libFuzzer (see the comment at the top). */
__attribute__((used, section("__libfuzzer_extra_counters")))
static uint8_t lua_lines[1 << 14];

static void *capped_alloc(void *ud, void *p, size_t osize, size_t nsize) {
  (void)ud;
  if (!p) osize = 0;
  if (nsize == 0) {
    mem_used -= osize;
    free(p);
    return NULL;
  }
  if (nsize > osize && mem_used + (nsize - osize) > MEM_CAP) return NULL;
  void *q = realloc(p, nsize);
  if (q) mem_used = mem_used - osize + nsize;
  return q;
}

static void hook(lua_State *l, lua_Debug *ar) {
  if (ar->event == LUA_HOOKCOUNT) {
    if (--budget < 0) {
      lua_sethook(l, hook, LUA_MASKCOUNT, 1); /* stop at once, everywhere */
      luaL_error(l, "fuzz: instruction budget exhausted");
    }
    return;
  }
  if (ar->event == LUA_HOOKLINE && lua_getinfo(l, "S", ar) &&
      strncmp(ar->source, "@lua/scalelua/", 14) == 0) {
    uint32_t h = 2166136261u;
    for (const char *s = ar->source + 14; *s; s++)
      h = (h ^ (uint8_t)*s) * 16777619u;
    h = (h ^ (uint32_t)ar->currentline) * 16777619u;
    uint8_t *c = &lua_lines[h % sizeof lua_lines];
    if (*c < 255) (*c)++;
  }
}

/* The harness, in Lua: sandbox set-up (once) and run(src) (per input). */
static const char harness[] =
    "local sl = require 'scalelua'\n"
    "local core = require 'scalelua.core'\n"
    "local recipe = require 'scalelua.recipe'\n"
    "local CSV = 'run,method,params,tokens,step,loss\\n'\n"
    "for r, spec in ipairs({{'a-1', 'a', 1e8}, {'a-2', 'a', 4e8},\n"
    "                       {'b-1', 'b', 1e8}, {'b-2', 'b', 4e8}}) do\n"
    "  for s = 1, 8 do\n"
    "    local tok = s * 2e8\n"
    "    local loss = 1.7 + 400 / spec[3] ^ 0.34 + 410 / tok ^ 0.28\n"
    "      + (spec[2] == 'b' and 0.02 or 0)\n"
    "    CSV = CSV .. string.format('%s,%s,%g,%g,%d,%.6f\\n', spec[1],\n"
    "      spec[2], spec[3], tok, s, loss)\n"
    "  end\n"
    "end\n"
    /* reads: every path is the CSV above; the options go to the binding */
    "local read_string = core.read_csv_string\n"
    "core.read_csv = function(paths, opts)\n"
    "  if type(paths) ~= 'string' and type(paths) ~= 'table' then\n"
    "    error('read_csv: bad paths')\n"
    "  end\n"
    "  return read_string(CSV, opts, 'runs.csv')\n"
    "end\n"
    /* rendering: check the arguments, write nothing */
    "core.render = function(charts, fig, path)\n"
    "  assert(type(charts) == 'table' and #charts > 0, 'render: charts')\n"
    "  assert(type(path) == 'string', 'render: path')\n"
    "  return path\n"
    "end\n"
    "local function snapshot(t)\n"
    "  local c = {}\n"
    "  for k, v in pairs(t) do c[k] = v end\n"
    "  return c\n"
    "end\n"
    "local function restore(t, c)\n"
    "  for k in pairs(t) do t[k] = nil end\n"
    "  for k, v in pairs(c) do t[k] = v end\n"
    "end\n"
    "local guarded = { recipe.Experiment, recipe.Chart, string, math, sl,\n"
    "  core, recipe }\n"
    "local saved = {}\n"
    "for i, t in ipairs(guarded) do saved[i] = snapshot(t) end\n"
    "local smt = getmetatable('')\n"
    "local smt_saved = snapshot(smt)\n"
    "local function fresh_env()\n"
    "  local T = read_string(CSV, nil, 'runs.csv')\n"
    "  local E = sl.experiment { data = T, compute = {}, y = 'loss',\n"
    "    series = 'method', curve = 'run', envelope = { grid = 50 },\n"
    "    fit = 'powerlaw' }\n"
    "  return { T = T, E = E, math = snapshot(math), pairs = pairs,\n"
    "    ipairs = ipairs, tostring = tostring, type = type }\n"
    "end\n"
    "return function(src)\n"
    "  local env = fresh_env()\n"
    "  local f = load('return ' .. src, '=recipe', 't', env)\n"
    "  if f then\n"
    "    local ok, v = pcall(f)\n"
    "    if ok then\n"
    "      pcall(sl.experiment, v)\n"
    "      pcall(sl.chart, v)\n"
    "      pcall(sl.figure, v)\n"
    "    end\n"
    "  end\n"
    "  for i, t in ipairs(guarded) do restore(t, saved[i]) end\n"
    "  restore(smt, smt_saved)\n"
    "end\n";

static int run_ref = LUA_NOREF;

int LLVMFuzzerInitialize(int *argc, char ***argv) {
  (void)argc;
  (void)argv;
  L = lua_newstate(capped_alloc, NULL);
  if (!L) abort();
  luaL_openlibs(L);
  lua_pushcfunction(L, luaopen_scalelua);
  lua_call(L, 0, 1);
  lua_pop(L, 1);
  if (luaL_loadbufferx(L, harness, sizeof harness - 1, "=harness", "t") ||
      lua_pcall(L, 0, 1, 0)) {
    fprintf(stderr, "recipe_fuzz: harness: %s\n", lua_tostring(L, -1));
    abort();
  }
  run_ref = luaL_ref(L, LUA_REGISTRYINDEX);
  return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size > 4096) return 0;
  lua_rawgeti(L, LUA_REGISTRYINDEX, run_ref);
  lua_pushlstring(L, (const char *)data, size);
  budget = BUDGET;
  lua_sethook(L, hook, LUA_MASKCOUNT | LUA_MASKLINE, 1000);
  int rc = lua_pcall(L, 1, 0, 0);
  lua_sethook(L, NULL, 0, 0);
  if (rc != LUA_OK) {
    /* Only the budget or the memory cap may stop the harness itself; its
     * restore step then did not run, so start over cleanly. */
    const char *msg = lua_tostring(L, -1);
    if (rc != LUA_ERRMEM && !(msg && strstr(msg, "instruction budget"))) {
      fprintf(stderr, "recipe_fuzz: harness failed: %s\n",
              msg ? msg : "(no message)");
      abort();
    }
    lua_pop(L, 1);
    lua_close(L);
    L = NULL;
    LLVMFuzzerInitialize(NULL, NULL);
    return 0;
  }
  lua_gc(L, LUA_GCCOLLECT);
  return 0;
}
