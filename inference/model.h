/* What a bid is computed from: an immutable "world" = campaign set + pacing
 * state (a snapshot) + the CTR model + per-campaign data precomputed from
 * them. The sync thread builds worlds and publishes them through a holder;
 * bidding threads read the current one lock-free (hazard slots), so they
 * never see half a model and the old world is freed only when unused. */
#ifndef INF_MODEL_H
#define INF_MODEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "beat_campaign.h"
#include "beat_ckpt.h"
#include "beat_features.h"
#include "beat_wire.h"
#include "targeting.h"

#define INF_AVG_CTR_DEFAULT 0.01 /* used when the checkpoint's avg_ctr ≤ 0 */

/* Model and snapshot are shared by successive worlds. Their refcounts are
 * plain ints touched only by the thread that builds and frees worlds. */
typedef struct inf_model {
    int refs;
    int64_t version;
    beat_ckpt ck; /* owned */
    beat_hash_params hp;
    double avg_ctr;       /* > 0 */
    uint32_t rank;        /* factor term (beat_ckpt.h); 0 = none */
    uint32_t factor_mask; /* 2^factor_bits - 1 */
    const float *V, *U;   /* into ck.w when rank > 0 */
} inf_model;

typedef struct inf_snap {
    int refs;
    beat_campaign_set cs; /* owned */
    beat_state st;        /* owned; has_state false when the frame had none */
    bool has_state;
    beat_exchange_set xs; /* owned; version 0 and n 0 when the frame had none */
} inf_snap;

/* Per-campaign data a bid needs, computed once per world. The first 64
 * bytes are what the bid loop reads for every candidate, copied out of the
 * campaign so that scoring a hundred candidates touches a hundred cache
 * lines, not several hundred. */
typedef struct inf_camp {
    _Alignas(64) int64_t start_ms, end_ms; /* flight */
    double multiplier;
    int64_t base_bid_cpm_micros, max_bid_cpm_micros;
    uint64_t hash;         /* beat_feat_campaign_hash under the model's params */
    const uint32_t *sizes; /* (w << 16) | h per banner creative, 0 for others */
    float own_w;           /* the model's weight of the campaign alone */
    int32_t freq_cap_max;  /* 0 = none */
    /* -- colder -- */
    const beat_campaign *c;
    int32_t n_creatives;          /* c's, at most BEAT_CREATIVES_MAX: the filter reads
                            this line, not c's */
    bool rules;                   /* c has supply-chain rules or a schedule to check */
    uint64_t id_hash;             /* model-independent, keys the frequency table */
    bool in_state;                /* absent from the state → never bid */
    bool paused;                  /* campaign or state says paused */
    struct inf_lease_slot *lease; /* its budget lease (lease.h); NULL = not enforced
                                     (worlds built without a lease table: tests) */
    int32_t opp_slot;             /* its opportunity counter (opps.h); -1 = not counted */
    const float *win_curve;       /* the state's win_curve (BEAT_LAND_N, into the
                                  world's snapshot); NULL = none: never shaded */
} inf_camp;

typedef struct inf_world {
    inf_model *model; /* may be NULL: no model yet */
    inf_snap *snap;   /* may be NULL: no campaigns/state yet */
    int n;
    inf_camp *camps;       /* owned, n entries, campaign set order */
    uint32_t *sizes;       /* owned, n × BEAT_CREATIVES_MAX: camps[i].sizes */
    float *fu;             /* owned, n × model rank: the campaigns' U rows
                              gathered for one sgemv per imp; NULL if rank 0 */
    inf_tindex *tx;        /* owned: targeting index over camps (never NULL) */
    struct inf_aud *aud;   /* owned: geography/audience rules and the segment
                            lists (audience.h); never NULL once built */
    struct inf_rtpl *rtpl; /* owned: each creative's fixed bid JSON (rtpl.h);
                              never NULL once built */
    /* the node's slot of each exchange of snap->xs (exchange.h), same order;
       NULL when not bound (worlds built by tests) */
    struct inf_xslot *xslot[BEAT_EXCHANGES_MAX];
    uint64_t id;                    /* unique per built world (caches key on it) */
    struct inf_world *retired_next; /* holder's retire list */
} inf_world;

/* Takes ck on success (zeroes it); on error the caller keeps it. Validates
 * what inference needs beyond beat_ckpt_decode: kind, hash_bits 10..26. */
int inf_model_new(beat_ckpt *ck, int64_t version, inf_model **out, beat_reason *why);
/* Decodes a whole 'C' frame (tag + u64le version + checkpoint). */
int inf_model_decode(const void *frame, size_t len, size_t max_bytes, inf_model **out,
                     beat_reason *why);
void inf_model_unref(inf_model *m);

/* Takes cs and st (zeroes them). has_state false when st carries nothing. */
inf_snap *inf_snap_new(beat_campaign_set *cs, beat_state *st, bool has_state);
/* Decodes a whole 'S' frame (its exchanges go into s->xs). */
int inf_snap_decode(const void *frame, size_t len, inf_snap **out, beat_reason *why);
void inf_snap_unref(inf_snap *s);

/* Builds a world from m and s (either may be NULL), taking a reference on
 * each. NULL on out of memory. */
inf_world *inf_world_build(inf_model *m, inf_snap *s);
void inf_world_free(inf_world *w); /* drops the references; NULL is a no-op */

/* pCTR = sigmoid(bias + Σ w[idx]) for indices from beat_feat_indices
 * (the linear part alone: a rank-0 model, or tests). */
double inf_model_score(const inf_model *m, const uint32_t *idx, int n);
/* pCTR with the factor term of that campaign added to the logit. */
double inf_model_score_with(const inf_model *m, const uint32_t *idx, int n, double factor);
/* The same pCTR in two steps, so an imp's campaign-independent part is
 * summed once and each campaign adds only its own (bit-identical to
 * inf_model_score_with over beat_feat_indices of raw and campaign_hash):
 * base = bias + Σ w over raw's base features; then the campaign's crosses,
 * its bias weight and its factor term. */
double inf_model_logit_base(const inf_model *m, const beat_feat_raw *raw);
double inf_model_pctr(const inf_model *m, double base, const beat_feat_raw *raw,
                      uint64_t campaign_hash, double factor);
/* 1 / (1 + e^-z), z clamped to ±35. */
double inf_model_sigmoid(double z);

/* Factor terms of every campaign of w for one impression: v = Σ V[f] over
 * raw's base features, then out[ci] = U[ci] · v for all n campaigns with
 * one cblas_sgemv (blas false: plain loops, for the benchmark). Returns
 * false and writes nothing when the model has no factor term or out_cap <
 * w->n. No allocation; OpenBLAS runs single-threaded (set once here). */
bool inf_world_factor_scores(const inf_world *w, const beat_feat_raw *raw, float *out, int out_cap,
                             bool blas);

/* ---- publication ---------------------------------------------------------- */
typedef struct inf_holder inf_holder;

/* readers: number of hazard slots (one per bidding thread). */
inf_holder *inf_holder_new(int readers);
/* Frees the current and retired worlds; no reader may be active. */
void inf_holder_free(inf_holder *h);
/* Reader side (slot owned by one thread): the current world or NULL, valid
 * until inf_holder_release on the same slot. Lock-free, no allocation. */
const inf_world *inf_holder_acquire(inf_holder *h, int slot);
void inf_holder_release(inf_holder *h, int slot);
/* Writer side (one thread): publishes w (takes it) and retires the old
 * world; retired worlds are freed by inf_holder_reclaim once no slot holds
 * them. inf_holder_current is the writer's view of the published world. */
void inf_holder_publish(inf_holder *h, inf_world *w);
void inf_holder_reclaim(inf_holder *h);
inf_world *inf_holder_current(inf_holder *h);
int inf_holder_retired(inf_holder *h); /* retired worlds not yet freed */

/* Versions and timestamps of the published world, readable from any thread
 * (health, metrics) without touching the world. 0 = none. */
typedef struct inf_versions {
    int64_t model_v, campaigns_v, state_v;
    int64_t model_ts_ms, state_ts_ms;
    int n_campaigns;
    bool has_model, has_state;
    int64_t exchanges_v; /* 0: the snapshot had no exchanges */
    int n_exchanges;
    int64_t segments_v; /* first-party segment lists held; 0: none */
    int n_segment_lists;
} inf_versions;
void inf_holder_versions(inf_holder *h, inf_versions *out);

#endif
