/* test_xf_office_reconcile.c — 对账 between offices that share cases (lib/xf_office_share.c,
 * lib/xf_office_reconcile.c) on the tree of four real stores: digests agree after a normal
 * workflow; an event lost on the way, or a whole case, is found and re-sent whichever side
 * starts; nothing is compared while envelopes are still on the way; a copy from an office
 * that does not hold the case, or one newer than the owner's own record, is refused; and the
 * digests kept as cases change equal those rebuilt from the cases. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "xf_office_int.h"   /* xf_office_send and the share digests */
#include "xf_test_offices.h"

#define PROV XF_TEST_PROV
#define CITY XF_TEST_CITY
#define ZP   XF_TEST_ZP
#define XC   XF_TEST_XC
#define N_OFFICES 4

static const xf_limits_t LIM = {.accept_days = 15, .handle_days = 60, .max_extension_days = 30};

typedef struct {
    xf_test_office_t o[N_OFFICES];
    xf_actor_t who;
    xf_test_tally_t tally;
    char id[XF_CASE_ID_MAX];
} fx_t;

static xf_test_office_t *at (fx_t *fx, const char *code)
{
    return xf_test_at (fx->o, N_OFFICES, code);
}

static void register_at (fx_t *fx, const char *office, char id[XF_CASE_ID_MAX])
{
    xf_err_t err = {0, ""};
    xf_case_t *c = xf_case_new ();
    c->channel = XF__CHANNEL__LETTER;
    c->category = XF__CATEGORY__APPEAL;
    xf_case_set (&c->summary, "反映征地补偿款未发放");
    c->received = xf_day_of_time (fx->who.now);
    c->headcount = 1;
    if (xf_office_register (at (fx, office)->office, &fx->who, c, &err) != XF_OK)
        fail_msg ("register at %s: %s", office, err.msg);
    snprintf (id, XF_CASE_ID_MAX, "%s", c->id);
    xf_case_destroy (&c);
}

static void move (fx_t *fx, const char *office, const char *id, xf_move_t kind, const char *to)
{
    xf_err_t err = {0, ""};
    xf_move_req_t m = {.kind = kind, .to = to, .text = "请依法处理"};
    if (xf_office_move (at (fx, office)->office, &fx->who, NULL, &id, 1, &m, NULL, &err) != XF_OK)
        fail_msg ("move %s at %s: %s", id, office, err.msg);
}

/* Registered at 镇平, escalated to 南阳: shared by the two, everything delivered. */
static int setup (void **state)
{
    fx_t *fx = calloc (1, sizeof *fx);
    if (!fx || xf_test_tree_open (fx->o, &LIM, "test_xf_office_reconcile"))
        return -1;
    fx->who = (xf_actor_t) {xf_day_start (xf_day_from_ymd (2026, 11, 2)) + 9 * 3600, 1000, "clerk"};
    register_at (fx, ZP, fx->id);
    move (fx, ZP, fx->id, XF_MOVE_ESCALATE, NULL);
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

static size_t reconcile (fx_t *fx, const char *office)
{
    xf_err_t err = {0, ""};
    size_t sent = 0;
    if (xf_office_reconcile (at (fx, office)->office, fx->who.now, 600, &sent, &err) != XF_OK)
        fail_msg ("reconcile at %s: %s", office, err.msg);
    return sent;
}

/* office's reconciliation entry for `with` (borrowed from *all, which the caller frees). */
static json_t *state_of (fx_t *fx, const char *office, const char *with, json_t **all)
{
    xf_err_t err = {0, ""};
    size_t i;
    json_t *v;
    *all = xf_office_reconcile_status (at (fx, office)->office, &err);
    if (!*all)
        fail_msg ("status at %s: %s", office, err.msg);
    json_array_foreach (*all, i, v)
        if (strcmp (json_string_value (json_object_get (v, "office")), with) == 0)
            return v;
    fail_msg ("%s has no reconciliation entry for %s", office, with);
    return NULL;
}

static json_int_t num (const json_t *o, const char *key)
{
    return json_integer_value (json_object_get (o, key));
}

static uint32_t last_event (fx_t *fx, const char *office, const char *id)
{
    xf_err_t err = {0, ""};
    xf_case_t *c = xf_office_get (at (fx, office)->office, id, &err);
    if (!c)
        return 0;
    uint32_t n = c->last_event;
    xf_case_destroy (&c);
    return n;
}

static void assert_same_history (fx_t *fx, const char *a, const char *b, const char *id)
{
    xf_err_t err = {0, ""};
    json_t *ha = xf_office_history (at (fx, a)->office, id, &err);
    json_t *hb = xf_office_history (at (fx, b)->office, id, &err);
    assert_non_null (ha);
    assert_non_null (hb);
    assert_true (json_equal (ha, hb));
    json_decref (ha);
    json_decref (hb);
}

/* Drops what `from` has waiting for `to`, as if the envelopes were lost for good. */
static size_t lose (fx_t *fx, const char *from, const char *to)
{
    xf_test_taken_t t;
    xf_test_take (at (fx, from), to, &t);
    for (size_t i = 0; i < t.n; i++)
        free (t.bytes[i]);
    return t.n;
}

/* After a normal workflow every pair agrees and nothing is re-sent. */
static void test_digests_agree (void **state)
{
    fx_t *fx = *state;
    json_t *all;
    assert_int_equal (reconcile (fx, ZP), 1);
    assert_int_equal (reconcile (fx, CITY), 1);
    assert_int_equal (reconcile (fx, PROV), 0);   /* shares nothing */
    xf_test_settle (fx->o, N_OFFICES, fx->who.now, &fx->tally);
    json_t *s = state_of (fx, CITY, ZP, &all);
    assert_true (json_is_true (json_object_get (s, "agreed")));
    assert_int_equal (num (s, "shared"), 1);
    assert_int_equal (num (s, "mismatches") + num (s, "resent") + num (s, "received"), 0);
    json_decref (all);
    s = state_of (fx, ZP, CITY, &all);
    assert_true (json_is_true (json_object_get (s, "agreed")));
    json_decref (all);
    assert_int_equal (fx->tally.refused, 0);
}

/* The city accepts; the copy to 镇平 is lost. The city's digest shows 镇平 the difference, 镇平
 * lists its version, the city re-sends the case; the next round agrees. */
static void test_lost_event_resent (void **state)
{
    fx_t *fx = *state;
    xf_err_t err = {0, ""};
    json_t *all;
    assert_int_equal (xf_office_accept (at (fx, CITY)->office, &fx->who, fx->id, true, &err), XF_OK);
    assert_int_equal (lose (fx, CITY, ZP), 1);
    assert_int_equal (last_event (fx, ZP, fx->id) + 1, last_event (fx, CITY, fx->id));
    assert_int_equal (reconcile (fx, CITY), 1);
    xf_test_settle (fx->o, N_OFFICES, fx->who.now, &fx->tally);
    assert_int_equal (last_event (fx, ZP, fx->id), last_event (fx, CITY, fx->id));
    assert_same_history (fx, ZP, CITY, fx->id);
    json_t *s = state_of (fx, ZP, CITY, &all);
    assert_false (json_is_true (json_object_get (s, "agreed")));
    assert_int_equal (num (s, "mismatches"), 1);
    assert_int_equal (num (s, "received"), 1);
    assert_string_equal (json_string_value (json_array_get (json_object_get (s, "differing_months"), 0)),
                         "2026-11");
    json_decref (all);
    s = state_of (fx, CITY, ZP, &all);
    assert_int_equal (num (s, "resent"), 1);
    json_decref (all);
    reconcile (fx, CITY);
    reconcile (fx, ZP);
    xf_test_settle (fx->o, N_OFFICES, fx->who.now, &fx->tally);
    s = state_of (fx, ZP, CITY, &all);
    assert_true (json_is_true (json_object_get (s, "agreed")));
    assert_int_equal (num (s, "mismatches"), 1);
    json_decref (all);
    assert_int_equal (fx->tally.refused, 0);
}

/* The same loss found from the side that is behind: its digest goes to the city, the city
 * lists, 镇平 finds itself older and asks; the city re-sends. */
static void test_behind_side_asks (void **state)
{
    fx_t *fx = *state;
    xf_err_t err = {0, ""};
    json_t *all;
    assert_int_equal (xf_office_accept (at (fx, CITY)->office, &fx->who, fx->id, true, &err), XF_OK);
    lose (fx, CITY, ZP);
    assert_int_equal (reconcile (fx, ZP), 1);
    xf_test_settle (fx->o, N_OFFICES, fx->who.now, &fx->tally);
    assert_int_equal (last_event (fx, ZP, fx->id), last_event (fx, CITY, fx->id));
    assert_same_history (fx, ZP, CITY, fx->id);
    json_t *s = state_of (fx, CITY, ZP, &all);
    assert_int_equal (num (s, "resent"), 1);
    json_decref (all);
    assert_int_equal (fx->tally.refused, 0);
}

/* A whole case lost: the escalation of a second case never reaches the city. 镇平's digest
 * shows it; the city, which lacks it, lists nothing; 镇平 re-sends it with its history and the
 * city owns it as it should. */
static void test_lost_case_resent (void **state)
{
    fx_t *fx = *state;
    char id[XF_CASE_ID_MAX];
    xf_err_t err = {0, ""};
    register_at (fx, ZP, id);
    move (fx, ZP, id, XF_MOVE_ESCALATE, NULL);
    assert_int_equal (lose (fx, ZP, CITY), 1);
    assert_int_equal (last_event (fx, CITY, id), 0);
    assert_int_equal (reconcile (fx, ZP), 1);
    xf_test_settle (fx->o, N_OFFICES, fx->who.now, &fx->tally);
    xf_case_t *c = xf_office_get (at (fx, CITY)->office, id, &err);
    assert_non_null (c);
    assert_string_equal (c->owner, CITY);
    xf_case_destroy (&c);
    assert_same_history (fx, ZP, CITY, id);
    /* the city owns it now: it can accept it, and 镇平 hears of it */
    assert_int_equal (xf_office_accept (at (fx, CITY)->office, &fx->who, id, false, &err), XF_OK);
    xf_test_settle (fx->o, N_OFFICES, fx->who.now, &fx->tally);
    assert_int_equal (last_event (fx, ZP, id), last_event (fx, CITY, id));
    assert_int_equal (fx->tally.refused, 0);
}

/* While envelopes wait on the link nothing is sent: they would show as a difference. */
static void test_not_while_busy (void **state)
{
    fx_t *fx = *state;
    xf_err_t err = {0, ""};
    assert_int_equal (xf_office_accept (at (fx, CITY)->office, &fx->who, fx->id, true, &err), XF_OK);
    assert_int_equal (reconcile (fx, CITY), 0);
    xf_test_settle (fx->o, N_OFFICES, fx->who.now, &fx->tally);
    assert_int_equal (reconcile (fx, CITY), 1);
}

typedef struct {
    fx_t *fx;
    const char *from, *to, *id;
    uint32_t bump;
} forge_t;

/* `from` re-sends its record of id to `to`, its last_event raised by bump. */
static int forge_txn (xf_txn_t *txn, void *arg, xf_err_t *err)
{
    forge_t *f = arg;
    xf_office_t *o = at (f->fx, f->from)->office;
    xf_case_t *c = NULL;
    Xf__CaseEvent history = XF__CASE_EVENT__INIT;
    int rc = xf_office_load_case (txn, f->id, &c, err);
    if (rc == XF_OK)
        rc = xf_office_attach_history (txn, c, &history, err);
    if (rc == XF_OK) {
        Xf__CaseCopy copy = XF__CASE_COPY__INIT;
        c->last_event += f->bump;
        history.earlier[history.n_earlier - 1]->seq = c->last_event;
        copy.record = c;
        copy.events = history.earlier;
        copy.n_events = history.n_earlier;
        rc = xf_office_send (txn, o, f->to, f->fx->who.now, XF__ENVELOPE__BODY_CASE_COPY, &copy, 0, err);
    }
    xf_office_free_history (&history);
    xf_case_destroy (&c);
    return rc;
}

/* 淅川 holds no part of 镇平's case: its "copy" is refused. The owner takes no newer record
 * from anyone: only it changes the case. */
static void test_copies_refused (void **state)
{
    fx_t *fx = *state;
    xf_err_t err = {0, ""};
    char id[XF_CASE_ID_MAX];
    register_at (fx, XC, id);   /* something for 淅川 to hold */
    forge_t f = {fx, ZP, XC, fx->id, 0};
    assert_int_equal (xf_store_write (at (fx, ZP)->store, forge_txn, &f, &err), XF_OK);
    xf_test_settle (fx->o, N_OFFICES, fx->who.now, &fx->tally);
    assert_int_equal (fx->tally.refused, 1);
    assert_int_equal (last_event (fx, XC, fx->id), 0);

    uint32_t before = last_event (fx, CITY, fx->id);
    f = (forge_t) {fx, ZP, CITY, fx->id, 3};
    assert_int_equal (xf_store_write (at (fx, ZP)->store, forge_txn, &f, &err), XF_OK);
    xf_test_settle (fx->o, N_OFFICES, fx->who.now, &fx->tally);
    assert_int_equal (fx->tally.refused, 2);
    assert_int_equal (last_event (fx, CITY, fx->id), before);
}

typedef struct {
    const char *partner;
    xf_share_month_t *months;
    size_t n;
} digest_t;

static int digest_txn (xf_txn_t *txn, void *arg, xf_err_t *err)
{
    digest_t *d = arg;
    return xf_office_share_digest (txn, d->partner, &d->months, &d->n, err);
}

static digest_t digest_of (fx_t *fx, const char *office, const char *partner)
{
    xf_err_t err = {0, ""};
    digest_t d = {partner, NULL, 0};
    if (xf_store_read (at (fx, office)->store, digest_txn, &d, &err) != XF_OK)
        fail_msg ("digest at %s: %s", office, err.msg);
    return d;
}

/* Cases moving about change the digests step by step; rebuilding them from the cases gives
 * the same rows. */
static void test_digest_equals_rebuild (void **state)
{
    fx_t *fx = *state;
    xf_err_t err = {0, ""};
    char ids[6][XF_CASE_ID_MAX];
    for (int i = 0; i < 6; i++) {
        register_at (fx, i % 2 ? XC : ZP, ids[i]);
        move (fx, i % 2 ? XC : ZP, ids[i], XF_MOVE_ESCALATE, NULL);
    }
    xf_test_settle (fx->o, N_OFFICES, fx->who.now, &fx->tally);
    move (fx, CITY, ids[0], XF_MOVE_ESCALATE, NULL);
    move (fx, CITY, ids[1], XF_MOVE_TRANSFER, ZP);
    move (fx, CITY, ids[2], XF_MOVE_ASSIGN, XC);
    xf_test_settle (fx->o, N_OFFICES, fx->who.now, &fx->tally);
    assert_int_equal (xf_office_accept (at (fx, PROV)->office, &fx->who, ids[0], true, &err), XF_OK);
    assert_int_equal (xf_office_reject (at (fx, ZP)->office, &fx->who, ids[1], "不属于受理范围", &err), XF_OK);
    xf_test_settle (fx->o, N_OFFICES, fx->who.now, &fx->tally);
    const char *pairs[][2] = {{CITY, ZP}, {CITY, XC}, {CITY, PROV}, {ZP, CITY}, {ZP, PROV},
                              {XC, CITY}, {PROV, ZP}, {ZP, XC}};
    digest_t before[8];
    for (int i = 0; i < 8; i++)
        before[i] = digest_of (fx, pairs[i][0], pairs[i][1]);
    assert_true (before[0].n == 1 && before[0].months[0].count == 5);   /* 4 registered at 镇平, 1 transferred there */
    assert_true (before[4].n == 1 && before[4].months[0].count == 1);   /* escalated to the province */
    for (int i = 0; i < N_OFFICES; i++) {
        size_t read = 0;
        assert_int_equal (xf_office_share_rebuild (fx->o[i].office, true, &read, &err), XF_OK);
        assert_true (read > 0);
    }
    for (int i = 0; i < 8; i++) {
        digest_t after = digest_of (fx, pairs[i][0], pairs[i][1]);
        assert_int_equal (after.n, before[i].n);
        for (size_t k = 0; k < after.n; k++) {
            assert_int_equal (after.months[k].count, before[i].months[k].count);
            assert_memory_equal (after.months[k].hash, before[i].months[k].hash, XF_SHARE_HASH_LEN);
        }
        free (after.months);
        free (before[i].months);
    }
    /* without force, a built index is left alone */
    size_t read = 1;
    assert_int_equal (xf_office_share_rebuild (fx->o[1].office, false, &read, &err), XF_OK);
    assert_int_equal (read, 0);
    assert_int_equal (fx->tally.refused, 0);
}

int main (void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown (test_digests_agree, setup, teardown),
        cmocka_unit_test_setup_teardown (test_lost_event_resent, setup, teardown),
        cmocka_unit_test_setup_teardown (test_behind_side_asks, setup, teardown),
        cmocka_unit_test_setup_teardown (test_lost_case_resent, setup, teardown),
        cmocka_unit_test_setup_teardown (test_not_while_busy, setup, teardown),
        cmocka_unit_test_setup_teardown (test_copies_refused, setup, teardown),
        cmocka_unit_test_setup_teardown (test_digest_equals_rebuild, setup, teardown),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
