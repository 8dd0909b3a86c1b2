/* keyfiles.c — the secret key files of a node (keyfiles.h), shared by xfsyncd and xfctl. */
#include "keyfiles.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zmq.h>

/* The file's first bytes into line (NUL-terminated), refused if others may read it. */
static int read_private (const char *what, const char *path, const char *hint, char *line,
                         size_t size, char *errbuf, size_t errlen)
{
    struct stat st;
    int fd = open (path, O_RDONLY | O_CLOEXEC);
    ssize_t n = fd < 0 ? -1 : fstat (fd, &st) == 0 ? read (fd, line, size - 1) : -1;
    int saved = errno;
    if (fd >= 0)
        close (fd);
    if (n < 0) {
        snprintf (errbuf, errlen, "%s %s: %s (%s)", what, path, strerror (saved), hint);
        return -1;
    }
    line[n] = 0;
    if (st.st_mode & 0077) {
        snprintf (errbuf, errlen, "%s %s: readable by group or others (mode %03o); run: chmod 600 %s",
                  what, path, (unsigned) (st.st_mode & 0777), path);
        return -1;
    }
    return 0;
}

int keyfile_curve (const char *path, char secret[41], char *errbuf, size_t errlen)
{
    char line[128], pub[41];
    if (read_private ("key", path, "create one with: xfctl keygen DIR", line, sizeof line,
                      errbuf, errlen) != 0)
        return -1;
    line[strcspn (line, "\r\n")] = 0;
    int rc = strlen (line) == 40 && zmq_curve_public (pub, line) == 0 ? 0 : -1;
    if (rc == 0)
        memcpy (secret, line, 41);
    else
        snprintf (errbuf, errlen, "key %s: not a Z85 CURVE secret key (40 characters expected)", path);
    explicit_bzero (line, sizeof line);
    return rc;
}

static int hex_digit (char c)
{
    return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10
         : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
}

int keyfile_identity (const char *path, uint8_t key[32], char *errbuf, size_t errlen)
{
    char text[128];
    if (read_private ("identity key", path, "create it once for the whole tree with: openssl "
                      "rand -hex 32 > FILE; chmod 600 FILE", text, sizeof text, errbuf, errlen) != 0)
        return -1;
    text[strcspn (text, " \t\r\n")] = 0;
    size_t len = strlen (text);
    for (size_t i = 0; len == 64 && i < 32; i++) {
        int hi = hex_digit (text[2 * i]), lo = hex_digit (text[2 * i + 1]);
        if (hi < 0 || lo < 0)
            len = 0;
        key[i] = (uint8_t) (hi << 4 | lo);
    }
    explicit_bzero (text, sizeof text);
    if (len != 64) {
        snprintf (errbuf, errlen, "identity key %s: not 64 hex digits (create it with: openssl "
                  "rand -hex 32)", path);
        return -1;
    }
    return 0;
}
