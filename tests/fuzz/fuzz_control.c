/* fuzz_control.c — control-socket requests, each input one request line as an operator's
 * client sends it: parsed as control.c does and run through the daemon's command table
 * (commands_execute: roles, recusal, arguments, the commands themselves, the audit) on a real
 * office with a store in a temp directory, without links or sockets: the links are stand-ins
 * that queue nothing, and the log is silent. The store is not synced (speed), and it grows
 * with what the inputs register. */
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <sys/stat.h>
#include "node.h"
#include "xf_fuzz.h"
#include "xf_test.h"

static xf_node_t node;
static char store_dir[4096];

/* ---------------------------------------------------------------- stand-ins */

int64_t node_now (const xf_node_t *n)
{
    return XF_FUZZ_NOW + n->clock_offset;
}

void log_info (const char *fmt, ...) { (void) fmt; }
void log_warn (const char *fmt, ...) { (void) fmt; }
void log_error (const char *fmt, ...) { (void) fmt; }

json_t *links_status (xf_links_t *l) { (void) l; return json_array (); }
json_t *links_refusals (const xf_links_t *l) { (void) l; return json_object (); }
json_t *links_topology (xf_links_t *l) { (void) l; return json_object (); }
void backup_tick (xf_node_t *n) { (void) n; }
json_t *cmd_backup (xf_node_t *n, uid_t uid, const json_t *args, xf_err_t *err)
{
    (void) n, (void) uid, (void) args;
    xf_err_set (err, XF_EINVAL, "no backup in the fuzzer");
    return NULL;
}
json_t *cmd_backup_status (xf_node_t *n, uid_t uid, const json_t *args, xf_err_t *err)
{
    (void) n, (void) uid, (void) args;
    xf_err_set (err, XF_ENOTFOUND, "no backup in the fuzzer");
    return NULL;
}
void links_queued (xf_links_t *l) { (void) l; }
void links_rehello (xf_links_t *l) { (void) l; }

xf_net_t links_net (const xf_links_t *l)
{
    (void) l;
    return (xf_net_t) {0};
}

/* ---------------------------------------------------------------- the node */

static void close_node (void)
{
    xf_office_destroy (&node.office);
    xf_access_destroy (&node.access);
    xf_store_close (&node.store);
    xf_conf_destroy (&node.conf);
    xf_test_rmtree (store_dir);
}

int LLVMFuzzerInitialize (int *argc, char ***argv)
{
    (void) argc, (void) argv;
    const char *tmp = getenv ("XF_TEST_TMP") ? getenv ("XF_TEST_TMP") : "/tmp";
    char *dir = store_dir;
    xf_err_t err = {0};
    mkdir (tmp, 0700);
    snprintf (store_dir, sizeof store_dir, "%s/fuzz_control.XXXXXX", tmp);
    if (!mkdtemp (store_dir))
        abort ();
    atexit (close_node);
    node.request_fd = -1;   /* no descriptor comes with a fuzzed request: backup is refused */
    node.conf = xf_conf_new_defaults ();
    free (node.conf->data_dir);
    free (node.conf->name);
    node.conf->data_dir = strdup (dir);
    node.conf->name = strdup ("中共镇平县委组织部");
    snprintf (node.conf->code, sizeof node.conf->code, "411324");
    node.conf->clock_control = true;
    xf_store_opts_t opts = {.no_sync = true};
    const xf_conf_t *cf = node.conf;
    xf_limits_t lim = node_limits (cf);
    if (!(node.store = xf_store_open (dir, &opts, &err))
        || !(node.office = xf_office_new (node.store, cf->code, &lim, &err))
        || !(node.access = xf_access_new (false, NULL, NULL, &err))) {
        fprintf (stderr, "fuzz_control: %s\n", err.msg);
        abort ();
    }
    return 0;
}

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
    json_error_t jerr;
    json_t *req = json_loadb ((const char *) data, size, JSON_REJECT_DUPLICATES, &jerr);
    if (!req)
        return 0;
    json_t *resp = commands_execute (&node, 0, req);
    json_decref (resp);
    json_decref (req);
    return 0;
}
