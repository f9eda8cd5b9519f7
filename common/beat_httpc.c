/* Blocking HTTP client on one reused libcurl easy handle (keep-alive), for
 * the pull/push links of actuator and lighttrainer, beatctl and tests.
 * Every call has a hard timeout and a bounded response body; transport
 * failures map to -ETIMEDOUT / -ECONNREFUSED / -EIO / -EMSGSIZE and are
 * never retried here. Never log per call: the caller decides. */
#include "beat_httpc.h"

#include <curl/curl.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct beat_httpc {
    CURL *curl;
    long timeout_ms;
    char errbuf[CURL_ERROR_SIZE];
    char err[CURL_ERROR_SIZE + 64];
    beat_buf *resp;
    bool too_big;
};

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static CURLcode curl_init_rc;

static void curl_init_global(void) { curl_init_rc = curl_global_init(CURL_GLOBAL_ALL); }

beat_httpc *beat_httpc_new(long timeout_ms) {
    pthread_once(&curl_once, curl_init_global);
    if (curl_init_rc != CURLE_OK) return NULL;
    beat_httpc *c = calloc(1, sizeof *c);
    if (!c) return NULL;
    c->curl = curl_easy_init();
    if (!c->curl) {
        free(c);
        return NULL;
    }
    c->timeout_ms = timeout_ms > 0 ? timeout_ms : 1000;
    return c;
}

void beat_httpc_free(beat_httpc *c) {
    if (!c) return;
    curl_easy_cleanup(c->curl);
    free(c);
}

const char *beat_httpc_error(const beat_httpc *c) { return c ? c->err : ""; }

static size_t on_write(char *p, size_t size, size_t nmemb, void *arg) {
    beat_httpc *c = arg;
    size_t n = size * nmemb;
    if (beat_buf_append(c->resp, p, n) != 0) {
        c->too_big = true;
        return 0; /* curl aborts the transfer with CURLE_WRITE_ERROR */
    }
    return n;
}

int beat_httpc_send(beat_httpc *c, const char *method, const char *url, const char *content_type,
                    const void *body, size_t len, const char *bearer, beat_buf *resp,
                    long *status) {
    if (!c || !method || !url || !resp) return -EINVAL;
    CURL *h = c->curl;
    /* Reset clears options but keeps the connection cache (keep-alive). */
    curl_easy_reset(h);
    beat_buf_reset(resp);
    c->resp = resp;
    c->too_big = false;
    c->errbuf[0] = '\0';
    c->err[0] = '\0';

    struct curl_slist *hdrs = NULL;
    char line[1024];
    /* Expect: 100-continue would add a round trip to every POST. */
    hdrs = curl_slist_append(hdrs, "Expect:");
    if (content_type) {
        snprintf(line, sizeof line, "Content-Type: %s", content_type);
        hdrs = curl_slist_append(hdrs, line);
    }
    if (bearer && *bearer) {
        snprintf(line, sizeof line, "Authorization: Bearer %s", bearer);
        hdrs = curl_slist_append(hdrs, line);
    }

    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, c->timeout_ms);
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, c->timeout_ms);
    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, c->errbuf);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_write);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, c);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
    curl_easy_setopt(h, CURLOPT_TCP_NODELAY, 1L);
    if (resp->max && resp->max < (size_t)1 << 62)
        curl_easy_setopt(h, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)resp->max);

    if (strcmp(method, "GET") == 0) {
        curl_easy_setopt(h, CURLOPT_HTTPGET, 1L);
    } else if (strcmp(method, "HEAD") == 0) {
        curl_easy_setopt(h, CURLOPT_NOBODY, 1L);
    } else {
        curl_easy_setopt(h, CURLOPT_POST, 1L);
        curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
        curl_easy_setopt(h, CURLOPT_POSTFIELDS, len ? body : "");
        if (strcmp(method, "POST") != 0) curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
    }

    CURLcode rc = curl_easy_perform(h);
    curl_slist_free_all(hdrs);
    c->resp = NULL;
    if (rc == CURLE_OK) {
        long code = 0;
        curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &code);
        if (status) *status = code;
        return 0;
    }
    snprintf(c->err, sizeof c->err, "%s: %s", curl_easy_strerror(rc),
             c->errbuf[0] ? c->errbuf : "-");
    beat_buf_reset(resp);
    if (c->too_big || rc == CURLE_FILESIZE_EXCEEDED) return -EMSGSIZE;
    switch (rc) {
        case CURLE_OPERATION_TIMEDOUT: return -ETIMEDOUT;
        case CURLE_COULDNT_CONNECT: return -ECONNREFUSED;
        default: return -EIO;
    }
}

int beat_httpc_get(beat_httpc *c, const char *url, beat_buf *resp, long *status) {
    return beat_httpc_send(c, "GET", url, NULL, NULL, 0, NULL, resp, status);
}
