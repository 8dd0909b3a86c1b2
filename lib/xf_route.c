/* xf_route.c — the routing table: a sorted array of (office, child it lives under), rebuilt
 * when a child announces, searched with bsearch on every message. */
#include "xf_route.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    char code[13];
    char via[13];   /* the child whose subtree holds it; "" for this node itself */
    char name[XF_ROUTE_NAME_MAX];   /* the office's unit, as announced or configured; may be "" */
} entry_t;

struct xf_routes {
    char self[13], parent[13];
    entry_t *entries;
    size_t n, cap;
    const char **subtree;   /* cache for xf_routes_subtree: codes, then names */
};

static int by_code (const void *a, const void *b)
{
    return strcmp (((const entry_t *) a)->code, ((const entry_t *) b)->code);
}

static const entry_t *find (const xf_routes_t *r, const char *code)
{
    entry_t key;
    if (strlen (code) >= sizeof key.code)
        return NULL;
    strcpy (key.code, code);
    return bsearch (&key, r->entries, r->n, sizeof *r->entries, by_code);
}

static void set_name (entry_t *e, const char *name)
{
    snprintf (e->name, sizeof e->name, "%s", name ? name : "");
}

/* Appends without sorting (the caller sorts once: an announcement of a province's subtree adds
 * hundreds of entries, and a sort per entry made each hello cost O(n² log n) at the root). */
static int append (xf_routes_t *r, const char *code, const char *via, const char *name)
{
    if (r->n == r->cap) {
        size_t cap = r->cap ? r->cap * 2 : 32;
        entry_t *e = realloc (r->entries, cap * sizeof *e);
        if (!e)
            return XF_ENOMEM;
        r->entries = e;
        r->cap = cap;
    }
    entry_t *e = &r->entries[r->n++];
    memset (e, 0, sizeof *e);
    strncpy (e->code, code, sizeof e->code - 1);
    strncpy (e->via, via, sizeof e->via - 1);
    set_name (e, name);
    return XF_OK;
}

/* Sorts by code and drops repeats of a code (an announcement may name one twice). */
static void sort_entries (xf_routes_t *r)
{
    size_t w = 0;
    qsort (r->entries, r->n, sizeof *r->entries, by_code);
    for (size_t i = 0; i < r->n; i++)
        if (!w || strcmp (r->entries[w - 1].code, r->entries[i].code) != 0)
            r->entries[w++] = r->entries[i];
    r->n = w;
    free (r->subtree);
    r->subtree = NULL;
}

static int add (xf_routes_t *r, const char *code, const char *via, const char *name)
{
    int rc = append (r, code, via, name);
    if (rc == XF_OK)
        sort_entries (r);
    return rc;
}

xf_routes_t *xf_routes_new (const char *self, const char *parent)
{
    xf_routes_t *r = calloc (1, sizeof *r);
    if (!r)
        return NULL;
    strncpy (r->self, self, sizeof r->self - 1);
    if (parent)
        strncpy (r->parent, parent, sizeof r->parent - 1);
    if (add (r, self, "", NULL) != XF_OK)
        xf_routes_destroy (&r);
    return r;
}

void xf_routes_destroy (xf_routes_t **routes_p)
{
    if (routes_p && *routes_p) {
        free ((*routes_p)->entries);
        free ((*routes_p)->subtree);
        free (*routes_p);
        *routes_p = NULL;
    }
}

int xf_routes_add_child (xf_routes_t *r, const char *child, xf_err_t *err)
{
    const entry_t *e = find (r, child);
    if (e && strcmp (e->via, child) == 0)
        return XF_OK;
    if (e || strcmp (child, r->parent) == 0)
        return xf_err_set (err, XF_EINVAL, "child %s is already in the tree elsewhere", child);
    return add (r, child, child, NULL) == XF_OK ? XF_OK : xf_err_set (err, XF_ENOMEM, "out of memory");
}

size_t xf_routes_children (const xf_routes_t *r, const char **out, size_t max)
{
    size_t n = 0;
    for (size_t i = 0; i < r->n; i++)
        if (strcmp (r->entries[i].code, r->entries[i].via) == 0) {
            if (n < max)
                out[n] = r->entries[i].code;
            n++;
        }
    return n;
}

void xf_routes_set_name (xf_routes_t *r, const char *code, const char *name)
{
    entry_t *e = (entry_t *) find (r, code);
    if (e) {
        set_name (e, name);
        free (r->subtree);
        r->subtree = NULL;
    }
}

const char *xf_routes_name (const xf_routes_t *r, const char *code)
{
    const entry_t *e = find (r, code);
    return e && *e->name ? e->name : NULL;
}

static void drop_subtree (xf_routes_t *r, const char *child)
{
    size_t w = 0;
    for (size_t i = 0; i < r->n; i++)
        if (strcmp (r->entries[i].via, child) != 0 || strcmp (r->entries[i].code, child) == 0)
            r->entries[w++] = r->entries[i];
    r->n = w;
    free (r->subtree);
    r->subtree = NULL;
}

int xf_routes_announce (xf_routes_t *r, const char *child, const char *const *codes,
                        const char *const *names, size_t n, xf_err_t *err)
{
    const entry_t *c = find (r, child);
    if (!c || strcmp (c->via, child) != 0)
        return xf_err_set (err, XF_EPERM, "office %s is not a configured child", child);
    for (size_t i = 0; i < n; i++) {   /* check everything before changing anything */
        if (strlen (codes[i]) >= sizeof c->code)
            return xf_err_set (err, XF_EINVAL, "child %s announced an office code of %zu "
                               "characters", child, strlen (codes[i]));
        const entry_t *e = find (r, codes[i]);
        if (strcmp (codes[i], r->parent) == 0 || (e && strcmp (e->via, child) != 0))
            return xf_err_set (err, XF_EPERM, "child %s announced office %s, which lies elsewhere "
                               "in the tree (%s)", child, codes[i],
                               e && !*e->via ? "this office" : e ? e->via : "the parent");
    }
    drop_subtree (r, child);
    size_t sorted = r->n;   /* find() searches these; the new ones are appended after them */
    int rc = XF_OK;
    for (size_t i = 0; i < n && rc == XF_OK; i++) {
        entry_t key, *e;
        snprintf (key.code, sizeof key.code, "%s", codes[i]);
        e = bsearch (&key, r->entries, sorted, sizeof *r->entries, by_code);
        if (!e)
            rc = append (r, codes[i], child, names ? names[i] : NULL);
        else if (names && *names[i])   /* the child itself: its own name over the configured one */
            set_name (e, names[i]);
    }
    sort_entries (r);
    return rc == XF_OK ? XF_OK : xf_err_set (err, XF_ENOMEM, "out of memory");
}

xf_route_t xf_routes_lookup (const xf_routes_t *r, const char *dest, const char **hop)
{
    const entry_t *e = find (r, dest);
    *hop = NULL;
    if (e && !*e->via)
        return XF_ROUTE_SELF;
    if (e) {
        *hop = e->via;
        return XF_ROUTE_CHILD;
    }
    if (*r->parent) {
        *hop = r->parent;
        return XF_ROUTE_PARENT;
    }
    return XF_ROUTE_UNKNOWN;
}

const char *xf_routes_parent (const xf_routes_t *r)
{
    return *r->parent ? r->parent : NULL;
}

int xf_routes_in_subtree (const xf_routes_t *r, const char *child, const char *code)
{
    const entry_t *e = find (r, code);
    return e && (!child || strcmp (e->via, child) == 0);
}

const char *const *xf_routes_subtree (const xf_routes_t *r, size_t *n, const char *const **names)
{
    xf_routes_t *m = (xf_routes_t *) r;   /* the cache is not part of the value */
    if (!m->subtree) {
        m->subtree = calloc (r->n ? 2 * r->n : 1, sizeof *m->subtree);
        if (!m->subtree) {
            *n = 0;
            return NULL;
        }
        const entry_t *self = find (r, r->self);
        size_t k = 0;
        m->subtree[k] = r->self;
        m->subtree[r->n + k++] = self ? self->name : "";
        for (size_t i = 0; i < r->n; i++)
            if (*r->entries[i].via) {
                m->subtree[k] = r->entries[i].code;
                m->subtree[r->n + k++] = r->entries[i].name;
            }
    }
    *n = r->n;
    if (names)
        *names = m->subtree + r->n;
    return m->subtree;
}

/* The significant prefix of a GB/T 2260 code: its digits up to the last non-zero pair
 * ("410000" → "41", "411300" → "4113"). */
static size_t significant (const char *code)
{
    size_t n = strlen (code);
    while (n > 0 && code[n - 1] == '0')
        n--;
    return (n + 1) & ~(size_t) 1;
}

bool xf_code_above (const char *above, const char *below)
{
    size_t n = significant (above);
    return n > 0 && strncmp (above, below, n) == 0 && significant (below) > n;
}
