/* backup.c — `xfctl backup FILE`: a consistent, compacted copy of the node's store.
 *
 * xfctl opens FILE.part itself (the operator's file, with the operator's rights) and hands the
 * daemon a pipe with the request; the daemon's copy thread writes the store into it while the
 * node goes on working. xfctl counts the bytes (progress on a terminal), asks the daemon
 * whether the copy completed, checks what it wrote is a whole xfsync store, syncs it and only
 * then renames it to FILE: a FILE that exists is a complete backup. */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "client.h"
#include "run.h"
#include "xf_store.h"
#include "xfctl.h"

#define STATUS_POLL_MS 50
#define STATUS_LIMIT_MS 60000

static int64_t now_ms (void)
{
    struct timespec ts;
    clock_gettime (CLOCK_MONOTONIC, &ts);
    return (int64_t) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void show_progress (bool tty, uint64_t done, uint64_t estimate, bool last)
{
    if (!tty)
        return;
    if (estimate && done <= estimate)
        fprintf (stderr, "\rbackup: %.1f of at most %.1f MiB", done / 1048576.0, estimate / 1048576.0);
    else
        fprintf (stderr, "\rbackup: %.1f MiB", done / 1048576.0);
    fprintf (stderr, "%s", last ? "\n" : "   ");
    fflush (stderr);
}

/* Moves the pipe's bytes into out until the daemon closes it; gives up, as on the control
 * socket, when none has come for --timeout seconds (a frozen node). */
static int drain (int in, int out, const char *part, uint64_t estimate, uint64_t *total)
{
    char buf[1 << 16];
    bool tty = isatty (STDERR_FILENO) == 1;
    int64_t shown = 0;
    int wait_ms = xf_client_timeout () > 0 ? xf_client_timeout () * 1000 : -1;
    *total = 0;
    for (;;) {
        struct pollfd p = {in, POLLIN, 0};
        int ready = poll (&p, 1, wait_ms);
        if (ready < 0 && errno == EINTR)
            continue;
        if (ready == 0)
            return xfctl_unreachable ("xfsyncd sent no byte of the copy for %d s (after %.1f MiB): "
                                      "it may be stuck or overloaded; --timeout 0 waits as long "
                                      "as it takes", xf_client_timeout (), *total / 1048576.0);
        ssize_t n = read (in, buf, sizeof buf);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return xfctl_refuse ("io", "reading the copy from xfsyncd: %s", strerror (errno));
        if (n == 0)
            break;
        for (ssize_t off = 0; off < n;) {
            ssize_t w = write (out, buf + off, (size_t) (n - off));
            if (w < 0 && errno == EINTR)
                continue;
            if (w < 0)
                return xfctl_refuse ("io", "%s: %s", part, strerror (errno));
            off += w;
        }
        *total += (uint64_t) n;
        if (now_ms () - shown >= 200) {
            show_progress (tty, *total, estimate, false);
            shown = now_ms ();
        }
    }
    show_progress (tty, *total, estimate, true);
    return XFCTL_OK;
}

/* Whether the daemon's copy completed: it says so once its thread ended. */
static int copy_result (xf_client_t *c, json_int_t id)
{
    json_t *args = xjson (json_pack ("{s:I}", "id", id)), *r = NULL;
    int64_t limit = now_ms () + STATUS_LIMIT_MS;
    int rc;
    while ((rc = xf_client_call (c, "backup.status", args, &r)) == XFCTL_OK
           && !json_is_true (json_object_get (r, "done")) && now_ms () < limit) {
        json_decref (r);
        r = NULL;
        usleep (STATUS_POLL_MS * 1000);
    }
    json_decref (args);
    if (rc == XFCTL_REFUSED && r) {
        rc = xf_client_refusal (r, "backup: ");
        json_decref (r);
        return rc;
    }
    if (rc != XFCTL_OK)
        return rc;
    if (!json_is_true (json_object_get (r, "done")))
        rc = xfctl_refuse ("io", "xfsyncd did not say within %d s whether the copy completed",
                           STATUS_LIMIT_MS / 1000);
    else if (!json_is_true (json_object_get (r, "ok")))
        rc = xfctl_refuse ("store", "xfsyncd could not copy the store: %s",
                           json_string_value (json_object_get (r, "error")));
    json_decref (r);
    return rc;
}

static int sync_dir_of (const char *file)
{
    char *copy = xstrdup (file);
    int fd = open (dirname (copy), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    free (copy);
    if (fd < 0)
        return -1;
    int rc = fsync (fd);
    close (fd);
    return rc;
}

/* Checks the copy, syncs it, and puts it in place. */
static int finish (const char *part, const char *file, int out, const char *office)
{
    xf_store_file_info_t info;
    xf_err_t err = {0};
    if (fsync (out) != 0)
        return xfctl_refuse ("io", "%s: %s", part, strerror (errno));
    if (xf_store_file_check (part, &info, &err) != XF_OK)
        return xfctl_refuse ("store", "the copy is not a whole store: %s", err.msg);
    if (strcmp (info.office, office) != 0)
        return xfctl_refuse ("store", "the copy belongs to office %s, not %s", info.office, office);
    if (rename (part, file) != 0)
        return xfctl_refuse ("io", "renaming %s to %s: %s", part, file, strerror (errno));
    if (sync_dir_of (file) != 0)
        return xfctl_refuse ("io", "syncing the directory of %s: %s", file, strerror (errno));
    printf ("backup of office %s: %s, %.1f %s, %zu cases, %zu events, %zu audit records\n",
            office, file, info.bytes < (1u << 20) ? info.bytes / 1024.0 : info.bytes / 1048576.0,
            info.bytes < (1u << 20) ? "KiB" : "MiB", info.entries[XF_DB_CASES],
            info.entries[XF_DB_EVENTS], info.entries[XF_DB_AUDIT]);
    return XFCTL_OK;
}

int xf_run_backup (const char *socket, const char *file)
{
    char *part = xasprintf ("%s.part", file);
    int pfd[2] = {-1, -1}, rc;
    json_t *r = NULL;
    uint64_t total = 0;
    int out = open (part, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (out < 0) {
        rc = xfctl_refuse ("io", "%s: %s", part, strerror (errno));
        free (part);
        return rc;
    }
    xf_client_t *c = NULL;
    if (pipe2 (pfd, O_CLOEXEC) != 0)
        rc = xfctl_refuse ("io", "pipe: %s", strerror (errno));
    else if (!(c = xf_client_connect (socket)))
        rc = XFCTL_UNREACHABLE;
    else if ((rc = xf_client_call_fd (c, "backup", NULL, pfd[1], &r)) == XFCTL_REFUSED && r)
        rc = xf_client_refusal (r, "backup: ");
    if (pfd[1] >= 0)
        close (pfd[1]);   /* the daemon holds its own: EOF when its copy ends */
    if (rc == XFCTL_OK) {
        char office[16];
        snprintf (office, sizeof office, "%s", json_string_value (json_object_get (r, "office")));
        rc = drain (pfd[0], out, part, (uint64_t) json_integer_value (json_object_get (r, "estimate")),
                    &total);
        if (rc == XFCTL_OK)
            rc = copy_result (c, json_integer_value (json_object_get (r, "id")));
        if (rc == XFCTL_OK)
            rc = finish (part, file, out, office);
    }
    json_decref (r);
    xf_client_close (&c);
    if (pfd[0] >= 0)
        close (pfd[0]);
    close (out);
    if (rc != XFCTL_OK)
        unlink (part);   /* FILE is only ever a complete backup */
    free (part);
    return rc;
}
