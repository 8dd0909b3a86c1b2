/* xf_crypto.c — signatures, hashes and sealing for the two profiles of xf_crypto.h, each an
 * EVP call of OpenSSL 3. */
#include "xf_crypto.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/kdf.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define SEAL_INFO    "xfsync seal 1"
#define GCM_NONCE    12
#define GCM_TAG      16
#define SM4_KEY      16
#define SM4_IV       16
#define SM3_MAC      32

const char *xf_crypto_error (char *buf, size_t size)
{
    unsigned long e = ERR_peek_last_error ();
    buf[0] = 0;
    if (e)
        ERR_error_string_n (e, buf, size);
    ERR_clear_error ();
    return buf;
}

int xf_crypto_fail (xf_err_t *err, int code, const char *what)
{
    char why[256];
    xf_crypto_error (why, sizeof why);
    return xf_err_set (err, code, "%s%s%s", what, *why ? ": " : "", why);
}

int xf_profile_parse (const char *s, xf_profile_t *p, xf_err_t *err)
{
    if (strcmp (s, "standard") == 0)
        *p = XF_PROFILE_STANDARD;
    else if (strcmp (s, "national") == 0)
        *p = XF_PROFILE_NATIONAL;
    else
        return xf_err_set (err, XF_EINVAL, "unknown algorithm profile \"%s\" (expected standard: "
                           "Ed25519, X25519, AES-256-GCM; or national: SM2, SM3, SM4)", s);
    return XF_OK;
}

const char *xf_profile_name (xf_profile_t p)
{
    return p == XF_PROFILE_NATIONAL ? "national" : "standard";
}

int xf_profile_of_key (const EVP_PKEY *key)
{
    if (key && EVP_PKEY_is_a (key, "ED25519"))
        return XF_PROFILE_STANDARD;
    if (key && EVP_PKEY_is_a (key, "SM2"))
        return XF_PROFILE_NATIONAL;
    return -1;
}

static EVP_MD *fetched[2];
static pthread_once_t fetch_once = PTHREAD_ONCE_INIT;

static void fetch_digests (void)
{
    fetched[XF_PROFILE_STANDARD] = EVP_MD_fetch (NULL, "SHA256", NULL);
    fetched[XF_PROFILE_NATIONAL] = EVP_MD_fetch (NULL, "SM3", NULL);
}

const EVP_MD *xf_md (xf_profile_t p)
{
    pthread_once (&fetch_once, fetch_digests);
    return fetched[p == XF_PROFILE_NATIONAL];
}

/* One digest context per thread, kept: a new one (and OpenSSL's state behind it) for every
 * hash was two allocations and frees per audit record and per share hash. */
static _Thread_local EVP_MD_CTX *hash_ctx;

int xf_hash (xf_profile_t p, const void *const *parts, const size_t *lens, size_t n,
             uint8_t out[XF_HASH_LEN], xf_err_t *err)
{
    unsigned len = 0;
    if (!hash_ctx)
        hash_ctx = EVP_MD_CTX_new ();
    int ok = hash_ctx && EVP_DigestInit_ex2 (hash_ctx, xf_md (p), NULL) == 1;
    for (size_t i = 0; ok && i < n; i++)
        ok = EVP_DigestUpdate (hash_ctx, parts[i], lens[i]) == 1;
    ok = ok && EVP_DigestFinal_ex (hash_ctx, out, &len) == 1 && len == XF_HASH_LEN;
    return ok ? XF_OK : xf_crypto_fail (err, XF_ENOMEM, "cannot compute a hash");
}

/* ---------------------------------------------------------------- signing keys */

EVP_PKEY *xf_key_generate (xf_profile_t p, xf_err_t *err)
{
    EVP_PKEY *k = EVP_PKEY_Q_keygen (NULL, NULL, p == XF_PROFILE_NATIONAL ? "SM2" : "ED25519");
    if (!k)
        xf_crypto_fail (err, XF_ENOMEM, "cannot generate a signing key");
    return k;
}

EVP_PKEY *xf_key_load (const char *path, xf_err_t *err)
{
    FILE *f = fopen (path, "r");
    if (!f) {
        xf_err_set (err, XF_EIO, "cannot read the signing key %s: %s", path, strerror (errno));
        return NULL;
    }
    EVP_PKEY *k = PEM_read_PrivateKey (f, NULL, NULL, NULL);
    fclose (f);
    if (!k) {
        char what[300];
        snprintf (what, sizeof what, "%s is not a PEM private key", path);
        xf_crypto_fail (err, XF_EINVAL, what);
        return NULL;
    }
    if (xf_profile_of_key (k) < 0) {
        xf_err_set (err, XF_EINVAL, "%s holds a %s key; a signing key is Ed25519 (standard "
                    "profile) or SM2 (national)", path, EVP_PKEY_get0_type_name (k));
        EVP_PKEY_free (k);
        return NULL;
    }
    return k;
}

int xf_key_save (const char *path, EVP_PKEY *key, xf_err_t *err)
{
    int fd = open (path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd < 0 && errno == EEXIST)
        return xf_err_set (err, XF_EEXIST, "%s already exists; refusing to overwrite a signing "
                           "key (move it away first if you really mean to replace it)", path);
    if (fd < 0)
        return xf_err_set (err, XF_EIO, "cannot create %s: %s", path, strerror (errno));
    FILE *f = fdopen (fd, "w");
    int ok = f && PEM_write_PrivateKey (f, key, NULL, NULL, 0, NULL, NULL) == 1
             && fflush (f) == 0 && fsync (fd) == 0;
    int saved = errno;
    if (f ? fclose (f) != 0 : close (fd) != 0)
        ok = 0;
    if (!ok) {
        unlink (path);
        return xf_err_set (err, XF_EIO, "cannot write %s: %s", path, strerror (saved));
    }
    return XF_OK;
}

int xf_key_same_public (const EVP_PKEY *a, const EVP_PKEY *b)
{
    return a && b && EVP_PKEY_eq (a, b) == 1;
}

EVP_MD_CTX *xf_crypto_md_ctx (EVP_PKEY *key, int verify)
{
    EVP_MD_CTX *m = EVP_MD_CTX_new ();
    EVP_PKEY_CTX *pc = NULL;
    int sm2 = xf_profile_of_key (key) == XF_PROFILE_NATIONAL;
    const char *md = sm2 ? "SM3" : NULL;
    int ok = m && (verify ? EVP_DigestVerifyInit_ex (m, &pc, md, NULL, NULL, key, NULL)
                          : EVP_DigestSignInit_ex (m, &pc, md, NULL, NULL, key, NULL)) == 1;
    if (ok && sm2)
        ok = EVP_PKEY_CTX_set1_id (pc, XF_SM2_ID, strlen (XF_SM2_ID)) == 1;
    if (!ok) {
        EVP_MD_CTX_free (m);
        return NULL;
    }
    return m;
}

int xf_sign (EVP_PKEY *key, const void *msg, size_t len, uint8_t sig[XF_SIG_MAX],
             size_t *sig_len, xf_err_t *err)
{
    EVP_MD_CTX *m = xf_crypto_md_ctx (key, 0);
    *sig_len = XF_SIG_MAX;
    int ok = m && EVP_DigestSign (m, sig, sig_len, msg, len) == 1;
    EVP_MD_CTX_free (m);
    return ok ? XF_OK : xf_crypto_fail (err, XF_EINVAL, "cannot sign");
}

int xf_verify (EVP_PKEY *pub, const void *msg, size_t len, const uint8_t *sig, size_t sig_len,
               xf_err_t *err)
{
    EVP_MD_CTX *m = xf_crypto_md_ctx (pub, 1);
    int ok = m && EVP_DigestVerify (m, sig, sig_len, msg, len) == 1;
    EVP_MD_CTX_free (m);
    ERR_clear_error ();
    return ok ? XF_OK : xf_err_set (err, XF_EPERM, "the signature does not match");
}

/* ---------------------------------------------------------------- sealing */

EVP_PKEY *xf_key_x25519 (const uint8_t raw[32], int secret, xf_err_t *err)
{
    EVP_PKEY *k = secret ? EVP_PKEY_new_raw_private_key (EVP_PKEY_X25519, NULL, raw, 32)
                         : EVP_PKEY_new_raw_public_key (EVP_PKEY_X25519, NULL, raw, 32);
    if (!k)
        xf_crypto_fail (err, XF_EINVAL, "not an X25519 key");
    return k;
}

static int hkdf (const char *md, const uint8_t *ikm, size_t ikm_len, const uint8_t *salt,
                 size_t salt_len, uint8_t *out, size_t out_len)
{
    EVP_KDF *kdf = EVP_KDF_fetch (NULL, "HKDF", NULL);
    EVP_KDF_CTX *k = kdf ? EVP_KDF_CTX_new (kdf) : NULL;
    OSSL_PARAM params[] = {
        OSSL_PARAM_construct_utf8_string (OSSL_KDF_PARAM_DIGEST, (char *) md, 0),
        OSSL_PARAM_construct_octet_string (OSSL_KDF_PARAM_KEY, (void *) ikm, ikm_len),
        OSSL_PARAM_construct_octet_string (OSSL_KDF_PARAM_SALT, (void *) salt, salt_len),
        OSSL_PARAM_construct_octet_string (OSSL_KDF_PARAM_INFO, SEAL_INFO, strlen (SEAL_INFO)),
        OSSL_PARAM_construct_end ()};
    int ok = k && EVP_KDF_derive (k, out, out_len, params) == 1;
    EVP_KDF_CTX_free (k);
    EVP_KDF_free (kdf);
    return ok;
}

static int set_bytes (ProtobufCBinaryData *b, const uint8_t *v, size_t len)
{
    b->data = malloc (len ? len : 1);
    if (!b->data)
        return 0;
    memcpy (b->data, v, len);
    b->len = len;
    return 1;
}

void xf_sealed_clear (Xf__SealedIdentity *s)
{
    ProtobufCBinaryData *v[] = {&s->ciphertext, &s->nonce, &s->tag, &s->ephemeral_key};
    for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
        free (v[i]->data);
        *v[i] = (ProtobufCBinaryData) {0, NULL};
    }
}

/* X25519 between a and the public b: the key of an AEAD bound to both public keys. */
static int x25519_key (EVP_PKEY *own, EVP_PKEY *peer, const uint8_t eph_pub[32],
                       const uint8_t rcpt_pub[32], uint8_t key[32])
{
    uint8_t shared[32], salt[64];
    size_t len = sizeof shared;
    EVP_PKEY_CTX *d = EVP_PKEY_CTX_new (own, NULL);
    int ok = d && EVP_PKEY_derive_init (d) == 1 && EVP_PKEY_derive_set_peer (d, peer) == 1
             && EVP_PKEY_derive (d, shared, &len) == 1 && len == sizeof shared;
    EVP_PKEY_CTX_free (d);
    memcpy (salt, eph_pub, 32);
    memcpy (salt + 32, rcpt_pub, 32);
    ok = ok && hkdf ("SHA256", shared, sizeof shared, salt, sizeof salt, key, 32);
    OPENSSL_cleanse (shared, sizeof shared);
    return ok;
}

/* AES-256-GCM over plain (enc) or cipher (!enc) with aad; the tag is written or checked. */
static int gcm (int enc, const uint8_t key[32], const uint8_t nonce[GCM_NONCE], const char *aad,
                const uint8_t *in, size_t len, uint8_t *out, uint8_t tag[GCM_TAG])
{
    EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new ();
    int n = 0, fin = 0;
    int ok = c && EVP_CipherInit_ex (c, EVP_aes_256_gcm (), NULL, key, nonce, enc) == 1
             && EVP_CipherUpdate (c, NULL, &n, (const uint8_t *) aad, (int) strlen (aad)) == 1
             && (len == 0 || EVP_CipherUpdate (c, out, &n, in, (int) len) == 1)
             && (enc || EVP_CIPHER_CTX_ctrl (c, EVP_CTRL_GCM_SET_TAG, GCM_TAG, tag) == 1)
             && EVP_CipherFinal_ex (c, out + (len ? n : 0), &fin) == 1
             && (!enc || EVP_CIPHER_CTX_ctrl (c, EVP_CTRL_GCM_GET_TAG, GCM_TAG, tag) == 1);
    EVP_CIPHER_CTX_free (c);
    return ok;
}

static int seal_standard (EVP_PKEY *rcpt, const char *context, const uint8_t *plain, size_t len,
                          Xf__SealedIdentity *out)
{
    uint8_t eph_pub[32], rcpt_pub[32], key[32], nonce[GCM_NONCE], tag[GCM_TAG];
    size_t n1 = 32, n2 = 32;
    uint8_t *ct = malloc (len ? len : 1);
    EVP_PKEY *eph = EVP_PKEY_Q_keygen (NULL, NULL, "X25519");
    int ok = ct && eph && EVP_PKEY_get_raw_public_key (eph, eph_pub, &n1) == 1
             && EVP_PKEY_get_raw_public_key (rcpt, rcpt_pub, &n2) == 1
             && x25519_key (eph, rcpt, eph_pub, rcpt_pub, key)
             && RAND_bytes (nonce, sizeof nonce) == 1
             && gcm (1, key, nonce, context, plain, len, ct, tag)
             && set_bytes (&out->ciphertext, ct, len) && set_bytes (&out->nonce, nonce, sizeof nonce)
             && set_bytes (&out->tag, tag, sizeof tag) && set_bytes (&out->ephemeral_key, eph_pub, 32);
    OPENSSL_cleanse (key, sizeof key);
    EVP_PKEY_free (eph);
    free (ct);
    return ok;
}

static int open_standard (EVP_PKEY *own, const char *context, const Xf__SealedIdentity *in,
                          uint8_t *plain)
{
    uint8_t rcpt_pub[32], key[32], tag[GCM_TAG];
    size_t n = 32;
    if (in->ephemeral_key.len != 32 || in->nonce.len != GCM_NONCE || in->tag.len != GCM_TAG)
        return 0;
    memcpy (tag, in->tag.data, GCM_TAG);
    EVP_PKEY *eph = EVP_PKEY_new_raw_public_key (EVP_PKEY_X25519, NULL, in->ephemeral_key.data, 32);
    int ok = eph && EVP_PKEY_get_raw_public_key (own, rcpt_pub, &n) == 1
             && x25519_key (own, eph, in->ephemeral_key.data, rcpt_pub, key)
             && gcm (0, key, in->nonce.data, context, in->ciphertext.data, in->ciphertext.len,
                     plain, tag);
    OPENSSL_cleanse (key, sizeof key);
    EVP_PKEY_free (eph);
    return ok;
}

/* national: the SM4 key and the HMAC key from the seed */
static int national_keys (const uint8_t seed[32], uint8_t keys[SM4_KEY + SM3_MAC])
{
    return hkdf ("SM3", seed, 32, (const uint8_t *) "", 0, keys, SM4_KEY + SM3_MAC);
}

static int sm4_ctr (const uint8_t key[SM4_KEY], const uint8_t iv[SM4_IV], const uint8_t *in,
                    size_t len, uint8_t *out)
{
    EVP_CIPHER *sm4 = EVP_CIPHER_fetch (NULL, "SM4-CTR", NULL);
    EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new ();
    int n = 0, fin = 0;
    int ok = sm4 && c && EVP_EncryptInit_ex2 (c, sm4, key, iv, NULL) == 1
             && (len == 0 || EVP_EncryptUpdate (c, out, &n, in, (int) len) == 1)
             && EVP_EncryptFinal_ex (c, out + n, &fin) == 1;
    EVP_CIPHER_CTX_free (c);
    EVP_CIPHER_free (sm4);
    return ok;
}

/* HMAC-SM3 over len(context) ‖ context ‖ iv ‖ ciphertext */
static int sm3_mac (const uint8_t key[SM3_MAC], const char *context, const uint8_t iv[SM4_IV],
                    const uint8_t *ct, size_t len, uint8_t mac[SM3_MAC])
{
    size_t clen = strlen (context), total = 4 + clen + SM4_IV + len, out_len = 0;
    uint8_t *buf = malloc (total);
    if (!buf)
        return 0;
    buf[0] = (uint8_t) (clen >> 24), buf[1] = (uint8_t) (clen >> 16);
    buf[2] = (uint8_t) (clen >> 8), buf[3] = (uint8_t) clen;
    memcpy (buf + 4, context, clen);
    memcpy (buf + 4 + clen, iv, SM4_IV);
    if (len)
        memcpy (buf + 4 + clen + SM4_IV, ct, len);
    int ok = EVP_Q_mac (NULL, "HMAC", NULL, "SM3", NULL, key, SM3_MAC, buf, total, mac, SM3_MAC,
                        &out_len) != NULL && out_len == SM3_MAC;
    free (buf);
    return ok;
}

static int seal_national (EVP_PKEY *rcpt, const char *context, const uint8_t *plain, size_t len,
                          Xf__SealedIdentity *out)
{
    uint8_t seed[32], keys[SM4_KEY + SM3_MAC], iv[SM4_IV], mac[SM3_MAC];
    uint8_t *ct = malloc (len ? len : 1), *ek = NULL;
    size_t ek_len = 0;
    EVP_PKEY_CTX *e = EVP_PKEY_CTX_new (rcpt, NULL);
    int ok = ct && e && RAND_bytes (seed, sizeof seed) == 1 && RAND_bytes (iv, sizeof iv) == 1
             && EVP_PKEY_encrypt_init (e) == 1
             && EVP_PKEY_encrypt (e, NULL, &ek_len, seed, sizeof seed) == 1
             && (ek = malloc (ek_len)) != NULL
             && EVP_PKEY_encrypt (e, ek, &ek_len, seed, sizeof seed) == 1
             && national_keys (seed, keys) && sm4_ctr (keys, iv, plain, len, ct)
             && sm3_mac (keys + SM4_KEY, context, iv, ct, len, mac)
             && set_bytes (&out->ciphertext, ct, len) && set_bytes (&out->nonce, iv, sizeof iv)
             && set_bytes (&out->tag, mac, sizeof mac) && set_bytes (&out->ephemeral_key, ek, ek_len);
    OPENSSL_cleanse (seed, sizeof seed);
    OPENSSL_cleanse (keys, sizeof keys);
    EVP_PKEY_CTX_free (e);
    free (ek);
    free (ct);
    return ok;
}

static int open_national (EVP_PKEY *own, const char *context, const Xf__SealedIdentity *in,
                          uint8_t *plain)
{
    uint8_t seed[64], keys[SM4_KEY + SM3_MAC], mac[SM3_MAC];
    size_t seed_len = sizeof seed;
    if (in->nonce.len != SM4_IV || in->tag.len != SM3_MAC)
        return 0;
    EVP_PKEY_CTX *d = EVP_PKEY_CTX_new (own, NULL);
    int ok = d && EVP_PKEY_decrypt_init (d) == 1
             && EVP_PKEY_decrypt (d, seed, &seed_len, in->ephemeral_key.data,
                                  in->ephemeral_key.len) == 1
             && seed_len == 32 && national_keys (seed, keys)
             && sm3_mac (keys + SM4_KEY, context, in->nonce.data, in->ciphertext.data,
                         in->ciphertext.len, mac)
             && CRYPTO_memcmp (mac, in->tag.data, SM3_MAC) == 0
             && sm4_ctr (keys, in->nonce.data, in->ciphertext.data, in->ciphertext.len, plain);
    OPENSSL_cleanse (seed, sizeof seed);
    OPENSSL_cleanse (keys, sizeof keys);
    EVP_PKEY_CTX_free (d);
    return ok;
}

int xf_seal (xf_profile_t p, EVP_PKEY *recipient, const char *context, const uint8_t *plain,
             size_t len, Xf__SealedIdentity *out, xf_err_t *err)
{
    int ok = p == XF_PROFILE_NATIONAL ? seal_national (recipient, context, plain, len, out)
                                      : seal_standard (recipient, context, plain, len, out);
    if (!ok) {
        xf_sealed_clear (out);
        return xf_crypto_fail (err, XF_EINVAL, "cannot seal");
    }
    return XF_OK;
}

int xf_open (xf_profile_t p, EVP_PKEY *own, const char *context, const Xf__SealedIdentity *in,
             uint8_t **plain, size_t *len, xf_err_t *err)
{
    size_t n = in->ciphertext.len;
    uint8_t *buf = malloc (n + 1);
    if (!buf)
        return xf_err_set (err, XF_ENOMEM, "out of memory");
    int ok = p == XF_PROFILE_NATIONAL ? open_national (own, context, in, buf)
                                      : open_standard (own, context, in, buf);
    ERR_clear_error ();
    if (!ok) {
        OPENSSL_cleanse (buf, n);
        free (buf);
        return xf_err_set (err, XF_EPERM, "the sealed data does not open with this office's key "
                           "(sealed for another office, moved to another record, or altered)");
    }
    buf[n] = 0;
    *plain = buf;
    *len = n;
    return XF_OK;
}
