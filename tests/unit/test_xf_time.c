/* test_xf_time.c — CST calendar days: day numbers and their round trip, leap years, the CST
 * midnight boundary, strict parsing of dates and times, and statistics periods. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "xf_time.h"

/* Independent of the code under test: the Gregorian rule. */
static bool leap (int y)
{
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static int month_len (int y, int m)
{
    static const int len[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    return m == 2 && leap (y) ? 29 : len[m - 1];
}

/* The refusal carries code and a phrase naming what was expected. */
static void assert_refused (int rc, const xf_err_t *err, int code, const char *phrase)
{
    assert_int_equal (rc, code);
    assert_int_equal (err->code, code);
    if (!strstr (err->msg, phrase))
        fail_msg ("message \"%s\" lacks \"%s\"", err->msg, phrase);
}

/* ---------------------------------------------------------------- day numbers */

static void test_day_known_values (void **state)
{
    (void) state;
    assert_int_equal (xf_day_from_ymd (1970, 1, 1), 0);
    assert_int_equal (xf_day_from_ymd (1970, 1, 2), 1);
    assert_int_equal (xf_day_from_ymd (1969, 12, 31), -1);
    assert_int_equal (xf_day_from_ymd (2026, 1, 1), 20454);
    assert_int_equal (xf_day_from_ymd (2026, 11, 22), 20779);
    assert_int_equal (xf_day_from_ymd (2000, 2, 29), 11016);
    assert_int_equal (xf_day_from_ymd (1949, 10, 1), -7397);
    assert_int_equal (xf_day_from_ymd (1949, 1, 1), -7670);
    assert_int_equal (xf_day_from_ymd (2100, 12, 31), 47846);

    int y, m, d;
    xf_day_to_ymd (-7397, &y, &m, &d);
    assert_int_equal (y, 1949);
    assert_int_equal (m, 10);
    assert_int_equal (d, 1);
    xf_day_to_ymd (-1, &y, &m, &d);
    assert_int_equal (y, 1969);
    assert_int_equal (m, 12);
    assert_int_equal (d, 31);
}

/* Every day from 1949-01-01 to 2100-12-31: consecutive numbers, and back to the same date. */
static void test_day_round_trip_every_day (void **state)
{
    (void) state;
    xf_day_t expect = xf_day_from_ymd (1949, 1, 1);
    long days = 0;
    for (int y = 1949; y <= 2100; y++)
        for (int m = 1; m <= 12; m++)
            for (int d = 1; d <= month_len (y, m); d++) {
                xf_day_t day = xf_day_from_ymd (y, m, d);
                if (day != expect)
                    fail_msg ("%04d-%02d-%02d is day %d, expected %d", y, m, d, day, expect);
                int yy = 0, mm = 0, dd = 0;
                xf_day_to_ymd (day, &yy, &mm, &dd);
                if (yy != y || mm != m || dd != d)
                    fail_msg ("day %d gave %04d-%02d-%02d, expected %04d-%02d-%02d", day, yy, mm,
                              dd, y, m, d);
                char s[11];
                xf_day_format (day, s);
                char want[48];
                snprintf (want, sizeof want, "%04d-%02d-%02d", y, m, d);
                assert_string_equal (s, want);
                expect++;
                days++;
            }
    assert_int_equal (expect, xf_day_from_ymd (2101, 1, 1));
    assert_int_equal (days, 55517);   /* 152 years, 37 of them leap (1952..2096) */
}

static void test_leap_years (void **state)
{
    (void) state;
    assert_int_equal (xf_days_in_month (2000, 2), 29);   /* divisible by 400 */
    assert_int_equal (xf_days_in_month (1900, 2), 28);   /* by 100, not 400 */
    assert_int_equal (xf_days_in_month (2100, 2), 28);
    assert_int_equal (xf_days_in_month (2024, 2), 29);
    assert_int_equal (xf_days_in_month (2026, 2), 28);
    assert_int_equal (xf_days_in_month (1952, 2), 29);
    assert_int_equal (xf_days_in_month (2026, 1), 31);
    assert_int_equal (xf_days_in_month (2026, 4), 30);
    assert_int_equal (xf_days_in_month (2026, 12), 31);
    for (int y = 1949; y <= 2999; y++) {
        int total = 0;
        for (int m = 1; m <= 12; m++) {
            if (xf_days_in_month (y, m) != month_len (y, m))
                fail_msg ("%04d-%02d: %d days", y, m, xf_days_in_month (y, m));
            total += xf_days_in_month (y, m);
        }
        assert_int_equal (total, leap (y) ? 366 : 365);
        assert_int_equal (xf_day_from_ymd (y + 1, 1, 1) - xf_day_from_ymd (y, 1, 1), total);
    }
    /* 2100 is not a leap year: 02-28 is followed by 03-01 */
    assert_int_equal (xf_day_from_ymd (2100, 3, 1) - xf_day_from_ymd (2100, 2, 28), 1);
    assert_int_equal (xf_day_from_ymd (2000, 3, 1) - xf_day_from_ymd (2000, 2, 28), 2);
}

/* ---------------------------------------------------------------- instants and days */

static void test_day_of_time_cst_midnight (void **state)
{
    (void) state;
    /* 2026-11-21T15:59:59Z is 23:59:59 CST on the 21st; one second later it is the 22nd. */
    const int64_t t = 1795276799;
    assert_int_equal (xf_day_of_time (t), xf_day_from_ymd (2026, 11, 21));
    assert_int_equal (xf_day_of_time (t + 1), xf_day_from_ymd (2026, 11, 22));
    assert_int_equal (xf_day_start (xf_day_from_ymd (2026, 11, 22)), t + 1);
    /* 08:00 UTC on the 22nd is 16:00 CST, still the 22nd; 16:00 UTC is the 23rd */
    assert_int_equal (xf_day_of_time (t + 1 + 16 * 3600 - 1), xf_day_from_ymd (2026, 11, 22));
    assert_int_equal (xf_day_of_time (t + 1 + 24 * 3600), xf_day_from_ymd (2026, 11, 23));

    /* the epoch: 1970-01-01 00:00 CST is 1969-12-31T16:00:00Z */
    assert_int_equal (xf_day_start (0), -8 * 3600);
    assert_int_equal (xf_day_of_time (0), 0);                 /* 08:00 CST */
    assert_int_equal (xf_day_of_time (-8 * 3600), 0);
    assert_int_equal (xf_day_of_time (-8 * 3600 - 1), -1);    /* 23:59:59 CST on 12-31 */
    assert_int_equal (xf_day_of_time (-8 * 3600 - 86400), -1);
    assert_int_equal (xf_day_of_time (-8 * 3600 - 86401), -2);

    /* every day 1949..2030: [start, start + 86400) is that day, and nothing else */
    for (xf_day_t day = xf_day_from_ymd (1949, 1, 1); day <= xf_day_from_ymd (2030, 12, 31); day++) {
        int64_t s = xf_day_start (day);
        if (xf_day_of_time (s) != day || xf_day_of_time (s - 1) != day - 1
            || xf_day_of_time (s + 86399) != day)
            fail_msg ("day %d: boundaries wrong", day);
    }
}

/* ---------------------------------------------------------------- xf_day_parse */

static void test_day_parse_valid (void **state)
{
    (void) state;
    xf_err_t err = {0};
    xf_day_t day = 0;
    assert_int_equal (xf_day_parse ("2026-11-22", &day, &err), XF_OK);
    assert_int_equal (day, 20779);
    assert_int_equal (err.code, 0);
    assert_int_equal (xf_day_parse ("2024-02-29", &day, &err), XF_OK);
    assert_int_equal (day, xf_day_from_ymd (2024, 2, 29));
    assert_int_equal (xf_day_parse ("2000-02-29", &day, &err), XF_OK);
    assert_int_equal (day, 11016);
    assert_int_equal (xf_day_parse ("1949-10-01", &day, &err), XF_OK);
    assert_int_equal (day, -7397);
    assert_int_equal (xf_day_parse ("2999-12-31", &day, &err), XF_OK);
    assert_int_equal (day, xf_day_from_ymd (2999, 12, 31));
    assert_int_equal (xf_day_parse ("2026-12-31", &day, NULL), XF_OK);   /* err may be NULL */
    assert_int_equal (day, xf_day_from_ymd (2026, 12, 31));

    /* format → parse round trip */
    for (xf_day_t d = xf_day_from_ymd (2020, 1, 1); d <= xf_day_from_ymd (2030, 12, 31); d++) {
        char s[11];
        xf_day_format (d, s);
        xf_day_t back = 0;
        if (xf_day_parse (s, &back, &err) != XF_OK || back != d)
            fail_msg ("%s did not parse back to day %d", s, d);
    }
}

static void test_day_parse_refusals (void **state)
{
    (void) state;
    static const char *const bad[] = {
        "2026-02-29",   /* 2026 is not a leap year */
        "2100-02-29",   /* nor 2100 */
        "2026-13-01", "2026-00-10", "2026-11-00", "2026-11-31", "2026-04-31",
        "2026-1-01", "2026-11-1", "20261101", "2026/11/01", "2026-11-01x",
        "2026-11-01 ", " 2026-11-01", "2026-11-0a", "+026-11-01", "２０２６-11-01",
        "1948-12-31", "1900-01-01", "3000-01-01", "", "2026", "2026-11",
        "2026-11-22T09:30:00",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        xf_err_t err = {0};
        xf_day_t day = 4242;
        int rc = xf_day_parse (bad[i], &day, &err);
        if (rc != XF_EINVAL)
            fail_msg ("\"%s\" accepted (rc %d, day %d)", bad[i], rc, day);
        assert_refused (rc, &err, XF_EINVAL, "expected YYYY-MM-DD");
        assert_non_null (strstr (err.msg, "is not a date"));
        char quoted[64];
        snprintf (quoted, sizeof quoted, "\"%s\"", bad[i]);
        if (!strstr (err.msg, quoted))
            fail_msg ("message \"%s\" does not quote the input", err.msg);
        assert_int_equal (day, 4242);   /* out untouched on refusal */
    }
    xf_err_t err = {0};
    xf_day_t day = 4242;
    assert_refused (xf_day_parse (NULL, &day, &err), &err, XF_EINVAL, "expected YYYY-MM-DD");
    assert_int_equal (day, 4242);
    assert_int_equal (xf_day_parse ("2026-02-29", &day, NULL), XF_EINVAL);   /* err NULL */
}

/* ---------------------------------------------------------------- xf_time_parse / format */

static void test_time_parse_format (void **state)
{
    (void) state;
    xf_err_t err = {0};
    int64_t t = 0;
    const int64_t nine_thirty = xf_day_start (20779) + 9 * 3600 + 30 * 60;
    assert_int_equal (xf_time_parse ("2026-11-22T09:30:00", &t, &err), XF_OK);
    assert_int_equal (t, nine_thirty);
    assert_int_equal (t, 1795311000);   /* 2026-11-22T01:30:00Z */
    t = 0;
    assert_int_equal (xf_time_parse ("2026-11-22T09:30:00+08:00", &t, &err), XF_OK);
    assert_int_equal (t, nine_thirty);
    assert_int_equal (xf_time_parse ("2026-11-22T00:00:00", &t, &err), XF_OK);
    assert_int_equal (t, xf_day_start (20779));
    assert_int_equal (xf_time_parse ("2026-11-22T23:59:59", &t, &err), XF_OK);
    assert_int_equal (t, xf_day_start (20780) - 1);
    assert_int_equal (xf_time_parse ("1949-10-01T15:00:00", &t, &err), XF_OK);
    assert_int_equal (t, xf_day_start (-7397) + 15 * 3600);

    char out[26];
    xf_time_format (nine_thirty, out);
    assert_string_equal (out, "2026-11-22T09:30:00+08:00");
    xf_time_format (1795276799, out);   /* 15:59:59Z */
    assert_string_equal (out, "2026-11-21T23:59:59+08:00");
    xf_time_format (1795276800, out);   /* 16:00:00Z */
    assert_string_equal (out, "2026-11-22T00:00:00+08:00");
    xf_time_format (0, out);
    assert_string_equal (out, "1970-01-01T08:00:00+08:00");
    xf_time_format (-8 * 3600 - 1, out);
    assert_string_equal (out, "1969-12-31T23:59:59+08:00");
    xf_time_format (xf_day_start (-7397), out);
    assert_string_equal (out, "1949-10-01T00:00:00+08:00");

    /* format → parse round trip, with and without the suffix, before and after 1970 */
    for (int64_t s = xf_day_start (-7397); s < xf_day_start (47846); s += 86400 * 3 + 3607) {
        xf_time_format (s, out);
        int64_t back = -1;
        if (xf_time_parse (out, &back, &err) != XF_OK || back != s)
            fail_msg ("%s: %s", out, err.msg);
        out[19] = 0;   /* drop "+08:00" */
        back = -1;
        if (xf_time_parse (out, &back, &err) != XF_OK || back != s)
            fail_msg ("%s: %s", out, err.msg);
    }
}

static void test_time_parse_refusals (void **state)
{
    (void) state;
    static const char *const bad[] = {
        "", "2026-11-22", "2026-11-22T09:30", "2026-11-22 09:30:00", "2026-11-22t09:30:00",
        "2026-11-22T24:00:00", "2026-11-22T09:60:00", "2026-11-22T09:30:60",
        "2026-11-22T9:30:00", "2026-11-22T09:3a:00", "2026-11-22T09-30-00",
        "2026-11-22T09:30:00Z", "2026-11-22T09:30:00+09:00", "2026-11-22T09:30:00+0800",
        "2026-11-22T09:30:00+08:00x", "2026-11-22T09:30:00 ", "2026-11-22T09:30:00.5",
        "2026-02-29T09:30:00", "2026-13-01T00:00:00", "1948-12-31T23:59:59",
        "2026-11-22T09:30:00-08:00",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        xf_err_t err = {0};
        int64_t t = 4242;
        int rc = xf_time_parse (bad[i], &t, &err);
        if (rc != XF_EINVAL)
            fail_msg ("\"%s\" accepted (rc %d)", bad[i], rc);
        assert_refused (rc, &err, XF_EINVAL, "expected YYYY-MM-DDTHH:MM:SS");
        assert_non_null (strstr (err.msg, "is not a time"));
        assert_non_null (strstr (err.msg, "China Standard Time"));
        assert_int_equal (t, 4242);
    }
    xf_err_t err = {0};
    int64_t t = 4242;
    assert_refused (xf_time_parse (NULL, &t, &err), &err, XF_EINVAL, "is not a time");
    assert_int_equal (t, 4242);
}

/* ---------------------------------------------------------------- periods */

static void assert_period (const char *s, int y1, int m1, int d1, int y2, int m2, int d2,
                           const char *label)
{
    xf_err_t err = {0};
    xf_period_t p;
    memset (&p, 0x5a, sizeof p);
    if (xf_period_parse (s, &p, &err) != XF_OK)
        fail_msg ("\"%s\" refused: %s", s, err.msg);
    assert_int_equal (p.first, xf_day_from_ymd (y1, m1, d1));
    assert_int_equal (p.last, xf_day_from_ymd (y2, m2, d2));
    assert_string_equal (p.label, label);
}

static void test_period_year_quarter_month (void **state)
{
    (void) state;
    assert_period ("2026", 2026, 1, 1, 2026, 12, 31, "2026");
    assert_period ("1949", 1949, 1, 1, 1949, 12, 31, "1949");
    assert_period ("2999", 2999, 1, 1, 2999, 12, 31, "2999");
    assert_period ("2026Q1", 2026, 1, 1, 2026, 3, 31, "2026Q1");
    assert_period ("2026Q2", 2026, 4, 1, 2026, 6, 30, "2026Q2");
    assert_period ("2026Q3", 2026, 7, 1, 2026, 9, 30, "2026Q3");
    assert_period ("2026Q4", 2026, 10, 1, 2026, 12, 31, "2026Q4");
    assert_period ("2026q4", 2026, 10, 1, 2026, 12, 31, "2026Q4");   /* normalized */
    assert_period ("2026-02", 2026, 2, 1, 2026, 2, 28, "2026-02");
    assert_period ("2024-02", 2024, 2, 1, 2024, 2, 29, "2024-02");
    assert_period ("2000-02", 2000, 2, 1, 2000, 2, 29, "2000-02");
    assert_period ("2100-02", 2100, 2, 1, 2100, 2, 28, "2100-02");
    assert_period ("2026-11", 2026, 11, 1, 2026, 11, 30, "2026-11");
    assert_period ("2026-12", 2026, 12, 1, 2026, 12, 31, "2026-12");
    assert_period ("2026-01", 2026, 1, 1, 2026, 1, 31, "2026-01");

    /* the four quarters tile the year; the twelve months tile it too */
    xf_period_t year, q, mo;
    xf_err_t err = {0};
    assert_int_equal (xf_period_parse ("2024", &year, &err), XF_OK);
    xf_day_t next = year.first;
    for (int i = 1; i <= 4; i++) {
        char s[32];
        snprintf (s, sizeof s, "2024Q%d", i);
        assert_int_equal (xf_period_parse (s, &q, &err), XF_OK);
        assert_int_equal (q.first, next);
        next = q.last + 1;
    }
    assert_int_equal (next, year.last + 1);
    next = year.first;
    for (int i = 1; i <= 12; i++) {
        char s[32];
        snprintf (s, sizeof s, "2024-%02d", i);
        assert_int_equal (xf_period_parse (s, &mo, &err), XF_OK);
        assert_int_equal (mo.first, next);
        next = mo.last + 1;
    }
    assert_int_equal (next, year.last + 1);
    assert_int_equal (year.last - year.first + 1, 366);
}

static void test_period_range (void **state)
{
    (void) state;
    assert_period ("2012-01-01..2013-12-31", 2012, 1, 1, 2013, 12, 31, "2012-01-01..2013-12-31");
    assert_period ("2026-11-22..2026-11-22", 2026, 11, 22, 2026, 11, 22, "2026-11-22..2026-11-22");
    assert_period ("2025-12-31..2026-01-01", 2025, 12, 31, 2026, 1, 1, "2025-12-31..2026-01-01");
    assert_period ("2024-02-29..2024-03-01", 2024, 2, 29, 2024, 3, 1, "2024-02-29..2024-03-01");

    xf_err_t err = {0};
    xf_period_t p;
    assert_refused (xf_period_parse ("2013-12-31..2012-01-01", &p, &err), &err, XF_EINVAL,
                    "ends before it starts");
    assert_non_null (strstr (err.msg, "2013-12-31..2012-01-01"));
    err = (xf_err_t) {0};
    assert_refused (xf_period_parse ("2026-11-23..2026-11-22", &p, &err), &err, XF_EINVAL,
                    "ends before it starts");
}

static void test_period_refusals (void **state)
{
    (void) state;
    static const char *const bad[] = {
        "", "26", "202", "20266", "1948", "3000", "abcd", "2026Q0", "2026Q5", "2026Q", "2026Q12",
        "2026H1", "2026-00", "2026-13", "2026-1", "2026-1a", "2026/11", "2026-11-22",
        "2026 ", " 2026", "2026Q4 ", "2012-01-01...2013-12-31", "2012-01-01..2013-12-3",
        "2012-01-01..2013-02-30", "2012-01-01-2013-12-31", "2012-01-01..", "..2013-12-31",
        "1948-12-31..2013-12-31", "2012-01-01..3000-01-01", "2012-1-01..2013-12-31x",
        "2012-01-01 .. 2013-12-31", "1948Q1", "1948-01",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        xf_err_t err = {0};
        xf_period_t p;
        int rc = xf_period_parse (bad[i], &p, &err);
        if (rc != XF_EINVAL)
            fail_msg ("\"%s\" accepted (rc %d)", bad[i], rc);
        assert_refused (rc, &err, XF_EINVAL, "is not a period");
        /* the message names every accepted form */
        assert_non_null (strstr (err.msg, "YYYY,"));
        assert_non_null (strstr (err.msg, "YYYYQ1..YYYYQ4"));
        assert_non_null (strstr (err.msg, "YYYY-MM "));
        assert_non_null (strstr (err.msg, "YYYY-MM-DD..YYYY-MM-DD"));
    }
    xf_err_t err = {0};
    xf_period_t p;
    assert_refused (xf_period_parse (NULL, &p, &err), &err, XF_EINVAL, "YYYYQ1..YYYYQ4");
    assert_int_equal (xf_period_parse ("2026Q5", &p, NULL), XF_EINVAL);   /* err NULL */
}

static void test_period_quarter_of (void **state)
{
    (void) state;
    xf_period_t p;
    xf_period_quarter_of (xf_day_from_ymd (2026, 11, 22), &p);
    assert_string_equal (p.label, "2026Q4");
    assert_int_equal (p.first, xf_day_from_ymd (2026, 10, 1));
    assert_int_equal (p.last, xf_day_from_ymd (2026, 12, 31));
    xf_period_quarter_of (xf_day_from_ymd (2026, 3, 31), &p);
    assert_string_equal (p.label, "2026Q1");
    xf_period_quarter_of (xf_day_from_ymd (2026, 4, 1), &p);
    assert_string_equal (p.label, "2026Q2");
    assert_int_equal (p.first, xf_day_from_ymd (2026, 4, 1));
    assert_int_equal (p.last, xf_day_from_ymd (2026, 6, 30));
    xf_period_quarter_of (xf_day_from_ymd (1949, 10, 1), &p);
    assert_string_equal (p.label, "1949Q4");

    /* every day of 2023..2025 lies in its quarter, and the quarter is the parsed one */
    for (xf_day_t d = xf_day_from_ymd (2023, 1, 1); d <= xf_day_from_ymd (2025, 12, 31); d++) {
        xf_period_quarter_of (d, &p);
        int y, m, dd;
        xf_day_to_ymd (d, &y, &m, &dd);
        char want[32];
        snprintf (want, sizeof want, "%04dQ%d", y, (m - 1) / 3 + 1);
        assert_string_equal (p.label, want);
        assert_true (p.first <= d && d <= p.last);
        xf_period_t q;
        xf_err_t err = {0};
        assert_int_equal (xf_period_parse (p.label, &q, &err), XF_OK);
        assert_int_equal (q.first, p.first);
        assert_int_equal (q.last, p.last);
    }
}

int main (void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test (test_day_known_values),
        cmocka_unit_test (test_day_round_trip_every_day),
        cmocka_unit_test (test_leap_years),
        cmocka_unit_test (test_day_of_time_cst_midnight),
        cmocka_unit_test (test_day_parse_valid),
        cmocka_unit_test (test_day_parse_refusals),
        cmocka_unit_test (test_time_parse_format),
        cmocka_unit_test (test_time_parse_refusals),
        cmocka_unit_test (test_period_year_quarter_month),
        cmocka_unit_test (test_period_range),
        cmocka_unit_test (test_period_refusals),
        cmocka_unit_test (test_period_quarter_of),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
