/* Counters of the simulated exchange and the end-of-run report: a human
 * table on stdout and, on request, a JSON summary that tests and the demo
 * read. Spend is kept in CPM micros (exact sums of clearing prices) and
 * converted to money micros (CPM / 1000) only when reported. Test traffic
 * is reported on its own line / under "test" (exsim.h, exs_stats). */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "beat_clock.h"
#include "beat_log.h"
#include "exsim.h"

#define LAT_BUCKET_US 10

static const char *const KIND_NAMES[EXS_N_KINDS] = {"win", "bill", "loss", "click", "conv"};

int exs_stats_init(exs_stats *s) {
    memset(s, 0, sizeof *s);
    s->lat_hist = calloc(EXS_LAT_BUCKETS, sizeof *s->lat_hist);
    s->campaigns = calloc(EXS_CAMPAIGNS_MAX, sizeof *s->campaigns);
    if (!s->lat_hist || !s->campaigns) {
        exs_stats_fini(s);
        return -ENOMEM;
    }
    return 0;
}

void exs_stats_fini(exs_stats *s) {
    free(s->lat_hist);
    free(s->campaigns);
    s->lat_hist = NULL;
    s->campaigns = NULL;
}

void exs_stats_latency(exs_stats *s, int64_t us) {
    int64_t b = us < 0 ? 0 : us / LAT_BUCKET_US;
    if (b >= EXS_LAT_BUCKETS) b = EXS_LAT_BUCKETS - 1;
    s->lat_hist[b]++;
    s->lat_n++;
}

double exs_hist_quantile_ms(const uint32_t *hist, int64_t n, double q) {
    if (n <= 0) return 0;
    int64_t want = (int64_t)(q * (double)n);
    if (want >= n) want = n - 1;
    int64_t seen = 0;
    for (int b = 0; b < EXS_LAT_BUCKETS; b++) {
        seen += hist[b];
        if (seen > want) return (double)(b + 1) * LAT_BUCKET_US / 1000.0;
    }
    return (double)EXS_LAT_BUCKETS * LAT_BUCKET_US / 1000.0;
}

double exs_stats_latency_ms(const exs_stats *s, double q) {
    return exs_hist_quantile_ms(s->lat_hist, s->lat_n, q);
}

exs_campaign_stats *exs_stats_campaign(exs_stats *s, const char *id) {
    for (int i = 0; i < s->n_campaigns; i++)
        if (strcmp(s->campaigns[i].id, id) == 0) return &s->campaigns[i];
    if (s->n_campaigns >= EXS_CAMPAIGNS_MAX || strlen(id) >= sizeof s->campaigns[0].id) {
        s->campaigns_dropped++;
        return NULL;
    }
    exs_campaign_stats *c = &s->campaigns[s->n_campaigns++];
    snprintf(c->id, sizeof c->id, "%s", id);
    return c;
}

static int64_t money_micros(int64_t cpm_micros) { return (cpm_micros + 500) / 1000; }

void exs_stats_print(const exs_stats *s, double elapsed_s) {
    printf("beat-exsim: %.1f s, %" PRId64 " requests (%.0f/s), %" PRId64 " skipped, %" PRId64
           " not sent (simulator stalled)\n",
           elapsed_s, s->requests, elapsed_s > 0 ? (double)s->requests / elapsed_s : 0.0,
           s->skipped, s->sim_stalled);
    printf("answers: 200=%" PRId64 " 204=%" PRId64 " 400=%" PRId64 " other=%" PRId64
           " timeouts=%" PRId64 " errors=%" PRId64 " bad=%" PRId64 "\n",
           s->ans_200, s->ans_204, s->ans_400, s->ans_other, s->timeouts, s->errors,
           s->bad_responses);
    printf("latency: p50=%.2f ms p99=%.2f ms (n=%" PRId64 ")\n", exs_stats_latency_ms(s, 0.50),
           exs_stats_latency_ms(s, 0.99), s->lat_n);
    printf("%-20s %10s %10s %7s %14s %8s %7s\n", "campaign", "bids", "wins", "win%", "spend_micros",
           "clicks", "ctr%");
    for (int i = 0; i < s->n_campaigns; i++) {
        const exs_campaign_stats *c = &s->campaigns[i];
        printf("%-20s %10" PRId64 " %10" PRId64 " %6.1f%% %14" PRId64 " %8" PRId64 " %6.2f%%\n",
               c->id, c->bids, c->wins, c->bids ? 100.0 * (double)c->wins / (double)c->bids : 0.0,
               money_micros(c->spend_cpm_micros), c->clicks,
               c->wins ? 100.0 * (double)c->clicks / (double)c->wins : 0.0);
    }
    printf("%-20s %10" PRId64 " %10" PRId64 " %6.1f%% %14" PRId64 " %8" PRId64 " %6.2f%%\n",
           "total", s->bids, s->wins, s->bids ? 100.0 * (double)s->wins / (double)s->bids : 0.0,
           money_micros(s->spend_cpm_micros), s->clicks,
           s->wins ? 100.0 * (double)s->clicks / (double)s->wins : 0.0);
    printf("losses: below_floor=%" PRId64 " outbid=%" PRId64 " filtered=%" PRId64
           "; retries=%" PRId64 " per_try_timeouts=%" PRId64 " ejections=%" PRId64 "\n",
           s->below_floor, s->outbid, s->blocked_bids, s->retries, s->per_try_timeouts,
           s->ejections);
    for (int k = 0; k < EXS_N_KINDS; k++)
        printf("notices %-5s sent=%" PRId64 " ok=%" PRId64 " failed=%" PRId64 " dropped=%" PRId64
               " retries=%" PRId64 "\n",
               KIND_NAMES[k], s->notice_sent[k], s->notice_ok[k], s->notice_failed[k],
               s->notice_dropped[k], s->notice_retried[k]);
    if (s->test_requests)
        printf("test traffic (never billed): requests=%" PRId64 " wins=%" PRId64
               " notices win=%" PRId64 " bill=%" PRId64 " loss=%" PRId64 " click=%" PRId64 "\n",
               s->test_requests, s->test_wins, s->test_notices[EXS_N_WIN],
               s->test_notices[EXS_N_BILL], s->test_notices[EXS_N_LOSS],
               s->test_notices[EXS_N_CLICK]);
    if (s->conv_decided)
        printf("conversions: decided=%" PRId64 " fired=%" PRId64 " value=%.2f no_token=%" PRId64
               "\n",
               s->conv_decided, s->convs, (double)s->conv_value_micros / 1e6, s->conv_no_token);
    if (s->replay_sent || s->forged_sent)
        printf("replays (never billed): sent=%" PRId64 " ok=%" PRId64 " failed=%" PRId64
               "; forged bills (never billed): sent=%" PRId64 " refused=%" PRId64
               " accepted=%" PRId64 " failed=%" PRId64 "\n",
               s->replay_sent, s->replay_ok, s->replay_failed, s->forged_sent, s->forged_refused,
               s->forged_accepted, s->forged_failed);
    if (s->click_no_href || s->campaigns_dropped)
        printf("click_no_href=%" PRId64 " campaigns_dropped=%d\n", s->click_no_href,
               s->campaigns_dropped);
    fflush(stdout);
}

static int encode(const exs_stats *s, double elapsed_s, const char *extra, beat_buf *b) {
    int rc = beat_buf_printf(
        b,
        "{\"elapsed_s\":%.3f,\"requests\":%" PRId64 ",\"skipped\":%" PRId64 ",\"retries\":%" PRId64
        ",\"answered\":{\"200\":%" PRId64 ",\"204\":%" PRId64 ",\"400\":%" PRId64
        ",\"other\":%" PRId64 "},\"timeouts\":%" PRId64 ",\"errors\":%" PRId64
        ",\"bad_responses\":%" PRId64 ",\"bids\":%" PRId64 ",\"wins\":%" PRId64
        ",\"spend_micros\":%" PRId64 ",\"spend_cpm_micros\":%" PRId64 ",\"clicks\":%" PRId64
        ",\"below_floor\":%" PRId64 ",\"outbid\":%" PRId64
        ",\"latency_ms\":{\"p50\":%.3f,\"p99\":%.3f,\"n\":%" PRId64 "},\"notices\":{",
        elapsed_s, s->requests, s->skipped, s->retries, s->ans_200, s->ans_204, s->ans_400,
        s->ans_other, s->timeouts, s->errors, s->bad_responses, s->bids, s->wins,
        money_micros(s->spend_cpm_micros), s->spend_cpm_micros, s->clicks, s->below_floor,
        s->outbid, exs_stats_latency_ms(s, 0.50), exs_stats_latency_ms(s, 0.99), s->lat_n);
    for (int k = 0; k < EXS_N_KINDS && rc == 0; k++)
        rc = beat_buf_printf(b,
                             "%s\"%s\":{\"sent\":%" PRId64 ",\"ok\":%" PRId64 ",\"failed\":%" PRId64
                             ",\"dropped\":%" PRId64 ",\"retries\":%" PRId64 "}",
                             k ? "," : "", KIND_NAMES[k], s->notice_sent[k], s->notice_ok[k],
                             s->notice_failed[k], s->notice_dropped[k], s->notice_retried[k]);
    if (rc == 0)
        rc = beat_buf_printf(
            b,
            "},\"convs\":{\"fired\":%" PRId64 ",\"value_micros\":%" PRId64 ",\"decided\":%" PRId64
            ",\"no_token\":%" PRId64 "},\"notice_dupes\":%" PRId64 ",\"delayed_dropped\":%" PRId64
            ",\"click_no_href\":%" PRId64 ",\"imps\":%" PRId64 ",\"per_try_timeouts\":%" PRId64
            ",\"ejections\":%" PRId64 ",\"filtered_bids\":%" PRId64 ",\"deal_bids\":%" PRId64
            ",\"wins_first_price\":%" PRId64 ",\"sim_stalled\":%" PRId64
            ",\"stall_adjusted\":%" PRId64 ",\"off_schedule_imps\":%" PRId64
            ",\"engine\":{\"start_ms\":%" PRId64 ",\"end_ms\":%" PRId64 ",\"rate\":%g},",
            s->convs, s->conv_value_micros, s->conv_decided, s->conv_no_token, s->notice_dupes,
            s->delayed_dropped, s->click_no_href, s->imps, s->per_try_timeouts, s->ejections,
            s->blocked_bids, s->deal_bids, s->wins_first_price, s->sim_stalled, s->stall_adjusted,
            s->off_schedule_imps, s->engine_start_ms, s->engine_end_ms, beat_clock_rate());
    if (rc == 0) {
        int64_t sent = 0;
        for (int k = 0; k < EXS_N_KINDS; k++) sent += s->test_notices[k];
        rc = beat_buf_printf(b,
                             "\"test\":{\"requests\":%" PRId64 ",\"wins\":%" PRId64
                             ",\"notices_sent\":%" PRId64 ",\"notices\":{",
                             s->test_requests, s->test_wins, sent);
    }
    for (int k = 0; k < EXS_N_KINDS && rc == 0; k++)
        rc = beat_buf_printf(b, "%s\"%s\":%" PRId64, k ? "," : "", KIND_NAMES[k],
                             s->test_notices[k]);
    if (rc == 0) rc = beat_buf_puts(b, "}},");
    if (rc == 0)
        rc = beat_buf_printf(b,
                             "\"replays\":{\"sent\":%" PRId64 ",\"ok\":%" PRId64
                             ",\"failed\":%" PRId64 "},\"forged\":{\"sent\":%" PRId64
                             ",\"refused\":%" PRId64 ",\"accepted\":%" PRId64 ",\"failed\":%" PRId64
                             "},",
                             s->replay_sent, s->replay_ok, s->replay_failed, s->forged_sent,
                             s->forged_refused, s->forged_accepted, s->forged_failed);
    /* First price: paid vs the value bid before shading (saved = the gap). */
    if (rc == 0)
        rc = beat_buf_printf(b,
                             "\"first_price\":{\"wins\":%" PRId64 ",\"paid_micros\":%" PRId64
                             ",\"value_micros\":%" PRId64 ",\"saved_micros\":%" PRId64
                             "},\"explain\":{\"answers\":%" PRId64 ",\"malformed\":%" PRId64 "},",
                             s->wins_first_price, money_micros(s->fp_paid_cpm_micros),
                             money_micros(s->fp_value_cpm_micros),
                             money_micros(s->fp_value_cpm_micros - s->fp_paid_cpm_micros),
                             s->explain_ok, s->explain_bad);
    static const char *const FMT[3] = {"banner", "video", "native"};
    if (rc == 0) rc = beat_buf_puts(b, "\"by_format\":{");
    for (int k = 0; k < 3 && rc == 0; k++)
        rc = beat_buf_printf(
            b, "%s\"%s\":{\"requests\":%" PRId64 ",\"bids\":%" PRId64 ",\"wins\":%" PRId64 "}",
            k ? "," : "", FMT[k], s->by_fmt_req[k], s->by_fmt_bids[k], s->by_fmt_wins[k]);
    if (rc == 0) rc = beat_buf_puts(b, "},\"campaigns\":{");
    for (int i = 0; i < s->n_campaigns && rc == 0; i++) {
        const exs_campaign_stats *c = &s->campaigns[i];
        if (i) rc = beat_buf_puts(b, ",");
        if (rc == 0) rc = beat_buf_json_str(b, c->id, strlen(c->id));
        if (rc == 0)
            rc = beat_buf_printf(
                b,
                ":{\"bids\":%" PRId64 ",\"wins\":%" PRId64 ",\"spend_micros\":%" PRId64
                ",\"spend_cpm_micros\":%" PRId64 ",\"bid_cpm_micros\":%" PRId64
                ",\"clicks\":%" PRId64 ",\"imps\":%" PRId64 ",\"off_schedule_imps\":%" PRId64
                ",\"exp_clicks\":%.2f,\"fp_wins\":%" PRId64 ",\"fp_paid_micros\":%" PRId64
                ",\"fp_value_micros\":%" PRId64 ",\"convs\":%" PRId64
                ",\"conv_value_micros\":%" PRId64 "}",
                c->bids, c->wins, money_micros(c->spend_cpm_micros), c->spend_cpm_micros,
                c->bid_cpm_micros, c->clicks, c->imps, c->off_schedule_imps, c->exp_clicks,
                c->fp_wins, money_micros(c->fp_paid_cpm_micros),
                money_micros(c->fp_value_cpm_micros), c->convs, c->conv_value_micros);
    }
    if (rc == 0) rc = beat_buf_puts(b, "}");
    if (rc == 0 && extra) rc = beat_buf_puts(b, extra);
    if (rc == 0) rc = beat_buf_puts(b, "}\n");
    return rc;
}

int exs_stats_timeline(const exs_stats *s, int64_t now_ms, double rate, double p50_ms,
                       double p99_ms, FILE *f) {
    fprintf(f,
            "{\"ts\":%" PRId64 ",\"rate\":%.1f,\"requests\":%" PRId64 ",\"skipped\":%" PRId64
            ",\"answered\":%" PRId64 ",\"timeouts\":%" PRId64 ",\"errors\":%" PRId64
            ",\"retries\":%" PRId64 ",\"bids\":%" PRId64 ",\"wins\":%" PRId64
            ",\"spend_micros\":%" PRId64 ",\"clicks\":%" PRId64
            ",\"p50_ms\":%.3f,\"p99_ms\":%.3f,\"campaigns\":{",
            now_ms, rate, s->requests, s->skipped, s->ans_200 + s->ans_204, s->timeouts, s->errors,
            s->retries, s->bids, s->wins, money_micros(s->spend_cpm_micros), s->clicks, p50_ms,
            p99_ms);
    for (int i = 0; i < s->n_campaigns; i++) {
        const exs_campaign_stats *c = &s->campaigns[i];
        fprintf(f, "%s\"%s\":[%" PRId64 ",%" PRId64 ",%" PRId64 ",%" PRId64 ",%" PRId64 "]",
                i ? "," : "", c->id, c->wins, money_micros(c->spend_cpm_micros), c->clicks, c->bids,
                money_micros(c->bid_cpm_micros));
    }
    fputs("}}\n", f);
    return fflush(f) == 0 ? 0 : -EIO;
}

int exs_stats_write_json(const exs_stats *s, double elapsed_s, const char *extra,
                         const char *path) {
    beat_buf b;
    beat_buf_init(&b, 16 << 20);
    int rc = encode(s, elapsed_s, extra, &b);
    if (rc == 0) {
        /* Write then rename, so a reader never sees half a summary. */
        char tmp[4096];
        snprintf(tmp, sizeof tmp, "%s.tmp", path);
        FILE *f = fopen(tmp, "w");
        if (!f) rc = -errno;
        else {
            if (fwrite(b.data, 1, b.len, f) != b.len) rc = -EIO;
            if (fclose(f) != 0 && rc == 0) rc = -EIO;
            if (rc == 0 && rename(tmp, path) != 0) rc = -errno;
        }
    }
    if (rc < 0) beat_log(BEAT_ERROR, "json_write_failed", "path=%s err=%d", path, rc);
    beat_buf_fini(&b);
    return rc;
}
