/* Internal to common/: the wire-specific field helpers shared by the wire
 * codecs (beat_wire.c, beat_wire_agg.c); generic JSON access is in
 * beat_json.h. Daemons never include this header. */
#ifndef BEAT_WIRE_INT_H
#define BEAT_WIRE_INT_H

#include <stdbool.h>
#include <stdint.h>

#include "beat_json.h"
#include "beat_wire.h"

/* Ids are free text (exchanges choose them) up to BEAT_ID_MAX bytes. */
static inline int beat_wire_j_id(const cJSON *v, const char *ctx, const char *name, bool required,
                                 char out[BEAT_ID_MAX + 1], beat_reason *why) {
    return beat_json_text(v, ctx, name, BEAT_ID_MAX, required ? BEAT_JSON_NONEMPTY : 0, out, why);
}

/* key and v, unless v is 0 (the field's absence) */
static inline void beat_wire_put_num(beat_json_enc *e, const char *key, int64_t v) {
    if (!v) return;
    beat_json_put_raw(e, key);
    beat_json_put_i64(e, v);
}

/* An id the encoders may write: not too long, and present when required. */
static inline bool beat_wire_id_ok(const char *s, bool required) {
    return beat_json_len_ok(s, BEAT_ID_MAX, required);
}

#endif
