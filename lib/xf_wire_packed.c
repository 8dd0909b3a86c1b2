/* xf_wire_packed.c — whether wire bytes are exactly what protobuf-c packs of what it decodes
 * from them, read on the bytes (xf_wire.h).
 *
 * It is the fast path of the canonical check (xf_msg_canonical), which otherwise packs the
 * decoded message again and compares: a sufficient condition, never a necessary one. The
 * bytes must be in the one form protobuf-c 1.4 writes: known fields in the order of their
 * numbers (the order of the descriptor's fields), the elements of a repeated field together,
 * a scalar repeated field packed when its descriptor says so, at most one member of a oneof,
 * no proto3 field at its zero value, every varint as protobuf-c writes the value it reads of
 * it (shortest, but a negative int32 in ten bytes), no NUL inside a string. Anything else —
 * an unknown field from a newer build, say — answers false and costs the caller the pack; so
 * do the types the schema does not use (sint, fixed, float, double), which are not read.
 * xf_wire_sound asks, on the same pass, what xf_msg's walk asks of the decoded message (UTF-8
 * strings within a limit, enum values the type has), so that a sound envelope needs neither. */
#include "xf_wire.h"

#include <string.h>

#include "xf_text.h"
#include "xf_wire_int.h"

#define ONEOFS_MAX 8   /* oneofs in one message type (the schema has one or none) */

/* What the scan asks besides the form: for xf_wire_sound, what xf_msg's walk asks of decoded
 * strings and enums. */
typedef struct {
    bool values;
    size_t max_text;
} scan_t;

/* Whether the n bytes at p are the shortest varint of their value, as protobuf-c writes every
 * varint: no zero byte last (but the one-byte 0), and ten bytes only for bit 63. */
static inline bool shortest (const uint8_t *p, size_t n)
{
    return n == 1 || (p[n - 1] != 0 && (n < 10 || p[9] == 1));
}

/* A varint that protobuf-c writes again alike: the shortest for its value. Tags and lengths. */
static inline bool read_shortest (const uint8_t **p, const uint8_t *end, uint64_t *v)
{
    size_t n;
    if (!xf_wire_varint (*p, end, v, &n) || !shortest (*p, n))
        return false;
    *p += n;
    return true;
}

/* Whether the shortest varint v is what protobuf-c packs of the value it reads of it as type
 * t; *zero says that value is zero. */
static bool varint_as_packed (ProtobufCType t, uint64_t v, size_t n, bool *zero)
{
    *zero = v == 0;
    switch (t) {
    case PROTOBUF_C_TYPE_INT32:
    case PROTOBUF_C_TYPE_ENUM:     /* read: the low 32 bits; a negative one is written in ten */
        return v <= INT32_MAX || (n == 10 && v >= (uint64_t) INT32_MIN);
    case PROTOBUF_C_TYPE_UINT32:   /* read: the low 32 bits */
        return v <= UINT32_MAX;
    case PROTOBUF_C_TYPE_INT64:
    case PROTOBUF_C_TYPE_UINT64:
        return true;
    case PROTOBUF_C_TYPE_BOOL:     /* read: any bit set is true; written: 0 or 1 */
        return v <= 1;
    default:
        return false;
    }
}

static bool message_as_packed (const scan_t *s, const ProtobufCMessageDescriptor *d,
                               const uint8_t *p, const uint8_t *end, unsigned depth);

/* A string or enum value as the walk wants it: UTF-8 within the limit, a value the enum has. */
static bool value_sound (const scan_t *s, const ProtobufCFieldDescriptor *f, const uint8_t *p,
                         size_t n, uint64_t v)
{
    if (!s->values)
        return true;
    if (f->type == PROTOBUF_C_TYPE_STRING)
        return n <= s->max_text && xf_utf8_valid (p, n);
    if (f->type == PROTOBUF_C_TYPE_ENUM)   /* as protobuf-c stores it: the low 32 bits */
        return protobuf_c_enum_descriptor_get_value (f->descriptor, (int) (int32_t) (uint32_t) v);
    return true;
}

/* One value of field f (one element of a repeated one) at *p, which moves past it. */
static bool value_as_packed (const scan_t *s, const ProtobufCFieldDescriptor *f,
                             unsigned wire_type, const uint8_t **p, const uint8_t *end,
                             bool *zero, unsigned depth)
{
    uint64_t v;
    size_t n;
    switch (f->type) {
    case PROTOBUF_C_TYPE_STRING:
    case PROTOBUF_C_TYPE_BYTES:
    case PROTOBUF_C_TYPE_MESSAGE:
        if (wire_type != XF_WT_LEN || !read_shortest (p, end, &v) || v > (uint64_t) (end - *p))
            return false;
        n = (size_t) v;
        if (f->type == PROTOBUF_C_TYPE_STRING
            && (memchr (*p, 0, n) || !value_sound (s, f, *p, n, 0)))
            return false;   /* protobuf-c keeps the string up to a NUL */
        if (f->type == PROTOBUF_C_TYPE_MESSAGE
            && !message_as_packed (s, f->descriptor, *p, *p + n, depth + 1))
            return false;
        *zero = f->type != PROTOBUF_C_TYPE_MESSAGE && n == 0;   /* a message present is written */
        *p += n;
        return true;
    case PROTOBUF_C_TYPE_INT32:
    case PROTOBUF_C_TYPE_ENUM:
    case PROTOBUF_C_TYPE_UINT32:
    case PROTOBUF_C_TYPE_INT64:
    case PROTOBUF_C_TYPE_UINT64:
    case PROTOBUF_C_TYPE_BOOL:
        if (wire_type != XF_WT_VARINT || !xf_wire_varint (*p, end, &v, &n) || !shortest (*p, n)
            || !varint_as_packed (f->type, v, n, zero) || !value_sound (s, f, *p, n, v))
            return false;
        *p += n;
        return true;
    default:   /* sint, fixed, float, double: not in the schema, so not read here */
        return false;
    }
}

/* A packed repeated field: one length-delimited run of one or more elements. */
static bool packed_as_packed (const scan_t *s, const ProtobufCFieldDescriptor *f,
                              unsigned wire_type, const uint8_t **p, const uint8_t *end)
{
    uint64_t v;
    bool zero;
    if (wire_type != XF_WT_LEN || !read_shortest (p, end, &v) || v == 0 || v > (uint64_t) (end - *p))
        return false;   /* an empty run: protobuf-c writes no field at all */
    const uint8_t *run_end = *p + v;
    while (*p < run_end)
        if (!value_as_packed (s, f, XF_WT_VARINT, p, run_end, &zero, 0))
            return false;
    return true;
}

/* Whether a oneof (by the offset of its case member) already had a member, or there is no
 * room to note it; notes it otherwise. */
static bool oneof_again (unsigned offset, unsigned seen[ONEOFS_MAX], size_t *n_seen)
{
    for (size_t i = 0; i < *n_seen; i++)
        if (seen[i] == offset)
            return true;
    if (*n_seen == ONEOFS_MAX)
        return true;
    seen[(*n_seen)++] = offset;
    return false;
}

static bool message_as_packed (const scan_t *s, const ProtobufCMessageDescriptor *d,
                               const uint8_t *p, const uint8_t *end, unsigned depth)
{
    const ProtobufCFieldDescriptor *f = NULL;
    unsigned oneofs[ONEOFS_MAX];
    size_t next = 0, n_oneofs = 0;
    uint64_t last = 0;
    if (!d || depth >= XF_WIRE_MAX_DEPTH)   /* as deep as xf_msg's walk goes, no deeper */
        return false;
    while (p < end) {
        uint64_t tag, number;
        bool zero = false;
        if (!read_shortest (&p, end, &tag))
            return false;
        number = tag >> 3;
        unsigned wire_type = (unsigned) (tag & 7);
        if (f && number == last && f->label == PROTOBUF_C_LABEL_REPEATED
            && !(f->flags & PROTOBUF_C_FIELD_FLAG_PACKED)) {
            if (!value_as_packed (s, f, wire_type, &p, end, &zero, depth))
                return false;
            continue;   /* the next element of the same field */
        }
        if (number <= last)
            return false;   /* out of order, or a field that is not repeated, again */
        /* protobuf-c packs in the order of the descriptor's fields: the scan only moves on */
        while (next < d->n_fields && d->fields[next].id < number)
            next++;
        if (next == d->n_fields || d->fields[next].id != number)
            return false;       /* unknown: protobuf-c packs it after the known fields */
        f = &d->fields[next];
        last = number;
        if (f->label == PROTOBUF_C_LABEL_REPEATED) {
            bool ok = f->flags & PROTOBUF_C_FIELD_FLAG_PACKED
                      ? packed_as_packed (s, f, wire_type, &p, end)
                      : value_as_packed (s, f, wire_type, &p, end, &zero, depth);
            if (!ok)
                return false;
            continue;
        }
        if (!value_as_packed (s, f, wire_type, &p, end, &zero, depth))
            return false;
        if (f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) {
            if (oneof_again (f->quantifier_offset, oneofs, &n_oneofs))
                return false;   /* protobuf-c keeps the last member only */
        } else if (f->label == PROTOBUF_C_LABEL_NONE && zero)
            return false;       /* proto3 writes no field at its zero value */
    }
    return true;
}

static bool scan (const scan_t *s, const ProtobufCMessageDescriptor *d, const uint8_t *buf,
                  size_t len)
{
    static const uint8_t none[1];
    buf = buf ? buf : none;   /* no bytes: a message with every field unset */
    return message_as_packed (s, d, buf, buf + len, 0);
}

bool xf_wire_as_packed (const ProtobufCMessageDescriptor *d, const uint8_t *buf, size_t len)
{
    const scan_t s = {false, 0};
    return scan (&s, d, buf, len);
}

bool xf_wire_sound (const ProtobufCMessageDescriptor *d, const uint8_t *buf, size_t len,
                    size_t max_text)
{
    const scan_t s = {true, max_text};
    return scan (&s, d, buf, len);
}
