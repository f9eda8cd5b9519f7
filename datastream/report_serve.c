/* The report workers (report_serve.h): a fixed ring of accepted queries
 * (running + waiting ≤ workers + queue_max), a condition variable, and
 * threads at a lower CPU priority than the consumer and HTTP threads (a
 * report is background work on a box whose cores those need first). The
 * HTTP thread only takes the lock to queue; the answer goes back through
 * beat_http_pending_reply. */
#include "report_serve.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "beat_log.h"
#include "beat_metrics.h"
#include "report_read.h"

#define BODY_MAX (32u << 20)
#define NICE 10

typedef struct job {
    beat_http_pending *p;
    dst_rq q;
} job;

struct dst_rserve {
    dst_rserve_cfg cfg;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    job *ring;
    int cap, head, queued; /* ring: queued jobs from head */
    int running;
    bool stop;
    pthread_t *thr;
    int n_thr;
};

static struct {
    beat_histogram *seconds;
    beat_counter *busy;
    _Atomic int64_t inflight;
} M;

static double g_inflight(void *a) {
    (void)a;
    return (double)atomic_load(&M.inflight);
}

static void metrics_once(void) {
    if (M.seconds) return;
    M.seconds = beat_histogram_new("beat_datastream_http_request_seconds{path=\"/v1/reports\"}",
                                   "Time to answer API requests.", beat_latency_bounds,
                                   beat_latency_nbounds);
    M.busy = beat_counter_new("beat_datastream_reports_busy_total",
                              "GET /v1/reports refused with 503 because --report-workers "
                              "were busy and --report-queue-max queries already waited.");
    beat_gauge_fn_new("beat_datastream_reports_inflight",
                      "GET /v1/reports queries running or waiting for a report worker.", g_inflight,
                      NULL);
}

/* One query, on a worker: the answer or its error, to the pending reply. */
static void run(dst_rserve *rs, job *j) {
    int64_t t0 = beat_mono_us();
    beat_buf out;
    beat_buf_init(&out, BODY_MAX);
    beat_reason why = {{0}};
    int rc = dst_report_read(rs->cfg.dir, rs->cfg.topic, rs->cfg.store_id, &j->q, &out, &why);
    int code = 200;
    const char *ctype = j->q.csv ? "text/csv; charset=utf-8" : "application/json";
    if (rc) {
        code = rc == -E2BIG ? 400 : 503;
        if (code == 503) {
            beat_log_value_safe(why.msg);
            beat_log_rl(5000, BEAT_WARN, "report_failed", "reason=\"%s\"", why.msg);
        }
        beat_buf_reset(&out);
        const char *msg = code == 400 ? why.msg : "cannot read the report rows (see the log)";
        beat_buf_puts(&out, "{\"error\":");
        beat_buf_json_str(&out, msg, strlen(msg));
        beat_buf_puts(&out, "}");
        ctype = "application/json";
    }
    beat_http_pending_reply(j->p, code, ctype, &out);
    beat_buf_fini(&out);
    beat_histogram_observe(M.seconds, (double)(beat_mono_us() - t0) / 1e6);
}

static void *worker(void *arg) {
    dst_rserve *rs = arg;
    /* Per thread on Linux: only this worker runs at the lower priority. */
    int cur = getpriority(PRIO_PROCESS, (id_t)gettid());
    if (cur < NICE) (void)setpriority(PRIO_PROCESS, (id_t)gettid(), NICE);
    pthread_mutex_lock(&rs->mu);
    for (;;) {
        while (!rs->stop && rs->queued == 0) pthread_cond_wait(&rs->cv, &rs->mu);
        if (rs->stop) break;
        job j = rs->ring[rs->head];
        rs->head = (rs->head + 1) % rs->cap;
        rs->queued--;
        rs->running++;
        pthread_mutex_unlock(&rs->mu);
        run(rs, &j);
        pthread_mutex_lock(&rs->mu);
        rs->running--;
        atomic_fetch_sub(&M.inflight, 1);
    }
    pthread_mutex_unlock(&rs->mu);
    return NULL;
}

dst_rserve *dst_rserve_new(const dst_rserve_cfg *cfg) {
    metrics_once();
    dst_rserve *rs = calloc(1, sizeof *rs);
    if (!rs) return NULL;
    rs->cfg = *cfg;
    if (rs->cfg.workers < 1) rs->cfg.workers = 1;
    if (rs->cfg.queue_max < 0) rs->cfg.queue_max = 0;
    rs->cap = rs->cfg.workers + rs->cfg.queue_max;
    rs->ring = calloc((size_t)rs->cap, sizeof *rs->ring);
    rs->thr = calloc((size_t)rs->cfg.workers, sizeof *rs->thr);
    pthread_mutex_init(&rs->mu, NULL);
    pthread_cond_init(&rs->cv, NULL);
    for (int i = 0; rs->ring && rs->thr && i < rs->cfg.workers; i++)
        if (pthread_create(&rs->thr[rs->n_thr], NULL, worker, rs) == 0) rs->n_thr++;
    if (rs->n_thr == 0) {
        beat_log(BEAT_ERROR, "report_workers_failed", "workers=%d", rs->cfg.workers);
        dst_rserve_free(rs);
        return NULL;
    }
    return rs;
}

void dst_rserve_free(dst_rserve *rs) {
    if (!rs) return;
    pthread_mutex_lock(&rs->mu);
    rs->stop = true;
    pthread_cond_broadcast(&rs->cv);
    pthread_mutex_unlock(&rs->mu);
    for (int i = 0; i < rs->n_thr; i++) pthread_join(rs->thr[i], NULL);
    for (; rs->queued > 0; rs->queued--) { /* the loop has stopped: nothing is sent */
        beat_buf b;
        beat_buf_init(&b, 256);
        beat_buf_puts(&b, "{\"error\":\"shutting down\"}");
        beat_http_pending_reply(rs->ring[rs->head].p, 503, "application/json", &b);
        beat_buf_fini(&b);
        rs->head = (rs->head + 1) % rs->cap;
        atomic_fetch_sub(&M.inflight, 1);
    }
    pthread_cond_destroy(&rs->cv);
    pthread_mutex_destroy(&rs->mu);
    free(rs->ring);
    free(rs->thr);
    free(rs);
}

void dst_rserve_handle(dst_rserve *rs, beat_http_req *req, const dst_rq *q) {
    pthread_mutex_lock(&rs->mu);
    bool room = rs->queued + rs->running < rs->cap;
    pthread_mutex_unlock(&rs->mu);
    /* Only this thread queues: room seen here is still there below. */
    beat_http_pending *p = room ? beat_http_defer(req) : NULL;
    if (!p) {
        beat_counter_inc(M.busy);
        beat_log_rl(5000, BEAT_WARN, "report_busy", "workers=%d queue_max=%d", rs->cfg.workers,
                    rs->cfg.queue_max);
        beat_http_add_header(req, "Retry-After", "1");
        beat_http_reply_error(req, 503,
                              room ? "cannot defer the report query"
                                   : "too many report queries at once: retry later");
        return;
    }
    pthread_mutex_lock(&rs->mu);
    rs->ring[(rs->head + rs->queued) % rs->cap] = (job){.p = p, .q = *q};
    rs->queued++;
    atomic_fetch_add(&M.inflight, 1);
    pthread_cond_signal(&rs->cv);
    pthread_mutex_unlock(&rs->mu);
}
