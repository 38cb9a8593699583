/*
 * scalelua.h -- the public C API of libscalelua.
 *
 * scalelua reads training logs, finds the compute frontier, fits scaling
 * laws and renders log-log figures.  This header is the whole API: what is
 * not declared here is not part of it.  No Lua is needed to use it.
 *
 * Usage
 *
 *   scl_ctx *ctx = scl_ctx_new(NULL, NULL);        // default allocator
 *   scl_table *t;
 *   if (scl_table_read_csv(ctx, "runs.csv", NULL, &t) != SCL_OK) {
 *     fprintf(stderr, "%s\n", scl_ctx_errmsg(ctx)); // "runs.csv:17:4: ..."
 *     ...
 *   }
 *   int loss = scl_table_find(t, "loss");          // -1: no such column
 *   const double *y = loss < 0 ? NULL : scl_table_numbers(t, loss);
 *   ...                                            // y is borrowed from t
 *   scl_table_free(t);
 *   scl_ctx_free(ctx);
 *
 * Build with  cc prog.c $(pkg-config --cflags --libs scalelua)  (add
 * --static for libscalelua.a).  SCL_VERSION_* give the version of this
 * header, scl_version() that of the library linked.  man 3 scalelua has
 * an overview; examples/embed/moba_c.c a complete program.
 *
 * Conventions
 *
 *   - Fallible functions return an int status: SCL_OK (0) or a positive
 *     SCL_E* code.  The message, with file:line:column where one applies,
 *     is kept in the context until the next failing call on it:
 *     scl_ctx_errmsg().  scl_strerror() gives static text for a code.
 *   - The library never prints, never exits and never aborts on bad input.
 *   - Ownership: objects returned through an out-pointer belong to the
 *     caller and are released with the matching _free(); _free(NULL) does
 *     nothing.  Pointers documented as "borrowed" stay valid until the
 *     owning object is changed or freed.  Inputs are copied.
 *   - A context is not thread-safe; use one per thread.  Objects remember
 *     the context that made them (for its allocator), so free them before
 *     the context.
 */
#ifndef SCALELUA_H
#define SCALELUA_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(SCL_BUILDING) && defined(__GNUC__)
#define SCL_API __attribute__((visibility("default")))
#else
#define SCL_API
#endif

#define SCL_VERSION_MAJOR 0
#define SCL_VERSION_MINOR 1
#define SCL_VERSION_PATCH 0
#define SCL_VERSION_STRING "0.1.0"

/* "0.1.0": the version of the library actually linked. */
SCL_API const char *scl_version(void);

/* ---------------------------------------------------------------- errors */

enum {
  SCL_OK = 0,
  SCL_ENOMEM,   /* an allocation failed */
  SCL_EIO,      /* a file could not be opened, read or written */
  SCL_EPARSE,   /* malformed input (CSV syntax, a non-number, ...) */
  SCL_EINVAL,   /* invalid argument or data (too few points, x <= 0, ...) */
  SCL_ENOCONV,  /* an iterative method did not converge */
  SCL_ERENDER,  /* the renderer failed */
  SCL_ECALLBACK /* a user callback reported an error */
};

/* Static English text for a status code; never NULL. */
SCL_API const char *scl_strerror(int code);

/* ---------------------------------------------------------------- context */

typedef struct scl_ctx scl_ctx;

/*
 * Allocator, in the style of lua_Alloc: with nsize == 0 free ptr and return
 * NULL; otherwise behave like realloc(ptr, nsize).  osize is the old size
 * when ptr is not NULL (0 when unknown).  Returning NULL for nsize > 0 is an
 * allocation failure, which every entry point reports as SCL_ENOMEM without
 * leaking.
 */
typedef void *(*scl_alloc_fn)(void *ud, void *ptr, size_t osize, size_t nsize);

/* A new context using alloc (NULL: malloc/realloc/free).  NULL on OOM. */
SCL_API scl_ctx *scl_ctx_new(scl_alloc_fn alloc, void *ud);
/* Free ctx (NULL: nothing); free the objects made with it first. */
SCL_API void scl_ctx_free(scl_ctx *ctx);
/* The message of the last failure on ctx ("" if none).  Borrowed. */
SCL_API const char *scl_ctx_errmsg(const scl_ctx *ctx);
/* The code of the last failure on ctx (SCL_OK if none). */
SCL_API int scl_ctx_errcode(const scl_ctx *ctx);
/* Forget the last failure. */
SCL_API void scl_ctx_clear(scl_ctx *ctx);
/*
 * Record a failure on ctx, as the library does: sets the message from a
 * printf-style format and returns code.  For callbacks and embedders that
 * want their own errors to travel the same way.
 */
SCL_API int scl_ctx_error(scl_ctx *ctx, int code, const char *fmt, ...)
#ifdef __GNUC__
    __attribute__((format(printf, 3, 4)))
#endif
    ;

/* ----------------------------------------------------------------- tables */

/*
 * A table is a set of named columns of equal length.  A column holds either
 * numbers (double, NaN for missing) or strings.  String columns are stored
 * as 32-bit codes into a per-column list of distinct values ("levels"), so a
 * run name repeated on a million rows is stored once.
 */
typedef struct scl_table scl_table;

typedef enum { SCL_NUMBER = 1, SCL_STRING = 2 } scl_type;

/* An empty table (no columns, no rows): SCL_OK or SCL_ENOMEM. */
SCL_API int scl_table_new(scl_ctx *ctx, scl_table **out);
/* Free t and everything borrowed from it (NULL: nothing). */
SCL_API void scl_table_free(scl_table *t);

/* Number of rows and of columns. */
SCL_API size_t scl_table_nrows(const scl_table *t);
SCL_API size_t scl_table_ncols(const scl_table *t);
/* Column index of name, or -1. */
SCL_API int scl_table_find(const scl_table *t, const char *name);
/* Name and type of column col (0-based).  Borrowed. */
SCL_API const char *scl_table_colname(const scl_table *t, size_t col);
SCL_API scl_type scl_table_coltype(const scl_table *t, size_t col);
/* The values of a numeric column (NULL for a string column).  Borrowed. */
SCL_API const double *scl_table_numbers(const scl_table *t, size_t col);
/* The codes of a string column (NULL for a numeric column).  Borrowed. */
SCL_API const uint32_t *scl_table_codes(const scl_table *t, size_t col);
/*
 * Number of distinct strings of a string column, and the one for a code.
 * Tables read from CSV or filled by scl_table_set_strings number their
 * strings 0, 1, ... in order of first appearance; scl_table_take keeps
 * the source's order (of the strings it keeps).
 */
SCL_API size_t scl_table_nlevels(const scl_table *t, size_t col);
SCL_API const char *scl_table_level(const scl_table *t, size_t col,
                                    uint32_t code);
/* The string at (row, col) of a string column.  Borrowed. */
SCL_API const char *scl_table_string(const scl_table *t, size_t col,
                                     size_t row);

/*
 * Add a numeric column, or replace the column of that name.  The first
 * column sets the row count; later ones must have n == nrows (SCL_EINVAL).
 * The values are copied.
 */
SCL_API int scl_table_set_numbers(scl_table *t, const char *name,
                                  const double *v, size_t n);
/* Add or replace a string column from n C strings (copied, interned). */
SCL_API int scl_table_set_strings(scl_table *t, const char *name,
                                  const char *const *v, size_t n);
/* Remove the named column (SCL_EINVAL if absent). */
SCL_API int scl_table_drop(scl_table *t, const char *name);

/*
 * Append the rows of src to dst.  Columns are matched by name; both must
 * have the same names and types (SCL_EINVAL otherwise).  An empty dst (no
 * columns) takes src's schema.
 */
SCL_API int scl_table_append(scl_table *dst, const scl_table *src);

/*
 * A new table holding rows[0..n) of src, in that order (rows may repeat).
 * Used for filtering, sorting and grouping.
 */
SCL_API int scl_table_take(const scl_table *src, const size_t *rows, size_t n,
                           scl_table **out);

/* A new table holding copies of the named columns of src, in that order. */
SCL_API int scl_table_select(const scl_table *src, const char *const *names,
                             size_t n, scl_table **out);

/*
 * Row order that sorts the table by column col, ascending (descending when
 * desc), stable; NaN last.  Strings compare bytewise.  order has nrows slots.
 */
SCL_API int scl_table_order(const scl_table *t, size_t col, int desc,
                            size_t *order);

/*
 * The rows of t grouped by equal values of columns cols[0..ncols), in one
 * pass.  Groups are numbered in order of first appearance and keep their
 * rows in table order: group g is rows[start[g] .. start[g + 1]), so its
 * first row is rows[start[g]].  Strings are equal when their bytes are;
 * numbers when ==, except that all NaN (missing) are one value, and -0
 * and 0 are one.  A table without rows has no groups.  SCL_EINVAL for no
 * column or one out of range.  Free the result with scl_groups_free(ctx,
 * g), ctx being t's context.
 */
typedef struct scl_groups {
  size_t ngroups;
  size_t nrows;  /* rows grouped (the table's row count) */
  size_t *start; /* ngroups + 1 offsets into rows */
  size_t *rows;  /* nrows row indices, group after group */
} scl_groups;
SCL_API int scl_table_group(const scl_table *t, const size_t *cols,
                            size_t ncols, scl_groups **out);
SCL_API void scl_groups_free(scl_ctx *ctx, scl_groups *g);

/*
 * scl_table_take of columns cols[0..ncols) of src only, in that order (a
 * column named twice or out of range: SCL_EINVAL).  Taking only the
 * columns needed saves copying the rest of a wide table.
 */
SCL_API int scl_table_take_columns(const scl_table *src, const size_t *cols,
                                   size_t ncols, const size_t *rows,
                                   size_t n, scl_table **out);

/*
 * Add a numeric column of n values for the caller to fill in, or replace
 * the column of that name, without copying anything: *v receives its
 * storage (borrowed; the values are unspecified until written).  Row
 * count rules as for scl_table_set_numbers.
 */
SCL_API int scl_table_add_numbers(scl_table *t, const char *name, size_t n,
                                  double **v);

/* -------------------------------------------------------------------- CSV */

/*
 * Options for reading CSV.  Initialise with scl_csv_opts_init().
 *
 * The format is RFC 4180 read strictly (libcsv's strict mode): quoted
 * fields may hold delimiters, doubled quotes and line breaks; a quote
 * inside an unquoted field, text after a closing quote and an unterminated
 * quote are errors; unquoted spaces are data.  Records end at LF, CR LF or
 * a lone CR; blank lines are skipped; a UTF-8 byte order mark is dropped.
 * Every record must have as many fields as the first ("runs.csv:17:28:
 * expected 8 fields, found 7: no value for column 'loss'"; a short last
 * line without a line end is said to be maybe still being written).
 * Positions in messages are line:column of the field's first byte (of the
 * end of a short record; columns count bytes from 1), and errors inside a
 * field name its column once the header is read.  Fields quoted in
 * messages show control bytes, broken UTF-8 and a byte order mark as \xNN.
 *
 * Types: a column is numeric when every field is a number (as
 * scl_parse_double reads it, spaces around allowed) or an NA marker
 * (compared after trimming spaces; NaN in the column), else a string
 * column that keeps every field's text as is (NA markers included).  A
 * column of NA markers only, or of a header-only file, is numeric.
 * types/type_names force a type; a non-number in a column forced numeric
 * is an error ("runs.csv:17:4: column 'loss': 'abc' is not a number").
 */
typedef struct scl_csv_opts {
  char delimiter;         /* ',' (not CR, LF or the quote) */
  char quote;             /* '"'; 0: no quoting, quotes are data */
  int header;             /* 1: first record names the columns; 0: V1, V2.. */
  const char *const *columns; /* projection: keep only these, in this
                                 order; others are not even parsed (NULL:
                                 all; an unknown name: SCL_EINVAL) */
  size_t ncolumns;
  const char *const *type_names; /* per-column type overrides ... */
  const scl_type *types;         /* ... parallel arrays */
  size_t ntypes;
  const char *const *na;  /* NA markers (NULL: "", NA, NaN, nan, null;
                             nna = 0 with na non-NULL: none) */
  size_t nna;
  size_t max_field;       /* longest field in bytes (0: 1 MiB): longer is
                             an error */
  int threads;            /* threads for large quote-free input (0:
                             SCALELUA_THREADS, else online CPUs; 1: none).
                             The result is the same with any number. */
  const char *file_column;/* name of the source-file column added when
                             reading several files ("file"); NULL: "file" */
  int progress;           /* 1: report progress through progress_fn */
  void (*progress_fn)(void *ud, double fraction);
  void *progress_ud;
} scl_csv_opts;

/* Set every field of o to the default given beside it. */
SCL_API void scl_csv_opts_init(scl_csv_opts *o);

/*
 * Read a CSV file into a typed table.  path may be "-" (standard input), a
 * file, or a glob pattern (an existing file whose name holds * ? [ is read
 * as is).  A pattern is expanded with glob(3), sorted; the files' rows are
 * concatenated and a string column named opts->file_column ("file") gives
 * each row's path; it comes last, or where the projection names it.  It is
 * added for every pattern, even one matching a single file, so a recipe's
 * columns do not depend on how many files matched.  Headers must agree
 * (else SCL_EPARSE naming both files and the first differing column);
 * types are inferred over all files; an empty file adds nothing.  A
 * pattern matching nothing, a missing, unreadable or directory path:
 * SCL_EIO with the path and the system's reason.  An empty file gives a
 * table without columns; a header alone gives numeric columns, no rows.
 * opts may be NULL for the defaults.
 */
SCL_API int scl_table_read_csv(scl_ctx *ctx, const char *path,
                               const scl_csv_opts *opts, scl_table **out);
/* The same for an explicit list of paths (no glob expansion; the file
   column is added whatever the count). */
SCL_API int scl_table_read_csv_files(scl_ctx *ctx, const char *const *paths,
                                     size_t npaths, const scl_csv_opts *opts,
                                     scl_table **out);
/* The same for a buffer in memory; name is used in messages. */
SCL_API int scl_table_read_csv_buffer(scl_ctx *ctx, const char *name,
                                      const char *buf, size_t len,
                                      const scl_csv_opts *opts,
                                      scl_table **out);

/*
 * Record-by-record reading: each record as its fields after unquoting, the
 * header row (if any) included as the first record.  Only the delimiter,
 * quote and max_field options apply; records may differ in length; path is
 * "-" or a file (no patterns).
 */
typedef struct scl_csv_reader scl_csv_reader;
SCL_API int scl_csv_open(scl_ctx *ctx, const char *path,
                         const scl_csv_opts *opts, scl_csv_reader **out);
/*
 * Next record.  On SCL_OK, *nfields is its field count and fields[i] /
 * lens[i] its fields (borrowed until the next call; NUL-terminated too);
 * *nfields == 0 means end of input.
 */
SCL_API int scl_csv_next(scl_csv_reader *r, const char *const **fields,
                         const size_t **lens, size_t *nfields);
/* Line number (1-based) where the last returned record started. */
SCL_API size_t scl_csv_line(const scl_csv_reader *r);
/* Close the file and free r (NULL: nothing). */
SCL_API void scl_csv_close(scl_csv_reader *r);

/*
 * Parse a number exactly as strtod would (bit-identical), accepting
 * surrounding spaces and tabs, a leading '+' or '-', decimals ("12",
 * "1.5", ".5", "5.", "2.5e-04") and inf/infinity/nan in any case.
 * Rejected although strtod reads them: hexadecimal ("0x10"), "nan(...)",
 * other white space.  Out of range gives strtod's +-inf or 0/subnormal.
 * Returns 1 and sets *out when the whole of s[0..len) is a number, else 0.
 */
SCL_API int scl_parse_double(const char *s, size_t len, double *out);

/* ---------------------------------------------------------- vector kernels */

typedef enum {
  SCL_ADD, SCL_SUB, SCL_MUL, SCL_DIV, SCL_POW, SCL_NEG, SCL_LOG10, SCL_LOG,
  SCL_EXP
} scl_op;

/*
 * out[i] = a[i] op b[i].  na and nb are 1 (broadcast a scalar) or n; for
 * unary ops b is ignored.  out may alias a or b.
 */
SCL_API int scl_vec_op(scl_ctx *ctx, scl_op op, const double *a, size_t na,
                       const double *b, size_t nb, double *out, size_t n);
/* Sum, min and max over the non-NaN values (NaN when there are none). */
SCL_API double scl_vec_sum(const double *v, size_t n);
SCL_API double scl_vec_min(const double *v, size_t n);
SCL_API double scl_vec_max(const double *v, size_t n);

/* ---------------------------------------------------------- envelope */

/* One training curve: n points (x[i], y[i]); borrowed. */
typedef struct scl_curve {
  const double *x, *y;
  size_t n;
} scl_curve;

typedef enum { SCL_ENV_GRID = 0, SCL_ENV_POINTS = 1 } scl_env_mode;

typedef struct scl_envelope_opts {
  scl_env_mode mode; /* SCL_ENV_GRID */
  size_t grid;       /* points in the log-spaced grid (1500) */
} scl_envelope_opts;

/* Defaults: SCL_ENV_GRID, 1500 points. */
SCL_API void scl_envelope_opts_init(scl_envelope_opts *o);

/* The lower envelope: n points, and which curve attains each. */
typedef struct scl_envelope {
  size_t n;
  double *x, *y;
  size_t *curve;    /* index into the curves argument */
  size_t excluded;  /* input points dropped: non-positive or NaN */
} scl_envelope;

/*
 * Lower envelope of curves in log-log space: at each x, the least y any
 * curve reaches, interpolating linearly in (log x, log y) inside a curve's
 * x range and never extrapolating.  Points with x <= 0, y <= 0 or NaN (or
 * infinite) are dropped and counted.  Curves need not be sorted; of equal
 * x within a curve the least y is kept.  GRID samples `grid` log-spaced x
 * from the least to the greatest x of all curves (both exact; one point if
 * they are equal); POINTS samples every distinct x of the curves.  Grid x
 * that no curve covers (gaps between disjoint curves) are left out, so
 * n <= grid; ties go to the lower curve index.  opts NULL: defaults.
 * SCL_EINVAL: no curves, no valid point (the message counts the excluded
 * points by reason), grid < 2, a NULL x or y.  *out is freed with
 * scl_envelope_free(ctx, *out).
 */
SCL_API int scl_envelope_compute(scl_ctx *ctx, const scl_curve *curves,
                                 size_t ncurves, const scl_envelope_opts *opts,
                                 scl_envelope **out);
SCL_API void scl_envelope_free(scl_ctx *ctx, scl_envelope *e);

/* ---------------------------------------------------------- smoothing */

/*
 * Smoothers: out[i] for y[i], n values; out may be y itself (in place).
 * NaN (and infinite) values of y are missing: they enter no average and
 * their out is NaN.
 * SCL_EINVAL for bad parameters; in place, trailing and proportional need
 * one copy of y (SCL_ENOMEM).
 *
 * EMA with bias correction (as Adam does): weight alpha in (0, 1] on the
 * new value, m_t = (1-alpha) m_{t-1} + alpha y_t from m_0 = 0, out =
 * m_t / (1 - (1-alpha)^t), t counting the finite values so far.
 */
SCL_API int scl_smooth_ema(scl_ctx *ctx, const double *y, size_t n,
                           double alpha, double *out);
/* Trailing moving average over the last `window` (>= 1) points, fewer at
   the start. */
SCL_API int scl_smooth_trailing(scl_ctx *ctx, const double *y, size_t n,
                                size_t window, double *out);
/*
 * Proportional window: out[i] averages the points whose x lies within
 * x[i] * (1 +- frac), frac >= 0; x must be finite, >= 0 and increasing
 * (ties allowed).  O(n).
 */
SCL_API int scl_smooth_proportional(scl_ctx *ctx, const double *x,
                                    const double *y, size_t n, double frac,
                                    double *out);

/* ---------------------------------------------------------------- fits */

/*
 * Invalid data is an SCL_EINVAL error naming the first bad value and its
 * point, counting from 1 as the renderer's messages do:
 * "x = -1 at point 4: power law needs x > 0".
 */
typedef enum {
  SCL_FIT_POWERLAW = 1, /* y = a x^b              params a, b */
  SCL_FIT_SATURATING,   /* y = E + a x^b          params E, a, b */
  SCL_FIT_NLS,          /* user model             params p1..pk */
  SCL_FIT_LINEAR,       /* y = c0 + c1 x1 + ...   coef */
  SCL_FIT_POLY,         /* y = c0 + c1 x + ... */
  SCL_FIT_CHINCHILLA    /* L = E + A/N^alpha + B/D^beta */
} scl_fit_kind;

typedef enum { SCL_METHOD_LOG = 0, SCL_METHOD_NLS = 1 } scl_fit_method;

/*
 * Fit options.  Arrays are borrowed for the call.
 *   weights   w[i] >= 0, finite; the weighted sum of squares is minimised
 *             (observations of weight 0 are ignored).
 *   start     nparams values in the order of the fit's names; for a
 *             saturating or Chinchilla fit it replaces the grid of starts.
 *   lower, upper  per parameter; NaN or +-inf: none.  Levenberg-Marquardt
 *             fits only (a smooth transformation under lmder, clamping in
 *             the fused LM of power laws and of saturating fits on large
 *             data); the Chinchilla fit refuses them.
 *   max_iter  Levenberg-Marquardt iterations (Jacobians; default 1000);
 *             Chinchilla: L-BFGS iterations per start (default 2000).
 *   tol       Levenberg-Marquardt: MINPACK's ftol and xtol (default xtol
 *             1e-15, ftol 1e-15 x max(1, n/1000)); Chinchilla: the final
 *             gradient test (default 1e-10).
 *   bootstrap B resamples of the observations, drawn with replacement by
 *             a seeded xoshiro256** generator and refitted (from the full-
 *             data solution for iterative fits); percentile intervals at
 *             `level` go to ci_lo/ci_hi.  Resamples the method cannot fit
 *             (too few distinct x, no convergence) are left out and counted
 *             in the reason.  The same seed gives the same intervals.
 */
typedef struct scl_fit_opts {
  const double *weights;  /* per-observation weights (NULL: all 1) */
  scl_fit_method method;  /* power law: LOG (default) or NLS */
  const double *start;    /* initial parameters (NULL: automatic) */
  const double *lower;    /* bounds per parameter (NULL: none) */
  const double *upper;
  int max_iter;           /* 0: method default */
  double tol;             /* 0: method default */
  size_t bootstrap;       /* resamples for confidence intervals (0: none) */
  uint64_t seed;          /* bootstrap seed */
  double level;           /* confidence level (0: 0.95) */
  double delta;           /* Chinchilla Huber delta (0: 1e-3) */
} scl_fit_opts;

/* Zero everything: no weights, automatic start, no bounds or bootstrap. */
SCL_API void scl_fit_opts_init(scl_fit_opts *o);

/* A fitted model.  All arrays have nparams entries and belong to the fit. */
typedef struct scl_fit {
  scl_fit_kind kind;
  size_t nparams;
  const char *const *names; /* parameter names (static; "p1".. for NLS) */
  double *params;
  double *se;               /* standard errors (NaN where undefined) */
  double *ci_lo, *ci_hi;    /* bootstrap intervals, NULL without bootstrap */
  double rss;               /* weighted residual sum of squares in the
                               fitted space (power law LOG: of log y;
                               Chinchilla: the Huber objective) */
  double r2;                /* coefficient of determination, NaN if n/a */
  size_t n;                 /* observations used */
  int iterations;
  int converged;            /* 1 when the method's convergence test passed */
  char reason[96];          /* why it stopped, in words */
  double extra[4];          /* Chinchilla: a = beta/(alpha+beta), b;
                               linear: extra[0] = 1 when params[0] is the
                               intercept, else 0; NaN where unused */
} scl_fit;

/*
 * y = a * x^b.
 *   LOG (default): closed-form weighted least squares of log y on log x.
 *     se from that regression (a's by the delta method, a * se(log a));
 *     rss and r2 are those of the regression, i.e. in log space.
 *   NLS: Levenberg-Marquardt on y itself (linear space) from the LOG fit
 *     (or opts->start); rss and r2 in linear space, se from (J'J)^-1 s2.
 * Every x and y must be positive and finite: SCL_EINVAL names the first
 * that is not ("x[3] = -1: power law needs x > 0").  At least 2 points,
 * not all at one x.
 */
SCL_API int scl_fit_powerlaw(scl_ctx *ctx, const double *x, const double *y,
                             size_t n, const scl_fit_opts *opts,
                             scl_fit **out);
/*
 * y = E + a * x^b by Levenberg-Marquardt (MINPACK's lmder, analytic
 * Jacobian) from a grid of starts: E at fractions of min(y) (below the
 * data) and above max(y), each with a and b from the log-space fit of
 * |y - E|.  The starts are ranked by their sum of squares and run until
 * three converge; the lowest converged sum of squares wins.  Above 16384
 * points the grid runs on a systematic subsample and its winner is
 * polished on all the data.  x > 0, y finite, at least 3 points, y not
 * constant.  se from QR of the Jacobian; rss, r2 in linear space.
 */
SCL_API int scl_fit_saturating(scl_ctx *ctx, const double *x, const double *y,
                               size_t n, const scl_fit_opts *opts,
                               scl_fit **out);

/*
 * A model for general nonlinear least squares: yhat[i] = f(p, X[i]) for the
 * n observations, X row-major with k predictors each.  Return SCL_OK, or
 * an error code (after scl_ctx_error on ctx) to abandon the fit.
 */
typedef int (*scl_model_fn)(void *ud, scl_ctx *ctx, const double *p,
                            size_t np, const double *X, size_t n, size_t k,
                            double *yhat);
/* Optional Jacobian: J[i*np + j] = d yhat[i] / d p[j]. */
typedef int (*scl_jac_fn)(void *ud, scl_ctx *ctx, const double *p, size_t np,
                          const double *X, size_t n, size_t k, double *J);

/*
 * Nonlinear least squares by Levenberg-Marquardt (MINPACK's lmder) from
 * start[0..np).  Without jac, central differences (step cbrt(eps) |p|).
 * se = sqrt(diag((J'J)^-1) rss / (n - np)) by QR of J at the solution (NaN
 * when J is rank deficient or n == np).  converged is 1 only for MINPACK's
 * convergence tests (info 1-4); reason says which, or why it stopped.  A
 * failing callback ends the fit with its code (SCL_ECALLBACK for codes
 * outside the enum) and its message.  A start where the model is not
 * finite is SCL_EINVAL.
 */
SCL_API int scl_fit_nls(scl_ctx *ctx, scl_model_fn model, scl_jac_fn jac,
                        void *ud, const double *X, size_t n, size_t k,
                        const double *y, size_t np, const double *start,
                        const scl_fit_opts *opts, scl_fit **out);

/*
 * Linear least squares by Householder QR with column pivoting.  X: ncols
 * column pointers of n values; intercept adds c0 (the columns are then
 * centred, and all scaled to unit length, before the factorisation).
 * Names c0.. (c1.. without intercept); extra[0] says which.  A column
 * that is (numerically) a combination of the others is SCL_EINVAL naming
 * it.  r2 about the mean, or about 0 without intercept (as R's lm).
 */
SCL_API int scl_fit_linear(scl_ctx *ctx, const double *const *X, size_t ncols,
                           const double *y, size_t n, int intercept,
                           const scl_fit_opts *opts, scl_fit **out);
/*
 * Polynomial of the given degree (coef c0..c_degree of powers of x) by QR
 * in t = (x - mid) / halfrange, converted back to powers of x with the
 * covariance, plus a refinement step when it measurably helps (NIST's
 * Filip to 13 digits, Wampler1 to 14).  Fewer distinct x than
 * coefficients is SCL_EINVAL.
 */
SCL_API int scl_fit_poly(scl_ctx *ctx, const double *x, const double *y,
                         size_t n, int degree, const scl_fit_opts *opts,
                         scl_fit **out);

/*
 * Chinchilla Approach 3: L(N, D) = E + A/N^alpha + B/D^beta, minimising
 * the sum of Huber losses (delta: opts->delta, 1e-3) of
 * LSE(a - alpha log N, b - beta log D, e) - log L with A = e^a, B = e^b,
 * E = e^e, by L-BFGS (liblbfgs) with the analytic gradient from Hoffmann
 * et al.'s 4,500 starts (alpha, beta in 0..2 by 0.5, e in -1..1 by 0.5,
 * a, b in 0..25 by 5): each start runs to a loose convergence test, the
 * ten best are run on to a tight one, and the lowest objective wins.
 * params: E, A, B, alpha, beta; extra[0] = a = beta/(alpha+beta),
 * extra[1] = b = alpha/(alpha+beta); rss is the objective; se are NaN (use
 * the bootstrap).  N, D, loss > 0; at least 5 points.
 */
SCL_API int scl_fit_chinchilla(scl_ctx *ctx, const double *N, const double *D,
                               const double *loss, size_t n,
                               const scl_fit_opts *opts, scl_fit **out);

/* Evaluate a one-predictor fit (power law, saturating, poly) at x. */
SCL_API double scl_fit_predict(const scl_fit *f, double x);
/* Evaluate a Chinchilla fit at (N, D). */
SCL_API double scl_fit_predict2(const scl_fit *f, double N, double D);
/*
 * Evaluate a fit at one observation of k predictors: a linear fit of k
 * columns (c0 + c1 x[0] + ...), a Chinchilla fit (k = 2: N, D) or a
 * one-predictor law (k = 1).  NaN when k does not match, and for NLS fits
 * (the model is the caller's).
 */
SCL_API double scl_fit_predictn(const scl_fit *f, const double *x, size_t k);
/* Free f (NULL: nothing); ctx is the context that made it. */
SCL_API void scl_fit_free(scl_ctx *ctx, scl_fit *f);
/* The kind's name, as results and the Lua binding spell it: "powerlaw",
 * "saturating", "nls", "linear", "poly", "chinchilla" ("unknown" for any
 * other value). */
SCL_API const char *scl_fit_kind_name(scl_fit_kind k);

/*
 * The x > 0 where two one-predictor laws meet.  *found = 0 when they never
 * do (e.g. parallel power laws).  Two power laws: closed form in log
 * space.  Otherwise the first sign change of f - g scanning x from 1e-30
 * to 1e30 (25 points per decade), refined by Brent's method in log x.
 * SCL_EINVAL for fits that are not laws of one x (NLS, Chinchilla, linear
 * fits of several columns).
 */
SCL_API int scl_crossover(scl_ctx *ctx, const scl_fit *f, const scl_fit *g,
                          double *x, int *found);
/*
 * How much more x law f needs than law g to reach y: x_f(y) / x_g(y).
 * Power and saturating laws are inverted in closed form, others by the
 * search of scl_crossover.  SCL_EINVAL when either law never reaches y.
 */
SCL_API int scl_compute_ratio(scl_ctx *ctx, const scl_fit *f,
                              const scl_fit *g, double y, double *ratio);

/* ------------------------------------------------------------ axis ticks */

typedef struct scl_tick {
  double value;    /* data value */
  int major;       /* 1 for a major tick */
  int labelled;    /* 1 when a label is drawn */
  char label[48];  /* PLplot text, e.g. "10#u-1#d", "2#(727)10#u0#d" */
} scl_tick;

/*
 * Ticks for an axis from lo to hi (data units; log axes need lo > 0).
 * Fills at most max ticks and sets *n.  Log axes spanning less than about
 * a decade label chosen minor ticks (2x10^0, 3x10^0) as matplotlib does.
 * Ticks come in ascending order of value, also for a reversed axis
 * (lo > hi); lo == hi is widened around the point.  A buffer of
 * SCL_TICKS_MAX always suffices; a smaller one that is too small fails with
 * SCL_EINVAL and *n set to the number needed.  Non-finite limits, or
 * non-positive ones on a log axis, fail with SCL_EINVAL.
 */
#define SCL_TICKS_MAX 128
SCL_API int scl_ticks(scl_ctx *ctx, double lo, double hi, int log,
                      scl_tick *ticks, size_t max, size_t *n);

/* ----------------------------------------------------------------- charts */

typedef struct scl_chart scl_chart;

typedef enum {
  SCL_DASH_SOLID = 0, SCL_DASH_DASHED, SCL_DASH_DOTTED, SCL_DASH_DASHDOT
} scl_dash;

typedef enum {
  SCL_MARK_NONE = 0, SCL_MARK_CIRCLE, SCL_MARK_SQUARE, SCL_MARK_TRIANGLE,
  SCL_MARK_CROSS
} scl_marker;

/*
 * A style's colour left at SCL_COLOR_AUTO (what scl_style_init sets) is
 * taken, when the layer is added, from a colour-blind-safe palette
 * (Okabe-Ito: blue, vermillion, green, orange, purple, sky blue, black,
 * yellow) by the layer's index in its chart.
 */
#define SCL_COLOR_AUTO 0xFFFFFFFFu

typedef struct scl_style {
  uint32_t color;  /* 0xRRGGBB, or SCL_COLOR_AUTO */
  double alpha;    /* opacity 0..1 (1) */
  double width;    /* line width in points (1.5) */
  scl_dash dash;
  scl_marker marker;
  double marker_size; /* points (4) */
} scl_style;

/* Automatic colour, opaque, 1.5 pt solid line, no marker (4 pt). */
SCL_API void scl_style_init(scl_style *s);

typedef enum {
  SCL_LEGEND_NONE = 0, SCL_LEGEND_BEST, SCL_LEGEND_UPPER_RIGHT,
  SCL_LEGEND_UPPER_LEFT, SCL_LEGEND_LOWER_LEFT, SCL_LEGEND_LOWER_RIGHT
} scl_legend_pos;

/*
 * One panel: axes, layers, legend.  A new chart has linear axes with
 * limits from the data, no title and the legend at SCL_LEGEND_BEST.
 * Setters copy their strings (NULL removes one) and return SCL_OK,
 * SCL_ENOMEM or SCL_EINVAL; the chart uses ctx's allocator until freed.
 */
SCL_API int scl_chart_new(scl_ctx *ctx, scl_chart **out);
SCL_API void scl_chart_free(scl_chart *c);
SCL_API int scl_chart_set_title(scl_chart *c, const char *title);
/*
 * axis 0 is x, 1 is y.  lo/hi NaN: from the data.  label may be NULL.
 */
SCL_API int scl_chart_set_axis(scl_chart *c, int axis, int log,
                               const char *label, double lo, double hi);
SCL_API int scl_chart_set_legend(scl_chart *c, scl_legend_pos pos);
/* Layers, drawn in the order added.  legend NULL: not in the legend. */
SCL_API int scl_chart_add_line(scl_chart *c, const double *x, const double *y,
                               size_t n, const scl_style *s,
                               const char *legend);
SCL_API int scl_chart_add_band(scl_chart *c, const double *x, const double *lo,
                               const double *hi, size_t n, const scl_style *s,
                               const char *legend);
/*
 * A line whose x and y are borrowed, not copied: they must stay valid and
 * unchanged until the chart is freed.  For long curves the caller keeps
 * anyway (a column of a table): a million points are added without
 * copying 16 MB; they are still read once here, for the axis limits.
 */
SCL_API int scl_chart_add_line_ref(scl_chart *c, const double *x,
                                   const double *y, size_t n,
                                   const scl_style *s, const char *legend);

typedef struct scl_figure_opts {
  double width_in, height_in; /* page size in inches (6.4 x 4.8) */
  double dpi;                 /* raster resolution (150) */
  int rows, cols;             /* panel grid (1 x 1) */
  double font_pt;             /* base font size in points (10) */
  const char *title;          /* figure title over all panels (NULL) */
} scl_figure_opts;

/* The defaults given beside the fields. */
SCL_API void scl_figure_opts_init(scl_figure_opts *o);

/*
 * Render npanels charts, row by row, to path; the format comes from the
 * extension (.png, .svg, .pdf).  The file is written to a temporary name
 * beside path and renamed into place, so path holds either its old content
 * or the complete new one.  A renderer killed before the rename leaves
 * its temporary file (.NAME.tmp-PID-XXXXXX beside NAME); the next render
 * of NAME removes those whose process no longer exists.  Bad paths, formats and non-positive data on a
 * log axis fail with SCL_EINVAL / SCL_EIO before PLplot is started.
 * Titles, labels and legends are UTF-8 PLplot text ("#u".."#d" for a
 * superscript, "##" for a '#').  The same charts give byte-identical SVG;
 * PDFs too when SOURCE_DATE_EPOCH is set (their creation date).  With
 * explicit x limits, automatic y limits consider the points inside them.
 */
SCL_API int scl_render(scl_ctx *ctx, scl_chart *const *panels, size_t npanels,
                       const scl_figure_opts *opts, const char *path);

/* ----------------------------------------------------------------- export */

/*
 * Write t to path as CSV: a header record of the column names, then one
 * record per row, fields separated by ',' and records ended by "\n".  A
 * field is quoted (RFC 4180: in '"', inner quotes doubled) when it holds a
 * comma, a quote, CR or LF.  Numbers are written with the fewest of 15, 16
 * or 17 significant digits that read back to the same double, so
 * scl_table_read_csv gives every value back bit for bit; NaN is an empty
 * field, infinities are "inf" and "-inf".  Strings are written as stored
 * (a string column whose values all look like numbers reads back as
 * numbers).  The file is written to a temporary name beside path
 * (".NAME.tmp-PID-XXXXXX", as the renderer's; those left by processes
 * that no longer exist are removed first) and renamed into place, so path
 * holds its old content or the complete new one; "-" writes to standard
 * output.  SCL_EIO names the path and the system's reason; SCL_EINVAL for
 * a table without columns or an empty path.
 */
SCL_API int scl_table_write_csv(scl_ctx *ctx, const scl_table *t,
                                const char *path);

/*
 * JSON output (RFC 8259).  A writer builds one document in memory from a
 * sequence of calls, which the caller then takes as text or writes to a
 * file:
 *
 *   scl_json *j;
 *   scl_json_new(ctx, 2, &j);                 // indent by 2 (0: compact)
 *   scl_json_begin_object(j);
 *   scl_json_key(j, "law", -1);  scl_json_fit(j, fit);
 *   scl_json_key(j, "envelope", -1);  scl_json_envelope(j, env, NULL);
 *   scl_json_end(j);
 *   if (scl_json_write(j, "results.json") != SCL_OK) ...
 *   scl_json_free(j);
 *
 * Numbers round-trip exactly (shortest of 15..17 digits, as for CSV; -0
 * stays -0); NaN and infinities, which JSON lacks, are written as null.
 * Strings are escaped; bytes that are not valid UTF-8 become U+FFFD.
 * Object keys are written in the order given.  Every call returns SCL_OK,
 * SCL_ENOMEM, or SCL_EINVAL for a call out of place (a value where a key
 * is due, end() with nothing open, a second top-level value, nesting
 * deeper than 512 levels); after a failure the writer keeps failing with
 * the same code, so a sequence of calls can be checked once at the end.
 * Lengths of -1 mean "up to the NUL".
 */
typedef struct scl_json scl_json;

/* A new writer; indent 0 writes compact text, n > 0 n spaces per level. */
SCL_API int scl_json_new(scl_ctx *ctx, int indent, scl_json **out);
SCL_API void scl_json_free(scl_json *j);
SCL_API int scl_json_begin_object(scl_json *j);
SCL_API int scl_json_begin_array(scl_json *j);
/* Close the innermost open object or array. */
SCL_API int scl_json_end(scl_json *j);
/* The key of the next member of the open object. */
SCL_API int scl_json_key(scl_json *j, const char *key, ptrdiff_t len);
SCL_API int scl_json_string(scl_json *j, const char *s, ptrdiff_t len);
SCL_API int scl_json_number(scl_json *j, double v);
SCL_API int scl_json_integer(scl_json *j, int64_t v);
SCL_API int scl_json_bool(scl_json *j, int b);
SCL_API int scl_json_null(scl_json *j);
/* An array of n numbers (on one line when indenting). */
SCL_API int scl_json_numbers(scl_json *j, const double *v, size_t n);
/* A table as an object of columns: {"name": [values], ...}. */
SCL_API int scl_json_table(scl_json *j, const scl_table *t);
/*
 * A fit as {"kind": "powerlaw", "params": {"a": .., "b": ..}, "stderr":
 * {..}, "ci": {"a": [lo, hi], ..} (with bootstrap only), "rss", "r2", "n",
 * "iterations", "converged", "reason"}, plus "extra": {"a", "b"} for
 * Chinchilla and "intercept" for linear fits.
 */
SCL_API int scl_json_fit(scl_json *j, const scl_fit *f);
/*
 * An envelope as {"x": [..], "y": [..], "curve": [..], "excluded": n};
 * curve holds curve_names[e->curve[i]] when curve_names is given (one per
 * input curve), else the curve indices.
 */
SCL_API int scl_json_envelope(scl_json *j, const scl_envelope *e,
                              const char *const *curve_names);
/*
 * The document as NUL-terminated text (borrowed until the next call on
 * j); SCL_EINVAL while a container is open or before any value.
 */
SCL_API int scl_json_text(scl_json *j, const char **text, size_t *len);
/* Write the document (and a final newline) to path, atomically like
   scl_table_write_csv ("-": standard output). */
SCL_API int scl_json_write(scl_json *j, const char *path);

/* ---------------------------------------------------------- Lua embedding */

/*
 * Not in libscalelua: these live in libscalelua-lua (pkg-config
 * scalelua-lua, which also gives Lua 5.4's flags), for C programs that
 * run recipes in their own Lua state.  Include <lua.h> as usual; then
 *
 *   lua_State *L = luaL_newstate();
 *   luaL_openlibs(L);
 *   luaL_requiref(L, "scalelua", luaopen_scalelua, 1);  // global scalelua
 *   lua_pop(L, 1);
 *   if (luaL_dofile(L, "recipe.lua") != LUA_OK) ...   // require "scalelua"
 *
 * luaopen_scalelua puts the scalelua Lua modules (compiled into the
 * library) and the C module "scalelua.core" into package.preload and
 * returns require "scalelua".  luaopen_scalelua_core opens the C module
 * alone.  Both raise Lua errors (use them through lua_call/luaL_requiref).
 * The stock interpreter does not need them: `require "scalelua"` finds the
 * installed share/lua/5.4/scalelua and lib/lua/5.4/scalelua/core.so.
 */
struct lua_State;
#ifdef __GNUC__
#define SCL_LUA_API __attribute__((visibility("default")))
#else
#define SCL_LUA_API
#endif
SCL_LUA_API int luaopen_scalelua(struct lua_State *L);
SCL_LUA_API int luaopen_scalelua_core(struct lua_State *L);

#ifdef __cplusplus
}
#endif
#endif /* SCALELUA_H */
