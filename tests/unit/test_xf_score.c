/* test_xf_score.c — 目标管理 scoring (lib/xf_score.c) and its [score] config: the defaults of
 * seed 002 (+4 per case filed above the 立案基数, −2 per whole 5 points of on-time rate below
 * target), a base per office, points off per overdue case, the office's own row and missing
 * offices not scored, and bad filed_bases lines refused with their line. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>
#include "xf_score.h"

#define NODE "[node]\ncode = 410000\nname = 河南省委组织部\ndata_dir = /tmp/x\n"

static xf_conf_t *conf_of (const char *text)
{
    xf_err_t err = {0, ""};
    xf_conf_t *c = xf_conf_parse (text, "t.conf", &err);
    if (!c)
        fail_msg ("%s", err.msg);
    return c;
}

/* A consolidated report of 410000 with rows (code, filed, due, closed_on_time, overdue);
 * due < 0 makes the row missing. */
static json_t *report (const json_int_t rows[][5], size_t n)
{
    json_t *offices = json_array ();
    for (size_t i = 0; i < n; i++) {
        char code[8];
        snprintf (code, sizeof code, "%06lld", (long long) rows[i][0]);
        json_t *t = rows[i][2] < 0 ? json_null ()
                  : json_pack ("{s:I,s:I,s:I,s:I}", "filed", rows[i][1], "due", rows[i][2],
                               "closed_on_time", rows[i][3], "overdue", rows[i][4]);
        json_array_append_new (offices, json_pack ("{s:s,s:s,s:s,s:o}", "code", code, "name", "x",
                                                   "source", rows[i][2] < 0 ? "missing" : "live",
                                                   "totals", t));
    }
    return json_pack ("{s:s,s:s,s:b,s:o}", "office", "410000", "period", "2026", "partial", 0,
                      "offices", offices);
}

static const json_t *score_of (const json_t *scores, const char *code)
{
    size_t i;
    json_t *s;
    json_array_foreach (json_object_get (scores, "scores"), i, s)
        if (strcmp (json_string_value (json_object_get (s, "code")), code) == 0)
            return json_object_get (s, "score");
    fail_msg ("no score for %s", code);
    return NULL;
}

static void test_seed_002_defaults (void **state)
{
    (void) state;
    xf_conf_t *c = conf_of (NODE "[score]\nfiled_base = 5\n");
    const json_int_t rows[][5] = {
        {410000, 50, 50, 50, 0},   /* the office itself: not scored */
        {411300, 8, 20, 17, 0},    /* +3 filed ×4 = +12; 85% is 15 points below: 3 steps ×2 */
        {411100, 5, 25, 24, 0},    /* 96%: 4 points below, not a whole step */
        {411400, 2, 0, 0, 0},      /* below the base: no bonus, and no rate without due cases */
        {411500, 0, -1, 0, 0},     /* missing */
    };
    json_t *r = report (rows, 5), *s = xf_score (c, r);
    assert_int_equal (json_array_size (json_object_get (s, "scores")), 4);
    assert_int_equal (json_integer_value (score_of (s, "411300")), 100 + 12 - 6);
    assert_int_equal (json_integer_value (score_of (s, "411100")), 100);
    assert_int_equal (json_integer_value (score_of (s, "411400")), 100);
    assert_true (json_is_null (score_of (s, "411500")));
    json_decref (s), json_decref (r);
    xf_conf_destroy (&c);
}

static void test_bases_and_overdue (void **state)
{
    (void) state;
    xf_conf_t *c = conf_of (NODE "[score]\npoints = 90\nfiled_bases = 411300:10, 411100 : 1\n"
                            "per_filed_above = 3\non_time_target = 90\nper_5_points_below = 5\n"
                            "per_overdue = 2\n");
    const json_int_t rows[][5] = {
        {411300, 12, 10, 7, 1},    /* +2 ×3; 70% is 20 below 90: 4 steps ×5; 1 overdue ×2 */
        {411100, 1, 10, 10, 0},
    };
    json_t *r = report (rows, 2), *s = xf_score (c, r);
    assert_int_equal (json_integer_value (score_of (s, "411300")), 90 + 6 - 20 - 2);
    assert_int_equal (json_integer_value (score_of (s, "411100")), 90);
    assert_int_equal (json_integer_value (json_object_get (
                          json_object_get (json_object_get (s, "rules"), "filed_bases"), "411100")), 1);
    json_decref (s), json_decref (r);
    xf_conf_destroy (&c);
}

static void test_bad_rules_refused (void **state)
{
    (void) state;
    const char *bad[] = {"filed_bases = 411300\n", "filed_bases = 411300:x\n",
                         "filed_bases = 41130:3\n", "filed_bases = 411300:1, 411300:2\n",
                         "per_filed_above = 101\n", "on_time_target = -1\n"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        char text[512];
        xf_err_t err = {0, ""};
        snprintf (text, sizeof text, NODE "[score]\n%s", bad[i]);
        assert_null (xf_conf_parse (text, "t.conf", &err));
        assert_non_null (strstr (err.msg, "t.conf:6:"));
    }
    xf_conf_t *c = conf_of (NODE "[stats]\npull_seconds = 30\n");
    assert_int_equal (c->pull_seconds, 30);
    assert_int_equal (c->score_per_filed_above, 4);
    xf_conf_destroy (&c);
    xf_err_t err = {0, ""};
    assert_null (xf_conf_parse (NODE "[stats]\npull_seconds = 0\n", "t.conf", &err));
}

int main (void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test (test_seed_002_defaults),
        cmocka_unit_test (test_bases_and_overdue),
        cmocka_unit_test (test_bad_rules_refused),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
