/* xf_case_json.h — a case and its events as the JSON of INTERFACE.md (`case show`,
 * `case history`), and a registration read from that JSON (`case register`, `case import`). */
#ifndef XF_CASE_JSON_H
#define XF_CASE_JSON_H

#include <jansson.h>
#include "xf_case.h"

/* The `case show` object. today decides the dynamic "overdue" flag. Caller owns the result. */
json_t *xf_case_to_json (const xf_case_t *c, xf_day_t today);

/* Reads registration fields from a `case show`-shaped object into c (a fresh xf_case_new()).
 * Keys the office assigns itself (id, status, owner, dates other than received, …) are
 * ignored so that a `case show` document can be imported; any other unknown key, a wrong
 * type or a bad value is an error naming the key. A missing "received" means today. */
int xf_case_from_json (const json_t *obj, xf_case_t *c, xf_day_t today, xf_err_t *err);

/* One `case history` entry: {"seq","at","office","operator_uid","type",…body fields}. */
json_t *xf_event_to_json (const Xf__CaseEvent *ev);

/* The event type name: "register", "accept", … */
const char *xf_event_type (const Xf__CaseEvent *ev);

#endif
