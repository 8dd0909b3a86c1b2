/* metrics_http.c — [metrics] listen: a small HTTP endpoint inside the one event loop that answers
 * GET /metrics with the exposition of metrics.c, for a Prometheus scraper.
 *
 * It must never hold the loop up: every socket is non-blocking; a client gets REQUEST_MS to send
 * a request of at most MAX_REQUEST bytes and WRITE_MS to take the answer, and is dropped past
 * either; at most MAX_CLIENTS are served at once (more wait in the listen backlog). One request
 * per connection (Connection: close). After the answer the socket is shut for writing and the
 * rest of what the client sends is read and dropped until it closes, so that a close with
 * unread input cannot reset the connection before the client has the answer.
 *
 * No authentication and no TLS: the figures are counts (no petitioner, no case), but the
 * endpoint belongs on 127.0.0.1 or a management network, and the daemon says so at start. */
#include <errno.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <zmq.h>
#include "log.h"
#include "metrics.h"

#define MAX_CLIENTS 16
#define MAX_REQUEST 8192
#define REQUEST_MS  5000
#define WRITE_MS    10000
#define CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"

typedef enum { READING, WRITING, DRAINING } phase_t;

typedef struct {
    int fd;
    phase_t phase;
    int64_t deadline;              /* monotonic ms */
    char in[MAX_REQUEST + 1];
    size_t in_len;
    char *out;                     /* the whole answer */
    size_t out_len, out_off;
} client_t;

struct metrics_http {
    xf_node_t *node;
    int fd;
    char addr[64];                 /* as configured, for messages */
    client_t *clients[MAX_CLIENTS];
    size_t n_clients;
};

static int bind_addr (const xf_listen_addr_t *a)
{
    union {
        struct sockaddr sa;
        struct sockaddr_in in4;
        struct sockaddr_in6 in6;
    } u = {0};
    socklen_t len;
    int one = 1;
    if (a->ipv6) {
        u.in6.sin6_family = AF_INET6;
        u.in6.sin6_port = htons ((uint16_t) a->port);
        inet_pton (AF_INET6, a->host, &u.in6.sin6_addr);
        len = sizeof u.in6;
    } else {
        u.in4.sin_family = AF_INET;
        u.in4.sin_port = htons ((uint16_t) a->port);
        inet_pton (AF_INET, a->host, &u.in4.sin_addr);
        len = sizeof u.in4;
    }
    int fd = socket (u.sa.sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    if (setsockopt (fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) != 0
        || (a->ipv6 && setsockopt (fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one) != 0)
        || bind (fd, &u.sa, len) != 0 || listen (fd, MAX_CLIENTS) != 0) {
        int e = errno;
        close (fd);
        errno = e;
        return -1;
    }
    return fd;
}

int metrics_http_open (xf_node_t *node, metrics_http_t **out, char *errbuf, size_t errlen)
{
    const char *listen_on = node->conf->metrics_listen;
    xf_listen_addr_t a;
    xf_err_t err = {0};
    *out = NULL;
    if (!listen_on)
        return 0;
    if (xf_metrics_parse_listen (listen_on, &a, &err) != XF_OK) {   /* the config checked it */
        snprintf (errbuf, errlen, "[metrics] listen %s: %s", listen_on, err.msg);
        return -1;
    }
    metrics_http_t *h = calloc (1, sizeof *h);
    if (!h) {
        snprintf (errbuf, errlen, "[metrics] listen %s: out of memory", listen_on);
        return -1;
    }
    if ((h->fd = bind_addr (&a)) < 0) {
        snprintf (errbuf, errlen, "[metrics] listen %s: cannot listen there: %s%s", listen_on,
                  strerror (errno), errno == EADDRINUSE ? " (another program, or another "
                  "xfsyncd, has that port; choose another in [metrics] listen)" : "");
        free (h);
        return -1;
    }
    h->node = node;
    snprintf (h->addr, sizeof h->addr, "%s", listen_on);
    bool loopback = a.ipv6 ? strcmp (a.host, "::1") == 0 : strncmp (a.host, "127.", 4) == 0;
    if (loopback)
        log_info ("metrics: Prometheus scrapes http://%s/metrics", listen_on);
    else
        log_warn ("metrics: http://%s/metrics answers anyone who can reach it (no "
                  "authentication): keep it on 127.0.0.1 or a management network", listen_on);
    *out = h;
    return 0;
}

static void client_close (metrics_http_t *h, size_t i)
{
    client_t *c = h->clients[i];
    close (c->fd);
    free (c->out);
    free (c);
    h->clients[i] = h->clients[--h->n_clients];
}

void metrics_http_close (metrics_http_t **h_p)
{
    if (!h_p || !*h_p)
        return;
    metrics_http_t *h = *h_p;
    while (h->n_clients)
        client_close (h, 0);
    close (h->fd);
    free (h);
    *h_p = NULL;
}

size_t metrics_http_poll_set (metrics_http_t *h, void *items, size_t max)
{
    zmq_pollitem_t *it = items;
    size_t n = 0;
    if (!h)
        return 0;
    int64_t now = mono_ms ();
    for (size_t i = h->n_clients; i-- > 0;)
        if (now >= h->clients[i]->deadline) {
            if (h->clients[i]->phase != DRAINING)
                log_warn ("metrics: a client of %s took too long %s; dropped", h->addr,
                          h->clients[i]->phase == READING ? "to send its request"
                                                          : "to take the answer");
            client_close (h, i);
        }
    if (n < max && h->n_clients < MAX_CLIENTS)
        it[n++] = (zmq_pollitem_t) {NULL, h->fd, ZMQ_POLLIN, 0};
    for (size_t i = 0; i < h->n_clients && n < max; i++)
        it[n++] = (zmq_pollitem_t) {NULL, h->clients[i]->fd,
                                    h->clients[i]->phase == WRITING ? ZMQ_POLLOUT : ZMQ_POLLIN, 0};
    return n;
}

static void accept_clients (metrics_http_t *h)
{
    while (h->n_clients < MAX_CLIENTS) {
        int fd = accept4 (h->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) {
            if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR
                && errno != ECONNABORTED)
                log_warn ("metrics: accept on %s: %s", h->addr, strerror (errno));
            return;
        }
        client_t *c = calloc (1, sizeof *c);
        if (!c) {
            close (fd);
            return;
        }
        *c = (client_t) {.fd = fd, .phase = READING, .deadline = mono_ms () + REQUEST_MS};
        h->clients[h->n_clients++] = c;
    }
}

/* The answer: status line, headers, and the body unless head_only. */
static void respond (client_t *c, const char *status, const char *type, const char *body,
                     size_t len, bool head_only, const char *extra)
{
    char head[400];
    int n = snprintf (head, sizeof head, "HTTP/1.1 %s\r\nContent-Type: %s\r\nContent-Length: "
                      "%zu\r\n%sConnection: close\r\n\r\n", status, type, len, extra);
    size_t body_len = head_only ? 0 : len;
    if (n < 0 || !(c->out = malloc ((size_t) n + body_len)))
        return;   /* out of memory: the client is closed without an answer */
    memcpy (c->out, head, (size_t) n);
    memcpy (c->out + n, body, body_len);
    c->out_len = (size_t) n + body_len;
}

static void respond_text (client_t *c, const char *status, const char *text, bool head_only,
                          const char *extra)
{
    respond (c, status, "text/plain; charset=utf-8", text, strlen (text), head_only, extra);
}

/* A whole request head is in c->in: answers it. */
static void answer (metrics_http_t *h, client_t *c)
{
    char method[16], target[1024], version[16];
    c->in[c->in_len] = '\0';
    size_t line = strcspn (c->in, "\r\n");
    c->in[line] = '\0';
    if (sscanf (c->in, "%15s %1023s %15s", method, target, version) != 3
        || strncmp (version, "HTTP/1.", 7) != 0) {
        respond_text (c, "400 Bad Request", "a request is GET /metrics HTTP/1.1\n", false, "");
        return;
    }
    bool head_only = strcmp (method, "HEAD") == 0;
    if (!head_only && strcmp (method, "GET") != 0) {
        respond_text (c, "405 Method Not Allowed", "only GET and HEAD\n", false,
                      "Allow: GET, HEAD\r\n");
        return;
    }
    size_t path_len = strcspn (target, "?");
    if (path_len != strlen ("/metrics") || strncmp (target, "/metrics", path_len) != 0) {
        respond_text (c, "404 Not Found", "not found: the metrics are at /metrics\n", head_only, "");
        return;
    }
    xf_err_t err = {0};
    size_t len = 0;
    xf_metrics_t *m = metrics_build (h->node, &err);
    const char *text = m ? xf_metrics_text (m, &len, &err) : NULL;
    if (text)
        respond (c, "200 OK", CONTENT_TYPE, text, len, head_only, "");
    else {
        log_error ("metrics: %s", err.msg);
        char body[600];
        snprintf (body, sizeof body, "%s\n", err.msg);
        respond_text (c, "500 Internal Server Error", body, head_only, "");
    }
    xf_metrics_destroy (&m);
}

/* Reads what the client sent; false to close it. */
static bool read_client (metrics_http_t *h, client_t *c)
{
    for (;;) {
        char drain[4096];
        bool reading = c->phase == READING;
        size_t room = reading ? MAX_REQUEST - c->in_len : sizeof drain;
        if (reading && room == 0) {
            log_warn ("metrics: a request to %s is longer than %d bytes; dropped", h->addr,
                      MAX_REQUEST);
            return false;
        }
        ssize_t n = recv (c->fd, reading ? c->in + c->in_len : drain, room, MSG_DONTWAIT);
        if (n == 0)
            return false;   /* closed: before a whole request, or done draining */
        if (n < 0)
            return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR;
        if (!reading)
            continue;
        c->in_len += (size_t) n;
        c->in[c->in_len] = '\0';
        if (strstr (c->in, "\r\n\r\n") || strstr (c->in, "\n\n")) {
            answer (h, c);
            if (!c->out)
                return false;
            c->phase = WRITING;
            c->deadline = mono_ms () + WRITE_MS;
            return true;
        }
    }
}

/* Writes what the socket takes now; false to close the client. */
static bool write_client (client_t *c)
{
    while (c->out_off < c->out_len) {
        ssize_t n = send (c->fd, c->out + c->out_off, c->out_len - c->out_off,
                          MSG_DONTWAIT | MSG_NOSIGNAL);
        if (n < 0)
            return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR;
        c->out_off += (size_t) n;
    }
    shutdown (c->fd, SHUT_WR);
    c->phase = DRAINING;   /* until the client closes, or the deadline */
    return true;
}

void metrics_http_ready (metrics_http_t *h, const void *items, size_t n)
{
    const zmq_pollitem_t *it = items;
    for (size_t k = 0; h && k < n; k++) {
        if (!it[k].revents)
            continue;
        if (it[k].fd == h->fd) {
            accept_clients (h);
            continue;
        }
        for (size_t i = 0; i < h->n_clients; i++) {
            client_t *c = h->clients[i];
            if (c->fd != it[k].fd)
                continue;
            bool keep = !(it[k].revents & ZMQ_POLLERR);
            if (keep && c->phase != WRITING)
                keep = read_client (h, c);
            if (keep && c->phase == WRITING)
                keep = write_client (c);
            if (!keep)
                client_close (h, i);
            break;
        }
    }
}
