/* xf_office_stats.c — the statistics report (月统计、季分析): this office's own figures, and
 * the consolidated pull over its subtree.
 *
 * A pull asks every child for its subtree's figures of a period, to answer within a budget;
 * a child with children of its own asks them in turn with a shorter budget, so answers come
 * back up level by level in time. Each office contributes one row, its own figures, which the
 * counters already keep so that a case counts once (DESIGN principle 5): a consolidated total
 * is the sum of the rows. A child that has not answered when the time is up is filled from
 * the monthly snapshots it sent (xf_office_snapshot.c), or named missing with every office
 * known below it (principle 6). Pulls live in memory only: a restart forgets them and the
 * operator asks again. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <openssl/rand.h>
#include "xf_office_int.h"

#define MONTHS_MAX 240          /* a longer period has no month by month series */
#define BUDGET_MAX_MS 600000
#define BUDGET_SHARE 7 / 10     /* of its own budget, what an office gives its children */
#define DONE_KEEP_MS 300000     /* an answered local pull nobody fetched is dropped after this */

typedef struct xf_pull {
    struct xf_pull *next;
    uint64_t id, their_id;
    char asker[16];             /* the parent that asked, "" for this office's operator */
    xf_period_t period;
    int64_t deadline_ms, done_ms;
    bool done;
    size_t n_children;
    char (*children)[16];
    bool *answered;
    xf_stats_rows_t rows;
    xf_stats_months_t months;
} pull_t;

static int64_t monotonic_ms (void)
{
    struct timespec ts;
    clock_gettime (CLOCK_MONOTONIC, &ts);
    return (int64_t) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int64_t clock_ms (const xf_office_t *o)
{
    return o->clock_ms ? o->clock_ms () : monotonic_ms ();
}

void xf_office_set_clock_ms (xf_office_t *o, int64_t (*fn) (void))
{
    o->clock_ms = fn;
}

/* ---------------------------------------------------------------- rows and months */

xf_stats_row_t *xf_stats_rows_add (xf_stats_rows_t *rows, const char *code, const char *name)
{
    if (rows->n == rows->cap) {
        size_t cap = rows->cap ? rows->cap * 2 : 8;
        xf_stats_row_t *v = realloc (rows->v, cap * sizeof *v);
        if (!v)
            return NULL;
        rows->v = v;
        rows->cap = cap;
    }
    xf_stats_row_t *r = &rows->v[rows->n++];
    memset (r, 0, sizeof *r);
    snprintf (r->code, sizeof r->code, "%s", code);
    snprintf (r->name, sizeof r->name, "%s", name ? name : "");
    return r;
}

void xf_stats_rows_clear (xf_stats_rows_t *rows)
{
    for (size_t i = 0; i < rows->n; i++)
        free (rows->v[i].months);
    free (rows->v);
    memset (rows, 0, sizeof *rows);
}

static int months_init (xf_stats_months_t *m, const xf_period_t *p, xf_err_t *err)
{
    int32_t first = xf_month_of_day (p->first);
    size_t n = (size_t) xf_months_between (first, xf_month_of_day (p->last)) + 1;
    memset (m, 0, sizeof *m);
    m->first = first;
    if (n > MONTHS_MAX)
        return XF_OK;
    if (!(m->f = calloc (n, sizeof *m->f)))
        return xf_err_set (err, XF_ENOMEM, "out of memory");
    m->n = n;
    return XF_OK;
}

void xf_stats_months_add (xf_stats_months_t *m, int32_t yyyymm, const xf_figures_t *f)
{
    int i = xf_months_between (m->first, yyyymm);
    if (m->f && i >= 0 && (size_t) i < m->n)
        xf_figures_add (&m->f[i], f);
}

static const char *name_of (const xf_office_t *o, const char *code)
{
    const char *n = o->net.routes ? xf_routes_name (o->net.routes, code) : NULL;
    return n ? n : "";
}

/* This office's own row: the period, the same period a year earlier, and month by month. */
static int own_row (xf_txn_t *txn, const xf_office_t *o, const xf_period_t *p, int64_t now,
                    xf_stats_rows_t *rows, xf_stats_months_t *months, xf_err_t *err)
{
    xf_period_t earlier;
    xf_stats_row_t *r = xf_stats_rows_add (rows, o->code, name_of (o, o->code));
    if (!r)
        return xf_err_set (err, XF_ENOMEM, "out of memory");
    r->source = XF_SOURCE_LIVE;
    r->as_of = now;
    r->has_figures = r->has_earlier = true;
    xf_period_year_earlier (p, &earlier);
    int rc = xf_stats_read (txn, p->first, p->last, &r->f, NULL, err);
    if (rc == XF_OK)
        rc = xf_stats_read (txn, earlier.first, earlier.last, &r->earlier, NULL, err);
    for (size_t i = 0; rc == XF_OK && i < months->n; i++) {
        int32_t m = xf_month_add (months->first, (int) i);
        xf_day_t first = xf_month_first (m), last = xf_month_first (xf_month_add (m, 1)) - 1;
        xf_figures_t f;
        rc = xf_stats_read (txn, first > p->first ? first : p->first,
                            last < p->last ? last : p->last, &f, NULL, err);
        if (rc == XF_OK)
            xf_figures_add (&months->f[i], &f);
    }
    return rc;
}

/* ---------------------------------------------------------------- the report */

static json_t *time_or_null (int64_t t)
{
    char s[26];
    if (!t)
        return json_null ();
    xf_time_format (t, s);
    return json_string (s);
}

static json_t *month_label (int32_t m)
{
    char s[16];
    snprintf (s, sizeof s, "%04d-%02d", (int) (m / 100), (int) (m % 100));
    return json_string (s);
}

/* Counts change in percent of the earlier value; rates and shares in percentage points.
 * null where the earlier value is 0 or unknown. */
static void change (const json_t *now, const json_t *before, json_t *pct, json_t *pp)
{
    const char *key;
    json_t *v;
    json_object_foreach ((json_t *) now, key, v) {
        json_t *b = json_object_get (before, key);
        if (json_is_object (v)) {
            json_t *sub_pct = json_object (), *sub_pp = json_object ();
            change (v, b, sub_pct, sub_pp);
            if (json_object_size (sub_pct))
                json_object_set (pct, key, sub_pct);
            if (json_object_size (sub_pp))
                json_object_set (pp, key, sub_pp);
            json_decref (sub_pct);
            json_decref (sub_pp);
        } else if (json_is_integer (v)) {
            json_int_t was = json_integer_value (b);
            json_object_set_new (pct, key, json_is_integer (b) && was
                                 ? json_real ((double) (json_integer_value (v) - was) * 100.0 / (double) was)
                                 : json_null ());
        } else {   /* a rate or share, or null */
            json_object_set_new (pp, key, json_is_number (v) && json_is_number (b)
                                 ? json_real ((json_number_value (v) - json_number_value (b)) * 100.0)
                                 : json_null ());
        }
    }
}

static json_t *compare_json (const xf_period_t *p, const json_t *totals, const xf_figures_t *earlier,
                             bool partial)
{
    xf_period_t e;
    xf_period_year_earlier (p, &e);
    json_t *before = xf_figures_json (earlier), *pct = json_object (), *pp = json_object ();
    change (totals, before, pct, pp);
    return json_pack ("{s:s,s:o,s:o,s:o,s:b}", "period", e.label, "totals", before, "change_pct",
                      pct, "change_pp", pp, "partial", partial);
}

static const char *const SOURCES[] = {"", "live", "snapshot", "missing"};

static int source_parse (const char *s)
{
    for (int i = XF_SOURCE_LIVE; i <= XF_SOURCE_MISSING; i++)
        if (strcmp (s, SOURCES[i]) == 0)
            return i;
    return XF_SOURCE_LIVE;
}

static json_t *row_json (const xf_stats_row_t *r)
{
    json_t *j = json_pack ("{s:s,s:s,s:s,s:o,s:o}", "code", r->code, "name", r->name, "source",
                           SOURCES[r->source], "as_of", time_or_null (r->as_of), "totals",
                           r->has_figures ? xf_figures_json (&r->f) : json_null ());
    if (r->source == XF_SOURCE_SNAPSHOT) {
        json_t *months = json_array ();
        for (size_t i = 0; i < r->n_months; i++)
            json_array_append_new (months, month_label (r->months[i]));
        json_object_set_new (j, "snapshot_months", months);
        json_object_set_new (j, "partial", json_boolean (r->partial));
    }
    return j;
}

static json_t *report_json (const xf_office_t *o, const xf_period_t *p, bool consolidated,
                            const xf_stats_rows_t *rows, const xf_stats_months_t *months)
{
    xf_figures_t sum = {{0}}, earlier = {{0}};
    bool partial = false, earlier_partial = false;
    json_t *offices = json_array (), *missing = json_array (), *series = json_array ();
    for (size_t i = 0; i < rows->n; i++) {
        const xf_stats_row_t *r = &rows->v[i];
        json_array_append_new (offices, row_json (r));
        if (r->source == XF_SOURCE_MISSING)
            json_array_append_new (missing, json_string (r->code));
        if (r->has_figures)
            xf_figures_add (&sum, &r->f);
        if (r->has_earlier)
            xf_figures_add (&earlier, &r->earlier);
        partial |= r->source == XF_SOURCE_MISSING || r->partial;
        earlier_partial |= !r->has_earlier;
    }
    for (size_t i = 0; i < months->n; i++) {
        int32_t m = xf_month_add (months->first, (int) i);
        json_array_append_new (series, json_pack ("{s:o,s:o}", "month", month_label (m), "totals",
                                                  xf_figures_json (&months->f[i])));
    }
    json_t *totals = xf_figures_json (&sum);
    json_t *compare = compare_json (p, totals, &earlier, earlier_partial);
    return json_pack ("{s:s,s:s,s:s,s:b,s:b,s:o,s:o,s:o,s:o,s:o}", "office", o->code, "name",
                      name_of (o, o->code), "period", p->label, "consolidated", consolidated,
                      "partial", partial, "totals", totals, "offices", offices, "missing", missing,
                      "months", series, "compare", compare);
}

typedef struct {
    const xf_office_t *o;
    const xf_period_t *p;
    int64_t now;
    xf_stats_rows_t rows;
    xf_stats_months_t months;
} own_t;

static int own_txn (xf_txn_t *txn, void *arg, xf_err_t *err)
{
    own_t *a = arg;
    return own_row (txn, a->o, a->p, a->now, &a->rows, &a->months, err);
}

int xf_office_stats_report (xf_office_t *o, const xf_period_t *p, int64_t now, json_t **out,
                            xf_err_t *err)
{
    own_t a = {o, p, now, {0}, {0}};
    *out = NULL;
    int rc = months_init (&a.months, p, err);
    if (rc == XF_OK)
        rc = xf_store_read (o->store, own_txn, &a, err);
    if (rc == XF_OK && !(*out = report_json (o, p, false, &a.rows, &a.months)))
        rc = xf_err_set (err, XF_ENOMEM, "out of memory");
    xf_stats_rows_clear (&a.rows);
    free (a.months.f);
    return rc == XF_OK ? XF_OK : xf_err_prefix (err, "statistics");
}

/* ---------------------------------------------------------------- pulls */

static void pull_free (pull_t **p_p)
{
    pull_t *p = *p_p;
    if (!p)
        return;
    free (p->children);
    free (p->answered);
    xf_stats_rows_clear (&p->rows);
    free (p->months.f);
    free (p);
    *p_p = NULL;
}

void xf_office_pulls_free (xf_office_t *o)
{
    while (o->pulls) {
        pull_t *p = o->pulls;
        o->pulls = p->next;
        pull_free (&p);
    }
}

static void pull_unlink (xf_office_t *o, pull_t *p)
{
    for (pull_t **q = &o->pulls; *q; q = &(*q)->next)
        if (*q == p) {
            *q = p->next;
            return;
        }
}

static pull_t *pull_find (const xf_office_t *o, uint64_t id)
{
    for (pull_t *p = o->pulls; p; p = p->next)
        if (p->id == id)
            return p;
    return NULL;
}

static uint64_t next_id (xf_office_t *o)
{
    /* random start: a reply to a pull from before a restart matches nothing now */
    if (!o->next_pull && RAND_bytes ((unsigned char *) &o->next_pull, sizeof o->next_pull) != 1)
        o->next_pull = (uint64_t) time (NULL) << 20;
    o->next_pull = (o->next_pull + 1) & 0x7fffffffffffffffull;
    return o->next_pull ? o->next_pull : ++o->next_pull;
}

static pull_t *pull_new (xf_office_t *o, const xf_period_t *period, uint32_t budget_ms,
                         const char *asker, uint64_t their_id, xf_err_t *err)
{
    const char *kids[512];
    size_t n = o->net.routes ? xf_routes_children (o->net.routes, kids, 512) : 0;
    pull_t *p = calloc (1, sizeof *p);
    if (n > 512)
        n = 512;
    if (p && n) {
        p->children = calloc (n, sizeof *p->children);
        p->answered = calloc (n, sizeof *p->answered);
    }
    if (!p || (n && (!p->children || !p->answered))) {
        pull_free (&p);
        xf_err_set (err, XF_ENOMEM, "out of memory");
        return NULL;
    }
    if (months_init (&p->months, period, err) != XF_OK) {
        pull_free (&p);
        return NULL;
    }
    for (size_t i = 0; i < n; i++)
        snprintf (p->children[i], sizeof p->children[i], "%s", kids[i]);
    p->n_children = n;
    p->id = next_id (o);
    p->their_id = their_id;
    snprintf (p->asker, sizeof p->asker, "%s", asker ? asker : "");
    p->period = *period;
    p->deadline_ms = clock_ms (o) + (budget_ms > BUDGET_MAX_MS ? BUDGET_MAX_MS : budget_ms);
    p->next = o->pulls;
    o->pulls = p;
    return p;
}

static void period_msg (const xf_period_t *p, Xf__Period *m)
{
    xf__period__init (m);
    m->first = p->first;
    m->last = p->last;
    m->label = (char *) p->label;
}

static int send_requests (xf_txn_t *txn, xf_office_t *o, pull_t *p, int64_t now, xf_err_t *err)
{
    int64_t left = p->deadline_ms - clock_ms (o);
    Xf__Period period;
    Xf__StatsRequest req = XF__STATS_REQUEST__INIT;
    period_msg (&p->period, &period);
    req.request_id = p->id;
    req.period = &period;
    req.consolidated = true;
    req.budget_ms = (uint32_t) (left > 0 ? left * BUDGET_SHARE : 0);
    int rc = XF_OK;
    for (size_t i = 0; rc == XF_OK && i < p->n_children; i++)
        rc = xf_office_send (txn, o, p->children[i], now, XF__ENVELOPE__BODY_STATS_REQUEST, &req, 0,
                             err);
    return rc;
}

/* The children that did not answer: from their snapshots, or missing with all below them. */
static int fill_unanswered (xf_txn_t *txn, const xf_office_t *o, pull_t *p, xf_err_t *err)
{
    int rc = XF_OK;
    for (size_t i = 0; rc == XF_OK && i < p->n_children; i++) {
        const char *child = p->children[i];
        bool found = false;
        if (p->answered[i])
            continue;
        p->answered[i] = true;
        rc = xf_office_snapshot_fill (txn, child, &p->period, &p->rows, &p->months, &found, err);
        if (rc != XF_OK || found)
            continue;
        size_t n = 0;
        const char *const *codes = xf_routes_subtree (o->net.routes, &n, NULL);
        for (size_t k = 0; rc == XF_OK && k < n; k++) {
            if (!xf_routes_in_subtree (o->net.routes, child, codes[k]))
                continue;
            xf_stats_row_t *r = xf_stats_rows_add (&p->rows, codes[k], name_of (o, codes[k]));
            if (!r)
                rc = xf_err_set (err, XF_ENOMEM, "out of memory");
            else
                r->source = XF_SOURCE_MISSING;
        }
    }
    return rc;
}

static bool all_answered (const pull_t *p)
{
    for (size_t i = 0; i < p->n_children; i++)
        if (!p->answered[i])
            return false;
    return true;
}

/* ---------------------------------------------------------------- replies */

typedef struct {
    Xf__OfficeFigures *rows, **ptrs;
    xf_figures_msg_t *f, *earlier;
    Xf__MonthFigures *months, **month_ptrs;
    xf_figures_msg_t *month_f;
    char **missing;
} reply_bufs_t;

static void reply_bufs_free (reply_bufs_t *b)
{
    free (b->rows), free (b->ptrs), free (b->f), free (b->earlier);
    free (b->months), free (b->month_ptrs), free (b->month_f), free (b->missing);
}

static int send_reply (xf_txn_t *txn, xf_office_t *o, const pull_t *p, int64_t now, xf_err_t *err)
{
    size_t n = p->rows.n, nm = p->months.n, n_missing = 0;
    reply_bufs_t b = {calloc (n + 1, sizeof *b.rows), calloc (n + 1, sizeof *b.ptrs),
                      calloc (n + 1, sizeof *b.f), calloc (n + 1, sizeof *b.earlier),
                      calloc (nm + 1, sizeof *b.months), calloc (nm + 1, sizeof *b.month_ptrs),
                      calloc (nm + 1, sizeof *b.month_f), calloc (n + 1, sizeof *b.missing)};
    if (!b.rows || !b.ptrs || !b.f || !b.earlier || !b.months || !b.month_ptrs || !b.month_f
        || !b.missing) {
        reply_bufs_free (&b);
        return xf_err_set (err, XF_ENOMEM, "out of memory");
    }
    xf_figures_t sum = {{0}};
    for (size_t i = 0; i < n; i++) {
        const xf_stats_row_t *r = &p->rows.v[i];
        Xf__OfficeFigures *m = &b.rows[i];
        xf__office_figures__init (m);
        m->code = (char *) r->code;
        m->name = (char *) r->name;
        m->source = (char *) SOURCES[r->source];
        m->as_of = r->as_of;
        if (r->has_figures) {
            xf_figures_to_msg (&r->f, &b.f[i]);
            m->figures = &b.f[i].msg;
            xf_figures_add (&sum, &r->f);
        }
        if (r->has_earlier) {
            xf_figures_to_msg (&r->earlier, &b.earlier[i]);
            m->earlier = &b.earlier[i].msg;
        }
        m->months = r->months;
        m->n_months = r->n_months;
        m->partial = r->partial;
        b.ptrs[i] = m;
        if (r->source == XF_SOURCE_MISSING)
            b.missing[n_missing++] = (char *) r->code;
    }
    for (size_t i = 0; i < nm; i++) {
        xf__month_figures__init (&b.months[i]);
        b.months[i].month = xf_month_add (p->months.first, (int) i);
        xf_figures_to_msg (&p->months.f[i], &b.month_f[i]);
        b.months[i].figures = &b.month_f[i].msg;
        b.month_ptrs[i] = &b.months[i];
    }
    xf_figures_msg_t totals;
    xf_figures_to_msg (&sum, &totals);
    Xf__Period period;
    period_msg (&p->period, &period);
    Xf__StatsReply reply = XF__STATS_REPLY__INIT;
    reply.request_id = p->their_id;
    reply.period = &period;
    reply.totals = &totals.msg;
    reply.offices = b.ptrs;
    reply.n_offices = n;
    reply.missing = b.missing;
    reply.n_missing = n_missing;
    reply.months = b.month_ptrs;
    reply.n_months = nm;
    int rc = xf_office_send (txn, o, p->asker, now, XF__ENVELOPE__BODY_STATS_REPLY, &reply, 0, err);
    reply_bufs_free (&b);
    return rc;
}

/* Everything is in: a parent's pull is answered and forgotten, an operator's waits to be
 * fetched. */
static int finish (xf_txn_t *txn, xf_office_t *o, pull_t *p, int64_t now, size_t *sent,
                   xf_err_t *err)
{
    p->done = true;
    p->done_ms = clock_ms (o);
    if (!*p->asker)
        return XF_OK;
    int rc = send_reply (txn, o, p, now, err);
    if (rc == XF_OK && sent)
        (*sent)++;
    return rc;
}

static int add_reply_rows (const xf_office_t *o, pull_t *p, const char *from,
                           const Xf__StatsReply *r, xf_applied_t *out)
{
    for (size_t i = 0; i < r->n_offices; i++) {
        const char *code = r->offices[i]->code;
        if (!xf_routes_in_subtree (o->net.routes, from, code))
            return xf_office_refuse (out, "statistics from %s name office %s, which is not below it",
                                     from, code);
        for (size_t k = 0; k < i; k++)   /* an office twice would be counted twice */
            if (strcmp (r->offices[k]->code, code) == 0)
                return xf_office_refuse (out, "statistics from %s name office %s twice", from, code);
    }
    for (size_t i = 0; i < r->n_offices; i++) {
        const Xf__OfficeFigures *m = r->offices[i];
        xf_stats_row_t *row = xf_stats_rows_add (&p->rows, m->code, m->name);
        if (!row)
            return XF_ENOMEM;
        row->source = source_parse (m->source);
        row->as_of = m->as_of;
        row->has_figures = m->figures != NULL && row->source != XF_SOURCE_MISSING;
        row->has_earlier = m->earlier != NULL && row->has_figures;
        xf_figures_from_msg (m->figures, &row->f);
        xf_figures_from_msg (m->earlier, &row->earlier);
        row->partial = m->partial;
        if (m->n_months && (row->months = malloc (m->n_months * sizeof *row->months))) {
            memcpy (row->months, m->months, m->n_months * sizeof *row->months);
            row->n_months = m->n_months;
        }
    }
    for (size_t i = 0; i < r->n_months; i++) {
        xf_figures_t f;
        xf_figures_from_msg (r->months[i]->figures, &f);
        xf_stats_months_add (&p->months, r->months[i]->month, &f);
    }
    return XF_OK;
}

int xf_office_receive_stats_reply (xf_txn_t *txn, xf_office_t *o, const Xf__Envelope *env,
                                   int64_t now, xf_applied_t *out, xf_err_t *err)
{
    const Xf__StatsReply *r = env->stats_reply;
    pull_t *p = pull_find (o, r->request_id);
    size_t i = 0;
    while (p && i < p->n_children && strcmp (p->children[i], env->from) != 0)
        i++;
    if (!p || p->done || p->answered[i]) {
        /* late (the time was up and it was filled in) or from before a restart */
        snprintf (out->reason, sizeof out->reason, "statistics from %s arrived after the report "
                  "was made without them (request %llu)", env->from,
                  (unsigned long long) r->request_id);
        out->noted = true;
        return XF_OK;
    }
    if (i == p->n_children)
        return xf_office_refuse (out, "statistics from %s answer a request office %s did not "
                                 "send it", env->from, o->code);
    int rc = add_reply_rows (o, p, env->from, r, out);
    if (rc == XF_ENOMEM)
        return xf_err_set (err, XF_ENOMEM, "out of memory");
    if (out->refused)
        return XF_OK;
    p->answered[i] = true;
    return all_answered (p) ? finish (txn, o, p, now, NULL, err) : XF_OK;
}

int xf_office_receive_stats_request (xf_txn_t *txn, xf_office_t *o, const Xf__Envelope *env,
                                     int64_t now, xf_applied_t *out, xf_err_t *err)
{
    const Xf__StatsRequest *req = env->stats_request;
    const char *parent = o->net.routes ? xf_routes_parent (o->net.routes) : NULL;
    if (!parent || strcmp (parent, env->from) != 0)
        return xf_office_refuse (out, "a statistics request from %s, which is not the office "
                                 "above %s: only the parent asks", env->from, o->code);
    xf_period_t period = {req->period->first, req->period->last, ""};
    snprintf (period.label, sizeof period.label, "%s", req->period->label);
    /* The same request again means the batch that applied it before was rolled back, and the
     * requests it sent with it: start over rather than wait for answers never asked for. */
    for (pull_t *q = o->pulls; q; q = q->next)
        if (q->their_id == req->request_id && strcmp (q->asker, env->from) == 0) {
            pull_unlink (o, q);
            pull_free (&q);
            break;
        }
    pull_t *p = pull_new (o, &period, req->budget_ms, env->from, req->request_id, err);
    if (!p)
        return err->code ? err->code : XF_ENOMEM;
    if (!req->consolidated)
        p->n_children = 0;
    int rc = own_row (txn, o, &p->period, now, &p->rows, &p->months, err);
    if (rc == XF_OK)
        rc = p->n_children ? send_requests (txn, o, p, now, err) : finish (txn, o, p, now, NULL, err);
    if (rc != XF_OK || p->done) {
        pull_unlink (o, p);
        pull_free (&p);
    }
    return rc;
}

/* ---------------------------------------------------------------- the operator's pull */

typedef struct {
    xf_office_t *o;
    pull_t *p;
    int64_t now;
    size_t sent;
} start_t;

static int start_txn (xf_txn_t *txn, void *arg, xf_err_t *err)
{
    start_t *s = arg;
    int rc = own_row (txn, s->o, &s->p->period, s->now, &s->p->rows, &s->p->months, err);
    if (rc == XF_OK)
        rc = s->p->n_children ? send_requests (txn, s->o, s->p, s->now, err)
                              : finish (txn, s->o, s->p, s->now, NULL, err);
    return rc;
}

int xf_office_pull (xf_office_t *o, const xf_period_t *period, int64_t now, uint32_t budget_ms,
                    uint64_t *id, xf_err_t *err)
{
    pull_t *p = pull_new (o, period, budget_ms, NULL, 0, err);
    if (!p)
        return xf_err_prefix (err, "consolidated statistics");
    start_t s = {o, p, now, 0};
    int rc = xf_store_write (o->store, start_txn, &s, err);
    if (rc != XF_OK) {
        pull_unlink (o, p);
        pull_free (&p);
        return xf_err_prefix (err, "consolidated statistics");
    }
    *id = p->id;
    return XF_OK;
}

typedef struct {
    xf_office_t *o;
    int64_t now, now_ms;
    size_t sent;
    pull_t *only;   /* NULL: every pull whose time is up */
} tick_t;

static int tick_txn (xf_txn_t *txn, void *arg, xf_err_t *err)
{
    tick_t *t = arg;
    int rc = XF_OK;
    for (pull_t *p = t->o->pulls; rc == XF_OK && p; p = p->next) {
        if (p->done || (t->only && p != t->only) || t->now_ms < p->deadline_ms)
            continue;
        if ((rc = fill_unanswered (txn, t->o, p, err)) == XF_OK)
            rc = finish (txn, t->o, p, t->now, &t->sent, err);
    }
    return rc;
}

/* Forgets answered parents' pulls and local ones nobody fetched. */
static void sweep (xf_office_t *o, int64_t now_ms)
{
    for (pull_t **q = &o->pulls; *q;) {
        pull_t *p = *q;
        if (p->done && (*p->asker || now_ms - p->done_ms > DONE_KEEP_MS)) {
            *q = p->next;
            pull_free (&p);
        } else
            q = &p->next;
    }
}

int xf_office_pulls_tick (xf_office_t *o, int64_t now, size_t *sent, xf_err_t *err)
{
    tick_t t = {o, now, clock_ms (o), 0, NULL};
    bool due = false;
    for (pull_t *p = o->pulls; p && !due; p = p->next)
        due = !p->done && t.now_ms >= p->deadline_ms;
    int rc = due ? xf_store_write (o->store, tick_txn, &t, err) : XF_OK;
    if (rc == XF_OK)
        sweep (o, t.now_ms);
    if (sent)
        *sent = rc == XF_OK ? t.sent : 0;
    return rc == XF_OK ? XF_OK : xf_err_prefix (err, "consolidated statistics");
}

void xf_office_pull_progress (xf_office_t *o, uint64_t id, size_t *answered, size_t *expected)
{
    pull_t *p = pull_find (o, id);
    *answered = *expected = 0;
    for (size_t i = 0; p && i < p->n_children; i++)
        *answered += p->answered[i];
    if (p)
        *expected = p->n_children;
}

int xf_office_pull_report (xf_office_t *o, uint64_t id, int64_t now, json_t **out,
                           int64_t *wait_ms, xf_err_t *err)
{
    pull_t *p = pull_find (o, id);
    *out = NULL;
    *wait_ms = 0;
    if (!p || *p->asker)
        return xf_err_set (err, XF_ENOTFOUND, "no consolidated statistics %llu are being gathered "
                           "here (a restart forgets them): ask again", (unsigned long long) id);
    int64_t now_ms = clock_ms (o);
    if (!p->done && now_ms >= p->deadline_ms) {
        tick_t t = {o, now, now_ms, 0, p};
        if (xf_store_read (o->store, tick_txn, &t, err) != XF_OK)
            return xf_err_prefix (err, "consolidated statistics");
    }
    if (!p->done) {
        *wait_ms = p->deadline_ms - now_ms;
        return XF_OK;
    }
    *out = report_json (o, &p->period, true, &p->rows, &p->months);
    pull_unlink (o, p);
    pull_free (&p);
    return *out ? XF_OK : xf_err_set (err, XF_ENOMEM, "out of memory");
}
