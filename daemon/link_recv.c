/* link_recv.c — what comes in on the links: frames read from both sockets, checked, sorted by
 * the protocol (lib/xf_link), and everything readable in one loop turn applied in one store
 * transaction (group commit) before it is acknowledged. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>
#include "link_int.h"
#include "log.h"
#include "xf_msg.h"
#include "xf_outbox.h"

typedef struct {   /* one envelope to apply in the batch */
    peer_t *peer;
    const Xf__SignedEnvelope *se;   /* in one of the batch's frames */
    Xf__Envelope *env;
} item_t;

typedef struct {
    xf_links_t *l;
    item_t *items;
    size_t n;
    Xf__LinkFrame **frames;   /* the frames the items are in, freed after the transaction */
    size_t n_frames;
    int64_t now;
} batch_t;

static int announce (xf_links_t *l, peer_t *p, const Xf__RouteAnnouncement *ra)
{
    xf_err_t err = {0};
    const char *const *names = ra->n_names == ra->n_codes ? (const char *const *) ra->names : NULL;
    if (xf_routes_announce (l->routes, p->st.peer, (const char *const *) ra->codes, names,
                            ra->n_codes, &err) != XF_OK) {
        log_warn ("link %s: %s", p->st.peer, err.msg);
        return -1;
    }
    return 0;
}

typedef struct {
    const char *peer;
    uint8_t *buf;   /* the announcement, packed once */
    size_t len;
    bool same;      /* the stored announcement is this one */
} routes_save_t;

static size_t routes_key (char *key, size_t size, const char *peer)
{
    return (size_t) snprintf (key, size, "routes/%s", peer);
}

/* Whether the child announced what is stored already: a hello repeats its subtree, and a
 * durable write and a hello to our parent for nothing new would climb the whole tree each
 * time any office below reconnects. */
static int routes_same (xf_txn_t *txn, void *arg, xf_err_t *err)
{
    routes_save_t *s = arg;
    char key[32];
    const void *v = NULL;
    size_t vlen = 0;
    int rc = xf_txn_get (txn, XF_DB_LINKS, key, routes_key (key, sizeof key, s->peer), &v, &vlen, err);
    s->same = rc == XF_OK && vlen == s->len && memcmp (v, s->buf, s->len) == 0;
    return rc == XF_ENOTFOUND ? XF_OK : rc;
}

static int save_routes (xf_txn_t *txn, void *arg, xf_err_t *err)
{
    routes_save_t *s = arg;
    char key[32];
    return xf_txn_put (txn, XF_DB_LINKS, key, routes_key (key, sizeof key, s->peer), s->buf,
                       s->len, err);
}

/* Keeps a child's announcement (routes before it reconnects after a restart); true when it
 * differs from the one kept. */
static bool keep_routes (xf_links_t *l, peer_t *p, const Xf__RouteAnnouncement *ra)
{
    xf_err_t err = {0};
    routes_save_t s = {p->st.peer, NULL, xf__route_announcement__get_packed_size (ra), false};
    if (!(s.buf = malloc (s.len ? s.len : 1))) {
        log_error ("link %s: cannot store its routes: out of memory", p->st.peer);
        return true;
    }
    xf__route_announcement__pack (ra, s.buf);
    if (xf_store_read (l->node->store, routes_same, &s, &err) != XF_OK || !s.same) {
        if (xf_store_write (l->node->store, save_routes, &s, &err) != XF_OK)
            log_error ("link %s: cannot store its routes: %s", p->st.peer, err.msg);
        s.same = false;
    }
    free (s.buf);
    return !s.same;
}

void links_rehello (xf_links_t *l)
{
    for (size_t i = 0; l && i < l->n_peers; i++)
        if (l->peers[i].st.state == XF_LINK_UP && !l->peers[i].st.hello_due) {
            l->peers[i].st.hello_due = true;
            l->peers[i].st.hello_is_answer = false;
        }
}

typedef struct {
    peer_t *p;
    uint64_t first_kept;
} resync_t;

/* The store's side of a hello after a restore, here or at the peer (xf_link_on_hello). */
static int resync_txn (xf_txn_t *txn, void *arg, xf_err_t *err)
{
    resync_t *r = arg;
    xf_link_t *st = &r->p->st;
    int rc = XF_OK;
    if (st->renumber_from)
        rc = xf_outbox_renumber (txn, st->peer, st->renumber_from, st->renumber_to, err);
    else if (st->resync_due)
        rc = xf_outbox_set_restored (txn, st->peer, 0, err);
    if (rc == XF_OK && st->peer_restored) {   /* it lost what it acknowledged: so do we */
        xf_link_pos_t pos;
        if ((rc = xf_outbox_positions (txn, st->peer, &pos, err)) == XF_OK && pos.acked > st->acked) {
            pos.acked = st->acked;
            rc = xf_outbox_set_positions (txn, st->peer, &pos, err);
        }
    }
    if (rc == XF_OK && st->lost_from)
        rc = xf_outbox_set_applied (txn, st->peer, st->applied, err);
    if (rc == XF_OK && st->peer_restored) {
        char key[40];
        snprintf (key, sizeof key, "peer_epoch/%s", st->peer);
        rc = xf_txn_meta_set_u64 (txn, key, st->peer_epoch, err);
    }
    if (rc == XF_OK)
        rc = xf_outbox_first (txn, st->peer, &r->first_kept, err);
    return rc;
}

typedef struct {
    xf_links_t *l;
    peer_t *p;
} reload_t;

static int read_peer (xf_txn_t *txn, void *arg, xf_err_t *err)
{
    reload_t *r = arg;
    return link_load_peer (txn, r->l, r->p, err);
}

/* The store could not record a resynchronisation: the link starts again from what it holds. */
static void reload_positions (xf_links_t *l, peer_t *p)
{
    xf_err_t err = {0};
    reload_t r = {l, p};
    if (xf_store_read (l->node->store, read_peer, &r, &err) != XF_OK)
        log_error ("link %s: %s", p->st.peer, err.msg);
    xf_link_lost (&p->st);
}

/* What the hello means after a restore: our envelopes queued since the restore of this store
 * renumbered, the peer's that it no longer holds given up, ours that a restored peer lost sent
 * again from what is kept. false when the store could not record it (the link goes down). */
static bool resync (xf_links_t *l, peer_t *p, const Xf__Hello *h, uint64_t acked_before)
{
    xf_err_t err = {0};
    xf_link_t *st = &p->st;
    resync_t r = {p, 0};
    bool restored = st->resync_due;
    if (!restored && !st->lost_from && !st->peer_restored)
        return true;
    if (xf_store_write (l->node->store, resync_txn, &r, &err) != XF_OK) {
        log_error ("link %s: cannot record the positions after a restore: %s; the link waits "
                   "for the next hello", st->peer, err.msg);
        reload_positions (l, p);
        return false;
    }
    if (st->renumber_from)
        log_warn ("link %s: this store was restored from a backup holding our envelopes up to "
                  "#%llu, and the peer had applied up to #%llu (sent before the restore): the %llu "
                  "queued since the restore go as #%llu and after", st->peer,
                  (unsigned long long) (st->renumber_from - 1), (unsigned long long) h->applied,
                  (unsigned long long) (st->next_seq - st->renumber_to),
                  (unsigned long long) st->renumber_to);
    else if (restored)
        log_info ("link %s: resynchronised after the restore: it applied our #%llu, we applied its "
                  "#%llu and ask for the rest", st->peer, (unsigned long long) h->applied,
                  (unsigned long long) st->applied);
    st->resync_due = false;
    st->renumber_from = st->renumber_to = 0;
    if (st->lost_from)
        log_error ("link %s: the peer no longer keeps its envelopes #%llu..#%llu for this office "
                   "(older than its [links] keep_acked_days): they are lost here; run xfctl "
                   "reconcile to compare the cases with it", st->peer,
                   (unsigned long long) st->lost_from, (unsigned long long) st->lost_to);
    st->lost_from = st->lost_to = 0;
    if (st->peer_restored)
        log_warn ("link %s: the peer was restored from a backup (epoch %llu); it applied our "
                  "envelopes up to #%llu%s", st->peer, (unsigned long long) h->epoch,
                  (unsigned long long) h->applied,
                  h->applied < acked_before ? ", less than it had acknowledged: sending the rest "
                                              "again from what is kept" : "");
    st->peer_restored = false;
    if (h->applied < acked_before) {
        if (r.first_kept > st->sent + 1) {
            log_error ("link %s: our envelopes #%llu..#%llu are no longer kept ([links] "
                       "keep_acked_days) and cannot be sent again: run xfctl reconcile there",
                       st->peer, (unsigned long long) (st->sent + 1),
                       (unsigned long long) (r.first_kept - 1));
            st->sent = r.first_kept - 1;
        }
    }
    return true;
}

static void on_hello (xf_links_t *l, peer_t *p, const Xf__Hello *h, int64_t now)
{
    xf_err_t err = {0};
    xf_link_state_t before = p->st.state;
    uint64_t acked_before = p->st.acked;
    if (xf_link_on_hello (&p->st, h, p->st.peer, now, &err) != XF_OK) {
        log_warn ("%s", err.msg);
        return;
    }
    if (!resync (l, p, h, acked_before))
        return;
    trust_learn (l->node, p->st.peer, h->certificates, h->n_certificates);
    if (trust_revocations_take (l->node, p->st.peer, h->revocations, h->n_revocations))
        links_rehello (l);   /* pass it on at once */
    if (before != XF_LINK_UP)
        log_info ("link %s: up (it applied our %llu, we applied its %llu; %llu waiting for it)",
                  p->st.peer, (unsigned long long) h->applied, (unsigned long long) p->st.applied,
                  (unsigned long long) xf_link_backlog (&p->st));
    if (!p->is_parent && h->routes && announce (l, p, h->routes) == 0 && keep_routes (l, p, h->routes))
        l->routes_dirty = true;   /* the parent hears it at the next tick, once for all since */
}

/* One frame from peer p and the n envelopes it carries (at f->seq, f->seq + 1, …; taken):
 * liveness, its ack and hello, each envelope that is the next in order put in the batch, the
 * others dropped. */
static void on_frame (xf_links_t *l, batch_t *b, peer_t *p, Xf__LinkFrame *f, Xf__Envelope **env,
                      size_t n)
{
    bool advanced = false;
    xf_err_t err = {0};
    size_t kept = 0;
    p->last_seen = node_now (l->node);
    xf_link_heard (&p->st, b->now);
    if (xf_link_on_ack (&p->st, f->ack, &advanced, &err) != XF_OK) {
        p->st.rejected++;
        log_warn ("%s", err.msg);
    } else if (advanced)
        p->trim_pending = true;
    if (f->payload_case == XF__LINK_FRAME__PAYLOAD_HELLO)
        on_hello (l, p, f->hello, b->now);
    for (size_t i = 0; i < n; i++) {
        if (p->st.state == XF_LINK_UP
            && xf_link_receive (&p->st, f->seq + i, b->now) == XF_LINK_APPLY) {
            b->items[b->n++] = (item_t) {p, i ? f->more[i - 1] : f->envelope, env[i]};
            kept++;
        } else
            xf_msg_envelope_free (&env[i]);
    }
    if (kept)
        b->frames[b->n_frames++] = f;
    else
        xf_msg_frame_free (&f);
}

static Xf__LinkFrame *decode (xf_links_t *l, const char *from, zmq_msg_t *msg, Xf__Envelope **env,
                              size_t *n)
{
    xf_err_t err = {0};
    Xf__LinkFrame *f = xf_msg_frame_unpack_batch (zmq_msg_data (msg), zmq_msg_size (msg),
                                                  l->node->conf->code, env, n, &err);
    if (!f) {
        l->unknown_frames++;
        log_warn ("link %s: rejected a frame of %zu bytes: %s", from, zmq_msg_size (msg), err.msg);
    }
    return f;
}

static bool recv_router (xf_links_t *l, batch_t *b)
{
    zmq_msg_t rid, msg;
    zmq_msg_init (&rid);
    zmq_msg_init (&msg);
    if (zmq_msg_recv (&rid, l->router, ZMQ_DONTWAIT) < 0) {
        zmq_msg_close (&rid);
        zmq_msg_close (&msg);
        return false;
    }
    bool got = zmq_msg_more (&rid) && zmq_msg_recv (&msg, l->router, ZMQ_DONTWAIT) >= 0;
    /* the sender, from the first part: a message of several parts is still its fault */
    const char *user = got ? zmq_msg_gets (&msg, "User-Id") : NULL;
    size_t parts = got ? 1 : 0;
    bool more = got && zmq_msg_more (&msg);
    while (more) {   /* extra parts: not ours; drain and reject */
        zmq_msg_t skip;
        zmq_msg_init (&skip);
        more = zmq_msg_recv (&skip, l->router, 0) >= 0 && zmq_msg_more (&skip);
        zmq_msg_close (&skip);
        parts++;
    }
    peer_t *p = user ? link_find_peer (l, user) : NULL;
    if (!p || p->is_parent) {
        l->unknown_frames++;
        log_warn ("rejected a frame from an unauthenticated or unknown connection (%s)",
                  user ? user : "no identity");
    } else if (parts != 1) {
        p->st.rejected++;
        log_warn ("link %s: rejected a message of %zu parts (a link frame is one part)",
                  p->st.peer, parts);
    } else {
        Xf__Envelope *env[XF_LINK_BATCH_MAX];
        size_t n = 0;
        Xf__LinkFrame *f = decode (l, p->st.peer, &msg, env, &n);
        if (!f)
            p->st.rejected++;
        else {
            if (zmq_msg_size (&rid) <= sizeof p->rid) {
                memcpy (p->rid, zmq_msg_data (&rid), zmq_msg_size (&rid));
                p->rid_len = zmq_msg_size (&rid);
            }
            on_frame (l, b, p, f, env, n);
        }
    }
    zmq_msg_close (&rid);
    zmq_msg_close (&msg);
    return true;
}

static bool recv_dealer (xf_links_t *l, batch_t *b)
{
    zmq_msg_t msg;
    zmq_msg_init (&msg);
    if (zmq_msg_recv (&msg, l->dealer, ZMQ_DONTWAIT) < 0) {
        zmq_msg_close (&msg);
        return false;
    }
    peer_t *p = parent_peer (l);
    Xf__Envelope *env[XF_LINK_BATCH_MAX];
    size_t n = 0;
    Xf__LinkFrame *f = decode (l, p->st.peer, &msg, env, &n);
    if (!f)
        p->st.rejected++;
    else
        on_frame (l, b, p, f, env, n);
    zmq_msg_close (&msg);
    return true;
}

/* What the peers acknowledged, stored first: an envelope applied below may go into an outbox
 * whose limit counts from the acknowledged position as stored, and the acknowledgement that
 * made room may have come while no transaction ran (until stop 24 this ran last, and a full
 * outbox refused work for up to a second after the peer had taken everything). */
static int retire_acked (xf_txn_t *txn, xf_links_t *l, xf_err_t *err)
{
    int rc = XF_OK;
    for (size_t i = 0; rc == XF_OK && i < l->n_peers; i++) {
        peer_t *p = &l->peers[i];
        if (p->trim_pending)
            rc = xf_outbox_retire (txn, p->st.peer, p->st.acked, node_now (l->node) / 86400,
                                   l->node->conf->keep_acked_days, err);
    }
    return rc;
}

static int apply_txn (xf_txn_t *txn, void *arg, xf_err_t *err)
{
    batch_t *b = arg;
    xf_links_t *l = b->l;
    xf_net_t net = links_net (l);
    int rc = retire_acked (txn, l, err);
    if (rc != XF_OK)
        return rc;
    for (size_t i = 0; i < b->n; i++) {
        item_t *it = &b->items[i];
        xf_applied_t out;
        if ((rc = xf_office_apply (txn, l->node->office, &net, it->peer->st.peer, it->se,
                                   it->env, node_now (l->node), &out, err)) != XF_OK)
            return rc;
        if (out.refused) {
            it->peer->refused++;
            log_warn ("link %s: envelope %s/%llu refused: %s%s", it->peer->st.peer,
                      it->env->id->origin, (unsigned long long) it->env->id->seq, out.reason,
                      out.bounced ? " (its origin is told)" : "");
        }
        if (out.undelivered)
            log_warn ("link %s: undelivered: %s%s", it->peer->st.peer, out.reason,
                      out.returned ? "; the case is this office's again" : "");
        if (out.answered || out.refusal)
            log_warn ("link %s: %s", it->peer->st.peer, out.reason);
        else if (out.noted && !out.refused)
            log_info ("link %s: %s", it->peer->st.peer, out.reason);
    }
    for (size_t i = 0; rc == XF_OK && i < l->n_peers; i++) {
        peer_t *p = &l->peers[i];
        if (p->st.pending != p->st.applied)
            rc = xf_outbox_set_applied (txn, p->st.peer, p->st.pending, err);
    }
    return rc;
}

/* Envelopes to apply make a transaction; acknowledged outbox entries alone wait up to a second
 * to ride along with one: dropping them is not urgent (a crash only means the peer sees them
 * again and drops them as duplicates), and a commit of its own would cost an fsync. */
static bool batch_dirty (const batch_t *b)
{
    if (b->n)
        return true;
    for (size_t i = 0; i < b->l->n_peers; i++)
        if (b->l->peers[i].trim_pending && b->now - b->l->last_trim_ms >= 1000)
            return true;
    return false;
}

void links_work (xf_links_t *l)
{
    item_t items[BATCH_MAX + XF_LINK_BATCH_MAX];   /* the last frame may overshoot */
    Xf__LinkFrame *frames[BATCH_MAX + XF_LINK_BATCH_MAX];
    batch_t b = {.l = l, .items = items, .frames = frames, .now = mono_ms ()};
    int events = 0;
    size_t ev_len = sizeof events;
    while (l->zap && zmq_getsockopt (l->zap, ZMQ_EVENTS, &events, &ev_len) == 0 && (events & ZMQ_POLLIN))
        link_zap_serve (l);
    bool more = true;
    while (more && b.n < BATCH_MAX) {   /* drain what is readable: one transaction for all */
        more = false;
        if (l->router && recv_router (l, &b))
            more = true;
        if (l->dealer && b.n < BATCH_MAX && recv_dealer (l, &b))
            more = true;
    }
    if (batch_dirty (&b)) {
        xf_err_t err = {0};
        int rc = xf_store_write (l->node->store, apply_txn, &b, &err);
        for (size_t i = 0; i < l->n_peers; i++) {
            if (rc == XF_OK)
                xf_link_committed (&l->peers[i].st);
            else
                xf_link_aborted (&l->peers[i].st);   /* the peers will send them again */
        }
        if (rc != XF_OK)
            log_error ("links: could not apply %zu envelope(s): %s", b.n, err.msg);
        for (size_t i = 0; rc == XF_OK && i < b.n; i++)
            b.items[i].peer->envelopes_in++;
        for (size_t i = 0; rc == XF_OK && i < l->n_peers; i++)
            l->peers[i].trim_pending = false;
        if (rc == XF_OK)
            l->last_trim_ms = b.now;
        if (rc == XF_OK && xf_store_read (l->node->store, link_refresh_positions, l, &err) != XF_OK)
            log_error ("links: %s", err.msg);
    }
    for (size_t i = 0; i < b.n; i++)
        xf_msg_envelope_free (&b.items[i].env);
    for (size_t i = 0; i < b.n_frames; i++)
        xf_msg_frame_free (&b.frames[i]);
    for (size_t i = 0; i < l->n_peers; i++)
        if (l->peers[i].is_parent || l->peers[i].rid_len)
            link_flush_peer (l, &l->peers[i], b.now);
}

