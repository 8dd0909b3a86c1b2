/* xf_office.h — one office's case book: every operator action as one store transaction.
 *
 * Each function loads what it needs, asks xf_case whether the action is allowed, and writes
 * the case, its history event, the statistics counters and the deadline index together, so
 * a crash or a refusal leaves the store exactly as it was. The caller supplies the time
 * (the node clock) and the operator, so that tests can move time and nothing here reads a
 * clock or a socket. */
#ifndef XF_OFFICE_H
#define XF_OFFICE_H

#include <jansson.h>
#include <stdbool.h>
#include "xf_case.h"
#include "xf_route.h"
#include "xf_stats.h"
#include "xf_store.h"
#include "xf_audit.h"
#include "xf_trust.h"

typedef struct xf_office xf_office_t;

#define XF_OFFICE_CODE_LEN 16   /* room for an office code and its NUL */

typedef struct {
    int64_t now;       /* node clock, unix seconds */
    uint32_t uid;      /* operator (SO_PEERCRED), 0 for the node itself */
    const char *role;  /* the operator's role, for the audit log; XF_ACTOR_NODE for the node
                        * itself (the deadline scanner, automatic urges); NULL: not known */
} xf_actor_t;

#define XF_ACTOR_NODE "node"

/* store is borrowed and must outlive the office. */
xf_office_t *xf_office_new (xf_store_t *store, const char *code, const xf_limits_t *lim,
                            xf_err_t *err);
void         xf_office_destroy (xf_office_t **office_p);
const char  *xf_office_code (const xf_office_t *o);

/* The tree's identity key (32 bytes, the same at every office): petitioner identities are
 * compared, and told to the offices above, as HMAC-SHA256 under it. Without it they are
 * compared at this office only and never leave it. */
int xf_office_set_identity_key (xf_office_t *o, const uint8_t *key, size_t len, xf_err_t *err);

/* End-to-end trust (lib/xf_trust.h, borrowed; NULL: none). With it, every envelope this office
 * originates is signed, and an envelope addressed here is applied only if its origin signed it
 * (one that fails is refused, logged by the caller and counted: xf_office_forged). */
void xf_office_set_trust (xf_office_t *o, xf_trust_t *trust);
/* Envelopes addressed here refused for their signature since the store was made. */
int xf_office_forged (xf_office_t *o, uint64_t *n, xf_err_t *err);
/* The audit log (lib/xf_audit.h): its hash follows the profile (standard by default). Every
 * event recorded here and every envelope addressed here is audited in its own transaction;
 * note records an operator action that changes no case (in a transaction of its own). */
void    xf_office_set_audit_profile (xf_office_t *o, xf_profile_t p);
int     xf_office_audit_note (xf_office_t *o, const xf_actor_t *who, const char *action,
                              const char *case_id, const char *detail, xf_err_t *err);
int     xf_office_audit_verify (xf_office_t *o, xf_audit_report_t *out, xf_err_t *err);
/* The records f selects (a JSON array, the caller's). */
json_t *xf_office_audit_show (xf_office_t *o, const xf_audit_filter_t *f, xf_err_t *err);

/* With trust: the identities this store kept in clear (cases from before [trust]) sealed to
 * this office where it registered or handles the case, and dropped where it is not entitled to
 * them; how many of each. Nothing to do without trust. */
int xf_office_seal_held (xf_office_t *o, size_t *sealed, size_t *dropped, xf_err_t *err);
/* The petitioner's identity of c opened into c->petitioner when it is sealed to this office
 * (nothing to do otherwise: not entitled, not sealed, or no trust). */
int xf_office_unseal (xf_office_t *o, xf_case_t *c, xf_err_t *err);

/* Registers c (registration fields filled, e.g. by xf_case_from_json). On success c holds
 * the registered case, including its new id. */
int xf_office_register (xf_office_t *o, const xf_actor_t *who, xf_case_t *c, xf_err_t *err);

/* Registers n cases in one transaction: all or none. On a refusal *bad is the index of the
 * case at fault. With dry_run nothing is written (validation only); otherwise each case
 * holds its registered record (and id) afterwards. */
int xf_office_register_batch (xf_office_t *o, const xf_actor_t *who, xf_case_t **cases, size_t n,
                              bool dry_run, size_t *bad, xf_err_t *err);

int xf_office_accept (xf_office_t *o, const xf_actor_t *who, const char *id, bool file,
                      xf_err_t *err);
int xf_office_reject (xf_office_t *o, const xf_actor_t *who, const char *id, const char *reason,
                      xf_err_t *err);
int xf_office_extend (xf_office_t *o, const xf_actor_t *who, const char *id, int days,
                      const char *reason, xf_err_t *err);
int xf_office_close (xf_office_t *o, const xf_actor_t *who, const char *id, const char *reply,
                     xf_err_t *err);

/* The case (caller destroys), or NULL with XF_ENOTFOUND. */
xf_case_t *xf_office_get (xf_office_t *o, const char *id, xf_err_t *err);
/* {"events":[…]} */
json_t *xf_office_history (xf_office_t *o, const char *id, xf_err_t *err);

typedef struct {
    int status;              /* 0 = any */
    const char *owner;       /* NULL = any */
    bool overdue;            /* only cases past their stage's deadline */
    size_t limit;            /* 0 = 100 */
} xf_case_filter_t;
/* {"cases":[…]} newest first; with f->overdue, this office's own cases past their deadline,
 * most overdue first, then the cases it supervises elsewhere that are late or marked for
 * on-site supervision (坐催). */
json_t *xf_office_list (xf_office_t *o, const xf_case_filter_t *f, xf_day_t today, xf_err_t *err);

/* The figures of [first, last], read from the counters. */
int xf_office_stats (xf_office_t *o, xf_day_t first, xf_day_t last, xf_figures_t *out,
                     xf_err_t *err);

/* The `stats` report of INTERFACE.md for this office alone: totals with exact shares, one
 * row, the months of the period, and the same period a year earlier ("compare"). */
int xf_office_stats_report (xf_office_t *o, const xf_period_t *p, int64_t now, json_t **out,
                            xf_err_t *err);

/* A consolidated report (月统计、季分析): asks every child for its subtree's figures of p,
 * to answer within budget_ms; *id names the pull. A child that has not answered when the
 * time is up is filled from the monthly snapshots it sent, or named missing. */
int xf_office_pull (xf_office_t *o, const xf_period_t *p, int64_t now, uint32_t budget_ms,
                    uint64_t *id, xf_err_t *err);
/* The report of pull id once every child answered or the time is up (then the pull is
 * forgotten); *out NULL and *wait_ms the time left while it is still gathering. XF_ENOTFOUND
 * for an unknown id (a restart forgets pulls). */
/* How many of the children asked by pull id have answered (0 of 0 when it is unknown). */
void xf_office_pull_progress (xf_office_t *o, uint64_t id, size_t *answered, size_t *expected);
int xf_office_pull_report (xf_office_t *o, uint64_t id, int64_t now, json_t **out,
                           int64_t *wait_ms, xf_err_t *err);
/* Ends the pulls whose time is up, answering the offices that asked for them; *sent (may be
 * NULL) gets the replies sent. Call often (every link tick). */
int xf_office_pulls_tick (xf_office_t *o, int64_t now, size_t *sent, xf_err_t *err);
/* Monthly snapshots (DESIGN §4): for each of the last three closed months, and any month a
 * child re-sent, this office's own and subtree figures go to the parent when they differ
 * from what it last sent. *sent (may be NULL) gets how many went. */
int xf_office_snapshot_tick (xf_office_t *o, int64_t now, size_t *sent, xf_err_t *err);
/* How many children's monthly snapshots are stored here. */
int xf_office_snapshot_count (xf_office_t *o, size_t *n, xf_err_t *err);
/* Whether a child's snapshot arrived since the last xf_office_snapshot_tick. */
bool xf_office_snapshots_due (const xf_office_t *o);
/* Replaces the monotonic millisecond clock of the pulls' deadlines (tests). */
void xf_office_set_clock_ms (xf_office_t *o, int64_t (*clock_ms) (void));

/* Marks every case whose stage deadline is before today as overdue (once), recording an
 * event and counting it. *marked (may be NULL) gets how many were marked. */
int xf_office_scan_deadlines (xf_office_t *o, int64_t now, size_t *marked, xf_err_t *err);

typedef struct {
    uint64_t total, by_status[6], overdue;
} xf_case_counts_t;
int xf_office_counts (xf_office_t *o, xf_day_t today, xf_case_counts_t *out, xf_err_t *err);

/* ---------------------------------------------------------------- cases that travel */

/* What the office needs to know of the network: the routes and the outbox limit. */
typedef struct {
    const xf_routes_t *routes;
    uint64_t outbox_limit;     /* envelopes waiting for one peer; 0 = no limit */
} xf_net_t;

/* The network this office sends through (routes stay borrowed). Until it is set, nothing is
 * sent: events are recorded here only. xf_office_move and xf_office_apply set it too. */
void xf_office_set_net (xf_office_t *o, const xf_net_t *net);
/* The case rules of a configuration read again (SIGHUP); lim's strings must outlive the office
 * or the next call. */
void xf_office_set_limits (xf_office_t *o, const xf_limits_t *lim);

/* A case leaving this office (xf_case.h: xf_move_t). */
typedef struct {
    xf_move_t kind;
    const char *to;          /* escalate (NULL: the parent), assign, transfer */
    const char *text;        /* the note; the result of a report; the reason of a send-back */
    char *const *items;      /* report: the 七有 items enclosed */
    size_t n_items;
} xf_move_req_t;

/* Moves each case (all or none, in one transaction) and sends the event to the office that
 * takes it over — with the case's history when that office has not held it — and a copy to
 * every office that holds it. The case stays here as a replica. *bad (may be NULL) is the
 * index of the case refused. net NULL: the one already set. */
int xf_office_move (xf_office_t *o, const xf_actor_t *who, const xf_net_t *net,
                    const char *const *ids, size_t n, const xf_move_req_t *m, size_t *bad,
                    xf_err_t *err);

/* 上报 to an office above (to NULL: the parent): xf_office_move with XF_MOVE_ESCALATE. */
int xf_office_escalate (xf_office_t *o, const xf_actor_t *who, const xf_net_t *net,
                        const char *id, const char *to, const char *note, xf_err_t *err);
int xf_office_escalate_many (xf_office_t *o, const xf_actor_t *who, const xf_net_t *net,
                             const char *const *ids, size_t n, const char *to, const char *note,
                             size_t *bad, xf_err_t *err);

/* 催办 by hand: asks the owner (an office below this one) to record an urge. */
int xf_office_urge (xf_office_t *o, const xf_actor_t *who, const char *id, const char *note,
                    xf_err_t *err);
/* Sends the automatic urges due by now for the cases this office supervises (each once:
 * urge_before_days before the owner's deadline, then every urge_every_days). */
int xf_office_scan_urges (xf_office_t *o, int64_t now, size_t *sent, xf_err_t *err);

/* 复查 / 复核: registers the petitioner's request for review of case id at this office (the
 * office directly above the one that gave the reply) and asks that office for the case; the
 * case arrives here once it records the request, or `case show` here tells its refusal.
 * asked_of gets the office asked. With a replica here the rules are checked at once. */
int xf_office_review (xf_office_t *o, const xf_actor_t *who, const char *id, const char *reason,
                      char asked_of[XF_OFFICE_CODE_LEN], xf_err_t *err);

/* 查询码: the public status of the case a petitioner's code names (any case and dashes),
 * {"query_code","found",…}. Answered here when this office registered it; otherwise the
 * office the code names is asked and the answer is {"pending":true,"asked_of":CODE} until
 * its reply arrives (ask again: the reply is kept for a minute). */
int xf_office_lookup (xf_office_t *o, const xf_actor_t *who, const char *code, json_t **answer,
                      xf_err_t *err);

/* ---------------------------------------------------------------- 对账 reconciliation */

/* Builds the index of the cases this office shares with others from the cases, once per
 * store (an upgrade from a build without it), or again with force. *cases (may be NULL)
 * gets how many cases were read (0 when the index was already there). */
int xf_office_share_rebuild (xf_office_t *o, bool force, size_t *cases, xf_err_t *err);
/* Sends every office this office shares cases with, when nothing waits on the link toward
 * it, a digest of those cases per month of registration; the other office compares and the
 * two re-send each other what is missing or older. Called every `every` seconds. *sent (may
 * be NULL) gets how many digests went. */
int xf_office_reconcile (xf_office_t *o, int64_t now, int64_t every, size_t *sent, xf_err_t *err);
/* [{"office","shared","digest_sent","checked","agreed","differing_months","mismatches",
 *   "resent","received","last_repair"}] for every office cases are shared with. */
json_t *xf_office_reconcile_status (xf_office_t *o, xf_err_t *err);

/* What applying one arriving envelope did, for the daemon's log and counters. */
typedef struct {
    bool relayed;          /* stored for the next hop */
    char hop[13];
    bool refused;          /* not applied (the link position still advances) */
    bool bounced;          /* … and a DeliveryError went back to its origin */
    bool undelivered;      /* a DeliveryError for one of ours arrived (reason says what) */
    bool returned;         /* … and the case that was sent is this office's again */
    bool answered;         /* a request was refused with a Refusal to its sender */
    bool refusal;          /* a Refusal of one of our requests arrived (reason says what) */
    bool noted;            /* applied, and worth a line in the log (reason says what) */
    bool forged;           /* refused: not signed by its origin (with [trust]) */
    char reason[600];
} xf_applied_t;

/* Applies one envelope that arrived from peer, inside the caller's transaction (which also
 * records the link position): applied here, relayed toward its destination, or refused with
 * a reason. A refused envelope goes back to its origin as a DeliveryError (an unknown office,
 * a full queue on the way, a format or body the destination does not read) — except one whose
 * claimed origin the peer cannot speak for, and a DeliveryError itself. A DeliveryError for an
 * escalation of ours takes the case back. Returns an error only when the store fails: then
 * the whole batch aborts. */
int xf_office_apply (xf_txn_t *txn, xf_office_t *o, const xf_net_t *net, const char *peer,
                     const Xf__SignedEnvelope *se, const Xf__Envelope *env, int64_t now,
                     xf_applied_t *out, xf_err_t *err);

/* DeliveryErrors that came back to this office since it was set up. */
int xf_office_undelivered (xf_office_t *o, uint64_t *n, xf_err_t *err);

/* The node clock's offset from the system clock, kept in the store (debug clock control). */
int xf_office_clock_offset (xf_office_t *o, int64_t *offset, xf_err_t *err);
int xf_office_set_clock_offset (xf_office_t *o, int64_t offset, xf_err_t *err);
/* The latest node time the office has seen (0: none yet): seen raises it, reset sets it (a
 * clock moved on purpose), latest reads it. */
int xf_office_clock_seen (xf_office_t *o, int64_t now, xf_err_t *err);
int xf_office_clock_reset (xf_office_t *o, int64_t now, xf_err_t *err);
int xf_office_clock_latest (xf_office_t *o, int64_t *latest, xf_err_t *err);

#endif
