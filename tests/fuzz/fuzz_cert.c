/* fuzz_cert.c — certificates and requests from outside: a PEM chain (a [trust] certificate
 * file, what cert issue returns), a DER certificate (a hello, an envelope's chain) and a PEM
 * request (what cert issue reads), each described and verified under the fixed anchor
 * (tests/fuzz/pki) as the daemon and xfctl do. */
#include <stdio.h>
#include "xf_cert.h"
#include "xf_fuzz.h"

static X509 *anchor;

int LLVMFuzzerInitialize (int *argc, char ***argv)
{
    (void) argc, (void) argv;
    xf_err_t err = {0};
    if (!(anchor = xf_cert_load (XF_FUZZ_PKI "/410000.crt", &err))) {
        fprintf (stderr, "fuzz_cert: %s\n", err.msg);
        abort ();
    }
    return 0;
}

static void describe (X509 *x, STACK_OF (X509) *above)
{
    xf_cert_info_t info;
    xf_err_t err = {0};
    if (xf_cert_info (x, &info, &err) == XF_OK)
        (void) xf_cert_verify (anchor, x, above, XF_FUZZ_NOW, &err);
}

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
    xf_err_t err = {0};
    char *text = xf_fuzz_text (data, size);
    if (!text)
        return 0;
    STACK_OF (X509) *chain = xf_cert_parse_chain (text, size, "fuzz", &err);
    if (chain && sk_X509_num (chain) > 0) {
        STACK_OF (X509) *above = sk_X509_dup (chain);
        X509 *leaf = above ? sk_X509_shift (above) : NULL;
        if (leaf)
            describe (leaf, above);
        sk_X509_free (above);
    }
    sk_X509_pop_free (chain, X509_free);
    X509 *der = xf_cert_from_der (data, size);
    if (der)
        describe (der, NULL);
    X509_free (der);
    xf_cert_info_t req;
    EVP_PKEY *key = NULL;
    if (xf_cert_request_read (text, size, &req, &key, &err) == XF_OK)
        EVP_PKEY_free (key);
    free (text);
    return 0;
}
