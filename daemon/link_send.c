/* link_send.c — what goes out on a link: hellos with our position and routes, acks, and the
 * outbox entries the window allows, sent as the stored bytes (never decoded on the way). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>
#include "link_int.h"
#include "log.h"
#include "xf_msg.h"
#include "xf_outbox.h"

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

static int first_kept (xf_txn_t *txn, void *arg, xf_err_t *err)
{
    peer_t *p = arg;
    return xf_outbox_first (txn, p->st.peer, &p->first_kept, err);
}

static void send_hello (xf_links_t *l, peer_t *p, bool reply, int64_t now)
{
    Xf__LinkFrame f = XF__LINK_FRAME__INIT;
    Xf__Hello h = XF__HELLO__INIT;
    Xf__RouteAnnouncement ra = XF__ROUTE_ANNOUNCEMENT__INIT;
    size_t n = 0;
    const char *const *names = NULL;
    const char *const *codes = xf_routes_subtree (l->routes, &n, &names);
    h.min_version = XF_LINK_VERSION_MIN_SPOKEN;
    h.max_version = xf_link_max_version (&p->st);
    h.code = l->node->conf->code;
    h.applied = p->st.applied;
    h.next_seq = p->st.next_seq;
    h.epoch = p->st.epoch;
    xf_err_t err = {0};
    if (xf_store_read (l->node->store, first_kept, p, &err) != XF_OK)
        log_warn ("link %s: %s", p->st.peer, err.msg);
    else
        h.first_kept = p->first_kept;
    h.software = SOFTWARE;
    h.reply = reply;
    if (p->is_parent && codes) {
        ra.codes = (char **) codes;
        ra.n_codes = n;
        ra.names = (char **) names;
        ra.n_names = n;
        h.routes = &ra;
    }
    ProtobufCBinaryData *certs = NULL;
    if (l->node->trust && p->is_parent && codes
        && (certs = calloc (n < XF_MSG_MAX_CERTS ? n : XF_MSG_MAX_CERTS, sizeof *certs))) {
        h.n_certificates = xf_trust_certificates (l->node->trust, codes, n, certs,
                                                  n < XF_MSG_MAX_CERTS ? n : XF_MSG_MAX_CERTS);
        h.certificates = certs;
    } else if (l->node->trust && !p->is_parent)
        h.certificates = (ProtobufCBinaryData *) xf_trust_chain_der (l->node->trust,
                                                                     &h.n_certificates);
    h.revocations = trust_revocations_all (l->node, &h.n_revocations);
    f.version = XF_LINK_VERSION_MIN_SPOKEN;   /* read by every version: the hello has the range */
    f.ack = p->st.applied;
    f.payload_case = XF__LINK_FRAME__PAYLOAD_HELLO;
    f.hello = &h;
    send_frame (l, p, &f);
    xf_link_hello_sent (&p->st, now);
    free (certs);
}

static void send_ack (xf_links_t *l, peer_t *p, int64_t now)
{
    Xf__LinkFrame f = XF__LINK_FRAME__INIT;
    f.version = p->st.version;   /* the version both speak */
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

/* Up to xf_link_batch envelopes go in one frame (link version 2), and not many more bytes than
 * FRAME_BYTES: a frame is one message for ZeroMQ and CURVE, and one decode, whatever it holds. */
static int send_range (xf_txn_t *txn, void *arg, xf_err_t *err)
{
    flush_t *fl = arg;
    peer_t *p = fl->p;
    uint32_t batch = xf_link_batch (&p->st);
    for (uint64_t seq = fl->first; seq <= fl->last;) {
        const uint8_t *se[XF_LINK_BATCH_MAX];
        size_t len[XF_LINK_BATCH_MAX], n = 0, bytes = 0;
        while (n < batch && seq + n <= fl->last && bytes < FRAME_BYTES) {
            const void *b = NULL;
            int rc = xf_outbox_get (txn, p->st.peer, seq + n, &b, &len[n], err);
            if (rc != XF_OK)
                return rc == XF_ENOTFOUND ? xf_err_set (err, XF_ESTORE, "outbox to %s lacks seq %llu",
                                                        p->st.peer, (unsigned long long) (seq + n)) : rc;
            se[n] = b;
            bytes += len[n++];
        }
        /* the stored SignedEnvelope bytes go out as they are: no decoding on the way */
        uint8_t *frame = NULL;
        size_t flen = xf_msg_frame_pack_batch (p->st.version, seq, p->st.applied, se, len, n,
                                               &frame);
        if (!flen)
            return xf_err_set (err, XF_ENOMEM, "out of memory");
        uint64_t before = p->st.frames_out;
        send_bytes (fl->l, p, frame, flen);
        if (p->st.frames_out == before)
            break;   /* the socket is full or the peer is gone: resume later */
        p->envelopes_out += n;
        seq += n;
        xf_link_sent (&p->st, seq - 1, fl->now);
    }
    return XF_OK;
}

void link_flush_peer (xf_links_t *l, peer_t *p, int64_t now)
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

int link_refresh_positions (xf_txn_t *txn, void *arg, xf_err_t *err)
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
    if (xf_store_read (l->node->store, link_refresh_positions, l, &err) != XF_OK)
        log_error ("links: %s", err.msg);
    for (size_t i = 0; i < l->n_peers; i++)
        link_flush_peer (l, &l->peers[i], now);
}

