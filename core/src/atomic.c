/*
 * atomic.c -- temporary files for atomic writes, shared by the exporter and
 * the renderer.  A writer creates ".BASE.tmp-PID-XXXXXX" beside its target
 * (hidden, and recognisable as ours and whose), writes it, and renames it
 * into place, so a reader (or a crash) never sees half a file.  A writer
 * killed before the rename leaves its temporary file; the next write of the
 * same target removes those of processes that no longer exist.
 */
#include "internal.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/*
 * Remove the temporary files of path left by writers that were killed:
 * those of processes that no longer exist (kill(pid, 0) says ESRCH).  A
 * live process's file, ours included, may be a write in progress.
 */
static void sweep_stale(const char *path) {
  const char *slash = strrchr(path, '/');
  const char *base = slash ? slash + 1 : path;
  char dir[4096], prefix[512];
  size_t dn = slash ? (size_t)(slash - path) : 0;
  if (dn + 2 > sizeof dir) return;
  if (!slash) {
    strcpy(dir, ".");
  } else {
    memcpy(dir, path, dn ? dn : 1);
    dir[dn ? dn : 1] = '\0';
  }
  int pn = snprintf(prefix, sizeof prefix, ".%s.tmp-", base);
  if (pn < 0 || (size_t)pn >= sizeof prefix) return;
  DIR *d = opendir(dir);
  if (!d) return;
  struct dirent *e;
  while ((e = readdir(d))) {
    if (strncmp(e->d_name, prefix, (size_t)pn) != 0) continue;
    char *end;
    long pid = strtol(e->d_name + pn, &end, 10);
    if (pid <= 0 || *end != '-' || strlen(end + 1) != 6) continue;
    if (kill((pid_t)pid, 0) != 0 && errno == ESRCH)
      unlinkat(dirfd(d), e->d_name, 0);
  }
  closedir(d);
}

size_t scli_tmp_size(const char *path) { return strlen(path) + 48; }

/*
 * Sweep, then create the file under a fresh name.  open() with O_EXCL and
 * mode 0666 lets the umask decide the permissions, as for any new file
 * (mkstemp would make it 0600).  The six characters come from a counter
 * mixed with the clock and the buffer's address; a name taken by someone
 * else is retried.
 */
int scli_tmp_open(const char *path, char *tmp, size_t cap) {
  static atomic_uint seq;
  static const char digits[] =
      "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";
  sweep_stale(path);
  const char *slash = strrchr(path, '/');
  int dirlen = slash ? (int)(slash - path + 1) : 0;
  int fd = -1;
  for (int tries = 0; fd < 0 && tries < 100; tries++) {
    uint64_t x = atomic_fetch_add(&seq, 1) * 0x9E3779B97F4A7C15ULL ^
                 (uint64_t)time(NULL) * 0xBF58476D1CE4E5B9ULL ^
                 (uint64_t)(uintptr_t)tmp;
    char tag[7];
    for (int i = 0; i < 6; i++, x /= 62) tag[i] = digits[x % 62];
    tag[6] = '\0';
    snprintf(tmp, cap, "%.*s.%s.tmp-%ld-%s", dirlen, path, path + dirlen,
             (long)getpid(), tag);
    fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
    if (fd < 0 && errno != EEXIST) break;
  }
  return fd;
}
