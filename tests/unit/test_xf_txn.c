/* test_xf_txn.c — what a write transaction keeps in memory (lib/xf_txn.c).
 *
 * Its cache: the small values of meta, stats and links read in a transaction are changed in
 * memory and written once before the commit, and every call inside the transaction sees what
 * it wrote, as without the cache: gets, scans, counts, deletes and inserts of kept keys; an
 * abort drops it all; a long value and more keys than the cache holds go to LMDB; a map that
 * fills while the cache is written grows and the transaction runs again from the start.
 *
 * The last key of each appended database: a key after it is appended, any other put the
 * ordinary way, also once the last key was deleted, when it is too long to remember, after a
 * clear, and in the next transaction. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "xf_store.h"
#include "xf_test.h"

static int setup (void **state)
{
    return xf_test_store_setup (state, "test_xf_txn");
}

static int teardown (void **state)
{
    return xf_test_store_teardown (state);
}

static xf_store_t *store_of (void **state)
{
    return ((xf_test_store_t *) *state)->store;
}

/* What a read transaction sees of a meta counter. */
typedef struct {
    const char *name;
    uint64_t v;
} counter_t;

static int read_counter (xf_txn_t *txn, void *arg, xf_err_t *err)
{
    counter_t *c = arg;
    return xf_txn_meta_u64 (txn, c->name, &c->v, err);
}

static uint64_t committed (xf_store_t *s, const char *name)
{
    xf_err_t err = {0};
    counter_t c = {name, 99};
    assert_int_equal (xf_store_read (s, read_counter, &c, &err), XF_OK);
    return c.v;
}

/* ---------------------------------------------------------------- a counter, 1,000 times */

static int bump_1000 (xf_txn_t *txn, void *arg, xf_err_t *err)
{
    (void) arg;
    for (uint64_t i = 0; i < 1000; i++) {
        uint64_t v = 7;
        int rc = xf_txn_meta_u64 (txn, "count/x", &v, err);
        if (rc != XF_OK)
            return rc;
        if (v != i)
            return xf_err_set (err, XF_ESTATE, "read %llu after %llu puts",
                               (unsigned long long) v, (unsigned long long) i);
        if ((rc = xf_txn_meta_set_u64 (txn, "count/x", v + 1, err)) != XF_OK)
            return rc;
    }
    return XF_OK;
}

static void test_counter_read_and_put_in_one_transaction (void **state)
{
    xf_err_t err = {0};
    if (xf_store_write (store_of (state), bump_1000, NULL, &err) != XF_OK)
        fail_msg ("%s", err.msg);
    assert_int_equal (committed (store_of (state), "count/x"), 1000);
    if (xf_store_write (store_of (state), bump_1000, NULL, &err) == XF_OK)
        fail_msg ("the second run read 0: the first was not committed");
    assert_non_null (strstr (err.msg, "read 1000 after 0 puts"));
    assert_int_equal (committed (store_of (state), "count/x"), 1000);   /* refused: unchanged */
}

/* ---------------------------------------------------------------- every call sees the puts */

typedef struct {
    size_t seen;
    uint64_t last;
} scan_t;

static int see (const void *key, size_t klen, const void *val, size_t vlen, void *arg)
{
    scan_t *s = arg;
    (void) key, (void) klen;
    s->seen++;
    s->last = vlen == 8 ? xf_be64_get (val) : 0;
    return 0;
}

static int same_view (xf_txn_t *txn, void *arg, xf_err_t *err)
{
    (void) arg;
    uint64_t v;
    size_t before = 0, after = 0;
    int rc;
    scan_t s = {0};
    if ((rc = xf_txn_count (txn, XF_DB_META, &before, err))
        || (rc = xf_txn_meta_u64 (txn, "k/a", &v, err))          /* absent: kept as absent */
        || (rc = xf_txn_meta_set_u64 (txn, "k/a", 41, err))       /* changed in memory */
        || (rc = xf_txn_meta_set_u64 (txn, "k/a", 42, err))
        || (rc = xf_txn_scan_prefix (txn, XF_DB_META, "k/", 2, see, &s, err))
        || (rc = xf_txn_count (txn, XF_DB_META, &after, err)))
        return rc;
    if (v != 0 || s.seen != 1 || s.last != 42 || after != before + 1)
        return xf_err_set (err, XF_ESTATE, "scan saw %zu (last %llu), count %zu -> %zu", s.seen,
                           (unsigned long long) s.last, before, after);
    /* a kept key put in this transaction: insert refuses it, delete finds it */
    uint8_t one[8];
    xf_be64_put (one, 1);
    if ((rc = xf_txn_meta_set_u64 (txn, "k/b", 5, err)))
        return rc;
    if ((rc = xf_txn_meta_u64 (txn, "k/b", &v, err)) || (rc = xf_txn_meta_set_u64 (txn, "k/b", 6, err)))
        return rc;
    if ((rc = xf_txn_insert (txn, XF_DB_META, "k/b", 3, one, 8, err)) != XF_EEXIST)
        return xf_err_set (err, XF_ESTATE, "insert of a kept key: %d, not XF_EEXIST", rc);
    if ((rc = xf_txn_meta_u64 (txn, "k/c", &v, err)) || (rc = xf_txn_meta_set_u64 (txn, "k/c", 9, err)))
        return rc;
    if ((rc = xf_txn_del (txn, XF_DB_META, "k/c", 3, err)) != XF_OK)
        return xf_err_set (err, XF_ESTATE, "delete of a key put in this transaction: %d", rc);
    const void *p;
    size_t n;
    if ((rc = xf_txn_get (txn, XF_DB_META, "k/c", 3, &p, &n, err)) != XF_ENOTFOUND)
        return xf_err_set (err, XF_ESTATE, "deleted, then read: %d", rc);
    return XF_OK;
}

static void test_every_call_sees_the_puts (void **state)
{
    xf_err_t err = {0};
    if (xf_store_write (store_of (state), same_view, NULL, &err) != XF_OK)
        fail_msg ("%s", err.msg);
    assert_int_equal (committed (store_of (state), "k/a"), 42);
    assert_int_equal (committed (store_of (state), "k/b"), 6);
    counter_t c = {"k/c", 99};
    xf_err_t e2 = {0};
    assert_int_equal (xf_store_read (store_of (state), read_counter, &c, &e2), XF_OK);
    assert_int_equal (c.v, 0);   /* absent */
}

/* ---------------------------------------------------------------- abort */

static int bump_then_fail (xf_txn_t *txn, void *arg, xf_err_t *err)
{
    int rc = bump_1000 (txn, arg, err);
    return rc != XF_OK ? rc : xf_err_set (err, XF_EINVAL, "the caller changed its mind");
}

static void test_abort_drops_what_was_kept (void **state)
{
    xf_err_t err = {0};
    assert_int_equal (xf_store_write (store_of (state), bump_then_fail, NULL, &err), XF_EINVAL);
    assert_int_equal (committed (store_of (state), "count/x"), 0);
    assert_int_equal (xf_store_write (store_of (state), bump_1000, NULL, &err), XF_OK);
    assert_int_equal (committed (store_of (state), "count/x"), 1000);
}

/* ---------------------------------------------------------------- long values, many keys */

typedef struct {
    size_t len;
    uint8_t val[1000];
} long_t;

static int get_long (xf_txn_t *txn, void *arg, xf_err_t *err)
{
    long_t *l = arg;
    const void *p;
    int rc = xf_txn_get (txn, XF_DB_STATS, "L", 1, &p, &l->len, err);
    if (rc == XF_OK)
        memcpy (l->val, p, l->len);
    return rc;
}

static int grow_value (xf_txn_t *txn, void *arg, xf_err_t *err)
{
    (void) arg;
    uint8_t small[16], big[700];
    const void *p;
    size_t n;
    memset (small, 's', sizeof small);
    memset (big, 'b', sizeof big);
    int rc = xf_txn_get (txn, XF_DB_STATS, "L", 1, &p, &n, err);   /* absent: kept */
    if (rc != XF_ENOTFOUND)
        return xf_err_set (err, XF_ESTATE, "L: %d", rc);
    if ((rc = xf_txn_put (txn, XF_DB_STATS, "L", 1, small, sizeof small, err))
        || (rc = xf_txn_get (txn, XF_DB_STATS, "L", 1, &p, &n, err))
        || (rc = xf_txn_put (txn, XF_DB_STATS, "L", 1, p, n, err)))   /* what get returned */
        return rc;
    if ((rc = xf_txn_get (txn, XF_DB_STATS, "L", 1, &p, &n, err)) || n != sizeof small
        || memcmp (p, small, n) != 0)
        return xf_err_set (err, XF_ESTATE, "put back, L has %zu bytes", n);
    if ((rc = xf_txn_put (txn, XF_DB_STATS, "L", 1, big, sizeof big, err)))   /* too long */
        return rc;
    if ((rc = xf_txn_get (txn, XF_DB_STATS, "L", 1, &p, &n, err)) || n != sizeof big
        || memcmp (p, big, n) != 0)
        return xf_err_set (err, XF_ESTATE, "after the long put, L has %zu bytes", n);
    return XF_OK;
}

static void test_long_value_goes_to_lmdb (void **state)
{
    xf_err_t err = {0};
    long_t l = {0};
    if (xf_store_write (store_of (state), grow_value, NULL, &err) != XF_OK)
        fail_msg ("%s", err.msg);
    assert_int_equal (xf_store_read (store_of (state), get_long, &l, &err), XF_OK);
    assert_int_equal (l.len, 700);
    assert_int_equal (l.val[0], 'b');
    assert_int_equal (l.val[699], 'b');
}

#define MANY 100   /* keys, more than the cache holds */

static int many_keys (xf_txn_t *txn, void *arg, xf_err_t *err)
{
    (void) arg;
    for (int round = 0; round < 3; round++)
        for (int i = 0; i < MANY; i++) {
            char name[16];
            uint64_t v;
            snprintf (name, sizeof name, "m/%03d", i);
            int rc = xf_txn_meta_u64 (txn, name, &v, err);
            if (rc == XF_OK && v != (uint64_t) (round * i))
                return xf_err_set (err, XF_ESTATE, "%s: %llu in round %d", name,
                                   (unsigned long long) v, round);
            if (rc != XF_OK || (rc = xf_txn_meta_set_u64 (txn, name, v + (uint64_t) i, err)))
                return rc;
        }
    return XF_OK;
}

static void test_more_keys_than_kept (void **state)
{
    xf_err_t err = {0};
    if (xf_store_write (store_of (state), many_keys, NULL, &err) != XF_OK)
        fail_msg ("%s", err.msg);
    for (int i = 0; i < MANY; i++) {
        char name[16];
        snprintf (name, sizeof name, "m/%03d", i);
        assert_int_equal (committed (store_of (state), name), (uint64_t) (3 * i));
    }
}

/* ---------------------------------------------------------------- the map fills */

typedef struct {
    int calls;
} fill_t;

/* A counter bumped, then 4 MiB of records: the first runs fill a 64 KiB map, the store grows
 * it and runs the callback again; the counter must count one run. */
static int bump_and_fill (xf_txn_t *txn, void *arg, xf_err_t *err)
{
    fill_t *f = arg;
    static uint8_t val[4000];
    uint64_t v;
    f->calls++;
    int rc = xf_txn_meta_u64 (txn, "count/y", &v, err);
    if (rc == XF_OK)
        rc = xf_txn_meta_set_u64 (txn, "count/y", v + 1, err);
    for (uint32_t i = 0; rc == XF_OK && i < 1000; i++) {
        uint8_t key[4];
        xf_be32_put (key, i);
        rc = xf_txn_put (txn, XF_DB_EVENTS, key, sizeof key, val, sizeof val, err);
    }
    if (rc == XF_OK)
        rc = xf_txn_meta_set_u64 (txn, "count/y", v + 2, err);   /* changed again, in memory */
    return rc;
}

static void test_map_fills_and_the_transaction_runs_again (void **state)
{
    xf_test_store_t *x = *state;
    xf_err_t err = {0};
    xf_store_close (&x->store);
    xf_test_rmtree (x->dir);
    assert_int_equal (xf_test_mkdtemp (x->dir, sizeof x->dir, "test_xf_txn_fill"), 0);
    xf_store_opts_t opts = {.map_size = 64 << 10};
    assert_non_null (x->store = xf_store_open (x->dir, &opts, &err));
    fill_t f = {0};
    if (xf_store_write (x->store, bump_and_fill, &f, &err) != XF_OK)
        fail_msg ("%s", err.msg);
    assert_true (f.calls > 1);
    assert_int_equal (committed (x->store, "count/y"), 2);
}

/* One 4,000-byte record a transaction until the store says it is full (its limit is the map). */
static int put_one_page (xf_txn_t *txn, void *arg, xf_err_t *err)
{
    static uint8_t val[4000];
    uint8_t key[4];
    xf_be32_put (key, (*(uint32_t *) arg)++);
    return xf_txn_put (txn, XF_DB_EVENTS, key, sizeof key, val, sizeof val, err);
}

#define KEPT_KEYS 32

/* 32 statistics buckets read (absent: kept) and written, in memory only: nothing touches a
 * page until the cache is written before the commit. */
static int bump_kept (xf_txn_t *txn, void *arg, xf_err_t *err)
{
    fill_t *f = arg;
    uint8_t val[500];
    f->calls++;
    for (int i = 0; i < KEPT_KEYS; i++) {
        uint8_t key[2] = {'k', (uint8_t) i};
        const void *v;
        size_t n;
        int rc = xf_txn_get (txn, XF_DB_STATS, key, sizeof key, &v, &n, err);
        if (rc != XF_ENOTFOUND)
            return rc == XF_OK ? xf_err_set (err, XF_ESTATE, "bucket %d exists", i) : rc;
        memset (val, 'a' + i % 26, sizeof val);
        if ((rc = xf_txn_put (txn, XF_DB_STATS, key, sizeof key, val, sizeof val, err)))
            return rc;
    }
    return XF_OK;
}

static int read_kept (xf_txn_t *txn, void *arg, xf_err_t *err)
{
    int *good = arg;
    for (int i = 0; i < KEPT_KEYS; i++) {
        uint8_t key[2] = {'k', (uint8_t) i};
        const void *v;
        size_t n;
        int rc = xf_txn_get (txn, XF_DB_STATS, key, sizeof key, &v, &n, err);
        if (rc != XF_OK)
            return rc;
        *good += n == 500 && ((const uint8_t *) v)[499] == 'a' + i % 26;
    }
    return XF_OK;
}

/* The map is full when the cache is written, not before: the store grows it and runs the
 * transaction again, and what it kept lands whole. */
static void test_map_fills_while_the_cache_is_written (void **state)
{
    xf_test_store_t *x = *state;
    xf_err_t err = {0};
    xf_store_close (&x->store);
    xf_test_rmtree (x->dir);
    assert_int_equal (xf_test_mkdtemp (x->dir, sizeof x->dir, "test_xf_txn_flush"), 0);
    xf_store_opts_t full = {.map_size = 64 << 10, .max_map_size = 64 << 10};
    assert_non_null (x->store = xf_store_open (x->dir, &full, &err));
    uint32_t n = 0;
    while (xf_store_write (x->store, put_one_page, &n, &err) == XF_OK)
        assert_true (n < 100);
    assert_non_null (strstr (err.msg, "full"));
    xf_store_close (&x->store);
    xf_store_opts_t grows = {.map_size = 64 << 10};
    assert_non_null (x->store = xf_store_open (x->dir, &grows, &err));
    size_t before = xf_store_map_size (x->store);
    fill_t f = {0};
    if (xf_store_write (x->store, bump_kept, &f, &err) != XF_OK)
        fail_msg ("%s", err.msg);
    assert_int_equal (f.calls, 2);   /* the first run's commit found the map full */
    assert_true (xf_store_map_size (x->store) > before);
    int good = 0;
    assert_int_equal (xf_store_read (x->store, read_kept, &good, &err), XF_OK);
    assert_int_equal (good, KEPT_KEYS);
}

/* ---------------------------------------------------------------- link positions */

/* A link's positions are read and written for every envelope queued, now through the cache like
 * a counter: every read sees the last put, a scan sees it, and the commit keeps it. (Whether the
 * value was kept in memory does not show through this API; that it stays right does.) */
static int queue_1000 (xf_txn_t *txn, void *arg, xf_err_t *err)
{
    (void) arg;
    for (uint64_t i = 0; i < 1000; i++) {
        const void *v = NULL;
        size_t vlen = 0;
        uint8_t pos[8];
        int rc = xf_txn_get (txn, XF_DB_LINKS, "pos/411300", 10, &v, &vlen, err);
        uint64_t next = rc == XF_ENOTFOUND ? 0 : vlen == 8 ? xf_be64_get (v) : 99999;
        if (rc != XF_OK && rc != XF_ENOTFOUND)
            return rc;
        if (next != i)
            return xf_err_set (err, XF_ESTATE, "position %llu after %llu puts",
                               (unsigned long long) next, (unsigned long long) i);
        xf_be64_put (pos, next + 1);
        if ((rc = xf_txn_put (txn, XF_DB_LINKS, "pos/411300", 10, pos, 8, err)) != XF_OK)
            return rc;
    }
    scan_t s = {0};
    int rc = xf_txn_scan (txn, XF_DB_LINKS, NULL, 0, see, &s, err);
    if (rc == XF_OK && (s.seen != 1 || s.last != 1000))
        return xf_err_set (err, XF_ESTATE, "a scan saw %zu positions, the last %llu", s.seen,
                           (unsigned long long) s.last);
    return rc;
}

static int read_position (xf_txn_t *txn, void *arg, xf_err_t *err)
{
    const void *v = NULL;
    size_t vlen = 0;
    int rc = xf_txn_get (txn, XF_DB_LINKS, "pos/411300", 10, &v, &vlen, err);
    *(uint64_t *) arg = rc == XF_OK && vlen == 8 ? xf_be64_get (v) : 0;
    return rc;
}

static void test_link_positions_read_and_written_1000_times (void **state)
{
    xf_err_t err = {0};
    uint64_t pos = 0;
    if (xf_store_write (store_of (state), queue_1000, NULL, &err) != XF_OK)
        fail_msg ("%s", err.msg);
    assert_int_equal (xf_store_read (store_of (state), read_position, &pos, &err), XF_OK);
    assert_int_equal (pos, 1000);
}

/* ---------------------------------------------------------------- the last key */

/* Keys of an appended database, in order, as one string. */
typedef struct {
    char keys[600];
} listed_t;

static int list_key (const void *key, size_t klen, const void *val, size_t vlen, void *arg)
{
    listed_t *l = arg;
    (void) val, (void) vlen;
    size_t at = strlen (l->keys);
    if (at + klen + 2 >= sizeof l->keys)
        return XF_ESTATE;
    if (at)
        l->keys[at++] = ' ';
    memcpy (l->keys + at, key, klen > 8 ? 8 : klen);   /* a long key shows its first 8 bytes */
    l->keys[at + (klen > 8 ? 8 : klen)] = '\0';
    return 0;
}

static int list_keys (xf_txn_t *txn, void *arg, xf_err_t *err)
{
    ((listed_t *) arg)->keys[0] = '\0';
    return xf_txn_scan (txn, XF_DB_OUTBOX, NULL, 0, list_key, arg, err);
}

static int put_key (xf_txn_t *txn, const char *key, xf_err_t *err)
{
    return xf_txn_put (txn, XF_DB_OUTBOX, key, strlen (key), "v", 1, err);
}

/* After the last key is deleted the transaction still holds it as the tail: a key between
 * the new last and the old one must be put the ordinary way, and one after both appended. */
static int around_the_tail (xf_txn_t *txn, void *arg, xf_err_t *err)
{
    static const char *const in_order[] = {"k01", "k02", "k03", "k04", "k05"};
    int rc = XF_OK;
    (void) arg;
    for (size_t i = 0; rc == XF_OK && i < 5; i++)
        rc = put_key (txn, in_order[i], err);
    if (rc == XF_OK)
        rc = xf_txn_del (txn, XF_DB_OUTBOX, "k05", 3, err);
    if (rc == XF_OK)
        rc = put_key (txn, "k045", err);   /* after k04, before the k05 it remembers */
    if (rc == XF_OK)
        rc = put_key (txn, "k06", err);    /* after all: appended */
    if (rc == XF_OK)
        rc = put_key (txn, "k00", err);    /* before all */
    if (rc == XF_OK)
        rc = put_key (txn, "k03", err);    /* present: overwritten */
    if (rc == XF_OK && (rc = xf_txn_insert (txn, XF_DB_OUTBOX, "k06", 3, "w", 1, err)) != XF_EEXIST)
        return xf_err_set (err, XF_ESTATE, "insert of the last key: %d, not XF_EEXIST", rc);
    return xf_txn_insert (txn, XF_DB_OUTBOX, "k07", 3, "v", 1, err);
}

/* A last key too long to remember: every put tries MDB_APPEND first, as without the tail. */
static int past_a_long_key (xf_txn_t *txn, void *arg, xf_err_t *err)
{
    char long_key[100];
    (void) arg;
    memset (long_key, 'x', sizeof long_key - 1);
    long_key[0] = 'm';
    long_key[sizeof long_key - 1] = '\0';
    int rc = put_key (txn, long_key, err);
    if (rc == XF_OK)
        rc = put_key (txn, "k08", err);   /* before it */
    if (rc == XF_OK)
        rc = put_key (txn, "n1", err);    /* after it */
    return rc == XF_OK ? put_key (txn, "n0", err) : rc;
}

static int clear_then_put (xf_txn_t *txn, void *arg, xf_err_t *err)
{
    (void) arg;
    int rc = xf_txn_clear (txn, XF_DB_OUTBOX, err);
    if (rc == XF_OK)
        rc = put_key (txn, "b", err);
    return rc == XF_OK ? put_key (txn, "a", err) : rc;
}

static void expect_keys (xf_store_t *s, const char *want)
{
    xf_err_t err = {0};
    listed_t l;
    if (xf_store_read (s, list_keys, &l, &err) != XF_OK)
        fail_msg ("%s", err.msg);
    if (strcmp (l.keys, want) != 0)
        fail_msg ("keys \"%s\", expected \"%s\"", l.keys, want);
}

static void test_appends_follow_the_last_key (void **state)
{
    xf_err_t err = {0};
    if (xf_store_write (store_of (state), around_the_tail, NULL, &err) != XF_OK)
        fail_msg ("%s", err.msg);
    expect_keys (store_of (state), "k00 k01 k02 k03 k04 k045 k06 k07");
    if (xf_store_write (store_of (state), past_a_long_key, NULL, &err) != XF_OK)
        fail_msg ("%s", err.msg);
    expect_keys (store_of (state), "k00 k01 k02 k03 k04 k045 k06 k07 k08 mxxxxxxx n0 n1");
    /* a new transaction reads the last key from LMDB */
    if (xf_store_write (store_of (state), around_the_tail, NULL, &err) == XF_OK)
        fail_msg ("k06 was inserted again");
    if (xf_store_write (store_of (state), clear_then_put, NULL, &err) != XF_OK)
        fail_msg ("%s", err.msg);
    expect_keys (store_of (state), "a b");
}

int main (void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown (test_counter_read_and_put_in_one_transaction, setup,
                                         teardown),
        cmocka_unit_test_setup_teardown (test_every_call_sees_the_puts, setup, teardown),
        cmocka_unit_test_setup_teardown (test_abort_drops_what_was_kept, setup, teardown),
        cmocka_unit_test_setup_teardown (test_long_value_goes_to_lmdb, setup, teardown),
        cmocka_unit_test_setup_teardown (test_more_keys_than_kept, setup, teardown),
        cmocka_unit_test_setup_teardown (test_map_fills_and_the_transaction_runs_again, setup,
                                         teardown),
        cmocka_unit_test_setup_teardown (test_link_positions_read_and_written_1000_times, setup,
                                         teardown),
        cmocka_unit_test_setup_teardown (test_appends_follow_the_last_key, setup, teardown),
        cmocka_unit_test_setup_teardown (test_map_fills_while_the_cache_is_written, setup,
                                         teardown),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
