/*
 * check.h -- the tiny test harness of the C unit tests.
 *   CHECK(cond, "fmt", ...)   one assertion; a failure prints file:line
 *   CHECK_NEAR(a, b, rel)     |a-b| <= rel*max(|a|,|b|,tiny)
 *   return check_done("name") from main: prints "name: N passed, N failed"
 * The runner (tests/run.sh) adds up the last lines of every test program.
 */
#ifndef SCL_CHECK_H
#define SCL_CHECK_H
#include <math.h>
#include <stdio.h>

static int check_pass_, check_fail_;

#define CHECK(cond, ...)                                                      \
  do {                                                                        \
    if (cond) {                                                               \
      check_pass_++;                                                          \
    } else {                                                                  \
      check_fail_++;                                                          \
      printf("FAIL %s:%d: %s: ", __FILE__, __LINE__, #cond);                  \
      printf(__VA_ARGS__);                                                    \
      printf("\n");                                                           \
    }                                                                         \
  } while (0)

#define CHECK_NEAR(a, b, rel)                                                 \
  do {                                                                        \
    double ca_ = (a), cb_ = (b);                                              \
    double cs_ = fmax(fmax(fabs(ca_), fabs(cb_)), 1e-300);                    \
    CHECK(fabs(ca_ - cb_) <= (rel)*cs_, "%s = %.17g, want %.17g", #a, ca_,    \
          cb_);                                                               \
  } while (0)

static inline int check_done(const char *name) {
  printf("%s: %d passed, %d failed\n", name, check_pass_, check_fail_);
  return check_fail_ ? 1 : 0;
}
#endif
