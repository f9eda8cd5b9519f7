/* The members of an OpenRTB bid request the bid path reads (openrtb.c,
 * privacy.c, schain.c), as a schema for the one-pass parser (jparse.h):
 * everything else is checked and skipped without building nodes. An
 * object schema lists member names with how to keep their values; a list
 * keeps its items (leaves unless an item schema is given). */
#include "openrtb_int.h"
#include "openrtb.h"

#define N(a) (int)(sizeof(a) / sizeof *(a))
#define OBJ(keys)                                                                                  \
    { keys, N(keys), false, NULL, 0 }

static const inf_jschema s_list = {NULL, 0, true, NULL, 0}; /* items as leaves */

static const inf_jkey k_pub[] = {{"id", NULL}};
static const inf_jschema s_pub = OBJ(k_pub);
static const inf_jkey k_site[] = {
    {"domain", NULL}, {"bundle", NULL}, {"publisher", &s_pub}, {"cat", &s_list}};
static const inf_jschema s_site = OBJ(k_site);

static const inf_jkey k_geo[] = {{"country", NULL}, {"region", NULL}, {"metro", NULL},
                                 {"city", NULL},    {"zip", NULL},    {"lat", NULL},
                                 {"lon", NULL}};
static const inf_jschema s_geo = OBJ(k_geo);
static const inf_jkey k_plat[] = {{"brand", NULL}};
static const inf_jschema s_plat = OBJ(k_plat);
static const inf_jkey k_sua[] = {{"platform", &s_plat}};
static const inf_jschema s_sua = OBJ(k_sua);
static const inf_jkey k_device[] = {
    {"devicetype", NULL}, {"os", NULL}, {"geo", &s_geo}, {"sua", &s_sua}, {"ifa", NULL}};
static const inf_jschema s_device = OBJ(k_device);

static const inf_jkey k_rext[] = {
    {"gdpr", NULL}, {"us_privacy", NULL}, {"gpp", NULL}, {"gpp_sid", &s_list}};
static const inf_jschema s_rext = OBJ(k_rext);
static const inf_jkey k_regs[] = {{"ext", &s_rext},     {"gdpr", NULL}, {"coppa", NULL},
                                  {"us_privacy", NULL}, {"gpp", NULL},  {"gpp_sid", &s_list}};
static const inf_jschema s_regs = OBJ(k_regs);

static const inf_jkey k_id[] = {{"id", NULL}};
static const inf_jschema s_seg = OBJ(k_id);
static const inf_jschema s_segs = {NULL, 0, true, &s_seg, 0};
static const inf_jkey k_data[] = {{"id", NULL}, {"segment", &s_segs}};
static const inf_jschema s_data = OBJ(k_data);
static const inf_jschema s_datas = {NULL, 0, true, &s_data, 0};
static const inf_jkey k_uext[] = {{"consent", NULL}};
static const inf_jschema s_uext = OBJ(k_uext);
static const inf_jkey k_user[] = {{"id", NULL},     {"geo", &s_geo},    {"consent", NULL},
                                  {"ext", &s_uext}, {"buyeruid", NULL}, {"data", &s_datas}};
static const inf_jschema s_user = OBJ(k_user);

static const inf_jkey k_node[] = {{"asi", NULL}, {"sid", NULL}, {"hp", NULL}};
static const inf_jschema s_node = OBJ(k_node);
static const inf_jschema s_nodes = {NULL, 0, true, &s_node, 0};
static const inf_jkey k_schain[] = {{"complete", NULL}, {"nodes", &s_nodes}};
static const inf_jschema s_schain = OBJ(k_schain);
static const inf_jkey k_sext[] = {{"schain", &s_schain}};
static const inf_jschema s_sext = OBJ(k_sext);
static const inf_jkey k_source[] = {{"schain", &s_schain}, {"ext", &s_sext}};
static const inf_jschema s_source = OBJ(k_source);

static const inf_jkey k_wh[] = {{"w", NULL}, {"h", NULL}};
static const inf_jschema s_wh = OBJ(k_wh);
static const inf_jschema s_formats = {NULL, 0, true, &s_wh, 0};
static const inf_jkey k_banner[] = {
    {"w", NULL}, {"h", NULL}, {"format", &s_formats}, {"pos", NULL}, {"battr", &s_list}};
static const inf_jschema s_banner = OBJ(k_banner);
static const inf_jkey k_video[] = {{"w", NULL},           {"h", NULL},
                                   {"minduration", NULL}, {"maxduration", NULL},
                                   {"mimes", &s_list},    {"protocols", &s_list},
                                   {"protocol", NULL},    {"rqddurs", &s_list},
                                   {"pos", NULL},         {"battr", &s_list}};
static const inf_jschema s_video = OBJ(k_video);

static const inf_jkey k_len[] = {{"len", NULL}};
static const inf_jschema s_title = OBJ(k_len);
static const inf_jkey k_img[] = {
    {"type", NULL}, {"w", NULL}, {"h", NULL}, {"wmin", NULL}, {"hmin", NULL}};
static const inf_jschema s_img = OBJ(k_img);
static const inf_jkey k_adata[] = {{"type", NULL}, {"len", NULL}};
static const inf_jschema s_adata = OBJ(k_adata);
static const inf_jkey k_asset[] = {
    {"id", NULL}, {"required", NULL}, {"title", &s_title}, {"img", &s_img}, {"data", &s_adata}};
static const inf_jschema s_asset = OBJ(k_asset);
static const inf_jschema s_assets = {NULL, 0, true, &s_asset, 0};
static const inf_jkey k_inner[] = {{"assets", &s_assets}};
static const inf_jschema s_inner = OBJ(k_inner);
static const inf_jkey k_natreq[] = {{"native", &s_inner}, {"assets", &s_assets}};
const inf_jschema inf_ortb_native_req = OBJ(k_natreq);
static const inf_jkey k_native[] = {{"request", &inf_ortb_native_req}, {"battr", &s_list}};
static const inf_jschema s_native = OBJ(k_native);

static const inf_jkey k_deal[] = {{"id", NULL},
                                  {"bidfloor", NULL},
                                  {"bidfloorcur", NULL},
                                  {"wseat", &s_list},
                                  {"wadomain", &s_list}};
static const inf_jschema s_deal = OBJ(k_deal);
static const inf_jschema s_deals = {NULL, 0, true, &s_deal, 0};
static const inf_jkey k_pmp[] = {{"private_auction", NULL}, {"deals", &s_deals}};
static const inf_jschema s_pmp = OBJ(k_pmp);

static const inf_jkey k_imp[] = {{"id", NULL},          {"bidfloor", NULL},  {"bidfloorcur", NULL},
                                 {"banner", &s_banner}, {"video", &s_video}, {"native", &s_native},
                                 {"audio", NULL},       {"pmp", &s_pmp}};
static const inf_jschema s_imp = OBJ(k_imp);
/* imps past INF_IMP_MAX are never read (they get no bid), only counted */
static const inf_jschema s_imps = {NULL, 0, true, &s_imp, INF_IMP_MAX};

static const inf_jkey k_root[] = {{"id", NULL},      {"imp", &s_imps},      {"site", &s_site},
                                  {"app", &s_site},  {"dooh", &s_site},     {"cur", &s_list},
                                  {"tmax", NULL},    {"device", &s_device}, {"regs", &s_regs},
                                  {"user", &s_user}, {"source", &s_source}, {"at", NULL},
                                  {"test", NULL},    {"wseat", &s_list},    {"bseat", &s_list},
                                  {"bcat", &s_list}, {"badv", &s_list},     {"bapp", &s_list}};
const inf_jschema inf_ortb_request = OBJ(k_root);
