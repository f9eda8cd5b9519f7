/* Fuzz target over the supervisor's write path: the same sup_app calls the
 * HTTP handlers make (PUT campaigns, POST state, POST checkpoint), so every
 * byte goes through decoding, the semantic validation (known campaigns,
 * multiplier bounds, hash parameters) and, when accepted, the SQLite store.
 * The first input byte picks the call. Invariants: a refusal always has a
 * reason and leaves the current version unchanged; an acceptance raises the
 * version by one and what is served back decodes again.
 * The supervisor's modules are compiled in (#include) because the Makefile
 * builds fuzz targets from fuzz/<name>.c + libbeat only. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "beat_features.h"

#include "../supervisor/app.c"
#include "../supervisor/app_read.c"
#include "../supervisor/bank.c"
#include "../supervisor/banker.c"
#include "../supervisor/exchanges.c"
#include "../supervisor/publish.c"
#include "../supervisor/status.c"
#include "../supervisor/store.c"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char CAMPAIGNS[] =
    "{\"v\":1,\"campaigns\":[{\"id\":\"c1\",\"advertiser\":\"A\",\"adomain\":[\"a.example\"],"
    "\"flight_s\":3600,\"budget_micros\":1000000,\"base_bid_cpm_micros\":1000000,"
    "\"max_bid_cpm_micros\":2000000,\"creatives\":[{\"crid\":\"k1\",\"w\":300,\"h\":250,"
    "\"adm\":\"<a href=\\\"${CLICK_URL}\\\">x</a>\",\"landing\":\"https://a.example/\"}]},"
    "{\"id\":\"c2\",\"advertiser\":\"B\",\"flight_s\":60,\"budget_micros\":5,"
    "\"base_bid_cpm_micros\":1,\"max_bid_cpm_micros\":1,\"creatives\":[{\"crid\":\"k2\","
    "\"w\":1,\"h\":1,\"adm\":\"x\"}]}]}";

static sup_app *app;

static void setup(void) {
    char dir[] = "/tmp/beat-fuzz-sup-XXXXXX";
    if (!mkdtemp(dir)) abort();
    char path[128];
    snprintf(path, sizeof path, "%s/sup.db", dir);
    beat_log_init("fuzz_supervisor", BEAT_FATAL);
    sup_store *st = NULL;
    beat_reason why = {{0}};
    if (sup_store_open(path, 3, &st, &why) != 0) abort();
    /* Small limits keep accepted checkpoints cheap to store. */
    sup_cfg cfg = {.max_ckpt_bytes = 1 << 16,
                   .max_json_bytes = 1 << 16,
                   .max_multiplier = 10,
                   .hash_bits = 10,
                   .hash_seed = BEAT_HASH_SEED_DEFAULT};
    app = sup_app_new(&cfg, st, NULL);
    if (!app || sup_app_load(app) != 0) abort();
    int64_t v;
    if (sup_app_put_campaigns(app, CAMPAIGNS, sizeof CAMPAIGNS - 1, &v, &why) != 0) abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (!app) setup();
    if (size < 1) return 0;
    int which = data[0] % 3; /* 0 state, 1 checkpoint, 2 campaigns */
    const char *body = (const char *)data + 1;
    size_t len = size - 1;
    int64_t before = sup_app_version(app, which == 0 ? 1 : which == 1 ? 2 : 0);
    int64_t v = 0;
    beat_reason why = {{0}};
    int rc = which == 0   ? sup_app_post_state(app, body, len, &v, &why)
             : which == 1 ? sup_app_post_checkpoint(app, body, len, &v, &why)
                          : sup_app_put_campaigns(app, body, len, &v, &why);
    int64_t after = sup_app_version(app, which == 0 ? 1 : which == 1 ? 2 : 0);
    if (rc != 0) {
        if (!why.msg[0] || after != before) abort();
        return 0;
    }
    if (after != v || v <= before) abort();
    size_t n = 0;
    const char *served = which == 0   ? sup_app_state_json(app, &n)
                         : which == 2 ? sup_app_campaigns_json(app, &n)
                                      : NULL;
    if (served) {
        beat_state st = {0};
        beat_campaign_set cs = {0};
        int drc = which == 0 ? beat_state_decode(served, n, BEAT_CAMPAIGNS_MAX, &st, &why)
                             : beat_campaigns_decode(served, n, beat_now_ms(), 0, &cs, &why);
        if (drc != 0) abort();
        beat_state_fini(&st);
        beat_campaigns_fini(&cs);
    }
    if (which == 2) { /* put the known set back so states can be accepted again */
        if (sup_app_put_campaigns(app, CAMPAIGNS, sizeof CAMPAIGNS - 1, &v, &why) != 0) abort();
    }
    return 0;
}
