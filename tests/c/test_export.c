/*
 * test_export.c -- CSV and JSON output: exact round trips of numbers
 * (through our CSV reader and through cJSON's parser), RFC 4180 quoting,
 * escaping, atomic replacement, misuse of the JSON writer, and allocation
 * failure at every step with no leak.
 */
#include "check.h"
#include "scalelua.h"
#include "testalloc.h"
#include "testdir.h"

#include <cJSON.h>
#include <dirent.h>
#include <float.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static int same_bits(double a, double b) {
  return memcmp(&a, &b, sizeof a) == 0;
}

/* Files in dir whose name contains ".tmp-" (left-over temporaries). */
static int count_temps(const char *dir) {
  DIR *d = opendir(dir);
  int n = 0;
  struct dirent *e;
  while (d && (e = readdir(d)))
    if (strstr(e->d_name, ".tmp-")) n++;
  if (d) closedir(d);
  return n;
}

static uint64_t rng = 0x9E3779B97F4A7C15ULL;
static uint64_t next_u64(void) {
  rng ^= rng << 13;
  rng ^= rng >> 7;
  rng ^= rng << 17;
  return rng;
}

/* Values that trip up printers: neighbours of short decimals, extremes. */
#define NSPECIAL 16
static double specials[NSPECIAL];
static void init_specials(void) {
  double v[NSPECIAL] = {0.1 + 0.2, 1.0 / 3, -0.0, 0.0, 5e-324, DBL_MAX,
                        -DBL_MIN, 1e22, 9007199254740993.0, 2.5e-308,
                        0.30000000000000004, 1.5468, 123456.789e10,
                        nextafter(1.0, 2.0), nextafter(0.1, 0.0), 100.0};
  memcpy(specials, v, sizeof v);
}

static void test_csv(const char *dir) {
  scl_ctx *ctx = scl_ctx_new(NULL, NULL);
  enum { N = 2000 };
  static double num[N];
  static const char *str[N];
  static char strbuf[N][24];
  static const char *const odd[] = {
      "plain", "with,comma", "with \"quotes\"", "two\nlines", "cr\rhere",
      "", " spaced ", "NA", "caf\xc3\xa9", "\"", "a,\"b\"\r\n"};
  size_t nodd = sizeof odd / sizeof *odd;
  for (size_t i = 0; i < N; i++) {
    if (i < NSPECIAL) {
      num[i] = specials[i];
    } else if (i == NSPECIAL) {
      num[i] = NAN;
    } else if (i == NSPECIAL + 1) {
      num[i] = INFINITY;
    } else if (i == NSPECIAL + 2) {
      num[i] = -INFINITY;
    } else {
      uint64_t bits = next_u64();
      memcpy(&num[i], &bits, sizeof bits);
      if (!isfinite(num[i])) num[i] = (double)(bits >> 11) * 0x1p-53;
    }
    if (i < nodd) {
      str[i] = odd[i];
    } else {
      snprintf(strbuf[i], sizeof strbuf[i], "run-%zu", i % 37);
      str[i] = strbuf[i];
    }
  }
  scl_table *t;
  CHECK(scl_table_new(ctx, &t) == SCL_OK, "new");
  CHECK(scl_table_set_numbers(t, "x", num, N) == SCL_OK, "x");
  CHECK(scl_table_set_strings(t, "name, \"quoted\"", str, N) == SCL_OK, "s");
  char path[512];
  snprintf(path, sizeof path, "%s/t.csv", dir);
  CHECK(scl_table_write_csv(ctx, t, path) == SCL_OK, "%s",
        scl_ctx_errmsg(ctx));
  CHECK(count_temps(dir) == 0, "no temporary left");

  scl_table *back = NULL;
  int rc = scl_table_read_csv(ctx, path, NULL, &back);
  CHECK(rc == SCL_OK, "read back: %s", scl_ctx_errmsg(ctx));
  if (rc == SCL_OK) {
    CHECK(scl_table_nrows(back) == N, "rows %zu", scl_table_nrows(back));
    CHECK(scl_table_ncols(back) == 2, "cols");
    CHECK(strcmp(scl_table_colname(back, 1), "name, \"quoted\"") == 0,
          "quoted header '%s'", scl_table_colname(back, 1));
    const double *x = scl_table_numbers(back, 0);
    size_t bad = 0, badstr = 0;
    for (size_t i = 0; x && i < N; i++) {
      if (isnan(num[i]) ? !isnan(x[i]) : !same_bits(x[i], num[i])) {
        if (bad++ < 5)
          printf("  row %zu: wrote %.17g, read %.17g\n", i, num[i], x[i]);
      }
      const char *s = scl_table_string(back, 1, i);
      if (!s || strcmp(s, str[i]) != 0) {
        if (badstr++ < 5) printf("  row %zu: string '%s'\n", i, s ? s : "?");
      }
    }
    CHECK(x != NULL, "x is numeric");
    CHECK(bad == 0, "%zu numbers differ", bad);
    CHECK(badstr == 0, "%zu strings differ", badstr);
    scl_table_free(back);
  }

  /* the exact text of a small table */
  scl_table *s;
  double v[3] = {0.1, NAN, -INFINITY};
  const char *w[3] = {"a", "b,c", "d\"e"};
  scl_table_new(ctx, &s);
  scl_table_set_numbers(s, "v", v, 3);
  scl_table_set_strings(s, "w", w, 3);
  CHECK(scl_table_write_csv(ctx, s, path) == SCL_OK, "small");
  char *text = test_slurp(path, NULL);
  CHECK(text && strcmp(text, "v,w\n0.1,a\n,\"b,c\"\n-inf,\"d\"\"e\"\n") == 0,
        "text '%s'", text ? text : "(null)");
  free(text);

  /* the new file gets 0666 minus the umask, like any new file */
  mode_t old = umask(022);
  unlink(path);
  CHECK(scl_table_write_csv(ctx, s, path) == SCL_OK, "rewrite");
  struct stat st;
  CHECK(stat(path, &st) == 0 && (st.st_mode & 0777) == 0644, "mode %o",
        (unsigned)(st.st_mode & 0777));
  umask(old);

  /* errors: a missing directory names the path; nothing is left behind */
  char bad[600];
  snprintf(bad, sizeof bad, "%s/no/such/dir/t.csv", dir);
  CHECK(scl_table_write_csv(ctx, s, bad) == SCL_EIO, "missing dir");
  CHECK(strstr(scl_ctx_errmsg(ctx), "no/such/dir/t.csv") &&
            strstr(scl_ctx_errmsg(ctx), "No such file"),
        "message '%s'", scl_ctx_errmsg(ctx));
  scl_table *empty;
  scl_table_new(ctx, &empty);
  CHECK(scl_table_write_csv(ctx, empty, path) == SCL_EINVAL, "no columns");
  CHECK(scl_table_write_csv(ctx, s, "") == SCL_EINVAL, "empty path");
  /* a failed write leaves the old file whole */
  char *before = test_slurp(path, NULL);
  snprintf(bad, sizeof bad, "%s", dir); /* a directory: rename fails */
  CHECK(scl_table_write_csv(ctx, s, bad) == SCL_EIO, "onto a directory");
  CHECK(count_temps(dir) == 0, "no temporary after a failed rename");
  char *after = test_slurp(path, NULL);
  CHECK(before && after && strcmp(before, after) == 0, "old file intact");
  free(before);
  free(after);

  /* leftovers of a killed writer (a dead PID) are swept, a live one's not */
  pid_t child = fork();
  if (child == 0) _exit(0);
  waitpid(child, NULL, 0);
  char dead[700], live[700];
  snprintf(dead, sizeof dead, "%s/.t.csv.tmp-%ld-abcDEF", dir, (long)child);
  snprintf(live, sizeof live, "%s/.t.csv.tmp-%ld-abcDEF", dir, (long)getpid());
  fclose(fopen(dead, "w"));
  fclose(fopen(live, "w"));
  CHECK(scl_table_write_csv(ctx, s, path) == SCL_OK, "write after a kill");
  CHECK(access(dead, F_OK) != 0, "a dead writer's temporary is removed");
  CHECK(access(live, F_OK) == 0, "a live writer's temporary is kept");
  unlink(live);
  CHECK(count_temps(dir) == 0, "nothing else left");

  scl_table_free(empty);
  scl_table_free(s);
  scl_table_free(t);
  scl_ctx_free(ctx);
}

/* Build a small document exercising every call. */
static int build_doc(scl_json *j) {
  scl_json_begin_object(j);
  scl_json_key(j, "numbers", -1);
  scl_json_numbers(j, specials, NSPECIAL);
  scl_json_key(j, "special", -1);
  scl_json_begin_array(j);
  scl_json_number(j, NAN);
  scl_json_number(j, INFINITY);
  scl_json_integer(j, INT64_MIN);
  scl_json_bool(j, 1);
  scl_json_bool(j, 0);
  scl_json_null(j);
  scl_json_begin_object(j);
  scl_json_end(j);
  scl_json_begin_array(j);
  scl_json_end(j);
  scl_json_end(j);
  scl_json_key(j, "text", 4);
  scl_json_string(j, "q\"b\\s/\n\t\x01\x1f caf\xc3\xa9 \xff\xc3 \xf0\x9f\x98\x80",
                  -1);
  scl_json_key(j, "nul\0key", 7);
  scl_json_string(j, "a\0b", 3);
  return scl_json_end(j);
}

static void check_doc(const char *text) {
  cJSON *d = cJSON_Parse(text);
  CHECK(d != NULL, "cJSON parses: %.200s", text);
  if (!d) return;
  const cJSON *a = cJSON_GetObjectItemCaseSensitive(d, "numbers");
  CHECK(cJSON_GetArraySize(a) == NSPECIAL, "numbers");
  size_t bad = 0;
  for (int i = 0; i < NSPECIAL; i++) {
    const cJSON *v = cJSON_GetArrayItem(a, i);
    if (!v || !same_bits(v->valuedouble, specials[i])) bad++;
  }
  CHECK(bad == 0, "%zu numbers changed", bad);
  const cJSON *sp = cJSON_GetObjectItemCaseSensitive(d, "special");
  CHECK(cJSON_IsNull(cJSON_GetArrayItem(sp, 0)), "NaN is null");
  CHECK(cJSON_IsNull(cJSON_GetArrayItem(sp, 1)), "inf is null");
  CHECK(cJSON_IsTrue(cJSON_GetArrayItem(sp, 3)), "true");
  CHECK(cJSON_IsFalse(cJSON_GetArrayItem(sp, 4)), "false");
  CHECK(cJSON_IsNull(cJSON_GetArrayItem(sp, 5)), "null");
  CHECK(cJSON_IsObject(cJSON_GetArrayItem(sp, 6)), "{}");
  CHECK(cJSON_IsArray(cJSON_GetArrayItem(sp, 7)), "[]");
  const cJSON *s = cJSON_GetObjectItemCaseSensitive(d, "text");
  CHECK(cJSON_IsString(s) &&
            strcmp(s->valuestring, "q\"b\\s/\n\t\x01\x1f caf\xc3\xa9 "
                                   "\xef\xbf\xbd\xef\xbf\xbd "
                                   "\xf0\x9f\x98\x80") == 0,
        "escapes and U+FFFD: '%s'", s ? s->valuestring : "?");
  cJSON_Delete(d);
  CHECK(strstr(text, "-9223372036854775808") != NULL, "INT64_MIN");
  CHECK(strstr(text, "\\u0001") && strstr(text, "\\u001f"), "\\u escapes");
  CHECK(strstr(text, "\"nul\\u0000key\"") != NULL, "NUL in a key");
}

static void test_json(const char *dir) {
  scl_ctx *ctx = scl_ctx_new(NULL, NULL);
  scl_json *j;
  const char *text;
  size_t len;
  /* compact and indented forms */
  CHECK(scl_json_new(ctx, 0, &j) == SCL_OK, "new");
  CHECK(build_doc(j) == SCL_OK, "%s", scl_ctx_errmsg(ctx));
  CHECK(scl_json_text(j, &text, &len) == SCL_OK && len == strlen(text) - 0,
        "text");
  check_doc(text);
  CHECK(strchr(text, '\n') == NULL, "compact has no newline");
  scl_json_free(j);
  CHECK(scl_json_new(ctx, 2, &j) == SCL_OK, "new");
  build_doc(j);
  CHECK(scl_json_text(j, &text, &len) == SCL_OK, "text");
  check_doc(text);
  /* the shortest digits that read back: 17, 16, 15 here */
  const char *start = "{\n  \"numbers\": [0.30000000000000004, "
                      "0.3333333333333333, -0, 0, 4.94065645841247e-324, ";
  CHECK(strncmp(text, start, strlen(start)) == 0,
        "pretty start: %.120s", text);
  CHECK(strstr(text, "\n  \"special\": [\n    null,\n    null,\n") != NULL,
        "pretty array");
  CHECK(strstr(text, "    {},\n    []\n  ],") != NULL, "empty containers");
  scl_json_free(j);

  /* a scalar document */
  scl_json_new(ctx, 0, &j);
  scl_json_number(j, 0.1);
  CHECK(scl_json_text(j, &text, &len) == SCL_OK && strcmp(text, "0.1") == 0,
        "scalar");
  scl_json_free(j);

  /* misuse */
  struct {
    const char *what;
    int n;
  } cases[] = {{"key at top", 1},        {"second value", 2},
               {"value without key", 3}, {"key in array", 4},
               {"end with nothing", 5},  {"key twice", 6},
               {"end after key", 7}};
  for (size_t c = 0; c < sizeof cases / sizeof *cases; c++) {
    scl_json_new(ctx, 0, &j);
    int rc = SCL_OK;
    switch (cases[c].n) {
    case 1: rc = scl_json_key(j, "k", -1); break;
    case 2:
      scl_json_null(j);
      rc = scl_json_null(j);
      break;
    case 3:
      scl_json_begin_object(j);
      rc = scl_json_bool(j, 1);
      break;
    case 4:
      scl_json_begin_array(j);
      rc = scl_json_key(j, "k", -1);
      break;
    case 5: rc = scl_json_end(j); break;
    case 6:
      scl_json_begin_object(j);
      scl_json_key(j, "a", -1);
      rc = scl_json_key(j, "b", -1);
      break;
    case 7:
      scl_json_begin_object(j);
      scl_json_key(j, "a", -1);
      rc = scl_json_end(j);
      break;
    }
    CHECK(rc == SCL_EINVAL, "%s: rc %d", cases[c].what, rc);
    CHECK(strncmp(scl_ctx_errmsg(ctx), "json: ", 6) == 0, "%s: '%s'",
          cases[c].what, scl_ctx_errmsg(ctx));
    CHECK(scl_json_null(j) == SCL_EINVAL, "%s: sticky", cases[c].what);
    CHECK(scl_json_text(j, &text, &len) == SCL_EINVAL, "%s: no text",
          cases[c].what);
    scl_json_free(j);
  }
  /* incomplete; too deep */
  scl_json_new(ctx, 0, &j);
  scl_json_begin_array(j);
  CHECK(scl_json_text(j, &text, &len) == SCL_EINVAL &&
            strstr(scl_ctx_errmsg(ctx), "1 open"),
        "incomplete: %s", scl_ctx_errmsg(ctx));
  int rc = SCL_OK;
  for (int i = 0; i < 600 && rc == SCL_OK; i++) rc = scl_json_begin_array(j);
  CHECK(rc == SCL_EINVAL && strstr(scl_ctx_errmsg(ctx), "512"), "depth: %s",
        scl_ctx_errmsg(ctx));
  scl_json_free(j);
  CHECK(scl_json_new(ctx, -1, &j) == SCL_EINVAL && j == NULL, "indent");

  /* fits, envelopes and tables, parsed back */
  double x[40], y[40];
  for (int i = 0; i < 40; i++) {
    x[i] = pow(10, -1 + i / 13.0);
    y[i] = 1.546 * pow(x[i], -0.108) * (1 + 0.01 * sin(i));
  }
  scl_fit *f;
  CHECK(scl_fit_powerlaw(ctx, x, y, 40, NULL, &f) == SCL_OK, "fit");
  scl_curve cv[2] = {{x, y, 20}, {x + 15, y + 15, 25}};
  scl_envelope *e;
  scl_envelope_opts eo;
  scl_envelope_opts_init(&eo);
  eo.grid = 50;
  CHECK(scl_envelope_compute(ctx, cv, 2, &eo, &e) == SCL_OK, "envelope");
  scl_table *t;
  const char *names[3] = {"r1", "r2", "r\"3"};
  double col[3] = {1.5, NAN, 0.1 + 0.2};
  scl_table_new(ctx, &t);
  scl_table_set_strings(t, "run", names, 3);
  scl_table_set_numbers(t, "loss", col, 3);
  scl_json_new(ctx, 1, &j);
  scl_json_begin_object(j);
  scl_json_key(j, "fit", -1);
  scl_json_fit(j, f);
  scl_json_key(j, "envelope", -1);
  const char *cn[2] = {"small", "large"};
  scl_json_envelope(j, e, cn);
  scl_json_key(j, "env_idx", -1);
  scl_json_envelope(j, e, NULL);
  scl_json_key(j, "table", -1);
  scl_json_table(j, t);
  CHECK(scl_json_end(j) == SCL_OK, "%s", scl_ctx_errmsg(ctx));
  char path[512];
  snprintf(path, sizeof path, "%s/r.json", dir);
  CHECK(scl_json_write(j, path) == SCL_OK, "write: %s", scl_ctx_errmsg(ctx));
  CHECK(count_temps(dir) == 0, "no temporary");
  char *file = test_slurp(path, &len);
  cJSON *d = file ? cJSON_Parse(file) : NULL;
  CHECK(d != NULL, "file parses");
  CHECK(file && len > 0 && file[len - 1] == '\n', "final newline");
  if (d) {
    const cJSON *jf = cJSON_GetObjectItem(d, "fit");
    const cJSON *p = cJSON_GetObjectItem(jf, "params");
    CHECK(strcmp(cJSON_GetObjectItem(jf, "kind")->valuestring, "powerlaw") ==
              0,
          "kind");
    CHECK(same_bits(cJSON_GetObjectItem(p, "a")->valuedouble, f->params[0]),
          "a exact");
    CHECK(same_bits(cJSON_GetObjectItem(p, "b")->valuedouble, f->params[1]),
          "b exact");
    CHECK(same_bits(
              cJSON_GetObjectItem(cJSON_GetObjectItem(jf, "stderr"), "b")
                  ->valuedouble,
              f->se[1]),
          "se exact");
    CHECK(same_bits(cJSON_GetObjectItem(jf, "r2")->valuedouble, f->r2), "r2");
    CHECK(cJSON_GetObjectItem(jf, "n")->valuedouble == 40, "n");
    CHECK(cJSON_IsBool(cJSON_GetObjectItem(jf, "converged")), "converged");
    const cJSON *je = cJSON_GetObjectItem(d, "envelope");
    const cJSON *ex = cJSON_GetObjectItem(je, "x");
    const cJSON *ey = cJSON_GetObjectItem(je, "y");
    const cJSON *ec = cJSON_GetObjectItem(je, "curve");
    const cJSON *ei = cJSON_GetObjectItem(cJSON_GetObjectItem(d, "env_idx"),
                                          "curve");
    CHECK((size_t)cJSON_GetArraySize(ex) == e->n && e->n > 0, "env n");
    size_t bad = 0;
    for (size_t i = 0; i < e->n; i++) {
      bad += !same_bits(cJSON_GetArrayItem(ex, (int)i)->valuedouble, e->x[i]);
      bad += !same_bits(cJSON_GetArrayItem(ey, (int)i)->valuedouble, e->y[i]);
      bad += strcmp(cJSON_GetArrayItem(ec, (int)i)->valuestring,
                    cn[e->curve[i]]) != 0;
      bad += cJSON_GetArrayItem(ei, (int)i)->valuedouble != (double)e->curve[i];
    }
    CHECK(bad == 0, "%zu envelope values differ", bad);
    const cJSON *jt = cJSON_GetObjectItem(d, "table");
    CHECK(strcmp(cJSON_GetArrayItem(cJSON_GetObjectItem(jt, "run"), 2)
                     ->valuestring,
                 "r\"3") == 0,
          "table string");
    const cJSON *lo = cJSON_GetObjectItem(jt, "loss");
    CHECK(cJSON_IsNull(cJSON_GetArrayItem(lo, 1)), "table NaN");
    CHECK(same_bits(cJSON_GetArrayItem(lo, 2)->valuedouble, 0.1 + 0.2),
          "table number");
    CHECK(cJSON_GetArrayItem(cJSON_GetObjectItem(d, "table"), 0) != NULL &&
              strcmp(cJSON_GetArrayItem(d, 3)->string, "table") == 0,
          "key order");
    cJSON_Delete(d);
  }
  free(file);
  scl_json_free(j);
  scl_table_free(t);
  scl_envelope_free(ctx, e);
  scl_fit_free(ctx, f);
  scl_ctx_free(ctx);
}

/* Fail each allocation in turn: a clean SCL_ENOMEM and no leak. */
static void test_oom(const char *dir) {
  char path[512];
  snprintf(path, sizeof path, "%s/oom.csv", dir);
  long fails = 0, leaks = 0, badcode = 0, bados = 0;
  int finished = 0;
  for (long k = 1; k < 400 && !finished; k++) {
    testalloc c;
    scl_ctx *ctx = testalloc_ctx(&c);
    testalloc_fail_next(&c, k);
    scl_table *t = NULL;
    const char *s[4] = {"a", "b,c", "a", "d"};
    double v[4] = {1, 2.5, NAN, 0.1};
    int rc = scl_table_new(ctx, &t);
    if (!rc) rc = scl_table_set_numbers(t, "v", v, 4);
    if (!rc) rc = scl_table_set_strings(t, "s", s, 4);
    if (!rc) rc = scl_table_write_csv(ctx, t, path);
    scl_json *j = NULL;
    if (!rc) rc = scl_json_new(ctx, 2, &j);
    if (!rc) {
      scl_json_begin_object(j);
      for (int i = 0; i < 30; i++) {
        char key[16];
        snprintf(key, sizeof key, "k%d", i);
        scl_json_key(j, key, -1);
        scl_json_table(j, t);
      }
      rc = scl_json_end(j);
    }
    const char *text;
    size_t len;
    if (!rc) rc = scl_json_text(j, &text, &len);
    if (!rc) finished = 1;
    else if (rc == SCL_ENOMEM) fails++;
    else badcode++;
    if (rc && rc != SCL_ENOMEM) printf("  k=%ld: %s\n", k, scl_ctx_errmsg(ctx));
    scl_json_free(j);
    scl_table_free(t);
    scl_ctx_free(ctx);
    if (c.bytes != 0) leaks++;
    bados += c.bad_osize;
  }
  CHECK(finished, "finished within the budget");
  CHECK(fails > 5, "%ld allocation failures exercised", fails);
  CHECK(badcode == 0, "%ld wrong codes", badcode);
  CHECK(leaks == 0, "%ld leaks", leaks);
  CHECK(bados == 0, "%ld wrong osize", bados);
  CHECK(count_temps(dir) == 0, "no temporaries after failures");
}

int main(void) {
  init_specials();
  if (!testdir_make("scl_export")) return 1;
  const char *dir = testdir();
  test_csv(dir);
  test_json(dir);
  test_oom(dir);
  testdir_remove();
  return check_done("export");
}
