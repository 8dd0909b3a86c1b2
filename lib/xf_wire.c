/* xf_wire.c — protobuf wire bytes read without decoding them (why: xf_wire.h). The scan
 * follows protobuf-c's reading: a tag is a varint of at most ten bytes, wire types 0, 1, 2
 * and 5 are read and the group types refused, and a length-delimited field is a
 * sub-message only when the descriptor says so; everything else is skipped by its length.
 * The scan's own recursion stops at max_depth. */
#include "xf_wire.h"

#include <string.h>

#include "xf_wire_int.h"

/* The varint at *p, which moves past it. */
static bool varint (const uint8_t **p, const uint8_t *end, uint64_t *v)
{
    size_t n;
    if (!xf_wire_varint (*p, end, v, &n))
        return false;
    *p += n;
    return true;
}

/* One field after its tag: *p moves past its value; for a length-delimited one, *value and
 * *vlen give the bytes. */
static bool skip_value (unsigned wire_type, const uint8_t **p, const uint8_t *end,
                        const uint8_t **value, size_t *vlen)
{
    uint64_t n;
    switch (wire_type) {
    case XF_WT_VARINT:
        return varint (p, end, &n);
    case XF_WT_FIXED64:
    case XF_WT_FIXED32:
        n = wire_type == XF_WT_FIXED64 ? 8 : 4;
        if ((uint64_t) (end - *p) < n)
            return false;
        *p += n;
        return true;
    case XF_WT_LEN:
        if (!varint (p, end, &n) || n > (uint64_t) (end - *p))
            return false;
        *value = *p;
        *vlen = (size_t) n;
        *p += n;
        return true;
    default:
        return false;
    }
}

/* One top-level field: where it starts and ends, its number and wire type, and for a
 * length-delimited one its bytes. */
typedef struct {
    const uint8_t *start, *end, *value;
    uint64_t number;
    unsigned wire_type;
    size_t vlen;
} field_t;

/* The field at *p, which moves past it; false when the bytes do not scan. */
static bool next_field (const uint8_t **p, const uint8_t *end, field_t *f)
{
    uint64_t tag;
    f->start = *p;
    f->value = NULL;
    f->vlen = 0;
    if (!varint (p, end, &tag))
        return false;
    f->number = tag >> 3;
    f->wire_type = (unsigned) (tag & 7);
    if (!skip_value (f->wire_type, p, end, &f->value, &f->vlen))
        return false;
    f->end = *p;
    return true;
}

/* Whether a message of type d can hold a message of a type that holds itself (CaseEvent's
 * `earlier`): only those nest without bound. Other sub-messages nest no deeper than the
 * schema does, a few levels, and the scan skips them: the case record, most of an
 * envelope, is not read. Answers are kept per type (the types are fixed for the process);
 * a type found on the path it is reached by is part of a cycle. */
#define TYPES_MAX 128   /* slots; the schema has about fifty message types */
#define PATH_MAX_ 64

static _Thread_local struct {
    const ProtobufCMessageDescriptor *d;
    bool recurse;
} known[TYPES_MAX];
static _Thread_local size_t n_known;

static size_t slot_of (const ProtobufCMessageDescriptor *d)
{
    size_t i = ((uintptr_t) d >> 4) % TYPES_MAX;
    while (known[i].d && known[i].d != d)
        i = (i + 1) % TYPES_MAX;
    return i;
}

static bool reaches_cycle (const ProtobufCMessageDescriptor *d,
                           const ProtobufCMessageDescriptor **path, size_t depth)
{
    for (size_t i = 0; i < depth; i++)
        if (path[i] == d)
            return true;
    size_t at = slot_of (d);
    if (known[at].d)
        return known[at].recurse;
    if (depth == PATH_MAX_)
        return true;                          /* deeper than any schema here: assume so */
    bool recurse = false;
    path[depth] = d;
    for (unsigned i = 0; i < d->n_fields && !recurse; i++)
        if (d->fields[i].type == PROTOBUF_C_TYPE_MESSAGE)
            recurse = reaches_cycle (d->fields[i].descriptor, path, depth + 1);
    if (n_known < TYPES_MAX - 1) {            /* a full table: answer without keeping it */
        at = slot_of (d);                     /* the slots filled below may have moved it */
        known[at].d = d;
        known[at].recurse = recurse;
        n_known++;
    }
    return recurse;
}

static bool can_recurse (const ProtobufCMessageDescriptor *d)
{
    const ProtobufCMessageDescriptor *path[PATH_MAX_];
    size_t at = slot_of (d);
    return known[at].d ? known[at].recurse : reaches_cycle (d, path, 0);
}

static xf_wire_depth_t depth_of (const ProtobufCMessageDescriptor *d, const uint8_t *p,
                                 const uint8_t *end, unsigned left)
{
    field_t f;
    while (p < end) {
        if (!next_field (&p, end, &f))
            return XF_WIRE_BAD;
        if (f.wire_type != XF_WT_LEN || f.number > UINT32_MAX)
            continue;
        const ProtobufCFieldDescriptor *fd =
            protobuf_c_message_descriptor_get_field (d, (unsigned) f.number);
        if (!fd || fd->type != PROTOBUF_C_TYPE_MESSAGE || !can_recurse (fd->descriptor))
            continue;
        if (left == 0)
            return XF_WIRE_DEEP;
        xf_wire_depth_t rc = depth_of (fd->descriptor, f.value, f.value + f.vlen, left - 1);
        if (rc != XF_WIRE_OK)
            return rc;
    }
    return XF_WIRE_OK;
}

xf_wire_depth_t xf_wire_depth (const ProtobufCMessageDescriptor *d, const uint8_t *buf,
                               size_t len, unsigned max_depth)
{
    return depth_of (d, buf, buf + len, max_depth);
}

bool xf_wire_field (const uint8_t *buf, size_t len, uint32_t number, const uint8_t **s,
                    size_t *n)
{
    const uint8_t *p = buf, *end = buf + len;
    bool found = false;
    field_t f;
    while (p < end) {
        if (!next_field (&p, end, &f))
            return false;
        if (f.wire_type == XF_WT_LEN && f.number == number) {
            *s = f.value;
            *n = f.vlen;
            found = true;
        }
    }
    return found;
}

size_t xf_wire_select (const uint8_t *buf, size_t len, bool (*keep) (uint64_t number,
                                                                      const void *arg),
                       const void *arg, uint8_t *out)
{
    const uint8_t *p = buf, *end = buf + len;
    size_t n = 0;
    field_t f;
    while (p < end) {
        if (!next_field (&p, end, &f))
            return SIZE_MAX;
        if (keep (f.number, arg)) {
            memcpy (out + n, f.start, (size_t) (f.end - f.start));
            n += (size_t) (f.end - f.start);
        }
    }
    return n;
}

static bool up_to (uint64_t number, const void *arg)
{
    return number >= 1 && number <= *(const uint32_t *) arg;
}

size_t xf_wire_keep (const uint8_t *buf, size_t len, uint32_t max_number, uint8_t *out)
{
    return xf_wire_select (buf, len, up_to, &max_number, out);
}
