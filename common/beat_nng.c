/* nng socket roles for the supervisor ↔ inference link and the bid-log push
 * (nng 1.5.2: docs/architecture.md "Library facts"). Every receiving socket
 * gets an explicit max message size, every dial is non-blocking with explicit
 * reconnect intervals, so a peer that is down at start or restarts later is
 * picked up by itself. Nothing here may block the caller beyond the timeouts
 * it configured. */
#include "beat_nng.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <nng/protocol/pipeline0/pull.h>
#include <nng/protocol/pipeline0/push.h>
#include <nng/protocol/pubsub0/pub.h>
#include <nng/protocol/pubsub0/sub.h>
#include <nng/protocol/reqrep0/rep.h>
#include <nng/protocol/reqrep0/req.h>

#include "beat_log.h"

#define RECONN_MIN_MS 100
#define RECONN_MAX_MS 2000

int beat_nng_err(int rv) {
    switch (rv) {
        case 0: return 0;
        case NNG_ETIMEDOUT: return -ETIMEDOUT;
        case NNG_EAGAIN: return -EAGAIN;
        case NNG_ECONNREFUSED: return -ECONNREFUSED;
        case NNG_EMSGSIZE: return -EMSGSIZE;
        case NNG_EINVAL: return -EINVAL;
        case NNG_EADDRINVAL: return -EINVAL;
        case NNG_ENOMEM: return -ENOMEM;
        case NNG_ECLOSED: return -EPIPE;
        case NNG_EADDRINUSE: return -EADDRINUSE;
        default: return -EIO;
    }
}

/* Logs the nng message where it is lost otherwise, closes s, returns code. */
static int nng_fail(nng_socket *s, const char *role, const char *what, const char *url, int rv) {
    beat_log(BEAT_WARN, "nng_open_failed", "role=%s step=%s url=%s err=\"%s\"", role, what,
             url ? url : "", nng_strerror(rv));
    nng_close(*s);
    *s = (nng_socket)NNG_SOCKET_INITIALIZER;
    return beat_nng_err(rv);
}

static int set_recvmax(nng_socket s, size_t recvmax) {
    return recvmax ? nng_socket_set_size(s, NNG_OPT_RECVMAXSZ, recvmax) : 0;
}

static int set_sendbuf(nng_socket s, int sendbuf) {
    /* nng allows 0..8192 messages of buffering. */
    if (sendbuf <= 0) return 0;
    if (sendbuf > 8192) sendbuf = 8192;
    return nng_socket_set_int(s, NNG_OPT_SENDBUF, sendbuf);
}

static int dial_nb(nng_socket s, const char *url) {
    nng_dialer d;
    int rv = nng_dialer_create(&d, s, url);
    if (rv != 0) return rv;
    if ((rv = nng_dialer_set_ms(d, NNG_OPT_RECONNMINT, RECONN_MIN_MS)) != 0 ||
        (rv = nng_dialer_set_ms(d, NNG_OPT_RECONNMAXT, RECONN_MAX_MS)) != 0 ||
        (rv = nng_dialer_start(d, NNG_FLAG_NONBLOCK)) != 0) {
        nng_dialer_close(d);
        return rv;
    }
    return 0;
}

int beat_nng_pub_open(nng_socket *s, const char *url, int sendbuf) {
    nng_socket t;
    int rv = nng_pub0_open(&t);
    if (rv != 0) return beat_nng_err(rv);
    if ((rv = set_sendbuf(t, sendbuf)) != 0) return nng_fail(&t, "pub", "opt", url, rv);
    if ((rv = nng_listen(t, url, NULL, 0)) != 0) return nng_fail(&t, "pub", "listen", url, rv);
    *s = t;
    return 0;
}

int beat_nng_sub_open(nng_socket *s, const char *url, size_t recvmax) {
    nng_socket t;
    int rv = nng_sub0_open(&t);
    if (rv != 0) return beat_nng_err(rv);
    if ((rv = set_recvmax(t, recvmax)) != 0 ||
        (rv = nng_socket_set(t, NNG_OPT_SUB_SUBSCRIBE, "", 0)) != 0)
        return nng_fail(&t, "sub", "opt", url, rv);
    if ((rv = dial_nb(t, url)) != 0) return nng_fail(&t, "sub", "dial", url, rv);
    *s = t;
    return 0;
}

int beat_nng_rep_open(nng_socket *s, const char *url, size_t recvmax) {
    nng_socket t;
    int rv = nng_rep0_open(&t);
    if (rv != 0) return beat_nng_err(rv);
    if ((rv = set_recvmax(t, recvmax)) != 0) return nng_fail(&t, "rep", "opt", url, rv);
    if ((rv = nng_listen(t, url, NULL, 0)) != 0) return nng_fail(&t, "rep", "listen", url, rv);
    *s = t;
    return 0;
}

int beat_nng_req_open(nng_socket *s, const char *url, int timeout_ms, size_t recvmax) {
    nng_socket t;
    int rv = nng_req0_open(&t);
    if (rv != 0) return beat_nng_err(rv);
    /* The caller retries with its own backoff; nng's resend would re-send
     * behind its back, so push it out of reach. */
    if ((rv = set_recvmax(t, recvmax)) != 0 ||
        (rv = nng_socket_set_ms(t, NNG_OPT_SENDTIMEO, timeout_ms)) != 0 ||
        (rv = nng_socket_set_ms(t, NNG_OPT_RECVTIMEO, timeout_ms)) != 0 ||
        (rv = nng_socket_set_ms(t, NNG_OPT_REQ_RESENDTIME, 3600 * 1000)) != 0)
        return nng_fail(&t, "req", "opt", url, rv);
    if ((rv = dial_nb(t, url)) != 0) return nng_fail(&t, "req", "dial", url, rv);
    *s = t;
    return 0;
}

/* One dialer per address of a comma list: nng's push spreads messages over
 * the pipes that are connected and ready, so a dead or absent peer takes
 * none while the others carry the stream (several receivers per host). */
int beat_nng_push_open(nng_socket *s, const char *urls, int sendbuf) {
    if (!urls) return -EINVAL;
    nng_socket t;
    int rv = nng_push0_open(&t);
    if (rv != 0) return beat_nng_err(rv);
    if ((rv = set_sendbuf(t, sendbuf)) != 0) return nng_fail(&t, "push", "opt", urls, rv);
    for (const char *p = urls;;) {
        const char *comma = strchr(p, ',');
        size_t n = comma ? (size_t)(comma - p) : strlen(p);
        while (n > 0 && (*p == ' ' || *p == '\t')) p++, n--;
        while (n > 0 && (p[n - 1] == ' ' || p[n - 1] == '\t')) n--;
        char url[512];
        if (n == 0 || n >= sizeof url) return nng_fail(&t, "push", "dial", urls, NNG_EADDRINVAL);
        memcpy(url, p, n);
        url[n] = '\0';
        if ((rv = dial_nb(t, url)) != 0) return nng_fail(&t, "push", "dial", url, rv);
        if (!comma) break;
        p = comma + 1;
    }
    *s = t;
    return 0;
}

int beat_nng_pull_open(nng_socket *s, const char *url, size_t recvmax) {
    nng_socket t;
    int rv = nng_pull0_open(&t);
    if (rv != 0) return beat_nng_err(rv);
    if ((rv = set_recvmax(t, recvmax)) != 0) return nng_fail(&t, "pull", "opt", url, rv);
    if ((rv = nng_listen(t, url, NULL, 0)) != 0) return nng_fail(&t, "pull", "listen", url, rv);
    *s = t;
    return 0;
}

int beat_nng_send_nb(nng_socket s, const void *data, size_t len) {
    /* nng_send without NNG_FLAG_ALLOC copies data; the caller keeps it. */
    return beat_nng_err(nng_send(s, (void *)data, len, NNG_FLAG_NONBLOCK));
}

/* Uses the socket's own request state (not an nng_ctx), so one caller at a
 * time per req socket: a second concurrent call would cancel the first. */
int beat_nng_call(nng_socket s, const void *req, size_t req_len, void **reply, size_t *reply_len) {
    int rv = nng_send(s, (void *)req, req_len, 0);
    if (rv != 0) return beat_nng_err(rv);
    void *buf = NULL;
    size_t sz = 0;
    if ((rv = nng_recv(s, &buf, &sz, NNG_FLAG_ALLOC)) != 0) return beat_nng_err(rv);
    /* Hand the caller plain malloc memory so it frees with free(). */
    void *copy = malloc(sz ? sz : 1);
    if (!copy) {
        nng_free(buf, sz);
        return -ENOMEM;
    }
    if (sz) memcpy(copy, buf, sz);
    nng_free(buf, sz);
    *reply = copy;
    *reply_len = sz;
    return 0;
}
