/* xf_link.c — the per-peer link protocol decisions: ordering, duplicates, gaps, the send
 * window, acknowledgements, hellos and liveness. See xf_link.h for the contract. */
#include "xf_link.h"

#include <stdio.h>
#include <string.h>

void xf_link_init (xf_link_t *l, const char *peer, const xf_link_opts_t *opts,
                   uint64_t applied, uint64_t next_seq, uint64_t acked)
{
    char name[sizeof l->peer];
    snprintf (name, sizeof name, "%s", peer);   /* peer may point into *l */
    memset (l, 0, sizeof *l);
    memcpy (l->peer, name, sizeof name);
    l->opts = *opts;
    l->state = XF_LINK_DOWN;
    l->applied = l->pending = l->ack_sent = applied;
    l->next_seq = next_seq ? next_seq : 1;
    l->acked = l->sent = acked;
    l->hello_due = true;
    l->version = 1;
}

uint32_t xf_link_max_version (const xf_link_t *l)
{
    uint32_t v = l->opts.max_version;
    return v && v < XF_LINK_VERSION_MAX_SPOKEN ? v : XF_LINK_VERSION_MAX_SPOKEN;
}

uint32_t xf_link_batch (const xf_link_t *l)
{
    return l->version >= 2 ? XF_LINK_BATCH_MAX : 1;
}

xf_link_verdict_t xf_link_receive (xf_link_t *l, uint64_t seq, int64_t now_ms)
{
    l->last_heard_ms = now_ms;   /* the frame is counted once by xf_link_heard (several envelopes) */
    if (seq <= l->pending) {
        l->duplicates++;
        return XF_LINK_DUPLICATE;
    }
    if (seq != l->pending + 1) {
        l->gaps++;
        l->hello_due = true;   /* tell the peer where we are, so it rewinds */
        l->hello_is_answer = false;
        return XF_LINK_GAP;
    }
    l->pending = seq;
    return XF_LINK_APPLY;
}

void xf_link_committed (xf_link_t *l)
{
    l->applied = l->pending;
}

void xf_link_aborted (xf_link_t *l)
{
    l->pending = l->applied;
}

int xf_link_on_ack (xf_link_t *l, uint64_t ack, bool *advanced, xf_err_t *err)
{
    *advanced = false;
    if (ack >= l->next_seq)
        return xf_err_set (err, XF_EINVAL, "link %s: acknowledgement of seq %llu, but only %llu "
                           "were ever queued", l->peer, (unsigned long long) ack,
                           (unsigned long long) (l->next_seq - 1));
    if (ack > l->acked) {
        l->acked = ack;
        if (l->sent < ack)
            l->sent = ack;
        *advanced = true;
    }
    return XF_OK;
}

int xf_link_on_hello (xf_link_t *l, const Xf__Hello *h, const char *expected_code, int64_t now_ms,
                      xf_err_t *err)
{
    l->last_heard_ms = now_ms;   /* the frame is counted by xf_link_heard */
    if (expected_code && strcmp (h->code, expected_code) != 0) {
        l->state = XF_LINK_REFUSED;
        l->rejected++;
        return xf_err_set (err, XF_EPERM, "link %s: hello from a node calling itself %s",
                           l->peer, h->code);
    }
    if (h->min_version > XF_LINK_VERSION_MAX_SPOKEN || h->max_version < XF_LINK_VERSION_MIN_SPOKEN) {
        l->state = XF_LINK_REFUSED;
        l->rejected++;
        return xf_err_set (err, XF_EVERSION, "link %s: the peer speaks link versions %u..%u, this "
                           "node %d..%d: upgrade the older node", l->peer, h->min_version,
                           h->max_version, XF_LINK_VERSION_MIN_SPOKEN, XF_LINK_VERSION_MAX_SPOKEN);
    }
    l->version = h->max_version < xf_link_max_version (l) ? h->max_version
                                                         : xf_link_max_version (l);
    if (h->applied >= l->next_seq && !l->restored) {
        l->state = XF_LINK_REFUSED;
        l->rejected++;
        return xf_err_set (err, XF_ESTATE, "link %s: the peer says it applied our seq %llu, but "
                           "only %llu were ever queued here: if this store was copied from a "
                           "backup by hand, install it with xfsyncd --restore instead", l->peer,
                           (unsigned long long) h->applied, (unsigned long long) (l->next_seq - 1));
    }
    l->renumber_from = l->renumber_to = 0;
    l->resync_due = l->restored != 0;
    if (l->restored && h->applied >= l->restored) {
        /* the peer has what the old store sent after the backup: ours since the restore follow */
        l->renumber_from = l->restored;
        l->renumber_to = h->applied + 1;
        l->next_seq = h->applied + 1 + (l->next_seq - l->restored);
    }
    l->restored = 0;   /* once: the caller records it (or reloads the positions if it cannot) */
    l->lost_from = l->lost_to = 0;
    if (h->first_kept > l->applied + 1) {
        l->lost_from = l->applied + 1;
        l->lost_to = h->first_kept - 1;
        l->applied = l->pending = l->ack_sent = h->first_kept - 1;
        l->hello_due = true;   /* the peer must hear where we are now */
        l->hello_is_answer = false;
    }
    l->peer_restored = h->epoch > l->peer_epoch;
    if (l->peer_restored) {   /* restored from a backup: it lost what it applied since */
        l->peer_epoch = h->epoch;
        l->acked = h->applied;
    } else if (h->applied > l->acked)   /* a lower one is a stale hello */
        l->acked = h->applied;
    l->sent = l->acked;   /* resend everything the peer has not applied */
    if (l->state != XF_LINK_UP)
        l->ups++;
    l->state = XF_LINK_UP;
    if (!h->reply && !l->hello_due) {   /* the peer wants our position; answer once */
        l->hello_due = true;
        l->hello_is_answer = true;
    }
    return XF_OK;
}

uint64_t xf_link_queue (xf_link_t *l)
{
    return l->next_seq++;
}

bool xf_link_to_send (const xf_link_t *l, uint64_t *first, uint64_t *last)
{
    if (l->state != XF_LINK_UP)
        return false;
    uint64_t limit = l->acked + l->opts.window;
    uint64_t top = l->next_seq - 1 < limit ? l->next_seq - 1 : limit;
    if (l->sent >= top)
        return false;
    *first = l->sent + 1;
    *last = top;
    return true;
}

void xf_link_sent (xf_link_t *l, uint64_t last, int64_t now_ms)
{
    l->wait_since_ms = now_ms;   /* the resend timer starts again */
    if (last > l->sent)
        l->sent = last;
    l->last_sent_ms = now_ms;
    l->ack_sent = l->applied;   /* every envelope frame carries our ack */
}

bool xf_link_hello_due (const xf_link_t *l, int64_t now_ms, bool *reply)
{
    *reply = l->hello_due && l->hello_is_answer;
    if (l->state == XF_LINK_REFUSED) {
        *reply = false;   /* a retry the peer must answer, or the link stays refused */
        return now_ms - l->last_hello_ms >= l->opts.timeout_ms;   /* try again, slowly */
    }
    if (l->hello_due)
        return true;
    return l->state == XF_LINK_DOWN && now_ms - l->last_hello_ms >= l->opts.hello_every_ms;
}

void xf_link_hello_sent (xf_link_t *l, int64_t now_ms)
{
    l->hello_due = l->hello_is_answer = false;
    l->last_hello_ms = l->last_sent_ms = now_ms;
    l->ack_sent = l->applied;
}

bool xf_link_ack_due (const xf_link_t *l, int64_t now_ms)
{
    if (l->state != XF_LINK_UP)
        return false;
    return l->applied > l->ack_sent || now_ms - l->last_sent_ms >= l->opts.keepalive_ms;
}

void xf_link_ack_sent (xf_link_t *l, int64_t now_ms)
{
    l->ack_sent = l->applied;
    l->last_sent_ms = now_ms;
}

uint64_t xf_link_ack_value (const xf_link_t *l)
{
    return l->applied;
}

void xf_link_heard (xf_link_t *l, int64_t now_ms)
{
    l->last_heard_ms = now_ms;
    l->frames_in++;
}

bool xf_link_tick (xf_link_t *l, int64_t now_ms)
{
    /* Hellos and gaps rewind only when the peer sees something missing; if the last frames
     * sent (or a whole window) were lost, nothing follows them, the peer's keepalives keep the
     * link up, and without this the link would wait forever. Go back to the ack and resend. */
    if (l->state == XF_LINK_UP && l->sent > l->acked
        && now_ms - l->wait_since_ms >= l->opts.keepalive_ms)
        l->sent = l->acked;
    if (l->state == XF_LINK_UP && now_ms - l->last_heard_ms > l->opts.timeout_ms)
        return xf_link_lost (l);
    return false;
}

bool xf_link_lost (xf_link_t *l)
{
    if (l->state != XF_LINK_UP)
        return false;
    l->state = XF_LINK_DOWN;
    l->hello_due = true;
    l->hello_is_answer = false;
    return true;
}

const char *xf_link_state_name (xf_link_state_t s)
{
    switch (s) {
    case XF_LINK_UP:      return "up";
    case XF_LINK_REFUSED: return "refused";
    default:              return "down";
    }
}
