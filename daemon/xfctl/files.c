/* files.c — writing the files xfctl leaves behind (keys, requests, certificates): synced to
 * disk, and a public file put in place by rename, so a reader never sees half of one. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
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

int xfctl_finish_file (int fd, const char *line, mode_t mode)
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

int xfctl_write_file (const char *path, const char *text, mode_t mode)
{
    char *tmp = xasprintf ("%s.tmp.%ld", path, (long) getpid ());
    int fd = open (tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode);
    int rc = fd < 0 ? -1 : xfctl_finish_file (fd, text, mode);
    if (rc == 0 && rename (tmp, path) != 0)
        rc = -1;
    int saved = errno;
    if (rc != 0 && fd >= 0)
        unlink (tmp);
    free (tmp);
    if (rc != 0)
        return xfctl_refuse ("io", "cannot write %s: %s", path, strerror (saved));
    return XFCTL_OK;
}

char *xfctl_path_in (const char *dir, const char *file)
{
    size_t len = strlen (dir);
    while (len > 0 && dir[len - 1] == '/')
        len--;   /* "/etc/xfsync/" and "/" both join cleanly */
    return xasprintf ("%.*s/%s", (int) len, dir, file);
}
