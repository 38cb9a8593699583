/*
 * test_plload.c -- PLplot opened on the first render (plload.c).
 *
 * The test program links no PLplot, so libplplot must not be in the
 * process until a figure is drawn.  Loading failures (no such library,
 * a library without PLplot's functions, both names failing) give
 * SCL_ERENDER with a message naming the library, dlerror's text and what
 * to install, leave no file behind and nothing loaded; the fallback name
 * and concurrent first renders are tried in child processes, since a
 * load lasts for the life of the process.
 */
#include "internal.h"
#include "plload.h"

#include "check.h"
#include "testdir.h"

#include <dirent.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

/* Is a libplplot mapped into this process? (/proc/self/maps) */
static int plplot_mapped(void) {
  FILE *f = fopen("/proc/self/maps", "r");
  if (!f) return -1;
  char line[1024];
  int found = 0;
  while (fgets(line, sizeof line, f))
    if (strstr(line, "/libplplot.so")) found = 1;
  fclose(f);
  return found;
}

/* A file starting with the PNG signature, or with "<?xml" for SVG. */
static int file_starts(const char *path, const char *magic, size_t n) {
  FILE *f = fopen(path, "rb");
  if (!f) return 0;
  char b[16] = {0};
  size_t got = fread(b, 1, n, f);
  fclose(f);
  return got == n && memcmp(b, magic, n) == 0;
}
#define PNG_MAGIC "\x89PNG\r\n\x1a\n"

static scl_chart *chart(scl_ctx *ctx) {
  scl_chart *c;
  if (scl_chart_new(ctx, &c)) return NULL;
  double x[4] = {1, 10, 100, 1000}, y[4] = {3, 2.2, 1.7, 1.4};
  if (scl_chart_set_axis(c, 0, 1, "compute", NAN, NAN) ||
      scl_chart_set_axis(c, 1, 1, "loss", NAN, NAN) ||
      scl_chart_add_line(c, x, y, 4, NULL, "run")) {
    scl_chart_free(c);
    return NULL;
  }
  return c;
}

static int render(scl_ctx *ctx, scl_chart *c, const char *name) {
  scl_figure_opts o;
  scl_figure_opts_init(&o);
  o.width_in = 3;
  o.height_in = 2;
  o.dpi = 50;
  return scl_render(ctx, &c, 1, &o, testdir_path(name));
}

static int table_full(void) {
  int full = 1;
#define NONNULL(name, sym) full &= scli_pl.fn_##name != NULL;
  SCLI_PLPLOT_FUNCS(NONNULL)
#undef NONNULL
  return full;
}

static int table_empty(void) {
  int empty = 1;
#define ISNULL(name, sym) empty &= scli_pl.fn_##name == NULL;
  SCLI_PLPLOT_FUNCS(ISNULL)
#undef ISNULL
  return empty;
}

/* Run fn in a child process; its return value (failures) is the exit
 * status.  The parent's counts are not touched by the child's CHECKs, so
 * the child prints its own failures and returns their number. */
static int in_child(int (*fn)(void)) {
  fflush(stdout);
  pid_t pid = fork();
  if (pid < 0) return -1;
  if (pid == 0) {
    int fails = fn();
    fflush(stdout);
    _exit(fails > 100 ? 100 : fails);
  }
  int st;
  if (waitpid(pid, &st, 0) != pid) return -1;
  return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* Child: the build's SONAME is missing, "libplplot.so" (the development
 * link, present where the tests are built) is opened instead. */
static int child_fallback(void) {
  int before = check_fail_;
  scli_plplot_use("libscalelua-no-such-plplot.so.99", "libplplot.so");
  scl_ctx *ctx = scl_ctx_new(NULL, NULL);
  scl_chart *c = chart(ctx);
  int rc = render(ctx, c, "fallback.png");
  CHECK(rc == SCL_OK, "fallback render: %d %s", rc, scl_ctx_errmsg(ctx));
  const char *name = scli_plplot_loaded();
  CHECK(name && strcmp(name, "libplplot.so") == 0, "loaded %s",
        name ? name : "(null)");
  CHECK(file_starts(testdir_path("fallback.png"), PNG_MAGIC, 8), "PNG written");
  CHECK(plplot_mapped() == 1, "mapped after the render");
  scl_chart_free(c);
  scl_ctx_free(ctx);
  return check_fail_ - before;
}

typedef struct {
  int rc;
  char name[32];
  char msg[SCLI_ERRMAX];
} thread_job;

static void *render_thread(void *arg) {
  thread_job *t = arg;
  scl_ctx *ctx = scl_ctx_new(NULL, NULL);
  scl_chart *c = chart(ctx);
  t->rc = c ? render(ctx, c, t->name) : SCL_ENOMEM;
  snprintf(t->msg, sizeof t->msg, "%s", scl_ctx_errmsg(ctx));
  scl_chart_free(c);
  scl_ctx_free(ctx);
  return NULL;
}

/* Child: four threads render at once, none loaded before; each loads or
 * waits for the one that does, and draws its figure. */
static int child_threads(void) {
  int before = check_fail_;
  enum { N = 4 };
  scli_plplot_use(NULL, NULL); /* the build's name */
  pthread_t th[N];
  thread_job jobs[N];
  for (int i = 0; i < N; i++) {
    memset(&jobs[i], 0, sizeof jobs[i]);
    snprintf(jobs[i].name, sizeof jobs[i].name, "thread%d.%s", i,
             i % 2 ? "svg" : "png");
    pthread_create(&th[i], NULL, render_thread, &jobs[i]);
  }
  for (int i = 0; i < N; i++) pthread_join(th[i], NULL);
  for (int i = 0; i < N; i++) {
    CHECK(jobs[i].rc == SCL_OK, "thread %d: %d %s", i, jobs[i].rc,
          jobs[i].msg);
    CHECK(i % 2 ? file_starts(testdir_path(jobs[i].name), "<?xml", 5)
                : file_starts(testdir_path(jobs[i].name), PNG_MAGIC, 8),
          "thread %d's file", i);
  }
  CHECK(table_full(), "every function resolved");
  return check_fail_ - before;
}

int main(void) {
  if (!testdir_make("scalelua_plload")) return 1;
  scl_ctx *ctx = scl_ctx_new(NULL, NULL);
  scl_chart *c = chart(ctx);
  CHECK(c != NULL, "chart");
  if (!c) return check_done("test_plload");

  /* nothing drawn yet: PLplot is not in the process */
  CHECK(plplot_mapped() == 0, "libplplot mapped before any render");
  CHECK(scli_plplot_loaded() == NULL, "loaded before any render");
  CHECK(table_empty(), "table filled before any render");

  /* argument errors come first and load nothing */
  int rc = render(ctx, c, "figure.txt");
  CHECK(rc == SCL_EINVAL, "bad extension: %d", rc);
  CHECK(scli_plplot_loaded() == NULL && plplot_mapped() == 0,
        "an invalid render loaded PLplot");

  /* no such library, no fallback */
  scli_plplot_use("libscalelua-no-such-plplot.so.99", NULL);
  rc = render(ctx, c, "missing.png");
  const char *msg = scl_ctx_errmsg(ctx);
  CHECK(rc == SCL_ERENDER, "missing library: %d", rc);
  CHECK(scl_ctx_errcode(ctx) == SCL_ERENDER, "code %d", scl_ctx_errcode(ctx));
  CHECK(strstr(msg, "cannot load PLplot (libscalelua-no-such-plplot.so.99)"),
        "names the library: %s", msg);
  CHECK(strstr(msg, "cannot open shared object file"), "dlerror text: %s",
        msg);
  CHECK(strstr(msg, "apt-get install") && strstr(msg, "plplot-driver-cairo"),
        "says what to install: %s", msg);
  CHECK(testdir_count() == 0, "%d files left behind", testdir_count());
  CHECK(scli_plplot_loaded() == NULL && table_empty(), "half loaded");

  /* a library that is there but is not PLplot: the first symbol fails */
  scli_plplot_use("libm.so.6", NULL);
  rc = render(ctx, c, "notplplot.svg");
  msg = scl_ctx_errmsg(ctx);
  CHECK(rc == SCL_ERENDER, "library without PLplot: %d", rc);
  CHECK(strstr(msg, "(libm.so.6)") && strstr(msg, "undefined symbol") &&
            strstr(msg, "c_pladv"),
        "names the library and the symbol: %s", msg);
  CHECK(testdir_count() == 0, "%d files left behind", testdir_count());
  CHECK(scli_plplot_loaded() == NULL && table_empty(), "half loaded");

  /* both names fail: both are reported, in the order tried */
  scli_plplot_use("libscalelua-no-such-plplot.so.98",
                  "libscalelua-no-such-plplot.so");
  rc = render(ctx, c, "both.pdf");
  msg = scl_ctx_errmsg(ctx);
  CHECK(rc == SCL_ERENDER, "both missing: %d", rc);
  const char *a = strstr(msg, "no-such-plplot.so.98: cannot open");
  const char *b = strstr(msg, "no-such-plplot.so: cannot open");
  CHECK(a && b && a < b, "both errors in order: %s", msg);
  CHECK(strstr(msg, "then libscalelua-no-such-plplot.so)"), "both names: %s",
        msg);
  CHECK(testdir_count() == 0, "%d files left behind", testdir_count());
  CHECK(plplot_mapped() == 0, "libplplot mapped after failures");

  /* the fallback name, and concurrent first loads, in fresh processes */
  CHECK(in_child(child_fallback) == 0, "fallback child");
  CHECK(in_child(child_threads) == 0, "threads child");
  CHECK(testdir_count() == 5, "the children's 5 figures: %d", testdir_count());
  testdir_clear();
  CHECK(scli_plplot_loaded() == NULL, "the children loaded the parent");

  /* the build's name: the library the build saw, by its SONAME */
  scli_plplot_use(NULL, NULL);
  rc = render(ctx, c, "ok.png");
  CHECK(rc == SCL_OK, "render: %d %s", rc, scl_ctx_errmsg(ctx));
  const char *name = scli_plplot_loaded();
  CHECK(name && strncmp(name, "libplplot.so.", 13) == 0 && name[13] != '\0',
        "loaded by SONAME: %s", name ? name : "(null)");
  CHECK(plplot_mapped() == 1, "libplplot mapped after the render");
  CHECK(table_full(), "every function resolved");
  CHECK(file_starts(testdir_path("ok.png"), PNG_MAGIC, 8), "PNG written");

  /* once loaded, it stays: other names are not tried again */
  scli_plplot_use("libscalelua-no-such-plplot.so.99", NULL);
  rc = render(ctx, c, "again.svg");
  CHECK(rc == SCL_OK, "second render: %d %s", rc, scl_ctx_errmsg(ctx));
  CHECK(file_starts(testdir_path("again.svg"), "<?xml", 5), "SVG written");
  name = scli_plplot_loaded();
  CHECK(name && strncmp(name, "libplplot.so.", 13) == 0, "still %s",
        name ? name : "(null)");
  scli_plplot_use(NULL, NULL);

  scl_chart_free(c);
  scl_ctx_free(ctx);
  testdir_remove();
  return check_done("test_plload");
}
