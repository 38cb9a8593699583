/*
 * l_fit.c -- Lua binding of the fits, crossovers and compute ratios.
 *
 * A fit comes back as a plain Lua table (fields per kind, see below) with
 * metatable SCLB_FIT, whose `predict` field is a closure.  The scl_fit
 * itself lives in a small handle userdata that is the closure's first
 * upvalue, so it is freed with the closure and crossover()/compute_ratio()
 * can find it again from the table.
 *
 * Memory: the handle is created before the fit is computed, so the fit
 * belongs to Lua the moment it exists.  The NLS model callback calls the
 * Lua model inside lua_pcall (a protected C function does all the Lua
 * work), so an error in the model never unwinds through the core: it comes
 * back to it as SCL_ECALLBACK with the Lua message.
 */
#include "bind.h"

#include <math.h>
#include <string.h>

#define FIT_HANDLE "scalelua.FitHandle"

typedef struct {
  scl_fit *f;
  scl_ctx *ctx;
} fit_handle;

static int handle_gc(lua_State *L) {
  fit_handle *h = luaL_checkudata(L, 1, FIT_HANDLE);
  if (h->f) {
    scl_fit_free(h->ctx, h->f);
    h->f = NULL;
  }
  return 0;
}

static fit_handle *new_handle(lua_State *L) {
  fit_handle *h = lua_newuserdatauv(L, sizeof *h, 0);
  h->f = NULL;
  h->ctx = sclb_ctx(L);
  luaL_setmetatable(L, FIT_HANDLE);
  return h;
}

/* ------------------------------------------------------------ options */

/* Parsed fit options; vectors point into values kept on the Lua stack. */
typedef struct {
  scl_fit_opts o;
  size_t nweights, nstart, nlower, nupper;
} fit_opts;

static const char *const OPT_NAMES[] = {
    "weights", "method", "start", "lower", "upper", "max_iter", "tol",
    "bootstrap", "seed", "level", "delta", NULL};

/*
 * A parameter vector option (start, lower, upper): an array, or a table
 * keyed by parameter names ({E = 0}); missing entries are NaN (no bound).
 */
static const double *param_vector(lua_State *L, int idx, const char *what,
                                  const char *const *names, size_t np,
                                  int need_all, size_t *n) {
  idx = lua_absindex(L, idx);
  if (lua_type(L, idx) != LUA_TTABLE || !names)
    return sclb_checkvector(L, idx, n, what);
  size_t len = (size_t)luaL_len(L, idx);
  size_t m = len > np ? len : np;
  double *v = lua_newuserdatauv(L, (m ? m : 1) * sizeof *v, 0);
  for (size_t j = 0; j < m; j++) {
    int t = lua_geti(L, idx, (lua_Integer)j + 1);
    if (t == LUA_TNIL && j < np) t = lua_getfield(L, idx, names[j]);
    if (t == LUA_TNIL && need_all && j < np) {
      luaL_error(L, "%s: no value for parameter '%s'", what, names[j]);
    } else if (t == LUA_TNIL) {
      v[j] = NAN;
    } else if (t == LUA_TNUMBER) {
      v[j] = lua_tonumber(L, -1);
    } else {
      luaL_error(L, "%s[%s]: expected a number, got %s", what,
                 j < np ? names[j] : "?", lua_typename(L, t));
    }
    lua_pop(L, 1);
    if (t == LUA_TNIL && j >= np) break;
  }
  /* a name that is not a parameter is a typo worth reporting */
  lua_pushnil(L);
  while (lua_next(L, idx)) {
    lua_pop(L, 1);
    if (lua_type(L, -1) != LUA_TSTRING) continue;
    const char *k = lua_tostring(L, -1);
    size_t j = 0;
    while (j < np && strcmp(names[j], k) != 0) j++;
    if (j == np) luaL_error(L, "%s: no parameter named '%s'", what, k);
  }
  *n = m;
  return v;
}

static int is_opt(const char *k) {
  for (int i = 0; OPT_NAMES[i]; i++)
    if (strcmp(OPT_NAMES[i], k) == 0) return 1;
  return 0;
}

static double opt_number(lua_State *L, const char *fn, const char *k) {
  if (lua_type(L, -1) != LUA_TNUMBER)
    luaL_error(L, "%s: option '%s' must be a number, got %s", fn, k,
               luaL_typename(L, -1));
  return lua_tonumber(L, -1);
}

static lua_Integer opt_integer(lua_State *L, const char *fn, const char *k,
                               lua_Integer min) {
  if (!lua_isinteger(L, -1) && !(lua_type(L, -1) == LUA_TNUMBER &&
                                 lua_tonumber(L, -1) ==
                                     floor(lua_tonumber(L, -1))))
    luaL_error(L, "%s: option '%s' must be an integer, got %s", fn, k,
               luaL_typename(L, -1));
  lua_Integer v = (lua_Integer)lua_tonumber(L, -1);
  if (v < min) luaL_error(L, "%s: option '%s' = %d must be >= %d", fn, k,
                          (int)v, (int)min);
  return v;
}

/*
 * Read the options of table idx (nil: defaults).  Keys listed in `data`
 * belong to the caller (x, y, model...); any other key that is not an
 * option is an error naming it.  Vectors stay referenced by the table.
 */
static void check_opts(lua_State *L, int idx, const char *fn,
                       const char *const *data, const char *const *pnames,
                       size_t np, fit_opts *fo) {
  memset(fo, 0, sizeof *fo);
  scl_fit_opts_init(&fo->o);
  if (lua_isnoneornil(L, idx)) return;
  idx = lua_absindex(L, idx);
  if (lua_type(L, idx) != LUA_TTABLE)
    luaL_error(L, "%s: options must be a table, got %s", fn,
               luaL_typename(L, idx));
  lua_pushnil(L);
  while (lua_next(L, idx)) {
    if (lua_type(L, -2) != LUA_TSTRING)
      luaL_error(L, "%s: option keys must be names, got a %s", fn,
                 luaL_typename(L, -2));
    const char *k = lua_tostring(L, -2);
    int known = is_opt(k);
    for (int i = 0; data && data[i] && !known; i++)
      known = strcmp(data[i], k) == 0;
    if (!known) luaL_error(L, "%s: unknown option '%s'", fn, k);
    lua_pop(L, 1);
  }
  int top = lua_gettop(L);
  /* vectors are read last and left on the stack (they must stay alive) */
  if (lua_getfield(L, idx, "method") != LUA_TNIL) {
    const char *m = lua_tostring(L, -1);
    if (lua_type(L, -1) != LUA_TSTRING || (strcmp(m, "log") && strcmp(m, "nls")))
      luaL_error(L, "%s: option 'method' must be \"log\" or \"nls\"", fn);
    fo->o.method = strcmp(m, "nls") == 0 ? SCL_METHOD_NLS : SCL_METHOD_LOG;
  }
  lua_settop(L, top);
  if (lua_getfield(L, idx, "max_iter") != LUA_TNIL)
    fo->o.max_iter = (int)opt_integer(L, fn, "max_iter", 1);
  lua_settop(L, top);
  if (lua_getfield(L, idx, "tol") != LUA_TNIL) {
    fo->o.tol = opt_number(L, fn, "tol");
    if (!(fo->o.tol > 0)) luaL_error(L, "%s: option 'tol' must be > 0", fn);
  }
  lua_settop(L, top);
  if (lua_getfield(L, idx, "bootstrap") != LUA_TNIL)
    fo->o.bootstrap = (size_t)opt_integer(L, fn, "bootstrap", 0);
  lua_settop(L, top);
  if (lua_getfield(L, idx, "seed") != LUA_TNIL)
    fo->o.seed = (uint64_t)opt_integer(L, fn, "seed", 0);
  lua_settop(L, top);
  if (lua_getfield(L, idx, "level") != LUA_TNIL) {
    fo->o.level = opt_number(L, fn, "level");
    if (!(fo->o.level > 0 && fo->o.level < 1))
      luaL_error(L, "%s: option 'level' must be between 0 and 1", fn);
  }
  lua_settop(L, top);
  if (lua_getfield(L, idx, "delta") != LUA_TNIL) {
    fo->o.delta = opt_number(L, fn, "delta");
    if (!(fo->o.delta > 0)) luaL_error(L, "%s: option 'delta' must be > 0", fn);
  }
  lua_settop(L, top);
  char what[64];
  if (lua_getfield(L, idx, "weights") != LUA_TNIL) {
    snprintf(what, sizeof what, "%s: weights", fn);
    fo->o.weights = sclb_checkvector(L, -1, &fo->nweights, what);
  }
  if (lua_getfield(L, idx, "start") != LUA_TNIL) {
    snprintf(what, sizeof what, "%s: start", fn);
    fo->o.start = param_vector(L, -1, what, pnames, np, 1, &fo->nstart);
  }
  if (lua_getfield(L, idx, "lower") != LUA_TNIL) {
    snprintf(what, sizeof what, "%s: lower", fn);
    fo->o.lower = param_vector(L, -1, what, pnames, np, 0, &fo->nlower);
  }
  if (lua_getfield(L, idx, "upper") != LUA_TNIL) {
    snprintf(what, sizeof what, "%s: upper", fn);
    fo->o.upper = param_vector(L, -1, what, pnames, np, 0, &fo->nupper);
  }
}

/* The vector options must match the data and the parameters. */
static void check_sizes(lua_State *L, const char *fn, const fit_opts *fo,
                        size_t n, size_t np) {
  if (fo->o.weights && fo->nweights != n)
    luaL_error(L, "%s: weights has %d values for %d observations", fn,
               (int)fo->nweights, (int)n);
  if (fo->o.start && fo->nstart != np)
    luaL_error(L, "%s: start has %d values for %d parameters", fn,
               (int)fo->nstart, (int)np);
  if (fo->o.lower && fo->nlower != np)
    luaL_error(L, "%s: lower has %d values for %d parameters", fn,
               (int)fo->nlower, (int)np);
  if (fo->o.upper && fo->nupper != np)
    luaL_error(L, "%s: upper has %d values for %d parameters", fn,
               (int)fo->nupper, (int)np);
}

/* --------------------------------------------------------- result table */

static void setnum(lua_State *L, const char *k, double v) {
  lua_pushnumber(L, v);
  lua_setfield(L, -2, k);
}

static void push_interval(lua_State *L, const scl_fit *f, size_t j) {
  lua_createtable(L, 2, 0);
  lua_pushnumber(L, f->ci_lo[j]);
  lua_rawseti(L, -2, 1);
  lua_pushnumber(L, f->ci_hi[j]);
  lua_rawseti(L, -2, 2);
}

static int predict(lua_State *L);

/*
 * Build the result table for the fit in handle h (at index hidx).  Named
 * kinds get their parameters as fields; nls/linear/poly as arrays.  The
 * predict closure's upvalues: the handle and, for NLS, the model function
 * and the number of predictors.
 */
static void push_result(lua_State *L, int hidx, int model_idx, size_t k) {
  hidx = lua_absindex(L, hidx);
  const scl_fit *f = ((fit_handle *)lua_touserdata(L, hidx))->f;
  int named = f->kind == SCL_FIT_POWERLAW || f->kind == SCL_FIT_SATURATING ||
              f->kind == SCL_FIT_CHINCHILLA;
  lua_createtable(L, 0, 16);
  lua_pushstring(L, scl_fit_kind_name(f->kind));
  lua_setfield(L, -2, "kind");
  const char *arr = f->kind == SCL_FIT_NLS ? "params" : "coef";
  if (named) {
    for (size_t j = 0; j < f->nparams; j++) setnum(L, f->names[j], f->params[j]);
  } else {
    sclb_pushnumbers(L, f->params, f->nparams);
    lua_setfield(L, -2, arr);
  }
  /* standard errors: Chinchilla has none (use the bootstrap) */
  int have_se = 0;
  for (size_t j = 0; j < f->nparams; j++) have_se |= !isnan(f->se[j]);
  if (have_se || f->kind != SCL_FIT_CHINCHILLA) {
    if (named) {
      lua_createtable(L, 0, (int)f->nparams);
      for (size_t j = 0; j < f->nparams; j++) setnum(L, f->names[j], f->se[j]);
    } else {
      sclb_pushnumbers(L, f->se, f->nparams);
    }
    lua_setfield(L, -2, "stderr");
  }
  if (f->ci_lo) {
    lua_createtable(L, named ? 0 : (int)f->nparams, named ? (int)f->nparams : 0);
    for (size_t j = 0; j < f->nparams; j++) {
      push_interval(L, f, j);
      if (named) lua_setfield(L, -2, f->names[j]);
      else lua_rawseti(L, -2, (lua_Integer)j + 1);
    }
    lua_setfield(L, -2, "ci");
  }
  if (f->kind == SCL_FIT_CHINCHILLA) {
    setnum(L, "a", f->extra[0]);
    setnum(L, "b", f->extra[1]);
  }
  if (f->kind == SCL_FIT_LINEAR) {
    lua_pushboolean(L, f->extra[0] == 1);
    lua_setfield(L, -2, "intercept");
  }
  setnum(L, "rss", f->rss);
  if (!isnan(f->r2)) setnum(L, "r2", f->r2);
  lua_pushinteger(L, (lua_Integer)f->n);
  lua_setfield(L, -2, "n");
  lua_pushinteger(L, f->iterations);
  lua_setfield(L, -2, "iterations");
  lua_pushboolean(L, f->converged);
  lua_setfield(L, -2, "converged");
  lua_pushstring(L, f->reason);
  lua_setfield(L, -2, "reason");
  lua_pushvalue(L, hidx);
  if (model_idx) lua_pushvalue(L, model_idx);
  else lua_pushnil(L);
  lua_pushinteger(L, (lua_Integer)k);
  lua_pushcclosure(L, predict, 3);
  lua_setfield(L, -2, "predict");
  luaL_setmetatable(L, SCLB_FIT);
}

/* The scl_fit behind a result table (or a raised argument error). */
static const scl_fit *checkfit(lua_State *L, int idx) {
  idx = lua_absindex(L, idx);
  if (lua_type(L, idx) == LUA_TTABLE &&
      lua_getfield(L, idx, "predict") == LUA_TFUNCTION &&
      lua_getupvalue(L, -1, 1)) {
    fit_handle *h = luaL_testudata(L, -1, FIT_HANDLE);
    lua_pop(L, 2);
    if (h && h->f) return h->f;
  }
  luaL_argerror(L, idx, "expected a fit (the result of a scalelua fit)");
  return NULL;
}

/* ---------------------------------------------------------------- predict */

/* The kind of a predict argument, to give back the same kind. */
enum { ARG_NUMBER, ARG_ARRAY, ARG_COLUMN };

static int arg_kind(lua_State *L, int idx) {
  if (lua_type(L, idx) == LUA_TNUMBER) return ARG_NUMBER;
  if (luaL_testudata(L, idx, SCLB_COLUMN)) return ARG_COLUMN;
  return ARG_ARRAY;
}

/* Push v[0..n) as the kind given (a Column is a new one-column table). */
static void push_like(lua_State *L, int kind, const double *v, size_t n) {
  if (kind == ARG_NUMBER) {
    lua_pushnumber(L, v[0]);
  } else if (kind == ARG_ARRAY) {
    sclb_pushnumbers(L, v, n);
  } else {
    scl_ctx *ctx = sclb_ctx(L);
    sclb_table *u = lua_newuserdatauv(L, sizeof *u, 0);
    *u = (sclb_table){NULL, NULL, 0};
    luaL_setmetatable(L, SCLB_COLUMN);
    if (scl_table_new(ctx, &u->t) != SCL_OK ||
        scl_table_set_numbers(u->t, "predict", v, n) != SCL_OK)
      sclb_fail(L, ctx);
  }
}

/* NLS: the Lua model at each x; upvalue 2 is the model, 3 the predictors */
static int predict_nls(lua_State *L, const scl_fit *f) {
  lua_Integer k = lua_tointeger(L, lua_upvalueindex(3));
  int kind = arg_kind(L, 1);
  int single = kind == ARG_NUMBER ||
               (k > 1 && kind == ARG_ARRAY && lua_geti(L, 1, 1) == LUA_TNUMBER);
  lua_settop(L, 1);
  sclb_pushnumbers(L, f->params, f->nparams);
  int p = lua_gettop(L);
  if (single) {
    lua_pushvalue(L, lua_upvalueindex(2));
    lua_pushvalue(L, p);
    lua_pushvalue(L, 1);
    lua_call(L, 2, 1);
    if (lua_type(L, -1) != LUA_TNUMBER)
      luaL_error(L, "predict: the model returned a %s", luaL_typename(L, -1));
    return 1;
  }
  size_t n = 0;
  const double *x = NULL;
  const double **cols = NULL;
  if (k == 1) {
    x = sclb_checkvector(L, 1, &n, "predict: x");
  } else {
    if (lua_type(L, 1) != LUA_TTABLE || luaL_len(L, 1) != k)
      luaL_error(L, "predict: want %d predictor columns", (int)k);
    cols = lua_newuserdatauv(L, (size_t)k * sizeof *cols, 0);
    for (lua_Integer c = 0; c < k; c++) {
      size_t m;
      lua_geti(L, 1, c + 1);
      cols[c] = sclb_checkvector(L, -1, &m, "predict: x");
      if (c > 0 && m != n) luaL_error(L, "predict: columns differ in length");
      n = m;
    }
    kind = ARG_ARRAY;
  }
  double *out = lua_newuserdatauv(L, (n ? n : 1) * sizeof *out, 0);
  for (size_t i = 0; i < n; i++) {
    lua_pushvalue(L, lua_upvalueindex(2));
    lua_pushvalue(L, p);
    if (k == 1) {
      lua_pushnumber(L, x[i]);
    } else {
      lua_createtable(L, (int)k, 0);
      for (lua_Integer c = 0; c < k; c++) {
        lua_pushnumber(L, cols[c][i]);
        lua_rawseti(L, -2, c + 1);
      }
    }
    lua_call(L, 2, 1);
    if (lua_type(L, -1) != LUA_TNUMBER)
      luaL_error(L, "predict: the model returned a %s for observation %d",
                 luaL_typename(L, -1), (int)i + 1);
    out[i] = lua_tonumber(L, -1);
    lua_pop(L, 1);
  }
  push_like(L, kind, out, n);
  return 1;
}

/*
 * predict(x) -> y: a number, an array or a Column, returning the same
 * kind.  Chinchilla: predict(N, D); a linear fit of k columns takes k
 * arguments.  Scalars broadcast against vectors.
 */
static int predict(lua_State *L) {
  fit_handle *h = lua_touserdata(L, lua_upvalueindex(1));
  const scl_fit *f = h ? h->f : NULL;
  if (!f) return luaL_error(L, "predict: the fit has been freed");
  if (f->kind == SCL_FIT_NLS) return predict_nls(L, f);
  int nargs = f->kind == SCL_FIT_CHINCHILLA ? 2
              : f->kind == SCL_FIT_LINEAR
                  ? (int)f->nparams - (f->extra[0] == 1)
                  : 1;
  if (nargs < 1) nargs = 1;
  if (lua_gettop(L) < nargs)
    return luaL_error(L, "predict: want %d argument%s, got %d", nargs,
                      nargs == 1 ? "" : "s", lua_gettop(L));
  lua_settop(L, nargs);
  luaL_checkstack(L, nargs + 8, "predict");
  const double *v[16];
  size_t len[16], n = 1;
  int kind = ARG_NUMBER;
  if (nargs > 16) return luaL_error(L, "predict: too many predictors");
  for (int a = 0; a < nargs; a++) {
    int ka = arg_kind(L, a + 1);
    if (ka != ARG_NUMBER && kind == ARG_NUMBER) kind = ka;
    v[a] = sclb_checkvector(L, a + 1, &len[a], "predict: x");
    if (len[a] != 1) {
      if (n != 1 && len[a] != n)
        return luaL_error(L, "predict: arguments of %d and %d values",
                          (int)n, (int)len[a]);
      n = len[a];
    }
  }
  double *out = lua_newuserdatauv(L, (n ? n : 1) * sizeof *out, 0);
  double row[16];
  for (size_t i = 0; i < n; i++) {
    for (int a = 0; a < nargs; a++) row[a] = v[a][len[a] == 1 ? 0 : i];
    out[i] = scl_fit_predictn(f, row, (size_t)nargs);
  }
  push_like(L, kind, out, n);
  return 1;
}

/* ------------------------------------------------------------ tostring */

/* "L = 1.546 x C^-0.108" and friends; yname/xname fields rename L, C. */
static int fit_tostring(lua_State *L) {
  const scl_fit *f = checkfit(L, 1);
  const char *yn = "L", *xn = "C";
  if (lua_getfield(L, 1, "yname") == LUA_TSTRING) yn = lua_tostring(L, -1);
  if (lua_getfield(L, 1, "xname") == LUA_TSTRING) xn = lua_tostring(L, -1);
  const double *p = f->params;
  luaL_Buffer b;
  luaL_buffinit(L, &b);
  switch (f->kind) {
  case SCL_FIT_POWERLAW: {
    char s[160];
    snprintf(s, sizeof s, "%s = %.4g x %s^%.4g", yn, p[0], xn, p[1]);
    luaL_addstring(&b, s);
    break;
  }
  case SCL_FIT_SATURATING: {
    char s[200];
    snprintf(s, sizeof s, "%s = %.4g %s %.4g x %s^%.4g", yn, p[0],
             p[1] < 0 ? "-" : "+", fabs(p[1]), xn, p[2]);
    luaL_addstring(&b, s);
    break;
  }
  case SCL_FIT_CHINCHILLA: {
    char s[200];
    snprintf(s, sizeof s, "%s = %.4g + %.4g / N^%.4g + %.4g / D^%.4g", yn,
             p[0], p[1], p[3], p[2], p[4]);
    luaL_addstring(&b, s);
    break;
  }
  case SCL_FIT_LINEAR:
  case SCL_FIT_POLY: {
    int icpt = f->kind == SCL_FIT_POLY || f->extra[0] == 1;
    char s[96];
    snprintf(s, sizeof s, "y = ");
    luaL_addstring(&b, s);
    for (size_t j = 0; j < f->nparams; j++) {
      double c = p[j];
      const char *sign = j == 0 ? (c < 0 ? "-" : "") : (c < 0 ? " - " : " + ");
      size_t idx = icpt ? j : j + 1;
      if (f->kind == SCL_FIT_POLY)
        snprintf(s, sizeof s, idx == 0 ? "%s%.4g" : idx == 1 ? "%s%.4g x"
                                                             : "%s%.4g x^%zu",
                 sign, fabs(c), idx);
      else
        snprintf(s, sizeof s, idx == 0 ? "%s%.4g" : "%s%.4g x%zu", sign,
                 fabs(c), idx);
      luaL_addstring(&b, s);
    }
    break;
  }
  case SCL_FIT_NLS: {
    char s[64];
    luaL_addstring(&b, "nls: p = {");
    for (size_t j = 0; j < f->nparams; j++) {
      snprintf(s, sizeof s, "%s%.6g", j ? ", " : "", p[j]);
      luaL_addstring(&b, s);
    }
    snprintf(s, sizeof s, "}, rss %.4g%s", f->rss,
             f->converged ? "" : " (not converged)");
    luaL_addstring(&b, s);
    break;
  }
  }
  luaL_pushresult(&b);
  return 1;
}

/* ---------------------------------------------------------------- fits */

/* Two vectors of equal length at x_idx, y_idx. */
static size_t check_xy(lua_State *L, int xi, int yi, const double **x,
                       const double **y, const char *fn) {
  size_t nx, ny;
  char what[64];
  snprintf(what, sizeof what, "%s: x", fn);
  *x = sclb_checkvector(L, xi, &nx, what);
  snprintf(what, sizeof what, "%s: y", fn);
  *y = sclb_checkvector(L, yi, &ny, what);
  if (nx != ny)
    luaL_error(L, "%s: x has %d values, y has %d", fn, (int)nx, (int)ny);
  return nx;
}

static const char *const POWERLAW_NAMES[] = {"a", "b"};
static const char *const SATURATING_NAMES[] = {"E", "a", "b"};
static const char *const CHINCHILLA_NAMES[] = {"E", "A", "B", "alpha",
                                               "beta"};

/* fit_powerlaw(x, y [, opts]) / fit_saturating(x, y [, opts]) */
static int law_fit(lua_State *L, int saturating) {
  const char *fn = saturating ? "fit_saturating" : "fit_powerlaw";
  scl_ctx *ctx = sclb_ctx(L);
  const double *x, *y;
  lua_settop(L, 3); /* vectors get pushed above the arguments */
  size_t n = check_xy(L, 1, 2, &x, &y, fn);
  fit_opts fo;
  size_t np = saturating ? 3 : 2;
  check_opts(L, 3, fn, NULL, saturating ? SATURATING_NAMES : POWERLAW_NAMES,
             np, &fo);
  check_sizes(L, fn, &fo, n, np);
  fit_handle *h = new_handle(L);
  int hidx = lua_gettop(L);
  int rc = saturating ? scl_fit_saturating(ctx, x, y, n, &fo.o, &h->f)
                      : scl_fit_powerlaw(ctx, x, y, n, &fo.o, &h->f);
  if (rc != SCL_OK) return sclb_fail(L, ctx);
  push_result(L, hidx, 0, 1);
  return 1;
}

static int l_fit_powerlaw(lua_State *L) { return law_fit(L, 0); }
static int l_fit_saturating(lua_State *L) { return law_fit(L, 1); }

/* fit_poly(x, y, degree [, opts]) */
static int l_fit_poly(lua_State *L) {
  scl_ctx *ctx = sclb_ctx(L);
  const double *x, *y;
  lua_settop(L, 4);
  size_t n = check_xy(L, 1, 2, &x, &y, "fit_poly");
  lua_Integer deg = luaL_checkinteger(L, 3);
  luaL_argcheck(L, deg >= 0 && deg <= 50, 3, "degree must be 0..50");
  fit_opts fo;
  check_opts(L, 4, "fit_poly", NULL, NULL, (size_t)deg + 1, &fo);
  check_sizes(L, "fit_poly", &fo, n, (size_t)deg + 1);
  fit_handle *h = new_handle(L);
  int hidx = lua_gettop(L);
  if (scl_fit_poly(ctx, x, y, n, (int)deg, &fo.o, &h->f) != SCL_OK)
    return sclb_fail(L, ctx);
  push_result(L, hidx, 0, 1);
  return 1;
}

/* A required field of the spec table at index 1, left on the stack. */
static int need_field(lua_State *L, const char *fn, const char *k) {
  if (lua_getfield(L, 1, k) == LUA_TNIL)
    luaL_error(L, "%s: field '%s' is required", fn, k);
  return lua_gettop(L);
}

/* fit_linear{X = {col, ...} | col, y = , intercept = true, ...opts} */
static int l_fit_linear(lua_State *L) {
  static const char *const data[] = {"X", "y", "intercept", NULL};
  const char *fn = "fit_linear";
  scl_ctx *ctx = sclb_ctx(L);
  luaL_checktype(L, 1, LUA_TTABLE);
  lua_settop(L, 1);
  int xi = need_field(L, fn, "X");
  int yi = need_field(L, fn, "y");
  int icpt = 1;
  if (lua_getfield(L, 1, "intercept") != LUA_TNIL) {
    if (!lua_isboolean(L, -1))
      luaL_error(L, "%s: field 'intercept' must be a boolean", fn);
    icpt = lua_toboolean(L, -1);
  }
  size_t n;
  const double *y = sclb_checkvector(L, yi, &n, "fit_linear: y");
  /* X: one column (a Column or an array of numbers) or an array of them */
  size_t k = 1;
  int single = luaL_testudata(L, xi, SCLB_COLUMN) != NULL;
  if (!single) {
    if (lua_type(L, xi) != LUA_TTABLE)
      luaL_error(L, "%s: X must be a column or an array of columns", fn);
    single = lua_geti(L, xi, 1) == LUA_TNUMBER;
    lua_pop(L, 1);
    if (!single) k = (size_t)luaL_len(L, xi);
  }
  const double **cols = lua_newuserdatauv(L, (k ? k : 1) * sizeof *cols, 0);
  for (size_t c = 0; c < k; c++) {
    size_t m;
    char what[48];
    snprintf(what, sizeof what, "fit_linear: X[%d]", (int)c + 1);
    if (single) {
      cols[c] = sclb_checkvector(L, xi, &m, what);
    } else {
      lua_geti(L, xi, (lua_Integer)c + 1);
      cols[c] = sclb_checkvector(L, -1, &m, what);
    }
    if (m != n)
      luaL_error(L, "%s: X[%d] has %d values, y has %d", fn, (int)c + 1,
                 (int)m, (int)n);
  }
  size_t np = k + (size_t)icpt;
  fit_opts fo;
  check_opts(L, 1, fn, data, NULL, np, &fo);
  check_sizes(L, fn, &fo, n, np);
  fit_handle *h = new_handle(L);
  int hidx = lua_gettop(L);
  if (scl_fit_linear(ctx, cols, k, y, n, icpt, &fo.o, &h->f) != SCL_OK)
    return sclb_fail(L, ctx);
  push_result(L, hidx, 0, k);
  return 1;
}

/* fit_chinchilla{N = , D = , loss = , delta = 1e-3, ...opts} */
static int l_fit_chinchilla(lua_State *L) {
  static const char *const data[] = {"N", "D", "loss", NULL};
  const char *fn = "fit_chinchilla";
  scl_ctx *ctx = sclb_ctx(L);
  luaL_checktype(L, 1, LUA_TTABLE);
  lua_settop(L, 1);
  size_t nN, nD, nL;
  const double *N = sclb_checkvector(L, need_field(L, fn, "N"), &nN,
                                     "fit_chinchilla: N");
  const double *D = sclb_checkvector(L, need_field(L, fn, "D"), &nD,
                                     "fit_chinchilla: D");
  const double *loss = sclb_checkvector(L, need_field(L, fn, "loss"), &nL,
                                        "fit_chinchilla: loss");
  if (nN != nD || nN != nL)
    luaL_error(L, "%s: N, D and loss have %d, %d and %d values", fn, (int)nN,
               (int)nD, (int)nL);
  fit_opts fo;
  check_opts(L, 1, fn, data, CHINCHILLA_NAMES, 5, &fo);
  check_sizes(L, fn, &fo, nN, 5);
  fit_handle *h = new_handle(L);
  int hidx = lua_gettop(L);
  if (scl_fit_chinchilla(ctx, N, D, loss, nN, &fo.o, &h->f) != SCL_OK)
    return sclb_fail(L, ctx);
  push_result(L, hidx, 0, 2);
  return 1;
}

/* ------------------------------------------------------------------ nls */

/*
 * The Lua side of the NLS model callback.  Everything that can raise runs
 * inside nls_protected, called through lua_pcall from nls_model/nls_jac.
 */
typedef struct {
  lua_State *L;
  int model, jac;    /* stack indices of the Lua functions (jac 0: none) */
  size_t k;          /* predictors per observation */
  /* the current request */
  const double *p, *X;
  size_t np, n;
  double *out;       /* yhat (n) or J (n x np, row-major) */
  int want_jac;
} nls_cb;

/* (cb, function) -> fills cb->out from the function at each observation */
static int nls_protected(lua_State *L) {
  nls_cb *cb = lua_touserdata(L, 1);
  sclb_pushnumbers(L, cb->p, cb->np);
  int p = lua_gettop(L);
  for (size_t i = 0; i < cb->n; i++) {
    lua_pushvalue(L, 2);
    lua_pushvalue(L, p);
    if (cb->k == 1) {
      lua_pushnumber(L, cb->X[i]);
    } else {
      lua_createtable(L, (int)cb->k, 0);
      for (size_t c = 0; c < cb->k; c++) {
        lua_pushnumber(L, cb->X[i * cb->k + c]);
        lua_rawseti(L, -2, (lua_Integer)c + 1);
      }
    }
    lua_call(L, 2, 1);
    if (!cb->want_jac) {
      if (lua_type(L, -1) != LUA_TNUMBER)
        return luaL_error(L, "model returned a %s for observation %d "
                             "(want a number)",
                          luaL_typename(L, -1), (int)i + 1);
      cb->out[i] = lua_tonumber(L, -1);
    } else {
      if (lua_type(L, -1) != LUA_TTABLE)
        return luaL_error(L, "jacobian returned a %s for observation %d "
                             "(want an array of %d numbers)",
                          luaL_typename(L, -1), (int)i + 1, (int)cb->np);
      for (size_t j = 0; j < cb->np; j++) {
        if (lua_geti(L, -1, (lua_Integer)j + 1) != LUA_TNUMBER)
          return luaL_error(L, "jacobian for observation %d: entry %d is "
                               "not a number", (int)i + 1, (int)j + 1);
        cb->out[i * cb->np + j] = lua_tonumber(L, -1);
        lua_pop(L, 1);
      }
    }
    lua_pop(L, 1);
  }
  return 0;
}

static int nls_call(nls_cb *cb, scl_ctx *ctx, const double *p, size_t np,
                    const double *X, size_t n, double *out, int want_jac) {
  lua_State *L = cb->L;
  if (!lua_checkstack(L, 4))
    return scl_ctx_error(ctx, SCL_ENOMEM, "model: Lua stack overflow");
  cb->p = p;
  cb->np = np;
  cb->X = X;
  cb->n = n;
  cb->out = out;
  cb->want_jac = want_jac;
  lua_pushcfunction(L, nls_protected);
  lua_pushlightuserdata(L, cb);
  lua_pushvalue(L, want_jac ? cb->jac : cb->model);
  int st = lua_pcall(L, 2, 0, 0);
  if (st == LUA_OK) return SCL_OK;
  const char *msg = lua_tostring(L, -1);
  int code = st == LUA_ERRMEM ? SCL_ENOMEM : SCL_ECALLBACK;
  scl_ctx_error(ctx, code, "%s: %s", want_jac ? "jacobian" : "model",
                msg ? msg : "error object is not a string");
  lua_pop(L, 1);
  return code;
}

static int nls_model(void *ud, scl_ctx *ctx, const double *p, size_t np,
                     const double *X, size_t n, size_t k, double *yhat) {
  (void)k;
  return nls_call(ud, ctx, p, np, X, n, yhat, 0);
}

static int nls_jac(void *ud, scl_ctx *ctx, const double *p, size_t np,
                   const double *X, size_t n, size_t k, double *J) {
  (void)k;
  return nls_call(ud, ctx, p, np, X, n, J, 1);
}

/*
 * fit_nls{model = function(p, x) ... end, x = , y = , start = {...},
 *         jacobian = function(p, x) return {d1, d2, ...} end, ...opts}
 * x: a Column or array (one predictor), or an array of them (several).
 */
static int l_fit_nls(lua_State *L) {
  static const char *const data[] = {"model", "x", "y", "jacobian", NULL};
  const char *fn = "fit_nls";
  scl_ctx *ctx = sclb_ctx(L);
  luaL_checktype(L, 1, LUA_TTABLE);
  lua_settop(L, 1);
  int mi = need_field(L, fn, "model");
  if (lua_type(L, mi) != LUA_TFUNCTION)
    luaL_error(L, "%s: field 'model' must be a function", fn);
  int ji = 0;
  if (lua_getfield(L, 1, "jacobian") != LUA_TNIL) {
    if (lua_type(L, -1) != LUA_TFUNCTION)
      luaL_error(L, "%s: field 'jacobian' must be a function", fn);
    ji = lua_gettop(L);
  }
  int xi = need_field(L, fn, "x");
  size_t n;
  const double *y = sclb_checkvector(L, need_field(L, fn, "y"), &n,
                                     "fit_nls: y");
  if (lua_getfield(L, 1, "start") != LUA_TTABLE)
    luaL_error(L, "%s: field 'start' (an array of numbers) is required", fn);
  lua_pop(L, 1);
  /* x: one predictor or several, copied row-major into X */
  size_t k = 1;
  int single = luaL_testudata(L, xi, SCLB_COLUMN) != NULL;
  if (!single) {
    if (lua_type(L, xi) != LUA_TTABLE)
      luaL_error(L, "%s: x must be a column, an array, or an array of them",
                 fn);
    single = lua_geti(L, xi, 1) != LUA_TTABLE &&
             !luaL_testudata(L, -1, SCLB_COLUMN);
    lua_pop(L, 1);
    if (!single) k = (size_t)luaL_len(L, xi);
  }
  if (k == 0) luaL_error(L, "%s: x has no columns", fn);
  double *X = lua_newuserdatauv(L, (n * k > 0 ? n * k : 1) * sizeof *X, 0);
  for (size_t c = 0; c < k; c++) {
    size_t m;
    const double *v;
    if (single) {
      v = sclb_checkvector(L, xi, &m, "fit_nls: x");
    } else {
      lua_geti(L, xi, (lua_Integer)c + 1);
      v = sclb_checkvector(L, -1, &m, "fit_nls: x");
    }
    if (m != n)
      luaL_error(L, "%s: x%s has %d values, y has %d", fn,
                 single ? "" : "[i]", (int)m, (int)n);
    for (size_t i = 0; i < n; i++) X[i * k + c] = v[i];
  }
  fit_opts fo;
  check_opts(L, 1, fn, data, NULL, 0, &fo);
  size_t np = fo.nstart;
  if (np == 0) luaL_error(L, "%s: start has no values", fn);
  check_sizes(L, fn, &fo, n, np);
  nls_cb cb = {L, mi, ji, k, NULL, NULL, 0, 0, NULL, 0};
  fit_handle *h = new_handle(L);
  int hidx = lua_gettop(L);
  int rc = scl_fit_nls(ctx, nls_model, ji ? nls_jac : NULL, &cb, X, n, k, y,
                       np, fo.o.start, &fo.o, &h->f);
  if (rc != SCL_OK) return sclb_fail(L, ctx);
  push_result(L, hidx, mi, k);
  return 1;
}

/* ------------------------------------------------- crossover and ratio */

/* crossover(f, g) -> x, or nil when the laws never meet */
static int l_crossover(lua_State *L) {
  scl_ctx *ctx = sclb_ctx(L);
  const scl_fit *f = checkfit(L, 1), *g = checkfit(L, 2);
  double x;
  int found;
  if (scl_crossover(ctx, f, g, &x, &found) != SCL_OK) return sclb_fail(L, ctx);
  if (found) lua_pushnumber(L, x);
  else lua_pushnil(L);
  return 1;
}

/* compute_ratio(f, g, y) -> x_f(y) / x_g(y) */
static int l_compute_ratio(lua_State *L) {
  scl_ctx *ctx = sclb_ctx(L);
  const scl_fit *f = checkfit(L, 1), *g = checkfit(L, 2);
  double y = luaL_checknumber(L, 3), r;
  luaL_argcheck(L, lua_gettop(L) == 3, 4, "want 3 arguments");
  if (scl_compute_ratio(ctx, f, g, y, &r) != SCL_OK) return sclb_fail(L, ctx);
  lua_pushnumber(L, r);
  return 1;
}

static const luaL_Reg funcs[] = {
    {"fit_powerlaw", l_fit_powerlaw},
    {"fit_saturating", l_fit_saturating},
    {"fit_nls", l_fit_nls},
    {"fit_linear", l_fit_linear},
    {"fit_poly", l_fit_poly},
    {"fit_chinchilla", l_fit_chinchilla},
    {"crossover", l_crossover},
    {"compute_ratio", l_compute_ratio},
    {NULL, NULL}};

void sclb_open_fit(lua_State *L) {
  if (luaL_newmetatable(L, FIT_HANDLE)) {
    lua_pushcfunction(L, handle_gc);
    lua_setfield(L, -2, "__gc");
    lua_pushcfunction(L, handle_gc);
    lua_setfield(L, -2, "__close");
  }
  lua_pop(L, 1);
  if (luaL_newmetatable(L, SCLB_FIT)) {
    lua_pushcfunction(L, fit_tostring);
    lua_setfield(L, -2, "__tostring");
    lua_pushliteral(L, "scalelua.Fit");
    lua_setfield(L, -2, "__name");
  }
  lua_pop(L, 1);
  luaL_setfuncs(L, funcs, 0);
}
