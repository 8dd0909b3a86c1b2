/* xf_office_reconcile.c — 对账: offices that share cases compare what they hold and repair
 * the difference.
 *
 * Now and then each office sends every office it shares cases with a ReconcileDigest: per
 * month of registration, the count and hash of the shared cases (xf_office_share.c). The
 * receiver compares it with its own; where months differ it answers with a ReconcileList of
 * its versions of those months' cases. The digest's sender then re-sends each case the other
 * lacks or holds older (CaseCopy: the record and the whole history) and asks, with a
 * ReconcileWant, for each case it lacks or holds older itself. A copy replaces the receiver's
 * record only when newer, so a repair never undoes anything.
 *
 * Envelopes between two offices keep their order, so the comparison at the digest's receiver
 * sees everything the sender sent before it. A digest is sent, and compared, only while
 * nothing waits on the link toward the other office: envelopes still on their way would
 * show as differences that are not there. What each comparison found is kept per office in
 * meta "rc/<code>" for `xfctl status`. */
#include "xf_office.h"
#include "xf_office_int.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "xf_msg.h"
#include "xf_outbox.h"
#include "xf_wire.h"

#define STATE_KEY_MAX (3 + XF_OFFICE_CODE_LEN)
#define LIST_MAX 50000   /* cases in one list (~1.5 MB); more months wait for the next round */

/* ---------------------------------------------------------------- per-office state */

typedef struct {
    int64_t digest_sent, checked, last_repair;
    bool agreed;
    uint64_t mismatches, sent, received;
    int32_t differing[12];
    size_t n_differing;
} rc_state_t;

static size_t state_key (char key[STATE_KEY_MAX], const char *code)
{
    return (size_t) snprintf (key, STATE_KEY_MAX, "rc/%s", code);
}

/* Stored as JSON: a handful per office, read only by `status`. */
static int state_load (xf_txn_t *txn, const char *code, rc_state_t *s, xf_err_t *err)
{
    char key[STATE_KEY_MAX];
    const void *v = NULL;
    size_t len = 0;
    memset (s, 0, sizeof *s);
    int rc = xf_txn_get (txn, XF_DB_META, key, state_key (key, code), &v, &len, err);
    if (rc == XF_ENOTFOUND)
        return XF_OK;
    if (rc != XF_OK)
        return rc;
    json_t *j = json_loadb (v, len, 0, NULL), *months = NULL;
    if (!j)
        return XF_OK;   /* unreadable bookkeeping starts over; it holds no case */
    int agreed = 0;
    json_int_t sent_at = 0, checked = 0, repair = 0, mism = 0, sent = 0, recv = 0;
    json_unpack (j, "{s?I,s?I,s?I,s?b,s?I,s?I,s?I,s?o}", "digest_sent", &sent_at, "checked",
                 &checked, "last_repair", &repair, "agreed", &agreed, "mismatches", &mism, "sent",
                 &sent, "received", &recv, "differing", &months);
    *s = (rc_state_t) {sent_at, checked, repair, agreed, (uint64_t) mism, (uint64_t) sent,
                       (uint64_t) recv, {0}, 0};
    for (size_t i = 0; i < json_array_size (months) && s->n_differing < 12; i++)
        s->differing[s->n_differing++] = (int32_t) json_integer_value (json_array_get (months, i));
    json_decref (j);
    return XF_OK;
}

static int state_save (xf_txn_t *txn, const char *code, const rc_state_t *s, xf_err_t *err)
{
    char key[STATE_KEY_MAX];
    json_t *months = json_array ();
    for (size_t i = 0; i < s->n_differing; i++)
        json_array_append_new (months, json_integer (s->differing[i]));
    json_t *j = json_pack ("{s:I,s:I,s:I,s:b,s:I,s:I,s:I,s:o}", "digest_sent",
                           (json_int_t) s->digest_sent, "checked", (json_int_t) s->checked,
                           "last_repair", (json_int_t) s->last_repair, "agreed", s->agreed,
                           "mismatches", (json_int_t) s->mismatches, "sent", (json_int_t) s->sent,
                           "received", (json_int_t) s->received, "differing", months);
    char *text = j ? json_dumps (j, JSON_COMPACT) : NULL;
    json_decref (j);
    if (!text)
        return xf_err_set (err, XF_ENOMEM, "out of memory");
    int rc = xf_txn_put (txn, XF_DB_META, key, state_key (key, code), text, strlen (text), err);
    free (text);
    return rc;
}

/* Records a comparison with code: agreed, or the months that differed. */
static void state_checked (rc_state_t *s, int64_t now, const int32_t *months, size_t n)
{
    s->checked = now;
    s->agreed = n == 0;
    s->mismatches += n != 0;
    s->n_differing = 0;
    for (size_t i = 0; i < n && s->n_differing < 12; i++)
        s->differing[s->n_differing++] = months[i];
}

/* ---------------------------------------------------------------- helpers */

static void note (xf_applied_t *out, const char *fmt, ...) __attribute__ ((format (printf, 2, 3)));
static void note (xf_applied_t *out, const char *fmt, ...)
{
    va_list ap;
    va_start (ap, fmt);
    vsnprintf (out->reason, sizeof out->reason, fmt, ap);
    va_end (ap);
    out->noted = true;
}

static bool holds (const xf_case_t *c, const char *code)
{
    if (strcmp (c->origin, code) == 0 || strcmp (c->owner, code) == 0)
        return true;
    for (size_t i = 0; i < c->n_watchers; i++)
        if (strcmp (c->watchers[i], code) == 0)
            return true;
    return false;
}

/* Whether an envelope waiting in the outbox is only part of reconciliation itself. */
static bool only_talk (const void *bytes, size_t len)
{
    /* the body's field, found without decoding it: a relay's outbox holds other offices'
     * envelopes, whose bodies only the office they are addressed to decodes (and checks) */
    static const uint32_t talk[] = {XF__ENVELOPE__BODY_RECONCILE_DIGEST,
                                    XF__ENVELOPE__BODY_RECONCILE_LIST,
                                    XF__ENVELOPE__BODY_RECONCILE_WANT};
    const uint8_t *env = NULL, *body = NULL;
    size_t elen = 0, blen = 0;
    if (!xf_wire_field (bytes, len, 1, &env, &elen))   /* SignedEnvelope.envelope */
        return false;
    for (size_t i = 0; i < sizeof talk / sizeof talk[0]; i++)
        if (xf_wire_field (env, elen, talk[i], &body, &blen))
            return true;
    return false;
}

#define QUIET_LOOK 16   /* waiting envelopes looked into; more is simply busy */

/* Nothing that changes a case waits on the link toward `to` (which can be reached at all):
 * digests and lists crossing each other do not count. */
static int link_quiet (xf_txn_t *txn, const xf_office_t *o, const char *to, bool *quiet,
                       xf_err_t *err)
{
    const char *hop;
    xf_link_pos_t pos;
    xf_route_t r = o->net.routes ? xf_routes_lookup (o->net.routes, to, &hop) : XF_ROUTE_UNKNOWN;
    *quiet = false;
    if (r != XF_ROUTE_PARENT && r != XF_ROUTE_CHILD)
        return XF_OK;
    int rc = xf_outbox_positions (txn, hop, &pos, err);
    if (rc != XF_OK || pos.next_seq - 1 - pos.acked > QUIET_LOOK)
        return rc;
    *quiet = true;
    for (uint64_t seq = pos.acked + 1; rc == XF_OK && *quiet && seq < pos.next_seq; seq++) {
        const void *v = NULL;
        size_t len = 0;
        rc = xf_outbox_get (txn, hop, seq, &v, &len, err);
        *quiet = rc == XF_OK && only_talk (v, len);
    }
    return rc == XF_ENOTFOUND ? XF_OK : rc;
}

static int cmp_month (const void *a, const void *b)
{
    int32_t x = ((const xf_share_month_t *) a)->month, y = ((const xf_share_month_t *) b)->month;
    return (x > y) - (x < y);
}

static int cmp_case (const void *a, const void *b)
{
    return strcmp (((const xf_share_case_t *) a)->id, ((const xf_share_case_t *) b)->id);
}

/* Sends `to` this office's record of case id and its whole history. */
static int send_case_copy (xf_txn_t *txn, xf_office_t *o, const char *to, const char *id,
                           int64_t now, size_t *sent, xf_err_t *err)
{
    xf_case_t *c = NULL;
    int rc = xf_office_load_case (txn, id, &c, err);
    if (rc == XF_ENOTFOUND) {
        *err = (xf_err_t) {0, ""};
        return XF_OK;
    }
    if (rc != XF_OK)
        return rc;
    Xf__CaseEvent history = XF__CASE_EVENT__INIT;
    Xf__CaseCopy copy = XF__CASE_COPY__INIT;
    if (holds (c, to) && (rc = xf_office_attach_history (txn, c, &history, err)) == XF_OK) {
        copy.record = c;
        copy.events = history.earlier;
        copy.n_events = history.n_earlier;
        rc = xf_office_send (txn, o, to, now, XF__ENVELOPE__BODY_CASE_COPY, &copy, 0, err);
        *sent += rc == XF_OK;
    }
    xf_office_free_history (&history);
    xf_case_destroy (&c);
    return rc;
}

/* ---------------------------------------------------------------- sending digests */

typedef struct {
    xf_office_t *o;
    int64_t now;
    size_t sent;
} send_t;

static int send_digest (xf_txn_t *txn, send_t *s, const char *to, uint64_t round, xf_err_t *err)
{
    xf_share_month_t *months = NULL;
    size_t n = 0;
    rc_state_t st;
    int rc = xf_office_share_digest (txn, to, &months, &n, err);
    Xf__ShareDigest *rows = rc == XF_OK ? calloc (n ? n : 1, sizeof *rows) : NULL;
    Xf__ShareDigest **ptrs = rc == XF_OK ? calloc (n ? n : 1, sizeof *ptrs) : NULL;
    if (rc == XF_OK && (!rows || !ptrs))
        rc = xf_err_set (err, XF_ENOMEM, "out of memory");
    for (size_t i = 0; rc == XF_OK && i < n; i++) {
        xf__share_digest__init (&rows[i]);
        rows[i].month = months[i].month;
        rows[i].count = months[i].count;
        rows[i].hash = (ProtobufCBinaryData) {XF_SHARE_HASH_LEN, months[i].hash};
        ptrs[i] = &rows[i];
    }
    Xf__ReconcileDigest d = XF__RECONCILE_DIGEST__INIT;
    d.months = ptrs;
    d.n_months = n;
    d.round = round;
    if (rc == XF_OK)
        rc = xf_office_send (txn, s->o, to, s->now, XF__ENVELOPE__BODY_RECONCILE_DIGEST, &d, 0, err);
    if (rc == XF_OK && (rc = state_load (txn, to, &st, err)) == XF_OK) {
        st.digest_sent = s->now;
        rc = state_save (txn, to, &st, err);
    }
    s->sent += rc == XF_OK;
    free (ptrs);
    free (rows);
    free (months);
    return rc;
}

static int send_txn (xf_txn_t *txn, void *arg, xf_err_t *err)
{
    send_t *s = arg;
    char (*codes)[XF_OFFICE_CODE_LEN] = NULL;
    size_t n = 0;
    uint64_t round = 0;
    s->sent = 0;
    int rc = xf_office_share_partners (txn, &codes, &n, err);
    if (rc == XF_OK)
        rc = xf_txn_meta_u64 (txn, "rc/round", &round, err);
    for (size_t i = 0; rc == XF_OK && i < n; i++) {
        bool quiet;
        if ((rc = link_quiet (txn, s->o, codes[i], &quiet, err)) == XF_OK && quiet)
            rc = send_digest (txn, s, codes[i], round + 1, err);
    }
    if (rc == XF_OK && s->sent)
        rc = xf_txn_meta_set_u64 (txn, "rc/round", round + 1, err);
    free (codes);
    return rc;
}

int xf_office_reconcile (xf_office_t *o, int64_t now, int64_t every, size_t *sent, xf_err_t *err)
{
    send_t s = {o, now, 0};
    o->reconcile_every = every;
    if (!o->net.routes) {
        if (sent)
            *sent = 0;
        return XF_OK;
    }
    int rc = xf_store_write (o->store, send_txn, &s, err);
    if (sent)
        *sent = rc == XF_OK ? s.sent : 0;
    return rc == XF_OK ? XF_OK : xf_err_prefix (err, "reconciliation");
}

/* ---------------------------------------------------------------- a digest arrives */

/* The months where theirs and ours differ, in order (at most cap). */
static size_t differing_months (xf_share_month_t *theirs, size_t nt, const xf_share_month_t *ours,
                                size_t no, int32_t *out, size_t cap)
{
    size_t i = 0, k = 0, n = 0;
    if (nt)
        qsort (theirs, nt, sizeof *theirs, cmp_month);
    while ((i < nt || k < no) && n < cap) {
        if (k == no || (i < nt && theirs[i].month < ours[k].month))
            out[n++] = theirs[i++].month;
        else if (i == nt || ours[k].month < theirs[i].month)
            out[n++] = ours[k++].month;
        else {
            if (theirs[i].count != ours[k].count
                || memcmp (theirs[i].hash, ours[k].hash, XF_SHARE_HASH_LEN) != 0
                || (i + 1 < nt && theirs[i + 1].month == theirs[i].month))
                out[n++] = ours[k].month;
            while (i < nt && theirs[i].month == ours[k].month)
                i++;
            k++;
        }
    }
    return n;
}

static int send_list (xf_txn_t *txn, xf_office_t *o, const char *to, const int32_t *months,
                      size_t n_months, uint64_t round, int64_t now, xf_err_t *err)
{
    xf_share_case_t *v = NULL;
    size_t n = 0, used = 0;
    int rc = XF_OK;
    for (; rc == XF_OK && used < n_months && (used == 0 || n < LIST_MAX); used++)
        rc = xf_office_share_cases (txn, to, months[used], &v, &n, err);
    Xf__CaseVersion *rows = rc == XF_OK ? calloc (n ? n : 1, sizeof *rows) : NULL;
    Xf__CaseVersion **ptrs = rc == XF_OK ? calloc (n ? n : 1, sizeof *ptrs) : NULL;
    if (rc == XF_OK && (!rows || !ptrs))
        rc = xf_err_set (err, XF_ENOMEM, "out of memory");
    for (size_t i = 0; rc == XF_OK && i < n; i++) {
        xf__case_version__init (&rows[i]);
        rows[i].id = v[i].id;
        rows[i].last_event = v[i].last_event;
        rows[i].status = v[i].status;
        ptrs[i] = &rows[i];
    }
    Xf__ReconcileList l = XF__RECONCILE_LIST__INIT;
    l.months = (int32_t *) months;
    l.n_months = used;
    l.cases = ptrs;
    l.n_cases = n;
    l.round = round;
    if (rc == XF_OK)
        rc = xf_office_send (txn, o, to, now, XF__ENVELOPE__BODY_RECONCILE_LIST, &l, 0, err);
    free (ptrs);
    free (rows);
    free (v);
    return rc;
}

static int receive_digest (xf_txn_t *txn, xf_office_t *o, const Xf__Envelope *env, int64_t now,
                           xf_applied_t *out, xf_err_t *err)
{
    const Xf__ReconcileDigest *d = env->reconcile_digest;
    rc_state_t st;
    bool quiet;
    int rc = state_load (txn, env->from, &st, err);
    if (rc == XF_OK)
        rc = link_quiet (txn, o, env->from, &quiet, err);
    if (rc != XF_OK || !quiet)   /* ours on the way would differ: compare next time */
        return rc;
    /* Digests of two offices cross: the one of the office with the smaller code is answered,
     * so that a difference is repaired once, not from both sides. */
    if (strcmp (o->code, env->from) < 0 && st.digest_sent && now - st.digest_sent < o->reconcile_every)
        return XF_OK;
    xf_share_month_t *ours = NULL, *theirs = calloc (d->n_months ? d->n_months : 1, sizeof *theirs);
    size_t no = 0;
    if (!theirs)
        return xf_err_set (err, XF_ENOMEM, "out of memory");
    for (size_t i = 0; i < d->n_months; i++) {
        theirs[i].month = d->months[i]->month;
        theirs[i].count = d->months[i]->count;
        memcpy (theirs[i].hash, d->months[i]->hash.data, XF_SHARE_HASH_LEN);
    }
    int32_t diff[256];
    size_t nd = 0;
    if ((rc = xf_office_share_digest (txn, env->from, &ours, &no, err)) == XF_OK)
        nd = differing_months (theirs, d->n_months, ours, no, diff, sizeof diff / sizeof *diff);
    if (rc == XF_OK) {
        state_checked (&st, now, diff, nd);
        rc = state_save (txn, env->from, &st, err);
    }
    /* an empty list says "agreed", so that the digest's sender knows too */
    if (rc == XF_OK)
        rc = send_list (txn, o, env->from, diff, nd, d->round, now, err);
    if (rc == XF_OK && nd)
        note (out, "reconciliation with %s: %zu month(s) differ (first %d); listed our cases of "
              "them", env->from, nd, (int) diff[0]);
    free (ours);
    free (theirs);
    return rc;
}

/* ---------------------------------------------------------------- a list arrives */

typedef struct {
    Xf__CaseVersion *rows, **ptrs;
    size_t n, cap;
} want_t;

static int want_add (want_t *w, const char *id, uint32_t have, xf_err_t *err)
{
    if (w->n == w->cap) {
        size_t cap = w->cap ? w->cap * 2 : 16;
        Xf__CaseVersion *rows = realloc (w->rows, cap * sizeof *rows);
        if (!rows)
            return xf_err_set (err, XF_ENOMEM, "out of memory");
        w->rows = rows;
        w->cap = cap;
    }
    xf__case_version__init (&w->rows[w->n]);
    w->rows[w->n].id = (char *) id;
    w->rows[w->n].last_event = have;
    w->n++;
    return XF_OK;
}

/* Re-sends what the lister lacks or holds older; asks for what this office does. */
static int compare_lists (xf_txn_t *txn, xf_office_t *o, const char *peer, xf_share_case_t *ours,
                          size_t no, Xf__CaseVersion **theirs, size_t nt, int64_t now,
                          size_t *pushed, want_t *w, xf_err_t *err)
{
    size_t i = 0, k = 0;
    int rc = XF_OK;
    while (rc == XF_OK && (i < no || k < nt)) {
        int c = i == no ? 1 : k == nt ? -1 : strcmp (ours[i].id, theirs[k]->id);
        if (c < 0 || (c == 0 && ours[i].last_event > theirs[k]->last_event))
            rc = send_case_copy (txn, o, peer, ours[i].id, now, pushed, err);
        else if (c > 0)
            rc = want_add (w, theirs[k]->id, 0, err);
        else if (theirs[k]->last_event > ours[i].last_event)
            rc = want_add (w, theirs[k]->id, ours[i].last_event, err);
        i += c <= 0;
        k += c >= 0;
    }
    return rc;
}

static int cmp_version (const void *a, const void *b)
{
    return strcmp ((*(Xf__CaseVersion *const *) a)->id, (*(Xf__CaseVersion *const *) b)->id);
}

static int receive_list (xf_txn_t *txn, xf_office_t *o, const Xf__Envelope *env, int64_t now,
                         xf_applied_t *out, xf_err_t *err)
{
    const Xf__ReconcileList *l = env->reconcile_list;
    xf_share_case_t *ours = NULL;
    size_t no = 0, pushed = 0;
    want_t w = {0};
    rc_state_t st;
    int rc = XF_OK;
    for (size_t i = 0; rc == XF_OK && i < l->n_months; i++)
        rc = xf_office_share_cases (txn, env->from, l->months[i], &ours, &no, err);
    if (rc == XF_OK) {
        if (no)
            qsort (ours, no, sizeof *ours, cmp_case);
        if (l->n_cases)   /* the decoded envelope is this office's to sort */
            qsort (l->cases, l->n_cases, sizeof *l->cases, cmp_version);
        rc = compare_lists (txn, o, env->from, ours, no, l->cases, l->n_cases, now, &pushed, &w, err);
    }
    if (rc == XF_OK && w.n) {
        Xf__ReconcileWant want = XF__RECONCILE_WANT__INIT;
        if (!(w.ptrs = malloc (w.n * sizeof *w.ptrs)))
            rc = xf_err_set (err, XF_ENOMEM, "out of memory");
        for (size_t i = 0; rc == XF_OK && i < w.n; i++)
            w.ptrs[i] = &w.rows[i];
        want.cases = w.ptrs;
        want.n_cases = w.n;
        if (rc == XF_OK)
            rc = xf_office_send (txn, o, env->from, now, XF__ENVELOPE__BODY_RECONCILE_WANT, &want,
                                 0, err);
    }
    if (rc == XF_OK && (rc = state_load (txn, env->from, &st, err)) == XF_OK) {
        /* the lister found months that differ; whether anything did is what counts here */
        state_checked (&st, now, l->months, pushed || w.n ? l->n_months : 0);
        st.sent += pushed;
        if (pushed)
            st.last_repair = now;
        rc = state_save (txn, env->from, &st, err);
    }
    if (rc == XF_OK && (pushed || w.n))
        note (out, "reconciliation with %s: re-sent %zu case(s), "
                  "asked for %zu", env->from, pushed, w.n);
    free (w.ptrs);
    free (w.rows);
    free (ours);
    return rc;
}

/* ---------------------------------------------------------------- wants and copies */

static int receive_want (xf_txn_t *txn, xf_office_t *o, const Xf__Envelope *env, int64_t now,
                         xf_applied_t *out, xf_err_t *err)
{
    const Xf__ReconcileWant *w = env->reconcile_want;
    size_t pushed = 0;
    rc_state_t st;
    int rc = XF_OK;
    for (size_t i = 0; rc == XF_OK && i < w->n_cases; i++)
        rc = send_case_copy (txn, o, env->from, w->cases[i]->id, now, &pushed, err);
    if (rc == XF_OK && pushed && (rc = state_load (txn, env->from, &st, err)) == XF_OK) {
        st.sent += pushed;
        st.last_repair = now;
        rc = state_save (txn, env->from, &st, err);
    }
    if (rc == XF_OK)
        note (out, "reconciliation with %s: re-sent %zu of the %zu "
                  "case(s) it asked for", env->from, pushed, w->n_cases);
    return rc;
}

static int receive_copy (xf_txn_t *txn, xf_office_t *o, const Xf__Envelope *env, int64_t now,
                         xf_applied_t *out, xf_err_t *err)
{
    const Xf__CaseCopy *cp = env->case_copy;
    const xf_case_t *rec = cp->record;
    if (!holds (rec, env->from))
        return xf_office_refuse (out, "case %s was re-sent by office %s, which does not hold it by "
                                 "the record it sent", rec->id, env->from);
    if (!holds (rec, o->code))
        return xf_office_refuse (out, "case %s was re-sent to this office, which does not hold "
                                 "it by the record sent (from %s)", rec->id, env->from);
    if (cp->n_events == 0 || cp->events[cp->n_events - 1]->seq != rec->last_event)
        return xf_office_refuse (out, "case %s re-sent by %s without the event that made its "
                                 "record", rec->id, env->from);
    xf_case_t *old = NULL;
    int rc = xf_office_load_case (txn, rec->id, &old, err);
    if (rc != XF_OK && rc != XF_ENOTFOUND)
        return rc;
    *err = (xf_err_t) {0, ""};
    if (old && strcmp (old->owner, o->code) == 0 && rec->last_event > old->last_event) {
        xf_case_destroy (&old);
        return xf_office_refuse (out, "case %s is owned by this office; the newer record re-sent "
                                 "by office %s is not taken", rec->id, env->from);
    }
    rc = XF_OK;
    for (size_t i = 0; rc == XF_OK && i < cp->n_events; i++)
        rc = xf_office_put_event (txn, cp->events[i], err);
    bool newer = !old || rec->last_event > old->last_event;
    if (rc == XF_OK && newer)
        rc = xf_office_take_record (txn, o, old, rec, cp->events[cp->n_events - 1], err);
    rc_state_t st;
    if (rc == XF_OK && newer && (rc = state_load (txn, env->from, &st, err)) == XF_OK) {
        st.received++;
        st.last_repair = now;
        rc = state_save (txn, env->from, &st, err);
    }
    if (rc == XF_OK && newer)
        note (out, "reconciliation: case %s re-sent by %s (%s, "
                  "event %u)", rec->id, env->from, old ? "newer" : "missing here",
                  (unsigned) rec->last_event);
    xf_case_destroy (&old);
    return rc;
}

int xf_office_receive_reconcile (xf_txn_t *txn, xf_office_t *o, const Xf__Envelope *env,
                                 int64_t now, xf_applied_t *out, xf_err_t *err)
{
    switch (env->body_case) {
    case XF__ENVELOPE__BODY_RECONCILE_DIGEST: return receive_digest (txn, o, env, now, out, err);
    case XF__ENVELOPE__BODY_RECONCILE_LIST:   return receive_list (txn, o, env, now, out, err);
    case XF__ENVELOPE__BODY_RECONCILE_WANT:   return receive_want (txn, o, env, now, out, err);
    case XF__ENVELOPE__BODY_CASE_COPY:        return receive_copy (txn, o, env, now, out, err);
    default:
        return xf_office_refuse (out, "a %s envelope is not part of reconciliation (from %s)",
                                 xf_msg_body_name (env), env->from);
    }
}

/* ---------------------------------------------------------------- status */

typedef struct {
    xf_txn_t *txn;
    json_t *list;
    xf_err_t *err;
} status_t;

static int state_json (xf_txn_t *txn, const char *code, json_t *list, xf_err_t *err)
{
    rc_state_t st;
    xf_share_month_t *months = NULL;
    size_t n = 0;
    uint64_t shared = 0;
    int rc = state_load (txn, code, &st, err);
    if (rc == XF_OK)
        rc = xf_office_share_digest (txn, code, &months, &n, err);
    for (size_t i = 0; i < n; i++)
        shared += months[i].count;
    free (months);
    if (rc != XF_OK)
        return rc;
    char sent[26] = "", checked[26] = "", repair[26] = "";
    if (st.digest_sent)
        xf_time_format (st.digest_sent, sent);
    if (st.checked)
        xf_time_format (st.checked, checked);
    if (st.last_repair)
        xf_time_format (st.last_repair, repair);
    json_t *differing = json_array ();
    for (size_t i = 0; i < st.n_differing; i++) {
        char m[16];
        snprintf (m, sizeof m, "%04d-%02d", (int) st.differing[i] / 100, (int) st.differing[i] % 100);
        json_array_append_new (differing, json_string (m));
    }
    json_t *j = json_pack ("{s:s,s:I,s:s?,s:s?,s:o,s:o,s:I,s:I,s:I,s:s?}", "office", code,
                           "shared", (json_int_t) shared, "digest_sent", *sent ? sent : NULL,
                           "checked", *checked ? checked : NULL,
                           "agreed", st.checked ? json_boolean (st.agreed) : json_null (),
                           "differing_months", differing, "mismatches", (json_int_t) st.mismatches,
                           "resent", (json_int_t) st.sent, "received", (json_int_t) st.received,
                           "last_repair", *repair ? repair : NULL);
    return j && json_array_append_new (list, j) == 0 ? XF_OK
                                                      : xf_err_set (err, XF_ENOMEM, "out of memory");
}

static int collect_state (const void *key, size_t klen, const void *val, size_t vlen, void *arg)
{
    (void) val, (void) vlen;
    status_t *s = arg;
    char code[XF_OFFICE_CODE_LEN];
    if (klen < 4 || memcmp (key, "rc/", 3) != 0)
        return 1;
    if (klen - 3 >= sizeof code || memcmp ((const char *) key + 3, "round", 5) == 0)
        return 0;
    memcpy (code, (const char *) key + 3, klen - 3);
    code[klen - 3] = 0;
    return state_json (s->txn, code, s->list, s->err);
}

static bool listed (json_t *list, const char *code)
{
    size_t i;
    json_t *v;
    json_array_foreach (list, i, v)
        if (strcmp (json_string_value (json_object_get (v, "office")), code) == 0)
            return true;
    return false;
}

static int status_txn (xf_txn_t *txn, void *arg, xf_err_t *err)
{
    status_t *s = arg;
    char (*codes)[XF_OFFICE_CODE_LEN] = NULL;
    size_t n = 0;
    s->txn = txn;
    s->err = err;
    int rc = xf_txn_scan (txn, XF_DB_META, "rc/", 3, collect_state, s, err);
    if (rc == XF_OK)
        rc = xf_office_share_partners (txn, &codes, &n, err);
    for (size_t i = 0; rc == XF_OK && i < n; i++)
        if (!listed (s->list, codes[i]))
            rc = state_json (txn, codes[i], s->list, err);
    free (codes);
    return rc;
}

json_t *xf_office_reconcile_status (xf_office_t *o, xf_err_t *err)
{
    status_t s = {NULL, json_array (), err};
    if (!s.list || xf_store_read (o->store, status_txn, &s, err) != XF_OK) {
        json_decref (s.list);
        return NULL;
    }
    return s.list;
}
