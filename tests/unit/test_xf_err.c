/* test_xf_err.c — the error buffer: codes, messages, prefixes that never overflow. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "xf_err.h"

static void test_set_returns_code_and_formats (void **state)
{
    (void) state;
    xf_err_t err = {0};
    assert_int_equal (xf_err_set (&err, XF_ESTATE, "case %s is %s", "411324-2026-000001", "closed"),
                      XF_ESTATE);
    assert_int_equal (err.code, XF_ESTATE);
    assert_string_equal (err.msg, "case 411324-2026-000001 is closed");
}

static void test_set_without_buffer (void **state)
{
    (void) state;
    assert_int_equal (xf_err_set (NULL, XF_EINVAL, "ignored %d", 1), XF_EINVAL);
    assert_int_equal (xf_err_prefix (NULL, "x"), XF_EINVAL);
}

static void test_prefix_keeps_code (void **state)
{
    (void) state;
    xf_err_t err = {0};
    xf_err_set (&err, XF_ENOTFOUND, "no case X");
    assert_int_equal (xf_err_prefix (&err, "line %d", 12), XF_ENOTFOUND);
    assert_string_equal (err.msg, "line 12: no case X");
}

static void test_long_messages_are_cut_not_overflowed (void **state)
{
    (void) state;
    xf_err_t err = {0};
    char big[2000];
    memset (big, 'a', sizeof big - 1);
    big[sizeof big - 1] = 0;
    xf_err_set (&err, XF_EINVAL, "%s", big);
    assert_int_equal (strlen (err.msg), sizeof err.msg - 1);
    xf_err_prefix (&err, "%s", big);    /* a prefix longer than the buffer */
    assert_int_equal (strlen (err.msg), sizeof err.msg - 1);
    xf_err_set (&err, XF_EINVAL, "tail");
    xf_err_prefix (&err, "%.*s", 600, big);
    assert_int_equal (strlen (err.msg), sizeof err.msg - 1);
    assert_int_equal (err.msg[0], 'a');
}

static void test_names_are_stable (void **state)
{
    (void) state;
    static const struct { int code; const char *name; } names[] = {
        {XF_OK, "ok"},            {XF_EINVAL, "invalid"},      {XF_ESTATE, "state"},
        {XF_ENOTFOUND, "not_found"}, {XF_ESTORE, "store"},     {XF_ECONFIG, "config"},
        {XF_ENOMEM, "no_memory"}, {XF_EPERM, "permission"},    {XF_EVERSION, "version"},
        {XF_EIO, "io"},           {XF_EEXIST, "exists"},       {-999, "error"},
    };
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        assert_string_equal (xf_err_name (names[i].code), names[i].name);
}

int main (void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test (test_set_returns_code_and_formats),
        cmocka_unit_test (test_set_without_buffer),
        cmocka_unit_test (test_prefix_keeps_code),
        cmocka_unit_test (test_long_messages_are_cut_not_overflowed),
        cmocka_unit_test (test_names_are_stable),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
