/* node.h — the state one xfsyncd process holds, shared by the loop, the control socket and
 * the command handlers. */
#ifndef XF_NODE_H
#define XF_NODE_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>
#include "control.h"
#include "xf_access.h"
#include "xf_conf.h"
#include "xf_office.h"
#include "xf_store.h"
#include "xf_trust.h"

typedef struct xf_node {
    xf_conf_t *conf;
    xf_store_t *store;
    xf_office_t *office;
    xf_control_t *control;
    char public_key[41];      /* Z85 CURVE public key derived from key_file */
    char secret_key[41];      /* Z85 CURVE secret key from key_file */
    struct xf_links *links;   /* the parent and child links (link.c) */
    struct xf_trust *trust;   /* [trust]: certificates and signatures (trust.c); NULL without */
    int64_t clock_offset;     /* node clock = system clock + offset ([debug] clock_control) */
    int64_t started;
    bool stopping;
    bool deadlines_dirty;     /* run the deadline scan at the next loop turn */
    uint64_t stale_readers_told;   /* stale reader slots cleared and logged so far */
    int data_lock_fd;         /* flock on data_dir/xfsyncd.lock: one node per store (-1: none) */
    struct xf_access *access; /* [roles] and [recusal] (access.c) */
    struct trust_children *children;   /* [trust]: what children are admitted by */
    struct trust_revocations *revocations;   /* [trust]: certificates revoked in the tree */
    const char *role;         /* the role of the operator whose request runs now */
    int request_fd;           /* a descriptor the request came with (-1: none); a command that
                               * keeps it sets this to -1 */
    struct metrics_http *metrics_http;       /* [metrics] listen (metrics_http.c); NULL: off */
    uint64_t control_ok, control_refused;    /* control requests answered, by result (metrics) */
    int64_t next_trim_ms;     /* memory.c: when to look at the anonymous memory next */
    size_t anon_mark;         /* memory.c: anonymous bytes after the last trim or first look */
    uint64_t heap_trims, heap_trimmed;   /* freed heap handed back: times, bytes (metrics) */
} xf_node_t;

/* Milliseconds of the monotonic clock: timers and deadlines, never shown. */
static inline int64_t mono_ms (void)
{
    struct timespec ts;
    clock_gettime (CLOCK_MONOTONIC, &ts);
    return (int64_t) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* The case rules of the configuration ([deadlines], [report]), for xf_office_new. */
static inline xf_limits_t node_limits (const xf_conf_t *cf)
{
    return (xf_limits_t) {.accept_days = cf->accept_days, .handle_days = cf->handle_days,
                          .max_extension_days = cf->max_extension_days,
                          .urge_before_days = cf->urge_before_days,
                          .urge_every_days = cf->urge_every_days,
                          .required_items = (const char *const *) cf->required_items,
                          .n_required_items = cf->n_required_items};
}

/* The node clock, unix seconds. */
int64_t node_now (const xf_node_t *node);

/* Executes one control request from operator uid; returns the response object. */
json_t *commands_execute (xf_node_t *node, uid_t uid, const json_t *request);

/* ---- link.c: the links to the parent and the children */
typedef struct xf_links xf_links_t;
/* Starts the ZAP handler first, then binds the children's ROUTER and connects to the parent,
 * so that no CURVE client is ever admitted without the handler (fail closed). */
xf_links_t *links_new (xf_node_t *node, char *errbuf, size_t errlen);
void        links_destroy (xf_links_t **links_p);
/* The sockets to poll; returns how many items were written (at most max). */
size_t links_poll_set (xf_links_t *l, void *items, size_t max);
/* After the poll: receives what is readable, applies it in one transaction, sends what is due. */
void links_work (xf_links_t *l);
/* Something every neighbour must hear now (a revocation): a hello to each link that is up. */
void links_rehello (xf_links_t *l);
/* New envelopes were queued by a command: pick up the positions and send. */
void links_queued (xf_links_t *l);
/* Timers: liveness, hellos, keepalives. */
void links_tick (xf_links_t *l);
/* For commands that send: the routes and limits. */
xf_net_t links_net (const xf_links_t *l);
/* The `links` array of `status`. */
json_t *links_status (xf_links_t *l);
/* The tree as this node sees it (xfctl topology). */
json_t *links_topology (xf_links_t *l);
/* {"refused_keys","unknown_frames"}: what was turned away before it belonged to any link. */
json_t *links_refusals (const xf_links_t *l);

/* ---- trust.c: [trust] */
/* Loads and checks this office's certificate and key (nothing to do without [trust]); takes
 * the parent's CURVE key from the certificate above. -1 with errbuf saying why. */
int     trust_open (xf_node_t *node, char *errbuf, size_t errlen);
/* At start, once: the identities kept in clear from before [trust] sealed (a reload cannot turn
 * [trust] on, so it need not look at every case again). -1 with errbuf. */
int     trust_seal_held (xf_node_t *node, char *errbuf, size_t errlen);
/* Learns the office certificates a peer's hello carried and stores the new ones. */
void    trust_learn (xf_node_t *node, const char *peer, const ProtobufCBinaryData *ders, size_t n);
/* The `trust` object of `status`. */
json_t *trust_status (xf_node_t *node);
/* Control command cert.show. */
json_t *cmd_cert_show (xf_node_t *node, uid_t uid, const json_t *args, xf_err_t *err);

/* ---- trust_children.c: the certificates children are admitted by */
/* Loads the [child] certificate files and those issued here (the store); -1 with errbuf. */
int     trust_children_open (xf_node_t *node, char *errbuf, size_t errlen);
void    trust_children_close (xf_node_t *node);
/* 0 and *code when a certificate issued to a configured child names CURVE key `key` and is
 * valid now (not expired, not revoked); else -1, why saying what refused the key's
 * certificate ("" when no certificate names it). */
int     trust_admit (xf_node_t *node, const uint8_t key[32], char code[16], char *why, size_t size);
/* [{code, serial, fingerprint, not_after, revoked}] of those certificates. */
json_t *trust_children_json (xf_node_t *node);
/* The certificate issued to a child with this serial or fingerprint (either may be NULL). */
const xf_cert_info_t *trust_children_find (xf_node_t *node, const char *serial, const char *fp);
json_t *cmd_cert_issue (xf_node_t *node, uid_t uid, const json_t *args, xf_err_t *err);

/* ---- trust_revoke.c: revoked certificates, signed by their issuers, passed on in hellos */
int     trust_revocations_open (xf_node_t *node, char *errbuf, size_t errlen);
void    trust_revocations_close (xf_node_t *node);
/* Every revocation known here (borrowed), for a hello. */
Xf__Revocation **trust_revocations_all (xf_node_t *node, size_t *n);
/* Takes the revocations a peer's hello carried; how many were new here. */
size_t  trust_revocations_take (xf_node_t *node, const char *peer, Xf__Revocation *const *in,
                                size_t n);
json_t *trust_revocations_json (xf_node_t *node);
json_t *cmd_cert_revoke (xf_node_t *node, uid_t uid, const json_t *args, xf_err_t *err);

/* ---- access.c: roles and recusal of the operators on the control socket */
typedef struct {
    xf_operator_t op;
    char name[64];
    char *group_names[64];
    xf_role_t role;
} access_caller_t;
/* Builds the roles and recusals of the config; -1 with errbuf saying why. */
int  access_open (xf_node_t *node, char *errbuf, size_t errlen);
/* Who uid is: its user name, groups and role. Clear it with access_caller_clear. */
void access_caller (xf_node_t *node, uid_t uid, access_caller_t *c);
void access_caller_clear (access_caller_t *c);
/* XF_OK when the caller may run command with args; else XF_EPERM saying which role it needs,
 * or which case the caller is recused from. */
int  access_allow (xf_node_t *node, const access_caller_t *c, const char *command,
                   const json_t *args, xf_err_t *err);
/* Drops from a case.list result the cases the caller is recused from. */
void access_filter (xf_node_t *node, const access_caller_t *c, const char *command, json_t *result);
json_t *cmd_recuse (xf_node_t *node, uid_t uid, const json_t *args, xf_err_t *err);

/* ---- audit.c: the audit log on the control socket */
/* Audits a request that changed no case, or was refused (refused: why; NULL: done). */
void    audit_request (xf_node_t *node, const access_caller_t *c, const char *command,
                       const json_t *args, const xf_err_t *refused);
json_t *cmd_audit_verify (xf_node_t *node, uid_t uid, const json_t *args, xf_err_t *err);
json_t *cmd_audit_show (xf_node_t *node, uid_t uid, const json_t *args, xf_err_t *err);

/* ---- reload.c: the keys, and the configuration read again (SIGHUP) */
/* The node's CURVE key (key_file) into node->secret_key/public_key; -1 with errbuf. */
int  node_keys_load (xf_node_t *node, char *errbuf, size_t errlen);
/* The tree's identity key (identity_key_file), given to the office; -1 with errbuf. */
int  node_identity_load (xf_node_t *node, char *errbuf, size_t errlen);
/* Frees what the configuration made (trust, children's certificates, revocations, roles, the
 * configuration itself) and nulls the pointers: at stop, and for the half of a reload not kept. */
void node_settings_close (xf_node_t *node);
/* Reads node->conf->path again and applies it (children, keys, trust, roles, rules), rebuilding
 * the links; on any failure the running configuration stays and the log says why. 0 or -1. */
int  node_reload (xf_node_t *node);

/* ---- backup.c: xfctl backup (a copy of the store, by a thread) and xfsyncd --restore */
json_t *cmd_backup (xf_node_t *node, uid_t uid, const json_t *args, xf_err_t *err);
json_t *cmd_backup_status (xf_node_t *node, uid_t uid, const json_t *args, xf_err_t *err);
/* Joins a copy that finished (the loop, every turn); backup_stop waits for one (at exit). */
void backup_tick (xf_node_t *node);
void backup_stop (xf_node_t *node);
/* Installs a backup as the store of a node that has none, marked restored; prints what it did.
 * -1 with errbuf saying why (data_dir left as it was). */
int  backup_restore (const xf_conf_t *cf, const char *file, char *errbuf, size_t errlen);
/* Makes data_dir if it is missing and locks it for this process (data_dir/xfsyncd.lock, flock,
 * holding the pid): one node per store, and no restore under a running node (main.c). The
 * descriptor, or -1 with errbuf saying why (naming the running holder's pid). */
int  node_lock_data_dir (const char *data_dir, char *errbuf, size_t errlen);

/* ---- notify.c: sd_notify (READY, STATUS, WATCHDOG, STOPPING) */
void notify_ready (xf_node_t *node);
/* Returns when it wants to be called again (monotonic ms; INT64_MAX: whenever). */
int64_t notify_tick (xf_node_t *node, int64_t now_ms);
void notify_stopping (void);
/* RELOADING=1 before a reload, READY=1 and the STATUS line after it. */
void notify_reloading (void);
void notify_reloaded (xf_node_t *node);

/* Runs the event loop until SIGTERM/SIGINT. Returns the exit status. */
int loop_run (xf_node_t *node);

/* ---- memory.c: freed heap handed back to the system, looked at every 2 s */
void memory_tick (xf_node_t *node, int64_t now_ms);

#endif
