/* backup.c — `xfctl backup FILE` and `xfsyncd --restore FILE`.
 *
 * Backup: xfctl sends a pipe with the request (SCM_RIGHTS, control.c); a thread writes a
 * consistent, compacted copy of the store into it (LMDB's mdb_env_copyfd2 in one read
 * transaction) while the loop goes on applying envelopes and answering operators; xfctl writes
 * the bytes to FILE, shows progress, and asks backup.status for the result. The daemon opens no
 * operator file: under systemd it can write only its own directories.
 *
 * Restore: the copy becomes data_dir/data.mdb on a node that has no store yet, and the store is
 * marked restored (a new epoch; each link's position at the backup). At the first hello each
 * link resynchronises (xf_link_on_hello): the peer sends again what it kept since ([links]
 * keep_acked_days), and envelopes queued here since the restore follow what the peer already
 * has from before it. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include "log.h"
#include "node.h"
#include "xf_audit.h"
#include "xf_outbox.h"

static struct {
    bool running;          /* a thread was started and not yet joined */
    atomic_int done;       /* the thread finished */
    pthread_t thread;
    uint64_t id;           /* the last backup's number */
    int fd;
    xf_store_t *store;
    int rc;
    xf_err_t err;
    uid_t uid;
    int64_t started;       /* node clock */
    bool reported;         /* its result was told to an operator */
    bool last_ok;
    char last_error[sizeof ((xf_err_t *) 0)->msg];
} bk;

static void *copy_thread (void *arg)
{
    (void) arg;
    bk.rc = xf_store_copy_fd (bk.store, bk.fd, &bk.err);
    close (bk.fd);
    atomic_store (&bk.done, 1);
    return NULL;
}

/* Joins a finished copy and lets the store's map grow again. */
static void reap (void)
{
    pthread_join (bk.thread, NULL);
    xf_store_copy_end (bk.store);
    bk.running = false;
    bk.last_ok = bk.rc == XF_OK;
    snprintf (bk.last_error, sizeof bk.last_error, "%s", bk.rc == XF_OK ? "" : bk.err.msg);
    if (bk.last_ok)
        log_info ("backup %llu (uid %u): copied", (unsigned long long) bk.id, (unsigned) bk.uid);
    else
        log_error ("backup %llu (uid %u) failed: %s", (unsigned long long) bk.id,
                   (unsigned) bk.uid, bk.last_error);
}

void backup_tick (xf_node_t *node)
{
    (void) node;
    if (bk.running && atomic_load (&bk.done))
        reap ();
}

void backup_stop (xf_node_t *node)
{
    (void) node;
    if (!bk.running)
        return;
    if (!atomic_load (&bk.done))
        log_info ("waiting for backup %llu to finish copying", (unsigned long long) bk.id);
    reap ();
}

json_t *cmd_backup (xf_node_t *node, uid_t uid, const json_t *args, xf_err_t *err)
{
    (void) args;
    struct stat st;
    backup_tick (node);
    if (bk.running) {
        xf_err_set (err, XF_ESTATE, "backup %llu (uid %u) is still being copied: one at a time",
                    (unsigned long long) bk.id, (unsigned) bk.uid);
        return NULL;
    }
    if (node->request_fd < 0 || fstat (node->request_fd, &st) != 0
        || !(S_ISFIFO (st.st_mode) || S_ISREG (st.st_mode))) {
        xf_err_set (err, XF_EINVAL, "a backup is written into the pipe or file xfctl sends with "
                    "the request: use xfctl backup FILE");
        return NULL;
    }
    if (xf_store_copy_begin (node->store, err) != XF_OK)
        return NULL;
    bk.fd = node->request_fd;
    bk.store = node->store;
    bk.uid = uid;
    bk.started = node_now (node);
    bk.rc = XF_OK;
    bk.err = (xf_err_t) {0};
    bk.reported = false;
    atomic_store (&bk.done, 0);
    int rc = pthread_create (&bk.thread, NULL, copy_thread, NULL);
    if (rc != 0) {
        xf_store_copy_end (node->store);
        xf_err_set (err, XF_ENOMEM, "cannot start the copy: %s", strerror (rc));
        return NULL;
    }
    node->request_fd = -1;   /* the thread closes it */
    bk.running = true;
    bk.id++;
    log_info ("backup %llu: copying the store for uid %u", (unsigned long long) bk.id, (unsigned) uid);
    return json_pack ("{s:I,s:s,s:I}", "id", (json_int_t) bk.id, "office", node->conf->code,
                      "estimate", (json_int_t) xf_store_used_bytes (node->store));
}

json_t *cmd_backup_status (xf_node_t *node, uid_t uid, const json_t *args, xf_err_t *err)
{
    (void) uid;
    json_int_t id = json_integer_value (json_object_get (args, "id"));
    backup_tick (node);
    if (id <= 0 || (uint64_t) id != bk.id) {
        xf_err_set (err, XF_ENOTFOUND, "no backup %lld here (the last was %llu)", (long long) id,
                    (unsigned long long) bk.id);
        return NULL;
    }
    if (bk.running)
        return json_pack ("{s:I,s:b}", "id", id, "done", 0);
    return json_pack ("{s:I,s:b,s:b,s:s}", "id", id, "done", 1, "ok", bk.last_ok, "error",
                      bk.last_error);
}

/* ---------------------------------------------------------------- restore */

static int copy_file (const char *from, const char *to, char *errbuf, size_t errlen)
{
    int in = open (from, O_RDONLY | O_CLOEXEC), out = -1;
    char buf[1 << 16];
    ssize_t n = 0;
    if (in < 0) {
        snprintf (errbuf, errlen, "backup %s: %s", from, strerror (errno));
        return -1;
    }
    if ((out = open (to, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600)) < 0) {
        snprintf (errbuf, errlen, "%s: %s", to, strerror (errno));
        close (in);
        return -1;
    }
    while ((n = read (in, buf, sizeof buf)) > 0)
        if (write (out, buf, (size_t) n) != n) {
            n = -1;
            break;
        }
    int rc = n < 0 || fsync (out) != 0 ? -1 : 0;
    if (rc)
        snprintf (errbuf, errlen, "copying %s to %s: %s", from, to, strerror (errno));
    close (in);
    if (close (out) != 0 && rc == 0) {
        snprintf (errbuf, errlen, "%s: %s", to, strerror (errno));
        rc = -1;
    }
    return rc;
}

typedef struct {
    const xf_conf_t *cf;
    const char *file;
    uint64_t epoch;
    size_t cases;
    char years[8][16];    /* "seq/YYYY" case number counters */
    size_t n_years;
    uint64_t next_case;   /* this year's, after the jump */
} mark_t;

static int collect_year (const void *key, size_t klen, const void *val, size_t vlen, void *arg)
{
    (void) val, (void) vlen;
    mark_t *m = arg;
    if (klen < sizeof m->years[0] && m->n_years < 8)
        snprintf (m->years[m->n_years++], sizeof m->years[0], "%.*s", (int) klen, (const char *) key);
    return 0;
}

/* Case numbers and envelope ids given since the backup are not known here, but other offices
 * may hold them: the counters jump ahead (to a round number at least 5,000 further) so that no
 * number is given twice. */
#define RESTORE_CASE_GAP 5000
#define RESTORE_ENVELOPE_GAP 1000000

static int jump_counters (xf_txn_t *txn, mark_t *m, xf_err_t *err)
{
    uint64_t v = 0;
    int rc = xf_txn_scan_prefix (txn, XF_DB_META, "seq/", 4, collect_year, m, err);
    for (size_t i = 0; rc == XF_OK && i < m->n_years; i++) {
        if ((rc = xf_txn_meta_u64 (txn, m->years[i], &v, err)) != XF_OK)
            break;
        v = ((v + RESTORE_CASE_GAP) / 10000 + 1) * 10000;
        rc = xf_txn_meta_set_u64 (txn, m->years[i], v, err);
        m->next_case = v + 1;
    }
    if (rc == XF_OK && (rc = xf_txn_meta_u64 (txn, "env/seq", &v, err)) == XF_OK)
        rc = xf_txn_meta_set_u64 (txn, "env/seq", v + RESTORE_ENVELOPE_GAP, err);
    return rc;
}

/* The restore is in the audit log: what happened at this office after the backup was taken
 * is not, and the log says so where it resumes. */
static int audit_restore (xf_txn_t *txn, mark_t *m, xf_err_t *err)
{
    char detail[600];
    snprintf (detail, sizeof detail, "restored from the backup %.400s (epoch %llu): what this "
              "office recorded after the backup was taken is not in this log", m->file,
              (unsigned long long) m->epoch);
    xf_audit_entry_t e = {.time = (int64_t) time (NULL), .office = m->cf->code,
                          .uid = (int64_t) getuid (), .role = "node", .action = "node.restore",
                          .detail = detail};
    xf_profile_t p = m->cf->has_trust ? (xf_profile_t) m->cf->trust_profile : XF_PROFILE_STANDARD;
    return xf_audit_append (txn, p, &e, NULL, err);
}

/* A new epoch, and each link's position at the backup, for the first hellos. */
static int mark_restored (xf_txn_t *txn, void *arg, xf_err_t *err)
{
    mark_t *m = arg;
    uint64_t epoch = 0;
    int rc = xf_txn_meta_u64 (txn, "epoch", &epoch, err);
    m->epoch = (uint64_t) time (NULL) > epoch ? (uint64_t) time (NULL) : epoch + 1;
    if (rc != XF_OK || (rc = xf_txn_meta_set_u64 (txn, "epoch", m->epoch, err)) != XF_OK)
        return rc;
    for (size_t i = 0; i <= m->cf->n_children; i++) {
        const char *peer = i < m->cf->n_children ? m->cf->children[i].code
                                                 : m->cf->has_parent ? m->cf->parent_code : NULL;
        xf_link_pos_t pos;
        if (!peer)
            continue;
        if ((rc = xf_outbox_positions (txn, peer, &pos, err)) != XF_OK
            || (rc = xf_outbox_set_restored (txn, peer, pos.next_seq, err)) != XF_OK)
            return rc;
    }
    if ((rc = jump_counters (txn, m, err)) != XF_OK || (rc = audit_restore (txn, m, err)) != XF_OK)
        return rc;
    return xf_txn_count (txn, XF_DB_CASES, &m->cases, err);
}

static int restore_locked (const xf_conf_t *cf, const char *file, char *errbuf, size_t errlen)
{
    char path[4200], part[4300];
    xf_err_t err = {0};
    snprintf (path, sizeof path, "%s/data.mdb", cf->data_dir);
    snprintf (part, sizeof part, "%s/data.mdb.restoring", cf->data_dir);
    if (access (path, F_OK) == 0) {
        snprintf (errbuf, errlen, "data_dir %s already holds a store (data.mdb): a backup is "
                  "restored only where there is none; move it away first if it is to be "
                  "replaced", cf->data_dir);
        return -1;
    }
    unlink (part);   /* left by a restore that was interrupted */
    if (copy_file (file, part, errbuf, errlen) != 0 || rename (part, path) != 0) {
        if (!errbuf[0])
            snprintf (errbuf, errlen, "%s: %s", path, strerror (errno));
        unlink (part);
        return -1;
    }
    xf_store_t *store = xf_store_open (cf->data_dir, NULL, &err);
    xf_limits_t lim = node_limits (cf);
    xf_office_t *office = store ? xf_office_new (store, cf->code, &lim, &err) : NULL;
    mark_t m = {.cf = cf, .file = file};
    if (!office || xf_store_write (store, mark_restored, &m, &err) != XF_OK) {
        snprintf (errbuf, errlen, "%s: %s", file, err.msg);
        xf_office_destroy (&office);
        xf_store_close (&store);
        unlink (path);   /* nothing restored: data_dir as it was */
        char lock[4300];
        snprintf (lock, sizeof lock, "%s/lock.mdb", cf->data_dir);
        unlink (lock);
        return -1;
    }
    xf_office_destroy (&office);
    xf_store_close (&store);
    printf ("restored the store of office %s (%zu case(s)) into %s, epoch %llu.\n", cf->code,
            m.cases, cf->data_dir, (unsigned long long) m.epoch);
    if (m.next_case)
        printf ("Case numbers go on from %llu (those given since the backup may be held by "
                "other offices).\n", (unsigned long long) m.next_case);
    printf ("Start xfsyncd: each link resynchronises at its first hello, and the neighbours send "
            "again what they kept since the backup ([links] keep_acked_days).\n");
    return 0;
}

int backup_restore (const xf_conf_t *cf, const char *file, char *errbuf, size_t errlen)
{
    int lock = node_lock_data_dir (cf->data_dir, errbuf, errlen);   /* no node starts meanwhile */
    if (lock < 0)
        return -1;
    int rc = restore_locked (cf, file, errbuf, errlen);
    close (lock);
    return rc;
}
