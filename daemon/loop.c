/* loop.c — the one event loop of xfsyncd: zmq_poll over the control socket, a signalfd for
 * SIGTERM/SIGINT/SIGHUP, and a timer for the deadline scan. Later the links join the same
 * poll set. */
#include <errno.h>
#include <signal.h>
#include <string.h>
#include <sys/signalfd.h>
#include <time.h>
#include <unistd.h>
#include <zmq.h>
#include "log.h"
#include "metrics.h"
#include "node.h"

#define MAX_ITEMS 100   /* signals, control (65), links (3), metrics (17) */
#define LINK_TICK_MS 500
#define SCAN_INTERVAL_MS 60000

int64_t node_now (const xf_node_t *node)
{
    return (int64_t) time (NULL) + node->clock_offset;
}

static int open_signalfd (void)
{
    sigset_t set;
    sigemptyset (&set);
    sigaddset (&set, SIGTERM);
    sigaddset (&set, SIGINT);
    sigaddset (&set, SIGHUP);
    if (sigprocmask (SIG_BLOCK, &set, NULL) != 0)
        return -1;
    return signalfd (-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
}

static void on_signal (xf_node_t *node, int sfd)
{
    struct signalfd_siginfo si;
    while (read (sfd, &si, sizeof si) == sizeof si) {
        if (si.ssi_signo == SIGHUP) {
            log_info ("SIGHUP received: reading %s again", node->conf->path);
            notify_reloading ();
            node_reload (node);
            notify_reloaded (node);
            continue;
        }
        log_info ("%s received: shutting down", strsignal ((int) si.ssi_signo));
        node->stopping = true;
    }
}

/* Reader slots that processes which exited while reading the store left taken (xf_store.h):
 * cleared at every tick (each pins an old snapshot, and the file grows by every commit's
 * pages until it is cleared: ~85 KiB a commit measured) and at a read that found none free;
 * said once. A look at a table of free slots costs no system call. */
static void clear_stale_readers (xf_node_t *node)
{
    xf_err_t err = {0};
    if (xf_store_clear_stale_readers (node->store, NULL, &err) != XF_OK)
        log_error ("%s", err.msg);
    uint64_t cleared = xf_store_stale_readers_cleared (node->store);
    if (cleared > node->stale_readers_told)
        log_warn ("store: cleared %llu reader slot(s) that processes left taken when they exited "
                  "while reading it (a killed mdb_dump or mdb_stat, say)",
                  (unsigned long long) (cleared - node->stale_readers_told));
    node->stale_readers_told = cleared;
}

/* Deadlines passed here, and the urges this office owes the cases it supervises; both send
 * copies to other offices. */
static void scan_deadlines (xf_node_t *node)
{
    xf_err_t err = {0};
    size_t marked = 0, urged = 0;
    if (xf_office_scan_deadlines (node->office, node_now (node), &marked, &err) != XF_OK)
        log_error ("deadline scan failed: %s", err.msg);
    else if (marked)
        log_info ("deadline scan: %zu case(s) became overdue", marked);
    if (xf_office_scan_urges (node->office, node_now (node), &urged, &err) != XF_OK)
        log_error ("urge scan failed: %s", err.msg);
    else if (urged)
        log_info ("urge scan: %zu automatic urge(s) sent", urged);
    if (marked || urged)
        links_queued (node->links);
    node->deadlines_dirty = false;
}

/* 月统计: the pulls whose time is up answer with what they have; a snapshot goes up when a
 * month closed (every scan) or a child's changed (as soon as it arrives). */
static void stats_tick (xf_node_t *node, bool month_check)
{
    xf_err_t err = {0};
    size_t replies = 0, snapshots = 0;
    if (xf_office_pulls_tick (node->office, node_now (node), &replies, &err) != XF_OK)
        log_error ("%s", err.msg);
    err = (xf_err_t) {0};
    if ((month_check || xf_office_snapshots_due (node->office))
        && xf_office_snapshot_tick (node->office, node_now (node), &snapshots, &err) != XF_OK)
        log_error ("%s", err.msg);
    else if (snapshots)
        log_info ("monthly snapshot: %zu month(s) of figures sent to the office above", snapshots);
    if (replies || snapshots)
        links_queued (node->links);
}

/* 对账: digests to the offices this one shares cases with. */
static void reconcile (xf_node_t *node)
{
    xf_err_t err = {0};
    size_t sent = 0;
    if (xf_office_reconcile (node->office, node_now (node), node->conf->reconcile_seconds, &sent,
                             &err) != XF_OK)
        log_error ("%s", err.msg);
    else if (sent)
        links_queued (node->links);
}

/* The latest time seen, kept in the store, so that a clock set back shows at the next start. */
static void note_clock (xf_node_t *node)
{
    xf_err_t err = {0};
    if (xf_office_clock_seen (node->office, node_now (node), &err) != XF_OK)
        log_warn ("cannot record the clock: %s", err.msg);
}

int loop_run (xf_node_t *node)
{
    int sfd = open_signalfd ();
    if (sfd < 0) {
        log_error ("cannot watch signals: %s", strerror (errno));
        return 1;
    }
    int64_t next_scan = 0, next_tick = 0;
    int64_t next_reconcile = mono_ms () + (int64_t) node->conf->reconcile_seconds * 1000;
    while (!node->stopping) {
        zmq_pollitem_t items[MAX_ITEMS];
        xf_control_poll_t ctl[MAX_ITEMS - 4];
        size_t n = xf_control_poll_set (node->control, ctl, MAX_ITEMS - 4);
        items[0] = (zmq_pollitem_t) {NULL, sfd, ZMQ_POLLIN, 0};
        for (size_t i = 0; i < n; i++)
            items[i + 1] = (zmq_pollitem_t) {NULL, ctl[i].fd, ctl[i].events, 0};
        size_t nl = links_poll_set (node->links, items + n + 1, 3);
        size_t nm = metrics_http_poll_set (node->metrics_http, items + n + nl + 1,
                                           MAX_ITEMS - n - nl - 1);
        int64_t now = mono_ms ();
        int64_t next_notify = notify_tick (node, now);
        if (node->deadlines_dirty || now >= next_scan) {
            note_clock (node);
            scan_deadlines (node);
            stats_tick (node, true);
            next_scan = now + SCAN_INTERVAL_MS;
        }
        backup_tick (node);
        if (now >= next_tick) {
            clear_stale_readers (node);
            links_tick (node->links);
            stats_tick (node, false);
            memory_tick (node, now);
            next_tick = now + LINK_TICK_MS;
        }
        if (now >= next_reconcile) {
            reconcile (node);
            next_reconcile = now + (int64_t) node->conf->reconcile_seconds * 1000;
        }
        int64_t next = next_scan < next_tick ? next_scan : next_tick;
        next = next_notify < next ? next_notify : next;
        long timeout = (long) ((next < next_reconcile ? next : next_reconcile) - now);
        if (zmq_poll (items, (int) (n + nl + nm + 1), timeout < 0 ? 0 : timeout) < 0) {
            if (zmq_errno () == EINTR)
                continue;
            log_error ("poll: %s", zmq_strerror (zmq_errno ()));
            close (sfd);
            return 1;
        }
        if (items[0].revents)
            on_signal (node, sfd);
        for (size_t i = 0; i < n; i++)
            if (items[i + 1].revents)
                xf_control_ready (node->control, (int) items[i + 1].fd, items[i + 1].revents);
        metrics_http_ready (node->metrics_http, items + n + nl + 1, nm);
        links_work (node->links);
    }
    close (sfd);
    return 0;
}
