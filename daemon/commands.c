/* commands.c — the control commands: one table of names and handlers; each handler checks
 * its arguments, calls lib/ (xf_office) and shapes the JSON result. Handlers never block:
 * every one is a bounded store transaction. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "log.h"
#include "metrics.h"
#include "node.h"
#include "xf_case_json.h"
#include "xf_score.h"
#include "xf_time.h"

#define XF_VERSION "0.1.0"
#define IMPORT_MAX_BATCH 10000

typedef json_t *(*handler_fn) (xf_node_t *node, uid_t uid, const json_t *args, xf_err_t *err);

typedef struct {
    const char *name;
    handler_fn fn;
    const char *const *keys;   /* the argument names it accepts */
} command_t;

static xf_day_t today (const xf_node_t *node)
{
    return xf_day_of_time (node_now (node));
}

static xf_actor_t actor (const xf_node_t *node, uid_t uid)
{
    return (xf_actor_t) {node_now (node), (uint32_t) uid, node->role};
}

/* ---------------------------------------------------------------- argument helpers */

static const char *arg_string (const json_t *args, const char *key, bool required, xf_err_t *err)
{
    json_t *v = json_object_get (args, key);
    if (!v || json_is_null (v)) {
        if (required)
            xf_err_set (err, XF_EINVAL, "argument \"%s\" is required", key);
        return NULL;
    }
    if (!json_is_string (v) || strlen (json_string_value (v)) != json_string_length (v)) {
        xf_err_set (err, XF_EINVAL, "argument \"%s\" must be a string", key);
        return NULL;
    }
    return json_string_value (v);
}

static int arg_bool (const json_t *args, const char *key, bool *out, xf_err_t *err)
{
    json_t *v = json_object_get (args, key);
    *out = false;
    if (!v || json_is_null (v))
        return XF_OK;
    if (!json_is_boolean (v))
        return xf_err_set (err, XF_EINVAL, "argument \"%s\" must be true or false", key);
    *out = json_is_true (v);
    return XF_OK;
}

static int arg_int (const json_t *args, const char *key, long lo, long hi, long *out, xf_err_t *err)
{
    json_t *v = json_object_get (args, key);
    if (!v || json_is_null (v))
        return XF_ENOTFOUND;
    if (!json_is_integer (v) || json_integer_value (v) < lo || json_integer_value (v) > hi)
        return xf_err_set (err, XF_EINVAL, "argument \"%s\" must be a whole number from %ld to %ld",
                           key, lo, hi);
    *out = (long) json_integer_value (v);
    return XF_OK;
}

static json_t *case_result (xf_node_t *node, const char *id, xf_err_t *err)
{
    xf_case_t *c = xf_office_get (node->office, id, err);
    if (!c)
        return NULL;
    json_t *o = xf_case_to_json (c, today (node));
    xf_case_destroy (&c);
    return o;
}

/* ---------------------------------------------------------------- handlers */

static json_t *cmd_topology (xf_node_t *node, uid_t uid, const json_t *args, xf_err_t *err)
{
    (void) uid, (void) args, (void) err;
    return links_topology (node->links);
}

static json_t *cmd_status (xf_node_t *node, uid_t uid, const json_t *args, xf_err_t *err)
{
    (void) uid, (void) args;
    xf_case_counts_t k;
    uint64_t undelivered = 0;
    if (xf_office_counts (node->office, today (node), &k, err) != XF_OK
        || xf_office_undelivered (node->office, &undelivered, err) != XF_OK)
        return NULL;
    size_t snapshots = 0;
    if (xf_office_snapshot_count (node->office, &snapshots, err) != XF_OK)
        return NULL;
    json_t *shared = xf_office_reconcile_status (node->office, err);
    if (!shared)
        return NULL;
    char now[26], started[26];
    xf_time_format (node_now (node), now);
    xf_time_format (node->started, started);
    json_t *cases = json_pack ("{s:I,s:I,s:I,s:I,s:I,s:I,s:I}", "total", (json_int_t) k.total,
                               "registered", (json_int_t) k.by_status[XF__STATUS__REGISTERED],
                               "rejected", (json_int_t) k.by_status[XF__STATUS__REJECTED],
                               "in_progress", (json_int_t) k.by_status[XF__STATUS__IN_PROGRESS],
                               "reported", (json_int_t) k.by_status[XF__STATUS__REPORTED],
                               "closed", (json_int_t) k.by_status[XF__STATUS__CLOSED],
                               "overdue", (json_int_t) k.overdue);
    json_t *status = json_pack ("{s:{s:s,s:s},s:s,s:s,s:s,s:s,s:{s:s,s:I},s:o,s:o,s:I,s:o,s:{s:I,s:o},"
                      "s:{s:I,s:I}}",
                      "office", "code", node->conf->code, "name", node->conf->name,
                      "version", XF_VERSION, "public_key", node->public_key,
                      "clock", now, "started", started,
                      "store", "path", node->conf->data_dir, "map_size",
                      (json_int_t) xf_store_map_size (node->store),
                      "links", links_status (node->links), "refused",
                      links_refusals (node->links), "undelivered", (json_int_t) undelivered,
                      "cases", cases, "reconcile", "every_s",
                      (json_int_t) node->conf->reconcile_seconds, "offices", shared,
                      "stats", "pull_seconds", (json_int_t) node->conf->pull_seconds,
                      "snapshots_stored", (json_int_t) snapshots);
    if (status) {
        json_object_set_new (status, "trust", trust_status (node));
        const char *failed = xf_store_failed (node->store);
        json_object_set_new (json_object_get (status, "store"), "failed",
                             failed ? json_string (failed) : json_null ());
    }
    return status;
}

static json_t *cmd_register (xf_node_t *node, uid_t uid, const json_t *args, xf_err_t *err)
{
    xf_case_t *c = xf_case_new ();
    xf_actor_t who = actor (node, uid);
    json_t *out = NULL;
    if (c && xf_case_from_json (args, c, today (node), err) == XF_OK
        && xf_office_register (node->office, &who, c, err) == XF_OK) {
        log_info ("case %s registered by uid %u", c->id, (unsigned) uid);
        links_queued (node->links);   /* the sighting for the office above */
        out = xf_case_to_json (c, today (node));
    } else if (!c)
        xf_err_set (err, XF_ENOMEM, "out of memory");
    xf_case_destroy (&c);
    return out;
}

static void free_cases (xf_case_t **cases, size_t n)
{
    for (size_t i = 0; i < n; i++)
        xf_case_destroy (&cases[i]);
    free (cases);
}

static json_t *import_result (xf_case_t **cases, size_t n, bool dry_run)
{
    if (dry_run)
        return json_pack ("{s:I}", "checked", (json_int_t) n);
    json_t *ids = json_array ();
    for (size_t i = 0; i < n; i++)
        json_array_append_new (ids, json_string (cases[i]->id));
    return json_pack ("{s:I,s:o}", "imported", (json_int_t) n, "ids", ids);
}

static json_t *cmd_import (xf_node_t *node, uid_t uid, const json_t *args, xf_err_t *err)
{
    json_t *list = json_object_get (args, "cases");
    long first_line = 1;
    bool dry_run;
    if (!json_is_array (list) || json_array_size (list) > IMPORT_MAX_BATCH) {
        xf_err_set (err, XF_EINVAL, "argument \"cases\" must be an array of at most %d cases",
                    IMPORT_MAX_BATCH);
        return NULL;
    }
    if (arg_bool (args, "dry_run", &dry_run, err) != XF_OK
        || arg_int (args, "first_line", 1, 1L << 40, &first_line, err) == XF_EINVAL)
        return NULL;
    size_t n = json_array_size (list), bad = 0;
    xf_case_t **cases = calloc (n ? n : 1, sizeof *cases);
    json_t *out = NULL;
    int rc = cases ? XF_OK : xf_err_set (err, XF_ENOMEM, "out of memory");
    for (size_t i = 0; rc == XF_OK && i < n; i++) {
        if (!(cases[i] = xf_case_new ()))
            rc = xf_err_set (err, XF_ENOMEM, "out of memory");
        else
            rc = xf_case_from_json (json_array_get (list, i), cases[i], today (node), err);
        bad = i;
    }
    xf_actor_t who = actor (node, uid);
    if (rc == XF_OK)
        rc = xf_office_register_batch (node->office, &who, cases, n, dry_run, &bad, err);
    if (rc == XF_OK)
        out = import_result (cases, n, dry_run);
    else
        xf_err_prefix (err, "line %ld", first_line + (long) bad);
    if (rc == XF_OK && !dry_run) {
        log_info ("imported %zu cases (uid %u)", n, (unsigned) uid);
        links_queued (node->links);
    }
    if (cases)
        free_cases (cases, n);
    return out;
}

static json_t *cmd_show (xf_node_t *node, uid_t uid, const json_t *args, xf_err_t *err)
{
    (void) uid;
    const char *id = arg_string (args, "id", true, err);
    return id ? case_result (node, id, err) : NULL;
}

static json_t *cmd_history (xf_node_t *node, uid_t uid, const json_t *args, xf_err_t *err)
{
    (void) uid;
    const char *id = arg_string (args, "id", true, err);
    return id ? xf_office_history (node->office, id, err) : NULL;
}

static json_t *cmd_list (xf_node_t *node, uid_t uid, const json_t *args, xf_err_t *err)
{
    (void) uid;
    xf_case_filter_t f = {0};
    long limit = 100;
    const char *status = arg_string (args, "status", false, err);
    if (status && !(f.status = xf_status_parse (status))) {
        xf_err_set (err, XF_EINVAL, "status \"%s\" is not one of registered, rejected, "
                    "in_progress, reported, closed", status);
        return NULL;
    }
    f.owner = arg_string (args, "owner", false, err);
    if (err->code || arg_bool (args, "overdue", &f.overdue, err) != XF_OK
        || arg_int (args, "limit", 1, 1000000, &limit, err) == XF_EINVAL)
        return NULL;
    f.limit = (size_t) limit;
    return xf_office_list (node->office, &f, today (node), err);
}

/* The decisions share a shape: run the change, log it, answer with the case. */
static json_t *decided (xf_node_t *node, const char *id, const char *what, uid_t uid, int rc,
                        xf_err_t *err)
{
    if (rc != XF_OK)
        return NULL;
    log_info ("case %s %s by uid %u", id, what, (unsigned) uid);
    links_queued (node->links);   /* the copies for the other offices that hold the case */
    return case_result (node, id, err);
}

static json_t *cmd_accept (xf_node_t *node, uid_t uid, const json_t *args, xf_err_t *err)
{
    bool file;
    const char *id = arg_string (args, "id", true, err);
    if (!id || arg_bool (args, "file", &file, err) != XF_OK)
        return NULL;
    xf_actor_t who = actor (node, uid);
    int rc = xf_office_accept (node->office, &who, id, file, err);
    return decided (node, id, file ? "accepted and filed" : "accepted", uid, rc, err);
}

static json_t *cmd_reject (xf_node_t *node, uid_t uid, const json_t *args, xf_err_t *err)
{
    const char *id = arg_string (args, "id", true, err);
    const char *reason = id ? arg_string (args, "reason", true, err) : NULL;
    if (!reason)
        return NULL;
    xf_actor_t who = actor (node, uid);
    return decided (node, id, "rejected", uid, xf_office_reject (node->office, &who, id, reason, err), err);
}

static json_t *cmd_extend (xf_node_t *node, uid_t uid, const json_t *args, xf_err_t *err)
{
    long days = 0;
    const char *id = arg_string (args, "id", true, err);
    const char *reason = id ? arg_string (args, "reason", true, err) : NULL;
    if (!reason)
        return NULL;
    if (arg_int (args, "days", -100000, 100000, &days, err) != XF_OK) {
        if (!err->code)
            xf_err_set (err, XF_EINVAL, "argument \"days\" is required");
        return NULL;
    }
    xf_actor_t who = actor (node, uid);
    int rc = xf_office_extend (node->office, &who, id, (int) days, reason, err);
    return decided (node, id, "extended", uid, rc, err);
}

static json_t *cmd_close (xf_node_t *node, uid_t uid, const json_t *args, xf_err_t *err)
{
    const char *id = arg_string (args, "id", true, err);
    const char *reply = id ? arg_string (args, "reply", true, err) : NULL;
    if (!reply)
        return NULL;
    xf_actor_t who = actor (node, uid);
    return decided (node, id, "closed", uid, xf_office_close (node->office, &who, id, reply, err), err);
}

/* A JSON array of strings under key (borrowed; the array is the caller's to free), or NULL
 * with err set. max 0: any length, empty included; else 1 to max. */
static const char **arg_strings (const json_t *args, const char *key, const char *noun,
                                 size_t max, size_t *n, xf_err_t *err)
{
    json_t *list = json_object_get (args, key);
    *n = json_array_size (list);
    if (!json_is_array (list) || (max && (*n == 0 || *n > max))) {
        if (max)
            xf_err_set (err, XF_EINVAL, "argument \"%s\" must be an array of 1 to %zu %s", key,
                        max, noun);
        else
            xf_err_set (err, XF_EINVAL, "argument \"%s\" must be an array of %s", key, noun);
        return NULL;
    }
    const char **v = calloc (*n ? *n : 1, sizeof *v);
    for (size_t i = 0; v && i < *n; i++)
        if (!(v[i] = json_string_value (json_array_get (list, i)))) {
            xf_err_set (err, XF_EINVAL, "\"%s\"[%zu] is not a string", key, i);
            free (v);
            return NULL;
        }
    if (!v)
        xf_err_set (err, XF_ENOMEM, "out of memory");
    return v;
}

static const char *const move_done[] = {"escalated", "assigned", "transferred", "reported",
                                        "sent back"};

/* escalate, assign, transfer, report, send-back: one case ("id") or several ("ids"). */
static json_t *run_move (xf_node_t *node, uid_t uid, const json_t *args, xf_move_t kind,
                         xf_err_t *err)
{
    xf_move_req_t m = {.kind = kind};
    size_t n = 1, bad = 0;
    const char *id = NULL, **ids = NULL, **items = NULL;
    json_t *result = NULL;
    bool many = json_object_get (args, "ids") != NULL;
    /* "ids": several cases in one transaction (scripts, benchmarks): all or none */
    if (many ? !(ids = arg_strings (args, "ids", "case ids", IMPORT_MAX_BATCH, &n, err))
             : !(id = arg_string (args, "id", true, err)))
        return NULL;
    if (kind <= XF_MOVE_TRANSFER)
        m.to = arg_string (args, "to", kind != XF_MOVE_ESCALATE, err);
    if (!err->code)
        m.text = arg_string (args, xf_move_text (kind), true, err);
    if (!err->code && kind == XF_MOVE_REPORT
        && (items = arg_strings (args, "items", "item names", 0, &m.n_items, err)))
        m.items = (char *const *) items;
    if (!err->code) {
        xf_actor_t who = actor (node, uid);
        xf_net_t net = links_net (node->links);
        int rc = xf_office_move (node->office, &who, &net, many ? ids : &id, n, &m, &bad, err);
        if (rc == XF_OK && many) {
            log_info ("%zu cases %s by uid %u", n, move_done[kind], (unsigned) uid);
            links_queued (node->links);
            result = json_pack ("{s:I}", move_done[kind], (json_int_t) n);
        } else if (!many)
            result = decided (node, id, move_done[kind], uid, rc, err);
    }
    free (ids);
    free (items);
    return result;
}

static json_t *cmd_escalate (xf_node_t *node, uid_t uid, const json_t *args, xf_err_t *err)
{
    return run_move (node, uid, args, XF_MOVE_ESCALATE, err);
}

static json_t *cmd_assign (xf_node_t *node, uid_t uid, const json_t *args, xf_err_t *err)
{
    return run_move (node, uid, args, XF_MOVE_ASSIGN, err);
}

static json_t *cmd_transfer (xf_node_t *node, uid_t uid, const json_t *args, xf_err_t *err)
{
    return run_move (node, uid, args, XF_MOVE_TRANSFER, err);
}

static json_t *cmd_report (xf_node_t *node, uid_t uid, const json_t *args, xf_err_t *err)
{
    return run_move (node, uid, args, XF_MOVE_REPORT, err);
}

static json_t *cmd_send_back (xf_node_t *node, uid_t uid, const json_t *args, xf_err_t *err)
{
    return run_move (node, uid, args, XF_MOVE_SEND_BACK, err);
}

static json_t *cmd_urge (xf_node_t *node, uid_t uid, const json_t *args, xf_err_t *err)
{
    const char *id = arg_string (args, "id", true, err);
    const char *note = id ? arg_string (args, "note", true, err) : NULL;
    if (!note)
        return NULL;
    xf_actor_t who = actor (node, uid);
    return decided (node, id, "urged", uid, xf_office_urge (node->office, &who, id, note, err), err);
}

/* The case comes here once its owner records the request: the answer says whom we asked. */
static json_t *cmd_review (xf_node_t *node, uid_t uid, const json_t *args, xf_err_t *err)
{
    char asked_of[XF_OFFICE_CODE_LEN] = "";
    const char *id = arg_string (args, "id", true, err);
    const char *reason = id ? arg_string (args, "reason", true, err) : NULL;
    if (!reason)
        return NULL;
    xf_actor_t who = actor (node, uid);
    if (xf_office_review (node->office, &who, id, reason, asked_of, err) != XF_OK)
        return NULL;
    log_info ("case %s: review asked of office %s by uid %u", id, asked_of, (unsigned) uid);
    links_queued (node->links);
    return json_pack ("{s:s,s:s,s:s}", "id", id, "asked_of", asked_of, "review",
                      "asked: the case comes to this office once that office records the request "
                      "(xfctl case show ID tells what became of it)");
}

static json_t *cmd_lookup (xf_node_t *node, uid_t uid, const json_t *args, xf_err_t *err)
{
    json_t *answer = NULL;
    const char *code = arg_string (args, "query_code", true, err);
    if (!code)
        return NULL;
    xf_actor_t who = actor (node, uid);
    if (xf_office_lookup (node->office, &who, code, &answer, err) != XF_OK)
        return NULL;
    links_queued (node->links);   /* the question, when it went to another office */
    return answer;
}

/* The operator's report: this office alone, or (consolidated) its subtree. A consolidated
 * report takes up to [stats] pull_seconds to gather, so the first call answers
 * {"pending":true,"request":N} and xfctl asks again with that request until it is ready. */
static json_t *pending (xf_node_t *node, uint64_t id, int64_t wait_ms)
{
    size_t answered, expected;
    xf_office_pull_progress (node->office, id, &answered, &expected);
    return json_pack ("{s:b,s:I,s:I,s:I,s:I}", "pending", 1, "request", (json_int_t) id, "wait_ms",
                      (json_int_t) wait_ms, "answered", (json_int_t) answered, "expected",
                      (json_int_t) expected);
}

static json_t *pull_result (xf_node_t *node, uint64_t id, bool score, xf_err_t *err)
{
    json_t *report = NULL;
    int64_t wait_ms = 0;
    if (xf_office_pull_report (node->office, id, node_now (node), &report, &wait_ms, err) != XF_OK)
        return NULL;
    if (!report)
        return pending (node, id, wait_ms);
    if (!score)
        return report;
    json_t *scores = xf_score (node->conf, report);
    json_decref (report);
    if (!scores)
        xf_err_set (err, XF_ENOMEM, "out of memory");
    return scores;
}

static json_t *stats (xf_node_t *node, uid_t uid, const json_t *args, bool score, xf_err_t *err)
{
    xf_period_t p;
    bool consolidated = score;
    json_t *report = NULL, *request = json_object_get (args, "request");
    if (request) {
        if (!json_is_integer (request) || json_integer_value (request) <= 0)
            return xf_err_set (err, XF_EINVAL, "argument \"request\" must be a positive integer"),
                   NULL;
        return pull_result (node, (uint64_t) json_integer_value (request), score, err);
    }
    const char *period = arg_string (args, "period", false, err);
    if (err->code || (!score && arg_bool (args, "consolidated", &consolidated, err) != XF_OK))
        return NULL;
    if (!period)
        xf_period_quarter_of (today (node), &p);
    else if (xf_period_parse (period, &p, err) != XF_OK)
        return NULL;
    if (!consolidated) {
        if (xf_office_stats_report (node->office, &p, node_now (node), &report, err) != XF_OK)
            return NULL;
        return report;
    }
    uint64_t id = 0;
    if (xf_office_pull (node->office, &p, node_now (node),
                        (uint32_t) node->conf->pull_seconds * 1000u, &id, err) != XF_OK)
        return NULL;
    links_queued (node->links);   /* the requests to the children */
    log_info ("consolidated statistics %s asked of the subtree by uid %u (request %llu)", p.label,
              (unsigned) uid, (unsigned long long) id);
    return pull_result (node, id, score, err);
}

static json_t *cmd_stats (xf_node_t *node, uid_t uid, const json_t *args, xf_err_t *err)
{
    return stats (node, uid, args, false, err);
}

/* 目标管理: the consolidated report of the period, scored by the [score] rules. */
static json_t *cmd_score (xf_node_t *node, uid_t uid, const json_t *args, xf_err_t *err)
{
    return stats (node, uid, args, true, err);
}

static json_t *clock_result (xf_node_t *node)
{
    char now[26];
    xf_time_format (node_now (node), now);
    return json_pack ("{s:s,s:I,s:b}", "now", now, "offset", (json_int_t) node->clock_offset,
                      "control", node->conf->clock_control);
}

static json_t *cmd_clock_show (xf_node_t *node, uid_t uid, const json_t *args, xf_err_t *err)
{
    (void) uid, (void) args, (void) err;
    return clock_result (node);
}

static json_t *cmd_clock_set (xf_node_t *node, uid_t uid, const json_t *args, xf_err_t *err)
{
    int64_t t;
    if (!node->conf->clock_control) {
        xf_err_set (err, XF_EPERM, "the node clock can only be moved with [debug] clock_control "
                    "= true in %s (test setups only)", node->conf->path);
        return NULL;
    }
    const char *s = arg_string (args, "time", true, err);
    if (!s || xf_time_parse (s, &t, err) != XF_OK)
        return NULL;
    int64_t offset = t - (node_now (node) - node->clock_offset);
    if (xf_office_set_clock_offset (node->office, offset, err) != XF_OK
        || xf_office_clock_reset (node->office, t, err) != XF_OK)   /* moved on purpose */
        return NULL;
    node->clock_offset = offset;
    node->deadlines_dirty = true;
    log_info ("node clock set to %s by uid %u", s, (unsigned) uid);
    return clock_result (node);
}

/* 对账 now, rather than at the next [links] reconcile_seconds: digests go to every office
 * this one shares cases with whose link is quiet; the answers show in status.reconcile. */
static json_t *cmd_reconcile (xf_node_t *node, uid_t uid, const json_t *args, xf_err_t *err)
{
    (void) args;
    size_t sent = 0;
    if (xf_office_reconcile (node->office, node_now (node), node->conf->reconcile_seconds, &sent,
                             err) != XF_OK)
        return NULL;
    if (sent)
        links_queued (node->links);
    log_info ("对账 asked by uid %u: digests sent to %zu office(s)", (unsigned) uid, sent);
    return json_pack ("{s:I}", "sent", (json_int_t) sent);
}

/* ---------------------------------------------------------------- dispatch */

static const char *const k_none[] = {NULL};
static const char *const k_backup_status[] = {"id", NULL};
static const char *const k_id[] = {"id", NULL};
static const char *const k_import[] = {"cases", "dry_run", "first_line", NULL};
static const char *const k_list[] = {"status", "owner", "overdue", "limit", NULL};
static const char *const k_accept[] = {"id", "file", NULL};
static const char *const k_reject[] = {"id", "reason", NULL};
static const char *const k_extend[] = {"id", "days", "reason", NULL};
static const char *const k_close[] = {"id", "reply", NULL};
static const char *const k_escalate[] = {"id", "ids", "to", "note", NULL};
static const char *const k_report[] = {"id", "ids", "result", "items", NULL};
static const char *const k_send_back[] = {"id", "ids", "reason", NULL};
static const char *const k_urge[] = {"id", "note", NULL};
static const char *const k_review[] = {"id", "reason", NULL};
static const char *const k_lookup[] = {"query_code", NULL};
static const char *const k_stats[] = {"period", "consolidated", "request", NULL};
static const char *const k_score[] = {"period", "request", NULL};
static const char *const k_clock[] = {"time", NULL};
static const char *const k_cert_issue[] = {"request", "days", NULL};
static const char *const k_recuse[] = {"id", "operator", NULL};
static const char *const k_cert_revoke[] = {"serial", "fingerprint", "reason", NULL};
static const char *const k_audit_show[] = {"id", "uid", "from", "to", "action", "limit", NULL};

static const command_t commands[] = {
    {"status", cmd_status, k_none},
    {"topology", cmd_topology, k_none},
    {"metrics", cmd_metrics, k_none},
    {"case.register", cmd_register, NULL},   /* the case fields; xf_case_from_json checks them */
    {"case.import", cmd_import, k_import},
    {"case.show", cmd_show, k_id},
    {"case.history", cmd_history, k_id},
    {"case.list", cmd_list, k_list},
    {"case.accept", cmd_accept, k_accept},
    {"case.reject", cmd_reject, k_reject},
    {"case.extend", cmd_extend, k_extend},
    {"case.close", cmd_close, k_close},
    {"case.escalate", cmd_escalate, k_escalate},
    {"case.assign", cmd_assign, k_escalate},
    {"case.transfer", cmd_transfer, k_escalate},
    {"case.report", cmd_report, k_report},
    {"case.send_back", cmd_send_back, k_send_back},
    {"case.urge", cmd_urge, k_urge},
    {"case.review", cmd_review, k_review},
    {"case.lookup", cmd_lookup, k_lookup},
    {"stats", cmd_stats, k_stats},
    {"reconcile", cmd_reconcile, k_none},
    {"stats.score", cmd_score, k_score},
    {"cert.issue", cmd_cert_issue, k_cert_issue},
    {"cert.show", cmd_cert_show, k_none},
    {"clock.show", cmd_clock_show, k_none},
    {"clock.set", cmd_clock_set, k_clock},
    {"case.recuse", cmd_recuse, k_recuse},
    {"cert.revoke", cmd_cert_revoke, k_cert_revoke},
    {"audit.verify", cmd_audit_verify, k_none},
    {"audit.show", cmd_audit_show, k_audit_show},
    {"backup", cmd_backup, k_none},
    {"backup.status", cmd_backup_status, k_backup_status},
};

static const char *unknown_arg (const json_t *args, const char *const *keys)
{
    const char *key;
    json_t *v;
    json_object_foreach ((json_t *) args, key, v) {
        bool known = false;
        for (int i = 0; keys[i] && !known; i++)
            known = strcmp (key, keys[i]) == 0;
        if (!known)
            return key;
    }
    return NULL;
}

static json_t *refusal (const char *code, const char *message)
{
    return json_pack ("{s:b,s:{s:s,s:s}}", "ok", 0, "error", "code", code, "message", message);
}

/* One command for operator uid: its role and recusals checked, the command run, the result
 * trimmed of what the operator may not see, the request audited. */
static json_t *run (xf_node_t *node, uid_t uid, const command_t *cmd, const json_t *args)
{
    access_caller_t who;
    xf_err_t err = {0};
    access_caller (node, uid, &who);
    node->role = xf_role_name (who.role);
    json_t *result = NULL;
    if (access_allow (node, &who, cmd->name, args, &err) == XF_OK)
        result = cmd->fn (node, uid, args, &err);
    else
        log_warn ("%s refused: %s", cmd->name, err.msg);
    if (result)
        access_filter (node, &who, cmd->name, result);
    if (!result && !err.code)
        xf_err_set (&err, XF_EINVAL, "refused");
    audit_request (node, &who, cmd->name, args, result ? NULL : &err);
    node->role = NULL;
    access_caller_clear (&who);
    return result ? json_pack ("{s:b,s:o}", "ok", 1, "result", result)
                  : refusal (xf_err_name (err.code), err.msg);
}

json_t *commands_execute (xf_node_t *node, uid_t uid, const json_t *request)
{
    char msg[160];
    const char *name = json_string_value (json_object_get (request, "cmd"));
    json_t *args = json_object_get (request, "args");
    if (!json_is_object (request) || !name)
        return refusal ("bad_request", "a request is {\"cmd\":\"…\",\"args\":{…}}");
    if (args && !json_is_object (args))
        return refusal ("bad_request", "\"args\" must be an object");
    const char *extra = unknown_arg (request, (const char *const[]) {"cmd", "args", NULL});
    if (extra) {
        snprintf (msg, sizeof msg, "unknown request key \"%.60s\"", extra);
        return refusal ("bad_request", msg);
    }
    json_t *empty = json_object ();
    const json_t *a = args ? args : empty;
    json_t *resp = NULL;
    for (size_t i = 0; i < sizeof commands / sizeof commands[0] && !resp; i++) {
        if (strcmp (name, commands[i].name) != 0)
            continue;
        if (commands[i].keys && (extra = unknown_arg (a, commands[i].keys))) {
            snprintf (msg, sizeof msg, "%s: unknown argument \"%.60s\"", name, extra);
            resp = refusal ("bad_request", msg);
            break;
        }
        resp = run (node, uid, &commands[i], a);
    }
    json_decref (empty);
    if (!resp) {
        snprintf (msg, sizeof msg, "unknown command \"%.60s\"", name);
        resp = refusal ("unknown_command", msg);
    }
    return resp;
}
