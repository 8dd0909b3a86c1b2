/* xf_store_int.h — what xf_store.c (the environment, write and read transactions) and xf_txn.c
 * (the operations inside a transaction, and its cache of small values) share. Not for other
 * modules: they see xf_store.h only. */
#ifndef XF_STORE_INT_H
#define XF_STORE_INT_H

#include <lmdb.h>
#include <stdatomic.h>
#include <stdbool.h>
#include "xf_metrics.h"
#include "xf_store.h"

struct xf_store {
    MDB_env *env;
    MDB_dbi dbi[XF_DB_COUNT];
    size_t map_size, max_map_size;
    char *dir;
    char failed[300];   /* why the store refuses changes since a commit failed ("": it does not) */
    xf_histogram_t commit_seconds;   /* every write commit, fsync included (metrics) */
    atomic_int copying;   /* a copy runs in another thread: the map must not move */
    atomic_uint_least64_t stale_readers;   /* reader slots of exited processes cleared */
};

/* A small value of meta, stats or digest read in a write transaction, kept in memory (xf_txn.c). */
#define XF_TXN_CACHED     32     /* values kept at once */
#define XF_TXN_CACHED_KEY 48     /* longest key kept, bytes */
#define XF_TXN_CACHED_VAL 512    /* longest value kept: a statistics bucket is 336 bytes */

typedef struct {
    bool used, dirty, absent;    /* absent: LMDB has no such key (and none was put since) */
    xf_db_t db;
    uint8_t klen;
    uint16_t vlen;
    uint8_t key[XF_TXN_CACHED_KEY];
    uint8_t val[XF_TXN_CACHED_VAL];
} xf_txn_cached_t;

/* The last key of a database as a write transaction knows it (xf_txn.c): a put of a key that
 * sorts after it is appended, any other is put the ordinary way at once. Never below the real
 * last key (a delete only lowers that), so an append it allows cannot be refused. */
#define XF_TXN_TAIL_KEY 64

typedef enum {
    XF_TAIL_UNREAD = 0,   /* not looked up yet in this transaction */
    XF_TAIL_KNOWN,        /* key[0..len) */
    XF_TAIL_EMPTY,        /* the database has no key: any key is appended */
    XF_TAIL_UNTRACKED     /* a last key longer than XF_TXN_TAIL_KEY: try MDB_APPEND each time */
} xf_txn_tail_state_t;

typedef struct {
    uint8_t state;   /* xf_txn_tail_state_t */
    uint8_t len;
    uint8_t key[XF_TXN_TAIL_KEY];
} xf_txn_tail_t;

struct xf_txn {
    xf_store_t *store;
    MDB_txn *txn;
    bool map_full;   /* sticky: a put hit MDB_MAP_FULL, the whole callback is retried */
    xf_txn_cached_t *cache;   /* write transactions only: XF_TXN_CACHED slots; NULL in reads */
    xf_txn_tail_t *tails;     /* write transactions only: one per database; NULL in reads */
};

extern const char *const xf_store_db_names[XF_DB_COUNT];

/* err = "store DIR: what: LMDB's reason", with a hint for a file that is not a store. */
int xf_store_lmdb_err (xf_err_t *err, int rc, const char *what, const xf_store_t *s);

/* Writes what the transaction's cache holds changed to LMDB (before the commit). */
int xf_txn_flush (xf_txn_t *t, xf_err_t *err);

#endif
