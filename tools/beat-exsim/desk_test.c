/* The trading-desk grading on hand-made wins: spend split by the local day
 * of each campaign's zone (engine time of the auction), the most
 * impressions per (user, cap window) and the pairs over the cap, and wins
 * outside a campaign's audiences (segments, first-party lists) counted
 * as off target; a bounded user population; a list file read as the
 * supervisor's upload format. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "beat_test.h"
#include "desk.h"
#include "exsim.h"

#define DAY0 1767225600000LL /* 2026-01-01 00:00 UTC */
#define H 3600000LL

static int load(exs_camps *cs) {
    char path[] = "/tmp/exsim-desk-XXXXXX";
    int fd = mkstemp(path);
    if (fd < 0) return -errno;
    FILE *f = fdopen(fd, "w");
    fprintf(f,
            "{\"campaigns\":["
            "{\"id\":\"cap\",\"start_ms\":0,\"end_ms\":9000000000000,\"tz\":\"+02:00\","
            "\"freq_cap\":{\"max\":2,\"window_s\":86400}},"
            "{\"id\":\"crm\",\"start_ms\":0,\"end_ms\":9000000000000,"
            "\"targeting\":{\"lists_include\":[\"crm-1\"]}},"
            "{\"id\":\"seg\",\"start_ms\":0,\"end_ms\":9000000000000,"
            "\"targeting\":{\"segments_exclude\":[{\"provider\":\"%s\",\"ids\":[\"%s\"]}]}}]}",
            exs_seg_provider(0), exs_seg_id(0));
    fclose(f);
    char err[128];
    int rc = exs_camps_load(path, cs, err, sizeof err);
    unlink(path);
    if (rc < 0) return rc;
    char list_path[] = "/tmp/exsim-desk-list-XXXXXX";
    fd = mkstemp(list_path);
    if (fd < 0) return -errno;
    f = fdopen(fd, "w");
    fprintf(f, "u1\nu3\r\nnot-ours\nu99999999999\n");
    fclose(f);
    char spec[128];
    snprintf(spec, sizeof spec, "crm-1=%s", list_path);
    rc = exs_camps_list_load(cs, spec, err, sizeof err);
    unlink(list_path);
    return rc;
}

static exs_req user(int u) {
    exs_req r;
    memset(&r, 0, sizeof r);
    r.user = u;
    r.deal = r.bcat_extra = r.badv = -1;
    return r; /* no GDPR: personal data may be used */
}

static int t_days_and_freq(void) {
    exs_camps cs;
    CHECK_EQ_INT(load(&cs), 0);
    exs_desk *d = exs_desk_new(&cs, 8);
    CHECK(d);
    exs_req a = user(7), b = user(8);
    /* local midnight of +02:00 is 22:00 UTC */
    exs_desk_win(d, 0, &a, DAY0 + 21 * H, 1000000);
    exs_desk_win(d, 0, &a, DAY0 + 21 * H + 1, 1000000);
    exs_desk_win(d, 0, &a, DAY0 + 22 * H - 1, 1000000); /* third in the window: over */
    exs_desk_win(d, 0, &a, DAY0 + 22 * H, 3000000);     /* the next local day, but */
    exs_desk_win(d, 0, &b, DAY0 + 23 * H, 3000000);     /* the cap's window is UTC */
    exs_desk_win(d, 0, &a, DAY0 + 24 * H, 3000000);     /* a new cap window */
    exs_desk_freq_res fr;
    exs_desk_freq(d, 0, &fr);
    CHECK_EQ_INT(fr.max, 2);
    CHECK_EQ_INT(fr.window_s, 86400);
    CHECK_EQ_INT(fr.pairs, 3);
    CHECK_EQ_INT(fr.most, 4);
    CHECK_EQ_INT(fr.over_pairs, 1);
    beat_buf out;
    beat_buf_init(&out, 1 << 16);
    CHECK_EQ_INT(exs_desk_json(d, &out), 0);
    CHECK(strstr(out.data, "\"tz\":\"+02:00\""));
    CHECK(strstr(out.data, "{\"date\":\"2026-01-01\",\"start_ms\":1767218400000,\"imps\":3,"
                           "\"spend_micros\":3000}"));
    CHECK(strstr(out.data, "{\"date\":\"2026-01-02\",\"start_ms\":1767304800000,\"imps\":3,"
                           "\"spend_micros\":9000}"));
    CHECK(strstr(out.data, "\"freq\":{\"max\":2,\"window_s\":86400,\"pairs\":3,\"most\":4,"
                           "\"over_pairs\":1}"));
    beat_buf_fini(&out);
    exs_desk_free(d);
    exs_camps_fini(&cs);
    return 0;
}

static int t_off_target(void) {
    exs_camps cs;
    CHECK_EQ_INT(load(&cs), 0);
    exs_desk *d = exs_desk_new(&cs, 8);
    CHECK(d);
    exs_req on = user(3), off = user(2), seg = user(5);
    seg.segs = 1; /* segment 0: excluded by "seg" */
    CHECK(exs_camp_on_target(&cs, 1, &on));
    CHECK(!exs_camp_on_target(&cs, 1, &off));
    CHECK(exs_camp_on_target(&cs, 2, &on));
    CHECK(!exs_camp_on_target(&cs, 2, &seg));
    CHECK(exs_camp_on_target(&cs, 0, &seg)); /* no targeting: everyone */
    exs_desk_win(d, 1, &on, DAY0, 1000);
    exs_desk_win(d, 1, &off, DAY0, 1000);
    exs_desk_win(d, 2, &seg, DAY0, 1000);
    exs_desk_win(d, 2, &on, DAY0, 1000);
    CHECK_EQ_INT(exs_desk_off_target(d, 0), 0);
    CHECK_EQ_INT(exs_desk_off_target(d, 1), 1);
    CHECK_EQ_INT(exs_desk_off_target(d, 2), 1);
    exs_desk_free(d);
    exs_camps_fini(&cs);
    return 0;
}

/* A full frequency table drops pairs and says how many. */
static int t_bounded(void) {
    exs_camps cs;
    CHECK_EQ_INT(load(&cs), 0);
    exs_desk *d = exs_desk_new(&cs, 4); /* 16 slots, 12 used at most */
    CHECK(d);
    for (int u = 0; u < 20; u++) {
        exs_req r = user(u);
        exs_desk_win(d, 0, &r, DAY0, 1000);
    }
    exs_desk_freq_res fr;
    exs_desk_freq(d, 0, &fr);
    CHECK_EQ_INT(fr.pairs, 12);
    beat_buf out;
    beat_buf_init(&out, 1 << 16);
    CHECK_EQ_INT(exs_desk_json(d, &out), 0);
    CHECK(strstr(out.data, "\"freq_dropped\":8}"));
    beat_buf_fini(&out);
    exs_desk_free(d);
    exs_camps_fini(&cs);
    return 0;
}

/* --users bounds the population the traffic's users come from; 0 keeps
 * the standard population. */
static int t_users(void) {
    exs_world w;
    exs_world_init(&w, 3, 1.0, 0.5);
    int most = 0;
    for (uint64_t s = 0; s < 2000; s++) {
        exs_req r;
        exs_req_gen(&w, s, &r);
        if (r.user > most) most = r.user;
    }
    CHECK(most >= 4000 && most < EXS_USERS);
    w.users = 50;
    bool seen[50] = {0};
    int n = 0;
    for (uint64_t s = 0; s < 2000; s++) {
        exs_req r;
        exs_req_gen(&w, s, &r);
        CHECK(r.user >= 0 && r.user < 50);
        if (!seen[r.user]) n++;
        seen[r.user] = true;
    }
    CHECK_EQ_INT(n, 50);
    return 0;
}

int main(int argc, char **argv) {
    static const beat_test_case tests[] = {
        {"days_and_freq", t_days_and_freq},
        {"off_target", t_off_target},
        {"bounded", t_bounded},
        {"users", t_users},
        {0},
    };
    return beat_test_main("exsim_desk", tests, argc, argv);
}
