/* xf_office_move.c — a case leaving this office: 上报 escalate, 交办 assign, 转办 transfer,
 * 结案报告 report and 退回重办 send back, each in one transaction with the copies it sends;
 * and taking a case back when its move comes back undelivered. The office keeps the record
 * as it was before the move until the case arrives, so that a move that fails restores it
 * exactly. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "xf_msg.h"
#include "xf_office.h"
#include "xf_office_int.h"
#include "xf_text.h"
#include "xf_wire.h"

#define MOVED_KEY_MAX (6 + XF_CASE_ID_MAX)

static size_t moved_key (char *key, const char *id)
{
    return xf_text_join (key, MOVED_KEY_MAX, "moved/", id, (char *) NULL);
}

/* The fields a move never changes, and the bulk of a record: kept from the case as it is. */
#define FOR_EACH_KEPT(X) X (summary) X (petitioner) X (accused) X (query_code) X (reject_reason) \
    X (reply) X (leader)

/* Whether field `number` of a stored case stays in the slim record: not one of the kept
 * fields, nor the petitioner key. Their numbers come from the descriptor, by name. */
static bool slim_field (uint64_t number, const void *arg)
{
    static _Thread_local uint32_t dropped[16];   /* as xf_wire's table: per thread */
    static _Thread_local size_t n;
    (void) arg;
    if (!n) {
#define NUMBER(f) dropped[n++] = protobuf_c_message_descriptor_get_field_by_name ( \
                      &xf__case__descriptor, #f)->id;
        FOR_EACH_KEPT (NUMBER)
        NUMBER (petitioner_key)
#undef NUMBER
    }
    for (size_t i = 0; i < n; i++)
        if (number == dropped[i])
            return false;
    return true;
}

size_t xf_office_slim_bytes (const uint8_t *buf, size_t len, uint8_t *out)
{
    return xf_wire_select (buf, len, slim_field, NULL, out);
}

/* What a move changes is remembered (the record without its bulk: summary, parties), so that a
 * move that does not arrive can be undone. The sealed identities are what a move changes too:
 * the entry of this office, dropped from the record that leaves, comes back with a take back. */
int xf_office_remember_bytes (xf_txn_t *txn, const char *id, const uint8_t *slim, size_t len,
                              xf_err_t *err)
{
    char key[MOVED_KEY_MAX];
    return xf_txn_put (txn, XF_DB_META, key, moved_key (key, id), slim, len, err);
}

/* The case as it was before the move: what the move changed from `slim`, the rest from c. */
static void undo_move (xf_case_t *slim, xf_case_t *c)
{
#define TAKE(f) __typeof__ (c->f) t_##f = slim->f; slim->f = c->f; c->f = t_##f;
    FOR_EACH_KEPT (TAKE)
#undef TAKE
    ProtobufCBinaryData pkey = slim->petitioner_key;
    slim->petitioner_key = c->petitioner_key;
    c->petitioner_key = pkey;
}

int xf_office_forget_move (xf_txn_t *txn, const char *id, xf_err_t *err)
{
    char key[MOVED_KEY_MAX];
    int rc = xf_txn_del (txn, XF_DB_META, key, moved_key (key, id), err);
    return rc == XF_ENOTFOUND ? XF_OK : rc;
}

/* ---------------------------------------------------------------- checks */

typedef struct {
    xf_office_t *o;
    const xf_actor_t *who;
    const xf_move_req_t *m;
    const char *const *ids;
    const char *to;           /* escalate, assign, transfer: resolved (the parent by default) */
    size_t n, bad;
} move_t;

/* What the move asks of its text and items, and where `to` lies for this kind of move: the
 * same for every case of a batch, so checked once, before the transaction. */
static int check_request (const move_t *mv, xf_err_t *err)
{
    const xf_move_req_t *m = mv->m;
    const char *self = mv->o->code, *hop;
    int rc = xf_case_check_text (xf_move_text (m->kind), m->text, XF_TEXT_MAX, true, err);
    if (rc != XF_OK)
        return rc;
    if (m->kind == XF_MOVE_REPORT)
        return xf_case_check_items (m->items, m->n_items, mv->o->lim.required_items,
                                    mv->o->lim.n_required_items, err);
    if (m->kind == XF_MOVE_SEND_BACK)
        return XF_OK;
    if (!xf_msg_code_valid (mv->to))
        return xf_err_set (err, XF_EINVAL, "\"%s\" is not an office code", mv->to);
    xf_route_t route = xf_routes_lookup (mv->o->net.routes, mv->to, &hop);
    if (route == XF_ROUTE_SELF)
        return xf_err_set (err, XF_EINVAL, "the case is already at office %s", mv->to);
    if (route == XF_ROUTE_UNKNOWN)
        return xf_err_set (err, XF_ENOTFOUND, "there is no office %s in this tree", mv->to);
    bool up = route == XF_ROUTE_PARENT
              && (strcmp (mv->to, hop) == 0 || xf_code_above (mv->to, self));
    switch (m->kind) {
    case XF_MOVE_ESCALATE:
        if (route == XF_ROUTE_CHILD)
            return xf_err_set (err, XF_EINVAL, "office %s is below this office: escalation goes "
                               "up; use assign or transfer to send a case down", mv->to);
        if (!up)
            return xf_err_set (err, XF_EINVAL, "office %s is not above this office: escalation "
                               "goes up; use transfer to pass a case to another office", mv->to);
        return XF_OK;
    case XF_MOVE_ASSIGN:
        if (route != XF_ROUTE_CHILD)
            return xf_err_set (err, XF_EINVAL, "office %s is not below this office: a case is "
                               "assigned (交办) down the tree", mv->to);
        return XF_OK;
    default:
        if (up)
            return xf_err_set (err, XF_EINVAL, "office %s is above this office: use escalate to "
                               "send a case up", mv->to);
        return XF_OK;
    }
}

/* ---------------------------------------------------------------- the move */

static int fill_event (const move_t *mv, const xf_case_t *c, Xf__CaseEvent *ev, void *body_mem)
{
    const xf_move_req_t *m = mv->m;
    switch (m->kind) {
    case XF_MOVE_ESCALATE: {
        Xf__Escalation *b = body_mem;
        xf__escalation__init (b);
        b->to = c->owner;
        b->note = (char *) m->text;
        ev->body_case = XF__CASE_EVENT__BODY_ESCALATION;
        ev->escalation = b;
        return XF_ST_ESCALATED;
    }
    case XF_MOVE_ASSIGN: {
        Xf__Assignment *b = body_mem;
        xf__assignment__init (b);
        b->to = c->owner;
        b->note = (char *) m->text;
        ev->body_case = XF__CASE_EVENT__BODY_ASSIGNMENT;
        ev->assignment = b;
        return XF_ST_ASSIGNED;
    }
    case XF_MOVE_TRANSFER: {
        Xf__Transfer *b = body_mem;
        xf__transfer__init (b);
        b->to = c->owner;
        b->note = (char *) m->text;
        ev->body_case = XF__CASE_EVENT__BODY_TRANSFER;
        ev->transfer = b;
        return XF_ST_TRANSFERRED;
    }
    case XF_MOVE_REPORT: {
        Xf__Report *b = body_mem;
        xf__report__init (b);
        b->to = c->owner;
        b->result = (char *) m->text;
        b->items = (char **) m->items;
        b->n_items = m->n_items;
        b->late = (c->flags & XF__CASE_FLAG__FLAG_LATE) != 0;
        ev->body_case = XF__CASE_EVENT__BODY_REPORT;
        ev->report = b;
        return -1;
    }
    case XF_MOVE_SEND_BACK: {
        Xf__SendBack *b = body_mem;
        xf__send_back__init (b);
        b->to = c->owner;
        b->reason = (char *) m->text;
        b->round = c->round;
        b->handle_due = c->handle_due;
        ev->body_case = XF__CASE_EVENT__BODY_SEND_BACK;
        ev->send_back = b;
        return XF_ST_SENT_BACK;
    }
    }
    return -1;
}

/* The office the case goes to, before it moves. */
static const char *destination (const move_t *mv, const xf_case_t *c)
{
    size_t n = c->n_assigned_to;
    switch (mv->m->kind) {
    case XF_MOVE_REPORT:
        if (c->status == XF__STATUS__REPORTED)   /* passed on up from a supervisor */
            return n >= 2 ? c->assigned_by[n - 2] : NULL;
        return n ? c->assigned_by[n - 1] : NULL;
    case XF_MOVE_SEND_BACK:
        return n ? c->assigned_to[n - 1] : NULL;
    default:
        return mv->to;
    }
}

static int move_one (xf_txn_t *txn, move_t *mv, const char *id, xf_err_t *err)
{
    xf_case_t *c = NULL, *before = NULL;
    uint8_t *slim = NULL;
    size_t slim_len = 0;
    xf_day_t today = xf_day_of_time (mv->who->now);
    int rc = xf_office_load_case_pair (txn, id, &c, &before, &slim, &slim_len, err);
    if (rc != XF_OK)
        return rc;
    rc = xf_case_check_move (c, mv->o->code, mv->m->kind, err);
    if (rc == XF_OK && (mv->m->kind == XF_MOVE_ASSIGN || mv->m->kind == XF_MOVE_TRANSFER))
        rc = xf_case_check_conflict (c, mv->to, xf_routes_name (mv->o->net.routes, mv->to), err);
    const char *dest = rc == XF_OK ? destination (mv, c) : NULL;
    Xf__CaseEvent ev = XF__CASE_EVENT__INIT;
    if (rc == XF_OK && dest && !xf_case_watched_by (c, dest))
        rc = xf_office_attach_history (txn, c, &ev, err);
    if (rc == XF_OK)
        rc = xf_case_move (c, mv->o->code, mv->m->kind, mv->to, today, &mv->o->lim, err);
    if (rc == XF_OK)
        rc = xf_office_reseal (mv->o, c, err);
    union { Xf__Escalation e; Xf__Assignment a; Xf__Transfer t; Xf__Report r; Xf__SendBack s; } body;
    int counter = rc == XF_OK ? fill_event (mv, c, &ev, &body) : -1;
    if (rc == XF_OK && !(rc = xf_office_remember_bytes (txn, id, slim, slim_len, err))
        && !(rc = xf_office_append_event (txn, mv->o, mv->who, c, &ev, err))
        && !(counter >= 0 && (rc = xf_stats_bump (txn, today, counter, 1, err))))
        rc = xf_office_adopt (txn, mv->o, before, c, err);   /* the deadline and 应结 leave */
    xf_office_free_history (&ev);
    xf_case_view_destroy (&before);
    free (slim);
    xf_case_destroy (&c);
    return rc;
}

static int move_txn (xf_txn_t *txn, void *arg, xf_err_t *err)
{
    move_t *mv = arg;
    for (mv->bad = 0; mv->bad < mv->n; mv->bad++) {
        int rc = move_one (txn, mv, mv->ids[mv->bad], err);
        if (rc != XF_OK)
            return xf_err_prefix (err, "%s %s", xf_move_name (mv->m->kind), mv->ids[mv->bad]);
    }
    return XF_OK;
}

int xf_office_move (xf_office_t *o, const xf_actor_t *who, const xf_net_t *net,
                    const char *const *ids, size_t n, const xf_move_req_t *m, size_t *bad,
                    xf_err_t *err)
{
    move_t mv = {o, who, m, ids, m->to, n, 0};
    if (bad)
        *bad = 0;
    if (net)
        o->net = *net;
    if (!o->net.routes)
        return xf_err_set (err, XF_ESTATE, "this office has no links: cases cannot leave it");
    if (m->kind == XF_MOVE_ESCALATE && (!mv.to || !*mv.to))
        mv.to = xf_routes_parent (o->net.routes);
    if (m->kind == XF_MOVE_ESCALATE && !mv.to)
        return xf_err_set (err, XF_EINVAL, "this office has no parent to escalate to");
    if ((m->kind == XF_MOVE_ASSIGN || m->kind == XF_MOVE_TRANSFER) && (!mv.to || !*mv.to))
        return xf_err_set (err, XF_EINVAL, "say which office takes the case (--to CODE)");
    int rc = check_request (&mv, err);
    if (rc != XF_OK)
        return rc;
    rc = xf_store_write (o->store, move_txn, &mv, err);
    if (bad)
        *bad = mv.bad;
    return rc;
}

int xf_office_escalate_many (xf_office_t *o, const xf_actor_t *who, const xf_net_t *net,
                             const char *const *ids, size_t n, const char *to, const char *note,
                             size_t *bad, xf_err_t *err)
{
    xf_move_req_t m = {.kind = XF_MOVE_ESCALATE, .to = to, .text = note};
    return xf_office_move (o, who, net, ids, n, &m, bad, err);
}

int xf_office_escalate (xf_office_t *o, const xf_actor_t *who, const xf_net_t *net,
                        const char *id, const char *to, const char *note, xf_err_t *err)
{
    return xf_office_escalate_many (o, who, net, &id, 1, to, note, NULL, err);
}

/* ---------------------------------------------------------------- taking back */

static int counter_of (const char *event)
{
    static const struct { const char *name; int counter; } moves[] = {
        {"escalate", XF_ST_ESCALATED}, {"assign", XF_ST_ASSIGNED},
        {"transfer", XF_ST_TRANSFERRED}, {"send_back", XF_ST_SENT_BACK}, {"report", -1},
        {"review", -1},
    };
    for (size_t i = 0; i < sizeof moves / sizeof *moves; i++)
        if (strcmp (moves[i].name, event) == 0)
            return moves[i].counter;
    return -2;
}

static int load_moved (xf_txn_t *txn, const char *id, xf_case_t **c_p, xf_err_t *err)
{
    char key[MOVED_KEY_MAX];
    const void *val = NULL;
    size_t len = 0;
    int rc = xf_txn_get (txn, XF_DB_META, key, moved_key (key, id), &val, &len, err);
    if (rc != XF_OK)
        return rc;
    return (*c_p = xf_case_unpack (val, len, err)) ? XF_OK : XF_ESTORE;
}

/* A move that did not arrive: the case is this office's again, exactly as before the move
 * (status, deadlines, the 交办 chain), with its counts restored and the return in its
 * history. Nothing changes when the case has moved on since. */
int xf_office_take_back (xf_txn_t *txn, xf_office_t *o, const Xf__Envelope *env, int64_t now,
                         xf_applied_t *out, xf_err_t *err)
{
    const Xf__DeliveryError *de = env->delivery_error;
    int counter = counter_of (de->event);
    xf_case_t *c = NULL, *was = NULL;
    if (counter == -2)
        return XF_OK;
    int rc = xf_office_load_case (txn, de->case_id, &c, err);
    if (rc == XF_OK && strcmp (c->owner, de->to) == 0)
        rc = load_moved (txn, de->case_id, &was, err);
    if (rc != XF_OK || !was) {   /* not here, moved on, or nothing kept to restore */
        xf_case_destroy (&c);
        if (rc == XF_ENOTFOUND)
            *err = (xf_err_t) {0, ""};
        return rc == XF_ENOTFOUND ? XF_OK : rc;
    }
    undo_move (was, c);
    was->last_event = c->last_event;
    xf_actor_t node = {.now = now, .uid = 0, .role = XF_ACTOR_NODE};
    Xf__CaseEvent ev = XF__CASE_EVENT__INIT;
    Xf__Returned body = XF__RETURNED__INIT;
    body.to = de->to;
    body.reason = de->reason;
    body.by = env->from;
    ev.body_case = XF__CASE_EVENT__BODY_RETURNED;
    ev.returned = &body;
    if (!(rc = xf_office_forget_move (txn, was->id, err))
        && !(counter >= 0
             && (rc = xf_stats_bump (txn, xf_day_of_time (de->created), counter, -1, err)))
        && !(rc = xf_office_append_event (txn, o, &node, was, &ev, err)))
        rc = xf_office_adopt (txn, o, c, was, err);   /* the deadline and 应结 come back */
    if (rc == XF_OK)
        out->returned = true;
    xf_case_destroy (&was);
    xf_case_destroy (&c);
    return rc;
}
