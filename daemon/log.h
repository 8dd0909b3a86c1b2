/* log.h — xfsyncd's log: stderr (journald reads priorities from "<N>" prefixes when
 * JOURNAL_STREAM is set) in the foreground, syslog when daemonized. Every line names the
 * office. */
#ifndef XF_LOG_H
#define XF_LOG_H

#include <stdbool.h>

void log_init (const char *office, bool use_syslog);
void log_set_office (const char *office);
void log_info (const char *fmt, ...) __attribute__ ((format (printf, 1, 2)));
void log_warn (const char *fmt, ...) __attribute__ ((format (printf, 1, 2)));
void log_error (const char *fmt, ...) __attribute__ ((format (printf, 1, 2)));

#endif
