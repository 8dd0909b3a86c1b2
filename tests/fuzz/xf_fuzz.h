/* xf_fuzz.h — what the fuzz harnesses share: the libFuzzer entry points, a NUL-terminated copy
 * of an input, and the fixed tree of certificates in tests/fuzz/pki (an anchor 410000, a city
 * 411300 and a county 411324, made by gen_seeds.c) that signed envelopes and certificates in
 * the seeds chain to. Header-only. */
#ifndef XF_FUZZ_H
#define XF_FUZZ_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define XF_FUZZ_NOW 1795000000   /* 2026-11-18: the seeds' certificates are valid then */
#define XF_FUZZ_PKI XF_SOURCE_DIR "/tests/fuzz/pki"

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);
int LLVMFuzzerInitialize (int *argc, char ***argv);

/* data as a C string (the caller frees); NULL when out of memory. */
static inline char *xf_fuzz_text (const uint8_t *data, size_t size)
{
    char *s = malloc (size + 1);
    if (s) {
        memcpy (s, data, size);
        s[size] = 0;
    }
    return s;
}

#endif
