/* xf_outbox.c — per-peer outboxes and link positions in the `outbox` and `links` databases. */
#include "xf_outbox.h"
#include "xf_text.h"

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
    return xf_text_join (key, len, "pos/", peer, (char *) NULL);
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

/* Deletes the entries for peer up to seq upto, in slices: the entries go from the front, so
 * each slice starts at the front. */
static int delete_upto (xf_txn_t *txn, const char *peer, uint64_t upto, xf_err_t *err)
{
    trim_t t;
    int rc;
    entry_key (t.last, peer, upto);
    do {
        t.n = 0;
        entry_key (t.first, peer, 0);
        if ((rc = xf_txn_scan (txn, XF_DB_OUTBOX, t.first, KEY_LEN, collect, &t, err)) != XF_OK)
            return rc;
        for (size_t i = 0; i < t.n; i++)
            if ((rc = xf_txn_del (txn, XF_DB_OUTBOX, t.keys[i], KEY_LEN, err)) != XF_OK)
                return rc;
    } while (t.n == 256);
    return XF_OK;
}

int xf_outbox_trim (xf_txn_t *txn, const char *peer, uint64_t acked, xf_err_t *err)
{
    xf_link_pos_t pos = {0, 1, 0};
    int rc = xf_outbox_positions (txn, peer, &pos, err);
    if (rc != XF_OK || acked <= pos.acked)
        return rc;
    if ((rc = delete_upto (txn, peer, acked, err)) != XF_OK)
        return rc;
    pos.acked = acked;
    return xf_outbox_set_positions (txn, peer, &pos, err);
}

/* ---------------------------------------------------------------- keeping acknowledged entries */

/* "kept/PEER": for each day an acknowledgement advanced, the highest seq acknowledged that
 * day (be32 day, be64 seq; oldest first). Entries up to a day's seq are deleted once that day
 * is keep_days old. */
#define KEPT_REC 12
#define KEPT_MAX (XF_OUTBOX_KEEP_DAYS_MAX + 2)

static size_t kept_key (char *key, size_t len, const char *peer)
{
    return xf_text_join (key, len, "kept/", peer, (char *) NULL);
}

int xf_outbox_retire (xf_txn_t *txn, const char *peer, uint64_t acked, int64_t today,
                      int keep_days, xf_err_t *err)
{
    if (keep_days <= 0)
        return xf_outbox_trim (txn, peer, acked, err);
    xf_link_pos_t pos = {0, 1, 0};
    int rc = xf_outbox_positions (txn, peer, &pos, err);
    if (rc != XF_OK)
        return rc;
    if (keep_days > XF_OUTBOX_KEEP_DAYS_MAX)
        keep_days = XF_OUTBOX_KEEP_DAYS_MAX;
    char key[32];
    size_t klen = kept_key (key, sizeof key, peer), vlen = 0, n = 0;
    const void *v = NULL;
    uint8_t ring[KEPT_MAX * KEPT_REC + KEPT_REC];
    if ((rc = xf_txn_get (txn, XF_DB_LINKS, key, klen, &v, &vlen, err)) == XF_OK) {
        if (vlen % KEPT_REC || vlen > KEPT_MAX * KEPT_REC)
            return xf_err_set (err, XF_ESTORE, "link %s: the record of acknowledged envelopes "
                               "kept is damaged (%zu bytes)", peer, vlen);
        memcpy (ring, v, vlen);
        n = vlen / KEPT_REC;
    } else if (rc != XF_ENOTFOUND)
        return rc;
    uint64_t upto = acked > pos.acked ? acked : pos.acked;
    /* the record of today (in day order: a clock set back puts today before later days) */
    size_t at = n;
    while (at > 0 && (int64_t) xf_be32_get (ring + (at - 1) * KEPT_REC) > today)
        at--;
    if (at > 0 && (int64_t) xf_be32_get (ring + (at - 1) * KEPT_REC) == today) {
        if (xf_be64_get (ring + (at - 1) * KEPT_REC + 4) < upto)
            xf_be64_put (ring + (at - 1) * KEPT_REC + 4, upto);
    } else {
        memmove (ring + (at + 1) * KEPT_REC, ring + at * KEPT_REC, (n - at) * KEPT_REC);
        xf_be32_put (ring + at * KEPT_REC, (uint32_t) today);
        xf_be64_put (ring + at * KEPT_REC + 4, upto);
        n++;
    }
    uint64_t cutoff = 0;
    size_t old = 0;   /* records keep_days old or more: their entries go */
    while (old < n && (int64_t) xf_be32_get (ring + old * KEPT_REC) <= today - keep_days) {
        uint64_t seq = xf_be64_get (ring + old * KEPT_REC + 4);
        cutoff = seq > cutoff ? seq : cutoff;
        old++;
    }
    if (n - old > KEPT_MAX - 1) {   /* more days than kept: a clock jump; the oldest go */
        size_t extra = n - old - (KEPT_MAX - 1);
        for (size_t i = 0; i < extra; i++) {
            uint64_t seq = xf_be64_get (ring + (old + i) * KEPT_REC + 4);
            cutoff = seq > cutoff ? seq : cutoff;
        }
        old += extra;
    }
    if (cutoff > acked)   /* never what the peer has not acknowledged on this connection */
        cutoff = acked;
    if (cutoff && (rc = delete_upto (txn, peer, cutoff, err)) != XF_OK)
        return rc;
    if ((rc = xf_txn_put (txn, XF_DB_LINKS, key, klen, ring + old * KEPT_REC,
                          (n - old) * KEPT_REC, err)) != XF_OK)
        return rc;
    if (acked <= pos.acked)
        return XF_OK;
    pos.acked = acked;
    return xf_outbox_set_positions (txn, peer, &pos, err);
}

/* ---------------------------------------------------------------- after a restore */

static size_t restored_key (char *key, size_t len, const char *peer)
{
    return xf_text_join (key, len, "restored/", peer, (char *) NULL);
}

int xf_outbox_restored (xf_txn_t *txn, const char *peer, uint64_t *mark, xf_err_t *err)
{
    char key[32];
    const void *v = NULL;
    size_t vlen = 0;
    int rc = xf_txn_get (txn, XF_DB_LINKS, key, restored_key (key, sizeof key, peer), &v, &vlen, err);
    *mark = 0;
    if (rc == XF_ENOTFOUND)
        return XF_OK;
    if (rc == XF_OK && vlen != 8)
        return xf_err_set (err, XF_ESTORE, "link %s: the restore mark is damaged (%zu bytes)",
                           peer, vlen);
    if (rc == XF_OK)
        *mark = xf_be64_get (v);
    return rc;
}

int xf_outbox_set_restored (xf_txn_t *txn, const char *peer, uint64_t mark, xf_err_t *err)
{
    char key[32];
    uint8_t v[8];
    size_t klen = restored_key (key, sizeof key, peer);
    if (!mark) {
        int rc = xf_txn_del (txn, XF_DB_LINKS, key, klen, err);
        return rc == XF_ENOTFOUND ? XF_OK : rc;
    }
    xf_be64_put (v, mark);
    return xf_txn_put (txn, XF_DB_LINKS, key, klen, v, sizeof v, err);
}

int xf_outbox_renumber (xf_txn_t *txn, const char *peer, uint64_t from, uint64_t to, xf_err_t *err)
{
    xf_link_pos_t pos = {0, 1, 0};
    int rc = xf_outbox_positions (txn, peer, &pos, err);
    if (rc != XF_OK)
        return rc;
    if (from < 1 || from > pos.next_seq || to <= from)
        return xf_err_set (err, XF_EINVAL, "link %s: cannot move envelopes %llu.. to %llu (next "
                           "%llu)", peer, (unsigned long long) from, (unsigned long long) to,
                           (unsigned long long) pos.next_seq);
    /* from the top down, so that no entry is overwritten before it moved */
    for (uint64_t seq = pos.next_seq; seq-- > from;) {
        uint8_t key[KEY_LEN], nkey[KEY_LEN];
        const void *v = NULL;
        size_t len = 0;
        entry_key (key, peer, seq);
        entry_key (nkey, peer, seq - from + to);
        if ((rc = xf_txn_get (txn, XF_DB_OUTBOX, key, KEY_LEN, &v, &len, err)) != XF_OK)
            return rc == XF_ENOTFOUND ? xf_err_set (err, XF_ESTORE, "outbox to %s lacks seq %llu",
                                                    peer, (unsigned long long) seq) : rc;
        if ((rc = xf_txn_put (txn, XF_DB_OUTBOX, nkey, KEY_LEN, v, len, err)) != XF_OK
            || (rc = xf_txn_del (txn, XF_DB_OUTBOX, key, KEY_LEN, err)) != XF_OK)
            return rc;
    }
    if ((rc = delete_upto (txn, peer, to - 1, err)) != XF_OK)   /* the peer has them all */
        return rc;
    pos.next_seq = pos.next_seq - from + to;
    pos.acked = to - 1;
    if ((rc = xf_outbox_set_positions (txn, peer, &pos, err)) != XF_OK)
        return rc;
    return xf_outbox_set_restored (txn, peer, 0, err);
}

typedef struct {
    uint8_t first[KEY_LEN];
    uint64_t seq;
    bool found;
} first_t;

static int first_entry (const void *key, size_t klen, const void *val, size_t vlen, void *arg)
{
    (void) val, (void) vlen;
    first_t *f = arg;
    if (klen == KEY_LEN && memcmp (key, f->first, PEER_LEN) == 0) {
        f->seq = xf_be64_get ((const uint8_t *) key + PEER_LEN);
        f->found = true;
    }
    return 1;
}

int xf_outbox_first (xf_txn_t *txn, const char *peer, uint64_t *first, xf_err_t *err)
{
    xf_link_pos_t pos = {0, 1, 0};
    first_t f = {.found = false};
    int rc = xf_outbox_positions (txn, peer, &pos, err);
    entry_key (f.first, peer, 0);
    if (rc == XF_OK)
        rc = xf_txn_scan (txn, XF_DB_OUTBOX, f.first, KEY_LEN, first_entry, &f, err);
    *first = f.found && f.seq < pos.next_seq ? f.seq : pos.next_seq;
    return rc;
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
    xf_link_pos_t pos = {0, 1, 0};
    int rc = xf_outbox_positions (txn, peer, &pos, err);
    *bytes = 0;
    if (rc != XF_OK)
        return rc;
    entry_key (first, peer, pos.acked + 1);   /* acknowledged entries kept are not waiting */
    memcpy (a.last, first, KEY_LEN);
    rc = xf_txn_scan (txn, XF_DB_OUTBOX, first, KEY_LEN, add_size, &a, err);
    *bytes = a.bytes;
    return rc;
}
