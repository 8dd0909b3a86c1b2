/* xf_case.h — the rules of a case: vocabulary, validation, the state machine and deadlines.
 *
 * A case is the protobuf record xf.Case (proto/xfsync.proto), so the same struct is stored,
 * replicated and checked. Strings in it are malloc'd (protobuf-c's default allocator), so
 * xf_case_destroy frees a case whether it was unpacked or built here; set strings only with
 * xf_case_set. Nothing here touches the store: these functions decide and mutate the struct,
 * and the caller (xf_office) writes the result in one transaction. */
#ifndef XF_CASE_H
#define XF_CASE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "xf_err.h"
#include "xf_time.h"
#include "xfsync.pb-c.h"

typedef Xf__Case xf_case_t;

#define XF_CASE_ID_MAX      32
#define XF_SUMMARY_MAX      8192   /* bytes of UTF-8 */
#define XF_TEXT_MAX         4096   /* reasons, notes, replies */
#define XF_GROUP_HEADCOUNT  5      /* 集体访: five or more people */
#define XF_GROUP_REPRESENTATIVES 5 /* … who choose at most five representatives */
#define XF_SUBJECTS         8      /* 受理范围, seed 001 四 */

#define XF_URGES_ONSITE     3      /* the third urge asks for on-site supervision (坐催) */

/* The [deadlines] and [report] of the configuration. required_items is borrowed. */
typedef struct {
    int accept_days, handle_days, max_extension_days;
    int urge_before_days, urge_every_days;   /* 0: 7 */
    const char *const *required_items;
    size_t n_required_items;
} xf_limits_t;

xf_case_t *xf_case_new (void);
void       xf_case_destroy (xf_case_t **c_p);
xf_case_t *xf_case_unpack (const void *buf, size_t len, xf_err_t *err);
uint8_t   *xf_case_pack (const xf_case_t *c, size_t *len);     /* caller frees */
xf_case_t *xf_case_copy (const xf_case_t *c);
/* A case decoded only to be read (the case before a move): all of it in one arena
 * (xf_arena.h), a fraction of the allocations of xf_case_unpack. Nothing in it may be freed
 * or replaced; free it with xf_case_view_destroy, never xf_case_destroy. */
xf_case_t *xf_case_unpack_view (const void *buf, size_t len, xf_err_t *err);
void       xf_case_view_destroy (xf_case_t **c_p);

/* Replaces a string field (frees the old one). value NULL means empty. 0 or XF_ENOMEM. */
int xf_case_set (char **field, const char *value);
/* Appends a copy of s to a repeated string field. 0 or XF_ENOMEM. */
int xf_case_push (char ***list, size_t *n, const char *s);

/* Vocabulary: names as in INTERFACE.md; parse returns 0 for an unknown name. */
const char *xf_channel_name (int v);
int         xf_channel_parse (const char *s);
const char *xf_category_name (int v);
int         xf_category_parse (const char *s);
const char *xf_rank_name (int v);
int         xf_rank_parse (const char *s);
const char *xf_status_name (int v);
int         xf_status_parse (const char *s);

/* GB 11643 resident identity number: 18 characters with a valid check digit, or the
 * old 15-digit form. */
bool xf_id_number_valid (const char *s);

/* XF_EINVAL unless s (named `what` in the message) fits in max bytes, and is given when
 * required. */
int xf_case_check_text (const char *what, const char *s, size_t max, bool required, xf_err_t *err);

/* Checks the registration fields of a new case (channel, category, summary, dates,
 * identity, headcount, subject, accused) against today. Names the field at fault. */
int xf_case_check_new (const xf_case_t *c, xf_day_t today, xf_err_t *err);

/* Fills in what registration decides: id, origin = owner = office, status, dates, flags. */
int xf_case_register (xf_case_t *c, const char *id, const char *office, xf_day_t today,
                      const xf_limits_t *lim, xf_err_t *err);

/* XF_EPERM unless office owns c; the message names the owner. */
int xf_case_check_owner (const xf_case_t *c, const char *office, const char *action, xf_err_t *err);

/* Transitions. Each checks ownership and state first and leaves c unchanged on refusal.
 * A decision taken after its stage's deadline sets the "late" flag; every decision clears
 * "overdue", which means "the current stage's deadline has passed" (set by the scan). */
int xf_case_accept (xf_case_t *c, const char *office, xf_day_t today, bool file,
                    const xf_limits_t *lim, xf_err_t *err);
int xf_case_reject (xf_case_t *c, const char *office, xf_day_t today, const char *reason,
                    xf_err_t *err);
int xf_case_extend (xf_case_t *c, const char *office, xf_day_t today, int days,
                    const char *reason, const xf_limits_t *lim, xf_err_t *err);
int xf_case_close (xf_case_t *c, const char *office, xf_day_t today, const char *reply,
                   xf_err_t *err);

/* ---------------------------------------------------------------- moves (xf_case_flow.c) */

typedef enum {
    XF_MOVE_ESCALATE,    /* 上报, up */
    XF_MOVE_ASSIGN,      /* 交办, down; a result is owed to the assigning office */
    XF_MOVE_TRANSFER,    /* 转办, to the office responsible */
    XF_MOVE_REPORT,      /* 结案报告, to the office owed the result */
    XF_MOVE_SEND_BACK,   /* 退回重办, back to the handler */
} xf_move_t;

const char *xf_move_name (xf_move_t kind);
/* What the text of a move is: "note", "result" (report) or "reason" (send back). */
const char *xf_move_text (xf_move_t kind);
/* The office an assigned case is with (owes the result), or NULL. */
const char *xf_case_handler (const xf_case_t *c);
/* Adds office to the offices holding a replica (once). 0 or XF_ENOMEM. */
int  xf_case_watch (xf_case_t *c, const char *office);
bool xf_case_watched_by (const xf_case_t *c, const char *office);

/* Whether `office` may make this move now (owner, status, 交办 chain); names what applies. */
int xf_case_check_move (const xf_case_t *c, const char *office, xf_move_t kind, xf_err_t *err);
/* Makes the move: the new owner (`to` for escalate, assign and transfer; the chain decides for
 * report and send back), its status and deadlines, and the offices that hold replicas. */
int xf_case_move (xf_case_t *c, const char *office, xf_move_t kind, const char *to,
                  xf_day_t today, const xf_limits_t *lim, xf_err_t *err);
/* XF_EINVAL naming every required item missing from items. */
int xf_case_check_items (char *const *items, size_t n, const char *const *required, size_t n_req,
                         xf_err_t *err);
/* Whether two names denote the same unit (spaces and the 中共 prefix aside). */
bool xf_unit_same (const char *a, const char *b);
/* XF_EPERM when c is an accusation against to_unit, the unit of office `to`, or against
 * anyone when to_unit is unknown (NULL): accusation materials never go to the accused. */
int xf_case_check_conflict (const xf_case_t *c, const char *to, const char *to_unit, xf_err_t *err);
/* The owner records an urge from office `by`: counted, and 坐催 from the third. */
int xf_case_record_urge (xf_case_t *c, const char *office, const char *by, xf_err_t *err);

/* ---------------------------------------------------------------- review (xf_case_review.c) */

#define XF_REVIEW_LEVELS      2    /* 复查, then 复核; after that the matter is final */
#define XF_REVIEW_ASK_DAYS    30   /* a review is asked within 30 days of the reply */
#define XF_REVIEW_DECIDE_DAYS 30   /* … and decided within 30 days */

/* "复查 (review)" for level 1, "复核 (re-examination)" for 2. */
const char *xf_review_name (unsigned level);
/* Whether office `by` (by_is_parent: it is directly above the owner, who gave the reply) may
 * take c for its next review today; names the date or office that applies. */
int xf_case_check_review (const xf_case_t *c, const char *by, bool by_is_parent, xf_day_t today,
                          xf_err_t *err);
/* The review starts: `by` owns the case, in progress, to decide within XF_REVIEW_DECIDE_DAYS. */
int xf_case_review (xf_case_t *c, const char *by, bool by_is_parent, xf_day_t today, xf_err_t *err);
/* Whether a new petition c is on the matter of the earlier case: same category and, where
 * both say, the same subject. The operator says otherwise with new_matter. */
bool xf_case_same_matter (const xf_case_t *earlier, const xf_case_t *c);

/* The deadline of the case's current stage (accept_due while registered, handle_due while
 * in progress), or 0 when it has none. */
xf_day_t xf_case_due (const xf_case_t *c);
/* Registered or in progress: someone still has to act on it. */
bool     xf_case_is_open (const xf_case_t *c);
/* True once today is past the stage's deadline. */
bool     xf_case_is_overdue (const xf_case_t *c, xf_day_t today);

/* The case id for sequence seq of year at office: "411324-2026-000001". */
int xf_case_format_id (char out[XF_CASE_ID_MAX], const char *office, int year, uint64_t seq,
                       xf_err_t *err);

#endif
