/* Small shared basics: bounded byte buffers, clocks, rate limiting, the stop
 * flag set by SIGTERM, reasons for rejected input, and BEAT_ASSERT for
 * programmer errors only (never for input from the network or disk). */
#ifndef BEAT_UTIL_H
#define BEAT_UTIL_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define BEAT_ASSERT(c)                                                                             \
    do {                                                                                           \
        if (!(c)) beat_assert_fail(#c, __FILE__, __LINE__);                                        \
    } while (0)
_Noreturn void beat_assert_fail(const char *expr, const char *file, int line);

/* Growable byte buffer with a hard maximum. data is always NUL-terminated
 * (the NUL is not counted in len). Appends past max fail with -EMSGSIZE and
 * leave the buffer unchanged. max 0 means no limit (use only for data that
 * is already bounded). */
typedef struct beat_buf {
    char *data;
    size_t len, cap, max;
} beat_buf;

void beat_buf_init(beat_buf *b, size_t max);
void beat_buf_fini(beat_buf *b);
void beat_buf_reset(beat_buf *b); /* len = 0, keeps memory */
int beat_buf_append(beat_buf *b, const void *p, size_t n);
int beat_buf_puts(beat_buf *b, const char *s);
int beat_buf_printf(beat_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Appends s as a JSON string literal, quotes included, escaped. */
int beat_buf_json_str(beat_buf *b, const char *s, size_t n);
/* Decimal integers without printf (hot encoders: bid logs, responses). */
#define BEAT_I64_CHARS 21 /* longest text ("-9223372036854775808") + NUL */
/* Write at most BEAT_I64_CHARS bytes (the text and a NUL) to out; return
 * the text's length. */
int beat_fmt_u64(char *out, uint64_t v);
int beat_fmt_i64(char *out, int64_t v);
int beat_buf_put_i64(beat_buf *b, int64_t v);
int beat_buf_put_u64(beat_buf *b, uint64_t v);

/* Why input was rejected, for 400 bodies and logs. */
typedef struct beat_reason {
    char msg[192];
} beat_reason;
/* Formats into why (if why is not NULL); always returns rc so callers can
 * write `return beat_reasonf(why, -EINVAL, "...")`. */
int beat_reasonf(beat_reason *why, int rc, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

int64_t beat_now_ms(void); /* wall clock, unix ms */
/* True when ts_ms, a wall-clock time another daemon stamped, is more than
 * skew_ms ahead of now_ms. Such a time would read as fresh for as long as it
 * is ahead and switch off every age check it feeds: it is refused wherever
 * a peer's time gates a safety decision (docs/contracts.md "Timestamps"). */
static inline bool beat_ts_ahead(int64_t ts_ms, int64_t now_ms, int64_t skew_ms) {
    return ts_ms > now_ms && ts_ms - now_ms > skew_ms;
}
int64_t beat_mono_us(void); /* monotonic, for durations */
int64_t beat_mono_ms(void);

/* Little-endian integers in byte buffers, whatever the host's order: the
 * one way every binary format here (checkpoints, the 'C' frame) packs
 * them. */
static inline void beat_put_le32(uint8_t *p, uint32_t v) {
    for (int i = 0; i < 4; i++) p[i] = (uint8_t)(v >> (8 * i));
}
static inline void beat_put_le64(uint8_t *p, uint64_t v) {
    for (int i = 0; i < 8; i++) p[i] = (uint8_t)(v >> (8 * i));
}
static inline uint32_t beat_get_le32(const uint8_t *p) {
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}
static inline uint64_t beat_get_le64(const uint8_t *p) {
    return (uint64_t)beat_get_le32(p) | (uint64_t)beat_get_le32(p + 4) << 32;
}

/* Allows one event per interval; counts the ones it refused. Thread-safe. */
typedef struct beat_ratelimit {
    int64_t next_ms;     /* accessed atomically */
    uint64_t suppressed; /* accessed atomically */
} beat_ratelimit;
/* True if the caller may act now; *suppressed gets how many were refused
 * since the last allowed one. */
bool beat_ratelimit_ok(beat_ratelimit *rl, int64_t interval_ms, uint64_t *suppressed);

/* SIGTERM/SIGINT handling shared by daemons. beat_stop_install() sets the
 * handlers; threads poll beat_stop_requested() or sleep with
 * beat_stop_sleep_ms(), which returns early (true) when a stop arrives. */
void beat_stop_install(void);
void beat_stop_request(void);
bool beat_stop_requested(void);
bool beat_stop_sleep_ms(int64_t ms);

/* Parses "host:port" (host may be empty = 0.0.0.0; "[::1]:80" allowed).
 * host gets at most host_len-1 chars. */
int beat_parse_hostport(const char *s, char *host, size_t host_len, int *port);

/* strtoll/strtod that accept the whole string only. */
int beat_parse_i64(const char *s, int64_t *out);
int beat_parse_double(const char *s, double *out);

/* Strict UTF-8: no overlongs, surrogates or code points past U+10FFFF. */
bool beat_utf8_valid(const char *s);
/* The id-text rule: valid UTF-8 without control characters (C0, DEL).
 * Every id that reaches an event (auction, imp, campaign, creative,
 * exchange) passes it where it enters: event JSON carries ids as text, and
 * a lossy re-encoding could merge two distinct auctions. */
bool beat_id_text_ok(const char *s);
/* The name rule of what operators name (campaigns, seats, segment lists):
 * [A-Za-z0-9_.:-]{1,max}. Such names end up in URLs, metrics and logs
 * unescaped. s need not be NUL-terminated. */
bool beat_id_ok(const char *s, size_t n, size_t max);

/* Random 64-bit value from getrandom(2); used for epochs and ids. */
uint64_t beat_random_u64(void);

#endif
