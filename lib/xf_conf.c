/* xf_conf.c — reading the node's INI configuration (INTERFACE.md "Configuration") into an
 * xf_conf_t, collecting every error as "FILE:LINE: message".
 *
 * libinih splits "key = value" and strips comments, but Debian's build tells the handler no
 * line number, silently cuts lines past 197 bytes (the rest becomes a "line" of its own) and
 * takes an indented line as the continuation of the previous value. So inih reads through our
 * own reader: it reads whole physical lines, counts them, drops indentation, keeps track of
 * [sections] itself and checks every line first; a bad line reaches inih as a bare ";" so it is
 * never half-parsed. inih's own globals are left alone. */
#include "xf_conf.h"
#include "xf_text.h"
#include "xf_crypto.h"
#include "xf_metrics.h"

#include <ctype.h>
#include <errno.h>
#include <ini.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/types.h>

#define LINE_LIMIT 196      /* inih's 200-byte buffer holds the line, "\r\n" and "\0" */
#define MAX_ERRORS 64       /* kept for the message; more are only counted */
#define SHOWN_MAX  48       /* bytes of a bad value quoted back in a message */
#define SUFFIX_MAX 32       /* room for "\n… and N more errors" */

enum sec { SEC_NONE, SEC_NODE, SEC_PARENT, SEC_CHILD, SEC_DEADLINES, SEC_REPORT, SEC_DEBUG,
           SEC_LINKS, SEC_STATS, SEC_SCORE, SEC_TRUST, SEC_ROLES, SEC_RECUSAL, SEC_METRICS,
           SEC_BAD /* unknown, duplicate or broken header: its keys are skipped */ };
static const char *const SEC_NAMES[] = { "", "node", "parent", "child", "deadlines", "report",
                                         "debug", "links", "stats", "score", "trust", "roles",
                                         "recusal", "metrics", "" };

enum kind { K_STR, K_CODE, K_KEY, K_DAYS, K_LIST, K_BOOL, K_BASES, K_PROFILE, K_LISTEN };

typedef struct {
    enum sec sec;
    const char *name;
    enum kind kind;
    size_t off;             /* in xf_conf_t, or in xf_conf_child_t for [child] */
    bool required;
    int min, max;           /* K_DAYS */
} keydef_t;

#define IN_CONF(f)  offsetof (xf_conf_t, f)
#define IN_CHILD(f) offsetof (xf_conf_child_t, f)
static const keydef_t KEYS[] = {
    { SEC_NODE, "code", K_CODE, IN_CONF (code), true, 0, 0 },
    { SEC_NODE, "name", K_STR, IN_CONF (name), true, 0, 0 },
    { SEC_NODE, "data_dir", K_STR, IN_CONF (data_dir), true, 0, 0 },
    { SEC_NODE, "control_socket", K_STR, IN_CONF (control_socket), false, 0, 0 },
    { SEC_NODE, "listen", K_STR, IN_CONF (listen), false, 0, 0 },
    { SEC_NODE, "key_file", K_STR, IN_CONF (key_file), false, 0, 0 },
    { SEC_NODE, "identity_key_file", K_STR, IN_CONF (identity_key_file), false, 0, 0 },
    { SEC_NODE, "store_max_mb", K_DAYS, IN_CONF (store_max_mb), false, 1, 1048576 },
    { SEC_PARENT, "code", K_CODE, IN_CONF (parent_code), true, 0, 0 },
    { SEC_PARENT, "endpoint", K_STR, IN_CONF (parent_endpoint), true, 0, 0 },
    /* the CURVE keys of the parent and the children are required without [trust] (check_whole);
     * with it they come from the certificates */
    { SEC_PARENT, "public_key", K_KEY, IN_CONF (parent_public_key), false, 0, 0 },
    { SEC_CHILD, "name", K_STR, IN_CHILD (name), false, 0, 0 },
    { SEC_CHILD, "public_key", K_KEY, IN_CHILD (public_key), false, 0, 0 },
    { SEC_CHILD, "certificate", K_STR, IN_CHILD (certificate), false, 0, 0 },
    { SEC_DEADLINES, "accept_days", K_DAYS, IN_CONF (accept_days), false, 1, 365 },
    { SEC_DEADLINES, "handle_days", K_DAYS, IN_CONF (handle_days), false, 1, 365 },
    { SEC_DEADLINES, "max_extension_days", K_DAYS, IN_CONF (max_extension_days), false, 0, 365 },
    { SEC_DEADLINES, "urge_before_days", K_DAYS, IN_CONF (urge_before_days), false, 1, 365 },
    { SEC_DEADLINES, "urge_every_days", K_DAYS, IN_CONF (urge_every_days), false, 1, 365 },
    { SEC_REPORT, "required_items", K_LIST, IN_CONF (required_items), false, 0, 0 },
    { SEC_DEBUG, "clock_control", K_BOOL, IN_CONF (clock_control), false, 0, 0 },
    /* speak no newer link version than this, as a node of an older build (tests of mixed trees) */
    { SEC_DEBUG, "link_version", K_DAYS, IN_CONF (link_version), false, 1, 2 },
    { SEC_LINKS, "outbox_limit", K_DAYS, IN_CONF (outbox_limit), false, 1, 100000000 },
    { SEC_LINKS, "window", K_DAYS, IN_CONF (window), false, 1, 100000 },
    { SEC_LINKS, "keep_acked_days", K_DAYS, IN_CONF (keep_acked_days), false, 0, 365 },
    { SEC_LINKS, "reconcile_seconds", K_DAYS, IN_CONF (reconcile_seconds), false, 1, 86400 },
    { SEC_STATS, "pull_seconds", K_DAYS, IN_CONF (pull_seconds), false, 1, 600 },
    { SEC_SCORE, "points", K_DAYS, IN_CONF (score_points), false, 0, 1000 },
    { SEC_SCORE, "filed_base", K_DAYS, IN_CONF (score_filed_base), false, 0, 100000 },
    { SEC_SCORE, "filed_bases", K_BASES, IN_CONF (score_filed_bases), false, 0, 100000 },
    { SEC_SCORE, "per_filed_above", K_DAYS, IN_CONF (score_per_filed_above), false, 0, 100 },
    { SEC_SCORE, "on_time_target", K_DAYS, IN_CONF (score_on_time_target), false, 0, 100 },
    { SEC_SCORE, "per_5_points_below", K_DAYS, IN_CONF (score_per_5_points_below), false, 0, 100 },
    { SEC_SCORE, "per_overdue", K_DAYS, IN_CONF (score_per_overdue), false, 0, 100 },
    { SEC_TRUST, "anchor", K_STR, IN_CONF (trust_anchor), true, 0, 0 },
    { SEC_TRUST, "certificate", K_STR, IN_CONF (trust_certificate), false, 0, 0 },
    { SEC_TRUST, "signing_key", K_STR, IN_CONF (trust_signing_key), false, 0, 0 },
    { SEC_TRUST, "profile", K_PROFILE, IN_CONF (trust_profile), false, 0, 0 },
    { SEC_TRUST, "retired_keys", K_STR, IN_CONF (trust_retired_keys), false, 0, 0 },
    /* operators: user names, uids and @groups (xf_access.h); checked in check_whole */
    { SEC_ROLES, "viewer", K_STR, IN_CONF (role_members[XF_ROLE_VIEWER]), false, 0, 0 },
    { SEC_ROLES, "clerk", K_STR, IN_CONF (role_members[XF_ROLE_CLERK]), false, 0, 0 },
    { SEC_ROLES, "leader", K_STR, IN_CONF (role_members[XF_ROLE_LEADER]), false, 0, 0 },
    { SEC_ROLES, "admin", K_STR, IN_CONF (role_members[XF_ROLE_ADMIN]), false, 0, 0 },
    { SEC_RECUSAL, "cases", K_STR, IN_CONF (recusals), false, 0, 0 },
    { SEC_METRICS, "listen", K_LISTEN, IN_CONF (metrics_listen), false, 0, 0 },
};
#define N_KEYS (sizeof KEYS / sizeof KEYS[0])

static const char *const DEFAULT_ITEMS[] = { "investigation", "instruction", "letter", "original",
                                             "evidence", "petitioner_opinion", "review_opinion" };

typedef struct {
    int line;               /* 0: about the whole file */
    char *text;
} problem_t;

typedef struct {
    const char *name;       /* the file name in messages */
    FILE *fp;               /* the source: a file, or text from pos */
    const char *text;
    size_t pos;
    int read_errno;
    char *buf;              /* the current physical line */
    size_t cap;
    int line;
    xf_conf_t *conf;
    enum sec sec;           /* the section being read */
    int sec_line;
    char label[32];         /* "node", "child 411324" */
    int seen[N_KEYS];       /* line each key was set on; [child] keys reset per child */
    int sec_seen[SEC_BAD];  /* line of each one-off section */
    problem_t errs[MAX_ERRORS];
    size_t n_errs, n_more;
    bool oom;
} ctx_t;

/* Records "FILE:LINE: message" (just "FILE: message" when line is 0). */
static __attribute__ ((format (printf, 3, 4)))
void add_err (ctx_t *c, int line, const char *fmt, ...)
{
    char msg[384], *text;
    va_list ap;
    va_start (ap, fmt);
    vsnprintf (msg, sizeof msg, fmt, ap);
    va_end (ap);
    if (c->n_errs == MAX_ERRORS)
        c->n_more++;
    else if ((line > 0 ? asprintf (&text, "%s:%d: %s", c->name, line, msg)
                       : asprintf (&text, "%s: %s", c->name, msg)) < 0)
        c->oom = true;
    else
        c->errs[c->n_errs++] = (problem_t) { line, text };
}

/* v as quoted back in a message: long values are cut (at a UTF-8 character boundary) so one
 * bad line cannot fill the caller's buffer on its own. */
static const char *shown (const char *v, char out[SHOWN_MAX + 4])
{
    size_t n = strlen (v);
    if (n <= SHOWN_MAX)
        return v;
    n = SHOWN_MAX;
    while (n > 0 && ((unsigned char) v[n] & 0xC0) == 0x80)
        n--;
    snprintf (out, SHOWN_MAX + 4, "%.*s…", (int) n, v);
    return out;
}


bool xf_conf_code_valid (const char *s)
{
    if (!s)
        return false;
    size_t n = strspn (s, "0123456789");
    return s[n] == '\0' && (n == 6 || n == 9 || n == 12) && strspn (s, "0") != n;
}

/* 40 Z85 characters that decode to 32 bytes (each group of 5 must stay below 2^32). */
static bool z85_key_valid (const char *s)
{
    static const char Z85[] = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                              ".-:+=^!/*?&<>()[]{}@%$#";
    if (strlen (s) != XF_KEY_Z85_LEN || strspn (s, Z85) != XF_KEY_Z85_LEN)
        return false;
    for (size_t i = 0; i < XF_KEY_Z85_LEN; i += 5) {
        uint64_t v = 0;
        for (size_t j = i; j < i + 5; j++)
            v = v * 85 + (uint64_t) (strchr (Z85, s[j]) - Z85);
        if (v > UINT32_MAX)
            return false;
    }
    return true;
}


static bool add_item (char ***items, size_t *n, const char *s)
{
    char **grown = realloc (*items, (*n + 1) * sizeof *grown);
    if (!grown)
        return false;
    *items = grown;
    if (!(grown[*n] = strdup (s)))
        return false;
    (*n)++;
    return true;
}

static void free_items (char **items, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free (items[i]);
    free (items);
}

/* required_items: a comma-separated list, each item trimmed, none empty, none twice. */
static void set_items (ctx_t *c, const keydef_t *k, const char *v)
{
    char b[SHOWN_MAX + 4], **items = NULL, *copy = strdup (v), *next = copy;
    size_t n = 0;
    bool ok = copy != NULL;
    c->oom |= !copy;
    while (ok && next) {
        char *item = xf_trim (strsep (&next, ","));
        size_t i = 0;
        while (i < n && strcmp (items[i], item) != 0)
            i++;
        if (!*item)
            add_err (c, c->line, "%s must be a comma-separated list of items with none empty, "
                     "not \"%s\"", k->name, shown (v, b));
        else if (i < n)
            add_err (c, c->line, "%s lists \"%s\" twice", k->name, shown (item, b));
        else if (!add_item (&items, &n, item))
            c->oom = true;
        else
            continue;
        ok = false;
    }
    free (copy);
    if (!ok) {
        free_items (items, n);
        return;
    }
    free_items (c->conf->required_items, c->conf->n_required_items);
    c->conf->required_items = items;
    c->conf->n_required_items = n;
}

static bool parse_days (const char *v, int min, int max, int *out);

/* One "CODE:N" of filed_bases into *out; false when it is not one. */
static bool parse_base (char *item, const keydef_t *k, xf_conf_base_t *out)
{
    char *colon = strchr (item, ':');
    if (!colon)
        return false;
    *colon = 0;
    char *code = xf_trim (item);
    if (!xf_conf_code_valid (code) || !parse_days (xf_trim (colon + 1), k->min, k->max, &out->base))
        return false;
    snprintf (out->code, sizeof out->code, "%s", code);
    return true;
}

/* filed_bases: "CODE:N, CODE:N" — each office's 立案基数, no office twice. */
static void set_bases (ctx_t *c, const keydef_t *k, const char *v)
{
    char b[SHOWN_MAX + 4], *copy = strdup (v), *next = copy;
    xf_conf_base_t *bases = NULL;
    size_t n = 0;
    bool ok = copy != NULL;
    c->oom |= !copy;
    while (ok && next) {
        xf_conf_base_t one;
        size_t i = 0;
        if (!parse_base (xf_trim (strsep (&next, ",")), k, &one)) {
            add_err (c, c->line, "%s must be a comma-separated list of CODE:N (an office code and "
                     "a whole number from %d to %d), not \"%s\"", k->name, k->min, k->max, shown (v, b));
            ok = false;
            break;
        }
        while (i < n && strcmp (bases[i].code, one.code) != 0)
            i++;
        xf_conf_base_t *grown = i < n ? NULL : realloc (bases, (n + 1) * sizeof *bases);
        if (i < n)
            add_err (c, c->line, "%s gives office %s twice", k->name, one.code);
        else if (!grown)
            c->oom = true;
        ok = grown != NULL;
        if (ok)
            (bases = grown)[n++] = one;
    }
    free (copy);
    if (!ok) {
        free (bases);
        return;
    }
    free (c->conf->score_filed_bases);
    c->conf->score_filed_bases = bases;
    c->conf->n_score_filed_bases = n;
}

static bool parse_days (const char *v, int min, int max, int *out)
{
    size_t n = strspn (v, "0123456789");
    int d = n > 0 && n < 10 && v[n] == '\0' ? atoi (v) : -1;
    if (d < min || d > max)
        return false;
    *out = d;
    return true;
}

static bool parse_bool (const char *v, bool *out)
{
    static const char *const WORDS[] = { "false", "true", "no", "yes", "0", "1", "off", "on" };
    for (size_t i = 0; i < sizeof WORDS / sizeof WORDS[0]; i++)
        if (strcasecmp (v, WORDS[i]) == 0) {
            *out = i % 2;
            return true;
        }
    return false;
}

/* Checks v for k and stores it in field; or says what k must be. */
static void set_value (ctx_t *c, const keydef_t *k, void *field, const char *v)
{
    char b[SHOWN_MAX + 4], want[64] = "";
    switch (k->kind) {
    case K_STR:
        if (!*v)
            add_err (c, c->line, "%s must not be empty", k->name);
        else
            c->oom |= !(*(char **) field = strdup (v));
        break;
    case K_CODE:
        if (!xf_conf_code_valid (v))
            snprintf (want, sizeof want, "an office code of 6, 9 or 12 digits (not all zeros)");
        else
            strcpy (field, v);
        break;
    case K_KEY:
        if (!z85_key_valid (v))
            snprintf (want, sizeof want, "a CURVE public key in Z85 (40 characters)");
        else
            strcpy (field, v);
        break;
    case K_DAYS:
        if (!parse_days (v, k->min, k->max, field))
            snprintf (want, sizeof want, "a whole number from %d to %d", k->min, k->max);
        break;
    case K_LIST:
        set_items (c, k, v);
        break;
    case K_BASES:
        set_bases (c, k, v);
        break;
    case K_BOOL:
        if (!parse_bool (v, field))
            snprintf (want, sizeof want, "true or false (or yes/no, on/off, 1/0)");
        break;
    case K_PROFILE:
        if (xf_profile_parse (v, (xf_profile_t *) field, NULL) != XF_OK)
            snprintf (want, sizeof want, "standard (Ed25519, AES-GCM) or national (SM2/3/4)");
        break;
    case K_LISTEN: {   /* HOST:PORT, numeric (xf_metrics_parse_listen) */
        xf_listen_addr_t a;
        xf_err_t why = {0};
        if (xf_metrics_parse_listen (v, &a, &why) != XF_OK)
            add_err (c, c->line, "%s must be HOST:PORT, e.g. 127.0.0.1:9411, not \"%s\": %s",
                     k->name, shown (v, b), why.msg);
        else
            c->oom |= !(*(char **) field = strdup (v));
        break;
    }
    }
    if (*want)
        add_err (c, c->line, "%s must be %s, not \"%s\"", k->name, want, shown (v, b));
}

static size_t find_key (enum sec sec, const char *name)
{
    size_t i = 0;
    while (i < N_KEYS && !(KEYS[i].sec == sec && strcmp (KEYS[i].name, name) == 0))
        i++;
    return i;
}

/* inih's handler: one "key = value" of the current section, on line c->line. The section
 * name inih passes is not used: inih never sees our headers (see check_line). */
static int handler (void *user, const char *section, const char *name, const char *value)
{
    ctx_t *c = user;
    char b[SHOWN_MAX + 4];
    (void) section;
    if (c->sec == SEC_BAD)
        return 1;
    if (c->sec == SEC_NONE) {
        add_err (c, c->line, "key \"%s\" comes before any [section]", shown (name, b));
        return 1;
    }
    size_t i = find_key (c->sec, name);
    if (i == N_KEYS)
        add_err (c, c->line, "unknown key \"%s\" in [%s]", shown (name, b), c->label);
    else if (c->seen[i])
        add_err (c, c->line, "duplicate key \"%s\" in [%s] (first set on line %d)", name,
                 c->label, c->seen[i]);
    if (i == N_KEYS || c->seen[i])
        return 1;
    c->seen[i] = c->line;
    char *base = c->sec == SEC_CHILD ? (char *) &c->conf->children[c->conf->n_children - 1]
                                     : (char *) c->conf;
    if (c->sec == SEC_CHILD && KEYS[i].kind == K_KEY)
        c->conf->children[c->conf->n_children - 1].key_given = true;
    set_value (c, &KEYS[i], base + KEYS[i].off, value);
    return 1;
}

/* The section being read ends: report its missing required keys. */
static void close_section (ctx_t *c)
{
    for (size_t i = 0; i < N_KEYS && c->sec != SEC_BAD; i++)
        if (KEYS[i].sec == c->sec && KEYS[i].required && !c->seen[i])
            add_err (c, c->sec_line, "%s is required in [%s]", KEYS[i].name, c->label);
    c->sec = SEC_NONE;
}

static void open_child (ctx_t *c, const char *code)
{
    char b[SHOWN_MAX + 4];
    xf_conf_t *f = c->conf;
    const xf_conf_child_t *old = xf_conf_child (f, code);
    xf_conf_child_t *grown = NULL;
    if (!*code)
        add_err (c, c->line, "[child] needs the child's office code, as in [child 411324]");
    else if (!xf_conf_code_valid (code))
        add_err (c, c->line, "[child %s]: an office code is 6, 9 or 12 digits (not all zeros)",
                 shown (code, b));
    else if (old)
        add_err (c, c->line, "duplicate section [child %s] (first on line %d)", code, old->line);
    else if (!(grown = realloc (f->children, (f->n_children + 1) * sizeof *grown)))
        c->oom = true;
    if (!grown)
        return;
    f->children = grown;
    grown[f->n_children] = (xf_conf_child_t) { .line = c->line };
    strcpy (grown[f->n_children++].code, code);
    for (size_t i = 0; i < N_KEYS; i++)
        if (KEYS[i].sec == SEC_CHILD)
            c->seen[i] = 0;
    c->sec = SEC_CHILD;
    snprintf (c->label, sizeof c->label, "child %s", code);
}

/* s is "[...": closes the current section and opens the named one. */
static void open_section (ctx_t *c, char *s)
{
    char b[SHOWN_MAX + 4], *end = strchr (s, ']');
    close_section (c);
    c->sec = SEC_BAD;
    c->sec_line = c->line;
    if (!end) {
        add_err (c, c->line, "section header has no closing \"]\"");
        return;
    }
    char *rest = xf_trim (end + 1);
    if (*rest && *rest != ';' && *rest != '#') {
        add_err (c, c->line, "expected \"key = value\" or \"[section]\"");
        return;
    }
    *end = '\0';
    char *name = xf_trim (s + 1);
    for (enum sec i = SEC_NODE; i < SEC_BAD; i++) {
        if (i == SEC_CHILD || strcmp (name, SEC_NAMES[i]) != 0)
            continue;
        if (c->sec_seen[i]) {
            add_err (c, c->line, "duplicate section [%s] (first on line %d)", name, c->sec_seen[i]);
            return;
        }
        c->sec_seen[i] = c->line;
        c->sec = i;
        snprintf (c->label, sizeof c->label, "%s", name);
        c->conf->has_parent |= i == SEC_PARENT;
        return;
    }
    if (strncmp (name, "child", 5) == 0 && (name[5] == '\0' || isspace ((unsigned char) name[5])))
        open_child (c, xf_trim (name + 5));
    else
        add_err (c, c->line, "unknown section [%s]", shown (name, b));
}

/* True when s (no leading space) splits at '=' into a non-empty key, the way inih will split
 * it: at the first '=' or ':', unless a " ;" comment starts earlier. */
static bool is_key_line (const char *s)
{
    const char *p = s;
    bool was_space = false;
    while (*p && *p != '=' && *p != ':' && !(was_space && *p == ';')) {
        was_space = isspace ((unsigned char) *p);
        p++;
    }
    return *p == '=' && p > s;
}

/* What inih gets for line s (indentation already dropped): s itself, or ";" when the line
 * is a section header (handled here) or is wrong (reported here). */
static const char *check_line (ctx_t *c, char *s)
{
    if (*s == '\0' || *s == ';' || *s == '#')
        return s;
    if (*s == '[') {
        open_section (c, s);
        return ";";
    }
    if (is_key_line (s))
        return s;
    add_err (c, c->line, "expected \"key = value\" or \"[section]\"");
    return ";";
}

/* The next physical line into c->buf without its "\n" or "\r\n"; its length, -1 at the end. */
static ssize_t next_line (ctx_t *c)
{
    ssize_t n;
    if (c->fp) {
        errno = 0;
        if ((n = getline (&c->buf, &c->cap, c->fp)) < 0) {
            c->read_errno = ferror (c->fp) ? (errno ? errno : EIO) : 0;
            return -1;
        }
    } else {
        const char *s = c->text + c->pos;
        n = (ssize_t) strcspn (s, "\n");
        n += s[n] == '\n';
        if (n == 0)
            return -1;
        free (c->buf);
        if (!(c->buf = strndup (s, (size_t) n))) {
            c->oom = true;
            return -1;
        }
        c->pos += (size_t) n;
    }
    if (n > 0 && c->buf[n - 1] == '\n')
        n--;
    if (n > 0 && c->buf[n - 1] == '\r')
        n--;
    c->buf[n] = '\0';
    return n;
}

/* inih's reader: hands inih one physical line at a time (see the top of the file). */
static char *reader (char *str, int num, void *stream)
{
    ctx_t *c = stream;
    ssize_t n = next_line (c);
    if (n < 0)
        return NULL;
    c->line++;
    char *s = c->buf;
    if (c->line == 1 && strncmp (s, "\xEF\xBB\xBF", 3) == 0)
        s += 3, n -= 3;
    size_t limit = num - 4 < LINE_LIMIT ? (size_t) num - 4 : LINE_LIMIT;
    const char *out = ";";
    if ((size_t) n > limit)
        add_err (c, c->line, "line is %zd bytes long; the limit is %zu", n, limit);
    else if (!xf_utf8_valid ((unsigned char *) s, (size_t) n))
        add_err (c, c->line, "line is not valid UTF-8 text");
    else {
        while (isspace ((unsigned char) *s))
            s++;
        out = check_line (c, s);
    }
    snprintf (str, (size_t) num, "%s\n", out);
    return str;
}

static char *join (const char *dir, const char *file)
{
    size_t n = strlen (dir);
    while (n > 1 && dir[n - 1] == '/')
        n--;
    char *s;
    if (asprintf (&s, "%.*s%s%s", (int) n, dir, dir[n - 1] == '/' ? "" : "/", file) < 0)
        return NULL;
    return s;
}

/* Checks that need the whole file, then fills in the path defaults. */
static void check_whole (ctx_t *c)
{
    xf_conf_t *f = c->conf;
    if (!c->sec_seen[SEC_NODE])
        add_err (c, 0, "no [node] section (code, name and data_dir are required)");
    if (f->has_parent && f->code[0] && strcmp (f->code, f->parent_code) == 0)
        add_err (c, c->seen[find_key (SEC_PARENT, "code")],
                 "[parent] code %s is this node's own code", f->code);
    for (size_t i = 0; i < f->n_children; i++) {
        const xf_conf_child_t *ch = &f->children[i];
        if (strcmp (ch->code, f->code) == 0)
            add_err (c, ch->line, "[child %s] is this node's own code", ch->code);
        if (f->has_parent && strcmp (ch->code, f->parent_code) == 0)
            add_err (c, ch->line, "[child %s] is this node's [parent]", ch->code);
    }
    if (f->n_children && c->sec_seen[SEC_NODE] && !c->seen[find_key (SEC_NODE, "listen")])
        add_err (c, c->sec_seen[SEC_NODE], "listen is required in [node]: [child %s] on "
                 "line %d connects to it", f->children[0].code, f->children[0].line);
    f->has_trust = c->sec_seen[SEC_TRUST] != 0;
    if (f->has_parent && !f->has_trust && !c->seen[find_key (SEC_PARENT, "public_key")])
        add_err (c, c->sec_seen[SEC_PARENT], "public_key is required in [parent] (or configure "
                 "[trust]: the parent's key then comes from the certificates)");
    for (size_t i = 0; i < f->n_children && !f->has_trust; i++)
        if (!f->children[i].key_given)
            add_err (c, f->children[i].line, "public_key is required in [child %s] (or configure "
                     "[trust] and admit children by their certificates)", f->children[i].code);
    f->has_roles = c->sec_seen[SEC_ROLES] != 0;
    for (int r = XF_ROLE_VIEWER; r < XF_ROLE_COUNT; r++) {
        xf_err_t why = {0};
        if (f->role_members[r] && xf_access_check_members (f->role_members[r], &why) != XF_OK)
            add_err (c, c->seen[find_key (SEC_ROLES, xf_role_name (r))], "[roles] %s: %s",
                     xf_role_name (r), why.msg);
    }
    xf_err_t why = {0};
    if (f->recusals && xf_access_check_recusals (f->recusals, &why) != XF_OK)
        add_err (c, c->seen[find_key (SEC_RECUSAL, "cases")], "[recusal] cases: %s", why.msg);
    if (f->data_dir && f->has_trust && !f->trust_certificate)
        c->oom |= !(f->trust_certificate = join (f->data_dir, "node.crt"));
    if (f->data_dir && f->has_trust && !f->trust_signing_key)
        c->oom |= !(f->trust_signing_key = join (f->data_dir, "sign.key"));
    if (f->data_dir && !f->control_socket)
        c->oom |= !(f->control_socket = join (f->data_dir, "control.sock"));
    if (f->data_dir && !f->key_file)
        c->oom |= !(f->key_file = join (f->data_dir, "node.key"));
}

/* All errors, in line order, one per line; the first always, then as many as fit. */
static void report (ctx_t *c, xf_err_t *err)
{
    size_t total = c->n_errs + c->n_more, used, i;
    char *out = err->msg;
    for (i = 1; i < c->n_errs; i++)     /* into line order; stable, and there are few */
        for (size_t j = i; j > 0 && c->errs[j - 1].line > c->errs[j].line; j--) {
            problem_t t = c->errs[j];
            c->errs[j] = c->errs[j - 1];
            c->errs[j - 1] = t;
        }
    snprintf (out, sizeof err->msg - (total > 1 ? SUFFIX_MAX : 0), "%s", c->errs[0].text);
    used = strlen (out);
    for (i = 1; i < c->n_errs; i++) {
        size_t len = strlen (c->errs[i].text);
        if (used + 1 + len >= sizeof err->msg - (i + 1 < total ? SUFFIX_MAX : 0))
            break;
        used += (size_t) sprintf (out + used, "\n%s", c->errs[i].text);
    }
    if (i < total)
        snprintf (out + used, sizeof err->msg - used, "\n… and %zu more error%s", total - i,
                  total - i == 1 ? "" : "s");
    err->code = XF_ECONFIG;
}

static xf_conf_t *parse (ctx_t *c, xf_err_t *err)
{
    c->conf = xf_conf_new_defaults ();
    if (c->conf && (c->conf->path = strdup (c->name))) {
        int rc = ini_parse_stream (reader, c, handler, c);
        close_section (c);
        if (c->read_errno)
            add_err (c, c->line + 1, "cannot read: %s", strerror (c->read_errno));
        if (rc > 0 && c->n_errs == 0)   /* a line inih refused that check_line let through */
            add_err (c, rc, "cannot parse this line");
        c->oom |= rc == -2;
        check_whole (c);
    } else
        c->oom = true;
    free (c->buf);
    if (c->oom)
        xf_err_set (err, XF_ENOMEM, "%s: out of memory", c->name);
    else if (c->n_errs && err)
        report (c, err);
    for (size_t i = 0; i < c->n_errs; i++)
        free (c->errs[i].text);
    if (c->oom || c->n_errs)
        xf_conf_destroy (&c->conf);
    return c->conf;
}

xf_conf_t *xf_conf_load (const char *path, xf_err_t *err)
{
    ctx_t c = { .name = path, .fp = fopen (path, "re") };
    if (!c.fp) {
        xf_err_set (err, XF_ECONFIG, "%s: cannot open: %s", path, strerror (errno));
        return NULL;
    }
    xf_conf_t *conf = parse (&c, err);
    fclose (c.fp);
    return conf;
}

xf_conf_t *xf_conf_parse (const char *text, const char *name, xf_err_t *err)
{
    ctx_t c = { .name = name, .text = text };
    return parse (&c, err);
}

xf_conf_t *xf_conf_new_defaults (void)
{
    xf_conf_t *f = calloc (1, sizeof *f);
    if (!f)
        return NULL;
    f->accept_days = 15;
    f->handle_days = 60;
    f->max_extension_days = 30;
    f->urge_before_days = 7;
    f->urge_every_days = 7;
    f->outbox_limit = 1000000;
    f->reconcile_seconds = 600;
    f->pull_seconds = 10;
    f->score_points = 100;
    f->score_per_filed_above = 4;     /* seed 002: 每多立一案奖4分 */
    f->score_on_time_target = 100;
    f->score_per_5_points_below = 2;  /* seed 002: 每降5个百分点扣2分 */
    f->keep_acked_days = 14;   /* a peer restored from a backup up to two weeks old gets it all */
    f->window = 4000;   /* ~5 MB of 1 KB envelopes in flight per link; 1000 halves a backlog drain */
    for (size_t i = 0; i < sizeof DEFAULT_ITEMS / sizeof DEFAULT_ITEMS[0]; i++)
        if (!add_item (&f->required_items, &f->n_required_items, DEFAULT_ITEMS[i])) {
            xf_conf_destroy (&f);
            return NULL;
        }
    return f;
}

void xf_conf_destroy (xf_conf_t **conf_p)
{
    xf_conf_t *f = conf_p ? *conf_p : NULL;
    if (!f)
        return;
    free (f->name);
    free (f->data_dir);
    free (f->control_socket);
    free (f->listen);
    free (f->key_file);
    free (f->identity_key_file);
    free (f->parent_endpoint);
    for (size_t i = 0; i < f->n_children; i++) {
        free (f->children[i].name);
        free (f->children[i].certificate);
    }
    free (f->children);
    free (f->trust_anchor);
    free (f->trust_certificate);
    free (f->trust_signing_key);
    free (f->trust_retired_keys);
    for (int r = 0; r < XF_ROLE_COUNT; r++)
        free (f->role_members[r]);
    free (f->recusals);
    free (f->metrics_listen);
    free_items (f->required_items, f->n_required_items);
    free (f->score_filed_bases);
    free (f->path);
    free (f);
    *conf_p = NULL;
}

const xf_conf_child_t *xf_conf_child (const xf_conf_t *conf, const char *code)
{
    for (size_t i = 0; conf && code && i < conf->n_children; i++)
        if (strcmp (conf->children[i].code, code) == 0)
            return &conf->children[i];
    return NULL;
}
