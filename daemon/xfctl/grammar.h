/* grammar.h — the one table of xfctl commands: their words, arguments, types and help.
 *
 * Parsing, `xfctl help`, `xfctl COMMAND --help` and usage errors all read the same table,
 * so they cannot drift apart. A usage error is "xfctl: usage: …" and the command's
 * synopsis on stderr, exit 2. */
#ifndef XF_GRAMMAR_H
#define XF_GRAMMAR_H

#include <stdbool.h>
#include <stdio.h>
#include <jansson.h>

typedef enum {
    A_TEXT,      /* any UTF-8 string */
    A_INT,       /* a whole number in [lo, hi] */
    A_DATE,      /* YYYY-MM-DD */
    A_TIME,      /* YYYY-MM-DDTHH:MM:SS */
    A_PERIOD,    /* 2026, 2026Q4, 2026-11, a..b */
    A_ENUM,      /* one of the '|'-separated words in meta */
    A_FLAG,      /* no value; true when given */
    A_CODE,      /* an office code (GB/T 2260) */
    A_LIST,      /* comma-separated words, sent as an array of strings */
    A_PATH,      /* a local file or directory name; never sent */
} xf_argtype_t;

enum {
    A_REQUIRED = 1,     /* must be given */
    A_POSITIONAL = 2,   /* a bare word (name is its placeholder), not an --option */
    A_LOCAL = 4,        /* used by xfctl itself, not sent to the daemon */
    A_REST = 8,         /* positional taking every remaining word (an array) */
};

typedef struct {
    const char *name;   /* "--channel", or a positional's placeholder "ID" */
    const char *key;    /* where the value goes; a dotted key nests: "petitioner.name" */
    xf_argtype_t type;
    unsigned flags;
    const char *meta;   /* the value placeholder; for A_ENUM the choices "a|b|c" */
    long lo, hi;        /* A_INT range */
    const char *help;
} xf_arg_t;

typedef enum {
    RUN_REQUEST,   /* send request with the non-local arguments, show the result */
    RUN_KEYGEN,
    RUN_CONFIG,
    RUN_IMPORT,
    RUN_STATS,
    RUN_CERT,
    RUN_HELP,
    RUN_BACKUP,   /* backup FILE: the daemon copies the store into a pipe */
} xf_run_t;

typedef enum {         /* how a result is shown in text mode */
    SHOW_PLAIN,        /* key: value lines */
    SHOW_STATUS,
    SHOW_CASE,         /* the full case */
    SHOW_CASE_ID,      /* just its id (case register) */
    SHOW_CASE_LINE,    /* id, status, what is due (a decision) */
    SHOW_HISTORY,
    SHOW_LIST,
    SHOW_CLOCK,
    SHOW_STATS,
    SHOW_AUDIT,        /* audit records, one per row */
    SHOW_TOPOLOGY,     /* the office tree */
    SHOW_TEXT,         /* the result's "text", as it is (metrics) */
} xf_show_t;

typedef struct {
    const char *words[3];   /* "case", "register", NULL */
    const char *request;    /* the control command ("case.register"), NULL when local */
    xf_run_t run;
    xf_show_t show;
    const xf_arg_t *args;   /* ends with {NULL} */
    const char *summary;    /* one line */
    const char *help;       /* further paragraphs for COMMAND --help, or NULL */
} xf_cmd_t;

typedef struct {
    const xf_cmd_t *cmd;
    json_t *opts;           /* key → value of every argument given (dotted keys flat) */
    bool json;              /* --json given after the command */
    bool help;              /* --help / -h given: show the command's help instead */
} xf_parsed_t;

/* Every command, ending with an entry whose words[0] is NULL. */
extern const xf_cmd_t xf_commands[];

/* Finds the command named by the leading words of argv (each may be abbreviated to an
 * unambiguous prefix); *used gets how many words it took. Prints a usage error and
 * returns 2 when there is none. */
int xf_grammar_find (int argc, char **argv, const xf_cmd_t **cmd, int *used);

/* Parses the words after the global options. On success fills p (free with
 * xf_grammar_free) and returns 0; on a usage error prints it and returns 2. */
int xf_grammar_parse (int argc, char **argv, xf_parsed_t *p);
void xf_grammar_free (xf_parsed_t *p);

/* The request arguments: every non-local option, dotted keys nested. New reference. */
json_t *xf_grammar_request (const xf_parsed_t *p);

/* A string / integer / boolean option by key, or NULL / false when not given. */
const char *xf_opt_str (const xf_parsed_t *p, const char *key);
bool xf_opt_flag (const xf_parsed_t *p, const char *key);

/* Prints "xfctl: usage: <message>" and cmd's synopsis (or the command list when cmd is
 * NULL) on stderr; returns 2. */
int xf_grammar_usage (const xf_cmd_t *cmd, const char *fmt, ...) __attribute__ ((format (printf, 2, 3)));

/* The same for an incomplete command: the synopses of every command whose first word is
 * group and whose second word starts with prefix ("" for all of them). */
int xf_grammar_usage_group (const char *group, const char *prefix, const char *fmt, ...)
    __attribute__ ((format (printf, 3, 4)));

/* `xfctl help`, `xfctl help WORDS…` and `xfctl COMMAND --help`, on out. Return 0 or 2. */
int xf_grammar_help (FILE *out, json_t *topic);
void xf_grammar_cmd_help (const xf_cmd_t *cmd, FILE *out);

#endif
