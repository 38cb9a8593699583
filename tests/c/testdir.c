/* testdir.c -- the C unit tests' temporary directory (see testdir.h). */
#include "testdir.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char dir[256];

int testdir_make(const char *prefix) {
  snprintf(dir, sizeof dir, "/tmp/%s-XXXXXX", prefix);
  if (mkdtemp(dir)) return 1;
  perror("mkdtemp");
  return 0;
}

const char *testdir(void) { return dir; }

const char *testdir_path(const char *name) {
  static _Thread_local char buf[4][512]; /* tests render from threads */
  static _Thread_local int k;
  k = (k + 1) % 4;
  snprintf(buf[k], sizeof buf[k], "%s/%s", dir, name);
  return buf[k];
}

/* Call fn on every entry's name; the number of entries. */
static int each(void (*fn)(const char *)) {
  DIR *d = opendir(dir);
  int n = 0;
  struct dirent *e;
  while (d && (e = readdir(d)))
    if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0) {
      n++;
      if (fn) fn(e->d_name);
    }
  if (d) closedir(d);
  return n;
}

int testdir_count(void) { return each(NULL); }

/* A file, or an empty directory a test made. */
static void remove_one(const char *name) {
  const char *p = testdir_path(name);
  if (unlink(p) != 0) rmdir(p);
}

void testdir_clear(void) { each(remove_one); }

void testdir_remove(void) {
  if (getenv("SCALELUA_KEEP_RENDERS")) {
    printf("files kept in %s\n", dir);
    return;
  }
  testdir_clear();
  if (rmdir(dir) != 0) printf("could not remove %s\n", dir);
}

char *test_slurp(const char *path, size_t *n) {
  FILE *f = fopen(path, "rb");
  if (!f) return NULL;
  char *b = NULL;
  size_t len = 0, cap = 0, got;
  do {
    if (cap - len < 4096) {
      cap = cap ? 2 * cap : 65536;
      char *nb = realloc(b, cap + 1);
      if (!nb) {
        free(b);
        fclose(f);
        return NULL;
      }
      b = nb;
    }
    got = fread(b + len, 1, cap - len, f);
    len += got;
  } while (got > 0);
  fclose(f);
  b[len] = '\0';
  if (n) *n = len;
  return b;
}

void test_spit(const char *path, const char *s, size_t n) {
  FILE *f = fopen(path, "wb");
  if (!f) return;
  fwrite(s, 1, n, f);
  fclose(f);
}
