/* link_status.c — the links in `xfctl status`: state, queue depth and bytes, age of the
 * oldest unacknowledged envelope, last seen, counters, and the alarm of a full outbox. */
#include <stdio.h>
#include <string.h>
#include "link_int.h"
#include "xf_msg.h"
#include "xf_outbox.h"

typedef struct {
    peer_t *p;
    uint64_t bytes;
    int64_t oldest;
} peer_stat_t;

static int peer_stat_txn (xf_txn_t *txn, void *arg, xf_err_t *err)
{
    peer_stat_t *s = arg;
    const void *v = NULL;
    size_t len = 0;
    int rc = xf_outbox_bytes (txn, s->p->st.peer, &s->bytes, err);
    s->oldest = 0;
    if (rc == XF_OK && xf_link_backlog (&s->p->st)
        && xf_outbox_get (txn, s->p->st.peer, s->p->st.acked + 1, &v, &len, err) == XF_OK) {
        /* the header alone: a relay's outbox holds other offices' envelopes, and only the
         * office they are addressed to decodes (and checks) a body */
        Xf__SignedEnvelope *se = xf__signed_envelope__unpack (NULL, len, v);
        Xf__EnvelopeHeader *h = se ? xf__envelope_header__unpack (NULL, se->envelope.len,
                                                                  se->envelope.data) : NULL;
        s->oldest = h ? h->created : 0;
        if (h)
            xf__envelope_header__free_unpacked (h, NULL);
        if (se)
            xf__signed_envelope__free_unpacked (se, NULL);
    }
    return rc;
}

json_t *links_refusals (const xf_links_t *l)
{
    return json_pack ("{s:I,s:I}", "refused_keys", (json_int_t) (l ? l->refused_keys : 0),
                      "unknown_frames", (json_int_t) (l ? l->unknown_frames : 0));
}

json_t *links_status (xf_links_t *l)
{
    json_t *a = json_array ();
    for (size_t i = 0; l && i < l->n_peers; i++) {
        peer_t *p = &l->peers[i];
        peer_stat_t s = {p, 0, 0};
        xf_err_t err = {0};
        char seen[26] = "", oldest[26] = "";
        xf_store_read (l->node->store, peer_stat_txn, &s, &err);
        if (p->last_seen)
            xf_time_format (p->last_seen, seen);
        if (s.oldest)
            xf_time_format (s.oldest, oldest);
        uint64_t backlog = xf_link_backlog (&p->st);
        bool full = backlog >= (uint64_t) l->node->conf->outbox_limit;
        json_array_append_new (a, json_pack (
            "{s:s,s:s,s:s,s:I,s:I,s:s?,s:I,s:s?,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:b}",
            "peer", p->st.peer, "role", p->is_parent ? "parent" : "child",
            "state", xf_link_state_name (p->st.state), "queue", (json_int_t) backlog,
            "queue_bytes", (json_int_t) s.bytes, "oldest_unacked", s.oldest ? oldest : NULL,
            "oldest_unacked_age_s", (json_int_t) (s.oldest ? node_now (l->node) - s.oldest : 0),
            "last_seen", p->last_seen ? seen : NULL,
            "messages_in", (json_int_t) p->envelopes_in, "messages_out", (json_int_t) p->envelopes_out,
            "frames_in", (json_int_t) p->st.frames_in, "frames_out", (json_int_t) p->st.frames_out,
            "rejected", (json_int_t) (p->st.rejected + p->refused),
            "duplicates", (json_int_t) p->st.duplicates, "gaps", (json_int_t) p->st.gaps,
            "ups", (json_int_t) p->st.ups, "applied", (json_int_t) p->st.applied,
            "outbox_full", full));
    }
    return a;
}


/* The tree as this node sees it: its parent and that link's state; each child with its link's
 * state and the offices it announced below it (reachable only while that link is up). */
json_t *links_topology (xf_links_t *l)
{
    const xf_conf_t *cf = l->node->conf;
    json_t *children = json_array (), *parent = json_null ();
    size_t n = 0;
    const char *const *codes = xf_routes_subtree (l->routes, &n, NULL);
    for (size_t i = 0; i < l->n_peers; i++) {
        peer_t *p = &l->peers[i];
        const char *state = xf_link_state_name (p->st.state);
        if (p->is_parent) {
            json_decref (parent);
            parent = json_pack ("{s:s,s:s}", "code", p->st.peer, "state", state);
            continue;
        }
        json_t *below = json_array ();
        for (size_t k = 0; k < n; k++)
            if (strcmp (codes[k], p->st.peer) != 0 && xf_routes_in_subtree (l->routes, p->st.peer, codes[k])) {
                const char *name = xf_routes_name (l->routes, codes[k]);
                json_array_append_new (below, json_pack ("{s:s,s:s?}", "code", codes[k], "name", name));
            }
        const char *name = xf_routes_name (l->routes, p->st.peer);
        json_array_append_new (children, json_pack ("{s:s,s:s?,s:s,s:o}", "code", p->st.peer,
                                                    "name", name, "state", state, "below", below));
    }
    return json_pack ("{s:{s:s,s:s},s:o,s:o}", "office", "code", cf->code, "name", cf->name,
                      "parent", parent, "children", children);
}
