/* xf_msg.c — the wire codec's envelopes: protobuf-c pack/unpack, and the checks that run before
 * any other code looks at a decoded message (link frames and the envelopes they carry are
 * decoded in xf_msg_frame.c, on these).
 *
 * Checks come in two layers. A generic walk over the protobuf-c descriptors (xf_msg_walk.c)
 * visits every string and enum field that is set (UTF-8, length, known enum values), so a
 * field added to the .proto is covered without touching this file. Then a flat switch per
 * oneof applies the rules the schema cannot express (codes, case ids, sequences, non-empty
 * reasons). Bytes from the network are never trusted into an assert. */
#include "xf_msg.h"
#include "xf_msg_int.h"
#include "xf_arena.h"
#include "xf_text.h"
#include "xf_wire.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---------------------------------------------------------------- error text */

/* A string from the wire made safe for a one-line message: printable ASCII only (a
 * hostile peer must not write control characters into the log), at most 39 bytes.
 * Returned by value so several can sit in one printf (C11 temporary lifetime). */
typedef struct { char s[40]; } shown_t;

static shown_t show (const char *s)
{
    shown_t o = { "" };
    for (size_t n = 0; s && *s && n < sizeof o.s - 1; s++)
        o.s[n++] = ((unsigned char) *s >= 0x20 && (unsigned char) *s < 0x7f) ? *s : '?';
    return o;
}

/* Sets err to "<label>: <what>" with the given code. */
__attribute__ ((format (printf, 4, 5)))
static int fail (xf_err_t *err, int code, const char *label, const char *fmt, ...)
{
    char what[400];
    va_list ap;
    va_start (ap, fmt);
    vsnprintf (what, sizeof what, fmt, ap);
    va_end (ap);
    return xf_err_set (err, code, "%s: %s", label, what);
}

#define bad(err, label, ...) fail ((err), XF_EINVAL, (label), __VA_ARGS__)

/* Labels are put together for every message checked and read only when a check fails:
 * appended with memcpy, not printf, cut at XF_MSG_LABEL_MAX - 1 bytes. */
static size_t label_put (char *label, size_t at, const char *s)
{
    size_t n = strlen (s);
    if (at + n >= XF_MSG_LABEL_MAX)
        n = XF_MSG_LABEL_MAX - 1 - at;
    memcpy (label + at, s, n);
    label[at + n] = '\0';
    return at + n;
}

static size_t label_uint (char *label, size_t at, uint64_t v)
{
    char digits[20];
    digits[xf_text_uint (digits, v)] = '\0';
    return label_put (label, at, digits);
}

/* Hand-built messages may hold NULL for an unset string; protobuf-c packs it as "". */
static const char *nz (const char *s)
{
    return s ? s : "";
}

/* ---------------------------------------------------------------- syntax */

static int digits (const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (s[i] < '0' || s[i] > '9')
            return 0;           /* also stops at the terminating NUL */
    return 1;
}

int xf_msg_code_valid (const char *code)
{
    size_t n;
    if (!code)
        return 0;
    for (n = 0; code[n]; n++)
        if (n >= 12 || code[n] < '0' || code[n] > '9')
            return 0;
    if (n != 6 && n != 9 && n != 12)
        return 0;
    return strspn (code, "0") != n;     /* not all zero */
}

int xf_msg_case_id_valid (const char *id)
{
    const char *dash, *y;
    char code[13];
    if (!id || !(dash = strchr (id, '-')) || dash - id > 12)
        return 0;
    memcpy (code, id, (size_t) (dash - id));
    code[dash - id] = '\0';
    if (!xf_msg_code_valid (code))
        return 0;
    y = dash + 1;
    if (!digits (y, 4) || y[4] != '-' || !digits (y + 5, 6) || y[11] != '\0')
        return 0;
    int year = (y[0] - '0') * 1000 + (y[1] - '0') * 100 + (y[2] - '0') * 10 + (y[3] - '0');
    return year >= 1949 && year <= 2999;
}


/* ---------------------------------------------------------------- names */

/* Oneof cases are field numbers; envelope and event bodies both start at 10. */
static const char *const body_names[] = {
    "case_event", "case_request", "refusal", "stats_request", "stats_reply", "stats_snapshot",
    "routes", "delivery_error", "sightings", "lookup_request", "lookup_reply",
    "reconcile_digest", "reconcile_list", "reconcile_want", "case_copy",
};
static const char *const event_names[] = {
    "register", "accept", "reject", "escalate", "assign", "transfer", "urge", "extend",
    "report", "send_back", "instruct", "close", "review", "overdue", "returned",
};
_Static_assert (XF__ENVELOPE__BODY_CASE_EVENT == 10 && XF__ENVELOPE__BODY_CASE_COPY == 24
                && XF__CASE_EVENT__BODY_REGISTRATION == 10 && XF__CASE_EVENT__BODY_RETURNED == 24,
                "xf_msg name tables out of step with xfsync.proto");

static const char *name_of (int c, const char *const *names, size_t n)
{
    if (c == 0)
        return "none";
    return c >= 10 && (size_t) (c - 10) < n ? names[c - 10] : "unknown";
}

const char *xf_msg_body_name (const Xf__Envelope *e)
{
    return name_of (e ? (int) e->body_case : 0, body_names,
                    sizeof body_names / sizeof *body_names);
}

const char *xf_msg_event_name (const Xf__CaseEvent *ev)
{
    return name_of (ev ? (int) ev->body_case : 0, event_names,
                    sizeof event_names / sizeof *event_names);
}

/* ---------------------------------------------------------------- case events */

static int check_code (const char *code, const char *what, const char *label, xf_err_t *err)
{
    if (!xf_msg_code_valid (code))
        return bad (err, label, "%s \"%s\" is not an office code", what, show (code).s);
    return 0;
}

/* A case record carried by registration, escalation, assignment or transfer. */
static int check_record (const Xf__Case *c, const char *case_id, const char *label,
                         xf_err_t *err)
{
    size_t n;
    int rc;
    if (strcmp (nz (c->id), case_id) != 0)
        return bad (err, label, "record id \"%s\" does not match the case", show (c->id).s);
    if ((rc = check_code (c->origin, "record origin", label, err))
        || (rc = check_code (c->owner, "record owner", label, err)))
        return rc;
    n = strlen (c->origin);
    if (strncmp (c->id, c->origin, n) != 0 || c->id[n] != '-')
        return bad (err, label, "record origin %s is not the office in its id", c->origin);
    if (*nz (c->supervisor)
        && (rc = check_code (c->supervisor, "record supervisor", label, err)))
        return rc;
    if (c->subject > 8)
        return bad (err, label, "record subject %u is not 0..8", (unsigned) c->subject);
    return 0;
}

/* escalation, assignment, transfer: a destination office and, when sent, the record. */
static int check_move (const char *to, const Xf__Case *record, const Xf__CaseEvent *ev,
                       const char *label, xf_err_t *err)
{
    int rc = check_code (to, "to", label, err);
    if (rc)
        return rc;
    if (strcmp (to, ev->office) == 0)
        return bad (err, label, "to %s is the recording office itself", to);
    return record ? check_record (record, ev->case_id, label, err) : 0;
}

static int need_text (const char *s, const char *what, const char *label, xf_err_t *err)
{
    return !*nz (s) ? bad (err, label, "no %s", what) : 0;
}

/* earlier: an event of a stored history, which keeps no record (the case is stored beside) */
static int check_event_body (const Xf__CaseEvent *ev, bool earlier, const char *label,
                             xf_err_t *err)
{
    int rc;
    switch (ev->body_case) {
    case XF__CASE_EVENT__BODY_REGISTRATION:
        if (!ev->registration->record && earlier)
            return 0;
        if (!ev->registration->record)
            return bad (err, label, "registration without a record");
        return check_record (ev->registration->record, ev->case_id, label, err);
    case XF__CASE_EVENT__BODY_ACCEPTANCE:
        return 0;
    case XF__CASE_EVENT__BODY_REVIEW:
        if (*nz (ev->review->by) && (rc = check_code (ev->review->by, "review: by", label, err)))
            return rc;
        if (ev->review->level > 2)
            return bad (err, label, "review level %u is not 1 (复查) or 2 (复核)",
                        (unsigned) ev->review->level);
        return need_text (ev->review->reason, "reason", label, err);
    case XF__CASE_EVENT__BODY_REJECTION:
        return need_text (ev->rejection->reason, "reason", label, err);
    case XF__CASE_EVENT__BODY_ESCALATION:
        return check_move (ev->escalation->to, ev->escalation->record, ev, label, err);
    case XF__CASE_EVENT__BODY_ASSIGNMENT:
        return check_move (ev->assignment->to, ev->assignment->record, ev, label, err);
    case XF__CASE_EVENT__BODY_TRANSFER:
        return check_move (ev->transfer->to, ev->transfer->record, ev, label, err);
    case XF__CASE_EVENT__BODY_URGE:
        return ev->urge->number >= 1 ? 0 : bad (err, label, "urge number 0 (they count from 1)");
    case XF__CASE_EVENT__BODY_EXTENSION:
        return ev->extension->days >= 1 ? 0 : bad (err, label, "extension of 0 days");
    case XF__CASE_EVENT__BODY_REPORT:
        if (*nz (ev->report->to) && (rc = check_move (ev->report->to, NULL, ev, label, err)))
            return rc;
        return need_text (ev->report->result, "result", label, err);
    case XF__CASE_EVENT__BODY_SEND_BACK:
        if (*nz (ev->send_back->to) && (rc = check_move (ev->send_back->to, NULL, ev, label, err)))
            return rc;
        return need_text (ev->send_back->reason, "reason", label, err);
    case XF__CASE_EVENT__BODY_INSTRUCTION:
        return need_text (ev->instruction->text, "instruction text", label, err);
    case XF__CASE_EVENT__BODY_CLOSING:
        return need_text (ev->closing->reply, "reply", label, err);
    case XF__CASE_EVENT__BODY_OVERDUE:
        if (strcmp (nz (ev->overdue->stage), "accept") != 0
            && strcmp (nz (ev->overdue->stage), "handle") != 0)
            return bad (err, label, "overdue stage \"%s\" is not accept or handle",
                        show (ev->overdue->stage).s);
        return 0;
    case XF__CASE_EVENT__BODY_RETURNED:
        if ((rc = check_code (ev->returned->to, "returned: to", label, err))
            || (rc = check_code (ev->returned->by, "returned: by", label, err)))
            return rc;
        return need_text (ev->returned->reason, "reason", label, err);
    default:
        return bad (err, label, "unknown event body %d", (int) ev->body_case);
    }
}

/* Every member of a body union is a pointer to a struct, and those share one
 * representation (C11 6.2.5p28): reading any member tells whether the active one is NULL.
 * A request's event may have seq 0: the owner numbers what it records. */
static int check_event_seq (const Xf__CaseEvent *ev, bool numbered, bool earlier,
                            const char *label, xf_err_t *err)
{
    char l2[XF_MSG_LABEL_MAX];
    if (!ev)
        return bad (err, label, "no case event");
    if (!xf_msg_case_id_valid (ev->case_id))
        return bad (err, label, "case id \"%s\" is not <office>-<yyyy>-<6 digits>",
                    show (ev->case_id).s);
    size_t at = label_put (l2, 0, label);   /* "<label>: case <id> event <seq> (<name>)" */
    at = label_put (l2, at, ": case ");
    at = label_put (l2, at, ev->case_id);
    at = label_put (l2, at, " event ");
    at = label_uint (l2, at, ev->seq);
    at = label_put (l2, at, " (");
    at = label_put (l2, at, xf_msg_event_name (ev));
    label_put (l2, at, ")");
    if (ev->seq == 0 && numbered)
        return bad (err, l2, "seq 0 (a case's events count from 1)");
    int rc = check_code (ev->office, "office", l2, err);
    if (rc)
        return rc;
    if (ev->body_case == XF__CASE_EVENT__BODY__NOT_SET || !ev->registration)
        return bad (err, l2, "no event body");
    if (ev->record) {
        if ((rc = check_record (ev->record, ev->case_id, l2, err)))
            return rc;
        if (ev->record->last_event != ev->seq)
            return bad (err, l2, "record of event %u, not of this one",
                        (unsigned) ev->record->last_event);
    }
    for (size_t i = 0; i < ev->n_earlier; i++) {
        const Xf__CaseEvent *e = ev->earlier[i];
        if (strcmp (nz (e->case_id), ev->case_id) != 0 || e->seq == 0 || e->seq >= ev->seq)
            return bad (err, l2, "earlier event %zu is not an earlier event of this case", i);
        if (e->record || e->n_earlier)
            return bad (err, l2, "earlier event %u carries a record or history", (unsigned) e->seq);
        if ((rc = check_event_seq (e, true, true, label, err)))
            return rc;
    }
    return check_event_body (ev, earlier, l2, err);
}

static int check_event (const Xf__CaseEvent *ev, const char *label, xf_err_t *err)
{
    return check_event_seq (ev, true, false, label, err);
}

/* ---------------------------------------------------------------- other bodies */

static int check_gid (const Xf__GlobalId *g, const char *what, const char *label, xf_err_t *err)
{
    if (!g)
        return bad (err, label, "no %s", what);
    if (!xf_msg_code_valid (g->origin) || g->seq == 0)
        return bad (err, label, "%s %s/%llu is not a global id", what, show (g->origin).s,
                    (unsigned long long) g->seq);
    return 0;
}

static int check_request (const Xf__CaseRequest *r, const char *label, xf_err_t *err)
{
    if (!xf_msg_case_id_valid (r->case_id))
        return bad (err, label, "case request: case id \"%s\" is not <office>-<yyyy>-<6 digits>",
                    show (r->case_id).s);
    if (!r->event)
        return bad (err, label, "case request %s: no event", r->case_id);
    if (strcmp (nz (r->event->case_id), r->case_id) != 0)
        return bad (err, label, "case request %s: event is for case \"%s\"", r->case_id,
                    show (r->event->case_id).s);
    return check_event_seq (r->event, false, false, label, err);
}

static int check_refusal (const Xf__Refusal *r, const char *label, xf_err_t *err)
{
    if (!xf_msg_case_id_valid (r->case_id))
        return bad (err, label, "refusal: case id \"%s\" is not <office>-<yyyy>-<6 digits>",
                    show (r->case_id).s);
    if (!*nz (r->reason))
        return bad (err, label, "refusal of %s: no reason", r->case_id);
    if (*nz (r->owner) && !xf_msg_code_valid (r->owner))
        return bad (err, label, "refusal of %s: owner \"%s\" is not an office code",
                    r->case_id, show (r->owner).s);
    return r->in_reply_to ? check_gid (r->in_reply_to, "in_reply_to", label, err) : 0;
}

static int check_period (const Xf__Period *p, const char *what, const char *label,
                         xf_err_t *err)
{
    if (!p)
        return bad (err, label, "%s without a period", what);
    if (p->first > p->last)
        return bad (err, label, "%s period %d..%d ends before it starts", what,
                    (int) p->first, (int) p->last);
    return 0;
}

/* codes[i] (or offices[i].code) of a repeated field; elements are non-NULL after walk(). */
static int check_codes (char *const *codes, Xf__OfficeFigures *const *offices, size_t n,
                        const char *what, const char *label, xf_err_t *err)
{
    for (size_t i = 0; i < n; i++) {
        const char *c = codes ? codes[i] : offices[i]->code;
        if (!xf_msg_code_valid (c))
            return bad (err, label, "%s[%zu] \"%s\" is not an office code", what, i, show (c).s);
    }
    return 0;
}

static int check_stats_reply (const Xf__StatsReply *r, const char *label, xf_err_t *err)
{
    int rc;
    if (r->request_id == 0)
        return bad (err, label, "stats reply to request 0");
    if ((rc = check_period (r->period, "stats reply", label, err))
        || (rc = check_codes (NULL, r->offices, r->n_offices, "offices", label, err)))
        return rc;
    return check_codes (r->missing, NULL, r->n_missing, "missing", label, err);
}

static int check_snapshot (const Xf__StatsSnapshot *s, const char *label, xf_err_t *err)
{
    int rc = check_code (s->office, "stats snapshot office", label, err);
    int year = s->month / 100, month = s->month % 100;
    if (rc)
        return rc;
    if (year < 1949 || year > 2999 || month < 1 || month > 12)
        return bad (err, label, "stats snapshot of %s: month %d is not yyyymm", s->office,
                    (int) s->month);
    return check_codes (NULL, s->offices, s->n_offices, "offices", label, err);
}

static int check_routes (const Xf__RouteAnnouncement *r, const char *label, xf_err_t *err)
{
    if (r->n_codes == 0)
        return bad (err, label, "route announcement without codes");
    if (r->n_names != 0 && r->n_names != r->n_codes)
        return bad (err, label, "route announcement with %zu codes but %zu names",
                    r->n_codes, r->n_names);
    return check_codes (r->codes, NULL, r->n_codes, "routes: codes", label, err);
}

static int check_sightings (const Xf__Sightings *s, const char *label, xf_err_t *err)
{
    if (s->n_entries == 0)
        return bad (err, label, "sightings without entries");
    for (size_t i = 0; i < s->n_entries; i++) {
        const Xf__Sighting *e = s->entries[i];
        if (e->key.len != XF_MSG_SIGHTING_KEY_LEN)
            return bad (err, label, "sighting %zu: key of %zu bytes, not %d", i, e->key.len,
                        XF_MSG_SIGHTING_KEY_LEN);
        if (!xf_msg_case_id_valid (e->case_id))
            return bad (err, label, "sighting %zu: case id \"%s\" is not <office>-<yyyy>-<6 digits>",
                        i, show (e->case_id).s);
    }
    return 0;
}

static int check_lookup_reply (const Xf__LookupReply *r, const char *label, xf_err_t *err)
{
    int rc = need_text (r->query_code, "lookup reply: query code", label, err);
    if (rc || !r->found)
        return rc;
    if (!xf_msg_case_id_valid (r->case_id))
        return bad (err, label, "lookup reply: case id \"%s\" is not <office>-<yyyy>-<6 digits>",
                    show (r->case_id).s);
    return check_code (r->owner, "lookup reply: owner", label, err);
}

static int check_digest (const Xf__ReconcileDigest *d, const char *label, xf_err_t *err)
{
    for (size_t i = 0; i < d->n_months; i++) {
        const Xf__ShareDigest *m = d->months[i];
        if (m->month / 100 < 1949 || m->month / 100 > 2999 || m->month % 100 < 1
            || m->month % 100 > 12)
            return bad (err, label, "reconcile digest: month %d is not yyyymm", (int) m->month);
        if (m->hash.len != XF_MSG_SHARE_HASH_LEN)
            return bad (err, label, "reconcile digest %d: hash of %zu bytes, not %d",
                        (int) m->month, m->hash.len, XF_MSG_SHARE_HASH_LEN);
    }
    return 0;
}

static int check_versions (Xf__CaseVersion *const *v, size_t n, const char *what,
                           const char *label, xf_err_t *err)
{
    for (size_t i = 0; i < n; i++)
        if (!xf_msg_case_id_valid (v[i]->id))
            return bad (err, label, "%s %zu: case id \"%s\" is not <office>-<yyyy>-<6 digits>",
                        what, i, show (v[i]->id).s);
    return 0;
}

/* A re-sent case: its record and events, each checked as those of a case event are. */
static int check_copy (const Xf__CaseCopy *c, const char *label, xf_err_t *err)
{
    int rc;
    if (!c->record)
        return bad (err, label, "case copy without a record");
    if (!xf_msg_case_id_valid (c->record->id))
        return bad (err, label, "case copy: case id \"%s\" is not <office>-<yyyy>-<6 digits>",
                    show (c->record->id).s);
    if ((rc = check_record (c->record, c->record->id, label, err)))
        return rc;
    for (size_t i = 0; i < c->n_events; i++) {
        const Xf__CaseEvent *e = c->events[i];
        if (strcmp (nz (e->case_id), c->record->id) != 0 || e->seq == 0
            || e->seq > c->record->last_event || (i && e->seq <= c->events[i - 1]->seq))
            return bad (err, label, "case copy %s: event %zu is not one of its events in order",
                        c->record->id, i);
        if (e->record || e->n_earlier)
            return bad (err, label, "case copy %s: event %u carries a record or history",
                        c->record->id, (unsigned) e->seq);
        if ((rc = check_event_seq (e, true, true, label, err)))
            return rc;
    }
    return 0;
}

static int check_body (const Xf__Envelope *e, const char *label, xf_err_t *err)
{
    int rc;
    switch (e->body_case) {
    case XF__ENVELOPE__BODY_CASE_EVENT:
        return check_event (e->case_event, label, err);
    case XF__ENVELOPE__BODY_CASE_REQUEST:
        return check_request (e->case_request, label, err);
    case XF__ENVELOPE__BODY_REFUSAL:
        return check_refusal (e->refusal, label, err);
    case XF__ENVELOPE__BODY_STATS_REQUEST:
        if (e->stats_request->request_id == 0)
            return bad (err, label, "stats request 0 (ids count from 1)");
        return check_period (e->stats_request->period, "stats request", label, err);
    case XF__ENVELOPE__BODY_STATS_REPLY:
        return check_stats_reply (e->stats_reply, label, err);
    case XF__ENVELOPE__BODY_STATS_SNAPSHOT:
        return check_snapshot (e->stats_snapshot, label, err);
    case XF__ENVELOPE__BODY_ROUTES:
        return check_routes (e->routes, label, err);
    case XF__ENVELOPE__BODY_SIGHTINGS:
        return check_sightings (e->sightings, label, err);
    case XF__ENVELOPE__BODY_LOOKUP_REQUEST:
        return need_text (e->lookup_request->query_code, "lookup: query code", label, err);
    case XF__ENVELOPE__BODY_LOOKUP_REPLY:
        return check_lookup_reply (e->lookup_reply, label, err);
    case XF__ENVELOPE__BODY_RECONCILE_DIGEST:
        return check_digest (e->reconcile_digest, label, err);
    case XF__ENVELOPE__BODY_RECONCILE_LIST:
        return check_versions (e->reconcile_list->cases, e->reconcile_list->n_cases,
                               "reconcile list entry", label, err);
    case XF__ENVELOPE__BODY_RECONCILE_WANT:
        return check_versions (e->reconcile_want->cases, e->reconcile_want->n_cases,
                               "reconcile want entry", label, err);
    case XF__ENVELOPE__BODY_CASE_COPY:
        return check_copy (e->case_copy, label, err);
    case XF__ENVELOPE__BODY_DELIVERY_ERROR:
        if (*nz (e->delivery_error->to)
            && (rc = check_code (e->delivery_error->to, "delivery error to", label, err)))
            return rc;
        if (*nz (e->delivery_error->case_id) && !xf_msg_case_id_valid (e->delivery_error->case_id))
            return bad (err, label, "delivery error: case id \"%s\" is not <office>-<yyyy>-<6 "
                        "digits>", show (e->delivery_error->case_id).s);
        if ((rc = need_text (e->delivery_error->reason, "delivery error reason", label, err)))
            return rc;
        return check_gid (e->delivery_error->undelivered, "undelivered id", label, err);
    default:
        return bad (err, label, "unknown body %d", (int) e->body_case);
    }
}

/* ---------------------------------------------------------------- envelope and hello */

void xf_msg_envelope_label (const Xf__Envelope *e, char label[XF_MSG_LABEL_MAX])
{
    size_t at = label_put (label, 0, "envelope");
    if (e->id) {
        at = label_put (label, at, " ");
        at = label_put (label, at, show (e->id->origin).s);
        at = label_put (label, at, "/");
        label_uint (label, at, e->id->seq);
    }
}

/* What routing needs, in every format: who sent it, to whom, when. */
int xf_msg_check_header (const Xf__Envelope *e, const char *label, xf_err_t *err)
{
    int rc;
    if (!e->id)
        return bad (err, label, "no id");
    if ((rc = check_code (e->id->origin, "origin", label, err)))
        return rc;
    if (e->id->seq == 0)
        return bad (err, label, "seq 0 (an origin's envelopes count from 1)");
    if (strcmp (nz (e->from), e->id->origin) != 0)
        return bad (err, label, "from \"%s\" is not the origin", show (e->from).s);
    if ((rc = check_code (e->to, "to", label, err)))
        return rc;
    if (strcmp (e->to, e->from) == 0)
        return bad (err, label, "addressed to its own origin");
    if (e->created <= 0)
        return bad (err, label, "created %lld is not a time", (long long) e->created);
    return 0;
}

/* The checks of an envelope; walked: its strings and enums are known sound (xf_wire_sound on
 * the bytes it was decoded from), so the walk would find nothing. */
static int envelope_check (const Xf__Envelope *e, bool walked, xf_err_t *err)
{
    char label[XF_MSG_LABEL_MAX];
    int rc;
    if (!e)
        return xf_err_set (err, XF_EINVAL, "envelope: missing");
    xf_msg_envelope_label (e, label);
    /* The format first: a newer one may have changed any rule below. */
    if (e->format > XF_ENVELOPE_FORMAT)
        return fail (err, XF_EVERSION, label, "format %u is newer than this node reads (%d)",
                     (unsigned) e->format, XF_ENVELOPE_FORMAT);
    if (e->format == 0)
        return bad (err, label, "no format");
    if (!e->id)
        return bad (err, label, "no id");
    if ((!walked && (rc = xf_msg_walk (&e->base, label, err)))
        || (rc = xf_msg_check_header (e, label, err)))
        return rc;
    if (e->body_case == XF__ENVELOPE__BODY__NOT_SET || !e->case_event)
        return bad (err, label, "no body");
    return check_body (e, label, err);
}

int xf_msg_envelope_check (const Xf__Envelope *e, xf_err_t *err)
{
    return envelope_check (e, false, err);
}


int xf_msg_check_hello (const Xf__Hello *h, xf_err_t *err)
{
    const char *label = "frame: hello";
    int rc;
    if ((rc = xf_msg_walk (&h->base, label, err)) || (rc = check_code (h->code, "code", label, err)))
        return rc;
    if (h->min_version == 0 || h->min_version > h->max_version)
        return bad (err, label, "from %s: link version range %u..%u is invalid", h->code,
                    (unsigned) h->min_version, (unsigned) h->max_version);
    if (h->max_version < XF_LINK_VERSION_MIN || h->min_version > XF_LINK_VERSION_MAX)
        return fail (err, XF_EVERSION, label,
                     "from %s: peer speaks link versions %u..%u, this node %d..%d", h->code,
                     (unsigned) h->min_version, (unsigned) h->max_version,
                     XF_LINK_VERSION_MIN, XF_LINK_VERSION_MAX);
    if (h->n_revocations > XF_MSG_MAX_CERTS)
        return bad (err, label, "from %s: %zu revocations, more than %d", h->code,
                    h->n_revocations, XF_MSG_MAX_CERTS);
    if (h->n_certificates > XF_MSG_MAX_CERTS)
        return bad (err, label, "from %s: %zu certificates, more than %d", h->code,
                    h->n_certificates, XF_MSG_MAX_CERTS);
    for (size_t i = 0; i < h->n_certificates; i++)
        if (h->certificates[i].len == 0 || h->certificates[i].len > XF_MSG_MAX_CERT)
            return bad (err, label, "from %s: certificate %zu of %zu bytes (1 to %d)", h->code,
                        i + 1, h->certificates[i].len, XF_MSG_MAX_CERT);
    return h->routes ? check_routes (h->routes, label, err) : 0;
}

/* ---------------------------------------------------------------- pack and unpack */

size_t xf_msg_pack (const ProtobufCMessage *m, uint8_t **out)
{
    size_t n = protobuf_c_message_get_packed_size (m);
    *out = n ? malloc (n) : NULL;
    if (!*out)
        return 0;
    return protobuf_c_message_pack (m, *out);
}

/* The decoded message must re-pack to what arrived, or the struct does not say all that the
 * bytes said: protobuf-c accepts, then loses, an embedded NUL, a repeated singular field, a
 * second oneof member, over-long varints, and each of them shrinks the re-pack. Bytes in the
 * one form protobuf-c writes re-pack alike (xf_wire_as_packed, read on the bytes); only other
 * bytes are packed and compared. A frame
 * must re-pack to as many bytes: nothing in it re-packs longer (no int32, whose negatives
 * may arrive in 5 bytes and re-pack in 10, no packed field, a byte longer when one element
 * arrives unpacked), so no loss hides behind a gain; keep it so. Envelopes have both (dates,
 * Figures), so their re-pack must be a permutation of the bytes received, and a loss could
 * hide only behind a gain of the very same byte values. Unknown fields from a newer build
 * pass: protobuf-c keeps each one, at any depth, value verbatim and tag re-encoded alike,
 * and only moves it after the known fields of its message (so no byte equality, and relays
 * forward the bytes received). Inside one, nothing is checked; this build ignores it. */
static int repacks_to (const ProtobufCMessage *m, const uint8_t *buf, size_t len,
                       int permutation, const char *what, xf_err_t *err)
{
    size_t n = protobuf_c_message_get_packed_size (m), b = 256;
    uint8_t mine[4096], *again = NULL;
    if (n == len && permutation && n) {
        if (!(again = n <= sizeof mine ? mine : malloc (n)))
            return xf_err_set (err, XF_ENOMEM, "%s: out of memory", what);
        protobuf_c_message_pack (m, again);   /* n bytes: its size was just taken */
    }
    /* From a build with the same fields the bytes come back identical (the usual case, and a
     * memcmp); only otherwise count the byte values. */
    if (again && memcmp (again, buf, n) != 0) {
        size_t count[256] = {0};
        for (size_t i = 0; i < n; i++) {
            count[buf[i]]++;
            count[again[i]]--;          /* wraps: a byte value left over is non-zero */
        }
        for (b = 0; b < 256 && !count[b]; b++)
            ;
    }
    if (again != mine)
        free (again);
    if (n != len || b < 256)
        return xf_err_set (err, XF_EINVAL, "%s: %zu bytes re-encode as %zu%s (embedded NUL, "
                           "repeated field or non-canonical encoding)", what, len, n,
                           n == len ? " other bytes" : "");
    return 0;
}

int xf_msg_canonical (const ProtobufCMessage *m, const uint8_t *buf, size_t len,
                      int permutation, const char *what, xf_err_t *err)
{
    if (xf_wire_as_packed (m->descriptor, buf, len))
        return 0;   /* the usual case, read on the bytes: no pack */
    return repacks_to (m, buf, len, permutation, what, err);
}

/* xf_msg_unpack; bounded: the bytes are known to nest no deeper than allowed (xf_wire_sound
 * read them), so they are not measured again. */
static ProtobufCMessage *unpack (const ProtobufCMessageDescriptor *d, const uint8_t *buf,
                                 size_t len, const char *what, bool bounded, xf_err_t *err)
{
    static const uint8_t none[1];
    ProtobufCMessage *m;
    assert ((buf || !len) && "no buffer");
    if (len > XF_MSG_MAX_FRAME) {
        xf_err_set (err, XF_EINVAL, "%s: %zu bytes is over the %d-byte limit", what, len,
                    XF_MSG_MAX_FRAME);
        return NULL;
    }
    buf = buf ? buf : none;
    if (!bounded && xf_wire_depth (d, buf, len, XF_WIRE_MAX_DEPTH) == XF_WIRE_DEEP) {
        xf_err_set (err, XF_EINVAL, "%s: %zu bytes nest messages more than %d deep (%s needs "
                    "far fewer): refused before decoding", what, len, XF_WIRE_MAX_DEPTH,
                    d->short_name);
        return NULL;
    }
    if (!(m = xf_arena_unpack (d, len, buf)))
        xf_err_set (err, XF_EINVAL, "%s: %zu bytes do not decode as %s (truncated or corrupt)",
                    what, len, d->short_name);
    return m;
}

ProtobufCMessage *xf_msg_unpack (const ProtobufCMessageDescriptor *d, const uint8_t *buf,
                                 size_t len, const char *what, xf_err_t *err)
{
    return unpack (d, buf, len, what, false, err);
}

Xf__Envelope *xf_msg_envelope_unpack (const uint8_t *buf, size_t len, xf_err_t *err)
{
    /* The usual envelope, read once on its bytes before anything else: sound (so no deeper
     * than the decoder may go) and canonical, left to check are its rules. Any other goes
     * the whole way, as before, and is refused for the same reason; what the scan said of
     * its form is not asked again (had the walk passed and the form held, it was sound). */
    bool sound = len <= XF_MSG_MAX_FRAME
                 && xf_wire_sound (&xf__envelope__descriptor, buf, len, XF_MSG_MAX_TEXT);
    Xf__Envelope *e = (Xf__Envelope *) unpack (&xf__envelope__descriptor, buf, len, "envelope",
                                               sound, err);
    if (e && (sound ? envelope_check (e, true, err)
                    : xf_msg_envelope_check (e, err)
                          || repacks_to (&e->base, buf, len, 1, "envelope", err)))
        xf_msg_envelope_free (&e);
    return e;
}

void xf_msg_envelope_free (Xf__Envelope **e_p)
{
    if (e_p && *e_p) {
        xf_arena_free (&(*e_p)->base);
        *e_p = NULL;
    }
}

size_t xf_msg_envelope_pack (const Xf__Envelope *e, uint8_t **out)
{
    return xf_msg_pack (&e->base, out);
}

int xf_msg_seal (const Xf__Envelope *e, Xf__SignedEnvelope *out, uint8_t **buf_p,
                 xf_err_t *err)
{
    size_t n;
    int rc;
    *buf_p = NULL;
    if ((rc = xf_msg_envelope_check (e, err)))
        return rc;
    if ((n = xf_msg_pack (&e->base, buf_p)) > XF_MSG_MAX_FRAME) {
        free (*buf_p);
        *buf_p = NULL;
    }
    if (!*buf_p)
        return xf_err_set (err, n ? XF_EINVAL : XF_ENOMEM, "envelope %s/%llu: %s", e->id->origin,
                           (unsigned long long) e->id->seq,
                           n ? "packs over the frame size limit" : "out of memory");
    xf__signed_envelope__init (out);
    out->envelope.data = *buf_p;
    out->envelope.len = n;
    return 0;
}
