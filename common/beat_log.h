/* JSON-lines logging on stderr, one object per line, written with a single
 * write(2) so lines from threads never interleave:
 *   {"ts":1700000000123,"lvl":"warn","svc":"actuator","ev":"peer_down","peer":"http://…","err":-111}
 * Fields come from a logfmt-style format: beat_log(BEAT_WARN, "peer_down",
 * "peer=%s err=%d", url, rc). Each key=value becomes a JSON field; values
 * that parse as numbers are emitted as numbers; a value may be quoted
 * ("a b") to hold spaces. Everything is escaped, so the line is always valid
 * JSON whatever the arguments contain. `ev` is a stable snake_case id that
 * tests and alerts match on. No per-request log lines on hot paths. */
#ifndef BEAT_LOG_H
#define BEAT_LOG_H

#include <stdint.h>
#include "beat_util.h"

typedef enum {
    BEAT_DEBUG = 0,
    BEAT_INFO,
    BEAT_WARN,
    BEAT_ERROR,
    BEAT_FATAL /* logged just before exit; recovery tests look for these */
} beat_log_level;

/* svc is copied. min from "debug|info|warn|error" via beat_log_level_parse. */
void beat_log_init(const char *svc, beat_log_level min);
int beat_log_level_parse(const char *s, beat_log_level *out);
/* The svc given to beat_log_init (the program name before it). */
const char *beat_log_svc(void);
void beat_log(beat_log_level lvl, const char *ev, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void beat_vlog(beat_log_level lvl, const char *ev, const char *fmt, va_list ap);

/* Rate-limited variant: at most one line per interval_ms per call site; the
 * line carries "suppressed":N for the ones skipped. */
#define beat_log_rl(interval_ms, lvl, ev, ...)                                                     \
    do {                                                                                           \
        static beat_ratelimit beat_rl_;                                                            \
        uint64_t beat_sup_;                                                                        \
        if (beat_ratelimit_ok(&beat_rl_, (interval_ms), &beat_sup_))                               \
            beat_log_suppressed((lvl), (ev), beat_sup_, __VA_ARGS__);                              \
    } while (0)
void beat_log_suppressed(beat_log_level lvl, const char *ev, uint64_t suppressed, const char *fmt,
                         ...) __attribute__((format(printf, 4, 5)));

/* Makes s, in place, safe to log as one quoted value (key="%s"): every
 * '"' and '\\' becomes '\''. For reasons that may quote untrusted input. */
void beat_log_value_safe(char *s);

/* Count of lines logged at each level since start (for metrics and tests). */
uint64_t beat_log_count(beat_log_level lvl);

#endif
