/* bench_store.c — the office's case book on LMDB, measured against LMDB itself in the same run.
 *
 *   raw LMDB      small records: one durable commit each, groups of 1000 per commit, gets
 *   register      xf_office_register (one durable transaction per case) and
 *                 xf_office_register_batch (1000 per transaction), in turns with the raw
 *                 phase they compare to; the ratio is the median over the turns
 *   fill          N cases (default 1,000,000) in batches of 10,000 on a no-sync store,
 *                 received dates spread over a year and more
 *   stats         xf_office_stats for a quarter, a year and an odd range with N cases in the
 *                 store, against one raw LMDB get (own read transaction) in the same store;
 *                 and the whole quarter report of `stats` (the year earlier, each month, JSON)
 *   at N          registering into the full store; the scans that grow with N
 *
 * Prints one JSON object on stdout (units in the key names); progress goes to stderr.
 * Usage: bench_store [--cases N] [--dir DIR] [--seconds S] [--quick] */
#include <fcntl.h>
#include <ftw.h>
#include <getopt.h>
#include <stdarg.h>
#include <sys/resource.h>
#include <sys/utsname.h>
#include "bench_common.h"
#include "xf_office.h"
#include "xf_stats.h"
#include "xf_store.h"

#define OFFICE      "411324"
#define FILL_BATCH  10000
#define GROUP       1000
#define ROUNDS      5          /* timing rounds of a read; the median is kept */
#define RATE_ROUNDS 3          /* turns of floor and lib/ in a rate measurement */
#define FILL_START_Y 2025, 7, 1   /* the fill's first received date */
#define PER_YEAR_MAX 900000       /* case numbers run to 999999 a year: stay below */

static const xf_limits_t limits = {.accept_days = 15, .handle_days = 60, .max_extension_days = 30};

typedef struct {
    const char *dir;
    size_t cases;
    double seconds;
    bool quick, own_dir;
} opts_t;

static void die (const char *fmt, ...) __attribute__ ((format (printf, 1, 2), noreturn));
static void die (const char *fmt, ...)
{
    va_list ap;
    va_start (ap, fmt);
    fputs ("bench_store: ", stderr);
    vfprintf (stderr, fmt, ap);
    fputc ('\n', stderr);
    va_end (ap);
    exit (1);
}

static void progress (const char *fmt, ...) __attribute__ ((format (printf, 1, 2)));
static void progress (const char *fmt, ...)
{
    va_list ap;
    va_start (ap, fmt);
    fputs ("bench_store: ", stderr);
    vfprintf (stderr, fmt, ap);
    fputc ('\n', stderr);
    va_end (ap);
}

static char *path_join (const char *dir, const char *name)
{
    char *p;
    if (asprintf (&p, "%s/%s", dir, name) < 0)
        die ("out of memory");
    return p;
}

static void make_dir (const char *path)
{
    if (mkdir (path, 0700) != 0)
        die ("mkdir %s: %s%s", path, strerror (errno),
             errno == EEXIST ? " (give --dir an empty or new directory)" : "");
}

static int rm_entry (const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void) st, (void) flag, (void) ftw;
    return remove (path);
}

static xf_store_t *open_store (const char *dir, bool no_sync)
{
    xf_err_t err = {0};
    xf_store_opts_t o = {.no_sync = no_sync};
    xf_store_t *s = xf_store_open (dir, &o, &err);
    if (!s)
        die ("%s", err.msg);
    return s;
}

static xf_office_t *open_office (xf_store_t *s)
{
    xf_err_t err = {0};
    xf_office_t *o = xf_office_new (s, OFFICE, &limits, &err);
    if (!o)
        die ("%s", err.msg);
    return o;
}

/* ---------------------------------------------------------------- registration rates */

/* Latencies and totals gathered over the rounds of one measurement. */
typedef struct {
    bench_samples_t lat;   /* per case, or per batch */
    double total;          /* seconds inside lib/ */
    size_t cases;
} acc_t;

/* For a batch rate, the quantiles are of whole batches and are printed in ms. */
static json_t *acc_json (acc_t *a, size_t batch)
{
    json_t *o = json_object ();
    double p50 = bench_quantile (a->lat.v, a->lat.n, 0.50);
    double p99 = bench_quantile (a->lat.v, a->lat.n, 0.99);
    json_object_set_new (o, "cases", json_integer ((json_int_t) a->cases));
    json_object_set_new (o, "per_s", bench_num (bench_ratio ((double) a->cases, a->total), 1));
    json_object_set_new (o, "mean_us", bench_num (a->total / (double) a->cases * 1e6, 1));
    if (batch) {
        json_object_set_new (o, "batch_size", json_integer ((json_int_t) batch));
        json_object_set_new (o, "batch_p50_ms", bench_num (p50 * 1e3, 3));
        json_object_set_new (o, "batch_p99_ms", bench_num (p99 * 1e3, 3));
    } else {
        json_object_set_new (o, "p50_us", bench_num (p50 * 1e6, 1));
        json_object_set_new (o, "p99_us", bench_num (p99 * 1e6, 1));
    }
    free (a->lat.v);
    a->lat = (bench_samples_t) {0};
    return o;
}

static double acc_per_s (const acc_t *a)
{
    return bench_ratio ((double) a->cases, a->total);
}

/* One durable transaction per case, for about `seconds` of register time; returns the
 * cases/s of this call. */
static double register_single (xf_office_t *o, int64_t now, uint64_t *next, double seconds,
                               acc_t *a)
{
    xf_actor_t who = {now, 1000, "clerk"};
    xf_day_t today = xf_day_of_time (now);
    double total = 0;
    size_t n = 0;
    while (total < seconds || n < 10) {
        bench_case_t spec;
        xf_err_t err = {0};
        bench_case_gen ((*next)++, 5000, &spec);
        xf_case_t *c = bench_case_struct (&spec, today);
        double t0 = bench_now ();
        int rc = xf_office_register (o, &who, c, &err);
        double dt = bench_now () - t0;
        if (rc != XF_OK)
            die ("xf_office_register: %s", err.msg);
        xf_case_destroy (&c);
        total += dt;
        n++;
        bench_sample (&a->lat, dt);
    }
    a->total += total;
    a->cases += n;
    return (double) n / total;
}

/* Registers cases [first, first + n) in one xf_office_register_batch; returns its seconds. */
static double register_batch (xf_office_t *o, int64_t now, uint64_t first, size_t n,
                              uint64_t identities, xf_day_t (*day_of) (uint64_t, void *), void *arg)
{
    static xf_case_t **cases;
    static size_t cap;
    xf_actor_t who = {now, 1000, "clerk"};
    xf_err_t err = {0};
    size_t bad = 0;
    if (n > cap) {
        free (cases);
        if (!(cases = calloc (n, sizeof *cases)))
            die ("out of memory");
        cap = n;
    }
    for (size_t k = 0; k < n; k++) {
        bench_case_t spec;
        bench_case_gen (first + k, identities, &spec);
        cases[k] = bench_case_struct (&spec, day_of (first + k, arg));
    }
    double t0 = bench_now ();
    int rc = xf_office_register_batch (o, &who, cases, n, false, &bad, &err);
    double dt = bench_now () - t0;
    if (rc != XF_OK)
        die ("xf_office_register_batch: case %zu: %s", bad, err.msg);
    for (size_t k = 0; k < n; k++)
        xf_case_destroy (&cases[k]);
    return dt;
}

static xf_day_t fixed_day (uint64_t i, void *arg)
{
    (void) i;
    return *(xf_day_t *) arg;
}

/* Batches of GROUP for about `seconds` (at least 3 batches); returns the cases/s of this
 * call. */
static double register_batches (xf_office_t *o, int64_t now, uint64_t *next, double seconds,
                                acc_t *a)
{
    xf_day_t today = xf_day_of_time (now);
    double total = 0;
    size_t n = 0;
    while (total < seconds || n < 3) {
        double dt = register_batch (o, now, *next, GROUP, 5000, fixed_day, &today);
        *next += GROUP;
        total += dt;
        n++;
        bench_sample (&a->lat, dt);
    }
    a->total += total;
    a->cases += n * GROUP;
    return (double) (n * GROUP) / total;
}

/* ---------------------------------------------------------------- the fill */

typedef struct {
    size_t n;
    xf_day_t start;
    int span;                 /* days the received dates cover */
    uint32_t *per_day;        /* cases received on start + d */
    int years[16];            /* case numbers used per year of the registering clock */
    size_t per_year[16];
    size_t n_years;
} fill_t;

static xf_day_t fill_day (uint64_t i, void *arg)
{
    const fill_t *f = arg;
    return f->start + (xf_day_t) (i * (uint64_t) f->span / f->n);
}

static void count_year (fill_t *f, int year, size_t n)
{
    for (size_t i = 0; i < f->n_years; i++)
        if (f->years[i] == year) {
            f->per_year[i] += n;
            return;
        }
    if (f->n_years == 16)
        die ("the fill spans more than 16 years; use fewer cases");
    f->years[f->n_years] = year;
    f->per_year[f->n_years++] = n;
}

static json_t *fill_store (const char *dir, fill_t *f)
{
    xf_store_t *s = open_store (dir, true);
    xf_office_t *o = open_office (s);
    size_t batches = (f->n + FILL_BATCH - 1) / FILL_BATCH, growths = 0;
    double *secs = calloc (batches ? batches : 1, sizeof *secs), total = 0;
    double wall = bench_now ();
    int last_pct = 0;
    if (!secs)
        die ("out of memory");
    for (size_t b = 0; b < batches; b++) {
        uint64_t first = (uint64_t) b * FILL_BATCH;
        size_t n = f->n - first < FILL_BATCH ? f->n - first : FILL_BATCH;
        xf_day_t today = fill_day (first + n - 1, f);   /* received is never after today */
        int y, m, d;
        size_t map = xf_store_map_size (s);
        secs[b] = register_batch (o, xf_day_start (today) + 12 * 3600, first, n, f->n / 3 + 1,
                                  fill_day, f);
        total += secs[b];
        growths += xf_store_map_size (s) != map;
        xf_day_to_ymd (today, &y, &m, &d);
        count_year (f, y, n);
        for (size_t k = 0; k < n; k++)
            f->per_day[fill_day (first + k, f) - f->start]++;
        int pct = (int) ((first + n) * 100 / f->n);
        if (pct / 10 != last_pct / 10) {
            progress ("fill: %zu cases (%.0f/s)", (size_t) (first + n), (double) (first + n) / total);
            last_pct = pct;
        }
    }
    wall = bench_now () - wall;
    size_t tenth = batches / 10 ? batches / 10 : 1;
    double head = 0, tail = 0;
    size_t head_n = 0, tail_n = 0;
    for (size_t b = 0; b < tenth; b++) {
        head += secs[b];
        head_n += FILL_BATCH;
        tail += secs[batches - 1 - b];
        tail_n += b == 0 ? f->n - (batches - 1) * FILL_BATCH : FILL_BATCH;
    }
    json_t *out = json_object ();
    json_object_set_new (out, "cases", json_integer ((json_int_t) f->n));
    json_object_set_new (out, "batch", json_integer (FILL_BATCH));
    json_object_set_new (out, "received_days", json_integer (f->span));
    json_object_set_new (out, "per_s", bench_num ((double) f->n / total, 1));
    json_object_set_new (out, "first_tenth_per_s", bench_num ((double) head_n / head, 1));
    json_object_set_new (out, "last_tenth_per_s", bench_num ((double) tail_n / tail, 1));
    json_object_set_new (out, "register_ms", bench_num (total * 1e3, 1));
    json_object_set_new (out, "wall_ms", bench_num (wall * 1e3, 1));
    json_object_set_new (out, "map_growths", json_integer ((json_int_t) growths));
    free (secs);
    xf_office_destroy (&o);
    xf_store_close (&s);
    return out;
}

/* fsyncs what the no-sync fill left in the page cache, so that the first durable commit of
 * the measurements does not pay for it. */
static double sync_file (const char *path)
{
    double t0 = bench_now ();
    int fd = open (path, O_RDWR | O_CLOEXEC);
    if (fd < 0 || fsync (fd) != 0)
        die ("fsync %s: %s", path, strerror (errno));
    close (fd);
    return bench_now () - t0;
}

/* ---------------------------------------------------------------- raw get in the full store */

typedef struct {
    double get_txn_us, get_us;
    json_t *dbs;
} big_raw_t;

/* The median of ROUNDS rounds of `iters` calls of fn, in µs per call. */
typedef void (*timed_fn) (size_t i, void *arg);

static double time_rounds (size_t iters, timed_fn fn, void *arg)
{
    double r[ROUNDS];
    for (int k = 0; k < ROUNDS; k++) {
        double t = bench_now ();
        for (size_t i = 0; i < iters; i++)
            fn (i, arg);
        r[k] = (bench_now () - t) / (double) iters * 1e6;
    }
    return bench_quantile (r, ROUNDS, 0.5);
}

enum { KEYS = 4096 };

typedef struct {
    MDB_env *env;
    MDB_txn *txn;
    MDB_dbi dbi;
    MDB_val keys[KEYS];
} raw_get_t;

static void get_in_txn (size_t i, void *arg)
{
    raw_get_t *g = arg;
    MDB_val v;
    mdb_get (g->txn, g->dbi, &g->keys[i % KEYS], &v);
}

static void get_own_txn (size_t i, void *arg)
{
    raw_get_t *g = arg;
    MDB_val v;
    mdb_txn_begin (g->env, NULL, MDB_RDONLY, &g->txn);
    mdb_get (g->txn, g->dbi, &g->keys[i % KEYS], &v);
    mdb_txn_abort (g->txn);
}

static void raw_gets (const char *dir, const fill_t *f, size_t iters, big_raw_t *out)
{
    static const char *const names[] = {"cases", "events", "due", "petitioner", "query", "stats", "meta"};
    MDB_env *env;
    MDB_txn *txn;
    MDB_dbi dbi = 0;
    MDB_val v;
    int rc;
    if ((rc = mdb_env_create (&env)) || (rc = mdb_env_set_maxdbs (env, 32))
        || (rc = mdb_env_open (env, dir, MDB_NOTLS | MDB_RDONLY, 0600)))
        die ("raw LMDB %s: open: %s", dir, mdb_strerror (rc));
    out->dbs = json_object ();
    if ((rc = mdb_txn_begin (env, NULL, MDB_RDONLY, &txn)))
        die ("raw LMDB %s: begin: %s", dir, mdb_strerror (rc));
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        MDB_dbi h;
        MDB_stat st;
        if ((rc = mdb_dbi_open (txn, names[i], 0, &h)) || (rc = mdb_stat (txn, h, &st)))
            die ("raw LMDB %s: database %s: %s", dir, names[i], mdb_strerror (rc));
        json_object_set_new (out->dbs, names[i],
                             json_pack ("{s:I,s:i,s:I}", "entries", (json_int_t) st.ms_entries,
                                        "depth", (int) st.ms_depth, "pages",
                                        (json_int_t) (st.ms_branch_pages + st.ms_leaf_pages
                                                      + st.ms_overflow_pages)));
        if (i == 0)
            dbi = h;
    }
    mdb_txn_commit (txn);   /* keeps the handles */

    /* random existing case ids, made before the clock starts */
    static char ids[KEYS][XF_CASE_ID_MAX];
    static raw_get_t g;
    g.env = env;
    g.dbi = dbi;
    for (size_t i = 0; i < KEYS; i++) {
        uint64_t h = bench_mix (i + 77), pick = h % f->n, acc = 0;
        size_t y = 0;
        while (y + 1 < f->n_years && pick >= acc + f->per_year[y])
            acc += f->per_year[y++];
        snprintf (ids[i], sizeof ids[i], "%s-%04d-%06llu", OFFICE, f->years[y],
                  (unsigned long long) (pick - acc + 1));
        g.keys[i] = (MDB_val) {strlen (ids[i]), ids[i]};
    }
    if ((rc = mdb_txn_begin (env, NULL, MDB_RDONLY, &g.txn)))
        die ("raw LMDB: begin: %s", mdb_strerror (rc));
    for (size_t i = 0; i < KEYS; i++)
        if ((rc = mdb_get (g.txn, dbi, &g.keys[i], &v)))
            die ("raw LMDB: case %s: %s", ids[i], mdb_strerror (rc));
    out->get_us = time_rounds (iters, get_in_txn, &g);
    mdb_txn_abort (g.txn);
    out->get_txn_us = time_rounds (iters, get_own_txn, &g);
    mdb_env_close (env);
}

/* ---------------------------------------------------------------- stats in the full store */

typedef struct {
    xf_day_t first, last;
    xf_figures_t fig;
    int reads;
} reads_t;

static int count_reads (xf_txn_t *txn, void *arg, xf_err_t *err)
{
    reads_t *r = arg;
    return xf_stats_read (txn, r->first, r->last, &r->fig, &r->reads, err);
}

typedef struct {
    xf_office_t *o;
    xf_day_t first, last;
} stats_call_t;

static void stats_once (size_t i, void *arg)
{
    (void) i;
    stats_call_t *c = arg;
    xf_figures_t fig;
    xf_err_t err;
    if (xf_office_stats (c->o, c->first, c->last, &fig, &err) != XF_OK)
        die ("xf_office_stats: %s", err.msg);
}

static json_t *stats_period (xf_store_t *s, xf_office_t *o, const fill_t *f, const char *label,
                             size_t iters, double raw_get_txn_us, bool *ok)
{
    xf_period_t p;
    xf_err_t err = {0};
    if (xf_period_parse (label, &p, &err) != XF_OK)
        die ("%s", err.msg);
    reads_t r = {p.first, p.last, {{0}}, 0};
    if (xf_store_read (s, count_reads, &r, &err) != XF_OK)
        die ("stats %s: %s", label, err.msg);
    uint64_t expected = 0;
    for (int d = 0; d < f->span; d++)
        if (f->start + d >= p.first && f->start + d <= p.last)
            expected += f->per_day[d];
    if ((uint64_t) r.fig.v[XF_ST_RECEIVED] != expected) {
        fprintf (stderr, "bench_store: stats %s: received %lld, but %llu cases were registered "
                 "with a received date in it\n", label, (long long) r.fig.v[XF_ST_RECEIVED],
                 (unsigned long long) expected);
        *ok = false;
    }
    stats_call_t call = {o, p.first, p.last};
    double us = time_rounds (iters, stats_once, &call);
    json_t *out = json_object ();
    json_object_set_new (out, "period", json_string (p.label));
    json_object_set_new (out, "received", json_integer ((json_int_t) r.fig.v[XF_ST_RECEIVED]));
    json_object_set_new (out, "bucket_reads", json_integer (r.reads));
    json_object_set_new (out, "us", bench_num (us, 3));
    json_object_set_new (out, "vs_raw_get_ratio", bench_num (bench_ratio (us, raw_get_txn_us), 2));
    return out;
}

/* The whole `stats` report of one office (xf_office_stats_report: the period, the same period
 * a year earlier, each month, JSON), as the control command makes it. */
typedef struct {
    xf_office_t *o;
    xf_period_t p;
} report_call_t;

static void report_once (size_t i, void *arg)
{
    (void) i;
    report_call_t *c = arg;
    json_t *r = NULL;
    xf_err_t err;
    if (xf_office_stats_report (c->o, &c->p, 0, &r, &err) != XF_OK)
        die ("xf_office_stats_report: %s", err.msg);
    json_decref (r);
}

static json_t *report_period (xf_office_t *o, const char *label, size_t iters, double raw_get_txn_us)
{
    report_call_t call = {o, {0}};
    xf_err_t err = {0};
    if (xf_period_parse (label, &call.p, &err) != XF_OK)
        die ("%s", err.msg);
    double us = time_rounds (iters, report_once, &call);
    json_t *out = json_object ();
    json_object_set_new (out, "period", json_string (call.p.label));
    json_object_set_new (out, "us", bench_num (us, 3));
    json_object_set_new (out, "vs_raw_get_ratio", bench_num (bench_ratio (us, raw_get_txn_us), 2));
    return out;
}

/* ---------------------------------------------------------------- facts */

static json_t *machine_facts (const char *dir)
{
    struct utsname u;
    char model[256] = "";
    FILE *fp = fopen ("/proc/cpuinfo", "r");
    for (char line[512]; fp && fgets (line, sizeof line, fp);)
        if (strncmp (line, "model name", 10) == 0 && strchr (line, ':')) {
            snprintf (model, sizeof model, "%s", strchr (line, ':') + 2);
            model[strcspn (model, "\n")] = 0;
            break;
        }
    if (fp)
        fclose (fp);
    uname (&u);
    return json_pack ("{s:i,s:s,s:s,s:i,s:s}", "nproc", (int) bench_nproc (), "cpu", model,
                      "kernel", u.release, "page_bytes", (int) sysconf (_SC_PAGESIZE), "dir", dir);
}

static void usage (FILE *out)
{
    fprintf (out, "usage: bench_store [--cases N] [--dir DIR] [--seconds S] [--quick]\n"
                  "  --cases N    cases in the store for the stats reads (default 1000000)\n"
                  "  --dir DIR    work here (new or empty; kept); default a temp dir, removed\n"
                  "  --seconds S  time per rate measurement (default 3)\n"
                  "  --quick      smoke run: 20000 cases, 1 s per rate\n");
}

static opts_t parse_args (int argc, char **argv)
{
    static const struct option lo[] = {
        {"cases", required_argument, NULL, 'n'}, {"dir", required_argument, NULL, 'd'},
        {"seconds", required_argument, NULL, 's'}, {"quick", no_argument, NULL, 'q'},
        {"help", no_argument, NULL, 'h'},         {NULL, 0, NULL, 0},
    };
    opts_t o = {NULL, 1000000, 3, false, false};
    bool cases_set = false, secs_set = false;
    int c;
    char *end;
    while ((c = getopt_long (argc, argv, "", lo, NULL)) != -1) {
        switch (c) {
        case 'n':
            o.cases = strtoull (optarg, &end, 10);
            if (*end || o.cases < 1000 || o.cases > 50000000)
                die ("--cases must be a whole number from 1000 to 50000000, not \"%s\"", optarg);
            cases_set = true;
            break;
        case 'd': o.dir = optarg; break;
        case 's':
            o.seconds = strtod (optarg, &end);
            if (*end || !(o.seconds > 0 && o.seconds <= 600))
                die ("--seconds must be a number from 0 to 600, not \"%s\"", optarg);
            secs_set = true;
            break;
        case 'q': o.quick = true; break;
        case 'h': usage (stdout); exit (0);
        default: usage (stderr); exit (2);
        }
    }
    if (optind != argc) {
        usage (stderr);
        exit (2);
    }
    if (o.quick && !cases_set)
        o.cases = 20000;
    if (o.quick && !secs_set)
        o.seconds = 1;
    return o;
}

int main (int argc, char **argv)
{
    opts_t opt = parse_args (argc, argv);
    char tmpl[] = "/tmp/xfbench-store.XXXXXX";
    if (!opt.dir) {
        if (!(opt.dir = mkdtemp (tmpl)))
            die ("mkdtemp: %s", strerror (errno));
        opt.own_dir = true;
    } else if (mkdir (opt.dir, 0700) != 0 && errno != EEXIST)
        die ("mkdir %s: %s", opt.dir, strerror (errno));
    char *raw_dir = path_join (opt.dir, "raw"), *small_dir = path_join (opt.dir, "small");
    char *big_dir = path_join (opt.dir, "big"), *big_file = path_join (big_dir, "data.mdb");
    make_dir (raw_dir), make_dir (small_dir), make_dir (big_dir);
    json_t *out = json_object ();
    json_object_set_new (out, "bench", json_string ("store"));
    json_object_set_new (out, "machine", machine_facts (opt.dir));
    bool ok = true;

    /* (a) raw LMDB and (b) registration on a small store, in turns: each round measures
     * the floor and then lib/ over it, so that both see the same moment of the machine */
    bench_raw_t raw;
    progress ("raw LMDB in %s, xf_office_register and _batch in %s, %d rounds", raw_dir,
              small_dir, RATE_ROUNDS);
    bench_raw_open (&raw, raw_dir, GROUP);
    xf_store_t *s = open_store (small_dir, false);
    xf_office_t *o = open_office (s);
    uint64_t next = 0;
    int64_t now = (int64_t) time (NULL);
    acc_t single = {0}, batch = {0};
    double single_ratio[RATE_ROUNDS], batch_ratio[RATE_ROUNDS], slice = opt.seconds / RATE_ROUNDS;
    for (int k = 0; k < RATE_ROUNDS; k++) {
        double floor = bench_raw_commit_each (&raw, slice);
        single_ratio[k] = bench_ratio (register_single (o, now, &next, slice, &single), floor);
        floor = bench_raw_group (&raw, slice);
        batch_ratio[k] = bench_ratio (register_batches (o, now, &next, slice, &batch), floor);
    }
    bench_raw_gets (&raw, opt.seconds / 4);
    xf_office_destroy (&o);
    xf_store_close (&s);
    double single_per_s = acc_per_s (&single), batch_per_s = acc_per_s (&batch);
    json_object_set_new (out, "raw_lmdb", bench_raw_json (&raw));
    bench_raw_close (&raw);
    json_t *reg = json_object ();
    json_object_set_new (reg, "single", acc_json (&single, 0));
    json_object_set_new (reg, "single_vs_raw_commit_each_ratio",
                         bench_num (bench_median (single_ratio, RATE_ROUNDS), 4));
    json_object_set_new (reg, "single_vs_raw_commit_each_rounds",
                         bench_ratios_json (single_ratio, RATE_ROUNDS));
    json_object_set_new (reg, "batch", acc_json (&batch, GROUP));
    json_object_set_new (reg, "batch_vs_raw_group_ratio",
                         bench_num (bench_median (batch_ratio, RATE_ROUNDS), 4));
    json_object_set_new (reg, "batch_vs_raw_group_rounds", bench_ratios_json (batch_ratio, RATE_ROUNDS));
    json_object_set_new (out, "register", reg);

    /* (c) fill N cases, then read stats */
    fill_t f = {.n = opt.cases, .start = xf_day_from_ymd (FILL_START_Y)};
    uint64_t min_span = (opt.cases * 365 + PER_YEAR_MAX - 1) / PER_YEAR_MAX;
    f.span = min_span > 365 ? (int) min_span : 365;
    if (!(f.per_day = calloc ((size_t) f.span, sizeof *f.per_day)))
        die ("out of memory");
    progress ("filling %zu cases into %s (no sync)", f.n, big_dir);
    json_t *fill = fill_store (big_dir, &f);
    json_object_set_new (fill, "sync_ms", bench_num (sync_file (big_file) * 1e3, 1));
    json_object_set_new (out, "fill", fill);

    size_t iters = opt.quick ? 5000 : 50000;
    big_raw_t braw;
    progress ("raw LMDB gets in the full store");
    raw_gets (big_dir, &f, iters, &braw);

    progress ("xf_office_stats with %zu cases", f.n);
    s = open_store (big_dir, false);
    o = open_office (s);
    json_t *stats = json_object ();
    json_object_set_new (stats, "cases", json_integer ((json_int_t) f.n));
    json_object_set_new (stats, "raw_get_txn_us", bench_num (braw.get_txn_us, 3));
    json_object_set_new (stats, "raw_get_us", bench_num (braw.get_us, 3));
    json_object_set_new (stats, "quarter", stats_period (s, o, &f, "2025Q4", iters, braw.get_txn_us, &ok));
    json_object_set_new (stats, "year", stats_period (s, o, &f, "2026", iters, braw.get_txn_us, &ok));
    json_object_set_new (stats, "range", stats_period (s, o, &f, "2025-07-02..2026-06-29", iters,
                                                       braw.get_txn_us, &ok));
    json_object_set_new (stats, "quarter_report", report_period (o, "2025Q4", iters / 10,
                                                                 braw.get_txn_us));
    json_object_set_new (stats, "counts_match", json_boolean (ok));
    json_object_set_new (out, "stats", stats);

    /* at N: what grows with the store */
    progress ("scans and registration with %zu cases", f.n);
    json_t *at = json_object ();
    xf_err_t err = {0};
    xf_day_t last = fill_day (f.n - 1, &f);
    xf_case_counts_t counts;
    double t0 = bench_now ();
    if (xf_office_counts (o, last, &counts, &err) != XF_OK)
        die ("xf_office_counts: %s", err.msg);
    json_object_set_new (at, "cases", json_integer ((json_int_t) f.n));
    json_object_set_new (at, "office_counts_ms", bench_num ((bench_now () - t0) * 1e3, 3));
    xf_case_filter_t none = {.status = XF__STATUS__CLOSED, .limit = 100};
    t0 = bench_now ();
    json_t *list = xf_office_list (o, &none, last, &err);
    if (!list)
        die ("xf_office_list: %s", err.msg);
    json_decref (list);
    json_object_set_new (at, "office_list_no_match_ms", bench_num ((bench_now () - t0) * 1e3, 3));
    xf_case_filter_t newest = {.limit = 100};
    t0 = bench_now ();
    if (!(list = xf_office_list (o, &newest, last, &err)))
        die ("xf_office_list: %s", err.msg);
    json_decref (list);
    json_object_set_new (at, "office_list_newest_100_ms", bench_num ((bench_now () - t0) * 1e3, 3));
    next = f.n;
    int64_t at_now = xf_day_start (last) + 13 * 3600;
    acc_t s2 = {0}, b2 = {0};
    register_single (o, at_now, &next, opt.seconds / 2, &s2);
    register_batches (o, at_now, &next, opt.seconds / 2, &b2);
    json_object_set_new (at, "register_single_vs_small_store_ratio",
                         bench_num (bench_ratio (acc_per_s (&s2), single_per_s), 4));
    json_object_set_new (at, "register_batch_vs_small_store_ratio",
                         bench_num (bench_ratio (acc_per_s (&b2), batch_per_s), 4));
    json_object_set_new (at, "register_single", acc_json (&s2, 0));
    json_object_set_new (at, "register_batch", acc_json (&b2, GROUP));
    json_object_set_new (out, "at_n", at);

    /* facts about the full store */
    struct stat st;
    if (stat (big_file, &st) != 0)
        die ("stat %s: %s", big_file, strerror (errno));
    json_t *store = json_object ();
    json_object_set_new (store, "cases", json_integer ((json_int_t) f.n));
    json_object_set_new (store, "disk_bytes", json_integer ((json_int_t) st.st_blocks * 512));
    json_object_set_new (store, "file_bytes", json_integer ((json_int_t) st.st_size));
    json_object_set_new (store, "map_size_bytes", json_integer ((json_int_t) xf_store_map_size (s)));
    json_object_set_new (store, "disk_bytes_per_case", bench_num ((double) st.st_blocks * 512 / (double) f.n, 1));
    json_object_set_new (store, "databases", braw.dbs);
    json_object_set_new (out, "store", store);
    xf_office_destroy (&o);
    xf_store_close (&s);

    struct rusage ru;
    getrusage (RUSAGE_SELF, &ru);
    json_object_set_new (out, "bench_max_rss_kib", json_integer (ru.ru_maxrss));
    if (json_dumpf (out, stdout, BENCH_JSON_FLAGS) != 0 || puts ("") == EOF || fflush (stdout) != 0)
        die ("cannot write the result: %s", strerror (errno));
    json_decref (out);
    if (opt.own_dir && nftw (opt.dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS) != 0)
        fprintf (stderr, "bench_store: cannot remove %s: %s\n", opt.dir, strerror (errno));
    free (f.per_day);
    free (raw_dir), free (small_dir), free (big_dir), free (big_file);
    return ok ? 0 : 1;
}
