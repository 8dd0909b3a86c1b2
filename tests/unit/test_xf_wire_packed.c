/* test_xf_wire_packed.c — the canonical check's fast path (lib/xf_wire_packed.c): bytes read as
 * "exactly what protobuf-c packs of what it decodes from them", without packing.
 *
 * The claim is one-sided, and so is the main test: for random messages of every type of the
 * schema, filled through their descriptors, what protobuf-c packs is accepted; then for
 * mutations of those bytes (flips, insertions, deletions, a field written twice), whenever
 * protobuf-c decodes them and the scan accepts them, protobuf-c packs the decoded message back
 * to the very same bytes. Then each form protobuf-c would write otherwise is refused by name,
 * and xf_msg_canonical still decides those by packing. xf_wire_sound, the form and what the walk
 * asks of strings and enums, accepts nothing the walk would refuse. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "xf_msg.h"
#include "xf_msg_int.h"
#include "xf_test.h"
#include "xf_wire.h"

/* ---------------------------------------------------------------- random messages */

#define POOL_MAX 4096

typedef struct {
    void *p[POOL_MAX];
    size_t n;
    uint64_t seed;
} pool_t;

static void *take (pool_t *pl, size_t size)
{
    assert_true (pl->n < POOL_MAX);
    void *p = calloc (1, size ? size : 1);
    assert_non_null (p);
    return pl->p[pl->n++] = p;
}

static void pool_clear (pool_t *pl)
{
    for (size_t i = 0; i < pl->n; i++)
        free (pl->p[i]);
    pl->n = 0;
}

static uint64_t rnd (pool_t *pl)
{
    uint64_t x = pl->seed;   /* xorshift64: the same messages on every run */
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    return pl->seed = x;
}

static size_t element_size (ProtobufCType t)
{
    switch (t) {
    case PROTOBUF_C_TYPE_INT32:
    case PROTOBUF_C_TYPE_UINT32:  return 4;
    case PROTOBUF_C_TYPE_ENUM:    return sizeof (int);
    case PROTOBUF_C_TYPE_BOOL:    return sizeof (protobuf_c_boolean);
    case PROTOBUF_C_TYPE_BYTES:   return sizeof (ProtobufCBinaryData);
    case PROTOBUF_C_TYPE_STRING:
    case PROTOBUF_C_TYPE_MESSAGE: return sizeof (void *);
    default:                      return 8;
    }
}

static ProtobufCMessage *random_message (const ProtobufCMessageDescriptor *d, pool_t *pl,
                                         int depth);

/* A value at member: zeros, edges and random bits; strings with UTF-8, bytes with NULs. */
static void random_value (const ProtobufCFieldDescriptor *f, void *member, pool_t *pl, int depth)
{
    static const int64_t edges[] = {0, 1, -1, 127, 128, 300, INT32_MAX, INT32_MIN, INT64_MAX};
    uint64_t r = rnd (pl);
    uint64_t v = r % 3 ? (uint64_t) edges[r % (sizeof edges / sizeof *edges)] : rnd (pl);
    switch (f->type) {
    case PROTOBUF_C_TYPE_INT32:   *(int32_t *) member = (int32_t) v; break;
    case PROTOBUF_C_TYPE_UINT32:  *(uint32_t *) member = (uint32_t) v; break;
    case PROTOBUF_C_TYPE_BOOL:    *(protobuf_c_boolean *) member = r & 1; break;
    case PROTOBUF_C_TYPE_ENUM: {
        const ProtobufCEnumDescriptor *e = f->descriptor;
        *(int *) member = e->values[r % e->n_values].value;
        break;
    }
    case PROTOBUF_C_TYPE_STRING: {
        static const char *const texts[] = {"", "411324", "信访 上报", "a\tb\n", "x"};
        *(const char **) member = texts[r % 5];
        break;
    }
    case PROTOBUF_C_TYPE_BYTES: {
        ProtobufCBinaryData *b = member;
        b->len = r % 5;
        b->data = take (pl, b->len);
        for (size_t i = 0; i < b->len; i++)
            b->data[i] = (uint8_t) (rnd (pl) % 3);   /* NULs among them: bytes hold anything */
        break;
    }
    case PROTOBUF_C_TYPE_MESSAGE:
        *(ProtobufCMessage **) member = random_message (f->descriptor, pl, depth + 1);
        break;
    default:
        *(uint64_t *) member = v;
        break;
    }
}

static ProtobufCMessage *random_message (const ProtobufCMessageDescriptor *d, pool_t *pl,
                                         int depth)
{
    ProtobufCMessage *m = take (pl, d->sizeof_message);
    d->message_init (m);
    for (unsigned i = 0; i < d->n_fields; i++) {
        const ProtobufCFieldDescriptor *f = &d->fields[i];
        char *member = (char *) m + f->offset, *quantifier = (char *) m + f->quantifier_offset;
        bool deep = f->type == PROTOBUF_C_TYPE_MESSAGE && depth >= 3;
        if (f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) {
            if (*(uint32_t *) quantifier || deep || rnd (pl) % 3)
                continue;
            *(uint32_t *) quantifier = f->id;
            random_value (f, member, pl, depth);
        } else if (f->label == PROTOBUF_C_LABEL_REPEATED) {
            size_t n = deep ? 0 : rnd (pl) % 4, size = element_size (f->type);
            char *v = take (pl, n * size);
            for (size_t k = 0; k < n; k++)
                random_value (f, v + k * size, pl, depth);
            *(size_t *) quantifier = n;
            *(void **) member = v;
        } else if (!deep && rnd (pl) % 3) {
            if (f->label == PROTOBUF_C_LABEL_OPTIONAL && f->type != PROTOBUF_C_TYPE_STRING
                && f->type != PROTOBUF_C_TYPE_MESSAGE)
                *(protobuf_c_boolean *) quantifier = 1;
            random_value (f, member, pl, depth);
        }
    }
    return m;
}

/* Every message type reachable from what comes from the network: the link frame and the
 * envelope (which a frame holds as bytes). */
static size_t schema_types (const ProtobufCMessageDescriptor **out, size_t max)
{
    size_t n = 0;
    out[n++] = &xf__link_frame__descriptor;
    out[n++] = &xf__envelope__descriptor;
    for (size_t i = 0; i < n; i++)
        for (unsigned k = 0; k < out[i]->n_fields; k++) {
            const ProtobufCFieldDescriptor *f = &out[i]->fields[k];
            if (f->type != PROTOBUF_C_TYPE_MESSAGE)
                continue;
            bool known = false;
            for (size_t j = 0; j < n && !known; j++)
                known = out[j] == f->descriptor;
            if (!known) {
                assert_true (n < max);
                out[n++] = f->descriptor;
            }
        }
    return n;
}

static size_t pack (const ProtobufCMessage *m, uint8_t **buf)
{
    size_t n = protobuf_c_message_get_packed_size (m);
    *buf = malloc (n ? n : 1);
    assert_non_null (*buf);
    assert_int_equal (protobuf_c_message_pack (m, *buf), n);
    return n;
}

/* b (n bytes) changed once at random into out; returns the new length. */
static size_t mutate (pool_t *pl, const uint8_t *b, size_t n, uint8_t *out)
{
    size_t at = n ? rnd (pl) % n : 0, len = n;
    memcpy (out, b, n);
    switch (rnd (pl) % 6) {
    case 0:   /* a bit flipped */
        if (n)
            out[at] ^= (uint8_t) (1u << (rnd (pl) % 8));
        break;
    case 1:   /* a byte changed */
        if (n)
            out[at] = (uint8_t) rnd (pl);
        break;
    case 2:   /* a byte inserted */
        memmove (out + at + 1, out + at, n - at);
        out[at] = (uint8_t) rnd (pl);
        len++;
        break;
    case 3:   /* a byte deleted */
        if (n) {
            memmove (out + at, out + at + 1, n - at - 1);
            len--;
        }
        break;
    case 4:   /* the message written twice: every field again */
        memcpy (out + n, b, n);
        len = 2 * n;
        break;
    default:  /* a zero byte: a NUL in a string, a zero value, a shorter length */
        if (n)
            out[at] = 0;
        break;
    }
    return len;
}

static void test_what_protobuf_c_packs_is_accepted_and_nothing_else_passes (void **state)
{
    (void) state;
    static pool_t pl = {.seed = 0x9e3779b97f4a7c15ull};
    const ProtobufCMessageDescriptor *types[128];
    size_t n_types = schema_types (types, 128), accepted = 0, decoded = 0, mutated_ok = 0;
    size_t walked_ok = 0;
    assert_true (n_types > 30);
    for (size_t t = 0; t < n_types; t++)
        for (int round = 0; round < 40; round++) {
            uint8_t *b = NULL;
            size_t n = pack (random_message (types[t], &pl, 0), &b);
            assert_true (xf_wire_as_packed (types[t], b, n));
            assert_true (xf_wire_sound (types[t], b, n, XF_MSG_MAX_TEXT));
            accepted++;
            uint8_t *out = malloc (2 * n + 1);
            assert_non_null (out);
            for (int k = 0; k < 20; k++) {
                size_t len = mutate (&pl, b, n, out);
                ProtobufCMessage *m = protobuf_c_message_unpack (types[t], NULL, len, out);
                if (!m)
                    continue;
                decoded++;
                bool sound = xf_wire_sound (types[t], out, len, XF_MSG_MAX_TEXT);
                if (sound)   /* sound is the form and more */
                    assert_true (xf_wire_as_packed (types[t], out, len));
                if (xf_wire_as_packed (types[t], out, len)) {
                    uint8_t *again = NULL;
                    size_t n2 = pack (m, &again);
                    assert_int_equal (n2, len);
                    assert_memory_equal (again, out, len);
                    free (again);
                    mutated_ok++;
                }
                if (sound) {   /* and what it calls sound, the walk finds nothing in */
                    xf_err_t err = {0};
                    if (xf_msg_walk (m, "random", &err))
                        fail_msg ("sound, but the walk says: %s", err.msg);
                    walked_ok++;
                }
                protobuf_c_message_free_unpacked (m, NULL);
            }
            free (out);
            free (b);
            pool_clear (&pl);
        }
    /* the mutations reach both answers: many still decode, some of those are canonical */
    assert_true (decoded > accepted);
    assert_true (mutated_ok > 100 && mutated_ok < decoded);
    assert_true (walked_ok > 100 && walked_ok <= mutated_ok);
}

/* ---------------------------------------------------------------- forms refused by name */

static uint8_t *sound_envelope (size_t *n)
{
    Xf__GlobalId gid = XF__GLOBAL_ID__INIT;
    Xf__Envelope env = XF__ENVELOPE__INIT;
    Xf__StatsRequest req = XF__STATS_REQUEST__INIT;
    gid.origin = "411324";
    gid.seq = 7;
    env.id = &gid;
    env.from = "411324";
    env.to = "410000";
    env.created = 1764000000;
    env.format = XF_ENVELOPE_FORMAT;
    env.body_case = XF__ENVELOPE__BODY_STATS_REQUEST;
    env.stats_request = &req;
    uint8_t *b = NULL;
    *n = pack (&env.base, &b);
    assert_true (xf_wire_as_packed (&xf__envelope__descriptor, b, *n));
    return b;
}

/* The envelope with `extra` bytes (whole fields) appended, or put before its first field. */
static bool accepted_with (const uint8_t *extra, size_t n_extra, bool first)
{
    size_t n;
    uint8_t *b = sound_envelope (&n), *out = malloc (n + n_extra);
    assert_non_null (out);
    memcpy (out + (first ? n_extra : 0), b, n);
    memcpy (out + (first ? 0 : n), extra, n_extra);
    bool ok = xf_wire_as_packed (&xf__envelope__descriptor, out, n + n_extra);
    free (out);
    free (b);
    return ok;
}

static void test_forms_protobuf_c_does_not_write_are_refused (void **state)
{
    (void) state;
    /* each decodes (as the last value, or merged, or ignored) but re-packs otherwise */
    static const uint8_t from_again[] = {2 << 3 | 2, 6, '4', '1', '1', '3', '2', '4'};
    static const uint8_t unknown[] = {0x98, 0x06, 1};   /* field 99, a varint */
    /* stats_reply, a second member after stats_request */
    static const uint8_t second_member[] = {14 << 3 | 2, 0};
    static const uint8_t to_first[] = {3 << 3 | 2, 6, '4', '1', '0', '0', '0', '0'};
    assert_false (accepted_with (from_again, sizeof from_again, false));
    assert_false (accepted_with (unknown, sizeof unknown, false));
    assert_false (accepted_with (second_member, sizeof second_member, false));
    assert_false (accepted_with (to_first, sizeof to_first, true));
}

/* One field of a GlobalId {origin "411324", seq} written as given, after the origin. */
static bool global_id_with (const uint8_t *seq, size_t n)
{
    uint8_t b[32] = {1 << 3 | 2, 6, '4', '1', '1', '3', '2', '4'};
    memcpy (b + 8, seq, n);
    return xf_wire_as_packed (&xf__global_id__descriptor, b, 8 + n);
}

static void test_varints_only_as_protobuf_c_writes_them (void **state)
{
    (void) state;
    static const uint8_t seq_5[] = {2 << 3, 5}, seq_5_long[] = {2 << 3, 0x85, 0x00};
    static const uint8_t seq_0[] = {2 << 3, 0}, tag_long[] = {2 << 3 | 0x80, 0x00, 5};
    assert_true (global_id_with (seq_5, sizeof seq_5));
    assert_false (global_id_with (seq_5_long, sizeof seq_5_long));   /* a byte too many */
    assert_false (global_id_with (seq_0, sizeof seq_0));             /* proto3 writes no zero */
    assert_false (global_id_with (tag_long, sizeof tag_long));       /* the tag too */
    /* a string with a NUL inside: protobuf-c keeps it up to the NUL */
    static const uint8_t nul[] = {1 << 3 | 2, 3, '4', 0, '1'};
    assert_false (xf_wire_as_packed (&xf__global_id__descriptor, nul, sizeof nul));
    /* an empty string written: proto3 writes none */
    static const uint8_t empty[] = {1 << 3 | 2, 0};
    assert_false (xf_wire_as_packed (&xf__global_id__descriptor, empty, sizeof empty));
}

/* A field of type int32 or bool, and packed repeated ones, in a real type of the schema. */
static const ProtobufCFieldDescriptor *field_of_type (ProtobufCType type, bool repeated,
                                                      const ProtobufCMessageDescriptor **d)
{
    const ProtobufCMessageDescriptor *types[128];
    size_t n = schema_types (types, 128);
    for (size_t i = 0; i < n; i++)
        for (unsigned k = 0; k < types[i]->n_fields; k++) {
            const ProtobufCFieldDescriptor *f = &types[i]->fields[k];
            if (f->type == type && (f->label == PROTOBUF_C_LABEL_REPEATED) == repeated
                && !(f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF)) {
                *d = types[i];
                return f;
            }
        }
    fail_msg ("no field of type %d in the schema", (int) type);
    return NULL;
}

static void test_int32_bool_and_packed_runs (void **state)
{
    (void) state;
    const ProtobufCMessageDescriptor *d;
    const ProtobufCFieldDescriptor *f = field_of_type (PROTOBUF_C_TYPE_INT32, false, &d);
    uint8_t tag = (uint8_t) (f->id << 3);
    assert_true (f->id < 16);
    /* -1: protobuf-c writes ten bytes; five decode to the same int32 */
    const uint8_t minus_ten[] = {tag, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01};
    const uint8_t minus_five[] = {tag, 0xff, 0xff, 0xff, 0xff, 0x0f};
    const uint8_t big[] = {tag, 0x80, 0x80, 0x80, 0x80, 0x10};   /* 2^32: reads as 0 */
    assert_true (xf_wire_as_packed (d, minus_ten, sizeof minus_ten));
    assert_false (xf_wire_as_packed (d, minus_five, sizeof minus_five));
    assert_false (xf_wire_as_packed (d, big, sizeof big));

    f = field_of_type (PROTOBUF_C_TYPE_BOOL, false, &d);
    assert_true (f->id < 16);
    const uint8_t yes[] = {(uint8_t) (f->id << 3), 1}, two[] = {(uint8_t) (f->id << 3), 2};
    assert_true (xf_wire_as_packed (d, yes, sizeof yes));
    assert_false (xf_wire_as_packed (d, two, sizeof two));   /* true either way; written as 1 */

    f = field_of_type (PROTOBUF_C_TYPE_UINT64, true, &d);
    assert_true (f->flags & PROTOBUF_C_FIELD_FLAG_PACKED);
    assert_true (f->id < 16);
    uint8_t packed_tag = (uint8_t) (f->id << 3 | 2), loose_tag = (uint8_t) (f->id << 3);
    const uint8_t run[] = {packed_tag, 3, 1, 0, 2};
    const uint8_t empty_run[] = {packed_tag, 0};
    const uint8_t loose[] = {loose_tag, 1, loose_tag, 0};
    const uint8_t two_runs[] = {packed_tag, 1, 1, packed_tag, 1, 2};
    assert_true (xf_wire_as_packed (d, run, sizeof run));
    assert_false (xf_wire_as_packed (d, empty_run, sizeof empty_run));
    assert_false (xf_wire_as_packed (d, loose, sizeof loose));
    assert_false (xf_wire_as_packed (d, two_runs, sizeof two_runs));
}

/* The scan goes as deep as the walk, no deeper: a CaseEvent whose history nests 31 levels is
 * read, one 32 levels deep is not (the decoder measures it, and refuses it, as before). No
 * bytes at all are a message with every field unset, as protobuf-c packs it. */
static void test_as_deep_as_the_walk_and_no_bytes (void **state)
{
    (void) state;
    uint8_t *b = NULL;
    size_t n = xf_test_nested_events (XF_WIRE_MAX_DEPTH - 1, &b);
    assert_true (n > 0);
    assert_true (xf_wire_as_packed (&xf__case_event__descriptor, b, n));
    assert_true (xf_wire_sound (&xf__case_event__descriptor, b, n, XF_MSG_MAX_TEXT));
    free (b);
    n = xf_test_nested_events (XF_WIRE_MAX_DEPTH, &b);
    assert_true (n > 0);
    assert_false (xf_wire_as_packed (&xf__case_event__descriptor, b, n));
    assert_false (xf_wire_sound (&xf__case_event__descriptor, b, n, XF_MSG_MAX_TEXT));
    free (b);
    assert_true (xf_wire_as_packed (&xf__envelope__descriptor, NULL, 0));
    assert_true (xf_wire_sound (&xf__envelope__descriptor, NULL, 0, XF_MSG_MAX_TEXT));
}

/* Sound asks what the walk asks: a string not UTF-8 or over the limit, an enum value the
 * type does not have, are the form protobuf-c writes but not sound. */
static void test_sound_is_what_the_walk_accepts (void **state)
{
    (void) state;
    static const uint8_t ok[] = {1 << 3 | 2, 6, '4', '1', '1', '3', '2', '4'};
    static const uint8_t bad_utf8[] = {1 << 3 | 2, 3, '4', 0xc3, '1'};
    /* 信访 */
    static const uint8_t chinese[] = {1 << 3 | 2, 6, 0xe4, 0xbf, 0xa1, 0xe8, 0xae, 0xbf};
    const ProtobufCMessageDescriptor *g = &xf__global_id__descriptor;
    assert_true (xf_wire_sound (g, ok, sizeof ok, XF_MSG_MAX_TEXT));
    assert_true (xf_wire_sound (g, chinese, sizeof chinese, XF_MSG_MAX_TEXT));
    assert_true (xf_wire_as_packed (g, bad_utf8, sizeof bad_utf8));
    assert_false (xf_wire_sound (g, bad_utf8, sizeof bad_utf8, XF_MSG_MAX_TEXT));
    assert_true (xf_wire_sound (g, ok, sizeof ok, 6));
    assert_false (xf_wire_sound (g, ok, sizeof ok, 5));   /* one byte over the limit */

    const ProtobufCMessageDescriptor *d;
    const ProtobufCFieldDescriptor *f = field_of_type (PROTOBUF_C_TYPE_ENUM, false, &d);
    const ProtobufCEnumDescriptor *e = f->descriptor;
    assert_true (f->id < 16);
    int unknown = 1;
    while (protobuf_c_enum_descriptor_get_value (e, unknown))
        unknown++;
    assert_true (unknown < 128 && e->values[e->n_values - 1].value < 128);
    const uint8_t known[] = {(uint8_t) (f->id << 3), (uint8_t) e->values[e->n_values - 1].value};
    const uint8_t strange[] = {(uint8_t) (f->id << 3), (uint8_t) unknown};
    assert_true (xf_wire_sound (d, known, sizeof known, XF_MSG_MAX_TEXT));
    assert_true (xf_wire_as_packed (d, strange, sizeof strange));
    assert_false (xf_wire_sound (d, strange, sizeof strange, XF_MSG_MAX_TEXT));
    /* and the walk refuses that decoded value, as the scan said */
    ProtobufCMessage *m = protobuf_c_message_unpack (d, NULL, sizeof strange, strange);
    xf_err_t err = {0};
    assert_non_null (m);
    assert_int_not_equal (xf_msg_walk (m, "strange", &err), 0);
    protobuf_c_message_free_unpacked (m, NULL);
}

/* What the fast path refuses, the canonical check still decides by packing, as before: an
 * unknown field from a newer build passes (a permutation), a duplicated field does not. */
static void test_the_canonical_check_still_packs_what_the_scan_refuses (void **state)
{
    (void) state;
    size_t n;
    xf_err_t err = {0};
    uint8_t *b = sound_envelope (&n), *out = malloc (n + 8);
    assert_non_null (out);
    memcpy (out, b, n);
    out[n] = 0x98;   /* field 99, a varint: from a newer build */
    out[n + 1] = 0x06;
    out[n + 2] = 1;
    Xf__Envelope *e = xf__envelope__unpack (NULL, n + 3, out);
    assert_non_null (e);
    assert_false (xf_wire_as_packed (&xf__envelope__descriptor, out, n + 3));
    assert_int_equal (xf_msg_canonical (&e->base, out, n + 3, 1, "envelope", &err), 0);
    xf__envelope__free_unpacked (e, NULL);
    static const uint8_t from_again[] = {2 << 3 | 2, 6, '4', '1', '1', '3', '2', '4'};
    memcpy (out + n, from_again, sizeof from_again);
    assert_non_null (e = xf__envelope__unpack (NULL, n + sizeof from_again, out));
    assert_int_equal (xf_msg_canonical (&e->base, out, n + sizeof from_again, 1, "envelope", &err),
                      XF_EINVAL);
    assert_non_null (strstr (err.msg, "re-encode"));
    xf__envelope__free_unpacked (e, NULL);
    free (out);
    free (b);
}

int main (void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test (test_what_protobuf_c_packs_is_accepted_and_nothing_else_passes),
        cmocka_unit_test (test_forms_protobuf_c_does_not_write_are_refused),
        cmocka_unit_test (test_varints_only_as_protobuf_c_writes_them),
        cmocka_unit_test (test_int32_bool_and_packed_runs),
        cmocka_unit_test (test_as_deep_as_the_walk_and_no_bytes),
        cmocka_unit_test (test_sound_is_what_the_walk_accepts),
        cmocka_unit_test (test_the_canonical_check_still_packs_what_the_scan_refuses),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
