/* fuzz_frame.c — link frames as a peer sends them (every payload, every envelope body), and
 * the same bytes as a bare envelope (an outbox or a store holds those): decoded and checked as
 * a receiver does, then named and re-packed as a relay and the logs do; and decoded as the
 * province decodes them (xf_msg_frame_unpack_batch: every envelope of a version 2 frame, the
 * header alone of one passing through, the whole of one addressed to it). */
#include "xf_fuzz.h"
#include "xf_msg.h"

int LLVMFuzzerInitialize (int *argc, char ***argv)
{
    (void) argc, (void) argv;
    return 0;
}

static void use_envelope (const Xf__Envelope *env)
{
    uint8_t *out = NULL;
    (void) xf_msg_body_name (env);
    if (env->body_case == XF__ENVELOPE__BODY_CASE_EVENT)
        (void) xf_msg_event_name (env->case_event);
    xf_err_t err = {0};
    (void) xf_msg_envelope_check (env, &err);
    xf_msg_envelope_pack (env, &out);
    free (out);
}

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
    xf_err_t err = {0};
    Xf__Envelope *env = NULL;
    xf_fuzz_packed_alike (&xf__link_frame__descriptor, data, size);
    Xf__LinkFrame *f = xf_msg_frame_unpack_full (data, size, &env, &err);
    if (f) {
        uint8_t *out = NULL;
        xf_msg_frame_pack (f, &out);
        free (out);
        if (env)
            use_envelope (env);
    }
    xf_msg_envelope_free (&env);
    xf_msg_frame_free (&f);
    Xf__Envelope *all[XF_LINK_BATCH_MAX];
    size_t n = 0;
    f = xf_msg_frame_unpack_batch (data, size, "410000", all, &n, &err);
    for (size_t i = 0; i < n; i++) {
        use_envelope (all[i]);
        xf_msg_envelope_free (&all[i]);
    }
    xf_msg_frame_free (&f);
    Xf__Envelope *bare = xf_msg_envelope_unpack (data, size, &err);
    if (bare)
        use_envelope (bare);
    xf_msg_envelope_free (&bare);
    return 0;
}
