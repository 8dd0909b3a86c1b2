/* stats.c — `xfctl stats`: one request, then the figures as a table, JSON or CSV, on
 * stdout or into --out FILE; a consolidated report is waited for (it takes up to the
 * daemon's [stats] pull_seconds). HTML is output_html.c. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "client.h"
#include "output.h"
#include "run.h"
#include "text.h"
#include "xfctl.h"

#define POLL_MS 100
#define POLL_GRACE_MS 5000

/* 目标管理 scores: one line per office, the points of each rule beside the score. */
static int write_scores (const json_t *r, FILE *out)
{
    static const char *const items[] = {"filed_above_base", "on_time_below_target", "overdue"};
    const char *head[] = {"OFFICE", "NAME", "SOURCE", "SCORE", "FILED/BASE", "+FILED",
                          "ON-TIME", "-ON-TIME", "-OVERDUE"};
    text_table_t *t = text_table_new (9, head);
    for (size_t c = 3; c < 9; c++)
        text_table_right (t, c);
    size_t i;
    json_t *s;
    json_array_foreach (json_object_get (r, "scores"), i, s) {
        char *cells[9] = {NULL};
        const json_t *b = json_object_get (s, "breakdown"), *parts[3] = {NULL};
        for (size_t k = 0; k < json_array_size (b); k++)
            for (int m = 0; m < 3; m++)
                if (strcmp (json_string_value (json_object_get (json_array_get (b, k), "item")),
                            items[m]) == 0)
                    parts[m] = json_array_get (b, k);
        cells[0] = text_clean (json_string_value (json_object_get (s, "code")));
        cells[1] = text_clean (json_string_value (json_object_get (s, "name")));
        cells[2] = text_clean (json_string_value (json_object_get (s, "source")));
        const json_t *score = json_object_get (s, "score");
        cells[3] = json_is_integer (score) ? xasprintf ("%" JSON_INTEGER_FORMAT, json_integer_value (score))
                                           : xstrdup ("— (missing)");
        cells[4] = parts[0] ? xasprintf ("%" JSON_INTEGER_FORMAT "/%" JSON_INTEGER_FORMAT,
                                         json_integer_value (json_object_get (parts[0], "filed")),
                                         json_integer_value (json_object_get (parts[0], "base")))
                            : xstrdup ("—");
        cells[5] = parts[0] ? xasprintf ("%+" JSON_INTEGER_FORMAT, json_integer_value (json_object_get (parts[0], "points"))) : xstrdup ("—");
        cells[6] = parts[1] ? xasprintf ("%.1f%%", 100 * json_number_value (json_object_get (parts[1], "rate"))) : xstrdup ("—");
        cells[7] = parts[1] ? xasprintf ("%+" JSON_INTEGER_FORMAT, json_integer_value (json_object_get (parts[1], "points"))) : xstrdup ("—");
        cells[8] = parts[2] ? xasprintf ("%+" JSON_INTEGER_FORMAT, json_integer_value (json_object_get (parts[2], "points"))) : xstrdup ("—");
        text_table_add (t, (const char **) cells);
        for (int c = 0; c < 9; c++)
            free (cells[c]);
    }
    char *period = text_clean (json_string_value (json_object_get (r, "period")));
    int rc = fprintf (out, "目标管理 scores, period %s%s\n\n", period,
                      json_is_true (json_object_get (r, "partial")) ? " (partial: see stats --consolidated)" : "") < 0 ? -1 : 0;
    free (period);
    if (rc == 0)
        rc = text_table_print (t, out);
    text_table_destroy (&t);
    return rc;
}

static int write_as (const char *format, const json_t *stats, FILE *out)
{
    if (strcmp (format, "json") == 0)
        return xf_out_json (stats, out);
    if (json_object_get (stats, "scores"))
        return write_scores (stats, out);
    if (strcmp (format, "csv") == 0)
        return xf_out_stats_csv (stats, out);
    if (strcmp (format, "html") == 0)
        return xf_out_stats_html (stats, out);
    return xf_out_stats_table (stats, out);
}

static int write_file (const char *path, const char *format, const json_t *stats)
{
    FILE *f = fopen (path, "we");
    if (!f)
        return xfctl_refuse ("io", "cannot open %s: %s", path, strerror (errno));
    errno = 0;
    int rc = write_as (format, stats, f);
    int saved = errno ? errno : EIO;
    if (fclose (f) != 0 && rc == 0)
        rc = -1, saved = errno;
    if (rc != 0)
        return xfctl_refuse ("io", "cannot write %s: %s", path, strerror (saved));
    if (xfctl_json ()) {   /* a --json caller still gets one document on stdout */
        char *clean = text_clean (path);
        json_t *doc = xjson (json_pack ("{s:s,s:s}", "written", clean, "format", format));
        xf_out_json (doc, stdout);
        json_decref (doc);
        free (clean);
    }
    return XFCTL_OK;
}

/* A consolidated report is gathered for up to [stats] pull_seconds: the daemon answers
 * {"pending":true,"request":N,"wait_ms":…} and is asked again for request N until it is made. */
static void show_progress (const json_t *pending, bool done)
{
    if (!isatty (STDERR_FILENO))
        return;
    if (done) {
        fprintf (stderr, "\r%60s\r", "");
        return;
    }
    fprintf (stderr, "\rgathering: %lld of %lld offices below answered, up to %lld s more   ",
             (long long) json_integer_value (json_object_get (pending, "answered")),
             (long long) json_integer_value (json_object_get (pending, "expected")),
             (long long) (json_integer_value (json_object_get (pending, "wait_ms")) + 999) / 1000);
    fflush (stderr);
}

static void show_pending (const json_t *pending)
{
    show_progress (pending, false);
}

static int await_report (const char *socket, const char *request, json_t **stats)
{
    if (!json_is_true (json_object_get (*stats, "pending")))
        return XFCTL_OK;
    int64_t limit = json_integer_value (json_object_get (*stats, "wait_ms")) + POLL_GRACE_MS;
    int rc = xf_client_await (socket, request, NULL, POLL_MS, limit, show_pending, stats);
    show_progress (NULL, true);
    if (rc != XF_CLIENT_TIMEOUT)
        return rc;
    json_decref (*stats);
    *stats = NULL;
    return xfctl_refuse ("unavailable", "the consolidated report was not ready in time; see the "
                         "daemon's log");
}

int xf_run_stats (const char *socket, const xf_parsed_t *p)
{
    const char *format = xf_opt_str (p, "format"), *out = xf_opt_str (p, "out");
    if (!format)
        format = xfctl_json () ? "json" : "table";
    json_t *args = xf_grammar_request (p), *stats;
    if (xf_opt_flag (p, "consolidated"))
        xjson_set (args, "consolidated", json_true ());
    int rc = xf_client_request (socket, p->cmd->request, json_object_size (args) ? args : NULL,
                                &stats);
    json_decref (args);
    if (rc == XFCTL_OK)
        rc = await_report (socket, p->cmd->request, &stats);
    if (rc != XFCTL_OK)
        return rc;
    if (out)
        rc = write_file (out, format, stats);
    else
        write_as (format, stats, stdout);   /* stdout errors are caught when main flushes it */
    json_decref (stats);
    return rc;
}
