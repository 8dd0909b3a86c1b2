/* test_xf_msg.c — the wire codec: round trips of every frame and body (frame →
 * SignedEnvelope → inner Envelope), sealing, and refusals of malformed, truncated,
 * oversized, non-canonical, newer-format and random input. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "xf_msg.h"

/* ---------------------------------------------------------------- fixture */

/* Every message a test needs, on the stack, wired by fx_init into one valid frame that
 * carries a registration; fx_body / fx_event switch what it carries. The frame's
 * SignedEnvelope gets env's bytes only while a helper packs or checks the frame (fx_seal),
 * so a test mutates env and the wire sees it; a test that writes se.envelope by hand sets
 * raw. */
typedef struct {
    Xf__LinkFrame frame;
    Xf__SignedEnvelope se;
    int raw;
    Xf__Envelope env;
    Xf__GlobalId id, reply_to, undelivered;
    Xf__CaseEvent ev, req_ev;
    Xf__Case record;
    Xf__Petitioner pet;
    Xf__Registration reg;
    Xf__Acceptance acc;
    Xf__Rejection rej;
    Xf__Escalation esc;
    Xf__Assignment asg;
    Xf__Transfer tra;
    Xf__Urge urge, req_urge;
    Xf__Extension ext;
    Xf__Report rep;
    Xf__SendBack sb;
    Xf__Instruction ins;
    Xf__Closing clo;
    Xf__ReviewRequest rev;
    Xf__Overdue ovd;
    Xf__CaseRequest req;
    Xf__Refusal refusal;
    Xf__Period period;
    Xf__StatsRequest sreq;
    Xf__Figures totals;
    uint64_t by_channel[6];
    Xf__OfficeFigures of, *ofs[1];
    char *missing[1];
    Xf__StatsReply srep;
    Xf__StatsSnapshot snap;
    Xf__RouteAnnouncement routes;
    char *codes[2], *names[2];
    Xf__DeliveryError derr;
    Xf__Hello hello;
    Xf__Goodbye bye;
    char *items[2];
} fx_t;

#define CASE_ID "411324-2026-000017"

static void fx_event (fx_t *x, Xf__CaseEvent__BodyCase c)
{
    x->ev.body_case = c;
    switch (c) {
    case XF__CASE_EVENT__BODY_REGISTRATION: x->ev.registration = &x->reg; break;
    case XF__CASE_EVENT__BODY_ACCEPTANCE:   x->ev.acceptance = &x->acc; break;
    case XF__CASE_EVENT__BODY_REJECTION:    x->ev.rejection = &x->rej; break;
    case XF__CASE_EVENT__BODY_ESCALATION:   x->ev.escalation = &x->esc; break;
    case XF__CASE_EVENT__BODY_ASSIGNMENT:   x->ev.assignment = &x->asg; break;
    case XF__CASE_EVENT__BODY_TRANSFER:     x->ev.transfer = &x->tra; break;
    case XF__CASE_EVENT__BODY_URGE:         x->ev.urge = &x->urge; break;
    case XF__CASE_EVENT__BODY_EXTENSION:    x->ev.extension = &x->ext; break;
    case XF__CASE_EVENT__BODY_REPORT:       x->ev.report = &x->rep; break;
    case XF__CASE_EVENT__BODY_SEND_BACK:    x->ev.send_back = &x->sb; break;
    case XF__CASE_EVENT__BODY_INSTRUCTION:  x->ev.instruction = &x->ins; break;
    case XF__CASE_EVENT__BODY_CLOSING:      x->ev.closing = &x->clo; break;
    case XF__CASE_EVENT__BODY_REVIEW:       x->ev.review = &x->rev; break;
    case XF__CASE_EVENT__BODY_OVERDUE:      x->ev.overdue = &x->ovd; break;
    default:                                x->ev.registration = NULL; break;
    }
}

static void fx_body (fx_t *x, Xf__Envelope__BodyCase c)
{
    x->env.body_case = c;
    switch (c) {
    case XF__ENVELOPE__BODY_CASE_EVENT:     x->env.case_event = &x->ev; break;
    case XF__ENVELOPE__BODY_CASE_REQUEST:   x->env.case_request = &x->req; break;
    case XF__ENVELOPE__BODY_REFUSAL:        x->env.refusal = &x->refusal; break;
    case XF__ENVELOPE__BODY_STATS_REQUEST:  x->env.stats_request = &x->sreq; break;
    case XF__ENVELOPE__BODY_STATS_REPLY:    x->env.stats_reply = &x->srep; break;
    case XF__ENVELOPE__BODY_STATS_SNAPSHOT: x->env.stats_snapshot = &x->snap; break;
    case XF__ENVELOPE__BODY_ROUTES:         x->env.routes = &x->routes; break;
    case XF__ENVELOPE__BODY_DELIVERY_ERROR: x->env.delivery_error = &x->derr; break;
    default:                                x->env.case_event = NULL; break;
    }
}

static void fx_init_case (fx_t *x)
{
    x->pet = (Xf__Petitioner) XF__PETITIONER__INIT;
    x->pet.name = "张三";
    x->pet.phone = "13800000000";
    x->record = (Xf__Case) XF__CASE__INIT;
    x->record.id = CASE_ID;
    x->record.origin = "411324";
    x->record.owner = "411324";
    x->record.status = XF__STATUS__REGISTERED;
    x->record.channel = XF__CHANNEL__VISIT;
    x->record.category = XF__CATEGORY__APPEAL;
    x->record.subject = 3;
    x->record.summary = "反映村干部侵占集体土地";
    x->record.received = 20400;
    x->record.petitioner = &x->pet;
    x->reg = (Xf__Registration) XF__REGISTRATION__INIT;
    x->reg.record = &x->record;
}

static void fx_init_events (fx_t *x)
{
    x->acc = (Xf__Acceptance) XF__ACCEPTANCE__INIT;
    x->acc.filed = 1;
    x->rej = (Xf__Rejection) XF__REJECTION__INIT;
    x->rej.reason = "不属于受理范围";
    x->esc = (Xf__Escalation) XF__ESCALATION__INIT;
    x->esc.to = "411300";
    x->esc.record = &x->record;
    x->asg = (Xf__Assignment) XF__ASSIGNMENT__INIT;
    x->asg.to = "411326";
    x->asg.handle_due = 20460;
    x->tra = (Xf__Transfer) XF__TRANSFER__INIT;
    x->tra.to = "411326";
    x->urge = (Xf__Urge) XF__URGE__INIT;
    x->urge.number = 1;
    x->ext = (Xf__Extension) XF__EXTENSION__INIT;
    x->ext.days = 30;
    x->ext.reason = "情况复杂";
    x->rep = (Xf__Report) XF__REPORT__INIT;
    x->rep.result = "查证属实，已整改";
    x->items[0] = "调查报告";
    x->items[1] = "领导批示";
    x->rep.n_items = 2;
    x->rep.items = x->items;
    x->sb = (Xf__SendBack) XF__SEND_BACK__INIT;
    x->sb.reason = "事实不清";
    x->sb.round = 2;
    x->ins = (Xf__Instruction) XF__INSTRUCTION__INIT;
    x->ins.leader = "李四";
    x->ins.text = "请依法办理";
    x->clo = (Xf__Closing) XF__CLOSING__INIT;
    x->clo.reply = "已书面答复";
    x->clo.on_time = 1;
    x->rev = (Xf__ReviewRequest) XF__REVIEW_REQUEST__INIT;
    x->rev.reason = "对复查意见不服";
    x->rev.by = "410000";
    x->rev.level = 2;
    x->ovd = (Xf__Overdue) XF__OVERDUE__INIT;
    x->ovd.due = 20415;
    x->ovd.stage = "accept";
    x->ev = (Xf__CaseEvent) XF__CASE_EVENT__INIT;
    x->ev.case_id = CASE_ID;
    x->ev.seq = 1;
    x->ev.at = 1767225600;
    x->ev.office = "411324";
    fx_event (x, XF__CASE_EVENT__BODY_REGISTRATION);
}

static void fx_init_other (fx_t *x)
{
    x->req_urge = (Xf__Urge) XF__URGE__INIT;
    x->req_urge.number = 2;
    x->req_ev = (Xf__CaseEvent) XF__CASE_EVENT__INIT;
    x->req_ev.case_id = CASE_ID;
    x->req_ev.seq = 4;
    x->req_ev.at = 1767225600;
    x->req_ev.office = "411300";
    x->req_ev.body_case = XF__CASE_EVENT__BODY_URGE;
    x->req_ev.urge = &x->req_urge;
    x->req = (Xf__CaseRequest) XF__CASE_REQUEST__INIT;
    x->req.case_id = CASE_ID;
    x->req.event = &x->req_ev;
    x->reply_to = (Xf__GlobalId) XF__GLOBAL_ID__INIT;
    x->reply_to.origin = "411300";
    x->reply_to.seq = 9;
    x->refusal = (Xf__Refusal) XF__REFUSAL__INIT;
    x->refusal.case_id = CASE_ID;
    x->refusal.code = "permission";
    x->refusal.reason = "not the owner";
    x->refusal.owner = "411326";
    x->refusal.in_reply_to = &x->reply_to;
    x->period = (Xf__Period) XF__PERIOD__INIT;
    x->period.first = 20362;
    x->period.last = 20453;
    x->period.label = "2025Q4";
    x->sreq = (Xf__StatsRequest) XF__STATS_REQUEST__INIT;
    x->sreq.request_id = 7;
    x->sreq.period = &x->period;
    x->sreq.consolidated = 1;
    x->totals = (Xf__Figures) XF__FIGURES__INIT;
    x->totals.received = 12;
    for (size_t i = 0; i < 6; i++)
        x->by_channel[i] = i;
    x->totals.n_by_channel = 6;
    x->totals.by_channel = x->by_channel;
    x->of = (Xf__OfficeFigures) XF__OFFICE_FIGURES__INIT;
    x->of.code = "411324";
    x->of.name = "淅川县";
    x->of.source = "live";
    x->of.figures = &x->totals;
    x->ofs[0] = &x->of;
    x->missing[0] = "411326";
    x->srep = (Xf__StatsReply) XF__STATS_REPLY__INIT;
    x->srep.request_id = 7;
    x->srep.period = &x->period;
    x->srep.totals = &x->totals;
    x->srep.n_offices = 1;
    x->srep.offices = x->ofs;
    x->srep.n_missing = 1;
    x->srep.missing = x->missing;
    x->snap = (Xf__StatsSnapshot) XF__STATS_SNAPSHOT__INIT;
    x->snap.office = "411324";
    x->snap.month = 202511;
    x->snap.own = &x->totals;
    x->snap.as_of = 1767225600;
    x->codes[0] = "411324";
    x->codes[1] = "411324001";
    x->names[0] = "淅川县";
    x->names[1] = "上集镇";
    x->routes = (Xf__RouteAnnouncement) XF__ROUTE_ANNOUNCEMENT__INIT;
    x->routes.n_codes = x->routes.n_names = 2;
    x->routes.codes = x->codes;
    x->routes.names = x->names;
    x->routes.version = 3;
    x->undelivered = (Xf__GlobalId) XF__GLOBAL_ID__INIT;
    x->undelivered.origin = "411300";
    x->undelivered.seq = 5;
    x->derr = (Xf__DeliveryError) XF__DELIVERY_ERROR__INIT;
    x->derr.undelivered = &x->undelivered;
    x->derr.to = "411399";
    x->derr.reason = "no route";
}

static void fx_init (fx_t *x)
{
    memset (x, 0, sizeof *x);
    fx_init_case (x);
    fx_init_events (x);
    fx_init_other (x);
    x->id = (Xf__GlobalId) XF__GLOBAL_ID__INIT;
    x->id.origin = "411324";
    x->id.seq = 17;
    x->env = (Xf__Envelope) XF__ENVELOPE__INIT;
    x->env.id = &x->id;
    x->env.from = "411324";
    x->env.to = "411300";
    x->env.created = 1767225600;
    x->env.format = XF_ENVELOPE_FORMAT;
    fx_body (x, XF__ENVELOPE__BODY_CASE_EVENT);
    x->hello = (Xf__Hello) XF__HELLO__INIT;
    x->hello.min_version = 1;
    x->hello.max_version = 1;
    x->hello.code = "411324";
    x->hello.applied = 40;
    x->hello.next_seq = 41;
    x->hello.routes = &x->routes;
    x->hello.software = "xfsync 0.1.0";
    x->bye = (Xf__Goodbye) XF__GOODBYE__INIT;
    x->bye.reason = "shutting down";
    x->bye.min_version = x->bye.max_version = 1;
    x->frame = (Xf__LinkFrame) XF__LINK_FRAME__INIT;
    x->frame.version = 1;
    x->frame.seq = 5;
    x->frame.ack = 3;
    x->se = (Xf__SignedEnvelope) XF__SIGNED_ENVELOPE__INIT;
    x->frame.payload_case = XF__LINK_FRAME__PAYLOAD_ENVELOPE;
    x->frame.envelope = &x->se;
}

static void fx_hello (fx_t *x)
{
    x->frame.seq = 0;
    x->frame.payload_case = XF__LINK_FRAME__PAYLOAD_HELLO;
    x->frame.hello = &x->hello;
}

static int fx_sealing (const fx_t *x)
{
    return !x->raw && x->frame.payload_case == XF__LINK_FRAME__PAYLOAD_ENVELOPE
           && x->frame.envelope == &x->se;
}

/* Packs env, as the test left it, into the frame's SignedEnvelope: unchecked (xf_msg_seal
 * would refuse the bad envelopes the refusal tests need), and undone by fx_unseal. */
static void fx_seal (fx_t *x)
{
    uint8_t *buf = NULL;
    if (fx_sealing (x)) {
        x->se.envelope.len = xf_msg_envelope_pack (&x->env, &buf);
        x->se.envelope.data = buf;
    }
}

static void fx_unseal (fx_t *x)
{
    if (fx_sealing (x)) {
        free (x->se.envelope.data);
        x->se.envelope = (ProtobufCBinaryData) { 0, NULL };
    }
}

static size_t fx_pack (fx_t *x, uint8_t **out)
{
    fx_seal (x);
    size_t n = xf_msg_frame_pack (&x->frame, out);
    fx_unseal (x);
    return n;
}

static int fx_check (fx_t *x, xf_err_t *err)
{
    fx_seal (x);
    int rc = xf_msg_frame_check (&x->frame, err);
    fx_unseal (x);
    return rc;
}

/* The Envelope inside the fixture's frame, as xf_msg_frame_envelope sees it unsent. */
static Xf__Envelope *fx_inner (fx_t *x, xf_err_t *err)
{
    fx_seal (x);
    Xf__Envelope *e = xf_msg_frame_envelope (&x->frame, err);
    fx_unseal (x);
    return e;
}

/* Seals env (the real way, unless raw), packs the frame and unpacks it again: the frame
 * must re-pack to the same bytes and the SignedEnvelope must arrive with exactly the bytes
 * sealed. For an envelope frame *inner is the decoded inner Envelope (else NULL). */
static Xf__LinkFrame *round_trip (fx_t *x, Xf__Envelope **inner)
{
    uint8_t *sealed = NULL, *buf = NULL, *again = NULL;
    xf_err_t err = {0};
    int env = x->frame.payload_case == XF__LINK_FRAME__PAYLOAD_ENVELOPE;
    if (env && !x->raw && xf_msg_seal (&x->env, &x->se, &sealed, &err))
        fail_msg ("seal refused: %s", err.msg);
    size_t n = xf_msg_frame_pack (&x->frame, &buf);
    assert_true (n > 0);
    Xf__LinkFrame *g = xf_msg_frame_unpack (buf, n, &err);
    if (!g)
        fail_msg ("round trip refused: %s", err.msg);
    assert_int_equal (xf_msg_frame_pack (g, &again), n);
    assert_memory_equal (buf, again, n);
    *inner = NULL;
    if (env) {
        const ProtobufCBinaryData *sent = &x->se.envelope, *got = &g->envelope->envelope;
        assert_int_equal (got->len, sent->len);
        assert_memory_equal (got->data, sent->data, sent->len);
        if (!(*inner = xf_msg_frame_envelope (g, &err)))
            fail_msg ("inner envelope refused: %s", err.msg);
    }
    if (sealed) {
        uint8_t *repacked = NULL;           /* no unknown fields: the very same bytes */
        assert_int_equal (xf_msg_envelope_pack (*inner, &repacked), x->se.envelope.len);
        assert_memory_equal (repacked, sealed, x->se.envelope.len);
        free (repacked);
        free (sealed);
        x->se.envelope = (ProtobufCBinaryData) { 0, NULL };
    }
    free (buf);
    free (again);
    return g;
}

/* err must hold code and every phrase in ap (NULL-terminated). */
static void expect (const xf_err_t *err, int code, va_list ap)
{
    assert_int_equal (err->code, code);
    for (const char *p; (p = va_arg (ap, const char *));)
        if (!strstr (err->msg, p))
            fail_msg ("\"%s\" not in \"%s\"", p, err->msg);
}

/* Packs the frame and unpacks it; it must be refused with code and a message holding
 * every phrase given (NULL-terminated). */
static void refused_on_wire (fx_t *x, int code, ...)
{
    uint8_t *buf = NULL;
    xf_err_t err = {0};
    size_t n = fx_pack (x, &buf);
    assert_true (n > 0);
    Xf__LinkFrame *g = xf_msg_frame_unpack (buf, n, &err);
    free (buf);
    if (g) {
        xf_msg_frame_free (&g);
        fail_msg ("frame was accepted");
    }
    va_list ap;
    va_start (ap, code);
    expect (&err, code, ap);
    va_end (ap);
}

/* The same for bare envelope bytes (the inner bytes of a SignedEnvelope). */
static void refused_inner (const uint8_t *bytes, size_t len, int code, ...)
{
    xf_err_t err = {0};
    uint8_t *buf = malloc (len ? len : 1);  /* exact size: ASan sees any over-read */
    memcpy (buf, bytes, len);
    Xf__Envelope *e = xf_msg_envelope_unpack (buf, len, &err);
    free (buf);
    if (e) {
        xf_msg_envelope_free (&e);
        fail_msg ("envelope bytes were accepted");
    }
    va_list ap;
    va_start (ap, code);
    expect (&err, code, ap);
    va_end (ap);
}

/* ---------------------------------------------------------------- round trips */

static void test_round_trip_each_body (void **state)
{
    (void) state;
    static const Xf__Envelope__BodyCase bodies[] = {
        XF__ENVELOPE__BODY_CASE_EVENT, XF__ENVELOPE__BODY_CASE_REQUEST,
        XF__ENVELOPE__BODY_REFUSAL, XF__ENVELOPE__BODY_STATS_REQUEST,
        XF__ENVELOPE__BODY_STATS_REPLY, XF__ENVELOPE__BODY_STATS_SNAPSHOT,
        XF__ENVELOPE__BODY_ROUTES, XF__ENVELOPE__BODY_DELIVERY_ERROR,
    };
    fx_t x;
    Xf__Envelope *e;
    for (size_t i = 0; i < sizeof bodies / sizeof *bodies; i++) {
        fx_init (&x);
        fx_body (&x, bodies[i]);
        Xf__LinkFrame *g = round_trip (&x, &e);
        assert_int_equal (g->version, 1);
        assert_int_equal (g->seq, 5);
        assert_int_equal (g->ack, 3);
        assert_int_equal (g->payload_case, XF__LINK_FRAME__PAYLOAD_ENVELOPE);
        assert_int_equal (g->envelope->signature.len, 0);
        assert_string_equal (g->envelope->signer, "");
        assert_int_equal (e->body_case, bodies[i]);
        assert_int_equal (e->format, XF_ENVELOPE_FORMAT);
        assert_string_equal (e->id->origin, "411324");
        assert_int_equal (e->id->seq, 17);
        assert_string_equal (e->to, "411300");
        assert_int_equal (e->created, 1767225600);
        assert_string_equal (xf_msg_body_name (e), xf_msg_body_name (&x.env));
        xf_msg_envelope_free (&e);
        xf_msg_frame_free (&g);
        assert_null (g);
    }
}

static void test_round_trip_each_event (void **state)
{
    (void) state;
    fx_t x;
    for (int c = XF__CASE_EVENT__BODY_REGISTRATION; c <= XF__CASE_EVENT__BODY_OVERDUE; c++) {
        fx_init (&x);
        fx_event (&x, (Xf__CaseEvent__BodyCase) c);
        Xf__Envelope *e;
        Xf__LinkFrame *g = round_trip (&x, &e);
        const Xf__CaseEvent *ev = e->case_event;
        assert_int_equal (ev->body_case, c);
        assert_string_equal (ev->case_id, CASE_ID);
        assert_string_equal (xf_msg_event_name (ev), xf_msg_event_name (&x.ev));
        xf_msg_envelope_free (&e);
        xf_msg_frame_free (&g);
    }
}

static void test_round_trip_registration_fields (void **state)
{
    (void) state;
    fx_t x;
    Xf__Envelope *e;
    fx_init (&x);
    Xf__LinkFrame *g = round_trip (&x, &e);
    const Xf__Case *c = e->case_event->registration->record;
    assert_string_equal (c->summary, "反映村干部侵占集体土地");
    assert_string_equal (c->petitioner->name, "张三");
    assert_int_equal (c->channel, XF__CHANNEL__VISIT);
    assert_int_equal (c->received, 20400);
    xf_msg_envelope_free (&e);
    xf_msg_frame_free (&g);
}

static void test_round_trip_hello_goodbye (void **state)
{
    (void) state;
    fx_t x;
    Xf__Envelope *e;
    xf_err_t err = {0};
    fx_init (&x);
    fx_hello (&x);
    Xf__LinkFrame *g = round_trip (&x, &e);
    assert_null (e);
    assert_null (xf_msg_frame_envelope (g, &err));  /* a control frame has no envelope */
    assert_string_equal (err.msg, "frame: not an envelope frame");
    assert_int_equal (g->payload_case, XF__LINK_FRAME__PAYLOAD_HELLO);
    assert_string_equal (g->hello->code, "411324");
    assert_int_equal (g->hello->applied, 40);
    assert_int_equal (g->hello->routes->n_codes, 2);
    assert_string_equal (g->hello->routes->names[1], "上集镇");
    xf_msg_frame_free (&g);

    x.frame.payload_case = XF__LINK_FRAME__PAYLOAD_GOODBYE;
    x.frame.goodbye = &x.bye;
    g = round_trip (&x, &e);
    assert_int_equal (g->payload_case, XF__LINK_FRAME__PAYLOAD_GOODBYE);
    assert_string_equal (g->goodbye->reason, "shutting down");
    xf_msg_frame_free (&g);
}

static void test_envelope_round_trip (void **state)
{
    (void) state;
    fx_t x;
    uint8_t *buf = NULL;
    xf_err_t err = {0};
    fx_init (&x);
    size_t n = xf_msg_envelope_pack (&x.env, &buf);
    assert_true (n > 0);
    Xf__Envelope *e = xf_msg_envelope_unpack (buf, n, &err);
    assert_non_null (e);
    assert_string_equal (e->to, "411300");
    assert_int_equal (e->body_case, XF__ENVELOPE__BODY_CASE_EVENT);
    xf_msg_envelope_free (&e);
    assert_null (e);
    xf_msg_envelope_free (&e);              /* NULL-safe */
    xf_msg_envelope_free (NULL);
    xf_msg_frame_free (NULL);

    buf[n / 2] ^= 0xff;                     /* a damaged stored envelope is refused */
    e = xf_msg_envelope_unpack (buf, n - 3, &err);
    assert_null (e);
    assert_int_equal (err.code, XF_EINVAL);
    free (buf);
}

static void test_unknown_field_accepted (void **state)
{
    (void) state;
    fx_t x;
    uint8_t *buf = NULL;
    xf_err_t err = {0};
    fx_init (&x);
    size_t n = fx_pack (&x, &buf);
    /* a field 99 from a newer build: older nodes ignore it (the .proto's rule) */
    uint8_t *more = malloc (n + 3);
    memcpy (more, buf, n);
    memcpy (more + n, "\x98\x06\x01", 3);
    Xf__LinkFrame *g = xf_msg_frame_unpack (more, n + 3, &err);
    if (!g)
        fail_msg ("refused: %s", err.msg);
    xf_msg_frame_free (&g);
    free (buf);
    free (more);
}

/* ---------------------------------------------------------------- damaged input */

static void test_truncated_refused (void **state)
{
    (void) state;
    fx_t x;
    uint8_t *buf = NULL;
    fx_init (&x);
    size_t n = fx_pack (&x, &buf);
    for (size_t len = 0; len < n; len++) {
        xf_err_t err = {0};
        uint8_t *copy = malloc (len ? len : 1);   /* exact size: ASan sees any over-read */
        memcpy (copy, buf, len);
        Xf__LinkFrame *f = xf_msg_frame_unpack (copy, len, &err);
        if (f) {   /* a prefix that stops before the seq field is a valid bare ack, by design */
            assert_int_equal (f->payload_case, XF__LINK_FRAME__PAYLOAD__NOT_SET);
            assert_int_equal (f->seq, 0);
            xf_msg_frame_free (&f);
        } else {
            assert_int_equal (err.code, XF_EINVAL);
            assert_non_null (strstr (err.msg, "frame"));
        }
        free (copy);
    }
    free (buf);

    /* every prefix of the inner envelope bytes, in an intact frame */
    n = xf_msg_envelope_pack (&x.env, &buf);
    x.raw = 1;
    for (size_t len = 1; len < n; len++) {
        xf_err_t err = {0};
        uint8_t *copy = malloc (len);
        memcpy (copy, buf, len);
        x.se.envelope = (ProtobufCBinaryData) { len, copy };
        assert_int_equal (xf_msg_frame_check (&x.frame, &err), XF_EINVAL);
        assert_non_null (strstr (err.msg, "frame: envelope"));
        free (copy);
    }
    free (buf);
}

static uint32_t xorshift (uint32_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 17;
    *s ^= *s << 5;
    return *s;
}

/* Whatever the bytes, unpack must not crash; what it accepts must pass the check. */
static void garbage_one (const uint8_t *bytes, size_t len, int *accepted)
{
    xf_err_t err = {0};
    uint8_t *buf = malloc (len ? len : 1);  /* exact size: ASan sees any over-read */
    memcpy (buf, bytes, len);
    Xf__LinkFrame *g = xf_msg_frame_unpack (buf, len, &err);
    free (buf);
    if (g) {
        assert_int_equal (xf_msg_frame_check (g, &err), 0);
        if (g->payload_case == XF__LINK_FRAME__PAYLOAD_ENVELOPE) {
            Xf__Envelope *e = xf_msg_frame_envelope (g, &err);
            if (!e)
                fail_msg ("accepted frame, refused envelope: %s", err.msg);
            assert_int_equal (xf_msg_envelope_check (e, &err), 0);
            xf_msg_envelope_free (&e);
        }
        (*accepted)++;
        xf_msg_frame_free (&g);
    } else
        assert_true (err.code == XF_EINVAL || err.code == XF_EVERSION);
}

static void test_random_garbage (void **state)
{
    (void) state;
    static const uint32_t seeds[] = { 1, 42, 20260101, 0x9e3779b9 };
    fx_t x;
    uint8_t *valid = NULL, buf[600];
    int accepted = 0;
    fx_init (&x);
    size_t n = fx_pack (&x, &valid);
    assert_true (n < sizeof buf);
    for (size_t s = 0; s < sizeof seeds / sizeof *seeds; s++) {
        uint32_t r = seeds[s];
        for (int i = 0; i < 500; i++) {             /* pure noise */
            size_t len = xorshift (&r) % sizeof buf;
            for (size_t j = 0; j < len; j++)
                buf[j] = (uint8_t) xorshift (&r);
            garbage_one (buf, len, &accepted);
        }
        for (int i = 0; i < 3000; i++) {            /* a valid frame with a few bytes hit */
            memcpy (buf, valid, n);
            for (uint32_t k = xorshift (&r) % 4 + 1; k; k--)
                buf[xorshift (&r) % n] = (uint8_t) xorshift (&r);
            garbage_one (buf, xorshift (&r) % 8 ? n : xorshift (&r) % n, &accepted);
        }
    }
    print_message ("random garbage: %d of %zu inputs passed the checks\n", accepted,
                   sizeof seeds / sizeof *seeds * 3500);
    free (valid);
}

static void test_oversized_refused (void **state)
{
    (void) state;
    xf_err_t err = {0};
    uint8_t *big = calloc (1, XF_MSG_MAX_FRAME + 1);
    assert_null (xf_msg_frame_unpack (big, XF_MSG_MAX_FRAME + 1, &err));
    assert_int_equal (err.code, XF_EINVAL);
    assert_non_null (strstr (err.msg, "limit"));
    assert_null (xf_msg_envelope_unpack (big, XF_MSG_MAX_FRAME + 1, &err));
    assert_non_null (strstr (err.msg, "envelope"));
    free (big);
}

/* protobuf-c keeps "abc\0def" as "abc": the re-pack size check catches it. */
static void test_embedded_nul_refused (void **state)
{
    (void) state;
    fx_t x;
    uint8_t *buf = NULL;
    fx_init (&x);
    fx_body (&x, XF__ENVELOPE__BODY_REFUSAL);
    x.refusal.reason = "abcXYZdef";
    size_t n = fx_pack (&x, &buf);
    uint8_t *p = memmem (buf, n, "XYZ", 3);
    assert_non_null (p);
    *p = '\0';
    xf_err_t err = {0};
    assert_null (xf_msg_frame_unpack (buf, n, &err));
    assert_int_equal (err.code, XF_EINVAL);
    assert_non_null (strstr (err.msg, "re-encode"));
    free (buf);
}

static void test_duplicate_field_refused (void **state)
{
    (void) state;
    fx_t x;
    uint8_t *buf = NULL;
    xf_err_t err = {0};
    fx_init (&x);
    size_t n = fx_pack (&x, &buf);
    uint8_t *more = malloc (n + 2);
    memcpy (more, buf, n);
    memcpy (more + n, "\x08\x01", 2);       /* version = 1, a second time */
    assert_null (xf_msg_frame_unpack (more, n + 2, &err));
    assert_non_null (strstr (err.msg, "re-encode"));
    free (buf);
    free (more);
}

/* ---------------------------------------------------------------- versions */

static void test_version_0_refused (void **state)
{
    (void) state;
    fx_t x;
    fx_init (&x);
    x.frame.version = 0;
    refused_on_wire (&x, XF_EINVAL, "version 0", NULL);
}

static void test_version_3_refused (void **state)
{
    (void) state;
    fx_t x;
    xf_err_t err = {0};
    fx_init (&x);
    x.frame.version = 3;
    refused_on_wire (&x, XF_EVERSION, "version 3", "(1..2)", NULL);
    assert_int_equal (fx_check (&x, &err), XF_EVERSION);
    assert_string_equal (err.msg, "frame: link version 3 is newer than this node speaks (1..2)");
}

static void test_hello_ranges (void **state)
{
    (void) state;
    fx_t x;
    xf_err_t err = {0};
    fx_init (&x);
    fx_hello (&x);
    x.hello.min_version = 3;
    x.hello.max_version = 4;
    refused_on_wire (&x, XF_EVERSION, "411324", "3..4", "1..2", NULL);
    x.hello.min_version = 2;                /* overlapping: accepted */
    assert_int_equal (fx_check (&x, &err), 0);
    x.hello.min_version = 1;
    x.hello.max_version = 1;                /* a version 1 node: accepted */
    assert_int_equal (fx_check (&x, &err), 0);
    x.hello.min_version = 3;
    x.hello.max_version = 2;
    refused_on_wire (&x, XF_EINVAL, "3..2", "invalid", NULL);
    x.hello.min_version = 0;
    refused_on_wire (&x, XF_EINVAL, "0..2", NULL);
    x.hello.min_version = 1;
    x.frame.seq = 9;
    refused_on_wire (&x, XF_EINVAL, "hello with seq 9", NULL);
    x.frame.seq = 0;
    x.hello.code = "41132";
    refused_on_wire (&x, XF_EINVAL, "code \"41132\" is not an office code", NULL);
}

/* ---------------------------------------------------------------- envelope refusals */

static void test_no_body (void **state)
{
    (void) state;
    fx_t x;
    xf_err_t err = {0};
    fx_init (&x);
    fx_body (&x, XF__ENVELOPE__BODY__NOT_SET);
    assert_int_equal (fx_check (&x, &err), XF_EINVAL);
    assert_string_equal (err.msg, "frame: envelope 411324/17: no body");
    refused_on_wire (&x, XF_EINVAL, "no body", NULL);
    fx_body (&x, XF__ENVELOPE__BODY_ROUTES);
    x.env.routes = NULL;                    /* a case set with nothing behind it */
    assert_int_equal (xf_msg_envelope_check (&x.env, &err), XF_EINVAL);
    assert_string_equal (err.msg, "envelope 411324/17: no body");
    x.frame.payload_case = XF__LINK_FRAME__PAYLOAD__NOT_SET;   /* seq 5: not a bare ack */
    assert_int_equal (fx_check (&x, &err), XF_EINVAL);
    assert_string_equal (err.msg, "frame: seq 5 without an envelope");
    x.frame.seq = 0;                                           /* a bare ack is fine */
    assert_int_equal (fx_check (&x, &err), XF_OK);
}

static void test_from_not_origin (void **state)
{
    (void) state;
    fx_t x;
    fx_init (&x);
    x.env.from = "411300";
    x.env.to = "410000";
    refused_on_wire (&x, XF_EINVAL, "envelope 411324/17", "from \"411300\" is not the origin",
                     NULL);
}

static void test_bad_codes (void **state)
{
    (void) state;
    static const char *good[] = { "411324", "411324001", "411324001002", "410000" };
    static const char *bad[] = { "000000", "41132", "4113240", "41132a", "", " 411324",
                                 "4113240010021", "411324\n", "４１１３２４" };
    for (size_t i = 0; i < sizeof good / sizeof *good; i++)
        assert_true (xf_msg_code_valid (good[i]));
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
        if (xf_msg_code_valid (bad[i]))
            fail_msg ("\"%s\" accepted as a code", bad[i]);
    assert_false (xf_msg_code_valid (NULL));

    fx_t x;
    fx_init (&x);
    x.env.to = "41132";
    refused_on_wire (&x, XF_EINVAL, "to \"41132\" is not an office code", NULL);
    x.env.to = "411324";
    refused_on_wire (&x, XF_EINVAL, "addressed to its own origin", NULL);
    fx_init (&x);
    x.id.origin = x.env.from = "4113\x01" "24";
    refused_on_wire (&x, XF_EINVAL, "origin \"4113?24\" is not an office code", NULL);
}

static void test_bad_case_ids (void **state)
{
    (void) state;
    static const char *good[] = { CASE_ID, "411324001-2026-000001", "410000-1949-999999" };
    static const char *bad[] = { "411324-26-000017", "411324-2026-00017", "411324-2026-0000170",
                                 "411324-1948-000001", "000000-2026-000001", "411324_2026_000001",
                                 "", "-2026-000001", "411324-2026-000017 ", "41132-2026-000017",
                                 "411324-2026-00001a", "4113240010021-2026-000001" };
    for (size_t i = 0; i < sizeof good / sizeof *good; i++)
        assert_true (xf_msg_case_id_valid (good[i]));
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
        if (xf_msg_case_id_valid (bad[i]))
            fail_msg ("\"%s\" accepted as a case id", bad[i]);
    assert_false (xf_msg_case_id_valid (NULL));

    fx_t x;
    fx_init (&x);
    x.ev.case_id = "4113-2026-1";
    refused_on_wire (&x, XF_EINVAL, "case id \"4113-2026-1\" is not", NULL);
}

static void test_record_id_mismatch (void **state)
{
    (void) state;
    fx_t x;
    fx_init (&x);
    x.record.id = "411324-2026-000018";
    refused_on_wire (&x, XF_EINVAL, "case 411324-2026-000017 event 1 (register)",
                     "record id \"411324-2026-000018\" does not match", NULL);
    x.reg.record = NULL;
    refused_on_wire (&x, XF_EINVAL, "registration without a record", NULL);
}

static void test_seq_zero (void **state)
{
    (void) state;
    fx_t x;
    fx_init (&x);
    x.id.seq = 0;
    refused_on_wire (&x, XF_EINVAL, "envelope 411324/0: seq 0", NULL);
    fx_init (&x);
    x.frame.seq = 0;
    refused_on_wire (&x, XF_EINVAL, "envelope with seq 0", NULL);
    fx_init (&x);
    x.ev.seq = 0;
    refused_on_wire (&x, XF_EINVAL, "event 0", "seq 0", NULL);
}

static void test_invalid_utf8 (void **state)
{
    (void) state;
    static const char *bad[] = { "ok\xff", "\xc0\xaf", "\xed\xa0\x80", "\xf4\x90\x80\x80",
                                 "\xe5\x8f", "\x80", "\xe0\x80\xaf",
                                 "\xf0\x80\x80\xaf", "\xf5\x80\x80\x80" };
    fx_t x;
    xf_err_t err = {0};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        fx_init (&x);
        x.record.summary = (char *) bad[i];
        assert_int_equal (xf_msg_envelope_check (&x.env, &err), XF_EINVAL);
        assert_non_null (strstr (err.msg,
                                 "case_event.registration.record.summary: not valid UTF-8"));
    }
    /* and protobuf-c itself lets it through: only our check stops it */
    refused_on_wire (&x, XF_EINVAL, "UTF-8", NULL);
    fx_init (&x);
    x.record.summary = "\xf0\x9f\x98\x80 𠀀 ok";     /* 4-byte sequences are fine */
    assert_int_equal (xf_msg_envelope_check (&x.env, &err), 0);
    x.pet.name = "\xe4\xb8";
    assert_int_equal (xf_msg_envelope_check (&x.env, &err), XF_EINVAL);
    assert_non_null (strstr (err.msg, "record.petitioner.name"));
    fx_init (&x);
    fx_hello (&x);
    x.names[1] = "\xff";
    refused_on_wire (&x, XF_EINVAL, "frame: hello: routes.names[1]: not valid UTF-8", NULL);
}

static void test_too_long_text (void **state)
{
    (void) state;
    fx_t x;
    xf_err_t err = {0};
    char *s = malloc (XF_MSG_MAX_TEXT + 2);
    memset (s, 'a', XF_MSG_MAX_TEXT + 1);
    s[XF_MSG_MAX_TEXT + 1] = '\0';
    fx_init (&x);
    x.record.summary = s;
    refused_on_wire (&x, XF_EINVAL, "record.summary: longer than", NULL);
    s[XF_MSG_MAX_TEXT] = '\0';              /* exactly at the limit */
    assert_int_equal (xf_msg_envelope_check (&x.env, &err), 0);
    free (s);
}

static void test_unknown_enum (void **state)
{
    (void) state;
    fx_t x;
    fx_init (&x);
    x.record.channel = (Xf__Channel) 9;
    refused_on_wire (&x, XF_EINVAL, "record.channel: unknown value 9", NULL);
}

/* Each mutation of the valid fixture must be refused with a message holding `phrase`. */
typedef struct {
    const char *what;
    void (*mutate) (fx_t *x);
    const char *phrase;
} refusal_case_t;

/* Shorthands for the mutations below: switch what the fixture's event or envelope carries. */
#define EV(c) fx_event (x, XF__CASE_EVENT__BODY_##c)
#define BODY(c) fx_body (x, XF__ENVELOPE__BODY_##c)

static void m_created (fx_t *x) { x->env.created = 0; }
static void m_no_id (fx_t *x) { x->env.id = NULL; }
static void m_no_event_body (fx_t *x) { EV (_NOT_SET); }
static void m_office (fx_t *x) { x->ev.office = "4113"; }
static void m_record_origin (fx_t *x) { x->record.origin = "411326"; }
static void m_subject (fx_t *x) { x->record.subject = 9; }
static void m_reject (fx_t *x) { EV (REJECTION); x->rej.reason = ""; }
static void m_esc_to (fx_t *x) { EV (ESCALATION); x->esc.to = "4113"; }
static void m_esc_self (fx_t *x) { EV (ESCALATION); x->esc.to = "411324"; }
static void m_asg_rec (fx_t *x)
{
    EV (ASSIGNMENT);
    x->asg.record = &x->record;
    x->record.id = "411324-2026-000001";
}
static void m_tra_to (fx_t *x) { EV (TRANSFER); x->tra.to = ""; }
static void m_urge (fx_t *x) { EV (URGE); x->urge.number = 0; }
static void m_ext (fx_t *x) { EV (EXTENSION); x->ext.days = 0; }
static void m_report (fx_t *x) { EV (REPORT); x->rep.result = ""; }
static void m_send_back (fx_t *x) { EV (SEND_BACK); x->sb.reason = NULL; }
static void m_instruct (fx_t *x) { EV (INSTRUCTION); x->ins.text = ""; }
static void m_closing (fx_t *x) { EV (CLOSING); x->clo.reply = ""; }
static void m_overdue (fx_t *x) { EV (OVERDUE); x->ovd.stage = "later"; }
static void m_req_case (fx_t *x) { BODY (CASE_REQUEST); x->req.case_id = "x"; }
static void m_req_event (fx_t *x) { BODY (CASE_REQUEST); x->req.event = NULL; }
static void m_req_other (fx_t *x)
{
    BODY (CASE_REQUEST);
    x->req_ev.case_id = "411324-2026-000002";
}
static void m_req_urge (fx_t *x) { BODY (CASE_REQUEST); x->req_urge.number = 0; }
static void m_ref_reason (fx_t *x) { BODY (REFUSAL); x->refusal.reason = ""; }
static void m_ref_case (fx_t *x) { BODY (REFUSAL); x->refusal.case_id = ""; }
static void m_ref_reply (fx_t *x) { BODY (REFUSAL); x->reply_to.seq = 0; }
static void m_sreq_id (fx_t *x) { BODY (STATS_REQUEST); x->sreq.request_id = 0; }
static void m_sreq_period (fx_t *x) { BODY (STATS_REQUEST); x->sreq.period = NULL; }
static void m_sreq_order (fx_t *x) { BODY (STATS_REQUEST); x->period.last = 1; }
static void m_srep_id (fx_t *x) { BODY (STATS_REPLY); x->srep.request_id = 0; }
static void m_srep_period (fx_t *x) { BODY (STATS_REPLY); x->srep.period = NULL; }
static void m_srep_missing (fx_t *x) { BODY (STATS_REPLY); x->missing[0] = "x"; }
static void m_snap_month (fx_t *x) { BODY (STATS_SNAPSHOT); x->snap.month = 202513; }
static void m_snap_office (fx_t *x) { BODY (STATS_SNAPSHOT); x->snap.office = ""; }
static void m_routes_names (fx_t *x) { BODY (ROUTES); x->routes.n_names = 1; }
static void m_routes_code (fx_t *x) { BODY (ROUTES); x->codes[1] = "41132400"; }
static void m_routes_none (fx_t *x) { BODY (ROUTES); x->routes.n_codes = x->routes.n_names = 0; }
static void m_derr (fx_t *x) { BODY (DELIVERY_ERROR); x->derr.undelivered = NULL; }
static void m_derr_to (fx_t *x) { BODY (DELIVERY_ERROR); x->derr.to = "9"; }

static void test_body_refusals (void **state)
{
    (void) state;
    static const refusal_case_t cases[] = {
        { "created 0", m_created, "created 0 is not a time" },
        { "no id", m_no_id, "envelope: no id" },
        { "no event body", m_no_event_body, "(none): no event body" },
        { "event office", m_office, "office \"4113\" is not an office code" },
        { "record origin", m_record_origin, "record origin 411326 is not the office in its id" },
        { "record subject", m_subject, "record subject 9" },
        { "reject reason", m_reject, "(reject): no reason" },
        { "escalate to", m_esc_to, "(escalate): to \"4113\" is not an office code" },
        { "escalate to self", m_esc_self, "to 411324 is the recording office itself" },
        { "assign record", m_asg_rec, "(assign): record id \"411324-2026-000001\" does not match" },
        { "transfer to", m_tra_to, "(transfer): to \"\" is not an office code" },
        { "urge number", m_urge, "urge number 0" },
        { "extension days", m_ext, "extension of 0 days" },
        { "report result", m_report, "(report): no result" },
        { "send back reason", m_send_back, "(send_back): no reason" },
        { "instruction text", m_instruct, "(instruct): no instruction text" },
        { "closing reply", m_closing, "(close): no reply" },
        { "overdue stage", m_overdue, "overdue stage \"later\"" },
        { "request case id", m_req_case, "case request: case id \"x\"" },
        { "request event", m_req_event, "case request 411324-2026-000017: no event" },
        { "request other case", m_req_other, "event is for case \"411324-2026-000002\"" },
        { "request event body", m_req_urge, "event 4 (urge): urge number 0" },
        { "refusal reason", m_ref_reason, "refusal of 411324-2026-000017: no reason" },
        { "refusal case", m_ref_case, "refusal: case id \"\"" },
        { "refusal reply id", m_ref_reply, "in_reply_to 411300/0 is not a global id" },
        { "stats request id", m_sreq_id, "stats request 0" },
        { "stats request period", m_sreq_period, "stats request without a period" },
        { "stats request order", m_sreq_order, "period 20362..1 ends before it starts" },
        { "stats reply id", m_srep_id, "stats reply to request 0" },
        { "stats reply period", m_srep_period, "stats reply without a period" },
        { "stats reply missing", m_srep_missing, "missing[0] \"x\" is not an office code" },
        { "snapshot month", m_snap_month, "month 202513 is not yyyymm" },
        { "snapshot office", m_snap_office, "stats snapshot office \"\"" },
        { "route names", m_routes_names, "2 codes but 1 names" },
        { "route code", m_routes_code, "codes[1] \"41132400\" is not an office code" },
        { "route empty", m_routes_none, "route announcement without codes" },
        { "delivery error id", m_derr, "no undelivered id" },
        { "delivery error to", m_derr_to, "delivery error to \"9\"" },
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        fx_t x;
        xf_err_t err = {0};
        fx_init (&x);
        cases[i].mutate (&x);
        int rc = xf_msg_envelope_check (&x.env, &err);
        if (rc != XF_EINVAL || !strstr (err.msg, cases[i].phrase))
            fail_msg ("%s: rc %d, \"%s\" lacks \"%s\"", cases[i].what, rc, err.msg,
                      cases[i].phrase);
        if (x.env.id)                       /* and the same on the wire, prefixed */
            refused_on_wire (&x, XF_EINVAL, "frame: envelope 411324/17: ",
                             cases[i].phrase, NULL);
    }
}

/* ---------------------------------------------------------------- the inner envelope */

static void test_seal (void **state)
{
    (void) state;
    fx_t x;
    uint8_t *buf = NULL, *plain = NULL;
    xf_err_t err = {0};
    Xf__SignedEnvelope se = XF__SIGNED_ENVELOPE__INIT;
    fx_init (&x);
    se.signature = (ProtobufCBinaryData) { 4, (uint8_t *) "\x30\x45\x02\x21" };
    se.signer = "sha256:ab12";
    assert_int_equal (xf_msg_seal (&x.env, &se, &buf, &err), 0);
    size_t n = xf_msg_envelope_pack (&x.env, &plain);
    assert_ptr_equal (se.envelope.data, buf);       /* the bytes are the envelope, packed */
    assert_int_equal (se.envelope.len, n);
    assert_memory_equal (buf, plain, n);
    assert_int_equal (se.signature.len, 0);         /* not signed yet: the trust issue */
    assert_string_equal (se.signer, "");
    free (buf);
    free (plain);

    x.env.created = 0;                              /* a bad envelope is not sealed */
    se.signer = "kept";
    assert_int_equal (xf_msg_seal (&x.env, &se, &buf, &err), XF_EINVAL);
    assert_null (buf);
    assert_string_equal (se.signer, "kept");
    assert_non_null (strstr (err.msg, "envelope 411324/17: created 0"));
    x.env.created = 1767225600;
    x.env.format = 2;
    assert_int_equal (xf_msg_seal (&x.env, &se, &buf, &err), XF_EVERSION);
    assert_null (buf);

    /* nor one that no frame could carry: 70 report items of 64 KiB */
    char *item = malloc (XF_MSG_MAX_TEXT + 1), *items[70];
    memset (item, 'a', XF_MSG_MAX_TEXT);
    item[XF_MSG_MAX_TEXT] = '\0';
    for (size_t i = 0; i < 70; i++)
        items[i] = item;
    x.env.format = XF_ENVELOPE_FORMAT;
    fx_event (&x, XF__CASE_EVENT__BODY_REPORT);
    x.rep.n_items = 70;
    x.rep.items = items;
    assert_int_equal (xf_msg_seal (&x.env, &se, &buf, &err), XF_EINVAL);
    assert_null (buf);
    assert_non_null (strstr (err.msg, "envelope 411324/17: packs over the frame size limit"));
    free (item);
}

static void test_format (void **state)
{
    (void) state;
    fx_t x;
    xf_err_t err = {0};
    fx_init (&x);
    x.env.format = 0;
    assert_int_equal (xf_msg_envelope_check (&x.env, &err), XF_EINVAL);
    assert_string_equal (err.msg, "envelope 411324/17: no format");
    refused_on_wire (&x, XF_EINVAL, "frame: envelope 411324/17: no format", NULL);

    x.env.format = 2;
    assert_int_equal (xf_msg_envelope_check (&x.env, &err), XF_EVERSION);
    assert_string_equal (err.msg,
                         "envelope 411324/17: format 2 is newer than this node reads (1)");
    refused_on_wire (&x, XF_EVERSION, "frame: envelope 411324/17: format 2 is newer", "(1)",
                     NULL);
    assert_int_equal (fx_check (&x, &err), XF_EVERSION);
    assert_string_equal (err.msg,
                         "frame: envelope 411324/17: format 2 is newer than this node reads (1)");
    assert_int_equal (fx_check (&x, NULL), XF_EVERSION);       /* the code without an err */
    assert_null (fx_inner (&x, &err));
    assert_int_equal (err.code, XF_EVERSION);

    /* checked first: a newer format may have changed every other rule */
    fx_body (&x, XF__ENVELOPE__BODY__NOT_SET);
    x.env.created = 0;
    refused_on_wire (&x, XF_EVERSION, "envelope 411324/17: format 2", NULL);
    x.env.id = NULL;
    assert_int_equal (xf_msg_envelope_check (&x.env, &err), XF_EVERSION);
    assert_string_equal (err.msg, "envelope: format 2 is newer than this node reads (1)");
}

/* The fixture's frame through the decoder for relays; *strict gets what xf_msg_frame_unpack
 * says of the same bytes (XF_OK or the error code). */
static Xf__LinkFrame *unpack_full (fx_t *x, Xf__Envelope **e, xf_err_t *err, int *strict)
{
    uint8_t *buf = NULL;
    xf_err_t serr = {0};
    size_t n = fx_pack (x, &buf);           /* unchecked: xf_msg_seal refuses a newer format */
    assert_true (n > 0);
    Xf__LinkFrame *g = xf_msg_frame_unpack_full (buf, n, e, err);
    Xf__LinkFrame *s = xf_msg_frame_unpack (buf, n, &serr);
    *strict = s ? XF_OK : serr.code;
    xf_msg_frame_free (&s);
    free (buf);
    return g;
}

/* xf_msg_frame_unpack_full, for relays: an envelope in a newer format comes back with only its
 * header checked, so that it can be forwarded; the strict decoder still refuses it, and a
 * newer format does not excuse a header that does not hold. */
static void test_newer_format_for_relays (void **state)
{
    (void) state;
    fx_t x;
    xf_err_t err = {0};
    Xf__Envelope *e = NULL;
    uint8_t *inner = NULL;
    fx_init (&x);
    x.env.format = XF_ENVELOPE_FORMAT + 1;
    fx_event (&x, XF__CASE_EVENT__BODY_REJECTION);
    x.rej.reason = "";                      /* a body this build refuses: not looked at */
    int strict = XF_OK;
    Xf__LinkFrame *g = unpack_full (&x, &e, &err, &strict);
    if (!g)
        fail_msg ("refused: %s", err.msg);
    assert_int_equal (strict, XF_EVERSION);
    assert_non_null (e);
    assert_int_equal (e->format, 2);
    assert_string_equal (e->id->origin, "411324");
    assert_int_equal (e->id->seq, 17);
    assert_string_equal (e->from, "411324");
    assert_string_equal (e->to, "411300");
    assert_int_equal (e->created, 1767225600);
    assert_int_equal (g->seq, 5);
    size_t n = xf_msg_envelope_pack (&x.env, &inner);
    assert_int_equal (g->envelope->envelope.len, n);   /* the bytes to forward */
    assert_memory_equal (g->envelope->envelope.data, inner, n);
    free (inner);
    xf_msg_envelope_free (&e);
    xf_msg_frame_free (&g);

    struct {
        const char *from, *to;
        int64_t created;
        const char *phrase;
    } bad[] = {
        {"411324", "abc", 1767225600, "to \"abc\" is not an office code"},
        {"411399", "411300", 1767225600, "from \"411399\" is not the origin"},
        {"411324", "411324", 1767225600, "addressed to its own origin"},
        {"411324", "411300", 0, "created 0 is not a time"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        fx_init (&x);
        x.env.format = XF_ENVELOPE_FORMAT + 1;
        x.env.from = (char *) bad[i].from;
        x.env.to = (char *) bad[i].to;
        x.env.created = bad[i].created;
        e = (Xf__Envelope *) &x;            /* must come back NULL */
        assert_null (unpack_full (&x, &e, &err, &strict));
        assert_null (e);
        assert_int_equal (err.code, XF_EINVAL);
        assert_true (strncmp (err.msg, "frame: envelope 411324/17: ", 27) == 0);
        if (!strstr (err.msg, bad[i].phrase))
            fail_msg ("\"%s\" not in \"%s\"", bad[i].phrase, err.msg);
    }
    fx_init (&x);                           /* the newer format excuses the envelope only */
    x.env.format = XF_ENVELOPE_FORMAT + 1;
    x.frame.version = 3;
    assert_null (unpack_full (&x, &e, &err, &strict));
    assert_int_equal (err.code, XF_EVERSION);
    assert_non_null (strstr (err.msg, "link version 3"));
    x.frame.version = 1;
    x.frame.seq = 0;
    assert_null (unpack_full (&x, &e, &err, &strict));
    assert_int_equal (err.code, XF_EINVAL);
    fx_init (&x);                           /* this format: every rule, the body's too */
    x.rej.reason = "";
    fx_event (&x, XF__CASE_EVENT__BODY_REJECTION);
    assert_null (unpack_full (&x, &e, &err, &strict));
    assert_int_equal (err.code, XF_EINVAL);
    assert_null (e);
    fx_hello (&x);                          /* not an envelope: no env */
    g = unpack_full (&x, &e, &err, &strict);
    assert_non_null (g);
    assert_int_equal (strict, XF_OK);
    assert_null (e);
    xf_msg_frame_free (&g);
}

/* The fixture's frame through the decoder of an office that routes (self). */
static Xf__LinkFrame *unpack_routed (fx_t *x, const char *self, Xf__Envelope **e, xf_err_t *err)
{
    uint8_t *buf = NULL;
    size_t n = fx_pack (x, &buf);
    assert_true (n > 0);
    Xf__LinkFrame *g = xf_msg_frame_unpack_routed (buf, n, self, e, err);
    free (buf);
    return g;
}

/* xf_msg_frame_unpack_routed: an envelope addressed to the office decoding it is decoded and
 * checked in full; one passing through comes back with its header alone, and a body that
 * this build refuses passes the relay (the office it is addressed to refuses it), a header
 * that does not hold does not. */
static void test_routed_reads_the_header_of_passing_envelopes (void **state)
{
    (void) state;
    fx_t x;
    xf_err_t err = {0};
    Xf__Envelope *e = NULL;
    fx_init (&x);                           /* to 411300: for 411300, in full */
    Xf__LinkFrame *g = unpack_routed (&x, "411300", &e, &err);
    if (!g)
        fail_msg ("refused: %s", err.msg);
    assert_int_equal (e->body_case, XF__ENVELOPE__BODY_CASE_EVENT);
    assert_non_null (e->case_event);
    xf_msg_envelope_free (&e);
    xf_msg_frame_free (&g);

    g = unpack_routed (&x, "410000", &e, &err);   /* passing 410000: the header */
    if (!g)
        fail_msg ("refused: %s", err.msg);
    assert_int_equal (e->body_case, XF__ENVELOPE__BODY__NOT_SET);
    assert_int_equal (e->format, XF_ENVELOPE_FORMAT);
    assert_string_equal (e->id->origin, "411324");
    assert_int_equal (e->id->seq, 17);
    assert_string_equal (e->from, "411324");
    assert_string_equal (e->to, "411300");
    assert_int_equal (e->created, 1767225600);
    assert_int_equal (e->base.n_unknown_fields, 0);
    uint8_t *inner = NULL;
    size_t n = xf_msg_envelope_pack (&x.env, &inner);
    assert_int_equal (g->envelope->envelope.len, n);   /* the bytes to forward, untouched */
    assert_memory_equal (g->envelope->envelope.data, inner, n);
    free (inner);
    xf_msg_envelope_free (&e);
    xf_msg_frame_free (&g);

    fx_event (&x, XF__CASE_EVENT__BODY_REJECTION);
    x.rej.reason = "";                      /* a body this build refuses */
    g = unpack_routed (&x, "410000", &e, &err);
    if (!g)
        fail_msg ("a relay refused a body it does not read: %s", err.msg);
    assert_int_equal (e->body_case, XF__ENVELOPE__BODY__NOT_SET);
    xf_msg_envelope_free (&e);
    xf_msg_frame_free (&g);
    /* where it is addressed: the header alone again, for the office to refuse it to its
     * origin (the frame, and the relay's link, go on); the strict decoder refuses it */
    g = unpack_routed (&x, "411300", &e, &err);
    if (!g)
        fail_msg ("refused: %s", err.msg);
    assert_int_equal (e->body_case, XF__ENVELOPE__BODY__NOT_SET);
    assert_string_equal (e->from, "411324");
    xf_msg_envelope_free (&e);
    xf_msg_frame_free (&g);
    int strict = XF_OK;
    assert_null (unpack_full (&x, &e, &err, &strict));
    assert_int_equal (err.code, XF_EINVAL);
    assert_non_null (strstr (err.msg, "frame: envelope 411324/17"));

    struct {
        const char *from, *to;
        int64_t created;
        uint32_t format;
        const char *phrase;
    } bad[] = {
        {"411324", "abc", 1767225600, 1, "to \"abc\" is not an office code"},
        {"411399", "411300", 1767225600, 1, "from \"411399\" is not the origin"},
        {"411324", "411324", 1767225600, 1, "addressed to its own origin"},
        {"411324", "411300", 0, 1, "created 0 is not a time"},
        {"411324", "411300", 1767225600, 0, "no format"},
        {"411324", "41\xff" "300", 1767225600, 1, "not valid UTF-8"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        fx_init (&x);
        x.env.from = (char *) bad[i].from;
        x.env.to = (char *) bad[i].to;
        x.env.created = bad[i].created;
        x.env.format = bad[i].format;
        e = (Xf__Envelope *) &x;            /* must come back NULL */
        assert_null (unpack_routed (&x, "410000", &e, &err));
        assert_null (e);
        assert_int_equal (err.code, XF_EINVAL);
        if (strncmp (err.msg, "frame: envelope", 15) != 0 || !strstr (err.msg, bad[i].phrase))
            fail_msg ("\"%s\" not in \"%s\"", bad[i].phrase, err.msg);
    }
    fx_init (&x);
    x.se.envelope = (ProtobufCBinaryData) { 4, (uint8_t *) "\xff\xff\xff\xff" };
    x.raw = 1;
    assert_null (unpack_routed (&x, "410000", &e, &err));
    assert_non_null (strstr (err.msg, "do not decode as EnvelopeHeader"));
    fx_hello (&x);                          /* not an envelope: no env */
    x.raw = 0;
    g = unpack_routed (&x, "410000", &e, &err);
    assert_non_null (g);
    assert_null (e);
    xf_msg_frame_free (&g);
}

/* The packed SignedEnvelope of the fixture's envelope with id seq and to `to` (malloc'd). */
static size_t signed_bytes (fx_t *x, uint64_t seq, const char *to, uint8_t **out)
{
    uint8_t *env = NULL;
    x->id.seq = seq;
    x->env.to = (char *) to;
    Xf__SignedEnvelope se = XF__SIGNED_ENVELOPE__INIT;
    se.envelope.len = xf_msg_envelope_pack (&x->env, &env);
    se.envelope.data = env;
    size_t n = xf__signed_envelope__get_packed_size (&se);
    *out = malloc (n);
    assert_non_null (*out);
    xf__signed_envelope__pack (&se, *out);
    free (env);
    return n;
}

/* Link version 2: a frame of several envelopes, packed around their bytes as protobuf-c packs
 * `more`, decoded each in turn (in full for this office, the header of one passing through). */
static void test_batch_frame (void **state)
{
    (void) state;
    fx_t x;
    xf_err_t err = {0};
    uint8_t *se[3], *frame = NULL, *want = NULL;
    size_t len[3];
    const char *to[3] = {"411300", "410000", "411300"};
    fx_init (&x);
    for (int i = 0; i < 3; i++)
        len[i] = signed_bytes (&x, 17 + (uint64_t) i, to[i], &se[i]);
    size_t n = xf_msg_frame_pack_batch (2, 40, 7, (const uint8_t *const *) se, len, 3, &frame);
    assert_true (n > 0);

    Xf__SignedEnvelope a[3];   /* the same frame built by protobuf-c */
    Xf__SignedEnvelope *more[2] = {&a[1], &a[2]};
    for (int i = 0; i < 3; i++) {
        Xf__SignedEnvelope *u = xf__signed_envelope__unpack (NULL, len[i], se[i]);
        a[i] = *u;
        a[i].envelope.data = malloc (u->envelope.len);
        memcpy (a[i].envelope.data, u->envelope.data, u->envelope.len);
        xf__signed_envelope__free_unpacked (u, NULL);
    }
    Xf__LinkFrame f = XF__LINK_FRAME__INIT;
    f.version = 2;
    f.seq = 40;
    f.ack = 7;
    f.payload_case = XF__LINK_FRAME__PAYLOAD_ENVELOPE;
    f.envelope = &a[0];
    f.n_more = 2;
    f.more = more;
    size_t nw = xf_msg_frame_pack (&f, &want);
    assert_int_equal (n, nw);
    assert_memory_equal (frame, want, n);

    Xf__Envelope *env[XF_LINK_BATCH_MAX];
    size_t got = 0;
    Xf__LinkFrame *g = xf_msg_frame_unpack_batch (frame, n, "411300", env, &got, &err);
    if (!g)
        fail_msg ("refused: %s", err.msg);
    assert_int_equal (got, 3);
    for (size_t i = 0; i < 3; i++) {
        assert_int_equal (env[i]->id->seq, 17 + i);
        assert_string_equal (env[i]->to, to[i]);
        /* for 411300 in full; the one to 410000 passes through: its header */
        assert_int_equal (env[i]->body_case, i == 1 ? XF__ENVELOPE__BODY__NOT_SET
                                                    : XF__ENVELOPE__BODY_CASE_EVENT);
        xf_msg_envelope_free (&env[i]);
    }
    assert_int_equal (g->n_more, 2);
    xf_msg_frame_free (&g);

    Xf__Envelope *one = NULL;   /* a caller that knows one envelope gets the first */
    g = xf_msg_frame_unpack_full (frame, n, &one, &err);
    assert_non_null (g);
    assert_int_equal (one->id->seq, 17);
    xf_msg_envelope_free (&one);
    xf_msg_frame_free (&g);
    free (frame);
    free (want);

    /* refused: in a version 1 frame, beside a hello, one bad envelope among them */
    assert_true (xf_msg_frame_pack_batch (1, 40, 7, (const uint8_t *const *) se, len, 1, &frame));
    free (frame);
    f.version = 1;
    n = xf_msg_frame_pack (&f, &frame);
    assert_null (xf_msg_frame_unpack_batch (frame, n, "411300", env, &got, &err));
    assert_int_equal (got, 0);
    assert_non_null (strstr (err.msg, "2 more envelopes in a link version 1 frame"));
    free (frame);
    f.version = 2;
    f.payload_case = XF__LINK_FRAME__PAYLOAD_HELLO;
    f.hello = &x.hello;
    f.seq = 0;
    n = xf_msg_frame_pack (&f, &frame);
    assert_null (xf_msg_frame_unpack_batch (frame, n, "411300", env, &got, &err));
    assert_non_null (strstr (err.msg, "2 more envelopes without an envelope"));
    free (frame);
    f.payload_case = XF__LINK_FRAME__PAYLOAD_ENVELOPE;
    f.envelope = &a[0];
    f.seq = 40;
    free (a[2].envelope.data);
    a[2].envelope.data = malloc (4);
    memcpy (a[2].envelope.data, "\xff\xff\xff\xff", 4);
    a[2].envelope.len = 4;
    n = xf_msg_frame_pack (&f, &frame);
    assert_null (xf_msg_frame_unpack_batch (frame, n, "411300", env, &got, &err));
    assert_int_equal (got, 0);   /* all or nothing: the two good ones freed (ASan) */
    assert_non_null (strstr (err.msg, "do not decode"));
    free (frame);

    Xf__SignedEnvelope *many[XF_LINK_BATCH_MAX];   /* one over the limit */
    for (size_t i = 0; i < XF_LINK_BATCH_MAX; i++)
        many[i] = &a[0];
    f.n_more = XF_LINK_BATCH_MAX;
    f.more = many;
    n = xf_msg_frame_pack (&f, &frame);
    assert_null (xf_msg_frame_unpack_batch (frame, n, "411300", env, &got, &err));
    assert_non_null (strstr (err.msg, "over the 64 a frame carries"));
    free (frame);
    for (int i = 0; i < 3; i++) {
        free (a[i].envelope.data);
        free (se[i]);
    }
}

static void test_inner_empty_or_garbage (void **state)
{
    (void) state;
    fx_t x;
    xf_err_t err = {0};
    fx_init (&x);
    x.raw = 1;                              /* se.envelope stays empty */
    assert_int_equal (xf_msg_frame_check (&x.frame, &err), XF_EINVAL);
    assert_string_equal (err.msg, "frame: signed envelope without envelope bytes");
    refused_on_wire (&x, XF_EINVAL, "without envelope bytes", NULL);
    assert_null (xf_msg_frame_envelope (&x.frame, &err));
    assert_null (xf_msg_frame_envelope (NULL, &err));
    assert_string_equal (err.msg, "frame: not an envelope frame");

    x.se.envelope = (ProtobufCBinaryData) { 4, (uint8_t *) "\xff\xff\xff\xff" };
    refused_on_wire (&x, XF_EINVAL, "frame: envelope: 4 bytes do not decode as Envelope", NULL);
    assert_null (xf_msg_frame_envelope (&x.frame, &err));
    assert_int_equal (err.code, XF_EINVAL);

    uint8_t *hello = NULL;                  /* another message in its place */
    Xf__LinkFrame other = XF__LINK_FRAME__INIT;
    other.version = 1;
    other.payload_case = XF__LINK_FRAME__PAYLOAD_HELLO;
    other.hello = &x.hello;
    size_t n = xf_msg_frame_pack (&other, &hello);
    x.se.envelope = (ProtobufCBinaryData) { n, hello };
    refused_on_wire (&x, XF_EINVAL, "frame: envelope", NULL);
    free (hello);

    x.se.envelope = (ProtobufCBinaryData) { 2, (uint8_t *) "ok" };
    x.se.signer = "\xc0\xaf";               /* the SignedEnvelope's own strings are walked */
    refused_on_wire (&x, XF_EINVAL, "frame: signed envelope: signer: not valid UTF-8", NULL);

    uint8_t *big = calloc (1, XF_MSG_MAX_FRAME + 1);    /* hand-built only: no frame holds it */
    x.se.signer = "";
    x.se.envelope = (ProtobufCBinaryData) { XF_MSG_MAX_FRAME + 1, big };
    assert_int_equal (xf_msg_frame_check (&x.frame, &err), XF_EINVAL);
    assert_non_null (strstr (err.msg, "frame: envelope: 4194305 bytes is over the"));
    free (big);
}

/* A newer build's fields: this build ignores them, and the relay forwards them untouched. */
static void test_inner_unknown_fields_accepted (void **state)
{
    (void) state;
    fx_t x;
    uint8_t *plain = NULL, *repacked = NULL;
    Xf__Envelope *e;
    fx_init (&x);
    size_t n = xf_msg_envelope_pack (&x.env, &plain);
    uint8_t *more = malloc (n + 3);
    memcpy (more, plain, n);
    memcpy (more + n, "\x98\x06\x01", 3);               /* field 99, varint 1 */
    x.raw = 1;
    x.se.envelope = (ProtobufCBinaryData) { n + 3, more };
    Xf__LinkFrame *g = round_trip (&x, &e);
    assert_int_equal (e->body_case, XF__ENVELOPE__BODY_CASE_EVENT);
    assert_int_equal (e->base.n_unknown_fields, 1);
    xf_msg_envelope_free (&e);
    xf_msg_frame_free (&g);
    free (more);
    free (plain);

    /* field 6, between format (5) and the body (10), as a newer origin packs it, and a
     * length-delimited field 7 inside the id: the re-pack moves field 6 after the body, so
     * its bytes differ from the signed ones; the envelope is still accepted */
    ProtobufCMessageUnknownField in_id = { 7, PROTOBUF_C_WIRE_TYPE_LENGTH_PREFIXED, 4,
                                           (uint8_t *) "\x03xyz" };
    x.id.base.n_unknown_fields = 1;
    x.id.base.unknown_fields = &in_id;
    Xf__Envelope body = XF__ENVELOPE__INIT;
    body.body_case = x.env.body_case;
    body.case_event = x.env.case_event;
    fx_body (&x, XF__ENVELOPE__BODY__NOT_SET);
    uint8_t *head = NULL, *tail = NULL;
    size_t nh = xf_msg_envelope_pack (&x.env, &head), nt = xf_msg_envelope_pack (&body, &tail);
    n = nh + 2 + nt;
    more = malloc (n);
    memcpy (more, head, nh);
    memcpy (more + nh, "\x30\x07", 2);                  /* field 6, varint 7 */
    memcpy (more + nh + 2, tail, nt);
    x.se.envelope = (ProtobufCBinaryData) { n, more };
    g = round_trip (&x, &e);
    assert_int_equal (e->body_case, XF__ENVELOPE__BODY_CASE_EVENT);
    assert_int_equal (e->id->base.n_unknown_fields, 1);
    assert_int_equal (xf_msg_envelope_pack (e, &repacked), n);
    assert_true (memcmp (repacked, more, n) != 0);
    xf_msg_envelope_free (&e);
    xf_msg_frame_free (&g);
    free (repacked);
    free (head);
    free (tail);
    free (more);
}

/* What the size rule refuses in a frame, the inner bytes refuse too, unknown fields or not. */
static void test_inner_non_canonical_refused (void **state)
{
    (void) state;
    fx_t x;
    uint8_t *plain = NULL;
    fx_init (&x);
    size_t n = xf_msg_envelope_pack (&x.env, &plain);
    uint8_t *more = malloc (n + 5);
    memcpy (more, plain, n);
    memcpy (more + n, "\x28\x01", 2);                   /* format = 1, a second time */
    refused_inner (more, n + 2, XF_EINVAL, "re-encode", NULL);
    memcpy (more + n, "\x98\x06\x01\x28\x01", 5);       /* the same after a newer field */
    refused_inner (more, n + 5, XF_EINVAL, "re-encode", NULL);
    x.raw = 1;
    x.se.envelope = (ProtobufCBinaryData) { n + 5, more };
    refused_on_wire (&x, XF_EINVAL, "frame: envelope: ", "re-encode", NULL);
    memcpy (more + n, "\x98\x86\x00\x01", 4);           /* an over-long tag in a newer field */
    refused_inner (more, n + 4, XF_EINVAL, "re-encode", NULL);
    free (more);
    free (plain);
}

/* An embedded NUL loses 2 bytes of a string; two counts sent unpacked each re-pack a byte
 * longer. The sizes match, so a size rule alone would let protobuf-c's "ab" stand for the
 * "ab\0x" that was signed; the inner bytes must re-pack to a permutation, and do not. */
static void test_inner_hidden_loss_refused (void **state)
{
    (void) state;
    fx_t x;
    uint8_t *buf = NULL;
    fx_init (&x);
    fx_body (&x, XF__ENVELOPE__BODY_STATS_REPLY);
    ProtobufCMessageUnknownField label = { 3, PROTOBUF_C_WIRE_TYPE_LENGTH_PREFIXED, 5,
                                           (uint8_t *) "\x04" "ab\0x" };
    ProtobufCMessageUnknownField counts[2] = {
        { 2, PROTOBUF_C_WIRE_TYPE_VARINT, 1, (uint8_t *) "\x05" },     /* by_channel */
        { 3, PROTOBUF_C_WIRE_TYPE_VARINT, 1, (uint8_t *) "\x05" },     /* by_category */
    };
    x.period.label = "";                    /* sent only as the unknown field 3 above */
    x.period.base.n_unknown_fields = 1;
    x.period.base.unknown_fields = &label;
    x.totals.n_by_channel = 0;
    x.totals.base.n_unknown_fields = 2;
    x.totals.base.unknown_fields = counts;
    x.of.figures = NULL;
    size_t n = xf_msg_envelope_pack (&x.env, &buf);

    Xf__Envelope *raw = xf__envelope__unpack (NULL, n, buf);   /* protobuf-c alone */
    assert_non_null (raw);
    assert_string_equal (raw->stats_reply->period->label, "ab");
    assert_int_equal (raw->stats_reply->totals->n_by_channel, 1);
    assert_int_equal (xf__envelope__get_packed_size (raw), n);
    xf__envelope__free_unpacked (raw, NULL);

    refused_inner (buf, n, XF_EINVAL, "re-encode as", "other bytes", NULL);
    refused_on_wire (&x, XF_EINVAL, "frame: envelope: ", "other bytes", NULL);
    free (buf);
}

static void test_names (void **state)
{
    (void) state;
    fx_t x;
    fx_init (&x);
    static const char *bodies[] = { "case_event", "case_request", "refusal", "stats_request",
                                    "stats_reply", "stats_snapshot", "routes", "delivery_error" };
    for (int c = XF__ENVELOPE__BODY_CASE_EVENT; c <= XF__ENVELOPE__BODY_DELIVERY_ERROR; c++) {
        fx_body (&x, (Xf__Envelope__BodyCase) c);
        assert_string_equal (xf_msg_body_name (&x.env), bodies[c - XF__ENVELOPE__BODY_CASE_EVENT]);
    }
    static const char *events[] = { "register", "accept", "reject", "escalate", "assign",
                                    "transfer", "urge", "extend", "report", "send_back",
                                    "instruct", "close", "review", "overdue" };
    for (int c = XF__CASE_EVENT__BODY_REGISTRATION; c <= XF__CASE_EVENT__BODY_OVERDUE; c++) {
        fx_event (&x, (Xf__CaseEvent__BodyCase) c);
        assert_string_equal (xf_msg_event_name (&x.ev),
                             events[c - XF__CASE_EVENT__BODY_REGISTRATION]);
    }
    assert_string_equal (xf_msg_body_name (NULL), "none");
    assert_string_equal (xf_msg_event_name (NULL), "none");
    fx_event (&x, XF__CASE_EVENT__BODY__NOT_SET);
    assert_string_equal (xf_msg_event_name (&x.ev), "none");
}

/* The hand-built envelope frame is byte for byte what protobuf-c packs. */
static void test_pack_signed_matches_protobuf (void **state)
{
    (void) state;
    static const uint64_t values[] = {0, 1, 127, 128, 300, 16383, 16384, UINT32_MAX,
                                      (uint64_t) 1 << 40, UINT64_MAX};
    uint8_t payload[300];
    for (size_t i = 0; i < sizeof payload; i++)
        payload[i] = (uint8_t) (i * 7);
    for (size_t a = 0; a < 10; a++)
        for (size_t b = 0; b < 10; b++) {
            Xf__SignedEnvelope se = XF__SIGNED_ENVELOPE__INIT;
            se.envelope.data = payload;
            se.envelope.len = (a * 31 + b) % sizeof payload;
            se.signer = b % 2 ? "ab12" : "";
            size_t se_len = xf__signed_envelope__get_packed_size (&se);
            uint8_t *se_bytes = malloc (se_len + 1);
            xf__signed_envelope__pack (&se, se_bytes);
            Xf__LinkFrame f = XF__LINK_FRAME__INIT;
            f.version = (uint32_t) (a % 3);
            f.seq = values[a];
            f.ack = values[b];
            f.payload_case = XF__LINK_FRAME__PAYLOAD_ENVELOPE;
            f.envelope = &se;
            uint8_t *want = NULL, *got = NULL;
            size_t nw = xf_msg_frame_pack (&f, &want);
            size_t ng = xf_msg_frame_pack_signed (f.version, f.seq, f.ack, se_bytes, se_len, &got);
            assert_int_equal (ng, nw);
            assert_memory_equal (got, want, nw);
            free (want);
            free (got);
            free (se_bytes);
        }
}

int main (void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test (test_round_trip_each_body),
        cmocka_unit_test (test_round_trip_each_event),
        cmocka_unit_test (test_round_trip_registration_fields),
        cmocka_unit_test (test_round_trip_hello_goodbye),
        cmocka_unit_test (test_envelope_round_trip),
        cmocka_unit_test (test_unknown_field_accepted),
        cmocka_unit_test (test_truncated_refused),
        cmocka_unit_test (test_random_garbage),
        cmocka_unit_test (test_oversized_refused),
        cmocka_unit_test (test_embedded_nul_refused),
        cmocka_unit_test (test_duplicate_field_refused),
        cmocka_unit_test (test_version_0_refused),
        cmocka_unit_test (test_version_3_refused),
        cmocka_unit_test (test_hello_ranges),
        cmocka_unit_test (test_no_body),
        cmocka_unit_test (test_from_not_origin),
        cmocka_unit_test (test_bad_codes),
        cmocka_unit_test (test_bad_case_ids),
        cmocka_unit_test (test_record_id_mismatch),
        cmocka_unit_test (test_seq_zero),
        cmocka_unit_test (test_invalid_utf8),
        cmocka_unit_test (test_too_long_text),
        cmocka_unit_test (test_unknown_enum),
        cmocka_unit_test (test_body_refusals),
        cmocka_unit_test (test_seal),
        cmocka_unit_test (test_format),
        cmocka_unit_test (test_newer_format_for_relays),
        cmocka_unit_test (test_routed_reads_the_header_of_passing_envelopes),
        cmocka_unit_test (test_batch_frame),
        cmocka_unit_test (test_inner_empty_or_garbage),
        cmocka_unit_test (test_inner_unknown_fields_accepted),
        cmocka_unit_test (test_inner_non_canonical_refused),
        cmocka_unit_test (test_inner_hidden_loss_refused),
        cmocka_unit_test (test_names),
        cmocka_unit_test (test_pack_signed_matches_protobuf),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
