/* xf_office.c — the office's case book: registration and decisions, each as one LMDB
 * transaction over cases, events, the due index, the petitioner and status indexes and the
 * counters. Reading is in xf_office_read.c, the deadline scan in xf_office_scan.c. */
#include "xf_office.h"
#include "xf_office_int.h"

#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "xf_case_json.h"
#include "xf_query.h"
#include "xf_text.h"

enum { STAGE_ACCEPT = 'a', STAGE_HANDLE = 'h' };
#define DRY_RUN_DONE 1

/* A store belongs to the office that first opened it: another office's store (a data_dir
 * copied or mistyped) would mix its cases, envelopes and audit log into this one's. */
static int claim_store (xf_txn_t *txn, void *arg, xf_err_t *err)
{
    const xf_office_t *o = arg;
    const void *v = NULL;
    size_t len = 0;
    int rc = xf_txn_get (txn, XF_DB_META, "office", 6, &v, &len, err);
    if (rc == XF_ENOTFOUND)
        return xf_txn_put (txn, XF_DB_META, "office", 6, o->code, strlen (o->code), err);
    if (rc != XF_OK)
        return rc;
    if (len != strlen (o->code) || memcmp (v, o->code, len) != 0)
        return xf_err_set (err, XF_ECONFIG, "the store belongs to office %.*s (its cases, "
                           "envelopes and audit log), and this office is %s: point data_dir at "
                           "this office's own store", (int) (len < 16 ? len : 16),
                           (const char *) v, o->code);
    return XF_OK;
}

xf_office_t *xf_office_new (xf_store_t *store, const char *code, const xf_limits_t *lim,
                            xf_err_t *err)
{
    xf_office_t *o = calloc (1, sizeof *o);
    if (!o) {
        xf_err_set (err, XF_ENOMEM, "out of memory");
        return NULL;
    }
    o->store = store;
    snprintf (o->code, sizeof o->code, "%s", code);
    o->lim = *lim;
    if (xf_store_write (store, claim_store, o, err) != XF_OK) {
        free (o);
        return NULL;
    }
    return o;
}

void xf_office_destroy (xf_office_t **office_p)
{
    if (office_p && *office_p) {
        xf_office_pulls_free (*office_p);
        free (*office_p);
        *office_p = NULL;
    }
}

const char *xf_office_code (const xf_office_t *o)
{
    return o->code;
}

void xf_office_set_net (xf_office_t *o, const xf_net_t *net)
{
    o->net = *net;
}

void xf_office_set_limits (xf_office_t *o, const xf_limits_t *lim)
{
    o->lim = *lim;
}

/* ---------------------------------------------------------------- records */

int xf_office_load_case (xf_txn_t *txn, const char *id, xf_case_t **c_p, xf_err_t *err)
{
    return xf_office_load_case_pair (txn, id, c_p, NULL, NULL, NULL, err);
}

int xf_office_load_case_pair (xf_txn_t *txn, const char *id, xf_case_t **c_p,
                              xf_case_t **before_p, uint8_t **slim_p, size_t *slim_len,
                              xf_err_t *err)
{
    const void *val = NULL;
    size_t len = 0;
    /* an empty or oversized id is no case, not a store failure (LMDB refuses such keys) */
    int rc = *id && strlen (id) < XF_CASE_ID_MAX
                 ? xf_txn_get (txn, XF_DB_CASES, id, strlen (id), &val, &len, err)
                 : XF_ENOTFOUND;
    if (rc == XF_ENOTFOUND)
        return xf_err_set (err, XF_ENOTFOUND, "no case %s at this office", id);
    if (rc != XF_OK)
        return rc;
    if (!(*c_p = xf_case_unpack (val, len, err)))
        return xf_err_prefix (err, "case %s", id);
    if (!before_p)
        return XF_OK;
    /* the stored bytes less the kept fields: what is remembered, and all `before` is read for */
    if (!(*slim_p = malloc (len ? len : 1)))
        rc = xf_err_set (err, XF_ENOMEM, "out of memory");
    else if ((*slim_len = xf_office_slim_bytes (val, len, *slim_p)) == SIZE_MAX)
        rc = xf_err_set (err, XF_ESTORE, "case record of %zu bytes does not scan", len);
    else if (!(*before_p = xf_case_unpack_view (*slim_p, *slim_len, err)))
        rc = XF_ESTORE;
    if (rc != XF_OK) {
        free (*slim_p);
        *slim_p = NULL;
        xf_case_destroy (c_p);
        return xf_err_prefix (err, "case %s", id);
    }
    return XF_OK;
}

int xf_office_save_case (xf_txn_t *txn, const xf_office_t *o, const xf_case_t *c, xf_err_t *err)
{
    int rc = xf_office_share_track (txn, o, c, err);
    if (rc != XF_OK)
        return rc;
    size_t len = 0;
    uint8_t *buf = xf_case_pack (c, &len);
    if (!buf)
        return xf_err_set (err, XF_ENOMEM, "out of memory");
    rc = xf_txn_put (txn, XF_DB_CASES, c->id, strlen (c->id), buf, len, err);
    free (buf);
    return rc;
}

size_t xf_office_event_key (uint8_t *key, const char *id, uint32_t seq)
{
    size_t n = strlen (id);
    memcpy (key, id, n);
    key[n] = 0;   /* separator: "…-000001\0" sorts before "…-0000010" */
    xf_be32_put (key + n + 1, seq);
    return n + 5;
}

int xf_office_append_event (xf_txn_t *txn, xf_office_t *o, const xf_actor_t *who,
                            xf_case_t *c, Xf__CaseEvent *ev, xf_err_t *err)
{
    ev->case_id = c->id;
    ev->seq = ++c->last_event;
    ev->at = who->now;
    ev->office = o->code;
    ev->operator_uid = who->uid;
    int rc = xf_office_put_event (txn, ev, err);
    if (rc == XF_OK)
        rc = xf_office_audit_event (txn, o, who, ev, err);
    return rc == XF_OK ? xf_office_publish (txn, o, c, ev, err) : rc;
}

int xf_office_put_event (xf_txn_t *txn, const Xf__CaseEvent *ev, xf_err_t *err)
{
    uint8_t key[XF_CASE_ID_MAX + 5];
    Xf__CaseEvent kept = *ev;
    kept.record = NULL;
    kept.n_earlier = 0;
    Xf__Registration reg;
    Xf__Escalation esc;
    Xf__Assignment asg;
    Xf__Transfer tr;
    /* A registration, or a case that travels, carries the whole record in the event; the case
     * itself is stored beside its history, so the history keeps the event without that copy
     * (and an office that joins the case gets the history small). */
    switch (ev->body_case) {
    case XF__CASE_EVENT__BODY_REGISTRATION:
        reg = *ev->registration;
        reg.record = NULL;
        kept.registration = &reg;
        break;
    case XF__CASE_EVENT__BODY_ESCALATION:
        esc = *ev->escalation;
        esc.record = NULL;
        kept.escalation = &esc;
        break;
    case XF__CASE_EVENT__BODY_ASSIGNMENT:
        asg = *ev->assignment;
        asg.record = NULL;
        kept.assignment = &asg;
        break;
    case XF__CASE_EVENT__BODY_TRANSFER:
        tr = *ev->transfer;
        tr.record = NULL;
        kept.transfer = &tr;
        break;
    default:
        break;
    }
    size_t len = xf__case_event__get_packed_size (&kept);
    uint8_t *buf = malloc (len ? len : 1);
    if (!buf)
        return xf_err_set (err, XF_ENOMEM, "out of memory");
    xf__case_event__pack (&kept, buf);
    int rc = xf_txn_put (txn, XF_DB_EVENTS, key, xf_office_event_key (key, ev->case_id, ev->seq),
                         buf, len, err);
    free (buf);
    return rc;
}

size_t xf_office_due_key (uint8_t *key, xf_day_t due, const char *id)
{
    size_t n = strlen (id);
    xf_be32_put (key, (uint32_t) due ^ 0x80000000u);
    memcpy (key + 4, id, n);
    return 4 + n;
}

/* Adds a deadline; one behind the scan's position (a case received long ago) moves the
 * position back so the next scan still sees it. */
int xf_office_due_add (xf_txn_t *txn, xf_day_t due, const char *id, uint8_t stage, xf_err_t *err)
{
    uint8_t key[DUE_KEY_MAX];
    const void *pos = NULL;
    size_t len = xf_office_due_key (key, due, id), plen;
    int rc = xf_txn_put (txn, XF_DB_DUE, key, len, &stage, 1, err);
    if (rc != XF_OK)
        return rc;
    rc = xf_txn_get (txn, XF_DB_META, "scan/next", 9, &pos, &plen, err);
    if (rc == XF_ENOTFOUND)
        return XF_OK;
    size_t n = len < plen ? len : plen;
    int cmp = rc == XF_OK ? memcmp (key, pos, n) : 0;
    if (rc == XF_OK && (cmp < 0 || (cmp == 0 && len < plen)))
        rc = xf_txn_put (txn, XF_DB_META, "scan/next", 9, key, len, err);
    return rc;
}

int xf_office_due_del (xf_txn_t *txn, xf_day_t due, const char *id, xf_err_t *err)
{
    uint8_t key[DUE_KEY_MAX];
    int rc = xf_txn_del (txn, XF_DB_DUE, key, xf_office_due_key (key, due, id), err);
    return rc == XF_ENOTFOUND ? XF_OK : rc;
}

int xf_office_count_due (xf_txn_t *txn, xf_case_t *c, xf_day_t day, xf_err_t *err)
{
    int rc;
    if (c->due_counted == day)
        return XF_OK;
    if (c->due_counted && (rc = xf_stats_bump (txn, c->due_counted, XF_ST_DUE, -1, err)))
        return rc;
    if ((rc = xf_stats_bump (txn, day, XF_ST_DUE, 1, err)))
        return rc;
    c->due_counted = day;
    return XF_OK;
}

/* "count/status/N": the meta key of the count of cases in status N. */
static void status_name (char name[24], int status)
{
    char digits[21];
    digits[xf_text_uint (digits, (uint32_t) status)] = '\0';
    xf_text_join (name, 24, "count/status/", digits, (char *) NULL);
}

/* Cases per status: a count in meta and an index entry per case, kept beside every change so
 * that `status` and `case list --status` never walk all the cases. */
int xf_office_track_status (xf_txn_t *txn, const char *id, int from, int to, xf_err_t *err)
{
    char name[24];
    uint8_t key[1 + XF_CASE_ID_MAX];
    size_t idlen = strlen (id);
    uint64_t v;
    int rc = XF_OK;
    if (from == to)
        return XF_OK;
    memcpy (key + 1, id, idlen);
    if (from) {
        status_name (name, from);
        key[0] = (uint8_t) from;
        if (!(rc = xf_txn_meta_u64 (txn, name, &v, err))
            && !(rc = xf_txn_meta_set_u64 (txn, name, v ? v - 1 : 0, err)))
            rc = xf_txn_del (txn, XF_DB_STATUS, key, 1 + idlen, err);
    }
    if (rc == XF_OK && to) {
        status_name (name, to);
        key[0] = (uint8_t) to;
        if (!(rc = xf_txn_meta_u64 (txn, name, &v, err))
            && !(rc = xf_txn_meta_set_u64 (txn, name, v + 1, err)))
            rc = xf_txn_put (txn, XF_DB_STATUS, key, 1 + idlen, "", 0, err);
    }
    return rc;
}

/* ---------------------------------------------------------------- registration */

/* 查询码 (xf_query.h): unguessable, and it names this office so that any office can ask it. */
static int assign_query_code (xf_txn_t *txn, xf_office_t *o, xf_case_t *c, xf_err_t *err)
{
    for (int attempt = 0; attempt < 8; attempt++) {
        uint64_t r;
        char code[XF_QUERY_SHOWN];
        if (RAND_bytes ((unsigned char *) &r, sizeof r) != 1)
            return xf_err_set (err, XF_EIO, "cannot draw random bytes for a query code");
        int rc = xf_query_make (o->code, r, code, err);
        if (rc == XF_OK)
            rc = xf_txn_insert (txn, XF_DB_QUERY, code, strlen (code), c->id, strlen (c->id), err);
        if (rc == XF_EEXIST)
            continue;
        if (rc != XF_OK)
            return rc;
        return xf_case_set (&c->query_code, code) ? xf_err_set (err, XF_ENOMEM, "out of memory") : XF_OK;
    }
    return xf_err_set (err, XF_ESTATE, "could not find an unused query code");
}

static int count_registration (xf_txn_t *txn, const xf_case_t *c, xf_err_t *err)
{
    xf_figures_t d = {{0}};
    d.v[XF_ST_RECEIVED] = 1;
    d.v[XF_ST_CHANNEL + c->channel] = 1;
    d.v[XF_ST_CATEGORY + c->category] = 1;
    if (c->accused && c->accused->rank)
        d.v[XF_ST_RANK + c->accused->rank] = 1;
    if (c->subject)
        d.v[XF_ST_SUBJECT + c->subject] = 1;
    d.v[XF_ST_REPEAT] = !!(c->flags & XF__CASE_FLAG__FLAG_REPEAT);
    d.v[XF_ST_SKIP_LEVEL] = !!(c->flags & XF__CASE_FLAG__FLAG_SKIP_LEVEL);
    d.v[XF_ST_GROUP] = !!(c->flags & XF__CASE_FLAG__FLAG_GROUP);
    return xf_stats_apply (txn, c->received, &d, err);
}

/* Registers one case inside txn: number, record, indexes, counters, first event. */
static int register_in (xf_txn_t *txn, xf_office_t *o, const xf_actor_t *who, xf_case_t *c,
                        xf_sightings_t *up, xf_err_t *err)
{
    xf_day_t today = xf_day_of_time (who->now);
    int y, m, d, rc;
    uint64_t seq;
    char name[16], id[XF_CASE_ID_MAX];
    xf_day_to_ymd (today, &y, &m, &d);
    snprintf (name, sizeof name, "seq/%04d", y);
    if ((rc = xf_case_check_new (c, today, err))
        || (rc = xf_txn_meta_u64 (txn, name, &seq, err))
        || (rc = xf_case_format_id (id, o->code, y, seq + 1, err))
        || (rc = xf_txn_meta_set_u64 (txn, name, seq + 1, err))
        || (rc = xf_case_register (c, id, o->code, today, &o->lim, err))
        || (rc = xf_office_mark_petitioner (txn, o, c, up, err))
        || (rc = xf_office_seal_new (o, c, err))
        || (rc = assign_query_code (txn, o, c, err))
        || (rc = xf_office_due_add (txn, c->accept_due, c->id, STAGE_ACCEPT, err))
        || (rc = count_registration (txn, c, err))
        || (rc = xf_office_track_status (txn, c->id, 0, XF__STATUS__REGISTERED, err)))
        return rc;
    Xf__CaseEvent ev = XF__CASE_EVENT__INIT;
    Xf__Registration reg = XF__REGISTRATION__INIT;
    ev.body_case = XF__CASE_EVENT__BODY_REGISTRATION;
    ev.registration = &reg;
    reg.record = c;   /* the record as registered; xf_office_append_event numbers it 1 first */
    if ((rc = xf_office_append_event (txn, o, who, c, &ev, err)))
        return rc;
    return xf_office_save_case (txn, o, c, err);
}

typedef struct {
    xf_office_t *o;
    const xf_actor_t *who;
    xf_case_t **cases;
    xf_case_t **work;   /* per attempt copies, so a retried transaction starts clean */
    xf_sightings_t up;  /* registrations to tell the office above */
    size_t n, bad;
    bool dry_run;
} batch_t;

static int register_batch_txn (xf_txn_t *txn, void *arg, xf_err_t *err)
{
    batch_t *b = arg;
    b->up.n = 0;
    for (size_t i = 0; i < b->n; i++) {
        xf_case_destroy (&b->work[i]);
        if (!(b->work[i] = xf_case_copy (b->cases[i])))
            return xf_err_set (err, XF_ENOMEM, "out of memory");
        int rc = register_in (txn, b->o, b->who, b->work[i], &b->up, err);
        if (rc != XF_OK) {
            b->bad = i;
            return rc;
        }
    }
    if (b->dry_run)
        return DRY_RUN_DONE;
    return xf_office_send_sightings (txn, b->o, &b->up, b->who->now, err);   /* a positive return aborts: nothing written */
}

int xf_office_register_batch (xf_office_t *o, const xf_actor_t *who, xf_case_t **cases, size_t n,
                              bool dry_run, size_t *bad, xf_err_t *err)
{
    batch_t b = {o, who, cases, calloc (n ? n : 1, sizeof *b.work), {0}, n, 0, dry_run};
    if (!b.work)
        return xf_err_set (err, XF_ENOMEM, "out of memory");
    int rc = xf_store_write (o->store, register_batch_txn, &b, err);
    if (rc == DRY_RUN_DONE)
        rc = XF_OK;
    for (size_t i = 0; i < n; i++) {
        if (rc == XF_OK && !dry_run) {   /* hand the registered records back */
            xf_case_destroy (&cases[i]);
            cases[i] = b.work[i];
        } else
            xf_case_destroy (&b.work[i]);
    }
    if (bad)
        *bad = b.bad;
    free (b.work);
    xf_sightings_clear (&b.up);
    return rc;
}

int xf_office_register (xf_office_t *o, const xf_actor_t *who, xf_case_t *c, xf_err_t *err)
{
    xf_case_t *one[1] = {xf_case_copy (c)};
    if (!one[0])
        return xf_err_set (err, XF_ENOMEM, "out of memory");
    int rc = xf_office_register_batch (o, who, one, 1, false, NULL, err);
    if (rc == XF_OK)   /* the caller sees what it registered */
        rc = xf_office_unseal (o, one[0], err);
    if (rc == XF_OK) {   /* move the registered record into the caller's struct */
        xf_case_t tmp = *c;
        *c = *one[0];
        *one[0] = tmp;
    }
    xf_case_destroy (&one[0]);
    return rc;
}

/* ---------------------------------------------------------------- decisions */

typedef struct change change_t;
/* Applies the action to c (already loaded, owned by this office's transaction), fills in
 * the event body and does the index and counter work. */
typedef int (*change_fn) (change_t *ch, xf_txn_t *txn, xf_case_t *c, Xf__CaseEvent *ev,
                          xf_err_t *err);

struct change {
    xf_office_t *o;
    const xf_actor_t *who;
    const char *id;
    change_fn fn;
    xf_day_t today;
    bool file;
    int days;
    const char *text;
    union {   /* the event body lives here until the event is packed */
        Xf__Acceptance acceptance;
        Xf__Rejection rejection;
        Xf__Extension extension;
        Xf__Closing closing;
    } body;
};

static int change_txn (xf_txn_t *txn, void *arg, xf_err_t *err)
{
    change_t *ch = arg;
    xf_case_t *c = NULL;
    Xf__CaseEvent ev = XF__CASE_EVENT__INIT;
    int rc = xf_office_load_case (txn, ch->id, &c, err), before = c ? (int) c->status : 0;
    if (rc == XF_OK && (rc = ch->fn (ch, txn, c, &ev, err)) == XF_OK
        && (rc = xf_office_append_event (txn, ch->o, ch->who, c, &ev, err)) == XF_OK
        && (rc = xf_office_track_status (txn, c->id, before, (int) c->status, err)) == XF_OK)
        rc = xf_office_save_case (txn, ch->o, c, err);
    xf_case_destroy (&c);
    return rc;
}

static int run_change (xf_office_t *o, const xf_actor_t *who, const char *id, change_t *ch,
                       xf_err_t *err)
{
    ch->o = o;
    ch->who = who;
    ch->id = id;
    ch->today = xf_day_of_time (who->now);
    return xf_store_write (o->store, change_txn, ch, err);
}

static int accept_fn (change_t *ch, xf_txn_t *txn, xf_case_t *c, Xf__CaseEvent *ev, xf_err_t *err)
{
    Xf__Acceptance *body = &ch->body.acceptance;
    int rc = xf_case_accept (c, ch->o->code, ch->today, ch->file, &ch->o->lim, err);
    if (rc != XF_OK)
        return rc;
    xf_figures_t d = {{0}};
    d.v[XF_ST_ACCEPTED] = 1;
    d.v[XF_ST_FILED] = c->filed;
    if ((rc = xf_office_due_del (txn, c->accept_due, c->id, err))
        || (rc = xf_office_due_add (txn, c->handle_due, c->id, STAGE_HANDLE, err))
        || (rc = xf_stats_apply (txn, ch->today, &d, err))
        || (c->filed && (rc = xf_office_count_due (txn, c, c->handle_due, err))))
        return rc;
    xf__acceptance__init (body);
    body->filed = c->filed;
    body->handle_due = c->handle_due;
    ev->body_case = XF__CASE_EVENT__BODY_ACCEPTANCE;
    ev->acceptance = body;
    return XF_OK;
}

static int reject_fn (change_t *ch, xf_txn_t *txn, xf_case_t *c, Xf__CaseEvent *ev, xf_err_t *err)
{
    Xf__Rejection *body = &ch->body.rejection;
    int rc = xf_case_reject (c, ch->o->code, ch->today, ch->text, err);
    if (rc || (rc = xf_office_due_del (txn, c->accept_due, c->id, err))
        || (rc = xf_stats_bump (txn, ch->today, XF_ST_REJECTED, 1, err)))
        return rc;
    xf__rejection__init (body);
    body->reason = (char *) ch->text;
    ev->body_case = XF__CASE_EVENT__BODY_REJECTION;
    ev->rejection = body;
    return XF_OK;
}

static int extend_fn (change_t *ch, xf_txn_t *txn, xf_case_t *c, Xf__CaseEvent *ev, xf_err_t *err)
{
    Xf__Extension *body = &ch->body.extension;
    xf_day_t old_due = c->handle_due;
    int rc = xf_case_extend (c, ch->o->code, ch->today, ch->days, ch->text, &ch->o->lim, err);
    if (rc || (rc = xf_office_due_del (txn, old_due, c->id, err))
        || (rc = xf_office_due_add (txn, c->handle_due, c->id, STAGE_HANDLE, err))
        || (c->filed && (rc = xf_office_count_due (txn, c, c->handle_due, err))))
        return rc;
    xf__extension__init (body);
    body->days = (uint32_t) ch->days;
    body->reason = (char *) ch->text;
    body->handle_due = c->handle_due;
    ev->body_case = XF__CASE_EVENT__BODY_EXTENSION;
    ev->extension = body;
    return XF_OK;
}

/* 办结: counted as closed today; a filed case closed by its deadline is 应结 and 按期 today,
 * one closed late stays 应结 under its deadline. */
static int close_fn (change_t *ch, xf_txn_t *txn, xf_case_t *c, Xf__CaseEvent *ev, xf_err_t *err)
{
    Xf__Closing *body = &ch->body.closing;
    xf_day_t due = c->handle_due;
    int rc = xf_case_close (c, ch->o->code, ch->today, ch->text, err);
    bool on_time = ch->today <= due;
    xf_figures_t d = {{0}};
    d.v[XF_ST_CLOSED] = 1;
    d.v[XF_ST_CLOSED_ON_TIME] = c->filed && on_time;
    if (rc || (rc = xf_office_due_del (txn, due, c->id, err)) || (rc = xf_stats_apply (txn, ch->today, &d, err))
        || (c->filed && on_time && (rc = xf_office_count_due (txn, c, ch->today, err))))
        return rc;
    xf__closing__init (body);
    body->reply = (char *) ch->text;
    body->on_time = on_time;
    ev->body_case = XF__CASE_EVENT__BODY_CLOSING;
    ev->closing = body;
    return XF_OK;
}

int xf_office_accept (xf_office_t *o, const xf_actor_t *who, const char *id, bool file,
                      xf_err_t *err)
{
    change_t ch = {.fn = accept_fn, .file = file};
    return run_change (o, who, id, &ch, err);
}

int xf_office_reject (xf_office_t *o, const xf_actor_t *who, const char *id, const char *reason,
                      xf_err_t *err)
{
    change_t ch = {.fn = reject_fn, .text = reason};
    return run_change (o, who, id, &ch, err);
}

int xf_office_extend (xf_office_t *o, const xf_actor_t *who, const char *id, int days,
                      const char *reason, xf_err_t *err)
{
    change_t ch = {.fn = extend_fn, .days = days, .text = reason};
    return run_change (o, who, id, &ch, err);
}

int xf_office_close (xf_office_t *o, const xf_actor_t *who, const char *id, const char *reply,
                     xf_err_t *err)
{
    change_t ch = {.fn = close_fn, .text = reply};
    return run_change (o, who, id, &ch, err);
}
