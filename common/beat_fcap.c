/* Frequency-cap keys, rows, the bounded table and the 'F' frame
 * (beat_fcap.h). Pure data structures: the callers (datastream's consumer
 * thread, the supervisor's cap puller, inference's sync thread and workers)
 * bring their own locking. */
#include "beat_fcap.h"

#include <assert.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <xxhash.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>

uint64_t beat_fcap_key(const void *secret, size_t secret_len, beat_fcap_id_kind kind,
                       const char *exchange, const char *id) {
    if (kind == BEAT_FCAP_ID_NONE || !id || secret_len > INT32_MAX) return 0;
    /* "beat-fcap-v1" keeps these MACs apart from the notice signatures made
     * with the same secret; the NULs keep the fields apart. */
    char msg[512];
    static const char tag[] = "beat-fcap-v1";
    size_t n = sizeof tag; /* with its NUL */
    memcpy(msg, tag, n);
    msg[n++] = (char)('0' + kind);
    msg[n++] = '\0';
    const char *x = kind == BEAT_FCAP_ID_USER && exchange ? exchange : "";
    size_t xl = strnlen(x, 128), il = strnlen(id, sizeof msg - n - xl - 2);
    memcpy(msg + n, x, xl);
    n += xl;
    msg[n++] = '\0';
    memcpy(msg + n, id, il);
    n += il;
    unsigned char mac[EVP_MAX_MD_SIZE];
    unsigned int mac_len = 0;
    static const unsigned char empty_key[1];
    if (!HMAC(EVP_sha256(), secret_len ? secret : empty_key, (int)secret_len,
              (const unsigned char *)msg, n, mac, &mac_len) ||
        mac_len < 8)
        return 0;
    uint64_t k = beat_get_le64(mac);
    return k ? k : 1;
}

uint64_t beat_fcap_camp(const char *campaign_id) {
    return XXH3_64bits(campaign_id, strlen(campaign_id));
}

void beat_fcap_row_add(beat_fcap_row *r, int64_t bid_ts_ms) {
    if (r->count < UINT32_MAX) r->count++;
    memmove(r->recent + 1, r->recent, (BEAT_FCAP_RECENT - 1) * sizeof r->recent[0]);
    r->recent[0] = (uint32_t)bid_ts_ms;
}

bool beat_fcap_row_has(const beat_fcap_row *r, int64_t bid_ts_ms) {
    uint32_t t = (uint32_t)bid_ts_ms;
    for (int i = 0; i < BEAT_FCAP_RECENT; i++)
        if (r->recent[i] == t && t) return true;
    return false;
}

/* ---- table ---------------------------------------------------------------------- */

#define WAYS 4

struct beat_fcap_tab {
    beat_fcap_row *s;
    uint64_t set_mask;
    int64_t n;
};

beat_fcap_tab *beat_fcap_tab_new(int64_t max_rows) {
    if (max_rows < WAYS || max_rows > (1LL << 28)) return NULL;
    uint64_t sets = 1;
    while ((int64_t)(sets * WAYS) < max_rows) sets <<= 1;
    beat_fcap_tab *t = calloc(1, sizeof *t);
    if (!t) return NULL;
    t->s = calloc(sets * WAYS, sizeof *t->s);
    if (!t->s) {
        free(t);
        return NULL;
    }
    t->set_mask = sets - 1;
    return t;
}

void beat_fcap_tab_free(beat_fcap_tab *t) {
    if (!t) return;
    free(t->s);
    free(t);
}

static beat_fcap_row *set_of(beat_fcap_tab *t, uint64_t camp, uint64_t key, int64_t start) {
    uint64_t h = camp * 0x9e3779b97f4a7c15ULL ^ key ^ (uint64_t)start * 0xc2b2ae3d27d4eb4fULL;
    h ^= h >> 29;
    return &t->s[(h & t->set_mask) * WAYS];
}

beat_fcap_row *beat_fcap_tab_find(beat_fcap_tab *t, uint64_t camp, uint64_t key,
                                  int64_t win_start_ms) {
    beat_fcap_row *s = set_of(t, camp, key, win_start_ms);
    for (int i = 0; i < WAYS; i++)
        if (s[i].window_s && s[i].camp == camp && s[i].key == key &&
            s[i].win_start_ms == win_start_ms)
            return &s[i];
    return NULL;
}

beat_fcap_row *beat_fcap_tab_upsert(beat_fcap_tab *t, uint64_t camp, uint64_t key,
                                    int64_t win_start_ms, int32_t window_s, int64_t now_ms,
                                    bool *evicted) {
    *evicted = false;
    beat_fcap_row *s = set_of(t, camp, key, win_start_ms), *victim = NULL;
    for (int i = 0; i < WAYS; i++) {
        if (s[i].window_s && s[i].camp == camp && s[i].key == key &&
            s[i].win_start_ms == win_start_ms)
            return &s[i];
        /* Empty first, then the oldest window's end: ended windows are the
         * oldest, and among open ones the nearest to ending loses least. */
        if (!victim || (victim->window_s &&
                        (!s[i].window_s || beat_fcap_row_end(&s[i]) < beat_fcap_row_end(victim))))
            victim = &s[i];
    }
    if (!victim->window_s) t->n++;
    else if (beat_fcap_row_end(victim) > now_ms) *evicted = true;
    *victim = (beat_fcap_row){
        .camp = camp, .key = key, .win_start_ms = win_start_ms, .window_s = window_s};
    if (victim->window_s <= 0) victim->window_s = 1;
    return victim;
}

int64_t beat_fcap_tab_slots(const beat_fcap_tab *t) { return (int64_t)(t->set_mask + 1) * WAYS; }
beat_fcap_row *beat_fcap_tab_slot(beat_fcap_tab *t, int64_t i) { return &t->s[i]; }
int64_t beat_fcap_tab_index(const beat_fcap_tab *t, const beat_fcap_row *r) { return r - t->s; }
int64_t beat_fcap_tab_rows(const beat_fcap_tab *t) { return t->n; }

/* ---- frame ---------------------------------------------------------------------- */

/* The frame's layout (docs/contracts.md "Frequency caps"): the sizes are what the
 * encoder and decoder write and read field by field. */
static_assert(BEAT_FCAP_HDR_BYTES == 3 + 8 + 4, "fcap header: tag, version, flags, ts, n");
static_assert(BEAT_FCAP_ROW_BYTES == 8 + 8 + 8 + 4 + 4 + 4 * BEAT_FCAP_RECENT,
              "fcap row: camp, key, start, window_s, count, recent");

int64_t beat_fcap_frame_encode(const beat_fcap_row *rows, int n, int64_t ts_ms, uint8_t *out,
                               size_t cap) {
    if (n < 0 || n > BEAT_FCAP_FRAME_ROWS ||
        cap < BEAT_FCAP_HDR_BYTES + (size_t)n * BEAT_FCAP_ROW_BYTES)
        return -EINVAL;
    uint8_t *p = out;
    *p++ = BEAT_FRAME_FCAP;
    *p++ = BEAT_FCAP_V;
    *p++ = 0;
    beat_put_le64(p, (uint64_t)ts_ms);
    beat_put_le32(p + 8, (uint32_t)n);
    p += 12;
    for (int i = 0; i < n; i++) {
        const beat_fcap_row *r = &rows[i];
        beat_put_le64(p, r->camp);
        beat_put_le64(p + 8, r->key);
        beat_put_le64(p + 16, (uint64_t)r->win_start_ms);
        beat_put_le32(p + 24, (uint32_t)r->window_s);
        beat_put_le32(p + 28, r->count);
        for (int k = 0; k < BEAT_FCAP_RECENT; k++) beat_put_le32(p + 32 + 4 * k, r->recent[k]);
        p += BEAT_FCAP_ROW_BYTES;
    }
    return p - out;
}

int beat_fcap_frame_decode(const uint8_t *p, size_t len, int64_t *ts_ms, beat_fcap_row *rows,
                           int max_rows, int *n, beat_reason *why) {
    if (len < BEAT_FCAP_HDR_BYTES || p[0] != BEAT_FRAME_FCAP)
        return beat_reasonf(why, -EBADMSG, "not a frequency-cap frame (%zu bytes)", len);
    if (p[1] != BEAT_FCAP_V) return beat_reasonf(why, -EBADMSG, "unsupported version %d", p[1]);
    uint32_t cnt = beat_get_le32(p + 11);
    if (cnt > BEAT_FCAP_FRAME_ROWS || (int64_t)cnt > max_rows)
        return beat_reasonf(why, -EBADMSG, "%u rows: more than %d", cnt,
                            max_rows < BEAT_FCAP_FRAME_ROWS ? max_rows : BEAT_FCAP_FRAME_ROWS);
    if (len != BEAT_FCAP_HDR_BYTES + (size_t)cnt * BEAT_FCAP_ROW_BYTES)
        return beat_reasonf(why, -EBADMSG, "%zu bytes for %u rows", len, cnt);
    const uint8_t *q = p + BEAT_FCAP_HDR_BYTES;
    for (uint32_t i = 0; i < cnt; i++, q += BEAT_FCAP_ROW_BYTES) {
        beat_fcap_row *r = &rows[i];
        *r = (beat_fcap_row){.camp = beat_get_le64(q),
                             .key = beat_get_le64(q + 8),
                             .win_start_ms = (int64_t)beat_get_le64(q + 16),
                             .window_s = (int32_t)beat_get_le32(q + 24),
                             .count = beat_get_le32(q + 28)};
        for (int k = 0; k < BEAT_FCAP_RECENT; k++) r->recent[k] = beat_get_le32(q + 32 + 4 * k);
        if (r->window_s <= 0 || !r->key || r->win_start_ms < -(1LL << 62) ||
            r->win_start_ms > (1LL << 62))
            return beat_reasonf(why, -EBADMSG, "row %u: bad window or key", i);
    }
    *ts_ms = (int64_t)beat_get_le64(p + 3);
    *n = (int)cnt;
    return 0;
}
