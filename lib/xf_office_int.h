/* xf_office_int.h — what the xf_office_*.c files share and nobody else may use: the office
 * struct and the record helpers that work inside a caller's transaction. */
#ifndef XF_OFFICE_INT_H
#define XF_OFFICE_INT_H

#include "xf_office.h"
#include "xf_route.h"

struct xf_office {
    xf_store_t *store;
    char code[16];
    xf_limits_t lim;
    xf_net_t net;        /* routes.NULL until set: nothing is sent to other offices */
    uint8_t identity_key[32];
    bool has_identity_key;
    int64_t reconcile_every;   /* seconds between this office's digests (0: not sending) */
    struct xf_pull *pulls;     /* consolidated statistics being gathered (xf_office_stats.c) */
    uint64_t next_pull;
    int64_t (*clock_ms) (void);   /* monotonic milliseconds, for the pulls' deadlines */
    bool snapshots_due;        /* a child's snapshot arrived: ours may change */
    xf_trust_t *trust;         /* borrowed; NULL: envelopes go unsigned, none is verified */
    xf_profile_t audit_profile;   /* the audit log's hash: SHA-256, or SM3 (national) */
};

#define DUE_KEY_MAX (4 + XF_CASE_ID_MAX)

/* The case with this id (caller destroys), or XF_ENOTFOUND "no case … at this office". */
int xf_office_load_case (xf_txn_t *txn, const char *id, xf_case_t **c_p, xf_err_t *err);
/* The same, and the case as stored without what a move never changes (the kept fields:
 * summary, parties; xf_office_slim_bytes): *slim_p (malloc'd, the caller frees it), what
 * xf_office_remember_bytes keeps for a take back, and *before_p, those bytes decoded, to read
 * while c changes (a view: free it with xf_case_view_destroy). Filtering and decoding a slim
 * record costs less than a second decode of the whole and a pack of the slim one. */
int xf_office_load_case_pair (xf_txn_t *txn, const char *id, xf_case_t **c_p,
                              xf_case_t **before_p, uint8_t **slim_p, size_t *slim_len,
                              xf_err_t *err);
/* Stored case bytes less the kept fields and the petitioner key, into out (len bytes of room):
 * byte for byte what protobuf-c packs of the case with those fields empty. SIZE_MAX when the
 * bytes do not scan. */
size_t xf_office_slim_bytes (const uint8_t *buf, size_t len, uint8_t *out);
/* Keeps slim bytes (xf_office_slim_bytes) as the record to restore if the move of case id does
 * not arrive. */
int xf_office_remember_bytes (xf_txn_t *txn, const char *id, const uint8_t *slim, size_t len,
                              xf_err_t *err);
/* Stores c and keeps the index of what it shares with other offices in step. */
int xf_office_save_case (xf_txn_t *txn, const xf_office_t *o, const xf_case_t *c, xf_err_t *err);
/* Appends ev (body set by the caller) to c's history as its next event; numbers, stamps and
 * stores it, and sends a copy carrying c to every other office that holds the case (see
 * xf_office_publish). c->last_event is advanced: change c before, save it afterwards. */
int xf_office_append_event (xf_txn_t *txn, xf_office_t *o, const xf_actor_t *who,
                            xf_case_t *c, Xf__CaseEvent *ev, xf_err_t *err);
/* Stores ev (numbered and stamped) in its case's history; a record carried by an escalation,
 * assignment or transfer is left out (the case itself is stored). */
int xf_office_put_event (xf_txn_t *txn, const Xf__CaseEvent *ev, xf_err_t *err);
/* Moves the case's 应结 count to day (from the day it was counted under, if any). */
int xf_office_count_due (xf_txn_t *txn, xf_case_t *c, xf_day_t day, xf_err_t *err);
/* Adds a deadline to the due index (stage 'a' accept, 'h' handle). */
int xf_office_due_add (xf_txn_t *txn, xf_day_t due, const char *id, uint8_t stage, xf_err_t *err);
/* Removes a deadline from the due index (absent is fine: nothing to remove). */
int xf_office_due_del (xf_txn_t *txn, xf_day_t due, const char *id, xf_err_t *err);
/* Moves a case between statuses in the counts and the status index (0: none). */
int xf_office_track_status (xf_txn_t *txn, const char *id, int from, int to, xf_err_t *err);
/* Key of event seq of case id in XF_DB_EVENTS; key holds XF_CASE_ID_MAX + 5 bytes. */
size_t xf_office_event_key (uint8_t *key, const char *id, uint32_t seq);
/* Key of a deadline in XF_DB_DUE (DUE_KEY_MAX bytes), and the day a key holds. */
size_t xf_office_due_key (uint8_t *key, xf_day_t due, const char *id);
static inline xf_day_t xf_office_due_day (const void *key)
{
    return (xf_day_t) (xf_be32_get (key) ^ 0x80000000u);
}

/* With trust: the petitioner's identity of a case being registered sealed to this office, the
 * clear copy dropped (nothing without trust or an identity). */
int xf_office_seal_new (xf_office_t *o, xf_case_t *c, xf_err_t *err);
/* With trust, after c changed owner: an entry sealed to the new owner (opened from this
 * office's), and the entries of offices no longer entitled dropped. */
int xf_office_reseal (xf_office_t *o, xf_case_t *c, xf_err_t *err);

/* The audit log (xf_office_audit.c), inside the caller's transaction: a record of action on
 * case_id (may be NULL) by who; of an event this office recorded; of an envelope addressed
 * here, applied or refused as out says. */
int xf_office_audit (xf_txn_t *txn, xf_office_t *o, const xf_actor_t *who, const char *action,
                     const char *case_id, const char *detail, xf_err_t *err);
int xf_office_audit_event (xf_txn_t *txn, xf_office_t *o, const xf_actor_t *who,
                           const Xf__CaseEvent *ev, xf_err_t *err);
int xf_office_audit_applied (xf_txn_t *txn, xf_office_t *o, const Xf__Envelope *env, int64_t now,
                             const xf_applied_t *out, xf_err_t *err);

/* ---------------------------------------------------------------- between offices */

/* Wraps body (the member of the envelope's body union that body_case names) in a new envelope
 * from this office to `to` and queues it for the next hop; refused (XF_ESTATE) when limit
 * envelopes already wait there (0: no limit); XF_ENOTFOUND when `to` cannot be reached. */
int xf_office_send (xf_txn_t *txn, xf_office_t *o, const char *to, int64_t now,
                    Xf__Envelope__BodyCase body_case, void *body, uint64_t limit, xf_err_t *err);
/* Sends ev (c as it left it) to every office that holds c: its origin, owner and watchers.
 * The copy to a new owner obeys the outbox limit; an office out of reach is skipped. */
int xf_office_publish (xf_txn_t *txn, xf_office_t *o, const xf_case_t *c, const Xf__CaseEvent *ev,
                       xf_err_t *err);
/* Puts the history of c so far in ev->earlier, for an office that joins the case with ev;
 * xf_office_free_history frees it. */
int  xf_office_attach_history (xf_txn_t *txn, const xf_case_t *c, Xf__CaseEvent *ev,
                               xf_err_t *err);
void xf_office_free_history (Xf__CaseEvent *ev);
/* Bookkeeping of a case record that replaces old (NULL: new here) at this office, whichever
 * way ownership went: status counts; the deadline index and 应结 follow ownership (leave with
 * a case that goes, come with one that arrives or comes back); the urge schedule follows
 * supervision. Saves c. */
int xf_office_adopt (xf_txn_t *txn, xf_office_t *o, const xf_case_t *old, xf_case_t *c,
                     xf_err_t *err);
/* Takes rec, as the event latest left it, as this office's record of the case in place of old
 * (NULL: new here): xf_office_adopt, and what the arrival settles (a move to take back, a
 * review asked here). */
int xf_office_take_record (xf_txn_t *txn, xf_office_t *o, const xf_case_t *old,
                           const xf_case_t *rec, const Xf__CaseEvent *latest, xf_err_t *err);
/* Keeps this office's 催办 schedule of c in step with the record. */
int xf_office_urge_sync (xf_txn_t *txn, xf_office_t *o, const xf_case_t *c, xf_err_t *err);

/* What arrived, applied here (xf_office_replica.c, xf_office_urge.c, xf_office_move.c). */
int xf_office_receive_event (xf_txn_t *txn, xf_office_t *o, const Xf__Envelope *env,
                             xf_applied_t *out, xf_err_t *err);
int xf_office_receive_request (xf_txn_t *txn, xf_office_t *o, const Xf__Envelope *env, int64_t now,
                               xf_applied_t *out, xf_err_t *err);
int xf_office_receive_refusal (xf_txn_t *txn, xf_office_t *o, const Xf__Envelope *env,
                               xf_applied_t *out, xf_err_t *err);
/* A move of ours came back undelivered: the case is ours again as it was before. */
int xf_office_take_back (xf_txn_t *txn, xf_office_t *o, const Xf__Envelope *env, int64_t now,
                         xf_applied_t *out, xf_err_t *err);

/* The record kept from before a move is dropped: the case arrived. */
int xf_office_forget_move (xf_txn_t *txn, const char *id, xf_err_t *err);

/* Answers a request of env's sender with a Refusal (owner: who owns the case, or NULL). */
int xf_office_answer_refusal (xf_txn_t *txn, xf_office_t *o, const Xf__Envelope *env,
                              const char *case_id, int code, const char *reason, const char *owner,
                              int64_t now, xf_applied_t *out, xf_err_t *err);

/* ---------------------------------------------------------------- review (xf_office_review.c) */

/* At the owner: a request for 复查 / 复核 of one of its cases. */
int xf_office_receive_review (xf_txn_t *txn, xf_office_t *o, const Xf__Envelope *env, int64_t now,
                              xf_applied_t *out, xf_err_t *err);
/* At the asker: a refusal that may be of a review request of ours. */
int xf_office_review_refused (xf_txn_t *txn, xf_office_t *o, const Xf__Envelope *env, xf_err_t *err);
/* At the asker: the case arrived with the review event (ev); the request is done. */
int xf_office_review_arrived (xf_txn_t *txn, const Xf__CaseEvent *ev, const char *self, xf_err_t *err);
/* What became of a review asked here of a case not (yet) here, or XF_ENOTFOUND. */
int xf_office_review_status (xf_txn_t *txn, const char *id, char *out, size_t size);

/* 查询码 (xf_office_lookup.c): a question from another office, and the answer to ours. */
int xf_office_receive_lookup (xf_txn_t *txn, xf_office_t *o, const Xf__Envelope *env, int64_t now,
                              xf_applied_t *out, xf_err_t *err);
int xf_office_receive_lookup_reply (xf_txn_t *txn, xf_office_t *o, const Xf__Envelope *env,
                                    int64_t now, xf_applied_t *out, xf_err_t *err);

/* 对账 (xf_office_reconcile.c): a digest, list, want or re-sent case from another office. */
int xf_office_receive_reconcile (xf_txn_t *txn, xf_office_t *o, const Xf__Envelope *env,
                                 int64_t now, xf_applied_t *out, xf_err_t *err);

/* An office code, NUL and a be32 month (yyyymm): the key of what is kept per office and month
 * (XF_DB_DIGEST, XF_DB_SNAPSHOTS); key holds XF_OFFICE_CODE_LEN + 5 bytes. */
size_t xf_office_month_key (uint8_t *key, const char *code, int32_t month);

/* ---------------------------------------------------------------- statistics (xf_office_stats.c,
 * xf_office_snapshot.c) */

enum { XF_SOURCE_LIVE = 1, XF_SOURCE_SNAPSHOT, XF_SOURCE_MISSING };

/* One office's row of a report: its own figures for the period. */
typedef struct {
    char code[16];
    char name[XF_ROUTE_NAME_MAX];
    int source;
    int64_t as_of;
    bool has_figures, has_earlier, partial;
    xf_figures_t f, earlier;     /* earlier: the same period a year before */
    int32_t *months;             /* snapshot: the months (yyyymm) it covers */
    size_t n_months;
} xf_stats_row_t;

typedef struct {
    xf_stats_row_t *v;
    size_t n, cap;
} xf_stats_rows_t;

xf_stats_row_t *xf_stats_rows_add (xf_stats_rows_t *rows, const char *code, const char *name);
void xf_stats_rows_clear (xf_stats_rows_t *rows);

/* A period's month by month figures (index 0: the month of p.first; NULL when too long). */
typedef struct {
    int32_t first;      /* yyyymm */
    size_t n;
    xf_figures_t *f;
} xf_stats_months_t;

/* Adds f to the month yyyymm of m (a month outside the period is ignored). */
void xf_stats_months_add (xf_stats_months_t *m, int32_t yyyymm, const xf_figures_t *f);

/* Rows for child's subtree from the snapshots it sent of the months of p (and of the same
 * months a year earlier); *found false when there is none (p not whole months, or none
 * stored). Adds each snapshot's subtree figures into months. */
int xf_office_snapshot_fill (xf_txn_t *txn, const char *child, const xf_period_t *p,
                             xf_stats_rows_t *rows, xf_stats_months_t *months, bool *found,
                             xf_err_t *err);
/* A child's snapshot of one month: checked and stored. */
int xf_office_receive_snapshot (xf_txn_t *txn, xf_office_t *o, const Xf__Envelope *env,
                                xf_applied_t *out, xf_err_t *err);
/* A request from the parent, and a child's reply to a request of ours. */
int xf_office_receive_stats_request (xf_txn_t *txn, xf_office_t *o, const Xf__Envelope *env,
                                     int64_t now, xf_applied_t *out, xf_err_t *err);
int xf_office_receive_stats_reply (xf_txn_t *txn, xf_office_t *o, const Xf__Envelope *env,
                                   int64_t now, xf_applied_t *out, xf_err_t *err);
void xf_office_pulls_free (xf_office_t *o);

/* ---------------------------------------------------------------- petitioners (xf_office_identity.c) */

/* Registrations to tell the office above, gathered over one transaction. */
typedef struct {
    uint8_t key[32];
    char id[XF_CASE_ID_MAX];
} xf_sighting_t;
typedef struct {
    xf_sighting_t *v;
    size_t n, cap;
} xf_sightings_t;
void xf_sightings_clear (xf_sightings_t *s);

/* At registration (c has its id): marks c repeat (linked to the earlier cases) or skip_level
 * from the petitioner index, indexes it, and adds it to up (NULL: none) for the office above
 * when the tree's identity key is set. */
int xf_office_mark_petitioner (xf_txn_t *txn, xf_office_t *o, xf_case_t *c, xf_sightings_t *up,
                               xf_err_t *err);
/* Tells the parent (if any) of the registrations in s, in one envelope. */
int xf_office_send_sightings (xf_txn_t *txn, xf_office_t *o, const xf_sightings_t *s, int64_t now,
                              xf_err_t *err);
int xf_office_receive_sightings (xf_txn_t *txn, xf_office_t *o, const Xf__Envelope *env,
                                 int64_t now, xf_applied_t *out, xf_err_t *err);

/* ---------------------------------------------------------------- shared cases (xf_office_share.c) */

#define XF_SHARE_HASH_LEN 16

/* Brings the share index and the digests up to date with c, which is being saved. */
int xf_office_share_track (xf_txn_t *txn, const xf_office_t *o, const xf_case_t *c,
                           xf_err_t *err);
/* yyyymm of c's registration: the period its digests count it under. */
int32_t xf_office_share_month (const xf_case_t *c);
void xf_office_share_hash (const char *id, uint8_t status, uint32_t last_event,
                           uint8_t out[XF_SHARE_HASH_LEN]);

typedef struct {
    int32_t month;
    uint64_t count;
    uint8_t hash[XF_SHARE_HASH_LEN];
} xf_share_month_t;
/* This office's digest for partner, months in order (the caller frees *months). */
int xf_office_share_digest (xf_txn_t *txn, const char *partner, xf_share_month_t **months,
                            size_t *n, xf_err_t *err);
/* Every office this office shares a case with, in order (the caller frees *codes). */
int xf_office_share_partners (xf_txn_t *txn, char (**codes)[XF_OFFICE_CODE_LEN], size_t *n,
                              xf_err_t *err);

typedef struct {
    char id[XF_CASE_ID_MAX];
    uint32_t last_event;
    uint8_t status;
} xf_share_case_t;
/* Appends this office's cases of month shared with partner to *v (*n of them, grown with
 * realloc; the caller frees *v). */
int xf_office_share_cases (xf_txn_t *txn, const char *partner, int32_t month,
                           xf_share_case_t **v, size_t *n, xf_err_t *err);

/* Marks out refused with a reason (printf with up to two strings). Returns XF_OK. */
int xf_office_refuse (xf_applied_t *out, const char *fmt, const char *a, const char *b);

#endif
