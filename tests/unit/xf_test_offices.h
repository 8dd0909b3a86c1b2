/* xf_test_offices.h — offices of a tree in one test process, for the tests of cases that
 * travel: each a real store, office and routes in a temp directory, and envelopes carried by
 * hand from one office's outbox into the next office's xf_office_apply, decoded as a
 * receiver does (through a link frame, so a newer envelope format reaches the office).
 * Header-only, like xf_test.h; include it after cmocka.h. */
#ifndef XF_TEST_OFFICES_H
#define XF_TEST_OFFICES_H

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "xf_msg.h"
#include "xf_office.h"
#include "xf_outbox.h"
#include "xf_route.h"
#include "xf_test.h"

#define XF_TEST_MAX_CARRIED 64

typedef struct {
    const char *code, *parent;
    char dir[PATH_MAX];
    xf_store_t *store;
    xf_office_t *office;
    xf_routes_t *routes;
    xf_net_t net;
} xf_test_office_t;

static inline int xf_test_office_open (xf_test_office_t *o, const char *code, const char *parent,
                                       const xf_limits_t *lim, const char *tag)
{
    xf_err_t err = {0, ""};
    o->code = code;
    o->parent = parent;
    if (xf_test_mkdtemp (o->dir, sizeof o->dir, tag) != 0)
        return -1;
    o->store = xf_store_open (o->dir, NULL, &err);
    o->office = o->store ? xf_office_new (o->store, code, lim, &err) : NULL;
    o->routes = xf_routes_new (code, parent);
    if (!o->office || !o->routes) {
        fprintf (stderr, "%s: %s\n", code, err.msg);
        return -1;
    }
    o->net = (xf_net_t) {o->routes, 0};
    xf_office_set_net (o->office, &o->net);
    return 0;
}

static inline void xf_test_office_close (xf_test_office_t *o)
{
    xf_office_destroy (&o->office);
    xf_store_close (&o->store);
    xf_routes_destroy (&o->routes);
    if (*o->dir)
        xf_test_rmtree (o->dir);
}

/* What xf_test_take copied out of an outbox. */
typedef struct {
    const char *peer;
    uint8_t *bytes[XF_TEST_MAX_CARRIED];
    size_t len[XF_TEST_MAX_CARRIED], n;
} xf_test_taken_t;

static inline int xf_test_take_txn (xf_txn_t *txn, void *arg, xf_err_t *err)
{
    xf_test_taken_t *t = arg;
    xf_link_pos_t pos;
    int rc = xf_outbox_positions (txn, t->peer, &pos, err);
    uint64_t seq = pos.acked + 1;
    for (; rc == XF_OK && seq < pos.next_seq && t->n < XF_TEST_MAX_CARRIED; seq++) {
        const void *v = NULL;
        size_t len = 0;
        if ((rc = xf_outbox_get (txn, t->peer, seq, &v, &len, err)) != XF_OK)
            break;
        t->bytes[t->n] = malloc (len);
        memcpy (t->bytes[t->n], v, len);
        t->len[t->n++] = len;
    }
    return rc == XF_OK ? xf_outbox_trim (txn, t->peer, seq - 1, err) : rc;
}

/* Copies out what `from` has waiting for peer (up to XF_TEST_MAX_CARRIED) and marks it
 * acknowledged; free each t->bytes[i]. */
static inline void xf_test_take (xf_test_office_t *from, const char *peer, xf_test_taken_t *t)
{
    xf_err_t err = {0, ""};
    memset (t, 0, sizeof *t);
    t->peer = peer;
    if (xf_store_write (from->store, xf_test_take_txn, t, &err) != XF_OK)
        fail_msg ("outbox of %s: %s", from->code, err.msg);
}

typedef struct {
    xf_test_office_t *to;
    const char *peer;
    const Xf__SignedEnvelope *se;
    const Xf__Envelope *env;
    int64_t now;
    xf_applied_t *out;
} xf_test_apply_t;

static inline int xf_test_apply_txn (xf_txn_t *txn, void *arg, xf_err_t *err)
{
    xf_test_apply_t *a = arg;
    return xf_office_apply (txn, a->to->office, &a->to->net, a->peer, a->se, a->env, a->now,
                            a->out, err);
}

/* Applies SignedEnvelope bytes at `to` as if they came from peer. */
static inline void xf_test_apply (xf_test_office_t *to, const char *peer, const uint8_t *bytes,
                                  size_t len, int64_t now, xf_applied_t *out)
{
    xf_err_t err = {0, ""};
    uint8_t *frame = NULL;
    Xf__Envelope *env = NULL;
    size_t flen = xf_msg_frame_pack_signed (1, 1, 0, bytes, len, &frame);
    Xf__LinkFrame *f = xf_msg_frame_unpack_full (frame, flen, &env, &err);
    free (frame);
    if (!f)
        fail_msg ("an envelope from %s to %s does not decode: %s", peer, to->code, err.msg);
    xf_test_apply_t a = {to, peer, f->envelope, env, now, out};
    if (xf_store_write (to->store, xf_test_apply_txn, &a, &err) != XF_OK)
        fail_msg ("apply at %s: %s", to->code, err.msg);
    xf_msg_envelope_free (&env);
    xf_msg_frame_free (&f);
}

#endif
