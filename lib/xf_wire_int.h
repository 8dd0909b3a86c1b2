/* xf_wire_int.h — what the two wire readers share (xf_wire.c: depth, fields; xf_wire_packed.c:
 * the form protobuf-c packs): the wire types and the varint as protobuf-c reads it. Not for
 * other modules: they see xf_wire.h only. */
#ifndef XF_WIRE_INT_H
#define XF_WIRE_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* protobuf's wire types */
enum { XF_WT_VARINT = 0, XF_WT_FIXED64 = 1, XF_WT_LEN = 2, XF_WT_FIXED32 = 5 };

/* The varint at p, of at most ten bytes (protobuf-c reads no longer ones): its value, and its
 * length in *n. False when it runs past end or past ten bytes. */
static inline bool xf_wire_varint (const uint8_t *p, const uint8_t *end, uint64_t *v, size_t *n)
{
    if (p < end && *p < 0x80) {   /* tags and short lengths: one byte */
        *v = *p;
        *n = 1;
        return true;
    }
    uint64_t x = 0;
    for (size_t i = 0; i < 10 && p + i < end; i++) {
        x |= (uint64_t) (p[i] & 0x7f) << (7 * i);   /* the tenth byte: its low bit only */
        if (!(p[i] & 0x80)) {
            *v = x;
            *n = i + 1;
            return true;
        }
    }
    return false;
}

#endif
