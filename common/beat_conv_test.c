/* Conversions: the click's signed window (cw) in notice signature v2, and
 * conversion tokens — pinned bytes, round trips, tampering, a signature of
 * another type, malformed queries and values — the conv event and the
 * aggregates' convs on the wire, and the campaign's conv_window_s. */
#include "beat_campaign.h"
#include "beat_conv.h"
#include "beat_notice.h"
#include "beat_test.h"
#include "beat_wire.h"

#include <errno.h>
#include <string.h>

static const char SECRET[] = "test-secret";
#define SL (sizeof SECRET - 1)

static beat_notice_fields click(int32_t cw) {
    return (beat_notice_fields){.type = BEAT_EV_CLICK,
                                .exchange = "",
                                .auction = "A1",
                                .imp = "1",
                                .campaign = "c1",
                                .crid = "cr1",
                                .bid_cpm_micros = 1500000,
                                .ts_ms = 1700000000123LL,
                                .landing = "https://l.example/",
                                .conv_window_s = cw};
}

static beat_conv_token TOK(void) {
    beat_conv_token t = {.flags = 0, .click_ts_ms = 1700000000123LL, .window_s = 86400};
    strcpy(t.exchange, "x-1");
    strcpy(t.auction, "A1");
    strcpy(t.imp, "1");
    strcpy(t.campaign, "c1");
    strcpy(t.crid, "cr1");
    return t;
}

static int t_click_window_signed(void) {
    char sig[BEAT_SIG_HEX + 1], plain[BEAT_SIG_HEX + 1];
    beat_notice_fields f = click(86400);
    /* Pinned: HMAC-SHA256("test-secret", "v2\nclick\n\n0\nA1\n1\nc1\ncr1\n"
     * "1500000\ncw=86400\n1700000000123\nhttps://l.example/")[:16]
     * (Python's hmac module). */
    CHECK_EQ_INT(beat_notice_sign(SECRET, SL, &f, sig), 0);
    CHECK_EQ_STR(sig, "cdb296408922338b559329836874b648");
    f.conv_window_s = 0; /* none: the text clicks always signed */
    CHECK_EQ_INT(beat_notice_sign(SECRET, SL, &f, plain), 0);
    CHECK(strcmp(sig, plain) != 0);
    f.conv_window_s = BEAT_CONV_WINDOW_MAX_S + 1;
    CHECK_EQ_INT(beat_notice_sign(SECRET, SL, &f, sig), -EINVAL);
    f = click(86400);
    f.type = BEAT_EV_WIN; /* only clicks carry it */
    char a[BEAT_SIG_HEX + 1], b[BEAT_SIG_HEX + 1];
    CHECK_EQ_INT(beat_notice_sign(SECRET, SL, &f, a), 0);
    f.conv_window_s = 0;
    CHECK_EQ_INT(beat_notice_sign(SECRET, SL, &f, b), 0);
    CHECK_EQ_STR(a, b);

    /* URL → parse → verify; a changed or dropped cw does not verify. */
    beat_buf u;
    beat_buf_init(&u, 8192);
    f = click(86400);
    CHECK_EQ_INT(beat_notice_url(&u, "http://r", SECRET, SL, &f), 0);
    CHECK(strstr(u.data, "&cw=86400&t="));
    char q[4096];
    const char *qs = strchr(u.data, '?') + 1;
    /* the exchange substitutes the id macros */
    char *d = q;
    for (const char *p = qs; *p;) {
        if (!strncmp(p, "${AUCTION_ID}", 13)) d += sprintf(d, "A1"), p += 13;
        else if (!strncmp(p, "${AUCTION_IMP_ID}", 17)) d += sprintf(d, "1"), p += 17;
        else *d++ = *p++;
    }
    *d = 0;
    beat_notice n;
    beat_reason why = {{0}};
    CHECK_EQ_INT(beat_notice_parse(BEAT_EV_CLICK, q, &n, &why), 0);
    CHECK_EQ_INT(n.conv_window_s, 86400);
    CHECK(beat_notice_verify(SECRET, SL, &n));
    n.conv_window_s = 86401;
    CHECK(!beat_notice_verify(SECRET, SL, &n));
    n.conv_window_s = 0;
    CHECK(!beat_notice_verify(SECRET, SL, &n));
    char *cw = strstr(q, "&cw=86400");
    memmove(cw + 4, cw + 9, strlen(cw + 9) + 1); /* "&cw=" with no value */
    CHECK_EQ_INT(beat_notice_parse(BEAT_EV_CLICK, q, &n, &why), -EINVAL);
    CHECK_REASON(why, "bad cw");
    CHECK_EQ_INT(beat_notice_parse(BEAT_EV_IMP, "a=A&i=1&c=c&b=1&t=1&cw=5&s=x", &n, &why), -EINVAL);
    CHECK_REASON(why, "cw only allowed on click");
    beat_buf_fini(&u);
    return 0;
}

static int t_token_round_trip(void) {
    char tok[BEAT_CONV_TOKEN_MAX];
    beat_conv_token t = TOK();
    int n = beat_conv_token_make(SECRET, SL, &t, tok, sizeof tok);
    CHECK(n > 0);
    CHECK_EQ_INT(strlen(tok), n);
    /* Pinned: base64url("v2\nconv\nx-1\n0\nA1\n1\nc1\ncr1\n1700000000123\n86400")
     * "." HMAC-SHA256("test-secret", that text)[:16] (Python). */
    CHECK_EQ_STR(tok, "djIKY29udgp4LTEKMApBMQoxCmMxCmNyMQoxNzAwMDAwMDAwMTIzCjg2NDAw."
                      "e10801b76a7744ab34b2f150b9055cab");
    char q[BEAT_CONV_TOKEN_MAX + 64];
    snprintf(q, sizeof q, "x=1&cv=%s&val=12.5", tok);
    beat_conv c;
    beat_reason why = {{0}};
    CHECK_EQ_INT(beat_conv_parse(q, &c, &why), 0);
    CHECK(beat_conv_verify(SECRET, SL, &c));
    CHECK_EQ_STR(c.tok.auction, "A1");
    CHECK_EQ_STR(c.tok.campaign, "c1");
    CHECK_EQ_STR(c.tok.exchange, "x-1");
    CHECK_EQ_INT(c.tok.click_ts_ms, 1700000000123LL);
    CHECK_EQ_INT(c.tok.window_s, 86400);
    CHECK_EQ_INT(c.value_micros, 12500000);
    CHECK(!beat_conv_verify("other", 5, &c));
    /* Tampering with any field after signing fails. */
    beat_conv x = c;
    strcpy(x.tok.campaign, "c2");
    CHECK(!beat_conv_verify(SECRET, SL, &x));
    x = c;
    x.tok.window_s = 86401;
    CHECK(!beat_conv_verify(SECRET, SL, &x));
    x = c;
    x.tok.flags = BEAT_NOTICE_F_TEST;
    CHECK(!beat_conv_verify(SECRET, SL, &x));
    /* No val, an empty val: no value. Percent-encoding is decoded. */
    snprintf(q, sizeof q, "cv=%s&val=", tok);
    CHECK_EQ_INT(beat_conv_parse(q, &c, &why), 0);
    CHECK_EQ_INT(c.value_micros, 0);
    char enc[BEAT_CONV_TOKEN_MAX + 16];
    strcpy(enc, tok);
    char *dot = strchr(enc, '.');
    memmove(dot + 3, dot + 1, strlen(dot + 1) + 1);
    memcpy(dot, "%2E", 3);
    snprintf(q, sizeof q, "cv=%s", enc);
    CHECK_EQ_INT(beat_conv_parse(q, &c, &why), 0);
    CHECK(beat_conv_verify(SECRET, SL, &c));
    /* Bounds on the way in. */
    t.window_s = 0;
    CHECK_EQ_INT(beat_conv_token_make(SECRET, SL, &t, tok, sizeof tok), -EINVAL);
    t = TOK();
    t.campaign[0] = 0;
    CHECK_EQ_INT(beat_conv_token_make(SECRET, SL, &t, tok, sizeof tok), -EINVAL);
    t = TOK();
    CHECK_EQ_INT(beat_conv_token_make(SECRET, SL, &t, tok, 20), -EMSGSIZE);
    return 0;
}

static int t_token_rejects(void) {
    beat_conv c;
    beat_reason why = {{0}};
    /* No token: unsigned. */
    CHECK_EQ_INT(beat_conv_parse("val=3", &c, &why), -ENOENT);
    CHECK_EQ_INT(beat_conv_parse(NULL, &c, &why), -ENOENT);
    /* A properly signed text of another type: a moved signature. */
    CHECK_EQ_INT(
        beat_conv_parse("cv=djIKY2xpY2sKeC0xCjAKQTEKMQpjMQpjcjEKMTcwMDAwMDAwMDEyMwo4NjQwMA."
                        "d0726aad124615c23ab3eca5f06bf39e",
                        &c, &why),
        -EACCES);
    CHECK_REASON(why, "not a conversion token");
    static const struct {
        const char *q, *why;
    } bad[] = {
        {"cv=", "bad token format"},
        {"cv=abc", "bad token format"},
        {"cv=abc.e10801b76a7744ab34b2f150b9055caB", "signature format"},
        {"cv=a*c.e10801b76a7744ab34b2f150b9055cab", "bad token encoding"},
        {"cv=abcde.e10801b76a7744ab34b2f150b9055cab", "bad token encoding"},
        {"cv=dg.e10801b76a7744ab34b2f150b9055cab", "bad token text"}, /* "v" */
        /* "v2\nconv\n\n01\nA\n1\nc\n\n5\n60": a non-canonical number */
        {"cv=djIKY29udgoKMDEKQQoxCmMKCjUKNjA.e10801b76a7744ab34b2f150b9055cab", "bad token field"},
        /* "v2\nconv\n\n0\n\n1\nc\n\n5\n60": an empty auction */
        {"cv=djIKY29udgoKMAoKMQpjCgo1CjYw.e10801b76a7744ab34b2f150b9055cab", "bad token field"},
        /* "v2\nconv\n\n2\nA\n1\nc\n\n5\n60": an unknown flag */
        {"cv=djIKY29udgoKMgpBCjEKYwoKNQo2MA.e10801b76a7744ab34b2f150b9055cab", "unknown flags"},
        /* "v2\nconv\n\n0\nA\n1\nc\n\n5\n2592001": a window over the maximum */
        {"cv=djIKY29udgoKMApBCjEKYwoKNQoyNTkyMDAx.e10801b76a7744ab34b2f150b9055cab",
         "bad token field"},
        /* "v2\nconv\n\n0\nA\n1\nc\n\n5": a line short */
        {"cv=djIKY29udgoKMApBCjEKYwoKNQ.e10801b76a7744ab34b2f150b9055cab", "bad token text"},
        {"cv=djIKY29udgoKMApBCjEKYwoKNQoyNTkyMDAw.e10801b76a7744ab34b2f150b9055cab&val=-1",
         "bad val"},
        {"cv=djIKY29udgoKMApBCjEKYwoKNQoyNTkyMDAw.e10801b76a7744ab34b2f150b9055cab&val=1e3",
         "bad val"},
        {"cv=x&cv=y", "bad token format"},
        {"val=1&val=2", "duplicate parameter val"},
        {"cv", "parameter without '='"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        why.msg[0] = 0;
        int rc = beat_conv_parse(bad[i].q, &c, &why);
        if (rc != -EINVAL || !strstr(why.msg, bad[i].why)) {
            fprintf(stderr, "  case %zu (%s): rc=%d why=%s\n", i, bad[i].q, rc, why.msg);
            return 1;
        }
    }
    /* A valid shape with a window at the maximum parses (the signature is
     * another matter). */
    CHECK_EQ_INT(beat_conv_parse("cv=djIKY29udgoKMApBCjEKYwoKNQoyNTkyMDAw."
                                 "e10801b76a7744ab34b2f150b9055cab",
                                 &c, &why),
                 0);
    CHECK_EQ_INT(c.tok.window_s, 2592000);
    CHECK(!beat_conv_verify(SECRET, SL, &c));
    return 0;
}

static int t_conv_event(void) {
    beat_event e;
    memset(&e, 0, sizeof e);
    e.type = BEAT_EV_CONV;
    strcpy(e.auction, "A1");
    strcpy(e.imp, "1");
    strcpy(e.campaign, "c1");
    strcpy(e.crid, "cr1");
    strcpy(e.exchange, "x-1");
    e.ts_ms = 1700000005000LL;
    e.notice_ts_ms = 1700000000123LL;
    e.conv_window_s = 86400;
    e.value_micros = 12500000;
    beat_buf b;
    beat_buf_init(&b, 4096);
    CHECK_EQ_INT(beat_event_encode(&e, &b), 0);
    CHECK_EQ_STR(b.data, "{\"v\":1,\"type\":\"conv\",\"auction\":\"A1\",\"imp\":\"1\","
                         "\"campaign\":\"c1\",\"crid\":\"cr1\",\"exchange\":\"x-1\","
                         "\"ts\":1700000005000,\"nts\":1700000000123,\"conv_s\":86400,"
                         "\"value\":12500000}");
    beat_event back;
    beat_reason why = {{0}};
    CHECK_EQ_INT(beat_event_decode(b.data, b.len, &back, &why), 0);
    CHECK_EQ_INT(back.type, BEAT_EV_CONV);
    CHECK_EQ_INT(back.conv_window_s, 86400);
    CHECK_EQ_INT(back.value_micros, 12500000);
    CHECK_EQ_INT(back.notice_ts_ms, 1700000000123LL);
    CHECK_EQ_STR(beat_event_type_name(BEAT_EV_CONV), "conv");
    e.conv_window_s = 0; /* a conversion without its window is no event */
    beat_buf_reset(&b);
    CHECK_EQ_INT(beat_event_encode(&e, &b), -EINVAL);
    beat_buf_fini(&b);
    static const struct {
        const char *json, *why;
    } bad[] = {
        {"{\"v\":1,\"type\":\"conv\",\"auction\":\"A\",\"imp\":\"1\",\"ts\":1,\"nts\":1,"
         "\"conv_s\":5}",
         "campaign: missing"},
        {"{\"v\":1,\"type\":\"conv\",\"auction\":\"A\",\"imp\":\"1\",\"campaign\":\"c\","
         "\"ts\":1,\"conv_s\":5}",
         "nts: missing"},
        {"{\"v\":1,\"type\":\"conv\",\"auction\":\"A\",\"imp\":\"1\",\"campaign\":\"c\","
         "\"ts\":1,\"nts\":1}",
         "conv_s: missing"},
        {"{\"v\":1,\"type\":\"conv\",\"auction\":\"A\",\"imp\":\"1\",\"campaign\":\"c\","
         "\"ts\":1,\"nts\":1,\"conv_s\":0}",
         "conv_s"},
        {"{\"v\":1,\"type\":\"conv\",\"auction\":\"A\",\"imp\":\"1\",\"campaign\":\"c\","
         "\"ts\":1,\"nts\":1,\"conv_s\":5,\"value\":-1}",
         "value"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        why.msg[0] = 0;
        if (beat_event_decode(bad[i].json, strlen(bad[i].json), &back, &why) == 0 ||
            !strstr(why.msg, bad[i].why)) {
            fprintf(stderr, "  case %zu: why=%s\n", i, why.msg);
            return 1;
        }
    }
    return 0;
}

static int t_agg_convs(void) {
    beat_agg_row row;
    memset(&row, 0, sizeof row);
    strcpy(row.campaign, "c1");
    row.clicks = 9, row.convs = 3, row.conv_value_micros = 37500000;
    beat_agg_bucket bk = {.seq = 1, .start_ms = 1000, .end_ms = 2000, .n_rows = 1, .rows = &row};
    beat_aggregates a = {
        .bucket_ms = 1000, .first_seq = 1, .last_seq = 1, .n_buckets = 1, .buckets = &bk};
    strcpy(a.instance, "ds-1");
    beat_buf b;
    beat_buf_init(&b, 1 << 14);
    CHECK_EQ_INT(beat_aggregates_encode(&a, &b), 0);
    CHECK(strstr(b.data, "\"convs\":3,\"conv_value_micros\":37500000"));
    beat_aggregates back;
    beat_reason why = {{0}};
    CHECK_EQ_INT(beat_aggregates_decode(b.data, b.len, &back, &why), 0);
    CHECK_EQ_INT(back.buckets[0].rows[0].convs, 3);
    CHECK_EQ_INT(back.buckets[0].rows[0].conv_value_micros, 37500000);
    CHECK_EQ_INT(back.buckets[0].rows[0].clicks, 9);
    beat_aggregates_fini(&back);
    row.convs = row.conv_value_micros = 0; /* absent when zero: old rows stay as they were */
    beat_buf_reset(&b);
    CHECK_EQ_INT(beat_aggregates_encode(&a, &b), 0);
    CHECK(!strstr(b.data, "conv"));
    beat_buf_fini(&b);
    return 0;
}

static int t_campaign_window(void) {
    static const char *FMT = "{\"v\":1,\"campaigns\":[{\"id\":\"c1\",\"flight_s\":60,"
                             "\"budget_micros\":1000,\"base_bid_cpm_micros\":10,"
                             "\"max_bid_cpm_micros\":20%s,\"creatives\":[{\"crid\":\"cr1\","
                             "\"w\":300,\"h\":250,\"adm\":\"x\"}]}]}";
    char json[1024];
    beat_campaign_set s;
    beat_reason why = {{0}};
    beat_buf b;
    beat_buf_init(&b, 0);
    snprintf(json, sizeof json, FMT, "");
    CHECK_EQ_INT(beat_campaigns_decode(json, strlen(json), 1, BEAT_CAMPAIGNS_STRICT, &s, &why), 0);
    CHECK_EQ_INT(s.c[0].conv_window_s, 0);
    CHECK_EQ_INT(beat_campaigns_encode(&s, &b), 0);
    CHECK(!strstr(b.data, "conv_window_s")); /* an old set stays byte for byte */
    beat_campaigns_fini(&s);
    snprintf(json, sizeof json, FMT, ",\"conv_window_s\":3600");
    CHECK_EQ_INT(beat_campaigns_decode(json, strlen(json), 1, BEAT_CAMPAIGNS_STRICT, &s, &why), 0);
    CHECK_EQ_INT(s.c[0].conv_window_s, 3600);
    beat_buf_reset(&b);
    CHECK_EQ_INT(beat_campaigns_encode(&s, &b), 0);
    /* attribution only: no set version of its own */
    CHECK(strncmp(b.data, "{\"v\":1,", 7) == 0 && strstr(b.data, ",\"conv_window_s\":3600}"));
    beat_campaigns_fini(&s);
    static const char *const bad[] = {"0", "2592001", "\"1\"", "1.5"};
    for (int i = 0; i < 4; i++) {
        char extra[64];
        snprintf(extra, sizeof extra, ",\"conv_window_s\":%s", bad[i]);
        snprintf(json, sizeof json, FMT, extra);
        why.msg[0] = 0;
        CHECK(beat_campaigns_decode(json, strlen(json), 1, BEAT_CAMPAIGNS_STRICT, &s, &why) != 0);
        CHECK_REASON(why, "conv_window_s");
    }
    beat_buf_fini(&b);
    return 0;
}

int main(int argc, char **argv) {
    static const beat_test_case tests[] = {{"click_window_signed", t_click_window_signed},
                                           {"token_round_trip", t_token_round_trip},
                                           {"token_rejects", t_token_rejects},
                                           {"conv_event", t_conv_event},
                                           {"agg_convs", t_agg_convs},
                                           {"campaign_window", t_campaign_window},
                                           {NULL, NULL}};
    return beat_test_main("beat_conv", tests, argc, argv);
}
