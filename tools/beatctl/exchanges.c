/* beatctl's exchanges file (--exchanges): every "key":"generate" in it gets
 * a random key at `up`, like the notice secret, and the result goes to
 * run/exchanges.json for the supervisor and run/exchange-keys ("ID KEY"
 * lines, for callers such as beat-exsim), both mode 0600: the keys exist
 * nowhere else. The first generated one also becomes beat-exsim's identity
 * in run/env (BEAT_EXSIM_EXCHANGE, BEAT_EXSIM_EXCHANGE_KEY). */
#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "beat_util.h"
#include "beatctl.h"

#define FILE_MAX (4 << 20)

/* Writes len bytes to path (created or truncated) with mode 0600. */
static int write_private(const char *path, const char *data, size_t len) {
    char tmp[640];
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0) return -errno;
    int rc = fchmod(fd, 0600) == 0 ? 0 : -errno; /* an older file may have been wider */
    for (size_t off = 0; !rc && off < len;) {
        ssize_t n = write(fd, data + off, len - off);
        if (n < 0) rc = -errno;
        else off += (size_t)n;
    }
    if (close(fd) != 0 && !rc) rc = -errno;
    if (!rc && rename(tmp, path) != 0) rc = -errno;
    if (rc) unlink(tmp);
    return rc;
}

static char *read_all(const char *path, size_t *len) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    char *buf = malloc(FILE_MAX + 1);
    size_t n = buf ? fread(buf, 1, FILE_MAX + 1, f) : 0;
    fclose(f);
    if (!buf || n > FILE_MAX) {
        free(buf);
        errno = EFBIG;
        return NULL;
    }
    buf[n] = '\0';
    *len = n;
    return buf;
}

int ctl_exchanges_prepare(ctl_layout *l, const char *src, char *err, size_t err_len) {
    size_t len = 0;
    char *text = read_all(src, &len);
    if (!text) {
        snprintf(err, err_len, "%s: %s", src, strerror(errno));
        return -EINVAL;
    }
    cJSON *root = cJSON_ParseWithLength(text, len);
    free(text);
    const cJSON *xs = cJSON_GetObjectItemCaseSensitive(root, "exchanges");
    if (!cJSON_IsArray(xs)) {
        snprintf(err, err_len, "%s: not an exchanges file ({\"v\":1,\"exchanges\":[…]})", src);
        cJSON_Delete(root);
        return -EINVAL;
    }
    static char keys[32768]; /* BEAT_EXCHANGES_MAX lines of "id key\n" fit */
    keys[0] = '\0';
    size_t kl = 0;
    l->exsim_exchange[0] = l->exsim_key[0] = '\0';
    const cJSON *x;
    cJSON_ArrayForEach(x, xs) {
        cJSON *k = cJSON_GetObjectItemCaseSensitive(x, "key");
        const cJSON *id = cJSON_GetObjectItemCaseSensitive(x, "id");
        if (!cJSON_IsString(k) || strcmp(k->valuestring, "generate") != 0 || !cJSON_IsString(id) ||
            strlen(id->valuestring) >= sizeof l->exsim_exchange)
            continue; /* the supervisor validates the rest */
        char key[33];
        snprintf(key, sizeof key, "%016llx%016llx", (unsigned long long)beat_random_u64(),
                 (unsigned long long)beat_random_u64());
        cJSON_SetValuestring(k, key);
        if (kl < sizeof keys)
            kl += (size_t)snprintf(keys + kl, sizeof keys - kl, "%s %s\n", id->valuestring, key);
        if (!l->exsim_exchange[0]) {
            snprintf(l->exsim_exchange, sizeof l->exsim_exchange, "%s", id->valuestring);
            snprintf(l->exsim_key, sizeof l->exsim_key, "%s", key);
        }
    }
    char *out = cJSON_PrintUnformatted(root);
    cJSON_Delete(root);
    if (!out) {
        snprintf(err, err_len, "out of memory");
        return -ENOMEM;
    }
    char path[600];
    ctl_path(l, path, sizeof path, "exchange-keys");
    int rc = write_private(path, keys, kl < sizeof keys ? kl : sizeof keys - 1);
    ctl_path(l, l->exchanges, sizeof l->exchanges, "exchanges.json");
    if (!rc) rc = write_private(l->exchanges, out, strlen(out));
    free(out);
    if (rc) snprintf(err, err_len, "cannot write under %s: %s", l->run_dir, strerror(-rc));
    return rc;
}
