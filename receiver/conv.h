/* Conversions at the receiver (docs/contracts.md "Conversions"): the token
 * a click hands to the advertiser's landing page, and /conv, where the
 * advertiser's page (pixel) or server (postback) reports one. */
#ifndef RCV_CONV_H
#define RCV_CONV_H

#include <stdint.h>

#include "beat_conv.h"
#include "notices.h"

extern const unsigned char rcv_pixel_gif[43];

void rcv_conv_metrics_init(rcv_notices *s);
/* The Location of an accepted click: its landing with "&PARAM=TOKEN" (or
 * "?…"; before any '#') when conversions are on (cfg.conv_param), else the
 * landing as it is — also when the token cannot be made (logged,
 * rate-limited: a click always redirects). Valid until buf changes. */
const char *rcv_conv_location(rcv_notices *s, const beat_notice *click, beat_buf *buf);
/* Parses, verifies and checks one /conv query (pure; no I/O): forged (no
 * token, a bad signature, a token of another type), malformed, expired
 * (older than its window or cfg.conv_max_age_ms), or RCV_OK with *c
 * filled; why says what was wrong. */
rcv_reject rcv_conv_check(const rcv_notice_cfg *cfg, const char *query, int64_t now_ms,
                          beat_conv *c, beat_reason *why);
/* The Kafka event of an accepted conversion, stamped now_ms. */
void rcv_conv_to_event(const beat_conv *c, int64_t now_ms, beat_event *ev);
/* Routes /conv on h (GET → 1×1 GIF, POST → 204); w must outlive h. */
void rcv_conv_route(beat_http *h, rcv_worker_bufs *w);

#endif
