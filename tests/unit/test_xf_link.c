/* test_xf_link.c — the link protocol state machine: receiving (order, duplicates, gaps,
 * commit/abort), sending (numbering, window, acks, rewinds, refusals), restores (a peer's new
 * epoch, renumbering after this store's restore, what the peer no longer keeps), hellos (due,
 * answers, no ping-pong), liveness (down, keepalive, slow retries), and a seeded simulation of
 * two nodes over lossy, duplicating, order-keeping channels with connection drops, partitions and
 * crashes that proves exactly-once, in-order delivery with bounded memory. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "xf_link.h"
#include "xf_msg.h"

#define ME "411324"
#define PEER "411300"

static const xf_link_opts_t OPTS = {
    .window = 4, .hello_every_ms = 1000, .keepalive_ms = 5000, .timeout_ms = 30000,
};

static void assert_msg_has (const xf_err_t *err, const char *phrase)
{
    if (!strstr (err->msg, phrase))
        fail_msg ("error message \"%s\" does not mention \"%s\"", err->msg, phrase);
}

static Xf__Hello hello_from (const char *code, uint64_t applied, bool reply)
{
    Xf__Hello h = XF__HELLO__INIT;
    h.min_version = XF_LINK_VERSION_MIN_SPOKEN;
    h.max_version = XF_LINK_VERSION_MAX_SPOKEN;
    h.code = (char *) code;
    h.applied = applied;
    h.reply = reply;
    return h;
}

/* A link that exchanged hellos with PEER at now_ms: up, no hello due. */
static void up_link (xf_link_t *l, uint64_t applied, uint64_t next_seq, uint64_t acked,
                     uint64_t peer_applied, int64_t now_ms)
{
    xf_err_t err = {0, ""};
    bool reply;
    xf_link_init (l, PEER, &OPTS, applied, next_seq, acked);
    assert_true (xf_link_hello_due (l, now_ms, &reply));
    assert_false (reply);
    xf_link_hello_sent (l, now_ms);
    Xf__Hello h = hello_from (PEER, peer_applied, true);
    assert_int_equal (xf_link_on_hello (l, &h, PEER, now_ms, &err), XF_OK);
    assert_int_equal (l->state, XF_LINK_UP);
    assert_false (xf_link_hello_due (l, now_ms, &reply));
}

/* ---------------------------------------------------------------- receiving */

static void test_receive_in_order_and_duplicates (void **state)
{
    (void) state;
    xf_link_t l;
    xf_link_init (&l, PEER, &OPTS, 0, 1, 0);
    assert_int_equal (xf_link_receive (&l, 1, 10), XF_LINK_APPLY);
    assert_int_equal (l.pending, 1);
    assert_int_equal (xf_link_receive (&l, 2, 10), XF_LINK_APPLY);
    assert_int_equal (xf_link_receive (&l, 3, 10), XF_LINK_APPLY);
    assert_int_equal (l.pending, 3);
    assert_int_equal (l.applied, 0);   /* nothing committed yet */
    assert_int_equal (xf_link_receive (&l, 3, 11), XF_LINK_DUPLICATE);
    assert_int_equal (xf_link_receive (&l, 1, 11), XF_LINK_DUPLICATE);
    assert_int_equal (l.pending, 3);
    assert_int_equal (l.duplicates, 2);
    assert_int_equal (l.last_heard_ms, 11);

    /* a link that resumes from a stored position */
    xf_link_init (&l, PEER, &OPTS, 41, 1, 0);
    assert_int_equal (xf_link_receive (&l, 41, 0), XF_LINK_DUPLICATE);
    assert_int_equal (xf_link_receive (&l, 1, 0), XF_LINK_DUPLICATE);
    assert_int_equal (xf_link_receive (&l, 42, 0), XF_LINK_APPLY);
    assert_int_equal (l.pending, 42);
}

static void test_receive_gap_asks_for_a_hello (void **state)
{
    (void) state;
    xf_link_t l;
    bool reply;
    up_link (&l, 5, 1, 0, 0, 100);
    assert_int_equal (xf_link_receive (&l, 6, 200), XF_LINK_APPLY);
    assert_false (xf_link_hello_due (&l, 200, &reply));
    assert_int_equal (xf_link_receive (&l, 8, 200), XF_LINK_GAP);
    assert_int_equal (l.pending, 6);   /* the gap changes no position */
    assert_int_equal (l.gaps, 1);
    assert_true (xf_link_hello_due (&l, 200, &reply));
    assert_false (reply);              /* our own question, not an answer */
    assert_int_equal (xf_link_receive (&l, 7, 201), XF_LINK_APPLY);   /* the rewind */
    assert_int_equal (xf_link_receive (&l, 8, 201), XF_LINK_APPLY);

    /* a gap while an answer is due turns it into a question */
    up_link (&l, 0, 1, 0, 0, 100);
    Xf__Hello h = hello_from (PEER, 0, false);
    xf_err_t err = {0, ""};
    assert_int_equal (xf_link_on_hello (&l, &h, PEER, 150, &err), XF_OK);
    assert_true (xf_link_hello_due (&l, 150, &reply));
    assert_true (reply);
    assert_int_equal (xf_link_receive (&l, 3, 160), XF_LINK_GAP);
    assert_true (xf_link_hello_due (&l, 160, &reply));
    assert_false (reply);
}

static void test_commit_and_abort (void **state)
{
    (void) state;
    xf_link_t l;
    xf_link_init (&l, PEER, &OPTS, 10, 1, 0);
    assert_int_equal (xf_link_ack_value (&l), 10);
    assert_int_equal (xf_link_receive (&l, 11, 0), XF_LINK_APPLY);
    assert_int_equal (xf_link_receive (&l, 12, 0), XF_LINK_APPLY);
    assert_int_equal (xf_link_ack_value (&l), 10);   /* not durable yet: not acknowledged */
    xf_link_committed (&l);
    assert_int_equal (l.applied, 12);
    assert_int_equal (xf_link_ack_value (&l), 12);

    assert_int_equal (xf_link_receive (&l, 13, 0), XF_LINK_APPLY);
    assert_int_equal (xf_link_receive (&l, 14, 0), XF_LINK_APPLY);
    xf_link_aborted (&l);
    assert_int_equal (l.pending, 12);
    assert_int_equal (l.applied, 12);
    assert_int_equal (xf_link_ack_value (&l), 12);
    assert_int_equal (xf_link_receive (&l, 13, 0), XF_LINK_APPLY);   /* applied again */
    assert_int_equal (xf_link_receive (&l, 14, 0), XF_LINK_APPLY);
    assert_int_equal (xf_link_receive (&l, 12, 0), XF_LINK_DUPLICATE);
    xf_link_committed (&l);
    assert_int_equal (xf_link_ack_value (&l), 14);
}

/* ---------------------------------------------------------------- sending */

static void test_queue_numbers_from_next_seq (void **state)
{
    (void) state;
    xf_link_t l;
    xf_link_init (&l, PEER, &OPTS, 0, 0, 0);   /* 0 reads as "never carried anything" */
    assert_int_equal (xf_link_queue (&l), 1);
    assert_int_equal (xf_link_queue (&l), 2);
    assert_int_equal (xf_link_backlog (&l), 2);
    xf_link_init (&l, PEER, &OPTS, 0, 17, 12);
    assert_int_equal (xf_link_backlog (&l), 4);
    assert_int_equal (xf_link_queue (&l), 17);
    assert_int_equal (l.next_seq, 18);
    assert_int_equal (xf_link_backlog (&l), 5);
}

static void test_nothing_sent_while_down (void **state)
{
    (void) state;
    xf_link_t l;
    uint64_t first, last;
    xf_link_init (&l, PEER, &OPTS, 0, 1, 0);
    for (int i = 0; i < 3; i++)
        xf_link_queue (&l);
    assert_int_equal (l.state, XF_LINK_DOWN);
    assert_false (xf_link_to_send (&l, &first, &last));
    assert_false (xf_link_ack_due (&l, 1000000));   /* no acks either: hellos carry positions */

    up_link (&l, 0, 4, 0, 0, 0);
    assert_true (xf_link_to_send (&l, &first, &last));
    assert_true (xf_link_tick (&l, OPTS.timeout_ms + 1));
    assert_false (xf_link_to_send (&l, &first, &last));
}

static void test_window_and_acks (void **state)
{
    (void) state;
    xf_link_t l;
    xf_err_t err = {0, ""};
    uint64_t first, last;
    bool adv;
    xf_link_init (&l, PEER, &OPTS, 0, 1, 0);
    for (int i = 0; i < 10; i++)
        assert_int_equal (xf_link_queue (&l), (uint64_t) i + 1);
    up_link (&l, 0, 11, 0, 0, 0);   /* re-init with the same positions, then hellos */
    assert_true (xf_link_to_send (&l, &first, &last));
    assert_int_equal (first, 1);
    assert_int_equal (last, 4);    /* acked + window */
    xf_link_sent (&l, 2, 5);        /* only part of it went out */
    assert_int_equal (l.sent, 2);
    assert_int_equal (l.last_sent_ms, 5);
    assert_true (xf_link_to_send (&l, &first, &last));
    assert_int_equal (first, 3);
    assert_int_equal (last, 4);
    xf_link_sent (&l, 4, 6);
    assert_false (xf_link_to_send (&l, &first, &last));   /* the window is full */

    assert_int_equal (xf_link_on_ack (&l, 3, &adv, &err), XF_OK);
    assert_true (adv);
    assert_int_equal (l.acked, 3);
    assert_int_equal (xf_link_backlog (&l), 7);
    assert_true (xf_link_to_send (&l, &first, &last));
    assert_int_equal (first, 5);
    assert_int_equal (last, 7);
    xf_link_sent (&l, 7, 7);

    assert_int_equal (xf_link_on_ack (&l, 3, &adv, &err), XF_OK);   /* old news */
    assert_false (adv);
    assert_int_equal (xf_link_on_ack (&l, 2, &adv, &err), XF_OK);   /* older still */
    assert_false (adv);
    assert_int_equal (l.acked, 3);
    assert_int_equal (l.sent, 7);

    /* an ack past what was sent (the peer got it over an earlier connection) skips ahead */
    assert_int_equal (xf_link_on_ack (&l, 9, &adv, &err), XF_OK);
    assert_true (adv);
    assert_int_equal (l.sent, 9);
    assert_true (xf_link_to_send (&l, &first, &last));
    assert_int_equal (first, 10);
    assert_int_equal (last, 10);   /* the window is past what was queued */
    xf_link_sent (&l, 10, 8);
    assert_false (xf_link_to_send (&l, &first, &last));
    assert_int_equal (xf_link_on_ack (&l, 10, &adv, &err), XF_OK);
    assert_true (adv);
    assert_int_equal (xf_link_backlog (&l), 0);
    assert_false (xf_link_to_send (&l, &first, &last));
    assert_int_equal (xf_link_queue (&l), 11);
    assert_true (xf_link_to_send (&l, &first, &last));
    assert_int_equal (first, 11);
    assert_int_equal (last, 11);
}

static void test_ack_beyond_queued_refused (void **state)
{
    (void) state;
    xf_link_t l;
    xf_err_t err = {0, ""};
    bool adv = true;
    up_link (&l, 0, 6, 2, 2, 0);   /* 5 queued, 2 acknowledged */
    assert_int_equal (xf_link_on_ack (&l, 6, &adv, &err), XF_EINVAL);
    assert_false (adv);
    assert_int_equal (err.code, XF_EINVAL);
    assert_msg_has (&err, "seq 6");
    assert_msg_has (&err, PEER);
    assert_int_equal (l.acked, 2);
    assert_int_equal (xf_link_on_ack (&l, UINT64_MAX, &adv, &err), XF_EINVAL);
    assert_int_equal (l.acked, 2);
    assert_int_equal (xf_link_on_ack (&l, 5, &adv, &err), XF_OK);   /* the last queued is fine */
    assert_true (adv);
    assert_int_equal (l.acked, 5);
}

static void test_hello_rewinds_to_peer_position (void **state)
{
    (void) state;
    xf_link_t l;
    xf_err_t err = {0, ""};
    uint64_t first, last;
    bool adv;
    xf_link_opts_t o = OPTS;
    o.window = 100;
    xf_link_init (&l, PEER, &o, 0, 21, 0);   /* 20 queued */
    Xf__Hello h = hello_from (PEER, 0, true);
    assert_int_equal (xf_link_on_hello (&l, &h, PEER, 0, &err), XF_OK);
    assert_true (xf_link_to_send (&l, &first, &last));
    xf_link_sent (&l, last, 1);
    assert_int_equal (xf_link_on_ack (&l, 5, &adv, &err), XF_OK);
    assert_int_equal (l.sent, 20);
    assert_false (xf_link_to_send (&l, &first, &last));

    /* the peer says it applied 12: 13.. went missing */
    h = hello_from (PEER, 12, false);
    assert_int_equal (xf_link_on_hello (&l, &h, PEER, 2, &err), XF_OK);
    assert_int_equal (l.acked, 12);   /* what it applied is acknowledged */
    assert_int_equal (l.sent, 12);
    assert_true (xf_link_to_send (&l, &first, &last));
    assert_int_equal (first, 13);
    assert_int_equal (last, 20);
    xf_link_sent (&l, 20, 3);

    /* a stale hello (applied below what was acknowledged since) rewinds to the ack */
    h = hello_from (PEER, 7, true);
    assert_int_equal (xf_link_on_hello (&l, &h, PEER, 4, &err), XF_OK);
    assert_int_equal (l.acked, 12);
    assert_int_equal (l.sent, 12);
}

static void test_hello_from_a_restored_backup_refused (void **state)
{
    (void) state;
    xf_link_t l;
    xf_err_t err = {0, ""};
    uint64_t first, last;
    up_link (&l, 0, 6, 0, 0, 0);   /* 5 queued */
    Xf__Hello h = hello_from (PEER, 6, false);   /* "applied 6" of our 5 */
    assert_int_equal (xf_link_on_hello (&l, &h, PEER, 10, &err), XF_ESTATE);
    assert_int_equal (err.code, XF_ESTATE);
    assert_msg_has (&err, "backup");
    assert_msg_has (&err, "6");
    assert_msg_has (&err, PEER);
    assert_int_equal (l.state, XF_LINK_REFUSED);
    assert_int_equal (l.rejected, 1);
    assert_int_equal (l.acked, 0);
    assert_false (xf_link_to_send (&l, &first, &last));
    assert_false (xf_link_ack_due (&l, 100000));

    xf_link_init (&l, PEER, &OPTS, 0, 1, 0);   /* nothing ever queued: applied 1 is impossible */
    h = hello_from (PEER, 1, false);
    assert_int_equal (xf_link_on_hello (&l, &h, PEER, 10, &err), XF_ESTATE);
    assert_int_equal (l.state, XF_LINK_REFUSED);
}

static void test_hello_from_wrong_code_refused (void **state)
{
    (void) state;
    xf_link_t l;
    xf_err_t err = {0, ""};
    uint64_t first, last;
    xf_link_init (&l, PEER, &OPTS, 0, 3, 0);
    Xf__Hello h = hello_from ("411399", 0, false);
    assert_int_equal (xf_link_on_hello (&l, &h, PEER, 10, &err), XF_EPERM);
    assert_int_equal (err.code, XF_EPERM);
    assert_msg_has (&err, "411399");
    assert_msg_has (&err, PEER);
    assert_int_equal (l.state, XF_LINK_REFUSED);
    assert_int_equal (l.rejected, 1);
    assert_false (xf_link_to_send (&l, &first, &last));

    /* an up link that hears an impostor is refused too */
    up_link (&l, 0, 3, 0, 0, 0);
    assert_int_equal (xf_link_on_hello (&l, &h, PEER, 10, &err), XF_EPERM);
    assert_int_equal (l.state, XF_LINK_REFUSED);

    /* NULL expected code: any identity (the daemon checks it elsewhere) */
    xf_link_init (&l, PEER, &OPTS, 0, 3, 0);
    assert_int_equal (xf_link_on_hello (&l, &h, NULL, 10, &err), XF_OK);
    assert_int_equal (l.state, XF_LINK_UP);
}

static void test_hello_version_mismatch_refused (void **state)
{
    (void) state;
    xf_link_t l;
    xf_err_t err = {0, ""};
    char ours[32];
    snprintf (ours, sizeof ours, "%d..%d", XF_LINK_VERSION_MIN_SPOKEN, XF_LINK_VERSION_MAX_SPOKEN);

    xf_link_init (&l, PEER, &OPTS, 0, 1, 0);
    Xf__Hello h = hello_from (PEER, 0, false);
    h.min_version = XF_LINK_VERSION_MAX_SPOKEN + 1;
    h.max_version = XF_LINK_VERSION_MAX_SPOKEN + 2;
    char theirs[32];
    snprintf (theirs, sizeof theirs, "%u..%u", h.min_version, h.max_version);
    assert_int_equal (xf_link_on_hello (&l, &h, PEER, 10, &err), XF_EVERSION);
    assert_int_equal (err.code, XF_EVERSION);
    assert_msg_has (&err, theirs);
    assert_msg_has (&err, ours);
    assert_int_equal (l.state, XF_LINK_REFUSED);

    /* an older peer */
    xf_link_init (&l, PEER, &OPTS, 0, 1, 0);
    h.min_version = 0;
    h.max_version = 0;
    assert_int_equal (xf_link_on_hello (&l, &h, PEER, 10, &err), XF_EVERSION);
    assert_msg_has (&err, "0..0");
    assert_msg_has (&err, ours);
    assert_int_equal (l.state, XF_LINK_REFUSED);

    /* overlapping ranges are fine */
    xf_link_init (&l, PEER, &OPTS, 0, 1, 0);
    h.min_version = 0;
    h.max_version = XF_LINK_VERSION_MAX_SPOKEN + 5;
    assert_int_equal (xf_link_on_hello (&l, &h, PEER, 10, &err), XF_OK);
    assert_int_equal (l.state, XF_LINK_UP);
}

/* ---------------------------------------------------------------- restores: epochs */

/* A hello from PEER that also carries its store's epoch and the lowest of its seqs for us it
 * still holds (first_kept). */
static Xf__Hello hello_ex (uint64_t applied, bool reply, uint64_t epoch, uint64_t first_kept)
{
    Xf__Hello h = hello_from (PEER, applied, reply);
    h.epoch = epoch;
    h.first_kept = first_kept;
    return h;
}

/* A peer restored from a backup (a higher epoch) is believed below what it acknowledged:
 * everything after its applied position goes again. The same position again, or a lower
 * epoch, is a stale hello. */
/* Several envelopes in a frame only with a peer that speaks link version 2: a version 1 node
 * (an older build) gets one per frame, as before; a newer one speaks 2 with us. */
static void test_batch_follows_the_peer_version (void **state)
{
    (void) state;
    xf_link_t l;
    xf_err_t err = {0, ""};
    xf_link_init (&l, PEER, &OPTS, 0, 1, 0);
    assert_int_equal (xf_link_batch (&l), 1);   /* nothing heard yet */
    assert_int_equal (l.version, 1);
    struct { uint32_t min, max, version, batch; } cases[] = {
        {1, 1, 1, 1},
        {1, 2, 2, XF_LINK_BATCH_MAX},
        {2, 7, 2, XF_LINK_BATCH_MAX},
        {1, 1, 1, 1},                  /* the peer was downgraded: its next hello says so */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        Xf__Hello h = hello_from (PEER, 0, false);
        h.min_version = cases[i].min;
        h.max_version = cases[i].max;
        assert_int_equal (xf_link_on_hello (&l, &h, PEER, 10, &err), XF_OK);
        assert_int_equal (l.version, cases[i].version);
        assert_int_equal (xf_link_batch (&l), cases[i].batch);
    }
    /* this side held to version 1 ([debug] link_version, as an older build): one a frame */
    xf_link_opts_t old = OPTS;
    old.max_version = 1;
    xf_link_init (&l, PEER, &old, 0, 1, 0);
    assert_int_equal (xf_link_max_version (&l), 1);
    Xf__Hello h = hello_from (PEER, 0, false);
    assert_int_equal (xf_link_on_hello (&l, &h, PEER, 10, &err), XF_OK);
    assert_int_equal (l.version, 1);
    assert_int_equal (xf_link_batch (&l), 1);
}

static void test_hello_new_epoch_rewinds_below_acked (void **state)
{
    (void) state;
    xf_link_t l;
    xf_err_t err = {0, ""};
    uint64_t first, last;
    bool adv;
    xf_link_opts_t o = OPTS;
    o.window = 100;
    xf_link_init (&l, PEER, &o, 0, 21, 0);   /* 20 queued */
    Xf__Hello h = hello_ex (0, true, 0, 0);
    assert_int_equal (xf_link_on_hello (&l, &h, PEER, 0, &err), XF_OK);
    assert_false (l.peer_restored);           /* epoch 0 is not new */
    assert_int_equal (l.peer_epoch, 0);
    assert_true (xf_link_to_send (&l, &first, &last));
    xf_link_sent (&l, last, 1);
    assert_int_equal (xf_link_on_ack (&l, 12, &adv, &err), XF_OK);
    assert_int_equal (l.acked, 12);
    assert_int_equal (l.sent, 20);

    /* restored: epoch 1, it applied only 5 of ours */
    h = hello_ex (5, false, 1, 0);
    assert_int_equal (xf_link_on_hello (&l, &h, PEER, 2, &err), XF_OK);
    assert_int_equal (l.state, XF_LINK_UP);
    assert_true (l.peer_restored);
    assert_int_equal (l.peer_epoch, 1);
    assert_int_equal (l.acked, 5);
    assert_int_equal (l.sent, 5);
    assert_int_equal (l.next_seq, 21);        /* our numbering is not touched */
    assert_int_equal (xf_link_backlog (&l), 15);
    assert_true (xf_link_to_send (&l, &first, &last));
    assert_int_equal (first, 6);
    assert_int_equal (last, 20);
    xf_link_sent (&l, 20, 3);
    assert_int_equal (xf_link_on_ack (&l, 9, &adv, &err), XF_OK);
    assert_true (adv);

    /* the same hello again (an old one, or a retry): stale, no rewind below the ack */
    h = hello_ex (5, true, 1, 0);
    assert_int_equal (xf_link_on_hello (&l, &h, PEER, 4, &err), XF_OK);
    assert_false (l.peer_restored);
    assert_int_equal (l.peer_epoch, 1);
    assert_int_equal (l.acked, 9);
    assert_int_equal (l.sent, 9);

    /* a lower epoch (a hello from before the restore) is stale too */
    h = hello_ex (2, true, 0, 0);
    assert_int_equal (xf_link_on_hello (&l, &h, PEER, 5, &err), XF_OK);
    assert_false (l.peer_restored);
    assert_int_equal (l.peer_epoch, 1);       /* the highest seen stays */
    assert_int_equal (l.acked, 9);
    assert_int_equal (l.sent, 9);

    /* the same epoch above the ack advances it, as always */
    h = hello_ex (14, true, 1, 0);
    assert_int_equal (xf_link_on_hello (&l, &h, PEER, 6, &err), XF_OK);
    assert_false (l.peer_restored);
    assert_int_equal (l.acked, 14);
    assert_int_equal (l.sent, 14);

    /* restored again, from a backup newer than what it acknowledged: believed as well */
    h = hello_ex (16, true, 3, 0);
    assert_int_equal (xf_link_on_hello (&l, &h, PEER, 7, &err), XF_OK);
    assert_true (l.peer_restored);
    assert_int_equal (l.peer_epoch, 3);
    assert_int_equal (l.acked, 16);
    /* and to nothing at all */
    h = hello_ex (0, true, 4, 0);
    assert_int_equal (xf_link_on_hello (&l, &h, PEER, 8, &err), XF_OK);
    assert_true (l.peer_restored);
    assert_int_equal (l.acked, 0);
    assert_int_equal (l.sent, 0);
    assert_int_equal (xf_link_backlog (&l), 20);

    /* a peer_epoch loaded from the store: the peer's epoch equal to it is not a restore */
    xf_link_init (&l, PEER, &o, 0, 21, 12);
    l.peer_epoch = 2;
    h = hello_ex (5, true, 2, 0);
    assert_int_equal (xf_link_on_hello (&l, &h, PEER, 9, &err), XF_OK);
    assert_false (l.peer_restored);
    assert_int_equal (l.acked, 12);
    h = hello_ex (5, true, 1, 0);
    assert_int_equal (xf_link_on_hello (&l, &h, PEER, 9, &err), XF_OK);
    assert_false (l.peer_restored);
    assert_int_equal (l.acked, 12);
    assert_int_equal (l.peer_epoch, 2);

    /* a refused hello (beyond what was queued) changes no epoch */
    h = hello_ex (40, true, 7, 0);
    assert_int_equal (xf_link_on_hello (&l, &h, PEER, 10, &err), XF_ESTATE);
    assert_int_equal (l.peer_epoch, 2);
    assert_int_equal (l.acked, 12);
}

/* ---------------------------------------------------------------- restores: this store */

/* This store was restored from a backup taken when next_seq was 6; 2 envelopes (6, 7) were
 * queued since. */
static void restored_link (xf_link_t *l)
{
    xf_link_opts_t o = OPTS;
    o.window = 100;
    xf_link_init (l, PEER, &o, 3, 8, 4);
    l->restored = 6;
}

static void test_hello_after_restore_renumbers (void **state)
{
    (void) state;
    xf_link_t l;
    xf_err_t err = {0, ""};
    uint64_t first, last;

    /* not restored: a peer that applied more than was ever queued is refused */
    xf_link_init (&l, PEER, &OPTS, 3, 8, 4);
    Xf__Hello h = hello_ex (9, false, 0, 0);
    assert_int_equal (xf_link_on_hello (&l, &h, PEER, 10, &err), XF_ESTATE);
    assert_int_equal (l.state, XF_LINK_REFUSED);

    /* restored: the old store sent up to 9 after the backup; ours since the restore follow */
    restored_link (&l);
    assert_int_equal (xf_link_on_hello (&l, &h, PEER, 10, &err), XF_OK);
    assert_int_equal (l.state, XF_LINK_UP);
    assert_int_equal (l.renumber_from, 6);
    assert_int_equal (l.renumber_to, 10);
    assert_int_equal (l.next_seq, 12);        /* 10 and 11: the 2 queued since the restore */
    assert_int_equal (l.acked, 9);
    assert_int_equal (l.sent, 9);
    assert_int_equal (xf_link_backlog (&l), 2);
    assert_true (xf_link_to_send (&l, &first, &last));
    assert_int_equal (first, 10);
    assert_int_equal (last, 11);
    assert_int_equal (l.applied, 3);          /* our own position is not touched */
    assert_int_equal (xf_link_queue (&l), 12);

    /* applied exactly the restore mark: the old seq 6 is not our new 6 */
    restored_link (&l);
    h = hello_ex (6, true, 0, 0);
    assert_int_equal (xf_link_on_hello (&l, &h, PEER, 10, &err), XF_OK);
    assert_int_equal (l.renumber_from, 6);
    assert_int_equal (l.renumber_to, 7);
    assert_int_equal (l.next_seq, 9);
    assert_int_equal (l.acked, 6);

    /* far beyond: still believed after a restore */
    restored_link (&l);
    h = hello_ex (1000, true, 0, 0);
    assert_int_equal (xf_link_on_hello (&l, &h, PEER, 10, &err), XF_OK);
    assert_int_equal (l.renumber_from, 6);
    assert_int_equal (l.renumber_to, 1001);
    assert_int_equal (l.next_seq, 1003);
    assert_int_equal (l.acked, 1000);

    /* nothing queued since the restore: numbering starts after the peer's position */
    restored_link (&l);
    l.next_seq = 6;
    h = hello_ex (9, true, 0, 0);
    assert_int_equal (xf_link_on_hello (&l, &h, PEER, 10, &err), XF_OK);
    assert_int_equal (l.renumber_from, 6);
    assert_int_equal (l.renumber_to, 10);
    assert_int_equal (l.next_seq, 10);
    assert_false (xf_link_to_send (&l, &first, &last));
}

static void test_hello_after_restore_below_mark (void **state)
{
    (void) state;
    xf_link_t l;
    xf_err_t err = {0, ""};
    uint64_t first, last;

    /* the peer applied what the backup held (up to 5), or less: nothing to renumber */
    static const uint64_t applied[] = {5, 4, 2, 0};
    for (size_t i = 0; i < sizeof applied / sizeof applied[0]; i++) {
        restored_link (&l);
        l.renumber_from = 99;   /* left over: every hello says afresh */
        l.renumber_to = 99;
        Xf__Hello h = hello_ex (applied[i], true, 0, 0);
        assert_int_equal (xf_link_on_hello (&l, &h, PEER, 10, &err), XF_OK);
        assert_int_equal (l.state, XF_LINK_UP);
        assert_int_equal (l.renumber_from, 0);
        assert_int_equal (l.renumber_to, 0);
        assert_int_equal (l.next_seq, 8);
        assert_int_equal (l.acked, applied[i] > 4 ? applied[i] : 4);
        assert_true (xf_link_to_send (&l, &first, &last));
        assert_int_equal (first, l.acked + 1);
        assert_int_equal (last, 7);
    }

    /* between the mark and next_seq: the new 6 and 7 are renumbered after the peer's */
    restored_link (&l);
    Xf__Hello h = hello_ex (7, true, 0, 0);
    assert_int_equal (xf_link_on_hello (&l, &h, PEER, 10, &err), XF_OK);
    assert_int_equal (l.renumber_from, 6);
    assert_int_equal (l.renumber_to, 8);
    assert_int_equal (l.next_seq, 10);

    /* once the caller cleared the mark, a later hello renumbers nothing */
    l.restored = 0;
    l.renumber_from = l.renumber_to = 0;
    h = hello_ex (7, true, 0, 0);
    assert_int_equal (xf_link_on_hello (&l, &h, PEER, 11, &err), XF_OK);
    assert_int_equal (l.renumber_from, 0);
    assert_int_equal (l.next_seq, 10);
}

/* ---------------------------------------------------------------- restores: lost by the peer */

static void test_hello_first_kept_beyond_applied (void **state)
{
    (void) state;
    xf_link_t l;
    xf_err_t err = {0, ""};
    bool reply;

    /* we applied 5 of the peer's; it keeps only 9 and after: 6..8 are lost */
    up_link (&l, 5, 1, 0, 0, 0);
    Xf__Hello h = hello_ex (0, true, 0, 9);
    assert_int_equal (xf_link_on_hello (&l, &h, PEER, 10, &err), XF_OK);
    assert_int_equal (l.state, XF_LINK_UP);
    assert_int_equal (l.lost_from, 6);
    assert_int_equal (l.lost_to, 8);
    assert_int_equal (l.applied, 8);
    assert_int_equal (l.pending, 8);
    assert_int_equal (xf_link_ack_value (&l), 8);
    assert_true (xf_link_hello_due (&l, 10, &reply));   /* the peer must hear where we are */
    assert_false (reply);
    assert_int_equal (xf_link_receive (&l, 9, 11), XF_LINK_APPLY);
    assert_int_equal (xf_link_receive (&l, 7, 11), XF_LINK_DUPLICATE);

    /* also when the peer's hello was a question: ours is not a mere answer */
    up_link (&l, 5, 1, 0, 0, 0);
    h = hello_ex (0, false, 0, 7);
    assert_int_equal (xf_link_on_hello (&l, &h, PEER, 10, &err), XF_OK);
    assert_int_equal (l.lost_from, 6);
    assert_int_equal (l.lost_to, 6);
    assert_int_equal (l.applied, 6);
    assert_true (xf_link_hello_due (&l, 10, &reply));
    assert_false (reply);

    /* … and when an answer was already due */
    up_link (&l, 5, 1, 0, 0, 0);
    h = hello_ex (0, false, 0, 0);
    assert_int_equal (xf_link_on_hello (&l, &h, PEER, 10, &err), XF_OK);
    assert_true (xf_link_hello_due (&l, 10, &reply));
    assert_true (reply);
    h = hello_ex (0, true, 0, 20);
    assert_int_equal (xf_link_on_hello (&l, &h, PEER, 11, &err), XF_OK);
    assert_int_equal (l.lost_from, 6);
    assert_int_equal (l.lost_to, 19);
    assert_true (xf_link_hello_due (&l, 11, &reply));
    assert_false (reply);

    /* first_kept 0 (not said), at applied + 1, or below: nothing lost, nothing moves */
    static const uint64_t fine[] = {0, 1, 5, 6};
    for (size_t i = 0; i < sizeof fine / sizeof fine[0]; i++) {
        up_link (&l, 5, 1, 0, 0, 0);
        l.lost_from = l.lost_to = 77;   /* left over: every hello says afresh */
        h = hello_ex (0, true, 0, fine[i]);
        assert_int_equal (xf_link_on_hello (&l, &h, PEER, 10, &err), XF_OK);
        assert_int_equal (l.lost_from, 0);
        assert_int_equal (l.lost_to, 0);
        assert_int_equal (l.applied, 5);
        assert_int_equal (l.pending, 5);
        assert_false (xf_link_hello_due (&l, 10, &reply));
        assert_int_equal (xf_link_receive (&l, 6, 11), XF_LINK_APPLY);
    }
}

/* ---------------------------------------------------------------- hellos */

static void test_hello_due_at_init_and_while_down (void **state)
{
    (void) state;
    xf_link_t l;
    bool reply = true;
    xf_link_init (&l, PEER, &OPTS, 3, 1, 0);
    assert_true (xf_link_hello_due (&l, 50000, &reply));
    assert_false (reply);
    xf_link_hello_sent (&l, 50000);
    assert_false (xf_link_hello_due (&l, 50000, &reply));
    assert_false (xf_link_hello_due (&l, 50000 + OPTS.hello_every_ms - 1, &reply));
    assert_true (xf_link_hello_due (&l, 50000 + OPTS.hello_every_ms, &reply));
    assert_false (reply);
    xf_link_hello_sent (&l, 50000 + OPTS.hello_every_ms);
    assert_false (xf_link_hello_due (&l, 50000 + 2 * OPTS.hello_every_ms - 1, &reply));
    assert_true (xf_link_hello_due (&l, 50000 + 2 * OPTS.hello_every_ms, &reply));

    /* once up, no periodic hellos */
    up_link (&l, 0, 1, 0, 0, 50000);
    assert_false (xf_link_hello_due (&l, 50000 + 10 * OPTS.hello_every_ms, &reply));
}

static void test_hello_answers (void **state)
{
    (void) state;
    xf_link_t l;
    xf_err_t err = {0, ""};
    bool reply;
    xf_link_init (&l, PEER, &OPTS, 0, 1, 0);
    xf_link_hello_sent (&l, 0);

    Xf__Hello h = hello_from (PEER, 0, false);   /* the peer asks */
    assert_int_equal (xf_link_on_hello (&l, &h, PEER, 10, &err), XF_OK);
    assert_int_equal (l.state, XF_LINK_UP);
    assert_int_equal (l.ups, 1);
    assert_true (xf_link_hello_due (&l, 10, &reply));
    assert_true (reply);
    xf_link_hello_sent (&l, 10);
    assert_false (xf_link_hello_due (&l, 10, &reply));

    h = hello_from (PEER, 0, true);              /* the peer answers */
    assert_int_equal (xf_link_on_hello (&l, &h, PEER, 20, &err), XF_OK);
    assert_false (xf_link_hello_due (&l, 20, &reply));
    assert_int_equal (l.ups, 1);                 /* still the same up period */

    /* a question arriving before ours went out: ours answers it (sent as a question, which
     * the peer answers; the exchange still ends) */
    xf_link_init (&l, PEER, &OPTS, 0, 1, 0);
    h = hello_from (PEER, 0, false);
    assert_int_equal (xf_link_on_hello (&l, &h, PEER, 10, &err), XF_OK);
    assert_true (xf_link_hello_due (&l, 10, &reply));
    assert_false (reply);
}

/* Two machines exchange hellos through two queues; the exchange must end with both up and
 * nothing due, whatever the interleaving. */
typedef struct {
    uint64_t applied;
    bool reply;
} hmsg_t;

static int hello_exchange (unsigned order, int64_t *now)
{
    xf_link_t ab[2];
    hmsg_t q[2][64];
    int qn[2] = {0, 0};
    int hellos = 0;
    xf_err_t err = {0, ""};
    xf_link_init (&ab[0], "411300", &OPTS, 0, 1, 0);
    xf_link_init (&ab[1], "411324", &OPTS, 0, 1, 0);
    const char *code[2] = {"411324", "411300"};   /* ab[i]'s own code */
    for (int round = 0; round < 32; round++) {
        /* order bit 2*round (mod 8): who acts first; bit 1: whether it sends before reading */
        for (int k = 0; k < 2; k++) {
            int i = ((order >> (round % 4)) & 1) ^ k;
            bool send_first = (order >> ((round + k) % 5)) & 2;
            for (int pass = 0; pass < 2; pass++) {
                if ((pass == 0) == send_first) {
                    bool reply;
                    if (xf_link_hello_due (&ab[i], *now, &reply)) {
                        assert_true (qn[1 - i] < 64);
                        q[1 - i][qn[1 - i]++] = (hmsg_t) {ab[i].applied, reply};
                        xf_link_hello_sent (&ab[i], *now);
                        hellos++;
                    }
                } else {
                    for (int m = 0; m < qn[i]; m++) {
                        Xf__Hello h = hello_from (code[1 - i], q[i][m].applied, q[i][m].reply);
                        assert_int_equal (xf_link_on_hello (&ab[i], &h, code[1 - i], *now, &err),
                                          XF_OK);
                    }
                    qn[i] = 0;
                }
            }
        }
        *now += 1;
    }
    bool reply;
    for (int i = 0; i < 2; i++) {
        assert_int_equal (ab[i].state, XF_LINK_UP);
        assert_false (xf_link_hello_due (&ab[i], *now, &reply));
        assert_int_equal (qn[i], 0);
    }
    return hellos;
}

static void test_hello_exchange_terminates (void **state)
{
    (void) state;
    int64_t now = 1000;
    for (unsigned order = 0; order < 64; order++) {
        int n = hello_exchange (order, &now);
        assert_in_range (n, 2, 4);   /* one question each, at most one answer each */
    }
}

/* ---------------------------------------------------------------- liveness */

static void test_down_after_silence (void **state)
{
    (void) state;
    xf_link_t l;
    bool reply;
    up_link (&l, 0, 1, 0, 0, 1000);
    assert_false (xf_link_tick (&l, 1000 + OPTS.timeout_ms - 1));
    xf_link_heard (&l, 1000 + OPTS.timeout_ms - 1);   /* a frame keeps it up */
    assert_false (xf_link_tick (&l, 1000 + 2 * OPTS.timeout_ms - 2));
    assert_int_equal (l.state, XF_LINK_UP);
    assert_int_equal (xf_link_receive (&l, 1, 1000 + 2 * OPTS.timeout_ms - 2), XF_LINK_APPLY);
    int64_t t = 1000 + 2 * OPTS.timeout_ms - 2;       /* receiving counts as hearing */
    assert_false (xf_link_tick (&l, t + OPTS.timeout_ms - 1));
    assert_int_equal (l.state, XF_LINK_UP);
    assert_true (xf_link_tick (&l, t + OPTS.timeout_ms + 1));
    assert_int_equal (l.state, XF_LINK_DOWN);
    assert_false (xf_link_tick (&l, t + OPTS.timeout_ms + 2));   /* once */
    assert_false (xf_link_tick (&l, t + 5 * OPTS.timeout_ms));
    assert_true (xf_link_hello_due (&l, t + OPTS.timeout_ms + 2, &reply));   /* ask again */
    assert_false (reply);
    assert_string_equal (xf_link_state_name (l.state), "down");
    assert_string_equal (xf_link_state_name (XF_LINK_UP), "up");
    assert_string_equal (xf_link_state_name (XF_LINK_REFUSED), "refused");
}

/* The transport says the connection closed: down at once, not after the timeout. */
static void test_lost_connection (void **state)
{
    (void) state;
    xf_link_t l;
    bool reply;
    xf_err_t err = {0, ""};
    up_link (&l, 0, 1, 0, 0, 1000);
    assert_true (xf_link_lost (&l));
    assert_int_equal (l.state, XF_LINK_DOWN);
    assert_false (xf_link_lost (&l));   /* once */
    assert_true (xf_link_hello_due (&l, 1001, &reply));
    assert_false (reply);
    Xf__Hello h = hello_from (PEER, 0, true);
    assert_int_equal (xf_link_on_hello (&l, &h, PEER, 1002, &err), XF_OK);
    assert_int_equal (l.state, XF_LINK_UP);
    assert_int_equal (l.ups, 2);
    l.state = XF_LINK_REFUSED;          /* a refusal stays a refusal */
    assert_false (xf_link_lost (&l));
    assert_int_equal (l.state, XF_LINK_REFUSED);
}

static void test_ack_due (void **state)
{
    (void) state;
    xf_link_t l;
    up_link (&l, 0, 1, 0, 0, 0);
    xf_link_ack_sent (&l, 0);
    assert_false (xf_link_ack_due (&l, 1));
    assert_int_equal (xf_link_receive (&l, 1, 2), XF_LINK_APPLY);
    assert_false (xf_link_ack_due (&l, 2));   /* not durable yet */
    xf_link_committed (&l);
    assert_true (xf_link_ack_due (&l, 2));
    assert_int_equal (xf_link_ack_value (&l), 1);
    xf_link_ack_sent (&l, 3);
    assert_int_equal (l.ack_sent, 1);
    assert_false (xf_link_ack_due (&l, 3));

    /* an envelope frame carries the ack too */
    assert_int_equal (xf_link_receive (&l, 2, 4), XF_LINK_APPLY);
    xf_link_committed (&l);
    assert_true (xf_link_ack_due (&l, 4));
    xf_link_sent (&l, 0, 5);
    assert_false (xf_link_ack_due (&l, 5));

    /* duplicates are acknowledged by the next keepalive, not at once */
    assert_int_equal (xf_link_receive (&l, 2, 6), XF_LINK_DUPLICATE);
    assert_false (xf_link_ack_due (&l, 6));

    /* keepalive: idle for keepalive_ms */
    assert_false (xf_link_ack_due (&l, 5 + OPTS.keepalive_ms - 1));
    assert_true (xf_link_ack_due (&l, 5 + OPTS.keepalive_ms));
    xf_link_ack_sent (&l, 5 + OPTS.keepalive_ms);
    assert_false (xf_link_ack_due (&l, 5 + 2 * OPTS.keepalive_ms - 1));
    assert_true (xf_link_ack_due (&l, 5 + 2 * OPTS.keepalive_ms));
    xf_link_hello_sent (&l, 5 + 2 * OPTS.keepalive_ms);   /* a hello counts as traffic */
    assert_false (xf_link_ack_due (&l, 5 + 2 * OPTS.keepalive_ms + 1));
}

static void test_refused_retries_slowly (void **state)
{
    (void) state;
    xf_link_t l;
    xf_err_t err = {0, ""};
    bool reply;
    xf_link_init (&l, PEER, &OPTS, 0, 1, 0);
    xf_link_hello_sent (&l, 1000);
    Xf__Hello h = hello_from ("411399", 0, false);
    assert_int_equal (xf_link_on_hello (&l, &h, PEER, 1100, &err), XF_EPERM);
    assert_false (xf_link_hello_due (&l, 1100, &reply));
    assert_false (xf_link_hello_due (&l, 1000 + OPTS.hello_every_ms, &reply));
    assert_false (xf_link_hello_due (&l, 1000 + OPTS.timeout_ms - 1, &reply));
    assert_true (xf_link_hello_due (&l, 1000 + OPTS.timeout_ms, &reply));
    assert_false (reply);
    xf_link_hello_sent (&l, 1000 + OPTS.timeout_ms);
    assert_false (xf_link_hello_due (&l, 1000 + 2 * OPTS.timeout_ms - 1, &reply));
    assert_true (xf_link_hello_due (&l, 1000 + 2 * OPTS.timeout_ms, &reply));
    assert_false (xf_link_tick (&l, 1000 + 10 * OPTS.timeout_ms));   /* refused is not "down" */
    assert_int_equal (l.state, XF_LINK_REFUSED);

    /* an answer that was due when the link was refused goes out as a question: the peer
     * must answer a retry, or the link would stay refused */
    up_link (&l, 0, 1, 0, 0, 0);
    h = hello_from (PEER, 0, false);
    assert_int_equal (xf_link_on_hello (&l, &h, PEER, 10, &err), XF_OK);
    assert_true (xf_link_hello_due (&l, 10, &reply));
    assert_true (reply);
    h = hello_from ("411399", 0, false);
    assert_int_equal (xf_link_on_hello (&l, &h, PEER, 20, &err), XF_EPERM);
    assert_false (xf_link_hello_due (&l, OPTS.timeout_ms - 1, &reply));
    assert_true (xf_link_hello_due (&l, OPTS.timeout_ms, &reply));
    assert_false (reply);

    /* the right peer answers: up again */
    h = hello_from (PEER, 0, true);
    assert_int_equal (xf_link_on_hello (&l, &h, PEER, 1000 + 10 * OPTS.timeout_ms, &err), XF_OK);
    assert_int_equal (l.state, XF_LINK_UP);
}

/* Frames lost at the end of what was sent (or a whole window) leave the peer no gap to see,
 * and its keepalives keep the link up: when envelopes wait for an ack and none went out for
 * keepalive_ms, everything unacknowledged goes again. */
static void test_resend_when_acks_stop (void **state)
{
    (void) state;
    xf_link_t l;
    xf_err_t err = {0, ""};
    uint64_t first, last;
    bool adv;
    up_link (&l, 0, 11, 0, 0, 0);   /* 10 queued, window 4 */
    assert_true (xf_link_to_send (&l, &first, &last));
    xf_link_sent (&l, last, 100);   /* 1..4 on the wire, and lost */
    xf_link_heard (&l, 150);        /* the peer's keepalives keep coming, acking nothing */
    assert_int_equal (xf_link_on_ack (&l, 0, &adv, &err), XF_OK);
    assert_false (adv);
    xf_link_ack_sent (&l, 160);     /* our own keepalives do not restart the timer */
    assert_false (xf_link_tick (&l, 100 + OPTS.keepalive_ms - 1));
    assert_false (xf_link_to_send (&l, &first, &last));
    assert_false (xf_link_tick (&l, 100 + OPTS.keepalive_ms));
    assert_int_equal (l.state, XF_LINK_UP);
    assert_int_equal (l.acked, 0);
    assert_true (xf_link_to_send (&l, &first, &last));
    assert_int_equal (first, 1);
    assert_int_equal (last, 4);
    int64_t t = 100 + OPTS.keepalive_ms;
    xf_link_sent (&l, 4, t);

    /* an ack opens the window; what goes out then restarts the timer */
    xf_link_heard (&l, t + 10);
    assert_int_equal (xf_link_on_ack (&l, 2, &adv, &err), XF_OK);
    assert_true (adv);
    assert_true (xf_link_to_send (&l, &first, &last));
    assert_int_equal (first, 5);
    assert_int_equal (last, 6);
    xf_link_sent (&l, last, t + 20);   /* 3..6 wait */
    assert_false (xf_link_tick (&l, t + 20 + OPTS.keepalive_ms - 1));
    assert_false (xf_link_to_send (&l, &first, &last));
    assert_false (xf_link_tick (&l, t + 20 + OPTS.keepalive_ms));
    assert_true (xf_link_to_send (&l, &first, &last));
    assert_int_equal (first, 3);
    assert_int_equal (last, 6);

    /* the tail: all acknowledged but the last, nothing more to send */
    t += 20 + OPTS.keepalive_ms;
    xf_link_sent (&l, 6, t);
    xf_link_heard (&l, t);
    assert_int_equal (xf_link_on_ack (&l, 6, &adv, &err), XF_OK);
    assert_true (xf_link_to_send (&l, &first, &last));
    xf_link_sent (&l, last, t + 1);   /* 7..10 */
    xf_link_heard (&l, t + 2);
    assert_int_equal (xf_link_on_ack (&l, 9, &adv, &err), XF_OK);   /* 10 was lost */
    assert_false (xf_link_to_send (&l, &first, &last));
    assert_false (xf_link_tick (&l, t + OPTS.keepalive_ms));
    assert_false (xf_link_to_send (&l, &first, &last));
    assert_false (xf_link_tick (&l, t + 1 + OPTS.keepalive_ms));
    assert_true (xf_link_to_send (&l, &first, &last));
    assert_int_equal (first, 10);
    assert_int_equal (last, 10);
    xf_link_sent (&l, 10, t + 1 + OPTS.keepalive_ms);
    xf_link_heard (&l, t + 2 + OPTS.keepalive_ms);
    assert_int_equal (xf_link_on_ack (&l, 10, &adv, &err), XF_OK);
    assert_false (xf_link_tick (&l, t + 3 * OPTS.keepalive_ms));   /* nothing waits */
    assert_false (xf_link_to_send (&l, &first, &last));

    /* nothing resent while down: the hello exchange says where to resume */
    up_link (&l, 0, 3, 0, 0, 0);
    assert_true (xf_link_to_send (&l, &first, &last));
    xf_link_sent (&l, last, 0);
    assert_true (xf_link_tick (&l, OPTS.timeout_ms + 1));
    assert_false (xf_link_tick (&l, OPTS.timeout_ms + OPTS.keepalive_ms + 2));
    assert_false (xf_link_to_send (&l, &first, &last));
    Xf__Hello h = hello_from (PEER, 1, true);
    assert_int_equal (xf_link_on_hello (&l, &h, PEER, OPTS.timeout_ms + 3, &err), XF_OK);
    assert_true (xf_link_to_send (&l, &first, &last));
    assert_int_equal (first, 2);
    assert_int_equal (last, 2);
}

/* ---------------------------------------------------------------- the simulation
 *
 * Two nodes, each an xf_link_t plus what its store holds for the link: the outbox (payload by
 * seq, trimmed at the acknowledgement), the applied log and the positions (applied, next_seq,
 * acked), all changed only by "commits". Two channels keep order but lose single frames,
 * deliver some twice, lose everything in flight when the connection drops, and lose
 * everything for a while during a partition. Nodes crash: the open transaction commits or
 * not, everything in memory is lost, and the link restarts from the stored positions. */

enum { F_ENV, F_ACK, F_HELLO };

typedef struct {
    int kind;
    uint64_t seq, ack, payload;          /* envelope frames; ack also for bare acks */
    uint64_t applied;                    /* hellos */
    bool reply;
    int from;                            /* the sending node, for the code */
} frame_t;

#define CH_CAP 8192
typedef struct {
    frame_t f[CH_CAP];
    size_t head, n, max_n;
} chan_t;

#define MAXQ 16384
typedef struct {
    const char *code;
    xf_link_t l;
    bool alive;
    int64_t revive_at;
    /* the store */
    uint64_t outbox[MAXQ];     /* payload by seq; 0 once trimmed */
    uint64_t nqueued;          /* next_seq - 1 */
    uint64_t d_applied, d_acked;
    uint64_t log[MAXQ];        /* payloads applied, in order */
    uint64_t nlog, nchecked;
    /* the open transaction */
    uint64_t txn[MAXQ];
    uint64_t ntxn;
    /* for the final check: every payload ever queued (the outbox forgets) */
    uint64_t queued[MAXQ];
} node_t;

typedef struct {
    uint64_t rng;
    int64_t now;
    int64_t partition_until;
    bool faults, queueing;
    bool up_only;              /* envelopes are applied only while the link is up (odd seeds) */
    node_t n[2];
    chan_t ch[2];              /* ch[i]: frames to node i */
    uint64_t crashes, crashes_committed, drops, partitions, lost, dups, aborts, downs, gaps,
             duplicates, frames, max_backlog, hellos;
} sim_t;

static const xf_link_opts_t SIM_OPTS = {
    .window = 8, .hello_every_ms = 300, .keepalive_ms = 200, .timeout_ms = 1000,
};
#define SIM_OUTBOX_LIMIT 48

static uint64_t rnd (sim_t *s)   /* splitmix64 */
{
    uint64_t z = (s->rng += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

static bool chance (sim_t *s, unsigned per_10000)
{
    return rnd (s) % 10000 < per_10000;
}

static void chan_clear (chan_t *c)
{
    c->head = c->n = 0;
}

static void chan_put (sim_t *s, int to, const frame_t *f)
{
    chan_t *c = &s->ch[to];
    s->frames++;
    if (!s->n[to].alive || s->now < s->partition_until)
        return;
    int copies = 1;
    if (s->faults && chance (s, 50)) {
        s->lost++;
        return;
    }
    if (s->faults && chance (s, 50)) {
        s->dups++;
        copies = 2;
    }
    for (int i = 0; i < copies; i++) {
        if (c->n == CH_CAP)
            fail_msg ("channel to node %d overflows (%d frames): memory is not bounded", to,
                      CH_CAP);
        c->f[(c->head + c->n++) % CH_CAP] = *f;
    }
    if (c->n > c->max_n)
        c->max_n = c->n;
}

static bool chan_get (chan_t *c, frame_t *f)
{
    if (!c->n)
        return false;
    *f = c->f[c->head];
    c->head = (c->head + 1) % CH_CAP;
    c->n--;
    return true;
}

/* What the daemon does at start: the link from the stored positions. */
static void node_start (sim_t *s, int i)
{
    node_t *n = &s->n[i];
    xf_link_init (&n->l, s->n[1 - i].code, &SIM_OPTS, n->d_applied, n->nqueued + 1, n->d_acked);
    n->ntxn = 0;
    n->alive = true;
}

/* The transaction commits: the applied envelopes, the applied position, the outbox trimmed to
 * what the peer acknowledged. */
static void node_commit_store (node_t *n)
{
    for (uint64_t k = 0; k < n->ntxn; k++)
        n->log[n->nlog++] = n->txn[k];
    n->d_applied = n->l.pending;
    for (uint64_t q = n->d_acked + 1; q <= n->l.acked; q++)
        n->outbox[q] = 0;
    if (n->l.acked > n->d_acked)
        n->d_acked = n->l.acked;
    n->ntxn = 0;
}

static void node_crash (sim_t *s, int i, bool committed)
{
    node_t *n = &s->n[i];
    s->crashes++;
    if (committed) {
        s->crashes_committed++;
        node_commit_store (n);   /* ... and died before telling the link or acknowledging */
    }
    n->ntxn = 0;
    n->alive = false;
    n->revive_at = s->now + (int64_t) (rnd (s) % (3 * SIM_OPTS.timeout_ms));
    /* its sockets are gone: what was in flight either way is lost */
    chan_clear (&s->ch[i]);
    chan_clear (&s->ch[1 - i]);
    memset (&n->l, 0xa5, sizeof n->l);   /* the memory is gone */
}

static void check_invariants (sim_t *s, int i, uint64_t seed, int step)
{
    node_t *n = &s->n[i], *p = &s->n[1 - i];
    if (!n->alive)
        return;
    if (n->l.sent > n->l.acked + SIM_OPTS.window || n->l.sent >= n->l.next_seq)
        fail_msg ("seed %llu step %d node %d: sent %llu, acked %llu, window %u, next %llu",
                  (unsigned long long) seed, step, i, (unsigned long long) n->l.sent,
                  (unsigned long long) n->l.acked, SIM_OPTS.window,
                  (unsigned long long) n->l.next_seq);
    /* durable before acknowledged: nothing counts as acknowledged that the peer's store lacks */
    if (n->l.acked > p->d_applied || n->d_acked > p->d_applied)
        fail_msg ("seed %llu step %d node %d: acked %llu (stored %llu) but the peer stored only "
                  "%llu", (unsigned long long) seed, step, i, (unsigned long long) n->l.acked,
                  (unsigned long long) n->d_acked, (unsigned long long) p->d_applied);
    if (n->l.applied != n->d_applied || n->l.next_seq != n->nqueued + 1 || n->l.acked < n->d_acked)
        fail_msg ("seed %llu step %d node %d: the link and the store disagree", (unsigned long long) seed,
                  step, i);
    if (xf_link_backlog (&n->l) > SIM_OUTBOX_LIMIT)
        fail_msg ("seed %llu step %d node %d: backlog %llu", (unsigned long long) seed, step, i,
                  (unsigned long long) xf_link_backlog (&n->l));
    /* exactly once, in order, so far */
    for (uint64_t k = n->nchecked; k < n->nlog; k++)
        if (n->log[k] != p->queued[k + 1])
            fail_msg ("seed %llu step %d node %d: applied #%llu is %llx, the peer queued %llx",
                      (unsigned long long) seed, step, i, (unsigned long long) k + 1,
                      (unsigned long long) n->log[k], (unsigned long long) p->queued[k + 1]);
    n->nchecked = n->nlog;
}

static void frame_ack (sim_t *s, node_t *n, uint64_t ack, uint64_t seed, int step)
{
    xf_err_t err = {0, ""};
    bool adv;
    (void) s;
    if (xf_link_on_ack (&n->l, ack, &adv, &err) != XF_OK)
        fail_msg ("seed %llu step %d: %s", (unsigned long long) seed, step, err.msg);
}

/* One turn of a node's event loop. */
static void node_step (sim_t *s, int i, uint64_t seed, int step)
{
    node_t *n = &s->n[i];
    xf_err_t err = {0, ""};
    if (!n->alive) {
        if (s->now >= n->revive_at)
            node_start (s, i);
        return;
    }
    /* read what arrived, in one transaction (group commit) */
    int budget = s->faults ? (int) (rnd (s) % 12) : 64;
    frame_t f;
    while (budget-- > 0 && chan_get (&s->ch[i], &f)) {
        switch (f.kind) {
        case F_ENV: {
            if (s->up_only && n->l.state != XF_LINK_UP) {   /* the daemon's way: only when up */
                xf_link_heard (&n->l, s->now);
                frame_ack (s, n, f.ack, seed, step);
                break;
            }
            xf_link_verdict_t v = xf_link_receive (&n->l, f.seq, s->now);
            if (v == XF_LINK_APPLY)
                n->txn[n->ntxn++] = f.payload;
            else if (v == XF_LINK_GAP)
                s->gaps++;
            else
                s->duplicates++;
            frame_ack (s, n, f.ack, seed, step);
            break;
        }
        case F_ACK:
            xf_link_heard (&n->l, s->now);
            frame_ack (s, n, f.ack, seed, step);
            break;
        default: {
            Xf__Hello h = hello_from (s->n[f.from].code, f.applied, f.reply);
            if (xf_link_on_hello (&n->l, &h, s->n[f.from].code, s->now, &err) != XF_OK)
                fail_msg ("seed %llu step %d node %d: %s", (unsigned long long) seed, step, i,
                          err.msg);
            break;
        }
        }
    }
    if (s->faults && chance (s, 20)) {   /* the process dies around the commit */
        node_crash (s, i, chance (s, 5000));
        return;
    }
    if (s->faults && n->ntxn && chance (s, 100)) {   /* the commit fails: nothing happened */
        s->aborts++;
        n->ntxn = 0;
        xf_link_aborted (&n->l);
    } else {
        node_commit_store (n);
        xf_link_committed (&n->l);
    }

    if (xf_link_tick (&n->l, s->now))
        s->downs++;

    /* new envelopes for the peer, each queued in its own transaction */
    if (s->queueing && chance (s, 4000)) {
        int k = 1 + (int) (rnd (s) % 3);
        while (k-- > 0 && xf_link_backlog (&n->l) < SIM_OUTBOX_LIMIT) {
            uint64_t seq = xf_link_queue (&n->l);
            assert_int_equal (seq, n->nqueued + 1);
            assert_true (seq < MAXQ);
            n->outbox[seq] = n->queued[seq] = rnd (s) | 1;
            n->nqueued = seq;
        }
    }
    if (xf_link_backlog (&n->l) > s->max_backlog)
        s->max_backlog = xf_link_backlog (&n->l);

    /* write */
    bool reply;
    if (xf_link_hello_due (&n->l, s->now, &reply)) {
        frame_t h = {.kind = F_HELLO, .applied = n->l.applied, .reply = reply, .from = i};
        chan_put (s, 1 - i, &h);
        xf_link_hello_sent (&n->l, s->now);
        s->hellos++;
    }
    uint64_t first, last;
    if (xf_link_to_send (&n->l, &first, &last)) {
        if (first <= n->l.acked || last > n->l.acked + SIM_OPTS.window)
            fail_msg ("seed %llu step %d node %d: offered %llu..%llu with acked %llu",
                      (unsigned long long) seed, step, i, (unsigned long long) first,
                      (unsigned long long) last, (unsigned long long) n->l.acked);
        for (uint64_t q = first; q <= last; q++) {
            if (!n->outbox[q])
                fail_msg ("seed %llu step %d node %d: seq %llu offered but not in the outbox",
                          (unsigned long long) seed, step, i, (unsigned long long) q);
            frame_t e = {.kind = F_ENV, .seq = q, .ack = xf_link_ack_value (&n->l),
                         .payload = n->outbox[q], .from = i};
            chan_put (s, 1 - i, &e);
        }
        xf_link_sent (&n->l, last, s->now);
    }
    if (xf_link_ack_due (&n->l, s->now)) {
        frame_t a = {.kind = F_ACK, .ack = xf_link_ack_value (&n->l), .from = i};
        chan_put (s, 1 - i, &a);
        xf_link_ack_sent (&n->l, s->now);
    }
}

static void sim_step (sim_t *s, uint64_t seed, int step)
{
    s->now += 1 + (int64_t) (rnd (s) % 20);
    if (s->faults) {
        if (chance (s, 30)) {   /* the connection drops and reconnects: in flight is lost */
            s->drops++;
            chan_clear (&s->ch[0]);
            chan_clear (&s->ch[1]);
        }
        if (chance (s, 8) && s->now >= s->partition_until) {
            s->partitions++;
            s->partition_until = s->now + (int64_t) (rnd (s) % (3 * SIM_OPTS.timeout_ms));
            chan_clear (&s->ch[0]);
            chan_clear (&s->ch[1]);
        }
    }
    int first = (int) (rnd (s) & 1);
    for (int k = 0; k < 2; k++) {
        node_step (s, first ^ k, seed, step);
        check_invariants (s, first ^ k, seed, step);
    }
}

static bool sim_quiet (const sim_t *s)
{
    for (int i = 0; i < 2; i++) {
        const node_t *n = &s->n[i], *p = &s->n[1 - i];
        if (!n->alive || n->d_acked != n->nqueued || p->nlog != n->nqueued
            || n->l.state != XF_LINK_UP)
            return false;
    }
    return true;
}

/* -DSIM_SEEDS=… -DSIM_STEPS=… for a longer soak */
#ifndef SIM_SEEDS
#define SIM_SEEDS 50
#endif
#ifndef SIM_STEPS
#define SIM_STEPS 4000
#endif

static void test_simulation_exactly_once (void **state)
{
    (void) state;
    static sim_t s;
    sim_t tot;
    memset (&tot, 0, sizeof tot);
    uint64_t total_queued = 0;
    for (uint64_t seed = 1; seed <= SIM_SEEDS; seed++) {
        memset (&s, 0, sizeof s);
        s.rng = seed * 0x2545f4914f6cdd1dULL;
        s.now = 1000;
        s.faults = s.queueing = true;
        s.up_only = seed & 1;
        s.n[0].code = "411300";
        s.n[1].code = "411324";
        node_start (&s, 0);
        node_start (&s, 1);
        int step = 0;
        for (; step < SIM_STEPS; step++)
            sim_step (&s, seed, step);

        /* heal: no faults, nothing new; every node back; run until everything is delivered */
        s.faults = s.queueing = false;
        s.partition_until = 0;
        int healed = 0;
        for (; !sim_quiet (&s); step++, healed++) {
            if (healed > 20000)
                fail_msg ("seed %llu: not delivered %d steps after healing: node 0 acked %llu "
                          "of %llu (sent %llu, %s), node 1 acked %llu of %llu (sent %llu, %s)",
                          (unsigned long long) seed, healed,
                          (unsigned long long) s.n[0].d_acked,
                          (unsigned long long) s.n[0].nqueued,
                          (unsigned long long) s.n[0].l.sent,
                          xf_link_state_name (s.n[0].l.state),
                          (unsigned long long) s.n[1].d_acked,
                          (unsigned long long) s.n[1].nqueued,
                          (unsigned long long) s.n[1].l.sent,
                          xf_link_state_name (s.n[1].l.state));
            sim_step (&s, seed, step);
        }
        /* and it stays so: nothing applied twice later, and a quiet link carries keepalives
         * only (no hello ping-pong, no resending) */
        uint64_t hellos = s.hellos, dups = s.duplicates, gaps = s.gaps;
        for (int k = 0; k < 500; k++, step++)
            sim_step (&s, seed, step);
        assert_true (sim_quiet (&s));
        assert_int_equal (s.hellos, hellos);
        assert_int_equal (s.duplicates, dups);
        assert_int_equal (s.gaps, gaps);

        for (int i = 0; i < 2; i++) {
            node_t *n = &s.n[i], *p = &s.n[1 - i];
            assert_int_equal (n->nlog, p->nqueued);
            for (uint64_t k = 0; k < n->nlog; k++)
                assert_int_equal (n->log[k], p->queued[k + 1]);
            for (uint64_t q = 1; q <= n->nqueued; q++)
                assert_int_equal (n->outbox[q], 0);   /* the outbox is empty */
            assert_int_equal (xf_link_backlog (&n->l), 0);
            assert_int_equal (n->l.applied, p->nqueued);
            total_queued += n->nqueued;
            if (s.ch[i].max_n > tot.ch[0].max_n)
                tot.ch[0].max_n = s.ch[i].max_n;
        }
        tot.crashes += s.crashes;
        tot.crashes_committed += s.crashes_committed;
        tot.drops += s.drops;
        tot.partitions += s.partitions;
        tot.lost += s.lost;
        tot.dups += s.dups;
        tot.aborts += s.aborts;
        tot.gaps += s.gaps;
        tot.downs += s.downs;
        tot.duplicates += s.duplicates;
        tot.frames += s.frames;
        tot.hellos += s.hellos;
        if (s.max_backlog > tot.max_backlog)
            tot.max_backlog = s.max_backlog;
    }
    print_message ("simulation: %d seeds x %d steps; %llu envelopes delivered exactly once; "
                   "%llu frames (%llu hellos), %llu lost singly, %llu doubled, %llu connection "
                   "drops, %llu partitions, %llu crashes (%llu after the commit), %llu aborted "
                   "commits, %llu links down, %llu gaps, %llu duplicates; max backlog %llu, "
                   "max in a channel %zu\n",
                   SIM_SEEDS, SIM_STEPS, (unsigned long long) total_queued,
                   (unsigned long long) tot.frames, (unsigned long long) tot.hellos,
                   (unsigned long long) tot.lost, (unsigned long long) tot.dups,
                   (unsigned long long) tot.drops, (unsigned long long) tot.partitions,
                   (unsigned long long) tot.crashes, (unsigned long long) tot.crashes_committed,
                   (unsigned long long) tot.aborts, (unsigned long long) tot.downs,
                   (unsigned long long) tot.gaps, (unsigned long long) tot.duplicates,
                   (unsigned long long) tot.max_backlog, tot.ch[0].max_n);
    /* the faults really happened */
    assert_true (tot.crashes > 0 && tot.crashes_committed > 0 && tot.crashes_committed < tot.crashes);
    assert_true (tot.drops > 0 && tot.partitions > 0 && tot.lost > 0 && tot.dups > 0);
    assert_true (tot.aborts > 0 && tot.downs > 0 && tot.gaps > 0 && tot.duplicates > 0);
    assert_true (total_queued > (uint64_t) SIM_SEEDS * SIM_STEPS / 2);
}

int main (void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test (test_receive_in_order_and_duplicates),
        cmocka_unit_test (test_receive_gap_asks_for_a_hello),
        cmocka_unit_test (test_commit_and_abort),
        cmocka_unit_test (test_queue_numbers_from_next_seq),
        cmocka_unit_test (test_nothing_sent_while_down),
        cmocka_unit_test (test_window_and_acks),
        cmocka_unit_test (test_ack_beyond_queued_refused),
        cmocka_unit_test (test_hello_rewinds_to_peer_position),
        cmocka_unit_test (test_hello_from_a_restored_backup_refused),
        cmocka_unit_test (test_hello_from_wrong_code_refused),
        cmocka_unit_test (test_hello_version_mismatch_refused),
        cmocka_unit_test (test_batch_follows_the_peer_version),
        cmocka_unit_test (test_hello_new_epoch_rewinds_below_acked),
        cmocka_unit_test (test_hello_after_restore_renumbers),
        cmocka_unit_test (test_hello_after_restore_below_mark),
        cmocka_unit_test (test_hello_first_kept_beyond_applied),
        cmocka_unit_test (test_hello_due_at_init_and_while_down),
        cmocka_unit_test (test_hello_answers),
        cmocka_unit_test (test_hello_exchange_terminates),
        cmocka_unit_test (test_down_after_silence),
        cmocka_unit_test (test_lost_connection),
        cmocka_unit_test (test_ack_due),
        cmocka_unit_test (test_refused_retries_slowly),
        cmocka_unit_test (test_resend_when_acks_stop),
        cmocka_unit_test (test_simulation_exactly_once),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
