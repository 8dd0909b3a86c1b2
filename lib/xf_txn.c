/* xf_txn.c — what runs inside a store transaction: get, put, insert, delete, scans, counters;
 * and what a write transaction keeps in memory: its cache, and the last key of each database.
 *
 * The cache: a write transaction keeps in memory the small values of meta, stats, digest and
 * links that it reads (counters, sequence numbers, the audit head, statistics buckets, the
 * monthly digests of the cases shared with each office, each link's positions), and a put to
 * a key it keeps changes the memory only; xf_store_write writes what changed to LMDB once,
 * just before the commit. An escalation of 1,000 cases read and rewrote the same dozen keys
 * 1,000 times, and each LMDB put walks the tree and marks a page dirty. A key put without
 * having been read (a record of its own) goes to LMDB at once. Before a delete or an insert of
 * a kept key, and before a scan, count or clear of a database, LMDB is given what changed:
 * every call sees what the transaction wrote, as without the cache. An aborted transaction
 * drops it all.
 *
 * The last key: see put(). */
#include "xf_store_int.h"

#include <string.h>

static int put_result (xf_txn_t *t, int rc, xf_db_t db, xf_err_t *err)
{
    if (rc == 0)
        return XF_OK;
    if (rc == MDB_MAP_FULL) {
        t->map_full = true;
        return xf_err_set (err, XF_ESTORE, "store %s: map full (growing)", t->store->dir);
    }
    if (rc == MDB_KEYEXIST)
        return XF_EEXIST;
    return xf_store_lmdb_err (err, rc, xf_store_db_names[db], t->store);
}

/* ---------------------------------------------------------------- the cache */

static bool cacheable (const xf_txn_t *t, xf_db_t db, size_t klen)
{
    return t->cache && (db == XF_DB_META || db == XF_DB_STATS || db == XF_DB_DIGEST
                        || db == XF_DB_LINKS) && klen <= XF_TXN_CACHED_KEY;
}

static xf_txn_cached_t *cached (xf_txn_t *t, xf_db_t db, const void *key, size_t klen)
{
    if (!cacheable (t, db, klen))
        return NULL;
    for (size_t i = 0; i < XF_TXN_CACHED; i++) {
        xf_txn_cached_t *c = &t->cache[i];
        if (c->used && c->db == db && c->klen == klen && memcmp (c->key, key, klen) == 0)
            return c;
    }
    return NULL;
}

static int put (xf_txn_t *t, xf_db_t db, const void *key, size_t klen, const void *val,
                size_t vlen, unsigned flags, xf_err_t *err);

static int write_back (xf_txn_t *t, xf_txn_cached_t *c, xf_err_t *err)
{
    int rc = c->dirty ? put (t, c->db, c->key, c->klen, c->val, c->vlen, 0, err) : XF_OK;
    if (rc == XF_OK)
        c->dirty = false;
    return rc;
}

/* Writes what changed of db (XF_DB_COUNT: of every database); forget drops those values too. */
static int write_db (xf_txn_t *t, int db, bool forget, xf_err_t *err)
{
    for (size_t i = 0; t->cache && i < XF_TXN_CACHED; i++) {
        xf_txn_cached_t *c = &t->cache[i];
        if (!c->used || (db != XF_DB_COUNT && (int) c->db != db))
            continue;
        int rc = write_back (t, c, err);
        if (rc != XF_OK)
            return rc;
        if (forget)
            c->used = false;
    }
    return XF_OK;
}

int xf_txn_flush (xf_txn_t *t, xf_err_t *err)
{
    return write_db (t, XF_DB_COUNT, false, err);
}

/* Before an operation on key that the cache does not model (delete, insert): LMDB gets the
 * value the transaction put, and the cache lets go of it. */
static int settle (xf_txn_t *t, xf_db_t db, const void *key, size_t klen, xf_err_t *err)
{
    xf_txn_cached_t *c = cached (t, db, key, klen);
    int rc = c ? write_back (t, c, err) : XF_OK;
    if (c && rc == XF_OK)
        c->used = false;
    return rc;
}

/* Keeps what LMDB said of key (v NULL: absent) in a free slot; when none is free the value is
 * simply not kept (a get never moves what an earlier get returned). */
static xf_txn_cached_t *keep (xf_txn_t *t, xf_db_t db, const void *key, size_t klen,
                              const MDB_val *v)
{
    if (!cacheable (t, db, klen) || (v && v->mv_size > XF_TXN_CACHED_VAL))
        return NULL;
    for (size_t i = 0; i < XF_TXN_CACHED; i++) {
        xf_txn_cached_t *c = &t->cache[i];
        if (c->used)
            continue;
        *c = (xf_txn_cached_t) {.used = true, .absent = !v, .db = db, .klen = (uint8_t) klen,
                                .vlen = v ? (uint16_t) v->mv_size : 0};
        memcpy (c->key, key, klen);
        if (v)
            memcpy (c->val, v->mv_data, v->mv_size);
        return c;
    }
    return NULL;
}

/* ---------------------------------------------------------------- operations */

int xf_txn_get (xf_txn_t *t, xf_db_t db, const void *key, size_t klen,
                const void **val, size_t *vlen, xf_err_t *err)
{
    xf_txn_cached_t *c = cached (t, db, key, klen);
    if (!c) {
        MDB_val k = {klen, (void *) key}, v;
        int rc = mdb_get (t->txn, t->store->dbi[db], &k, &v);
        if (rc != 0 && rc != MDB_NOTFOUND)
            return xf_store_lmdb_err (err, rc, xf_store_db_names[db], t->store);
        if (!(c = keep (t, db, key, klen, rc == 0 ? &v : NULL))) {
            if (rc == MDB_NOTFOUND)
                return XF_ENOTFOUND;
            *val = v.mv_data;
            *vlen = v.mv_size;
            return XF_OK;
        }
    }
    if (c->absent)
        return XF_ENOTFOUND;
    *val = c->val;
    *vlen = c->vlen;
    return XF_OK;
}

/* Databases whose new keys mostly sort after every key present (sequences, case ids of one
 * office, days). LMDB splits a full page in the middle unless told the key is appended, so
 * keys that arrive in order would leave every page half full and double the bytes each commit
 * writes; with MDB_APPEND the split leaves the old page full. */
static bool mostly_appended (xf_db_t db)
{
    return db == XF_DB_CASES || db == XF_DB_EVENTS || db == XF_DB_DUE || db == XF_DB_STATUS
           || db == XF_DB_OUTBOX || db == XF_DB_AUDIT || db == XF_DB_SNAPSHOTS || db == XF_DB_SHARE;
}

static void tail_set (xf_txn_tail_t *tail, const MDB_val *k)
{
    if (k->mv_size > XF_TXN_TAIL_KEY) {
        tail->state = XF_TAIL_UNTRACKED;
        return;
    }
    tail->state = XF_TAIL_KNOWN;
    tail->len = (uint8_t) k->mv_size;
    memcpy (tail->key, k->mv_data, k->mv_size);
}

/* db's last key, looked up once per transaction. When the lookup fails the tail is untracked:
 * every put then tries MDB_APPEND first, which is always correct. */
static xf_txn_tail_t *tail_of (xf_txn_t *t, xf_db_t db)
{
    xf_txn_tail_t *tail = &t->tails[db];
    MDB_cursor *cur;
    MDB_val k, v;
    if (tail->state != XF_TAIL_UNREAD)
        return tail;
    tail->state = XF_TAIL_UNTRACKED;
    if (mdb_cursor_open (t->txn, t->store->dbi[db], &cur) != 0)
        return tail;
    int rc = mdb_cursor_get (cur, &k, &v, MDB_LAST);
    if (rc == MDB_NOTFOUND)
        tail->state = XF_TAIL_EMPTY;
    else if (rc == 0)
        tail_set (tail, &k);
    mdb_cursor_close (cur);
    return tail;
}

static bool after_tail (const xf_txn_t *t, xf_db_t db, const xf_txn_tail_t *tail, const MDB_val *k)
{
    if (tail->state != XF_TAIL_KNOWN)
        return true;
    MDB_val last = {tail->len, (void *) tail->key};
    return mdb_cmp (t->txn, t->store->dbi[db], k, &last) > 0;
}

/* A key that sorts after the database's last one is appended. Any other is put the ordinary
 * way at once: an MDB_APPEND of it would walk the tree only to be refused (MDB_KEYEXIST),
 * which was two wasted walks per escalated case (its record and its event). Without a known
 * tail MDB_APPEND is tried, and a refusal puts the key the ordinary way, changing nothing. */
static int put (xf_txn_t *t, xf_db_t db, const void *key, size_t klen, const void *val,
                size_t vlen, unsigned flags, xf_err_t *err)
{
    MDB_val k = {klen, (void *) key}, v = {vlen, (void *) val};
    xf_txn_tail_t *tail = NULL;
    bool append = false;
    if (mostly_appended (db)) {
        tail = t->tails ? tail_of (t, db) : NULL;
        append = !tail || after_tail (t, db, tail, &k);
    }
    int rc = append ? mdb_put (t->txn, t->store->dbi[db], &k, &v, flags | MDB_APPEND)
                    : MDB_KEYEXIST;
    if (rc == 0 && tail)
        tail_set (tail, &k);   /* appended: now the last key */
    else if (rc == MDB_KEYEXIST)
        rc = mdb_put (t->txn, t->store->dbi[db], &k, &v, flags);
    return put_result (t, rc, db, err);
}

/* A key the transaction read is changed in memory (written before the commit); any other goes
 * to LMDB now. */
int xf_txn_put (xf_txn_t *t, xf_db_t db, const void *key, size_t klen,
                const void *val, size_t vlen, xf_err_t *err)
{
    xf_txn_cached_t *c = cached (t, db, key, klen);
    if (c && vlen <= XF_TXN_CACHED_VAL) {
        memmove (c->val, val, vlen);   /* val may be what a get of this key returned */
        c->vlen = (uint16_t) vlen;
        c->dirty = true;
        c->absent = false;
        return XF_OK;
    }
    if (c)
        c->used = false;   /* too long to keep: the put below supersedes what it held */
    return put (t, db, key, klen, val, vlen, 0, err);
}

int xf_txn_insert (xf_txn_t *t, xf_db_t db, const void *key, size_t klen,
                   const void *val, size_t vlen, xf_err_t *err)
{
    int rc = settle (t, db, key, klen, err);
    return rc != XF_OK ? rc : put (t, db, key, klen, val, vlen, MDB_NOOVERWRITE, err);
}

int xf_txn_del (xf_txn_t *t, xf_db_t db, const void *key, size_t klen, xf_err_t *err)
{
    int rc = settle (t, db, key, klen, err);
    if (rc != XF_OK)
        return rc;
    MDB_val k = {klen, (void *) key};
    rc = mdb_del (t->txn, t->store->dbi[db], &k, NULL);
    if (rc == MDB_NOTFOUND)
        return XF_ENOTFOUND;
    return put_result (t, rc, db, err);
}

static int scan (xf_txn_t *t, xf_db_t db, const void *start, size_t slen, bool back,
                 xf_scan_fn fn, void *arg, xf_err_t *err)
{
    MDB_cursor *cur;
    int rc = write_db (t, db, false, err);   /* the cursor reads LMDB: it must hold all */
    if (rc != XF_OK)
        return rc;
    if ((rc = mdb_cursor_open (t->txn, t->store->dbi[db], &cur)) != 0)
        return xf_store_lmdb_err (err, rc, xf_store_db_names[db], t->store);
    MDB_val k = {slen, (void *) start}, v;
    if (!start)
        rc = mdb_cursor_get (cur, &k, &v, back ? MDB_LAST : MDB_FIRST);
    else {
        rc = mdb_cursor_get (cur, &k, &v, MDB_SET_RANGE);
        if (back) {   /* the last key <= start */
            if (rc == MDB_NOTFOUND)
                rc = mdb_cursor_get (cur, &k, &v, MDB_LAST);
            else if (rc == 0 && (k.mv_size != slen || memcmp (k.mv_data, start, slen) != 0))
                rc = mdb_cursor_get (cur, &k, &v, MDB_PREV);
        }
    }
    int ret = XF_OK;
    while (rc == 0) {
        ret = fn (k.mv_data, k.mv_size, v.mv_data, v.mv_size, arg);
        if (ret != 0)
            break;
        rc = mdb_cursor_get (cur, &k, &v, back ? MDB_PREV : MDB_NEXT);
    }
    mdb_cursor_close (cur);
    if (ret < 0)
        return ret;
    if (rc != 0 && rc != MDB_NOTFOUND)
        return xf_store_lmdb_err (err, rc, xf_store_db_names[db], t->store);
    return XF_OK;
}

int xf_txn_scan (xf_txn_t *t, xf_db_t db, const void *start, size_t slen,
                 xf_scan_fn fn, void *arg, xf_err_t *err)
{
    return scan (t, db, start, slen, false, fn, arg, err);
}

int xf_txn_scan_back (xf_txn_t *t, xf_db_t db, const void *start, size_t slen,
                      xf_scan_fn fn, void *arg, xf_err_t *err)
{
    return scan (t, db, start, slen, true, fn, arg, err);
}

typedef struct {
    const void *prefix;
    size_t plen;
    xf_scan_fn fn;
    void *arg;
} prefixed_t;

static int under_prefix (const void *key, size_t klen, const void *val, size_t vlen, void *arg)
{
    prefixed_t *p = arg;
    if (klen < p->plen || memcmp (key, p->prefix, p->plen) != 0)
        return 1;   /* past the keys that start so */
    return p->fn (key, klen, val, vlen, p->arg);
}

int xf_txn_scan_prefix (xf_txn_t *t, xf_db_t db, const void *prefix, size_t plen,
                        xf_scan_fn fn, void *arg, xf_err_t *err)
{
    prefixed_t p = {prefix, plen, fn, arg};
    return scan (t, db, prefix, plen, false, under_prefix, &p, err);
}

typedef struct {
    xf_db_t db;
    const void *key, *val;
    size_t klen, vlen;
} put_one_t;

static int put_one_txn (xf_txn_t *txn, void *arg, xf_err_t *err)
{
    put_one_t *p = arg;
    return xf_txn_put (txn, p->db, p->key, p->klen, p->val, p->vlen, err);
}

int xf_store_put (xf_store_t *s, xf_db_t db, const void *key, size_t klen, const void *val,
                  size_t vlen, xf_err_t *err)
{
    put_one_t p = {db, key, val, klen, vlen};
    return xf_store_write (s, put_one_txn, &p, err);
}

int xf_txn_meta_u64 (xf_txn_t *t, const char *name, uint64_t *out, xf_err_t *err)
{
    const void *v = NULL;
    size_t vlen = 0;
    int rc = xf_txn_get (t, XF_DB_META, name, strlen (name), &v, &vlen, err);
    if (rc == XF_ENOTFOUND) {
        *out = 0;
        return XF_OK;
    }
    if (rc != XF_OK)
        return rc;
    if (vlen != 8)
        return xf_err_set (err, XF_ESTORE, "store %s: meta \"%s\" is damaged (%zu bytes)",
                           t->store->dir, name, vlen);
    *out = xf_be64_get (v);
    return XF_OK;
}

int xf_txn_meta_set_u64 (xf_txn_t *t, const char *name, uint64_t v, xf_err_t *err)
{
    uint8_t b[8];
    xf_be64_put (b, v);
    return xf_txn_put (t, XF_DB_META, name, strlen (name), b, sizeof b, err);
}

int xf_txn_clear (xf_txn_t *t, xf_db_t db, xf_err_t *err)
{
    int rc = write_db (t, db, true, err);
    if (rc != XF_OK)
        return rc;
    rc = mdb_drop (t->txn, t->store->dbi[db], 0);
    if (rc == 0 && t->tails)
        t->tails[db].state = XF_TAIL_EMPTY;
    return rc == 0 ? XF_OK : xf_store_lmdb_err (err, rc, xf_store_db_names[db], t->store);
}

int xf_txn_count (xf_txn_t *t, xf_db_t db, size_t *out, xf_err_t *err)
{
    MDB_stat st;
    int rc = write_db (t, db, false, err);
    if (rc != XF_OK)
        return rc;
    rc = mdb_stat (t->txn, t->store->dbi[db], &st);
    if (rc != 0)
        return xf_store_lmdb_err (err, rc, xf_store_db_names[db], t->store);
    *out = st.ms_entries;
    return XF_OK;
}

