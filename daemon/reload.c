/* reload.c — the node's keys, read at start, and the configuration read again on SIGHUP
 * (`systemctl reload xfsyncd`).
 *
 * A reload takes the new [child] offices and their keys or certificates, the node key, the
 * identity key, the [trust] files, [roles], [recusal], [deadlines], [report], [links] and
 * [stats], and rebuilds the links from them. Nothing queued is dropped: every envelope waits
 * in the store's outbox under its link position, and a link rebuilt from the store sends again
 * whatever its peer has not acknowledged. A new configuration that does not load, or whose
 * keys, certificates or sockets fail, changes nothing: the running one stays, and the log says
 * why. The office code, data_dir, control_socket, store_max_mb and the [trust] profile are the
 * node's identity and store, and [metrics] listen a socket like the control socket; changing
 * them needs a restart. */
#include <openssl/crypto.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <zmq.h>
#include "keyfiles.h"
#include "log.h"
#include "node.h"
#include "xf_trust.h"

int node_keys_load (xf_node_t *node, char *errbuf, size_t errlen)
{
    if (keyfile_curve (node->conf->key_file, node->secret_key, errbuf, errlen) != 0)
        return -1;
    zmq_curve_public (node->public_key, node->secret_key);
    return 0;
}

/* The tree's identity key (64 hex digits, the same file at every office) into key; false in
 * *have without identity_key_file. */
static int read_identity_key (xf_node_t *node, uint8_t key[32], bool *have, char *errbuf,
                              size_t errlen)
{
    const char *path = node->conf->identity_key_file;
    *have = path != NULL;
    if (!path) {
        if (node->conf->has_parent || node->conf->n_children)
            log_warn ("no identity_key_file in [node]: repeat and skip-level petitions are "
                      "recognized at this office only, and no identity is told to the office above");
        return 0;
    }
    return keyfile_identity (path, key, errbuf, errlen);
}

static int set_identity_key (xf_node_t *node, const uint8_t key[32], char *errbuf, size_t errlen)
{
    xf_err_t err = {0};
    if (xf_office_set_identity_key (node->office, key, 32, &err) != XF_OK) {
        snprintf (errbuf, errlen, "identity key %s: %s", node->conf->identity_key_file, err.msg);
        return -1;
    }
    return 0;
}

int node_identity_load (xf_node_t *node, char *errbuf, size_t errlen)
{
    uint8_t key[32];
    bool have;
    int rc = read_identity_key (node, key, &have, errbuf, errlen);
    if (rc == 0 && have)
        rc = set_identity_key (node, key, errbuf, errlen);
    OPENSSL_cleanse (key, sizeof key);
    return rc;
}

/* ---------------------------------------------------------------- reload */

/* What a reload cannot change, or "" when nothing of it changed. */
static const char *fixed_setting (const xf_conf_t *a, const xf_conf_t *b)
{
    if (strcmp (a->code, b->code) != 0)
        return "the office code ([node] code)";
    if (strcmp (a->data_dir, b->data_dir) != 0)
        return "[node] data_dir";
    if (strcmp (a->control_socket, b->control_socket) != 0)
        return "[node] control_socket";
    if (a->store_max_mb != b->store_max_mb)
        return "[node] store_max_mb";
    if (strcmp (a->metrics_listen ? a->metrics_listen : "",
                b->metrics_listen ? b->metrics_listen : "") != 0)
        return "[metrics] listen";
    if (a->has_trust != b->has_trust || (a->has_trust && a->trust_profile != b->trust_profile))
        return "[trust] (on, off, or its profile)";
    return "";
}

/* Everything a reload replaces, so that a failure puts it all back. */
typedef struct {
    xf_conf_t *conf;
    xf_trust_t *trust;
    struct trust_children *children;
    struct trust_revocations *revocations;
    struct xf_access *access;
    char public_key[41], secret_key[41];
} held_t;

static void hold (xf_node_t *node, held_t *h)
{
    h->conf = node->conf;
    h->trust = node->trust;
    h->children = node->children;
    h->revocations = node->revocations;
    h->access = node->access;
    memcpy (h->public_key, node->public_key, sizeof h->public_key);
    memcpy (h->secret_key, node->secret_key, sizeof h->secret_key);
    node->trust = NULL;
    node->children = NULL;
    node->revocations = NULL;
    node->access = NULL;
}

void node_settings_close (xf_node_t *node)
{
    trust_children_close (node);
    trust_revocations_close (node);
    xf_trust_destroy (&node->trust);
    xf_access_destroy (&node->access);
    xf_conf_destroy (&node->conf);
}

/* Frees what the node holds now (the new, failed state) and takes back h. */
static void put_back (xf_node_t *node, held_t *h)
{
    node_settings_close (node);
    node->conf = h->conf;
    node->trust = h->trust;
    node->children = h->children;
    node->revocations = h->revocations;
    node->access = h->access;
    memcpy (node->public_key, h->public_key, sizeof h->public_key);
    memcpy (node->secret_key, h->secret_key, sizeof h->secret_key);
    xf_office_set_trust (node->office, node->trust);
    xf_limits_t lim = node_limits (node->conf);
    xf_office_set_limits (node->office, &lim);
}

/* Frees h, once the new state runs. */
static void drop (held_t *h)
{
    xf_node_t old = {.conf = h->conf, .trust = h->trust, .children = h->children,
                     .revocations = h->revocations, .access = h->access};
    node_settings_close (&old);
    OPENSSL_cleanse (h->secret_key, sizeof h->secret_key);
}

/* The node's state from node->conf (new): keys, trust, roles. The identity key is only read:
 * it is set once nothing else can fail. -1 with errbuf. */
static int open_settings (xf_node_t *node, uint8_t idkey[32], bool *have_idkey, char *errbuf,
                          size_t errlen)
{
    if (node_keys_load (node, errbuf, errlen) != 0
        || read_identity_key (node, idkey, have_idkey, errbuf, errlen) != 0
        || trust_open (node, errbuf, errlen) != 0 || trust_children_open (node, errbuf, errlen) != 0
        || trust_revocations_open (node, errbuf, errlen) != 0 || access_open (node, errbuf, errlen) != 0)
        return -1;
    xf_limits_t lim = node_limits (node->conf);
    xf_office_set_limits (node->office, &lim);
    return 0;
}

static void describe (const xf_conf_t *old, const xf_conf_t *cf, const char *old_key,
                      const char *new_key)
{
    char added[200] = "", removed[200] = "";
    size_t na = 0, nr = 0;
    for (size_t i = 0; i < cf->n_children; i++)
        if (!xf_conf_child (old, cf->children[i].code) && na < sizeof added)
            na += (size_t) snprintf (added + na, sizeof added - na, " %s", cf->children[i].code);
    for (size_t i = 0; i < old->n_children; i++)
        if (!xf_conf_child (cf, old->children[i].code) && nr < sizeof removed)
            nr += (size_t) snprintf (removed + nr, sizeof removed - nr, " %s", old->children[i].code);
    log_info ("reloaded %s: %zu child office(s)%s%s%s%s; node key %s; links rebuilt, queues kept",
              cf->path, cf->n_children, na ? ", added" : "", added, nr ? ", removed" : "", removed,
              strcmp (old_key, new_key) == 0 ? "unchanged" : "changed");
}

int node_reload (xf_node_t *node)
{
    xf_err_t err = {0};
    char errbuf[600];
    const char *path = node->conf->path;
    xf_conf_t *cf = xf_conf_load (path, &err);
    if (!cf) {
        log_error ("reload refused, the running configuration stays: %s", err.msg);
        return -1;
    }
    const char *fixed = fixed_setting (node->conf, cf);
    if (*fixed) {
        log_error ("reload refused, the running configuration stays: %s changed in %s, and that "
                   "needs a restart (systemctl restart xfsyncd)", fixed, path);
        xf_conf_destroy (&cf);
        return -1;
    }
    held_t h;
    uint8_t idkey[32];
    bool have_idkey = false;
    hold (node, &h);
    node->conf = cf;
    bool rebuilt = false;
    bool failed = open_settings (node, idkey, &have_idkey, errbuf, sizeof errbuf) != 0;
    if (!failed) {
        rebuilt = true;   /* the envelopes in flight are sent again from the outbox */
        links_destroy (&node->links);
        failed = !(node->links = links_new (node, errbuf, sizeof errbuf));
    }
    if (!failed && have_idkey)
        failed = set_identity_key (node, idkey, errbuf, sizeof errbuf) != 0;
    OPENSSL_cleanse (idkey, sizeof idkey);
    if (failed) {
        log_error ("reload refused, the running configuration stays: %s", errbuf);
        put_back (node, &h);
        if (rebuilt) {
            links_destroy (&node->links);   /* made from the new configuration, or none */
            if (!(node->links = links_new (node, errbuf, sizeof errbuf))) {
                log_error ("cannot rebuild the links of the running configuration either: %s; "
                           "stopping (everything queued is kept in the store)", errbuf);
                node->stopping = true;
                return -1;
            }
            xf_net_t net = links_net (node->links);
            xf_office_set_net (node->office, &net);
        }
        return -1;
    }
    xf_net_t net = links_net (node->links);
    xf_office_set_net (node->office, &net);
    describe (h.conf, node->conf, h.public_key, node->public_key);
    drop (&h);
    return 0;
}
