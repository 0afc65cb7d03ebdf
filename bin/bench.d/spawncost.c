/* spawncost HEAP_MB N WRITES: what starting one child costs a multi-threaded parent holding HEAP_MB of written
 * memory, the way libuv's uv_spawn does it (fork, then exec in the child) and the way UV.Process does it
 * (posix_spawn: clone with CLONE_VM|CLONE_VFORK). With WRITES=1, after each spawn the parent writes every page
 * of its heap once, as a daemon's loop goes on writing its memory: after a fork each such write is a copy-on-write
 * fault (and, with a second thread, a TLB flush on the other CPU). Prints the parent's CPU (user+system)
 * and wall time per spawn for each way. Part of `bin/bench spawn`. */
#define _GNU_SOURCE
#include <pthread.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;
static volatile int stop;
static void *idle(void *arg) { (void)arg; while (!stop) usleep(1000); return NULL; }

static double cpu(void) {
    struct rusage u; getrusage(RUSAGE_SELF, &u);
    return u.ru_utime.tv_sec + u.ru_stime.tv_sec + (u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6;
}
static double wall(void) { struct timespec t; clock_gettime(CLOCK_MONOTONIC, &t); return t.tv_sec + t.tv_nsec / 1e9; }

int main(int argc, char **argv) {
    size_t heap = (size_t)atol(argv[1]) << 20; int n = atoi(argv[2]), writes = atoi(argv[3]);
    long page = sysconf(_SC_PAGESIZE);
    char *memory = heap ? malloc(heap) : NULL;
    for (size_t i = 0; i < heap; i += page) memory[i] = 1;
    pthread_t thread; pthread_create(&thread, NULL, idle, NULL);
    char *child[] = {"/bin/true", NULL};
    for (int way = 0; way < 2; way++) {
        double c0 = cpu(), w0 = wall();
        for (int k = 0; k < n; k++) {
            pid_t pid;
            if (way == 0) {
                pid = fork();
                if (pid == 0) { execve(child[0], child, environ); _exit(127); }
            } else {
                posix_spawn(&pid, child[0], NULL, NULL, child, environ);
            }
            if (writes) for (size_t i = 0; i < heap; i += page) memory[i] = (char)k;
            waitpid(pid, NULL, 0);
        }
        printf("| %s | %zu MB | %s | %.2f ms | %.2f ms |\n", way == 0 ? "fork, as uv_spawn" : "posix_spawn, as UV.Process", heap >> 20,
               writes ? "yes" : "no", (cpu() - c0) * 1000 / n, (wall() - w0) * 1000 / n);
    }
    stop = 1; pthread_join(thread, NULL);
    return 0;
}
