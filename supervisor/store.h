/* Supervisor's durable store: SQLite in WAL mode, the engine's only durable
 * state (docs/architecture.md "Where state lives"). One table per kind of
 * versioned object (campaign sets, pacing states, checkpoints, exchange
 * sets) plus a small
 * key/value meta table. Used only from the supervisor's main thread. */
#ifndef SUP_STORE_H
#define SUP_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "beat_util.h"

typedef enum {
    SUP_T_CAMPAIGNS = 0,
    SUP_T_STATES,
    SUP_T_CHECKPOINTS,
    SUP_T_EXCHANGES,
    SUP_T_N
} sup_table;

typedef struct sup_store sup_store;

/* One stored row. label is source_hash / actuator / trainer / source_hash
 * by table. */
typedef struct sup_row {
    int64_t version, ts_ms;
    char *label;  /* owned */
    uint32_t crc; /* checkpoints only */
    void *data;   /* owned, NUL-terminated (not counted in len) */
    size_t len;
} sup_row;

/* Opens (creating the file and its parent directory if missing), runs
 * PRAGMA integrity_check, sets WAL + synchronous=FULL + busy_timeout and
 * creates the schema. keep = rows retained per table (≥ 1).
 * -EBADMSG: the file is corrupt or not a database (why says so);
 * other negative codes: cannot open/create. */
int sup_store_open(const char *path, int keep, sup_store **out, beat_reason *why);
void sup_store_close(sup_store *st); /* NULL is a no-op */

/* Version the next put into t will get: one more than any version ever
 * assigned in t, even if retention deleted it (AUTOINCREMENT sequence). */
int sup_store_next_version(sup_store *st, sup_table t, int64_t *out);

/* Inserts a row with the given version in one transaction, applies
 * retention, and if meta_key is not NULL also sets meta[meta_key]. The data
 * is bound as TEXT for campaigns/states/exchanges and BLOB for checkpoints.
 * Returns 0, -EEXIST (version already used), or -EIO (logged). */
int sup_store_put(sup_store *st, sup_table t, int64_t version, int64_t ts_ms, const char *label,
                  uint32_t crc, const void *data, size_t len, const char *meta_key,
                  const char *meta_val);

/* Latest row of t: 0 and *out filled (free with sup_row_fini), -ENOENT if
 * the table is empty, -EIO on error. */
int sup_store_latest(sup_store *st, sup_table t, sup_row *out);
void sup_row_fini(sup_row *r);

/* Rows currently held in t (for tests and stats), or negative code. */
int64_t sup_store_count(sup_store *st, sup_table t);

/* meta[key] into val (NUL-terminated): 0, -ENOENT, -EMSGSIZE, -EIO. */
int sup_store_meta_get(sup_store *st, const char *key, char *val, size_t val_len);

/* A config file (campaigns, exchanges) read whole into out, at most
 * out->max bytes (then -EMSGSIZE); -errno / -EIO if it cannot be read,
 * why says which. out is the caller's, reset first. On success hex gets
 * its SHA-256 and *same whether meta[meta_key] holds that hash already
 * (the file last applied, unchanged since). */
int sup_read_config_file(sup_store *st, const char *path, const char *meta_key, beat_buf *out,
                         char hex[65], bool *same, beat_reason *why);

/* Successful puts since open (to skip backups when nothing changed). */
uint64_t sup_store_writes(const sup_store *st);

/* The connection, for a module with tables of its own (segments.c); write
 * counts a write for sup_store_writes. Main thread only, like the rest. */
struct sqlite3;
struct sqlite3 *sup_store_db(sup_store *st, bool write);

/* Online backup (sqlite3_backup) of the whole database into dest, written
 * to dest.tmp, integrity-checked, fsync'd and renamed, so dest is always
 * a complete good copy. Blocks the caller for the copy. 0 or negative code
 * with why. */
int sup_store_backup(sup_store *st, const char *dest, beat_reason *why);
/* PRAGMA integrity_check on a database file opened read-only: 0 (ok),
 * -ENOENT (missing), -EBADMSG (corrupt), -EIO. */
int sup_store_check_file(const char *path, beat_reason *why);

/* Bytes on disk of the db file plus its WAL (thread-safe: only stat(2)). */
double sup_store_disk_bytes(const sup_store *st);
const char *sup_store_path(const sup_store *st);

#endif
