/* xf_wire.h — protobuf wire bytes read without decoding them: how deep their messages nest,
 * one top-level string found by its field number, the top-level fields up to a number, and
 * whether they are in the form protobuf-c packs.
 *
 * protobuf-c decodes a sub-message by recursion and sets no limit: a peer's 75 KB
 * CaseEvent nested 20,000 times in `earlier` overflowed the stack of the office it was
 * addressed to, which then crashed again on the same unacknowledged frame after every
 * restart. Every message from the network is measured here before protobuf-c sees it. */
#ifndef XF_WIRE_H
#define XF_WIRE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <protobuf-c/protobuf-c.h>

/* Sub-messages nest at most this deep through types that can hold themselves (the schema
 * needs two: an event and the history it carries). */
#define XF_WIRE_MAX_DEPTH 32

typedef enum {
    XF_WIRE_OK,        /* nothing nests deeper than allowed */
    XF_WIRE_DEEP,      /* a sub-message nests deeper than max_depth */
    XF_WIRE_BAD,       /* not protobuf wire bytes (cut, or an unknown wire type): protobuf-c
                        * refuses them before nesting any deeper than what was read */
} xf_wire_depth_t;

/* How deep the sub-messages of buf, a message of type d, nest, counted through the types
 * that can hold themselves (CaseEvent.earlier); the top level is depth 0. A sub-message of
 * a type that cannot is not read: it nests no deeper than the schema does. Fields d does
 * not know are skipped as protobuf-c skips them. */
xf_wire_depth_t xf_wire_depth (const ProtobufCMessageDescriptor *d, const uint8_t *buf,
                               size_t len, unsigned max_depth);

/* The last top-level length-delimited field `number` of buf (as protobuf-c keeps the last),
 * not copied and not NUL-terminated: true with *s and *n set, false when there is none or
 * the bytes do not scan. */
bool xf_wire_field (const uint8_t *buf, size_t len, uint32_t number, const uint8_t **s,
                    size_t *n);

/* Copies to out (room for len bytes) every top-level field of buf for which keep (its
 * number, arg) is true, in order: what protobuf-c would pack of the message with the other
 * fields unset, when buf is what it packed. Returns the bytes written, or SIZE_MAX when buf
 * does not scan. */
size_t xf_wire_select (const uint8_t *buf, size_t len, bool (*keep) (uint64_t number,
                                                                      const void *arg),
                       const void *arg, uint8_t *out);
/* The fields numbered 1 to max_number: the header of an envelope without its body, say. */
size_t xf_wire_keep (const uint8_t *buf, size_t len, uint32_t max_number, uint8_t *out);

/* Whether buf, a message of type d, is exactly what protobuf-c packs of what it decodes from
 * it, read on the bytes without decoding or packing (xf_wire_packed.c): true only when it is
 * in the one form protobuf-c writes; false also for forms that decode alike (an unknown
 * field, a field out of order), for which a pack decides. */
bool xf_wire_as_packed (const ProtobufCMessageDescriptor *d, const uint8_t *buf, size_t len);
/* The same, and every string valid UTF-8 of at most max_text bytes, every enum a value its
 * type has: all that xf_msg's walk checks of the decoded message, so that a message the scan
 * accepts needs no walk (nor a pack). Sub-messages at most XF_WIRE_MAX_DEPTH deep, as the
 * walk. */
bool xf_wire_sound (const ProtobufCMessageDescriptor *d, const uint8_t *buf, size_t len,
                    size_t max_text);

#endif
