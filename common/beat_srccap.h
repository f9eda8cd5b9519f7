/* Per-source-address connection cap of an HTTP server: how many open
 * connections one peer address may hold, so that a single host cannot
 * take every connection slot (slow-drip or idle sockets). Configured
 * networks (the exchanges', which reach us from few addresses) are exempt.
 * A hash table of address → open connections, sized once, thread-safe. */
#ifndef BEAT_SRCCAP_H
#define BEAT_SRCCAP_H

#include <stdbool.h>
#include <stddef.h>

struct sockaddr;

typedef struct beat_srccap beat_srccap;

/* A cap of max_per_source connections per address (0: no cap, nothing is
 * counted) for at most capacity connections counted at once (the servers'
 * connection limit: a counted connection holds a slot, so the table never
 * has more addresses than that). exempt: comma-separated CIDRs ("10.0.0.0/8,
 * 2001:db8::/32"; NULL or "" for none). The caller owns the result
 * (beat_srccap_free). NULL and *err: -EINVAL (a bad CIDR, or a negative
 * number), -ENOMEM; nothing is logged (the caller knows the flag's name). */
beat_srccap *beat_srccap_new(int max_per_source, int capacity, const char *exempt, int *err);
/* NULL is a no-op. */
void beat_srccap_free(beat_srccap *s);

/* At accept: 1 when peer's connection is counted (the caller must
 * beat_srccap_release it at close), 0 when it is not (no cap, an exempt
 * network, an unknown family, or — never with a right capacity — the table
 * full: the connection is let in uncounted), -EBUSY when peer already holds
 * max_per_source connections (close it). IPv4-mapped IPv6 counts as IPv4. */
int beat_srccap_admit(beat_srccap *s, const struct sockaddr *peer);
/* At close of a connection admit counted. */
void beat_srccap_release(beat_srccap *s, const struct sockaddr *peer);
/* Whether peer is in an exempt network. */
bool beat_srccap_exempt(const beat_srccap *s, const struct sockaddr *peer);
/* Open connections counted for peer; addresses tracked (for tests). */
int beat_srccap_count(beat_srccap *s, const struct sockaddr *peer);
int beat_srccap_sources(beat_srccap *s);
/* The cap (0: off). */
int beat_srccap_max(const beat_srccap *s);
/* peer's address as text ("127.0.0.2", "2001:db8::1"; "?" if unknown) in
 * buf (64 bytes are enough), for the refusal's log line. Returns buf. */
const char *beat_srccap_ip(const struct sockaddr *peer, char *buf, size_t len);

#endif
