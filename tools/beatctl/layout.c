/* The local engine's layout: which daemons run, on which ports, with which
 * shared environment. Every address derives from one port base so tests
 * can run a whole engine beside another (base 8080 gives the default ports
 * of docs/architecture.md "The shape"; the mapping: "Running locally"). */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "beat_util.h"
#include "beatctl.h"

void ctl_path(const ctl_layout *l, char *out, size_t len, const char *fmt, ...) {
    int n = snprintf(out, len, "%s/", l->run_dir);
    va_list ap;
    va_start(ap, fmt);
    if (n > 0 && (size_t)n < len) vsnprintf(out + n, len - (size_t)n, fmt, ap);
    va_end(ap);
}

static void env_add(ctl_layout *l, const char *key, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void env_add(ctl_layout *l, const char *key, const char *fmt, ...) {
    char val[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(val, sizeof val, fmt, ap);
    va_end(ap);
    BEAT_ASSERT(l->n_env < CTL_MAX_ENV);
    char *kv = NULL;
    if (asprintf(&kv, "%s=%s", key, val) < 0) abort();
    l->env[l->n_env++] = kv;
}

/* A secret the operator did not set: random per `up`, kept in run/env. */
static void env_secret(ctl_layout *l, const char *key) {
    const char *v = getenv(key);
    if (v && *v) env_add(l, key, "%s", v);
    else
        env_add(l, key, "%016llx%016llx", (unsigned long long)beat_random_u64(),
                (unsigned long long)beat_random_u64());
}

static ctl_daemon *add(ctl_layout *l, const char *name, const char *bin, int port) {
    BEAT_ASSERT(l->n < CTL_MAX_DAEMONS);
    ctl_daemon *d = &l->d[l->n++];
    memset(d, 0, sizeof *d);
    snprintf(d->name, sizeof d->name, "%s", name);
    snprintf(d->bin, sizeof d->bin, "%s", bin);
    d->admin_port = port;
    return d;
}

static void arg(ctl_daemon *d, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void arg(ctl_daemon *d, const char *fmt, ...) {
    BEAT_ASSERT(d->argc < CTL_MAX_ARGS - 1);
    va_list ap;
    va_start(ap, fmt);
    if (vasprintf(&d->argv[d->argc++], fmt, ap) < 0) abort();
    va_end(ap);
}

/* Port plan for base P: inference-1 P, receiver notices P+1 (every receiver
 * shares it: SO_REUSEPORT), datastream-1 P+2, supervisor P+3, actuator P+4,
 * lighttrainer P+5, kafka-dev admin P+6, inference-i P+10+i, datastream-i
 * P+20+i, receiver-i's own /healthz and /metrics P+30+i, Kafka P+1012, nng
 * bid log of receiver-1 P-979 and of receiver-i P-990+i, supervisor pub
 * P-977, rep P-976 and lease P-975. */
static int bidlog_port(int P, int i) { return i == 1 ? P - 979 : P - 990 + i; }
int ctl_layout_build(ctl_layout *l) {
    int P = l->port_base;
    if (P < 2000 || P > 60000) return -EINVAL;
    int kafka = P + 1012;
    l->n = l->n_env = 0;
    env_add(l, "BEAT_KAFKA_BROKERS", "127.0.0.1:%d", kafka);
    const char *topic = getenv("BEAT_KAFKA_TOPIC");
    env_add(l, "BEAT_KAFKA_TOPIC", "%s", topic && *topic ? topic : "beat.events");
    env_add(l, "BEAT_SUPERVISOR_URL", "http://127.0.0.1:%d", P + 3);
    env_add(l, "BEAT_SUPERVISOR_PUB", "tcp://127.0.0.1:%d", P - 977);
    env_add(l, "BEAT_SUPERVISOR_REP", "tcp://127.0.0.1:%d", P - 976);
    env_add(l, "BEAT_SUPERVISOR_LEASE", "tcp://127.0.0.1:%d", P - 975);
    env_add(l, "BEAT_RECEIVER_URL", "http://127.0.0.1:%d", P + 1);
    /* Inference dials every receiver's bid-log address (a comma list); each
     * receiver gets its own with --bidlog-listen. */
    char urls[512] = "";
    for (int i = 1; i <= l->n_receiver; i++) {
        size_t n = strlen(urls);
        snprintf(urls + n, sizeof urls - n, "%stcp://127.0.0.1:%d", i > 1 ? "," : "",
                 bidlog_port(P, i));
    }
    env_add(l, "BEAT_RECEIVER_BIDLOG", "%s", urls);
    urls[0] = 0;
    for (int i = 1; i <= l->n_datastream; i++) {
        size_t n = strlen(urls);
        snprintf(urls + n, sizeof urls - n, "%shttp://127.0.0.1:%d", i > 1 ? "," : "",
                 i == 1 ? P + 2 : P + 20 + i);
    }
    env_add(l, "BEAT_DATASTREAM_URLS", "%s", urls);
    urls[0] = 0;
    for (int i = 1; i <= l->n_inference; i++) {
        size_t n = strlen(urls);
        snprintf(urls + n, sizeof urls - n, "%shttp://127.0.0.1:%d", i > 1 ? "," : "",
                 i == 1 ? P : P + 10 + i);
    }
    env_add(l, "BEAT_INFERENCE_URLS", "%s", urls);
    env_secret(l, "BEAT_NOTICE_SECRET");
    env_secret(l, "BEAT_ADMIN_TOKEN");
    if (l->exsim_exchange[0]) { /* who beat-exsim sends as (docs/exchanges.md) */
        env_add(l, "BEAT_EXSIM_EXCHANGE", "%s", l->exsim_exchange);
        env_add(l, "BEAT_EXSIM_EXCHANGE_KEY", "%s", l->exsim_key);
    }

    char path[600];
    ctl_daemon *d = add(l, "kafka-dev", "beat-kafka-dev", P + 6);
    arg(d, "--port=%d", kafka);
    arg(d, "--listen=127.0.0.1:%d", P + 6);
    ctl_path(l, path, sizeof path, "kafka.bootstrap");
    arg(d, "--bootstrap-file=%s", path);

    d = add(l, "supervisor", "beat-supervisor", P + 3);
    ctl_path(l, path, sizeof path, "supervisor.db");
    arg(d, "--db=%s", path);
    if (l->campaigns[0]) arg(d, "--campaigns=%s", l->campaigns);
    if (l->exchanges[0]) arg(d, "--exchanges=%s", l->exchanges);

    for (int i = 1; i <= l->n_receiver; i++) {
        char name[32];
        snprintf(name, sizeof name, "receiver-%d", i);
        d = add(l, name, "beat-receiver", P + 30 + i);
        /* All share the notice port; each has its own admin port (what
         * `status` asks) and bid-log address. */
        arg(d, "--listen=127.0.0.1:%d", P + 1);
        arg(d, "--reuseport");
        arg(d, "--admin-listen=127.0.0.1:%d", P + 30 + i);
        arg(d, "--bidlog-listen=tcp://127.0.0.1:%d", bidlog_port(P, i));
    }
    /* Every datastream shares one store directory, so a partition's store
     * follows it to whichever instance owns it next. The dedup retention
     * must cover the receiver's notice max age plus its 300 s future
     * allowance (docs/operations.md "The datastream store"): derived here
     * unless the operator set it. */
    const char *max_age = getenv("BEAT_RECEIVER_NOTICE_MAX_AGE_S");
    const char *retention = getenv("BEAT_DATASTREAM_DEDUP_RETENTION_S");
    int64_t age_s = 3600;
    if (max_age && *max_age && beat_parse_i64(max_age, &age_s) != 0) age_s = 3600;
    for (int i = 1; i <= l->n_datastream; i++) {
        char name[32];
        snprintf(name, sizeof name, "datastream-%d", i);
        d = add(l, name, "beat-datastream", i == 1 ? P + 2 : P + 20 + i);
        ctl_path(l, path, sizeof path, "datastream-store");
        arg(d, "--store-dir=%s", path);
        if (!retention || !*retention) arg(d, "--dedup-retention-s=%lld", (long long)(age_s + 300));
    }
    add(l, "actuator", "beat-actuator", P + 4);
    add(l, "lighttrainer", "beat-lighttrainer", P + 5);
    for (int i = 1; i <= l->n_inference; i++) {
        char name[32];
        snprintf(name, sizeof name, "inference-%d", i);
        add(l, name, "beat-inference", i == 1 ? P : P + 10 + i);
    }
    for (int i = 1; i < l->n; i++) { /* the six daemons share these flags */
        if (strcmp(l->d[i].bin, "beat-receiver") != 0)
            arg(&l->d[i], "--listen=127.0.0.1:%d", l->d[i].admin_port);
        arg(&l->d[i], "--name=%s", l->d[i].name);
    }
    return 0;
}

int ctl_layout_write(const ctl_layout *l) {
    char path[600], tmp[640];
    ctl_path(l, path, sizeof path, "env");
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    /* It holds the notice secret and the admin token: owner only, even when
     * a stale .tmp of another mode is in the way (fchmod). */
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0) return -errno;
    FILE *f = fchmod(fd, 0600) == 0 ? fdopen(fd, "w") : NULL;
    if (!f) {
        int e = errno;
        close(fd);
        return -e;
    }
    fprintf(f, "# written by beatctl up; source it to reach this engine\n");
    for (int i = 0; i < l->n_env; i++) {
        const char *eq = strchr(l->env[i], '=');
        fprintf(f, "export %.*s='%s'\n", (int)(eq - l->env[i]), l->env[i], eq + 1);
    }
    fprintf(f, "export BEAT_RUN_DIR='%s'\n", l->run_dir);
    if (fclose(f) != 0 || rename(tmp, path) != 0) return -errno;

    ctl_path(l, path, sizeof path, "layout");
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    f = fopen(tmp, "w");
    if (!f) return -errno;
    for (int i = 0; i < l->n; i++)
        fprintf(f, "%s %s %d\n", l->d[i].name, l->d[i].bin, l->d[i].admin_port);
    if (fclose(f) != 0 || rename(tmp, path) != 0) return -errno;
    return 0;
}

int ctl_layout_read(ctl_layout *l) {
    char path[600];
    ctl_path(l, path, sizeof path, "layout");
    FILE *f = fopen(path, "r");
    if (!f) return -errno;
    l->n = 0;
    char name[48], bin[32];
    int port;
    while (l->n < CTL_MAX_DAEMONS && fscanf(f, "%47s %31s %d", name, bin, &port) == 3)
        add(l, name, bin, port);
    fclose(f);
    return l->n > 0 ? 0 : -ENOENT;
}
