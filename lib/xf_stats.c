/* xf_stats.c — counter buckets per day, month and year in the `stats` database; reading a
 * period by covering it with the largest whole buckets. */
#include "xf_stats.h"

#include <string.h>
#include "xf_case.h"

enum { LEVEL_DAY = 'D', LEVEL_MONTH = 'M', LEVEL_YEAR = 'Y' };
#define KEY_LEN 5

static void bucket_key (uint8_t key[KEY_LEN], int level, xf_day_t first_day)
{
    key[0] = (uint8_t) level;
    xf_be32_put (key + 1, (uint32_t) first_day ^ 0x80000000u);   /* sortable for negatives */
}

/* Values are XF_ST_COUNT big-endian int64s; a shorter value (from an older build with fewer
 * counters) reads as zeros for the missing ones. */
static void decode (const void *val, size_t vlen, xf_figures_t *f)
{
    memset (f, 0, sizeof *f);
    size_t n = vlen / 8 < XF_ST_COUNT ? vlen / 8 : XF_ST_COUNT;
    for (size_t i = 0; i < n; i++)
        f->v[i] = (int64_t) xf_be64_get ((const uint8_t *) val + 8 * i);
}

static int add_bucket (xf_txn_t *txn, int level, xf_day_t first, const xf_figures_t *delta,
                       xf_err_t *err)
{
    uint8_t key[KEY_LEN], val[8 * XF_ST_COUNT] = {0};
    const void *old = NULL;
    size_t oldlen = 0;
    bucket_key (key, level, first);
    int rc = xf_txn_get (txn, XF_DB_STATS, key, KEY_LEN, &old, &oldlen, err);
    if (rc == XF_OK)   /* the stored bytes as they are; a shorter value's missing counters 0 */
        memcpy (val, old, oldlen < sizeof val ? oldlen - oldlen % 8 : sizeof val);
    else if (rc != XF_ENOTFOUND)
        return rc;
    /* only the counters that move (a bump moves one of them, for every case changed) */
    for (int i = 0; i < XF_ST_COUNT; i++)
        if (delta->v[i])
            xf_be64_put (val + 8 * i, xf_be64_get (val + 8 * i) + (uint64_t) delta->v[i]);
    return xf_txn_put (txn, XF_DB_STATS, key, KEY_LEN, val, sizeof val, err);
}

int xf_stats_apply (xf_txn_t *txn, xf_day_t day, const xf_figures_t *delta, xf_err_t *err)
{
    int y, m, d, rc;
    xf_day_to_ymd (day, &y, &m, &d);
    if ((rc = add_bucket (txn, LEVEL_DAY, day, delta, err))
        || (rc = add_bucket (txn, LEVEL_MONTH, xf_day_from_ymd (y, m, 1), delta, err))
        || (rc = add_bucket (txn, LEVEL_YEAR, xf_day_from_ymd (y, 1, 1), delta, err)))
        return rc;
    return XF_OK;
}

int xf_stats_bump (xf_txn_t *txn, xf_day_t day, int counter, int64_t n, xf_err_t *err)
{
    xf_figures_t delta = {{0}};
    delta.v[counter] = n;
    return xf_stats_apply (txn, day, &delta, err);
}

/* Adds (sign 1) or subtracts (sign -1) the bucket of level starting at first. */
static int read_bucket (xf_txn_t *txn, int level, xf_day_t first, int sign, xf_figures_t *sum,
                        xf_err_t *err)
{
    uint8_t key[KEY_LEN];
    const void *val = NULL;
    size_t vlen = 0;
    xf_figures_t f;
    bucket_key (key, level, first);
    int rc = xf_txn_get (txn, XF_DB_STATS, key, KEY_LEN, &val, &vlen, err);
    if (rc == XF_ENOTFOUND)
        return XF_OK;
    if (rc != XF_OK)
        return rc;
    decode (val, vlen, &f);
    for (int i = 0; i < XF_ST_COUNT; i++)
        sum->v[i] += sign * f.v[i];
    return XF_OK;
}

static int read_days (xf_txn_t *txn, xf_day_t first, xf_day_t last, int sign, xf_figures_t *sum,
                      int *n_reads, xf_err_t *err)
{
    for (xf_day_t day = first; day <= last; day++, (*n_reads)++) {
        int rc = read_bucket (txn, LEVEL_DAY, day, sign, sum, err);
        if (rc != XF_OK)
            return rc;
    }
    return XF_OK;
}

int xf_stats_read (xf_txn_t *txn, xf_day_t first, xf_day_t last, xf_figures_t *out, int *reads,
                   xf_err_t *err)
{
    int n_reads = 0;
    memset (out, 0, sizeof *out);
    xf_day_t day = first;
    while (day <= last) {
        int y, m, d, rc;
        xf_day_t next;
        xf_day_to_ymd (day, &y, &m, &d);
        xf_day_t year_end = xf_day_from_ymd (y, 12, 31);
        xf_day_t month_end = xf_day_from_ymd (y, m, xf_days_in_month (y, m));
        if (m == 1 && d == 1 && year_end <= last) {
            rc = read_bucket (txn, LEVEL_YEAR, day, 1, out, err), n_reads++;
            next = year_end + 1;
        } else if (d == 1 && month_end <= last) {
            rc = read_bucket (txn, LEVEL_MONTH, day, 1, out, err), n_reads++;
            next = month_end + 1;
        } else {
            /* Part of a month: its days one by one, or — when that is fewer reads — the month
             * minus the days outside the part. Either way at most 16 reads per partial month. */
            xf_day_t month_first = day - (d - 1), end = month_end < last ? month_end : last;
            if (1 + (day - month_first) + (month_end - end) < end - day + 1) {
                rc = read_bucket (txn, LEVEL_MONTH, month_first, 1, out, err), n_reads++;
                if (rc == XF_OK)
                    rc = read_days (txn, month_first, day - 1, -1, out, &n_reads, err);
                if (rc == XF_OK)
                    rc = read_days (txn, end + 1, month_end, -1, out, &n_reads, err);
            } else {
                rc = read_days (txn, day, end, 1, out, &n_reads, err);
            }
            next = end + 1;
        }
        if (rc != XF_OK)
            return rc;
        day = next;
    }
    if (reads)
        *reads = n_reads;
    return XF_OK;
}

void xf_figures_add (xf_figures_t *sum, const xf_figures_t *f)
{
    for (int i = 0; i < XF_ST_COUNT; i++)
        sum->v[i] += f->v[i];
}

/* The plain counters of xf.Figures, in field order, and the arrays beside them. */
#define PLAIN_FIELDS(X)                                                                      \
    X (received, XF_ST_RECEIVED) X (accepted, XF_ST_ACCEPTED) X (rejected, XF_ST_REJECTED)     \
    X (filed, XF_ST_FILED) X (due, XF_ST_DUE) X (closed, XF_ST_CLOSED)                        \
    X (closed_on_time, XF_ST_CLOSED_ON_TIME) X (overdue, XF_ST_OVERDUE)                       \
    X (escalated, XF_ST_ESCALATED) X (assigned, XF_ST_ASSIGNED)                              \
    X (transferred, XF_ST_TRANSFERRED) X (urges, XF_ST_URGES) X (sent_back, XF_ST_SENT_BACK)  \
    X (repeat, XF_ST_REPEAT) X (skip_level, XF_ST_SKIP_LEVEL) X (group, XF_ST_GROUP)

void xf_figures_to_msg (const xf_figures_t *f, xf_figures_msg_t *out)
{
    memset (out, 0, sizeof *out);
    xf__figures__init (&out->msg);
#define TO(field, id) out->msg.field = (uint64_t) f->v[id];
    PLAIN_FIELDS (TO)
#undef TO
    for (int i = 0; i < 6; i++)
        out->by_channel[i] = (uint64_t) f->v[XF_ST_CHANNEL + i];
    for (int i = 0; i < 4; i++)
        out->by_category[i] = (uint64_t) f->v[XF_ST_CATEGORY + i];
    for (int i = 0; i < 7; i++)
        out->by_rank[i] = (uint64_t) f->v[XF_ST_RANK + i];
    for (int i = 0; i < 9; i++)
        out->by_subject[i] = (uint64_t) f->v[XF_ST_SUBJECT + i];
    out->msg.by_channel = out->by_channel, out->msg.n_by_channel = 6;
    out->msg.by_category = out->by_category, out->msg.n_by_category = 4;
    out->msg.by_accused_rank = out->by_rank, out->msg.n_by_accused_rank = 7;
    out->msg.by_subject = out->by_subject, out->msg.n_by_subject = 9;
}

static void from_array (const uint64_t *a, size_t n, size_t max, int64_t *dst)
{
    for (size_t i = 1; i < n && i < max; i++)   /* index 0 is unused */
        dst[i] = (int64_t) a[i];
}

void xf_figures_from_msg (const Xf__Figures *m, xf_figures_t *f)
{
    memset (f, 0, sizeof *f);
    if (!m)
        return;
#define FROM(field, id) f->v[id] = (int64_t) m->field;
    PLAIN_FIELDS (FROM)
#undef FROM
    from_array (m->by_channel, m->n_by_channel, 6, f->v + XF_ST_CHANNEL);
    from_array (m->by_category, m->n_by_category, 4, f->v + XF_ST_CATEGORY);
    from_array (m->by_accused_rank, m->n_by_accused_rank, 7, f->v + XF_ST_RANK);
    from_array (m->by_subject, m->n_by_subject, 9, f->v + XF_ST_SUBJECT);
}

static json_t *breakdown (const xf_figures_t *f, int base, int n, const char *(*name) (int))
{
    json_t *o = json_object ();
    for (int i = 1; i <= n; i++)
        json_object_set_new (o, name (i), json_integer (f->v[base + i]));
    return o;
}

static const char *subject_name (int i)
{
    static const char *const names[] = {"", "1", "2", "3", "4", "5", "6", "7", "8"};
    return names[i];
}

/* Each channel's and category's part of what was received, exact (the published tables round
 * them; a report must not). */
static json_t *share_of (const xf_figures_t *f, int base, int n, const char *(*name) (int))
{
    json_t *o = json_object ();
    int64_t all = f->v[XF_ST_RECEIVED];
    for (int i = 1; i <= n; i++)
        json_object_set_new (o, name (i), all > 0 ? json_real ((double) f->v[base + i] / (double) all)
                                                  : json_null ());
    return o;
}

static json_t *shares (const xf_figures_t *f)
{
    json_t *o = json_object ();
    json_object_set_new (o, "by_channel", share_of (f, XF_ST_CHANNEL, 5, xf_channel_name));
    json_object_set_new (o, "by_category", share_of (f, XF_ST_CATEGORY, 3, xf_category_name));
    return o;
}

json_t *xf_figures_json (const xf_figures_t *f)
{
    static const struct { const char *name; int id; } plain[] = {
        {"accepted", XF_ST_ACCEPTED},   {"rejected", XF_ST_REJECTED},
        {"filed", XF_ST_FILED},         {"due", XF_ST_DUE},
        {"closed", XF_ST_CLOSED},       {"closed_on_time", XF_ST_CLOSED_ON_TIME},
        {"overdue", XF_ST_OVERDUE},     {"escalated", XF_ST_ESCALATED},
        {"assigned", XF_ST_ASSIGNED},   {"transferred", XF_ST_TRANSFERRED},
        {"urges", XF_ST_URGES},         {"sent_back", XF_ST_SENT_BACK},
        {"repeat", XF_ST_REPEAT},       {"skip_level", XF_ST_SKIP_LEVEL},
        {"group", XF_ST_GROUP},
    };
    json_t *o = json_object ();
    json_object_set_new (o, "received", json_integer (f->v[XF_ST_RECEIVED]));
    json_object_set_new (o, "by_channel", breakdown (f, XF_ST_CHANNEL, 5, xf_channel_name));
    json_object_set_new (o, "by_category", breakdown (f, XF_ST_CATEGORY, 3, xf_category_name));
    json_object_set_new (o, "by_accused_rank", breakdown (f, XF_ST_RANK, 6, xf_rank_name));
    json_object_set_new (o, "by_subject", breakdown (f, XF_ST_SUBJECT, XF_SUBJECTS, subject_name));
    json_object_set_new (o, "shares", shares (f));
    for (size_t i = 0; i < sizeof plain / sizeof plain[0]; i++) {
        json_object_set_new (o, plain[i].name, json_integer (f->v[plain[i].id]));
        if (plain[i].id == XF_ST_CLOSED_ON_TIME) {
            int64_t due = f->v[XF_ST_DUE], ok = f->v[XF_ST_CLOSED_ON_TIME];
            json_object_set_new (o, "on_time_rate",
                                 due > 0 ? json_real (ok >= due ? 1.0 : (double) ok / (double) due)
                                         : json_null ());
        }
    }
    return o;
}
