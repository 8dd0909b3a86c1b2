/* xf_trust_seal.c — the directory of offices' certificates an office has learned (the anchor,
 * its own chain, what its children announce and what verified envelopes carry), and sealing a
 * petitioner's identity to an office by its certificate: standard, to the X25519 CURVE key the
 * certificate names; national, to its SM2 key. Only certificates that verify under the anchor
 * enter the directory, so an announcement passed on by any office cannot plant a key. */
#include "xf_trust.h"
#include "xf_trust_int.h"

#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DIR_MAX 8192   /* a country has about 3,400 offices */

static void entry_free (office_cert_t *e)
{
    EVP_PKEY_free (e->seal);
    free (e->der.data);
    memset (e, 0, sizeof *e);
}

void xf_trust_dir_free (xf_trust_t *t)
{
    for (size_t i = 0; i < t->n_dir; i++)
        entry_free (&t->dir[i]);
    free (t->dir);
    t->dir = NULL;
    t->n_dir = t->cap_dir = 0;
    EVP_PKEY_free (t->open_key);
    t->open_key = NULL;
    for (size_t i = 0; i < t->n_retired; i++)
        EVP_PKEY_free (t->retired[i]);
    free (t->retired);
    t->retired = NULL;
    t->n_retired = 0;
}

static office_cert_t *find_office (const xf_trust_t *t, const char *code)
{
    for (size_t i = 0; i < t->n_dir; i++)
        if (strcmp (t->dir[i].code, code) == 0)
            return &t->dir[i];
    return NULL;
}

static office_cert_t *find_fingerprint (const xf_trust_t *t, const char *fp)
{
    for (size_t i = 0; i < t->n_dir; i++)
        if (memcmp (t->dir[i].fingerprint, fp, XF_CERT_FP_LEN) == 0)
            return &t->dir[i];
    return NULL;
}

/* What identities sealed to the office of e are sealed to, made from its certificate once. */
static EVP_PKEY *seal_key_of (const xf_trust_t *t, office_cert_t *e, xf_err_t *err)
{
    if (e->seal)
        return e->seal;
    if (t->profile != XF_PROFILE_NATIONAL)
        return e->seal = xf_key_x25519 (e->curve, 0, err);
    X509 *x = xf_cert_from_der (e->der.data, e->der.len);
    e->seal = x ? X509_get_pubkey (x) : NULL;
    X509_free (x);
    if (!e->seal)
        xf_err_set (err, XF_ENOMEM, "the certificate of %s: its key cannot be read (out of "
                    "memory)", e->code);
    return e->seal;
}

/* Puts x (taken) into the directory as the certificate of its office: a newer one (a renewal,
 * a rotated key) replaces an older one; an older one is dropped. 1 when it entered. */
static int put_office (xf_trust_t *t, X509 *x, const xf_cert_info_t *info, xf_err_t *err)
{
    office_cert_t *e = find_office (t, info->code);
    if (e && (strcmp (e->fingerprint, info->fingerprint) == 0
              || e->not_before > info->not_before)) {
        X509_free (x);
        return 0;
    }
    if (t->profile != XF_PROFILE_NATIONAL && !info->has_curve) {
        X509_free (x);   /* nothing could be sealed to it */
        return xf_err_set (err, XF_EPERM, "the certificate of %s names no CURVE key", info->code);
    }
    office_cert_t fresh = {.not_before = info->not_before};
    memcpy (fresh.code, info->code, sizeof fresh.code);
    memcpy (fresh.issuer, info->issuer, sizeof fresh.issuer);
    memcpy (fresh.fingerprint, info->fingerprint, sizeof fresh.fingerprint);
    memcpy (fresh.curve, info->curve, sizeof fresh.curve);
    fresh.der.data = xf_cert_der (x, &fresh.der.len);
    X509_free (x);
    if (!fresh.der.data)
        return xf_err_set (err, XF_ENOMEM, "out of memory");
    if (e) {
        entry_free (e);
        *e = fresh;
        return 1;
    }
    if (t->n_dir == DIR_MAX) {
        entry_free (&fresh);
        return xf_err_set (err, XF_ENOMEM, "the directory holds %d offices already", DIR_MAX);
    }
    if (t->n_dir == t->cap_dir) {
        size_t cap = t->cap_dir ? t->cap_dir * 2 : 32;
        office_cert_t *grown = realloc (t->dir, cap * sizeof *grown);
        if (!grown) {
            entry_free (&fresh);
            return xf_err_set (err, XF_ENOMEM, "out of memory");
        }
        t->dir = grown;
        t->cap_dir = cap;
    }
    t->dir[t->n_dir++] = fresh;
    return 1;
}

static int put_trusted (xf_trust_t *t, X509 *x, xf_err_t *err)
{
    xf_cert_info_t info;
    if (!X509_up_ref (x))
        return xf_err_set (err, XF_ENOMEM, "out of memory");
    int rc = xf_cert_info (x, &info, err);
    if (rc != XF_OK) {
        X509_free (x);
        return rc;
    }
    rc = put_office (t, x, &info, err);
    return rc < 0 ? rc : XF_OK;
}

int xf_trust_dir_init (xf_trust_t *t, xf_err_t *err)
{
    int rc = put_trusted (t, t->anchor, err);
    for (int i = 0; rc == XF_OK && i < sk_X509_num (t->chain); i++)
        rc = put_trusted (t, sk_X509_value (t->chain, i), err);
    return rc;
}

void xf_trust_dir_forget (xf_trust_t *t, const char *fingerprint)
{
    for (size_t i = 0; i < t->n_dir; i++)
        if (strcmp (t->dir[i].fingerprint, fingerprint) == 0) {
            entry_free (&t->dir[i]);
            t->dir[i] = t->dir[--t->n_dir];
            return;
        }
}

/* ---------------------------------------------------------------- learning */

static bool in_bag (const xf_cert_info_t *infos, int n_bag, const char *code)
{
    for (int i = 0; i < n_bag; i++)
        if (strcmp (infos[i].code, code) == 0)
            return true;
    return false;
}

/* The intermediates the bag's certificates may need: the bag itself, and the directory's
 * certificates of the offices above each of them up to the anchor, decoded once each (into
 * *above, which the caller frees). Only those: a national root's directory holds ~3,345. */
static STACK_OF (X509) *pool_of (const xf_trust_t *t, STACK_OF (X509) *bag,
                                 const xf_cert_info_t *infos, STACK_OF (X509) **above)
{
    int n_bag = sk_X509_num (bag);
    STACK_OF (X509) *pool = sk_X509_dup (bag);
    const office_cert_t **added = calloc ((size_t) n_bag * XF_TRUST_CHAIN_MAX + 1, sizeof *added);
    size_t n_added = 0;
    *above = sk_X509_new_null ();
    bool ok = pool && added && *above;
    for (int i = 0; ok && i < n_bag; i++) {
        const char *code = infos[i].issuer;
        for (int depth = 0; ok && depth < XF_TRUST_CHAIN_MAX; depth++) {
            const office_cert_t *e = strcmp (code, t->anchor_info.code) != 0
                                     && !in_bag (infos, n_bag, code) ? find_office (t, code) : NULL;
            for (size_t k = 0; e && k < n_added; k++)
                e = added[k] == e ? NULL : e;
            X509 *x = e ? xf_cert_from_der (e->der.data, e->der.len) : NULL;
            if (!x)
                break;   /* the anchor, in the bag, decoded already or not known here */
            if (!sk_X509_push (*above, x)) {
                X509_free (x);
                ok = false;
                break;
            }
            ok = sk_X509_push (pool, x) > 0;
            added[n_added++] = e;
            code = e->issuer;
        }
    }
    free (added);
    if (!ok) {
        sk_X509_free (pool);
        return NULL;
    }
    return pool;
}

static void refuse (xf_trust_learned_t *out, const char *why)
{
    out->refused++;
    snprintf (out->why, sizeof out->why, "%.200s", why);
}

/* Whether der is a certificate the directory holds already, by its fingerprint (the hash of
 * its DER): the common case of every hello, told without decoding it. */
static bool known_der (const xf_trust_t *t, const ProtobufCBinaryData *der)
{
    char fp[XF_CERT_FP_LEN + 1];
    return xf_cert_fingerprint_der (der->data, der->len, fp) && find_fingerprint (t, fp);
}

/* The certificates of ders that are not known already, decode and are not revoked (a revoked
 * one chains no other either), each described once; the others refused in *out. */
static STACK_OF (X509) *decode_bag (const xf_trust_t *t, const ProtobufCBinaryData *ders, size_t n,
                                   xf_cert_info_t *infos, xf_trust_learned_t *out)
{
    STACK_OF (X509) *bag = sk_X509_new_null ();
    for (size_t i = 0; bag && i < n; i++) {
        if (known_der (t, &ders[i]))
            continue;
        X509 *x = xf_cert_from_der (ders[i].data, ders[i].len);
        xf_cert_info_t *info = &infos[sk_X509_num (bag)];
        xf_err_t why = {0};
        if (!x)
            xf_err_set (&why, XF_EPERM, "certificate %zu does not decode", i + 1);
        else if (xf_cert_info (x, info, &why) == XF_OK && xf_trust_revoked (t, info->fingerprint))
            xf_err_set (&why, XF_EPERM, "certificate %.16s… was revoked", info->fingerprint);
        if (why.code || !sk_X509_push (bag, x)) {
            X509_free (x);
            refuse (out, why.code ? why.msg : "out of memory");
        }
    }
    return bag;
}

int xf_trust_learn (xf_trust_t *t, const ProtobufCBinaryData *ders, size_t n, int64_t now,
                    xf_trust_fresh_fn fresh, void *arg, xf_trust_learned_t *out, xf_err_t *err)
{
    memset (out, 0, sizeof *out);
    xf_cert_info_t *infos = calloc (n ? n : 1, sizeof *infos);
    STACK_OF (X509) *bag = infos ? decode_bag (t, ders, n, infos, out) : NULL;
    STACK_OF (X509) *above = NULL;
    STACK_OF (X509) *pool = bag ? pool_of (t, bag, infos, &above) : NULL;
    int rc = pool ? XF_OK : xf_err_set (err, XF_ENOMEM, "out of memory");
    for (int i = 0; rc == XF_OK && i < sk_X509_num (bag); i++) {
        X509 *x = sk_X509_value (bag, i);
        const xf_cert_info_t *info = &infos[i];
        xf_err_t why = {0};
        const office_cert_t *e = find_office (t, info->code);
        if (e && strcmp (e->fingerprint, info->fingerprint) == 0)
            continue;   /* known already: the common case of every hello */
        if (xf_cert_verify (t->anchor, x, pool, now, &why) != XF_OK) {
            refuse (out, why.msg);
            continue;
        }
        X509_up_ref (x);
        int entered = put_office (t, x, info, &why);
        if (entered == XF_EPERM)
            refuse (out, why.msg);
        else if (entered < 0)
            rc = xf_err_set (err, entered, "%s", why.msg);
        else if (entered) {
            out->learned++;
            if (fresh)
                fresh (info->code, &find_office (t, info->code)->der, arg);
        }
    }
    sk_X509_free (pool);
    sk_X509_pop_free (above, X509_free);
    sk_X509_pop_free (bag, X509_free);
    free (infos);
    return rc;
}

X509 *xf_trust_dir_cert (const xf_trust_t *t, const char *code)
{
    const office_cert_t *e = find_office (t, code);
    return e ? xf_cert_from_der (e->der.data, e->der.len) : NULL;
}

const char *xf_trust_office (const xf_trust_t *t, const char *code)
{
    const office_cert_t *e = find_office (t, code);
    return e ? e->fingerprint : NULL;
}

size_t xf_trust_offices (const xf_trust_t *t)
{
    return t->n_dir;
}

size_t xf_trust_certificates (const xf_trust_t *t, const char *const *codes, size_t n,
                              ProtobufCBinaryData *out, size_t max)
{
    size_t k = 0;
    for (size_t i = 0; i < n && k < max; i++) {
        const office_cert_t *e = find_office (t, codes[i]);
        if (e)
            out[k++] = e->der;
    }
    return k;
}

/* ---------------------------------------------------------------- sealing */

int xf_trust_set_curve_secret (xf_trust_t *t, const uint8_t secret[32], xf_err_t *err)
{
    EVP_PKEY *k = t->profile == XF_PROFILE_NATIONAL ? (EVP_PKEY_up_ref (t->key) ? t->key : NULL)
                                                    : xf_key_x25519 (secret, 1, err);
    if (!k)
        return err && err->code ? err->code : xf_err_set (err, XF_ENOMEM, "out of memory");
    EVP_PKEY_free (t->open_key);
    t->open_key = k;
    return XF_OK;
}

int xf_trust_retire_key (xf_trust_t *t, EVP_PKEY *key, xf_err_t *err)
{
    EVP_PKEY **grown = realloc (t->retired, (t->n_retired + 1) * sizeof *grown);
    if (!grown) {
        EVP_PKEY_free (key);
        return xf_err_set (err, XF_ENOMEM, "out of memory");
    }
    t->retired = grown;
    t->retired[t->n_retired++] = key;
    return XF_OK;
}

/* "<case id>|<recipient>": an entry copied into another case, or relabelled for another office,
 * does not open. */
static void seal_context (char *buf, size_t size, const char *case_id, const char *recipient)
{
    snprintf (buf, size, "%s|%s", case_id, recipient);
}

int xf_trust_seal (xf_trust_t *t, const char *recipient, const char *case_id, const uint8_t *plain,
                   size_t len, Xf__SealedIdentity **out, xf_err_t *err)
{
    office_cert_t *e = find_office (t, recipient);
    if (!e)
        return xf_err_set (err, XF_ENOTFOUND, "no certificate of office %s is known here yet (an "
                           "office's certificate comes with its link's hello and with its "
                           "messages): the petitioner's identity cannot be sealed to it", recipient);
    char context[96];
    seal_context (context, sizeof context, case_id, recipient);
    Xf__SealedIdentity *s = malloc (sizeof *s);
    if (!s || (xf__sealed_identity__init (s), !(s->recipient = strdup (recipient)))) {
        free (s);
        return xf_err_set (err, XF_ENOMEM, "out of memory");
    }
    EVP_PKEY *to = seal_key_of (t, e, err);
    int rc = to ? xf_seal (t->profile, to, context, plain, len, s, err)
                : err && err->code ? err->code : XF_ENOMEM;
    if (rc != XF_OK) {
        xf__sealed_identity__free_unpacked (s, NULL);
        return xf_err_prefix (err, "sealing to %s", recipient);
    }
    *out = s;
    return XF_OK;
}

int xf_trust_open (xf_trust_t *t, const char *case_id, const Xf__SealedIdentity *in,
                   uint8_t **plain, size_t *len, xf_err_t *err)
{
    if (!t->open_key)
        return xf_err_set (err, XF_ESTATE, "this office has no key to open sealed identities");
    if (strcmp (in->recipient, t->own.code) != 0)
        return xf_err_set (err, XF_EPERM, "the identity is sealed to office %s, not to this one",
                           in->recipient);
    char context[96];
    seal_context (context, sizeof context, case_id, in->recipient);
    int rc = xf_open (t->profile, t->open_key, context, in, plain, len, err);
    for (size_t i = 0; rc == XF_EPERM && i < t->n_retired; i++)
        rc = xf_open (t->profile, t->retired[i], context, in, plain, len, err);
    return rc;
}
