/* xf_time.h — calendar days and periods in China Standard Time (UTC+8, no DST since 1991).
 *
 * A day is an int32 day number: days since 1970-01-01 in CST. Deadlines are calendar days,
 * so all deadline arithmetic is integer arithmetic on day numbers. */
#ifndef XF_TIME_H
#define XF_TIME_H

#include <stdbool.h>
#include <stdint.h>
#include "xf_err.h"

#define XF_CST_OFFSET (8 * 3600)

typedef int32_t xf_day_t;

typedef struct {
    xf_day_t first, last;       /* inclusive */
    char label[32];             /* as the operator wrote it, normalized */
} xf_period_t;

xf_day_t xf_day_from_ymd (int y, int m, int d);
void     xf_day_to_ymd (xf_day_t day, int *y, int *m, int *d);
xf_day_t xf_day_of_time (int64_t unix_seconds);           /* CST calendar day of an instant */
int64_t  xf_day_start (xf_day_t day);                     /* unix seconds at 00:00 CST */
int      xf_days_in_month (int y, int m);

/* "YYYY-MM-DD", strictly (a real date between 1949-01-01 and 2999-12-31). */
int  xf_day_parse (const char *s, xf_day_t *out, xf_err_t *err);
void xf_day_format (xf_day_t day, char out[11]);

/* "YYYY-MM-DDTHH:MM:SS" in CST (an optional "+08:00" suffix is accepted). */
int  xf_time_parse (const char *s, int64_t *out, xf_err_t *err);
void xf_time_format (int64_t unix_seconds, char out[26]); /* "2026-11-22T09:30:00+08:00" */

/* "2026", "2026Q4", "2026-11", "2012-01-01..2013-12-31". */
int xf_period_parse (const char *s, xf_period_t *out, xf_err_t *err);
/* The quarter containing day, labelled "2026Q4". */
void xf_period_quarter_of (xf_day_t day, xf_period_t *out);
/* The same period a year earlier (与往年相比), labelled alike: 2026Q4 → 2025Q4; a range's
 * ends move back a year each (29 February becomes the 28th). */
void xf_period_year_earlier (const xf_period_t *p, xf_period_t *out);

/* Months as yyyymm (202611): the month of a day, its first day, the month k later (k may be
 * negative), and how many months b is after a. */
int32_t  xf_month_of_day (xf_day_t day);
xf_day_t xf_month_first (int32_t yyyymm);
int32_t  xf_month_add (int32_t yyyymm, int k);
int      xf_months_between (int32_t a, int32_t b);
/* Whether the period is whole months (then snapshots of months can cover it). */
bool     xf_period_whole_months (const xf_period_t *p);

#endif
