/* xf_office_scan.c — the deadline scan: marks cases whose stage deadline has passed as
 * overdue, once each, with an event and a count. */
#include <stdlib.h>
#include <string.h>
#include "xf_office.h"
#include "xf_office_int.h"

/* ---------------------------------------------------------------- deadline scan */

/* The due index holds one entry per case in a stage with a deadline. The scan walks the
 * entries whose deadline lies between the last day it finished ("scan/day" in meta) and
 * yesterday, so each entry is looked at once as time moves on; the "overdue" flag keeps it
 * counted once even if a test clock moves backwards and forwards again. */
#define SCAN_BATCH 256

typedef struct {
    xf_day_t today;
    char ids[SCAN_BATCH][XF_CASE_ID_MAX];
    xf_day_t dues[SCAN_BATCH];
    uint8_t last[DUE_KEY_MAX + 1];
    size_t n, last_len;
} due_batch_t;

static int collect_due (const void *key, size_t klen, const void *val, size_t vlen, void *arg)
{
    (void) val, (void) vlen;
    due_batch_t *b = arg;
    xf_day_t due = xf_office_due_day (key);
    if (due >= b->today || b->n == SCAN_BATCH)
        return 1;
    if (klen < 5 || klen - 4 >= XF_CASE_ID_MAX)
        return XF_ESTORE;
    memcpy (b->ids[b->n], (const uint8_t *) key + 4, klen - 4);
    b->ids[b->n][klen - 4] = 0;
    b->dues[b->n++] = due;
    memcpy (b->last, key, klen);
    b->last[klen] = 0;          /* key + "\0" is the smallest key after this one */
    b->last_len = klen + 1;
    return 0;
}

typedef struct {
    xf_office_t *o;
    const xf_actor_t *who;
    size_t marked;
    bool more;
} scan_t;

static int mark_overdue (xf_txn_t *txn, scan_t *s, const char *id, xf_day_t due, xf_err_t *err)
{
    xf_case_t *c = NULL;
    int rc = xf_office_load_case (txn, id, &c, err);
    if (rc != XF_OK)
        return rc;
    if (xf_case_due (c) == due && !(c->flags & XF__CASE_FLAG__FLAG_OVERDUE)) {
        Xf__CaseEvent ev = XF__CASE_EVENT__INIT;
        Xf__Overdue body = XF__OVERDUE__INIT;
        body.due = due;
        body.stage = c->status == XF__STATUS__REGISTERED ? "accept" : "handle";
        ev.body_case = XF__CASE_EVENT__BODY_OVERDUE;
        ev.overdue = &body;
        c->flags |= XF__CASE_FLAG__FLAG_OVERDUE;
        if (!(rc = xf_stats_bump (txn, due, XF_ST_OVERDUE, 1, err))
            && !(rc = xf_office_append_event (txn, s->o, s->who, c, &ev, err)))
            rc = xf_office_save_case (txn, s->o, c, err);
        s->marked++;
    }
    xf_case_destroy (&c);
    return rc;
}

/* Where the previous scan stopped; from a century back on the first scan or when the test
 * clock moved back before it. */
static int scan_start (xf_txn_t *txn, xf_day_t today, uint8_t *start, size_t *len, xf_err_t *err)
{
    const void *val = NULL;
    size_t vlen = 0;
    int rc = xf_txn_get (txn, XF_DB_META, "scan/next", 9, &val, &vlen, err);
    if (rc == XF_OK && vlen >= 4 && vlen <= DUE_KEY_MAX + 1
        && xf_office_due_day (val) <= today) {
        memcpy (start, val, vlen);
        *len = vlen;
        return XF_OK;
    }
    if (rc != XF_OK && rc != XF_ENOTFOUND)
        return rc;
    *len = xf_office_due_key (start, today - 36500, "");
    return XF_OK;
}

static int scan_txn (xf_txn_t *txn, void *arg, xf_err_t *err)
{
    scan_t *s = arg;
    uint8_t start[DUE_KEY_MAX + 1];
    size_t start_len;
    due_batch_t *b = calloc (1, sizeof *b);
    if (!b)
        return xf_err_set (err, XF_ENOMEM, "out of memory");
    s->marked = 0;
    b->today = xf_day_of_time (s->who->now);
    int rc = scan_start (txn, b->today, start, &start_len, err);
    if (rc == XF_OK)
        rc = xf_txn_scan (txn, XF_DB_DUE, start, start_len, collect_due, b, err);
    for (size_t i = 0; rc == XF_OK && i < b->n; i++)
        rc = mark_overdue (txn, s, b->ids[i], b->dues[i], err);
    s->more = b->n == SCAN_BATCH;
    if (rc == XF_OK && !s->more) {   /* everything before today is done */
        b->last_len = xf_office_due_key (b->last, b->today, "");
    }
    bool moved = b->last_len != start_len || memcmp (b->last, start, start_len) != 0;
    if (rc == XF_OK && moved)   /* an unchanged position writes nothing: no commit, no fsync */
        rc = xf_txn_put (txn, XF_DB_META, "scan/next", 9, b->last, b->last_len, err);
    free (b);
    return rc;
}

int xf_office_scan_deadlines (xf_office_t *o, int64_t now, size_t *marked, xf_err_t *err)
{
    xf_actor_t node = {now, 0, XF_ACTOR_NODE};
    size_t total = 0;
    scan_t s;
    do {
        s = (scan_t) {o, &node, 0, false};
        int rc = xf_store_write (o->store, scan_txn, &s, err);
        if (rc != XF_OK)
            return rc;
        total += s.marked;
    } while (s.more);
    if (marked)
        *marked = total;
    return XF_OK;
}
