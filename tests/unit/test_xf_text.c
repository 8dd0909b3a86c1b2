/* test_xf_text.c — strict UTF-8 (each kind of ill-formed sequence refused, the edges of the
 * well-formed ranges accepted, no reading past a buffer's end) and trimming. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>
#include "xf_text.h"

static const unsigned char *u (const char *s)
{
    return (const unsigned char *) s;
}

static void test_sequences (void **state)
{
    (void) state;
    assert_int_equal (xf_utf8_seq (u ("a")), 1);
    assert_int_equal (xf_utf8_seq (u ("\xc2\x80")), 2);
    assert_int_equal (xf_utf8_seq (u ("镇")), 3);
    assert_int_equal (xf_utf8_seq (u ("\xf0\x9f\x98\x80")), 4);            /* U+1F600 */
    assert_int_equal (xf_utf8_seq (u ("\xf4\x8f\xbf\xbf")), 4);            /* U+10FFFF */
    static const char *const bad[] = {
        "\x80", "\xc0\xaf", "\xc1\xbf",                 /* a continuation; overlong 2-byte */
        "\xe0\x80\xaf", "\xed\xa0\x80",                 /* overlong 3-byte; a surrogate */
        "\xf0\x80\x80\xaf", "\xf4\x90\x80\x80",         /* overlong 4-byte; above U+10FFFF */
        "\xf5\x80\x80\x80", "\xe4\xbe", "\xe4\xbe\x41", /* no such lead; cut short */
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
        if (xf_utf8_seq (u (bad[i])) != 0)
            fail_msg ("ill-formed sequence %zu accepted", i);
}

static void test_valid_buffers (void **state)
{
    (void) state;
    const char *s = "中共镇平县委组织部 411324";
    assert_true (xf_utf8_valid (u (s), strlen (s)));
    assert_true (xf_utf8_valid (u (""), 0));
    assert_false (xf_utf8_valid (u ("a\0b"), 3));               /* a NUL inside */
    assert_false (xf_utf8_valid (u ("\xe9\x95\x87"), 2));       /* 镇 cut by the length */
    assert_false (xf_utf8_valid (u ("ok\xff"), 3));
}

/* The offset of the first bad byte, wherever it falls against the eight-byte ASCII steps: a
 * NUL or a byte over 0x7f inside a run of ASCII, a sequence across a step, one cut at the end. */
static void test_valid_prefix (void **state)
{
    (void) state;
    static const struct { const char *s; size_t n, want; } cases[] = {
        {"", 0, 0},
        {"abcdefgh", 8, 8},
        {"abcdefghijklmnopq", 17, 17},
        {"abcdefghij\0lmnop", 17, 10},          /* NUL in the second step */
        {"abc\0efgh", 8, 3},                     /* NUL in the first */
        {"abcdefg\xe4\xb8\xad", 10, 10},          /* 中 across the step */
        {"abcdefghijk\xe4\xb8", 13, 11},          /* cut at the end */
        {"abcdefghijklmno\xff", 16, 15},
        {"\xe4\xb8\xad\xe6\x96\x87" "abcdefgh\xc0\x80", 16, 14},   /* overlong NUL after ASCII */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        size_t got = xf_utf8_valid_prefix ((const unsigned char *) cases[i].s, cases[i].n);
        if (got != cases[i].want)
            fail_msg ("case %zu: %zu, not %zu", i, got, cases[i].want);
        assert_int_equal (xf_utf8_valid ((const unsigned char *) cases[i].s, cases[i].n),
                          cases[i].want == cases[i].n);
    }
    char out[20];
    assert_int_equal (xf_text_uint (out, 0), 1);
    assert_memory_equal (out, "0", 1);
    assert_int_equal (xf_text_uint (out, 4096), 4);
    assert_memory_equal (out, "4096", 4);
    assert_int_equal (xf_text_uint (out, UINT64_MAX), 20);
    assert_memory_equal (out, "18446744073709551615", 20);
}

/* The keys built for every case: as snprintf ("%s%s") writes them, cut at the same place. */
static void test_join (void **state)
{
    (void) state;
    char out[16];
    assert_int_equal (xf_text_join (out, sizeof out, "moved/", "411324-2026", (char *) NULL), 15);
    assert_string_equal (out, "moved/411324-20");         /* cut to 15 bytes and a NUL */
    assert_int_equal (xf_text_join (out, sizeof out, "pos/", "410000", (char *) NULL), 10);
    assert_string_equal (out, "pos/410000");
    assert_int_equal (xf_text_join (out, sizeof out, "", (char *) NULL), 0);
    assert_string_equal (out, "");
    assert_int_equal (xf_text_join (out, sizeof out, (char *) NULL), 0);
    assert_string_equal (out, "");
    assert_int_equal (xf_text_join (out, 1, "abc", (char *) NULL), 0);   /* room for the NUL only */
    assert_string_equal (out, "");
    assert_int_equal (xf_text_join (out, sizeof out, "0123456789", "abcde", "XYZ", (char *) NULL),
                      15);
    assert_string_equal (out, "0123456789abcde");          /* exactly full; the rest dropped */
}

static void test_trim (void **state)
{
    (void) state;
    char a[] = "  alice \t", b[] = "bob", c[] = " \t ";
    assert_string_equal (xf_trim (a), "alice");
    assert_string_equal (xf_trim (b), "bob");
    assert_string_equal (xf_trim (c), "");
}

int main (void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test (test_sequences),
        cmocka_unit_test (test_valid_buffers),
        cmocka_unit_test (test_valid_prefix),
        cmocka_unit_test (test_join),
        cmocka_unit_test (test_trim),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
