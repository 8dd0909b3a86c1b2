/* xf_time.c — CST calendar arithmetic (civil-from-days after H. Hinnant), parsing of dates,
 * times and statistics periods. */
#include "xf_time.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>

#define FIRST_YEAR 1949
#define LAST_YEAR  2999

xf_day_t xf_day_from_ymd (int y, int m, int d)
{
    y -= m <= 2;
    const int era = (y >= 0 ? y : y - 399) / 400;
    const unsigned yoe = (unsigned) (y - era * 400);
    const unsigned doy = (153 * (unsigned) (m + (m > 2 ? -3 : 9)) + 2) / 5 + (unsigned) d - 1;
    const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (int) doe - 719468;
}

void xf_day_to_ymd (xf_day_t day, int *y, int *m, int *d)
{
    const int z = day + 719468;
    const int era = (z >= 0 ? z : z - 146096) / 146097;
    const unsigned doe = (unsigned) (z - era * 146097);
    const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    const unsigned mp = (5 * doy + 2) / 153;
    const unsigned dd = doy - (153 * mp + 2) / 5 + 1;
    const unsigned mm = mp < 10 ? mp + 3 : mp - 9;
    *y = (int) yoe + era * 400 + (mm <= 2);
    *m = (int) mm;
    *d = (int) dd;
}

xf_day_t xf_day_of_time (int64_t t)
{
    int64_t s = t + XF_CST_OFFSET;
    return (xf_day_t) (s >= 0 ? s / 86400 : -((-s + 86399) / 86400));
}

int64_t xf_day_start (xf_day_t day)
{
    return (int64_t) day * 86400 - XF_CST_OFFSET;
}

int xf_days_in_month (int y, int m)
{
    static const int len[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (m == 2 && ((y % 4 == 0 && y % 100 != 0) || y % 400 == 0))
        return 29;
    return len[m - 1];
}

/* Reads exactly n digits; returns -1 if any is not a digit. */
static int digits (const char *s, int n)
{
    int v = 0;
    for (int i = 0; i < n; i++) {
        if (!isdigit ((unsigned char) s[i]))
            return -1;
        v = v * 10 + (s[i] - '0');
    }
    return v;
}

static bool ymd_valid (int y, int m, int d)
{
    return y >= FIRST_YEAR && y <= LAST_YEAR && m >= 1 && m <= 12 && d >= 1
           && d <= xf_days_in_month (y, m);
}

static int parse_ymd (const char *s, int *y, int *m, int *d)
{
    if (strlen (s) < 10 || s[4] != '-' || s[7] != '-')
        return -1;
    *y = digits (s, 4);
    *m = digits (s + 5, 2);
    *d = digits (s + 8, 2);
    return ymd_valid (*y, *m, *d) ? 0 : -1;
}

int xf_day_parse (const char *s, xf_day_t *out, xf_err_t *err)
{
    int y, m, d;
    if (!s || strlen (s) != 10 || parse_ymd (s, &y, &m, &d) != 0)
        return xf_err_set (err, XF_EINVAL, "\"%s\" is not a date: expected YYYY-MM-DD between %d and %d",
                           s ? s : "", FIRST_YEAR, LAST_YEAR);
    *out = xf_day_from_ymd (y, m, d);
    return XF_OK;
}

/* Writes v as exactly n decimal digits (its last n). No printf: every audit record and
 * every case shown formats dates. */
static char *put_digits (char *o, unsigned v, int n)
{
    for (int i = n - 1; i >= 0; i--, v /= 10)
        o[i] = (char) ('0' + v % 10);
    return o + n;
}

void xf_day_format (xf_day_t day, char out[11])
{
    int y, m, d;
    xf_day_to_ymd (day, &y, &m, &d);
    char *o = put_digits (out, (unsigned) y, 4);
    *o++ = '-';
    o = put_digits (o, (unsigned) m, 2);
    *o++ = '-';
    o = put_digits (o, (unsigned) d, 2);
    *o = '\0';
}

int xf_time_parse (const char *s, int64_t *out, xf_err_t *err)
{
    int y, m, d;
    size_t n = s ? strlen (s) : 0;
    if (n != 19 && !(n == 25 && strcmp (s + 19, "+08:00") == 0))
        goto bad;
    if (parse_ymd (s, &y, &m, &d) != 0 || s[10] != 'T' || s[13] != ':' || s[16] != ':')
        goto bad;
    int hh = digits (s + 11, 2), mm = digits (s + 14, 2), ss = digits (s + 17, 2);
    if (hh < 0 || hh > 23 || mm < 0 || mm > 59 || ss < 0 || ss > 59)
        goto bad;
    *out = xf_day_start (xf_day_from_ymd (y, m, d)) + hh * 3600 + mm * 60 + ss;
    return XF_OK;
bad:
    return xf_err_set (err, XF_EINVAL,
                       "\"%s\" is not a time: expected YYYY-MM-DDTHH:MM:SS (China Standard Time)",
                       s ? s : "");
}

void xf_time_format (int64_t t, char out[26])
{
    xf_day_t day = xf_day_of_time (t);
    int64_t sec = t - xf_day_start (day);
    xf_day_format (day, out);
    char *o = out + 10;
    *o++ = 'T';
    o = put_digits (o, (unsigned) (sec / 3600), 2);
    *o++ = ':';
    o = put_digits (o, (unsigned) (sec / 60 % 60), 2);
    *o++ = ':';
    o = put_digits (o, (unsigned) (sec % 60), 2);
    memcpy (o, "+08:00", 7);
}

static void set_month (xf_period_t *p, int y, int m)
{
    p->first = xf_day_from_ymd (y, m, 1);
    p->last = xf_day_from_ymd (y, m, xf_days_in_month (y, m));
    snprintf (p->label, sizeof p->label, "%04d-%02d", y, m);
}

static void set_quarter (xf_period_t *p, int y, int q)
{
    p->first = xf_day_from_ymd (y, 3 * q - 2, 1);
    p->last = xf_day_from_ymd (y, 3 * q, xf_days_in_month (y, 3 * q));
    snprintf (p->label, sizeof p->label, "%04dQ%d", y, q);
}

int xf_period_parse (const char *s, xf_period_t *p, xf_err_t *err)
{
    size_t n = s ? strlen (s) : 0;
    int y = n >= 4 ? digits (s, 4) : -1;
    memset (p, 0, sizeof *p);
    if (n == 4 && y >= FIRST_YEAR && y <= LAST_YEAR) {
        p->first = xf_day_from_ymd (y, 1, 1);
        p->last = xf_day_from_ymd (y, 12, 31);
        snprintf (p->label, sizeof p->label, "%04d", y);
        return XF_OK;
    }
    if (n == 6 && y >= FIRST_YEAR && y <= LAST_YEAR && (s[4] == 'Q' || s[4] == 'q')
        && s[5] >= '1' && s[5] <= '4') {
        set_quarter (p, y, s[5] - '0');
        return XF_OK;
    }
    if (n == 7 && y >= FIRST_YEAR && y <= LAST_YEAR && s[4] == '-') {
        int m = digits (s + 5, 2);
        if (m >= 1 && m <= 12) {
            set_month (p, y, m);
            return XF_OK;
        }
    }
    if (n == 22 && s[10] == '.' && s[11] == '.') {
        char a[11], b[11];
        memcpy (a, s, 10), a[10] = 0;
        memcpy (b, s + 12, 10), b[10] = 0;
        if (xf_day_parse (a, &p->first, NULL) == XF_OK && xf_day_parse (b, &p->last, NULL) == XF_OK) {
            if (p->first > p->last)
                return xf_err_set (err, XF_EINVAL, "period \"%s\" ends before it starts", s);
            snprintf (p->label, sizeof p->label, "%s..%s", a, b);
            return XF_OK;
        }
    }
    return xf_err_set (err, XF_EINVAL,
                       "\"%s\" is not a period: expected YYYY, YYYYQ1..YYYYQ4, YYYY-MM or "
                       "YYYY-MM-DD..YYYY-MM-DD", s ? s : "");
}

void xf_period_quarter_of (xf_day_t day, xf_period_t *p)
{
    int y, m, d;
    xf_day_to_ymd (day, &y, &m, &d);
    set_quarter (p, y, (m - 1) / 3 + 1);
}

static xf_day_t year_back (xf_day_t day)
{
    int y, m, d;
    xf_day_to_ymd (day, &y, &m, &d);
    return xf_day_from_ymd (y - 1, m, m == 2 && d == 29 ? 28 : d);
}

void xf_period_year_earlier (const xf_period_t *p, xf_period_t *out)
{
    out->first = year_back (p->first);
    out->last = year_back (p->last);
    size_t n = strlen (p->label);
    int y = n >= 4 ? digits (p->label, 4) : -1;
    if ((n == 4 || n == 6 || n == 7) && y > FIRST_YEAR) {
        snprintf (out->label, sizeof out->label, "%04d%s", y - 1, p->label + 4);
        return;
    }
    char a[11], b[11];
    xf_day_format (out->first, a);
    xf_day_format (out->last, b);
    snprintf (out->label, sizeof out->label, "%s..%s", a, b);
}

int32_t xf_month_of_day (xf_day_t day)
{
    int y, m, d;
    xf_day_to_ymd (day, &y, &m, &d);
    return y * 100 + m;
}

xf_day_t xf_month_first (int32_t yyyymm)
{
    return xf_day_from_ymd (yyyymm / 100, yyyymm % 100, 1);
}

int32_t xf_month_add (int32_t yyyymm, int k)
{
    int idx = (yyyymm / 100) * 12 + (yyyymm % 100 - 1) + k;
    return (idx / 12) * 100 + idx % 12 + 1;
}

int xf_months_between (int32_t a, int32_t b)
{
    return (b / 100 - a / 100) * 12 + b % 100 - a % 100;
}

bool xf_period_whole_months (const xf_period_t *p)
{
    int y, m, d;
    xf_day_to_ymd (p->first, &y, &m, &d);
    if (d != 1)
        return false;
    xf_day_to_ymd (p->last, &y, &m, &d);
    return d == xf_days_in_month (y, m);
}
