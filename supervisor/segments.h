/* First-party segment lists on the supervisor (beat_seglist.h): uploads
 * (PUT /v1/segments/<id>, one user id per line) are hashed with the
 * database's seed, stored in SQLite (table segment_lists, one row per list
 * with the segments version of its upload) and published to inference as
 * one 'U' frame holding every list. Main thread only. */
#ifndef SUP_SEGMENTS_H
#define SUP_SEGMENTS_H

#include <stddef.h>
#include <stdint.h>
#include "beat_util.h"
#include "publish.h"
#include "store.h"

typedef struct sup_segs sup_segs;

/* Creates the table if missing, loads the lists and publishes them on pub
 * (NULL: not published). max_ids: ids per list (1..BEAT_SEGLIST_IDS_MAX).
 * Borrows st and pub. NULL and *err (-EIO: store, logged; -ENOMEM). */
sup_segs *sup_segs_new(sup_store *st, sup_pub *pub, uint32_t max_ids, int *err);
void sup_segs_free(sup_segs *g); /* NULL is a no-op */

/* Replaces (or creates) list id. 0 and *version (the new segments
 * version) and *n (distinct ids); -EINVAL with why (bad list id or user
 * id: 400), -EMSGSIZE (more ids than allowed, or all lists together over
 * their bound: 413), -EIO (store: 503). */
int sup_segs_put(sup_segs *g, const char *id, const char *body, size_t len, int64_t *version,
                 uint32_t *n, beat_reason *why);
/* Deletes list id: 0 and *version, -ENOENT, -EIO. */
int sup_segs_delete(sup_segs *g, const char *id, int64_t *version, beat_reason *why);
/* {"version":V,"lists":[{"id":…,"version":…,"size":…,"ts":…},…]} of all
 * lists, or of the one named (id not NULL: -ENOENT when absent). */
int sup_segs_json(const sup_segs *g, const char *id, beat_buf *out);
int64_t sup_segs_version(const sup_segs *g);

#endif
