/* xf_link.h — the link protocol with one adjacent office, as a pure state machine.
 *
 * Bytes and events go in, decisions come out; no socket, no clock, no store. The daemon
 * moves frames and timers and persists what the machine says (DESIGN principles 2–4):
 *
 *   sending     every envelope for the peer is queued durably in the outbox under the next
 *               link seq; the machine says which seqs may be on the wire (a bounded window
 *               past what the peer acknowledged) and rewinds to the peer's position whenever
 *               the peer says where it is (Hello) or a gap shows frames were lost.
 *   receiving   each envelope frame is classified: the next in order is applied, anything at
 *               or below the applied position is a duplicate (dropped, but acknowledged again),
 *               anything beyond the next is a gap (dropped; the peer is told where we are).
 *               Applied positions become acknowledgeable only after the transaction that
 *               applied them commits.
 *   liveness    hellos until the peer answers, keepalives when idle, "down" after silence.
 *
 * Times are milliseconds of any monotonic clock the caller chooses. */
#ifndef XF_LINK_H
#define XF_LINK_H

#include <stdbool.h>
#include <stdint.h>
#include "xf_err.h"
#include "xf_msg.h"
#include "xfsync.pb-c.h"

/* the link versions the codec reads (xf_msg.h): 2 carries several envelopes a frame */
#define XF_LINK_VERSION_MIN_SPOKEN XF_LINK_VERSION_MIN
#define XF_LINK_VERSION_MAX_SPOKEN XF_LINK_VERSION_MAX

typedef enum {
    XF_LINK_DOWN,      /* nothing heard, or silent for longer than the timeout */
    XF_LINK_UP,        /* hellos exchanged: envelopes flow */
    XF_LINK_REFUSED,   /* the peer speaks no version we speak, or claimed another identity */
} xf_link_state_t;

typedef struct {
    uint32_t window;         /* envelopes on the wire past the peer's acknowledgement */
    int64_t hello_every_ms;  /* while not up */
    int64_t keepalive_ms;    /* send an ack frame when nothing was sent for this long */
    int64_t timeout_ms;      /* down after this long without a frame */
    uint32_t max_version;    /* newest link version spoken (0: XF_LINK_VERSION_MAX_SPOKEN) */
} xf_link_opts_t;

typedef struct {
    char peer[13];
    xf_link_opts_t opts;
    xf_link_state_t state;
    /* durable positions (the daemon loads and stores them) */
    uint64_t applied;        /* highest peer seq applied and committed */
    uint64_t next_seq;       /* seq the next queued envelope gets */
    uint64_t acked;          /* highest of our seqs the peer acknowledged */
    /* this connection */
    uint64_t pending;        /* highest peer seq applied in the open transaction */
    uint64_t sent;           /* highest of our seqs handed to the socket */
    uint64_t ack_sent;       /* highest applied position we told the peer */
    int64_t last_heard_ms, last_sent_ms, last_hello_ms;
    int64_t wait_since_ms;   /* when envelopes last went out (the resend timer): frames lost
                              * at the tail leave the peer no gap to see */
    bool hello_due;          /* tell the peer our position now (after a gap or on connect) */
    bool hello_is_answer;    /* … only because the peer asked: send it with reply = true */
    /* after the store was restored from a backup (xfsyncd --restore) */
    uint64_t restored;       /* next_seq when it was restored (0: not, or resynchronised) */
    bool resync_due;         /* set by the first hello after a restore (restored cleared) */
    uint64_t renumber_from, renumber_to;   /* set by it: move our entries queued since the
                              * restore, [renumber_from, next_seq), to start at renumber_to */
    uint64_t lost_from, lost_to;   /* set by a hello: the peer no longer holds these of its seqs */
    uint64_t epoch;          /* our store's epoch (Hello.epoch), raised by each restore */
    uint64_t peer_epoch;     /* the highest epoch the peer's hellos carried (durable) */
    bool peer_restored;      /* set by a hello with a new epoch: record peer_epoch */
    uint32_t version;        /* the link version both speak, from the peer's last hello (1 before) */
    /* counters for `status` */
    uint64_t frames_in, frames_out, rejected, duplicates, gaps, ups;
} xf_link_t;

void xf_link_init (xf_link_t *l, const char *peer, const xf_link_opts_t *opts,
                   uint64_t applied, uint64_t next_seq, uint64_t acked);

typedef enum {
    XF_LINK_APPLY,      /* the next envelope in order: apply it in the open transaction */
    XF_LINK_DUPLICATE,  /* already applied: drop it, acknowledge again */
    XF_LINK_GAP,        /* frames were lost: drop it, send a hello with our position */
} xf_link_verdict_t;

/* Classifies the seq of an envelope (one of a frame's) and, for APPLY, advances `pending`. */
xf_link_verdict_t xf_link_receive (xf_link_t *l, uint64_t seq, int64_t now_ms);

/* The open transaction committed (or aborted): pending becomes applied, or is forgotten. */
void xf_link_committed (xf_link_t *l);
void xf_link_aborted (xf_link_t *l);

/* A cumulative ack arrived. Returns true when it acknowledged something new (the caller
 * then drops outbox entries <= l->acked). An ack beyond what was ever queued is refused. */
int xf_link_on_ack (xf_link_t *l, uint64_t ack, bool *advanced, xf_err_t *err);

/* The peer's hello. Checks versions and identity (expected_code), then adopts its position:
 * everything after hello->applied is sent again — also when the peer applied less than it once
 * acknowledged (it was restored from a backup; the entries kept are sent again). XF_EVERSION /
 * XF_EPERM leave the link REFUSED with a message naming both sides' versions or the identities.
 * After a restore of this store (l->restored), a peer that applied our seqs beyond what the
 * backup held sets renumber_from/renumber_to: the entries queued since the restore must take the
 * seqs after the peer's position (the caller moves them in the store and clears the store's mark;
 * restored is cleared and resync_due set). A
 * peer whose first_kept is beyond our applied position sets lost_from/lost_to and moves applied
 * past them (the caller records it and says what was lost). */
int xf_link_on_hello (xf_link_t *l, const Xf__Hello *hello, const char *expected_code,
                      int64_t now_ms, xf_err_t *err);

/* The newest link version this side speaks on the link (opts.max_version, or the newest). */
uint32_t xf_link_max_version (const xf_link_t *l);
/* How many envelopes one frame to the peer may carry: several once both speak link version 2
 * (the peer's hello said so), else 1. */
uint32_t xf_link_batch (const xf_link_t *l);

/* An envelope was queued durably under the returned seq. */
uint64_t xf_link_queue (xf_link_t *l);

/* The seqs to put on the wire now, [*first, *last]; false when none. Call xf_link_sent
 * after handing them to the socket. */
bool xf_link_to_send (const xf_link_t *l, uint64_t *first, uint64_t *last);
void xf_link_sent (xf_link_t *l, uint64_t last, int64_t now_ms);

/* Frames that carry no envelope: whether one is due, and the ack value it carries. */
/* Whether a hello is due; *reply says whether it only answers the peer's (Hello.reply). */
bool     xf_link_hello_due (const xf_link_t *l, int64_t now_ms, bool *reply);
void     xf_link_hello_sent (xf_link_t *l, int64_t now_ms);
bool     xf_link_ack_due (const xf_link_t *l, int64_t now_ms);
void     xf_link_ack_sent (xf_link_t *l, int64_t now_ms);
uint64_t xf_link_ack_value (const xf_link_t *l);

/* Any frame arrived (liveness; counted in frames_in): once per frame, whatever it carries. */
void xf_link_heard (xf_link_t *l, int64_t now_ms);
/* Timer: marks the link down after the timeout; returns true when it just went down. Also
 * sends again everything unacknowledged when envelopes wait for an ack and none went out for
 * keepalive_ms (frames lost at the end of what was sent, or a whole window lost, show the peer
 * no gap, and its keepalives keep the link up). */
bool xf_link_tick (xf_link_t *l, int64_t now_ms);
/* The connection to the peer is known to be gone (the transport said so): down now, and a
 * hello is due when it comes back. Returns true when the link was up. */
bool xf_link_lost (xf_link_t *l);

/* Envelopes queued and not yet acknowledged. */
static inline uint64_t xf_link_backlog (const xf_link_t *l)
{
    return l->next_seq - 1 - l->acked;
}

const char *xf_link_state_name (xf_link_state_t s);

#endif
