/* xf_office_int.h — what the xf_office_*.c files share and nobody else may use: the office
 * struct and the record helpers that work inside a caller's transaction. */
#ifndef XF_OFFICE_INT_H
#define XF_OFFICE_INT_H

#include "xf_office.h"

struct xf_office {
    xf_store_t *store;
    char code[16];
    xf_limits_t lim;
};

#define DUE_KEY_MAX (4 + XF_CASE_ID_MAX)

/* The case with this id (caller destroys), or XF_ENOTFOUND "no case … at this office". */
int xf_office_load_case (xf_txn_t *txn, const char *id, xf_case_t **c_p, xf_err_t *err);
int xf_office_save_case (xf_txn_t *txn, const xf_case_t *c, xf_err_t *err);
/* Appends ev (body set by the caller) to c's history as its next event; numbers, stamps and
 * stores it. c->last_event is advanced: save the case afterwards. */
int xf_office_append_event (xf_txn_t *txn, const xf_office_t *o, const xf_actor_t *who,
                            xf_case_t *c, Xf__CaseEvent *ev, xf_err_t *err);
/* Stores ev (numbered and stamped) in its case's history; a record carried by an escalation,
 * assignment or transfer is left out (the case itself is stored). */
int xf_office_put_event (xf_txn_t *txn, const Xf__CaseEvent *ev, xf_err_t *err);
/* Moves the case's 应结 count to day (from the day it was counted under, if any). */
int xf_office_count_due (xf_txn_t *txn, xf_case_t *c, xf_day_t day, xf_err_t *err);
/* Adds a deadline to the due index (stage 'a' accept, 'h' handle). */
int xf_office_due_add (xf_txn_t *txn, xf_day_t due, const char *id, uint8_t stage, xf_err_t *err);
/* Removes a deadline from the due index (absent is fine: nothing to remove). */
int xf_office_due_del (xf_txn_t *txn, xf_day_t due, const char *id, xf_err_t *err);
/* Moves a case between statuses in the counts and the status index (0: none). */
int xf_office_track_status (xf_txn_t *txn, const char *id, int from, int to, xf_err_t *err);
/* Key of event seq of case id in XF_DB_EVENTS; key holds XF_CASE_ID_MAX + 5 bytes. */
size_t xf_office_event_key (uint8_t *key, const char *id, uint32_t seq);
/* Key of a deadline in XF_DB_DUE (DUE_KEY_MAX bytes), and the day a key holds. */
size_t xf_office_due_key (uint8_t *key, xf_day_t due, const char *id);
static inline xf_day_t xf_office_due_day (const void *key)
{
    return (xf_day_t) (xf_be32_get (key) ^ 0x80000000u);
}

#endif
