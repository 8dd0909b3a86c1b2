/* link.c — the links of xfsyncd: a DEALER to the parent, a ROUTER for the children, set up
 * from the configuration, and their timers (liveness, resends, redialling a parent whose
 * handshake failed). Sending is link_send.c, receiving link_recv.c, the key check of children
 * link_zap.c, `status` link_status.c; the protocol decisions are lib/xf_link's. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zmq.h>
#include "link_int.h"
#include "log.h"
#include "xf_msg.h"
#include "xf_outbox.h"

peer_t *link_find_peer (xf_links_t *l, const char *code)
{
    for (size_t i = 0; i < l->n_peers; i++)
        if (strcmp (l->peers[i].st.peer, code) == 0)
            return &l->peers[i];
    return NULL;
}

/* ---------------------------------------------------------------- set-up */

int link_load_peer (xf_txn_t *txn, xf_links_t *l, peer_t *p, xf_err_t *err)
{
    xf_link_opts_t opts = {(uint32_t) l->node->conf->window, 1000, 2000, 10000,
                           (uint32_t) l->node->conf->link_version};
    xf_link_pos_t pos;
    char key[40];
    int rc = xf_outbox_positions (txn, p->st.peer, &pos, err);
    if (rc != XF_OK)
        return rc;
    xf_link_init (&p->st, p->st.peer, &opts, pos.applied, pos.next_seq, pos.acked);
    snprintf (key, sizeof key, "peer_epoch/%s", p->st.peer);
    if ((rc = xf_outbox_restored (txn, p->st.peer, &p->st.restored, err)) == XF_OK
        && (rc = xf_txn_meta_u64 (txn, "epoch", &p->st.epoch, err)) == XF_OK)
        rc = xf_txn_meta_u64 (txn, key, &p->st.peer_epoch, err);
    return rc;
}

static int load_positions (xf_txn_t *txn, void *arg, xf_err_t *err)
{
    xf_links_t *l = arg;
    int rc = XF_OK;
    for (size_t i = 0; i < l->n_peers && rc == XF_OK; i++)
        rc = link_load_peer (txn, l, &l->peers[i], err);
    return rc;
}

/* Routes the children announced before a restart, so relaying works before they reconnect. */
static int load_routes (xf_txn_t *txn, void *arg, xf_err_t *err)
{
    xf_links_t *l = arg;
    for (size_t i = 0; i < l->n_peers; i++) {
        char key[32];
        const void *v = NULL;
        size_t vlen = 0;
        if (l->peers[i].is_parent)
            continue;
        snprintf (key, sizeof key, "routes/%s", l->peers[i].st.peer);
        int rc = xf_txn_get (txn, XF_DB_LINKS, key, strlen (key), &v, &vlen, err);
        if (rc == XF_ENOTFOUND)
            continue;
        if (rc != XF_OK)
            return rc;
        Xf__RouteAnnouncement *ra = xf__route_announcement__unpack (NULL, vlen, v);
        if (ra) {
            xf_err_t ignored = {0};
            xf_routes_announce (l->routes, l->peers[i].st.peer, (const char *const *) ra->codes,
                                ra->n_names == ra->n_codes ? (const char *const *) ra->names : NULL,
                                ra->n_codes, &ignored);
            xf__route_announcement__free_unpacked (ra, NULL);
        }
    }
    return XF_OK;
}

static int set_curve_common (void *s, xf_node_t *node)
{
    int linger = 0, ivl = 2000, ttl = 10000, timeout = 6000;
    /* libzmq allocates a frame's announced size before reading it, during the handshake too:
     * without a limit anyone who can reach the port makes the node allocate any size. Frames
     * over XF_MSG_MAX_FRAME are refused anyway; the slack covers the CURVE box around one. */
    int64_t max_msg = XF_MSG_MAX_FRAME + 4096;
    return zmq_setsockopt (s, ZMQ_LINGER, &linger, sizeof linger)
           || zmq_setsockopt (s, ZMQ_MAXMSGSIZE, &max_msg, sizeof max_msg)
           || zmq_setsockopt (s, ZMQ_HEARTBEAT_IVL, &ivl, sizeof ivl)
           || zmq_setsockopt (s, ZMQ_HEARTBEAT_TTL, &ttl, sizeof ttl)
           || zmq_setsockopt (s, ZMQ_HEARTBEAT_TIMEOUT, &timeout, sizeof timeout)
           || zmq_setsockopt (s, ZMQ_CURVE_SECRETKEY, node->secret_key, 40)
           || zmq_setsockopt (s, ZMQ_CURVE_PUBLICKEY, node->public_key, 40);
}

static int open_router (xf_links_t *l, char *errbuf, size_t errlen)
{
    xf_node_t *node = l->node;
    int one = 1, hwm = 100000;
    /* The ZAP handler exists before the ROUTER binds: libzmq 4.3 admits every CURVE client
     * while no handler is bound. */
    if (link_zap_open (l, errbuf, errlen) != 0)
        return -1;
    l->router = zmq_socket (l->ctx, ZMQ_ROUTER);
    if (!l->router || set_curve_common (l->router, node)
        || zmq_setsockopt (l->router, ZMQ_CURVE_SERVER, &one, sizeof one)
        || zmq_setsockopt (l->router, ZMQ_ZAP_DOMAIN, ZAP_DOMAIN, strlen (ZAP_DOMAIN))
        || zmq_setsockopt (l->router, ZMQ_ROUTER_MANDATORY, &one, sizeof one)
        || zmq_setsockopt (l->router, ZMQ_SNDHWM, &hwm, sizeof hwm)
        || zmq_setsockopt (l->router, ZMQ_RCVHWM, &hwm, sizeof hwm)
        || zmq_bind (l->router, node->conf->listen) != 0) {
        snprintf (errbuf, errlen, "listen %s: %s", node->conf->listen, zmq_strerror (zmq_errno ()));
        return -1;
    }
    return 0;
}

/* libzmq (4.3) gives up an endpoint for good when its handshake fails — the parent's ZAP
 * handler refused our key, or the CURVE handshake failed (a wrong [parent] public_key): it
 * never reconnects, even once the parent is fixed. The monitor tells us; links_tick redials. */
static int open_dealer_monitor (xf_links_t *l)
{
    char ep[64];
    int linger = 0;
    snprintf (ep, sizeof ep, "inproc://xfsync.parent-monitor.%p", (void *) l);
    if (zmq_socket_monitor (l->dealer, ep, ZMQ_EVENT_HANDSHAKE_SUCCEEDED | ZMQ_EVENT_DISCONNECTED
                            | ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL | ZMQ_EVENT_HANDSHAKE_FAILED_AUTH) != 0)
        return -1;
    l->dealer_mon = zmq_socket (l->ctx, ZMQ_PAIR);
    if (!l->dealer_mon || zmq_setsockopt (l->dealer_mon, ZMQ_LINGER, &linger, sizeof linger)
        || zmq_connect (l->dealer_mon, ep) != 0)
        return -1;
    return 0;
}

static int open_dealer (xf_links_t *l, char *errbuf, size_t errlen)
{
    xf_node_t *node = l->node;
    unsigned r = 0;
    FILE *f = fopen ("/dev/urandom", "rb");
    if (f) {
        if (fread (&r, sizeof r, 1, f) != 1)
            r = (unsigned) getpid ();
        fclose (f);
    }
    /* Exponential back-off with jitter, so refused or restarted children do not reconnect
     * in step or hammer their parent; at most 5 s apart, so that a parent back from a restart
     * hears from its children within seconds (at 30 s, measured: a city's link came back
     * 26.5 s after its province, down 40 s, had restarted). Even 200 children then try at
     * most 40 connections a second, each refused at once while the parent is down. */
    int ivl = 200 + (int) (r % 300), ivl_max = 5000, hwm = 100000, one = 1;
    l->dealer = zmq_socket (l->ctx, ZMQ_DEALER);
    if (!l->dealer || set_curve_common (l->dealer, node)
        || zmq_setsockopt (l->dealer, ZMQ_CURVE_SERVERKEY, node->conf->parent_public_key, 40)
        || zmq_setsockopt (l->dealer, ZMQ_RECONNECT_IVL, &ivl, sizeof ivl)
        || zmq_setsockopt (l->dealer, ZMQ_RECONNECT_IVL_MAX, &ivl_max, sizeof ivl_max)
        || zmq_setsockopt (l->dealer, ZMQ_IMMEDIATE, &one, sizeof one)
        || zmq_setsockopt (l->dealer, ZMQ_SNDHWM, &hwm, sizeof hwm)
        || zmq_setsockopt (l->dealer, ZMQ_RCVHWM, &hwm, sizeof hwm)
        || open_dealer_monitor (l) != 0
        || zmq_connect (l->dealer, node->conf->parent_endpoint) != 0) {
        snprintf (errbuf, errlen, "parent %s at %s: %s", node->conf->parent_code,
                  node->conf->parent_endpoint, zmq_strerror (zmq_errno ()));
        return -1;
    }
    return 0;
}

static int make_peers (xf_links_t *l)
{
    const xf_conf_t *c = l->node->conf;
    l->peers = calloc (c->n_children + 1, sizeof *l->peers);
    if (!l->peers)
        return -1;
    if (c->has_parent) {
        peer_t *p = &l->peers[l->n_peers++];
        p->is_parent = true;
        snprintf (p->st.peer, sizeof p->st.peer, "%s", c->parent_code);
    }
    for (size_t i = 0; i < c->n_children; i++) {
        peer_t *p = &l->peers[l->n_peers++];
        snprintf (p->st.peer, sizeof p->st.peer, "%s", c->children[i].code);
        if (!l->node->trust)   /* with it, children are admitted by certificate (trust_admit) */
            snprintf (p->key, sizeof p->key, "%s", c->children[i].public_key);
        if (xf_routes_add_child (l->routes, p->st.peer, NULL) != XF_OK)
            return -1;
        xf_routes_set_name (l->routes, p->st.peer, c->children[i].name);
    }
    return 0;
}

xf_links_t *links_new (xf_node_t *node, char *errbuf, size_t errlen)
{
    xf_err_t err = {0};
    xf_links_t *l = calloc (1, sizeof *l);
    if (!l) {
        snprintf (errbuf, errlen, "links: out of memory");
        return NULL;
    }
    l->node = node;
    l->ctx = zmq_ctx_new ();
    l->routes = xf_routes_new (node->conf->code, node->conf->has_parent ? node->conf->parent_code : NULL);
    if (l->routes)
        xf_routes_set_name (l->routes, node->conf->code, node->conf->name);
    if (!l->ctx || !l->routes || make_peers (l) != 0) {
        snprintf (errbuf, errlen, "links: out of memory");
        goto fail;
    }
    if (xf_store_read (node->store, load_positions, l, &err) != XF_OK
        || xf_store_read (node->store, load_routes, l, &err) != XF_OK) {
        snprintf (errbuf, errlen, "links: %s", err.msg);
        goto fail;
    }
    if ((node->conf->n_children && open_router (l, errbuf, errlen) != 0)
        || (node->conf->has_parent && open_dealer (l, errbuf, errlen) != 0))
        goto fail;
    return l;
fail:
    links_destroy (&l);
    return NULL;
}

void links_destroy (xf_links_t **links_p)
{
    if (!links_p || !*links_p)
        return;
    xf_links_t *l = *links_p;
    if (l->dealer_mon)
        zmq_close (l->dealer_mon);
    if (l->dealer)
        zmq_close (l->dealer);
    if (l->router)
        zmq_close (l->router);
    if (l->zap)
        zmq_close (l->zap);
    if (l->ctx)
        zmq_ctx_term (l->ctx);
    xf_routes_destroy (&l->routes);
    free (l->peers);
    free (l);
    *links_p = NULL;
}

size_t links_poll_set (xf_links_t *l, void *items_, size_t max)
{
    zmq_pollitem_t *items = items_;
    size_t n = 0;
    void *socks[] = {l->zap, l->router, l->dealer};
    for (size_t i = 0; i < 3 && n < max; i++)
        if (socks[i])
            items[n++] = (zmq_pollitem_t) {socks[i], 0, ZMQ_POLLIN, 0};
    return n;
}

xf_net_t links_net (const xf_links_t *l)
{
    return (xf_net_t) {l->routes, (uint64_t) l->node->conf->outbox_limit};
}

/* Reads the DEALER's handshake events; after a failed handshake, says why and connects again
 * (backing off from REDIAL_MIN_MS to REDIAL_MAX_MS, so a refused child does not hammer). */
static void watch_parent (xf_links_t *l, int64_t now)
{
    const xf_conf_t *c = l->node->conf;
    for (;;) {
        zmq_msg_t ev, addr;
        zmq_msg_init (&ev);
        zmq_msg_init (&addr);
        if (zmq_msg_recv (&ev, l->dealer_mon, ZMQ_DONTWAIT) < 0) {
            zmq_msg_close (&ev);
            zmq_msg_close (&addr);
            break;
        }
        uint16_t event = 0;
        uint32_t value = 0;
        if (zmq_msg_size (&ev) >= 6) {
            memcpy (&event, zmq_msg_data (&ev), 2);
            memcpy (&value, (const uint8_t *) zmq_msg_data (&ev) + 2, 4);
        }
        while (zmq_msg_more (&ev) && zmq_msg_recv (&addr, l->dealer_mon, 0) >= 0 && zmq_msg_more (&addr))
            ;
        zmq_msg_close (&ev);
        zmq_msg_close (&addr);
        if (event == ZMQ_EVENT_HANDSHAKE_SUCCEEDED) {
            l->redial_ms = 0;
            l->redial_at = 0;
            continue;
        }
        if (event == ZMQ_EVENT_DISCONNECTED) {   /* libzmq reconnects by itself */
            if (xf_link_lost (&parent_peer (l)->st))
                log_warn ("link %s: down (the connection to %s closed)", c->parent_code,
                          c->parent_endpoint);
            continue;
        }
        if (event != ZMQ_EVENT_HANDSHAKE_FAILED_AUTH && event != ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL)
            continue;
        l->redial_ms = l->redial_ms ? l->redial_ms * 2 : REDIAL_MIN_MS;
        if (l->redial_ms > REDIAL_MAX_MS)
            l->redial_ms = REDIAL_MAX_MS;
        l->redial_at = now + l->redial_ms;
        if (event == ZMQ_EVENT_HANDSHAKE_FAILED_AUTH)
            log_error ("link %s: the parent at %s refused this node (status %u): its configuration "
                       "must list this node's public key %s under [child %s]; trying again in %d s",
                       c->parent_code, c->parent_endpoint, (unsigned) value, l->node->public_key,
                       c->code, l->redial_ms / 1000);
        else
            log_error ("link %s: the handshake with %s failed (ZMTP/CURVE protocol error 0x%x): is "
                       "[parent] public_key the parent's key? trying again in %d s", c->parent_code,
                       c->parent_endpoint, (unsigned) value, l->redial_ms / 1000);
    }
    if (l->redial_at && now >= l->redial_at) {
        l->redial_at = 0;
        zmq_disconnect (l->dealer, c->parent_endpoint);   /* usually gone already */
        if (zmq_connect (l->dealer, c->parent_endpoint) != 0)
            log_error ("link %s: connect %s: %s", c->parent_code, c->parent_endpoint,
                       zmq_strerror (zmq_errno ()));
    }
}

void links_tick (xf_links_t *l)
{
    int64_t now = mono_ms ();
    if (l->dealer_mon)
        watch_parent (l, now);
    peer_t *up = parent_peer (l);
    if (l->routes_dirty && up) {   /* our subtree changed: one hello carries every change */
        if (up->st.state == XF_LINK_UP && !up->st.hello_due) {
            up->st.hello_due = true;
            up->st.hello_is_answer = false;
        }
        l->routes_dirty = false;   /* down: the hello on reconnect carries the subtree anyway */
    }
    for (size_t i = 0; i < l->n_peers; i++) {
        peer_t *p = &l->peers[i];
        if (xf_link_tick (&p->st, now))
            log_warn ("link %s: down (nothing heard for %lld s)", p->st.peer,
                      (long long) (p->st.opts.timeout_ms / 1000));
        if (p->is_parent || p->rid_len)
            link_flush_peer (l, p, now);
    }
}

