/* xf_case.c — case rules: vocabulary, validation of a registration, the status machine
 * (registered → in_progress | rejected; in_progress → closed) and the deadlines of
 * DESIGN §1 in calendar days. */
#include "xf_case.h"
#include "xf_arena.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const channels[] = {NULL, "letter", "visit", "phone", "email", "online"};
static const char *const categories[] = {NULL, "accusation", "appeal", "inquiry"};
static const char *const ranks[] = {NULL,       "province", "prefecture", "county",
                                    "township", "general",  "village"};
static const char *const statuses[] = {NULL,          "registered", "rejected",
                                       "in_progress", "reported",   "closed"};
#define COUNT(a) ((int) (sizeof (a) / sizeof (a)[0]))

static const char *name_of (const char *const *names, int n, int v)
{
    return v > 0 && v < n ? names[v] : "unspecified";
}

static int parse_name (const char *const *names, int n, const char *s)
{
    for (int i = 1; s && i < n; i++)
        if (strcmp (s, names[i]) == 0)
            return i;
    return 0;
}

const char *xf_channel_name (int v) { return name_of (channels, COUNT (channels), v); }
int xf_channel_parse (const char *s) { return parse_name (channels, COUNT (channels), s); }
const char *xf_category_name (int v) { return name_of (categories, COUNT (categories), v); }
int xf_category_parse (const char *s) { return parse_name (categories, COUNT (categories), s); }
const char *xf_rank_name (int v) { return name_of (ranks, COUNT (ranks), v); }
int xf_rank_parse (const char *s) { return parse_name (ranks, COUNT (ranks), s); }
const char *xf_status_name (int v) { return name_of (statuses, COUNT (statuses), v); }
int xf_status_parse (const char *s) { return parse_name (statuses, COUNT (statuses), s); }

xf_case_t *xf_case_new (void)
{
    xf_case_t *c = malloc (sizeof *c);
    if (c)
        xf__case__init (c);
    return c;
}

void xf_case_destroy (xf_case_t **c_p)
{
    if (c_p && *c_p) {
        xf__case__free_unpacked (*c_p, NULL);
        *c_p = NULL;
    }
}

xf_case_t *xf_case_unpack (const void *buf, size_t len, xf_err_t *err)
{
    xf_case_t *c = xf__case__unpack (NULL, len, buf);
    if (!c)
        xf_err_set (err, XF_ESTORE, "case record of %zu bytes does not decode", len);
    return c;
}

xf_case_t *xf_case_unpack_view (const void *buf, size_t len, xf_err_t *err)
{
    xf_case_t *c = (xf_case_t *) xf_arena_unpack (&xf__case__descriptor, len, buf);
    if (!c)
        xf_err_set (err, XF_ESTORE, "case record of %zu bytes does not decode", len);
    return c;
}

void xf_case_view_destroy (xf_case_t **c_p)
{
    if (c_p && *c_p) {
        xf_arena_free (&(*c_p)->base);
        *c_p = NULL;
    }
}

uint8_t *xf_case_pack (const xf_case_t *c, size_t *len)
{
    *len = xf__case__get_packed_size (c);
    uint8_t *buf = malloc (*len ? *len : 1);
    if (buf)
        xf__case__pack (c, buf);
    return buf;
}

xf_case_t *xf_case_copy (const xf_case_t *c)
{
    size_t len = 0;
    uint8_t *buf = xf_case_pack (c, &len);
    xf_case_t *copy = buf ? xf__case__unpack (NULL, len, buf) : NULL;
    free (buf);
    return copy;
}

int xf_case_set (char **field, const char *value)
{
    char *dup = strdup (value ? value : "");
    if (!dup)
        return XF_ENOMEM;
    if (*field && *field != protobuf_c_empty_string)
        free (*field);
    *field = dup;
    return XF_OK;
}

bool xf_id_number_valid (const char *s)
{
    static const int weight[17] = {7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2};
    static const char check[] = "10X98765432";
    size_t n = strlen (s);
    if (n == 15) {
        for (size_t i = 0; i < n; i++)
            if (!isdigit ((unsigned char) s[i]))
                return false;
        return true;
    }
    if (n != 18)
        return false;
    int sum = 0;
    for (int i = 0; i < 17; i++) {
        if (!isdigit ((unsigned char) s[i]))
            return false;
        sum += (s[i] - '0') * weight[i];
    }
    return toupper ((unsigned char) s[17]) == check[sum % 11];
}

static bool phone_valid (const char *s)
{
    size_t digits = 0, n = strlen (s);
    for (size_t i = 0; i < n; i++) {
        if (isdigit ((unsigned char) s[i]))
            digits++;
        else if (!strchr ("+- ()", s[i]))
            return false;
    }
    return digits >= 5 && digits <= 20;
}

static bool has (const char *s)
{
    return s && *s;
}

int xf_case_check_text (const char *what, const char *s, size_t max, bool required, xf_err_t *err)
{
    if (required && !has (s))
        return xf_err_set (err, XF_EINVAL, "%s is required", what);
    if (s && strlen (s) > max)
        return xf_err_set (err, XF_EINVAL, "%s is %zu bytes; the limit is %zu", what, strlen (s), max);
    return XF_OK;
}

static int check_identity (const xf_case_t *c, xf_err_t *err)
{
    const Xf__Petitioner *p = c->petitioner;
    bool any = p && (has (p->name) || has (p->id_number) || has (p->phone) || has (p->address));
    if (c->anonymous && any)
        return xf_err_set (err, XF_EINVAL, "an anonymous petition carries no name, id number, "
                                           "phone or address");
    if (!any)
        return XF_OK;
    int rc;
    if ((rc = xf_case_check_text ("petitioner name", p->name, 200, false, err))
        || (rc = xf_case_check_text ("petitioner address", p->address, 1000, false, err)))
        return rc;
    if (has (p->id_number) && !xf_id_number_valid (p->id_number))
        return xf_err_set (err, XF_EINVAL, "id number \"%s\" is not a valid resident identity "
                           "number (18 characters with a correct check digit)", p->id_number);
    if (has (p->phone) && !phone_valid (p->phone))
        return xf_err_set (err, XF_EINVAL, "phone \"%s\" is not a phone number", p->phone);
    return XF_OK;
}

int xf_case_check_new (const xf_case_t *c, xf_day_t today, xf_err_t *err)
{
    int rc;
    if (c->channel <= 0 || c->channel >= COUNT (channels))
        return xf_err_set (err, XF_EINVAL, "channel is required: letter, visit, phone, email or online");
    if (c->category <= 0 || c->category >= COUNT (categories))
        return xf_err_set (err, XF_EINVAL, "category is required: accusation, appeal or inquiry");
    if ((rc = xf_case_check_text ("summary", c->summary, XF_SUMMARY_MAX, true, err)))
        return rc;
    if (c->received == 0)
        return xf_err_set (err, XF_EINVAL, "received date is required");
    if (c->received > today) {
        char r[11], t[11];
        xf_day_format (c->received, r), xf_day_format (today, t);
        return xf_err_set (err, XF_EINVAL, "received date %s is after today (%s)", r, t);
    }
    if (c->subject > XF_SUBJECTS)
        return xf_err_set (err, XF_EINVAL, "subject %u is not one of the 8 areas (1..8)", c->subject);
    if (c->headcount < 1 || c->headcount > 100000)
        return xf_err_set (err, XF_EINVAL, "headcount must be from 1 to 100000, not %u", c->headcount);
    if (c->representatives > XF_GROUP_REPRESENTATIVES)
        return xf_err_set (err, XF_EINVAL, "a group petition chooses at most %d representatives "
                           "(信访条例第十八条: 代表人数不超过5人), not %u",
                           XF_GROUP_REPRESENTATIVES, c->representatives);
    if (c->representatives > c->headcount)
        return xf_err_set (err, XF_EINVAL, "%u representatives for a petition of %u people: "
                           "representatives come from the petitioners", c->representatives,
                           c->headcount);
    if (c->accused) {
        if (c->accused->rank < 0 || c->accused->rank >= COUNT (ranks))
            return xf_err_set (err, XF_EINVAL, "accused rank is not one of province, prefecture, "
                                               "county, township, general, village");
        if ((rc = xf_case_check_text ("accused name", c->accused->name, 200, false, err))
            || (rc = xf_case_check_text ("accused unit", c->accused->unit, 500, false, err)))
            return rc;
    }
    return check_identity (c, err);
}

int xf_case_register (xf_case_t *c, const char *id, const char *office, xf_day_t today,
                      const xf_limits_t *lim, xf_err_t *err)
{
    int rc = xf_case_check_new (c, today, err);
    if (rc != XF_OK)
        return rc;
    if (xf_case_set (&c->id, id) || xf_case_set (&c->origin, office) || xf_case_set (&c->owner, office))
        return xf_err_set (err, XF_ENOMEM, "out of memory");
    c->status = XF__STATUS__REGISTERED;
    c->registered = today;
    c->accept_due = c->received + lim->accept_days;
    c->round = 1;
    if (c->headcount >= XF_GROUP_HEADCOUNT)
        c->flags |= XF__CASE_FLAG__FLAG_GROUP;
    return XF_OK;
}

int xf_case_check_owner (const xf_case_t *c, const char *office, const char *action, xf_err_t *err)
{
    if (strcmp (c->owner, office) != 0)
        return xf_err_set (err, XF_EPERM, "case %s is owned by office %s; only the owner can %s it",
                           c->id, c->owner, action);
    return XF_OK;
}

static int refuse_status (const xf_case_t *c, const char *action, const char *needed, xf_err_t *err)
{
    return xf_err_set (err, XF_ESTATE, "case %s is %s; only a %s case can be %s", c->id,
                       xf_status_name (c->status), needed, action);
}

int xf_case_accept (xf_case_t *c, const char *office, xf_day_t today, bool file,
                    const xf_limits_t *lim, xf_err_t *err)
{
    int rc = xf_case_check_owner (c, office, "accept", err);
    if (rc != XF_OK)
        return rc;
    if (c->status != XF__STATUS__REGISTERED)
        return refuse_status (c, "accepted", "registered", err);
    if (today > c->accept_due)
        c->flags |= XF__CASE_FLAG__FLAG_LATE;
    c->flags &= ~(uint32_t) XF__CASE_FLAG__FLAG_OVERDUE;   /* leaving the stage ends "overdue" */
    c->status = XF__STATUS__IN_PROGRESS;
    c->decided = today;
    c->handle_due = today + lim->handle_days;
    c->filed = file;
    return XF_OK;
}

/* The office `office` owes the result of an assigned case to, while it holds the case: as its
 * handler, or as a supervisor reviewing a report that was itself assigned the case. */
static const char *owed_to (const xf_case_t *c, const char *office)
{
    size_t n = c->n_assigned_to;
    if (c->status == XF__STATUS__REPORTED)
        return n >= 2 && strcmp (c->assigned_to[n - 2], office) == 0 ? c->assigned_by[n - 2] : NULL;
    return n && strcmp (c->assigned_to[n - 1], office) == 0 ? c->assigned_by[n - 1] : NULL;
}

int xf_case_reject (xf_case_t *c, const char *office, xf_day_t today, const char *reason,
                    xf_err_t *err)
{
    int rc = xf_case_check_owner (c, office, "reject", err);
    if (rc == XF_OK)
        rc = xf_case_check_text ("reason", reason, XF_TEXT_MAX, true, err);
    if (rc != XF_OK)
        return rc;
    const char *owed = owed_to (c, office);
    if (owed)
        return xf_err_set (err, XF_ESTATE, "case %s was assigned to this office by office %s, "
                           "which is owed the result: accept it and report (case report), or "
                           "transfer it to the office responsible", c->id, owed);
    if (c->status != XF__STATUS__REGISTERED)
        return refuse_status (c, "rejected", "registered", err);
    if (xf_case_set (&c->reject_reason, reason))
        return xf_err_set (err, XF_ENOMEM, "out of memory");
    if (today > c->accept_due)
        c->flags |= XF__CASE_FLAG__FLAG_LATE;
    c->flags &= ~(uint32_t) XF__CASE_FLAG__FLAG_OVERDUE;   /* leaving the stage ends "overdue" */
    c->status = XF__STATUS__REJECTED;
    c->decided = today;
    return XF_OK;
}

int xf_case_extend (xf_case_t *c, const char *office, xf_day_t today, int days,
                    const char *reason, const xf_limits_t *lim, xf_err_t *err)
{
    int rc = xf_case_check_owner (c, office, "extend", err);
    if (rc == XF_OK)
        rc = xf_case_check_text ("reason", reason, XF_TEXT_MAX, true, err);
    if (rc != XF_OK)
        return rc;
    if (c->status != XF__STATUS__IN_PROGRESS)
        return refuse_status (c, "extended", "in_progress", err);
    if (c->flags & XF__CASE_FLAG__FLAG_EXTENDED)
        return xf_err_set (err, XF_ESTATE, "case %s was already extended by %u days; the handling "
                           "limit allows one extension only", c->id, c->extension_days);
    if (days < 1 || days > lim->max_extension_days)
        return xf_err_set (err, XF_EINVAL, "an extension is from 1 to %d days (max_extension_days), "
                           "not %d", lim->max_extension_days, days);
    if (today > c->handle_due) {
        char due[11];
        xf_day_format (c->handle_due, due);
        return xf_err_set (err, XF_ESTATE, "case %s passed its handling deadline %s (handle_days "
                           "%d); an extension must be granted before the deadline", c->id, due,
                           lim->handle_days);
    }
    c->extension_days = (uint32_t) days;
    c->handle_due += days;
    c->flags |= XF__CASE_FLAG__FLAG_EXTENDED;
    return XF_OK;
}

int xf_case_close (xf_case_t *c, const char *office, xf_day_t today, const char *reply,
                   xf_err_t *err)
{
    int rc = xf_case_check_owner (c, office, "close", err);
    if (rc == XF_OK)
        rc = xf_case_check_text ("reply", reply, XF_TEXT_MAX, true, err);
    if (rc != XF_OK)
        return rc;
    const char *owed = owed_to (c, office);
    if (owed)
        return xf_err_set (err, XF_ESTATE, "case %s was assigned to this office by office %s, "
                           "which is owed the result: send it a report (case report) instead",
                           c->id, owed);
    if (c->status != XF__STATUS__IN_PROGRESS && c->status != XF__STATUS__REPORTED)
        return refuse_status (c, "closed", "in_progress or reported", err);
    if (xf_case_set (&c->reply, reply))
        return xf_err_set (err, XF_ENOMEM, "out of memory");
    if (today > c->handle_due)
        c->flags |= XF__CASE_FLAG__FLAG_LATE;
    c->flags &= ~(uint32_t) XF__CASE_FLAG__FLAG_OVERDUE;   /* leaving the stage ends "overdue" */
    c->status = XF__STATUS__CLOSED;
    c->closed = today;
    if (c->review_level >= XF_REVIEW_LEVELS)
        c->flags |= XF__CASE_FLAG__FLAG_FINAL;   /* the 复核 decision ends the matter */
    return XF_OK;
}

bool xf_case_is_open (const xf_case_t *c)
{
    return c->status == XF__STATUS__REGISTERED || c->status == XF__STATUS__IN_PROGRESS;
}

xf_day_t xf_case_due (const xf_case_t *c)
{
    switch (c->status) {
    case XF__STATUS__REGISTERED:  return c->accept_due;
    case XF__STATUS__IN_PROGRESS: return c->handle_due;
    default:                      return 0;
    }
}

bool xf_case_is_overdue (const xf_case_t *c, xf_day_t today)
{
    xf_day_t due = xf_case_due (c);
    return due != 0 && today > due;
}

int xf_case_format_id (char out[XF_CASE_ID_MAX], const char *office, int year, uint64_t seq,
                       xf_err_t *err)
{
    if (seq < 1 || seq > 999999)
        return xf_err_set (err, XF_ESTATE, "office %s has used all 999999 case numbers of %d",
                           office, year);
    snprintf (out, XF_CASE_ID_MAX, "%s-%04d-%06llu", office, year, (unsigned long long) seq);
    return XF_OK;
}
