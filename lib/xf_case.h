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
#define XF_SUBJECTS         8      /* 受理范围, seed 001 四 */

typedef struct {
    int accept_days, handle_days, max_extension_days;
} xf_limits_t;

xf_case_t *xf_case_new (void);
void       xf_case_destroy (xf_case_t **c_p);
xf_case_t *xf_case_unpack (const void *buf, size_t len, xf_err_t *err);
uint8_t   *xf_case_pack (const xf_case_t *c, size_t *len);     /* caller frees */
xf_case_t *xf_case_copy (const xf_case_t *c);

/* Replaces a string field (frees the old one). value NULL means empty. 0 or XF_ENOMEM. */
int xf_case_set (char **field, const char *value);

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

/* The deadline of the case's current stage (accept_due while registered, handle_due while
 * in progress), or 0 when it has none. */
xf_day_t xf_case_due (const xf_case_t *c);
/* True once today is past the stage's deadline. */
bool     xf_case_is_overdue (const xf_case_t *c, xf_day_t today);

/* The case id for sequence seq of year at office: "411324-2026-000001". */
int xf_case_format_id (char out[XF_CASE_ID_MAX], const char *office, int year, uint64_t seq,
                       xf_err_t *err);

#endif
