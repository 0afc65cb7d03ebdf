// latency-proxy LISTEN_PORT TARGET_PORT DELAY_MS [WINDOW_KB]: a far link on loopback. Every byte is held
// DELAY_MS in each direction; at most WINDOW_KB per direction of a connection is in flight (a TCP window),
// so one connection gets at most WINDOW/(2*DELAY) bytes/s, as over a long path. Single thread, poll().
//
// Copied from ../shared/tools/latency-proxy.c (the project's shared measuring tools) for `bin/bench far`, with
// one change: the original freed a byte's window when it delivered the byte (DELAY_MS after reading it), so a
// connection carried WINDOW/DELAY, twice what the line above says, and several ssh channels of one connection
// hardly shared anything. Here the window comes back when the byte's ack would: DELAY_MS after delivery, one
// round trip after the byte was sent, as TCP's does. Set LATENCY_PROXY_FREE_ON_DELIVERY=1 for the old way.
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <fcntl.h>
#include <errno.h>

typedef struct Chunk { struct Chunk *next; long long due; size_t len, off; char data[]; } Chunk;
// Credit: bytes delivered at some time whose window comes back (the ack arrives) at `due`.
typedef struct Credit { struct Credit *next; long long due; size_t len; } Credit;
typedef struct { int from, to; Chunk *head, *tail; Credit *chead, *ctail; size_t inflight; int eof, shut; } Dir;
typedef struct { Dir d[2]; int live; } Conn;
static long long now_ms(void) { struct timespec t; clock_gettime(CLOCK_MONOTONIC, &t); return t.tv_sec * 1000LL + t.tv_nsec / 1000000; }
static int listen_on(int port) {
    int s = socket(AF_INET, SOCK_STREAM, 0), one = 1; setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port), .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    if (bind(s, (void *)&a, sizeof a) || listen(s, 64)) { perror("listen"); exit(1); }
    return s;
}
static int dial(int port) {
    int s = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port), .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    if (connect(s, (void *)&a, sizeof a)) { close(s); return -1; }
    return s;
}
int main(int argc, char **argv) {
    if (argc < 4) { fprintf(stderr, "usage: latency-proxy LISTEN_PORT TARGET_PORT DELAY_MS [WINDOW_KB]\n"); return 64; }
    int lp = atoi(argv[1]), tp = atoi(argv[2]); long long delay = atoll(argv[3]);
    size_t window = (argc > 4 ? atol(argv[4]) : 4096) * 1024;
    const char *old = getenv("LATENCY_PROXY_FREE_ON_DELIVERY"); long long ack = old && *old == '1' ? 0 : delay;
    int ls = listen_on(lp); Conn *cs = NULL; int nc = 0;
    for (;;) {
        struct pollfd *p = calloc(1 + 4 * nc, sizeof *p); int np = 0; long long t = now_ms(), wait = 1000;
        p[np++] = (struct pollfd){.fd = ls, .events = POLLIN};
        for (int i = 0; i < nc; i++) for (int k = 0; k < 2 && cs[i].live; k++) {
            Dir *d = &cs[i].d[k];
            if (!d->eof && d->inflight < window) p[np++] = (struct pollfd){.fd = d->from, .events = POLLIN};
            if (d->chead) { long long w = d->chead->due - t; if (w < 0) w = 0; if (w < wait) wait = w; }
            if (d->head) { long long w = d->head->due - t; if (w <= 0) { p[np++] = (struct pollfd){.fd = d->to, .events = POLLOUT}; w = 1000; } if (w < wait) wait = w; }
        }
        poll(p, np, (int)wait); t = now_ms(); free(p);
        int c = accept(ls, NULL, NULL);
        if (c < 0 && errno != EAGAIN && errno != EWOULDBLOCK) c = -1;
        fcntl(ls, F_SETFL, O_NONBLOCK);
        if (c >= 0) {
            int s = dial(tp);
            if (s < 0) close(c); else {
                int one = 1; setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one); setsockopt(s, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
                fcntl(c, F_SETFL, O_NONBLOCK); fcntl(s, F_SETFL, O_NONBLOCK);
                cs = realloc(cs, ++nc * sizeof *cs);
                cs[nc - 1] = (Conn){.d = {{.from = c, .to = s}, {.from = s, .to = c}}, .live = 1};
            }
        }
        for (int i = 0; i < nc; i++) for (int k = 0; k < 2 && cs[i].live; k++) {
            Dir *d = &cs[i].d[k];
            while (d->chead && d->chead->due <= t) { Credit *c = d->chead; d->inflight -= c->len; d->chead = c->next; if (!d->chead) d->ctail = NULL; free(c); }
            while (!d->eof && d->inflight < window) {
                Chunk *ch = malloc(sizeof *ch + 65536);
                ssize_t r = read(d->from, ch->data, 65536);
                if (r <= 0) { free(ch); if (r == 0 || (errno != EAGAIN && errno != EWOULDBLOCK)) d->eof = 1; break; }
                ch->next = NULL; ch->due = t + delay; ch->len = r; ch->off = 0; d->inflight += r;
                if (d->tail) d->tail->next = ch; else d->head = ch; d->tail = ch;
            }
            while (d->head && d->head->due <= t) {
                Chunk *ch = d->head; ssize_t w = write(d->to, ch->data + ch->off, ch->len - ch->off);
                if (w <= 0) { if (w < 0 && errno != EAGAIN && errno != EWOULDBLOCK) { d->eof = 1; while (d->head) { Chunk *n = d->head->next; free(d->head); d->head = n; } d->tail = NULL; } break; }
                ch->off += w;
                if (!ack) d->inflight -= w;
                else if (d->ctail && d->ctail->due == t + ack) d->ctail->len += w;
                else { Credit *c = malloc(sizeof *c); c->next = NULL; c->due = t + ack; c->len = w; if (d->ctail) d->ctail->next = c; else d->chead = c; d->ctail = c; }
                if (ch->off == ch->len) { d->head = ch->next; if (!d->head) d->tail = NULL; free(ch); }
            }
            if (d->eof && !d->head && !d->shut) { shutdown(d->to, SHUT_WR); d->shut = 1; }
        }
        for (int i = 0; i < nc; i++) if (cs[i].live && cs[i].d[0].shut && cs[i].d[1].shut) { close(cs[i].d[0].from); close(cs[i].d[1].from); cs[i].live = 0; }
    }
}
