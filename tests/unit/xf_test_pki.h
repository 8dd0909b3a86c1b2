/* xf_test_pki.h — a small tree of office certificates for the unit tests: a province anchor,
 * a city it certifies and a county the city certifies, in either profile. Header-only. */
#ifndef XF_TEST_PKI_H
#define XF_TEST_PKI_H

#include <openssl/rand.h>
#include <stdlib.h>
#include <string.h>
#include "xf_cert.h"
#include "xf_trust.h"

#define XF_TEST_NOW 1795000000   /* 2026-11-18 */

typedef struct {
    EVP_PKEY *key;
    uint8_t curve_pub[32], curve_sec[32];
    X509 *cert;
    STACK_OF (X509) *chain;   /* cert first, up to the anchor (excluded) */
} xf_test_pki_t;

static inline void xf_test_curve (xf_test_pki_t *o)
{
    EVP_PKEY *x = EVP_PKEY_Q_keygen (NULL, NULL, "X25519");
    size_t n = 32;
    EVP_PKEY_get_raw_public_key (x, o->curve_pub, &n);
    n = 32;
    EVP_PKEY_get_raw_private_key (x, o->curve_sec, &n);
    EVP_PKEY_free (x);
}

/* The anchor office: self-signed. */
static inline void xf_test_root (xf_test_pki_t *o, xf_profile_t p, const char *code,
                                 const char *name)
{
    memset (o, 0, sizeof *o);
    o->key = xf_key_generate (p, NULL);
    xf_test_curve (o);
    o->cert = xf_cert_self_signed (o->key, code, name, o->curve_pub, XF_TEST_NOW - 86400, 365, NULL);
    o->chain = sk_X509_new_null ();
    X509_up_ref (o->cert);
    sk_X509_push (o->chain, o->cert);
}

/* An office certified by parent (NULL cert on a refusal, err saying why). */
static inline void xf_test_child (xf_test_pki_t *o, xf_test_pki_t *parent, bool parent_is_anchor,
                                  xf_profile_t p, const char *code, const char *name, int days,
                                  xf_err_t *err)
{
    memset (o, 0, sizeof *o);
    o->key = xf_key_generate (p, NULL);
    xf_test_curve (o);
    char *req = xf_cert_request (o->key, code, name, o->curve_pub, err);
    o->cert = req ? xf_cert_issue (req, strlen (req), parent->cert, parent->key, parent_is_anchor,
                                   XF_TEST_NOW - 3600, days, err)
                  : NULL;
    free (req);
    o->chain = sk_X509_new_null ();
    if (!o->cert)
        return;
    X509_up_ref (o->cert);
    sk_X509_push (o->chain, o->cert);
    for (int i = 0; !parent_is_anchor && i < sk_X509_num (parent->chain); i++) {
        X509 *x = sk_X509_value (parent->chain, i);
        X509_up_ref (x);
        sk_X509_push (o->chain, x);
    }
}

/* A trust state for o (its references are taken: copies are passed). */
static inline xf_trust_t *xf_test_trust (xf_test_pki_t *anchor, xf_test_pki_t *o,
                                         const char *code, int64_t now, xf_err_t *err)
{
    X509_up_ref (anchor->cert);
    EVP_PKEY_up_ref (o->key);
    STACK_OF (X509) *chain = sk_X509_dup (o->chain);
    for (int i = 0; i < sk_X509_num (chain); i++)
        X509_up_ref (sk_X509_value (chain, i));
    xf_trust_t *t = xf_trust_new (anchor->cert, chain, o->key, code, o->curve_pub, now, err);
    if (t && xf_trust_set_curve_secret (t, o->curve_sec, err) != XF_OK)
        xf_trust_destroy (&t);
    return t;
}

static inline void xf_test_pki_free (xf_test_pki_t *o)
{
    EVP_PKEY_free (o->key);
    X509_free (o->cert);
    sk_X509_pop_free (o->chain, X509_free);
    memset (o, 0, sizeof *o);
}

#endif
