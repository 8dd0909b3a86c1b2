/* xf_msg_frame.c — link frames: the frame check (version, payload, seqs), the envelopes a frame
 * carries (one, or up to XF_LINK_BATCH_MAX in link version 2) decoded for the office receiving
 * them — in full when addressed to it, the header alone when only passing through — and frames
 * packed around stored SignedEnvelope bytes without decoding them. The checks of what an
 * envelope says are in xf_msg.c. */
#include "xf_msg_int.h"
#include "xf_arena.h"
#include "xf_wire.h"

#include <assert.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

/* ---------------------------------------------------------------- the frame check */

/* How a receiver decodes the envelopes of a frame (check_frame). */
typedef struct {
    const char *self;          /* the office decoding: one passing through, its header alone */
    bool newer_ok;             /* an envelope in a newer format passes with its header checked */
    Xf__Envelope **keep;       /* NULL, or XF_LINK_BATCH_MAX slots: the envelopes decoded */
} decode_t;

static int check_frame (const Xf__LinkFrame *f, const decode_t *d, xf_err_t *err);
static int decode_all (const Xf__LinkFrame *f, const decode_t *d, xf_err_t *err);

int xf_msg_frame_check (const Xf__LinkFrame *f, xf_err_t *err)
{
    decode_t strict = {NULL, false, NULL};
    return check_frame (f, &strict, err);
}

/* The envelopes a version 2 frame carries after the first. */
static int check_more (const Xf__LinkFrame *f, xf_err_t *err)
{
    if (f->n_more && f->payload_case != XF__LINK_FRAME__PAYLOAD_ENVELOPE)
        return xf_err_set (err, XF_EINVAL, "frame: %zu more envelopes without an envelope",
                           f->n_more);
    if (f->n_more && f->version < 2)
        return xf_err_set (err, XF_EINVAL, "frame: %zu more envelopes in a link version %u "
                           "frame (version 2 carries them)", f->n_more, (unsigned) f->version);
    if (f->n_more >= XF_LINK_BATCH_MAX)
        return xf_err_set (err, XF_EINVAL, "frame: %zu envelopes, over the %d a frame carries",
                           f->n_more + 1, XF_LINK_BATCH_MAX);
    if (f->n_more && f->seq > UINT64_MAX - f->n_more)
        return xf_err_set (err, XF_EINVAL, "frame: seq %llu and %zu more envelopes overflow",
                           (unsigned long long) f->seq, f->n_more);
    return 0;
}

/* The frame check; d->keep (may be NULL) receives the envelopes it decoded, so that a
 * receiver decodes each once: in full, or its header alone when d->self is given and the
 * envelope is addressed to another office. */
static int check_frame (const Xf__LinkFrame *f, const decode_t *d, xf_err_t *err)
{
    int rc;
    xf_err_t mine;              /* to learn the code of a failure when the caller gives no err */
    err = err ? err : &mine;
    if (!f)
        return xf_err_set (err, XF_EINVAL, "frame: missing");
    if (f->version == 0)
        return xf_err_set (err, XF_EINVAL, "frame: link version 0 (unspecified)");
    if (f->version > XF_LINK_VERSION_MAX || f->version < XF_LINK_VERSION_MIN)
        return xf_err_set (err, XF_EVERSION, "frame: link version %u is %s than this node "
                           "speaks (%d..%d)", (unsigned) f->version,
                           f->version > XF_LINK_VERSION_MAX ? "newer" : "older",
                           XF_LINK_VERSION_MIN, XF_LINK_VERSION_MAX);
    if ((rc = check_more (f, err)))
        return rc;
    if (f->payload_case == XF__LINK_FRAME__PAYLOAD__NOT_SET) {   /* a bare ack / keepalive */
        if (f->seq != 0)
            return xf_err_set (err, XF_EINVAL, "frame: seq %llu without an envelope",
                               (unsigned long long) f->seq);
        return xf_msg_walk (&f->base, "frame", err);
    }
    if (!f->envelope)
        return xf_err_set (err, XF_EINVAL, "frame: no payload");
    if (f->payload_case != XF__LINK_FRAME__PAYLOAD_ENVELOPE && f->seq != 0)
        return xf_err_set (err, XF_EINVAL, "frame: %s with seq %llu (control frames carry 0)",
                           f->payload_case == XF__LINK_FRAME__PAYLOAD_HELLO ? "hello" : "goodbye",
                           (unsigned long long) f->seq);
    switch (f->payload_case) {
    case XF__LINK_FRAME__PAYLOAD_ENVELOPE:
        if (f->seq == 0)
            return xf_err_set (err, XF_EINVAL, "frame: envelope with seq 0 (link sequences "
                               "count from 1)");
        return decode_all (f, d, err);
    case XF__LINK_FRAME__PAYLOAD_HELLO:
        return xf_msg_check_hello (f->hello, err);
    case XF__LINK_FRAME__PAYLOAD_GOODBYE:
        return xf_msg_walk (&f->goodbye->base, "frame: goodbye", err);
    default:
        return xf_err_set (err, XF_EINVAL, "frame: unknown payload %d", (int) f->payload_case);
    }
}

/* ---------------------------------------------------------------- decoding */

/* Field numbers of Envelope read from its bytes: `to`, and the last of the header (fields 1
 * to 5, EnvelopeHeader's). */
enum { ENVELOPE_TO = 3, ENVELOPE_HEADER_LAST = 5 };

Xf__LinkFrame *xf_msg_frame_unpack (const uint8_t *buf, size_t len, xf_err_t *err)
{
    Xf__LinkFrame *f = (Xf__LinkFrame *) xf_msg_unpack (&xf__link_frame__descriptor, buf, len,
                                                        "frame", err);
    if (f && (xf_msg_frame_check (f, err)
              || xf_msg_canonical (&f->base, buf, len, 0, "frame", err)))
        xf_msg_frame_free (&f);
    return f;
}

/* An envelope in a newer format, for a relay: the header must hold (a newer build keeps
 * those fields, or it would have changed the link version); the body is not looked at. */
static Xf__Envelope *newer_envelope (const Xf__SignedEnvelope *s, xf_err_t *err)
{
    char label[XF_MSG_LABEL_MAX];
    Xf__Envelope *e = (Xf__Envelope *) xf_msg_unpack (&xf__envelope__descriptor,
                                                      s->envelope.data, s->envelope.len,
                                                      "frame: envelope", err);
    if (!e)
        return NULL;
    xf_msg_envelope_label (e, label);
    if (e->format <= XF_ENVELOPE_FORMAT || xf_msg_check_header (e, label, err)) {
        if (e->format <= XF_ENVELOPE_FORMAT)
            xf_err_set (err, XF_EINVAL, "%s: not in a newer format", label);
        xf_err_prefix (err, "frame");
        xf_msg_envelope_free (&e);
    }
    return e;
}

/* The envelope of a frame as an Envelope with its header alone (id, from, to, created,
 * format; no body), for one that passes through: fields 1 to 5 of its bytes are copied out
 * without reading the body (xf_wire_keep) and decoded as an Envelope, so the caller holds
 * one kind of message whatever the envelope's way. Checked as the header of a newer format
 * is. */
static Xf__Envelope *header_envelope (const Xf__SignedEnvelope *s, xf_err_t *err)
{
    char label[XF_MSG_LABEL_MAX];
    uint8_t mine[512];
    size_t len = s->envelope.len, n;
    uint8_t *head = len <= sizeof mine ? mine : malloc (len);
    Xf__Envelope *e = NULL;
    if (!head) {
        xf_err_set (err, XF_ENOMEM, "frame: envelope: out of memory");
        return NULL;
    }
    if ((n = xf_wire_keep (s->envelope.data, len, ENVELOPE_HEADER_LAST, head)) == SIZE_MAX)
        xf_err_set (err, XF_EINVAL, "frame: envelope: %zu bytes do not decode as EnvelopeHeader "
                    "(truncated or corrupt)", len);
    else
        e = (Xf__Envelope *) xf_msg_unpack (&xf__envelope__descriptor, head, n,
                                            "frame: envelope", err);
    if (head != mine)
        free (head);
    if (!e)
        return NULL;
    xf_msg_envelope_label (e, label);
    if (e->format == 0)
        xf_err_set (err, XF_EINVAL, "%s: no format", label);
    else if (!xf_msg_walk (&e->base, label, err) && !xf_msg_check_header (e, label, err))
        return e;
    xf_err_prefix (err, "frame");
    xf_msg_envelope_free (&e);
    return NULL;
}

/* The Envelope in a SignedEnvelope whose own fields the caller walked: decoded and checked. */
static Xf__Envelope *body_envelope (const Xf__SignedEnvelope *s, xf_err_t *err)
{
    Xf__Envelope *e = NULL;
    if (s->envelope.len == 0)
        xf_err_set (err, XF_EINVAL, "frame: signed envelope without envelope bytes");
    else if (!(e = xf_msg_envelope_unpack (s->envelope.data, s->envelope.len, err)))
        xf_err_prefix (err, "frame");
    return e;
}

/* Whether the envelope's `to` reads as self in its bytes: the office it is
 * addressed to then decodes it once, in full, without the header first. The decode that
 * follows is what counts; this only chooses which to try first. */
static bool addressed_to (const Xf__SignedEnvelope *s, const char *self)
{
    const uint8_t *to = NULL;
    size_t n = 0;
    return xf_wire_field (s->envelope.data, s->envelope.len, ENVELOPE_TO, &to, &n)
           && n == strlen (self) && memcmp (to, self, n) == 0;
}

/* One envelope of a frame for the office d->self: in full when it is addressed to self (or
 * self is NULL), else its header alone (header_envelope); in a newer format, when newer_ok,
 * with its header checked (newer_envelope: relays still route it). The SignedEnvelope's own
 * fields are walked once, here. */
static Xf__Envelope *decode_one (const Xf__SignedEnvelope *s, const decode_t *d, xf_err_t *err)
{
    Xf__Envelope *e = NULL;
    bool tried = false;
    if (xf_msg_walk (&s->base, "frame: signed envelope", err))
        return NULL;
    if (!d->self || !s->envelope.len || addressed_to (s, d->self)) {
        tried = true;
        e = body_envelope (s, err);
    }
    /* Passing through: its header. For this office, and the body does not hold while the
     * header does: the header goes on, and the office refuses it back to its origin
     * (xf_office_apply). Refusing the frame would stop the link it came by, and every office
     * behind that relay with it. */
    if (!e && d->self && s->envelope.len && (!tried || err->code == XF_EINVAL)) {
        xf_err_t herr = {0};
        e = header_envelope (s, tried ? &herr : err);
        if (e && !tried && strcmp (e->to, d->self) == 0) {
            /* to reads as self once decoded, not in the bytes: decode it in full after all */
            xf_msg_envelope_free (&e);
            if (!(e = body_envelope (s, err)) && err->code == XF_EINVAL)
                e = header_envelope (s, &herr);
        }
    }
    if (!e && d->newer_ok && err->code == XF_EVERSION)
        e = newer_envelope (s, err);
    return e;
}

/* Every envelope of an envelope frame, all or none. */
static int decode_all (const Xf__LinkFrame *f, const decode_t *d, xf_err_t *err)
{
    size_t n = 1 + f->n_more;
    for (size_t i = 0; i < n; i++) {
        const Xf__SignedEnvelope *s = i ? f->more[i - 1] : f->envelope;
        Xf__Envelope *e = s ? decode_one (s, d, err) : NULL;
        if (!s)
            xf_err_set (err, XF_EINVAL, "frame: envelope %zu of %zu missing", i + 1, n);
        if (!e) {
            for (size_t j = 0; d->keep && j < i; j++)
                xf_msg_envelope_free (&d->keep[j]);
            return err->code;
        }
        if (d->keep)
            d->keep[i] = e;
        else
            xf_msg_envelope_free (&e);
    }
    return 0;
}

static Xf__LinkFrame *frame_unpack (const uint8_t *buf, size_t len, const char *self,
                                    Xf__Envelope *env[XF_LINK_BATCH_MAX], size_t *n,
                                    xf_err_t *err)
{
    Xf__LinkFrame *f = (Xf__LinkFrame *) xf_msg_unpack (&xf__link_frame__descriptor, buf, len,
                                                        "frame", err);
    xf_err_t mine = {0};
    decode_t d = {self, true, env};
    *n = 0;
    if (!f)
        return NULL;
    int rc = check_frame (f, &d, &mine);
    size_t got = !rc && f->payload_case == XF__LINK_FRAME__PAYLOAD_ENVELOPE ? 1 + f->n_more : 0;
    if (rc || xf_msg_canonical (&f->base, buf, len, 0, "frame", &mine)) {
        if (err)
            *err = mine;
        for (size_t i = 0; i < got; i++)
            xf_msg_envelope_free (&env[i]);
        xf_msg_frame_free (&f);
        return NULL;
    }
    *n = got;
    return f;
}

/* One envelope, for callers that know nothing of batches: the first, the others freed. */
static Xf__LinkFrame *frame_unpack_one (const uint8_t *buf, size_t len, const char *self,
                                        Xf__Envelope **env, xf_err_t *err)
{
    Xf__Envelope *all[XF_LINK_BATCH_MAX];
    size_t n = 0;
    Xf__LinkFrame *f = frame_unpack (buf, len, self, all, &n, err);
    *env = n ? all[0] : NULL;
    for (size_t i = 1; i < n; i++)
        xf_msg_envelope_free (&all[i]);
    return f;
}

Xf__LinkFrame *xf_msg_frame_unpack_full (const uint8_t *buf, size_t len, Xf__Envelope **env,
                                         xf_err_t *err)
{
    return frame_unpack_one (buf, len, NULL, env, err);
}

Xf__LinkFrame *xf_msg_frame_unpack_routed (const uint8_t *buf, size_t len, const char *self,
                                           Xf__Envelope **env, xf_err_t *err)
{
    assert (self && "the code of the office receiving");
    return frame_unpack_one (buf, len, self, env, err);
}

Xf__LinkFrame *xf_msg_frame_unpack_batch (const uint8_t *buf, size_t len, const char *self,
                                          Xf__Envelope *env[XF_LINK_BATCH_MAX], size_t *n,
                                          xf_err_t *err)
{
    assert (self && "the code of the office receiving");
    return frame_unpack (buf, len, self, env, n, err);
}

void xf_msg_frame_free (Xf__LinkFrame **f_p)
{
    if (f_p && *f_p) {
        xf_arena_free (&(*f_p)->base);
        *f_p = NULL;
    }
}

static size_t put_varint (uint8_t *p, uint64_t v)
{
    size_t n = 0;
    while (v >= 0x80) {
        p[n++] = (uint8_t) (v | 0x80);
        v >>= 7;
    }
    p[n++] = (uint8_t) v;
    return n;
}

/* Field tags of LinkFrame: (number << 3) | wire type (0 varint, 2 length-delimited). */
enum { TAG_VERSION = 1 << 3, TAG_SEQ = 2 << 3, TAG_ACK = 3 << 3, TAG_ENVELOPE = 10 << 3 | 2,
       TAG_MORE = 13 << 3 | 2 };

size_t xf_msg_frame_pack_signed (uint32_t version, uint64_t seq, uint64_t ack, const uint8_t *se,
                                 size_t se_len, uint8_t **out)
{
    return xf_msg_frame_pack_batch (version, seq, ack, &se, &se_len, 1, out);
}

size_t xf_msg_frame_pack_batch (uint32_t version, uint64_t seq, uint64_t ack,
                                const uint8_t *const *se, const size_t *se_len, size_t n,
                                uint8_t **out)
{
    uint8_t head[3 * 11 + 3], len_bytes[11];
    size_t h = 0, total;
    assert (n >= 1 && n <= XF_LINK_BATCH_MAX && (n == 1 || version >= 2));
    if (version)   /* proto3: zero values are not written, as protobuf-c does */
        head[h++] = TAG_VERSION, h += put_varint (head + h, version);
    if (seq)
        head[h++] = TAG_SEQ, h += put_varint (head + h, seq);
    if (ack)
        head[h++] = TAG_ACK, h += put_varint (head + h, ack);
    total = h;
    for (size_t i = 0; i < n; i++)
        total += 1 + put_varint (len_bytes, se_len[i]) + se_len[i];
    if (!(*out = malloc (total)))
        return 0;
    uint8_t *o = *out;
    memcpy (o, head, h);
    o += h;
    for (size_t i = 0; i < n; i++) {   /* the oneof's envelope first, then `more`: field order */
        *o++ = i ? TAG_MORE : TAG_ENVELOPE;
        o += put_varint (o, se_len[i]);
        if (se_len[i])
            memcpy (o, se[i], se_len[i]);
        o += se_len[i];
    }
    return total;
}

size_t xf_msg_frame_pack (const Xf__LinkFrame *f, uint8_t **out)
{
    return xf_msg_pack (&f->base, out);
}

Xf__Envelope *xf_msg_frame_envelope (const Xf__LinkFrame *f, xf_err_t *err)
{
    const Xf__SignedEnvelope *s = f && f->payload_case == XF__LINK_FRAME__PAYLOAD_ENVELOPE
                                  ? f->envelope : NULL;
    Xf__Envelope *e = NULL;
    if (!s)
        xf_err_set (err, XF_EINVAL, "frame: not an envelope frame");
    else if (!xf_msg_walk (&s->base, "frame: signed envelope", err))
        e = body_envelope (s, err);
    return e;
}
