/* beat-lighttrainer: learns the CTR model online. It pulls labelled
 * samples from every datastream instance, scores each one before learning
 * from it (progressive validation), trains a hashed logistic regression
 * with FTRL plus a campaign × context factor term (model.c, factors.c) and
 * pushes checkpoints to the supervisor. Nobody
 * depends on it: dead peers are counted and skipped. It never pushes a
 * fresh model until the supervisor has said it holds none (404), so a
 * restart continues from the last checkpoint instead of overwriting it. */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "beat_alert_rules.h"
#include "beat_cfg.h"
#include "beat_ckpt.h"
#include "beat_features.h"
#include "beat_http.h"
#include "beat_log.h"
#include "beat_metrics.h"
#include "beat_pull.h"
#include "beat_util.h"
#include "links.h"
#include "metrics.h"
#include "model.h"

static char *o_listen, *o_supervisor, *o_token, *o_name, *o_log_level, *o_hash_seed;
static beat_strlist o_datastreams;
static bool o_dev;
static beat_alert_opts o_alert;
static int64_t o_rank, o_factor_bits;
static double o_factor_lr, o_factor_l2;
static int64_t o_hash_bits, o_ckpt_every_s, o_ckpt_every_n, o_window, o_pull_max, o_poll_ms,
    o_timeout_ms, o_pull_timeout_ms;
static double o_alpha, o_beta, o_l1, o_l2, o_prior_ctr;

#define STR_(x) #x
#define STR(x) STR_(x)

static beat_http_limits o_http = BEAT_HTTP_LIMITS_DEFAULT;
static char *o_sim_clock; /* --sim-clock: engine time spec */
/* One option per entry, its fields named: a table, laid out by hand. */
/* clang-format off */
static const beat_opt opts[] = {
    {.name = "listen", .env = "BEAT_LIGHTTRAINER_LISTEN",
     .type = BEAT_OPT_STR, .dst = &o_listen, .def = "127.0.0.1:8085",
     .help = "admin HTTP address (/healthz, /metrics)"},
    BEAT_PULL_OPTS(&o_datastreams, &o_supervisor, &o_token, &o_dev),
    {.name = "hash-bits", .env = "BEAT_HASH_BITS",
     .type = BEAT_OPT_INT, .dst = &o_hash_bits, .def = STR(BEAT_HASH_BITS_DEFAULT),
     .min = LTR_HASH_BITS_MIN, .max = LTR_HASH_BITS_MAX,
     .help = "model dimension = 2^bits hashed weights (+ bias); as the supervisor's"},
    {.name = "hash-seed", .env = "BEAT_HASH_SEED",
     .type = BEAT_OPT_STR, .dst = &o_hash_seed,
     .help = "feature-hash seed (hex) written into checkpoints; empty = the built-in default"},
    {.name = "alpha", .env = "BEAT_LIGHTTRAINER_ALPHA",
     .type = BEAT_OPT_DBL, .dst = &o_alpha, .def = "0.1", .min = 1e-6, .max = 100,
     .help = "FTRL alpha (learning rate scale)"},
    {.name = "beta", .env = "BEAT_LIGHTTRAINER_BETA",
     .type = BEAT_OPT_DBL, .dst = &o_beta, .def = "1", .min = 0, .max = 1000,
     .help = "FTRL beta (learning rate smoothing)"},
    {.name = "l1", .env = "BEAT_LIGHTTRAINER_L1",
     .type = BEAT_OPT_DBL, .dst = &o_l1, .def = "0.1", .min = 0, .max = 1000,
     .help = "FTRL L1 regularisation (sparsity)"},
    {.name = "l2", .env = "BEAT_LIGHTTRAINER_L2",
     .type = BEAT_OPT_DBL, .dst = &o_l2, .def = "1", .min = 0, .max = 1000,
     .help = "FTRL L2 regularisation"},
    {.name = "rank", .env = "BEAT_LIGHTTRAINER_RANK",
     .type = BEAT_OPT_INT, .dst = &o_rank, .def = "8", .min = 0, .max = LTR_RANK_MAX,
     .help = "rank of the campaign x context factor term (0 disables it)"},
    {.name = "factor-bits", .env = "BEAT_LIGHTTRAINER_FACTOR_BITS",
     .type = BEAT_OPT_INT, .dst = &o_factor_bits, .def = "16", .min = LTR_FACTOR_BITS_MIN,
     .max = LTR_HASH_BITS_MAX,
     .help = "factor embedding rows = 2^bits per table (capped at --hash-bits)"},
    {.name = "factor-lr", .env = "BEAT_LIGHTTRAINER_FACTOR_LR",
     .type = BEAT_OPT_DBL, .dst = &o_factor_lr, .def = "0.02", .min = 1e-6, .max = 10,
     .help = "AdaGrad learning rate of the factor embeddings"},
    {.name = "factor-l2", .env = "BEAT_LIGHTTRAINER_FACTOR_L2",
     .type = BEAT_OPT_DBL, .dst = &o_factor_l2, .def = "0.0001", .min = 0, .max = 100,
     .help = "L2 regularisation of the factor embeddings"},
    {.name = "checkpoint-every-s", .env = "BEAT_LIGHTTRAINER_CHECKPOINT_EVERY_S",
     .type = BEAT_OPT_INT, .dst = &o_ckpt_every_s, .def = "10", .min = 1, .max = 86400,
     .help = "push a checkpoint at least this often (if trained)"},
    {.name = "checkpoint-every-n", .env = "BEAT_LIGHTTRAINER_CHECKPOINT_EVERY_N",
     .type = BEAT_OPT_INT, .dst = &o_ckpt_every_n, .def = "50000", .min = 1, .max = 1000000000,
     .help = "...or after this many new samples"},
    {.name = "window", .env = "BEAT_LIGHTTRAINER_WINDOW",
     .type = BEAT_OPT_INT, .dst = &o_window, .def = "20000", .min = 10, .max = 10000000,
     .help = "samples in the progressive AUC / log loss window"},
    {.name = "prior-ctr", .env = "BEAT_LIGHTTRAINER_PRIOR_CTR",
     .type = BEAT_OPT_DBL, .dst = &o_prior_ctr, .def = "0.01", .min = 1e-6, .max = 0.5,
     .help = "click rate of the initial model (bias) and avg_ctr prior"},
    {.name = "pull-max", .env = "BEAT_LIGHTTRAINER_PULL_MAX",
     .type = BEAT_OPT_INT, .dst = &o_pull_max, .def = "1000", .min = 1, .max = 100000,
     .help = "samples asked for per pull"},
    {.name = "poll-ms", .env = "BEAT_LIGHTTRAINER_POLL_MS",
     .type = BEAT_OPT_INT, .dst = &o_poll_ms, .def = "200", .min = 1, .max = 60000,
     .help = "pause between pulls when the datastreams had nothing more"},
    {.name = "http-timeout-ms", .env = "BEAT_LIGHTTRAINER_HTTP_TIMEOUT_MS",
     .type = BEAT_OPT_INT, .dst = &o_timeout_ms, .def = "2000", .min = 10, .max = 600000,
     .help = "timeout of checkpoint pushes and restores"},
    {.name = "pull-timeout-ms", .env = "BEAT_LIGHTTRAINER_PULL_TIMEOUT_MS",
     .type = BEAT_OPT_INT, .dst = &o_pull_timeout_ms, .def = "1000", .min = 10, .max = 600000,
     .help = "timeout of sample pulls"},
    BEAT_ALERT_OPTS(&o_alert),
    {.name = "name", .env = "BEAT_LIGHTTRAINER_NAME",
     .type = BEAT_OPT_STR, .dst = &o_name, .def = "beat-lighttrainer",
     .help = "trainer name, written into every checkpoint"},
    BEAT_HTTP_OPTS(o_http),
    BEAT_OPT_SIM_CLOCK(&o_sim_clock),
    BEAT_OPT_LOG_LEVEL(&o_log_level),
    BEAT_OPT_END,
};
/* clang-format on */

/* Read by the admin thread: atomics only. */
static beat_pull_status g_status;
static _Atomic int64_t g_samples;

static struct {
    beat_counter *samples, *missed, *bad, *epoch_resets, *ckpts, *ckpt_failures;
    beat_gauge *auc, *logloss, *avg_ctr, *restore, *ckpt_bytes, *model_age;
    beat_histogram *ckpt_s;
} m;

static void metrics_init(void) {
    m.samples = beat_counter_new("beat_lighttrainer_samples_total", "Samples trained on");
    m.missed = beat_counter_new("beat_lighttrainer_samples_missed_total",
                                "Samples gone from a datastream before we pulled them");
    m.bad = beat_counter_new("beat_lighttrainer_samples_bad_total",
                             "Samples skipped: weight not finite and > 0");
    m.epoch_resets = beat_counter_new("beat_lighttrainer_epoch_resets_total",
                                      "Datastream restarts seen (cursor reset)");
    m.ckpts = beat_counter_new("beat_lighttrainer_checkpoints_total",
                               "Checkpoints accepted by the supervisor");
    m.ckpt_failures = beat_counter_new("beat_lighttrainer_checkpoint_failures_total",
                                       "Checkpoint pushes that failed or were rejected");
    m.auc = beat_gauge_new("beat_lighttrainer_progressive_auc",
                           "Progressive AUC over the last --window samples");
    m.logloss = beat_gauge_new("beat_lighttrainer_progressive_logloss",
                               "Progressive log loss over the last --window samples");
    m.avg_ctr =
        beat_gauge_new("beat_lighttrainer_avg_ctr_ratio", "Click rate corrected for down-sampling");
    m.restore = beat_gauge_new("beat_lighttrainer_restore_state",
                               "0 restoring, 1 restored from supervisor, 2 fresh start");
    m.ckpt_bytes =
        beat_gauge_new("beat_lighttrainer_checkpoint_bytes", "Size of the last checkpoint");
    m.model_age = beat_gauge_fn_new("beat_lighttrainer_model_age_seconds",
                                    "Time since the last accepted checkpoint", beat_pull_push_age_s,
                                    &g_status);
    m.ckpt_s = beat_histogram_new("beat_lighttrainer_checkpoint_seconds",
                                  "Time to build and push one checkpoint", beat_latency_bounds,
                                  beat_latency_nbounds);
}

static void cnt(beat_counter *c, uint64_t n) {
    if (c && n) beat_counter_add(c, n);
}
static void gset(beat_gauge *g, double v) {
    if (g) beat_gauge_set(g, v);
}

static bool health(void *arg, beat_buf *detail) {
    (void)arg;
    if (!beat_pull_health(&g_status, detail)) return false;
    beat_buf_printf(detail, ",\"samples\":%" PRId64 ",\"model_age_ms\":%" PRId64,
                    atomic_load(&g_samples), beat_pull_push_age_ms(&g_status));
    return true;
}

typedef struct trainer {
    ltr_model *model;
    beat_hash_params hp; /* the model's: campaign hashes for the factor term */
    ltr_prog prog;
    ltr_links *links;
    beat_buf ckpt, cursors;
    int64_t since_push;   /* samples trained since the last accepted push */
    bool need_push;       /* initial model not pushed yet */
    int64_t next_push_ms; /* monotonic */
    int64_t push_backoff_ms;
    uint64_t pushes, push_failures, bad;
    ltr_pull_stats pulled;
} trainer;

static int train_one(void *arg, const beat_sample *s) {
    trainer *t = arg;
    if (!(s->weight > 0) || !isfinite(s->weight) || s->weight > 1e6) {
        t->bad++;
        cnt(m.bad, 1);
        return -EINVAL;
    }
    uint64_t ch = beat_feat_campaign_hash(&t->hp, s->campaign);
    double p = ltr_model_learn(t->model, s->feat, (int)s->n_feat, ch, s->label, s->weight);
    ltr_prog_add(&t->prog, p, s->label, s->weight);
    t->since_push++;
    return 0;
}

/* Restores the model from the supervisor, retrying until it answers. */
static int restore(trainer *t, size_t max_bytes) {
    int64_t backoff = 0;
    while (beat_pull_retry(&backoff)) {
        beat_ckpt c;
        memset(&c, 0, sizeof c);
        int rc = ltr_links_fetch_ckpt(t->links, max_bytes, &c);
        if (rc == -EFBIG)
            beat_log(BEAT_WARN, "checkpoint_incompatible", "reason=\"over %zu bytes\"", max_bytes);
        if (rc == 0 || rc == -EFBIG) {
            t->need_push = true;
            atomic_store(&g_status.restore, BEAT_RESTORE_FRESH);
            gset(m.restore, 2);
            beat_log(BEAT_INFO, "fresh_start", "prior_ctr=%g", o_prior_ctr);
            return 0;
        }
        if (rc == 1) {
            char *cursors = NULL;
            beat_reason why = {{0}};
            bool fresh_factors = false;
            int r = ltr_model_restore(t->model, &c, &cursors, &fresh_factors, &t->prog, &why);
            if (r < 0) {
                /* Different hash space or model kind: the operator changed
                 * the trainer on purpose; start over in the new space. */
                beat_log(BEAT_WARN, "checkpoint_incompatible", "reason=\"%s\"", why.msg);
                t->need_push = true;
                atomic_store(&g_status.restore, BEAT_RESTORE_FRESH);
                gset(m.restore, 2);
            } else {
                if (r == 1)
                    beat_log(BEAT_WARN, "warm_start", "trainer=%s reason=\"%s\"", c.h.trainer,
                             why.msg);
                if (fresh_factors)
                    beat_log(BEAT_WARN, "factors_fresh",
                             "trainer=%s rank=%" PRIu32 " factor_bits=%" PRIu32 " ours=%" PRId64
                             "/%" PRIu32,
                             c.h.trainer, c.h.rank, c.h.factor_bits, o_rank, t->model->fac.bits);
                ltr_links_cursors_restore(t->links, cursors);
                atomic_store(&g_status.restore, BEAT_RESTORE_DONE);
                gset(m.restore, 1);
                beat_log(BEAT_INFO, "restored",
                         "trainer=%s samples_seen=%" PRId64 " auc=%g avg_ctr=%g private=%s",
                         c.h.trainer, c.h.samples_seen, c.h.auc, c.h.avg_ctr,
                         r == 0 ? "yes" : "no");
                atomic_store(&g_samples, t->model->samples_seen);
            }
            free(cursors);
            beat_ckpt_fini(&c);
            return 0;
        }
    }
    return -EINTR;
}

static void push_checkpoint(trainer *t) {
    int64_t t0 = beat_mono_us();
    ltr_prog_result pr;
    ltr_prog_compute(&t->prog, &pr);
    beat_buf_reset(&t->cursors);
    ltr_links_cursors_json(t->links, &t->cursors);
    ltr_ckpt_meta meta = {o_name, pr.auc, pr.logloss, beat_now_ms(), t->cursors.data, &t->prog};
    beat_buf_reset(&t->ckpt);
    int rc = ltr_model_encode(t->model, &meta, &t->ckpt);
    if (rc == 0) rc = ltr_links_push_ckpt(t->links, &t->ckpt);
    else beat_log_rl(5000, BEAT_ERROR, "checkpoint_encode", "err=%d", rc);
    gset(m.auc, pr.auc);
    gset(m.logloss, pr.logloss);
    gset(m.avg_ctr, ltr_model_avg_ctr(t->model));
    int64_t now = beat_mono_ms();
    if (rc == 0) {
        t->pushes++;
        cnt(m.ckpts, 1);
        gset(m.ckpt_bytes, (double)t->ckpt.len);
        atomic_store(&g_status.last_push_ms, beat_now_ms());
        t->since_push = 0;
        t->need_push = false;
        t->push_backoff_ms = 0;
        t->next_push_ms = now + o_ckpt_every_s * 1000;
    } else {
        t->push_failures++;
        cnt(m.ckpt_failures, 1);
        /* Retry sooner than the period, but back off from a sick peer. */
        t->push_backoff_ms = t->push_backoff_ms ? t->push_backoff_ms * 2 : 500;
        if (t->push_backoff_ms > o_ckpt_every_s * 1000) t->push_backoff_ms = o_ckpt_every_s * 1000;
        t->next_push_ms = now + t->push_backoff_ms;
    }
    if (m.ckpt_s) beat_histogram_observe(m.ckpt_s, (double)(beat_mono_us() - t0) / 1e6);
}

static void log_stats(trainer *t) {
    ltr_prog_result pr;
    ltr_prog_compute(&t->prog, &pr);
    beat_log(BEAT_INFO, "stats",
             "samples_seen=%" PRId64 " pulled=%" PRId64 " missed=%" PRId64 " pull_failures=%" PRId64
             " bad=%" PRIu64 " checkpoints=%" PRIu64 " checkpoint_failures=%" PRIu64
             " auc=%.4f logloss=%.4f window=%d avg_ctr=%.5f",
             t->model->samples_seen, t->pulled.samples, t->pulled.missed, t->pulled.failures,
             t->bad, t->pushes, t->push_failures, pr.auc, pr.logloss, pr.n,
             ltr_model_avg_ctr(t->model));
}

/* One round over every datastream; true if any had a full batch (more is
 * probably waiting, so do not sleep). */
static bool pull_round(trainer *t) {
    bool more = false;
    for (int i = 0; i < ltr_links_n_datastreams(t->links); i++) {
        ltr_pull_stats ps = {0};
        int rc = ltr_links_pull(t->links, i, train_one, t, &ps);
        if (rc == -EAGAIN) rc = ltr_links_pull(t->links, i, train_one, t, &ps);
        if (rc >= o_pull_max) more = true;
        cnt(m.samples, (uint64_t)ps.samples);
        cnt(m.missed, (uint64_t)ps.missed);
        cnt(m.epoch_resets, (uint64_t)ps.epoch_resets);
        t->pulled.samples += ps.samples;
        t->pulled.missed += ps.missed;
        t->pulled.failures += ps.failures;
    }
    atomic_store(&g_samples, t->model->samples_seen);
    return more;
}

int main(int argc, char **argv) {
    if (beat_cfg_start("beat-lighttrainer", "lighttrainer",
                       "Trains the CTR model online: datastream samples in, checkpoints to "
                       "the supervisor.",
                       opts, argc, argv, &o_log_level) != 0)
        return 64;
    if (beat_cfg_sim_clock("beat-lighttrainer", o_sim_clock) != 0) return 64;
    if (beat_cfg_secret("beat-lighttrainer", "admin-token", "BEAT_ADMIN_TOKEN", &o_token, NULL,
                        o_dev) != 0)
        return 64;
    if (o_datastreams.n == 0) {
        fprintf(stderr, "beat-lighttrainer: --datastream: at least one URL needed\n");
        return 64;
    }
    uint64_t seed = BEAT_HASH_SEED_DEFAULT;
    if (o_hash_seed && *o_hash_seed) {
        char *end = NULL;
        errno = 0;
        unsigned long long v = strtoull(o_hash_seed, &end, 16);
        if (errno || !end || *end || strlen(o_hash_seed) > 16) {
            fprintf(stderr, "beat-lighttrainer: --hash-seed: not a 64-bit hex value \"%s\"\n",
                    o_hash_seed);
            return 64;
        }
        seed = v;
    }
    beat_cfg_log(opts);
    beat_stop_install();
    metrics_init();

    trainer t;
    memset(&t, 0, sizeof t);
    ltr_ftrl f = {o_alpha, o_beta, o_l1, o_l2};
    if (o_factor_bits > o_hash_bits) o_factor_bits = o_hash_bits; /* a row is index & mask */
    ltr_fm fm = {(uint32_t)o_rank, (uint32_t)o_factor_bits, o_factor_lr, o_factor_l2};
    t.hp.bits = (uint32_t)o_hash_bits;
    t.hp.seed = seed;
    t.model = ltr_model_new((uint32_t)o_hash_bits, seed, &f, &fm, o_prior_ctr);
    if (!t.model || ltr_prog_init(&t.prog, (int)o_window) != 0) {
        beat_log(BEAT_FATAL, "oom", "what=model hash_bits=%" PRId64, o_hash_bits);
        return 1;
    }
    /* Bound of a checkpoint of our size: header, f32 weights and a private
     * section of at most dense f64 z and n (+ slack); never below 256 MiB
     * so that a restore of somewhat larger models still works. */
    size_t dim = (size_t)1 << o_hash_bits;
    size_t max_bytes = ((size_t)64 << 20) + (dim + 1) * (4 + 16 + 1) +
                       ((size_t)1 << o_factor_bits) * (size_t)(2 * o_rank + 2) * 4;
    if (max_bytes < ((size_t)256 << 20)) max_bytes = (size_t)256 << 20;
    beat_buf_init(&t.ckpt, max_bytes);
    beat_buf_init(&t.cursors, 1 << 20);
    t.links = ltr_links_new(&o_datastreams, o_supervisor, o_token, (long)o_pull_timeout_ms,
                            (long)o_timeout_ms, (int)o_pull_max);
    if (!t.links) {
        beat_log(BEAT_FATAL, "oom", "what=links");
        return 1;
    }
    int err = 0;
    beat_admin *admin = beat_admin_start_lim(o_listen, health, NULL, &o_http, &err);
    if (!admin) {
        beat_log(BEAT_FATAL, "listen_failed", "listen=%s err=%d", o_listen, err);
        return 1;
    }
    /* Alert rules (ops): the supervisor is only called to push (every
     * --checkpoint-every-s when trained), so its window spans three pushes. */
    int64_t sup_win = 3000 * o_ckpt_every_s > 30000 ? 3000 * o_ckpt_every_s : 30000;
    int64_t ds_win = 10 * o_poll_ms > 10000 ? 10 * o_poll_ms : 10000;
    beat_alert_rules *alert_rules = beat_alert_pull_rules_run(
        &o_alert, o_name, "lighttrainer", o_supervisor, m.ckpts, sup_win, &o_datastreams, ds_win);
    beat_log(BEAT_INFO, "started",
             "listen=%s datastreams=%d supervisor=%s name=%s hash_bits=%" PRId64 " rank=%" PRId64
             " factor_bits=%" PRId64,
             o_listen, o_datastreams.n, o_supervisor, o_name, o_hash_bits, o_rank, o_factor_bits);

    if (restore(&t, max_bytes) == 0) {
        int64_t now = beat_mono_ms();
        t.next_push_ms = now + o_ckpt_every_s * 1000;
        /* Nothing stored: the prior model goes out before any training, so
         * inference can bid and produce the first samples. */
        if (t.need_push) push_checkpoint(&t);
        int64_t next_stats = now + 10000;
        while (!beat_stop_requested()) {
            bool more = pull_round(&t);
            now = beat_mono_ms();
            bool due = now >= t.next_push_ms && (t.need_push || t.since_push > 0);
            if (due || (t.since_push >= o_ckpt_every_n && t.push_backoff_ms == 0))
                push_checkpoint(&t);
            now = beat_mono_ms();
            if (now >= next_stats) {
                log_stats(&t);
                next_stats = now + 10000;
            }
            if (!more) beat_stop_sleep_ms(o_poll_ms);
        }
        /* A graceful stop keeps what was learnt since the last push (one
         * bounded attempt; SIGKILL loses at most one period). */
        if (t.since_push > 0) push_checkpoint(&t);
        log_stats(&t);
    }

    beat_log(BEAT_INFO, "stopping", "samples_seen=%" PRId64, t.model->samples_seen);
    beat_alert_rules_end(alert_rules);
    beat_admin_stop(admin);
    ltr_links_free(t.links);
    ltr_model_free(t.model);
    ltr_prog_fini(&t.prog);
    beat_buf_fini(&t.ckpt);
    beat_buf_fini(&t.cursors);
    return 0;
}
