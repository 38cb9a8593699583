/* ctx.c -- contexts: allocator and error message. */
#include "internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void *default_alloc(void *ud, void *ptr, size_t osize, size_t nsize) {
  (void)ud;
  (void)osize;
  if (nsize == 0) {
    free(ptr);
    return NULL;
  }
  return realloc(ptr, nsize);
}

/* Threads when the caller names none: SCALELUA_THREADS, or the online
 * CPUs; 1 to 64. */
size_t scli_threads(void) {
  const char *e = getenv("SCALELUA_THREADS");
  long n = e ? strtol(e, NULL, 10) : 0;
  if (n <= 0) n = sysconf(_SC_NPROCESSORS_ONLN);
  return n <= 0 ? 1 : n > 64 ? 64 : (size_t)n;
}

const char *scl_version(void) { return SCL_VERSION_STRING; }

const char *scl_strerror(int code) {
  switch (code) {
  case SCL_OK: return "no error";
  case SCL_ENOMEM: return "out of memory";
  case SCL_EIO: return "input/output error";
  case SCL_EPARSE: return "parse error";
  case SCL_EINVAL: return "invalid argument";
  case SCL_ENOCONV: return "did not converge";
  case SCL_ERENDER: return "rendering failed";
  case SCL_ECALLBACK: return "callback failed";
  default: return "unknown error";
  }
}

scl_ctx *scl_ctx_new(scl_alloc_fn alloc, void *ud) {
  if (!alloc) alloc = default_alloc;
  scl_ctx *ctx = alloc(ud, NULL, 0, sizeof *ctx);
  if (!ctx) return NULL;
  memset(ctx, 0, sizeof *ctx);
  ctx->alloc = alloc;
  ctx->ud = ud;
  return ctx;
}

void scl_ctx_free(scl_ctx *ctx) {
  if (ctx) ctx->alloc(ctx->ud, ctx, sizeof *ctx, 0);
}

const char *scl_ctx_errmsg(const scl_ctx *ctx) { return ctx ? ctx->msg : ""; }
int scl_ctx_errcode(const scl_ctx *ctx) { return ctx ? ctx->code : SCL_OK; }

void scl_ctx_clear(scl_ctx *ctx) {
  ctx->code = SCL_OK;
  ctx->msg[0] = '\0';
}

int scli_verror(scl_ctx *ctx, int code, const char *fmt, va_list ap) {
  ctx->code = code;
  vsnprintf(ctx->msg, sizeof ctx->msg, fmt, ap);
  return code;
}

int scli_error(scl_ctx *ctx, int code, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  scli_verror(ctx, code, fmt, ap);
  va_end(ap);
  return code;
}

int scl_ctx_error(scl_ctx *ctx, int code, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  scli_verror(ctx, code, fmt, ap);
  va_end(ap);
  return code;
}

int scli_oom(scl_ctx *ctx) {
  return scli_error(ctx, SCL_ENOMEM, "out of memory");
}

void *scli_malloc(scl_ctx *ctx, size_t n) {
  return ctx->alloc(ctx->ud, NULL, 0, n ? n : 1);
}

void *scli_calloc(scl_ctx *ctx, size_t n, size_t size) {
  if (size && n > (size_t)-1 / size) return NULL;
  size_t bytes = n * size;
  void *p = scli_malloc(ctx, bytes);
  if (p && bytes) memset(p, 0, bytes);
  return p;
}

void *scli_realloc(scl_ctx *ctx, void *p, size_t osize, size_t nsize) {
  return ctx->alloc(ctx->ud, p, p ? osize : 0, nsize ? nsize : 1);
}

void scli_free(scl_ctx *ctx, void *p, size_t osize) {
  if (p) ctx->alloc(ctx->ud, p, osize, 0);
}

char *scli_strdup(scl_ctx *ctx, const char *s) {
  size_t n = strlen(s) + 1;
  char *d = scli_malloc(ctx, n);
  if (d) memcpy(d, s, n);
  return d;
}
