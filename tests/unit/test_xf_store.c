/* test_xf_store.c — the LMDB store: get/put/insert/del, ordered scans, meta counters, all or
 * nothing transactions, the schema check, refusal of foreign files, and map growth. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
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
        cmocka_unit_test (test_be_helpers),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
