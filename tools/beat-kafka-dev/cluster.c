/* Builds the dev broker: an rd_kafka_t to host librdkafka's mock cluster,
 * the brokers bound to fixed ports through bindmap.c, and the events topic.
 * Called once by main.c at start-up; it must not leave the bind remap
 * window open, or unrelated binds (the admin listener) would be rewritten. */
#include "cluster.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "beat_kafka.h"
#include "beat_log.h"
#include "beat_util.h"
#include "bindmap.h"

static rd_kafka_mock_cluster_t *try_create(kdev_cluster *c, int *err) {
    kdev_bindmap_begin(c->port);
    rd_kafka_mock_cluster_t *m = rd_kafka_mock_cluster_new(c->rk, c->brokers);
    int remapped = kdev_bindmap_end(err);
    if (!m) {
        if (!*err) *err = EIO;
        return NULL;
    }
    if (remapped != c->brokers) {
        /* Some port was taken (*err says why: retry), or librdkafka bound
         * its listeners differently than we expect (EPROTO: give up rather
         * than run on ports nobody knows). */
        if (!*err) {
            beat_log(BEAT_ERROR, "kafka_dev_bind_unexpected", "remapped=%d brokers=%d", remapped,
                     c->brokers);
            *err = EPROTO;
        }
        rd_kafka_mock_cluster_destroy(m);
        return NULL;
    }
    return m;
}

int kdev_cluster_init(kdev_cluster *c, int port, int brokers, int partitions, const char *topic,
                      int bind_wait_ms) {
    memset(c, 0, sizeof *c);
    c->port = port;
    c->brokers = brokers;
    c->partitions = partitions;
    snprintf(c->topic, sizeof c->topic, "%s", topic);

    char errstr[512] = "";
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    const char *kv[] = {"client.id", "beat-kafka-dev", NULL};
    beat_kafka_conf_set(conf, kv, errstr, sizeof errstr);
    beat_kafka_route_logs(conf);
    c->rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof errstr);
    if (!c->rk) {
        rd_kafka_conf_destroy(conf);
        beat_log(BEAT_ERROR, "kafka_dev_failed", "reason=\"%s\"", errstr);
        return -EINVAL;
    }

    int64_t deadline = beat_mono_ms() + bind_wait_ms;
    int err = 0, attempts = 0;
    for (;;) {
        attempts++;
        c->mcluster = try_create(c, &err);
        if (c->mcluster || err == EPROTO || beat_mono_ms() >= deadline || beat_stop_requested())
            break;
        beat_log_rl(2000, BEAT_WARN, "kafka_dev_bind_retry", "port=%d err=\"%s\"", port,
                    strerror(err ? err : EIO));
        beat_stop_sleep_ms(200);
    }
    if (!c->mcluster) {
        beat_log(BEAT_ERROR, "kafka_dev_bind_failed", "port=%d brokers=%d attempts=%d err=\"%s\"",
                 port, brokers, attempts, strerror(err ? err : EIO));
        rd_kafka_destroy(c->rk);
        c->rk = NULL;
        return err ? -err : -EIO;
    }
    rd_kafka_resp_err_t e = rd_kafka_mock_topic_create(c->mcluster, topic, partitions, 1);
    if (e != RD_KAFKA_RESP_ERR_NO_ERROR) {
        beat_log(BEAT_ERROR, "kafka_dev_failed", "reason=\"topic %s: %s\"", topic,
                 rd_kafka_err2str(e));
        kdev_cluster_fini(c);
        return -EINVAL;
    }
    snprintf(c->bootstraps, sizeof c->bootstraps, "%s",
             rd_kafka_mock_cluster_bootstraps(c->mcluster));
    return 0;
}

void kdev_cluster_fini(kdev_cluster *c) {
    if (c->mcluster) rd_kafka_mock_cluster_destroy(c->mcluster);
    c->mcluster = NULL;
    if (c->rk) rd_kafka_destroy(c->rk);
    c->rk = NULL;
}

int kdev_write_bootstrap(const char *path, const char *bootstraps) {
    char tmp[4096];
    if (snprintf(tmp, sizeof tmp, "%s.tmp.%d", path, (int)getpid()) >= (int)sizeof tmp)
        return -ENAMETOOLONG;
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) return -errno;
    size_t n = strlen(bootstraps);
    int rc = 0;
    if (write(fd, bootstraps, n) != (ssize_t)n || write(fd, "\n", 1) != 1) rc = -EIO;
    if (close(fd) != 0 && rc == 0) rc = -errno;
    if (rc == 0 && rename(tmp, path) != 0) rc = -errno;
    if (rc != 0) unlink(tmp);
    return rc;
}
