/* log.c — one place that writes log lines, so their format and destination are uniform. */
#include "log.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>

static struct {
    char office[16];
    bool syslog;
    bool journal;
} lg;

void log_init (const char *office, bool use_syslog)
{
    log_set_office (office);
    lg.syslog = use_syslog;
    lg.journal = getenv ("JOURNAL_STREAM") != NULL;
    if (use_syslog)
        openlog ("xfsyncd", LOG_PID, LOG_DAEMON);
}

void log_set_office (const char *office)
{
    snprintf (lg.office, sizeof lg.office, "%s", office ? office : "");
}

static void vlog (int prio, const char *level, const char *fmt, va_list ap)
{
    char msg[1024];
    vsnprintf (msg, sizeof msg, fmt, ap);
    if (lg.syslog) {
        syslog (prio, "%s: %s", lg.office, msg);
        return;
    }
    if (lg.journal) {
        fprintf (stderr, "<%d>%s: %s\n", prio, lg.office, msg);
        return;
    }
    char when[32];
    time_t now = time (NULL);
    struct tm tm;
    strftime (when, sizeof when, "%Y-%m-%dT%H:%M:%S%z", localtime_r (&now, &tm));
    fprintf (stderr, "%s xfsyncd[%s] %s: %s\n", when, lg.office, level, msg);
}

#define LOG_FN(name, prio, level)            \
    void name (const char *fmt, ...)         \
    {                                        \
        va_list ap;                          \
        va_start (ap, fmt);                  \
        vlog (prio, level, fmt, ap);         \
        va_end (ap);                         \
    }

LOG_FN (log_info, LOG_INFO, "info")
LOG_FN (log_warn, LOG_WARNING, "warning")
LOG_FN (log_error, LOG_ERR, "error")
