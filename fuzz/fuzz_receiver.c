/* libFuzzer target for the receiver's own notice checks (receiver/notices.c,
 * compiled in here): signature presence, HMAC, bid/price/time bounds, the
 * click landing filter, and the Kafka event an accepted notice becomes.
 * Byte 0 picks the notice type (as in fuzz_notice.c), strict or loose
 * time limits (bit 6) and whether v1 is accepted (bit 7); the rest is the
 * query. Each input is checked as sent, then with its signature replaced by
 * a valid one (of the version the query claims), so the checks after the
 * HMAC are reached too. Invariants: only the documented statuses, a reason
 * on every refusal, a valid signature is never "forged" (but v1 is while
 * not accepted), an accepted notice always encodes to an event that
 * decodes back to the same fields, and a test notice never reaches the
 * producer. */
#include "../receiver/conv.c"   /* notices.c routes /conv and builds click redirects */
#include "../receiver/events.c" /* notices.c hands accepted events here */
#include "../receiver/notices.c"

#include <stdlib.h>
#include "fuzz.h"

static const char SECRET[] = "fuzz-secret";
#define NOW_MS 1700000000000LL

/* Accepted notices go through rcv_notice_accept with no producer: every
 * event offered shows up as a drop. */
static rcv_events g_events;
static rcv_notices g_notices;

/* The query without its "s" parameters, plus "&s=<sig>". NULL if too big. */
static char *resign(const char *q, const char *sig) {
    size_t len = strlen(q);
    char *out = malloc(len + BEAT_SIG_HEX + 8);
    if (!out) return NULL;
    size_t o = 0;
    for (const char *p = q; *p;) {
        const char *amp = strchr(p, '&');
        size_t n = amp ? (size_t)(amp - p) : strlen(p);
        if (!(n >= 2 && p[0] == 's' && p[1] == '=')) {
            if (o) out[o++] = '&';
            memcpy(out + o, p, n);
            o += n;
        }
        p = amp ? amp + 1 : p + n;
    }
    o += (size_t)sprintf(out + o, "%ss=%s", o ? "&" : "", sig);
    out[o] = '\0';
    return out;
}

/* The rate table of every run: prices in EUR/GBP/JPY convert, others are
 * refused (400 currency). */
static const beat_fx *fx(void) {
    static beat_fx t;
    static bool done;
    if (!done) {
        beat_reason why;
        FUZZ_CHECK(beat_fx_parse("EUR=1.08,GBP=1.27,JPY=0.0062", &t, &why) == 0);
        done = true;
    }
    return &t;
}

static rcv_reject check_one(const rcv_notice_cfg *cfg, beat_event_type type, const char *q,
                            beat_notice *n) {
    beat_reason why;
    memset(&why, 0, sizeof why);
    rcv_reject r = rcv_notice_check(cfg, type, q, NOW_MS, n, &why);
    FUZZ_CHECK((unsigned)r < RCV_REJECT_N);
    int st = rcv_reject_status(r);
    FUZZ_CHECK(st == 200 || st == 400 || st == 403 || st == 410);
    FUZZ_CHECK(strcmp(rcv_reject_name(r), "unknown") != 0);
    if (r != RCV_OK) {
        FUZZ_CHECK(why.msg[0] != '\0');
        return r;
    }
    /* Accepted: bounded fields, the money rule, a safe redirect target. */
    FUZZ_CHECK(n->type == type && n->auction[0] && n->imp[0]);
    FUZZ_CHECK(n->bid_cpm_micros >= 0 && n->bid_cpm_micros <= RCV_CPM_MAX);
    if (type == BEAT_EV_WIN || type == BEAT_EV_BILL)
        FUZZ_CHECK(n->price_cpm_micros <= n->bid_cpm_micros);
    if (type == BEAT_EV_CLICK) FUZZ_CHECK(landing_ok(n->landing));
    /* counted in USD, whatever the notice's currency */
    if (n->price_cpm_micros >= 0) FUZZ_CHECK(strcmp(n->currency, "USD") == 0);
    beat_event ev, back;
    rcv_notice_to_event(n, NOW_MS, &ev);
    beat_buf b;
    beat_buf_init(&b, RCV_EVENT_MAX);
    FUZZ_CHECK(beat_event_encode(&ev, &b) == 0);
    FUZZ_CHECK(beat_event_decode(b.data, b.len, &back, &why) == 0);
    FUZZ_CHECK(back.type == ev.type && strcmp(back.auction, ev.auction) == 0 &&
               strcmp(back.imp, ev.imp) == 0 && strcmp(back.campaign, ev.campaign) == 0 &&
               back.price_cpm_micros == ev.price_cpm_micros &&
               back.bid_cpm_micros == ev.bid_cpm_micros);
    /* Test traffic is answered, never produced. */
    uint64_t offered =
        beat_counter_get(g_events.dropped) + beat_counter_get(g_events.encode_errors);
    rcv_notice_accept(&g_notices, n, NOW_MS, &b);
    uint64_t after = beat_counter_get(g_events.dropped) + beat_counter_get(g_events.encode_errors);
    FUZZ_CHECK(after == offered + ((n->flags & BEAT_NOTICE_F_TEST) ? 0 : 1));
    beat_buf_fini(&b);
    return r;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 1 || size > 16384) return 0;
    /* Same type byte as fuzz_notice.c, so the corpora are interchangeable;
     * a bid is no notice (the parser refuses it), a win stands in. */
    beat_event_type type = (beat_event_type)(BEAT_EV_BID + data[0] % 6);
    if (type == BEAT_EV_BID) type = BEAT_EV_WIN;
    bool strict = data[0] & 0x40;
    rcv_notice_cfg cfg = {
        .secret = SECRET,
        .secret_len = sizeof SECRET - 1,
        .max_age_ms = strict ? 3600 * 1000LL : NOW_MS,
        .max_future_ms = strict ? 300 * 1000LL : NOW_MS,
        .accept_v1 = data[0] & 0x80,
        .fx = fx(),
    };
    if (!g_notices.latency) {
        rcv_events_init(&g_events, NULL);
        rcv_notices_init(&g_notices, &cfg, &g_events);
    }
    char *q = malloc(size);
    if (!q) return 0;
    memcpy(q, data + 1, size - 1);
    q[size - 1] = '\0';

    beat_notice n;
    (void)check_one(&cfg, type, q, &n);

    /* Same notice, validly signed over what the parser read. */
    beat_reason why;
    memset(&why, 0, sizeof why);
    if (beat_notice_parse(type, q, &n, &why) == 0) {
        char sig[BEAT_SIG_HEX + 1];
        int src;
        if (n.version == 1) {
            src = beat_notice_sign_v1(SECRET, sizeof SECRET - 1, n.auction, n.imp, n.campaign,
                                      n.bid_cpm_micros, n.ts_ms, n.landing, sig);
        } else {
            beat_notice_fields f = {n.type,  n.exchange, n.flags,        n.auction,
                                    n.imp,   n.campaign, n.crid,         n.bid_cpm_micros,
                                    n.ts_ms, n.landing,  n.bid_currency, n.conv_window_s};
            src = beat_notice_sign(SECRET, sizeof SECRET - 1, &f, sig); /* '\n' in an id */
        }
        char *q2 = src == 0 ? resign(q, sig) : NULL;
        beat_notice n2;
        if (q2 && beat_notice_parse(type, q2, &n2, &why) == 0 && strcmp(n2.sig, sig) == 0 &&
            strcmp(n2.auction, n.auction) == 0) {
            rcv_reject r2 = check_one(&cfg, type, q2, &n2);
            if (n2.version == 1 && !cfg.accept_v1) FUZZ_CHECK(r2 == RCV_FORGED);
            else FUZZ_CHECK(r2 != RCV_FORGED);
        }
        free(q2);
    }
    free(q);
    return 0;
}
