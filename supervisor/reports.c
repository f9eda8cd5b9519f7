/* The Reports page and its puller (reports.h). The puller thread asks each
 * datastream in turn with a hard timeout, so a dead or slow one delays
 * only the next round; the HTTP thread only copies the last result out
 * under the lock. All user text in the page is set via textContent. */
#include "reports.h"

#include <cJSON.h>
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "beat_clock.h"
#include "beat_httpc.h"
#include "beat_log.h"
#include "beat_metrics.h"

#define BODY_MAX (32u << 20)
#define STORES_MAX 64
#define ROWS_MAX 200000 /* summed rows kept; beyond, an answer is refused */

#define NVAL 8
static const char *const VAL[NVAL] = {
    "opportunities", "bids",   "wins",        "spend_cpm_micros",
    "impressions",   "clicks", "conversions", "conv_value_micros"};

struct sup_reports {
    sup_reports_cfg cfg;
    char **urls;
    pthread_t thr;
    bool started;
    atomic_bool stop;
    pthread_mutex_t mu;
    beat_buf last; /* the last result (JSON), under mu */
    beat_counter *failures;
};

void sup_reports_acc_fini(sup_reports_acc *acc) {
    free(acc->rows);
    memset(acc, 0, sizeof *acc);
}

/* A count from a peer: an integer-valued number within ±2^62 (a double
 * beyond int64 would be undefined to convert), else -1. */
static int64_t count_of(const cJSON *v) {
    if (!cJSON_IsNumber(v)) return 0;
    double d = v->valuedouble;
    return d >= -4.6e18 && d <= 4.6e18 ? (int64_t)d : -1;
}

int sup_reports_add(sup_reports_acc *acc, const char *json, size_t len, char *store,
                    size_t store_len, beat_reason *why) {
    cJSON *root = cJSON_ParseWithLength(json, len);
    if (!root) return beat_reasonf(why, -EBADMSG, "not JSON");
    int rc = 0;
    const cJSON *rows = cJSON_GetObjectItemCaseSensitive(root, "rows");
    const cJSON *st = cJSON_GetObjectItemCaseSensitive(root, "store");
    if (!cJSON_IsArray(rows)) rc = beat_reasonf(why, -EBADMSG, "no rows");
    if (store_len) snprintf(store, store_len, "%s", cJSON_IsString(st) ? st->valuestring : "");
    const cJSON *r;
    cJSON_ArrayForEach(r, rows) {
        if (rc) break;
        const cJSON *c = cJSON_GetObjectItemCaseSensitive(r, "campaign");
        const cJSON *h = cJSON_GetObjectItemCaseSensitive(r, "hour_ms");
        if (!cJSON_IsString(c) || strlen(c->valuestring) > 64 || !cJSON_IsNumber(h) ||
            count_of(h) < 0) {
            rc = beat_reasonf(why, -EBADMSG, "a row without campaign or hour_ms");
            break;
        }
        if (acc->n == acc->cap) {
            int cap = acc->cap ? 2 * acc->cap : 256;
            sup_reports_row *n = cap <= ROWS_MAX ? realloc(acc->rows, cap * sizeof *n) : NULL;
            if (!n) {
                rc = beat_reasonf(why, -ENOMEM, "more than %d rows", ROWS_MAX);
                break;
            }
            acc->rows = n;
            acc->cap = cap;
        }
        sup_reports_row *o = &acc->rows[acc->n++];
        memset(o, 0, sizeof *o);
        snprintf(o->campaign, sizeof o->campaign, "%s", c->valuestring);
        o->hour_ms = count_of(h);
        for (int i = 0; i < NVAL && !rc; i++) {
            o->v[i] = count_of(cJSON_GetObjectItemCaseSensitive(r, VAL[i]));
            if (o->v[i] < 0) rc = beat_reasonf(why, -EBADMSG, "%s out of range", VAL[i]);
        }
    }
    cJSON_Delete(root);
    return rc;
}

static int cmp_row(const void *a, const void *b) {
    const sup_reports_row *x = a, *y = b;
    int c = strcmp(x->campaign, y->campaign);
    if (c) return c;
    return (x->hour_ms > y->hour_ms) - (x->hour_ms < y->hour_ms);
}

int sup_reports_encode(sup_reports_acc *acc, int64_t fetched_ms, int64_t from_ms, int answered,
                       int asked, beat_buf *out) {
    if (acc->n) qsort(acc->rows, (size_t)acc->n, sizeof *acc->rows, cmp_row);
    int n = 0;
    for (int i = 0; i < acc->n; i++) {
        if (n && cmp_row(&acc->rows[n - 1], &acc->rows[i]) == 0) {
            for (int k = 0; k < NVAL; k++) acc->rows[n - 1].v[k] += acc->rows[i].v[k];
        } else {
            acc->rows[n++] = acc->rows[i];
        }
    }
    acc->n = n;
    beat_buf_reset(out);
    beat_buf_printf(out,
                    "{\"v\":1,\"fetched_ms\":%lld,\"from_ms\":%lld,\"answered\":%d,\"asked\":%d,"
                    "\"complete\":%s,\"rows\":[",
                    (long long)fetched_ms, (long long)from_ms, answered, asked,
                    answered == asked ? "true" : "false");
    for (int i = 0; i < n; i++) {
        const sup_reports_row *r = &acc->rows[i];
        beat_buf_puts(out, i ? ",{\"campaign\":" : "{\"campaign\":");
        beat_buf_json_str(out, r->campaign, strlen(r->campaign));
        beat_buf_printf(out, ",\"hour_ms\":%lld,\"spend_micros\":%lld", (long long)r->hour_ms,
                        (long long)(r->v[3] / 1000));
        for (int k = 0; k < NVAL; k++)
            if (k != 3) beat_buf_printf(out, ",\"%s\":%lld", VAL[k], (long long)r->v[k]);
        beat_buf_puts(out, "}");
    }
    return beat_buf_puts(out, "]}\n");
}

static void nap(sup_reports *r, int64_t ms) {
    for (; ms > 0 && !atomic_load(&r->stop); ms -= 50)
        nanosleep(&(struct timespec){.tv_nsec = (ms > 50 ? 50 : ms) * 1000000L}, NULL);
}

/* One round: every datastream, each store directory once. */
static void round_once(sup_reports *r, beat_httpc *hc, beat_buf *resp, beat_buf *out) {
    int64_t now = beat_engine_ms(), hour = 3600000;
    int64_t from = now - now % hour - (int64_t)(r->cfg.hours - 1) * hour;
    char stores[STORES_MAX][40];
    int n_stores = 0, answered = 0;
    sup_reports_acc acc = {0};
    for (int i = 0; i < r->cfg.n_urls && !atomic_load(&r->stop); i++) {
        char url[700];
        snprintf(url, sizeof url, "%s/v1/reports?group_by=campaign,hour&from=%lld", r->urls[i],
                 (long long)from);
        long status = 0;
        int rc = beat_httpc_get(hc, url, resp, &status);
        beat_reason why = {{0}};
        if (rc == 0 && status != 200) rc = beat_reasonf(&why, -EPROTO, "status %ld", status);
        /* Read the store first: an answer from a directory already counted
         * is skipped whole. */
        char store[40] = "";
        sup_reports_acc one = {0};
        if (rc == 0) rc = sup_reports_add(&one, resp->data, resp->len, store, sizeof store, &why);
        if (rc) {
            beat_counter_inc(r->failures);
            beat_log_rl(5000, BEAT_WARN, "reports_unreachable", "peer=%s err=%d reason=\"%s\"",
                        r->urls[i], rc, why.msg);
            sup_reports_acc_fini(&one);
            continue;
        }
        answered++;
        bool seen = false;
        for (int k = 0; k < n_stores && store[0]; k++) seen |= strcmp(stores[k], store) == 0;
        if (!seen && store[0] && n_stores < STORES_MAX) memcpy(stores[n_stores++], store, 40);
        for (int k = 0; !seen && k < one.n; k++) {
            if (acc.n == acc.cap) {
                int cap = acc.cap ? 2 * acc.cap : 256;
                sup_reports_row *nr = realloc(acc.rows, (size_t)cap * sizeof *nr);
                if (!nr) break;
                acc.rows = nr;
                acc.cap = cap;
            }
            acc.rows[acc.n++] = one.rows[k];
        }
        sup_reports_acc_fini(&one);
    }
    sup_reports_encode(&acc, beat_now_ms(), from, answered, r->cfg.n_urls, out);
    sup_reports_acc_fini(&acc);
    pthread_mutex_lock(&r->mu);
    beat_buf_reset(&r->last);
    beat_buf_append(&r->last, out->data, out->len);
    pthread_mutex_unlock(&r->mu);
}

static void *puller(void *arg) {
    sup_reports *r = arg;
    beat_httpc *hc = beat_httpc_new((long)r->cfg.timeout_ms);
    beat_buf resp, out;
    beat_buf_init(&resp, BODY_MAX);
    beat_buf_init(&out, BODY_MAX);
    while (hc && !atomic_load(&r->stop)) {
        round_once(r, hc, &resp, &out);
        nap(r, r->cfg.every_ms);
    }
    beat_buf_fini(&resp);
    beat_buf_fini(&out);
    beat_httpc_free(hc);
    return NULL;
}

sup_reports *sup_reports_new(const sup_reports_cfg *cfg) {
    sup_reports *r = calloc(1, sizeof *r);
    if (!r) return NULL;
    r->cfg = *cfg;
    if (r->cfg.every_ms <= 0) r->cfg.every_ms = 5000;
    if (r->cfg.timeout_ms <= 0) r->cfg.timeout_ms = 2000;
    if (r->cfg.hours <= 0) r->cfg.hours = 48;
    pthread_mutex_init(&r->mu, NULL);
    beat_buf_init(&r->last, BODY_MAX);
    r->failures = beat_counter_new("beat_supervisor_reports_failures_total",
                                   "Pulls of a datastream's report rows (for the Reports page) "
                                   "that failed.");
    r->urls = calloc((size_t)cfg->n_urls + 1, sizeof *r->urls);
    if (!r->urls) {
        sup_reports_free(r);
        return NULL;
    }
    for (int i = 0; i < cfg->n_urls; i++)
        if (!(r->urls[i] = strdup(cfg->urls[i]))) {
            sup_reports_free(r);
            return NULL;
        }
    r->cfg.urls = NULL;
    if (cfg->n_urls > 0 && pthread_create(&r->thr, NULL, puller, r) == 0) r->started = true;
    return r;
}

void sup_reports_free(sup_reports *r) {
    if (!r) return;
    atomic_store(&r->stop, true);
    if (r->started) pthread_join(r->thr, NULL);
    for (int i = 0; r->urls && i < r->cfg.n_urls; i++) free(r->urls[i]);
    free(r->urls);
    beat_buf_fini(&r->last);
    pthread_mutex_destroy(&r->mu);
    free(r);
}

static void on_recent(beat_http_req *req, void *arg) {
    sup_reports *r = arg;
    pthread_mutex_lock(&r->mu);
    if (r->last.len) beat_http_reply_json(req, 200, r->last.data, r->last.len);
    else
        beat_http_reply_json(req, 200, "{\"v\":1,\"fetched_ms\":0,\"complete\":false,\"rows\":[]}",
                             50);
    pthread_mutex_unlock(&r->mu);
}

extern const char SUP_REPORTS_PAGE[];
extern const size_t SUP_REPORTS_PAGE_LEN;

static void on_page(beat_http_req *req, void *arg) {
    (void)arg;
    beat_http_reply(req, 200, "text/html; charset=utf-8", SUP_REPORTS_PAGE, SUP_REPORTS_PAGE_LEN);
}

void sup_reports_route(beat_http *h, sup_reports *r) {
    beat_http_route_opts o = {.allow = "GET"};
    beat_http_route_ex(h, "/reports", on_page, r, &o);
    beat_http_route_ex(h, "/v1/reports/recent", on_recent, r, &o);
}
