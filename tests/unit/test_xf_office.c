/* test_xf_office.c — one office's case book against a real LMDB store in a temp directory:
 * numbering, repeat detection, query codes, histories, refusals that change nothing, batch
 * registration, the deadline scan and the statistics definitions of INTERFACE.md. Time is
 * the actor's `now`, moved by the tests. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <ftw.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "xf_case_json.h"
#include "xf_office.h"
#include "xf_test.h"

#define OFFICE "411324"

static const xf_limits_t LIM = {.accept_days = 15, .handle_days = 60, .max_extension_days = 30};

typedef struct {
    char dir[PATH_MAX];
    xf_store_t *store;
    xf_office_t *office;
    xf_actor_t who;
} fx_t;

static xf_day_t day (int y, int m, int d)
{
    return xf_day_from_ymd (y, m, d);
}

/* 09:17 CST on d. */
static void set_day (fx_t *fx, xf_day_t d)
{
    fx->who.now = xf_day_start (d) + 9 * 3600 + 17 * 60;
}

static xf_day_t today (const fx_t *fx)
{
    return xf_day_of_time (fx->who.now);
}

static void assert_msg_has (const xf_err_t *err, const char *phrase)
{
    if (!strstr (err->msg, phrase))
        fail_msg ("error message \"%s\" does not mention \"%s\"", err->msg, phrase);
}

/* ---------------------------------------------------------------- fixture */

static void open_office (fx_t *fx)
{
    xf_err_t err = {0, ""};
    fx->store = xf_store_open (fx->dir, NULL, &err);
    if (!fx->store)
        fail_msg ("store: %s", err.msg);
    fx->office = xf_office_new (fx->store, OFFICE, &LIM, &err);
    if (!fx->office)
        fail_msg ("office: %s", err.msg);
}

static void close_office (fx_t *fx)
{
    xf_office_destroy (&fx->office);
    assert_null (fx->office);
    xf_store_close (&fx->store);
    assert_null (fx->store);
}

static void reopen (fx_t *fx)
{
    close_office (fx);
    open_office (fx);
}

static int setup (void **state)
{
    fx_t *fx = calloc (1, sizeof *fx);
    if (!fx)
        return -1;
    if (xf_test_mkdtemp (fx->dir, sizeof fx->dir, "test_xf_office") != 0) {
        free (fx);
        return -1;
    }
    xf_err_t err = {0, ""};
    fx->store = xf_store_open (fx->dir, NULL, &err);
    fx->office = fx->store ? xf_office_new (fx->store, OFFICE, &LIM, &err) : NULL;
    if (!fx->office) {
        fprintf (stderr, "%s\n", err.msg);
        xf_store_close (&fx->store);
        xf_test_rmtree (fx->dir);
        free (fx);
        return -1;
    }
    fx->who.uid = 1000;
    set_day (fx, day (2026, 11, 22));
    *state = fx;
    return 0;
}

static int teardown (void **state)
{
    fx_t *fx = *state;
    xf_office_destroy (&fx->office);
    xf_store_close (&fx->store);
    int rc = xf_test_rmtree (fx->dir);
    free (fx);
    return rc;
}

/* ---------------------------------------------------------------- helpers */

#define PLAIN "{\"channel\":\"letter\",\"category\":\"appeal\",\"summary\":\"反映征地补偿问题\"}"

static xf_case_t *case_from (const fx_t *fx, const char *json)
{
    json_error_t jerr;
    json_t *j = json_loads (json, 0, &jerr);
    if (!j)
        fail_msg ("test JSON: %s: %s", jerr.text, json);
    xf_case_t *c = xf_case_new ();
    xf_err_t err = {0, ""};
    int rc = xf_case_from_json (j, c, today (fx), &err);
    json_decref (j);
    if (rc != XF_OK)
        fail_msg ("from_json: %s", err.msg);
    return c;
}

/* Registers json today; the new id goes to id (may be NULL); returns the registered case. */
static xf_case_t *register_json (fx_t *fx, const char *json, char id[XF_CASE_ID_MAX])
{
    xf_case_t *c = case_from (fx, json);
    xf_err_t err = {0, ""};
    if (xf_office_register (fx->office, &fx->who, c, &err) != XF_OK)
        fail_msg ("register: %s", err.msg);
    if (id)
        snprintf (id, XF_CASE_ID_MAX, "%s", c->id);
    return c;
}

static void register_plain (fx_t *fx, char id[XF_CASE_ID_MAX])
{
    xf_case_t *c = register_json (fx, PLAIN, id);
    xf_case_destroy (&c);
}

static xf_case_t *get (fx_t *fx, const char *id)
{
    xf_err_t err = {0, ""};
    xf_case_t *c = xf_office_get (fx->office, id, &err);
    if (!c)
        fail_msg ("get %s: %s", id, err.msg);
    return c;
}

static void ok (int rc, const xf_err_t *err, const char *what)
{
    if (rc != XF_OK)
        fail_msg ("%s: %s (%d)", what, err->msg, rc);
}

static void accept (fx_t *fx, const char *id, bool file)
{
    xf_err_t err = {0, ""};
    ok (xf_office_accept (fx->office, &fx->who, id, file, &err), &err, "accept");
}

static void close_case (fx_t *fx, const char *id)
{
    xf_err_t err = {0, ""};
    ok (xf_office_close (fx->office, &fx->who, id, "已书面答复信访人", &err), &err, "close");
}

static json_t *history (fx_t *fx, const char *id)
{
    xf_err_t err = {0, ""};
    json_t *h = xf_office_history (fx->office, id, &err);
    if (!h)
        fail_msg ("history %s: %s", id, err.msg);
    json_t *events = json_object_get (h, "events");
    assert_true (json_is_array (events));
    json_incref (events);
    json_decref (h);
    return events;
}

static size_t history_len (fx_t *fx, const char *id)
{
    json_t *events = history (fx, id);
    size_t n = json_array_size (events);
    json_decref (events);
    return n;
}

static const char *ev_str (const json_t *ev, const char *key)
{
    const json_t *v = json_object_get (ev, key);
    if (!json_is_string (v))
        fail_msg ("event key \"%s\" is not a string", key);
    return json_string_value (v);
}

static xf_figures_t figures (fx_t *fx, xf_day_t first, xf_day_t last)
{
    xf_figures_t f;
    xf_err_t err = {0, ""};
    memset (&f, 0x55, sizeof f);
    ok (xf_office_stats (fx->office, first, last, &f, &err), &err, "stats");
    return f;
}

static xf_figures_t figures_of (fx_t *fx, const char *period)
{
    xf_period_t p;
    xf_err_t err = {0, ""};
    ok (xf_period_parse (period, &p, &err), &err, period);
    return figures (fx, p.first, p.last);
}

static int64_t fig (fx_t *fx, const char *period, int counter)
{
    xf_figures_t f = figures_of (fx, period);
    return f.v[counter];
}

static int64_t fig_day (fx_t *fx, xf_day_t d, int counter)
{
    xf_figures_t f = figures (fx, d, d);
    return f.v[counter];
}

static xf_case_counts_t counts (fx_t *fx, xf_day_t d)
{
    xf_case_counts_t k;
    xf_err_t err = {0, ""};
    memset (&k, 0x55, sizeof k);
    ok (xf_office_counts (fx->office, d, &k, &err), &err, "counts");
    return k;
}

static size_t scan (fx_t *fx)
{
    size_t marked = 12345;
    xf_err_t err = {0, ""};
    ok (xf_office_scan_deadlines (fx->office, fx->who.now, &marked, &err), &err, "scan");
    return marked;
}

static bool has_flag (fx_t *fx, const char *id, unsigned flag)
{
    xf_case_t *c = get (fx, id);
    bool on = (c->flags & flag) != 0;
    xf_case_destroy (&c);
    return on;
}

/* Everything a refusal could touch: the case record, its history, every counter, the case
 * counts and the next registration number. */
typedef struct {
    uint8_t *rec;
    size_t len;
    size_t events;
    xf_figures_t all;
    xf_case_counts_t counts;
} world_t;

static world_t world (fx_t *fx, const char *id)
{
    world_t w;
    memset (&w, 0, sizeof w);
    xf_case_t *c = get (fx, id);
    w.rec = xf_case_pack (c, &w.len);
    xf_case_destroy (&c);
    w.events = history_len (fx, id);
    w.all = figures (fx, day (2020, 1, 1), day (2030, 12, 31));
    w.counts = counts (fx, today (fx));
    return w;
}

static void assert_world_same (fx_t *fx, const char *id, world_t *before)
{
    world_t after = world (fx, id);
    assert_int_equal (after.len, before->len);
    assert_memory_equal (after.rec, before->rec, before->len);
    assert_int_equal (after.events, before->events);
    for (int i = 0; i < XF_ST_COUNT; i++)
        if (after.all.v[i] != before->all.v[i])
            fail_msg ("counter %d changed from %lld to %lld", i, (long long) before->all.v[i],
                      (long long) after.all.v[i]);
    assert_memory_equal (&after.counts, &before->counts, sizeof after.counts);
    free (after.rec);
    free (before->rec);
    before->rec = NULL;
}

/* ---------------------------------------------------------------- numbering */

static void test_register_returns_record (void **state)
{
    fx_t *fx = *state;
    xf_case_t *c = case_from (fx, "{\"channel\":\"visit\",\"category\":\"appeal\",\"summary\":\"集体反映\","
                                  "\"headcount\":7,\"subject\":4}");
    xf_err_t err = {0, ""};
    ok (xf_office_register (fx->office, &fx->who, c, &err), &err, "register");
    assert_string_equal (c->id, "411324-2026-000001");
    assert_string_equal (c->owner, OFFICE);
    assert_string_equal (c->origin, OFFICE);
    assert_int_equal (c->status, XF__STATUS__REGISTERED);
    assert_int_equal (c->registered, day (2026, 11, 22));
    assert_int_equal (c->accept_due, day (2026, 12, 7));
    assert_int_equal (c->last_event, 1);
    assert_int_not_equal (c->flags & XF__CASE_FLAG__FLAG_GROUP, 0);
    assert_int_equal (strlen (c->query_code), 14);

    /* the caller's struct is what the store holds */
    xf_case_t *stored = get (fx, c->id);
    size_t a_len, b_len;
    uint8_t *a = xf_case_pack (c, &a_len), *b = xf_case_pack (stored, &b_len);
    assert_int_equal (a_len, b_len);
    assert_memory_equal (a, b, a_len);
    free (a), free (b);
    xf_case_destroy (&stored);
    xf_case_destroy (&c);

    /* a refused registration leaves the caller's struct alone and consumes no number */
    c = case_from (fx, "{\"channel\":\"visit\",\"category\":\"appeal\",\"summary\":\"\"}");
    err = (xf_err_t) {0, ""};
    assert_int_equal (xf_office_register (fx->office, &fx->who, c, &err), XF_EINVAL);
    assert_msg_has (&err, "summary");
    assert_string_equal (c->id, "");
    assert_int_equal (c->status, 0);
    xf_case_destroy (&c);
    char id[XF_CASE_ID_MAX];
    register_plain (fx, id);
    assert_string_equal (id, "411324-2026-000002");
}

static void test_numbering_reopen (void **state)
{
    fx_t *fx = *state;
    char id[XF_CASE_ID_MAX];
    register_plain (fx, id);
    register_plain (fx, id);
    assert_string_equal (id, "411324-2026-000002");
    reopen (fx);
    register_plain (fx, id);
    assert_string_equal (id, "411324-2026-000003");
    reopen (fx);
    set_day (fx, day (2026, 11, 30));
    register_plain (fx, id);
    assert_string_equal (id, "411324-2026-000004");
    /* the earlier cases are all still there */
    xf_case_counts_t k = counts (fx, today (fx));
    assert_int_equal (k.total, 4);
    xf_case_t *c = get (fx, "411324-2026-000001");
    assert_int_equal (c->registered, day (2026, 11, 22));
    xf_case_destroy (&c);
}

static void test_numbering_new_year (void **state)
{
    fx_t *fx = *state;
    char id[XF_CASE_ID_MAX];
    set_day (fx, day (2026, 12, 31));
    register_plain (fx, id);
    assert_string_equal (id, "411324-2026-000001");
    /* 23:30 CST on 31 December is still 2026 (15:30 UTC) */
    fx->who.now = xf_day_start (day (2027, 1, 1)) - 1800;
    register_plain (fx, id);
    assert_string_equal (id, "411324-2026-000002");
    /* 00:01 CST on 1 January is 2027 (16:01 UTC on 31 December) */
    fx->who.now = xf_day_start (day (2027, 1, 1)) + 60;
    register_plain (fx, id);
    assert_string_equal (id, "411324-2027-000001");
    register_plain (fx, id);
    assert_string_equal (id, "411324-2027-000002");
    reopen (fx);
    register_plain (fx, id);
    assert_string_equal (id, "411324-2027-000003");
    xf_case_t *c = get (fx, "411324-2026-000002");
    assert_int_equal (c->registered, day (2026, 12, 31));
    xf_case_destroy (&c);
}

/* ---------------------------------------------------------------- repeat detection */

#define WITH_ID(idnum) \
    "{\"channel\":\"visit\",\"category\":\"appeal\",\"summary\":\"反映问题\"," \
    "\"petitioner\":{\"name\":\"王五\",\"id_number\":\"" idnum "\"}}"

static void test_repeat_by_id_number (void **state)
{
    fx_t *fx = *state;
    xf_case_t *a = register_json (fx, WITH_ID ("11010519491231002X"), NULL);
    xf_case_t *b = register_json (fx, WITH_ID ("11010519491231002x"), NULL);   /* same person */
    xf_case_t *c = register_json (fx, WITH_ID ("440524188001010014"), NULL);
    assert_int_equal (a->flags & XF__CASE_FLAG__FLAG_REPEAT, 0);
    assert_int_not_equal (b->flags & XF__CASE_FLAG__FLAG_REPEAT, 0);
    assert_int_equal (c->flags & XF__CASE_FLAG__FLAG_REPEAT, 0);
    assert_true (has_flag (fx, b->id, XF__CASE_FLAG__FLAG_REPEAT));
    assert_false (has_flag (fx, a->id, XF__CASE_FLAG__FLAG_REPEAT));
    assert_false (has_flag (fx, c->id, XF__CASE_FLAG__FLAG_REPEAT));
    /* the same person again, after a reopen: still a repeat */
    reopen (fx);
    xf_case_t *d = register_json (fx, WITH_ID ("440524188001010014"), NULL);
    assert_int_not_equal (d->flags & XF__CASE_FLAG__FLAG_REPEAT, 0);
    assert_int_equal (fig (fx, "2026", XF_ST_REPEAT), 2);
    assert_int_equal (fig (fx, "2026", XF_ST_RECEIVED), 4);
    xf_case_destroy (&a), xf_case_destroy (&b), xf_case_destroy (&c), xf_case_destroy (&d);
}

static void test_repeat_by_name_and_phone (void **state)
{
    fx_t *fx = *state;
    xf_case_t *a = register_json (fx, "{\"channel\":\"phone\",\"category\":\"inquiry\",\"summary\":\"s\","
                                      "\"petitioner\":{\"name\":\"刘七\",\"phone\":\"0377-6022-1234\"}}", NULL);
    xf_case_t *b = register_json (fx, "{\"channel\":\"phone\",\"category\":\"inquiry\",\"summary\":\"s\","
                                      "\"petitioner\":{\"name\":\"刘七\",\"phone\":\"(0377) 60221234\"}}", NULL);
    xf_case_t *c = register_json (fx, "{\"channel\":\"phone\",\"category\":\"inquiry\",\"summary\":\"s\","
                                      "\"petitioner\":{\"name\":\"刘八\",\"phone\":\"0377-6022-1234\"}}", NULL);
    assert_int_equal (a->flags & XF__CASE_FLAG__FLAG_REPEAT, 0);
    assert_int_not_equal (b->flags & XF__CASE_FLAG__FLAG_REPEAT, 0);
    assert_int_equal (c->flags & XF__CASE_FLAG__FLAG_REPEAT, 0);
    xf_case_destroy (&a), xf_case_destroy (&b), xf_case_destroy (&c);
}

static void test_anonymous_never_repeat (void **state)
{
    fx_t *fx = *state;
    const char *anon = "{\"channel\":\"letter\",\"category\":\"accusation\",\"summary\":\"匿名举报\","
                       "\"anonymous\":true}";
    xf_case_t *a = register_json (fx, anon, NULL);
    xf_case_t *b = register_json (fx, anon, NULL);
    xf_case_t *c = register_json (fx, anon, NULL);
    assert_int_equal (a->flags & XF__CASE_FLAG__FLAG_REPEAT, 0);
    assert_int_equal (b->flags & XF__CASE_FLAG__FLAG_REPEAT, 0);
    assert_int_equal (c->flags & XF__CASE_FLAG__FLAG_REPEAT, 0);
    /* nor do cases without any identity */
    xf_case_t *d = register_json (fx, PLAIN, NULL);
    xf_case_t *e = register_json (fx, PLAIN, NULL);
    assert_int_equal (e->flags & XF__CASE_FLAG__FLAG_REPEAT, 0);
    assert_int_equal (fig (fx, "2026", XF_ST_REPEAT), 0);
    xf_case_destroy (&a), xf_case_destroy (&b), xf_case_destroy (&c);
    xf_case_destroy (&d), xf_case_destroy (&e);
}

/* ---------------------------------------------------------------- query codes */

static void test_query_codes (void **state)
{
    fx_t *fx = *state;
    enum { N = 60 };
    char codes[N][16];
    for (int i = 0; i < N; i++) {
        xf_case_t *c = register_json (fx, PLAIN, NULL);
        const char *q = c->query_code;
        if (strlen (q) != 14)
            fail_msg ("query code \"%s\" is not XXXX-XXXX-XXXX", q);
        for (int k = 0; k < 14; k++) {
            if (k == 4 || k == 9) {
                if (q[k] != '-')
                    fail_msg ("query code \"%s\" is not XXXX-XXXX-XXXX", q);
            } else if (!strchr ("23456789ABCDEFGHJKMNPQRSTUVWXYZ", q[k]) || q[k] == 0)
                fail_msg ("query code \"%s\" has '%c', which is easily misread or not allowed", q, q[k]);
        }
        snprintf (codes[i], sizeof codes[i], "%s", q);
        for (int j = 0; j < i; j++)
            if (strcmp (codes[j], codes[i]) == 0)
                fail_msg ("query code %s given twice", q);
        xf_case_t *stored = get (fx, c->id);
        assert_string_equal (stored->query_code, q);
        xf_case_destroy (&stored);
        xf_case_destroy (&c);
    }
}

/* ---------------------------------------------------------------- histories */

static void test_history_of_a_full_life (void **state)
{
    fx_t *fx = *state;
    char id[XF_CASE_ID_MAX];
    xf_err_t err = {0, ""};
    register_plain (fx, id);
    set_day (fx, day (2026, 11, 24));
    accept (fx, id, true);
    set_day (fx, day (2026, 12, 1));
    fx->who.uid = 1001;
    ok (xf_office_extend (fx->office, &fx->who, id, 20, "涉及多个部门", &err), &err, "extend");
    set_day (fx, day (2027, 1, 10));
    close_case (fx, id);

    json_t *events = history (fx, id);
    static const char *const types[] = {"register", "accept", "extend", "close"};
    static const char *const ats[] = {"2026-11-22T09:17:00+08:00", "2026-11-24T09:17:00+08:00",
                                      "2026-12-01T09:17:00+08:00", "2027-01-10T09:17:00+08:00"};
    assert_int_equal (json_array_size (events), 4);
    for (size_t i = 0; i < 4; i++) {
        json_t *ev = json_array_get (events, i);
        assert_int_equal (json_integer_value (json_object_get (ev, "seq")), (json_int_t) i + 1);
        assert_string_equal (ev_str (ev, "type"), types[i]);
        assert_string_equal (ev_str (ev, "office"), OFFICE);
        assert_string_equal (ev_str (ev, "at"), ats[i]);
        assert_int_equal (json_integer_value (json_object_get (ev, "operator_uid")), i < 2 ? 1000 : 1001);
    }
    json_t *acc = json_array_get (events, 1), *ext = json_array_get (events, 2),
           *clo = json_array_get (events, 3);
    assert_true (json_is_true (json_object_get (acc, "filed")));
    assert_string_equal (ev_str (acc, "handle_due"), "2027-01-23");
    assert_int_equal (json_integer_value (json_object_get (ext, "days")), 20);
    assert_string_equal (ev_str (ext, "reason"), "涉及多个部门");
    assert_string_equal (ev_str (ext, "handle_due"), "2027-02-12");
    assert_true (json_is_true (json_object_get (clo, "on_time")));
    assert_string_equal (ev_str (clo, "reply"), "已书面答复信访人");
    json_decref (events);

    xf_case_t *c = get (fx, id);
    assert_int_equal (c->status, XF__STATUS__CLOSED);
    assert_int_equal (c->last_event, 4);
    assert_int_equal (c->closed, day (2027, 1, 10));
    xf_case_destroy (&c);
}

static void test_history_of_a_rejection (void **state)
{
    fx_t *fx = *state;
    char id[XF_CASE_ID_MAX], other[XF_CASE_ID_MAX];
    xf_err_t err = {0, ""};
    register_plain (fx, id);
    register_plain (fx, other);
    set_day (fx, day (2026, 11, 25));
    ok (xf_office_reject (fx->office, &fx->who, id, "不属于组织部门受理范围", &err), &err, "reject");
    json_t *events = history (fx, id);
    assert_int_equal (json_array_size (events), 2);
    assert_string_equal (ev_str (json_array_get (events, 0), "type"), "register");
    assert_string_equal (ev_str (json_array_get (events, 1), "type"), "reject");
    assert_string_equal (ev_str (json_array_get (events, 1), "reason"), "不属于组织部门受理范围");
    json_decref (events);
    /* the other case's history is its own */
    assert_int_equal (history_len (fx, other), 1);
    xf_case_t *c = get (fx, id);
    assert_int_equal (c->status, XF__STATUS__REJECTED);
    assert_string_equal (c->reject_reason, "不属于组织部门受理范围");
    xf_case_destroy (&c);
}

/* ---------------------------------------------------------------- refusals */

static void test_refusals_change_nothing (void **state)
{
    fx_t *fx = *state;
    char reg[XF_CASE_ID_MAX], prog[XF_CASE_ID_MAX], rej[XF_CASE_ID_MAX], done[XF_CASE_ID_MAX];
    xf_err_t err = {0, ""};
    register_plain (fx, reg);
    register_plain (fx, prog);
    register_plain (fx, rej);
    register_plain (fx, done);
    set_day (fx, day (2026, 11, 23));
    accept (fx, prog, true);
    accept (fx, done, true);
    close_case (fx, done);
    ok (xf_office_reject (fx->office, &fx->who, rej, "不予受理", &err), &err, "reject");
    world_t w;

#define REFUSED(target, call, want, phrase)                 \
    do {                                                    \
        w = world (fx, target);                             \
        err = (xf_err_t) {0, ""};                           \
        assert_int_equal ((call), (want));                  \
        assert_int_equal (err.code, (want));                \
        assert_msg_has (&err, phrase);                      \
        assert_world_same (fx, target, &w);                 \
    } while (0)

    REFUSED (prog, xf_office_accept (fx->office, &fx->who, prog, false, &err), XF_ESTATE, "in_progress");
    REFUSED (prog, xf_office_reject (fx->office, &fx->who, prog, "原因", &err), XF_ESTATE, "in_progress");
    REFUSED (reg, xf_office_reject (fx->office, &fx->who, reg, "", &err), XF_EINVAL, "reason");
    REFUSED (reg, xf_office_reject (fx->office, &fx->who, reg, NULL, &err), XF_EINVAL, "reason");
    REFUSED (reg, xf_office_extend (fx->office, &fx->who, reg, 10, "原因", &err), XF_ESTATE, "registered");
    REFUSED (reg, xf_office_close (fx->office, &fx->who, reg, "答复", &err), XF_ESTATE, "registered");
    REFUSED (prog, xf_office_extend (fx->office, &fx->who, prog, 0, "原因", &err), XF_EINVAL,
             "max_extension_days");
    REFUSED (prog, xf_office_extend (fx->office, &fx->who, prog, 31, "原因", &err), XF_EINVAL,
             "max_extension_days");
    REFUSED (prog, xf_office_extend (fx->office, &fx->who, prog, 10, "", &err), XF_EINVAL, "reason");
    REFUSED (prog, xf_office_close (fx->office, &fx->who, prog, "", &err), XF_EINVAL, "reply");
    REFUSED (rej, xf_office_accept (fx->office, &fx->who, rej, true, &err), XF_ESTATE, "rejected");
    REFUSED (rej, xf_office_close (fx->office, &fx->who, rej, "答复", &err), XF_ESTATE, "rejected");
    REFUSED (done, xf_office_close (fx->office, &fx->who, done, "再答复", &err), XF_ESTATE, "closed");
    REFUSED (done, xf_office_accept (fx->office, &fx->who, done, true, &err), XF_ESTATE, "closed");
    REFUSED (done, xf_office_extend (fx->office, &fx->who, done, 5, "原因", &err), XF_ESTATE, "closed");
    /* no such case: nothing anywhere changes */
    REFUSED (reg, xf_office_accept (fx->office, &fx->who, "411324-2026-000099", true, &err),
             XF_ENOTFOUND, "411324-2026-000099");
    REFUSED (reg, xf_office_reject (fx->office, &fx->who, "411324-2026-000099", "原因", &err),
             XF_ENOTFOUND, "no case");
    REFUSED (reg, xf_office_extend (fx->office, &fx->who, "411324-2026-00000", 5, "原因", &err),
             XF_ENOTFOUND, "no case");
    REFUSED (reg, xf_office_close (fx->office, &fx->who, "", "答复", &err), XF_ENOTFOUND, "no case");
    char huge[700];
    memset (huge, '4', sizeof huge - 1);
    huge[sizeof huge - 1] = 0;
    REFUSED (reg, xf_office_accept (fx->office, &fx->who, huge, true, &err), XF_ENOTFOUND, "no case");

    /* one extension only, and only before the deadline */
    ok (xf_office_extend (fx->office, &fx->who, prog, 10, "原因", &err), &err, "extend");
    REFUSED (prog, xf_office_extend (fx->office, &fx->who, prog, 10, "再延", &err), XF_ESTATE,
             "one extension");
    char late[XF_CASE_ID_MAX];
    register_plain (fx, late);
    accept (fx, late, true);
    xf_case_t *c = get (fx, late);
    set_day (fx, c->handle_due + 1);
    xf_case_destroy (&c);
    REFUSED (late, xf_office_extend (fx->office, &fx->who, late, 10, "晚了", &err), XF_ESTATE,
             "deadline");

    /* a refused registration changes nothing either */
    xf_case_t *nocat = case_from (fx, "{\"channel\":\"letter\",\"summary\":\"s\"}");
    REFUSED (reg, xf_office_register (fx->office, &fx->who, nocat, &err), XF_EINVAL, "category");
    xf_case_destroy (&nocat);
#undef REFUSED
}

static void test_refused_registration_keeps_numbering (void **state)
{
    fx_t *fx = *state;
    char id[XF_CASE_ID_MAX];
    xf_err_t err = {0, ""};
    register_plain (fx, id);
    xf_case_t *bad = case_from (fx, "{\"channel\":\"letter\",\"category\":\"appeal\",\"summary\":\"s\","
                                    "\"petitioner\":{\"id_number\":\"411324198506120037\"}}");
    world_t w = world (fx, id);
    assert_int_equal (xf_office_register (fx->office, &fx->who, bad, &err), XF_EINVAL);
    assert_msg_has (&err, "id number");
    assert_world_same (fx, id, &w);
    assert_string_equal (bad->id, "");
    xf_case_destroy (&bad);
    register_plain (fx, id);
    assert_string_equal (id, "411324-2026-000002");
}

static void test_not_found (void **state)
{
    fx_t *fx = *state;
    xf_err_t err = {0, ""};
    assert_null (xf_office_get (fx->office, "411324-2026-000001", &err));
    assert_int_equal (err.code, XF_ENOTFOUND);
    assert_msg_has (&err, "411324-2026-000001");
    err = (xf_err_t) {0, ""};
    assert_null (xf_office_history (fx->office, "411324-2026-000001", &err));
    assert_int_equal (err.code, XF_ENOTFOUND);
    assert_msg_has (&err, "no case");
    err = (xf_err_t) {0, ""};
    assert_null (xf_office_history (fx->office, "411324-2026-000001-and-much-too-long-for-an-id", &err));
    assert_int_equal (err.code, XF_ENOTFOUND);
    char id[XF_CASE_ID_MAX];
    register_plain (fx, id);
    err = (xf_err_t) {0, ""};
    assert_null (xf_office_history (fx->office, "411324-2026-00000", &err));   /* a prefix */
    assert_int_equal (err.code, XF_ENOTFOUND);
    err = (xf_err_t) {0, ""};
    assert_null (xf_office_get (fx->office, "411324-2026-0000011", &err));
    assert_int_equal (err.code, XF_ENOTFOUND);
    /* an empty id is no case, not a store failure */
    err = (xf_err_t) {0, ""};
    assert_null (xf_office_get (fx->office, "", &err));
    assert_int_equal (err.code, XF_ENOTFOUND);
    err = (xf_err_t) {0, ""};
    assert_null (xf_office_history (fx->office, "", &err));
    assert_int_equal (err.code, XF_ENOTFOUND);
}

/* ---------------------------------------------------------------- batches */

static void test_batch_all_or_nothing (void **state)
{
    fx_t *fx = *state;
    xf_err_t err = {0, ""};
    size_t bad = 99;
    xf_case_t *cases[3] = {
        case_from (fx, WITH_ID ("11010519491231002X")),
        case_from (fx, "{\"category\":\"appeal\",\"summary\":\"没有渠道\"}"),
        case_from (fx, PLAIN),
    };
    assert_int_equal (xf_office_register_batch (fx->office, &fx->who, cases, 3, false, &bad, &err),
                      XF_EINVAL);
    assert_int_equal (bad, 1);
    assert_msg_has (&err, "channel");
    for (int i = 0; i < 3; i++) {
        assert_string_equal (cases[i]->id, "");   /* handed back untouched */
        assert_int_equal (cases[i]->status, 0);
    }
    xf_case_counts_t k = counts (fx, today (fx));
    assert_int_equal (k.total, 0);
    err = (xf_err_t) {0, ""};
    assert_null (xf_office_get (fx->office, "411324-2026-000001", &err));
    assert_int_equal (err.code, XF_ENOTFOUND);
    assert_int_equal (fig (fx, "2026", XF_ST_RECEIVED), 0);

    /* the same again with the bad one last */
    xf_case_t *tmp = cases[1];
    cases[1] = cases[2], cases[2] = tmp;
    bad = 99;
    assert_int_equal (xf_office_register_batch (fx->office, &fx->who, cases, 3, false, &bad, &err),
                      XF_EINVAL);
    assert_int_equal (bad, 2);
    assert_int_equal (counts (fx, today (fx)).total, 0);

    /* fixed, the batch goes in whole, numbered from 000001: nothing was consumed */
    cases[2]->channel = XF__CHANNEL__LETTER;
    ok (xf_office_register_batch (fx->office, &fx->who, cases, 3, false, &bad, &err), &err, "batch");
    assert_string_equal (cases[0]->id, "411324-2026-000001");
    assert_string_equal (cases[1]->id, "411324-2026-000002");
    assert_string_equal (cases[2]->id, "411324-2026-000003");
    for (int i = 0; i < 3; i++) {
        assert_int_equal (cases[i]->status, XF__STATUS__REGISTERED);
        assert_int_equal (history_len (fx, cases[i]->id), 1);
        xf_case_destroy (&cases[i]);
    }
    assert_int_equal (fig (fx, "2026", XF_ST_RECEIVED), 3);
    assert_int_equal (counts (fx, today (fx)).total, 3);
}

static void test_batch_repeat_within (void **state)
{
    fx_t *fx = *state;
    xf_err_t err = {0, ""};
    size_t bad = 99;
    xf_case_t *cases[2] = {case_from (fx, WITH_ID ("440524188001010014")),
                           case_from (fx, WITH_ID ("440524188001010014"))};
    ok (xf_office_register_batch (fx->office, &fx->who, cases, 2, false, &bad, &err), &err, "batch");
    assert_int_equal (cases[0]->flags & XF__CASE_FLAG__FLAG_REPEAT, 0);
    assert_int_not_equal (cases[1]->flags & XF__CASE_FLAG__FLAG_REPEAT, 0);
    assert_string_not_equal (cases[0]->query_code, cases[1]->query_code);
    xf_case_destroy (&cases[0]), xf_case_destroy (&cases[1]);
}

static void test_batch_dry_run (void **state)
{
    fx_t *fx = *state;
    xf_err_t err = {0, ""};
    size_t bad = 99;
    xf_case_t *cases[2] = {case_from (fx, PLAIN), case_from (fx, WITH_ID ("440524188001010014"))};
    ok (xf_office_register_batch (fx->office, &fx->who, cases, 2, true, &bad, &err), &err, "dry run");
    assert_string_equal (cases[0]->id, "");
    assert_string_equal (cases[1]->id, "");
    assert_int_equal (counts (fx, today (fx)).total, 0);
    assert_int_equal (fig (fx, "2026", XF_ST_RECEIVED), 0);
    xf_day_t now = today (fx);
    set_day (fx, now + 400);   /* nothing went into the deadline index either */
    assert_int_equal (scan (fx), 0);
    set_day (fx, now);

    /* a dry run still finds the bad case */
    xf_case_t *bad_one = case_from (fx, "{\"channel\":\"letter\",\"category\":\"appeal\"}");
    xf_case_t *three[3] = {cases[0], cases[1], bad_one};
    err = (xf_err_t) {0, ""};
    assert_int_equal (xf_office_register_batch (fx->office, &fx->who, three, 3, true, &bad, &err),
                      XF_EINVAL);
    assert_int_equal (bad, 2);
    assert_msg_has (&err, "summary");
    xf_case_destroy (&bad_one);

    /* nothing was numbered, nothing indexed: the real run starts at 000001, no repeat */
    ok (xf_office_register_batch (fx->office, &fx->who, cases, 2, false, &bad, &err), &err, "batch");
    assert_string_equal (cases[0]->id, "411324-2026-000001");
    assert_string_equal (cases[1]->id, "411324-2026-000002");
    assert_int_equal (cases[1]->flags & XF__CASE_FLAG__FLAG_REPEAT, 0);
    xf_case_destroy (&cases[0]), xf_case_destroy (&cases[1]);
}

/* ---------------------------------------------------------------- deadline scan */

static void test_scan_marks_overdue_once (void **state)
{
    fx_t *fx = *state;
    char id[XF_CASE_ID_MAX], other[XF_CASE_ID_MAX];
    xf_day_t d0 = today (fx), due = d0 + 15;
    register_plain (fx, id);
    set_day (fx, d0 + 5);
    register_plain (fx, other);   /* due 5 days later */

    set_day (fx, due);   /* the due day itself is not overdue */
    assert_int_equal (scan (fx), 0);
    assert_false (has_flag (fx, id, XF__CASE_FLAG__FLAG_OVERDUE));
    assert_int_equal (history_len (fx, id), 1);
    assert_int_equal (fig (fx, "2026", XF_ST_OVERDUE), 0);

    set_day (fx, due + 1);
    assert_int_equal (scan (fx), 1);
    assert_true (has_flag (fx, id, XF__CASE_FLAG__FLAG_OVERDUE));
    assert_false (has_flag (fx, other, XF__CASE_FLAG__FLAG_OVERDUE));
    json_t *events = history (fx, id);
    assert_int_equal (json_array_size (events), 2);
    json_t *ev = json_array_get (events, 1);
    assert_string_equal (ev_str (ev, "type"), "overdue");
    assert_string_equal (ev_str (ev, "stage"), "accept");
    assert_string_equal (ev_str (ev, "due"), "2026-12-07");
    assert_int_equal (json_integer_value (json_object_get (ev, "seq")), 2);
    assert_int_equal (json_integer_value (json_object_get (ev, "operator_uid")), 0);   /* the node */
    json_decref (events);
    assert_int_equal (fig (fx, "2026", XF_ST_OVERDUE), 1);
    assert_int_equal (fig_day (fx, due, XF_ST_OVERDUE), 1);   /* counted under its deadline */

    /* again, the same day and later: counted once */
    assert_int_equal (scan (fx), 0);
    set_day (fx, due + 3);
    assert_int_equal (scan (fx), 0);
    reopen (fx);
    assert_int_equal (scan (fx), 0);
    /* a test clock moved back and forward again: still once */
    set_day (fx, d0);
    assert_int_equal (scan (fx), 0);
    set_day (fx, due + 2);
    assert_int_equal (scan (fx), 0);
    assert_int_equal (history_len (fx, id), 2);
    assert_int_equal (fig (fx, "2026", XF_ST_OVERDUE), 1);
    set_day (fx, due + 3);

    /* the other one follows on its own deadline */
    set_day (fx, due + 6);
    assert_int_equal (scan (fx), 1);
    assert_true (has_flag (fx, other, XF__CASE_FLAG__FLAG_OVERDUE));
    assert_int_equal (fig (fx, "2026", XF_ST_OVERDUE), 2);

    /* accepted late: "late", no longer "overdue"; the handling stage has its own deadline */
    accept (fx, id, true);
    xf_case_t *c = get (fx, id);
    assert_int_equal (c->flags & XF__CASE_FLAG__FLAG_OVERDUE, 0);
    assert_int_not_equal (c->flags & XF__CASE_FLAG__FLAG_LATE, 0);
    xf_day_t hdue = c->handle_due;
    assert_int_equal (hdue, due + 6 + 60);
    xf_case_destroy (&c);
    set_day (fx, hdue);
    assert_int_equal (scan (fx), 0);
    set_day (fx, hdue + 1);
    assert_int_equal (scan (fx), 1);
    events = history (fx, id);
    ev = json_array_get (events, json_array_size (events) - 1);
    assert_string_equal (ev_str (ev, "type"), "overdue");
    assert_string_equal (ev_str (ev, "stage"), "handle");
    json_decref (events);
    assert_int_equal (fig_day (fx, hdue, XF_ST_OVERDUE), 1);
    assert_int_equal (scan (fx), 0);
}

static void test_decisions_leave_the_scan (void **state)
{
    fx_t *fx = *state;
    char a[XF_CASE_ID_MAX], r[XF_CASE_ID_MAX], cl[XF_CASE_ID_MAX];
    xf_err_t err = {0, ""};
    xf_day_t d0 = today (fx);
    register_plain (fx, a);
    register_plain (fx, r);
    register_plain (fx, cl);
    set_day (fx, d0 + 3);
    accept (fx, a, false);
    accept (fx, cl, true);
    ok (xf_office_reject (fx->office, &fx->who, r, "不予受理", &err), &err, "reject");
    set_day (fx, d0 + 10);
    close_case (fx, cl);

    set_day (fx, d0 + 16);   /* past the accept deadline: nothing is still waiting for it */
    assert_int_equal (scan (fx), 0);
    assert_false (has_flag (fx, a, XF__CASE_FLAG__FLAG_OVERDUE));
    assert_false (has_flag (fx, r, XF__CASE_FLAG__FLAG_OVERDUE));
    assert_int_equal (history_len (fx, a), 2);
    set_day (fx, d0 + 3 + 61);   /* past the handling deadline: only the open one */
    assert_int_equal (scan (fx), 1);
    assert_true (has_flag (fx, a, XF__CASE_FLAG__FLAG_OVERDUE));
    assert_false (has_flag (fx, cl, XF__CASE_FLAG__FLAG_OVERDUE));
    assert_int_equal (history_len (fx, cl), 3);
    assert_int_equal (fig (fx, "2020-01-01..2030-12-31", XF_ST_OVERDUE), 1);
}

static void test_extension_moves_the_scan (void **state)
{
    fx_t *fx = *state;
    char id[XF_CASE_ID_MAX];
    xf_err_t err = {0, ""};
    register_plain (fx, id);
    accept (fx, id, true);
    xf_day_t hdue = today (fx) + 60;
    ok (xf_office_extend (fx->office, &fx->who, id, 30, "原因", &err), &err, "extend");
    set_day (fx, hdue + 1);
    assert_int_equal (scan (fx), 0);
    set_day (fx, hdue + 30);
    assert_int_equal (scan (fx), 0);
    set_day (fx, hdue + 31);
    assert_int_equal (scan (fx), 1);
}

/* A case registered today with a received date long past is overdue at once, even though
 * the scan has already passed its deadline day. */
static void test_scan_catches_late_registration (void **state)
{
    fx_t *fx = *state;
    char id[XF_CASE_ID_MAX], old[XF_CASE_ID_MAX];
    xf_day_t d0 = today (fx);
    register_plain (fx, id);
    assert_int_equal (scan (fx), 0);
    set_day (fx, d0 + 3);
    assert_int_equal (scan (fx), 0);
    xf_case_t *c = register_json (fx, "{\"channel\":\"letter\",\"category\":\"appeal\","
                                      "\"summary\":\"s\",\"received\":\"2026-10-01\"}", old);
    assert_int_equal (c->accept_due, day (2026, 10, 16));
    xf_case_destroy (&c);
    assert_int_equal (scan (fx), 1);
    assert_true (has_flag (fx, old, XF__CASE_FLAG__FLAG_OVERDUE));
    assert_false (has_flag (fx, id, XF__CASE_FLAG__FLAG_OVERDUE));
    assert_int_equal (fig_day (fx, day (2026, 10, 16), XF_ST_OVERDUE), 1);
    assert_int_equal (scan (fx), 0);
    set_day (fx, d0 + 16);
    assert_int_equal (scan (fx), 1);
    assert_true (has_flag (fx, id, XF__CASE_FLAG__FLAG_OVERDUE));
    assert_int_equal (fig (fx, "2026", XF_ST_OVERDUE), 2);
}

static void test_scan_many (void **state)
{
    fx_t *fx = *state;
    enum { N = 300 };   /* more than one scan transaction's batch */
    for (int i = 0; i < N; i++)
        register_plain (fx, NULL);
    set_day (fx, today (fx) + 16);
    assert_int_equal (scan (fx), N);
    assert_int_equal (scan (fx), 0);
    assert_int_equal (fig (fx, "2026", XF_ST_OVERDUE), N);
    assert_int_equal (counts (fx, today (fx)).overdue, N);
}

/* ---------------------------------------------------------------- statistics */

static void test_stats_received_by_received_date (void **state)
{
    fx_t *fx = *state;
    /* registered today (Q4) but received in Q3: counts in Q3 */
    xf_case_t *c = register_json (fx,
        "{\"channel\":\"visit\",\"category\":\"accusation\",\"summary\":\"反映干部问题\","
        "\"received\":\"2026-08-10\",\"headcount\":6,\"subject\":3,\"skip_level\":true,"
        "\"accused\":{\"name\":\"赵六\",\"rank\":\"township\"}}", NULL);
    assert_int_equal (c->registered, day (2026, 11, 22));
    assert_int_equal (c->accept_due, day (2026, 8, 25));
    xf_case_destroy (&c);
    register_plain (fx, NULL);   /* received today */

    xf_figures_t q3 = figures_of (fx, "2026Q3"), q4 = figures_of (fx, "2026Q4");
    assert_int_equal (q3.v[XF_ST_RECEIVED], 1);
    assert_int_equal (q3.v[XF_ST_CHANNEL + XF__CHANNEL__VISIT], 1);
    assert_int_equal (q3.v[XF_ST_CHANNEL + XF__CHANNEL__LETTER], 0);
    assert_int_equal (q3.v[XF_ST_CATEGORY + XF__CATEGORY__ACCUSATION], 1);
    assert_int_equal (q3.v[XF_ST_RANK + XF__RANK__TOWNSHIP_LEVEL], 1);
    assert_int_equal (q3.v[XF_ST_SUBJECT + 3], 1);
    assert_int_equal (q3.v[XF_ST_GROUP], 1);
    assert_int_equal (q3.v[XF_ST_SKIP_LEVEL], 1);
    assert_int_equal (q4.v[XF_ST_RECEIVED], 1);
    assert_int_equal (q4.v[XF_ST_CHANNEL + XF__CHANNEL__LETTER], 1);
    assert_int_equal (q4.v[XF_ST_CHANNEL + XF__CHANNEL__VISIT], 0);
    assert_int_equal (q4.v[XF_ST_CATEGORY + XF__CATEGORY__APPEAL], 1);
    assert_int_equal (q4.v[XF_ST_GROUP], 0);
    assert_int_equal (fig_day (fx, day (2026, 8, 10), XF_ST_RECEIVED), 1);
    assert_int_equal (fig_day (fx, day (2026, 11, 22), XF_ST_RECEIVED), 1);
    assert_int_equal (fig (fx, "2026-11", XF_ST_RECEIVED), 1);
    assert_int_equal (fig (fx, "2026", XF_ST_RECEIVED), 2);
    assert_int_equal (fig (fx, "2025", XF_ST_RECEIVED), 0);
    /* the stats JSON carries the same */
    json_t *j = xf_figures_json (&q3);
    assert_int_equal (json_integer_value (json_object_get (j, "received")), 1);
    assert_int_equal (json_integer_value (json_object_get (json_object_get (j, "by_channel"), "visit")), 1);
    assert_int_equal (json_integer_value (json_object_get (json_object_get (j, "by_accused_rank"), "township")), 1);
    json_decref (j);
}

static void test_stats_decisions_on_decision_day (void **state)
{
    fx_t *fx = *state;
    char a[XF_CASE_ID_MAX], b[XF_CASE_ID_MAX], r[XF_CASE_ID_MAX];
    xf_err_t err = {0, ""};
    set_day (fx, day (2026, 9, 28));
    register_plain (fx, a);
    register_plain (fx, b);
    register_plain (fx, r);
    set_day (fx, day (2026, 9, 30));
    accept (fx, b, false);
    set_day (fx, day (2026, 10, 2));
    accept (fx, a, true);
    set_day (fx, day (2026, 10, 5));
    ok (xf_office_reject (fx->office, &fx->who, r, "不予受理", &err), &err, "reject");

    xf_figures_t q3 = figures_of (fx, "2026Q3"), q4 = figures_of (fx, "2026Q4");
    assert_int_equal (q3.v[XF_ST_RECEIVED], 3);
    assert_int_equal (q3.v[XF_ST_ACCEPTED], 1);
    assert_int_equal (q3.v[XF_ST_FILED], 0);
    assert_int_equal (q3.v[XF_ST_REJECTED], 0);
    assert_int_equal (q4.v[XF_ST_RECEIVED], 0);
    assert_int_equal (q4.v[XF_ST_ACCEPTED], 1);
    assert_int_equal (q4.v[XF_ST_FILED], 1);
    assert_int_equal (q4.v[XF_ST_REJECTED], 1);
    assert_int_equal (fig_day (fx, day (2026, 9, 30), XF_ST_ACCEPTED), 1);
    assert_int_equal (fig_day (fx, day (2026, 10, 2), XF_ST_FILED), 1);
    assert_int_equal (fig_day (fx, day (2026, 10, 5), XF_ST_REJECTED), 1);
    assert_int_equal (fig_day (fx, day (2026, 9, 28), XF_ST_ACCEPTED), 0);
    /* an unfiled acceptance is owed no 应结 */
    assert_int_equal (fig (fx, "2020-01-01..2030-12-31", XF_ST_DUE), 1);
    assert_int_equal (fig_day (fx, day (2026, 12, 1), XF_ST_DUE), 1);   /* 10-02 + 60 */
}

static double on_time_rate (const xf_figures_t *f, bool *is_null)
{
    json_t *j = xf_figures_json (f);
    json_t *r = json_object_get (j, "on_time_rate");
    assert_non_null (r);
    *is_null = json_is_null (r);
    double v = json_is_number (r) ? json_number_value (r) : -1;
    json_decref (j);
    return v;
}

static void test_stats_closed_on_time (void **state)
{
    fx_t *fx = *state;
    char id[XF_CASE_ID_MAX];
    set_day (fx, day (2026, 10, 30));
    register_plain (fx, id);
    set_day (fx, day (2026, 11, 2));
    accept (fx, id, true);
    xf_day_t hdue = day (2027, 1, 1);
    assert_int_equal (fig_day (fx, hdue, XF_ST_DUE), 1);   /* owed by its deadline, until closed */
    assert_int_equal (fig (fx, "2026Q4", XF_ST_DUE), 0);
    assert_int_equal (fig (fx, "2027Q1", XF_ST_DUE), 1);

    xf_day_t closed = day (2026, 11, 12);
    set_day (fx, closed);
    close_case (fx, id);
    assert_int_equal (fig_day (fx, closed, XF_ST_DUE), 1);
    assert_int_equal (fig_day (fx, closed, XF_ST_CLOSED), 1);
    assert_int_equal (fig_day (fx, closed, XF_ST_CLOSED_ON_TIME), 1);
    assert_int_equal (fig_day (fx, hdue, XF_ST_DUE), 0);
    xf_figures_t q4 = figures_of (fx, "2026Q4"), q1 = figures_of (fx, "2027Q1");
    assert_int_equal (q4.v[XF_ST_DUE], 1);
    assert_int_equal (q4.v[XF_ST_CLOSED], 1);
    assert_int_equal (q4.v[XF_ST_CLOSED_ON_TIME], 1);
    assert_int_equal (q1.v[XF_ST_DUE], 0);
    assert_int_equal (q1.v[XF_ST_CLOSED], 0);
    bool is_null;
    assert_true (on_time_rate (&q4, &is_null) == 1.0);
    assert_false (is_null);
    on_time_rate (&q1, &is_null);
    assert_true (is_null);
}

static void test_stats_closed_late (void **state)
{
    fx_t *fx = *state;
    char id[XF_CASE_ID_MAX];
    set_day (fx, day (2026, 10, 30));
    register_plain (fx, id);
    set_day (fx, day (2026, 11, 2));
    accept (fx, id, true);
    xf_day_t hdue = day (2027, 1, 1), closed = day (2027, 1, 5);
    set_day (fx, closed);
    close_case (fx, id);
    assert_true (has_flag (fx, id, XF__CASE_FLAG__FLAG_LATE));
    json_t *events = history (fx, id);
    json_t *last = json_array_get (events, json_array_size (events) - 1);
    assert_string_equal (ev_str (last, "type"), "close");
    assert_true (json_is_false (json_object_get (last, "on_time")));
    json_decref (events);

    assert_int_equal (fig_day (fx, hdue, XF_ST_DUE), 1);   /* stays under its deadline */
    assert_int_equal (fig_day (fx, closed, XF_ST_DUE), 0);
    assert_int_equal (fig_day (fx, closed, XF_ST_CLOSED), 1);
    assert_int_equal (fig_day (fx, closed, XF_ST_CLOSED_ON_TIME), 0);
    xf_figures_t q1 = figures_of (fx, "2027Q1"), q4 = figures_of (fx, "2026Q4");
    assert_int_equal (q1.v[XF_ST_DUE], 1);
    assert_int_equal (q1.v[XF_ST_CLOSED], 1);
    assert_int_equal (q1.v[XF_ST_CLOSED_ON_TIME], 0);
    assert_int_equal (q4.v[XF_ST_DUE], 0);
    assert_int_equal (q4.v[XF_ST_CLOSED], 0);
    bool is_null;
    assert_true (on_time_rate (&q1, &is_null) == 0.0);
    assert_false (is_null);
}

static void test_stats_extension_moves_due (void **state)
{
    fx_t *fx = *state;
    char id[XF_CASE_ID_MAX];
    xf_err_t err = {0, ""};
    set_day (fx, day (2026, 10, 30));
    register_plain (fx, id);
    set_day (fx, day (2026, 11, 2));
    accept (fx, id, true);
    xf_day_t hdue = day (2027, 1, 1), extended = day (2027, 1, 31);
    set_day (fx, day (2026, 12, 1));
    ok (xf_office_extend (fx->office, &fx->who, id, 30, "需进一步核查", &err), &err, "extend");
    assert_int_equal (fig_day (fx, hdue, XF_ST_DUE), 0);
    assert_int_equal (fig_day (fx, extended, XF_ST_DUE), 1);
    assert_int_equal (fig (fx, "2020-01-01..2030-12-31", XF_ST_DUE), 1);
    xf_case_t *c = get (fx, id);
    assert_int_equal (c->handle_due, extended);
    assert_int_equal (c->extension_days, 30);
    assert_int_not_equal (c->flags & XF__CASE_FLAG__FLAG_EXTENDED, 0);
    xf_case_destroy (&c);

    /* closed after the original deadline but within the extension: on time */
    xf_day_t closed = day (2027, 1, 20);
    set_day (fx, closed);
    close_case (fx, id);
    assert_false (has_flag (fx, id, XF__CASE_FLAG__FLAG_LATE));
    assert_int_equal (fig_day (fx, closed, XF_ST_DUE), 1);
    assert_int_equal (fig_day (fx, extended, XF_ST_DUE), 0);
    assert_int_equal (fig_day (fx, closed, XF_ST_CLOSED_ON_TIME), 1);
    assert_int_equal (fig (fx, "2020-01-01..2030-12-31", XF_ST_DUE), 1);
}

static void test_stats_on_time_rate (void **state)
{
    fx_t *fx = *state;
    char a[XF_CASE_ID_MAX], b[XF_CASE_ID_MAX], u[XF_CASE_ID_MAX];
    set_day (fx, day (2026, 10, 30));
    register_plain (fx, a);
    register_plain (fx, b);
    register_plain (fx, u);
    set_day (fx, day (2026, 11, 2));   /* handling deadline 2027-01-01 */
    accept (fx, a, true);
    accept (fx, b, true);
    accept (fx, u, false);   /* not filed: closed, but never 应结 */
    set_day (fx, day (2026, 12, 1));
    close_case (fx, u);
    set_day (fx, day (2027, 1, 1));   /* on the deadline day: on time */
    close_case (fx, a);
    set_day (fx, day (2027, 1, 2));
    close_case (fx, b);

    xf_figures_t q1 = figures_of (fx, "2027Q1"), q4 = figures_of (fx, "2026Q4");
    assert_int_equal (q1.v[XF_ST_DUE], 2);
    assert_int_equal (q1.v[XF_ST_CLOSED], 2);
    assert_int_equal (q1.v[XF_ST_CLOSED_ON_TIME], 1);
    bool is_null;
    assert_true (on_time_rate (&q1, &is_null) == 0.5);
    assert_false (is_null);
    assert_int_equal (q4.v[XF_ST_CLOSED], 1);
    assert_int_equal (q4.v[XF_ST_DUE], 0);
    assert_int_equal (q4.v[XF_ST_CLOSED_ON_TIME], 0);
    assert_int_equal (q4.v[XF_ST_ACCEPTED], 3);
    assert_int_equal (q4.v[XF_ST_FILED], 2);
    on_time_rate (&q4, &is_null);
    assert_true (is_null);
    xf_figures_t all = figures_of (fx, "2026-01-01..2027-12-31");
    assert_true (all.v[XF_ST_CLOSED_ON_TIME] <= all.v[XF_ST_DUE]);
    assert_true (on_time_rate (&all, &is_null) == 0.5);
}

/* ---------------------------------------------------------------- list, counts, clock */

static const char *list_id (const json_t *cases, size_t i)
{
    return json_string_value (json_object_get (json_array_get (cases, i), "id"));
}

static bool flags_have_overdue (const json_t *c)
{
    size_t i;
    const json_t *f;
    json_array_foreach (json_object_get (c, "flags"), i, f)
        if (strcmp (json_string_value (f), "overdue") == 0)
            return true;
    return false;
}

static json_t *list (fx_t *fx, xf_case_filter_t f, xf_day_t d)
{
    xf_err_t err = {0, ""};
    json_t *o = xf_office_list (fx->office, &f, d, &err);
    if (!o)
        fail_msg ("list: %s", err.msg);
    json_t *cases = json_object_get (o, "cases");
    assert_true (json_is_array (cases));
    json_incref (cases);
    json_decref (o);
    return cases;
}

static void test_list_filters (void **state)
{
    fx_t *fx = *state;
    char id1[XF_CASE_ID_MAX], id2[XF_CASE_ID_MAX], id3[XF_CASE_ID_MAX];
    xf_day_t d0 = today (fx);
    xf_case_t *early = register_json (fx, "{\"channel\":\"letter\",\"category\":\"appeal\","
                                          "\"summary\":\"s\",\"received\":\"2026-11-19\"}", id1);
    assert_int_equal (early->accept_due, d0 + 12);
    xf_case_destroy (&early);
    register_plain (fx, id2);
    register_plain (fx, id3);
    accept (fx, id2, true);

    json_t *l = list (fx, (xf_case_filter_t) {0}, d0);
    assert_int_equal (json_array_size (l), 3);
    assert_string_equal (list_id (l, 0), id3);   /* newest first */
    assert_string_equal (list_id (l, 1), id2);
    assert_string_equal (list_id (l, 2), id1);
    assert_string_equal (json_string_value (json_object_get (json_array_get (l, 1), "status")), "in_progress");
    json_decref (l);

    l = list (fx, (xf_case_filter_t) {.status = XF__STATUS__REGISTERED}, d0);
    assert_int_equal (json_array_size (l), 2);
    assert_string_equal (list_id (l, 0), id3);
    assert_string_equal (list_id (l, 1), id1);
    json_decref (l);

    l = list (fx, (xf_case_filter_t) {.status = XF__STATUS__IN_PROGRESS}, d0);
    assert_int_equal (json_array_size (l), 1);
    assert_string_equal (list_id (l, 0), id2);
    json_decref (l);

    l = list (fx, (xf_case_filter_t) {.status = XF__STATUS__CLOSED}, d0);
    assert_int_equal (json_array_size (l), 0);
    json_decref (l);

    l = list (fx, (xf_case_filter_t) {.limit = 1}, d0);
    assert_int_equal (json_array_size (l), 1);
    assert_string_equal (list_id (l, 0), id3);
    json_decref (l);

    l = list (fx, (xf_case_filter_t) {.limit = 2, .status = XF__STATUS__REGISTERED}, d0);
    assert_int_equal (json_array_size (l), 2);
    json_decref (l);

    l = list (fx, (xf_case_filter_t) {.owner = OFFICE}, d0);
    assert_int_equal (json_array_size (l), 3);
    json_decref (l);
    l = list (fx, (xf_case_filter_t) {.owner = "411300"}, d0);
    assert_int_equal (json_array_size (l), 0);
    json_decref (l);

    /* overdue by the given day, without a scan; the most overdue first */
    l = list (fx, (xf_case_filter_t) {.overdue = true}, d0 + 12);
    assert_int_equal (json_array_size (l), 0);
    json_decref (l);
    l = list (fx, (xf_case_filter_t) {.overdue = true}, d0 + 13);
    assert_int_equal (json_array_size (l), 1);
    assert_string_equal (list_id (l, 0), id1);
    assert_true (flags_have_overdue (json_array_get (l, 0)));
    json_decref (l);
    l = list (fx, (xf_case_filter_t) {.overdue = true}, d0 + 16);
    assert_int_equal (json_array_size (l), 2);
    assert_string_equal (list_id (l, 0), id1);
    assert_string_equal (list_id (l, 1), id3);
    json_decref (l);
    l = list (fx, (xf_case_filter_t) {.overdue = true, .limit = 1}, d0 + 16);
    assert_int_equal (json_array_size (l), 1);
    assert_string_equal (list_id (l, 0), id1);
    json_decref (l);
    /* after a scan, the same */
    set_day (fx, d0 + 16);
    assert_int_equal (scan (fx), 2);
    l = list (fx, (xf_case_filter_t) {.overdue = true, .status = XF__STATUS__REGISTERED}, d0 + 16);
    assert_int_equal (json_array_size (l), 2);
    json_decref (l);
    /* a decision takes a case off the overdue list */
    accept (fx, id1, false);
    l = list (fx, (xf_case_filter_t) {.overdue = true}, d0 + 16);
    assert_int_equal (json_array_size (l), 1);
    assert_string_equal (list_id (l, 0), id3);
    json_decref (l);
    set_day (fx, d0);
    l = list (fx, (xf_case_filter_t) {.overdue = true, .status = XF__STATUS__IN_PROGRESS}, d0 + 61);
    assert_int_equal (json_array_size (l), 1);   /* id2 (handle_due d0 + 60); id1's is d0 + 76 */
    assert_string_equal (list_id (l, 0), id2);
    json_decref (l);

    /* the default limit is 100 */
    for (int i = 0; i < 101; i++)
        register_plain (fx, NULL);
    l = list (fx, (xf_case_filter_t) {0}, d0);
    assert_int_equal (json_array_size (l), 100);
    assert_string_equal (list_id (l, 0), "411324-2026-000104");
    json_decref (l);
}

static void test_counts (void **state)
{
    fx_t *fx = *state;
    char a[XF_CASE_ID_MAX], b[XF_CASE_ID_MAX], c[XF_CASE_ID_MAX], d[XF_CASE_ID_MAX];
    xf_err_t err = {0, ""};
    xf_day_t d0 = today (fx);
    xf_case_counts_t k = counts (fx, d0);
    assert_int_equal (k.total, 0);
    assert_int_equal (k.overdue, 0);
    register_plain (fx, a);
    register_plain (fx, b);
    register_plain (fx, c);
    register_plain (fx, d);
    accept (fx, b, true);
    accept (fx, c, true);
    close_case (fx, c);
    ok (xf_office_reject (fx->office, &fx->who, d, "不予受理", &err), &err, "reject");

    k = counts (fx, d0);
    assert_int_equal (k.total, 4);
    assert_int_equal (k.by_status[XF__STATUS__REGISTERED], 1);
    assert_int_equal (k.by_status[XF__STATUS__IN_PROGRESS], 1);
    assert_int_equal (k.by_status[XF__STATUS__CLOSED], 1);
    assert_int_equal (k.by_status[XF__STATUS__REJECTED], 1);
    assert_int_equal (k.by_status[XF__STATUS__REPORTED], 0);
    assert_int_equal (k.overdue, 0);
    assert_int_equal (counts (fx, d0 + 15).overdue, 0);   /* a's due day: not yet */
    assert_int_equal (counts (fx, d0 + 16).overdue, 1);   /* a */
    assert_int_equal (counts (fx, d0 + 60).overdue, 1);   /* b's due day */
    assert_int_equal (counts (fx, d0 + 61).overdue, 2);   /* a, b */
}

static void test_clock_offset (void **state)
{
    fx_t *fx = *state;
    xf_err_t err = {0, ""};
    int64_t off = 777;
    ok (xf_office_clock_offset (fx->office, &off, &err), &err, "clock");
    assert_int_equal (off, 0);
    ok (xf_office_set_clock_offset (fx->office, -3600, &err), &err, "set clock");
    ok (xf_office_clock_offset (fx->office, &off, &err), &err, "clock");
    assert_int_equal (off, -3600);
    ok (xf_office_set_clock_offset (fx->office, 86400LL * 365 * 3 + 17, &err), &err, "set clock");
    reopen (fx);
    ok (xf_office_clock_offset (fx->office, &off, &err), &err, "clock");
    assert_int_equal (off, 86400LL * 365 * 3 + 17);
    assert_string_equal (xf_office_code (fx->office), OFFICE);
}

#define T(f) cmocka_unit_test_setup_teardown (f, setup, teardown)

/* A store belongs to the office that first opened it: another office is refused, naming both,
 * and the store is not touched. */
static void test_store_of_another_office (void **state)
{
    fx_t *fx = *state;
    xf_err_t err = {0, ""};
    xf_office_t *other = xf_office_new (fx->store, "411326", &LIM, &err);
    assert_null (other);
    assert_int_equal (err.code, XF_ECONFIG);
    assert_msg_has (&err, "the store belongs to office " OFFICE);
    assert_msg_has (&err, "this office is 411326");
    reopen (fx);   /* its own office still opens it */
}

/* The latest time seen only rises with seen; reset sets it (a clock moved on purpose). */
static void test_clock_latest (void **state)
{
    fx_t *fx = *state;
    xf_err_t err = {0, ""};
    int64_t t = 0;
    assert_int_equal (xf_office_clock_latest (fx->office, &t, &err), XF_OK);
    assert_int_equal (t, 0);
    assert_int_equal (xf_office_clock_seen (fx->office, 1795000000, &err), XF_OK);
    assert_int_equal (xf_office_clock_seen (fx->office, 1794000000, &err), XF_OK);
    assert_int_equal (xf_office_clock_latest (fx->office, &t, &err), XF_OK);
    assert_int_equal (t, 1795000000);
    assert_int_equal (xf_office_clock_reset (fx->office, 1794000000, &err), XF_OK);
    reopen (fx);
    assert_int_equal (xf_office_clock_latest (fx->office, &t, &err), XF_OK);
    assert_int_equal (t, 1794000000);
}

int main (void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown (test_store_of_another_office, setup, teardown),
        cmocka_unit_test_setup_teardown (test_clock_latest, setup, teardown),
        T (test_register_returns_record),
        T (test_numbering_reopen),
        T (test_numbering_new_year),
        T (test_repeat_by_id_number),
        T (test_repeat_by_name_and_phone),
        T (test_anonymous_never_repeat),
        T (test_query_codes),
        T (test_history_of_a_full_life),
        T (test_history_of_a_rejection),
        T (test_refusals_change_nothing),
        T (test_refused_registration_keeps_numbering),
        T (test_not_found),
        T (test_batch_all_or_nothing),
        T (test_batch_repeat_within),
        T (test_batch_dry_run),
        T (test_scan_marks_overdue_once),
        T (test_decisions_leave_the_scan),
        T (test_extension_moves_the_scan),
        T (test_scan_catches_late_registration),
        T (test_scan_many),
        T (test_stats_received_by_received_date),
        T (test_stats_decisions_on_decision_day),
        T (test_stats_closed_on_time),
        T (test_stats_closed_late),
        T (test_stats_extension_moves_due),
        T (test_stats_on_time_rate),
        T (test_list_filters),
        T (test_counts),
        T (test_clock_offset),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
