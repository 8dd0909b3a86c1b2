/* import.c — `xfctl case import FILE.jsonl`: all or nothing, as far as one client can
 * promise it. The whole file is parsed first (a syntax error sends nothing); then every
 * batch is checked by the daemon with dry_run; only when all pass are they stored. The
 * daemon cannot hold one transaction over many requests, so a failure in the storing pass
 * (a full disk) leaves the earlier batches stored — which is then said plainly. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "client.h"
#include "output.h"
#include "run.h"
#include "xfctl.h"

#define BATCH_CASES 1000
#define BATCH_BYTES (8u << 20)   /* well under the daemon's 16 MiB request limit */

typedef struct {
    const char *name;           /* as messages name the file */
    json_t **obj;
    long *line;
    size_t *size;               /* compact JSON size, for batching by bytes */
    size_t n, cap;
} cases_t;

static void cases_free (cases_t *cs)
{
    for (size_t i = 0; i < cs->n; i++)
        json_decref (cs->obj[i]);
    free (cs->obj), free (cs->line), free (cs->size);
}

static void cases_add (cases_t *cs, json_t *obj, long line)
{
    if (cs->n == cs->cap) {
        cs->cap = cs->cap ? 2 * cs->cap : 1024;
        cs->obj = xrealloc (cs->obj, cs->cap * sizeof *cs->obj);
        cs->line = xrealloc (cs->line, cs->cap * sizeof *cs->line);
        cs->size = xrealloc (cs->size, cs->cap * sizeof *cs->size);
    }
    cs->obj[cs->n] = obj;
    cs->line[cs->n] = line;
    cs->size[cs->n] = json_dumpb (obj, NULL, 0, JSON_COMPACT) + 1;
    cs->n++;
}

static bool blank (const char *s, size_t len)
{
    for (size_t i = 0; i < len; i++)
        if (!strchr (" \t\r\n", s[i]))
            return false;
    return true;
}

/* One line into cs, or a refusal naming FILE:LINE. */
static int parse_line (cases_t *cs, const char *buf, size_t len, long lineno)
{
    json_error_t jerr;
    json_t *obj = json_loadb (buf, len, JSON_REJECT_DUPLICATES, &jerr);
    if (!obj && jerr.column > 0)
        return xfctl_refuse ("invalid", "%s:%ld: %s (column %d)", cs->name, lineno, jerr.text,
                             jerr.column);
    if (!obj)
        return xfctl_refuse ("invalid", "%s:%ld: %s", cs->name, lineno, jerr.text);
    if (!json_is_object (obj)) {
        json_decref (obj);
        return xfctl_refuse ("invalid", "%s:%ld: a case must be a JSON object", cs->name, lineno);
    }
    cases_add (cs, obj, lineno);
    return XFCTL_OK;
}

static int read_cases (FILE *in, cases_t *cs)
{
    char *buf = NULL;
    size_t cap = 0;
    ssize_t len;
    long lineno = 0;
    int rc = XFCTL_OK;
    errno = 0;
    while (rc == XFCTL_OK && (len = getline (&buf, &cap, in)) >= 0) {
        lineno++;
        if (!blank (buf, (size_t) len))
            rc = parse_line (cs, buf, (size_t) len, lineno);
        errno = 0;
    }
    if (rc == XFCTL_OK && (ferror (in) || errno))
        rc = xfctl_refuse ("io", "%s: %s", cs->name, strerror (errno ? errno : EIO));
    free (buf);
    return rc;
}

/* ---------------------------------------------------------------- passes */

typedef struct {
    xf_client_t *client;
    cases_t *cs;
    bool dry_run;
    bool progress;              /* stderr is a terminal */
    json_t *ids;                /* ids stored so far (the real pass) */
} pass_t;

/* How many cases from start go in one request. */
static size_t batch_len (const cases_t *cs, size_t start)
{
    size_t n = 0, bytes = 0;
    while (start + n < cs->n && n < BATCH_CASES
           && (n == 0 || bytes + cs->size[start + n] <= BATCH_BYTES))
        bytes += cs->size[start + n++];
    return n;
}

static void progress (const pass_t *p, size_t done, bool last)
{
    if (!p->progress)
        return;
    size_t total = p->cs->n;
    fprintf (stderr, "\r%s %zu/%zu (%zu%%)%s", p->dry_run ? "checking" : "importing", done, total,
             total ? done * 100 / total : 100, last ? "\n" : "");
    fflush (stderr);
}

/* The daemon names the bad case "line L: …" with L = first_line + its index; turn that
 * into the real line of the file (blank lines make them differ). */
static int refusal (const pass_t *p, const json_t *error, size_t start, size_t n)
{
    const char *msg = json_string_value (json_object_get (error, "message"));
    const char *code = json_string_value (json_object_get (error, "code"));
    long l = 0;
    int used = 0;
    char *text;
    if (msg && sscanf (msg, "line %ld: %n", &l, &used) == 1 && used > 0
        && l >= p->cs->line[start] && (size_t) (l - p->cs->line[start]) < n)
        text = xasprintf ("%s:%ld: %s", p->cs->name, p->cs->line[start + (size_t) (l - p->cs->line[start])],
                          msg + used);
    else
        text = xasprintf ("%s: lines %ld-%ld: %s", p->cs->name, p->cs->line[start],
                          p->cs->line[start + n - 1], msg ? msg : "refused");
    size_t stored = json_array_size (p->ids);
    int rc;
    if (p->dry_run)
        rc = xfctl_refuse (code ? code : "error", "%s", text);
    else
        rc = xfctl_refuse_extra (code ? code : "error",
                                 json_pack ("{s:I,s:O}", "imported", (json_int_t) stored, "ids", p->ids),
                                 "%s; %zu cases of earlier batches were imported and stay",
                                 text, stored);
    free (text);
    return rc;
}

static int one_batch (pass_t *p, size_t start, size_t n)
{
    json_t *list = xjson (json_array ());
    for (size_t i = 0; i < n; i++)
        xjson_append (list, json_incref (p->cs->obj[start + i]));
    json_t *args = xjson (json_pack ("{s:o,s:b,s:I}", "cases", list, "dry_run", p->dry_run,
                                     "first_line", (json_int_t) p->cs->line[start]));
    json_t *out;
    int rc = xf_client_call (p->client, "case.import", args, &out);
    json_decref (args);
    if (rc != XFCTL_OK && p->progress)
        fputc ('\n', stderr);   /* the message starts on its own line, not after "\r…" */
    if (rc == XFCTL_REFUSED && out)
        rc = refusal (p, out, start, n);
    else if (rc == XFCTL_OK && !p->dry_run) {
        json_t *ids = json_object_get (out, "ids");
        if (!json_is_array (ids) || json_array_size (ids) != n)
            rc = xfctl_refuse ("protocol", "case.import answered without the %zu ids", n);
        else if (json_array_extend (p->ids, ids) != 0)
            rc = xfctl_refuse ("no_memory", "out of memory");
    }
    if (rc == XFCTL_UNREACHABLE && json_array_size (p->ids))
        fprintf (stderr, "xfctl: %zu cases of earlier batches were imported and stay\n",
                 json_array_size (p->ids));
    json_decref (out);
    return rc;
}

static int run_pass (pass_t *p)
{
    int rc = XFCTL_OK;
    size_t done = 0;
    progress (p, 0, p->cs->n == 0);
    while (rc == XFCTL_OK && done < p->cs->n) {
        size_t n = batch_len (p->cs, done);
        rc = one_batch (p, done, n);
        if (rc == XFCTL_OK) {
            done += n;
            progress (p, done, done == p->cs->n);
        }
    }
    return rc;
}

static int report (const json_t *ids)
{
    if (xfctl_json ()) {
        json_t *doc = xjson (json_pack ("{s:I,s:O}", "imported", (json_int_t) json_array_size (ids),
                                        "ids", ids));
        xf_out_json (doc, stdout);
        json_decref (doc);
    } else {
        printf ("imported %zu cases\n", json_array_size (ids));
    }
    return XFCTL_OK;   /* stdout errors are caught when main flushes it */
}

int xf_run_import (const char *socket, const char *file)
{
    bool std_in = strcmp (file, "-") == 0;
    cases_t cs = {std_in ? "<stdin>" : file, NULL, NULL, NULL, 0, 0};
    FILE *in = std_in ? stdin : fopen (file, "re");
    if (!in)
        return xfctl_refuse ("io", "cannot open %s: %s", file, strerror (errno));
    int rc = read_cases (in, &cs);
    if (!std_in)
        fclose (in);
    pass_t p = {NULL, &cs, true, isatty (STDERR_FILENO) == 1, xjson (json_array ())};
    if (rc == XFCTL_OK && !(p.client = xf_client_connect (socket)))
        rc = XFCTL_UNREACHABLE;
    if (rc == XFCTL_OK)
        rc = run_pass (&p);
    p.dry_run = false;
    if (rc == XFCTL_OK)
        rc = run_pass (&p);
    if (rc == XFCTL_OK)
        rc = report (p.ids);
    xf_client_close (&p.client);
    json_decref (p.ids);
    cases_free (&cs);
    return rc;
}
