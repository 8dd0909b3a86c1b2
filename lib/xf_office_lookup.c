/* xf_office_lookup.c — a petitioner's 查询码 answered at any office. The registering office
 * (which the code names, and which holds every case it registered, kept current as a
 * replica) answers from its own store; any other office asks it with a LookupRequest and
 * keeps the LookupReply in meta "lookup/<code>" for a minute, so that `xfctl case lookup`,
 * which asks again while the answer is pending, gets it. The answer is the public status
 * only: the office handling the case, its stage, its dates and the reply once there is one;
 * never the petitioner, the accused or the summary. */
#include "xf_office.h"
#include "xf_office_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "xf_msg.h"
#include "xf_query.h"

#define LOOKUP_KEY_MAX   (8 + XF_QUERY_SHOWN)
#define ANSWER_FRESH_S   60   /* an answer kept longer is asked again */
#define ASK_AGAIN_S      30   /* a question unanswered this long is sent again */

static size_t lookup_key (char key[LOOKUP_KEY_MAX], const char *code)
{
    return (size_t) snprintf (key, LOOKUP_KEY_MAX, "lookup/%s", code);
}

static void fill_reply (Xf__LookupReply *r, const char *code, const xf_case_t *c)
{
    r->query_code = (char *) code;
    r->found = c != NULL;
    if (!c)
        return;
    r->case_id = c->id;
    r->owner = c->owner;
    r->status = c->status;
    r->received = c->received;
    r->decided = c->decided;
    r->accept_due = c->accept_due;
    r->handle_due = c->handle_due;
    r->closed = c->closed;
    r->reply = c->status == XF__STATUS__REJECTED ? c->reject_reason
             : c->status == XF__STATUS__CLOSED ? c->reply : (char *) "";
    r->review_level = c->review_level;
    r->final = (c->flags & XF__CASE_FLAG__FLAG_FINAL) != 0;
}

static const char *stage_of (int status, unsigned review_level)
{
    switch (status) {
    case XF__STATUS__REGISTERED:  return "registered: the office decides whether to accept it";
    case XF__STATUS__REJECTED:    return "not accepted (不予受理)";
    case XF__STATUS__IN_PROGRESS: return review_level ? "under review (复查/复核)" : "accepted and being handled";
    case XF__STATUS__REPORTED:    return "handled; the result is being checked by the office above";
    case XF__STATUS__CLOSED:      return "answered (办结)";
    default:                      return "unknown";
    }
}

static void set_day (json_t *o, const char *key, xf_day_t day)
{
    char s[11];
    if (day) {
        xf_day_format (day, s);
        json_object_set_new (o, key, json_string (s));
    }
}

static json_t *public_json (const Xf__LookupReply *r, const xf_routes_t *routes)
{
    json_t *o = json_pack ("{s:s,s:b}", "query_code", r->query_code, "found", r->found);
    if (!o || !r->found)
        return o;
    const char *name = routes ? xf_routes_name (routes, r->owner) : NULL;
    json_object_set_new (o, "case_id", json_string (r->case_id));
    json_object_set_new (o, "office", json_string (r->owner));
    if (name)
        json_object_set_new (o, "office_name", json_string (name));
    json_object_set_new (o, "status", json_string (xf_status_name (r->status)));
    json_object_set_new (o, "stage", json_string (stage_of (r->status, r->review_level)));
    set_day (o, "received", r->received);
    set_day (o, "decided", r->decided);
    if (r->status == XF__STATUS__REGISTERED)
        set_day (o, "accept_due", r->accept_due);
    if (r->status == XF__STATUS__IN_PROGRESS || r->status == XF__STATUS__REPORTED)
        set_day (o, "handle_due", r->handle_due);
    set_day (o, "closed", r->closed);
    if (*r->reply)
        json_object_set_new (o, "reply", json_string (r->reply));
    if (r->review_level)
        json_object_set_new (o, "review_level", json_integer (r->review_level));
    if (r->final)
        json_object_set_new (o, "final", json_true ());
    return o;
}

/* The case a code of this office names, or NULL (XF_OK) when none does. */
static int local_case (xf_txn_t *txn, const char *code, xf_case_t **c, xf_err_t *err)
{
    const void *v = NULL;
    size_t len = 0;
    char id[XF_CASE_ID_MAX];
    *c = NULL;
    int rc = xf_txn_get (txn, XF_DB_QUERY, code, strlen (code), &v, &len, err);
    if (rc == XF_ENOTFOUND)
        return XF_OK;
    if (rc != XF_OK)
        return rc;
    snprintf (id, sizeof id, "%.*s", (int) len, (const char *) v);
    return xf_office_load_case (txn, id, c, err);
}

/* ---------------------------------------------------------------- asking */

typedef struct {
    xf_office_t *o;
    int64_t now;
    const char *code;
    json_t *answer;
} lookup_t;

static int save_note (xf_txn_t *txn, const char *code, json_t *note, xf_err_t *err)
{
    char key[LOOKUP_KEY_MAX];
    char *text = json_dumps (note, JSON_COMPACT);
    if (!text)
        return xf_err_set (err, XF_ENOMEM, "out of memory");
    int rc = xf_txn_put (txn, XF_DB_META, key, lookup_key (key, code), text, strlen (text), err);
    free (text);
    return rc;
}

static json_t *load_note (xf_txn_t *txn, const char *code)
{
    char key[LOOKUP_KEY_MAX];
    const void *v = NULL;
    size_t len = 0;
    xf_err_t ignored = {0, ""};
    if (xf_txn_get (txn, XF_DB_META, key, lookup_key (key, code), &v, &len, &ignored) != XF_OK)
        return NULL;
    return json_loadb (v, len, 0, NULL);
}

static json_t *pending (const char *code, const char *office)
{
    return json_pack ("{s:s,s:b,s:s}", "query_code", code, "pending", 1, "asked_of", office);
}

static int lookup_txn (xf_txn_t *txn, void *arg, xf_err_t *err)
{
    lookup_t *l = arg;
    xf_case_t *c = NULL;
    char office[7];
    int rc = local_case (txn, l->code, &c, err);
    xf_query_office (l->code, office);
    if (rc != XF_OK || c || strcmp (office, l->o->code) == 0) {
        Xf__LookupReply r = XF__LOOKUP_REPLY__INIT;
        fill_reply (&r, l->code, c);
        if (rc == XF_OK)
            l->answer = public_json (&r, l->o->net.routes);
        xf_case_destroy (&c);
        return rc;
    }
    json_t *note = load_note (txn, l->code);
    json_int_t at = note ? json_integer_value (json_object_get (note, "at")) : 0;
    json_t *answer = note ? json_object_get (note, "answer") : NULL;
    if (answer && l->now - at <= ANSWER_FRESH_S) {
        l->answer = json_incref (answer);
    } else if (note && !answer && l->now - at <= ASK_AGAIN_S) {
        l->answer = pending (l->code, office);
    } else {
        Xf__LookupRequest q = XF__LOOKUP_REQUEST__INIT;
        q.query_code = (char *) l->code;
        rc = xf_office_send (txn, l->o, office, l->now, XF__ENVELOPE__BODY_LOOKUP_REQUEST, &q,
                             l->o->net.outbox_limit, err);
        if (rc == XF_ENOTFOUND)
            rc = xf_err_set (err, XF_ENOTFOUND, "query code %s names office %s, which cannot be "
                             "reached from here (is the code right?)", l->code, office);
        json_t *asked = json_pack ("{s:I}", "at", (json_int_t) l->now);
        if (rc == XF_OK)
            rc = asked ? save_note (txn, l->code, asked, err) : xf_err_set (err, XF_ENOMEM, "out of memory");
        json_decref (asked);
        if (rc == XF_OK)
            l->answer = pending (l->code, office);
    }
    json_decref (note);
    return rc;
}

int xf_office_lookup (xf_office_t *o, const xf_actor_t *who, const char *typed, json_t **answer,
                      xf_err_t *err)
{
    char code[XF_QUERY_SHOWN];
    *answer = NULL;
    int rc = xf_query_normalize (typed, code, err);
    if (rc != XF_OK)
        return rc;
    lookup_t l = {o, who->now, code, NULL};
    rc = xf_store_write (o->store, lookup_txn, &l, err);
    if (rc != XF_OK) {
        json_decref (l.answer);
        return rc;
    }
    if (!l.answer)
        return xf_err_set (err, XF_ENOMEM, "out of memory");
    *answer = l.answer;
    return XF_OK;
}

/* ---------------------------------------------------------------- answering */

int xf_office_receive_lookup (xf_txn_t *txn, xf_office_t *o, const Xf__Envelope *env, int64_t now,
                              xf_applied_t *out, xf_err_t *err)
{
    char code[XF_QUERY_SHOWN];
    xf_err_t why = {0, ""};
    xf_case_t *c = NULL;
    if (xf_query_normalize (env->lookup_request->query_code, code, &why) != XF_OK)
        return xf_office_refuse (out, "a lookup from %s: %s", env->from, why.msg);
    int rc = local_case (txn, code, &c, err);
    if (rc != XF_OK)
        return rc;
    Xf__LookupReply r = XF__LOOKUP_REPLY__INIT;
    fill_reply (&r, code, c);
    rc = xf_office_send (txn, o, env->from, now, XF__ENVELOPE__BODY_LOOKUP_REPLY, &r, 0, err);
    if (rc == XF_ENOTFOUND) {   /* nobody to answer */
        *err = (xf_err_t) {0, ""};
        rc = XF_OK;
    }
    xf_case_destroy (&c);
    return rc;
}

int xf_office_receive_lookup_reply (xf_txn_t *txn, xf_office_t *o, const Xf__Envelope *env,
                                    int64_t now, xf_applied_t *out, xf_err_t *err)
{
    const Xf__LookupReply *r = env->lookup_reply;
    char code[XF_QUERY_SHOWN], office[7];
    xf_err_t why = {0, ""};
    if (xf_query_normalize (r->query_code, code, &why) != XF_OK)
        return xf_office_refuse (out, "a lookup answer from %s: %s", env->from, why.msg);
    xf_query_office (code, office);
    json_t *note = load_note (txn, code);
    if (!note || strcmp (office, env->from) != 0) {
        json_decref (note);
        return xf_office_refuse (out, "an answer about query code %s from office %s, which this "
                                 "office did not ask", code, env->from);
    }
    json_object_set_new (note, "at", json_integer (now));
    json_object_set_new (note, "answer", public_json (r, o->net.routes));
    int rc = save_note (txn, code, note, err);
    json_decref (note);
    return rc;
}
