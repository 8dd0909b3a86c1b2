/* xf_office_share.c — what this office shares with each other office, kept in step with every
 * saved case so that reconciliation (xf_office_reconcile.c) never has to read all the cases.
 *
 * A case is shared with every office that holds it besides this one: its origin, owner and
 * watchers (the offices its events are published to). Two indexes:
 *
 *   XF_DB_SHARE   be32 month + case id → be32 last_event, status byte, 16-byte hash, then the
 *                 partners, each NUL-terminated: what the case counts for now.
 *   XF_DB_DIGEST  partner + NUL + be32 month → be64 count, 16-byte hash: per month of
 *                 registration, how many cases are shared with that office and the XOR of
 *                 their hashes (SHA-256 of id, status and last_event, truncated).
 *
 * XOR makes a digest order-free and lets a case leave it as it came in, so each save changes
 * only the rows of the partners it gained, lost or changed for. A case shared with nobody
 * (registered here and never sent) costs one failed lookup. */
#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>
#include "xf_msg.h"
#include "xf_office.h"
#include "xf_office_int.h"
#include "xf_text.h"

#define MAX_PARTNERS 64
#define CODE_MAX XF_OFFICE_CODE_LEN
#define SHARE_HEAD (4 + 1 + XF_SHARE_HASH_LEN)
#define DIGEST_KEY_MAX (CODE_MAX + 1 + 4)

typedef struct {
    uint32_t last_event;
    uint8_t status;
    uint8_t hash[XF_SHARE_HASH_LEN];
    char partners[MAX_PARTNERS][CODE_MAX];
    size_t n;
} share_t;

int32_t xf_office_share_month (const xf_case_t *c)
{
    return xf_month_of_day (c->registered ? c->registered : c->received);
}

static size_t share_key (uint8_t *key, int32_t month, const char *id)
{
    size_t n = strlen (id);
    xf_be32_put (key, (uint32_t) month);
    memcpy (key + 4, id, n);
    return n + 4;
}

size_t xf_office_month_key (uint8_t *key, const char *code, int32_t month)
{
    size_t n = strlen (code);
    memcpy (key, code, n);
    key[n] = 0;
    xf_be32_put (key + n + 1, (uint32_t) month);
    return n + 5;
}

void xf_office_share_hash (const char *id, uint8_t status, uint32_t last_event,
                           uint8_t out[XF_SHARE_HASH_LEN])
{
    uint8_t buf[XF_CASE_ID_MAX + 6], md[XF_HASH_LEN];
    size_t n = strlen (id);
    memcpy (buf, id, n + 1);   /* with its NUL: no id is a prefix of another's input */
    buf[n + 1] = status;
    xf_be32_put (buf + n + 2, last_event);
    const void *part = buf;
    size_t plen = n + 6;
    if (xf_hash (XF_PROFILE_STANDARD, &part, &plen, 1, md, NULL) != XF_OK)
        memset (md, 0, sizeof md);   /* out of memory: a digest that matches no partner's */
    memcpy (out, md, XF_SHARE_HASH_LEN);
}

static bool has_partner (const share_t *s, const char *code)
{
    for (size_t i = 0; i < s->n; i++)
        if (strcmp (s->partners[i], code) == 0)
            return true;
    return false;
}

static void add_partner (share_t *s, const char *code, const char *self)
{
    if (!code || !*code || strcmp (code, self) == 0 || strlen (code) >= CODE_MAX
        || has_partner (s, code) || s->n == MAX_PARTNERS)
        return;
    xf_text_join (s->partners[s->n++], CODE_MAX, code, (char *) NULL);
}

/* What c counts for now at office self. */
static void share_of (const xf_case_t *c, const char *self, share_t *s)
{
    s->n = 0;
    add_partner (s, c->origin, self);
    add_partner (s, c->owner, self);
    for (size_t i = 0; i < c->n_watchers; i++)
        add_partner (s, c->watchers[i], self);
    s->last_event = c->last_event;
    s->status = (uint8_t) c->status;
    if (s->n)
        xf_office_share_hash (c->id, s->status, s->last_event, s->hash);
}

static bool share_parse (const uint8_t *v, size_t len, share_t *s)
{
    if (len < SHARE_HEAD)
        return false;
    s->last_event = xf_be32_get (v);
    s->status = v[4];
    memcpy (s->hash, v + 5, XF_SHARE_HASH_LEN);
    s->n = 0;
    for (size_t at = SHARE_HEAD; at < len && s->n < MAX_PARTNERS;) {
        const uint8_t *end = memchr (v + at, 0, len - at);
        if (!end || (size_t) (end - (v + at)) >= CODE_MAX)
            return false;
        memcpy (s->partners[s->n++], v + at, (size_t) (end - (v + at)) + 1);
        at = (size_t) (end - v) + 1;
    }
    return true;
}

static size_t share_pack (const share_t *s, uint8_t *v)
{
    size_t at = SHARE_HEAD;
    xf_be32_put (v, s->last_event);
    v[4] = s->status;
    memcpy (v + 5, s->hash, XF_SHARE_HASH_LEN);
    for (size_t i = 0; i < s->n; i++) {
        size_t n = strlen (s->partners[i]) + 1;
        memcpy (v + at, s->partners[i], n);
        at += n;
    }
    return at;
}

/* Adds (+1) or removes (-1) one case's hash to partner's digest of month. */
static int digest_bump (xf_txn_t *txn, const char *partner, int32_t month, int delta,
                        const uint8_t hash[XF_SHARE_HASH_LEN], xf_err_t *err)
{
    uint8_t key[DIGEST_KEY_MAX], row[8 + XF_SHARE_HASH_LEN] = {0};
    size_t klen = xf_office_month_key (key, partner, month);
    const void *v = NULL;
    size_t len = 0;
    int rc = xf_txn_get (txn, XF_DB_DIGEST, key, klen, &v, &len, err);
    if (rc == XF_OK && len == sizeof row)
        memcpy (row, v, len);
    else if (rc != XF_ENOTFOUND && rc != XF_OK)
        return rc;
    uint64_t count = xf_be64_get (row);
    if (delta < 0 && count == 0)
        return xf_err_set (err, XF_ESTORE, "share digest of %s for %d is already empty: the "
                           "index is damaged; restart the node to rebuild it", partner, (int) month);
    count = delta > 0 ? count + 1 : count - 1;
    xf_be64_put (row, count);
    for (int i = 0; i < XF_SHARE_HASH_LEN; i++)
        row[8 + i] ^= hash[i];
    if (count == 0) {
        rc = xf_txn_del (txn, XF_DB_DIGEST, key, klen, err);
        return rc == XF_ENOTFOUND ? XF_OK : rc;
    }
    return xf_txn_put (txn, XF_DB_DIGEST, key, klen, row, sizeof row, err);
}

int xf_office_share_track (xf_txn_t *txn, const xf_office_t *o, const xf_case_t *c,
                           xf_err_t *err)
{
    share_t now, was = {0};
    uint8_t key[4 + XF_CASE_ID_MAX];
    int32_t month = xf_office_share_month (c);
    size_t klen = share_key (key, month, c->id);
    const void *v = NULL;
    size_t len = 0;
    share_of (c, o->code, &now);
    int rc = xf_txn_get (txn, XF_DB_SHARE, key, klen, &v, &len, err);
    if (rc == XF_ENOTFOUND && now.n == 0)
        return XF_OK;
    if (rc == XF_OK && !share_parse (v, len, &was))
        return xf_err_set (err, XF_ESTORE, "share index of case %s does not decode: restart the "
                           "node to rebuild it", c->id);
    if (rc != XF_OK && rc != XF_ENOTFOUND)
        return rc;
    bool same_hash = rc == XF_OK && memcmp (was.hash, now.hash, XF_SHARE_HASH_LEN) == 0;
    rc = XF_OK;
    for (size_t i = 0; rc == XF_OK && i < was.n; i++)
        if (!same_hash || !has_partner (&now, was.partners[i]))
            rc = digest_bump (txn, was.partners[i], month, -1, was.hash, err);
    for (size_t i = 0; rc == XF_OK && i < now.n; i++)
        if (!same_hash || !has_partner (&was, now.partners[i]))
            rc = digest_bump (txn, now.partners[i], month, +1, now.hash, err);
    if (rc != XF_OK)
        return rc;
    if (now.n == 0) {
        rc = xf_txn_del (txn, XF_DB_SHARE, key, klen, err);
        return rc == XF_ENOTFOUND ? XF_OK : rc;
    }
    uint8_t val[SHARE_HEAD + MAX_PARTNERS * CODE_MAX];
    return xf_txn_put (txn, XF_DB_SHARE, key, klen, val, share_pack (&now, val), err);
}

/* ---------------------------------------------------------------- reading */

typedef struct {
    const char *partner;
    size_t plen;
    xf_share_month_t *v;
    size_t n, cap;
} digest_scan_t;

static int collect_month (const void *key, size_t klen, const void *val, size_t vlen, void *arg)
{
    digest_scan_t *d = arg;
    if (klen != d->plen + 5 || memcmp (key, d->partner, d->plen + 1) != 0)
        return 1;
    if (vlen != 8 + XF_SHARE_HASH_LEN)
        return XF_ESTORE;
    if (d->n == d->cap) {
        size_t cap = d->cap ? d->cap * 2 : 16;
        xf_share_month_t *grown = realloc (d->v, cap * sizeof *grown);
        if (!grown)
            return XF_ENOMEM;
        d->v = grown;
        d->cap = cap;
    }
    xf_share_month_t *m = &d->v[d->n++];
    m->month = (int32_t) xf_be32_get ((const uint8_t *) key + d->plen + 1);
    m->count = xf_be64_get (val);
    memcpy (m->hash, (const uint8_t *) val + 8, XF_SHARE_HASH_LEN);
    return 0;
}

int xf_office_share_digest (xf_txn_t *txn, const char *partner, xf_share_month_t **months,
                            size_t *n, xf_err_t *err)
{
    uint8_t key[DIGEST_KEY_MAX];
    digest_scan_t d = {partner, strlen (partner), NULL, 0, 0};
    *months = NULL;
    *n = 0;
    if (d.plen >= CODE_MAX)
        return XF_OK;
    int rc = xf_txn_scan (txn, XF_DB_DIGEST, key, xf_office_month_key (key, partner, 0), collect_month,
                          &d, err);
    if (rc == XF_ENOMEM || rc == XF_ESTORE) {
        free (d.v);
        return rc == XF_ENOMEM ? xf_err_set (err, rc, "out of memory")
                               : xf_err_set (err, rc, "share digest of %s does not decode: restart "
                                             "the node to rebuild the index", partner);
    }
    if (rc != XF_OK) {
        free (d.v);
        return rc;
    }
    *months = d.v;
    *n = d.n;
    return XF_OK;
}

typedef struct {
    char (*codes)[CODE_MAX];
    size_t n, cap;
} partners_scan_t;

static int collect_partner (const void *key, size_t klen, const void *val, size_t vlen, void *arg)
{
    (void) val, (void) vlen;
    partners_scan_t *p = arg;
    size_t n = strnlen (key, klen);
    if (n == 0 || n >= CODE_MAX)
        return XF_ESTORE;
    if (p->n && strncmp (p->codes[p->n - 1], key, n) == 0 && !p->codes[p->n - 1][n])
        return 0;
    if (p->n == p->cap) {
        size_t cap = p->cap ? p->cap * 2 : 16;
        char (*grown)[CODE_MAX] = realloc (p->codes, cap * sizeof *grown);
        if (!grown)
            return XF_ENOMEM;
        p->codes = grown;
        p->cap = cap;
    }
    memcpy (p->codes[p->n], key, n);
    p->codes[p->n++][n] = 0;
    return 0;
}

int xf_office_share_partners (xf_txn_t *txn, char (**codes)[XF_OFFICE_CODE_LEN], size_t *n,
                              xf_err_t *err)
{
    partners_scan_t p = {NULL, 0, 0};
    int rc = xf_txn_scan (txn, XF_DB_DIGEST, NULL, 0, collect_partner, &p, err);
    if (rc == XF_ENOMEM)
        rc = xf_err_set (err, rc, "out of memory");
    else if (rc == XF_ESTORE)
        rc = xf_err_set (err, rc, "share digest key does not decode: restart the node to rebuild "
                         "the index");
    if (rc != XF_OK) {
        free (p.codes);
        return rc;
    }
    *codes = p.codes;
    *n = p.n;
    return XF_OK;
}

typedef struct {
    int32_t month;
    const char *partner;
    xf_share_case_t *v;
    size_t n, cap;
} cases_scan_t;

static int collect_case (const void *key, size_t klen, const void *val, size_t vlen, void *arg)
{
    cases_scan_t *s = arg;
    share_t sh;
    if (klen < 5 || (int32_t) xf_be32_get (key) != s->month)
        return 1;
    if (klen - 4 >= XF_CASE_ID_MAX || !share_parse (val, vlen, &sh))
        return XF_ESTORE;
    if (!has_partner (&sh, s->partner))
        return 0;
    if (s->n == s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 64;
        xf_share_case_t *grown = realloc (s->v, cap * sizeof *grown);
        if (!grown)
            return XF_ENOMEM;
        s->v = grown;
        s->cap = cap;
    }
    xf_share_case_t *c = &s->v[s->n++];
    memcpy (c->id, (const uint8_t *) key + 4, klen - 4);
    c->id[klen - 4] = 0;
    c->last_event = sh.last_event;
    c->status = sh.status;
    return 0;
}

int xf_office_share_cases (xf_txn_t *txn, const char *partner, int32_t month,
                           xf_share_case_t **v, size_t *n, xf_err_t *err)
{
    uint8_t key[4];
    cases_scan_t s = {month, partner, *v, *n, *n};
    xf_be32_put (key, (uint32_t) month);
    int rc = xf_txn_scan (txn, XF_DB_SHARE, key, sizeof key, collect_case, &s, err);
    *v = s.v;
    *n = s.n;
    if (rc == XF_ENOMEM)
        return xf_err_set (err, rc, "out of memory");
    if (rc == XF_ESTORE)
        return xf_err_set (err, rc, "share index entry of month %d does not decode: restart the "
                           "node to rebuild it", (int) month);
    return rc;
}

/* ---------------------------------------------------------------- rebuilding */

/* Cases are tracked in batches, each its own transaction, resuming after the last key. A
 * transaction may run again from its start (a grown map): it only reads start and writes
 * the fields after it. */
#define REBUILD_BATCH 2000

typedef struct {
    xf_office_t *o;
    bool force;
    char start[XF_CASE_ID_MAX];  /* resume after this case id ("": from the first) */
    char last[XF_CASE_ID_MAX];   /* the last case tracked by this transaction */
    size_t n;
    bool done, skipped;
    xf_txn_t *txn;
    xf_err_t *err;
} rebuild_t;

static int rebuild_case (const void *key, size_t klen, const void *val, size_t vlen, void *arg)
{
    rebuild_t *r = arg;
    if (klen >= XF_CASE_ID_MAX)
        return XF_ESTORE;
    if (klen == strlen (r->start) && memcmp (key, r->start, klen) == 0)
        return 0;
    if (r->n == REBUILD_BATCH)
        return 1;
    xf_case_t *c = xf_case_unpack (val, vlen, r->err);
    if (!c)
        return XF_ESTORE;
    int rc = xf_office_share_track (r->txn, r->o, c, r->err);
    xf_case_destroy (&c);
    memcpy (r->last, key, klen);
    r->last[klen] = 0;
    r->n++;
    return rc;
}

static int rebuild_txn (xf_txn_t *txn, void *arg, xf_err_t *err)
{
    rebuild_t *r = arg;
    uint64_t built = 0;
    r->n = 0;
    r->done = r->skipped = false;
    r->last[0] = 0;
    r->txn = txn;
    r->err = err;
    int rc = xf_txn_meta_u64 (txn, "share/built", &built, err);
    if (rc != XF_OK)
        return rc;
    if (!*r->start) {
        if (built && !r->force) {
            r->done = r->skipped = true;
            return XF_OK;
        }
        if ((rc = xf_txn_clear (txn, XF_DB_SHARE, err)) || (rc = xf_txn_clear (txn, XF_DB_DIGEST, err))
            || (rc = xf_txn_meta_set_u64 (txn, "share/built", 0, err)))
            return rc;
    }
    rc = xf_txn_scan (txn, XF_DB_CASES, *r->start ? r->start : NULL, strlen (r->start),
                      rebuild_case, r, err);
    if (rc == XF_ESTORE && !*err->msg)
        rc = xf_err_set (err, XF_ESTORE, "a case after \"%s\" does not decode", r->start);
    if (rc != XF_OK)
        return rc;
    r->done = r->n < REBUILD_BATCH;
    return r->done ? xf_txn_meta_set_u64 (txn, "share/built", 1, err) : XF_OK;
}

int xf_office_share_rebuild (xf_office_t *o, bool force, size_t *cases, xf_err_t *err)
{
    rebuild_t r = {.o = o, .force = force};
    size_t total = 0;
    do {
        if (xf_store_write (o->store, rebuild_txn, &r, err) != XF_OK)
            return xf_err_prefix (err, "rebuilding the index of shared cases");
        total += r.n;
        memcpy (r.start, r.last, sizeof r.start);
    } while (!r.done);
    if (cases)
        *cases = r.skipped ? 0 : total;
    return XF_OK;
}
