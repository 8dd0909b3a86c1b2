/* bench_common.h — what the benchmarks under tests/bench/ share: a monotonic clock, the
 * synthetic petition workload (the same cases as structs for lib/ and as JSON for the
 * control socket), the raw LMDB baseline every ratio is taken against, and small helpers
 * for percentiles and JSON numbers.
 *
 * Header-only (static inline) because tests/CMakeLists.txt builds each bench_*.c as one
 * executable of its own. */
#ifndef XF_BENCH_COMMON_H
#define XF_BENCH_COMMON_H

#include <errno.h>
#include <jansson.h>
#include <lmdb.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include "xf_case.h"

/* ---------------------------------------------------------------- time and numbers */

static inline double bench_now (void)
{
    struct timespec ts;
    clock_gettime (CLOCK_MONOTONIC, &ts);
    return (double) ts.tv_sec + (double) ts.tv_nsec * 1e-9;
}

static inline long bench_nproc (void)
{
    return sysconf (_SC_NPROCESSORS_ONLN);
}

/* v rounded to decimals places, as a JSON number (print with JSON_REAL_PRECISION(12)). */
static inline json_t *bench_num (double v, int decimals)
{
    double f = 1;
    for (int i = 0; i < decimals; i++)
        f *= 10;
    double r = (double) (long long) (v * f + (v < 0 ? -0.5 : 0.5)) / f;
    if (decimals == 0)
        return json_integer ((json_int_t) r);
    return json_real (r);
}

#define BENCH_JSON_FLAGS (JSON_INDENT (2) | JSON_REAL_PRECISION (12) | JSON_PRESERVE_ORDER)

static inline int bench_cmp_double (const void *a, const void *b)
{
    double x = *(const double *) a, y = *(const double *) b;
    return x < y ? -1 : x > y;
}

/* Sorts v in place and returns the p-quantile (0..1), nearest rank. */
static inline double bench_quantile (double *v, size_t n, double p)
{
    if (n == 0)
        return 0;
    qsort (v, n, sizeof *v, bench_cmp_double);
    size_t k = (size_t) (p * (double) n + 0.5);
    return v[k == 0 ? 0 : (k > n ? n - 1 : k - 1)];
}

/* A growable array of latencies (seconds). */
typedef struct {
    double *v;
    size_t n, cap;
} bench_samples_t;

static inline void bench_sample (bench_samples_t *s, double x)
{
    if (s->n == s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 4096;
        double *p = realloc (s->v, cap * sizeof *p);
        if (!p) {
            fprintf (stderr, "bench: out of memory\n");
            exit (1);
        }
        s->v = p;
        s->cap = cap;
    }
    s->v[s->n++] = x;
}

/* ---------------------------------------------------------------- the workload */

/* splitmix64: a fixed pseudo-random sequence, so every run registers the same cases. */
static inline uint64_t bench_mix (uint64_t x)
{
    x += 0x9e3779b97f4a7c15ull;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
    return x ^ (x >> 31);
}

/* One synthetic petition, described by names so it can become a struct or JSON. */
typedef struct {
    const char *channel, *category, *rank;   /* rank NULL: no accused */
    unsigned subject, headcount;              /* subject 0: not given */
    bool anonymous, skip_level;
    char summary[200], name[40], id_number[20], phone[20], address[120];
    char accused_name[40], accused_unit[80];
} bench_case_t;

/* Case i of the workload; petitioners are drawn from a pool of `identities` people, so
 * repeat petitions (重复访) occur as they do in an office's book. */
static inline void bench_case_gen (uint64_t i, uint64_t identities, bench_case_t *s)
{
    static const char *const channels[] = {"letter", "visit", "phone", "email", "online"};
    static const char *const categories[] = {"accusation", "appeal", "inquiry"};
    static const char *const ranks[] = {"province", "prefecture", "county", "township", "general",
                                        "village"};
    static const char *const surnames[] = {"王", "李", "张", "刘", "陈", "杨", "赵", "黄", "周", "吴"};
    static const char *const given[] = {"建国", "秀英", "伟", "芳", "军", "敏", "志强", "桂兰",
                                        "海燕", "德明", "小红", "国庆"};
    static const char *const topics[] = {
        "反映村党支部书记违规发展党员", "要求落实退休干部待遇", "咨询党员组织关系转接办法",
        "反映乡镇干部在换届中拉票", "申诉对本人的党纪处分", "建议改进基层党组织选举程序",
        "反映选调生招录中存在不公", "要求复查干部档案中的年龄认定",
    };
    static const char *const towns[] = {"石佛寺镇", "贾宋镇", "侯集镇", "老庄镇", "卢医镇",
                                        "遮山镇", "高丘镇", "曲屯镇"};
    static const char check[] = "10X98765432";
    static const int weight[17] = {7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2};
    uint64_t h = bench_mix (i);
    uint64_t who = bench_mix (i ^ 0x5bd1e995u) % (identities ? identities : 1);
    uint64_t w = bench_mix (who + 0x1234567u);

    memset (s, 0, sizeof *s);
    s->channel = channels[h % 5];
    s->category = categories[(h >> 8) % 3];
    s->subject = (unsigned) ((h >> 12) % 9);
    s->headcount = (h >> 16) % 25 == 0 ? 6 : 1;
    s->anonymous = (h >> 20) % 10 == 0;
    s->skip_level = (h >> 24) % 20 == 0;
    snprintf (s->summary, sizeof s->summary, "%s（来件编号 %llu，%s）", topics[(h >> 28) % 8],
              (unsigned long long) i, towns[(h >> 32) % 8]);
    if (!s->anonymous) {
        snprintf (s->name, sizeof s->name, "%s%s", surnames[w % 10], given[(w >> 8) % 12]);
        snprintf (s->phone, sizeof s->phone, "13%09llu", (unsigned long long) ((w >> 16) % 1000000000));
        snprintf (s->address, sizeof s->address, "河南省南阳市镇平县%s第%u村", towns[(w >> 48) % 8],
                  (unsigned) ((w >> 52) % 30 + 1));
        if (w % 4 != 0) {   /* three in four give an identity number */
            int sum = 0;
            snprintf (s->id_number, sizeof s->id_number, "411324%04u%02u%02u%03u",
                      (unsigned) (1940 + (w >> 20) % 60), (unsigned) ((w >> 28) % 12 + 1),
                      (unsigned) ((w >> 32) % 28 + 1), (unsigned) ((w >> 40) % 1000));
            for (int k = 0; k < 17; k++)
                sum += (s->id_number[k] - '0') * weight[k];
            s->id_number[17] = check[sum % 11];
            s->id_number[18] = 0;
        }
    }
    if (strcmp (s->category, "accusation") == 0) {
        s->rank = ranks[(h >> 36) % 6];
        snprintf (s->accused_name, sizeof s->accused_name, "%s某", surnames[(h >> 40) % 10]);
        snprintf (s->accused_unit, sizeof s->accused_unit, "镇平县%s党委", towns[(h >> 44) % 8]);
    }
}

/* The case as the control socket takes it (`case show` keys; no "received": today). */
static inline json_t *bench_case_json (const bench_case_t *s)
{
    json_t *o = json_pack ("{s:s,s:s,s:s,s:i,s:b}", "channel", s->channel, "category", s->category,
                           "summary", s->summary, "headcount", (int) s->headcount, "anonymous",
                           (int) s->anonymous);
    if (s->subject)
        json_object_set_new (o, "subject", json_integer (s->subject));
    if (s->skip_level)
        json_object_set_new (o, "skip_level", json_true ());
    if (!s->anonymous) {
        json_t *p = json_pack ("{s:s,s:s,s:s}", "name", s->name, "phone", s->phone, "address",
                               s->address);
        if (*s->id_number)
            json_object_set_new (p, "id_number", json_string (s->id_number));
        json_object_set_new (o, "petitioner", p);
    }
    if (s->rank)
        json_object_set_new (o, "accused", json_pack ("{s:s,s:s,s:s}", "name", s->accused_name,
                                                      "unit", s->accused_unit, "rank", s->rank));
    return o;
}

static inline void bench_set (char **field, const char *v)
{
    if (xf_case_set (field, v) != XF_OK) {
        fprintf (stderr, "bench: out of memory\n");
        exit (1);
    }
}

/* The case as lib/ takes it (what xf_case_from_json would produce), received on `received`. */
static inline xf_case_t *bench_case_struct (const bench_case_t *s, xf_day_t received)
{
    xf_case_t *c = xf_case_new ();
    if (!c) {
        fprintf (stderr, "bench: out of memory\n");
        exit (1);
    }
    c->channel = (Xf__Channel) xf_channel_parse (s->channel);
    c->category = (Xf__Category) xf_category_parse (s->category);
    bench_set (&c->summary, s->summary);
    c->received = received;
    c->subject = s->subject;
    c->headcount = s->headcount;
    c->anonymous = s->anonymous;
    if (s->skip_level)
        c->flags |= XF__CASE_FLAG__FLAG_SKIP_LEVEL;
    if (!s->anonymous) {
        if (!(c->petitioner = malloc (sizeof *c->petitioner)))
            exit (1);
        xf__petitioner__init (c->petitioner);
        bench_set (&c->petitioner->name, s->name);
        bench_set (&c->petitioner->id_number, s->id_number);
        bench_set (&c->petitioner->phone, s->phone);
        bench_set (&c->petitioner->address, s->address);
    }
    if (s->rank) {
        if (!(c->accused = malloc (sizeof *c->accused)))
            exit (1);
        xf__accused__init (c->accused);
        bench_set (&c->accused->name, s->accused_name);
        bench_set (&c->accused->unit, s->accused_unit);
        c->accused->rank = (Xf__Rank) xf_rank_parse (s->rank);
    }
    return c;
}

/* ---------------------------------------------------------------- raw LMDB baseline */

/* What LMDB itself does on this disk, in the same run: small records (16-byte big-endian
 * keys in order, 100-byte values) put with a durable commit each (LMDB syncs the data, then
 * the meta page), put in groups per durable commit, and read back with one read
 * transaction per get (as xf_store_read does) and inside one read transaction. The phases
 * can be called in turns with the measurement they are the floor of, so that both see the
 * same moment of a noisy machine; the totals add up over the calls. */
typedef struct {
    MDB_env *env;
    MDB_dbi dbi;
    char dir[512];
    uint64_t next;
    size_t value_bytes, group;
    uint8_t val[256];
    size_t each_n, group_n, groups, get_n;
    double each_s, group_s;
    bench_samples_t each_lat;
    double get_txn_us, get_us;
} bench_raw_t;

static inline void bench_raw_die (const bench_raw_t *r, const char *what, int rc)
{
    fprintf (stderr, "bench: raw LMDB in %s: %s: %s\n", r->dir, what, mdb_strerror (rc));
    exit (1);
}

static inline void bench_raw_key (uint8_t key[16], uint64_t n)
{
    memcpy (key, "rawbench", 8);
    for (int i = 0; i < 8; i++)
        key[8 + i] = (uint8_t) (n >> (56 - 8 * i));
}

/* Creates dir if needed and opens a durable environment there; dies on failure. */
static inline void bench_raw_open (bench_raw_t *r, const char *dir, size_t group)
{
    MDB_txn *txn;
    int rc;
    memset (r, 0, sizeof *r);
    snprintf (r->dir, sizeof r->dir, "%s", dir);
    r->value_bytes = 100;
    r->group = group;
    for (size_t i = 0; i < sizeof r->val; i++)
        r->val[i] = (uint8_t) bench_mix (i);
    if (mkdir (dir, 0700) != 0 && errno != EEXIST) {
        fprintf (stderr, "bench: raw LMDB: mkdir %s: %s\n", dir, strerror (errno));
        exit (1);
    }
    if ((rc = mdb_env_create (&r->env)) || (rc = mdb_env_set_mapsize (r->env, (size_t) 8 << 30))
        || (rc = mdb_env_open (r->env, dir, MDB_NOTLS, 0600)))
        bench_raw_die (r, "open", rc);
    if ((rc = mdb_txn_begin (r->env, NULL, 0, &txn)) || (rc = mdb_dbi_open (txn, NULL, 0, &r->dbi))
        || (rc = mdb_txn_commit (txn)))
        bench_raw_die (r, "open", rc);
}

static inline void bench_raw_close (bench_raw_t *r)
{
    if (r->env)
        mdb_env_close (r->env);
    free (r->each_lat.v);
    r->env = NULL;
    r->each_lat = (bench_samples_t) {0};
}

/* Puts n records in one write transaction and commits it. */
static inline void bench_raw_txn (bench_raw_t *r, size_t n)
{
    MDB_txn *txn;
    uint8_t key[16];
    MDB_val k = {sizeof key, key}, v = {r->value_bytes, r->val};
    int rc = mdb_txn_begin (r->env, NULL, 0, &txn);
    if (rc)
        bench_raw_die (r, "begin", rc);
    for (size_t i = 0; i < n; i++) {
        bench_raw_key (key, r->next++);
        if ((rc = mdb_put (txn, r->dbi, &k, &v, 0)))
            bench_raw_die (r, "put", rc);
    }
    if ((rc = mdb_txn_commit (txn)))
        bench_raw_die (r, "commit", rc);
}

/* One record per durable commit for about `seconds`; returns records/s of this call. */
static inline double bench_raw_commit_each (bench_raw_t *r, double seconds)
{
    double start = bench_now (), t = start;
    size_t n = 0;
    while (t - start < seconds || n < 10) {
        double t0 = t;
        bench_raw_txn (r, 1);
        t = bench_now ();
        bench_sample (&r->each_lat, t - t0);
        n++;
    }
    r->each_n += n;
    r->each_s += t - start;
    return (double) n / (t - start);
}

/* Groups of r->group records per durable commit for about `seconds` (3 groups at least);
 * returns records/s of this call. */
static inline double bench_raw_group (bench_raw_t *r, double seconds)
{
    double start = bench_now (), t = start;
    size_t groups = 0;
    while ((t - start < seconds || groups < 3) && r->next < 50000000) {
        bench_raw_txn (r, r->group);
        groups++;
        t = bench_now ();
    }
    r->groups += groups;
    r->group_n += groups * r->group;
    r->group_s += t - start;
    return (double) (groups * r->group) / (t - start);
}

/* Gets of random existing records for about `seconds`. */
static inline void bench_raw_gets (bench_raw_t *r, double seconds)
{
    MDB_txn *txn;
    uint8_t key[16];
    MDB_val k = {sizeof key, key}, out;
    size_t gets = 0;
    int rc;
    if (!r->next)
        bench_raw_txn (r, 1000);
    double start = bench_now (), t;
    do {
        for (int i = 0; i < 1000; i++, gets++) {
            bench_raw_key (key, bench_mix (gets) % r->next);
            if ((rc = mdb_txn_begin (r->env, NULL, MDB_RDONLY, &txn)))
                bench_raw_die (r, "begin read", rc);
            rc = mdb_get (txn, r->dbi, &k, &out);
            mdb_txn_abort (txn);
            if (rc)
                bench_raw_die (r, "get", rc);
        }
        t = bench_now ();
    } while (t - start < seconds);
    r->get_n = gets;
    r->get_txn_us = (t - start) / (double) gets * 1e6;
    if ((rc = mdb_txn_begin (r->env, NULL, MDB_RDONLY, &txn)))
        bench_raw_die (r, "begin read", rc);
    start = bench_now ();
    for (size_t i = 0; i < gets; i++) {
        bench_raw_key (key, bench_mix (i) % r->next);
        if ((rc = mdb_get (txn, r->dbi, &k, &out)))
            bench_raw_die (r, "get", rc);
    }
    r->get_us = (bench_now () - start) / (double) gets * 1e6;
    mdb_txn_abort (txn);
}

static inline double bench_raw_each_per_s (const bench_raw_t *r)
{
    return r->each_s > 0 ? (double) r->each_n / r->each_s : 0;
}

static inline double bench_raw_group_per_s (const bench_raw_t *r)
{
    return r->group_s > 0 ? (double) r->group_n / r->group_s : 0;
}

static inline json_t *bench_raw_json (bench_raw_t *r)
{
    json_t *o = json_object ();
    json_object_set_new (o, "value_bytes", json_integer ((json_int_t) r->value_bytes));
    json_object_set_new (o, "commit_each_records", json_integer ((json_int_t) r->each_n));
    json_object_set_new (o, "commit_each_per_s", bench_num (bench_raw_each_per_s (r), 1));
    json_object_set_new (o, "commit_each_p50_us",
                         bench_num (bench_quantile (r->each_lat.v, r->each_lat.n, 0.50) * 1e6, 1));
    json_object_set_new (o, "commit_each_p99_us",
                         bench_num (bench_quantile (r->each_lat.v, r->each_lat.n, 0.99) * 1e6, 1));
    json_object_set_new (o, "group_size", json_integer ((json_int_t) r->group));
    json_object_set_new (o, "group_records", json_integer ((json_int_t) r->group_n));
    json_object_set_new (o, "group_per_s", bench_num (bench_raw_group_per_s (r), 1));
    json_object_set_new (o, "group_commit_ms",
                         bench_num (r->groups ? r->group_s / (double) r->groups * 1e3 : 0, 3));
    if (r->get_n) {
        json_object_set_new (o, "get_txn_us", bench_num (r->get_txn_us, 3));
        json_object_set_new (o, "get_us", bench_num (r->get_us, 3));
    }
    return o;
}

/* The ratios of each round, in order, as a JSON array. */
static inline json_t *bench_ratios_json (const double *v, size_t n)
{
    json_t *a = json_array ();
    for (size_t i = 0; i < n; i++)
        json_array_append_new (a, bench_num (v[i], 4));
    return a;
}

static inline double bench_ratio (double a, double b)
{
    return b > 0 ? a / b : 0;
}

/* The median of n values, v left as it was. */
static inline double bench_median (const double *v, size_t n)
{
    double copy[64];
    if (n == 0 || n > 64)
        return 0;
    memcpy (copy, v, n * sizeof *v);
    return bench_quantile (copy, n, 0.5);
}

#endif
