/* The supervisor's exchange set (common/beat_exchange.h): the partners
 * allowed to send bid requests. Replaced as campaigns are: validate →
 * next version → store in SQLite → swap → republish the snapshot (which
 * carries the set to inference). Owned by sup_app; main thread only. */
#ifndef SUP_EXCHANGES_H
#define SUP_EXCHANGES_H

#include <stddef.h>
#include <stdint.h>
#include "beat_exchange.h"
#include "beat_util.h"
#include "store.h"

typedef struct sup_exch sup_exch;

/* Borrows st. changed(arg) runs after every install (the owner republishes).
 * NULL on out of memory. */
sup_exch *sup_exch_new(sup_store *st, size_t max_json, void (*changed)(void *), void *arg);
void sup_exch_free(sup_exch *x); /* NULL is a no-op */

/* The latest stored set, if any (one that no longer validates is logged
 * and skipped). 0 or -EIO. Does not call changed. */
int sup_exch_load(sup_exch *x);
/* --exchanges FILE: applied as a new version unless it is the content last
 * applied from a file. Negative code with why. */
int sup_exch_load_file(sup_exch *x, const char *path, beat_reason *why);
/* PUT /v1/exchanges: 0 and *version; -EINVAL (400, why), -EMSGSIZE (413),
 * -EIO (503). A refused set changes nothing. */
int sup_exch_put(sup_exch *x, const char *json, size_t len, int64_t *version, beat_reason *why);

/* The current set (version 0 and n 0: none), owned by x. */
const beat_exchange_set *sup_exch_current(const sup_exch *x);
/* GET /v1/exchanges: the set without key material, with "version" and
 * "ts". -ENOENT when none was ever loaded. */
int sup_exch_public_json(const sup_exch *x, beat_buf *out);

#endif
