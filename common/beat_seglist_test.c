/* Unit tests for beat_seglist.c: the upload parser (ids, lines, bounds),
 * membership, and the 'U' frame round trip with every corruption refused. */
#include "beat_seglist.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "beat_test.h"

#define SEED 0x1234abcdULL

static int t_parse(void) {
    const char body[] = "u1\r\nu2\n\nu1\nifa-0000-1111\n";
    uint64_t *h = NULL;
    uint32_t n = 0;
    beat_reason why = {{0}};
    CHECK_EQ_INT(beat_seglist_parse(body, strlen(body), SEED, 10, &h, &n, &why), 0);
    CHECK_EQ_INT(n, 3); /* u1 twice, empty line skipped */
    for (uint32_t i = 1; i < n; i++) CHECK(h[i - 1] < h[i]);
    beat_seglist l = {.id = "x", .n = n, .h = h};
    CHECK(beat_seglist_has(&l, beat_seglist_hash(SEED, "u1", 2)));
    CHECK(beat_seglist_has(&l, beat_seglist_hash(SEED, "u2", 2)));
    CHECK(beat_seglist_has(&l, beat_seglist_hash(SEED, "ifa-0000-1111", 13)));
    CHECK(!beat_seglist_has(&l, beat_seglist_hash(SEED, "u3", 2)));
    CHECK(!beat_seglist_has(&l, beat_seglist_hash(SEED + 1, "u1", 2))); /* keyed */
    free(h);
    /* no trailing newline, and an empty body is an empty list */
    CHECK_EQ_INT(beat_seglist_parse("a\nb", 3, SEED, 10, &h, &n, &why), 0);
    CHECK_EQ_INT(n, 2);
    free(h);
    CHECK_EQ_INT(beat_seglist_parse("", 0, SEED, 10, &h, &n, &why), 0);
    CHECK_EQ_INT(n, 0);
    free(h);
    /* bad ids name their line */
    CHECK_EQ_INT(beat_seglist_parse("a\nb c\n", 6, SEED, 10, &h, &n, &why), -EINVAL);
    CHECK_REASON(why, "line 2: byte 2");
    CHECK_EQ_INT(beat_seglist_parse("a\n\x01\n", 4, SEED, 10, &h, &n, &why), -EINVAL);
    CHECK_REASON(why, "line 2");
    char longid[200];
    memset(longid, 'x', sizeof longid);
    CHECK_EQ_INT(beat_seglist_parse(longid, sizeof longid, SEED, 10, &h, &n, &why), -EINVAL);
    CHECK_REASON(why, "line 1: id longer than 128");
    CHECK_EQ_INT(beat_seglist_parse("a\nb\nc\n", 6, SEED, 2, &h, &n, &why), -EMSGSIZE);
    CHECK_REASON(why, "more than 2 ids");
    return 0;
}

static int make_frame(beat_buf *b) {
    static uint64_t h1[] = {1, 5, 9}, h2[] = {7};
    beat_seglist l[2] = {{.id = "alpha", .version = 3, .n = 3, .h = h1},
                         {.id = "beta", .version = 4, .n = 1, .h = h2}};
    beat_seglists s = {.version = 4, .seed = SEED, .n = 2, .l = l};
    return beat_seglists_encode(&s, b);
}

static int t_frame_round_trip(void) {
    beat_buf b;
    beat_buf_init(&b, 1 << 20);
    CHECK_EQ_INT(make_frame(&b), 0);
    CHECK_EQ_INT(b.data[0], 'U');
    beat_seglists d;
    beat_reason why = {{0}};
    CHECK_EQ_INT(beat_seglists_decode(b.data, b.len, &d, &why), 0);
    CHECK_EQ_INT(d.version, 4);
    CHECK(d.seed == SEED);
    CHECK_EQ_INT(d.n, 2);
    const beat_seglist *a = beat_seglists_find(&d, "alpha");
    CHECK(a && a->n == 3 && a->version == 3 && beat_seglist_has(a, 5) && !beat_seglist_has(a, 6));
    CHECK(beat_seglists_find(&d, "beta") && !beat_seglists_find(&d, "gamma"));
    beat_buf b2;
    beat_buf_init(&b2, 1 << 20);
    CHECK_EQ_INT(beat_seglists_encode(&d, &b2), 0);
    CHECK(b2.len == b.len && memcmp(b.data, b2.data, b.len) == 0);
    beat_seglists_fini(&d);
    /* an empty set */
    beat_seglists e = {.version = 7, .seed = 1};
    beat_buf_reset(&b2);
    CHECK_EQ_INT(beat_seglists_encode(&e, &b2), 0);
    CHECK_EQ_INT(beat_seglists_decode(b2.data, b2.len, &d, &why), 0);
    CHECK_EQ_INT(d.n, 0);
    CHECK_EQ_INT(d.version, 7);
    beat_seglists_fini(&d);
    /* the encoder refuses what the decoder would */
    uint64_t bad[] = {5, 5};
    beat_seglist l = {.id = "x", .n = 2, .h = bad};
    beat_seglists s = {.version = 1, .n = 1, .l = &l};
    CHECK_EQ_INT(beat_seglists_encode(&s, &b2), -EINVAL);
    beat_buf_fini(&b);
    beat_buf_fini(&b2);
    return 0;
}

static int t_frame_corrupt(void) {
    beat_buf b;
    beat_buf_init(&b, 1 << 20);
    CHECK_EQ_INT(make_frame(&b), 0);
    uint8_t *f = malloc(b.len + 8);
    beat_seglists d;
    beat_reason why = {{0}};
    /* every truncation is refused */
    for (size_t n = 0; n < b.len; n++)
        CHECK_EQ_INT(beat_seglists_decode(b.data, n, &d, &why), -EBADMSG);
    /* trailing bytes */
    memcpy(f, b.data, b.len);
    f[b.len] = 0;
    CHECK_EQ_INT(beat_seglists_decode(f, b.len + 1, &d, &why), -EBADMSG);
    CHECK_REASON(why, "trailing");
    /* version byte */
    memcpy(f, b.data, b.len);
    f[1] = 2;
    CHECK_EQ_INT(beat_seglists_decode(f, b.len, &d, &why), -EBADMSG);
    CHECK_REASON(why, "unsupported version");
    /* hashes out of order: alpha's second hash (5) set to 0 */
    size_t h_off = BEAT_SEGLISTS_FRAME_HEAD + 1 + 5 + 12;
    memcpy(f, b.data, b.len);
    beat_put_le64(f + h_off + 8, 0);
    CHECK_EQ_INT(beat_seglists_decode(f, b.len, &d, &why), -EBADMSG);
    CHECK_REASON(why, "segments[0]: hashes not strictly ascending");
    /* a bad list id */
    memcpy(f, b.data, b.len);
    f[BEAT_SEGLISTS_FRAME_HEAD + 1] = ' ';
    CHECK_EQ_INT(beat_seglists_decode(f, b.len, &d, &why), -EBADMSG);
    CHECK_REASON(why, "bad list id");
    /* a count that claims more than the frame holds */
    memcpy(f, b.data, b.len);
    beat_put_le32(f + h_off - 4, 1000);
    CHECK_EQ_INT(beat_seglists_decode(f, b.len, &d, &why), -EBADMSG);
    /* too many lists */
    memcpy(f, b.data, b.len);
    beat_put_le32(f + 18, BEAT_SEGLISTS_MAX + 1);
    CHECK_EQ_INT(beat_seglists_decode(f, b.len, &d, &why), -EBADMSG);
    CHECK_REASON(why, "too many lists");
    free(f);
    beat_buf_fini(&b);
    return 0;
}

static const beat_test_case cases[] = {
    {"parse", t_parse},
    {"frame_round_trip", t_frame_round_trip},
    {"frame_corrupt", t_frame_corrupt},
    {NULL, NULL},
};

int main(int argc, char **argv) { return beat_test_main("beat_seglist", cases, argc, argv); }
