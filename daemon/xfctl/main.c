/* main.c — xfctl, the operator CLI of xfsyncd: global options, finding the daemon's
 * control socket, and running the command the grammar table names. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "client.h"
#include "grammar.h"
#include "output.h"
#include "run.h"
#include "xf_conf.h"
#include "xfctl.h"

#define DEFAULT_CONFIG "/etc/xfsync/xfsyncd.conf"
#define DEFAULT_SOCKET "/run/xfsync/control.sock"

typedef struct {
    const char *socket;   /* -s */
    const char *config;   /* -c */
    bool json;
    int timeout;          /* --timeout, seconds */
} globals_t;

/* "-s X", "-sX", "--socket X", "--socket=X". Returns the value or NULL (not this option). */
static const char *option_value (int argc, char **argv, int *i, const char *s, const char *l,
                                 bool *missing)
{
    const char *w = argv[*i];
    size_t ll = strlen (l);
    *missing = false;
    if (strcmp (w, s) == 0 || strcmp (w, l) == 0) {
        if (*i + 1 >= argc)
            return *missing = true, NULL;
        return argv[++*i];
    }
    if (strncmp (w, s, 2) == 0 && w[2])
        return w + 2;
    if (strncmp (w, l, ll) == 0 && w[ll] == '=')
        return w + ll + 1;
    return NULL;
}

/* Whole seconds, 0 to XF_CLIENT_TIMEOUT_MAX, or -1. */
static int seconds (const char *t)
{
    long v = 0;
    if (!*t || strlen (t) > 5)
        return -1;
    for (const char *d = t; *d; d++) {
        if (*d < '0' || *d > '9')
            return -1;
        v = v * 10 + (*d - '0');
    }
    return v <= XF_CLIENT_TIMEOUT_MAX ? (int) v : -1;
}

/* Parses the global options; returns the index of the command, or -1 with *status set
 * (help, version, usage error). */
static int globals (int argc, char **argv, globals_t *g, int *status)
{
    int i = 1;
    for (; i < argc && argv[i][0] == '-' && argv[i][1]; i++) {
        const char *w = argv[i], *v;
        bool missing;
        if (strcmp (w, "--") == 0)
            return i + 1;
        if (strcmp (w, "--json") == 0)
            g->json = true;
        else if (strcmp (w, "-h") == 0 || strcmp (w, "--help") == 0)
            return *status = xf_grammar_help (stdout, NULL), -1;
        else if (strcmp (w, "--version") == 0)
            return *status = printf ("xfctl %s\n", XFCTL_VERSION) < 0, -1;
        else if (strcmp (w, "--timeout") == 0 || strncmp (w, "--timeout=", 10) == 0) {
            const char *t = w[9] == '=' ? w + 10 : i + 1 < argc ? argv[++i] : NULL;
            if (!t)
                return *status = xf_grammar_usage (NULL, "--timeout needs a value"), -1;
            if ((g->timeout = seconds (t)) < 0)
                return *status = xf_grammar_usage (NULL, "--timeout takes whole seconds, 0 to "
                                                   "%d, not \"%s\"", XF_CLIENT_TIMEOUT_MAX, t), -1;
        } else if ((v = option_value (argc, argv, &i, "-s", "--socket", &missing)))
            g->socket = v;
        else if (!missing && (v = option_value (argc, argv, &i, "-c", "--config", &missing)))
            g->config = v;
        else if (missing)
            return *status = xf_grammar_usage (NULL, "%s needs a value", w), -1;
        else
            return *status = xf_grammar_usage (NULL, "unknown option %s", w), -1;
    }
    return i;
}

/* The first line of a config error, and how many more there are. */
static char *config_message (const char *msg)
{
    const char *nl = strchr (msg, '\n');
    size_t more = 0;
    for (const char *p = nl; p; p = strchr (p + 1, '\n'))
        more++;
    if (!nl)
        return xstrdup (msg);
    return xasprintf ("%.*s (and %zu more)", (int) (nl - msg), msg, more);
}

/* -s, else $XFSYNC_SOCKET, else control_socket of the config (-c, or the default file
 * when it exists), else the default path. *path is the caller's to free. */
static int resolve_socket (const globals_t *g, char **path)
{
    const char *env = getenv ("XFSYNC_SOCKET");
    const char *conf_path = g->config ? g->config
                            : access (DEFAULT_CONFIG, F_OK) == 0 ? DEFAULT_CONFIG : NULL;
    if (g->socket || (env && *env)) {
        *path = xstrdup (g->socket ? g->socket : env);
        return XFCTL_OK;
    }
    *path = NULL;
    if (conf_path) {
        xf_err_t err = {0};
        xf_conf_t *conf = xf_conf_load (conf_path, &err);
        if (conf && conf->control_socket)
            *path = xstrdup (conf->control_socket);
        xf_conf_destroy (&conf);
        if (!*path && err.code) {
            char *msg = config_message (err.msg);
            int rc = XFCTL_OK;
            if (g->config)   /* asked for by name: its errors matter */
                rc = xfctl_refuse ("config", "%s", msg);
            else
                fprintf (stderr, "xfctl: warning: %s; trying %s\n", msg, DEFAULT_SOCKET);
            free (msg);
            if (rc != XFCTL_OK)
                return rc;
        }
    }
    if (!*path)
        *path = xstrdup (DEFAULT_SOCKET);
    return XFCTL_OK;
}

#define LOOKUP_WAIT_MS  10000   /* how long `case lookup` waits for the office a code names */
#define LOOKUP_POLL_MS  100

/* A lookup answered by another office comes back {"pending":true}: ask again until the
 * answer is there (the daemon sends the question once and keeps the answer). */
static int await_answer (const char *socket, const char *request, const json_t *args, json_t **result)
{
    int rc = xf_client_await (socket, request, args, LOOKUP_POLL_MS, LOOKUP_WAIT_MS, NULL, result);
    if (rc != XF_CLIENT_TIMEOUT)
        return rc;
    rc = xfctl_refuse ("unavailable", "office %s, which the query code names, has not answered "
                       "within %d s: it may be out of reach, or the code mistyped; try again "
                       "later", json_string_value (json_object_get (*result, "asked_of")),
                       LOOKUP_WAIT_MS / 1000);
    json_decref (*result);
    *result = NULL;
    return rc;
}

static int run_request (const char *socket, const xf_parsed_t *p)
{
    json_t *args = xf_grammar_request (p), *result;
    const json_t *sent = json_object_size (args) ? args : NULL;
    int rc = xf_client_request (socket, p->cmd->request, sent, &result);
    if (rc == XFCTL_OK && strcmp (p->cmd->request, "case.lookup") == 0)
        rc = await_answer (socket, p->cmd->request, sent, &result);
    json_decref (args);
    if (rc != XFCTL_OK)
        return rc;
    if (xfctl_json ())
        xf_out_json (result, stdout);
    else
        xf_out_text (p->cmd->show, result, stdout);
    json_decref (result);
    return XFCTL_OK;
}

static int run (const globals_t *g, const xf_parsed_t *p)
{
    if (p->help) {
        xf_grammar_cmd_help (p->cmd, stdout);
        return XFCTL_OK;
    }
    switch (p->cmd->run) {
    case RUN_HELP:
        return xf_grammar_help (stdout, json_object_get (p->opts, "topic"));
    case RUN_KEYGEN:
        return xf_run_keygen (xf_opt_str (p, "dir"));
    case RUN_CONFIG:
        return xf_run_config_check (xf_opt_str (p, "file"));
    case RUN_CERT:
        if (xf_cert_is_local (p))
            return xf_run_cert (NULL, p);
        break;
    default:
        break;
    }
    char *socket;
    int rc = resolve_socket (g, &socket);
    if (rc != XFCTL_OK)
        return rc;
    switch (p->cmd->run) {
    case RUN_IMPORT: rc = xf_run_import (socket, xf_opt_str (p, "file")); break;
    case RUN_BACKUP: rc = xf_run_backup (socket, xf_opt_str (p, "file")); break;
    case RUN_STATS:  rc = xf_run_stats (socket, p); break;
    case RUN_CERT:   rc = xf_run_cert (socket, p); break;
    default:         rc = run_request (socket, p); break;
    }
    free (socket);
    return rc;
}

int main (int argc, char **argv)
{
    globals_t g = {.timeout = XF_CLIENT_TIMEOUT_DEFAULT};
    xf_parsed_t p;
    int status = XFCTL_OK;
    int first = globals (argc, argv, &g, &status);
    if (first < 0)
        return status;
    if (first >= argc)
        return xf_grammar_usage (NULL, "a command is needed");
    if ((status = xf_grammar_parse (argc - first, argv + first, &p)) != 0)
        return status;
    xfctl_set_json (g.json || p.json);
    xf_client_set_timeout (g.timeout);
    status = run (&g, &p);
    xf_grammar_free (&p);
    if (fflush (stdout) != 0 || ferror (stdout)) {
        int err = errno ? errno : EIO;
        xfctl_set_json (false);   /* stdout is what failed */
        status = xfctl_refuse ("io", "writing to standard output: %s", strerror (err));
    }
    return status;
}
