/* memory.c — giving freed heap back to the system. glibc keeps what a burst freed in its
 * arenas, where RSS still counts it: the national root came out of its start-up (31
 * provinces' hellos, each with a subtree's routes and certificates) with 35.0 MiB of
 * anonymous memory, and malloc_trim took it to 7.5 MiB. Every 2 s the node reads its
 * anonymous RSS; grown by 1 MiB since the last look after a trim, it trims (which also releases
 * free pages in the middle of an arena, not only at its top). Growth that is live data is not
 * trimmed again: the mark moves up to what the trim left. */
#include "node.h"

#include <stdio.h>
#include <unistd.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif

#define TRIM_EVERY_MS 2000
#define TRIM_GROWTH (1u << 20)   /* anonymous bytes grown before a trim is worth it */

/* Resident anonymous bytes (resident less file-backed and shared), 0 when unknown. */
static size_t anon_bytes (void)
{
    unsigned long size = 0, resident = 0, shared = 0;
    FILE *f = fopen ("/proc/self/statm", "re");
    int got = f ? fscanf (f, "%lu %lu %lu", &size, &resident, &shared) : 0;
    if (f)
        fclose (f);
    if (got != 3 || shared > resident)
        return 0;
    return (size_t) (resident - shared) * (size_t) sysconf (_SC_PAGESIZE);
}

void memory_tick (xf_node_t *node, int64_t now_ms)
{
#ifdef __GLIBC__
    if (now_ms < node->next_trim_ms)
        return;
    node->next_trim_ms = now_ms + TRIM_EVERY_MS;
    size_t anon = anon_bytes ();
    if (!anon)
        return;   /* /proc unreadable: nothing to go by */
    if (!node->anon_mark || anon < node->anon_mark) {
        node->anon_mark = anon;   /* the first look, or it shrank on its own */
        return;
    }
    if (anon < node->anon_mark + TRIM_GROWTH)
        return;
    malloc_trim (0);
    size_t after = anon_bytes ();
    if (after && after < anon) {
        node->heap_trims++;
        node->heap_trimmed += anon - after;
    }
    node->anon_mark = after ? after : anon;
#else
    (void) node, (void) now_ms;
#endif
}
