/* config_check.c — `xfctl config check FILE`: what xfsyncd would say about a configuration at
 * start, without starting it: every bad line (FILE:LINE), then the files it names — the node
 * key (a Z85 secret readable by its owner only), the tree's identity key, and with [trust] the
 * certificate chain, signing key and anchor, checked together as the daemon checks them, and
 * each [child] certificate. Needs no daemon. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <zmq.h>
#include "keyfiles.h"
#include "output.h"
#include "run.h"
#include "xf_cert.h"
#include "xf_conf.h"
#include "xf_trust.h"
#include "xfctl.h"

typedef struct {
    json_t *problems;
    uint8_t curve_public[32];
    bool has_curve;
} check_t;

static void problem (check_t *c, const char *fmt, ...) __attribute__ ((format (printf, 2, 3)));
static void problem (check_t *c, const char *fmt, ...)
{
    char buf[700];
    va_list ap;
    va_start (ap, fmt);
    vsnprintf (buf, sizeof buf, fmt, ap);
    va_end (ap);
    json_array_append_new (c->problems, json_string (buf));
}

static void check_keys (check_t *c, const xf_conf_t *cf)
{
    char why[600], secret[41], pub[41];
    uint8_t key[32];
    if (keyfile_curve (cf->key_file, secret, why, sizeof why) != 0)
        problem (c, "key_file: %s", why);
    else {
        zmq_curve_public (pub, secret);
        c->has_curve = zmq_z85_decode (c->curve_public, pub) != NULL;
        explicit_bzero (secret, sizeof secret);
    }
    if (cf->identity_key_file && keyfile_identity (cf->identity_key_file, key, why, sizeof why) != 0)
        problem (c, "identity_key_file: %s", why);
    explicit_bzero (key, sizeof key);
}

static json_t *check_trust (check_t *c, const xf_conf_t *cf)
{
    xf_err_t err = {0};
    if (!cf->has_trust)
        return json_null ();
    xf_trust_t *t = xf_trust_load (cf->trust_anchor, cf->trust_certificate, cf->trust_signing_key,
                                   cf->code, c->has_curve ? c->curve_public : NULL, time (NULL),
                                   &err);
    if (!t) {
        problem (c, "%s", err.msg);
        return json_null ();
    }
    const xf_cert_info_t *own = xf_trust_own (t);
    char until[32];
    if (xf_trust_check_place (t, (xf_profile_t) cf->trust_profile,
                              cf->has_parent ? cf->parent_code : NULL, NULL, &err) != XF_OK)
        problem (c, "%s", err.msg);
    for (size_t i = 0; i < cf->n_children; i++) {
        const xf_conf_child_t *ch = &cf->children[i];
        X509 *x = ch->certificate ? xf_cert_load (ch->certificate, &err) : NULL;
        if (ch->certificate && (!x || xf_trust_check_child (t, x, ch->code, time (NULL), &err) != XF_OK))
            problem (c, "[child %s] certificate %s: %s", ch->code, ch->certificate, err.msg);
        X509_free (x);
    }
    json_t *out = json_pack ("{s:s,s:s,s:s}", "profile", xf_profile_name (xf_trust_profile (t)),
                             "issuer", own->issuer, "not_after", xf_cert_time (own->not_after, until));
    xf_trust_destroy (&t);
    return out;
}

int xf_run_config_check (const char *path)
{
    xf_err_t err = {0};
    xf_conf_t *cf = xf_conf_load (path, &err);
    if (!cf)
        return xfctl_refuse ("config", "%s", err.msg);
    check_t c = {.problems = json_array ()};
    check_keys (&c, cf);
    json_t *trust = check_trust (&c, cf);
    int rc = XFCTL_OK;
    if (json_array_size (c.problems)) {
        json_t *extra = json_pack ("{s:O}", "problems", c.problems);
        rc = xfctl_refuse_extra ("config", extra, "%s: %s%s", path,
                                 json_string_value (json_array_get (c.problems, 0)),
                                 json_array_size (c.problems) > 1 ? " (and more: see --json)" : "");
    } else if (xfctl_json ()) {
        json_t *doc = json_pack ("{s:s,s:b,s:s,s:s,s:s?,s:I,s:o,s:b}", "file", path, "ok", 1,
                                 "code", cf->code, "name", cf->name, "parent",
                                 cf->has_parent ? cf->parent_code : NULL, "children",
                                 (json_int_t) cf->n_children, "trust", trust, "roles", cf->has_roles);
        trust = NULL;
        xf_out_json (doc, stdout);
        json_decref (doc);
    } else {
        printf ("%s: ok — office %s (%s), %s%s, %zu child office(s), %s, %s\n", path, cf->code,
                cf->name, cf->has_parent ? "parent " : "the root", cf->has_parent ? cf->parent_code : "",
                cf->n_children, json_is_object (trust) ? "[trust] certificate valid" : "no [trust]",
                cf->has_roles ? "[roles] set" : "no [roles] (every operator is an admin)");
    }
    json_decref (trust);
    json_decref (c.problems);
    xf_conf_destroy (&cf);
    return rc;
}
