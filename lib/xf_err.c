/* xf_err.c — filling the caller's error buffer; names of error codes. */
#include "xf_err.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

int xf_err_set (xf_err_t *err, int code, const char *fmt, ...)
{
    if (err) {
        va_list ap;
        va_start (ap, fmt);
        vsnprintf (err->msg, sizeof err->msg, fmt, ap);
        va_end (ap);
        err->code = code;
    }
    return code;
}

int xf_err_prefix (xf_err_t *err, const char *fmt, ...)
{
    if (!err)
        return XF_EINVAL;
    char joined[2 * sizeof err->msg];
    va_list ap;
    va_start (ap, fmt);
    int n = vsnprintf (joined, sizeof err->msg, fmt, ap);
    va_end (ap);
    if (n < 0)
        n = 0;
    if ((size_t) n >= sizeof err->msg)
        n = sizeof err->msg - 1;
    snprintf (joined + n, sizeof joined - (size_t) n, ": %.*s", (int) sizeof err->msg - 1, err->msg);
    memcpy (err->msg, joined, sizeof err->msg - 1);
    err->msg[sizeof err->msg - 1] = 0;
    return err->code;
}

const char *xf_err_name (int code)
{
    switch (code) {
    case XF_OK:        return "ok";
    case XF_EINVAL:    return "invalid";
    case XF_ESTATE:    return "state";
    case XF_ENOTFOUND: return "not_found";
    case XF_ESTORE:    return "store";
    case XF_ECONFIG:   return "config";
    case XF_ENOMEM:    return "no_memory";
    case XF_EPERM:     return "permission";
    case XF_EVERSION:  return "version";
    case XF_EIO:       return "io";
    case XF_EEXIST:    return "exists";
    default:           return "error";
    }
}
