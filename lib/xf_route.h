/* xf_route.h — where a message for an office goes next: the tree as this node sees it.
 *
 * A node knows its parent (configured) and, for each configured child, the codes of the
 * child's subtree as the child announced them (the child itself always). A destination in a
 * child's subtree goes down to that child; any other office goes up to the parent; at the
 * root an office in no subtree is unknown (and the message returns as a delivery error). */
#ifndef XF_ROUTE_H
#define XF_ROUTE_H

#include <stdbool.h>
#include <stddef.h>
#include "xf_err.h"

typedef struct xf_routes xf_routes_t;

#define XF_ROUTE_NAME_MAX 128   /* bytes of an office's name (its unit), longer ones are cut */

typedef enum {
    XF_ROUTE_SELF,      /* the destination is this office */
    XF_ROUTE_CHILD,     /* down, to *hop */
    XF_ROUTE_PARENT,    /* up, to *hop */
    XF_ROUTE_UNKNOWN,   /* nowhere: no such office below, and no parent */
} xf_route_t;

/* parent NULL or "" on the root. */
xf_routes_t *xf_routes_new (const char *self, const char *parent);
void         xf_routes_destroy (xf_routes_t **routes_p);

/* Declares a configured child (its subtree is at least itself). */
int xf_routes_add_child (xf_routes_t *r, const char *child, xf_err_t *err);
/* Replaces the subtree a child announced, with the offices' names (names NULL: none). Codes
 * that belong to another child's subtree or to this node's own position (itself, its parent)
 * are refused: a child cannot claim them. */
int xf_routes_announce (xf_routes_t *r, const char *child, const char *const *codes,
                        const char *const *names, size_t n, xf_err_t *err);

/* The name (the unit) of an office this node knows: itself, a child, or one announced below.
 * set_name ignores an unknown code; xf_routes_name returns NULL when no name is known. */
void        xf_routes_set_name (xf_routes_t *r, const char *code, const char *name);
const char *xf_routes_name (const xf_routes_t *r, const char *code);

xf_route_t xf_routes_lookup (const xf_routes_t *r, const char *dest, const char **hop);

/* The configured children, in code order: up to max codes (borrowed) into out; returns how
 * many there are. */
size_t xf_routes_children (const xf_routes_t *r, const char **out, size_t max);

/* The parent's code, or NULL on the root. */
const char *xf_routes_parent (const xf_routes_t *r);

/* True when code is in the subtree of `child`; with child NULL, when it is this office or in
 * any child's subtree. */
int xf_routes_in_subtree (const xf_routes_t *r, const char *child, const char *code);

/* This node's whole subtree (itself first), for announcing to the parent, and (names not
 * NULL) the parallel names. Borrowed arrays of borrowed strings, valid until the next change. */
const char *const *xf_routes_subtree (const xf_routes_t *r, size_t *n, const char *const **names);

/* True when the division `above` contains the division `below` by their GB/T 2260 codes
 * (410000 contains 411300 and 411324; 411300 contains 411324): the offices above an office
 * are known from its code alone, wherever the routes lead. */
bool xf_code_above (const char *above, const char *below);

#endif
