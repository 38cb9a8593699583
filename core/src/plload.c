/*
 * plload.c -- opens PLplot with dlopen on the first render (see plload.h).
 *
 * The library's name is not guessed: the Makefile reads the SONAME of the
 * libplplot.so the build compiles against and passes it in
 * SCL_PLPLOT_SONAME ("libplplot.so.17"); "libplplot.so" is tried after it,
 * for a system whose PLplot moved to another SONAME with the development
 * link pointing at it.  A library is kept only when every function of the
 * table resolves, so a wrong or partial one is never half used.  The
 * library stays loaded until the process ends: PLplot keeps global state
 * and loads its drivers from it.
 */
#include "plload.h"

#include <dlfcn.h>
#include <pthread.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#ifndef SCL_PLPLOT_SONAME
#error "SCL_PLPLOT_SONAME must name the PLplot library (see the Makefile)"
#endif
#define FALLBACK_NAME "libplplot.so"

/* How to get PLplot back when it is missing: the Debian package the
 * Makefile found owning the library (SCL_PLPLOT_PKG), if any. */
#ifdef SCL_PLPLOT_PKG
#define INSTALL_HINT "install it with `apt-get install " SCL_PLPLOT_PKG \
  " plplot-driver-cairo`"
#else
#define INSTALL_HINT "install PLplot 5.15's run-time library and its " \
  "cairo driver (Debian: `apt-get install libplplot17 plplot-driver-cairo`)"
#endif

scli_plplot scli_pl;

/* The symbols, in the order of the table's members. */
#define SYM(name, sym) {#sym, offsetof(scli_plplot, fn_##name)},
static const struct {
  const char *sym;
  size_t off;
} syms[] = {SCLI_PLPLOT_FUNCS(SYM)};
#undef SYM

static pthread_mutex_t load_lock = PTHREAD_MUTEX_INITIALIZER;
static const char *loaded;                /* the name that worked */
static const char *use_first, *use_fallback; /* scli_plplot_use */
static int use_set;

/*
 * Open one name and resolve every symbol into *t.  0, or -1 with the
 * reason (dlerror's text, which names the library or the symbol) in err;
 * the library is closed again on failure.
 */
static int try_open(const char *name, scli_plplot *t, char *err,
                    size_t cap) {
  dlerror();
  void *h = dlopen(name, RTLD_NOW | RTLD_LOCAL);
  if (!h) {
    const char *e = dlerror();
    snprintf(err, cap, "%s", e ? e : "dlopen failed");
    return -1;
  }
  for (size_t i = 0; i < sizeof syms / sizeof *syms; i++) {
    dlerror();
    void *p = dlsym(h, syms[i].sym);
    const char *e = dlerror();
    if (!p || e) {
      snprintf(err, cap, "%s", e ? e : "a NULL symbol");
      dlclose(h);
      return -1;
    }
    /* POSIX lets a void * from dlsym become a function pointer. */
    memcpy((char *)t + syms[i].off, &p, sizeof p);
  }
  return 0;
}

/* Under load_lock: both names in turn; the table is written only when one
 * resolves completely. */
static int load(scl_ctx *ctx) {
  const char *names[2] = {SCL_PLPLOT_SONAME, FALLBACK_NAME};
  if (use_set) {
    names[0] = use_first;
    names[1] = use_fallback;
  }
  if (names[1] && names[0] && strcmp(names[0], names[1]) == 0)
    names[1] = NULL;
  char err[2][200];
  int tried = 0;
  for (int i = 0; i < 2; i++) {
    if (!names[i]) continue;
    scli_plplot t;
    memset(&t, 0, sizeof t);
    if (try_open(names[i], &t, err[tried], sizeof err[tried]) == 0) {
      scli_pl = t;
      loaded = names[i];
      return SCL_OK;
    }
    tried++;
  }
  if (tried == 0)
    return scli_error(ctx, SCL_ERENDER, "render: cannot load PLplot: no "
                      "library name to try");
  if (tried == 1)
    return scli_error(ctx, SCL_ERENDER, "render: cannot load PLplot "
                      "(%s): %s; " INSTALL_HINT, names[0] ? names[0]
                      : names[1], err[0]);
  return scli_error(ctx, SCL_ERENDER, "render: cannot load PLplot (%s, "
                    "then %s): %s; %s; " INSTALL_HINT, names[0], names[1],
                    err[0], err[1]);
}

int scli_plplot_load(scl_ctx *ctx) {
  pthread_mutex_lock(&load_lock);
  int rc = loaded ? SCL_OK : load(ctx);
  pthread_mutex_unlock(&load_lock);
  return rc;
}

const char *scli_plplot_loaded(void) {
  pthread_mutex_lock(&load_lock);
  const char *name = loaded;
  pthread_mutex_unlock(&load_lock);
  return name;
}

void scli_plplot_use(const char *first, const char *fallback) {
  pthread_mutex_lock(&load_lock);
  use_first = first;
  use_fallback = fallback;
  use_set = first || fallback;
  pthread_mutex_unlock(&load_lock);
}
