/* test_xf_office_petitioners.c — who has petitioned before (lib/xf_office_identity.c) on a
 * tree of four real stores (province 410000 → city 411300 → counties 411324, 411326): a
 * repeat petition linked to the earlier cases, here and from below; a petition that skipped
 * the county (越级访); sightings that carry only the keyed hash up the tree, and none without
 * the key; forged sightings refused; the group rules (集体访, at most 5 representatives). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

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
#define ID_NUMBER "11010519491231002X"

static const xf_limits_t LIM = {.accept_days = 15, .handle_days = 60, .max_extension_days = 30};
static const uint8_t KEY[32] = "the tree's identity key, 32 byte";

typedef struct {
    xf_test_office_t o[N_OFFICES];   /* prov, city, zp, xc */
    xf_actor_t who;
    xf_test_tally_t tally;
} fx_t;

static xf_test_office_t *at (fx_t *fx, const char *code)
{
    return xf_test_at (fx->o, N_OFFICES, code);
}

static int open_tree (void **state, bool keyed)
{
    fx_t *fx = calloc (1, sizeof *fx);
    xf_err_t err = {0, ""};
    if (!fx || xf_test_tree_open (fx->o, &LIM, "test_xf_office_petitioners"))
        return -1;
    for (int i = 0; keyed && i < N_OFFICES; i++)
        if (xf_office_set_identity_key (fx->o[i].office, KEY, sizeof KEY, &err))
            return -1;
    fx->who = (xf_actor_t) {xf_day_start (xf_day_from_ymd (2026, 11, 2)) + 9 * 3600, 1000, "clerk"};
    *state = fx;
    return 0;
}

static int setup (void **state)
{
    return open_tree (state, true);
}

static int setup_without_key (void **state)
{
    return open_tree (state, false);
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

/* A petition by the person with this ID number (NULL: anonymous), as a case to register. */
static xf_case_t *petition (const char *id_number, unsigned headcount, unsigned representatives)
{
    xf_case_t *c = xf_case_new ();
    c->channel = XF__CHANNEL__VISIT;
    c->category = XF__CATEGORY__APPEAL;
    xf_case_set (&c->summary, "反映征地补偿问题");
    c->received = xf_day_from_ymd (2026, 11, 2);
    c->headcount = headcount;
    c->representatives = representatives;
    c->anonymous = id_number == NULL;
    if (id_number) {
        c->petitioner = malloc (sizeof *c->petitioner);
        xf__petitioner__init (c->petitioner);
        xf_case_set (&c->petitioner->name, "张三");
        xf_case_set (&c->petitioner->id_number, id_number);
    }
    return c;
}

/* Registers at code and returns the registered case (caller destroys). */
static xf_case_t *register_at (fx_t *fx, const char *code, const char *id_number)
{
    xf_err_t err = {0, ""};
    xf_case_t *c = petition (id_number, 1, 0);
    if (xf_office_register (at (fx, code)->office, &fx->who, c, &err) != XF_OK)
        fail_msg ("register at %s: %s", code, err.msg);
    return c;
}

static bool flagged (const xf_case_t *c, unsigned flag)
{
    return (c->flags & flag) != 0;
}

static bool links_to (const xf_case_t *c, const char *id)
{
    for (size_t i = 0; i < c->n_repeat_of; i++)
        if (strcmp (c->repeat_of[i], id) == 0)
            return true;
    return false;
}

/* ---------------------------------------------------------------- tests */

/* The same person twice at one county: the second is a repeat linked to the first (the
 * check letter's case does not matter); an anonymous petition is never a repeat; a county
 * has nobody below, so nothing there skips a level. */
static void test_repeat_at_one_office (void **state)
{
    fx_t *fx = *state;
    xf_case_t *first = register_at (fx, ZP, ID_NUMBER);
    xf_case_t *again = register_at (fx, ZP, "11010519491231002x");
    xf_case_t *anon1 = register_at (fx, ZP, NULL), *anon2 = register_at (fx, ZP, NULL);
    assert_false (flagged (first, XF__CASE_FLAG__FLAG_REPEAT));
    assert_true (flagged (again, XF__CASE_FLAG__FLAG_REPEAT));
    assert_int_equal (again->n_repeat_of, 1);
    assert_true (links_to (again, first->id));
    assert_false (flagged (anon2, XF__CASE_FLAG__FLAG_REPEAT));
    assert_false (flagged (first, XF__CASE_FLAG__FLAG_SKIP_LEVEL));
    xf_err_t err = {0, ""};
    xf_figures_t f;
    assert_int_equal (xf_office_stats (at (fx, ZP)->office, 0, 99999, &f, &err), XF_OK);
    assert_int_equal (f.v[XF_ST_REPEAT], 1);
    assert_int_equal (f.v[XF_ST_SKIP_LEVEL], 0);
    json_t *j = xf_case_to_json (again, xf_day_from_ymd (2026, 11, 2));
    assert_string_equal (json_string_value (json_array_get (json_object_get (j, "repeat_of"), 0)),
                         first->id);
    json_decref (j);
    xf_case_destroy (&first), xf_case_destroy (&again);
    xf_case_destroy (&anon1), xf_case_destroy (&anon2);
}

/* Registered at the county, then at the city and the province: each office above knows the
 * county's registration from its sighting, so the later petitions are repeats linked to it
 * and did not skip the county. A newcomer at the city skipped it. The sightings carry the
 * keyed hash and never the ID number. A sibling county does not see its neighbour's. */
static void test_repeat_and_skip_level_across_the_tree (void **state)
{
    fx_t *fx = *state;
    xf_case_t *county = register_at (fx, ZP, ID_NUMBER);
    xf_test_taken_t t;
    xf_test_take (at (fx, ZP), CITY, &t);   /* look at what goes up, then let it go */
    assert_int_equal (t.n, 1);
    assert_null (memmem (t.bytes[0], t.len[0], ID_NUMBER, 17));
    assert_null (memmem (t.bytes[0], t.len[0], "张三", strlen ("张三")));
    for (size_t i = 0; i < t.n; i++) {
        xf_applied_t out;
        xf_test_apply (at (fx, CITY), ZP, t.bytes[i], t.len[i], fx->who.now, &out);
        assert_false (out.refused);
        free (t.bytes[i]);
    }
    settle (fx);
    xf_case_t *city = register_at (fx, CITY, ID_NUMBER);
    xf_case_t *newcomer = register_at (fx, CITY, "411324198001010018");
    settle (fx);
    xf_case_t *prov = register_at (fx, PROV, ID_NUMBER);
    xf_case_t *sibling = register_at (fx, XC, ID_NUMBER);
    settle (fx);

    assert_true (flagged (city, XF__CASE_FLAG__FLAG_REPEAT));
    assert_false (flagged (city, XF__CASE_FLAG__FLAG_SKIP_LEVEL));
    assert_true (links_to (city, county->id));
    assert_true (flagged (newcomer, XF__CASE_FLAG__FLAG_SKIP_LEVEL));
    assert_false (flagged (newcomer, XF__CASE_FLAG__FLAG_REPEAT));
    assert_true (flagged (prov, XF__CASE_FLAG__FLAG_REPEAT));
    assert_false (flagged (prov, XF__CASE_FLAG__FLAG_SKIP_LEVEL));
    assert_int_equal (prov->n_repeat_of, 2);
    assert_true (links_to (prov, county->id) && links_to (prov, city->id));
    assert_false (flagged (sibling, XF__CASE_FLAG__FLAG_REPEAT));
    assert_int_equal (fx->tally.refused, 0);
    xf_case_destroy (&county), xf_case_destroy (&city), xf_case_destroy (&newcomer);
    xf_case_destroy (&prov), xf_case_destroy (&sibling);
}

/* Without the tree's key no identity leaves the county: the city cannot tell the person
 * came before, and counts the petition as skipping the county. */
static void test_no_key_no_sightings (void **state)
{
    fx_t *fx = *state;
    xf_case_t *county = register_at (fx, ZP, ID_NUMBER);
    xf_test_taken_t t;
    xf_test_take (at (fx, ZP), CITY, &t);
    assert_int_equal (t.n, 0);
    xf_case_t *city = register_at (fx, CITY, ID_NUMBER);
    assert_false (flagged (city, XF__CASE_FLAG__FLAG_REPEAT));
    assert_true (flagged (city, XF__CASE_FLAG__FLAG_SKIP_LEVEL));
    xf_case_destroy (&county), xf_case_destroy (&city);
}

typedef struct {
    xf_test_office_t *from;
    const char *to, *case_id;
    size_t key_len;
    int64_t now;
} forge_t;

static int forge_txn (xf_txn_t *txn, void *arg, xf_err_t *err)
{
    forge_t *f = arg;
    uint8_t key[32] = {1};
    Xf__Sighting e = XF__SIGHTING__INIT, *ep = &e;
    Xf__Sightings s = XF__SIGHTINGS__INIT;
    e.key.data = key;
    e.key.len = f->key_len;
    e.case_id = (char *) f->case_id;
    s.entries = &ep;
    s.n_entries = 1;
    return xf_office_send (txn, f->from->office, f->to, f->now, XF__ENVELOPE__BODY_SIGHTINGS, &s, 0, err);
}

static int count_txn (xf_txn_t *txn, void *arg, xf_err_t *err)
{
    return xf_txn_count (txn, XF_DB_PETITIONER, arg, err);
}

static size_t petitioner_entries (xf_test_office_t *o)
{
    xf_err_t err = {0, ""};
    size_t n = 0;
    assert_int_equal (xf_store_read (o->store, count_txn, &n, &err), XF_OK);
    return n;
}

/* Sightings the receiver cannot take: from the office above, and of a case registered
 * outside the sender's subtree, are refused and change nothing; a wrong key length does not
 * even decode. */
static void test_forged_sightings_refused (void **state)
{
    fx_t *fx = *state;
    xf_err_t err = {0, ""};
    forge_t down = {at (fx, PROV), CITY, "410000-2026-000001", 32, fx->who.now};
    forge_t foreign = {at (fx, ZP), CITY, "419999-2026-000001", 32, fx->who.now};
    if (xf_store_write (down.from->store, forge_txn, &down, &err) != XF_OK)
        fail_msg ("forging: %s", err.msg);
    assert_int_equal (xf_store_write (foreign.from->store, forge_txn, &foreign, &err), XF_OK);
    settle (fx);
    assert_int_equal (fx->tally.refused, 2);
    assert_int_equal (petitioner_entries (at (fx, CITY)), 0);
    forge_t short_key = {at (fx, ZP), CITY, "411324-2026-000001", 31, fx->who.now};
    assert_int_equal (xf_store_write (short_key.from->store, forge_txn, &short_key, &err), XF_EINVAL);
    assert_non_null (strstr (err.msg, "key of 31 bytes"));
}

/* 集体访: five or more people; at most five representatives, and no more than came. */
static void test_group_rules (void **state)
{
    fx_t *fx = *state;
    xf_err_t err = {0, ""};
    xf_case_t *c = petition (ID_NUMBER, 30, 6);
    assert_int_equal (xf_office_register (at (fx, ZP)->office, &fx->who, c, &err), XF_EINVAL);
    assert_non_null (strstr (err.msg, "at most 5 representatives"));
    xf_case_destroy (&c);
    c = petition (ID_NUMBER, 2, 3);
    assert_int_equal (xf_office_register (at (fx, ZP)->office, &fx->who, c, &err), XF_EINVAL);
    assert_non_null (strstr (err.msg, "3 representatives for a petition of 2 people"));
    xf_case_destroy (&c);
    assert_int_equal (petitioner_entries (at (fx, ZP)), 0);
    c = petition (ID_NUMBER, 30, 5);
    assert_int_equal (xf_office_register (at (fx, ZP)->office, &fx->who, c, &err), XF_OK);
    assert_true (flagged (c, XF__CASE_FLAG__FLAG_GROUP));
    json_t *j = xf_case_to_json (c, c->received);
    assert_int_equal (json_integer_value (json_object_get (j, "representatives")), 5);
    json_decref (j);
    xf_case_destroy (&c);
    c = petition (ID_NUMBER, 4, 0);
    assert_int_equal (xf_office_register (at (fx, ZP)->office, &fx->who, c, &err), XF_OK);
    assert_false (flagged (c, XF__CASE_FLAG__FLAG_GROUP));
    xf_case_destroy (&c);
}

int main (void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown (test_repeat_at_one_office, setup, teardown),
        cmocka_unit_test_setup_teardown (test_repeat_and_skip_level_across_the_tree, setup, teardown),
        cmocka_unit_test_setup_teardown (test_no_key_no_sightings, setup_without_key, teardown),
        cmocka_unit_test_setup_teardown (test_forged_sightings_refused, setup, teardown),
        cmocka_unit_test_setup_teardown (test_group_rules, setup, teardown),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
