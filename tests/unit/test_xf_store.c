/* test_xf_store.c — the LMDB store: get/put/insert/del, ordered scans, meta counters, all or
 * nothing transactions, the schema check, refusal of foreign files, map growth, and backups
 * (copies taken while the store is written, one at a time, the map grown first, and the check
 * of a copy: its entries and office, or why it is not a whole store). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <lmdb.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "xf_store.h"
#include "xf_test.h"

/* ---------------------------------------------------------------- fixture */

typedef struct {
    char dir[4096];
    xf_store_t *store;
} fx_t;

static void rm_tree (const char *dir)
{
    xf_test_rmtree (dir);
}

/* A fresh, empty temp directory; no store yet. */
static int setup_dir (void **state)
{
    fx_t *x = calloc (1, sizeof *x);
    assert_non_null (x);
    if (xf_test_mkdtemp (x->dir, sizeof x->dir, "test_xf_store") != 0)
        fail_msg ("no temp directory");
    *state = x;
    return 0;
}

static int setup_store (void **state)
{
    setup_dir (state);
    fx_t *x = *state;
    xf_err_t err = {0};
    x->store = xf_store_open (x->dir, NULL, &err);
    if (!x->store)
        fail_msg ("open %s: %s", x->dir, err.msg);
    return 0;
}

static int teardown (void **state)
{
    fx_t *x = *state;
    xf_store_close (&x->store);
    assert_null (x->store);
    rm_tree (x->dir);
    free (x);
    return 0;
}

static void assert_refused (int rc, const xf_err_t *err, int code, const char *phrase)
{
    assert_int_equal (rc, code);
    assert_int_equal (err->code, code);
    if (!strstr (err->msg, phrase))
        fail_msg ("message \"%s\" lacks \"%s\"", err->msg, phrase);
}

/* ---------------------------------------------------------------- small transactions */

typedef struct {
    xf_db_t db;
    const char *key, *val;
    int rc;            /* what the operation returned */
    char got[64];      /* value read, NUL-terminated */
    size_t got_len;
} op_t;

static int do_put (xf_txn_t *txn, void *arg, xf_err_t *err)
{
    op_t *o = arg;
    return o->rc = xf_txn_put (txn, o->db, o->key, strlen (o->key), o->val, strlen (o->val), err);
}

static int do_insert (xf_txn_t *txn, void *arg, xf_err_t *err)
{
    op_t *o = arg;
    o->rc = xf_txn_insert (txn, o->db, o->key, strlen (o->key), o->val, strlen (o->val), err);
    return o->rc == XF_EEXIST ? XF_OK : o->rc;   /* commit anyway: nothing was changed */
}

static int do_del (xf_txn_t *txn, void *arg, xf_err_t *err)
{
    op_t *o = arg;
    o->rc = xf_txn_del (txn, o->db, o->key, strlen (o->key), err);
    return o->rc == XF_ENOTFOUND ? XF_OK : o->rc;
}

static int do_get (xf_txn_t *txn, void *arg, xf_err_t *err)
{
    op_t *o = arg;
    const void *v = NULL;
    size_t vlen = 0;
    o->got[0] = 0;
    o->got_len = 0;
    o->rc = xf_txn_get (txn, o->db, o->key, strlen (o->key), &v, &vlen, err);
    if (o->rc == XF_OK) {
        assert_true (vlen < sizeof o->got);
        memcpy (o->got, v, vlen);
        o->got[vlen] = 0;
        o->got_len = vlen;
    }
    return XF_OK;
}

static void put (xf_store_t *s, xf_db_t db, const char *key, const char *val)
{
    xf_err_t err = {0};
    op_t o = {.db = db, .key = key, .val = val};
    if (xf_store_write (s, do_put, &o, &err) != XF_OK)
        fail_msg ("put %s: %s", key, err.msg);
}

/* The value of key, or NULL when absent (as a static buffer). */
static const char *get (xf_store_t *s, xf_db_t db, const char *key)
{
    static op_t o;
    xf_err_t err = {0};
    o = (op_t) {.db = db, .key = key};
    if (xf_store_read (s, do_get, &o, &err) != XF_OK)
        fail_msg ("get %s: %s", key, err.msg);
    if (o.rc == XF_ENOTFOUND)
        return NULL;
    assert_int_equal (o.rc, XF_OK);
    return o.got;
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
    count_t c = {.db = db};
    if (xf_store_read (s, do_count, &c, &err) != XF_OK)
        fail_msg ("count: %s", err.msg);
    return c.n;
}

static int do_read_schema (xf_txn_t *txn, void *arg, xf_err_t *err)
{
    return xf_txn_meta_u64 (txn, "schema", arg, err);
}

/* ---------------------------------------------------------------- open, get, put, insert, del */

static void test_open_creates_store (void **state)
{
    fx_t *x = *state;
    char path[4200];
    struct stat st;
    snprintf (path, sizeof path, "%s/data.mdb", x->dir);
    assert_int_equal (stat (path, &st), -1);   /* the directory is empty */

    xf_err_t err = {0};
    xf_store_opts_t opts = {0};
    x->store = xf_store_open (x->dir, &opts, &err);
    if (!x->store)
        fail_msg ("open: %s", err.msg);
    assert_int_equal (err.code, 0);
    assert_int_equal (stat (path, &st), 0);
    assert_true (S_ISREG (st.st_mode));
    assert_int_equal (st.st_mode & 0777, 0600);   /* case data is not world-readable */
    assert_int_equal (xf_store_map_size (x->store), (size_t) 64 << 20);   /* the default */

    uint64_t schema = 0;
    assert_int_equal (xf_store_read (x->store, do_read_schema, &schema, &err), XF_OK);
    assert_int_equal (schema, XF_SCHEMA_VERSION);
    for (xf_db_t db = XF_DB_CASES; db < XF_DB_COUNT; db++)
        assert_int_equal (count (x->store, db), 0);
    assert_int_equal (count (x->store, XF_DB_META), 1);   /* "schema" */

    xf_store_close (&x->store);
    assert_null (x->store);
    xf_store_close (&x->store);   /* NULL-safe */
    xf_store_close (NULL);
}

static void test_put_get (void **state)
{
    fx_t *x = *state;
    assert_null (get (x->store, XF_DB_CASES, "411324-2026-000001"));
    put (x->store, XF_DB_CASES, "411324-2026-000001", "first");
    assert_string_equal (get (x->store, XF_DB_CASES, "411324-2026-000001"), "first");
    put (x->store, XF_DB_CASES, "411324-2026-000001", "second, longer");   /* overwrite */
    assert_string_equal (get (x->store, XF_DB_CASES, "411324-2026-000001"), "second, longer");
    put (x->store, XF_DB_CASES, "411324-2026-000002", "");   /* an empty value is a value */
    assert_string_equal (get (x->store, XF_DB_CASES, "411324-2026-000002"), "");
    assert_int_equal (count (x->store, XF_DB_CASES), 2);

    /* databases are separate */
    assert_null (get (x->store, XF_DB_EVENTS, "411324-2026-000001"));
    put (x->store, XF_DB_EVENTS, "411324-2026-000001", "event");
    assert_string_equal (get (x->store, XF_DB_EVENTS, "411324-2026-000001"), "event");
    assert_string_equal (get (x->store, XF_DB_CASES, "411324-2026-000001"), "second, longer");

    /* a missing key: XF_ENOTFOUND and err untouched */
    xf_err_t err = {0};
    op_t o = {.db = XF_DB_CASES, .key = "411324-2026-000003"};
    assert_int_equal (xf_store_read (x->store, do_get, &o, &err), XF_OK);
    assert_int_equal (o.rc, XF_ENOTFOUND);
    assert_int_equal (err.code, 0);
    assert_string_equal (err.msg, "");
}

static void test_insert (void **state)
{
    fx_t *x = *state;
    xf_err_t err = {0};
    op_t o = {.db = XF_DB_QUERY, .key = "7KQ4-M2XD-9PWA", .val = "411324-2026-000001"};
    assert_int_equal (xf_store_write (x->store, do_insert, &o, &err), XF_OK);
    assert_int_equal (o.rc, XF_OK);
    o.val = "411324-2026-000999";
    assert_int_equal (xf_store_write (x->store, do_insert, &o, &err), XF_OK);
    assert_int_equal (o.rc, XF_EEXIST);
    assert_string_equal (get (x->store, XF_DB_QUERY, "7KQ4-M2XD-9PWA"), "411324-2026-000001");
    assert_int_equal (count (x->store, XF_DB_QUERY), 1);
    /* the same key in another database is not a conflict */
    o.db = XF_DB_CASES;
    assert_int_equal (xf_store_write (x->store, do_insert, &o, &err), XF_OK);
    assert_int_equal (o.rc, XF_OK);
}

/* Keys put in any order read back in key order; keys that arrive in order fill whole pages
 * (the store appends them): 4,000 values of 1,000 bytes, three to a 4 KiB page, take 5.5 MB,
 * where LMDB's middle splits would leave 8.3 MB. */
typedef struct {
    int phase;
} fill_t;

static int do_fill (xf_txn_t *txn, void *arg, xf_err_t *err)
{
    fill_t *f = arg;
    char key[32], val[1000];
    memset (val, 'v', sizeof val);
    for (int i = 0; i < 4000; i++) {
        /* phase 0: ascending; phase 1: odd keys below everything present, then overwrites */
        int k = f->phase == 0 ? 2 * i + 2 : (i < 2000 ? 2 * i + 1 : 2 * (i - 2000) + 2);
        snprintf (key, sizeof key, "411324-2026-%06d", k);
        snprintf (val, sizeof val, "%d/%d", f->phase, k);
        int rc = xf_txn_put (txn, XF_DB_CASES, key, strlen (key), val, sizeof val, err);
        if (rc != XF_OK)
            return rc;
    }
    return XF_OK;
}

typedef struct {
    int seen, wrong, last;
} check_t;

/* Every key once, in order, holding what the last phase that wrote it put there. */
static int check_fill_entry (const void *key, size_t klen, const void *val, size_t vlen, void *arg)
{
    check_t *c = arg;
    char want[32], id[32];
    snprintf (id, sizeof id, "%.*s", (int) klen, (const char *) key);
    int k = atoi (id + 12);
    snprintf (want, sizeof want, "%d/%d", k <= 4000 ? 1 : 0, k);
    if (k <= c->last || vlen != 1000 || strcmp (val, want) != 0)
        c->wrong++;
    c->last = k;
    c->seen++;
    return 0;
}

static int do_check_fill (xf_txn_t *txn, void *arg, xf_err_t *err)
{
    return xf_txn_scan (txn, XF_DB_CASES, NULL, 0, check_fill_entry, arg, err);
}

static void test_put_in_any_order (void **state)
{
    fx_t *x = *state;
    xf_err_t err = {0};
    char path[4200];
    struct stat st;
    fill_t f = {0};
    assert_int_equal (xf_store_write (x->store, do_fill, &f, &err), XF_OK);
    snprintf (path, sizeof path, "%s/data.mdb", x->dir);
    assert_int_equal (stat (path, &st), 0);
    if (st.st_size > 6 * 1000 * 1000)
        fail_msg ("4,000 values of 1,000 bytes put in key order take %lld bytes: pages are not "
                  "filled", (long long) st.st_size);
    f.phase = 1;   /* 2,000 keys before all others, 2,000 overwrites of existing ones */
    assert_int_equal (xf_store_write (x->store, do_fill, &f, &err), XF_OK);
    assert_int_equal (count (x->store, XF_DB_CASES), 6000);
    check_t c = {0};
    assert_int_equal (xf_store_read (x->store, do_check_fill, &c, &err), XF_OK);
    assert_int_equal (c.seen, 6000);
    assert_int_equal (c.wrong, 0);
    /* insert still refuses a present key, whether or not it sorts last */
    op_t o = {.db = XF_DB_CASES, .key = "411324-2026-008000", .val = "again"};
    assert_int_equal (xf_store_write (x->store, do_insert, &o, &err), XF_OK);
    assert_int_equal (o.rc, XF_EEXIST);
    o.key = "411324-2026-000001";
    assert_int_equal (xf_store_write (x->store, do_insert, &o, &err), XF_OK);
    assert_int_equal (o.rc, XF_EEXIST);
    o.key = "411324-2026-009999";
    assert_int_equal (xf_store_write (x->store, do_insert, &o, &err), XF_OK);
    assert_int_equal (o.rc, XF_OK);
}

static void test_del (void **state)
{
    fx_t *x = *state;
    put (x->store, XF_DB_DUE, "a", "1");
    put (x->store, XF_DB_DUE, "b", "2");
    xf_err_t err = {0};
    op_t o = {.db = XF_DB_DUE, .key = "a"};
    assert_int_equal (xf_store_write (x->store, do_del, &o, &err), XF_OK);
    assert_int_equal (o.rc, XF_OK);
    assert_null (get (x->store, XF_DB_DUE, "a"));
    assert_string_equal (get (x->store, XF_DB_DUE, "b"), "2");
    assert_int_equal (xf_store_write (x->store, do_del, &o, &err), XF_OK);
    assert_int_equal (o.rc, XF_ENOTFOUND);   /* already gone */
    o.key = "never";
    assert_int_equal (xf_store_write (x->store, do_del, &o, &err), XF_OK);
    assert_int_equal (o.rc, XF_ENOTFOUND);
    assert_int_equal (count (x->store, XF_DB_DUE), 1);
}

/* ---------------------------------------------------------------- scans */

typedef struct {
    xf_db_t db;
    const char *start;   /* NULL: from the first / last */
    bool back;
    bool prefix;         /* start is a prefix: xf_txn_scan_prefix */
    int stop_after;      /* return 1 after this many (0: never) */
    int fail_after;      /* return XF_ESTATE after this many (0: never) */
    int n;
    char seen[16][8];
    int rc;
} scan_t;

static int on_entry (const void *key, size_t klen, const void *val, size_t vlen, void *arg)
{
    scan_t *s = arg;
    assert_true (s->n < 16);
    assert_true (klen < sizeof s->seen[0]);
    memcpy (s->seen[s->n], key, klen);
    s->seen[s->n][klen] = 0;
    /* each value is "v" + its key */
    assert_int_equal (vlen, klen + 1);
    assert_memory_equal (val, "v", 1);
    assert_memory_equal ((const char *) val + 1, key, klen);
    s->n++;
    if (s->fail_after && s->n == s->fail_after)
        return XF_ESTATE;
    if (s->stop_after && s->n == s->stop_after)
        return 1;
    return 0;
}

static int do_scan (xf_txn_t *txn, void *arg, xf_err_t *err)
{
    scan_t *s = arg;
    s->n = 0;
    size_t slen = s->start ? strlen (s->start) : 0;
    s->rc = s->back     ? xf_txn_scan_back (txn, s->db, s->start, slen, on_entry, s, err)
            : s->prefix ? xf_txn_scan_prefix (txn, s->db, s->start, slen, on_entry, s, err)
                        : xf_txn_scan (txn, s->db, s->start, slen, on_entry, s, err);
    return XF_OK;
}

/* Runs a scan and checks it visited exactly `want` (a space-separated list of keys). */
static void expect_scan (xf_store_t *st, scan_t s, int rc, const char *want)
{
    xf_err_t err = {0};
    assert_int_equal (xf_store_read (st, do_scan, &s, &err), XF_OK);
    assert_int_equal (s.rc, rc);
    char got[256] = "";
    for (int i = 0; i < s.n; i++) {
        if (i)
            strcat (got, " ");
        strcat (got, s.seen[i]);
    }
    if (strcmp (got, want) != 0)
        fail_msg ("scan%s from %s: visited \"%s\", expected \"%s\"", s.back ? "_back" : "",
                  s.start ? s.start : "(end)", got, want);
}

static void fill_scan_db (xf_store_t *st)
{
    /* inserted out of order; "k05x" sorts between "k05" and "k06" */
    static const char *const keys[] = {"k07", "k01", "k10", "k03", "k05", "k02", "k09",
                                       "k04", "k06", "k08", "k05x"};
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
        char val[16];
        snprintf (val, sizeof val, "v%s", keys[i]);
        put (st, XF_DB_OUTBOX, keys[i], val);
    }
    put (st, XF_DB_LINKS, "k00", "vk00");   /* another database: never visited */
}

static void test_scan_forward (void **state)
{
    fx_t *x = *state;
    scan_t s = {.db = XF_DB_OUTBOX};
    expect_scan (x->store, s, XF_OK, "");   /* empty database */
    fill_scan_db (x->store);
    expect_scan (x->store, s, XF_OK, "k01 k02 k03 k04 k05 k05x k06 k07 k08 k09 k10");
    s.start = "k05";
    expect_scan (x->store, s, XF_OK, "k05 k05x k06 k07 k08 k09 k10");
    s.start = "k055";    /* absent: from the next key ("k055" < "k05x") */
    expect_scan (x->store, s, XF_OK, "k05x k06 k07 k08 k09 k10");
    s.start = "k05y";
    expect_scan (x->store, s, XF_OK, "k06 k07 k08 k09 k10");
    s.start = "k";       /* before the first */
    expect_scan (x->store, s, XF_OK, "k01 k02 k03 k04 k05 k05x k06 k07 k08 k09 k10");
    s.start = "k10";
    expect_scan (x->store, s, XF_OK, "k10");
    s.start = "k99";     /* after the last */
    expect_scan (x->store, s, XF_OK, "");

    /* early stop: 1 stops the scan, which succeeds */
    s = (scan_t) {.db = XF_DB_OUTBOX, .stop_after = 3};
    expect_scan (x->store, s, XF_OK, "k01 k02 k03");
    s.start = "k08";
    expect_scan (x->store, s, XF_OK, "k08 k09 k10");
    /* a negative return fails the scan with that code */
    s = (scan_t) {.db = XF_DB_OUTBOX, .fail_after = 2};
    expect_scan (x->store, s, XF_ESTATE, "k01 k02");
}

/* Only the keys that start with the prefix, in order; stops and failures as xf_txn_scan. */
static void test_scan_prefix (void **state)
{
    fx_t *x = *state;
    fill_scan_db (x->store);
    scan_t s = {.db = XF_DB_OUTBOX, .prefix = true, .start = "k05"};
    expect_scan (x->store, s, XF_OK, "k05 k05x");
    s.start = "k1";
    expect_scan (x->store, s, XF_OK, "k10");
    s.start = "k055";    /* no key starts so, though "k05x" follows it */
    expect_scan (x->store, s, XF_OK, "");
    s = (scan_t) {.db = XF_DB_OUTBOX, .prefix = true, .start = "k0", .stop_after = 2};
    expect_scan (x->store, s, XF_OK, "k01 k02");
    s = (scan_t) {.db = XF_DB_OUTBOX, .prefix = true, .start = "k0", .fail_after = 3};
    expect_scan (x->store, s, XF_ESTATE, "k01 k02 k03");
}

/* xf_store_put: one key in a transaction of its own. */
static void test_store_put (void **state)
{
    fx_t *x = *state;
    xf_err_t err = {0};
    assert_int_equal (xf_store_put (x->store, XF_DB_LINKS, "cert/411324", 11, "der", 3, &err), XF_OK);
    assert_string_equal (get (x->store, XF_DB_LINKS, "cert/411324"), "der");
    assert_int_equal (xf_store_put (x->store, XF_DB_LINKS, "cert/411324", 11, "new", 3, &err), XF_OK);
    assert_string_equal (get (x->store, XF_DB_LINKS, "cert/411324"), "new");
}

static void test_scan_back (void **state)
{
    fx_t *x = *state;
    scan_t s = {.db = XF_DB_OUTBOX, .back = true};
    expect_scan (x->store, s, XF_OK, "");
    s.start = "k05";
    expect_scan (x->store, s, XF_OK, "");   /* empty database with a start key */
    fill_scan_db (x->store);
    s.start = NULL;
    expect_scan (x->store, s, XF_OK, "k10 k09 k08 k07 k06 k05x k05 k04 k03 k02 k01");
    s.start = "k05";     /* present: from it (not from k05x, which is greater) */
    expect_scan (x->store, s, XF_OK, "k05 k04 k03 k02 k01");
    s.start = "k05y";    /* absent: from the last key below it */
    expect_scan (x->store, s, XF_OK, "k05x k05 k04 k03 k02 k01");
    s.start = "k055";    /* "k05" < "k055" < "k05x" */
    expect_scan (x->store, s, XF_OK, "k05 k04 k03 k02 k01");
    s.start = "k99";     /* after the last: from the last */
    expect_scan (x->store, s, XF_OK, "k10 k09 k08 k07 k06 k05x k05 k04 k03 k02 k01");
    s.start = "k01";
    expect_scan (x->store, s, XF_OK, "k01");
    s.start = "k00";     /* before the first: nothing */
    expect_scan (x->store, s, XF_OK, "");

    s = (scan_t) {.db = XF_DB_OUTBOX, .back = true, .stop_after = 2};
    expect_scan (x->store, s, XF_OK, "k10 k09");
    s.start = "k04";
    expect_scan (x->store, s, XF_OK, "k04 k03");
    s = (scan_t) {.db = XF_DB_OUTBOX, .back = true, .start = "k03", .fail_after = 1};
    expect_scan (x->store, s, XF_ESTATE, "k03");
}

/* A scan that fails inside a write transaction fails the transaction. */
static int write_then_scan_fails (xf_txn_t *txn, void *arg, xf_err_t *err)
{
    scan_t *s = arg;
    int rc = xf_txn_put (txn, XF_DB_OUTBOX, "k00", 3, "vk00", 4, err);
    if (rc != XF_OK)
        return rc;
    s->n = 0;
    rc = xf_txn_scan (txn, XF_DB_OUTBOX, NULL, 0, on_entry, s, err);
    if (rc != XF_OK)
        return xf_err_set (err, rc, "scan stopped at %s", s->seen[s->n - 1]);
    return XF_OK;
}

static void test_scan_failure_aborts_write (void **state)
{
    fx_t *x = *state;
    fill_scan_db (x->store);
    xf_err_t err = {0};
    scan_t s = {.db = XF_DB_OUTBOX, .fail_after = 2};
    assert_refused (xf_store_write (x->store, write_then_scan_fails, &s, &err), &err, XF_ESTATE,
                    "scan stopped at k01");
    assert_int_equal (s.n, 2);   /* it saw its own uncommitted k00 first */
    assert_null (get (x->store, XF_DB_OUTBOX, "k00"));
    assert_int_equal (count (x->store, XF_DB_OUTBOX), 11);
}

/* A read transaction cannot write: the put is refused, not silently dropped or crashed. */
static void test_read_transaction_is_read_only (void **state)
{
    fx_t *x = *state;
    xf_err_t err = {0};
    op_t o = {.db = XF_DB_CASES, .key = "k", .val = "v"};
    assert_refused (xf_store_read (x->store, do_put, &o, &err), &err, XF_ESTORE, "cases");
    assert_int_equal (o.rc, XF_ESTORE);
    assert_non_null (strstr (err.msg, x->dir));
    assert_null (get (x->store, XF_DB_CASES, "k"));
}

/* ---------------------------------------------------------------- meta */

typedef struct {
    const char *name;
    uint64_t set, got;
    bool do_set;
    int rc;
} meta_t;

static int do_meta (xf_txn_t *txn, void *arg, xf_err_t *err)
{
    meta_t *m = arg;
    if (m->do_set && (m->rc = xf_txn_meta_set_u64 (txn, m->name, m->set, err)) != XF_OK)
        return m->rc;
    m->got = 12345;
    return m->rc = xf_txn_meta_u64 (txn, m->name, &m->got, err);
}

static void test_meta_u64 (void **state)
{
    fx_t *x = *state;
    xf_err_t err = {0};
    meta_t m = {.name = "outbox_seq"};
    assert_int_equal (xf_store_read (x->store, do_meta, &m, &err), XF_OK);
    assert_int_equal (m.got, 0);   /* absent = 0 */

    m = (meta_t) {.name = "outbox_seq", .set = 0x0102030405060708ull, .do_set = true};
    assert_int_equal (xf_store_write (x->store, do_meta, &m, &err), XF_OK);
    assert_int_equal (m.got, 0x0102030405060708ull);
    m = (meta_t) {.name = "clock_offset", .set = UINT64_MAX, .do_set = true};
    assert_int_equal (xf_store_write (x->store, do_meta, &m, &err), XF_OK);

    /* stored big-endian, 8 bytes, and kept across a reopen */
    const char *raw = get (x->store, XF_DB_META, "outbox_seq");
    assert_memory_equal (raw, "\x01\x02\x03\x04\x05\x06\x07\x08", 8);
    xf_store_close (&x->store);
    x->store = xf_store_open (x->dir, NULL, &err);
    assert_non_null (x->store);
    m = (meta_t) {.name = "outbox_seq"};
    assert_int_equal (xf_store_read (x->store, do_meta, &m, &err), XF_OK);
    assert_int_equal (m.got, 0x0102030405060708ull);
    m = (meta_t) {.name = "clock_offset"};
    assert_int_equal (xf_store_read (x->store, do_meta, &m, &err), XF_OK);
    assert_int_equal (m.got, UINT64_MAX);

    /* a value that is not 8 bytes is damage, reported with the name */
    put (x->store, XF_DB_META, "broken", "abc");
    m = (meta_t) {.name = "broken"};
    assert_refused (xf_store_read (x->store, do_meta, &m, &err), &err, XF_ESTORE, "damaged");
    assert_non_null (strstr (err.msg, "\"broken\""));
}

/* ---------------------------------------------------------------- all or nothing */

typedef struct {
    int calls;
    int fail_at;    /* after this many puts, fail (0: never) */
} batch_t;

static int put_batch_then_fail (xf_txn_t *txn, void *arg, xf_err_t *err)
{
    batch_t *b = arg;
    b->calls++;
    for (int i = 1; i <= 10; i++) {
        char key[32];
        snprintf (key, sizeof key, "case-%02d", i);
        int rc = xf_txn_put (txn, XF_DB_CASES, key, strlen (key), "x", 1, err);
        if (rc != XF_OK)
            return rc;
        rc = xf_txn_meta_set_u64 (txn, "case_seq", (uint64_t) i, err);
        if (rc != XF_OK)
            return rc;
        if (i == b->fail_at)
            return xf_err_set (err, XF_EINVAL, "case-%02d: summary is empty", i);
    }
    return XF_OK;
}

static int insert_duplicate (xf_txn_t *txn, void *arg, xf_err_t *err)
{
    (void) arg;
    int rc;
    if ((rc = xf_txn_put (txn, XF_DB_CASES, "new", 3, "n", 1, err)) != XF_OK
        || (rc = xf_txn_del (txn, XF_DB_CASES, "case-01", 7, err)) != XF_OK)
        return rc;
    if ((rc = xf_txn_insert (txn, XF_DB_CASES, "case-02", 7, "dup", 3, err)) == XF_EEXIST)
        return xf_err_set (err, XF_EEXIST, "case case-02 already exists");
    return rc;
}

static void test_callback_error_aborts_everything (void **state)
{
    fx_t *x = *state;
    xf_err_t err = {0};
    batch_t b = {.fail_at = 7};
    assert_refused (xf_store_write (x->store, put_batch_then_fail, &b, &err), &err, XF_EINVAL,
                    "case-07: summary is empty");
    assert_int_equal (b.calls, 1);   /* not retried */
    assert_int_equal (count (x->store, XF_DB_CASES), 0);
    assert_null (get (x->store, XF_DB_CASES, "case-01"));
    meta_t m = {.name = "case_seq"};
    assert_int_equal (xf_store_read (x->store, do_meta, &m, &err), XF_OK);
    assert_int_equal (m.got, 0);

    /* the same callback without the failure commits all of it */
    b = (batch_t) {0};
    err = (xf_err_t) {0};
    assert_int_equal (xf_store_write (x->store, put_batch_then_fail, &b, &err), XF_OK);
    assert_int_equal (count (x->store, XF_DB_CASES), 10);
    assert_int_equal (xf_store_read (x->store, do_meta, &m, &err), XF_OK);
    assert_int_equal (m.got, 10);

    /* a put, a delete, then a refused insert: the put and the delete are undone */
    assert_refused (xf_store_write (x->store, insert_duplicate, NULL, &err), &err, XF_EEXIST,
                    "already exists");
    assert_null (get (x->store, XF_DB_CASES, "new"));
    assert_string_equal (get (x->store, XF_DB_CASES, "case-01"), "x");
    assert_string_equal (get (x->store, XF_DB_CASES, "case-02"), "x");
    assert_int_equal (count (x->store, XF_DB_CASES), 10);

    /* and the reopened store agrees */
    xf_store_close (&x->store);
    x->store = xf_store_open (x->dir, NULL, &err);
    assert_non_null (x->store);
    assert_int_equal (count (x->store, XF_DB_CASES), 10);
    assert_null (get (x->store, XF_DB_CASES, "new"));
}

/* ---------------------------------------------------------------- schema */

static int set_schema (xf_txn_t *txn, void *arg, xf_err_t *err)
{
    return xf_txn_meta_set_u64 (txn, "schema", *(uint64_t *) arg, err);
}

static void test_reopen (void **state)
{
    fx_t *x = *state;
    put (x->store, XF_DB_CASES, "411324-2026-000001", "kept");
    xf_store_close (&x->store);
    xf_err_t err = {0};
    for (int i = 0; i < 3; i++) {
        x->store = xf_store_open (x->dir, NULL, &err);
        if (!x->store)
            fail_msg ("reopen %d: %s", i, err.msg);
        assert_string_equal (get (x->store, XF_DB_CASES, "411324-2026-000001"), "kept");
        uint64_t schema = 0;
        assert_int_equal (xf_store_read (x->store, do_read_schema, &schema, &err), XF_OK);
        assert_int_equal (schema, XF_SCHEMA_VERSION);
        assert_int_equal (count (x->store, XF_DB_META), 1);
        xf_store_close (&x->store);
    }
}

static void test_newer_schema_refused (void **state)
{
    fx_t *x = *state;
    uint64_t newer = XF_SCHEMA_VERSION + 1;
    xf_err_t err = {0};
    put (x->store, XF_DB_CASES, "411324-2026-000001", "from the future");
    assert_int_equal (xf_store_write (x->store, set_schema, &newer, &err), XF_OK);
    xf_store_close (&x->store);

    for (int i = 0; i < 2; i++) {   /* the refusal does not rewrite the version */
        err = (xf_err_t) {0};
        x->store = xf_store_open (x->dir, NULL, &err);
        assert_null (x->store);
        assert_int_equal (err.code, XF_EVERSION);
        if (!strstr (err.msg, "newer"))
            fail_msg ("message \"%s\" lacks \"newer\"", err.msg);
        assert_non_null (strstr (err.msg, x->dir));
        char schema[32];
        snprintf (schema, sizeof schema, "schema %d", XF_SCHEMA_VERSION + 1);
        assert_non_null (strstr (err.msg, schema));
    }
}

/* ---------------------------------------------------------------- refusals of what is not a store */

static void test_not_a_directory (void **state)
{
    fx_t *x = *state;
    char path[4200];
    snprintf (path, sizeof path, "%s/plain-file", x->dir);
    FILE *fp = fopen (path, "w");
    assert_non_null (fp);
    fputs ("not a store\n", fp);
    fclose (fp);

    xf_err_t err = {0};
    errno = ENOENT;   /* stale errno from some earlier call must not leak into the message */
    assert_null (xf_store_open (path, NULL, &err));
    assert_refused (err.code, &err, XF_ESTORE, "not a directory");
    assert_non_null (strstr (err.msg, path));
    if (strstr (err.msg, strerror (ENOENT)))
        fail_msg ("message \"%s\" says the file does not exist", err.msg);

    snprintf (path, sizeof path, "%s/missing", x->dir);
    err = (xf_err_t) {0};
    assert_null (xf_store_open (path, NULL, &err));
    assert_refused (err.code, &err, XF_ESTORE, strerror (ENOENT));
    assert_non_null (strstr (err.msg, path));
}

static void test_foreign_data_file (void **state)
{
    fx_t *x = *state;
    char path[4200];
    snprintf (path, sizeof path, "%s/data.mdb", x->dir);
    static const size_t sizes[] = {100, 4096, 3 * 4096 + 17, 65536};
    for (size_t k = 0; k < sizeof sizes / sizeof sizes[0]; k++) {
        size_t n = sizes[k];
        unsigned char *garbage = malloc (n), *after = malloc (n + 1);
        assert_non_null (garbage);
        assert_non_null (after);
        uint32_t r = 0x9e3779b9u * (uint32_t) (k + 1);
        for (size_t i = 0; i < n; i++) {
            r = r * 1664525u + 1013904223u;
            garbage[i] = (unsigned char) (r >> 24);
        }
        FILE *fp = fopen (path, "wb");
        assert_non_null (fp);
        assert_int_equal (fwrite (garbage, 1, n, fp), n);
        fclose (fp);

        xf_err_t err = {0};
        assert_null (xf_store_open (x->dir, NULL, &err));
        if (err.code != XF_ESTORE)
            fail_msg ("%zu garbage bytes: code %d (%s)", n, err.code, err.msg);
        assert_refused (err.code, &err, XF_ESTORE, "not an LMDB file");
        assert_non_null (strstr (err.msg, x->dir));

        /* the foreign file is left as it was */
        fp = fopen (path, "rb");
        assert_non_null (fp);
        assert_int_equal (fread (after, 1, n + 1, fp), n);
        fclose (fp);
        assert_memory_equal (after, garbage, n);
        free (garbage);
        free (after);
    }
}

/* A store whose data file was cut short (an interrupted copy) is refused before anything
 * reads past its end, and the file is left as it was. */
static void test_truncated_data_file (void **state)
{
    fx_t *x = *state;
    xf_err_t err = {0};
    char path[4200];
    x->store = xf_store_open (x->dir, NULL, &err);
    assert_non_null (x->store);
    char key[16], val[512];
    memset (val, 'v', sizeof val - 1);
    val[sizeof val - 1] = 0;
    for (int i = 0; i < 200; i++) {   /* enough pages to cut */
        snprintf (key, sizeof key, "k%05d", i);
        put (x->store, XF_DB_CASES, key, val);
    }
    xf_store_close (&x->store);
    snprintf (path, sizeof path, "%s/data.mdb", x->dir);
    assert_int_equal (truncate (path, 3 * 4096), 0);
    assert_null (xf_store_open (x->dir, NULL, &err));
    assert_int_equal (err.code, XF_ESTORE);
    assert_non_null (strstr (err.msg, "the file was cut short"));
    struct stat st;
    assert_int_equal (stat (path, &st), 0);
    assert_int_equal (st.st_size, 3 * 4096);
}

/* ---------------------------------------------------------------- map growth */

#define BIG_VALUE 8192
#define BIG_TOTAL ((size_t) 10 << 20)
#define BIG_COUNT ((int) (BIG_TOTAL / BIG_VALUE))   /* 1280 values */

static void big_value (int i, uint8_t *v)
{
    for (int j = 0; j < BIG_VALUE; j++)
        v[j] = (uint8_t) (i * 31 + j * 7 + (j >> 8));
}

typedef struct {
    int from, to;   /* [from, to) */
    int calls;
} range_t;

static int put_range (xf_txn_t *txn, void *arg, xf_err_t *err)
{
    range_t *r = arg;
    r->calls++;
    static uint8_t v[BIG_VALUE];
    for (int i = r->from; i < r->to; i++) {
        uint8_t key[4];
        xf_be32_put (key, (uint32_t) i);
        big_value (i, v);
        int rc = xf_txn_put (txn, XF_DB_OUTBOX, key, sizeof key, v, sizeof v, err);
        if (rc != XF_OK)
            return rc;
    }
    return xf_txn_meta_set_u64 (txn, "written", (uint64_t) r->to, err);
}

typedef struct {
    int n, bad;
} verify_t;

static int verify_entry (const void *key, size_t klen, const void *val, size_t vlen, void *arg)
{
    verify_t *v = arg;
    static uint8_t want[BIG_VALUE];
    assert_int_equal (klen, 4);
    int i = (int) xf_be32_get (key);
    big_value (i, want);
    if (i != v->n || vlen != BIG_VALUE || memcmp (val, want, BIG_VALUE) != 0)
        v->bad++;
    v->n++;
    return 0;
}

static int do_verify (xf_txn_t *txn, void *arg, xf_err_t *err)
{
    return xf_txn_scan (txn, XF_DB_OUTBOX, NULL, 0, verify_entry, arg, err);
}

/* Every entry 0..n-1 present with the right bytes, and nothing else. */
static void verify_big (xf_store_t *s, int n)
{
    xf_err_t err = {0};
    verify_t v = {0};
    assert_int_equal (xf_store_read (s, do_verify, &v, &err), XF_OK);
    assert_int_equal (v.n, n);
    assert_int_equal (v.bad, 0);
    meta_t m = {.name = "written"};
    assert_int_equal (xf_store_read (s, do_meta, &m, &err), XF_OK);
    assert_int_equal (m.got, (uint64_t) n);
}

static xf_store_t *open_small (fx_t *x, size_t max)
{
    xf_err_t err = {0};
    xf_store_opts_t opts = {.map_size = 64 << 10, .max_map_size = max};
    xf_store_t *s = xf_store_open (x->dir, &opts, &err);
    if (!s)
        fail_msg ("open with a 64 KiB map: %s", err.msg);
    assert_true (xf_store_map_size (s) < BIG_TOTAL);
    return s;
}

static void test_map_grows_in_one_transaction (void **state)
{
    fx_t *x = *state;
    x->store = open_small (x, 0);
    size_t before = xf_store_map_size (x->store);
    xf_err_t err = {0};
    range_t r = {0, BIG_COUNT, 0};
    if (xf_store_write (x->store, put_range, &r, &err) != XF_OK)
        fail_msg ("10 MiB in one transaction: %s", err.msg);
    assert_true (r.calls > 1);   /* it was retried after growing */
    assert_true (xf_store_map_size (x->store) > before);
    assert_true (xf_store_map_size (x->store) >= BIG_TOTAL);
    verify_big (x->store, BIG_COUNT);

    /* the grown store reopens with its size and its data */
    xf_store_close (&x->store);
    x->store = xf_store_open (x->dir, NULL, &err);
    assert_non_null (x->store);
    assert_true (xf_store_map_size (x->store) >= BIG_TOTAL);
    verify_big (x->store, BIG_COUNT);
}

static void test_map_grows_over_many_transactions (void **state)
{
    fx_t *x = *state;
    x->store = open_small (x, 0);
    size_t before = xf_store_map_size (x->store);
    xf_err_t err = {0};
    const int per_txn = 8;
    for (int i = 0; i < BIG_COUNT; i += per_txn) {
        range_t r = {i, i + per_txn, 0};
        if (xf_store_write (x->store, put_range, &r, &err) != XF_OK)
            fail_msg ("transaction %d: %s", i / per_txn, err.msg);
    }
    assert_true (xf_store_map_size (x->store) > before);
    assert_true (xf_store_map_size (x->store) >= BIG_TOTAL);
    verify_big (x->store, BIG_COUNT);
}

static void test_store_full_one_transaction (void **state)
{
    fx_t *x = *state;
    const size_t limit = 256 << 10;
    x->store = open_small (x, limit);
    xf_err_t err = {0};
    range_t r = {0, 4, 0};   /* 32 KiB: fits */
    if (xf_store_write (x->store, put_range, &r, &err) != XF_OK)
        fail_msg ("first 32 KiB: %s", err.msg);
    verify_big (x->store, 4);

    r = (range_t) {4, BIG_COUNT, 0};
    err = (xf_err_t) {0};
    assert_refused (xf_store_write (x->store, put_range, &r, &err), &err, XF_ESTORE, "full");
    assert_non_null (strstr (err.msg, x->dir));
    assert_true (xf_store_map_size (x->store) <= limit);
    verify_big (x->store, 4);   /* exactly what was committed before */

    /* the store still works for what fits, and reopens with the same content */
    r = (range_t) {4, 6, 0};
    assert_int_equal (xf_store_write (x->store, put_range, &r, &err), XF_OK);
    verify_big (x->store, 6);
    xf_store_close (&x->store);
    x->store = xf_store_open (x->dir, NULL, &err);
    assert_non_null (x->store);
    verify_big (x->store, 6);
}

static void test_store_full_many_transactions (void **state)
{
    fx_t *x = *state;
    const size_t limit = 512 << 10;
    x->store = open_small (x, limit);
    xf_err_t err = {0};
    int committed = 0, rc = XF_OK;
    while (committed < BIG_COUNT) {
        range_t r = {committed, committed + 1, 0};
        err = (xf_err_t) {0};
        if ((rc = xf_store_write (x->store, put_range, &r, &err)) != XF_OK)
            break;
        committed++;
    }
    assert_refused (rc, &err, XF_ESTORE, "full");
    assert_true (committed > 4);                  /* some fitted … */
    assert_true (committed < 512 / 8);            /* … but not more than the limit */
    assert_true (xf_store_map_size (x->store) <= limit);
    assert_true (xf_store_map_size (x->store) > 64 << 10);   /* it did grow up to the limit */
    verify_big (x->store, committed);
    xf_store_close (&x->store);
    x->store = xf_store_open (x->dir, NULL, &err);
    assert_non_null (x->store);
    verify_big (x->store, committed);
}

/* ---------------------------------------------------------------- backups */

/* n cases from number `from` (values of 400 bytes, their number first), in one transaction. */
typedef struct {
    int from, n;
} cases_t;

static int do_put_cases (xf_txn_t *txn, void *arg, xf_err_t *err)
{
    cases_t *c = arg;
    char key[32], val[400];
    memset (val, 'c', sizeof val);
    for (int i = c->from; i < c->from + c->n; i++) {
        snprintf (key, sizeof key, "411324-2026-%06d", i);
        snprintf (val, sizeof val, "case %d", i);
        int rc = xf_txn_put (txn, XF_DB_CASES, key, strlen (key), val, sizeof val, err);
        if (rc != XF_OK)
            return rc;
    }
    return XF_OK;
}

static void put_cases (xf_store_t *s, int from, int n)
{
    xf_err_t err = {0};
    cases_t c = {from, n};
    if (xf_store_write (s, do_put_cases, &c, &err) != XF_OK)
        fail_msg ("put cases %d..%d: %s", from, from + n - 1, err.msg);
}

/* The number a case put by put_cases holds, or -1 when absent. */
typedef struct {
    const char *key;
    int number;
} case_t;

static int do_case_number (xf_txn_t *txn, void *arg, xf_err_t *err)
{
    case_t *c = arg;
    const void *v = NULL;
    size_t vlen = 0;
    c->number = -1;
    int rc = xf_txn_get (txn, XF_DB_CASES, c->key, strlen (c->key), &v, &vlen, err);
    if (rc == XF_OK && (vlen != 400 || sscanf (v, "case %d", &c->number) != 1))
        c->number = -2;
    return rc == XF_ENOTFOUND ? XF_OK : rc;
}

static int case_number (xf_store_t *s, const char *key)
{
    xf_err_t err = {0};
    case_t c = {key, -1};
    if (xf_store_read (s, do_case_number, &c, &err) != XF_OK)
        fail_msg ("get %s: %s", key, err.msg);
    return c.number;
}

/* A backup file next to the store (the teardown removes it with the directory). */
static void backup_path (const fx_t *x, const char *name, char *path, size_t len)
{
    snprintf (path, len, "%s/%s", x->dir, name);
}

/* Copies the store to path (which must not exist); copy_begin must have succeeded. */
static void copy_to (xf_store_t *s, const char *path)
{
    xf_err_t err = {0};
    int fd = open (path, O_WRONLY | O_CREAT | O_EXCL, 0600);
    if (fd < 0)
        fail_msg ("create %s: %s", path, strerror (errno));
    if (xf_store_copy_fd (s, fd, &err) != XF_OK)
        fail_msg ("copy to %s: %s", path, err.msg);
    assert_int_equal (close (fd), 0);
}

static off_t file_size (const char *path)
{
    struct stat st;
    if (stat (path, &st) != 0)
        fail_msg ("stat %s: %s", path, strerror (errno));
    return st.st_size;
}

/* A copy taken while the store is written holds what was committed when copy_fd began: not
 * what came after, and the check of the copy says so without opening it as a store. */
static void test_copy_while_writing (void **state)
{
    fx_t *x = *state;
    xf_err_t err = {0};
    char path[4200], again[4200];
    backup_path (x, "backup.mdb", path, sizeof path);
    backup_path (x, "again.mdb", again, sizeof again);
    put (x->store, XF_DB_META, "office", "411324");
    put_cases (x->store, 0, 100);
    put (x->store, XF_DB_LINKS, "pos/411300", "positions");
    uint64_t used = xf_store_used_bytes (x->store);
    assert_true (used > 100 * 400);

    assert_int_equal (xf_store_copy_begin (x->store, &err), XF_OK);
    /* one copy at a time */
    assert_refused (xf_store_copy_begin (x->store, &err), &err, XF_ESTATE, x->dir);
    assert_non_null (strstr (err.msg, "already"));
    put_cases (x->store, 100, 10);            /* committed before copy_fd: in the copy */
    used = xf_store_used_bytes (x->store);
    copy_to (x->store, path);
    put_cases (x->store, 110, 25);            /* after: not in the copy */
    put (x->store, XF_DB_META, "office", "999999");
    put (x->store, XF_DB_DUE, "d", "1");
    xf_store_copy_end (x->store);
    assert_int_equal (count (x->store, XF_DB_CASES), 135);

    xf_store_file_info_t info;
    memset (&info, 0xa5, sizeof info);
    err = (xf_err_t) {0};
    if (xf_store_file_check (path, &info, &err) != XF_OK)
        fail_msg ("check %s: %s", path, err.msg);
    assert_int_equal (info.entries[XF_DB_CASES], 110);
    assert_int_equal (info.entries[XF_DB_META], 2);   /* "schema" and "office" */
    assert_int_equal (info.entries[XF_DB_LINKS], 1);
    assert_int_equal (info.entries[XF_DB_DUE], 0);
    for (xf_db_t db = XF_DB_EVENTS; db < XF_DB_COUNT; db++)
        if (db != XF_DB_LINKS)
            assert_int_equal (info.entries[db], 0);
    assert_string_equal (info.office, "411324");
    assert_true (info.bytes > 0);
    assert_int_equal (info.bytes, (uint64_t) file_size (path));
    assert_true (info.bytes <= used);             /* "about what a copy writes, at most" */

    /* once the copy ended another may begin; it sees everything */
    assert_int_equal (xf_store_copy_begin (x->store, &err), XF_OK);
    copy_to (x->store, again);
    xf_store_copy_end (x->store);
    assert_int_equal (xf_store_file_check (again, &info, &err), XF_OK);
    assert_int_equal (info.entries[XF_DB_CASES], 135);
    assert_int_equal (info.entries[XF_DB_DUE], 1);
    assert_string_equal (info.office, "999999");

    /* the copy is a store: installed as data.mdb of a directory, it opens with its data */
    char dir[4200], data[4300];
    snprintf (dir, sizeof dir, "%s/restored", x->dir);
    assert_int_equal (mkdir (dir, 0700), 0);
    snprintf (data, sizeof data, "%s/data.mdb", dir);
    assert_int_equal (rename (path, data), 0);
    xf_store_t *r = xf_store_open (dir, NULL, &err);
    if (!r)
        fail_msg ("open the copy: %s", err.msg);
    assert_int_equal (count (r, XF_DB_CASES), 110);
    assert_string_equal (get (r, XF_DB_META, "office"), "411324");
    assert_int_equal (case_number (r, "411324-2026-000109"), 109);
    assert_int_equal (case_number (r, "411324-2026-000110"), -1);
    xf_store_close (&r);
}

/* A store that never claimed an office, and a long office claim. */
static void test_copy_office_claim (void **state)
{
    fx_t *x = *state;
    xf_err_t err = {0};
    char path[4200];
    xf_store_file_info_t info;
    backup_path (x, "none.mdb", path, sizeof path);
    assert_int_equal (xf_store_copy_begin (x->store, &err), XF_OK);
    copy_to (x->store, path);
    xf_store_copy_end (x->store);
    memset (&info, 0xa5, sizeof info);
    assert_int_equal (xf_store_file_check (path, &info, &err), XF_OK);
    assert_string_equal (info.office, "");
    assert_int_equal (info.entries[XF_DB_META], 1);
    assert_int_equal (info.entries[XF_DB_CASES], 0);
    assert_true (info.bytes > 0);

    put (x->store, XF_DB_META, "office", "41132400000000000000");   /* longer than the field */
    backup_path (x, "long.mdb", path, sizeof path);
    assert_int_equal (xf_store_copy_begin (x->store, &err), XF_OK);
    copy_to (x->store, path);
    xf_store_copy_end (x->store);
    assert_int_equal (xf_store_file_check (path, &info, &err), XF_OK);
    assert_int_equal (strlen (info.office), sizeof info.office - 1);
    assert_memory_equal (info.office, "41132400000000000000", sizeof info.office - 1);
}

/* copy_begin makes room first when the map is more than half used: it cannot move while the
 * copy runs, and a write that needs more is refused until copy_end (the store is not broken). */
static void test_copy_grows_map_first (void **state)
{
    fx_t *x = *state;
    xf_err_t err = {0};
    x->store = open_small (x, 0);
    size_t map = xf_store_map_size (x->store);
    int n = 0;
    while (xf_store_used_bytes (x->store) * 2 <= map) {
        put_cases (x->store, n, 4);
        n += 4;
        map = xf_store_map_size (x->store);
    }
    assert_int_equal (xf_store_copy_begin (x->store, &err), XF_OK);
    assert_true (xf_store_map_size (x->store) > map);
    size_t during = xf_store_map_size (x->store);

    put_cases (x->store, n, 2);                /* what fits is written */
    n += 2;
    err = (xf_err_t) {0};
    cases_t big = {100000, 2000};              /* 800 KB: more than the map */
    assert_refused (xf_store_write (x->store, do_put_cases, &big, &err), &err, XF_ESTATE,
                    "backup");
    assert_non_null (strstr (err.msg, x->dir));
    assert_int_equal (xf_store_map_size (x->store), during);
    assert_null (xf_store_failed (x->store));
    assert_int_equal (count (x->store, XF_DB_CASES), (size_t) n);

    char path[4200];
    backup_path (x, "backup.mdb", path, sizeof path);
    copy_to (x->store, path);
    xf_store_copy_end (x->store);
    err = (xf_err_t) {0};
    assert_int_equal (xf_store_write (x->store, do_put_cases, &big, &err), XF_OK);
    assert_true (xf_store_map_size (x->store) > during);
    assert_int_equal (count (x->store, XF_DB_CASES), (size_t) n + 2000);
    xf_store_file_info_t info;
    assert_int_equal (xf_store_file_check (path, &info, &err), XF_OK);
    assert_int_equal (info.entries[XF_DB_CASES], (size_t) n);
}

/* copy_fd in another thread (the daemon's way): writes go on while the copy is under way, and
 * the copy holds the store as it was when it began. */
typedef struct {
    xf_store_t *store;
    int fd;
    int rc;
    xf_err_t err;
} copier_t;

static void *copier (void *arg)
{
    copier_t *c = arg;
    c->rc = xf_store_copy_fd (c->store, c->fd, &c->err);
    close (c->fd);
    return NULL;
}

static void test_copy_in_another_thread (void **state)
{
    fx_t *x = *state;
    xf_err_t err = {0};
    put (x->store, XF_DB_META, "office", "411300");
    put_cases (x->store, 0, 300);                 /* more than a pipe holds */
    int p[2];
    assert_int_equal (pipe (p), 0);
    assert_int_equal (xf_store_copy_begin (x->store, &err), XF_OK);
    copier_t c = {.store = x->store, .fd = p[1]};
    pthread_t t;
    assert_int_equal (pthread_create (&t, NULL, copier, &c), 0);

    /* the first bytes arrived: the copy began (its snapshot is taken) and now waits for us */
    static char buf[1 << 16];
    ssize_t got = 0;
    while (got < 4096) {
        ssize_t r = read (p[0], buf + got, sizeof buf - (size_t) got);
        assert_true (r > 0);
        got += r;
    }
    put_cases (x->store, 300, 50);
    put (x->store, XF_DB_META, "office", "999999");
    assert_refused (xf_store_copy_begin (x->store, &err), &err, XF_ESTATE, "already");

    char path[4200];
    backup_path (x, "backup.mdb", path, sizeof path);
    FILE *fp = fopen (path, "wb");
    assert_non_null (fp);
    assert_int_equal (fwrite (buf, 1, (size_t) got, fp), (size_t) got);
    ssize_t r;
    while ((r = read (p[0], buf, sizeof buf)) > 0)
        assert_int_equal (fwrite (buf, 1, (size_t) r, fp), (size_t) r);
    assert_int_equal (r, 0);
    assert_int_equal (fclose (fp), 0);
    close (p[0]);
    assert_int_equal (pthread_join (t, NULL), 0);
    if (c.rc != XF_OK)
        fail_msg ("copy: %s", c.err.msg);
    xf_store_copy_end (x->store);

    xf_store_file_info_t info;
    assert_int_equal (xf_store_file_check (path, &info, &err), XF_OK);
    assert_int_equal (info.entries[XF_DB_CASES], 300);
    assert_string_equal (info.office, "411300");
    assert_int_equal (count (x->store, XF_DB_CASES), 350);
}

/* The reader of the copy went away (a closed pipe): the copy fails, the store goes on. */
static void test_copy_reader_gone (void **state)
{
    fx_t *x = *state;
    xf_err_t err = {0};
    put_cases (x->store, 0, 300);
    int p[2];
    assert_int_equal (pipe (p), 0);
    close (p[0]);
    void (*old) (int) = signal (SIGPIPE, SIG_IGN);
    assert_int_equal (xf_store_copy_begin (x->store, &err), XF_OK);
    int rc = xf_store_copy_fd (x->store, p[1], &err);
    xf_store_copy_end (x->store);
    signal (SIGPIPE, old);
    close (p[1]);
    assert_refused (rc, &err, XF_EIO, x->dir);
    put_cases (x->store, 300, 1);
    assert_int_equal (count (x->store, XF_DB_CASES), 301);
}

/* Whatever is not a whole copy of a store is refused, naming the file. */
static void test_file_check_refuses (void **state)
{
    fx_t *x = *state;
    xf_err_t err = {0};
    xf_store_file_info_t info;
    char path[4200];

    /* garbage, an empty file, no file */
    backup_path (x, "garbage.mdb", path, sizeof path);
    FILE *fp = fopen (path, "wb");
    assert_non_null (fp);
    uint32_t r = 0x9e3779b9u;
    for (int i = 0; i < 3 * 4096 + 17; i++) {
        r = r * 1664525u + 1013904223u;
        fputc ((int) (r >> 24), fp);
    }
    fclose (fp);
    memset (&info, 0xa5, sizeof info);
    /* the return value is XF_ESTORE's only since the fix: test_file_check_returns_estore */
    assert_int_not_equal (xf_store_file_check (path, &info, &err), XF_OK);
    assert_refused (err.code, &err, XF_ESTORE, path);
    assert_non_null (strstr (err.msg, "not an LMDB file"));
    assert_int_equal (info.bytes, 0);
    assert_string_equal (info.office, "");
    assert_int_equal (file_size (path), 3 * 4096 + 17);   /* left as it was */

    backup_path (x, "empty.mdb", path, sizeof path);
    fp = fopen (path, "wb");
    assert_non_null (fp);
    fclose (fp);
    err = (xf_err_t) {0};
    assert_refused (xf_store_file_check (path, &info, &err), &err, XF_ESTORE, path);

    backup_path (x, "missing.mdb", path, sizeof path);
    err = (xf_err_t) {0};
    assert_refused (xf_store_file_check (path, &info, &err), &err, XF_ESTORE, path);

    /* a copy cut short (an interrupted transfer) */
    put (x->store, XF_DB_META, "office", "411324");
    put_cases (x->store, 0, 200);
    backup_path (x, "cut.mdb", path, sizeof path);
    assert_int_equal (xf_store_copy_begin (x->store, &err), XF_OK);
    copy_to (x->store, path);
    xf_store_copy_end (x->store);
    assert_int_equal (xf_store_file_check (path, &info, &err), XF_OK);   /* whole, it is fine */
    off_t size = file_size (path);
    assert_true (size > 8 * 4096);
    assert_int_equal (truncate (path, size / 2), 0);
    memset (&info, 0xa5, sizeof info);
    err = (xf_err_t) {0};
    assert_refused (xf_store_file_check (path, &info, &err), &err, XF_ESTORE, path);
    assert_non_null (strstr (err.msg, "cut short"));
    assert_int_equal (info.bytes, 0);
    assert_string_equal (info.office, "");
    /* cut by a single byte */
    backup_path (x, "cut1.mdb", path, sizeof path);
    assert_int_equal (xf_store_copy_begin (x->store, &err), XF_OK);
    copy_to (x->store, path);
    xf_store_copy_end (x->store);
    assert_int_equal (truncate (path, file_size (path) - 1), 0);
    err = (xf_err_t) {0};
    assert_refused (xf_store_file_check (path, &info, &err), &err, XF_ESTORE, path);
    assert_non_null (strstr (err.msg, "cut short"));

    /* an LMDB file that is not an xfsync store */
    backup_path (x, "other.mdb", path, sizeof path);
    MDB_env *env;
    MDB_txn *txn;
    MDB_dbi dbi;
    MDB_val k = {3, (void *) "key"}, v = {5, (void *) "value"};
    assert_int_equal (mdb_env_create (&env), 0);
    assert_int_equal (mdb_env_set_maxdbs (env, 4), 0);
    assert_int_equal (mdb_env_open (env, path, MDB_NOSUBDIR, 0600), 0);
    assert_int_equal (mdb_txn_begin (env, NULL, 0, &txn), 0);
    assert_int_equal (mdb_dbi_open (txn, "meta", MDB_CREATE, &dbi), 0);
    assert_int_equal (mdb_put (txn, dbi, &k, &v, 0), 0);
    assert_int_equal (mdb_txn_commit (txn), 0);
    mdb_env_close (env);
    err = (xf_err_t) {0};
    assert_refused (xf_store_file_check (path, &info, &err), &err, XF_ESTORE, path);
    assert_non_null (strstr (err.msg, "not an xfsync store"));
    assert_non_null (strstr (err.msg, "cases"));   /* the first database it lacks */
}

/* When LMDB cannot open the file, the function returns XF_ESTORE as err says, not LMDB's own
 * negative code (MDB_INVALID, -30793, for a file that is not LMDB). */
static void test_file_check_returns_estore (void **state)
{
    fx_t *x = *state;
    xf_err_t err = {0};
    xf_store_file_info_t info;
    char path[4200];
    backup_path (x, "garbage.mdb", path, sizeof path);
    FILE *fp = fopen (path, "wb");
    assert_non_null (fp);
    for (int i = 0; i < 3 * 4096; i++)
        fputc ((i * 131 + 7) & 0xff, fp);
    fclose (fp);
    assert_refused (xf_store_file_check (path, &info, &err), &err, XF_ESTORE, path);
}

/* ---------------------------------------------------------------- big-endian helpers */

static void test_be_helpers (void **state)
{
    (void) state;
    uint8_t b[8];
    xf_be32_put (b, 0x01020304u);
    assert_memory_equal (b, "\x01\x02\x03\x04", 4);
    assert_int_equal (xf_be32_get (b), 0x01020304u);
    xf_be32_put (b, 0xffffffffu);
    assert_int_equal (xf_be32_get (b), 0xffffffffu);
    xf_be32_put (b, 0x80000000u);
    assert_memory_equal (b, "\x80\x00\x00\x00", 4);
    assert_int_equal (xf_be32_get (b), 0x80000000u);

    xf_be64_put (b, 0x0102030405060708ull);
    assert_memory_equal (b, "\x01\x02\x03\x04\x05\x06\x07\x08", 8);
    assert_int_equal (xf_be64_get (b), 0x0102030405060708ull);
    xf_be64_put (b, UINT64_MAX);
    assert_int_equal (xf_be64_get (b), UINT64_MAX);
    xf_be64_put (b, 0x8000000000000001ull);
    assert_memory_equal (b, "\x80\x00\x00\x00\x00\x00\x00\x01", 8);
    assert_int_equal (xf_be64_get (b), 0x8000000000000001ull);

    /* byte order is numeric order, so keys sort */
    static const uint64_t v[] = {0, 1, 255, 256, 65535, 65536, 0xfffffffful, 0x100000000ull,
                                 0x7fffffffffffffffull, 0x8000000000000000ull, UINT64_MAX};
    for (size_t i = 0; i + 1 < sizeof v / sizeof v[0]; i++) {
        uint8_t a[8], c[8];
        xf_be64_put (a, v[i]);
        xf_be64_put (c, v[i + 1]);
        assert_true (memcmp (a, c, 8) < 0);
        assert_int_equal (xf_be64_get (a), v[i]);
        if (v[i + 1] <= 0xffffffffu) {
            xf_be32_put (a, (uint32_t) v[i]);
            xf_be32_put (c, (uint32_t) v[i + 1]);
            assert_true (memcmp (a, c, 4) < 0);
        }
    }
}

int main (void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown (test_open_creates_store, setup_dir, teardown),
        cmocka_unit_test_setup_teardown (test_put_get, setup_store, teardown),
        cmocka_unit_test_setup_teardown (test_insert, setup_store, teardown),
        cmocka_unit_test_setup_teardown (test_put_in_any_order, setup_store, teardown),
        cmocka_unit_test_setup_teardown (test_del, setup_store, teardown),
        cmocka_unit_test_setup_teardown (test_scan_forward, setup_store, teardown),
        cmocka_unit_test_setup_teardown (test_scan_prefix, setup_store, teardown),
        cmocka_unit_test_setup_teardown (test_store_put, setup_store, teardown),
        cmocka_unit_test_setup_teardown (test_scan_back, setup_store, teardown),
        cmocka_unit_test_setup_teardown (test_scan_failure_aborts_write, setup_store, teardown),
        cmocka_unit_test_setup_teardown (test_read_transaction_is_read_only, setup_store,
                                         teardown),
        cmocka_unit_test_setup_teardown (test_meta_u64, setup_store, teardown),
        cmocka_unit_test_setup_teardown (test_callback_error_aborts_everything, setup_store,
                                         teardown),
        cmocka_unit_test_setup_teardown (test_reopen, setup_store, teardown),
        cmocka_unit_test_setup_teardown (test_newer_schema_refused, setup_store, teardown),
        cmocka_unit_test_setup_teardown (test_not_a_directory, setup_dir, teardown),
        cmocka_unit_test_setup_teardown (test_foreign_data_file, setup_dir, teardown),
        cmocka_unit_test_setup_teardown (test_truncated_data_file, setup_dir, teardown),
        cmocka_unit_test_setup_teardown (test_map_grows_in_one_transaction, setup_dir, teardown),
        cmocka_unit_test_setup_teardown (test_map_grows_over_many_transactions, setup_dir,
                                         teardown),
        cmocka_unit_test_setup_teardown (test_store_full_one_transaction, setup_dir, teardown),
        cmocka_unit_test_setup_teardown (test_store_full_many_transactions, setup_dir, teardown),
        cmocka_unit_test_setup_teardown (test_copy_while_writing, setup_store, teardown),
        cmocka_unit_test_setup_teardown (test_copy_office_claim, setup_store, teardown),
        cmocka_unit_test_setup_teardown (test_copy_grows_map_first, setup_dir, teardown),
        cmocka_unit_test_setup_teardown (test_copy_in_another_thread, setup_store, teardown),
        cmocka_unit_test_setup_teardown (test_copy_reader_gone, setup_store, teardown),
        cmocka_unit_test_setup_teardown (test_file_check_refuses, setup_store, teardown),
        cmocka_unit_test_setup_teardown (test_file_check_returns_estore, setup_dir, teardown),
        cmocka_unit_test (test_be_helpers),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
