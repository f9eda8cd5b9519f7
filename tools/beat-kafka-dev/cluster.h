/* The dev broker itself: a librdkafka mock cluster on stable ports. */
#ifndef KDEV_CLUSTER_H
#define KDEV_CLUSTER_H

#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

typedef struct kdev_cluster {
    rd_kafka_t *rk; /* hosts the mock cluster */
    rd_kafka_mock_cluster_t *mcluster;
    int brokers, partitions, port;
    char topic[256];
    char bootstraps[1024];
} kdev_cluster;

/* Creates the cluster with brokers listening on 127.0.0.1:port.. and the
 * topic. Retries the bind for up to bind_wait_ms (a previous instance may be
 * exiting). 0, or a negative errno (reason logged). */
int kdev_cluster_init(kdev_cluster *c, int port, int brokers, int partitions, const char *topic,
                      int bind_wait_ms);
void kdev_cluster_fini(kdev_cluster *c);
/* Writes the bootstrap list + '\n' to path atomically (tmp + rename). */
int kdev_write_bootstrap(const char *path, const char *bootstraps);

#endif
