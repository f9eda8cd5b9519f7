/* Unit tests for beat_wire.c: events and training samples round-trip
 * exactly, and a table of malformed inputs is refused with the reason a
 * peer's log would show (aggregates: beat_wire_agg_test.c; state and
 * heartbeat: beat_wire_state_test.c). */
#include "beat_wire.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "beat_test.h"
#include "beat_wire_testlib.h"

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
static int decode_event(const char *json, size_t len, void *out, beat_reason *why) {
    return beat_event_decode(json, len, out, why);
}

/* beat_event_decode refuses each of bad[0..n) (beat_wire_testlib.h). */
static int events_refused(const bad_case *bad, size_t n) {
    beat_event ev;
    return all_refused(bad, n, decode_event, &ev, sizeof ev);
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
static const bad_case bad_samples[] = {
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

/* A refused body hands no sample out (the walk stops before the
 * callback): one that did is reported as -EPROTO. */
static int decode_samples(const char *body, size_t len, void *out, beat_reason *why) {
    got g = {.stop_at = -1};
    int rc = beat_samples_decode(body, len, out, collect, &g, why);
    return g.n ? -EPROTO : rc;
}

static int t_samples_bad(void) {
    beat_samples_header h;
    return ALL_REFUSED(bad_samples, decode_samples, h);
}

static const beat_test_case cases[] = {
    {"event_roundtrip", t_event_roundtrip},
    {"event_pctr_text", t_event_pctr_text},
    {"event_encode_refuses", t_event_encode_refuses},
    {"event_types", t_event_types},
    {"event_hb", t_event_hb},
    {"event_opp", t_event_opp},
    {"event_bad", t_event_bad},
    {"samples_roundtrip", t_samples_roundtrip},
    {"samples_bad", t_samples_bad},
    {NULL, NULL},
};

int main(int argc, char **argv) { return beat_test_main("beat_wire", cases, argc, argv); }
