/* Conversions at the receiver without HTTP: the token a click's redirect
 * carries (query, fragment, turned off), the checks of /conv (forged,
 * re-typed, malformed, expired by window and by the receiver's maximum,
 * future), and the event it becomes. The HTTP answers are exercised by
 * tests/test_receiver.py. */
#include "conv.h"

#include <stdio.h>
#include <string.h>

#include "beat_test.h"

static const char SECRET[] = "unit-secret";
#define SL (sizeof SECRET - 1)
static const int64_t NOW = 1700000000000LL;

static rcv_notice_cfg cfg(void) {
    return (rcv_notice_cfg){.secret = SECRET,
                            .secret_len = SL,
                            .max_age_ms = 3600 * 1000,
                            .max_future_ms = 300 * 1000,
                            .conv_param = "beat_cv",
                            .conv_max_age_ms = 30LL * 86400 * 1000};
}

static beat_notice click(const char *landing, int32_t cw) {
    beat_notice n;
    memset(&n, 0, sizeof n);
    n.type = BEAT_EV_CLICK;
    n.version = 2;
    strcpy(n.exchange, "ex1");
    strcpy(n.auction, "A1");
    strcpy(n.imp, "1");
    strcpy(n.campaign, "c1");
    strcpy(n.crid, "cr9");
    n.ts_ms = NOW - 1000;
    n.conv_window_s = cw;
    snprintf(n.landing, sizeof n.landing, "%s", landing);
    return n;
}

/* The token out of a Location (after "beat_cv="), into q as "cv=TOKEN". */
static int token_query(const char *loc, char *q, size_t cap) {
    const char *p = strstr(loc, "beat_cv=");
    if (!p) return -1;
    p += 8;
    snprintf(q, cap, "cv=%.*s", (int)strcspn(p, "&#"), p);
    return 0;
}

/* A receiver's notices on cfg() in the caller's storage (static: it is
 * large), and buf sized for a landing URL with its token. */
static void notices_on(rcv_events *events, rcv_notices *s, beat_buf *buf) {
    rcv_notice_cfg c = cfg();
    rcv_events_init(events, NULL);
    rcv_notices_init(s, &c, events);
    beat_buf_init(buf, BEAT_URL_MAX + BEAT_CONV_TOKEN_MAX + 64);
}

static int t_location(void) {
    static rcv_events events;
    static rcv_notices s;
    beat_buf buf;
    notices_on(&events, &s, &buf);
    uint64_t tokens0 = beat_counter_get(s.conv_tokens);
    beat_notice n = click("https://shop.example/p", 0);
    const char *loc = rcv_conv_location(&s, &n, &buf);
    CHECK(strncmp(loc, "https://shop.example/p?beat_cv=", 31) == 0);
    n = click("https://shop.example/p?x=1", 0);
    CHECK(strncmp(rcv_conv_location(&s, &n, &buf), "https://shop.example/p?x=1&beat_cv=", 35) == 0);
    n = click("https://shop.example/p?", 0);
    CHECK(strncmp(rcv_conv_location(&s, &n, &buf), "https://shop.example/p?beat_cv=", 31) == 0);
    n = click("https://shop.example/p#top", 0); /* before the fragment */
    loc = rcv_conv_location(&s, &n, &buf);
    CHECK(strncmp(loc, "https://shop.example/p?beat_cv=", 31) == 0);
    CHECK(strlen(loc) > 4 && strcmp(loc + strlen(loc) - 4, "#top") == 0);
    CHECK_EQ_INT(beat_counter_get(s.conv_tokens), tokens0 + 4);
    /* The token is a function of the click: the same click, the same token. */
    char a[4096], b[4096];
    n = click("https://shop.example/", 0);
    snprintf(a, sizeof a, "%s", rcv_conv_location(&s, &n, &buf));
    snprintf(b, sizeof b, "%s", rcv_conv_location(&s, &n, &buf));
    CHECK_EQ_STR(a, b);
    /* and it names the click, with the default window */
    char q[4096];
    CHECK_EQ_INT(token_query(a, q, sizeof q), 0);
    beat_conv cv;
    beat_reason why = {{0}};
    CHECK_EQ_INT(rcv_conv_check(&s.cfg, q, NOW, &cv, &why), RCV_OK);
    CHECK_EQ_STR(cv.tok.auction, "A1");
    CHECK_EQ_STR(cv.tok.crid, "cr9");
    CHECK_EQ_STR(cv.tok.exchange, "ex1");
    CHECK_EQ_INT(cv.tok.click_ts_ms, NOW - 1000);
    CHECK_EQ_INT(cv.tok.window_s, BEAT_CONV_WINDOW_DEFAULT_S);
    /* Turned off: the landing as it is. */
    s.cfg.conv_param = "";
    n = click("https://shop.example/p", 0);
    CHECK_EQ_STR(rcv_conv_location(&s, &n, &buf), "https://shop.example/p");
    beat_buf_fini(&buf);
    return 0;
}

/* A signed token for click n, as the redirect would carry it, in q. */
static void signed_query(const beat_notice *n, const char *extra, char *q, size_t cap) {
    static rcv_events events;
    static rcv_notices s;
    beat_buf buf;
    notices_on(&events, &s, &buf);
    token_query(rcv_conv_location(&s, n, &buf), q, cap);
    strncat(q, extra, cap - strlen(q) - 1);
    beat_buf_fini(&buf);
}

static int t_check(void) {
    rcv_notice_cfg c = cfg();
    char q[4096];
    beat_conv cv;
    beat_reason why = {{0}};
    beat_notice n = click("https://shop.example/", 3600);
    signed_query(&n, "&val=19.99", q, sizeof q);
    CHECK_EQ_INT(rcv_conv_check(&c, q, NOW, &cv, &why), RCV_OK);
    CHECK_EQ_INT(cv.tok.window_s, 3600);
    CHECK_EQ_INT(cv.value_micros, 19990000);
    beat_event ev;
    rcv_conv_to_event(&cv, NOW + 5, &ev);
    CHECK_EQ_INT(ev.type, BEAT_EV_CONV);
    CHECK_EQ_INT(ev.ts_ms, NOW + 5);
    CHECK_EQ_INT(ev.notice_ts_ms, NOW - 1000);
    CHECK_EQ_INT(ev.conv_window_s, 3600);
    CHECK_EQ_INT(ev.value_micros, 19990000);
    CHECK_EQ_STR(ev.campaign, "c1");
    beat_buf b;
    beat_buf_init(&b, 4096);
    CHECK_EQ_INT(beat_event_encode(&ev, &b), 0); /* a valid event on the wire */
    beat_buf_fini(&b);
    /* Past the campaign's window: expired (410). */
    CHECK_EQ_INT(rcv_conv_check(&c, q, NOW - 1000 + 3600 * 1000 + 1, &cv, &why), RCV_EXPIRED);
    CHECK_EQ_INT(rcv_reject_status(RCV_EXPIRED), 410);
    CHECK_EQ_INT(rcv_conv_check(&c, q, NOW - 1000 + 3600 * 1000, &cv, &why), RCV_OK);
    /* The receiver's maximum bounds every window. */
    c.conv_max_age_ms = 60 * 1000;
    CHECK_EQ_INT(rcv_conv_check(&c, q, NOW + 60 * 1000, &cv, &why), RCV_EXPIRED);
    c = cfg();
    /* Signed far ahead of our clock: malformed. */
    CHECK_EQ_INT(rcv_conv_check(&c, q, NOW - 400 * 1000, &cv, &why), RCV_MALFORMED);
    /* Another secret, a tampered signature: forged. */
    rcv_notice_cfg other = c;
    other.secret = "other";
    other.secret_len = 5;
    CHECK_EQ_INT(rcv_conv_check(&other, q, NOW, &cv, &why), RCV_FORGED);
    char *sig = strchr(q, '.') + 1;
    sig[0] = sig[0] == 'a' ? 'b' : 'a';
    CHECK_EQ_INT(rcv_conv_check(&c, q, NOW, &cv, &why), RCV_FORGED);
    CHECK_REASON(why, "bad signature");
    /* No token at all; a click notice's query sent to /conv: forged. */
    CHECK_EQ_INT(rcv_conv_check(&c, "val=3", NOW, &cv, &why), RCV_FORGED);
    CHECK_EQ_INT(rcv_conv_check(&c, "v=2&a=A1&i=1&c=c1&b=1&t=1&u=x&s=00", NOW, &cv, &why),
                 RCV_FORGED);
    CHECK_EQ_INT(rcv_conv_check(&c, NULL, NOW, &cv, &why), RCV_FORGED);
    /* Garbage where the token goes, a bad value: malformed. */
    CHECK_EQ_INT(rcv_conv_check(&c, "cv=%%%", NOW, &cv, &why), RCV_MALFORMED);
    signed_query(&n, "&val=abc", q, sizeof q);
    CHECK_EQ_INT(rcv_conv_check(&c, q, NOW, &cv, &why), RCV_MALFORMED);
    CHECK_REASON(why, "bad val");
    /* A test click makes a test conversion (answered, never produced). */
    n.flags = BEAT_NOTICE_F_TEST;
    signed_query(&n, "", q, sizeof q);
    CHECK_EQ_INT(rcv_conv_check(&c, q, NOW, &cv, &why), RCV_OK);
    CHECK_EQ_INT(cv.tok.flags, BEAT_NOTICE_F_TEST);
    return 0;
}

int main(int argc, char **argv) {
    static const beat_test_case tests[] = {
        {"location", t_location}, {"check", t_check}, {NULL, NULL}};
    return beat_test_main("receiver_conv", tests, argc, argv);
}
