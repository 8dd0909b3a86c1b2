/* output_csv.c — `stats --format csv`: RFC 4180 (CRLF, fields quoted when they hold a
 * comma, quote or line break), one header row and one row per office; the figure columns
 * are the flattened names of the totals ("by_channel.letter"), in the daemon's order. */
#include <stdlib.h>
#include <string.h>
#include "output.h"
#include "text.h"
#include "xfctl.h"

static int field (FILE *out, const char *s, bool first)
{
    if (!first && putc (',', out) == EOF)
        return -1;
    if (!strpbrk (s, ",\"\r\n"))
        return fputs (s, out) == EOF ? -1 : 0;
    if (putc ('"', out) == EOF)
        return -1;
    for (; *s; s++)
        if ((*s == '"' && putc ('"', out) == EOF) || putc (*s, out) == EOF)
            return -1;
    return putc ('"', out) == EOF ? -1 : 0;
}

/* A figure for a machine: numbers as numbers (a rate as a ratio), null as empty. */
static char *figure_csv (const json_t *v)
{
    if (json_is_integer (v))
        return xasprintf ("%" JSON_INTEGER_FORMAT, json_integer_value (v));
    if (json_is_real (v))
        return xasprintf ("%.6g", json_real_value (v));
    if (json_is_string (v))
        return xstrdup (json_string_value (v));
    return xstrdup ("");
}

static const char *const fixed[] = {"office", "name", "source", "as_of", "period"};
#define NFIXED (sizeof fixed / sizeof fixed[0])

static int row (FILE *out, const json_t *stats, const json_t *office, const xf_figure_t *f, size_t n)
{
    const char *vals[NFIXED] = {
        json_string_value (json_object_get (office, "code")),
        json_string_value (json_object_get (office, "name")),
        json_string_value (json_object_get (office, "source")),
        json_string_value (json_object_get (office, "as_of")),
        json_string_value (json_object_get (stats, "period")),
    };
    if (!vals[0])
        vals[0] = json_string_value (json_object_get (stats, "office"));
    int rc = 0;
    for (size_t i = 0; i < NFIXED && rc == 0; i++)
        rc = field (out, vals[i] ? vals[i] : "", i == 0);
    const json_t *totals = json_object_get (office, "totals");
    for (size_t i = 0; i < n && rc == 0; i++) {
        char *s = figure_csv (xf_figure_lookup (totals, f[i].name));
        rc = field (out, s, false);
        free (s);
    }
    return rc == 0 && fputs ("\r\n", out) == EOF ? -1 : rc;
}

int xf_out_stats_csv (const json_t *stats, FILE *out)
{
    xf_figure_t *f;
    size_t n = xf_figures (json_object_get (stats, "totals"), &f);
    int rc = 0;
    for (size_t i = 0; i < NFIXED && rc == 0; i++)
        rc = field (out, fixed[i], i == 0);
    for (size_t i = 0; i < n && rc == 0; i++)
        rc = field (out, f[i].name, false);
    if (rc == 0 && fputs ("\r\n", out) == EOF)
        rc = -1;
    const json_t *offices = json_object_get (stats, "offices");
    size_t i;
    json_t *o;
    json_array_foreach (offices, i, o) {
        if (rc == 0)
            rc = row (out, stats, o, f, n);
    }
    if (rc == 0 && json_array_size (offices) == 0) {   /* no per-office rows: the totals */
        json_t *self = json_pack ("{s:O?}", "totals", json_object_get (stats, "totals"));
        rc = self ? row (out, stats, self, f, n) : -1;
        json_decref (self);
    }
    xf_figures_free (f, n);
    return rc;
}
