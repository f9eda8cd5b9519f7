/* Open-loop HTTP load for bench/bench_inference.py: sends POSTs at a
 * constant rate over many keep-alive connections (epoll, one thread), the
 * i-th request due at start + i / rate whether or not the server kept up.
 * Latency runs from that scheduled time, not from the send, so a request
 * that waited for a free connection counts its wait (no coordinated
 * omission); requests still due but unsent at the end count their wait too.
 * Built by `make bench-probes` into $BUILD/bench/.
 * Usage: loadgen HOST:PORT PATH BODIES RATE SECONDS CONNS [HEADER...]
 * BODIES: a file of request bodies, one per line, sent in turn. HEADER:
 * extra "Name: value" lines. Prints one line of key=value figures. */
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define IN_CAP 65536
#define SUB_BITS 6 /* 64 buckets per power of two: under 1.6% error */
#define N_BUCKETS (64 << SUB_BITS)

typedef struct {
    int fd;
    bool busy;
    int64_t sched_ns; /* when the request in flight was due */
    const char *out;
    size_t out_len, out_off;
    char in[IN_CAP];
    size_t in_len;
} conn;

static struct {
    char **reqs; /* preformatted requests */
    size_t *lens;
    int n_reqs, next_req;
    struct sockaddr_storage addr;
    socklen_t addr_len;
    uint64_t hist[N_BUCKETS];
    uint64_t done, non2xx, errors, reconnects;
    int64_t max_ns;
} G;

static int64_t now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* Log-linear buckets of nanoseconds: exact below 64, then 64 per octave. */
static int bucket(uint64_t v) {
    if (v < (1u << SUB_BITS)) return (int)v;
    int msb = 63 - __builtin_clzll(v);
    int shift = msb - SUB_BITS;
    return ((shift + 1) << SUB_BITS) + (int)((v >> shift) & ((1u << SUB_BITS) - 1));
}

static uint64_t bucket_top(int b) {
    if (b < (1 << SUB_BITS)) return (uint64_t)b;
    int shift = (b >> SUB_BITS) - 1;
    uint64_t sub = (uint64_t)(b & ((1 << SUB_BITS) - 1)) | (1u << SUB_BITS);
    return ((sub + 1) << shift) - 1;
}

static void record(int64_t ns) {
    if (ns < 0) ns = 0;
    int b = bucket((uint64_t)ns);
    G.hist[b < N_BUCKETS ? b : N_BUCKETS - 1]++;
    if (ns > G.max_ns) G.max_ns = ns;
}

static double quantile_us(double q) {
    uint64_t total = 0, seen = 0;
    for (int i = 0; i < N_BUCKETS; i++) total += G.hist[i];
    if (!total) return 0;
    uint64_t want = (uint64_t)(q * (double)total);
    if (want >= total) want = total - 1;
    for (int i = 0; i < N_BUCKETS; i++) {
        seen += G.hist[i];
        if (seen > want) return (double)bucket_top(i) / 1000.0;
    }
    return (double)G.max_ns / 1000.0;
}

static int conn_open(int ep, conn *c) {
    c->fd = socket(G.addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (c->fd < 0) return -errno;
    int one = 1;
    setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (connect(c->fd, (struct sockaddr *)&G.addr, G.addr_len) < 0 && errno != EINPROGRESS) {
        int e = -errno;
        close(c->fd);
        c->fd = -1;
        return e;
    }
    struct epoll_event ev = {.events = EPOLLIN | EPOLLOUT | EPOLLET, .data.ptr = c};
    epoll_ctl(ep, EPOLL_CTL_ADD, c->fd, &ev);
    c->busy = false;
    c->in_len = c->out_off = c->out_len = 0;
    return 0;
}

/* A connection the server closed or reset: its request failed; reopen. */
static void conn_reset(int ep, conn *c) {
    if (c->busy) G.errors++;
    c->busy = false;
    close(c->fd);
    G.reconnects++;
    if (conn_open(ep, c) < 0) c->fd = -1;
}

static void conn_write(int ep, conn *c) {
    while (c->out_off < c->out_len) {
        ssize_t n = send(c->fd, c->out + c->out_off, c->out_len - c->out_off, MSG_NOSIGNAL);
        if (n > 0) {
            c->out_off += (size_t)n;
            continue;
        }
        if (n < 0 && (errno == EAGAIN || errno == EINTR || errno == ENOTCONN)) return;
        conn_reset(ep, c);
        return;
    }
}

/* Length of a complete response at in[0..], 0 if not complete yet. */
static size_t response_len(const conn *c, int *status) {
    const char *p = c->in, *end = c->in + c->in_len;
    const char *he = memmem(p, c->in_len, "\r\n\r\n", 4);
    if (!he) return 0;
    *status = c->in_len > 12 ? atoi(p + 9) : 0;
    size_t clen = 0;
    for (const char *l = p; l < he; l++) {
        if ((*l == 'C' || *l == 'c') && l > p && l[-1] == '\n' &&
            strncasecmp(l, "content-length:", 15) == 0) {
            clen = strtoul(l + 15, NULL, 10);
            break;
        }
    }
    size_t need = (size_t)(he + 4 - p) + clen;
    return need <= (size_t)(end - p) ? need : 0;
}

static void conn_read(int ep, conn *c, int64_t now) {
    for (;;) {
        ssize_t n = recv(c->fd, c->in + c->in_len, IN_CAP - c->in_len, 0);
        if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
            conn_reset(ep, c);
            return;
        }
        if (n < 0) break;
        c->in_len += (size_t)n;
        int st = 0;
        size_t len;
        while (c->busy && (len = response_len(c, &st)) > 0) {
            if (st == 100) { /* not expected, but skip it */
            } else {
                record(now - c->sched_ns);
                G.done++;
                if (st < 200 || st > 299) G.non2xx++;
                c->busy = false;
            }
            memmove(c->in, c->in + len, c->in_len - len);
            c->in_len -= len;
        }
        if (c->in_len == IN_CAP) { /* a response this big is not a bid */
            conn_reset(ep, c);
            return;
        }
    }
}

static int load_requests(const char *host, const char *path, const char *file, char **hdrs,
                         int n_hdrs) {
    FILE *f = fopen(file, "r");
    if (!f) return -errno;
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;
    char extra[4096] = "";
    size_t el = 0;
    for (int i = 0; i < n_hdrs; i++)
        el += (size_t)snprintf(extra + el, sizeof extra - el, "%s\r\n", hdrs[i]);
    while ((n = getline(&line, &cap, f)) > 0) {
        while (n && (line[n - 1] == '\n' || line[n - 1] == '\r')) line[--n] = '\0';
        if (!n) continue;
        size_t sz = (size_t)n + strlen(path) + strlen(host) + el + 256;
        char *r = malloc(sz);
        char **nr = realloc(G.reqs, sizeof *G.reqs * (size_t)(G.n_reqs + 1));
        size_t *nl = realloc(G.lens, sizeof *G.lens * (size_t)(G.n_reqs + 1));
        if (!r || !nr || !nl) exit(1);
        G.reqs = nr, G.lens = nl;
        int k = snprintf(r, sz,
                         "POST %s HTTP/1.1\r\nHost: %s\r\nContent-Type: application/json\r\n"
                         "Content-Length: %zd\r\n%s\r\n%s",
                         path, host, n, extra, line);
        G.reqs[G.n_reqs] = r;
        G.lens[G.n_reqs++] = (size_t)k;
    }
    free(line);
    fclose(f);
    return G.n_reqs ? 0 : -ENODATA;
}

int main(int argc, char **argv) {
    if (argc < 7) {
        fprintf(stderr, "usage: loadgen HOST:PORT PATH BODIES RATE SECONDS CONNS [HEADER...]\n");
        return 64;
    }
    char host[256];
    snprintf(host, sizeof host, "%s", argv[1]);
    char *colon = strrchr(host, ':');
    double rate = atof(argv[4]), secs = atof(argv[5]);
    int nconn = atoi(argv[6]);
    if (!colon || rate <= 0 || secs <= 0 || nconn < 1) {
        fprintf(stderr, "loadgen: bad arguments\n");
        return 64;
    }
    *colon = '\0';
    struct addrinfo hints = {.ai_socktype = SOCK_STREAM}, *ai;
    if (getaddrinfo(host, colon + 1, &hints, &ai) != 0) {
        fprintf(stderr, "loadgen: cannot resolve %s\n", argv[1]);
        return 1;
    }
    memcpy(&G.addr, ai->ai_addr, ai->ai_addrlen);
    G.addr_len = ai->ai_addrlen;
    freeaddrinfo(ai);
    *colon = ':';
    int rc = load_requests(host, argv[2], argv[3], argv + 7, argc - 7);
    if (rc < 0) {
        fprintf(stderr, "loadgen: %s: no requests (%s)\n", argv[3], strerror(-rc));
        return 1;
    }
    int ep = epoll_create1(EPOLL_CLOEXEC);
    conn *cs = calloc((size_t)nconn, sizeof *cs);
    if (ep < 0 || !cs) return 1;
    for (int i = 0; i < nconn; i++)
        if (conn_open(ep, &cs[i]) < 0) {
            fprintf(stderr, "loadgen: connect failed\n");
            return 1;
        }
    int64_t interval = (int64_t)(1e9 / rate);
    int64_t start = now_ns() + 20000000; /* connections settle first */
    int64_t stop = start + (int64_t)(secs * 1e9);
    uint64_t sent = 0;
    int free_scan = 0;
    struct epoll_event evs[256];
    for (;;) {
        int64_t now = now_ns();
        /* Every request due by now goes out on a free connection. */
        while (now < stop) {
            int64_t due = start + (int64_t)sent * interval;
            if (due > now) break;
            conn *c = NULL;
            for (int k = 0; k < nconn; k++) {
                conn *x = &cs[(free_scan + k) % nconn];
                if (x->fd >= 0 && !x->busy) {
                    c = x;
                    free_scan = (int)((x - cs) + 1) % nconn;
                    break;
                }
            }
            if (!c) break; /* all busy: the backlog waits, its clock running */
            c->busy = true;
            c->sched_ns = due;
            c->out = G.reqs[G.next_req];
            c->out_len = G.lens[G.next_req];
            c->out_off = 0;
            G.next_req = (G.next_req + 1) % G.n_reqs;
            sent++;
            conn_write(ep, c);
        }
        bool inflight = false;
        for (int k = 0; k < nconn && !inflight; k++) inflight = cs[k].busy;
        if (now >= stop && (!inflight || now > stop + 2000000000LL)) break;
        int64_t next = start + (int64_t)sent * interval;
        int64_t wait = next > now ? next - now : 0;
        if (now >= stop) wait = 1000000;
        struct timespec to = {.tv_sec = wait / 1000000000, .tv_nsec = wait % 1000000000};
        int n = epoll_pwait2(ep, evs, 256, &to, NULL);
        now = now_ns();
        for (int i = 0; i < n; i++) {
            conn *c = evs[i].data.ptr;
            if (c->fd < 0) continue;
            if (evs[i].events & (EPOLLERR | EPOLLHUP)) {
                conn_reset(ep, c);
                continue;
            }
            if (evs[i].events & EPOLLOUT) conn_write(ep, c);
            if (evs[i].events & EPOLLIN) conn_read(ep, c, now);
        }
    }
    int64_t end = now_ns();
    /* Due but never sent, or sent and never answered: they waited at least
     * until the end; counting them keeps an overloaded run honest. */
    uint64_t due_total = (uint64_t)((stop - start) / interval);
    uint64_t unanswered = 0;
    for (uint64_t i = sent; i < due_total; i++) record(end - (start + (int64_t)i * interval));
    for (int k = 0; k < nconn; k++)
        if (cs[k].busy) record(end - cs[k].sched_ns), unanswered++;
    double dur = (double)(stop - start) / 1e9;
    printf("target_rps=%.0f achieved_rps=%.0f sent=%llu done=%llu unsent=%llu unanswered=%llu "
           "non2xx=%llu errors=%llu p50_us=%.0f p99_us=%.0f p999_us=%.0f max_us=%.0f\n",
           rate, (double)G.done / dur, (unsigned long long)sent, (unsigned long long)G.done,
           (unsigned long long)(due_total > sent ? due_total - sent : 0),
           (unsigned long long)unanswered, (unsigned long long)G.non2xx,
           (unsigned long long)G.errors, quantile_us(0.5), quantile_us(0.99), quantile_us(0.999),
           (double)G.max_ns / 1000.0);
    for (int k = 0; k < nconn; k++)
        if (cs[k].fd >= 0) close(cs[k].fd);
    for (int i = 0; i < G.n_reqs; i++) free(G.reqs[i]);
    free(G.reqs);
    free(G.lens);
    free(cs);
    close(ep);
    return 0;
}
