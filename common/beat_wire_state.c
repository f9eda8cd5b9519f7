/* Wire formats between daemons (beat_wire.h), control plane: the pacing
 * state (actuator -> supervisor -> inference) and its win-rate curves, the supervisor's heartbeat
 * frame and the checkpoint frame's head. Same rules as beat_wire.c: decoders see untrusted bytes from peers,
 * never assert, never read past len and always give a reason; encoders write
 * exactly what the decoders accept, so decode(encode(x)) == x. */
#include "beat_wire.h"

#include <assert.h>
#include <cjson/cJSON.h>
#include <errno.h>
#include <float.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "beat_ckpt.h"
#include "beat_json.h"

#define FAIL(...) beat_reasonf(why, -EBADMSG, __VA_ARGS__)

/* ---- win-rate curve ------------------------------------------------------------ */

double beat_land_pos(double cpm_micros) {
    if (!(cpm_micros > 0)) return -HUGE_VAL;
    return (log10(cpm_micros) - 4.0) * 5.0 - 0.5;
}

double beat_land_price(double pos) { return pow(10.0, 4.0 + (pos + 0.5) / 5.0); }

double beat_land_win(const float curve[BEAT_LAND_N], double pos) {
    if (!(pos > -1.0)) return 0.0; /* also NaN */
    if (pos < 0.0) return (double)curve[0] * (pos + 1.0);
    if (pos >= BEAT_LAND_N - 1) return curve[BEAT_LAND_N - 1];
    int i = (int)pos;
    double f = pos - i;
    return (double)curve[i] + ((double)curve[i + 1] - (double)curve[i]) * f;
}

/* ---- pacing state ---------------------------------------------------------- */

/* "win_curve": exactly BEAT_LAND_N finite numbers in [0, 1], non-decreasing. */
static int j_curve(const cJSON *v, const char *ctx, float *out, beat_reason *why) {
    if (!cJSON_IsArray(v) || cJSON_GetArraySize(v) != BEAT_LAND_N)
        return FAIL("%s.win_curve: must be an array of %d numbers", ctx, BEAT_LAND_N);
    int i = 0;
    for (const cJSON *c = v->child; c; c = c->next, i++) {
        if (!cJSON_IsNumber(c) || !(c->valuedouble >= 0 && c->valuedouble <= 1))
            return FAIL("%s.win_curve[%d]: must be a number in [0, 1]", ctx, i);
        out[i] = (float)c->valuedouble;
        if (i > 0 && out[i] < out[i - 1])
            return FAIL("%s.win_curve[%d]: below the one before (must be non-decreasing)", ctx, i);
    }
    return 0;
}

void beat_state_fini(beat_state *s) {
    if (!s) return;
    free(s->c);
    free(s->private_json);
    memset(s, 0, sizeof *s);
}

const beat_state_campaign *beat_state_find(const beat_state *s, const char *id) {
    for (int i = 0; s && i < s->n; i++)
        if (strcmp(s->c[i].id, id) == 0) return &s->c[i];
    return NULL;
}

static int state_from(const cJSON *root, int max_campaigns, beat_state *st, beat_reason *why) {
    static const char *const names[] = {"v", "actuator", "ts", "version", "campaigns", "private"};
    static const char *const cnames[] = {"multiplier", "paused", "win_curve"};
    const cJSON *f[6];
    int rc = beat_json_fields(root, "", names, 6, f, false, why);
    if (rc || (rc = beat_json_version(f[0], "", BEAT_STATE_V, why)) ||
        (f[1] && (rc = beat_json_text(f[1], "", "actuator", BEAT_ID_MAX, 0, st->actuator, why))) ||
        (rc = beat_json_count(f[2], "", "ts", &st->ts_ms, why)) ||
        (f[3] && (rc = beat_json_count(f[3], "", "version", &st->version, why))))
        return rc;
    if (!f[4]) return FAIL("campaigns: missing");
    if (!cJSON_IsObject(f[4])) return FAIL("campaigns: must be an object");
    int n = cJSON_GetArraySize(f[4]);
    if (n > max_campaigns) return FAIL("campaigns: too many (%d > %d)", n, max_campaigns);
    if (n > 0 && !(st->c = calloc((size_t)n, sizeof *st->c)))
        return beat_reasonf(why, -ENOMEM, "out of memory");
    for (const cJSON *c = f[4]->child; c; c = c->next) {
        char ctx[96];
        snprintf(ctx, sizeof ctx, "campaigns.%.64s", c->string);
        if ((rc = beat_json_text_check(c->string, "campaigns", "key", BEAT_ID_MAX,
                                       BEAT_JSON_NONEMPTY, why)))
            return rc;
        if (beat_state_find(st, c->string)) return FAIL("%s: duplicate campaign", ctx);
        beat_state_campaign *sc = &st->c[st->n];
        const cJSON *cf[3];
        strcpy(sc->id, c->string);
        if ((rc = beat_json_fields(c, ctx, cnames, 3, cf, false, why)) ||
            (rc = beat_json_double(cf[0], ctx, "multiplier", 0, DBL_MAX, &sc->multiplier, why)) ||
            (cf[1] && (rc = beat_json_bool(cf[1], ctx, "paused", &sc->paused, why))) ||
            (cf[2] && !cJSON_IsNull(cf[2]) && (rc = j_curve(cf[2], ctx, sc->win_curve, why))))
            return rc;
        sc->has_curve = cf[2] && !cJSON_IsNull(cf[2]);
        st->n++;
    }
    if (f[5] && !cJSON_IsNull(f[5])) {
        /* Opaque to everyone but the actuator: kept as compact text. */
        st->private_json = cJSON_PrintUnformatted(f[5]);
        if (!st->private_json) return beat_reasonf(why, -ENOMEM, "out of memory");
    }
    return 0;
}

int beat_state_decode(const char *json, size_t len, int max_campaigns, beat_state *out,
                      beat_reason *why) {
    cJSON *root;
    if (beat_json_parse(json, len, &root, why)) return -EBADMSG;
    beat_state st;
    memset(&st, 0, sizeof st);
    int rc = state_from(root, max_campaigns, &st, why);
    cJSON_Delete(root);
    if (rc) {
        beat_state_fini(&st);
        return rc;
    }
    *out = st;
    return 0;
}

int beat_state_encode(const beat_state *s, bool with_private, beat_buf *out) {
    if (!beat_json_len_ok(s->actuator, BEAT_ID_MAX, false) || s->n < 0) return -EINVAL;
    beat_json_enc e = beat_json_enc_start(out);
    beat_json_put_printf(&e, "{\"v\":%d", BEAT_STATE_V);
    if (s->actuator[0]) {
        beat_json_put_raw(&e, ",\"actuator\":");
        beat_json_put_str(&e, s->actuator);
    }
    beat_json_put_printf(&e, ",\"ts\":%" PRId64, s->ts_ms);
    if (s->version > 0) beat_json_put_printf(&e, ",\"version\":%" PRId64, s->version);
    beat_json_put_raw(&e, ",\"campaigns\":{");
    for (int i = 0; i < s->n && !e.rc; i++) {
        const beat_state_campaign *c = &s->c[i];
        if (!beat_json_len_ok(c->id, BEAT_ID_MAX, true) || !isfinite(c->multiplier)) e.rc = -EINVAL;
        if (i) beat_json_put_raw(&e, ",");
        beat_json_put_str(&e, c->id);
        beat_json_put_raw(&e, ":{\"multiplier\":");
        beat_json_put_double(&e, c->multiplier);
        beat_json_put_raw(&e, c->paused ? ",\"paused\":true" : ",\"paused\":false");
        if (c->has_curve) {
            beat_json_put_raw(&e, ",\"win_curve\":[");
            for (int k = 0; k < BEAT_LAND_N; k++) {
                float w = c->win_curve[k];
                /* what the decoder refuses is not written either */
                if (!(w >= 0 && w <= 1) || (k && w < c->win_curve[k - 1])) e.rc = -EINVAL;
                if (k) beat_json_put_raw(&e, ",");
                if (!e.rc) beat_json_put_float(&e, w);
            }
            beat_json_put_raw(&e, "]");
        }
        beat_json_put_raw(&e, "}");
    }
    beat_json_put_raw(&e, "}");
    /* private_json is written verbatim: it must be JSON text, as
     * beat_state_decode produces it. */
    if (with_private && s->private_json) {
        beat_json_put_raw(&e, ",\"private\":");
        beat_json_put_raw(&e, s->private_json);
    }
    beat_json_put_raw(&e, "}");
    return beat_json_enc_done(&e);
}

/* ---- heartbeat frame --------------------------------------------------------- */

int beat_heartbeat_encode(const beat_heartbeat *hb, beat_buf *out) {
    beat_json_enc e = beat_json_enc_start(out);
    beat_json_put_printf(&e, "%c{\"v\":%d,\"ts\":%" PRId64 ",\"campaigns_version\":%" PRId64,
                         BEAT_FRAME_HEARTBEAT, BEAT_HEARTBEAT_V, hb->ts_ms, hb->campaigns_version);
    beat_json_put_printf(&e, ",\"state_version\":%" PRId64 ",\"model_version\":%" PRId64,
                         hb->state_version, hb->model_version);
    beat_json_put_printf(&e, ",\"snapshot_crc\":%" PRIu32 ",\"model_crc\":%" PRIu32,
                         hb->snapshot_crc, hb->model_crc);
    beat_json_put_printf(&e, ",\"exchanges_version\":%" PRId64, hb->exchanges_version);
    if (hb->segments_version > 0)
        beat_json_put_printf(&e, ",\"segments_version\":%" PRId64, hb->segments_version);
    beat_json_put_raw(&e, "}");
    return beat_json_enc_done(&e);
}

int beat_heartbeat_decode(const void *msg, size_t len, beat_heartbeat *out, beat_reason *why) {
    static const char *const names[] = {"v",
                                        "ts",
                                        "campaigns_version",
                                        "state_version",
                                        "model_version",
                                        "snapshot_crc",
                                        "model_crc",
                                        "exchanges_version",
                                        "segments_version"};
    const char *p = msg;
    if (len < 1 || p[0] != BEAT_FRAME_HEARTBEAT) return FAIL("not a heartbeat frame");
    cJSON *root;
    if (beat_json_parse(p + 1, len - 1, &root, why)) return -EBADMSG;
    beat_heartbeat hb = {0};
    const cJSON *f[9];
    int64_t scrc, mcrc;
    int rc = beat_json_fields(root, "", names, 9, f, false, why);
    if (!rc && f[7])
        rc = beat_json_count(f[7], "", "exchanges_version", &hb.exchanges_version, why);
    if (!rc && f[8]) rc = beat_json_count(f[8], "", "segments_version", &hb.segments_version, why);
    if (!rc &&
        !((rc = beat_json_version(f[0], "", BEAT_HEARTBEAT_V, why)) ||
          (rc = beat_json_count(f[1], "", "ts", &hb.ts_ms, why)) ||
          (rc = beat_json_count(f[2], "", "campaigns_version", &hb.campaigns_version, why)) ||
          (rc = beat_json_count(f[3], "", "state_version", &hb.state_version, why)) ||
          (rc = beat_json_count(f[4], "", "model_version", &hb.model_version, why)) ||
          (rc = beat_json_int(f[5], "", "snapshot_crc", 0, UINT32_MAX, &scrc, why)) ||
          (rc = beat_json_int(f[6], "", "model_crc", 0, UINT32_MAX, &mcrc, why)))) {
        hb.snapshot_crc = (uint32_t)scrc;
        hb.model_crc = (uint32_t)mcrc;
        *out = hb;
    }
    cJSON_Delete(root);
    return rc;
}

static_assert(BEAT_CKPT_FRAME_HEAD == 1 + 8, "'C' frame head: tag, version");

void beat_ckpt_frame_head(uint8_t out[BEAT_CKPT_FRAME_HEAD], int64_t version) {
    out[0] = BEAT_FRAME_CHECKPOINT;
    beat_put_le64(out + 1, (uint64_t)version);
}

int beat_ckpt_frame_encode(const beat_ckpt *c, int64_t version, beat_buf *out) {
    uint8_t head[BEAT_CKPT_FRAME_HEAD];
    beat_ckpt_frame_head(head, version);
    int rc = beat_buf_append(out, head, sizeof head);
    return rc ? rc : beat_ckpt_encode(c, out);
}

int beat_ckpt_frame_version(const void *frame, size_t len, int64_t *version) {
    const uint8_t *p = frame;
    if (len < BEAT_CKPT_FRAME_HEAD || p[0] != BEAT_FRAME_CHECKPOINT) return -EBADMSG;
    *version = (int64_t)beat_get_le64(p + 1);
    return 0;
}
