/* xf_office_review.c — 复查 and 复核 between offices. The office above the one that gave the
 * reply registers the petitioner's request (xf_office_review) and asks the owner for the case;
 * the owner checks the rules (xf_case_review.c) and hands the case over with its history, or
 * refuses saying why. An office that does not own the case any more answers with the owner's
 * code, and the asking office asks that one instead, once. What the asking office knows of
 * its request stays in meta "review/<id>" until the case arrives, so that `case show` there
 * can say what happened to it. */
#include "xf_office.h"
#include "xf_office_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "xf_msg.h"

#define REVIEW_KEY_MAX (8 + XF_CASE_ID_MAX)
#define MAX_REDIRECTS  1

static size_t review_key (char key[REVIEW_KEY_MAX], const char *id)
{
    return (size_t) snprintf (key, REVIEW_KEY_MAX, "review/%s", id);
}

/* ---------------------------------------------------------------- what the asker keeps */

static json_t *load_request (xf_txn_t *txn, const char *id, xf_err_t *err, int *rc)
{
    char key[REVIEW_KEY_MAX];
    const void *v = NULL;
    size_t len = 0;
    *rc = xf_txn_get (txn, XF_DB_META, key, review_key (key, id), &v, &len, err);
    if (*rc != XF_OK) {
        if (*rc == XF_ENOTFOUND)
            *rc = XF_OK;
        return NULL;
    }
    return json_loadb (v, len, 0, NULL);
}

static int save_request (xf_txn_t *txn, const char *id, json_t *req, xf_err_t *err)
{
    char key[REVIEW_KEY_MAX];
    char *text = json_dumps (req, JSON_COMPACT);
    if (!text)
        return xf_err_set (err, XF_ENOMEM, "out of memory");
    int rc = xf_txn_put (txn, XF_DB_META, key, review_key (key, id), text, strlen (text), err);
    free (text);
    return rc;
}

static const char *field (const json_t *req, const char *name)
{
    const char *s = json_string_value (json_object_get (req, name));
    return s ? s : "";
}

int xf_office_review_status (xf_txn_t *txn, const char *id, char *out, size_t size)
{
    xf_err_t err = {0, ""};
    int rc;
    json_t *req = load_request (txn, id, &err, &rc);
    if (!req)
        return XF_ENOTFOUND;
    if (*field (req, "refusal"))
        snprintf (out, size, "its review was asked of office %s on %s and refused by office %s: %s",
                  field (req, "asked_of"), field (req, "asked"), field (req, "refused_by"),
                  field (req, "refusal"));
    else
        snprintf (out, size, "its review was asked of office %s on %s; the case comes here once "
                  "that office records it", field (req, "asked_of"), field (req, "asked"));
    json_decref (req);
    return XF_OK;
}

/* ---------------------------------------------------------------- asking */

static int send_request (xf_txn_t *txn, xf_office_t *o, const char *to, const char *id,
                         const char *reason, int64_t now, xf_err_t *err)
{
    Xf__CaseRequest req = XF__CASE_REQUEST__INIT;
    Xf__CaseEvent ev = XF__CASE_EVENT__INIT;
    Xf__ReviewRequest body = XF__REVIEW_REQUEST__INIT;
    body.reason = (char *) reason;
    body.by = o->code;
    ev.case_id = (char *) id;
    ev.at = now;
    ev.office = o->code;
    ev.body_case = XF__CASE_EVENT__BODY_REVIEW;
    ev.review = &body;
    req.case_id = (char *) id;
    req.event = &ev;
    int rc = xf_office_send (txn, o, to, now, XF__ENVELOPE__BODY_CASE_REQUEST, &req,
                             o->net.outbox_limit, err);
    if (rc == XF_ENOTFOUND)
        return xf_err_set (err, XF_ENOTFOUND, "office %s, which holds case %s, cannot be reached "
                           "from here", to, id);
    return rc;
}

static bool directly_above (const xf_office_t *o, const char *office)
{
    const char *hop;
    return o->net.routes && xf_routes_lookup (o->net.routes, office, &hop) == XF_ROUTE_CHILD
           && strcmp (hop, office) == 0;
}

typedef struct {
    xf_office_t *o;
    const xf_actor_t *who;
    const char *id, *reason;
    char *asked_of;
} ask_t;

static int ask_txn (xf_txn_t *txn, void *arg, xf_err_t *err)
{
    ask_t *a = arg;
    xf_office_t *o = a->o;
    xf_day_t today = xf_day_of_time (a->who->now);
    xf_case_t *c = NULL;
    size_t own = strlen (o->code);
    int rc = xf_office_load_case (txn, a->id, &c, err);
    if (rc == XF_OK) {   /* a replica here: the rules are checked before anything is sent */
        rc = xf_case_check_review (c, o->code, directly_above (o, c->owner), today, err);
        snprintf (a->asked_of, XF_OFFICE_CODE_LEN, "%s", c->owner);
    } else if (rc == XF_ENOTFOUND && !(strncmp (a->id, o->code, own) == 0 && a->id[own] == '-')) {
        /* not here: ask the registering office, which holds every case it registered */
        *err = (xf_err_t) {0, ""};
        rc = XF_OK;
        snprintf (a->asked_of, XF_OFFICE_CODE_LEN, "%.*s", (int) strcspn (a->id, "-"), a->id);
    }
    xf_case_destroy (&c);
    if (rc != XF_OK || (rc = send_request (txn, o, a->asked_of, a->id, a->reason, a->who->now, err)))
        return rc;
    char day[11];
    xf_day_format (today, day);
    json_t *req = json_pack ("{s:s, s:s, s:s, s:i}", "asked_of", a->asked_of, "asked", day,
                             "reason", a->reason, "redirects", 0);
    rc = req ? save_request (txn, a->id, req, err) : xf_err_set (err, XF_ENOMEM, "out of memory");
    json_decref (req);
    return rc;
}

int xf_office_review (xf_office_t *o, const xf_actor_t *who, const char *id, const char *reason,
                      char asked_of[XF_OFFICE_CODE_LEN], xf_err_t *err)
{
    ask_t a = {o, who, id, reason, asked_of};
    int rc = xf_case_check_text ("reason", reason, XF_TEXT_MAX, true, err);
    if (rc != XF_OK)
        return rc;
    if (!xf_msg_case_id_valid (id))
        return xf_err_set (err, XF_EINVAL, "\"%s\" is not a case id (<office>-<yyyy>-<6 digits>)", id);
    if (!o->net.routes)
        return xf_err_set (err, XF_ESTATE, "this office has no links: it cannot ask for a case");
    return xf_store_write (o->store, ask_txn, &a, err);
}

/* A refusal of one of our review requests: asked again of the owner it names (once), else
 * kept for `case show` to tell. */
int xf_office_review_refused (xf_txn_t *txn, xf_office_t *o, const Xf__Envelope *env, xf_err_t *err)
{
    const Xf__Refusal *r = env->refusal;
    int rc;
    json_t *req = load_request (txn, r->case_id, err, &rc);
    if (!req)
        return rc;
    json_int_t redirects = json_integer_value (json_object_get (req, "redirects"));
    if (*r->owner && strcmp (r->owner, env->from) != 0 && strcmp (r->owner, o->code) != 0
        && redirects < MAX_REDIRECTS) {
        rc = send_request (txn, o, r->owner, r->case_id, field (req, "reason"), env->created, err);
        json_object_set_new (req, "asked_of", json_string (r->owner));
        json_object_set_new (req, "redirects", json_integer (redirects + 1));
    } else {
        json_object_set_new (req, "refused_by", json_string (env->from));
        json_object_set_new (req, "refusal", json_string (r->reason));
        rc = XF_OK;
    }
    if (rc == XF_OK)
        rc = save_request (txn, r->case_id, req, err);
    json_decref (req);
    return rc;
}

int xf_office_review_arrived (xf_txn_t *txn, const Xf__CaseEvent *ev, const char *self, xf_err_t *err)
{
    char key[REVIEW_KEY_MAX];
    if (ev->body_case != XF__CASE_EVENT__BODY_REVIEW || strcmp (ev->review->by, self) != 0)
        return XF_OK;
    int rc = xf_txn_del (txn, XF_DB_META, key, review_key (key, ev->case_id), err);
    return rc == XF_ENOTFOUND ? XF_OK : rc;
}

/* ---------------------------------------------------------------- at the owner */

int xf_office_receive_review (xf_txn_t *txn, xf_office_t *o, const Xf__Envelope *env, int64_t now,
                              xf_applied_t *out, xf_err_t *err)
{
    const Xf__CaseRequest *req = env->case_request;
    xf_err_t why = {0, ""};
    xf_case_t *c = NULL, *before = NULL;
    uint8_t *slim = NULL;
    size_t slim_len = 0;
    xf_day_t today = xf_day_of_time (now);
    int rc = xf_office_load_case_pair (txn, req->case_id, &c, &before, &slim, &slim_len, &why);
    if (rc == XF_OK && strcmp (c->owner, o->code) != 0) {
        xf_err_set (&why, XF_EPERM, "case %s is owned by office %s", c->id, c->owner);
        rc = xf_office_answer_refusal (txn, o, env, c->id, XF_EPERM, why.msg, c->owner, now, out, err);
        xf_case_view_destroy (&before);
        free (slim);
        xf_case_destroy (&c);
        return rc;
    }
    bool from_parent = o->net.routes && xf_routes_parent (o->net.routes)
                       && strcmp (xf_routes_parent (o->net.routes), env->from) == 0;
    if (rc == XF_OK)
        rc = xf_case_review (c, env->from, from_parent, today, &why);
    if (rc == XF_OK)
        rc = xf_office_reseal (o, c, &why);
    if (rc == XF_ENOTFOUND || rc == XF_EPERM || rc == XF_ESTATE) {
        rc = xf_office_answer_refusal (txn, o, env, req->case_id, rc, why.msg, NULL, now, out, err);
        xf_case_view_destroy (&before);
        free (slim);
        xf_case_destroy (&c);
        return rc;
    }
    Xf__CaseEvent ev = XF__CASE_EVENT__INIT;
    Xf__ReviewRequest body = *req->event->review;
    body.by = env->from;
    body.level = c ? c->review_level : 0;
    body.due = c ? c->handle_due : 0;
    ev.body_case = XF__CASE_EVENT__BODY_REVIEW;
    ev.review = &body;
    xf_actor_t node = {.now = now, .uid = 0, .role = XF_ACTOR_NODE};
    if (rc != XF_OK)
        *err = why;
    else if (!xf_case_watched_by (before, env->from))
        rc = xf_office_attach_history (txn, before, &ev, err);
    if (rc == XF_OK && !(rc = xf_office_remember_bytes (txn, c->id, slim, slim_len, err))
        && !(rc = xf_office_append_event (txn, o, &node, c, &ev, err)))
        rc = xf_office_adopt (txn, o, before, c, err);
    xf_office_free_history (&ev);
    xf_case_view_destroy (&before);
    free (slim);
    xf_case_destroy (&c);
    return rc;
}
