/* bind() override that gives the mock cluster's brokers fixed ports. */
#ifndef KDEV_BINDMAP_H
#define KDEV_BINDMAP_H

/* From now until kdev_bindmap_end(), AF_INET binds to port 0 get port,
 * port+1, … in order; when that port is taken, the bind falls back to an
 * ephemeral port and the failure is recorded. One window at a time. */
void kdev_bindmap_begin(int port);
/* Closes the window; returns how many binds were remapped successfully and
 * the errno of the last failed one (0 if none) in *last_err. */
int kdev_bindmap_end(int *last_err);

#endif
