/* Per-source-address connection cap (beat_srccap.h): an open-addressing
 * hash table of address → open connections under one mutex (accept and
 * close only, never per request), sized at creation so its memory is
 * bounded whatever the peers do. The hash is seeded at random: addresses
 * an attacker picks (an IPv6 prefix holds many) cannot aim at one chain. */
#include "beat_srccap.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "beat_exchange.h" /* beat_cidr */
#include "beat_util.h"

typedef struct entry {
    uint8_t key[16]; /* IPv6, or IPv4 as ::ffff:a.b.c.d */
    uint32_t n;      /* open connections; 0: free */
} entry;

struct beat_srccap {
    int max;
    pthread_mutex_t mu;
    entry *tab;
    uint32_t mask; /* slots - 1 (a power of two, at least twice the capacity) */
    int used, capacity;
    uint64_t seed;
    int n_nets;
    beat_cidr *nets;
};

/* The peer's address as a 16-byte key; false for other families. */
static bool key_of(const struct sockaddr *peer, uint8_t key[16]) {
    if (!peer) return false;
    if (peer->sa_family == AF_INET) {
        memset(key, 0, 10);
        key[10] = key[11] = 0xff;
        memcpy(key + 12, &((const struct sockaddr_in *)peer)->sin_addr, 4);
        return true;
    }
    if (peer->sa_family == AF_INET6) {
        memcpy(key, &((const struct sockaddr_in6 *)peer)->sin6_addr, 16);
        return true;
    }
    return false;
}

static uint64_t mix(uint64_t x) { /* a 64-bit finalizer: every bit reaches every bit */
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdULL;
    x ^= x >> 33;
    x *= 0xc4ceb9fe1a85ec53ULL;
    return x ^ (x >> 33);
}

static uint32_t slot_of(const beat_srccap *s, const uint8_t key[16]) {
    uint64_t a, b;
    memcpy(&a, key, 8);
    memcpy(&b, key + 8, 8);
    return (uint32_t)mix(mix(a ^ s->seed) ^ b) & s->mask;
}

/* The slot holding key, or the free slot where it would go. */
static uint32_t find(const beat_srccap *s, const uint8_t key[16]) {
    uint32_t i = slot_of(s, key);
    while (s->tab[i].n && memcmp(s->tab[i].key, key, 16) != 0) i = (i + 1) & s->mask;
    return i;
}

/* Empties slot i and moves later entries of its run back (no tombstones:
 * a table that churns through addresses never fills with them). */
static void remove_at(beat_srccap *s, uint32_t i) {
    uint32_t j = i;
    for (;;) {
        s->tab[i].n = 0;
        for (;;) {
            j = (j + 1) & s->mask;
            if (!s->tab[j].n) return;
            uint32_t home = slot_of(s, s->tab[j].key);
            /* j's entry may fill the hole at i unless its home lies
             * cyclically in (i, j]. */
            bool stays = i <= j ? (home > i && home <= j) : (home > i || home <= j);
            if (!stays) break;
        }
        s->tab[i] = s->tab[j];
        i = j;
    }
}

static int parse_nets(beat_srccap *s, const char *list) {
    if (!list || !*list) return 0;
    size_t len = strlen(list);
    int most = 1;
    for (size_t k = 0; k < len; k++) most += list[k] == ',';
    s->nets = calloc((size_t)most, sizeof *s->nets);
    if (!s->nets) return -ENOMEM;
    const char *p = list;
    while (*p) {
        while (*p == ' ' || *p == ',') p++;
        if (!*p) break;
        size_t n = strcspn(p, ", ");
        char item[64];
        if (n >= sizeof item) return -EINVAL;
        memcpy(item, p, n);
        item[n] = '\0';
        if (beat_cidr_parse(item, &s->nets[s->n_nets]) != 0) return -EINVAL;
        s->n_nets++;
        p += n;
    }
    return 0;
}

beat_srccap *beat_srccap_new(int max_per_source, int capacity, const char *exempt, int *err) {
    if (max_per_source < 0 || capacity < 1) {
        *err = -EINVAL;
        return NULL;
    }
    beat_srccap *s = calloc(1, sizeof *s);
    if (!s) {
        *err = -ENOMEM;
        return NULL;
    }
    pthread_mutex_init(&s->mu, NULL);
    s->max = max_per_source;
    s->capacity = capacity;
    s->seed = beat_random_u64();
    uint32_t slots = 16;
    while (slots < 2u * (uint32_t)capacity && slots < (1u << 30)) slots <<= 1;
    s->mask = slots - 1;
    int rc = parse_nets(s, exempt);
    if (!rc && max_per_source > 0 && !(s->tab = calloc(slots, sizeof *s->tab))) rc = -ENOMEM;
    if (rc) {
        beat_srccap_free(s);
        *err = rc;
        return NULL;
    }
    return s;
}

void beat_srccap_free(beat_srccap *s) {
    if (!s) return;
    pthread_mutex_destroy(&s->mu);
    free(s->tab);
    free(s->nets);
    free(s);
}

bool beat_srccap_exempt(const beat_srccap *s, const struct sockaddr *peer) {
    for (int i = 0; i < s->n_nets; i++)
        if (beat_cidr_contains(&s->nets[i], peer)) return true;
    return false;
}

int beat_srccap_admit(beat_srccap *s, const struct sockaddr *peer) {
    uint8_t key[16];
    if (!s || !s->max || !key_of(peer, key) || beat_srccap_exempt(s, peer)) return 0;
    int rc = 1;
    pthread_mutex_lock(&s->mu);
    uint32_t i = find(s, key);
    if (s->tab[i].n) {
        if (s->tab[i].n >= (uint32_t)s->max) rc = -EBUSY;
        else s->tab[i].n++;
    } else if (s->used >= s->capacity) {
        rc = 0; /* more counted than the servers hold: a sizing bug, fail open */
    } else {
        memcpy(s->tab[i].key, key, 16);
        s->tab[i].n = 1;
        s->used++;
    }
    pthread_mutex_unlock(&s->mu);
    return rc;
}

void beat_srccap_release(beat_srccap *s, const struct sockaddr *peer) {
    uint8_t key[16];
    if (!s || !s->tab || !key_of(peer, key)) return;
    pthread_mutex_lock(&s->mu);
    uint32_t i = find(s, key);
    if (s->tab[i].n && --s->tab[i].n == 0) {
        remove_at(s, i);
        s->used--;
    }
    pthread_mutex_unlock(&s->mu);
}

int beat_srccap_count(beat_srccap *s, const struct sockaddr *peer) {
    uint8_t key[16];
    if (!s || !s->tab || !key_of(peer, key)) return 0;
    pthread_mutex_lock(&s->mu);
    int n = (int)s->tab[find(s, key)].n;
    pthread_mutex_unlock(&s->mu);
    return n;
}

int beat_srccap_sources(beat_srccap *s) {
    if (!s) return 0;
    pthread_mutex_lock(&s->mu);
    int n = s->used;
    pthread_mutex_unlock(&s->mu);
    return n;
}

int beat_srccap_max(const beat_srccap *s) { return s ? s->max : 0; }

const char *beat_srccap_ip(const struct sockaddr *peer, char *buf, size_t len) {
    const void *a = NULL;
    if (peer && peer->sa_family == AF_INET) a = &((const struct sockaddr_in *)peer)->sin_addr;
    else if (peer && peer->sa_family == AF_INET6)
        a = &((const struct sockaddr_in6 *)peer)->sin6_addr;
    if (!a || !inet_ntop(peer->sa_family, a, buf, (socklen_t)len)) snprintf(buf, len, "?");
    return buf;
}
