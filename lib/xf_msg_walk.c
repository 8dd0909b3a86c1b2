/* xf_msg_walk.c — the first layer of the wire codec's checks: a walk over the protobuf-c
 * descriptors that visits every string, enum and sub-message set in a decoded or built
 * message (UTF-8, length, known enum values), so that a field added to the .proto is checked
 * without anyone touching the per-body rules of xf_msg.c. */
#include "xf_msg_int.h"
#include "xf_text.h"
#include "xf_wire.h"

#include <assert.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#define PATH_MAX_ 192   /* "case_event.registration.record.sealed[2].recipient" */

/* Where the walk is: the field at each depth, and the element of a repeated one. The path
 * ("case_event.record.watchers[2]") is spelled out only for a message about a failure:
 * building it for every field visited cost more than the checks themselves. */
#define WALK_DEPTH_MAX 32   /* decoded messages nest less (xf_wire.h); built ones too */
_Static_assert (WALK_DEPTH_MAX == XF_WIRE_MAX_DEPTH, "xf_wire_sound stands for the walk only "
                "as deep as the walk goes");
#define NO_INDEX SIZE_MAX

typedef struct {
    const ProtobufCFieldDescriptor *field[WALK_DEPTH_MAX];
    size_t index[WALK_DEPTH_MAX];
    size_t depth;
    const char *label;
} trail_t;

/* Appends "[j]" to the path (clamped on truncation). */
static size_t path_index (char *path, size_t at, size_t j)
{
    char digits[20];
    size_t n = xf_text_uint (digits, j);
    if (at + n + 2 >= PATH_MAX_)
        return at;
    path[at++] = '[';
    memcpy (path + at, digits, n);
    at += n;
    path[at++] = ']';
    path[at] = '\0';
    return at;
}

/* Appends ".name" (or "name" at the start) to the path. */
static size_t path_append (char *path, size_t at, const char *name)
{
    size_t n = strlen (name);
    if (at && at + 1 < PATH_MAX_)
        path[at++] = '.';
    if (at + n >= PATH_MAX_)
        n = PATH_MAX_ - 1 - at;
    memcpy (path + at, name, n);
    path[at + n] = '\0';
    return at + n;
}

/* Sets err to "<label>: <path of the trail's field>: <what>" (XF_EINVAL). */
__attribute__ ((format (printf, 3, 4)))
static int bad_at (xf_err_t *err, const trail_t *t, const char *fmt, ...)
{
    char path[PATH_MAX_] = "", what[200];
    size_t at = 0;
    for (size_t i = 0; i < t->depth; i++) {
        at = path_append (path, at, t->field[i]->name);
        if (t->index[i] != NO_INDEX)
            at = path_index (path, at, t->index[i]);
    }
    va_list ap;
    va_start (ap, fmt);
    vsnprintf (what, sizeof what, fmt, ap);
    va_end (ap);
    return xf_err_set (err, XF_EINVAL, "%s: %s: %s", t->label, path, what);
}

/* protobuf-c 1.4 does not validate UTF-8 in proto3 strings, and it turns an embedded NUL
 * into a silently shorter C string (caught by the re-pack size check in unpack). */
static int walk_string (const char *s, const trail_t *t, xf_err_t *err)
{
    size_t at, len;
    if (!s)
        return 0;
    if ((len = strlen (s)) > XF_MSG_MAX_TEXT)
        return bad_at (err, t, "longer than %d bytes", XF_MSG_MAX_TEXT);
    if ((at = xf_utf8_valid_prefix ((const unsigned char *) s, len)) < len)
        return bad_at (err, t, "not valid UTF-8 (byte %zu)", at);
    return 0;
}

static int walk (const ProtobufCMessage *m, trail_t *t, xf_err_t *err);

/* One value of field f; v points at the member (or at the array element). */
static int walk_value (const ProtobufCFieldDescriptor *f, const void *v, int element,
                       trail_t *t, xf_err_t *err)
{
    switch (f->type) {
    case PROTOBUF_C_TYPE_STRING: {
        const char *s = *(const char *const *) v;
        if (!s && element)
            return bad_at (err, t, "missing");
        return walk_string (s, t, err);
    }
    case PROTOBUF_C_TYPE_MESSAGE: {
        const ProtobufCMessage *sub = *(const ProtobufCMessage *const *) v;
        if (!sub)
            return element ? bad_at (err, t, "missing") : 0;
        return walk (sub, t, err);
    }
    case PROTOBUF_C_TYPE_ENUM: {
        int32_t e = *(const int32_t *) v;
        if (!protobuf_c_enum_descriptor_get_value (f->descriptor, e))
            return bad_at (err, t, "unknown value %d", (int) e);
        return 0;
    }
    default:
        return 0;
    }
}

/* Visits every string, enum and sub-message that is set in m. Only CaseEvent.earlier is
 * recursive in the schema, and it is one level deep; the depth is bounded all the same. */
static int walk (const ProtobufCMessage *m, trail_t *t, xf_err_t *err)
{
    const ProtobufCMessageDescriptor *d = m->descriptor;
    const char *base = (const char *) m;
    size_t depth = t->depth;
    assert (d && "message built without its *_INIT");
    if (depth == WALK_DEPTH_MAX)
        return bad_at (err, t, "messages nest more than %d deep", WALK_DEPTH_MAX);
    t->depth = depth + 1;
    for (unsigned i = 0; i < d->n_fields; i++) {
        const ProtobufCFieldDescriptor *f = &d->fields[i];
        int rc = 0;
        if (f->type != PROTOBUF_C_TYPE_STRING && f->type != PROTOBUF_C_TYPE_MESSAGE
            && f->type != PROTOBUF_C_TYPE_ENUM)
            continue;
        if ((f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF)
            && *(const uint32_t *) (base + f->quantifier_offset) != f->id)
            continue;
        t->field[depth] = f;
        t->index[depth] = NO_INDEX;
        if (f->label == PROTOBUF_C_LABEL_REPEATED) {
            size_t n = *(const size_t *) (base + f->quantifier_offset);
            const char *arr = *(const char *const *) (base + f->offset);
            size_t size = f->type == PROTOBUF_C_TYPE_ENUM ? sizeof (int32_t) : sizeof (void *);
            if (n && !arr)
                return bad_at (err, t, "missing");
            for (size_t j = 0; j < n && !rc; j++) {
                t->index[depth] = j;
                rc = walk_value (f, arr + j * size, 1, t, err);
            }
        } else
            rc = walk_value (f, base + f->offset, 0, t, err);
        if (rc)
            return rc;
    }
    t->depth = depth;
    return 0;
}

int xf_msg_walk (const ProtobufCMessage *m, const char *label, xf_err_t *err)
{
    trail_t t = {.depth = 0, .label = label};
    return walk (m, &t, err);
}
