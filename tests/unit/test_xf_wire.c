/* test_xf_wire.c — wire bytes read without decoding them (lib/xf_wire.c): the nesting depth
 * of sub-messages through types that can hold themselves (fields the descriptor does not
 * know, bytes fields and records are not read), at the limit and one past it, and for a
 * 20,000-deep CaseEvent that protobuf-c alone decodes by overflowing the stack; bytes that do
 * not scan; the decoder refusing what nests too deep, with a reason; one top-level field
 * found; the top-level fields up to a number copied out. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "xf_msg.h"
#include "xf_test.h"
#include "xf_wire.h"

static size_t nested_events (size_t depth, uint8_t **buf)
{
    size_t n = xf_test_nested_events (depth, buf);
    assert_true (n > 0);
    return n;
}

static void test_depth_counted_to_the_limit_and_past_it (void **state)
{
    (void) state;
    uint8_t *buf = NULL;
    size_t n = nested_events (4, &buf);
    assert_int_equal (xf_wire_depth (&xf__case_event__descriptor, buf, n, 4), XF_WIRE_OK);
    assert_int_equal (xf_wire_depth (&xf__case_event__descriptor, buf, n, 3), XF_WIRE_DEEP);
    free (buf);
    /* the same bytes read as a message whose field 7 is not a sub-message: nothing nests */
    n = nested_events (XF_WIRE_MAX_DEPTH + 1, &buf);
    assert_int_equal (xf_wire_depth (&xf__case_event__descriptor, buf, n, XF_WIRE_MAX_DEPTH),
                      XF_WIRE_DEEP);
    assert_int_equal (xf_wire_depth (&xf__signed_envelope__descriptor, buf, n, 0), XF_WIRE_OK);
    free (buf);
}

/* An envelope from 411324 to 410000 with a sound header and no body yet. */
static void sound_header (Xf__GlobalId *gid, Xf__Envelope *env)
{
    xf__global_id__init (gid);
    xf__envelope__init (env);
    gid->origin = "411324";
    gid->seq = 1;
    env->id = gid;
    env->from = "411324";
    env->to = "410000";
    env->format = XF_ENVELOPE_FORMAT;
}

static void test_a_real_envelope_is_far_from_the_limit (void **state)
{
    (void) state;
    Xf__GlobalId gid;
    Xf__Envelope env;
    Xf__CaseEvent ev = XF__CASE_EVENT__INIT, early = XF__CASE_EVENT__INIT, *earlier[] = {&early};
    Xf__Case rec = XF__CASE__INIT;
    sound_header (&gid, &env);
    env.body_case = XF__ENVELOPE__BODY_CASE_EVENT;
    env.case_event = &ev;
    ev.record = &rec;
    ev.earlier = earlier;
    ev.n_earlier = 1;
    early.record = &rec;
    uint8_t *buf = NULL;
    size_t n = xf_msg_envelope_pack (&env, &buf);
    assert_true (n > 0);
    /* envelope > case_event > earlier: two below the top through types that can hold
     * themselves; the records (no such type) are not read */
    assert_int_equal (xf_wire_depth (&xf__envelope__descriptor, buf, n, 2), XF_WIRE_OK);
    assert_int_equal (xf_wire_depth (&xf__envelope__descriptor, buf, n, 1), XF_WIRE_DEEP);
    free (buf);
}

/* protobuf-c alone overflows the stack on these 75 KB; the scan says too deep at once, and
 * the decoder refuses them with a reason an operator can read. */
static void test_twenty_thousand_deep_refused_before_decoding (void **state)
{
    (void) state;
    uint8_t *events = NULL, *buf = NULL;
    size_t n = nested_events (20000, &events);
    assert_true (n < 80 * 1024);
    assert_int_equal (xf_wire_depth (&xf__case_event__descriptor, events, n, XF_WIRE_MAX_DEPTH),
                      XF_WIRE_DEEP);
    Xf__GlobalId gid;
    Xf__Envelope env;
    sound_header (&gid, &env);
    size_t len = xf_test_envelope_around (&env, events, n, &buf);   /* as its body */
    assert_true (len > n);
    xf_err_t err = {0, ""};
    assert_null (xf_msg_envelope_unpack (buf, len, &err));
    assert_int_equal (err.code, XF_EINVAL);
    assert_non_null (strstr (err.msg, "nest messages more than 32 deep"));
    free (buf);
    free (events);
}

static void test_bytes_that_do_not_scan (void **state)
{
    (void) state;
    static const uint8_t cut_len[] = {0x3a, 0x05, 0x01};          /* field 7, 5 bytes, 1 there */
    static const uint8_t cut_varint[] = {0x10, 0x80};             /* field 2, varint cut */
    static const uint8_t group[] = {0x3b, 0x3c};                  /* field 7 as a group */
    static const uint8_t fixed_cut[] = {0x19, 1, 2, 3};           /* field 3, fixed64 cut */
    static const uint8_t long_varint[] = {0x10, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80,
                                          0x80, 0x80, 0x01};      /* eleven bytes */
    const struct { const uint8_t *b; size_t n; } bad[] = {
        {cut_len, sizeof cut_len}, {cut_varint, sizeof cut_varint}, {group, sizeof group},
        {fixed_cut, sizeof fixed_cut}, {long_varint, sizeof long_varint}};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_int_equal (xf_wire_depth (&xf__case_event__descriptor, bad[i].b, bad[i].n, 32),
                          XF_WIRE_BAD);
    assert_int_equal (xf_wire_depth (&xf__case_event__descriptor, cut_len, 0, 0), XF_WIRE_OK);
}

static void test_a_top_level_field_found_without_decoding (void **state)
{
    (void) state;
    /* field 3 "ab", field 2 varint 300, field 3 "xyz" (the last one counts), field 1 fixed32 */
    static const uint8_t b[] = {0x1a, 2, 'a', 'b', 0x10, 0xac, 0x02, 0x1a, 3, 'x', 'y', 'z',
                                0x0d, 1, 2, 3, 4};
    const uint8_t *s = NULL;
    size_t n = 0;
    assert_true (xf_wire_field (b, sizeof b, 3, &s, &n));
    assert_int_equal (n, 3);
    assert_memory_equal (s, "xyz", 3);
    assert_false (xf_wire_field (b, sizeof b, 4, &s, &n));
    assert_false (xf_wire_field (b, sizeof b, 2, &s, &n));     /* a varint, not bytes */
    assert_false (xf_wire_field (b, sizeof b - 1, 3, &s, &n)); /* cut: nothing trusted */
}

/* An envelope's header without its body, as a relay reads it: fields 1 to 5 in order. */
static void test_the_fields_up_to_a_number_kept (void **state)
{
    (void) state;
    /* 1: "a", 10: "body", 3: "to", 2: varint 7, 12: varint 1, 5: fixed32 */
    static const uint8_t b[] = {0x0a, 1, 'a', 0x52, 4, 'b', 'o', 'd', 'y', 0x1a, 2, 't', 'o',
                                0x10, 7, 0x60, 1, 0x2d, 1, 2, 3, 4};
    static const uint8_t head[] = {0x0a, 1, 'a', 0x1a, 2, 't', 'o', 0x10, 7, 0x2d, 1, 2, 3, 4};
    uint8_t out[sizeof b];
    assert_int_equal (xf_wire_keep (b, sizeof b, 5, out), sizeof head);
    assert_memory_equal (out, head, sizeof head);
    assert_int_equal (xf_wire_keep (b, sizeof b, 0, out), 0);
    assert_int_equal (xf_wire_keep (b, sizeof b - 2, 5, out), SIZE_MAX);   /* cut */
}

int main (void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test (test_depth_counted_to_the_limit_and_past_it),
        cmocka_unit_test (test_a_real_envelope_is_far_from_the_limit),
        cmocka_unit_test (test_twenty_thousand_deep_refused_before_decoding),
        cmocka_unit_test (test_bytes_that_do_not_scan),
        cmocka_unit_test (test_a_top_level_field_found_without_decoding),
        cmocka_unit_test (test_the_fields_up_to_a_number_kept),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
