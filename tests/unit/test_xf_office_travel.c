/* test_xf_office_travel.c — cases that travel between offices (lib/xf_office_link.c), with
 * three real stores in one process: county 411324 → city 411300 → province 410000. Envelopes
 * are carried by hand from one office's outbox to the next office's xf_office_apply, so every
 * branch runs without sockets: escalation through a relay, the record kept once, delivery
 * errors for an unknown office and for a full relay outbox (the case taken back as it was),
 * claimed origins, newer envelope formats (relayed, refused at the destination), and
 * refusals that change nothing. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "xf_office_int.h"   /* the event key, to read a stored event */
#include "xf_test_offices.h"

#define PROV "410000"
#define CITY "411300"
#define COUNTY "411324"
#define MAX_CARRIED 16

static const xf_limits_t LIM = {.accept_days = 15, .handle_days = 60, .max_extension_days = 30};

typedef xf_test_office_t office_t;

typedef struct {
    office_t prov, city, county;
    xf_actor_t who;
    xf_applied_t out[MAX_CARRIED];   /* what the last carry() did, per envelope */
} fx_t;

static void assert_has (const char *text, const char *phrase)
{
    if (!strstr (text, phrase))
        fail_msg ("\"%s\" does not mention \"%s\"", text, phrase);
}

/* ---------------------------------------------------------------- fixture */

static int open_office (office_t *o, const char *code, const char *parent)
{
    return xf_test_office_open (o, code, parent, &LIM, "test_xf_office_travel");
}

static void close_office (office_t *o)
{
    xf_test_office_close (o);
}

static int setup (void **state)
{
    fx_t *fx = calloc (1, sizeof *fx);
    xf_err_t err = {0, ""};
    static const char *const city_tree[] = {CITY, COUNTY};
    if (!fx || open_office (&fx->prov, PROV, NULL) || open_office (&fx->city, CITY, PROV)
        || open_office (&fx->county, COUNTY, CITY)
        || xf_routes_add_child (fx->prov.routes, CITY, &err)
        || xf_routes_announce (fx->prov.routes, CITY, city_tree, NULL, 2, &err)
        || xf_routes_add_child (fx->city.routes, COUNTY, &err)) {
        fprintf (stderr, "setup: %s\n", err.msg);
        return -1;
    }
    fx->who.uid = 1000;
    fx->who.now = xf_day_start (xf_day_from_ymd (2026, 11, 22)) + 9 * 3600;
    *state = fx;
    return 0;
}

static int teardown (void **state)
{
    fx_t *fx = *state;
    close_office (&fx->prov);
    close_office (&fx->city);
    close_office (&fx->county);
    free (fx);
    return 0;
}

/* ---------------------------------------------------------------- carrying envelopes */

/* Applies SignedEnvelope bytes at `to` as if they came from peer. */
static void apply_bytes (fx_t *fx, office_t *to, const char *peer, const uint8_t *bytes,
                         size_t len, xf_applied_t *out)
{
    xf_test_apply (to, peer, bytes, len, fx->who.now, out);
}

/* Moves everything `from` queued for `to` into `to`; fx->out[i] says what each did. */
static size_t carry (fx_t *fx, office_t *from, office_t *to)
{
    xf_test_taken_t t;
    xf_test_take (from, to->code, &t);
    assert_true (t.n <= MAX_CARRIED);
    for (size_t i = 0; i < t.n; i++) {
        apply_bytes (fx, to, from->code, t.bytes[i], t.len[i], &fx->out[i]);
        free (t.bytes[i]);
    }
    return t.n;
}

typedef struct {
    const char *peer;
    uint64_t waiting;
    uint8_t *first;   /* a copy of the oldest waiting entry */
    size_t first_len;
} peek_t;

static int peek_txn (xf_txn_t *txn, void *arg, xf_err_t *err)
{
    peek_t *p = arg;
    xf_link_pos_t pos;
    const void *v = NULL;
    int rc = xf_outbox_positions (txn, p->peer, &pos, err);
    p->waiting = rc == XF_OK ? pos.next_seq - 1 - pos.acked : 0;
    if (rc == XF_OK && p->waiting
        && (rc = xf_outbox_get (txn, p->peer, pos.acked + 1, &v, &p->first_len, err)) == XF_OK) {
        p->first = malloc (p->first_len);
        memcpy (p->first, v, p->first_len);
    }
    return rc;
}

/* Envelopes office o has waiting for peer. */
static uint64_t waiting (office_t *o, const char *peer)
{
    xf_err_t err = {0, ""};
    peek_t p = {.peer = peer};
    if (xf_store_read (o->store, peek_txn, &p, &err) != XF_OK)
        fail_msg ("outbox: %s", err.msg);
    free (p.first);
    return p.waiting;
}

/* The oldest envelope o has waiting for peer, decoded (caller frees). */
static Xf__Envelope *first_waiting (office_t *o, const char *peer, uint8_t **raw, size_t *raw_len)
{
    xf_err_t err = {0, ""};
    peek_t p = {.peer = peer};
    if (xf_store_read (o->store, peek_txn, &p, &err) != XF_OK || !p.first)
        fail_msg ("nothing waits at %s for %s", o->code, peer);
    Xf__SignedEnvelope *se = xf__signed_envelope__unpack (NULL, p.first_len, p.first);
    assert_non_null (se);
    Xf__Envelope *e = xf_msg_envelope_unpack (se->envelope.data, se->envelope.len, &err);
    if (!e)
        fail_msg ("waiting envelope: %s", err.msg);
    xf__signed_envelope__free_unpacked (se, NULL);
    if (raw) {
        *raw = p.first;
        *raw_len = p.first_len;
    } else
        free (p.first);
    return e;
}

/* ---------------------------------------------------------------- cases */

static void register_case (fx_t *fx, char id[XF_CASE_ID_MAX])
{
    xf_err_t err = {0, ""};
    xf_case_t *c = xf_case_new ();
    c->channel = XF__CHANNEL__LETTER;
    c->category = XF__CATEGORY__APPEAL;
    xf_case_set (&c->summary, "反映征地补偿问题");
    c->received = xf_day_of_time (fx->who.now);
    c->headcount = 1;
    if (xf_office_register (fx->county.office, &fx->who, c, &err) != XF_OK)
        fail_msg ("register: %s", err.msg);
    snprintf (id, XF_CASE_ID_MAX, "%s", c->id);
    xf_case_destroy (&c);
}

static xf_case_t *get_case (office_t *o, const char *id)
{
    xf_err_t err = {0, ""};
    xf_case_t *c = xf_office_get (o->office, id, &err);
    if (!c)
        fail_msg ("%s at %s: %s", id, o->code, err.msg);
    return c;
}

static void assert_owner_status (office_t *o, const char *id, const char *owner, int status)
{
    xf_case_t *c = get_case (o, id);
    assert_string_equal (c->owner, owner);
    assert_int_equal (c->status, status);
    xf_case_destroy (&c);
}

static void escalate (fx_t *fx, const char *id, const char *to)
{
    xf_err_t err = {0, ""};
    if (xf_office_escalate (fx->county.office, &fx->who, &fx->county.net, id, to, "需要上级协调",
                            &err) != XF_OK)
        fail_msg ("escalate %s to %s: %s", id, to, err.msg);
}

/* The last event of id's history at o, as JSON (caller decrefs). */
static json_t *last_event (office_t *o, const char *id)
{
    xf_err_t err = {0, ""};
    json_t *h = xf_office_history (o->office, id, &err);
    if (!h)
        fail_msg ("history: %s", err.msg);
    json_t *events = json_object_get (h, "events");
    json_t *last = json_incref (json_array_get (events, json_array_size (events) - 1));
    json_decref (h);
    return last;
}

typedef struct {
    const char *id;
    uint32_t seq;
    bool has_record;
    bool found;
} stored_event_t;

static int stored_event_txn (xf_txn_t *txn, void *arg, xf_err_t *err)
{
    stored_event_t *s = arg;
    uint8_t key[XF_CASE_ID_MAX + 5];
    const void *v = NULL;
    size_t len = 0;
    int rc = xf_txn_get (txn, XF_DB_EVENTS, key, xf_office_event_key (key, s->id, s->seq), &v,
                         &len, err);
    if (rc == XF_ENOTFOUND)
        return XF_OK;
    Xf__CaseEvent *ev = rc == XF_OK ? xf__case_event__unpack (NULL, len, v) : NULL;
    if (ev) {
        s->found = ev->body_case == XF__CASE_EVENT__BODY_ESCALATION;
        s->has_record = s->found && ev->escalation->record != NULL;
        xf__case_event__free_unpacked (ev, NULL);
    }
    return rc;
}

/* Whether the stored escalation event seq of id at o keeps the record it carried. */
static bool stored_escalation_has_record (office_t *o, const char *id, uint32_t seq)
{
    xf_err_t err = {0, ""};
    stored_event_t s = {id, seq, false, false};
    assert_int_equal (xf_store_read (o->store, stored_event_txn, &s, &err), XF_OK);
    if (!s.found)
        fail_msg ("no escalation event %u of %s at %s", (unsigned) seq, id, o->code);
    return s.has_record;
}

static int64_t counted_today (fx_t *fx, office_t *o, int counter)
{
    xf_err_t err = {0, ""};
    xf_figures_t f;
    xf_day_t d = xf_day_of_time (fx->who.now);
    assert_int_equal (xf_office_stats (o->office, d, d, &f, &err), XF_OK);
    return f.v[counter];
}

static int64_t escalated_today (fx_t *fx, office_t *o)
{
    return counted_today (fx, o, XF_ST_ESCALATED);
}

static void transfer (fx_t *fx, const char *id, const char *to)
{
    xf_err_t err = {0, ""};
    xf_move_req_t m = {.kind = XF_MOVE_TRANSFER, .to = to, .text = "请按职责办理"};
    if (xf_office_move (fx->county.office, &fx->who, &fx->county.net, &id, 1, &m, NULL, &err))
        fail_msg ("transfer %s to %s: %s", id, to, err.msg);
}

static uint64_t undelivered (office_t *o)
{
    xf_err_t err = {0, ""};
    uint64_t n = 99;
    assert_int_equal (xf_office_undelivered (o->office, &n, &err), XF_OK);
    return n;
}

/* ---------------------------------------------------------------- tests */

/* What a move remembers for a take back: the stored record less the fields a move never
 * changes and the petitioner key, filtered from the stored bytes without decoding them;
 * byte for byte what the record packs to with those fields empty. */
static void test_slim_record_filtered_as_packed (void **state)
{
    (void) state;
    Xf__Case c = XF__CASE__INIT;
    Xf__Petitioner p = XF__PETITIONER__INIT;
    Xf__Accused a = XF__ACCUSED__INIT;
    char *watchers[] = {(char *) COUNTY, (char *) CITY};
    uint8_t key[] = {1, 2, 3, 4};
    c.id = (char *) COUNTY "-2026-000009";
    c.origin = c.owner = (char *) COUNTY;
    c.summary = (char *) "来信反映征地补偿问题";
    p.name = (char *) "张三";
    c.petitioner = &p;
    a.name = (char *) "李四";
    c.accused = &a;
    c.query_code = (char *) "K7M2Q9";
    c.petitioner_key = (ProtobufCBinaryData) {sizeof key, key};
    c.leader = (char *) "王五";
    c.reject_reason = (char *) "不属于受理范围";
    c.reply = (char *) "已答复";
    c.watchers = watchers;
    c.n_watchers = 2;
    c.status = XF__STATUS__IN_PROGRESS;
    c.handle_due = 20260;
    size_t n = 0, sn = 0, want_n = 0;
    uint8_t *full = xf_case_pack (&c, &n), *slim = malloc (n);
    assert_non_null (full);
    assert_non_null (slim);
    assert_int_not_equal ((sn = xf_office_slim_bytes (full, n, slim)), SIZE_MAX);
    c.summary = c.query_code = c.leader = c.reject_reason = c.reply = NULL;
    c.petitioner = NULL;
    c.accused = NULL;
    c.petitioner_key = (ProtobufCBinaryData) {0, NULL};
    uint8_t *want = xf_case_pack (&c, &want_n);
    assert_non_null (want);
    assert_int_equal (sn, want_n);
    assert_memory_equal (slim, want, want_n);
    assert_int_equal (xf_office_slim_bytes (full, n - 1, slim), SIZE_MAX);   /* cut */
    free (want);
    free (slim);
    free (full);
}

/* County → city (relay, bytes untouched) → province; the record is kept once per office. */
static void test_escalation_through_a_relay (void **state)
{
    fx_t *fx = *state;
    char id[XF_CASE_ID_MAX];
    uint8_t *at_county = NULL, *at_city = NULL;
    size_t county_len = 0, city_len = 0;
    register_case (fx, id);
    escalate (fx, id, PROV);
    assert_owner_status (&fx->county, id, PROV, XF__STATUS__REGISTERED);   /* the replica */
    assert_int_equal (waiting (&fx->county, CITY), 1);
    Xf__Envelope *e = first_waiting (&fx->county, CITY, &at_county, &county_len);
    assert_string_equal (e->to, PROV);
    xf_msg_envelope_free (&e);

    assert_int_equal (carry (fx, &fx->county, &fx->city), 1);
    assert_true (fx->out[0].relayed);
    assert_false (fx->out[0].refused);
    assert_string_equal (fx->out[0].hop, PROV);
    e = first_waiting (&fx->city, PROV, &at_city, &city_len);
    xf_msg_envelope_free (&e);
    assert_int_equal (city_len, county_len);
    assert_memory_equal (at_city, at_county, county_len);   /* relayed byte for byte */
    free (at_city);
    free (at_county);
    assert_null (xf_office_get (fx->city.office, id, &(xf_err_t) {0, ""}));   /* not applied */

    assert_int_equal (carry (fx, &fx->city, &fx->prov), 1);
    assert_false (fx->out[0].refused);
    xf_case_t *c = get_case (&fx->prov, id);
    assert_string_equal (c->owner, PROV);
    assert_int_equal (c->status, XF__STATUS__REGISTERED);
    assert_int_equal (c->accept_due, xf_day_of_time (fx->who.now) + LIM.accept_days);
    assert_false (stored_escalation_has_record (&fx->prov, id, c->last_event));
    assert_false (stored_escalation_has_record (&fx->county, id, c->last_event));
    xf_case_destroy (&c);
    assert_int_equal (escalated_today (fx, &fx->county), 1);
    assert_int_equal (waiting (&fx->prov, CITY), 0);   /* nothing bounced */
}

/* An office nobody knows (a transfer sideways to a code no office announced): the root sends
 * a delivery error back, and the county takes each case back as it was — registered, or in
 * progress once accepted. */
static void test_unknown_office_comes_back (void **state)
{
    fx_t *fx = *state;
    char reg[XF_CASE_ID_MAX], acc[XF_CASE_ID_MAX];
    xf_err_t err = {0, ""};
    register_case (fx, reg);
    register_case (fx, acc);
    assert_int_equal (xf_office_accept (fx->county.office, &fx->who, acc, true, &err), XF_OK);
    xf_case_t *before = get_case (&fx->county, acc);
    transfer (fx, reg, "419999");
    transfer (fx, acc, "419999");
    assert_int_equal (counted_today (fx, &fx->county, XF_ST_TRANSFERRED), 2);

    assert_int_equal (carry (fx, &fx->county, &fx->city), 2);   /* up: unknown codes go up */
    assert_true (fx->out[0].relayed && fx->out[1].relayed);
    assert_int_equal (carry (fx, &fx->city, &fx->prov), 2);
    for (int i = 0; i < 2; i++) {
        assert_true (fx->out[i].refused);
        assert_true (fx->out[i].bounced);
        assert_has (fx->out[i].reason, "419999");
    }
    Xf__Envelope *de = first_waiting (&fx->prov, CITY, NULL, NULL);
    assert_int_equal (de->body_case, XF__ENVELOPE__BODY_DELIVERY_ERROR);
    assert_string_equal (de->to, COUNTY);
    assert_string_equal (de->delivery_error->to, "419999");
    assert_string_equal (de->delivery_error->case_id, reg);
    assert_string_equal (de->delivery_error->event, "transfer");
    assert_string_equal (de->delivery_error->undelivered->origin, COUNTY);
    assert_int_equal (de->delivery_error->created, fx->who.now);
    xf_msg_envelope_free (&de);

    assert_int_equal (carry (fx, &fx->prov, &fx->city), 2);
    assert_true (fx->out[0].relayed && fx->out[1].relayed);
    assert_int_equal (carry (fx, &fx->city, &fx->county), 2);
    for (int i = 0; i < 2; i++) {
        assert_true (fx->out[i].undelivered);
        assert_true (fx->out[i].returned);
        assert_false (fx->out[i].refused);
    }
    assert_owner_status (&fx->county, reg, COUNTY, XF__STATUS__REGISTERED);
    assert_owner_status (&fx->county, acc, COUNTY, XF__STATUS__IN_PROGRESS);
    xf_case_t *after = get_case (&fx->county, acc);
    assert_int_equal (after->handle_due, before->handle_due);
    assert_int_equal (after->due_counted, before->due_counted);
    assert_true (after->filed);
    xf_case_destroy (&after);
    xf_case_destroy (&before);
    json_t *ev = last_event (&fx->county, acc);
    assert_string_equal (json_string_value (json_object_get (ev, "type")), "returned");
    assert_string_equal (json_string_value (json_object_get (ev, "to")), "419999");
    assert_string_equal (json_string_value (json_object_get (ev, "by")), PROV);
    assert_has (json_string_value (json_object_get (ev, "reason")), "419999");
    json_decref (ev);
    assert_int_equal (undelivered (&fx->county), 2);
    assert_int_equal (counted_today (fx, &fx->county, XF_ST_TRANSFERRED), 0);
    assert_int_equal (undelivered (&fx->prov), 0);

    /* the deadline is back: a day after accept_due the scan marks the registered one */
    xf_case_t *c = get_case (&fx->county, reg);
    int64_t later = xf_day_start (c->accept_due + 1) + 3600;
    xf_case_destroy (&c);
    size_t marked = 0;
    assert_int_equal (xf_office_scan_deadlines (fx->county.office, later, &marked, &err), XF_OK);
    assert_int_equal (marked, 1);

    /* and it can go up again, properly addressed */
    escalate (fx, reg, PROV);
    carry (fx, &fx->county, &fx->city);
    carry (fx, &fx->city, &fx->prov);
    assert_false (fx->out[0].refused);
    assert_owner_status (&fx->prov, reg, PROV, XF__STATUS__REGISTERED);
}

/* A relay whose outbox toward the destination is full returns the envelope to its origin
 * and keeps what it had queued. */
static void test_full_relay_outbox_returns (void **state)
{
    fx_t *fx = *state;
    char a[XF_CASE_ID_MAX], b[XF_CASE_ID_MAX];
    register_case (fx, a);
    register_case (fx, b);
    fx->city.net.outbox_limit = 1;
    escalate (fx, a, PROV);
    escalate (fx, b, PROV);
    assert_int_equal (carry (fx, &fx->county, &fx->city), 2);
    assert_true (fx->out[0].relayed);
    assert_true (fx->out[1].refused);
    assert_true (fx->out[1].bounced);
    assert_false (fx->out[1].relayed);
    assert_has (fx->out[1].reason, "full");
    assert_has (fx->out[1].reason, PROV);
    assert_int_equal (waiting (&fx->city, PROV), 1);
    assert_int_equal (carry (fx, &fx->city, &fx->county), 1);
    assert_true (fx->out[0].returned);
    assert_owner_status (&fx->county, a, PROV, XF__STATUS__REGISTERED);
    assert_owner_status (&fx->county, b, COUNTY, XF__STATUS__REGISTERED);
    json_t *ev = last_event (&fx->county, b);
    assert_string_equal (json_string_value (json_object_get (ev, "by")), CITY);
    json_decref (ev);
    assert_int_equal (escalated_today (fx, &fx->county), 1);
}

/* A child speaks for its subtree only: an envelope claiming another origin is refused and
 * nothing is sent to the office it names. */
static void test_claimed_origin_refused_not_answered (void **state)
{
    fx_t *fx = *state;
    char id[XF_CASE_ID_MAX];
    uint8_t *raw = NULL;
    size_t len = 0;
    register_case (fx, id);
    escalate (fx, id, PROV);
    Xf__Envelope *e = first_waiting (&fx->county, CITY, &raw, &len);
    xf_msg_envelope_free (&e);
    /* the same bytes, as if a sibling county 411326 had sent them: not its subtree */
    xf_err_t err = {0, ""};
    assert_int_equal (xf_routes_add_child (fx->city.routes, "411326", &err), XF_OK);
    apply_bytes (fx, &fx->city, "411326", raw, len, &fx->out[0]);
    assert_true (fx->out[0].refused);
    assert_false (fx->out[0].bounced);
    assert_has (fx->out[0].reason, "cannot speak for");
    assert_int_equal (waiting (&fx->city, PROV), 0);
    assert_int_equal (waiting (&fx->city, COUNTY), 0);
    assert_int_equal (waiting (&fx->city, "411326"), 0);
    free (raw);
}

/* Packed SignedEnvelope bytes of an envelope in a newer format (xf_msg_seal refuses those). */
static size_t newer_format_bytes (fx_t *fx, const char *to, uint8_t **out)
{
    Xf__GlobalId gid = XF__GLOBAL_ID__INIT;
    Xf__Envelope env = XF__ENVELOPE__INIT;
    Xf__DeliveryError body = XF__DELIVERY_ERROR__INIT;   /* any body: nobody reads it */
    Xf__SignedEnvelope se = XF__SIGNED_ENVELOPE__INIT;
    gid.origin = (char *) COUNTY;
    gid.seq = 900;
    env.id = &gid;
    env.from = (char *) COUNTY;
    env.to = (char *) to;
    env.created = fx->who.now;
    env.format = XF_ENVELOPE_FORMAT + 1;
    env.body_case = XF__ENVELOPE__BODY_DELIVERY_ERROR;
    env.delivery_error = &body;
    body.reason = (char *) "";
    uint8_t inner[512];
    se.envelope.len = xf__envelope__pack (&env, inner);
    se.envelope.data = inner;
    *out = malloc (xf__signed_envelope__get_packed_size (&se));
    return xf__signed_envelope__pack (&se, *out);
}

/* A newer format: a relay forwards it untouched; the office it is for refuses it, says to
 * upgrade, and tells the origin. The strict decoder still refuses it. */
static void test_newer_format_relayed_then_refused (void **state)
{
    fx_t *fx = *state;
    uint8_t *raw = NULL, *relayed = NULL, *frame = NULL;
    size_t len = newer_format_bytes (fx, PROV, &raw), relayed_len = 0;
    xf_err_t err = {0, ""};
    size_t flen = xf_msg_frame_pack_signed (1, 1, 0, raw, len, &frame);
    assert_null (xf_msg_frame_unpack (frame, flen, &err));
    assert_int_equal (err.code, XF_EVERSION);
    free (frame);

    apply_bytes (fx, &fx->city, COUNTY, raw, len, &fx->out[0]);
    assert_true (fx->out[0].relayed);
    Xf__Envelope *e = NULL;
    xf_err_t ignored = {0, ""};
    /* the strict decoder cannot read it; compare the stored bytes directly */
    peek_t p = {.peer = PROV};
    assert_int_equal (xf_store_read (fx->city.store, peek_txn, &p, &ignored), XF_OK);
    relayed = p.first;
    relayed_len = p.first_len;
    assert_int_equal (relayed_len, len);
    assert_memory_equal (relayed, raw, len);

    apply_bytes (fx, &fx->prov, CITY, relayed, relayed_len, &fx->out[0]);
    assert_true (fx->out[0].refused);
    assert_true (fx->out[0].bounced);
    assert_has (fx->out[0].reason, "newer");
    assert_has (fx->out[0].reason, "upgrade office 410000");
    Xf__Envelope *de = first_waiting (&fx->prov, CITY, NULL, NULL);
    assert_string_equal (de->delivery_error->case_id, "");   /* the body was not read */
    assert_string_equal (de->to, COUNTY);
    xf_msg_envelope_free (&de);
    free (relayed);
    free (raw);

    /* a newer format with a header that does not hold is refused even by a relay */
    Xf__GlobalId gid = XF__GLOBAL_ID__INIT;
    Xf__Envelope env = XF__ENVELOPE__INIT;
    Xf__SignedEnvelope se = XF__SIGNED_ENVELOPE__INIT;
    uint8_t inner[256];
    gid.origin = (char *) COUNTY;
    gid.seq = 901;
    env.id = &gid;
    env.from = (char *) "411399";   /* not the origin */
    env.to = (char *) PROV;
    env.created = fx->who.now;
    env.format = XF_ENVELOPE_FORMAT + 1;
    se.envelope.len = xf__envelope__pack (&env, inner);
    se.envelope.data = inner;
    uint8_t sebuf[512];
    size_t selen = xf__signed_envelope__pack (&se, sebuf);
    flen = xf_msg_frame_pack_signed (1, 1, 0, sebuf, selen, &frame);
    assert_null (xf_msg_frame_unpack_full (frame, flen, &e, &err));
    assert_null (e);
    assert_has (err.msg, "is not the origin");
    free (frame);
}

/* Packed SignedEnvelope of a DeliveryError from `from` to `to` (seq gseq) about envelope
 * lost_origin/1 that was going to lost_to; case_id may be "". Returns the length in buf. */
static size_t delivery_error_bytes (fx_t *fx, const char *from, const char *to, uint64_t gseq,
                                    const char *lost_origin, const char *lost_to,
                                    const char *case_id, uint8_t buf[1024])
{
    xf_err_t err = {0, ""};
    Xf__GlobalId gid = XF__GLOBAL_ID__INIT, lost = XF__GLOBAL_ID__INIT;
    Xf__Envelope env = XF__ENVELOPE__INIT;
    Xf__DeliveryError de = XF__DELIVERY_ERROR__INIT;
    Xf__SignedEnvelope se = XF__SIGNED_ENVELOPE__INIT;
    uint8_t *inner = NULL;
    gid.origin = (char *) from;
    gid.seq = gseq;
    lost.origin = (char *) lost_origin;
    lost.seq = 1;
    de.undelivered = &lost;
    de.to = (char *) lost_to;
    de.reason = (char *) "no office there";
    de.case_id = (char *) case_id;
    de.event = (char *) (*case_id ? "escalate" : "");
    de.created = fx->who.now;
    env.id = &gid;
    env.from = (char *) from;
    env.to = (char *) to;
    env.created = fx->who.now;
    env.format = XF_ENVELOPE_FORMAT;
    env.body_case = XF__ENVELOPE__BODY_DELIVERY_ERROR;
    env.delivery_error = &de;
    assert_int_equal (xf_msg_seal (&env, &se, &inner, &err), XF_OK);
    assert_true (xf__signed_envelope__get_packed_size (&se) <= 1024);
    size_t len = xf__signed_envelope__pack (&se, buf);
    free (inner);
    return len;
}

/* The header of an envelope from the county to the province, its seq given; no body. */
static void county_to_province (const fx_t *fx, Xf__GlobalId *gid, Xf__Envelope *env,
                                uint64_t seq)
{
    xf__global_id__init (gid);
    xf__envelope__init (env);
    gid->origin = (char *) COUNTY;
    gid->seq = seq;
    env->id = gid;
    env->from = (char *) COUNTY;
    env->to = (char *) PROV;
    env->created = fx->who.now;
    env->format = XF_ENVELOPE_FORMAT;
}

/* SignedEnvelope bytes from the county to the province whose header holds and whose body
 * does not: the city passes them on (it reads the header only); the province refuses them
 * with a reason that says `why` and tells the county (a delivery error for envelope seq). */
static void refused_where_addressed (fx_t *fx, const uint8_t *bytes, size_t len,
                                     const char *why, uint64_t seq)
{
    apply_bytes (fx, &fx->city, COUNTY, bytes, len, &fx->out[0]);
    assert_true (fx->out[0].relayed);       /* the relay reads the header only */
    assert_int_equal (carry (fx, &fx->city, &fx->prov), 1);
    assert_true (fx->out[0].refused);
    assert_true (fx->out[0].bounced);
    assert_has (fx->out[0].reason, why);
    Xf__Envelope *de = first_waiting (&fx->prov, CITY, NULL, NULL);
    assert_int_equal (de->body_case, XF__ENVELOPE__BODY_DELIVERY_ERROR);
    assert_string_equal (de->to, COUNTY);
    assert_int_equal (de->delivery_error->undelivered->seq, seq);
    xf_msg_envelope_free (&de);
}

/* An envelope whose header holds and whose body does not (a rejection without its reason),
 * from the county to the province: the province refuses it and tells the county, instead of
 * refusing the city's frame, which would stop the city's link and every county behind it. */
static void test_bad_body_refused_where_addressed (void **state)
{
    fx_t *fx = *state;
    xf_err_t err = {0, ""};
    Xf__GlobalId gid;
    Xf__Envelope env;
    Xf__CaseEvent ev = XF__CASE_EVENT__INIT;
    Xf__Rejection rej = XF__REJECTION__INIT;
    Xf__SignedEnvelope se = XF__SIGNED_ENVELOPE__INIT;
    uint8_t *inner = NULL, buf[1024];
    county_to_province (fx, &gid, &env, 900);
    ev.case_id = (char *) COUNTY "-2026-000001";
    ev.seq = 2;
    ev.office = (char *) COUNTY;
    ev.body_case = XF__CASE_EVENT__BODY_REJECTION;
    ev.rejection = &rej;
    rej.reason = (char *) "";               /* refused by the checks: a rejection says why */
    env.body_case = XF__ENVELOPE__BODY_CASE_EVENT;
    env.case_event = &ev;
    se.envelope.len = xf_msg_envelope_pack (&env, &inner);
    se.envelope.data = inner;
    assert_int_equal (xf_msg_envelope_check (&env, &err), XF_EINVAL);
    size_t len = xf__signed_envelope__pack (&se, buf);
    free (inner);
    refused_where_addressed (fx, buf, len, "body does not hold", 900);
}

/* An envelope whose body nests CaseEvents 20,000 deep (75 KB), from the county to the
 * province: protobuf-c alone decodes it by recursion until the stack overflows, and the
 * province would crash again on the same frame after every restart. The province measures
 * the nesting before decoding and refuses it. */
static void test_deeply_nested_body_refused_where_addressed (void **state)
{
    fx_t *fx = *state;
    Xf__GlobalId gid;
    Xf__Envelope env;
    Xf__SignedEnvelope se = XF__SIGNED_ENVELOPE__INIT;
    uint8_t *inner = NULL, *events = NULL;
    county_to_province (fx, &gid, &env, 901);
    size_t n = xf_test_nested_events (20000, &events);
    assert_true (n > 0);
    se.envelope.len = xf_test_envelope_around (&env, events, n, &inner);
    se.envelope.data = inner;
    assert_true (se.envelope.len > n);
    uint8_t *buf = malloc (se.envelope.len + 16);
    assert_non_null (buf);
    size_t len = xf__signed_envelope__pack (&se, buf);
    free (inner);
    free (events);
    refused_where_addressed (fx, buf, len, "more than 32 deep", 901);
    free (buf);
}

/* A delivery error nobody can deliver is refused, never answered (no ping-pong). */
static void test_undeliverable_delivery_error_not_answered (void **state)
{
    fx_t *fx = *state;
    uint8_t buf[1024];
    size_t len = delivery_error_bytes (fx, COUNTY, "419999", 77, "419999", COUNTY, "", buf);
    apply_bytes (fx, &fx->city, COUNTY, buf, len, &fx->out[0]);
    assert_true (fx->out[0].relayed);   /* unknown codes go up */
    carry (fx, &fx->city, &fx->prov);
    assert_true (fx->out[0].refused);
    assert_false (fx->out[0].bounced);
    assert_int_equal (waiting (&fx->prov, CITY), 0);
}

/* A delivery error for a case that has moved on (its owner is not the office the error
 * names) changes nothing but the count. */
static void test_late_delivery_error_changes_nothing (void **state)
{
    fx_t *fx = *state;
    char id[XF_CASE_ID_MAX];
    register_case (fx, id);
    escalate (fx, id, PROV);
    uint8_t buf[1024];
    /* it went to the province, not to 419999 */
    size_t len = delivery_error_bytes (fx, PROV, COUNTY, 3, COUNTY, "419999", id, buf);
    apply_bytes (fx, &fx->county, CITY, buf, len, &fx->out[0]);
    assert_true (fx->out[0].undelivered);
    assert_false (fx->out[0].returned);
    assert_false (fx->out[0].refused);
    assert_has (fx->out[0].reason, id);
    assert_owner_status (&fx->county, id, PROV, XF__STATUS__REGISTERED);
    assert_int_equal (undelivered (&fx->county), 1);
    assert_int_equal (escalated_today (fx, &fx->county), 1);

    /* one for an envelope of another office is refused */
    len = delivery_error_bytes (fx, PROV, COUNTY, 4, "411326", "419999", id, buf);
    apply_bytes (fx, &fx->county, CITY, buf, len, &fx->out[0]);
    assert_true (fx->out[0].refused);
    assert_false (fx->out[0].undelivered);
    assert_int_equal (undelivered (&fx->county), 1);
}

/* Refused escalations change nothing: no outbox entry, the case as it was. */
static void test_escalation_refusals_change_nothing (void **state)
{
    fx_t *fx = *state;
    char id[XF_CASE_ID_MAX];
    xf_err_t err = {0, ""};
    register_case (fx, id);
    struct {
        office_t *at;
        const char *to, *note, *phrase;
    } bad[] = {
        {&fx->county, PROV, "", "note is required"},
        {&fx->county, "4113", "n", "not an office code"},
        {&fx->county, COUNTY, "n", "already at office"},
        {&fx->city, PROV, "n", "no case"},      /* the city does not have it */
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        int rc = xf_office_escalate (bad[i].at->office, &fx->who, &bad[i].at->net, id, bad[i].to,
                                     bad[i].note, &err);
        assert_int_not_equal (rc, XF_OK);
        assert_has (err.msg, bad[i].phrase);
    }
    char down[XF_CASE_ID_MAX];
    register_case (fx, down);
    assert_int_equal (waiting (&fx->county, CITY), 0);
    assert_owner_status (&fx->county, id, COUNTY, XF__STATUS__REGISTERED);
    /* the origin's own outbox limit */
    fx->county.net.outbox_limit = 1;
    escalate (fx, id, PROV);
    assert_int_equal (xf_office_escalate (fx->county.office, &fx->who, &fx->county.net, down,
                                          PROV, "n", &err), XF_ESTATE);
    assert_has (err.msg, "411300");
    assert_has (err.msg, "limit 1");
    assert_owner_status (&fx->county, down, COUNTY, XF__STATUS__REGISTERED);
    assert_int_equal (waiting (&fx->county, CITY), 1);
    /* the province has no parent */
    assert_int_equal (xf_office_escalate (fx->prov.office, &fx->who, &fx->prov.net, id, NULL, "n",
                                          &err), XF_EINVAL);
    assert_has (err.msg, "no parent");
    /* nor does one escalate down: the city, owning a case, cannot send it to its county */
    char up[XF_CASE_ID_MAX];
    fx->county.net.outbox_limit = 0;
    register_case (fx, up);
    escalate (fx, up, CITY);
    carry (fx, &fx->county, &fx->city);
    assert_owner_status (&fx->city, up, CITY, XF__STATUS__REGISTERED);
    assert_int_equal (xf_office_escalate (fx->city.office, &fx->who, &fx->city.net, up, COUNTY,
                                          "n", &err), XF_EINVAL);
    assert_has (err.msg, "below this office");
    assert_int_equal (waiting (&fx->city, COUNTY), 0);
}

/* A stored event of the case's history that does not decode (the store damaged): the move
 * that would carry the history to its new office is refused, naming the case, and nothing
 * moves or waits to be sent. */
static void test_undecodable_history_refuses_the_move (void **state)
{
    fx_t *fx = *state;
    char id[XF_CASE_ID_MAX];
    xf_err_t err = {0, ""};
    uint8_t key[XF_CASE_ID_MAX + 5], junk[] = {0xff, 0xff, 0xff};
    register_case (fx, id);
    assert_int_equal (xf_store_put (fx->county.store, XF_DB_EVENTS, key,
                                    xf_office_event_key (key, id, 1), junk, sizeof junk, &err),
                      XF_OK);
    assert_int_equal (xf_office_escalate (fx->county.office, &fx->who, &fx->county.net, id, PROV,
                                          "需要上级协调", &err), XF_ESTORE);
    assert_has (err.msg, id);
    assert_has (err.msg, "a stored event does not decode");
    assert_owner_status (&fx->county, id, COUNTY, XF__STATUS__REGISTERED);
    assert_int_equal (waiting (&fx->county, CITY), 0);
}

int main (void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test (test_slim_record_filtered_as_packed),
        cmocka_unit_test_setup_teardown (test_escalation_through_a_relay, setup, teardown),
        cmocka_unit_test_setup_teardown (test_unknown_office_comes_back, setup, teardown),
        cmocka_unit_test_setup_teardown (test_full_relay_outbox_returns, setup, teardown),
        cmocka_unit_test_setup_teardown (test_claimed_origin_refused_not_answered, setup, teardown),
        cmocka_unit_test_setup_teardown (test_newer_format_relayed_then_refused, setup, teardown),
        cmocka_unit_test_setup_teardown (test_bad_body_refused_where_addressed, setup, teardown),
        cmocka_unit_test_setup_teardown (test_deeply_nested_body_refused_where_addressed, setup,
                                         teardown),
        cmocka_unit_test_setup_teardown (test_undeliverable_delivery_error_not_answered, setup,
                                         teardown),
        cmocka_unit_test_setup_teardown (test_late_delivery_error_changes_nothing, setup, teardown),
        cmocka_unit_test_setup_teardown (test_escalation_refusals_change_nothing, setup, teardown),
        cmocka_unit_test_setup_teardown (test_undecodable_history_refuses_the_move, setup,
                                         teardown),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
