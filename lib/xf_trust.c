/* xf_trust.c — an office's trust state (xf_trust.h): its certificates and key, signing and
 * verifying envelopes, issuing to children and judging their certificates. */
#include "xf_trust.h"
#include "xf_trust_int.h"

#include <openssl/crypto.h>
#include <stdlib.h>
#include <string.h>

#define CACHE_MAX 1024


void xf_trust_destroy (xf_trust_t **t_p)
{
    xf_trust_t *t = t_p ? *t_p : NULL;
    if (!t)
        return;
    X509_free (t->anchor);
    sk_X509_pop_free (t->chain, X509_free);
    EVP_PKEY_free (t->key);
    for (size_t i = 0; i < t->n_chain; i++)
        free (t->chain_der[i].data);
    free (t->chain_der);
    for (size_t i = 0; i < t->n_known; i++)
        EVP_PKEY_free (t->known[i].pub);
    free (t->known);
    xf_trust_dir_free (t);
    free (t->revoked);
    free (t);
    *t_p = NULL;
}

/* What was given, against itself: the anchor, the office's certificate, its keys. */
static int check_own (xf_trust_t *t, const char *code, const uint8_t curve_public[32], int64_t now,
                      xf_err_t *err)
{
    X509 *leaf = sk_X509_value (t->chain, 0);
    if (xf_cert_info (t->anchor, &t->anchor_info, err) != XF_OK
        || xf_cert_info (leaf, &t->own, err) != XF_OK)
        return xf_err_prefix (err, "[trust]");
    if (!t->anchor_info.self_signed || t->anchor_info.profile < 0)
        return xf_err_set (err, XF_ECONFIG, "[trust] anchor: the certificate of %s is not a root "
                           "(self-signed Ed25519 or SM2): the anchor is the root office's own "
                           "certificate", t->anchor_info.code);
    t->profile = (xf_profile_t) t->anchor_info.profile;
    if (strcmp (t->own.code, code) != 0)
        return xf_err_set (err, XF_ECONFIG, "[trust] certificate: it is the certificate of office "
                           "%s, and this office is %s", t->own.code, code);
    if (!xf_key_same_public (t->key, X509_get0_pubkey (leaf)))
        return xf_err_set (err, XF_ECONFIG, "[trust] signing_key: it is not the key of the "
                           "certificate (fingerprint %.16s…): use the key the request was made with",
                           t->own.fingerprint);
    if (curve_public && (!t->own.has_curve || memcmp (t->own.curve, curve_public, 32) != 0))
        return xf_err_set (err, XF_ECONFIG, "[trust] certificate: it names another CURVE key than "
                           "key_file's: request a certificate for the current node key");
    STACK_OF (X509) *above = sk_X509_dup (t->chain);
    if (above)
        (void) sk_X509_shift (above);
    int rc = xf_cert_verify (t->anchor, leaf, above, now, err);
    sk_X509_free (above);
    if (rc != XF_OK) {
        xf_err_t why = *err;
        return xf_err_set (err, XF_ECONFIG, "[trust] certificate does not verify under the anchor "
                           "%s: %s", t->anchor_info.code, why.msg);
    }
    return XF_OK;
}

static int encode_chain (xf_trust_t *t)
{
    int n = sk_X509_num (t->chain);
    t->chain_der = calloc ((size_t) n, sizeof *t->chain_der);
    if (!t->chain_der)
        return XF_ENOMEM;
    for (int i = 0; i < n; i++) {
        t->chain_der[i].data = xf_cert_der (sk_X509_value (t->chain, i), &t->chain_der[i].len);
        if (!t->chain_der[i].data)
            return XF_ENOMEM;
        t->n_chain++;
    }
    return XF_OK;
}

xf_trust_t *xf_trust_new (X509 *anchor, STACK_OF (X509) *chain, EVP_PKEY *key, const char *code,
                          const uint8_t curve_public[32], int64_t now, xf_err_t *err)
{
    xf_trust_t *t = calloc (1, sizeof *t);
    if (!t) {
        X509_free (anchor);
        sk_X509_pop_free (chain, X509_free);
        EVP_PKEY_free (key);
        xf_err_set (err, XF_ENOMEM, "out of memory");
        return NULL;
    }
    t->anchor = anchor, t->chain = chain, t->key = key;
    int n = sk_X509_num (chain);
    if (n > 1 && X509_cmp (sk_X509_value (chain, n - 1), anchor) == 0)
        X509_free (sk_X509_pop (chain));
    int rc = n < 1 || n > XF_TRUST_CHAIN_MAX
             ? xf_err_set (err, XF_ECONFIG, "[trust] certificate: a chain of 1 to %d certificates, "
                           "not %d", XF_TRUST_CHAIN_MAX, n)
             : check_own (t, code, curve_public, now, err);
    if (rc == XF_OK && encode_chain (t) != XF_OK)
        rc = xf_err_set (err, XF_ENOMEM, "out of memory");
    if (rc == XF_OK)
        rc = xf_trust_dir_init (t, err);
    if (rc != XF_OK)
        xf_trust_destroy (&t);
    return t;
}

xf_trust_t *xf_trust_load (const char *anchor_path, const char *chain_path, const char *key_path,
                           const char *code, const uint8_t curve_public[32], int64_t now,
                           xf_err_t *err)
{
    X509 *anchor = xf_cert_load (anchor_path, err);
    STACK_OF (X509) *chain = anchor ? xf_cert_load_chain (chain_path, err) : NULL;
    EVP_PKEY *key = chain ? xf_key_load (key_path, err) : NULL;
    if (!key) {
        X509_free (anchor);
        sk_X509_pop_free (chain, X509_free);
        return NULL;
    }
    return xf_trust_new (anchor, chain, key, code, curve_public, now, err);
}

xf_profile_t xf_trust_profile (const xf_trust_t *t)
{
    return t->profile;
}

const xf_cert_info_t *xf_trust_own (const xf_trust_t *t)
{
    return &t->own;
}

const xf_cert_info_t *xf_trust_anchor_info (const xf_trust_t *t)
{
    return &t->anchor_info;
}

int xf_trust_issuer_info (const xf_trust_t *t, xf_cert_info_t *out, xf_err_t *err)
{
    if (sk_X509_num (t->chain) > 1)
        return xf_cert_info (sk_X509_value (t->chain, 1), out, err);
    if (X509_cmp (sk_X509_value (t->chain, 0), t->anchor) == 0)
        return xf_err_set (err, XF_ENOTFOUND, "office %s is the anchor: nothing is above it",
                           t->own.code);
    *out = t->anchor_info;
    return XF_OK;
}

int xf_trust_check_place (const xf_trust_t *t, xf_profile_t profile, const char *parent_code,
                          xf_cert_info_t *issuer, xf_err_t *err)
{
    xf_cert_info_t up;
    xf_err_t why = {0};
    if (t->profile != profile)
        return xf_err_set (err, XF_ECONFIG, "[trust] profile is %s but the anchor (the certificate "
                           "of %s) is of the %s profile", xf_profile_name (profile),
                           t->anchor_info.code, xf_profile_name (t->profile));
    if (!parent_code)
        return XF_OK;
    if (xf_trust_issuer_info (t, &up, &why) != XF_OK || strcmp (up.code, parent_code) != 0)
        return xf_err_set (err, XF_ECONFIG, "[trust] certificate: it was issued by %s, and "
                           "[parent] is %s: request the certificate from the parent",
                           why.code ? "nobody (it is the anchor)" : up.code, parent_code);
    if (issuer)
        *issuer = up;
    return XF_OK;
}

const ProtobufCBinaryData *xf_trust_chain_der (const xf_trust_t *t, size_t *n)
{
    *n = t->n_chain;
    return t->chain_der;
}

char *xf_trust_chain_pem (const xf_trust_t *t)
{
    char *pem = NULL;
    size_t len = 0;
    for (int i = 0; i < sk_X509_num (t->chain); i++)
        if (xf_cert_pem_append (sk_X509_value (t->chain, i), &pem, &len) != XF_OK) {
            free (pem);
            return NULL;
        }
    return pem;
}

/* ---------------------------------------------------------------- envelopes */

int xf_trust_sign (xf_trust_t *t, Xf__SignedEnvelope *se, uint8_t sig[XF_SIG_MAX], xf_err_t *err)
{
    size_t len = 0;
    int rc = xf_sign (t->key, se->envelope.data, se->envelope.len, sig, &len, err);
    if (rc != XF_OK)
        return rc;
    se->signature = (ProtobufCBinaryData) {len, sig};
    se->signer = t->own.fingerprint;
    se->chain = t->chain_der;
    se->n_chain = t->n_chain;
    return XF_OK;
}

static known_t *find_known (xf_trust_t *t, const char *fp)
{
    for (size_t i = 0; i < t->n_known; i++)
        if (strcmp (t->known[i].fp, fp) == 0)
            return &t->known[i];
    return NULL;
}

/* The cache slot of fingerprint fp: the one it had (a signer verified again once its entry
 * fell outside the validity, after the node clock moved), else a new one. */
static known_t *remember (xf_trust_t *t, const char *fp, xf_err_t *err)
{
    known_t *k = find_known (t, fp);
    if (k)
        return k;
    if (t->n_known == CACHE_MAX) {   /* a tree has far fewer offices: start over */
        for (size_t i = 0; i < t->n_known; i++)
            EVP_PKEY_free (t->known[i].pub);
        memset (t->known, 0, CACHE_MAX * sizeof *t->known);
        t->n_known = 0;
    }
    if (!t->known && !(t->known = calloc (CACHE_MAX, sizeof *t->known))) {
        xf_err_set (err, XF_ENOMEM, "out of memory");
        return NULL;
    }
    return &t->known[t->n_known++];
}

/* Verifies the chain an envelope carries and remembers its leaf. */
static known_t *learn_chain (xf_trust_t *t, const Xf__SignedEnvelope *se, int64_t now, xf_err_t *err)
{
    if (se->n_chain < 1 || se->n_chain > XF_TRUST_CHAIN_MAX) {
        xf_err_set (err, XF_EPERM, "it carries %zu certificates, not 1 to %d", se->n_chain,
                    XF_TRUST_CHAIN_MAX);
        return NULL;
    }
    X509 *leaf = xf_cert_from_der (se->chain[0].data, se->chain[0].len);
    STACK_OF (X509) *above = sk_X509_new_null ();
    xf_cert_info_t info;
    int rc = leaf && above ? XF_OK : xf_err_set (err, XF_EPERM, "its first certificate does not decode");
    for (size_t i = 1; rc == XF_OK && i < se->n_chain; i++) {
        X509 *x = xf_cert_from_der (se->chain[i].data, se->chain[i].len);
        if (!x || !sk_X509_push (above, x)) {
            X509_free (x);
            rc = xf_err_set (err, XF_EPERM, "certificate %zu of its chain does not decode", i + 1);
        }
    }
    if (rc == XF_OK && (rc = xf_cert_info (leaf, &info, err)) == XF_OK
        && strcmp (info.fingerprint, se->signer) != 0)
        rc = xf_err_set (err, XF_EPERM, "its signer %.16s… is not the certificate it carries",
                         se->signer);
    if (rc == XF_OK)
        rc = xf_cert_verify (t->anchor, leaf, above, now, err);
    char fp[XF_CERT_FP_LEN + 1];
    for (int i = -1; rc == XF_OK && i < sk_X509_num (above); i++)
        if (xf_trust_cert_revoked (t, i < 0 ? leaf : sk_X509_value (above, i), fp))
            rc = xf_err_set (err, XF_EPERM, "certificate %.16s… in its chain was revoked", fp);
    known_t *k = rc == XF_OK ? remember (t, info.fingerprint, err) : NULL;
    if (k) {
        EVP_PKEY_free (k->pub);
        memcpy (k->fp, info.fingerprint, sizeof k->fp);
        memcpy (k->code, info.code, sizeof k->code);
        k->pub = X509_get_pubkey (leaf);
        k->not_before = info.not_before;
        k->not_after = info.not_after;
    }
    X509_free (leaf);
    sk_X509_pop_free (above, X509_free);
    return k;
}

int xf_trust_verify (xf_trust_t *t, const Xf__SignedEnvelope *se, const char *origin, int64_t now,
                     xf_err_t *err)
{
    if (!se->signature.len || !se->signer || strlen (se->signer) != XF_CERT_FP_LEN)
        return xf_err_set (err, XF_EPERM, "it is not signed, and this office accepts signed "
                           "envelopes only ([trust])");
    known_t *k = find_known (t, se->signer);
    if (k && (now < k->not_before || now > k->not_after))
        k = NULL;   /* verify again: that says why */
    xf_err_t why = {0};
    if (!k) {
        if (!(k = learn_chain (t, se, now, &why)))
            return xf_err_set (err, XF_EPERM, "its signer's certificate is refused: %s", why.msg);
        xf_trust_learned_t seen;   /* the origin can now be sealed to, wherever it is */
        if (xf_trust_learn (t, se->chain, se->n_chain, now, NULL, NULL, &seen, &why) != XF_OK)
            return xf_err_set (err, why.code, "%s", why.msg);
    }
    if (strcmp (k->code, origin) != 0)
        return xf_err_set (err, XF_EPERM, "it claims origin %s but is signed by office %s",
                           origin, k->code);
    if (xf_verify (k->pub, se->envelope.data, se->envelope.len, se->signature.data,
                   se->signature.len, &why) != XF_OK)
        return xf_err_set (err, XF_EPERM, "its signature does not match its content or its "
                           "signer %s: it was altered on the way, or forged", k->code);
    return XF_OK;
}

size_t xf_trust_known (const xf_trust_t *t)
{
    return t->n_known;
}

/* ---------------------------------------------------------------- revocation */

bool xf_trust_revoked (const xf_trust_t *t, const char *fingerprint)
{
    for (size_t i = 0; i < t->n_revoked; i++)
        if (strcmp (t->revoked[i], fingerprint) == 0)
            return true;
    return false;
}

bool xf_trust_cert_revoked (const xf_trust_t *t, X509 *x, char fp[XF_CERT_FP_LEN + 1])
{
    xf_cert_info_t info;
    if (t->n_revoked == 0 || xf_cert_info (x, &info, NULL) != XF_OK)
        return false;
    memcpy (fp, info.fingerprint, XF_CERT_FP_LEN + 1);
    return xf_trust_revoked (t, info.fingerprint);
}

int xf_trust_revoke (xf_trust_t *t, const char *fingerprint, xf_err_t *err)
{
    if (strlen (fingerprint) != XF_CERT_FP_LEN)
        return xf_err_set (err, XF_EINVAL, "\"%.80s\" is not a certificate fingerprint (64 hex "
                           "digits)", fingerprint);
    if (xf_trust_revoked (t, fingerprint))
        return XF_OK;
    if (strcmp (fingerprint, t->own.fingerprint) == 0)
        return xf_err_set (err, XF_EINVAL, "that is this office's own certificate");
    char (*grown)[XF_CERT_FP_LEN + 1] = realloc (t->revoked, (t->n_revoked + 1) * sizeof *grown);
    if (!grown)
        return xf_err_set (err, XF_ENOMEM, "out of memory");
    t->revoked = grown;
    memcpy (t->revoked[t->n_revoked++], fingerprint, XF_CERT_FP_LEN + 1);
    known_t *k = find_known (t, fingerprint);
    if (k)
        k->not_after = INT64_MIN;   /* verified again, and refused, at its next envelope */
    xf_trust_dir_forget (t, fingerprint);
    return XF_OK;
}

size_t xf_trust_revocations (const xf_trust_t *t)
{
    return t->n_revoked;
}

/* The bytes a revocation's signature covers: the message packed without its signature. */
static uint8_t *revocation_bytes (const Xf__Revocation *r, size_t *len)
{
    Xf__Revocation bare = *r;
    bare.signature = (ProtobufCBinaryData) {0, NULL};
    *len = xf__revocation__get_packed_size (&bare);
    uint8_t *buf = malloc (*len ? *len : 1);
    if (buf)
        xf__revocation__pack (&bare, buf);
    return buf;
}

int xf_trust_sign_revocation (xf_trust_t *t, Xf__Revocation *r, uint8_t sig[XF_SIG_MAX],
                              xf_err_t *err)
{
    size_t len = 0, sig_len = 0;
    r->issuer = t->own.code;
    uint8_t *buf = revocation_bytes (r, &len);
    if (!buf)
        return xf_err_set (err, XF_ENOMEM, "out of memory");
    int rc = xf_sign (t->key, buf, len, sig, &sig_len, err);
    free (buf);
    if (rc == XF_OK) {
        r->signature = (ProtobufCBinaryData) {sig_len, sig};
        rc = xf_trust_revoke (t, r->fingerprint, err);
    }
    return rc;
}

int xf_trust_take_revocation (xf_trust_t *t, const Xf__Revocation *r, xf_err_t *err)
{
    if (!r->fingerprint || strlen (r->fingerprint) != XF_CERT_FP_LEN || !r->code || !r->issuer)
        return xf_err_set (err, XF_EPERM, "a revocation without fingerprint, office or issuer");
    if (xf_trust_revoked (t, r->fingerprint))
        return XF_EEXIST;
    bool by_anchor = strcmp (r->issuer, t->anchor_info.code) == 0;
    if (!by_anchor && !xf_code_under (r->issuer, r->code))
        return xf_err_set (err, XF_EPERM, "office %s cannot revoke a certificate of %s: it is not "
                           "under it", r->issuer, r->code);
    X509 *issuer = by_anchor ? t->anchor : xf_trust_dir_cert (t, r->issuer);
    if (!issuer)
        return xf_err_set (err, XF_EPERM, "the certificate of its issuer %s is not known here",
                           r->issuer);
    size_t len = 0;
    uint8_t *buf = revocation_bytes (r, &len);
    if (!buf)
        return xf_err_set (err, XF_ENOMEM, "out of memory");
    xf_err_t why = {0};
    int rc = xf_verify (X509_get0_pubkey (issuer), buf, len, r->signature.data, r->signature.len,
                        &why);
    free (buf);
    if (!by_anchor)
        X509_free (issuer);
    if (rc != XF_OK)
        return xf_err_set (err, XF_EPERM, "its signature is not that of %s's certificate", r->issuer);
    return xf_trust_revoke (t, r->fingerprint, err);
}

/* ---------------------------------------------------------------- children */

int xf_trust_issue (xf_trust_t *t, const char *request, size_t len, int64_t now, int days,
                    char **pem, xf_cert_info_t *issued, X509 **cert, xf_err_t *err)
{
    bool is_anchor = X509_cmp (sk_X509_value (t->chain, 0), t->anchor) == 0;
    X509 *x = xf_cert_issue (request, len, sk_X509_value (t->chain, 0), t->key, is_anchor, now,
                             days, err);
    if (!x)
        return err && err->code ? err->code : XF_EINVAL;
    char *text = NULL;
    size_t n = 0;
    int rc = xf_cert_pem_append (x, &text, &n);
    for (int i = 0; rc == XF_OK && i < sk_X509_num (t->chain); i++)
        rc = xf_cert_pem_append (sk_X509_value (t->chain, i), &text, &n);
    if (rc == XF_OK && issued)
        rc = xf_cert_info (x, issued, err);
    if (rc != XF_OK) {
        free (text);
        X509_free (x);
        return err && err->code ? err->code : xf_err_set (err, XF_ENOMEM, "out of memory");
    }
    *pem = text;
    if (cert)
        *cert = x;
    else
        X509_free (x);
    return XF_OK;
}

int xf_trust_check_child (xf_trust_t *t, X509 *cert, const char *child, int64_t now, xf_err_t *err)
{
    xf_cert_info_t info;
    int rc = xf_cert_info (cert, &info, err);
    if (rc != XF_OK)
        return rc;
    if (strcmp (info.code, child) != 0)
        return xf_err_set (err, XF_EPERM, "the certificate is office %s's, not %s's", info.code, child);
    if (strcmp (info.issuer, t->own.code) != 0)
        return xf_err_set (err, XF_EPERM, "the certificate of %s was issued by %s, not by this "
                           "office (%s)", child, info.issuer, t->own.code);
    if (!info.has_curve)
        return xf_err_set (err, XF_EPERM, "the certificate of %s names no CURVE key", child);
    if (xf_trust_revoked (t, info.fingerprint))
        return xf_err_set (err, XF_EPERM, "the certificate %.16s… (serial %s) of %s was revoked",
                           info.fingerprint, info.serial, child);
    return xf_cert_verify (t->anchor, cert, t->chain, now, err);
}

