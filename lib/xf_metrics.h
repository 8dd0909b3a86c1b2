/* xf_metrics.h — the Prometheus text exposition format (version 0.0.4) and a fixed-bucket
 * latency histogram: what `xfctl metrics` prints and `[metrics] listen` serves.
 *
 * The writer builds the text into a growing buffer. A family is begun once with
 * xf_metrics_family (its "# HELP" and "# TYPE" lines), then its samples follow; a family may
 * not be begun twice (the format wants each family's samples together). Errors are sticky:
 * a bad name, a sample of the wrong type, a label value that is not UTF-8 or memory running
 * out is remembered, later calls do nothing, and xf_metrics_finish reports it. Names follow
 * the format ([a-zA-Z_:][a-zA-Z0-9_:]* for metrics, [a-zA-Z_][a-zA-Z0-9_]* for labels, no
 * "__" prefix) and counters end in "_total" (the Prometheus naming convention).
 *
 * Labels are given as a NULL-terminated array of name, value pairs, or NULL for none:
 *   xf_metrics_u64 (m, (const char *[]) {"peer", "411300", "role", "parent", NULL}, 12);
 * Values are escaped (\\, \" and \n); "le" is reserved for histogram buckets.
 *
 * The histogram counts observations (seconds) into XF_HISTOGRAM_BUCKETS upper bounds plus
 * +Inf; it is written with cumulative _bucket{le=…} lines, _sum and _count. */
#ifndef XF_METRICS_H
#define XF_METRICS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "xf_err.h"

#define XF_HISTOGRAM_BUCKETS 12

/* The upper bounds, seconds: 0.0005 0.001 0.0025 0.005 0.01 0.025 0.05 0.1 0.25 0.5 1 2.5 */
extern const double xf_histogram_bounds[XF_HISTOGRAM_BUCKETS];

typedef struct {
    uint64_t buckets[XF_HISTOGRAM_BUCKETS + 1];   /* per bucket, not cumulative; last: +Inf */
    uint64_t count;
    double sum;                                   /* seconds */
} xf_histogram_t;

/* Counts one observation into the first bucket whose bound is >= seconds (negative: 0;
 * NaN is ignored). */
void xf_histogram_observe (xf_histogram_t *h, double seconds);

typedef enum { XF_METRIC_COUNTER, XF_METRIC_GAUGE, XF_METRIC_HISTOGRAM } xf_metric_type_t;

typedef struct xf_metrics xf_metrics_t;

xf_metrics_t *xf_metrics_new (void);   /* NULL when out of memory */
void          xf_metrics_destroy (xf_metrics_t **m_p);

/* Begins family name: "# HELP name help" and "# TYPE name type". */
void xf_metrics_family (xf_metrics_t *m, const char *name, xf_metric_type_t type, const char *help);
/* One sample of the counter or gauge begun last. */
void xf_metrics_u64 (xf_metrics_t *m, const char *const *labels, uint64_t value);
void xf_metrics_f64 (xf_metrics_t *m, const char *const *labels, double value);
/* One histogram (its buckets, _sum and _count) of the histogram family begun last. */
void xf_metrics_histogram (xf_metrics_t *m, const char *const *labels, const xf_histogram_t *h);

/* The text so far (borrowed, NUL-terminated; *len its length), or NULL with err saying what
 * went wrong first. The writer stays the caller's. */
const char *xf_metrics_text (const xf_metrics_t *m, size_t *len, xf_err_t *err);

/* ---------------------------------------------------------------- [metrics] listen */

typedef struct {
    char host[46];   /* a numeric IPv4 or IPv6 address (without the brackets) */
    int port;        /* 1 to 65535 */
    bool ipv6;
} xf_listen_addr_t;

/* Parses "HOST:PORT": a numeric IPv4 address or a bracketed IPv6 one ("[::1]:9411"). Names
 * are refused (the daemon resolves nothing at start). XF_EINVAL with a short reason ("the
 * port is not a number from 1 to 65535") for the caller to put after the value. */
int xf_metrics_parse_listen (const char *s, xf_listen_addr_t *out, xf_err_t *err);

#endif
