/* test_xf_trust.c — an office's trust state: what it refuses to start with, envelopes signed at
 * a county and verified at the province (and every way that fails), issuing to a child, and
 * the certificate a child's link is admitted by; the directory of offices' certificates and
 * sealing to them in both profiles. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "xf_msg.h"
#include "xf_test.h"
#include "xf_test_pki.h"

typedef struct {
    xf_test_pki_t prov, city, county;
} tree_t;

/* The three offices' trust states over the tree. */
static void open_trusts (tree_t *t, xf_trust_t **prov, xf_trust_t **city, xf_trust_t **county)
{
    xf_err_t err = {0};
    *prov = xf_test_trust (&t->prov, &t->prov, "410000", XF_TEST_NOW, &err);
    *city = xf_test_trust (&t->prov, &t->city, "411300", XF_TEST_NOW, &err);
    *county = xf_test_trust (&t->prov, &t->county, "411324", XF_TEST_NOW, &err);
    if (!*prov || !*city || !*county)
        fail_msg ("trust states: %s", err.msg);
}

static void free_tree (tree_t *t);

static void close_trusts (tree_t *t, xf_trust_t **prov, xf_trust_t **city, xf_trust_t **county)
{
    xf_trust_destroy (prov);
    xf_trust_destroy (city);
    xf_trust_destroy (county);
    free_tree (t);
}

/* The profile a test that runs in both gets as its state. */
static const xf_profile_t STANDARD = XF_PROFILE_STANDARD, NATIONAL = XF_PROFILE_NATIONAL;

static void make_tree (tree_t *t, xf_profile_t p)
{
    xf_err_t err = {0};
    xf_test_root (&t->prov, p, "410000", "中共河南省委组织部");
    xf_test_child (&t->city, &t->prov, true, p, "411300", "中共南阳市委组织部", 30, &err);
    xf_test_child (&t->county, &t->city, false, p, "411324", "中共镇平县委组织部", 30, &err);
    assert_non_null (t->county.cert);
}

static void free_tree (tree_t *t)
{
    xf_test_pki_free (&t->county);
    xf_test_pki_free (&t->city);
    xf_test_pki_free (&t->prov);
}

static void test_refuses_to_start_with_the_wrong_files (void **state)
{
    (void) state;
    tree_t t;
    make_tree (&t, XF_PROFILE_STANDARD);
    xf_err_t err = {0};
    xf_trust_t *tr = xf_test_trust (&t.prov, &t.county, "411325", XF_TEST_NOW, &err);
    assert_null (tr);
    assert_non_null (strstr (err.msg, "it is the certificate of office 411324"));
    /* the city's key with the county's certificate */
    EVP_PKEY *keep = t.county.key;
    t.county.key = t.city.key;
    tr = xf_test_trust (&t.prov, &t.county, "411324", XF_TEST_NOW, &err);
    t.county.key = keep;
    assert_null (tr);
    assert_non_null (strstr (err.msg, "signing_key: it is not the key of the certificate"));
    /* another CURVE key than the node's */
    t.county.curve_pub[0] ^= 1;
    tr = xf_test_trust (&t.prov, &t.county, "411324", XF_TEST_NOW, &err);
    t.county.curve_pub[0] ^= 1;
    assert_null (tr);
    assert_non_null (strstr (err.msg, "another CURVE key"));
    /* expired; the city's certificate left out of the chain; a county certificate as anchor */
    tr = xf_test_trust (&t.prov, &t.county, "411324", XF_TEST_NOW + 40 * 86400, &err);
    assert_null (tr);
    assert_non_null (strstr (err.msg, "has expired"));
    X509 *city = sk_X509_pop (t.county.chain);
    tr = xf_test_trust (&t.prov, &t.county, "411324", XF_TEST_NOW, &err);
    sk_X509_push (t.county.chain, city);
    assert_null (tr);
    assert_non_null (strstr (err.msg, "does not verify under the anchor 410000"));
    tr = xf_test_trust (&t.city, &t.county, "411324", XF_TEST_NOW, &err);
    assert_null (tr);
    assert_non_null (strstr (err.msg, "is not a root"));
    tr = xf_test_trust (&t.prov, &t.county, "411324", XF_TEST_NOW, &err);
    assert_non_null (tr);
    assert_string_equal (xf_trust_own (tr)->code, "411324");
    assert_int_equal (xf_trust_profile (tr), XF_PROFILE_STANDARD);
    xf_trust_destroy (&tr);
    assert_null (tr);
    free_tree (&t);
}

/* A signed envelope from the county, as the province receives it (the bytes re-packed and
 * unpacked as a relay would forward them). */
typedef struct {
    uint8_t *env_bytes;
    size_t env_len;
    uint8_t sig[XF_SIG_MAX];
    Xf__SignedEnvelope se;
} signed_t;

static void sign_envelope (xf_trust_t *tr, const char *from, signed_t *s)
{
    Xf__GlobalId gid = XF__GLOBAL_ID__INIT;
    Xf__Envelope env = XF__ENVELOPE__INIT;
    Xf__LookupRequest q = XF__LOOKUP_REQUEST__INIT;
    gid.origin = (char *) from;
    gid.seq = 7;
    env.id = &gid;
    env.from = (char *) from;
    env.to = strcmp (from, "410000") == 0 ? "411324" : "410000";
    env.created = XF_TEST_NOW;
    env.format = XF_ENVELOPE_FORMAT;
    q.query_code = "7KQ4M2XD9PWA";
    env.body_case = XF__ENVELOPE__BODY_LOOKUP_REQUEST;
    env.lookup_request = &q;
    xf__signed_envelope__init (&s->se);
    xf_err_t err = {0};
    int rc = xf_msg_seal (&env, &s->se, &s->env_bytes, &err);
    if (rc != XF_OK)
        fail_msg ("%s", err.msg);
    assert_int_equal (xf_trust_sign (tr, &s->se, s->sig, NULL), XF_OK);
}

static Xf__SignedEnvelope *relayed (const signed_t *s)
{
    size_t len = xf__signed_envelope__get_packed_size (&s->se);
    uint8_t *buf = malloc (len);
    xf__signed_envelope__pack (&s->se, buf);
    Xf__SignedEnvelope *out = xf__signed_envelope__unpack (NULL, len, buf);
    free (buf);
    return out;
}

static void verify_across_the_tree (void **state)
{
    xf_profile_t p = *(const xf_profile_t *) *state;
    tree_t t;
    make_tree (&t, p);
    xf_err_t err = {0};
    xf_trust_t *county = xf_test_trust (&t.prov, &t.county, "411324", XF_TEST_NOW, &err);
    xf_trust_t *prov = xf_test_trust (&t.prov, &t.prov, "410000", XF_TEST_NOW, &err);
    assert_non_null (county);
    assert_non_null (prov);
    signed_t s;
    sign_envelope (county, "411324", &s);
    assert_int_equal (s.se.n_chain, 2);   /* the county's and the city's certificates */
    Xf__SignedEnvelope *r = relayed (&s);
    assert_int_equal (xf_trust_verify (prov, r, "411324", XF_TEST_NOW, &err), XF_OK);
    assert_int_equal (xf_trust_known (prov), 1);
    assert_int_equal (xf_trust_verify (prov, r, "411324", XF_TEST_NOW, &err), XF_OK);   /* cached */
    assert_int_equal (xf_trust_known (prov), 1);
    /* claimed by another office */
    assert_int_equal (xf_trust_verify (prov, r, "411325", XF_TEST_NOW, &err), XF_EPERM);
    assert_non_null (strstr (err.msg, "claims origin 411325 but is signed by office 411324"));
    /* one byte of the envelope flipped on the way */
    r->envelope.data[r->envelope.len - 3] ^= 0x01;
    assert_int_equal (xf_trust_verify (prov, r, "411324", XF_TEST_NOW, &err), XF_EPERM);
    assert_non_null (strstr (err.msg, "altered on the way, or forged"));
    r->envelope.data[r->envelope.len - 3] ^= 0x01;
    /* the certificate expired since (the cache is not trusted past it) */
    assert_int_equal (xf_trust_verify (prov, r, "411324", XF_TEST_NOW + 40 * 86400, &err), XF_EPERM);
    assert_non_null (strstr (err.msg, "has expired"));
    /* without the city's certificate, at a province that has not seen the county before */
    xf_trust_t *fresh = xf_test_trust (&t.prov, &t.prov, "410000", XF_TEST_NOW, &err);
    r->n_chain = 1;
    assert_int_equal (xf_trust_verify (fresh, r, "411324", XF_TEST_NOW, &err), XF_EPERM);
    assert_non_null (strstr (err.msg, "unable to get local issuer"));
    r->n_chain = 2;
    /* a signer that is not the certificate carried; no signature */
    char signer[XF_CERT_FP_LEN + 1];
    snprintf (signer, sizeof signer, "%s", r->signer);
    r->signer[0] = r->signer[0] == 'a' ? 'b' : 'a';
    assert_int_equal (xf_trust_verify (fresh, r, "411324", XF_TEST_NOW, &err), XF_EPERM);
    assert_non_null (strstr (err.msg, "is not the certificate it carries"));
    memcpy (r->signer, signer, sizeof signer);
    r->signature.len = 0;
    assert_int_equal (xf_trust_verify (fresh, r, "411324", XF_TEST_NOW, &err), XF_EPERM);
    assert_non_null (strstr (err.msg, "it is not signed"));
    xf__signed_envelope__free_unpacked (r, NULL);
    free (s.env_bytes);
    /* the province's own envelopes verify with the anchor alone */
    sign_envelope (prov, "410000", &s);
    assert_int_equal (s.se.n_chain, 1);
    r = relayed (&s);
    assert_int_equal (xf_trust_verify (fresh, r, "410000", XF_TEST_NOW, &err), XF_OK);
    xf__signed_envelope__free_unpacked (r, NULL);
    free (s.env_bytes);
    xf_trust_destroy (&fresh);
    xf_trust_destroy (&prov);
    xf_trust_destroy (&county);
    free_tree (&t);
}

/* An office of another tree (its own anchor, the same codes) is refused. */
static void test_envelope_from_another_tree (void **state)
{
    (void) state;
    tree_t t, fake;
    make_tree (&t, XF_PROFILE_STANDARD);
    make_tree (&fake, XF_PROFILE_STANDARD);
    xf_err_t err = {0};
    xf_trust_t *impostor = xf_test_trust (&fake.prov, &fake.county, "411324", XF_TEST_NOW, &err);
    xf_trust_t *prov = xf_test_trust (&t.prov, &t.prov, "410000", XF_TEST_NOW, &err);
    signed_t s;
    sign_envelope (impostor, "411324", &s);
    Xf__SignedEnvelope *r = relayed (&s);
    assert_int_equal (xf_trust_verify (prov, r, "411324", XF_TEST_NOW, &err), XF_EPERM);
    assert_non_null (strstr (err.msg, "signer's certificate is refused"));
    xf__signed_envelope__free_unpacked (r, NULL);
    free (s.env_bytes);
    xf_trust_destroy (&impostor);
    xf_trust_destroy (&prov);
    free_tree (&fake);
    free_tree (&t);
}

static void test_issue_and_admit_children (void **state)
{
    (void) state;
    tree_t t;
    make_tree (&t, XF_PROFILE_STANDARD);
    xf_err_t err = {0};
    xf_trust_t *city = xf_test_trust (&t.prov, &t.city, "411300", XF_TEST_NOW, &err);
    assert_non_null (city);
    /* a new county asks the city */
    xf_test_pki_t neixiang;
    memset (&neixiang, 0, sizeof neixiang);
    neixiang.key = xf_key_generate (XF_PROFILE_STANDARD, NULL);
    xf_test_curve (&neixiang);
    char *req = xf_cert_request (neixiang.key, "411325", "中共内乡县委组织部", neixiang.curve_pub, &err);
    char *pem = NULL;
    xf_cert_info_t issued;
    X509 *cert = NULL;
    assert_int_equal (xf_trust_issue (city, req, strlen (req), XF_TEST_NOW, 365, &pem, &issued,
                                      &cert, &err), XF_OK);
    assert_string_equal (issued.code, "411325");
    assert_string_equal (issued.issuer, "411300");
    /* the file the county installs: its certificate, then the city's */
    STACK_OF (X509) *chain = xf_cert_parse_chain (pem, strlen (pem), "issued", &err);
    assert_int_equal (sk_X509_num (chain), 2);
    sk_X509_pop_free (chain, X509_free);
    assert_int_equal (xf_trust_check_child (city, cert, "411325", XF_TEST_NOW, &err), XF_OK);
    assert_int_equal (xf_trust_check_child (city, cert, "411324", XF_TEST_NOW, &err), XF_EPERM);
    assert_non_null (strstr (err.msg, "office 411325's, not 411324's"));
    assert_int_equal (xf_trust_check_child (city, cert, "411325", XF_TEST_NOW + 400 * 86400, &err),
                      XF_EPERM);
    assert_non_null (strstr (err.msg, "expired"));
    /* a county certified by another city is not this city's child */
    xf_test_pki_t other_city, stranger;
    xf_test_child (&other_city, &t.prov, true, XF_PROFILE_STANDARD, "411400", "商丘", 30, &err);
    xf_test_child (&stranger, &other_city, false, XF_PROFILE_STANDARD, "411424", "柘城", 30, &err);
    assert_int_equal (xf_trust_check_child (city, stranger.cert, "411424", XF_TEST_NOW, &err), XF_EPERM);
    assert_non_null (strstr (err.msg, "was issued by 411400, not by this office (411300)"));
    xf_test_pki_free (&stranger);
    xf_test_pki_free (&other_city);
    X509_free (cert);
    free (pem);
    free (req);
    xf_test_pki_free (&neixiang);
    xf_trust_destroy (&city);
    free_tree (&t);
}

/* The province learns the county's chain (as the city's hello brings it) and seals to it: the
 * county opens it, the city cannot, nor the county under another case id; nothing is sealed
 * to an office not in the directory. */
static void seal_across_the_tree (void **state)
{
    tree_t t;
    xf_err_t err = {0};
    make_tree (&t, *(const xf_profile_t *) *state);
    xf_trust_t *prov, *city, *county;
    open_trusts (&t, &prov, &city, &county);
    const uint8_t plain[] = "\x0a\x09张秀英";
    Xf__SealedIdentity *s = NULL;
    assert_int_equal (xf_trust_seal (prov, "411324", "411324-2026-000001", plain, sizeof plain, &s,
                                     &err), XF_ENOTFOUND);
    size_t n = 0;
    const ProtobufCBinaryData *der = xf_trust_chain_der (county, &n);
    assert_int_equal (n, 2);
    xf_trust_learned_t seen;
    assert_int_equal (xf_trust_learn (prov, der, n, XF_TEST_NOW, NULL, NULL, &seen, &err), XF_OK);
    assert_int_equal (seen.learned, 2);
    assert_non_null (xf_trust_office (prov, "411324"));
    assert_int_equal (xf_trust_learn (prov, der, n, XF_TEST_NOW, NULL, NULL, &seen, &err), XF_OK);
    assert_int_equal (seen.learned, 0);   /* known already */
    assert_int_equal (xf_trust_seal (prov, "411324", "411324-2026-000001", plain, sizeof plain, &s,
                                     &err), XF_OK);
    assert_string_equal (s->recipient, "411324");
    uint8_t *out = NULL;
    size_t len = 0;
    assert_int_equal (xf_trust_open (county, "411324-2026-000001", s, &out, &len, &err), XF_OK);
    assert_int_equal (len, sizeof plain);
    assert_memory_equal (out, plain, len);
    free (out);
    assert_int_equal (xf_trust_open (city, "411324-2026-000001", s, &out, &len, &err), XF_EPERM);
    assert_int_equal (xf_trust_open (county, "411324-2026-000002", s, &out, &len, &err), XF_EPERM);
    free (s->recipient);   /* relabelled for the city: still the county's ciphertext */
    s->recipient = strdup ("411300");
    assert_int_equal (xf_trust_open (city, "411324-2026-000001", s, &out, &len, &err), XF_EPERM);
    xf__sealed_identity__free_unpacked (s, NULL);
    close_trusts (&t, &prov, &city, &county);
}

/* A hello may bring an office's certificate without its issuer's when the issuer is known
 * already: the directory holds certificates as DER and decodes the ones above a new
 * certificate to verify it. One under an office not known here is refused; one known already
 * is told by its fingerprint, neither learned nor refused again. */
static void learn_from_the_directory (void **state)
{
    xf_profile_t p = *(const xf_profile_t *) *state;
    tree_t t;
    xf_err_t err = {0};
    make_tree (&t, p);
    xf_test_pki_t other_city, other_county;
    xf_test_child (&other_city, &t.prov, true, p, "411400", "中共商丘市委组织部", 30, &err);
    xf_test_child (&other_county, &other_city, false, p, "411421", "中共民权县委组织部", 30, &err);
    assert_non_null (other_county.cert);
    xf_trust_t *prov, *city, *county;
    open_trusts (&t, &prov, &city, &county);
    size_t n = 0;
    xf_trust_learned_t seen;
    const ProtobufCBinaryData *der = xf_trust_chain_der (city, &n);
    assert_int_equal (n, 1);
    assert_int_equal (xf_trust_learn (prov, der, 1, XF_TEST_NOW, NULL, NULL, &seen, &err), XF_OK);
    assert_int_equal (seen.learned, 1);
    der = xf_trust_chain_der (county, &n);   /* the county's own certificate, not the city's */
    assert_int_equal (xf_trust_learn (prov, der, 1, XF_TEST_NOW, NULL, NULL, &seen, &err), XF_OK);
    assert_int_equal (seen.learned, 1);
    assert_int_equal (seen.refused, 0);
    assert_int_equal (xf_trust_learn (prov, der, 1, XF_TEST_NOW, NULL, NULL, &seen, &err), XF_OK);
    assert_int_equal (seen.learned + seen.refused, 0);
    ProtobufCBinaryData alone = {0};
    alone.data = xf_cert_der (other_county.cert, &alone.len);
    assert_int_equal (xf_trust_learn (prov, &alone, 1, XF_TEST_NOW, NULL, NULL, &seen, &err),
                      XF_OK);
    assert_int_equal (seen.learned, 0);
    assert_int_equal (seen.refused, 1);
    assert_null (xf_trust_office (prov, "411421"));
    free (alone.data);
    assert_int_equal (xf_trust_offices (prov), 3);   /* the province, the city, the county */
    /* the county's key to seal to is made from the DER the directory keeps */
    const uint8_t plain[] = "identity";
    Xf__SealedIdentity *s = NULL;
    uint8_t *out = NULL;
    size_t len = 0;
    for (int i = 0; i < 2; i++) {   /* made once, then kept */
        assert_int_equal (xf_trust_seal (prov, "411324", "411324-2026-000003", plain, sizeof plain,
                                         &s, &err), XF_OK);
        assert_int_equal (xf_trust_open (county, "411324-2026-000003", s, &out, &len, &err), XF_OK);
        assert_memory_equal (out, plain, sizeof plain);
        free (out);
        xf__sealed_identity__free_unpacked (s, NULL);
    }
    close_trusts (&t, &prov, &city, &county);
    xf_test_pki_free (&other_county);
    xf_test_pki_free (&other_city);
}

/* The county rotates its keys: what the province sealed to the old certificate opens only once
 * the old key is retired into the new trust state; the province, learning the new certificate,
 * seals to the new key; a revoked certificate leaves the directory. */
static void test_rotation_and_revocation (void **state)
{
    (void) state;
    tree_t t;
    xf_err_t err = {0};
    make_tree (&t, XF_PROFILE_STANDARD);
    xf_test_pki_t renewed;
    xf_test_child (&renewed, &t.city, false, XF_PROFILE_STANDARD, "411324", "中共镇平县委组织部", 60, &err);
    assert_non_null (renewed.cert);
    xf_trust_t *prov = xf_test_trust (&t.prov, &t.prov, "410000", XF_TEST_NOW, &err);
    xf_trust_t *old = xf_test_trust (&t.prov, &t.county, "411324", XF_TEST_NOW, &err);
    xf_trust_t *now = xf_test_trust (&t.prov, &renewed, "411324", XF_TEST_NOW, &err);
    assert_non_null (prov && old && now);
    size_t n = 0;
    xf_trust_learned_t seen;
    const ProtobufCBinaryData *der = xf_trust_chain_der (old, &n);
    assert_int_equal (xf_trust_learn (prov, der, n, XF_TEST_NOW, NULL, NULL, &seen, &err), XF_OK);
    const uint8_t plain[] = "identity";
    const char *id = "411324-2026-000009";
    Xf__SealedIdentity *s = NULL;
    uint8_t *out = NULL;
    size_t len = 0;
    assert_int_equal (xf_trust_seal (prov, "411324", id, plain, sizeof plain, &s, &err), XF_OK);
    assert_int_equal (xf_trust_open (now, id, s, &out, &len, &err), XF_EPERM);
    assert_int_equal (xf_trust_retire_key (now, xf_key_x25519 (t.county.curve_sec, 1, NULL), &err),
                      XF_OK);
    assert_int_equal (xf_trust_open (now, id, s, &out, &len, &err), XF_OK);
    assert_memory_equal (out, plain, len);
    free (out);
    xf__sealed_identity__free_unpacked (s, NULL);
    /* the renewed certificate (later not_before) replaces the old one in the directory */
    der = xf_trust_chain_der (now, &n);
    assert_int_equal (xf_trust_learn (prov, der, n, XF_TEST_NOW, NULL, NULL, &seen, &err), XF_OK);
    char held[XF_CERT_FP_LEN + 1];
    assert_non_null (xf_trust_office (prov, "411324"));
    snprintf (held, sizeof held, "%s", xf_trust_office (prov, "411324"));
    assert_string_equal (held, xf_trust_own (now)->fingerprint);
    assert_int_equal (xf_trust_seal (prov, "411324", id, plain, sizeof plain, &s, &err), XF_OK);
    assert_int_equal (xf_trust_open (old, id, s, &out, &len, &err), XF_EPERM);
    xf__sealed_identity__free_unpacked (s, NULL);
    /* revoked: what it signs is refused (verified before: the cache does not save it), it
     * leaves the directory and is refused when it comes again */
    signed_t sg;
    sign_envelope (now, "411324", &sg);
    Xf__SignedEnvelope *in = relayed (&sg);
    assert_int_equal (xf_trust_verify (prov, in, "411324", XF_TEST_NOW, &err), XF_OK);
    assert_int_equal (xf_trust_revoke (prov, held, &err), XF_OK);
    assert_int_equal (xf_trust_verify (prov, in, "411324", XF_TEST_NOW, &err), XF_EPERM);
    assert_non_null (strstr (err.msg, "was revoked"));
    xf__signed_envelope__free_unpacked (in, NULL);
    free (sg.env_bytes);
    assert_null (xf_trust_office (prov, "411324"));
    assert_int_equal (xf_trust_learn (prov, der, n, XF_TEST_NOW, NULL, NULL, &seen, &err), XF_OK);
    assert_int_equal (seen.learned, 0);
    assert_non_null (strstr (seen.why, "revoked"));
    assert_int_equal (xf_trust_revoke (prov, xf_trust_own (prov)->fingerprint, &err), XF_EINVAL);
    xf_trust_destroy (&prov);
    xf_trust_destroy (&old);
    xf_trust_destroy (&now);
    xf_test_pki_free (&renewed);
    free_tree (&t);
}

/* The city revokes the county's certificate: the province (which knows the city's certificate)
 * takes the signed revocation once; an altered one, one the county signs about the city, and
 * one whose issuer is unknown are refused. */
static void revocations_across_the_tree (void **state)
{
    tree_t t;
    xf_err_t err = {0};
    make_tree (&t, *(const xf_profile_t *) *state);
    xf_trust_t *prov, *city, *county;
    open_trusts (&t, &prov, &city, &county);
    char fp[XF_CERT_FP_LEN + 1];
    snprintf (fp, sizeof fp, "%s", xf_trust_own (county)->fingerprint);
    Xf__Revocation r = XF__REVOCATION__INIT;
    uint8_t sig[XF_SIG_MAX];
    r.fingerprint = fp;
    r.code = "411324";
    r.serial = "01";
    r.at = XF_TEST_NOW;
    r.reason = "密钥丢失";
    assert_int_equal (xf_trust_sign_revocation (city, &r, sig, &err), XF_OK);
    assert_string_equal (r.issuer, "411300");
    assert_true (xf_trust_revoked (city, fp));
    /* the province has not learned the city's certificate yet */
    assert_int_equal (xf_trust_take_revocation (prov, &r, &err), XF_EPERM);
    assert_non_null (strstr (err.msg, "not known here"));
    size_t n = 0;
    xf_trust_learned_t seen;
    const ProtobufCBinaryData *der = xf_trust_chain_der (city, &n);
    assert_int_equal (xf_trust_learn (prov, der, n, XF_TEST_NOW, NULL, NULL, &seen, &err), XF_OK);
    Xf__Revocation altered = r;
    altered.reason = "另一个理由";
    assert_int_equal (xf_trust_take_revocation (prov, &altered, &err), XF_EPERM);
    assert_non_null (strstr (err.msg, "signature"));
    assert_false (xf_trust_revoked (prov, fp));
    assert_int_equal (xf_trust_take_revocation (prov, &r, &err), XF_OK);
    assert_true (xf_trust_revoked (prov, fp));
    assert_int_equal (xf_trust_revocations (prov), 1);
    assert_int_equal (xf_trust_take_revocation (prov, &r, &err), XF_EEXIST);
    /* the county cannot revoke the city's certificate: the city is not under it */
    Xf__Revocation up = XF__REVOCATION__INIT;
    uint8_t sig2[XF_SIG_MAX];
    up.fingerprint = (char *) xf_trust_own (city)->fingerprint;
    up.code = "411300";
    up.serial = "02";
    up.reason = "x";
    assert_int_equal (xf_trust_sign_revocation (county, &up, sig2, &err), XF_OK);
    assert_int_equal (xf_trust_take_revocation (prov, &up, &err), XF_EPERM);
    assert_non_null (strstr (err.msg, "not under it"));
    close_trusts (&t, &prov, &city, &county);
}

/* Two entries: the test in the standard profile, then in the national one. */
#define IN_BOTH_PROFILES(f) {#f " (standard)", f, NULL, NULL, (void *) &STANDARD}, \
                            {#f " (national)", f, NULL, NULL, (void *) &NATIONAL}

int main (void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test (test_refuses_to_start_with_the_wrong_files),
        IN_BOTH_PROFILES (verify_across_the_tree),
        cmocka_unit_test (test_envelope_from_another_tree),
        cmocka_unit_test (test_issue_and_admit_children),
        IN_BOTH_PROFILES (seal_across_the_tree),
        IN_BOTH_PROFILES (learn_from_the_directory),
        cmocka_unit_test (test_rotation_and_revocation),
        IN_BOTH_PROFILES (revocations_across_the_tree),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
