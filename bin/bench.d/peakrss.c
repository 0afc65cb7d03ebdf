/* peakrss: runs a command and reports its wall time and memory: the peak RSS of the command's own process
 * (VmHWM, read from /proc every 20 ms while it runs, the last reading before it exits) and the peak of the
 * summed RSS of its whole process tree (rsync runs as two or three processes).
 *
 *   peakrss -- CMD ARGS...   prints `wall=1.234 self_kib=12345 tree_kib=23456 status=0` to fd 3 if open, else
 *   stderr, and exits with the command's status.
 *
 * Sampling misses growth in the last 20 ms of a run; VmHWM itself is the kernel's high-water mark, so the
 * own figure is exact up to that. */
#define _GNU_SOURCE
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

static long status_kib(pid_t pid, const char *key) {
    char path[64], line[256];
    snprintf(path, sizeof path, "/proc/%d/status", pid);
    FILE *f = fopen(path, "r");
    if (!f) return -1;
    long value = -1;
    size_t n = strlen(key);
    while (fgets(line, sizeof line, f)) {
        if (strncmp(line, key, n) == 0) { value = atol(line + n); break; }
    }
    fclose(f);
    return value;
}

static pid_t parent_of(pid_t pid) {
    char path[64], buf[512];
    snprintf(path, sizeof path, "/proc/%d/stat", pid);
    int fd = open(path, O_RDONLY);
    if (fd < 0) return -1;
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (n <= 0) return -1;
    buf[n] = 0;
    char *close_paren = strrchr(buf, ')');
    if (!close_paren) return -1;
    char state; int ppid;
    if (sscanf(close_paren + 2, "%c %d", &state, &ppid) != 2) return -1;
    return ppid;
}

/* Summed VmRSS of `root` and every descendant (one pass over /proc; a parent listed after its child is
 * caught by repeating until nothing new joins). */
static long tree_kib(pid_t root) {
    pid_t members[4096]; int count = 0;
    members[count++] = root;
    for (int changed = 1; changed;) {
        changed = 0;
        DIR *d = opendir("/proc");
        if (!d) break;
        struct dirent *e;
        while ((e = readdir(d))) {
            pid_t pid = atoi(e->d_name);
            if (pid <= 0) continue;
            int known = 0;
            for (int i = 0; i < count; i++) if (members[i] == pid) { known = 1; break; }
            if (known) continue;
            pid_t parent = parent_of(pid);
            for (int i = 0; i < count; i++) {
                if (members[i] == parent && count < 4096) { members[count++] = pid; changed = 1; break; }
            }
        }
        closedir(d);
    }
    long total = 0;
    for (int i = 0; i < count; i++) { long k = status_kib(members[i], "VmRSS:"); if (k > 0) total += k; }
    return total;
}

int main(int argc, char **argv) {
    if (argc < 3 || strcmp(argv[1], "--") != 0) { fprintf(stderr, "usage: peakrss -- CMD ARGS...\n"); return 2; }
    double start = now();
    pid_t child = fork();
    if (child == 0) { execvp(argv[2], argv + 2); perror(argv[2]); _exit(127); }
    long self = 0, tree = 0;
    int status = 0;
    for (;;) {
        pid_t done = waitpid(child, &status, WNOHANG);
        if (done == child) break;
        long hwm = status_kib(child, "VmHWM:");
        if (hwm > self) self = hwm;
        long t = tree_kib(child);
        if (t > tree) tree = t;
        usleep(20000);
    }
    double wall = now() - start;
    int code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    FILE *out = fcntl(3, F_GETFD) != -1 ? fdopen(3, "w") : stderr;
    fprintf(out, "wall=%.3f self_kib=%ld tree_kib=%ld status=%d\n", wall, self, tree, code);
    fflush(out);
    return code;
}
