/* Spend ledger codec (beat_ledger.h): untrusted input, reasons, no asserts;
 * the encoder writes only what the decoder accepts. */
#include "beat_ledger.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "beat_json.h"

#define FAIL(...) beat_reasonf(why, -EBADMSG, __VA_ARGS__)
#define AMOUNT_MAX ((int64_t)1 << 62) /* far beyond any budget, far from overflow */

void beat_ledger_fini(beat_ledger *l) {
    if (!l) return;
    for (int i = 0; i < l->n; i++) free(l->parts[i].rows);
    free(l->parts);
    memset(l, 0, sizeof *l);
}

int beat_ledger_encode(const beat_ledger *l, beat_buf *out) {
    if (!beat_json_len_ok(l->instance, BEAT_ID_MAX, false) || l->n < 0) return -EINVAL;
    beat_json_enc e = beat_json_enc_start(out);
    beat_json_put_printf(&e, "{\"v\":%d,\"instance\":", BEAT_LEDGER_V);
    beat_json_put_str(&e, l->instance);
    beat_json_put_raw(&e, l->store_full ? ",\"store_full\":true" : ",\"store_full\":false");
    beat_json_put_raw(&e, ",\"partitions\":[");
    for (int i = 0; i < l->n && !e.rc; i++) {
        const beat_ledger_part *p = &l->parts[i];
        if (p->p < 0 || p->seq < 0) e.rc = -EINVAL;
        beat_json_put_printf(&e, "%s{\"p\":%" PRId32 ",\"seq\":%" PRId64 ",\"campaigns\":{",
                             i ? "," : "", p->p, p->seq);
        for (int k = 0; k < p->n && !e.rc; k++) {
            const beat_ledger_row *r = &p->rows[k];
            if (!beat_json_len_ok(r->id, BEAT_ID_MAX, true) || r->spend_cpm < 0 ||
                r->released_cpm < 0 || r->spend_cpm > AMOUNT_MAX || r->released_cpm > AMOUNT_MAX)
                e.rc = -EINVAL;
            if (k) beat_json_put_raw(&e, ",");
            beat_json_put_str(&e, r->id);
            beat_json_put_printf(&e, ":{\"spend_cpm\":%" PRId64 ",\"released_cpm\":%" PRId64 "}",
                                 r->spend_cpm, r->released_cpm);
        }
        beat_json_put_raw(&e, "}}");
    }
    beat_json_put_raw(&e, "]}");
    return beat_json_enc_done(&e);
}

static int part_from(const cJSON *pj, const char *ctx, int max_rows, beat_ledger_part *p,
                     beat_reason *why) {
    static const char *const names[] = {"p", "seq", "campaigns"};
    static const char *const rnames[] = {"spend_cpm", "released_cpm"};
    const cJSON *f[3];
    int rc = beat_json_fields(pj, ctx, names, 3, f, false, why);
    if (rc || (rc = beat_json_int32(f[0], ctx, "p", 0, INT32_MAX, &p->p, why)) ||
        (rc = beat_json_count(f[1], ctx, "seq", &p->seq, why)))
        return rc;
    if (!f[2]) return FAIL("%s.campaigns: missing", ctx);
    if (!cJSON_IsObject(f[2])) return FAIL("%s.campaigns: must be an object", ctx);
    int n = cJSON_GetArraySize(f[2]);
    if (n > max_rows) return FAIL("%s.campaigns: too many (%d > %d)", ctx, n, max_rows);
    if (n > 0 && !(p->rows = calloc((size_t)n, sizeof *p->rows)))
        return beat_reasonf(why, -ENOMEM, "out of memory");
    for (const cJSON *c = f[2]->child; c; c = c->next) {
        char cctx[128];
        snprintf(cctx, sizeof cctx, "%s.campaigns.%.64s", ctx, c->string);
        if ((rc = beat_json_text_check(c->string, ctx, "campaigns key", BEAT_ID_MAX,
                                       BEAT_JSON_NONEMPTY, why)))
            return rc;
        for (int k = 0; k < p->n; k++)
            if (strcmp(p->rows[k].id, c->string) == 0) return FAIL("%s: duplicate", cctx);
        beat_ledger_row *r = &p->rows[p->n];
        const cJSON *rf[2];
        strcpy(r->id, c->string);
        if ((rc = beat_json_fields(c, cctx, rnames, 2, rf, false, why)) ||
            (rc = beat_json_int(rf[0], cctx, "spend_cpm", 0, AMOUNT_MAX, &r->spend_cpm, why)) ||
            (rc = beat_json_int(rf[1], cctx, "released_cpm", 0, AMOUNT_MAX, &r->released_cpm, why)))
            return rc;
        p->n++;
    }
    return 0;
}

static int ledger_from(const cJSON *root, int max_rows, beat_ledger *l, beat_reason *why) {
    static const char *const names[] = {"v", "instance", "store_full", "partitions"};
    const cJSON *f[4];
    int rc = beat_json_fields(root, "", names, 4, f, false, why);
    if (rc || (rc = beat_json_version(f[0], "", BEAT_LEDGER_V, why)) ||
        (f[1] && (rc = beat_json_text(f[1], "", "instance", BEAT_ID_MAX, 0, l->instance, why))) ||
        (f[2] && (rc = beat_json_bool(f[2], "", "store_full", &l->store_full, why))))
        return rc;
    if (!f[3]) return FAIL("partitions: missing");
    if (!cJSON_IsArray(f[3])) return FAIL("partitions: must be an array");
    int n = cJSON_GetArraySize(f[3]);
    if (n > BEAT_LEDGER_PARTS_MAX)
        return FAIL("partitions: too many (%d > %d)", n, BEAT_LEDGER_PARTS_MAX);
    if (n > 0 && !(l->parts = calloc((size_t)n, sizeof *l->parts)))
        return beat_reasonf(why, -ENOMEM, "out of memory");
    for (const cJSON *pj = f[3]->child; pj; pj = pj->next) {
        char ctx[32];
        snprintf(ctx, sizeof ctx, "partitions[%d]", l->n);
        beat_ledger_part *p = &l->parts[l->n++];
        if ((rc = part_from(pj, ctx, max_rows, p, why))) return rc;
        for (int k = 0; k < l->n - 1; k++)
            if (l->parts[k].p == p->p) return FAIL("%s.p: duplicate partition", ctx);
    }
    return 0;
}

int beat_ledger_decode(const char *json, size_t len, int max_rows, beat_ledger *out,
                       beat_reason *why) {
    cJSON *root;
    if (beat_json_parse(json, len, &root, why)) return -EBADMSG;
    beat_ledger l;
    memset(&l, 0, sizeof l);
    int rc = ledger_from(root, max_rows, &l, why);
    cJSON_Delete(root);
    if (rc) {
        beat_ledger_fini(&l);
        return rc;
    }
    *out = l;
    return 0;
}
