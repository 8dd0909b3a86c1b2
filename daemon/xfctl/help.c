/* help.c — every word of help xfctl prints, generated from the command table in grammar.c:
 * synopses, `xfctl help`, `xfctl COMMAND --help` and the usage errors. */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include "grammar.h"
#include "text.h"
#include "xfctl.h"

#define WRAP 78

static const char global_usage[] =
    "usage: xfctl [-s SOCKET] [-c FILE] [--json] [--timeout SECONDS] COMMAND [ARGUMENTS]\n"
    "       xfctl --version | --help\n";

static const char global_options[] =
    "The operator's tool for xfsyncd, the 信访 case node of one office.\n"
    "\n"
    "options:\n"
    "  -s, --socket SOCKET  the daemon's control socket; default: $XFSYNC_SOCKET, else\n"
    "                       control_socket of the config file, else /run/xfsync/control.sock\n"
    "  -c, --config FILE    the config file to take control_socket from\n"
    "                       (default: /etc/xfsync/xfsyncd.conf, when it exists)\n"
    "  --json               print the result as one JSON document on stdout; a refusal is\n"
    "                       {\"error\":{\"code\":…,\"message\":…}}\n"
    "  --timeout SECONDS    give up (exit status 3) when xfsyncd has not taken the request or\n"
    "                       sent a byte of its answer for this long; default 120, 0: wait\n"
    "  -h, --help           this help; \"xfctl COMMAND --help\" explains one command\n"
    "  --version            the version of xfctl\n";

static const char global_tail[] =
    "Command words may be shortened while they stay unambiguous (\"xfctl case sh ID\").\n"
    "Dates are China Standard Time.\n"
    "\n"
    "exit status: 0 done; 1 refused, with one line \"xfctl: CODE: message\" on stderr;\n"
    "2 usage error; 3 the daemon is unreachable.\n";

/* One synopsis element of an argument: "ID", "--summary TEXT", "[--anonymous]". */
static char *arg_synopsis (const xf_arg_t *a)
{
    if (a->flags & A_REST)
        return xasprintf ("[%s…]", a->meta);
    if (a->flags & A_POSITIONAL)
        return (a->flags & A_REQUIRED) ? xstrdup (a->meta) : xasprintf ("[%s]", a->meta);
    const char *fmt = (a->flags & A_REQUIRED) ? "%s%s%s" : "[%s%s%s]";
    return xasprintf (fmt, a->name, a->type == A_FLAG ? "" : " ", a->type == A_FLAG ? "" : a->meta);
}

/* "xfctl case register" and the arguments, wrapped under the first argument. */
static void synopsis (const xf_cmd_t *cmd, const char *lead, FILE *out)
{
    int col = fprintf (out, "%sxfctl", lead);
    for (int i = 0; cmd->words[i]; i++)
        col += fprintf (out, " %s", cmd->words[i]);
    int indent = col + 1;
    for (const xf_arg_t *a = cmd->args; a->name; a++) {
        char *s = arg_synopsis (a);
        int len = (int) strlen (s);
        if (col + 1 + len > WRAP && col > indent) {
            fprintf (out, "\n%*s", indent - 1, "");
            col = indent - 1;
        }
        col += fprintf (out, " %s", s);
        free (s);
    }
    putc ('\n', out);
}

/* Writes text from column indent on, breaking at spaces before WRAP columns. */
static void wrap (FILE *out, const char *text, size_t indent)
{
    size_t col = indent;
    const char *p = text;
    while (*p) {
        const char *sp = strchr (p, ' ');
        size_t len = sp ? (size_t) (sp - p) : strlen (p);
        char *word = xasprintf ("%.*s", (int) len, p);
        size_t w = text_width (word);
        if (col > indent && col + 1 + w > WRAP)
            fprintf (out, "\n%*s", (int) indent, ""), col = indent;
        else if (col > indent)
            putc (' ', out), col++;
        fputs (word, out);
        col += w;
        free (word);
        p += len;
        while (*p == ' ')
            p++;
    }
    putc ('\n', out);
}

static void vusage (const char *fmt, va_list ap)
{
    char *msg = NULL;
    if (vasprintf (&msg, fmt, ap) < 0)
        msg = NULL;
    fprintf (stderr, "xfctl: usage: %s\n", msg ? msg : "bad command line");
    free (msg);
}

int xf_grammar_usage (const xf_cmd_t *cmd, const char *fmt, ...)
{
    va_list ap;
    va_start (ap, fmt);
    vusage (fmt, ap);
    va_end (ap);
    if (cmd)
        synopsis (cmd, "usage: ", stderr);
    else
        fputs (global_usage, stderr), fputs ("Run \"xfctl help\" for the commands.\n", stderr);
    return XFCTL_USAGE;
}

int xf_grammar_usage_group (const char *group, const char *prefix, const char *fmt, ...)
{
    va_list ap;
    va_start (ap, fmt);
    vusage (fmt, ap);
    va_end (ap);
    const char *lead = "usage: ";
    for (const xf_cmd_t *c = xf_commands; c->words[0]; c++) {
        if (strcmp (c->words[0], group) == 0 && c->words[1]
            && strncmp (c->words[1], prefix, strlen (prefix)) == 0) {
            synopsis (c, lead, stderr);
            lead = "       ";
        }
    }
    return XFCTL_USAGE;
}

void xf_grammar_cmd_help (const xf_cmd_t *cmd, FILE *out)
{
    synopsis (cmd, "usage: ", out);
    fprintf (out, "\n%s\n", cmd->summary);
    bool any = false;
    for (const xf_arg_t *a = cmd->args; a->name; a++) {
        if (!any)
            fputs ("\narguments:\n", out), any = true;
        int len = a->flags & A_POSITIONAL ? fprintf (out, "  %s", a->meta)
                  : a->type == A_FLAG     ? fprintf (out, "  %s", a->name)
                                          : fprintf (out, "  %s %s", a->name, a->meta);
        if (len > 26)
            fprintf (out, "\n%28s", "");
        else
            fprintf (out, "%*s", 28 - len, "");
        char *text = xasprintf ("%s%s", a->help, a->flags & A_REQUIRED ? " (required)" : "");
        wrap (out, text, 28);
        free (text);
    }
    if (cmd->help)
        fprintf (out, "\n%s\n", cmd->help);
    if (cmd->request)
        fprintf (out, "\ncontrol request: \"%s\"\n", cmd->request);
    else if (cmd->run != RUN_HELP)
        fputs ("\nRuns locally; needs no daemon.\n", out);
}

static void command_list (FILE *out, const char *group)
{
    for (const xf_cmd_t *c = xf_commands; c->words[0]; c++) {
        if (group && strcmp (c->words[0], group) != 0)
            continue;
        synopsis (c, "  ", out);
        fprintf (out, "      %s\n", c->summary);
    }
}

int xf_grammar_help (FILE *out, json_t *topic)
{
    size_t n = json_array_size (topic);
    if (n == 0) {
        fprintf (out, "%s\n%s\ncommands:\n", global_usage, global_options);
        command_list (out, NULL);
        fprintf (out, "\n%s", global_tail);
        return XFCTL_OK;
    }
    const char *first = json_string_value (json_array_get (topic, 0));
    for (const xf_cmd_t *c = xf_commands; n == 1 && c->words[0]; c++) {
        if (strcmp (c->words[0], first) == 0 && c->words[1]) {
            fprintf (out, "The \"%s\" commands:\n", first);
            command_list (out, first);
            return XFCTL_OK;
        }
    }
    char **words = xmalloc (n * sizeof *words);
    for (size_t i = 0; i < n; i++)
        words[i] = (char *) json_string_value (json_array_get (topic, i));
    const xf_cmd_t *cmd;
    int used, rc = xf_grammar_find ((int) n, words, &cmd, &used);
    if (rc == 0 && (size_t) used != n)
        rc = xf_grammar_usage (NULL, "help: no command \"%s …\" has more words", words[0]);
    if (rc == 0)
        xf_grammar_cmd_help (cmd, out);
    free (words);
    return rc;
}
