/* stats.c — `xfctl stats`: one request, then the figures as a table, JSON or CSV, on
 * stdout or into --out FILE; a consolidated report is waited for (it takes up to the
 * daemon's [stats] pull_seconds). HTML is output_html.c. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include "client.h"
#include "output.h"
#include "run.h"
#include "text.h"
#include "xfctl.h"

#define POLL_MS 100
#define POLL_GRACE_MS 5000

static int write_as (const char *format, const json_t *stats, FILE *out)
{
    if (strcmp (format, "json") == 0)
        return xf_out_json (stats, out);
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
static int await_report (const char *socket, const char *request, json_t **stats)
{
    int64_t waited = 0, limit = -1;
    while (json_is_true (json_object_get (*stats, "pending"))) {
        json_int_t id = json_integer_value (json_object_get (*stats, "request"));
        if (limit < 0)
            limit = json_integer_value (json_object_get (*stats, "wait_ms")) + POLL_GRACE_MS;
        if (waited > limit) {
            json_decref (*stats);
            *stats = NULL;
            return xfctl_refuse ("unavailable", "the consolidated report was not ready in time; "
                                 "see the daemon's log");
        }
        nanosleep (&(struct timespec) {0, POLL_MS * 1000000L}, NULL);
        waited += POLL_MS;
        json_decref (*stats);
        json_t *args = xjson (json_pack ("{s:I}", "request", id));
        int rc = xf_client_request (socket, request, args, stats);
        json_decref (args);
        if (rc != XFCTL_OK)
            return rc;
    }
    return XFCTL_OK;
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
