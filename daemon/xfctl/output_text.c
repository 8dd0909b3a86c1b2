/* output_text.c — results for people: key/value listings for one case or the node status,
 * aligned tables for lists, histories and statistics. Every string from the daemon is
 * cleaned to one printable line before it reaches the terminal. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "output.h"
#include "text.h"
#include "xfctl.h"

#define SUMMARY_WIDTH 30

static const json_t *member (const json_t *o, const char *key)
{
    const json_t *v = json_object_get (o, key);
    return v ? v : json_null ();   /* the null singleton: no reference to drop */
}

/* A scalar as text (caller frees): strings as they are, true/false as yes/no, null as "—";
 * arrays of scalars joined with ", ", anything else compact JSON. */
static char *scalar (const json_t *v)
{
    switch (json_typeof (v)) {
    case JSON_STRING:  return xstrdup (json_string_value (v));
    case JSON_INTEGER: return xasprintf ("%" JSON_INTEGER_FORMAT, json_integer_value (v));
    case JSON_REAL:    return xasprintf ("%g", json_real_value (v));
    case JSON_TRUE:    return xstrdup ("yes");
    case JSON_FALSE:   return xstrdup ("no");
    case JSON_NULL:    return xstrdup ("—");
    case JSON_ARRAY: {
        if (json_array_size (v) == 0)
            return xstrdup ("—");
        char *s = xstrdup ("");
        size_t i;
        json_t *e;
        json_array_foreach (v, i, e) {
            char *item = json_is_object (e) || json_is_array (e) ? NULL : scalar (e);
            char *next = xasprintf ("%s%s%s", s, i ? ", " : "", item ? item : "…");
            free (item), free (s);
            s = next;
        }
        return s;
    }
    case JSON_OBJECT:
    default: {
        char *s = json_dumps (v, JSON_COMPACT);
        return s ? s : xstrdup ("{…}");
    }
    }
}

static char *label_of (const char *prefix, const char *key)
{
    char *l = prefix ? xasprintf ("%s %s", prefix, key) : xstrdup (key);
    for (char *p = l; *p; p++)
        *p = *p == '_' ? ' ' : *p;
    return l;
}

/* A key/value listing: labels in the first column, aligned however wide they are. */
static text_table_t *kv_new (void)
{
    return text_table_new (2, NULL);
}

static void kv_line (text_table_t *t, const char *label, const json_t *v)
{
    char *val = scalar (v);
    const char *row[] = {label, val};
    text_table_add (t, row);
    free (val);
}

/* Every member of obj, nested objects as "parent key" lines; keys in skip are left out. */
static void kv_all (text_table_t *t, const json_t *obj, const char *prefix, const char *const *skip)
{
    const char *key;
    json_t *v;
    json_object_foreach ((json_t *) obj, key, v) {
        bool skipped = false;
        for (size_t i = 0; skip && skip[i] && !skipped; i++)
            skipped = strcmp (skip[i], key) == 0;
        if (skipped)
            continue;
        char *label = label_of (prefix, key);
        if (json_is_object (v))
            kv_all (t, v, label, NULL);
        else
            kv_line (t, label, v);
        free (label);
    }
}

static int kv_show (const json_t *obj, FILE *out)
{
    text_table_t *t = kv_new ();
    if (json_is_object (obj))
        kv_all (t, obj, NULL, NULL);
    else
        kv_line (t, "result", obj);
    int rc = text_table_print (t, out);
    text_table_destroy (&t);
    return rc;
}

/* ---------------------------------------------------------------- cases */

static const char *str (const json_t *o, const char *key)
{
    const char *s = json_string_value (json_object_get (o, key));
    return s ? s : "";
}

/* The deadline that applies to the case's stage. */
static const char *due_of (const json_t *c)
{
    const char *st = str (c, "status");
    if (strcmp (st, "registered") == 0)
        return str (c, "accept_due");
    if (strcmp (st, "in_progress") == 0 || strcmp (st, "reported") == 0)
        return str (c, "handle_due");
    return "";
}

static int show_case_line (const json_t *c, FILE *out)
{
    const char *due = due_of (c);
    char *flags = scalar (member (c, "flags"));
    char *line = xasprintf ("%s  %s%s%s%s%s", str (c, "id"), str (c, "status"),
                            *due ? "  due " : "", due,
                            json_array_size (json_object_get (c, "flags")) ? "  flags: " : "",
                            json_array_size (json_object_get (c, "flags")) ? flags : "");
    char *clean = text_clean (line);
    int rc = fprintf (out, "%s\n", clean) < 0 ? -1 : 0;
    free (clean), free (line), free (flags);
    return rc;
}

static int show_list (const json_t *r, FILE *out)
{
    static const char *const head[] = {"ID", "STATUS", "CHANNEL", "CATEGORY", "RECEIVED",
                                       "DUE", "FLAGS", "SUMMARY"};
    const json_t *cases = json_object_get (r, "cases");
    if (json_array_size (cases) == 0)
        return fputs ("no cases\n", out) == EOF ? -1 : 0;
    text_table_t *t = text_table_new (8, head);
    size_t i;
    json_t *c;
    json_array_foreach (cases, i, c) {
        char *flags = json_array_size (member (c, "flags")) ? scalar (member (c, "flags")) : xstrdup ("");
        char *clean = text_clean (str (c, "summary"));
        char *summary = text_clip (clean, SUMMARY_WIDTH);
        const char *row[] = {str (c, "id"), str (c, "status"), str (c, "channel"),
                             str (c, "category"), str (c, "received"), due_of (c), flags, summary};
        text_table_add (t, row);
        free (flags), free (clean), free (summary);
    }
    int rc = text_table_print (t, out);
    text_table_destroy (&t);
    return rc;
}

static int show_history (const json_t *r, FILE *out)
{
    static const char *const head[] = {"SEQ", "AT", "OFFICE", "TYPE", "DETAILS"};
    static const char *const fixed[] = {"seq", "at", "office", "type", NULL};
    text_table_t *t = text_table_new (5, head);
    text_table_right (t, 0);
    size_t i;
    json_t *e;
    json_array_foreach (json_object_get (r, "events"), i, e) {
        char *seq = scalar (member (e, "seq"));
        char *details = xstrdup ("");
        const char *key;
        json_t *v;
        json_object_foreach (e, key, v) {
            bool skip = false;
            for (size_t k = 0; fixed[k]; k++)
                skip |= strcmp (fixed[k], key) == 0;
            if (skip || json_is_null (v))
                continue;
            char *val = scalar (v);
            char *next = xasprintf ("%s%s%s=%s", details, *details ? ", " : "",
                                    strcmp (key, "operator_uid") == 0 ? "uid" : key, val);
            free (val), free (details);
            details = next;
        }
        const char *row[] = {seq, str (e, "at"), str (e, "office"), str (e, "type"), details};
        text_table_add (t, row);
        free (seq), free (details);
    }
    int rc = text_table_print (t, out);
    text_table_destroy (&t);
    return rc;
}

static int show_audit (const json_t *r, FILE *out)
{
    static const char *const head[] = {"SEQ", "AT", "UID", "ROLE", "ACTION", "CASE", "DETAIL"};
    text_table_t *t = text_table_new (7, head);
    text_table_right (t, 0);
    text_table_right (t, 2);
    size_t i;
    json_t *e;
    json_array_foreach (json_object_get (r, "records"), i, e) {
        char *seq = scalar (member (e, "seq")), *uid = scalar (member (e, "uid"));
        char *detail = text_clean (str (e, "detail"));
        const char *row[] = {seq, str (e, "at"), uid, str (e, "role"), str (e, "action"),
                             str (e, "case"), detail};
        text_table_add (t, row);
        free (seq), free (uid), free (detail);
    }
    int rc = text_table_print (t, out);
    text_table_destroy (&t);
    return rc;
}

static int show_topology (const json_t *r, FILE *out)
{
    const json_t *office = json_object_get (r, "office"), *parent = json_object_get (r, "parent");
    const json_t *kids = json_object_get (r, "children"), *c, *b;
    size_t i, k, n = json_array_size (kids);
    int rc = 0;
    if (json_is_object (parent))
        rc |= fprintf (out, "%s  (the office above; link %s)\n", str (parent, "code"),
                       str (parent, "state")) < 0;
    rc |= fprintf (out, "%s%s %s  (this office)\n", json_is_object (parent) ? "└─ " : "",
                   str (office, "code"), str (office, "name")) < 0;
    const char *pad = json_is_object (parent) ? "   " : "";
    json_array_foreach (kids, i, c) {
        bool last = i + 1 == n, down = strcmp (str (c, "state"), "up") != 0;
        rc |= fprintf (out, "%s%s %s %s  link %s%s\n", pad, last ? "└─" : "├─", str (c, "code"),
                       str (c, "name"), str (c, "state"), down ? "  ← DOWN" : "") < 0;
        json_array_foreach (json_object_get (c, "below"), k, b)
            rc |= fprintf (out, "%s%s   %s %s%s\n", pad, last ? " " : "│", str (b, "code"),
                           str (b, "name"), down ? "  (out of reach)" : "") < 0;
    }
    return rc ? -1 : 0;
}

/* ---------------------------------------------------------------- node */

static void show_links (text_table_t *kv, const json_t *links, text_table_t **lt)
{
    static const char *const head[] = {"  PEER", "ROLE", "STATE", "QUEUE", "LAST SEEN"};
    const char *none[] = {"links", "none"};
    *lt = NULL;
    if (json_array_size (links) == 0) {
        text_table_add (kv, none);
        return;
    }
    text_table_t *t = *lt = text_table_new (5, head);
    text_table_right (t, 3);
    size_t i;
    json_t *l;
    json_array_foreach (links, i, l) {
        char *peer = xasprintf ("  %s", str (l, "peer"));
        char *queue = scalar (member (l, "queue"));
        char *seen = scalar (member (l, "last_seen"));
        /* the alarm of a full outbox: new work for that office is being refused */
        char *state = json_is_true (json_object_get (l, "outbox_full"))
                      ? xasprintf ("%s, OUTBOX FULL", str (l, "state")) : xstrdup (str (l, "state"));
        const char *row[] = {peer, str (l, "role"), state, queue, seen};
        text_table_add (t, row);
        free (peer), free (queue), free (seen), free (state);
    }
}

/* 对账 per office cases are shared with: whether the last comparison agreed, what differed,
 * what was re-sent either way. */
static text_table_t *show_reconcile (const json_t *offices)
{
    static const char *const head[] = {"  OFFICE", "SHARED", "LAST CHECK", "RESULT", "RE-SENT",
                                       "RECEIVED"};
    if (json_array_size (offices) == 0)
        return NULL;
    text_table_t *t = text_table_new (6, head);
    text_table_right (t, 1), text_table_right (t, 4), text_table_right (t, 5);
    size_t i;
    json_t *o;
    json_array_foreach (offices, i, o) {
        json_t *agreed = json_object_get (o, "agreed"), *months = json_object_get (o, "differing_months");
        char *office = xasprintf ("  %s", str (o, "office"));
        char *shared = scalar (member (o, "shared")), *checked = scalar (member (o, "checked"));
        char *resent = scalar (member (o, "resent")), *received = scalar (member (o, "received"));
        char *result = json_is_null (agreed) || !agreed ? xstrdup ("not yet compared")
                     : json_is_true (agreed) ? xstrdup ("agreed")
                     : xasprintf ("differed in %zu month(s) from %s", json_array_size (months),
                                  json_string_value (json_array_get (months, 0)));
        const char *row[] = {office, shared, checked, result, resent, received};
        text_table_add (t, row);
        free (office), free (shared), free (checked), free (resent), free (received), free (result);
    }
    return t;
}

/* "total 12, registered 3, …" */
static char *counts (const json_t *cases)
{
    char *s = xstrdup ("");
    const char *key;
    json_t *v;
    json_object_foreach ((json_t *) cases, key, v) {
        char *val = scalar (v);
        char *next = xasprintf ("%s%s%s %s", s, *s ? ", " : "", key, val);
        free (val), free (s);
        s = next;
    }
    return s;
}

static int show_status (const json_t *r, FILE *out)
{
    static const char *const skip[] = {"office", "store", "links", "cases", "reconcile", NULL};
    const json_t *office = json_object_get (r, "office"), *store = json_object_get (r, "store");
    text_table_t *kv = kv_new (), *links;
    char *name = xasprintf ("%s %s", str (office, "code"), str (office, "name"));
    char *st = xasprintf ("%s (map size %" JSON_INTEGER_FORMAT " MiB)", str (store, "path"),
                          json_integer_value (json_object_get (store, "map_size")) >> 20);
    char *cases = counts (member (r, "cases"));
    const char *rows[][2] = {{"office", name}, {"store", st}, {"cases", cases}};
    text_table_add (kv, rows[0]);
    kv_all (kv, r, NULL, skip);
    text_table_add (kv, rows[1]);
    text_table_add (kv, rows[2]);
    show_links (kv, json_object_get (r, "links"), &links);
    const json_t *rec = json_object_get (r, "reconcile");
    text_table_t *shared = show_reconcile (json_object_get (rec, "offices"));
    int rc = text_table_print (kv, out);
    if (rc == 0 && links)
        rc = fputs ("links\n", out) == EOF ? -1 : text_table_print (links, out);
    if (rc == 0 && shared)
        rc = fprintf (out, "reconciliation (对账, every %" JSON_INTEGER_FORMAT " s)\n",
                      json_integer_value (json_object_get (rec, "every_s"))) < 0
             ? -1 : text_table_print (shared, out);
    text_table_destroy (&kv), text_table_destroy (&links), text_table_destroy (&shared);
    free (name), free (st), free (cases);
    return rc;
}

static int show_clock (const json_t *r, FILE *out)
{
    json_int_t off = json_integer_value (json_object_get (r, "offset"));
    char *now = text_clean (str (r, "now"));
    int rc = fprintf (out, "%s (offset %+" JSON_INTEGER_FORMAT " s; clock control %s)\n", now,
                      off, json_is_true (json_object_get (r, "control")) ? "on" : "off");
    free (now);
    return rc < 0 ? -1 : 0;
}

/* The result's "text" as it is (the exposition format is already text), except that control
 * characters other than the line ends are shown as '?' so none reaches the terminal. */
static int show_text (const json_t *r, FILE *out)
{
    const char *s = str (r, "text");
    for (; *s; s++)
        if (putc (((unsigned char) *s < 0x20 && *s != '\n') || *s == 0x7f ? '?' : *s, out) == EOF)
            return -1;
    return 0;
}

int xf_out_text (xf_show_t show, const json_t *result, FILE *out)
{
    int rc;
    errno = 0;
    switch (show) {
    case SHOW_CASE_ID:   rc = fprintf (out, "%s\n", str (result, "id")) < 0 ? -1 : 0; break;
    case SHOW_CASE_LINE: rc = show_case_line (result, out); break;
    case SHOW_CASE:      rc = kv_show (result, out); break;
    case SHOW_LIST:      rc = show_list (result, out); break;
    case SHOW_HISTORY:   rc = show_history (result, out); break;
    case SHOW_STATUS:    rc = show_status (result, out); break;
    case SHOW_CLOCK:     rc = show_clock (result, out); break;
    case SHOW_STATS:     rc = xf_out_stats_table (result, out); break;
    case SHOW_AUDIT:     rc = show_audit (result, out); break;
    case SHOW_TOPOLOGY:  rc = show_topology (result, out); break;
    case SHOW_TEXT:      rc = show_text (result, out); break;
    case SHOW_PLAIN:
    default:             rc = kv_show (result, out); break;
    }
    if (rc != 0 && !errno)
        errno = EIO;
    return rc;
}
