/* xf_office_read.c — reading the case book: one case, its history, lists, counts and
 * statistics, each in one read-only snapshot. */
#include <stdlib.h>
#include <string.h>
#include "xf_case_json.h"
#include "xf_office.h"
#include "xf_office_int.h"

/* ---------------------------------------------------------------- reading */

typedef struct {
    const char *id;
    xf_case_t *c;
    json_t *out;
    const xf_case_filter_t *f;
    xf_day_t today;
    size_t limit;
    xf_figures_t *fig;
    xf_day_t first, last;
    xf_case_counts_t *counts;
} read_t;

static int get_txn (xf_txn_t *txn, void *arg, xf_err_t *err)
{
    read_t *r = arg;
    char review[700];
    int rc = xf_office_load_case (txn, r->id, &r->c, err);
    if (rc == XF_ENOTFOUND && xf_office_review_status (txn, r->id, review, sizeof review) == XF_OK)
        xf_err_set (err, XF_ENOTFOUND, "no case %s at this office yet: %s", r->id, review);
    return rc;
}

xf_case_t *xf_office_get (xf_office_t *o, const char *id, xf_err_t *err)
{
    read_t r = {.id = id};
    xf_err_t why = {0};
    if (xf_store_read (o->store, get_txn, &r, err) != XF_OK)
        xf_case_destroy (&r.c);
    else
        (void) xf_office_unseal (o, r.c, &why);   /* one that does not open is shown sealed */
    return r.c;
}

typedef struct {
    const char *id;
    size_t idlen;
    json_t *events;
    xf_err_t *err;
} history_t;

static int history_entry (const void *key, size_t klen, const void *val, size_t vlen, void *arg)
{
    history_t *h = arg;
    if (klen != h->idlen + 5 || memcmp (key, h->id, h->idlen + 1) != 0)
        return 1;
    Xf__CaseEvent *ev = xf__case_event__unpack (NULL, vlen, val);
    if (!ev)
        return xf_err_set (h->err, XF_ESTORE, "case %s: event %u does not decode", h->id,
                           xf_be32_get ((const uint8_t *) key + h->idlen + 1));
    json_array_append_new (h->events, xf_event_to_json (ev));
    xf__case_event__free_unpacked (ev, NULL);
    return 0;
}

static int history_txn (xf_txn_t *txn, void *arg, xf_err_t *err)
{
    read_t *r = arg;
    uint8_t key[XF_CASE_ID_MAX + 5];
    int rc = xf_office_load_case (txn, r->id, &r->c, err);
    xf_case_destroy (&r->c);
    if (rc != XF_OK)
        return rc;
    history_t h = {r->id, strlen (r->id), json_array (), err};
    rc = xf_txn_scan (txn, XF_DB_EVENTS, key, xf_office_event_key (key, r->id, 0), history_entry, &h, err);
    if (rc != XF_OK) {
        json_decref (h.events);
        return rc;
    }
    r->out = json_pack ("{s:o}", "events", h.events);
    return XF_OK;
}

json_t *xf_office_history (xf_office_t *o, const char *id, xf_err_t *err)
{
    read_t r = {.id = id};
    if (strlen (id) >= XF_CASE_ID_MAX) {
        xf_err_set (err, XF_ENOTFOUND, "no case %s at this office", id);
        return NULL;
    }
    if (xf_store_read (o->store, history_txn, &r, err) != XF_OK)
        return NULL;
    return r.out;
}

typedef struct {
    read_t *r;
    json_t *cases;
    xf_err_t *err;
    xf_txn_t *txn;
} list_t;

static bool matches (const xf_case_t *c, const xf_case_filter_t *f, xf_day_t today)
{
    bool onsite = (c->flags & XF__CASE_FLAG__FLAG_ONSITE) && xf_case_is_open (c);
    return (!f->status || (int) c->status == f->status)
           && (!f->owner || strcmp (c->owner, f->owner) == 0)
           && (!f->overdue || xf_case_is_overdue (c, today) || onsite);
}

static int list_entry (const void *key, size_t klen, const void *val, size_t vlen, void *arg)
{
    (void) key, (void) klen;
    list_t *l = arg;
    xf_case_t *c = xf_case_unpack (val, vlen, l->err);
    if (!c)
        return XF_ESTORE;
    if (matches (c, l->r->f, l->r->today))
        json_array_append_new (l->cases, xf_case_to_json (c, l->r->today));
    xf_case_destroy (&c);
    return json_array_size (l->cases) >= l->r->limit ? 1 : 0;
}

/* --overdue walks the due index (oldest deadline first) instead of every case. */
static int list_overdue_entry (const void *key, size_t klen, const void *val, size_t vlen, void *arg)
{
    (void) val, (void) vlen;
    list_t *l = arg;
    char id[XF_CASE_ID_MAX];
    const void *rec = NULL;
    size_t len = 0;
    if (xf_office_due_day (key) >= l->r->today)
        return 1;
    if (klen < 5 || klen - 4 >= sizeof id)
        return xf_err_set (l->err, XF_ESTORE, "due index entry of %zu bytes is damaged", klen);
    memcpy (id, (const uint8_t *) key + 4, klen - 4);
    id[klen - 4] = 0;
    int rc = xf_txn_get (l->txn, XF_DB_CASES, id, strlen (id), &rec, &len, l->err);
    if (rc == XF_ENOTFOUND)
        return xf_err_set (l->err, XF_ESTORE, "due index names case %s, which is not stored", id);
    return rc != XF_OK ? rc : list_entry (id, strlen (id), rec, len, arg);
}

/* … then the cases this office supervises elsewhere (its 催办 schedule): late at their
 * handler, or marked for on-site supervision (坐催). */
static int list_supervised_entry (const void *key, size_t klen, const void *val, size_t vlen,
                                  void *arg)
{
    (void) val, (void) vlen;
    list_t *l = arg;
    const void *rec = NULL;
    size_t len = 0;
    if (klen < 5 || klen - 4 >= XF_CASE_ID_MAX)
        return xf_err_set (l->err, XF_ESTORE, "urge index entry of %zu bytes is damaged", klen);
    const char *id = (const char *) key + 4;
    int rc = xf_txn_get (l->txn, XF_DB_CASES, id, klen - 4, &rec, &len, l->err);
    if (rc == XF_ENOTFOUND)
        return xf_err_set (l->err, XF_ESTORE, "urge index names case %.*s, which is not stored",
                           (int) (klen - 4), id);
    return rc != XF_OK ? rc : list_entry (id, klen - 4, rec, len, arg);
}

/* --status walks that status's index entries, newest case first. */
static int list_status_entry (const void *key, size_t klen, const void *val, size_t vlen, void *arg)
{
    (void) val, (void) vlen;
    list_t *l = arg;
    const void *rec = NULL;
    size_t len = 0;
    if (klen < 2 || ((const uint8_t *) key)[0] != l->r->f->status)
        return 1;
    int rc = xf_txn_get (l->txn, XF_DB_CASES, (const uint8_t *) key + 1, klen - 1, &rec, &len, l->err);
    if (rc == XF_ENOTFOUND)
        return xf_err_set (l->err, XF_ESTORE, "status index names case %.*s, which is not stored",
                           (int) (klen - 1), (const char *) key + 1);
    return rc != XF_OK ? rc : list_entry (key, klen, rec, len, arg);
}

static int list_txn (xf_txn_t *txn, void *arg, xf_err_t *err)
{
    read_t *r = arg;
    list_t l = {r, json_array (), err, txn};
    uint8_t last[2] = {(uint8_t) r->f->status, 0xff};   /* after every id of that status */
    int rc = r->f->overdue  ? xf_txn_scan (txn, XF_DB_DUE, NULL, 0, list_overdue_entry, &l, err)
             : r->f->status ? xf_txn_scan_back (txn, XF_DB_STATUS, last, 2, list_status_entry, &l, err)
                            : xf_txn_scan_back (txn, XF_DB_CASES, NULL, 0, list_entry, &l, err);
    if (rc == XF_OK && r->f->overdue && json_array_size (l.cases) < r->limit)
        rc = xf_txn_scan (txn, XF_DB_URGE, NULL, 0, list_supervised_entry, &l, err);
    if (rc != XF_OK) {
        json_decref (l.cases);
        return rc;
    }
    r->out = json_pack ("{s:o}", "cases", l.cases);
    return XF_OK;
}

json_t *xf_office_list (xf_office_t *o, const xf_case_filter_t *f, xf_day_t today, xf_err_t *err)
{
    read_t r = {.f = f, .today = today, .limit = f->limit ? f->limit : 100};
    if (xf_store_read (o->store, list_txn, &r, err) != XF_OK)
        return NULL;
    return r.out;
}

static int stats_txn (xf_txn_t *txn, void *arg, xf_err_t *err)
{
    read_t *r = arg;
    return xf_stats_read (txn, r->first, r->last, r->fig, NULL, err);
}

int xf_office_stats (xf_office_t *o, xf_day_t first, xf_day_t last, xf_figures_t *out,
                     xf_err_t *err)
{
    read_t r = {.fig = out, .first = first, .last = last};
    return xf_store_read (o->store, stats_txn, &r, err);
}

typedef struct {
    xf_day_t today;
    uint64_t n;
} overdue_count_t;

static int count_overdue (const void *key, size_t klen, const void *val, size_t vlen, void *arg)
{
    (void) klen, (void) val, (void) vlen;
    overdue_count_t *k = arg;
    if (xf_office_due_day (key) >= k->today)
        return 1;
    k->n++;
    return 0;
}

/* Every entry of the due index is a case in a stage with a deadline, so the overdue ones are
 * the entries before today. */
static int counts_txn (xf_txn_t *txn, void *arg, xf_err_t *err)
{
    read_t *r = arg;
    overdue_count_t k = {r->today, 0};
    memset (r->counts, 0, sizeof *r->counts);
    for (int st = 1; st < 6; st++) {
        char name[24];
        snprintf (name, sizeof name, "count/status/%d", st);
        int rc = xf_txn_meta_u64 (txn, name, &r->counts->by_status[st], err);
        if (rc != XF_OK)
            return rc;
        r->counts->total += r->counts->by_status[st];
    }
    int rc = xf_txn_scan (txn, XF_DB_DUE, NULL, 0, count_overdue, &k, err);
    r->counts->overdue = k.n;
    return rc;
}

int xf_office_counts (xf_office_t *o, xf_day_t today, xf_case_counts_t *out, xf_err_t *err)
{
    read_t r = {.counts = out, .today = today};
    return xf_store_read (o->store, counts_txn, &r, err);
}

typedef struct {
    const char *name;
    uint64_t *n;
} counter_t;

static int counter_txn (xf_txn_t *txn, void *arg, xf_err_t *err)
{
    counter_t *c = arg;
    return xf_txn_meta_u64 (txn, c->name, c->n, err);
}

static int read_counter (xf_office_t *o, const char *name, uint64_t *n, xf_err_t *err)
{
    counter_t c = {name, n};
    *n = 0;
    return xf_store_read (o->store, counter_txn, &c, err);
}

int xf_office_undelivered (xf_office_t *o, uint64_t *n, xf_err_t *err)
{
    return read_counter (o, "links/undelivered", n, err);
}

int xf_office_forged (xf_office_t *o, uint64_t *n, xf_err_t *err)
{
    return read_counter (o, "trust/forged", n, err);
}
