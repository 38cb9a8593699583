/* internal.h -- cross-file internals of libscalelua (scli_ prefix). */
#ifndef SCALELUA_INTERNAL_H
#define SCALELUA_INTERNAL_H

#include "scalelua.h"

#include <stdarg.h>

#define SCLI_ERRMAX 512

struct scl_ctx {
  scl_alloc_fn alloc;
  void *ud;
  int code;
  char msg[SCLI_ERRMAX];
};

/* Allocation through the context's allocator.  NULL on failure (no message). */
void *scli_malloc(scl_ctx *ctx, size_t n);
void *scli_calloc(scl_ctx *ctx, size_t n, size_t size);
void *scli_realloc(scl_ctx *ctx, void *p, size_t osize, size_t nsize);
void scli_free(scl_ctx *ctx, void *p, size_t osize);
char *scli_strdup(scl_ctx *ctx, const char *s);

/* Record an error; returns code.  scli_oom records SCL_ENOMEM. */
int scli_error(scl_ctx *ctx, int code, const char *fmt, ...)
#ifdef __GNUC__
    __attribute__((format(printf, 3, 4)))
#endif
    ;
int scli_verror(scl_ctx *ctx, int code, const char *fmt, va_list ap);
int scli_oom(scl_ctx *ctx);

/* The context a table belongs to. */
scl_ctx *scli_table_ctx(const scl_table *t);

#endif
