/*
 * plload.h -- PLplot, loaded when the first figure is rendered (plload.c).
 *
 * Linking libplplot made every start of scalelua map it and its dozen
 * dependencies (about 1.3 ms of loading and relocation), even for recipes
 * that never draw.  Instead libscalelua opens it with dlopen on the first
 * render and calls it through a table of function pointers.
 *
 * render.c includes this header in place of <plplot.h>: PLplot's types and
 * constants come from <plplot.h> as before, and each PLplot function
 * render.c calls is redefined below as the matching pointer of the table,
 * so the drawing code reads as plain PLplot.  Call scli_plplot_load (which
 * is cheap once loaded) before any of them.
 */
#ifndef SCALELUA_PLLOAD_H
#define SCALELUA_PLLOAD_H

#include "internal.h"

#include <plplot.h>

/*
 * The PLplot functions render.c uses: X(name in the source, symbol in the
 * library).  <plplot.h> turns most names into c_ symbols with macros; a
 * few (plgDevs, plsError) are plain functions.  The pointers take the
 * types of the header's declarations, so a call through them is checked
 * exactly as a direct call would be.
 */
#define SCLI_PLPLOT_FUNCS(X)                                                  \
  X(pladv, c_pladv)                                                           \
  X(plcol0, c_plcol0)                                                         \
  X(plend1, c_plend1)                                                         \
  X(plfill, c_plfill)                                                         \
  X(plgDevs, plgDevs)                                                         \
  X(plgstrm, c_plgstrm)                                                       \
  X(plinit, c_plinit)                                                         \
  X(pljoin, c_pljoin)                                                         \
  X(plline, c_plline)                                                         \
  X(pllsty, c_pllsty)                                                         \
  X(plmkstrm, c_plmkstrm)                                                     \
  X(plptex, c_plptex)                                                         \
  X(plsError, plsError)                                                       \
  X(plschr, c_plschr)                                                         \
  X(plscmap0n, c_plscmap0n)                                                   \
  X(plscol0, c_plscol0)                                                       \
  X(plscol0a, c_plscol0a)                                                     \
  X(plscolbg, c_plscolbg)                                                     \
  X(plsdev, c_plsdev)                                                         \
  X(plsfnam, c_plsfnam)                                                       \
  X(plsmem, c_plsmem)                                                         \
  X(plspage, c_plspage)                                                       \
  X(plsstrm, c_plsstrm)                                                       \
  X(plstyl, c_plstyl)                                                         \
  X(plvpor, c_plvpor)                                                         \
  X(plwidth, c_plwidth)                                                       \
  X(plwind, c_plwind)

/* The table: one pointer fn_<name> per function above (## keeps the name
 * from being expanded by <plplot.h>'s macros). */
#define SCLI_PLPLOT_MEMBER(name, sym) __typeof__(sym) *fn_##name;
typedef struct scli_plplot {
  SCLI_PLPLOT_FUNCS(SCLI_PLPLOT_MEMBER)
} scli_plplot;
#undef SCLI_PLPLOT_MEMBER

/* Filled by scli_plplot_load; all NULL before it succeeds. */
extern scli_plplot scli_pl;

/*
 * Open PLplot and resolve every function above, once per process (later
 * calls return at once; thread-safe).  Tries the SONAME of the libplplot
 * the build saw (SCL_PLPLOT_SONAME), then "libplplot.so".  SCL_OK, or
 * SCL_ERENDER with a message naming the library, dlerror()'s text and the
 * package to install; a failure leaves nothing loaded and a later call
 * tries again.
 */
int scli_plplot_load(scl_ctx *ctx);

/* The library loaded ("libplplot.so.17"), or NULL before a load succeeds. */
const char *scli_plplot_loaded(void);

/* For tests: the names to try instead of the build's (fallback may be
 * NULL; both NULL: the build's again).  The strings must outlive their
 * use; no effect once PLplot is loaded. */
void scli_plplot_use(const char *first, const char *fallback);

/* Every call render.c makes goes through the table. */
#undef pladv
#undef plcol0
#undef plend1
#undef plfill
#undef plgstrm
#undef plinit
#undef pljoin
#undef plline
#undef pllsty
#undef plmkstrm
#undef plptex
#undef plschr
#undef plscmap0n
#undef plscol0
#undef plscol0a
#undef plscolbg
#undef plsdev
#undef plsfnam
#undef plsmem
#undef plspage
#undef plsstrm
#undef plstyl
#undef plvpor
#undef plwidth
#undef plwind
#define pladv (*scli_pl.fn_pladv)
#define plcol0 (*scli_pl.fn_plcol0)
#define plend1 (*scli_pl.fn_plend1)
#define plfill (*scli_pl.fn_plfill)
#define plgDevs (*scli_pl.fn_plgDevs)
#define plgstrm (*scli_pl.fn_plgstrm)
#define plinit (*scli_pl.fn_plinit)
#define pljoin (*scli_pl.fn_pljoin)
#define plline (*scli_pl.fn_plline)
#define pllsty (*scli_pl.fn_pllsty)
#define plmkstrm (*scli_pl.fn_plmkstrm)
#define plptex (*scli_pl.fn_plptex)
#define plsError (*scli_pl.fn_plsError)
#define plschr (*scli_pl.fn_plschr)
#define plscmap0n (*scli_pl.fn_plscmap0n)
#define plscol0 (*scli_pl.fn_plscol0)
#define plscol0a (*scli_pl.fn_plscol0a)
#define plscolbg (*scli_pl.fn_plscolbg)
#define plsdev (*scli_pl.fn_plsdev)
#define plsfnam (*scli_pl.fn_plsfnam)
#define plsmem (*scli_pl.fn_plsmem)
#define plspage (*scli_pl.fn_plspage)
#define plsstrm (*scli_pl.fn_plsstrm)
#define plstyl (*scli_pl.fn_plstyl)
#define plvpor (*scli_pl.fn_plvpor)
#define plwidth (*scli_pl.fn_plwidth)
#define plwind (*scli_pl.fn_plwind)

#endif
