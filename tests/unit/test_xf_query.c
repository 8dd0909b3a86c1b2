/* test_xf_query.c — 查询码 (lib/xf_query.c): a code names its office whatever the random bits,
 * reads back however it is typed, and anything else is refused with what is wrong. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>
#include "xf_query.h"

static void test_code_names_its_office (void **state)
{
    (void) state;
    static const char *const offices[] = {"411324", "410000", "000001", "999999", "110105"};
    static const uint64_t randoms[] = {0, 1, 787662783787ull, 787662783788ull, UINT64_MAX,
                                       0x0123456789abcdefull};
    xf_err_t err = {0, ""};
    for (size_t i = 0; i < sizeof offices / sizeof *offices; i++)
        for (size_t j = 0; j < sizeof randoms / sizeof *randoms; j++) {
            char code[XF_QUERY_SHOWN], office[7], again[XF_QUERY_SHOWN];
            assert_int_equal (xf_query_make (offices[i], randoms[j], code, &err), XF_OK);
            assert_int_equal (strlen (code), 14);
            assert_true (code[4] == '-' && code[9] == '-');
            assert_null (strpbrk (code, "01ILO"));
            xf_query_office (code, office);
            assert_string_equal (office, offices[i]);
            assert_int_equal (xf_query_normalize (code, again, &err), XF_OK);
            assert_string_equal (again, code);
        }
}

static void test_random_bits_make_different_codes (void **state)
{
    (void) state;
    char a[XF_QUERY_SHOWN], b[XF_QUERY_SHOWN];
    xf_err_t err = {0, ""};
    assert_int_equal (xf_query_make ("411324", 12345, a, &err), XF_OK);
    assert_int_equal (xf_query_make ("411324", 12346, b, &err), XF_OK);
    assert_string_not_equal (a, b);
}

static void test_typed_forms (void **state)
{
    (void) state;
    char code[XF_QUERY_SHOWN], typed[XF_QUERY_SHOWN];
    xf_err_t err = {0, ""};
    assert_int_equal (xf_query_make ("411326", 987654321, code, &err), XF_OK);
    char lower[32], spaced[32];
    size_t n = 0;
    for (const char *s = code; *s; s++)
        if (*s != '-') {
            lower[n] = (char) (*s >= 'A' && *s <= 'Z' ? *s - 'A' + 'a' : *s);
            n++;
        }
    lower[n] = 0;
    snprintf (spaced, sizeof spaced, "%.4s %.4s %.4s", code, code + 5, code + 10);
    assert_int_equal (xf_query_normalize (lower, typed, &err), XF_OK);
    assert_string_equal (typed, code);
    assert_int_equal (xf_query_normalize (spaced, typed, &err), XF_OK);
    assert_string_equal (typed, code);
}

static void test_bad_codes_refused (void **state)
{
    (void) state;
    char out[XF_QUERY_SHOWN];
    xf_err_t err = {0, ""};
    assert_int_equal (xf_query_normalize ("7KQ4-M2XD-9PW", out, &err), XF_EINVAL);
    assert_non_null (strstr (err.msg, "11 of the 12"));
    assert_int_equal (xf_query_normalize ("7KQ4-M2XD-9PWAA", out, &err), XF_EINVAL);
    assert_int_equal (xf_query_normalize ("7KQ4-M2XD-9PW0", out, &err), XF_EINVAL);
    assert_non_null (strstr (err.msg, "without 0, 1, I, L or O"));
    assert_int_equal (xf_query_normalize ("", out, &err), XF_EINVAL);
    assert_int_equal (xf_query_make ("41132", 1, out, &err), XF_EINVAL);
    assert_int_equal (xf_query_make ("41132x", 1, out, &err), XF_EINVAL);
    assert_int_equal (xf_query_make ("411324001", 1, out, &err), XF_OK);   /* a township */
    char office[7];
    xf_query_office (out, office);
    assert_string_equal (office, "411324");
}

int main (void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test (test_code_names_its_office),
        cmocka_unit_test (test_random_bits_make_different_codes),
        cmocka_unit_test (test_typed_forms),
        cmocka_unit_test (test_bad_codes_refused),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
