/* bench_relay_baseline.c — the baseline xfsyncd's relay is measured against (issue 3): a
 * minimal relay written for the benchmark, three processes on 127.0.0.1,
 *
 *     source ──DEALER→ROUTER, CURVE──▶ relay ──DEALER→ROUTER, CURVE──▶ sink
 *            ◀── cumulative acks ────        ◀── cumulative acks ─────
 *
 * every hop durable: each message (an 8-byte big-endian sequence number + 1,000 bytes of
 * payload) is put in the receiver's own LMDB environment (default sync, key = the sequence,
 * MDB_APPEND) in a transaction that takes everything readable up to --batch (1,000), and only
 * after that commit does the receiver acknowledge the highest sequence it holds. The relay puts
 * each message twice in that one transaction — its inbox and an outbox it keeps until the sink
 * acknowledges — forwards after the commit, and deletes acknowledged outbox entries in batches
 * inside its next transaction. The source keeps a durable outbox too (put, commit, then send)
 * and at most --window messages unacknowledged by the relay. An acknowledgement carries two
 * numbers: what the hop committed, and what the sink committed (the relay passes the sink's on),
 * so the source sees both its next hop and the end of the chain.
 *
 * `run` forks the roles as separate processes (re-executing this program) for four phases:
 *   curve_one_hop  source → sink, no LMDB anywhere: the transport limit of the same protocol
 *   throughput     N messages through the relay as fast as the window allows (msgs/s at sink)
 *   random_keys    the same with keys a 64-bit hash of the sequence (no MDB_APPEND)
 *   latency        one message in flight, M round trips: source send → the sink's commit
 *                  acknowledged back at the source (p50/p99)
 * checks afterwards that every store holds what it must (sink and relay inbox N entries,
 * outboxes empty), and prints one JSON object. Children are stopped by their pid within a
 * bounded time and the temporary directory is removed, on success and on failure.
 *
 * Usage: see usage() or --help. */
#include <fcntl.h>
#include <ftw.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <zmq.h>
#include "bench_common.h"

#define SEQ_BYTES 8
#define PAYLOAD_BYTES 1000
#define MSG_BYTES (SEQ_BYTES + PAYLOAD_BYTES)
#define ACK_BYTES 16            /* hop committed, sink committed; both big-endian */
#define WARMUP 20               /* latency round trips not counted (connection, first pages) */
#define LMDB_SYNCS_PER_COMMIT 2 /* fdatasync of the data, then the meta page through O_DSYNC */

typedef struct {
    const char *dir, *bind, *connect, *keys, *peer, *tmp;
    uint64_t messages, round_trips, random_messages;
    size_t window, batch;
    bool random_keys, no_store, latency, quick, self_test;
    int ready_fd, port;
    double timeout;
} opts_t;

static const char *who = "bench_relay_baseline";
static void (*at_die) (void);   /* the orchestrator's cleanup */

static void die (const char *fmt, ...) __attribute__ ((format (printf, 1, 2), noreturn));
static void die (const char *fmt, ...)
{
    va_list ap;
    va_start (ap, fmt);
    fprintf (stderr, "%s: ", who);
    vfprintf (stderr, fmt, ap);
    fputc ('\n', stderr);
    va_end (ap);
    void (*f) (void) = at_die;
    at_die = NULL;
    if (f)
        f ();
    exit (1);
}

static void put_u64 (uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (uint8_t) (v >> (56 - 8 * i));
}

static uint64_t get_u64 (const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v = v << 8 | p[i];
    return v;
}

/* ---------------------------------------------------------------- keys and sockets */

typedef struct {
    char pub[41], sec[41];
} keypair_t;

/* The keypair `name` from the keys file the orchestrator writes ("name public secret" lines). */
static keypair_t keys_load (const char *file, const char *name)
{
    keypair_t kp = {{0}, {0}};
    char line[256], n[32];
    FILE *f = fopen (file, "r");
    if (!f)
        die ("keys file %s: %s", file, strerror (errno));
    while (fgets (line, sizeof line, f))
        if (sscanf (line, "%31s %40s %40s", n, kp.pub, kp.sec) == 3 && strcmp (n, name) == 0
            && strlen (kp.pub) == 40 && strlen (kp.sec) == 40) {
            fclose (f);
            return kp;
        }
    fclose (f);
    die ("keys file %s has no keypair \"%s\"", file, name);
}

static void sopt (void *s, int opt, const void *v, size_t n, const char *what)
{
    if (zmq_setsockopt (s, opt, v, n) != 0)
        die ("zmq_setsockopt %s: %s", what, zmq_strerror (zmq_errno ()));
}

static void *sock_new (void *ctx, int type)
{
    int linger = 2000, hwm = 0;   /* the windows bound the queues, not ZeroMQ */
    void *s = zmq_socket (ctx, type);
    if (!s)
        die ("zmq_socket: %s", zmq_strerror (zmq_errno ()));
    sopt (s, ZMQ_LINGER, &linger, sizeof linger, "LINGER");
    sopt (s, ZMQ_SNDHWM, &hwm, sizeof hwm, "SNDHWM");
    sopt (s, ZMQ_RCVHWM, &hwm, sizeof hwm, "RCVHWM");
    return s;
}

/* A CURVE server ROUTER bound to ep; its endpoint goes to ready_fd (or stderr). No ZAP
 * handler: every client that knows the server key is accepted, as the baseline needs. */
static void *sock_server (void *ctx, const keypair_t *own, const char *ep, int ready_fd)
{
    int one = 1;
    char last[256];
    size_t len = sizeof last;
    void *s = sock_new (ctx, ZMQ_ROUTER);
    sopt (s, ZMQ_CURVE_SERVER, &one, sizeof one, "CURVE_SERVER");
    sopt (s, ZMQ_CURVE_SECRETKEY, own->sec, 40, "CURVE_SECRETKEY");
    if (zmq_bind (s, ep) != 0)
        die ("bind %s: %s", ep, zmq_strerror (zmq_errno ()));
    if (zmq_getsockopt (s, ZMQ_LAST_ENDPOINT, last, &len) != 0)
        die ("ZMQ_LAST_ENDPOINT: %s", zmq_strerror (zmq_errno ()));
    if (ready_fd >= 0) {
        dprintf (ready_fd, "%s\n", last);
        close (ready_fd);
    } else {
        fprintf (stderr, "%s: listening on %s\n", who, last);
    }
    return s;
}

/* A CURVE client DEALER connected to ep, whose server key is server_pub. */
static void *sock_client (void *ctx, const keypair_t *own, const char *server_pub, const char *ep,
                          const char *id)
{
    void *s = sock_new (ctx, ZMQ_DEALER);
    sopt (s, ZMQ_ROUTING_ID, id, strlen (id), "ROUTING_ID");
    sopt (s, ZMQ_CURVE_SERVERKEY, server_pub, 40, "CURVE_SERVERKEY");
    sopt (s, ZMQ_CURVE_PUBLICKEY, own->pub, 40, "CURVE_PUBLICKEY");
    sopt (s, ZMQ_CURVE_SECRETKEY, own->sec, 40, "CURVE_SECRETKEY");
    if (zmq_connect (s, ep) != 0)
        die ("connect %s: %s", ep, zmq_strerror (zmq_errno ()));
    return s;
}

/* Receives one [routing id][body] message if one is queued; false when none is. */
static bool router_recv (void *s, zmq_msg_t *id, zmq_msg_t *body)
{
    zmq_msg_init (id);
    if (zmq_msg_recv (id, s, ZMQ_DONTWAIT) < 0) {
        zmq_msg_close (id);
        if (zmq_errno () == EAGAIN || zmq_errno () == EINTR)
            return false;
        die ("recv: %s", zmq_strerror (zmq_errno ()));
    }
    if (!zmq_msg_more (id))
        die ("a message without a body from its peer");
    zmq_msg_init (body);
    if (zmq_msg_recv (body, s, 0) < 0)
        die ("recv: %s", zmq_strerror (zmq_errno ()));
    if (zmq_msg_more (body))
        die ("a message of more than two frames from its peer");
    return true;
}

/* The sequence number of a message body; dies on a body that is not one of ours. */
static uint64_t body_seq (zmq_msg_t *body)
{
    const uint8_t *p = zmq_msg_data (body);
    if (zmq_msg_size (body) != MSG_BYTES)
        die ("a message of %zu bytes, not %d", zmq_msg_size (body), MSG_BYTES);
    uint64_t seq = get_u64 (p);
    if (get_u64 (p + SEQ_BYTES) != bench_mix (seq))
        die ("message %llu: the payload is not the one sent", (unsigned long long) seq);
    return seq;
}

/* A cumulative acknowledgement to the peer whose routing id is id (nothing before one). */
static void ack_send (void *router, const char *id, size_t idlen, uint64_t hop, uint64_t e2e)
{
    uint8_t a[ACK_BYTES];
    if (!idlen)
        return;
    put_u64 (a, hop);
    put_u64 (a + 8, e2e);
    if (zmq_send (router, id, idlen, ZMQ_SNDMORE) < 0 || zmq_send (router, a, sizeof a, 0) < 0)
        die ("send ack: %s", zmq_strerror (zmq_errno ()));
}

/* Reads every queued acknowledgement on a DEALER; true if any moved hop or e2e forward. */
static bool acks_drain (void *dealer, uint64_t *hop, uint64_t *e2e)
{
    uint8_t a[ACK_BYTES + 1];
    bool moved = false;
    int n;
    while ((n = zmq_recv (dealer, a, sizeof a, ZMQ_DONTWAIT)) >= 0) {
        if (n != ACK_BYTES)
            die ("an acknowledgement of %d bytes, not %d", n, ACK_BYTES);
        uint64_t h = get_u64 (a), e = get_u64 (a + 8);
        if (h > *hop)
            *hop = h, moved = true;
        if (e > *e2e)
            *e2e = e, moved = true;
    }
    if (zmq_errno () != EAGAIN && zmq_errno () != EINTR)
        die ("recv ack: %s", zmq_strerror (zmq_errno ()));
    return moved;
}

static void poll_or_die (zmq_pollitem_t *items, int n, long ms)
{
    if (zmq_poll (items, n, ms) < 0 && zmq_errno () != EINTR)
        die ("zmq_poll: %s", zmq_strerror (zmq_errno ()));
}

/* ---------------------------------------------------------------- the store of one hop */

typedef struct {
    MDB_env *env;               /* NULL: no store (the transport-only phase) */
    MDB_dbi inbox, outbox;
    MDB_txn *txn;               /* open between the first put of a drain and its commit */
    const char *dir;
    bool random;
    uint64_t commits, trimmed;  /* outbox entries 1..trimmed are deleted */
    double commit_s, commit_max_s;
} store_t;

static void store_die (const store_t *st, const char *what, int rc)
{
    die ("LMDB %s: %s: %s", st->dir, what, mdb_strerror (rc));
}

static void store_open (store_t *st, const char *dir, bool random, bool inbox, bool outbox)
{
    MDB_txn *txn;
    int rc;
    memset (st, 0, sizeof *st);
    st->dir = dir;
    st->random = random;
    if (mkdir (dir, 0700) != 0 && errno != EEXIST)
        die ("mkdir %s: %s", dir, strerror (errno));
    if ((rc = mdb_env_create (&st->env)) || (rc = mdb_env_set_maxdbs (st->env, 2))
        || (rc = mdb_env_set_mapsize (st->env, (size_t) 16 << 30))
        || (rc = mdb_env_open (st->env, dir, 0, 0600)))   /* default flags: durable commits */
        store_die (st, "open", rc);
    if ((rc = mdb_txn_begin (st->env, NULL, 0, &txn)))
        store_die (st, "begin", rc);
    if (inbox && (rc = mdb_dbi_open (txn, "inbox", MDB_CREATE, &st->inbox)))
        store_die (st, "open inbox", rc);
    if (outbox && (rc = mdb_dbi_open (txn, "outbox", MDB_CREATE, &st->outbox)))
        store_die (st, "open outbox", rc);
    if ((rc = mdb_txn_commit (txn)))
        store_die (st, "commit", rc);
}

static void store_begin (store_t *st)
{
    int rc;
    if (st->env && !st->txn && (rc = mdb_txn_begin (st->env, NULL, 0, &st->txn)))
        store_die (st, "begin", rc);
}

/* Sequential keys are the sequence itself and go in with MDB_APPEND (always the last leaf);
 * random keys are a 64-bit hash of it and land on any leaf. */
static void store_key (const store_t *st, uint64_t seq, uint8_t k[8])
{
    put_u64 (k, st->random ? bench_mix (seq ^ 0x7f4a7c159e3779b9ull) : seq);
}

static void store_put (store_t *st, MDB_dbi dbi, uint64_t seq, const void *v, size_t n)
{
    uint8_t k[8];
    MDB_val key = {sizeof k, k}, val = {n, (void *) v};
    int rc;
    if (!st->env)
        return;
    store_begin (st);
    store_key (st, seq, k);
    if ((rc = mdb_put (st->txn, dbi, &key, &val, st->random ? 0 : MDB_APPEND)))
        store_die (st, "put", rc);
}

/* Deletes outbox entries trimmed+1..upto in the open (or a new) transaction. */
static void store_trim (store_t *st, uint64_t upto)
{
    uint8_t k[8];
    MDB_val key = {sizeof k, k};
    int rc;
    if (!st->env || upto <= st->trimmed)
        return;
    store_begin (st);
    for (uint64_t s = st->trimmed + 1; s <= upto; s++) {
        store_key (st, s, k);
        if ((rc = mdb_del (st->txn, st->outbox, &key, NULL)))
            store_die (st, "delete from the outbox", rc);
    }
    st->trimmed = upto;
}

static void store_commit (store_t *st)
{
    int rc;
    if (!st->txn)
        return;
    double t0 = bench_now ();
    if ((rc = mdb_txn_commit (st->txn)))
        store_die (st, "commit", rc);
    double d = bench_now () - t0;
    st->txn = NULL;
    st->commits++;
    st->commit_s += d;
    if (d > st->commit_max_s)
        st->commit_max_s = d;
}

static void store_close (store_t *st)
{
    if (st->txn)
        mdb_txn_abort (st->txn);
    if (st->env)
        mdb_env_close (st->env);
    st->txn = NULL;
    st->env = NULL;
}

static void store_json (json_t *o, const store_t *st)
{
    json_object_set_new (o, "commits", json_integer ((json_int_t) st->commits));
    json_object_set_new (o, "commit_ms_mean",
                         bench_num (st->commits ? st->commit_s / (double) st->commits * 1e3 : 0, 3));
    json_object_set_new (o, "commit_ms_max", bench_num (st->commit_max_s * 1e3, 3));
}

static void print_json (json_t *o)
{
    json_dumpf (o, stdout, BENCH_JSON_FLAGS);
    fputc ('\n', stdout);
    fflush (stdout);
    json_decref (o);
}

static double deadline_of (const opts_t *o)
{
    return bench_now () + o->timeout;
}

static void check_deadline (double deadline, const char *what, uint64_t done, uint64_t total)
{
    if (bench_now () > deadline)
        die ("timed out %s (%llu of %llu)", what, (unsigned long long) done,
             (unsigned long long) total);
}

/* ---------------------------------------------------------------- sink */

static int role_sink (const opts_t *o)
{
    keypair_t own = keys_load (o->keys, "sink");
    store_t st = {0};
    if (!o->no_store)
        store_open (&st, o->dir, o->random_keys, true, false);
    void *ctx = zmq_ctx_new ();
    void *up = sock_server (ctx, &own, o->bind, o->ready_fd);
    char peer[256];
    size_t peerlen = 0;
    uint64_t applied = 0, dups = 0, drains = 0;
    double t_first = 0, deadline = deadline_of (o);
    zmq_msg_t id, body;

    while (applied < o->messages) {
        zmq_pollitem_t it = {up, 0, ZMQ_POLLIN, 0};
        poll_or_die (&it, 1, 100);
        check_deadline (deadline, "waiting for messages", applied, o->messages);
        size_t n = 0;
        while (n < o->batch && router_recv (up, &id, &body)) {
            n++;
            if (!t_first)
                t_first = bench_now ();
            if (!peerlen && zmq_msg_size (&id) <= sizeof peer) {
                peerlen = zmq_msg_size (&id);
                memcpy (peer, zmq_msg_data (&id), peerlen);
            }
            uint64_t seq = body_seq (&body);
            if (seq <= applied) {
                dups++;
            } else if (seq != applied + 1) {
                die ("message %llu after %llu: a gap", (unsigned long long) seq,
                     (unsigned long long) applied);
            } else {
                store_put (&st, st.inbox, seq, (const uint8_t *) zmq_msg_data (&body) + SEQ_BYTES,
                           PAYLOAD_BYTES);
                applied = seq;
            }
            zmq_msg_close (&id);
            zmq_msg_close (&body);
        }
        if (!n)
            continue;
        store_commit (&st);   /* durable before acknowledged */
        drains++;
        ack_send (up, peer, peerlen, applied, applied);
    }
    double t_last = bench_now ();

    json_t *r = json_pack ("{s:s,s:I,s:I,s:I,s:f,s:f}", "role", "sink", "applied",
                           (json_int_t) applied, "duplicates", (json_int_t) dups, "drains",
                           (json_int_t) drains, "t_first", t_first, "t_last", t_last);
    store_json (r, &st);
    zmq_close (up);
    zmq_ctx_term (ctx);
    store_close (&st);
    print_json (r);
    return 0;
}

/* ---------------------------------------------------------------- relay */

static int role_relay (const opts_t *o)
{
    keypair_t own = keys_load (o->keys, "relay"), sink = keys_load (o->keys, o->peer);
    store_t st = {0};
    if (!o->no_store)
        store_open (&st, o->dir, o->random_keys, true, true);
    void *ctx = zmq_ctx_new ();
    void *down = sock_client (ctx, &own, sink.pub, o->connect, "relay");
    void *up = sock_server (ctx, &own, o->bind, o->ready_fd);
    zmq_msg_t *held = calloc (o->batch, sizeof *held), id;
    if (!held)
        die ("out of memory");
    char peer[256];
    size_t peerlen = 0;
    uint64_t applied = 0, sink_acked = 0, sink_hop = 0, dups = 0, drains = 0, trim_commits = 0;
    double deadline = deadline_of (o);

    while (sink_acked < o->messages) {
        /* Backpressure: read from the source only while the sink is less than a window
         * behind, so neither the relay's queue to the sink nor its outbox grows without end. */
        zmq_pollitem_t it[2] = {{up, 0, applied - sink_acked < o->window ? ZMQ_POLLIN : 0, 0},
                                {down, 0, ZMQ_POLLIN, 0}};
        poll_or_die (it, 2, 100);
        check_deadline (deadline, "relaying", sink_acked, o->messages);
        if ((it[1].revents & ZMQ_POLLIN) && acks_drain (down, &sink_hop, &sink_acked))
            ack_send (up, peer, peerlen, applied, sink_acked);   /* pass the sink's commit on */

        size_t n = 0;
        if (it[0].revents & ZMQ_POLLIN) {
            while (n < o->batch && router_recv (up, &id, &held[n])) {
                if (!peerlen && zmq_msg_size (&id) <= sizeof peer) {
                    peerlen = zmq_msg_size (&id);
                    memcpy (peer, zmq_msg_data (&id), peerlen);
                }
                zmq_msg_close (&id);
                uint64_t seq = body_seq (&held[n]);
                if (seq <= applied) {
                    dups++;
                    zmq_msg_close (&held[n]);
                    continue;
                }
                if (seq != applied + 1)
                    die ("message %llu after %llu: a gap", (unsigned long long) seq,
                         (unsigned long long) applied);
                const uint8_t *payload = (const uint8_t *) zmq_msg_data (&held[n]) + SEQ_BYTES;
                store_put (&st, st.inbox, seq, payload, PAYLOAD_BYTES);
                store_put (&st, st.outbox, seq, payload, PAYLOAD_BYTES);
                applied = seq;
                n++;
            }
        }
        if (n) {
            store_trim (&st, sink_acked);   /* acknowledged outbox entries go in the same txn */
            store_commit (&st);
            drains++;
            for (size_t i = 0; i < n; i++)   /* forward only what is durable here */
                if (zmq_msg_send (&held[i], down, 0) < 0)
                    die ("forward: %s", zmq_strerror (zmq_errno ()));
            ack_send (up, peer, peerlen, applied, sink_acked);
        } else if (st.env && sink_acked - st.trimmed >= o->batch) {
            store_trim (&st, sink_acked);   /* idle inbound: a batch of deletions on its own */
            store_commit (&st);
            trim_commits++;
        }
    }
    if (st.env && sink_acked > st.trimmed) {   /* leave the outbox empty */
        store_trim (&st, sink_acked);
        store_commit (&st);
        trim_commits++;
    }

    json_t *r = json_pack ("{s:s,s:I,s:I,s:I,s:I,s:I}", "role", "relay", "applied",
                           (json_int_t) applied, "sink_acked", (json_int_t) sink_acked,
                           "duplicates", (json_int_t) dups, "drains", (json_int_t) drains,
                           "trim_only_commits", (json_int_t) trim_commits);
    store_json (r, &st);
    free (held);
    zmq_close (up);
    zmq_close (down);
    zmq_ctx_term (ctx);
    store_close (&st);
    print_json (r);
    return 0;
}

/* ---------------------------------------------------------------- source */

static void msg_build (uint8_t *m, uint64_t seq, const uint8_t *filler)
{
    put_u64 (m, seq);
    put_u64 (m + SEQ_BYTES, bench_mix (seq));
    memcpy (m + SEQ_BYTES + 8, filler, PAYLOAD_BYTES - 8);
}

static json_t *quantiles_json (bench_samples_t *s, const char *prefix)
{
    json_t *o = json_object ();
    char k[64];
    double sum = 0;
    for (size_t i = 0; i < s->n; i++)
        sum += s->v[i];
    static const struct { const char *name; double q; } qs[] = {
        {"p50_us", 0.5}, {"p90_us", 0.9}, {"p99_us", 0.99}, {"max_us", 1.0}};
    for (size_t i = 0; i < sizeof qs / sizeof *qs; i++) {
        snprintf (k, sizeof k, "%s%s", prefix, qs[i].name);
        json_object_set_new (o, k, bench_num (bench_quantile (s->v, s->n, qs[i].q) * 1e6, 1));
    }
    snprintf (k, sizeof k, "%smean_us", prefix);
    json_object_set_new (o, k, bench_num (s->n ? sum / (double) s->n * 1e6 : 0, 1));
    return o;
}

static int role_source (const opts_t *o)
{
    keypair_t own = keys_load (o->keys, "source"), server = keys_load (o->keys, o->peer);
    store_t st = {0};
    if (!o->no_store)
        store_open (&st, o->dir, o->random_keys, false, true);
    void *ctx = zmq_ctx_new ();
    void *down = sock_client (ctx, &own, server.pub, o->connect, "source");
    uint8_t filler[PAYLOAD_BYTES];
    for (size_t i = 0; i < sizeof filler; i++)
        filler[i] = (uint8_t) bench_mix (i + 77);
    uint8_t *buf = malloc (o->batch * MSG_BYTES);
    if (!buf)
        die ("out of memory");
    uint64_t n = o->messages, sent = 0, hop = 0, e2e = 0;
    bench_samples_t lat = {0}, lat_hop = {0}, lat_commit = {0}, commit = {0};
    uint64_t warmup = o->latency ? (n > 10 * WARMUP ? WARMUP : n / 10) : 0;
    double deadline = deadline_of (o), t_start = bench_now ();

    if (!o->latency) {
        while (e2e < n) {
            check_deadline (deadline, "waiting for acknowledgements", e2e, n);
            uint64_t room = sent < n ? o->window - (sent - hop) : 0;
            if (room) {
                size_t k = (size_t) (room < o->batch ? room : o->batch);
                if (k > n - sent)
                    k = (size_t) (n - sent);
                store_trim (&st, hop);   /* acknowledged entries leave with the next batch */
                for (size_t i = 0; i < k; i++) {
                    msg_build (buf + i * MSG_BYTES, sent + 1 + i, filler);
                    store_put (&st, st.outbox, sent + 1 + i, buf + i * MSG_BYTES + SEQ_BYTES,
                               PAYLOAD_BYTES);
                }
                store_commit (&st);   /* durable before sent */
                for (size_t i = 0; i < k; i++)
                    if (zmq_send (down, buf + i * MSG_BYTES, MSG_BYTES, 0) < 0)
                        die ("send: %s", zmq_strerror (zmq_errno ()));
                sent += k;
            }
            zmq_pollitem_t it = {down, 0, ZMQ_POLLIN, 0};
            poll_or_die (&it, 1, room ? 0 : 100);
            if (it.revents & ZMQ_POLLIN)
                acks_drain (down, &hop, &e2e);
        }
    } else {
        for (uint64_t seq = 1; seq <= n; seq++) {
            double tc = bench_now ();
            store_trim (&st, hop);
            msg_build (buf, seq, filler);
            store_put (&st, st.outbox, seq, buf + SEQ_BYTES, PAYLOAD_BYTES);
            store_commit (&st);
            double t0 = bench_now (), t_hop = 0;
            if (zmq_send (down, buf, MSG_BYTES, 0) < 0)
                die ("send: %s", zmq_strerror (zmq_errno ()));
            sent = seq;
            while (e2e < seq) {
                zmq_pollitem_t it = {down, 0, ZMQ_POLLIN, 0};
                poll_or_die (&it, 1, 100);
                check_deadline (deadline, "waiting for the round trip", seq, n);
                if (it.revents & ZMQ_POLLIN)
                    acks_drain (down, &hop, &e2e);
                if (!t_hop && hop >= seq)
                    t_hop = bench_now ();
            }
            double t1 = bench_now ();
            if (seq > warmup) {
                bench_sample (&lat, t1 - t0);
                bench_sample (&lat_hop, t_hop - t0);
                bench_sample (&lat_commit, t1 - tc);
                bench_sample (&commit, t0 - tc);
            }
        }
    }
    double t_end = bench_now ();
    if (st.env && hop > st.trimmed) {   /* leave the outbox empty */
        store_trim (&st, hop);
        store_commit (&st);
    }

    json_t *r = json_pack ("{s:s,s:I,s:I,s:I,s:f,s:f}", "role", "source", "sent", (json_int_t) sent,
                           "hop_acked", (json_int_t) hop, "e2e_acked", (json_int_t) e2e,
                           "t_start", t_start, "t_end", t_end);
    store_json (r, &st);
    if (o->latency) {
        json_t *l = quantiles_json (&lat, "");
        json_t *h = quantiles_json (&lat_hop, "to_relay_commit_"),
               *c = quantiles_json (&lat_commit, "with_source_commit_"),
               *s = quantiles_json (&commit, "source_commit_");
        json_object_update (l, h);
        json_object_update (l, c);
        json_object_update (l, s);
        json_decref (h), json_decref (c), json_decref (s);
        json_object_set_new (l, "round_trips", json_integer ((json_int_t) lat.n));
        json_object_set_new (l, "warmup", json_integer ((json_int_t) warmup));
        json_object_set_new (r, "latency", l);
    }
    free (lat.v), free (lat_hop.v), free (lat_commit.v), free (commit.v);
    free (buf);
    zmq_close (down);
    zmq_ctx_term (ctx);
    store_close (&st);
    print_json (r);
    return 0;
}

/* ---------------------------------------------------------------- the orchestrator */

typedef struct {
    pid_t pid;
    const char *name;
} kid_t;

static kid_t kids[3];
static size_t nkids;
static char tmpdir[512], self_exe[4096];
static volatile sig_atomic_t stop_signal;

static void on_signal (int sig)
{
    stop_signal = sig;
}

/* Stops every child still running by its pid: SIGTERM, then SIGKILL after 5 s. */
static void kids_stop (void)
{
    double until = bench_now () + 5;
    for (size_t i = 0; i < nkids; i++)
        if (kids[i].pid > 0)   /* never 0 or -1: those would reach other processes */
            kill (kids[i].pid, SIGTERM);
    for (size_t i = 0; i < nkids; i++) {
        int status;
        if (kids[i].pid <= 0)
            continue;
        while (waitpid (kids[i].pid, &status, WNOHANG) == 0) {
            if (bench_now () > until) {
                kill (kids[i].pid, SIGKILL);
                waitpid (kids[i].pid, &status, 0);
                break;
            }
            usleep (10000);
        }
    }
    nkids = 0;
}

static int rm_one (const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void) sb, (void) flag, (void) ftw;
    if (remove (path) != 0)
        fprintf (stderr, "%s: remove %s: %s\n", who, path, strerror (errno));
    return 0;
}

static void rm_tree (const char *dir)
{
    nftw (dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

static void cleanup (void)
{
    kids_stop ();
    if (*tmpdir)
        rm_tree (tmpdir);
    *tmpdir = 0;
}

/* Forks and re-executes this program as one role (argv), stdout into out_path; waits for the
 * line a server role writes once it is bound, into ep (NULL: the role binds nothing). */
static void spawn (const char *name, char **argv, const char *out_path, char *ep, size_t eplen)
{
    int p[2];
    if (pipe2 (p, O_CLOEXEC) != 0)
        die ("pipe: %s", strerror (errno));
    int out = open (out_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (out < 0)
        die ("open %s: %s", out_path, strerror (errno));
    pid_t parent = getpid ();
    fflush (NULL);
    pid_t pid = fork ();
    if (pid < 0)
        die ("fork: %s", strerror (errno));
    if (pid == 0) {
        /* dies with the orchestrator, even if that is killed outright */
        if (prctl (PR_SET_PDEATHSIG, SIGKILL) != 0 || getppid () != parent)
            _exit (1);
        if (dup2 (out, 1) < 0 || (p[1] == 3 ? fcntl (3, F_SETFD, 0) : dup2 (p[1], 3)) < 0)
            _exit (1);
        execv (self_exe, argv);
        _exit (127);
    }
    close (out);
    close (p[1]);
    kids[nkids++] = (kid_t) {pid, name};

    char line[256];
    size_t len = 0;
    double until = bench_now () + 20;
    while (ep) {
        struct pollfd pf = {p[0], POLLIN, 0};
        if (stop_signal)
            die ("interrupted by signal %d", (int) stop_signal);
        if (bench_now () > until)
            die ("%s did not bind within 20 s", name);
        if (poll (&pf, 1, 100) <= 0)
            continue;
        ssize_t r = read (p[0], line + len, sizeof line - 1 - len);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            die ("%s exited before it was bound (see its message above)", name);
        len += (size_t) r;
        line[len] = 0;
        char *nl = strchr (line, '\n');
        if (nl) {
            *nl = 0;
            snprintf (ep, eplen, "%s", line);
            break;
        }
        if (len == sizeof line - 1)
            die ("%s wrote an endpoint too long", name);
    }
    close (p[0]);
}

/* Waits until every child has exited 0; dies (stopping the rest) on the first that does not. */
static void kids_wait (double deadline)
{
    bool alive[3] = {true, true, true};
    size_t left = nkids;
    while (left) {
        for (size_t i = 0; i < nkids; i++) {
            int status;
            if (!alive[i] || waitpid (kids[i].pid, &status, WNOHANG) != kids[i].pid)
                continue;
            alive[i] = false;
            left--;
            kids[i].pid = -1;   /* reaped; never signalled again */
            if (WIFSIGNALED (status))
                die ("%s was killed by signal %d", kids[i].name, WTERMSIG (status));
            if (WEXITSTATUS (status))
                die ("%s exited with status %d", kids[i].name, WEXITSTATUS (status));
        }
        if (stop_signal)
            die ("interrupted by signal %d", (int) stop_signal);
        if (left && bench_now () > deadline)
            die ("the phase did not finish within its time limit");
        if (left)
            usleep (5000);
    }
    nkids = 0;
}

typedef struct {
    char *v[40];
    int n;
} args_t;

static void arg (args_t *a, const char *fmt, ...) __attribute__ ((format (printf, 2, 3)));
static void arg (args_t *a, const char *fmt, ...)
{
    va_list ap;
    va_start (ap, fmt);
    if (a->n >= 38 || vasprintf (&a->v[a->n], fmt, ap) < 0)
        die ("out of memory");
    va_end (ap);
    a->v[++a->n] = NULL;
}

static void args_free (args_t *a)
{
    for (int i = 0; i < a->n; i++)
        free (a->v[i]);
    a->n = 0;
}

static void args_role (args_t *a, const opts_t *o, const char *role, const char *dir, uint64_t n,
                       bool store, bool random)
{
    arg (a, "%s", self_exe);
    arg (a, "%s", role);
    arg (a, "--dir=%s/%s", dir, role);
    arg (a, "--keys=%s/keys", tmpdir);
    arg (a, "--messages=%llu", (unsigned long long) n);
    arg (a, "--batch=%zu", o->batch);
    arg (a, "--window=%zu", o->window);
    arg (a, "--timeout=%g", o->timeout);
    if (!store)
        arg (a, "--no-store");
    if (random)
        arg (a, "--random-keys");
}

static json_t *load_result (const char *path, const char *name)
{
    json_error_t jerr;
    json_t *r = json_load_file (path, 0, &jerr);
    if (!json_is_object (r))
        die ("%s's result %s: %s", name, path, r ? "not an object" : jerr.text);
    return r;
}

static double num (json_t *o, const char *key)
{
    return json_number_value (json_object_get (o, key));
}

/* Entries of a named database (and its last key, big-endian) in a finished store. */
static uint64_t db_entries (const char *dir, const char *db, uint64_t *last)
{
    MDB_env *env;
    MDB_txn *txn;
    MDB_dbi dbi;
    MDB_stat s;
    MDB_cursor *cur;
    MDB_val k, v;
    int rc;
    if ((rc = mdb_env_create (&env)) || (rc = mdb_env_set_maxdbs (env, 2))
        || (rc = mdb_env_open (env, dir, MDB_RDONLY, 0600)) || (rc = mdb_txn_begin (env, NULL, MDB_RDONLY, &txn))
        || (rc = mdb_dbi_open (txn, db, 0, &dbi)) || (rc = mdb_stat (txn, dbi, &s))
        || (rc = mdb_cursor_open (txn, dbi, &cur)))
        die ("verify %s (%s): %s", dir, db, mdb_strerror (rc));
    *last = 0;
    if (mdb_cursor_get (cur, &k, &v, MDB_LAST) == 0 && k.mv_size == 8)
        *last = get_u64 (k.mv_data);
    mdb_cursor_close (cur);
    mdb_txn_abort (txn);
    mdb_env_close (env);
    return s.ms_entries;
}

static void expect_db (const char *dir, const char *role, const char *db, uint64_t want,
                       bool sequential)
{
    char path[1024];
    uint64_t last;
    snprintf (path, sizeof path, "%s/%s", dir, role);
    uint64_t got = db_entries (path, db, &last);
    if (got != want || (sequential && want && last != want))
        die ("verify: the %s's %s holds %llu entries (last key %llu), not %llu", role, db,
             (unsigned long long) got, (unsigned long long) last, (unsigned long long) want);
}

typedef struct {
    json_t *source, *relay, *sink, *json;   /* results of the roles; the phase's summary */
    double per_s;
} phase_t;

/* Runs one phase: sink, then relay (unless one_hop), then source; waits; verifies. */
static phase_t phase_run (const opts_t *o, const char *name, bool one_hop, bool random,
                          bool latency, uint64_t n)
{
    char dir[600], out[700], sink_ep[256], relay_ep[256];
    args_t a = {{0}, 0};
    bool store = !one_hop;
    phase_t ph = {0};
    snprintf (dir, sizeof dir, "%s/%s", tmpdir, name);
    if (mkdir (dir, 0700) != 0)
        die ("mkdir %s: %s", dir, strerror (errno));
    fprintf (stderr, "%s: %s: %llu message%s\n", who, name, (unsigned long long) n,
             n == 1 ? "" : "s");
    double deadline = bench_now () + o->timeout + 15;

    args_role (&a, o, "sink", dir, n, store, random);
    if (o->port)
        arg (&a, "--bind=tcp://127.0.0.1:%d", o->port);
    else
        arg (&a, "--bind=tcp://127.0.0.1:*");
    arg (&a, "--ready-fd=3");
    snprintf (out, sizeof out, "%s/sink.json", dir);
    spawn ("sink", a.v, out, sink_ep, sizeof sink_ep);
    args_free (&a);

    if (!one_hop) {
        args_role (&a, o, "relay", dir, n, store, random);
        if (o->port)
            arg (&a, "--bind=tcp://127.0.0.1:%d", o->port + 1);
        else
            arg (&a, "--bind=tcp://127.0.0.1:*");
        arg (&a, "--connect=%s", sink_ep);
        arg (&a, "--ready-fd=3");
        snprintf (out, sizeof out, "%s/relay.json", dir);
        spawn ("relay", a.v, out, relay_ep, sizeof relay_ep);
        args_free (&a);
    }

    args_role (&a, o, "source", dir, n, store, random);
    arg (&a, "--connect=%s", one_hop ? sink_ep : relay_ep);
    arg (&a, "--peer=%s", one_hop ? "sink" : "relay");
    if (latency)
        arg (&a, "--latency");
    snprintf (out, sizeof out, "%s/source.json", dir);
    spawn ("source", a.v, out, NULL, 0);
    args_free (&a);

    kids_wait (deadline);

    snprintf (out, sizeof out, "%s/source.json", dir);
    ph.source = load_result (out, "source");
    snprintf (out, sizeof out, "%s/sink.json", dir);
    ph.sink = load_result (out, "sink");
    if (!one_hop) {
        snprintf (out, sizeof out, "%s/relay.json", dir);
        ph.relay = load_result (out, "relay");
    }
    /* Every message arrived once, and each store holds exactly what it must. */
    if ((uint64_t) num (ph.sink, "applied") != n || num (ph.sink, "duplicates") != 0
        || (uint64_t) num (ph.source, "e2e_acked") != n)
        die ("verify %s: the sink applied %.0f of %llu (%.0f duplicates)", name,
             num (ph.sink, "applied"), (unsigned long long) n, num (ph.sink, "duplicates"));
    if (store) {
        expect_db (dir, "sink", "inbox", n, !random);
        expect_db (dir, "relay", "inbox", n, !random);
        expect_db (dir, "relay", "outbox", 0, false);
        expect_db (dir, "source", "outbox", 0, false);
    }

    double secs = num (ph.sink, "t_last") - num (ph.source, "t_start");
    double sink_secs = num (ph.sink, "t_last") - num (ph.sink, "t_first");
    ph.per_s = secs > 0 ? (double) n / secs : 0;
    ph.json = json_object ();
    json_object_set_new (ph.json, "messages", json_integer ((json_int_t) n));
    json_object_set_new (ph.json, "seconds", bench_num (secs, 4));
    json_object_set_new (ph.json, "per_s", bench_num (ph.per_s, 1));
    json_object_set_new (ph.json, "sink_window_per_s",
                         bench_num (sink_secs > 0 ? (double) n / sink_secs : 0, 1));
    if (store) {
        json_t *c = json_object ();
        const char *names[] = {"source", "relay", "sink"};
        json_t *rs[] = {ph.source, ph.relay, ph.sink};
        double total = 0;
        for (int i = 0; i < 3; i++) {
            double commits = num (rs[i], "commits");
            total += commits;
            json_object_set_new (c, names[i], json_pack ("{s:I,s:o,s:o,s:o}", "commits",
                                 (json_int_t) commits, "messages_per_commit",
                                 bench_num (commits > 0 ? (double) n / commits : 0, 1),
                                 "commit_ms_mean", json_copy (json_object_get (rs[i], "commit_ms_mean")),
                                 "commit_ms_max", json_copy (json_object_get (rs[i], "commit_ms_max"))));
        }
        json_object_set_new (c, "relay_trim_only_commits",
                             json_copy (json_object_get (ph.relay, "trim_only_commits")));
        json_object_set_new (ph.json, "commits", c);
        json_object_set_new (ph.json, "commits_per_message", bench_num (total / (double) n, 5));
        json_object_set_new (ph.json, "fsync_per_message",
                             bench_num (total * LMDB_SYNCS_PER_COMMIT / (double) n, 5));
        json_object_set_new (ph.json, "verified", json_true ());
    }
    if (latency)
        json_object_set_new (ph.json, "latency", json_copy (json_object_get (ph.source, "latency")));
    rm_tree (dir);   /* random keys take hundreds of megabytes */
    return ph;
}

static void phase_free (phase_t *ph)
{
    json_decref (ph->source), json_decref (ph->relay), json_decref (ph->sink);
}

static void keys_write (void)
{
    char path[600];
    snprintf (path, sizeof path, "%s/keys", tmpdir);
    int fd = open (path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0)
        die ("open %s: %s", path, strerror (errno));
    const char *names[] = {"source", "relay", "sink"};
    for (int i = 0; i < 3; i++) {
        char pub[41], sec[41];
        if (zmq_curve_keypair (pub, sec) != 0)
            die ("zmq_curve_keypair: %s (is libzmq built with CURVE?)", zmq_strerror (zmq_errno ()));
        dprintf (fd, "%s %s %s\n", names[i], pub, sec);
    }
    close (fd);
}

static int run (const opts_t *o)
{
    struct sigaction sa = {.sa_handler = on_signal};
    sigemptyset (&sa.sa_mask);
    sigaction (SIGINT, &sa, NULL);
    sigaction (SIGTERM, &sa, NULL);
    sigaction (SIGHUP, &sa, NULL);
    ssize_t len = readlink ("/proc/self/exe", self_exe, sizeof self_exe - 1);
    if (len <= 0)
        die ("readlink /proc/self/exe: %s", strerror (errno));
    self_exe[len] = 0;
    snprintf (tmpdir, sizeof tmpdir, "%s/xf-relay-baseline.XXXXXX", o->tmp);
    if (!mkdtemp (tmpdir)) {
        *tmpdir = 0;
        die ("mkdtemp in %s: %s", o->tmp, strerror (errno));
    }
    at_die = cleanup;
    keys_write ();

    phase_t hop = phase_run (o, "curve_one_hop", true, false, false, o->messages);
    phase_t thr = phase_run (o, "throughput", false, false, false, o->messages);
    phase_t rnd = phase_run (o, "random_keys", false, true, false, o->random_messages);
    phase_t lat = phase_run (o, "latency", false, false, true, o->round_trips + WARMUP);

    json_t *l = json_object_get (lat.source, "latency"), *commits = json_object ();
    json_t *tc = json_object_get (thr.json, "commits");
    const char *names[] = {"source", "relay", "sink"};
    for (int i = 0; i < 3; i++)
        json_object_set (commits, names[i],
                         json_object_get (json_object_get (tc, names[i]), "commits"));
    json_t *doc = json_object ();
    json_object_set_new (doc, "baseline", json_string ("relay"));
    json_object_set_new (doc, "messages", json_integer ((json_int_t) o->messages));
    json_object_set_new (doc, "payload_bytes", json_integer (PAYLOAD_BYTES));
    json_object_set_new (doc, "throughput_per_s", bench_num (thr.per_s, 1));
    json_object_set (doc, "latency_p50_us", json_object_get (l, "p50_us"));
    json_object_set (doc, "latency_p99_us", json_object_get (l, "p99_us"));
    json_object_set_new (doc, "random_keys_throughput_per_s", bench_num (rnd.per_s, 1));
    json_object_set_new (doc, "commits", commits);
    json_object_set (doc, "commits_per_message", json_object_get (thr.json, "commits_per_message"));
    json_object_set (doc, "fsync_per_message", json_object_get (thr.json, "fsync_per_message"));
    json_object_set_new (doc, "curve_one_hop_per_s", bench_num (hop.per_s, 1));
    json_object_set_new (doc, "throughput_vs_curve_one_hop", bench_num (bench_ratio (thr.per_s, hop.per_s), 4));
    json_object_set_new (doc, "random_vs_sequential", bench_num (bench_ratio (rnd.per_s, thr.per_s), 4));
    json_object_set_new (doc, "setup", json_pack (
        "{s:i,s:I,s:I,s:I,s:I,s:s,s:s,s:i,s:s}", "nproc", (int) bench_nproc (), "window",
        (json_int_t) o->window, "batch", (json_int_t) o->batch, "latency_round_trips",
        (json_int_t) o->round_trips, "random_keys_messages", (json_int_t) o->random_messages,
        "transport", "tcp 127.0.0.1, DEALER->ROUTER, CURVE, no ZAP, one I/O thread per process",
        "store", "LMDB default sync; relay puts inbox + outbox per message in one txn",
        "lmdb_syncs_per_commit", LMDB_SYNCS_PER_COMMIT, "tmp", o->tmp));
    json_t *phases = json_object ();
    json_object_set_new (phases, "curve_one_hop", hop.json);
    json_object_set_new (phases, "throughput", thr.json);
    json_object_set_new (phases, "random_keys", rnd.json);
    json_object_set_new (phases, "latency", lat.json);
    json_object_set_new (doc, "phases", phases);
    phase_free (&hop), phase_free (&thr), phase_free (&rnd), phase_free (&lat);

    at_die = NULL;
    cleanup ();
    print_json (doc);
    if (o->self_test)
        fprintf (stderr, "%s: self-test passed (every phase verified)\n", who);
    return 0;
}

/* ---------------------------------------------------------------- arguments */

static void usage (FILE *out)
{
    fprintf (out,
        "usage: bench_relay_baseline run [--messages N] [--round-trips M] [--random-messages N]\n"
        "                                [--window W] [--batch B] [--port P] [--tmp DIR]\n"
        "                                [--timeout S] [--quick]\n"
        "       bench_relay_baseline --self-test      (run --quick, exit 1 on any check)\n"
        "       bench_relay_baseline sink|relay|source --keys FILE [--dir DIR] [--bind EP]\n"
        "                                [--connect EP] [--peer NAME] [--messages N] [--latency]\n"
        "                                [--random-keys] [--no-store] [--ready-fd FD] ...\n"
        "  run                 the four phases, one JSON object on stdout\n"
        "  --messages N        messages per throughput phase (default 200000; --quick 20000)\n"
        "  --round-trips M     latency round trips, one in flight (default 2000; --quick 200)\n"
        "  --random-messages N messages in the random-keys phase (default: --messages)\n"
        "  --window W          unacknowledged messages the source may have (default 10000)\n"
        "  --batch B           messages drained per commit at most (default 1000)\n"
        "  --port P            sink on P, relay on P+1 (default: ephemeral ports)\n"
        "  --tmp DIR           where the temporary directory goes (default /tmp)\n"
        "  --timeout S         seconds a phase may take (default 600)\n");
}

static uint64_t parse_u64 (const char *name, const char *v, uint64_t lo, uint64_t hi)
{
    char *end;
    errno = 0;
    unsigned long long x = strtoull (v, &end, 10);
    if (errno || *end || !*v || x < lo || x > hi)
        die ("%s must be a whole number from %llu to %llu, not \"%s\"", name,
             (unsigned long long) lo, (unsigned long long) hi, v);
    return x;
}

/* argv[1] is the mode; --self-test is run --quick that says so when every check passed. */
static opts_t parse_args (int argc, char **argv, bool self_test)
{
    static const struct option lo[] = {
        {"messages", required_argument, NULL, 'n'}, {"round-trips", required_argument, NULL, 'm'},
        {"random-messages", required_argument, NULL, 'R'}, {"window", required_argument, NULL, 'w'},
        {"batch", required_argument, NULL, 'b'},     {"port", required_argument, NULL, 'p'},
        {"tmp", required_argument, NULL, 't'},       {"timeout", required_argument, NULL, 'T'},
        {"quick", no_argument, NULL, 'q'},           {"dir", required_argument, NULL, 'd'},
        {"bind", required_argument, NULL, 'B'},      {"connect", required_argument, NULL, 'c'},
        {"keys", required_argument, NULL, 'k'},      {"peer", required_argument, NULL, 'P'},
        {"latency", no_argument, NULL, 'l'},         {"random-keys", no_argument, NULL, 'r'},
        {"no-store", no_argument, NULL, 's'},        {"ready-fd", required_argument, NULL, 'f'},
        {"help", no_argument, NULL, 'h'},            {NULL, 0, NULL, 0},
    };
    opts_t o = {.bind = "tcp://127.0.0.1:*", .tmp = "/tmp", .window = 10000, .batch = 1000,
                .ready_fd = -1, .timeout = 600};
    bool n_set = false, m_set = false;
    int c;
    char *end;
    optind = 2;   /* argv[1] is the mode */
    while ((c = getopt_long (argc, argv, "", lo, NULL)) != -1) {
        switch (c) {
        case 'n': o.messages = parse_u64 ("--messages", optarg, 1, 100000000); n_set = true; break;
        case 'm': o.round_trips = parse_u64 ("--round-trips", optarg, 1, 10000000); m_set = true; break;
        case 'R': o.random_messages = parse_u64 ("--random-messages", optarg, 1, 100000000); break;
        case 'w': o.window = (size_t) parse_u64 ("--window", optarg, 1, 10000000); break;
        case 'b': o.batch = (size_t) parse_u64 ("--batch", optarg, 1, 100000); break;
        case 'p': o.port = (int) parse_u64 ("--port", optarg, 1, 65534); break;
        case 't': o.tmp = optarg; break;
        case 'T':
            o.timeout = strtod (optarg, &end);
            if (*end || !(o.timeout > 0 && o.timeout <= 86400))
                die ("--timeout must be seconds from 0 to 86400, not \"%s\"", optarg);
            break;
        case 'q': o.quick = true; break;
        case 'd': o.dir = optarg; break;
        case 'B': o.bind = optarg; break;
        case 'c': o.connect = optarg; break;
        case 'k': o.keys = optarg; break;
        case 'P': o.peer = optarg; break;
        case 'l': o.latency = true; break;
        case 'r': o.random_keys = true; break;
        case 's': o.no_store = true; break;
        case 'f': o.ready_fd = (int) parse_u64 ("--ready-fd", optarg, 0, 1024); break;
        case 'h': usage (stdout); exit (0);
        default: usage (stderr); exit (2);
        }
    }
    if (optind != argc) {
        usage (stderr);
        exit (2);
    }
    if (self_test)
        o.quick = o.self_test = true;
    if (!n_set)
        o.messages = o.quick ? 20000 : 200000;
    if (!m_set)
        o.round_trips = o.quick ? 200 : 2000;
    if (!o.random_messages)
        o.random_messages = o.messages;
    return o;
}

int main (int argc, char **argv)
{
    if (argc < 2) {
        usage (stderr);
        return 2;
    }
    const char *mode = argv[1];
    if (strcmp (mode, "--help") == 0 || strcmp (mode, "-h") == 0) {
        usage (stdout);
        return 0;
    }
    bool self_test = strcmp (mode, "--self-test") == 0;
    opts_t o = parse_args (argc, argv, self_test);
    if (self_test || strcmp (mode, "run") == 0)
        return run (&o);

    if (strcmp (mode, "sink") != 0 && strcmp (mode, "relay") != 0 && strcmp (mode, "source") != 0) {
        fprintf (stderr, "bench_relay_baseline: unknown mode \"%s\"\n", mode);
        usage (stderr);
        return 2;
    }
    static char name[64];
    snprintf (name, sizeof name, "bench_relay_baseline %s", mode);
    who = name;
    if (!o.keys)
        die ("--keys FILE is needed (run writes one)");
    if (!o.no_store && !o.dir)
        die ("--dir DIR is needed unless --no-store");
    if (strcmp (mode, "sink") == 0)
        return role_sink (&o);
    if (!o.connect)
        die ("--connect ENDPOINT is needed");
    if (strcmp (mode, "relay") == 0) {
        o.peer = o.peer ? o.peer : "sink";
        return role_relay (&o);
    }
    o.peer = o.peer ? o.peer : "relay";
    return role_source (&o);
}
