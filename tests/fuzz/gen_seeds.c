/* gen_seeds.c — writes the fuzzers' fixed certificates (tests/fuzz/pki) and the binary seeds of
 * the frame, envelope and cert corpora from real traffic: a province → city → county tree of
 * offices with [trust] (xf_test_offices.h) takes a case through registration, escalation,
 * assignment, acceptance, reports, a send-back, closing, a 查询码 lookup, a consolidated
 * statistics pull, a monthly snapshot and 对账, and every envelope it sends is written as a
 * SignedEnvelope seed and, wrapped in a link frame, as a frame seed; hellos, a goodbye and a
 * bare acknowledgement are added by hand. Run it when the wire format changes:
 *   build-test/tests/fuzz/gen_seeds tests/fuzz
 * (the text corpora — config, import, control — are kept as files and edited by hand). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <unistd.h>
#include "xf_fuzz.h"
#include "xf_test_offices.h"
#include "xf_test_pki.h"

static const char *out_dir;
static unsigned n_written;

static void write_file (const char *corpus, const char *name, const void *buf, size_t len)
{
    char path[4096];
    snprintf (path, sizeof path, "%s/%s", out_dir, corpus);
    xf_test_mkdir_p (path);
    snprintf (path, sizeof path, "%s/%s/%s", out_dir, corpus, name);
    FILE *f = fopen (path, "wb");
    if (!f || fwrite (buf, 1, len, f) != len) {
        fprintf (stderr, "gen_seeds: cannot write %s\n", path);
        exit (1);
    }
    fclose (f);
    n_written++;
}

/* One envelope as it travels: the SignedEnvelope, and the link frame around it. */
static void seed_envelope (const char *what, const uint8_t *se, size_t len)
{
    static unsigned n;
    char name[96];
    uint8_t *frame = NULL;
    snprintf (name, sizeof name, "%03u-%s", ++n, what);
    write_file ("corpus/envelope", name, se, len);
    size_t flen = xf_msg_frame_pack_signed (XF_LINK_VERSION_MAX, n, n - 1, se, len, &frame);
    write_file ("corpus/frame", name, frame, flen);
    free (frame);
}

/* Carries everything waiting on every link, writing each envelope as a seed first. */
static void settle (xf_test_office_t *o, int n, int64_t now, const char *what)
{
    for (int round = 0; round < 50; round++) {
        size_t moved = 0;
        for (int i = 0; i < n; i++) {
            xf_test_office_t *parent = o[i].parent ? xf_test_at (o, n, o[i].parent) : NULL;
            for (int dir = 0; parent && dir < 2; dir++) {
                xf_test_office_t *from = dir ? parent : &o[i], *to = dir ? &o[i] : parent;
                xf_test_taken_t t;
                xf_test_take (from, to->code, &t);
                for (size_t k = 0; k < t.n; k++) {
                    xf_applied_t out;
                    seed_envelope (what, t.bytes[k], t.len[k]);
                    xf_test_apply (to, from->code, t.bytes[k], t.len[k], now, &out);
                    free (t.bytes[k]);
                }
                moved += t.n;
            }
        }
        if (!moved)
            return;
    }
}

static void check (int rc, const xf_err_t *err, const char *what)
{
    if (rc != XF_OK) {
        fprintf (stderr, "gen_seeds: %s: %s\n", what, err->msg);
        exit (1);
    }
}

/* ---------------------------------------------------------------- the certificates */

static void write_pem (const char *name, X509 *x, STACK_OF (X509) *rest)
{
    char *pem = NULL;
    size_t len = 0;
    xf_cert_pem_append (x, &pem, &len);
    for (int i = 1; rest && i < sk_X509_num (rest); i++)
        xf_cert_pem_append (sk_X509_value (rest, i), &pem, &len);
    write_file ("pki", name, pem, len);
    write_file ("corpus/cert", name, pem, len);
    free (pem);
}

static void write_pki (xf_test_pki_t pki[4])
{
    char path[4096];
    xf_err_t err = {0};
    write_pem ("410000.crt", pki[0].cert, NULL);
    write_pem ("411300.crt", pki[1].cert, pki[1].chain);
    write_pem ("411324.crt", pki[2].cert, pki[2].chain);
    snprintf (path, sizeof path, "%s/pki/410000.key", out_dir);
    unlink (path);
    check (xf_key_save (path, pki[0].key, &err), &err, "the province's key");
    size_t len = 0;
    uint8_t *der = xf_cert_der (pki[2].cert, &len);
    write_file ("corpus/cert", "411324.der", der, len);
    free (der);
    char *req = xf_cert_request (pki[3].key, "411326", "中共淅川县委组织部", pki[3].curve_pub, &err);
    check (req ? XF_OK : XF_EINVAL, &err, "a request");
    write_file ("corpus/cert", "411326.csr", req, strlen (req));
    free (req);
}

/* ---------------------------------------------------------------- frames by hand */

static void write_frame (const char *name, const Xf__LinkFrame *f)
{
    uint8_t *buf = NULL;
    size_t len = xf_msg_frame_pack (f, &buf);
    write_file ("corpus/frame", name, buf, len);
    free (buf);
}

static void hand_frames (xf_trust_t *city, xf_test_pki_t pki[4])
{
    Xf__LinkFrame f = XF__LINK_FRAME__INIT;
    Xf__Hello h = XF__HELLO__INIT;
    Xf__RouteAnnouncement ra = XF__ROUTE_ANNOUNCEMENT__INIT;
    char *codes[] = {"411300", "411324", "411326"}, *names[] = {"南阳", "镇平", "淅川"};
    f.version = XF_LINK_VERSION_MAX;
    f.ack = 7;
    write_frame ("ack", &f);
    h.min_version = h.max_version = XF_LINK_VERSION_MAX;
    h.code = "411300";
    h.applied = 3;
    h.next_seq = 9;
    h.software = "xfsync 0.1.0";
    ra.codes = codes;
    ra.names = names;
    ra.n_codes = ra.n_names = 3;
    ra.version = 2;
    h.routes = &ra;
    size_t n = 0;
    h.certificates = (ProtobufCBinaryData *) xf_trust_chain_der (city, &n);
    h.n_certificates = n;
    Xf__Revocation r = XF__REVOCATION__INIT, *rs[] = {&r};
    uint8_t sig[XF_SIG_MAX];
    xf_cert_info_t county;
    xf_err_t err = {0};
    xf_cert_info (pki[2].cert, &county, &err);
    r.fingerprint = county.fingerprint;
    r.code = "411324";
    r.serial = county.serial;
    r.at = XF_FUZZ_NOW;
    r.reason = "密钥丢失";
    check (xf_trust_sign_revocation (city, &r, sig, &err), &err, "a revocation");
    h.revocations = rs;
    h.n_revocations = 1;
    f.payload_case = XF__LINK_FRAME__PAYLOAD_HELLO;
    f.hello = &h;
    write_frame ("hello", &f);
    Xf__Goodbye g = XF__GOODBYE__INIT;
    g.reason = "stopping";
    g.min_version = g.max_version = XF_LINK_VERSION_MAX;
    f.payload_case = XF__LINK_FRAME__PAYLOAD_GOODBYE;
    f.goodbye = &g;
    write_frame ("goodbye", &f);
}

/* ---------------------------------------------------------------- traffic */

static char *register_case (xf_test_office_t *o, int64_t now, const char *summary, bool identity)
{
    xf_err_t err = {0};
    xf_actor_t who = {now, 1000, "clerk"};
    xf_case_t *c = xf_case_new ();
    c->channel = XF__CHANNEL__VISIT;
    c->category = XF__CATEGORY__ACCUSATION;
    xf_case_set (&c->summary, summary);
    c->received = xf_day_of_time (now);
    c->headcount = 1;
    if (identity) {
        c->petitioner = malloc (sizeof *c->petitioner);
        xf__petitioner__init (c->petitioner);
        xf_case_set (&c->petitioner->name, "张秀英");
        xf_case_set (&c->petitioner->phone, "13837700000");
    }
    check (xf_office_register (o->office, &who, c, &err), &err, "register");
    char *id = strdup (c->id);
    xf_case_destroy (&c);
    return id;
}

static void move (xf_test_office_t *o, int64_t now, const char *id, xf_move_t kind,
                  const char *to, const char *text)
{
    xf_err_t err = {0};
    xf_actor_t who = {now, 1000, "leader"};
    static char *items[] = {"investigation", "instruction", "letter", "original", "evidence",
                            "petitioner_opinion", "review_opinion"};
    xf_move_req_t m = {.kind = kind, .to = to, .text = text, .items = items, .n_items = 7};
    check (xf_office_move (o->office, &who, NULL, &id, 1, &m, NULL, &err), &err, "move");
}

static void traffic (xf_test_office_t o[4], int64_t now)
{
    xf_err_t err = {0};
    xf_actor_t who = {now, 1000, "leader"};
    char *id = register_case (&o[2], now, "反映某村干部违规问题", true);
    settle (o, 4, now, "sightings");
    move (&o[2], now, id, XF_MOVE_ESCALATE, "410000", "报省");
    settle (o, 4, now, "escalate");
    check (xf_office_accept (o[0].office, &who, id, false, &err), &err, "accept");
    move (&o[0], now, id, XF_MOVE_ASSIGN, "411324", "请核查");
    settle (o, 4, now, "assign");
    check (xf_office_accept (o[2].office, &who, id, true, &err), &err, "accept");
    move (&o[2], now, id, XF_MOVE_REPORT, NULL, "经核查部分属实");
    settle (o, 4, now, "report");
    move (&o[0], now, id, XF_MOVE_SEND_BACK, NULL, "请补充答复意见");
    settle (o, 4, now, "send_back");
    move (&o[2], now, id, XF_MOVE_REPORT, NULL, "已补充");
    settle (o, 4, now, "report");
    check (xf_office_close (o[0].office, &who, id, "已答复", &err), &err, "close");
    settle (o, 4, now, "close");
    char *other = register_case (&o[3], now, "反映征地补偿问题", false);
    move (&o[3], now, other, XF_MOVE_TRANSFER, "411324", "转镇平县");
    settle (o, 4, now, "transfer");
    xf_case_t *c = xf_office_get (o[2].office, id, &err);
    json_t *answer = NULL;
    check (c ? xf_office_lookup (o[3].office, &who, c->query_code, &answer, &err) : XF_ENOTFOUND,
           &err, "lookup");
    json_decref (answer);
    xf_case_destroy (&c);
    settle (o, 4, now, "lookup");
    xf_period_t p;
    uint64_t pull;
    check (xf_period_parse ("2026-11", &p, &err), &err, "period");
    check (xf_office_pull (o[0].office, &p, now, 5000, &pull, &err), &err, "pull");
    settle (o, 4, now, "stats");
    size_t sent;
    for (int i = 0; i < 4; i++)
        check (xf_office_reconcile (o[i].office, now, 1, &sent, &err), &err, "reconcile");
    settle (o, 4, now, "reconcile");
    for (int i = 3; i >= 0; i--)
        check (xf_office_snapshot_tick (o[i].office, now + 40 * 86400, &sent, &err), &err, "snapshot");
    settle (o, 4, now + 40 * 86400, "snapshot");
    free (other);
    free (id);
}

int main (int argc, char **argv)
{
    if (argc != 2) {
        fprintf (stderr, "usage: gen_seeds tests/fuzz\n");
        return 2;
    }
    out_dir = argv[1];
    xf_err_t err = {0};
    xf_test_office_t o[4];
    xf_test_pki_t pki[4];
    xf_trust_t *trust[4];
    xf_limits_t lim = {15, 60, 30, 7, 7, NULL, 0};
    check (xf_test_tree_open (o, &lim, "gen_seeds") == 0 ? XF_OK : XF_ESTORE, &err, "the offices");
    xf_test_root (&pki[0], XF_PROFILE_STANDARD, o[0].code, "中共河南省委组织部");
    xf_test_child (&pki[1], &pki[0], true, XF_PROFILE_STANDARD, o[1].code, "中共南阳市委组织部", 3650, &err);
    xf_test_child (&pki[2], &pki[1], false, XF_PROFILE_STANDARD, o[2].code, "中共镇平县委组织部", 3650, &err);
    xf_test_child (&pki[3], &pki[1], false, XF_PROFILE_STANDARD, o[3].code, "中共淅川县委组织部", 3650, &err);
    for (int i = 0; i < 4; i++) {
        check ((trust[i] = xf_test_trust (&pki[0], &pki[i], o[i].code, XF_FUZZ_NOW, &err)) ? XF_OK
                                                                                         : XF_EINVAL,
               &err, "a trust state");
        xf_office_set_trust (o[i].office, trust[i]);
    }
    for (int i = 0; i < 4; i++)   /* what the hellos would have taught every office */
        for (int k = 0; k < 4; k++) {
            size_t n = 0;
            const ProtobufCBinaryData *der = xf_trust_chain_der (trust[k], &n);
            xf_trust_learned_t seen;
            xf_trust_learn (trust[i], der, n, XF_FUZZ_NOW, NULL, NULL, &seen, &err);
        }
    write_pki (pki);
    hand_frames (trust[1], pki);
    traffic (o, XF_FUZZ_NOW);
    xf_test_tree_close (o);
    for (int i = 0; i < 4; i++) {
        xf_trust_destroy (&trust[i]);
        xf_test_pki_free (&pki[i]);
    }
    printf ("gen_seeds: %u files written under %s\n", n_written, out_dir);
    return 0;
}
