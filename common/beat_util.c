/* Small shared basics used by every daemon and tool: bounded buffers, JSON
 * string escaping, clocks, rate limiting, the SIGTERM stop flag and strict
 * number parsing. Nothing here logs except beat_assert_fail, and nothing
 * here may block except beat_stop_sleep_ms. The signal handler only touches
 * an atomic flag and write(2) (async-signal-safe). */
#include "beat_util.h"
#include "beat_log.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

_Noreturn void beat_assert_fail(const char *expr, const char *file, int line) {
    beat_log(BEAT_FATAL, "assert_failed", "expr=\"%s\" file=%s line=%d", expr, file, line);
    abort();
}

/* ---- beat_buf ---------------------------------------------------------- */

/* A buffer with no storage yet points here so data is always a valid C
 * string; it is never written through except for its own NUL. */
static char buf_empty[1];

void beat_buf_init(beat_buf *b, size_t max) {
    b->data = buf_empty;
    b->len = 0;
    b->cap = 0;
    b->max = max ? max : SIZE_MAX - 1;
}

void beat_buf_fini(beat_buf *b) {
    if (b->cap) free(b->data);
    b->data = buf_empty;
    b->len = b->cap = 0;
}

void beat_buf_reset(beat_buf *b) {
    b->len = 0;
    if (b->cap) b->data[0] = '\0';
}

/* Makes room for n more bytes plus the NUL, respecting max. */
static int buf_reserve(beat_buf *b, size_t n) {
    size_t max = b->max ? b->max : SIZE_MAX - 1;
    if (n > max || b->len > max - n) return -EMSGSIZE;
    size_t need = b->len + n + 1;
    if (need <= b->cap) return 0;
    size_t ncap = b->cap ? b->cap : 64;
    while (ncap < need) ncap = ncap > SIZE_MAX / 2 ? need : ncap * 2;
    if (ncap > max + 1) ncap = max + 1;
    char *p = realloc(b->cap ? b->data : NULL, ncap);
    if (!p) return -ENOMEM;
    if (!b->cap) p[0] = '\0';
    b->data = p;
    b->cap = ncap;
    return 0;
}

int beat_buf_append(beat_buf *b, const void *p, size_t n) {
    int rc = buf_reserve(b, n);
    if (rc) return rc;
    if (n) memcpy(b->data + b->len, p, n);
    b->len += n;
    b->data[b->len] = '\0';
    return 0;
}

int beat_buf_puts(beat_buf *b, const char *s) { return beat_buf_append(b, s, strlen(s)); }

/* Digits backwards from the end of a scratch array, two at a time, then
 * copied. */
static int fmt_dec(char *out, uint64_t v, bool neg) {
    static const char pairs[] =
        "00010203040506070809101112131415161718192021222324252627282930313233343536373839"
        "40414243444546474849505152535455565758596061626364656667686970717273747576777879"
        "8081828384858687888990919293949596979899";
    char tmp[BEAT_I64_CHARS];
    int i = BEAT_I64_CHARS;
    while (v >= 100) {
        unsigned d = (unsigned)(v % 100);
        v /= 100;
        tmp[--i] = pairs[2 * d + 1];
        tmp[--i] = pairs[2 * d];
    }
    if (v >= 10) {
        tmp[--i] = pairs[2 * v + 1];
        tmp[--i] = pairs[2 * v];
    } else {
        tmp[--i] = (char)('0' + v);
    }
    if (neg) tmp[--i] = '-';
    int n = BEAT_I64_CHARS - i;
    memcpy(out, tmp + i, (size_t)n);
    out[n] = '\0';
    return n;
}

int beat_fmt_u64(char *out, uint64_t v) { return fmt_dec(out, v, false); }

int beat_fmt_i64(char *out, int64_t v) {
    /* -(v + 1) + 1 avoids negating INT64_MIN */
    return v >= 0 ? fmt_dec(out, (uint64_t)v, false) : fmt_dec(out, (uint64_t)(-(v + 1)) + 1, true);
}

int beat_buf_put_i64(beat_buf *b, int64_t v) {
    char t[BEAT_I64_CHARS];
    return beat_buf_append(b, t, (size_t)beat_fmt_i64(t, v));
}

int beat_buf_put_u64(beat_buf *b, uint64_t v) {
    char t[BEAT_I64_CHARS];
    return beat_buf_append(b, t, (size_t)beat_fmt_u64(t, v));
}

int beat_buf_printf(beat_buf *b, const char *fmt, ...) {
    char tmp[256];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    if (n < 0) return -EINVAL;
    if ((size_t)n < sizeof tmp) return beat_buf_append(b, tmp, (size_t)n);
    int rc = buf_reserve(b, (size_t)n);
    if (rc) return rc;
    va_start(ap, fmt);
    vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
    return 0;
}

/* Length of the valid UTF-8 sequence at s (1..4), or 0 if invalid (overlong
 * forms, surrogates and code points past U+10FFFF are invalid). */
static size_t utf8_seq_len(const unsigned char *s, size_t n) {
    unsigned c = s[0];
    if (c < 0x80) return 1;
    size_t len;
    unsigned cp, min;
    if (c >= 0xC2 && c <= 0xDF) len = 2, cp = c & 0x1F, min = 0x80;
    else if (c >= 0xE0 && c <= 0xEF) len = 3, cp = c & 0x0F, min = 0x800;
    else if (c >= 0xF0 && c <= 0xF4) len = 4, cp = c & 0x07, min = 0x10000;
    else return 0;
    if (n < len) return 0;
    for (size_t i = 1; i < len; i++) {
        if ((s[i] & 0xC0) != 0x80) return 0;
        cp = (cp << 6) | (s[i] & 0x3F);
    }
    if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return 0;
    return len;
}

int beat_buf_json_str(beat_buf *b, const char *s, size_t n) {
    static const char hex[] = "0123456789abcdef";
    size_t start_len = b->len;
    const unsigned char *p = (const unsigned char *)s;
    int rc = beat_buf_append(b, "\"", 1);
    size_t i = 0;
    while (!rc && i < n) {
        /* Copy the longest run that needs no escaping in one append. */
        size_t j = i;
        while (j < n && p[j] >= 0x20 && p[j] < 0x7F && p[j] != '"' && p[j] != '\\') j++;
        if (j > i) {
            rc = beat_buf_append(b, p + i, j - i);
            i = j;
            continue;
        }
        unsigned c = p[i];
        char esc[8];
        size_t elen = 2;
        esc[0] = '\\';
        switch (c) {
            case '"': esc[1] = '"'; break;
            case '\\': esc[1] = '\\'; break;
            case '\n': esc[1] = 'n'; break;
            case '\r': esc[1] = 'r'; break;
            case '\t': esc[1] = 't'; break;
            case '\b': esc[1] = 'b'; break;
            case '\f': esc[1] = 'f'; break;
            default:
                if (c < 0x20 || c == 0x7F) {
                    memcpy(esc, "\\u00", 4);
                    esc[4] = hex[c >> 4];
                    esc[5] = hex[c & 15];
                    elen = 6;
                } else {
                    size_t l = utf8_seq_len(p + i, n - i);
                    if (l) {
                        rc = beat_buf_append(b, p + i, l);
                        i += l;
                        continue;
                    }
                    /* Invalid UTF-8 byte: the replacement character keeps the
                 * output valid JSON and visibly marks the damage. */
                    memcpy(esc, "\\ufffd", 6);
                    elen = 6;
                }
        }
        rc = beat_buf_append(b, esc, elen);
        i++;
    }
    if (!rc) rc = beat_buf_append(b, "\"", 1);
    if (rc) {
        /* Leave the buffer unchanged on failure, like the other appends. */
        b->len = start_len;
        if (b->cap) b->data[b->len] = '\0';
    }
    return rc;
}

/* ---- reasons, clocks --------------------------------------------------- */

int beat_reasonf(beat_reason *why, int rc, const char *fmt, ...) {
    if (why) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(why->msg, sizeof why->msg, fmt, ap);
        va_end(ap);
    }
    return rc;
}

int64_t beat_now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t beat_mono_us(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

int64_t beat_mono_ms(void) { return beat_mono_us() / 1000; }

/* ---- rate limiting ----------------------------------------------------- */

bool beat_ratelimit_ok(beat_ratelimit *rl, int64_t interval_ms, uint64_t *suppressed) {
    int64_t now = beat_mono_ms();
    int64_t next = __atomic_load_n(&rl->next_ms, __ATOMIC_ACQUIRE);
    while (now >= next) {
        /* Only the thread that moves next_ms forward gets to act. */
        if (__atomic_compare_exchange_n(&rl->next_ms, &next, now + interval_ms, false,
                                        __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE)) {
            uint64_t s = __atomic_exchange_n(&rl->suppressed, 0, __ATOMIC_ACQ_REL);
            if (suppressed) *suppressed = s;
            return true;
        }
    }
    __atomic_fetch_add(&rl->suppressed, 1, __ATOMIC_RELAXED);
    if (suppressed) *suppressed = 0;
    return false;
}

/* ---- stop flag --------------------------------------------------------- */

/* The flag plus a self-pipe: the handler writes one byte that is never
 * read, so every poller on the read end wakes and stays woken. */
static atomic_bool stop_flag;
static int stop_pipe[2] = {-1, -1};
static pthread_once_t stop_once = PTHREAD_ONCE_INIT;

static void stop_pipe_init(void) {
    if (pipe2(stop_pipe, O_NONBLOCK | O_CLOEXEC) != 0) stop_pipe[0] = stop_pipe[1] = -1;
}

static void stop_handler(int sig) {
    (void)sig;
    int saved = errno;
    atomic_store(&stop_flag, true);
    if (stop_pipe[1] >= 0) {
        char c = 1;
        ssize_t r = write(stop_pipe[1], &c, 1);
        (void)r;
    }
    errno = saved;
}

void beat_stop_install(void) {
    pthread_once(&stop_once, stop_pipe_init);
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = stop_handler;
    sa.sa_flags = SA_RESTART;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    /* A peer closing a socket must be an error return, never a death. */
    sa.sa_handler = SIG_IGN;
    sigaction(SIGPIPE, &sa, NULL);
}

void beat_stop_request(void) {
    pthread_once(&stop_once, stop_pipe_init);
    stop_handler(0);
}

bool beat_stop_requested(void) { return atomic_load(&stop_flag); }

bool beat_stop_sleep_ms(int64_t ms) {
    pthread_once(&stop_once, stop_pipe_init);
    int64_t deadline = beat_mono_ms() + (ms > 0 ? ms : 0);
    for (;;) {
        if (atomic_load(&stop_flag)) return true;
        int64_t left = deadline - beat_mono_ms();
        if (left <= 0) return false;
        if (left > INT_MAX) left = INT_MAX;
        if (stop_pipe[0] < 0) {
            /* No pipe (fd exhaustion at start): sleep in short slices. */
            struct timespec ts = {0, (left > 50 ? 50 : left) * 1000000L};
            nanosleep(&ts, NULL);
            continue;
        }
        struct pollfd pfd = {.fd = stop_pipe[0], .events = POLLIN};
        poll(&pfd, 1, (int)left); /* EINTR just loops */
    }
}

/* ---- parsing ----------------------------------------------------------- */

int beat_parse_hostport(const char *s, char *host, size_t host_len, int *port) {
    if (!s || !host || !host_len || !port) return -EINVAL;
    const char *h = s, *hend, *colon;
    if (*s == '[') {
        hend = strchr(s, ']');
        if (!hend || hend[1] != ':') return -EINVAL;
        h = s + 1;
        colon = hend + 1;
    } else {
        colon = strrchr(s, ':');
        if (!colon) return -EINVAL;
        hend = colon;
        /* An unbracketed IPv6 literal is ambiguous: refuse it. */
        if (memchr(s, ':', (size_t)(colon - s))) return -EINVAL;
    }
    size_t hl = (size_t)(hend - h);
    if (hl >= host_len) return -EINVAL;
    const char *ps = colon + 1;
    if (!*ps) return -EINVAL;
    int64_t p;
    for (const char *c = ps; *c; c++)
        if (*c < '0' || *c > '9') return -EINVAL;
    if (beat_parse_i64(ps, &p) || p < 0 || p > 65535) return -EINVAL;
    for (size_t i = 0; i < hl; i++)
        if (h[i] == ' ' || h[i] == '/' || (unsigned char)h[i] < 0x20) return -EINVAL;
    memcpy(host, h, hl);
    host[hl] = '\0';
    *port = (int)p;
    return 0;
}

int beat_parse_i64(const char *s, int64_t *out) {
    if (!s || !*s || *s == ' ' || (*s >= '\t' && *s <= '\r')) return -EINVAL;
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (errno || *end) return -EINVAL;
    *out = v;
    return 0;
}

int beat_parse_double(const char *s, double *out) {
    if (!s || !*s || *s == ' ' || (*s >= '\t' && *s <= '\r')) return -EINVAL;
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (*end || !isfinite(v)) return -EINVAL;
    if (errno == ERANGE && fabs(v) > 1.0) return -EINVAL; /* overflow */
    *out = v;
    return 0;
}

uint64_t beat_random_u64(void) {
    uint64_t v;
    size_t got = 0;
    while (got < sizeof v) {
        ssize_t r = getrandom((char *)&v + got, sizeof v - got, 0);
        if (r > 0) got += (size_t)r;
        else if (r < 0 && errno != EINTR) break;
    }
    if (got == sizeof v) return v;
    /* getrandom unavailable: mix time and pid (splitmix64); ids stay
     * distinct enough for epochs, never used for secrets. */
    uint64_t z = (uint64_t)beat_mono_us() ^ ((uint64_t)getpid() << 32) ^ (uint64_t)beat_now_ms();
    z += 0x9e3779b97f4a7c15ULL;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

/* Our JSON encoders replace bad bytes with U+FFFD, so text accepted as
 * UTF-8 must be valid for decode(encode(x)) == x to hold. */
bool beat_utf8_valid(const char *str) {
    const unsigned char *s = (const unsigned char *)str;
    while (*s) {
        unsigned c = *s, cp, min;
        size_t len;
        if (c < 0x80) {
            s++;
            continue;
        }
        if (c >= 0xC2 && c <= 0xDF) len = 2, cp = c & 0x1F, min = 0x80;
        else if (c >= 0xE0 && c <= 0xEF) len = 3, cp = c & 0x0F, min = 0x800;
        else if (c >= 0xF0 && c <= 0xF4) len = 4, cp = c & 0x07, min = 0x10000;
        else return false;
        for (size_t i = 1; i < len; i++) {
            if ((s[i] & 0xC0) != 0x80) return false; /* also stops at NUL */
            cp = cp << 6 | (s[i] & 0x3F);
        }
        if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return false;
        s += len;
    }
    return true;
}

bool beat_id_ok(const char *s, size_t n, size_t max) {
    if (n == 0 || n > max) return false;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '.' || c == ':' || c == '-'))
            return false;
    }
    return true;
}

bool beat_id_text_ok(const char *s) {
    for (const unsigned char *p = (const unsigned char *)s; *p; p++)
        if (*p < 0x20 || *p == 0x7f) return false;
    return beat_utf8_valid(s);
}
