/* sim_links.c — a deterministic simulation of the link protocol (lib/xf_link.h) between the
 * offices of a chain (province — city — county), in one process, as FoundationDB tests its
 * transport: for each seed, a random workload of messages between every pair of offices,
 * relayed by the city, over a fake network that delays, reorders, drops and duplicates frames
 * and cuts links, with offices that crash and lose everything not committed, on a fake clock.
 *
 * Each office does what the daemon's glue does (daemon/link_recv.c, link_send.c): frames are
 * read in a batch, acknowledgements trim the durable outbox, envelopes the state machine says
 * to apply are applied — delivered here, or queued onward — in one transaction with the new
 * positions, and only then acknowledged; hellos, envelopes from the outbox and bare acks go
 * out as the machine says. A crash throws away the machine and the open transaction; the
 * office restarts from its durable positions.
 *
 * After the faults stop, the network is left to settle, and the invariants are checked: no
 * message applied twice (checked at every apply), every message that was queued durably
 * delivered exactly once at its destination, nowhere else, and both ends of every link agreeing
 * on their positions with nothing left to send.
 *
 * Usage: sim_links [--seeds N] [--first S] [--seed S] [--verbose]
 * A failing seed prints itself; `sim_links --seed S` replays it identically. Exit 1 on any. */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "xf_link.h"

#define NODES 3
#define MAX_MSGS 4000
#define MAX_FRAMES 20000
#define STEP_MS 5

static const char *const CODE[NODES] = {"410000", "411300", "411324"};

/* ---------------------------------------------------------------- a seeded generator */

static uint64_t rng_state;

static uint64_t rnd (void)   /* xorshift64* */
{
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return rng_state * 2685821657736338717ULL;
}

static bool chance (double p)
{
    return (double) (rnd () >> 11) / (double) (1ULL << 53) < p;
}

static int64_t between (int64_t lo, int64_t hi)
{
    return lo + (int64_t) (rnd () % (uint64_t) (hi - lo + 1));
}

/* ---------------------------------------------------------------- offices */

typedef struct {   /* an application message: what the envelopes carry */
    int id, dest;
} msg_t;

typedef struct {   /* what survives a crash: the last committed transaction */
    uint64_t applied, next_seq, acked;
    msg_t *outbox;   /* by seq (1 … next_seq - 1); entries <= acked are trimmed */
    size_t cap;
} durable_t;

typedef struct {
    int peer;            /* node index */
    durable_t d;
    xf_link_t st;        /* the machine: lost in a crash */
    bool trim_pending;
} side_t;

typedef struct {
    bool alive;
    int64_t restart_at;
    side_t side[2];
    int n_sides;
} node_t;

typedef enum { F_ACK, F_HELLO, F_ENV } frame_kind_t;

typedef struct {
    int from, to;
    int64_t at;
    frame_kind_t kind;
    uint64_t seq, ack;
    uint64_t hello_applied, hello_next;
    bool reply;
    msg_t msg;
} frame_t;

typedef struct {
    uint64_t seed;
    int64_t now;
    node_t node[NODES];
    frame_t frames[MAX_FRAMES];
    size_t n_frames;
    int delivered[MAX_MSGS][NODES];   /* durable: how many times each message was applied where */
    msg_t sent[MAX_MSGS];             /* every message queued durably at its origin */
    int n_msgs;
    bool cut[NODES];                  /* the link of node i and node i - 1 is cut */
    bool faults;
    char failure[300];
    uint64_t dropped, duplicated, crashes, cuts;
} sim_t;

static const xf_link_opts_t OPTS = {8, 1000, 2000, 10000, 0};

static side_t *side_to (node_t *n, int peer)
{
    for (int i = 0; i < n->n_sides; i++)
        if (n->side[i].peer == peer)
            return &n->side[i];
    return NULL;
}

static int next_hop (int from, int dest)
{
    return dest < from ? from - 1 : from + 1;
}

static void fail (sim_t *s, const char *what)
{
    if (!s->failure[0])
        snprintf (s->failure, sizeof s->failure, "t=%lld ms: %.200s", (long long) s->now, what);
}

static void outbox_put (sim_t *s, durable_t *d, uint64_t seq, msg_t m)
{
    if (seq >= d->cap) {
        size_t cap = d->cap ? d->cap * 2 : 64;
        while (cap <= seq)
            cap *= 2;
        msg_t *grown = realloc (d->outbox, cap * sizeof *grown);
        if (!grown) {
            fail (s, "out of memory");
            return;
        }
        d->outbox = grown;
        d->cap = cap;
    }
    d->outbox[seq] = m;
}

static void boot (node_t *n)
{
    for (int i = 0; i < n->n_sides; i++) {
        side_t *sd = &n->side[i];
        xf_link_init (&sd->st, CODE[sd->peer], &OPTS, sd->d.applied, sd->d.next_seq, sd->d.acked);
        sd->trim_pending = false;
    }
    n->alive = true;
}

/* ---------------------------------------------------------------- the network */

static void send_frame (sim_t *s, frame_t f)
{
    int child = f.from > f.to ? f.from : f.to;
    if (s->faults && (s->cut[child] || chance (0.03))) {
        s->dropped++;
        return;
    }
    int copies = s->faults && chance (0.02) ? 2 : 1;
    s->duplicated += (uint64_t) (copies - 1);
    for (int c = 0; c < copies && s->n_frames < MAX_FRAMES; c++) {
        f.at = s->now + (s->faults ? between (1, 40) : 1);   /* reordered by the delays */
        s->frames[s->n_frames++] = f;
    }
    if (s->n_frames == MAX_FRAMES)
        fail (s, "the network holds too many frames");
}

static void flush_side (sim_t *s, int n, side_t *sd)
{
    xf_link_t *st = &sd->st;
    bool reply;
    frame_t f = {.from = n, .to = sd->peer};
    if (xf_link_hello_due (st, s->now, &reply)) {
        f.kind = F_HELLO;
        f.ack = st->applied;
        f.hello_applied = st->applied;
        f.hello_next = st->next_seq;
        f.reply = reply;
        send_frame (s, f);
        xf_link_hello_sent (st, s->now);
    }
    uint64_t first, last;
    if (xf_link_to_send (st, &first, &last)) {
        for (uint64_t seq = first; seq <= last; seq++) {
            if (seq <= sd->d.acked || seq >= sd->d.next_seq) {
                fail (s, "the machine asked to send a seq the outbox does not hold");
                return;
            }
            frame_t e = {.from = n, .to = sd->peer, .kind = F_ENV, .seq = seq, .ack = st->applied,
                         .msg = sd->d.outbox[seq]};
            send_frame (s, e);
            xf_link_sent (st, seq, s->now);
        }
    }
    if (xf_link_ack_due (st, s->now)) {
        frame_t a = {.from = n, .to = sd->peer, .kind = F_ACK, .ack = xf_link_ack_value (st)};
        send_frame (s, a);
        xf_link_ack_sent (st, s->now);
    }
}

/* ---------------------------------------------------------------- an office's loop turn */

typedef struct {
    side_t *sd;
    msg_t msg;
} item_t;

static void on_frame (sim_t *s, int n, const frame_t *f, item_t *batch, size_t *nb)
{
    side_t *sd = side_to (&s->node[n], f->from);
    xf_link_t *st = &sd->st;
    xf_err_t err = {0};
    bool advanced = false;
    if (f->kind != F_ENV || st->state != XF_LINK_UP)
        xf_link_heard (st, s->now);
    if (xf_link_on_ack (st, f->ack, &advanced, &err) != XF_OK)
        fail (s, err.msg);
    else if (advanced)
        sd->trim_pending = true;
    if (f->kind == F_HELLO) {
        Xf__Hello h = XF__HELLO__INIT;
        h.min_version = h.max_version = XF_LINK_VERSION_MAX_SPOKEN;
        h.code = (char *) CODE[f->from];
        h.applied = f->hello_applied;
        h.next_seq = f->hello_next;
        h.reply = f->reply;
        if (xf_link_on_hello (st, &h, CODE[f->from], s->now, &err) != XF_OK)
            fail (s, err.msg);
    }
    if (f->kind == F_ENV && st->state == XF_LINK_UP
        && xf_link_receive (st, f->seq, s->now) == XF_LINK_APPLY)
        batch[(*nb)++] = (item_t) {sd, f->msg};
}

/* The transaction: apply the batch (deliver or queue onward), new positions, trims. */
static void commit (sim_t *s, int n, item_t *batch, size_t nb)
{
    node_t *nd = &s->node[n];
    for (size_t i = 0; i < nb; i++) {
        msg_t m = batch[i].msg;
        if (m.dest == n) {
            if (++s->delivered[m.id][n] > 1) {
                char what[120];
                snprintf (what, sizeof what, "message %d applied twice at office %d", m.id, n);
                fail (s, what);
            }
        } else {
            side_t *on = side_to (nd, next_hop (n, m.dest));
            outbox_put (s, &on->d, on->d.next_seq, m);
            on->d.next_seq++;
            on->st.next_seq = on->d.next_seq;   /* link_refresh_positions */
        }
    }
    for (int i = 0; i < nd->n_sides; i++) {
        side_t *sd = &nd->side[i];
        sd->d.applied = sd->st.pending;
        if (sd->trim_pending && sd->st.acked > sd->d.acked)
            sd->d.acked = sd->st.acked;
        sd->trim_pending = false;
        xf_link_committed (&sd->st);
    }
}

static void crash (sim_t *s, int n)
{
    node_t *nd = &s->node[n];
    nd->alive = false;
    nd->restart_at = s->now + between (50, 3000);
    s->crashes++;
    for (int i = 0; i < nd->n_sides; i++) {   /* the child side hears its connection go */
        int peer = nd->side[i].peer;
        if (peer > n && s->node[peer].alive)
            xf_link_lost (&side_to (&s->node[peer], n)->st);
    }
}

static void turn (sim_t *s, int n)
{
    node_t *nd = &s->node[n];
    item_t batch[512];
    size_t nb = 0;
    for (size_t i = 0; i < s->n_frames;) {
        frame_t *f = &s->frames[i];
        if (f->to == n && f->at <= s->now && nb < 500) {
            frame_t copy = *f;
            s->frames[i] = s->frames[--s->n_frames];   /* order among due frames: shuffled */
            on_frame (s, n, &copy, batch, &nb);
        } else
            i++;
    }
    bool dirty = nb > 0;
    for (int i = 0; i < nd->n_sides; i++)
        dirty |= nd->side[i].trim_pending;
    if (dirty) {
        if (s->faults && chance (0.01)) {   /* dies before the commit: nothing of it stays */
            crash (s, n);
            return;
        }
        commit (s, n, batch, nb);
    }
    for (int i = 0; i < nd->n_sides; i++) {
        (void) xf_link_tick (&nd->side[i].st, s->now);
        flush_side (s, n, &nd->side[i]);
    }
}

/* A new message, queued durably at its origin (a transaction of its own). */
static void originate (sim_t *s)
{
    if (s->n_msgs == MAX_MSGS)
        return;
    int from = (int) between (0, NODES - 1), dest;
    do
        dest = (int) between (0, NODES - 1);
    while (dest == from);
    node_t *nd = &s->node[from];
    if (!nd->alive)
        return;
    msg_t m = {s->n_msgs, dest};
    side_t *sd = side_to (nd, next_hop (from, dest));
    outbox_put (s, &sd->d, sd->d.next_seq, m);
    sd->d.next_seq++;
    xf_link_queue (&sd->st);
    s->sent[s->n_msgs++] = m;
}

/* ---------------------------------------------------------------- one seed */

static bool settled (sim_t *s)
{
    for (int n = 0; n < NODES; n++) {
        node_t *nd = &s->node[n];
        for (int i = 0; i < nd->n_sides; i++) {
            const side_t *sd = &nd->side[i];
            const side_t *back = side_to (&s->node[sd->peer], n);
            if (sd->d.acked != sd->d.next_seq - 1 || back->d.applied != sd->d.next_seq - 1)
                return false;
        }
    }
    return true;
}

static void check_end (sim_t *s)
{
    char what[200];
    if (!settled (s))
        fail (s, "the network did not settle: positions still differ after the faults stopped");
    for (int i = 0; i < s->n_msgs && !s->failure[0]; i++)
        for (int n = 0; n < NODES; n++) {
            int want = s->sent[i].dest == n ? 1 : 0;
            if (s->delivered[i][n] != want) {
                snprintf (what, sizeof what, "message %d (to office %d) applied %d time(s) at office %d",
                          i, s->sent[i].dest, s->delivered[i][n], n);
                fail (s, what);
            }
        }
}

static int run_seed (uint64_t seed, bool verbose)
{
    sim_t *s = calloc (1, sizeof *s);
    if (!s)
        return 1;
    s->seed = seed;
    rng_state = seed * 0x9E3779B97F4A7C15ULL + 1;
    for (int n = 0; n < NODES; n++) {
        node_t *nd = &s->node[n];
        if (n > 0)
            nd->side[nd->n_sides++].peer = n - 1;
        if (n < NODES - 1)
            nd->side[nd->n_sides++].peer = n + 1;
        for (int i = 0; i < nd->n_sides; i++)
            nd->side[i].d.next_seq = 1;
        boot (nd);
    }
    s->faults = true;
    int64_t fault_end = between (20000, 60000), end = fault_end + 120000;
    for (s->now = 0; s->now < end && !s->failure[0]; s->now += STEP_MS) {
        if (s->now >= fault_end && s->faults) {   /* heal everything, let it settle */
            s->faults = false;
            memset (s->cut, 0, sizeof s->cut);
            for (int n = 0; n < NODES; n++)
                if (!s->node[n].alive)
                    boot (&s->node[n]);
        }
        if (s->faults && chance (0.3))
            originate (s);
        if (s->faults && chance (0.002)) {
            int link = (int) between (1, NODES - 1);
            s->cut[link] = !s->cut[link];
            s->cuts += s->cut[link];
        }
        for (int n = 0; n < NODES; n++) {
            node_t *nd = &s->node[n];
            if (!nd->alive) {
                if (s->now >= nd->restart_at)
                    boot (nd);
                continue;
            }
            if (s->faults && chance (0.0005)) {
                crash (s, n);
                continue;
            }
            turn (s, n);
        }
        if (!s->faults && s->now % 1000 == 0 && settled (s))
            break;
    }
    if (!s->failure[0])
        check_end (s);
    if (verbose || s->failure[0])
        printf ("seed %llu: %d messages, %llu frames dropped, %llu duplicated, %llu crashes, "
                "%llu cuts, settled at %lld ms%s%s\n", (unsigned long long) seed, s->n_msgs,
                (unsigned long long) s->dropped, (unsigned long long) s->duplicated,
                (unsigned long long) s->crashes, (unsigned long long) s->cuts,
                (long long) s->now, s->failure[0] ? ": FAILED: " : "", s->failure);
    int failed = s->failure[0] != 0;
    for (int n = 0; n < NODES; n++)
        for (int i = 0; i < s->node[n].n_sides; i++)
            free (s->node[n].side[i].d.outbox);
    free (s);
    return failed;
}

int main (int argc, char **argv)
{
    uint64_t first = 1, seeds = 1000;
    bool verbose = false;
    for (int i = 1; i < argc; i++) {
        if (strcmp (argv[i], "--seeds") == 0 && i + 1 < argc)
            seeds = strtoull (argv[++i], NULL, 10);
        else if (strcmp (argv[i], "--first") == 0 && i + 1 < argc)
            first = strtoull (argv[++i], NULL, 10);
        else if (strcmp (argv[i], "--seed") == 0 && i + 1 < argc) {
            first = strtoull (argv[++i], NULL, 10);
            seeds = 1;
            verbose = true;
        } else if (strcmp (argv[i], "--verbose") == 0)
            verbose = true;
        else {
            fprintf (stderr, "usage: sim_links [--seeds N] [--first S] [--seed S] [--verbose]\n");
            return 2;
        }
    }
    uint64_t failed = 0;
    for (uint64_t seed = first; seed < first + seeds; seed++)
        failed += (uint64_t) run_seed (seed, verbose);
    printf ("sim_links: %llu seed(s) from %llu, %llu failed%s\n", (unsigned long long) seeds,
            (unsigned long long) first, (unsigned long long) failed,
            failed ? " (replay one with: sim_links --seed S)" : "");
    return failed ? 1 : 0;
}
