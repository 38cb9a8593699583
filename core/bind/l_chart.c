/*
 * l_chart.c -- Lua binding of charts, rendering and ticks.
 *
 *   local c = core.chart()
 *   c:title("MoBA"):axis("x", {log = true, label = "PFLOP/s-days"})
 *   c:line(x, y, {color = "C0", dash = "dashed"}, "MoBA Projection")
 *   core.render({c}, {width = 6.4, height = 4.8, dpi = 150}, "fig.png")
 *   core.ticks(0.9, 4.5, true)  --> {{value=, major=, label=}, ...}
 *
 * Conversion only: styles, colours and options are checked and turned
 * into core structures; the core does the rest.
 */
#include "bind.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
  scl_chart *c;
} sclb_chart;

static sclb_chart *checkchart(lua_State *L, int idx) {
  sclb_chart *u = luaL_checkudata(L, idx, SCLB_CHART);
  if (!u->c) luaL_argerror(L, idx, "chart is closed");
  return u;
}

/* __gc and __close: free and forget; then unpin the Columns the chart
 * drew from (the user value: an array of them, false where a line could
 * not be added). */
static int ch_gc(lua_State *L) {
  sclb_chart *u = luaL_checkudata(L, 1, SCLB_CHART);
  scl_chart_free(u->c);
  u->c = NULL;
  if (lua_getiuservalue(L, 1, 1) == LUA_TTABLE) {
    lua_Integer n = luaL_len(L, -1);
    for (lua_Integer i = 1; i <= n; i++) {
      sclb_table *col = lua_rawgeti(L, -1, i) == LUA_TUSERDATA
                            ? lua_touserdata(L, -1)
                            : NULL;
      if (col) sclb_unpin(col);
      lua_pop(L, 1);
    }
    lua_pushnil(L);
    lua_setiuservalue(L, 1, 1);
  }
  return 0;
}

/* chart() -> Chart */
static int l_chart(lua_State *L) {
  scl_ctx *ctx = sclb_ctx(L);
  sclb_chart *u = lua_newuserdatauv(L, sizeof *u, 1);
  u->c = NULL;
  luaL_setmetatable(L, SCLB_CHART);
  if (scl_chart_new(ctx, &u->c) != SCL_OK) return sclb_fail(L, ctx);
  return 1;
}

static void check_rc(lua_State *L, scl_ctx *ctx, int rc) {
  if (rc != SCL_OK) sclb_fail(L, ctx);
}

/* chart:title(s) -> chart */
static int ch_title(lua_State *L) {
  sclb_chart *u = checkchart(L, 1);
  const char *s = luaL_optstring(L, 2, NULL);
  check_rc(L, sclb_ctx(L), scl_chart_set_title(u->c, s));
  lua_settop(L, 1);
  return 1;
}

/* A number field of the table at idx, or NaN when absent. */
static double opt_number(lua_State *L, int idx, const char *k,
                         const char *what) {
  int t = lua_getfield(L, idx, k);
  double v = NAN;
  if (t == LUA_TNUMBER)
    v = lua_tonumber(L, -1);
  else if (t != LUA_TNIL)
    luaL_error(L, "%s: field '%s' must be a number, got %s", what, k,
               lua_typename(L, t));
  lua_pop(L, 1);
  return v;
}

/* Raise on a key of the table at idx that is not in allowed[]. */
static void check_keys(lua_State *L, int idx, const char *const *allowed,
                       const char *what) {
  lua_pushnil(L);
  while (lua_next(L, idx)) {
    lua_pop(L, 1);
    if (lua_type(L, -1) != LUA_TSTRING)
      luaL_error(L, "%s: unexpected key of type %s", what,
                 luaL_typename(L, -1));
    const char *k = lua_tostring(L, -1);
    int ok = 0;
    for (const char *const *a = allowed; *a && !ok; a++)
      ok = strcmp(*a, k) == 0;
    if (!ok) luaL_error(L, "%s: unknown field '%s'", what, k);
  }
}

/* chart:axis("x"|"y", {log = bool, label = s, min = n, max = n}) -> chart */
static int ch_axis(lua_State *L) {
  sclb_chart *u = checkchart(L, 1);
  static const char *const names[] = {"x", "y", NULL};
  int axis = luaL_checkoption(L, 2, NULL, names);
  static const char *const keys[] = {"log", "label", "min", "max", NULL};
  int log = 0;
  const char *label = NULL;
  double lo = NAN, hi = NAN;
  if (!lua_isnoneornil(L, 3)) {
    luaL_checktype(L, 3, LUA_TTABLE);
    check_keys(L, 3, keys, "axis");
    lua_getfield(L, 3, "log");
    log = lua_toboolean(L, -1);
    lua_getfield(L, 3, "label");
    if (!lua_isnil(L, -1) && !lua_isstring(L, -1))
      luaL_error(L, "axis: field 'label' must be a string");
    label = lua_tostring(L, -1); /* stays on the stack until we return */
    lo = opt_number(L, 3, "min", "axis");
    hi = opt_number(L, 3, "max", "axis");
  }
  check_rc(L, sclb_ctx(L), scl_chart_set_axis(u->c, axis, log, label, lo, hi));
  lua_settop(L, 1);
  return 1;
}

/* chart:legend("best"|"upper right"|...|"none") -> chart */
static int ch_legend(lua_State *L) {
  sclb_chart *u = checkchart(L, 1);
  static const char *const pos[] = {"none", "best", "upper right",
                                    "upper left", "lower left",
                                    "lower right", NULL};
  static const scl_legend_pos val[] = {
      SCL_LEGEND_NONE, SCL_LEGEND_BEST, SCL_LEGEND_UPPER_RIGHT,
      SCL_LEGEND_UPPER_LEFT, SCL_LEGEND_LOWER_LEFT, SCL_LEGEND_LOWER_RIGHT};
  int i = luaL_checkoption(L, 2, "best", pos);
  check_rc(L, sclb_ctx(L), scl_chart_set_legend(u->c, val[i]));
  lua_settop(L, 1);
  return 1;
}

/* Named colours: matplotlib's "C0".."C9" (tab10) and its base names. */
static const struct {
  const char *name;
  uint32_t rgb;
} colors[] = {
    {"C0", 0x1f77b4},     {"C1", 0xff7f0e},    {"C2", 0x2ca02c},
    {"C3", 0xd62728},     {"C4", 0x9467bd},    {"C5", 0x8c564b},
    {"C6", 0xe377c2},     {"C7", 0x7f7f7f},    {"C8", 0xbcbd22},
    {"C9", 0x17becf},     {"blue", 0x1f77b4},  {"orange", 0xff7f0e},
    {"green", 0x2ca02c},  {"red", 0xd62728},   {"purple", 0x9467bd},
    {"brown", 0x8c564b},  {"pink", 0xe377c2},  {"gray", 0x7f7f7f},
    {"grey", 0x7f7f7f},   {"olive", 0xbcbd22}, {"cyan", 0x17becf},
    {"black", 0x000000},  {"white", 0xffffff}, {"magenta", 0xff00ff},
    {"yellow", 0xffff00}, {NULL, 0}};

/* The colour at the top of the stack: "#rrggbb", "#rgb", 0xRRGGBB, a name,
 * or "auto" for the chart's palette. */
static uint32_t tocolor(lua_State *L, const char *what) {
  if (lua_type(L, -1) == LUA_TNUMBER) {
    lua_Integer v;
    if (!lua_isinteger(L, -1) || (v = lua_tointeger(L, -1)) < 0 ||
        v > 0xFFFFFF)
      luaL_error(L, "%s: colour number must be an integer 0..0xFFFFFF", what);
    return (uint32_t)lua_tointeger(L, -1);
  }
  if (lua_type(L, -1) != LUA_TSTRING)
    luaL_error(L, "%s: colour must be a string or a number, got %s", what,
               luaL_typename(L, -1));
  const char *s = lua_tostring(L, -1);
  if (s[0] == '#') {
    size_t n = strlen(s + 1);
    char *end;
    unsigned long v = strtoul(s + 1, &end, 16);
    if (*end == '\0' && (n == 6 || n == 3)) {
      if (n == 3) /* #rgb -> #rrggbb */
        v = (v >> 8 & 0xF) * 0x110000 + (v >> 4 & 0xF) * 0x1100 +
            (v & 0xF) * 0x11;
      return (uint32_t)v;
    }
    luaL_error(L, "%s: colour '%s' is not #rrggbb", what, s);
  }
  if (strcmp(s, "auto") == 0) return SCL_COLOR_AUTO;
  for (int i = 0; colors[i].name; i++)
    if (strcmp(colors[i].name, s) == 0) return colors[i].rgb;
  return (uint32_t)luaL_error(L, "%s: unknown colour '%s' (use #rrggbb, "
                              "0xRRGGBB, C0..C9 or a name like \"blue\")",
                              what, s);
}

/* The style table at idx (or nil) as an scl_style; unknown fields raise. */
static void tostyle(lua_State *L, int idx, scl_style *s, double alpha) {
  scl_style_init(s);
  s->alpha = alpha;
  if (lua_isnoneornil(L, idx)) return;
  luaL_checktype(L, idx, LUA_TTABLE);
  static const char *const keys[] = {"color", "width", "dash", "marker",
                                     "alpha", "marker_size", NULL};
  check_keys(L, idx, keys, "style");
  if (lua_getfield(L, idx, "color") != LUA_TNIL)
    s->color = tocolor(L, "style.color");
  lua_pop(L, 1);
  double v = opt_number(L, idx, "width", "style");
  if (!isnan(v)) s->width = v;
  v = opt_number(L, idx, "alpha", "style");
  if (!isnan(v)) s->alpha = v;
  v = opt_number(L, idx, "marker_size", "style");
  if (!isnan(v)) s->marker_size = v;
  if (lua_getfield(L, idx, "dash") != LUA_TNIL) {
    static const char *const d[] = {"solid", "dashed", "dotted", "dashdot",
                                    "-", "--", ":", "-.", NULL};
    const char *str = lua_tostring(L, -1);
    int i = -1;
    for (int k = 0; str && d[k]; k++)
      if (strcmp(d[k], str) == 0) i = k;
    if (i < 0)
      luaL_error(L, "style.dash: '%s' is not solid, dashed, dotted or "
                 "dashdot", str ? str : luaL_typename(L, -1));
    s->dash = (scl_dash)(i % 4);
  }
  lua_pop(L, 1);
  if (lua_getfield(L, idx, "marker") != LUA_TNIL) {
    static const char *const m[] = {"none", "circle", "square", "triangle",
                                    "cross", "",  "o",      "s",
                                    "^",    "x",  NULL};
    const char *str = lua_tostring(L, -1);
    int i = -1;
    for (int k = 0; str && m[k]; k++)
      if (strcmp(m[k], str) == 0) i = k;
    if (i < 0)
      luaL_error(L, "style.marker: '%s' is not none, circle, square, "
                 "triangle or cross", str ? str : luaL_typename(L, -1));
    s->marker = (scl_marker)(i % 5);
  }
  lua_pop(L, 1);
}

/*
 * A line of two numeric Columns is drawn from their numbers without a
 * copy: the chart keeps the Columns in its user value and pins them (an
 * explicit close then waits for the chart).  Slots are made before the
 * line is added, so that nothing can raise between adding it and holding
 * its Columns.  1: added; 0: not Columns.
 */
static int line_ref(lua_State *L, sclb_chart *u, const scl_style *s,
                    const char *legend) {
  if (!luaL_testudata(L, 2, SCLB_COLUMN) || !luaL_testudata(L, 3, SCLB_COLUMN))
    return 0;
  if (lua_getiuservalue(L, 1, 1) != LUA_TTABLE) {
    lua_pop(L, 1);
    lua_newtable(L);
    lua_pushvalue(L, -1);
    lua_setiuservalue(L, 1, 1);
  }
  lua_Integer k = luaL_len(L, -1);
  lua_pushboolean(L, 0);
  lua_rawseti(L, -2, k + 1);
  lua_pushboolean(L, 0);
  lua_rawseti(L, -2, k + 2);
  size_t nx, ny;
  sclb_table *cx, *cy;
  const double *x = sclb_pin_numbers(L, 2, &nx, &cx);
  if (!x) { /* closed, or strings: the usual messages */
    lua_pop(L, 1);
    return 0;
  }
  const double *y = sclb_pin_numbers(L, 3, &ny, &cy);
  if (!y || nx != ny) {
    sclb_unpin(cx);
    if (y) sclb_unpin(cy);
    lua_pop(L, 1);
    return 0;
  }
  if (scl_chart_add_line_ref(u->c, x, y, nx, s, legend) != SCL_OK) {
    sclb_unpin(cx);
    sclb_unpin(cy);
    return sclb_fail(L, sclb_ctx(L));
  }
  lua_pushvalue(L, 2);
  lua_rawseti(L, -2, k + 1); /* existing slots: no allocation */
  lua_pushvalue(L, 3);
  lua_rawseti(L, -2, k + 2);
  lua_pop(L, 1);
  return 1;
}

/* chart:line(x, y [, style [, legend]]) -> chart */
static int ch_line(lua_State *L) {
  sclb_chart *u = checkchart(L, 1);
  scl_style s;
  tostyle(L, 4, &s, 1);
  const char *legend = luaL_optstring(L, 5, NULL);
  lua_settop(L, 5);
  if (!line_ref(L, u, &s, legend)) {
    size_t nx, ny;
    const double *x = sclb_checkvector(L, 2, &nx, "x");
    const double *y = sclb_checkvector(L, 3, &ny, "y");
    if (nx != ny)
      return luaL_error(L, "line: x has %d values, y has %d", (int)nx,
                        (int)ny);
    check_rc(L, sclb_ctx(L), scl_chart_add_line(u->c, x, y, nx, &s, legend));
  }
  lua_settop(L, 1);
  return 1;
}

/* chart:band(x, lo, hi [, style [, legend]]) -> chart; alpha 0.25 unless
 * the style says otherwise. */
static int ch_band(lua_State *L) {
  sclb_chart *u = checkchart(L, 1);
  scl_style s;
  tostyle(L, 5, &s, 0.25);
  const char *legend = luaL_optstring(L, 6, NULL);
  lua_settop(L, 6);
  size_t nx, nl, nh;
  const double *x = sclb_checkvector(L, 2, &nx, "x");
  const double *lo = sclb_checkvector(L, 3, &nl, "lo");
  const double *hi = sclb_checkvector(L, 4, &nh, "hi");
  if (nx != nl || nx != nh)
    return luaL_error(L, "band: x, lo and hi have %d, %d and %d values",
                      (int)nx, (int)nl, (int)nh);
  check_rc(L, sclb_ctx(L),
           scl_chart_add_band(u->c, x, lo, hi, nx, &s, legend));
  lua_settop(L, 1);
  return 1;
}

/* An integer field of the options table (or def when absent). */
static int opt_int(lua_State *L, int idx, const char *k, int def) {
  double v = opt_number(L, idx, k, "render");
  if (isnan(v)) return def;
  if (v != floor(v) || v < 1 || v > 1000)
    luaL_error(L, "render: field '%s' must be a positive integer", k);
  return (int)v;
}

/*
 * render(charts, {width=, height=, dpi=, rows=, cols=, font=, title=}, path)
 *   charts: a Chart or an array of Charts (panels, row by row).
 *   width/height in inches.  Without rows/cols the panels go in one row.
 */
static int l_render(lua_State *L) {
  scl_ctx *ctx = sclb_ctx(L);
  const char *path = luaL_checkstring(L, 3);
  scl_figure_opts o;
  scl_figure_opts_init(&o);
  size_t np;
  scl_chart **panels;
  if (luaL_testudata(L, 1, SCLB_CHART)) {
    np = 1;
    panels = lua_newuserdatauv(L, sizeof *panels, 0);
    panels[0] = checkchart(L, 1)->c;
  } else {
    luaL_checktype(L, 1, LUA_TTABLE);
    np = (size_t)luaL_len(L, 1);
    if (np == 0) luaL_argerror(L, 1, "no charts");
    panels = lua_newuserdatauv(L, np * sizeof *panels, 0);
    for (size_t i = 0; i < np; i++) {
      lua_geti(L, 1, (lua_Integer)i + 1);
      sclb_chart *u = luaL_testudata(L, -1, SCLB_CHART);
      if (!u || !u->c)
        luaL_error(L, "render: charts[%d] is not an open chart", (int)i + 1);
      panels[i] = u->c;
      lua_pop(L, 1); /* the array keeps it alive */
    }
  }
  int has_grid = 0;
  if (!lua_isnoneornil(L, 2)) {
    luaL_checktype(L, 2, LUA_TTABLE);
    static const char *const keys[] = {"width", "height", "dpi", "rows",
                                       "cols",  "font",   "title", NULL};
    check_keys(L, 2, keys, "render options");
    double v;
    if (!isnan(v = opt_number(L, 2, "width", "render"))) o.width_in = v;
    if (!isnan(v = opt_number(L, 2, "height", "render"))) o.height_in = v;
    if (!isnan(v = opt_number(L, 2, "dpi", "render"))) o.dpi = v;
    if (!isnan(v = opt_number(L, 2, "font", "render"))) o.font_pt = v;
    o.rows = opt_int(L, 2, "rows", 0);
    o.cols = opt_int(L, 2, "cols", 0);
    has_grid = o.rows || o.cols;
    if (lua_getfield(L, 2, "title") != LUA_TNIL) {
      if (!lua_isstring(L, -1))
        luaL_error(L, "render: field 'title' must be a string");
      o.title = lua_tostring(L, -1); /* kept on the stack */
    }
  }
  if (!has_grid) {
    o.rows = 1;
    o.cols = (int)np;
  } else if (!o.rows) {
    o.rows = (int)((np + (size_t)o.cols - 1) / (size_t)o.cols);
  } else if (!o.cols) {
    o.cols = (int)((np + (size_t)o.rows - 1) / (size_t)o.rows);
  }
  if (scl_render(ctx, panels, np, &o, path) != SCL_OK)
    return sclb_fail(L, ctx);
  lua_pushstring(L, path);
  return 1;
}

/* ticks(lo, hi [, log]) -> {{value=, major=, label=}, ...}; label only on
 * labelled ticks (PLplot text such as "2#(727)10#u0#d"). */
static int l_ticks(lua_State *L) {
  scl_ctx *ctx = sclb_ctx(L);
  double lo = luaL_checknumber(L, 1), hi = luaL_checknumber(L, 2);
  int log = lua_toboolean(L, 3);
  scl_tick *t = lua_newuserdatauv(L, SCL_TICKS_MAX * sizeof *t, 0);
  size_t n;
  if (scl_ticks(ctx, lo, hi, log, t, SCL_TICKS_MAX, &n) != SCL_OK)
    return sclb_fail(L, ctx);
  lua_createtable(L, (int)n, 0);
  for (size_t i = 0; i < n; i++) {
    lua_createtable(L, 0, 3);
    lua_pushnumber(L, t[i].value);
    lua_setfield(L, -2, "value");
    lua_pushboolean(L, t[i].major);
    lua_setfield(L, -2, "major");
    if (t[i].labelled) {
      lua_pushstring(L, t[i].label);
      lua_setfield(L, -2, "label");
    }
    lua_rawseti(L, -2, (lua_Integer)i + 1);
  }
  return 1;
}

static int ch_tostring(lua_State *L) {
  sclb_chart *u = luaL_checkudata(L, 1, SCLB_CHART);
  if (!u->c)
    lua_pushstring(L, "Chart (closed)");
  else
    lua_pushfstring(L, "Chart: %p", (void *)u->c);
  return 1;
}

static const luaL_Reg methods[] = {
    {"title", ch_title}, {"axis", ch_axis}, {"legend", ch_legend},
    {"line", ch_line},   {"band", ch_band}, {NULL, NULL}};

static const luaL_Reg funcs[] = {
    {"chart", l_chart}, {"render", l_render}, {"ticks", l_ticks},
    {NULL, NULL}};

void sclb_open_chart(lua_State *L) {
  if (luaL_newmetatable(L, SCLB_CHART)) {
    lua_pushcfunction(L, ch_gc);
    lua_setfield(L, -2, "__gc");
    lua_pushcfunction(L, ch_gc);
    lua_setfield(L, -2, "__close");
    lua_pushcfunction(L, ch_tostring);
    lua_setfield(L, -2, "__tostring");
    luaL_newlib(L, methods);
    lua_setfield(L, -2, "__index");
  }
  lua_pop(L, 1);
  luaL_setfuncs(L, funcs, 0);
}
