/* bench_directory.c — the national root's directory of certificates under [trust] (issue 9's
 * national sketch): a root office holds the certificate of every office below it, learned
 * from its provinces' hellos. This builds the nation's tree of certificates (a root, 31
 * provinces, 338 cities, 2,975 counties by default: 3,345 offices, as china.csv), feeds each
 * province's subtree to the root's trust state as its hello would, and measures what the
 * directory costs: heap bytes and resident memory per certificate, time to learn a hello the
 * first time and again (every later hello carries the same certificates), against the raw
 * limits measured in the same run: the same certificates decoded and kept as bare X509, and
 * one signature checked per certificate (the least any admission can cost). Prints one JSON
 * document.
 *
 * Usage: bench_directory [PROVINCES [CITIES [COUNTIES]]]   (default 31 338 2975) */
#include <malloc.h>
#include <openssl/err.h>
#include <openssl/x509.h>
#include "bench_common.h"
#include "../unit/xf_test_pki.h"

typedef struct {
    xf_test_pki_t pki;
    ProtobufCBinaryData der;
    int level;                 /* 1 province, 2 city, 3 county */
    int province;              /* index of its province */
} office_t;

typedef struct {
    office_t *o;
    size_t n;
} nation_t;

static void die (const char *what, const xf_err_t *err)
{
    fprintf (stderr, "bench_directory: %s: %s\n", what, err && err->msg[0] ? err->msg : "failed");
    exit (1);
}

static size_t heap_bytes (void)
{
    struct mallinfo2 m = mallinfo2 ();
    return m.uordblks + m.hblkhd;
}

static size_t rss_bytes (void)
{
    long pages = 0, resident = 0;
    FILE *f = fopen ("/proc/self/statm", "r");
    if (!f || fscanf (f, "%ld %ld", &pages, &resident) != 2)
        resident = 0;
    if (f)
        fclose (f);
    return (size_t) resident * (size_t) sysconf (_SC_PAGESIZE);
}

static void add (nation_t *n, xf_test_pki_t *parent, bool parent_is_anchor, xf_profile_t p,
                 const char *code, int level, int province)
{
    office_t *o = &n->o[n->n++];
    xf_err_t err = {0};
    xf_test_child (&o->pki, parent, parent_is_anchor, p, code, code, 365, &err);
    if (!o->pki.cert)
        die (code, &err);
    o->der.data = xf_cert_der (o->pki.cert, &o->der.len);
    o->level = level;
    o->province = province;
}

/* The tree, top down: provinces 11.., cities PPCC00, counties PPCCKK, spread evenly. */
static nation_t build (xf_test_pki_t *root, xf_profile_t p, int provinces, int cities,
                       int counties)
{
    nation_t n = {calloc ((size_t) (provinces + cities + counties), sizeof (office_t)), 0};
    char code[40];
    if (!n.o)
        die ("out of memory", NULL);
    for (int pi = 0, ci = 0, ki = 0; pi < provinces; pi++) {
        snprintf (code, sizeof code, "%02d0000", 11 + pi);
        size_t prov = n.n;
        add (&n, root, true, p, code, 1, pi);
        int my_cities = cities / provinces + (pi < cities % provinces);
        for (int c = 0; c < my_cities; c++, ci++) {
            snprintf (code, sizeof code, "%02d%02d00", 11 + pi, c + 1);
            size_t city = n.n;
            add (&n, &n.o[prov].pki, false, p, code, 2, pi);
            int my_counties = counties / cities + (ci < counties % cities);
            for (int k = 0; k < my_counties; k++, ki++) {
                snprintf (code, sizeof code, "%02d%02d%02d", 11 + pi, c + 1, k + 1);
                add (&n, &n.o[city].pki, false, p, code, 3, pi);
            }
        }
    }
    return n;
}

/* One province's hello to the root: its subtree's certificates, the province's first. */
static size_t hello_of (const nation_t *n, int province, ProtobufCBinaryData *out)
{
    size_t k = 0;
    for (size_t i = 0; i < n->n; i++)
        if (n->o[i].province == province)
            out[k++] = n->o[i].der;
    return k;
}

/* Every hello once: seconds, and how many certificates entered. */
static double learn_all (xf_trust_t *root, const nation_t *n, int provinces,
                         ProtobufCBinaryData *buf, size_t *learned)
{
    double t0 = bench_now ();
    *learned = 0;
    for (int pi = 0; pi < provinces; pi++) {
        xf_trust_learned_t seen;
        xf_err_t err = {0};
        size_t k = hello_of (n, pi, buf);
        if (xf_trust_learn (root, buf, k, XF_TEST_NOW, NULL, NULL, &seen, &err) != XF_OK)
            die ("learning a hello", &err);
        if (seen.refused)
            fprintf (stderr, "bench_directory: %zu refused: %s\n", seen.refused, seen.why);
        *learned += seen.learned;
    }
    return bench_now () - t0;
}

/* The raw limits: the certificates decoded and kept, nothing else (bytes each); one signature
 * checked per certificate under its issuer's key (seconds each). */
static void raw (const nation_t *n, xf_test_pki_t *root, double *bytes_each, double *verify_s,
                 double *key_bytes_each)
{
    X509 **bare = calloc (n->n, sizeof *bare);
    EVP_PKEY **keys = calloc (n->n, sizeof *keys);
    size_t h0 = heap_bytes ();
    for (size_t i = 0; i < n->n; i++) {
        bare[i] = xf_cert_from_der (n->o[i].der.data, n->o[i].der.len);   /* d2i_X509, SM2's ID */
        if (!bare[i])
            die ("decoding a certificate", NULL);
        X509_get0_pubkey (bare[i]);   /* decoded once, as any use would */
    }
    *bytes_each = (double) (heap_bytes () - h0) / (double) n->n;
    double t0 = bench_now ();
    for (size_t i = 0; i < n->n; i++) {
        X509 *issuer = sk_X509_num (n->o[i].pki.chain) > 1
                           ? sk_X509_value (n->o[i].pki.chain, 1) : root->cert;
        if (X509_verify (bare[i], X509_get0_pubkey (issuer)) != 1) {
            fprintf (stderr, "bench_directory: certificate %zu of %zu does not verify:\n",
                     i + 1, n->n);
            ERR_print_errors_fp (stderr);
            exit (1);
        }
    }
    *verify_s = (bench_now () - t0) / (double) n->n;
    /* a signer's key as the envelope cache keeps it: taken from its certificate, which goes */
    for (size_t i = 0; i < n->n; i++) {
        keys[i] = X509_get_pubkey (bare[i]);
        X509_free (bare[i]);
    }
    size_t h1 = heap_bytes ();
    *key_bytes_each = h1 > h0 ? (double) (h1 - h0) / (double) n->n : 0;
    for (size_t i = 0; i < n->n; i++)
        EVP_PKEY_free (keys[i]);
    free (keys);
    free (bare);
}

static json_t *measure (xf_profile_t p, int provinces, int cities, int counties)
{
    xf_test_pki_t root;
    xf_err_t err = {0};
    xf_test_root (&root, p, "100000", "国");
    double t0 = bench_now ();
    nation_t n = build (&root, p, provinces, cities, counties);
    double build_s = bench_now () - t0;
    size_t der_bytes = 0;
    for (size_t i = 0; i < n.n; i++)
        der_bytes += n.o[i].der.len;
    ProtobufCBinaryData *buf = calloc (n.n, sizeof *buf);
    double raw_bytes, raw_verify_s, key_bytes;
    raw (&n, &root, &raw_bytes, &raw_verify_s, &key_bytes);

    malloc_trim (0);
    size_t h0 = heap_bytes (), r0 = rss_bytes ();
    xf_trust_t *t = xf_test_trust (&root, &root, "100000", XF_TEST_NOW, &err);
    if (!t)
        die ("the root's trust state", &err);
    size_t learned, again;
    double first_s = learn_all (t, &n, provinces, buf, &learned);
    size_t h1 = heap_bytes (), r1 = rss_bytes ();
    double again_s = learn_all (t, &n, provinces, buf, &again);
    if (learned != n.n || again != 0 || xf_trust_offices (t) != n.n + 1) {
        fprintf (stderr, "bench_directory: learned %zu of %zu (again %zu), directory %zu\n",
                 learned, n.n, again, xf_trust_offices (t));
        exit (1);
    }
    /* under AddressSanitizer malloc is not glibc's and mallinfo2 says nothing: null */
    double heap = h1 > h0 ? (double) (h1 - h0) : 0, per_heap = heap / (double) n.n;
    double per_cert_s = first_s / (double) n.n;
    json_t *j = json_pack (
        "{s:s,s:i,s:o,s:o,"
        "s:{s:o,s:o,s:o,s:o},"
        "s:{s:o,s:o,s:o},"
        "s:{s:o,s:o,s:o},"
        "s:{s:o,s:o,s:o}}",
        "profile", xf_profile_name (p), "certificates", (int) n.n,
        "build_s", bench_num (build_s, 2),
        "der_bytes_each", bench_num ((double) der_bytes / (double) n.n, 0),
        "memory", "heap_bytes_each", heap > 0 ? bench_num (per_heap, 0) : json_null (),
        "heap_mib", heap > 0 ? bench_num (heap / 1048576.0, 2) : json_null (),
        "rss_mib", bench_num ((double) (r1 > r0 ? r1 - r0 : 0) / 1048576.0, 2),
        "ratio_to_bare_x509",
        raw_bytes > 0 && heap > 0 ? bench_num (per_heap / raw_bytes, 2) : json_null (),
        "learn_first", "s", bench_num (first_s, 3),
        "us_per_certificate", bench_num (per_cert_s * 1e6, 1),
        "ratio_to_one_signature", bench_num (per_cert_s / raw_verify_s, 2),
        "learn_again", "s", bench_num (again_s, 3),
        "us_per_hello", bench_num (again_s / provinces * 1e6, 1),
        "us_per_certificate", bench_num (again_s / (double) n.n * 1e6, 2),
        "raw", "bare_x509_heap_bytes_each", bench_num (raw_bytes, 0),
        "one_signature_us", bench_num (raw_verify_s * 1e6, 1),
        "signer_key_heap_bytes_each", key_bytes > 0 ? bench_num (key_bytes, 0) : json_null ());
    xf_trust_destroy (&t);
    for (size_t i = 0; i < n.n; i++) {
        xf_test_pki_free (&n.o[i].pki);
        free (n.o[i].der.data);
    }
    free (n.o);
    free (buf);
    xf_test_pki_free (&root);
    return j;
}

int main (int argc, char **argv)
{
    int provinces = argc > 1 ? atoi (argv[1]) : 31;
    int cities = argc > 2 ? atoi (argv[2]) : 338;
    int counties = argc > 3 ? atoi (argv[3]) : 2975;
    if (provinces < 1 || provinces > 89 || cities < provinces || cities > provinces * 99
        || counties < 0 || counties > cities * 99) {
        fprintf (stderr, "usage: bench_directory [PROVINCES (1-89) [CITIES (PROVINCES-99 each) "
                         "[COUNTIES (0-99 a city)]]]\n");
        return 2;
    }
    json_t *out = json_pack ("{s:s,s:[o,o]}", "bench", "directory", "profiles",
                             measure (XF_PROFILE_STANDARD, provinces, cities, counties),
                             measure (XF_PROFILE_NATIONAL, provinces, cities, counties));
    json_dumpf (out, stdout, JSON_INDENT (2) | JSON_REAL_PRECISION (12));
    putchar ('\n');
    json_decref (out);
    return 0;
}
