/* xf_access.c — roles and recusal (xf_access.h): the configuration's member lists, the table
 * of what each control command needs, and the recusals recorded in the store. */
#include "xf_access.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "xf_case.h"
#include "xf_msg.h"
#include "xf_text.h"

#define NAME_MAX_ 64

typedef struct {
    char case_id[XF_CASE_ID_MAX];
    char who[NAME_MAX_];   /* user name or uid */
} recusal_t;

struct xf_access {
    bool has_roles;
    char **members[XF_ROLE_COUNT];
    size_t n_members[XF_ROLE_COUNT];
    recusal_t *recusals;
    size_t n_recusals;
};

static const char *const ROLE_NAMES[XF_ROLE_COUNT] = {"none", "viewer", "clerk", "leader", "admin"};

const char *xf_role_name (xf_role_t r)
{
    return r < XF_ROLE_COUNT ? ROLE_NAMES[r] : "none";
}

/* ---------------------------------------------------------------- the command table */

static const struct {
    const char *command;
    xf_role_t role;
} NEEDED[] = {
    {"status", XF_ROLE_VIEWER},        {"topology", XF_ROLE_VIEWER},
    {"case.show", XF_ROLE_VIEWER},
    {"case.history", XF_ROLE_VIEWER},  {"case.list", XF_ROLE_VIEWER},
    {"case.lookup", XF_ROLE_VIEWER},   {"stats", XF_ROLE_VIEWER},
    {"stats.score", XF_ROLE_VIEWER},   {"cert.show", XF_ROLE_VIEWER},
    {"clock.show", XF_ROLE_VIEWER},    {"metrics", XF_ROLE_VIEWER},
    {"case.register", XF_ROLE_CLERK},  {"case.import", XF_ROLE_CLERK},
    {"case.accept", XF_ROLE_CLERK},    {"case.reject", XF_ROLE_CLERK},
    {"case.escalate", XF_ROLE_CLERK},  {"case.report", XF_ROLE_CLERK},
    {"case.review", XF_ROLE_CLERK},
    {"case.assign", XF_ROLE_LEADER},   {"case.transfer", XF_ROLE_LEADER},
    {"case.urge", XF_ROLE_LEADER},     {"case.extend", XF_ROLE_LEADER},
    {"case.send_back", XF_ROLE_LEADER}, {"case.close", XF_ROLE_LEADER},
    {"case.recuse", XF_ROLE_LEADER},
    {"cert.issue", XF_ROLE_ADMIN},     {"cert.revoke", XF_ROLE_ADMIN},
    {"clock.set", XF_ROLE_ADMIN},
    {"reconcile", XF_ROLE_ADMIN},      {"audit.verify", XF_ROLE_ADMIN},
    {"audit.show", XF_ROLE_ADMIN},     {"backup", XF_ROLE_ADMIN},
    {"backup.status", XF_ROLE_ADMIN},
};

xf_role_t xf_access_needed (const char *command)
{
    for (size_t i = 0; i < sizeof NEEDED / sizeof *NEEDED; i++)
        if (strcmp (NEEDED[i].command, command) == 0)
            return NEEDED[i].role;
    return XF_ROLE_ADMIN;
}

/* ---------------------------------------------------------------- parsing */


static bool all_digits (const char *s)
{
    if (!*s)
        return false;
    for (; *s; s++)
        if (!isdigit ((unsigned char) *s))
            return false;
    return true;
}

/* A user or group name as useradd accepts them; or a uid. */
static bool valid_name (const char *s)
{
    size_t n = strlen (s);
    if (n == 0 || n >= NAME_MAX_)
        return false;
    if (all_digits (s))
        return n <= 10;
    if (!(islower ((unsigned char) *s) || *s == '_'))
        return false;
    for (const char *p = s; *p; p++)
        if (!(islower ((unsigned char) *p) || isdigit ((unsigned char) *p) || *p == '_'
              || *p == '-' || (*p == '$' && p[1] == 0)))
            return false;
    return true;
}

/* Calls fn on each trimmed item of a comma-separated list; stops at the first error. */
static int each_item (const char *list, int (*fn) (char *item, void *arg, xf_err_t *err),
                      void *arg, xf_err_t *err)
{
    char *copy = strdup (list ? list : ""), *next = copy;
    if (!copy)
        return xf_err_set (err, XF_ENOMEM, "out of memory");
    int rc = XF_OK;
    while (rc == XF_OK && next) {
        char *item = xf_trim (strsep (&next, ","));
        rc = *item ? fn (item, arg, err)
                   : xf_err_set (err, XF_EINVAL, "an empty item in \"%.80s\"", list);
    }
    free (copy);
    return rc;
}

static int check_member (char *item, void *arg, xf_err_t *err)
{
    (void) arg;
    const char *name = item[0] == '@' ? item + 1 : item;
    if (!valid_name (name))
        return xf_err_set (err, XF_EINVAL, "\"%.80s\" is not a user name, a uid or an @group",
                           item);
    return XF_OK;
}

static int split_recusal (char *item, recusal_t *out, xf_err_t *err)
{
    char *colon = strrchr (item, ':');
    if (!colon)
        return xf_err_set (err, XF_EINVAL, "\"%.80s\" is not CASE_ID:OPERATOR (e.g. "
                           "411324-2026-000001:zhangsan)", item);
    *colon = 0;
    char *id = xf_trim (item), *who = xf_trim (colon + 1);
    if (!xf_msg_case_id_valid (id))
        return xf_err_set (err, XF_EINVAL, "\"%.80s\" is not a case id (e.g. 411324-2026-000001)", id);
    if (!valid_name (who))
        return xf_err_set (err, XF_EINVAL, "\"%.80s\" is not a user name or a uid", who);
    if (out) {
        snprintf (out->case_id, sizeof out->case_id, "%s", id);
        snprintf (out->who, sizeof out->who, "%s", who);
    }
    return XF_OK;
}

static int check_recusal (char *item, void *arg, xf_err_t *err)
{
    (void) arg;
    return split_recusal (item, NULL, err);
}

int xf_access_check_members (const char *list, xf_err_t *err)
{
    return each_item (list, check_member, NULL, err);
}

int xf_access_check_recusals (const char *list, xf_err_t *err)
{
    return each_item (list, check_recusal, NULL, err);
}

typedef struct {
    xf_access_t *a;
    xf_role_t role;
} adding_t;

static int add_member (char *item, void *arg, xf_err_t *err)
{
    adding_t *ad = arg;
    int rc = check_member (item, NULL, err);
    if (rc != XF_OK)
        return rc;
    size_t *n = &ad->a->n_members[ad->role];
    char **grown = realloc (ad->a->members[ad->role], (*n + 1) * sizeof *grown);
    if (!grown)
        return xf_err_set (err, XF_ENOMEM, "out of memory");
    ad->a->members[ad->role] = grown;
    if (!(grown[*n] = strdup (item)))
        return xf_err_set (err, XF_ENOMEM, "out of memory");
    (*n)++;
    return XF_OK;
}

static int add_recusal (char *item, void *arg, xf_err_t *err)
{
    xf_access_t *a = arg;
    recusal_t r;
    int rc = split_recusal (item, &r, err);
    if (rc != XF_OK)
        return rc;
    recusal_t *grown = realloc (a->recusals, (a->n_recusals + 1) * sizeof *grown);
    if (!grown)
        return xf_err_set (err, XF_ENOMEM, "out of memory");
    a->recusals = grown;
    a->recusals[a->n_recusals++] = r;
    return XF_OK;
}

xf_access_t *xf_access_new (bool has_roles, const char *const members[XF_ROLE_COUNT],
                            const char *recusals, xf_err_t *err)
{
    xf_access_t *a = calloc (1, sizeof *a);
    if (!a) {
        xf_err_set (err, XF_ENOMEM, "out of memory");
        return NULL;
    }
    a->has_roles = has_roles;
    int rc = XF_OK;
    for (xf_role_t r = XF_ROLE_VIEWER; rc == XF_OK && has_roles && r < XF_ROLE_COUNT; r++)
        if (members && members[r]) {
            adding_t ad = {a, r};
            if ((rc = each_item (members[r], add_member, &ad, err)) != XF_OK)
                xf_err_prefix (err, "[roles] %s", xf_role_name (r));
        }
    if (rc == XF_OK && recusals && (rc = each_item (recusals, add_recusal, a, err)) != XF_OK)
        xf_err_prefix (err, "[recusal] cases");
    if (rc != XF_OK)
        xf_access_destroy (&a);
    return a;
}

void xf_access_destroy (xf_access_t **a_p)
{
    xf_access_t *a = a_p ? *a_p : NULL;
    if (!a)
        return;
    for (int r = 0; r < XF_ROLE_COUNT; r++) {
        for (size_t i = 0; i < a->n_members[r]; i++)
            free (a->members[r][i]);
        free (a->members[r]);
    }
    free (a->recusals);
    free (a);
    *a_p = NULL;
}

/* ---------------------------------------------------------------- matching */

bool xf_access_has_roles (const xf_access_t *a)
{
    return a && a->has_roles;
}

/* Whether who (a user name or uid) names the operator. */
static bool names_user (const char *who, const xf_operator_t *op)
{
    if (all_digits (who))
        return strtoul (who, NULL, 10) == op->uid;
    return op->name && strcmp (who, op->name) == 0;
}

static bool is_member (const char *member, const xf_operator_t *op)
{
    if (member[0] != '@')
        return names_user (member, op);
    for (size_t i = 0; i < op->n_groups; i++)
        if (op->groups[i] && strcmp (member + 1, op->groups[i]) == 0)
            return true;
    return false;
}

xf_role_t xf_access_role (const xf_access_t *a, const xf_operator_t *op)
{
    if (!xf_access_has_roles (a))
        return XF_ROLE_ADMIN;
    for (int r = XF_ROLE_ADMIN; r > XF_ROLE_NONE; r--)
        for (size_t i = 0; i < a->n_members[r]; i++)
            if (is_member (a->members[r][i], op))
                return (xf_role_t) r;
    return XF_ROLE_NONE;
}

bool xf_access_recused_by_config (const xf_access_t *a, const xf_operator_t *op,
                                  const char *case_id)
{
    for (size_t i = 0; a && i < a->n_recusals; i++)
        if (strcmp (a->recusals[i].case_id, case_id) == 0 && names_user (a->recusals[i].who, op))
            return true;
    return false;
}

/* ---------------------------------------------------------------- recusals in the store */

#define RECUSE_PREFIX "recuse/"
#define RECUSE_KEY_MAX (sizeof RECUSE_PREFIX - 1 + 4 + XF_CASE_ID_MAX)

static size_t recuse_key (uint8_t *key, uint32_t uid, const char *case_id)
{
    size_t p = sizeof RECUSE_PREFIX - 1, n = strlen (case_id);
    memcpy (key, RECUSE_PREFIX, p);
    xf_be32_put (key + p, uid);
    memcpy (key + p + 4, case_id, n);
    return p + 4 + n;
}

int xf_access_recuse (xf_txn_t *txn, const char *case_id, uint32_t uid, xf_err_t *err)
{
    uint8_t key[RECUSE_KEY_MAX];
    if (!xf_msg_case_id_valid (case_id))
        return xf_err_set (err, XF_EINVAL, "\"%.80s\" is not a case id", case_id);
    int rc = xf_txn_insert (txn, XF_DB_META, key, recuse_key (key, uid, case_id), "", 0, err);
    if (rc == XF_EEXIST)
        return xf_err_set (err, XF_EEXIST, "uid %u is already recused from case %s", (unsigned) uid,
                           case_id);
    return rc;
}

int xf_access_recused (xf_txn_t *txn, const char *case_id, uint32_t uid, bool *out, xf_err_t *err)
{
    uint8_t key[RECUSE_KEY_MAX];
    const void *v;
    size_t len;
    *out = false;
    if (strlen (case_id) >= XF_CASE_ID_MAX)
        return XF_OK;
    int rc = xf_txn_get (txn, XF_DB_META, key, recuse_key (key, uid, case_id), &v, &len, err);
    *out = rc == XF_OK;
    return rc == XF_ENOTFOUND ? XF_OK : rc;
}
