/* gentree: writes a benchmark source tree of incompressible files named like Forge outputs.
 *
 *   gentree ROOT FILES MIN_BYTES MAX_BYTES SEED
 *
 * FILES files spread over 4 folders (txt2img-images, img2img-images, extras-images, txt2img-grids),
 * each with 3 date sub-folders, names like 00042-1234567890.png; sizes uniform in [MIN, MAX]; bytes
 * from a xorshift generator (incompressible, so rsync's and ssh's compression cannot help); mtimes
 * two days ago, so mediasync's `settle` takes every file. Same SEED, same tree. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static uint64_t state;
static uint64_t next(void) {
    state ^= state << 13; state ^= state >> 7; state ^= state << 17;
    return state;
}

static void mkdirs(const char *path) {
    char tmp[4096];
    snprintf(tmp, sizeof tmp, "%s", path);
    for (char *p = tmp + 1; *p; p++) {
        if (*p == '/') { *p = 0; mkdir(tmp, 0755); *p = '/'; }
    }
    if (mkdir(tmp, 0755) != 0 && errno != EEXIST) { perror(tmp); exit(1); }
}

int main(int argc, char **argv) {
    if (argc != 6) { fprintf(stderr, "usage: gentree ROOT FILES MIN_BYTES MAX_BYTES SEED\n"); return 2; }
    const char *root = argv[1];
    long files = atol(argv[2]), lo = atol(argv[3]), hi = atol(argv[4]);
    state = strtoull(argv[5], NULL, 10) * 0x9E3779B97F4A7C15ull + 1;
    static const char *folders[4] = {"txt2img-images", "img2img-images", "extras-images", "txt2img-grids"};
    static const char *days[3] = {"2026-11-22", "2026-11-23", "2026-11-24"};
    time_t when = time(NULL) - 2 * 86400;
    struct timespec times[2] = {{when, 0}, {when, 0}};
    size_t cap = (size_t)hi;
    uint64_t *buf = malloc(cap + 8);
    long long total = 0;
    for (long i = 0; i < files; i++) {
        char dir[4096], path[4200];
        snprintf(dir, sizeof dir, "%s/%s/%s", root, folders[i % 4], days[(i / 4) % 3]);
        if (i < 12) mkdirs(dir);
        snprintf(path, sizeof path, "%s/%05ld-%010llu.png", dir, i / 4,
                 (unsigned long long)(next() % 10000000000ull));
        long size = lo + (long)(next() % (uint64_t)(hi - lo + 1));
        for (long w = 0; w < size / 8 + 1; w++) buf[w] = next();
        int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        if (fd < 0 || write(fd, buf, size) != size) { perror(path); return 1; }
        futimens(fd, times);
        close(fd);
        total += size;
    }
    printf("%ld files, %lld bytes in %s\n", files, total, root);
    return 0;
}
