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
/* Threads when the caller names none: SCALELUA_THREADS, or the online
 * CPUs (1 to 64). */
size_t scli_threads(void);
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

/*
 * table.c internals for the CSV reader, which fills columns in place:
 * add empty columns with room for cap rows, grow them all, write
 * numbers/codes below the capacity, then set the row count and shrink.
 */
int scli_table_add_column(scl_table *t, const char *name, scl_type type,
                          size_t cap);
int scli_table_reserve(scl_table *t, size_t rows);
void scli_table_shrink(scl_table *t);
double *scli_table_numbers_mut(scl_table *t, size_t col);
uint32_t *scli_table_codes_mut(scl_table *t, size_t col);
int scli_table_intern(scl_table *t, size_t col, const char *s, size_t n,
                      uint32_t *code);
/* Level `code` of string column col and its length (it may hold NULs). */
const char *scli_table_level_n(const scl_table *t, size_t col, uint32_t code,
                               size_t *len);
int scli_table_make_strings(scl_table *t, size_t col);
void scli_table_set_nrows(scl_table *t, size_t n);

/*
 * numparse.c: the exact fast path of scl_parse_double on a prefix of
 * [s, end): 1 with *stop after the number, 0 when the full parser is
 * needed (or the text is no number).
 */
int scli_parse_prefix(const char *s, const char *end, double *out,
                      const char **stop);

/*
 * csv.c test hooks: the same as the public calls with the tokenizer
 * forced (SCLI_TOK_AUTO, SCLI_TOK_LIBCSV, SCLI_TOK_FAST; the fast one
 * refuses input holding the quote character with SCL_EINVAL).
 */
enum { SCLI_TOK_AUTO = 0, SCLI_TOK_LIBCSV = 1, SCLI_TOK_FAST = 2 };
int scli_csv_open_buffer(scl_ctx *ctx, const char *name, const char *buf,
                         size_t len, const scl_csv_opts *opts, int tok,
                         scl_csv_reader **out);
int scli_table_read_csv_buffer_tok(scl_ctx *ctx, const char *name,
                                   const char *buf, size_t len,
                                   const scl_csv_opts *opts, int tok,
                                   scl_table **out);

/*
 * fit.c internals shared by fit_*.c.  scli_fit_new makes a fit with np
 * parameters named by the static `names`, or, when NULL, prefix + index
 * counted from first ("p1".., "c0"..).  A refit function fits the
 * resample idx[0..n) and writes the parameters; scli_fit_bootstrap drives
 * it and fills ci_lo/ci_hi.  scli_qr_stderr (fit_linear.c) turns a
 * column-major n x p Jacobian (overwritten) into standard errors
 * sqrt(s2 diag((J'J)^-1)) and its numerical rank (se NaN when < p).
 * scli_vexp/scli_vlog: exp/log of a vector (y may alias x).
 */
int scli_fit_new(scl_ctx *ctx, scl_fit_kind kind, size_t np,
                 const char *const *names, const char *prefix, int first,
                 scl_fit **out);
typedef int (*scli_refit_fn)(void *ud, scl_ctx *ctx, const size_t *idx,
                             size_t n, double *params);
int scli_fit_bootstrap(scl_ctx *ctx, scl_fit *f, size_t n,
                       const scl_fit_opts *o, scli_refit_fn refit, void *ud);
int scli_fit_check_weights(scl_ctx *ctx, const double *w, size_t n,
                           size_t min_pos, size_t *npos);
int scli_fit_check_finite(scl_ctx *ctx, const char *name, const double *v,
                          size_t n);
int scli_qr_stderr(scl_ctx *ctx, double *J, size_t n, size_t p, double s2,
                   double *se, size_t *rank);
void scli_vexp(const double *x, double *y, size_t n);
int scli_vlog(const double *x, double *y, size_t n); /* 1: some x[i] is
                        not a normal positive number (NaN, inf, <= 0...) */
/* y[i] = exp(b u[i]) for any b u[i] (inf and 0 beyond the range). */
void scli_vexp_scaled(const double *u, double b, double *y, size_t n);

/*
 * Charts (chart.c builds them, render.c draws them).  A layer owns copies
 * of its data (unless borrowed): a line has x, y; a band has x, y (lower
 * edge) and y2 (upper edge).  Colours are resolved when the layer is added.
 */
typedef enum { SCLI_LINE = 1, SCLI_BAND = 2 } scli_layer_kind;
typedef struct scli_layer {
  scli_layer_kind kind;
  size_t n;
  double *x, *y, *y2;
  scl_style style;
  char *legend; /* NULL: not in the legend */
  /* Taken while copying, so a render need not read a long layer again:
   * the range of finite x; of finite y and y2 at finite x (min > max:
   * none); the first index of x, y, y2 <= 0 (n: none); x ascending
   * without NaN. */
  double xmin, xmax, ymin, ymax;
  size_t xneg, yneg, y2neg;
  int xsorted;
  int borrowed; /* x and y are the caller's (scl_chart_add_line_ref) */
} scli_layer;
typedef struct scli_axis {
  int log;
  char *label; /* NULL: none */
  double lo, hi; /* NaN: from the data */
} scli_axis;
struct scl_chart {
  scl_ctx *ctx;
  char *title;
  scli_axis axis[2];
  scl_legend_pos legend;
  scli_layer *layers;
  size_t nlayers, cap;
};
/*
 * Decimation for drawing: the points of (x, y)[0..n) that matter when x
 * maps onto ncols pixel columns between x0 and x1 (log10 space when xlog):
 * of each run of consecutive points in one column, the first, last, lowest
 * and highest, in their order (M4).  Non-finite points are kept (they
 * split the line).  Flags: SCLI_DEC_SORTED, x is ascending without NaN
 * (faster, same result); SCLI_DEC_LINE, for a polyline: of a column only
 * its lowest and highest, ordered to continue from the previous point, and
 * the first and last of each stretch between gaps (indices then need not
 * ascend).  Writes indices to keep[] (n slots) and returns their count.
 */
enum { SCLI_DEC_SORTED = 1, SCLI_DEC_LINE = 2 };
size_t scli_decimate(const double *x, const double *y, size_t n, double x0,
                     double x1, int xlog, size_t ncols, int flags,
                     size_t *keep);
/*
 * raster.c: antialiased solid polylines drawn straight into an 8-bit RGB
 * image (rows of 3w bytes), for PNGs with many curves.  Coordinates are
 * pixels, x right, y down; drawing stays inside the clip (default: the
 * whole image).  scli_raster_init: SCL_OK or SCL_ENOMEM; nothing else
 * allocates.
 */
typedef struct {
  scl_ctx *ctx;
  unsigned char *rgb;
  uint32_t w, h;
  uint32_t cx0, cy0, cx1, cy1; /* the clip, pixels [cx0, cx1) x [cy0, cy1) */
  unsigned char *cov;          /* w x h coverage of the line being drawn */
  uint32_t *span;              /* per row, its pixels [x0, x1) */
} scli_raster;
typedef struct {
  const double *x, *y;
  size_t n;
  double w; /* pixels */
  uint32_t rgb;
  double alpha;
} scli_rline;
int scli_raster_init(scl_ctx *ctx, scli_raster *r, unsigned char *rgb,
                     uint32_t w, uint32_t h);
void scli_raster_free(scli_raster *r);
void scli_raster_clip(scli_raster *r, double x0, double y0, double x1,
                      double y1);
void scli_raster_line(scli_raster *r, const double *x, const double *y,
                      size_t n, double w, uint32_t rgb, double alpha);
/* Lines in order, the image's rows shared among up to `threads` threads
 * (the same image as one line at a time). */
void scli_raster_lines(scli_raster *r, const scli_rline *lines, size_t n,
                       unsigned threads);

/* render.c: 0 draws PNG lines with cairo too (tests compare the two). */
void scli_render_fast_lines(int on);
/* render.c's PNG writer (libpng, zlib level 1, filter None): an 8-bit RGB
 * image, rows of 3w bytes, to path.  SCL_OK, SCL_ENOMEM, SCL_EIO,
 * SCL_EINVAL (no pixels or too many). */
int scli_png_write(scl_ctx *ctx, const char *path, const unsigned char *rgb,
                   uint32_t w, uint32_t h);

/*
 * atomic.c: the temporary file of an atomic write of path,
 * ".BASE.tmp-PID-XXXXXX" beside it.  scli_tmp_size(path) is the room its
 * name needs; scli_tmp_open first removes the temporaries of path left by
 * dead processes, then creates a new one (mode 0666 less the umask),
 * writes its name to tmp and returns its descriptor, or -1 with errno.
 */
size_t scli_tmp_size(const char *path);
int scli_tmp_open(const char *path, char *tmp, size_t cap);

#endif
