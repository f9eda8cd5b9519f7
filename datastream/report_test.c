/* The hourly report rows on real SQLite files: each event counts once
 * (notices by their keys, wins once per (auction, imp), spend as the spend
 * ledger debits it), across a restart and across a crash in the middle of
 * a batch (a child process killed inside its transaction); rows land in
 * the engine hour of their event; the reader groups, filters and encodes
 * them; retention deletes old hours only; the query parser refuses what it
 * should, with a reason. */
#include <errno.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "beat_log.h"
#include "beat_test.h"
#include "ledger.h"
#include "report_count.h"
#include "report_query.h"
#include "report_read.h"
#include "store.h"
#include "store_testlib.h"
#include "stream.h"

#define H 3600000LL
#define T0 (1790000000000LL - 1790000000000LL % H + 600000) /* 10 min into an hour */

static dst_stream *mk_stream(void) { return test_stream(1000); }
static dst_store *mk_store(void) { return test_store(1000000, 48 * H); }

/* A message: type, auction, price (CPM micros), event ts; campaign c1 on
 * exchange x1 with creative cr1 unless camp is given. */
static dst_store_msg ev(const char *type, const char *auction, int64_t price, int64_t ts,
                        int64_t offset, const char *camp) {
    static char buf[128][320];
    static int k;
    char *b = buf[k++ % 128];
    if (strcmp(type, "opp") == 0)
        snprintf(b, 320,
                 "{\"v\":1,\"type\":\"opp\",\"node\":\"inf-1\",\"campaign\":\"%s\",\"n\":%lld,"
                 "\"ts\":%lld}",
                 camp ? camp : "c1", (long long)price, (long long)ts);
    else
        snprintf(b, 320,
                 "{\"v\":1,\"type\":\"%s\",\"auction\":\"%s\",\"imp\":\"1\",\"campaign\":\"%s\","
                 "\"crid\":\"cr1\",\"exchange\":\"x1\",\"price\":%lld,\"bid\":3000000,"
                 "\"nts\":%lld,\"ts\":%lld,\"node\":\"inf-1\"}",
                 type, auction, camp ? camp : "c1", (long long)price, (long long)(ts - ts % 1000),
                 (long long)ts);
    return (dst_store_msg){b, strlen(b), offset};
}

/* The answer to query as CSV, in buf. */
static int report(const char *query, char *buf, size_t n) {
    dst_rq q;
    beat_reason why = {{0}};
    char full[512];
    snprintf(full, sizeof full, "%s%sformat=csv", query, *query ? "&" : "");
    if (dst_rq_parse(full, NULL, &q, &why) != 0) {
        fprintf(stderr, "  parse %s: %s\n", full, why.msg);
        return -1;
    }
    beat_buf out;
    beat_buf_init(&out, 1 << 20);
    int rc = dst_report_read(dir, TOPIC, "t", &q, &out, &why);
    if (rc) fprintf(stderr, "  read: %s\n", why.msg);
    snprintf(buf, n, "%.*s", (int)out.len, out.data ? out.data : "");
    beat_buf_fini(&out);
    return rc;
}

static const char *HDR = "opportunities,bids,wins,spend_micros,impressions,clicks,conversions,"
                         "conv_value_micros,cpa_micros,ctr,cvr\r\n";

static int test_counted_once_across_restart(void) {
    fresh_dir("report");
    dst_stream *s = mk_stream();
    dst_store *st = mk_store();
    int64_t start = assign_one(st, 0, clk);
    dst_store_msg b1[] = {
        ev("opp", "", 5, T0, 0, NULL),
        ev("bid", "A1", 3000000, T0, 1, NULL),
        ev("bid", "A2", 3000000, T0, 2, NULL),
        ev("win", "A1", 2000000, T0 + 50, 3, NULL),
        ev("bill", "A1", 2000000, T0 + 60, 4, NULL),
        ev("imp", "A1", 0, T0 + 70, 5, NULL),
        ev("click", "A1", 0, T0 + 80, 6, NULL),
        ev("loss", "A2", 0, T0 + 90, 7, NULL),
        ev("win", "A1", 2000000, T0 + 50, 8, NULL), /* a replay: a duplicate */
    };
    CHECK_EQ_INT(dst_store_ingest(st, s, 0, b1, 9, clk), 0);
    char got[4096];
    CHECK_EQ_INT(report("group_by=", got, sizeof got), 0);
    char want[256];
    snprintf(want, sizeof want, "%s5,2,1,2000,1,1,0,0,,1,0\r\n", HDR);
    CHECK_EQ_STR(got, want);
    /* A restart: the notices come again (another owner, a re-read log). */
    dst_store_free(st);
    st = mk_store();
    start = assign_one(st, 0, clk);
    CHECK_EQ_INT(start, 9);
    dst_store_msg b2[] = {ev("bill", "A1", 2000000, T0 + 60, 9, NULL),
                          ev("click", "A1", 0, T0 + 80, 10, NULL),
                          ev("imp", "A2", 0, T0 + 95, 11, NULL)};
    CHECK_EQ_INT(dst_store_ingest(st, s, 0, b2, 3, clk), 0);
    CHECK_EQ_INT(report("group_by=", got, sizeof got), 0);
    snprintf(want, sizeof want, "%s5,2,1,2000,2,1,0,0,,1,0\r\n", HDR);
    CHECK_EQ_STR(got, want);
    /* The rows' spend is the spend ledger's. */
    beat_ledger l;
    CHECK_EQ_INT(dst_store_ledger(st, &l), 0);
    CHECK_EQ_INT(l.n, 1);
    CHECK_EQ_INT(l.parts[0].rows[0].spend_cpm, 2000000);
    beat_ledger_fini(&l);
    /* Grouped by every column: the opp has no exchange or creative. */
    CHECK_EQ_INT(report("group_by=campaign,exchange,creative", got, sizeof got), 0);
    CHECK_EQ_STR(got, "campaign,exchange,creative,opportunities,bids,wins,spend_micros,"
                      "impressions,clicks,conversions,conv_value_micros,cpa_micros,ctr,cvr\r\n"
                      "\"c1\",\"\",\"\",5,0,0,0,0,0,0,0,,,\r\n"
                      "\"c1\",\"x1\",\"cr1\",0,2,1,2000,2,1,0,0,,1,0\r\n");
    teardown(st, s);
    return 0;
}

/* The child records a batch's rows and keys, then dies inside the
 * transaction, as kill -9 would. */
static void crash_mid_batch(void) {
    dst_ledger *l = NULL;
    beat_reason why = {{0}};
    if (dst_ledger_open(dir, TOPIC, 0, false, &l, &why) != 0 || dst_ledger_begin(l, &why) != 0)
        _exit(2);
    beat_event e;
    dst_store_msg m = ev("imp", "A9", 0, T0 + 100, 2, NULL);
    if (beat_event_decode(m.payload, m.len, &e, &why) != 0) _exit(3);
    if (dst_ledger_add(l, dst_ledger_key("A9", "1", BEAT_EV_IMP), e.notice_ts_ms) != 1) _exit(4);
    if (dst_report_count(l, &e, 0, e.notice_ts_ms, clk) != 0) _exit(5);
    raise(SIGKILL);
}

static int test_crash_mid_batch_no_double_count(void) {
    fresh_dir("report");
    dst_stream *s = mk_stream();
    dst_store *st = mk_store();
    int64_t start = assign_one(st, 0, clk);
    dst_store_msg b1[] = {ev("bid", "A9", 3000000, T0, 0, NULL),
                          ev("win", "A9", 1000000, T0 + 10, 1, NULL)};
    CHECK_EQ_INT(dst_store_ingest(st, s, 0, b1, 2, clk), 0);
    dst_store_free(st); /* the process that consumed it goes away */
    pid_t pid = fork();
    if (pid == 0) crash_mid_batch();
    int status = 0;
    CHECK(waitpid(pid, &status, 0) == pid);
    CHECK(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
    char got[1024], want[256];
    CHECK_EQ_INT(report("group_by=", got, sizeof got), 0);
    snprintf(want, sizeof want, "%s0,1,1,1000,0,0,0,0,,0,\r\n", HDR);
    CHECK_EQ_STR(got, want); /* nothing of the dead batch */
    /* The next owner resumes where the store says and reads it again:
     * counted once. */
    st = mk_store();
    start = assign_one(st, 0, clk);
    CHECK_EQ_INT(start, 2);
    dst_store_msg b2[] = {ev("imp", "A9", 0, T0 + 100, 2, NULL)};
    CHECK_EQ_INT(dst_store_ingest(st, s, 0, b2, 1, clk), 0);
    CHECK_EQ_INT(report("group_by=", got, sizeof got), 0);
    snprintf(want, sizeof want, "%s0,1,1,1000,1,0,0,0,,0,\r\n", HDR);
    CHECK_EQ_STR(got, want);
    teardown(st, s);
    return 0;
}

static int test_hours_filters_retention(void) {
    fresh_dir("report");
    dst_stream *s = mk_stream();
    dst_store *st = mk_store();
    int32_t parts[2] = {0, 1};
    int64_t start[2];
    dst_store_assign(st, parts, 2, start, clk);
    /* Two hours, two partitions, two campaigns. */
    dst_store_msg a[] = {ev("bid", "B1", 1, T0, 0, NULL), ev("bid", "B2", 1, T0 + H, 1, "c2")};
    dst_store_msg b[] = {ev("bid", "B3", 1, T0 + 5, 0, NULL), ev("bid", "B4", 1, T0 + H, 1, NULL)};
    CHECK_EQ_INT(dst_store_ingest(st, s, 0, a, 2, clk), 0);
    CHECK_EQ_INT(dst_store_ingest(st, s, 1, b, 2, clk), 0);
    char got[2048], want[512], h0[32], h1[32];
    dst_report_iso(T0 - T0 % H, h0, sizeof h0);
    dst_report_iso(T0 - T0 % H + H, h1, sizeof h1);
    CHECK_EQ_INT(report("group_by=hour,campaign", got, sizeof got), 0);
    snprintf(want, sizeof want,
             "hour,campaign,opportunities,bids,wins,spend_micros,impressions,clicks,"
             "conversions,conv_value_micros,cpa_micros,ctr,cvr\r\n"
             "%s,\"c1\",0,2,0,0,0,0,0,0,,,\r\n%s,\"c1\",0,1,0,0,0,0,0,0,,,\r\n"
             "%s,\"c2\",0,1,0,0,0,0,0,0,,,\r\n",
             h0, h1, h1);
    CHECK_EQ_STR(got, want);
    /* from = the second hour (any time in it), campaign filter */
    char q[128];
    snprintf(q, sizeof q, "group_by=hour&from=%lld&campaign=c1", (long long)(T0 + H + 5));
    CHECK_EQ_INT(report(q, got, sizeof got), 0);
    CHECK(strstr(got, h1) && !strstr(got, h0));
    /* to is exclusive: the first hour only */
    snprintf(q, sizeof q, "group_by=hour&to=%s", h1);
    CHECK_EQ_INT(report(q, got, sizeof got), 0);
    CHECK(strstr(got, h0) && !strstr(got, h1));
    /* Retention (48 h): the first hour goes once it is 48 h old, the
     * second stays. */
    int32_t rp[4];
    int64_t rs[4];
    dst_store_maintain(st, T0 + 49 * H, rp, rs, 4);
    CHECK_EQ_INT(report("group_by=hour", got, sizeof got), 0);
    CHECK(!strstr(got, h0) && strstr(got, h1));
    teardown(st, s);
    return 0;
}

/* Many rows in one batch (the pending table grows and re-indexes), and the
 * store directory's identity: made once, read back the same. */
static int test_many_rows_and_store_id(void) {
    fresh_dir("report");
    dst_stream *s = mk_stream();
    dst_store *st = mk_store();
    assign_one(st, 0, clk);
    enum { N = 700 };
    static dst_store_msg m[N];
    static char json[N][320];
    for (int i = 0; i < N; i++) {
        /* 350 creatives, each bid twice: 350 rows of 2 bids */
        snprintf(json[i], sizeof json[i],
                 "{\"v\":1,\"type\":\"bid\",\"auction\":\"M%d\",\"imp\":\"1\","
                 "\"campaign\":\"c1\",\"crid\":\"cr%d\",\"price\":1,\"ts\":%lld,"
                 "\"node\":\"inf-1\"}",
                 i, i % 350, (long long)T0);
        m[i] = (dst_store_msg){json[i], strlen(json[i]), i};
    }
    CHECK_EQ_INT(dst_store_ingest(st, s, 0, m, N, clk), 0);
    static char got[65536];
    CHECK_EQ_INT(report("group_by=creative", got, sizeof got), 0);
    int lines = 0;
    for (const char *q = got; (q = strstr(q, ",0,2,0,0,0,0,0,0,,,\r\n")); q++) lines++;
    CHECK_EQ_INT(lines, 350);
    CHECK(strstr(got, "\n\"cr349\",0,2,"));
    char id1[33], id2[33];
    CHECK_EQ_INT(dst_report_store_id(dir, id1), 0);
    CHECK_EQ_INT(dst_report_store_id(dir, id2), 0);
    CHECK_EQ_INT((int)strlen(id1), 32);
    CHECK_EQ_STR(id1, id2);
    teardown(st, s);
    return 0;
}

/* Instances starting together on one store directory all get one id: none
 * may read the file while another is still writing it. Many processes race
 * on a fresh directory, in rounds; each writes the id it got to a pipe. */
static int test_store_id_race(void) {
    enum { KIDS = 32, ROUNDS = 40 };
    for (int r = 0; r < ROUNDS; r++) {
        fresh_dir("report");
        int fds[2];
        CHECK_EQ_INT(pipe(fds), 0);
        for (int k = 0; k < KIDS; k++) {
            pid_t pid = fork();
            CHECK(pid >= 0);
            if (pid == 0) {
                char id[33] = {0};
                int rc = dst_report_store_id(dir, id);
                char line[40];
                snprintf(line, sizeof line, "%s\n", rc == 0 ? id : "error");
                _exit(write(fds[1], line, strlen(line)) > 0 ? 0 : 1);
            }
        }
        close(fds[1]);
        for (int k = 0; k < KIDS; k++) {
            int st;
            CHECK(wait(&st) > 0 && WIFEXITED(st) && WEXITSTATUS(st) == 0);
        }
        static char got[KIDS * 40 + 1];
        size_t n = 0;
        ssize_t m;
        while (n < sizeof got - 1 && (m = read(fds[0], got + n, sizeof got - 1 - n)) > 0)
            n += (size_t)m;
        got[n] = 0;
        close(fds[0]);
        CHECK_EQ_INT((int)n, KIDS * 33); /* no "error" line, every id 32 hex */
        for (int k = 1; k < KIDS; k++) CHECK(memcmp(got, got + 33 * k, 33) == 0);
        rm_dir();
    }
    return 0;
}

/* Conversions: once per click, within the click's signed window, in the
 * row of the click's campaign (the hour the receiver took it). */
static int test_conversions(void) {
    fresh_dir("report");
    dst_stream *s = mk_stream();
    dst_store *st = mk_store();
    assign_one(st, 0, clk);
    static char j[4][320];
    const struct {
        const char *auction;
        int64_t ts;
    } c[4] = {{"K1", T0 + 1000},
              {"K1", T0 + 2000}, /* a replay */
              {"K2", T0 + 500},
              {"K3", T0 + 3700000}}; /* K3: after its 3600 s window */
    dst_store_msg m[4];
    for (int i = 0; i < 4; i++) {
        snprintf(j[i], sizeof j[i],
                 "{\"v\":1,\"type\":\"conv\",\"auction\":\"%s\",\"imp\":\"1\","
                 "\"campaign\":\"c1\",\"crid\":\"cr1\",\"exchange\":\"x1\",\"nts\":%lld,"
                 "\"ts\":%lld,\"conv_s\":3600,\"value\":5}",
                 c[i].auction, (long long)T0, (long long)c[i].ts);
        m[i] = (dst_store_msg){j[i], strlen(j[i]), i};
    }
    CHECK_EQ_INT(dst_store_ingest(st, s, 0, m, 4, clk), 0);
    char got[1024], want[256];
    CHECK_EQ_INT(report("group_by=", got, sizeof got), 0);
    snprintf(want, sizeof want, "%s0,0,0,0,0,0,2,10,0,,\r\n", HDR);
    CHECK_EQ_STR(got, want);
    teardown(st, s);
    return 0;
}

/* A partition file made before conv_value existed: the reader reads it as
 * it is (conv_value 0), and the first writer to open it adds the column
 * (ALTER TABLE) without touching its rows; then conversions count their
 * value, and the JSON answer derives CPA (null without conversions). */
static int test_old_schema_migrates(void) {
    fresh_dir("report");
    char path[400];
    snprintf(path, sizeof path, "%s/%s-0.db", dir, TOPIC);
    dst_ledger *l = NULL;
    beat_reason why = {{0}};
    CHECK_EQ_INT(dst_ledger_open(dir, TOPIC, 0, false, &l, &why), 0);
    dst_ledger_close(l);
    sqlite3 *db = NULL;
    CHECK(sqlite3_open(path, &db) == SQLITE_OK);
    CHECK(sqlite3_exec(
              db,
              "DROP TABLE reports;"
              "CREATE TABLE reports(hour_ms INTEGER NOT NULL, campaign TEXT NOT NULL,"
              " exchange TEXT NOT NULL, creative TEXT NOT NULL, opps INTEGER NOT NULL DEFAULT 0,"
              " bids INTEGER NOT NULL DEFAULT 0, wins INTEGER NOT NULL DEFAULT 0,"
              " spend_cpm INTEGER NOT NULL DEFAULT 0, imps INTEGER NOT NULL DEFAULT 0,"
              " clicks INTEGER NOT NULL DEFAULT 0, convs INTEGER NOT NULL DEFAULT 0,"
              " PRIMARY KEY(hour_ms, campaign, exchange, creative)) WITHOUT ROWID;"
              "INSERT INTO reports VALUES(1789995600000, 'c1', 'x1', 'cr1', 0, 4, 2, 6000000,"
              " 2, 1, 1);",
              NULL, NULL, NULL) == SQLITE_OK);
    sqlite3_close(db);
    char got[1024], want[256];
    CHECK_EQ_INT(report("group_by=", got, sizeof got), 0); /* not migrated yet */
    snprintf(want, sizeof want, "%s0,4,2,6000,2,1,1,0,6000,0.5,1\r\n", HDR);
    CHECK_EQ_STR(got, want);
    dst_stream *s = mk_stream();
    dst_store *st = mk_store();
    int64_t start = assign_one(st, 0, clk);
    CHECK(start != DST_STORE_REFUSED);
    static char j[320];
    snprintf(j, sizeof j,
             "{\"v\":1,\"type\":\"conv\",\"auction\":\"Q1\",\"imp\":\"1\","
             "\"campaign\":\"c1\",\"crid\":\"cr1\",\"exchange\":\"x1\",\"nts\":%lld,"
             "\"ts\":%lld,\"conv_s\":3600,\"value\":2500000}",
             (long long)T0, (long long)T0 + 1000);
    dst_store_msg m = {j, strlen(j), 0};
    CHECK_EQ_INT(dst_store_ingest(st, s, 0, &m, 1, clk), 0);
    CHECK_EQ_INT(report("group_by=", got, sizeof got), 0);
    snprintf(want, sizeof want, "%s0,4,2,6000,2,1,2,2500000,3000,0.5,2\r\n", HDR);
    CHECK_EQ_STR(got, want);
    dst_rq q;
    CHECK_EQ_INT(dst_rq_parse("group_by=campaign,hour", NULL, &q, &why), 0);
    beat_buf out;
    beat_buf_init(&out, 1 << 20);
    CHECK_EQ_INT(dst_report_read(dir, TOPIC, "t", &q, &out, &why), 0);
    CHECK(out.len && strstr(out.data, "\"conversions\":1,\"conv_value_micros\":0,"
                                      "\"cpa_micros\":6000,\"ctr\":0.5,\"cvr\":1}"));
    CHECK(strstr(out.data, "\"impressions\":0,\"clicks\":0,\"conversions\":1,"
                           "\"conv_value_micros\":2500000,\"cpa_micros\":0,\"ctr\":null,"
                           "\"cvr\":null}"));
    beat_buf_fini(&out);
    teardown(st, s);
    return 0;
}

/* A bid or opp event produced twice (the receiver's producer retried a
 * message Kafka had taken): an opp summary has a key (node, campaign, ts)
 * and counts once for good; a bid counts once while the join remembers its
 * (auction, imp), as in the aggregates, within a batch and across batches;
 * after a restart (empty join) a late copy counts again, as there. */
static int test_duplicate_bids_and_opps(void) {
    fresh_dir("report");
    dst_stream *s = mk_stream();
    dst_store *st = mk_store();
    assign_one(st, 0, clk);
    dst_store_msg b1[] = {ev("opp", "", 5, T0, 0, NULL), ev("bid", "D1", 3000000, T0, 1, NULL),
                          ev("bid", "D1", 3000000, T0, 2, NULL), ev("opp", "", 5, T0, 3, NULL),
                          ev("bid", "D2", 3000000, T0, 4, NULL)};
    CHECK_EQ_INT(dst_store_ingest(st, s, 0, b1, 5, clk), 0);
    dst_store_msg b2[] = {ev("bid", "D1", 3000000, T0, 5, NULL), ev("opp", "", 5, T0, 6, NULL)};
    CHECK_EQ_INT(dst_store_ingest(st, s, 0, b2, 2, clk), 0);
    char got[1024], want[256];
    CHECK_EQ_INT(report("group_by=", got, sizeof got), 0);
    snprintf(want, sizeof want, "%s5,2,0,0,0,0,0,0,,,\r\n", HDR);
    CHECK_EQ_STR(got, want);
    /* The aggregates agree: 5 opps, 2 bids. */
    dst_stream_tick(s, clk + 5000);
    dst_totals tot = {0};
    dst_buckets_sum(dst_stream_buckets(s), "c1", 0, &tot);
    CHECK_EQ_INT(tot.opps, 5);
    CHECK_EQ_INT(tot.bids, 2);
    /* A restart: the opp is still a duplicate (its key is stored); the
     * join starts empty, so a bid copy this late counts again. */
    dst_store_free(st);
    dst_stream_free(s);
    s = mk_stream();
    st = mk_store();
    assign_one(st, 0, clk);
    dst_store_msg b3[] = {ev("opp", "", 5, T0, 7, NULL), ev("bid", "D2", 3000000, T0, 8, NULL)};
    CHECK_EQ_INT(dst_store_ingest(st, s, 0, b3, 2, clk), 0);
    CHECK_EQ_INT(report("group_by=", got, sizeof got), 0);
    snprintf(want, sizeof want, "%s5,3,0,0,0,0,0,0,,,\r\n", HDR);
    CHECK_EQ_STR(got, want);
    teardown(st, s);
    return 0;
}

static int test_query_parser(void) {
    dst_rq q;
    beat_reason why = {{0}};
    CHECK_EQ_INT(dst_rq_parse(NULL, NULL, &q, &why), 0);
    CHECK_EQ_INT(q.n_group, 4);
    CHECK(!q.csv && q.from_ms == 0 && q.to_ms > DST_RQ_TIME_MAX);
    CHECK_EQ_INT(dst_rq_parse("", "text/csv", &q, &why), 0);
    CHECK(q.csv);
    CHECK_EQ_INT(dst_rq_parse("format=json", "text/csv", &q, &why), 0);
    CHECK(!q.csv);
    CHECK_EQ_INT(dst_rq_parse("from=2026-12-07T13:25:00Z&to=2026-12-08&group_by=creative%2Chour"
                              "&campaign=c-1",
                              NULL, &q, &why),
                 0);
    CHECK_EQ_INT(q.from_ms, 1796648400000LL); /* floored to 13:00 */
    CHECK_EQ_INT(q.to_ms, 1796688000000LL);
    CHECK_EQ_INT(q.n_group, 2);
    CHECK(q.group[0] == DST_RQ_CREATIVE && q.group[1] == DST_RQ_HOUR);
    CHECK_EQ_STR(q.campaign, "c-1");
    CHECK_EQ_INT(dst_rq_parse("from=1796648400000&to=2026-12-07T14%2B00:00", NULL, &q, &why), 0);
    CHECK_EQ_INT(q.to_ms, 1796652000000LL);
    char iso[32];
    dst_report_iso(1796648400000LL, iso, sizeof iso);
    CHECK_EQ_STR(iso, "2026-12-07T13:00:00Z");
    static const struct {
        const char *q, *why;
    } bad[] = {
        {"from=yesterday", "from:"},
        {"from=2026-02-29", "no such date"},
        {"from=2026-12-07T25", "bad hour"},
        {"from=2026-12-07T10:00+02:00", "only UTC"},
        {"from=99999999999999999", "beyond year 9999"},
        {"to=0", "from must be before to"},
        {"from=2026-12-07T13&to=2026-12-07T12", "from must be before to"},
        {"group_by=campaign,campaign", "campaign twice"},
        {"group_by=country", "group_by"},
        {"format=xml", "format"},
        {"limit=3", "unknown parameter"},
        {"from=1&from=2", "given twice"},
        {"campaign=a%0Ab", "control byte"},
        {"campaign=%zz", "%-escape"},
        {"campaign=", "not a campaign id"},
        {"from=%", "%-escape"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        memset(&why, 0, sizeof why);
        if (dst_rq_parse(bad[i].q, NULL, &q, &why) != -EINVAL) {
            fprintf(stderr, "  accepted %s\n", bad[i].q);
            return 1;
        }
        CHECK_REASON(why, bad[i].why);
    }
    return 0;
}

int main(int argc, char **argv) {
    clk = T0 + 2 * H;
    beat_log_init("report_test", getenv("STORE_VERBOSE") ? BEAT_INFO : BEAT_FATAL);
    static const beat_test_case t[] = {
        {"counted_once_across_restart", test_counted_once_across_restart},
        {"crash_mid_batch_no_double_count", test_crash_mid_batch_no_double_count},
        {"hours_filters_retention", test_hours_filters_retention},
        {"many_rows_and_store_id", test_many_rows_and_store_id},
        {"store_id_race", test_store_id_race},
        {"conversions", test_conversions},
        {"old_schema_migrates", test_old_schema_migrates},
        {"duplicate_bids_and_opps", test_duplicate_bids_and_opps},
        {"query_parser", test_query_parser},
        {NULL, NULL},
    };
    return beat_test_main("report", t, argc, argv);
}
