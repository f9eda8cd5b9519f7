/* The supervisor's read side: what is current (campaigns, state, model
 * and their versions) for the API, the status page, /healthz and the stats
 * event. Main thread only, like the write path in app.c; nothing here
 * changes what is current (the stats event only refreshes a gauge). */
#include <string.h>

#include "app_int.h"
#include "beat_clock.h"
#include "beat_log.h"
#include "status.h"

sup_exch *sup_app_exchanges(const sup_app *a) { return a->exch; }

const char *sup_app_campaigns_json(const sup_app *a, size_t *len) {
    *len = a->cs_len;
    return a->cs.version ? a->cs_json : NULL;
}

const char *sup_app_state_json(const sup_app *a, size_t *len) {
    *len = a->state_len;
    return a->state.version ? a->state_json : NULL;
}

sup_frame *sup_app_model(const sup_app *a, int64_t *version) {
    *version = a->model_version;
    return sup_frame_ref(a->model);
}

int64_t sup_app_version(const sup_app *a, int which) {
    return which == 0 ? a->cs.version : which == 1 ? a->state.version : a->model_version;
}

int sup_app_versions_json(const sup_app *a, beat_buf *out) {
    int rc = beat_buf_printf(out,
                             "{\"campaigns\":%lld,\"state\":%lld,\"model\":%lld,"
                             "\"campaigns_ts\":%lld,\"state_ts\":%lld,\"model_ts\":%lld,"
                             "\"state_actuator\":",
                             (long long)a->cs.version, (long long)a->state.version,
                             (long long)a->model_version, (long long)a->cs_ts,
                             (long long)a->state_ts, (long long)a->model_ts);
    const char *act = a->state.version ? a->state.actuator : "";
    if (!rc) rc = beat_buf_json_str(out, act, strlen(act));
    if (!rc) rc = sup_status_model_json(out, a->model ? &a->mh : NULL);
    if (!rc)
        rc = beat_buf_printf(out, ",\"exchanges\":%lld",
                             (long long)sup_exch_current(a->exch)->version);
    if (!rc && a->pub) rc = beat_buf_printf(out, ",\"peers\":%d", sup_pub_peers(a->pub));
    if (!rc && beat_clock_simulated()) /* flights on the status page are judged by it */
        rc = beat_buf_printf(out, ",\"engine_ms\":%lld,\"clock_rate\":%g",
                             (long long)beat_engine_ms(), beat_clock_rate());
    if (!rc) rc = beat_buf_puts(out, "}");
    return rc;
}

bool sup_app_health(void *arg, beat_buf *detail) {
    sup_app *a = arg;
    beat_buf_printf(detail,
                    "\"campaigns_version\":%lld,\"state_version\":%lld,"
                    "\"model_version\":%lld,\"campaigns\":%d",
                    (long long)a->cs.version, (long long)a->state.version,
                    (long long)a->model_version, a->cs.n);
    return true; /* serving and writable: the supervisor's whole job */
}

void sup_app_stats(sup_app *a) {
    double bytes = sup_store_disk_bytes(a->st);
    beat_gauge_set(a->db_bytes, bytes);
    beat_log(BEAT_INFO, "stats",
             "campaigns_version=%lld state_version=%lld model_version=%lld"
             " accepted_campaigns=%llu accepted_state=%llu accepted_checkpoint=%llu"
             " rejected_campaigns=%llu rejected_state=%llu rejected_checkpoint=%llu"
             " db_write_failures=%llu db_bytes=%.0f",
             (long long)a->cs.version, (long long)a->state.version, (long long)a->model_version,
             (unsigned long long)beat_counter_get(a->accepted[K_CAMPAIGNS]),
             (unsigned long long)beat_counter_get(a->accepted[K_STATE]),
             (unsigned long long)beat_counter_get(a->accepted[K_CKPT]),
             (unsigned long long)beat_counter_get(a->rejected[K_CAMPAIGNS]),
             (unsigned long long)beat_counter_get(a->rejected[K_STATE]),
             (unsigned long long)beat_counter_get(a->rejected[K_CKPT]),
             (unsigned long long)beat_counter_get(a->db_fail), bytes);
}
