/* beat-exsim's yardsticks (camps.c, oracle.c): the campaigns as the oracle
 * sees them, the offline oracle replay and the Bayes AUC. */
#ifndef EXS_GRADE_H
#define EXS_GRADE_H

#include <stdbool.h>
#include <stdint.h>

#include "beat_tz.h"
#include "beat_util.h"
#include "traffic.h"

typedef struct exs_camp exs_camp;
/* A first-party list as uploaded to the supervisor: bit u = user "u<u>". */
typedef struct exs_ulist {
    char id[72];
    uint8_t *bits;
    int n_users;
} exs_ulist;
#define EXS_LIST_USERS_MAX (1 << 20)
typedef struct exs_camps {
    int n;
    exs_camp *c;
    exs_ulist *lists; /* --list; freed by exs_camps_fini */
    int n_lists;
} exs_camps;
/* Reads a campaigns JSON (file or the supervisor's GET /v1/campaigns
 * answer, with absolute start_ms/end_ms). 0, or negative with a message. */
int exs_camps_load(const char *path, exs_camps *out, char *err, size_t errn);
void exs_camps_fini(exs_camps *cs);
const char *exs_camp_id(const exs_camps *cs, int i);
int exs_camps_find(const exs_camps *cs, const char *id);
int64_t exs_camp_budget(const exs_camps *cs, int i);
int64_t exs_camp_max_bid(const exs_camps *cs, int i);
bool exs_camp_eligible(const exs_camps *cs, int i, const exs_world *w, const exs_req *r,
                       int64_t t_ms);
/* Whether r is inside campaign i's geography and audiences (regions,
 * metros, cities, zips, radius; segments; lists given by
 * exs_camps_list_load) by the engine's rules, consent included. */
bool exs_camp_on_target(const exs_camps *cs, int i, const exs_req *r);
/* Campaign i's zone (NULL = UTC) and frequency cap (max, 0 = none). */
const beat_tz *exs_camp_tz(const exs_camps *cs, int i);
int exs_camp_fcap(const exs_camps *cs, int i, int *window_s);
/* Reads "LIST_ID=PATH" (one id a line) into cs (after exs_camps_load).
 * 0, or negative with a message. */
int exs_camps_list_load(exs_camps *cs, const char *spec, char *err, size_t errn);
/* Whether campaign i's schedule is open at wall time t_ms (engine time in
 * its zone; no schedule: always). */
bool exs_camp_open(const exs_camps *cs, int i, int64_t t_ms);
/* Distinct advertiser domains of all campaigns (for badv); borrowed. */
int exs_camps_adomains(const exs_camps *cs, const char *const **out);

typedef struct exs_oracle exs_oracle;
exs_oracle *exs_oracle_new(const exs_camps *cs, int64_t max_auctions);
void exs_oracle_free(exs_oracle *o);
/* One auction as the exchange saw it: thresh = price to beat (max of
 * market and floor, USD CPM micros); won = campaign index the engine won
 * with (-1 none); clicked by the truth; pctr: the engine's pCTR per
 * campaign index (X-Beat-Explain; NaN or 0 = not told), NULL = none. */
void exs_oracle_add(exs_oracle *o, const exs_world *w, const exs_req *r, int64_t t_ms,
                    int64_t market, int won, bool clicked, double won_ctr, const float *pctr);
/* The same from its parts (tests): elig bit c = campaign c may bid; ctr,
 * pctr per campaign (pctr may be NULL). 0, or -ENOSPC past --oracle-max. */
int exs_oracle_add_raw(exs_oracle *o, int64_t t_ms, int64_t thresh, int64_t floor, int at,
                       uint64_t elig, const float *ctr, const float *pctr, int won, bool clicked,
                       double won_ctr);

/* One campaign's outcome in an oracle replay. clicks: Σ true CTR of what it
 * won; score_sum: Σ of the score it bid on (the true CTR or the pCTR). */
typedef struct exs_oracle_res {
    double spend_cpm, clicks, score_sum, fp_paid_cpm, lambda;
    int64_t wins, elig, fp_wins;
} exs_oracle_res;
/* Solves every campaign's λ and replays (oracle.c): bids λ × true CTR, or
 * with by_pctr λ × the engine's pCTR (only where it told one); shade: bids
 * in first-price auctions shaded to the surplus-maximising price (the fair
 * yardstick; false: pays its bid, for comparison). out: one per campaign. */
int exs_oracle_solve(exs_oracle *o, bool by_pctr, bool shade, exs_oracle_res *out);
/* Campaign c's shaded first-price bid for a value (CPM micros), ≤ value. */
double exs_oracle_shade(exs_oracle *o, int c, double value);
/* Runs both fair replays; appends ",\"oracle\":{…},\"bayes_auc\":{…}". */
int exs_oracle_json(exs_oracle *o, const exs_world *w, int64_t window_ms, beat_buf *out);

#endif
