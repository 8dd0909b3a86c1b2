/* audit.c — the control side of the audit log: the record of each request that changes no
 * case (reads, certificates, recusals, refusals; the events a request records are audited by
 * lib/ in their own transaction), and the audit.verify and audit.show commands. */
#include <stdio.h>
#include <string.h>
#include "log.h"
#include "node.h"
#include "xf_audit.h"
#include "xf_time.h"

/* Requests that record case events: lib/ audits each event with the change itself. */
static const char *const EVENTED[] = {
    "case.register", "case.import", "case.accept", "case.reject", "case.extend", "case.close",
    "case.escalate", "case.assign", "case.transfer", "case.report", "case.send_back",
    "case.urge", NULL,
};

static bool evented (const char *command)
{
    for (int i = 0; EVENTED[i]; i++)
        if (strcmp (EVENTED[i], command) == 0)
            return true;
    return false;
}

void audit_request (xf_node_t *node, const access_caller_t *c, const char *command,
                    const json_t *args, const xf_err_t *refused)
{
    if (strcmp (command, "status") == 0 || strcmp (command, "metrics") == 0
        || (!refused && evented (command)))
        return;   /* status and metrics are polled by monitoring; events are audited with their change */
    const char *id = json_string_value (json_object_get (args, "id"));
    if (!id)
        id = json_string_value (json_array_get (json_object_get (args, "ids"), 0));
    char detail[600];
    if (refused)
        snprintf (detail, sizeof detail, "refused: %.580s", refused->msg);
    xf_actor_t who = {node_now (node), c->op.uid, xf_role_name (c->role)};
    if (who.role && strcmp (who.role, "none") == 0)
        who.role = "";
    xf_err_t err = {0};
    if (xf_office_audit_note (node->office, &who, command, id, refused ? detail : NULL, &err) != XF_OK)
        log_error ("%s by uid %u: not audited: %s", command, (unsigned) c->op.uid, err.msg);
}

json_t *cmd_audit_verify (xf_node_t *node, uid_t uid, const json_t *args, xf_err_t *err)
{
    (void) uid, (void) args;
    xf_audit_report_t r;
    if (xf_office_audit_verify (node->office, &r, err) != XF_OK)
        return NULL;
    if (r.first_bad) {
        log_error ("audit log: broken at record %llu: %s", (unsigned long long) r.first_bad, r.reason);
        xf_err_set (err, XF_ESTATE, "the audit log is broken at record %llu: %s (records 1 to "
                    "%llu hold)", (unsigned long long) r.first_bad, r.reason,
                    (unsigned long long) r.records);
        return NULL;
    }
    char head[2 * XF_HASH_LEN + 1];
    for (int i = 0; i < XF_HASH_LEN; i++)
        snprintf (head + 2 * i, 3, "%02x", r.head[i]);
    bool sm3 = node->trust && xf_trust_profile (node->trust) == XF_PROFILE_NATIONAL;
    return json_pack ("{s:b,s:I,s:s,s:s}", "holds", 1, "records", (json_int_t) r.records,
                      "head", head, "hash", sm3 ? "SM3" : "SHA-256");
}

static int arg_time (const json_t *args, const char *key, int64_t *out, xf_err_t *err)
{
    const char *s = json_string_value (json_object_get (args, key));
    if (!s)
        return XF_OK;
    return xf_time_parse (s, out, err) == XF_OK ? XF_OK : xf_err_prefix (err, "argument \"%s\"", key);
}

json_t *cmd_audit_show (xf_node_t *node, uid_t uid, const json_t *args, xf_err_t *err)
{
    (void) uid;
    xf_audit_filter_t f = {.uid = -2};
    json_t *v = json_object_get (args, "uid");
    f.case_id = json_string_value (json_object_get (args, "id"));
    f.action_prefix = json_string_value (json_object_get (args, "action"));
    if (v && (!json_is_integer (v) || json_integer_value (v) < -1)) {
        xf_err_set (err, XF_EINVAL, "argument \"uid\" must be a uid (-1: the node itself)");
        return NULL;
    }
    if (v)
        f.uid = json_integer_value (v);
    v = json_object_get (args, "limit");
    if (v && (!json_is_integer (v) || json_integer_value (v) < 1)) {
        xf_err_set (err, XF_EINVAL, "argument \"limit\" must be a positive whole number");
        return NULL;
    }
    f.limit = v ? (size_t) json_integer_value (v) : 0;
    if (arg_time (args, "from", &f.from, err) != XF_OK || arg_time (args, "to", &f.to, err) != XF_OK)
        return NULL;
    json_t *records = xf_office_audit_show (node->office, &f, err);
    return records ? json_pack ("{s:o}", "records", records) : NULL;
}
