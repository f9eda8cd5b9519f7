/* Unit tests for beat_wire.c: every format round-trips exactly, and a table
 * of malformed inputs is refused with the reason a peer's log would show. */
#include "beat_wire.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "beat_test.h"

static beat_event full_bid(void) {
    beat_event ev;
    memset(&ev, 0, sizeof ev);
    ev.type = BEAT_EV_BID;
    ev.ts_ms = 1700000000123;
    strcpy(ev.auction, "A-1\"quoted\\x");
    strcpy(ev.imp, "1");
    strcpy(ev.campaign, "c1");
    strcpy(ev.crid, "cr1");
    strcpy(ev.node, "inf-1");
    ev.price_cpm_micros = 1500000;
    ev.bid_cpm_micros = 1400000;
    ev.notice_ts_ms = 1700000000100;
    ev.loss_code = 102;
    ev.pctr = 0.0123;
    ev.model_version = 5;
    ev.state_version = 7;
    ev.n_feat = BEAT_FEAT_MAX;
    for (uint32_t i = 0; i < ev.n_feat; i++) ev.feat[i] = i * 2654435761u;
    return ev;
}

static int t_event_roundtrip(void) {
    beat_event ev = full_bid(), back;
    beat_buf b;
    beat_reason why;
    beat_buf_init(&b, 1 << 16);
    CHECK_EQ_INT(beat_event_encode(&ev, &b), 0);
    CHECK_EQ_INT(beat_event_decode(b.data, b.len, &back, &why), 0);
    CHECK(memcmp(&ev, &back, sizeof ev) == 0);
    CHECK(strstr(b.data, "\"pctr\":0.0123,"));
    /* a bid's frequency-cap key and window travel as hex and seconds */
    ev.cap_key = 0x00ab00000000cd01ULL;
    ev.cap_window_s = 3600;
    beat_buf_reset(&b);
    CHECK_EQ_INT(beat_event_encode(&ev, &b), 0);
    CHECK(strstr(b.data, "\"cap\":\"00ab00000000cd01\",\"cap_s\":3600"));
    CHECK_EQ_INT(beat_event_decode(b.data, b.len, &back, &why), 0);
    CHECK(memcmp(&ev, &back, sizeof ev) == 0);
    ev.cap_key = 0;
    ev.cap_window_s = 0;
    /* every type, and the minimal event with its zero fields absent */
    for (int t = BEAT_EV_BID; t <= BEAT_EV_CLICK; t++) {
        beat_event m;
        memset(&m, 0, sizeof m);
        m.type = (beat_event_type)t;
        strcpy(m.auction, "a");
        strcpy(m.imp, "i");
        m.ts_ms = 9007199254740992; /* 2^53: the largest exact integer */
        beat_buf_reset(&b);
        CHECK_EQ_INT(beat_event_encode(&m, &b), 0);
        CHECK_EQ_INT(beat_event_decode(b.data, b.len, &back, &why), 0);
        CHECK(memcmp(&m, &back, sizeof m) == 0);
        if (t == BEAT_EV_WIN)
            CHECK_EQ_STR(b.data, "{\"v\":1,\"type\":\"win\",\"auction\":\"a\","
                                 "\"imp\":\"i\",\"ts\":9007199254740992}");
    }
    /* input is not NUL-terminated: bytes after len must not matter */
    const char *s = "{\"v\":1,\"type\":\"click\",\"auction\":\"a\",\"imp\":\"1\",\"ts\":5}GARBAGE";
    CHECK_EQ_INT(beat_event_decode(s, strlen(s) - 7, &back, &why), 0);
    CHECK_EQ_INT(back.type, BEAT_EV_CLICK);
    CHECK(beat_event_decode(s, strlen(s) - 8, &back, &why) == -EBADMSG);
    beat_buf_fini(&b);
    return 0;
}

/* pctr goes on the wire with 9 significant digits (no printf on the bid
 * path): short decimals come back exactly, the rest within 5e-9 relative,
 * and rounding that carries into the next power of ten stays right. */
static int t_event_pctr_text(void) {
    static const struct {
        double p;
        const char *text;
    } cases[] = {{0.0123, "0.0123"},
                 {0.5, "0.5"},
                 {0.1, "0.1"},
                 {0.9999999999, "1"},
                 {0.0999999999999, "0.1"},
                 {0.000123456789123, "0.000123456789"},
                 {1.0, "1"},
                 {0.25e-10, "0.000000000025"}};
    beat_buf b;
    beat_buf_init(&b, 1 << 16);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        beat_event ev = full_bid();
        ev.pctr = cases[i].p;
        beat_buf_reset(&b);
        CHECK_EQ_INT(beat_event_encode(&ev, &b), 0);
        char want[64];
        snprintf(want, sizeof want, "\"pctr\":%s,", cases[i].text);
        if (!strstr(b.data, want)) fprintf(stderr, "  %s not in %s\n", want, b.data);
        CHECK(strstr(b.data, want));
    }
    uint64_t x = 88172645463325252ULL;
    for (int i = 0; i < 5000; i++) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        double p = (double)(x >> 11) / 9007199254740992.0 / (double)(1u << (i % 30));
        if (p < 1e-12) continue;
        beat_event ev = full_bid(), back;
        beat_reason why;
        ev.pctr = p;
        beat_buf_reset(&b);
        CHECK_EQ_INT(beat_event_encode(&ev, &b), 0);
        CHECK_EQ_INT(beat_event_decode(b.data, b.len, &back, &why), 0);
        CHECK(fabs(back.pctr - p) <= 5e-9 * p);
    }
    beat_buf_fini(&b);
    return 0;
}

static int t_event_encode_refuses(void) {
    beat_buf b;
    beat_buf_init(&b, 1 << 16);
    beat_event ev = full_bid();
    ev.auction[0] = 0;
    CHECK_EQ_INT(beat_event_encode(&ev, &b), -EINVAL);
    ev = full_bid();
    ev.type = (beat_event_type)99;
    CHECK_EQ_INT(beat_event_encode(&ev, &b), -EINVAL);
    CHECK_EQ_INT(b.len, 0);
    beat_buf_fini(&b);
    /* a buffer too small is left as it was */
    beat_buf_init(&b, 40);
    beat_buf_puts(&b, "xy");
    ev = full_bid();
    CHECK_EQ_INT(beat_event_encode(&ev, &b), -EMSGSIZE);
    CHECK_EQ_STR(b.data, "xy");
    beat_buf_fini(&b);
    return 0;
}

static int t_event_types(void) {
    beat_event_type t;
    CHECK_EQ_STR(beat_event_type_name(BEAT_EV_BILL), "bill");
    CHECK_EQ_STR(beat_event_type_name((beat_event_type)0), "unknown");
    CHECK_EQ_INT(beat_event_type_parse("loss", &t), 0);
    CHECK_EQ_INT(t, BEAT_EV_LOSS);
    CHECK_EQ_INT(beat_event_type_parse("Bid", &t), -EINVAL);
    CHECK_EQ_INT(beat_event_type_parse(NULL, &t), -EINVAL);
    return 0;
}

/* A body a decoder must refuse, and what its reason must say. */
typedef struct bad_case {
    const char *json, *reason;
} bad_case;

/* beat_event_decode refuses each of bad[0..n) with -EBADMSG and the
 * reason it names, leaving its out-parameter untouched. */
static int events_refused(const bad_case *bad, size_t n) {
    for (size_t i = 0; i < n; i++) {
        beat_event ev;
        memset(&ev, 0x5a, sizeof ev);
        beat_reason why = {{0}};
        int rc = beat_event_decode(bad[i].json, strlen(bad[i].json), &ev, &why);
        if (rc != -EBADMSG) {
            fprintf(stderr, "  case %zu (%s) rc=%d\n", i, bad[i].json, rc);
            return 1;
        }
        CHECK_REASON(why, bad[i].reason);
        CHECK(((unsigned char *)&ev)[0] == 0x5a); /* out untouched */
    }
    return 0;
}

#define EV_OK "\"v\":1,\"type\":\"bid\",\"auction\":\"a\",\"imp\":\"1\""
static const bad_case bad_events[] = {
    {"", "invalid JSON"},
    {"not json", "invalid JSON"},
    {"[]", "must be an object"},
    {"{" EV_OK ",\"ts\":1}x", "trailing bytes"},
    {"{\"type\":\"bid\",\"auction\":\"a\",\"imp\":\"1\",\"ts\":1}", "v: missing"},
    {"{\"v\":2,\"type\":\"bid\",\"auction\":\"a\",\"imp\":\"1\",\"ts\":1}",
     "unsupported version 2"},
    {"{\"v\":1,\"type\":\"bogus\",\"auction\":\"a\",\"imp\":\"1\",\"ts\":1}", "type: unknown"},
    {"{\"v\":1,\"type\":7,\"auction\":\"a\",\"imp\":\"1\",\"ts\":1}", "type: unknown"},
    {"{\"v\":1,\"auction\":\"a\",\"imp\":\"1\",\"ts\":1}", "type: missing"},
    {"{\"v\":1,\"type\":\"bid\",\"imp\":\"1\",\"ts\":1}", "auction: missing"},
    {"{\"v\":1,\"type\":\"bid\",\"auction\":\"\",\"imp\":\"1\",\"ts\":1}",
     "auction: must not be empty"},
    {"{\"v\":1,\"type\":\"bid\",\"auction\":5,\"imp\":\"1\",\"ts\":1}",
     "auction: must be a string"},
    {"{\"v\":1,\"type\":\"bid\",\"auction\":\"a\",\"ts\":1}", "imp: missing"},
    {"{" EV_OK "}", "ts: missing"},
    {"{\"v\":1,\"type\":\"bid\",\"auction\":"
     "\"0123456789012345678901234567890123456789012345678901234567890123X\",\"imp\":\"1\",\"ts\":"
     "1}",
     "auction: longer than 64"},
    {"{\"v\":1,\"type\":\"bid\",\"auction\":\"a\\u0001\",\"imp\":\"1\",\"ts\":1}",
     "auction: control character"},
    {"{\"v\":1,\"type\":\"bid\",\"auction\":\"a\",\"imp\":\"\xff\",\"ts\":1}",
     "imp: invalid UTF-8"},
    {"{" EV_OK ",\"ts\":1,\"campaign\":\"c\\u007f\"}", "campaign: control character"},
    {"{" EV_OK ",\"ts\":-1}", "ts: must be >= 0"},
    {"{" EV_OK ",\"ts\":1.5}", "ts: must be an integer"},
    {"{" EV_OK ",\"ts\":1e16}", "ts: must be an integer"},
    {"{" EV_OK ",\"ts\":\"5\"}", "ts: must be an integer"},
    {"{" EV_OK ",\"ts\":1,\"price\":-1}", "price: must be >= 0"},
    {"{" EV_OK ",\"ts\":1,\"price\":1.5}", "price: must be an integer"},
    {"{" EV_OK ",\"ts\":1,\"bid\":-3}", "bid: must be >= 0"},
    {"{" EV_OK ",\"ts\":1,\"loss\":4294967296}", "loss: must be <="},
    {"{" EV_OK ",\"ts\":1,\"pctr\":1.5}", "pctr: must be in [0, 1]"},
    {"{" EV_OK ",\"ts\":1,\"pctr\":1e999}", "pctr: must be a finite number"},
    {"{" EV_OK ",\"ts\":1,\"model_v\":-1}", "model_v: must be >= 0"},
    {"{" EV_OK ",\"ts\":1,\"feat\":\"x\"}", "feat: must be an array"},
    {"{" EV_OK ",\"ts\":1,\"feat\":[-1]}", "feat[]: must be >= 0"},
    {"{" EV_OK ",\"ts\":1,\"feat\":[4294967296]}", "feat[]: must be <= 4294967295"},
    {"{" EV_OK ",\"ts\":1,\"feat\":[0.5]}", "feat[]: must be an integer"},
    {"{" EV_OK ",\"ts\":1,\"ts\":2}", "ts: duplicate key"},
    {"{" EV_OK ",\"ts\":1,\"cap\":\"00000000000000g1\",\"cap_s\":60}", "cap: must be 16"},
    {"{" EV_OK ",\"ts\":1,\"cap\":\"0000000000000000\",\"cap_s\":60}", "cap: must be 16"},
    {"{" EV_OK ",\"ts\":1,\"cap\":\"00000000000001\",\"cap_s\":60}", "cap: must be 16"},
    {"{" EV_OK ",\"ts\":1,\"cap\":\"0000000000000001\"}", "cap_s: missing"},
    {"{" EV_OK ",\"ts\":1,\"cap\":\"0000000000000001\",\"cap_s\":0}", "cap_s: must be > 0"},
};

static int t_event_bad(void) {
    char big[2048];
    int n = snprintf(big, sizeof big, "{" EV_OK ",\"ts\":1,\"feat\":[");
    for (int i = 0; i <= BEAT_FEAT_MAX; i++)
        n += snprintf(big + n, sizeof big - n, "%s%d", i ? "," : "", i);
    snprintf(big + n, sizeof big - n, "]}");
    if (events_refused(bad_events, sizeof bad_events / sizeof bad_events[0])) return 1;
    if (events_refused(&(bad_case){big, "feat: too many"}, 1)) return 1;
    /* feat at exactly the limit is fine */
    char *comma = strrchr(big, ',');
    strcpy(comma, "]}");
    beat_event ev;
    beat_reason why;
    CHECK_EQ_INT(beat_event_decode(big, strlen(big), &ev, &why), 0);
    CHECK_EQ_INT(ev.n_feat, BEAT_FEAT_MAX);
    return 0;
}

/* A heartbeat round-trips with node, ts, lost and bye; it needs no auction
 * or imp but must name its node; no other type may leave out auction/imp. */
static int t_event_hb(void) {
    beat_buf b;
    beat_buf_init(&b, 1 << 12);
    beat_event hb;
    memset(&hb, 0, sizeof hb);
    hb.type = BEAT_EV_HB;
    snprintf(hb.node, sizeof hb.node, "receiver-2");
    hb.ts_ms = 1700000000123;
    hb.lost = 7;
    CHECK_EQ_INT(beat_event_encode(&hb, &b), 0);
    CHECK_EQ_STR(b.data, "{\"v\":1,\"type\":\"hb\",\"node\":\"receiver-2\","
                         "\"ts\":1700000000123,\"lost\":7}");
    beat_event back;
    beat_reason why = {{0}};
    CHECK_EQ_INT(beat_event_decode(b.data, b.len, &back, &why), 0);
    CHECK_EQ_INT(back.type, BEAT_EV_HB);
    CHECK_EQ_STR(back.node, "receiver-2");
    CHECK_EQ_INT(back.ts_ms, 1700000000123);
    CHECK_EQ_INT(back.lost, 7);
    CHECK(!back.bye && !back.auction[0] && !back.imp[0]);
    hb.bye = true;
    beat_buf_reset(&b);
    CHECK_EQ_INT(beat_event_encode(&hb, &b), 0);
    CHECK(strstr(b.data, ",\"bye\":true}") != NULL);
    CHECK_EQ_INT(beat_event_decode(b.data, b.len, &back, &why), 0);
    CHECK(back.bye);
    CHECK_EQ_STR(beat_event_type_name(BEAT_EV_HB), "hb");
    /* encode refuses an hb without a node */
    hb.node[0] = 0;
    beat_buf_reset(&b);
    CHECK_EQ_INT(beat_event_encode(&hb, &b), -EINVAL);
    beat_buf_fini(&b);
    static const bad_case bad[] = {
        {"{\"v\":1,\"type\":\"hb\",\"ts\":1}", "node: missing"},
        {"{\"v\":1,\"type\":\"hb\",\"node\":\"\",\"ts\":1}", "node: must not be empty"},
        {"{\"v\":1,\"type\":\"hb\",\"node\":\"r\"}", "ts: missing"},
        {"{\"v\":1,\"type\":\"hb\",\"node\":\"r\",\"ts\":1,\"lost\":-1}", "lost: must be >= 0"},
        {"{\"v\":1,\"type\":\"hb\",\"node\":\"r\",\"ts\":1,\"bye\":1}",
         "bye: must be true or false"},
        {"{\"v\":2,\"type\":\"hb\",\"node\":\"r\",\"ts\":1}", "unsupported version 2"},
        /* only hb may leave out auction and imp */
        {"{\"v\":1,\"type\":\"win\",\"node\":\"r\",\"ts\":1}", "auction: missing"},
    };
    if (events_refused(bad, sizeof bad / sizeof bad[0])) return 1;
    /* unknown fields are ignored (an auction on an hb too) */
    const char *extra =
        "{\"v\":1,\"type\":\"hb\",\"node\":\"r\",\"ts\":5,\"auction\":\"x\",\"zz\":[1]}";
    CHECK_EQ_INT(beat_event_decode(extra, strlen(extra), &back, &why), 0);
    CHECK_EQ_INT(back.lost, 0);
    return 0;
}

/* An inference node's opportunity summary: node, campaign, ts, n ≥ 1. */
static int t_event_opp(void) {
    beat_buf b;
    beat_buf_init(&b, 1 << 12);
    beat_event o;
    memset(&o, 0, sizeof o);
    o.type = BEAT_EV_OPP;
    snprintf(o.node, sizeof o.node, "inference-1");
    snprintf(o.campaign, sizeof o.campaign, "c\"1");
    o.ts_ms = 1700000000123;
    o.opps = 9007199254740992;
    CHECK_EQ_INT(beat_event_encode(&o, &b), 0);
    CHECK_EQ_STR(b.data, "{\"v\":1,\"type\":\"opp\",\"node\":\"inference-1\","
                         "\"campaign\":\"c\\\"1\",\"ts\":1700000000123,\"n\":9007199254740992}");
    beat_event back;
    beat_reason why = {{0}};
    CHECK_EQ_INT(beat_event_decode(b.data, b.len, &back, &why), 0);
    CHECK_EQ_INT(back.type, BEAT_EV_OPP);
    CHECK_EQ_STR(back.node, "inference-1");
    CHECK_EQ_STR(back.campaign, "c\"1");
    CHECK_EQ_INT(back.opps, 9007199254740992);
    CHECK(!back.auction[0] && !back.imp[0]);
    CHECK_EQ_STR(beat_event_type_name(BEAT_EV_OPP), "opp");
    o.opps = 0; /* nothing to say: not an event */
    beat_buf_reset(&b);
    CHECK_EQ_INT(beat_event_encode(&o, &b), -EINVAL);
    beat_buf_fini(&b);
    static const bad_case bad[] = {
        {"{\"v\":1,\"type\":\"opp\",\"campaign\":\"c\",\"ts\":1,\"n\":1}", "node: missing"},
        {"{\"v\":1,\"type\":\"opp\",\"node\":\"i\",\"ts\":1,\"n\":1}", "campaign: missing"},
        {"{\"v\":1,\"type\":\"opp\",\"node\":\"i\",\"campaign\":\"c\",\"n\":1}", "ts: missing"},
        {"{\"v\":1,\"type\":\"opp\",\"node\":\"i\",\"campaign\":\"c\",\"ts\":1}", "n: missing"},
        {"{\"v\":1,\"type\":\"opp\",\"node\":\"i\",\"campaign\":\"c\",\"ts\":1,\"n\":0}",
         "n: must be > 0"},
        {"{\"v\":1,\"type\":\"opp\",\"node\":\"i\",\"campaign\":\"c\",\"ts\":1,\"n\":1.5}",
         "n: must be an integer"},
    };
    if (events_refused(bad, sizeof bad / sizeof bad[0])) return 1;
    return 0;
}

/* ---- aggregates ---- */

static int agg_equal(const beat_aggregates *a, const beat_aggregates *b) {
    if (strcmp(a->instance, b->instance) || a->epoch != b->epoch || a->bucket_ms != b->bucket_ms ||
        a->first_seq != b->first_seq || a->last_seq != b->last_seq || a->n_buckets != b->n_buckets)
        return 0;
    for (int i = 0; i < a->n_buckets; i++) {
        const beat_agg_bucket *x = &a->buckets[i], *y = &b->buckets[i];
        if (x->seq != y->seq || x->start_ms != y->start_ms || x->end_ms != y->end_ms ||
            x->n_rows != y->n_rows)
            return 0;
        for (int j = 0; j < x->n_rows; j++)
            if (memcmp(&x->rows[j], &y->rows[j], sizeof x->rows[j])) return 0;
    }
    return 1;
}

static int t_agg_roundtrip(void) {
    beat_agg_row rows[3];
    memset(rows, 0, sizeof rows);
    strcpy(rows[0].campaign, "c1");
    rows[0].bids = 10, rows[0].wins = 3, rows[0].spend_micros = 4500;
    rows[0].imps = 3, rows[0].clicks = 1;
    rows[0].losses = 6, rows[0].loss_outbid = 3, rows[0].loss_floor = 2;
    rows[0].loss_other = 1, rows[0].expired = 2, rows[0].opps = 77;
    rows[0].pctr_bids = 0.123456789012345, rows[0].pctr_wins = 1e-9;
    rows[0].won_cpm[0] = 1, rows[0].won_cpm[BEAT_LAND_N - 1] = INT32_MAX;
    rows[0].lost_cpm[7] = 4;
    strcpy(rows[1].campaign, "c2");
    rows[1].bids = 9007199254740992;
    strcpy(rows[2].campaign, "c1");
    rows[2].wins = 1;
    beat_agg_bucket bk[3] = {
        {.seq = 41, .start_ms = 1000, .end_ms = 2000, .n_rows = 2, .rows = rows},
        {.seq = 42, .start_ms = 2000, .end_ms = 3000, .n_rows = 0, .rows = NULL},
        {.seq = 45, .start_ms = 5000, .end_ms = 6000, .n_rows = 1, .rows = rows + 2},
    };
    beat_aggregates a = {.epoch = 0xfedcba9876543210ull,
                         .bucket_ms = 1000,
                         .first_seq = 3,
                         .last_seq = 45,
                         .n_buckets = 3,
                         .buckets = bk};
    strcpy(a.instance, "ds-1");
    beat_buf b;
    beat_buf_init(&b, 1 << 16);
    CHECK_EQ_INT(beat_aggregates_encode(&a, &b), 0);
    CHECK(strstr(b.data, "\"epoch\":\"fedcba9876543210\""));
    beat_aggregates back;
    beat_reason why;
    CHECK_EQ_INT(beat_aggregates_decode(b.data, b.len, &back, &why), 0);
    CHECK(agg_equal(&a, &back));
    beat_aggregates_fini(&back);
    CHECK_EQ_INT(back.n_buckets, 0);
    CHECK(back.buckets == NULL);
    beat_aggregates_fini(&back); /* twice is harmless */
    /* an empty response */
    a.n_buckets = 0;
    beat_buf_reset(&b);
    CHECK_EQ_INT(beat_aggregates_encode(&a, &b), 0);
    CHECK_EQ_INT(beat_aggregates_decode(b.data, b.len, &back, &why), 0);
    CHECK(agg_equal(&a, &back));
    beat_aggregates_fini(&back);
    beat_buf_fini(&b);
    return 0;
}

#define AGG_HEAD                                                                                   \
    "{\"v\":1,\"instance\":\"ds-1\",\"epoch\":\"00ff\",\"bucket_ms\":1000,\"first_seq\":1,\"last_" \
    "seq\":2,"
static const bad_case bad_aggs[] = {
    {"{\"v\":1,\"instance\":\"ds-1\",\"epoch\":\"xyz\",\"bucket_ms\":1000,\"first_seq\":1,\"last_"
     "seq\":2,\"buckets\":[]}",
     "epoch: must be 1-16 hex"},
    {"{\"v\":1,\"instance\":\"ds-1\",\"epoch\":\"00000000000000000\",\"bucket_ms\":1000,\"first_"
     "seq\":1,\"last_seq\":2,\"buckets\":[]}",
     "epoch: must be 1-16 hex"},
    {"{\"v\":1,\"instance\":\"ds-1\",\"epoch\":5,\"bucket_ms\":1000,\"first_seq\":1,\"last_seq\":2,"
     "\"buckets\":[]}",
     "epoch: must be 1-16 hex"},
    {"{\"v\":1,\"epoch\":\"1\",\"bucket_ms\":1000,\"first_seq\":1,\"last_seq\":2,\"buckets\":[]}",
     "instance: missing"},
    {"{\"v\":1,\"instance\":\"ds-1\",\"epoch\":\"1\",\"bucket_ms\":0,\"first_seq\":1,\"last_seq\":"
     "2,\"buckets\":[]}",
     "bucket_ms: must be > 0"},
    {AGG_HEAD "\"buckets\":{}}", "buckets: must be an array"},
    {AGG_HEAD "\"x\":1}", "buckets: missing"},
    {AGG_HEAD "\"buckets\":[{\"seq\":2,\"start_ms\":0,\"end_ms\":1},{\"seq\":2,\"start_ms\":1,"
              "\"end_ms\":2}]}",
     "buckets[1].seq: not ascending"},
    {AGG_HEAD "\"buckets\":[{\"seq\":2,\"start_ms\":5,\"end_ms\":1}]}",
     "buckets[0].end_ms: must be >= 5"},
    {AGG_HEAD "\"buckets\":[{\"start_ms\":5,\"end_ms\":6}]}", "buckets[0].seq: missing"},
    {AGG_HEAD "\"buckets\":[{\"seq\":1,\"start_ms\":0,\"end_ms\":1,\"campaigns\":{\"c1\":{\"spend_"
              "micros\":-1}}}]}",
     "buckets[0].campaigns.c1.spend_micros: must be >= 0"},
    {AGG_HEAD
     "\"buckets\":[{\"seq\":1,\"start_ms\":0,\"end_ms\":1,\"campaigns\":{\"c1\":{\"bids\":1.5}}}]}",
     "campaigns.c1.bids: must be an integer"},
    {AGG_HEAD
     "\"buckets\":[{\"seq\":1,\"start_ms\":0,\"end_ms\":1,\"campaigns\":{\"c1\":{},\"c1\":{}}}]}",
     "campaigns.c1: duplicate campaign"},
    {AGG_HEAD "\"buckets\":[{\"seq\":1,\"start_ms\":0,\"end_ms\":1,\"campaigns\":{\"\":{}}}]}",
     "must not be empty"},
    {AGG_HEAD "\"buckets\":[{\"seq\":1,\"start_ms\":0,\"end_ms\":1,\"campaigns\":{\"c1\":[]}}]}",
     "campaigns.c1: must be an object"},
    {AGG_HEAD "\"buckets\":[{\"seq\":1,\"start_ms\":0,\"end_ms\":1,\"campaigns\":[]}]}",
     "buckets[0].campaigns: must be an object"},
    {AGG_HEAD "\"buckets\":[{\"seq\":1,\"start_ms\":0,\"end_ms\":1,\"campaigns\":{\"c1\":{\"won_"
              "cpm\":[1,2]}}}]}",
     "campaigns.c1.won_cpm: must be an array of 20 counts"},
    {AGG_HEAD "\"buckets\":[{\"seq\":1,\"start_ms\":0,\"end_ms\":1,\"campaigns\":{\"c1\":{\"lost_"
              "cpm\":[0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,-1]}}}]}",
     "lost_cpm: must be >= 0"},
    {AGG_HEAD "\"buckets\":[{\"seq\":1,\"start_ms\":0,\"end_ms\":1,\"campaigns\":{\"c1\":{\"won_"
              "cpm\":[0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,2147483648]}}}]}",
     "won_cpm: must be <= 2147483647"},
    {AGG_HEAD "\"buckets\":[{\"seq\":1,\"start_ms\":0,\"end_ms\":1,\"campaigns\":{\"c1\":{\"pctr_"
              "bids\":-0.5}}}]}",
     "pctr_bids"},
    {AGG_HEAD "\"buckets\":[{\"seq\":1,\"start_ms\":0,\"end_ms\":1,\"campaigns\":{\"c1\":{"
              "\"losses\":\"3\"}}}]}",
     "losses"},
};

static int t_agg_bad(void) {
    for (size_t i = 0; i < sizeof bad_aggs / sizeof bad_aggs[0]; i++) {
        beat_aggregates a;
        beat_reason why = {{0}};
        int rc = beat_aggregates_decode(bad_aggs[i].json, strlen(bad_aggs[i].json), &a, &why);
        if (rc != -EBADMSG) {
            fprintf(stderr, "  case %zu rc=%d\n", i, rc);
            return 1;
        }
        CHECK_REASON(why, bad_aggs[i].reason);
    }
    return 0;
}

/* ---- samples ---- */

typedef struct got {
    int n, stop_at;
    beat_sample s[8];
} got;

static int collect(void *arg, const beat_sample *s) {
    got *g = arg;
    if (g->n == g->stop_at) return -ECANCELED;
    if (g->n < 8) g->s[g->n] = *s;
    g->n++;
    return 0;
}

static beat_sample mk_sample(uint64_t seq, int label, float w, uint32_t nf) {
    beat_sample s;
    memset(&s, 0, sizeof s);
    s.seq = seq;
    snprintf(s.campaign, sizeof s.campaign, "c%d", (int)seq);
    s.label = label;
    s.weight = w;
    s.ts_ms = 1700000000000 + (int64_t)seq;
    s.n_feat = nf;
    for (uint32_t i = 0; i < nf; i++) s.feat[i] = 4294967295u - i;
    return s;
}

static int t_samples_roundtrip(void) {
    beat_samples_header h = {.epoch = 0x0123456789abcdefull, .first_seq = 5, .last_seq = 7, .n = 3},
                        hb;
    strcpy(h.instance, "ds-2");
    beat_sample s[3] = {mk_sample(5, 1, 1.0f, 3), mk_sample(6, 0, 0.1f, 0),
                        mk_sample(7, 0, 12.5f, BEAT_FEAT_MAX)};
    beat_buf b;
    beat_buf_init(&b, 1 << 16);
    CHECK_EQ_INT(beat_samples_header_encode(&h, &b), 0);
    for (int i = 0; i < 3; i++) CHECK_EQ_INT(beat_sample_encode(&s[i], &b), 0);
    CHECK(b.data[b.len - 1] == '\n');
    CHECK(strstr(b.data, "\"w\":0.1,"));
    got g = {.stop_at = -1};
    beat_reason why;
    CHECK_EQ_INT(beat_samples_decode(b.data, b.len, &hb, collect, &g, &why), 0);
    CHECK(memcmp(&h, &hb, sizeof h) == 0);
    CHECK_EQ_INT(g.n, 3);
    for (int i = 0; i < 3; i++) CHECK(memcmp(&s[i], &g.s[i], sizeof s[i]) == 0);
    /* CRLF and no final newline are tolerated */
    const char *crlf =
        "{\"v\":1,\"instance\":\"d\",\"epoch\":\"1\",\"first_seq\":0,\"last_seq\":0,\"n\":1}\r\n"
        "{\"seq\":1,\"campaign\":\"c\",\"label\":0,\"w\":2,\"ts\":3}";
    g.n = 0;
    CHECK_EQ_INT(beat_samples_decode(crlf, strlen(crlf), &hb, collect, &g, &why), 0);
    CHECK_EQ_INT(g.n, 1);
    CHECK_EQ_INT(g.s[0].n_feat, 0);
    /* the callback's error stops the walk and is returned */
    g.n = 0;
    g.stop_at = 1;
    CHECK_EQ_INT(beat_samples_decode(b.data, b.len, &hb, collect, &g, &why), -ECANCELED);
    CHECK_EQ_INT(g.n, 1);
    /* encode refuses what decode would refuse */
    beat_sample bad = mk_sample(1, 2, 1.0f, 0);
    CHECK_EQ_INT(beat_sample_encode(&bad, &b), -EINVAL);
    beat_buf_fini(&b);
    return 0;
}

#define SH "{\"v\":1,\"instance\":\"d\",\"epoch\":\"1\",\"first_seq\":0,\"last_seq\":0,\"n\":"
#define S1 "{\"seq\":1,\"campaign\":\"c\",\"label\":0,\"w\":1,\"ts\":3}\n"
static const struct {
    const char *body, *reason;
} bad_samples[] = {
    {"", "line 1: missing header"},
    {"\n\n", "line 1: missing header"},
    {"nope\n", "line 1: invalid JSON"},
    {"{\"v\":1,\"instance\":\"d\",\"epoch\":\"1\",\"first_seq\":0,\"last_seq\":0}\n",
     "line 1.n: missing"},
    {SH "2}\n" S1, "n is 2 but body has 1"},
    {SH "0}\n" S1, "n is 0 but body has 1"},
    {SH "3}\n" S1 S1 "{\"seq\":1,\"campaign\":\"c\",\"label\":2,\"w\":1,\"ts\":3}\n",
     "line 4.label: must be <= 1"},
    {SH "2}\n" S1 "{\"seq\":1,\"campaign\":\"c\",\"label\":0,\"w\":0,\"ts\":3}\n",
     "line 3.w: must be > 0"},
    {SH "2}\n" S1 "{\"seq\":1,\"campaign\":\"c\",\"label\":0,\"w\":1e-60,\"ts\":3}\n",
     "line 3.w: must be > 0"},
    {SH "2}\n" S1 "{\"seq\":1,\"campaign\":\"c\",\"label\":0,\"w\":-1,\"ts\":3}\n",
     "line 3.w: must be >= 0"},
    {SH "2}\n" S1 "{\"seq\":1,\"label\":0,\"w\":1,\"ts\":3}\n", "line 3.campaign: missing"},
    {SH "2}\n" S1 "{\"seq\":1,\"campaign\":\"c\",\"label\":0,\"w\":1,\"ts\":3\n",
     "line 3: invalid JSON"},
    {SH "1}\n"
        "{\"seq\":1,\"campaign\":\"c\",\"label\":0,\"w\":1,\"ts\":3,\"feat\":[1,-2]}\n",
     "line 2.feat[]: must be >= 0"},
};

static int t_samples_bad(void) {
    for (size_t i = 0; i < sizeof bad_samples / sizeof bad_samples[0]; i++) {
        got g = {.stop_at = -1};
        beat_samples_header h;
        beat_reason why = {{0}};
        int rc = beat_samples_decode(bad_samples[i].body, strlen(bad_samples[i].body), &h, collect,
                                     &g, &why);
        if (rc != -EBADMSG) {
            fprintf(stderr, "  case %zu rc=%d\n", i, rc);
            return 1;
        }
        CHECK_REASON(why, bad_samples[i].reason);
        CHECK_EQ_INT(g.n, 0); /* nothing handed out from a refused body */
    }
    return 0;
}

/* ---- state ---- */

static int t_state_roundtrip(void) {
    const char *in = "{\"v\":1,\"actuator\":\"beat-actuator\",\"ts\":1700000000000,\"version\":12,"
                     "\"campaigns\":{\"c1\":{\"multiplier\":1.2,\"paused\":false,\"spent\":5},"
                     "\"c2\":{\"multiplier\":0,\"paused\":true}},"
                     "\"private\":{ \"pid\" : {\"i\": [1, 2.5, \"x\"]}, \"n\":null }}";
    beat_state st, back;
    beat_reason why;
    CHECK_EQ_INT(beat_state_decode(in, strlen(in), 10, &st, &why), 0);
    CHECK_EQ_STR(st.actuator, "beat-actuator");
    CHECK_EQ_INT(st.version, 12);
    CHECK_EQ_INT(st.n, 2);
    CHECK_EQ_STR(st.private_json, "{\"pid\":{\"i\":[1,2.5,\"x\"]},\"n\":null}");
    const beat_state_campaign *c = beat_state_find(&st, "c1");
    CHECK(c && c->multiplier == 1.2 && !c->paused);
    c = beat_state_find(&st, "c2");
    CHECK(c && c->multiplier == 0 && c->paused);
    CHECK(beat_state_find(&st, "c3") == NULL);

    beat_buf b;
    beat_buf_init(&b, 1 << 16);
    CHECK_EQ_INT(beat_state_encode(&st, true, &b), 0);
    CHECK_EQ_INT(beat_state_decode(b.data, b.len, 10, &back, &why), 0);
    CHECK_EQ_STR(back.actuator, st.actuator);
    CHECK(back.ts_ms == st.ts_ms && back.version == st.version && back.n == st.n);
    CHECK(memcmp(back.c, st.c, sizeof *st.c * (size_t)st.n) == 0);
    CHECK_EQ_STR(back.private_json, st.private_json);
    beat_state_fini(&back);
    /* without private: what inference is sent */
    beat_buf_reset(&b);
    CHECK_EQ_INT(beat_state_encode(&st, false, &b), 0);
    CHECK(!strstr(b.data, "private"));
    CHECK_EQ_INT(beat_state_decode(b.data, b.len, 10, &back, &why), 0);
    CHECK(back.private_json == NULL);
    beat_state_fini(&back);
    beat_state_fini(&st);
    CHECK(st.c == NULL && st.private_json == NULL && st.n == 0);

    /* minimal: no actuator, no version, no campaigns */
    const char *min = "{\"v\":1,\"ts\":0,\"campaigns\":{},\"private\":null}";
    CHECK_EQ_INT(beat_state_decode(min, strlen(min), 0, &st, &why), 0);
    CHECK(st.n == 0 && st.version == 0 && st.private_json == NULL && st.actuator[0] == 0);
    beat_buf_reset(&b);
    CHECK_EQ_INT(beat_state_encode(&st, true, &b), 0);
    CHECK_EQ_STR(b.data, "{\"v\":1,\"ts\":0,\"campaigns\":{}}");
    beat_state_fini(&st);
    beat_buf_fini(&b);
    return 0;
}

#define ST "{\"v\":1,\"actuator\":\"a\",\"ts\":1,"
static const bad_case bad_states[] = {
    {"{\"v\":1,\"actuator\":\"a\",\"ts\":1}", "campaigns: missing"},
    {ST "\"campaigns\":[]}", "campaigns: must be an object"},
    {"{\"v\":1,\"actuator\":\"a\",\"campaigns\":{}}", "ts: missing"},
    {"{\"v\":3,\"ts\":1,\"campaigns\":{}}", "unsupported version"},
    {ST "\"version\":-1,\"campaigns\":{}}", "version: must be >= 0"},
    {ST "\"campaigns\":{\"c1\":{\"multiplier\":-1}}}", "campaigns.c1.multiplier: must be >= 0"},
    {ST "\"campaigns\":{\"c1\":{\"multiplier\":1e999}}}",
     "campaigns.c1.multiplier: must be a finite number"},
    {ST "\"campaigns\":{\"c1\":{\"paused\":true}}}", "campaigns.c1.multiplier: missing"},
    {ST "\"campaigns\":{\"c1\":{\"multiplier\":1,\"paused\":\"yes\"}}}",
     "campaigns.c1.paused: must be true or false"},
    {ST "\"campaigns\":{\"c1\":{\"multiplier\":1},\"c1\":{\"multiplier\":2}}}",
     "campaigns.c1: duplicate campaign"},
    {ST "\"campaigns\":{\"c1\":{\"multiplier\":1},\"c2\":{\"multiplier\":2},\"c3\":{\"multiplier\":"
        "2}}}",
     "campaigns: too many (3 > 2)"},
    {ST "\"campaigns\":{\"0123456789012345678901234567890123456789012345678901234567890123X\":{"
        "\"multiplier\":1}}}",
     "longer than 64"},
    {ST "\"campaigns\":{\"\":{\"multiplier\":1}}}", "must not be empty"},
    {ST "\"campaigns\":{\"c1\":5}}", "campaigns.c1: must be an object"},
    {"{\"v\":1,\"actuator\":7,\"ts\":1,\"campaigns\":{}}", "actuator: must be a string"},
    {ST "\"campaigns\":{}", "invalid JSON"},
};

static int t_state_bad(void) {
    for (size_t i = 0; i < sizeof bad_states / sizeof bad_states[0]; i++) {
        beat_state st;
        beat_reason why = {{0}};
        int rc = beat_state_decode(bad_states[i].json, strlen(bad_states[i].json), 2, &st, &why);
        if (rc != -EBADMSG) {
            fprintf(stderr, "  case %zu rc=%d\n", i, rc);
            return 1;
        }
        CHECK_REASON(why, bad_states[i].reason);
    }
    return 0;
}

/* ---- heartbeat ---- */

static int t_heartbeat(void) {
    beat_heartbeat hb = {.ts_ms = 1700000000000,
                         .campaigns_version = 3,
                         .state_version = 9007199254740992,
                         .model_version = 0,
                         .snapshot_crc = 0xffffffffu,
                         .model_crc = 12345},
                   back;
    beat_buf b;
    beat_reason why;
    beat_buf_init(&b, 4096);
    CHECK_EQ_INT(beat_heartbeat_encode(&hb, &b), 0);
    CHECK(b.data[0] == BEAT_FRAME_HEARTBEAT);
    CHECK_EQ_INT(beat_heartbeat_decode(b.data, b.len, &back, &why), 0);
    CHECK(memcmp(&hb, &back, sizeof hb) == 0);
    /* segments_version: written only when there are lists, read back */
    CHECK(!strstr(b.data, "segments_version"));
    hb.segments_version = 12;
    beat_buf_reset(&b);
    CHECK_EQ_INT(beat_heartbeat_encode(&hb, &b), 0);
    CHECK_EQ_INT(beat_heartbeat_decode(b.data, b.len, &back, &why), 0);
    CHECK_EQ_INT(back.segments_version, 12);
    /* refused: wrong tag, empty, missing field, crc beyond 32 bits */
    b.data[0] = 'S';
    CHECK_EQ_INT(beat_heartbeat_decode(b.data, b.len, &back, &why), -EBADMSG);
    CHECK_REASON(why, "not a heartbeat");
    CHECK_EQ_INT(beat_heartbeat_decode(b.data, 0, &back, &why), -EBADMSG);
    const char *m = "H{\"v\":1,\"ts\":1,\"campaigns_version\":1,\"state_version\":1,\"model_"
                    "version\":1,\"snapshot_crc\":1}";
    CHECK_EQ_INT(beat_heartbeat_decode(m, strlen(m), &back, &why), -EBADMSG);
    CHECK_REASON(why, "model_crc: missing");
    m = "H{\"v\":1,\"ts\":1,\"campaigns_version\":1,\"state_version\":1,\"model_version\":1,"
        "\"snapshot_crc\":4294967296,\"model_crc\":0}";
    CHECK_EQ_INT(beat_heartbeat_decode(m, strlen(m), &back, &why), -EBADMSG);
    CHECK_REASON(why, "snapshot_crc: must be <=");
    beat_buf_fini(&b);
    return 0;
}

static const beat_test_case cases[] = {
    {"event_roundtrip", t_event_roundtrip},
    {"event_pctr_text", t_event_pctr_text},
    {"event_encode_refuses", t_event_encode_refuses},
    {"event_types", t_event_types},
    {"event_hb", t_event_hb},
    {"event_opp", t_event_opp},
    {"event_bad", t_event_bad},
    {"agg_roundtrip", t_agg_roundtrip},
    {"agg_bad", t_agg_bad},
    {"samples_roundtrip", t_samples_roundtrip},
    {"samples_bad", t_samples_bad},
    {"state_roundtrip", t_state_roundtrip},
    {"state_bad", t_state_bad},
    {"heartbeat", t_heartbeat},
    {NULL, NULL},
};

int main(int argc, char **argv) { return beat_test_main("beat_wire", cases, argc, argv); }
