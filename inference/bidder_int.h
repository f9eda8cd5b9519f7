/* What bidder.c (the auction) and response.c (the OpenRTB answer and the
 * bid-log events) share: the bidder itself. Not for other modules. */
#ifndef INF_BIDDER_INT_H
#define INF_BIDDER_INT_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include "bidder.h"
#include "notice.h"

struct inf_bidder {
    inf_bidder_cfg cfg;
    _Atomic uint64_t *freq;
    uint64_t freq_mask;
    _Atomic uint64_t bid_seq;
    uint64_t bid_prefix; /* random per process: bid ids unique across nodes */
    inf_signer signer;   /* notice signatures, pre-keyed once */
    bool url_plain;      /* receiver_url needs no JSON escaping; the rest of
                            a notice URL never does (percent-encoded ids,
                            digits, hex, fixed text) */
};

#endif
