/* beat-exsim's trading-desk grading (desk.c): per campaign, spend and
 * impressions per local day, wins outside its targeting, and the most
 * impressions one user saw in one frequency-cap window — counted on the
 * exchange's side, where each win's user is known. Single-threaded (the
 * simulator's event loop). */
#ifndef EXS_DESK_H
#define EXS_DESK_H

#include <stdint.h>

#include "beat_util.h"
#include "grade.h"
#include "traffic.h"

typedef struct exs_desk exs_desk;

/* Over cs (borrowed; must outlive the desk), with 2^slots_log2 (4..28)
 * (campaign, user, window) counters, filled to ¾ at most (beyond, pairs
 * are dropped and counted). NULL on bad args / OOM. */
exs_desk *exs_desk_new(const exs_camps *cs, int slots_log2);
void exs_desk_free(exs_desk *d);
/* A real (non-test) win of campaign ci on r at engine time engine_ms (of
 * the auction) that cleared at clearing_cpm_micros. */
void exs_desk_win(exs_desk *d, int ci, const exs_req *r, int64_t engine_ms,
                  int64_t clearing_cpm_micros);

typedef struct exs_desk_freq_res {
    int max, window_s;  /* the campaign's cap (max 0: none, the rest 0) */
    int64_t pairs;      /* (user, window) pairs with an impression */
    int64_t most;       /* most impressions of one pair */
    int64_t over_pairs; /* pairs over max */
} exs_desk_freq_res;
void exs_desk_freq(const exs_desk *d, int ci, exs_desk_freq_res *out);
int64_t exs_desk_off_target(const exs_desk *d, int ci);
/* Appends ",\"desk\":{\"campaigns\":[…],…}" (docs/demo.md). 0 or -ENOMEM. */
int exs_desk_json(const exs_desk *d, beat_buf *out);

#endif
