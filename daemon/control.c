/* control.c — the control socket: accepts operator connections, frames requests by line,
 * answers each in order, and never lets one client's bad or huge input disturb the node. */
#include "control.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>
#include <zmq.h>
#include "log.h"
#include "node.h"

#define MAX_CLIENTS 64
#define READ_CHUNK  65536

typedef struct {
    int fd;
    uid_t uid;
    char *in;            /* bytes received, not yet a whole line */
    size_t in_len, in_cap;
    char *out;           /* responses not yet written */
    size_t out_len, out_off, out_cap;
    size_t scanned;      /* bytes of `in` already searched for a newline */
    bool discarding;     /* skipping the rest of an oversized line */
    bool closing;        /* peer hung up: close once the output is flushed */
    int passed_fd;       /* a descriptor sent with the request (SCM_RIGHTS; backup), or -1 */
} client_t;

struct xf_control {
    int listen_fd;
    char *path;
    xf_node_t *node;
    client_t clients[MAX_CLIENTS];
    size_t n_clients;
};

/* A socket file left by a crashed daemon is replaced; one a live daemon answers is not. */
static int claim_path (const char *path, char *errbuf, size_t errlen)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    snprintf (sa.sun_path, sizeof sa.sun_path, "%s", path);
    int fd = socket (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd >= 0 && connect (fd, (struct sockaddr *) &sa, sizeof sa) == 0) {
        close (fd);
        snprintf (errbuf, errlen, "control socket %s: another xfsyncd is already running there", path);
        return -1;
    }
    if (fd >= 0)
        close (fd);
    if (unlink (path) != 0 && errno != ENOENT) {
        snprintf (errbuf, errlen, "control socket %s: cannot remove stale file: %s", path, strerror (errno));
        return -1;
    }
    return 0;
}

xf_control_t *xf_control_new (const char *path, struct xf_node *node, char *errbuf, size_t errlen)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    if (strlen (path) >= sizeof sa.sun_path) {
        snprintf (errbuf, errlen, "control socket %s: path longer than %zu bytes", path,
                  sizeof sa.sun_path - 1);
        return NULL;
    }
    if (claim_path (path, errbuf, errlen) != 0)
        return NULL;
    memcpy (sa.sun_path, path, strlen (path) + 1);
    xf_control_t *ctl = calloc (1, sizeof *ctl);
    if (!ctl || !(ctl->path = strdup (path))) {
        free (ctl);
        snprintf (errbuf, errlen, "control socket: out of memory");
        return NULL;
    }
    ctl->node = node;
    ctl->listen_fd = socket (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    mode_t old = umask (0117);   /* the socket is created 0660: owner and group operators */
    int rc = ctl->listen_fd < 0 ? -1 : bind (ctl->listen_fd, (struct sockaddr *) &sa, sizeof sa);
    umask (old);
    if (rc != 0 || listen (ctl->listen_fd, 16) != 0 || chmod (path, 0660) != 0) {
        snprintf (errbuf, errlen, "control socket %s: %s", path, strerror (errno));
        xf_control_destroy (&ctl);
        return NULL;
    }
    return ctl;
}

static void client_close (xf_control_t *ctl, size_t i)
{
    client_t *c = &ctl->clients[i];
    close (c->fd);
    if (c->passed_fd >= 0)
        close (c->passed_fd);
    free (c->in);
    free (c->out);
    ctl->clients[i] = ctl->clients[--ctl->n_clients];
}

void xf_control_destroy (xf_control_t **ctl_p)
{
    if (!ctl_p || !*ctl_p)
        return;
    xf_control_t *ctl = *ctl_p;
    while (ctl->n_clients)
        client_close (ctl, 0);
    if (ctl->listen_fd >= 0) {
        close (ctl->listen_fd);
        unlink (ctl->path);
    }
    free (ctl->path);
    free (ctl);
    *ctl_p = NULL;
}

size_t xf_control_poll_set (xf_control_t *ctl, xf_control_poll_t *out, size_t max)
{
    size_t n = 0;
    if (n < max && ctl->n_clients < MAX_CLIENTS)
        out[n++] = (xf_control_poll_t) {ctl->listen_fd, ZMQ_POLLIN};
    for (size_t i = 0; i < ctl->n_clients && n < max; i++) {
        client_t *c = &ctl->clients[i];
        short ev = c->closing ? 0 : ZMQ_POLLIN;
        if (c->out_len > c->out_off)
            ev |= ZMQ_POLLOUT;
        out[n++] = (xf_control_poll_t) {c->fd, ev};
    }
    return n;
}

static void accept_client (xf_control_t *ctl)
{
    int fd = accept4 (ctl->listen_fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
    if (fd < 0) {
        if (errno != EAGAIN && errno != EINTR)
            log_warn ("control: accept: %s", strerror (errno));
        return;
    }
    struct ucred cred;
    socklen_t len = sizeof cred;
    if (getsockopt (fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0) {
        log_warn ("control: cannot read the operator's credentials: %s", strerror (errno));
        close (fd);
        return;
    }
    ctl->clients[ctl->n_clients++] = (client_t) {.fd = fd, .uid = cred.uid, .passed_fd = -1};
}

static int reserve (char **buf, size_t *cap, size_t need)
{
    if (need <= *cap)
        return 0;
    size_t n = *cap ? *cap : 4096;
    while (n < need)
        n *= 2;
    char *p = realloc (*buf, n);
    if (!p)
        return -1;
    *buf = p;
    *cap = n;
    return 0;
}

static void queue_response (client_t *c, json_t *resp)
{
    char *text = json_dumps (resp, JSON_COMPACT | JSON_ENSURE_ASCII);
    json_decref (resp);
    if (!text)
        text = strdup ("{\"ok\":false,\"error\":{\"code\":\"no_memory\",\"message\":\"out of memory\"}}");
    size_t len = text ? strlen (text) : 0;
    if (text && reserve (&c->out, &c->out_cap, c->out_len + len + 1) == 0) {
        memcpy (c->out + c->out_len, text, len);
        c->out_len += len;
        c->out[c->out_len++] = '\n';
    }
    free (text);
}

static json_t *error_response (const char *code, const char *message)
{
    return json_pack ("{s:b,s:{s:s,s:s}}", "ok", 0, "error", "code", code, "message", message);
}

static void handle_line (xf_control_t *ctl, client_t *c, const char *line, size_t len)
{
    json_error_t jerr;
    json_t *req = json_loadb (line, len, JSON_REJECT_DUPLICATES, &jerr);
    if (!req) {
        char msg[300];
        snprintf (msg, sizeof msg, "request is not valid JSON: %s (column %d)", jerr.text, jerr.column);
        queue_response (c, error_response ("bad_request", msg));
        ctl->node->control_refused++;
        return;
    }
    ctl->node->request_fd = c->passed_fd;   /* the command takes it, or it is closed */
    c->passed_fd = -1;
    json_t *resp = commands_execute (ctl->node, c->uid, req);
    if (ctl->node->request_fd >= 0)
        close (ctl->node->request_fd);
    ctl->node->request_fd = -1;
    if (json_is_true (json_object_get (resp, "ok")))
        ctl->node->control_ok++;
    else
        ctl->node->control_refused++;
    queue_response (c, resp);
    json_decref (req);
}

/* Splits c->in into lines and answers each whole one. Only bytes not searched before are
 * searched, so a large request costs linear time however it is split into reads. */
static void process_input (xf_control_t *ctl, client_t *c)
{
    size_t start = 0;
    char *nl;
    while ((nl = memchr (c->in + c->scanned, '\n', c->in_len - c->scanned))) {
        size_t end = (size_t) (nl - c->in);
        if (c->discarding)
            c->discarding = false;
        else if (end > start)
            handle_line (ctl, c, c->in + start, end - start);
        start = c->scanned = end + 1;
    }
    if (start > 0) {
        memmove (c->in, c->in + start, c->in_len - start);
        c->in_len -= start;
    }
    c->scanned = c->in_len;
    if (c->in_len > XF_CONTROL_MAX_REQUEST) {
        if (!c->discarding) {
            char msg[160];
            snprintf (msg, sizeof msg, "request is longer than %u bytes; split it (case import "
                      "sends batches)", XF_CONTROL_MAX_REQUEST);
            queue_response (c, error_response ("too_large", msg));
        }
        c->discarding = true;
        c->in_len = c->scanned = 0;
    }
}

/* read(2) that also takes a descriptor the operator's xfctl sent along (xfctl backup sends the
 * pipe the copy goes into: the daemon, confined to its own directories, opens no operator file). */
static ssize_t read_with_fd (client_t *c, char *buf, size_t len)
{
    struct iovec iov = {buf, len};
    union {
        struct cmsghdr h;
        char space[CMSG_SPACE (sizeof (int))];
    } cbuf;
    struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf.space,
                         .msg_controllen = sizeof cbuf.space};
    ssize_t n = recvmsg (c->fd, &msg, MSG_CMSG_CLOEXEC);
    for (struct cmsghdr *h = n >= 0 ? CMSG_FIRSTHDR (&msg) : NULL; h; h = CMSG_NXTHDR (&msg, h)) {
        if (h->cmsg_level != SOL_SOCKET || h->cmsg_type != SCM_RIGHTS)
            continue;
        size_t nfd = (h->cmsg_len - CMSG_LEN (0)) / sizeof (int);
        for (size_t i = 0; i < nfd; i++) {
            int fd;
            memcpy (&fd, CMSG_DATA (h) + i * sizeof fd, sizeof fd);
            if (c->passed_fd >= 0)
                close (c->passed_fd);   /* one per request: the latest counts */
            c->passed_fd = fd;
        }
    }
    return n;
}

static bool read_client (xf_control_t *ctl, client_t *c)
{
    for (;;) {
        if (reserve (&c->in, &c->in_cap, c->in_len + READ_CHUNK) != 0) {
            log_warn ("control: out of memory reading a request; closing the connection");
            return false;
        }
        ssize_t n = read_with_fd (c, c->in + c->in_len, READ_CHUNK);
        if (n > 0) {
            c->in_len += (size_t) n;
            process_input (ctl, c);
            continue;
        }
        if (n == 0) {
            c->closing = true;
            return c->out_len > c->out_off;   /* flush what is owed, then close */
        }
        return errno == EAGAIN || errno == EINTR;
    }
}

static bool write_client (client_t *c)
{
    while (c->out_off < c->out_len) {
        ssize_t n = send (c->fd, c->out + c->out_off, c->out_len - c->out_off, MSG_NOSIGNAL);
        if (n < 0)
            return errno == EAGAIN || errno == EINTR;
        c->out_off += (size_t) n;
    }
    c->out_off = c->out_len = 0;
    return !c->closing;
}

void xf_control_ready (xf_control_t *ctl, int fd, short revents)
{
    if (fd == ctl->listen_fd) {
        if (revents & ZMQ_POLLIN)
            accept_client (ctl);
        return;
    }
    for (size_t i = 0; i < ctl->n_clients; i++) {
        client_t *c = &ctl->clients[i];
        if (c->fd != fd)
            continue;
        bool keep = true;
        if (revents & ZMQ_POLLIN)
            keep = read_client (ctl, c);
        if (keep && (c->out_len > c->out_off || c->closing))
            keep = write_client (c);
        if (revents & ZMQ_POLLERR)
            keep = false;
        if (!keep)
            client_close (ctl, i);
        return;
    }
}
