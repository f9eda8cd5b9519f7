/* Option tables: every daemon declares one table of options; each option
 * has a long flag, an environment twin, a type, a default, bounds and help.
 * Precedence: default < env < flag. --help prints the table; --help-md
 * prints it as a Markdown table for docs/config.md. A bad value exits with
 * status 64 and a message naming the option (docs/style.md "Config"). */
#ifndef BEAT_CFG_H
#define BEAT_CFG_H

#include <stdbool.h>
#include <stdint.h>

typedef enum {
    BEAT_OPT_STR,    /* dst: char ** (owned by cfg, lives until exit) */
    BEAT_OPT_INT,    /* dst: int64_t * ; bounds min..max */
    BEAT_OPT_DBL,    /* dst: double *  ; bounds min..max */
    BEAT_OPT_BOOL,   /* dst: bool *    ; "1/0/true/false/yes/no"; flag alone = true */
    BEAT_OPT_STRLIST /* dst: beat_strlist * ; repeatable flag, env is comma-separated */
} beat_opt_type;

typedef struct beat_strlist {
    char **v;
    int n;
} beat_strlist;

typedef struct beat_opt {
    const char *name; /* "listen" → --listen */
    const char *env;  /* "BEAT_INFERENCE_LISTEN", or NULL for flag-only */
    beat_opt_type type;
    void *dst;
    const char *def; /* default as text; NULL = empty / unset */
    double min, max; /* numeric bounds, inclusive; none if min >= max (e.g.
                          both left out of a designated initializer) */
    const char *help;
    bool secret; /* true: value never printed (tokens, secrets) */
} beat_opt;

#define BEAT_OPT_END                                                                               \
    { 0 }

/* Parses env and argv against opts (terminated by BEAT_OPT_END). Handles
 * --help / --help-md (prints, exits 0). On a bad value or unknown flag prints
 * "prog: --name: reason" to stderr and exits 64. Positional arguments are
 * left in argv[*first_arg..argc) when first_arg is not NULL; otherwise they
 * are an error. */
void beat_cfg_parse(const char *prog, const char *summary, const beat_opt *opts, int argc,
                    char **argv, int *first_arg);

/* The start of every daemon's main(): beat_cfg_parse() (may exit as it
 * says), then the --log-level value (*level, which the parse fills) is
 * parsed and logging starts as svc. Returns 0, or 64 (exit status for a
 * usage error) after "prog: --log-level: unknown level ..." on stderr. */
int beat_cfg_start(const char *prog, const char *svc, const char *summary, const beat_opt *opts,
                   int argc, char **argv, char *const *level);

/* Checks a single value against an option (used by tests and fuzzing).
 * Returns 0 or -EINVAL with a reason. */
int beat_cfg_set(const beat_opt *opt, const char *value, char *err, unsigned err_len);

/* --dev (env BEAT_DEV): development mode, the only way a daemon starts
 * with the development notice secret or without an admin token
 * (docs/deploy.md "Secrets and --dev"). dst: bool *. */
/* clang-format off */
#define BEAT_OPT_DEV(ptr)                                                          \
    {.name = "dev", .env = "BEAT_DEV",                                             \
     .type = BEAT_OPT_BOOL, .dst = (ptr), .def = "0",                              \
     .help = "development mode: allow the development notice secret and an empty " \
             "admin token (logged loudly; never in production)"}
/* clang-format on */

/* --log-level (env BEAT_LOG_LEVEL, shared by every daemon): the lowest
 * level logged, read by beat_cfg_start. dst: char **. */
/* clang-format off */
#define BEAT_OPT_LOG_LEVEL(ptr)                                                    \
    {.name = "log-level", .env = "BEAT_LOG_LEVEL",                                 \
     .type = BEAT_OPT_STR, .dst = (ptr), .def = "info",                            \
     .help = "debug|info|warn|error"}
/* clang-format on */

/* --kafka-brokers (env BEAT_KAFKA_BROKERS, shared by the daemons that talk
 * to Kafka: receiver, datastream): the bootstrap servers. dst: char **. */
/* clang-format off */
#define BEAT_OPT_KAFKA_BROKERS(ptr)                                                \
    {.name = "kafka-brokers", .env = "BEAT_KAFKA_BROKERS",                         \
     .type = BEAT_OPT_STR, .dst = (ptr), .def = "127.0.0.1:9092",                  \
     .help = "Kafka bootstrap servers (comma list)"}
/* clang-format on */

/* --topic (env BEAT_KAFKA_TOPIC): the events topic, one name for its
 * producers and consumers; help says what this program does with it.
 * dst: char **. */
/* clang-format off */
#define BEAT_OPT_KAFKA_TOPIC(ptr, help_text)                                       \
    {.name = "topic", .env = "BEAT_KAFKA_TOPIC",                                   \
     .type = BEAT_OPT_STR, .dst = (ptr), .def = "beat.events",                     \
     .help = (help_text)}
/* clang-format on */

/* --notice-secret (env BEAT_NOTICE_SECRET): the HMAC key inference signs
 * notice URLs with and the receiver checks them with, so both must read the
 * same variable. A secret: never printed; checked by beat_cfg_secret.
 * dst: char **. */
/* clang-format off */
#define BEAT_OPT_NOTICE_SECRET(ptr, help_text)                                     \
    {.name = "notice-secret", .env = "BEAT_NOTICE_SECRET",                         \
     .type = BEAT_OPT_STR, .dst = (ptr), .help = (help_text), .secret = true}
/* clang-format on */

/* --max-clock-skew-ms (env BEAT_MAX_CLOCK_SKEW_MS, shared by every daemon):
 * how far ahead of our clock a peer's timestamp may be (beat_ts_ahead).
 * dst: int64_t *. */
/* clang-format off */
#define BEAT_OPT_CLOCK_SKEW(ptr)                                                       \
    {.name = "max-clock-skew-ms", .env = "BEAT_MAX_CLOCK_SKEW_MS",                     \
     .type = BEAT_OPT_INT, .dst = (ptr), .def = "5000", .min = 0, .max = 86400000,     \
     .help = "a timestamp from another daemon further ahead of this clock is refused " \
             "(counted, logged as future_timestamp), keeping the last good value: a "  \
             "future time would switch off the staleness checks it feeds"}
/* clang-format on */

/* --sim-clock (env BEAT_SIM_CLOCK, shared by every daemon and beat-exsim):
 * the engine clock's spec (beat_clock.h), empty = the wall clock. Demos and
 * tests only. dst: char **. */
/* clang-format off */
#define BEAT_OPT_SIM_CLOCK(ptr)                                                        \
    {.name = "sim-clock", .env = "BEAT_SIM_CLOCK",                                     \
     .type = BEAT_OPT_STR, .dst = (ptr), .def = "",                                    \
     .help = "simulated engine clock ORIGIN_WALL_MS:START_ENGINE_MS:RATE for demos "   \
             "and tests (campaign flights, schedules and days follow it; timeouts "    \
             "keep the wall clock); empty = wall clock; never set in production"}
/* clang-format on */

/* Starts the engine clock from the --sim-clock value (NULL or "" = wall
 * clock). Returns 0, or 64 (the usage exit status) after "prog:
 * --sim-clock: reason" on stderr. A simulated clock is logged as a
 * "sim_clock" warning. Call after beat_cfg_start, before threads start. */
int beat_cfg_sim_clock(const char *prog, const char *spec);

/* Refuses to run on a secret a production daemon must not use: *value empty
 * or NULL, or equal to dev_value (the well-known development default; NULL:
 * none). With dev, an empty *value becomes dev_value (when given) and the
 * choice is logged as a "dev_secret" warning (once per process also
 * "dev_mode"). flag/env name the option in messages. Returns 0, or 64
 * (the exit status to use, as for any bad option) after printing
 * "prog: --flag: reason" on stderr and logging a fatal "secret_refused". */
int beat_cfg_secret(const char *prog, const char *flag, const char *env, char **value,
                    const char *dev_value, bool dev);

/* Logs one "config" info event listing every option's effective value
 * (secrets shown as "***"). */
void beat_cfg_log(const beat_opt *opts);

#endif
