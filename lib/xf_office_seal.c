/* xf_office_seal.c — a petitioner's identity held only by the offices entitled to it: the
 * registering office and the office handling the case (with [trust]). The registering office
 * seals it to itself at registration and keeps no clear copy; an office that passes the case on
 * opens its own entry and seals a new one to the office that takes it, and the record keeps the
 * registering office's entry and the handler's only. Every other office that holds the case (a
 * supervisor, an earlier handler) and every relay hold ciphertext they cannot open; repeat
 * detection works on the keyed identity hash taken before sealing (xf_office_identity.c). */
#include <openssl/crypto.h>
#include <stdlib.h>
#include <string.h>
#include "xf_office.h"
#include "xf_office_int.h"

static bool has_identity (const Xf__Petitioner *p)
{
    return p && (*p->name || *p->id_number || *p->phone || *p->address);
}

static void forget_clear (uint8_t *buf, size_t len)
{
    if (buf) {
        OPENSSL_cleanse (buf, len);
        free (buf);
    }
}

static int add_entry (xf_case_t *c, Xf__SealedIdentity *s, xf_err_t *err)
{
    Xf__SealedIdentity **grown = realloc (c->sealed, (c->n_sealed + 1) * sizeof *grown);
    if (!grown) {
        xf__sealed_identity__free_unpacked (s, NULL);
        return xf_err_set (err, XF_ENOMEM, "out of memory");
    }
    c->sealed = grown;
    c->sealed[c->n_sealed++] = s;
    return XF_OK;
}

static Xf__SealedIdentity *entry_for (const xf_case_t *c, const char *code)
{
    for (size_t i = 0; i < c->n_sealed; i++)
        if (c->sealed[i]->recipient && strcmp (c->sealed[i]->recipient, code) == 0)
            return c->sealed[i];
    return NULL;
}

static void wipe_petitioner (xf_case_t *c)
{
    Xf__Petitioner *p = c->petitioner;
    char *fields[] = {p->name, p->id_number, p->phone, p->address};
    for (size_t i = 0; i < sizeof fields / sizeof *fields; i++)
        if (fields[i] && fields[i] != protobuf_c_empty_string)
            OPENSSL_cleanse (fields[i], strlen (fields[i]));
    xf__petitioner__free_unpacked (p, NULL);
    c->petitioner = NULL;
}

int xf_office_seal_new (xf_office_t *o, xf_case_t *c, xf_err_t *err)
{
    if (!o->trust || !has_identity (c->petitioner))
        return XF_OK;
    size_t len = xf__petitioner__get_packed_size (c->petitioner);
    uint8_t *plain = malloc (len ? len : 1);
    if (!plain)
        return xf_err_set (err, XF_ENOMEM, "out of memory");
    xf__petitioner__pack (c->petitioner, plain);
    Xf__SealedIdentity *s = NULL;
    int rc = xf_trust_seal (o->trust, o->code, c->id, plain, len, &s, err);
    forget_clear (plain, len);
    if (rc == XF_OK && (rc = add_entry (c, s, err)) == XF_OK)
        wipe_petitioner (c);
    return rc;
}

/* Keeps the entries of the registering office and of keep (the handler), drops the others. */
static void keep_entitled (xf_case_t *c, const char *keep)
{
    size_t k = 0;
    for (size_t i = 0; i < c->n_sealed; i++) {
        Xf__SealedIdentity *s = c->sealed[i];
        if (s->recipient && (strcmp (s->recipient, c->origin) == 0 || strcmp (s->recipient, keep) == 0))
            c->sealed[k++] = s;
        else
            xf__sealed_identity__free_unpacked (s, NULL);
    }
    c->n_sealed = k;
}

int xf_office_reseal (xf_office_t *o, xf_case_t *c, xf_err_t *err)
{
    if (!o->trust || c->n_sealed == 0)
        return XF_OK;
    if (!entry_for (c, c->owner)) {
        const Xf__SealedIdentity *own = entry_for (c, o->code);
        if (!own)
            return xf_err_set (err, XF_EPERM, "case %s: this office holds no entry of the "
                               "petitioner's identity it can open, so it cannot pass it on to %s",
                               c->id, c->owner);
        uint8_t *plain = NULL;
        size_t len = 0;
        Xf__SealedIdentity *s = NULL;
        int rc = xf_trust_open (o->trust, c->id, own, &plain, &len, err);
        if (rc == XF_OK)
            rc = xf_trust_seal (o->trust, c->owner, c->id, plain, len, &s, err);
        forget_clear (plain, len);
        if (rc == XF_OK)
            rc = add_entry (c, s, err);
        if (rc != XF_OK)
            return xf_err_prefix (err, "case %s: the petitioner's identity", c->id);
    }
    keep_entitled (c, c->owner);
    return XF_OK;
}

/* ---------------------------------------------------------------- cases from before [trust] */

typedef struct {
    char (*ids)[XF_CASE_ID_MAX];
    size_t n, cap;
    bool oom;
} clear_ids_t;

static int note_clear (const void *key, size_t klen, const void *val, size_t vlen, void *arg)
{
    clear_ids_t *ci = arg;
    xf_case_t *c = xf_case_unpack (val, vlen, NULL);
    bool clear = c && has_identity (c->petitioner);
    xf_case_destroy (&c);
    if (!clear || klen >= XF_CASE_ID_MAX)
        return 0;
    if (ci->n == ci->cap) {
        size_t cap = ci->cap ? ci->cap * 2 : 64;
        char (*grown)[XF_CASE_ID_MAX] = realloc (ci->ids, cap * sizeof *grown);
        if (!grown) {
            ci->oom = true;
            return 1;
        }
        ci->ids = grown;
        ci->cap = cap;
    }
    memcpy (ci->ids[ci->n], key, klen);
    ci->ids[ci->n++][klen] = 0;
    return 0;
}

typedef struct {
    xf_office_t *o;
    clear_ids_t ci;
    size_t sealed, dropped;
} held_t;

/* One case kept in clear: sealed to this office when it is entitled (it registered or handles
 * the case), else its clear copy dropped. */
static int seal_one (xf_txn_t *txn, held_t *h, const char *id, xf_err_t *err)
{
    xf_case_t *c = NULL;
    int rc = xf_office_load_case (txn, id, &c, err);
    bool entitled = rc == XF_OK && (strcmp (c->origin, h->o->code) == 0
                                    || strcmp (c->owner, h->o->code) == 0);
    if (rc == XF_OK && entitled && !entry_for (c, h->o->code))
        rc = xf_office_seal_new (h->o, c, err);
    if (rc == XF_OK && c->petitioner)
        wipe_petitioner (c);
    if (rc == XF_OK)
        rc = xf_office_save_case (txn, h->o, c, err);
    if (rc == XF_OK)
        entitled ? h->sealed++ : h->dropped++;
    xf_case_destroy (&c);
    return rc;
}

static int find_clear_txn (xf_txn_t *txn, void *arg, xf_err_t *err)
{
    held_t *h = arg;
    int rc = xf_txn_scan (txn, XF_DB_CASES, NULL, 0, note_clear, &h->ci, err);
    return rc == XF_OK && h->ci.oom ? xf_err_set (err, XF_ENOMEM, "out of memory") : rc;
}

static int seal_held_txn (xf_txn_t *txn, void *arg, xf_err_t *err)
{
    held_t *h = arg;
    int rc = XF_OK;
    h->sealed = h->dropped = 0;
    for (size_t i = 0; rc == XF_OK && i < h->ci.n; i++)
        rc = seal_one (txn, h, h->ci.ids[i], err);
    return rc;
}

/* The cases are looked for in a read transaction: a store with none (every start but the first
 * with [trust]) writes nothing. */
int xf_office_seal_held (xf_office_t *o, size_t *sealed, size_t *dropped, xf_err_t *err)
{
    held_t h = {.o = o};
    int rc = o->trust ? xf_store_read (o->store, find_clear_txn, &h, err) : XF_OK;
    if (rc == XF_OK && h.ci.n)
        rc = xf_store_write (o->store, seal_held_txn, &h, err);
    *sealed = h.sealed;
    *dropped = h.dropped;
    free (h.ci.ids);
    return rc;
}

int xf_office_unseal (xf_office_t *o, xf_case_t *c, xf_err_t *err)
{
    const Xf__SealedIdentity *own = o->trust && !c->petitioner ? entry_for (c, o->code) : NULL;
    if (!own)
        return XF_OK;
    uint8_t *plain = NULL;
    size_t len = 0;
    int rc = xf_trust_open (o->trust, c->id, own, &plain, &len, err);
    if (rc != XF_OK)
        return xf_err_prefix (err, "case %s: the petitioner's identity sealed to this office "
                              "does not open", c->id);
    c->petitioner = xf__petitioner__unpack (NULL, len, plain);
    forget_clear (plain, len);
    return c->petitioner ? XF_OK
                         : xf_err_set (err, XF_ESTORE, "case %s: the petitioner's identity opens "
                                       "but does not decode", c->id);
}
