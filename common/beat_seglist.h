/* First-party segment lists: sets of user ids an advertiser uploads to the
 * supervisor (PUT /v1/segments/<id>, one id per line) and campaigns target
 * with "lists_include" / "lists_exclude". Ids never leave the supervisor:
 * it keeps and publishes each list as sorted, distinct 64-bit keyed hashes
 * (XXH3 with a per-database seed), and inference looks a request's user
 * ids up by binary search. A hash collision can admit a user that is not
 * listed with a probability of about n / 2^64 per lookup (n = list size).
 *
 * The 'U' frame (supervisor → inference, docs/contracts.md "Segment lists"),
 * little-endian, exact length:
 *   'U' | u8 v (BEAT_SEGLISTS_V) | u64 segments version | u64 seed | u32 lists
 *   then per list, in ascending id order:
 *   u8 id length | id ([A-Za-z0-9_.:-]{1,64}) | u64 list version | u32 n |
 *   n × u64 hashes, strictly ascending
 * Memory: at most BEAT_SEGLIST_TOTAL_MAX hashes in all (32 MiB). */
#ifndef BEAT_SEGLIST_H
#define BEAT_SEGLIST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "beat_util.h"
#include "beat_wire.h"

#define BEAT_FRAME_SEGMENTS 'U'
#define BEAT_SEGLISTS_V 1
#define BEAT_SEGLISTS_MAX 256          /* lists */
#define BEAT_SEGLIST_IDS_MAX 1000000   /* ids of one list */
#define BEAT_SEGLIST_TOTAL_MAX 4000000 /* hashes of all lists together */
#define BEAT_SEGLIST_USER_MAX 128      /* bytes of one user id */
#define BEAT_SEGLISTS_FRAME_HEAD 22    /* tag, v, version, seed, count */
#define BEAT_SEGLISTS_FRAME_MAX                                                                    \
    (BEAT_SEGLISTS_FRAME_HEAD + (size_t)BEAT_SEGLISTS_MAX * (1 + BEAT_ID_MAX + 12) +               \
     (size_t)BEAT_SEGLIST_TOTAL_MAX * 8)

typedef struct beat_seglist {
    char id[BEAT_ID_MAX + 1];
    int64_t version;   /* the segments version of its last upload */
    uint32_t n;        /* distinct ids */
    const uint64_t *h; /* n ascending hashes; the owner's storage */
} beat_seglist;

typedef struct beat_seglists {
    int64_t version; /* bumped by every upload and delete; 0 = none yet */
    uint64_t seed;   /* the hash key */
    int n;
    beat_seglist *l; /* owned, ascending id */
    uint64_t *store; /* owned by decoded sets: the lists' hashes */
} beat_seglists;

/* A list id follows the name rule, beat_id_ok(s, n, BEAT_ID_MAX). */

/* The keyed hash of one user id. */
uint64_t beat_seglist_hash(uint64_t seed, const char *user, size_t len);

/* An upload body: one user id per line ("\n" or "\r\n"; empty lines are
 * skipped), each 1..BEAT_SEGLIST_USER_MAX printable ASCII bytes without
 * spaces. On success *out (malloc'd, the caller frees) holds *n sorted
 * distinct hashes. -EINVAL with the line in why for a bad id, -EMSGSIZE
 * when more than max_ids ids, -ENOMEM. */
int beat_seglist_parse(const char *body, size_t len, uint64_t seed, uint32_t max_ids,
                       uint64_t **out, uint32_t *n, beat_reason *why);

bool beat_seglist_has(const beat_seglist *l, uint64_t h);
const beat_seglist *beat_seglists_find(const beat_seglists *s, const char *id);

/* The whole 'U' frame, tag included. -EINVAL if s breaks a rule above. */
int beat_seglists_encode(const beat_seglists *s, beat_buf *out);
/* Checks every rule (lengths, ids, order, bounds) before anything is kept:
 * on success out owns a copy (beat_seglists_fini); -EBADMSG with why. */
int beat_seglists_decode(const void *msg, size_t len, beat_seglists *out, beat_reason *why);
void beat_seglists_fini(beat_seglists *s);

#endif
