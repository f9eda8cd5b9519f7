/* Status page of the supervisor, for campaign operators (docs/operations.md
 * "Supervisor status page"): campaigns with budget, the spend the ledger
 * counted and the worst case committed (docs/money.md), the actuator's own
 * spend figure, multiplier and paused flag; state and model versions and
 * ages; model metrics; connected subscribers; each flight's phase by
 * engine time (the supervisor's engine_ms under a simulated clock, else the
 * browser's clock). Static bytes: the page renders itself from
 * /v1/versions, /v1/campaigns, /v1/state/latest and /v1/leases (absent on a
 * relay), so it costs the daemon nothing between polls. All user text is
 * set via textContent. */
#include "status.h"

#include <math.h>
#include <string.h>

static const char PAGE[] =
    "<!doctype html><html><head><meta charset=\"utf-8\"><title>BEAT supervisor</title>\n"
    "<style>body{font:14px system-ui,sans-serif;margin:20px;color:#222;background:#fafafa}"
    "h1{font-size:20px}h2{font-size:16px;margin-top:24px}"
    "table{border-collapse:collapse;background:#fff}"
    "td,th{border:1px solid #ccc;padding:4px 10px;text-align:left}"
    "th{background:#eee}.num{text-align:right;font-variant-numeric:tabular-nums}"
    ".err{color:#b00}.ok{color:#070}#meta{color:#666}</style></head><body>\n"
    "<h1>BEAT supervisor <span id=\"role\"></span> <small><a href=\"/reports\">reports</a>"
    "</small></h1>\n"
    "<div id=\"meta\">loading&hellip;</div>\n"
    "<h2>Versions</h2><table id=\"versions\"><thead><tr><th>object</th><th>version</th>"
    "<th>age</th><th>source</th></tr></thead><tbody></tbody></table>\n"
    "<h2>Model</h2><table id=\"model\"><tbody></tbody></table>\n"
    "<h2>Campaigns</h2><table id=\"campaigns\"><thead><tr><th>id</th>"
    "<th class=\"num\">budget</th><th class=\"num\">counted</th>"
    "<th class=\"num\">committed</th><th class=\"num\">actuator's spend</th>"
    "<th class=\"num\">multiplier</th><th>paused</th><th>flight</th>"
    "</tr></thead><tbody></tbody></table>\n"
    "<script>\n"
    "'use strict';\n"
    "function el(t,txt,cls){const e=document.createElement(t);"
    "if(txt!==undefined)e.textContent=String(txt);if(cls)e.className=cls;return e}\n"
    "function row(tb,cells){const tr=el('tr');for(const c of cells){"
    "tr.appendChild(typeof c==='object'&&c?c:el('td',c))}tb.appendChild(tr)}\n"
    "function num(v){const t=el('td',v,'num');return t}\n"
    "function age(ts){if(!ts)return '-';const s=Math.max(0,(Date.now()-ts)/1000);"
    "return s<120?s.toFixed(1)+' s':s<7200?(s/60).toFixed(1)+' min':(s/3600).toFixed(1)+' h'}\n"
    "function money(m){return (typeof m==='number')?(m/1e6).toFixed(2):'-'}\n"
    "async function get(p){const r=await fetch(p,{cache:'no-store'});"
    "if(r.status===404)return null;if(!r.ok)throw new Error(p+': '+r.status);return r.json()}\n"
    "function body(id){const tb=document.querySelector('#'+id+' tbody');"
    "tb.replaceChildren();return tb}\n"
    "async function refresh(){\n"
    " try{\n"
    "  const [v,cs,st,ls]=await Promise.all([get('/v1/versions'),get('/v1/campaigns'),"
    "get('/v1/state/latest'),get('/v1/leases')]);\n"
    "  document.getElementById('role').textContent=v.relay_from?'(relay of '+v.relay_from+')'"
    ":'(primary)';\n"
    "  const m=document.getElementById('meta');m.className='ok';\n"
    "  m.textContent='updated '+new Date().toISOString()+(v.peers!==undefined?"
    "' \\u2014 subscribers connected: '+v.peers:'')+(v.engine_ms?' \\u2014 simulated engine "
    "time '+new Date(v.engine_ms).toISOString()+' (\\u00d7'+v.clock_rate+')':'');\n"
    "  let tb=body('versions');\n"
    "  row(tb,['campaigns',num(v.campaigns),age(v.campaigns_ts),'']);\n"
    "  row(tb,['state',num(v.state),age(v.state_ts),v.state_actuator||'']);\n"
    "  row(tb,['model',num(v.model),age(v.model_ts),v.model_trainer||'']);\n"
    "  tb=body('model');\n"
    "  if(v.model){row(tb,['trainer',v.model_trainer]);row(tb,['kind',v.model_kind]);"
    "row(tb,['auc',v.model_auc===null?'-':v.model_auc]);"
    "row(tb,['logloss',v.model_logloss===null?'-':v.model_logloss]);"
    "row(tb,['samples seen',v.model_samples_seen]);"
    "row(tb,['built',v.model_built_ts?new Date(v.model_built_ts).toISOString():'-'])}\n"
    "  else row(tb,['no model yet']);\n"
    "  tb=body('campaigns');\n"
    "  const sc=(st&&st.campaigns)||{},sp=(st&&st.private&&st.private.spend)||{};\n"
    "  const la=(ls&&ls.campaigns)||{},now=v.engine_ms||Date.now();\n"
    "  for(const c of (cs&&cs.campaigns)||[]){const s=sc[c.id]||{},a=la[c.id]||{};\n"
    "   const spend=(typeof sp[c.id]==='number')?sp[c.id]:s.spent_micros;\n"
    "   row(tb,[c.id,num(money(c.budget_micros)),num(money(a.spend_micros)),"
    "num(money(a.committed_micros)),num(money(spend)),"
    "num(typeof s.multiplier==='number'?s.multiplier.toFixed(3):'-'),"
    "String(!!(c.paused||s.paused)),"
    "now<c.start_ms?'not started':now>=c.end_ms?'ended':'live'])}\n"
    "  if(!cs)row(tb,['no campaigns yet']);\n"
    " }catch(e){const m=document.getElementById('meta');m.className='err';"
    "m.textContent='cannot reach the API: '+e.message}\n"
    "}\n"
    "refresh();setInterval(refresh,2000);\n"
    "</script></body></html>\n";

static void on_root(beat_http_req *req, void *arg) {
    (void)arg;
    if (beat_http_req_method(req) != BEAT_HTTP_GET) {
        beat_http_reply_error(req, 405, "method not allowed");
        return;
    }
    beat_http_reply(req, 200, "text/html; charset=utf-8", PAGE, sizeof PAGE - 1);
}

void sup_status_route(beat_http *h) { beat_http_route(h, "/", on_root, NULL); }

static int put_num(beat_buf *b, const char *key, double v) {
    return isfinite(v) ? beat_buf_printf(b, ",\"%s\":%.6g", key, v)
                       : beat_buf_printf(b, ",\"%s\":null", key);
}

int sup_status_model_json(beat_buf *b, const beat_ckpt_header *h) {
    if (!h) return beat_buf_puts(b, ",\"model_trainer\":\"\",\"model_auc\":null");
    int rc = beat_buf_puts(b, ",\"model_trainer\":");
    if (!rc) rc = beat_buf_json_str(b, h->trainer, strnlen(h->trainer, sizeof h->trainer));
    if (!rc) rc = beat_buf_puts(b, ",\"model_kind\":");
    if (!rc) rc = beat_buf_json_str(b, h->kind, strnlen(h->kind, sizeof h->kind));
    if (!rc) rc = put_num(b, "model_auc", h->auc);
    if (!rc) rc = put_num(b, "model_logloss", h->logloss);
    if (!rc)
        rc = beat_buf_printf(b, ",\"model_samples_seen\":%lld,\"model_built_ts\":%lld",
                             (long long)h->samples_seen, (long long)h->ts_ms);
    return rc;
}
