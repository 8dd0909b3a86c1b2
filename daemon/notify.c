/* notify.c — what systemd is told (sd_notify, libsystemd): READY=1 once the store is open and
 * the key check, the sockets and the control socket are bound; a STATUS= line with the links
 * while running; WATCHDOG=1 every half of WatchdogSec when the unit asks for it; STOPPING=1
 * on the way out. Without NOTIFY_SOCKET (not started by systemd) every call does nothing. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <systemd/sd-daemon.h>
#include "log.h"
#include "node.h"

#define STATUS_CHECK_MS 1000   /* the links looked at; STATUS= sent when they changed */

static bool notifying;   /* NOTIFY_SOCKET was set: nothing is built for nobody otherwise */
static uint64_t watchdog_usec;
static int64_t next_watchdog_ms, next_status_ms;
static char last_status[600];

/* "links: 411300 up (queue 0), 411324 down (queue 12)" */
static void status_line (xf_node_t *node, char *buf, size_t size)
{
    json_t *links = links_status (node->links), *l;
    size_t i, n = (size_t) snprintf (buf, size, "links:");
    json_array_foreach (links, i, l) {
        if (n >= size)
            break;
        n += (size_t) snprintf (buf + n, size - n, "%s %s %s (queue %lld)", i ? "," : "",
                                json_string_value (json_object_get (l, "peer")),
                                json_string_value (json_object_get (l, "state")),
                                (long long) json_integer_value (json_object_get (l, "queue")));
    }
    if (!json_array_size (links) && n < size)
        snprintf (buf + n, size - n, " none");
    json_decref (links);
}

/* READY=1 with the links' STATUS line. */
static void send_ready (xf_node_t *node)
{
    char status[600];
    status_line (node, status, sizeof status);
    sd_notifyf (0, "READY=1\nSTATUS=%s", status);
    snprintf (last_status, sizeof last_status, "%s", status);
}

void notify_ready (xf_node_t *node)
{
    if (!(notifying = getenv ("NOTIFY_SOCKET") != NULL))
        return;
    if (sd_watchdog_enabled (0, &watchdog_usec) <= 0)
        watchdog_usec = 0;
    send_ready (node);
    if (watchdog_usec)
        log_info ("systemd watchdog: every %llu ms", (unsigned long long) (watchdog_usec / 2000));
}

int64_t notify_tick (xf_node_t *node, int64_t now_ms)
{
    if (!notifying)
        return INT64_MAX;
    if (watchdog_usec && now_ms >= next_watchdog_ms) {
        sd_notify (0, "WATCHDOG=1");
        next_watchdog_ms = now_ms + (int64_t) (watchdog_usec / 2000);
    }
    if (now_ms >= next_status_ms) {
        char status[600];
        status_line (node, status, sizeof status);
        if (strcmp (status, last_status) != 0) {
            sd_notifyf (0, "STATUS=%s", status);
            snprintf (last_status, sizeof last_status, "%s", status);
        }
        next_status_ms = now_ms + STATUS_CHECK_MS;
    }
    return watchdog_usec ? next_watchdog_ms : INT64_MAX;
}

void notify_stopping (void)
{
    if (notifying)
        sd_notify (0, "STOPPING=1");
}

void notify_reloading (void)
{
    if (notifying)
        sd_notify (0, "RELOADING=1");
}

void notify_reloaded (xf_node_t *node)
{
    if (notifying)
        send_ready (node);
}
