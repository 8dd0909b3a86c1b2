/* test_xf_cert.c — office certificates: what a request and a certificate say, issuing down the
 * tree and its refusals, chains that verify and every way one does not, PEM that the openssl
 * tool reads. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "xf_test.h"
#include "xf_test_pki.h"

static const xf_profile_t profiles[] = {XF_PROFILE_STANDARD, XF_PROFILE_NATIONAL};

static void test_code_hierarchy (void **state)
{
    (void) state;
    assert_true (xf_code_under ("410000", "411300"));
    assert_true (xf_code_under ("410000", "411324"));
    assert_true (xf_code_under ("411300", "411324"));
    assert_true (xf_code_under ("411324", "411324001"));
    assert_false (xf_code_under ("411300", "411400"));
    assert_false (xf_code_under ("411300", "411300"));
    assert_false (xf_code_under ("411324", "410000"));
    assert_false (xf_code_under ("410000", "420100"));
}

static void test_request_and_certificate_say_the_office (void **state)
{
    (void) state;
    for (size_t i = 0; i < 2; i++) {
        xf_err_t err = {0};
        xf_test_pki_t prov, city;
        xf_test_root (&prov, profiles[i], "410000", "中共河南省委组织部");
        xf_test_child (&city, &prov, true, profiles[i], "411300", "中共南阳市委组织部", 30, &err);
        assert_non_null (city.cert);
        xf_cert_info_t info;
        assert_int_equal (xf_cert_info (city.cert, &info, &err), XF_OK);
        assert_string_equal (info.code, "411300");
        assert_string_equal (info.name, "中共南阳市委组织部");
        assert_string_equal (info.issuer, "410000");
        assert_true (info.has_curve);
        assert_memory_equal (info.curve, city.curve_pub, 32);
        assert_int_equal (info.profile, (int) profiles[i]);
        assert_false (info.self_signed);
        assert_int_equal (info.not_after - info.not_before, 30 * 86400);
        assert_int_equal (strlen (info.fingerprint), XF_CERT_FP_LEN);
        assert_int_equal (xf_cert_info (prov.cert, &info, &err), XF_OK);
        assert_true (info.self_signed);
        /* DER round trip */
        size_t len = 0;
        uint8_t *der = xf_cert_der (city.cert, &len);
        X509 *back = xf_cert_from_der (der, len);
        assert_non_null (back);
        assert_int_equal (X509_cmp (back, city.cert), 0);
        X509_free (back);
        assert_null (xf_cert_from_der (der, len - 1));
        free (der);
        xf_test_pki_free (&city);
        xf_test_pki_free (&prov);
    }
}

static void test_issue_refusals (void **state)
{
    (void) state;
    xf_err_t err = {0};
    xf_test_pki_t prov, city, other, county;
    xf_test_root (&prov, XF_PROFILE_STANDARD, "410000", "省");
    xf_test_child (&city, &prov, true, XF_PROFILE_STANDARD, "411300", "南阳", 30, &err);
    /* a city cannot certify another city's county, nor itself, nor a bad validity */
    xf_test_child (&other, &city, false, XF_PROFILE_STANDARD, "411424", "别处", 30, &err);
    assert_null (other.cert);
    assert_int_equal (err.code, XF_EPERM);
    assert_non_null (strstr (err.msg, "not under 411300"));
    xf_test_pki_free (&other);
    xf_test_child (&other, &city, false, XF_PROFILE_STANDARD, "411324", "镇平", 0, &err);
    assert_null (other.cert);
    assert_non_null (strstr (err.msg, "validity of 0 days"));
    xf_test_pki_free (&other);
    /* a request of the other profile */
    xf_test_child (&other, &city, false, XF_PROFILE_NATIONAL, "411324", "镇平", 30, &err);
    assert_null (other.cert);
    assert_non_null (strstr (err.msg, "national profile"));
    xf_test_pki_free (&other);
    /* not a request; a request whose signature does not match its key */
    assert_null (xf_cert_issue ("hello", 5, city.cert, city.key, false, XF_TEST_NOW, 30, &err));
    assert_non_null (strstr (err.msg, "not a PEM certificate request"));
    xf_test_child (&county, &city, false, XF_PROFILE_STANDARD, "411324", "镇平", 30, &err);
    assert_non_null (county.cert);
    EVP_PKEY *k = xf_key_generate (XF_PROFILE_STANDARD, NULL);
    char *req = xf_cert_request (k, "411325", "内乡", county.curve_pub, &err);
    char *sig = strstr (req, "-----END");
    assert_non_null (sig);
    sig[-10] = sig[-10] == 'A' ? 'B' : 'A';   /* inside the signature's base64 */
    assert_null (xf_cert_issue (req, strlen (req), city.cert, city.key, false, XF_TEST_NOW, 30, &err));
    assert_non_null (strstr (err.msg, "not signed by the key it carries"));
    free (req);
    EVP_PKEY_free (k);
    xf_test_pki_free (&county);
    xf_test_pki_free (&city);
    xf_test_pki_free (&prov);
}

static void test_chains_verify (void **state)
{
    (void) state;
    for (size_t i = 0; i < 2; i++) {
        xf_err_t err = {0};
        xf_test_pki_t prov, city, county;
        xf_test_root (&prov, profiles[i], "410000", "省");
        xf_test_child (&city, &prov, true, profiles[i], "411300", "南阳", 30, &err);
        xf_test_child (&county, &city, false, profiles[i], "411324", "镇平", 10, &err);
        assert_non_null (county.cert);
        STACK_OF (X509) *above = sk_X509_new_null ();
        sk_X509_push (above, city.cert);
        assert_int_equal (xf_cert_verify (prov.cert, county.cert, above, XF_TEST_NOW, &err), XF_OK);
        assert_int_equal (xf_cert_verify (prov.cert, prov.cert, NULL, XF_TEST_NOW, &err), XF_OK);
        /* the city's certificate missing; the county's expired; not yet valid */
        assert_int_equal (xf_cert_verify (prov.cert, county.cert, NULL, XF_TEST_NOW, &err), XF_EPERM);
        assert_non_null (strstr (err.msg, "certificate of 411324: unable to get local issuer"));
        assert_int_equal (xf_cert_verify (prov.cert, county.cert, above, XF_TEST_NOW + 11 * 86400,
                                          &err), XF_EPERM);
        assert_non_null (strstr (err.msg, "certificate of 411324: certificate has expired on "));
        assert_int_equal (xf_cert_verify (prov.cert, county.cert, above, XF_TEST_NOW - 86400, &err),
                          XF_EPERM);
        assert_non_null (strstr (err.msg, "not yet valid"));
        /* under another anchor */
        xf_test_pki_t other;
        xf_test_root (&other, profiles[i], "410000", "冒充的省");
        assert_int_equal (xf_cert_verify (other.cert, county.cert, above, XF_TEST_NOW, &err), XF_EPERM);
        xf_test_pki_free (&other);
        sk_X509_free (above);
        xf_test_pki_free (&county);
        xf_test_pki_free (&city);
        xf_test_pki_free (&prov);
    }
}

/* A certificate the openssl tool reads, subject and CURVE key shown. */
/* A certificate's fingerprint from its DER bytes is the one xf_cert_info gives it (the trust
 * directory tells a known certificate by it without decoding); another byte, another one. */
static void test_fingerprint_from_der (void **state)
{
    (void) state;
    for (size_t i = 0; i < 2; i++) {
        xf_test_pki_t prov, city;
        xf_err_t err = {0};
        xf_test_root (&prov, profiles[i], "410000", "省");
        xf_test_child (&city, &prov, true, profiles[i], "411300", "市", 30, &err);
        assert_non_null (city.cert);
        xf_cert_info_t info;
        assert_int_equal (xf_cert_info (city.cert, &info, &err), XF_OK);
        size_t len = 0;
        uint8_t *der = xf_cert_der (city.cert, &len);
        char fp[XF_CERT_FP_LEN + 1];
        assert_true (xf_cert_fingerprint_der (der, len, fp));
        assert_string_equal (fp, info.fingerprint);
        der[len / 2] ^= 1;
        assert_true (xf_cert_fingerprint_der (der, len, fp));
        assert_string_not_equal (fp, info.fingerprint);
        free (der);
        xf_test_pki_free (&city);
        xf_test_pki_free (&prov);
    }
}

static void test_openssl_reads_the_pem (void **state)
{
    (void) state;
    if (system ("openssl version >/dev/null 2>&1") != 0)
        skip ();
    char dir[4096], cmd[9000], line[512];
    assert_int_equal (xf_test_mkdtemp (dir, sizeof dir, "cert"), 0);
    xf_err_t err = {0};
    xf_test_pki_t prov;
    xf_test_root (&prov, XF_PROFILE_STANDARD, "410000", "中共河南省委组织部");
    char *pem = xf_cert_pem (prov.cert);
    snprintf (cmd, sizeof cmd, "%s/a.pem", dir);
    FILE *f = fopen (cmd, "w");
    fputs (pem, f);
    fclose (f);
    free (pem);
    snprintf (cmd, sizeof cmd, "openssl x509 -in %s/a.pem -noout -text -nameopt utf8", dir);
    f = popen (cmd, "r");
    bool subject = false, curve = false, ca = false;
    while (fgets (line, sizeof line, f)) {
        subject |= strstr (line, "Subject:") && strstr (line, "CN=410000")
                   && strstr (line, "中共河南省委组织部");
        curve |= strstr (line, "URI:urn:xfsync:curve:") != NULL;
        ca |= strstr (line, "CA:TRUE") != NULL;
    }
    assert_int_equal (pclose (f), 0);
    assert_true (subject && curve && ca);
    (void) err;
    xf_test_pki_free (&prov);
    xf_test_rmtree (dir);
}

int main (void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test (test_code_hierarchy),
        cmocka_unit_test (test_request_and_certificate_say_the_office),
        cmocka_unit_test (test_issue_refusals),
        cmocka_unit_test (test_chains_verify),
        cmocka_unit_test (test_fingerprint_from_der),
        cmocka_unit_test (test_openssl_reads_the_pem),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
