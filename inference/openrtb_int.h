/* What openrtb.c shares with its schema (openrtb_schema.c): which members
 * of a bid request the one-pass parser keeps (jparse.h). A field read by
 * openrtb.c, privacy.c or schain.c must be named there, or it reads as
 * absent. */
#ifndef INF_OPENRTB_INT_H
#define INF_OPENRTB_INT_H

#include "jparse.h"

extern const inf_jschema inf_ortb_request;    /* the bid request */
extern const inf_jschema inf_ortb_native_req; /* imp.native.request (string or object) */

#endif
