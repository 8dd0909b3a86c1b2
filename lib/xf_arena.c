/* xf_arena.c — protobuf-c messages decoded into one arena (why: xf_arena.h).
 *
 * The arena's header sits in its first block, just before the first allocation, which is
 * the message itself: protobuf_c_message_unpack allocates the message before anything else
 * (protobuf-c 1.x), so the message's address finds the arena again. That order is checked
 * on every decode; were it ever different, the decode fails rather than guess. Blocks are
 * bump-allocated; protobuf-c's frees (of its scratch space, or of a half-built message on
 * bad bytes) do nothing, and everything goes when the arena does. */
#include "xf_arena.h"

#include <stdalign.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#define ALIGN alignof (max_align_t)

typedef struct block {
    struct block *next;
    alignas (max_align_t) uint8_t mem[];
} block_t;

typedef struct {
    block_t *more;              /* blocks after the first, newest first */
    uint8_t *next, *end;        /* the free part of the block in use */
    size_t grow;                /* the size of the next block */
    ProtobufCAllocator pa;
    alignas (max_align_t) uint8_t first[];   /* the first block: the message, then the rest */
} arena_t;

static size_t round_up (size_t n)
{
    return (n + ALIGN - 1) & ~(ALIGN - 1);
}

static void *arena_alloc (void *data, size_t size)
{
    arena_t *a = data;
    size = round_up (size ? size : 1);
    if ((size_t) (a->end - a->next) < size) {
        size_t cap = size > a->grow ? size : a->grow;
        block_t *b = cap < SIZE_MAX - sizeof *b ? malloc (sizeof *b + cap) : NULL;
        if (!b)
            return NULL;
        b->next = a->more;
        a->more = b;
        a->next = b->mem;
        a->end = b->mem + cap;
        a->grow *= 2;
    }
    void *p = a->next;
    a->next += size;
    return p;
}

static void arena_free_nothing (void *data, void *p)
{
    (void) data;
    (void) p;
}

static void arena_destroy (arena_t *a)
{
    for (block_t *b = a->more, *next; b; b = next) {
        next = b->next;
        free (b);
    }
    free (a);
}

ProtobufCMessage *xf_arena_unpack (const ProtobufCMessageDescriptor *d, size_t len,
                                   const uint8_t *buf)
{
    /* Decoded, a message takes about its wire size in copied strings and bytes, plus its
     * structs: most decode within the first block. */
    size_t cap = round_up (d->sizeof_message) + (len > SIZE_MAX / 4 ? SIZE_MAX / 4 : 2 * len)
                 + 1024;
    arena_t *a = cap < SIZE_MAX - sizeof *a ? malloc (sizeof *a + cap) : NULL;
    if (!a)
        return NULL;
    a->more = NULL;
    a->next = a->first;
    a->end = a->first + cap;
    a->grow = cap;
    a->pa = (ProtobufCAllocator) {arena_alloc, arena_free_nothing, a};
    ProtobufCMessage *m = protobuf_c_message_unpack (d, &a->pa, len, buf);
    if (!m || (uint8_t *) m != a->first) {
        arena_destroy (a);
        return NULL;
    }
    return m;
}

void xf_arena_free (ProtobufCMessage *m)
{
    if (m)
        arena_destroy ((arena_t *) ((uint8_t *) m - offsetof (arena_t, first)));
}
