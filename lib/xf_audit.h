/* xf_audit.h — the tamper-evident audit log: every operator action and every applied message,
 * one hash-chained record each, appended inside the transaction that made the change and
 * verifiable offline.
 *
 * Records live in XF_DB_AUDIT: key = be64 seq (from 1), value = 32-byte hash || record text.
 * The text is compact JSON with sorted keys:
 *
 *   {"action":"case.register","at":"2026-11-22T09:30:00+08:00","case":"411324-2026-000001",
 *    "detail":null,"office":"411324","prev":"<64 hex>","role":"clerk","seq":1,
 *    "time":1795311000,"uid":1001}
 *
 * "time" is unix seconds on the node clock, "at" the same instant in China Standard Time, "case" and
 * "detail" are null when there are none, "prev" is the hex hash of the record before (64 zeros
 * for seq 1). hash = xf_hash (profile, prev hash bytes || text): SHA-256 under the standard
 * profile, SM3 under the national one. The chain head (be64 last seq || its hash) is kept in
 * XF_DB_META under "audit/head", so appending reads one key and writes two.
 *
 * A chain shows any change to a record, a gap, a reordering, and a cut at the end (the head
 * no longer matches). It cannot show a rewrite of the whole tail together with the head by
 * someone who can write the store: compare xf_audit_verify's head with one kept elsewhere. */
#ifndef XF_AUDIT_H
#define XF_AUDIT_H

#include <jansson.h>
#include <stdint.h>
#include "xf_crypto.h"
#include "xf_err.h"
#include "xf_store.h"

#define XF_AUDIT_HEAD_KEY   "audit/head"
#define XF_AUDIT_OFFICE_MAX 32      /* bytes */
#define XF_AUDIT_ACTION_MAX 64
#define XF_AUDIT_CASE_MAX   64
#define XF_AUDIT_DETAIL_MAX 2000

typedef struct {
    int64_t time;          /* unix seconds (node clock), 0 .. 9999-12-31 */
    const char *office;    /* office code, e.g. "411324"; required */
    int64_t uid;           /* operator uid; -1 for the node itself (applied messages, scanner) */
    const char *role;      /* "viewer","clerk","leader","admin", or "node"; may be "" or NULL */
    const char *action;    /* e.g. "case.register", "apply escalate", "cert.issue"; required */
    const char *case_id;   /* "" or NULL when none */
    const char *detail;    /* free text (UTF-8), "" or NULL */
} xf_audit_entry_t;

/* Appends one record inside the caller's write transaction; *seq (may be NULL) gets its seq.
 * Refuses with XF_EINVAL, naming the field, an entry without office or action, a field that
 * is too long, has control characters (detail may hold newlines and tabs) or is not UTF-8, an
 * unknown role, a uid below -1 or a time out of range — before writing anything. XF_ESTATE
 * when the record's seq is already taken (the head in meta is behind the log: run
 * xf_audit_verify); XF_ESTORE when the head is damaged or the store fails. On any error the
 * caller aborts the transaction. */
int xf_audit_append (xf_txn_t *txn, xf_profile_t p, const xf_audit_entry_t *e, uint64_t *seq,
                     xf_err_t *err);

typedef struct {
    uint64_t records;      /* records checked that hold, from seq 1 up to the first break */
    uint64_t first_bad;    /* 0 when the chain holds, else the seq of the first broken record */
    char reason[256];      /* why that record is broken, e.g. "its hash does not match its
                              text", "its prev does not match record 4's hash", "seq 3 is
                              missing", "its text is not a record (...)", "the head in meta
                              does not match the last record" */
    uint8_t head[XF_HASH_LEN];  /* hash of the last record that holds (zeros when none) */
    uint64_t last_seq;          /* its seq (0 when none) */
} xf_audit_report_t;

/* Walks the whole chain from seq 1 and compares its end with the head in meta. XF_OK with
 * *out filled whether or not the chain holds (a broken chain is a finding, not an error);
 * errors only for the store failing. A chain written under one profile does not hold under
 * the other (the reason says so). */
int xf_audit_verify (xf_txn_t *txn, xf_profile_t p, xf_audit_report_t *out, xf_err_t *err);

typedef struct {
    const char *case_id;        /* NULL or "": any */
    int64_t uid;                /* -2: any */
    int64_t from, to;           /* unix seconds, inclusive; 0: unbounded */
    const char *action_prefix;  /* NULL or "": any */
    size_t limit;               /* 0: no limit; the newest `limit` matches when set */
} xf_audit_filter_t;

/* Appends to out (a JSON array, the caller's) one object per matching record, oldest first:
 * the parsed record plus "hash" (hex). f NULL: every record. XF_EINVAL when from is after to;
 * XF_ESTORE, naming the seq, for a record that is not a record (xf_audit_verify tells where
 * the log breaks); on error out holds nothing new. */
int xf_audit_show (xf_txn_t *txn, const xf_audit_filter_t *f, json_t *out, xf_err_t *err);

#endif
