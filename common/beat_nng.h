/* nng helpers for the supervisor ↔ inference link and the bid-log push.
 * nng 1.5.2 facts (docs/architecture.md "Library facts"): a message over
 * NNG_OPT_RECVMAXSZ is dropped silently and the pipe reconnects in a loop,
 * so every receiving socket sets it from config; a non-blocking send with no
 * peer returns NNG_EAGAIN and buffers nothing unless NNG_OPT_SENDBUF is set.
 * Dials are non-blocking so a peer may come up later; reconnect intervals
 * are set explicitly. */
#ifndef BEAT_NNG_H
#define BEAT_NNG_H

#include <stddef.h>
#include <stdint.h>
#include <nng/nng.h>

/* nng error → negative errno-style code (-ETIMEDOUT, -EAGAIN, -ECONNREFUSED,
 * -EMSGSIZE, -EINVAL, -ENOMEM, -ECLOSED→-EPIPE, other → -EIO). */
int beat_nng_err(int nng_rv);

/* Socket roles. Each returns 0 or a negative code; on success *s is open.
 *  pub:  listen(url), sendbuf messages buffered per peer.
 *  sub:  dial(url) non-blocking, subscribed to everything, recvmax bytes.
 *  rep:  listen(url), recvmax bytes.
 *  req:  dial(url) non-blocking, timeout_ms for send+recv, recvmax bytes.
 *  push: dial(url) non-blocking, sendbuf messages (0 = none); url may be a
 *        comma list: one dialer each, messages spread over the live peers.
 *  pull: listen(url), recvmax bytes. */
int beat_nng_pub_open(nng_socket *s, const char *url, int sendbuf);
int beat_nng_sub_open(nng_socket *s, const char *url, size_t recvmax);
int beat_nng_rep_open(nng_socket *s, const char *url, size_t recvmax);
int beat_nng_req_open(nng_socket *s, const char *url, int timeout_ms, size_t recvmax);
int beat_nng_push_open(nng_socket *s, const char *urls, int sendbuf);
int beat_nng_pull_open(nng_socket *s, const char *url, size_t recvmax);

/* Non-blocking send of a copy of data: 0, -EAGAIN (no peer or buffer full;
 * the caller drops and counts), or another negative code. */
int beat_nng_send_nb(nng_socket s, const void *data, size_t len);

/* Request/reply on a req socket: sends req, waits for the reply (bounded by
 * the socket's timeouts). On success *reply is malloc'd (caller frees). */
int beat_nng_call(nng_socket s, const void *req, size_t req_len, void **reply, size_t *reply_len);

#endif
