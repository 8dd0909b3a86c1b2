/* metrics.c — the node's metrics in the Prometheus text format: what `xfctl metrics` prints and
 * [metrics] listen serves. Everything comes from what `status` already reads — the links
 * (links_status), the case counters kept with every change (xf_office_counts), the store — so
 * a scrape costs about what `xfctl status` does and reads no case (overdue counts the entries of
 * the due index before today: 0.4 ms a scrape at 10,000 overdue cases, 3.7 ms at 100,000,
 * Release build). Names follow the
 * Prometheus conventions: xfsync_ prefix, the unit in the name, _total on counters. The link
 * counters count since the links were last built (start or reload); Prometheus takes a drop
 * to zero as a reset. */
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include "metrics.h"
#include "xf_case.h"
#include "xf_time.h"

#define XF_VERSION "0.1.0"

typedef struct {
    const char *name;
    const char *key;          /* in each `links_status` object */
    xf_metric_type_t type;
    const char *help;
} link_family_t;

static const link_family_t LINK_FAMILIES[] = {
    {"xfsync_link_queue_envelopes", "queue", XF_METRIC_GAUGE,
     "Envelopes in the outbox the peer has not acknowledged yet (the backlog)."},
    {"xfsync_link_queue_bytes", "queue_bytes", XF_METRIC_GAUGE,
     "Bytes of the envelopes in the outbox for the peer."},
    {"xfsync_link_oldest_unacked_age_seconds", "oldest_unacked_age_s", XF_METRIC_GAUGE,
     "Age of the oldest envelope the peer has not acknowledged (0: none)."},
    {"xfsync_link_outbox_full", "outbox_full", XF_METRIC_GAUGE,
     "1 when the outbox for the peer is at [links] outbox_limit and new work for it is refused."},
    {"xfsync_link_envelopes_received_total", "messages_in", XF_METRIC_COUNTER,
     "Envelopes received from the peer."},
    {"xfsync_link_envelopes_sent_total", "messages_out", XF_METRIC_COUNTER,
     "Envelopes sent to the peer."},
    {"xfsync_link_frames_received_total", "frames_in", XF_METRIC_COUNTER,
     "Link frames received from the peer."},
    {"xfsync_link_frames_sent_total", "frames_out", XF_METRIC_COUNTER,
     "Link frames sent to the peer."},
    {"xfsync_link_rejected_total", "rejected", XF_METRIC_COUNTER,
     "Frames and envelopes from the peer that were rejected or refused."},
    {"xfsync_link_duplicates_total", "duplicates", XF_METRIC_COUNTER,
     "Envelopes from the peer that had been applied already (dropped)."},
    {"xfsync_link_gaps_total", "gaps", XF_METRIC_COUNTER,
     "Envelopes from the peer that came after a gap in its sequence (asked again)."},
    {"xfsync_link_ups_total", "ups", XF_METRIC_COUNTER, "Times the link came up."},
};

static const char *const LINK_STATES[] = {"up", "down", "refused"};

static uint64_t u64_of (const json_t *o, const char *key)
{
    const json_t *v = json_object_get (o, key);
    if (json_is_true (v))
        return 1;
    return json_is_integer (v) && json_integer_value (v) > 0 ? (uint64_t) json_integer_value (v) : 0;
}

static const char *str_of (const json_t *o, const char *key)
{
    const char *s = json_string_value (json_object_get (o, key));
    return s ? s : "";
}

/* peer and role of link l, with room for one more label (lab[4], lab[5]). */
static void link_labels (const json_t *l, const char *lab[7])
{
    lab[0] = "peer", lab[1] = str_of (l, "peer"), lab[2] = "role", lab[3] = str_of (l, "role");
    lab[4] = lab[5] = lab[6] = NULL;
}

/* Seconds since this process started, by the kernel's count (field 22 of /proc/self/stat,
 * clock ticks since boot), so that neither NTP nor [debug] clock_control moves it; -1 when
 * /proc does not say. */
static double process_uptime (void)
{
    char buf[1024];
    unsigned long long start;
    struct timespec now;
    FILE *f = fopen ("/proc/self/stat", "re");
    size_t n = f ? fread (buf, 1, sizeof buf - 1, f) : 0;
    if (f)
        fclose (f);
    buf[n] = '\0';
    const char *p = strrchr (buf, ')');   /* the command name may hold spaces and parentheses */
    long ticks = sysconf (_SC_CLK_TCK);
    if (!p || ticks <= 0 || clock_gettime (CLOCK_BOOTTIME, &now) != 0
        || sscanf (p + 1, " %*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %*u %*u %*d %*d %*d %*d "
                   "%*d %*d %llu", &start) != 1)
        return -1;
    double up = (double) now.tv_sec + (double) now.tv_nsec / 1e9 - (double) start / (double) ticks;
    return up < 0 ? 0 : (double) (long long) (up * 100 + 0.5) / 100;   /* ticks are 10 ms */
}

static void link_families (xf_metrics_t *m, const json_t *links)
{
    const char *lab[7];
    size_t i;
    const json_t *l;
    xf_metrics_family (m, "xfsync_link_up", XF_METRIC_GAUGE,
                       "1 when the link to the peer is up, else 0.");
    json_array_foreach (links, i, l) {
        link_labels (l, lab);
        xf_metrics_u64 (m, lab, strcmp (str_of (l, "state"), "up") == 0);
    }
    xf_metrics_family (m, "xfsync_link_state", XF_METRIC_GAUGE,
                       "The state of the link to the peer: 1 for the state it is in.");
    json_array_foreach (links, i, l) {
        link_labels (l, lab);
        for (size_t s = 0; s < sizeof LINK_STATES / sizeof *LINK_STATES; s++) {
            lab[4] = "state", lab[5] = LINK_STATES[s];
            xf_metrics_u64 (m, lab, strcmp (str_of (l, "state"), LINK_STATES[s]) == 0);
        }
    }
    for (size_t f = 0; f < sizeof LINK_FAMILIES / sizeof *LINK_FAMILIES; f++) {
        xf_metrics_family (m, LINK_FAMILIES[f].name, LINK_FAMILIES[f].type, LINK_FAMILIES[f].help);
        json_array_foreach (links, i, l) {
            link_labels (l, lab);
            xf_metrics_u64 (m, lab, u64_of (l, LINK_FAMILIES[f].key));
        }
    }
    xf_metrics_family (m, "xfsync_link_last_seen_timestamp_seconds", XF_METRIC_GAUGE,
                       "When the peer was last heard from (unix time; a peer never seen is left out).");
    json_array_foreach (links, i, l) {
        int64_t t;
        const char *seen = json_string_value (json_object_get (l, "last_seen"));
        link_labels (l, lab);
        if (seen && xf_time_parse (seen, &t, NULL) == XF_OK && t > 0)
            xf_metrics_u64 (m, lab, (uint64_t) t);
    }
}

static void case_families (xf_metrics_t *m, const xf_case_counts_t *k, uint64_t undelivered,
                           uint64_t forged)
{
    xf_metrics_family (m, "xfsync_cases", XF_METRIC_GAUGE,
                       "Cases held at this office (owned or replicas), by status.");
    for (int st = XF__STATUS__REGISTERED; st <= XF__STATUS__CLOSED; st++)
        xf_metrics_u64 (m, (const char *[]) {"status", xf_status_name (st), NULL}, k->by_status[st]);
    xf_metrics_family (m, "xfsync_cases_overdue", XF_METRIC_GAUGE,
                       "Cases past a deadline of the stage they are in.");
    xf_metrics_u64 (m, NULL, k->overdue);
    xf_metrics_family (m, "xfsync_cases_undelivered_total", XF_METRIC_COUNTER,
                       "Cases that came back to this office because they could not be delivered.");
    xf_metrics_u64 (m, NULL, undelivered);
    xf_metrics_family (m, "xfsync_envelopes_forged_total", XF_METRIC_COUNTER,
                       "Envelopes whose signature did not verify ([trust]).");
    xf_metrics_u64 (m, NULL, forged);
}

static void store_families (xf_metrics_t *m, xf_node_t *node)
{
    char path[4096];
    struct stat st;
    xf_metrics_family (m, "xfsync_store_commit_duration_seconds", XF_METRIC_HISTOGRAM,
                       "Time to commit a write transaction to the store, fsync included.");
    xf_metrics_histogram (m, NULL, xf_store_commit_histogram (node->store));
    xf_metrics_family (m, "xfsync_store_file_size_bytes", XF_METRIC_GAUGE,
                       "Size of the store's data file (data.mdb).");
    snprintf (path, sizeof path, "%s/data.mdb", node->conf->data_dir);
    xf_metrics_u64 (m, NULL, stat (path, &st) == 0 ? (uint64_t) st.st_size : 0);
    xf_metrics_family (m, "xfsync_store_map_size_bytes", XF_METRIC_GAUGE,
                       "The store's current map size (it grows up to [node] store_max_mb).");
    xf_metrics_u64 (m, NULL, xf_store_map_size (node->store));
    xf_metrics_family (m, "xfsync_store_failed", XF_METRIC_GAUGE,
                       "1 when a commit failed and the store refuses changes until a restart.");
    xf_metrics_u64 (m, NULL, xf_store_failed (node->store) != NULL);
    xf_metrics_family (m, "xfsync_store_stale_readers_cleared_total", XF_METRIC_COUNTER,
                       "Reader slots left taken by processes that exited while reading the "
                       "store, cleared (at start, at every 500 ms tick, and when a read found "
                       "none free).");
    xf_metrics_u64 (m, NULL, xf_store_stale_readers_cleared (node->store));
    xf_metrics_family (m, "xfsync_heap_trims_total", XF_METRIC_COUNTER,
                       "Times the node handed freed heap back to the system (malloc_trim, "
                       "tried when its anonymous memory grew by 1 MiB).");
    xf_metrics_u64 (m, NULL, node->heap_trims);
    xf_metrics_family (m, "xfsync_heap_trimmed_bytes_total", XF_METRIC_COUNTER,
                       "Anonymous memory those trims gave back.");
    xf_metrics_u64 (m, NULL, node->heap_trimmed);
}

xf_metrics_t *metrics_build (xf_node_t *node, xf_err_t *err)
{
    xf_case_counts_t k;
    uint64_t undelivered = 0, forged = 0;
    int64_t now = node_now (node);
    if (xf_office_counts (node->office, xf_day_of_time (now), &k, err) != XF_OK
        || xf_office_undelivered (node->office, &undelivered, err) != XF_OK
        || xf_office_forged (node->office, &forged, err) != XF_OK)
        return NULL;
    xf_metrics_t *m = xf_metrics_new ();
    json_t *links = links_status (node->links), *refused = links_refusals (node->links);
    if (!m || !links || !refused) {
        xf_err_set (err, XF_ENOMEM, "metrics: out of memory");
        xf_metrics_destroy (&m);
        json_decref (links), json_decref (refused);
        return NULL;
    }
    xf_metrics_family (m, "xfsync_info", XF_METRIC_GAUGE, "This office and the xfsyncd version.");
    xf_metrics_u64 (m, (const char *[]) {"office", node->conf->code, "name", node->conf->name,
                                         "version", XF_VERSION, NULL}, 1);
    xf_metrics_family (m, "xfsync_start_time_seconds", XF_METRIC_GAUGE,
                       "When xfsyncd started (unix time, node clock).");
    xf_metrics_u64 (m, NULL, (uint64_t) (node->started > 0 ? node->started : 0));
    double up = process_uptime ();
    xf_metrics_family (m, "xfsync_uptime_seconds", XF_METRIC_GAUGE, "Seconds since xfsyncd started.");
    xf_metrics_f64 (m, NULL, up >= 0 ? up : (double) (now > node->started ? now - node->started : 0));
    link_families (m, links);
    xf_metrics_family (m, "xfsync_refused_keys_total", XF_METRIC_COUNTER,
                       "Connections refused because their CURVE key belongs to no configured office.");
    xf_metrics_u64 (m, NULL, u64_of (refused, "refused_keys"));
    xf_metrics_family (m, "xfsync_unknown_frames_total", XF_METRIC_COUNTER,
                       "Frames that belonged to no link (dropped).");
    xf_metrics_u64 (m, NULL, u64_of (refused, "unknown_frames"));
    case_families (m, &k, undelivered, forged);
    store_families (m, node);
    xf_metrics_family (m, "xfsync_control_requests_total", XF_METRIC_COUNTER,
                       "Requests on the control socket, by result.");
    xf_metrics_u64 (m, (const char *[]) {"result", "ok", NULL}, node->control_ok);
    xf_metrics_u64 (m, (const char *[]) {"result", "refused", NULL}, node->control_refused);
    json_decref (links), json_decref (refused);
    return m;
}

json_t *cmd_metrics (xf_node_t *node, uid_t uid, const json_t *args, xf_err_t *err)
{
    (void) uid, (void) args;
    xf_metrics_t *m = metrics_build (node, err);
    const char *text = m ? xf_metrics_text (m, NULL, err) : NULL;
    json_t *out = text ? json_pack ("{s:s}", "text", text) : NULL;
    if (text && !out)
        xf_err_set (err, XF_ENOMEM, "metrics: out of memory");
    xf_metrics_destroy (&m);
    return out;
}
