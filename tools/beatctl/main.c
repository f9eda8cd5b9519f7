/* beatctl: runs a whole BEAT engine on one machine.
 *   beatctl up [--campaigns FILE] [--inference N] [--datastream N] [--receivers N]
 *   beatctl down | status | env
 *   beatctl kill NAME [SIGNAL] | restart NAME | stop NAME [SIGNAL] | start NAME
 * (stop holds NAME down — the runner won't restart it — until start).
 *   beatctl crash [SIGNAL]   power cut: SIGKILL (default) the runner and every
 * daemon at the same instant; `beatctl up` on the same run dir starts again.
 *   beatctl logs NAME [LINES] [--follow]
 * `up` forks the runner (runner.c), then waits until every /healthz answers
 * and every datastream is ready (partitions assigned, stores open; 30 s at
 * most, then it says so and returns anyway).
 * NAME is a daemon name ("inference-2") or a prefix ("inference" = all). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "beat_cfg.h"
#include "beat_httpc.h"
#include "beat_log.h"
#include "beat_util.h"
#include "beatctl.h"

static char *o_run_dir, *o_campaigns, *o_exchanges, *o_level;
static int64_t o_port_base, o_inference, o_datastream, o_receivers, o_wait_s;
static bool o_follow;

/* One option per entry, its fields named: a table, laid out by hand. */
/* clang-format off */
static const beat_opt opts[] = {
    {.name = "run-dir", .env = "BEAT_RUN_DIR",
     .type = BEAT_OPT_STR, .dst = &o_run_dir, .def = "run",
     .help = "directory for logs, pids, SQLite and the env file"},
    {.name = "port-base", .env = "BEAT_PORT_BASE",
     .type = BEAT_OPT_INT, .dst = &o_port_base, .def = "8080", .min = 2000, .max = 60000,
     .help = "first port; every address derives from it (see docs/architecture.md)"},
    {.name = "inference", .env = "BEAT_INFERENCE_COUNT",
     .type = BEAT_OPT_INT, .dst = &o_inference, .def = "1", .min = 1, .max = 8,
     .help = "number of inference nodes"},
    {.name = "datastream", .env = "BEAT_DATASTREAM_COUNT",
     .type = BEAT_OPT_INT, .dst = &o_datastream, .def = "1", .min = 1, .max = 8,
     .help = "number of datastream instances in the consumer group"},
    {.name = "receivers", .env = "BEAT_RECEIVER_COUNT",
     .type = BEAT_OPT_INT, .dst = &o_receivers, .def = "2", .min = 1, .max = 8,
     .help = "number of receivers sharing the notice port (a dead one's notices go to the "
             "others; inference pushes bid logs to all)"},
    {.name = "campaigns", .env = "BEAT_CAMPAIGNS",
     .type = BEAT_OPT_STR, .dst = &o_campaigns,
     .help = "campaigns JSON file handed to the supervisor"},
    {.name = "exchanges", .env = "BEAT_EXCHANGES",
     .type = BEAT_OPT_STR, .dst = &o_exchanges, .def = "docs/examples/exchanges.json",
     .help = "exchanges JSON file for the supervisor; each \"key\":\"generate\" gets a random key "
             "at up, written with the file to the run dir (mode 0600); beat-exsim sends as the "
             "first (run/env). Empty: none, and inference refuses every bid request"},
    {.name = "wait-s", .env = "BEAT_WAIT_S",
     .type = BEAT_OPT_INT, .dst = &o_wait_s, .def = "60", .min = 1, .max = 600,
     .help = "up: seconds to wait for every /healthz"},
    {.name = "follow",
     .type = BEAT_OPT_BOOL, .dst = &o_follow, .def = "false",
     .help = "logs: keep following"},
    {.name = "log-level", .env = "BEAT_LOG_LEVEL",
     .type = BEAT_OPT_STR, .dst = &o_level, .def = "info",
     .help = "runner log level"},
    BEAT_OPT_END,
};
/* clang-format on */

static ctl_layout L;

/* up: how long to wait for every datastream's first assignment. */
#define DS_READY_WAIT_MS 30000

static int mkdirs(const char *sub) {
    char p[600];
    ctl_path(&L, p, sizeof p, "%s", sub);
    if (mkdir(p, 0755) < 0 && errno != EEXIST) return -errno;
    return 0;
}

/* Removes the plain files in run/<sub> (no shell: any path is safe). */
static void clear_dir(const char *sub) {
    char dir[600], f[900];
    ctl_path(&L, dir, sizeof dir, "%s", sub);
    DIR *d = opendir(dir);
    struct dirent *e;
    while (d && (e = readdir(d))) {
        if (e->d_name[0] == '.') continue;
        snprintf(f, sizeof f, "%s/%s", dir, e->d_name);
        unlink(f);
    }
    if (d) closedir(d);
}

static pid_t runner_pid(void) {
    char p[600];
    ctl_path(&L, p, sizeof p, "beatctl.pid");
    FILE *f = fopen(p, "r");
    int pid = 0;
    if (!f) return 0;
    if (fscanf(f, "%d", &pid) != 1) pid = 0;
    fclose(f);
    return pid > 0 && kill(pid, 0) == 0 ? pid : 0;
}

typedef struct {
    int pid;
    long long start_ms;
    int restarts;
} pidinfo;

static pidinfo read_pid(const char *name) {
    pidinfo pi = {0, 0, 0};
    char p[600];
    ctl_path(&L, p, sizeof p, "pids/%s", name);
    FILE *f = fopen(p, "r");
    if (!f) return pi;
    if (fscanf(f, "%d %lld %d", &pi.pid, &pi.start_ms, &pi.restarts) != 3) pi.pid = 0;
    fclose(f);
    if (pi.pid > 0 && kill(pi.pid, 0) != 0) pi.pid = 0;
    return pi;
}

/* 1 ready, 0 answering but not ready, -1 no answer. */
static int health(beat_httpc *c, int port) {
    char url[64];
    snprintf(url, sizeof url, "http://127.0.0.1:%d/healthz", port);
    beat_buf b;
    beat_buf_init(&b, 64 * 1024);
    long st = 0;
    int rc = beat_httpc_get(c, url, &b, &st);
    int r = rc < 0 || st != 200 ? -1 : strstr(b.data, "\"ready\":true") ? 1 : 0;
    beat_buf_fini(&b);
    return r;
}

static int cmd_status(void) {
    if (ctl_layout_read(&L) < 0) {
        printf("not up (no layout in %s)\n", L.run_dir);
        return 3;
    }
    beat_httpc *c = beat_httpc_new(1000);
    pid_t rp = runner_pid();
    printf("runner %s\n", rp ? "up" : "DOWN");
    printf("%-16s %8s %9s %8s %s\n", "NAME", "PID", "UPTIME_S", "RESTARTS", "HEALTH");
    int64_t now = beat_now_ms();
    for (int i = 0; i < L.n; i++) {
        pidinfo pi = read_pid(L.d[i].name);
        int h = pi.pid ? health(c, L.d[i].admin_port) : -1;
        printf("%-16s %8d %9lld %8d %s\n", L.d[i].name, pi.pid,
               pi.pid ? (long long)(now - pi.start_ms) / 1000 : 0LL, pi.restarts,
               !pi.pid  ? "down"
               : h == 1 ? "ready"
               : h == 0 ? "alive"
                        : "no-answer");
    }
    beat_httpc_free(c);
    return rp ? 0 : 3;
}

static int cmd_up(void) {
    if (runner_pid()) {
        fprintf(stderr, "beatctl: already up (runner pid %d); `beatctl down` first\n",
                runner_pid());
        return 1;
    }
    if (mkdirs("") < 0 || mkdirs("logs") < 0 || mkdirs("pids") < 0 || mkdirs("hold") < 0) {
        fprintf(stderr, "beatctl: cannot create %s: %s\n", L.run_dir, strerror(errno));
        return 1;
    }
    char p[600];
    clear_dir("pids"); /* stale markers of a previous run */
    clear_dir("hold");
    if (o_campaigns && *o_campaigns) {
        if (!realpath(o_campaigns, L.campaigns)) {
            fprintf(stderr, "beatctl: --campaigns %s: %s\n", o_campaigns, strerror(errno));
            return 64;
        }
    }
    if (o_exchanges && *o_exchanges) {
        char err[700];
        if (ctl_exchanges_prepare(&L, o_exchanges, err, sizeof err) != 0) {
            fprintf(stderr, "beatctl: --exchanges %s\n", err);
            return 64;
        }
    } else {
        fprintf(stderr, "beatctl: no --exchanges: inference refuses every bid request\n");
    }
    if (ctl_layout_build(&L) < 0 || ctl_layout_write(&L) < 0) {
        fprintf(stderr, "beatctl: cannot write layout under %s\n", L.run_dir);
        return 1;
    }
    pid_t pid = fork();
    if (pid < 0) return 1;
    if (pid == 0) {
        setsid();
        ctl_path(&L, p, sizeof p, "logs/beatctl.log");
        int fd = open(p, O_WRONLY | O_CREAT | O_APPEND, 0644);
        int nul = open("/dev/null", O_RDWR);
        if (fd >= 0) {
            dup2(fd, 1);
            dup2(fd, 2);
            close(fd);
        }
        if (nul >= 0) {
            dup2(nul, 0);
            close(nul);
        }
        ctl_path(&L, p, sizeof p, "beatctl.pid");
        FILE *f = fopen(p, "w");
        if (f) {
            fprintf(f, "%d\n", (int)getpid());
            fclose(f);
        }
        beat_stop_install();
        _exit(ctl_runner(&L));
    }
    printf("beatctl: runner pid %d, run dir %s, waiting for %d daemons\n", (int)pid, L.run_dir,
           L.n);
    beat_httpc *c = beat_httpc_new(1000);
    int64_t deadline = beat_mono_ms() + o_wait_s * 1000;
    int answering = 0;
    while (beat_mono_ms() < deadline) {
        answering = 0;
        for (int i = 0; i < L.n; i++) answering += health(c, L.d[i].admin_port) >= 0;
        if (answering == L.n) break;
        usleep(100000);
    }
    /* Then every datastream must be ready: its first partition assignment
     * done and its stores open, so nothing produced after `up` returns can
     * be skipped (each partition is read from its store's offset or the
     * log's start from then on). Bounded: a late group join is logged, not
     * fatal. */
    if (answering == L.n) {
        int64_t ready_deadline = beat_mono_ms() + DS_READY_WAIT_MS;
        const char *late = NULL;
        for (;;) {
            late = NULL;
            for (int i = 0; i < L.n && !late; i++)
                if (!strcmp(L.d[i].bin, "beat-datastream") && health(c, L.d[i].admin_port) != 1)
                    late = L.d[i].name;
            if (!late || beat_mono_ms() >= ready_deadline) break;
            usleep(100000);
        }
        if (late) {
            fprintf(stderr,
                    "beatctl: %s not ready after %d s (no partition assignment yet, "
                    "or a partition store refused: see %s/logs/%s.log)\n",
                    late, DS_READY_WAIT_MS / 1000, L.run_dir, late);
            beat_log(BEAT_WARN, "datastream_not_ready", "name=%s waited_ms=%d", late,
                     DS_READY_WAIT_MS);
        }
    }
    beat_httpc_free(c);
    cmd_status();
    if (answering != L.n) {
        fprintf(stderr, "beatctl: only %d of %d daemons answer /healthz after %llds; see %s/logs\n",
                answering, L.n, (long long)o_wait_s, L.run_dir);
        return 1;
    }
    printf("beatctl: up; `source %s/env` for the addresses\n", L.run_dir);
    return 0;
}

static int cmd_down(void) {
    pid_t rp = runner_pid();
    if (!rp) {
        printf("beatctl: not running\n");
        return 0;
    }
    kill(rp, SIGTERM);
    int64_t deadline = beat_mono_ms() + 30000;
    while (kill(rp, 0) == 0 && beat_mono_ms() < deadline) usleep(50000);
    if (kill(rp, 0) == 0) {
        kill(rp, SIGKILL);
        fprintf(stderr, "beatctl: runner did not stop in 30 s; killed\n");
        return 1;
    }
    printf("beatctl: down\n");
    return 0;
}

static int parse_signal(const char *s) {
    static const struct {
        const char *n;
        int sig;
    } t[] = {{"KILL", SIGKILL}, {"TERM", SIGTERM}, {"STOP", SIGSTOP}, {"CONT", SIGCONT},
             {"INT", SIGINT},   {"HUP", SIGHUP},   {"QUIT", SIGQUIT}, {"USR1", SIGUSR1}};
    if (!strncmp(s, "SIG", 3)) s += 3;
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++)
        if (!strcasecmp(s, t[i].n)) return t[i].sig;
    int64_t n;
    return beat_parse_i64(s, &n) == 0 && n > 0 && n < 65 ? (int)n : -1;
}

static bool name_matches(const char *pattern, const char *name) {
    size_t n = strlen(pattern);
    return !strcmp(pattern, name) || (!strncmp(pattern, name, n) && name[n] == '-');
}

/* Applies fn to every daemon matching pattern; returns how many matched. */
static int each(const char *pattern, int (*fn)(const char *name, int arg), int arg) {
    if (ctl_layout_read(&L) < 0) return -1;
    int hits = 0;
    for (int i = 0; i < L.n; i++)
        if (name_matches(pattern, L.d[i].name)) {
            hits++;
            fn(L.d[i].name, arg);
        }
    return hits;
}

static int do_signal(const char *name, int sig) {
    pidinfo pi = read_pid(name);
    if (!pi.pid) {
        printf("%s: not running\n", name);
        return -1;
    }
    kill(pi.pid, sig);
    printf("%s: sent signal %d to pid %d\n", name, sig, pi.pid);
    return 0;
}

/* sig > 0: hold NAME down and send it sig; 0: release it. */
static int do_hold(const char *name, int sig) {
    char p[600];
    ctl_path(&L, p, sizeof p, "hold/%s", name);
    if (sig > 0) {
        FILE *f = fopen(p, "w");
        if (f) fclose(f);
        do_signal(name, sig);
    } else {
        unlink(p);
        printf("%s: released; the runner starts it\n", name);
    }
    return 0;
}

/* One kill(2) on the runner's process group (it called setsid(); the
 * daemons it forks stay in its group), so nobody outlives the others long
 * enough to notice: the runner cannot restart anyone and no daemon gets to
 * run its SIGTERM path first. Waits until the runner is gone. */
static int cmd_crash(int sig) {
    pid_t rp = runner_pid();
    if (!rp) {
        fprintf(stderr, "beatctl: not running\n");
        return 1;
    }
    if (kill(-rp, sig) != 0) {
        fprintf(stderr, "beatctl: kill(-%d, %d): %s\n", (int)rp, sig, strerror(errno));
        return 1;
    }
    int64_t deadline = beat_mono_ms() + 10000;
    while (sig == SIGKILL && kill(rp, 0) == 0 && beat_mono_ms() < deadline) usleep(20000);
    printf("beatctl: sent signal %d to the runner (pid %d) and all its daemons\n", sig, (int)rp);
    return 0;
}

static int cmd_logs(const char *name, const char *lines) {
    char p[600];
    ctl_path(&L, p, sizeof p, "logs/%s.log", name);
    if (access(p, R_OK) != 0) {
        fprintf(stderr, "beatctl: no log %s\n", p);
        return 1;
    }
    if (o_follow) execlp("tail", "tail", "-n", lines, "-F", p, (char *)NULL);
    else execlp("tail", "tail", "-n", lines, p, (char *)NULL);
    return 1;
}

static void usage(void) {
    fprintf(stderr,
            "usage: beatctl [options] up|down|status|env|kill NAME [SIGNAL]|restart NAME|\n"
            "               stop NAME [SIGNAL]|start NAME|crash [SIGNAL]|logs NAME [LINES]\n"
            "               (--help for options)\n");
}

int main(int argc, char **argv) {
    int first = argc;
    beat_cfg_parse("beatctl", "Runs a whole BEAT engine locally and keeps it running.", opts, argc,
                   argv, &first);
    beat_log_level lvl = BEAT_INFO;
    beat_log_level_parse(o_level, &lvl);
    beat_log_init("beatctl", lvl);
    if (first >= argc) {
        usage();
        return 64;
    }
    /* Owner only: it holds run/env (secrets), the logs and the SQLite
     * database. An existing directory is the operator's and left as is. */
    if (mkdir(o_run_dir, 0700) < 0 && errno != EEXIST) {
        fprintf(stderr, "beatctl: %s: %s\n", o_run_dir, strerror(errno));
        return 1;
    }
    if (!realpath(o_run_dir, L.run_dir)) return 1;
    char exe[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n <= 0) return 1;
    exe[n] = 0;
    *strrchr(exe, '/') = 0;
    if (strlen(exe) >= sizeof L.bin_dir) return 1;
    memcpy(L.bin_dir, exe, strlen(exe) + 1);
    L.port_base = (int)o_port_base;
    L.n_inference = (int)o_inference;
    L.n_datastream = (int)o_datastream;
    L.n_receiver = (int)o_receivers;

    const char *cmd = argv[first];
    const char *a1 = first + 1 < argc ? argv[first + 1] : NULL;
    const char *a2 = first + 2 < argc ? argv[first + 2] : NULL;
    if (!strcmp(cmd, "up")) return cmd_up();
    if (!strcmp(cmd, "down")) return cmd_down();
    if (!strcmp(cmd, "status")) return cmd_status();
    if (!strcmp(cmd, "env")) {
        char p[600];
        ctl_path(&L, p, sizeof p, "env");
        execlp("cat", "cat", p, (char *)NULL);
        return 1;
    }
    if (!strcmp(cmd, "crash")) {
        int sig = a1 ? parse_signal(a1) : SIGKILL;
        if (sig <= 0) {
            fprintf(stderr, "beatctl: unknown signal %s\n", a1);
            return 64;
        }
        return cmd_crash(sig);
    }
    if (!a1) {
        usage();
        return 64;
    }
    int hits = -1;
    if (!strcmp(cmd, "kill")) {
        int sig = a2 ? parse_signal(a2) : SIGKILL;
        if (sig < 0) {
            fprintf(stderr, "beatctl: unknown signal %s\n", a2);
            return 64;
        }
        hits = each(a1, do_signal, sig);
    } else if (!strcmp(cmd, "restart")) {
        hits = each(a1, do_signal, SIGTERM);
    } else if (!strcmp(cmd, "stop")) {
        int sig = a2 ? parse_signal(a2) : SIGTERM;
        if (sig <= 0) {
            fprintf(stderr, "beatctl: unknown signal %s\n", a2);
            return 64;
        }
        hits = each(a1, do_hold, sig);
    } else if (!strcmp(cmd, "start")) {
        hits = each(a1, do_hold, 0);
    } else if (!strcmp(cmd, "logs")) {
        return cmd_logs(a1, a2 ? a2 : "100");
    } else {
        usage();
        return 64;
    }
    if (hits <= 0) {
        fprintf(stderr, "beatctl: no daemon named %s%s\n", a1, hits < 0 ? " (not up?)" : "");
        return 1;
    }
    return 0;
}
