/* xf_outbox.h — the durable side of a link, inside a caller's transaction: the per-peer
 * outbox of envelopes (peer + be64 link seq → packed SignedEnvelope, so each peer's entries
 * are appended in key order) and the positions the link protocol (xf_link) works from. */
#ifndef XF_OUTBOX_H
#define XF_OUTBOX_H

#include <stdint.h>
#include "xf_store.h"

typedef struct {
    uint64_t applied;    /* highest seq applied from the peer */
    uint64_t next_seq;   /* seq our next envelope to the peer gets */
    uint64_t acked;      /* highest of our seqs the peer acknowledged */
} xf_link_pos_t;

/* Absent positions read as {0, 1, 0}: a link that never carried anything. */
int xf_outbox_positions (xf_txn_t *txn, const char *peer, xf_link_pos_t *out, xf_err_t *err);
int xf_outbox_set_positions (xf_txn_t *txn, const char *peer, const xf_link_pos_t *pos,
                             xf_err_t *err);

/* Queues bytes for peer under the next seq (returned in *seq). Refuses with XF_ESTATE,
 * naming the peer and the limit, when limit envelopes are already waiting (0: no limit). */
int xf_outbox_push (xf_txn_t *txn, const char *peer, const void *bytes, size_t len, uint64_t limit,
                    uint64_t *seq, xf_err_t *err);
/* The entry for seq (XF_ENOTFOUND if absent); valid until the transaction ends. */
int xf_outbox_get (xf_txn_t *txn, const char *peer, uint64_t seq, const void **bytes, size_t *len,
                   xf_err_t *err);
/* Records that the peer acknowledged up to acked and deletes those entries. */
int xf_outbox_trim (xf_txn_t *txn, const char *peer, uint64_t acked, xf_err_t *err);
/* The same, keeping what the peer acknowledged for keep_days days (today: days since the epoch
 * by the node clock): entries acknowledged keep_days or more days ago are deleted, the others
 * can be sent again to a peer that lost them (a store restored from a backup). keep_days 0 is
 * xf_outbox_trim. Never deletes beyond acked. */
#define XF_OUTBOX_KEEP_DAYS_MAX 365
int xf_outbox_retire (xf_txn_t *txn, const char *peer, uint64_t acked, int64_t today,
                      int keep_days, xf_err_t *err);
/* The lowest seq still held for peer, acknowledged or not (next_seq when none). */
int xf_outbox_first (xf_txn_t *txn, const char *peer, uint64_t *first, xf_err_t *err);
/* After a restore from a backup (xfsyncd --restore): the peer's next_seq when the store was
 * restored (0: not restored, or resynchronised since; set 0 to clear). */
int xf_outbox_restored (xf_txn_t *txn, const char *peer, uint64_t *mark, xf_err_t *err);
int xf_outbox_set_restored (xf_txn_t *txn, const char *peer, uint64_t mark, xf_err_t *err);
/* The peer already applied, from the store before the restore, seqs up to to - 1: the entries
 * queued since the restore ([from, next_seq)) move to start at to, the older ones go (the peer
 * has them), acked becomes to - 1 and the restore mark is cleared. */
int xf_outbox_renumber (xf_txn_t *txn, const char *peer, uint64_t from, uint64_t to, xf_err_t *err);
/* Records the applied position of peer (in the transaction that applied the envelopes). */
int xf_outbox_set_applied (xf_txn_t *txn, const char *peer, uint64_t applied, xf_err_t *err);

/* Bytes waiting for peer, not yet acknowledged (for `status`). */
int xf_outbox_bytes (xf_txn_t *txn, const char *peer, uint64_t *bytes, xf_err_t *err);

#endif
