/* Lease link frames (beat_lease.h). Same rules as the other codecs: the
 * decoder sees untrusted bytes, never asserts, gives a reason; the encoder
 * writes only what the decoder accepts. */
#include "beat_lease.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "beat_json.h"

#define FAIL(...) beat_reasonf(why, -EBADMSG, __VA_ARGS__)

void beat_lease_fini(beat_lease_msg *m) {
    if (!m) return;
    free(m->rows);
    memset(m, 0, sizeof *m);
}

int beat_lease_encode(const beat_lease_msg *m, beat_buf *out) {
    bool report = m->tag == BEAT_FRAME_LEASE_REPORT;
    if ((!report && m->tag != BEAT_FRAME_LEASE_GRANT) || m->n < 0 ||
        (report && !beat_json_len_ok(m->node, BEAT_ID_MAX, true)))
        return -EINVAL;
    beat_json_enc e = beat_json_enc_start(out);
    beat_json_put_printf(&e, "%c{\"v\":%d", m->tag, BEAT_LEASE_V);
    if (report) {
        beat_json_put_raw(&e, ",\"node\":");
        beat_json_put_str(&e, m->node);
    }
    beat_json_put_printf(&e, ",\"inc\":\"%" PRIx64 "\",\"ts\":%" PRId64, m->inc, m->ts_ms);
    if (report && m->final) beat_json_put_raw(&e, ",\"final\":true");
    beat_json_put_raw(&e, ",\"campaigns\":{");
    for (int i = 0; i < m->n && !e.rc; i++) {
        const beat_lease_row *r = &m->rows[i];
        if (!beat_json_len_ok(r->id, BEAT_ID_MAX, true) || r->cpm < 0 ||
            r->cpm > BEAT_LEASE_CPM_MAX)
            e.rc = -EINVAL;
        if (i) beat_json_put_raw(&e, ",");
        beat_json_put_str(&e, r->id);
        beat_json_put_raw(&e, ":");
        beat_json_put_i64(&e, r->cpm);
    }
    beat_json_put_raw(&e, "}}");
    return beat_json_enc_done(&e);
}

static int find(const beat_lease_msg *m, const char *id) {
    for (int i = 0; i < m->n; i++)
        if (strcmp(m->rows[i].id, id) == 0) return i;
    return -1;
}

static int lease_from(const cJSON *root, bool report, int max_rows, beat_lease_msg *m,
                      beat_reason *why) {
    static const char *const names[] = {"v", "node", "inc", "ts", "final", "campaigns"};
    const cJSON *f[6];
    int rc = beat_json_fields(root, "", names, 6, f, false, why);
    if (rc || (rc = beat_json_version(f[0], "", BEAT_LEASE_V, why)) ||
        (rc = beat_json_hex64(f[2], "", "inc", &m->inc, why)) ||
        (rc = beat_json_count(f[3], "", "ts", &m->ts_ms, why)))
        return rc;
    if (report) {
        if ((rc =
                 beat_json_text(f[1], "", "node", BEAT_ID_MAX, BEAT_JSON_NONEMPTY, m->node, why)) ||
            (f[4] && (rc = beat_json_bool(f[4], "", "final", &m->final, why))))
            return rc;
    }
    if (!f[5]) return FAIL("campaigns: missing");
    if (!cJSON_IsObject(f[5])) return FAIL("campaigns: must be an object");
    int n = cJSON_GetArraySize(f[5]);
    if (n > max_rows) return FAIL("campaigns: too many (%d > %d)", n, max_rows);
    if (n > 0 && !(m->rows = calloc((size_t)n, sizeof *m->rows)))
        return beat_reasonf(why, -ENOMEM, "out of memory");
    for (const cJSON *c = f[5]->child; c; c = c->next) {
        if ((rc = beat_json_text_check(c->string, "campaigns", "key", BEAT_ID_MAX,
                                       BEAT_JSON_NONEMPTY, why)))
            return rc;
        if (find(m, c->string) >= 0) return FAIL("campaigns.%s: duplicate", c->string);
        beat_lease_row *r = &m->rows[m->n];
        strcpy(r->id, c->string);
        if ((rc = beat_json_int(c, "campaigns", r->id, 0, BEAT_LEASE_CPM_MAX, &r->cpm, why)))
            return rc;
        m->n++;
    }
    return 0;
}

int beat_lease_decode(const void *msg, size_t len, char want, int max_rows, beat_lease_msg *out,
                      beat_reason *why) {
    const char *p = msg;
    if (len < 1 || p[0] != want)
        return FAIL("not a lease %s frame", want == BEAT_FRAME_LEASE_REPORT ? "report" : "grant");
    cJSON *root;
    if (beat_json_parse(p + 1, len - 1, &root, why)) return -EBADMSG;
    beat_lease_msg m;
    memset(&m, 0, sizeof m);
    m.tag = want;
    int rc = lease_from(root, want == BEAT_FRAME_LEASE_REPORT, max_rows, &m, why);
    cJSON_Delete(root);
    if (rc) {
        beat_lease_fini(&m);
        return rc;
    }
    *out = m;
    return 0;
}
