/* test_xf_arena.c — protobuf-c messages decoded into one arena (lib/xf_arena.c): what decodes
 * is what protobuf-c's own allocator decodes, byte for byte when packed again, however many
 * blocks it takes (a message whose structs outgrow its wire size many times over, a long
 * string); bytes that do not decode give NULL and leave nothing behind
 * (the sanitizer build checks for leaks); a NULL is freed as nothing. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "xf_arena.h"
#include "xfsync.pb-c.h"

/* m, decoded by the arena and by protobuf-c alone, packs back to the same bytes. */
static void decodes_alike (const ProtobufCMessage *m)
{
    size_t n = protobuf_c_message_get_packed_size (m);
    uint8_t *buf = malloc (n + 1);
    assert_non_null (buf);
    assert_int_equal (protobuf_c_message_pack (m, buf), n);
    ProtobufCMessage *a = xf_arena_unpack (m->descriptor, n, buf);
    ProtobufCMessage *s = protobuf_c_message_unpack (m->descriptor, NULL, n, buf);
    assert_non_null (a);
    assert_non_null (s);
    size_t an = protobuf_c_message_get_packed_size (a);
    assert_int_equal (an, n);
    uint8_t *again = malloc (n + 1);
    assert_non_null (again);
    protobuf_c_message_pack (a, again);
    assert_memory_equal (again, buf, n);
    protobuf_c_message_pack (s, again);
    assert_memory_equal (again, buf, n);
    xf_arena_free (a);
    protobuf_c_message_free_unpacked (s, NULL);
    free (again);
    free (buf);
}

static void test_a_case_event_decodes_as_protobuf_c_decodes_it (void **state)
{
    (void) state;
    Xf__Case rec = XF__CASE__INIT;
    Xf__CaseEvent ev = XF__CASE_EVENT__INIT;
    char *watchers[] = {"411300", "410000"};
    rec.id = "411324-2026-000001";
    rec.origin = rec.owner = "411324";
    rec.summary = "来信反映村务公开问题";
    rec.watchers = watchers;
    rec.n_watchers = 2;
    ev.case_id = rec.id;
    ev.office = "411324";
    ev.seq = 3;
    ev.record = &rec;
    decodes_alike (&ev.base);
}

/* Two thousand empty earlier events: two bytes each on the wire, a struct each decoded, so
 * the first block (twice the wire size) holds a fraction and the arena grows many times. */
static void test_a_message_larger_decoded_than_sent_grows_the_arena (void **state)
{
    (void) state;
    enum { N = 2000 };
    Xf__CaseEvent ev = XF__CASE_EVENT__INIT, *earlier[N], empty[N];
    for (size_t i = 0; i < N; i++) {
        xf__case_event__init (&empty[i]);
        earlier[i] = &empty[i];
    }
    empty[N - 1].case_id = "411324-2026-000002";   /* the last one found where it belongs */
    ev.case_id = "411324-2026-000002";
    ev.earlier = earlier;
    ev.n_earlier = N;
    decodes_alike (&ev.base);
    size_t n = xf__case_event__get_packed_size (&ev);
    assert_true (n < N * 3 + 64);
    uint8_t *buf = malloc (n);
    assert_non_null (buf);
    xf__case_event__pack (&ev, buf);
    Xf__CaseEvent *d = (Xf__CaseEvent *) xf_arena_unpack (&xf__case_event__descriptor, n, buf);
    assert_non_null (d);
    assert_int_equal (d->n_earlier, N);
    assert_string_equal (d->earlier[N - 1]->case_id, "411324-2026-000002");
    assert_string_equal (d->earlier[0]->case_id, "");
    xf_arena_free (&d->base);
    free (buf);
}

/* A summary of 1 MiB (the first block is sized from the wire, so it still holds it). */
static void test_a_long_string_decodes (void **state)
{
    (void) state;
    size_t big = 1u << 20;
    char *summary = malloc (big + 1);
    assert_non_null (summary);
    memset (summary, 'x', big);
    summary[big] = 0;
    Xf__Case rec = XF__CASE__INIT;
    rec.id = "411324-2026-000003";
    rec.summary = summary;
    decodes_alike (&rec.base);
    free (summary);
}

static void test_bytes_that_do_not_decode_leave_nothing (void **state)
{
    (void) state;
    /* field 1 (id, a string) of 100 bytes, 3 of them there; field 3 (at) a varint that never
     * ends */
    static const uint8_t cut[] = {0x0a, 100, 'a', 'b', 'c'};
    static const uint8_t endless[] = {0x18, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
                                      0xff, 0xff, 0xff};
    assert_null (xf_arena_unpack (&xf__case__descriptor, sizeof cut, cut));
    assert_null (xf_arena_unpack (&xf__case_event__descriptor, sizeof endless, endless));
    /* a sub-message cut inside the second of two events: built halfway, then dropped */
    Xf__CaseEvent ev = XF__CASE_EVENT__INIT, a = XF__CASE_EVENT__INIT, b = XF__CASE_EVENT__INIT;
    Xf__CaseEvent *two[] = {&a, &b};
    a.case_id = b.case_id = "411324-2026-000004";
    ev.earlier = two;
    ev.n_earlier = 2;
    size_t n = xf__case_event__get_packed_size (&ev);
    uint8_t *buf = malloc (n);
    assert_non_null (buf);
    xf__case_event__pack (&ev, buf);
    assert_null (xf_arena_unpack (&xf__case_event__descriptor, n - 3, buf));
    free (buf);
    xf_arena_free (NULL);
}

static void test_empty_bytes_decode_an_empty_message (void **state)
{
    (void) state;
    static const uint8_t none[1];
    Xf__Case *c = (Xf__Case *) xf_arena_unpack (&xf__case__descriptor, 0, none);
    assert_non_null (c);
    assert_string_equal (c->id, "");
    assert_int_equal (c->n_watchers, 0);
    xf_arena_free (&c->base);
}

int main (void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test (test_a_case_event_decodes_as_protobuf_c_decodes_it),
        cmocka_unit_test (test_a_message_larger_decoded_than_sent_grows_the_arena),
        cmocka_unit_test (test_a_long_string_decodes),
        cmocka_unit_test (test_bytes_that_do_not_decode_leave_nothing),
        cmocka_unit_test (test_empty_bytes_decode_an_empty_message),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
