/* trust_revoke.c — revoked certificates across the tree: an office revokes a certificate it
 * issued to a child (cert.revoke), signs the revocation, keeps it, and every hello it sends
 * carries the revocations it knows; an office takes one from a hello when the issuer's
 * signature holds (xf_trust_take_revocation), keeps it and passes it on at once, so that every
 * office refuses what the certificate signs and its key at any link. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "log.h"
#include "node.h"
#include "xf_trust.h"

#define REVOKED_PREFIX "revoked/"

struct trust_revocations {
    Xf__Revocation **v;
    size_t n;
};

/* Keeps a copy of r (unpacked from its own bytes, so the list owns all of it). */
static int remember (xf_node_t *node, const uint8_t *packed, size_t len)
{
    struct trust_revocations *tr = node->revocations;
    Xf__Revocation *copy = xf__revocation__unpack (NULL, len, packed);
    Xf__Revocation **grown = copy ? realloc (tr->v, (tr->n + 1) * sizeof *grown) : NULL;
    if (!grown) {
        if (copy)
            xf__revocation__free_unpacked (copy, NULL);
        return -1;
    }
    tr->v = grown;
    tr->v[tr->n++] = copy;
    return 0;
}

static uint8_t *pack (const Xf__Revocation *r, size_t *len)
{
    *len = xf__revocation__get_packed_size (r);
    uint8_t *buf = malloc (*len ? *len : 1);
    if (buf)
        xf__revocation__pack (r, buf);
    return buf;
}

/* ---------------------------------------------------------------- the store */

typedef struct {
    xf_node_t *node;
    int rc;
} load_t;

static int each_revoked (const void *key, size_t klen, const void *val, size_t vlen, void *arg)
{
    load_t *ld = arg;
    Xf__Revocation *r = xf__revocation__unpack (NULL, vlen, val);
    xf_err_t err = {0};
    if (!r || !r->fingerprint) {   /* verified before it was stored: this is damage */
        log_error ("a stored revocation (%.*s) does not decode; ignored", (int) klen, (const char *) key);
    } else if (xf_trust_revoke (ld->node->trust, r->fingerprint, &err) != XF_OK
               || remember (ld->node, val, vlen) != 0) {
        log_error ("revocation of %.16s…: %s", r->fingerprint, err.msg[0] ? err.msg : "out of memory");
        ld->rc = -1;
    }
    if (r)
        xf__revocation__free_unpacked (r, NULL);
    return ld->rc == 0 ? 0 : 1;
}

static int load_txn (xf_txn_t *txn, void *arg, xf_err_t *err)
{
    return xf_txn_scan_prefix (txn, XF_DB_LINKS, REVOKED_PREFIX, strlen (REVOKED_PREFIX),
                               each_revoked, arg, err);
}

int trust_revocations_open (xf_node_t *node, char *errbuf, size_t errlen)
{
    xf_err_t err = {0};
    if (!node->trust)
        return 0;
    load_t ld = {node, 0};
    if (!(node->revocations = calloc (1, sizeof *node->revocations))
        || xf_store_read (node->store, load_txn, &ld, &err) != XF_OK || ld.rc != 0) {
        snprintf (errbuf, errlen, "revoked certificates: %s", err.msg[0] ? err.msg : "cannot load them");
        return -1;
    }
    return 0;
}

void trust_revocations_close (xf_node_t *node)
{
    struct trust_revocations *tr = node->revocations;
    if (!tr)
        return;
    for (size_t i = 0; i < tr->n; i++)
        xf__revocation__free_unpacked (tr->v[i], NULL);
    free (tr->v);
    free (tr);
    node->revocations = NULL;
}

/* Stores r (under revoked/FINGERPRINT) and keeps it for the hellos. */
static int keep (xf_node_t *node, const Xf__Revocation *r, xf_err_t *err)
{
    size_t len = 0;
    uint8_t *buf = pack (r, &len);
    char key[sizeof REVOKED_PREFIX + XF_CERT_FP_LEN];
    int klen = snprintf (key, sizeof key, REVOKED_PREFIX "%s", r->fingerprint);
    int rc = buf ? xf_store_put (node->store, XF_DB_LINKS, key, (size_t) klen, buf, len, err)
                 : xf_err_set (err, XF_ENOMEM, "out of memory");
    if (rc == XF_OK && remember (node, buf, len) != 0)
        rc = xf_err_set (err, XF_ENOMEM, "out of memory");
    free (buf);
    return rc;
}

/* ---------------------------------------------------------------- hellos */

Xf__Revocation **trust_revocations_all (xf_node_t *node, size_t *n)
{
    *n = node->revocations ? node->revocations->n : 0;
    return node->revocations ? node->revocations->v : NULL;
}

size_t trust_revocations_take (xf_node_t *node, const char *peer, Xf__Revocation *const *in,
                               size_t n)
{
    size_t taken = 0;
    for (size_t i = 0; node->trust && i < n; i++) {
        xf_err_t err = {0};
        int rc = xf_trust_take_revocation (node->trust, in[i], &err);
        if (rc == XF_EEXIST)
            continue;
        if (rc != XF_OK) {
            log_warn ("link %s: a revocation it passed on is not taken: %s", peer, err.msg);
            continue;
        }
        if (keep (node, in[i], &err) != XF_OK)
            log_error ("link %s: cannot store a revocation: %s (it holds until a restart)", peer,
                       err.msg);
        log_warn ("certificate %s (serial %s) of %s revoked by %s (%s), learned from link %s: "
                  "what it signs is refused here", in[i]->fingerprint, in[i]->serial, in[i]->code,
                  in[i]->issuer, in[i]->reason, peer);
        taken++;
    }
    return taken;
}

json_t *trust_revocations_json (xf_node_t *node)
{
    json_t *out = json_array ();
    size_t n = 0;
    Xf__Revocation **v = trust_revocations_all (node, &n);
    for (size_t i = 0; i < n; i++) {
        char at[32];
        json_array_append_new (out, json_pack ("{s:s,s:s,s:s,s:s,s:s,s:s}", "fingerprint",
                                               v[i]->fingerprint, "code", v[i]->code, "serial",
                                               v[i]->serial, "issuer", v[i]->issuer, "reason",
                                               v[i]->reason, "at", xf_cert_time (v[i]->at, at)));
    }
    return out;
}

/* ---------------------------------------------------------------- cert.revoke */

/* cert.revoke {serial | fingerprint, reason}: a certificate this office issued to a child is
 * refused from now on, here and, as the revocation travels, everywhere. */
json_t *cmd_cert_revoke (xf_node_t *node, uid_t uid, const json_t *args, xf_err_t *err)
{
    const char *serial = json_string_value (json_object_get (args, "serial"));
    const char *fp = json_string_value (json_object_get (args, "fingerprint"));
    const char *reason = json_string_value (json_object_get (args, "reason"));
    if (!node->trust) {
        xf_err_set (err, XF_ESTATE, "this office has no [trust]: there is no certificate to revoke");
        return NULL;
    }
    if ((!serial == !fp) || !reason || !*reason) {
        xf_err_set (err, XF_EINVAL, "name the certificate by serial or by fingerprint (one of "
                    "them), and give the reason");
        return NULL;
    }
    const xf_cert_info_t *c = trust_children_find (node, serial, fp);
    if (!c) {
        xf_err_set (err, XF_ENOTFOUND, "no certificate of a child of this office has %s %s "
                    "(xfctl cert show lists them)", serial ? "serial" : "fingerprint",
                    serial ? serial : fp);
        return NULL;
    }
    if (xf_trust_revoked (node->trust, c->fingerprint)) {
        xf_err_set (err, XF_EEXIST, "certificate %s of %s is revoked already", c->serial, c->code);
        return NULL;
    }
    Xf__Revocation r = XF__REVOCATION__INIT;
    uint8_t sig[XF_SIG_MAX];
    char at[32];
    r.fingerprint = (char *) c->fingerprint;
    r.code = (char *) c->code;
    r.serial = (char *) c->serial;
    r.at = node_now (node);
    r.reason = (char *) reason;
    if (xf_trust_sign_revocation (node->trust, &r, sig, err) != XF_OK || keep (node, &r, err) != XF_OK)
        return NULL;
    links_rehello (node->links);   /* tell the neighbours now: they pass it on */
    log_warn ("certificate %s (serial %s) of child %s revoked by uid %u: %s; its key is refused at "
              "its next handshake, and what it signs is refused wherever the revocation reaches",
              c->fingerprint, c->serial, c->code, (unsigned) uid, reason);
    return json_pack ("{s:s,s:s,s:s,s:s,s:s}", "code", c->code, "serial", c->serial,
                      "fingerprint", c->fingerprint, "reason", reason,
                      "revoked", xf_cert_time (r.at, at));
}
