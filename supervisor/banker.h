/* The budget banker's I/O (docs/money.md "Budget leases"): the lease socket
 * (nng rep: reports in, grants out) on its own thread, the allowances in
 * their own SQLite file (written before a grant is sent, so a restarted
 * supervisor never grants twice), and a ledger thread that reads every
 * datastream's GET /v1/ledger. The arithmetic is bank.c's. Nothing here is
 * on the main loop's path: the main thread only hands over campaign sets
 * and asks for status. */
#ifndef SUP_BANKER_H
#define SUP_BANKER_H

#include <stdbool.h>
#include <stdint.h>

#include "bank.h"
#include "beat_campaign.h"
#include "beat_util.h"

typedef struct sup_banker sup_banker;

typedef struct sup_banker_cfg {
    const char *lease_url; /* nng rep to listen on */
    const char *db_path;   /* allowances (a file of its own) */
    sup_bank_cfg bank;
    const char *const *ledger_urls; /* datastream base URLs */
    int n_ledger;
    int ledger_every_ms;   /* 500 */
    int ledger_timeout_ms; /* 1000 */
} sup_banker_cfg;

/* Opens the db (restoring every allowance), listens, starts both threads.
 * NULL + *err (logged) on failure. */
sup_banker *sup_banker_new(const sup_banker_cfg *cfg, int *err);
void sup_banker_free(sup_banker *b); /* joins the threads; NULL: no-op */
/* A new campaign set (copied): budgets, flights, pauses. Any thread. */
void sup_banker_set_campaigns(sup_banker *b, const beat_campaign_set *cs);
/* Accounts per campaign and the ledger's health as JSON (GET /v1/leases). */
int sup_banker_json(sup_banker *b, beat_buf *out);

#endif
