/*
 * l_io.c -- Lua binding of the machine-readable outputs.
 *
 *   t:write_csv(path)                 core.write_csv(t, path)
 *   core.to_json(value [, {indent = n}])          -> string
 *   core.write_json(path, value [, {indent = n}]) -> path
 *   core.from_json(text [, {null = v, name = s}]) -> value
 *
 * to_json walks a tree of Lua values and feeds the core's JSON writer:
 * tables with keys 1..n become arrays, other tables objects with their
 * keys sorted (numbers as their decimal text), functions in objects are
 * skipped (a fit's predict), Tables become objects of columns, Columns
 * arrays.  A metafield __tojson(v) returns the value to encode instead,
 * and __jsontype = "array" or "object" settles empty tables.  from_json
 * parses with cJSON; the tree lives in a userdata until converted, so a
 * Lua error on the way frees it.
 */
#include "bind.h"

#include <cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---------------------------------------------------------------- CSV */

/* t:write_csv(path) -> path */
static int l_write_csv(lua_State *L) {
  sclb_table *u = sclb_checktable(L, 1);
  const char *path = luaL_checkstring(L, 2);
  scl_ctx *ctx = sclb_ctx(L);
  if (scl_table_write_csv(ctx, u->t, path) != SCL_OK) return sclb_fail(L, ctx);
  lua_settop(L, 2);
  return 1;
}

/* ---------------------------------------------------------------- to_json */

#define MAXDEPTH 500

typedef struct {
  scl_json *j;
} jbox;

static int jbox_gc(lua_State *L) {
  jbox *b = lua_touserdata(L, 1);
  scl_json_free(b->j);
  b->j = NULL;
  return 0;
}

/* One step of the path to the value being encoded, for messages. */
typedef struct {
  const char *key; /* NULL: an array index */
  lua_Integer index;
} step;

typedef struct {
  lua_State *L;
  scl_json *j;
  scl_ctx *ctx;
  const char *fn;  /* "to_json" or "write_json" */
  int seen;        /* stack index of the table of tables being visited */
  int depth;
  int tojson;      /* __tojson calls in a row (a loop guard) */
  step path[MAXDEPTH + 1];
} enc;

/* Raise "fn: value.a[2].b: msg". */
static int enc_error(enc *e, const char *msg) {
  lua_State *L = e->L;
  luaL_Buffer b;
  luaL_buffinit(L, &b);
  luaL_addstring(&b, e->fn);
  luaL_addstring(&b, ": value");
  for (int i = 0; i < e->depth; i++) {
    char buf[64];
    if (e->path[i].key) {
      luaL_addchar(&b, '.');
      luaL_addstring(&b, e->path[i].key);
    } else {
      snprintf(buf, sizeof buf, "[%lld]", (long long)e->path[i].index);
      luaL_addstring(&b, buf);
    }
  }
  luaL_addstring(&b, ": ");
  luaL_addstring(&b, msg);
  luaL_pushresult(&b);
  return lua_error(L);
}

static void enc_check(enc *e, int rc) {
  if (rc != SCL_OK) sclb_fail(e->L, e->ctx);
}

static void encode(enc *e, int idx);

/* A Column: its values as an array. */
static void encode_column(enc *e, const scl_table *t) {
  const double *v = scl_table_numbers(t, 0);
  size_t n = scl_table_nrows(t);
  if (v) {
    enc_check(e, scl_json_numbers(e->j, v, n));
    return;
  }
  scl_json_begin_array(e->j);
  for (size_t i = 0; i < n; i++)
    scl_json_string(e->j, scl_table_string(t, 0, i), -1);
  enc_check(e, scl_json_end(e->j));
}

/*
 * Is the table at idx an array: keys exactly 1..n?  Sets *n.  A metafield
 * __jsontype decides for any table.
 */
static int is_array(lua_State *L, int idx, lua_Integer *n) {
  lua_Integer count = 0, max = 0;
  int ok = 1;
  lua_pushnil(L);
  while (lua_next(L, idx)) {
    lua_pop(L, 1);
    count++;
    if (lua_isinteger(L, -1)) {
      lua_Integer k = lua_tointeger(L, -1);
      if (k >= 1 && k > max) max = k;
      if (k < 1) ok = 0;
    } else {
      ok = 0;
    }
  }
  *n = count;
  if (luaL_getmetafield(L, idx, "__jsontype") != LUA_TNIL) {
    const char *ty = lua_tostring(L, -1);
    lua_pop(L, 1);
    if (ty && strcmp(ty, "array") == 0) {
      *n = ok ? max : count;
      return ok || count == 0 ? 1 : -1;
    }
    if (ty && strcmp(ty, "object") == 0) return 0;
  }
  return ok && count > 0 && max == count;
}

/* An array of numbers only (exact as doubles): written on one line. */
static int numbers_only(lua_State *L, int idx, lua_Integer n) {
  for (lua_Integer i = 1; i <= n; i++) {
    int t = lua_rawgeti(L, idx, i);
    int ok = t == LUA_TNUMBER;
    if (ok && lua_isinteger(L, -1)) {
      lua_Integer v = lua_tointeger(L, -1);
      ok = v >= -(1LL << 53) && v <= (1LL << 53);
    }
    lua_pop(L, 1);
    if (!ok) return 0;
  }
  return 1;
}

static void encode_array(enc *e, int idx, lua_Integer n) {
  lua_State *L = e->L;
  if (n > 0 && numbers_only(L, idx, n)) {
    double *v = lua_newuserdatauv(L, (size_t)n * sizeof *v, 0);
    for (lua_Integer i = 1; i <= n; i++) {
      lua_rawgeti(L, idx, i);
      v[i - 1] = lua_tonumber(L, -1);
      lua_pop(L, 1);
    }
    enc_check(e, scl_json_numbers(e->j, v, (size_t)n));
    lua_pop(L, 1);
    return;
  }
  enc_check(e, scl_json_begin_array(e->j));
  for (lua_Integer i = 1; i <= n; i++) {
    e->path[e->depth].key = NULL;
    e->path[e->depth].index = i;
    e->depth++;
    lua_rawgeti(L, idx, i);
    if (lua_type(L, -1) == LUA_TFUNCTION) enc_error(e, "cannot encode a function");
    encode(e, lua_gettop(L));
    lua_pop(L, 1);
    e->depth--;
  }
  enc_check(e, scl_json_end(e->j));
}

/* Order of keys: bytewise on their text. */
typedef struct {
  const char *s;
  size_t len;
  int slot; /* index in the key list */
} keytext;

static int keycmp(const void *a, const void *b) {
  const keytext *x = a, *y = b;
  size_t n = x->len < y->len ? x->len : y->len;
  int c = memcmp(x->s, y->s, n);
  if (c) return c;
  return (x->len > y->len) - (x->len < y->len);
}

static void encode_object(enc *e, int idx, lua_Integer count) {
  lua_State *L = e->L;
  /* originals at keys[i], their text at keys[count + i] */
  lua_createtable(L, (int)(2 * count), 0);
  int keys = lua_gettop(L);
  keytext *kt = lua_newuserdatauv(L, (size_t)(count ? count : 1) * sizeof *kt,
                                  0);
  int n = 0;
  lua_pushnil(L);
  while (lua_next(L, idx)) {
    int vt = lua_type(L, -1);
    lua_pop(L, 1);
    if (vt == LUA_TFUNCTION) continue; /* methods and closures */
    n++;
    lua_pushvalue(L, -1);
    lua_rawseti(L, keys, n);
    if (lua_type(L, -1) == LUA_TSTRING) {
      lua_pushvalue(L, -1);
    } else if (lua_isinteger(L, -1)) {
      lua_pushfstring(L, "%I", lua_tointeger(L, -1));
    } else if (lua_type(L, -1) == LUA_TNUMBER) {
      char buf[40];
      snprintf(buf, sizeof buf, "%.17g", lua_tonumber(L, -1));
      lua_pushstring(L, buf);
    } else {
      e->path[e->depth].key = "?";
      e->depth++;
      lua_pushfstring(L, "a key of type %s", luaL_typename(L, -1));
      enc_error(e, lua_tostring(L, -1));
    }
    lua_rawseti(L, keys, (lua_Integer)count + n);
  }
  for (int i = 0; i < n; i++) {
    lua_rawgeti(L, keys, (lua_Integer)count + i + 1);
    kt[i].s = lua_tolstring(L, -1, &kt[i].len); /* anchored in keys */
    kt[i].slot = i + 1;
    lua_pop(L, 1);
  }
  qsort(kt, (size_t)n, sizeof *kt, keycmp);
  enc_check(e, scl_json_begin_object(e->j));
  for (int i = 0; i < n; i++) {
    e->path[e->depth].key = kt[i].s;
    e->depth++;
    if (i && keycmp(&kt[i - 1], &kt[i]) == 0)
      enc_error(e, "two keys with the same text");
    enc_check(e, scl_json_key(e->j, kt[i].s, (ptrdiff_t)kt[i].len));
    lua_rawgeti(L, keys, kt[i].slot);
    lua_rawget(L, idx);
    encode(e, lua_gettop(L));
    lua_pop(L, 1);
    e->depth--;
  }
  enc_check(e, scl_json_end(e->j));
  lua_pop(L, 2);
}

static void encode_table(enc *e, int idx) {
  lua_State *L = e->L;
  lua_pushvalue(L, idx);
  if (lua_rawget(L, e->seen) != LUA_TNIL) enc_error(e, "a cycle (a table "
                                                       "inside itself)");
  lua_pop(L, 1);
  lua_pushvalue(L, idx);
  lua_pushboolean(L, 1);
  lua_rawset(L, e->seen);
  lua_Integer n;
  int arr = is_array(L, idx, &n);
  if (arr < 0) enc_error(e, "__jsontype is \"array\" but the keys are not "
                            "1..n");
  if (arr)
    encode_array(e, idx, n);
  else
    encode_object(e, idx, n);
  lua_pushvalue(L, idx);
  lua_pushnil(L);
  lua_rawset(L, e->seen);
}

/* Encode the value at idx (an absolute index). */
static void encode(enc *e, int idx) {
  lua_State *L = e->L;
  if (e->depth >= MAXDEPTH) enc_error(e, "nested too deeply");
  luaL_checkstack(L, 8, "to_json: nested too deeply");
  if (luaL_getmetafield(L, idx, "__tojson") != LUA_TNIL) {
    lua_pushvalue(L, idx);
    lua_call(L, 1, 1);
    /* a __tojson returning its argument would loop: encode plainly */
    if (!lua_rawequal(L, -1, idx)) {
      if (++e->tojson > 100) enc_error(e, "__tojson keeps returning objects "
                                          "with a __tojson");
      encode(e, lua_gettop(L));
      e->tojson--;
      lua_pop(L, 1);
      return;
    }
    lua_pop(L, 1);
  }
  switch (lua_type(L, idx)) {
  case LUA_TNIL: enc_check(e, scl_json_null(e->j)); return;
  case LUA_TBOOLEAN:
    enc_check(e, scl_json_bool(e->j, lua_toboolean(L, idx)));
    return;
  case LUA_TNUMBER:
    if (lua_isinteger(L, idx))
      enc_check(e, scl_json_integer(e->j, (int64_t)lua_tointeger(L, idx)));
    else
      enc_check(e, scl_json_number(e->j, lua_tonumber(L, idx)));
    return;
  case LUA_TSTRING: {
    size_t len;
    const char *s = lua_tolstring(L, idx, &len);
    enc_check(e, scl_json_string(e->j, s, (ptrdiff_t)len));
    return;
  }
  case LUA_TTABLE: encode_table(e, idx); return;
  case LUA_TUSERDATA: {
    sclb_table *u = luaL_testudata(L, idx, SCLB_TABLE);
    if (u) {
      if (!u->t) enc_error(e, "a closed Table");
      enc_check(e, scl_json_table(e->j, u->t));
      return;
    }
    u = luaL_testudata(L, idx, SCLB_COLUMN);
    if (u) {
      if (!u->t) enc_error(e, "a closed Column");
      encode_column(e, u->t);
      return;
    }
    break;
  }
  default: break;
  }
  lua_pushfstring(L, "cannot encode a %s", luaL_typename(L, idx));
  enc_error(e, lua_tostring(L, -1));
}

/* Options {indent = n}; returns the indent (def when absent). */
static int opt_indent(lua_State *L, int idx, int def, const char *fn) {
  if (lua_isnoneornil(L, idx)) return def;
  luaL_checktype(L, idx, LUA_TTABLE);
  lua_pushnil(L);
  while (lua_next(L, idx)) {
    lua_pop(L, 1);
    if (lua_type(L, -1) != LUA_TSTRING ||
        strcmp(lua_tostring(L, -1), "indent") != 0)
      luaL_error(L, "%s: unknown option '%s'", fn,
                 lua_type(L, -1) == LUA_TSTRING ? lua_tostring(L, -1) : "?");
  }
  lua_getfield(L, idx, "indent");
  int ind = def;
  if (!lua_isnil(L, -1)) {
    lua_Integer v = luaL_checkinteger(L, -1);
    luaL_argcheck(L, v >= 0 && v <= 16, idx, "indent must be 0..16");
    ind = (int)v;
  }
  lua_pop(L, 1);
  return ind;
}

/* Encode the value at vidx into a new writer boxed on the stack. */
static scl_json *build(lua_State *L, int vidx, int indent, const char *fn) {
  scl_ctx *ctx = sclb_ctx(L);
  jbox *b = lua_newuserdatauv(L, sizeof *b, 0);
  b->j = NULL;
  if (luaL_newmetatable(L, "scalelua.JsonWriter")) {
    lua_pushcfunction(L, jbox_gc);
    lua_setfield(L, -2, "__gc");
  }
  lua_setmetatable(L, -2);
  if (scl_json_new(ctx, indent, &b->j) != SCL_OK) sclb_fail(L, ctx);
  enc *e = lua_newuserdatauv(L, sizeof *e, 0);
  e->L = L;
  e->j = b->j;
  e->ctx = ctx;
  e->fn = fn;
  e->depth = 0;
  e->tojson = 0;
  lua_newtable(L);
  e->seen = lua_gettop(L);
  encode(e, vidx);
  lua_pop(L, 2); /* seen, enc */
  return b->j;
}

/* to_json(value [, {indent = n}]) -> string (compact by default) */
static int l_to_json(lua_State *L) {
  luaL_checkany(L, 1);
  int indent = opt_indent(L, 2, 0, "to_json");
  lua_settop(L, 2);
  scl_json *j = build(L, 1, indent, "to_json");
  const char *text;
  size_t len;
  if (scl_json_text(j, &text, &len) != SCL_OK) return sclb_fail(L, sclb_ctx(L));
  lua_pushlstring(L, text, len);
  return 1;
}

/* write_json(path, value [, {indent = n}]) -> path (indent 2 by default) */
static int l_write_json(lua_State *L) {
  const char *path = luaL_checkstring(L, 1);
  luaL_checkany(L, 2);
  int indent = opt_indent(L, 3, 2, "write_json");
  lua_settop(L, 3);
  scl_json *j = build(L, 2, indent, "write_json");
  if (scl_json_write(j, path) != SCL_OK) return sclb_fail(L, sclb_ctx(L));
  lua_pushvalue(L, 1);
  return 1;
}

/* ---------------------------------------------------------------- from_json */

typedef struct {
  cJSON *root;
} cbox;

static int cbox_gc(lua_State *L) {
  cbox *b = lua_touserdata(L, 1);
  cJSON_Delete(b->root);
  b->root = NULL;
  return 0;
}

/* Push the Lua value of node; null is the value at nullidx (0: nil). */
static void push_node(lua_State *L, const cJSON *node, int nullidx) {
  luaL_checkstack(L, 4, "from_json: nested too deeply");
  if (cJSON_IsNull(node)) {
    if (nullidx) lua_pushvalue(L, nullidx);
    else lua_pushnil(L);
  } else if (cJSON_IsBool(node)) {
    lua_pushboolean(L, cJSON_IsTrue(node));
  } else if (cJSON_IsNumber(node)) {
    double v = node->valuedouble;
    /* integral values that doubles hold exactly come back as integers
       (but -0 stays a float, keeping its sign) */
    if (v == floor(v) && fabs(v) <= 9007199254740992.0 &&
        !(v == 0 && signbit(v)))
      lua_pushinteger(L, (lua_Integer)v);
    else
      lua_pushnumber(L, v);
  } else if (cJSON_IsString(node)) {
    lua_pushstring(L, node->valuestring);
  } else if (cJSON_IsArray(node)) {
    lua_createtable(L, cJSON_GetArraySize(node), 0);
    lua_Integer i = 1;
    for (const cJSON *c = node->child; c; c = c->next, i++) {
      push_node(L, c, nullidx);
      lua_rawseti(L, -2, i);
    }
  } else if (cJSON_IsObject(node)) {
    lua_createtable(L, 0, cJSON_GetArraySize(node));
    for (const cJSON *c = node->child; c; c = c->next) {
      lua_pushstring(L, c->string);
      push_node(L, c, nullidx);
      lua_rawset(L, -3);
    }
  } else {
    lua_pushnil(L);
  }
}

/* from_json(text [, {null = v, name = s}]) -> value */
static int l_from_json(lua_State *L) {
  size_t len;
  const char *text = luaL_checklstring(L, 1, &len);
  const char *name = "json";
  int nullidx = 0;
  if (!lua_isnoneornil(L, 2)) {
    luaL_checktype(L, 2, LUA_TTABLE);
    lua_pushnil(L);
    while (lua_next(L, 2)) {
      lua_pop(L, 1);
      const char *k = lua_type(L, -1) == LUA_TSTRING ? lua_tostring(L, -1) : "?";
      if (strcmp(k, "null") != 0 && strcmp(k, "name") != 0)
        luaL_error(L, "from_json: unknown option '%s'", k);
    }
    if (lua_getfield(L, 2, "null") != LUA_TNIL) nullidx = lua_gettop(L);
    else lua_pop(L, 1);
    if (lua_getfield(L, 2, "name") != LUA_TNIL) name = luaL_checkstring(L, -1);
  }
  cbox *b = lua_newuserdatauv(L, sizeof *b, 0);
  b->root = NULL;
  if (luaL_newmetatable(L, "scalelua.JsonTree")) {
    lua_pushcfunction(L, cbox_gc);
    lua_setfield(L, -2, "__gc");
  }
  lua_setmetatable(L, -2);
  const char *end = NULL;
  b->root = cJSON_ParseWithLengthOpts(text, len, &end, 0);
  const char *stop = end;
  if (b->root && end) /* only white space may follow */
    while (stop < text + len && strchr(" \t\r\n", *stop) && *stop) stop++;
  if (!b->root || !end || stop != text + len) {
    const char *at = b->root ? stop : (end ? end : text);
    if (at < text || at > text + len) at = text + len;
    int line = 1, col = 1;
    for (const char *p = text; p < at; p++) {
      if (*p == '\n') line++, col = 1;
      else col++;
    }
    return luaL_error(L, "from_json: %s:%d:%d: %s", name, line, col,
                      b->root ? "text after the value" : "invalid JSON");
  }
  push_node(L, b->root, nullidx);
  return 1;
}

static const luaL_Reg funcs[] = {{"write_csv", l_write_csv},
                                 {"to_json", l_to_json},
                                 {"write_json", l_write_json},
                                 {"from_json", l_from_json},
                                 {NULL, NULL}};

/* Registers the functions, and write_csv as a Table method. */
void sclb_open_io(lua_State *L) {
  luaL_setfuncs(L, funcs, 0);
  luaL_getmetatable(L, SCLB_TABLE);
  if (lua_getfield(L, -1, "__methods") == LUA_TTABLE) {
    lua_pushcfunction(L, l_write_csv);
    lua_setfield(L, -2, "write_csv");
  }
  lua_pop(L, 2);
}
