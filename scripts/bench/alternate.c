/*
 * alternate.c -- the benchmarks' runner: commands in alternation, rounds
 * of each command once in turn, so a change in the machine's load falls
 * on all of them alike.
 *
 *   alternate ROUNDS WARMUP DIR LABEL CMD [LABEL CMD ...]
 *
 * Each CMD runs as `sh -c "exec CMD"` in DIR with standard input from
 * /dev/null, its standard output kept in DIR/LABEL.out (the last line is
 * reported: tools that time their own work print "wall cpu ..." there),
 * its standard error in DIR/LABEL.err (both of the latest run).  WARMUP rounds come first and are not reported.
 * One line per counted run:
 *
 *   LABEL ROUND WALL_S CPU_S MAXRSS_KB EXIT | LAST_LINE_OF_STDOUT
 *
 * WALL_S is the whole process's wall-clock time, CPU_S its user + system
 * time (children and threads included), MAXRSS_KB its peak resident set.
 * A last line "# load ..." says how busy the machine was meanwhile with
 * work that was not ours: the CPU time all processes used (/proc/stat)
 * less the time of the commands run here, as a number of CPUs, and the
 * load averages at the end.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

/* CPU seconds all processes used since boot (0 when unknown). */
static double machine_busy(void) {
  FILE *f = fopen("/proc/stat", "r");
  unsigned long long v[10] = {0};
  if (!f) return 0;
  int n = fscanf(f, "cpu %llu %llu %llu %llu %llu %llu %llu %llu", &v[0],
                 &v[1], &v[2], &v[3], &v[4], &v[5], &v[6], &v[7]);
  fclose(f);
  if (n < 8) return 0;
  /* user nice system idle iowait irq softirq steal: all but idle, iowait */
  unsigned long long busy = v[0] + v[1] + v[2] + v[5] + v[6] + v[7];
  return (double)busy / (double)sysconf(_SC_CLK_TCK);
}

static double children_cpu(void) {
  struct rusage ru;
  getrusage(RUSAGE_CHILDREN, &ru);
  return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec * 1e-6 +
         (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec * 1e-6;
}

/* Run one command; its last line of output into last. */
static void run(const char *dir, const char *label, const char *cmd,
                double *wall, double *cpu, long *rss, int *status,
                char *last, size_t cap) {
  char sh[16384], err[4096], out[4096];
  snprintf(sh, sizeof sh, "exec %s", cmd);
  snprintf(err, sizeof err, "%s/%s.err", dir, label);
  snprintf(out, sizeof out, "%s/%s.out", dir, label);
  FILE *keep = fopen(out, "w");
  int fd[2];
  if (pipe(fd) != 0) {
    perror("pipe");
    exit(1);
  }
  double t0 = now();
  pid_t pid = fork();
  if (pid == 0) {
    int in = open("/dev/null", O_RDONLY);
    int e = open(err, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (in < 0 || e < 0 || chdir(dir) != 0) _exit(127);
    dup2(in, 0);
    dup2(fd[1], 1);
    dup2(e, 2);
    close(fd[0]);
    execl("/bin/sh", "sh", "-c", sh, (char *)NULL);
    _exit(127);
  }
  close(fd[1]);
  char buf[8192], line[1024] = "";
  size_t ll = 0;
  ssize_t got;
  last[0] = '\0';
  while ((got = read(fd[0], buf, sizeof buf)) > 0) {
    if (keep) fwrite(buf, 1, (size_t)got, keep);
    for (ssize_t i = 0; i < got; i++) {
      if (buf[i] == '\n') {
        line[ll] = '\0';
        if (ll) snprintf(last, cap, "%s", line);
        ll = 0;
      } else if (ll + 1 < sizeof line) {
        line[ll++] = buf[i];
      }
    }
  }
  if (keep) fclose(keep);
  if (ll) {
    line[ll] = '\0';
    snprintf(last, cap, "%s", line);
  }
  close(fd[0]);
  struct rusage ru;
  wait4(pid, status, 0, &ru);
  *wall = now() - t0;
  *cpu = (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec * 1e-6 +
         (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec * 1e-6;
  *rss = ru.ru_maxrss;
}

int main(int argc, char **argv) {
  if (argc < 6 || (argc - 4) % 2) {
    fprintf(stderr, "usage: %s ROUNDS WARMUP DIR LABEL CMD [LABEL CMD...]\n",
            argv[0]);
    return 2;
  }
  int rounds = atoi(argv[1]), warm = atoi(argv[2]), nc = (argc - 4) / 2;
  const char *dir = argv[3];
  double b0 = machine_busy(), c0 = children_cpu(), t0 = now();
  for (int r = -warm; r < rounds; r++)
    for (int c = 0; c < nc; c++) {
      const char *label = argv[4 + 2 * c], *cmd = argv[5 + 2 * c];
      double wall, cpu;
      long rss;
      int st;
      char last[1024];
      run(dir, label, cmd, &wall, &cpu, &rss, &st, last, sizeof last);
      if (r < 0) continue;
      printf("%s %d %.4f %.4f %ld %d | %s\n", label, r + 1, wall, cpu, rss,
             WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st), last);
      fflush(stdout);
    }
  double t = now() - t0, ours = children_cpu() - c0;
  double others = machine_busy() - b0 - ours;
  double la[3] = {0, 0, 0};
  if (getloadavg(la, 3) < 0) la[0] = la[1] = la[2] = -1;
  printf("# load other=%.2f cpus=%ld seconds=%.1f loadavg=%.2f,%.2f,%.2f\n",
         others > 0 ? others / t : 0.0, sysconf(_SC_NPROCESSORS_ONLN), t,
         la[0], la[1], la[2]);
  return 0;
}
