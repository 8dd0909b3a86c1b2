/* xf_case_review.c — the review chain (三级终结, 信访条例 第三十四、三十五条): within 30 days of
 * the reply the petitioner may ask the office above the one that decided for 复查; within 30
 * days of that decision, the office above that one for 复核; each is decided within 30 days,
 * and after 复核 the matter is final (终结). Only the rules and the record: xf_office_review.c
 * carries the request to the owner and the case to the reviewing office. */
#include "xf_case.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *xf_review_name (unsigned level)
{
    return level == 1 ? "复查 (review)" : level == 2 ? "复核 (re-examination)" : "review";
}

int xf_case_check_review (const xf_case_t *c, const char *by, bool by_is_parent, xf_day_t today,
                          xf_err_t *err)
{
    char closed[11], last[11], asked[11];
    if ((c->flags & XF__CASE_FLAG__FLAG_FINAL) || c->review_level >= XF_REVIEW_LEVELS) {
        xf_day_format (c->closed, closed);
        return xf_err_set (err, XF_ESTATE, "case %s is final (终结): office %s decided its 复核 on "
                           "%s, and there is no further review", c->id, c->owner, closed);
    }
    if (c->status != XF__STATUS__CLOSED)
        return xf_err_set (err, XF_ESTATE, "case %s is %s: a review is asked after the reply "
                           "(办结), and it has none yet", c->id, xf_status_name (c->status));
    if (strcmp (by, c->owner) == 0 || !by_is_parent)
        return xf_err_set (err, XF_EPERM, "the %s of case %s is asked at the office directly above "
                           "office %s, which gave the reply, not at office %s",
                           xf_review_name (c->review_level + 1), c->id, c->owner, by);
    if (today > c->closed + XF_REVIEW_ASK_DAYS) {
        xf_day_format (c->closed, closed);
        xf_day_format (c->closed + XF_REVIEW_ASK_DAYS, last);
        xf_day_format (today, asked);
        return xf_err_set (err, XF_ESTATE, "the reply of case %s was given on %s: a %s had to be "
                           "asked within %d days, by %s, and it is %s", c->id, closed,
                           xf_review_name (c->review_level + 1), XF_REVIEW_ASK_DAYS, last, asked);
    }
    return XF_OK;
}

static void clear_list (char ***list, size_t *n)
{
    for (size_t i = 0; i < *n; i++)
        free ((*list)[i]);
    free (*list);
    *list = NULL;
    *n = 0;
}

int xf_case_review (xf_case_t *c, const char *by, bool by_is_parent, xf_day_t today, xf_err_t *err)
{
    int rc = xf_case_check_review (c, by, by_is_parent, today, err);
    if (rc != XF_OK)
        return rc;
    if (xf_case_set (&c->owner, by) || xf_case_set (&c->reply, NULL) || xf_case_set (&c->supervisor, NULL)
        || xf_case_watch (c, by))
        return xf_err_set (err, XF_ENOMEM, "out of memory");
    /* the reviewing office decides afresh: what was owed and pressed on was the handling's */
    clear_list (&c->assigned_by, &c->n_assigned_by);
    clear_list (&c->assigned_to, &c->n_assigned_to);
    c->review_level++;
    c->status = XF__STATUS__IN_PROGRESS;
    c->decided = today;
    c->handle_due = today + XF_REVIEW_DECIDE_DAYS;
    c->closed = 0;
    c->extension_days = 0;
    c->urges = 0;
    c->flags &= ~(uint32_t) (XF__CASE_FLAG__FLAG_EXTENDED | XF__CASE_FLAG__FLAG_OVERDUE
                             | XF__CASE_FLAG__FLAG_LATE | XF__CASE_FLAG__FLAG_ONSITE);
    return XF_OK;
}

bool xf_case_same_matter (const xf_case_t *earlier, const xf_case_t *c)
{
    return earlier->category == c->category
           && (!earlier->subject || !c->subject || earlier->subject == c->subject);
}
