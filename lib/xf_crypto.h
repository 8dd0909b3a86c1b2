/* xf_crypto.h — the cryptography of xfsync, on OpenSSL 3 (libcrypto), and the one place that
 * knows the two algorithm profiles:
 *
 *   standard  Ed25519 signatures; SHA-256; sealing to an office's X25519 key (its CURVE key)
 *             with an ephemeral X25519 key, HKDF-SHA256 and AES-256-GCM.
 *   national  国密: SM2 signatures with the signer ID 1234567812345678 set on both sides
 *             (OpenSSL 3.0's default ID is empty, which no other SM2 implementation uses);
 *             SM3; sealing to an office's SM2 key: SM2 encryption of a random seed, HKDF-SM3
 *             to an SM4 key and an HMAC key, SM4-CTR then HMAC-SM3 over the associated data,
 *             the IV and the ciphertext (encrypt-then-MAC: Debian 12's OpenSSL has no SM4-GCM).
 *
 * Nothing here is hand-written cryptography: every primitive is an EVP call. Keys are
 * EVP_PKEY; the caller frees them with EVP_PKEY_free. */
#ifndef XF_CRYPTO_H
#define XF_CRYPTO_H

#include <openssl/evp.h>
#include <stddef.h>
#include <stdint.h>
#include "xf_err.h"
#include "xfsync.pb-c.h"

typedef enum { XF_PROFILE_STANDARD = 0, XF_PROFILE_NATIONAL = 1 } xf_profile_t;

#define XF_HASH_LEN 32          /* SHA-256 and SM3 */
#define XF_SIG_MAX  80          /* Ed25519: 64; SM2: DER, at most 72 */
#define XF_SM2_ID   "1234567812345678"

/* "standard" / "national" ↔ the profile; parse returns XF_EINVAL naming both choices. */
int         xf_profile_parse (const char *s, xf_profile_t *p, xf_err_t *err);
const char *xf_profile_name (xf_profile_t p);
/* The profile a signing key belongs to; -1 for a key of neither. */
int         xf_profile_of_key (const EVP_PKEY *key);

/* The profile's digest (SHA-256 or SM3), fetched from the provider once per process: an
 * EVP_sha256 () handed to EVP_Digest* is looked up again on every call, which cost half of
 * each hash of the audit chain. Never freed; NULL only when the provider lacks it. */
const EVP_MD *xf_md (xf_profile_t p);
/* SHA-256 or SM3 of the concatenation of n parts. */
int xf_hash (xf_profile_t p, const void *const *parts, const size_t *lens, size_t n,
             uint8_t out[XF_HASH_LEN], xf_err_t *err);

/* ---------------------------------------------------------------- signing keys */

EVP_PKEY *xf_key_generate (xf_profile_t p, xf_err_t *err);
/* A PEM private key file (PKCS#8). Refuses a key of neither profile. */
EVP_PKEY *xf_key_load (const char *path, xf_err_t *err);
/* Writes a PEM private key to path, created exclusively with mode 0600: an office's signing
 * key is never overwritten. */
int       xf_key_save (const char *path, EVP_PKEY *key, xf_err_t *err);
/* 1 when a and b hold the same public key. */
int       xf_key_same_public (const EVP_PKEY *a, const EVP_PKEY *b);

/* A digest-sign (verify 0) or digest-verify context for key: SM2 over SM3 with the signer ID
 * XF_SM2_ID, or pure Ed25519. NULL on failure. For X509_sign_ctx and the like. */
EVP_MD_CTX *xf_crypto_md_ctx (EVP_PKEY *key, int verify);

/* Signs msg; *sig_len gets the length (at most XF_SIG_MAX). */
int xf_sign (EVP_PKEY *key, const void *msg, size_t len, uint8_t sig[XF_SIG_MAX],
             size_t *sig_len, xf_err_t *err);
/* XF_OK when sig is key's signature of msg, else XF_EPERM "the signature does not match". */
int xf_verify (EVP_PKEY *pub, const void *msg, size_t len, const uint8_t *sig, size_t sig_len,
               xf_err_t *err);

/* ---------------------------------------------------------------- sealing */

/* An X25519 key from the 32 raw bytes of a CURVE key (public, or secret when secret is 1). */
EVP_PKEY *xf_key_x25519 (const uint8_t raw[32], int secret, xf_err_t *err);

/* Seals plaintext to the holder of recipient's private key (standard: an X25519 key; national:
 * an SM2 key). context is bound in as associated data (the case id and the recipient): a
 * sealed field copied into another record does not open. Fills out's ciphertext, nonce, tag
 * and ephemeral_key with malloc'd buffers (recipient is the caller's); on failure out is left
 * with none of them. */
int xf_seal (xf_profile_t p, EVP_PKEY *recipient, const char *context, const uint8_t *plain,
             size_t len, Xf__SealedIdentity *out, xf_err_t *err);
/* Opens what xf_seal made for own (the private key); *plain is malloc'd (the caller frees it,
 * after clearing it). XF_EPERM when it does not open: another recipient, another context, or
 * altered. */
int xf_open (xf_profile_t p, EVP_PKEY *own, const char *context, const Xf__SealedIdentity *in,
             uint8_t **plain, size_t *len, xf_err_t *err);
/* Frees the buffers xf_seal set (not the message itself). */
void xf_sealed_clear (Xf__SealedIdentity *s);

/* The last OpenSSL error as text ("" when there is none), for messages. Clears the queue. */
const char *xf_crypto_error (char *buf, size_t size);
/* Sets err to "what: <the last OpenSSL error>" (just what when there is none) with code, and
 * returns code. */
int xf_crypto_fail (xf_err_t *err, int code, const char *what);

#endif
