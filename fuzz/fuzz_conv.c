/* libFuzzer target for conversions (common/beat_conv.c, receiver/conv.c
 * compiled in here): the /conv query parser, the token decoder and the
 * receiver's checks, and the event an accepted conversion becomes. Byte 0
 * bit 0 picks a tight or loose clock; the rest is the query. Each input is
 * checked as sent, then with its token re-signed (the fields it decoded
 * to, signed with the right secret), so the checks after the HMAC are
 * reached too. Invariants: only the documented statuses, a reason on every
 * refusal, a token's own re-signature is never "forged", a token made from
 * the fields decodes back to them, and an accepted conversion encodes to
 * an event that decodes back to the same fields. */
#include "../receiver/conv.c"
#include "../receiver/events.c"
#include "../receiver/notices.c"

#include "fuzz.h"

static const char SECRET[] = "fuzz-secret";
#define NOW_MS 1700000000000LL

static rcv_reject check_one(const rcv_notice_cfg *cfg, const char *q, beat_conv *c) {
    beat_reason why;
    memset(&why, 0, sizeof why);
    rcv_reject r = rcv_conv_check(cfg, q, NOW_MS, c, &why);
    FUZZ_CHECK(r == RCV_OK || r == RCV_MALFORMED || r == RCV_FORGED || r == RCV_EXPIRED);
    if (r != RCV_OK) {
        FUZZ_CHECK(why.msg[0] != '\0');
        return r;
    }
    FUZZ_CHECK(c->tok.auction[0] && c->tok.imp[0] && c->tok.campaign[0]);
    FUZZ_CHECK(c->tok.window_s >= 1 && c->tok.window_s <= BEAT_CONV_WINDOW_MAX_S);
    FUZZ_CHECK(c->value_micros >= 0);
    beat_event ev, back;
    rcv_conv_to_event(c, NOW_MS, &ev);
    beat_buf b;
    beat_buf_init(&b, RCV_EVENT_MAX);
    FUZZ_CHECK(beat_event_encode(&ev, &b) == 0);
    FUZZ_CHECK(beat_event_decode(b.data, b.len, &back, &why) == 0);
    FUZZ_CHECK(back.type == BEAT_EV_CONV && strcmp(back.auction, ev.auction) == 0 &&
               strcmp(back.imp, ev.imp) == 0 && strcmp(back.campaign, ev.campaign) == 0 &&
               back.notice_ts_ms == ev.notice_ts_ms && back.conv_window_s == ev.conv_window_s &&
               back.value_micros == ev.value_micros);
    beat_buf_fini(&b);
    return r;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 1 || size > 8192) return 0;
    bool tight = data[0] & 1;
    rcv_notice_cfg cfg = {
        .secret = SECRET,
        .secret_len = sizeof SECRET - 1,
        .max_age_ms = 3600 * 1000LL,
        .max_future_ms = tight ? 300 * 1000LL : NOW_MS,
        .conv_param = "beat_cv",
        .conv_max_age_ms = tight ? 86400 * 1000LL : 30 * 86400 * 1000LL,
    };
    char *q = malloc(size);
    if (!q) return 0;
    memcpy(q, data + 1, size - 1);
    q[size - 1] = '\0';
    beat_conv c;
    rcv_reject r = check_one(&cfg, q, &c);
    free(q);
    /* Parsed but forged: re-sign the fields it decoded to. The token made
     * must verify, decode back to the same fields and never be forged. */
    beat_reason why;
    beat_conv parsed;
    if (r == RCV_FORGED || r == RCV_EXPIRED || r == RCV_OK) {
        char qq[8192];
        memcpy(qq, data + 1, size - 1);
        qq[size - 1] = '\0';
        if (beat_conv_parse(qq, &parsed, &why) == 0) {
            char tok[BEAT_CONV_TOKEN_MAX], q2[BEAT_CONV_TOKEN_MAX + 32];
            int n = beat_conv_token_make(SECRET, sizeof SECRET - 1, &parsed.tok, tok, sizeof tok);
            FUZZ_CHECK(n > 0);
            snprintf(q2, sizeof q2, "cv=%s&val=%lld.%06lld", tok,
                     (long long)(parsed.value_micros / 1000000),
                     (long long)(parsed.value_micros % 1000000));
            beat_conv again;
            FUZZ_CHECK(beat_conv_parse(q2, &again, &why) == 0);
            FUZZ_CHECK(beat_conv_verify(SECRET, sizeof SECRET - 1, &again));
            FUZZ_CHECK(memcmp(&again.tok, &parsed.tok, sizeof again.tok) == 0 &&
                       again.value_micros == parsed.value_micros);
            FUZZ_CHECK(check_one(&cfg, q2, &again) != RCV_FORGED);
        }
    }
    return 0;
}
