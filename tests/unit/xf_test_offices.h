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

/* The tree most tests use: 河南省 410000 → 南阳市 411300 → 镇平县 411324 and 淅川县 411326,
 * in o[0..3] in that order, with the routes the links would have announced. */
#define XF_TEST_PROV "410000"
#define XF_TEST_CITY "411300"
#define XF_TEST_ZP   "411324"
#define XF_TEST_XC   "411326"
static inline int xf_test_tree_open (xf_test_office_t o[4], const xf_limits_t *lim, const char *tag)
{
    static const char *const city_tree[] = {XF_TEST_CITY, XF_TEST_ZP, XF_TEST_XC};
    const char *codes[] = {XF_TEST_PROV, XF_TEST_CITY, XF_TEST_ZP, XF_TEST_XC};
    const char *parents[] = {NULL, XF_TEST_PROV, XF_TEST_CITY, XF_TEST_CITY};
    xf_err_t err = {0, ""};
    for (int i = 0; i < 4; i++)
        if (xf_test_office_open (&o[i], codes[i], parents[i], lim, tag))
            return -1;
    if (xf_routes_add_child (o[0].routes, XF_TEST_CITY, &err)
        || xf_routes_announce (o[0].routes, XF_TEST_CITY, city_tree, NULL, 3, &err)
        || xf_routes_add_child (o[1].routes, XF_TEST_ZP, &err)
        || xf_routes_add_child (o[1].routes, XF_TEST_XC, &err)) {
        fprintf (stderr, "routes: %s\n", err.msg);
        return -1;
    }
    return 0;
}

static inline void xf_test_tree_close (xf_test_office_t o[4])
{
    for (int i = 0; i < 4; i++)
        xf_test_office_close (&o[i]);
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

/* Applies SignedEnvelope bytes at `to` as if they came from peer, in a write transaction
 * running fn (xf_test_apply_txn, or one that fails after it, to roll a batch back); returns
 * what the write returned. */
static inline int xf_test_apply_with (xf_test_office_t *to, const char *peer, const uint8_t *bytes,
                                      size_t len, int64_t now, xf_applied_t *out, xf_txn_fn fn)
{
    xf_err_t err = {0, ""};
    uint8_t *frame = NULL;
    Xf__Envelope *env = NULL;
    size_t flen = xf_msg_frame_pack_signed (1, 1, 0, bytes, len, &frame);
    Xf__LinkFrame *f = xf_msg_frame_unpack_routed (frame, flen, to->code, &env, &err);   /* as xfsyncd */
    free (frame);
    if (!f)
        fail_msg ("an envelope from %s to %s does not decode: %s", peer, to->code, err.msg);
    xf_test_apply_t a = {to, peer, f->envelope, env, now, out};
    int rc = xf_store_write (to->store, fn, &a, &err);
    xf_msg_envelope_free (&env);
    xf_msg_frame_free (&f);
    return rc;
}

/* Applies SignedEnvelope bytes at `to` as if they came from peer. */
static inline void xf_test_apply (xf_test_office_t *to, const char *peer, const uint8_t *bytes,
                                  size_t len, int64_t now, xf_applied_t *out)
{
    if (xf_test_apply_with (to, peer, bytes, len, now, out, xf_test_apply_txn) != XF_OK)
        fail_msg ("apply at %s failed", to->code);
}

/* What arrived and was not simply applied, over xf_test_carry / xf_test_settle calls. */
typedef struct {
    size_t refused, refusals, answered;
} xf_test_tally_t;

static inline xf_test_office_t *xf_test_at (xf_test_office_t *o, int n, const char *code)
{
    for (int i = 0; i < n; i++)
        if (strcmp (o[i].code, code) == 0)
            return &o[i];
    fail_msg ("no office %s", code);
    return NULL;
}

/* Carries what `from` has waiting for `to` into `to`; returns how many envelopes. */
static inline size_t xf_test_carry (xf_test_office_t *from, xf_test_office_t *to, int64_t now,
                                    xf_test_tally_t *tally)
{
    xf_test_taken_t t;
    xf_test_take (from, to->code, &t);
    for (size_t i = 0; i < t.n; i++) {
        xf_applied_t out;
        xf_test_apply (to, from->code, t.bytes[i], t.len[i], now, &out);
        free (t.bytes[i]);
        tally->refused += out.refused;
        tally->refusals += out.refusal;
        tally->answered += out.answered;
        if (out.refused)
            fprintf (stderr, "note: %s refused an envelope from %s: %s\n", to->code, from->code,
                     out.reason);
    }
    return t.n;
}

/* Carries everything on every link of the tree o[0..n) (each office's parent among them)
 * until nothing moves. */
static inline void xf_test_settle (xf_test_office_t *o, int n, int64_t now, xf_test_tally_t *tally)
{
    for (int round = 0; round < 50; round++) {
        size_t moved = 0;
        for (int i = 0; i < n; i++) {
            if (!o[i].parent)
                continue;
            xf_test_office_t *parent = xf_test_at (o, n, o[i].parent);
            moved += xf_test_carry (&o[i], parent, now, tally)
                   + xf_test_carry (parent, &o[i], now, tally);
        }
        if (!moved)
            return;
    }
    fail_msg ("the network does not settle");
}

#endif
