/* client.c — talking to xfsyncd over its control socket: connect with an operator-friendly
 * hint, write a whole request line, read exactly one response line of any length. */
#include "client.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>
#include "xfctl.h"

#define READ_CHUNK 65536

struct xf_client {
    int fd;
    char *path;
    char *buf;          /* bytes read and not yet consumed */
    size_t len, cap;
};

static int timeout_s = XF_CLIENT_TIMEOUT_DEFAULT;

void xf_client_set_timeout (int seconds)
{
    timeout_s = seconds;
}

int xf_client_timeout (void)
{
    return timeout_s;
}

/* An errno of a send or receive that timed out (SO_SNDTIMEO, SO_RCVTIMEO). */
static bool timed_out (int err)
{
    return err == EAGAIN || err == EWOULDBLOCK;
}

static int not_answering (const char *path, const char *doing)
{
    return xfctl_unreachable ("%s: xfsyncd did not %s within %d s: it may be stuck or overloaded "
                              "(see its log, and `systemctl status xfsyncd`); --timeout 0 waits "
                              "as long as it takes", path, doing, timeout_s);
}

static const char *hint (int err)
{
    switch (err) {
    case ENOENT:
    case ECONNREFUSED:
        return " (is xfsyncd running?)";
    case EACCES:
    case EPERM:
        return " (is this user in the group that owns the socket?)";
    default:
        return "";
    }
}

xf_client_t *xf_client_connect (const char *path)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    int err = 0, fd = -1;
    if (strlen (path) >= sizeof sa.sun_path)
        err = ENAMETOOLONG;
    else if ((fd = socket (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0)
        err = errno;
    struct timeval tv = {timeout_s, 0};
    if (!err && timeout_s > 0
        && (setsockopt (fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv) != 0
            || setsockopt (fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv) != 0))
        err = errno;
    if (!err) {
        memcpy (sa.sun_path, path, strlen (path) + 1);
        while (connect (fd, (struct sockaddr *) &sa, sizeof sa) != 0 && (err = errno) == EINTR)
            err = 0;
    }
    if (err) {
        if (fd >= 0)
            close (fd);
        if (timed_out (err)) {
            not_answering (path, "take the connection");
            return NULL;
        }
        xfctl_unreachable ("cannot connect to %s: %s%s", path, strerror (err), hint (err));
        return NULL;
    }
    xf_client_t *c = xmalloc (sizeof *c);
    *c = (xf_client_t) {fd, xstrdup (path), NULL, 0, 0};
    return c;
}

void xf_client_close (xf_client_t **c_p)
{
    xf_client_t *c = c_p ? *c_p : NULL;
    if (!c)
        return;
    close (c->fd);
    free (c->path);
    free (c->buf);
    free (c);
    *c_p = NULL;
}

/* Sends data; the first bytes carry descriptor pass_fd when it is not -1 (SCM_RIGHTS). */
static int send_all (xf_client_t *c, const char *data, size_t len, int pass_fd)
{
    while (len > 0) {
        ssize_t n;
        if (pass_fd >= 0) {
            struct iovec iov = {(void *) data, len};
            union {
                struct cmsghdr h;
                char space[CMSG_SPACE (sizeof (int))];
            } cbuf;
            memset (&cbuf, 0, sizeof cbuf);
            struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf.space,
                                 .msg_controllen = sizeof cbuf.space};
            struct cmsghdr *h = CMSG_FIRSTHDR (&msg);
            h->cmsg_level = SOL_SOCKET;
            h->cmsg_type = SCM_RIGHTS;
            h->cmsg_len = CMSG_LEN (sizeof (int));
            memcpy (CMSG_DATA (h), &pass_fd, sizeof pass_fd);
            n = sendmsg (c->fd, &msg, MSG_NOSIGNAL);
            if (n > 0)
                pass_fd = -1;
        } else
            n = send (c->fd, data, len, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && timed_out (errno))
            return not_answering (c->path, "take the request");
        if (n < 0)
            return xfctl_unreachable ("%s: sending the request: %s (did xfsyncd stop?)", c->path,
                                      strerror (errno));
        data += n, len -= (size_t) n;
    }
    return XFCTL_OK;
}

/* Reads until a newline; *line_len gets the line's length without it. */
static int read_line (xf_client_t *c, size_t *line_len)
{
    size_t scanned = 0;
    for (;;) {
        char *nl = c->len > scanned ? memchr (c->buf + scanned, '\n', c->len - scanned) : NULL;
        if (nl) {
            *line_len = (size_t) (nl - c->buf);
            return XFCTL_OK;
        }
        scanned = c->len;
        if (c->cap - c->len < READ_CHUNK) {
            c->cap = c->cap + (c->cap > READ_CHUNK ? c->cap : READ_CHUNK);
            c->buf = xrealloc (c->buf, c->cap);
        }
        ssize_t n = recv (c->fd, c->buf + c->len, c->cap - c->len, 0);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && timed_out (errno))
            return not_answering (c->path, "answer");
        if (n < 0)
            return xfctl_unreachable ("%s: reading the response: %s", c->path, strerror (errno));
        if (n == 0)
            return xfctl_unreachable ("%s: xfsyncd closed the connection before answering "
                                      "(did it stop?)", c->path);
        c->len += (size_t) n;
    }
}

/* Splits a response object into *out; see the header for what each status means. */
static int unpack (xf_client_t *c, json_t *resp, json_t **out)
{
    json_t *ok = json_object_get (resp, "ok");
    json_t *part = json_object_get (resp, json_is_true (ok) ? "result" : "error");
    if (!json_is_boolean (ok) || !part
        || (json_is_false (ok) && !json_is_string (json_object_get (part, "code"))))
        return xfctl_refuse ("protocol", "%s: the response is not {\"ok\":…} as control.h says",
                             c->path);
    *out = json_incref (part);
    return json_is_true (ok) ? XFCTL_OK : XFCTL_REFUSED;
}

int xf_client_call (xf_client_t *c, const char *cmd, const json_t *args, json_t **out)
{
    return xf_client_call_fd (c, cmd, args, -1, out);
}

int xf_client_call_fd (xf_client_t *c, const char *cmd, const json_t *args, int fd, json_t **out)
{
    *out = NULL;
    json_t *req = xjson (json_pack ("{s:s}", "cmd", cmd));
    if (args)
        xjson_set (req, "args", json_incref ((json_t *) args));
    char *line = json_dumps (req, JSON_COMPACT);   /* compact output has no raw newline */
    json_decref (req);
    if (!line)
        return xfctl_refuse ("no_memory", "out of memory encoding the %s request", cmd);
    size_t len = strlen (line);
    line = xrealloc (line, len + 2);
    memcpy (line + len, "\n", 2);
    int rc = send_all (c, line, len + 1, fd);
    free (line);
    size_t line_len = 0;
    if (rc == XFCTL_OK)
        rc = read_line (c, &line_len);
    if (rc != XFCTL_OK)
        return rc;
    json_error_t jerr;
    json_t *resp = json_loadb (c->buf, line_len, 0, &jerr);
    c->len -= line_len + 1;   /* keep whatever follows the line for the next call */
    memmove (c->buf, c->buf + line_len + 1, c->len);
    if (!resp)
        return xfctl_refuse ("protocol", "%s: the response is not JSON: %s", c->path, jerr.text);
    rc = unpack (c, resp, out);
    json_decref (resp);
    return rc;
}

int xf_client_refusal (const json_t *error, const char *prefix)
{
    const char *code = json_string_value (json_object_get (error, "code"));
    const char *msg = json_string_value (json_object_get (error, "message"));
    return xfctl_refuse (code ? code : "error", "%s%s", prefix ? prefix : "",
                         msg ? msg : "refused");
}

int xf_client_request (const char *path, const char *cmd, const json_t *args, json_t **result)
{
    *result = NULL;
    xf_client_t *c = xf_client_connect (path);
    if (!c)
        return XFCTL_UNREACHABLE;
    json_t *out;
    int rc = xf_client_call (c, cmd, args, &out);
    xf_client_close (&c);
    if (rc == XFCTL_REFUSED && out)
        xf_client_refusal (out, NULL);
    if (rc == XFCTL_OK)
        *result = out;
    else
        json_decref (out);
    return rc;
}

int xf_client_await (const char *path, const char *cmd, const json_t *args, int poll_ms,
                     int64_t limit_ms, void (*progress) (const json_t *pending), json_t **result)
{
    for (int64_t waited = 0; json_is_true (json_object_get (*result, "pending")); waited += poll_ms) {
        if (progress)
            progress (*result);
        if (waited >= limit_ms)
            return XF_CLIENT_TIMEOUT;
        json_t *again = args ? json_incref ((json_t *) args)
                             : json_pack ("{s:O}", "request", json_object_get (*result, "request"));
        nanosleep (&(struct timespec) {poll_ms / 1000, (poll_ms % 1000) * 1000000L}, NULL);
        json_decref (*result);
        int rc = xf_client_request (path, cmd, again, result);
        json_decref (again);
        if (rc != XFCTL_OK)
            return rc;
    }
    return XFCTL_OK;
}
