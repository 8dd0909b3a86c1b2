/* link_zap.c — the ZAP handler (ZeroMQ RFC 27) of the children's ROUTER: only CURVE clients
 * whose key is a configured child's are admitted (with [trust], a key that a certificate issued
 * to the child names, while that certificate is valid by the node clock and not revoked), and
 * the connection is bound to that child's code (the User-Id of every frame it sends). libzmq 4.3 admits every CURVE client while no
 * handler is bound, so the handler is bound before the ROUTER, and a failure stops the node. */
#include <stdio.h>
#include <string.h>
#include <zmq.h>
#include "link_int.h"
#include "log.h"

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

/* [trust]: a child is admitted by a certificate this office issued it (or [child] names) that
 * names the connecting key and is valid now: not expired, not revoked. */
static void admit_by_certificate (xf_links_t *l, const char *req_id, size_t id_len,
                                  const uint8_t raw[32], const char *key, const char *addr)
{
    char code[16], why[600];
    if (trust_admit (l->node, raw, code, why, sizeof why) == 0) {
        zap_reply (l->zap, req_id, id_len, "200", "OK", code);
        return;
    }
    l->refused_keys++;
    if (*why)
        log_warn ("refused a connection from %s: %s", addr, why);
    else
        log_warn ("refused a connection from %s: CURVE key %s is not named by any certificate "
                  "of a configured child (xfctl cert issue admits a child by its certificate)",
                  addr, key);
    zap_reply (l->zap, req_id, id_len, "400", *why ? "certificate refused" : "unknown key", "");
}

void link_zap_serve (xf_links_t *l)
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
    if (l->node->trust) {
        admit_by_certificate (l, parts[1], id_len, (const uint8_t *) parts[6], key, addr);
        return;
    }
    for (size_t i = 0; i < l->n_peers; i++) {
        peer_t *p = &l->peers[i];
        if (p->is_parent || !*p->key || strcmp (p->key, key) != 0)
            continue;
        zap_reply (l->zap, parts[1], id_len, "200", "OK", p->st.peer);
        return;
    }
    l->refused_keys++;
    log_warn ("refused a connection from %s: CURVE key %s is not the key of any configured "
              "child office", addr, key);
    zap_reply (l->zap, parts[1], id_len, "400", "unknown key", "");
}

int link_zap_open (xf_links_t *l, char *errbuf, size_t errlen)
{
    l->zap = zmq_socket (l->ctx, ZMQ_REP);
    if (!l->zap || zmq_bind (l->zap, ZAP_ENDPOINT) != 0) {
        snprintf (errbuf, errlen, "cannot start the key check (ZAP) for children: %s",
                  zmq_strerror (zmq_errno ()));
        return -1;
    }
    return 0;
}
