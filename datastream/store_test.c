/* The partition stores on real SQLite files in a temporary directory: a
 * notice counted before a close (a restart, another owner) is a duplicate
 * after the reopen and never reaches the aggregates again; the debit marker
 * keeps a bill from debiting after its win was counted elsewhere; offsets
 * and the retention clock persist; retention deletes only keys older than
 * the retention; a full store keeps storing; a corrupt, foreign or
 * unwritable file is refused with a reason and its partition is not
 * consumed until the file is usable; a failed batch applies nothing.
 * Also prints the store's throughput and bytes per key (asserts neither). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "beat_log.h"
#include "beat_test.h"
#include "ledger.h"
#include "store.h"
#include "store_testlib.h"
#include "stream.h"

#define T0 1000000000000LL
/* The stream's clock (clk) moves on by 10 ms at each step. */
static int64_t NOW(void) { return clk += 10; }

static dst_stream *mk_stream(void) { return test_stream(1000); }
static dst_store *mk_store(int64_t max_keys) { return test_store(max_keys, 0); }

/* A message of one event; the JSON lives in a static ring of buffers. */
static dst_store_msg msg(const char *type, const char *auction, int64_t price, int64_t nts,
                         int64_t offset) {
    static char buf[64][256];
    static int k;
    char *b = buf[k++ % 64];
    snprintf(b, 256,
             "{\"v\":1,\"type\":\"%s\",\"auction\":\"%s\",\"imp\":\"1\","
             "\"campaign\":\"c1\",\"price\":%lld,\"bid\":3000000,\"nts\":%lld,"
             "\"ts\":%lld}",
             type, auction, (long long)price, (long long)nts, (long long)nts + 5);
    return (dst_store_msg){b, strlen(b), offset};
}

static int test_ledger_reopen_offsets_retention(void) {
    fresh_dir("store");
    dst_ledger *l = NULL;
    beat_reason why = {{0}};
    CHECK_EQ_INT(dst_ledger_open(dir, TOPIC, 3, true, &l, &why), 0);
    CHECK_EQ_INT(dst_ledger_next_offset(l), -1);
    CHECK_EQ_INT(dst_ledger_keys(l), 0);
    int64_t k1 = dst_ledger_key("A1", "1", BEAT_EV_BILL);
    int64_t k2 = dst_ledger_key("A1", "1", BEAT_EV_WIN);
    CHECK(k1 >= 0 && k2 >= 0 && k1 != k2);
    CHECK(dst_ledger_key("A1", "1", BEAT_EV_BILL) == k1); /* stable */
    CHECK(dst_ledger_key("A1", "2", BEAT_EV_BILL) != k1);
    CHECK(dst_ledger_key("A11", "", BEAT_EV_BILL) != dst_ledger_key("A1", "1", BEAT_EV_BILL));
    CHECK_EQ_INT(dst_ledger_begin(l, &why), 0);
    CHECK_EQ_INT(dst_ledger_add(l, k1, T0), 1);
    CHECK_EQ_INT(dst_ledger_add(l, k1, T0), 0); /* same batch: duplicate */
    CHECK_EQ_INT(dst_ledger_add(l, k2, T0 + 600000), 1);
    CHECK_EQ_INT(dst_ledger_commit(l, 42, T0 + 700000, &why), 0);
    /* a rolled-back batch leaves nothing behind */
    int64_t k3 = dst_ledger_key("A3", "1", BEAT_EV_IMP);
    CHECK_EQ_INT(dst_ledger_begin(l, &why), 0);
    CHECK_EQ_INT(dst_ledger_add(l, k3, T0), 1);
    dst_ledger_rollback(l);
    dst_ledger_close(l);

    l = NULL;
    CHECK_EQ_INT(dst_ledger_open(dir, TOPIC, 3, true, &l, &why), 0);
    CHECK_EQ_INT(dst_ledger_next_offset(l), 42);
    CHECK_EQ_INT(dst_ledger_clock_ms(l), T0 + 700000);
    CHECK_EQ_INT(dst_ledger_keys(l), 2);
    CHECK_EQ_INT(dst_ledger_begin(l, &why), 0);
    CHECK_EQ_INT(dst_ledger_add(l, k1, T0), 0); /* across the reopen */
    CHECK_EQ_INT(dst_ledger_add(l, k3, T0), 1); /* the rolled-back one is new */
    CHECK_EQ_INT(dst_ledger_commit(l, 50, T0 + 700000, &why), 0);
    /* Retention: only keys with nts < cutoff go, in batches of max. */
    CHECK_EQ_INT(dst_ledger_expire(l, T0, 10, &why), 0);     /* none older */
    CHECK_EQ_INT(dst_ledger_expire(l, T0 + 1, 1, &why), 1);  /* k1 or k3 */
    CHECK_EQ_INT(dst_ledger_expire(l, T0 + 1, 10, &why), 1); /* the other */
    CHECK_EQ_INT(dst_ledger_keys(l), 1);
    CHECK_EQ_INT(dst_ledger_begin(l, &why), 0);
    CHECK_EQ_INT(dst_ledger_add(l, k2, T0 + 600000), 0); /* newer: still there */
    CHECK_EQ_INT(dst_ledger_add(l, k1, T0), 1);          /* expired: forgotten */
    CHECK_EQ_INT(dst_ledger_commit(l, 51, T0 + 700000, &why), 0);
    dst_ledger_close(l);
    rm_dir();
    return 0;
}

static int test_ledger_refuses_bad_files(void) {
    fresh_dir("store");
    dst_ledger *l = NULL;
    beat_reason why = {{0}};
    char path[400];
    /* corrupt: not a database */
    snprintf(path, sizeof path, "%s/%s-0.db", dir, TOPIC);
    FILE *f = fopen(path, "w");
    CHECK(f != NULL);
    for (int i = 0; i < 512; i++) fputs("garbage!", f);
    fclose(f);
    CHECK_EQ_INT(dst_ledger_open(dir, TOPIC, 0, true, &l, &why), -EBADMSG);
    CHECK_REASON(why, "not a database");
    CHECK(l == NULL);
    /* foreign: the ledger of partition 1 renamed to partition 2's name */
    CHECK_EQ_INT(dst_ledger_open(dir, TOPIC, 1, true, &l, &why), 0);
    dst_ledger_close(l);
    l = NULL;
    char p1[400], p2[400];
    snprintf(p1, sizeof p1, "%s/%s-1.db", dir, TOPIC);
    snprintf(p2, sizeof p2, "%s/%s-2.db", dir, TOPIC);
    CHECK_EQ_INT(rename(p1, p2), 0);
    why.msg[0] = 0;
    CHECK_EQ_INT(dst_ledger_open(dir, TOPIC, 2, true, &l, &why), -EBADMSG);
    CHECK_REASON(why, "another topic or partition");
    /* and of another topic */
    why.msg[0] = 0;
    CHECK_EQ_INT(dst_ledger_open(dir, "other", 2, true, &l, &why), 0); /* new file */
    dst_ledger_close(l);
    l = NULL;
    snprintf(p1, sizeof p1, "%s/other-2.db", dir);
    snprintf(p2, sizeof p2, "%s/%s-4.db", dir, TOPIC);
    CHECK_EQ_INT(rename(p1, p2), 0);
    CHECK_EQ_INT(dst_ledger_open(dir, TOPIC, 4, true, &l, &why), -EBADMSG);
    /* unwritable: the file's name is taken by a directory (root ignores
     * permission bits, so this is how a test makes a path unusable) */
    snprintf(path, sizeof path, "%s/%s-5.db", dir, TOPIC);
    CHECK_EQ_INT(mkdir(path, 0755), 0);
    why.msg[0] = 0;
    CHECK(dst_ledger_open(dir, TOPIC, 5, true, &l, &why) < 0);
    CHECK_REASON(why, "-5.db");
    CHECK(l == NULL);
    rm_dir();
    return 0;
}

/* A restart: the same bill again after the store was closed and reopened
 * (as a restarted or new owner does) is a duplicate; the win's debit
 * marker keeps the bill of the same auction from debiting again. */
static int test_store_duplicate_across_restart(void) {
    fresh_dir("store");
    dst_stream *s = mk_stream();
    dst_store *st = mk_store(1000000);
    int32_t parts[] = {0, 1};
    int64_t start[2];
    dst_store_assign(st, parts, 2, start, NOW());
    CHECK_EQ_INT(start[0], DST_STORE_FROM_START);
    CHECK_EQ_INT(start[1], DST_STORE_FROM_START);
    dst_store_msg b1[] = {msg("bill", "A1", 2000000, T0, 0),
                          msg("win", "A2", 3000000, T0, 1),
                          msg("bill", "A1", 2000000, T0, 2), /* same batch: dup */
                          {"not json", 8, 3}};
    CHECK_EQ_INT(dst_store_ingest(st, s, 0, b1, 4, NOW()), 0);
    dst_totals t = tot(s, "c1");
    CHECK_EQ_INT(t.spend_micros, 5000);
    CHECK_EQ_INT(t.wins, 2);
    const dst_stream_stats *ss = dst_stream_stats_get(s);
    CHECK_EQ_INT(ss->durable_duplicates, 1);
    CHECK_EQ_INT(ss->invalid, 1);
    dst_store_info in;
    dst_store_info_get(st, &in);
    CHECK_EQ_INT(in.keys, 6); /* 2 notices + 2 debit + 2 release markers */
    CHECK(in.assigned_once && in.open == 2 && in.refused == 0 && !in.full);
    dst_store_free(st); /* kill: no revoke */
    dst_stream_free(s);

    /* the restarted process: a new stream, the same files */
    s = mk_stream();
    st = mk_store(1000000);
    dst_store_assign(st, parts, 2, start, NOW());
    CHECK_EQ_INT(start[0], 4); /* the next offset after the batch */
    CHECK_EQ_INT(start[1], DST_STORE_FROM_START);
    dst_store_msg b2[] = {msg("bill", "A1", 2000000, T0, 4), /* replayed bill */
                          msg("bill", "A2", 3000000, T0, 5), /* A2's win counted before */
                          msg("imp", "A2", 0, T0, 6), msg("bill", "A9", 1000000, T0, 7)};
    CHECK_EQ_INT(dst_store_ingest(st, s, 0, b2, 4, NOW()), 0);
    t = tot(s, "c1");
    CHECK_EQ_INT(t.spend_micros, 1000); /* only A9 */
    CHECK_EQ_INT(t.wins, 2);            /* A2 (no spend) and A9 */
    CHECK_EQ_INT(t.imps, 1);
    ss = dst_stream_stats_get(s);
    CHECK_EQ_INT(ss->durable_duplicates, 1);
    CHECK_EQ_INT(ss->debited_before, 1);
    /* a revoke closes the file; the next owner resumes after offset 7 */
    dst_store_revoke(st, parts, 2);
    dst_store_info_get(st, &in);
    CHECK_EQ_INT(in.open, 0);
    CHECK_EQ_INT(dst_store_ingest(st, s, 0, b2, 1, NOW()), -ENOENT);
    dst_store_assign(st, parts, 1, start, NOW());
    CHECK_EQ_INT(start[0], 8);
    teardown(st, s);
    return 0;
}

/* The spend ledger (docs/contracts.md "Spend ledger") of partition pn as
 * GET /v1/ledger serves it; -1 seq when the partition is not held. */
static beat_ledger_row ledger_of(dst_store *st, int32_t pn, const char *camp, int64_t *seq) {
    beat_ledger l;
    beat_ledger_row r;
    memset(&r, 0, sizeof r);
    *seq = -1;
    if (dst_store_ledger(st, &l) != 0) return r;
    for (int i = 0; i < l.n; i++) {
        if (l.parts[i].p != pn) continue;
        *seq = l.parts[i].seq;
        for (int k = 0; k < l.parts[i].n; k++)
            if (strcmp(l.parts[i].rows[k].id, camp) == 0) r = l.parts[i].rows[k];
    }
    beat_ledger_fini(&l);
    return r;
}

/* Spend and released bid totals move once per (auction, imp), in the
 * batch's transaction: across duplicates, a restart, and a loss that
 * follows a win; seq counts committed batches and survives the restart. */
/* The mark of a batch's last message is kept with its offset and survives
 * a reopen; a batch without one, or an old file, has none (its offset is
 * then trusted as before). */
static int test_store_mark(void) {
    fresh_dir("store");
    dst_stream *s = mk_stream();
    dst_store *st = mk_store(1000000);
    assign_one(st, 0, NOW());
    dst_ledger_mark m;
    dst_store_mark(st, 0, &m);
    CHECK_EQ_INT(m.offset, -1);
    dst_store_msg b[] = {msg("win", "M1", 1000000, T0, 0), msg("imp", "M1", 0, T0, 1)};
    dst_ledger_mark last = {1, T0 + 7, 0xfeedfacecafebeefULL};
    CHECK_EQ_INT(dst_store_ingest_marked(st, s, 0, b, 2, NOW(), &last), 0);
    dst_store_mark(st, 0, &m);
    CHECK_EQ_INT(m.offset, 1);
    CHECK_EQ_INT(m.ts_ms, T0 + 7);
    CHECK(m.hash == 0xfeedfacecafebeefULL);
    dst_store_free(st); /* a restart: the mark comes back with the offset */
    st = mk_store(1000000);
    CHECK_EQ_INT(assign_one(st, 0, NOW()), 2);
    dst_store_mark(st, 0, &m);
    CHECK_EQ_INT(m.offset, 1);
    CHECK(m.hash == 0xfeedfacecafebeefULL);
    /* a mark that is not the batch's last message is not kept */
    dst_store_msg b2[] = {msg("click", "M1", 0, T0, 2)};
    dst_ledger_mark wrong = {7, 1, 1};
    CHECK_EQ_INT(dst_store_ingest_marked(st, s, 0, b2, 1, NOW(), &wrong), 0);
    dst_store_mark(st, 0, &m);
    CHECK_EQ_INT(m.offset, -1);
    dst_store_mark(st, 5, &m); /* not open */
    CHECK_EQ_INT(m.offset, -1);
    teardown(st, s);
    return 0;
}

static int test_store_ledger_totals(void) {
    fresh_dir("store");
    dst_stream *s = mk_stream();
    dst_store *st = mk_store(1000000);
    int32_t parts[] = {0};
    int64_t start[1], seq;
    dst_store_assign(st, parts, 1, start, NOW());
    beat_ledger_row r = ledger_of(st, 0, "c1", &seq);
    CHECK(seq == 0 && r.spend_cpm == 0);
    /* every bid here was 3e6 CPM micros (msg's "bid") */
    dst_store_msg b1[] = {msg("bill", "A1", 2000000, T0, 0), msg("win", "A2", 3000000, T0, 1),
                          msg("loss", "A3", 0, T0, 2), msg("bill", "A1", 2000000, T0, 3),
                          msg("win", "A4", 0, T0, 4) /* unpriced: settles nothing */};
    CHECK_EQ_INT(dst_store_ingest(st, s, 0, b1, 5, NOW()), 0);
    r = ledger_of(st, 0, "c1", &seq);
    CHECK_EQ_INT(seq, 1);
    CHECK_EQ_INT(r.spend_cpm, 5000000);
    CHECK_EQ_INT(r.released_cpm, 9000000);
    dst_store_free(st);
    dst_stream_free(s);
    s = mk_stream();
    st = mk_store(1000000);
    dst_store_assign(st, parts, 1, start, NOW());
    r = ledger_of(st, 0, "c1", &seq);
    CHECK(seq == 1 && r.spend_cpm == 5000000 && r.released_cpm == 9000000);
    dst_store_msg b2[] = {msg("bill", "A1", 2000000, T0, 5), msg("bill", "A2", 3000000, T0, 6),
                          msg("loss", "A2", 0, T0, 7), msg("loss", "A5", 0, T0, 8),
                          msg("bill", "A4", 1000000, T0, 9)};
    CHECK_EQ_INT(dst_store_ingest(st, s, 0, b2, 5, NOW()), 0);
    r = ledger_of(st, 0, "c1", &seq);
    CHECK_EQ_INT(seq, 2);
    CHECK_EQ_INT(r.spend_cpm, 6000000);     /* + A4's bill */
    CHECK_EQ_INT(r.released_cpm, 15000000); /* + A5's loss and A4's bill */
    dst_store_revoke(st, parts, 1);
    ledger_of(st, 0, "c1", &seq);
    CHECK_EQ_INT(seq, -1); /* not held: not served */
    teardown(st, s);
    return 0;
}

/* Retention through the store: keys older than the retention as seen by
 * the partition's event clock go, newer ones stay. */
static int test_store_retention(void) {
    fresh_dir("store");
    dst_stream *s = mk_stream();
    dst_store_cfg c = {
        .dir = dir, .topic = TOPIC, .retention_ms = 60000, .max_keys = 1000000, .expire_batch = 3};
    dst_store *st = dst_store_new(&c);
    assign_one(st, 0, clk);
    int64_t t = clk; /* events in the test's own time line around t */
    dst_store_msg b[12];
    char a[16];
    for (int i = 0; i < 10; i++) { /* old: nts T0 */
        snprintf(a, sizeof a, "old%d", i);
        b[i] = msg("imp", a, 0, t - 90000, i);
    }
    b[10] = msg("imp", "new0", 0, t, 10); /* the partition's clock: t */
    b[11] = msg("imp", "new1", 0, t, 11);
    CHECK_EQ_INT(dst_store_ingest(st, s, 0, b, 12, NOW()), 0);
    int32_t rp[4];
    int64_t rs[4];
    int64_t deadline = beat_mono_ms() + 5000;
    dst_store_info in;
    do {
        dst_store_maintain(st, NOW(), rp, rs, 4);
        dst_store_info_get(st, &in);
    } while (in.keys > 2 && beat_mono_ms() < deadline);
    CHECK_EQ_INT(in.keys, 2);
    /* the old ones are forgotten (new again), the new ones are not */
    dst_store_msg again[] = {msg("imp", "old3", 0, t - 90000, 12), msg("imp", "new1", 0, t, 13)};
    CHECK_EQ_INT(dst_store_ingest(st, s, 0, again, 2, NOW()), 0);
    const dst_stream_stats *ss = dst_stream_stats_get(s);
    CHECK_EQ_INT(ss->durable_duplicates, 1);
    teardown(st, s);
    return 0;
}

static int test_store_full_keeps_storing(void) {
    fresh_dir("store");
    dst_stream *s = mk_stream();
    dst_store *st = mk_store(1000); /* the smallest bound the flag allows */
    int32_t p = 2;
    assign_one(st, p, NOW());
    dst_store_msg b[64];
    char a[32];
    int off = 0;
    for (int round = 0; round < 20; round++) { /* 1280 imps */
        for (int i = 0; i < 64; i++, off++) {
            snprintf(a, sizeof a, "F%d", off);
            b[i] = msg("imp", a, 0, T0, off);
        }
        CHECK_EQ_INT(dst_store_ingest(st, s, p, b, 64, NOW()), 0);
    }
    dst_store_info in;
    dst_store_info_get(st, &in);
    CHECK(in.full);
    CHECK_EQ_INT(in.keys, 1280); /* nothing forgotten to make room */
    CHECK(in.fill_ratio >= 1.28 && in.fill_ratio < 1.29);
    /* the first key is still a duplicate */
    dst_store_msg d = msg("imp", "F0", 0, T0, off);
    CHECK_EQ_INT(dst_store_ingest(st, s, p, &d, 1, NOW()), 0);
    CHECK_EQ_INT(dst_stream_stats_get(s)->durable_duplicates, 1);
    CHECK_EQ_INT(tot(s, "c1").imps, 1280);
    teardown(st, s);
    return 0;
}

/* A corrupt file: the partition is refused at assignment (not consumed),
 * retried, and consumed from the log's start once the file is usable. A
 * batch that fails to commit applies nothing. */
static int test_store_refused_then_recovered(void) {
    fresh_dir("store");
    char path[400];
    snprintf(path, sizeof path, "%s/%s-1.db", dir, TOPIC);
    FILE *f = fopen(path, "w");
    CHECK(f != NULL);
    for (int i = 0; i < 512; i++) fputs("garbage!", f);
    fclose(f);
    dst_stream *s = mk_stream();
    dst_store *st = mk_store(1000000);
    int32_t parts[] = {0, 1};
    int64_t start[2];
    int64_t t = NOW();
    dst_store_assign(st, parts, 2, start, t);
    CHECK_EQ_INT(start[0], DST_STORE_FROM_START);
    CHECK_EQ_INT(start[1], DST_STORE_REFUSED);
    dst_store_info in;
    dst_store_info_get(st, &in);
    CHECK_EQ_INT(in.refused, 1);
    CHECK_EQ_INT(in.n_listed, 1);
    CHECK_EQ_INT(in.refused_parts[0], 1);
    dst_store_msg b = msg("bill", "R1", 2000000, T0, 0);
    CHECK_EQ_INT(dst_store_ingest(st, s, 1, &b, 1, NOW()), -ENOENT);
    CHECK_EQ_INT(tot(s, "c1").spend_micros, 0);
    int32_t rp[4];
    int64_t rs[4];
    CHECK_EQ_INT(dst_store_maintain(st, t + 10, rp, rs, 4), 0);   /* before retry_ms */
    CHECK_EQ_INT(dst_store_maintain(st, t + 2000, rp, rs, 4), 0); /* still corrupt */
    CHECK_EQ_INT(unlink(path), 0); /* the operator moves the bad file away */
    CHECK_EQ_INT(dst_store_maintain(st, t + 4000, rp, rs, 4), 1);
    clk = t + 4000;
    CHECK_EQ_INT(rp[0], 1);
    CHECK_EQ_INT(rs[0], DST_STORE_FROM_START);
    CHECK_EQ_INT(dst_store_ingest(st, s, 1, &b, 1, NOW()), 0);
    CHECK_EQ_INT(tot(s, "c1").spend_micros, 2000);
    dst_store_info_get(st, &in);
    CHECK_EQ_INT(in.refused, 0);

    /* A batch that cannot commit: another connection holds the write lock
     * past the busy timeout. Nothing of the batch is applied, the
     * partition is refused, and a retry resumes at the stored offset. */
    dst_ledger *other = NULL;
    beat_reason why = {{0}};
    CHECK_EQ_INT(dst_ledger_open(dir, TOPIC, 0, false, &other, &why), 0);
    CHECK_EQ_INT(dst_ledger_begin(other, &why), 0);
    dst_store_msg b0 = msg("bill", "L1", 4000000, T0, 7);
    t = NOW();
    CHECK_EQ_INT(dst_store_ingest(st, s, 0, &b0, 1, t), -EIO);
    CHECK_EQ_INT(tot(s, "c1").spend_micros, 2000);
    dst_store_info_get(st, &in);
    CHECK_EQ_INT(in.refused, 1);
    dst_ledger_rollback(other);
    dst_ledger_close(other);
    CHECK_EQ_INT(dst_store_maintain(st, t + 2000, rp, rs, 4), 1);
    clk = t + 2000;
    CHECK_EQ_INT(rp[0], 0);
    CHECK_EQ_INT(rs[0], DST_STORE_FROM_START); /* nothing was stored for p0 */
    CHECK_EQ_INT(dst_store_ingest(st, s, 0, &b0, 1, NOW()), 0);
    CHECK_EQ_INT(tot(s, "c1").spend_micros, 6000);
    teardown(st, s);
    return 0;
}

/* Not a check: events/s through the store (bills: a key and a debit
 * marker each) in batches of 500, and file bytes per key. STORE_BENCH_N
 * sets the bills per run (default 100000; the rate falls as the table
 * outgrows the cache: see docs/operations.md "The datastream store"). */
static int test_throughput(void) {
    fresh_dir("store");
    const char *env = getenv("STORE_BENCH_N");
    int N = env ? atoi(env) : 100000;
    if (N < 500) N = 500;
    for (int full = 0; full <= 1; full++) {
        dst_stream *s = mk_stream();
        dst_store_cfg c = {.dir = dir,
                           .topic = TOPIC,
                           .retention_ms = 3900000,
                           .max_keys = 100000000,
                           .sync_full = full};
        dst_store *st = dst_store_new(&c);
        int32_t p = full;
        assign_one(st, p, NOW());
        enum { B = 500 };
        static dst_store_msg b[B];
        static char bufs[B][256];
        int64_t t0 = beat_mono_us();
        int64_t tl = t0;
        uint64_t rng = 88172645463325252ULL;
        for (int off = 0; off + B <= N; off += B) {
            for (int i = 0; i < B; i++) {
                /* notices arrive roughly in nts order: up to 30000 later
                 * than their neighbours (a bill's delay after its win) */
                rng ^= rng << 13;
                rng ^= rng >> 7;
                rng ^= rng << 17;
                long long nts = T0 + off + i - (long long)(rng % 30000);
                snprintf(bufs[i], 256,
                         "{\"v\":1,\"type\":\"bill\",\"auction\":\"T%d-%d\",\"imp\":\"1\","
                         "\"campaign\":\"c1\",\"price\":1000000,\"nts\":%lld,\"ts\":%lld}",
                         full, off + i, nts, nts + 100);
                b[i] = (dst_store_msg){bufs[i], strlen(bufs[i]), off + i};
            }
            CHECK_EQ_INT(dst_store_ingest(st, s, p, b, B, NOW()), 0);
            if ((off + B) % 1000000 == 0 && N > 1000000) { /* the rate as it grows */
                printf("    %d keys: last 1M bills at %.0f events/s\n", 2 * (off + B),
                       1e6 / ((double)(beat_mono_us() - tl) / 1e6));
                fflush(stdout);
                tl = beat_mono_us();
            }
        }
        double secs = (double)(beat_mono_us() - t0) / 1e6;
        dst_store_free(st);
        char path[400];
        snprintf(path, sizeof path, "%s/%s-%d.db", dir, TOPIC, p);
        struct stat sb;
        CHECK_EQ_INT(stat(path, &sb), 0);
        printf("  store throughput (synchronous=%s, batches of %d bills): %.0f events/s; "
               "file %.1f MB for %d keys = %.1f bytes/key\n",
               full ? "FULL" : "NORMAL", B, N / secs, sb.st_size / 1e6, 2 * N,
               (double)sb.st_size / (2.0 * N));
        fflush(stdout);
        CHECK_EQ_INT(tot(s, "c1").spend_micros, (int64_t)(N / B * B) * 1000);
        dst_stream_free(s);
    }
    rm_dir();
    return 0;
}

int main(int argc, char **argv) {
    clk = T0;
    beat_log_init("store_test", getenv("STORE_VERBOSE") ? BEAT_INFO : BEAT_FATAL);
    static const beat_test_case t[] = {
        {"ledger_reopen_offsets_retention", test_ledger_reopen_offsets_retention},
        {"ledger_refuses_bad_files", test_ledger_refuses_bad_files},
        {"store_duplicate_across_restart", test_store_duplicate_across_restart},
        {"store_ledger_totals", test_store_ledger_totals},
        {"store_mark", test_store_mark},
        {"store_retention", test_store_retention},
        {"store_full_keeps_storing", test_store_full_keeps_storing},
        {"store_refused_then_recovered", test_store_refused_then_recovered},
        {"throughput", test_throughput},
        {NULL, NULL},
    };
    return beat_test_main("store", t, argc, argv);
}
