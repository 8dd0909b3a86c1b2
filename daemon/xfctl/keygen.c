/* keygen.c — `xfctl keygen DIR`: a CURVE key pair for a node. The secret key file is
 * created exclusively with mode 0600 so an existing node identity is never overwritten and
 * the secret is never readable by others, not even for a moment. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zmq.h>
#include "output.h"
#include "run.h"
#include "text.h"
#include "xfctl.h"

static int write_secret (const char *path, const char *secret)
{
    int fd = open (path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd < 0 && errno == EEXIST)
        return xfctl_refuse ("exists", "%s already exists; refusing to overwrite a node key "
                             "(it is this office's identity: move it away first if you really "
                             "mean to replace it)", path);
    if (fd < 0)
        return xfctl_refuse ("io", "cannot create %s: %s", path, strerror (errno));
    char *line = xasprintf ("%s\n", secret);
    int rc = xfctl_finish_file (fd, line, 0600);
    int saved = errno;
    explicit_bzero (line, strlen (line));
    free (line);
    if (rc != 0) {
        unlink (path);
        return xfctl_refuse ("io", "cannot write %s: %s", path, strerror (saved));
    }
    return XFCTL_OK;
}

static int report (const char *public, const char *key_path, const char *pub_path)
{
    char *k = text_clean (key_path), *p = text_clean (pub_path);
    int rc;
    if (xfctl_json ()) {
        json_t *doc = xjson (json_pack ("{s:s,s:s,s:s}", "public_key", public, "key_file", k,
                                        "public_key_file", p));
        rc = xf_out_json (doc, stdout);
        json_decref (doc);
    } else {
        rc = printf ("public key: %s\nsecret key written to %s (mode 0600)\n"
                     "public key written to %s\n", public, k, p) < 0 ? -1 : 0;
    }
    free (k), free (p);
    return rc;   /* a failed stdout is caught when main flushes it */
}

int xf_run_keygen (const char *dir)
{
    char public[41], secret[41];
    struct stat st;
    if (stat (dir, &st) != 0)
        return xfctl_refuse ("io", "%s: %s", dir, strerror (errno));
    if (!S_ISDIR (st.st_mode))
        return xfctl_refuse ("io", "%s is not a directory", dir);
    if (zmq_curve_keypair (public, secret) != 0)
        return xfctl_refuse ("io", "cannot make a CURVE key pair: %s (is libzmq built with "
                             "libsodium?)", zmq_strerror (errno));
    char *key_path = xfctl_path_in (dir, "node.key"), *pub_path = xfctl_path_in (dir, "node.pub");
    int rc = write_secret (key_path, secret);
    explicit_bzero (secret, sizeof secret);
    char *pub_line = xasprintf ("%s\n", public);
    if (rc == XFCTL_OK && (rc = xfctl_write_file (pub_path, pub_line, 0644)) != XFCTL_OK)
        unlink (key_path);   /* no half-made identity: the operator can simply run it again */
    if (rc == XFCTL_OK)
        report (public, key_path, pub_path);
    free (key_path), free (pub_path), free (pub_line);
    return rc;
}
