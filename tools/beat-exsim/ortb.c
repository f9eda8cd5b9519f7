/* Writes a generated request (traffic.c) as OpenRTB 2.5 or 2.6 JSON the
 * way real exchanges send them: site or app, banner (w/h or format[]),
 * video, native (Native 1.2 request as a string), pmp deals, floors in the
 * publisher's currency, bcat/badv/bapp/battr blocks, consent in the
 * version's place (2.5: ext objects; 2.6: top-level fields). Pure: no I/O. */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "beat_tcf_testlib.h"
#include "exsim.h"

/* Encoded once (exs_consent_init): the string of consenting users (the
 * vendor range-encoded: short), and of the rest. */
static char consent_yes[256], consent_no[256];
static double consent_share;
static int consent_vendor;

void exs_consent_init(double share, int vendor) {
    tl_tcf yes = {.purposes = 0xf,
                  .special = 1,
                  .max_vendor = vendor,
                  .vendors = &vendor,
                  .n_vendors = vendor > 0,
                  .range = true};
    tl_tcf no = {.purposes = 1};
    tl_tcf_encode(&yes, consent_yes);
    tl_tcf_encode(&no, consent_no);
    consent_share = share;
    consent_vendor = vendor;
}

/* A user's consent does not change between requests. */
static const char *consent_of(const exs_req *r) {
    uint64_t h = ((uint64_t)(unsigned)r->user + 1) * 0x9e3779b97f4a7c15ULL;
    return (double)(h >> 11) / 9007199254740992.0 < consent_share ? consent_yes : consent_no;
}

/* A GDPR request allows personal data only with our vendor named (the
 * engine's --tcf-vendor-id is the same number as --tcf-vendor-id here). */
bool exs_personal_ok(const exs_req *r) {
    return !r->gdpr || (consent_vendor > 0 && consent_of(r) == consent_yes);
}

static int money(beat_buf *o, const char *key, int64_t micros) {
    return beat_buf_printf(o, ",\"%s\":%" PRId64 ".%02" PRId64, key, micros / 1000000,
                           (micros / 10000) % 100);
}

static int imp_json(const exs_world *w, const exs_req *r, beat_buf *o) {
    int W, H, rc;
    exs_size_of(r->size, &W, &H);
    if ((rc = beat_buf_puts(o, "\"imp\":[{\"id\":\"1\",")) < 0) return rc;
    if (r->fmt == EXS_BANNER) {
        if (r->multisize) {
            /* Alternatives an exchange commonly offers next to the main size. */
            int aw, ah;
            exs_size_of(exs_alt_size(r->size), &aw, &ah);
            rc = beat_buf_printf(o,
                                 "\"banner\":{\"format\":[{\"w\":%d,\"h\":%d},"
                                 "{\"w\":%d,\"h\":%d}],\"pos\":%d%s}",
                                 W, H, aw, ah, r->pos, r->seq % 5 == 0 ? ",\"battr\":[1,3]" : "");
        } else {
            rc = beat_buf_printf(o, "\"banner\":{\"w\":%d,\"h\":%d,\"pos\":%d%s}", W, H, r->pos,
                                 r->seq % 5 == 0 ? ",\"battr\":[1,3]" : "");
        }
    } else if (r->fmt == EXS_VIDEO) {
        static const char *const MIMES[] = {"[\"video/mp4\"]", "[\"video/mp4\",\"video/webm\"]",
                                            "[\"video/webm\"]"};
        static const char *const PROTOS[] = {"[2,3,5,6]", "[3,6,7,8]", "[2,5]"};
        static const int MAXD[] = {15, 30, 60};
        int m = (int)(r->seq % 7 == 0 ? 2 : r->seq % 3 == 0 ? 1 : 0);
        int p = (int)((r->seq / 3) % 3), d = (int)((r->seq / 7) % 3);
        rc = beat_buf_printf(o,
                             "\"video\":{\"mimes\":%s,\"minduration\":5,"
                             "\"maxduration\":%d,\"protocols\":%s,\"w\":%d,\"h\":%d,"
                             "\"linearity\":1,\"startdelay\":0,\"%s\":1,\"pos\":1}",
                             MIMES[m], MAXD[d], PROTOS[p], W, H,
                             r->ver == 26 ? "plcmt" : "placement");
    } else {
        rc = beat_buf_printf(
            o,
            "\"native\":{\"ver\":\"1.2\",\"request\":\"{\\\"ver\\\":\\\"1.2\\\","
            "\\\"context\\\":1,\\\"plcmttype\\\":1,\\\"plcmtcnt\\\":1,\\\"assets\\\":["
            "{\\\"id\\\":1,\\\"required\\\":1,\\\"title\\\":{\\\"len\\\":90}},"
            "{\\\"id\\\":2,\\\"required\\\":1,\\\"img\\\":{\\\"type\\\":3,\\\"wmin\\\":%d,"
            "\\\"hmin\\\":%d}},{\\\"id\\\":3,\\\"required\\\":%d,\\\"data\\\":{\\\"type\\\":1,"
            "\\\"len\\\":25}}]}\"}",
            W / 2, H / 2, r->seq % 4 == 0 ? 1 : 0);
    }
    if (rc < 0) return rc;
    if ((rc = money(o, "bidfloor", r->floor_cur_micros)) < 0 ||
        (rc = beat_buf_printf(o, ",\"bidfloorcur\":\"%s\",\"secure\":%d", EXS_CUR[r->cur],
                              (int)(r->seq % 2))) < 0)
        return rc;
    if (r->deal >= 0) {
        /* Deal floors are quoted in USD. */
        if ((rc = beat_buf_printf(o, ",\"pmp\":{\"private_auction\":%d,\"deals\":[{\"id\":\"%s\"",
                                  r->private_auction, exs_deal_id(r->deal))) < 0 ||
            (rc = money(o, "bidfloor", r->deal_floor_usd_micros)) < 0 ||
            (rc = beat_buf_puts(o, ",\"bidfloorcur\":\"USD\",\"at\":1}]}")) < 0)
            return rc;
    }
    (void)w;
    if (r->ver == 26 && r->fmt == EXS_VIDEO && (rc = beat_buf_puts(o, ",\"rwdd\":0")) < 0)
        return rc;
    return beat_buf_puts(o, "}]");
}

int exs_req_json(const exs_world *w, const exs_req *r, int tmax_ms, beat_buf *out) {
    char dom[40];
    exs_domain_name(r->dom, dom, sizeof dom);
    const char *cat = exs_cat_name(r->cat);
    int rc = beat_buf_printf(out, "{\"id\":\"%s\",", r->id);
    if (rc < 0 || (rc = imp_json(w, r, out)) < 0) return rc;
    if (r->app)
        rc = beat_buf_printf(out,
                             ",\"app\":{\"id\":\"a%d\",\"bundle\":\"%s\",\"cat\":[\"%s\"],"
                             "\"storeurl\":\"https://play.example/%s\",\"publisher\":"
                             "{\"id\":\"pub%d\"}}",
                             r->dom, dom, cat, dom, 100 + r->dom / 5);
    else
        rc = beat_buf_printf(out,
                             ",\"site\":{\"id\":\"s%d\",\"domain\":\"%s\",\"cat\":[\"%s\"],"
                             "\"page\":\"http://%s/\",\"publisher\":{\"id\":\"pub%d\"}}",
                             r->dom, dom, cat, dom, r->dom / 5);
    if (rc < 0) return rc;
    rc = beat_buf_printf(out,
                         ",\"device\":{\"devicetype\":%d,\"os\":\"%s\",\"ua\":\"beat-exsim\","
                         "\"ip\":\"10.%d.%d.1\",\"geo\":{\"country\":\"%s\"",
                         exs_devtype(r->dev), exs_os_name(r->os), r->user / 256, r->user % 256,
                         exs_ctry_name(r->ctry));
    if (rc < 0 || (rc = exs_geo_json(r, out)) < 0 || (rc = beat_buf_puts(out, "}}")) < 0) return rc;
    if (r->ver == 26)
        rc = beat_buf_printf(out, ",\"user\":{\"id\":\"u%d\"%s%s%s", r->user,
                             r->gdpr ? ",\"consent\":\"" : "", r->gdpr ? consent_of(r) : "",
                             r->gdpr ? "\"" : "");
    else
        rc = beat_buf_printf(out, ",\"user\":{\"id\":\"u%d\"%s%s%s", r->user,
                             r->gdpr ? ",\"ext\":{\"consent\":\"" : "",
                             r->gdpr ? consent_of(r) : "", r->gdpr ? "\"}" : "");
    if (rc < 0 || (rc = exs_user_data_json(r, out)) < 0 || (rc = beat_buf_puts(out, "}")) < 0)
        return rc;
    if (r->ver == 26)
        rc = beat_buf_printf(out, ",\"regs\":{\"gdpr\":%d},\"source\":{\"tid\":\"t-%s\"}", r->gdpr,
                             r->id);
    else
        rc = beat_buf_printf(out, ",\"regs\":{\"ext\":{\"gdpr\":%d}},\"source\":{\"tid\":\"t-%s\"}",
                             r->gdpr, r->id);
    if (rc < 0) return rc;
    rc = beat_buf_puts(out, ",\"bcat\":[\"IAB25\",\"IAB26\"");
    if (rc >= 0 && r->bcat_extra >= 0)
        rc = beat_buf_printf(out, ",\"%s\"", exs_cat_name(r->bcat_extra));
    if (rc >= 0) rc = beat_buf_puts(out, "]");
    if (rc >= 0 && r->badv >= 0) {
        rc = beat_buf_puts(out, ",\"badv\":[");
        if (rc >= 0) rc = beat_buf_json_str(out, w->badv[r->badv], strlen(w->badv[r->badv]));
        if (rc >= 0) rc = beat_buf_puts(out, "]");
    }
    if (rc >= 0 && !r->app && r->seq % 11 == 0)
        rc = beat_buf_puts(out, ",\"bapp\":[\"com.blocked.game\"]");
    if (rc < 0) return rc;
    return beat_buf_printf(out, ",\"at\":%d,\"tmax\":%d,\"cur\":[\"USD\"]%s}", r->at, tmax_ms,
                           r->test ? ",\"test\":1" : "");
}
