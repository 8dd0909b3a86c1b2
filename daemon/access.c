/* access.c — who is asking on the control socket: the operator behind a request (its uid from
 * SO_PEERCRED, the user name and groups the system gives that uid), the role [roles] gives
 * them, the refusal of a command their role does not cover or of a case they are recused from
 * (回避), and the case list without those cases. */
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "log.h"
#include "node.h"
#include "xf_access.h"

#define GROUPS_MAX 64

int access_open (xf_node_t *node, char *errbuf, size_t errlen)
{
    const xf_conf_t *cf = node->conf;
    xf_err_t err = {0};
    node->access = xf_access_new (cf->has_roles, (const char *const *) cf->role_members,
                                  cf->recusals, &err);
    if (!node->access) {
        snprintf (errbuf, errlen, "%s", err.msg);
        return -1;
    }
    if (!cf->has_roles)
        log_warn ("no [roles] in the configuration: every operator who can open the control "
                  "socket may do everything (admin)");
    return 0;
}

/* Who a uid is, as the system said at most CALLER_TTL_MS ago. Every request asks, and the
 * lookups (the passwd entry, the group list, each group's name: files read again each time)
 * cost more than a whole `status`, which monitors poll. A change of a user's groups takes
 * effect within the TTL; the role is worked out from them on every request, so a reload of
 * [roles] takes effect at once. */
#define CALLER_TTL_MS 2000
#define CALLERS_KEPT  8

typedef struct {
    uid_t uid;
    int64_t at_ms;             /* 0: the slot is free */
    char name[64];
    char *groups[GROUPS_MAX];
    size_t n_groups;
} known_caller_t;

static known_caller_t known[CALLERS_KEPT];

static void forget (known_caller_t *k)
{
    for (size_t i = 0; i < k->n_groups; i++)
        free (k->groups[i]);
    memset (k, 0, sizeof *k);
}

static void look_up (known_caller_t *k, uid_t uid, int64_t now)
{
    struct passwd pw, *pwp = NULL;
    char buf[4096];
    forget (k);
    k->uid = uid;
    k->at_ms = now;
    if (getpwuid_r (uid, &pw, buf, sizeof buf, &pwp) != 0 || !pwp)
        return;
    snprintf (k->name, sizeof k->name, "%s", pwp->pw_name);
    gid_t gids[GROUPS_MAX];
    int n = GROUPS_MAX;
    if (getgrouplist (pwp->pw_name, pwp->pw_gid, gids, &n) < 0)
        n = GROUPS_MAX;   /* more than we keep: the first ones */
    for (int i = 0; i < n && k->n_groups < GROUPS_MAX; i++) {
        struct group gr, *grp = NULL;
        char gbuf[4096];
        if (getgrgid_r (gids[i], &gr, gbuf, sizeof gbuf, &grp) == 0 && grp
            && (k->groups[k->n_groups] = strdup (grp->gr_name)))
            k->n_groups++;
    }
}

static const known_caller_t *caller_of (uid_t uid)
{
    int64_t now = mono_ms ();
    known_caller_t *oldest = &known[0];
    for (size_t i = 0; i < CALLERS_KEPT; i++) {
        known_caller_t *k = &known[i];
        if (k->at_ms && k->uid == uid && now - k->at_ms < CALLER_TTL_MS)
            return k;
        if (k->at_ms < oldest->at_ms)
            oldest = k;
    }
    look_up (oldest, uid, now);
    return oldest;
}

void access_caller (xf_node_t *node, uid_t uid, access_caller_t *c)
{
    const known_caller_t *k = caller_of (uid);
    memset (c, 0, sizeof *c);
    c->op.uid = (uint32_t) uid;
    c->op.name = c->name;
    c->op.groups = (const char *const *) c->group_names;
    memcpy (c->name, k->name, sizeof c->name);
    for (size_t i = 0; i < k->n_groups; i++)
        if ((c->group_names[c->op.n_groups] = strdup (k->groups[i])))
            c->op.n_groups++;
    c->role = xf_access_role (node->access, &c->op);
}

void access_caller_clear (access_caller_t *c)
{
    for (size_t i = 0; i < c->op.n_groups; i++)
        free (c->group_names[i]);
    c->op.n_groups = 0;
}

/* "uid 1001 (zhangsan)" */
static const char *who_text (const access_caller_t *c, char *buf, size_t size)
{
    if (*c->name)
        snprintf (buf, size, "uid %u (%s)", (unsigned) c->op.uid, c->name);
    else
        snprintf (buf, size, "uid %u", (unsigned) c->op.uid);
    return buf;
}

typedef struct {
    const char *id;
    uint32_t uid;
} recused_t;

/* Whether a case.recuse request names the caller (no operator: yourself). */
static bool recuses_self (const access_caller_t *c, const json_t *args)
{
    const char *who = json_string_value (json_object_get (args, "operator"));
    if (!who)
        return true;
    char uid[16];
    snprintf (uid, sizeof uid, "%u", (unsigned) c->op.uid);
    return strcmp (who, uid) == 0 || (*c->name && strcmp (who, c->name) == 0);
}

typedef struct {
    xf_node_t *node;
    const access_caller_t *c;
    const json_t *args;
    const char *recused;      /* the first case the caller is recused from */
} named_t;

/* Whether the caller is recused from `id`; config first, then the store. */
static int check_named (named_t *n, xf_txn_t *txn, const char *id, xf_err_t *err)
{
    if (!id || n->recused)
        return XF_OK;
    bool recused = xf_access_recused_by_config (n->node->access, &n->c->op, id);
    int rc = recused ? XF_OK : xf_access_recused (txn, id, n->c->op.uid, &recused, err);
    if (rc == XF_OK && recused)
        n->recused = id;
    return rc;
}

/* One read transaction for every case the request names ("id", "ids"), not one per case. */
static int named_txn (xf_txn_t *txn, void *arg, xf_err_t *err)
{
    named_t *n = arg;
    int rc = check_named (n, txn, json_string_value (json_object_get (n->args, "id")), err);
    json_t *ids = json_object_get (n->args, "ids"), *v;
    size_t i;
    json_array_foreach (ids, i, v) {
        if (rc == XF_OK)
            rc = check_named (n, txn, json_string_value (v), err);
    }
    return rc;
}

static int refuse_recused (xf_node_t *node, const access_caller_t *c, const json_t *args,
                           xf_err_t *err)
{
    char w[96];
    named_t n = {node, c, args, NULL};
    xf_err_t why = {0};
    if (!json_is_string (json_object_get (args, "id"))
        && !json_is_array (json_object_get (args, "ids")))
        return XF_OK;
    if (xf_store_read (node->store, named_txn, &n, &why) != XF_OK) {
        log_error ("recusals unreadable (%s); refused to be safe", why.msg);
        return xf_err_set (err, XF_EPERM, "the recusals (回避) of %s cannot be read (%s): "
                           "refused to be safe", who_text (c, w, sizeof w), why.msg);
    }
    if (!n.recused)
        return XF_OK;
    return xf_err_set (err, XF_EPERM, "%s is recused from case %s (回避): it can neither read nor "
                       "act on it", who_text (c, w, sizeof w), n.recused);
}

int access_allow (xf_node_t *node, const access_caller_t *c, const char *command,
                  const json_t *args, xf_err_t *err)
{
    xf_role_t needed = xf_access_needed (command);
    char w[96];
    if (strcmp (command, "case.recuse") == 0 && recuses_self (c, args))
        needed = XF_ROLE_VIEWER;   /* anyone may declare their own relation to a case */
    if (c->role < needed)
        return xf_err_set (err, XF_EPERM, "%s needs the role %s; %s has %s%s", command,
                           xf_role_name (needed), who_text (c, w, sizeof w),
                           c->role ? "the role " : "", c->role ? xf_role_name (c->role)
                                                               : "no role in [roles]");
    /* the audit log names cases, it does not show them: an auditor checks a recused case too */
    if (strcmp (command, "case.recuse") == 0 || strncmp (command, "audit.", 6) == 0)
        return XF_OK;
    return refuse_recused (node, c, args, err);
}

typedef struct {
    xf_node_t *node;
    const access_caller_t *c;
    json_t *cases;
} filter_t;

/* One read transaction for the whole list, not one per case. */
static int filter_txn (xf_txn_t *txn, void *arg, xf_err_t *err)
{
    filter_t *f = arg;
    for (size_t i = json_array_size (f->cases); i-- > 0;) {
        const char *id = json_string_value (json_object_get (json_array_get (f->cases, i), "id"));
        if (!id)
            continue;
        bool recused = xf_access_recused_by_config (f->node->access, &f->c->op, id);
        int rc = recused ? XF_OK : xf_access_recused (txn, id, f->c->op.uid, &recused, err);
        if (rc != XF_OK)
            return rc;
        if (recused)
            json_array_remove (f->cases, i);
    }
    return XF_OK;
}

void access_filter (xf_node_t *node, const access_caller_t *c, const char *command, json_t *result)
{
    filter_t f = {node, c, json_object_get (result, "cases")};
    xf_err_t err = {0};
    if (strcmp (command, "case.list") != 0 || !json_is_array (f.cases))
        return;
    if (xf_store_read (node->store, filter_txn, &f, &err) != XF_OK) {
        log_error ("case list: recusals unreadable (%s); nothing listed, to be safe", err.msg);
        json_array_clear (f.cases);
    }
}

/* ---------------------------------------------------------------- case.recuse */

static int recuse_txn (xf_txn_t *txn, void *arg, xf_err_t *err)
{
    recused_t *r = arg;
    return xf_access_recuse (txn, r->id, r->uid, err);
}

/* The uid an operator argument names: digits, or a user name the system knows. */
static int operator_uid (const char *who, uid_t self, uint32_t *uid, xf_err_t *err)
{
    struct passwd pw, *pwp = NULL;
    char buf[4096], *end;
    if (!who) {
        *uid = (uint32_t) self;
        return XF_OK;
    }
    unsigned long n = strtoul (who, &end, 10);
    if (*who && !*end && n <= UINT32_MAX) {
        *uid = (uint32_t) n;
        return XF_OK;
    }
    if (getpwnam_r (who, &pw, buf, sizeof buf, &pwp) != 0 || !pwp)
        return xf_err_set (err, XF_ENOTFOUND, "there is no user \"%.64s\" on this machine: name "
                           "the operator by user name or uid", who);
    *uid = (uint32_t) pwp->pw_uid;
    return XF_OK;
}

json_t *cmd_recuse (xf_node_t *node, uid_t uid, const json_t *args, xf_err_t *err)
{
    const char *id = json_string_value (json_object_get (args, "id"));
    const char *who = json_string_value (json_object_get (args, "operator"));
    recused_t r = {id, 0};
    if (!id) {
        xf_err_set (err, XF_EINVAL, "argument \"id\" is required");
        return NULL;
    }
    if (operator_uid (who, uid, &r.uid, err) != XF_OK
        || xf_store_write (node->store, recuse_txn, &r, err) != XF_OK)
        return NULL;
    log_info ("uid %u recused from case %s (回避), recorded by uid %u", (unsigned) r.uid, id,
              (unsigned) uid);
    return json_pack ("{s:s,s:I,s:I}", "id", id, "uid", (json_int_t) r.uid, "recorded_by",
                      (json_int_t) uid);
}
