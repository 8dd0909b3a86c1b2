/* xf_office_link.c — what arrives from a link: applied here when addressed here (a case
 * event, request, refusal or delivery error), else stored for the next hop, in the
 * same transaction that records the inbound position; and what cannot be delivered goes back
 * to its origin. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "xf_msg.h"
#include "xf_office.h"
#include "xf_office_int.h"
#include "xf_outbox.h"

/* ---------------------------------------------------------------- arriving envelopes */

int xf_office_refuse (xf_applied_t *out, const char *fmt, const char *a, const char *b)
{
    out->refused = true;
    snprintf (out->reason, sizeof out->reason, fmt, a, b);
    return XF_OK;
}

/* A delivery error for an envelope this office sent: counted and reported; a case that was
 * sent and did not arrive is taken back. */
static int receive_delivery_error (xf_txn_t *txn, xf_office_t *o, const Xf__Envelope *env,
                                   int64_t now, xf_applied_t *out, xf_err_t *err)
{
    const Xf__DeliveryError *de = env->delivery_error;
    if (!de->undelivered || strcmp (de->undelivered->origin, o->code) != 0)
        return xf_office_refuse (out, "a delivery error from %s for an envelope of %s, not of this office",
                       env->from, de->undelivered ? de->undelivered->origin : "nobody");
    uint64_t n;
    int rc = xf_txn_meta_u64 (txn, "links/undelivered", &n, err);
    if (rc != XF_OK || (rc = xf_txn_meta_set_u64 (txn, "links/undelivered", n + 1, err)) != XF_OK)
        return rc;
    out->undelivered = true;
    snprintf (out->reason, sizeof out->reason, "%s%s%s for %s (envelope %s/%llu) came back from "
              "%s: %s", *de->event ? de->event : "an envelope", *de->case_id ? " of case " : "",
              de->case_id, de->to, de->undelivered->origin,
              (unsigned long long) de->undelivered->seq, env->from, de->reason);
    return *de->case_id ? xf_office_take_back (txn, o, env, now, out, err) : XF_OK;
}

static int apply_here (xf_txn_t *txn, xf_office_t *o, const Xf__Envelope *env, int64_t now,
                       xf_applied_t *out, xf_err_t *err)
{
    if (env->format > XF_ENVELOPE_FORMAT) {
        char why[64];
        snprintf (why, sizeof why, "format %u, newer than this build reads (%d)",
                  (unsigned) env->format, XF_ENVELOPE_FORMAT);
        return xf_office_refuse (out, "the envelope is in %s: upgrade office %s", why, o->code);
    }
    switch (env->body_case) {
    case XF__ENVELOPE__BODY_DELIVERY_ERROR:
        return receive_delivery_error (txn, o, env, now, out, err);
    case XF__ENVELOPE__BODY_CASE_EVENT:
        return xf_office_receive_event (txn, o, env, out, err);
    case XF__ENVELOPE__BODY_CASE_REQUEST:
        return xf_office_receive_request (txn, o, env, now, out, err);
    case XF__ENVELOPE__BODY_REFUSAL:
        return xf_office_receive_refusal (txn, o, env, out, err);
    case XF__ENVELOPE__BODY_SIGHTINGS:
        return xf_office_receive_sightings (txn, o, env, now, out, err);
    case XF__ENVELOPE__BODY_LOOKUP_REQUEST:
        return xf_office_receive_lookup (txn, o, env, now, out, err);
    case XF__ENVELOPE__BODY_LOOKUP_REPLY:
        return xf_office_receive_lookup_reply (txn, o, env, now, out, err);
    case XF__ENVELOPE__BODY_RECONCILE_DIGEST:
    case XF__ENVELOPE__BODY_RECONCILE_LIST:
    case XF__ENVELOPE__BODY_RECONCILE_WANT:
    case XF__ENVELOPE__BODY_CASE_COPY:
        return xf_office_receive_reconcile (txn, o, env, now, out, err);
    case XF__ENVELOPE__BODY_STATS_REQUEST:
        return xf_office_receive_stats_request (txn, o, env, now, out, err);
    case XF__ENVELOPE__BODY_STATS_REPLY:
        return xf_office_receive_stats_reply (txn, o, env, now, out, err);
    case XF__ENVELOPE__BODY_STATS_SNAPSHOT:
        return xf_office_receive_snapshot (txn, o, env, out, err);
    default:
        return xf_office_refuse (out, "a %s envelope from %s is not handled yet",
                                 xf_msg_body_name (env), env->from);
    }
}

/* Sends the origin of an envelope that cannot be delivered a DeliveryError saying why
 * (out->reason). A delivery error that cannot be delivered itself is only refused: nothing
 * answers an answer. */
static int bounce_env (xf_txn_t *txn, xf_office_t *o, const Xf__Envelope *env,
                       int64_t now, xf_applied_t *out, xf_err_t *err)
{
    if (env->format <= XF_ENVELOPE_FORMAT && env->body_case == XF__ENVELOPE__BODY_DELIVERY_ERROR)
        return XF_OK;
    Xf__DeliveryError de = XF__DELIVERY_ERROR__INIT;
    Xf__GlobalId gid = *env->id;
    gid.base = (ProtobufCMessage) PROTOBUF_C_MESSAGE_INIT (&xf__global_id__descriptor);
    de.undelivered = &gid;
    de.to = env->to;
    de.reason = out->reason;
    de.created = env->created;
    de.case_id = (char *) "";
    de.event = (char *) "";
    if (env->format <= XF_ENVELOPE_FORMAT) {
        if (env->body_case == XF__ENVELOPE__BODY_CASE_EVENT) {
            de.case_id = env->case_event->case_id;
            de.event = (char *) xf_msg_event_name (env->case_event);
        } else
            de.event = (char *) xf_msg_body_name (env);
    }
    int rc = xf_office_send (txn, o, env->from, now, XF__ENVELOPE__BODY_DELIVERY_ERROR, &de, 0, err);
    if (rc == XF_OK)
        out->bounced = true;
    return rc;
}

/* An envelope for this office that came with its header alone (xf_msg_frame_unpack_routed:
 * its body does not hold): refused, with the reason the body's check gives, and so sent back
 * to its origin, while the link it came by goes on. */
static bool body_refused (const Xf__SignedEnvelope *se, const Xf__Envelope *env,
                          xf_applied_t *out)
{
    if (!se || env->body_case != XF__ENVELOPE__BODY__NOT_SET || env->format > XF_ENVELOPE_FORMAT)
        return false;
    xf_err_t why = {0};
    Xf__Envelope *full = xf_msg_envelope_unpack (se->envelope.data, se->envelope.len, &why);
    if (full) {   /* it holds: a caller passed the header of a sound envelope (apply_here
                   * refuses what has no body) */
        xf_msg_envelope_free (&full);
        return false;
    }
    xf_office_refuse (out, "its body does not hold: %s%s", why.msg, "");
    return true;
}

/* A relay holds only the header of an envelope passing through (xf_msg_frame_unpack_routed):
 * the body is read here, for the origin's delivery error to name the case and the event (and
 * not to answer an answer). A body that does not decode is the origin's fault; the header
 * still says whom to tell. */
static int bounce (xf_txn_t *txn, xf_office_t *o, const Xf__SignedEnvelope *se,
                   const Xf__Envelope *env, int64_t now, xf_applied_t *out, xf_err_t *err)
{
    Xf__Envelope *full = NULL;
    if (env->body_case == XF__ENVELOPE__BODY__NOT_SET && env->format <= XF_ENVELOPE_FORMAT && se)
        full = xf_msg_envelope_unpack (se->envelope.data, se->envelope.len, NULL);
    int rc = bounce_env (txn, o, full ? full : env, now, out, err);
    xf_msg_envelope_free (&full);
    return rc;
}

/* Stores the envelope's bytes for the next hop, untouched (a newer format, a signature).
 * A full queue there is a refusal (XF_ESTATE, out->reason saying so), which goes back to the
 * origin: a relay does not grow a queue for an office that is gone without bound, and it does
 * not stop the link the envelope came by either (other offices are reached through it). */
static int relay (xf_txn_t *txn, const xf_net_t *net, const char *hop,
                  const Xf__SignedEnvelope *se, xf_applied_t *out, xf_err_t *err)
{
    size_t len = xf__signed_envelope__get_packed_size (se);
    uint8_t *buf = malloc (len ? len : 1);
    uint64_t seq;
    if (!buf)
        return xf_err_set (err, XF_ENOMEM, "out of memory");
    xf__signed_envelope__pack (se, buf);
    int rc = xf_outbox_push (txn, hop, buf, len, net->outbox_limit, &seq, err);
    free (buf);
    if (rc == XF_ESTATE) {
        out->refused = true;
        snprintf (out->reason, sizeof out->reason, "%s", err->msg);
        *err = (xf_err_t) {0};
    }
    out->relayed = rc == XF_OK;
    snprintf (out->hop, sizeof out->hop, "%s", hop);
    return rc;
}

/* With trust, an envelope addressed here is applied only when its origin signed it; a forgery
 * is counted and refused (out->forged), and nothing goes back to an origin that did not sign. */
static int check_signature (xf_txn_t *txn, xf_office_t *o, const Xf__SignedEnvelope *se,
                            const Xf__Envelope *env, int64_t now, xf_applied_t *out, xf_err_t *err)
{
    xf_err_t why = {0};
    if (!o->trust || xf_trust_verify (o->trust, se, env->from, now, &why) == XF_OK)
        return XF_OK;
    uint64_t n;
    int rc = xf_txn_meta_u64 (txn, "trust/forged", &n, err);
    if (rc == XF_OK)
        rc = xf_txn_meta_set_u64 (txn, "trust/forged", n + 1, err);
    out->forged = true;
    xf_office_refuse (out, "not applied: %s", why.msg, NULL);
    return rc;
}

void xf_office_set_trust (xf_office_t *o, xf_trust_t *trust)
{
    o->trust = trust;
}

int xf_office_apply (xf_txn_t *txn, xf_office_t *o, const xf_net_t *net, const char *peer,
                     const Xf__SignedEnvelope *se, const Xf__Envelope *env, int64_t now,
                     xf_applied_t *out, xf_err_t *err)
{
    const char *hop;
    int rc;
    memset (out, 0, sizeof *out);
    o->net = *net;
    /* The origin must lie on the peer's side of the tree: a child speaks for its subtree
     * only, the parent for everything outside ours. Nothing goes back to a claimed origin. */
    bool from_child = xf_routes_in_subtree (net->routes, peer, peer);
    if (from_child ? !xf_routes_in_subtree (net->routes, peer, env->from)
                   : xf_routes_in_subtree (net->routes, NULL, env->from))
        return xf_office_refuse (out, "envelope claims origin %s, which office %s cannot speak for",
                       env->from, peer);
    switch (xf_routes_lookup (net->routes, env->to, &hop)) {
    case XF_ROUTE_SELF:
        if ((rc = check_signature (txn, o, se, env, now, out, err)) == XF_OK && !out->forged
            && !body_refused (se, env, out))
            rc = apply_here (txn, o, env, now, out, err);
        if (rc == XF_OK)
            rc = xf_office_audit_applied (txn, o, env, now, out, err);
        if (rc != XF_OK || !out->refused || out->forged)
            return rc;
        break;
    case XF_ROUTE_CHILD:
    case XF_ROUTE_PARENT:
        if (strcmp (hop, peer) == 0) {
            xf_office_refuse (out, "office %s is reached through %s, where the envelope came from: the "
                    "routes of the tree disagree", env->to, peer);
            break;
        }
        if ((rc = relay (txn, net, hop, se, out, err)) != XF_ESTATE)
            return rc;
        break;
    default:
        xf_office_refuse (out, "there is no office %s in this tree (from %s)", env->to, env->from);
        break;
    }
    return bounce (txn, o, se, env, now, out, err);
}
