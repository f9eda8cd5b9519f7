/* beat_kconsumer against an in-process librdkafka mock cluster: group join,
 * both rebalance protocols (EAGER and COOPERATIVE: the user fn sees full vs
 * incremental partition sets), batches, commits (a successor in the group
 * starts after what was committed), a new group starting at the log's
 * start, start offsets chosen by the user fn (explicit, paused), pause and
 * resume at an offset, an out-of-range start resuming at the log's
 * start (counted), and marks telling a replaced log from the one read. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "beat_kafka.h" /* rdkafka.h first: rdkafka_mock.h needs it */
#include <librdkafka/rdkafka_mock.h>
#include "beat_log.h"
#include "beat_test.h"
#include "beat_util.h"

#define TOPIC "t"
#define PARTS 4

typedef struct seen {
    int assigns, revokes, last_n, total, max_revoke_n;
    bool last_revoked;
} seen;

static void on_rb(void *arg, bool revoked, const int32_t *p, int n, int64_t *start) {
    (void)p;
    (void)start;
    seen *s = arg;
    if (revoked) {
        s->revokes++;
        s->total -= n;
        if (n > s->max_revoke_n) s->max_revoke_n = n;
    } else {
        s->assigns++;
        s->total += n;
    }
    s->last_n = n;
    s->last_revoked = revoked;
}

typedef struct env {
    rd_kafka_t *rk;
    rd_kafka_mock_cluster_t *mc;
    const char *boot;
    beat_kproducer *prod;
} env;

static int env_up(env *e) {
    char err[256];
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    beat_kafka_route_logs(conf);
    e->rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof err);
    if (!e->rk) return -1;
    e->mc = rd_kafka_mock_cluster_new(e->rk, 1);
    if (!e->mc) return -1;
    if (rd_kafka_mock_topic_create(e->mc, TOPIC, PARTS, 1)) return -1;
    e->boot = rd_kafka_mock_cluster_bootstraps(e->mc);
    e->prod = beat_kproducer_new(e->boot, TOPIC, 10000, NULL);
    return e->prod ? 0 : -1;
}

static void env_down(env *e) {
    beat_kproducer_free(e->prod, 2000);
    rd_kafka_mock_cluster_destroy(e->mc);
    rd_kafka_destroy(e->rk);
}

static void produce(env *e, const char *prefix, int n) {
    char k[32], v[64];
    for (int i = 0; i < n; i++) {
        snprintf(k, sizeof k, "%s%d", prefix, i);
        snprintf(v, sizeof v, "{\"n\":%d}", i);
        beat_kproducer_send(e->prod, k, strlen(k), v, strlen(v));
    }
}

/* Commits what a poll handed out (the caller's "processed"). */
static void commit_msgs(beat_kconsumer *c, rd_kafka_message_t **m, int n) {
    int32_t p[64];
    int64_t next[64];
    for (int i = 0; i < n && i < 64; i++) {
        p[i] = m[i]->partition;
        next[i] = m[i]->offset + 1;
    }
    beat_kconsumer_commit(c, p, next, n < 64 ? n : 64);
}

/* Polls the consumers in turn until cond or the deadline; counts messages. */
#define POLL_UNTIL(cond, ms, cs, ncs, counts)                                                      \
    do {                                                                                           \
        int64_t dl_ = beat_mono_ms() + (ms);                                                       \
        while (!(cond) && beat_mono_ms() < dl_) {                                                  \
            for (int ci_ = 0; ci_ < (ncs); ci_++) {                                                \
                rd_kafka_message_t *m_[64];                                                        \
                int n_ = beat_kconsumer_poll((cs)[ci_], m_, 64, 50);                               \
                if (n_ > 0) commit_msgs((cs)[ci_], m_, n_);                                        \
                for (int j_ = 0; j_ < n_; j_++) rd_kafka_message_destroy(m_[j_]);                  \
                if (n_ > 0) (counts)[ci_] += n_;                                                   \
            }                                                                                      \
        }                                                                                          \
    } while (0)

/* Group timing of every consumer here: the mock waits session - 1 s
 * before a rejoin, so a short session keeps rebalances quick. */
#define QUICK_GROUP "session.timeout.ms", "3000", "heartbeat.interval.ms", "300"
static const char *const DEF[] = {QUICK_GROUP, NULL};
/* From the log's start: no race with the first produce. */
static const char *const FAST[] = {"auto.offset.reset", "earliest", QUICK_GROUP, NULL};

static int test_eager_and_at_most_once(void) {
    env e;
    CHECK_EQ_INT(env_up(&e), 0);
    seen s1 = {0};
    beat_kconsumer *c[1];
    int got[1] = {0};
    c[0] = beat_kconsumer_new(e.boot, "g1", TOPIC, on_rb, &s1, FAST);
    CHECK(c[0] != NULL);
    produce(&e, "a", 100);
    POLL_UNTIL(got[0] >= 100, 15000, c, 1, got);
    CHECK_EQ_INT(got[0], 100);
    CHECK_EQ_INT(s1.total, PARTS);
    CHECK_EQ_INT(s1.assigns, 1);
    beat_kconsumer_stats st;
    beat_kconsumer_get_stats(c[0], &st);
    CHECK_EQ_INT(st.consumed, 100);
    CHECK_EQ_INT(st.assigned, PARTS);
    CHECK(st.rebalances >= 1);
    CHECK_EQ_INT(st.offset_resets, 0);
    /* Leaving the group revokes everything (EAGER: the full set). */
    beat_kconsumer_free(c[0]);
    CHECK_EQ_INT(s1.revokes, 1);
    CHECK(s1.last_revoked && s1.last_n == PARTS);
    /* A successor starts from the committed offsets: only new messages. */
    produce(&e, "b", 20);
    seen s2 = {0};
    got[0] = 0;
    c[0] = beat_kconsumer_new(e.boot, "g1", TOPIC, on_rb, &s2, FAST);
    POLL_UNTIL(got[0] >= 20, 15000, c, 1, got);
    /* a little longer: nothing old must follow */
    POLL_UNTIL(false, 500, c, 1, got);
    CHECK_EQ_INT(got[0], 20);
    beat_kconsumer_free(c[0]);
    env_down(&e);
    return 0;
}

static int test_cooperative_split(void) {
    env e;
    CHECK_EQ_INT(env_up(&e), 0);
    static const char *const COOP[] = {"auto.offset.reset",
                                       "earliest",
                                       QUICK_GROUP, /* as FAST */
                                       "partition.assignment.strategy",
                                       "cooperative-sticky",
                                       NULL};
    seen s[2] = {{0}, {0}};
    beat_kconsumer *c[2];
    int got[2] = {0, 0};
    c[0] = beat_kconsumer_new(e.boot, "g2", TOPIC, on_rb, &s[0], COOP);
    CHECK(c[0] != NULL);
    POLL_UNTIL(s[0].total == PARTS, 15000, c, 1, got);
    CHECK_EQ_INT(s[0].total, PARTS);
    c[1] = beat_kconsumer_new(e.boot, "g2", TOPIC, on_rb, &s[1], COOP);
    CHECK(c[1] != NULL);
    POLL_UNTIL(s[0].total == 2 && s[1].total == 2, 20000, c, 2, got);
    CHECK_EQ_INT(s[0].total, 2);
    CHECK_EQ_INT(s[1].total, 2);
    /* incremental: c0 gave up only 2 partitions, never all 4 */
    CHECK(s[0].revokes >= 1);
    CHECK_EQ_INT(s[0].max_revoke_n, 2);
    beat_kconsumer_stats st;
    beat_kconsumer_get_stats(c[0], &st);
    CHECK_EQ_INT(st.assigned, 2);
    beat_kconsumer_get_stats(c[1], &st);
    CHECK_EQ_INT(st.assigned, 2);
    produce(&e, "x", 200);
    POLL_UNTIL(got[0] + got[1] >= 200, 15000, c, 2, got);
    CHECK_EQ_INT(got[0] + got[1], 200);
    CHECK(got[0] > 0 && got[1] > 0);
    beat_kconsumer_free(c[1]);
    beat_kconsumer_free(c[0]);
    env_down(&e);
    return 0;
}

/* Like POLL_UNTIL, but records each message's id ("{\"n\":ID}") in seen. */
static void poll_ids(beat_kconsumer **cs, int ncs, int *seen, int max_id, int *total) {
    for (int ci = 0; ci < ncs; ci++) {
        rd_kafka_message_t *m[64];
        int n = beat_kconsumer_poll(cs[ci], m, 64, 20);
        if (n > 0) commit_msgs(cs[ci], m, n);
        for (int j = 0; j < n; j++) {
            int id = -1;
            if (sscanf((const char *)m[j]->payload, "{\"n\":%d}", &id) == 1 && id >= 0 &&
                id < max_id) {
                if (seen[id]++ == 0) (*total)++; /* distinct ids */
            }
            rd_kafka_message_destroy(m[j]);
        }
    }
}

static int test_eager_rebalance_no_dupes(void) {
    /* Events keep flowing while a second member joins: the revoked member
     * commits what it handed out before the partitions move and drops what
     * it fetched but did not hand out, so nothing is handed out twice. */
    env e;
    CHECK_EQ_INT(env_up(&e), 0);
    enum { N = 600 };
    static int seen_ids[N];
    memset(seen_ids, 0, sizeof seen_ids);
    seen s[2] = {{0}, {0}};
    beat_kconsumer *c[2];
    int total = 0, sent = 0;
    c[0] = beat_kconsumer_new(e.boot, "g3", TOPIC, on_rb, &s[0], FAST);
    int64_t dl = beat_mono_ms() + 15000;
    while (s[0].total != PARTS && beat_mono_ms() < dl) poll_ids(c, 1, seen_ids, N, &total);
    CHECK_EQ_INT(s[0].total, PARTS);
    c[1] = beat_kconsumer_new(e.boot, "g3", TOPIC, on_rb, &s[1], FAST);
    char v[32];
    dl = beat_mono_ms() + 20000;
    while ((sent < N || total < N) && beat_mono_ms() < dl) {
        for (int i = 0; i < 5 && sent < N; i++, sent++) {
            snprintf(v, sizeof v, "{\"n\":%d}", sent);
            beat_kproducer_send(e.prod, v, strlen(v), v, strlen(v));
        }
        poll_ids(c, 2, seen_ids, N, &total);
        /* pace the production so it spans the rebalance */
        if (s[1].total == 0) beat_stop_sleep_ms(10);
    }
    CHECK_EQ_INT(s[0].total, 2);
    CHECK_EQ_INT(s[1].total, 2);
    CHECK(s[0].max_revoke_n == PARTS); /* eager: the whole set moved */
    int dups = 0, missing = 0;
    for (int i = 0; i < N; i++) {
        if (seen_ids[i] > 1) dups++;
        if (seen_ids[i] == 0) missing++;
    }
    /* Nothing is lost: what a revoked member fetched but did not hand out
     * is read again by the new owner. Duplicates: zero on a real broker,
     * which accepts the revoke-time commit; the mock refuses commits while
     * the group rebalances (REBALANCE_IN_PROGRESS), so what was handed out
     * between the other member's join and our revoke (≤ one heartbeat
     * interval) comes again. Bound it well below "everything twice". */
    beat_kconsumer_stats st;
    beat_kconsumer_get_stats(c[0], &st);
    printf("  eager rebalance: %d duplicates of %d, commit errors %llu\n", dups, N,
           (unsigned long long)st.errors);
    CHECK_EQ_INT(missing, 0);
    CHECK(dups <= N / 6);
    if (st.errors == 0) CHECK_EQ_INT(dups, 0);
    beat_kconsumer_free(c[1]);
    beat_kconsumer_free(c[0]);
    env_down(&e);
    return 0;
}

/* n messages into one partition, directly (the producer helper picks
 * partitions by key). */
static int produce_to(env *e, int32_t part, const char *prefix, int n) {
    char err[256], v[64];
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    if (rd_kafka_conf_set(conf, "bootstrap.servers", e->boot, err, sizeof err)) return -1;
    rd_kafka_t *p = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof err);
    if (!p) return -1;
    for (int i = 0; i < n; i++) {
        snprintf(v, sizeof v, "{\"%s\":%d}", prefix, i);
        if (rd_kafka_producev(p, RD_KAFKA_V_TOPIC(TOPIC), RD_KAFKA_V_PARTITION(part),
                              RD_KAFKA_V_VALUE(v, strlen(v)),
                              RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_END))
            return -1;
    }
    int rc = rd_kafka_flush(p, 5000) ? -1 : 0;
    rd_kafka_destroy(p);
    return rc;
}

/* Messages per partition and the lowest offset seen. */
typedef struct got_t {
    int n[PARTS];
    int64_t lo[PARTS];
} got_t;

/* Resumes as datastream does: a seek that timed out (-EIO: still paused)
 * is tried again, here until a deadline, polling meanwhile (a loaded
 * machine can take more than the 1 s one attempt waits). */
static void poll_got(beat_kconsumer *c, got_t *g, int ms);
static int resume_retry(beat_kconsumer *c, got_t *g, int32_t part, int64_t off) {
    int rc;
    int64_t dl = beat_mono_ms() + 15000;
    while ((rc = beat_kconsumer_resume(c, part, off)) == -EIO && beat_mono_ms() < dl)
        poll_got(c, g, 100);
    return rc;
}

static void poll_got(beat_kconsumer *c, got_t *g, int ms) {
    int64_t dl = beat_mono_ms() + ms;
    while (beat_mono_ms() < dl) {
        rd_kafka_message_t *m[64];
        int n = beat_kconsumer_poll(c, m, 64, 20);
        for (int j = 0; j < n; j++) {
            int p = m[j]->partition;
            if (p >= 0 && p < PARTS) {
                if (!g->n[p] || m[j]->offset < g->lo[p]) g->lo[p] = m[j]->offset;
                g->n[p]++;
            }
            rd_kafka_message_destroy(m[j]);
        }
    }
}

static int64_t starts[PARTS]; /* what on_start hands the consumer */
static int start_assigns;
static void on_start(void *arg, bool revoked, const int32_t *p, int n, int64_t *start) {
    (void)arg;
    if (revoked) return;
    start_assigns++;
    for (int i = 0; i < n; i++)
        if (p[i] >= 0 && p[i] < PARTS) start[i] = starts[p[i]];
}

static int test_new_group_starts_at_log_start(void) {
    /* Produced before any member exists: a new group reads it all (no
     * auto.offset.reset given: the default). */
    env e;
    CHECK_EQ_INT(env_up(&e), 0);
    produce(&e, "early", 40);
    beat_kproducer_free(e.prod, 5000);
    e.prod = beat_kproducer_new(e.boot, TOPIC, 10000, NULL);
    seen s = {0};
    beat_kconsumer *c[1];
    int got[1] = {0};
    c[0] = beat_kconsumer_new(e.boot, "g-new", TOPIC, on_rb, &s, DEF);
    CHECK(c[0] != NULL);
    POLL_UNTIL(got[0] >= 40, 15000, c, 1, got);
    CHECK_EQ_INT(got[0], 40);
    beat_kconsumer_free(c[0]);
    env_down(&e);
    return 0;
}

static int test_start_offsets_pause_resume(void) {
    env e;
    CHECK_EQ_INT(env_up(&e), 0);
    for (int p = 0; p < PARTS; p++) CHECK_EQ_INT(produce_to(&e, p, "m", 10), 0);
    starts[0] = 5;                       /* explicit: offsets 5..9 */
    starts[1] = BEAT_KC_START_PAUSED;    /* not read until resumed */
    starts[2] = BEAT_KC_START_BEGINNING; /* all 10 */
    starts[3] = 1000;                    /* beyond the log: out of range → start */
    start_assigns = 0;
    beat_kconsumer *c = beat_kconsumer_new(e.boot, "g-start", TOPIC, on_start, NULL, DEF);
    CHECK(c != NULL);
    got_t g;
    memset(&g, 0, sizeof g);
    int64_t dl = beat_mono_ms() + 15000;
    while ((g.n[0] < 5 || g.n[2] < 10 || g.n[3] < 10) && beat_mono_ms() < dl) poll_got(c, &g, 100);
    poll_got(c, &g, 500); /* nothing more may follow */
    CHECK_EQ_INT(start_assigns, 1);
    CHECK_EQ_INT(g.n[0], 5);
    CHECK_EQ_INT(g.lo[0], 5);
    CHECK_EQ_INT(g.n[1], 0);
    CHECK_EQ_INT(g.n[2], 10);
    CHECK_EQ_INT(g.n[3], 10);
    CHECK_EQ_INT(g.lo[3], 0);
    beat_kconsumer_stats st;
    beat_kconsumer_get_stats(c, &st);
    CHECK(st.offset_resets >= 1);
    /* resume the paused partition at offset 3: offsets 3..9 */
    CHECK_EQ_INT(resume_retry(c, &g, 1, 3), 0);
    dl = beat_mono_ms() + 10000;
    while (g.n[1] < 7 && beat_mono_ms() < dl) poll_got(c, &g, 100);
    poll_got(c, &g, 300);
    CHECK_EQ_INT(g.n[1], 7);
    CHECK_EQ_INT(g.lo[1], 3);
    /* pause partition 2: new messages there are not handed out; resume
     * where we left (offset 10) and they come */
    CHECK_EQ_INT(beat_kconsumer_pause(c, 2), 0);
    CHECK_EQ_INT(produce_to(&e, 2, "late", 4), 0);
    poll_got(c, &g, 1000);
    CHECK_EQ_INT(g.n[2], 10);
    CHECK_EQ_INT(resume_retry(c, &g, 2, 10), 0);
    dl = beat_mono_ms() + 10000;
    while (g.n[2] < 14 && beat_mono_ms() < dl) poll_got(c, &g, 100);
    CHECK_EQ_INT(g.n[2], 14);
    CHECK_EQ_INT(beat_kconsumer_pause(c, 99), -ENOENT);
    CHECK_EQ_INT(beat_kconsumer_resume(c, 99, 0), -ENOENT);
    beat_kconsumer_free(c);
    env_down(&e);
    return 0;
}

/* Log identity checks (beat_kconsumer_expect): one consumer reads every
 * partition and keeps the mark of its last message; a second group starts
 * each partition after that mark. The true mark → only what follows it;
 * a mark of another log (other hash, or beyond the log's end) → the log is
 * read again from its start, counted; no mark → the offset is trusted. */
static beat_kconsumer *mark_c;
static beat_kc_mark marks[PARTS];
static void on_mark_start(void *arg, bool revoked, const int32_t *p, int n, int64_t *start) {
    (void)arg;
    if (revoked) return;
    for (int i = 0; i < n; i++) {
        if (p[i] < 0 || p[i] >= PARTS) continue;
        start[i] = starts[p[i]];
        if (marks[p[i]].offset >= 0) beat_kconsumer_expect(mark_c, p[i], &marks[p[i]]);
    }
}

static int test_mark_detects_replaced_log(void) {
    env e;
    CHECK_EQ_INT(env_up(&e), 0);
    for (int p = 0; p < PARTS; p++) CHECK_EQ_INT(produce_to(&e, p, "m", 10), 0);
    /* First reader: every mark at offset 9. */
    beat_kconsumer *c = beat_kconsumer_new(e.boot, "g-mark-1", TOPIC, NULL, NULL, DEF);
    CHECK(c != NULL);
    int have = 0;
    for (int p = 0; p < PARTS; p++) marks[p].offset = -1;
    int64_t dl = beat_mono_ms() + 15000;
    while (have < PARTS * 10 && beat_mono_ms() < dl) {
        rd_kafka_message_t *m[64];
        int n = beat_kconsumer_poll(c, m, 64, 50);
        for (int j = 0; j < n; j++) {
            if (m[j]->offset == 9) beat_kc_mark_of(m[j], &marks[m[j]->partition]);
            have++;
            rd_kafka_message_destroy(m[j]);
        }
    }
    beat_kconsumer_free(c);
    CHECK_EQ_INT(have, PARTS * 10);
    for (int p = 0; p < PARTS; p++) CHECK_EQ_INT(marks[p].offset, 9);
    starts[0] = 10; /* the true mark: nothing again */
    starts[1] = 10; /* another log's message at offset 9 */
    marks[1].hash ^= 1;
    starts[2] = 50; /* a mark beyond this log's end: it was replaced */
    marks[2].offset = 49;
    starts[3] = 10; /* no mark: the offset is trusted */
    marks[3].offset = -1;
    mark_c = beat_kconsumer_new(e.boot, "g-mark-2", TOPIC, on_mark_start, NULL, DEF);
    CHECK(mark_c != NULL);
    got_t g;
    memset(&g, 0, sizeof g);
    dl = beat_mono_ms() + 15000;
    while ((g.n[1] < 10 || g.n[2] < 10) && beat_mono_ms() < dl) poll_got(mark_c, &g, 100);
    for (int p = 0; p < PARTS; p++) CHECK_EQ_INT(produce_to(&e, p, "n", 3), 0);
    dl = beat_mono_ms() + 10000;
    while ((g.n[0] < 3 || g.n[1] < 13 || g.n[2] < 13 || g.n[3] < 3) && beat_mono_ms() < dl)
        poll_got(mark_c, &g, 100);
    poll_got(mark_c, &g, 500); /* nothing more may follow */
    CHECK_EQ_INT(g.n[0], 3);
    CHECK_EQ_INT(g.lo[0], 10);
    CHECK_EQ_INT(g.n[1], 13);
    CHECK_EQ_INT(g.lo[1], 0);
    CHECK_EQ_INT(g.n[2], 13);
    CHECK_EQ_INT(g.lo[2], 0);
    CHECK_EQ_INT(g.n[3], 3);
    CHECK_EQ_INT(g.lo[3], 10);
    beat_kconsumer_stats st;
    beat_kconsumer_get_stats(mark_c, &st);
    CHECK_EQ_INT(st.log_replaced, 2);
    CHECK_EQ_INT(st.log_verified, 1);
    /* Pause and resume partition 0 after its last message with a wrong mark:
     * read again from the start (13 more); with the true one: nothing. */
    CHECK_EQ_INT(beat_kconsumer_pause(mark_c, 0), 0);
    beat_kc_mark bad = {12, 1, 2};
    CHECK_EQ_INT(beat_kconsumer_expect(mark_c, 0, &bad), 0);
    CHECK_EQ_INT(resume_retry(mark_c, &g, 0, 13), 0);
    dl = beat_mono_ms() + 10000;
    while (g.n[0] < 16 && beat_mono_ms() < dl) poll_got(mark_c, &g, 100);
    poll_got(mark_c, &g, 300);
    CHECK_EQ_INT(g.n[0], 16);
    beat_kconsumer_get_stats(mark_c, &st);
    CHECK_EQ_INT(st.log_replaced, 3);
    beat_kconsumer_free(mark_c);
    mark_c = NULL;
    env_down(&e);
    return 0;
}

static int test_bad_args(void) {
    CHECK(beat_kconsumer_new(NULL, "g", "t", NULL, NULL, NULL) == NULL);
    CHECK(beat_kconsumer_new("127.0.0.1:1", "", "t", NULL, NULL, NULL) == NULL);
    static const char *const BAD[] = {"no.such.property", "1", NULL};
    CHECK(beat_kconsumer_new("127.0.0.1:1", "g", "t", NULL, NULL, BAD) == NULL);
    CHECK_EQ_INT(beat_kconsumer_poll(NULL, NULL, 1, 0), -EINVAL);
    beat_kconsumer_free(NULL);
    return 0;
}

int main(int argc, char **argv) {
    beat_log_init("kconsumer_test", getenv("KC_VERBOSE") ? BEAT_INFO : BEAT_WARN);
    static const beat_test_case t[] = {
        {"bad_args", test_bad_args},
        {"eager_and_at_most_once", test_eager_and_at_most_once},
        {"cooperative_split", test_cooperative_split},
        {"eager_rebalance_no_dupes", test_eager_rebalance_no_dupes},
        {"new_group_starts_at_log_start", test_new_group_starts_at_log_start},
        {"start_offsets_pause_resume", test_start_offsets_pause_resume},
        {"mark_detects_replaced_log", test_mark_detects_replaced_log},
        {NULL, NULL},
    };
    return beat_test_main("kconsumer", t, argc, argv);
}
