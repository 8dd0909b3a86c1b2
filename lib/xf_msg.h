/* xf_msg.h — the wire codec: protobuf-c pack/unpack of link frames and envelopes, and the
 * checks a decoded message passes before anything else uses it.
 *
 * A LinkFrame's envelope payload is a SignedEnvelope: the packed Envelope bytes exactly as
 * the origin sealed them, with its signature and certificate chain (lib/xf_trust.h). Relays forward those bytes,
 * never a re-pack, so fields a newer origin added survive into the signature check.
 *
 * Contract: xf_msg_*_unpack returns a message only if it decoded *and* passed the
 * matching check, so code past the codec may trust every field the checks cover (below);
 * for an envelope frame that includes the Envelope inside (xf_msg_frame_envelope decodes
 * it again for the caller). Failures are XF_EINVAL (malformed), XF_EVERSION (the peer
 * speaks a newer link version, or the envelope is in a newer format) or XF_ENOMEM; the
 * message names the object: "frame: envelope 411324/17: no body".
 *
 * What a check guarantees, beyond the per-body rules in xf_msg.c:
 *   - every string is valid UTF-8, at most XF_MSG_MAX_TEXT bytes, with no embedded NUL;
 *   - every enum field holds a value this build knows;
 *   - office codes are 6, 9 or 12 ASCII digits, not all zero; case ids are
 *     <code>-<yyyy>-<6 digits>;
 *   - an unpacked message re-packs to what arrived, which refuses what protobuf-c would
 *     silently lose (an embedded NUL, a duplicated field, a second oneof member, over-long
 *     varints): a frame to as many bytes, Envelope bytes to a permutation of the bytes
 *     (see canonical() in xf_msg.c). Unknown fields from a newer build are accepted and
 *     ignored; protobuf-c re-packs them after the known ones, which is why relays forward
 *     the bytes received.
 * An envelope in the form protobuf-c writes, with sound strings and enums, is known to pass
 * the walk and the re-pack from its bytes alone (xf_wire_sound): only its rules are checked.
 * Any other goes through the walk and the re-pack, and is refused for the same reason. */
#ifndef XF_MSG_H
#define XF_MSG_H

#include <stddef.h>
#include <stdint.h>

#include "xf_err.h"
#include "xfsync.pb-c.h"

#define XF_LINK_VERSION_MIN 1               /* the link versions this build speaks */
#define XF_LINK_VERSION_MAX 2               /* 2: an envelope frame may carry several */
#define XF_LINK_BATCH_MAX   64              /* envelopes in one frame (version 2) */
#define XF_MSG_MAX_FRAME    (4 * 1024 * 1024) /* larger input is refused before decoding */
#define XF_MSG_MAX_TEXT     (64 * 1024)     /* longest string field, in bytes */
#define XF_ENVELOPE_FORMAT  1               /* the newest envelope format this build reads */
#define XF_MSG_SIGHTING_KEY_LEN 32          /* HMAC-SHA256 of a petitioner identity */
#define XF_MSG_MAX_CERTS    4096            /* certificates in a hello (a province has ~200) */
#define XF_MSG_MAX_CERT     (16 * 1024)     /* bytes of one DER certificate */
#define XF_MSG_SHARE_HASH_LEN 16            /* reconciliation: a month's hash of shared cases */

/* Decodes and checks one link frame. Returns NULL with err set on any failure (nothing
 * is left allocated). The caller frees the result with xf_msg_frame_free. */
Xf__LinkFrame *xf_msg_frame_unpack (const uint8_t *buf, size_t len, xf_err_t *err);

/* Frees a frame from xf_msg_frame_unpack (never one built by hand). NULL-safe; sets
 * *f_p = NULL. */
/* The same, and for an envelope frame *env receives the inner envelope, decoded and checked
 * once (NULL for other frames); the caller frees both. One difference, for relays: an
 * envelope in a newer format (env->format > XF_ENVELOPE_FORMAT) is accepted with only its
 * header checked (id, from, to, created; the body is not looked at), so that it can be
 * forwarded; the office it is addressed to refuses it. */
Xf__LinkFrame *xf_msg_frame_unpack_full (const uint8_t *buf, size_t len, Xf__Envelope **env,
                                         xf_err_t *err);
/* Decodes a frame and every envelope it carries, for the office `self` (as
 * xf_msg_frame_unpack_routed decodes one): env[i] is the envelope at seq + i, *n of them (a
 * version 2 frame carries up to XF_LINK_BATCH_MAX; 0 for a control frame). All or nothing: one
 * envelope that does not pass refuses the frame. The caller frees the frame and each env[i]. */
Xf__LinkFrame *xf_msg_frame_unpack_batch (const uint8_t *buf, size_t len, const char *self,
                                          Xf__Envelope *env[XF_LINK_BATCH_MAX], size_t *n,
                                          xf_err_t *err);
/* The same for the office `self`, which routes: an envelope addressed to another office only
 * passes through, and *env gets its header alone (id, from, to, created and format checked
 * as for a newer format; body_case not set). A relay forwards the bytes and never reads the
 * body, so it does not decode it: the office it is addressed to checks every byte (and
 * refuses it to the origin), as it checks the signature. One addressed to self is decoded and
 * checked in full, as xf_msg_frame_unpack_full does; when its body does not hold but its header
 * does, *env is the header alone too, and the office refuses the envelope to its origin
 * (xf_office_apply) instead of the frame: the link it came by, a relay's, carries others. */
Xf__LinkFrame *xf_msg_frame_unpack_routed (const uint8_t *buf, size_t len, const char *self,
                                           Xf__Envelope **env, xf_err_t *err);
void xf_msg_frame_free (Xf__LinkFrame **f_p);

/* 0 if the frame is acceptable: version in XF_LINK_VERSION_MIN..MAX, exactly one payload,
 * seq >= 1 for an envelope and 0 for hello/goodbye, hello's range overlapping ours
 * (else XF_EVERSION naming both ranges); for an envelope, non-empty SignedEnvelope.envelope
 * bytes (at most XF_MSG_MAX_FRAME) that pass xf_msg_envelope_unpack. The signature is not
 * checked here. Usable on frames built by hand before sending (it decodes the inner bytes,
 * so it allocates). */
int xf_msg_frame_check (const Xf__LinkFrame *f, xf_err_t *err);

/* The Envelope inside an envelope frame, decoded and checked as xf_msg_frame_check does;
 * NULL with err set otherwise ("frame: …"). The caller frees it with xf_msg_envelope_free.
 * Forward SignedEnvelope.envelope itself, never a re-pack of this. */
Xf__Envelope *xf_msg_frame_envelope (const Xf__LinkFrame *f, xf_err_t *err);

/* Checks e (xf_msg_envelope_check) and packs it into a malloc'd buffer, *buf_p, that the
 * caller frees once done with *out; *out is reset and its envelope points at that buffer,
 * signature, signer and chain left empty (xf_trust_sign fills them). On failure
 * *buf_p = NULL and *out is untouched; XF_EINVAL also for a pack over XF_MSG_MAX_FRAME. */
int xf_msg_seal (const Xf__Envelope *e, Xf__SignedEnvelope *out, uint8_t **buf_p,
                 xf_err_t *err);

/* Packs into a malloc'd buffer the caller frees; returns its length. Returns 0 with
 * *out = NULL when allocation fails (or for a message with nothing set, never a valid
 * frame). Packing does not check: a frame over XF_MSG_MAX_FRAME would be refused by
 * every peer, so refuse it before queueing it in an outbox. */
size_t xf_msg_frame_pack (const Xf__LinkFrame *f, uint8_t **out);
/* The packed LinkFrame {version, seq, ack, envelope = the packed SignedEnvelope se}, built
 * around se's bytes without decoding them: the same bytes xf_msg_frame_pack would produce. */
size_t xf_msg_frame_pack_signed (uint32_t version, uint64_t seq, uint64_t ack, const uint8_t *se,
                                 size_t se_len, uint8_t **out);
/* The same with n packed SignedEnvelopes (1..XF_LINK_BATCH_MAX): se[0] at seq as `envelope`,
 * the others as `more` (link version 2; version must be 2 when n > 1). */
size_t xf_msg_frame_pack_batch (uint32_t version, uint64_t seq, uint64_t ack,
                                const uint8_t *const *se, const size_t *se_len, size_t n,
                                uint8_t **out);

/* The same for bare Envelope bytes (SignedEnvelope.envelope, outbox, store). Frames and
 * envelopes decoded here live in one arena each (xf_arena.h): read them, change their numbers
 * if need be, but never free or replace a string, array or sub-message of one; free them only
 * with xf_msg_frame_free / xf_msg_envelope_free. Bytes nested deeper than XF_WIRE_MAX_DEPTH
 * are refused before decoding (xf_wire.h). */
Xf__Envelope *xf_msg_envelope_unpack (const uint8_t *buf, size_t len, xf_err_t *err);
void          xf_msg_envelope_free (Xf__Envelope **e_p);
size_t        xf_msg_envelope_pack (const Xf__Envelope *e, uint8_t **out);

/* 0 if the envelope is acceptable: format 1..XF_ENVELOPE_FORMAT (a newer one is
 * XF_EVERSION, checked first), id present with a valid origin and seq >= 1,
 * from == id.origin, to a valid code other than from, created > 0, exactly one body,
 * and the body's own rules. Errors are "envelope <origin>/<seq>: <what is wrong>". */
int xf_msg_envelope_check (const Xf__Envelope *e, xf_err_t *err);

/* 1 if code is an office code (6, 9 or 12 ASCII digits, not all zero), else 0. */
int xf_msg_code_valid (const char *code);

/* 1 if id is a case id: <office code>-<yyyy>-<6 digits>, year 1949..2999; else 0. */
int xf_msg_case_id_valid (const char *id);

/* Names for logs: "case_event", "stats_request", … and "register", "accept", … ;
 * "none" when nothing is set. Static strings. */
const char *xf_msg_body_name (const Xf__Envelope *e);
const char *xf_msg_event_name (const Xf__CaseEvent *ev);

#endif
