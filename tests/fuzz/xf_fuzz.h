/* xf_fuzz.h — what the fuzz harnesses share: the libFuzzer entry points, a NUL-terminated copy
 * of an input, and the fixed tree of certificates in tests/fuzz/pki (an anchor 410000, a city
 * 411300 and a county 411324, made by gen_seeds.c) that signed envelopes and certificates in
 * the seeds chain to. Header-only. */
#ifndef XF_FUZZ_H
#define XF_FUZZ_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "xf_msg_int.h"
#include "xf_wire.h"

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

/* The canonical check's fast path (xf_wire_as_packed) holds what it claims: bytes it accepts,
 * protobuf-c decodes to a message that it packs again to the very same bytes; and bytes
 * xf_wire_sound accepts decode to a message xf_msg's walk finds nothing in. Aborts if not. */
static inline void xf_fuzz_packed_alike (const ProtobufCMessageDescriptor *d, const uint8_t *b,
                                         size_t n)
{
    static const uint8_t none[1];
    b = b ? b : none;   /* an empty input may come as NULL */
    if (xf_wire_depth (d, b, n, XF_WIRE_MAX_DEPTH) != XF_WIRE_OK || !xf_wire_as_packed (d, b, n))
        return;
    ProtobufCMessage *m = protobuf_c_message_unpack (d, NULL, n, b);
    if (!m)
        return;   /* the scan says nothing of what does not decode */
    size_t k = protobuf_c_message_get_packed_size (m);
    uint8_t *again = malloc (k ? k : 1);
    if (again && (protobuf_c_message_pack (m, again) != n || (n && memcmp (again, b, n) != 0)))
        abort ();
    xf_err_t err = {0};
    if (xf_wire_sound (d, b, n, XF_MSG_MAX_TEXT) && xf_msg_walk (m, "fuzz", &err) != 0)
        abort ();
    free (again);
    protobuf_c_message_free_unpacked (m, NULL);
}

#endif
