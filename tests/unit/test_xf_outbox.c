/* test_xf_outbox.c — per-peer outboxes and link positions: default positions, numbering per
 * peer, reading entries back, the outbox limit, trimming (exactly the acknowledged entries,
 * in slices, never backwards), the applied position, queued bytes per peer, all or nothing
 * when the transaction's callback fails, and what backups need: acknowledged entries kept for
 * days (retire), the lowest entry held, the restore mark, and renumbering after a restore. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "xf_link.h"
#include "xf_outbox.h"
#include "xf_store.h"
#include "xf_test.h"

#define CITY   "411300"      /* the parent */
#define COUNTY "411324"      /* a child */
#define TOWN   "411300001"   /* a code that starts with CITY's: keys must not mix them up */
#define OTHER  "411303"

#define N_OF(a) (sizeof (a) / sizeof (a)[0])

/* ---------------------------------------------------------------- fixture */

typedef xf_test_store_t fx_t;

static int setup (void **state)
{
    return xf_test_store_setup (state, "test_xf_outbox");
}

static int teardown (void **state)
{
    return xf_test_store_teardown (state);
}

static void assert_refused (int rc, const xf_err_t *err, int code, const char *phrase)
{
    assert_int_equal (rc, code);
    assert_int_equal (err->code, code);
    if (!strstr (err->msg, phrase))
        fail_msg ("message \"%s\" lacks \"%s\"", err->msg, phrase);
}

/* ---------------------------------------------------------------- one operation per transaction */

/* The bytes of entry seq for peer: deterministic, of varying length (some with NULs). */
static size_t payload (const char *peer, uint64_t seq, uint8_t *buf, size_t cap)
{
    size_t len = (size_t) (seq % 37) + 1 + strlen (peer);
    assert_true (len <= cap);
    for (size_t i = 0; i < len; i++)
        buf[i] = (uint8_t) (seq * 131 + i * 7 + (uint8_t) peer[i % strlen (peer)]);
    buf[0] = 0;
    return len;
}

typedef struct {
    const char *peer;
    const void *bytes;
    size_t len;
    uint64_t limit, seq, value;   /* value: acked for trim, applied for set_applied */
    int rc;                       /* what the operation returned */
    xf_link_pos_t pos;
    uint8_t got[256];
    size_t got_len;
    uint64_t total;
} op_t;

static int do_push (xf_txn_t *txn, void *arg, xf_err_t *err)
{
    op_t *o = arg;
    o->seq = 0;
    o->rc = xf_outbox_push (txn, o->peer, o->bytes, o->len, o->limit, &o->seq, err);
    return o->rc == XF_ESTATE ? XF_OK : o->rc;   /* commit the refusal: it must change nothing */
}

static int do_trim (xf_txn_t *txn, void *arg, xf_err_t *err)
{
    op_t *o = arg;
    return o->rc = xf_outbox_trim (txn, o->peer, o->value, err);
}

static int do_applied (xf_txn_t *txn, void *arg, xf_err_t *err)
{
    op_t *o = arg;
    return o->rc = xf_outbox_set_applied (txn, o->peer, o->value, err);
}

static int do_set_positions (xf_txn_t *txn, void *arg, xf_err_t *err)
{
    op_t *o = arg;
    return o->rc = xf_outbox_set_positions (txn, o->peer, &o->pos, err);
}

static int do_positions (xf_txn_t *txn, void *arg, xf_err_t *err)
{
    op_t *o = arg;
    memset (&o->pos, 0xa5, sizeof o->pos);
    return o->rc = xf_outbox_positions (txn, o->peer, &o->pos, err);
}

static int do_get (xf_txn_t *txn, void *arg, xf_err_t *err)
{
    op_t *o = arg;
    const void *v = NULL;
    size_t vlen = 0;
    o->got_len = 0;
    o->rc = xf_outbox_get (txn, o->peer, o->seq, &v, &vlen, err);
    if (o->rc == XF_OK) {
        assert_true (vlen <= sizeof o->got);
        memcpy (o->got, v, vlen);
        o->got_len = vlen;
    }
    return o->rc == XF_ENOTFOUND ? XF_OK : o->rc;
}

static int do_bytes (xf_txn_t *txn, void *arg, xf_err_t *err)
{
    op_t *o = arg;
    o->total = 12345;
    return o->rc = xf_outbox_bytes (txn, o->peer, &o->total, err);
}

/* Pushes payload (peer, expected seq) with limit; returns the seq given. */
static uint64_t push (xf_store_t *s, const char *peer, uint64_t limit)
{
    xf_link_pos_t pos;
    uint8_t buf[128];
    xf_err_t err = {0};
    op_t o = {.peer = peer, .pos = {0}};
    if (xf_store_read (s, do_positions, &o, &err) != XF_OK)
        fail_msg ("positions %s: %s", peer, err.msg);
    pos = o.pos;
    o = (op_t) {.peer = peer, .bytes = buf, .limit = limit};
    o.len = payload (peer, pos.next_seq, buf, sizeof buf);
    if (xf_store_write (s, do_push, &o, &err) != XF_OK || o.rc != XF_OK)
        fail_msg ("push to %s: %s", peer, err.msg);
    assert_int_equal (o.seq, pos.next_seq);
    return o.seq;
}

static xf_link_pos_t positions (xf_store_t *s, const char *peer)
{
    xf_err_t err = {0};
    op_t o = {.peer = peer};
    if (xf_store_read (s, do_positions, &o, &err) != XF_OK)
        fail_msg ("positions %s: %s", peer, err.msg);
    return o.pos;
}

static void assert_pos (xf_store_t *s, const char *peer, uint64_t applied, uint64_t next_seq,
                        uint64_t acked)
{
    xf_link_pos_t p = positions (s, peer);
    if (p.applied != applied || p.next_seq != next_seq || p.acked != acked)
        fail_msg ("%s positions {%llu, %llu, %llu}, expected {%llu, %llu, %llu}", peer,
                  (unsigned long long) p.applied, (unsigned long long) p.next_seq,
                  (unsigned long long) p.acked, (unsigned long long) applied,
                  (unsigned long long) next_seq, (unsigned long long) acked);
}

static void trim (xf_store_t *s, const char *peer, uint64_t acked)
{
    xf_err_t err = {0};
    op_t o = {.peer = peer, .value = acked};
    if (xf_store_write (s, do_trim, &o, &err) != XF_OK)
        fail_msg ("trim %s to %llu: %s", peer, (unsigned long long) acked, err.msg);
}

static void set_applied (xf_store_t *s, const char *peer, uint64_t applied)
{
    xf_err_t err = {0};
    op_t o = {.peer = peer, .value = applied};
    if (xf_store_write (s, do_applied, &o, &err) != XF_OK)
        fail_msg ("set applied %s: %s", peer, err.msg);
}

/* 1 when entry seq of peer is present (and then holds its payload), 0 when absent. */
static int present (xf_store_t *s, const char *peer, uint64_t seq)
{
    xf_err_t err = {0};
    op_t o = {.peer = peer, .seq = seq};
    if (xf_store_read (s, do_get, &o, &err) != XF_OK)
        fail_msg ("get %s/%llu: %s", peer, (unsigned long long) seq, err.msg);
    if (o.rc == XF_ENOTFOUND)
        return 0;
    uint8_t want[128];
    size_t len = payload (peer, seq, want, sizeof want);
    if (o.got_len != len || memcmp (o.got, want, len) != 0)
        fail_msg ("%s/%llu holds the wrong bytes", peer, (unsigned long long) seq);
    return 1;
}

/* Entries first..last of peer are present, and nothing before first or after last. */
static void assert_entries (xf_store_t *s, const char *peer, uint64_t first, uint64_t last)
{
    for (uint64_t seq = first; seq <= last; seq++)
        if (!present (s, peer, seq))
            fail_msg ("%s/%llu is missing", peer, (unsigned long long) seq);
    for (uint64_t seq = first > 3 ? first - 3 : 0; seq < first; seq++)
        if (present (s, peer, seq))
            fail_msg ("%s/%llu is still there", peer, (unsigned long long) seq);
    for (uint64_t seq = last + 1; seq <= last + 3; seq++)
        if (present (s, peer, seq))
            fail_msg ("%s/%llu exists", peer, (unsigned long long) seq);
}

static uint64_t queued_bytes (xf_store_t *s, const char *peer)
{
    xf_err_t err = {0};
    op_t o = {.peer = peer};
    if (xf_store_read (s, do_bytes, &o, &err) != XF_OK)
        fail_msg ("bytes %s: %s", peer, err.msg);
    return o.total;
}

/* Sum of the payload sizes of first..last. */
static uint64_t payload_bytes (const char *peer, uint64_t first, uint64_t last)
{
    uint8_t buf[128];
    uint64_t sum = 0;
    for (uint64_t seq = first; seq <= last; seq++)
        sum += payload (peer, seq, buf, sizeof buf);
    return sum;
}

typedef struct {
    xf_db_t db;
    size_t n;
} count_t;

static int do_count (xf_txn_t *txn, void *arg, xf_err_t *err)
{
    count_t *c = arg;
    return xf_txn_count (txn, c->db, &c->n, err);
}

static size_t count (xf_store_t *s, xf_db_t db)
{
    xf_err_t err = {0};
    count_t c = {db, 0};
    if (xf_store_read (s, do_count, &c, &err) != XF_OK)
        fail_msg ("count: %s", err.msg);
    return c.n;
}

/* ---------------------------------------------------------------- positions */

static void test_positions_default (void **state)
{
    fx_t *x = *state;
    assert_pos (x->store, COUNTY, 0, 1, 0);
    assert_pos (x->store, CITY, 0, 1, 0);
    assert_int_equal (queued_bytes (x->store, COUNTY), 0);
    assert_int_equal (present (x->store, COUNTY, 1), 0);
    assert_int_equal (present (x->store, COUNTY, 0), 0);

    /* reading them inside a write transaction too, and writing nothing */
    xf_err_t err = {0};
    op_t o = {.peer = OTHER};
    assert_int_equal (xf_store_write (x->store, do_positions, &o, &err), XF_OK);
    assert_int_equal (o.pos.applied, 0);
    assert_int_equal (o.pos.next_seq, 1);
    assert_int_equal (o.pos.acked, 0);
    assert_int_equal (count (x->store, XF_DB_LINKS), 0);
    assert_int_equal (count (x->store, XF_DB_OUTBOX), 0);
}

static void test_set_positions (void **state)
{
    fx_t *x = *state;
    xf_err_t err = {0};
    op_t o = {.peer = COUNTY, .pos = {7, 0x0123456789abcdefull, UINT64_MAX - 1}};
    assert_int_equal (xf_store_write (x->store, do_set_positions, &o, &err), XF_OK);
    assert_pos (x->store, COUNTY, 7, 0x0123456789abcdefull, UINT64_MAX - 1);
    assert_pos (x->store, TOWN, 0, 1, 0);
    assert_pos (x->store, CITY, 0, 1, 0);
}

typedef struct {
    const char *key;
    size_t len;
} raw_t;

static int put_raw (xf_txn_t *txn, void *arg, xf_err_t *err)
{
    raw_t *r = arg;
    return xf_txn_put (txn, XF_DB_LINKS, r->key, strlen (r->key), "\1\2\3\4\5", r->len, err);
}

static void test_damaged_positions (void **state)
{
    fx_t *x = *state;
    xf_err_t err = {0};
    raw_t r = {"pos/" COUNTY, 5};
    assert_int_equal (xf_store_write (x->store, put_raw, &r, &err), XF_OK);
    op_t o = {.peer = COUNTY};
    assert_refused (xf_store_read (x->store, do_positions, &o, &err), &err, XF_ESTORE, COUNTY);
    assert_non_null (strstr (err.msg, "damaged"));

    /* push, trim and set_applied refuse rather than start over from {0, 1, 0} */
    uint8_t b = 1;
    err = (xf_err_t) {0};
    o = (op_t) {.peer = COUNTY, .bytes = &b, .len = 1};
    assert_refused (xf_store_write (x->store, do_push, &o, &err), &err, XF_ESTORE, COUNTY);
    err = (xf_err_t) {0};
    o = (op_t) {.peer = COUNTY, .value = 3};
    assert_refused (xf_store_write (x->store, do_trim, &o, &err), &err, XF_ESTORE, COUNTY);
    err = (xf_err_t) {0};
    assert_refused (xf_store_write (x->store, do_applied, &o, &err), &err, XF_ESTORE, COUNTY);
    assert_int_equal (count (x->store, XF_DB_OUTBOX), 0);
}

/* ---------------------------------------------------------------- push and get */

static void test_push_numbers_per_peer (void **state)
{
    fx_t *x = *state;
    assert_int_equal (push (x->store, COUNTY, 0), 1);
    assert_int_equal (push (x->store, COUNTY, 0), 2);
    assert_int_equal (push (x->store, CITY, 0), 1);
    assert_int_equal (push (x->store, COUNTY, 0), 3);
    assert_int_equal (push (x->store, CITY, 0), 2);
    assert_int_equal (push (x->store, TOWN, 0), 1);
    assert_int_equal (push (x->store, CITY, 0), 3);
    assert_pos (x->store, COUNTY, 0, 4, 0);
    assert_pos (x->store, CITY, 0, 4, 0);
    assert_pos (x->store, TOWN, 0, 2, 0);
    assert_pos (x->store, OTHER, 0, 1, 0);
    assert_entries (x->store, COUNTY, 1, 3);
    assert_entries (x->store, CITY, 1, 3);
    assert_entries (x->store, TOWN, 1, 1);
    assert_int_equal (present (x->store, OTHER, 1), 0);
    assert_int_equal (count (x->store, XF_DB_OUTBOX), 7);

    /* numbering survives a reopen */
    xf_err_t err = {0};
    xf_store_close (&x->store);
    x->store = xf_store_open (x->dir, NULL, &err);
    assert_non_null (x->store);
    assert_int_equal (push (x->store, COUNTY, 0), 4);
    assert_int_equal (push (x->store, CITY, 0), 4);
    assert_entries (x->store, COUNTY, 1, 4);
}

/* Several pushes in one transaction, reading each back before the commit. */
typedef struct {
    const char *peers[6];
    uint64_t seqs[6];
    int seen_uncommitted;
} batch_t;

static int push_batch (xf_txn_t *txn, void *arg, xf_err_t *err)
{
    batch_t *b = arg;
    b->seen_uncommitted = 0;
    for (size_t i = 0; i < N_OF (b->peers); i++) {
        uint8_t buf[128];
        xf_link_pos_t pos;
        int rc = xf_outbox_positions (txn, b->peers[i], &pos, err);
        if (rc != XF_OK)
            return rc;
        size_t len = payload (b->peers[i], pos.next_seq, buf, sizeof buf);
        if ((rc = xf_outbox_push (txn, b->peers[i], buf, len, 0, &b->seqs[i], err)) != XF_OK)
            return rc;
        const void *v;
        size_t vlen;
        if ((rc = xf_outbox_get (txn, b->peers[i], b->seqs[i], &v, &vlen, err)) != XF_OK)
            return rc;
        if (vlen == len && memcmp (v, buf, len) == 0)
            b->seen_uncommitted++;
    }
    return XF_OK;
}

static void test_push_in_one_transaction (void **state)
{
    fx_t *x = *state;
    xf_err_t err = {0};
    batch_t b = {.peers = {COUNTY, CITY, COUNTY, COUNTY, CITY, TOWN}};
    assert_int_equal (xf_store_write (x->store, push_batch, &b, &err), XF_OK);
    static const uint64_t want[] = {1, 1, 2, 3, 2, 1};
    for (size_t i = 0; i < N_OF (want); i++)
        assert_int_equal (b.seqs[i], want[i]);
    assert_int_equal (b.seen_uncommitted, 6);
    assert_entries (x->store, COUNTY, 1, 3);
    assert_entries (x->store, CITY, 1, 2);
    assert_entries (x->store, TOWN, 1, 1);
    assert_pos (x->store, COUNTY, 0, 4, 0);
}

static void test_get (void **state)
{
    fx_t *x = *state;
    static const uint8_t blob[] = {0, 1, 2, 0, 0xff, 0x80, 'x', 0};
    xf_err_t err = {0};
    op_t o = {.peer = COUNTY, .bytes = blob, .len = sizeof blob};
    assert_int_equal (xf_store_write (x->store, do_push, &o, &err), XF_OK);
    assert_int_equal (o.rc, XF_OK);
    assert_int_equal (o.seq, 1);
    o = (op_t) {.peer = COUNTY, .bytes = "", .len = 0};   /* an empty entry is an entry */
    assert_int_equal (xf_store_write (x->store, do_push, &o, &err), XF_OK);
    assert_int_equal (o.seq, 2);

    o = (op_t) {.peer = COUNTY, .seq = 1};
    assert_int_equal (xf_store_read (x->store, do_get, &o, &err), XF_OK);
    assert_int_equal (o.rc, XF_OK);
    assert_int_equal (o.got_len, sizeof blob);
    assert_memory_equal (o.got, blob, sizeof blob);

    o = (op_t) {.peer = COUNTY, .seq = 2};
    assert_int_equal (xf_store_read (x->store, do_get, &o, &err), XF_OK);
    assert_int_equal (o.rc, XF_OK);
    assert_int_equal (o.got_len, 0);

    /* absent: a later seq, seq 0, the same seq for another peer or a code sharing a prefix */
    static const struct {
        const char *peer;
        uint64_t seq;
    } absent[] = {{COUNTY, 3}, {COUNTY, 0}, {COUNTY, UINT64_MAX}, {CITY, 1}, {"4113240", 1},
                  {"41132", 1}, {"411324001", 1}};
    for (size_t i = 0; i < N_OF (absent); i++) {
        err = (xf_err_t) {0};
        o = (op_t) {.peer = absent[i].peer, .seq = absent[i].seq};
        assert_int_equal (xf_store_read (x->store, do_get, &o, &err), XF_OK);
        assert_int_equal (o.rc, XF_ENOTFOUND);
    }
}

/* ---------------------------------------------------------------- the limit */

static void test_push_limit (void **state)
{
    fx_t *x = *state;
    const uint64_t limit = 3;
    for (uint64_t i = 1; i <= limit; i++)
        assert_int_equal (push (x->store, COUNTY, limit), i);

    uint8_t b = 42;
    for (int attempt = 0; attempt < 2; attempt++) {
        xf_err_t err = {0};
        op_t o = {.peer = COUNTY, .bytes = &b, .len = 1, .limit = limit};
        assert_int_equal (xf_store_write (x->store, do_push, &o, &err), XF_OK);
        assert_refused (o.rc, &err, XF_ESTATE, COUNTY);
        assert_non_null (strstr (err.msg, "limit 3"));
        assert_int_equal (o.seq, 0);
        assert_pos (x->store, COUNTY, 0, 4, 0);   /* the refusal changed nothing */
        assert_entries (x->store, COUNTY, 1, 3);
    }
    /* a higher limit, no limit, and another peer are not affected */
    assert_int_equal (push (x->store, CITY, limit), 1);
    assert_int_equal (push (x->store, COUNTY, 4), 4);
    assert_int_equal (push (x->store, COUNTY, 0), 5);
    xf_err_t err = {0};
    op_t o = {.peer = COUNTY, .bytes = &b, .len = 1, .limit = 5};
    assert_int_equal (xf_store_write (x->store, do_push, &o, &err), XF_OK);
    assert_refused (o.rc, &err, XF_ESTATE, COUNTY);
    assert_non_null (strstr (err.msg, "limit 5"));

    /* acknowledging frees room: 5 wait, trimming 2 leaves 3 */
    trim (x->store, COUNTY, 2);
    assert_int_equal (push (x->store, COUNTY, 5), 6);
    assert_int_equal (push (x->store, COUNTY, 5), 7);
    err = (xf_err_t) {0};
    o = (op_t) {.peer = COUNTY, .bytes = &b, .len = 1, .limit = 5};
    assert_int_equal (xf_store_write (x->store, do_push, &o, &err), XF_OK);
    assert_refused (o.rc, &err, XF_ESTATE, COUNTY);
    trim (x->store, COUNTY, 7);
    for (uint64_t i = 8; i <= 12; i++)
        assert_int_equal (push (x->store, COUNTY, 5), i);
    assert_entries (x->store, COUNTY, 8, 12);
    assert_pos (x->store, COUNTY, 0, 13, 7);
}

/* ---------------------------------------------------------------- trim */

static void test_trim_exact (void **state)
{
    fx_t *x = *state;
    for (int i = 0; i < 10; i++) {
        push (x->store, COUNTY, 0);
        push (x->store, CITY, 0);
        push (x->store, TOWN, 0);
    }
    set_applied (x->store, COUNTY, 5);
    trim (x->store, COUNTY, 4);
    assert_entries (x->store, COUNTY, 5, 10);
    assert_pos (x->store, COUNTY, 5, 11, 4);
    assert_entries (x->store, CITY, 1, 10);   /* other peers untouched */
    assert_entries (x->store, TOWN, 1, 10);

    /* never backwards, and the same ack again is a no-op */
    trim (x->store, COUNTY, 2);
    assert_pos (x->store, COUNTY, 5, 11, 4);
    trim (x->store, COUNTY, 0);
    assert_pos (x->store, COUNTY, 5, 11, 4);
    trim (x->store, COUNTY, 4);
    assert_pos (x->store, COUNTY, 5, 11, 4);
    assert_entries (x->store, COUNTY, 5, 10);

    /* a peer whose code is a prefix of another's: only its own entries go */
    trim (x->store, CITY, 9);
    assert_entries (x->store, CITY, 10, 10);
    assert_entries (x->store, TOWN, 1, 10);
    assert_pos (x->store, CITY, 0, 11, 9);
    assert_pos (x->store, TOWN, 0, 11, 0);
    trim (x->store, TOWN, 1);
    assert_entries (x->store, TOWN, 2, 10);
    assert_entries (x->store, CITY, 10, 10);

    /* everything acknowledged: the outbox is empty and numbering continues */
    trim (x->store, COUNTY, 10);
    for (uint64_t seq = 1; seq <= 11; seq++)
        assert_int_equal (present (x->store, COUNTY, seq), 0);
    assert_pos (x->store, COUNTY, 5, 11, 10);
    assert_int_equal (queued_bytes (x->store, COUNTY), 0);
    assert_int_equal (push (x->store, COUNTY, 1), 11);
    assert_entries (x->store, COUNTY, 11, 11);
    assert_int_equal (count (x->store, XF_DB_OUTBOX), 1 + 1 + 9);

    /* trimming a peer that never had anything to 0 changes nothing */
    trim (x->store, OTHER, 0);
    assert_pos (x->store, OTHER, 0, 1, 0);
}

/* Pushes n entries to peer in one transaction. */
typedef struct {
    const char *peer;
    int n;
} many_t;

static int push_many (xf_txn_t *txn, void *arg, xf_err_t *err)
{
    many_t *m = arg;
    for (int i = 0; i < m->n; i++) {
        xf_link_pos_t pos;
        uint8_t buf[128];
        uint64_t seq;
        int rc = xf_outbox_positions (txn, m->peer, &pos, err);
        if (rc != XF_OK)
            return rc;
        size_t len = payload (m->peer, pos.next_seq, buf, sizeof buf);
        if ((rc = xf_outbox_push (txn, m->peer, buf, len, 0, &seq, err)) != XF_OK)
            return rc;
    }
    return XF_OK;
}

static void push_n (xf_store_t *s, const char *peer, int n)
{
    xf_err_t err = {0};
    many_t m = {peer, n};
    if (xf_store_write (s, push_many, &m, &err) != XF_OK)
        fail_msg ("push %d to %s: %s", n, peer, err.msg);
}

static void test_trim_many (void **state)
{
    fx_t *x = *state;
    /* neighbours on both sides in key order */
    push_n (x->store, "411323", 20);
    push_n (x->store, COUNTY, 1100);
    push_n (x->store, "411325", 20);
    push_n (x->store, TOWN, 20);
    assert_int_equal (count (x->store, XF_DB_OUTBOX), 1160);

    trim (x->store, COUNTY, 256);   /* exactly one slice */
    assert_entries (x->store, COUNTY, 257, 1100);
    assert_pos (x->store, COUNTY, 0, 1101, 256);
    trim (x->store, COUNTY, 512);   /* exactly one more */
    assert_entries (x->store, COUNTY, 513, 1100);
    trim (x->store, COUNTY, 1000);  /* several slices and a partial one */
    assert_entries (x->store, COUNTY, 1001, 1100);
    assert_pos (x->store, COUNTY, 0, 1101, 1000);
    assert_int_equal (count (x->store, XF_DB_OUTBOX), 100 + 60);
    assert_int_equal (queued_bytes (x->store, COUNTY), payload_bytes (COUNTY, 1001, 1100));
    assert_entries (x->store, "411323", 1, 20);
    assert_entries (x->store, "411325", 1, 20);
    assert_entries (x->store, TOWN, 1, 20);

    trim (x->store, COUNTY, 1100);
    assert_int_equal (count (x->store, XF_DB_OUTBOX), 60);
    assert_int_equal (queued_bytes (x->store, COUNTY), 0);

    /* 600 entries trimmed at once */
    push_n (x->store, CITY, 700);
    trim (x->store, CITY, 600);
    assert_entries (x->store, CITY, 601, 700);
    assert_pos (x->store, CITY, 0, 701, 600);
    assert_entries (x->store, TOWN, 1, 20);
    assert_int_equal (count (x->store, XF_DB_OUTBOX), 160);
}

/* ---------------------------------------------------------------- applied */

static void test_set_applied (void **state)
{
    fx_t *x = *state;
    set_applied (x->store, COUNTY, 7);
    assert_pos (x->store, COUNTY, 7, 1, 0);
    assert_pos (x->store, CITY, 0, 1, 0);
    push (x->store, COUNTY, 0);
    push (x->store, COUNTY, 0);
    assert_pos (x->store, COUNTY, 7, 3, 0);
    trim (x->store, COUNTY, 1);
    assert_pos (x->store, COUNTY, 7, 3, 1);
    set_applied (x->store, COUNTY, 9);
    assert_pos (x->store, COUNTY, 9, 3, 1);
    assert_entries (x->store, COUNTY, 2, 2);
    set_applied (x->store, TOWN, 3);
    assert_pos (x->store, TOWN, 3, 1, 0);
    assert_pos (x->store, CITY, 0, 1, 0);
    assert_pos (x->store, COUNTY, 9, 3, 1);
}

/* ---------------------------------------------------------------- bytes */

static void test_bytes (void **state)
{
    fx_t *x = *state;
    assert_int_equal (queued_bytes (x->store, CITY), 0);
    for (int i = 0; i < 5; i++)
        push (x->store, CITY, 0);
    for (int i = 0; i < 3; i++)
        push (x->store, TOWN, 0);   /* longer code that starts with CITY's */
    for (int i = 0; i < 4; i++)
        push (x->store, "411200", 0);   /* just before CITY in key order */
    push (x->store, COUNTY, 0);
    assert_int_equal (queued_bytes (x->store, CITY), payload_bytes (CITY, 1, 5));
    assert_int_equal (queued_bytes (x->store, TOWN), payload_bytes (TOWN, 1, 3));
    assert_int_equal (queued_bytes (x->store, "411200"), payload_bytes ("411200", 1, 4));
    assert_int_equal (queued_bytes (x->store, COUNTY), payload_bytes (COUNTY, 1, 1));
    assert_int_equal (queued_bytes (x->store, OTHER), 0);
    assert_int_equal (queued_bytes (x->store, "41130"), 0);
    assert_int_equal (queued_bytes (x->store, "999999"), 0);

    trim (x->store, CITY, 2);
    assert_int_equal (queued_bytes (x->store, CITY), payload_bytes (CITY, 3, 5));
    assert_int_equal (queued_bytes (x->store, TOWN), payload_bytes (TOWN, 1, 3));

    /* an empty entry counts nothing but does not stop the sum */
    xf_err_t err = {0};
    op_t o = {.peer = CITY, .bytes = "", .len = 0};
    assert_int_equal (xf_store_write (x->store, do_push, &o, &err), XF_OK);
    push (x->store, CITY, 0);
    assert_int_equal (queued_bytes (x->store, CITY),
                      payload_bytes (CITY, 3, 5) + payload_bytes (CITY, 7, 7));
}

/* ---------------------------------------------------------------- all or nothing */

typedef struct {
    int pushed, trimmed;
} failing_t;

static int push_then_fail (xf_txn_t *txn, void *arg, xf_err_t *err)
{
    failing_t *f = arg;
    uint64_t seq;
    f->pushed = f->trimmed = 0;
    for (int i = 0; i < 3; i++) {
        int rc = xf_outbox_push (txn, COUNTY, "abc", 3, 0, &seq, err);
        if (rc != XF_OK)
            return rc;
        f->pushed++;
    }
    int rc = xf_outbox_push (txn, CITY, "defg", 4, 0, &seq, err);
    if (rc == XF_OK)
        rc = xf_outbox_trim (txn, COUNTY, seq, err);   /* seq is CITY's: 1 or beyond */
    if (rc == XF_OK)
        rc = xf_outbox_set_applied (txn, COUNTY, 99, err);
    if (rc == XF_OK)
        rc = xf_outbox_set_applied (txn, OTHER, 5, err);
    if (rc != XF_OK)
        return rc;
    f->trimmed = 1;
    return xf_err_set (err, XF_ESTATE, "deliberate failure after %d pushes", f->pushed);
}

static void test_failing_callback_leaves_nothing (void **state)
{
    fx_t *x = *state;
    xf_err_t err = {0};
    failing_t f = {0};
    assert_refused (xf_store_write (x->store, push_then_fail, &f, &err), &err, XF_ESTATE,
                    "deliberate");
    assert_int_equal (f.pushed, 3);
    assert_int_equal (f.trimmed, 1);
    assert_int_equal (count (x->store, XF_DB_OUTBOX), 0);
    assert_int_equal (count (x->store, XF_DB_LINKS), 0);
    assert_pos (x->store, COUNTY, 0, 1, 0);
    assert_pos (x->store, CITY, 0, 1, 0);
    assert_pos (x->store, OTHER, 0, 1, 0);
    assert_int_equal (queued_bytes (x->store, COUNTY), 0);
    assert_int_equal (present (x->store, COUNTY, 1), 0);

    /* on top of committed state: it is left exactly as it was */
    push (x->store, COUNTY, 0);
    push (x->store, COUNTY, 0);
    push (x->store, CITY, 0);
    set_applied (x->store, COUNTY, 4);
    trim (x->store, COUNTY, 1);
    uint64_t county_bytes = queued_bytes (x->store, COUNTY);
    err = (xf_err_t) {0};
    assert_refused (xf_store_write (x->store, push_then_fail, &f, &err), &err, XF_ESTATE,
                    "deliberate");
    assert_pos (x->store, COUNTY, 4, 3, 1);
    assert_pos (x->store, CITY, 0, 2, 0);
    assert_pos (x->store, OTHER, 0, 1, 0);
    assert_entries (x->store, COUNTY, 2, 2);
    assert_entries (x->store, CITY, 1, 1);
    assert_int_equal (queued_bytes (x->store, COUNTY), county_bytes);
    assert_int_equal (count (x->store, XF_DB_OUTBOX), 2);
    assert_int_equal (count (x->store, XF_DB_LINKS), 2);

    /* and the next push carries on from the committed numbering */
    assert_int_equal (push (x->store, COUNTY, 0), 3);
    assert_int_equal (push (x->store, CITY, 0), 2);
}

/* ---------------------------------------------------------------- keeping acknowledged entries */

#define DAY 20000   /* days since the epoch (2024-10-04): "today" for the node clock */

/* The operations added for backups: retire, first, the restore mark and renumbering. */
typedef struct {
    const char *peer;
    uint64_t acked;       /* retire */
    int64_t today;
    int keep_days;
    uint64_t from, to;    /* renumber */
    uint64_t mark;        /* set_restored, or what restored read */
    uint64_t first;       /* what first read */
    int rc;               /* what the operation returned */
} keep_t;

/* Refusals are committed: they must change nothing. */
static int do_retire (xf_txn_t *txn, void *arg, xf_err_t *err)
{
    keep_t *k = arg;
    k->rc = xf_outbox_retire (txn, k->peer, k->acked, k->today, k->keep_days, err);
    return k->rc == XF_ESTORE ? XF_OK : k->rc;
}

static int do_first (xf_txn_t *txn, void *arg, xf_err_t *err)
{
    keep_t *k = arg;
    k->first = 12345;
    return k->rc = xf_outbox_first (txn, k->peer, &k->first, err);
}

static int do_restored (xf_txn_t *txn, void *arg, xf_err_t *err)
{
    keep_t *k = arg;
    k->mark = 12345;
    k->rc = xf_outbox_restored (txn, k->peer, &k->mark, err);
    return k->rc == XF_ESTORE ? XF_OK : k->rc;
}

static int do_set_restored (xf_txn_t *txn, void *arg, xf_err_t *err)
{
    keep_t *k = arg;
    return k->rc = xf_outbox_set_restored (txn, k->peer, k->mark, err);
}

static int do_renumber (xf_txn_t *txn, void *arg, xf_err_t *err)
{
    keep_t *k = arg;
    k->rc = xf_outbox_renumber (txn, k->peer, k->from, k->to, err);
    return k->rc == XF_EINVAL ? XF_OK : k->rc;
}

static void retire (xf_store_t *s, const char *peer, uint64_t acked, int64_t today, int keep_days)
{
    xf_err_t err = {0};
    keep_t k = {.peer = peer, .acked = acked, .today = today, .keep_days = keep_days};
    if (xf_store_write (s, do_retire, &k, &err) != XF_OK || k.rc != XF_OK)
        fail_msg ("retire %s to %llu on day %lld keeping %d days: %s", peer,
                  (unsigned long long) acked, (long long) today, keep_days, err.msg);
}

static uint64_t first (xf_store_t *s, const char *peer)
{
    xf_err_t err = {0};
    keep_t k = {.peer = peer};
    if (xf_store_read (s, do_first, &k, &err) != XF_OK)
        fail_msg ("first %s: %s", peer, err.msg);
    return k.first;
}

static uint64_t restored_mark (xf_store_t *s, const char *peer)
{
    xf_err_t err = {0};
    keep_t k = {.peer = peer};
    if (xf_store_read (s, do_restored, &k, &err) != XF_OK || k.rc != XF_OK)
        fail_msg ("restored %s: %s", peer, err.msg);
    return k.mark;
}

static void set_restored (xf_store_t *s, const char *peer, uint64_t mark)
{
    xf_err_t err = {0};
    keep_t k = {.peer = peer, .mark = mark};
    if (xf_store_write (s, do_set_restored, &k, &err) != XF_OK)
        fail_msg ("set restored %s to %llu: %s", peer, (unsigned long long) mark, err.msg);
}

/* Puts len bytes under key in XF_DB_LINKS (a damaged record). */
static void put_links_raw (xf_store_t *s, const char *key, size_t len)
{
    static uint8_t junk[8192];
    assert_true (len <= sizeof junk);
    memset (junk, 0x5a, sizeof junk);
    xf_err_t err = {0};
    if (xf_store_put (s, XF_DB_LINKS, key, strlen (key), junk, len, &err) != XF_OK)
        fail_msg ("put %s: %s", key, err.msg);
}

/* The length of COUNTY's record of kept days (rc XF_ENOTFOUND when absent). */
typedef struct {
    size_t len;
    int rc;
} kept_len_t;

static int do_kept_len (xf_txn_t *txn, void *arg, xf_err_t *err)
{
    kept_len_t *k = arg;
    const void *v = NULL;
    k->len = 0;
    k->rc = xf_txn_get (txn, XF_DB_LINKS, "kept/" COUNTY, strlen ("kept/" COUNTY), &v, &k->len,
                        err);
    return k->rc == XF_ENOTFOUND ? XF_OK : k->rc;
}

/* keep_days 0 (or below) is xf_outbox_trim: the same entries go, the same positions, no record
 * of what was kept. */
static void test_retire_keep_zero_is_trim (void **state)
{
    fx_t *x = *state;
    for (int i = 0; i < 10; i++) {
        push (x->store, COUNTY, 0);
        push (x->store, CITY, 0);
    }
    set_applied (x->store, COUNTY, 3);
    set_applied (x->store, CITY, 3);
    trim (x->store, CITY, 4);
    retire (x->store, COUNTY, 4, DAY, 0);
    assert_entries (x->store, CITY, 5, 10);
    assert_entries (x->store, COUNTY, 5, 10);
    assert_pos (x->store, CITY, 3, 11, 4);
    assert_pos (x->store, COUNTY, 3, 11, 4);
    assert_int_equal (queued_bytes (x->store, COUNTY), queued_bytes (x->store, CITY));
    assert_int_equal (queued_bytes (x->store, COUNTY), payload_bytes (COUNTY, 5, 10));
    assert_int_equal (first (x->store, COUNTY), 5);
    assert_int_equal (count (x->store, XF_DB_LINKS), 2);   /* pos/CITY and pos/COUNTY only */

    /* never backwards, whatever the day */
    retire (x->store, COUNTY, 2, DAY + 30, 0);
    assert_pos (x->store, COUNTY, 3, 11, 4);
    assert_entries (x->store, COUNTY, 5, 10);
    /* a negative keep_days is 0 */
    retire (x->store, COUNTY, 7, DAY, -5);
    assert_entries (x->store, COUNTY, 8, 10);
    assert_pos (x->store, COUNTY, 3, 11, 7);
    retire (x->store, COUNTY, 10, DAY, 0);
    assert_int_equal (count (x->store, XF_DB_OUTBOX), 6);   /* CITY's 5..10 */
    assert_pos (x->store, COUNTY, 3, 11, 10);
    assert_int_equal (first (x->store, COUNTY), 11);
    assert_int_equal (count (x->store, XF_DB_LINKS), 2);
}

/* Acknowledged entries stay keep_days days, counted from the day they were acknowledged, and
 * go day by day; they are never counted as waiting. */
static void test_retire_keeps_for_days (void **state)
{
    fx_t *x = *state;
    for (int i = 0; i < 10; i++) {
        push (x->store, COUNTY, 0);
        push (x->store, TOWN, 0);   /* a neighbour in key order: never touched */
    }
    retire (x->store, COUNTY, 4, DAY, 14);
    assert_entries (x->store, COUNTY, 1, 10);   /* all still there … */
    assert_pos (x->store, COUNTY, 0, 11, 4);    /* … while the acknowledgement advanced */
    assert_int_equal (queued_bytes (x->store, COUNTY), payload_bytes (COUNTY, 5, 10));
    assert_int_equal (first (x->store, COUNTY), 1);
    retire (x->store, COUNTY, 5, DAY, 14);      /* later the same day */
    retire (x->store, COUNTY, 7, DAY + 1, 14);
    retire (x->store, COUNTY, 9, DAY + 3, 14);
    assert_entries (x->store, COUNTY, 1, 10);
    assert_pos (x->store, COUNTY, 0, 11, 9);
    assert_int_equal (queued_bytes (x->store, COUNTY), payload_bytes (COUNTY, 10, 10));

    /* 13 days after the first acknowledgement: nothing is old enough yet */
    retire (x->store, COUNTY, 9, DAY + 13, 14);
    assert_entries (x->store, COUNTY, 1, 10);
    /* 14 days after: what the first day acknowledged (up to 5, its highest) goes */
    retire (x->store, COUNTY, 9, DAY + 14, 14);
    assert_entries (x->store, COUNTY, 6, 10);
    assert_int_equal (first (x->store, COUNTY), 6);
    retire (x->store, COUNTY, 9, DAY + 14, 14);   /* again the same day: no more */
    assert_entries (x->store, COUNTY, 6, 10);
    /* then day by day */
    retire (x->store, COUNTY, 9, DAY + 15, 14);
    assert_entries (x->store, COUNTY, 8, 10);
    retire (x->store, COUNTY, 9, DAY + 16, 14);   /* nothing was acknowledged on DAY + 2 */
    assert_entries (x->store, COUNTY, 8, 10);
    retire (x->store, COUNTY, 9, DAY + 17, 14);
    assert_entries (x->store, COUNTY, 10, 10);
    assert_pos (x->store, COUNTY, 0, 11, 9);
    assert_int_equal (queued_bytes (x->store, COUNTY), payload_bytes (COUNTY, 10, 10));
    assert_entries (x->store, TOWN, 1, 10);
    assert_pos (x->store, TOWN, 0, 11, 0);

    /* a day skipped (the node was off): everything old enough goes at once */
    retire (x->store, COUNTY, 10, DAY + 20, 14);
    assert_entries (x->store, COUNTY, 10, 10);
    retire (x->store, COUNTY, 10, DAY + 60, 14);
    assert_int_equal (present (x->store, COUNTY, 10), 0);
    assert_int_equal (first (x->store, COUNTY), 11);
    assert_pos (x->store, COUNTY, 0, 11, 10);

    /* keep_days beyond the maximum keeps XF_OUTBOX_KEEP_DAYS_MAX days */
    for (int i = 0; i < 3; i++)
        push (x->store, OTHER, 0);
    retire (x->store, OTHER, 2, DAY, 10000);
    retire (x->store, OTHER, 2, DAY + XF_OUTBOX_KEEP_DAYS_MAX - 1, 10000);
    assert_entries (x->store, OTHER, 1, 3);
    retire (x->store, OTHER, 2, DAY + XF_OUTBOX_KEEP_DAYS_MAX, 10000);
    assert_entries (x->store, OTHER, 3, 3);
}

/* The peer was restored from a backup: it acknowledges less than it once did. Entries it
 * applied again may go when their day comes, the others stay, whatever the record says. */
static void test_retire_never_beyond_acked (void **state)
{
    fx_t *x = *state;
    for (int i = 0; i < 10; i++)
        push (x->store, COUNTY, 0);
    retire (x->store, COUNTY, 8, DAY, 14);
    assert_pos (x->store, COUNTY, 0, 11, 8);
    retire (x->store, COUNTY, 3, DAY + 14, 14);   /* the day's record says 8 */
    assert_entries (x->store, COUNTY, 4, 10);
    retire (x->store, COUNTY, 3, DAY + 40, 14);
    assert_entries (x->store, COUNTY, 4, 10);
    retire (x->store, COUNTY, 0, DAY + 400, 14);   /* the peer applied nothing of ours */
    assert_entries (x->store, COUNTY, 4, 10);
    assert_int_equal (first (x->store, COUNTY), 4);

    /* once it acknowledged them again, they go keep_days later */
    retire (x->store, COUNTY, 6, DAY + 401, 14);
    assert_entries (x->store, COUNTY, 4, 10);
    retire (x->store, COUNTY, 6, DAY + 415, 14);
    assert_entries (x->store, COUNTY, 7, 10);
}

static void test_retire_damaged_record_refused (void **state)
{
    fx_t *x = *state;
    for (int i = 0; i < 6; i++)
        push (x->store, COUNTY, 0);
    retire (x->store, COUNTY, 2, DAY, 14);
    static const size_t lens[] = {5, 11, 13, 12 * (XF_OUTBOX_KEEP_DAYS_MAX + 3)};
    for (size_t i = 0; i < N_OF (lens); i++) {
        put_links_raw (x->store, "kept/" COUNTY, lens[i]);
        xf_err_t err = {0};
        keep_t k = {.peer = COUNTY, .acked = 5, .today = DAY + 20, .keep_days = 14};
        assert_int_equal (xf_store_write (x->store, do_retire, &k, &err), XF_OK);
        assert_refused (k.rc, &err, XF_ESTORE, COUNTY);
        assert_non_null (strstr (err.msg, "damaged"));
        char n[32];
        snprintf (n, sizeof n, "%zu bytes", lens[i]);
        assert_non_null (strstr (err.msg, n));
        /* nothing changed: positions, entries, the record itself */
        assert_pos (x->store, COUNTY, 0, 7, 2);
        assert_entries (x->store, COUNTY, 1, 6);
        kept_len_t kl = {0};
        assert_int_equal (xf_store_read (x->store, do_kept_len, &kl, &err), XF_OK);
        assert_int_equal (kl.rc, XF_OK);
        assert_int_equal (kl.len, lens[i]);
    }
    /* another peer's record is its own */
    push (x->store, CITY, 0);
    retire (x->store, CITY, 1, DAY, 14);
    assert_pos (x->store, CITY, 0, 2, 1);
    /* keep_days 0 does not read the record: it trims */
    retire (x->store, COUNTY, 3, DAY, 0);
    assert_entries (x->store, COUNTY, 4, 6);
}

/* The node clock jumped ahead and back: the record of days stays bounded (XF_OUTBOX_KEEP_DAYS_MAX
 * + 2 days at most), its oldest days go first, and nothing beyond acked is deleted. */
static void test_retire_clock_jump_bounded (void **state)
{
    fx_t *x = *state;
    xf_err_t err = {0};
    push_n (x->store, COUNTY, 420);
    retire (x->store, COUNTY, 1, DAY + 1000, 14);   /* a day far ahead */
    for (int d = 0; d < 400; d++) {
        retire (x->store, COUNTY, (uint64_t) d + 2, DAY + d, 14);
        kept_len_t k = {0};
        assert_int_equal (xf_store_read (x->store, do_kept_len, &k, &err), XF_OK);
        assert_int_equal (k.rc, XF_OK);
        assert_int_equal (k.len % 12, 0);
        if (k.len > 12 * (XF_OUTBOX_KEEP_DAYS_MAX + 2))
            fail_msg ("day %d: the record of kept days holds %zu bytes", d, k.len);
        assert_int_equal (present (x->store, COUNTY, (uint64_t) d + 3), 1);
    }
    assert_pos (x->store, COUNTY, 0, 421, 401);
    assert_entries (x->store, COUNTY, first (x->store, COUNTY), 420);
    assert_true (first (x->store, COUNTY) > 1);   /* the oldest days went */
}

/* ---------------------------------------------------------------- first */

static void test_first (void **state)
{
    fx_t *x = *state;
    assert_int_equal (first (x->store, COUNTY), 1);   /* nothing ever queued */
    for (int i = 0; i < 5; i++) {
        push (x->store, COUNTY, 0);
        push (x->store, TOWN, 0);   /* its code starts with CITY's */
    }
    assert_int_equal (first (x->store, COUNTY), 1);
    assert_int_equal (first (x->store, CITY), 1);     /* TOWN's entries are not CITY's */
    assert_int_equal (first (x->store, "411200"), 1);
    trim (x->store, COUNTY, 2);
    assert_int_equal (first (x->store, COUNTY), 3);
    retire (x->store, COUNTY, 4, DAY, 14);            /* kept: still held */
    assert_int_equal (first (x->store, COUNTY), 3);
    assert_pos (x->store, COUNTY, 0, 6, 4);
    retire (x->store, COUNTY, 5, DAY + 14, 14);
    assert_int_equal (first (x->store, COUNTY), 5);
    trim (x->store, COUNTY, 5);                       /* nothing else is acknowledged */
    assert_int_equal (first (x->store, COUNTY), 5);
    retire (x->store, COUNTY, 5, DAY + 30, 14);
    assert_int_equal (first (x->store, COUNTY), 6);   /* empty: next_seq */
    assert_int_equal (push (x->store, COUNTY, 0), 6);
    assert_int_equal (first (x->store, COUNTY), 6);
    trim (x->store, TOWN, 5);
    assert_int_equal (first (x->store, TOWN), 6);
    assert_int_equal (first (x->store, CITY), 1);
}

/* ---------------------------------------------------------------- after a restore */

static void test_restored_mark (void **state)
{
    fx_t *x = *state;
    assert_int_equal (restored_mark (x->store, COUNTY), 0);   /* absent */
    set_restored (x->store, COUNTY, 0);                       /* clearing nothing is fine */
    assert_int_equal (restored_mark (x->store, COUNTY), 0);
    set_restored (x->store, COUNTY, 42);
    set_restored (x->store, TOWN, 0x0123456789abcdefull);
    assert_int_equal (restored_mark (x->store, COUNTY), 42);
    assert_int_equal (restored_mark (x->store, TOWN), 0x0123456789abcdefull);
    assert_int_equal (restored_mark (x->store, CITY), 0);
    set_restored (x->store, COUNTY, 43);
    assert_int_equal (restored_mark (x->store, COUNTY), 43);
    assert_int_equal (count (x->store, XF_DB_LINKS), 2);
    set_restored (x->store, COUNTY, 0);                       /* cleared: the key goes */
    assert_int_equal (restored_mark (x->store, COUNTY), 0);
    assert_int_equal (count (x->store, XF_DB_LINKS), 1);
    assert_int_equal (restored_mark (x->store, TOWN), 0x0123456789abcdefull);
    assert_pos (x->store, COUNTY, 0, 1, 0);                   /* positions are apart */

    static const size_t lens[] = {0, 7, 9, 16};
    for (size_t i = 0; i < N_OF (lens); i++) {
        put_links_raw (x->store, "restored/" COUNTY, lens[i]);
        xf_err_t err = {0};
        keep_t k = {.peer = COUNTY};
        assert_int_equal (xf_store_read (x->store, do_restored, &k, &err), XF_OK);
        assert_refused (k.rc, &err, XF_ESTORE, COUNTY);
        assert_non_null (strstr (err.msg, "damaged"));
        assert_int_equal (k.mark, 0);
    }
    set_restored (x->store, COUNTY, 0);   /* a damaged mark can be cleared */
    assert_int_equal (restored_mark (x->store, COUNTY), 0);
}

/* Bytes of the entry seq of peer, compared with payload (peer, orig): what was queued as orig. */
static bool holds (xf_store_t *s, const char *peer, uint64_t seq, uint64_t orig)
{
    xf_err_t err = {0};
    op_t o = {.peer = peer, .seq = seq};
    if (xf_store_read (s, do_get, &o, &err) != XF_OK)
        fail_msg ("get %s/%llu: %s", peer, (unsigned long long) seq, err.msg);
    if (o.rc == XF_ENOTFOUND)
        return false;
    uint8_t want[128];
    size_t len = payload (peer, orig, want, sizeof want);
    return o.got_len == len && memcmp (o.got, want, len) == 0;
}

static void test_renumber (void **state)
{
    fx_t *x = *state;
    for (int i = 0; i < 5; i++) {
        push (x->store, COUNTY, 0);
        push (x->store, TOWN, 0);
    }
    set_applied (x->store, COUNTY, 7);
    trim (x->store, COUNTY, 1);
    set_restored (x->store, COUNTY, 4);   /* 4 and 5 were queued since the restore */
    set_restored (x->store, TOWN, 3);

    xf_err_t err = {0};
    keep_t k = {.peer = COUNTY, .from = 4, .to = 11};
    assert_int_equal (xf_store_write (x->store, do_renumber, &k, &err), XF_OK);
    assert_int_equal (k.rc, XF_OK);
    assert_true (holds (x->store, COUNTY, 11, 4));
    assert_true (holds (x->store, COUNTY, 12, 5));
    for (uint64_t seq = 0; seq <= 10; seq++)
        if (present (x->store, COUNTY, seq))
            fail_msg ("%s/%llu is still there", COUNTY, (unsigned long long) seq);
    assert_int_equal (present (x->store, COUNTY, 13), 0);
    assert_pos (x->store, COUNTY, 7, 13, 10);
    assert_int_equal (restored_mark (x->store, COUNTY), 0);
    assert_int_equal (first (x->store, COUNTY), 11);
    assert_int_equal (queued_bytes (x->store, COUNTY), payload_bytes (COUNTY, 4, 5));
    assert_int_equal (push (x->store, COUNTY, 0), 13);   /* numbering goes on after them */
    /* the other peer is untouched */
    assert_entries (x->store, TOWN, 1, 5);
    assert_pos (x->store, TOWN, 0, 6, 0);
    assert_int_equal (restored_mark (x->store, TOWN), 3);

    /* nothing queued since the restore: the old ones go, numbering starts after the peer's */
    k = (keep_t) {.peer = TOWN, .from = 6, .to = 9};
    assert_int_equal (xf_store_write (x->store, do_renumber, &k, &err), XF_OK);
    assert_int_equal (k.rc, XF_OK);
    for (uint64_t seq = 0; seq <= 10; seq++)
        assert_int_equal (present (x->store, TOWN, seq), 0);
    assert_pos (x->store, TOWN, 0, 9, 8);
    assert_int_equal (first (x->store, TOWN), 9);
    assert_int_equal (restored_mark (x->store, TOWN), 0);
    assert_true (holds (x->store, COUNTY, 11, 4));
}

/* Many entries queued since the restore, moved over a range that overlaps their own. */
static void test_renumber_overlapping (void **state)
{
    fx_t *x = *state;
    push_n (x->store, COUNTY, 600);
    xf_err_t err = {0};
    keep_t k = {.peer = COUNTY, .from = 2, .to = 5};   /* 599 entries, 3 up */
    assert_int_equal (xf_store_write (x->store, do_renumber, &k, &err), XF_OK);
    assert_int_equal (k.rc, XF_OK);
    for (uint64_t seq = 5; seq <= 603; seq++)
        if (!holds (x->store, COUNTY, seq, seq - 3))
            fail_msg ("%s/%llu does not hold what was queued as %llu", COUNTY,
                      (unsigned long long) seq, (unsigned long long) (seq - 3));
    for (uint64_t seq = 0; seq < 5; seq++)
        assert_int_equal (present (x->store, COUNTY, seq), 0);
    assert_int_equal (present (x->store, COUNTY, 604), 0);
    assert_int_equal (count (x->store, XF_DB_OUTBOX), 599);
    assert_pos (x->store, COUNTY, 0, 604, 4);
}

static void test_renumber_bad_arguments (void **state)
{
    fx_t *x = *state;
    for (int i = 0; i < 5; i++)
        push (x->store, COUNTY, 0);
    set_restored (x->store, COUNTY, 4);
    static const struct {
        uint64_t from, to;
    } bad[] = {{4, 4}, {4, 3}, {4, 0}, {7, 11}, {100, 200}, {0, 11}};
    for (size_t i = 0; i < N_OF (bad); i++) {
        xf_err_t err = {0};
        keep_t k = {.peer = COUNTY, .from = bad[i].from, .to = bad[i].to};
        assert_int_equal (xf_store_write (x->store, do_renumber, &k, &err), XF_OK);
        assert_refused (k.rc, &err, XF_EINVAL, COUNTY);
        assert_entries (x->store, COUNTY, 1, 5);
        assert_pos (x->store, COUNTY, 0, 6, 0);
        assert_int_equal (restored_mark (x->store, COUNTY), 4);
    }
    /* from == next_seq is fine (nothing queued since) */
    xf_err_t err = {0};
    keep_t k = {.peer = COUNTY, .from = 6, .to = 7};
    assert_int_equal (xf_store_write (x->store, do_renumber, &k, &err), XF_OK);
    assert_int_equal (k.rc, XF_OK);
    assert_pos (x->store, COUNTY, 0, 7, 6);
    assert_int_equal (count (x->store, XF_DB_OUTBOX), 0);
}

typedef struct {
    const char *peer;
    uint64_t acked;
} set_acked_t;

static int set_acked_txn (xf_txn_t *txn, void *arg, xf_err_t *err)
{
    set_acked_t *a = arg;
    xf_link_pos_t pos;
    int rc = xf_outbox_positions (txn, a->peer, &pos, err);
    pos.acked = a->acked;
    return rc == XF_OK ? xf_outbox_set_positions (txn, a->peer, &pos, err) : rc;
}

static void set_acked (xf_store_t *store, const char *peer, uint64_t acked)
{
    xf_err_t err = {0};
    set_acked_t a = {peer, acked};
    assert_int_equal (xf_store_write (store, set_acked_txn, &a, &err), XF_OK);
}

/* After a peer restored from a backup applied less than it had acknowledged, the link believes
 * it (xf_link_on_hello lowers acked) and the daemon's resync records the lower acked with the
 * peer's epoch (retire itself never lowers it). A restart before the peer acknowledged the kept
 * entries again must start from there: otherwise the peer's hellos (same epoch) are stale, the
 * entries in between are never sent again and the peer sees a gap in everything after. */
static void test_retire_after_peer_restore_survives_restart (void **state)
{
    fx_t *x = *state;
    static const xf_link_opts_t opts = {.window = 100, .hello_every_ms = 1000,
                                        .keepalive_ms = 5000, .timeout_ms = 30000};
    xf_err_t err = {0};
    uint64_t first, last;
    for (int i = 0; i < 10; i++)
        push (x->store, COUNTY, 0);
    retire (x->store, COUNTY, 8, DAY, 14);           /* the peer acknowledged 8 */

    /* the peer comes back restored (epoch 1), having applied only 3 of ours */
    xf_link_t l;
    xf_link_pos_t pos = positions (x->store, COUNTY);
    xf_link_init (&l, COUNTY, &opts, pos.applied, pos.next_seq, pos.acked);
    Xf__Hello h = XF__HELLO__INIT;
    h.min_version = XF_LINK_VERSION_MIN_SPOKEN;
    h.max_version = XF_LINK_VERSION_MAX_SPOKEN;
    h.code = (char *) COUNTY;
    h.applied = 3;
    h.reply = true;
    h.epoch = 1;
    assert_int_equal (xf_link_on_hello (&l, &h, COUNTY, 0, &err), XF_OK);
    assert_true (l.peer_restored);
    assert_int_equal (l.acked, 3);                   /* 4..10 go again, from what is kept */
    set_acked (x->store, COUNTY, l.acked);           /* what the daemon's resync records */
    retire (x->store, COUNTY, l.acked, DAY + 1, 14);
    assert_entries (x->store, COUNTY, 1, 10);

    /* the node restarts before the peer acknowledged them again */
    pos = positions (x->store, COUNTY);
    xf_link_init (&l, COUNTY, &opts, pos.applied, pos.next_seq, pos.acked);
    l.peer_epoch = 1;                                /* stored by the daemon's resync */
    assert_int_equal (xf_link_on_hello (&l, &h, COUNTY, 0, &err), XF_OK);
    assert_true (xf_link_to_send (&l, &first, &last));
    if (first != 4)
        fail_msg ("after the restart the link sends from %llu (stored acked %llu): the peer, "
                  "at 3, never gets 4..%llu", (unsigned long long) first,
                  (unsigned long long) pos.acked, (unsigned long long) (first - 1));
}

/* A day recorded while the node clock ran ahead must not stop later ones from being seen as
 * old once the clock is set right: the days are kept in order, whatever order they came in. */
static void test_retire_after_clock_set_back (void **state)
{
    fx_t *x = *state;
    for (int i = 0; i < 10; i++)
        push (x->store, COUNTY, 0);
    retire (x->store, COUNTY, 1, DAY + 1000, 14);   /* the clock ran 1,000 days ahead */
    retire (x->store, COUNTY, 5, DAY, 14);          /* set right */
    retire (x->store, COUNTY, 8, DAY + 14, 14);     /* 14 days after 5 were acknowledged */
    assert_entries (x->store, COUNTY, 6, 10);
}

int main (void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown (test_positions_default, setup, teardown),
        cmocka_unit_test_setup_teardown (test_set_positions, setup, teardown),
        cmocka_unit_test_setup_teardown (test_damaged_positions, setup, teardown),
        cmocka_unit_test_setup_teardown (test_push_numbers_per_peer, setup, teardown),
        cmocka_unit_test_setup_teardown (test_push_in_one_transaction, setup, teardown),
        cmocka_unit_test_setup_teardown (test_get, setup, teardown),
        cmocka_unit_test_setup_teardown (test_push_limit, setup, teardown),
        cmocka_unit_test_setup_teardown (test_trim_exact, setup, teardown),
        cmocka_unit_test_setup_teardown (test_trim_many, setup, teardown),
        cmocka_unit_test_setup_teardown (test_set_applied, setup, teardown),
        cmocka_unit_test_setup_teardown (test_bytes, setup, teardown),
        cmocka_unit_test_setup_teardown (test_failing_callback_leaves_nothing, setup, teardown),
        cmocka_unit_test_setup_teardown (test_retire_keep_zero_is_trim, setup, teardown),
        cmocka_unit_test_setup_teardown (test_retire_keeps_for_days, setup, teardown),
        cmocka_unit_test_setup_teardown (test_retire_never_beyond_acked, setup, teardown),
        cmocka_unit_test_setup_teardown (test_retire_damaged_record_refused, setup, teardown),
        cmocka_unit_test_setup_teardown (test_retire_clock_jump_bounded, setup, teardown),
        cmocka_unit_test_setup_teardown (test_first, setup, teardown),
        cmocka_unit_test_setup_teardown (test_restored_mark, setup, teardown),
        cmocka_unit_test_setup_teardown (test_renumber, setup, teardown),
        cmocka_unit_test_setup_teardown (test_renumber_overlapping, setup, teardown),
        cmocka_unit_test_setup_teardown (test_renumber_bad_arguments, setup, teardown),
        cmocka_unit_test_setup_teardown (test_retire_after_peer_restore_survives_restart, setup,
                                         teardown),
        cmocka_unit_test_setup_teardown (test_retire_after_clock_set_back, setup, teardown),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
