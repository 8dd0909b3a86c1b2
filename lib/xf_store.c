/* xf_store.c — LMDB persistence: environment, named databases, transactions that grow the map
 * instead of failing, and the schema version check. */
#include "xf_store.h"
#include "xf_store_int.h"

#include <errno.h>
#include <signal.h>
#include <stdatomic.h>
#include <lmdb.h>
#include <stdlib.h>
#include <stdio.h>
#include <unistd.h>
#include <sys/wait.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#define DEFAULT_MAP   ((size_t) 64 << 20)
#define DEFAULT_LIMIT ((size_t) 1 << 40)
#define MAX_GROWTHS   24

const char *const xf_store_db_names[XF_DB_COUNT] = {
    "meta", "cases", "events", "due", "petitioner", "query", "status",
    "outbox", "links", "stats", "snapshots", "audit", "urge", "share", "digest",
};

int xf_store_lmdb_err (xf_err_t *err, int rc, const char *what, const xf_store_t *s)
{
    const char *hint = rc == MDB_INVALID || rc == MDB_VERSION_MISMATCH || rc == MDB_CORRUPTED
                       ? ": it is not an xfsync store, or it is damaged (move it away, or restore "
                         "it from a backup)"
                       : rc == MDB_READERS_FULL
                       ? ": every reader slot is held by a running process (`mdb_stat -r` on the "
                         "store's directory lists them); stop the one that is not xfsyncd"
                       : "";
    return xf_err_set (err, XF_ESTORE, "store %s: %s: %s%s", s ? s->dir : "", what,
                       mdb_strerror (rc), hint);
}

/* The named databases (created unless read_only: they all exist then). */
static int open_dbs (xf_store_t *s, bool read_only, xf_err_t *err)
{
    MDB_txn *txn;
    int rc = mdb_txn_begin (s->env, NULL, read_only ? MDB_RDONLY : 0, &txn);
    if (rc != 0)
        return xf_store_lmdb_err (err, rc, "begin", s);
    for (int i = 0; i < XF_DB_COUNT; i++) {
        if ((rc = mdb_dbi_open (txn, xf_store_db_names[i], read_only ? 0 : MDB_CREATE, &s->dbi[i])) != 0) {
            mdb_txn_abort (txn);
            return xf_store_lmdb_err (err, rc, xf_store_db_names[i], s);
        }
    }
    if ((rc = mdb_txn_commit (txn)) != 0)
        return xf_store_lmdb_err (err, rc, "commit", s);
    return XF_OK;
}

/* Reads every page a database holds (its keys and a byte of each page of its values), so that
 * a page past the end of the file faults. */
static void touch_db (MDB_txn *txn, MDB_dbi dbi, volatile unsigned *sum)
{
    MDB_cursor *cur;
    MDB_val k, v;
    if (mdb_cursor_open (txn, dbi, &cur) != 0)
        return;
    for (int op = MDB_FIRST; mdb_cursor_get (cur, &k, &v, (MDB_cursor_op) op) == 0; op = MDB_NEXT) {
        *sum += ((const unsigned char *) k.mv_data)[0];
        for (size_t i = 0; i < v.mv_size; i += 4096)
            *sum += ((const unsigned char *) v.mv_data)[i];
    }
    mdb_cursor_close (cur);
}

/* In a child process, so that a fault is a finding and not the end of this one. */
static bool every_page_readable (xf_store_t *s)
{
    pid_t pid = fork ();
    if (pid < 0)
        return true;   /* cannot tell: LMDB's own checks stand */
    if (pid == 0) {
        volatile unsigned sum = 0;
        signal (SIGBUS, SIG_DFL);   /* a fault ends the child plainly, sanitizer or not */
        signal (SIGSEGV, SIG_DFL);
        MDB_txn *txn;
        MDB_dbi dbi;
        if (mdb_txn_begin (s->env, NULL, MDB_RDONLY, &txn) != 0)
            _exit (0);
        if (mdb_dbi_open (txn, NULL, 0, &dbi) == 0)
            touch_db (txn, dbi, &sum);
        for (int i = 0; i < XF_DB_COUNT; i++)
            if (mdb_dbi_open (txn, xf_store_db_names[i], 0, &dbi) == 0)
                touch_db (txn, dbi, &sum);
        _exit (0);
    }
    int status = 0;
    while (waitpid (pid, &status, 0) < 0 && errno == EINTR)
        continue;
    return WIFEXITED (status) && WEXITSTATUS (status) == 0;
}

/* A data file cut short (an interrupted copy, a disk that filled) would make LMDB fault when it
 * reads past the end. The file may legitimately end before the last page the meta page counts
 * (pages freed before they were ever written), so only then are all the pages in use read, in
 * a child process; a fault there refuses the store. */
static int check_length (xf_store_t *s, const MDB_envinfo *info, xf_err_t *err)
{
    MDB_stat st;
    struct stat fs;
    char path[4096];
    snprintf (path, sizeof path, "%s/data.mdb", s->dir);
    if (mdb_env_stat (s->env, &st) != 0 || stat (path, &fs) != 0)
        return XF_OK;   /* nothing to compare: LMDB's own checks stand */
    uint64_t need = ((uint64_t) info->me_last_pgno + 1) * st.ms_psize;
    if ((uint64_t) fs.st_size < need && !every_page_readable (s))
        return xf_err_set (err, XF_ESTORE, "store %s: data.mdb is %lld bytes and pages in use lie "
                           "beyond its end (up to byte %llu): the file was cut short (an "
                           "interrupted copy, a full disk); restore it from a backup", s->dir,
                           (long long) fs.st_size, (unsigned long long) need);
    return XF_OK;
}

static int check_schema (xf_txn_t *txn, void *arg, xf_err_t *err)
{
    (void) arg;
    uint64_t v = 0;
    int rc = xf_txn_meta_u64 (txn, "schema", &v, err);
    if (rc != XF_OK)
        return rc;
    if (v > XF_SCHEMA_VERSION)
        return xf_err_set (err, XF_EVERSION,
                           "store %s was written by a newer xfsync (schema %llu); this build reads "
                           "schema %d or older: install the newer xfsync or restore a backup",
                           txn->store->dir, (unsigned long long) v, XF_SCHEMA_VERSION);
    if (v < XF_SCHEMA_VERSION)   /* new store (0); future migrations go here */
        return xf_txn_meta_set_u64 (txn, "schema", XF_SCHEMA_VERSION, err);
    return XF_OK;
}

xf_store_t *xf_store_open (const char *dir, const xf_store_opts_t *opts, xf_err_t *err)
{
    struct stat st;
    int stat_errno = stat (dir, &st) != 0 ? errno : 0;   /* errno is stale after a success */
    if (stat_errno || !S_ISDIR (st.st_mode)) {
        xf_err_set (err, XF_ESTORE, "store %s: not a directory: %s", dir,
                    stat_errno ? strerror (stat_errno) : "exists but is a file");
        return NULL;
    }
    xf_store_t *s = calloc (1, sizeof *s);
    if (!s || !(s->dir = strdup (dir))) {
        free (s);
        xf_err_set (err, XF_ENOMEM, "store %s: out of memory", dir);
        return NULL;
    }
    s->map_size = opts && opts->map_size ? opts->map_size : DEFAULT_MAP;
    s->max_map_size = opts && opts->max_map_size ? opts->max_map_size : DEFAULT_LIMIT;
    unsigned flags = MDB_NOTLS | (opts && opts->no_sync ? MDB_NOSYNC : 0);
    int rc;
    if ((rc = mdb_env_create (&s->env)) != 0
        || (rc = mdb_env_set_maxdbs (s->env, XF_DB_COUNT)) != 0
        || (rc = mdb_env_set_mapsize (s->env, s->map_size)) != 0) {
        xf_store_lmdb_err (err, rc, "create", s);
        goto fail;
    }
    if ((rc = mdb_env_open (s->env, dir, flags, 0600)) != 0) {
        xf_store_lmdb_err (err, rc, "open", s);
        goto fail;
    }
    if (xf_store_clear_stale_readers (s, NULL, err) != XF_OK)
        goto fail;
    /* An existing store may be larger than what we asked for: LMDB keeps its size. */
    MDB_envinfo info;
    mdb_env_info (s->env, &info);
    s->map_size = info.me_mapsize;
    if (check_length (s, &info, err) != XF_OK)
        goto fail;
    if (open_dbs (s, false, err) != XF_OK || xf_store_write (s, check_schema, NULL, err) != XF_OK)
        goto fail;
    return s;
fail:
    xf_store_close (&s);
    return NULL;
}

void xf_store_close (xf_store_t **store_p)
{
    if (!store_p || !*store_p)
        return;
    xf_store_t *s = *store_p;
    if (s->env)
        mdb_env_close (s->env);
    free (s->dir);
    free (s);
    *store_p = NULL;
}

int xf_store_clear_stale_readers (xf_store_t *store, unsigned *cleared, xf_err_t *err)
{
    /* no environment: a reopen for reads failed, which every read says already */
    int dead = 0, rc = store->env ? mdb_reader_check (store->env, &dead) : 0;
    if (cleared)
        *cleared = rc == 0 && dead > 0 ? (unsigned) dead : 0;
    if (rc != 0)
        return xf_store_lmdb_err (err, rc, "clear stale reader slots", store);
    if (dead > 0)
        atomic_fetch_add (&store->stale_readers, (uint64_t) dead);
    return XF_OK;
}

/* Whether rc says every reader slot is taken and some of them, stale, were just cleared: the
 * read that got rc may begin again. */
static bool freed_stale_slots (xf_store_t *store, int rc)
{
    unsigned cleared = 0;
    return rc == MDB_READERS_FULL && xf_store_clear_stale_readers (store, &cleared, NULL) == XF_OK
           && cleared;
}

uint64_t xf_store_stale_readers_cleared (xf_store_t *store)
{
    return atomic_load (&store->stale_readers);
}

size_t xf_store_map_size (const xf_store_t *store)
{
    return store->map_size;
}

uint64_t xf_store_used_bytes (xf_store_t *store)
{
    MDB_envinfo info;
    MDB_stat st;
    if (mdb_env_info (store->env, &info) != 0 || mdb_env_stat (store->env, &st) != 0)
        return 0;
    return (uint64_t) (info.me_last_pgno + 1) * st.ms_psize;
}

int xf_store_copy_begin (xf_store_t *store, xf_err_t *err)
{
    int expected = 0;
    if (!atomic_compare_exchange_strong (&store->copying, &expected, 1))
        return xf_err_set (err, XF_ESTATE, "a backup is already being copied from store %s",
                           store->dir);
    /* room to write while the copy holds the map where it is */
    if (xf_store_used_bytes (store) * 2 > store->map_size && store->map_size < store->max_map_size) {
        size_t next = store->map_size * 2 > store->max_map_size ? store->max_map_size
                                                                 : store->map_size * 2;
        int rc = mdb_env_set_mapsize (store->env, next);
        if (rc == 0)
            store->map_size = next;
    }
    return XF_OK;
}

int xf_store_copy_fd (xf_store_t *store, int fd, xf_err_t *err)
{
    int rc = mdb_env_copyfd2 (store->env, fd, MDB_CP_COMPACT);
    if (freed_stale_slots (store, rc))
        rc = mdb_env_copyfd2 (store->env, fd, MDB_CP_COMPACT);
    if (rc == EPIPE)
        return xf_err_set (err, XF_EIO, "store %s: copy: the reader went away", store->dir);
    return rc ? xf_store_lmdb_err (err, rc, "copy", store) : XF_OK;
}

void xf_store_copy_end (xf_store_t *store)
{
    atomic_store (&store->copying, 0);
}

int xf_store_file_check (const char *file, xf_store_file_info_t *info, xf_err_t *err)
{
    MDB_env *env = NULL;
    MDB_txn *txn = NULL;
    MDB_envinfo ei;
    MDB_stat st;
    struct stat fst;
    memset (info, 0, sizeof *info);
    int rc = mdb_env_create (&env);
    if (rc == 0 && (rc = mdb_env_set_maxdbs (env, XF_DB_COUNT)) == 0
        && (rc = mdb_env_open (env, file, MDB_NOSUBDIR | MDB_RDONLY | MDB_NOLOCK, 0600)) == 0)
        rc = mdb_txn_begin (env, NULL, MDB_RDONLY, &txn);
    if (rc != 0) {
        rc = xf_err_set (err, XF_ESTORE, "%s: %s%s", file, mdb_strerror (rc),
                         rc == MDB_INVALID ? " (not an LMDB file)" : "");
        goto done;
    }
    mdb_env_info (env, &ei);
    mdb_env_stat (env, &st);
    if (stat (file, &fst) != 0 || (uint64_t) fst.st_size < (uint64_t) (ei.me_last_pgno + 1) * st.ms_psize) {
        rc = xf_err_set (err, XF_ESTORE, "%s is cut short: %lld bytes, and its last page ends at "
                         "%llu", file, (long long) fst.st_size,
                         (unsigned long long) (ei.me_last_pgno + 1) * st.ms_psize);
        goto done;
    }
    info->bytes = (uint64_t) fst.st_size;
    for (int i = 0; i < XF_DB_COUNT; i++) {
        MDB_dbi dbi;
        MDB_stat dst;
        if ((rc = mdb_dbi_open (txn, xf_store_db_names[i], 0, &dbi)) != 0) {
            rc = xf_err_set (err, XF_ESTORE, "%s is not an xfsync store: it has no %s database",
                             file, xf_store_db_names[i]);
            goto done;
        }
        mdb_stat (txn, dbi, &dst);
        info->entries[i] = dst.ms_entries;
        if (i == XF_DB_META) {
            MDB_val k = {6, (void *) "office"}, v;
            if (mdb_get (txn, dbi, &k, &v) == 0)
                snprintf (info->office, sizeof info->office, "%.*s",
                          (int) (v.mv_size < sizeof info->office ? v.mv_size : sizeof info->office - 1),
                          (const char *) v.mv_data);
        }
    }
    rc = XF_OK;
done:
    if (txn)
        mdb_txn_abort (txn);
    if (env)
        mdb_env_close (env);
    return rc;
}

const xf_histogram_t *xf_store_commit_histogram (const xf_store_t *store)
{
    return &store->commit_seconds;
}

/* mdb_txn_commit, timed: the commit is where the fsync happens, the latency an operator feels. */
static int timed_commit (xf_store_t *s, MDB_txn *txn)
{
    struct timespec a, b;
    clock_gettime (CLOCK_MONOTONIC, &a);
    int rc = mdb_txn_commit (txn);
    clock_gettime (CLOCK_MONOTONIC, &b);
    xf_histogram_observe (&s->commit_seconds,
                          (double) (b.tv_sec - a.tv_sec) + (double) (b.tv_nsec - a.tv_nsec) / 1e9);
    return rc;
}

static int grow (xf_store_t *s, xf_err_t *err)
{
    if (s->map_size >= s->max_map_size)
        return xf_err_set (err, XF_ESTORE,
                           "store %s is full: the map has reached its limit of %zu MiB; free disk "
                           "space or raise the limit", s->dir, s->max_map_size >> 20);
    if (atomic_load (&s->copying))
        return xf_err_set (err, XF_ESTATE, "store %s must grow, and cannot while a backup is "
                           "being copied from it: try again once the backup is done", s->dir);
    size_t next = s->map_size * 2 > s->max_map_size ? s->max_map_size : s->map_size * 2;
    int rc = mdb_env_set_mapsize (s->env, next);
    if (rc != 0)
        return xf_store_lmdb_err (err, rc, "grow map", s);
    s->map_size = next;
    return XF_OK;
}

/* A commit that failed (an I/O error, a full disk, a sync that did not complete) leaves the
 * kernel's view of the file uncertain: the store refuses every change from then on, until the
 * node is restarted and LMDB reads the file afresh. Reads go on. */
static int fail_store (xf_store_t *s, int rc, xf_err_t *err)
{
    time_t now = time (NULL);
    struct tm tm;
    char when[32];
    localtime_r (&now, &tm);
    strftime (when, sizeof when, "%Y-%m-%d %H:%M:%S", &tm);
    snprintf (s->failed, sizeof s->failed, "a commit failed at %s (%s): the store refuses "
              "changes until xfsyncd is restarted; check the disk (dmesg, df) first", when,
              mdb_strerror (rc));
    return xf_err_set (err, XF_ESTORE, "store %s: %s", s->dir, s->failed);
}

/* After a failed commit left LMDB in its fatal state (reads refused too), the file is opened
 * again read-only: reads see the last transaction that did commit. */
static int reopen_for_reads (xf_store_t *s, xf_err_t *err)
{
    if (atomic_load (&s->copying))
        return xf_err_set (err, XF_ESTORE, "store %s: %s; a backup copy is running, so reads "
                           "stay refused until xfsyncd is restarted", s->dir, s->failed);
    mdb_env_close (s->env);
    s->env = NULL;
    int rc;
    if ((rc = mdb_env_create (&s->env)) != 0 || (rc = mdb_env_set_maxdbs (s->env, XF_DB_COUNT)) != 0
        || (rc = mdb_env_set_mapsize (s->env, s->map_size)) != 0
        || (rc = mdb_env_open (s->env, s->dir, MDB_NOTLS | MDB_RDONLY, 0600)) != 0)
        return xf_store_lmdb_err (err, rc, "reopen for reads", s);
    return open_dbs (s, true, err);
}

const char *xf_store_failed (const xf_store_t *s)
{
    return s->failed[0] ? s->failed : NULL;
}

int xf_store_write (xf_store_t *s, xf_txn_fn fn, void *arg, xf_err_t *err)
{
    if (s->failed[0])
        return xf_err_set (err, XF_ESTORE, "store %s: %s", s->dir, s->failed);
    xf_txn_cached_t cache[XF_TXN_CACHED];   /* xf_txn.c */
    xf_txn_tail_t tails[XF_DB_COUNT];
    for (int attempt = 0; attempt <= MAX_GROWTHS; attempt++) {
        xf_txn_t t = {.store = s, .cache = cache, .tails = tails};
        for (size_t i = 0; i < XF_TXN_CACHED; i++)
            cache[i].used = false;
        for (size_t i = 0; i < XF_DB_COUNT; i++)
            tails[i].state = XF_TAIL_UNREAD;
        int rc = mdb_txn_begin (s->env, NULL, 0, &t.txn);
        if (rc == MDB_MAP_RESIZED) {   /* another process grew it: adopt its size */
            mdb_env_set_mapsize (s->env, 0);
            rc = mdb_txn_begin (s->env, NULL, 0, &t.txn);
        }
        if (rc == MDB_PANIC)
            return fail_store (s, rc, err);
        if (rc != 0)
            return xf_store_lmdb_err (err, rc, "begin write", s);
        int ret = fn (&t, arg, err);
        if (ret == XF_OK && !t.map_full)
            ret = xf_txn_flush (&t, err);   /* what the cache changed, before the commit */
        if (ret == XF_OK && !t.map_full) {
            rc = timed_commit (s, t.txn);
            if (rc == 0)
                return XF_OK;
            if (rc != MDB_MAP_FULL)
                return fail_store (s, rc, err);
            t.map_full = true;
        } else {
            mdb_txn_abort (t.txn);
        }
        if (!t.map_full)
            return ret;
        if ((ret = grow (s, err)) != XF_OK)
            return ret;
    }
    return xf_err_set (err, XF_ESTORE, "store %s: the map kept filling up while growing", s->dir);
}

int xf_store_read (xf_store_t *s, xf_txn_fn fn, void *arg, xf_err_t *err)
{
    xf_txn_t t = {.store = s};
    int rc = mdb_txn_begin (s->env, NULL, MDB_RDONLY, &t.txn);
    if (rc == MDB_PANIC && s->failed[0]) {
        if ((rc = reopen_for_reads (s, err)) != XF_OK)
            return rc;
        rc = mdb_txn_begin (s->env, NULL, MDB_RDONLY, &t.txn);
    }
    if (rc == MDB_MAP_RESIZED) {
        mdb_env_set_mapsize (s->env, 0);
        rc = mdb_txn_begin (s->env, NULL, MDB_RDONLY, &t.txn);
    }
    if (freed_stale_slots (s, rc))
        rc = mdb_txn_begin (s->env, NULL, MDB_RDONLY, &t.txn);
    if (rc != 0)
        return xf_store_lmdb_err (err, rc, "begin read", s);
    int ret = fn (&t, arg, err);
    mdb_txn_abort (t.txn);
    return ret;
}

void xf_be32_put (uint8_t *p, uint32_t v)
{
    p[0] = v >> 24, p[1] = v >> 16, p[2] = v >> 8, p[3] = v;
}

uint32_t xf_be32_get (const uint8_t *p)
{
    return (uint32_t) p[0] << 24 | (uint32_t) p[1] << 16 | (uint32_t) p[2] << 8 | p[3];
}

void xf_be64_put (uint8_t *p, uint64_t v)
{
    xf_be32_put (p, (uint32_t) (v >> 32));
    xf_be32_put (p + 4, (uint32_t) v);
}

uint64_t xf_be64_get (const uint8_t *p)
{
    return (uint64_t) xf_be32_get (p) << 32 | xf_be32_get (p + 4);
}
