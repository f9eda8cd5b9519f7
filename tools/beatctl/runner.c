/* The runner: a background process that keeps every daemon of the layout
 * running, like a container orchestrator keeping the desired count. A daemon
 * that exits is restarted with exponential backoff (250 ms doubling to 5 s,
 * reset after 10 s of good uptime); a held daemon (run/hold/NAME) is left
 * down. On SIGTERM it stops the daemons in reverse order. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "beat_log.h"
#include "beat_util.h"
#include "beatctl.h"

#define BACKOFF_MIN_MS 250
#define BACKOFF_MAX_MS 5000
#define GOOD_UPTIME_MS 10000
#define STOP_GRACE_MS 10000

static void write_pidfile(const ctl_layout *l, const ctl_daemon *d) {
    char path[600], tmp[640];
    ctl_path(l, path, sizeof path, "pids/%s", d->name);
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    FILE *f = fopen(tmp, "w");
    if (!f) return;
    fprintf(f, "%d %lld %d\n", (int)d->pid, (long long)d->start_ms, d->restarts);
    if (fclose(f) == 0) rename(tmp, path);
}

static bool held(const ctl_layout *l, const ctl_daemon *d) {
    char path[600];
    ctl_path(l, path, sizeof path, "hold/%s", d->name);
    return access(path, F_OK) == 0;
}

static int spawn(ctl_layout *l, ctl_daemon *d) {
    char logp[600], exe[600];
    ctl_path(l, logp, sizeof logp, "logs/%s.log", d->name);
    snprintf(exe, sizeof exe, "%s/%s", l->bin_dir, d->bin);
    pid_t pid = fork();
    if (pid < 0) return -errno;
    if (pid == 0) {
        /* A runner killed with SIGKILL must not leave orphans behind. */
        prctl(PR_SET_PDEATHSIG, SIGTERM);
        int fd = open(logp, O_WRONLY | O_CREAT | O_APPEND, 0644);
        if (fd >= 0) {
            dup2(fd, 1);
            dup2(fd, 2);
            close(fd);
        }
        int nul = open("/dev/null", O_RDONLY);
        if (nul >= 0) dup2(nul, 0);
        signal(SIGPIPE, SIG_DFL);
        sigset_t none;
        sigemptyset(&none);
        sigprocmask(SIG_SETMASK, &none, NULL);
        for (int i = 0; i < l->n_env; i++) putenv(l->env[i]);
        char *argv[CTL_MAX_ARGS + 1];
        argv[0] = exe;
        for (int i = 0; i < d->argc; i++) argv[i + 1] = d->argv[i];
        argv[d->argc + 1] = NULL;
        execv(exe, argv);
        dprintf(2, "beatctl: exec %s: %s\n", exe, strerror(errno));
        _exit(127);
    }
    d->pid = pid;
    d->start_ms = beat_now_ms();
    write_pidfile(l, d);
    beat_log(BEAT_INFO, "daemon_started", "name=%s pid=%d restarts=%d", d->name, (int)pid,
             d->restarts);
    return 0;
}

static ctl_daemon *by_pid(ctl_layout *l, pid_t pid) {
    for (int i = 0; i < l->n; i++)
        if (l->d[i].pid == pid) return &l->d[i];
    return NULL;
}

static void reap(ctl_layout *l, int64_t now) {
    int st;
    pid_t pid;
    while ((pid = waitpid(-1, &st, WNOHANG)) > 0) {
        ctl_daemon *d = by_pid(l, pid);
        if (!d) continue;
        int64_t ran = now - d->start_ms;
        if (ran > GOOD_UPTIME_MS) d->fast_failures = 0;
        int64_t delay = (int64_t)BACKOFF_MIN_MS << (d->fast_failures < 5 ? d->fast_failures : 5);
        if (delay > BACKOFF_MAX_MS) delay = BACKOFF_MAX_MS;
        d->fast_failures++;
        d->next_start_ms = now + delay;
        d->pid = 0;
        write_pidfile(l, d);
        if (WIFSIGNALED(st))
            beat_log(BEAT_WARN, "daemon_exited",
                     "name=%s pid=%d signal=%d ran_ms=%lld restart_in_ms=%lld", d->name, (int)pid,
                     WTERMSIG(st), (long long)ran, (long long)delay);
        else
            beat_log(BEAT_WARN, "daemon_exited",
                     "name=%s pid=%d status=%d ran_ms=%lld restart_in_ms=%lld", d->name, (int)pid,
                     WEXITSTATUS(st), (long long)ran, (long long)delay);
    }
}

static void stop_all(ctl_layout *l) {
    for (int i = l->n - 1; i >= 0; i--)
        if (l->d[i].pid > 0) kill(l->d[i].pid, SIGTERM);
    int64_t deadline = beat_mono_ms() + STOP_GRACE_MS;
    for (;;) {
        reap(l, beat_now_ms());
        int left = 0;
        for (int i = 0; i < l->n; i++) left += l->d[i].pid > 0;
        if (!left) break;
        if (beat_mono_ms() > deadline) {
            for (int i = 0; i < l->n; i++)
                if (l->d[i].pid > 0) {
                    beat_log(BEAT_WARN, "daemon_killed", "name=%s pid=%d", l->d[i].name,
                             (int)l->d[i].pid);
                    kill(l->d[i].pid, SIGKILL);
                }
            deadline = beat_mono_ms() + 2000;
        }
        usleep(20000);
    }
    for (int i = 0; i < l->n; i++) {
        char path[600];
        ctl_path(l, path, sizeof path, "pids/%s", l->d[i].name);
        unlink(path);
    }
}

int ctl_runner(ctl_layout *l) {
    beat_log(BEAT_INFO, "runner_started", "daemons=%d port_base=%d", l->n, l->port_base);
    while (!beat_stop_requested()) {
        int64_t now = beat_now_ms();
        reap(l, now);
        for (int i = 0; i < l->n; i++) {
            ctl_daemon *d = &l->d[i];
            if (d->pid > 0 || now < d->next_start_ms || held(l, d)) continue;
            if (d->start_ms) d->restarts++;
            int rc = spawn(l, d);
            if (rc < 0) {
                beat_log(BEAT_ERROR, "spawn_failed", "name=%s err=%d", d->name, rc);
                d->next_start_ms = now + BACKOFF_MAX_MS;
            }
        }
        beat_stop_sleep_ms(50);
    }
    beat_log(BEAT_INFO, "runner_stopping", "daemons=%d", l->n);
    stop_all(l);
    char path[600];
    ctl_path(l, path, sizeof path, "beatctl.pid");
    unlink(path);
    beat_log(BEAT_INFO, "runner_stopped", "daemons=%d", l->n);
    return 0;
}
