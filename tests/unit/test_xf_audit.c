/* test_xf_audit.c — the hash-chained audit log: the exact record text and hash in both
 * profiles, listing with filters, each kind of tampering found at the right seq, and bad
 * entries refused with nothing written. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "xf_audit.h"
#include "xf_test.h"

#define T0 INT64_C (1795311000)   /* 2026-11-22T01:30:00Z */
#define CASE_A "411324-2026-000001"
#define CASE_B "411324-2026-000002"

static const xf_audit_entry_t entries[] = {
    {T0, "411324", 1001, "clerk", "case.register", CASE_A, "来信登记"},
    {T0 + 60, "411324", 1001, "clerk", "case.accept", CASE_A, NULL},
    {T0 + 3600, "411324", -1, "node", "apply escalate", CASE_B, "from 411300"},
    {T0 + 86400, "411324", 1002, "leader", "case.assign", CASE_A, "第一行\n第二行\t完"},
    {T0 + 90000, "411324", 0, "admin", "cert.issue", NULL, ""},
    {T0 + 100000, "411324", 1001, "clerk", "case.register", CASE_B, "\"quoted\" \\ text"},
};
#define N_ENTRIES (sizeof entries / sizeof entries[0])

static const xf_profile_t profiles[] = {XF_PROFILE_STANDARD, XF_PROFILE_NATIONAL};

/* ---------------------------------------------------------------- appending and reading */

typedef struct {
    xf_profile_t p;
    const xf_audit_entry_t *e;
    size_t n;
    uint64_t seqs[N_ENTRIES];
} append_t;

static int do_append (xf_txn_t *txn, void *arg, xf_err_t *err)
{
    append_t *a = arg;
    for (size_t i = 0; i < a->n; i++) {
        int rc = xf_audit_append (txn, a->p, &a->e[i], &a->seqs[i], err);
        if (rc != XF_OK)
            return rc;
    }
    return XF_OK;
}

/* Appends entries [from, to), the first three in one transaction, then one per transaction:
 * the head must carry over both within and between transactions. */
static int append_range (xf_store_t *s, xf_profile_t p, size_t from, size_t to, xf_err_t *err)
{
    while (from < to) {
        size_t n = from == 0 && to >= 3 ? 3 : 1;
        append_t a = {.p = p, .e = &entries[from], .n = n};
        int rc = xf_store_write (s, do_append, &a, err);
        if (rc != XF_OK)
            return rc;
        for (size_t i = 0; i < n; i++)
            if (a.seqs[i] != from + i + 1)
                return xf_err_set (err, XF_ESTATE, "entry %zu got seq %llu", from + i,
                                   (unsigned long long) a.seqs[i]);
        from += n;
    }
    return XF_OK;
}

typedef struct {
    xf_profile_t p;
    xf_audit_report_t r;
} verify_t;

static int do_verify (xf_txn_t *txn, void *arg, xf_err_t *err)
{
    verify_t *v = arg;
    return xf_audit_verify (txn, v->p, &v->r, err);
}

static xf_audit_report_t verify (xf_store_t *s, xf_profile_t p)
{
    xf_err_t err = {0};
    verify_t v = {.p = p};
    memset (&v.r, 0xaa, sizeof v.r);   /* verify must fill every field */
    if (xf_store_read (s, do_verify, &v, &err) != XF_OK)
        fail_msg ("verify: %s", err.msg);
    return v.r;
}

/* Raw access to the store, for reading records back and for tampering. */
typedef enum { KV_GET, KV_PUT, KV_DEL } kv_op_t;

typedef struct {
    kv_op_t op;
    xf_db_t db;
    uint8_t key[16];
    size_t klen;
    uint8_t val[8192];
    size_t vlen;
    int rc;
} kv_t;

static int do_kv (xf_txn_t *txn, void *arg, xf_err_t *err)
{
    kv_t *k = arg;
    const void *v = NULL;
    switch (k->op) {
    case KV_GET:
        k->rc = xf_txn_get (txn, k->db, k->key, k->klen, &v, &k->vlen, err);
        if (k->rc == XF_OK) {
            assert_true (k->vlen <= sizeof k->val);
            memcpy (k->val, v, k->vlen);
        }
        return XF_OK;
    case KV_PUT:
        return k->rc = xf_txn_put (txn, k->db, k->key, k->klen, k->val, k->vlen, err);
    case KV_DEL:
        return k->rc = xf_txn_del (txn, k->db, k->key, k->klen, err);
    }
    return XF_EINVAL;
}

static void kv_run (xf_store_t *s, kv_t *k)
{
    xf_err_t err = {0};
    int rc = k->op == KV_GET ? xf_store_read (s, do_kv, k, &err) : xf_store_write (s, do_kv, k, &err);
    if (rc != XF_OK)
        fail_msg ("store: %s", err.msg);
}

static kv_t record_kv (kv_op_t op, uint64_t seq)
{
    kv_t k = {.op = op, .db = XF_DB_AUDIT, .klen = 8};
    xf_be64_put (k.key, seq);
    return k;
}

static kv_t head_kv (kv_op_t op)
{
    kv_t k = {.op = op, .db = XF_DB_META, .klen = strlen (XF_AUDIT_HEAD_KEY)};
    memcpy (k.key, XF_AUDIT_HEAD_KEY, k.klen);
    return k;
}

/* The stored value of record seq (hash || text); fails the test when absent. */
static kv_t get_record (xf_store_t *s, uint64_t seq)
{
    kv_t k = record_kv (KV_GET, seq);
    kv_run (s, &k);
    if (k.rc != XF_OK)
        fail_msg ("record %llu is absent", (unsigned long long) seq);
    return k;
}

static void put_record (xf_store_t *s, uint64_t seq, const uint8_t *val, size_t len)
{
    kv_t k = record_kv (KV_PUT, seq);
    assert_true (len <= sizeof k.val);
    memcpy (k.val, val, len);
    k.vlen = len;
    kv_run (s, &k);
}

static void del_key (xf_store_t *s, kv_t k)
{
    k.op = KV_DEL;
    kv_run (s, &k);
    assert_int_equal (k.rc, XF_OK);
}

static size_t count_records (xf_store_t *s)
{
    size_t n = 0;
    for (uint64_t seq = 0; seq < 32; seq++) {
        kv_t k = record_kv (KV_GET, seq);
        kv_run (s, &k);
        n += k.rc == XF_OK;
    }
    return n;
}

/* SHA-256 or SM3 of parts, straight from OpenSSL: an independent check of xf_audit's hash. */
static void digest (xf_profile_t p, const void *a, size_t alen, const void *b, size_t blen,
                    uint8_t out[XF_HASH_LEN])
{
    EVP_MD_CTX *ctx = EVP_MD_CTX_new ();
    unsigned len = 0;
    assert_non_null (ctx);
    assert_int_equal (EVP_DigestInit_ex (ctx, p == XF_PROFILE_STANDARD ? EVP_sha256 () : EVP_sm3 (),
                                         NULL), 1);
    assert_int_equal (EVP_DigestUpdate (ctx, a, alen), 1);
    assert_int_equal (EVP_DigestUpdate (ctx, b, blen), 1);
    assert_int_equal (EVP_DigestFinal_ex (ctx, out, &len), 1);
    assert_int_equal (len, XF_HASH_LEN);
    EVP_MD_CTX_free (ctx);
}

static void hex (const uint8_t *v, size_t n, char *out)
{
    for (size_t i = 0; i < n; i++)
        sprintf (out + 2 * i, "%02x", v[i]);
}

/* Rewrites record seq's text and gives it the right hash for its prev, as someone who knows
 * the algorithm would. */
static void rewrite_record (xf_store_t *s, xf_profile_t p, uint64_t seq, const char *text)
{
    kv_t k = get_record (s, seq);
    json_error_t jerr;
    json_t *o = json_loadb ((const char *) k.val + XF_HASH_LEN, k.vlen - XF_HASH_LEN, 0, &jerr);
    assert_non_null (o);
    uint8_t prev[XF_HASH_LEN], val[4096];
    const char *prev_hex = json_string_value (json_object_get (o, "prev"));
    assert_non_null (prev_hex);
    for (size_t i = 0; i < XF_HASH_LEN; i++)
        sscanf (prev_hex + 2 * i, "%2hhx", &prev[i]);
    json_decref (o);
    digest (p, prev, sizeof prev, text, strlen (text), val);
    memcpy (val + XF_HASH_LEN, text, strlen (text));
    put_record (s, seq, val, XF_HASH_LEN + strlen (text));
}

/* ---------------------------------------------------------------- fixtures */

static int setup_store (void **state)
{
    return xf_test_store_setup (state, "test_xf_audit");
}

static int teardown (void **state)
{
    return xf_test_store_teardown (state);
}

/* A store holding the six entries, chained under the standard profile. */
static int setup_chain (void **state)
{
    xf_err_t err = {0};
    if (setup_store (state) != 0)
        return -1;
    xf_test_store_t *x = *state;
    if (append_range (x->store, XF_PROFILE_STANDARD, 0, N_ENTRIES, &err) != XF_OK) {
        fprintf (stderr, "append: %s\n", err.msg);
        teardown (state);
        return -1;
    }
    return 0;
}

static void assert_holds (xf_store_t *s, xf_profile_t p, uint64_t n)
{
    xf_audit_report_t r = verify (s, p);
    if (r.first_bad != 0)
        fail_msg ("chain broken at %llu: %s", (unsigned long long) r.first_bad, r.reason);
    assert_string_equal (r.reason, "");
    assert_int_equal (r.records, n);
    assert_int_equal (r.last_seq, n);
    if (n) {
        kv_t k = get_record (s, n);
        assert_memory_equal (r.head, k.val, XF_HASH_LEN);
    }
}

/* Verify finds the first break at seq bad, with phrase in the reason, after good records. */
static void assert_broken (xf_store_t *s, xf_profile_t p, uint64_t bad, uint64_t good,
                           const char *phrase)
{
    xf_audit_report_t r = verify (s, p);
    if (r.first_bad != bad || !strstr (r.reason, phrase))
        fail_msg ("expected a break at %llu (\"%s\"), got %llu: \"%s\"", (unsigned long long) bad,
                  phrase, (unsigned long long) r.first_bad, r.reason);
    assert_int_equal (r.records, good);
    assert_int_equal (r.last_seq, good);
    if (good) {
        kv_t k = get_record (s, good);
        assert_memory_equal (r.head, k.val, XF_HASH_LEN);
    }
}

/* ---------------------------------------------------------------- appending */

static void test_empty_log_holds (void **state)
{
    xf_test_store_t *x = *state;
    xf_audit_report_t r = verify (x->store, XF_PROFILE_STANDARD);
    static const uint8_t zeros[XF_HASH_LEN];
    assert_int_equal (r.first_bad, 0);
    assert_int_equal (r.records, 0);
    assert_int_equal (r.last_seq, 0);
    assert_memory_equal (r.head, zeros, XF_HASH_LEN);
    assert_string_equal (r.reason, "");
}

/* The first record's exact text and hash, the links between records, and the head, under
 * each profile, checked against OpenSSL directly. */
static void test_append_and_verify (void **state)
{
    (void) state;
    static const char first[] =
        "{\"action\":\"case.register\",\"at\":\"2026-11-22T09:30:00+08:00\",\"case\":\"" CASE_A "\","
        "\"detail\":\"来信登记\",\"office\":\"411324\",\"prev\":\""
        "0000000000000000000000000000000000000000000000000000000000000000\",\"role\":\"clerk\","
        "\"seq\":1,\"time\":1795311000,\"uid\":1001}";
    uint8_t heads[2][XF_HASH_LEN];
    for (size_t i = 0; i < 2; i++) {
        void *st = NULL;
        xf_err_t err = {0};
        assert_int_equal (setup_store (&st), 0);
        xf_test_store_t *x = st;
        if (append_range (x->store, profiles[i], 0, N_ENTRIES, &err) != XF_OK)
            fail_msg ("append: %s", err.msg);
        assert_holds (x->store, profiles[i], N_ENTRIES);

        kv_t k = get_record (x->store, 1);
        uint8_t want[XF_HASH_LEN], zeros[XF_HASH_LEN] = {0};
        assert_int_equal (k.vlen, XF_HASH_LEN + strlen (first));
        assert_memory_equal (k.val + XF_HASH_LEN, first, strlen (first));
        digest (profiles[i], zeros, sizeof zeros, first, strlen (first), want);
        assert_memory_equal (k.val, want, XF_HASH_LEN);

        for (uint64_t seq = 2; seq <= N_ENTRIES; seq++) {   /* each names the one before */
            kv_t prev = get_record (x->store, seq - 1), cur = get_record (x->store, seq);
            char prev_hex[2 * XF_HASH_LEN + 1], field[100];
            hex (prev.val, XF_HASH_LEN, prev_hex);
            snprintf (field, sizeof field, "\"prev\":\"%s\"", prev_hex);
            cur.val[cur.vlen] = 0;
            assert_non_null (strstr ((char *) cur.val + XF_HASH_LEN, field));
            digest (profiles[i], prev.val, XF_HASH_LEN, cur.val + XF_HASH_LEN,
                    cur.vlen - XF_HASH_LEN, want);
            assert_memory_equal (cur.val, want, XF_HASH_LEN);
        }
        kv_t h = head_kv (KV_GET), last = get_record (x->store, N_ENTRIES);
        kv_run (x->store, &h);
        assert_int_equal (h.rc, XF_OK);
        assert_int_equal (h.vlen, 8 + XF_HASH_LEN);
        assert_int_equal (xf_be64_get (h.val), N_ENTRIES);
        assert_memory_equal (h.val + 8, last.val, XF_HASH_LEN);
        memcpy (heads[i], last.val, XF_HASH_LEN);
        teardown (&st);
    }
    assert_memory_not_equal (heads[0], heads[1], XF_HASH_LEN);
}

/* NULL and "" mean none: null in the record; a NULL role is "". */
static void test_optional_fields (void **state)
{
    xf_test_store_t *x = *state;
    xf_err_t err = {0};
    xf_audit_entry_t e = {T0, "411300", -1, NULL, "scan.due", "", NULL};
    append_t a = {.p = XF_PROFILE_NATIONAL, .e = &e, .n = 1};
    assert_int_equal (xf_store_write (x->store, do_append, &a, &err), XF_OK);
    assert_int_equal (a.seqs[0], 1);
    kv_t k = get_record (x->store, 1);
    k.val[k.vlen] = 0;
    const char *text = (const char *) k.val + XF_HASH_LEN;
    assert_non_null (strstr (text, "\"case\":null"));
    assert_non_null (strstr (text, "\"detail\":null"));
    assert_non_null (strstr (text, "\"role\":\"\""));
    assert_non_null (strstr (text, "\"uid\":-1"));
    assert_holds (x->store, XF_PROFILE_NATIONAL, 1);
    e.detail = "x";
    assert_int_equal (xf_store_write (x->store, do_append, &a, &err), XF_OK);
    assert_int_equal (a.seqs[0], 2);
    assert_holds (x->store, XF_PROFILE_NATIONAL, 2);
}

/* The record text is written without jansson; it must be, byte for byte, what jansson's
 * json_dumps (JSON_COMPACT | JSON_SORT_KEYS) writes for the same object (the form of every
 * record written before), with the escapes at their longest: a detail of 2,000 quotes. */
static void test_text_as_jansson_writes (void **state)
{
    xf_test_store_t *x = *state;
    xf_err_t err = {0};
    static char quotes[XF_AUDIT_DETAIL_MAX + 1], slashes[XF_AUDIT_CASE_MAX + 1];
    memset (quotes, '"', XF_AUDIT_DETAIL_MAX);
    memset (slashes, '\\', XF_AUDIT_CASE_MAX);
    const xf_audit_entry_t more[] = {
        {T0, "411300", INT64_C (4294967295), "viewer", "a/b\\c", slashes, quotes},
        {0, "411300", -1, "node", "x", NULL, "\r\n\t/\u2028 é 中"},
    };
    append_t a = {.p = XF_PROFILE_STANDARD, .e = entries, .n = N_ENTRIES};
    assert_int_equal (xf_store_write (x->store, do_append, &a, &err), XF_OK);
    a = (append_t) {.p = XF_PROFILE_STANDARD, .e = more, .n = 2};
    if (xf_store_write (x->store, do_append, &a, &err) != XF_OK)
        fail_msg ("append: %s", err.msg);
    for (uint64_t seq = 1; seq <= N_ENTRIES + 2; seq++) {
        kv_t k = get_record (x->store, seq);
        const char *text = (const char *) k.val + XF_HASH_LEN;
        size_t len = k.vlen - XF_HASH_LEN;
        json_error_t jerr;
        json_t *o = json_loadb (text, len, 0, &jerr);
        if (!o)
            fail_msg ("record %llu is not JSON: %s", (unsigned long long) seq, jerr.text);
        char *again = json_dumps (o, JSON_COMPACT | JSON_SORT_KEYS);
        assert_non_null (again);
        if (strlen (again) != len || memcmp (again, text, len) != 0)
            fail_msg ("record %llu: %.*s\njansson: %s", (unsigned long long) seq, (int) len,
                      text, again);
        free (again);
        json_decref (o);
    }
    assert_holds (x->store, XF_PROFILE_STANDARD, N_ENTRIES + 2);
}

static int do_append_no_seq (xf_txn_t *txn, void *arg, xf_err_t *err)
{
    return xf_audit_append (txn, XF_PROFILE_STANDARD, arg, NULL, err);
}

static void test_seq_may_be_null (void **state)
{
    xf_test_store_t *x = *state;
    xf_err_t err = {0};
    assert_int_equal (xf_store_write (x->store, do_append_no_seq, (void *) &entries[0], &err), XF_OK);
    assert_int_equal (xf_store_write (x->store, do_append_no_seq, (void *) &entries[1], &err), XF_OK);
    assert_holds (x->store, XF_PROFILE_STANDARD, 2);
}

/* A chain in one profile does not hold in the other, and the reason says why. */
static void test_profile_mismatch (void **state)
{
    xf_test_store_t *x = *state;
    xf_err_t err = {0};
    assert_int_equal (append_range (x->store, XF_PROFILE_NATIONAL, 0, 3, &err), XF_OK);
    assert_holds (x->store, XF_PROFILE_NATIONAL, 3);
    assert_broken (x->store, XF_PROFILE_STANDARD, 1, 0, "other profile");
    assert_broken (x->store, XF_PROFILE_STANDARD, 1, 0, "national");

    /* a standard record after national ones breaks there, under either profile */
    assert_int_equal (append_range (x->store, XF_PROFILE_STANDARD, 3, 4, &err), XF_OK);
    assert_broken (x->store, XF_PROFILE_NATIONAL, 4, 3, "other profile");
    assert_broken (x->store, XF_PROFILE_STANDARD, 1, 0, "other profile");
}

/* ---------------------------------------------------------------- refusals */

static char long_detail[XF_AUDIT_DETAIL_MAX + 2];
static char max_detail[XF_AUDIT_DETAIL_MAX + 1];
static char long_office[XF_AUDIT_OFFICE_MAX + 2];
static char long_action[XF_AUDIT_ACTION_MAX + 2];
static char long_case[XF_AUDIT_CASE_MAX + 2];

static void fill (char *s, size_t n, char c)
{
    memset (s, c, n);
    s[n] = 0;
}

typedef struct {
    const xf_audit_entry_t *e;
    int rc;
    xf_err_t err;
    size_t before, after;      /* records in the transaction around the refused append */
    uint8_t head_before[64], head_after[64];
    size_t head_len_before, head_len_after;
} refuse_t;

static void snapshot (xf_txn_t *txn, size_t *n, uint8_t *head, size_t *head_len)
{
    const void *v = NULL;
    xf_err_t err = {0};
    assert_int_equal (xf_txn_count (txn, XF_DB_AUDIT, n, &err), XF_OK);
    assert_int_equal (xf_txn_get (txn, XF_DB_META, XF_AUDIT_HEAD_KEY, strlen (XF_AUDIT_HEAD_KEY),
                                  &v, head_len, &err), XF_OK);
    assert_true (*head_len <= 64);
    memcpy (head, v, *head_len);
}

/* Tries the append, then commits whatever is left: a half-written record would persist. */
static int do_refused (xf_txn_t *txn, void *arg, xf_err_t *err)
{
    refuse_t *r = arg;
    uint64_t seq = 99;
    (void) err;
    snapshot (txn, &r->before, r->head_before, &r->head_len_before);
    r->rc = xf_audit_append (txn, XF_PROFILE_STANDARD, r->e, &seq, &r->err);
    snapshot (txn, &r->after, r->head_after, &r->head_len_after);
    if (r->rc != XF_OK)
        assert_int_equal (seq, 99);   /* *seq untouched */
    return XF_OK;
}

static void test_bad_entries_refused (void **state)
{
    xf_test_store_t *x = *state;
    fill (long_detail, XF_AUDIT_DETAIL_MAX + 1, 'd');
    fill (long_office, XF_AUDIT_OFFICE_MAX + 1, '4');
    fill (long_action, XF_AUDIT_ACTION_MAX + 1, 'a');
    fill (long_case, XF_AUDIT_CASE_MAX + 1, 'c');
    const struct {
        xf_audit_entry_t e;
        const char *phrase;
    } bad[] = {
        {{T0, NULL, 1, "clerk", "case.register", NULL, NULL}, "office is required"},
        {{T0, "", 1, "clerk", "case.register", NULL, NULL}, "office is required"},
        {{T0, long_office, 1, "clerk", "case.register", NULL, NULL}, "office is longer than 32"},
        {{T0, "4113\x01" "24", 1, "clerk", "case.register", NULL, NULL}, "office has a control"},
        {{T0, "411324", 1, "clerk", NULL, NULL, NULL}, "action is required"},
        {{T0, "411324", 1, "clerk", "", NULL, NULL}, "action is required"},
        {{T0, "411324", 1, "clerk", long_action, NULL, NULL}, "action is longer than 64"},
        {{T0, "411324", 1, "clerk", "case.register\nforged", NULL, NULL}, "action has a control"},
        {{T0, "411324", 1, "clerk", "case.register", long_case, NULL}, "case is longer than 64"},
        {{T0, "411324", 1, "clerk", "case.register", "411324\t1", NULL}, "case has a control"},
        {{T0, "411324", 1, "clerk", "case.register", NULL, long_detail}, "detail is longer than 2000"},
        {{T0, "411324", 1, "clerk", "case.register", NULL, "bad \xff byte"}, "detail is not valid UTF-8"},
        {{T0, "411324", 1, "clerk", "case.register", NULL, "cut \xe4\xb8"}, "detail is not valid UTF-8"},
        {{T0, "411324", 1, "clerk", "case.register", NULL, "bell \x07"}, "detail has a control"},
        {{T0, "411324", 1, "root", "case.register", NULL, NULL}, "role \"root\" is not one of"},
        {{T0, "411324", -2, "clerk", "case.register", NULL, NULL}, "uid -2"},
        {{-1, "411324", 1, "clerk", "case.register", NULL, NULL}, "time -1 is out of range"},
        {{INT64_C (253402272000), "411324", 1, "clerk", "case.register", NULL, NULL},
         "time 253402272000 is out of range"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        xf_err_t err = {0};
        refuse_t r = {.e = &bad[i].e};
        assert_int_equal (xf_store_write (x->store, do_refused, &r, &err), XF_OK);
        if (r.rc != XF_EINVAL || r.err.code != XF_EINVAL || !strstr (r.err.msg, bad[i].phrase))
            fail_msg ("entry %zu: got %d \"%s\", expected XF_EINVAL \"%s\"", i, r.rc, r.err.msg,
                      bad[i].phrase);
        assert_int_equal (r.after, r.before);
        assert_int_equal (r.head_len_after, r.head_len_before);
        assert_memory_equal (r.head_after, r.head_before, r.head_len_before);
    }
    refuse_t r = {.e = NULL};
    assert_int_equal (xf_store_write (x->store, do_refused, &r, NULL), XF_OK);
    assert_int_equal (r.rc, XF_EINVAL);
    assert_int_equal (count_records (x->store), N_ENTRIES);
    assert_holds (x->store, XF_PROFILE_STANDARD, N_ENTRIES);

    /* at the limits, and free text with newlines and Chinese, are accepted */
    fill (max_detail, XF_AUDIT_DETAIL_MAX, 'd');
    long_office[XF_AUDIT_OFFICE_MAX] = 0;
    long_action[XF_AUDIT_ACTION_MAX] = 0;
    long_case[XF_AUDIT_CASE_MAX] = 0;
    xf_audit_entry_t ok = {INT64_C (253402271999), long_office, INT32_MAX, "viewer", long_action,
                           long_case, max_detail};
    r = (refuse_t) {.e = &ok};
    assert_int_equal (xf_store_write (x->store, do_refused, &r, NULL), XF_OK);
    if (r.rc != XF_OK)
        fail_msg ("limits refused: %s", r.err.msg);
    assert_int_equal (r.after, r.before + 1);
    kv_t k = get_record (x->store, N_ENTRIES + 1);
    k.val[k.vlen] = 0;
    assert_non_null (strstr ((char *) k.val + XF_HASH_LEN, "\"at\":\"9999-12-31T23:59:59+08:00\""));
    assert_holds (x->store, XF_PROFILE_STANDARD, N_ENTRIES + 1);
}

/* The head in meta behind the log: appending would overwrite record 1, so it is refused. */
static void test_append_refused_when_head_behind (void **state)
{
    xf_test_store_t *x = *state;
    kv_t before = get_record (x->store, 1);
    del_key (x->store, head_kv (KV_DEL));
    xf_err_t err = {0};
    append_t a = {.p = XF_PROFILE_STANDARD, .e = entries, .n = 1};
    assert_int_equal (xf_store_write (x->store, do_append, &a, &err), XF_ESTATE);
    assert_non_null (strstr (err.msg, "record 1 already exists"));
    kv_t after = get_record (x->store, 1);
    assert_int_equal (after.vlen, before.vlen);
    assert_memory_equal (after.val, before.val, before.vlen);
    assert_broken (x->store, XF_PROFILE_STANDARD, N_ENTRIES, N_ENTRIES, "head in meta");

    /* a damaged head is a store error for append, and a finding for verify */
    kv_t h = head_kv (KV_PUT);
    h.vlen = 7;
    kv_run (x->store, &h);
    assert_int_equal (xf_store_write (x->store, do_append, &a, &err), XF_ESTORE);
    assert_non_null (strstr (err.msg, "damaged"));
    assert_broken (x->store, XF_PROFILE_STANDARD, N_ENTRIES, N_ENTRIES, "damaged");
}

/* ---------------------------------------------------------------- tampering */

static void test_tamper_text_byte (void **state)
{
    xf_test_store_t *x = *state;
    kv_t k = get_record (x->store, 3);
    char *uid = memmem (k.val + XF_HASH_LEN, k.vlen - XF_HASH_LEN, "\"uid\":-1", 8);
    assert_non_null (uid);
    uid[7] = '2';   /* the node's action now blamed on uid -2 */
    put_record (x->store, 3, k.val, k.vlen);
    assert_broken (x->store, XF_PROFILE_STANDARD, 3, 2, "its hash does not match its text");
}

static void test_tamper_stored_hash (void **state)
{
    xf_test_store_t *x = *state;
    kv_t k = get_record (x->store, 4);
    k.val[XF_HASH_LEN - 1] ^= 1;
    put_record (x->store, 4, k.val, k.vlen);
    assert_broken (x->store, XF_PROFILE_STANDARD, 4, 3, "its hash does not match its text");
}

/* Rewritten with a correct hash, the record holds by itself; the next one names it. */
static void test_tamper_rehashed (void **state)
{
    xf_test_store_t *x = *state;
    kv_t k = get_record (x->store, 3);
    k.val[k.vlen] = 0;
    char text[8192];
    snprintf (text, sizeof text, "%s", (char *) k.val + XF_HASH_LEN);
    char *p = strstr (text, "from 411300");
    assert_non_null (p);
    p[5] = '9';
    rewrite_record (x->store, XF_PROFILE_STANDARD, 3, text);
    assert_broken (x->store, XF_PROFILE_STANDARD, 4, 3, "its prev does not match record 3's hash");
}

static void test_delete_middle (void **state)
{
    xf_test_store_t *x = *state;
    del_key (x->store, record_kv (KV_DEL, 3));
    assert_broken (x->store, XF_PROFILE_STANDARD, 3, 2, "seq 3 is missing");

    /* appending afterwards does not hide the gap */
    xf_err_t err = {0};
    append_t a = {.p = XF_PROFILE_STANDARD, .e = entries, .n = 1};
    assert_int_equal (xf_store_write (x->store, do_append, &a, &err), XF_OK);
    assert_int_equal (a.seqs[0], N_ENTRIES + 1);
    assert_broken (x->store, XF_PROFILE_STANDARD, 3, 2, "seq 3 is missing");
}

static void test_delete_first (void **state)
{
    xf_test_store_t *x = *state;
    del_key (x->store, record_kv (KV_DEL, 1));
    assert_broken (x->store, XF_PROFILE_STANDARD, 1, 0, "seq 1 is missing");
}

static void swap (xf_store_t *s, uint64_t a, uint64_t b)
{
    kv_t ka = get_record (s, a), kb = get_record (s, b);
    put_record (s, a, kb.val, kb.vlen);
    put_record (s, b, ka.val, ka.vlen);
}

static void test_swap_records (void **state)
{
    xf_test_store_t *x = *state;
    swap (x->store, 2, 4);
    assert_broken (x->store, XF_PROFILE_STANDARD, 2, 1, "its text says seq 4");
    swap (x->store, 2, 4);
    assert_holds (x->store, XF_PROFILE_STANDARD, N_ENTRIES);
    swap (x->store, 5, 6);
    assert_broken (x->store, XF_PROFILE_STANDARD, 5, 4, "out of order");
}

/* Swapped and each text edited to its new seq, with correct hashes: the prev links break. */
static void test_swap_renumbered (void **state)
{
    xf_test_store_t *x = *state;
    kv_t k2 = get_record (x->store, 2), k3 = get_record (x->store, 3);
    char t2[8192], t3[8192];
    k2.val[k2.vlen] = 0;
    k3.val[k3.vlen] = 0;
    snprintf (t2, sizeof t2, "%s", (char *) k2.val + XF_HASH_LEN);
    snprintf (t3, sizeof t3, "%s", (char *) k3.val + XF_HASH_LEN);
    char *s2 = strstr (t2, "\"seq\":2"), *s3 = strstr (t3, "\"seq\":3");
    assert_non_null (s2);
    assert_non_null (s3);
    s2[6] = '3';
    s3[6] = '2';
    put_record (x->store, 2, k3.val, k3.vlen);   /* record 3 now at key 2 */
    rewrite_record (x->store, XF_PROFILE_STANDARD, 2, t3);
    put_record (x->store, 3, k2.val, k2.vlen);
    rewrite_record (x->store, XF_PROFILE_STANDARD, 3, t2);
    assert_broken (x->store, XF_PROFILE_STANDARD, 2, 1, "its prev does not match record 1's hash");
}

static void test_truncate_last (void **state)
{
    xf_test_store_t *x = *state;
    del_key (x->store, record_kv (KV_DEL, N_ENTRIES));
    assert_broken (x->store, XF_PROFILE_STANDARD, N_ENTRIES, N_ENTRIES - 1,
                   "seq 6 is missing: the head in meta is at seq 6");
}

static void test_head_tampered (void **state)
{
    xf_test_store_t *x = *state;
    kv_t h = head_kv (KV_GET);
    kv_run (x->store, &h);
    h.val[8] ^= 0x80;
    h.op = KV_PUT;
    kv_run (x->store, &h);
    assert_broken (x->store, XF_PROFILE_STANDARD, N_ENTRIES, N_ENTRIES,
                   "the head in meta does not match the last record");
}

/* A record added past the head, with a correct hash and prev, is still found. */
static void test_record_past_head (void **state)
{
    xf_test_store_t *x = *state;
    kv_t last = get_record (x->store, N_ENTRIES);
    char prev_hex[2 * XF_HASH_LEN + 1], text[512];
    hex (last.val, XF_HASH_LEN, prev_hex);
    snprintf (text, sizeof text, "{\"action\":\"case.close\",\"at\":\"2026-11-23T09:30:00+08:00\","
              "\"case\":null,\"detail\":null,\"office\":\"411324\",\"prev\":\"%s\",\"role\":\"admin\","
              "\"seq\":7,\"time\":1795397400,\"uid\":0}", prev_hex);
    uint8_t val[600];
    digest (XF_PROFILE_STANDARD, last.val, XF_HASH_LEN, text, strlen (text), val);
    memcpy (val + XF_HASH_LEN, text, strlen (text));
    put_record (x->store, 7, val, XF_HASH_LEN + strlen (text));
    assert_broken (x->store, XF_PROFILE_STANDARD, 7, 7, "record 7 is past the head in meta");
}

static void test_text_not_a_record (void **state)
{
    xf_test_store_t *x = *state;
    kv_t orig = get_record (x->store, 4);
    kv_t k = orig;
    memcpy (k.val + XF_HASH_LEN, "not json at all", 15);
    put_record (x->store, 4, k.val, XF_HASH_LEN + 15);
    assert_broken (x->store, XF_PROFILE_STANDARD, 4, 3, "its text is not a record (not JSON");

    put_record (x->store, 4, orig.val, orig.vlen);
    assert_holds (x->store, XF_PROFILE_STANDARD, N_ENTRIES);

    /* even with a hash that matches, it is not a record */
    rewrite_record (x->store, XF_PROFILE_STANDARD, 4, "[1,2,3]");
    assert_broken (x->store, XF_PROFILE_STANDARD, 4, 3, "its text is not a record (no object");

    /* JSON without a prev */
    uint8_t val[64];
    memset (val, 0, XF_HASH_LEN);
    memcpy (val + XF_HASH_LEN, "{\"seq\":4}", 9);
    put_record (x->store, 4, val, XF_HASH_LEN + 9);
    assert_broken (x->store, XF_PROFILE_STANDARD, 4, 3, "its text is not a record");

    /* shorter than a hash */
    put_record (x->store, 4, val, 5);
    assert_broken (x->store, XF_PROFILE_STANDARD, 4, 3, "too short to hold a hash");
}

/* ---------------------------------------------------------------- listing */

typedef struct {
    const xf_audit_filter_t *f;
    json_t *out;
    int rc;
    xf_err_t err;
} show_t;

static int do_show (xf_txn_t *txn, void *arg, xf_err_t *err)
{
    show_t *s = arg;
    (void) err;
    s->rc = xf_audit_show (txn, s->f, s->out, &s->err);
    return XF_OK;
}

/* The seqs of what show appends for f, as "1,2,4". */
static const char *shown (xf_store_t *st, const xf_audit_filter_t *f)
{
    static char buf[256];
    show_t s = {.f = f, .out = json_array ()};
    assert_int_equal (xf_store_read (st, do_show, &s, NULL), XF_OK);
    if (s.rc != XF_OK)
        fail_msg ("show: %s", s.err.msg);
    buf[0] = 0;
    for (size_t i = 0; i < json_array_size (s.out); i++) {
        json_t *o = json_array_get (s.out, i);
        uint64_t seq = (uint64_t) json_integer_value (json_object_get (o, "seq"));
        kv_t k = get_record (st, seq);
        char h[2 * XF_HASH_LEN + 1];
        hex (k.val, XF_HASH_LEN, h);
        assert_string_equal (json_string_value (json_object_get (o, "hash")), h);
        snprintf (buf + strlen (buf), sizeof buf - strlen (buf), "%s%llu", i ? "," : "",
                  (unsigned long long) seq);
    }
    json_decref (s.out);
    return buf;
}

#define ANY {.uid = -2}

static void test_show_filters (void **state)
{
    xf_test_store_t *x = *state;
    xf_store_t *s = x->store;
    assert_string_equal (shown (s, NULL), "1,2,3,4,5,6");
    assert_string_equal (shown (s, &(xf_audit_filter_t) ANY), "1,2,3,4,5,6");
    assert_string_equal (shown (s, &(xf_audit_filter_t) {.uid = -2, .case_id = CASE_A}), "1,2,4");
    assert_string_equal (shown (s, &(xf_audit_filter_t) {.uid = -2, .case_id = CASE_B}), "3,6");
    assert_string_equal (shown (s, &(xf_audit_filter_t) {.uid = -2, .case_id = "411324-2026-9"}), "");
    assert_string_equal (shown (s, &(xf_audit_filter_t) {.uid = 1001}), "1,2,6");
    assert_string_equal (shown (s, &(xf_audit_filter_t) {.uid = -1}), "3");
    assert_string_equal (shown (s, &(xf_audit_filter_t) {.uid = 0}), "5");
    assert_string_equal (shown (s, &(xf_audit_filter_t) {.uid = -2, .from = T0 + 60, .to = T0 + 86400}),
                         "2,3,4");
    assert_string_equal (shown (s, &(xf_audit_filter_t) {.uid = -2, .from = T0 + 61}), "3,4,5,6");
    assert_string_equal (shown (s, &(xf_audit_filter_t) {.uid = -2, .to = T0 + 3599}), "1,2");
    assert_string_equal (shown (s, &(xf_audit_filter_t) {.uid = -2, .action_prefix = "case."}),
                         "1,2,4,6");
    assert_string_equal (shown (s, &(xf_audit_filter_t) {.uid = -2, .action_prefix = "case.reg"}),
                         "1,6");
    assert_string_equal (shown (s, &(xf_audit_filter_t) {.uid = -2, .action_prefix = "apply"}), "3");
    assert_string_equal (shown (s, &(xf_audit_filter_t) {.uid = -2, .limit = 2}), "5,6");
    assert_string_equal (shown (s, &(xf_audit_filter_t) {.uid = -2, .limit = 100}), "1,2,3,4,5,6");
    assert_string_equal (shown (s, &(xf_audit_filter_t) {.uid = -2, .case_id = CASE_A, .limit = 2}),
                         "2,4");
    assert_string_equal (shown (s, &(xf_audit_filter_t) {.uid = 1001, .case_id = CASE_A,
                                                          .action_prefix = "case.acc"}), "2");
}

/* Each object is the parsed record plus "hash", and is appended after what out held. */
static void test_show_objects (void **state)
{
    xf_test_store_t *x = *state;
    xf_audit_filter_t f = {.uid = -1};
    show_t s = {.f = &f, .out = json_array ()};
    json_array_append_new (s.out, json_string ("already here"));
    assert_int_equal (xf_store_read (x->store, do_show, &s, NULL), XF_OK);
    assert_int_equal (s.rc, XF_OK);
    assert_int_equal (json_array_size (s.out), 2);
    assert_string_equal (json_string_value (json_array_get (s.out, 0)), "already here");
    json_t *o = json_array_get (s.out, 1);
    assert_int_equal (json_integer_value (json_object_get (o, "seq")), 3);
    assert_int_equal (json_integer_value (json_object_get (o, "time")), T0 + 3600);
    assert_string_equal (json_string_value (json_object_get (o, "at")), "2026-11-22T10:30:00+08:00");
    assert_string_equal (json_string_value (json_object_get (o, "office")), "411324");
    assert_string_equal (json_string_value (json_object_get (o, "role")), "node");
    assert_string_equal (json_string_value (json_object_get (o, "action")), "apply escalate");
    assert_string_equal (json_string_value (json_object_get (o, "case")), CASE_B);
    assert_string_equal (json_string_value (json_object_get (o, "detail")), "from 411300");
    assert_int_equal (strlen (json_string_value (json_object_get (o, "prev"))), 64);
    assert_int_equal (strlen (json_string_value (json_object_get (o, "hash"))), 64);
    assert_int_equal (json_object_size (o), 11);
    json_decref (s.out);

    /* free text comes back as written */
    f = (xf_audit_filter_t) {.uid = 1002};
    s = (show_t) {.f = &f, .out = json_array ()};
    assert_int_equal (xf_store_read (x->store, do_show, &s, NULL), XF_OK);
    assert_string_equal (json_string_value (json_object_get (json_array_get (s.out, 0), "detail")),
                         "第一行\n第二行\t完");
    json_decref (s.out);
}

static void test_show_refusals (void **state)
{
    xf_test_store_t *x = *state;
    xf_audit_filter_t f = {.uid = -2, .from = T0 + 10, .to = T0};
    show_t s = {.f = &f, .out = json_array ()};
    assert_int_equal (xf_store_read (x->store, do_show, &s, NULL), XF_OK);
    assert_int_equal (s.rc, XF_EINVAL);
    assert_non_null (strstr (s.err.msg, "after"));
    assert_int_equal (json_array_size (s.out), 0);

    /* a damaged record: an error naming it, and nothing appended */
    kv_t k = get_record (x->store, 5);
    memcpy (k.val + XF_HASH_LEN, "garbage", 7);
    put_record (x->store, 5, k.val, XF_HASH_LEN + 7);
    f = (xf_audit_filter_t) ANY;
    assert_int_equal (xf_store_read (x->store, do_show, &s, NULL), XF_OK);
    assert_int_equal (s.rc, XF_ESTORE);
    assert_non_null (strstr (s.err.msg, "audit record 5"));
    assert_int_equal (json_array_size (s.out), 0);
    f.limit = 1;   /* newest first: stops before reaching it */
    assert_string_equal (shown (x->store, &f), "6");
    json_decref (s.out);
}

int main (void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown (test_empty_log_holds, setup_store, teardown),
        cmocka_unit_test (test_append_and_verify),
        cmocka_unit_test_setup_teardown (test_optional_fields, setup_store, teardown),
        cmocka_unit_test_setup_teardown (test_seq_may_be_null, setup_store, teardown),
        cmocka_unit_test_setup_teardown (test_text_as_jansson_writes, setup_store, teardown),
        cmocka_unit_test_setup_teardown (test_profile_mismatch, setup_store, teardown),
        cmocka_unit_test_setup_teardown (test_bad_entries_refused, setup_chain, teardown),
        cmocka_unit_test_setup_teardown (test_append_refused_when_head_behind, setup_chain,
                                         teardown),
        cmocka_unit_test_setup_teardown (test_tamper_text_byte, setup_chain, teardown),
        cmocka_unit_test_setup_teardown (test_tamper_stored_hash, setup_chain, teardown),
        cmocka_unit_test_setup_teardown (test_tamper_rehashed, setup_chain, teardown),
        cmocka_unit_test_setup_teardown (test_delete_middle, setup_chain, teardown),
        cmocka_unit_test_setup_teardown (test_delete_first, setup_chain, teardown),
        cmocka_unit_test_setup_teardown (test_swap_records, setup_chain, teardown),
        cmocka_unit_test_setup_teardown (test_swap_renumbered, setup_chain, teardown),
        cmocka_unit_test_setup_teardown (test_truncate_last, setup_chain, teardown),
        cmocka_unit_test_setup_teardown (test_head_tampered, setup_chain, teardown),
        cmocka_unit_test_setup_teardown (test_record_past_head, setup_chain, teardown),
        cmocka_unit_test_setup_teardown (test_text_not_a_record, setup_chain, teardown),
        cmocka_unit_test_setup_teardown (test_show_filters, setup_chain, teardown),
        cmocka_unit_test_setup_teardown (test_show_objects, setup_chain, teardown),
        cmocka_unit_test_setup_teardown (test_show_refusals, setup_chain, teardown),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
