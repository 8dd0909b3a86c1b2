/* xf_arena.h — protobuf-c messages decoded into one arena: every string, bytes field,
 * sub-message and array of the message in a few large blocks, freed at once.
 *
 * A received envelope decodes into some fifty allocations (each string of the case record,
 * each sub-message); with the system allocator a relay's and an office's decode spent more
 * time in malloc and free, and in protobuf-c's walk to free them, than in the decoding
 * itself. A message from here is read, never changed in its strings or arrays: nothing may
 * free or replace a part of it (xf_case_set on one would free inside a block). */
#ifndef XF_ARENA_H
#define XF_ARENA_H

#include <protobuf-c/protobuf-c.h>

/* protobuf_c_message_unpack into an arena; NULL when the bytes do not decode or memory is
 * short (the two are not told apart, as protobuf-c does not). */
ProtobufCMessage *xf_arena_unpack (const ProtobufCMessageDescriptor *d, size_t len,
                                   const uint8_t *buf);
/* Frees a message from xf_arena_unpack, and all it holds; NULL does nothing. */
void xf_arena_free (ProtobufCMessage *m);

#endif
