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

static int write_all (int fd, const char *s, size_t len)
{
    while (len > 0) {
        ssize_t n = write (fd, s, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return -1;
        s += n, len -= (size_t) n;
    }
    return 0;
}

/* Writes line to an open fd with the given mode, syncs and closes it; -1 with errno. */
static int finish (int fd, const char *line, mode_t mode)
{
    int rc = 0;
    if (fchmod (fd, mode) != 0 || write_all (fd, line, strlen (line)) != 0 || fsync (fd) != 0)
        rc = -1;
    int saved = errno;
    if (close (fd) != 0 && rc == 0)
        return -1;
    errno = saved;
    return rc;
}

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
    int rc = finish (fd, line, 0600);
    int saved = errno;
    explicit_bzero (line, strlen (line));
    free (line);
    if (rc != 0) {
        unlink (path);
        return xfctl_refuse ("io", "cannot write %s: %s", path, strerror (saved));
    }
    return XFCTL_OK;
}

/* The public key goes in by rename, so a reader never sees half a file. */
static int write_public (const char *path, const char *public)
{
    char *tmp = xasprintf ("%s.tmp.%ld", path, (long) getpid ());
    int fd = open (tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
    char *line = xasprintf ("%s\n", public);
    int rc = fd < 0 ? -1 : finish (fd, line, 0644);
    if (rc == 0 && rename (tmp, path) != 0)
        rc = -1;
    int saved = errno;
    if (rc != 0 && fd >= 0)
        unlink (tmp);
    free (line), free (tmp);
    if (rc != 0)
        return xfctl_refuse ("io", "cannot write %s: %s", path, strerror (saved));
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
    size_t len = strlen (dir);
    while (len > 0 && dir[len - 1] == '/')
        len--;   /* "/etc/xfsync/" and "/" both join cleanly */
    char *key_path = xasprintf ("%.*s/node.key", (int) len, dir);
    char *pub_path = xasprintf ("%.*s/node.pub", (int) len, dir);
    int rc = write_secret (key_path, secret);
    explicit_bzero (secret, sizeof secret);
    if (rc == XFCTL_OK && (rc = write_public (pub_path, public)) != XFCTL_OK)
        unlink (key_path);   /* no half-made identity: the operator can simply run it again */
    if (rc == XFCTL_OK)
        report (public, key_path, pub_path);
    free (key_path), free (pub_path);
    return rc;
}
