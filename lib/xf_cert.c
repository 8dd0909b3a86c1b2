/* xf_cert.c — office certificates: the anchor, requests, issuing down the tree, reading and
 * verifying them (see xf_cert.h for what a certificate says). */
#include "xf_cert.h"

#include <errno.h>
#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define CURVE_URI "urn:xfsync:curve:"

const char *xf_cert_time (int64_t t, char *buf)
{
    time_t cst = (time_t) (t + 8 * 3600);
    struct tm tm;
    gmtime_r (&cst, &tm);
    strftime (buf, 32, "%Y-%m-%d %H:%M:%S CST", &tm);
    return buf;
}

bool xf_code_under (const char *above, const char *code)
{
    size_t n = strlen (above), m = strlen (code);
    if (n < 6 || m < n || strcmp (above, code) == 0)
        return false;
    size_t keep = n;
    if (n == 6)   /* 410000 → "41", 411300 → "4113" */
        while (keep > 2 && above[keep - 1] == '0' && above[keep - 2] == '0')
            keep -= 2;
    return strncmp (above, code, keep) == 0;
}

/* SM2 signatures over certificates and requests use the standard signer ID on both sides. A
 * tree has one profile, so a certificate (or request) with an SM2 key was signed with SM2; any
 * other must not be given an ID (verifying an Ed25519 signature with one fails). The ID for
 * one with the key, else NULL. */
static ASN1_OCTET_STRING *sm2_id (const EVP_PKEY *key)
{
    if (xf_profile_of_key (key) != XF_PROFILE_NATIONAL)
        return NULL;
    ASN1_OCTET_STRING *id = ASN1_OCTET_STRING_new ();
    if (id && !ASN1_OCTET_STRING_set (id, (const unsigned char *) XF_SM2_ID, strlen (XF_SM2_ID)))
        ASN1_OCTET_STRING_free (id), id = NULL;
    return id;
}

static void set_sm2_id (X509 *x)
{
    ASN1_OCTET_STRING *id = sm2_id (X509_get0_pubkey (x));
    if (id)
        X509_set0_distinguishing_id (x, id);
}

static void set_req_sm2_id (X509_REQ *r)
{
    ASN1_OCTET_STRING *id = sm2_id (X509_REQ_get0_pubkey (r));
    if (id)
        X509_REQ_set0_distinguishing_id (r, id);
}

/* ---------------------------------------------------------------- reading */

static void name_entry (X509_NAME *nm, int nid, char *out, size_t size)
{
    out[0] = 0;
    int i = X509_NAME_get_index_by_NID (nm, nid, -1);
    if (i < 0)
        return;
    unsigned char *utf8 = NULL;
    int n = ASN1_STRING_to_UTF8 (&utf8, X509_NAME_ENTRY_get_data (X509_NAME_get_entry (nm, i)));
    if (n >= 0)
        snprintf (out, size, "%.*s", n, (const char *) utf8);
    OPENSSL_free (utf8);
}

static bool curve_from_names (GENERAL_NAMES *names, uint8_t curve[32])
{
    bool found = false;
    for (int i = 0; !found && i < sk_GENERAL_NAME_num (names); i++) {
        const GENERAL_NAME *g = sk_GENERAL_NAME_value (names, i);
        if (g->type != GEN_URI)
            continue;
        const char *s = (const char *) ASN1_STRING_get0_data (g->d.uniformResourceIdentifier);
        int len = ASN1_STRING_length (g->d.uniformResourceIdentifier);
        size_t pre = strlen (CURVE_URI);
        if (len != (int) pre + 64 || strncmp (s, CURVE_URI, pre) != 0)
            continue;
        found = true;
        for (int j = 0; found && j < 32; j++) {
            unsigned v;
            found = sscanf (s + pre + 2 * j, "%2x", &v) == 1;
            curve[j] = (uint8_t) v;
        }
    }
    return found;
}

static int64_t asn1_unix (const ASN1_TIME *t)
{
    struct tm tm;
    if (!t || ASN1_TIME_to_tm (t, &tm) != 1)
        return 0;
    return (int64_t) timegm (&tm);
}

static void fingerprint_hex (const uint8_t md[32], char fp[XF_CERT_FP_LEN + 1])
{
    for (int i = 0; i < 32; i++)
        snprintf (fp + 2 * i, 3, "%02x", md[i]);
}

bool xf_cert_fingerprint_der (const uint8_t *der, size_t len, char fp[XF_CERT_FP_LEN + 1])
{
    uint8_t md[32];
    unsigned n = 0;
    *fp = '\0';
    if (EVP_Digest (der, len, md, &n, EVP_sha256 (), NULL) != 1 || n != sizeof md)
        return false;
    fingerprint_hex (md, fp);
    return true;
}

int xf_cert_info (X509 *x, xf_cert_info_t *out, xf_err_t *err)
{
    memset (out, 0, sizeof *out);
    name_entry (X509_get_subject_name (x), NID_commonName, out->code, sizeof out->code);
    name_entry (X509_get_subject_name (x), NID_organizationName, out->name, sizeof out->name);
    name_entry (X509_get_issuer_name (x), NID_commonName, out->issuer, sizeof out->issuer);
    if (!*out->code)
        return xf_err_set (err, XF_EINVAL, "not an office certificate: its subject has no CN "
                           "(the office code)");
    GENERAL_NAMES *names = X509_get_ext_d2i (x, NID_subject_alt_name, NULL, NULL);
    out->has_curve = names && curve_from_names (names, out->curve);
    GENERAL_NAMES_free (names);
    out->not_before = asn1_unix (X509_get0_notBefore (x));
    out->not_after = asn1_unix (X509_get0_notAfter (x));
    uint8_t md[32];
    unsigned n = 0;
    if (X509_digest (x, EVP_sha256 (), md, &n) == 1)
        fingerprint_hex (md, out->fingerprint);
    BIGNUM *bn = ASN1_INTEGER_to_BN (X509_get0_serialNumber (x), NULL);
    char *hex = bn ? BN_bn2hex (bn) : NULL;
    snprintf (out->serial, sizeof out->serial, "%s", hex ? hex : "");
    OPENSSL_free (hex);
    BN_free (bn);
    out->profile = xf_profile_of_key (X509_get0_pubkey (x));
    out->self_signed = X509_NAME_cmp (X509_get_subject_name (x), X509_get_issuer_name (x)) == 0;
    ERR_clear_error ();
    return XF_OK;
}

/* ---------------------------------------------------------------- making */

static X509_NAME *office_name (const char *code, const char *name)
{
    X509_NAME *nm = X509_NAME_new ();
    if (!nm || !X509_NAME_add_entry_by_txt (nm, "C", MBSTRING_UTF8, (const unsigned char *) "CN", -1, -1, 0)
        || !X509_NAME_add_entry_by_txt (nm, "O", MBSTRING_UTF8, (const unsigned char *) name, -1, -1, 0)
        || !X509_NAME_add_entry_by_txt (nm, "CN", MBSTRING_UTF8, (const unsigned char *) code, -1, -1, 0)) {
        X509_NAME_free (nm);
        return NULL;
    }
    return nm;
}

static X509_EXTENSION *curve_ext (const uint8_t curve[32])
{
    char uri[128];
    int n = snprintf (uri, sizeof uri, "URI:%s", CURVE_URI);
    for (int i = 0; i < 32; i++)
        n += snprintf (uri + n, sizeof uri - (size_t) n, "%02x", curve[i]);
    return X509V3_EXT_conf_nid (NULL, NULL, NID_subject_alt_name, uri);
}

static int add_ext (X509 *x, X509V3_CTX *ctx, int nid, const char *value)
{
    X509_EXTENSION *e = X509V3_EXT_conf_nid (NULL, ctx, nid, value);
    int ok = e && X509_add_ext (x, e, -1);
    X509_EXTENSION_free (e);
    return ok;
}

static int random_serial (X509 *x)
{
    uint8_t b[16];
    if (RAND_bytes (b, sizeof b) != 1)
        return 0;
    b[0] &= 0x7f;   /* positive */
    b[0] |= 0x01;   /* and a full 16 bytes */
    BIGNUM *bn = BN_bin2bn (b, sizeof b, NULL);
    int ok = bn && BN_to_ASN1_INTEGER (bn, X509_get_serialNumber (x)) != NULL;
    BN_free (bn);
    return ok;
}

/* Fills x (subject, key and SAN already set) as a CA certificate from issuer, and signs it. */
static int finish_cert (X509 *x, X509 *issuer, EVP_PKEY *issuer_key, int64_t now, int days)
{
    X509V3_CTX ctx;
    X509V3_set_ctx (&ctx, issuer ? issuer : x, x, NULL, NULL, 0);
    EVP_MD_CTX *m = xf_crypto_md_ctx (issuer_key, 0);
    int ok = m && X509_set_version (x, X509_VERSION_3) && random_serial (x)
             && X509_set_issuer_name (x, X509_get_subject_name (issuer ? issuer : x))
             && ASN1_TIME_set (X509_getm_notBefore (x), (time_t) now)
             && ASN1_TIME_set (X509_getm_notAfter (x), (time_t) (now + (int64_t) days * 86400))
             && add_ext (x, &ctx, NID_basic_constraints, "critical,CA:TRUE")
             && add_ext (x, &ctx, NID_key_usage, "critical,digitalSignature,keyCertSign,cRLSign")
             && add_ext (x, &ctx, NID_subject_key_identifier, "hash")
             && add_ext (x, &ctx, NID_authority_key_identifier, "keyid:always")
             && X509_sign_ctx (x, m) > 0;
    EVP_MD_CTX_free (m);
    return ok;
}

X509 *xf_cert_self_signed (EVP_PKEY *key, const char *code, const char *name,
                           const uint8_t curve[32], int64_t now, int days, xf_err_t *err)
{
    X509 *x = X509_new ();
    X509_NAME *nm = office_name (code, name);
    X509_EXTENSION *san = curve_ext (curve);
    int ok = x && nm && san && X509_set_subject_name (x, nm) && X509_set_pubkey (x, key)
             && X509_add_ext (x, san, -1) && finish_cert (x, NULL, key, now, days);
    X509_NAME_free (nm);
    X509_EXTENSION_free (san);
    if (!ok) {
        X509_free (x);
        xf_crypto_fail (err, XF_EINVAL, "cannot make the anchor certificate");
        return NULL;
    }
    set_sm2_id (x);
    return x;
}

static char *bio_text (BIO *b)
{
    char *data = NULL;
    long n = BIO_get_mem_data (b, &data);
    char *s = n >= 0 ? malloc ((size_t) n + 1) : NULL;
    if (s) {
        memcpy (s, data, (size_t) n);
        s[n] = 0;
    }
    return s;
}

char *xf_cert_request (EVP_PKEY *key, const char *code, const char *name, const uint8_t curve[32],
                       xf_err_t *err)
{
    X509_REQ *r = X509_REQ_new ();
    X509_NAME *nm = office_name (code, name);
    STACK_OF (X509_EXTENSION) *exts = sk_X509_EXTENSION_new_null ();
    X509_EXTENSION *san = curve_ext (curve);
    EVP_MD_CTX *m = xf_crypto_md_ctx (key, 0);
    BIO *b = BIO_new (BIO_s_mem ());
    int ok = r && nm && exts && san && m && b && X509_REQ_set_version (r, 0)
             && X509_REQ_set_subject_name (r, nm) && X509_REQ_set_pubkey (r, key)
             && sk_X509_EXTENSION_push (exts, san) && X509_REQ_add_extensions (r, exts)
             && X509_REQ_sign_ctx (r, m) > 0 && PEM_write_bio_X509_REQ (b, r);
    char *pem = ok ? bio_text (b) : NULL;
    if (!pem)
        xf_crypto_fail (err, XF_EINVAL, "cannot make the certificate request");
    BIO_free (b);
    EVP_MD_CTX_free (m);
    sk_X509_EXTENSION_pop_free (exts, X509_EXTENSION_free);
    X509_NAME_free (nm);
    X509_REQ_free (r);
    return pem;
}

static X509_REQ *parse_request (const char *pem, size_t len, xf_err_t *err)
{
    BIO *b = BIO_new_mem_buf (pem, (int) len);
    X509_REQ *r = b ? PEM_read_bio_X509_REQ (b, NULL, NULL, NULL) : NULL;
    BIO_free (b);
    if (!r)
        xf_crypto_fail (err, XF_EINVAL, "not a PEM certificate request (it starts with -----BEGIN "
                   "CERTIFICATE REQUEST-----; make one with `xfctl cert request`)");
    return r;
}

int xf_cert_request_read (const char *pem, size_t len, xf_cert_info_t *out, EVP_PKEY **key,
                          xf_err_t *err)
{
    memset (out, 0, sizeof *out);
    *key = NULL;
    X509_REQ *r = parse_request (pem, len, err);
    if (!r)
        return XF_EINVAL;
    set_req_sm2_id (r);
    EVP_PKEY *k = X509_REQ_get_pubkey (r);
    int rc = XF_OK;
    out->profile = xf_profile_of_key (k);
    if (out->profile < 0)
        rc = xf_err_set (err, XF_EINVAL, "the request's key is %s; an office key is Ed25519 or SM2",
                         k ? EVP_PKEY_get0_type_name (k) : "missing");
    else if (X509_REQ_verify (r, k) != 1)
        rc = xf_crypto_fail (err, XF_EPERM, "the request is not signed by the key it carries");
    if (rc == XF_OK) {
        name_entry (X509_REQ_get_subject_name (r), NID_commonName, out->code, sizeof out->code);
        name_entry (X509_REQ_get_subject_name (r), NID_organizationName, out->name, sizeof out->name);
        STACK_OF (X509_EXTENSION) *exts = X509_REQ_get_extensions (r);
        for (int i = 0; exts && i < sk_X509_EXTENSION_num (exts); i++) {
            X509_EXTENSION *e = sk_X509_EXTENSION_value (exts, i);
            if (OBJ_obj2nid (X509_EXTENSION_get_object (e)) != NID_subject_alt_name)
                continue;
            GENERAL_NAMES *names = X509V3_EXT_d2i (e);
            out->has_curve = names && curve_from_names (names, out->curve);
            GENERAL_NAMES_free (names);
        }
        sk_X509_EXTENSION_pop_free (exts, X509_EXTENSION_free);
        if (!*out->code)
            rc = xf_err_set (err, XF_EINVAL, "the request names no office code (subject CN)");
        else if (!out->has_curve)
            rc = xf_err_set (err, XF_EINVAL, "the request of %s carries no CURVE key "
                             "(subjectAltName URI:%s…)", out->code, CURVE_URI);
    }
    X509_REQ_free (r);
    if (rc == XF_OK)
        *key = k;
    else
        EVP_PKEY_free (k);
    ERR_clear_error ();
    return rc;
}

X509 *xf_cert_issue (const char *pem, size_t len, X509 *issuer, EVP_PKEY *issuer_key,
                     bool issuer_is_anchor, int64_t now, int days, xf_err_t *err)
{
    xf_cert_info_t req, own;
    EVP_PKEY *key = NULL;
    if (xf_cert_request_read (pem, len, &req, &key, err) != XF_OK
        || xf_cert_info (issuer, &own, err) != XF_OK) {
        EVP_PKEY_free (key);
        return NULL;
    }
    int rc = XF_OK;
    if (days < 1 || days > XF_CERT_MAX_DAYS)
        rc = xf_err_set (err, XF_EINVAL, "validity of %d days: give 1 to %d", days, XF_CERT_MAX_DAYS);
    else if (req.profile != own.profile)
        rc = xf_err_set (err, XF_EINVAL, "the request of %s uses the %s profile and office %s the "
                         "%s profile: the tree uses one", req.code, xf_profile_name (req.profile),
                         own.code, xf_profile_name (own.profile));
    else if (strcmp (req.code, own.code) == 0
             || (!issuer_is_anchor && !xf_code_under (own.code, req.code)))
        rc = xf_err_set (err, XF_EPERM, "office %s cannot issue a certificate for %s: it is not "
                         "under %s in the GB/T 2260 hierarchy", own.code, req.code, own.code);
    X509 *x = rc == XF_OK ? X509_new () : NULL;
    X509_NAME *nm = x ? office_name (req.code, req.name) : NULL;
    X509_EXTENSION *san = nm ? curve_ext (req.curve) : NULL;
    int ok = san && X509_set_subject_name (x, nm) && X509_set_pubkey (x, key)
             && X509_add_ext (x, san, -1) && finish_cert (x, issuer, issuer_key, now, days);
    X509_NAME_free (nm);
    X509_EXTENSION_free (san);
    EVP_PKEY_free (key);
    if (rc == XF_OK && !ok)
        xf_crypto_fail (err, XF_EINVAL, "cannot issue the certificate");
    if (!ok) {
        X509_free (x);
        return NULL;
    }
    set_sm2_id (x);
    return x;
}

/* ---------------------------------------------------------------- files and encodings */

/* Every PEM certificate b holds, in order; NULL (err naming what) when it holds none. */
static STACK_OF (X509) *read_chain (BIO *b, const char *what, xf_err_t *err)
{
    STACK_OF (X509) *chain = b ? sk_X509_new_null () : NULL;
    X509 *x;
    while (chain && (x = PEM_read_bio_X509 (b, NULL, NULL, NULL)) != NULL) {
        set_sm2_id (x);
        if (!sk_X509_push (chain, x))
            X509_free (x);
    }
    ERR_clear_error ();   /* the end of the text reads as an error */
    if (!chain || sk_X509_num (chain) == 0) {
        sk_X509_pop_free (chain, X509_free);
        xf_err_set (err, XF_EINVAL, "%s holds no PEM certificate (-----BEGIN CERTIFICATE-----)", what);
        return NULL;
    }
    return chain;
}

STACK_OF (X509) *xf_cert_parse_chain (const char *pem, size_t len, const char *what, xf_err_t *err)
{
    BIO *b = BIO_new_mem_buf (pem, (int) len);
    STACK_OF (X509) *chain = read_chain (b, what, err);
    BIO_free (b);
    return chain;
}

STACK_OF (X509) *xf_cert_load_chain (const char *path, xf_err_t *err)
{
    BIO *b = BIO_new_file (path, "r");
    if (!b) {
        ERR_clear_error ();
        xf_err_set (err, XF_EIO, "cannot read the certificate %s: %s", path, strerror (errno));
        return NULL;
    }
    STACK_OF (X509) *chain = read_chain (b, path, err);
    BIO_free (b);
    return chain;
}

X509 *xf_cert_load (const char *path, xf_err_t *err)
{
    STACK_OF (X509) *chain = xf_cert_load_chain (path, err);
    X509 *x = chain ? sk_X509_shift (chain) : NULL;
    sk_X509_pop_free (chain, X509_free);
    return x;
}

char *xf_cert_pem (X509 *x)
{
    BIO *b = BIO_new (BIO_s_mem ());
    char *s = b && PEM_write_bio_X509 (b, x) ? bio_text (b) : NULL;
    BIO_free (b);
    return s;
}

int xf_cert_pem_append (X509 *x, char **buf, size_t *len)
{
    char *pem = xf_cert_pem (x);
    size_t n = pem ? strlen (pem) : 0;
    char *grown = pem ? realloc (*buf, *len + n + 1) : NULL;
    if (!grown) {
        free (pem);
        return XF_ENOMEM;
    }
    memcpy (grown + *len, pem, n + 1);
    *buf = grown;
    *len += n;
    free (pem);
    return XF_OK;
}

uint8_t *xf_cert_der (X509 *x, size_t *len)
{
    unsigned char *der = NULL;
    int n = i2d_X509 (x, &der);
    if (n <= 0)
        return NULL;
    uint8_t *out = malloc ((size_t) n);
    if (out)
        memcpy (out, der, (size_t) n);
    OPENSSL_free (der);
    *len = (size_t) n;
    return out;
}

X509 *xf_cert_from_der (const uint8_t *der, size_t len)
{
    const unsigned char *p = der;
    X509 *x = d2i_X509 (NULL, &p, (long) len);
    if (x && p != der + len) {   /* trailing bytes: not one certificate */
        X509_free (x);
        x = NULL;
    }
    if (x)
        set_sm2_id (x);
    ERR_clear_error ();
    return x;
}

/* ---------------------------------------------------------------- verifying */

/* The tree's rules over a chain OpenSSL accepted: leaf first, the anchor last. */
static int check_hierarchy (STACK_OF (X509) *chain, int profile, xf_err_t *err)
{
    int n = sk_X509_num (chain);
    for (int i = 0; i < n; i++) {
        xf_cert_info_t a, up;
        if (xf_cert_info (sk_X509_value (chain, i), &a, err) != XF_OK)
            return xf_err_prefix (err, "certificate %d of the chain", i + 1);
        if (a.profile != profile)
            return xf_err_set (err, XF_EPERM, "certificate of %s: a %s key in a tree of the %s "
                               "profile", a.code, a.profile < 0 ? "foreign" : xf_profile_name (a.profile),
                               xf_profile_name (profile));
        if (i + 1 == n)
            break;
        if (xf_cert_info (sk_X509_value (chain, i + 1), &up, err) != XF_OK)
            return XF_EPERM;
        if (strcmp (a.issuer, up.code) != 0)
            return xf_err_set (err, XF_EPERM, "certificate of %s names issuer %s but was signed by %s",
                               a.code, a.issuer, up.code);
        if (i + 2 < n && !xf_code_under (up.code, a.code))
            return xf_err_set (err, XF_EPERM, "certificate of %s was issued by %s, which may only "
                               "issue for offices under it", a.code, up.code);
    }
    return XF_OK;
}

int xf_cert_verify (X509 *anchor, X509 *leaf, STACK_OF (X509) *untrusted, int64_t now,
                    xf_err_t *err)
{
    X509_STORE *store = X509_STORE_new ();
    X509_STORE_CTX *ctx = X509_STORE_CTX_new ();
    xf_cert_info_t info;
    if (xf_cert_info (leaf, &info, err) != XF_OK) {
        X509_STORE_CTX_free (ctx);
        X509_STORE_free (store);
        return XF_EPERM;
    }
    int rc = XF_OK;
    if (!store || !ctx || !X509_STORE_add_cert (store, anchor)
        || !X509_STORE_CTX_init (ctx, store, leaf, untrusted))
        rc = xf_crypto_fail (err, XF_ENOMEM, "cannot set up certificate verification");
    if (rc == XF_OK) {
        X509_STORE_CTX_set_time (ctx, 0, (time_t) now);
        if (X509_verify_cert (ctx) != 1) {
            int e = X509_STORE_CTX_get_error (ctx);
            X509 *bad = X509_STORE_CTX_get_current_cert (ctx);
            xf_cert_info_t b;
            char when[32];
            bool have = bad && xf_cert_info (bad, &b, NULL) == XF_OK;
            rc = xf_err_set (err, XF_EPERM, "certificate of %s: %s%s%s", have ? b.code : info.code,
                             X509_verify_cert_error_string (e),
                             e == X509_V_ERR_CERT_HAS_EXPIRED && have ? " on " : "",
                             e == X509_V_ERR_CERT_HAS_EXPIRED && have ? xf_cert_time (b.not_after, when) : "");
        } else
            rc = check_hierarchy (X509_STORE_CTX_get0_chain (ctx),
                                  xf_profile_of_key (X509_get0_pubkey (anchor)), err);
    }
    X509_STORE_CTX_free (ctx);
    X509_STORE_free (store);
    ERR_clear_error ();
    return rc;
}
