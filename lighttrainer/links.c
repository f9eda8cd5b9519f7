/* Links of the light trainer: samples from the datastream instances (a
 * cursor and epoch per instance, so that a sample is trained on once and a
 * restarted instance is read from its start) and checkpoints to/from the
 * supervisor. Called from main.c's loop only. Every failure is counted per
 * peer and logged rate-limited; nothing here exits, loops on a dead peer
 * or waits longer than its timeout. */
#include "links.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "beat_httpc.h"
#include "beat_log.h"
#include "beat_metrics.h"

#define SAMPLE_LINE_MAX 2048 /* generous bound of one sample line */

typedef struct ds_link {
    char url[512];
    bool has_epoch;
    uint64_t epoch, seq;
    beat_counter *failures;
} ds_link;

struct ltr_links {
    beat_httpc *pull, *push;
    ds_link *ds;
    int n_ds, pull_max;
    char sup[512];
    char *token;
    beat_counter *sup_failures;
    beat_buf resp;
    beat_sample *batch; /* pull_max samples of one answer */
    int n_batch;
};

static void base_url(char *dst, size_t n, const char *src) {
    snprintf(dst, n, "%s", src);
    size_t len = strlen(dst);
    while (len > 0 && dst[len - 1] == '/') dst[--len] = '\0';
}

static beat_counter *peer_counter(const char *peer, int i) {
    char esc[600], name[700];
    size_t k = 0;
    for (const char *p = peer; *p && k + 3 < sizeof esc; p++) {
        if (*p == '\n') continue;
        if (*p == '"' || *p == '\\') esc[k++] = '\\';
        esc[k++] = *p;
    }
    esc[k] = '\0';
    const char *help = "Failed calls to a peer (transport, status or garbage)";
    snprintf(name, sizeof name, "beat_lighttrainer_link_failures_total{peer=\"%s\"}",
             esc);
    beat_counter *c = beat_counter_new(name, help);
    if (!c) {
        snprintf(name, sizeof name,
                 "beat_lighttrainer_link_failures_total{peer=\"datastream%d\"}", i);
        c = beat_counter_new(name, help);
    }
    return c;
}

static void count(beat_counter *c) {
    if (c) beat_counter_inc(c);
}

ltr_links *ltr_links_new(const beat_strlist *datastreams, const char *supervisor,
                         const char *token, long pull_timeout_ms,
                         long push_timeout_ms, int pull_max) {
    ltr_links *l = calloc(1, sizeof *l);
    if (!l) return NULL;
    l->pull = beat_httpc_new(pull_timeout_ms);
    l->push = beat_httpc_new(push_timeout_ms);
    l->n_ds = datastreams->n;
    l->pull_max = pull_max;
    l->ds = calloc((size_t)(l->n_ds > 0 ? l->n_ds : 1), sizeof *l->ds);
    l->batch = calloc((size_t)pull_max, sizeof *l->batch);
    l->token = strdup(token ? token : "");
    if (!l->pull || !l->push || !l->ds || !l->batch || !l->token) {
        ltr_links_free(l);
        return NULL;
    }
    for (int i = 0; i < l->n_ds; i++) {
        base_url(l->ds[i].url, sizeof l->ds[i].url, datastreams->v[i]);
        l->ds[i].failures = peer_counter(l->ds[i].url, i);
    }
    base_url(l->sup, sizeof l->sup, supervisor);
    l->sup_failures = beat_counter_new(
        "beat_lighttrainer_link_failures_total{peer=\"supervisor\"}",
        "Failed calls to a peer (transport, status or garbage)");
    beat_buf_init(&l->resp, 1 << 20);
    return l;
}

void ltr_links_free(ltr_links *l) {
    if (!l) return;
    beat_httpc_free(l->pull);
    beat_httpc_free(l->push);
    free(l->ds);
    free(l->batch);
    free(l->token);
    beat_buf_fini(&l->resp);
    free(l);
}

int ltr_links_n_datastreams(const ltr_links *l) { return l->n_ds; }

static int collect(void *arg, const beat_sample *s) {
    ltr_links *l = arg;
    if (l->n_batch >= l->pull_max) return -E2BIG; /* more than we asked for */
    l->batch[l->n_batch++] = *s;
    return 0;
}

int ltr_links_pull(ltr_links *l, int i, ltr_sample_fn fn, void *arg,
                   ltr_pull_stats *ps) {
    ds_link *d = &l->ds[i];
    char url[700];
    snprintf(url, sizeof url, "%s/v1/samples?after=%" PRIu64 "&max=%d", d->url, d->seq,
             l->pull_max);
    long status = 0;
    l->resp.max = 4096 + (size_t)l->pull_max * SAMPLE_LINE_MAX;
    int rc = beat_httpc_get(l->pull, url, &l->resp, &status);
    if (rc < 0 || status != 200) {
        count(d->failures);
        ps->failures++;
        beat_log_rl(5000, BEAT_WARN, "peer_down",
                    "peer=%s err=%d status=%ld detail=\"%s\"", d->url, rc, status,
                    rc < 0 ? beat_httpc_error(l->pull) : "http status");
        return rc < 0 ? rc : -EIO;
    }
    /* Buffered, then applied: nothing is trained from a body that turns
     * out bad halfway, and the header's epoch is known first. */
    beat_samples_header h;
    beat_reason why = {{0}};
    l->n_batch = 0;
    rc = beat_samples_decode(l->resp.data, l->resp.len, &h, collect, l, &why);
    if (rc < 0) {
        count(d->failures);
        ps->failures++;
        beat_log_rl(5000, BEAT_WARN, "peer_garbage", "peer=%s err=%d reason=\"%s\"",
                    d->url, rc, why.msg);
        return rc;
    }
    bool known = d->has_epoch;
    if (known && h.epoch != d->epoch) {
        ps->epoch_resets++;
        beat_log_rl(1000, BEAT_INFO, "datastream_epoch", "peer=%s epoch=%016" PRIx64,
                    d->url, h.epoch);
        d->epoch = h.epoch;
        if (d->seq != 0) { /* the answer was to an old cursor: start over */
            d->seq = 0;
            return -EAGAIN;
        }
    }
    d->epoch = h.epoch;
    d->has_epoch = true;
    if (known && h.n > 0 && h.first_seq > d->seq + 1) {
        int64_t missed = (int64_t)(h.first_seq - d->seq - 1);
        ps->missed += missed;
        beat_log_rl(5000, BEAT_WARN, "samples_missed", "peer=%s missed=%" PRId64,
                    d->url, missed);
    }
    int delivered = 0;
    for (int k = 0; k < l->n_batch; k++) {
        const beat_sample *s = &l->batch[k];
        if (s->seq <= d->seq) continue; /* duplicate or out of order */
        d->seq = s->seq;
        if (fn(arg, s) == 0) delivered++;
    }
    ps->samples += delivered;
    return delivered;
}

int ltr_links_cursors_json(const ltr_links *l, beat_buf *out) {
    int rc = beat_buf_puts(out, "{");
    bool first = true;
    for (int i = 0; i < l->n_ds; i++) {
        const ds_link *d = &l->ds[i];
        if (!d->has_epoch) continue;
        if (!first) rc |= beat_buf_puts(out, ",");
        first = false;
        rc |= beat_buf_json_str(out, d->url, strlen(d->url));
        rc |= beat_buf_printf(out, ":{\"epoch\":\"%016" PRIx64 "\",\"seq\":%" PRIu64 "}",
                              d->epoch, d->seq);
    }
    rc |= beat_buf_puts(out, "}");
    return rc ? -EMSGSIZE : 0;
}

static bool parse_hex64(const char *s, uint64_t *out) {
    size_t n = strlen(s);
    if (n == 0 || n > 16) return false;
    uint64_t v = 0;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        int d = c >= '0' && c <= '9' ? c - '0'
                : c >= 'a' && c <= 'f' ? c - 'a' + 10
                : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
        if (d < 0) return false;
        v = v << 4 | (uint64_t)d;
    }
    *out = v;
    return true;
}

void ltr_links_cursors_restore(ltr_links *l, const char *json) {
    if (!json) return;
    cJSON *root = cJSON_Parse(json);
    for (int i = 0; i < l->n_ds; i++) {
        ds_link *d = &l->ds[i];
        const cJSON *c = cJSON_GetObjectItemCaseSensitive(root, d->url);
        const cJSON *e = cJSON_GetObjectItemCaseSensitive(c, "epoch");
        const cJSON *s = cJSON_GetObjectItemCaseSensitive(c, "seq");
        uint64_t epoch;
        if (!cJSON_IsString(e) || !parse_hex64(e->valuestring, &epoch) ||
            !cJSON_IsNumber(s) || !(s->valuedouble >= 0 && s->valuedouble < 9e18))
            continue;
        d->has_epoch = true;
        d->epoch = epoch;
        d->seq = (uint64_t)s->valuedouble;
    }
    cJSON_Delete(root);
}

int ltr_links_fetch_ckpt(ltr_links *l, size_t max_bytes, beat_ckpt *out) {
    char url[600];
    snprintf(url, sizeof url, "%s/v1/checkpoint/latest", l->sup);
    long status = 0;
    beat_buf body;
    beat_buf_init(&body, max_bytes);
    int rc = beat_httpc_get(l->push, url, &body, &status);
    if (rc == 0 && status == 404) {
        beat_buf_fini(&body);
        return 0;
    }
    if (rc == -EMSGSIZE) { /* bigger than any model of our size: not ours */
        count(l->sup_failures);
        beat_buf_fini(&body);
        return -EFBIG;
    }
    if (rc < 0 || status != 200) {
        count(l->sup_failures);
        beat_log_rl(5000, BEAT_WARN, "supervisor_unreachable",
                    "peer=%s op=restore err=%d status=%ld detail=\"%s\"", l->sup, rc,
                    status, rc < 0 ? beat_httpc_error(l->push) : "http status");
        beat_buf_fini(&body);
        return rc < 0 ? rc : -EAGAIN;
    }
    beat_reason why = {{0}};
    rc = beat_ckpt_decode(body.data, body.len, max_bytes, out, &why);
    beat_buf_fini(&body);
    if (rc < 0) {
        count(l->sup_failures);
        beat_log_rl(5000, BEAT_WARN, "restore_bad_checkpoint", "peer=%s reason=\"%s\"",
                    l->sup, why.msg);
        return rc;
    }
    return 1;
}

int ltr_links_push_ckpt(ltr_links *l, const beat_buf *ckpt) {
    char url[600];
    snprintf(url, sizeof url, "%s/v1/checkpoint", l->sup);
    long status = 0;
    l->resp.max = 64 * 1024;
    int rc = beat_httpc_send(l->push, "POST", url, "application/octet-stream",
                             ckpt->data, ckpt->len, l->token, &l->resp, &status);
    if (rc == 0 && status == 200) return 0;
    count(l->sup_failures);
    beat_log_rl(5000, BEAT_WARN, rc == 0 && status == 400 ? "checkpoint_rejected" : "peer_down",
                "peer=%s op=checkpoint err=%d status=%ld body=\"%.200s\"", l->sup, rc,
                status, rc == 0 && l->resp.data ? l->resp.data : "");
    return rc < 0 ? rc : status == 400 ? -EBADMSG : -EIO;
}
