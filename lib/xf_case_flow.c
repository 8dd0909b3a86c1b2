/* xf_case_flow.c — the rules of a case that moves between offices: 上报 escalate, 交办 assign,
 * 转办 transfer, 结案报告 report, 退回重办 send back, and the owner's record of a 催办 urge.
 *
 * The 交办 chain is kept in the record (assigned_by[i] handed the case to assigned_to[i] and
 * is owed its result), innermost last, so a province can assign to a city that assigns on to
 * a county: the county reports to the city, the city to the province. Like xf_case.c, these
 * functions only decide and change the record; which offices lie up or down is the office's
 * question (xf_office_move.c), which also writes and sends the result. */
#include "xf_case.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const move_names[] = {"escalate", "assign", "transfer", "report", "send back"};
static const char *const move_texts[] = {"note", "note", "note", "result", "reason"};

const char *xf_move_name (xf_move_t kind)
{
    return kind <= XF_MOVE_SEND_BACK ? move_names[kind] : "move";
}

const char *xf_move_text (xf_move_t kind)
{
    return kind <= XF_MOVE_SEND_BACK ? move_texts[kind] : "note";
}

const char *xf_case_handler (const xf_case_t *c)
{
    return c->n_assigned_to ? c->assigned_to[c->n_assigned_to - 1] : NULL;
}

/* The office that assigned the case to `office`, or NULL when none did. */
static const char *assigner_of (const xf_case_t *c, const char *office)
{
    for (size_t i = c->n_assigned_to; i-- > 0;)
        if (strcmp (c->assigned_to[i], office) == 0)
            return c->assigned_by[i];
    return NULL;
}

int xf_case_push (char ***list, size_t *n, const char *s)
{
    char **grown = realloc (*list, (*n + 1) * sizeof **list);
    if (!grown)
        return XF_ENOMEM;
    *list = grown;
    if (!(grown[*n] = strdup (s)))
        return XF_ENOMEM;
    (*n)++;
    return XF_OK;
}

int xf_case_watch (xf_case_t *c, const char *office)
{
    for (size_t i = 0; i < c->n_watchers; i++)
        if (strcmp (c->watchers[i], office) == 0)
            return XF_OK;
    return xf_case_push (&c->watchers, &c->n_watchers, office);
}

bool xf_case_watched_by (const xf_case_t *c, const char *office)
{
    for (size_t i = 0; i < c->n_watchers; i++)
        if (strcmp (c->watchers[i], office) == 0)
            return true;
    return strcmp (c->origin, office) == 0;
}

static int pop_assignment (xf_case_t *c)
{
    size_t n = --c->n_assigned_to;
    free (c->assigned_to[n]);
    free (c->assigned_by[n]);
    c->n_assigned_by = n;
    return xf_case_set (&c->supervisor, n ? c->assigned_by[n - 1] : "");
}

/* What each move asks of the case before it leaves `office`. */
int xf_case_check_move (const xf_case_t *c, const char *office, xf_move_t kind, xf_err_t *err)
{
    int rc = xf_case_check_owner (c, office, xf_move_name (kind), err);
    const char *handler = xf_case_handler (c), *owed = assigner_of (c, office);
    size_t n = c->n_assigned_to;
    if (rc != XF_OK)
        return rc;
    switch (kind) {
    case XF_MOVE_ESCALATE:
        if (owed && xf_case_is_open (c))
            return xf_err_set (err, XF_ESTATE, "case %s was assigned to this office by office %s, "
                               "which is owed the result: report to it (case report) instead of "
                               "escalating", c->id, owed);
        /* fall through */
    case XF_MOVE_ASSIGN:
    case XF_MOVE_TRANSFER:
        if (!xf_case_is_open (c))
            return xf_err_set (err, XF_ESTATE, "case %s is %s; only a registered or in_progress "
                               "case can be %s", c->id, xf_status_name (c->status),
                               kind == XF_MOVE_ESCALATE ? "escalated"
                               : kind == XF_MOVE_ASSIGN ? "assigned" : "transferred");
        return XF_OK;
    case XF_MOVE_REPORT:
        if (c->status == XF__STATUS__IN_PROGRESS && handler && strcmp (handler, office) == 0)
            return XF_OK;
        /* a supervisor that reviewed its handler's report passes the result on up */
        if (c->status == XF__STATUS__REPORTED && n >= 2 && strcmp (c->assigned_to[n - 2], office) == 0)
            return XF_OK;
        if (!owed)
            return xf_err_set (err, XF_ESTATE, "case %s was not assigned to this office (交办): "
                               "there is no office to report to; close it instead", c->id);
        return xf_err_set (err, XF_ESTATE, "case %s is %s; a result is reported once the case "
                           "is accepted (in_progress)", c->id, xf_status_name (c->status));
    case XF_MOVE_SEND_BACK:
        if (c->status != XF__STATUS__REPORTED || !n || strcmp (c->assigned_by[n - 1], office) != 0)
            return xf_err_set (err, XF_ESTATE, "case %s is %s; only a result reported to this "
                               "office can be sent back", c->id, xf_status_name (c->status));
        return XF_OK;
    }
    return xf_err_set (err, XF_EINVAL, "unknown move %d", (int) kind);
}

/* Every required item present in items, else XF_EINVAL listing what is missing. */
int xf_case_check_items (char *const *items, size_t n, const char *const *required, size_t n_req,
                         xf_err_t *err)
{
    char missing[256] = "";
    size_t len = 0, absent = 0;
    for (size_t r = 0; r < n_req; r++) {
        bool found = false;
        for (size_t i = 0; i < n && !found; i++)
            found = strcmp (items[i], required[r]) == 0;
        if (!found && len < sizeof missing)
            len += (size_t) snprintf (missing + len, sizeof missing - len, "%s%s",
                                      absent++ ? "," : "", required[r]);
        else if (!found)
            absent++;
    }
    if (absent)
        return xf_err_set (err, XF_EINVAL, "the report lacks %zu of the %zu required items "
                           "([report] required_items): %s", absent, n_req, missing);
    return XF_OK;
}

/* The case as it reaches a new handling office: registered there, for it to decide on
 * acceptance within accept_days; what the previous office decided (立案, extension, urges)
 * was that office's. */
static int arrive (xf_case_t *c, const char *to, xf_day_t today, const xf_limits_t *lim)
{
    c->status = XF__STATUS__REGISTERED;
    c->accept_due = today + lim->accept_days;
    c->decided = c->handle_due = 0;
    c->filed = false;
    c->extension_days = 0;
    c->urges = 0;
    c->flags &= ~(uint32_t) (XF__CASE_FLAG__FLAG_EXTENDED | XF__CASE_FLAG__FLAG_OVERDUE
                             | XF__CASE_FLAG__FLAG_LATE | XF__CASE_FLAG__FLAG_ONSITE);
    return xf_case_set (&c->owner, to);
}

int xf_case_move (xf_case_t *c, const char *office, xf_move_t kind, const char *to,
                  xf_day_t today, const xf_limits_t *lim, xf_err_t *err)
{
    int rc = xf_case_check_move (c, office, kind, err);
    if (rc != XF_OK)
        return rc;
    size_t n = c->n_assigned_to;
    switch (kind) {
    case XF_MOVE_ASSIGN:
        if (xf_case_push (&c->assigned_by, &c->n_assigned_by, office)
            || xf_case_push (&c->assigned_to, &c->n_assigned_to, to) || xf_case_set (&c->supervisor, office)) {
            rc = XF_ENOMEM;
            break;
        }
        rc = arrive (c, to, today, lim);
        break;
    case XF_MOVE_TRANSFER:
        /* the result stays owed: the office that takes the case over owes it instead */
        if (n && strcmp (c->assigned_to[n - 1], office) == 0) {
            free (c->assigned_to[n - 1]);
            if (!(c->assigned_to[n - 1] = strdup (to))) {
                rc = XF_ENOMEM;
                break;
            }
        }
        rc = arrive (c, to, today, lim);
        break;
    case XF_MOVE_ESCALATE:
        rc = arrive (c, to, today, lim);
        break;
    case XF_MOVE_REPORT:
        if (c->status == XF__STATUS__REPORTED && pop_assignment (c)) {
            rc = XF_ENOMEM;
            break;
        }
        if (c->status == XF__STATUS__IN_PROGRESS && today > c->handle_due)
            c->flags |= XF__CASE_FLAG__FLAG_LATE;
        c->flags &= ~(uint32_t) XF__CASE_FLAG__FLAG_OVERDUE;
        c->status = XF__STATUS__REPORTED;
        c->reported = today;
        rc = xf_case_set (&c->owner, c->supervisor);
        break;
    case XF_MOVE_SEND_BACK:
        /* a new handling round with a full handling limit, and its own one extension */
        c->status = XF__STATUS__IN_PROGRESS;
        c->round++;
        c->handle_due = today + lim->handle_days;
        c->extension_days = 0;
        c->flags &= ~(uint32_t) (XF__CASE_FLAG__FLAG_EXTENDED | XF__CASE_FLAG__FLAG_OVERDUE);
        rc = xf_case_set (&c->owner, c->assigned_to[n - 1]);
        break;
    }
    if (rc == XF_OK && !(rc = xf_case_watch (c, office)))
        rc = xf_case_watch (c, c->owner);
    if (rc != XF_OK)
        return xf_err_set (err, XF_ENOMEM, "out of memory");
    return XF_OK;
}

int xf_case_record_urge (xf_case_t *c, const char *office, const char *by, xf_err_t *err)
{
    int rc = xf_case_check_owner (c, office, "record an urge on", err);
    if (rc != XF_OK)
        return rc;
    if (!xf_case_is_open (c))
        return xf_err_set (err, XF_ESTATE, "case %s is %s at office %s: there is nothing to urge",
                           c->id, xf_status_name (c->status), office);
    if (strcmp (by, office) == 0)
        return xf_err_set (err, XF_EPERM, "office %s owns case %s: an urge comes from a "
                           "supervising office, not from the owner", office, c->id);
    c->urges++;
    if (c->urges >= XF_URGES_ONSITE)
        c->flags |= XF__CASE_FLAG__FLAG_ONSITE;
    return XF_OK;
}

/* ---------------------------------------------------------------- conflict of interest */

/* A unit's name as compared: without spaces (ASCII or the ideographic U+3000) and without the
 * Party prefix that one writer puts and another leaves out (中共…, 中国共产党…). */
static void unit_key (const char *s, char *out, size_t size)
{
    static const char *const prefixes[] = {"中国共产党", "中共"};
    size_t n = 0;
    while (*s && n + 1 < size) {
        if (*s == ' ' || *s == '\t')
            s++;
        else if (strncmp (s, "\u3000", 3) == 0)
            s += 3;
        else
            out[n++] = *s++;
    }
    out[n] = 0;
    for (size_t i = 0; i < sizeof prefixes / sizeof *prefixes; i++) {
        size_t k = strlen (prefixes[i]);
        if (strncmp (out, prefixes[i], k) == 0) {
            memmove (out, out + k, n - k + 1);
            break;
        }
    }
}

bool xf_unit_same (const char *a, const char *b)
{
    char ka[512], kb[512];
    if (!a || !b)
        return false;
    unit_key (a, ka, sizeof ka);
    unit_key (b, kb, sizeof kb);
    return *ka && strcmp (ka, kb) == 0;
}

int xf_case_check_conflict (const xf_case_t *c, const char *to, const char *to_unit, xf_err_t *err)
{
    if (c->category != XF__CATEGORY__ACCUSATION || !c->accused || !*c->accused->unit)
        return XF_OK;
    if (!to_unit || !*to_unit)
        return xf_err_set (err, XF_EPERM, "case %s is an accusation against %s, and the unit of "
                           "office %s is not known here, so it cannot be checked: send the case "
                           "through an office that office %s lies below", c->id, c->accused->unit,
                           to, to);
    if (!xf_unit_same (c->accused->unit, to_unit))
        return XF_OK;
    return xf_err_set (err, XF_EPERM, "case %s accuses %s, the unit of office %s: an accusation "
                       "may not be assigned or transferred to the accused's own unit "
                       "(不得将检举控告材料转送被检举控告的单位)", c->id, c->accused->unit, to);
}
