/* bench_control.c — a client that loads a running xfsyncd through its control socket and
 * measures what an operator's tools get from it, beside the raw limits of the same run.
 *
 *   roundtrip   clock.show, one at a time: the socket + JSON floor of every request
 *   raw LMDB    (with --lmdb-dir, on the daemon's disk) one durable commit per record, and
 *               groups of 1000 per commit: the floor of case.register and case.import
 *   register    case.register, one at a time, each answered before the next: requests/s and
 *               p50/p99 latency
 *   import      case.import batches (default 1000 cases, dry_run false, first_line set)
 *   framing     request lines of 1, 4 and 15 MiB (refused after parsing, nothing changes),
 *               against parsing the same bytes with jansson here: the cost per MiB should
 *               not grow with the size (per_mib_15_vs_1_ratio near 1)
 *
 * Prints one JSON object on stdout. Usage: see usage() or --help. */
#include <getopt.h>
#include <stdarg.h>
#include <sys/socket.h>
#include <sys/un.h>
#include "bench_common.h"

#define ROUNDS 3   /* turns of floor and load */

typedef struct {
    const char *socket, *lmdb_dir;
    double seconds, wait;
    size_t requests, batches, batch_size;
    bool quick, ping;
} opts_t;

typedef struct {
    int fd;
    char *buf;          /* received bytes; a line is consumed by the next recv */
    size_t len, cap, used, scanned;
} conn_t;

static void die (const char *fmt, ...) __attribute__ ((format (printf, 1, 2), noreturn));
static void die (const char *fmt, ...)
{
    va_list ap;
    va_start (ap, fmt);
    fputs ("bench_control: ", stderr);
    vfprintf (stderr, fmt, ap);
    fputc ('\n', stderr);
    va_end (ap);
    exit (1);
}

/* ---------------------------------------------------------------- the connection */

static int try_connect (const char *path)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    if (strlen (path) >= sizeof sa.sun_path)
        die ("socket path %s is too long", path);
    memcpy (sa.sun_path, path, strlen (path) + 1);
    int fd = socket (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        die ("socket: %s", strerror (errno));
    if (connect (fd, (struct sockaddr *) &sa, sizeof sa) == 0)
        return fd;
    close (fd);
    return -1;
}

/* Connects, retrying for up to `wait` seconds while the daemon starts. */
static conn_t conn_open (const char *path, double wait)
{
    double deadline = bench_now () + wait;
    int fd;
    while ((fd = try_connect (path)) < 0) {
        if (bench_now () >= deadline)
            die ("cannot connect to %s: %s (is xfsyncd running?)", path, strerror (errno));
        usleep (50000);
    }
    return (conn_t) {.fd = fd};
}

static void conn_send (conn_t *c, const char *line, size_t len)
{
    while (len) {
        ssize_t n = send (c->fd, line, len, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            die ("write to the control socket: %s", n < 0 ? strerror (errno) : "closed");
        line += n, len -= (size_t) n;
    }
}

/* The next response line, NUL-terminated, valid until the next call. */
static char *conn_recv (conn_t *c, size_t *len_out)
{
    if (c->used) {   /* drop the line handed out last time */
        memmove (c->buf, c->buf + c->used, c->len - c->used);
        c->len -= c->used;
        c->used = 0;
    }
    for (;;) {
        char *nl = c->len > c->scanned ? memchr (c->buf + c->scanned, '\n', c->len - c->scanned) : NULL;
        if (nl) {
            *nl = 0;
            c->used = (size_t) (nl - c->buf) + 1;
            c->scanned = 0;
            *len_out = (size_t) (nl - c->buf);
            return c->buf;
        }
        c->scanned = c->len;
        if (c->cap - c->len < 65536) {
            size_t cap = c->cap ? c->cap * 2 : 1 << 17;
            char *p = realloc (c->buf, cap);
            if (!p)
                die ("out of memory");
            c->buf = p, c->cap = cap;
        }
        ssize_t n = recv (c->fd, c->buf + c->len, c->cap - c->len - 1, 0);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            die ("read from the control socket: %s", n < 0 ? strerror (errno) : "the daemon closed it");
        c->len += (size_t) n;
    }
}

/* Sends one request line (ending in '\n') and waits for its answer; returns the seconds
 * from the first byte sent to the last byte of the answer received. */
static double ask_raw (conn_t *c, const char *line, size_t len, char **resp, size_t *resp_len)
{
    double t0 = bench_now ();
    conn_send (c, line, len);
    *resp = conn_recv (c, resp_len);
    return bench_now () - t0;
}

/* The "result" of an answer, or dies naming the refusal. Caller decrefs the whole answer. */
static json_t *expect_ok (const char *resp, size_t len, const char *what, json_t **answer)
{
    json_error_t jerr;
    json_t *a = json_loadb (resp, len, 0, &jerr);
    if (!a)
        die ("%s: the answer is not JSON (%s): %.200s", what, jerr.text, resp);
    if (!json_is_true (json_object_get (a, "ok")))
        die ("%s: refused: %.300s", what, resp);
    *answer = a;
    return json_object_get (a, "result");
}

static char *request_line (const char *cmd, json_t *args, size_t *len)
{
    json_t *req = json_pack ("{s:s,s:o}", "cmd", cmd, "args", args ? args : json_object ());
    char *text = json_dumps (req, JSON_COMPACT);
    json_decref (req);
    if (!text)
        die ("out of memory");
    size_t n = strlen (text);
    char *line = realloc (text, n + 2);
    if (!line)
        die ("out of memory");
    line[n] = '\n', line[n + 1] = 0;
    *len = n + 1;
    return line;
}

/* ---------------------------------------------------------------- measurements */

typedef struct {
    size_t n;
    double total, p50, p99, max;   /* seconds */
} lat_t;

static lat_t lat_summary (bench_samples_t *s)
{
    lat_t l = {s->n, 0, 0, 0, 0};
    for (size_t i = 0; i < s->n; i++)
        l.total += s->v[i];
    l.p50 = bench_quantile (s->v, s->n, 0.50);
    l.p99 = bench_quantile (s->v, s->n, 0.99);
    l.max = s->n ? s->v[s->n - 1] : 0;   /* sorted by the quantile */
    free (s->v);
    *s = (bench_samples_t) {0};
    return l;
}

static lat_t roundtrips (conn_t *c, double seconds)
{
    size_t len;
    char *line = request_line ("clock.show", NULL, &len), *resp;
    bench_samples_t s = {0};
    double start = bench_now ();
    while (bench_now () - start < seconds || s.n < 100) {
        size_t rlen;
        bench_sample (&s, ask_raw (c, line, len, &resp, &rlen));
        if (!strstr (resp, "\"ok\":true"))
            die ("clock.show refused: %.300s", resp);
    }
    free (line);
    return lat_summary (&s);
}

/* case.register, one at a time, for `seconds` (0: no limit) or `requests` (0: no limit);
 * returns the requests/s of this call. */
static double registers (conn_t *c, double seconds, size_t requests, uint64_t *next,
                         bench_samples_t *s)
{
    double start = bench_now (), total = 0;
    size_t n = 0;
    while ((seconds <= 0 || bench_now () - start < seconds) && (!requests || n < requests)) {
        bench_case_t spec;
        size_t len, rlen;
        char *resp;
        json_t *answer;
        bench_case_gen ((*next)++, 5000, &spec);
        char *line = request_line ("case.register", bench_case_json (&spec), &len);
        double dt = ask_raw (c, line, len, &resp, &rlen);
        json_t *r = expect_ok (resp, rlen, "case.register", &answer);
        if (!json_is_string (json_object_get (r, "id")))
            die ("case.register: no case id in the answer: %.300s", resp);
        json_decref (answer);
        free (line);
        bench_sample (s, dt);
        total += dt;
        n++;
    }
    return bench_ratio ((double) n, total);
}

/* `batches` case.import requests of batch_size cases; the first has index first_batch.
 * Returns the cases/s of this call. */
static double imports (conn_t *c, size_t batches, size_t batch_size, size_t first_batch,
                       uint64_t *next, bench_samples_t *s, size_t *request_bytes)
{
    double total = 0;
    for (size_t b = first_batch; b < first_batch + batches; b++) {
        json_t *cases = json_array (), *answer;
        size_t len, rlen;
        char *resp;
        for (size_t k = 0; k < batch_size; k++) {
            bench_case_t spec;
            bench_case_gen ((*next)++, 5000, &spec);
            json_array_append_new (cases, bench_case_json (&spec));
        }
        json_t *args = json_pack ("{s:o,s:b,s:I}", "cases", cases, "dry_run", 0, "first_line",
                                  (json_int_t) (1 + b * batch_size));
        char *line = request_line ("case.import", args, &len);
        *request_bytes += len;
        double dt = ask_raw (c, line, len, &resp, &rlen);
        json_t *r = expect_ok (resp, rlen, "case.import", &answer);
        if (json_integer_value (json_object_get (r, "imported")) != (json_int_t) batch_size)
            die ("case.import: expected %zu imported: %.300s", batch_size, resp);
        json_decref (answer);
        free (line);
        bench_sample (s, dt);
        total += dt;
    }
    return bench_ratio ((double) (batches * batch_size), total);
}

/* A clock.show request padded with an unknown argument to `bytes`: the daemon frames and
 * parses it, then refuses it (bad_request), so nothing changes. */
static json_t *framing (conn_t *c, size_t bytes)
{
    static const char head[] = "{\"cmd\":\"clock.show\",\"args\":{\"pad\":\"", tail[] = "\"}}\n";
    char *line = malloc (bytes + 1), *resp;
    size_t rlen, pad = bytes - (sizeof head - 1) - (sizeof tail - 1);
    json_error_t jerr;
    if (!line)
        die ("out of memory");
    memcpy (line, head, sizeof head - 1);
    memset (line + sizeof head - 1, 'x', pad);
    memcpy (line + sizeof head - 1 + pad, tail, sizeof tail);
    double t = ask_raw (c, line, bytes, &resp, &rlen);
    if (!strstr (resp, "\"bad_request\""))
        die ("a %zu-byte request: expected bad_request, got: %.300s", bytes, resp);
    double t0 = bench_now ();
    json_t *parsed = json_loadb (line, bytes - 1, JSON_REJECT_DUPLICATES, &jerr);
    double parse = bench_now () - t0;
    if (!parsed)
        die ("the padded request does not parse here: %s", jerr.text);
    json_decref (parsed);
    free (line);
    double mib = (double) bytes / (1 << 20);
    return json_pack ("{s:I,s:o,s:o,s:o,s:o}", "bytes", (json_int_t) bytes,
                      "ms", bench_num (t * 1e3, 2), "ms_per_mib", bench_num (t * 1e3 / mib, 2),
                      "local_parse_ms", bench_num (parse * 1e3, 2),
                      "vs_local_parse_ratio", bench_num (bench_ratio (t, parse), 2));
}

static json_t *lat_json (const lat_t *l, const char *count_key)
{
    json_t *o = json_object ();
    json_object_set_new (o, count_key, json_integer ((json_int_t) l->n));
    json_object_set_new (o, "per_s", bench_num (bench_ratio ((double) l->n, l->total), 1));
    json_object_set_new (o, "p50_us", bench_num (l->p50 * 1e6, 1));
    json_object_set_new (o, "p99_us", bench_num (l->p99 * 1e6, 1));
    json_object_set_new (o, "max_us", bench_num (l->max * 1e6, 1));
    return o;
}

/* ---------------------------------------------------------------- main */

static void usage (FILE *out)
{
    fprintf (out,
             "usage: bench_control SOCKET [options]\n"
             "  --seconds D      send case.register for D seconds (default 10)\n"
             "  --requests N     ... or stop after N requests (whichever comes first)\n"
             "  --batches B      case.import batches afterwards (default 20)\n"
             "  --batch-size K   cases per import batch (default 1000, at most 10000)\n"
             "  --lmdb-dir DIR   measure raw LMDB commits in DIR (give one on the daemon's disk)\n"
             "  --wait S         retry connecting for S seconds (default 10)\n"
             "  --ping           only check that the daemon answers, print nothing\n"
             "  --quick          smoke run: 2 s of registers, 3 batches\n");
}

static double number (const char *s, const char *opt, double lo, double hi)
{
    char *end;
    errno = 0;
    double v = strtod (s, &end);
    if (errno || end == s || *end || !(v >= lo && v <= hi))
        die ("--%s must be a number from %g to %g, not \"%s\"", opt, lo, hi, s);
    return v;
}

static opts_t parse_args (int argc, char **argv)
{
    static const struct option lo[] = {
        {"seconds", required_argument, NULL, 'D'},  {"requests", required_argument, NULL, 'N'},
        {"batches", required_argument, NULL, 'B'},  {"batch-size", required_argument, NULL, 'K'},
        {"lmdb-dir", required_argument, NULL, 'L'}, {"wait", required_argument, NULL, 'W'},
        {"ping", no_argument, NULL, 'P'},           {"quick", no_argument, NULL, 'q'},
        {"help", no_argument, NULL, 'h'},           {NULL, 0, NULL, 0},
    };
    opts_t o = {.seconds = 10, .wait = 10, .batches = 20, .batch_size = 1000};
    bool secs = false, batches = false;
    int ch;
    while ((ch = getopt_long (argc, argv, "", lo, NULL)) != -1) {
        switch (ch) {
        case 'D': o.seconds = number (optarg, "seconds", 0, 3600), secs = true; break;
        case 'N': o.requests = (size_t) number (optarg, "requests", 1, 1e8); break;
        case 'B': o.batches = (size_t) number (optarg, "batches", 0, 1e5), batches = true; break;
        case 'K': o.batch_size = (size_t) number (optarg, "batch-size", 1, 10000); break;
        case 'W': o.wait = number (optarg, "wait", 0, 600); break;
        case 'L': o.lmdb_dir = optarg; break;
        case 'P': o.ping = true; break;
        case 'q': o.quick = true; break;
        case 'h': usage (stdout); exit (0);
        default: usage (stderr); exit (2);
        }
    }
    if (optind != argc - 1) {
        usage (stderr);
        exit (2);
    }
    o.socket = argv[optind];
    if (o.quick && !secs)
        o.seconds = 2;
    if (o.quick && !batches)
        o.batches = 3;
    if (o.requests && !secs)
        o.seconds = 0;   /* --requests alone: exactly N */
    if (o.seconds <= 0 && !o.requests)
        die ("--seconds 0 needs --requests N");
    return o;
}

int main (int argc, char **argv)
{
    opts_t o = parse_args (argc, argv);
    conn_t c = conn_open (o.socket, o.wait);
    size_t len, rlen;
    char *line = request_line ("status", NULL, &len), *resp;
    json_t *answer;
    ask_raw (&c, line, len, &resp, &rlen);
    free (line);
    json_t *status = expect_ok (resp, rlen, "status", &answer);
    if (o.ping) {
        json_decref (answer);
        close (c.fd);
        free (c.buf);
        return 0;
    }
    json_t *out = json_object ();
    json_object_set_new (out, "bench", json_string ("control"));
    json_object_set_new (out, "nproc", json_integer (bench_nproc ()));
    json_object_set_new (out, "daemon", json_pack ("{s:O,s:O,s:O,s:O}",
        "office", json_object_get (json_object_get (status, "office"), "code"),
        "version", json_object_get (status, "version"),
        "store", json_object_get (json_object_get (status, "store"), "path"),
        "map_size_bytes", json_object_get (json_object_get (status, "store"), "map_size")));
    json_decref (answer);

    /* the socket floor first, while the daemon is idle */
    double floor_s = o.quick ? 0.5 : 2;
    lat_t rt = roundtrips (&c, floor_s);
    json_object_set_new (out, "roundtrip", lat_json (&rt, "requests"));

    /* then, in ROUNDS turns: the raw LMDB floor on the daemon's disk, registers, the group
     * commit floor, imports — so that floor and load see the same moment of the machine */
    bench_raw_t raw = {0};
    if (o.lmdb_dir)
        bench_raw_open (&raw, o.lmdb_dir, 1000);
    bench_samples_t reg_s = {0}, imp_s = {0};
    double reg_ratio[ROUNDS], imp_ratio[ROUNDS];
    size_t reg_rounds = 0, imp_rounds = 0, req_done = 0, batches_done = 0, bytes = 0;
    uint64_t next = 0;
    for (int k = 0; k < ROUNDS; k++) {
        size_t req = o.requests ? (o.requests - req_done) / (size_t) (ROUNDS - k) : 0;
        if (o.seconds > 0 || req) {
            double floor = o.lmdb_dir ? bench_raw_commit_each (&raw, floor_s / ROUNDS) : 0;
            size_t before = reg_s.n;
            double per_s = registers (&c, o.seconds / ROUNDS, req, &next, &reg_s);
            req_done += reg_s.n - before;
            if (o.lmdb_dir)
                reg_ratio[reg_rounds++] = bench_ratio (per_s, floor);
        }
        size_t b = (o.batches - batches_done) / (size_t) (ROUNDS - k);
        if (b) {
            double floor = o.lmdb_dir ? bench_raw_group (&raw, floor_s / ROUNDS) : 0;
            double per_s = imports (&c, b, o.batch_size, batches_done, &next, &imp_s, &bytes);
            batches_done += b;
            if (o.lmdb_dir)
                imp_ratio[imp_rounds++] = bench_ratio (per_s, floor);
        }
    }
    if (o.lmdb_dir) {
        json_object_set_new (out, "raw_lmdb", bench_raw_json (&raw));
        bench_raw_close (&raw);
    }

    lat_t reg = lat_summary (&reg_s);
    double reg_per_s = bench_ratio ((double) reg.n, reg.total);
    json_t *rj = lat_json (&reg, "requests");
    json_object_set_new (rj, "p50_vs_roundtrip_ratio", bench_num (bench_ratio (reg.p50, rt.p50), 2));
    if (reg_rounds) {
        json_object_set_new (rj, "vs_raw_commit_each_ratio",
                             bench_num (bench_median (reg_ratio, reg_rounds), 4));
        json_object_set_new (rj, "vs_raw_commit_each_rounds", bench_ratios_json (reg_ratio, reg_rounds));
    }
    json_object_set_new (out, "register", rj);

    lat_t imp = lat_summary (&imp_s);
    json_t *ij = json_object ();
    double cases_per_s = bench_ratio ((double) (imp.n * o.batch_size), imp.total);
    json_object_set_new (ij, "batch_size", json_integer ((json_int_t) o.batch_size));
    json_object_set_new (ij, "batches", json_integer ((json_int_t) imp.n));
    json_object_set_new (ij, "request_bytes_mean",
                         json_integer ((json_int_t) (imp.n ? bytes / imp.n : 0)));
    json_object_set_new (ij, "requests_per_s", bench_num (bench_ratio ((double) imp.n, imp.total), 2));
    json_object_set_new (ij, "cases_per_s", bench_num (cases_per_s, 1));
    json_object_set_new (ij, "batch_p50_ms", bench_num (imp.p50 * 1e3, 2));
    json_object_set_new (ij, "batch_p99_ms", bench_num (imp.p99 * 1e3, 2));
    json_object_set_new (ij, "vs_register_ratio", bench_num (bench_ratio (cases_per_s, reg_per_s), 2));
    if (imp_rounds) {
        json_object_set_new (ij, "vs_raw_group_ratio", bench_num (bench_median (imp_ratio, imp_rounds), 4));
        json_object_set_new (ij, "vs_raw_group_rounds", bench_ratios_json (imp_ratio, imp_rounds));
    }
    json_object_set_new (out, "import", ij);

    json_t *sizes = json_array ();
    for (size_t mib = 1; mib <= 16; mib *= 4)   /* 1, 4 and 15 MiB (the limit is 16) */
        json_array_append_new (sizes, framing (&c, (mib < 16 ? mib : 15) << 20));
    double first = json_number_value (json_object_get (json_array_get (sizes, 0), "ms_per_mib"));
    double last = json_number_value (json_object_get (json_array_get (sizes, 2), "ms_per_mib"));
    json_object_set_new (out, "framing", json_pack ("{s:o,s:o}", "per_mib_15_vs_1_ratio",
                                                    bench_num (bench_ratio (last, first), 2),
                                                    "sizes", sizes));

    close (c.fd);
    free (c.buf);
    if (json_dumpf (out, stdout, BENCH_JSON_FLAGS) != 0 || puts ("") == EOF || fflush (stdout) != 0)
        die ("cannot write the result: %s", strerror (errno));
    json_decref (out);
    return 0;
}
