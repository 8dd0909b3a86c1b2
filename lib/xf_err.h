/* xf_err.h — error codes and the error buffer every lib/ function fills in.
 *
 * lib/ never logs and never exits: a failing function returns a negative XF_E* code
 * and writes one line an operator can act on into the caller's xf_err_t. */
#ifndef XF_ERR_H
#define XF_ERR_H

enum {
    XF_OK       = 0,
    XF_EINVAL   = -1,   /* bad input: a value, a field, a request */
    XF_ESTATE   = -2,   /* wrong state for this action (a case transition, a deadline) */
    XF_ENOTFOUND = -3,  /* no such case, office, key */
    XF_ESTORE   = -4,   /* the store failed (disk, LMDB) */
    XF_ECONFIG  = -5,   /* configuration file */
    XF_ENOMEM   = -6,
    XF_EPERM    = -7,   /* not allowed: not the owner, clock control off */
    XF_EVERSION = -8,   /* newer schema or protocol than this build speaks */
    XF_EIO      = -9,   /* file or socket I/O */
    XF_EEXIST   = -10,  /* already exists */
};

typedef struct {
    int code;
    char msg[512];
} xf_err_t;

/* Sets err (when not NULL) and returns code, so callers can `return xf_err_set (…)`. */
int xf_err_set (xf_err_t *err, int code, const char *fmt, ...)
    __attribute__ ((format (printf, 3, 4)));

/* Prefixes the message already in err with "prefix: ", keeping the code. Returns err->code. */
int xf_err_prefix (xf_err_t *err, const char *fmt, ...) __attribute__ ((format (printf, 2, 3)));

/* The stable machine name of a code, as xfctl prints it: "invalid", "state", "not_found", … */
const char *xf_err_name (int code);

#endif
