/*
 * testdir.h -- a temporary directory for the files a C unit test writes,
 * and whole-file helpers.  One directory per process: testdir_make once
 * in main, testdir_remove at the end.
 */
#ifndef SCL_TESTDIR_H
#define SCL_TESTDIR_H

#include <stddef.h>

/* Make /tmp/PREFIX-XXXXXX; 0 (after perror) if it cannot be made. */
int testdir_make(const char *prefix);
/* Its path. */
const char *testdir(void);
/* DIR/name, in one of four rotating buffers of the calling thread. */
const char *testdir_path(const char *name);
/* How many entries it holds (hidden temporary files count too). */
int testdir_count(void);
/* Remove its files (and empty directories). */
void testdir_clear(void);
/* Remove its files, then it; SCALELUA_KEEP_RENDERS=1 keeps them (said on
 * standard output). */
void testdir_remove(void);

/* The whole file, NUL-terminated (malloc'd), its length in *n (n may be
 * NULL); NULL if it cannot be read. */
char *test_slurp(const char *path, size_t *n);
/* Write n bytes of s to path (replacing it). */
void test_spit(const char *path, const char *s, size_t n);

#endif
