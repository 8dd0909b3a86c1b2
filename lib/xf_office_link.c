/* xf_office_link.c — cases that travel: escalation (上报) leaving this office, and what
 * arrives from a link — applied here when addressed here, else stored for the next hop in
 * the same transaction that records the inbound position. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "xf_msg.h"
#include "xf_office.h"
#include "xf_office_int.h"
#include "xf_outbox.h"

/* Wraps a body (body_case, and the member of the envelope's body union it sets) into a new
 * envelope from this office to `to` and queues it for the next hop, refusing when limit
 * envelopes already wait there (0: no limit). */
static int send_envelope (xf_txn_t *txn, xf_office_t *o, const xf_net_t *net, const char *to,
                          int64_t now, Xf__Envelope__BodyCase body_case, void *body,
                          uint64_t limit, xf_err_t *err)
{
    const char *hop;
    xf_route_t route = xf_routes_lookup (net->routes, to, &hop);
    if (route != XF_ROUTE_PARENT && route != XF_ROUTE_CHILD)
        return xf_err_set (err, XF_EINVAL, "office %s cannot be reached from here", to);
    uint64_t seq;
    int rc = xf_txn_meta_u64 (txn, "env/seq", &seq, err);
    if (rc != XF_OK || (rc = xf_txn_meta_set_u64 (txn, "env/seq", seq + 1, err)) != XF_OK)
        return rc;
    Xf__GlobalId gid = XF__GLOBAL_ID__INIT;
    Xf__Envelope env = XF__ENVELOPE__INIT;
    Xf__SignedEnvelope se = XF__SIGNED_ENVELOPE__INIT;
    gid.origin = o->code;
    gid.seq = seq + 1;
    env.id = &gid;
    env.from = o->code;
    env.to = (char *) to;
    env.created = now;
    env.format = XF_ENVELOPE_FORMAT;
    env.body_case = body_case;
    env.case_event = body;   /* every member of the body union is a message pointer */
    uint8_t *inner = NULL;
    if ((rc = xf_msg_seal (&env, &se, &inner, err)) != XF_OK)
        return rc;
    size_t len = xf__signed_envelope__get_packed_size (&se);
    uint8_t *buf = malloc (len ? len : 1);
    if (!buf) {
        free (inner);
        return xf_err_set (err, XF_ENOMEM, "out of memory");
    }
    xf__signed_envelope__pack (&se, buf);
    rc = xf_outbox_push (txn, hop, buf, len, limit, &seq, err);
    free (buf);
    free (inner);
    return rc;
}

/* ---------------------------------------------------------------- escalation */

typedef struct {
    xf_office_t *o;
    const xf_actor_t *who;
    const xf_net_t *net;
    const char *id, *to, *note;
    const char *const *ids;   /* several cases in one transaction */
    size_t n, bad;
} escalate_t;

static int check_escalation (const escalate_t *e, const xf_case_t *c, xf_err_t *err)
{
    const char *hop;
    int rc = xf_case_check_owner (c, e->o->code, "escalate", err);
    if (rc != XF_OK)
        return rc;
    if (c->status != XF__STATUS__REGISTERED && c->status != XF__STATUS__IN_PROGRESS)
        return xf_err_set (err, XF_ESTATE, "case %s is %s; only a registered or in_progress case "
                           "can be escalated", c->id, xf_status_name (c->status));
    if (!e->note || !*e->note)
        return xf_err_set (err, XF_EINVAL, "a note is required: say why the case goes up");
    if (strlen (e->note) > XF_TEXT_MAX)
        return xf_err_set (err, XF_EINVAL, "note is %zu bytes; the limit is %d", strlen (e->note),
                           XF_TEXT_MAX);
    if (!xf_msg_code_valid (e->to))
        return xf_err_set (err, XF_EINVAL, "\"%s\" is not an office code", e->to);
    switch (xf_routes_lookup (e->net->routes, e->to, &hop)) {
    case XF_ROUTE_PARENT:
        return XF_OK;
    case XF_ROUTE_SELF:
        return xf_err_set (err, XF_EINVAL, "case %s is already at office %s", c->id, e->to);
    case XF_ROUTE_CHILD:
        return xf_err_set (err, XF_EINVAL, "office %s is below this office: escalation goes up; "
                           "use assign or transfer to send a case down", e->to);
    default:
        return xf_err_set (err, XF_EINVAL, "this office has no parent to escalate to");
    }
}

static int escalate_one (xf_txn_t *txn, escalate_t *e, xf_err_t *err)
{
    xf_case_t *c = NULL;
    xf_day_t today = xf_day_of_time (e->who->now);
    int rc = xf_office_load_case (txn, e->id, &c, err);
    if (rc == XF_OK)
        rc = check_escalation (e, c, err);
    if (rc != XF_OK) {
        xf_case_destroy (&c);
        return rc;
    }
    int before = (int) c->status;
    rc = xf_office_due_del (txn, xf_case_due (c), c->id, err);
    if (rc == XF_OK && c->due_counted)   /* 应结 counts only while this office owns it */
        rc = xf_stats_bump (txn, c->due_counted, XF_ST_DUE, -1, err);
    c->due_counted = 0;
    c->status = XF__STATUS__REGISTERED;
    c->flags &= ~(uint32_t) XF__CASE_FLAG__FLAG_OVERDUE;
    if (rc == XF_OK && xf_case_set (&c->owner, e->to))
        rc = xf_err_set (err, XF_ENOMEM, "out of memory");
    Xf__CaseEvent ev = XF__CASE_EVENT__INIT;
    Xf__Escalation body = XF__ESCALATION__INIT;
    body.to = (char *) e->to;
    body.note = (char *) e->note;
    body.record = c;
    ev.body_case = XF__CASE_EVENT__BODY_ESCALATION;
    ev.escalation = &body;
    if (rc == XF_OK
        && !(rc = xf_office_append_event (txn, e->o, e->who, c, &ev, err))
        && !(rc = xf_stats_bump (txn, today, XF_ST_ESCALATED, 1, err))
        && !(rc = xf_office_track_status (txn, c->id, before, (int) c->status, err))
        && !(rc = send_envelope (txn, e->o, e->net, e->to, e->who->now,
                                 XF__ENVELOPE__BODY_CASE_EVENT, &ev, e->net->outbox_limit, err)))
        rc = xf_office_save_case (txn, c, err);
    xf_case_destroy (&c);
    return rc;
}

static int escalate_txn (xf_txn_t *txn, void *arg, xf_err_t *err)
{
    escalate_t *e = arg;
    for (e->bad = 0; e->bad < e->n; e->bad++) {
        e->id = e->ids[e->bad];
        int rc = escalate_one (txn, e, err);
        if (rc != XF_OK)
            return rc;
    }
    return XF_OK;
}

int xf_office_escalate_many (xf_office_t *o, const xf_actor_t *who, const xf_net_t *net,
                             const char *const *ids, size_t n, const char *to, const char *note,
                             size_t *bad, xf_err_t *err)
{
    if (!to || !*to)
        to = xf_routes_parent (net->routes);
    if (!to)
        return xf_err_set (err, XF_EINVAL, "this office has no parent to escalate to");
    escalate_t e = {o, who, net, NULL, to, note, ids, n, 0};
    int rc = xf_store_write (o->store, escalate_txn, &e, err);
    if (bad)
        *bad = e.bad;
    return rc;
}

int xf_office_escalate (xf_office_t *o, const xf_actor_t *who, const xf_net_t *net,
                        const char *id, const char *to, const char *note, xf_err_t *err)
{
    return xf_office_escalate_many (o, who, net, &id, 1, to, note, NULL, err);
}

/* ---------------------------------------------------------------- arriving envelopes */

static int refuse (xf_applied_t *out, const char *fmt, const char *a, const char *b)
{
    out->refused = true;
    snprintf (out->reason, sizeof out->reason, fmt, a, b);
    return XF_OK;
}

/* The case arrives as registered here, with this office as its owner, due for a decision on
 * acceptance accept_days from today. */
static int receive_escalation (xf_txn_t *txn, xf_office_t *o, const Xf__CaseEvent *ev,
                               int64_t now, xf_applied_t *out, xf_err_t *err)
{
    const Xf__Escalation *esc = ev->escalation;
    if (!esc->record || strcmp (esc->record->id, ev->case_id) != 0)
        return refuse (out, "escalation of %s carries no case record%s", ev->case_id, "");
    xf_case_t *old = NULL;
    int rc = xf_office_load_case (txn, ev->case_id, &old, err), before = 0;
    if (rc == XF_OK)
        before = (int) old->status;
    else if (rc != XF_ENOTFOUND)
        return rc;
    xf_case_destroy (&old);
    xf_case_t *c = xf_case_copy (esc->record);
    if (!c)
        return xf_err_set (err, XF_ENOMEM, "out of memory");
    xf_day_t today = xf_day_of_time (now);
    c->status = XF__STATUS__REGISTERED;
    c->accept_due = today + o->lim.accept_days;
    /* This office decides on acceptance itself: the sender's 立案 and extension were its own. */
    c->decided = c->handle_due = 0;
    c->filed = false;
    c->extension_days = 0;
    c->due_counted = 0;
    c->flags &= ~(uint32_t) XF__CASE_FLAG__FLAG_OVERDUE;
    if (xf_case_set (&c->owner, o->code) || xf_case_set (&c->supervisor, ""))
        rc = xf_err_set (err, XF_ENOMEM, "out of memory");
    else
        rc = XF_OK;
    if (rc == XF_OK && ev->seq)
        rc = xf_office_put_event (txn, ev, err);
    if (rc == XF_OK && ev->seq > c->last_event)
        c->last_event = ev->seq;
    if (rc == XF_OK)
        rc = xf_office_due_add (txn, c->accept_due, c->id, 'a', err);
    if (rc == XF_OK)
        rc = xf_office_track_status (txn, c->id, before, (int) c->status, err);
    if (rc == XF_OK)
        rc = xf_office_save_case (txn, c, err);
    xf_case_destroy (&c);
    return rc;
}

/* 上报 that came back undelivered: the case is this office's again, as it was before it was
 * sent (registered, or in progress when it had been accepted), with its deadline and counts
 * restored and the return in its history. Nothing changes when the case has moved on since
 * (its owner is no longer the office it was sent to). */
static int take_back (xf_txn_t *txn, xf_office_t *o, const Xf__Envelope *env, int64_t now,
                      xf_applied_t *out, xf_err_t *err)
{
    const Xf__DeliveryError *de = env->delivery_error;
    xf_case_t *c = NULL;
    int rc = xf_office_load_case (txn, de->case_id, &c, err);
    if (rc == XF_ENOTFOUND)
        return XF_OK;
    if (rc != XF_OK)
        return rc;
    if (strcmp (c->owner, de->to) != 0) {
        xf_case_destroy (&c);
        return XF_OK;
    }
    int before = (int) c->status;
    c->status = c->handle_due ? XF__STATUS__IN_PROGRESS : XF__STATUS__REGISTERED;
    if (xf_case_set (&c->owner, o->code)) {
        xf_case_destroy (&c);
        return xf_err_set (err, XF_ENOMEM, "out of memory");
    }
    xf_actor_t node = {.now = now, .uid = 0};
    Xf__CaseEvent ev = XF__CASE_EVENT__INIT;
    Xf__Returned body = XF__RETURNED__INIT;
    body.to = de->to;
    body.reason = de->reason;
    body.by = env->from;
    ev.body_case = XF__CASE_EVENT__BODY_RETURNED;
    ev.returned = &body;
    xf_day_t due = xf_case_due (c);
    if (!(rc = xf_office_due_add (txn, due, c->id, c->handle_due ? 'h' : 'a', err))
        && !(c->filed && c->handle_due && (rc = xf_office_count_due (txn, c, c->handle_due, err)))
        && !(rc = xf_stats_bump (txn, xf_day_of_time (de->created), XF_ST_ESCALATED, -1, err))
        && !(rc = xf_office_track_status (txn, c->id, before, (int) c->status, err))
        && !(rc = xf_office_append_event (txn, o, &node, c, &ev, err)))
        rc = xf_office_save_case (txn, c, err);
    if (rc == XF_OK)
        out->returned = true;
    xf_case_destroy (&c);
    return rc;
}

/* A delivery error for an envelope this office sent: counted and reported; an escalation that
 * did not arrive is taken back. */
static int receive_delivery_error (xf_txn_t *txn, xf_office_t *o, const Xf__Envelope *env,
                                   int64_t now, xf_applied_t *out, xf_err_t *err)
{
    const Xf__DeliveryError *de = env->delivery_error;
    if (!de->undelivered || strcmp (de->undelivered->origin, o->code) != 0)
        return refuse (out, "a delivery error from %s for an envelope of %s, not of this office",
                       env->from, de->undelivered ? de->undelivered->origin : "nobody");
    uint64_t n;
    int rc = xf_txn_meta_u64 (txn, "links/undelivered", &n, err);
    if (rc != XF_OK || (rc = xf_txn_meta_set_u64 (txn, "links/undelivered", n + 1, err)) != XF_OK)
        return rc;
    out->undelivered = true;
    snprintf (out->reason, sizeof out->reason, "%s%s%s for %s (envelope %s/%llu) came back from "
              "%s: %s", *de->event ? de->event : "an envelope", *de->case_id ? " of case " : "",
              de->case_id, de->to, de->undelivered->origin,
              (unsigned long long) de->undelivered->seq, env->from, de->reason);
    if (*de->case_id && strcmp (de->event, "escalate") == 0)
        return take_back (txn, o, env, now, out, err);
    return XF_OK;
}

static int apply_here (xf_txn_t *txn, xf_office_t *o, const Xf__Envelope *env, int64_t now,
                       xf_applied_t *out, xf_err_t *err)
{
    if (env->format > XF_ENVELOPE_FORMAT) {
        char why[64];
        snprintf (why, sizeof why, "format %u, newer than this build reads (%d)",
                  (unsigned) env->format, XF_ENVELOPE_FORMAT);
        return refuse (out, "the envelope is in %s: upgrade office %s", why, o->code);
    }
    if (env->body_case == XF__ENVELOPE__BODY_DELIVERY_ERROR)
        return receive_delivery_error (txn, o, env, now, out, err);
    if (env->body_case != XF__ENVELOPE__BODY_CASE_EVENT)
        return refuse (out, "a %s envelope from %s is not handled yet", xf_msg_body_name (env),
                       env->from);
    const Xf__CaseEvent *ev = env->case_event;
    if (ev->body_case == XF__CASE_EVENT__BODY_ESCALATION)
        return receive_escalation (txn, o, ev, now, out, err);
    return refuse (out, "a %s event from %s is not handled yet", xf_msg_event_name (ev), env->from);
}

/* Sends the origin of an envelope that cannot be delivered a DeliveryError saying why
 * (out->reason). A delivery error that cannot be delivered itself is only refused: nothing
 * answers an answer. */
static int bounce (xf_txn_t *txn, xf_office_t *o, const xf_net_t *net, const Xf__Envelope *env,
                   int64_t now, xf_applied_t *out, xf_err_t *err)
{
    if (env->format <= XF_ENVELOPE_FORMAT && env->body_case == XF__ENVELOPE__BODY_DELIVERY_ERROR)
        return XF_OK;
    Xf__DeliveryError de = XF__DELIVERY_ERROR__INIT;
    Xf__GlobalId gid = *env->id;
    gid.base = (ProtobufCMessage) PROTOBUF_C_MESSAGE_INIT (&xf__global_id__descriptor);
    de.undelivered = &gid;
    de.to = env->to;
    de.reason = out->reason;
    de.created = env->created;
    de.case_id = (char *) "";
    de.event = (char *) "";
    if (env->format <= XF_ENVELOPE_FORMAT) {
        if (env->body_case == XF__ENVELOPE__BODY_CASE_EVENT) {
            de.case_id = env->case_event->case_id;
            de.event = (char *) xf_msg_event_name (env->case_event);
        } else
            de.event = (char *) xf_msg_body_name (env);
    }
    int rc = send_envelope (txn, o, net, env->from, now, XF__ENVELOPE__BODY_DELIVERY_ERROR, &de,
                            0, err);
    if (rc == XF_OK)
        out->bounced = true;
    return rc;
}

/* Stores the envelope's bytes for the next hop, untouched (a newer format, a signature).
 * A full queue there is a refusal (XF_ESTATE, out->reason saying so), which goes back to the
 * origin: a relay does not grow a queue for an office that is gone without bound, and it does
 * not stop the link the envelope came by either (other offices are reached through it). */
static int relay (xf_txn_t *txn, const xf_net_t *net, const char *hop,
                  const Xf__SignedEnvelope *se, xf_applied_t *out, xf_err_t *err)
{
    size_t len = xf__signed_envelope__get_packed_size (se);
    uint8_t *buf = malloc (len ? len : 1);
    uint64_t seq;
    if (!buf)
        return xf_err_set (err, XF_ENOMEM, "out of memory");
    xf__signed_envelope__pack (se, buf);
    int rc = xf_outbox_push (txn, hop, buf, len, net->outbox_limit, &seq, err);
    free (buf);
    if (rc == XF_ESTATE) {
        out->refused = true;
        snprintf (out->reason, sizeof out->reason, "%s", err->msg);
        *err = (xf_err_t) {0};
    }
    out->relayed = rc == XF_OK;
    snprintf (out->hop, sizeof out->hop, "%s", hop);
    return rc;
}

int xf_office_apply (xf_txn_t *txn, xf_office_t *o, const xf_net_t *net, const char *peer,
                     const Xf__SignedEnvelope *se, const Xf__Envelope *env, int64_t now,
                     xf_applied_t *out, xf_err_t *err)
{
    const char *hop;
    int rc;
    memset (out, 0, sizeof *out);
    /* The origin must lie on the peer's side of the tree: a child speaks for its subtree
     * only, the parent for everything outside ours. Nothing goes back to a claimed origin. */
    bool from_child = xf_routes_in_subtree (net->routes, peer, peer);
    if (from_child ? !xf_routes_in_subtree (net->routes, peer, env->from)
                   : xf_routes_in_subtree (net->routes, NULL, env->from))
        return refuse (out, "envelope claims origin %s, which office %s cannot speak for",
                       env->from, peer);
    switch (xf_routes_lookup (net->routes, env->to, &hop)) {
    case XF_ROUTE_SELF:
        if ((rc = apply_here (txn, o, env, now, out, err)) != XF_OK || !out->refused)
            return rc;
        break;
    case XF_ROUTE_CHILD:
    case XF_ROUTE_PARENT:
        if (strcmp (hop, peer) == 0) {
            refuse (out, "office %s is reached through %s, where the envelope came from: the "
                    "routes of the tree disagree", env->to, peer);
            break;
        }
        if ((rc = relay (txn, net, hop, se, out, err)) != XF_ESTATE)
            return rc;
        break;
    default:
        refuse (out, "there is no office %s in this tree (from %s)", env->to, env->from);
        break;
    }
    return bounce (txn, o, net, env, now, out, err);
}
