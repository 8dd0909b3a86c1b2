/* trust_children.c — the certificates this office admits its children by: those it issued
 * (kept in the store, so a child that rotates its keys is admitted by its new certificate
 * without a restart here, and its queued messages wait for it), and those the configuration
 * names ([child] certificate). A key that a revoked certificate names is refused
 * (trust_revoke.c revokes). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <zmq.h>
#include "log.h"
#include "node.h"
#include "xf_trust.h"

#define ISSUED_PREFIX  "issued/"

typedef struct {
    X509 *cert;
    xf_cert_info_t info;
} admit_t;

struct trust_children {
    admit_t *v;
    size_t n;
};

static int add_admit (xf_node_t *node, X509 *x, xf_err_t *err)
{
    struct trust_children *tc = node->children;
    xf_cert_info_t info;
    int rc = xf_cert_info (x, &info, err);
    for (size_t i = 0; rc == XF_OK && i < tc->n; i++)
        if (strcmp (tc->v[i].info.fingerprint, info.fingerprint) == 0) {
            X509_free (x);
            return XF_OK;
        }
    admit_t *grown = rc == XF_OK ? realloc (tc->v, (tc->n + 1) * sizeof *grown) : NULL;
    if (!grown) {
        X509_free (x);
        return rc != XF_OK ? rc : xf_err_set (err, XF_ENOMEM, "out of memory");
    }
    tc->v = grown;
    tc->v[tc->n++] = (admit_t) {x, info};
    return XF_OK;
}

/* ---------------------------------------------------------------- loading */

typedef struct {
    xf_node_t *node;
    xf_err_t *err;
    int rc;
} load_t;

static int each_issued (const void *key, size_t klen, const void *val, size_t vlen, void *arg)
{
    load_t *ld = arg;
    X509 *x = xf_cert_from_der (val, vlen);
    if (!x) {
        log_warn ("a stored certificate issued to a child (%.*s) does not decode; ignored",
                  (int) klen, (const char *) key);
        return 0;
    }
    ld->rc = add_admit (ld->node, x, ld->err);
    return ld->rc == XF_OK ? 0 : 1;
}

static int load_txn (xf_txn_t *txn, void *arg, xf_err_t *err)
{
    load_t *ld = arg;
    int rc = xf_txn_scan_prefix (txn, XF_DB_LINKS, ISSUED_PREFIX, strlen (ISSUED_PREFIX),
                                 each_issued, ld, err);
    return rc != XF_OK ? rc : ld->rc;
}

int trust_children_open (xf_node_t *node, char *errbuf, size_t errlen)
{
    xf_err_t err = {0};
    if (!node->trust)
        return 0;
    if (!(node->children = calloc (1, sizeof *node->children))) {
        snprintf (errbuf, errlen, "out of memory");
        return -1;
    }
    const xf_conf_t *cf = node->conf;
    for (size_t i = 0; i < cf->n_children; i++) {
        const xf_conf_child_t *child = &cf->children[i];
        X509 *x = child->certificate ? xf_cert_load (child->certificate, &err) : NULL;
        if (child->certificate && (!x || add_admit (node, x, &err) != XF_OK)) {
            snprintf (errbuf, errlen, "[child %s] certificate: %s", child->code, err.msg);
            return -1;
        }
    }
    load_t ld = {node, &err, XF_OK};
    if (xf_store_read (node->store, load_txn, &ld, &err) != XF_OK) {
        snprintf (errbuf, errlen, "certificates issued to the children: %s", err.msg);
        return -1;
    }
    for (size_t i = 0; i < cf->n_children; i++) {
        const char *code = cf->children[i].code;
        bool any = false;
        for (size_t k = 0; k < node->children->n && !any; k++)
            any = strcmp (node->children->v[k].info.code, code) == 0;
        if (!any)
            log_warn ("child %s: no certificate issued to it here and none in [child %s]: its link "
                      "will not be admitted until it has one (xfctl cert issue)", code, code);
    }
    return 0;
}

void trust_children_close (xf_node_t *node)
{
    struct trust_children *tc = node->children;
    if (!tc)
        return;
    for (size_t i = 0; i < tc->n; i++)
        X509_free (tc->v[i].cert);
    free (tc->v);
    free (tc);
    node->children = NULL;
}

/* ---------------------------------------------------------------- admission */

/* A key named by a revoked certificate is refused whatever else names it: a certificate is
 * revoked because its key is lost or stolen. */
static const admit_t *revoked_for (xf_node_t *node, const uint8_t key[32])
{
    struct trust_children *tc = node->children;
    for (size_t i = 0; tc && i < tc->n; i++)
        if (tc->v[i].info.has_curve && memcmp (tc->v[i].info.curve, key, 32) == 0
            && xf_trust_revoked (node->trust, tc->v[i].info.fingerprint))
            return &tc->v[i];
    return NULL;
}

int trust_admit (xf_node_t *node, const uint8_t key[32], char code[16], char *why, size_t size)
{
    struct trust_children *tc = node->children;
    const admit_t *bad = revoked_for (node, key);
    *why = 0;
    if (bad) {
        snprintf (why, size, "child %s: certificate %.16s… refused: the certificate %.16s… "
                  "(serial %s) of %s was revoked, and with it its key", bad->info.code,
                  bad->info.fingerprint, bad->info.fingerprint, bad->info.serial, bad->info.code);
        return -1;
    }
    for (size_t i = 0; tc && i < tc->n; i++) {
        const admit_t *a = &tc->v[i];
        xf_err_t err = {0};
        if (!a->info.has_curve || memcmp (a->info.curve, key, 32) != 0
            || !xf_conf_child (node->conf, a->info.code))
            continue;
        if (xf_trust_check_child (node->trust, a->cert, a->info.code, node_now (node), &err) != XF_OK) {
            snprintf (why, size, "child %s: certificate %.16s… refused: %s", a->info.code,
                      a->info.fingerprint, err.msg);
            continue;   /* another certificate of the same key may still be good */
        }
        snprintf (code, 16, "%s", a->info.code);
        return 0;
    }
    return -1;
}

json_t *trust_children_json (xf_node_t *node)
{
    json_t *out = json_array ();
    struct trust_children *tc = node->children;
    for (size_t i = 0; tc && i < tc->n; i++) {
        const xf_cert_info_t *in = &tc->v[i].info;
        char until[32];
        json_array_append_new (out, json_pack ("{s:s,s:s,s:s,s:s,s:b}", "code", in->code,
                                               "serial", in->serial, "fingerprint", in->fingerprint,
                                               "not_after", xf_cert_time (in->not_after, until),
                                               "revoked", xf_trust_revoked (node->trust,
                                                                            in->fingerprint)));
    }
    return out;
}

/* ---------------------------------------------------------------- cert.issue, cert.revoke */

/* cert.issue {request, days}: this office signs a configured child's certificate, keeps it,
 * and admits the child by it from now on. */
json_t *cmd_cert_issue (xf_node_t *node, uid_t uid, const json_t *args, xf_err_t *err)
{
    const char *req = json_string_value (json_object_get (args, "request"));
    json_int_t days = json_integer_value (json_object_get (args, "days"));
    if (!node->trust) {
        xf_err_set (err, XF_ESTATE, "this office has no [trust]: it cannot issue certificates");
        return NULL;
    }
    if (!req) {
        xf_err_set (err, XF_EINVAL, "request (the PEM text of the child's request) is required");
        return NULL;
    }
    xf_cert_info_t want;
    EVP_PKEY *key = NULL;
    if (xf_cert_request_read (req, strlen (req), &want, &key, err) != XF_OK)
        return NULL;
    EVP_PKEY_free (key);
    if (!xf_conf_child (node->conf, want.code)) {
        xf_err_set (err, XF_EPERM, "office %s is not a child of this office: add [child %s] to "
                    "the configuration first", want.code, want.code);
        return NULL;
    }
    char *pem = NULL, k[160];
    xf_cert_info_t got;
    X509 *x = NULL;
    if (xf_trust_issue (node->trust, req, strlen (req), node_now (node), days ? (int) days : XF_CERT_DAYS,
                        &pem, &got, &x, err) != XF_OK)
        return NULL;
    size_t len = 0;
    uint8_t *der = xf_cert_der (x, &len);
    int klen = snprintf (k, sizeof k, ISSUED_PREFIX "%s/%s", got.code, got.fingerprint);
    if (!der || xf_store_put (node->store, XF_DB_LINKS, k, (size_t) klen, der, len, err) != XF_OK
        || add_admit (node, x, err) != XF_OK) {
        if (!der)
            xf_err_set (err, XF_ENOMEM, "out of memory");
        free (der), free (pem);
        return NULL;
    }
    free (der);
    char until[32];
    log_info ("issued a certificate to %s (%s) by uid %u: fingerprint %s, serial %s, valid until "
              "%s; its link is admitted by it from now on", got.code, got.name, (unsigned) uid,
              got.fingerprint, got.serial, xf_cert_time (got.not_after, until));
    json_t *out = json_pack ("{s:s,s:s,s:s,s:s,s:s,s:s}", "code", got.code, "name", got.name,
                             "fingerprint", got.fingerprint, "serial", got.serial,
                             "not_after", until, "certificate", pem);
    free (pem);
    return out;
}

const xf_cert_info_t *trust_children_find (xf_node_t *node, const char *serial, const char *fp)
{
    struct trust_children *tc = node->children;
    for (size_t i = 0; tc && i < tc->n; i++)
        if ((serial && strcasecmp (tc->v[i].info.serial, serial) == 0)
            || (fp && strcasecmp (tc->v[i].info.fingerprint, fp) == 0))
            return &tc->v[i].info;
    return NULL;
}
