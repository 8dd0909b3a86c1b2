/* main.c — xfsyncd: reads the configuration, opens the store and the node key, binds the
 * control socket, runs the loop, and closes everything on SIGTERM. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <zmq.h>
#include "keyfiles.h"
#include "log.h"
#include "xf_time.h"
#include "metrics.h"
#include "node.h"
#include "xf_trust.h"

#define DEFAULT_CONFIG "/etc/xfsync/xfsyncd.conf"

static void usage (FILE *out)
{
    fprintf (out, "usage: xfsyncd [-c FILE] [--foreground] [--accept-clock]\n"
                  "       xfsyncd [-c FILE] --restore BACKUP\n"
                  "  -c, --config FILE   node configuration (default %s)\n"
                  "  -f, --foreground    stay in the foreground and log to stderr\n"
                  "      --accept-clock  start although the clock is behind the latest time the\n"
                  "                      store has seen (after checking that the clock is right)\n"
                  "      --restore BACKUP  install a copy made by xfctl backup as the store of this\n"
                  "                      node (data_dir must hold none), then exit; at the next\n"
                  "                      start the links resynchronise with the neighbours\n"
                  "  -h, --help          this help\n"
                  "  -V, --version       print the version\n", DEFAULT_CONFIG);
}

/* Forks into the background. The original process waits on a pipe until the daemon says
 * it is ready (or why it is not), so `xfsyncd -c FILE` still fails visibly and with exit
 * status 1 on a bad store or socket. LMDB must be opened after the fork, in the process
 * that uses it. Returns the write end of the pipe in the daemon. */
static int daemonize (void)
{
    int pfd[2];
    if (pipe (pfd) != 0)
        return -1;
    pid_t pid = fork ();
    if (pid < 0)
        return -1;
    if (pid > 0) {
        char msg[700];
        close (pfd[1]);
        ssize_t n = read (pfd[0], msg, sizeof msg - 1);
        if (n == 2 && memcmp (msg, "ok", 2) == 0)
            _exit (0);
        msg[n > 0 ? n : 0] = 0;
        fprintf (stderr, "xfsyncd: %s\n", n > 0 ? msg : "the daemon exited during start-up");
        _exit (1);
    }
    close (pfd[0]);
    if (setsid () < 0 || (pid = fork ()) < 0)
        return -1;
    if (pid > 0)
        _exit (0);
    int fd = open ("/dev/null", O_RDWR);
    if (fd >= 0) {
        dup2 (fd, 0), dup2 (fd, 1), dup2 (fd, 2);
        if (fd > 2)
            close (fd);
    }
    return chdir ("/") == 0 ? pfd[1] : -1;
}

static void tell_parent (int fd, const char *msg)
{
    if (fd >= 0) {
        ssize_t ignored = write (fd, msg, strlen (msg));
        (void) ignored;
        close (fd);
    }
}

static bool node_accept_clock;   /* --accept-clock */

#define CLOCK_SLACK_S 300   /* a clock stepped back by NTP a little is no jump */

/* The clock must not be behind the latest time this store has seen: deadlines, urges and the
 * audit log would go out of order. --accept-clock starts anyway, once an operator checked. */
static int check_clock (xf_node_t *node, char *errbuf, size_t errlen)
{
    xf_err_t err = {0};
    int64_t latest = 0, now = node_now (node);
    char a[26], b[26];
    if (xf_office_clock_latest (node->office, &latest, &err) != XF_OK) {
        snprintf (errbuf, errlen, "%s", err.msg);
        return -1;
    }
    if (latest && now + CLOCK_SLACK_S < latest) {
        xf_time_format (now, a);
        xf_time_format (latest, b);
        if (!node_accept_clock) {
            snprintf (errbuf, errlen, "the clock reads %s, %lld s behind the latest time this "
                      "store has seen (%s): set the clock right (timedatectl, NTP) and start "
                      "again, or, if the store's time was the wrong one, start once with "
                      "--accept-clock", a, (long long) (latest - now), b);
            return -1;
        }
        log_warn ("the clock reads %s, behind the latest time this store has seen (%s); "
                  "started anyway (--accept-clock)", a, b);
    }
    if (xf_office_clock_reset (node->office, latest > now && !node_accept_clock ? latest : now,
                               &err) != XF_OK) {
        snprintf (errbuf, errlen, "%s", err.msg);
        return -1;
    }
    return 0;
}

/* One xfsyncd per store. Two on one data_dir (a second config naming it, say) would both send
 * its outbox and each keep in memory what the store keeps once. The lock is the kernel's
 * (flock), so it goes with the process however it ends; the file names the holder. */
int node_lock_data_dir (const char *data_dir, char *errbuf, size_t errlen)
{
    char path[4200], pid[24] = "";
    if (mkdir (data_dir, 0700) != 0 && errno != EEXIST) {
        snprintf (errbuf, errlen, "data_dir %s: %s", data_dir, strerror (errno));
        return -1;
    }
    snprintf (path, sizeof path, "%s/xfsyncd.lock", data_dir);
    int fd = open (path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0) {
        snprintf (errbuf, errlen, "data_dir %s: cannot open its lock file xfsyncd.lock: %s (it "
                  "must be a file this user can create and write: check data_dir's owner and "
                  "mode, and that xfsyncd.lock is not a directory)", data_dir, strerror (errno));
        return -1;
    }
    if (flock (fd, LOCK_EX | LOCK_NB) != 0) {
        int e = errno;
        ssize_t n = pread (fd, pid, sizeof pid - 1, 0);
        pid[n > 0 ? strcspn (pid, "\n") : 0] = '\0';
        close (fd);
        if (e == EWOULDBLOCK)
            snprintf (errbuf, errlen, "data_dir %s is in use by another xfsyncd (pid %s): one "
                      "node per store; stop that one first, or give this one its own data_dir",
                      data_dir, *pid ? pid : "unknown");
        else
            snprintf (errbuf, errlen, "data_dir %s: xfsyncd.lock: cannot lock: %s", data_dir,
                      strerror (e));
        return -1;
    }
    int len = snprintf (pid, sizeof pid, "%ld\n", (long) getpid ());
    if (ftruncate (fd, 0) != 0 || pwrite (fd, pid, (size_t) len, 0) != len)
        log_warn ("data_dir %s: xfsyncd.lock: cannot write this pid into it: %s", data_dir,
                  strerror (errno));
    return fd;
}

static int open_node (xf_node_t *node, char *errbuf, size_t errlen)
{
    xf_err_t err = {0};
    if (node_keys_load (node, errbuf, errlen) != 0)
        return -1;
    if ((node->data_lock_fd = node_lock_data_dir (node->conf->data_dir, errbuf, errlen)) < 0)
        return -1;
    const xf_conf_t *cf = node->conf;
    xf_limits_t lim = node_limits (cf);
    xf_store_opts_t opts = {0};
    if (cf->store_max_mb) {
        opts.max_map_size = (size_t) cf->store_max_mb << 20;
        opts.map_size = opts.max_map_size < ((size_t) 64 << 20) ? opts.max_map_size : 0;
    }
    if (!(node->store = xf_store_open (node->conf->data_dir, &opts, &err))
        || !(node->office = xf_office_new (node->store, node->conf->code, &lim, &err))
        || xf_office_clock_offset (node->office, &node->clock_offset, &err) != XF_OK) {
        snprintf (errbuf, errlen, "%s", err.msg);
        return -1;
    }
    if (node_identity_load (node, errbuf, errlen) != 0 || trust_open (node, errbuf, errlen) != 0
        || trust_children_open (node, errbuf, errlen) != 0
        || trust_revocations_open (node, errbuf, errlen) != 0 || access_open (node, errbuf, errlen) != 0
        || trust_seal_held (node, errbuf, errlen) != 0)
        return -1;
    size_t indexed = 0;
    if (xf_office_share_rebuild (node->office, false, &indexed, &err) != XF_OK) {
        snprintf (errbuf, errlen, "%s", err.msg);
        return -1;
    }
    if (indexed)
        log_info ("indexed the cases shared with other offices (%zu case(s) read) for 对账",
                  indexed);
    if (!node->conf->clock_control && node->clock_offset != 0) {
        log_warn ("the store holds a test clock offset of %lld s but clock_control is off: "
                  "using the system clock", (long long) node->clock_offset);
        node->clock_offset = 0;
        if (xf_office_clock_reset (node->office, node_now (node), &err) != XF_OK) {
            snprintf (errbuf, errlen, "%s", err.msg);   /* the test clock's times are void */
            return -1;
        }
    }
    if (check_clock (node, errbuf, errlen) != 0)
        return -1;
    if (!(node->links = links_new (node, errbuf, errlen)))
        return -1;
    xf_net_t net = links_net (node->links);
    xf_office_set_net (node->office, &net);
    if (metrics_http_open (node, &node->metrics_http, errbuf, errlen) != 0)
        return -1;
    node->control = xf_control_new (node->conf->control_socket, node, errbuf, errlen);
    return node->control ? 0 : -1;
}

static void close_node (xf_node_t *node)
{
    backup_stop (node);
    xf_control_destroy (&node->control);
    metrics_http_close (&node->metrics_http);
    links_destroy (&node->links);
    xf_office_destroy (&node->office);
    xf_store_close (&node->store);
    node_settings_close (node);
    if (node->data_lock_fd >= 0)
        close (node->data_lock_fd);   /* after the store: the next node may open it now */
    node->data_lock_fd = -1;
}

int main (int argc, char **argv)
{
    static const struct option opts[] = {
        {"config", required_argument, NULL, 'c'}, {"foreground", no_argument, NULL, 'f'},
        {"help", no_argument, NULL, 'h'},         {"version", no_argument, NULL, 'V'},
        {"accept-clock", no_argument, NULL, 'A'},
        {"restore", required_argument, NULL, 'R'},
        {NULL, 0, NULL, 0},
    };
    const char *config = DEFAULT_CONFIG, *restore = NULL;
    bool foreground = false;
    int opt;
    while ((opt = getopt_long (argc, argv, "c:fhV", opts, NULL)) != -1) {
        switch (opt) {
        case 'c': config = optarg; break;
        case 'f': foreground = true; break;
        case 'A': node_accept_clock = true; break;
        case 'R': restore = optarg; break;
        case 'h': usage (stdout); return 0;
        case 'V': puts ("xfsyncd 0.1.0"); return 0;
        default: usage (stderr); return 2;
        }
    }
    if (optind != argc) {
        usage (stderr);
        return 2;
    }
    xf_err_t err = {0};
    xf_node_t node = {.started = time (NULL), .request_fd = -1, .data_lock_fd = -1};
    char config_path[4096];   /* absolute: the daemon works in / and reads it again on SIGHUP */
    if (realpath (config, config_path))
        config = config_path;
    if (!(node.conf = xf_conf_load (config, &err))) {
        fprintf (stderr, "%s\n", err.msg);
        return 1;
    }
    log_init (node.conf->code, false);
    char errbuf[600] = "";
    if (restore) {
        int rc = backup_restore (node.conf, restore, errbuf, sizeof errbuf);
        if (rc != 0)
            fprintf (stderr, "xfsyncd: cannot restore: %s\n", errbuf);
        xf_conf_destroy (&node.conf);
        return rc ? 1 : 0;
    }
    signal (SIGPIPE, SIG_IGN);   /* a reader gone (a backup's pipe) is an error, not a death */
    int ready_fd = -1;
    if (!foreground) {
        if ((ready_fd = daemonize ()) < 0) {
            log_error ("cannot daemonize: %s", strerror (errno));
            return 1;
        }
        log_init (node.conf->code, true);
    }
    /* SIGTERM, SIGINT and SIGHUP wait for the loop's signalfd: one that comes while the node
     * opens (systemctl reload right after READY, say) must not kill it */
    sigset_t held;
    sigemptyset (&held);
    sigaddset (&held, SIGTERM);
    sigaddset (&held, SIGINT);
    sigaddset (&held, SIGHUP);
    sigprocmask (SIG_BLOCK, &held, NULL);
    if (open_node (&node, errbuf, sizeof errbuf) != 0) {
        log_error ("cannot start: %s", errbuf);
        tell_parent (ready_fd, errbuf);
        close_node (&node);
        return 1;
    }
    tell_parent (ready_fd, "ok");
    notify_ready (&node);   /* the store, the key check, the sockets and the control socket are up */
    node.started = node_now (&node);
    log_info ("xfsyncd 0.1.0 started for %s (%s); store %s; control %s; public key %s",
              node.conf->code, node.conf->name, node.conf->data_dir, node.conf->control_socket,
              node.public_key);
    int status = loop_run (&node);
    notify_stopping ();
    if (xf_office_clock_seen (node.office, node_now (&node), &err) != XF_OK)
        log_warn ("cannot record the clock: %s", err.msg);
    close_node (&node);
    log_info ("stopped");
    return status;
}
