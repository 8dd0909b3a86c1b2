/* control.h — the operator control socket of xfsyncd.
 *
 * A Unix stream socket (mode 0660) in the runtime directory. Each request is one JSON
 * object on one line; each response is one JSON object on one line, in order. A request
 * line may be at most XF_CONTROL_MAX_REQUEST bytes; a longer one, invalid JSON (invalid
 * UTF-8 and duplicate keys included), an unknown command or bad arguments get an error
 * response and change nothing; the connection stays usable. The operator is the peer uid
 * from SO_PEERCRED and is recorded in every event the request causes.
 *
 * Request:   {"cmd": "<command>", "args": {…}}            ("args" may be omitted when empty)
 * Success:   {"ok": true, "result": {…}}
 * Refusal:   {"ok": false, "error": {"code": "<code>", "message": "<one line>"}}
 *
 * Error codes: the xf_err names (invalid — a missing or ill-typed argument or a bad value —,
 * state, not_found, store, permission, version, io, exists, no_memory) and, for the request
 * itself: bad_request (not JSON, not an object, an unknown key or argument), unknown_command,
 * too_large.
 *
 * Commands (args → result):
 *   status                      → {"office":{"code","name"},"version","clock":"<time>",
 *                                  "started":"<time>","store":{"path","map_size"},
 *                                  "links":[{"peer","role","state","queue","last_seen"}],
 *                                  "cases":{"total","registered","rejected","in_progress",
 *                                           "reported","closed","overdue"}}
 *   case.register  {<case fields as in `case show`: channel, category, summary, received,
 *                   subject, headcount, anonymous, skip_level, petitioner{…}, accused{…}>}
 *                               → the case object (INTERFACE.md `case show`)
 *   case.import    {"cases":[<case fields>…], "dry_run":bool, "first_line":N}
 *                               → {"imported":N,"ids":["…",…]} (dry_run: {"checked":N})
 *                               all-or-nothing; a refusal's message starts "line L: " where
 *                               L = first_line + index of the bad case
 *   case.show      {"id"}       → the case object
 *   case.history   {"id"}       → {"events":[{"seq","at","office","operator_uid","type",…}]}
 *   case.list      {"status"?, "owner"?, "overdue"?:bool, "limit"?:N} → {"cases":[…]}
 *   case.accept    {"id", "file"?:bool}            → the case object
 *   case.reject    {"id", "reason"}                → the case object
 *   case.extend    {"id", "days":N, "reason"}      → the case object
 *   case.close     {"id", "reply"}                 → the case object
 *   stats          {"period"?:"2026Q4"|"2026"|"2026-11"|"a..b"}   (default: this quarter)
 *                               → INTERFACE.md `stats` object (consolidated false; offices
 *                                 has this office as the one "live" row)
 *   clock.show                  → {"now":"<time>","offset":seconds,"control":bool}
 *   clock.set      {"time":"YYYY-MM-DDTHH:MM:SS"} → same as clock.show; permission error
 *                                 unless [debug] clock_control = true
 * Times are "YYYY-MM-DDTHH:MM:SS+08:00", dates "YYYY-MM-DD" (China Standard Time). */
#ifndef XF_CONTROL_H
#define XF_CONTROL_H

#include <stddef.h>
#include <stdint.h>
#include <jansson.h>

#define XF_CONTROL_MAX_REQUEST (16u << 20)

typedef struct xf_control xf_control_t;
struct xf_node;

/* Binds the socket at path (replacing a stale socket file, refusing if a live daemon
 * answers there). */
xf_control_t *xf_control_new (const char *path, struct xf_node *node, char *errbuf, size_t errlen);
void          xf_control_destroy (xf_control_t **ctl_p);

/* Poll integration: fills up to max pollfds-like entries (fd, events) and returns how many. */
typedef struct {
    int fd;
    short events;   /* ZMQ_POLLIN / ZMQ_POLLOUT */
} xf_control_poll_t;
size_t xf_control_poll_set (xf_control_t *ctl, xf_control_poll_t *out, size_t max);
/* Handles readiness of one fd returned by poll_set. */
void   xf_control_ready (xf_control_t *ctl, int fd, short revents);

#endif
