/* link_int.h — what the link files of xfsyncd share (link.c set-up and timers, link_send.c,
 * link_recv.c, link_zap.c, link_status.c) and nobody else may use: the peers and sockets. */
#ifndef XF_LINK_INT_H
#define XF_LINK_INT_H

#include <stdbool.h>
#include <stdint.h>
#include "node.h"
#include "xf_link.h"

#define ZAP_ENDPOINT "inproc://zeromq.zap.01"
#define ZAP_DOMAIN   "xfsync"
#define BATCH_MAX    1000           /* envelopes applied in one transaction */
#define FRAME_BYTES  (256 * 1024)   /* a frame of several envelopes stops growing past this */
#define SOFTWARE     "xfsync 0.1.0"
#define REDIAL_MIN_MS 1000
#define REDIAL_MAX_MS 30000

typedef struct {
    xf_link_t st;
    bool is_parent;
    char key[41];                 /* the child's configured CURVE key ("" with [trust]) */
    uint8_t rid[256];             /* ROUTER routing id of the child's connection */
    size_t rid_len;
    int64_t last_seen;            /* node clock, for `status` */
    uint64_t envelopes_in, envelopes_out, refused;
    bool trim_pending;            /* acknowledged entries still in the outbox */
    uint64_t first_kept;          /* the lowest of our seqs the outbox holds for it (hello) */
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
    bool routes_dirty;            /* a child announced a changed subtree: tell the parent */
};

static inline peer_t *parent_peer (xf_links_t *l)
{
    return l->n_peers && l->peers[0].is_parent ? &l->peers[0] : NULL;
}

peer_t *link_find_peer (xf_links_t *l, const char *code);
/* A peer's durable link state (positions, restore mark, epochs) from the store, as at start. */
int link_load_peer (xf_txn_t *txn, xf_links_t *l, peer_t *p, xf_err_t *err);

/* link_send.c: hellos, acks and what the window allows, for one peer */
void link_flush_peer (xf_links_t *l, peer_t *p, int64_t now);
/* Adopts the durable next_seq of every peer (commands and relays queue through the store). */
int link_refresh_positions (xf_txn_t *txn, void *arg, xf_err_t *err);

/* link_zap.c: the ZAP handler (RFC 27) that admits configured child keys */
int  link_zap_open (xf_links_t *l, char *errbuf, size_t errlen);
void link_zap_serve (xf_links_t *l);

#endif
