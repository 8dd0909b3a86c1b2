/* output_stats.c — the figures of `stats`: flattening the "totals" object into named
 * figures (shared by the table and the CSV), and the human table of them. */
#include <stdlib.h>
#include <string.h>
#include "output.h"
#include "text.h"
#include "xfctl.h"

static const char *or (const char *s, const char *dflt)
{
    return s ? s : dflt;
}

static void flatten (const json_t *obj, const char *prefix, xf_figure_t **f, size_t *n, size_t *cap)
{
    const char *key;
    json_t *v;
    json_object_foreach ((json_t *) obj, key, v) {
        char *name = prefix ? xasprintf ("%s.%s", prefix, key) : xstrdup (key);
        if (json_is_object (v)) {
            flatten (v, name, f, n, cap);
            free (name);
            continue;
        }
        if (*n == *cap) {
            *cap = *cap ? 2 * *cap : 64;
            *f = xrealloc (*f, *cap * sizeof **f);
        }
        (*f)[(*n)++] = (xf_figure_t) {name, v};
    }
}

size_t xf_figures (const json_t *totals, xf_figure_t **out)
{
    size_t n = 0, cap = 0;
    *out = NULL;
    if (json_is_object (totals))
        flatten (totals, NULL, out, &n, &cap);
    return n;
}

void xf_figures_free (xf_figure_t *f, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free (f[i].name);
    free (f);
}

char *xf_figure_text (const char *name, const json_t *v)
{
    const char *leaf = strrchr (name, '.');
    leaf = leaf ? leaf + 1 : name;
    if (!v || json_is_null (v))
        return xstrdup ("—");
    if (strcmp (leaf, "on_time_rate") == 0 && json_is_number (v))
        return xasprintf ("%.1f%%", 100.0 * json_number_value (v));
    if (strncmp (name, "shares.", 7) == 0 && json_is_number (v))   /* exact to 0.01 point */
        return xasprintf ("%.2f%%", 100.0 * json_number_value (v));
    if (json_is_integer (v))
        return xasprintf ("%" JSON_INTEGER_FORMAT, json_integer_value (v));
    if (json_is_real (v))
        return xasprintf ("%g", json_real_value (v));
    if (json_is_string (v))
        return text_clean (json_string_value (v));
    return xstrdup (json_is_true (v) ? "yes" : json_is_false (v) ? "no" : "…");
}

const json_t *xf_figure_lookup (const json_t *totals, const char *name)
{
    const char *dot = strchr (name, '.');
    if (!dot)
        return json_object_get (totals, name);
    char *outer = xasprintf ("%.*s", (int) (dot - name), name);
    const json_t *sub = json_object_get (totals, outer);
    free (outer);
    return sub ? xf_figure_lookup (sub, dot + 1) : NULL;
}

static int header (const json_t *stats, FILE *out)
{
    const json_t *offices = json_object_get (stats, "offices");
    const json_t *first = json_array_get (offices, 0);
    const char *code = json_string_value (json_object_get (stats, "office"));
    const char *name = json_array_size (offices) == 1
                           ? json_string_value (json_object_get (first, "name")) : NULL;
    const char *as_of = json_string_value (json_object_get (first, "as_of"));
    char *line = xasprintf ("office %s%s%s, period %s%s%s%s", code ? code : "?", name ? " " : "",
                            name ? name : "",
                            or (json_string_value (json_object_get (stats, "period")), "?"),
                            json_is_true (json_object_get (stats, "consolidated"))
                                ? ", consolidated" : "",
                            as_of && json_array_size (offices) == 1 ? ", as of " : "",
                            as_of && json_array_size (offices) == 1 ? as_of : "");
    char *clean = text_clean (line);
    int rc = fprintf (out, "%s\n\n", clean) < 0 ? -1 : 0;
    free (clean), free (line);
    return rc;
}

static int missing (const json_t *stats, FILE *out)
{
    const json_t *m = json_object_get (stats, "missing");
    if (json_array_size (m) == 0)
        return 0;
    int rc = fputs ("\nmissing offices:", out) == EOF ? -1 : 0;
    size_t i;
    json_t *code;
    json_array_foreach (m, i, code) {
        char *s = text_clean (json_is_string (code) ? json_string_value (code) : "?");
        if (rc == 0 && fprintf (out, "%s %s", i ? "," : "", s) < 0)
            rc = -1;
        free (s);
    }
    return rc == 0 && putc ('\n', out) == EOF ? -1 : rc;
}

/* Where each office's figures came from, when not all are live. */
static int sources (const json_t *stats, FILE *out)
{
    size_t i;
    json_t *o;
    int rc = 0;
    json_array_foreach (json_object_get (stats, "offices"), i, o) {
        const char *src = or (json_string_value (json_object_get (o, "source")), "?");
        if (strcmp (src, "snapshot") != 0 || rc)
            continue;
        char *code = text_clean (or (json_string_value (json_object_get (o, "code")), "?"));
        char *as_of = text_clean (or (json_string_value (json_object_get (o, "as_of")), "?"));
        rc = fprintf (out, "%s: from its monthly snapshot of %s%s\n", code, as_of,
                      json_is_true (json_object_get (o, "partial"))
                          ? ", which does not cover the whole period" : "") < 0 ? -1 : 0;
        free (code), free (as_of);
    }
    return rc;
}

/* 与往年相比: the main figures beside the same period a year earlier. */
static int compare (const json_t *stats, FILE *out)
{
    static const char *const keys[] = {"received", "accepted", "filed", "closed", "on_time_rate", NULL};
    const json_t *cmp = json_object_get (stats, "compare");
    if (!json_is_object (cmp))
        return 0;
    char *period = text_clean (or (json_string_value (json_object_get (cmp, "period")), "?"));
    int rc = fprintf (out, "\ncompared with %s%s:\n", period,
                      json_is_true (json_object_get (cmp, "partial")) ? " (partly known)" : "") < 0 ? -1 : 0;
    free (period);
    for (int i = 0; keys[i] && rc == 0; i++) {
        bool rate = strcmp (keys[i], "on_time_rate") == 0;
        const json_t *ch = json_object_get (json_object_get (cmp, rate ? "change_pp" : "change_pct"), keys[i]);
        char *now = xf_figure_text (keys[i], json_object_get (json_object_get (stats, "totals"), keys[i]));
        char *was = xf_figure_text (keys[i], json_object_get (json_object_get (cmp, "totals"), keys[i]));
        char *delta = json_is_number (ch) ? xasprintf (rate ? "%+.1f points" : "%+.1f%%", json_number_value (ch))
                                          : xstrdup ("—");
        rc = fprintf (out, "  %-16s %10s  (was %s, %s)\n", keys[i], now, was, delta) < 0 ? -1 : 0;
        free (now), free (was), free (delta);
    }
    return rc;
}

/* Rows are figures; the columns are the totals and, when there are several offices,
 * each office. */
int xf_out_stats_table (const json_t *stats, FILE *out)
{
    const json_t *offices = json_object_get (stats, "offices");
    size_t per_office = json_array_size (offices) > 1 ? json_array_size (offices) : 0;
    size_t ncols = 2 + per_office;
    const char **cells = xmalloc (ncols * sizeof *cells);
    char **owned = xmalloc (ncols * sizeof *owned);
    cells[0] = "FIGURE";
    cells[1] = per_office ? "TOTAL" : or (json_string_value (json_object_get (stats, "office")), "VALUE");
    for (size_t o = 0; o < per_office; o++)
        cells[2 + o] = or (json_string_value (json_object_get (json_array_get (offices, o), "code")), "?");
    text_table_t *t = text_table_new (ncols, cells);
    for (size_t c = 1; c < ncols; c++)
        text_table_right (t, c);
    xf_figure_t *f;
    const json_t *totals = json_object_get (stats, "totals");
    size_t n = xf_figures (totals, &f);
    for (size_t i = 0; i < n; i++) {
        cells[0] = f[i].name;
        owned[0] = NULL;
        for (size_t c = 1; c < ncols; c++) {
            const json_t *src = c == 1 ? f[i].value
                                : xf_figure_lookup (json_object_get (json_array_get (offices, c - 2), "totals"), f[i].name);
            cells[c] = owned[c] = xf_figure_text (f[i].name, src);
        }
        text_table_add (t, cells);
        for (size_t c = 1; c < ncols; c++)
            free (owned[c]);
    }
    int rc = header (stats, out);
    if (rc == 0)
        rc = text_table_print (t, out);
    if (rc == 0)
        rc = missing (stats, out);
    if (rc == 0)
        rc = sources (stats, out);
    if (rc == 0)
        rc = compare (stats, out);
    xf_figures_free (f, n);
    text_table_destroy (&t);
    free (cells), free (owned);
    return rc;
}
