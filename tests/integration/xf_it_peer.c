/* xf_it_peer.c — a misbehaving child office for integration scenarios: it connects to a
 * parent's ROUTER over CURVE with a key the parent admits, so what it sends reaches the link
 * code (past the handshake and the ZAP check), and sends frames that must be rejected:
 *
 *   1 random bytes                    2 an empty frame
 *   3 a hello cut short               4 a frame of link version 99
 *   5 a frame with two payloads       6 a message of three parts
 *   7 a hello calling itself SPOOF    8 (a proper hello; the parent must answer it)
 *   9 an envelope whose origin is SPOOF, another child's code
 *  10 an ack of seq 1000, never sent
 *
 * Usage: xf_it_peer ENDPOINT PARENT_PUB_FILE KEY_FILE CODE SPOOF
 * Prints one line per step and the number of frames that must be counted as rejected by the
 * parent on the link to CODE ("expect_rejected N"); exit 0 when every frame went out and the
 * parent answered the proper hello, 1 otherwise. */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <zmq.h>
#include "xf_msg.h"

static void *dealer;

static int read_line (const char *path, char *buf, size_t len)
{
    FILE *f = fopen (path, "r");
    if (!f || !fgets (buf, (int) len, f)) {
        fprintf (stderr, "xf_it_peer: cannot read %s\n", path);
        if (f)
            fclose (f);
        return -1;
    }
    fclose (f);
    buf[strcspn (buf, "\r\n")] = 0;
    return 0;
}

static int send_bytes (const char *what, const void *buf, size_t len, int flags)
{
    if (zmq_send (dealer, buf, len, flags) < 0) {
        fprintf (stderr, "xf_it_peer: send %s: %s\n", what, zmq_strerror (zmq_errno ()));
        return -1;
    }
    if (!(flags & ZMQ_SNDMORE))
        printf ("sent %s (%zu bytes)\n", what, len);
    return 0;
}

static int send_frame (const char *what, const Xf__LinkFrame *f, size_t cut)
{
    uint8_t *buf = NULL;
    size_t len = xf_msg_frame_pack (f, &buf);
    if (!len)
        return -1;
    int rc = send_bytes (what, buf, len > cut ? len - cut : len, 0);
    free (buf);
    return rc;
}

static void hello_init (Xf__LinkFrame *f, Xf__Hello *h, const char *code)
{
    xf__link_frame__init (f);
    xf__hello__init (h);
    h->min_version = h->max_version = 1;
    h->code = (char *) code;
    h->software = "xf_it_peer";
    f->version = 1;
    f->payload_case = XF__LINK_FRAME__PAYLOAD_HELLO;
    f->hello = h;
}

/* Waits up to ms for the parent's hello; returns 0 when it came. */
static int await_hello (int ms)
{
    struct timespec t0, t;
    clock_gettime (CLOCK_MONOTONIC, &t0);
    for (;;) {
        clock_gettime (CLOCK_MONOTONIC, &t);
        long left = ms - ((t.tv_sec - t0.tv_sec) * 1000 + (t.tv_nsec - t0.tv_nsec) / 1000000);
        if (left <= 0)
            return -1;
        zmq_pollitem_t it = {dealer, 0, ZMQ_POLLIN, 0};
        if (zmq_poll (&it, 1, left) <= 0)
            continue;
        zmq_msg_t m;
        zmq_msg_init (&m);
        if (zmq_msg_recv (&m, dealer, 0) < 0)
            return -1;
        xf_err_t err = {0};
        Xf__LinkFrame *f = xf_msg_frame_unpack (zmq_msg_data (&m), zmq_msg_size (&m), &err);
        zmq_msg_close (&m);
        bool hello = f && f->payload_case == XF__LINK_FRAME__PAYLOAD_HELLO;
        if (hello)
            printf ("the parent answered: hello from %s\n", f->hello->code);
        xf_msg_frame_free (&f);
        if (hello)
            return 0;
    }
}

int main (int argc, char **argv)
{
    if (argc != 6) {
        fprintf (stderr, "usage: xf_it_peer ENDPOINT PARENT_PUB_FILE KEY_FILE CODE SPOOF\n");
        return 2;
    }
    const char *endpoint = argv[1], *code = argv[4], *spoof = argv[5];
    char server[64], secret[64], public[41];
    if (read_line (argv[2], server, sizeof server) || read_line (argv[3], secret, sizeof secret)
        || strlen (server) != 40 || strlen (secret) != 40 || zmq_curve_public (public, secret)) {
        fprintf (stderr, "xf_it_peer: the keys are not Z85 CURVE keys\n");
        return 1;
    }
    void *ctx = zmq_ctx_new ();
    dealer = zmq_socket (ctx, ZMQ_DEALER);
    int linger = 3000;
    zmq_setsockopt (dealer, ZMQ_LINGER, &linger, sizeof linger);
    zmq_setsockopt (dealer, ZMQ_CURVE_SERVERKEY, server, 40);
    zmq_setsockopt (dealer, ZMQ_CURVE_SECRETKEY, secret, 40);
    zmq_setsockopt (dealer, ZMQ_CURVE_PUBLICKEY, public, 40);
    if (zmq_connect (dealer, endpoint) != 0) {
        fprintf (stderr, "xf_it_peer: connect %s: %s\n", endpoint, zmq_strerror (zmq_errno ()));
        return 1;
    }
    int bad = 0, rc = 0;
    Xf__LinkFrame f;
    Xf__Hello h;

    /* 1 */
    uint8_t junk[64];
    srand ((unsigned) time (NULL));
    for (size_t i = 0; i < sizeof junk; i++)
        junk[i] = (uint8_t) rand ();
    junk[0] = 0xff;   /* field 31, wire type 7: never a valid protobuf start */
    rc |= send_bytes ("random bytes", junk, sizeof junk, 0), bad++;
    /* 2 */
    rc |= send_bytes ("an empty frame", "", 0, 0), bad++;
    /* 3 */
    hello_init (&f, &h, code);
    rc |= send_frame ("a hello cut short", &f, 4), bad++;
    /* 4 */
    hello_init (&f, &h, code);
    f.version = 99;
    rc |= send_frame ("a frame of link version 99", &f, 0), bad++;
    /* 5: a version-1 frame with a hello (field 11) and a goodbye (field 12) */
    static const uint8_t two[] = {0x08, 0x01, 0x5a, 0x04, 0x08, 0x01, 0x10, 0x01, 0x62, 0x00};
    rc |= send_bytes ("a frame with two payloads", two, sizeof two, 0), bad++;
    /* 6 */
    hello_init (&f, &h, code);
    uint8_t *hb = NULL;
    size_t hlen = xf_msg_frame_pack (&f, &hb);
    rc |= send_bytes ("part", hb, hlen, ZMQ_SNDMORE);
    rc |= send_bytes ("part", hb, hlen, ZMQ_SNDMORE);
    rc |= send_bytes ("a message of three parts", hb, hlen, 0), bad++;
    free (hb);
    /* 7 */
    hello_init (&f, &h, spoof);
    rc |= send_frame ("a hello calling itself another office", &f, 0), bad++;
    /* 8 */
    hello_init (&f, &h, code);
    rc |= send_frame ("a proper hello", &f, 0);
    if (await_hello (10000) != 0) {
        fprintf (stderr, "xf_it_peer: the parent did not answer a proper hello within 10 s\n");
        rc = -1;
    }
    /* 9 */
    Xf__GlobalId gid = XF__GLOBAL_ID__INIT;
    Xf__Envelope env = XF__ENVELOPE__INIT;
    Xf__RouteAnnouncement ra = XF__ROUTE_ANNOUNCEMENT__INIT;
    Xf__SignedEnvelope se = XF__SIGNED_ENVELOPE__INIT;
    char *codes[] = {(char *) spoof};
    gid.origin = (char *) spoof;
    gid.seq = 1;
    env.id = &gid;
    env.from = (char *) spoof;
    env.to = "411300";
    env.created = (int64_t) time (NULL);
    env.format = 1;
    env.body_case = XF__ENVELOPE__BODY_ROUTES;
    ra.codes = codes;
    ra.n_codes = 1;
    env.routes = &ra;
    uint8_t *inner = NULL;
    xf_err_t err = {0};
    if (xf_msg_seal (&env, &se, &inner, &err) != XF_OK) {
        fprintf (stderr, "xf_it_peer: seal: %s\n", err.msg);
        return 1;
    }
    xf__link_frame__init (&f);
    f.version = 1;
    f.seq = 1;
    f.payload_case = XF__LINK_FRAME__PAYLOAD_ENVELOPE;
    f.envelope = &se;
    rc |= send_frame ("an envelope from another office's code", &f, 0), bad++;
    free (inner);
    /* 10 */
    xf__link_frame__init (&f);
    f.version = 1;
    f.ack = 1000;
    rc |= send_frame ("an ack of seq 1000", &f, 0), bad++;

    printf ("expect_rejected %d\n", bad);
    zmq_close (dealer);   /* lingers until everything is out */
    zmq_ctx_term (ctx);
    return rc ? 1 : 0;
}
