/* test_xf_office_trust.c — signed envelopes between real offices: a case escalated from a
 * county to the province through the city arrives signed by the county and is applied; the
 * same envelope altered by one byte at the city, or an unsigned one, is refused and counted at
 * the province, applies nothing there and sends nothing back. A petitioner's identity is sealed
 * to the registering office and the handler only, wherever the case goes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "xf_test_offices.h"
#include "xf_test_pki.h"

typedef struct {
    xf_test_office_t o[4];          /* province, city, 镇平, 淅川 (xf_test_tree_open) */
    xf_test_pki_t pki[4];
    xf_trust_t *trust[4];
} fx_t;

static int setup (void **state)
{
    fx_t *fx = calloc (1, sizeof *fx);
    xf_limits_t lim = {15, 60, 30, 7, 7, NULL, 0};
    if (!fx || xf_test_tree_open (fx->o, &lim, "trust") != 0)
        return -1;
    xf_err_t err = {0, ""};
    xf_test_root (&fx->pki[0], XF_PROFILE_STANDARD, fx->o[0].code, "中共河南省委组织部");
    xf_test_child (&fx->pki[1], &fx->pki[0], true, XF_PROFILE_STANDARD, fx->o[1].code, "南阳", 30, &err);
    xf_test_child (&fx->pki[2], &fx->pki[1], false, XF_PROFILE_STANDARD, fx->o[2].code, "镇平", 30, &err);
    xf_test_child (&fx->pki[3], &fx->pki[1], false, XF_PROFILE_STANDARD, fx->o[3].code, "淅川", 30, &err);
    for (int i = 0; i < 4; i++) {
        fx->trust[i] = xf_test_trust (&fx->pki[0], &fx->pki[i], fx->o[i].code, XF_TEST_NOW, &err);
        if (!fx->trust[i]) {
            fprintf (stderr, "%s: %s\n", fx->o[i].code, err.msg);
            return -1;
        }
        xf_office_set_trust (fx->o[i].office, fx->trust[i]);
        static const uint8_t tree_key[32] = "identity key of the test tree..";
        xf_office_set_identity_key (fx->o[i].office, tree_key, sizeof tree_key, &err);
    }
    *state = fx;
    return 0;
}

static int teardown (void **state)
{
    fx_t *fx = *state;
    xf_test_tree_close (fx->o);
    for (int i = 0; i < 4; i++) {
        xf_trust_destroy (&fx->trust[i]);
        xf_test_pki_free (&fx->pki[i]);
    }
    free (fx);
    return 0;
}

/* Registers a case at 镇平 and escalates it to the province; returns its id. */
static void escalate_case (fx_t *fx, char id[XF_CASE_ID_MAX])
{
    xf_err_t err = {0, ""};
    xf_actor_t who = {XF_TEST_NOW, 1000, "clerk"};
    xf_case_t *c = xf_case_new ();
    c->channel = XF__CHANNEL__LETTER;
    c->category = XF__CATEGORY__APPEAL;
    xf_case_set (&c->summary, "反映征地补偿问题");
    c->received = xf_day_of_time (who.now);
    c->headcount = 1;
    if (xf_office_register (fx->o[2].office, &who, c, &err) != XF_OK)
        fail_msg ("register: %s", err.msg);
    snprintf (id, XF_CASE_ID_MAX, "%s", c->id);
    xf_case_destroy (&c);
    if (xf_office_escalate (fx->o[2].office, &who, NULL, id, fx->o[0].code, "越级", &err) != XF_OK)
        fail_msg ("escalate: %s", err.msg);
}

/* What the city relays to the province, taken from its outbox. */
static void relayed_to_province (fx_t *fx, xf_test_taken_t *t)
{
    xf_test_tally_t tally = {0};
    assert_true (xf_test_carry (&fx->o[2], &fx->o[1], XF_TEST_NOW, &tally) > 0);
    xf_test_take (&fx->o[1], fx->o[0].code, t);
    assert_true (t->n > 0);
}

/* Applies what the city relays at the province: each envelope refused as forged, saying why. */
static void expect_forged (fx_t *fx, xf_test_taken_t *t, const char *why)
{
    for (size_t i = 0; i < t->n; i++) {
        xf_applied_t out;
        xf_test_apply (&fx->o[0], fx->o[1].code, t->bytes[i], t->len[i], XF_TEST_NOW, &out);
        assert_true (out.refused && out.forged);
        if (!strstr (out.reason, why))
            fail_msg ("refused for another reason: %s", out.reason);
        free (t->bytes[i]);
    }
}

static bool held (xf_test_office_t *o, const char *id)
{
    xf_err_t err = {0, ""};
    xf_case_t *c = xf_office_get (o->office, id, &err);
    bool found = c != NULL;
    xf_case_destroy (&c);
    return found;
}

static void test_signed_escalation_arrives (void **state)
{
    fx_t *fx = *state;
    char id[XF_CASE_ID_MAX];
    escalate_case (fx, id);
    xf_test_taken_t t;
    relayed_to_province (fx, &t);
    for (size_t i = 0; i < t.n; i++) {
        xf_applied_t out;
        xf_test_apply (&fx->o[0], fx->o[1].code, t.bytes[i], t.len[i], XF_TEST_NOW, &out);
        assert_false (out.refused);
        free (t.bytes[i]);
    }
    assert_true (held (&fx->o[0], id));
    uint64_t forged = 9;
    assert_int_equal (xf_office_forged (fx->o[0].office, &forged, NULL), XF_OK);
    assert_int_equal (forged, 0);
}

/* The relay flips one byte inside the county's envelope (a summary character, so it still
 * decodes): refused at the far end, counted, nothing applied and nothing sent back. */
static void test_altered_on_the_way_is_refused (void **state)
{
    fx_t *fx = *state;
    char id[XF_CASE_ID_MAX];
    escalate_case (fx, id);
    xf_test_taken_t t;
    relayed_to_province (fx, &t);
    size_t altered = 0;
    for (size_t i = 0; i < t.n; i++) {
        uint8_t *hit = memmem (t.bytes[i], t.len[i], "征地", strlen ("征地"));
        if (hit) {
            hit[2] ^= 0x01;   /* 征 → another character of the same block */
            altered++;
        }
        xf_applied_t out;
        xf_test_apply (&fx->o[0], fx->o[1].code, t.bytes[i], t.len[i], XF_TEST_NOW, &out);
        if (hit) {
            assert_true (out.refused && out.forged && !out.bounced);
            assert_non_null (strstr (out.reason, "altered on the way, or forged"));
        }
        free (t.bytes[i]);
    }
    assert_int_equal (altered, 1);
    assert_false (held (&fx->o[0], id));
    uint64_t forged = 0;
    assert_int_equal (xf_office_forged (fx->o[0].office, &forged, NULL), XF_OK);
    assert_int_equal (forged, 1);
    xf_test_taken_t back;
    xf_test_take (&fx->o[0], fx->o[1].code, &back);
    assert_int_equal (back.n, 0);   /* no delivery error to the claimed origin */
}

/* A county without [trust] sends unsigned envelopes: the province refuses them. */
static void test_unsigned_is_refused (void **state)
{
    fx_t *fx = *state;
    xf_office_set_trust (fx->o[2].office, NULL);
    char id[XF_CASE_ID_MAX];
    escalate_case (fx, id);
    xf_test_taken_t t;
    relayed_to_province (fx, &t);
    expect_forged (fx, &t, "it is not signed");
    assert_false (held (&fx->o[0], id));
}

/* 淅川 signs an envelope and the city claims it came from 镇平: the signature names 淅川. */
static void test_signed_by_another_office (void **state)
{
    fx_t *fx = *state;
    xf_office_set_trust (fx->o[2].office, fx->trust[3]);
    char id[XF_CASE_ID_MAX];
    escalate_case (fx, id);
    xf_test_taken_t t;
    relayed_to_province (fx, &t);
    expect_forged (fx, &t, "claims origin 411324 but is signed by office 411326");
}

/* ---------------------------------------------------------------- sealed identities */

static const char *const NAME = "张秀英", *const PHONE = "13837700000";

static void register_with_identity (fx_t *fx, char id[XF_CASE_ID_MAX])
{
    xf_err_t err = {0, ""};
    xf_actor_t who = {XF_TEST_NOW, 1000, "clerk"};
    xf_case_t *c = xf_case_new ();
    c->channel = XF__CHANNEL__VISIT;
    c->category = XF__CATEGORY__APPEAL;
    xf_case_set (&c->summary, "反映征地补偿问题");
    c->received = xf_day_of_time (who.now);
    c->headcount = 1;
    c->petitioner = malloc (sizeof *c->petitioner);
    xf__petitioner__init (c->petitioner);
    xf_case_set (&c->petitioner->name, NAME);
    xf_case_set (&c->petitioner->phone, PHONE);
    if (xf_office_register (fx->o[2].office, &who, c, &err) != XF_OK)
        fail_msg ("register: %s", err.msg);
    assert_non_null (c->petitioner);   /* the caller sees what it registered */
    assert_string_equal (c->petitioner->name, NAME);
    snprintf (id, XF_CASE_ID_MAX, "%s", c->id);
    xf_case_destroy (&c);
}

/* The stored record as it is, not opened. */
static int raw_txn (xf_txn_t *txn, void *arg, xf_err_t *err)
{
    void **a = arg;
    const void *v;
    size_t len;
    int rc = xf_txn_get (txn, XF_DB_CASES, a[0], strlen (a[0]), &v, &len, err);
    if (rc == XF_OK)
        a[1] = xf_case_unpack (v, len, err);
    return rc;
}

static xf_case_t *raw_case (xf_test_office_t *o, const char *id)
{
    void *a[2] = {(void *) id, NULL};
    xf_err_t err = {0, ""};
    if (xf_store_read (o->store, raw_txn, a, &err) != XF_OK)
        return NULL;
    return a[1];
}

/* Whether the office shows the identity (it opens an entry sealed to it). */
static bool reads_identity (xf_test_office_t *o, const char *id)
{
    xf_case_t *c = xf_office_get (o->office, id, NULL);
    assert_non_null (c);
    bool open = c->petitioner && strcmp (c->petitioner->name, NAME) == 0;
    xf_case_destroy (&c);
    return open;
}

static void expect_sealed_for (xf_test_office_t *o, const char *id, const char *a, const char *b)
{
    xf_case_t *c = raw_case (o, id);
    assert_non_null (c);
    assert_null (c->petitioner);
    assert_int_equal (c->n_sealed, b ? 2 : 1);
    for (size_t i = 0; i < c->n_sealed; i++)
        assert_true (strcmp (c->sealed[i]->recipient, a) == 0
                     || (b && strcmp (c->sealed[i]->recipient, b) == 0));
    xf_case_destroy (&c);
}

/* Registered at 镇平: stored sealed to itself only, shown open there. Escalated to the province
 * through the city: the city's queue holds no clear identity, the province opens its entry. */
static void test_identity_sealed_to_the_handler (void **state)
{
    fx_t *fx = *state;
    xf_err_t err = {0, ""};
    xf_actor_t who = {XF_TEST_NOW, 1000, "clerk"};
    char id[XF_CASE_ID_MAX];
    register_with_identity (fx, id);
    expect_sealed_for (&fx->o[2], id, fx->o[2].code, NULL);
    assert_true (reads_identity (&fx->o[2], id));
    assert_int_equal (xf_office_escalate (fx->o[2].office, &who, NULL, id, fx->o[0].code, "越级",
                                          &err), XF_OK);
    xf_test_taken_t t;
    relayed_to_province (fx, &t);
    for (size_t i = 0; i < t.n; i++) {
        assert_null (memmem (t.bytes[i], t.len[i], NAME, strlen (NAME)));
        assert_null (memmem (t.bytes[i], t.len[i], PHONE, strlen (PHONE)));
        xf_applied_t out;
        xf_test_apply (&fx->o[0], fx->o[1].code, t.bytes[i], t.len[i], XF_TEST_NOW, &out);
        assert_false (out.refused);
        free (t.bytes[i]);
    }
    expect_sealed_for (&fx->o[0], id, fx->o[0].code, fx->o[2].code);
    assert_true (reads_identity (&fx->o[0], id));
    assert_true (reads_identity (&fx->o[2], id));   /* the registering office keeps its entry */
    /* the same petitioner again at 镇平: recognized by the keyed hash, nothing clear stored */
    char again[XF_CASE_ID_MAX];
    register_with_identity (fx, again);
    xf_case_t *c = raw_case (&fx->o[2], again);
    assert_non_null (c);
    assert_true (c->flags & XF__CASE_FLAG__FLAG_REPEAT);
    assert_int_equal (c->n_repeat_of, 1);
    assert_string_equal (c->repeat_of[0], id);
    xf_case_destroy (&c);
}

/* The province assigns to 淅川, whose certificate it has not learned: refused, saying so, the
 * case unchanged. Once 淅川's chain is learned the assignment goes; 淅川 opens its entry and
 * the province, now a supervisor, holds only ciphertext. */
static void test_identity_follows_the_handler (void **state)
{
    fx_t *fx = *state;
    xf_err_t err = {0, ""};
    xf_actor_t who = {XF_TEST_NOW, 1000, "clerk"};
    char id[XF_CASE_ID_MAX];
    xf_test_tally_t tally = {0};
    register_with_identity (fx, id);
    assert_int_equal (xf_office_escalate (fx->o[2].office, &who, NULL, id, fx->o[0].code, "越级",
                                          &err), XF_OK);
    xf_test_settle (fx->o, 4, XF_TEST_NOW, &tally);
    xf_move_req_t m = {.kind = XF_MOVE_ASSIGN, .to = fx->o[3].code, .text = "请淅川县办理"};
    const char *ids[] = {id};
    assert_int_equal (xf_office_move (fx->o[0].office, &who, NULL, ids, 1, &m, NULL, &err),
                      XF_ENOTFOUND);
    assert_non_null (strstr (err.msg, "no certificate of office 411326 is known"));
    expect_sealed_for (&fx->o[0], id, fx->o[0].code, fx->o[2].code);
    /* what 淅川's hello brings to the city, and the city's to the province */
    ProtobufCBinaryData der[2];
    for (int i = 0; i < 2; i++)
        der[i].data = xf_cert_der (sk_X509_value (fx->pki[3].chain, i), &der[i].len);
    xf_trust_learned_t seen;
    assert_int_equal (xf_trust_learn (fx->trust[0], der, 2, XF_TEST_NOW, NULL, NULL, &seen, &err),
                      XF_OK);
    assert_int_equal (seen.learned, 1);   /* 淅川's; the city's was known from its messages */
    assert_int_equal (seen.refused, 0);
    for (int i = 0; i < 2; i++)
        free (der[i].data);
    err = (xf_err_t) {0, ""};
    assert_int_equal (xf_office_move (fx->o[0].office, &who, NULL, ids, 1, &m, NULL, &err), XF_OK);
    xf_test_settle (fx->o, 4, XF_TEST_NOW, &tally);
    assert_true (reads_identity (&fx->o[3], id));
    assert_false (reads_identity (&fx->o[0], id));
    expect_sealed_for (&fx->o[0], id, fx->o[3].code, fx->o[2].code);
    expect_sealed_for (&fx->o[3], id, fx->o[3].code, fx->o[2].code);
}

/* Cases from before [trust] kept their identities in clear: once trust is on, they are sealed
 * where the office registered (镇平) or handles (南阳) the case, and dropped where it only
 * supervises (the province). */
static void test_identities_from_before_trust (void **state)
{
    fx_t *fx = *state;
    xf_err_t err = {0, ""};
    xf_actor_t who = {XF_TEST_NOW, 1000, "clerk"};
    xf_test_tally_t tally = {0};
    for (int i = 0; i < 4; i++)
        xf_office_set_trust (fx->o[i].office, NULL);
    char id[XF_CASE_ID_MAX];
    register_with_identity (fx, id);
    assert_int_equal (xf_office_escalate (fx->o[2].office, &who, NULL, id, fx->o[0].code, "越级",
                                          &err), XF_OK);
    xf_test_settle (fx->o, 4, XF_TEST_NOW, &tally);
    xf_move_req_t m = {.kind = XF_MOVE_ASSIGN, .to = fx->o[1].code, .text = "请南阳市办理"};
    const char *ids[] = {id};
    assert_int_equal (xf_office_move (fx->o[0].office, &who, NULL, ids, 1, &m, NULL, &err), XF_OK);
    xf_test_settle (fx->o, 4, XF_TEST_NOW, &tally);
    xf_case_t *c = raw_case (&fx->o[0], id);
    assert_non_null (c->petitioner);   /* in clear: no trust yet */
    xf_case_destroy (&c);
    size_t sealed, dropped;
    const size_t want_sealed[4] = {0, 1, 1, 0}, want_dropped[4] = {1, 0, 0, 0};
    for (int i = 0; i < 4; i++) {
        xf_office_set_trust (fx->o[i].office, fx->trust[i]);
        assert_int_equal (xf_office_seal_held (fx->o[i].office, &sealed, &dropped, &err), XF_OK);
        assert_int_equal (sealed, want_sealed[i]);
        assert_int_equal (dropped, want_dropped[i]);
    }
    expect_sealed_for (&fx->o[1], id, fx->o[1].code, NULL);
    expect_sealed_for (&fx->o[2], id, fx->o[2].code, NULL);
    assert_true (reads_identity (&fx->o[1], id));
    assert_true (reads_identity (&fx->o[2], id));
    c = raw_case (&fx->o[0], id);
    assert_null (c->petitioner);
    assert_int_equal (c->n_sealed, 0);
    xf_case_destroy (&c);
    assert_int_equal (xf_office_seal_held (fx->o[1].office, &sealed, &dropped, &err), XF_OK);
    assert_int_equal (sealed + dropped, 0);   /* once only */
}

/* A certificate that does not verify under the anchor (another tree's) never enters the
 * directory, so nothing can be sealed to a planted key. */
static void test_foreign_certificate_not_learned (void **state)
{
    fx_t *fx = *state;
    xf_err_t err = {0, ""};
    xf_test_pki_t other;
    xf_test_root (&other, XF_PROFILE_STANDARD, "411326", "假淅川");
    ProtobufCBinaryData der;
    der.data = xf_cert_der (other.cert, &der.len);
    xf_trust_learned_t seen;
    size_t before = xf_trust_offices (fx->trust[0]);
    assert_int_equal (xf_trust_learn (fx->trust[0], &der, 1, XF_TEST_NOW, NULL, NULL, &seen, &err),
                      XF_OK);
    assert_int_equal (seen.learned, 0);
    assert_int_equal (seen.refused, 1);
    assert_true (*seen.why);
    assert_int_equal (xf_trust_offices (fx->trust[0]), before);
    assert_null (xf_trust_office (fx->trust[0], "411326"));
    free (der.data);
    xf_test_pki_free (&other);
}

int main (void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown (test_signed_escalation_arrives, setup, teardown),
        cmocka_unit_test_setup_teardown (test_altered_on_the_way_is_refused, setup, teardown),
        cmocka_unit_test_setup_teardown (test_unsigned_is_refused, setup, teardown),
        cmocka_unit_test_setup_teardown (test_signed_by_another_office, setup, teardown),
        cmocka_unit_test_setup_teardown (test_identity_sealed_to_the_handler, setup, teardown),
        cmocka_unit_test_setup_teardown (test_identity_follows_the_handler, setup, teardown),
        cmocka_unit_test_setup_teardown (test_foreign_certificate_not_learned, setup, teardown),
        cmocka_unit_test_setup_teardown (test_identities_from_before_trust, setup, teardown),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
