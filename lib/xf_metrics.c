/* xf_metrics.c — a writer of the Prometheus text exposition format 0.0.4, a fixed-bucket
 * latency histogram, and the [metrics] listen address (xf_metrics.h). */
#include "xf_metrics.h"

#include <arpa/inet.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "xf_text.h"

#define NAME_MAX_LEN 128

const double xf_histogram_bounds[XF_HISTOGRAM_BUCKETS] = {
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5,
};

void xf_histogram_observe (xf_histogram_t *h, double seconds)
{
    if (isnan (seconds))
        return;
    if (seconds < 0)
        seconds = 0;
    size_t i = 0;
    while (i < XF_HISTOGRAM_BUCKETS && seconds > xf_histogram_bounds[i])
        i++;
    h->buckets[i]++;
    h->count++;
    h->sum += seconds;
}

/* ---------------------------------------------------------------- the writer */

struct xf_metrics {
    char *buf;
    size_t len, cap;
    char family[NAME_MAX_LEN];    /* the family begun last ("": none yet) */
    xf_metric_type_t type;
    char **seen;                  /* every family begun, to refuse a second start */
    size_t n_seen;
    xf_err_t err;                 /* the first error (sticky) */
};

static const char *const TYPE_NAMES[] = {"counter", "gauge", "histogram"};

xf_metrics_t *xf_metrics_new (void)
{
    xf_metrics_t *m = calloc (1, sizeof *m);
    if (m && !(m->buf = calloc (1, m->cap = 4096)))
        xf_metrics_destroy (&m);
    return m;
}

void xf_metrics_destroy (xf_metrics_t **m_p)
{
    if (!m_p || !*m_p)
        return;
    xf_metrics_t *m = *m_p;
    for (size_t i = 0; i < m->n_seen; i++)
        free (m->seen[i]);
    free (m->seen);
    free (m->buf);
    free (m);
    *m_p = NULL;
}

static __attribute__ ((format (printf, 3, 4)))
void fail (xf_metrics_t *m, int code, const char *fmt, ...)
{
    if (m->err.code)
        return;
    va_list ap;
    va_start (ap, fmt);
    m->err.code = code;
    vsnprintf (m->err.msg, sizeof m->err.msg, fmt, ap);
    va_end (ap);
}

static bool reserve (xf_metrics_t *m, size_t more)
{
    if (m->err.code)
        return false;
    if (m->len + more + 1 <= m->cap)
        return true;
    size_t cap = m->cap * 2;
    while (cap < m->len + more + 1)
        cap *= 2;
    char *p = realloc (m->buf, cap);
    if (!p) {
        fail (m, XF_ENOMEM, "metrics: out of memory");
        return false;
    }
    m->buf = p;
    m->cap = cap;
    return true;
}

static void put (xf_metrics_t *m, const char *s, size_t n)
{
    if (!reserve (m, n))
        return;
    memcpy (m->buf + m->len, s, n);
    m->len += n;
    m->buf[m->len] = '\0';
}

static void puts_ (xf_metrics_t *m, const char *s)
{
    put (m, s, strlen (s));
}

/* s with \ and newline escaped, and " too when quoted (label values; HELP leaves " alone). */
static void put_escaped (xf_metrics_t *m, const char *s, bool quoted)
{
    for (const char *p = s; *p; p++) {
        const char *run = p;
        while (*p && *p != '\\' && *p != '\n' && !(quoted && *p == '"'))
            p++;
        put (m, run, (size_t) (p - run));
        if (!*p)
            break;
        put (m, *p == '\\' ? "\\\\" : *p == '\n' ? "\\n" : "\\\"", 2);
    }
}

static bool name_ok (const char *s, bool label)
{
    size_t n = strlen (s);
    if (n == 0 || n >= NAME_MAX_LEN || (s[0] >= '0' && s[0] <= '9'))
        return false;
    if (label && strncmp (s, "__", 2) == 0)
        return false;
    const char *ok = label ? "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_"
                           : "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_:";
    return strspn (s, ok) == n;
}

static bool ends_with (const char *s, const char *tail)
{
    size_t n = strlen (s), t = strlen (tail);
    return n >= t && strcmp (s + n - t, tail) == 0;
}

/* Whether name may begin a family now; fails the writer saying why when not. */
static bool family_ok (xf_metrics_t *m, const char *name, xf_metric_type_t type)
{
    if (!name_ok (name, false) || (unsigned) type > XF_METRIC_HISTOGRAM)
        fail (m, XF_EINVAL, "metrics: \"%.60s\" is not a metric name", name);
    else if (type == XF_METRIC_COUNTER && !ends_with (name, "_total"))
        fail (m, XF_EINVAL, "metrics: counter %s does not end in _total", name);
    for (size_t i = 0; i < m->n_seen && !m->err.code; i++)
        if (strcmp (m->seen[i], name) == 0)
            fail (m, XF_EINVAL, "metrics: family %s begun twice", name);
    char **grown = m->err.code ? NULL : realloc (m->seen, (m->n_seen + 1) * sizeof *grown);
    if (grown)
        m->seen = grown;
    if (grown && (grown[m->n_seen] = strdup (name)))
        m->n_seen++;
    else
        fail (m, XF_ENOMEM, "metrics: out of memory");   /* kept when it failed for another reason */
    return !m->err.code;
}

void xf_metrics_family (xf_metrics_t *m, const char *name, xf_metric_type_t type, const char *help)
{
    if (m->err.code || !family_ok (m, name, type))
        return;
    snprintf (m->family, sizeof m->family, "%s", name);
    m->type = type;
    puts_ (m, "# HELP "), puts_ (m, name), puts_ (m, " ");
    put_escaped (m, help ? help : "", false);
    puts_ (m, "\n# TYPE "), puts_ (m, name), puts_ (m, " "), puts_ (m, TYPE_NAMES[type]);
    puts_ (m, "\n");
}

/* name{a="x",b="y"[,le="…"]} — the braces only when there is a label. */
static void put_series (xf_metrics_t *m, const char *suffix, const char *const *labels,
                        const char *le)
{
    puts_ (m, m->family), puts_ (m, suffix);
    bool any = false;
    for (size_t i = 0; labels && labels[i]; i += 2) {
        const char *name = labels[i], *value = labels[i + 1];
        if (!value || !name_ok (name, true) || strcmp (name, "le") == 0)
            fail (m, XF_EINVAL, "metrics: %s: bad label \"%.60s\"", m->family, name);
        else if (!xf_utf8_valid ((const unsigned char *) value, strlen (value)))
            fail (m, XF_EINVAL, "metrics: %s: label %s is not UTF-8", m->family, name);
        if (m->err.code)
            return;
        puts_ (m, any ? "," : "{"), puts_ (m, name), puts_ (m, "=\"");
        put_escaped (m, value, true);
        puts_ (m, "\"");
        any = true;
    }
    if (le)
        puts_ (m, any ? ",le=\"" : "{le=\""), puts_ (m, le), puts_ (m, "\"");
    if (any || le)
        puts_ (m, "}");
    puts_ (m, " ");
}

/* The shortest text that reads back as v (Go's strconv does the same for Prometheus). */
static void format_double (double v, char out[32])
{
    if (isnan (v)) {
        strcpy (out, "NaN");
        return;
    }
    if (isinf (v)) {
        strcpy (out, v > 0 ? "+Inf" : "-Inf");
        return;
    }
    for (int prec = 1; prec <= 17; prec++) {
        snprintf (out, 32, "%.*g", prec, v);
        if (strtod (out, NULL) == v)
            return;
    }
}

static bool sample_ok (xf_metrics_t *m, bool histogram)
{
    if (m->err.code)
        return false;
    if (!m->family[0])
        fail (m, XF_EINVAL, "metrics: a sample before any family");
    else if ((m->type == XF_METRIC_HISTOGRAM) != histogram)
        fail (m, XF_EINVAL, "metrics: %s is a %s", m->family, TYPE_NAMES[m->type]);
    return !m->err.code;
}

void xf_metrics_u64 (xf_metrics_t *m, const char *const *labels, uint64_t value)
{
    char v[24];
    if (!sample_ok (m, false))
        return;
    snprintf (v, sizeof v, "%llu", (unsigned long long) value);
    put_series (m, "", labels, NULL);
    puts_ (m, v), puts_ (m, "\n");
}

void xf_metrics_f64 (xf_metrics_t *m, const char *const *labels, double value)
{
    char v[32];
    if (!sample_ok (m, false))
        return;
    format_double (value, v);
    put_series (m, "", labels, NULL);
    puts_ (m, v), puts_ (m, "\n");
}

void xf_metrics_histogram (xf_metrics_t *m, const char *const *labels, const xf_histogram_t *h)
{
    char le[32], v[32];
    uint64_t cumulative = 0;
    if (!sample_ok (m, true))
        return;
    for (size_t i = 0; i <= XF_HISTOGRAM_BUCKETS; i++) {
        cumulative += h->buckets[i];
        if (i < XF_HISTOGRAM_BUCKETS)
            format_double (xf_histogram_bounds[i], le);
        else
            strcpy (le, "+Inf");
        snprintf (v, sizeof v, "%llu\n", (unsigned long long) cumulative);
        put_series (m, "_bucket", labels, le);
        puts_ (m, v);
    }
    format_double (h->sum, v);
    put_series (m, "_sum", labels, NULL);
    puts_ (m, v), puts_ (m, "\n");
    snprintf (v, sizeof v, "%llu\n", (unsigned long long) h->count);
    put_series (m, "_count", labels, NULL);
    puts_ (m, v);
}

const char *xf_metrics_text (const xf_metrics_t *m, size_t *len, xf_err_t *err)
{
    if (m->err.code) {
        xf_err_set (err, m->err.code, "%s", m->err.msg);
        return NULL;
    }
    if (len)
        *len = m->len;
    return m->buf;
}

/* ---------------------------------------------------------------- [metrics] listen */

int xf_metrics_parse_listen (const char *s, xf_listen_addr_t *out, xf_err_t *err)
{
    const char *colon = strrchr (s, ':');
    xf_listen_addr_t a = {0};
    size_t hlen = colon ? (size_t) (colon - s) : 0;
    if (!colon || hlen == 0)
        return xf_err_set (err, XF_EINVAL, "no HOST before the port, or no :PORT");
    if (s[0] == '[') {
        if (hlen < 3 || s[hlen - 1] != ']')
            return xf_err_set (err, XF_EINVAL, "an IPv6 address goes in brackets, [::1]:9411");
        s++, hlen -= 2;
        a.ipv6 = true;
    } else if (memchr (s, ':', hlen))
        return xf_err_set (err, XF_EINVAL, "an IPv6 address goes in brackets, [::1]:9411");
    if (hlen >= sizeof a.host)
        return xf_err_set (err, XF_EINVAL, "the address is too long");
    memcpy (a.host, s, hlen);
    unsigned char bin[16];
    if (inet_pton (a.ipv6 ? AF_INET6 : AF_INET, a.host, bin) != 1)
        return xf_err_set (err, XF_EINVAL, "\"%s\" is not a numeric %s address (names are not "
                           "resolved)", a.host, a.ipv6 ? "IPv6" : "IPv4");
    const char *p = colon + 1;
    size_t n = strspn (p, "0123456789");
    a.port = n > 0 && n <= 5 && p[n] == '\0' ? atoi (p) : 0;
    if (a.port < 1 || a.port > 65535)
        return xf_err_set (err, XF_EINVAL, "the port is not a number from 1 to 65535");
    *out = a;
    return XF_OK;
}
