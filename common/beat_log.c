/* JSON-lines logger on stderr for every daemon and tool. It turns a
 * logfmt-style format ("peer=%s err=%d") into JSON fields and writes each
 * line with one write(2) so threads never interleave. Whatever the
 * arguments contain, the line must be valid JSON: every string goes through
 * beat_buf_json_str. It never allocates more than a bounded line, and it
 * never calls exit. */
#include "beat_log.h"

#include <assert.h>
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

/* A formatted message longer than this is truncated (marked by a
 * "truncated":true field); a log line is not a data channel. */
#define LOG_MSG_MAX (16 * 1024)

static char log_svc[64];
static atomic_int log_min = BEAT_INFO;
static atomic_uint_fast64_t log_counts[BEAT_FATAL + 1];

static const char *const lvl_names[] = {"debug", "info", "warn", "error", "fatal"};
static_assert(sizeof lvl_names / sizeof lvl_names[0] == BEAT_FATAL + 1 && BEAT_DEBUG == 0,
              "one name per level, indexed by beat_log_level");

void beat_log_init(const char *svc, beat_log_level min) {
    snprintf(log_svc, sizeof log_svc, "%s", svc ? svc : "");
    if ((int)min < BEAT_DEBUG || min > BEAT_FATAL) min = BEAT_INFO;
    atomic_store(&log_min, (int)min);
}

const char *beat_log_svc(void) { return log_svc[0] ? log_svc : program_invocation_short_name; }

int beat_log_level_parse(const char *s, beat_log_level *out) {
    static const struct {
        const char *name;
        beat_log_level lvl;
    } names[] = {{"debug", BEAT_DEBUG},  {"info", BEAT_INFO},   {"warn", BEAT_WARN},
                 {"warning", BEAT_WARN}, {"error", BEAT_ERROR}, {"fatal", BEAT_FATAL}};
    if (!s) return -EINVAL;
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (strcasecmp(s, names[i].name) == 0) {
            *out = names[i].lvl;
            return 0;
        }
    return -EINVAL;
}

uint64_t beat_log_count(beat_log_level lvl) {
    if ((int)lvl < BEAT_DEBUG || lvl > BEAT_FATAL) return 0;
    return atomic_load(&log_counts[lvl]);
}

/* True if v[0..n) is a JSON number (RFC 8259 grammar) that is finite as a
 * double, so emitting it bare keeps the line valid and meaningful. */
static bool is_json_number(const char *v, size_t n) {
    size_t i = 0;
    if (n == 0 || n > 64) return false;
    if (v[i] == '-') i++;
    if (i >= n) return false;
    if (v[i] == '0') i++;
    else if (v[i] >= '1' && v[i] <= '9')
        while (i < n && v[i] >= '0' && v[i] <= '9') i++;
    else return false;
    if (i < n && v[i] == '.') {
        i++;
        size_t d = i;
        while (i < n && v[i] >= '0' && v[i] <= '9') i++;
        if (i == d) return false;
    }
    if (i < n && (v[i] == 'e' || v[i] == 'E')) {
        i++;
        if (i < n && (v[i] == '+' || v[i] == '-')) i++;
        size_t d = i;
        while (i < n && v[i] >= '0' && v[i] <= '9') i++;
        if (i == d) return false;
    }
    if (i != n) return false;
    char tmp[65];
    memcpy(tmp, v, n);
    tmp[n] = '\0';
    return isfinite(strtod(tmp, NULL));
}

static bool is_reserved_key(const char *k, size_t n) {
    static const char *const keys[] = {"ts", "lvl", "svc", "ev", "suppressed"};
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++)
        if (strlen(keys[i]) == n && memcmp(keys[i], k, n) == 0) return true;
    return false;
}

/* Appends a key/value pair; the value is unescaped from its logfmt quoting
 * when quoted (\" and \\ become " and \). */
static void put_field(beat_buf *out, const char *k, size_t kn, const char *v, size_t vn,
                      bool quoted) {
    beat_buf_puts(out, ",");
    if (is_reserved_key(k, kn)) {
        /* Never shadow the fixed fields: with a duplicate key parsers
         * disagree about which one wins. */
        char rk[16];
        rk[0] = '_';
        memcpy(rk + 1, k, kn);
        beat_buf_json_str(out, rk, kn + 1);
    } else {
        beat_buf_json_str(out, k, kn);
    }
    beat_buf_puts(out, ":");
    if (!quoted && is_json_number(v, vn)) {
        beat_buf_append(out, v, vn);
        return;
    }
    if (!quoted) {
        beat_buf_json_str(out, v, vn);
        return;
    }
    char small[256];
    char *tmp = vn < sizeof small ? small : malloc(vn + 1);
    if (!tmp) {
        beat_buf_json_str(out, v, vn);
        return;
    }
    size_t m = 0;
    for (size_t i = 0; i < vn; i++) {
        if (v[i] == '\\' && i + 1 < vn && (v[i + 1] == '"' || v[i + 1] == '\\')) i++;
        tmp[m++] = v[i];
    }
    beat_buf_json_str(out, tmp, m);
    if (tmp != small) free(tmp);
}

/* Splits msg into logfmt tokens: key=value pairs become fields, bare words
 * are gathered into one "msg" field. */
static void put_fields(beat_buf *out, const char *s, size_t n) {
    beat_buf words;
    beat_buf_init(&words, LOG_MSG_MAX + 1);
    size_t i = 0;
    while (i < n) {
        while (i < n && s[i] == ' ') i++;
        if (i >= n) break;
        size_t ks = i;
        /* A key is a run of non-space, non-'=', non-quote bytes. */
        while (i < n && s[i] != ' ' && s[i] != '=' && s[i] != '"') i++;
        if (i < n && s[i] == '=' && i > ks) {
            size_t kn = i - ks;
            i++;
            if (i < n && s[i] == '"') {
                size_t vs = ++i;
                while (i < n && s[i] != '"') {
                    if (s[i] == '\\' && i + 1 < n) i++;
                    i++;
                }
                size_t ve = i < n ? i : n;
                if (i < n) i++; /* closing quote */
                put_field(out, s + ks, kn, s + vs, ve - vs, true);
            } else {
                size_t vs = i;
                while (i < n && s[i] != ' ') i++;
                put_field(out, s + ks, kn, s + vs, i - vs, false);
            }
            continue;
        }
        /* A bare word (or a quoted phrase) goes into msg. */
        i = ks;
        size_t ws = i;
        if (s[i] == '"') {
            ws = ++i;
            while (i < n && s[i] != '"') {
                if (s[i] == '\\' && i + 1 < n) i++;
                i++;
            }
            if (words.len) beat_buf_puts(&words, " ");
            beat_buf_append(&words, s + ws, i - ws);
            if (i < n) i++;
        } else {
            while (i < n && s[i] != ' ') i++;
            if (words.len) beat_buf_puts(&words, " ");
            beat_buf_append(&words, s + ws, i - ws);
        }
    }
    if (words.len) {
        beat_buf_puts(out, ",\"msg\":");
        beat_buf_json_str(out, words.data, words.len);
    }
    beat_buf_fini(&words);
}

/* One write(2) per line is atomic for lines up to PIPE_BUF; the lock keeps
 * longer lines (and partial-write retries) whole too. */
static pthread_mutex_t write_mu = PTHREAD_MUTEX_INITIALIZER;

static void write_all(const char *p, size_t n) {
    pthread_mutex_lock(&write_mu);
    while (n) {
        ssize_t w = write(STDERR_FILENO, p, n);
        if (w < 0) {
            if (errno == EINTR) continue;
            break; /* stderr gone: nothing sensible left to do */
        }
        p += w;
        n -= (size_t)w;
    }
    pthread_mutex_unlock(&write_mu);
}

static void vlog_sup(beat_log_level lvl, const char *ev, uint64_t suppressed, const char *fmt,
                     va_list ap) {
    if ((int)lvl < BEAT_DEBUG || lvl > BEAT_FATAL) lvl = BEAT_ERROR;
    if (lvl != BEAT_FATAL && (int)lvl < atomic_load(&log_min)) return;
    atomic_fetch_add(&log_counts[lvl], 1);

    char small[1024];
    char *msg = small;
    bool truncated = false;
    va_list ap2;
    va_copy(ap2, ap);
    int n = fmt ? vsnprintf(small, sizeof small, fmt, ap) : 0;
    if (n < 0) n = 0;
    if ((size_t)n >= sizeof small) {
        size_t want = (size_t)n < LOG_MSG_MAX ? (size_t)n : LOG_MSG_MAX;
        char *big = malloc(want + 1);
        if (big) {
            vsnprintf(big, want + 1, fmt, ap2);
            msg = big;
            truncated = (size_t)n > want;
            n = (int)want;
        } else {
            truncated = true;
            n = (int)sizeof small - 1;
        }
    }
    va_end(ap2);

    beat_buf line;
    /* Unbounded on purpose: msg is bounded, so the escaped line is too,
     * and a failed append mid-field would leave invalid JSON. */
    beat_buf_init(&line, 0);
    beat_buf_printf(&line, "{\"ts\":%lld,\"lvl\":\"%s\",\"svc\":", (long long)beat_now_ms(),
                    lvl_names[lvl]);
    const char *svc = beat_log_svc();
    beat_buf_json_str(&line, svc, strlen(svc));
    beat_buf_puts(&line, ",\"ev\":");
    ev = ev ? ev : "";
    beat_buf_json_str(&line, ev, strlen(ev));
    put_fields(&line, msg, (size_t)n);
    if (suppressed) beat_buf_printf(&line, ",\"suppressed\":%llu", (unsigned long long)suppressed);
    if (truncated) beat_buf_puts(&line, ",\"truncated\":true");
    beat_buf_puts(&line, "}\n");
    write_all(line.data, line.len);
    beat_buf_fini(&line);
    if (msg != small) free(msg);
}

void beat_vlog(beat_log_level lvl, const char *ev, const char *fmt, va_list ap) {
    vlog_sup(lvl, ev, 0, fmt, ap);
}

void beat_log(beat_log_level lvl, const char *ev, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vlog_sup(lvl, ev, 0, fmt, ap);
    va_end(ap);
}

void beat_log_value_safe(char *s) {
    for (; s && *s; s++)
        if (*s == '"' || *s == '\\') *s = '\'';
}

void beat_log_suppressed(beat_log_level lvl, const char *ev, uint64_t suppressed, const char *fmt,
                         ...) {
    va_list ap;
    va_start(ap, fmt);
    vlog_sup(lvl, ev, suppressed, fmt, ap);
    va_end(ap);
}
