/* xf_cert.h — node certificates (X.509, OpenSSL 3), issued down the tree.
 *
 * The root office signs its own certificate, which every node pins as the trust anchor; every
 * other office's certificate is signed by its parent. A certificate's subject names the office:
 * CN = its GB/T 2260 code, O = its name (UTF-8). Its public key is the office's signing key
 * (Ed25519, or SM2 with the national profile); its subjectAltName carries the office's CURVE
 * public key as URI:urn:xfsync:curve:<64 hex digits>, so `openssl x509 -text` shows it and a
 * parent admits a child's link by the key its certificate names. Every office certificate is a
 * CA (an office issues to its children); an office below the anchor can only issue for codes
 * under its own (GB/T 2260 codes are hierarchical: 411324 is under 411300, under 410000).
 *
 * Files are PEM. A chain file holds the office's certificate first, then its issuer's, up to
 * (not including) the anchor. */
#ifndef XF_CERT_H
#define XF_CERT_H

#include <openssl/x509.h>
#include <stdbool.h>
#include <stdint.h>
#include "xf_crypto.h"
#include "xf_err.h"

#define XF_CERT_FP_LEN   64   /* hex SHA-256 of the DER */
#define XF_CERT_DAYS     1095 /* default validity: three years */
#define XF_CERT_MAX_DAYS 3650

typedef struct {
    char code[16];
    char name[256];
    char issuer[16];                 /* the issuer's code (== code for the anchor) */
    uint8_t curve[32];               /* the office's CURVE public key */
    bool has_curve;
    int64_t not_before, not_after;   /* unix seconds */
    char fingerprint[XF_CERT_FP_LEN + 1];
    char serial[41];                 /* hex */
    int profile;                     /* xf_profile_t of its key, -1 for neither */
    bool self_signed;
} xf_cert_info_t;

/* 1 when code lies under `above` in the GB/T 2260 hierarchy (its prefix once the trailing
 * zero pairs of `above` are dropped; 9- and 12-digit township codes under their county). */
bool xf_code_under (const char *above, const char *code);

/* The facts of a certificate; XF_EINVAL when it is not an office certificate (no code). */
int xf_cert_info (X509 *x, xf_cert_info_t *out, xf_err_t *err);

/* The root's own certificate (the anchor), valid from now for days. */
X509 *xf_cert_self_signed (EVP_PKEY *key, const char *code, const char *name,
                           const uint8_t curve[32], int64_t now, int days, xf_err_t *err);

/* A certificate request (PKCS#10, PEM, malloc'd) for this office, signed by its key. */
char *xf_cert_request (EVP_PKEY *key, const char *code, const char *name, const uint8_t curve[32],
                       xf_err_t *err);

/* What a request asks for: the office, its key, its CURVE key. Checks the request's own
 * signature. The caller frees *key. */
int xf_cert_request_read (const char *pem, size_t len, xf_cert_info_t *out, EVP_PKEY **key,
                          xf_err_t *err);

/* Issues the certificate a request asks for, signed by issuer (certificate and key), valid
 * from now for days: refused unless the request is well signed, names a code under the
 * issuer's (any code for the anchor), carries a CURVE key and uses the issuer's profile. */
X509 *xf_cert_issue (const char *pem, size_t len, X509 *issuer, EVP_PKEY *issuer_key,
                     bool issuer_is_anchor, int64_t now, int days, xf_err_t *err);

/* PEM files: one certificate, or a chain (at least one). The caller frees. */
X509 *xf_cert_load (const char *path, xf_err_t *err);
STACK_OF (X509) *xf_cert_load_chain (const char *path, xf_err_t *err);
STACK_OF (X509) *xf_cert_parse_chain (const char *pem, size_t len, const char *what, xf_err_t *err);
/* PEM text of x (malloc'd), and appended to *buf (grown with realloc). */
char *xf_cert_pem (X509 *x);
int   xf_cert_pem_append (X509 *x, char **buf, size_t *len);

/* DER of x (malloc'd; *len its length), and a certificate from DER. */
uint8_t *xf_cert_der (X509 *x, size_t *len);
X509    *xf_cert_from_der (const uint8_t *der, size_t len);
/* The fingerprint xf_cert_info gives the certificate der decodes to (hex SHA-256 of the DER),
 * without decoding it; false (fp "") when it cannot be computed. */
bool     xf_cert_fingerprint_der (const uint8_t *der, size_t len, char fp[XF_CERT_FP_LEN + 1]);

/* Verifies leaf against anchor at time now, with untrusted (may be NULL) as the certificates
 * between: signatures, validity, CA flags, the code hierarchy (each issuer's code is the
 * issuer field of the one below, and under it unless the issuer is the anchor) and one
 * profile throughout. XF_EPERM with the first thing wrong, naming the office:
 * "certificate of 411324: certificate has expired". */
int xf_cert_verify (X509 *anchor, X509 *leaf, STACK_OF (X509) *untrusted, int64_t now,
                    xf_err_t *err);

/* "2026-11-22 10:00:00 CST" for messages (buf holds 32). */
const char *xf_cert_time (int64_t t, char *buf);

#endif
