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
#include "beat_pull.h"

#define SAMPLE_LINE_MAX 2048 /* generous bound of one sample line */

struct ltr_links {
    beat_httpc *pull, *push;
    beat_pull_peer *ds;    /* n_ds of them */
    beat_pull_cursor *cur; /* cur[i] is ds[i]'s position */
    int n_ds, pull_max;
    beat_pull_peer sup;
    char *token;
    beat_buf resp;
    beat_sample *batch; /* pull_max samples of one answer */
    int n_batch;
};

ltr_links *ltr_links_new(const beat_strlist *datastreams, const char *supervisor, const char *token,
                         long pull_timeout_ms, long push_timeout_ms, int pull_max) {
    ltr_links *l = calloc(1, sizeof *l);
    if (!l) return NULL;
    l->pull = beat_httpc_new(pull_timeout_ms);
    l->push = beat_httpc_new(push_timeout_ms);
    l->n_ds = datastreams->n;
    l->pull_max = pull_max;
    l->ds = beat_pull_peers_new("lighttrainer", datastreams);
    l->cur = calloc((size_t)(l->n_ds > 0 ? l->n_ds : 1), sizeof *l->cur);
    l->batch = calloc((size_t)pull_max, sizeof *l->batch);
    l->token = strdup(token ? token : "");
    if (!l->pull || !l->push || !l->ds || !l->cur || !l->batch || !l->token) {
        ltr_links_free(l);
        return NULL;
    }
    for (int i = 0; i < l->n_ds; i++) /* each cursor is keyed by its peer's URL */
        snprintf(l->cur[i].url, sizeof l->cur[i].url, "%s", l->ds[i].url);
    beat_pull_peer_init(&l->sup, "lighttrainer", supervisor, "supervisor", NULL);
    beat_buf_init(&l->resp, 1 << 20);
    return l;
}

void ltr_links_free(ltr_links *l) {
    if (!l) return;
    beat_httpc_free(l->pull);
    beat_httpc_free(l->push);
    free(l->ds);
    free(l->cur);
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

int ltr_links_pull(ltr_links *l, int i, ltr_sample_fn fn, void *arg, ltr_pull_stats *ps) {
    beat_pull_peer *d = &l->ds[i];
    beat_pull_cursor *cur = &l->cur[i];
    char url[700];
    snprintf(url, sizeof url, "%s/v1/samples?after=%" PRIu64 "&max=%d", d->url, cur->seq,
             l->pull_max);
    l->resp.max = 4096 + (size_t)l->pull_max * SAMPLE_LINE_MAX;
    int rc = beat_pull_get(l->pull, d, url, &l->resp);
    if (rc < 0) {
        ps->failures++;
        return rc;
    }
    /* Buffered, then applied: nothing is trained from a body that turns
     * out bad halfway, and the header's epoch is known first. */
    beat_samples_header h;
    beat_reason why = {{0}};
    l->n_batch = 0;
    rc = beat_samples_decode(l->resp.data, l->resp.len, &h, collect, l, &why);
    if (rc < 0) {
        beat_pull_peer_failed(d);
        ps->failures++;
        beat_log_rl(5000, BEAT_WARN, "peer_garbage", "peer=%s err=%d reason=\"%s\"", d->url, rc,
                    why.msg);
        return rc;
    }
    beat_pull_check chk;
    beat_pull_begin(cur, h.epoch, h.n, h.first_seq, &chk);
    if (chk.epoch_changed) {
        ps->epoch_resets++;
        beat_log_rl(1000, BEAT_INFO, "datastream_epoch", "peer=%s epoch=%016" PRIx64, d->url,
                    h.epoch);
    }
    if (chk.refetch) return -EAGAIN; /* the answer was to an old cursor */
    if (chk.missed) {
        ps->missed += chk.missed;
        beat_log_rl(5000, BEAT_WARN, "samples_missed", "peer=%s missed=%" PRId64, d->url,
                    chk.missed);
    }
    int delivered = 0;
    for (int k = 0; k < l->n_batch; k++) {
        const beat_sample *s = &l->batch[k];
        if (!beat_pull_take(cur, s->seq)) continue; /* duplicate or out of order */
        if (fn(arg, s) == 0) delivered++;
    }
    ps->samples += delivered;
    return delivered;
}

int ltr_links_cursors_json(const ltr_links *l, beat_buf *out) {
    return beat_pull_cursors_encode(l->cur, l->n_ds, out);
}

void ltr_links_cursors_restore(ltr_links *l, const char *json) {
    if (!json) return;
    cJSON *root = cJSON_Parse(json);
    for (int i = 0; i < l->n_ds; i++) {
        beat_pull_cursor *c = &l->cur[i];
        uint64_t epoch, seq;
        if (beat_pull_cursor_decode(cJSON_GetObjectItemCaseSensitive(root, c->url), &epoch, &seq) !=
            0)
            continue;
        c->has_epoch = true;
        c->epoch = epoch;
        c->seq = seq;
    }
    cJSON_Delete(root);
}

int ltr_links_fetch_ckpt(ltr_links *l, size_t max_bytes, beat_ckpt *out) {
    char url[600];
    snprintf(url, sizeof url, "%s/v1/checkpoint/latest", l->sup.url);
    long status = 0;
    beat_buf body;
    beat_buf_init(&body, max_bytes);
    int rc = beat_httpc_get(l->push, url, &body, &status);
    if (rc == 0 && status == 404) {
        beat_buf_fini(&body);
        return 0;
    }
    if (rc == -EMSGSIZE) { /* bigger than any model of our size: not ours */
        beat_pull_peer_failed(&l->sup);
        beat_buf_fini(&body);
        return -EFBIG;
    }
    if (rc < 0 || status != 200) {
        beat_pull_peer_failed(&l->sup);
        beat_log_rl(5000, BEAT_WARN, "supervisor_unreachable",
                    "peer=%s op=restore err=%d status=%ld detail=\"%s\"", l->sup.url, rc, status,
                    rc < 0 ? beat_httpc_error(l->push) : "http status");
        beat_buf_fini(&body);
        return rc < 0 ? rc : -EAGAIN;
    }
    beat_reason why = {{0}};
    rc = beat_ckpt_decode(body.data, body.len, max_bytes, out, &why);
    beat_buf_fini(&body);
    if (rc < 0) {
        beat_pull_peer_failed(&l->sup);
        beat_log_rl(5000, BEAT_WARN, "restore_bad_checkpoint", "peer=%s reason=\"%s\"", l->sup.url,
                    why.msg);
        return rc;
    }
    return 1;
}

int ltr_links_push_ckpt(ltr_links *l, const beat_buf *ckpt) {
    char url[600];
    snprintf(url, sizeof url, "%s/v1/checkpoint", l->sup.url);
    long status = 0;
    l->resp.max = 64 * 1024;
    int rc = beat_httpc_send(l->push, "POST", url, "application/octet-stream", ckpt->data,
                             ckpt->len, l->token, &l->resp, &status);
    if (rc == 0 && status == 200) return 0;
    beat_pull_peer_failed(&l->sup);
    beat_log_rl(5000, BEAT_WARN, rc == 0 && status == 400 ? "checkpoint_rejected" : "peer_down",
                "peer=%s op=checkpoint err=%d status=%ld body=\"%.200s\"", l->sup.url, rc, status,
                rc == 0 && l->resp.data ? l->resp.data : "");
    return rc < 0 ? rc : status == 400 ? -EBADMSG : -EIO;
}
