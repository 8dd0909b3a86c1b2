/* xf_msg_int.h — what the parts of the wire codec share: xf_msg.c (envelopes: the checks of
 * every body, pack and unpack), xf_msg_walk.c (the generic walk every check starts with) and
 * xf_msg_frame.c (link frames: the frame check, the envelopes a frame carries, decoded for the
 * office receiving them).
 * Not for other modules: they see xf_msg.h only. */
#ifndef XF_MSG_INT_H
#define XF_MSG_INT_H

#include "xf_msg.h"

#define XF_MSG_LABEL_MAX 160   /* "envelope 411324/17: case 411324-2026-000017 event 3 (register)" */

/* Every string, enum and sub-message set in m: UTF-8, length, known values (xf_msg_walk.c). */
int  xf_msg_walk (const ProtobufCMessage *m, const char *label, xf_err_t *err);
/* What routing needs of an envelope, in every format: id, from, to, created. */
int  xf_msg_check_header (const Xf__Envelope *e, const char *label, xf_err_t *err);
/* "envelope ORIGIN/SEQ", for messages. */
void xf_msg_envelope_label (const Xf__Envelope *e, char label[XF_MSG_LABEL_MAX]);
int  xf_msg_check_hello (const Xf__Hello *h, xf_err_t *err);

/* protobuf-c, bounded and with an error that names `what`. */
size_t            xf_msg_pack (const ProtobufCMessage *m, uint8_t **out);
ProtobufCMessage *xf_msg_unpack (const ProtobufCMessageDescriptor *d, const uint8_t *buf,
                                 size_t len, const char *what, xf_err_t *err);
/* The decoded message re-packs to what arrived (see xf_msg.c). */
int xf_msg_canonical (const ProtobufCMessage *m, const uint8_t *buf, size_t len,
                      int permutation, const char *what, xf_err_t *err);

#endif
