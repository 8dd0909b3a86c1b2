/* client.h — one connection to xfsyncd's control socket: a request line out, a response
 * line back (control.h). Requests may be large (case import); responses have no size limit.
 *
 * Status codes are xfctl exit statuses: XFCTL_OK, XFCTL_REFUSED, XFCTL_UNREACHABLE. */
#ifndef XF_CLIENT_H
#define XF_CLIENT_H

#include <jansson.h>
#include <stdint.h>

typedef struct xf_client xf_client_t;

/* How long a connection waits for xfsyncd to take a request or send a byte of its answer
 * before it gives up, reporting that the daemon did not answer (exit status 3): a frozen or
 * stuck node must not hang the operator's shell. Every request is answered at once or says
 * it is pending (xf_client_await), so silence this long means the node is not working.
 * 0: wait as long as it takes. */
#define XF_CLIENT_TIMEOUT_DEFAULT 120
#define XF_CLIENT_TIMEOUT_MAX     86400
void xf_client_set_timeout (int seconds);
int  xf_client_timeout (void);

/* Connects to the Unix socket at path. On failure returns NULL, having reported
 * "cannot connect to PATH: … (is xfsyncd running?)" (exit status 3). */
xf_client_t *xf_client_connect (const char *path);

/* Sends {"cmd":cmd,"args":args} (args may be NULL) and waits for the answer.
 *   XFCTL_OK:          *out is the "result" (caller owns it).
 *   XFCTL_REFUSED:     *out is the daemon's "error" object {"code","message"} (caller owns
 *                      it), nothing reported yet — the caller words it; or, for a response
 *                      that breaks the protocol, *out is NULL and it has been reported.
 *   XFCTL_UNREACHABLE: the connection broke; reported. *out is NULL. */
int xf_client_call (xf_client_t *c, const char *cmd, const json_t *args, json_t **out);

/* The same, passing descriptor fd with the request (SCM_RIGHTS): the daemon writes a backup
 * into it. */
int xf_client_call_fd (xf_client_t *c, const char *cmd, const json_t *args, int fd, json_t **out);

/* NULL-safe; sets *c_p = NULL. */
void xf_client_close (xf_client_t **c_p);

/* Connect, call, close; reports a refusal as "xfctl: CODE: message". The common case. */
int xf_client_request (const char *path, const char *cmd, const json_t *args, json_t **result);

/* An answer the daemon gathers from other offices comes back {"pending":true,…}. While
 * *result says so, waits poll_ms and asks again — with args, or (args NULL) with
 * {"request": *result's "request"} — for at most limit_ms, calling progress (may be NULL) with
 * each pending answer. XFCTL_OK with the answer; a
 * request's failure; or XF_CLIENT_TIMEOUT with the last pending answer still in *result (the
 * caller words the refusal and frees it). */
#define XF_CLIENT_TIMEOUT (-1)
int xf_client_await (const char *path, const char *cmd, const json_t *args, int poll_ms,
                     int64_t limit_ms, void (*progress) (const json_t *pending), json_t **result);

/* Reports the daemon's error object as a refusal, "xfctl: CODE: prefix message". */
int xf_client_refusal (const json_t *error, const char *prefix);

#endif
