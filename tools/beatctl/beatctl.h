/* beatctl internals: the layout of a local engine (which daemons, which
 * ports, which environment) and the runner that keeps them alive. The CLI
 * (main.c) and the runner talk only through files under the run directory:
 *   run/pids/NAME      "pid start_ms restarts" of the running instance
 *   run/hold/NAME      present: the runner must not (re)start NAME
 *   run/logs/NAME.log  the daemon's stderr/stdout
 *   run/beatctl.pid    the runner; run/env  shell-sourceable addresses
 *   run/exchanges.json, run/exchange-keys   exchanges with generated keys (0600) */
#ifndef BEATCTL_H
#define BEATCTL_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#define CTL_MAX_DAEMONS 32
#define CTL_MAX_ARGS 24
#define CTL_MAX_ENV 32

typedef struct ctl_daemon {
    char name[48];  /* "inference-1" */
    char bin[32];   /* "beat-inference" */
    int admin_port; /* where /healthz answers */
    char *argv[CTL_MAX_ARGS];
    int argc;
    /* runner bookkeeping */
    pid_t pid;
    int64_t start_ms;
    int restarts;
    int fast_failures;
    int64_t next_start_ms;
} ctl_daemon;

typedef struct ctl_layout {
    char run_dir[512];
    char bin_dir[512];
    int port_base;
    int n_inference, n_datastream, n_receiver;
    char campaigns[512];
    char exchanges[600];     /* run/exchanges.json for the supervisor, or "" */
    char exsim_exchange[65]; /* beat-exsim's identity in run/env, or "" */
    char exsim_key[257];
    char *env[CTL_MAX_ENV]; /* "KEY=value", exported to every daemon */
    int n_env;
    ctl_daemon d[CTL_MAX_DAEMONS];
    int n;
} ctl_layout;

/* Fills the layout from flags already parsed into it (run_dir, bin_dir,
 * port_base, counts, campaigns) and the caller's environment. */
int ctl_layout_build(ctl_layout *l);
/* Writes run/env (export lines) and run/layout (name port per line). */
int ctl_layout_write(const ctl_layout *l);
/* Reads run/layout back for status/kill: names and ports only. */
int ctl_layout_read(ctl_layout *l);
void ctl_path(const ctl_layout *l, char *out, size_t len, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Reads the operator's exchanges file src, generates every "key":"generate"
 * and writes run/exchanges.json and run/exchange-keys (mode 0600); sets
 * l->exchanges and beat-exsim's identity. Negative errno with err. */
int ctl_exchanges_prepare(ctl_layout *l, const char *src, char *err, size_t err_len);

/* Runs the keep-alive loop until SIGTERM; then stops every daemon. Never
 * returns until all children have exited. */
int ctl_runner(ctl_layout *l);

#endif
