/* Cursor + epoch per datastream instance, per-peer link bookkeeping and
 * the restore status for the pullers (actuator and lighttrainer: links.c,
 * main.c; actuator/state.c).
 * Exists so that "consumed exactly once, restart read from 0" is decided
 * in one place. Never retries, never exits: a failure is counted, logged
 * rate-limited and returned to the caller's loop. */
#include "beat_pull.h"

#include <errno.h>
#include <inttypes.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "beat_json.h"
#include "beat_log.h"

void beat_pull_begin(beat_pull_cursor *c, uint64_t epoch, int64_t n, uint64_t first_seq,
                     beat_pull_check *r) {
    memset(r, 0, sizeof *r);
    bool known = c->has_epoch;
    if (known && epoch != c->epoch) {
        r->epoch_changed = true;
        if (c->seq != 0) {
            /* A restarted instance numbers from 1 again: this answer (to
             * after=old seq) may skip some items. Start over from 0. */
            c->epoch = epoch;
            c->seq = 0;
            r->refetch = true;
            return;
        }
    }
    c->epoch = epoch;
    c->has_epoch = true;
    if (known && n > 0 && first_seq > c->seq + 1) r->missed = (int64_t)(first_seq - c->seq - 1);
}

int beat_pull_cursors_encode(const beat_pull_cursor *c, int n, beat_buf *out) {
    int rc = beat_buf_puts(out, "{");
    bool first = true;
    for (int i = 0; i < n; i++) {
        if (!c[i].has_epoch) continue;
        if (!first) rc |= beat_buf_puts(out, ",");
        first = false;
        rc |= beat_buf_json_str(out, c[i].url, strlen(c[i].url));
        rc |= beat_buf_printf(out, ":{\"epoch\":\"%016" PRIx64 "\",\"seq\":%" PRIu64 "}",
                              c[i].epoch, c[i].seq);
    }
    rc |= beat_buf_puts(out, "}");
    return rc ? -EMSGSIZE : 0;
}

int beat_pull_cursor_decode(const struct cJSON *v, uint64_t *epoch, uint64_t *seq) {
    beat_reason why = {{0}}; /* the caller skips a bad entry silently */
    uint64_t e;
    const cJSON *s = cJSON_GetObjectItemCaseSensitive(v, "seq");
    if (beat_json_hex64(cJSON_GetObjectItemCaseSensitive(v, "epoch"), "", "epoch", &e, &why) != 0 ||
        !cJSON_IsNumber(s) || !(s->valuedouble >= 0 && s->valuedouble <= 9e18))
        return -EINVAL;
    *epoch = e;
    *seq = (uint64_t)s->valuedouble;
    return 0;
}

void beat_pull_peer_init(beat_pull_peer *p, const char *daemon, const char *url, const char *label,
                         const char *fallback) {
    snprintf(p->url, sizeof p->url, "%s", url);
    size_t len = strlen(p->url);
    while (len > 0 && p->url[len - 1] == '/') p->url[--len] = '\0';
    char base[128];
    snprintf(base, sizeof base, "beat_%s_link_failures_total", daemon);
    const char *help = "Failed calls to a peer (transport, status or garbage)";
    p->failures = beat_counter_labeled(base, help, "peer", label ? label : p->url);
    if (!p->failures && fallback) p->failures = beat_counter_labeled(base, help, "peer", fallback);
}

beat_pull_peer *beat_pull_peers_new(const char *daemon, const beat_strlist *urls) {
    beat_pull_peer *p = calloc((size_t)(urls->n > 0 ? urls->n : 1), sizeof *p);
    for (int i = 0; p && i < urls->n; i++) {
        char fallback[32];
        snprintf(fallback, sizeof fallback, "datastream%d", i);
        beat_pull_peer_init(&p[i], daemon, urls->v[i], NULL, fallback);
    }
    return p;
}

int beat_pull_get(beat_httpc *h, const beat_pull_peer *p, const char *url, beat_buf *resp) {
    long status = 0;
    int rc = beat_httpc_get(h, url, resp, &status);
    if (rc == 0 && status == 200) return 0;
    beat_pull_peer_failed(p);
    beat_log_rl(5000, BEAT_WARN, "peer_down", "peer=%s err=%d status=%ld detail=\"%s\"", p->url, rc,
                status, rc < 0 ? beat_httpc_error(h) : "http status");
    return rc < 0 ? rc : -EIO;
}

bool beat_pull_retry(int64_t *backoff_ms) {
    if (*backoff_ms > 0) {
        beat_stop_sleep_ms(*backoff_ms);
        *backoff_ms = *backoff_ms * 2 > 5000 ? 5000 : *backoff_ms * 2;
    } else {
        *backoff_ms = 100;
    }
    return !beat_stop_requested();
}

bool beat_pull_health(beat_pull_status *s, beat_buf *detail) {
    int r = atomic_load(&s->restore);
    if (r == BEAT_RESTORE_PENDING) {
        beat_buf_puts(detail, "\"detail\":\"restoring\"");
        return false;
    }
    beat_buf_printf(detail, "\"restore\":\"%s\"", r == BEAT_RESTORE_DONE ? "restored" : "fresh");
    return true;
}

int64_t beat_pull_push_age_ms(beat_pull_status *s) {
    int64_t t = atomic_load(&s->last_push_ms);
    return t ? beat_now_ms() - t : -1;
}

double beat_pull_push_age_s(void *status) {
    int64_t t = atomic_load(&((beat_pull_status *)status)->last_push_ms);
    return t ? (double)(beat_now_ms() - t) / 1000.0 : -1.0;
}
