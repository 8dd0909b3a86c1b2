/* xf_stats.h — incremental statistics counters (DESIGN principle 5) and their figures.
 *
 * Each counted event adds to three buckets in the same transaction as the case change: its
 * day, its month and its year. A period is read by covering it with whole years, then whole
 * months, then single days, so a quarter is three reads and a year one, whatever the number
 * of cases. Counters are signed: a case's 应结 (due) entry moves when its deadline moves. */
#ifndef XF_STATS_H
#define XF_STATS_H

#include <jansson.h>
#include <stdint.h>
#include "xf_store.h"
#include "xfsync.pb-c.h"
#include "xf_time.h"

enum {
    XF_ST_RECEIVED,
    XF_ST_CHANNEL,                        /* + channel 1..5, index 0 unused */
    XF_ST_CATEGORY = XF_ST_CHANNEL + 6,   /* + category 1..3 */
    XF_ST_RANK = XF_ST_CATEGORY + 4,      /* + accused rank 1..6 */
    XF_ST_SUBJECT = XF_ST_RANK + 7,       /* + subject 1..8 */
    XF_ST_ACCEPTED = XF_ST_SUBJECT + 9,
    XF_ST_REJECTED,
    XF_ST_FILED,
    XF_ST_DUE,
    XF_ST_CLOSED,
    XF_ST_CLOSED_ON_TIME,
    XF_ST_OVERDUE,
    XF_ST_ESCALATED,
    XF_ST_ASSIGNED,
    XF_ST_TRANSFERRED,
    XF_ST_URGES,
    XF_ST_SENT_BACK,
    XF_ST_REPEAT,
    XF_ST_SKIP_LEVEL,
    XF_ST_GROUP,
    XF_ST_COUNT
};

typedef struct {
    int64_t v[XF_ST_COUNT];
} xf_figures_t;

/* Adds delta to the day, month and year buckets of day. */
int xf_stats_apply (xf_txn_t *txn, xf_day_t day, const xf_figures_t *delta, xf_err_t *err);
/* Adds n to one counter (a one-counter delta). */
int xf_stats_bump (xf_txn_t *txn, xf_day_t day, int counter, int64_t n, xf_err_t *err);
/* Sums the counters of every day in [first, last]. reads (may be NULL) gets the number of
 * buckets read: at most ~70 for any range, 1 for a year, 3 for a quarter. */
int xf_stats_read (xf_txn_t *txn, xf_day_t first, xf_day_t last, xf_figures_t *out, int *reads,
                   xf_err_t *err);

void xf_figures_add (xf_figures_t *sum, const xf_figures_t *f);

/* The figures as the wire's xf.Figures; the message points into the holder's arrays. */
typedef struct {
    Xf__Figures msg;
    uint64_t by_channel[6], by_category[4], by_rank[7], by_subject[9];
} xf_figures_msg_t;
void xf_figures_to_msg (const xf_figures_t *f, xf_figures_msg_t *out);
/* Reads m (NULL: zeros); entries beyond what this build counts are ignored. */
void xf_figures_from_msg (const Xf__Figures *m, xf_figures_t *f);

/* The "totals" object of INTERFACE.md `stats`; on_time_rate = closed_on_time / due or null. */
json_t *xf_figures_json (const xf_figures_t *f);

#endif
