/* The Reports page's merge (reports.h): rows of several datastream answers
 * summed per (campaign, hour) and sorted; spend summed in CPM micros and
 * rounded once; garbage refused with a reason and nothing kept from it. */
#include <string.h>

#include "beat_log.h"
#include "beat_test.h"
#include "reports.h"

static int test_merge_and_refuse(void) {
    sup_reports_acc acc = {0};
    char store[40];
    beat_reason why = {{0}};
    const char *a = "{\"v\":1,\"store\":\"s1\",\"rows\":["
                    "{\"campaign\":\"b\",\"hour_ms\":7200000,\"wins\":2,\"spend_cpm_micros\":1500,"
                    "\"clicks\":1,\"conversions\":2,\"conv_value_micros\":70},"
                    "{\"campaign\":\"a\",\"hour_ms\":3600000,\"impressions\":4}]}";
    const char *b =
        "{\"v\":1,\"store\":\"s2\",\"rows\":["
        "{\"campaign\":\"b\",\"hour_ms\":7200000,\"wins\":3,\"spend_cpm_micros\":1600}]}";
    CHECK_EQ_INT(sup_reports_add(&acc, a, strlen(a), store, sizeof store, &why), 0);
    CHECK_EQ_STR(store, "s1");
    CHECK_EQ_INT(sup_reports_add(&acc, b, strlen(b), store, sizeof store, &why), 0);
    const char *bad[] = {"nope", "{\"rows\":3}", "{\"rows\":[{\"campaign\":1,\"hour_ms\":0}]}",
                         "{\"rows\":[{\"campaign\":\"x\"}]}",
                         "{\"rows\":[{\"campaign\":\"x\",\"hour_ms\":0,\"wins\":1e300}]}"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        sup_reports_acc one = {0};
        memset(&why, 0, sizeof why);
        CHECK(sup_reports_add(&one, bad[i], strlen(bad[i]), store, sizeof store, &why) < 0);
        CHECK(why.msg[0]);
        sup_reports_acc_fini(&one);
    }
    beat_buf out;
    beat_buf_init(&out, 1 << 20);
    CHECK_EQ_INT(sup_reports_encode(&acc, 5, 0, 2, 3, &out), 0);
    CHECK(out.len > 0);
    out.data[out.len - 1] = '\0'; /* the trailing newline */
    CHECK_EQ_STR(out.data,
                 "{\"v\":1,\"fetched_ms\":5,\"from_ms\":0,\"answered\":2,\"asked\":3,"
                 "\"complete\":false,\"rows\":["
                 "{\"campaign\":\"a\",\"hour_ms\":3600000,\"spend_micros\":0,\"opportunities\":0,"
                 "\"bids\":0,\"wins\":0,\"impressions\":4,\"clicks\":0,\"conversions\":0,"
                 "\"conv_value_micros\":0},"
                 "{\"campaign\":\"b\",\"hour_ms\":7200000,\"spend_micros\":3,\"opportunities\":0,"
                 "\"bids\":0,\"wins\":5,\"impressions\":0,\"clicks\":1,\"conversions\":2,"
                 "\"conv_value_micros\":70}]}");
    beat_buf_fini(&out);
    sup_reports_acc_fini(&acc);
    return 0;
}

int main(int argc, char **argv) {
    beat_log_init("reports_test", BEAT_FATAL);
    static const beat_test_case t[] = {
        {"merge_and_refuse", test_merge_and_refuse},
        {NULL, NULL},
    };
    return beat_test_main("sup_reports", t, argc, argv);
}
