/* fuzz_envelope.c — signed envelopes as they reach the office they are addressed to: the
 * SignedEnvelope decoded, its envelope decoded and checked, its signature verified against the
 * chain it carries under the fixed anchor (tests/fuzz/pki), and that chain learned into the
 * directory, as xf_office_apply and the hellos do. The receiver is the province. */
#include <stdio.h>
#include "xf_fuzz.h"
#include "xf_msg.h"
#include "xf_trust.h"

static xf_trust_t *province;

int LLVMFuzzerInitialize (int *argc, char ***argv)
{
    (void) argc, (void) argv;
    xf_err_t err = {0};
    province = xf_trust_load (XF_FUZZ_PKI "/410000.crt", XF_FUZZ_PKI "/410000.crt",
                              XF_FUZZ_PKI "/410000.key", "410000", NULL, XF_FUZZ_NOW, &err);
    if (!province) {
        fprintf (stderr, "fuzz_envelope: %s\n", err.msg);
        abort ();
    }
    return 0;
}

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
    xf_err_t err = {0};
    xf_fuzz_packed_alike (&xf__signed_envelope__descriptor, data, size);
    Xf__SignedEnvelope *se = xf__signed_envelope__unpack (NULL, size, data);
    if (!se)
        return 0;
    xf_fuzz_packed_alike (&xf__envelope__descriptor, se->envelope.data, se->envelope.len);
    Xf__Envelope *env = xf_msg_envelope_unpack (se->envelope.data, se->envelope.len, &err);
    if (env)
        (void) xf_trust_verify (province, se, env->from, XF_FUZZ_NOW, &err);
    xf_trust_learned_t seen;
    if (se->n_chain <= XF_TRUST_CHAIN_MAX)
        (void) xf_trust_learn (province, se->chain, se->n_chain, XF_FUZZ_NOW, NULL, NULL, &seen, &err);
    xf_msg_envelope_free (&env);
    xf__signed_envelope__free_unpacked (se, NULL);
    return 0;
}
