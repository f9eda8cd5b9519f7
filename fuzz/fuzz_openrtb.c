/* libFuzzer target for inference's bid path: the whole POST /openrtb2/bid
 * handler minus HTTP — inf_req_parse, then (for parsed requests) the auction
 * inf_bidder_run, the response inf_bidder_response and every bid-log event
 * (inf_bidder_event + beat_event_encode) — against a fixed in-memory world
 * built once: the example campaigns plus a targeted, frequency-capped one,
 * one with geography/audience targeting,
 * a state with multipliers, and a tiny (2^10) model with non-zero weights.
 * Invariants checked: a parse error carries a reason; a request whose
 * privacy signals do not allow personal data carries none (ids, segments,
 * precise geo); a response is valid
 * JSON whose id echoes the request, one bid per distinct existing imp, price
 * > 0 and ≥ that imp's floor (or its deal's floor for a deal bid; private
 * auctions only deal bids), mtype one of the imp's formats, a native adm is
 * JSON, and the bid-log event re-decodes. (fuzz_openrtb_diff holds the
 * parser itself to the cJSON reading it replaced.)
 *
 * Why the .c files are #included: the Makefile builds a replayer from
 * fuzz/<name>.c + fuzz/replay.c + libbeat.a only (and fuzz/run.sh compiles
 * fuzz/<name>.c + the common sources), so the inference modules must come in with
 * this translation unit. They are written to coexist in one TU (no clashing
 * static names). Input = the raw request body, so the seeds are plain
 * OpenRTB JSON: fuzz/corpus/openrtb/ (edge cases and regressions) plus the
 * IAB examples the tests use, tests/fixtures/openrtb/ (one copy, not two);
 * a body starting with the gzip magic goes through inf_gunzip first, as a
 * Content-Encoding: gzip request does (bounded at 64 KiB, the --max-body
 * default). A currency table is set so bidfloorcur conversion is reached. */
#include "../inference/arena.c"
#include "../inference/jparse.c"
#include "../inference/openrtb.c"
#include "../inference/openrtb_schema.c"
#include "../inference/privacy.c"
#include "../inference/schain.c"
#include "../inference/bidder.c"
#include "../inference/response.c"
#include "../inference/creative.c"
#include "../inference/gunzip.c"
#include "../inference/notice.c"
#include "../inference/model.c"
#include "../inference/world.c"
#include "../inference/targeting.c"
#include "../inference/xcache.c"
#include "../inference/fcap.c"
#include "../inference/audience.c"

#include <stdio.h>
#include <stdlib.h>
#include "beat_fx.h"
#include "fuzz.h"

#define T0 1700000000000LL
#define SECRET "fuzz-openrtb-secret"

/* The example banner campaigns, a targeted and frequency-capped one, and
 * the video / native / deal campaigns of inference/testdata/campaigns-formats.json. */
static const char CAMPAIGNS[] =
    "{\"v\":1,\"campaigns\":[{\"id\":\"acme-shoes\",\"advertiser\":\"Acme "
    "Shoes\",\"adomain\":[\"acme"
    "-shoes.example\"],\"cat\":[\"IAB18\"],\"flight_s\":3600,\"budget_micros\":50000000,\"base_bid_"
    "cp"
    "m_micros\":1500000,\"max_bid_cpm_micros\":6000000,\"paused\":false,\"targeting\":{"
    "\"countries\":"
    "[],\"device_types\":[],\"os\":[],\"site_cat\":[],\"domains_allow\":[],\"domains_block\":["
    "\"block"
    "ed.example\"],\"bundles_allow\":[],\"bundles_block\":[]},\"creatives\":[{\"crid\":\"acme-"
    "shoes-3"
    "00x250\",\"w\":300,\"h\":250,\"adm\":\"<a href=\\\"${CLICK_URL}\\\"><img "
    "src=\\\"https://cdn.acm"
    "e-shoes.example/300x250.png\\\" width=\\\"300\\\" "
    "height=\\\"250\\\"></a>\",\"landing\":\"https:"
    "//www.acme-shoes.example/"
    "landing?src=beat\"},{\"crid\":\"acme-shoes-728x90\",\"w\":728,\"h\":90,"
    "\"adm\":\"<a href=\\\"${CLICK_URL}\\\"><img "
    "src=\\\"https://cdn.acme-shoes.example/728x90.png\\\""
    " width=\\\"728\\\" "
    "height=\\\"90\\\"></a>\",\"landing\":\"https://www.acme-shoes.example/landing"
    "?src=beat\"}]},{\"id\":\"globex-travel\",\"advertiser\":\"Globex "
    "Travel\",\"adomain\":[\"globex."
    "example\"],\"cat\":[\"IAB20\"],\"flight_s\":3600,\"budget_micros\":50000000,\"base_bid_cpm_"
    "micro"
    "s\":1500000,\"max_bid_cpm_micros\":6000000,\"paused\":false,\"targeting\":{\"countries\":["
    "\"USA\""
    ",\"GBR\",\"DEU\"],\"device_types\":[],\"os\":[],\"site_cat\":[],\"domains_allow\":[],"
    "\"domains_b"
    "lock\":[\"blocked.example\"],\"bundles_allow\":[],\"bundles_block\":[]},\"creatives\":[{"
    "\"crid\""
    ":\"globex-travel-300x250\",\"w\":300,\"h\":250,\"adm\":\"<a href=\\\"${CLICK_URL}\\\"><img "
    "src=\\\""
    "https://cdn.globex.example/300x250.png\\\" width=\\\"300\\\" "
    "height=\\\"250\\\"></a>\",\"landing"
    "\":\"https://www.globex.example/"
    "landing?src=beat\"},{\"crid\":\"globex-travel-320x50\",\"w\":320"
    ",\"h\":50,\"adm\":\"<a href=\\\"${CLICK_URL}\\\"><img "
    "src=\\\"https://cdn.globex.example/320x50."
    "png\\\" width=\\\"320\\\" "
    "height=\\\"50\\\"></a>\",\"landing\":\"https://www.globex.example/land"
    "ing?src=beat\"}]},{\"id\":\"initech-apps\",\"advertiser\":\"Initech "
    "Apps\",\"adomain\":[\"initec"
    "h.example\"],\"cat\":[\"IAB19\"],\"flight_s\":3600,\"budget_micros\":50000000,\"base_bid_cpm_"
    "mic"
    "ros\":1500000,\"max_bid_cpm_micros\":6000000,\"paused\":false,\"targeting\":{\"countries\":[],"
    "\""
    "device_types\":[],\"os\":[],\"site_cat\":[],\"domains_allow\":[],\"domains_block\":[\"blocked."
    "ex"
    "ample\"],\"bundles_allow\":[],\"bundles_block\":[]},\"creatives\":[{\"crid\":\"initech-apps-"
    "320x"
    "50\",\"w\":320,\"h\":50,\"adm\":\"<a href=\\\"${CLICK_URL}\\\"><img "
    "src=\\\"https://cdn.initech."
    "example/320x50.png\\\" width=\\\"320\\\" "
    "height=\\\"50\\\"></a>\",\"landing\":\"https://www.init"
    "ech.example/"
    "landing?src=beat\"},{\"crid\":\"initech-apps-300x250\",\"w\":300,\"h\":250,\"adm\":\""
    "<a href=\\\"${CLICK_URL}\\\"><img src=\\\"https://cdn.initech.example/300x250.png\\\" "
    "width=\\\""
    "300\\\" "
    "height=\\\"250\\\"></a>\",\"landing\":\"https://www.initech.example/landing?src=beat\"}]"
    ",\"freq_cap\":{\"max\":20,\"window_s\":3600}},"
    /* geography and audiences (campaign sets v 4; lists: none held) */
    "{\"id\":\"geo-aud\",\"flight_s\":3600,\"budget_micros\":50000000,"
    "\"base_bid_cpm_micros\":2000000,\"max_bid_cpm_micros\":6000000,\"targeting\":{"
    "\"regions\":[\"USA:NY\"],\"metros\":[\"501\"],\"cities\":[\"Boston\"],\"zips\":[\"94103\"],"
    "\"radius\":[{\"lat\":40.7128,\"lon\":-74.006,\"radius_km\":50}],"
    "\"segments_include\":[{\"provider\":\"dmp\",\"ids\":[\"s1\",\"s2\"]}],"
    "\"segments_exclude\":[{\"provider\":\"dmp\",\"ids\":[\"x\"]}],"
    "\"lists_exclude\":[\"churned\"]},\"creatives\":[{\"crid\":\"geo-300x250\",\"w\":300,"
    "\"h\":250,\"adm\":\"<a href=\\\"${CLICK_URL}\\\">g</a>\"}]},"
    "{\"id\":\"umbrella-news\",\"advertiser\":"
    "\"Umbrell"
    "a "
    "News\",\"adomain\":[\"umbrella.example\"],\"cat\":[\"IAB12\"],\"flight_s\":3600,\"budget_micro"
    "s\":50000000,\"base_bid_cpm_micros\":1500000,\"max_bid_cpm_micros\":6000000,\"paused\":false,"
    "\"t"
    "argeting\":{\"countries\":[],\"device_types\":[],\"os\":[],\"site_cat\":[],\"domains_allow\":["
    "],"
    "\"domains_block\":[\"blocked.example\"],\"bundles_allow\":[],\"bundles_block\":[]},"
    "\"creatives\""
    ":[{\"crid\":\"umbrella-news-728x90\",\"w\":728,\"h\":90,\"adm\":\"<a "
    "href=\\\"${CLICK_URL}\\\"><"
    "img src=\\\"https://cdn.umbrella.example/728x90.png\\\" width=\\\"728\\\" "
    "height=\\\"90\\\"></a>"
    "\",\"landing\":\"https://www.umbrella.example/"
    "landing?src=beat\"},{\"crid\":\"umbrella-news-160x"
    "600\",\"w\":160,\"h\":600,\"adm\":\"<a href=\\\"${CLICK_URL}\\\"><img "
    "src=\\\"https://cdn.umbrel"
    "la.example/160x600.png\\\" width=\\\"160\\\" "
    "height=\\\"600\\\"></a>\",\"landing\":\"https://www"
    ".umbrella.example/"
    "landing?src=beat\"},{\"crid\":\"umbrella-news-300x250\",\"w\":300,\"h\":250,\""
    "adm\":\"<a href=\\\"${CLICK_URL}\\\"><img "
    "src=\\\"https://cdn.umbrella.example/300x250.png\\\" w"
    "idth=\\\"300\\\" "
    "height=\\\"250\\\"></a>\",\"landing\":\"https://www.umbrella.example/landing?sr"
    "c=beat\"}]},{\"id\":\"fuzz-targeted\",\"advertiser\":\"Acme "
    "Shoes\",\"adomain\":[\"acme-shoes.ex"
    "ample\"],\"cat\":[\"IAB18\"],\"flight_s\":3600,\"budget_micros\":50000000,\"base_bid_cpm_"
    "micros\""
    ":1500000,\"max_bid_cpm_micros\":6000000,\"paused\":false,\"targeting\":{\"countries\":["
    "\"USA\",\""
    "GBR\"],\"device_types\":[1,2,4],\"os\":[\"iOS\",\"Android\"],\"site_cat\":[\"IAB3\",\"IAB12\"]"
    ",\""
    "domains_allow\":[\"example.com\"],\"domains_block\":[\"blocked.example\"],\"bundles_allow\":["
    "\"c"
    "om.example.app\"],\"bundles_block\":[]},\"creatives\":[{\"crid\":\"acme-shoes-300x250\",\"w\":"
    "30"
    "0,\"h\":250,\"adm\":\"<a href=\\\"${CLICK_URL}\\\"><img "
    "src=\\\"https://cdn.acme-shoes.example/3"
    "00x250.png\\\" width=\\\"300\\\" "
    "height=\\\"250\\\"></a>\",\"landing\":\"https://www.acme-shoes."
    "example/landing?src=beat\"},{\"crid\":\"acme-shoes-728x90\",\"w\":728,\"h\":90,\"adm\":\"<a "
    "href"
    "=\\\"${CLICK_URL}\\\"><img src=\\\"https://cdn.acme-shoes.example/728x90.png\\\" "
    "width=\\\"728\\\""
    " height=\\\"90\\\"></a>\",\"landing\":\"https://www.acme-shoes.example/"
    "landing?src=beat\"}],\"fr"
    "eq_cap\":{\"max\":2,\"window_s\":60}},{\"id\":\"ortb-banner\",\"advertiser\":\"Ortb-Banner\","
    "\"a"
    "domain\":[\"ortb-banner.example\"],\"cat\":[\"IAB19\"],\"flight_s\":3600,\"budget_micros\":"
    "50000"
    "000,\"base_bid_cpm_micros\":1200000,\"max_bid_cpm_micros\":9000000,\"paused\":false,"
    "\"creatives\""
    ":[{\"crid\":\"ortb-banner-300x250\",\"w\":300,\"h\":250,\"attr\":[1],\"adm\":\"<a "
    "href=\\\"${CLI"
    "CK_URL}\\\"><img src=\\\"https://cdn.ortb-banner.example/300x250.png\\\" width=\\\"300\\\" "
    "heigh"
    "t=\\\"250\\\"></a>\",\"landing\":\"https://www.ortb-banner.example/"
    "landing?src=beat\"},{\"crid\""
    ":\"ortb-banner-728x90\",\"w\":728,\"h\":90,\"adm\":\"<a href=\\\"${CLICK_URL}\\\"><img "
    "src=\\\"h"
    "ttps://cdn.ortb-banner.example/728x90.png\\\"></a>\",\"landing\":\"https://"
    "www.ortb-banner.examp"
    "le/"
    "landing?src=beat\"}],\"bundle\":\"com.ortb.banner\"},{\"id\":\"ortb-video\",\"advertiser\":\""
    "Ortb-Video\",\"adomain\":[\"ortb-video.example\"],\"cat\":[\"IAB2\"],\"flight_s\":3600,"
    "\"budget_"
    "micros\":50000000,\"base_bid_cpm_micros\":2000000,\"max_bid_cpm_micros\":9000000,\"paused\":"
    "fals"
    "e,\"creatives\":[{\"crid\":\"ortb-video-15s\",\"format\":\"video\",\"mimes\":[\"video/"
    "mp4\"],\"d"
    "uration\":15,\"protocols\":[2,3,5,6],\"adm\":\"<VAST version=\\\"3.0\\\"><Ad "
    "id=\\\"v15\\\"><InL"
    "ine><AdSystem>BEAT</AdSystem><AdTitle>15s</"
    "AdTitle><Creatives><Creative><Linear><Duration>00:00:"
    "15</Duration><VideoClicks><ClickThrough><![CDATA[${CLICK_URL}]]></ClickThrough></"
    "VideoClicks><Me"
    "diaFiles><MediaFile delivery=\\\"progressive\\\" type=\\\"video/mp4\\\" width=\\\"640\\\" "
    "height"
    "=\\\"480\\\"><![CDATA[https://cdn.ortb-video.example/15s.mp4]]></MediaFile></MediaFiles></"
    "Linear"
    "></Creative></Creatives></InLine></Ad></VAST>\",\"landing\":\"https://www.ortb-video.example/"
    "lan"
    "ding?src=beat\"},{\"crid\":\"ortb-video-60s\",\"format\":\"video\",\"mimes\":[\"video/"
    "webm\"],\""
    "duration\":60,\"protocols\":[7,8],\"w\":1280,\"h\":720,\"adm\":\"<VAST "
    "version=\\\"4.0\\\"><Ad><"
    "InLine><AdSystem>BEAT</AdSystem></InLine></Ad></VAST>\",\"landing\":\"https://"
    "www.ortb-video.exa"
    "mple/"
    "landing?src=beat\"}]},{\"id\":\"ortb-native\",\"advertiser\":\"Ortb-Native\",\"adomain\":[\""
    "ortb-native.example\"],\"cat\":[\"IAB20\"],\"flight_s\":3600,\"budget_micros\":50000000,"
    "\"base_b"
    "id_cpm_micros\":1000000,\"max_bid_cpm_micros\":9000000,\"paused\":false,\"creatives\":[{"
    "\"crid\""
    ":\"ortb-native-1\",\"format\":\"native\",\"title\":\"Weekend in \\\"Lisbon\\\" from "
    "$199\",\"img"
    "\":{\"url\":\"https://cdn.ortb-native.example/"
    "lisbon.jpg\",\"w\":1200,\"h\":627},\"icon\":{\"url"
    "\":\"https://cdn.ortb-native.example/icon.png\",\"w\":50,\"h\":50},\"sponsored\":\"Ortb "
    "Travel\""
    ",\"desc\":\"Three nights by the river, breakfast included.\",\"cta\":\"Book "
    "now\",\"landing\":\""
    "https://www.ortb-native.example/"
    "landing?src=beat\"}]},{\"id\":\"ortb-deal\",\"advertiser\":\"Ort"
    "b-Deal\",\"adomain\":[\"ortb-deal.example\"],\"cat\":[\"IAB22\"],\"flight_s\":3600,\"budget_"
    "micr"
    "os\":50000000,\"base_bid_cpm_micros\":1100000,\"max_bid_cpm_micros\":9000000,\"paused\":false,"
    "\""
    "seat\":\"Agency1\",\"deals\":[\"AB-Agency1-0001\",\"deal-x\"],\"targeting\":{\"domains_"
    "allow\":["
    "\"foobar.com\"]},\"creatives\":[{\"crid\":\"ortb-deal-300x250\",\"w\":300,\"h\":250,\"adm\":"
    "\"<a"
    " href=\\\"${CLICK_URL}\\\"><img "
    "src=\\\"https://cdn.ortb-deal.example/300x250.png\\\"></a>\",\"l"
    "anding\":\"https://www.ortb-deal.example/landing?src=beat\"}]}]}";

static struct {
    bool ready, verbose;
    inf_world *world;
    inf_bidder *bidder;
    inf_gunzip *gz;
    inf_xcache *xc;
    inf_req req;
    inf_result res;
    beat_event ev;
    beat_buf resp, scratch, evbuf;
} F;

static inf_model *fuzz_model(void) {
    enum { BITS = 10, DIM = 1 << BITS };
    static float w[DIM + 1];
    beat_ckpt ck;
    memset(&ck, 0, sizeof ck);
    snprintf(ck.h.kind, sizeof ck.h.kind, "logreg");
    snprintf(ck.h.trainer, sizeof ck.h.trainer, "fuzz");
    ck.h.hash_bits = BITS;
    ck.h.hash_seed = BEAT_HASH_SEED_DEFAULT;
    ck.h.dim = DIM;
    ck.h.n_weights = DIM + 1;
    ck.h.avg_ctr = 0.01;
    ck.h.ts_ms = T0;
    for (int i = 0; i <= DIM; i++) /* deterministic, varied, bounded weights */
        w[i] = (float)((int)((i * 2654435761u) >> 24) - 128) / 64.0f;
    ck.w = w;
    beat_buf b;
    beat_buf_init(&b, 1 << 20);
    inf_model *m = NULL;
    beat_reason why = {{0}};
    if (beat_ckpt_frame_encode(&ck, 1, &b) != 0 ||
        inf_model_decode(b.data, b.len, 1 << 20, &m, &why) != 0)
        fprintf(stderr, "fuzz_openrtb: model: %s\n", why.msg);
    beat_buf_fini(&b);
    return m;
}

static inf_snap *fuzz_snap(void) {
    beat_campaign_set cs;
    beat_reason why = {{0}};
    if (beat_campaigns_decode(CAMPAIGNS, sizeof CAMPAIGNS - 1, T0, BEAT_CAMPAIGNS_STRICT, &cs,
                              &why) != 0) {
        fprintf(stderr, "fuzz_openrtb: campaigns: %s\n", why.msg);
        return NULL;
    }
    cs.version = 1;
    beat_state st;
    memset(&st, 0, sizeof st);
    snprintf(st.actuator, sizeof st.actuator, "fuzz");
    st.ts_ms = T0;
    st.version = 1;
    st.c = calloc((size_t)cs.n, sizeof *st.c);
    for (int i = 0; st.c && i < cs.n; i++) {
        beat_state_campaign *sc = &st.c[st.n++];
        snprintf(sc->id, sizeof sc->id, "%s", cs.c[i].id);
        sc->multiplier = 0.5 + i;
        /* half of them shade first-price bids: fuzzed floors, deals and
         * values reach the shading law, and the checks below hold it to
         * the floors */
        sc->has_curve = i % 2 == 0;
        for (int k = 0; sc->has_curve && k < BEAT_LAND_N; k++)
            sc->win_curve[k] = k < 4 ? 0.0f : k > 14 ? 1.0f : (float)(k - 4) / 11;
    }
    return inf_snap_new(&cs, &st, true);
}

static void fuzz_init(void) {
    inf_model *m = fuzz_model();
    inf_snap *s = fuzz_snap();
    F.world = m && s ? inf_world_build(m, s) : NULL;
    inf_model_unref(m);
    inf_snap_unref(s);
    inf_bidder_cfg cfg = {.receiver_url = "http://127.0.0.1:8081",
                          .secret = SECRET,
                          .secret_len = sizeof SECRET - 1,
                          .node = "fuzz",
                          .max_state_age_ms = 3600000,
                          .freq_slots_log2 = 10};
    F.bidder = inf_bidder_new(&cfg);
    F.gz = inf_gunzip_new(65536);
    F.xc = inf_xcache_new();
    beat_reason rwhy = {{0}};
    FUZZ_CHECK(inf_openrtb_rates_set("EUR=1.08,GBP=1.27,JPY=0.0067", &rwhy) == 0);
    /* a vendor id, so consenting TCF strings in the corpus reach the
     * personal path too */
    FUZZ_CHECK(inf_privacy_config(755, "1,3,4", &rwhy) == 0);
    beat_buf_init(&F.resp, 1024 * 1024);
    beat_buf_init(&F.scratch, 64 * 1024);
    beat_buf_init(&F.evbuf, 16 * 1024);
    FUZZ_CHECK(F.world && F.bidder && F.gz && F.world->n == 10);
    F.verbose = getenv("FUZZ_OPENRTB_VERBOSE") != NULL;
    F.ready = true;
}

static bool has_imp(const inf_req *r, const char *id) {
    for (int k = 0; k < r->n_imp; k++)
        if (strcmp(r->imp[k].id, id) == 0) return true;
    return false;
}

/* The response against the request it answers: every seatbid's bids
 * together are F.res's, in order; prices reach the imp floor (open) or the
 * deal floor (dealid); mtype is a format we have; a native adm is JSON. */
static void check_response(const inf_req *r) {
    cJSON *resp = cJSON_ParseWithLength(F.resp.data, F.resp.len);
    FUZZ_CHECK(resp != NULL);
    const cJSON *id = cJSON_GetObjectItemCaseSensitive(resp, "id");
    FUZZ_CHECK(cJSON_IsString(id) && strcmp(id->valuestring, r->id) == 0);
    /* prices are in the bid currency the request allowed (docs/contracts.md
     * "Currencies"), each the USD price converted down */
    const cJSON *cur = cJSON_GetObjectItemCaseSensitive(resp, "cur");
    FUZZ_CHECK(cJSON_IsString(cur) && r->cur_ok && strcmp(cur->valuestring, r->bid_cur) == 0);
    const cJSON *sb, *b;
    int total = 0;
    cJSON_ArrayForEach(sb, cJSON_GetObjectItemCaseSensitive(resp, "seatbid")) {
        FUZZ_CHECK(cJSON_IsString(cJSON_GetObjectItemCaseSensitive(sb, "seat")));
        cJSON_ArrayForEach(b, cJSON_GetObjectItemCaseSensitive(sb, "bid")) {
            const cJSON *impid = cJSON_GetObjectItemCaseSensitive(b, "impid");
            const cJSON *price = cJSON_GetObjectItemCaseSensitive(b, "price");
            const cJSON *mtype = cJSON_GetObjectItemCaseSensitive(b, "mtype");
            const cJSON *adm = cJSON_GetObjectItemCaseSensitive(b, "adm");
            FUZZ_CHECK(cJSON_IsString(impid) && cJSON_IsNumber(price) && cJSON_IsString(adm));
            FUZZ_CHECK(has_imp(r, impid->valuestring));
            const inf_bid *ib = NULL;
            for (int k = 0; k < F.res.n; k++)
                if (strcmp(r->imp[F.res.bids[k].imp].id, impid->valuestring) == 0)
                    ib = &F.res.bids[k];
            FUZZ_CHECK(ib != NULL);
            const inf_imp *im = &r->imp[ib->imp];
            int64_t floor =
                ib->deal >= 0 ? im->deals[ib->deal].floor_cpm_micros : im->floor_cpm_micros;
            FUZZ_CHECK(ib->price_cpm_micros > 0 && ib->price_cpm_micros >= floor);
            /* shading only ever lowers a bid, and only in first price */
            FUZZ_CHECK(ib->price_cpm_micros <= ib->value_cpm_micros);
            FUZZ_CHECK(r->at == 1 || ib->price_cpm_micros == ib->value_cpm_micros);
            FUZZ_CHECK(ib->deal >= 0 || !im->private_auction);
            int64_t in_cur = 0;
            FUZZ_CHECK(
                beat_fx_from_usd(inf_openrtb_fx(), r->bid_cur, ib->price_cpm_micros, &in_cur) == 0);
            FUZZ_CHECK(in_cur > 0 && llround(price->valuedouble * 1e6) == in_cur);
            FUZZ_CHECK(cJSON_IsNumber(mtype) && (im->formats & (unsigned)mtype->valueint));
            if (mtype->valueint == 4) {
                cJSON *n = cJSON_Parse(adm->valuestring);
                FUZZ_CHECK(n != NULL);
                cJSON_Delete(n);
            }
            total++;
        }
    }
    FUZZ_CHECK(total == F.res.n);
    for (int k = 0; k < F.res.n; k++)
        for (int j = 0; j < k; j++) FUZZ_CHECK(F.res.bids[j].imp != F.res.bids[k].imp);
    cJSON_Delete(resp);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (!F.ready) fuzz_init();
    if (size > 256 * 1024) return 0; /* --max-body caps real requests lower */
    const char *body = (const char *)data;
    if (size >= 2 && data[0] == 0x1f && data[1] == 0x8b) {
        int zr = inf_gunzip_run(F.gz, data, size, &body, &size);
        FUZZ_CHECK(zr == 0 || zr == -EMSGSIZE || zr == -EBADMSG);
        if (zr < 0) return 0;
        FUZZ_CHECK(size <= 65536);
    }
    beat_reason why = {{0}};
    int rc = inf_req_parse(body, size, &F.req, &why);
    if (rc < 0) {
        FUZZ_CHECK(rc == -EBADMSG && why.msg[0]);
        inf_req_fini(&F.req); /* safe after a failure too */
        return 0;
    }
    FUZZ_CHECK(F.req.id && F.req.n_imp > 0 && F.req.n_imp <= INF_IMP_MAX);
    if (!F.req.personal_ok)
        FUZZ_CHECK(!F.req.user_id && !F.req.buyeruid && !F.req.ifa && !F.req.cap_key &&
                   F.req.n_segments == 0 && !F.req.has_geo);
    FUZZ_CHECK(F.req.n_segments <= INF_SEGMENTS_MAX && F.req.n_schain <= INF_SCHAIN_MAX);
    /* now inside the flight; the low input bits move it across freq windows */
    int64_t now = T0 + 1000 + (int64_t)(size % 7) * 60000;
    inf_bidder_run(F.bidder, F.world, &F.req, now, F.xc, &F.res);
    FUZZ_CHECK(F.res.n >= 0 && F.res.n <= F.req.n_imp);
    FUZZ_CHECK(F.res.n > 0 || (F.res.reason > INF_NB_NONE && F.res.reason < INF_NB_N));
    if (F.res.n > 0) {
        beat_buf_reset(&F.resp);
        rc = inf_bidder_response(F.bidder, F.world, &F.req, &F.res, &F.resp, &F.scratch);
        FUZZ_CHECK(rc == 0 || rc == -EMSGSIZE || rc == -ENOMEM);
        if (rc == 0) {
            check_response(&F.req);
            for (int k = 0; k < F.res.n; k++) {
                inf_bidder_event(F.bidder, F.world, &F.req, &F.res, k, &F.ev);
                beat_buf_reset(&F.evbuf);
                FUZZ_CHECK(beat_event_encode(&F.ev, &F.evbuf) == 0);
                beat_event back;
                beat_reason ew = {{0}};
                if (beat_event_decode(F.evbuf.data, F.evbuf.len, &back, &ew) != 0) {
                    fprintf(stderr, "fuzz_openrtb: event: %s\n%.*s\n", ew.msg, (int)F.evbuf.len,
                            F.evbuf.data);
                    abort();
                }
            }
        }
    }
    if (F.verbose) /* FUZZ_OPENRTB_VERBOSE=1: outcome per input, for seeds */
        fprintf(stderr, "fuzz_openrtb: id=%s bids=%d reason=%s\n", F.req.id, F.res.n,
                F.res.n ? "-" : inf_nobid_name(F.res.reason));
    inf_req_fini(&F.req);
    return 0;
}
