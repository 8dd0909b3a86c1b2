/* test_xf_office_lookup.c — 查询码 answered at any office (lib/xf_office_lookup.c) on the tree
 * of four real stores: the registering office answers at once, any other office asks it and
 * answers when the reply is there, a code nobody issued is "not found", and the answer never
 * holds the petitioner, the accused or the summary. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "xf_office_int.h"   /* xf_office_send, to forge an answer nobody asked for */
#include "xf_query.h"
#include "xf_test_offices.h"

#define PROV XF_TEST_PROV
#define ZP   XF_TEST_ZP
#define XC   XF_TEST_XC
#define N_OFFICES 4

static const xf_limits_t LIM = {.accept_days = 15, .handle_days = 60, .max_extension_days = 30};

typedef struct {
    xf_test_office_t o[N_OFFICES];
    xf_actor_t who;
    xf_test_tally_t tally;
    char id[XF_CASE_ID_MAX], code[XF_QUERY_SHOWN];
} fx_t;

static xf_test_office_t *at (fx_t *fx, const char *code)
{
    return xf_test_at (fx->o, N_OFFICES, code);
}

/* The tree, and an accusation with a named petitioner registered at 镇平. */
static int setup (void **state)
{
    fx_t *fx = calloc (1, sizeof *fx);
    xf_err_t err = {0, ""};
    if (!fx || xf_test_tree_open (fx->o, &LIM, "test_xf_office_lookup"))
        return -1;
    fx->who = (xf_actor_t) {xf_day_start (xf_day_from_ymd (2026, 11, 2)) + 9 * 3600, 1000, "clerk"};
    xf_case_t *c = xf_case_new ();
    c->channel = XF__CHANNEL__LETTER;
    c->category = XF__CATEGORY__ACCUSATION;
    xf_case_set (&c->summary, "反映某乡党委书记违规问题");
    c->received = xf_day_of_time (fx->who.now);
    c->headcount = 1;
    c->petitioner = malloc (sizeof *c->petitioner);
    xf__petitioner__init (c->petitioner);
    xf_case_set (&c->petitioner->name, "王五");
    c->accused = malloc (sizeof *c->accused);
    xf__accused__init (c->accused);
    xf_case_set (&c->accused->name, "赵六");
    if (xf_office_register (fx->o[2].office, &fx->who, c, &err) != XF_OK)
        return -1;
    snprintf (fx->id, sizeof fx->id, "%s", c->id);
    snprintf (fx->code, sizeof fx->code, "%s", c->query_code);
    xf_case_destroy (&c);
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

static json_t *lookup (fx_t *fx, const char *office, const char *code)
{
    xf_err_t err = {0, ""};
    json_t *answer = NULL;
    if (xf_office_lookup (at (fx, office)->office, &fx->who, code, &answer, &err) != XF_OK)
        fail_msg ("lookup %s at %s: %s", code, office, err.msg);
    return answer;
}

static void assert_public_only (const json_t *answer)
{
    char *text = json_dumps (answer, JSON_COMPACT);
    assert_null (strstr (text, "王五"));
    assert_null (strstr (text, "赵六"));
    assert_null (strstr (text, "乡党委书记"));
    assert_null (json_object_get (answer, "petitioner"));
    free (text);
}

static const char *str (const json_t *o, const char *key)
{
    const char *s = json_string_value (json_object_get (o, key));
    return s ? s : "";
}

/* At the registering office at once; at another county after it asks and the answer comes;
 * after the case is answered, the reply shows (once the kept answer is a minute old). */
static void test_lookup_anywhere (void **state)
{
    fx_t *fx = *state;
    xf_err_t err = {0, ""};
    json_t *a = lookup (fx, ZP, fx->code);
    assert_true (json_is_true (json_object_get (a, "found")));
    assert_string_equal (str (a, "case_id"), fx->id);
    assert_string_equal (str (a, "status"), "registered");
    assert_string_equal (str (a, "accept_due"), "2026-11-17");
    assert_public_only (a);
    json_decref (a);

    a = lookup (fx, XC, fx->code);
    assert_true (json_is_true (json_object_get (a, "pending")));
    assert_string_equal (str (a, "asked_of"), ZP);
    json_decref (a);
    a = lookup (fx, XC, fx->code);   /* asked once, not again */
    assert_true (json_is_true (json_object_get (a, "pending")));
    json_decref (a);
    xf_test_settle (fx->o, N_OFFICES, fx->who.now, &fx->tally);
    a = lookup (fx, XC, fx->code);
    assert_true (json_is_true (json_object_get (a, "found")));
    assert_string_equal (str (a, "office"), ZP);
    assert_public_only (a);
    json_decref (a);

    assert_int_equal (xf_office_accept (at (fx, ZP)->office, &fx->who, fx->id, true, &err), XF_OK);
    assert_int_equal (xf_office_close (at (fx, ZP)->office, &fx->who, fx->id, "经查属实，已处理", &err), XF_OK);
    fx->who.now += 120;
    a = lookup (fx, PROV, fx->code);
    assert_true (json_is_true (json_object_get (a, "pending")));
    json_decref (a);
    xf_test_settle (fx->o, N_OFFICES, fx->who.now, &fx->tally);
    a = lookup (fx, PROV, fx->code);
    assert_string_equal (str (a, "status"), "closed");
    assert_string_equal (str (a, "reply"), "经查属实，已处理");
    assert_string_equal (str (a, "closed"), "2026-11-02");
    json_decref (a);
    assert_int_equal (fx->tally.refused, 0);
}

/* A well-formed code nobody issued: "not found" from the office it names, here or there;
 * a mistyped one is refused before anything is asked. */
static void test_unknown_and_bad_codes (void **state)
{
    fx_t *fx = *state;
    char other[XF_QUERY_SHOWN];
    xf_err_t err = {0, ""};
    json_t *answer = NULL;
    assert_int_equal (xf_query_make (ZP, 42, other, &err), XF_OK);
    json_t *a = lookup (fx, ZP, other);
    assert_false (json_is_true (json_object_get (a, "found")));
    json_decref (a);
    json_decref (lookup (fx, XC, other));
    xf_test_settle (fx->o, N_OFFICES, fx->who.now, &fx->tally);
    a = lookup (fx, XC, other);
    assert_false (json_is_true (json_object_get (a, "found")));
    assert_null (json_object_get (a, "pending"));
    json_decref (a);
    assert_int_equal (xf_office_lookup (at (fx, XC)->office, &fx->who, "7KQ4-M2XD", &answer, &err),
                      XF_EINVAL);
    assert_null (answer);
}

static int forge_txn (xf_txn_t *txn, void *arg, xf_err_t *err)
{
    fx_t *fx = arg;
    Xf__LookupReply r = XF__LOOKUP_REPLY__INIT;
    r.query_code = fx->code;
    return xf_office_send (txn, at (fx, ZP)->office, XC, fx->who.now, XF__ENVELOPE__BODY_LOOKUP_REPLY,
                           &r, 0, err);
}

/* An answer nobody asked for is refused and kept nowhere. */
static void test_unasked_answer_refused (void **state)
{
    fx_t *fx = *state;
    xf_err_t err = {0, ""};
    assert_int_equal (xf_store_write (at (fx, ZP)->store, forge_txn, fx, &err), XF_OK);
    xf_test_settle (fx->o, N_OFFICES, fx->who.now, &fx->tally);
    assert_int_equal (fx->tally.refused, 1);
    json_t *a = lookup (fx, XC, fx->code);
    assert_true (json_is_true (json_object_get (a, "pending")));
    json_decref (a);
}

int main (void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown (test_lookup_anywhere, setup, teardown),
        cmocka_unit_test_setup_teardown (test_unknown_and_bad_codes, setup, teardown),
        cmocka_unit_test_setup_teardown (test_unasked_answer_refused, setup, teardown),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
