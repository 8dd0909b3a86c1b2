/* fail.c — how xfctl says no: the one stderr line of a refusal (exit 1) or an unreachable
 * daemon (exit 3), its JSON twin on stdout under --json, and allocation that exits cleanly
 * instead of returning NULL. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "output.h"
#include "text.h"
#include "xfctl.h"

static bool json_mode;

void xfctl_set_json (bool on)
{
    json_mode = on;
}

bool xfctl_json (void)
{
    return json_mode;
}

static void report (const char *code, json_t *extra, const char *fmt, va_list ap)
{
    char *raw = NULL;
    if (vasprintf (&raw, fmt, ap) < 0)
        raw = NULL;
    /* text_clean allocates; if even that fails, say the little we can */
    char *msg = raw ? text_clean (raw) : NULL;
    fprintf (stderr, "xfctl: %s: %s\n", code, msg ? msg : "out of memory");
    if (json_mode)
        xf_out_json_error (code, msg ? msg : "out of memory", extra, stdout);
    else
        json_decref (extra);
    free (msg);
    free (raw);
}

int xfctl_refuse (const char *code, const char *fmt, ...)
{
    va_list ap;
    va_start (ap, fmt);
    report (code, NULL, fmt, ap);
    va_end (ap);
    return XFCTL_REFUSED;
}

int xfctl_refuse_extra (const char *code, json_t *extra, const char *fmt, ...)
{
    va_list ap;
    va_start (ap, fmt);
    report (code, extra, fmt, ap);
    va_end (ap);
    return XFCTL_REFUSED;
}

int xfctl_unreachable (const char *fmt, ...)
{
    va_list ap;
    va_start (ap, fmt);
    char *raw = NULL;
    if (vasprintf (&raw, fmt, ap) < 0)
        raw = NULL;
    va_end (ap);
    char *msg = raw ? text_clean (raw) : NULL;
    /* not "xfctl: CODE:" — the operator contract spells this one as a sentence */
    fprintf (stderr, "xfctl: %s\n", msg ? msg : "cannot reach xfsyncd");
    if (json_mode)
        xf_out_json_error ("unreachable", msg ? msg : "cannot reach xfsyncd", NULL, stdout);
    free (msg);
    free (raw);
    return XFCTL_UNREACHABLE;
}

/* ---------------------------------------------------------------- allocation */

static void out_of_memory (void)
{
    fputs ("xfctl: no_memory: out of memory\n", stderr);
    if (json_mode)
        fputs ("{\"error\":{\"code\":\"no_memory\",\"message\":\"out of memory\"}}\n", stdout);
    exit (XFCTL_REFUSED);
}

void *xmalloc (size_t n)
{
    void *p = malloc (n ? n : 1);
    if (!p)
        out_of_memory ();
    return p;
}

void *xrealloc (void *p, size_t n)
{
    void *q = realloc (p, n ? n : 1);
    if (!q)
        out_of_memory ();
    return q;
}

char *xstrdup (const char *s)
{
    char *p = strdup (s);
    if (!p)
        out_of_memory ();
    return p;
}

char *xasprintf (const char *fmt, ...)
{
    char *s = NULL;
    va_list ap;
    va_start (ap, fmt);
    int n = vasprintf (&s, fmt, ap);
    va_end (ap);
    if (n < 0)
        out_of_memory ();
    return s;
}

json_t *xjson (json_t *j)
{
    if (!j)
        out_of_memory ();
    return j;
}

void xjson_set (json_t *obj, const char *key, json_t *value)
{
    if (!value || json_object_set_new (obj, key, value) != 0)
        out_of_memory ();
}

void xjson_append (json_t *arr, json_t *value)
{
    if (!value || json_array_append_new (arr, value) != 0)
        out_of_memory ();
}
