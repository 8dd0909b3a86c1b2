/* trust.c — the node's [trust] at start: its certificate and signing key loaded and checked
 * against the anchor and the node key, the parent's CURVE key taken from the certificate
 * above this office's, and the children's from the certificates they are admitted by. */
#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>
#include "keyfiles.h"
#include "log.h"
#include "node.h"
#include "xf_text.h"
#include "xf_trust.h"

#define EXPIRY_WARN_DAYS 30

/* The parent's CURVE key: from the certificate above ours (which names the parent). */
static int parent_key (xf_node_t *node, const xf_cert_info_t *up, char *errbuf, size_t errlen)
{
    xf_conf_t *cf = node->conf;
    char z85[41];
    if (!cf->has_parent)
        return 0;
    zmq_z85_encode (z85, up->curve, 32);
    if (cf->parent_public_key[0] && strcmp (cf->parent_public_key, z85) != 0) {
        snprintf (errbuf, errlen, "[parent] public_key differs from the CURVE key in the "
                  "parent's certificate (%s): remove public_key, or fix it", z85);
        return -1;
    }
    snprintf (cf->parent_public_key, sizeof cf->parent_public_key, "%s", z85);
    return 0;
}

static int load_directory (xf_node_t *node, xf_err_t *err);

/* One earlier key: a node.key file (standard: its CURVE secret opens what was sealed to it) or
 * a sign.key file (national). NULL with why. */
static EVP_PKEY *retired_key (xf_node_t *node, const char *path, char *why, size_t size)
{
    xf_err_t err = {0};
    EVP_PKEY *k = NULL;
    if (xf_trust_profile (node->trust) == XF_PROFILE_NATIONAL)
        k = xf_key_load (path, &err);
    else {
        char z85[41];
        uint8_t raw[32];
        if (keyfile_curve (path, z85, why, size) != 0)
            return NULL;
        zmq_z85_decode (raw, z85);
        k = xf_key_x25519 (raw, 1, &err);
        OPENSSL_cleanse (raw, sizeof raw), OPENSSL_cleanse (z85, sizeof z85);
    }
    if (!k)
        snprintf (why, size, "%.400s", err.msg);
    return k;
}

/* [trust] retired_keys: the keys of earlier certificates, still tried to open identities
 * sealed to them before the office's new certificate was known. */
static int retire_keys (xf_node_t *node, const char *list, char *errbuf, size_t errlen)
{
    char *copy = strdup (list), *next = copy, why[500] = "out of memory";
    int rc = copy ? 0 : -1;
    while (rc == 0 && next) {
        xf_err_t err = {0};
        EVP_PKEY *k = retired_key (node, xf_trim (strsep (&next, ",")), why, sizeof why);
        if (!k || xf_trust_retire_key (node->trust, k, &err) != XF_OK) {   /* it takes k */
            rc = -1;
            if (k)
                snprintf (why, sizeof why, "%.400s", err.msg);
        }
    }
    free (copy);
    if (rc == 0)
        log_info ("trust: %s retired key(s) kept to open what was sealed to them", list);
    else
        snprintf (errbuf, errlen, "[trust] retired_keys: %s", why);
    return rc;
}

int trust_open (xf_node_t *node, char *errbuf, size_t errlen)
{
    const xf_conf_t *cf = node->conf;
    if (!cf->has_trust) {
        log_warn ("no [trust] in the configuration: envelopes are neither signed nor verified, "
                  "and links admit children by their CURVE keys alone");
        return 0;
    }
    uint8_t pub[32];
    xf_err_t err = {0};
    zmq_z85_decode (pub, node->public_key);
    int64_t now = node_now (node);
    node->trust = xf_trust_load (cf->trust_anchor, cf->trust_certificate, cf->trust_signing_key,
                                 cf->code, pub, now, &err);
    if (!node->trust) {
        snprintf (errbuf, errlen, "%s", err.msg);
        return -1;
    }
    xf_cert_info_t up;
    if (xf_trust_check_place (node->trust, (xf_profile_t) cf->trust_profile,
                              cf->has_parent ? cf->parent_code : NULL, &up, &err) != XF_OK) {
        snprintf (errbuf, errlen, "%s", err.msg);
        return -1;
    }
    if (parent_key (node, &up, errbuf, errlen) != 0)
        return -1;
    const xf_cert_info_t *own = xf_trust_own (node->trust);
    char until[32];
    xf_cert_time (own->not_after, until);
    log_info ("trust: %s profile, certificate %.16s… of %s issued by %s, valid until %s; anchor %s",
              xf_profile_name (xf_trust_profile (node->trust)), own->fingerprint, own->code,
              own->issuer, until, xf_trust_anchor_info (node->trust)->code);
    if (own->not_after - now < EXPIRY_WARN_DAYS * 86400)
        log_warn ("trust: this office's certificate expires on %s: request a new one now "
                  "(xfctl cert request) and have the parent issue it", until);
    uint8_t secret[32];
    zmq_z85_decode (secret, node->secret_key);
    int rc = xf_trust_set_curve_secret (node->trust, secret, &err);
    OPENSSL_cleanse (secret, sizeof secret);
    if (rc == XF_OK && cf->trust_retired_keys && retire_keys (node, cf->trust_retired_keys, errbuf,
                                                              errlen) != 0)
        return -1;
    if (rc != XF_OK || load_directory (node, &err) != XF_OK) {
        snprintf (errbuf, errlen, "[trust]: %s", err.msg);
        return -1;
    }
    xf_office_set_trust (node->office, node->trust);
    xf_office_set_audit_profile (node->office, xf_trust_profile (node->trust));
    return 0;
}

int trust_seal_held (xf_node_t *node, char *errbuf, size_t errlen)
{
    xf_err_t err = {0};
    size_t sealed = 0, dropped = 0;
    if (!node->trust)
        return 0;
    if (xf_office_seal_held (node->office, &sealed, &dropped, &err) != XF_OK) {
        snprintf (errbuf, errlen, "[trust]: sealing the identities kept in clear: %s", err.msg);
        return -1;
    }
    if (sealed || dropped)
        log_warn ("trust: %zu petitioner identit%s kept in clear from before [trust] now sealed "
                  "to this office, %zu dropped where this office is not entitled to them", sealed,
                  sealed == 1 ? "y" : "ies", dropped);
    return 0;
}

/* ---------------------------------------------------------------- the directory */

#define CERT_PREFIX "cert/"

typedef struct {
    ProtobufCBinaryData *ders;
    size_t n, cap;
} certs_t;

static void certs_free (certs_t *c)
{
    for (size_t i = 0; i < c->n; i++)
        free (c->ders[i].data);
    free (c->ders);
    memset (c, 0, sizeof *c);
}

static int certs_add (certs_t *c, const void *der, size_t len)
{
    if (c->n == c->cap) {
        size_t cap = c->cap ? c->cap * 2 : 32;
        ProtobufCBinaryData *grown = realloc (c->ders, cap * sizeof *grown);
        if (!grown)
            return -1;
        c->ders = grown;
        c->cap = cap;
    }
    uint8_t *copy = malloc (len ? len : 1);
    if (!copy)
        return -1;
    memcpy (copy, der, len);
    c->ders[c->n++] = (ProtobufCBinaryData) {len, copy};
    return 0;
}

static int collect_cert (const void *key, size_t klen, const void *val, size_t vlen, void *arg)
{
    (void) key, (void) klen;
    return certs_add (arg, val, vlen) == 0 ? 0 : XF_ENOMEM;
}

static int read_certs (xf_txn_t *txn, void *arg, xf_err_t *err)
{
    return xf_txn_scan_prefix (txn, XF_DB_LINKS, CERT_PREFIX, strlen (CERT_PREFIX), collect_cert,
                               arg, err);
}

/* The certificates learned before a restart, so that identities can be sealed to the offices
 * around before their links come up again. */
static int load_directory (xf_node_t *node, xf_err_t *err)
{
    certs_t c = {0};
    xf_trust_learned_t seen;
    int rc = xf_store_read (node->store, read_certs, &c, err);
    if (rc == XF_OK)
        rc = xf_trust_learn (node->trust, c.ders, c.n, node_now (node), NULL, NULL, &seen, err);
    if (rc == XF_OK && seen.refused)
        log_warn ("trust: %zu stored certificate(s) of other offices no longer verify (%s); they "
                  "come again with the offices' hellos", seen.refused, seen.why);
    certs_free (&c);
    return rc;
}

/* The certificates that entered the directory (copies: the directory may move them), to be
 * kept under cert/CODE in one transaction; a newer one replaces the office's older one. */
typedef struct {
    certs_t ders;
    char (*codes)[16];   /* parallel to ders */
} fresh_t;

static void keep_fresh (const char *code, const ProtobufCBinaryData *der, void *arg)
{
    fresh_t *f = arg;
    char (*grown)[16] = realloc (f->codes, (f->ders.n + 1) * sizeof *grown);
    if (!grown)
        return;
    f->codes = grown;
    if (certs_add (&f->ders, der->data, der->len) == 0)
        snprintf (f->codes[f->ders.n - 1], 16, "%s", code);
}

static int save_fresh (xf_txn_t *txn, void *arg, xf_err_t *err)
{
    fresh_t *f = arg;
    int rc = XF_OK;
    for (size_t i = 0; rc == XF_OK && i < f->ders.n; i++) {
        char key[32];
        int klen = snprintf (key, sizeof key, CERT_PREFIX "%s", f->codes[i]);
        rc = xf_txn_put (txn, XF_DB_LINKS, key, (size_t) klen, f->ders.ders[i].data,
                         f->ders.ders[i].len, err);
    }
    return rc;
}

void trust_learn (xf_node_t *node, const char *peer, const ProtobufCBinaryData *ders, size_t n)
{
    fresh_t f = {{0}, NULL};
    xf_trust_learned_t seen;
    xf_err_t err = {0};
    if (!node->trust || n == 0)
        return;
    if (xf_trust_learn (node->trust, ders, n, node_now (node), keep_fresh, &f, &seen, &err) != XF_OK)
        log_error ("link %s: cannot learn the certificates it sent: %s", peer, err.msg);
    if (seen.refused)
        log_warn ("link %s: %zu of its %zu certificate(s) refused: %s", peer, seen.refused, n,
                  seen.why);
    if (f.ders.n && xf_store_write (node->store, save_fresh, &f, &err) != XF_OK)
        log_error ("link %s: cannot store the certificates it sent: %s (they are known until a "
                   "restart)", peer, err.msg);
    else if (f.ders.n)
        log_info ("link %s: learned %zu office certificate(s)", peer, f.ders.n);
    certs_free (&f.ders);
    free (f.codes);
}

json_t *trust_status (xf_node_t *node)
{
    uint64_t forged = 0;
    xf_err_t err = {0};
    xf_office_forged (node->office, &forged, &err);
    if (!node->trust)
        return json_pack ("{s:b,s:I}", "enabled", 0, "forged", (json_int_t) forged);
    const xf_cert_info_t *own = xf_trust_own (node->trust);
    char from[32], until[32];
    return json_pack ("{s:b,s:s,s:s,s:s,s:s,s:s,s:s,s:I,s:I,s:I,s:I}", "enabled", 1,
                      "profile", xf_profile_name (xf_trust_profile (node->trust)),
                      "fingerprint", own->fingerprint, "issuer", own->issuer,
                      "anchor", xf_trust_anchor_info (node->trust)->code,
                      "not_before", xf_cert_time (own->not_before, from),
                      "not_after", xf_cert_time (own->not_after, until),
                      "verified_signers", (json_int_t) xf_trust_known (node->trust),
                      "offices_known", (json_int_t) xf_trust_offices (node->trust),
                      "revoked", (json_int_t) xf_trust_revocations (node->trust),
                      "forged", (json_int_t) forged);
}

/* ---------------------------------------------------------------- control commands */

/* cert.show: this office's certificate and trust state. */
json_t *cmd_cert_show (xf_node_t *node, uid_t uid, const json_t *args, xf_err_t *err)
{
    (void) uid, (void) args, (void) err;
    json_t *out = trust_status (node);
    if (node->trust) {
        const xf_cert_info_t *own = xf_trust_own (node->trust);
        char *pem = xf_trust_chain_pem (node->trust);
        json_object_set_new (out, "code", json_string (own->code));
        json_object_set_new (out, "name", json_string (own->name));
        json_object_set_new (out, "serial", json_string (own->serial));
        json_object_set_new (out, "certificate", json_string (pem ? pem : ""));
        json_object_set_new (out, "issued", trust_children_json (node));
        json_object_set_new (out, "revoked", trust_revocations_json (node));
        free (pem);
    }
    return out;
}
