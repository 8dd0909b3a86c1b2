/* test_xf_office_stats.c — the statistics report and the consolidated pull
 * (lib/xf_office_stats.c, lib/xf_office_snapshot.c) on the tree of four real stores, with a
 * hand-moved millisecond clock: a pull sums every office's own row exactly once; a county
 * that does not answer is filled from the snapshot it sent, one that never sent any is named
 * missing and the report partial; a late answer is ignored; snapshots, replies and requests
 * from the wrong office, or about offices not below it or named twice, are refused and change
 * nothing; the report's shares are exact and
 * the same period a year earlier is compared. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "xf_office_int.h"   /* xf_office_send, to forge what a wrong office would send */
#include "xf_test_offices.h"

#define PROV XF_TEST_PROV
#define CITY XF_TEST_CITY
#define ZP   XF_TEST_ZP
#define XC   XF_TEST_XC
#define N_OFFICES 4

static const xf_limits_t LIM = {.accept_days = 15, .handle_days = 60, .max_extension_days = 30};
static int64_t fake_ms;

static int64_t clock_ms (void)
{
    return fake_ms;
}

typedef struct {
    xf_test_office_t o[N_OFFICES];
    xf_actor_t who;
    xf_test_tally_t tally;
} fx_t;

static xf_test_office_t *at (fx_t *fx, const char *code)
{
    return xf_test_at (fx->o, N_OFFICES, code);
}

static void register_n (fx_t *fx, const char *office, int n, int category, char *first_id)
{
    for (int i = 0; i < n; i++) {
        xf_err_t err = {0, ""};
        xf_case_t *c = xf_case_new ();
        c->channel = i % 2 ? XF__CHANNEL__VISIT : XF__CHANNEL__LETTER;
        c->category = category;
        xf_case_set (&c->summary, "统计测试");
        c->received = xf_day_of_time (fx->who.now);
        c->headcount = 1;
        if (xf_office_register (at (fx, office)->office, &fx->who, c, &err) != XF_OK)
            fail_msg ("register at %s: %s", office, err.msg);
        if (first_id && i == 0)
            snprintf (first_id, XF_CASE_ID_MAX, "%s", c->id);
        xf_case_destroy (&c);
    }
}

/* 镇平 2 cases (one escalated to 南阳), 淅川 1, 南阳 1, the province 1: in November 2026. */
static int setup (void **state)
{
    fx_t *fx = calloc (1, sizeof *fx);
    if (!fx || xf_test_tree_open (fx->o, &LIM, "test_xf_office_stats"))
        return -1;
    for (int i = 0; i < N_OFFICES; i++)
        xf_office_set_clock_ms (fx->o[i].office, clock_ms);
    fake_ms = 1000000;
    fx->who = (xf_actor_t) {xf_day_start (xf_day_from_ymd (2026, 11, 2)) + 9 * 3600, 1000, "clerk"};
    char id[XF_CASE_ID_MAX];
    const char *ids[] = {id};
    xf_err_t err = {0, ""};
    register_n (fx, ZP, 2, XF__CATEGORY__ACCUSATION, id);
    register_n (fx, XC, 1, XF__CATEGORY__APPEAL, NULL);
    register_n (fx, CITY, 1, XF__CATEGORY__APPEAL, NULL);
    register_n (fx, PROV, 1, XF__CATEGORY__INQUIRY, NULL);
    xf_move_req_t m = {.kind = XF_MOVE_ESCALATE, .text = "上报"};
    if (xf_office_move (at (fx, ZP)->office, &fx->who, NULL, ids, 1, &m, NULL, &err) != XF_OK)
        fail_msg ("escalate: %s", err.msg);
    xf_test_settle (fx->o, N_OFFICES, fx->who.now, &fx->tally);
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

static xf_period_t period (const char *label)
{
    xf_period_t p;
    xf_err_t err = {0, ""};
    if (xf_period_parse (label, &p, &err) != XF_OK)
        fail_msg ("%s", err.msg);
    return p;
}

static uint64_t start_pull (fx_t *fx, const char *office, const char *label)
{
    xf_period_t p = period (label);
    uint64_t id = 0;
    xf_err_t err = {0, ""};
    if (xf_office_pull (at (fx, office)->office, &p, fx->who.now, 10000, &id, &err) != XF_OK)
        fail_msg ("pull at %s: %s", office, err.msg);
    return id;
}

/* The report of pull id, or NULL while it is still gathering. */
static json_t *report (fx_t *fx, const char *office, uint64_t id)
{
    json_t *r = NULL;
    int64_t wait = 0;
    xf_err_t err = {0, ""};
    if (xf_office_pull_report (at (fx, office)->office, id, fx->who.now, &r, &wait, &err) != XF_OK)
        fail_msg ("report at %s: %s", office, err.msg);
    return r;
}

static const json_t *row (const json_t *r, const char *code)
{
    size_t i;
    json_t *o;
    json_array_foreach (json_object_get (r, "offices"), i, o)
        if (strcmp (json_string_value (json_object_get (o, "code")), code) == 0)
            return o;
    fail_msg ("no row for %s", code);
    return NULL;
}

static json_int_t figure (const json_t *totals, const char *key)
{
    return json_integer_value (json_object_get (totals, key));
}

static void test_pull_counts_each_case_once (void **state)
{
    fx_t *fx = *state;
    uint64_t id = start_pull (fx, PROV, "2026-11");
    assert_null (report (fx, PROV, id));   /* the city has not answered yet */
    xf_test_settle (fx->o, N_OFFICES, fx->who.now, &fx->tally);
    json_t *r = report (fx, PROV, id);
    assert_non_null (r);
    const json_t *t = json_object_get (r, "totals");
    assert_int_equal (figure (t, "received"), 5);   /* the escalated case once, at 镇平 */
    assert_int_equal (figure (t, "escalated"), 1);
    assert_int_equal (json_array_size (json_object_get (r, "offices")), 4);
    assert_int_equal (figure (json_object_get (row (r, ZP), "totals"), "received"), 2);
    assert_int_equal (figure (json_object_get (row (r, CITY), "totals"), "received"), 1);
    assert_string_equal (json_string_value (json_object_get (row (r, XC), "source")), "live");
    assert_true (json_is_false (json_object_get (r, "partial")));
    assert_int_equal (json_array_size (json_object_get (r, "missing")), 0);
    /* month by month: November holds all five */
    const json_t *months = json_object_get (r, "months");
    assert_int_equal (json_array_size (months), 1);
    assert_int_equal (figure (json_object_get (json_array_get (months, 0), "totals"), "received"), 5);
    json_decref (r);
    /* fetched once: the pull is forgotten */
    json_t *again = NULL;
    int64_t wait = 0;
    xf_err_t err = {0, ""};
    assert_int_equal (xf_office_pull_report (at (fx, PROV)->office, id, fx->who.now, &again, &wait,
                                             &err), XF_ENOTFOUND);
    assert_int_equal (fx->tally.refused, 0);
}

/* Applies bytes at `to` in a transaction that then fails: what a rolled-back batch leaves. */
static int apply_then_fail (xf_txn_t *txn, void *arg, xf_err_t *err)
{
    int rc = xf_test_apply_txn (txn, arg, err);
    return rc != XF_OK ? rc : xf_err_set (err, XF_ESTORE, "the batch fails after it (test)");
}

/* The request applied in a batch that rolls back, then again: the city asks its counties
 * anew (the first requests went with the rollback), and each office is in the report once. */
static void test_request_applied_again (void **state)
{
    fx_t *fx = *state;
    uint64_t id = start_pull (fx, PROV, "2026-11");
    xf_test_taken_t t;
    xf_test_take (at (fx, PROV), CITY, &t);
    assert_int_equal (t.n, 1);
    xf_applied_t out;
    assert_int_equal (xf_test_apply_with (at (fx, CITY), PROV, t.bytes[0], t.len[0], fx->who.now,
                                          &out, apply_then_fail), XF_ESTORE);
    xf_test_apply (at (fx, CITY), PROV, t.bytes[0], t.len[0], fx->who.now, &out);
    assert_false (out.refused);
    free (t.bytes[0]);
    xf_test_settle (fx->o, N_OFFICES, fx->who.now, &fx->tally);
    json_t *r = report (fx, PROV, id);
    assert_non_null (r);
    assert_int_equal (json_array_size (json_object_get (r, "offices")), 4);
    assert_int_equal (figure (json_object_get (r, "totals"), "received"), 5);
    assert_int_equal (fx->tally.refused, 0);
    json_decref (r);
}

static void snapshot_tick (fx_t *fx, const char *office)
{
    xf_err_t err = {0, ""};
    if (xf_office_snapshot_tick (at (fx, office)->office, fx->who.now, NULL, &err) != XF_OK)
        fail_msg ("snapshot at %s: %s", office, err.msg);
}

static void test_snapshot_fills_a_silent_county (void **state)
{
    fx_t *fx = *state;
    snapshot_tick (fx, ZP);   /* in November: 镇平 starts reporting from this month */
    snapshot_tick (fx, CITY);
    fx->who.now += 30 * 86400;   /* December: November has closed */
    snapshot_tick (fx, ZP);
    xf_test_carry (at (fx, ZP), at (fx, CITY), fx->who.now, &fx->tally);
    assert_true (xf_office_snapshots_due (at (fx, CITY)->office));
    snapshot_tick (fx, CITY);
    xf_test_carry (at (fx, CITY), at (fx, PROV), fx->who.now, &fx->tally);
    size_t stored = 0;
    xf_err_t err = {0, ""};
    assert_int_equal (xf_office_snapshot_count (at (fx, PROV)->office, &stored, &err), XF_OK);
    assert_int_equal (stored, 1);
    /* a tick with nothing new sends nothing again */
    size_t sent = 9;
    assert_int_equal (xf_office_snapshot_tick (at (fx, ZP)->office, fx->who.now, &sent, &err), XF_OK);
    assert_int_equal (sent, 0);

    /* the pull: 镇平 and 淅川 silent (nothing carried to them) */
    uint64_t id = start_pull (fx, PROV, "2026-11");
    xf_test_carry (at (fx, PROV), at (fx, CITY), fx->who.now, &fx->tally);
    assert_null (report (fx, PROV, id));
    fake_ms += 8000;   /* past the city's share of the time, not the province's */
    size_t replies = 0;
    assert_int_equal (xf_office_pulls_tick (at (fx, CITY)->office, fx->who.now, &replies, &err), XF_OK);
    assert_int_equal (replies, 1);
    xf_test_carry (at (fx, CITY), at (fx, PROV), fx->who.now, &fx->tally);
    json_t *r = report (fx, PROV, id);
    assert_non_null (r);
    const json_t *zp = row (r, ZP), *xc = row (r, XC);
    assert_string_equal (json_string_value (json_object_get (zp, "source")), "snapshot");
    assert_int_equal (figure (json_object_get (zp, "totals"), "received"), 2);
    assert_true (json_is_false (json_object_get (zp, "partial")));
    assert_string_equal (json_string_value (json_object_get (xc, "source")), "missing");
    assert_true (json_is_null (json_object_get (xc, "totals")));
    assert_true (json_is_true (json_object_get (r, "partial")));
    assert_int_equal (figure (json_object_get (r, "totals"), "received"), 4);   /* 淅川's 1 unknown */
    json_decref (r);

    /* 镇平 answers late: noted, not counted anywhere */
    xf_test_settle (fx->o, N_OFFICES, fx->who.now, &fx->tally);
    assert_int_equal (fx->tally.refused, 0);
}

typedef struct {
    xf_office_t *o;
    const char *to;
    Xf__Envelope__BodyCase body;
    void *msg;
    int64_t now;
} forge_t;

static int forge_txn (xf_txn_t *txn, void *arg, xf_err_t *err)
{
    forge_t *f = arg;
    return xf_office_send (txn, f->o, f->to, f->now, f->body, f->msg, 0, err);
}

static void test_wrong_senders_refused (void **state)
{
    fx_t *fx = *state;
    xf_office_t *zp = at (fx, ZP)->office;
    xf_err_t err = {0, ""};
    /* a snapshot sent past the city straight to the province, and a request to the city from
     * below: neither is the sender's to send */
    Xf__StatsSnapshot snap = XF__STATS_SNAPSHOT__INIT;
    snap.office = (char *) ZP;
    snap.month = 202611;
    Xf__Period p = XF__PERIOD__INIT;
    p.first = xf_day_from_ymd (2026, 11, 1);
    p.last = xf_day_from_ymd (2026, 11, 30);
    p.label = (char *) "2026-11";
    Xf__StatsRequest req = XF__STATS_REQUEST__INIT;
    req.request_id = 7;
    req.period = &p;
    req.budget_ms = 1000;
    Xf__StatsReply rep = XF__STATS_REPLY__INIT;
    rep.request_id = 99;
    rep.period = &p;
    struct {
        const char *to;
        Xf__Envelope__BodyCase body;
        void *msg;
    } forged[] = {{PROV, XF__ENVELOPE__BODY_STATS_SNAPSHOT, &snap},
                  {CITY, XF__ENVELOPE__BODY_STATS_REQUEST, &req},
                  {CITY, XF__ENVELOPE__BODY_STATS_REPLY, &rep}};
    for (size_t i = 0; i < 3; i++) {
        forge_t f = {zp, forged[i].to, forged[i].body, forged[i].msg, fx->who.now};
        assert_int_equal (xf_store_write (at (fx, ZP)->store, forge_txn, &f, &err), XF_OK);
    }
    xf_test_settle (fx->o, N_OFFICES, fx->who.now, &fx->tally);
    assert_int_equal (fx->tally.refused, 2);   /* the reply nobody asked for is only noted */
    size_t stored = 9;
    assert_int_equal (xf_office_snapshot_count (at (fx, PROV)->office, &stored, &err), XF_OK);
    assert_int_equal (stored, 0);
}

static void forge (fx_t *fx, const char *to, Xf__Envelope__BodyCase body, void *msg)
{
    xf_err_t err = {0, ""};
    forge_t f = {at (fx, ZP)->office, to, body, msg, fx->who.now};
    if (xf_store_write (at (fx, ZP)->store, forge_txn, &f, &err) != XF_OK)
        fail_msg ("forge: %s", err.msg);
}

/* What a child sends may only be about its own subtree, each office once. */
static void test_wrong_contents_refused (void **state)
{
    fx_t *fx = *state;
    xf_err_t err = {0, ""};
    Xf__OfficeFigures zp = XF__OFFICE_FIGURES__INIT, xc = XF__OFFICE_FIGURES__INIT;
    zp.code = (char *) ZP, zp.source = (char *) "live";
    xc.code = (char *) XC, xc.source = (char *) "live";
    Xf__OfficeFigures *twice[] = {&zp, &zp}, *sideways[] = {&xc};
    Xf__StatsSnapshot claims = XF__STATS_SNAPSHOT__INIT, dup = XF__STATS_SNAPSHOT__INIT,
                      other = XF__STATS_SNAPSHOT__INIT;
    claims.office = (char *) XC, claims.month = 202611;
    dup.office = (char *) ZP, dup.month = 202611, dup.offices = twice, dup.n_offices = 2;
    other.office = (char *) ZP, other.month = 202611, other.offices = sideways, other.n_offices = 1;
    forge (fx, CITY, XF__ENVELOPE__BODY_STATS_SNAPSHOT, &claims);
    forge (fx, CITY, XF__ENVELOPE__BODY_STATS_SNAPSHOT, &dup);
    forge (fx, CITY, XF__ENVELOPE__BODY_STATS_SNAPSHOT, &other);
    xf_test_carry (at (fx, ZP), at (fx, CITY), fx->who.now, &fx->tally);
    assert_int_equal (fx->tally.refused, 3);
    size_t stored = 9;
    assert_int_equal (xf_office_snapshot_count (at (fx, CITY)->office, &stored, &err), XF_OK);
    assert_int_equal (stored, 0);

    /* replies to a real pull of the city: 淅川's row from 镇平, 镇平 twice; then the truth */
    uint64_t id = start_pull (fx, CITY, "2026-11");
    Xf__Period p = XF__PERIOD__INIT;
    p.first = xf_day_from_ymd (2026, 11, 1), p.last = xf_day_from_ymd (2026, 11, 30);
    p.label = (char *) "2026-11";
    Xf__StatsReply bad1 = XF__STATS_REPLY__INIT, bad2 = XF__STATS_REPLY__INIT;
    bad1.request_id = bad2.request_id = id;
    bad1.period = bad2.period = &p;
    bad1.offices = sideways, bad1.n_offices = 1;
    bad2.offices = twice, bad2.n_offices = 2;
    forge (fx, CITY, XF__ENVELOPE__BODY_STATS_REPLY, &bad1);
    forge (fx, CITY, XF__ENVELOPE__BODY_STATS_REPLY, &bad2);
    xf_test_carry (at (fx, ZP), at (fx, CITY), fx->who.now, &fx->tally);
    assert_int_equal (fx->tally.refused, 5);
    assert_null (report (fx, CITY, id));   /* neither counted as 镇平's answer */
    xf_test_settle (fx->o, N_OFFICES, fx->who.now, &fx->tally);
    json_t *r = report (fx, CITY, id);
    assert_non_null (r);
    assert_int_equal (figure (json_object_get (r, "totals"), "received"), 4);
    assert_int_equal (json_array_size (json_object_get (r, "offices")), 3);
    json_decref (r);
}

static void test_report_shares_and_year_earlier (void **state)
{
    fx_t *fx = *state;
    fx->who.now -= 365 * 86400;   /* November 2025: one case */
    register_n (fx, ZP, 1, XF__CATEGORY__APPEAL, NULL);
    fx->who.now += 365 * 86400;
    register_n (fx, ZP, 1, XF__CATEGORY__INQUIRY, NULL);   /* 2026: 3 in all at 镇平 */
    xf_period_t p = period ("2026Q4");
    json_t *r = NULL;
    xf_err_t err = {0, ""};
    assert_int_equal (xf_office_stats_report (at (fx, ZP)->office, &p, fx->who.now, &r, &err), XF_OK);
    const json_t *t = json_object_get (r, "totals"), *cmp = json_object_get (r, "compare");
    assert_int_equal (figure (t, "received"), 3);
    const json_t *shares = json_object_get (json_object_get (t, "shares"), "by_category");
    assert_true (json_real_value (json_object_get (shares, "accusation")) == 2.0 / 3.0);
    assert_true (json_real_value (json_object_get (shares, "inquiry")) == 1.0 / 3.0);
    assert_string_equal (json_string_value (json_object_get (cmp, "period")), "2025Q4");
    assert_int_equal (figure (json_object_get (cmp, "totals"), "received"), 1);
    assert_true (json_real_value (json_object_get (json_object_get (cmp, "change_pct"), "received"))
                 == 200.0);
    /* accusations were 0 a year earlier: no percent change */
    assert_true (json_is_null (json_object_get (
        json_object_get (json_object_get (cmp, "change_pct"), "by_category"), "accusation")));
    assert_int_equal (json_array_size (json_object_get (r, "months")), 3);
    assert_true (json_is_false (json_object_get (r, "consolidated")));
    json_decref (r);
}

int main (void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown (test_pull_counts_each_case_once, setup, teardown),
        cmocka_unit_test_setup_teardown (test_request_applied_again, setup, teardown),
        cmocka_unit_test_setup_teardown (test_snapshot_fills_a_silent_county, setup, teardown),
        cmocka_unit_test_setup_teardown (test_wrong_senders_refused, setup, teardown),
        cmocka_unit_test_setup_teardown (test_wrong_contents_refused, setup, teardown),
        cmocka_unit_test_setup_teardown (test_report_shares_and_year_earlier, setup, teardown),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
