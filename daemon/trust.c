/* trust.c — the node's [trust] at start: its certificate and signing key loaded and checked
 * against the anchor and the node key, the parent's CURVE key taken from the certificate
 * above this office's, and the children's from the certificates they are admitted by. */
#include <stdio.h>
#include <string.h>
#include <zmq.h>
#include "log.h"
#include "node.h"
#include "xf_trust.h"

#define EXPIRY_WARN_DAYS 30

/* The parent's CURVE key: from the certificate above ours, which must name the parent. */
static int parent_key (xf_node_t *node, char *errbuf, size_t errlen)
{
    xf_conf_t *cf = node->conf;
    xf_cert_info_t up;
    xf_err_t err = {0};
    if (!cf->has_parent)
        return 0;
    if (xf_trust_issuer_info (node->trust, &up, &err) != XF_OK || strcmp (up.code, cf->parent_code) != 0) {
        snprintf (errbuf, errlen, "[trust] certificate: it was issued by %s, and [parent] is %s: "
                  "request the certificate from the parent", *err.msg ? "nobody (it is the "
                  "anchor)" : up.code, cf->parent_code);
        return -1;
    }
    char z85[41];
    zmq_z85_encode (z85, up.curve, 32);
    if (cf->parent_public_key[0] && strcmp (cf->parent_public_key, z85) != 0) {
        snprintf (errbuf, errlen, "[parent] public_key differs from the CURVE key in the "
                  "parent's certificate (%s): remove public_key, or fix it", z85);
        return -1;
    }
    snprintf (cf->parent_public_key, sizeof cf->parent_public_key, "%s", z85);
    return 0;
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
    if ((int) xf_trust_profile (node->trust) != cf->trust_profile) {
        snprintf (errbuf, errlen, "[trust] profile is %s but the anchor %s is a certificate of the "
                  "%s profile", xf_profile_name (cf->trust_profile), cf->trust_anchor,
                  xf_profile_name (xf_trust_profile (node->trust)));
        return -1;
    }
    if (parent_key (node, errbuf, errlen) != 0)
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
    xf_office_set_trust (node->office, node->trust);
    return 0;
}

/* A child's certificate file, checked now: its CURVE key is the one its link is admitted by. */
X509 *trust_child_cert (xf_node_t *node, const xf_conf_child_t *child)
{
    xf_err_t err = {0};
    if (!node->trust || !child->certificate)
        return NULL;
    X509 *x = xf_cert_load (child->certificate, &err);
    if (x && xf_trust_check_child (node->trust, x, child->code, node_now (node), &err) != XF_OK) {
        log_error ("child %s: certificate %s refused, its link will not be admitted: %s",
                   child->code, child->certificate, err.msg);
        X509_free (x);
        return NULL;
    }
    if (!x)
        log_error ("child %s: %s; its link will not be admitted", child->code, err.msg);
    return x;
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
    return json_pack ("{s:b,s:s,s:s,s:s,s:s,s:s,s:s,s:I,s:I}", "enabled", 1,
                      "profile", xf_profile_name (xf_trust_profile (node->trust)),
                      "fingerprint", own->fingerprint, "issuer", own->issuer,
                      "anchor", xf_trust_anchor_info (node->trust)->code,
                      "not_before", xf_cert_time (own->not_before, from),
                      "not_after", xf_cert_time (own->not_after, until),
                      "verified_signers", (json_int_t) xf_trust_known (node->trust),
                      "forged", (json_int_t) forged);
}

/* ---------------------------------------------------------------- control commands */

/* cert.issue {request, days}: this office signs a configured child's certificate. */
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
    char *pem = NULL;
    xf_cert_info_t got;
    if (xf_trust_issue (node->trust, req, strlen (req), node_now (node), days ? (int) days : XF_CERT_DAYS,
                        &pem, &got, NULL, err) != XF_OK)
        return NULL;
    char until[32];
    log_info ("issued a certificate to %s (%s) by uid %u: fingerprint %s, serial %s, valid until %s",
              got.code, got.name, (unsigned) uid, got.fingerprint, got.serial,
              xf_cert_time (got.not_after, until));
    json_t *out = json_pack ("{s:s,s:s,s:s,s:s,s:s,s:s}", "code", got.code, "name", got.name,
                             "fingerprint", got.fingerprint, "serial", got.serial,
                             "not_after", until, "certificate", pem);
    free (pem);
    return out;
}

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
        free (pem);
    }
    return out;
}
