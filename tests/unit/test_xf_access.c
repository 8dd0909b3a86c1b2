/* test_xf_access.c — roles and recusal: the member lists of [roles] and what they refuse, the
 * highest role an operator's uid, name and groups give, the role every control command needs,
 * and recusals from the configuration and from the store. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>
#include "xf_access.h"
#include "xf_test.h"

static const char *const CLERKS[] = {"xf-clerks", "users"};
static const xf_operator_t ALICE = {1001, "alice", CLERKS, 2};
static const xf_operator_t BOB = {1002, "bob", NULL, 0};
static const xf_operator_t ROOT = {0, "root", NULL, 0};
static const xf_operator_t NOBODY = {4242, "", NULL, 0};

static xf_access_t *make (const char *viewer, const char *clerk, const char *leader,
                          const char *admin, const char *recusals)
{
    const char *members[XF_ROLE_COUNT] = {NULL, viewer, clerk, leader, admin};
    xf_err_t err = {0};
    xf_access_t *a = xf_access_new (true, members, recusals, &err);
    if (!a)
        fail_msg ("xf_access_new: %s", err.msg);
    return a;
}

static void test_roles_by_uid_name_and_group (void **state)
{
    (void) state;
    xf_access_t *a = make ("@users, 4242", "@xf-clerks", "bob", "0", NULL);
    assert_true (xf_access_has_roles (a));
    assert_int_equal (xf_access_role (a, &ALICE), XF_ROLE_CLERK);   /* the higher of two groups */
    assert_int_equal (xf_access_role (a, &BOB), XF_ROLE_LEADER);
    assert_int_equal (xf_access_role (a, &ROOT), XF_ROLE_ADMIN);
    assert_int_equal (xf_access_role (a, &NOBODY), XF_ROLE_VIEWER);
    xf_access_destroy (&a);
    assert_null (a);
    a = make (NULL, NULL, "alice", NULL, NULL);
    assert_int_equal (xf_access_role (a, &BOB), XF_ROLE_NONE);
    assert_int_equal (xf_access_role (a, &ALICE), XF_ROLE_LEADER);
    xf_access_destroy (&a);
}

static void test_without_roles_everyone_is_admin (void **state)
{
    (void) state;
    xf_err_t err = {0};
    xf_access_t *a = xf_access_new (false, NULL, NULL, &err);
    assert_non_null (a);
    assert_false (xf_access_has_roles (a));
    assert_int_equal (xf_access_role (a, &NOBODY), XF_ROLE_ADMIN);
    xf_access_destroy (&a);
    assert_int_equal (xf_access_role (NULL, &NOBODY), XF_ROLE_ADMIN);
}

static void test_bad_members_refused (void **state)
{
    (void) state;
    static const char *const bad[] = {
        "", "alice,", ",bob", "Alice", "@", "al ice", "12345678901", "@Group", "a;b", "bob,,carol",
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        xf_err_t err = {0};
        if (xf_access_check_members (bad[i], &err) != XF_EINVAL)
            fail_msg ("\"%s\" was accepted", bad[i]);
        assert_true (err.msg[0]);
        const char *members[XF_ROLE_COUNT] = {NULL, NULL, bad[i], NULL, NULL};
        err = (xf_err_t) {0};
        assert_null (xf_access_new (true, members, NULL, &err));
        assert_non_null (strstr (err.msg, "[roles] clerk"));
    }
    xf_err_t err = {0};
    assert_int_equal (xf_access_check_members ("alice, 1001, @xf-clerks, _svc, www-data", &err), XF_OK);
}

static void test_every_command_needs_a_role (void **state)
{
    (void) state;
    static const struct { const char *cmd; xf_role_t role; } want[] = {
        {"status", XF_ROLE_VIEWER}, {"case.show", XF_ROLE_VIEWER}, {"case.list", XF_ROLE_VIEWER},
        {"case.history", XF_ROLE_VIEWER}, {"stats", XF_ROLE_VIEWER}, {"case.lookup", XF_ROLE_VIEWER},
        {"metrics", XF_ROLE_VIEWER},
        {"case.register", XF_ROLE_CLERK}, {"case.import", XF_ROLE_CLERK},
        {"case.accept", XF_ROLE_CLERK}, {"case.reject", XF_ROLE_CLERK},
        {"case.report", XF_ROLE_CLERK}, {"case.escalate", XF_ROLE_CLERK},
        {"case.assign", XF_ROLE_LEADER}, {"case.transfer", XF_ROLE_LEADER},
        {"case.extend", XF_ROLE_LEADER}, {"case.close", XF_ROLE_LEADER},
        {"case.send_back", XF_ROLE_LEADER}, {"case.urge", XF_ROLE_LEADER},
        {"cert.issue", XF_ROLE_ADMIN}, {"clock.set", XF_ROLE_ADMIN},
        {"audit.verify", XF_ROLE_ADMIN}, {"audit.show", XF_ROLE_ADMIN},
        {"backup", XF_ROLE_ADMIN}, {"backup.status", XF_ROLE_ADMIN},
        {"a.command.nobody.knows", XF_ROLE_ADMIN},   /* unknown: the strictest */
    };
    for (size_t i = 0; i < sizeof want / sizeof *want; i++)
        if (xf_access_needed (want[i].cmd) != want[i].role)
            fail_msg ("%s needs %s, not %s", want[i].cmd, xf_role_name (want[i].role),
                      xf_role_name (xf_access_needed (want[i].cmd)));
    assert_string_equal (xf_role_name (XF_ROLE_NONE), "none");
    assert_string_equal (xf_role_name (XF_ROLE_LEADER), "leader");
}

static void test_recusal_by_config (void **state)
{
    (void) state;
    xf_access_t *a = make (NULL, "alice", NULL, NULL,
                           "411324-2026-000001:alice, 411324-2026-000002:1002");
    assert_true (xf_access_recused_by_config (a, &ALICE, "411324-2026-000001"));
    assert_false (xf_access_recused_by_config (a, &ALICE, "411324-2026-000002"));
    assert_true (xf_access_recused_by_config (a, &BOB, "411324-2026-000002"));
    assert_false (xf_access_recused_by_config (a, &BOB, "411324-2026-000001"));
    xf_access_destroy (&a);
    static const char *const bad[] = {"411324-2026-000001", "x:alice", "411324-2026-000001:",
                                      "411324-2026-000001:Alice"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        xf_err_t err = {0};
        assert_int_equal (xf_access_check_recusals (bad[i], &err), XF_EINVAL);
        assert_true (err.msg[0]);
    }
}

typedef struct {
    const char *id;
    uint32_t uid;
    bool recused;
} rec_t;

static int recuse_txn (xf_txn_t *txn, void *arg, xf_err_t *err)
{
    rec_t *r = arg;
    return xf_access_recuse (txn, r->id, r->uid, err);
}

static int recused_txn (xf_txn_t *txn, void *arg, xf_err_t *err)
{
    rec_t *r = arg;
    return xf_access_recused (txn, r->id, r->uid, &r->recused, err);
}

static bool stored_recusal (xf_store_t *s, const char *id, uint32_t uid)
{
    rec_t r = {id, uid, false};
    assert_int_equal (xf_store_read (s, recused_txn, &r, NULL), XF_OK);
    return r.recused;
}

static void test_recusal_in_the_store (void **state)
{
    (void) state;
    char dir[4096];
    xf_err_t err = {0};
    assert_int_equal (xf_test_mkdtemp (dir, sizeof dir, "test_xf_access"), 0);
    xf_store_t *s = xf_store_open (dir, NULL, &err);
    assert_non_null (s);
    rec_t r = {"411324-2026-000001", 1001, false};
    assert_false (stored_recusal (s, r.id, 1001));
    assert_int_equal (xf_store_write (s, recuse_txn, &r, &err), XF_OK);
    assert_true (stored_recusal (s, r.id, 1001));
    assert_false (stored_recusal (s, r.id, 1002));
    assert_false (stored_recusal (s, "411324-2026-000010", 1001));   /* not a prefix match */
    assert_int_equal (xf_store_write (s, recuse_txn, &r, &err), XF_EEXIST);
    assert_non_null (strstr (err.msg, "already recused"));
    rec_t bad = {"not-a-case", 1001, false};
    assert_int_equal (xf_store_write (s, recuse_txn, &bad, &err), XF_EINVAL);
    xf_store_close (&s);
    xf_test_rmtree (dir);
}

int main (void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test (test_roles_by_uid_name_and_group),
        cmocka_unit_test (test_without_roles_everyone_is_admin),
        cmocka_unit_test (test_bad_members_refused),
        cmocka_unit_test (test_every_command_needs_a_role),
        cmocka_unit_test (test_recusal_by_config),
        cmocka_unit_test (test_recusal_in_the_store),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
