/* xf_case_json.c — mapping between xf.Case / xf.CaseEvent and the operator JSON. */
#include "xf_case_json.h"

#include <string.h>

static json_t *day_or_null (xf_day_t day)
{
    char buf[11];
    if (day == 0)
        return json_null ();
    xf_day_format (day, buf);
    return json_string (buf);
}

static json_t *str_or_null (const char *s)
{
    return s && *s ? json_string (s) : json_null ();
}

static json_t *flags_json (const xf_case_t *c, xf_day_t today)
{
    static const struct { unsigned bit; const char *name; } names[] = {
        {XF__CASE_FLAG__FLAG_REPEAT, "repeat"},     {XF__CASE_FLAG__FLAG_SKIP_LEVEL, "skip_level"},
        {XF__CASE_FLAG__FLAG_GROUP, "group"},       {XF__CASE_FLAG__FLAG_EXTENDED, "extended"},
        {XF__CASE_FLAG__FLAG_OVERDUE, "overdue"},   {XF__CASE_FLAG__FLAG_LATE, "late"},
        {XF__CASE_FLAG__FLAG_ONSITE, "onsite"},     {XF__CASE_FLAG__FLAG_FINAL, "final"},
    };
    unsigned flags = c->flags;
    if (xf_case_is_overdue (c, today))
        flags |= XF__CASE_FLAG__FLAG_OVERDUE;
    json_t *a = json_array ();
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (flags & names[i].bit)
            json_array_append_new (a, json_string (names[i].name));
    return a;
}

static void set_str (json_t *o, const char *key, const char *s)
{
    if (s && *s)
        json_object_set_new (o, key, json_string (s));
}

json_t *xf_case_to_json (const xf_case_t *c, xf_day_t today)
{
    json_t *o = json_object ();
    json_object_set_new (o, "id", json_string (c->id));
    json_object_set_new (o, "origin", json_string (c->origin));
    json_object_set_new (o, "owner", json_string (c->owner));
    json_object_set_new (o, "supervisor", str_or_null (c->supervisor));
    json_object_set_new (o, "handler", str_or_null (c->n_assigned_to ? c->assigned_to[c->n_assigned_to - 1]
                                                                     : NULL));
    json_object_set_new (o, "status", json_string (xf_status_name (c->status)));
    json_object_set_new (o, "channel", json_string (xf_channel_name (c->channel)));
    json_object_set_new (o, "category", json_string (xf_category_name (c->category)));
    json_object_set_new (o, "subject", c->subject ? json_integer (c->subject) : json_null ());
    json_object_set_new (o, "summary", json_string (c->summary));
    json_object_set_new (o, "received", day_or_null (c->received));
    json_object_set_new (o, "registered", day_or_null (c->registered));
    json_object_set_new (o, "accept_due", day_or_null (c->accept_due));
    json_object_set_new (o, "decided", day_or_null (c->decided));
    json_object_set_new (o, "handle_due", day_or_null (c->handle_due));
    json_object_set_new (o, "extension_days", json_integer (c->extension_days));
    json_object_set_new (o, "reported", day_or_null (c->reported));
    json_object_set_new (o, "closed", day_or_null (c->closed));
    json_object_set_new (o, "anonymous", json_boolean (c->anonymous));
    json_object_set_new (o, "headcount", json_integer (c->headcount));
    if (c->review_level)
        json_object_set_new (o, "review_level", json_integer (c->review_level));
    if (c->new_matter)
        json_object_set_new (o, "new_matter", json_true ());
    if (c->representatives)
        json_object_set_new (o, "representatives", json_integer (c->representatives));
    json_object_set_new (o, "flags", flags_json (c, today));
    const Xf__Petitioner *p = c->petitioner;
    if (p && (*p->name || *p->id_number || *p->phone || *p->address)) {
        json_t *po = json_object ();
        set_str (po, "name", p->name);
        set_str (po, "id_number", p->id_number);
        set_str (po, "phone", p->phone);
        set_str (po, "address", p->address);
        json_object_set_new (o, "petitioner", po);
    }
    if (c->n_sealed) {   /* who can read the identity; "sealed" when this office cannot */
        json_t *to = json_array ();
        for (size_t i = 0; i < c->n_sealed; i++)
            json_array_append_new (to, json_string (c->sealed[i]->recipient));
        json_object_set_new (o, "identity", json_string (c->petitioner ? "open" : "sealed"));
        json_object_set_new (o, "sealed_for", to);
    }
    const Xf__Accused *a = c->accused;
    if (a && (*a->name || *a->unit || a->rank)) {
        json_t *ao = json_object ();
        set_str (ao, "name", a->name);
        set_str (ao, "unit", a->unit);
        if (a->rank)
            json_object_set_new (ao, "rank", json_string (xf_rank_name (a->rank)));
        json_object_set_new (o, "accused", ao);
    }
    json_object_set_new (o, "urges", json_integer (c->urges));
    json_object_set_new (o, "filed", json_boolean (c->filed));
    json_object_set_new (o, "round", json_integer (c->round));
    set_str (o, "leader", c->leader);   /* read back by xf_case_from_json */
    set_str (o, "reject_reason", c->reject_reason);
    set_str (o, "reply", c->reply);
    json_object_set_new (o, "query_code", json_string (c->query_code));
    json_t *held = json_array ();   /* every office its events go to: each holds the case */
    const char *first[] = {c->origin, c->owner};
    for (size_t i = 0; i < 2 + c->n_watchers; i++) {
        const char *code = i < 2 ? first[i] : c->watchers[i - 2];
        bool dup = !*code;
        for (size_t k = 0; k < json_array_size (held) && !dup; k++)
            dup = strcmp (json_string_value (json_array_get (held, k)), code) == 0;
        if (!dup)
            json_array_append_new (held, json_string (code));
    }
    json_object_set_new (o, "held_by", held);
    if (c->n_repeat_of) {
        json_t *r = json_array ();
        for (size_t i = 0; i < c->n_repeat_of; i++)
            json_array_append_new (r, json_string (c->repeat_of[i]));
        json_object_set_new (o, "repeat_of", r);
    }
    return o;
}

/* ---------------------------------------------------------------- reading a registration */

static const char *const assigned_keys[] = {
    "id", "origin", "owner", "supervisor", "status", "registered", "accept_due", "decided",
    "handle_due", "extension_days", "handler", "reported", "closed", "urges", "filed", "round",
    "reject_reason", "reply", "query_code", "repeat_of", "review_level", "held_by", "identity",
    "sealed_for", NULL,
};

static bool is_assigned (const char *key)
{
    for (int i = 0; assigned_keys[i]; i++)
        if (strcmp (key, assigned_keys[i]) == 0)
            return true;
    return false;
}

static int want_string (const char *key, const json_t *v, const char **out, xf_err_t *err)
{
    if (json_is_null (v)) {
        *out = NULL;
        return XF_OK;
    }
    if (!json_is_string (v))
        return xf_err_set (err, XF_EINVAL, "\"%s\" must be a string", key);
    *out = json_string_value (v);
    if (strlen (*out) != json_string_length (v))
        return xf_err_set (err, XF_EINVAL, "\"%s\" contains a NUL character", key);
    return XF_OK;
}

static int read_string (const char *key, const json_t *v, char **field, xf_err_t *err)
{
    const char *s = NULL;
    int rc = want_string (key, v, &s, err);
    if (rc == XF_OK && xf_case_set (field, s))
        rc = xf_err_set (err, XF_ENOMEM, "out of memory");
    return rc;
}

static int read_enum (const char *key, const json_t *v, int (*parse) (const char *), int *out,
                      const char *allowed, xf_err_t *err)
{
    const char *s = NULL;
    int rc = want_string (key, v, &s, err);
    if (rc != XF_OK)
        return rc;
    if (!s) {
        *out = 0;
        return XF_OK;
    }
    if (!(*out = parse (s)))
        return xf_err_set (err, XF_EINVAL, "\"%s\" is \"%s\"; expected one of %s", key, s, allowed);
    return XF_OK;
}

static int read_uint (const char *key, const json_t *v, uint32_t lo, uint32_t hi, uint32_t *out,
                      xf_err_t *err)
{
    if (json_is_null (v))
        return XF_OK;
    if (!json_is_integer (v) || json_integer_value (v) < lo || json_integer_value (v) > hi)
        return xf_err_set (err, XF_EINVAL, "\"%s\" must be a whole number from %u to %u", key, lo, hi);
    *out = (uint32_t) json_integer_value (v);
    return XF_OK;
}

static int read_bool (const char *key, const json_t *v, bool *out, xf_err_t *err)
{
    if (!json_is_boolean (v))
        return xf_err_set (err, XF_EINVAL, "\"%s\" must be true or false", key);
    *out = json_is_true (v);
    return XF_OK;
}

static int read_petitioner (const json_t *v, xf_case_t *c, xf_err_t *err)
{
    if (json_is_null (v))
        return XF_OK;
    if (!json_is_object (v))
        return xf_err_set (err, XF_EINVAL, "\"petitioner\" must be an object");
    if (!c->petitioner) {
        c->petitioner = malloc (sizeof *c->petitioner);
        if (!c->petitioner)
            return xf_err_set (err, XF_ENOMEM, "out of memory");
        xf__petitioner__init (c->petitioner);
    }
    Xf__Petitioner *p = c->petitioner;
    const char *key;
    json_t *val;
    json_object_foreach ((json_t *) v, key, val) {
        char **field = strcmp (key, "name") == 0        ? &p->name
                       : strcmp (key, "id_number") == 0 ? &p->id_number
                       : strcmp (key, "phone") == 0     ? &p->phone
                       : strcmp (key, "address") == 0   ? &p->address
                                                        : NULL;
        if (!field)
            return xf_err_set (err, XF_EINVAL, "unknown key \"petitioner.%s\" (expected name, "
                               "id_number, phone, address)", key);
        int rc = read_string (key, val, field, err);
        if (rc != XF_OK)
            return xf_err_prefix (err, "petitioner");
    }
    return XF_OK;
}

static int read_accused (const json_t *v, xf_case_t *c, xf_err_t *err)
{
    if (json_is_null (v))
        return XF_OK;
    if (!json_is_object (v))
        return xf_err_set (err, XF_EINVAL, "\"accused\" must be an object");
    if (!c->accused) {
        c->accused = malloc (sizeof *c->accused);
        if (!c->accused)
            return xf_err_set (err, XF_ENOMEM, "out of memory");
        xf__accused__init (c->accused);
    }
    Xf__Accused *a = c->accused;
    const char *key;
    json_t *val;
    json_object_foreach ((json_t *) v, key, val) {
        int rc, rank = 0;
        if (strcmp (key, "name") == 0)
            rc = read_string ("accused.name", val, &a->name, err);
        else if (strcmp (key, "unit") == 0)
            rc = read_string ("accused.unit", val, &a->unit, err);
        else if (strcmp (key, "rank") == 0) {
            rc = read_enum ("accused.rank", val, xf_rank_parse, &rank,
                            "province, prefecture, county, township, general, village", err);
            a->rank = (Xf__Rank) rank;
        } else
            rc = xf_err_set (err, XF_EINVAL, "unknown key \"accused.%s\" (expected name, unit, rank)", key);
        if (rc != XF_OK)
            return rc;
    }
    return XF_OK;
}

static int read_flags (const json_t *v, xf_case_t *c, xf_err_t *err)
{
    size_t i;
    json_t *f;
    if (!json_is_array (v))
        return xf_err_set (err, XF_EINVAL, "\"flags\" must be an array of strings");
    json_array_foreach ((json_t *) v, i, f) {
        if (!json_is_string (f))
            return xf_err_set (err, XF_EINVAL, "\"flags\" must be an array of strings");
        if (strcmp (json_string_value (f), "skip_level") == 0)   /* the only flag one declares */
            c->flags |= XF__CASE_FLAG__FLAG_SKIP_LEVEL;
    }
    return XF_OK;
}

static int read_field (const char *key, const json_t *v, xf_case_t *c, xf_err_t *err)
{
    int rc = XF_OK, e = 0;
    if (strcmp (key, "channel") == 0) {
        rc = read_enum (key, v, xf_channel_parse, &e, "letter, visit, phone, email, online", err);
        c->channel = (Xf__Channel) e;
    } else if (strcmp (key, "category") == 0) {
        rc = read_enum (key, v, xf_category_parse, &e, "accusation, appeal, inquiry", err);
        c->category = (Xf__Category) e;
    } else if (strcmp (key, "summary") == 0)
        rc = read_string (key, v, &c->summary, err);
    else if (strcmp (key, "received") == 0) {
        const char *s = NULL;
        if ((rc = want_string (key, v, &s, err)) == XF_OK && s
            && (rc = xf_day_parse (s, &c->received, err)) != XF_OK)
            rc = xf_err_prefix (err, "\"%s\"", key);   /* name the key, like every refusal */
    } else if (strcmp (key, "subject") == 0)
        rc = read_uint (key, v, 1, XF_SUBJECTS, &c->subject, err);
    else if (strcmp (key, "headcount") == 0)
        rc = read_uint (key, v, 1, 100000, &c->headcount, err);
    else if (strcmp (key, "new_matter") == 0) {
        bool new_matter = false;
        rc = read_bool (key, v, &new_matter, err);
        c->new_matter = new_matter;
    } else if (strcmp (key, "representatives") == 0)
        rc = read_uint (key, v, 1, 100000, &c->representatives, err);
    else if (strcmp (key, "anonymous") == 0) {
        bool anonymous = false;
        rc = read_bool (key, v, &anonymous, err);
        c->anonymous = anonymous;
    }
    else if (strcmp (key, "skip_level") == 0) {
        bool skip = false;
        if ((rc = read_bool (key, v, &skip, err)) == XF_OK && skip)
            c->flags |= XF__CASE_FLAG__FLAG_SKIP_LEVEL;
    } else if (strcmp (key, "flags") == 0)
        rc = read_flags (v, c, err);
    else if (strcmp (key, "leader") == 0)
        rc = read_string (key, v, &c->leader, err);
    else if (strcmp (key, "petitioner") == 0)
        rc = read_petitioner (v, c, err);
    else if (strcmp (key, "accused") == 0)
        rc = read_accused (v, c, err);
    else if (!is_assigned (key))
        rc = xf_err_set (err, XF_EINVAL, "unknown key \"%s\"", key);
    return rc;
}

int xf_case_from_json (const json_t *obj, xf_case_t *c, xf_day_t today, xf_err_t *err)
{
    if (!json_is_object (obj))
        return xf_err_set (err, XF_EINVAL, "a case must be a JSON object");
    const char *key;
    json_t *v;
    c->headcount = 1;
    json_object_foreach ((json_t *) obj, key, v) {
        int rc = read_field (key, v, c, err);
        if (rc != XF_OK)
            return rc;
    }
    if (c->received == 0)
        c->received = today;
    return XF_OK;
}

/* ---------------------------------------------------------------- events */

const char *xf_event_type (const Xf__CaseEvent *ev)
{
    switch (ev->body_case) {
    case XF__CASE_EVENT__BODY_REGISTRATION: return "register";
    case XF__CASE_EVENT__BODY_ACCEPTANCE:   return "accept";
    case XF__CASE_EVENT__BODY_REJECTION:    return "reject";
    case XF__CASE_EVENT__BODY_ESCALATION:   return "escalate";
    case XF__CASE_EVENT__BODY_ASSIGNMENT:   return "assign";
    case XF__CASE_EVENT__BODY_TRANSFER:     return "transfer";
    case XF__CASE_EVENT__BODY_URGE:         return "urge";
    case XF__CASE_EVENT__BODY_EXTENSION:    return "extend";
    case XF__CASE_EVENT__BODY_REPORT:       return "report";
    case XF__CASE_EVENT__BODY_SEND_BACK:    return "send_back";
    case XF__CASE_EVENT__BODY_INSTRUCTION:  return "instruct";
    case XF__CASE_EVENT__BODY_CLOSING:      return "close";
    case XF__CASE_EVENT__BODY_REVIEW:       return "review";
    case XF__CASE_EVENT__BODY_OVERDUE:      return "overdue";
    case XF__CASE_EVENT__BODY_RETURNED:     return "returned";
    default:                                return "unknown";
    }
}

static void body_json (json_t *o, const Xf__CaseEvent *ev)
{
    switch (ev->body_case) {
    case XF__CASE_EVENT__BODY_ACCEPTANCE:
        json_object_set_new (o, "filed", json_boolean (ev->acceptance->filed));
        json_object_set_new (o, "handle_due", day_or_null (ev->acceptance->handle_due));
        break;
    case XF__CASE_EVENT__BODY_REJECTION:
        json_object_set_new (o, "reason", json_string (ev->rejection->reason));
        break;
    case XF__CASE_EVENT__BODY_EXTENSION:
        json_object_set_new (o, "days", json_integer (ev->extension->days));
        json_object_set_new (o, "reason", json_string (ev->extension->reason));
        json_object_set_new (o, "handle_due", day_or_null (ev->extension->handle_due));
        break;
    case XF__CASE_EVENT__BODY_CLOSING:
        json_object_set_new (o, "reply", json_string (ev->closing->reply));
        json_object_set_new (o, "on_time", json_boolean (ev->closing->on_time));
        break;
    case XF__CASE_EVENT__BODY_OVERDUE:
        json_object_set_new (o, "due", day_or_null (ev->overdue->due));
        json_object_set_new (o, "stage", json_string (ev->overdue->stage));
        break;
    case XF__CASE_EVENT__BODY_ESCALATION:
        json_object_set_new (o, "to", json_string (ev->escalation->to));
        json_object_set_new (o, "note", json_string (ev->escalation->note));
        break;
    case XF__CASE_EVENT__BODY_RETURNED:
        json_object_set_new (o, "to", json_string (ev->returned->to));
        json_object_set_new (o, "reason", json_string (ev->returned->reason));
        json_object_set_new (o, "by", json_string (ev->returned->by));
        break;
    case XF__CASE_EVENT__BODY_URGE:
        json_object_set_new (o, "note", json_string (ev->urge->note));
        json_object_set_new (o, "number", json_integer (ev->urge->number));
        json_object_set_new (o, "automatic", json_boolean (ev->urge->automatic));
        json_object_set_new (o, "by", str_or_null (ev->urge->by));
        json_object_set_new (o, "due", day_or_null (ev->urge->due));
        break;
    case XF__CASE_EVENT__BODY_REVIEW:
        json_object_set_new (o, "reason", json_string (ev->review->reason));
        json_object_set_new (o, "by", str_or_null (ev->review->by));
        json_object_set_new (o, "level", json_integer (ev->review->level));
        json_object_set_new (o, "due", day_or_null (ev->review->due));
        break;
    case XF__CASE_EVENT__BODY_ASSIGNMENT:
        json_object_set_new (o, "to", json_string (ev->assignment->to));
        json_object_set_new (o, "note", json_string (ev->assignment->note));
        break;
    case XF__CASE_EVENT__BODY_TRANSFER:
        json_object_set_new (o, "to", json_string (ev->transfer->to));
        json_object_set_new (o, "note", json_string (ev->transfer->note));
        break;
    case XF__CASE_EVENT__BODY_REPORT: {
        json_t *items = json_array ();
        for (size_t i = 0; i < ev->report->n_items; i++)
            json_array_append_new (items, json_string (ev->report->items[i]));
        json_object_set_new (o, "to", str_or_null (ev->report->to));
        json_object_set_new (o, "result", json_string (ev->report->result));
        json_object_set_new (o, "items", items);
        json_object_set_new (o, "late", json_boolean (ev->report->late));
        break;
    }
    case XF__CASE_EVENT__BODY_SEND_BACK:
        json_object_set_new (o, "to", str_or_null (ev->send_back->to));
        json_object_set_new (o, "reason", json_string (ev->send_back->reason));
        json_object_set_new (o, "round", json_integer (ev->send_back->round));
        json_object_set_new (o, "handle_due", day_or_null (ev->send_back->handle_due));
        break;
    default:
        break;
    }
}

json_t *xf_event_to_json (const Xf__CaseEvent *ev)
{
    char at[26];
    xf_time_format (ev->at, at);
    json_t *o = json_object ();
    json_object_set_new (o, "seq", json_integer (ev->seq));
    json_object_set_new (o, "at", json_string (at));
    json_object_set_new (o, "office", json_string (ev->office));
    json_object_set_new (o, "operator_uid", json_integer (ev->operator_uid));
    json_object_set_new (o, "type", json_string (xf_event_type (ev)));
    body_json (o, ev);
    return o;
}
