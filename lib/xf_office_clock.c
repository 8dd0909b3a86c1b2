/* xf_office_clock.c — the node clock kept in the store: the test offset ([debug]
 * clock_control) and the latest time the office has seen, so that a clock set back (a dead
 * RTC battery, a wrong NTP server) is noticed at start instead of reordering deadlines, urges
 * and the audit log. */
#include "xf_office.h"
#include "xf_office_int.h"

static int clock_get_txn (xf_txn_t *txn, void *arg, xf_err_t *err)
{
    uint64_t v;
    int rc = xf_txn_meta_u64 (txn, "clock_offset", &v, err);
    *(int64_t *) arg = (int64_t) v;
    return rc;
}

static int clock_set_txn (xf_txn_t *txn, void *arg, xf_err_t *err)
{
    return xf_txn_meta_set_u64 (txn, "clock_offset", (uint64_t) *(int64_t *) arg, err);
}

int xf_office_clock_offset (xf_office_t *o, int64_t *offset, xf_err_t *err)
{
    return xf_store_read (o->store, clock_get_txn, offset, err);
}

int xf_office_set_clock_offset (xf_office_t *o, int64_t offset, xf_err_t *err)
{
    return xf_store_write (o->store, clock_set_txn, &offset, err);
}

#define LATEST "clock/latest"

typedef struct {
    int64_t t;
    bool only_later;
} latest_t;

static int latest_set_txn (xf_txn_t *txn, void *arg, xf_err_t *err)
{
    latest_t *l = arg;
    uint64_t v;
    int rc = xf_txn_meta_u64 (txn, LATEST, &v, err);
    if (rc != XF_OK || (l->only_later && (int64_t) v >= l->t))
        return rc;
    return xf_txn_meta_set_u64 (txn, LATEST, (uint64_t) l->t, err);
}

static int latest_get_txn (xf_txn_t *txn, void *arg, xf_err_t *err)
{
    uint64_t v;
    int rc = xf_txn_meta_u64 (txn, LATEST, &v, err);
    *(int64_t *) arg = (int64_t) v;
    return rc;
}

int xf_office_clock_seen (xf_office_t *o, int64_t now, xf_err_t *err)
{
    latest_t l = {now, true};
    return xf_store_write (o->store, latest_set_txn, &l, err);
}

int xf_office_clock_reset (xf_office_t *o, int64_t now, xf_err_t *err)
{
    latest_t l = {now, false};
    return xf_store_write (o->store, latest_set_txn, &l, err);
}

int xf_office_clock_latest (xf_office_t *o, int64_t *latest, xf_err_t *err)
{
    return xf_store_read (o->store, latest_get_txn, latest, err);
}
