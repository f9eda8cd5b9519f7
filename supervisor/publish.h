/* The supervisor → inference link (docs/architecture.md "The careful link"):
 * nng PUB of snapshot, checkpoint, segment lists and heartbeat frames, and
 * a REP socket answering "snapshot" / "checkpoint" / "segments". Frames are immutable and refcounted so
 * the rep and heartbeat threads never wait on the main thread's work. */
#ifndef SUP_PUBLISH_H
#define SUP_PUBLISH_H

#include <stddef.h>
#include <stdint.h>

/* An immutable wire frame (tag byte included). Refcounted, thread-safe. */
typedef struct sup_frame {
    int refs; /* atomic */
    size_t len;
    uint8_t data[];
} sup_frame;

/* New frame with refs = 1 and len bytes of room (filled by the caller
 * before it is shared). NULL on out of memory. */
sup_frame *sup_frame_new(size_t len);
sup_frame *sup_frame_ref(sup_frame *f);
void sup_frame_unref(sup_frame *f); /* NULL is a no-op */

typedef struct sup_pub sup_pub;

typedef struct sup_pub_cfg {
    const char *pub_url, *rep_url;
    int sendbuf; /* messages buffered per subscriber */
    int heartbeat_ms;
} sup_pub_cfg;

/* Listens on both sockets and starts the rep and heartbeat threads.
 * NULL and *err (negative code, logged) on failure. */
sup_pub *sup_pub_new(const sup_pub_cfg *cfg, int *err);
/* Closes the sockets, joins the threads, drops the frames. NULL: no-op. */
void sup_pub_free(sup_pub *p);

/* Makes f (an 'S' frame) current and publishes it. Takes a reference of
 * its own; the caller keeps its own. */
void sup_pub_set_snapshot(sup_pub *p, int64_t campaigns_version, int64_t state_version,
                          int64_t exchanges_version, sup_frame *f);
/* Makes f (a 'C' frame: tag, u64 LE version, checkpoint bytes) current
 * and publishes it. Takes a reference of its own. */
void sup_pub_set_model(sup_pub *p, int64_t model_version, sup_frame *f);
/* Publishes a frequency-cap frame ('F', beat_fcap.h) as is: never kept,
 * never answered on rep (the next ones follow within a second). */
void sup_pub_fcap(sup_pub *p, const void *data, size_t len);
/* Makes f (an 'U' frame, beat_seglist.h) current and publishes it; the
 * heartbeat names segments_version from now on. Takes a reference. */
void sup_pub_set_segments(sup_pub *p, int64_t segments_version, sup_frame *f);
/* Subscribers currently connected to the pub socket. */
int sup_pub_peers(sup_pub *p);
/* Sends a heartbeat now (the thread also sends one every heartbeat_ms). */
void sup_pub_heartbeat(sup_pub *p);

#endif
