/* test_xf_office_review.c — 复查, 复核 and 终结 between offices (lib/xf_office_review.c,
 * xf_case_review.c) on a tree of four real stores (province 410000 → city 411300 → counties
 * 411324, 411326): the city reviews a county's reply, the province re-examines the city's
 * (asking the registering county first, which names the owner), the matter is then final and
 * a new registration of it refused; late requests, requests at the wrong office and of an
 * open case are refused with what applies, and the asking office can tell why. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "xf_case_json.h"
#include "xf_test_offices.h"

#define PROV "410000"
#define CITY "411300"
#define ZP "411324"
#define XC "411326"
#define N_OFFICES 4

static const xf_limits_t LIM = {.accept_days = 15, .handle_days = 60, .max_extension_days = 30};

typedef struct {
    xf_test_office_t o[N_OFFICES];   /* prov, city, zp, xc */
    xf_actor_t who;
    xf_test_tally_t tally;
} fx_t;

static xf_test_office_t *at (fx_t *fx, const char *code)
{
    return xf_test_at (fx->o, N_OFFICES, code);
}

static int setup (void **state)
{
    fx_t *fx = calloc (1, sizeof *fx);
    if (!fx || xf_test_tree_open (fx->o, &LIM, "test_xf_office_review"))
        return -1;
    fx->who = (xf_actor_t) {xf_day_start (xf_day_from_ymd (2026, 11, 2)) + 9 * 3600, 1000, "clerk"};
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

static void settle (fx_t *fx)
{
    xf_test_settle (fx->o, N_OFFICES, fx->who.now, &fx->tally);
}

static void later (fx_t *fx, int days)
{
    fx->who.now += days * 86400;
}

static xf_case_t *petition (bool new_matter)
{
    xf_case_t *c = xf_case_new ();
    c->channel = XF__CHANNEL__LETTER;
    c->category = XF__CATEGORY__APPEAL;
    c->subject = 3;
    c->new_matter = new_matter;
    xf_case_set (&c->summary, "对征地补偿答复不服");
    c->headcount = 1;
    c->petitioner = malloc (sizeof *c->petitioner);
    xf__petitioner__init (c->petitioner);
    xf_case_set (&c->petitioner->name, "李四");
    xf_case_set (&c->petitioner->id_number, "411324198001010018");
    return c;
}

static int try_register (fx_t *fx, const char *code, bool new_matter, char id[XF_CASE_ID_MAX],
                         xf_err_t *err)
{
    xf_case_t *c = petition (new_matter);
    c->received = xf_day_of_time (fx->who.now);
    *err = (xf_err_t) {0, ""};
    int rc = xf_office_register (at (fx, code)->office, &fx->who, c, err);
    if (rc == XF_OK && id)
        snprintf (id, XF_CASE_ID_MAX, "%s", c->id);
    xf_case_destroy (&c);
    return rc;
}

static void must (int rc, const char *what, const xf_err_t *err)
{
    if (rc != XF_OK)
        fail_msg ("%s: %s", what, err->msg);
}

/* A case the county registers, accepts and answers. */
static void answered_at_county (fx_t *fx, char id[XF_CASE_ID_MAX])
{
    xf_err_t err = {0, ""};
    must (try_register (fx, ZP, false, id, &err), "register", &err);
    must (xf_office_accept (at (fx, ZP)->office, &fx->who, id, true, &err), "accept", &err);
    must (xf_office_close (at (fx, ZP)->office, &fx->who, id, "维持原补偿标准", &err), "close", &err);
    settle (fx);
}

static int review (fx_t *fx, const char *code, const char *id, char asked_of[XF_OFFICE_CODE_LEN],
                   xf_err_t *err)
{
    *err = (xf_err_t) {0, ""};
    int rc = xf_office_review (at (fx, code)->office, &fx->who, id, "对答复不服", asked_of, err);
    settle (fx);
    return rc;
}

static xf_case_t *get (fx_t *fx, const char *code, const char *id)
{
    xf_err_t err = {0, ""};
    xf_case_t *c = xf_office_get (at (fx, code)->office, id, &err);
    if (!c)
        fail_msg ("%s at %s: %s", id, code, err.msg);
    return c;
}

static json_t *history (fx_t *fx, const char *code, const char *id)
{
    xf_err_t err = {0, ""};
    json_t *h = xf_office_history (at (fx, code)->office, id, &err);
    if (!h)
        fail_msg ("history of %s at %s: %s", id, code, err.msg);
    return h;
}

/* Why case show at code does not find the case. */
static void assert_not_here_because (fx_t *fx, const char *code, const char *id, const char *phrase)
{
    xf_err_t err = {0, ""};
    xf_case_t *c = xf_office_get (at (fx, code)->office, id, &err);
    assert_null (c);
    if (!strstr (err.msg, phrase))
        fail_msg ("\"%s\" does not say \"%s\"", err.msg, phrase);
}

/* ---------------------------------------------------------------- tests */

/* 复查 at the city, 复核 at the province, then 终结: each review takes the case with its whole
 * history, is due in 30 days, and every office that held it ends with the same history. */
static void test_review_chain_to_final (void **state)
{
    fx_t *fx = *state;
    char id[XF_CASE_ID_MAX], asked[XF_OFFICE_CODE_LEN], again[XF_CASE_ID_MAX];
    xf_err_t err = {0, ""};
    answered_at_county (fx, id);
    later (fx, 20);
    must (review (fx, CITY, id, asked, &err), "复查", &err);
    assert_string_equal (asked, ZP);
    xf_case_t *c = get (fx, CITY, id);
    assert_string_equal (c->owner, CITY);
    assert_int_equal (c->status, XF__STATUS__IN_PROGRESS);
    assert_int_equal (c->review_level, 1);
    assert_int_equal (c->handle_due, xf_day_of_time (fx->who.now) + XF_REVIEW_DECIDE_DAYS);
    xf_case_destroy (&c);
    must (xf_office_close (at (fx, CITY)->office, &fx->who, id, "复查维持", &err), "close 复查", &err);
    settle (fx);

    later (fx, 29);
    must (review (fx, PROV, id, asked, &err), "复核", &err);
    assert_string_equal (asked, ZP);   /* the province did not hold it: it asked the county */
    c = get (fx, PROV, id);
    assert_string_equal (c->owner, PROV);
    assert_int_equal (c->review_level, 2);
    xf_case_destroy (&c);
    must (xf_office_close (at (fx, PROV)->office, &fx->who, id, "复核维持", &err), "close 复核", &err);
    settle (fx);
    c = get (fx, ZP, id);
    assert_true (c->flags & XF__CASE_FLAG__FLAG_FINAL);
    xf_case_destroy (&c);

    json_t *h = history (fx, PROV, id);
    const char *const offices[] = {ZP, CITY};
    for (size_t i = 0; i < 2; i++) {
        json_t *other = history (fx, offices[i], id);
        assert_true (json_equal (h, other));
        json_decref (other);
    }
    assert_int_equal (json_array_size (json_object_get (h, "events")), 7);
    json_decref (h);

    assert_int_equal (review (fx, CITY, id, asked, &err), XF_ESTATE);
    assert_non_null (strstr (err.msg, "final (终结)"));
    assert_int_equal (try_register (fx, ZP, false, again, &err), XF_ESTATE);
    assert_non_null (strstr (err.msg, id));
    assert_non_null (strstr (err.msg, "--new-matter"));
    must (try_register (fx, ZP, true, again, &err), "register a new matter", &err);
}

/* A request after the 30 days is refused by the owner with the last day that applied, and
 * the asking office can say so; so is one at an office that is not directly above the one
 * that replied, and one for a case not answered yet. Nothing moves. */
static void test_review_refusals (void **state)
{
    fx_t *fx = *state;
    char id[XF_CASE_ID_MAX], open[XF_CASE_ID_MAX], asked[XF_OFFICE_CODE_LEN];
    xf_err_t err = {0, ""};
    answered_at_county (fx, id);
    later (fx, 31);
    must (review (fx, CITY, id, asked, &err), "late 复查 is still asked", &err);
    assert_not_here_because (fx, CITY, id, "had to be asked within 30 days, by 2026-12-02");
    xf_case_t *c = get (fx, ZP, id);
    assert_string_equal (c->owner, ZP);
    assert_int_equal (c->status, XF__STATUS__CLOSED);
    xf_case_destroy (&c);

    answered_at_county (fx, id);
    must (review (fx, XC, id, asked, &err), "a sibling asks", &err);
    assert_not_here_because (fx, XC, id, "directly above office 411324");
    assert_int_equal (review (fx, PROV, id, asked, &err), XF_OK);
    assert_not_here_because (fx, PROV, id, "directly above office 411324");

    must (try_register (fx, ZP, false, open, &err), "register", &err);
    settle (fx);
    assert_int_equal (review (fx, CITY, open, asked, &err), XF_OK);
    assert_not_here_because (fx, CITY, open, "a review is asked after the reply");
    assert_int_equal (review (fx, ZP, id, asked, &err), XF_EPERM);   /* its own reply */
    assert_int_equal (xf_office_review (at (fx, CITY)->office, &fx->who, id, "", asked, &err), XF_EINVAL);
    assert_int_equal (xf_office_review (at (fx, CITY)->office, &fx->who, "411324-26-1", "对答复不服",
                                        asked, &err), XF_EINVAL);
    must (review (fx, CITY, id, asked, &err), "复查 at the right office, in time", &err);
    c = get (fx, CITY, id);
    assert_string_equal (c->owner, CITY);
    xf_case_destroy (&c);
}

int main (void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown (test_review_chain_to_final, setup, teardown),
        cmocka_unit_test_setup_teardown (test_review_refusals, setup, teardown),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
