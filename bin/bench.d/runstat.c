/* runstat: runs a command and reports its wall time, the CPU time of the command's own process, and
 * the CPU time of everything it started. Used by bin/bench to measure mediasync's own share.
 *
 *   runstat -- CMD ARGS...   prints one line to fd 3 if it is open, else to stderr, and exits
 *   with the command's status:   wall=1.234 self=0.120 children=2.500 orphans=0.300 total=2.920 status=0
 *
 * Method. The command is forked and exec'd. When it exits we first look at it as a zombie
 * (waitid with WNOWAIT): /proc/PID/stat then still holds utime+stime of all its threads (self) and
 * cutime+cstime, the CPU of the children it reaped (rsync, ssh, the listing shells, and what they
 * reaped in turn). Then we reap it with wait4. We are a child subreaper (PR_SET_CHILD_SUBREAPER), so
 * processes that outlived their parent (the ssh ControlPersist master forks itself away) come to us;
 * we wait for them (at most 15 s) and count their CPU as orphans. total = self + children + orphans,
 * checked against getrusage(RUSAGE_CHILDREN). Resolution: clock ticks (10 ms). */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

static double tv(struct timeval t) { return t.tv_sec + t.tv_usec / 1e6; }

static void on_alarm(int sig) { (void)sig; }

int main(int argc, char **argv) {
    if (argc < 3 || strcmp(argv[1], "--") != 0) {
        fprintf(stderr, "usage: runstat -- CMD ARGS...\n");
        return 2;
    }
    /* Our report goes to fd 3; the command must not hold it open (a caller reading it would wait). */
    fcntl(3, F_SETFD, FD_CLOEXEC);
    if (prctl(PR_SET_CHILD_SUBREAPER, 1) != 0) { perror("runstat: PR_SET_CHILD_SUBREAPER"); return 2; }
    double start = now();
    pid_t pid = fork();
    if (pid < 0) { perror("runstat: fork"); return 2; }
    if (pid == 0) {
        execvp(argv[2], argv + 2);
        fprintf(stderr, "runstat: cannot run %s: %s\n", argv[2], strerror(errno));
        _exit(127);
    }
    siginfo_t info;
    while (waitid(P_PID, pid, &info, WEXITED | WNOWAIT) != 0) {
        if (errno != EINTR) { perror("runstat: waitid"); return 2; }
    }
    double wall = now() - start;
    long tick = sysconf(_SC_CLK_TCK);
    double self = -1, children = -1;
    char path[64], buf[4096];
    snprintf(path, sizeof path, "/proc/%d/stat", pid);
    FILE *f = fopen(path, "r");
    if (f) {
        size_t n = fread(buf, 1, sizeof buf - 1, f);
        buf[n] = 0;
        fclose(f);
        /* Fields after the ")" that ends the command name: state is field 3; utime 14, stime 15,
         * cutime 16, cstime 17. */
        char *p = strrchr(buf, ')');
        unsigned long long ut, st;
        long long cut, cst;
        if (p && sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu %lld %lld",
                        &ut, &st, &cut, &cst) == 4) {
            self = (double)(ut + st) / tick;
            children = (double)(cut + cst) / tick;
        }
    }
    int status = 0;
    struct rusage ru;
    wait4(pid, &status, 0, &ru);
    double waited = tv(ru.ru_utime) + tv(ru.ru_stime);
    /* Orphans handed to us: wait for them, but not forever. */
    struct sigaction sa = {0};
    sa.sa_handler = on_alarm;
    sigaction(SIGALRM, &sa, NULL);
    alarm(15);
    int left = 0;
    for (;;) {
        pid_t got = wait4(-1, NULL, 0, NULL);
        if (got > 0) continue;
        if (errno == EINTR) { left = 1; break; }
        break; /* ECHILD: none left */
    }
    alarm(0);
    struct rusage all;
    getrusage(RUSAGE_CHILDREN, &all);
    double total = tv(all.ru_utime) + tv(all.ru_stime);
    double orphans = total - waited;
    if (orphans < 0) orphans = 0;
    int code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    FILE *out = fdopen(3, "w");
    if (!out) out = stderr;
    fprintf(out, "wall=%.3f self=%.3f children=%.3f orphans=%.3f total=%.3f status=%d%s\n",
            wall, self, children, orphans, total, code, left ? " orphans_left=1" : "");
    fflush(out);
    return code;
}
