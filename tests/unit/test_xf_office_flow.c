/* test_xf_office_flow.c — the case workflow between offices (lib/xf_office_move.c,
 * xf_office_replica.c, xf_office_urge.c, xf_case_flow.c) with four real stores in one
 * process: province 410000 → city 411300 → counties 411324 (镇平) and 411326 (淅川).
 * settle() carries every outbox to its peer until the network is quiet, as the links would,
 * so each path runs without sockets: 交办 and its report, send-back and close; a 交办 chain
 * through the city; 转办 sideways between counties; refusals of non-owners, of reports
 * without the 七有, of moves the wrong way; automatic urges, once per interval, 坐催 after
 * the third, none after close; an urge reaching an office the case has left; a move that
 * comes back restoring the case exactly; and every office's replica agreeing. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "xf_case_json.h"
#include "xf_office_int.h"   /* xf_office_send, to forge what a faulty office might send */
#include "xf_test_offices.h"

#define PROV "410000"
#define CITY "411300"
#define ZP "411324"
#define XC "411326"
#define N_OFFICES 4

static const char *const ITEMS[] = {"investigation", "instruction", "letter", "original",
                                    "evidence", "petitioner_opinion", "review_opinion"};
static const xf_limits_t LIM = {.accept_days = 15, .handle_days = 60, .max_extension_days = 30,
                                .urge_before_days = 7, .urge_every_days = 7,
                                .required_items = ITEMS, .n_required_items = 7};

typedef xf_test_office_t office_t;

typedef struct {
    office_t o[N_OFFICES];   /* prov, city, zp, xc */
    xf_actor_t who;
    size_t refused, refusals, answered;   /* over every settle() */
} fx_t;

static office_t *at (fx_t *fx, const char *code)
{
    return xf_test_at (fx->o, N_OFFICES, code);
}

static void assert_has (const char *text, const char *phrase)
{
    if (!strstr (text, phrase))
        fail_msg ("\"%s\" does not mention \"%s\"", text, phrase);
}

/* ---------------------------------------------------------------- fixture */

static int setup (void **state)
{
    fx_t *fx = calloc (1, sizeof *fx);
    if (!fx || xf_test_tree_open (fx->o, &LIM, "test_xf_office_flow"))
        return -1;
    fx->who.uid = 1000;
    fx->who.now = xf_day_start (xf_day_from_ymd (2026, 11, 2)) + 9 * 3600;
    *state = fx;
    return 0;
}

static int teardown (void **state)
{
    fx_t *fx = *state;
    xf_test_tree_close (fx->o);
    free (fx);
    return 0;
}

/* ---------------------------------------------------------------- carrying envelopes */

static void carry (fx_t *fx, office_t *from, office_t *to)
{
    xf_test_tally_t t = {0, 0, 0};
    xf_test_carry (from, to, fx->who.now, &t);
    fx->refused += t.refused;
    fx->refusals += t.refusals;
    fx->answered += t.answered;
}

/* Carries everything on every link until nothing moves. */
static void settle (fx_t *fx)
{
    xf_test_tally_t t = {0, 0, 0};
    xf_test_settle (fx->o, N_OFFICES, fx->who.now, &t);
    fx->refused += t.refused;
    fx->refusals += t.refusals;
    fx->answered += t.answered;
}

/* ---------------------------------------------------------------- cases and checks */

static void register_at (fx_t *fx, const char *code, char id[XF_CASE_ID_MAX], int category,
                         const char *accused_unit)
{
    xf_err_t err = {0, ""};
    xf_case_t *c = xf_case_new ();
    c->channel = XF__CHANNEL__LETTER;
    c->category = category;
    xf_case_set (&c->summary, "反映征地补偿问题");
    c->received = xf_day_of_time (fx->who.now);
    c->headcount = 1;
    if (accused_unit) {
        c->accused = malloc (sizeof *c->accused);
        xf__accused__init (c->accused);
        xf_case_set (&c->accused->unit, accused_unit);
    }
    if (xf_office_register (at (fx, code)->office, &fx->who, c, &err) != XF_OK)
        fail_msg ("register at %s: %s", code, err.msg);
    snprintf (id, XF_CASE_ID_MAX, "%s", c->id);
    xf_case_destroy (&c);
}

static int move (fx_t *fx, const char *code, xf_move_t kind, const char *id, const char *to,
                 const char *text, size_t n_items, xf_err_t *err)
{
    xf_move_req_t m = {.kind = kind, .to = to, .text = text, .items = (char *const *) ITEMS,
                       .n_items = n_items};
    *err = (xf_err_t) {0, ""};
    return xf_office_move (at (fx, code)->office, &fx->who, NULL, &id, 1, &m, NULL, err);
}

static void must_move (fx_t *fx, const char *code, xf_move_t kind, const char *id, const char *to)
{
    xf_err_t err;
    if (move (fx, code, kind, id, to, "说明", 7, &err) != XF_OK)
        fail_msg ("%s %s at %s: %s", xf_move_name (kind), id, code, err.msg);
    settle (fx);
}

static void must_accept (fx_t *fx, const char *code, const char *id)
{
    xf_err_t err = {0, ""};
    if (xf_office_accept (at (fx, code)->office, &fx->who, id, true, &err) != XF_OK)
        fail_msg ("accept %s at %s: %s", id, code, err.msg);
    settle (fx);
}

static xf_case_t *get (fx_t *fx, const char *code, const char *id)
{
    xf_err_t err = {0, ""};
    xf_case_t *c = xf_office_get (at (fx, code)->office, id, &err);
    if (!c)
        fail_msg ("%s at %s: %s", id, code, err.msg);
    return c;
}

static void assert_case (fx_t *fx, const char *code, const char *id, const char *owner, int status)
{
    xf_case_t *c = get (fx, code, id);
    if (strcmp (c->owner, owner) != 0 || (int) c->status != status)
        fail_msg ("%s at %s: owner %s status %s, expected %s %s", id, code, c->owner,
                  xf_status_name (c->status), owner, xf_status_name (status));
    xf_case_destroy (&c);
}

static bool holds (fx_t *fx, const char *code, const char *id)
{
    xf_err_t err = {0, ""};
    xf_case_t *c = xf_office_get (at (fx, code)->office, id, &err);
    xf_case_destroy (&c);
    return c != NULL || err.code != XF_ENOTFOUND;
}

static json_t *history (fx_t *fx, const char *code, const char *id)
{
    xf_err_t err = {0, ""};
    json_t *h = xf_office_history (at (fx, code)->office, id, &err);
    if (!h)
        fail_msg ("history of %s at %s: %s", id, code, err.msg);
    return h;
}

/* The case and its history are the same at every listed office (as `case show` and
 * `case history` print them). */
static void assert_replicas_agree (fx_t *fx, const char *id, const char *const *codes, size_t n)
{
    xf_day_t today = xf_day_of_time (fx->who.now);
    xf_case_t *first = get (fx, codes[0], id);
    json_t *want = xf_case_to_json (first, today), *want_h = history (fx, codes[0], id);
    for (size_t i = 1; i < n; i++) {
        xf_case_t *c = get (fx, codes[i], id);
        json_t *got = xf_case_to_json (c, today), *got_h = history (fx, codes[i], id);
        if (!json_equal (want, got) || !json_equal (want_h, got_h)) {
            char *a = json_dumps (want, JSON_COMPACT), *b = json_dumps (got, JSON_COMPACT);
            char *ha = json_dumps (want_h, JSON_COMPACT), *hb = json_dumps (got_h, JSON_COMPACT);
            fail_msg ("%s differs between %s and %s:\n%s\n%s\n%s\n%s", id, codes[0], codes[i], a, b,
                      ha, hb);
        }
        json_decref (got);
        json_decref (got_h);
        xf_case_destroy (&c);
    }
    json_decref (want);
    json_decref (want_h);
    xf_case_destroy (&first);
}

/* The types of the history's events, space separated. */
static void history_types (fx_t *fx, const char *code, const char *id, char *out, size_t size)
{
    json_t *h = history (fx, code, id), *ev;
    size_t i, len = 0;
    out[0] = 0;
    json_array_foreach (json_object_get (h, "events"), i, ev)
        len += (size_t) snprintf (out + len, size - len, "%s%s", i ? " " : "",
                                  json_string_value (json_object_get (ev, "type")));
    json_decref (h);
}

static int64_t counted (fx_t *fx, const char *code, int counter)
{
    xf_err_t err = {0, ""};
    xf_figures_t f;
    assert_int_equal (xf_office_stats (at (fx, code)->office, 0, 99999, &f, &err), XF_OK);
    return f.v[counter];
}

static void at_day (fx_t *fx, xf_day_t day)
{
    fx->who.now = xf_day_start (day) + 10 * 3600;
}

static size_t scan_urges (fx_t *fx, const char *code)
{
    xf_err_t err = {0, ""};
    size_t sent = 99;
    if (xf_office_scan_urges (at (fx, code)->office, fx->who.now, &sent, &err) != XF_OK)
        fail_msg ("urge scan at %s: %s", code, err.msg);
    settle (fx);
    return sent;
}

/* ---------------------------------------------------------------- tests */

/* 上报 then 交办 back down; the report without the 七有 refused with what is missing; sent
 * back; reported again; closed by the province. Every office that held it agrees. */
static void test_assign_report_send_back_close (void **state)
{
    fx_t *fx = *state;
    char id[XF_CASE_ID_MAX], types[512];
    xf_err_t err;
    register_at (fx, ZP, id, XF__CATEGORY__APPEAL, NULL);
    must_move (fx, ZP, XF_MOVE_ESCALATE, id, PROV);
    assert_case (fx, PROV, id, PROV, XF__STATUS__REGISTERED);
    assert_false (holds (fx, CITY, id));   /* a relay only */
    must_accept (fx, PROV, id);
    must_move (fx, PROV, XF_MOVE_ASSIGN, id, ZP);
    assert_case (fx, ZP, id, ZP, XF__STATUS__REGISTERED);
    xf_case_t *c = get (fx, ZP, id);
    assert_string_equal (c->supervisor, PROV);
    assert_false (c->filed);               /* the province's 立案 was its own */
    xf_case_destroy (&c);
    must_accept (fx, ZP, id);

    /* a report without every item is refused and names what is missing */
    assert_int_equal (move (fx, ZP, XF_MOVE_REPORT, id, NULL, "查明属实，已补偿", 5, &err), XF_EINVAL);
    assert_has (err.msg, "petitioner_opinion,review_opinion");
    assert_has (err.msg, "required_items");
    assert_case (fx, ZP, id, ZP, XF__STATUS__IN_PROGRESS);
    /* nor may the county close what it owes the province */
    assert_int_equal (xf_office_close (at (fx, ZP)->office, &fx->who, id, "答复", &err), XF_ESTATE);
    assert_has (err.msg, PROV);
    assert_has (err.msg, "report");

    must_move (fx, ZP, XF_MOVE_REPORT, id, NULL);
    assert_case (fx, PROV, id, PROV, XF__STATUS__REPORTED);
    /* the county no longer owns it: its actions are refused, naming the owner */
    assert_int_equal (xf_office_extend (at (fx, ZP)->office, &fx->who, id, 10, "补充调查", &err),
                      XF_EPERM);
    assert_has (err.msg, PROV);
    must_move (fx, PROV, XF_MOVE_SEND_BACK, id, NULL);
    assert_case (fx, ZP, id, ZP, XF__STATUS__IN_PROGRESS);
    c = get (fx, ZP, id);
    assert_int_equal (c->round, 2);
    assert_int_equal (c->handle_due, xf_day_of_time (fx->who.now) + LIM.handle_days);
    xf_case_destroy (&c);
    must_move (fx, ZP, XF_MOVE_REPORT, id, NULL);
    assert_int_equal (xf_office_close (at (fx, PROV)->office, &fx->who, id, "已答复信访人", &err),
                      XF_OK);
    settle (fx);
    assert_case (fx, ZP, id, PROV, XF__STATUS__CLOSED);
    history_types (fx, ZP, id, types, sizeof types);
    assert_string_equal (types, "register escalate accept assign accept report send_back report close");
    const char *holders[] = {PROV, ZP};
    assert_replicas_agree (fx, id, holders, 2);
    assert_int_equal (counted (fx, PROV, XF_ST_ASSIGNED), 1);
    assert_int_equal (counted (fx, PROV, XF_ST_SENT_BACK), 1);
    assert_int_equal (counted (fx, PROV, XF_ST_CLOSED), 1);
    assert_int_equal (counted (fx, ZP, XF_ST_CLOSED), 0);
    assert_int_equal (counted (fx, ZP, XF_ST_ESCALATED), 1);
    assert_int_equal (fx->refused, 0);
}

/* 交办 through a chain: province → city → county; the county reports to the city, which
 * reviews it and reports on up; only the province closes. */
static void test_assign_chain (void **state)
{
    fx_t *fx = *state;
    char id[XF_CASE_ID_MAX];
    xf_err_t err;
    register_at (fx, PROV, id, XF__CATEGORY__APPEAL, NULL);
    must_accept (fx, PROV, id);
    must_move (fx, PROV, XF_MOVE_ASSIGN, id, CITY);
    must_accept (fx, CITY, id);
    must_move (fx, CITY, XF_MOVE_ASSIGN, id, ZP);
    xf_case_t *c = get (fx, ZP, id);
    assert_string_equal (c->supervisor, CITY);
    xf_case_destroy (&c);
    must_accept (fx, ZP, id);
    must_move (fx, ZP, XF_MOVE_REPORT, id, NULL);
    assert_case (fx, CITY, id, CITY, XF__STATUS__REPORTED);
    assert_int_equal (xf_office_close (at (fx, CITY)->office, &fx->who, id, "答复", &err), XF_ESTATE);
    assert_has (err.msg, PROV);
    must_move (fx, CITY, XF_MOVE_REPORT, id, NULL);
    assert_case (fx, PROV, id, PROV, XF__STATUS__REPORTED);
    c = get (fx, PROV, id);
    assert_string_equal (c->supervisor, PROV);
    xf_case_destroy (&c);
    assert_int_equal (xf_office_close (at (fx, PROV)->office, &fx->who, id, "答复", &err), XF_OK);
    settle (fx);
    const char *holders[] = {PROV, CITY, ZP};
    assert_replicas_agree (fx, id, holders, 3);
}

/* 转办 sideways: from one county to another through their city; the receiving county gets
 * the whole history, and the registering county sees what happens next. */
static void test_transfer_between_counties (void **state)
{
    fx_t *fx = *state;
    char id[XF_CASE_ID_MAX], types[256];
    register_at (fx, ZP, id, XF__CATEGORY__INQUIRY, NULL);
    must_accept (fx, ZP, id);
    must_move (fx, ZP, XF_MOVE_TRANSFER, id, XC);
    assert_case (fx, XC, id, XC, XF__STATUS__REGISTERED);
    assert_false (holds (fx, CITY, id));
    history_types (fx, XC, id, types, sizeof types);
    assert_string_equal (types, "register accept transfer");
    must_accept (fx, XC, id);
    xf_err_t err = {0, ""};
    assert_int_equal (xf_office_close (at (fx, XC)->office, &fx->who, id, "已答复", &err), XF_OK);
    settle (fx);
    const char *holders[] = {ZP, XC};
    assert_replicas_agree (fx, id, holders, 2);
    assert_case (fx, ZP, id, XC, XF__STATUS__CLOSED);
    assert_int_equal (counted (fx, ZP, XF_ST_TRANSFERRED), 1);
    assert_int_equal (counted (fx, XC, XF_ST_CLOSED), 1);
}

/* Moves the wrong way and moves by offices that do not own the case: refused, nothing sent,
 * nothing changed. */
static void test_refusals_change_nothing (void **state)
{
    fx_t *fx = *state;
    char id[XF_CASE_ID_MAX];
    xf_err_t err;
    register_at (fx, ZP, id, XF__CATEGORY__APPEAL, NULL);
    json_t *before = history (fx, ZP, id);
    struct {
        const char *at;
        xf_move_t kind;
        const char *to, *phrase;
        int code;
    } bad[] = {
        {ZP, XF_MOVE_ASSIGN, CITY, "not below this office", XF_EINVAL},
        {ZP, XF_MOVE_ESCALATE, XC, "not above this office", XF_EINVAL},
        {ZP, XF_MOVE_TRANSFER, PROV, "use escalate", XF_EINVAL},
        {ZP, XF_MOVE_TRANSFER, ZP, "already at office", XF_EINVAL},
        {ZP, XF_MOVE_REPORT, NULL, "not assigned to this office", XF_ESTATE},
        {ZP, XF_MOVE_SEND_BACK, NULL, "only a result reported to this office", XF_ESTATE},
        {ZP, XF_MOVE_TRANSFER, "12345x", "not an office code", XF_EINVAL},
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        int rc = move (fx, bad[i].at, bad[i].kind, id, bad[i].to, "说明", 7, &err);
        if (rc != bad[i].code || !strstr (err.msg, bad[i].phrase))
            fail_msg ("%s to %s: rc %d \"%s\", expected \"%s\"", xf_move_name (bad[i].kind),
                      bad[i].to ? bad[i].to : "-", rc, err.msg, bad[i].phrase);
    }
    /* the province cannot assign to an office no one announced */
    char p[XF_CASE_ID_MAX];
    register_at (fx, PROV, p, XF__CATEGORY__APPEAL, NULL);
    assert_int_equal (move (fx, PROV, XF_MOVE_ASSIGN, p, "419999", "n", 0, &err), XF_ENOTFOUND);
    assert_has (err.msg, "no office 419999");
    /* a note is required */
    assert_int_equal (move (fx, ZP, XF_MOVE_ESCALATE, id, CITY, "", 0, &err), XF_EINVAL);
    assert_has (err.msg, "note");
    settle (fx);
    assert_false (holds (fx, CITY, id));
    json_t *after = history (fx, ZP, id);
    assert_true (json_equal (before, after));
    json_decref (before);
    json_decref (after);
    assert_case (fx, ZP, id, ZP, XF__STATUS__REGISTERED);
    /* an office holding only a replica cannot act on it */
    must_move (fx, ZP, XF_MOVE_ESCALATE, id, CITY);
    assert_int_equal (xf_office_accept (at (fx, ZP)->office, &fx->who, id, false, &err), XF_EPERM);
    assert_has (err.msg, "owned by office " CITY);
    assert_int_equal (move (fx, ZP, XF_MOVE_TRANSFER, id, XC, "n", 0, &err), XF_EPERM);
    assert_has (err.msg, CITY);
}

/* Automatic 催办 at the supervisor: urge_before_days before the handler's deadline, then
 * every urge_every_days, each once however often the scan runs; the owner records each,
 * the third marks 坐催 in the supervisor's overdue list; none after the report. */
static void test_automatic_urges (void **state)
{
    fx_t *fx = *state;
    char id[XF_CASE_ID_MAX], types[512];
    xf_err_t err = {0, ""};
    xf_day_t day0 = xf_day_of_time (fx->who.now);
    register_at (fx, CITY, id, XF__CATEGORY__APPEAL, NULL);
    must_move (fx, CITY, XF_MOVE_ASSIGN, id, ZP);
    must_accept (fx, ZP, id);          /* handle_due = day0 + 60 */
    xf_day_t due = day0 + 60;
    assert_int_equal (scan_urges (fx, CITY), 0);
    at_day (fx, due - 8);
    assert_int_equal (scan_urges (fx, CITY), 0);
    at_day (fx, due - 7);
    assert_int_equal (scan_urges (fx, CITY), 1);
    assert_int_equal (scan_urges (fx, CITY), 0);   /* once */
    at_day (fx, due - 1);
    assert_int_equal (scan_urges (fx, CITY), 0);
    at_day (fx, due);
    assert_int_equal (scan_urges (fx, CITY), 1);
    xf_case_t *c = get (fx, CITY, id);
    assert_int_equal (c->urges, 2);
    assert_false (c->flags & XF__CASE_FLAG__FLAG_ONSITE);
    xf_case_destroy (&c);
    at_day (fx, due + 7);
    assert_int_equal (scan_urges (fx, CITY), 1);
    c = get (fx, CITY, id);            /* the county's record of the third, replicated */
    assert_int_equal (c->urges, 3);
    assert_true (c->flags & XF__CASE_FLAG__FLAG_ONSITE);
    xf_case_destroy (&c);
    xf_case_filter_t f = {.overdue = true};
    json_t *list = xf_office_list (at (fx, CITY)->office, &f, due + 7, &err);
    assert_non_null (list);
    json_t *first = json_array_get (json_object_get (list, "cases"), 0);
    assert_string_equal (json_string_value (json_object_get (first, "id")), id);
    char *flags = json_dumps (json_object_get (first, "flags"), 0);
    assert_has (flags, "onsite");
    free (flags);
    json_decref (list);
    history_types (fx, ZP, id, types, sizeof types);
    assert_string_equal (types, "register assign accept urge urge urge");
    assert_int_equal (counted (fx, CITY, XF_ST_URGES), 3);
    /* a jump over several intervals sends one urge, not one per interval missed */
    at_day (fx, due + 40);
    assert_int_equal (scan_urges (fx, CITY), 1);
    must_move (fx, ZP, XF_MOVE_REPORT, id, NULL);
    at_day (fx, due + 80);
    assert_int_equal (scan_urges (fx, CITY), 0);
    const char *holders[] = {CITY, ZP};
    assert_replicas_agree (fx, id, holders, 2);
}

/* A manual urge goes to the owner the supervisor knows; an office the case has left answers
 * with a refusal naming where it went, and nothing is recorded. */
static void test_urge_reaching_a_former_owner (void **state)
{
    fx_t *fx = *state;
    char id[XF_CASE_ID_MAX];
    xf_err_t err = {0, ""};
    register_at (fx, CITY, id, XF__CATEGORY__APPEAL, NULL);
    must_move (fx, CITY, XF_MOVE_ASSIGN, id, ZP);
    assert_int_equal (xf_office_urge (at (fx, CITY)->office, &fx->who, id, "请抓紧办理", &err), XF_OK);
    settle (fx);
    xf_case_t *c = get (fx, CITY, id);
    assert_int_equal (c->urges, 1);
    xf_case_destroy (&c);
    /* the county passes it on to 淅川 before the city's next urge arrives */
    assert_int_equal (move (fx, ZP, XF_MOVE_TRANSFER, id, XC, "属淅川县管辖", 0, &err), XF_OK);
    assert_int_equal (xf_office_urge (at (fx, CITY)->office, &fx->who, id, "再次催办", &err), XF_OK);
    carry (fx, at (fx, CITY), at (fx, ZP));    /* the urge reaches the county first */
    assert_int_equal (fx->answered, 1);
    settle (fx);
    assert_int_equal (fx->refusals, 1);
    assert_case (fx, CITY, id, XC, XF__STATUS__REGISTERED);
    c = get (fx, XC, id);
    assert_int_equal (c->urges, 0);    /* a new handler starts unurged */
    assert_string_equal (c->supervisor, CITY);   /* and owes the city the result */
    xf_case_destroy (&c);
    /* the owner does not urge itself; an office beside the owner does not urge it */
    assert_int_equal (xf_office_urge (at (fx, XC)->office, &fx->who, id, "n", &err), XF_EPERM);
    assert_int_equal (xf_office_urge (at (fx, ZP)->office, &fx->who, id, "n", &err), XF_EPERM);
    assert_has (err.msg, "not below");
}

/* An escalated case starts fresh at the office above: it can be extended there even if the
 * county extended it (the county's extension was its own). */
static void test_extension_after_escalation (void **state)
{
    fx_t *fx = *state;
    char id[XF_CASE_ID_MAX];
    xf_err_t err = {0, ""};
    register_at (fx, ZP, id, XF__CATEGORY__APPEAL, NULL);
    must_accept (fx, ZP, id);
    assert_int_equal (xf_office_extend (at (fx, ZP)->office, &fx->who, id, 30, "调查取证", &err), XF_OK);
    assert_int_equal (xf_office_extend (at (fx, ZP)->office, &fx->who, id, 5, "再延", &err), XF_ESTATE);
    assert_has (err.msg, "one extension");
    must_move (fx, ZP, XF_MOVE_ESCALATE, id, CITY);
    must_accept (fx, CITY, id);
    assert_int_equal (xf_office_extend (at (fx, CITY)->office, &fx->who, id, 31, "超限", &err),
                      XF_EINVAL);
    assert_has (err.msg, "max_extension_days");
    assert_int_equal (xf_office_extend (at (fx, CITY)->office, &fx->who, id, 20, "复杂", &err), XF_OK);
    settle (fx);
    xf_case_t *c = get (fx, ZP, id);
    assert_int_equal (c->extension_days, 20);
    xf_case_destroy (&c);
}

/* A transfer that comes back undelivered restores the case exactly as it was, overdue mark
 * included: the scan does not mark it (or count it) overdue a second time. */
static void test_returned_case_keeps_its_overdue_mark (void **state)
{
    fx_t *fx = *state;
    char id[XF_CASE_ID_MAX];
    xf_err_t err = {0, ""};
    size_t marked = 0;
    register_at (fx, ZP, id, XF__CATEGORY__APPEAL, NULL);
    xf_case_t *c = get (fx, ZP, id);
    at_day (fx, c->accept_due + 2);
    xf_case_destroy (&c);
    assert_int_equal (xf_office_scan_deadlines (at (fx, ZP)->office, fx->who.now, &marked, &err), XF_OK);
    assert_int_equal (marked, 1);
    assert_int_equal (move (fx, ZP, XF_MOVE_TRANSFER, id, "419999", "误填", 0, &err), XF_OK);
    settle (fx);
    assert_case (fx, ZP, id, ZP, XF__STATUS__REGISTERED);
    c = get (fx, ZP, id);
    assert_true (c->flags & XF__CASE_FLAG__FLAG_OVERDUE);
    assert_string_equal (c->summary, "反映征地补偿问题");   /* the bulk kept from the case */
    assert_int_equal (strlen (c->query_code), 14);
    xf_case_destroy (&c);
    fx->who.now += 86400;
    assert_int_equal (xf_office_scan_deadlines (at (fx, ZP)->office, fx->who.now, &marked, &err), XF_OK);
    assert_int_equal (marked, 0);
    assert_int_equal (counted (fx, ZP, XF_ST_OVERDUE), 1);
    assert_int_equal (counted (fx, ZP, XF_ST_TRANSFERRED), 0);
}

/* Manual urges that cannot be sent: no note, a closed case, an office without links. */
static void test_urge_refusals (void **state)
{
    fx_t *fx = *state;
    char id[XF_CASE_ID_MAX];
    xf_err_t err = {0, ""};
    register_at (fx, ZP, id, XF__CATEGORY__INQUIRY, NULL);
    must_move (fx, ZP, XF_MOVE_ESCALATE, id, CITY);
    assert_int_equal (xf_office_urge (at (fx, PROV)->office, &fx->who, id, "n", &err), XF_ENOTFOUND);
    assert_int_equal (xf_office_urge (at (fx, ZP)->office, &fx->who, id, "", &err), XF_EINVAL);
    assert_has (err.msg, "note");
    must_accept (fx, CITY, id);
    assert_int_equal (xf_office_close (at (fx, CITY)->office, &fx->who, id, "已答复", &err), XF_OK);
    settle (fx);
    assert_int_equal (xf_office_urge (at (fx, ZP)->office, &fx->who, id, "n", &err), XF_ESTATE);
    assert_has (err.msg, "nothing to urge");
    xf_office_t *alone = xf_office_new (at (fx, PROV)->store, PROV, &LIM, &err);
    assert_non_null (alone);
    assert_int_equal (xf_office_urge (alone, &fx->who, id, "n", &err), XF_ESTATE);
    assert_has (err.msg, "no links");
    xf_move_req_t m = {.kind = XF_MOVE_ESCALATE, .text = "n"};
    const char *ids[] = {id};
    assert_int_equal (xf_office_move (alone, &fx->who, NULL, ids, 1, &m, NULL, &err), XF_ESTATE);
    assert_has (err.msg, "no links");
    xf_office_destroy (&alone);
    assert_int_equal (counted (fx, ZP, XF_ST_URGES), 0);
}

/* An urge from an office above that reaches the owner after it closed the case: refused
 * with a Refusal, nothing recorded. */
static void test_urge_of_a_case_closed_meanwhile (void **state)
{
    fx_t *fx = *state;
    char id[XF_CASE_ID_MAX];
    xf_err_t err = {0, ""};
    register_at (fx, ZP, id, XF__CATEGORY__APPEAL, NULL);
    must_move (fx, ZP, XF_MOVE_ESCALATE, id, PROV);
    must_move (fx, PROV, XF_MOVE_TRANSFER, id, ZP);   /* 转办 down: no result owed */
    must_accept (fx, ZP, id);
    assert_int_equal (xf_office_close (at (fx, ZP)->office, &fx->who, id, "已答复", &err), XF_OK);
    assert_int_equal (xf_office_urge (at (fx, PROV)->office, &fx->who, id, "请加快", &err), XF_OK);
    carry (fx, at (fx, PROV), at (fx, CITY));
    carry (fx, at (fx, CITY), at (fx, ZP));           /* the urge arrives after the close */
    assert_int_equal (fx->answered, 1);
    settle (fx);
    assert_int_equal (fx->refusals, 1);
    xf_case_t *c = get (fx, PROV, id);
    assert_int_equal (c->status, XF__STATUS__CLOSED);
    assert_int_equal (c->urges, 0);
    xf_case_destroy (&c);
}

typedef struct {
    office_t *from;
    const char *to;
    Xf__CaseEvent *ev;
    int64_t now;
} forge_t;

static int forge_txn (xf_txn_t *txn, void *arg, xf_err_t *err)
{
    forge_t *f = arg;
    return xf_office_send (txn, f->from->office, f->to, f->now, XF__ENVELOPE__BODY_CASE_EVENT,
                           f->ev, 0, err);
}

/* Case events a faulty office might send: refused, with a reason, and the case unchanged —
 * one without its record, one recorded by another office, one changing a case the receiver
 * owns. */
static void test_foreign_events_refused (void **state)
{
    fx_t *fx = *state;
    char id[XF_CASE_ID_MAX];
    xf_err_t err = {0, ""};
    register_at (fx, ZP, id, XF__CATEGORY__APPEAL, NULL);
    must_move (fx, ZP, XF_MOVE_ESCALATE, id, PROV);
    json_t *before = history (fx, PROV, id);
    xf_case_t *rec = get (fx, PROV, id);
    Xf__CaseEvent ev = XF__CASE_EVENT__INIT;
    Xf__Rejection rej = XF__REJECTION__INIT;
    rej.reason = "不予受理";
    ev.case_id = id;
    ev.seq = rec->last_event + 1;
    ev.at = fx->who.now;
    ev.office = CITY;
    ev.body_case = XF__CASE_EVENT__BODY_REJECTION;
    ev.rejection = &rej;
    rec->last_event = ev.seq;
    rec->status = XF__STATUS__REJECTED;
    struct {
        const char *office;
        xf_case_t *record;
        const char *phrase;
    } bad[] = {
        {CITY, NULL, "carries no case record"},
        {ZP, rec, "recorded by office " ZP " was sent by office " CITY},
        {CITY, rec, "owned by this office"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        ev.office = (char *) bad[i].office;
        ev.record = bad[i].record;
        forge_t f = {at (fx, CITY), PROV, &ev, fx->who.now};
        if (xf_store_write (at (fx, CITY)->store, forge_txn, &f, &err) != XF_OK)
            fail_msg ("forge: %s", err.msg);
        xf_test_taken_t t;
        xf_applied_t out;
        xf_test_take (at (fx, CITY), PROV, &t);
        assert_int_equal (t.n, 1);
        xf_test_apply (at (fx, PROV), CITY, t.bytes[0], t.len[0], fx->who.now, &out);
        free (t.bytes[0]);
        assert_true (out.refused);
        assert_has (out.reason, bad[i].phrase);
    }
    xf_case_destroy (&rec);
    assert_case (fx, PROV, id, PROV, XF__STATUS__REGISTERED);
    json_t *after = history (fx, PROV, id);
    assert_true (json_equal (before, after));
    json_decref (before);
    json_decref (after);
}

/* Many cases in one move: all or none. */
static void test_move_many_all_or_none (void **state)
{
    fx_t *fx = *state;
    char a[XF_CASE_ID_MAX], b[XF_CASE_ID_MAX];
    xf_err_t err = {0, ""};
    size_t bad = 9;
    register_at (fx, ZP, a, XF__CATEGORY__APPEAL, NULL);
    register_at (fx, ZP, b, XF__CATEGORY__APPEAL, NULL);
    assert_int_equal (xf_office_reject (at (fx, ZP)->office, &fx->who, b, "不属受理范围", &err), XF_OK);
    const char *ids[] = {a, b};
    xf_move_req_t m = {.kind = XF_MOVE_ESCALATE, .text = "上报"};
    assert_int_equal (xf_office_move (at (fx, ZP)->office, &fx->who, NULL, ids, 2, &m, &bad, &err),
                      XF_ESTATE);
    assert_int_equal (bad, 1);
    assert_has (err.msg, b);
    settle (fx);
    assert_case (fx, ZP, a, ZP, XF__STATUS__REGISTERED);
    assert_false (holds (fx, CITY, a));
}

/* 不得将检举控告材料转送被检举控告的单位: the city refuses to assign or transfer an accusation
 * to the county whose unit is accused (names compared without spaces and the 中共 prefix),
 * and changes nothing; another county may take it; an office whose name is not known cannot
 * be checked and does not get it. When the city has the county's name wrong, the county
 * itself refuses it and the case comes back to the city. */
static void test_accusation_never_reaches_the_accused (void **state)
{
    fx_t *fx = *state;
    char id[XF_CASE_ID_MAX], other[XF_CASE_ID_MAX], types[256];
    xf_err_t err = {0, ""};
    xf_routes_set_name (at (fx, CITY)->routes, ZP, "镇平县委组织部");
    xf_routes_set_name (at (fx, CITY)->routes, XC, "淅川县委组织部");
    xf_routes_set_name (at (fx, ZP)->routes, ZP, "中共镇平县委组织部");
    register_at (fx, CITY, id, XF__CATEGORY__ACCUSATION, "中共 镇平县委组织部");
    must_accept (fx, CITY, id);
    assert_int_equal (move (fx, CITY, XF_MOVE_ASSIGN, id, ZP, "请查处", 0, &err), XF_EPERM);
    assert_has (err.msg, "accused's own unit");
    assert_int_equal (move (fx, CITY, XF_MOVE_TRANSFER, id, ZP, "请查处", 0, &err), XF_EPERM);
    settle (fx);
    assert_case (fx, CITY, id, CITY, XF__STATUS__IN_PROGRESS);
    assert_false (holds (fx, ZP, id));
    history_types (fx, CITY, id, types, sizeof types);
    assert_string_equal (types, "register accept");
    must_move (fx, CITY, XF_MOVE_ASSIGN, id, XC);
    assert_case (fx, XC, id, XC, XF__STATUS__REGISTERED);

    register_at (fx, CITY, other, XF__CATEGORY__ACCUSATION, "镇平县委组织部");
    must_accept (fx, CITY, other);
    xf_routes_set_name (at (fx, CITY)->routes, ZP, NULL);
    assert_int_equal (move (fx, CITY, XF_MOVE_TRANSFER, other, ZP, "请查处", 0, &err), XF_EPERM);
    assert_has (err.msg, "is not known here");
    xf_routes_set_name (at (fx, CITY)->routes, ZP, "镇平县人民政府");
    size_t refused = fx->refused;
    must_move (fx, CITY, XF_MOVE_TRANSFER, other, ZP);
    assert_int_equal (fx->refused, refused + 1);
    assert_false (holds (fx, ZP, other));
    assert_case (fx, CITY, other, CITY, XF__STATUS__IN_PROGRESS);
    history_types (fx, CITY, other, types, sizeof types);
    assert_string_equal (types, "register accept transfer returned");
    json_t *h = history (fx, CITY, other);
    json_t *last = json_array_get (json_object_get (h, "events"), 3);
    assert_has (json_string_value (json_object_get (last, "reason")),
                "accused's own unit");
    json_decref (h);
}

int main (void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown (test_assign_report_send_back_close, setup, teardown),
        cmocka_unit_test_setup_teardown (test_assign_chain, setup, teardown),
        cmocka_unit_test_setup_teardown (test_transfer_between_counties, setup, teardown),
        cmocka_unit_test_setup_teardown (test_refusals_change_nothing, setup, teardown),
        cmocka_unit_test_setup_teardown (test_automatic_urges, setup, teardown),
        cmocka_unit_test_setup_teardown (test_urge_reaching_a_former_owner, setup, teardown),
        cmocka_unit_test_setup_teardown (test_extension_after_escalation, setup, teardown),
        cmocka_unit_test_setup_teardown (test_returned_case_keeps_its_overdue_mark, setup, teardown),
        cmocka_unit_test_setup_teardown (test_move_many_all_or_none, setup, teardown),
        cmocka_unit_test_setup_teardown (test_urge_refusals, setup, teardown),
        cmocka_unit_test_setup_teardown (test_urge_of_a_case_closed_meanwhile, setup, teardown),
        cmocka_unit_test_setup_teardown (test_foreign_events_refused, setup, teardown),
        cmocka_unit_test_setup_teardown (test_accusation_never_reaches_the_accused, setup, teardown),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
