/* xf_audit.c — the hash-chained audit log in the `audit` database: appending a record inside
 * the caller's transaction, walking the chain to find the first break, and listing records.
 *
 * Each record's hash covers the previous record's hash and its own text, and the text names
 * its seq and that previous hash, so a changed byte, a lost record and a swap each break the
 * chain at a record an operator can be pointed to. The head in meta catches a cut at the end,
 * which the chain alone cannot. */
#include "xf_audit.h"
#include "xf_text.h"
#include "xf_time.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define HEAD_LEN (8 + XF_HASH_LEN)   /* be64 seq || hash */
#define HEX_LEN  (2 * XF_HASH_LEN)
#define TIME_MAX INT64_C (253402271999)   /* 9999-12-31T23:59:59+08:00: "at" keeps four digits */

static const char *const roles[] = {"", "viewer", "clerk", "leader", "admin", "node"};

/* ---------------------------------------------------------------- hex */

static void to_hex (const uint8_t *v, size_t n, char *out)
{
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = digits[v[i] >> 4];
        out[2 * i + 1] = digits[v[i] & 15];
    }
    out[2 * n] = 0;
}

static int hex_digit (char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    return -1;
}

/* Exactly 64 lowercase hex digits, as to_hex writes them. */
static bool from_hex (const char *s, uint8_t out[XF_HASH_LEN])
{
    if (strlen (s) != HEX_LEN)
        return false;
    for (size_t i = 0; i < XF_HASH_LEN; i++) {
        int hi = hex_digit (s[2 * i]), lo = hex_digit (s[2 * i + 1]);
        if (hi < 0 || lo < 0)
            return false;
        out[i] = (uint8_t) (hi << 4 | lo);
    }
    return true;
}

/* ---------------------------------------------------------------- checking an entry */


/* A text field: present when required, at most max bytes, UTF-8, and no control characters
 * (free text may hold newlines and tabs). NULL is "" for a field that is not required. */
static int check_text (const char *name, const char *s, size_t max, bool required,
                       bool free_text, xf_err_t *err)
{
    if (!s || !*s)
        return required ? xf_err_set (err, XF_EINVAL, "audit: %s is required", name) : XF_OK;
    size_t len = strnlen (s, max + 1);
    if (len > max)
        return xf_err_set (err, XF_EINVAL, "audit: %s is longer than %zu bytes", name, max);
    const unsigned char *p = (const unsigned char *) s;
    for (size_t i = 0; i < len;) {
        if (p[i] >= 0x20 && p[i] < 0x7f) {   /* printable ASCII: most of every record */
            i++;
            continue;
        }
        if (p[i] < 0x20 || p[i] == 0x7f) {
            if (!(free_text && (p[i] == '\n' || p[i] == '\t' || p[i] == '\r')))
                return xf_err_set (err, XF_EINVAL, "audit: %s has a control character "
                                   "(0x%02x at byte %zu)", name, p[i], i);
        }
        size_t n = xf_utf8_seq (p + i);
        if (n == 0)
            return xf_err_set (err, XF_EINVAL, "audit: %s is not valid UTF-8 (at byte %zu)",
                               name, i);
        i += n;
    }
    return XF_OK;
}

static int check_role (const char *role, xf_err_t *err)
{
    if (!role)
        return XF_OK;
    for (size_t i = 0; i < sizeof roles / sizeof roles[0]; i++)
        if (strcmp (role, roles[i]) == 0)
            return XF_OK;
    char shown[24];
    int rc = check_text ("role", role, 16, false, false, NULL);
    snprintf (shown, sizeof shown, "%s", rc == XF_OK ? role : "?");
    return xf_err_set (err, XF_EINVAL, "audit: role \"%s\" is not one of viewer, clerk, leader, "
                       "admin, node (or empty)", shown);
}

static int check_entry (const xf_audit_entry_t *e, xf_err_t *err)
{
    int rc;
    if (!e)
        return xf_err_set (err, XF_EINVAL, "audit: no entry to append");
    if ((rc = check_text ("office", e->office, XF_AUDIT_OFFICE_MAX, true, false, err)) != XF_OK
        || (rc = check_text ("action", e->action, XF_AUDIT_ACTION_MAX, true, false, err)) != XF_OK
        || (rc = check_text ("case", e->case_id, XF_AUDIT_CASE_MAX, false, false, err)) != XF_OK
        || (rc = check_text ("detail", e->detail, XF_AUDIT_DETAIL_MAX, false, true, err)) != XF_OK
        || (rc = check_role (e->role, err)) != XF_OK)
        return rc;
    if (e->uid < -1)
        return xf_err_set (err, XF_EINVAL, "audit: uid %lld is not an operator uid (or -1 for "
                           "the node)", (long long) e->uid);
    if (e->time < 0 || e->time > TIME_MAX)
        return xf_err_set (err, XF_EINVAL, "audit: time %lld is out of range (unix seconds up "
                           "to 9999-12-31)", (long long) e->time);
    return XF_OK;
}

/* ---------------------------------------------------------------- appending */

/* China Standard Time, as everything an operator reads ("2026-11-22T09:30:00+08:00"). */
static void format_at (int64_t t, char out[32])
{
    xf_time_format (t, out);
}

/* The longest record text: the fixed keys, three integers, "at", prev, and the text fields
 * at their limits with every byte escaped (a backslash and the character). */
#define RECORD_MAX (256 + 3 * 21 + 32 + HEX_LEN + 2 * (XF_AUDIT_OFFICE_MAX + XF_AUDIT_ACTION_MAX \
                    + XF_AUDIT_CASE_MAX + XF_AUDIT_DETAIL_MAX + 16))

static char *put_raw (char *o, const char *s)
{
    size_t n = strlen (s);
    memcpy (o, s, n);
    return o + n;
}

/* s as a JSON string, escaped as jansson's json_dumps escapes it (the text is what the hash
 * covers, and verify reads it with jansson). check_entry let through no control character
 * but \n, \r and \t, and only in detail. NULL or "" is null when nullable. */
static char *put_string (char *o, const char *s, bool nullable)
{
    if (nullable && (!s || !*s))
        return put_raw (o, "null");
    *o++ = '"';
    for (const char *p = s ? s : "";;) {
        size_t run = strcspn (p, "\"\\\n\r\t");   /* what needs no escape, copied at once */
        memcpy (o, p, run);
        o += run;
        p += run;
        if (!*p)
            break;
        switch (*p++) {
        case '"':  o = put_raw (o, "\\\""); break;
        case '\\': o = put_raw (o, "\\\\"); break;
        case '\n': o = put_raw (o, "\\n"); break;
        case '\r': o = put_raw (o, "\\r"); break;
        default:   o = put_raw (o, "\\t"); break;
        }
    }
    *o++ = '"';
    return o;
}

static char *put_int (char *o, int64_t v)
{
    if (v < 0)
        *o++ = '-';
    return o + xf_text_uint (o, v < 0 ? 0 - (uint64_t) v : (uint64_t) v);
}

/* The record text into out (RECORD_MAX bytes): compact JSON, keys in sorted order, the bytes
 * json_dumps (JSON_COMPACT | JSON_SORT_KEYS) writes for the same object, without building
 * one: this runs for every action of every case. Returns its length. */
static size_t record_text (uint64_t seq, const xf_audit_entry_t *e,
                           const uint8_t prev[XF_HASH_LEN], char out[RECORD_MAX])
{
    char at[32], prev_hex[HEX_LEN + 1], *o = out;
    format_at (e->time, at);
    to_hex (prev, XF_HASH_LEN, prev_hex);
    o = put_string (put_raw (o, "{\"action\":"), e->action, false);
    o = put_string (put_raw (o, ",\"at\":"), at, false);
    o = put_string (put_raw (o, ",\"case\":"), e->case_id, true);
    o = put_string (put_raw (o, ",\"detail\":"), e->detail, true);
    o = put_string (put_raw (o, ",\"office\":"), e->office, false);
    o = put_string (put_raw (o, ",\"prev\":"), prev_hex, false);
    o = put_string (put_raw (o, ",\"role\":"), e->role, false);
    o = put_int (put_raw (o, ",\"seq\":"), (int64_t) seq);
    o = put_int (put_raw (o, ",\"time\":"), e->time);
    o = put_int (put_raw (o, ",\"uid\":"), e->uid);
    *o++ = '}';
    *o = '\0';
    return (size_t) (o - out);
}

/* The head in meta: (0, zeros) when there is none yet. */
static int read_head (xf_txn_t *txn, uint64_t *seq, uint8_t hash[XF_HASH_LEN], xf_err_t *err)
{
    const void *v = NULL;
    size_t vlen = 0;
    int rc = xf_txn_get (txn, XF_DB_META, XF_AUDIT_HEAD_KEY, strlen (XF_AUDIT_HEAD_KEY), &v,
                         &vlen, err);
    *seq = 0;
    memset (hash, 0, XF_HASH_LEN);
    if (rc == XF_ENOTFOUND)
        return XF_OK;
    if (rc != XF_OK)
        return rc;
    if (vlen != HEAD_LEN)
        return xf_err_set (err, XF_ESTORE, "audit: the head in meta (%s) is damaged (%zu bytes, "
                           "not %d); verify the audit log before appending to it",
                           XF_AUDIT_HEAD_KEY, vlen, HEAD_LEN);
    *seq = xf_be64_get (v);
    memcpy (hash, (const uint8_t *) v + 8, XF_HASH_LEN);
    return XF_OK;
}

static int write_record (xf_txn_t *txn, uint64_t seq, const uint8_t hash[XF_HASH_LEN],
                         const char *text, size_t len, xf_err_t *err)
{
    uint8_t key[8], head[HEAD_LEN];
    uint8_t *val = malloc (XF_HASH_LEN + len);
    if (!val)
        return xf_err_set (err, XF_ENOMEM, "audit: out of memory for record %llu",
                           (unsigned long long) seq);
    memcpy (val, hash, XF_HASH_LEN);
    memcpy (val + XF_HASH_LEN, text, len);
    xf_be64_put (key, seq);
    int rc = xf_txn_insert (txn, XF_DB_AUDIT, key, sizeof key, val, XF_HASH_LEN + len, err);
    free (val);
    if (rc == XF_EEXIST)
        return xf_err_set (err, XF_ESTATE, "audit: record %llu already exists, but the head in "
                           "meta (%s) says the log ends before it; verify the audit log",
                           (unsigned long long) seq, XF_AUDIT_HEAD_KEY);
    if (rc != XF_OK)
        return rc;
    xf_be64_put (head, seq);
    memcpy (head + 8, hash, XF_HASH_LEN);
    return xf_txn_put (txn, XF_DB_META, XF_AUDIT_HEAD_KEY, strlen (XF_AUDIT_HEAD_KEY), head,
                       sizeof head, err);
}

int xf_audit_append (xf_txn_t *txn, xf_profile_t p, const xf_audit_entry_t *e, uint64_t *seq,
                     xf_err_t *err)
{
    uint8_t prev[XF_HASH_LEN], hash[XF_HASH_LEN];
    uint64_t last;
    int rc;
    if ((rc = check_entry (e, err)) != XF_OK || (rc = read_head (txn, &last, prev, err)) != XF_OK)
        return rc;
    char text[RECORD_MAX];
    size_t len = record_text (last + 1, e, prev, text);
    const void *parts[] = {prev, text};
    const size_t lens[] = {XF_HASH_LEN, len};
    rc = xf_hash (p, parts, lens, 2, hash, err);
    if (rc == XF_OK)
        rc = write_record (txn, last + 1, hash, text, len, err);
    if (rc == XF_OK && seq)
        *seq = last + 1;
    return rc;
}

/* ---------------------------------------------------------------- reading a record */

static bool has (const json_t *o, const char *key, json_type type, bool nullable)
{
    const json_t *v = json_object_get (o, key);
    return v && (json_typeof (v) == type || (nullable && json_is_null (v)));
}

/* Parses a stored value into *obj (the caller's, to json_decref), its seq and its prev. false,
 * with why filled, when the value is not a record. */
static bool parse_record (const uint8_t *val, size_t vlen, json_t **obj, uint64_t *seq,
                          uint8_t prev[XF_HASH_LEN], char *why, size_t why_len)
{
    json_error_t jerr;
    *obj = NULL;
    if (vlen < XF_HASH_LEN) {
        snprintf (why, why_len, "%zu bytes, too short to hold a hash", vlen);
        return false;
    }
    json_t *o = json_loadb ((const char *) val + XF_HASH_LEN, vlen - XF_HASH_LEN,
                            JSON_REJECT_DUPLICATES, &jerr);
    if (!o) {
        snprintf (why, why_len, "not JSON: %.100s", jerr.text);
        return false;
    }
    static const struct { const char *key; json_type type; bool nullable; } fields[] = {
        {"seq", JSON_INTEGER, false},   {"time", JSON_INTEGER, false}, {"at", JSON_STRING, false},
        {"office", JSON_STRING, false}, {"uid", JSON_INTEGER, false},  {"role", JSON_STRING, false},
        {"action", JSON_STRING, false}, {"case", JSON_STRING, true},   {"detail", JSON_STRING, true},
        {"prev", JSON_STRING, false},
    };
    for (size_t i = 0; i < sizeof fields / sizeof fields[0]; i++)
        if (!json_is_object (o) || !has (o, fields[i].key, fields[i].type, fields[i].nullable)) {
            snprintf (why, why_len, "no %s \"%s\"", json_is_object (o) ? "valid" : "object with",
                      fields[i].key);
            json_decref (o);
            return false;
        }
    json_int_t s = json_integer_value (json_object_get (o, "seq"));
    bool ok = s >= 1 && from_hex (json_string_value (json_object_get (o, "prev")), prev);
    if (!ok) {
        if (s < 1)
            snprintf (why, why_len, "seq %lld is not a sequence number", (long long) s);
        else
            snprintf (why, why_len, "\"prev\" is not %d hex digits", HEX_LEN);
        json_decref (o);
        return false;
    }
    *seq = (uint64_t) s;
    *obj = o;
    return true;
}

/* ---------------------------------------------------------------- verifying */

typedef struct {
    xf_profile_t p;
    xf_audit_report_t *out;
    uint64_t expect;              /* the seq the next record must have */
    xf_err_t *err;
} walk_t;

static int broken (walk_t *w, uint64_t seq, const char *fmt, ...)
    __attribute__ ((format (printf, 3, 4)));

/* Records the first break and stops the walk. */
static int broken (walk_t *w, uint64_t seq, const char *fmt, ...)
{
    va_list ap;
    va_start (ap, fmt);
    vsnprintf (w->out->reason, sizeof w->out->reason, fmt, ap);
    va_end (ap);
    w->out->first_bad = seq;
    return 1;
}

static int hash_text (xf_profile_t p, const uint8_t prev[XF_HASH_LEN], const uint8_t *text,
                      size_t len, uint8_t out[XF_HASH_LEN], xf_err_t *err)
{
    const void *parts[] = {prev, text};
    const size_t lens[] = {XF_HASH_LEN, len};
    return xf_hash (p, parts, lens, 2, out, err);
}

/* The stored hash against the text. 1: it matches; 0: it does not (reason set); < 0: error. */
static int check_hash (walk_t *w, uint64_t seq, const uint8_t *val, size_t vlen,
                       const uint8_t prev[XF_HASH_LEN])
{
    uint8_t h[XF_HASH_LEN];
    xf_profile_t other = w->p == XF_PROFILE_STANDARD ? XF_PROFILE_NATIONAL : XF_PROFILE_STANDARD;
    int rc = hash_text (w->p, prev, val + XF_HASH_LEN, vlen - XF_HASH_LEN, h, w->err);
    if (rc != XF_OK)
        return rc;
    if (memcmp (h, val, XF_HASH_LEN) == 0)
        return 1;
    if ((rc = hash_text (other, prev, val + XF_HASH_LEN, vlen - XF_HASH_LEN, h, w->err)) != XF_OK)
        return rc;
    if (memcmp (h, val, XF_HASH_LEN) == 0)
        broken (w, seq, "its hash is the %s profile's hash of its text, not the %s one: the "
                "log was written under the other profile", xf_profile_name (other),
                xf_profile_name (w->p));
    else
        broken (w, seq, "its hash does not match its text");
    return 0;
}

static int check_record (const void *key, size_t klen, const void *val, size_t vlen, void *arg)
{
    walk_t *w = arg;
    xf_audit_report_t *out = w->out;
    char why[160];
    uint8_t prev[XF_HASH_LEN];
    uint64_t text_seq;
    json_t *o;
    if (klen != 8)
        return broken (w, w->expect, "a key of %zu bytes, not a seq, stands where seq %llu "
                       "should be", klen, (unsigned long long) w->expect);
    uint64_t seq = xf_be64_get (key);
    if (seq != w->expect)
        return seq == 0 ? broken (w, 1, "there is a record at seq 0, before seq 1")
                        : broken (w, w->expect, "seq %llu is missing",
                                  (unsigned long long) w->expect);
    if (!parse_record (val, vlen, &o, &text_seq, prev, why, sizeof why))
        return broken (w, seq, "its text is not a record (%s)", why);
    json_decref (o);
    int rc = check_hash (w, seq, val, vlen, prev);
    if (rc <= 0)
        return rc < 0 ? rc : 1;
    if (text_seq != seq)
        return broken (w, seq, "its text says seq %llu: records are out of order",
                       (unsigned long long) text_seq);
    if (memcmp (prev, out->head, XF_HASH_LEN) != 0)
        return seq == 1 ? broken (w, seq, "its prev is not 64 zeros, but it is the first record")
                        : broken (w, seq, "its prev does not match record %llu's hash",
                                  (unsigned long long) (seq - 1));
    out->records++;
    out->last_seq = seq;
    memcpy (out->head, val, XF_HASH_LEN);
    w->expect++;
    return 0;
}

/* The chain held to its end: the head in meta must name that end. */
static int check_head (xf_txn_t *txn, walk_t *w, xf_err_t *err)
{
    xf_audit_report_t *out = w->out;
    const void *v = NULL;
    size_t vlen = 0;
    unsigned long long last = out->last_seq;
    int rc = xf_txn_get (txn, XF_DB_META, XF_AUDIT_HEAD_KEY, strlen (XF_AUDIT_HEAD_KEY), &v,
                         &vlen, err);
    if (rc == XF_ENOTFOUND) {
        if (last)
            broken (w, last, "the head in meta (%s) is missing, but the log runs to seq %llu",
                    XF_AUDIT_HEAD_KEY, last);
        return XF_OK;
    }
    if (rc != XF_OK)
        return rc;
    if (vlen != HEAD_LEN) {
        broken (w, last ? last : 1, "the head in meta (%s) is damaged (%zu bytes, not %d)",
                XF_AUDIT_HEAD_KEY, vlen, HEAD_LEN);
        return XF_OK;
    }
    unsigned long long head = xf_be64_get (v);
    if (head > last)
        broken (w, last + 1, "seq %llu is missing: the head in meta is at seq %llu, but the log "
                "ends at seq %llu", last + 1, head, last);
    else if (head < last)
        broken (w, head + 1, "record %llu is past the head in meta (seq %llu): the head does not "
                "match the last record", head + 1, head);
    else if (memcmp ((const uint8_t *) v + 8, out->head, XF_HASH_LEN) != 0)
        broken (w, last, "the head in meta does not match the last record's hash");
    return XF_OK;
}

int xf_audit_verify (xf_txn_t *txn, xf_profile_t p, xf_audit_report_t *out, xf_err_t *err)
{
    walk_t w = {.p = p, .out = out, .expect = 1, .err = err};
    memset (out, 0, sizeof *out);
    int rc = xf_txn_scan (txn, XF_DB_AUDIT, NULL, 0, check_record, &w, err);
    if (rc == XF_OK && out->first_bad == 0)
        rc = check_head (txn, &w, err);
    if (rc != XF_OK) {
        memset (out, 0, sizeof *out);
        return rc;
    }
    return XF_OK;
}

/* ---------------------------------------------------------------- listing */

typedef struct {
    const xf_audit_filter_t *f;
    json_t *found;                /* matches, in scan order */
    xf_err_t *err;
} show_t;

static bool matches (const xf_audit_filter_t *f, const json_t *o)
{
    json_int_t t = json_integer_value (json_object_get (o, "time"));
    const char *c = json_string_value (json_object_get (o, "case"));   /* NULL when null */
    const char *a = json_string_value (json_object_get (o, "action"));
    if (!f)
        return true;
    return (!f->case_id || !*f->case_id || (c && strcmp (c, f->case_id) == 0))
           && (f->uid == -2 || json_integer_value (json_object_get (o, "uid")) == f->uid)
           && (!f->from || t >= f->from) && (!f->to || t <= f->to)
           && (!f->action_prefix || strncmp (a, f->action_prefix, strlen (f->action_prefix)) == 0);
}

static int show_record (const void *key, size_t klen, const void *val, size_t vlen, void *arg)
{
    show_t *s = arg;
    char why[160], hex[HEX_LEN + 1];
    uint8_t prev[XF_HASH_LEN];
    uint64_t seq = klen == 8 ? xf_be64_get (key) : 0;
    json_t *o;
    if (klen != 8 || !parse_record (val, vlen, &o, &seq, prev, why, sizeof why))
        return xf_err_set (s->err, XF_ESTORE, "audit record %llu is not a record (%s); verify "
                           "the audit log to see where it breaks", (unsigned long long) seq,
                           klen != 8 ? "its key is not a seq" : why);
    if (!matches (s->f, o)) {
        json_decref (o);
        return 0;
    }
    to_hex (val, XF_HASH_LEN, hex);
    json_object_set_new (o, "hash", json_string (hex));
    json_array_append_new (s->found, o);
    return s->f && s->f->limit && json_array_size (s->found) >= s->f->limit ? 1 : 0;
}

int xf_audit_show (xf_txn_t *txn, const xf_audit_filter_t *f, json_t *out, xf_err_t *err)
{
    if (!json_is_array (out))
        return xf_err_set (err, XF_EINVAL, "audit: show needs a JSON array to fill");
    if (f && f->from && f->to && f->from > f->to)
        return xf_err_set (err, XF_EINVAL, "audit: from (%lld) is after to (%lld)",
                           (long long) f->from, (long long) f->to);
    show_t s = {.f = f, .found = json_array (), .err = err};
    if (!s.found)
        return xf_err_set (err, XF_ENOMEM, "audit: out of memory listing records");
    bool newest = f && f->limit;   /* walk back from the end and stop at the limit */
    int rc = newest ? xf_txn_scan_back (txn, XF_DB_AUDIT, NULL, 0, show_record, &s, err)
                    : xf_txn_scan (txn, XF_DB_AUDIT, NULL, 0, show_record, &s, err);
    size_t n = json_array_size (s.found);
    for (size_t i = 0; rc == XF_OK && i < n; i++)
        json_array_append (out, json_array_get (s.found, newest ? n - 1 - i : i));
    json_decref (s.found);
    return rc;
}
