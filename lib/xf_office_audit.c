/* xf_office_audit.c — the office's side of the audit log (lib/xf_audit.h): every event it
 * records on a case and every envelope addressed to it is audited in the transaction that
 * makes the change, so a change and its record commit together; the daemon notes the operator
 * actions that change no case (reads, certificates, refusals) through xf_office_audit_note. */
#include <stdio.h>
#include <string.h>
#include "xf_audit.h"
#include "xf_case_json.h"
#include "xf_msg.h"
#include "xf_office.h"
#include "xf_office_int.h"
#include "xf_text.h"

void xf_office_set_audit_profile (xf_office_t *o, xf_profile_t p)
{
    o->audit_profile = p;
}

static bool is_node (const xf_actor_t *who)
{
    return who->role && strcmp (who->role, XF_ACTOR_NODE) == 0;
}

int xf_office_audit (xf_txn_t *txn, xf_office_t *o, const xf_actor_t *who, const char *action,
                     const char *case_id, const char *detail, xf_err_t *err)
{
    xf_audit_entry_t e = {
        .time = who->now, .office = o->code, .uid = is_node (who) ? -1 : (int64_t) who->uid,
        .role = who->role, .action = action, .case_id = case_id, .detail = detail,
    };
    int rc = xf_audit_append (txn, o->audit_profile, &e, NULL, err);
    return rc == XF_OK ? XF_OK : xf_err_prefix (err, "audit log");
}

int xf_office_audit_event (xf_txn_t *txn, xf_office_t *o, const xf_actor_t *who,
                           const Xf__CaseEvent *ev, xf_err_t *err)
{
    char action[64];
    xf_text_join (action, sizeof action, is_node (who) ? "node." : "case.", xf_event_type (ev),
                  (char *) NULL);
    return xf_office_audit (txn, o, who, action, ev->case_id, NULL, err);
}

int xf_office_audit_applied (xf_txn_t *txn, xf_office_t *o, const Xf__Envelope *env, int64_t now,
                             const xf_applied_t *out, xf_err_t *err)
{
    char action[64], detail[700];
    bool event = env->body_case == XF__ENVELOPE__BODY_CASE_EVENT;
    xf_actor_t node = {.now = now, .uid = 0, .role = XF_ACTOR_NODE};
    char seq[21] = "";
    seq[xf_text_uint (seq, env->id ? env->id->seq : 0)] = '\0';
    xf_text_join (action, sizeof action, "apply.",
                  event ? xf_msg_event_name (env->case_event) : xf_msg_body_name (env), (char *) NULL);
    size_t n = xf_text_join (detail, sizeof detail, "from ", env->from, " #", seq, (char *) NULL);
    if (out->refused)
        snprintf (detail + n, sizeof detail - n, "; %s: %.500s",
                  out->forged ? "forged, refused" : "refused", out->reason);
    return xf_office_audit (txn, o, &node, action, event ? env->case_event->case_id : NULL, detail,
                            err);
}

/* ---------------------------------------------------------------- outside a transaction */

typedef struct {
    xf_office_t *o;
    const xf_actor_t *who;
    const char *action, *case_id, *detail;
    const xf_audit_filter_t *filter;
    xf_audit_report_t *report;
    json_t *records;
} note_t;

static int note_txn (xf_txn_t *txn, void *arg, xf_err_t *err)
{
    note_t *n = arg;
    return xf_office_audit (txn, n->o, n->who, n->action, n->case_id, n->detail, err);
}

int xf_office_audit_note (xf_office_t *o, const xf_actor_t *who, const char *action,
                          const char *case_id, const char *detail, xf_err_t *err)
{
    note_t n = {.o = o, .who = who, .action = action, .case_id = case_id, .detail = detail};
    return xf_store_write (o->store, note_txn, &n, err);
}

static int verify_txn (xf_txn_t *txn, void *arg, xf_err_t *err)
{
    note_t *n = arg;
    return xf_audit_verify (txn, n->o->audit_profile, n->report, err);
}

int xf_office_audit_verify (xf_office_t *o, xf_audit_report_t *out, xf_err_t *err)
{
    note_t n = {.o = o, .report = out};
    return xf_store_read (o->store, verify_txn, &n, err);
}

static int show_txn (xf_txn_t *txn, void *arg, xf_err_t *err)
{
    note_t *n = arg;
    json_array_clear (n->records);
    return xf_audit_show (txn, n->filter, n->records, err);
}

json_t *xf_office_audit_show (xf_office_t *o, const xf_audit_filter_t *f, xf_err_t *err)
{
    note_t n = {.o = o, .filter = f, .records = json_array ()};
    if (!n.records) {
        xf_err_set (err, XF_ENOMEM, "out of memory");
        return NULL;
    }
    if (xf_store_read (o->store, show_txn, &n, err) != XF_OK)
        json_decref (n.records), n.records = NULL;
    return n.records;
}
