/* test_xf_route.c — the routing table: self, children down, everything else up (or unknown at
 * the root), announcements that add and replace a child's subtree, refusals of codes a child
 * cannot claim (nothing changes), subtree membership and listing, and a province-size table. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "xf_route.h"

/* Nanyang city under Henan province, with four counties. */
#define SELF   "411300"
#define PARENT "410000"
#define WOLONG "411303"
#define XIXIA  "411323"
#define XICHUAN "411326"
#define NEIXIANG "411325"

#define N_OF(a) (sizeof (a) / sizeof (a)[0])

/* ---------------------------------------------------------------- helpers */

static void assert_msg_has (const xf_err_t *err, const char *phrase)
{
    if (!strstr (err->msg, phrase))
        fail_msg ("error message \"%s\" does not mention \"%s\"", err->msg, phrase);
}

static void add_child (xf_routes_t *r, const char *child)
{
    xf_err_t err = {0};
    if (xf_routes_add_child (r, child, &err) != XF_OK)
        fail_msg ("add child %s: %s", child, err.msg);
}

static void announce (xf_routes_t *r, const char *child, const char *const *codes, size_t n)
{
    xf_err_t err = {0};
    if (xf_routes_announce (r, child, codes, NULL, n, &err) != XF_OK)
        fail_msg ("announce from %s: %s", child, err.msg);
}

/* The route kind for dest; *hop_out (may be NULL) gets the hop. */
static xf_route_t route (const xf_routes_t *r, const char *dest, const char **hop_out)
{
    const char *hop = "untouched";
    xf_route_t k = xf_routes_lookup (r, dest, &hop);
    if (hop_out)
        *hop_out = hop;
    return k;
}

static void assert_self (const xf_routes_t *r, const char *dest)
{
    const char *hop;
    assert_int_equal (route (r, dest, &hop), XF_ROUTE_SELF);
    assert_null (hop);
}

static void assert_down (const xf_routes_t *r, const char *dest, const char *child)
{
    const char *hop;
    xf_route_t k = route (r, dest, &hop);
    if (k != XF_ROUTE_CHILD || !hop || strcmp (hop, child) != 0)
        fail_msg ("%s routes %d via %s, expected down to %s", dest, (int) k, hop ? hop : "(null)",
                  child);
}

static void assert_up (const xf_routes_t *r, const char *dest, const char *parent)
{
    const char *hop;
    xf_route_t k = route (r, dest, &hop);
    if (k != XF_ROUTE_PARENT || !hop || strcmp (hop, parent) != 0)
        fail_msg ("%s routes %d via %s, expected up to %s", dest, (int) k, hop ? hop : "(null)",
                  parent);
}

static void assert_unknown (const xf_routes_t *r, const char *dest)
{
    const char *hop;
    assert_int_equal (route (r, dest, &hop), XF_ROUTE_UNKNOWN);
    assert_null (hop);
}

static int cmp_str (const void *a, const void *b)
{
    return strcmp (*(const char *const *) a, *(const char *const *) b);
}

/* The subtree listing is self first, then exactly the codes in want (any order, no repeats). */
static void assert_subtree (const xf_routes_t *r, const char *self, const char *const *want,
                            size_t n_want)
{
    size_t n = 12345;
    const char *const *list = xf_routes_subtree (r, &n, NULL);
    assert_non_null (list);
    if (n != n_want + 1)
        fail_msg ("subtree has %zu codes, expected %zu", n, n_want + 1);
    assert_string_equal (list[0], self);

    const char **got = calloc (n_want ? n_want : 1, sizeof *got);
    const char **exp = calloc (n_want ? n_want : 1, sizeof *exp);
    assert_non_null (got);
    assert_non_null (exp);
    for (size_t i = 0; i < n_want; i++) {
        got[i] = list[i + 1];
        exp[i] = want[i];
        assert_non_null (got[i]);
    }
    qsort (got, n_want, sizeof *got, cmp_str);
    qsort (exp, n_want, sizeof *exp, cmp_str);
    for (size_t i = 0; i < n_want; i++) {
        if (strcmp (got[i], exp[i]) != 0)
            fail_msg ("subtree entry %zu is %s, expected %s", i, got[i], exp[i]);
        if (i > 0 && strcmp (got[i - 1], got[i]) == 0)
            fail_msg ("subtree lists %s twice", got[i]);
        if (strcmp (got[i], self) == 0)
            fail_msg ("subtree lists self %s again", self);
    }
    free (got);
    free (exp);
}

/* Nanyang with children Wolong, Xixia, Xichuan (configured, nothing announced yet). */
static xf_routes_t *nanyang (void)
{
    xf_routes_t *r = xf_routes_new (SELF, PARENT);
    assert_non_null (r);
    add_child (r, WOLONG);
    add_child (r, XIXIA);
    add_child (r, XICHUAN);
    return r;
}

static const char *const XIXIA_TOWNS[] = {XIXIA, "411323001", "411323002", "411323100"};
static const char *const WOLONG_TOWNS[] = {WOLONG, "411303001", "411303002"};

/* nanyang() plus the announcements of Xixia and Wolong above. */
static xf_routes_t *nanyang_announced (void)
{
    xf_routes_t *r = nanyang ();
    announce (r, XIXIA, XIXIA_TOWNS, N_OF (XIXIA_TOWNS));
    announce (r, WOLONG, WOLONG_TOWNS, N_OF (WOLONG_TOWNS));
    return r;
}

/* Everything nanyang_announced() routes, checked in one go (used before and after refusals). */
static void assert_nanyang_announced (const xf_routes_t *r)
{
    assert_self (r, SELF);
    for (size_t i = 0; i < N_OF (XIXIA_TOWNS); i++)
        assert_down (r, XIXIA_TOWNS[i], XIXIA);
    for (size_t i = 0; i < N_OF (WOLONG_TOWNS); i++)
        assert_down (r, WOLONG_TOWNS[i], WOLONG);
    assert_down (r, XICHUAN, XICHUAN);
    assert_up (r, PARENT, PARENT);
    assert_up (r, NEIXIANG, PARENT);
    assert_up (r, "411326001", PARENT);   /* Xichuan never announced its towns */
    static const char *const all[] = {WOLONG, "411303001", "411303002", XIXIA, "411323001",
                                      "411323002", "411323100", XICHUAN};
    assert_subtree (r, SELF, all, N_OF (all));
}

/* ---------------------------------------------------------------- basic lookups */

static void test_self (void **state)
{
    (void) state;
    xf_routes_t *r = xf_routes_new (SELF, PARENT);
    assert_non_null (r);
    assert_self (r, SELF);
    assert_true (xf_routes_in_subtree (r, NULL, SELF));
    assert_subtree (r, SELF, NULL, 0);
    xf_routes_destroy (&r);
    assert_null (r);

    r = xf_routes_new (PARENT, NULL);   /* the root is itself too */
    assert_non_null (r);
    assert_self (r, PARENT);
    assert_subtree (r, PARENT, NULL, 0);
    xf_routes_destroy (&r);
}

static void test_children_route_down (void **state)
{
    (void) state;
    xf_routes_t *r = nanyang ();
    assert_down (r, WOLONG, WOLONG);
    assert_down (r, XIXIA, XIXIA);
    assert_down (r, XICHUAN, XICHUAN);
    assert_self (r, SELF);
    assert_up (r, NEIXIANG, PARENT);   /* not configured here */
    static const char *const kids[] = {WOLONG, XIXIA, XICHUAN};
    assert_subtree (r, SELF, kids, N_OF (kids));

    /* adding a configured child again is harmless */
    add_child (r, XIXIA);
    assert_subtree (r, SELF, kids, N_OF (kids));
    assert_down (r, XIXIA, XIXIA);
    xf_routes_destroy (&r);
}

static void test_unknown_goes_up (void **state)
{
    (void) state;
    xf_routes_t *r = nanyang ();
    static const char *const elsewhere[] = {PARENT, NEIXIANG, "411300001", "420100", "110000",
                                            "411303001", "4113", "", "4113030010011"};
    for (size_t i = 0; i < N_OF (elsewhere); i++)
        assert_up (r, elsewhere[i], PARENT);
    xf_routes_destroy (&r);
}

static void test_unknown_at_root (void **state)
{
    (void) state;
    static const char *const parents[] = {NULL, ""};
    for (size_t p = 0; p < N_OF (parents); p++) {
        xf_routes_t *r = xf_routes_new (PARENT, parents[p]);
        assert_non_null (r);
        add_child (r, SELF);
        static const char *const nanyang_codes[] = {SELF, WOLONG, "411303001"};
        announce (r, SELF, nanyang_codes, N_OF (nanyang_codes));
        assert_self (r, PARENT);
        assert_down (r, SELF, SELF);
        assert_down (r, WOLONG, SELF);
        assert_down (r, "411303001", SELF);
        assert_unknown (r, "411303002");
        assert_unknown (r, "420000");
        assert_unknown (r, XIXIA);
        assert_unknown (r, "");
        assert_null (xf_routes_parent (r));
        xf_routes_destroy (&r);
    }
}

static void test_parent (void **state)
{
    (void) state;
    xf_routes_t *r = nanyang ();
    assert_non_null (xf_routes_parent (r));
    assert_string_equal (xf_routes_parent (r), PARENT);
    xf_routes_destroy (&r);

    r = xf_routes_new (PARENT, NULL);
    assert_non_null (r);
    assert_null (xf_routes_parent (r));
    xf_routes_destroy (&r);

    r = xf_routes_new (PARENT, "");
    assert_non_null (r);
    assert_null (xf_routes_parent (r));
    xf_routes_destroy (&r);
}

/* A province's whole subtree in one announcement (thousands of codes, one repeated) lands
 * once each, sorted, found, and a second announcement replaces it (the root takes one from
 * each province on every change below it: the entries are sorted once per announcement). */
static void test_announce_large (void **state)
{
    (void) state;
    enum { N = 3000 };
    static char codes[N + 1][13];
    const char *list[N + 1];
    xf_err_t err = {0};
    xf_routes_t *r = xf_routes_new ("100000", NULL);
    add_child (r, "410000");
    for (int i = 0; i < N; i++) {
        snprintf (codes[i], sizeof codes[i], "41%04d", (i * 7919) % 9000 + 1000);   /* unsorted */
        list[i] = codes[i];
    }
    snprintf (codes[N], sizeof codes[N], "%s", codes[17]);   /* a repeat */
    list[N] = codes[N];
    assert_int_equal (xf_routes_announce (r, "410000", list, NULL, N + 1, &err), XF_OK);
    size_t n = 0;
    const char *const *sub = xf_routes_subtree (r, &n, NULL);
    assert_non_null (sub);
    assert_int_equal (n, 1 + 1 + N);   /* this office, the child, its N offices once each */
    for (int i = 0; i < N; i++) {
        const char *hop = NULL;
        assert_int_equal (xf_routes_lookup (r, codes[i], &hop), XF_ROUTE_CHILD);
        assert_string_equal (hop, "410000");
    }
    assert_int_equal (xf_routes_announce (r, "410000", list, NULL, 10, &err), XF_OK);
    sub = xf_routes_subtree (r, &n, NULL);
    assert_int_equal (n, 1 + 1 + 10);
    const char *hop = NULL;
    assert_int_equal (xf_routes_lookup (r, codes[2999], &hop), XF_ROUTE_UNKNOWN);   /* the root */
    xf_routes_destroy (&r);
}

static void test_add_child_refused (void **state)
{
    (void) state;
    xf_routes_t *r = nanyang_announced ();
    xf_err_t err = {0};
    /* the parent, this office, and a town already in Xixia's subtree cannot become children */
    static const char *const bad[] = {PARENT, SELF, "411323001"};
    for (size_t i = 0; i < N_OF (bad); i++) {
        err = (xf_err_t) {0};
        assert_int_equal (xf_routes_add_child (r, bad[i], &err), XF_EINVAL);
        assert_int_equal (err.code, XF_EINVAL);
        assert_msg_has (&err, bad[i]);
    }
    assert_nanyang_announced (r);
    xf_routes_destroy (&r);
}

/* ---------------------------------------------------------------- announcements */

static void test_announce_adds_subtree (void **state)
{
    (void) state;
    xf_routes_t *r = nanyang ();
    announce (r, XIXIA, XIXIA_TOWNS, N_OF (XIXIA_TOWNS));
    for (size_t i = 0; i < N_OF (XIXIA_TOWNS); i++)
        assert_down (r, XIXIA_TOWNS[i], XIXIA);
    assert_down (r, WOLONG, WOLONG);
    assert_up (r, "411303001", PARENT);   /* Wolong has not announced yet */
    static const char *const after_xixia[] = {WOLONG, XIXIA, "411323001", "411323002",
                                              "411323100", XICHUAN};
    assert_subtree (r, SELF, after_xixia, N_OF (after_xixia));

    announce (r, WOLONG, WOLONG_TOWNS, N_OF (WOLONG_TOWNS));
    assert_nanyang_announced (r);

    /* an announcement without the child itself still leaves the child routed to itself */
    static const char *const towns_only[] = {"411326001"};
    announce (r, XICHUAN, towns_only, N_OF (towns_only));
    assert_down (r, XICHUAN, XICHUAN);
    assert_down (r, "411326001", XICHUAN);

    /* repeated codes in one announcement are listed once */
    static const char *const twice[] = {"411326002", "411326002", XICHUAN, "411326002"};
    announce (r, XICHUAN, twice, N_OF (twice));
    assert_down (r, "411326002", XICHUAN);
    assert_up (r, "411326001", PARENT);
    static const char *const all[] = {WOLONG, "411303001", "411303002", XIXIA, "411323001",
                                      "411323002", "411323100", XICHUAN, "411326002"};
    assert_subtree (r, SELF, all, N_OF (all));
    xf_routes_destroy (&r);
}

static void test_reannounce_replaces (void **state)
{
    (void) state;
    xf_routes_t *r = nanyang_announced ();
    /* Xixia drops 411323002 and 411323100, keeps 411323001, gains 411323200 */
    static const char *const again[] = {XIXIA, "411323001", "411323200"};
    announce (r, XIXIA, again, N_OF (again));
    assert_down (r, XIXIA, XIXIA);
    assert_down (r, "411323001", XIXIA);
    assert_down (r, "411323200", XIXIA);
    assert_up (r, "411323002", PARENT);
    assert_up (r, "411323100", PARENT);
    assert_false (xf_routes_in_subtree (r, XIXIA, "411323002"));
    assert_false (xf_routes_in_subtree (r, NULL, "411323100"));
    for (size_t i = 0; i < N_OF (WOLONG_TOWNS); i++)   /* the other child is untouched */
        assert_down (r, WOLONG_TOWNS[i], WOLONG);
    static const char *const all[] = {WOLONG, "411303001", "411303002", XIXIA, "411323001",
                                      "411323200", XICHUAN};
    assert_subtree (r, SELF, all, N_OF (all));

    /* a dropped town may move to another child */
    static const char *const xichuan[] = {XICHUAN, "411323002"};
    announce (r, XICHUAN, xichuan, N_OF (xichuan));
    assert_down (r, "411323002", XICHUAN);

    /* announcing nothing leaves the child alone in its subtree */
    announce (r, WOLONG, NULL, 0);
    assert_down (r, WOLONG, WOLONG);
    assert_up (r, "411303001", PARENT);
    assert_up (r, "411303002", PARENT);
    static const char *const after[] = {WOLONG, XIXIA, "411323001", "411323200", XICHUAN,
                                        "411323002"};
    assert_subtree (r, SELF, after, N_OF (after));
    xf_routes_destroy (&r);
}

/* A child claiming code (in the middle of otherwise fine codes) is refused, naming it. */
static void refuse_claim (xf_routes_t *r, const char *child, const char *code)
{
    const char *codes[] = {child, "411323999", code, "411303999"};
    for (size_t pos = 0; pos < 3; pos++) {   /* the bad code first, in the middle, last */
        const char *c[3] = {"411326777", "411326778", "411326779"};
        c[pos] = code;
        xf_err_t err = {0};
        int rc = xf_routes_announce (r, child, c, NULL, 3, &err);
        if (rc != XF_EPERM)
            fail_msg ("%s claiming %s (position %zu): rc %d (%s)", child, code, pos, rc, err.msg);
        assert_int_equal (err.code, XF_EPERM);
        assert_msg_has (&err, code);
        assert_msg_has (&err, child);
        assert_nanyang_announced (r);
    }
    xf_err_t err = {0};
    assert_int_equal (xf_routes_announce (r, child, codes, NULL, N_OF (codes), &err), XF_EPERM);
    assert_msg_has (&err, code);
    assert_nanyang_announced (r);
}

static void test_announce_other_childs_code_refused (void **state)
{
    (void) state;
    xf_routes_t *r = nanyang_announced ();
    refuse_claim (r, XIXIA, WOLONG);         /* another configured child */
    refuse_claim (r, XIXIA, "411303001");    /* a town another child announced */
    refuse_claim (r, WOLONG, "411323100");
    refuse_claim (r, XICHUAN, XIXIA);
    refuse_claim (r, XICHUAN, "411323002");
    xf_routes_destroy (&r);
}

static void test_announce_self_or_parent_refused (void **state)
{
    (void) state;
    xf_routes_t *r = nanyang_announced ();
    refuse_claim (r, XIXIA, SELF);
    refuse_claim (r, XIXIA, PARENT);
    refuse_claim (r, XICHUAN, SELF);
    refuse_claim (r, WOLONG, PARENT);
    xf_routes_destroy (&r);
}

static void test_announce_unconfigured_refused (void **state)
{
    (void) state;
    xf_routes_t *r = nanyang_announced ();
    /* an office never configured, a grandchild, this office, the parent */
    static const char *const strangers[] = {NEIXIANG, "411323001", SELF, PARENT};
    for (size_t i = 0; i < N_OF (strangers); i++) {
        const char *codes[] = {strangers[i], "411325001"};
        xf_err_t err = {0};
        int rc = xf_routes_announce (r, strangers[i], codes, NULL, N_OF (codes), &err);
        if (rc != XF_EPERM)
            fail_msg ("announcement from %s: rc %d (%s)", strangers[i], rc, err.msg);
        assert_int_equal (err.code, XF_EPERM);
        assert_msg_has (&err, strangers[i]);
        assert_msg_has (&err, "not a configured child");
        assert_up (r, "411325001", PARENT);
        assert_nanyang_announced (r);
    }
    xf_routes_destroy (&r);
}

/* ---------------------------------------------------------------- membership and listing */

static void test_in_subtree (void **state)
{
    (void) state;
    xf_routes_t *r = nanyang_announced ();
    /* without a child: this office or any child's subtree */
    assert_true (xf_routes_in_subtree (r, NULL, SELF));
    for (size_t i = 0; i < N_OF (XIXIA_TOWNS); i++)
        assert_true (xf_routes_in_subtree (r, NULL, XIXIA_TOWNS[i]));
    for (size_t i = 0; i < N_OF (WOLONG_TOWNS); i++)
        assert_true (xf_routes_in_subtree (r, NULL, WOLONG_TOWNS[i]));
    assert_true (xf_routes_in_subtree (r, NULL, XICHUAN));
    assert_false (xf_routes_in_subtree (r, NULL, PARENT));
    assert_false (xf_routes_in_subtree (r, NULL, NEIXIANG));
    assert_false (xf_routes_in_subtree (r, NULL, "411326001"));
    assert_false (xf_routes_in_subtree (r, NULL, ""));

    /* with a child: exactly that child's subtree. This office is not in it: a child cannot
     * speak for its parent (xf_office_apply relies on this to check envelope origins). */
    for (size_t i = 0; i < N_OF (XIXIA_TOWNS); i++) {
        assert_true (xf_routes_in_subtree (r, XIXIA, XIXIA_TOWNS[i]));
        assert_false (xf_routes_in_subtree (r, WOLONG, XIXIA_TOWNS[i]));
        assert_false (xf_routes_in_subtree (r, XICHUAN, XIXIA_TOWNS[i]));
    }
    for (size_t i = 0; i < N_OF (WOLONG_TOWNS); i++) {
        assert_true (xf_routes_in_subtree (r, WOLONG, WOLONG_TOWNS[i]));
        assert_false (xf_routes_in_subtree (r, XIXIA, WOLONG_TOWNS[i]));
    }
    assert_true (xf_routes_in_subtree (r, XICHUAN, XICHUAN));
    static const char *const kids[] = {WOLONG, XIXIA, XICHUAN};
    for (size_t i = 0; i < N_OF (kids); i++) {
        assert_false (xf_routes_in_subtree (r, kids[i], SELF));
        assert_false (xf_routes_in_subtree (r, kids[i], PARENT));
        assert_false (xf_routes_in_subtree (r, kids[i], NEIXIANG));
    }
    /* an unconfigured office has no subtree here */
    assert_false (xf_routes_in_subtree (r, NEIXIANG, NEIXIANG));
    assert_false (xf_routes_in_subtree (r, PARENT, PARENT));
    xf_routes_destroy (&r);
}

static void test_subtree_refreshed (void **state)
{
    (void) state;
    xf_routes_t *r = xf_routes_new (SELF, PARENT);
    assert_non_null (r);
    assert_subtree (r, SELF, NULL, 0);

    add_child (r, XIXIA);
    static const char *const one[] = {XIXIA};
    assert_subtree (r, SELF, one, N_OF (one));

    announce (r, XIXIA, XIXIA_TOWNS, N_OF (XIXIA_TOWNS));
    static const char *const towns[] = {XIXIA, "411323001", "411323002", "411323100"};
    assert_subtree (r, SELF, towns, N_OF (towns));

    add_child (r, WOLONG);
    static const char *const two[] = {XIXIA, "411323001", "411323002", "411323100", WOLONG};
    assert_subtree (r, SELF, two, N_OF (two));

    static const char *const fewer[] = {"411323100"};
    announce (r, XIXIA, fewer, N_OF (fewer));
    static const char *const after[] = {XIXIA, "411323100", WOLONG};
    assert_subtree (r, SELF, after, N_OF (after));

    /* a refused announcement leaves the listing as it was */
    static const char *const bad[] = {"411303001", SELF};
    xf_err_t err = {0};
    assert_int_equal (xf_routes_announce (r, WOLONG, bad, NULL, N_OF (bad), &err), XF_EPERM);
    assert_subtree (r, SELF, after, N_OF (after));

    /* many codes: the table grows past its first allocation and the listing follows */
    char codes[100][13];
    const char *ptrs[100];
    for (int i = 0; i < 100; i++) {
        snprintf (codes[i], sizeof codes[i], "411303%03d", i + 1);
        ptrs[i] = codes[i];
    }
    announce (r, WOLONG, ptrs, 100);
    const char *want[103];
    want[0] = XIXIA;
    want[1] = "411323100";
    want[2] = WOLONG;
    for (int i = 0; i < 100; i++)
        want[3 + i] = codes[i];
    assert_subtree (r, SELF, want, 103);
    for (int i = 0; i < 100; i++)
        assert_down (r, codes[i], WOLONG);
    xf_routes_destroy (&r);
}

/* ---------------------------------------------------------------- a province */

#define N_CITIES 18
#define N_COUNTIES 10

static void city_code (char out[13], int city)
{
    snprintf (out, 13, "41%02u00", (unsigned) (city + 1) % 100u);
}

static void county_code (char out[13], int city, int county)
{
    snprintf (out, 13, "41%02u%02u", (unsigned) (city + 1) % 100u,
              (unsigned) (county + 1) % 100u);   /* 4113xx */
}

static void test_province (void **state)
{
    (void) state;
    static const char *const parents[] = {"100000", NULL};   /* under a national node, root */
    for (size_t p = 0; p < N_OF (parents); p++) {
        xf_routes_t *r = xf_routes_new (PARENT, parents[p]);
        assert_non_null (r);
        char cities[N_CITIES][13], counties[N_CITIES][N_COUNTIES + 1][13];
        for (int c = 0; c < N_CITIES; c++) {
            city_code (cities[c], c);
            add_child (r, cities[c]);
        }
        /* announce in reverse order, so insertion order differs from code order */
        for (int c = N_CITIES - 1; c >= 0; c--) {
            const char *codes[N_COUNTIES + 1];
            strcpy (counties[c][0], cities[c]);
            codes[0] = counties[c][0];
            for (int k = 0; k < N_COUNTIES; k++) {
                county_code (counties[c][k + 1], c, k);
                codes[k + 1] = counties[c][k + 1];
            }
            announce (r, cities[c], codes, N_COUNTIES + 1);
        }

        assert_self (r, PARENT);
        const char *want[N_CITIES * (N_COUNTIES + 1)];
        size_t nw = 0;
        for (int c = 0; c < N_CITIES; c++)
            for (int k = 0; k <= N_COUNTIES; k++) {
                const char *code = counties[c][k];
                want[nw++] = code;
                assert_down (r, code, cities[c]);
                assert_true (xf_routes_in_subtree (r, cities[c], code));
                assert_true (xf_routes_in_subtree (r, NULL, code));
                assert_false (xf_routes_in_subtree (r, cities[(c + 1) % N_CITIES], code));
            }
        assert_subtree (r, PARENT, want, nw);

        /* codes nobody announced */
        static const char *const others[] = {"411311", "411900", "412000", "420100", "410001",
                                             "411301001", "410100001"};
        for (size_t i = 0; i < N_OF (others); i++) {
            if (parents[p])
                assert_up (r, others[i], parents[p]);
            else
                assert_unknown (r, others[i]);
            assert_false (xf_routes_in_subtree (r, NULL, others[i]));
        }

        /* one city re-announces fewer counties; every other route is as before */
        static const char *const nanyang_codes[] = {"411300", "411303", "411323"};
        announce (r, "411300", nanyang_codes, N_OF (nanyang_codes));
        for (int c = 0; c < N_CITIES; c++)
            for (int k = 0; k <= N_COUNTIES; k++) {
                const char *code = counties[c][k];
                int kept = c != 12 || k == 0 || strcmp (code, "411303") == 0;
                if (kept)
                    assert_down (r, code, cities[c]);
                else if (parents[p])
                    assert_up (r, code, parents[p]);
                else
                    assert_unknown (r, code);
            }
        assert_down (r, "411323", "411300");
        size_t n = 0;
        assert_non_null (xf_routes_subtree (r, &n, NULL));
        assert_int_equal (n, 1 + N_CITIES * (N_COUNTIES + 1) - (N_COUNTIES - 1) + 1);
        xf_routes_destroy (&r);
        assert_null (r);
    }
}

/* ---------------------------------------------------------------- destroy */

static void test_destroy_null_safe (void **state)
{
    (void) state;
    xf_routes_destroy (NULL);
    xf_routes_t *r = NULL;
    xf_routes_destroy (&r);
    assert_null (r);
    r = nanyang_announced ();
    size_t n;
    assert_non_null (xf_routes_subtree (r, &n, NULL));   /* with the listing cached */
    xf_routes_destroy (&r);
    assert_null (r);
    xf_routes_destroy (&r);   /* twice */
    assert_null (r);
}

int main (void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test (test_self),
        cmocka_unit_test (test_children_route_down),
        cmocka_unit_test (test_unknown_goes_up),
        cmocka_unit_test (test_unknown_at_root),
        cmocka_unit_test (test_parent),
        cmocka_unit_test (test_announce_large),
        cmocka_unit_test (test_add_child_refused),
        cmocka_unit_test (test_announce_adds_subtree),
        cmocka_unit_test (test_reannounce_replaces),
        cmocka_unit_test (test_announce_other_childs_code_refused),
        cmocka_unit_test (test_announce_self_or_parent_refused),
        cmocka_unit_test (test_announce_unconfigured_refused),
        cmocka_unit_test (test_in_subtree),
        cmocka_unit_test (test_subtree_refreshed),
        cmocka_unit_test (test_province),
        cmocka_unit_test (test_destroy_null_safe),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
