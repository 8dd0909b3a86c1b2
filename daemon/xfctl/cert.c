/* cert.c — `xfctl cert …`: enrolment of an office in the tree's certificates.
 *
 *   cert root DIR     the root office's own certificate, the anchor every node pins (local)
 *   cert request DIR  a request (DIR/node.csr) for the parent to issue (local)
 *   cert issue FILE   the parent's daemon issues the certificate a child's request asks for
 *   cert show [FILE]  a certificate file (local), or this office's certificate (daemon)
 *
 * The local commands read DIR/node.key (the CURVE key from `xfctl keygen`, which the
 * certificate names) and use DIR/sign.key, the office's signing key, making it (0600, never
 * overwritten) when it is not there yet. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <zmq.h>
#include "client.h"
#include "output.h"
#include "run.h"
#include "xf_cert.h"
#include "xfctl.h"

/* The CURVE public key of DIR/node.key, raw. */
static int node_curve (const char *dir, uint8_t curve[32])
{
    char *path = xfctl_path_in (dir, "node.key"), line[128] = "", pub[41];
    FILE *f = fopen (path, "re");
    int rc = XFCTL_OK;
    if (!f || !fgets (line, sizeof line, f))
        rc = xfctl_refuse ("io", "cannot read %s: %s (make the node key first: xfctl keygen %s)",
                           path, f ? "empty" : strerror (errno), dir);
    if (f)
        fclose (f);
    line[strcspn (line, "\r\n")] = 0;
    if (rc == XFCTL_OK && (strlen (line) != 40 || zmq_curve_public (pub, line) != 0))
        rc = xfctl_refuse ("invalid", "%s is not a Z85 CURVE secret key", path);
    explicit_bzero (line, sizeof line);
    if (rc == XFCTL_OK)
        zmq_z85_decode (curve, pub);
    free (path);
    return rc;
}

/* DIR/sign.key, made for the profile when absent; an existing one must be of the profile. */
static int signing_key (const char *dir, xf_profile_t profile, EVP_PKEY **key, char **made)
{
    char *path = xfctl_path_in (dir, "sign.key");
    xf_err_t err = {0};
    struct stat st;
    *made = NULL;
    if (stat (path, &st) == 0) {
        *key = xf_key_load (path, &err);
        if (*key && xf_profile_of_key (*key) != (int) profile) {
            EVP_PKEY_free (*key);
            *key = NULL;
            const char *other = xf_profile_name (profile == XF_PROFILE_NATIONAL
                                                 ? XF_PROFILE_STANDARD : XF_PROFILE_NATIONAL);
            xf_err_set (&err, XF_EINVAL, "%s is a key of the %s profile, not %s (give --profile "
                        "%s, or move the key away)", path, other, xf_profile_name (profile), other);
        }
    } else if ((*key = xf_key_generate (profile, &err)) && xf_key_save (path, *key, &err) != XF_OK) {
        EVP_PKEY_free (*key);
        *key = NULL;
    } else if (*key)
        *made = xasprintf ("%s", path);
    free (path);
    return *key ? XFCTL_OK : xfctl_refuse (xf_err_name (err.code), "%s", err.msg);
}

static json_t *info_json (const xf_cert_info_t *c)
{
    char from[32], until[32], curve[41];
    zmq_z85_encode (curve, c->curve, 32);
    return json_pack ("{s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:b}", "code", c->code, "name", c->name,
                      "issuer", c->issuer, "profile",
                      c->profile < 0 ? "unknown" : xf_profile_name ((xf_profile_t) c->profile),
                      "curve_key", c->has_curve ? curve : "", "fingerprint", c->fingerprint,
                      "serial", c->serial, "not_before", xf_cert_time (c->not_before, from),
                      "not_after", xf_cert_time (c->not_after, until), "anchor", c->self_signed);
}

static void show (json_t *result)
{
    if (xfctl_json ())
        xf_out_json (result, stdout);
    else
        xf_out_text (SHOW_PLAIN, result, stdout);
}

static int parse_profile (const xf_parsed_t *p, xf_profile_t *profile)
{
    const char *s = xf_opt_str (p, "profile");
    xf_err_t err = {0};
    *profile = XF_PROFILE_STANDARD;
    return s && xf_profile_parse (s, profile, &err) != XF_OK
           ? xfctl_refuse ("invalid", "%s", err.msg) : XFCTL_OK;
}

static int days_of (const xf_parsed_t *p)
{
    const json_t *v = json_object_get (p->opts, "days");
    return v ? (int) json_integer_value (v) : XF_CERT_DAYS;
}

/* cert root and cert request */
static int make_local (const xf_parsed_t *p, bool root)
{
    const char *dir = xf_opt_str (p, "dir"), *code = xf_opt_str (p, "code"),
               *name = xf_opt_str (p, "name");
    xf_profile_t profile;
    uint8_t curve[32];
    EVP_PKEY *key = NULL;
    char *made = NULL;
    int rc = parse_profile (p, &profile);
    if (rc == XFCTL_OK)
        rc = node_curve (dir, curve);
    if (rc == XFCTL_OK)
        rc = signing_key (dir, profile, &key, &made);
    if (rc != XFCTL_OK)
        return rc;
    xf_err_t err = {0};
    char *text = NULL, *path = xfctl_path_in (dir, root ? "node.crt" : "node.csr");
    json_t *result = NULL;
    if (root) {
        X509 *x = xf_cert_self_signed (key, code, name, curve, (int64_t) time (NULL), days_of (p), &err);
        xf_cert_info_t info;
        if (x && xf_cert_info (x, &info, &err) == XF_OK) {
            text = xf_cert_pem (x);
            result = info_json (&info);
        }
        X509_free (x);
    } else if ((text = xf_cert_request (key, code, name, curve, &err)))
        result = json_pack ("{s:s,s:s,s:s}", "code", code, "name", name, "profile",
                            xf_profile_name (profile));
    if (!text)
        rc = xfctl_refuse (xf_err_name (err.code ? err.code : XF_ENOMEM), "%s",
                           *err.msg ? err.msg : "out of memory");
    if (rc == XFCTL_OK)
        rc = xfctl_write_file (path, text, 0644);
    if (rc == XFCTL_OK) {
        json_object_set_new (result, root ? "certificate" : "request", json_string (path));
        if (made)
            json_object_set_new (result, "signing_key", json_string (made));
        json_object_set_new (result, "next", json_string (
            root ? "give this file to every office as its [trust] anchor; it is also this "
                   "office's [trust] certificate"
                 : "take the request to the parent office: xfctl cert issue FILE --out FILE"));
        show (result);
    }
    json_decref (result);
    free (text), free (path), free (made);
    EVP_PKEY_free (key);
    return rc;
}

static char *read_text (const char *path, size_t max)
{
    FILE *f = fopen (path, "re");
    char *buf = f ? malloc (max + 1) : NULL;
    size_t n = buf ? fread (buf, 1, max, f) : 0;
    if (f)
        fclose (f);
    if (buf)
        buf[n] = 0;
    return buf;
}

static int show_file (const char *path)
{
    xf_err_t err = {0};
    STACK_OF (X509) *chain = xf_cert_load_chain (path, &err);
    if (!chain)
        return xfctl_refuse (xf_err_name (err.code), "%s", err.msg);
    json_t *certs = json_array ();
    for (int i = 0; i < sk_X509_num (chain); i++) {
        xf_cert_info_t info;
        if (xf_cert_info (sk_X509_value (chain, i), &info, &err) == XF_OK)
            json_array_append_new (certs, info_json (&info));
    }
    sk_X509_pop_free (chain, X509_free);
    json_t *result = json_array_size (certs) == 1 ? json_incref (json_array_get (certs, 0))
                                                  : json_pack ("{s:O}", "chain", certs);
    show (result);
    json_decref (result);
    json_decref (certs);
    return XFCTL_OK;
}

static int issue (const char *socket, const xf_parsed_t *p)
{
    const char *file = xf_opt_str (p, "file"), *out = xf_opt_str (p, "out");
    char *pem = read_text (file, 64 * 1024);
    if (!pem)
        return xfctl_refuse ("io", "cannot read %s: %s", file, strerror (errno));
    json_t *args = json_pack ("{s:s,s:i}", "request", pem, "days", days_of (p)), *result = NULL;
    free (pem);
    int rc = xf_client_request (socket, "cert.issue", args, &result);
    json_decref (args);
    if (rc != XFCTL_OK)
        return rc;
    const char *chain = json_string_value (json_object_get (result, "certificate"));
    if (out && chain) {
        rc = xfctl_write_file (out, chain, 0644);
        json_object_set_new (result, "certificate", json_string (out));
    }
    if (rc == XFCTL_OK && !out && !xfctl_json ())
        fputs (chain ? chain : "", stdout);
    else if (rc == XFCTL_OK)
        show (result);
    json_decref (result);
    return rc;
}

int xf_run_cert (const char *socket, const xf_parsed_t *p)
{
    const char *what = p->cmd->words[1];
    if (strcmp (what, "root") == 0)
        return make_local (p, true);
    if (strcmp (what, "request") == 0)
        return make_local (p, false);
    if (strcmp (what, "show") == 0 && xf_opt_str (p, "file"))
        return show_file (xf_opt_str (p, "file"));
    if (strcmp (what, "issue") == 0)
        return issue (socket, p);
    json_t *result = NULL;
    int rc = xf_client_request (socket, "cert.show", NULL, &result);
    if (rc == XFCTL_OK)
        show (result);
    json_decref (result);
    return rc;
}

bool xf_cert_is_local (const xf_parsed_t *p)
{
    const char *what = p->cmd->words[1];
    return strcmp (what, "root") == 0 || strcmp (what, "request") == 0
           || (strcmp (what, "show") == 0 && xf_opt_str (p, "file"));
}
