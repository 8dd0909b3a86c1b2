/* xf_conf.h — the node's INI configuration (INTERFACE.md "Configuration"), parsed with libinih.
 *
 * Strict: unknown sections and keys, duplicates, bad values, syntax errors and lines longer
 * than inih's line buffer are all errors. Every error is reported as "FILE:LINE: message";
 * all of them are collected, not just the first, one per line in err->msg. */
#ifndef XF_CONF_H
#define XF_CONF_H

#include <stdbool.h>
#include <stddef.h>
#include "xf_access.h"
#include "xf_err.h"

#define XF_CODE_MAX    13   /* GB/T 2260 codes are 6 digits; room for township codes (12) */
#define XF_KEY_Z85_LEN 40   /* a CURVE key in Z85 */

typedef struct {
    char code[13];
    int base;
} xf_conf_base_t;

typedef struct {
    char code[XF_CODE_MAX];
    char *name;
    char public_key[XF_KEY_Z85_LEN + 1];   /* "" with [trust]: admitted by certificate */
    char *certificate;              /* PEM file of its certificate (else the ones issued here) */
    bool key_given;                 /* public_key was set (perhaps to a bad value) */
    int line;                       /* where its section starts, for later diagnostics */
} xf_conf_child_t;

typedef struct {
    /* [node] */
    char code[XF_CODE_MAX];
    char *name;
    char *data_dir;
    char *control_socket;           /* default: <data_dir>/control.sock */
    char *listen;                   /* NULL on a leaf */
    char *key_file;                 /* default: <data_dir>/node.key */
    char *identity_key_file;        /* the tree's identity key (64 hex digits); NULL: none */
    int store_max_mb;               /* the store grows up to this (MiB); 0: 1 TiB. Full, the
                                     * node refuses new work and keeps serving reads */
    /* [parent] — has_parent false on the root */
    bool has_parent;
    char parent_code[XF_CODE_MAX];
    char *parent_endpoint;
    char parent_public_key[XF_KEY_Z85_LEN + 1];
    /* [child CODE] */
    xf_conf_child_t *children;
    size_t n_children;
    /* [deadlines] calendar days */
    int accept_days, handle_days, max_extension_days, urge_before_days, urge_every_days;
    /* [report] */
    char **required_items;
    size_t n_required_items;
    /* [debug] */
    bool clock_control;
    int link_version;               /* newest link version to speak (0: the newest built in) */
    /* [links] */
    int outbox_limit;               /* envelopes waiting for one peer before new work is refused */
    int window;                     /* envelopes on the wire past the peer's acknowledgement */
    int keep_acked_days;            /* days acknowledged envelopes are kept, for a restored peer */
    int reconcile_seconds;          /* 对账: how often digests go to the offices cases are shared with */
    /* [stats] */
    int pull_seconds;               /* stats --consolidated: how long the children have to answer */
    /* [score] 目标管理 (seed 002): points, a 立案基数 per office (filed_bases, else filed_base),
     * points per filed case above it, points off per 5 points of on-time rate below target
     * (percent), points off per overdue case */
    int score_points, score_filed_base, score_per_filed_above, score_on_time_target,
        score_per_5_points_below, score_per_overdue;
    xf_conf_base_t *score_filed_bases;
    size_t n_score_filed_bases;
    /* [trust] end-to-end: certificates, signed envelopes (lib/xf_trust.h); has_trust false
     * without the section (envelopes then go unsigned and unsigned ones are accepted) */
    bool has_trust;
    char *trust_anchor;             /* the root office's certificate (PEM), pinned */
    char *trust_certificate;        /* this office's chain; default <data_dir>/node.crt */
    char *trust_signing_key;        /* default <data_dir>/sign.key */
    int trust_profile;              /* xf_profile_t: standard (default) or national */
    char *trust_retired_keys;       /* earlier keys, comma-separated files (after a rotation):
                                     * node.key files (standard) or sign.key files (national),
                                     * still tried to open identities sealed to them */
    /* [roles] operators given each role (xf_access.h); has_roles false without the section
     * (every operator is then an admin) */
    bool has_roles;
    char *role_members[XF_ROLE_COUNT];
    /* [recusal] cases = CASE_ID:OPERATOR, … (回避) */
    char *recusals;
    /* [metrics] listen: HOST:PORT of the HTTP exposition for Prometheus; NULL: off */
    char *metrics_listen;
    /* where it came from, for messages */
    char *path;
} xf_conf_t;

/* Parses FILE. On success returns a config the caller frees with xf_conf_destroy.
 * On failure returns NULL and err->msg holds every error, "FILE:LINE: message" per line
 * (joined with '\n'; the first one is always complete even if the buffer is short). */
xf_conf_t *xf_conf_load (const char *path, xf_err_t *err);

/* Same, from a string; `name` stands in for the file name in messages. */
xf_conf_t *xf_conf_parse (const char *text, const char *name, xf_err_t *err);

/* A config with every default and no file, for tests and tools. */
xf_conf_t *xf_conf_new_defaults (void);

void xf_conf_destroy (xf_conf_t **conf_p);

/* The child with this code, or NULL. */
const xf_conf_child_t *xf_conf_child (const xf_conf_t *conf, const char *code);

/* True when s is a valid office code: 6 digits (GB/T 2260), or 9/12 for township nodes. */
bool xf_conf_code_valid (const char *s);

#endif
