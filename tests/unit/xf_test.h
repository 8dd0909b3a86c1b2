/* xf_test.h — helpers the unit tests share: a fresh temp directory under $XF_TEST_TMP (ctest
 * sets it; /tmp otherwise) and its removal. Header-only so each test stays one file to build. */
#ifndef XF_TEST_H
#define XF_TEST_H

#include <errno.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include "xf_store.h"
#include "xfsync.pb-c.h"

/* mkdir -p */
static inline int xf_test_mkdir_p (const char *path)
{
    char buf[4096];
    snprintf (buf, sizeof buf, "%s", path);
    for (char *p = buf + 1; *p; p++)
        if (*p == '/') {
            *p = 0;
            if (mkdir (buf, 0755) != 0 && errno != EEXIST)
                return -1;
            *p = '/';
        }
    return mkdir (buf, 0755) != 0 && errno != EEXIST ? -1 : 0;
}

/* The base directory, created if missing; NULL (with a message on stderr) if it cannot be. */
static inline const char *xf_test_tmp_base (void)
{
    const char *dir = getenv ("XF_TEST_TMP");
    if (!dir || !*dir)
        return "/tmp";
    if (xf_test_mkdir_p (dir) != 0) {
        fprintf (stderr, "cannot create %s: %s\n", dir, strerror (errno));
        return NULL;
    }
    return dir;
}

/* Makes <base>/<name>.XXXXXX into dir (len bytes). 0, or -1 with a message on stderr. */
static inline int xf_test_mkdtemp (char *dir, size_t len, const char *name)
{
    const char *base = xf_test_tmp_base ();
    if (!base)
        return -1;
    snprintf (dir, len, "%s/%s.XXXXXX", base, name);
    if (!mkdtemp (dir)) {
        fprintf (stderr, "mkdtemp %s: %s\n", dir, strerror (errno));
        return -1;
    }
    return 0;
}

static inline int xf_test_rm_entry (const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void) st, (void) flag, (void) ftw;
    return remove (path);
}

/* Removes dir and everything in it. 0, or -1 with a warning on stderr. */
static inline int xf_test_rmtree (const char *dir)
{
    if (nftw (dir, xf_test_rm_entry, 16, FTW_DEPTH | FTW_PHYS) == 0)
        return 0;
    fprintf (stderr, "warning: could not remove %s: %s\n", dir, strerror (errno));
    return -1;
}

/* A fresh store in a fresh temp directory, as a cmocka group or test fixture. */
typedef struct {
    char dir[4096];
    xf_store_t *store;
} xf_test_store_t;

/* Sets *state to a new xf_test_store_t; -1 (cmocka reports the setup failed) on any error. */
static inline int xf_test_store_setup (void **state, const char *name)
{
    xf_test_store_t *x = calloc (1, sizeof *x);
    xf_err_t err = {0};
    if (!x || xf_test_mkdtemp (x->dir, sizeof x->dir, name) != 0) {
        free (x);
        return -1;
    }
    if (!(x->store = xf_store_open (x->dir, NULL, &err))) {
        fprintf (stderr, "open %s: %s\n", x->dir, err.msg);
        xf_test_rmtree (x->dir);
        free (x);
        return -1;
    }
    *state = x;
    return 0;
}

static inline int xf_test_store_teardown (void **state)
{
    xf_test_store_t *x = *state;
    xf_store_close (&x->store);
    xf_test_rmtree (x->dir);
    free (x);
    return 0;
}

/* Writes a length-delimited field (number, then the length as a varint, then n bytes) at
 * out; returns the bytes written (at most n + 11). */
static inline size_t xf_test_put_field (uint8_t *out, uint32_t number, const uint8_t *bytes,
                                        size_t n)
{
    size_t at = 0;
    out[at++] = (uint8_t) (number << 3 | 2);   /* numbers under 16: a one-byte tag */
    for (size_t v = n; ; v >>= 7) {
        out[at++] = (uint8_t) (v >= 0x80 ? (v & 0x7f) | 0x80 : v);
        if (v < 0x80)
            break;
    }
    if (n)
        memmove (out + at, bytes, n);
    return at + n;
}

/* Wire bytes of a CaseEvent whose `earlier` (field 7) holds one whose `earlier` holds one ...,
 * `depth` levels below the top: more than protobuf-c can decode without overflowing the
 * stack, when deep enough. Returns the length (0 when out of memory); the caller frees *buf. */
static inline size_t xf_test_nested_events (size_t depth, uint8_t **buf)
{
    size_t cap = depth * 8 + 8, at = cap, inner = 0;
    uint8_t *b = malloc (cap);
    if (!b)
        return 0;
    for (size_t i = 0; i < depth; i++) {   /* from the innermost out: tag, length, inner */
        uint8_t len[10];
        size_t n = 0;
        for (size_t v = inner; ; v >>= 7) {
            len[n++] = (uint8_t) (v >= 0x80 ? (v & 0x7f) | 0x80 : v);
            if (v < 0x80)
                break;
        }
        at -= n;
        memcpy (b + at, len, n);
        b[--at] = 7 << 3 | 2;
        inner = cap - at;
    }
    memmove (b, b + at, inner);
    *buf = b;
    return inner;
}

/* The bytes of `header` (an Envelope without a body) followed by `body` (n bytes) as field 10,
 * case_event, whatever the body holds: for decoders that must refuse it. Returns the length
 * (0 when out of memory); the caller frees *buf. */
static inline size_t xf_test_envelope_around (const Xf__Envelope *header, const uint8_t *body,
                                              size_t n, uint8_t **buf)
{
    size_t h = xf__envelope__get_packed_size (header);
    uint8_t *b = malloc (h + n + 16);
    if (!b)
        return 0;
    xf__envelope__pack (header, b);
    *buf = b;
    return h + xf_test_put_field (b + h, 10, body, n);
}

#endif
