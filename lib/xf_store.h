/* xf_store.h — the node's LMDB environment: the only code that talks to LMDB.
 *
 * One environment per node, one named database per purpose (DESIGN §4). Every change is
 * one write transaction run through xf_store_write: the callback does all its reads and
 * writes on the transaction, and either everything commits or nothing does. When LMDB
 * reports the map full, the transaction is aborted, the map grown and the callback run
 * again from the start — so a callback must not change anything outside the transaction
 * before it returns (results go into its argument, reset on entry). A commit that fails
 * otherwise (I/O) makes every later write fail too (xf_store_failed), until the store is
 * opened again. */
#ifndef XF_STORE_H
#define XF_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "xf_err.h"
#include "xf_metrics.h"

#define XF_SCHEMA_VERSION 1

typedef enum {
    XF_DB_META,        /* "schema", sequences, clock offset */
    XF_DB_CASES,       /* case id → packed xf.Case */
    XF_DB_EVENTS,      /* case id + be32 seq → packed xf.CaseEvent */
    XF_DB_DUE,         /* be32 due day + case id → stage byte (deadline scanner) */
    XF_DB_PETITIONER,  /* identity hash + case id → "" (repeat detection) */
    XF_DB_QUERY,       /* query code → case id */
    XF_DB_STATUS,      /* status byte + case id → "" (lists by status) */
    XF_DB_OUTBOX,      /* peer + be64 seq → packed envelope */
    XF_DB_LINKS,       /* peer → positions */
    XF_DB_STATS,       /* level (D/M/Y) + be32 first day → XF_ST_COUNT be64 counters */
    XF_DB_SNAPSHOTS,   /* child + period → packed stats snapshot */
    XF_DB_AUDIT,       /* be64 seq → hash-chained record */
    XF_DB_URGE,        /* be32 next urge day + case id → "" (a supervisor's 催办 schedule) */
    XF_DB_SHARE,       /* be32 month + case id → what the case counts for in XF_DB_DIGEST */
    XF_DB_DIGEST,      /* office + NUL + be32 month → count and hash of the cases shared with it */
    XF_DB_COUNT
} xf_db_t;

typedef struct xf_store xf_store_t;
typedef struct xf_txn xf_txn_t;

typedef struct {
    size_t map_size;      /* initial map size in bytes; 0 = 64 MiB */
    size_t max_map_size;  /* growth stops here (XF_ESTORE "store is full"); 0 = 1 TiB */
    bool no_sync;         /* benchmarks only: skip fsync at commit */
} xf_store_opts_t;

/* Opens (creating if needed) the store in directory dir, which must exist.
 * Refuses a store written by a newer schema with XF_EVERSION. */
xf_store_t *xf_store_open (const char *dir, const xf_store_opts_t *opts, xf_err_t *err);
void        xf_store_close (xf_store_t **store_p);

size_t xf_store_map_size (const xf_store_t *store);
/* How long each write transaction's commit took (fsync included) since the store was opened;
 * borrowed while the store lives. */
const xf_histogram_t *xf_store_commit_histogram (const xf_store_t *store);
/* Why the store refuses changes (a commit failed: it does until the node restarts), or NULL. */
const char *xf_store_failed (const xf_store_t *store);

/* Clears the reader slots of processes that exited while reading the store (a killed mdb_dump
 * or mdb_stat: LMDB frees a slot only when its process closes the store). A stale slot keeps
 * the pages of its old snapshot from being reused, so the file grows with every commit, and
 * once every slot is taken no read can begin. Done when the store opens, when a read finds
 * every slot taken, and whenever this is called; *cleared (may be NULL): how many this call
 * cleared. */
int xf_store_clear_stale_readers (xf_store_t *store, unsigned *cleared, xf_err_t *err);
/* Stale reader slots cleared since the store was opened, the opening included. */
uint64_t xf_store_stale_readers_cleared (xf_store_t *store);

/* Bytes of the pages in use: about what a copy writes, at most. */
uint64_t xf_store_used_bytes (xf_store_t *store);
/* A backup: copy_begin (in the thread that writes; grows the map first when it is more than
 * half used, since it cannot move while the copy runs: a write that needs more is refused
 * until copy_end), then copy_fd in any thread — a consistent, compacted copy of the whole store
 * (mdb_env_copyfd2) written to fd while the store is read and written — then copy_end. */
int  xf_store_copy_begin (xf_store_t *store, xf_err_t *err);
int  xf_store_copy_fd (xf_store_t *store, int fd, xf_err_t *err);
void xf_store_copy_end (xf_store_t *store);

/* What a copy of a store (one file, e.g. a backup) holds, checked without a lock or a write:
 * every database present, the file not cut short. */
typedef struct {
    uint64_t bytes;
    size_t entries[XF_DB_COUNT];
    char office[16];   /* the office the store belongs to ("" if none claimed it yet) */
} xf_store_file_info_t;
int xf_store_file_check (const char *file, xf_store_file_info_t *info, xf_err_t *err);

typedef int (*xf_txn_fn) (xf_txn_t *txn, void *arg, xf_err_t *err);

/* Runs fn in one write transaction and commits it; any error from fn aborts everything.
 * Retries from the start after growing the map when LMDB reports it full. */
int xf_store_write (xf_store_t *store, xf_txn_fn fn, void *arg, xf_err_t *err);
/* Runs fn in a read-only snapshot. */
int xf_store_read (xf_store_t *store, xf_txn_fn fn, void *arg, xf_err_t *err);

/* One put, in a write transaction of its own. */
int xf_store_put (xf_store_t *store, xf_db_t db, const void *key, size_t klen, const void *val,
                  size_t vlen, xf_err_t *err);

/* Inside a transaction. Values returned by get/scan point into the map and are valid only
 * until the transaction ends. get returns XF_ENOTFOUND (err untouched) when absent. */
int xf_txn_get (xf_txn_t *txn, xf_db_t db, const void *key, size_t klen,
                const void **val, size_t *vlen, xf_err_t *err);
int xf_txn_put (xf_txn_t *txn, xf_db_t db, const void *key, size_t klen,
                const void *val, size_t vlen, xf_err_t *err);
/* Like put, but XF_EEXIST when the key is present. */
int xf_txn_insert (xf_txn_t *txn, xf_db_t db, const void *key, size_t klen,
                   const void *val, size_t vlen, xf_err_t *err);
/* XF_ENOTFOUND when absent. */
int xf_txn_del (xf_txn_t *txn, xf_db_t db, const void *key, size_t klen, xf_err_t *err);

/* Calls fn for each entry with key >= start (start NULL: from the first), in key order,
 * while it returns 0. fn returns 1 to stop early, or a negative XF_E* to fail the scan. */
typedef int (*xf_scan_fn) (const void *key, size_t klen, const void *val, size_t vlen, void *arg);
int xf_txn_scan (xf_txn_t *txn, xf_db_t db, const void *start, size_t slen,
                 xf_scan_fn fn, void *arg, xf_err_t *err);
/* The same for the entries whose key starts with prefix (fn never sees another). */
int xf_txn_scan_prefix (xf_txn_t *txn, xf_db_t db, const void *prefix, size_t plen,
                        xf_scan_fn fn, void *arg, xf_err_t *err);
/* Same, backwards from the last key <= start (start NULL: from the last). */
int xf_txn_scan_back (xf_txn_t *txn, xf_db_t db, const void *start, size_t slen,
                      xf_scan_fn fn, void *arg, xf_err_t *err);

/* Convenience on XF_DB_META: u64 counters by name (absent = 0). */
int xf_txn_meta_u64 (xf_txn_t *txn, const char *name, uint64_t *out, xf_err_t *err);
int xf_txn_meta_set_u64 (xf_txn_t *txn, const char *name, uint64_t v, xf_err_t *err);

/* Empties a database (the database itself stays). */
int xf_txn_clear (xf_txn_t *txn, xf_db_t db, xf_err_t *err);

/* Number of entries in a database. */
int xf_txn_count (xf_txn_t *txn, xf_db_t db, size_t *out, xf_err_t *err);

/* Big-endian helpers for sortable keys. */
void     xf_be32_put (uint8_t *p, uint32_t v);
uint32_t xf_be32_get (const uint8_t *p);
void     xf_be64_put (uint8_t *p, uint64_t v);
uint64_t xf_be64_get (const uint8_t *p);

#endif
