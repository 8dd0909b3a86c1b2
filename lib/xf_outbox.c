/* xf_outbox.c — per-peer outboxes and link positions in the `outbox` and `links` databases. */
#include "xf_outbox.h"

#include <stdio.h>
#include <string.h>

#define PEER_LEN 13   /* a code (at most 12 digits) padded with NULs: fixed-width keys */
#define KEY_LEN (PEER_LEN + 8)

static void entry_key (uint8_t key[KEY_LEN], const char *peer, uint64_t seq)
{
    memset (key, 0, PEER_LEN);
    memcpy (key, peer, strnlen (peer, PEER_LEN - 1));
    xf_be64_put (key + PEER_LEN, seq);
}

static size_t pos_key (char *key, size_t len, const char *peer)
{
    return (size_t) snprintf (key, len, "pos/%s", peer);
}

int xf_outbox_positions (xf_txn_t *txn, const char *peer, xf_link_pos_t *out, xf_err_t *err)
{
    char key[32];
    const void *v = NULL;
    size_t vlen = 0;
    int rc = xf_txn_get (txn, XF_DB_LINKS, key, pos_key (key, sizeof key, peer), &v, &vlen, err);
    if (rc == XF_ENOTFOUND) {
        *out = (xf_link_pos_t) {0, 1, 0};
        return XF_OK;
    }
    if (rc != XF_OK)
        return rc;
    if (vlen != 24)
        return xf_err_set (err, XF_ESTORE, "link %s: stored positions are damaged (%zu bytes)",
                           peer, vlen);
    out->applied = xf_be64_get (v);
    out->next_seq = xf_be64_get ((const uint8_t *) v + 8);
    out->acked = xf_be64_get ((const uint8_t *) v + 16);
    return XF_OK;
}

int xf_outbox_set_positions (xf_txn_t *txn, const char *peer, const xf_link_pos_t *pos,
                             xf_err_t *err)
{
    char key[32];
    uint8_t v[24];
    xf_be64_put (v, pos->applied);
    xf_be64_put (v + 8, pos->next_seq);
    xf_be64_put (v + 16, pos->acked);
    return xf_txn_put (txn, XF_DB_LINKS, key, pos_key (key, sizeof key, peer), v, sizeof v, err);
}

int xf_outbox_push (xf_txn_t *txn, const char *peer, const void *bytes, size_t len, uint64_t limit,
                    uint64_t *seq, xf_err_t *err)
{
    xf_link_pos_t pos = {0, 1, 0};
    uint8_t key[KEY_LEN];
    int rc = xf_outbox_positions (txn, peer, &pos, err);
    if (rc != XF_OK)
        return rc;
    if (limit && pos.next_seq - 1 - pos.acked >= limit)
        return xf_err_set (err, XF_ESTATE, "the outbox to office %s is full: %llu messages wait "
                           "for it (limit %llu, [links] outbox_limit); nothing new can be sent "
                           "until the link drains", peer,
                           (unsigned long long) (pos.next_seq - 1 - pos.acked),
                           (unsigned long long) limit);
    entry_key (key, peer, pos.next_seq);
    if ((rc = xf_txn_put (txn, XF_DB_OUTBOX, key, sizeof key, bytes, len, err)) != XF_OK)
        return rc;
    *seq = pos.next_seq++;
    return xf_outbox_set_positions (txn, peer, &pos, err);
}

int xf_outbox_get (xf_txn_t *txn, const char *peer, uint64_t seq, const void **bytes, size_t *len,
                   xf_err_t *err)
{
    uint8_t key[KEY_LEN];
    entry_key (key, peer, seq);
    return xf_txn_get (txn, XF_DB_OUTBOX, key, sizeof key, bytes, len, err);
}

typedef struct {
    uint8_t first[KEY_LEN], last[KEY_LEN];
    uint8_t keys[256][KEY_LEN];
    size_t n;
} trim_t;

static int collect (const void *key, size_t klen, const void *val, size_t vlen, void *arg)
{
    (void) val, (void) vlen;
    trim_t *t = arg;
    if (klen != KEY_LEN || memcmp (key, t->last, KEY_LEN) > 0 || t->n == 256)
        return 1;
    memcpy (t->keys[t->n++], key, KEY_LEN);
    return 0;
}

int xf_outbox_trim (xf_txn_t *txn, const char *peer, uint64_t acked, xf_err_t *err)
{
    xf_link_pos_t pos = {0, 1, 0};
    trim_t t;
    int rc = xf_outbox_positions (txn, peer, &pos, err);
    if (rc != XF_OK || acked <= pos.acked)
        return rc;
    entry_key (t.last, peer, acked);
    do {   /* in slices: the entries go from the front, so each slice starts at the front */
        t.n = 0;
        entry_key (t.first, peer, 0);
        if ((rc = xf_txn_scan (txn, XF_DB_OUTBOX, t.first, KEY_LEN, collect, &t, err)) != XF_OK)
            return rc;
        for (size_t i = 0; i < t.n; i++)
            if ((rc = xf_txn_del (txn, XF_DB_OUTBOX, t.keys[i], KEY_LEN, err)) != XF_OK)
                return rc;
    } while (t.n == 256);
    pos.acked = acked;
    return xf_outbox_set_positions (txn, peer, &pos, err);
}

int xf_outbox_set_applied (xf_txn_t *txn, const char *peer, uint64_t applied, xf_err_t *err)
{
    xf_link_pos_t pos = {0, 1, 0};
    int rc = xf_outbox_positions (txn, peer, &pos, err);
    if (rc != XF_OK)
        return rc;
    pos.applied = applied;
    return xf_outbox_set_positions (txn, peer, &pos, err);
}

typedef struct {
    uint8_t last[KEY_LEN];
    uint64_t bytes;
} size_t_acc;

static int add_size (const void *key, size_t klen, const void *val, size_t vlen, void *arg)
{
    (void) val;
    size_t_acc *a = arg;
    if (klen != KEY_LEN || memcmp (key, a->last, PEER_LEN) != 0)
        return 1;
    a->bytes += vlen;
    return 0;
}

int xf_outbox_bytes (xf_txn_t *txn, const char *peer, uint64_t *bytes, xf_err_t *err)
{
    uint8_t first[KEY_LEN];
    size_t_acc a = {{0}, 0};
    entry_key (first, peer, 0);
    memcpy (a.last, first, KEY_LEN);
    int rc = xf_txn_scan (txn, XF_DB_OUTBOX, first, KEY_LEN, add_size, &a, err);
    *bytes = a.bytes;
    return rc;
}
