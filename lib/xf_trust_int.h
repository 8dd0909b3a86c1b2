/* xf_trust_int.h — the trust state shared by xf_trust.c (certificates, envelopes, children)
 * and xf_trust_seal.c (the directory of offices' certificates, sealing and opening). */
#ifndef XF_TRUST_INT_H
#define XF_TRUST_INT_H

#include "xf_trust.h"

typedef struct {   /* a signer whose chain verified (the envelope cache) */
    char fp[XF_CERT_FP_LEN + 1];
    char code[16];
    EVP_PKEY *pub;
    int64_t not_before, not_after;
} known_t;

/* An office's certificate as the directory holds it: what finding, replacing, chaining and
 * sealing need (~170 bytes, not xf_cert_info_t's ~460). */
typedef struct {
    char code[16];
    char issuer[16];
    char fingerprint[XF_CERT_FP_LEN + 1];
    int64_t not_before;
    uint8_t curve[32];
    ProtobufCBinaryData der;   /* the certificate itself: decoded only when needed, since a
                                * decoded X509 takes ~5 KiB and a national root holds 3,345 */
    EVP_PKEY *seal;            /* what identities are sealed to: X25519 (its CURVE key) or SM2;
                                * made at the first seal to the office */
} office_cert_t;

struct xf_trust {
    xf_profile_t profile;
    X509 *anchor;
    xf_cert_info_t anchor_info;
    STACK_OF (X509) *chain;      /* this office's certificate first, the anchor excluded */
    xf_cert_info_t own;
    EVP_PKEY *key;
    EVP_PKEY *open_key;          /* opens what is sealed to this office (NULL: not set yet) */
    EVP_PKEY **retired;          /* open keys of earlier certificates (key rotation) */
    size_t n_retired;
    ProtobufCBinaryData *chain_der;
    size_t n_chain;
    known_t *known;
    size_t n_known;
    office_cert_t *dir;
    size_t n_dir, cap_dir;
    char (*revoked)[XF_CERT_FP_LEN + 1];   /* fingerprints refused wherever they appear */
    size_t n_revoked;
};

/* Whether fp is revoked; and the fingerprint of x when it is (for messages). */
bool xf_trust_cert_revoked (const xf_trust_t *t, X509 *x, char fp[XF_CERT_FP_LEN + 1]);

/* The directory's certificate of office code, decoded (the caller frees it), or NULL. */
X509 *xf_trust_dir_cert (const xf_trust_t *t, const char *code);
/* Drops the directory's certificate with this fingerprint, if it holds it. */
void xf_trust_dir_forget (xf_trust_t *t, const char *fingerprint);
/* Puts the anchor and this office's chain into the directory (xf_trust_new). */
int  xf_trust_dir_init (xf_trust_t *t, xf_err_t *err);
void xf_trust_dir_free (xf_trust_t *t);

#endif
