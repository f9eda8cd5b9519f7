/* Current campaigns, state and model of the supervisor, and the one path by
 * which each is replaced: decode + validate → assign the next version →
 * store in SQLite (durable before acknowledged) → swap in memory →
 * publish. A rejected or failed write changes nothing. Main thread only;
 * it never publishes anything that did not pass validation. The read side
 * (versions, health, stats) is in app_read.c. */
#include "app.h"

#include <assert.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "app_int.h"
#include "beat_alert.h"
#include "beat_campaign.h"
#include "beat_ckpt.h"
#include "beat_clock.h"
#include "beat_log.h"
#include "beat_sha.h"
#include "beat_metrics.h"
#include "beat_wire.h"
#include "exchanges.h"

#define META_FILE_HASH "campaigns_file_sha256"

static const char *const KIND[] = {"campaigns", "state", "checkpoint"};
static_assert(sizeof KIND / sizeof KIND[0] == K_N, "one name per kind");

/* ---- helpers --------------------------------------------------------------- */

/* Returns a malloc'd copy of the JSON object text with a top-level
 * "version":v (replacing any other value). Textual insertion when the key
 * is absent, so numbers the encoder wrote are never reformatted. */
static int json_with_version(const char *json, size_t len, int64_t v, char **out, size_t *out_len) {
    cJSON *root = cJSON_ParseWithLength(json, len);
    if (!cJSON_IsObject(root)) {
        cJSON_Delete(root);
        return -EINVAL;
    }
    cJSON *cur = cJSON_GetObjectItemCaseSensitive(root, "version");
    char *res = NULL;
    if (cur && cJSON_IsNumber(cur) && cur->valuedouble == (double)v) {
        res = malloc(len + 1);
        if (res) {
            memcpy(res, json, len);
            res[len] = '\0';
            *out_len = len;
        }
    } else if (cur) {
        cJSON_ReplaceItemInObjectCaseSensitive(root, "version", cJSON_CreateNumber((double)v));
        res = cJSON_PrintUnformatted(root);
        if (res) *out_len = strlen(res);
    } else {
        const char *brace = memchr(json, '{', len);
        BEAT_ASSERT(brace); /* it parsed as an object */
        size_t head = (size_t)(brace - json) + 1, rest = len - head;
        const char *p = brace + 1;
        while (p < json + len && (*p == ' ' || *p == '\n' || *p == '\r' || *p == '\t')) p++;
        bool empty = p < json + len && *p == '}';
        char ver[40];
        int vn = snprintf(ver, sizeof ver, "\"version\":%lld%s", (long long)v, empty ? "" : ",");
        res = malloc(len + (size_t)vn + 1);
        if (res) {
            memcpy(res, json, head);
            memcpy(res + head, ver, (size_t)vn);
            memcpy(res + head + vn, json + head, rest);
            *out_len = len + (size_t)vn;
            res[*out_len] = '\0';
        }
    }
    cJSON_Delete(root);
    return res ? (*out = res, 0) : -ENOMEM;
}

static const char *const alert_rule[] = {"campaigns_rejected", "state_rejected",
                                         "checkpoint_rejected"};
static_assert(sizeof alert_rule / sizeof alert_rule[0] == K_N, "one alert rule per kind");

/* Counts a refusal and raises its alert; why already holds the reason. */
static int reject(sup_app *a, int kind, const beat_reason *why, int rc) {
    beat_counter_inc(a->rejected[kind]);
    if (a->alert)
        beat_alert_set(a->alert, alert_rule[kind], BEAT_ALERT_WARN, true,
                       why && why->msg[0] ? why->msg : "rejected");
    return rc;
}

/* An accepted write of this kind clears its rejection alert. */
static void accepted(sup_app *a, int kind) {
    beat_counter_inc(a->accepted[kind]);
    if (a->alert) beat_alert_set(a->alert, alert_rule[kind], BEAT_ALERT_WARN, false, "");
}

/* A body over --max-json-bytes is refused, counted, before it is parsed. */
static int body_fits(sup_app *a, int kind, size_t len, beat_reason *why) {
    if (len <= a->cfg.max_json_bytes) return 0;
    return reject(a, kind, why,
                  beat_reasonf(why, -EMSGSIZE, "body over %zu bytes", a->cfg.max_json_bytes));
}

void sup_app_set_banker(sup_app *a, sup_banker *b) { a->banker = b; }
sup_banker *sup_app_banker(const sup_app *a) { return a->banker; }

void sup_app_set_alert(sup_app *a, beat_alert *alert) { a->alert = alert; }

/* Stores one row and times it. */
static int store_put(sup_app *a, sup_table t, int64_t version, int64_t ts, const char *label,
                     uint32_t crc, const void *data, size_t len, const char *mk, const char *mv) {
    int64_t t0 = beat_mono_us();
    int rc = sup_store_put(a->st, t, version, ts, label, crc, data, len, mk, mv);
    beat_histogram_observe(a->db_write, (double)(beat_mono_us() - t0) / 1e6);
    if (rc) beat_counter_inc(a->db_fail);
    beat_gauge_set(a->db_bytes, sup_store_disk_bytes(a->st));
    return rc == -EEXIST ? -EIO : rc;
}

/* Re-encodes the snapshot frame and makes it current on the pub side. */
static void publish_snapshot(sup_app *a) {
    if (!a->pub || a->cs.version == 0) return;
    beat_buf b;
    beat_buf_init(&b, 2 * a->cfg.max_json_bytes + (1 << 20));
    const beat_exchange_set *xs = sup_exch_current(a->exch);
    int rc = beat_snapshot_encode(&a->cs, a->state.version ? &a->state : NULL,
                                  xs->version ? xs : NULL, &b);
    sup_frame *f = rc == 0 ? sup_frame_new(b.len) : NULL;
    if (f) {
        memcpy(f->data, b.data, b.len);
        sup_pub_set_snapshot(a->pub, a->cs.version, a->state.version, xs->version, f);
        sup_frame_unref(f);
    } else {
        beat_log(BEAT_ERROR, "snapshot_encode_failed", "err=%d", rc ? rc : -ENOMEM);
    }
    beat_buf_fini(&b);
}

static void republish(void *arg) { publish_snapshot(arg); }

static sup_frame *model_frame(int64_t version, const void *bytes, size_t len) {
    sup_frame *f = sup_frame_new(BEAT_CKPT_FRAME_HEAD + len);
    if (!f) return NULL;
    beat_ckpt_frame_head(f->data, version);
    memcpy(f->data + BEAT_CKPT_FRAME_HEAD, bytes, len);
    return f;
}

/* ---- campaigns ------------------------------------------------------------- */

/* Encodes cs (absolute times) with "version", stores, swaps in. Takes cs
 * on success; on error the caller keeps it. */
static int install_campaigns(sup_app *a, beat_campaign_set *cs, const char *source, const char *mk,
                             const char *mv, beat_reason *why) {
    int64_t version;
    int rc = sup_store_next_version(a->st, SUP_T_CAMPAIGNS, &version);
    if (rc) return beat_reasonf(why, -EIO, "store failed");
    cs->version = version;
    beat_buf b;
    beat_buf_init(&b, 2 * a->cfg.max_json_bytes + (1 << 20));
    char *json = NULL;
    size_t len = 0;
    rc = beat_campaigns_encode(cs, &b);
    if (rc == 0) rc = json_with_version(b.data, b.len, version, &json, &len);
    beat_buf_fini(&b);
    if (rc) {
        beat_log(BEAT_ERROR, "campaigns_encode_failed", "err=%d", rc);
        return beat_reasonf(why, -EIO, "cannot encode campaigns");
    }
    int64_t now = beat_now_ms();
    rc = store_put(a, SUP_T_CAMPAIGNS, version, now, source, 0, json, len, mk, mv);
    if (rc) {
        free(json);
        return beat_reasonf(why, -EIO, "store failed");
    }
    beat_campaigns_fini(&a->cs);
    free(a->cs_json);
    a->cs = *cs;
    a->cs_json = json;
    a->cs_len = len;
    a->cs_ts = now;
    beat_gauge_set(a->version_g[K_CAMPAIGNS], (double)version);
    if (a->banker) sup_banker_set_campaigns(a->banker, &a->cs);
    publish_snapshot(a);
    return 0;
}

int sup_app_put_campaigns(sup_app *a, const char *json, size_t len, int64_t *version,
                          beat_reason *why) {
    int rc = body_fits(a, K_CAMPAIGNS, len, why);
    if (rc) return rc;
    beat_campaign_set cs = {0};
    rc = beat_campaigns_decode(json, len, beat_engine_ms(), BEAT_CAMPAIGNS_STRICT, &cs, why);
    if (rc) return reject(a, K_CAMPAIGNS, why, -EINVAL);
    char hex[65], source[80];
    beat_sha256_hex(json, len, hex);
    snprintf(source, sizeof source, "api:%s", hex);
    if ((rc = install_campaigns(a, &cs, source, NULL, NULL, why)) != 0) {
        beat_campaigns_fini(&cs);
        return rc;
    }
    accepted(a, K_CAMPAIGNS);
    beat_log(BEAT_INFO, "campaigns_accepted", "version=%lld n=%d source=api",
             (long long)a->cs.version, a->cs.n);
    *version = a->cs.version;
    return 0;
}

int sup_app_load_campaigns_file(sup_app *a, const char *path, beat_reason *why) {
    beat_buf b;
    beat_buf_init(&b, a->cfg.max_json_bytes);
    char hex[65];
    bool same = false;
    int rc = sup_read_config_file(a->st, path, META_FILE_HASH, &b, hex, &same, why);
    if (rc == 0) {
        if (a->cs.version && same) {
            beat_log(BEAT_INFO, "campaigns_file_unchanged", "path=%s version=%lld", path,
                     (long long)a->cs.version);
            beat_buf_fini(&b);
            return 0;
        }
        beat_campaign_set cs = {0};
        beat_reason r = {{0}};
        rc = beat_campaigns_decode(b.data, b.len, beat_engine_ms(), BEAT_CAMPAIGNS_STRICT, &cs, &r);
        if (rc) {
            rc = beat_reasonf(why, -EINVAL, "%s: %s", path, r.msg);
        } else {
            char source[80];
            snprintf(source, sizeof source, "file:%s", hex);
            if ((rc = install_campaigns(a, &cs, source, META_FILE_HASH, hex, why)) != 0)
                beat_campaigns_fini(&cs);
            else {
                accepted(a, K_CAMPAIGNS);
                beat_log(BEAT_INFO, "campaigns_loaded", "path=%s version=%lld n=%d", path,
                         (long long)a->cs.version, a->cs.n);
            }
        }
    }
    beat_buf_fini(&b);
    return rc;
}

/* ---- state ----------------------------------------------------------------- */

/* Semantic checks beat_state_decode cannot do: campaigns must exist in the
 * current set, multipliers within [0, max]. */
/* A writer's ts further ahead than the skew allows: inference measures the
 * state's age from it, so a future one would never go stale (docs/contracts.md
 * "Timestamps"). */
static int ts_validate(const sup_app *a, const char *what, int64_t ts_ms, beat_reason *why) {
    int64_t now = beat_now_ms();
    if (!beat_ts_ahead(ts_ms, now, a->cfg.max_clock_skew_ms)) return 0;
    beat_log_rl(5000, BEAT_WARN, "future_timestamp",
                "what=%s ts=%lld ahead_ms=%lld "
                "max_clock_skew_ms=%lld",
                what, (long long)ts_ms, (long long)(ts_ms - now),
                (long long)a->cfg.max_clock_skew_ms);
    return beat_reasonf(why, -EINVAL,
                        "ts %lld is %lld ms ahead of this clock "
                        "(--max-clock-skew-ms %lld)",
                        (long long)ts_ms, (long long)(ts_ms - now),
                        (long long)a->cfg.max_clock_skew_ms);
}

static int state_validate(const sup_app *a, const beat_state *s, beat_reason *why) {
    int rc = ts_validate(a, "state", s->ts_ms, why);
    if (rc) return rc;
    for (int i = 0; i < s->n; i++) {
        const beat_state_campaign *c = &s->c[i];
        if (!beat_campaigns_find(&a->cs, c->id))
            return beat_reasonf(why, -EINVAL, "unknown campaign %s", c->id);
        if (!isfinite(c->multiplier) || c->multiplier < 0 || c->multiplier > a->cfg.max_multiplier)
            return beat_reasonf(why, -EINVAL, "campaigns.%s.multiplier: must be finite in [0, %g]",
                                c->id, a->cfg.max_multiplier);
    }
    return 0;
}

int sup_app_post_state(sup_app *a, const char *json, size_t len, int64_t *version,
                       beat_reason *why) {
    int rc = body_fits(a, K_STATE, len, why);
    if (rc) return rc;
    beat_state s = {0};
    if (beat_state_decode(json, len, BEAT_CAMPAIGNS_MAX, &s, why) != 0)
        return reject(a, K_STATE, why, -EINVAL);
    rc = state_validate(a, &s, why);
    if (rc) {
        beat_state_fini(&s);
        return reject(a, K_STATE, why, rc);
    }
    int64_t v;
    if (sup_store_next_version(a->st, SUP_T_STATES, &v) != 0) {
        beat_state_fini(&s);
        return beat_reasonf(why, -EIO, "store failed");
    }
    s.version = v;
    beat_buf b;
    beat_buf_init(&b, 2 * a->cfg.max_json_bytes + 1024);
    char *out = NULL;
    size_t out_len = 0;
    rc = beat_state_encode(&s, true, &b);
    if (rc == 0) rc = json_with_version(b.data, b.len, v, &out, &out_len);
    beat_buf_fini(&b);
    if (rc) {
        beat_log(BEAT_ERROR, "state_encode_failed", "err=%d", rc);
        beat_state_fini(&s);
        return beat_reasonf(why, -EIO, "cannot encode state");
    }
    int64_t now = beat_now_ms();
    if (store_put(a, SUP_T_STATES, v, now, s.actuator, 0, out, out_len, NULL, NULL) != 0) {
        free(out);
        beat_state_fini(&s);
        return beat_reasonf(why, -EIO, "store failed");
    }
    beat_state_fini(&a->state);
    free(a->state_json);
    a->state = s;
    a->state_json = out;
    a->state_len = out_len;
    a->state_ts = now;
    beat_gauge_set(a->version_g[K_STATE], (double)v);
    accepted(a, K_STATE);
    publish_snapshot(a);
    *version = v;
    return 0;
}

/* ---- checkpoint ------------------------------------------------------------ */

static int ckpt_validate(const sup_app *a, const void *p, size_t n, beat_ckpt *ck,
                         beat_reason *why) {
    if (beat_ckpt_decode(p, n, a->cfg.max_ckpt_bytes, ck, why) != 0) return -EINVAL;
    int rc = 0;
    if (ck->h.hash_bits != a->cfg.hash_bits)
        rc = beat_reasonf(why, -EINVAL, "hash_bits %u != configured %u", ck->h.hash_bits,
                          a->cfg.hash_bits);
    else if (ck->h.hash_seed != a->cfg.hash_seed)
        rc =
            beat_reasonf(why, -EINVAL, "hash_seed %016llx != configured %016llx",
                         (unsigned long long)ck->h.hash_seed, (unsigned long long)a->cfg.hash_seed);
    else rc = ts_validate(a, "checkpoint", ck->h.ts_ms, why);
    if (rc) beat_ckpt_fini(ck);
    return rc;
}

static void install_model(sup_app *a, sup_frame *f, int64_t v, int64_t ts,
                          const beat_ckpt_header *h) {
    sup_frame_unref(a->model);
    a->model = f;
    a->model_version = v;
    a->model_ts = ts;
    a->mh = *h;
    beat_gauge_set(a->version_g[K_CKPT], (double)v);
    if (a->pub) sup_pub_set_model(a->pub, v, f);
}

int sup_app_post_checkpoint(sup_app *a, const void *bytes, size_t len, int64_t *version,
                            beat_reason *why) {
    if (len > a->cfg.max_ckpt_bytes)
        return reject(
            a, K_CKPT, why,
            beat_reasonf(why, -EMSGSIZE, "checkpoint over %zu bytes", a->cfg.max_ckpt_bytes));
    beat_ckpt ck = {0};
    if (ckpt_validate(a, bytes, len, &ck, why) != 0) return reject(a, K_CKPT, why, -EINVAL);
    beat_ckpt_header h = ck.h;
    beat_ckpt_fini(&ck); /* only the header is kept; the bytes are stored as sent */
    int64_t v;
    if (sup_store_next_version(a->st, SUP_T_CHECKPOINTS, &v) != 0)
        return beat_reasonf(why, -EIO, "store failed");
    sup_frame *f = model_frame(v, bytes, len);
    if (!f) return beat_reasonf(why, -ENOMEM, "out of memory");
    int64_t now = beat_now_ms();
    if (store_put(a, SUP_T_CHECKPOINTS, v, now, h.trainer, beat_crc32(bytes, len), bytes, len, NULL,
                  NULL) != 0) {
        sup_frame_unref(f);
        return beat_reasonf(why, -EIO, "store failed");
    }
    install_model(a, f, v, now, &h);
    accepted(a, K_CKPT);
    beat_log(BEAT_INFO, "checkpoint_accepted", "version=%lld bytes=%zu trainer=%s auc=%g",
             (long long)v, len, h.trainer, h.auc);
    *version = v;
    return 0;
}

/* ---- reload ---------------------------------------------------------------- */

int sup_app_load(sup_app *a) {
    sup_row r;
    beat_reason why = {{0}};
    if (sup_exch_load(a->exch) != 0) return -EIO;
    int rc = sup_store_latest(a->st, SUP_T_CAMPAIGNS, &r);
    if (rc == -EIO) return rc;
    if (rc == 0) {
        beat_campaign_set cs = {0};
        char *json = NULL;
        size_t len = 0;
        if (beat_campaigns_decode(r.data, r.len, beat_engine_ms(), 0, &cs, &why) == 0 &&
            json_with_version(r.data, r.len, r.version, &json, &len) == 0) {
            cs.version = r.version;
            a->cs = cs;
            if (a->banker) sup_banker_set_campaigns(a->banker, &a->cs);
            a->cs_json = json;
            a->cs_len = len;
            a->cs_ts = r.ts_ms;
        } else {
            beat_campaigns_fini(&cs);
            beat_log(BEAT_ERROR, "stored_campaigns_invalid", "version=%lld reason=\"%s\"",
                     (long long)r.version, why.msg);
        }
        sup_row_fini(&r);
    }
    rc = sup_store_latest(a->st, SUP_T_STATES, &r);
    if (rc == -EIO) return rc;
    if (rc == 0) {
        beat_state s = {0};
        if (beat_state_decode(r.data, r.len, BEAT_CAMPAIGNS_MAX, &s, &why) == 0) {
            s.version = r.version;
            a->state = s;
            a->state_json = r.data; /* takes the row's text */
            a->state_len = r.len;
            a->state_ts = r.ts_ms;
            r.data = NULL;
        } else {
            beat_log(BEAT_ERROR, "stored_state_invalid", "version=%lld reason=\"%s\"",
                     (long long)r.version, why.msg);
        }
        sup_row_fini(&r);
    }
    rc = sup_store_latest(a->st, SUP_T_CHECKPOINTS, &r);
    if (rc == -EIO) return rc;
    if (rc == 0) {
        beat_ckpt ck = {0};
        sup_frame *f = NULL;
        /* A checkpoint for other hash parameters (config changed) is not
         * served: inference would reject it anyway. */
        if (ckpt_validate(a, r.data, r.len, &ck, &why) == 0 &&
            (f = model_frame(r.version, r.data, r.len)) != NULL) {
            install_model(a, f, r.version, r.ts_ms, &ck.h);
        } else {
            beat_log(BEAT_ERROR, "stored_checkpoint_invalid", "version=%lld reason=\"%s\"",
                     (long long)r.version, why.msg);
        }
        beat_ckpt_fini(&ck);
        sup_row_fini(&r);
    }
    beat_gauge_set(a->version_g[K_CAMPAIGNS], (double)a->cs.version);
    beat_gauge_set(a->version_g[K_STATE], (double)a->state.version);
    beat_gauge_set(a->db_bytes, sup_store_disk_bytes(a->st));
    publish_snapshot(a);
    beat_log(BEAT_INFO, "store_loaded",
             "path=%s campaigns_version=%lld state_version=%lld"
             " model_version=%lld",
             sup_store_path(a->st), (long long)a->cs.version, (long long)a->state.version,
             (long long)a->model_version);
    return 0;
}

/* ---- lifecycle ------------------------------------------------------------- */

sup_app *sup_app_new(const sup_cfg *cfg, sup_store *st, sup_pub *pub) {
    sup_app *a = calloc(1, sizeof *a);
    if (!a) return NULL;
    a->cfg = *cfg;
    a->st = st;
    a->pub = pub;
    static const char *const vname[] = {"beat_supervisor_campaigns_version",
                                        "beat_supervisor_state_version",
                                        "beat_supervisor_model_version"};
    static_assert(sizeof vname / sizeof vname[0] == K_N, "one version gauge per kind");
    char name[128];
    for (int k = 0; k < K_N; k++) {
        snprintf(name, sizeof name, "beat_supervisor_accepted_total{kind=\"%s\"}", KIND[k]);
        a->accepted[k] = beat_counter_new(name, "Writes accepted and stored");
        snprintf(name, sizeof name, "beat_supervisor_rejected_total{kind=\"%s\"}", KIND[k]);
        a->rejected[k] = beat_counter_new(name, "Writes rejected as invalid or too large");
        a->version_g[k] = beat_gauge_new(vname[k], "Current version (0 = none)");
    }
    a->db_fail = beat_counter_new("beat_supervisor_db_write_failures_total",
                                  "SQLite writes that failed (answered 503)");
    a->db_bytes =
        beat_gauge_new("beat_supervisor_db_size_bytes", "SQLite file plus WAL size on disk");
    a->db_write =
        beat_histogram_new("beat_supervisor_db_write_seconds", "SQLite write transaction latency",
                           beat_latency_bounds, beat_latency_nbounds);
    a->exch = sup_exch_new(st, cfg->max_json_bytes, republish, a);
    if (!a->exch) {
        free(a);
        return NULL;
    }
    return a;
}

void sup_app_free(sup_app *a) {
    if (!a) return;
    beat_campaigns_fini(&a->cs);
    free(a->cs_json);
    beat_state_fini(&a->state);
    free(a->state_json);
    sup_frame_unref(a->model);
    sup_exch_free(a->exch);
    free(a);
}
