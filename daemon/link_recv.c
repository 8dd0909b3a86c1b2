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
    Xf__LinkFrame *frame;
    Xf__Envelope *env;
} item_t;

typedef struct {
    xf_links_t *l;
    item_t *items;
    size_t n;
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
    const Xf__RouteAnnouncement *ra;
} routes_save_t;

static int save_routes (xf_txn_t *txn, void *arg, xf_err_t *err)
{
    routes_save_t *s = arg;
    char key[32];
    size_t len = xf__route_announcement__get_packed_size (s->ra);
    uint8_t *buf = malloc (len ? len : 1);
    if (!buf)
        return xf_err_set (err, XF_ENOMEM, "out of memory");
    xf__route_announcement__pack (s->ra, buf);
    snprintf (key, sizeof key, "routes/%s", s->peer);
    int rc = xf_txn_put (txn, XF_DB_LINKS, key, strlen (key), buf, len, err);
    free (buf);
    return rc;
}

void links_rehello (xf_links_t *l)
{
    for (size_t i = 0; l && i < l->n_peers; i++)
        if (l->peers[i].st.state == XF_LINK_UP && !l->peers[i].st.hello_due) {
            l->peers[i].st.hello_due = true;
            l->peers[i].st.hello_is_answer = false;
        }
}

static void on_hello (xf_links_t *l, peer_t *p, const Xf__Hello *h, int64_t now)
{
    xf_err_t err = {0};
    xf_link_state_t before = p->st.state;
    if (xf_link_on_hello (&p->st, h, p->st.peer, now, &err) != XF_OK) {
        log_warn ("%s", err.msg);
        return;
    }
    trust_learn (l->node, p->st.peer, h->certificates, h->n_certificates);
    if (trust_revocations_take (l->node, p->st.peer, h->revocations, h->n_revocations))
        links_rehello (l);   /* pass it on at once */
    if (before != XF_LINK_UP)
        log_info ("link %s: up (it applied our %llu, we applied its %llu; %llu waiting for it)",
                  p->st.peer, (unsigned long long) h->applied, (unsigned long long) p->st.applied,
                  (unsigned long long) xf_link_backlog (&p->st));
    if (!p->is_parent && h->routes && announce (l, p, h->routes) == 0) {
        routes_save_t s = {p->st.peer, h->routes};
        if (xf_store_write (l->node->store, save_routes, &s, &err) != XF_OK)
            log_error ("link %s: cannot store its routes: %s", p->st.peer, err.msg);
        peer_t *up = parent_peer (l);
        if (up && !up->st.hello_due) {   /* our subtree changed: tell the parent */
            up->st.hello_due = true;
            up->st.hello_is_answer = false;
        }
    }
}

/* One frame from peer p: liveness, its ack, and its payload (env: the decoded envelope of an
 * envelope frame; taken). */
static void on_frame (xf_links_t *l, batch_t *b, peer_t *p, Xf__LinkFrame *f, Xf__Envelope *env)
{
    bool advanced = false;
    xf_err_t err = {0};
    p->last_seen = node_now (l->node);
    bool envelope = f->payload_case == XF__LINK_FRAME__PAYLOAD_ENVELOPE;
    if (!envelope || p->st.state != XF_LINK_UP)
        xf_link_heard (&p->st, b->now);   /* xf_link_receive counts the others */
    if (xf_link_on_ack (&p->st, f->ack, &advanced, &err) != XF_OK) {
        p->st.rejected++;
        log_warn ("%s", err.msg);
    } else if (advanced)
        p->trim_pending = true;
    if (f->payload_case == XF__LINK_FRAME__PAYLOAD_HELLO)
        on_hello (l, p, f->hello, b->now);
    if (!envelope || !env || p->st.state != XF_LINK_UP
        || xf_link_receive (&p->st, f->seq, b->now) != XF_LINK_APPLY) {
        xf_msg_envelope_free (&env);
        xf_msg_frame_free (&f);
        return;
    }
    b->items[b->n++] = (item_t) {p, f, env};
}

static Xf__LinkFrame *decode (xf_links_t *l, const char *from, zmq_msg_t *msg, Xf__Envelope **env)
{
    xf_err_t err = {0};
    Xf__LinkFrame *f = xf_msg_frame_unpack_full (zmq_msg_data (msg), zmq_msg_size (msg), env, &err);
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
        Xf__Envelope *env = NULL;
        Xf__LinkFrame *f = decode (l, p->st.peer, &msg, &env);
        if (!f)
            p->st.rejected++;
        else {
            if (zmq_msg_size (&rid) <= sizeof p->rid) {
                memcpy (p->rid, zmq_msg_data (&rid), zmq_msg_size (&rid));
                p->rid_len = zmq_msg_size (&rid);
            }
            on_frame (l, b, p, f, env);
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
    Xf__Envelope *env = NULL;
    Xf__LinkFrame *f = decode (l, p->st.peer, &msg, &env);
    if (!f)
        p->st.rejected++;
    else
        on_frame (l, b, p, f, env);
    zmq_msg_close (&msg);
    return true;
}

static int apply_txn (xf_txn_t *txn, void *arg, xf_err_t *err)
{
    batch_t *b = arg;
    xf_links_t *l = b->l;
    xf_net_t net = links_net (l);
    for (size_t i = 0; i < b->n; i++) {
        item_t *it = &b->items[i];
        xf_applied_t out;
        int rc = xf_office_apply (txn, l->node->office, &net, it->peer->st.peer, it->frame->envelope,
                                  it->env, node_now (l->node), &out, err);
        if (rc != XF_OK)
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
    for (size_t i = 0; i < l->n_peers; i++) {
        peer_t *p = &l->peers[i];
        int rc = XF_OK;
        if (p->st.pending != p->st.applied)
            rc = xf_outbox_set_applied (txn, p->st.peer, p->st.pending, err);
        if (rc == XF_OK && p->trim_pending)
            rc = xf_outbox_trim (txn, p->st.peer, p->st.acked, err);
        if (rc != XF_OK)
            return rc;
    }
    return XF_OK;
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
    item_t items[BATCH_MAX];
    batch_t b = {.l = l, .items = items, .now = mono_ms ()};
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
    for (size_t i = 0; i < b.n; i++) {
        xf_msg_envelope_free (&b.items[i].env);
        xf_msg_frame_free (&b.items[i].frame);
    }
    for (size_t i = 0; i < l->n_peers; i++)
        if (l->peers[i].is_parent || l->peers[i].rid_len)
            link_flush_peer (l, &l->peers[i], b.now);
}

