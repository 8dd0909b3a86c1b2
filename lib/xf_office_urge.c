/* xf_office_urge.c — 催办: a supervising office presses the owner of a case, by hand or on
 * its deadline schedule, and the owner records each urge in the case's history (the third
 * asks for on-site supervision, 坐催). An urge is a request: only the owner changes the case,
 * and an office that no longer owns it answers with a refusal naming the owner.
 *
 * The schedule lives at the supervisor, beside its replica of the case: XF_DB_URGE holds
 * (next urge day, case id) and meta "urge/<id>" the next day, the day of the last urge and
 * the deadline it was planned for, so an urge is sent once, in the transaction that moves
 * the schedule on, and a restart changes nothing. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "xf_msg.h"
#include "xf_office.h"
#include "xf_office_int.h"
#include "xf_text.h"

#define URGE_META_MAX (5 + XF_CASE_ID_MAX)
#define URGE_BATCH 256

typedef struct {
    xf_day_t next, last, due;
} plan_t;

/* Urged automatically by this office: it supervises the case (assigned it) and someone else
 * holds it, open, with a deadline. */
static bool scheduled_here (const xf_office_t *o, const xf_case_t *c)
{
    return c->supervisor && strcmp (c->supervisor, o->code) == 0 && strcmp (c->owner, o->code) != 0
           && xf_case_is_open (c) && xf_case_due (c) != 0;
}

static size_t plan_key (char *key, const char *id)
{
    return xf_text_join (key, URGE_META_MAX, "urge/", id, (char *) NULL);
}

static int load_plan (xf_txn_t *txn, const char *id, plan_t *p, bool *found, xf_err_t *err)
{
    char key[URGE_META_MAX];
    const void *v = NULL;
    size_t len = 0;
    int rc = xf_txn_get (txn, XF_DB_META, key, plan_key (key, id), &v, &len, err);
    *found = rc == XF_OK && len == 12;
    if (rc == XF_ENOTFOUND) {
        *err = (xf_err_t) {0, ""};
        return XF_OK;
    }
    if (*found) {
        p->next = (xf_day_t) xf_be32_get (v);
        p->last = (xf_day_t) xf_be32_get ((const uint8_t *) v + 4);
        p->due = (xf_day_t) xf_be32_get ((const uint8_t *) v + 8);
    }
    return rc;
}

static int drop_plan (xf_txn_t *txn, const char *id, const plan_t *p, xf_err_t *err)
{
    char key[URGE_META_MAX];
    uint8_t qkey[DUE_KEY_MAX];
    int rc = xf_txn_del (txn, XF_DB_URGE, qkey, xf_office_due_key (qkey, p->next, id), err);
    if (rc == XF_OK || rc == XF_ENOTFOUND)
        rc = xf_txn_del (txn, XF_DB_META, key, plan_key (key, id), err);
    if (rc == XF_ENOTFOUND) {
        *err = (xf_err_t) {0, ""};
        rc = XF_OK;
    }
    return rc;
}

static int put_plan (xf_txn_t *txn, const char *id, const plan_t *p, xf_err_t *err)
{
    char key[URGE_META_MAX];
    uint8_t qkey[DUE_KEY_MAX], v[12];
    xf_be32_put (v, (uint32_t) p->next);
    xf_be32_put (v + 4, (uint32_t) p->last);
    xf_be32_put (v + 8, (uint32_t) p->due);
    int rc = xf_txn_put (txn, XF_DB_URGE, qkey, xf_office_due_key (qkey, p->next, id), "", 0, err);
    return rc ? rc : xf_txn_put (txn, XF_DB_META, key, plan_key (key, id), v, sizeof v, err);
}

/* The first urge day after `after`: urge_before_days before the deadline, then every
 * urge_every_days. */
static xf_day_t next_urge (const xf_limits_t *lim, xf_day_t due, xf_day_t after)
{
    int every = lim->urge_every_days > 0 ? lim->urge_every_days : 7;
    xf_day_t first = due - (lim->urge_before_days > 0 ? lim->urge_before_days : 7);
    if (first > after)
        return first;
    return first + ((after - first) / every + 1) * every;
}

int xf_office_urge_sync (xf_txn_t *txn, xf_office_t *o, const xf_case_t *c, xf_err_t *err)
{
    plan_t p = {0, 0, 0};
    bool found = false;
    int rc = load_plan (txn, c->id, &p, &found, err);
    if (rc != XF_OK)
        return rc;
    if (!scheduled_here (o, c))
        return found ? drop_plan (txn, c->id, &p, err) : XF_OK;
    xf_day_t due = xf_case_due (c);
    if (found && p.due == due)
        return XF_OK;
    if (found && (rc = drop_plan (txn, c->id, &p, err)))
        return rc;
    p.due = due;
    p.next = next_urge (&o->lim, due, p.last);
    return put_plan (txn, c->id, &p, err);
}

/* ---------------------------------------------------------------- sending urges */

static int send_urge (xf_txn_t *txn, xf_office_t *o, const xf_case_t *c, const char *note,
                      bool automatic, int64_t now, xf_err_t *err)
{
    Xf__CaseRequest req = XF__CASE_REQUEST__INIT;
    Xf__CaseEvent ev = XF__CASE_EVENT__INIT;
    Xf__Urge u = XF__URGE__INIT;
    u.note = (char *) note;
    u.number = c->urges + 1;   /* as this office sees it; the owner numbers what it records */
    u.automatic = automatic;
    u.by = o->code;
    u.due = xf_case_due (c);
    ev.case_id = c->id;
    ev.at = now;
    ev.office = o->code;
    ev.body_case = XF__CASE_EVENT__BODY_URGE;
    ev.urge = &u;
    req.case_id = c->id;
    req.event = &ev;
    int rc = xf_office_send (txn, o, c->owner, now, XF__ENVELOPE__BODY_CASE_REQUEST, &req, 0, err);
    if (rc == XF_OK)
        rc = xf_stats_bump (txn, xf_day_of_time (now), XF_ST_URGES, 1, err);
    return rc;
}

typedef struct {
    xf_office_t *o;
    const xf_actor_t *who;
    const char *id, *note;
} manual_t;

static int urge_txn (xf_txn_t *txn, void *arg, xf_err_t *err)
{
    manual_t *m = arg;
    const char *hop;
    xf_case_t *c = NULL;
    int rc = xf_office_load_case (txn, m->id, &c, err);
    if (rc != XF_OK)
        return rc;
    if (strcmp (c->owner, m->o->code) == 0)
        rc = xf_err_set (err, XF_EPERM, "this office owns case %s: an urge comes from a "
                         "supervising office above the owner", c->id);
    else if (!xf_case_is_open (c))
        rc = xf_err_set (err, XF_ESTATE, "case %s is %s at office %s: there is nothing to urge",
                         c->id, xf_status_name (c->status), c->owner);
    else if (xf_routes_lookup (m->o->net.routes, c->owner, &hop) != XF_ROUTE_CHILD)
        rc = xf_err_set (err, XF_EPERM, "case %s is with office %s, which is not below this "
                         "office: only an office above the owner urges it", c->id, c->owner);
    else
        rc = send_urge (txn, m->o, c, m->note, false, m->who->now, err);
    xf_case_destroy (&c);
    return rc;
}

int xf_office_urge (xf_office_t *o, const xf_actor_t *who, const char *id, const char *note,
                    xf_err_t *err)
{
    manual_t m = {o, who, id, note};
    int rc = xf_case_check_text ("note", note, XF_TEXT_MAX, true, err);
    if (rc != XF_OK)
        return rc;
    if (!o->net.routes)
        return xf_err_set (err, XF_ESTATE, "this office has no links: it cannot urge anyone");
    return xf_store_write (o->store, urge_txn, &m, err);
}

/* ---------------------------------------------------------------- the schedule */

typedef struct {
    xf_day_t today;
    char ids[URGE_BATCH][XF_CASE_ID_MAX];
    xf_day_t days[URGE_BATCH];
    size_t n;
} urge_batch_t;

static int collect_urge (const void *key, size_t klen, const void *val, size_t vlen, void *arg)
{
    (void) val, (void) vlen;
    urge_batch_t *b = arg;
    if (xf_office_due_day (key) > b->today || b->n == URGE_BATCH)
        return 1;
    if (klen < 5 || klen - 4 >= XF_CASE_ID_MAX)
        return XF_ESTORE;
    memcpy (b->ids[b->n], (const uint8_t *) key + 4, klen - 4);
    b->ids[b->n][klen - 4] = 0;
    b->days[b->n++] = xf_office_due_day (key);
    return 0;
}

typedef struct {
    xf_office_t *o;
    int64_t now;
    size_t sent;
    bool more;
} scan_t;

static int urge_due (xf_txn_t *txn, scan_t *s, const char *id, xf_day_t day, xf_day_t today,
                     xf_err_t *err)
{
    plan_t p;
    bool found = false;
    xf_case_t *c = NULL;
    int rc = load_plan (txn, id, &p, &found, err);
    if (rc == XF_OK && (!found || p.next != day)) {   /* a stale index entry: drop it */
        uint8_t qkey[DUE_KEY_MAX];
        return xf_txn_del (txn, XF_DB_URGE, qkey, xf_office_due_key (qkey, day, id), err);
    }
    if (rc == XF_OK)
        rc = xf_office_load_case (txn, id, &c, err);
    if (rc == XF_OK && !scheduled_here (s->o, c))
        rc = drop_plan (txn, id, &p, err);
    else if (rc == XF_OK) {
        char note[160];
        char due[11];
        xf_day_format (p.due, due);
        snprintf (note, sizeof note, "automatic urge: the %s deadline is %s",
                  c->status == XF__STATUS__REGISTERED ? "acceptance" : "handling", due);
        if (!(rc = send_urge (txn, s->o, c, note, true, s->now, err))
            && !(rc = drop_plan (txn, id, &p, err))) {
            p.last = today;
            p.next = next_urge (&s->o->lim, p.due, today);
            rc = put_plan (txn, id, &p, err);
            s->sent++;
        }
    }
    xf_case_destroy (&c);
    return rc;
}

static int scan_txn (xf_txn_t *txn, void *arg, xf_err_t *err)
{
    scan_t *s = arg;
    urge_batch_t *b = calloc (1, sizeof *b);   /* too big for the stack */
    if (!b)
        return xf_err_set (err, XF_ENOMEM, "out of memory");
    b->today = xf_day_of_time (s->now);
    int rc = xf_txn_scan (txn, XF_DB_URGE, NULL, 0, collect_urge, b, err);
    for (size_t i = 0; rc == XF_OK && i < b->n; i++)
        rc = urge_due (txn, s, b->ids[i], b->days[i], b->today, err);
    s->more = rc == XF_OK && b->n == URGE_BATCH;
    free (b);
    return rc;
}

int xf_office_scan_urges (xf_office_t *o, int64_t now, size_t *sent, xf_err_t *err)
{
    scan_t s = {o, now, 0, false};
    if (sent)
        *sent = 0;
    if (!o->net.routes)
        return XF_OK;
    do {
        int rc = xf_store_write (o->store, scan_txn, &s, err);
        if (rc != XF_OK)
            return rc;
    } while (s.more);
    if (sent)
        *sent = s.sent;
    return XF_OK;
}

/* ---------------------------------------------------------------- at the owner */

int xf_office_answer_refusal (xf_txn_t *txn, xf_office_t *o, const Xf__Envelope *env,
                              const char *case_id, int code, const char *reason, const char *owner,
                              int64_t now, xf_applied_t *out, xf_err_t *err)
{
    Xf__Refusal r = XF__REFUSAL__INIT;
    Xf__GlobalId gid = *env->id;
    gid.base = (ProtobufCMessage) PROTOBUF_C_MESSAGE_INIT (&xf__global_id__descriptor);
    r.case_id = (char *) case_id;
    r.code = (char *) xf_err_name (code);
    r.reason = (char *) reason;
    r.owner = (char *) (owner ? owner : "");
    r.in_reply_to = &gid;
    out->answered = true;
    snprintf (out->reason, sizeof out->reason, "refused a request of office %s: %s", env->from,
              reason);
    int rc = xf_office_send (txn, o, env->from, now, XF__ENVELOPE__BODY_REFUSAL, &r, 0, err);
    if (rc == XF_ENOTFOUND) {   /* nobody to answer: the refusal is logged here only */
        *err = (xf_err_t) {0, ""};
        rc = XF_OK;
    }
    return rc;
}

int xf_office_receive_request (xf_txn_t *txn, xf_office_t *o, const Xf__Envelope *env, int64_t now,
                               xf_applied_t *out, xf_err_t *err)
{
    const Xf__CaseRequest *req = env->case_request;
    const Xf__CaseEvent *asked = req->event;
    xf_err_t why = {0, ""};
    xf_case_t *c = NULL;
    if (asked->body_case == XF__CASE_EVENT__BODY_REVIEW)
        return xf_office_receive_review (txn, o, env, now, out, err);
    if (asked->body_case != XF__CASE_EVENT__BODY_URGE)
        return xf_office_answer_refusal (txn, o, env, req->case_id, XF_EINVAL, "only urges and "
                                         "reviews are handled as requests", NULL, now, out, err);
    int rc = xf_office_load_case (txn, req->case_id, &c, &why);
    if (rc == XF_ENOTFOUND)
        return xf_office_answer_refusal (txn, o, env, req->case_id, rc, why.msg, NULL, now, out, err);
    if (rc != XF_OK) {
        *err = why;
        return rc;
    }
    rc = xf_case_record_urge (c, o->code, env->from, &why);
    if (rc == XF_EPERM || rc == XF_ESTATE) {
        rc = xf_office_answer_refusal (txn, o, env, c->id, rc, why.msg, c->owner, now, out, err);
        xf_case_destroy (&c);
        return rc;
    }
    xf_actor_t node = {.now = now, .uid = 0, .role = XF_ACTOR_NODE};
    Xf__CaseEvent ev = XF__CASE_EVENT__INIT;
    Xf__Urge u = *asked->urge;
    u.number = c->urges;
    u.by = env->from;
    ev.body_case = XF__CASE_EVENT__BODY_URGE;
    ev.urge = &u;
    if (rc == XF_OK && xf_case_watch (c, env->from))
        rc = xf_err_set (err, XF_ENOMEM, "out of memory");
    else if (rc != XF_OK)
        *err = why;
    if (rc == XF_OK && !(rc = xf_office_append_event (txn, o, &node, c, &ev, err)))
        rc = xf_office_save_case (txn, o, c, err);
    xf_case_destroy (&c);
    return rc;
}

int xf_office_receive_refusal (xf_txn_t *txn, xf_office_t *o, const Xf__Envelope *env,
                               xf_applied_t *out, xf_err_t *err)
{
    const Xf__Refusal *r = env->refusal;
    uint64_t n;
    int rc = xf_office_review_refused (txn, o, env, err);
    if (rc == XF_OK)
        rc = xf_txn_meta_u64 (txn, "requests/refused", &n, err);
    if (rc == XF_OK)
        rc = xf_txn_meta_set_u64 (txn, "requests/refused", n + 1, err);
    out->refusal = true;
    snprintf (out->reason, sizeof out->reason, "office %s refused a request on case %s: %s",
              env->from, r->case_id, r->reason);
    return rc;
}
