/* Differential libFuzzer target for the bid path's one-pass request parser
 * (inference/jparse.c + openrtb.c) against the cJSON reading it replaced
 * (fuzz/openrtb_oracle.h): the same bytes through both must give the same
 * accept/refuse, the same 400 reason (error byte included) and, when
 * accepted, the same inf_req field by field (strings by content, doubles
 * bit for bit). Also, on any input, inf_jparse alone (keeping nothing)
 * against cJSON_ParseWithLengthOpts: same verdict, same end or error
 * offset. Input = the raw body; seeds in fuzz/corpus/openrtb_diff/ plus
 * those of fuzz_openrtb and the IAB examples (fuzz/run.sh). */
#include "../inference/arena.c"
#include "../inference/jparse.c"
#include "../inference/openrtb.c"
#include "../inference/openrtb_schema.c"
#include "../inference/privacy.c"
#include "../inference/schain.c"
#include "openrtb_oracle.h"

#include "fuzz.h"

static inf_req got, want;
static bool ready;

static bool same_str(const char *a, const char *b) {
    return (!a && !b) || (a && b && strcmp(a, b) == 0);
}
static bool same_dbl(double a, double b) { return memcmp(&a, &b, sizeof a) == 0; }
static bool same_strs(const char *const *a, const char *const *b, int n) {
    for (int i = 0; i < n; i++)
        if (!same_str(a[i], b[i])) return false;
    return true;
}

#define EQ(f) FUZZ_CHECK(a->f == b->f)
#define EQS(f) FUZZ_CHECK(same_str(a->f, b->f))
#define EQL(v, n) FUZZ_CHECK(a->n == b->n && same_strs(a->v, b->v, a->n))

static void same_imp(const inf_imp *a, const inf_imp *b) {
    EQS(id);
    EQ(skip);
    EQ(formats);
    EQ(n_sizes);
    for (int i = 0; i < a->n_sizes; i++)
        FUZZ_CHECK(a->sizes[i].w == b->sizes[i].w && a->sizes[i].h == b->sizes[i].h);
    EQ(pos);
    EQ(floor_cpm_micros);
    for (int i = 0; i < 5; i++) EQ(battr[i]);
    EQ(video.w);
    EQ(video.h);
    EQ(video.minduration);
    EQ(video.maxduration);
    EQ(video.protocols);
    EQL(video.mimes, video.n_mimes);
    EQ(video.n_rqddurs);
    for (int i = 0; i < a->video.n_rqddurs; i++) EQ(video.rqddurs[i]);
    EQ(native.wrapped);
    EQ(native.n_assets);
    for (int i = 0; i < a->native.n_assets; i++) {
        const inf_asset *x = &a->native.assets[i], *y = &b->native.assets[i];
        FUZZ_CHECK(x->id == y->id && x->required == y->required && x->kind == y->kind &&
                   x->type == y->type && x->len == y->len && x->w == y->w && x->h == y->h &&
                   x->wmin == y->wmin && x->hmin == y->hmin);
    }
    EQ(private_auction);
    EQ(n_deals);
    for (int i = 0; i < a->n_deals; i++) {
        EQS(deals[i].id);
        EQ(deals[i].floor_cpm_micros);
        EQ(deals[i].usable);
        EQL(deals[i].wseat, deals[i].n_wseat);
        EQL(deals[i].wadomain, deals[i].n_wadomain);
    }
}

static void same_req(const inf_req *a, const inf_req *b) {
    EQS(id);
    EQ(tmax_ms);
    EQ(cur_ok);
    EQ(cur_absent);
    FUZZ_CHECK(memcmp(a->bid_cur, b->bid_cur, sizeof a->bid_cur) == 0);
    FUZZ_CHECK(same_dbl(a->bid_usd_per_unit, b->bid_usd_per_unit));
    EQ(at);
    EQ(exch);
    EQ(test);
    EQ(seats_truncated);
    EQL(wseat, n_wseat);
    EQL(bseat, n_bseat);
    EQ(gdpr);
    EQ(coppa);
    EQS(consent);
    EQ(personal_ok);
    EQ(chan);
    EQS(domain);
    EQS(bundle);
    EQS(pub_id);
    EQL(cats, n_cats);
    EQ(devicetype);
    EQS(os);
    EQS(country);
    EQS(user_id);
    EQS(region);
    EQS(metro);
    EQS(city);
    EQS(zip);
    EQS(buyeruid);
    EQS(ifa);
    EQS(cap_key);
    EQS(us_privacy);
    EQS(gpp);
    EQ(cap_kind);
    EQ(gpp_sid);
    EQ(gpp_sid_given);
    EQ(privacy);
    EQ(has_geo);
    FUZZ_CHECK(same_dbl(a->lat, b->lat) && same_dbl(a->lon, b->lon));
    EQL(segments, n_segments);
    FUZZ_CHECK(same_strs(a->seg_provider, b->seg_provider, a->n_segments));
    EQ(schain_complete);
    EQ(schain_truncated);
    EQ(n_schain);
    for (int i = 0; i < a->n_schain; i++) {
        EQS(schain[i].asi);
        EQS(schain[i].sid);
        EQ(schain[i].hp);
    }
    EQ(blocks_truncated);
    EQL(bcat, n_bcat);
    EQL(badv, n_badv);
    EQL(bapp, n_bapp);
    EQ(n_imp);
    EQ(n_imp_total);
    for (int i = 0; i < a->n_imp; i++) same_imp(&a->imp[i], &b->imp[i]);
}

/* The grammar alone, on any bytes: verdict and offsets as cJSON's. */
static void same_grammar(const uint8_t *data, size_t size) {
    static const inf_jschema none = {NULL, 0, false, NULL, 0};
    const char *cend = NULL;
    cJSON *t = cJSON_ParseWithLengthOpts((const char *)data, size, &cend, 0);
    inf_jmem *m = inf_jmem_new();
    FUZZ_CHECK(m != NULL);
    char *text = inf_jmem_alloc(m, size + 1);
    FUZZ_CHECK(text != NULL);
    if (size) memcpy(text, data, size);
    inf_jv *root;
    size_t end;
    int rc = inf_jparse(m, text, size, &none, &root, &end);
    FUZZ_CHECK((rc == 0) == (t != NULL));
    if (size) FUZZ_CHECK(cend && (size_t)(cend - (const char *)data) == end);
    if (t)
        FUZZ_CHECK(root && ((root->type == INF_J_OBJ) == cJSON_IsObject(t)) &&
                   ((root->type == INF_J_ARR) == cJSON_IsArray(t)) &&
                   ((root->type == INF_J_STR) == cJSON_IsString(t)) &&
                   ((root->type == INF_J_NUM) == cJSON_IsNumber(t)));
    if (t && root->type == INF_J_NUM) FUZZ_CHECK(same_dbl(root->d, t->valuedouble));
    if (t && root->type == INF_J_STR) FUZZ_CHECK(strcmp(root->s, t->valuestring) == 0);
    cJSON_Delete(t);
    inf_jmem_free(m);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (!ready) {
        beat_reason w = {{0}};
        FUZZ_CHECK(inf_openrtb_rates_set("EUR=1.08,GBP=1.27,JPY=0.0067", &w) == 0);
        FUZZ_CHECK(inf_privacy_config(755, "1,3,4", &w) == 0);
        ready = true;
    }
    if (size > 256 * 1024) return 0;
    same_grammar(data, size);
    beat_reason wg = {{0}}, ww = {{0}};
    int rg = inf_req_parse((const char *)data, size, &got, &wg);
    int rw = orc_req_parse((const char *)data, size, &want, &ww);
    if (rg != rw || strcmp(wg.msg, ww.msg) != 0) {
        fprintf(stderr, "fuzz_openrtb_diff: new rc=%d \"%s\", cJSON rc=%d \"%s\"\n", rg, wg.msg, rw,
                ww.msg);
        abort();
    }
    if (rg == 0) same_req(&got, &want);
    inf_req_fini(&got);
    orc_req_fini(&want);
    return 0;
}
