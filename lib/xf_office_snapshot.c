/* xf_office_snapshot.c — monthly snapshots (月统计): after a month closes each office sends its
 * parent its own figures of the month and those of every office below it, as the snapshots
 * of its children give them; the parent stores them (XF_DB_SNAPSHOTS) to fill in for a child
 * that does not answer a consolidated pull in time.
 *
 * A snapshot is sent again whenever it would differ from the last one sent of that month — a
 * child's snapshot arriving late, a case registered with a past date — so the chain up to the
 * province settles on the same figures. It travels in the outbox like everything else: kept
 * until acknowledged, across restarts. */
#include <stdlib.h>
#include <string.h>
#include "xf_msg.h"
#include "xf_office_int.h"

#define SNAP_KEY_MAX (XF_OFFICE_CODE_LEN + 5)
#define WINDOW 3            /* closed months looked at on every tick */
#define DIRTY_MAX 64        /* months re-sent after a child's snapshot, at most */
#define OFFICES_MAX 4096    /* rows of one snapshot */

/* child's stored snapshot of month (NULL when none; caller frees). */
static int load (xf_txn_t *txn, const char *child, int32_t month, Xf__StatsSnapshot **out,
                 xf_err_t *err)
{
    uint8_t key[SNAP_KEY_MAX];
    const void *v = NULL;
    size_t len = 0;
    *out = NULL;
    int rc = xf_txn_get (txn, XF_DB_SNAPSHOTS, key, xf_office_month_key (key, child, month), &v, &len, err);
    if (rc == XF_ENOTFOUND)
        return XF_OK;
    if (rc != XF_OK)
        return rc;
    if (!(*out = xf__stats_snapshot__unpack (NULL, len, v)))
        return xf_err_set (err, XF_ESTORE, "the stored snapshot of %s for %d does not decode",
                           child, (int) month);
    return XF_OK;
}

/* ---------------------------------------------------------------- filling a report */

static xf_stats_row_t *row_for (xf_stats_rows_t *rows, size_t from, const Xf__OfficeFigures *m)
{
    for (size_t i = from; i < rows->n; i++)
        if (strcmp (rows->v[i].code, m->code) == 0)
            return &rows->v[i];
    xf_stats_row_t *r = xf_stats_rows_add (rows, m->code, m->name);
    if (r)
        r->source = XF_SOURCE_MISSING;
    return r;
}

static int add_month (xf_stats_row_t *r, int32_t month)
{
    int32_t *v = realloc (r->months, (r->n_months + 1) * sizeof *v);
    if (!v)
        return XF_ENOMEM;
    v[r->n_months++] = month;
    r->months = v;
    return XF_OK;
}

static int take_snapshot (xf_stats_rows_t *rows, size_t from, const Xf__StatsSnapshot *s,
                          bool earlier, xf_err_t *err)
{
    for (size_t i = 0; i < s->n_offices; i++) {
        const Xf__OfficeFigures *m = s->offices[i];
        xf_stats_row_t *r = row_for (rows, from, m);
        if (!r)
            return xf_err_set (err, XF_ENOMEM, "out of memory");
        if (!m->figures || strcmp (m->source, "missing") == 0)
            continue;
        xf_figures_t f;
        xf_figures_from_msg (m->figures, &f);
        if (earlier) {
            xf_figures_add (&r->earlier, &f);
            continue;
        }
        xf_figures_add (&r->f, &f);
        r->has_figures = true;
        r->source = XF_SOURCE_SNAPSHOT;
        if (s->as_of > r->as_of)
            r->as_of = s->as_of;
        if (add_month (r, s->month) != XF_OK)
            return xf_err_set (err, XF_ENOMEM, "out of memory");
    }
    return XF_OK;
}

int xf_office_snapshot_fill (xf_txn_t *txn, const char *child, const xf_period_t *p,
                             xf_stats_rows_t *rows, xf_stats_months_t *months, bool *found,
                             xf_err_t *err)
{
    size_t from = rows->n, covered = 0, earlier_covered = 0, n = 0;
    int rc = XF_OK;
    *found = false;
    if (!xf_period_whole_months (p))
        return XF_OK;
    int32_t last = xf_month_of_day (p->last);
    for (int32_t m = xf_month_of_day (p->first); rc == XF_OK; m = xf_month_add (m, 1)) {
        Xf__StatsSnapshot *s = NULL, *e = NULL;
        n++;
        if ((rc = load (txn, child, m, &s, err)) == XF_OK && s) {
            covered++;
            if ((rc = take_snapshot (rows, from, s, false, err)) == XF_OK && s->subtree) {
                xf_figures_t f;
                xf_figures_from_msg (s->subtree, &f);
                xf_stats_months_add (months, m, &f);
            }
        }
        if (rc == XF_OK && (rc = load (txn, child, xf_month_add (m, -12), &e, err)) == XF_OK && e) {
            earlier_covered++;
            rc = take_snapshot (rows, from, e, true, err);
        }
        if (s)
            xf__stats_snapshot__free_unpacked (s, NULL);
        if (e)
            xf__stats_snapshot__free_unpacked (e, NULL);
        if (m == last)
            break;
    }
    if (rc != XF_OK || covered == 0) {
        for (size_t i = from; i < rows->n; i++)
            free (rows->v[i].months);
        rows->n = from;   /* nothing of it: the caller names the child missing */
        return rc;
    }
    for (size_t i = from; i < rows->n; i++) {
        rows->v[i].partial = covered < n;
        rows->v[i].has_earlier = rows->v[i].has_figures && earlier_covered == n;
    }
    *found = true;
    return XF_OK;
}

/* ---------------------------------------------------------------- a child's snapshot arrives */

static int dirty_add (xf_txn_t *txn, int32_t month, xf_err_t *err)
{
    const void *v = NULL;
    size_t len = 0;
    uint8_t buf[DIRTY_MAX * 4];
    int rc = xf_txn_get (txn, XF_DB_META, "snap/dirty", 10, &v, &len, err);
    if (rc == XF_ENOTFOUND)
        len = 0;
    else if (rc != XF_OK)
        return rc;
    if (len > sizeof buf)
        len = sizeof buf;
    if (len)
        memcpy (buf, v, len);
    for (size_t i = 0; i + 4 <= len; i += 4)
        if ((int32_t) xf_be32_get (buf + i) == month)
            return XF_OK;
    if (len + 4 > sizeof buf)
        return XF_OK;   /* a burst of old months: the window still covers the recent ones */
    xf_be32_put (buf + len, (uint32_t) month);
    return xf_txn_put (txn, XF_DB_META, "snap/dirty", 10, buf, len + 4, err);
}

int xf_office_receive_snapshot (xf_txn_t *txn, xf_office_t *o, const Xf__Envelope *env,
                                xf_applied_t *out, xf_err_t *err)
{
    const Xf__StatsSnapshot *s = env->stats_snapshot;
    const char *hop = NULL;
    if (!o->net.routes || xf_routes_lookup (o->net.routes, env->from, &hop) != XF_ROUTE_CHILD
        || strcmp (hop, env->from) != 0)
        return xf_office_refuse (out, "a statistics snapshot from %s, which is not a child of "
                                 "office %s", env->from, o->code);
    if (strcmp (s->office, env->from) != 0)
        return xf_office_refuse (out, "a statistics snapshot sent by %s claims to be of office %s",
                                 env->from, s->office);
    for (size_t i = 0; i < s->n_offices; i++) {
        const char *code = s->offices[i]->code;
        if (!xf_routes_in_subtree (o->net.routes, env->from, code))
            return xf_office_refuse (out, "a statistics snapshot from %s names office %s, which "
                                     "is not below it", env->from, code);
        for (size_t k = 0; k < i; k++)   /* an office twice would be counted twice */
            if (strcmp (s->offices[k]->code, code) == 0)
                return xf_office_refuse (out, "a statistics snapshot from %s names office %s "
                                         "twice", env->from, code);
    }
    size_t len = xf__stats_snapshot__get_packed_size (s);
    uint8_t *buf = malloc (len ? len : 1), key[SNAP_KEY_MAX];
    if (!buf)
        return xf_err_set (err, XF_ENOMEM, "out of memory");
    xf__stats_snapshot__pack (s, buf);
    int rc = xf_txn_put (txn, XF_DB_SNAPSHOTS, key, xf_office_month_key (key, env->from, s->month), buf, len, err);
    free (buf);
    if (rc == XF_OK && xf_routes_parent (o->net.routes)) {
        rc = dirty_add (txn, s->month, err);
        o->snapshots_due = true;
    }
    return rc;
}

bool xf_office_snapshots_due (const xf_office_t *o)
{
    return o->snapshots_due;
}

/* ---------------------------------------------------------------- sending ours */

typedef struct {
    Xf__StatsSnapshot msg;
    Xf__OfficeFigures own_row, **rows, *missing;
    xf_figures_msg_t own, subtree;
    Xf__StatsSnapshot **children;
    size_t n_children;
} snap_t;

static void snap_free (snap_t *s)
{
    for (size_t i = 0; i < s->n_children; i++)
        if (s->children[i])
            xf__stats_snapshot__free_unpacked (s->children[i], NULL);
    free (s->children);
    free (s->rows);
    free (s->missing);
}

/* This office's snapshot of month: its own row, then its children's rows as their own
 * snapshots give them (a child without one is a missing row). */
static int build (xf_txn_t *txn, const xf_office_t *o, int32_t month, snap_t *s, xf_err_t *err)
{
    const char *kids[512];
    size_t nk = xf_routes_children (o->net.routes, kids, 512), nrows = 1;
    xf_figures_t own, sum;
    memset (s, 0, sizeof *s);
    if (nk > 512)
        nk = 512;
    s->children = calloc (nk + 1, sizeof *s->children);
    s->missing = calloc (nk + 1, sizeof *s->missing);
    if (!s->children || !s->missing)
        return xf_err_set (err, XF_ENOMEM, "out of memory");
    s->n_children = nk;
    xf_day_t first = xf_month_first (month), last = xf_month_first (xf_month_add (month, 1)) - 1;
    int rc = xf_stats_read (txn, first, last, &own, NULL, err);
    sum = own;
    for (size_t i = 0; rc == XF_OK && i < nk; i++) {
        rc = load (txn, kids[i], month, &s->children[i], err);
        nrows += s->children[i] ? s->children[i]->n_offices : 1;
    }
    if (rc != XF_OK)
        return rc;
    if (nrows > OFFICES_MAX)
        return xf_err_set (err, XF_ESTATE, "the snapshot of %d would name %zu offices (at most %d)",
                           (int) month, nrows, OFFICES_MAX);
    if (!(s->rows = calloc (nrows, sizeof *s->rows)))
        return xf_err_set (err, XF_ENOMEM, "out of memory");
    const char *name = xf_routes_name (o->net.routes, o->code);
    xf_figures_to_msg (&own, &s->own);
    xf__office_figures__init (&s->own_row);
    s->own_row.code = (char *) o->code;
    s->own_row.name = (char *) (name ? name : "");
    s->own_row.source = (char *) "live";
    s->own_row.figures = &s->own.msg;
    size_t n = 0;
    s->rows[n++] = &s->own_row;
    for (size_t i = 0; i < nk; i++) {
        const Xf__StatsSnapshot *c = s->children[i];
        if (!c) {
            const char *kname = xf_routes_name (o->net.routes, kids[i]);
            xf__office_figures__init (&s->missing[i]);
            s->missing[i].code = (char *) kids[i];
            s->missing[i].name = (char *) (kname ? kname : "");
            s->missing[i].source = (char *) "missing";
            s->rows[n++] = &s->missing[i];
            continue;
        }
        for (size_t k = 0; k < c->n_offices; k++) {
            xf_figures_t f;
            s->rows[n++] = c->offices[k];
            if (c->offices[k]->figures && strcmp (c->offices[k]->source, "missing") != 0) {
                xf_figures_from_msg (c->offices[k]->figures, &f);
                xf_figures_add (&sum, &f);
            }
        }
    }
    xf_figures_to_msg (&sum, &s->subtree);
    xf__stats_snapshot__init (&s->msg);
    s->msg.office = (char *) o->code;
    s->msg.month = month;
    s->msg.own = &s->own.msg;
    s->msg.subtree = &s->subtree.msg;
    s->msg.offices = s->rows;
    s->msg.n_offices = n;
    return XF_OK;
}

/* Sends the snapshot of month when it differs from the one last sent (kept in meta). */
static int send_month (xf_txn_t *txn, xf_office_t *o, int32_t month, int64_t now, size_t *sent,
                       xf_err_t *err)
{
    snap_t s;
    char name[32];
    int rc = build (txn, o, month, &s, err);
    size_t len = rc == XF_OK ? xf__stats_snapshot__get_packed_size (&s.msg) : 0;
    uint8_t *buf = rc == XF_OK ? malloc (len ? len : 1) : NULL;
    if (rc == XF_OK && !buf)
        rc = xf_err_set (err, XF_ENOMEM, "out of memory");
    if (rc == XF_OK) {
        const void *v = NULL;
        size_t vlen = 0;
        xf__stats_snapshot__pack (&s.msg, buf);   /* as_of 0: compared without it */
        snprintf (name, sizeof name, "snap/sent/%d", (int) month);
        rc = xf_txn_get (txn, XF_DB_META, name, strlen (name), &v, &vlen, err);
        if (rc == XF_OK && vlen == len && memcmp (v, buf, len) == 0) {
            free (buf);
            snap_free (&s);
            return XF_OK;
        }
        if (rc == XF_ENOTFOUND)
            rc = XF_OK;
    }
    if (rc == XF_OK)
        rc = xf_txn_put (txn, XF_DB_META, name, strlen (name), buf, len, err);
    if (rc == XF_OK) {
        s.msg.as_of = now;
        rc = xf_office_send (txn, o, xf_routes_parent (o->net.routes), now,
                             XF__ENVELOPE__BODY_STATS_SNAPSHOT, &s.msg, 0, err);
    }
    if (rc == XF_OK)
        (*sent)++;
    free (buf);
    snap_free (&s);
    return rc;
}

typedef struct {
    xf_office_t *o;
    int64_t now;
    size_t sent;
} tick_t;

static int tick_txn (xf_txn_t *txn, void *arg, xf_err_t *err)
{
    tick_t *t = arg;
    int32_t months[WINDOW + DIRTY_MAX];
    size_t n = 0;
    int32_t current = xf_month_of_day (xf_day_of_time (t->now)), closed = xf_month_add (current, -1);
    uint64_t since = 0;
    /* months before this office first looked are not its to report: it did not exist */
    int rc = xf_txn_meta_u64 (txn, "snap/since", &since, err);
    if (rc == XF_OK && !since)
        rc = xf_txn_meta_set_u64 (txn, "snap/since", since = (uint64_t) current, err);
    for (int k = WINDOW - 1; rc == XF_OK && k >= 0; k--)
        if (xf_month_add (closed, -k) >= (int32_t) since)
            months[n++] = xf_month_add (closed, -k);
    const void *v = NULL;
    size_t len = 0;
    if (rc == XF_OK)
        rc = xf_txn_get (txn, XF_DB_META, "snap/dirty", 10, &v, &len, err);
    if (rc == XF_OK) {
        for (size_t i = 0; i + 4 <= len && n < WINDOW + DIRTY_MAX; i += 4) {
            int32_t m = (int32_t) xf_be32_get ((const uint8_t *) v + i);
            if (m <= closed && m < xf_month_add (closed, 1 - WINDOW))   /* the window has the others */
                months[n++] = m;
        }
        rc = xf_txn_del (txn, XF_DB_META, "snap/dirty", 10, err);
    }
    if (rc == XF_ENOTFOUND)
        rc = XF_OK;
    for (size_t i = 0; rc == XF_OK && i < n; i++)
        rc = send_month (txn, t->o, months[i], t->now, &t->sent, err);
    return rc;
}

int xf_office_snapshot_tick (xf_office_t *o, int64_t now, size_t *sent, xf_err_t *err)
{
    tick_t t = {o, now, 0};
    int rc = XF_OK;
    o->snapshots_due = false;
    if (o->net.routes && xf_routes_parent (o->net.routes))
        rc = xf_store_write (o->store, tick_txn, &t, err);
    if (sent)
        *sent = rc == XF_OK ? t.sent : 0;
    return rc == XF_OK ? XF_OK : xf_err_prefix (err, "monthly snapshot");
}

static int count_txn (xf_txn_t *txn, void *arg, xf_err_t *err)
{
    return xf_txn_count (txn, XF_DB_SNAPSHOTS, arg, err);
}

int xf_office_snapshot_count (xf_office_t *o, size_t *n, xf_err_t *err)
{
    *n = 0;
    return xf_store_read (o->store, count_txn, n, err);
}
