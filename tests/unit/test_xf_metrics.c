/* test_xf_metrics.c — the Prometheus text writer (exact output, escaping, one HELP/TYPE per
 * family, the errors it refuses), the histogram (buckets, cumulative output), the store's
 * commit histogram and the [metrics] listen address. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "xf_metrics.h"
#include "xf_test.h"

static const char *text_of (xf_metrics_t *m)
{
    xf_err_t err = {0};
    size_t len = 0;
    const char *t = xf_metrics_text (m, &len, &err);
    if (!t)
        fail_msg ("xf_metrics_text: %s", err.msg);
    assert_int_equal (len, strlen (t));
    return t;
}

/* The error the writer reports, after a misuse. */
static const char *error_of (xf_metrics_t *m, xf_err_t *err)
{
    assert_null (xf_metrics_text (m, NULL, err));
    return err->msg;
}

static void test_counters_and_gauges (void **state)
{
    (void) state;
    xf_metrics_t *m = xf_metrics_new ();
    assert_non_null (m);
    xf_metrics_family (m, "xfsync_link_envelopes_sent_total", XF_METRIC_COUNTER,
                       "Envelopes sent on the link.");
    xf_metrics_u64 (m, (const char *[]) {"peer", "411300", "role", "parent", NULL}, 12);
    xf_metrics_u64 (m, (const char *[]) {"peer", "411324", "role", "child", NULL},
                    UINT64_C (18446744073709551615));
    xf_metrics_family (m, "xfsync_uptime_seconds", XF_METRIC_GAUGE, "Seconds since the start.");
    xf_metrics_u64 (m, NULL, 0);
    xf_metrics_family (m, "xfsync_ratio", XF_METRIC_GAUGE, "");
    xf_metrics_f64 (m, NULL, 0.1);
    xf_metrics_f64 (m, (const char *[]) {"k", "a", NULL}, 2.5e-7);
    xf_metrics_f64 (m, (const char *[]) {"k", "b", NULL}, 3);
    xf_metrics_f64 (m, (const char *[]) {"k", "c", NULL}, INFINITY);
    xf_metrics_f64 (m, (const char *[]) {"k", "d", NULL}, -INFINITY);
    xf_metrics_f64 (m, (const char *[]) {"k", "e", NULL}, NAN);
    assert_string_equal (text_of (m),
        "# HELP xfsync_link_envelopes_sent_total Envelopes sent on the link.\n"
        "# TYPE xfsync_link_envelopes_sent_total counter\n"
        "xfsync_link_envelopes_sent_total{peer=\"411300\",role=\"parent\"} 12\n"
        "xfsync_link_envelopes_sent_total{peer=\"411324\",role=\"child\"} 18446744073709551615\n"
        "# HELP xfsync_uptime_seconds Seconds since the start.\n"
        "# TYPE xfsync_uptime_seconds gauge\n"
        "xfsync_uptime_seconds 0\n"
        "# HELP xfsync_ratio \n"
        "# TYPE xfsync_ratio gauge\n"
        "xfsync_ratio 0.1\n"
        "xfsync_ratio{k=\"a\"} 2.5e-07\n"
        "xfsync_ratio{k=\"b\"} 3\n"
        "xfsync_ratio{k=\"c\"} +Inf\n"
        "xfsync_ratio{k=\"d\"} -Inf\n"
        "xfsync_ratio{k=\"e\"} NaN\n");
    xf_metrics_destroy (&m);
    assert_null (m);
    xf_metrics_destroy (&m);   /* NULL-safe */
}

static void test_escaping (void **state)
{
    (void) state;
    xf_metrics_t *m = xf_metrics_new ();
    xf_metrics_family (m, "xfsync_info", XF_METRIC_GAUGE, "A \"help\" with a \\ and a\nnewline.");
    xf_metrics_u64 (m, (const char *[]) {"name", "中共\"镇平\"县委\\组织部\n二行", "office",
                                         "411324", NULL}, 1);
    assert_string_equal (text_of (m),
        "# HELP xfsync_info A \"help\" with a \\\\ and a\\nnewline.\n"
        "# TYPE xfsync_info gauge\n"
        "xfsync_info{name=\"中共\\\"镇平\\\"县委\\\\组织部\\n二行\",office=\"411324\"} 1\n");
    xf_metrics_destroy (&m);
}

static void test_histogram (void **state)
{
    (void) state;
    xf_histogram_t h = {0};
    xf_histogram_observe (&h, 0.0001);    /* first bucket */
    xf_histogram_observe (&h, 0.0005);    /* on a bound: that bucket (le is <=) */
    xf_histogram_observe (&h, 0.003);     /* 0.005 */
    xf_histogram_observe (&h, 0.003);
    xf_histogram_observe (&h, 2.0);       /* 2.5 */
    xf_histogram_observe (&h, 60);        /* +Inf */
    xf_histogram_observe (&h, -1);        /* counted as 0 */
    xf_histogram_observe (&h, NAN);       /* ignored */
    assert_int_equal (h.count, 7);
    assert_int_equal (h.buckets[0], 3);
    assert_int_equal (h.buckets[3], 2);
    assert_int_equal (h.buckets[11], 1);
    assert_int_equal (h.buckets[XF_HISTOGRAM_BUCKETS], 1);
    xf_metrics_t *m = xf_metrics_new ();
    xf_metrics_family (m, "xfsync_store_commit_duration_seconds", XF_METRIC_HISTOGRAM,
                       "Commit time.");
    xf_metrics_histogram (m, NULL, &h);
    xf_metrics_family (m, "xfsync_x_seconds", XF_METRIC_HISTOGRAM, "Labelled.");
    xf_metrics_histogram (m, (const char *[]) {"peer", "411300", NULL}, &(xf_histogram_t) {0});
    const char *t = text_of (m);
    assert_string_equal (t,
        "# HELP xfsync_store_commit_duration_seconds Commit time.\n"
        "# TYPE xfsync_store_commit_duration_seconds histogram\n"
        "xfsync_store_commit_duration_seconds_bucket{le=\"0.0005\"} 3\n"
        "xfsync_store_commit_duration_seconds_bucket{le=\"0.001\"} 3\n"
        "xfsync_store_commit_duration_seconds_bucket{le=\"0.0025\"} 3\n"
        "xfsync_store_commit_duration_seconds_bucket{le=\"0.005\"} 5\n"
        "xfsync_store_commit_duration_seconds_bucket{le=\"0.01\"} 5\n"
        "xfsync_store_commit_duration_seconds_bucket{le=\"0.025\"} 5\n"
        "xfsync_store_commit_duration_seconds_bucket{le=\"0.05\"} 5\n"
        "xfsync_store_commit_duration_seconds_bucket{le=\"0.1\"} 5\n"
        "xfsync_store_commit_duration_seconds_bucket{le=\"0.25\"} 5\n"
        "xfsync_store_commit_duration_seconds_bucket{le=\"0.5\"} 5\n"
        "xfsync_store_commit_duration_seconds_bucket{le=\"1\"} 5\n"
        "xfsync_store_commit_duration_seconds_bucket{le=\"2.5\"} 6\n"
        "xfsync_store_commit_duration_seconds_bucket{le=\"+Inf\"} 7\n"
        "xfsync_store_commit_duration_seconds_sum 62.0066\n"
        "xfsync_store_commit_duration_seconds_count 7\n"
        "# HELP xfsync_x_seconds Labelled.\n"
        "# TYPE xfsync_x_seconds histogram\n"
        "xfsync_x_seconds_bucket{peer=\"411300\",le=\"0.0005\"} 0\n"
        "xfsync_x_seconds_bucket{peer=\"411300\",le=\"0.001\"} 0\n"
        "xfsync_x_seconds_bucket{peer=\"411300\",le=\"0.0025\"} 0\n"
        "xfsync_x_seconds_bucket{peer=\"411300\",le=\"0.005\"} 0\n"
        "xfsync_x_seconds_bucket{peer=\"411300\",le=\"0.01\"} 0\n"
        "xfsync_x_seconds_bucket{peer=\"411300\",le=\"0.025\"} 0\n"
        "xfsync_x_seconds_bucket{peer=\"411300\",le=\"0.05\"} 0\n"
        "xfsync_x_seconds_bucket{peer=\"411300\",le=\"0.1\"} 0\n"
        "xfsync_x_seconds_bucket{peer=\"411300\",le=\"0.25\"} 0\n"
        "xfsync_x_seconds_bucket{peer=\"411300\",le=\"0.5\"} 0\n"
        "xfsync_x_seconds_bucket{peer=\"411300\",le=\"1\"} 0\n"
        "xfsync_x_seconds_bucket{peer=\"411300\",le=\"2.5\"} 0\n"
        "xfsync_x_seconds_bucket{peer=\"411300\",le=\"+Inf\"} 0\n"
        "xfsync_x_seconds_sum{peer=\"411300\"} 0\n"
        "xfsync_x_seconds_count{peer=\"411300\"} 0\n");
    xf_metrics_destroy (&m);
}

/* Many observations at random: the buckets never decrease, +Inf equals _count. */
static void test_histogram_cumulative (void **state)
{
    (void) state;
    xf_histogram_t h = {0};
    srand (7);
    for (int i = 0; i < 10000; i++)
        xf_histogram_observe (&h, (double) rand () / RAND_MAX * 3.0);
    xf_metrics_t *m = xf_metrics_new ();
    xf_metrics_family (m, "h_seconds", XF_METRIC_HISTOGRAM, "h");
    xf_metrics_histogram (m, NULL, &h);
    const char *p = text_of (m);
    unsigned long long last = 0, n = 0, inf = 0;
    while ((p = strstr (p, "h_seconds_bucket{"))) {
        const char *v = strchr (p, ' ') + 1;
        unsigned long long c = strtoull (v, NULL, 10);
        assert_true (c >= last);
        last = c;
        if (strncmp (p, "h_seconds_bucket{le=\"+Inf\"}", 27) == 0)
            inf = c;
        n++;
        p = v;
    }
    assert_int_equal (n, XF_HISTOGRAM_BUCKETS + 1);
    assert_int_equal (inf, 10000);
    assert_non_null (strstr (text_of (m), "\nh_seconds_count 10000\n"));
    xf_metrics_destroy (&m);
}

static void test_refusals (void **state)
{
    (void) state;
    static const struct { const char *name; xf_metric_type_t type; const char *why; } bad[] = {
        {"xfsync_sent", XF_METRIC_COUNTER, "does not end in _total"},
        {"9lives", XF_METRIC_GAUGE, "not a metric name"},
        {"bad-name", XF_METRIC_GAUGE, "not a metric name"},
        {"", XF_METRIC_GAUGE, "not a metric name"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        xf_err_t err = {0};
        xf_metrics_t *m = xf_metrics_new ();
        xf_metrics_family (m, bad[i].name, bad[i].type, "x");
        xf_metrics_u64 (m, NULL, 1);
        if (!strstr (error_of (m, &err), bad[i].why))
            fail_msg ("\"%s\": %s", bad[i].name, err.msg);
        assert_int_equal (err.code, XF_EINVAL);
        xf_metrics_destroy (&m);
    }
    xf_err_t err = {0};
    xf_metrics_t *m = xf_metrics_new ();
    xf_metrics_u64 (m, NULL, 1);
    assert_non_null (strstr (error_of (m, &err), "before any family"));
    xf_metrics_destroy (&m);

    m = xf_metrics_new ();   /* a family begun twice: its samples would not be together */
    xf_metrics_family (m, "a", XF_METRIC_GAUGE, "a");
    xf_metrics_family (m, "b", XF_METRIC_GAUGE, "b");
    xf_metrics_family (m, "a", XF_METRIC_GAUGE, "a");
    assert_non_null (strstr (error_of (m, &err), "family a begun twice"));
    xf_metrics_destroy (&m);

    m = xf_metrics_new ();
    xf_metrics_family (m, "h_seconds", XF_METRIC_HISTOGRAM, "h");
    xf_metrics_u64 (m, NULL, 1);
    assert_non_null (strstr (error_of (m, &err), "h_seconds is a histogram"));
    xf_metrics_destroy (&m);

    static const char *const labels[][3] = {
        {"le", "1", NULL}, {"__name__", "x", NULL}, {"a-b", "x", NULL}, {"ok", "\xff", NULL},
        {"ok", NULL, NULL},
    };
    for (size_t i = 0; i < sizeof labels / sizeof *labels; i++) {
        m = xf_metrics_new ();
        xf_metrics_family (m, "g", XF_METRIC_GAUGE, "g");
        xf_metrics_u64 (m, labels[i], 1);
        xf_metrics_u64 (m, NULL, 2);   /* nothing more after an error */
        err = (xf_err_t) {0};
        assert_null (xf_metrics_text (m, NULL, &err));
        assert_int_equal (err.code, XF_EINVAL);
        assert_non_null (strstr (err.msg, "label"));
        xf_metrics_destroy (&m);
    }
}

/* A text that outgrows the first buffer many times over stays whole. */
static void test_growth (void **state)
{
    (void) state;
    xf_metrics_t *m = xf_metrics_new ();
    xf_metrics_family (m, "xfsync_many", XF_METRIC_GAUGE, "many");
    char peer[16];
    for (int i = 0; i < 5000; i++) {
        snprintf (peer, sizeof peer, "%06d", i);
        xf_metrics_u64 (m, (const char *[]) {"peer", peer, NULL}, (uint64_t) i);
    }
    const char *t = text_of (m);
    assert_non_null (strstr (t, "xfsync_many{peer=\"000000\"} 0\n"));
    assert_non_null (strstr (t, "xfsync_many{peer=\"004999\"} 4999\n"));
    xf_metrics_destroy (&m);
}

static int put_one (xf_txn_t *txn, void *arg, xf_err_t *err)
{
    (void) arg;
    return xf_txn_put (txn, XF_DB_META, "k", 1, "v", 1, err);
}

/* Every write transaction's commit is timed (the open itself commits the schema check). */
static void test_store_commits_timed (void **state)
{
    xf_test_store_t *x = *state;
    xf_err_t err = {0};
    const xf_histogram_t *h = xf_store_commit_histogram (x->store);
    uint64_t before = h->count;
    assert_true (before >= 1);
    for (int i = 0; i < 5; i++)
        assert_int_equal (xf_store_write (x->store, put_one, NULL, &err), XF_OK);
    assert_int_equal (h->count, before + 5);
    uint64_t sum = 0;
    for (size_t i = 0; i <= XF_HISTOGRAM_BUCKETS; i++)
        sum += h->buckets[i];
    assert_int_equal (sum, h->count);
    assert_true (h->sum > 0);
    assert_int_not_equal (xf_store_read (x->store, put_one, NULL, &err), XF_OK);
    assert_int_equal (h->count, before + 5);   /* reads are not commits */
}

static int store_setup (void **state)
{
    return xf_test_store_setup (state, "test_xf_metrics");
}

static void test_listen_address (void **state)
{
    (void) state;
    xf_listen_addr_t a;
    xf_err_t err = {0};
    assert_int_equal (xf_metrics_parse_listen ("127.0.0.1:9411", &a, &err), XF_OK);
    assert_string_equal (a.host, "127.0.0.1");
    assert_int_equal (a.port, 9411);
    assert_false (a.ipv6);
    assert_int_equal (xf_metrics_parse_listen ("[::1]:65535", &a, &err), XF_OK);
    assert_string_equal (a.host, "::1");
    assert_int_equal (a.port, 65535);
    assert_true (a.ipv6);
    assert_int_equal (xf_metrics_parse_listen ("0.0.0.0:1", &a, &err), XF_OK);
    static const struct { const char *s, *why; } bad[] = {
        {"127.0.0.1", "no :PORT"},           {":9411", "no HOST"},
        {"localhost:9411", "not a numeric IPv4"}, {"::1:9411", "in brackets"},
        {"[::1:9411", "in brackets"},        {"[zz]:9411", "not a numeric IPv6"},
        {"127.0.0.1:0", "1 to 65535"},       {"127.0.0.1:65536", "1 to 65535"},
        {"127.0.0.1:94x", "1 to 65535"},     {"127.0.0.1:", "1 to 65535"},
        {"127.0.0.1:-1", "1 to 65535"},      {"1.2.3:80", "not a numeric IPv4"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        err = (xf_err_t) {0};
        if (xf_metrics_parse_listen (bad[i].s, &a, &err) != XF_EINVAL || !strstr (err.msg, bad[i].why))
            fail_msg ("\"%s\": %s", bad[i].s, err.msg);
    }
}

int main (void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test (test_counters_and_gauges),
        cmocka_unit_test (test_escaping),
        cmocka_unit_test (test_histogram),
        cmocka_unit_test (test_histogram_cumulative),
        cmocka_unit_test (test_refusals),
        cmocka_unit_test (test_growth),
        cmocka_unit_test (test_listen_address),
        cmocka_unit_test_setup_teardown (test_store_commits_timed, store_setup,
                                         xf_test_store_teardown),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
