/* Admin HTTP of beat-kafka-dev: health detail and fault injection. */
#ifndef KDEV_ADMIN_H
#define KDEV_ADMIN_H

#include "beat_http.h"
#include "cluster.h"

/* Installs the health callback and the fault routes on h. c must
 * outlive h. */
void kdev_admin_install(beat_http *h, kdev_cluster *c);

#endif
