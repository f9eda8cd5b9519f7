/* beat-exsim's reader of the engine's X-Beat-Explain answer header
 * (inference --explain, docs/demo.md): the value of its bid before shading
 * and its pCTR per candidate campaign, which the pCTR oracle bids on.
 * Self-contained (no other exsim module) so that a fuzz target can take it. */
#ifndef EXS_EXPLAIN_H
#define EXS_EXPLAIN_H

#include <stddef.h>
#include <stdint.h>

#define EXS_EXPLAIN_MAX 8192 /* longer headers are refused whole */

/* Campaign id [id, id + n) → index, or -1 to skip it. */
typedef int (*exs_explain_find_fn)(void *arg, const char *id, size_t n);

/* Parses "v=<int>;<id>=<pctr>,<id>=<pctr>,…" (spaces around items allowed).
 * pctr[0..nc) gets NaN for every campaign, then the pCTR of each listed one
 * find maps to an index < nc (a pCTR must be finite and in [0, 1]); *value
 * the v= figure. Tolerant but all or nothing: on any malformed part
 * returns -EINVAL and leaves every pctr NaN and *value 0. Else the number
 * of campaigns set. */
int exs_explain_parse(const char *hdr, size_t len, exs_explain_find_fn find, void *arg, float *pctr,
                      int nc, int64_t *value);

#endif
