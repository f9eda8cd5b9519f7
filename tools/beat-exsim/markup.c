/* The creative's text as the simulated exchange handles it (exsim.h):
 * the macros it substitutes in notice URLs and markup, and the click link
 * it finds in a bid's adm (banner href, VAST ClickThrough, Native 1.2
 * link.url). Pure functions of their input; the adm is a bidder's and is
 * never trusted (every result is bounded by cap). */
#include <errno.h>
#include <string.h>

#include <cJSON.h>

#include "exsim.h"

int exs_macro_subst(const char *tmpl, const char *const *names, const char *const *vals, int n,
                    char *out, size_t cap) {
    size_t k = 0;
    for (const char *p = tmpl; *p;) {
        const char *rep = NULL;
        size_t skip = 0;
        if (p[0] == '$' && p[1] == '{') {
            const char *end = strchr(p + 2, '}');
            for (int i = 0; end && i < n && !rep; i++)
                if (strlen(names[i]) == (size_t)(end - p - 2) &&
                    memcmp(names[i], p + 2, (size_t)(end - p - 2)) == 0) {
                    rep = vals[i];
                    skip = (size_t)(end - p + 1);
                }
        }
        if (rep) { /* unknown macros stay literally, like real exchanges */
            size_t rl = strlen(rep);
            if (k + rl >= cap) return -EMSGSIZE;
            memcpy(out + k, rep, rl);
            k += rl;
            p += skip;
        } else {
            if (k + 1 >= cap) return -EMSGSIZE;
            out[k++] = *p++;
        }
    }
    out[k] = '\0';
    return 0;
}

/* Copies [h, end) into out, decoding the XML/HTML entities a click URL
 * carries in markup. */
static int unescape(const char *h, const char *end, char *out, size_t cap) {
    size_t k = 0;
    static const struct {
        const char *ent;
        char c;
    } ENT[] = {{"&amp;", '&'}, {"&quot;", '"'}, {"&#39;", '\''}, {"&lt;", '<'}, {"&gt;", '>'}};
    for (const char *p = h; p < end;) {
        char c = *p;
        size_t adv = 1;
        for (size_t i = 0; c == '&' && i < sizeof ENT / sizeof ENT[0]; i++) {
            size_t el = strlen(ENT[i].ent);
            if ((size_t)(end - p) >= el && memcmp(p, ENT[i].ent, el) == 0) {
                c = ENT[i].c;
                adv = el;
                break;
            }
        }
        if (k + 1 >= cap) return -EMSGSIZE;
        out[k++] = c;
        p += adv;
    }
    out[k] = '\0';
    return k ? 0 : -ENOENT;
}

int exs_adm_href(const char *adm, char *out, size_t cap) {
    const char *h = strstr(adm, "href=");
    if (h) { /* banner markup */
        h += 5;
        char q = *h;
        if (q != '"' && q != '\'') return -ENOENT;
        h++;
        const char *end = strchr(h, q);
        return end ? unescape(h, end, out, cap) : -ENOENT;
    }
    if ((h = strstr(adm, "<ClickThrough"))) { /* VAST: the video's click-through */
        if (!(h = strchr(h, '>'))) return -ENOENT;
        h++;
        while (*h == ' ' || *h == '\n' || *h == '\t') h++;
        if (strncmp(h, "<![CDATA[", 9) == 0) {
            const char *end = strstr(h + 9, "]]>");
            size_t n = end ? (size_t)(end - h - 9) : 0;
            if (n == 0) return -ENOENT;
            if (n >= cap) return -EMSGSIZE;
            memcpy(out, h + 9, n);
            out[n] = '\0';
            return 0;
        }
        const char *end = strstr(h, "</ClickThrough>");
        return end ? unescape(h, end, out, cap) : -ENOENT;
    }
    /* Native 1.2 response: {"native":{"link":{"url":…}}} or {"link":{…}}. */
    cJSON *j = cJSON_Parse(adm);
    const cJSON *n = cJSON_GetObjectItemCaseSensitive(j, "native");
    const cJSON *link = cJSON_GetObjectItemCaseSensitive(n ? n : j, "link");
    const cJSON *url = cJSON_GetObjectItemCaseSensitive(link, "url");
    int rc = -ENOENT;
    if (cJSON_IsString(url) && url->valuestring[0]) {
        rc = strlen(url->valuestring) < cap ? 0 : -EMSGSIZE;
        if (rc == 0) strcpy(out, url->valuestring);
    }
    cJSON_Delete(j);
    return rc;
}
