/* xf_access.h — who may do what at an office: operators (by uid, user name or group, as the
 * control socket's SO_PEERCRED tells them) mapped to the roles of the [roles] configuration,
 * the role each control command needs, and recusal (回避): an operator related to a case can
 * neither read nor act on it, by the configuration or by `xfctl case recuse`.
 *
 * Roles are ordered; each includes the ones before it:
 *   viewer  reads cases, history, lists, statistics, certificates
 *   clerk   registers, imports, accepts or rejects, escalates, reports results, files review
 *           requests
 *   leader  assigns, transfers, urges, extends, sends back, closes, recuses others
 *   admin   issues certificates, sets the clock, reconciles, reads and verifies the audit log,
 *           makes backups
 * Without [roles] every operator who can open the control socket is an admin (the socket's
 * mode and group are then the only gate). */
#ifndef XF_ACCESS_H
#define XF_ACCESS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "xf_err.h"
#include "xf_store.h"

typedef enum {
    XF_ROLE_NONE = 0,
    XF_ROLE_VIEWER,
    XF_ROLE_CLERK,
    XF_ROLE_LEADER,
    XF_ROLE_ADMIN,
    XF_ROLE_COUNT
} xf_role_t;

/* "none", "viewer", "clerk", "leader", "admin". */
const char *xf_role_name (xf_role_t r);

/* The operator on the other end of the control socket. */
typedef struct {
    uint32_t uid;
    const char *name;             /* user name ("" when the uid has none) */
    const char *const *groups;    /* names of the groups the user is in */
    size_t n_groups;
} xf_operator_t;

typedef struct xf_access xf_access_t;

/* members[r] (r = XF_ROLE_VIEWER .. XF_ROLE_ADMIN; NULL or absent: nobody) is a comma-separated
 * list of user names, numeric uids and @group names; with has_roles false every operator is an
 * admin. recusals (NULL: none) is a comma-separated list of CASE_ID:OPERATOR (user name or
 * uid). XF_EINVAL naming the bad item. */
xf_access_t *xf_access_new (bool has_roles, const char *const members[XF_ROLE_COUNT],
                            const char *recusals, xf_err_t *err);
void xf_access_destroy (xf_access_t **a_p);

/* The checks xf_access_new does, for the configuration file's messages. */
int xf_access_check_members (const char *list, xf_err_t *err);
int xf_access_check_recusals (const char *list, xf_err_t *err);

bool      xf_access_has_roles (const xf_access_t *a);
/* The highest role any of the operator's uid, name or groups is given (XF_ROLE_NONE: none). */
xf_role_t xf_access_role (const xf_access_t *a, const xf_operator_t *op);

/* The role a control command needs; XF_ROLE_ADMIN for a command this table does not know. */
xf_role_t xf_access_needed (const char *command);

/* Whether the configuration recuses the operator from case_id. */
bool xf_access_recused_by_config (const xf_access_t *a, const xf_operator_t *op,
                                  const char *case_id);

/* ---------------------------------------------------------------- recusals in the store */

/* Records (inside the caller's transaction) that uid is recused from case_id; XF_EEXIST when
 * it is already. */
int xf_access_recuse (xf_txn_t *txn, const char *case_id, uint32_t uid, xf_err_t *err);
/* *out: whether uid is recused from case_id by a stored recusal. */
int xf_access_recused (xf_txn_t *txn, const char *case_id, uint32_t uid, bool *out, xf_err_t *err);

#endif
