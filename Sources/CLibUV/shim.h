#ifndef MEDIASYNC_CLIBUV_SHIM_H
#define MEDIASYNC_CLIBUV_SHIM_H
#include <uv.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/syscall.h>
#include <unistd.h>

/* glibc declares these only under _GNU_SOURCE; the values and signatures are its ABI. */
#ifndef POSIX_SPAWN_SETSID
#define POSIX_SPAWN_SETSID 0x80
#endif
extern char **environ;
extern int posix_spawn_file_actions_addchdir_np(posix_spawn_file_actions_t *__restrict actions,
                                                const char *__restrict path);

/* A descriptor that becomes readable when process `pid` (our child) has exited; -1 and errno on a kernel
   without pidfd_open (before 5.3). */
static inline int mediasync_pidfd_open(int pid) {
    return (int)syscall(SYS_pidfd_open, pid, 0);
}

/* Starts `path` (a resolved executable) with `argv` and `envp` (NULL: ours) the way uv_spawn would, but
   without fork: glibc's posix_spawn clones with CLONE_VM | CLONE_VFORK, so no page table is copied and the
   parent's pages are not made copy-on-write (a multi-threaded parent then pays a fault and a TLB flush on
   every page it writes next). The child gets `stdio[i]` as descriptor i (-1: /dev/null; i itself: inherited
   as is), every signal at its default and none blocked, its own session when `new_session`, `cwd` when not
   NULL. Returns 0 with the pid, or an errno (an exec failure included: glibc reports it here). */
static inline int mediasync_spawn(pid_t *pid, const char *path, char *const argv[], char *const envp[],
                                  const char *cwd, const int stdio[3], int new_session) {
    posix_spawn_file_actions_t actions;
    posix_spawnattr_t attributes;
    int rc = posix_spawn_file_actions_init(&actions);
    if (rc != 0) return rc;
    rc = posix_spawnattr_init(&attributes);
    if (rc != 0) {
        posix_spawn_file_actions_destroy(&actions);
        return rc;
    }
    for (int fd = 0; fd < 3 && rc == 0; fd++) {
        if (stdio[fd] < 0) {
            rc = posix_spawn_file_actions_addopen(&actions, fd, "/dev/null", fd == 0 ? O_RDONLY : O_RDWR, 0);
        } else if (stdio[fd] != fd) {
            rc = posix_spawn_file_actions_adddup2(&actions, stdio[fd], fd);
        }
    }
    if (rc == 0 && cwd != NULL) rc = posix_spawn_file_actions_addchdir_np(&actions, cwd);
    sigset_t all, none;
    sigfillset(&all);
    sigemptyset(&none);
    if (rc == 0) rc = posix_spawnattr_setsigdefault(&attributes, &all);
    if (rc == 0) rc = posix_spawnattr_setsigmask(&attributes, &none);
    if (rc == 0) {
        rc = posix_spawnattr_setflags(&attributes, (short)(POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK
                                                           | (new_session ? POSIX_SPAWN_SETSID : 0)));
    }
    if (rc == 0) rc = posix_spawn(pid, path, &actions, &attributes, argv, envp != NULL ? envp : environ);
    posix_spawnattr_destroy(&attributes);
    posix_spawn_file_actions_destroy(&actions);
    return rc;
}
#endif
