/* Where simulated users are and what data providers say about them: a few
 * places per country (subdivision, metro, city, zip and a centre), each
 * user living at one of them (per country, stable by user id), a precise
 * position on part of the app traffic, and segments from two providers.
 * None of this enters the hidden truth (CTR, market): it only feeds the
 * requests (ortb.c) and the oracle's eligibility (camps.c), so a demo whose
 * campaigns do not target it gets the same auctions as before. */
#include <inttypes.h>
#include <math.h>
#include <string.h>

#include "exsim.h"

#define SALT_GEO 0x67656f31ULL  /* per request */
#define SALT_USER 0x75736572ULL /* per user */
#define PLACES_PER 4

typedef struct place {
    const char *region, *metro, *city, *zip;
    double lat, lon;
} place;

/* By country, in exs_ctry_name order; metros only where exchanges send
 * them (US DMA codes). */
static const place PLACES[EXS_CTRIES][PLACES_PER] = {
    {{"NY", "501", "New York", "10001", 40.7128, -74.0060},
     {"CA", "807", "San Francisco", "94103", 37.7749, -122.4194},
     {"IL", "602", "Chicago", "60601", 41.8781, -87.6298},
     {"TX", "623", "Dallas", "75201", 32.7767, -96.7970}},
    {{"ENG", NULL, "London", "SW1A 1AA", 51.5072, -0.1276},
     {"ENG", NULL, "Manchester", "M1 1AE", 53.4808, -2.2426},
     {"SCT", NULL, "Edinburgh", "EH1 1YZ", 55.9533, -3.1883},
     {"WLS", NULL, "Cardiff", "CF10 1EP", 51.4816, -3.1791}},
    {{"BE", NULL, "Berlin", "10115", 52.5200, 13.4050},
     {"BY", NULL, "Munich", "80331", 48.1351, 11.5820},
     {"HH", NULL, "Hamburg", "20095", 53.5511, 9.9937},
     {"NW", NULL, "Cologne", "50667", 50.9375, 6.9603}},
    {{"IDF", NULL, "Paris", "75001", 48.8566, 2.3522},
     {"ARA", NULL, "Lyon", "69001", 45.7640, 4.8357},
     {"PAC", NULL, "Marseille", "13001", 43.2965, 5.3698},
     {"OCC", NULL, "Toulouse", "31000", 43.6047, 1.4442}},
    {{"13", NULL, "Tokyo", "100-0001", 35.6762, 139.6503},
     {"27", NULL, "Osaka", "530-0001", 34.6937, 135.5023},
     {"23", NULL, "Nagoya", "450-0002", 35.1815, 136.9066},
     {"01", NULL, "Sapporo", "060-0001", 43.0618, 141.3545}},
    {{"ON", NULL, "Toronto", "M5H 2N2", 43.6532, -79.3832},
     {"QC", NULL, "Montreal", "H2Y 1C6", 45.5019, -73.5674},
     {"BC", NULL, "Vancouver", "V6B 1A1", 49.2827, -123.1207},
     {"AB", NULL, "Calgary", "T2P 1J9", 51.0447, -114.0719}},
    {{"MD", NULL, "Madrid", "28001", 40.4168, -3.7038},
     {"CT", NULL, "Barcelona", "08001", 41.3874, 2.1686},
     {"VC", NULL, "Valencia", "46001", 39.4699, -0.3763},
     {"AN", NULL, "Seville", "41001", 37.3891, -5.9845}},
    {{"RM", NULL, "Rome", "00118", 41.9028, 12.4964},
     {"MI", NULL, "Milan", "20121", 45.4642, 9.1900},
     {"NA", NULL, "Naples", "80121", 40.8518, 14.2681},
     {"TO", NULL, "Turin", "10121", 45.0703, 7.6869}},
};
static const int PLACE_W[PLACES_PER] = {45, 25, 18, 12};

/* Segment pools: bit i of exs_req.segs is SEGS[i] of its provider. */
static const char *const SEG_IDS[EXS_SEGS] = {
    "auto",    "travel", "sports",        "finance",        "parents",     "gaming",
    "fashion", "tech",   "in-market-car", "frequent-flyer", "high-income", "student"};

const char *exs_seg_provider(int i) { return i < 8 ? "exsim-dmp" : "exsim-dmp2"; }
const char *exs_seg_id(int i) { return SEG_IDS[i]; }

void exs_req_geo(const exs_world *w, exs_req *r) {
    uint64_t u = (uint64_t)(unsigned)r->user * 16;
    double v = exs_unit(w, u + 0 + (uint64_t)r->ctry * 997, SALT_USER) * 100, acc = 0;
    r->place = PLACES_PER - 1;
    for (int i = 0; i < PLACES_PER; i++)
        if (v < (acc += PLACE_W[i])) {
            r->place = i;
            break;
        }
    /* Precise position: most app requests (GPS), few site ones (IP-derived
     * positions are rarely sent); within ~15 km of the place's centre. */
    double share = r->app ? 0.7 : 0.1;
    r->latlon = exs_unit(w, r->seq, SALT_GEO) < share;
    if (r->latlon) {
        const place *p = &PLACES[r->ctry][r->place];
        double d_km = 15 * sqrt(exs_unit(w, u + 1, SALT_USER));
        double a = 2 * M_PI * exs_unit(w, u + 2, SALT_USER);
        r->lat = p->lat + d_km * cos(a) / 111.2;
        r->lon = p->lon + d_km * sin(a) / (111.2 * cos(p->lat * M_PI / 180));
    }
    /* Segments: a user has each with its own probability; 30 % have none
     * known to the exchange at all. */
    r->segs = 0;
    if (exs_unit(w, u + 3, SALT_USER) < 0.3) return;
    for (int i = 0; i < EXS_SEGS; i++)
        if (exs_unit(w, u + 4 + (uint64_t)i, SALT_USER) < (i < 8 ? 0.2 : 0.1)) r->segs |= 1u << i;
}

static int json_str_field(beat_buf *o, const char *key, const char *v) {
    int rc = beat_buf_printf(o, ",\"%s\":", key);
    return rc < 0 ? rc : beat_buf_json_str(o, v, strlen(v));
}

int exs_geo_json(const exs_req *r, beat_buf *o) {
    const place *p = &PLACES[r->ctry][r->place];
    int rc = json_str_field(o, "region", p->region);
    if (rc >= 0 && p->metro) rc = json_str_field(o, "metro", p->metro);
    if (rc >= 0) rc = json_str_field(o, "city", p->city);
    if (rc >= 0) rc = json_str_field(o, "zip", p->zip);
    if (rc >= 0 && r->latlon)
        rc = beat_buf_printf(o, ",\"lat\":%.5f,\"lon\":%.5f,\"type\":1", r->lat, r->lon);
    return rc;
}

int exs_user_data_json(const exs_req *r, beat_buf *o) {
    if (!r->segs) return 0;
    int rc = beat_buf_puts(o, ",\"data\":[");
    bool first_prov = true;
    for (int prov = 0; prov < 2 && rc >= 0; prov++) {
        int lo = prov ? 8 : 0, hi = prov ? EXS_SEGS : 8;
        if (!(r->segs & (((1u << (hi - lo)) - 1) << lo))) continue;
        rc = beat_buf_printf(o, "%s{\"id\":\"%s\",\"segment\":[", first_prov ? "" : ",",
                             exs_seg_provider(lo));
        first_prov = false;
        bool first = true;
        for (int i = lo; i < hi && rc >= 0; i++) {
            if (!(r->segs >> i & 1u)) continue;
            rc = beat_buf_printf(o, "%s{\"id\":\"%s\"}", first ? "" : ",", SEG_IDS[i]);
            first = false;
        }
        if (rc >= 0) rc = beat_buf_puts(o, "]}");
    }
    return rc < 0 ? rc : beat_buf_puts(o, "]");
}

const char *exs_place_field(const exs_req *r, int k) {
    const place *p = &PLACES[r->ctry][r->place];
    return k == 0 ? p->region : k == 1 ? p->metro : k == 2 ? p->city : p->zip;
}
