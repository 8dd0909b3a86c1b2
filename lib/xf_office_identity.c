/* xf_office_identity.c — who has petitioned before. A petitioner's normalized identity is
 * kept only as a keyed hash (HMAC-SHA256 under the tree's identity key); registration looks
 * it up to mark a repeat petition (重复访, linked to the earlier cases) or one that skipped the
 * office responsible below (越级访), and tells the office above, which tells the one above it,
 * so that each office knows every registration of its subtree. Without the key, identities
 * are compared at this office only and never leave it: an unkeyed hash of an ID number is
 * as good as the number (the space is small enough to try every one). */
#include "xf_office.h"
#include "xf_office_int.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "xf_msg.h"

#define REPEAT_LINKS 8   /* earlier cases a repeat petition is linked to */

int xf_office_set_identity_key (xf_office_t *o, const uint8_t *key, size_t len, xf_err_t *err)
{
    if (len != sizeof o->identity_key)
        return xf_err_set (err, XF_EINVAL, "the identity key must be %zu bytes, not %zu",
                           sizeof o->identity_key, len);
    memcpy (o->identity_key, key, len);
    o->has_identity_key = true;
    return XF_OK;
}

/* The identity as compared: the ID number when given (upper-case check letter), else the
 * name and the digits of the phone. Anonymous and identity-less petitions have none. */
static bool normalized_identity (const xf_case_t *c, char *norm, size_t size)
{
    const Xf__Petitioner *p = c->petitioner;
    if (c->anonymous || !p)
        return false;
    if (*p->id_number) {
        int n = snprintf (norm, size, "id:%s", p->id_number);
        for (int i = 3; i < n && i < (int) size; i++)
            norm[i] = (char) (norm[i] == 'x' ? 'X' : norm[i]);
        return true;
    }
    if (!*p->name || !*p->phone)
        return false;
    size_t n = (size_t) snprintf (norm, size, "np:%s|", p->name);
    for (const char *s = p->phone; *s && n + 1 < size; s++)
        if (*s >= '0' && *s <= '9')
            norm[n++] = *s;
    norm[n < size ? n : size - 1] = 0;
    return true;
}

static bool petitioner_key (const xf_office_t *o, const xf_case_t *c, uint8_t hash[XF_MSG_SIGHTING_KEY_LEN])
{
    char norm[512];
    unsigned len = XF_MSG_SIGHTING_KEY_LEN;
    if (!normalized_identity (c, norm, sizeof norm))
        return false;
    if (o->has_identity_key)
        return HMAC (xf_md (XF_PROFILE_STANDARD), o->identity_key, sizeof o->identity_key,
                     (const uint8_t *) norm, strlen (norm), hash, &len) != NULL;
    return EVP_Digest (norm, strlen (norm), hash, &len, xf_md (XF_PROFILE_STANDARD), NULL) == 1;
}

/* ---------------------------------------------------------------- at registration */

typedef struct {
    const uint8_t *hash;
    const char *self;
    xf_case_t *c;
    size_t earlier;
    bool below;         /* an earlier registration at an office below this one */
    int rc;
} probe_t;

static int earlier_hit (const void *key, size_t klen, const void *val, size_t vlen, void *arg)
{
    (void) val, (void) vlen;
    probe_t *p = arg;
    char id[XF_CASE_ID_MAX];
    size_t n = klen - XF_MSG_SIGHTING_KEY_LEN;
    if (klen <= XF_MSG_SIGHTING_KEY_LEN || memcmp (key, p->hash, XF_MSG_SIGHTING_KEY_LEN) != 0)
        return 1;
    if (n >= sizeof id)
        return 0;
    memcpy (id, (const uint8_t *) key + XF_MSG_SIGHTING_KEY_LEN, n);
    id[n] = 0;
    size_t own = strlen (p->self);
    if (strncmp (id, p->self, own) != 0 || id[own] != '-')
        p->below = true;
    if (p->earlier++ < REPEAT_LINKS
        && xf_case_push (&p->c->repeat_of, &p->c->n_repeat_of, id) != XF_OK) {
        p->rc = XF_ENOMEM;
        return 1;
    }
    return 0;
}

static bool has_offices_below (const xf_office_t *o)
{
    size_t n = 0;
    return o->net.routes && xf_routes_subtree (o->net.routes, &n, NULL) && n > 1;
}

static int note_sighting (xf_sightings_t *up, const uint8_t *hash, const char *id)
{
    if (up->n == up->cap) {
        size_t cap = up->cap ? up->cap * 2 : 16;
        xf_sighting_t *v = realloc (up->v, cap * sizeof *v);
        if (!v)
            return XF_ENOMEM;
        up->v = v;
        up->cap = cap;
    }
    memcpy (up->v[up->n].key, hash, XF_MSG_SIGHTING_KEY_LEN);
    snprintf (up->v[up->n].id, sizeof up->v[up->n].id, "%s", id);
    up->n++;
    return XF_OK;
}

/* 信访人对复核意见不服，仍以同一事实和理由提出投诉请求的，不再受理: a petition on a matter of
 * the same petitioner that a 复核 made final (as far as this office holds the earlier cases). */
static int refuse_final_matter (xf_txn_t *txn, const xf_case_t *c, xf_err_t *err)
{
    for (size_t i = 0; !c->new_matter && i < c->n_repeat_of; i++) {
        xf_case_t *earlier = NULL;
        int rc = xf_office_load_case (txn, c->repeat_of[i], &earlier, err);
        if (rc == XF_ENOTFOUND) {
            *err = (xf_err_t) {0, ""};
            continue;
        }
        if (rc != XF_OK)
            return rc;
        if ((earlier->flags & XF__CASE_FLAG__FLAG_FINAL) && xf_case_same_matter (earlier, c)) {
            char day[11];
            xf_day_format (earlier->closed, day);
            rc = xf_err_set (err, XF_ESTATE, "the petitioner's matter was made final (终结) in case "
                             "%s: office %s decided its 复核 on %s, and the same matter is not taken "
                             "again; if this petition is about another matter, register it with "
                             "--new-matter", earlier->id, earlier->owner, day);
        }
        xf_case_destroy (&earlier);
        if (rc != XF_OK)
            return rc;
    }
    return XF_OK;
}

int xf_office_mark_petitioner (xf_txn_t *txn, xf_office_t *o, xf_case_t *c, xf_sightings_t *up,
                               xf_err_t *err)
{
    uint8_t key[XF_MSG_SIGHTING_KEY_LEN + XF_CASE_ID_MAX];
    if (!petitioner_key (o, c, key))
        return XF_OK;
    probe_t probe = {key, o->code, c, 0, false, XF_OK};
    int rc = xf_txn_scan (txn, XF_DB_PETITIONER, key, XF_MSG_SIGHTING_KEY_LEN, earlier_hit, &probe, err);
    if (rc != XF_OK)
        return rc;
    if (probe.rc != XF_OK)
        return xf_err_set (err, probe.rc, "out of memory");
    if (probe.earlier)
        c->flags |= XF__CASE_FLAG__FLAG_REPEAT;
    if ((rc = refuse_final_matter (txn, c, err)))
        return rc;
    if (!probe.below && has_offices_below (o))
        c->flags |= XF__CASE_FLAG__FLAG_SKIP_LEVEL;
    size_t n = strlen (c->id);
    memcpy (key + XF_MSG_SIGHTING_KEY_LEN, c->id, n);
    if ((rc = xf_txn_put (txn, XF_DB_PETITIONER, key, XF_MSG_SIGHTING_KEY_LEN + n, "", 0, err)))
        return rc;
    if (up && o->has_identity_key && note_sighting (up, key, c->id) != XF_OK)
        return xf_err_set (err, XF_ENOMEM, "out of memory");
    return XF_OK;
}

void xf_sightings_clear (xf_sightings_t *s)
{
    free (s->v);
    *s = (xf_sightings_t) {0};
}

/* ---------------------------------------------------------------- telling the office above */

int xf_office_send_sightings (xf_txn_t *txn, xf_office_t *o, const xf_sightings_t *s, int64_t now,
                              xf_err_t *err)
{
    const char *parent = o->net.routes ? xf_routes_parent (o->net.routes) : NULL;
    if (!parent || s->n == 0)
        return XF_OK;
    Xf__Sightings body = XF__SIGHTINGS__INIT;
    Xf__Sighting *entries = calloc (s->n, sizeof *entries);
    Xf__Sighting **ptrs = calloc (s->n, sizeof *ptrs);
    int rc = XF_OK;
    if (!entries || !ptrs)
        rc = xf_err_set (err, XF_ENOMEM, "out of memory");
    for (size_t i = 0; rc == XF_OK && i < s->n; i++) {
        xf__sighting__init (&entries[i]);
        entries[i].key.data = (uint8_t *) s->v[i].key;
        entries[i].key.len = XF_MSG_SIGHTING_KEY_LEN;
        entries[i].case_id = (char *) s->v[i].id;
        ptrs[i] = &entries[i];
    }
    body.entries = ptrs;
    body.n_entries = s->n;
    /* no queue limit: a registration is never refused because the office above is away */
    if (rc == XF_OK)
        rc = xf_office_send (txn, o, parent, now, XF__ENVELOPE__BODY_SIGHTINGS, &body, 0, err);
    free (entries);
    free (ptrs);
    return rc;
}

int xf_office_receive_sightings (xf_txn_t *txn, xf_office_t *o, const Xf__Envelope *env,
                                 int64_t now, xf_applied_t *out, xf_err_t *err)
{
    const Xf__Sightings *s = env->sightings;
    const xf_routes_t *routes = o->net.routes;
    if (!routes || strcmp (env->from, o->code) == 0 || !xf_routes_in_subtree (routes, NULL, env->from))
        return xf_office_refuse (out, "sightings from %s, which is not below office %s",
                                 env->from, o->code);
    for (size_t i = 0; i < s->n_entries; i++) {   /* all checked before any is kept */
        const char *id = s->entries[i]->case_id;
        char origin[XF_CASE_ID_MAX];
        snprintf (origin, sizeof origin, "%.*s", (int) strcspn (id, "-"), id);
        if (!xf_routes_in_subtree (routes, NULL, origin) || strcmp (origin, o->code) == 0)
            return xf_office_refuse (out, "a sighting of case %s, which was not registered below "
                                     "office %s", id, o->code);
    }
    xf_sightings_t up = {0};
    int rc = XF_OK;
    for (size_t i = 0; rc == XF_OK && i < s->n_entries; i++) {
        const Xf__Sighting *e = s->entries[i];
        uint8_t key[XF_MSG_SIGHTING_KEY_LEN + XF_CASE_ID_MAX];
        size_t n = strlen (e->case_id);
        memcpy (key, e->key.data, XF_MSG_SIGHTING_KEY_LEN);
        memcpy (key + XF_MSG_SIGHTING_KEY_LEN, e->case_id, n);
        rc = xf_txn_put (txn, XF_DB_PETITIONER, key, XF_MSG_SIGHTING_KEY_LEN + n, "", 0, err);
        if (rc == XF_OK && note_sighting (&up, e->key.data, e->case_id) != XF_OK)
            rc = xf_err_set (err, XF_ENOMEM, "out of memory");
    }
    if (rc == XF_OK)
        rc = xf_office_send_sightings (txn, o, &up, now, err);
    xf_sightings_clear (&up);
    return rc;
}
