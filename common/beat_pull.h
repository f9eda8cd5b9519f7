/* Cursor + epoch per datastream instance: the pull side of aggregates and
 * samples (docs/contracts.md "Aggregates", "Training samples"), shared by
 * actuator and lighttrainer (and any C replacement) so that an item is
 * consumed once and a restarted instance is read again from its start. Also
 * the per-peer link bookkeeping both keep (base URL, failure counter, the one
 * GET that counts and logs a dead peer) and the restore-before-push lifecycle
 * both follow. No threads and no retries of a call: callers pull from their
 * own loop; nothing here may block beyond the beat_httpc timeout (or a retry
 * pause) or exit. */
#ifndef BEAT_PULL_H
#define BEAT_PULL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "beat_cfg.h"
#include "beat_httpc.h"
#include "beat_metrics.h"
#include "beat_util.h"

struct cJSON;

#define BEAT_PULL_URL_MAX 512

/* Position in one datastream instance's sequence (buckets or samples). */
typedef struct beat_pull_cursor {
    char url[BEAT_PULL_URL_MAX]; /* the instance's base URL: the cursor's key */
    bool has_epoch;              /* an answer (or a restore) set epoch */
    uint64_t epoch;
    uint64_t seq; /* last item consumed */
} beat_pull_cursor;

/* What an answer's header says about the cursor (beat_pull_begin). */
typedef struct beat_pull_check {
    bool epoch_changed; /* a known epoch differs: the instance restarted */
    bool refetch;       /* ...under a cursor past 0: the cursor went back to 0
                         * and this answer (to the old cursor) must be dropped */
    int64_t missed;     /* items gone from the instance before we pulled them */
} beat_pull_check;

/* Checks an answer to "after=c->seq" (its epoch, item count and first seq)
 * before any item is consumed, and moves the cursor to the answer's epoch.
 * The caller counts and logs what r reports. */
void beat_pull_begin(beat_pull_cursor *c, uint64_t epoch, int64_t n, uint64_t first_seq,
                     beat_pull_check *r);
/* True if item seq is new for c (the cursor advances to it); false for a
 * duplicate or out-of-order item, which must be skipped. */
static inline bool beat_pull_take(beat_pull_cursor *c, uint64_t seq) {
    if (seq <= c->seq) return false;
    c->seq = seq;
    return true;
}

/* Appends {"<url>":{"epoch":"<16 hex>","seq":N},...} for the n cursors of
 * c that have an epoch. -EMSGSIZE if out is full. */
int beat_pull_cursors_encode(const beat_pull_cursor *c, int n, beat_buf *out);
/* Reads one {"epoch":"hex","seq":N} value (untrusted: a restored state or
 * checkpoint) into *epoch and *seq. -EINVAL, with nothing written, if v is
 * not such an object (epoch 1-16 hex digits, seq a number in [0, 9e18]). */
int beat_pull_cursor_decode(const struct cJSON *v, uint64_t *epoch, uint64_t *seq);

/* One peer of a link: where it is and what its failures are counted in. */
typedef struct beat_pull_peer {
    char url[BEAT_PULL_URL_MAX]; /* base URL, trailing slashes removed */
    beat_counter *failures;      /* NULL if the registry refused it */
} beat_pull_peer;

/* Sets p->url from url and registers the counter
 * beat_<daemon>_link_failures_total{peer="<label>"}; label NULL = the URL
 * itself (escaped), or fallback if the registry refuses that. */
void beat_pull_peer_init(beat_pull_peer *p, const char *daemon, const char *url, const char *label,
                         const char *fallback);
/* The datastream peers of a puller, one per URL, each labelled by its URL
 * (fallback "datastream<i>"). Caller frees the array (free()); NULL on
 * OOM. At least one slot is allocated, so an empty list is not NULL. */
beat_pull_peer *beat_pull_peers_new(const char *daemon, const beat_strlist *urls);
static inline void beat_pull_peer_failed(const beat_pull_peer *p) {
    if (p->failures) beat_counter_inc(p->failures);
}
/* GET url (a path of p) into resp (bounded by resp->max). 0 on a 200;
 * otherwise the failure is counted on p, logged rate-limited as peer_down
 * and returned (transport error, or -EIO for another status). */
int beat_pull_get(beat_httpc *h, const beat_pull_peer *p, const char *url, beat_buf *resp);

/* beat_opt rows for a puller's links, whose env twins are shared with the
 * other ends (docs/architecture.md, "one shared name"): --datastream (beat_strlist *ds),
 * --supervisor and --admin-token (char **sup, **token), and --dev (bool *dev):
 * the token is required unless --dev (beat_cfg_secret). */
/* clang-format off */
#define BEAT_PULL_OPTS(ds, sup, token, dev)                                              \
    {.name = "datastream", .env = "BEAT_DATASTREAM_URLS",                                \
     .type = BEAT_OPT_STRLIST, .dst = (ds), .def = "http://127.0.0.1:8082",              \
     .help = "datastream base URL (repeatable; env: comma list)"},                       \
    {.name = "supervisor", .env = "BEAT_SUPERVISOR_URL",                                 \
     .type = BEAT_OPT_STR, .dst = (sup), .def = "http://127.0.0.1:8083",                 \
     .help = "supervisor base URL"},                                                     \
    {.name = "admin-token", .env = "BEAT_ADMIN_TOKEN",                                   \
     .type = BEAT_OPT_STR, .dst = (token), .def = "",                                    \
     .help = "bearer token for the supervisor's write endpoints; required unless --dev", \
     .secret = true},                                                                    \
    BEAT_OPT_DEV(dev)
/* clang-format on */

/* Restore before push, so a restart never resets spend or model
 * (docs/architecture.md "Where state lives"): where a puller stands, for its
 * /healthz and metrics. Written by its loop, read by the admin thread:
 * atomics only. */
enum { BEAT_RESTORE_PENDING = 0, BEAT_RESTORE_DONE = 1, BEAT_RESTORE_FRESH = 2 };
typedef struct beat_pull_status {
    _Atomic int restore;          /* BEAT_RESTORE_* */
    _Atomic int64_t last_push_ms; /* wall clock of the last accepted push; 0 = none */
} beat_pull_status;

/* Pacing of a restore loop: true to try (again), false once a stop was
 * requested. The first call (*backoff_ms == 0) returns at once; each later
 * one first sleeps 100 ms, doubling up to 5 s. */
bool beat_pull_retry(int64_t *backoff_ms);
/* Opens the /healthz detail: while restoring, appends "detail":"restoring"
 * and returns false (not ready); else appends "restore":"restored" or
 * "fresh" and returns true (the caller appends ",..." fields). */
bool beat_pull_health(beat_pull_status *s, beat_buf *detail);
/* Milliseconds since the last accepted push, -1 if none yet. */
int64_t beat_pull_push_age_ms(beat_pull_status *s);
/* beat_gauge_fn_new callback (arg: the beat_pull_status): seconds since
 * the last accepted push, -1 if none yet. */
double beat_pull_push_age_s(void *status);

#endif
