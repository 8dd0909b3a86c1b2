/* test_xf_crypto.c — both profiles: signatures (and that SM2 uses the standard signer ID, as
 * the openssl tool checks it), hashes against published values, sealing that opens only for
 * its recipient and context, and keys on disk. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <openssl/pem.h>
#include <openssl/rand.h>
#include <sys/stat.h>
#include <unistd.h>
#include "xf_crypto.h"
#include "xf_test.h"

static const xf_profile_t profiles[] = {XF_PROFILE_STANDARD, XF_PROFILE_NATIONAL};

static void test_profile_names (void **state)
{
    (void) state;
    xf_profile_t p;
    xf_err_t err = {0};
    assert_int_equal (xf_profile_parse ("national", &p, &err), XF_OK);
    assert_int_equal (p, XF_PROFILE_NATIONAL);
    assert_string_equal (xf_profile_name (p), "national");
    assert_int_equal (xf_profile_parse ("sm2", &p, &err), XF_EINVAL);
    assert_non_null (strstr (err.msg, "expected standard"));
}

static void hex (const uint8_t *v, size_t n, char *out)
{
    for (size_t i = 0; i < n; i++)
        sprintf (out + 2 * i, "%02x", v[i]);
}

/* SHA-256("abc") and SM3("abc") (GB/T 32905 example 1) */
static void test_hash_known_values (void **state)
{
    (void) state;
    uint8_t md[XF_HASH_LEN];
    char text[65];
    const void *parts[] = {"a", "bc"};
    size_t lens[] = {1, 2};
    assert_int_equal (xf_hash (XF_PROFILE_STANDARD, parts, lens, 2, md, NULL), XF_OK);
    hex (md, sizeof md, text);
    assert_string_equal (text, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    assert_int_equal (xf_hash (XF_PROFILE_NATIONAL, parts, lens, 2, md, NULL), XF_OK);
    hex (md, sizeof md, text);
    assert_string_equal (text, "66c7f0f462eeedd9d1f2d46bdc10e4e24167c4875cf2f7a2297da02b8f4ba8e0");
}

static void test_sign_and_verify (void **state)
{
    (void) state;
    for (size_t i = 0; i < 2; i++) {
        xf_err_t err = {0};
        EVP_PKEY *k = xf_key_generate (profiles[i], &err), *other = xf_key_generate (profiles[i], &err);
        assert_non_null (k);
        assert_int_equal (xf_profile_of_key (k), (int) profiles[i]);
        uint8_t sig[XF_SIG_MAX];
        size_t len = 0;
        const char *msg = "交办 411324-2026-000001";
        assert_int_equal (xf_sign (k, msg, strlen (msg), sig, &len, &err), XF_OK);
        assert_true (len > 0 && len <= XF_SIG_MAX);
        assert_int_equal (xf_verify (k, msg, strlen (msg), sig, len, &err), XF_OK);
        assert_int_equal (xf_verify (other, msg, strlen (msg), sig, len, &err), XF_EPERM);
        assert_string_equal (err.msg, "the signature does not match");
        sig[len / 2] ^= 1;
        assert_int_equal (xf_verify (k, msg, strlen (msg), sig, len, &err), XF_EPERM);
        sig[len / 2] ^= 1;
        assert_int_equal (xf_verify (k, msg, strlen (msg) - 1, sig, len, &err), XF_EPERM);
        EVP_PKEY_free (k);
        EVP_PKEY_free (other);
    }
}

static int run (const char *cmd)
{
    int rc = system (cmd);
    return WIFEXITED (rc) ? WEXITSTATUS (rc) : -1;
}

/* An SM2 signature made here verifies with `openssl dgst -sm3` given the standard ID
 * 1234567812345678, and not with OpenSSL's default (empty) ID: the ID is really set. */
static void test_sm2_signer_id_matches_openssl_tool (void **state)
{
    (void) state;
    if (run ("openssl version >/dev/null 2>&1") != 0)
        skip ();
    char dir[4096], path[4200], cmd[9000];
    assert_int_equal (xf_test_mkdtemp (dir, sizeof dir, "crypto"), 0);
    xf_err_t err = {0};
    EVP_PKEY *k = xf_key_generate (XF_PROFILE_NATIONAL, &err);
    const char *msg = "上报 411324-2026-000002";
    uint8_t sig[XF_SIG_MAX];
    size_t len = 0;
    assert_int_equal (xf_sign (k, msg, strlen (msg), sig, &len, &err), XF_OK);
    snprintf (path, sizeof path, "%s/pub.pem", dir);
    FILE *f = fopen (path, "w");
    assert_non_null (f);
    assert_int_equal (PEM_write_PUBKEY (f, k), 1);
    fclose (f);
    snprintf (path, sizeof path, "%s/msg", dir);
    f = fopen (path, "w");
    fwrite (msg, 1, strlen (msg), f);
    fclose (f);
    snprintf (path, sizeof path, "%s/sig", dir);
    f = fopen (path, "w");
    fwrite (sig, 1, len, f);
    fclose (f);
    snprintf (cmd, sizeof cmd, "cd %s && openssl dgst -sm3 -verify pub.pem -sigopt "
              "distid:1234567812345678 -signature sig msg >/dev/null 2>&1", dir);
    assert_int_equal (run (cmd), 0);
    snprintf (cmd, sizeof cmd, "cd %s && openssl dgst -sm3 -verify pub.pem -signature sig msg "
              ">/dev/null 2>&1", dir);
    assert_int_not_equal (run (cmd), 0);
    EVP_PKEY_free (k);
    xf_test_rmtree (dir);
}

/* The recipient's key for a profile: X25519 made from the 32 bytes of a CURVE secret key, as
 * a node holds it, or SM2. */
static EVP_PKEY *recipient (xf_profile_t p)
{
    uint8_t raw[32];
    if (p == XF_PROFILE_NATIONAL)
        return xf_key_generate (p, NULL);
    RAND_bytes (raw, sizeof raw);
    return xf_key_x25519 (raw, 1, NULL);
}

static void test_seal_opens_only_for_recipient_and_context (void **state)
{
    (void) state;
    const char *who = "{\"name\":\"张三\",\"id_number\":\"41132419800101001X\"}";
    for (size_t i = 0; i < 2; i++) {
        xf_profile_t p = profiles[i];
        xf_err_t err = {0};
        EVP_PKEY *to = recipient (p), *other = recipient (p);
        Xf__SealedIdentity s = XF__SEALED_IDENTITY__INIT;
        assert_int_equal (xf_seal (p, to, "411324-2026-000001|411300", (const uint8_t *) who,
                                   strlen (who), &s, &err), XF_OK);
        assert_int_equal (s.ciphertext.len, strlen (who));
        assert_null (memmem (s.ciphertext.data, s.ciphertext.len, "张三", strlen ("张三")));
        uint8_t *plain = NULL;
        size_t len = 0;
        assert_int_equal (xf_open (p, to, "411324-2026-000001|411300", &s, &plain, &len, &err), XF_OK);
        assert_int_equal (len, strlen (who));
        assert_memory_equal (plain, who, len);
        free (plain);
        /* another office, another record, a flipped bit: none opens */
        assert_int_equal (xf_open (p, other, "411324-2026-000001|411300", &s, &plain, &len, &err),
                          XF_EPERM);
        assert_non_null (strstr (err.msg, "does not open"));
        assert_int_equal (xf_open (p, to, "411324-2026-000002|411300", &s, &plain, &len, &err),
                          XF_EPERM);
        s.ciphertext.data[3] ^= 0x20;
        assert_int_equal (xf_open (p, to, "411324-2026-000001|411300", &s, &plain, &len, &err),
                          XF_EPERM);
        s.ciphertext.data[3] ^= 0x20;
        s.tag.data[0] ^= 1;
        assert_int_equal (xf_open (p, to, "411324-2026-000001|411300", &s, &plain, &len, &err),
                          XF_EPERM);
        xf_sealed_clear (&s);
        assert_null (s.ciphertext.data);
        EVP_PKEY_free (to);
        EVP_PKEY_free (other);
    }
}

/* Two seals of the same identity differ (fresh ephemeral key / seed and nonce each time). */
static void test_seal_is_randomized (void **state)
{
    (void) state;
    for (size_t i = 0; i < 2; i++) {
        EVP_PKEY *to = recipient (profiles[i]);
        Xf__SealedIdentity a = XF__SEALED_IDENTITY__INIT, b = XF__SEALED_IDENTITY__INIT;
        assert_int_equal (xf_seal (profiles[i], to, "c", (const uint8_t *) "same", 4, &a, NULL), XF_OK);
        assert_int_equal (xf_seal (profiles[i], to, "c", (const uint8_t *) "same", 4, &b, NULL), XF_OK);
        assert_memory_not_equal (a.ciphertext.data, b.ciphertext.data, 4);
        xf_sealed_clear (&a);
        xf_sealed_clear (&b);
        EVP_PKEY_free (to);
    }
}

static void test_key_files (void **state)
{
    (void) state;
    char dir[4096], path[4200];
    assert_int_equal (xf_test_mkdtemp (dir, sizeof dir, "crypto"), 0);
    snprintf (path, sizeof path, "%s/sign.key", dir);
    xf_err_t err = {0};
    EVP_PKEY *k = xf_key_generate (XF_PROFILE_NATIONAL, &err);
    assert_int_equal (xf_key_save (path, k, &err), XF_OK);
    struct stat st;
    assert_int_equal (stat (path, &st), 0);
    assert_int_equal (st.st_mode & 0777, 0600);
    assert_int_equal (xf_key_save (path, k, &err), XF_EEXIST);   /* never overwritten */
    assert_non_null (strstr (err.msg, "refusing to overwrite"));
    EVP_PKEY *back = xf_key_load (path, &err);
    assert_non_null (back);
    assert_true (xf_key_same_public (k, back));
    EVP_PKEY_free (back);
    EVP_PKEY_free (k);
    /* not a key; a key of another kind */
    snprintf (path, sizeof path, "%s/junk.key", dir);
    FILE *f = fopen (path, "w");
    fputs ("hello\n", f);
    fclose (f);
    assert_null (xf_key_load (path, &err));
    assert_non_null (strstr (err.msg, "not a PEM private key"));
    snprintf (path, sizeof path, "%s/x.key", dir);
    EVP_PKEY *x = EVP_PKEY_Q_keygen (NULL, NULL, "X25519");
    assert_int_equal (xf_key_save (path, x, &err), XF_OK);
    EVP_PKEY_free (x);
    assert_null (xf_key_load (path, &err));
    assert_non_null (strstr (err.msg, "X25519 key"));
    snprintf (path, sizeof path, "%s/absent.key", dir);
    assert_null (xf_key_load (path, &err));
    assert_int_equal (err.code, XF_EIO);
    xf_test_rmtree (dir);
}

int main (void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test (test_profile_names),
        cmocka_unit_test (test_hash_known_values),
        cmocka_unit_test (test_sign_and_verify),
        cmocka_unit_test (test_sm2_signer_id_matches_openssl_tool),
        cmocka_unit_test (test_seal_opens_only_for_recipient_and_context),
        cmocka_unit_test (test_seal_is_randomized),
        cmocka_unit_test (test_key_files),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
