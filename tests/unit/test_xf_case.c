/* test_xf_case.c — case rules: vocabulary, identity numbers, validation of a registration,
 * the status machine with its refusals (each leaving the case untouched) and deadlines. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "xf_case.h"

#define OFFICE "411324"
#define OTHER  "411300"
#define CASE_ID "411324-2026-000001"

static const xf_limits_t LIM = {.accept_days = 15, .handle_days = 60, .max_extension_days = 30};

static xf_day_t day (int y, int m, int d)
{
    return xf_day_from_ymd (y, m, d);
}

#define TODAY day (2026, 11, 22)

/* ---------------------------------------------------------------- helpers */

/* A complete, valid registration received today. */
static xf_case_t *new_case (void)
{
    xf_case_t *c = xf_case_new ();
    assert_non_null (c);
    c->channel = XF__CHANNEL__LETTER;
    c->category = XF__CATEGORY__APPEAL;
    c->subject = 2;
    c->received = TODAY;
    c->headcount = 1;
    assert_int_equal (xf_case_set (&c->summary, "反映村集体土地补偿款未按时发放"), XF_OK);
    c->petitioner = malloc (sizeof *c->petitioner);
    assert_non_null (c->petitioner);
    xf__petitioner__init (c->petitioner);
    assert_int_equal (xf_case_set (&c->petitioner->name, "张三"), XF_OK);
    assert_int_equal (xf_case_set (&c->petitioner->id_number, "411324198506120036"), XF_OK);
    assert_int_equal (xf_case_set (&c->petitioner->phone, "0377-6022 1234"), XF_OK);
    assert_int_equal (xf_case_set (&c->petitioner->address, "镇平县石佛寺镇"), XF_OK);
    return c;
}

static xf_case_t *registered_case (void)
{
    xf_case_t *c = new_case ();
    xf_err_t err = {0, ""};
    int rc = xf_case_register (c, CASE_ID, OFFICE, TODAY, &LIM, &err);
    if (rc != XF_OK)
        fail_msg ("register: %s", err.msg);
    return c;
}

/* Registered today, accepted on accept_day. */
static xf_case_t *accepted_case (xf_day_t accept_day, bool file)
{
    xf_case_t *c = registered_case ();
    xf_err_t err = {0, ""};
    int rc = xf_case_accept (c, OFFICE, accept_day, file, &LIM, &err);
    if (rc != XF_OK)
        fail_msg ("accept: %s", err.msg);
    return c;
}

/* The packed bytes of a case, to prove that a refusal changed nothing. */
typedef struct {
    uint8_t *buf;
    size_t len;
} snap_t;

static snap_t snap (const xf_case_t *c)
{
    snap_t s;
    s.buf = xf_case_pack (c, &s.len);
    assert_non_null (s.buf);
    return s;
}

static void assert_unchanged (snap_t *before, const xf_case_t *c)
{
    snap_t after = snap (c);
    assert_int_equal (after.len, before->len);
    assert_memory_equal (after.buf, before->buf, before->len);
    free (after.buf);
    free (before->buf);
    before->buf = NULL;
}

static void assert_msg_has (const xf_err_t *err, const char *phrase)
{
    if (!strstr (err->msg, phrase))
        fail_msg ("error message \"%s\" does not mention \"%s\"", err->msg, phrase);
}

/* check_new must refuse c with XF_EINVAL naming phrase; c must not change. */
static void expect_invalid (xf_case_t *c, xf_day_t today, const char *phrase)
{
    xf_err_t err = {0, ""};
    snap_t before = snap (c);
    assert_int_equal (xf_case_check_new (c, today, &err), XF_EINVAL);
    assert_int_equal (err.code, XF_EINVAL);
    assert_msg_has (&err, phrase);
    assert_unchanged (&before, c);
    /* registration refuses the same case for the same reason, and leaves it unchanged */
    err = (xf_err_t) {0, ""};
    before = snap (c);
    assert_int_equal (xf_case_register (c, CASE_ID, OFFICE, today, &LIM, &err), XF_EINVAL);
    assert_msg_has (&err, phrase);
    assert_unchanged (&before, c);
}

/* ---------------------------------------------------------------- vocabulary */

typedef const char *(*name_fn) (int);
typedef int (*parse_fn) (const char *);

static void check_vocabulary (name_fn name, parse_fn parse, const char *const *names, int n)
{
    for (int v = 1; v <= n; v++) {
        assert_string_equal (name (v), names[v - 1]);
        assert_int_equal (parse (names[v - 1]), v);
        assert_int_equal (parse (name (v)), v);
    }
    assert_string_equal (name (0), "unspecified");
    assert_string_equal (name (n + 1), "unspecified");
    assert_string_equal (name (-1), "unspecified");
    assert_int_equal (parse ("unspecified"), 0);
    assert_int_equal (parse (""), 0);
    assert_int_equal (parse (NULL), 0);
    assert_int_equal (parse ("nonsense"), 0);
}

static void test_channel_vocabulary (void **state)
{
    (void) state;
    static const char *const names[] = {"letter", "visit", "phone", "email", "online"};
    check_vocabulary (xf_channel_name, xf_channel_parse, names, 5);
    assert_int_equal (xf_channel_parse ("LETTER"), 0);   /* names are exact */
    assert_int_equal (xf_channel_parse ("letter "), 0);
    assert_int_equal (xf_channel_parse ("fax"), 0);
    assert_int_equal (xf_channel_parse ("letter"), XF__CHANNEL__LETTER);
    assert_int_equal (xf_channel_parse ("online"), XF__CHANNEL__ONLINE);
}

static void test_category_vocabulary (void **state)
{
    (void) state;
    static const char *const names[] = {"accusation", "appeal", "inquiry"};
    check_vocabulary (xf_category_name, xf_category_parse, names, 3);
    assert_int_equal (xf_category_parse ("complaint"), 0);
    assert_int_equal (xf_category_parse ("Appeal"), 0);
    assert_int_equal (xf_category_parse ("inquiry"), XF__CATEGORY__INQUIRY);
}

static void test_rank_vocabulary (void **state)
{
    (void) state;
    static const char *const names[] = {"province", "prefecture", "county",
                                        "township", "general",    "village"};
    check_vocabulary (xf_rank_name, xf_rank_parse, names, 6);
    assert_int_equal (xf_rank_parse ("minister"), 0);
    assert_int_equal (xf_rank_parse ("township"), XF__RANK__TOWNSHIP_LEVEL);
    assert_int_equal (xf_rank_parse ("village"), XF__RANK__VILLAGE_CADRE);
}

static void test_status_vocabulary (void **state)
{
    (void) state;
    static const char *const names[] = {"registered", "rejected", "in_progress", "reported",
                                        "closed"};
    check_vocabulary (xf_status_name, xf_status_parse, names, 5);
    assert_int_equal (xf_status_parse ("in-progress"), 0);
    assert_int_equal (xf_status_parse ("open"), 0);
    assert_int_equal (xf_status_parse ("in_progress"), XF__STATUS__IN_PROGRESS);
    assert_int_equal (xf_status_parse ("closed"), XF__STATUS__CLOSED);
}

/* ---------------------------------------------------------------- identity numbers */

/* GB 11643 check character computed independently of the library: weight of position i
 * (counted from the right, the check digit being position 1) is 2^(i-1) mod 11. */
static char check_char (const char *first17)
{
    int sum = 0;
    for (int i = 0; i < 17; i++) {
        int weight = 1;
        for (int k = 0; k < 17 - i; k++)
            weight = weight * 2 % 11;
        sum += (first17[i] - '0') * weight;
    }
    int v = (12 - sum % 11) % 11;
    return v == 10 ? 'X' : (char) ('0' + v);
}

static void make_id (char out[19], const char *first17)
{
    memcpy (out, first17, 17);
    out[17] = check_char (first17);
    out[18] = 0;
}

static void test_id_number_valid_18 (void **state)
{
    (void) state;
    char id[19];
    make_id (id, "41132419850612003");
    assert_string_equal (id, "411324198506120036");
    assert_true (xf_id_number_valid (id));
    /* the examples printed in GB 11643 */
    assert_true (xf_id_number_valid ("11010519491231002X"));
    assert_true (xf_id_number_valid ("440524188001010014"));
    /* a spread of computed ones, including those ending in X */
    const char *bodies[] = {"41130019700101123", "41000020001231999", "11010519491231002",
                            "41132420260101000", "65010119881111111"};
    for (size_t i = 0; i < sizeof bodies / sizeof bodies[0]; i++) {
        make_id (id, bodies[i]);
        if (!xf_id_number_valid (id))
            fail_msg ("%s should be valid", id);
    }
}

static void test_id_number_lowercase_x (void **state)
{
    (void) state;
    assert_true (xf_id_number_valid ("11010519491231002x"));
    assert_false (xf_id_number_valid ("11010519491231002y"));
}

static void test_id_number_wrong_check_digit (void **state)
{
    (void) state;
    static const char checks[] = "0123456789X";
    char id[19] = "411324198506120036";
    for (const char *c = checks; *c; c++) {
        id[17] = *c;
        if (*c == '6')
            assert_true (xf_id_number_valid (id));
        else if (xf_id_number_valid (id))
            fail_msg ("%s has a wrong check digit but was accepted", id);
    }
    /* one changed body digit breaks the check */
    assert_false (xf_id_number_valid ("411324198506120136"));
    assert_false (xf_id_number_valid ("11010519491231003X"));
}

static void test_id_number_15_digits (void **state)
{
    (void) state;
    assert_true (xf_id_number_valid ("411324850612003"));
    assert_false (xf_id_number_valid ("41132485061200X"));
    assert_false (xf_id_number_valid ("41132485061200"));     /* 14 */
    assert_false (xf_id_number_valid ("4113248506120031"));   /* 16 */
}

static void test_id_number_letters_and_lengths (void **state)
{
    (void) state;
    assert_false (xf_id_number_valid ("41132419850612A036"));
    assert_false (xf_id_number_valid ("A11324198506120036"));
    assert_false (xf_id_number_valid ("41132419850612003 "));
    assert_false (xf_id_number_valid ("4113241985061200X6"));
    assert_false (xf_id_number_valid (""));
    assert_false (xf_id_number_valid ("41132419850612003"));     /* 17 */
    assert_false (xf_id_number_valid ("4113241985061200366"));   /* 19 */
    assert_false (xf_id_number_valid ("abcdefghijklmno"));
}

/* ---------------------------------------------------------------- check_new */

static void test_check_new_accepts_valid (void **state)
{
    (void) state;
    xf_err_t err = {0, ""};
    xf_case_t *c = new_case ();
    assert_int_equal (xf_case_check_new (c, TODAY, &err), XF_OK);
    /* the edges that are allowed */
    c->subject = 0;   /* not given */
    c->headcount = 100000;
    c->received = day (2020, 1, 1);
    assert_int_equal (xf_case_set (&c->petitioner->id_number, "11010519491231002x"), XF_OK);
    assert_int_equal (xf_case_check_new (c, TODAY, &err), XF_OK);
    c->subject = 8;
    assert_int_equal (xf_case_set (&c->petitioner->id_number, "411324850612003"), XF_OK);
    char *big = malloc (XF_SUMMARY_MAX + 1);
    assert_non_null (big);
    memset (big, 'a', XF_SUMMARY_MAX);
    big[XF_SUMMARY_MAX] = 0;
    assert_int_equal (xf_case_set (&c->summary, big), XF_OK);
    free (big);
    assert_int_equal (xf_case_check_new (c, TODAY, &err), XF_OK);
    xf_case_destroy (&c);
    assert_null (c);

    /* anonymous without identity; no petitioner at all */
    c = new_case ();
    xf__petitioner__free_unpacked (c->petitioner, NULL);
    c->petitioner = NULL;
    c->anonymous = true;
    assert_int_equal (xf_case_check_new (c, TODAY, &err), XF_OK);
    c->anonymous = false;
    assert_int_equal (xf_case_check_new (c, TODAY, &err), XF_OK);
    xf_case_destroy (&c);
}

static void test_check_new_missing_channel (void **state)
{
    (void) state;
    xf_case_t *c = new_case ();
    c->channel = 0;
    expect_invalid (c, TODAY, "channel");
    c->channel = 6;
    expect_invalid (c, TODAY, "channel");
    xf_case_destroy (&c);
}

static void test_check_new_missing_category (void **state)
{
    (void) state;
    xf_case_t *c = new_case ();
    c->category = 0;
    expect_invalid (c, TODAY, "category");
    c->category = 4;
    expect_invalid (c, TODAY, "category");
    xf_case_destroy (&c);
}

static void test_check_new_missing_summary (void **state)
{
    (void) state;
    xf_case_t *c = new_case ();
    assert_int_equal (xf_case_set (&c->summary, ""), XF_OK);
    expect_invalid (c, TODAY, "summary");
    xf_case_destroy (&c);
}

static void test_check_new_summary_too_long (void **state)
{
    (void) state;
    xf_case_t *c = new_case ();
    char *big = malloc (XF_SUMMARY_MAX + 2);
    assert_non_null (big);
    memset (big, 'a', XF_SUMMARY_MAX + 1);
    big[XF_SUMMARY_MAX + 1] = 0;
    assert_int_equal (xf_case_set (&c->summary, big), XF_OK);
    free (big);
    expect_invalid (c, TODAY, "summary");
    xf_err_t err = {0, ""};
    assert_int_equal (xf_case_check_new (c, TODAY, &err), XF_EINVAL);
    assert_msg_has (&err, "8193");
    assert_msg_has (&err, "8192");
    xf_case_destroy (&c);
}

static void test_check_new_received_after_today (void **state)
{
    (void) state;
    xf_case_t *c = new_case ();
    c->received = TODAY + 1;
    expect_invalid (c, TODAY, "received");
    xf_err_t err = {0, ""};
    assert_int_equal (xf_case_check_new (c, TODAY, &err), XF_EINVAL);
    assert_msg_has (&err, "2026-11-23");
    assert_msg_has (&err, "2026-11-22");
    c->received = 0;
    expect_invalid (c, TODAY, "received");
    xf_case_destroy (&c);
}

static void test_check_new_subject_9 (void **state)
{
    (void) state;
    xf_case_t *c = new_case ();
    c->subject = 9;
    expect_invalid (c, TODAY, "subject");
    xf_err_t err = {0, ""};
    assert_int_equal (xf_case_check_new (c, TODAY, &err), XF_EINVAL);
    assert_msg_has (&err, "9");
    xf_case_destroy (&c);
}

static void test_check_new_headcount_0 (void **state)
{
    (void) state;
    xf_case_t *c = new_case ();
    c->headcount = 0;
    expect_invalid (c, TODAY, "headcount");
    c->headcount = 100001;
    expect_invalid (c, TODAY, "headcount");
    xf_case_destroy (&c);
}

static void test_check_new_anonymous_with_name (void **state)
{
    (void) state;
    xf_case_t *c = new_case ();
    c->anonymous = true;
    expect_invalid (c, TODAY, "anonymous");
    /* any one identity field is enough to refuse */
    assert_int_equal (xf_case_set (&c->petitioner->name, ""), XF_OK);
    assert_int_equal (xf_case_set (&c->petitioner->id_number, ""), XF_OK);
    assert_int_equal (xf_case_set (&c->petitioner->address, ""), XF_OK);
    expect_invalid (c, TODAY, "anonymous");
    xf_case_destroy (&c);
}

static void test_check_new_bad_id_number (void **state)
{
    (void) state;
    xf_case_t *c = new_case ();
    assert_int_equal (xf_case_set (&c->petitioner->id_number, "411324198506120037"), XF_OK);
    expect_invalid (c, TODAY, "id number");
    expect_invalid (c, TODAY, "411324198506120037");
    xf_case_destroy (&c);
}

static void test_check_new_bad_phone (void **state)
{
    (void) state;
    xf_case_t *c = new_case ();
    assert_int_equal (xf_case_set (&c->petitioner->phone, "call me"), XF_OK);
    expect_invalid (c, TODAY, "phone");
    assert_int_equal (xf_case_set (&c->petitioner->phone, "1234"), XF_OK);   /* too short */
    expect_invalid (c, TODAY, "phone");
    assert_int_equal (xf_case_set (&c->petitioner->phone, "+86 (377) 138-0000-0000"), XF_OK);
    xf_err_t err = {0, ""};
    assert_int_equal (xf_case_check_new (c, TODAY, &err), XF_OK);
    xf_case_destroy (&c);
}

static void test_check_new_bad_accused_rank (void **state)
{
    (void) state;
    xf_case_t *c = new_case ();
    c->accused = malloc (sizeof *c->accused);
    assert_non_null (c->accused);
    xf__accused__init (c->accused);
    c->accused->rank = 7;
    expect_invalid (c, TODAY, "rank");
    c->accused->rank = XF__RANK__TOWNSHIP_LEVEL;
    xf_err_t err = {0, ""};
    assert_int_equal (xf_case_check_new (c, TODAY, &err), XF_OK);
    xf_case_destroy (&c);
}

/* ---------------------------------------------------------------- register */

static void test_register_fills_in (void **state)
{
    (void) state;
    xf_err_t err = {0, ""};
    xf_case_t *c = new_case ();
    c->received = TODAY - 3;
    assert_int_equal (xf_case_register (c, CASE_ID, OFFICE, TODAY, &LIM, &err), XF_OK);
    assert_string_equal (c->id, CASE_ID);
    assert_string_equal (c->origin, OFFICE);
    assert_string_equal (c->owner, OFFICE);
    assert_string_equal (c->supervisor, "");
    assert_int_equal (c->status, XF__STATUS__REGISTERED);
    assert_int_equal (c->registered, TODAY);
    assert_int_equal (c->received, TODAY - 3);
    assert_int_equal (c->accept_due, TODAY - 3 + 15);
    assert_int_equal (c->accept_due, day (2026, 12, 4));
    assert_int_equal (c->handle_due, 0);
    assert_int_equal (c->decided, 0);
    assert_int_equal (c->round, 1);
    assert_false (c->filed);
    assert_int_equal (c->flags & XF__CASE_FLAG__FLAG_GROUP, 0);
    xf_case_destroy (&c);

    /* a different accept_days is honoured */
    xf_limits_t lim = {.accept_days = 10, .handle_days = 90};
    c = new_case ();
    assert_int_equal (xf_case_register (c, "411324-2026-000002", OFFICE, TODAY, &lim, &err), XF_OK);
    assert_int_equal (c->accept_due, TODAY + 10);
    assert_string_equal (c->id, "411324-2026-000002");
    xf_case_destroy (&c);
}

static void test_register_group_flag (void **state)
{
    (void) state;
    xf_err_t err = {0, ""};
    xf_case_t *c = new_case ();
    c->headcount = 4;
    assert_int_equal (xf_case_register (c, CASE_ID, OFFICE, TODAY, &LIM, &err), XF_OK);
    assert_int_equal (c->flags & XF__CASE_FLAG__FLAG_GROUP, 0);
    xf_case_destroy (&c);

    c = new_case ();
    c->headcount = 5;
    c->flags = XF__CASE_FLAG__FLAG_SKIP_LEVEL;   /* declared by the registrar: kept */
    assert_int_equal (xf_case_register (c, CASE_ID, OFFICE, TODAY, &LIM, &err), XF_OK);
    assert_int_equal (c->flags, XF__CASE_FLAG__FLAG_GROUP | XF__CASE_FLAG__FLAG_SKIP_LEVEL);
    xf_case_destroy (&c);
}

/* ---------------------------------------------------------------- accept / reject */

static void test_accept (void **state)
{
    (void) state;
    xf_err_t err = {0, ""};
    xf_case_t *c = registered_case ();
    xf_day_t when = TODAY + 4;
    assert_int_equal (xf_case_accept (c, OFFICE, when, true, &LIM, &err), XF_OK);
    assert_int_equal (c->status, XF__STATUS__IN_PROGRESS);
    assert_int_equal (c->decided, when);
    assert_int_equal (c->handle_due, when + 60);
    assert_true (c->filed);
    assert_int_equal (c->flags & XF__CASE_FLAG__FLAG_LATE, 0);
    assert_int_equal (xf_case_due (c), when + 60);
    xf_case_destroy (&c);

    /* without --file; on the accept deadline itself: not late */
    c = registered_case ();
    assert_int_equal (xf_case_accept (c, OFFICE, c->accept_due, false, &LIM, &err), XF_OK);
    assert_false (c->filed);
    assert_int_equal (c->handle_due, TODAY + 15 + 60);
    assert_int_equal (c->flags & XF__CASE_FLAG__FLAG_LATE, 0);
    xf_case_destroy (&c);
}

static void test_accept_late_clears_overdue (void **state)
{
    (void) state;
    xf_err_t err = {0, ""};
    xf_case_t *c = registered_case ();
    c->flags |= XF__CASE_FLAG__FLAG_OVERDUE;   /* as the deadline scan leaves it */
    assert_int_equal (xf_case_accept (c, OFFICE, c->accept_due + 1, true, &LIM, &err), XF_OK);
    assert_int_not_equal (c->flags & XF__CASE_FLAG__FLAG_LATE, 0);
    assert_int_equal (c->flags & XF__CASE_FLAG__FLAG_OVERDUE, 0);
    assert_int_equal (c->handle_due, c->accept_due + 1 + 60);
    xf_case_destroy (&c);
}

static void test_accept_twice_refused (void **state)
{
    (void) state;
    xf_err_t err = {0, ""};
    xf_case_t *c = accepted_case (TODAY + 1, true);
    snap_t before = snap (c);
    assert_int_equal (xf_case_accept (c, OFFICE, TODAY + 2, false, &LIM, &err), XF_ESTATE);
    assert_int_equal (err.code, XF_ESTATE);
    assert_msg_has (&err, "in_progress");
    assert_msg_has (&err, CASE_ID);
    assert_unchanged (&before, c);
    xf_case_destroy (&c);
}

static void test_reject (void **state)
{
    (void) state;
    xf_err_t err = {0, ""};
    xf_case_t *c = registered_case ();
    assert_int_equal (xf_case_reject (c, OFFICE, TODAY + 2, "不属于组织部门受理范围", &err), XF_OK);
    assert_int_equal (c->status, XF__STATUS__REJECTED);
    assert_int_equal (c->decided, TODAY + 2);
    assert_string_equal (c->reject_reason, "不属于组织部门受理范围");
    assert_int_equal (c->flags & XF__CASE_FLAG__FLAG_LATE, 0);
    assert_int_equal (xf_case_due (c), 0);
    xf_case_destroy (&c);

    c = registered_case ();
    assert_int_equal (xf_case_reject (c, OFFICE, c->accept_due + 1, "超出期限", &err), XF_OK);
    assert_int_not_equal (c->flags & XF__CASE_FLAG__FLAG_LATE, 0);
    xf_case_destroy (&c);
}

static void test_reject_without_reason (void **state)
{
    (void) state;
    xf_err_t err = {0, ""};
    xf_case_t *c = registered_case ();
    snap_t before = snap (c);
    assert_int_equal (xf_case_reject (c, OFFICE, TODAY, NULL, &err), XF_EINVAL);
    assert_msg_has (&err, "reason");
    assert_unchanged (&before, c);
    err = (xf_err_t) {0, ""};
    before = snap (c);
    assert_int_equal (xf_case_reject (c, OFFICE, TODAY, "", &err), XF_EINVAL);
    assert_msg_has (&err, "reason");
    assert_unchanged (&before, c);
    xf_case_destroy (&c);
}

static void test_reject_after_accept_refused (void **state)
{
    (void) state;
    xf_err_t err = {0, ""};
    xf_case_t *c = accepted_case (TODAY, false);
    snap_t before = snap (c);
    assert_int_equal (xf_case_reject (c, OFFICE, TODAY, "改变主意", &err), XF_ESTATE);
    assert_msg_has (&err, "in_progress");
    assert_msg_has (&err, "registered");
    assert_unchanged (&before, c);
    xf_case_destroy (&c);
}

static void test_decisions_on_closed_or_rejected_refused (void **state)
{
    (void) state;
    xf_err_t err = {0, ""};
    xf_case_t *c = registered_case ();
    assert_int_equal (xf_case_reject (c, OFFICE, TODAY, "不予受理", &err), XF_OK);
    snap_t before = snap (c);
    assert_int_equal (xf_case_accept (c, OFFICE, TODAY, true, &LIM, &err), XF_ESTATE);
    assert_msg_has (&err, "rejected");
    assert_int_equal (xf_case_reject (c, OFFICE, TODAY, "again", &err), XF_ESTATE);
    assert_msg_has (&err, "rejected");
    assert_int_equal (xf_case_close (c, OFFICE, TODAY, "答复", &err), XF_ESTATE);
    assert_msg_has (&err, "rejected");
    assert_int_equal (xf_case_extend (c, OFFICE, TODAY, 10, "复杂", &LIM, &err), XF_ESTATE);
    assert_msg_has (&err, "rejected");
    assert_unchanged (&before, c);
    xf_case_destroy (&c);

    c = accepted_case (TODAY, true);
    assert_int_equal (xf_case_close (c, OFFICE, TODAY + 1, "已答复", &err), XF_OK);
    before = snap (c);
    assert_int_equal (xf_case_close (c, OFFICE, TODAY + 2, "再次答复", &err), XF_ESTATE);
    assert_msg_has (&err, "closed");
    assert_int_equal (xf_case_extend (c, OFFICE, TODAY + 2, 10, "复杂", &LIM, &err), XF_ESTATE);
    assert_msg_has (&err, "closed");
    assert_int_equal (xf_case_accept (c, OFFICE, TODAY + 2, true, &LIM, &err), XF_ESTATE);
    assert_msg_has (&err, "closed");
    assert_unchanged (&before, c);
    xf_case_destroy (&c);
}

/* ---------------------------------------------------------------- extend */

static void test_extend (void **state)
{
    (void) state;
    xf_err_t err = {0, ""};
    xf_case_t *c = accepted_case (TODAY, true);
    xf_day_t due = c->handle_due;
    assert_int_equal (xf_case_extend (c, OFFICE, TODAY + 30, 30, "涉及多个部门", &LIM, &err), XF_OK);
    assert_int_equal (c->handle_due, due + 30);
    assert_int_equal (c->extension_days, 30);
    assert_int_not_equal (c->flags & XF__CASE_FLAG__FLAG_EXTENDED, 0);
    assert_int_equal (c->status, XF__STATUS__IN_PROGRESS);
    xf_case_destroy (&c);

    /* on the deadline day itself it is still allowed */
    c = accepted_case (TODAY, true);
    due = c->handle_due;
    assert_int_equal (xf_case_extend (c, OFFICE, due, 1, "补充调查", &LIM, &err), XF_OK);
    assert_int_equal (c->handle_due, due + 1);
    assert_int_equal (c->extension_days, 1);
    xf_case_destroy (&c);
}

static void test_extend_once_only (void **state)
{
    (void) state;
    xf_err_t err = {0, ""};
    xf_case_t *c = accepted_case (TODAY, true);
    assert_int_equal (xf_case_extend (c, OFFICE, TODAY + 1, 10, "涉及多个部门", &LIM, &err), XF_OK);
    snap_t before = snap (c);
    assert_int_equal (xf_case_extend (c, OFFICE, TODAY + 2, 10, "还要再延", &LIM, &err), XF_ESTATE);
    assert_msg_has (&err, "one extension");
    assert_msg_has (&err, "10 days");
    assert_unchanged (&before, c);
    xf_case_destroy (&c);
}

static void test_extend_days_out_of_range (void **state)
{
    (void) state;
    xf_err_t err = {0, ""};
    xf_case_t *c = accepted_case (TODAY, true);
    int bad[] = {0, 31, -5};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        snap_t before = snap (c);
        err = (xf_err_t) {0, ""};
        assert_int_equal (xf_case_extend (c, OFFICE, TODAY + 1, bad[i], "原因", &LIM, &err), XF_EINVAL);
        assert_msg_has (&err, "max_extension_days");
        assert_msg_has (&err, "30");
        assert_unchanged (&before, c);
    }
    xf_case_destroy (&c);

    /* the configured maximum is the limit, not 30 */
    xf_limits_t lim = {.accept_days = 15, .handle_days = 60, .max_extension_days = 20};
    c = accepted_case (TODAY, true);
    snap_t before = snap (c);
    assert_int_equal (xf_case_extend (c, OFFICE, TODAY + 1, 21, "原因", &lim, &err), XF_EINVAL);
    assert_msg_has (&err, "20");
    assert_unchanged (&before, c);
    assert_int_equal (xf_case_extend (c, OFFICE, TODAY + 1, 20, "原因", &lim, &err), XF_OK);
    xf_case_destroy (&c);
}

static void test_extend_after_deadline_refused (void **state)
{
    (void) state;
    xf_err_t err = {0, ""};
    xf_case_t *c = accepted_case (TODAY, true);
    snap_t before = snap (c);
    assert_int_equal (xf_case_extend (c, OFFICE, c->handle_due + 1, 10, "晚了", &LIM, &err), XF_ESTATE);
    assert_msg_has (&err, "deadline");
    char due[11];
    xf_day_format (c->handle_due, due);
    assert_msg_has (&err, due);
    assert_unchanged (&before, c);
    xf_case_destroy (&c);
}

static void test_extend_registered_refused (void **state)
{
    (void) state;
    xf_err_t err = {0, ""};
    xf_case_t *c = registered_case ();
    snap_t before = snap (c);
    assert_int_equal (xf_case_extend (c, OFFICE, TODAY, 10, "原因", &LIM, &err), XF_ESTATE);
    assert_msg_has (&err, "registered");
    assert_unchanged (&before, c);
    xf_case_destroy (&c);
}

static void test_extend_without_reason_refused (void **state)
{
    (void) state;
    xf_err_t err = {0, ""};
    xf_case_t *c = accepted_case (TODAY, true);
    snap_t before = snap (c);
    assert_int_equal (xf_case_extend (c, OFFICE, TODAY, 10, "", &LIM, &err), XF_EINVAL);
    assert_msg_has (&err, "reason");
    assert_unchanged (&before, c);
    xf_case_destroy (&c);
}

/* ---------------------------------------------------------------- close */

static void test_close_on_time (void **state)
{
    (void) state;
    xf_err_t err = {0, ""};
    xf_case_t *c = accepted_case (TODAY, true);
    c->flags |= XF__CASE_FLAG__FLAG_OVERDUE;   /* stale flag from a scan: cleared by closing */
    assert_int_equal (xf_case_close (c, OFFICE, c->handle_due, "已书面答复信访人", &err), XF_OK);
    assert_int_equal (c->status, XF__STATUS__CLOSED);
    assert_int_equal (c->closed, TODAY + 60);
    assert_string_equal (c->reply, "已书面答复信访人");
    assert_int_equal (c->flags & XF__CASE_FLAG__FLAG_LATE, 0);
    assert_int_equal (c->flags & XF__CASE_FLAG__FLAG_OVERDUE, 0);
    assert_int_equal (xf_case_due (c), 0);
    xf_case_destroy (&c);
}

static void test_close_late_sets_late (void **state)
{
    (void) state;
    xf_err_t err = {0, ""};
    xf_case_t *c = accepted_case (TODAY, true);
    assert_int_equal (xf_case_close (c, OFFICE, c->handle_due + 1, "答复", &err), XF_OK);
    assert_int_equal (c->status, XF__STATUS__CLOSED);
    assert_int_not_equal (c->flags & XF__CASE_FLAG__FLAG_LATE, 0);
    xf_case_destroy (&c);

    /* an extension moves the deadline the late flag is measured against */
    c = accepted_case (TODAY, true);
    xf_day_t old_due = c->handle_due;
    assert_int_equal (xf_case_extend (c, OFFICE, TODAY + 1, 30, "原因", &LIM, &err), XF_OK);
    assert_int_equal (xf_case_close (c, OFFICE, old_due + 10, "答复", &err), XF_OK);
    assert_int_equal (c->flags & XF__CASE_FLAG__FLAG_LATE, 0);
    xf_case_destroy (&c);
}

static void test_close_without_reply (void **state)
{
    (void) state;
    xf_err_t err = {0, ""};
    xf_case_t *c = accepted_case (TODAY, true);
    snap_t before = snap (c);
    assert_int_equal (xf_case_close (c, OFFICE, TODAY + 1, "", &err), XF_EINVAL);
    assert_msg_has (&err, "reply");
    assert_unchanged (&before, c);
    before = snap (c);
    assert_int_equal (xf_case_close (c, OFFICE, TODAY + 1, NULL, &err), XF_EINVAL);
    assert_msg_has (&err, "reply");
    assert_unchanged (&before, c);
    xf_case_destroy (&c);
}

static void test_close_registered_refused (void **state)
{
    (void) state;
    xf_err_t err = {0, ""};
    xf_case_t *c = registered_case ();
    snap_t before = snap (c);
    assert_int_equal (xf_case_close (c, OFFICE, TODAY + 1, "答复", &err), XF_ESTATE);
    assert_msg_has (&err, "registered");
    assert_msg_has (&err, "in_progress");
    assert_unchanged (&before, c);
    xf_case_destroy (&c);
}

/* The 交办 chain as xf_case_move leaves it: `by` assigned the case to OFFICE. */
static void assigned_by (xf_case_t *c, const char *by)
{
    c->n_assigned_by = c->n_assigned_to = 1;
    c->assigned_by = malloc (sizeof *c->assigned_by);
    c->assigned_to = malloc (sizeof *c->assigned_to);
    assert_non_null (c->assigned_by);
    assert_non_null (c->assigned_to);
    c->assigned_by[0] = strdup (by);
    c->assigned_to[0] = strdup (OFFICE);
    assert_int_equal (xf_case_set (&c->supervisor, by), XF_OK);
}

static void test_close_of_assigned_case_refused (void **state)
{
    (void) state;
    xf_err_t err = {0, ""};
    xf_case_t *c = accepted_case (TODAY, true);
    assigned_by (c, OTHER);
    snap_t before = snap (c);
    assert_int_equal (xf_case_close (c, OFFICE, TODAY + 1, "答复", &err), XF_ESTATE);
    assert_msg_has (&err, OTHER);
    assert_msg_has (&err, "report");
    assert_unchanged (&before, c);
    xf_case_destroy (&c);
}

/* ---------------------------------------------------------------- ownership */

static void test_non_owner_refused (void **state)
{
    (void) state;
    xf_err_t err = {0, ""};
    xf_case_t *c = registered_case ();
    snap_t before = snap (c);
    assert_int_equal (xf_case_check_owner (c, OTHER, "accept", &err), XF_EPERM);
    assert_msg_has (&err, OFFICE);
    assert_int_equal (xf_case_check_owner (c, OFFICE, "accept", &err), XF_OK);

    err = (xf_err_t) {0, ""};
    assert_int_equal (xf_case_accept (c, OTHER, TODAY, true, &LIM, &err), XF_EPERM);
    assert_msg_has (&err, "owned by office " OFFICE);
    assert_msg_has (&err, "accept");
    err = (xf_err_t) {0, ""};
    assert_int_equal (xf_case_reject (c, OTHER, TODAY, "原因", &err), XF_EPERM);
    assert_msg_has (&err, OFFICE);
    assert_msg_has (&err, "reject");
    assert_unchanged (&before, c);

    assert_int_equal (xf_case_accept (c, OFFICE, TODAY, true, &LIM, &err), XF_OK);
    before = snap (c);
    err = (xf_err_t) {0, ""};
    assert_int_equal (xf_case_extend (c, OTHER, TODAY, 10, "原因", &LIM, &err), XF_EPERM);
    assert_msg_has (&err, OFFICE);
    assert_msg_has (&err, "extend");
    err = (xf_err_t) {0, ""};
    assert_int_equal (xf_case_close (c, OTHER, TODAY, "答复", &err), XF_EPERM);
    assert_msg_has (&err, OFFICE);
    assert_msg_has (&err, "close");
    /* ownership is checked before anything else: a missing reply still says "owner" */
    err = (xf_err_t) {0, ""};
    assert_int_equal (xf_case_close (c, OTHER, TODAY, "", &err), XF_EPERM);
    assert_msg_has (&err, OFFICE);
    assert_unchanged (&before, c);
    xf_case_destroy (&c);
}

/* ---------------------------------------------------------------- deadlines, ids */

static void test_is_overdue_boundaries (void **state)
{
    (void) state;
    xf_err_t err = {0, ""};
    xf_case_t *c = registered_case ();
    assert_int_equal (xf_case_due (c), c->accept_due);
    assert_false (xf_case_is_overdue (c, TODAY));
    assert_false (xf_case_is_overdue (c, c->accept_due));
    assert_true (xf_case_is_overdue (c, c->accept_due + 1));
    assert_true (xf_case_is_overdue (c, c->accept_due + 400));

    assert_int_equal (xf_case_accept (c, OFFICE, TODAY + 1, true, &LIM, &err), XF_OK);
    assert_int_equal (xf_case_due (c), TODAY + 61);
    assert_false (xf_case_is_overdue (c, c->accept_due + 1));   /* a new stage, a new deadline */
    assert_false (xf_case_is_overdue (c, c->handle_due));
    assert_true (xf_case_is_overdue (c, c->handle_due + 1));

    assert_int_equal (xf_case_close (c, OFFICE, c->handle_due + 5, "答复", &err), XF_OK);
    assert_int_equal (xf_case_due (c), 0);
    assert_false (xf_case_is_overdue (c, c->handle_due + 100));
    xf_case_destroy (&c);

    c = registered_case ();
    assert_int_equal (xf_case_reject (c, OFFICE, TODAY, "不予受理", &err), XF_OK);
    assert_false (xf_case_is_overdue (c, c->accept_due + 100));
    xf_case_destroy (&c);
}

static void test_format_id (void **state)
{
    (void) state;
    xf_err_t err = {0, ""};
    char id[XF_CASE_ID_MAX];
    assert_int_equal (xf_case_format_id (id, OFFICE, 2026, 1, &err), XF_OK);
    assert_string_equal (id, "411324-2026-000001");
    assert_int_equal (xf_case_format_id (id, OFFICE, 2026, 42, &err), XF_OK);
    assert_string_equal (id, "411324-2026-000042");
    assert_int_equal (xf_case_format_id (id, "411302001", 2027, 999999, &err), XF_OK);
    assert_string_equal (id, "411302001-2027-999999");

    memcpy (id, "untouched", 10);
    assert_int_equal (xf_case_format_id (id, OFFICE, 2026, 1000000, &err), XF_ESTATE);
    assert_msg_has (&err, "999999");
    assert_msg_has (&err, OFFICE);
    assert_msg_has (&err, "2026");
    err = (xf_err_t) {0, ""};
    assert_int_equal (xf_case_format_id (id, OFFICE, 2026, 0, &err), XF_ESTATE);
    assert_int_equal (err.code, XF_ESTATE);
}

/* ---------------------------------------------------------------- records */

static void test_pack_copy_set (void **state)
{
    (void) state;
    xf_err_t err = {0, ""};
    xf_case_t *c = accepted_case (TODAY, true);
    xf_case_t *copy = xf_case_copy (c);
    assert_non_null (copy);
    assert_string_equal (copy->id, CASE_ID);
    assert_string_equal (copy->petitioner->name, "张三");
    assert_int_equal (copy->handle_due, c->handle_due);
    assert_true (copy->filed);

    size_t len;
    uint8_t *buf = xf_case_pack (c, &len);
    assert_non_null (buf);
    xf_case_t *u = xf_case_unpack (buf, len, &err);
    assert_non_null (u);
    assert_string_equal (u->summary, c->summary);
    assert_int_equal (u->status, XF__STATUS__IN_PROGRESS);
    xf_case_destroy (&u);
    /* garbage does not decode */
    static const uint8_t junk[] = {0xff, 0xff, 0xff, 0xff, 0xff};
    assert_null (xf_case_unpack (junk, sizeof junk, &err));
    assert_int_equal (err.code, XF_ESTORE);
    free (buf);

    /* set replaces, NULL means empty */
    assert_int_equal (xf_case_set (&copy->reply, "一"), XF_OK);
    assert_int_equal (xf_case_set (&copy->reply, "二"), XF_OK);
    assert_string_equal (copy->reply, "二");
    assert_int_equal (xf_case_set (&copy->reply, NULL), XF_OK);
    assert_string_equal (copy->reply, "");
    xf_case_destroy (&copy);
    assert_null (copy);
    xf_case_destroy (&copy);   /* NULL-safe */
    xf_case_destroy (NULL);
    xf_case_destroy (&c);
}

int main (void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test (test_channel_vocabulary),
        cmocka_unit_test (test_category_vocabulary),
        cmocka_unit_test (test_rank_vocabulary),
        cmocka_unit_test (test_status_vocabulary),
        cmocka_unit_test (test_id_number_valid_18),
        cmocka_unit_test (test_id_number_lowercase_x),
        cmocka_unit_test (test_id_number_wrong_check_digit),
        cmocka_unit_test (test_id_number_15_digits),
        cmocka_unit_test (test_id_number_letters_and_lengths),
        cmocka_unit_test (test_check_new_accepts_valid),
        cmocka_unit_test (test_check_new_missing_channel),
        cmocka_unit_test (test_check_new_missing_category),
        cmocka_unit_test (test_check_new_missing_summary),
        cmocka_unit_test (test_check_new_summary_too_long),
        cmocka_unit_test (test_check_new_received_after_today),
        cmocka_unit_test (test_check_new_subject_9),
        cmocka_unit_test (test_check_new_headcount_0),
        cmocka_unit_test (test_check_new_anonymous_with_name),
        cmocka_unit_test (test_check_new_bad_id_number),
        cmocka_unit_test (test_check_new_bad_phone),
        cmocka_unit_test (test_check_new_bad_accused_rank),
        cmocka_unit_test (test_register_fills_in),
        cmocka_unit_test (test_register_group_flag),
        cmocka_unit_test (test_accept),
        cmocka_unit_test (test_accept_late_clears_overdue),
        cmocka_unit_test (test_accept_twice_refused),
        cmocka_unit_test (test_reject),
        cmocka_unit_test (test_reject_without_reason),
        cmocka_unit_test (test_reject_after_accept_refused),
        cmocka_unit_test (test_decisions_on_closed_or_rejected_refused),
        cmocka_unit_test (test_extend),
        cmocka_unit_test (test_extend_once_only),
        cmocka_unit_test (test_extend_days_out_of_range),
        cmocka_unit_test (test_extend_after_deadline_refused),
        cmocka_unit_test (test_extend_registered_refused),
        cmocka_unit_test (test_extend_without_reason_refused),
        cmocka_unit_test (test_close_on_time),
        cmocka_unit_test (test_close_late_sets_late),
        cmocka_unit_test (test_close_without_reply),
        cmocka_unit_test (test_close_registered_refused),
        cmocka_unit_test (test_close_of_assigned_case_refused),
        cmocka_unit_test (test_non_owner_refused),
        cmocka_unit_test (test_is_overdue_boundaries),
        cmocka_unit_test (test_format_id),
        cmocka_unit_test (test_pack_copy_set),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
