/*
 * bind.h -- internals shared by the Lua binding files (core/bind/l_*.c).
 * The binding converts between Lua values and core types and nothing else.
 * Every l_*.c file exports one sclb_open_*(L) that adds its functions to
 * the module table on top of the stack (scalelua.core).
 */
#ifndef SCALELUA_BIND_H
#define SCALELUA_BIND_H

#include "scalelua.h"

#include <lauxlib.h>
#include <lua.h>
#include <stdatomic.h>

#define SCLB_TABLE "scalelua.Table"
#define SCLB_COLUMN "scalelua.Column"
#define SCLB_FIT "scalelua.Fit"
#define SCLB_CHART "scalelua.Chart"

/* The scl_ctx owned by this Lua state (created on first use, freed at close). */
scl_ctx *sclb_ctx(lua_State *L);
/* Raise a Lua error with the context's last message.  Never returns. */
int sclb_fail(lua_State *L, scl_ctx *ctx);

/*
 * Table and Column userdata, metatables SCLB_TABLE and SCLB_COLUMN.  t is
 * NULL once closed.  A Column whose numbers a chart draws without copying
 * is pinned (pins > 0): closing it then only moves t to kept, which the
 * last unpin frees (the chart keeps the Column alive via a user value, so
 * only an explicit close can come first).
 */
typedef struct {
  scl_table *t;
  scl_table *kept;
  unsigned pins;
} sclb_table;
sclb_table *sclb_checktable(lua_State *L, int idx);
/* Push a new Table userdata that takes ownership of t. */
void sclb_pushtable(lua_State *L, scl_table *t);

/*
 * Read a numeric vector from a Column, an array of numbers or a number
 * at idx.  Returns a pointer valid while the value at idx stays on the stack
 * (columns: borrowed; arrays: copied into a userdata pushed onto the stack,
 * so the stack grows by one in that case: use lua_gettop to restore).
 * name is used in error messages ("bad argument #2 to 'powerlaw' (x: ...)").
 */
const double *sclb_checkvector(lua_State *L, int idx, size_t *n,
                               const char *name);

/* The numbers of the open numeric Column at idx, pinned (see sclb_table),
 * with *n and *col set; NULL (nothing pinned) for anything else. */
const double *sclb_pin_numbers(lua_State *L, int idx, size_t *n,
                               sclb_table **col);
void sclb_unpin(sclb_table *col);

/* Push a Lua array of the n numbers v. */
void sclb_pushnumbers(lua_State *L, const double *v, size_t n);

/* The registration functions of the binding files. */
void sclb_open_table(lua_State *L);
void sclb_open_fit(lua_State *L);
void sclb_open_chart(lua_State *L);
void sclb_open_envelope(lua_State *L);
void sclb_open_io(lua_State *L);

/*
 * safe.c: running other people's recipes (scalelua --safe, --max-memory).
 * A memory cap shared by a Lua state (allocator sclb_memcap_alloc, ud the
 * sclb_memcap) and its scl_ctx (sclb_ctx then uses sclb_memcap_ctx_alloc).
 * cap 0: no cap, only counting; hit: an allocation was refused.
 */
typedef struct {
  _Atomic size_t used;
  size_t cap;
  _Atomic int hit;
} sclb_memcap;
void *sclb_memcap_alloc(void *ud, void *ptr, size_t osize, size_t nsize);
void *sclb_memcap_ctx_alloc(void *ud, void *ptr, size_t osize, size_t nsize);
/*
 * Put a guard around the writers of scalelua.core (render, write_csv,
 * write_json, Table:write_csv); call before require "scalelua".  With
 * root (a resolved directory) they refuse paths outside it; always, they
 * mark while a file is being written (sclb_writing, signal-safe).
 */
void sclb_guard_writers(lua_State *L, const char *root);
int sclb_writing(void);
/* The --safe sandbox of the standard library; writes only below root. */
void sclb_sandbox(lua_State *L, const char *root);

/* luaopen_scalelua_core: the C module. luaopen_scalelua: the whole package. */
int luaopen_scalelua_core(lua_State *L);
int luaopen_scalelua(lua_State *L);
/* Put the embedded Lua modules and scalelua.core into package.preload. */
void sclb_preload(lua_State *L);

#endif
