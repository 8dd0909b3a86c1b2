/* metrics.h — the node's metrics in the Prometheus text format (metrics.c), for `xfctl metrics`
 * and for the HTTP endpoint of [metrics] listen (metrics_http.c). */
#ifndef XF_DAEMON_METRICS_H
#define XF_DAEMON_METRICS_H

#include "node.h"
#include "xf_metrics.h"

/* The exposition of this node now: links, queues, envelopes, cases by status, overdue, the
 * store's commit latency, control requests. A writer the caller destroys (xf_metrics_text
 * gives the text, or why it could not be made), or NULL with err. Reads the store in a few
 * read transactions; scans no case (the counts are kept with every change). */
xf_metrics_t *metrics_build (xf_node_t *node, xf_err_t *err);

/* Control command metrics → {"text": "<the exposition>"}. */
json_t *cmd_metrics (xf_node_t *node, uid_t uid, const json_t *args, xf_err_t *err);

/* ---- metrics_http.c: GET /metrics over HTTP on [metrics] listen, inside the event loop */
typedef struct metrics_http metrics_http_t;
/* Binds [metrics] listen (nothing without it: *out stays NULL). -1 with errbuf naming the
 * address when it cannot be bound. */
int    metrics_http_open (xf_node_t *node, metrics_http_t **out, char *errbuf, size_t errlen);
void   metrics_http_close (metrics_http_t **h_p);   /* NULL-safe */
/* The sockets to poll (zmq_pollitem_t), at most max; drops clients past their deadline. */
size_t metrics_http_poll_set (metrics_http_t *h, void *items, size_t max);
/* After the poll: the n items poll_set wrote, with their revents. */
void   metrics_http_ready (metrics_http_t *h, const void *items, size_t n);

#endif
