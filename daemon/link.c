/* link.c — the links of xfsyncd: a DEALER to the parent, a ROUTER for the children, the ZAP
 * handler that admits children by their configured CURVE keys, and the glue that moves frames
 * between the sockets and the protocol decisions of lib/xf_link. Everything that arrives in
 * one loop turn is applied in one store transaction (group commit) before it is acknowledged. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <zmq.h>
#include "log.h"
#include "node.h"
#include "xf_link.h"
#include "xf_msg.h"
#include "xf_outbox.h"

#define ZAP_ENDPOINT "inproc://zeromq.zap.01"
#define ZAP_DOMAIN   "xfsync"
#define BATCH_MAX    1000
#define SOFTWARE     "xfsync 0.1.0"
#define REDIAL_MIN_MS 1000
#define REDIAL_MAX_MS 30000

typedef struct {
    xf_link_t st;
    bool is_parent;
    char key[41];                 /* the child's configured CURVE public key */
    uint8_t rid[256];             /* ROUTER routing id of the child's connection */
    size_t rid_len;
    int64_t last_seen;            /* node clock, for `status` */
    uint64_t envelopes_in, envelopes_out, refused;
    bool trim_pending;            /* acknowledged entries still in the outbox */
} peer_t;

struct xf_links {
    xf_node_t *node;
    void *ctx, *zap, *router, *dealer;
    void *dealer_mon;             /* handshake events of the DEALER (libzmq socket monitor) */
    int64_t redial_at;            /* when to connect to the parent again after a failed handshake */
    int redial_ms;                /* the back-off before that, doubling up to REDIAL_MAX_MS */
    peer_t *peers;
    size_t n_peers;
    xf_routes_t *routes;
    uint64_t unknown_frames;      /* frames from no known peer, or that do not decode */
    uint64_t refused_keys;        /* connections the ZAP handler refused */
    int64_t last_trim_ms;
};

typedef struct {   /* one envelope to apply in the batch */
    peer_t *peer;
    Xf__LinkFrame *frame;
    Xf__Envelope *env;
} item_t;

static int64_t mono_ms (void)
{
    struct timespec ts;
    clock_gettime (CLOCK_MONOTONIC, &ts);
    return (int64_t) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static peer_t *find_peer (xf_links_t *l, const char *code)
{
    for (size_t i = 0; i < l->n_peers; i++)
        if (strcmp (l->peers[i].st.peer, code) == 0)
            return &l->peers[i];
    return NULL;
}

static peer_t *parent_peer (xf_links_t *l)
{
    return l->n_peers && l->peers[0].is_parent ? &l->peers[0] : NULL;
}

/* ---------------------------------------------------------------- set-up */

static int load_positions (xf_txn_t *txn, void *arg, xf_err_t *err)
{
    xf_links_t *l = arg;
    xf_link_opts_t opts = {(uint32_t) l->node->conf->window, 1000, 2000, 10000};
    for (size_t i = 0; i < l->n_peers; i++) {
        xf_link_pos_t pos;
        int rc = xf_outbox_positions (txn, l->peers[i].st.peer, &pos, err);
        if (rc != XF_OK)
            return rc;
        xf_link_init (&l->peers[i].st, l->peers[i].st.peer, &opts, pos.applied, pos.next_seq, pos.acked);
    }
    return XF_OK;
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
    l->zap = zmq_socket (l->ctx, ZMQ_REP);
    if (!l->zap || zmq_bind (l->zap, ZAP_ENDPOINT) != 0) {
        snprintf (errbuf, errlen, "cannot start the key check (ZAP) for children: %s",
                  zmq_strerror (zmq_errno ()));
        return -1;
    }
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
     * in step or hammer their parent. */
    int ivl = 200 + (int) (r % 300), ivl_max = 30000, hwm = 100000, one = 1;
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
        snprintf (p->key, sizeof p->key, "%s", c->children[i].public_key);
        if (xf_routes_add_child (l->routes, p->st.peer, NULL) != XF_OK)
            return -1;
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

/* ---------------------------------------------------------------- ZAP: who may connect */

static void zap_reply (void *zap, const char *req_id, size_t req_len, const char *status,
                       const char *text, const char *user)
{
    zmq_send (zap, "1.0", 3, ZMQ_SNDMORE);
    zmq_send (zap, req_id, req_len, ZMQ_SNDMORE);
    zmq_send (zap, status, strlen (status), ZMQ_SNDMORE);
    zmq_send (zap, text, strlen (text), ZMQ_SNDMORE);
    zmq_send (zap, user, strlen (user), ZMQ_SNDMORE);
    zmq_send (zap, "", 0, 0);
}

static void zap_handle (xf_links_t *l)
{
    char parts[7][256];
    int lens[7] = {0};
    int n = 0, more = 1;
    size_t more_len = sizeof more;
    while (more && n < 7) {
        lens[n] = zmq_recv (l->zap, parts[n], sizeof parts[n], ZMQ_DONTWAIT);
        if (lens[n] < 0)
            return;
        n++;
        zmq_getsockopt (l->zap, ZMQ_RCVMORE, &more, &more_len);
    }
    while (more) {   /* a malformed request with too many parts: drain it */
        char skip[16];
        if (zmq_recv (l->zap, skip, sizeof skip, 0) < 0)
            break;
        zmq_getsockopt (l->zap, ZMQ_RCVMORE, &more, &more_len);
    }
    size_t id_len = n > 1 && lens[1] > 0 ? (size_t) lens[1] : 0;
    if (n < 7 || lens[5] != 5 || memcmp (parts[5], "CURVE", 5) != 0 || lens[6] != 32) {
        zap_reply (l->zap, parts[1], id_len, "400", "only CURVE clients are admitted", "");
        return;
    }
    char key[41], addr[64];
    zmq_z85_encode (key, (const uint8_t *) parts[6], 32);
    snprintf (addr, sizeof addr, "%.*s", lens[3] < 60 ? lens[3] : 60, parts[3]);
    for (size_t i = 0; i < l->n_peers; i++) {
        if (!l->peers[i].is_parent && strcmp (l->peers[i].key, key) == 0) {
            zap_reply (l->zap, parts[1], id_len, "200", "OK", l->peers[i].st.peer);
            return;
        }
    }
    l->refused_keys++;
    log_warn ("refused a connection from %s: CURVE key %s is not the key of any configured "
              "child office", addr, key);
    zap_reply (l->zap, parts[1], id_len, "400", "unknown key", "");
}

/* ---------------------------------------------------------------- sending */

/* Sends packed frame bytes to p (taking buf); counts it when the socket took it. */
static void send_bytes (xf_links_t *l, peer_t *p, uint8_t *buf, size_t len)
{
    if (!len)
        return;
    void *sock = p->is_parent ? l->dealer : l->router;
    int rc = 0;
    if (!p->is_parent) {
        if (!p->rid_len) {   /* the child has not spoken since we started: it will */
            free (buf);
            return;
        }
        rc = zmq_send (sock, p->rid, p->rid_len, ZMQ_SNDMORE | ZMQ_DONTWAIT);
    }
    if (rc >= 0)
        rc = zmq_send (sock, buf, len, ZMQ_DONTWAIT);
    free (buf);
    if (rc >= 0)
        p->st.frames_out++;
    else if (zmq_errno () == EHOSTUNREACH)
        p->rid_len = 0;   /* that connection is gone; the child's next frame brings the new one */
}

static void send_frame (xf_links_t *l, peer_t *p, const Xf__LinkFrame *f)
{
    uint8_t *buf = NULL;
    size_t len = xf_msg_frame_pack (f, &buf);
    send_bytes (l, p, buf, len);
}

static void send_hello (xf_links_t *l, peer_t *p, bool reply, int64_t now)
{
    Xf__LinkFrame f = XF__LINK_FRAME__INIT;
    Xf__Hello h = XF__HELLO__INIT;
    Xf__RouteAnnouncement ra = XF__ROUTE_ANNOUNCEMENT__INIT;
    size_t n = 0;
    const char *const *codes = xf_routes_subtree (l->routes, &n);
    h.min_version = XF_LINK_VERSION_MIN_SPOKEN;
    h.max_version = XF_LINK_VERSION_MAX_SPOKEN;
    h.code = l->node->conf->code;
    h.applied = p->st.applied;
    h.next_seq = p->st.next_seq;
    h.software = SOFTWARE;
    h.reply = reply;
    if (p->is_parent && codes) {
        ra.codes = (char **) codes;
        ra.n_codes = n;
        h.routes = &ra;
    }
    f.version = XF_LINK_VERSION_MAX_SPOKEN;
    f.ack = p->st.applied;
    f.payload_case = XF__LINK_FRAME__PAYLOAD_HELLO;
    f.hello = &h;
    send_frame (l, p, &f);
    xf_link_hello_sent (&p->st, now);
}

static void send_ack (xf_links_t *l, peer_t *p, int64_t now)
{
    Xf__LinkFrame f = XF__LINK_FRAME__INIT;
    f.version = XF_LINK_VERSION_MAX_SPOKEN;
    f.ack = xf_link_ack_value (&p->st);
    send_frame (l, p, &f);
    xf_link_ack_sent (&p->st, now);
}

typedef struct {
    xf_links_t *l;
    peer_t *p;
    uint64_t first, last;
    int64_t now;
} flush_t;

static int send_range (xf_txn_t *txn, void *arg, xf_err_t *err)
{
    flush_t *fl = arg;
    peer_t *p = fl->p;
    for (uint64_t seq = fl->first; seq <= fl->last; seq++) {
        const void *bytes = NULL;
        size_t len = 0;
        int rc = xf_outbox_get (txn, p->st.peer, seq, &bytes, &len, err);
        if (rc != XF_OK)
            return rc == XF_ENOTFOUND ? xf_err_set (err, XF_ESTORE, "outbox to %s lacks seq %llu",
                                                    p->st.peer, (unsigned long long) seq) : rc;
        /* the stored SignedEnvelope bytes go out as they are: no decoding on the way */
        uint8_t *frame = NULL;
        size_t flen = xf_msg_frame_pack_signed (XF_LINK_VERSION_MAX_SPOKEN, seq, p->st.applied,
                                                bytes, len, &frame);
        if (!flen)
            return xf_err_set (err, XF_ENOMEM, "out of memory");
        uint64_t before = p->st.frames_out;
        send_bytes (fl->l, p, frame, flen);
        if (p->st.frames_out == before)
            break;   /* the socket is full or the peer is gone: resume later */
        p->envelopes_out++;
        xf_link_sent (&p->st, seq, fl->now);
    }
    return XF_OK;
}

static void flush_peer (xf_links_t *l, peer_t *p, int64_t now)
{
    bool reply;
    if (xf_link_hello_due (&p->st, now, &reply))
        send_hello (l, p, reply, now);
    flush_t fl = {l, p, 0, 0, now};
    if (xf_link_to_send (&p->st, &fl.first, &fl.last)) {
        xf_err_t err = {0};
        if (xf_store_read (l->node->store, send_range, &fl, &err) != XF_OK)
            log_error ("link %s: %s", p->st.peer, err.msg);
    }
    if (xf_link_ack_due (&p->st, now))
        send_ack (l, p, now);
}

/* Commands and relays queue through the store: adopt the durable next_seq of every peer. */
static int refresh_positions (xf_txn_t *txn, void *arg, xf_err_t *err)
{
    xf_links_t *l = arg;
    for (size_t i = 0; i < l->n_peers; i++) {
        xf_link_pos_t pos;
        int rc = xf_outbox_positions (txn, l->peers[i].st.peer, &pos, err);
        if (rc != XF_OK)
            return rc;
        if (pos.next_seq > l->peers[i].st.next_seq)
            l->peers[i].st.next_seq = pos.next_seq;
    }
    return XF_OK;
}

void links_queued (xf_links_t *l)
{
    xf_err_t err = {0};
    int64_t now = mono_ms ();
    if (xf_store_read (l->node->store, refresh_positions, l, &err) != XF_OK)
        log_error ("links: %s", err.msg);
    for (size_t i = 0; i < l->n_peers; i++)
        flush_peer (l, &l->peers[i], now);
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
    for (size_t i = 0; i < l->n_peers; i++) {
        peer_t *p = &l->peers[i];
        if (xf_link_tick (&p->st, now))
            log_warn ("link %s: down (nothing heard for %lld s)", p->st.peer,
                      (long long) (p->st.opts.timeout_ms / 1000));
        if (p->is_parent || p->rid_len)
            flush_peer (l, p, now);
    }
}

/* ---------------------------------------------------------------- receiving */

typedef struct {
    xf_links_t *l;
    item_t *items;
    size_t n;
    int64_t now;
} batch_t;

static int announce (xf_links_t *l, peer_t *p, const Xf__RouteAnnouncement *ra)
{
    xf_err_t err = {0};
    if (xf_routes_announce (l->routes, p->st.peer, (const char *const *) ra->codes, ra->n_codes,
                            &err) != XF_OK) {
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

static void on_hello (xf_links_t *l, peer_t *p, const Xf__Hello *h, int64_t now)
{
    xf_err_t err = {0};
    xf_link_state_t before = p->st.state;
    if (xf_link_on_hello (&p->st, h, p->st.peer, now, &err) != XF_OK) {
        log_warn ("%s", err.msg);
        return;
    }
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
    peer_t *p = user ? find_peer (l, user) : NULL;
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
        zap_handle (l);
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
        if (rc == XF_OK && xf_store_read (l->node->store, refresh_positions, l, &err) != XF_OK)
            log_error ("links: %s", err.msg);
    }
    for (size_t i = 0; i < b.n; i++) {
        xf_msg_envelope_free (&b.items[i].env);
        xf_msg_frame_free (&b.items[i].frame);
    }
    for (size_t i = 0; i < l->n_peers; i++)
        if (l->peers[i].is_parent || l->peers[i].rid_len)
            flush_peer (l, &l->peers[i], b.now);
}

/* ---------------------------------------------------------------- status */

typedef struct {
    peer_t *p;
    uint64_t bytes;
    int64_t oldest;
} peer_stat_t;

static int peer_stat_txn (xf_txn_t *txn, void *arg, xf_err_t *err)
{
    peer_stat_t *s = arg;
    const void *v = NULL;
    size_t len = 0;
    int rc = xf_outbox_bytes (txn, s->p->st.peer, &s->bytes, err);
    s->oldest = 0;
    if (rc == XF_OK && xf_link_backlog (&s->p->st)
        && xf_outbox_get (txn, s->p->st.peer, s->p->st.acked + 1, &v, &len, err) == XF_OK) {
        Xf__SignedEnvelope *se = xf__signed_envelope__unpack (NULL, len, v);
        Xf__Envelope *e = se ? xf__envelope__unpack (NULL, se->envelope.len, se->envelope.data) : NULL;
        s->oldest = e ? e->created : 0;
        if (e)
            xf__envelope__free_unpacked (e, NULL);
        if (se)
            xf__signed_envelope__free_unpacked (se, NULL);
    }
    return rc;
}

json_t *links_refusals (const xf_links_t *l)
{
    return json_pack ("{s:I,s:I}", "refused_keys", (json_int_t) (l ? l->refused_keys : 0),
                      "unknown_frames", (json_int_t) (l ? l->unknown_frames : 0));
}

json_t *links_status (xf_links_t *l)
{
    json_t *a = json_array ();
    for (size_t i = 0; l && i < l->n_peers; i++) {
        peer_t *p = &l->peers[i];
        peer_stat_t s = {p, 0, 0};
        xf_err_t err = {0};
        char seen[26] = "", oldest[26] = "";
        xf_store_read (l->node->store, peer_stat_txn, &s, &err);
        if (p->last_seen)
            xf_time_format (p->last_seen, seen);
        if (s.oldest)
            xf_time_format (s.oldest, oldest);
        uint64_t backlog = xf_link_backlog (&p->st);
        bool full = backlog >= (uint64_t) l->node->conf->outbox_limit;
        json_array_append_new (a, json_pack (
            "{s:s,s:s,s:s,s:I,s:I,s:s?,s:I,s:s?,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:b}",
            "peer", p->st.peer, "role", p->is_parent ? "parent" : "child",
            "state", xf_link_state_name (p->st.state), "queue", (json_int_t) backlog,
            "queue_bytes", (json_int_t) s.bytes, "oldest_unacked", s.oldest ? oldest : NULL,
            "oldest_unacked_age_s", (json_int_t) (s.oldest ? node_now (l->node) - s.oldest : 0),
            "last_seen", p->last_seen ? seen : NULL,
            "messages_in", (json_int_t) p->envelopes_in, "messages_out", (json_int_t) p->envelopes_out,
            "frames_in", (json_int_t) p->st.frames_in, "frames_out", (json_int_t) p->st.frames_out,
            "rejected", (json_int_t) (p->st.rejected + p->refused),
            "duplicates", (json_int_t) p->st.duplicates, "gaps", (json_int_t) p->st.gaps,
            "ups", (json_int_t) p->st.ups, "applied", (json_int_t) p->st.applied,
            "outbox_full", full));
    }
    return a;
}
