/* beat-datastream's option table (opts.h); docs/config.md is generated from
 * it (scripts/gen-config-doc.sh). */
#include "opts.h"

dst_opt_values dst_o = {.http = BEAT_HTTP_LIMITS_DEFAULT};

/* One option per entry, its fields named: a table, laid out by hand. */
/* clang-format off */
const beat_opt dst_opts[] = {
    {.name = "listen", .env = "BEAT_DATASTREAM_LISTEN",
     .type = BEAT_OPT_STR, .dst = &dst_o.listen, .def = "127.0.0.1:8082",
     .help = "HTTP address (/v1/aggregates, /v1/samples, /healthz, /metrics)"},
    BEAT_OPT_KAFKA_BROKERS(&dst_o.brokers),
    BEAT_OPT_KAFKA_TOPIC(&dst_o.topic, "Kafka topic of events"),
    {.name = "kafka-opt", .env = "BEAT_DATASTREAM_KAFKA_OPTS",
     .type = BEAT_OPT_STRLIST, .dst = &dst_o.kafka_opts,
     .help = "extra librdkafka consumer property KEY=VALUE (repeatable; env: comma "
             "list), e.g. session.timeout.ms=6000 or security settings"},
    {.name = "group", .env = "BEAT_DATASTREAM_GROUP",
     .type = BEAT_OPT_STR, .dst = &dst_o.group, .def = "beat-datastream",
     .help = "Kafka consumer group (instances in one group split the partitions)"},
    {.name = "start-from", .env = "BEAT_DATASTREAM_START",
     .type = BEAT_OPT_STR, .dst = &dst_o.start_from, .def = "beginning",
     .help = "where a partition with no stored offset (new store) starts: beginning "
             "(the retained log: nothing produced before is skipped) or end (only new "
             "events)"},
    {.name = "store-dir", .env = "BEAT_DATASTREAM_STORE_DIR",
     .type = BEAT_OPT_STR, .dst = &dst_o.store_dir,
     .help = "directory of the per-partition stores (dedup keys + offsets, SQLite; "
             "required; part of the spend ledger: see docs/operations.md). Every "
             "instance of the group on a host shares it"},
    {.name = "store-sync", .env = "BEAT_DATASTREAM_STORE_SYNC",
     .type = BEAT_OPT_STR, .dst = &dst_o.store_sync, .def = "full",
     .help = "full: fsync every batch (a power cut loses nothing committed); normal: "
             "fsync at checkpoints only (a crash loses nothing, a power cut may lose "
             "the last batches' keys: those notices could count twice)"},
    {.name = "dedup-retention-s", .env = "BEAT_DATASTREAM_DEDUP_RETENTION_S",
     .type = BEAT_OPT_INT, .dst = &dst_o.retention_s, .def = "3900", .min = 60, .max = 400 * 86400,
     .help = "how long a notice key is kept, from its signed ts; must be >= the "
             "receiver's --notice-max-age-s plus its 300 s future allowance"},
    {.name = "dedup-max-keys", .env = "BEAT_DATASTREAM_DEDUP_MAX_KEYS",
     .type = BEAT_OPT_INT, .dst = &dst_o.max_keys, .def = "20000000", .min = 1000, .max = 2000000000,
     .help = "keys per partition store before it reports store_full (it keeps "
             "storing: a key is never forgotten early); size it peak notices/s per "
             "partition x retention x 1.5"},
    {.name = "alert-store-fill-warn-pct", .env = "BEAT_ALERT_STORE_FILL_WARN_PCT",
     .type = BEAT_OPT_DBL, .dst = &dst_o.fill_warn_pct, .def = "80", .min = 0, .max = 100,
     .help = "warn when the fullest partition store reaches this % of --dedup-max-keys "
             "(0 = off; 100 % is an error)"},
    {.name = "bucket-ms", .env = "BEAT_DATASTREAM_BUCKET_MS",
     .type = BEAT_OPT_INT, .dst = &dst_o.bucket_ms, .def = "1000", .min = 10, .max = 3600000,
     .help = "aggregate bucket length (processing time)"},
    {.name = "buckets-max", .env = "BEAT_DATASTREAM_BUCKETS_MAX",
     .type = BEAT_OPT_INT, .dst = &dst_o.buckets_max, .def = "3600", .min = 1, .max = 1000000,
     .help = "closed buckets kept for readers"},
    {.name = "join-window-ms", .env = "BEAT_DATASTREAM_JOIN_WINDOW_MS",
     .type = BEAT_OPT_INT, .dst = &dst_o.window_ms, .def = "30000", .min = 10, .max = 86400000,
     .help = "how long an auction stays open for joining, from first sight"},
    {.name = "max-open-auctions", .env = "BEAT_DATASTREAM_MAX_OPEN_AUCTIONS",
     .type = BEAT_OPT_INT, .dst = &dst_o.max_open, .def = "200000", .min = 1, .max = 100000000,
     .help = "open join entries; beyond it the oldest is dropped and counted"},
    {.name = "neg-rate", .env = "BEAT_DATASTREAM_NEG_RATE",
     .type = BEAT_OPT_DBL, .dst = &dst_o.neg_rate, .def = "0.1", .min = 1e-6, .max = 1,
     .help = "probability of keeping a negative sample (kept ones weigh 1/rate)"},
    {.name = "samples-max", .env = "BEAT_DATASTREAM_SAMPLES_MAX",
     .type = BEAT_OPT_INT, .dst = &dst_o.samples_max, .def = "200000", .min = 1, .max = 100000000,
     .help = "samples kept in the ring for readers"},
    {.name = "settle-ms", .env = "BEAT_DATASTREAM_SETTLE_MS",
     .type = BEAT_OPT_INT, .dst = &dst_o.settle_ms, .def = "30000", .min = 1000, .max = 86400000,
     .help = "a bid with no win, bill or loss notice this long after it was made, while every "
             "receiver was heard throughout, is released from its budget lease (docs/money.md: "
             "longer than exchanges take to bill; a bill that comes later still debits)"},
    BEAT_OPT_CLOCK_SKEW(&dst_o.clock_skew_ms),
    {.name = "hb-gap-ms", .env = "BEAT_DATASTREAM_HB_GAP_MS",
     .type = BEAT_OPT_INT, .dst = &dst_o.hb_gap_ms, .def = "3000", .min = 100, .max = 3600000,
     .help = "a receiver's heartbeats further apart than this are a gap: bids around it never "
             "expire (their notices may have been lost unheard)"},
    {.name = "receiver-forget-s", .env = "BEAT_DATASTREAM_RECEIVER_FORGET_S",
     .type = BEAT_OPT_INT, .dst = &dst_o.forget_s, .def = "300", .min = 1, .max = 86400,
     .help = "a receiver whose heartbeat was not read for this long no longer holds back "
             "a partition's heard time (heard_ms in aggregates; one that said goodbye is "
             "dropped at once)"},
    {.name = "max-campaigns", .env = "BEAT_DATASTREAM_MAX_CAMPAIGNS",
     .type = BEAT_OPT_INT, .dst = &dst_o.max_campaigns, .def = "10000", .min = 1, .max = 1000000,
     .help = "campaigns per bucket; updates beyond it are dropped and counted"},
    {.name = "fcap-rows", .env = "BEAT_DATASTREAM_FCAP_ROWS",
     .type = BEAT_OPT_INT, .dst = &dst_o.fcap_rows, .def = "262144", .min = 4, .max = 1 << 28,
     .help = "frequency-cap rows (campaign, person, window) kept, about 80 bytes each; when "
             "full the oldest window is evicted and counted (docs/campaigns.md \"freq_cap\")"},
    BEAT_ALERT_OPTS(&dst_o.alert),
    {.name = "name", .env = "BEAT_DATASTREAM_NAME",
     .type = BEAT_OPT_STR, .dst = &dst_o.name, .def = "datastream-1",
     .help = "instance name (in answers as \"instance\")"},
    BEAT_HTTP_OPTS(dst_o.http),
    {.name = "report-retention-h", .env = "BEAT_DATASTREAM_REPORT_RETENTION_H",
     .type = BEAT_OPT_INT, .dst = &dst_o.report_retention_h, .def = "9600", .min = 1,
     .max = 876000,
     .help = "hourly report rows (GET /v1/reports) of engine hours older than this are "
             "deleted from the partition stores (default 400 days; docs/reports.md)"},
    {.name = "report-workers", .env = "BEAT_DATASTREAM_REPORT_WORKERS", .type = BEAT_OPT_INT,
     .dst = &dst_o.report_workers, .def = "2", .min = 1, .max = 16,
     .help = "threads answering GET /v1/reports, so a long report never delays the "
             "aggregates, ledger, samples and caps answers (docs/reports.md)"},
    {.name = "report-queue-max", .env = "BEAT_DATASTREAM_REPORT_QUEUE_MAX", .type = BEAT_OPT_INT,
     .dst = &dst_o.report_queue_max, .def = "8", .min = 0, .max = 1024,
     .help = "GET /v1/reports queries waiting for a busy report worker; beyond, 503 with "
             "Retry-After"},
    BEAT_OPT_SIM_CLOCK(&dst_o.sim_clock),
    BEAT_OPT_LOG_LEVEL(&dst_o.level),
    BEAT_OPT_END,
};
/* clang-format on */
