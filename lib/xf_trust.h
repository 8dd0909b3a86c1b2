/* xf_trust.h — one office's end-to-end trust: the anchor it pins, its own certificate chain and
 * signing key; signing the envelopes it originates and verifying those addressed to it against
 * their origin's certificate; issuing certificates to its children and judging the
 * certificate a child's link is admitted by.
 *
 * An envelope's origin signs the packed Envelope bytes and sends its certificate chain beside
 * them (SignedEnvelope.chain), so a receiver needs nothing but the anchor to verify it, and a
 * relay forwards the bytes untouched. A receiver verifies a chain once and caches the result
 * by the leaf's fingerprint (SignedEnvelope.signer) until the certificate expires. */
#ifndef XF_TRUST_H
#define XF_TRUST_H

#include <stdbool.h>
#include "xf_cert.h"
#include "xf_crypto.h"
#include "xfsync.pb-c.h"

typedef struct xf_trust xf_trust_t;

#define XF_TRUST_CHAIN_MAX 8   /* certificates an envelope may carry */

/* Takes anchor, chain (this office's certificate first; an anchor at its end is dropped) and
 * key in every case. Refused (XF_ECONFIG naming what to fix) unless the chain verifies to the
 * anchor at now, its first certificate names code and curve_public (the CURVE key of
 * key_file) and key is that certificate's key. */
xf_trust_t *xf_trust_new (X509 *anchor, STACK_OF (X509) *chain, EVP_PKEY *key, const char *code,
                          const uint8_t curve_public[32], int64_t now, xf_err_t *err);
/* The same from PEM files. */
xf_trust_t *xf_trust_load (const char *anchor_path, const char *chain_path, const char *key_path,
                           const char *code, const uint8_t curve_public[32], int64_t now,
                           xf_err_t *err);
void xf_trust_destroy (xf_trust_t **t_p);

xf_profile_t          xf_trust_profile (const xf_trust_t *t);
const xf_cert_info_t *xf_trust_own (const xf_trust_t *t);
const xf_cert_info_t *xf_trust_anchor_info (const xf_trust_t *t);
/* The certificate of the office above this one (the next in the chain, else the anchor);
 * XF_ENOTFOUND for the anchor office itself. */
int xf_trust_issuer_info (const xf_trust_t *t, xf_cert_info_t *out, xf_err_t *err);
/* Whether the office stands where the configuration says: the anchor is of the configured
 * profile, and this office's certificate was issued by parent_code (NULL: this office is the
 * root). XF_ECONFIG naming what to fix; *issuer (may be NULL) gets the certificate above. */
int xf_trust_check_place (const xf_trust_t *t, xf_profile_t profile, const char *parent_code,
                          xf_cert_info_t *issuer, xf_err_t *err);
/* This office's chain as DER (its certificate first, the anchor excluded), borrowed. */
const ProtobufCBinaryData *xf_trust_chain_der (const xf_trust_t *t, size_t *n);
/* This office's chain as PEM (its certificate first), malloc'd. */
char *xf_trust_chain_pem (const xf_trust_t *t);

/* Signs se->envelope (already packed) as this office: sets signature (into sig, which must
 * outlive se), signer and chain (owned by t). */
int xf_trust_sign (xf_trust_t *t, Xf__SignedEnvelope *se, uint8_t sig[XF_SIG_MAX], xf_err_t *err);

/* XF_OK when se is signed by origin's key, as certified by the chain it carries under the
 * anchor at time now; else XF_EPERM with the reason ("no signature", "certificate of 411324:
 * certificate has expired", "the signature does not match", …). */
int xf_trust_verify (xf_trust_t *t, const Xf__SignedEnvelope *se, const char *origin, int64_t now,
                     xf_err_t *err);
/* Chains verified so far (the cache), for status. */
size_t xf_trust_known (const xf_trust_t *t);

/* Issues a certificate to a child office from its request (xf_cert_issue with this office's
 * key): *pem gets the new certificate followed by this office's chain, which is the chain
 * file the child installs; *issued (may be NULL) what it says; *cert (may be NULL) the
 * certificate itself (the caller frees). */
int xf_trust_issue (xf_trust_t *t, const char *request, size_t len, int64_t now, int days,
                    char **pem, xf_cert_info_t *issued, X509 **cert, xf_err_t *err);

/* Revokes a certificate by its fingerprint: an envelope it signs or a chain it is in is refused
 * from now on, it leaves the directory, and xf_trust_check_child refuses it. */
int  xf_trust_revoke (xf_trust_t *t, const char *fingerprint, xf_err_t *err);
bool xf_trust_revoked (const xf_trust_t *t, const char *fingerprint);

/* Fills in and signs a revocation of a certificate this office issued (fingerprint, code,
 * serial, at and reason set by the caller): issuer and signature (into sig, which must outlive
 * r). The certificate is revoked here too. */
int xf_trust_sign_revocation (xf_trust_t *t, Xf__Revocation *r, uint8_t sig[XF_SIG_MAX],
                              xf_err_t *err);
/* Takes a revocation another office signed: XF_OK (revoked here from now on) when the issuer's
 * certificate is in the directory, the revoked office lies under the issuer and the signature
 * is the issuer's; XF_EEXIST when it is known already; XF_EPERM saying why not. */
int xf_trust_take_revocation (xf_trust_t *t, const Xf__Revocation *r, xf_err_t *err);
/* Certificates revoked here (for status). */
size_t xf_trust_revocations (const xf_trust_t *t);

/* Whether cert admits child office `child` to a link with this office: it verifies under the
 * anchor at now with this office's chain above it, this office issued it, and it names child.
 * XF_EPERM with the reason. */
int xf_trust_check_child (xf_trust_t *t, X509 *cert, const char *child, int64_t now,
                          xf_err_t *err);

/* ---------------------------------------------------------------- the directory and sealing
 *
 * The directory holds the current certificate of every office this one has learned: the anchor
 * and its own chain from the start; its children's subtrees from their hellos; the offices
 * above from the parent's hello; any origin whose envelope verified. A certificate enters only
 * when it verifies under the anchor; a newer certificate of an office replaces an older one. */

typedef struct {
    size_t learned;        /* certificates that entered the directory */
    size_t refused;        /* that did not verify or decode */
    char why[256];         /* the last refusal */
} xf_trust_learned_t;

/* Called for each certificate that entered (der borrowed), e.g. to store it. */
typedef void (*xf_trust_fresh_fn) (const char *code, const ProtobufCBinaryData *der, void *arg);

/* Learns what ders holds (DER certificates in any order: intermediates are found among them and
 * in the directory). Refusals are counted in *out, not errors; XF_ENOMEM only. */
int xf_trust_learn (xf_trust_t *t, const ProtobufCBinaryData *ders, size_t n, int64_t now,
                    xf_trust_fresh_fn fresh, void *arg, xf_trust_learned_t *out, xf_err_t *err);
/* The fingerprint of the directory's certificate of office code, or NULL. */
const char *xf_trust_office (const xf_trust_t *t, const char *code);
size_t xf_trust_offices (const xf_trust_t *t);
/* The DER certificates the directory holds for codes (borrowed), at most max; how many. */
size_t xf_trust_certificates (const xf_trust_t *t, const char *const *codes, size_t n,
                              ProtobufCBinaryData *out, size_t max);

/* The key that opens what is sealed to this office: standard, its CURVE secret key (32 raw
 * bytes); national, its signing key (secret ignored). Until it is set nothing opens. */
int xf_trust_set_curve_secret (xf_trust_t *t, const uint8_t secret[32], xf_err_t *err);
/* An earlier open key (taken), still tried after a key rotation: identities sealed to the old
 * key before the office's new certificate was known keep opening. */
int xf_trust_retire_key (xf_trust_t *t, EVP_PKEY *key, xf_err_t *err);

/* Seals plain (a packed Petitioner) to office `recipient` by its directory certificate, bound
 * to case_id: *out is a new SealedIdentity (free with xf__sealed_identity__free_unpacked).
 * XF_ENOTFOUND when no certificate of the recipient is known. */
int xf_trust_seal (xf_trust_t *t, const char *recipient, const char *case_id, const uint8_t *plain,
                   size_t len, Xf__SealedIdentity **out, xf_err_t *err);
/* Opens an entry sealed to this office for case_id; *plain is malloc'd (clear it, then free).
 * XF_EPERM when it is another office's or does not open. */
int xf_trust_open (xf_trust_t *t, const char *case_id, const Xf__SealedIdentity *in,
                   uint8_t **plain, size_t *len, xf_err_t *err);

#endif
