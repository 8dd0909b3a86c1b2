/* xf_office_replica.c — every office that has held a case holds the same case: the owner
 * sends each event it records, with the case as the event left it, to the registering
 * office, the owner and every office that has owned or supervised the case (DESIGN §3.1);
 * an office that joins a case gets its history with the event that makes it the owner. The receiving side stores the event
 * and keeps the newest record, so copies that cross on different paths still converge. */
#include <stdlib.h>
#include <string.h>
#include "xf_arena.h"
#include "xf_msg.h"
#include "xf_office.h"
#include "xf_office_int.h"
#include "xf_outbox.h"

int xf_office_send (xf_txn_t *txn, xf_office_t *o, const char *to, int64_t now,
                    Xf__Envelope__BodyCase body_case, void *body, uint64_t limit, xf_err_t *err)
{
    const char *hop;
    xf_route_t route = o->net.routes ? xf_routes_lookup (o->net.routes, to, &hop) : XF_ROUTE_UNKNOWN;
    if (route != XF_ROUTE_PARENT && route != XF_ROUTE_CHILD)
        return xf_err_set (err, XF_ENOTFOUND, "office %s cannot be reached from here", to);
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
    uint8_t *inner = NULL, sig[XF_SIG_MAX];
    if ((rc = xf_msg_seal (&env, &se, &inner, err)) != XF_OK)
        return rc;
    if (o->trust && (rc = xf_trust_sign (o->trust, &se, sig, err)) != XF_OK) {
        free (inner);
        return xf_err_prefix (err, "envelope to %s", to);
    }
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

/* ---------------------------------------------------------------- sending copies */

static int send_copy (xf_txn_t *txn, xf_office_t *o, const char *to, const xf_case_t *c,
                      const Xf__CaseEvent *ev, xf_err_t *err)
{
    Xf__CaseEvent copy = *ev;
    copy.record = (xf_case_t *) c;
    /* the office a case moves to must get it: a full queue refuses the move; a replica is
     * best kept even past the limit, and an office out of reach just does not get one */
    bool mover = strcmp (to, c->owner) == 0;
    if (!mover)   /* the history before the event is for the office that joins with it */
        copy.n_earlier = 0;
    int rc = xf_office_send (txn, o, to, ev->at, XF__ENVELOPE__BODY_CASE_EVENT, &copy,
                             mover ? o->net.outbox_limit : 0, err);
    if (rc == XF_ENOTFOUND && !mover) {
        *err = (xf_err_t) {0, ""};
        return XF_OK;
    }
    return rc;
}

int xf_office_publish (xf_txn_t *txn, xf_office_t *o, const xf_case_t *c, const Xf__CaseEvent *ev,
                       xf_err_t *err)
{
    if (!o->net.routes)
        return XF_OK;
    const char *sent[64];
    size_t n_sent = 0;
    const char *first[] = {c->owner, c->origin};
    int rc = XF_OK;
    for (size_t i = 0; rc == XF_OK && i < 2 + c->n_watchers; i++) {
        const char *to = i < 2 ? first[i] : c->watchers[i - 2];
        bool dup = strcmp (to, o->code) == 0;
        for (size_t k = 0; k < n_sent && !dup; k++)
            dup = strcmp (sent[k], to) == 0;
        if (dup)
            continue;
        if (n_sent < sizeof sent / sizeof *sent)
            sent[n_sent++] = to;
        rc = send_copy (txn, o, to, c, ev, err);
    }
    return rc;
}

typedef struct {
    const char *id;
    Xf__CaseEvent *ev;
    size_t cap;
    xf_err_t *err;
} history_t;

static int collect_event (const void *key, size_t klen, const void *val, size_t vlen, void *arg)
{
    history_t *hs = arg;
    size_t idlen = strlen (hs->id);
    if (klen != idlen + 5 || memcmp (key, hs->id, idlen) != 0 || ((const char *) key)[idlen])
        return 1;
    /* read only, to be packed into the envelope: one arena, freed at once */
    Xf__CaseEvent *ev = (Xf__CaseEvent *) xf_arena_unpack (&xf__case_event__descriptor, vlen, val);
    if (!ev)
        return xf_err_set (hs->err, XF_ESTORE, "case %s: a stored event does not decode", hs->id);
    if (hs->ev->n_earlier == hs->cap) {
        size_t cap = hs->cap ? hs->cap * 2 : 16;
        Xf__CaseEvent **grown = realloc (hs->ev->earlier, cap * sizeof *grown);
        if (!grown) {
            xf_arena_free (&ev->base);
            return xf_err_set (hs->err, XF_ENOMEM, "out of memory");
        }
        hs->ev->earlier = grown;
        hs->cap = cap;
    }
    hs->ev->earlier[hs->ev->n_earlier++] = ev;
    return 0;
}

int xf_office_attach_history (xf_txn_t *txn, const xf_case_t *c, Xf__CaseEvent *ev, xf_err_t *err)
{
    uint8_t key[XF_CASE_ID_MAX + 5];
    history_t hs = {c->id, ev, 0, err};
    return xf_txn_scan (txn, XF_DB_EVENTS, key, xf_office_event_key (key, c->id, 1),
                        collect_event, &hs, err);
}

void xf_office_free_history (Xf__CaseEvent *ev)
{
    for (size_t i = 0; i < ev->n_earlier; i++)
        xf_arena_free (&ev->earlier[i]->base);
    free (ev->earlier);
    ev->earlier = NULL;
    ev->n_earlier = 0;
}

/* ---------------------------------------------------------------- receiving copies */

int xf_office_adopt (xf_txn_t *txn, xf_office_t *o, const xf_case_t *old, xf_case_t *c,
                     xf_err_t *err)
{
    bool owner = strcmp (c->owner, o->code) == 0;
    xf_day_t due = owner ? xf_case_due (c) : 0;
    int rc = XF_OK;
    c->due_counted = old ? old->due_counted : 0;   /* this office's own bookkeeping */
    if (old && strcmp (old->owner, o->code) == 0)
        rc = xf_office_due_del (txn, xf_case_due (old), c->id, err);
    if (rc == XF_OK && due)
        rc = xf_office_due_add (txn, due, c->id, c->status == XF__STATUS__REGISTERED ? 'a' : 'h',
                                err);
    /* 应结 counts only while this office owns the case */
    if (rc == XF_OK && owner && c->filed && c->status == XF__STATUS__IN_PROGRESS && c->handle_due)
        rc = xf_office_count_due (txn, c, c->handle_due, err);
    else if (rc == XF_OK && !owner && c->due_counted) {
        rc = xf_stats_bump (txn, c->due_counted, XF_ST_DUE, -1, err);
        c->due_counted = 0;
    }
    if (rc == XF_OK)
        rc = xf_office_track_status (txn, c->id, old ? (int) old->status : 0, (int) c->status, err);
    if (rc == XF_OK)
        rc = xf_office_urge_sync (txn, o, c, err);
    if (rc == XF_OK)
        rc = xf_office_save_case (txn, o, c, err);
    return rc;
}

/* The record an event carries: CaseEvent.record, or that of a move from an older build. */
static const xf_case_t *record_of (const Xf__CaseEvent *ev)
{
    if (ev->record)
        return ev->record;
    switch (ev->body_case) {
    case XF__CASE_EVENT__BODY_ESCALATION: return ev->escalation->record;
    case XF__CASE_EVENT__BODY_ASSIGNMENT: return ev->assignment->record;
    case XF__CASE_EVENT__BODY_TRANSFER:   return ev->transfer->record;
    default:                              return NULL;
    }
}

/* An accusation assigned or transferred to this office when its unit is the accused: the
 * sender could not know the name, or did not check; the case goes back to it. */
static bool refused_as_accused (const xf_office_t *o, const Xf__CaseEvent *ev, const xf_case_t *rec,
                                xf_err_t *err)
{
    if (ev->body_case != XF__CASE_EVENT__BODY_ASSIGNMENT
        && ev->body_case != XF__CASE_EVENT__BODY_TRANSFER)
        return false;
    const char *own = o->net.routes ? xf_routes_name (o->net.routes, o->code) : NULL;
    if (strcmp (rec->owner, o->code) != 0 || !own)
        return false;
    return xf_case_check_conflict (rec, o->code, own, err) != XF_OK;
}

int xf_office_receive_event (xf_txn_t *txn, xf_office_t *o, const Xf__Envelope *env,
                             xf_applied_t *out, xf_err_t *err)
{
    const Xf__CaseEvent *ev = env->case_event;
    const xf_case_t *rec = record_of (ev);
    if (!rec || strcmp (rec->id, ev->case_id) != 0)
        return xf_office_refuse (out, "event of case %s from %s carries no case record",
                                 ev->case_id, env->from);
    if (strcmp (ev->office, env->from) != 0)
        return xf_office_refuse (out, "an event recorded by office %s was sent by office %s: only "
                                 "the office that records an event sends it", ev->office, env->from);
    if (refused_as_accused (o, ev, rec, err)) {
        xf_office_refuse (out, "%s%s", err->msg, "");
        *err = (xf_err_t) {0, ""};
        return XF_OK;
    }
    xf_case_t *old = NULL;
    int rc = xf_office_load_case (txn, ev->case_id, &old, err);
    if (rc != XF_OK && rc != XF_ENOTFOUND)
        return rc;
    *err = (xf_err_t) {0, ""};
    rc = XF_OK;
    if (old && strcmp (old->owner, o->code) == 0 && ev->seq > old->last_event) {
        xf_case_destroy (&old);
        return xf_office_refuse (out, "case %s is owned by this office; office %s cannot change "
                                 "it", ev->case_id, env->from);
    }
    for (size_t i = 0; rc == XF_OK && i < ev->n_earlier; i++)
        rc = xf_office_put_event (txn, ev->earlier[i], err);
    if (rc == XF_OK)
        rc = xf_office_put_event (txn, ev, err);
    if (rc == XF_OK && (!old || ev->seq > old->last_event))   /* else: an older copy */
        rc = xf_office_take_record (txn, o, old, rec, ev, err);
    xf_case_destroy (&old);
    return rc;
}

int xf_office_take_record (xf_txn_t *txn, xf_office_t *o, const xf_case_t *old,
                           const xf_case_t *rec, const Xf__CaseEvent *latest, xf_err_t *err)
{
    /* The record in the envelope itself, its two fields of this office's bookkeeping set for
     * the store and put back after (adopt changes nothing else): a copy cost a pack and an
     * unpack of the whole case for every event received. The envelope is the caller's, not
     * const memory. */
    xf_case_t *c = (xf_case_t *) rec;
    uint32_t last_event = c->last_event;
    __typeof__ (c->due_counted) due_counted = c->due_counted;
    c->last_event = latest->seq;
    int rc = xf_office_adopt (txn, o, old, c, err);
    c->last_event = last_event;
    c->due_counted = due_counted;
    /* the office it was sent to recorded an event: the case arrived, nothing is left to take
     * back */
    if (rc == XF_OK && old && strcmp (latest->office, old->owner) == 0)
        rc = xf_office_forget_move (txn, rec->id, err);
    if (rc == XF_OK)
        rc = xf_office_review_arrived (txn, latest, o->code, err);
    return rc;
}
