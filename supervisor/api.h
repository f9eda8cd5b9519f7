/* HTTP API of the supervisor (COMMON "HTTP APIs between daemons"): routes
 * on the daemon's HTTP server (beat_http.h), mapping requests to sup_app calls. */
#ifndef SUP_API_H
#define SUP_API_H

#include "app.h"
#include "beat_http.h"
#include "segments.h"

typedef struct sup_api sup_api;

/* admin_token: Bearer token required on writes ("" or NULL = no auth);
 * cfg gives the body limits (413 above them). Borrows h, a and the token;
 * they must outlive the api. */
sup_api *sup_api_new(beat_http *h, sup_app *a, const char *admin_token, const sup_cfg *cfg);
void sup_api_free(sup_api *api); /* NULL is a no-op */
/* The first-party segment list routes (/v1/segments, /v1/segments/<id>)
 * over g (borrowed); PUT bodies above max_body get 413. */
void sup_api_segments(sup_api *api, beat_http *h, sup_segs *g, size_t max_body);

#endif
