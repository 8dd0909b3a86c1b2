/* xfctl.h — what the parts of xfctl share: exit statuses, refusals, and allocation that
 * cannot fail (an out-of-memory CLI says so and exits 1, like OpenBSD's err(3)).
 *
 * A refusal is ONE line "xfctl: CODE: message" on stderr; with --json it is also
 * {"error":{"code":…,"message":…}} on stdout. Usage errors (exit 2) are grammar.c's. */
#ifndef XFCTL_H
#define XFCTL_H

#include <stdbool.h>
#include <sys/types.h>
#include <stddef.h>
#include <jansson.h>

enum {
    XFCTL_OK = 0,            /* done */
    XFCTL_REFUSED = 1,       /* the daemon's error or a local refusal */
    XFCTL_USAGE = 2,         /* the command line is wrong */
    XFCTL_UNREACHABLE = 3,   /* no daemon: connect failed, or it hung up before answering */
};

#define XFCTL_VERSION "0.1.0"

/* Whether refusals also go to stdout as JSON (set once by main from --json). */
void xfctl_set_json (bool on);
bool xfctl_json (void);

/* Report and return XFCTL_REFUSED. The message is made one valid UTF-8 line. */
int xfctl_refuse (const char *code, const char *fmt, ...) __attribute__ ((format (printf, 2, 3)));
/* Same, with extra members merged into the JSON error object (extra is stolen; may be NULL). */
int xfctl_refuse_extra (const char *code, json_t *extra, const char *fmt, ...)
    __attribute__ ((format (printf, 3, 4)));
/* Report and return XFCTL_UNREACHABLE (JSON code "unreachable"). */
int xfctl_unreachable (const char *fmt, ...) __attribute__ ((format (printf, 1, 2)));

/* Allocation: these never return NULL; on failure they report no_memory and exit 1. */
void *xmalloc (size_t n);
void *xrealloc (void *p, size_t n);
char *xstrdup (const char *s);
char *xasprintf (const char *fmt, ...) __attribute__ ((format (printf, 1, 2)));
json_t *xjson (json_t *j);                    /* checks a jansson constructor's result */
void xjson_set (json_t *obj, const char *key, json_t *value);   /* steals value */
void xjson_append (json_t *arr, json_t *value);                 /* steals value */

/* files.c: writes text to an open fd with mode, syncs and closes it (-1 with errno); writes
 * text to path (mode) through a temporary file and a rename, reporting a failure
 * (XFCTL_REFUSED, code "io"); DIR/FILE however DIR ends (malloc'd). */
int   xfctl_finish_file (int fd, const char *text, mode_t mode);
int   xfctl_write_file (const char *path, const char *text, mode_t mode);
char *xfctl_path_in (const char *dir, const char *file);

#endif
