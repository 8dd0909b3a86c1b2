/* bench_trust.c — what a signature costs per envelope, in both profiles: signing at the
 * origin, verifying at the destination (its signer's chain already verified and cached, and
 * the first envelope of a signer, chain included), against the raw limit the same run
 * measures: hashing the same bytes with the profile's hash. Prints one JSON document.
 *
 * Usage: bench_trust [ENVELOPES]   (default 2000 per measurement) */
#include <openssl/rand.h>
#include "bench_common.h"
#include "../unit/xf_test_pki.h"   /* the same little tree of certificates as the unit tests */
#include "xf_msg.h"

#define ENVELOPE_BYTES 1500   /* a case event with its record, typically 1-3 KB */

static xf_trust_t *trust_of (xf_test_pki_t *anchor, xf_test_pki_t *o, const char *code)
{
    xf_err_t err = {0};
    xf_trust_t *t = xf_test_trust (anchor, o, code, XF_TEST_NOW, &err);
    if (!t) {
        fprintf (stderr, "bench_trust: %s\n", err.msg);
        exit (1);
    }
    return t;
}

static json_t *measure (xf_profile_t p, int n)
{
    int64_t now = XF_TEST_NOW;
    xf_test_pki_t prov, city, county;
    xf_err_t err = {0};
    xf_test_root (&prov, p, "410000", "省");
    xf_test_child (&city, &prov, true, p, "411300", "市", 365, &err);
    xf_test_child (&county, &city, false, p, "411324", "县", 365, &err);
    if (!county.cert) {
        fprintf (stderr, "bench_trust: %s\n", err.msg);
        exit (1);
    }
    xf_trust_t *from = trust_of (&prov, &county, "411324");
    uint8_t env[ENVELOPE_BYTES], sig[XF_SIG_MAX], md[XF_HASH_LEN];
    RAND_bytes (env, sizeof env);
    Xf__SignedEnvelope se = XF__SIGNED_ENVELOPE__INIT;
    se.envelope = (ProtobufCBinaryData) {sizeof env, env};

    double t0 = bench_now ();
    for (int i = 0; i < n; i++) {
        const void *parts[] = {env};
        size_t lens[] = {sizeof env};
        xf_hash (p, parts, lens, 1, md, NULL);
    }
    double hash_s = (bench_now () - t0) / n;

    t0 = bench_now ();
    for (int i = 0; i < n; i++)
        xf_trust_sign (from, &se, sig, NULL);
    double sign_s = (bench_now () - t0) / n;

    xf_trust_t *at = trust_of (&prov, &prov, "410000");
    int bad = xf_trust_verify (at, &se, "411324", now, NULL) != XF_OK;
    t0 = bench_now ();
    for (int i = 0; i < n; i++)
        bad += xf_trust_verify (at, &se, "411324", now, NULL) != XF_OK;
    double verify_s = (bench_now () - t0) / n;

    int first_n = n / 10 > 0 ? n / 10 : 1;
    double first_total = 0;
    for (int i = 0; i < first_n; i++) {   /* a fresh office each time: the chain is verified */
        xf_trust_t *fresh = trust_of (&prov, &prov, "410000");
        t0 = bench_now ();
        bad += xf_trust_verify (fresh, &se, "411324", now, NULL) != XF_OK;
        first_total += bench_now () - t0;
        xf_trust_destroy (&fresh);
    }
    size_t chain_bytes = 0;
    for (size_t i = 0; i < se.n_chain; i++)
        chain_bytes += se.chain[i].len;
    json_t *out = json_pack ("{s:s,s:i,s:o,s:o,s:o,s:o,s:o,s:o,s:I,s:I,s:i}",
                             "profile", xf_profile_name (p), "envelope_bytes", ENVELOPE_BYTES,
                             "hash_us", bench_num (hash_s * 1e6, 2),
                             "sign_us", bench_num (sign_s * 1e6, 2),
                             "verify_cached_us", bench_num (verify_s * 1e6, 2),
                             "verify_first_us", bench_num (first_total / first_n * 1e6, 2),
                             "sign_per_hash", bench_num (sign_s / hash_s, 1),
                             "verify_per_hash", bench_num (verify_s / hash_s, 1),
                             "signature_bytes", (json_int_t) se.signature.len,
                             "chain_bytes", (json_int_t) chain_bytes, "failures", bad);
    xf_trust_destroy (&at);
    xf_trust_destroy (&from);
    xf_test_pki_free (&county);
    xf_test_pki_free (&city);
    xf_test_pki_free (&prov);
    return out;
}

int main (int argc, char **argv)
{
    int n = argc > 1 ? atoi (argv[1]) : 2000;
    if (n < 10) {
        fprintf (stderr, "usage: bench_trust [ENVELOPES >= 10]\n");
        return 2;
    }
    json_t *out = json_pack ("{s:s,s:i,s:[o,o]}", "bench", "trust", "envelopes", n, "profiles",
                             measure (XF_PROFILE_STANDARD, n), measure (XF_PROFILE_NATIONAL, n));
    json_dumpf (out, stdout, JSON_INDENT (2) | JSON_REAL_PRECISION (12));
    putchar ('\n');
    json_decref (out);
    return 0;
}
