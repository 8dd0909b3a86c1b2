/* test_xf_stats.c — statistics counters: day, month and year buckets written together, periods
 * read with few bucket reads and the right sums, signed deltas, and the `stats` totals JSON. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <ftw.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "xf_stats.h"
#include "xf_test.h"

/* ---------------------------------------------------------------- fixture */

typedef xf_test_store_t fx_t;

static int setup (void **state)
{
    return xf_test_store_setup (state, "test_xf_stats");
}

static int teardown (void **state)
{
    return xf_test_store_teardown (state);
}

/* ---------------------------------------------------------------- helpers */

#define D(y, m, d) xf_day_from_ymd (y, m, d)

typedef struct {
    xf_day_t day;
    int counter;
    int64_t n;
} bump_t;

static int do_bumps (xf_txn_t *txn, void *arg, xf_err_t *err)
{
    for (const bump_t *b = arg; b->counter >= 0; b++) {
        int rc = xf_stats_bump (txn, b->day, b->counter, b->n, err);
        if (rc != XF_OK)
            return rc;
    }
    return XF_OK;
}

/* Applies bumps (terminated by counter -1) in one transaction. */
static void bumps (xf_store_t *s, const bump_t *b)
{
    xf_err_t err = {0};
    if (xf_store_write (s, do_bumps, (void *) b, &err) != XF_OK)
        fail_msg ("bump: %s", err.msg);
}

static void bump (xf_store_t *s, xf_day_t day, int counter, int64_t n)
{
    const bump_t b[] = {{day, counter, n}, {0, -1, 0}};
    bumps (s, b);
}

typedef struct {
    xf_day_t day;
    const xf_figures_t *delta;
} apply_t;

static int do_apply (xf_txn_t *txn, void *arg, xf_err_t *err)
{
    apply_t *a = arg;
    return xf_stats_apply (txn, a->day, a->delta, err);
}

static void apply (xf_store_t *s, xf_day_t day, const xf_figures_t *delta)
{
    xf_err_t err = {0};
    apply_t a = {day, delta};
    if (xf_store_write (s, do_apply, &a, &err) != XF_OK)
        fail_msg ("apply: %s", err.msg);
}

typedef struct {
    xf_day_t first, last;
    xf_figures_t out;
    int reads;
} read_t;

static int do_read (xf_txn_t *txn, void *arg, xf_err_t *err)
{
    read_t *r = arg;
    r->reads = -1;
    return xf_stats_read (txn, r->first, r->last, &r->out, &r->reads, err);
}

/* The figures of [first, last]; *reads (when not NULL) gets the bucket reads. */
static xf_figures_t read_range (xf_store_t *s, xf_day_t first, xf_day_t last, int *reads)
{
    xf_err_t err = {0};
    read_t r = {.first = first, .last = last};
    memset (&r.out, 0x5a, sizeof r.out);   /* must be reset by the read */
    if (xf_store_read (s, do_read, &r, &err) != XF_OK)
        fail_msg ("read: %s", err.msg);
    if (reads)
        *reads = r.reads;
    return r.out;
}

static xf_figures_t read_period (xf_store_t *s, const char *period, int *reads)
{
    xf_err_t err = {0};
    xf_period_t p;
    if (xf_period_parse (period, &p, &err) != XF_OK)
        fail_msg ("%s", err.msg);
    return read_range (s, p.first, p.last, reads);
}

static int64_t read_one (xf_store_t *s, const char *period, int counter, int want_reads)
{
    int reads = -1;
    xf_figures_t f = read_period (s, period, &reads);
    if (want_reads >= 0 && reads != want_reads)
        fail_msg ("%s: %d bucket reads, expected %d", period, reads, want_reads);
    return f.v[counter];
}

static void assert_zero (const xf_figures_t *f)
{
    for (int i = 0; i < XF_ST_COUNT; i++)
        if (f->v[i] != 0)
            fail_msg ("counter %d is %lld, expected 0", i, (long long) f->v[i]);
}

static int count_stats (xf_txn_t *txn, void *arg, xf_err_t *err)
{
    return xf_txn_count (txn, XF_DB_STATS, arg, err);
}

/* Number of buckets in the stats database. */
static size_t n_buckets (xf_store_t *s)
{
    size_t n = 0;
    xf_err_t err = {0};
    assert_int_equal (xf_store_read (s, count_stats, &n, &err), XF_OK);
    return n;
}

static int bump_then_fail (xf_txn_t *txn, void *arg, xf_err_t *err)
{
    int rc = do_bumps (txn, arg, err);
    return rc ? rc : xf_err_set (err, XF_ESTATE, "case change refused after counting");
}

static int read_null (xf_txn_t *txn, void *arg, xf_err_t *err)
{
    read_t *r = arg;
    return xf_stats_read (txn, r->first, r->last, &r->out, NULL, err);
}

/* ---------------------------------------------------------------- buckets */

static void test_bump_writes_day_month_year (void **state)
{
    fx_t *x = *state;
    assert_int_equal (n_buckets (x->store), 0);
    bump (x->store, D (2026, 11, 22), XF_ST_RECEIVED, 1);
    assert_int_equal (n_buckets (x->store), 3);   /* the day, 2026-11 and 2026 */

    /* each bucket alone holds the count: a day, a month and a year are one read each */
    assert_int_equal (read_one (x->store, "2026-11-22..2026-11-22", XF_ST_RECEIVED, 1), 1);
    assert_int_equal (read_one (x->store, "2026-11", XF_ST_RECEIVED, 1), 1);
    assert_int_equal (read_one (x->store, "2026", XF_ST_RECEIVED, 1), 1);
    assert_int_equal (read_one (x->store, "2026Q4", XF_ST_RECEIVED, 3), 1);
    /* and nowhere else */
    assert_int_equal (read_one (x->store, "2026-11-21..2026-11-21", XF_ST_RECEIVED, 1), 0);
    assert_int_equal (read_one (x->store, "2026-11-23..2026-11-23", XF_ST_RECEIVED, 1), 0);
    assert_int_equal (read_one (x->store, "2026-10", XF_ST_RECEIVED, 1), 0);
    assert_int_equal (read_one (x->store, "2026-12", XF_ST_RECEIVED, 1), 0);
    assert_int_equal (read_one (x->store, "2025", XF_ST_RECEIVED, 1), 0);
    assert_int_equal (read_one (x->store, "2027", XF_ST_RECEIVED, 1), 0);
    assert_int_equal (read_one (x->store, "2026Q3", XF_ST_RECEIVED, 3), 0);
    xf_figures_t f = read_period (x->store, "2026", NULL);
    f.v[XF_ST_RECEIVED] = 0;
    assert_zero (&f);   /* only the bumped counter moved */

    bump (x->store, D (2026, 11, 23), XF_ST_RECEIVED, 2);   /* new day, same month and year */
    assert_int_equal (n_buckets (x->store), 4);
    bump (x->store, D (2026, 3, 1), XF_ST_RECEIVED, 4);     /* new day and month */
    assert_int_equal (n_buckets (x->store), 6);
    bump (x->store, D (2027, 1, 1), XF_ST_RECEIVED, 8);     /* new day, month and year */
    assert_int_equal (n_buckets (x->store), 9);
    bump (x->store, D (2026, 11, 22), XF_ST_CLOSED, 16);    /* same buckets, other counter */
    assert_int_equal (n_buckets (x->store), 9);

    assert_int_equal (read_one (x->store, "2026-11", XF_ST_RECEIVED, 1), 3);
    assert_int_equal (read_one (x->store, "2026-11", XF_ST_CLOSED, 1), 16);
    assert_int_equal (read_one (x->store, "2026", XF_ST_RECEIVED, 1), 7);
    assert_int_equal (read_one (x->store, "2026Q1", XF_ST_RECEIVED, 3), 4);
    assert_int_equal (read_one (x->store, "2027", XF_ST_RECEIVED, 1), 8);
    assert_int_equal (read_one (x->store, "2026-11-22..2026-11-22", XF_ST_RECEIVED, 1), 1);
    assert_int_equal (read_one (x->store, "2026-11-22..2026-11-22", XF_ST_CLOSED, 1), 16);
    assert_int_equal (read_one (x->store, "2026-01-01..2027-12-31", XF_ST_RECEIVED, 2), 15);
}

static void test_apply_every_counter (void **state)
{
    fx_t *x = *state;
    xf_figures_t delta;
    for (int i = 0; i < XF_ST_COUNT; i++)
        delta.v[i] = 3 * i + 1;
    apply (x->store, D (2026, 5, 31), &delta);
    apply (x->store, D (2026, 5, 31), &delta);   /* accumulates */
    static const char *const periods[] = {"2026-05-31..2026-05-31", "2026-05", "2026Q2", "2026",
                                          "2026-05-31..2026-06-01", "2025-12-31..2026-05-31"};
    for (size_t p = 0; p < sizeof periods / sizeof periods[0]; p++) {
        xf_figures_t f = read_period (x->store, periods[p], NULL);
        for (int i = 0; i < XF_ST_COUNT; i++)
            if (f.v[i] != 2 * (3 * i + 1))
                fail_msg ("%s: counter %d is %lld, expected %d", periods[p], i,
                          (long long) f.v[i], 2 * (3 * i + 1));
    }
    assert_zero ((xf_figures_t[]) {read_period (x->store, "2026-06", NULL)});
    assert_zero ((xf_figures_t[]) {read_period (x->store, "2026-05-30..2026-05-30", NULL)});

    /* days before 1970 are negative day numbers: their buckets work the same */
    apply (x->store, D (1950, 6, 15), &delta);
    assert_int_equal (read_one (x->store, "1950", XF_ST_GROUP, 1), 3 * XF_ST_GROUP + 1);
    assert_int_equal (read_one (x->store, "1950Q2", XF_ST_GROUP, 3), 3 * XF_ST_GROUP + 1);
    assert_int_equal (read_one (x->store, "1950-06", XF_ST_RECEIVED, 1), 1);
    assert_int_equal (read_one (x->store, "1950-06-15..1950-06-15", XF_ST_DUE, 1),
                      3 * XF_ST_DUE + 1);
    assert_int_equal (read_one (x->store, "1950-06-14..1950-06-14", XF_ST_DUE, 1), 0);
    assert_int_equal (read_one (x->store, "1949", XF_ST_DUE, 1), 0);
    assert_int_equal (read_one (x->store, "1950-01-01..2026-12-31", XF_ST_DUE, 77),
                      3 * (3 * XF_ST_DUE + 1));
}

static void test_failed_transaction_counts_nothing (void **state)
{
    fx_t *x = *state;
    bump (x->store, D (2026, 11, 22), XF_ST_RECEIVED, 1);
    const bump_t b[] = {{D (2026, 11, 22), XF_ST_RECEIVED, 5}, {D (2026, 11, 23), XF_ST_FILED, 1},
                        {0, -1, 0}};
    xf_err_t err = {0};
    assert_int_equal (xf_store_write (x->store, bump_then_fail, (void *) b, &err), XF_ESTATE);
    assert_non_null (strstr (err.msg, "refused after counting"));
    assert_int_equal (read_one (x->store, "2026", XF_ST_RECEIVED, 1), 1);
    assert_int_equal (read_one (x->store, "2026", XF_ST_FILED, 1), 0);
    assert_int_equal (n_buckets (x->store), 3);
}

/* ---------------------------------------------------------------- reading periods */

static void test_quarter_and_year_reads (void **state)
{
    fx_t *x = *state;
    /* every day of 2025..2027 gets received = its day of month, closed = 1 */
    static bump_t b[3 * 366 * 2 + 1];
    int n = 0;
    for (xf_day_t d = D (2025, 1, 1); d <= D (2027, 12, 31); d++) {
        int y, m, dd;
        xf_day_to_ymd (d, &y, &m, &dd);
        b[n++] = (bump_t) {d, XF_ST_RECEIVED, dd};
        b[n++] = (bump_t) {d, XF_ST_CLOSED, 1};
    }
    b[n] = (bump_t) {0, -1, 0};
    bumps (x->store, b);

    /* 2026 has 365 days; its month sums are 1+…+len */
    int64_t year = 0;
    for (int q = 1; q <= 4; q++) {
        int64_t want = 0, days = 0;
        for (int m = 3 * q - 2; m <= 3 * q; m++) {
            int len = xf_days_in_month (2026, m);
            want += len * (len + 1) / 2;
            days += len;
            char mon[32];
            snprintf (mon, sizeof mon, "2026-%02d", m);
            assert_int_equal (read_one (x->store, mon, XF_ST_RECEIVED, 1), len * (len + 1) / 2);
        }
        char quarter[32];
        snprintf (quarter, sizeof quarter, "2026Q%d", q);
        int reads = -1;
        xf_figures_t f = read_period (x->store, quarter, &reads);
        assert_int_equal (reads, 3);   /* exactly three month buckets */
        assert_int_equal (f.v[XF_ST_RECEIVED], want);
        assert_int_equal (f.v[XF_ST_CLOSED], days);
        year += want;
    }
    int reads = -1;
    xf_figures_t f = read_period (x->store, "2026", &reads);
    assert_int_equal (reads, 1);
    assert_int_equal (f.v[XF_ST_RECEIVED], year);
    assert_int_equal (f.v[XF_ST_CLOSED], 365);
    assert_int_equal (read_one (x->store, "2025", XF_ST_CLOSED, 1), 365);
    assert_int_equal (read_one (x->store, "2024", XF_ST_CLOSED, 1), 0);
    assert_int_equal (read_one (x->store, "2028Q1", XF_ST_CLOSED, 3), 0);
    assert_int_equal (read_one (x->store, "2025-01-01..2027-12-31", XF_ST_CLOSED, 3), 365 * 3);
}

/* A small deterministic generator (not rand(): the sequence must not depend on libc). */
static uint32_t next_rand (uint32_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 17;
    *s ^= *s << 5;
    return *s;
}

#define WIN_FIRST D (2024, 11, 1)
#define WIN_LAST  D (2027, 2, 28)
#define WIN_DAYS  850   /* 2024-11-01..2027-02-28, checked in test_arbitrary_ranges */

#define N_TRACKED 4
static const int tracked[N_TRACKED] = {XF_ST_RECEIVED, XF_ST_DUE, XF_ST_CLOSED_ON_TIME,
                                       XF_ST_GROUP};

/* Random counts on random days of the window; expect[i][k] is what day i got on tracked[k]. */
static void fill_window (xf_store_t *s, int64_t expect[][N_TRACKED])
{
    static bump_t b[WIN_DAYS * N_TRACKED + 1];
    int n = 0;
    uint32_t r = 20261122;
    memset (expect, 0, sizeof (int64_t) * N_TRACKED * WIN_DAYS);
    for (int i = 0; i < WIN_DAYS; i++)
        for (int k = 0; k < N_TRACKED; k++) {
            if (next_rand (&r) % 3 == 0)
                continue;
            int64_t v = (int64_t) (next_rand (&r) % 1000) - (k == 1 ? 300 : 0);   /* due can go down */
            b[n++] = (bump_t) {WIN_FIRST + i, tracked[k], v};
            expect[i][k] = v;
        }
    b[n] = (bump_t) {0, -1, 0};
    bumps (s, b);
}

static void check_range (xf_store_t *s, int64_t expect[][N_TRACKED], xf_day_t first,
                         xf_day_t last, int max_reads)
{
    int reads = -1;
    xf_figures_t f = read_range (s, first, last, &reads);
    for (int k = 0; k < N_TRACKED; k++) {
        int64_t want = 0;
        for (xf_day_t d = first; d <= last; d++)
            if (d >= WIN_FIRST && d <= WIN_LAST)
                want += expect[d - WIN_FIRST][k];
        if (f.v[tracked[k]] != want) {
            char a[11], b[11];
            xf_day_format (first, a);
            xf_day_format (last, b);
            fail_msg ("%s..%s: counter %d is %lld, expected %lld", a, b, tracked[k],
                      (long long) f.v[tracked[k]], (long long) want);
        }
    }
    if (reads < 0 || reads > max_reads) {
        char a[11], b[11];
        xf_day_format (first, a);
        xf_day_format (last, b);
        fail_msg ("%s..%s: %d bucket reads, expected at most %d", a, b, reads, max_reads);
    }
}

static void test_arbitrary_ranges (void **state)
{
    fx_t *x = *state;
    static int64_t expect[WIN_DAYS][N_TRACKED];
    assert_int_equal (WIN_LAST - WIN_FIRST + 1, WIN_DAYS);
    fill_window (x->store, expect);

    /* crossing months and years: 14 days, 1 month, 1 year, 1 month, 3 days */
    int reads = -1;
    read_range (x->store, D (2025, 11, 17), D (2027, 2, 3), &reads);
    assert_true (reads <= 20);
    check_range (x->store, expect, D (2025, 11, 17), D (2027, 2, 3), 20);
    check_range (x->store, expect, D (2025, 12, 31), D (2026, 1, 1), 2);
    check_range (x->store, expect, D (2026, 2, 27), D (2026, 3, 2), 4);
    check_range (x->store, expect, D (2024, 11, 1), D (2027, 2, 28), 6);
    check_range (x->store, expect, D (2026, 7, 1), D (2026, 12, 31), 6);   /* H2: six months */

    /* the worst shapes: long partial months at both ends around partial years */
    check_range (x->store, expect, D (2025, 1, 2), D (2026, 12, 30), 79);
    check_range (x->store, expect, D (2025, 1, 16), D (2026, 12, 15), 79);
    check_range (x->store, expect, D (2024, 12, 2), D (2027, 1, 30), 79);
    check_range (x->store, expect, D (2026, 1, 2), D (2026, 12, 30), 79);
    check_range (x->store, expect, D (2026, 3, 2), D (2026, 3, 30), 79);

    /* partly or wholly outside the data: zeros count as zeros */
    check_range (x->store, expect, D (2024, 10, 20), D (2024, 11, 5), 79);
    check_range (x->store, expect, D (2020, 1, 1), D (2024, 11, 1), 79);
    check_range (x->store, expect, D (2027, 2, 1), D (2028, 3, 10), 79);
    check_range (x->store, expect, D (2030, 1, 1), D (2030, 12, 31), 1);

    /* a sample of ranges of every length inside and around the window */
    uint32_t r = 7411;
    for (int i = 0; i < 3000; i++) {
        xf_day_t a = WIN_FIRST - 40 + (xf_day_t) (next_rand (&r) % (WIN_DAYS + 80));
        xf_day_t len = (xf_day_t) (i % 3 == 0 ? next_rand (&r) % 40 : next_rand (&r) % 800);
        check_range (x->store, expect, a, a + len, 79);
    }
}

static void test_empty_periods (void **state)
{
    fx_t *x = *state;
    static const char *const periods[] = {"2026", "2026Q1", "2026Q4", "2026-02", "2024-02",
                                          "2012-01-01..2013-12-31", "2026-11-22..2026-11-22",
                                          "1949", "2999"};
    for (size_t i = 0; i < sizeof periods / sizeof periods[0]; i++) {
        xf_figures_t f = read_period (x->store, periods[i], NULL);
        assert_zero (&f);
    }
    bump (x->store, D (2026, 6, 1), XF_ST_RECEIVED, 9);
    for (size_t i = 2; i < sizeof periods / sizeof periods[0]; i++) {
        xf_figures_t f = read_period (x->store, periods[i], NULL);
        assert_zero (&f);   /* data elsewhere does not leak in */
    }
    int reads = -1;
    xf_figures_t f = read_range (x->store, D (2026, 6, 2), D (2026, 6, 1), &reads);
    assert_zero (&f);       /* an empty range */
    assert_int_equal (reads, 0);

    /* reads may be NULL */
    read_t rd = {.first = D (2026, 1, 1), .last = D (2026, 12, 31)};
    xf_err_t err = {0};
    assert_int_equal (xf_store_read (x->store, read_null, &rd, &err), XF_OK);
    assert_int_equal (rd.out.v[XF_ST_RECEIVED], 9);
}

/* ---------------------------------------------------------------- signed deltas */

static void test_negative_deltas (void **state)
{
    fx_t *x = *state;
    /* a due entry on 2026-03-10 … */
    bump (x->store, D (2026, 3, 10), XF_ST_DUE, 1);
    assert_int_equal (read_one (x->store, "2026Q1", XF_ST_DUE, 3), 1);
    /* … moves to 2026-05-20 when the deadline is extended: -1 there, +1 here, one transaction */
    const bump_t move[] = {{D (2026, 3, 10), XF_ST_DUE, -1}, {D (2026, 5, 20), XF_ST_DUE, 1},
                           {0, -1, 0}};
    bumps (x->store, move);
    assert_int_equal (read_one (x->store, "2026Q1", XF_ST_DUE, 3), 0);
    assert_int_equal (read_one (x->store, "2026-03", XF_ST_DUE, 1), 0);
    assert_int_equal (read_one (x->store, "2026-03-10..2026-03-10", XF_ST_DUE, 1), 0);
    assert_int_equal (read_one (x->store, "2026Q2", XF_ST_DUE, 3), 1);
    assert_int_equal (read_one (x->store, "2026-05-20..2026-05-20", XF_ST_DUE, 1), 1);
    assert_int_equal (read_one (x->store, "2026", XF_ST_DUE, 1), 1);
    assert_int_equal (read_one (x->store, "2026-03-01..2026-05-31", XF_ST_DUE, -1), 1);
    assert_int_equal (read_one (x->store, "2026-03-10..2026-05-19", XF_ST_DUE, -1), 0);

    /* across a year end: 2026-12-30 → 2027-01-05 */
    bump (x->store, D (2026, 12, 30), XF_ST_DUE, 1);
    const bump_t move2[] = {{D (2026, 12, 30), XF_ST_DUE, -1}, {D (2027, 1, 5), XF_ST_DUE, 1},
                            {0, -1, 0}};
    bumps (x->store, move2);
    assert_int_equal (read_one (x->store, "2026", XF_ST_DUE, 1), 1);   /* only the May one */
    assert_int_equal (read_one (x->store, "2026Q4", XF_ST_DUE, 3), 0);
    assert_int_equal (read_one (x->store, "2027", XF_ST_DUE, 1), 1);
    assert_int_equal (read_one (x->store, "2026-12-01..2027-01-31", XF_ST_DUE, 2), 1);
    assert_int_equal (read_one (x->store, "2026-01-01..2027-12-31", XF_ST_DUE, 2), 2);

    /* counters are signed and 64-bit all the way through the store */
    bump (x->store, D (2028, 2, 29), XF_ST_OVERDUE, -2);
    assert_int_equal (read_one (x->store, "2028-02", XF_ST_OVERDUE, 1), (uint64_t) -2);
    assert_true (read_one (x->store, "2028", XF_ST_OVERDUE, 1) == -2);
    bump (x->store, D (2028, 2, 29), XF_ST_URGES, INT64_C (5000000000000));
    bump (x->store, D (2028, 2, 28), XF_ST_URGES, INT64_C (-1));
    assert_true (read_one (x->store, "2028Q1", XF_ST_URGES, 3) == INT64_C (4999999999999));
}

/* ---------------------------------------------------------------- figures */

static void test_figures_add (void **state)
{
    (void) state;
    xf_figures_t a, b;
    for (int i = 0; i < XF_ST_COUNT; i++) {
        a.v[i] = i;
        b.v[i] = 1000 - 2 * i;
    }
    xf_figures_add (&a, &b);
    for (int i = 0; i < XF_ST_COUNT; i++) {
        assert_int_equal (a.v[i], 1000 - i);
        assert_int_equal (b.v[i], 1000 - 2 * i);   /* the addend is untouched */
    }
}

static int64_t int_key (json_t *o, const char *key)
{
    json_t *v = json_object_get (o, key);
    if (!json_is_integer (v))
        fail_msg ("\"%s\" is missing or not an integer", key);
    return (int64_t) json_integer_value (v);
}

static void test_figures_json_keys (void **state)
{
    (void) state;
    xf_figures_t f;
    for (int i = 0; i < XF_ST_COUNT; i++)
        f.v[i] = 100 + i;
    json_t *o = xf_figures_json (&f);
    assert_non_null (o);
    assert_true (json_is_object (o));

    assert_int_equal (int_key (o, "received"), 100 + XF_ST_RECEIVED);

    static const char *const channels[] = {"letter", "visit", "phone", "email", "online"};
    json_t *ch = json_object_get (o, "by_channel");
    assert_true (json_is_object (ch));
    assert_int_equal (json_object_size (ch), 5);
    for (int i = 0; i < 5; i++)
        assert_int_equal (int_key (ch, channels[i]), 100 + XF_ST_CHANNEL + 1 + i);

    static const char *const categories[] = {"accusation", "appeal", "inquiry"};
    json_t *cat = json_object_get (o, "by_category");
    assert_true (json_is_object (cat));
    assert_int_equal (json_object_size (cat), 3);
    for (int i = 0; i < 3; i++)
        assert_int_equal (int_key (cat, categories[i]), 100 + XF_ST_CATEGORY + 1 + i);

    static const char *const ranks[] = {"province", "prefecture", "county",
                                        "township", "general",    "village"};
    json_t *rk = json_object_get (o, "by_accused_rank");
    assert_true (json_is_object (rk));
    assert_int_equal (json_object_size (rk), 6);
    for (int i = 0; i < 6; i++)
        assert_int_equal (int_key (rk, ranks[i]), 100 + XF_ST_RANK + 1 + i);

    static const struct { const char *key; int id; } plain[] = {
        {"accepted", XF_ST_ACCEPTED},     {"rejected", XF_ST_REJECTED},
        {"filed", XF_ST_FILED},           {"due", XF_ST_DUE},
        {"closed", XF_ST_CLOSED},         {"closed_on_time", XF_ST_CLOSED_ON_TIME},
        {"overdue", XF_ST_OVERDUE},       {"escalated", XF_ST_ESCALATED},
        {"assigned", XF_ST_ASSIGNED},     {"transferred", XF_ST_TRANSFERRED},
        {"urges", XF_ST_URGES},           {"sent_back", XF_ST_SENT_BACK},
        {"repeat", XF_ST_REPEAT},         {"skip_level", XF_ST_SKIP_LEVEL},
        {"group", XF_ST_GROUP},
    };
    for (size_t i = 0; i < sizeof plain / sizeof plain[0]; i++)
        assert_int_equal (int_key (o, plain[i].key), 100 + plain[i].id);

    /* INTERFACE.md `stats` totals: every key there is here */
    static const char *const interface_keys[] = {
        "received", "by_channel", "by_category", "by_accused_rank", "accepted", "rejected",
        "filed", "due", "closed", "closed_on_time", "on_time_rate", "overdue", "escalated",
        "assigned", "transferred", "urges", "sent_back", "repeat", "skip_level", "group",
    };
    for (size_t i = 0; i < sizeof interface_keys / sizeof interface_keys[0]; i++)
        if (!json_object_get (o, interface_keys[i]))
            fail_msg ("totals lack \"%s\"", interface_keys[i]);

    /* it serializes */
    char *s = json_dumps (o, JSON_COMPACT);
    assert_non_null (s);
    assert_non_null (strstr (s, "\"by_channel\":{"));
    free (s);
    json_decref (o);
}

static json_t *rate_of (int64_t due, int64_t on_time)
{
    xf_figures_t f = {{0}};
    f.v[XF_ST_DUE] = due;
    f.v[XF_ST_CLOSED_ON_TIME] = on_time;
    f.v[XF_ST_CLOSED] = on_time + 1;
    json_t *o = xf_figures_json (&f);
    json_t *r = json_incref (json_object_get (o, "on_time_rate"));
    if (!r)
        fail_msg ("no on_time_rate for due %lld", (long long) due);
    json_decref (o);
    return r;
}

static void assert_rate (int64_t due, int64_t on_time, double want)
{
    json_t *r = rate_of (due, on_time);
    if (!json_is_real (r))
        fail_msg ("due %lld, on time %lld: on_time_rate is not a number", (long long) due,
                  (long long) on_time);
    double got = json_real_value (r);
    if (fabs (got - want) > 1e-12)
        fail_msg ("due %lld, on time %lld: rate %g, expected %g", (long long) due,
                  (long long) on_time, got, want);
    assert_true (got <= 1.0);
    json_decref (r);
}

static void assert_rate_null (int64_t due, int64_t on_time)
{
    json_t *r = rate_of (due, on_time);
    if (!json_is_null (r))
        fail_msg ("due %lld: on_time_rate should be null", (long long) due);
    json_decref (r);
}

static void test_on_time_rate (void **state)
{
    (void) state;
    assert_rate_null (0, 0);
    assert_rate_null (0, 3);     /* nothing due: no rate, whatever was closed */
    assert_rate_null (-1, 0);    /* a transiently negative due is not a rate either */
    assert_rate (4, 3, 0.75);
    assert_rate (3, 1, 1.0 / 3.0);
    assert_rate (7, 0, 0.0);     /* 0 is a rate, not null */
    assert_rate (5, 5, 1.0);
    assert_rate (2, 5, 1.0);     /* never above 1 */
    assert_rate (1, INT64_C (1) << 40, 1.0);

    /* end to end: counted into a quarter, read back, rendered */
    fx_t *x = NULL;
    setup ((void **) &x);
    const bump_t b[] = {{D (2026, 10, 8), XF_ST_DUE, 2},   {D (2026, 11, 30), XF_ST_DUE, 2},
                        {D (2026, 10, 8), XF_ST_CLOSED_ON_TIME, 1},
                        {D (2026, 12, 31), XF_ST_CLOSED_ON_TIME, 2},
                        {D (2027, 1, 1), XF_ST_CLOSED_ON_TIME, 1}, {0, -1, 0}};
    bumps (x->store, b);
    xf_figures_t f = read_period (x->store, "2026Q4", NULL);
    json_t *o = xf_figures_json (&f);
    assert_int_equal (int_key (o, "due"), 4);
    assert_int_equal (int_key (o, "closed_on_time"), 3);
    json_t *r = json_object_get (o, "on_time_rate");
    assert_true (json_is_real (r));
    assert_true (fabs (json_real_value (r) - 0.75) < 1e-12);
    json_decref (o);
    f = read_period (x->store, "2027", NULL);
    o = xf_figures_json (&f);
    assert_true (json_is_null (json_object_get (o, "on_time_rate")));
    json_decref (o);
    teardown ((void **) &x);
}

int main (void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown (test_bump_writes_day_month_year, setup, teardown),
        cmocka_unit_test_setup_teardown (test_apply_every_counter, setup, teardown),
        cmocka_unit_test_setup_teardown (test_failed_transaction_counts_nothing, setup, teardown),
        cmocka_unit_test_setup_teardown (test_quarter_and_year_reads, setup, teardown),
        cmocka_unit_test_setup_teardown (test_arbitrary_ranges, setup, teardown),
        cmocka_unit_test_setup_teardown (test_empty_periods, setup, teardown),
        cmocka_unit_test_setup_teardown (test_negative_deltas, setup, teardown),
        cmocka_unit_test (test_figures_add),
        cmocka_unit_test (test_figures_json_keys),
        cmocka_unit_test (test_on_time_rate),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
