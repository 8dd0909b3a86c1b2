/* test_xf_case_json.c — the `case show` / `case history` JSON of INTERFACE.md and reading a
 * registration back from it: every key and type, refusals that name the key at fault. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "xf_case_json.h"

#define OFFICE "411324"
#define CASE_ID "411324-2026-000001"

static const xf_limits_t LIM = {.accept_days = 15, .handle_days = 60, .max_extension_days = 30};

static xf_day_t day (int y, int m, int d)
{
    return xf_day_from_ymd (y, m, d);
}

#define TODAY day (2026, 11, 22)

static const char FULL[] =
    "{\"channel\":\"visit\",\"category\":\"accusation\",\"subject\":3,"
    " \"summary\":\"反映某乡党委书记违规提拔干部\",\"received\":\"2026-11-20\","
    " \"headcount\":6,\"anonymous\":false,\"skip_level\":true,\"leader\":\"李副部长\","
    " \"petitioner\":{\"name\":\"王五\",\"id_number\":\"11010519491231002x\","
    "                 \"phone\":\"138 0377 0000\",\"address\":\"镇平县城关镇\"},"
    " \"accused\":{\"name\":\"赵六\",\"unit\":\"某乡党委\",\"rank\":\"township\"}}";

/* ---------------------------------------------------------------- helpers */

static json_t *parse (const char *text)
{
    json_error_t jerr;
    json_t *j = json_loads (text, JSON_DECODE_ANY, &jerr);
    if (!j)
        fail_msg ("test JSON does not parse: %s: %s", jerr.text, text);
    return j;
}

/* from_json(text) must succeed; returns the case. */
static xf_case_t *read_ok (const char *text, xf_day_t today)
{
    json_t *j = parse (text);
    xf_case_t *c = xf_case_new ();
    xf_err_t err = {0, ""};
    int rc = xf_case_from_json (j, c, today, &err);
    json_decref (j);
    if (rc != XF_OK)
        fail_msg ("from_json refused %s: %s", text, err.msg);
    return c;
}

/* from_json(text) must fail with XF_EINVAL and a message naming each phrase (NULL-ended). */
static void read_bad (const char *text, ...)
{
    json_t *j = parse (text);
    xf_case_t *c = xf_case_new ();
    xf_err_t err = {0, ""};
    int rc = xf_case_from_json (j, c, TODAY, &err);
    json_decref (j);
    xf_case_destroy (&c);
    if (rc != XF_EINVAL)
        fail_msg ("from_json returned %d, not XF_EINVAL, for %s (%s)", rc, text, err.msg);
    assert_int_equal (err.code, XF_EINVAL);
    va_list ap;
    va_start (ap, text);
    for (const char *p = va_arg (ap, const char *); p; p = va_arg (ap, const char *))
        if (!strstr (err.msg, p)) {
            va_end (ap);
            fail_msg ("for %s the message \"%s\" does not mention \"%s\"", text, err.msg, p);
        }
    va_end (ap);
}

static xf_case_t *registered_full (void)
{
    xf_err_t err = {0, ""};
    xf_case_t *c = read_ok (FULL, TODAY);
    if (xf_case_register (c, CASE_ID, OFFICE, TODAY, &LIM, &err) != XF_OK)
        fail_msg ("register: %s", err.msg);
    assert_int_equal (xf_case_set (&c->query_code, "7KQ4-M2XD-9PWA"), XF_OK);
    return c;
}

static bool flags_have (const json_t *o, const char *flag)
{
    const json_t *a = json_object_get (o, "flags");
    size_t i;
    const json_t *f;
    assert_true (json_is_array (a));
    json_array_foreach (a, i, f) {
        assert_true (json_is_string (f));
        if (strcmp (json_string_value (f), flag) == 0)
            return true;
    }
    return false;
}

static void assert_key_string (const json_t *o, const char *key, const char *want)
{
    const json_t *v = json_object_get (o, key);
    if (!json_is_string (v))
        fail_msg ("\"%s\" is not a string", key);
    assert_string_equal (json_string_value (v), want);
}

static void assert_key_int (const json_t *o, const char *key, json_int_t want)
{
    const json_t *v = json_object_get (o, key);
    if (!json_is_integer (v))
        fail_msg ("\"%s\" is not an integer", key);
    assert_int_equal (json_integer_value (v), want);
}

static void assert_key_null (const json_t *o, const char *key)
{
    const json_t *v = json_object_get (o, key);
    if (!v)
        fail_msg ("\"%s\" is missing (expected null)", key);
    if (!json_is_null (v))
        fail_msg ("\"%s\" is not null", key);
}

/* ---------------------------------------------------------------- from_json */

static void test_from_json_full (void **state)
{
    (void) state;
    xf_case_t *c = read_ok (FULL, TODAY);
    assert_int_equal (c->channel, XF__CHANNEL__VISIT);
    assert_int_equal (c->category, XF__CATEGORY__ACCUSATION);
    assert_int_equal (c->subject, 3);
    assert_string_equal (c->summary, "反映某乡党委书记违规提拔干部");
    assert_int_equal (c->received, day (2026, 11, 20));
    assert_int_equal (c->headcount, 6);
    assert_false (c->anonymous);
    assert_int_equal (c->flags, XF__CASE_FLAG__FLAG_SKIP_LEVEL);
    assert_string_equal (c->leader, "李副部长");
    assert_non_null (c->petitioner);
    assert_string_equal (c->petitioner->name, "王五");
    assert_string_equal (c->petitioner->id_number, "11010519491231002x");
    assert_string_equal (c->petitioner->phone, "138 0377 0000");
    assert_string_equal (c->petitioner->address, "镇平县城关镇");
    assert_non_null (c->accused);
    assert_string_equal (c->accused->name, "赵六");
    assert_string_equal (c->accused->unit, "某乡党委");
    assert_int_equal (c->accused->rank, XF__RANK__TOWNSHIP_LEVEL);
    /* nothing the office assigns */
    assert_string_equal (c->id, "");
    assert_int_equal (c->status, 0);
    assert_int_equal (c->accept_due, 0);
    /* and it is a valid registration */
    xf_err_t err = {0, ""};
    assert_int_equal (xf_case_check_new (c, TODAY, &err), XF_OK);
    xf_case_destroy (&c);
}

static void test_from_json_defaults (void **state)
{
    (void) state;
    xf_case_t *c = read_ok ("{\"channel\":\"letter\",\"category\":\"inquiry\",\"summary\":\"s\"}", TODAY);
    assert_int_equal (c->received, TODAY);
    assert_int_equal (c->headcount, 1);
    assert_int_equal (c->subject, 0);
    assert_false (c->anonymous);
    assert_null (c->petitioner);
    assert_null (c->accused);
    assert_int_equal (c->flags, 0);
    xf_case_destroy (&c);

    c = read_ok ("{\"channel\":\"letter\",\"category\":\"inquiry\",\"summary\":\"s\","
                 "\"received\":null,\"subject\":null,\"petitioner\":null}", day (2027, 1, 3));
    assert_int_equal (c->received, day (2027, 1, 3));
    assert_int_equal (c->subject, 0);
    xf_case_destroy (&c);

    c = read_ok ("{\"channel\":\"letter\",\"category\":\"inquiry\",\"summary\":\"s\","
                 "\"received\":\"2025-12-31\"}", TODAY);
    assert_int_equal (c->received, day (2025, 12, 31));
    xf_case_destroy (&c);
}

static void test_from_json_not_an_object (void **state)
{
    (void) state;
    read_bad ("[1,2]", "object", NULL);
    read_bad ("\"case\"", "object", NULL);
}

static void test_from_json_unknown_key (void **state)
{
    (void) state;
    read_bad ("{\"channel\":\"letter\",\"summery\":\"typo\"}", "unknown key", "\"summery\"", NULL);
    read_bad ("{\"petitioner\":{\"name\":\"王五\",\"x\":1}}", "\"petitioner.x\"", NULL);
    read_bad ("{\"petitioner\":{\"idnumber\":\"1\"}}", "\"petitioner.idnumber\"", NULL);
    read_bad ("{\"accused\":{\"post\":\"书记\"}}", "\"accused.post\"", NULL);
}

static void test_from_json_wrong_types (void **state)
{
    (void) state;
    read_bad ("{\"summary\":42}", "\"summary\"", "string", NULL);
    read_bad ("{\"summary\":[\"a\"]}", "\"summary\"", NULL);
    read_bad ("{\"headcount\":\"3\"}", "\"headcount\"", NULL);
    read_bad ("{\"headcount\":2.5}", "\"headcount\"", NULL);
    read_bad ("{\"headcount\":0}", "\"headcount\"", "1", NULL);
    read_bad ("{\"headcount\":-1}", "\"headcount\"", NULL);
    read_bad ("{\"headcount\":100001}", "\"headcount\"", "100000", NULL);
    read_bad ("{\"subject\":0}", "\"subject\"", "1 to 8", NULL);
    read_bad ("{\"subject\":9}", "\"subject\"", "1 to 8", NULL);
    read_bad ("{\"subject\":\"2\"}", "\"subject\"", NULL);
    read_bad ("{\"anonymous\":\"yes\"}", "\"anonymous\"", "true or false", NULL);
    read_bad ("{\"anonymous\":1}", "\"anonymous\"", NULL);
    read_bad ("{\"skip_level\":\"true\"}", "\"skip_level\"", NULL);
    read_bad ("{\"channel\":1}", "\"channel\"", NULL);
    read_bad ("{\"received\":20261122}", "\"received\"", NULL);
    read_bad ("{\"petitioner\":\"王五\"}", "\"petitioner\"", "object", NULL);
    read_bad ("{\"accused\":[]}", "\"accused\"", "object", NULL);
    read_bad ("{\"petitioner\":{\"name\":5}}", "petitioner", "name", NULL);
    read_bad ("{\"accused\":{\"unit\":true}}", "accused.unit", NULL);
    read_bad ("{\"flags\":\"skip_level\"}", "\"flags\"", NULL);
    read_bad ("{\"flags\":[1]}", "\"flags\"", NULL);
    read_bad ("{\"leader\":{}}", "\"leader\"", NULL);
}

static void test_from_json_bad_date (void **state)
{
    (void) state;
    /* a bad value names its key, like every other refusal */
    read_bad ("{\"received\":\"2026-02-30\"}", "received", "2026-02-30", NULL);
    read_bad ("{\"received\":\"22/11/2026\"}", "received", NULL);
    read_bad ("{\"received\":\"\"}", "received", NULL);
}

static void test_from_json_bad_enum_lists_values (void **state)
{
    (void) state;
    read_bad ("{\"channel\":\"fax\"}", "\"channel\"", "\"fax\"",
              "letter, visit, phone, email, online", NULL);
    read_bad ("{\"category\":\"complaint\"}", "\"category\"", "\"complaint\"",
              "accusation, appeal, inquiry", NULL);
    read_bad ("{\"accused\":{\"rank\":\"minister\"}}", "accused.rank", "\"minister\"",
              "province, prefecture, county, township, general, village", NULL);
    read_bad ("{\"channel\":\"Letter\"}", "\"Letter\"", NULL);
}

static void test_from_json_ignores_assigned_keys (void **state)
{
    (void) state;
    xf_case_t *c = read_ok (
        "{\"id\":\"410000-2020-000009\",\"origin\":\"410000\",\"owner\":\"410000\","
        " \"supervisor\":\"410000\",\"status\":\"closed\",\"registered\":\"2020-01-01\","
        " \"accept_due\":\"2020-01-16\",\"decided\":\"2020-01-02\",\"handle_due\":\"2020-03-02\","
        " \"extension_days\":30,\"closed\":\"2020-03-01\",\"urges\":3,\"filed\":true,\"round\":2,"
        " \"reject_reason\":\"x\",\"reply\":\"y\",\"query_code\":\"7KQ4-M2XD-9PWA\","
        " \"flags\":[\"repeat\",\"group\",\"overdue\",\"late\",\"extended\"],"
        " \"channel\":\"email\",\"category\":\"appeal\",\"summary\":\"申诉\"}",
        TODAY);
    assert_string_equal (c->id, "");
    assert_string_equal (c->origin, "");
    assert_string_equal (c->owner, "");
    assert_string_equal (c->supervisor, "");
    assert_int_equal (c->status, 0);
    assert_int_equal (c->registered, 0);
    assert_int_equal (c->accept_due, 0);
    assert_int_equal (c->decided, 0);
    assert_int_equal (c->handle_due, 0);
    assert_int_equal (c->extension_days, 0);
    assert_int_equal (c->closed, 0);
    assert_int_equal (c->urges, 0);
    assert_false (c->filed);
    assert_int_equal (c->round, 0);
    assert_string_equal (c->reject_reason, "");
    assert_string_equal (c->reply, "");
    assert_string_equal (c->query_code, "");
    assert_int_equal (c->flags, 0);   /* only skip_level is declared by the registrar */
    assert_int_equal (c->channel, XF__CHANNEL__EMAIL);
    assert_int_equal (c->received, TODAY);
    xf_case_destroy (&c);

    c = read_ok ("{\"flags\":[\"skip_level\",\"repeat\"]}", TODAY);
    assert_int_equal (c->flags, XF__CASE_FLAG__FLAG_SKIP_LEVEL);
    xf_case_destroy (&c);
}

/* Compares the registration fields of two cases. */
static void assert_same_registration (const xf_case_t *a, const xf_case_t *b)
{
    assert_int_equal (a->channel, b->channel);
    assert_int_equal (a->category, b->category);
    assert_int_equal (a->subject, b->subject);
    assert_string_equal (a->summary, b->summary);
    assert_int_equal (a->received, b->received);
    assert_int_equal (a->headcount, b->headcount);
    assert_int_equal (a->anonymous, b->anonymous);
    assert_int_equal (a->flags & XF__CASE_FLAG__FLAG_SKIP_LEVEL, b->flags & XF__CASE_FLAG__FLAG_SKIP_LEVEL);
    assert_string_equal (a->leader, b->leader);
    assert_int_equal (!!a->petitioner, !!b->petitioner);
    if (a->petitioner) {
        assert_string_equal (a->petitioner->name, b->petitioner->name);
        assert_string_equal (a->petitioner->id_number, b->petitioner->id_number);
        assert_string_equal (a->petitioner->phone, b->petitioner->phone);
        assert_string_equal (a->petitioner->address, b->petitioner->address);
    }
    assert_int_equal (!!a->accused, !!b->accused);
    if (a->accused) {
        assert_string_equal (a->accused->name, b->accused->name);
        assert_string_equal (a->accused->unit, b->accused->unit);
        assert_int_equal (a->accused->rank, b->accused->rank);
    }
}

/* Dumps c as `case show` text and reads it back (through text, as `case import` does). */
static xf_case_t *round_trip (const xf_case_t *c, xf_day_t today)
{
    json_t *o = xf_case_to_json (c, today);
    char *text = json_dumps (o, JSON_COMPACT);
    json_decref (o);
    assert_non_null (text);
    xf_case_t *back = read_ok (text, today + 100);
    free (text);
    return back;
}

static void test_case_show_fed_back (void **state)
{
    (void) state;
    xf_err_t err = {0, ""};
    xf_case_t *c = registered_full ();
    xf_case_t *back = round_trip (c, TODAY);
    assert_same_registration (back, c);
    assert_string_equal (back->id, "");
    assert_int_equal (back->status, 0);
    assert_int_equal (xf_case_check_new (back, TODAY, &err), XF_OK);
    assert_int_equal (xf_case_register (back, "411324-2026-000002", OFFICE, TODAY, &LIM, &err), XF_OK);
    assert_int_equal (back->accept_due, c->accept_due);
    xf_case_destroy (&back);

    /* later in its life too: accepted, extended, overdue by `today` */
    assert_int_equal (xf_case_accept (c, OFFICE, TODAY + 1, true, &LIM, &err), XF_OK);
    assert_int_equal (xf_case_extend (c, OFFICE, TODAY + 2, 10, "延期", &LIM, &err), XF_OK);
    back = round_trip (c, c->handle_due + 1);
    assert_same_registration (back, c);
    xf_case_destroy (&back);
    assert_int_equal (xf_case_close (c, OFFICE, TODAY + 3, "答复", &err), XF_OK);
    back = round_trip (c, TODAY + 3);
    assert_same_registration (back, c);
    xf_case_destroy (&back);
    xf_case_destroy (&c);

    /* an anonymous case with neither subject nor accused */
    c = read_ok ("{\"channel\":\"online\",\"category\":\"inquiry\",\"summary\":\"咨询\","
                 "\"anonymous\":true}", TODAY);
    assert_int_equal (xf_case_register (c, CASE_ID, OFFICE, TODAY, &LIM, &err), XF_OK);
    back = round_trip (c, TODAY);
    assert_same_registration (back, c);
    assert_true (back->anonymous);
    assert_int_equal (xf_case_check_new (back, TODAY, &err), XF_OK);
    xf_case_destroy (&back);
    xf_case_destroy (&c);
}

/* ---------------------------------------------------------------- to_json */

static void test_to_json_keys_and_types (void **state)
{
    (void) state;
    xf_case_t *c = registered_full ();
    json_t *o = xf_case_to_json (c, TODAY);
    assert_non_null (o);
    static const char *const keys[] = {
        "id", "origin", "owner", "supervisor", "status", "channel", "category", "subject",
        "summary", "received", "accept_due", "handle_due", "anonymous", "headcount", "flags",
        "petitioner", "accused", "urges", "filed", "query_code",
    };
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++)
        if (!json_object_get (o, keys[i]))
            fail_msg ("`case show` lacks \"%s\"", keys[i]);
    assert_key_string (o, "id", CASE_ID);
    assert_key_string (o, "origin", OFFICE);
    assert_key_string (o, "owner", OFFICE);
    assert_key_null (o, "supervisor");
    assert_key_string (o, "status", "registered");
    assert_key_string (o, "channel", "visit");
    assert_key_string (o, "category", "accusation");
    assert_key_int (o, "subject", 3);
    assert_key_string (o, "summary", "反映某乡党委书记违规提拔干部");
    assert_key_string (o, "received", "2026-11-20");
    assert_key_string (o, "accept_due", "2026-12-05");
    assert_key_null (o, "handle_due");
    assert_true (json_is_false (json_object_get (o, "anonymous")));
    assert_key_int (o, "headcount", 6);
    assert_true (flags_have (o, "group"));
    assert_true (flags_have (o, "skip_level"));
    assert_false (flags_have (o, "repeat"));
    assert_false (flags_have (o, "overdue"));
    assert_int_equal (json_array_size (json_object_get (o, "flags")), 2);
    const json_t *p = json_object_get (o, "petitioner");
    assert_true (json_is_object (p));
    assert_key_string (p, "name", "王五");
    assert_key_string (p, "id_number", "11010519491231002x");
    assert_key_string (p, "phone", "138 0377 0000");
    assert_key_string (p, "address", "镇平县城关镇");
    const json_t *a = json_object_get (o, "accused");
    assert_true (json_is_object (a));
    assert_key_string (a, "name", "赵六");
    assert_key_string (a, "unit", "某乡党委");
    assert_key_string (a, "rank", "township");
    assert_key_int (o, "urges", 0);
    assert_true (json_is_false (json_object_get (o, "filed")));
    assert_key_string (o, "query_code", "7KQ4-M2XD-9PWA");
    assert_key_string (o, "leader", "李副部长");   /* a registration field: shown, read back */
    json_decref (o);

    /* accepted and filed: handle_due and filed change; supervisor when set */
    xf_err_t err = {0, ""};
    assert_int_equal (xf_case_accept (c, OFFICE, TODAY, true, &LIM, &err), XF_OK);
    assert_int_equal (xf_case_set (&c->supervisor, "411300"), XF_OK);
    c->urges = 2;
    o = xf_case_to_json (c, TODAY);
    assert_key_string (o, "status", "in_progress");
    assert_key_string (o, "handle_due", "2027-01-21");
    assert_key_string (o, "supervisor", "411300");
    assert_true (json_is_true (json_object_get (o, "filed")));
    assert_key_int (o, "urges", 2);
    json_decref (o);
    xf_case_destroy (&c);
}

static void test_to_json_anonymous_has_no_petitioner (void **state)
{
    (void) state;
    xf_err_t err = {0, ""};
    xf_case_t *c = read_ok ("{\"channel\":\"letter\",\"category\":\"accusation\","
                            "\"summary\":\"匿名举报\",\"anonymous\":true,"
                            "\"petitioner\":{\"name\":null}}", TODAY);
    assert_int_equal (xf_case_register (c, CASE_ID, OFFICE, TODAY, &LIM, &err), XF_OK);
    json_t *o = xf_case_to_json (c, TODAY);
    assert_true (json_is_true (json_object_get (o, "anonymous")));
    assert_null (json_object_get (o, "petitioner"));
    assert_null (json_object_get (o, "accused"));   /* none given */
    assert_key_null (o, "subject");
    json_decref (o);
    xf_case_destroy (&c);
}

static void test_to_json_dynamic_overdue (void **state)
{
    (void) state;
    xf_case_t *c = registered_full ();
    uint32_t flags = c->flags;
    json_t *o = xf_case_to_json (c, c->accept_due);
    assert_false (flags_have (o, "overdue"));
    json_decref (o);
    o = xf_case_to_json (c, c->accept_due + 1);
    assert_true (flags_have (o, "overdue"));
    assert_true (flags_have (o, "group"));
    json_decref (o);
    assert_int_equal (c->flags, flags);   /* computed, not stored */

    /* a new stage: accepted late, overdue only once the handling deadline passes */
    xf_err_t err = {0, ""};
    assert_int_equal (xf_case_accept (c, OFFICE, c->accept_due + 1, true, &LIM, &err), XF_OK);
    o = xf_case_to_json (c, c->accept_due + 2);
    assert_false (flags_have (o, "overdue"));
    assert_true (flags_have (o, "late"));
    json_decref (o);
    o = xf_case_to_json (c, c->handle_due + 1);
    assert_true (flags_have (o, "overdue"));
    json_decref (o);
    /* the stored flag shows even when `today` is before the deadline */
    c->flags |= XF__CASE_FLAG__FLAG_OVERDUE;
    o = xf_case_to_json (c, TODAY);
    assert_true (flags_have (o, "overdue"));
    json_decref (o);
    xf_case_destroy (&c);
}

/* ---------------------------------------------------------------- events */

static int64_t at_time (void)
{
    return xf_day_start (TODAY) + 9 * 3600 + 30 * 60;   /* 09:30 CST */
}

static json_t *event_json (Xf__CaseEvent *ev)
{
    ev->case_id = (char *) CASE_ID;
    ev->seq = 3;
    ev->at = at_time ();
    ev->office = (char *) OFFICE;
    ev->operator_uid = 1001;
    json_t *o = xf_event_to_json (ev);
    assert_non_null (o);
    assert_key_int (o, "seq", 3);
    assert_key_string (o, "at", "2026-11-22T09:30:00+08:00");
    assert_key_string (o, "office", OFFICE);
    assert_key_int (o, "operator_uid", 1001);
    return o;
}

static void test_event_accept (void **state)
{
    (void) state;
    Xf__CaseEvent ev = XF__CASE_EVENT__INIT;
    Xf__Acceptance body = XF__ACCEPTANCE__INIT;
    body.filed = true;
    body.handle_due = day (2027, 1, 21);
    ev.body_case = XF__CASE_EVENT__BODY_ACCEPTANCE;
    ev.acceptance = &body;
    assert_string_equal (xf_event_type (&ev), "accept");
    json_t *o = event_json (&ev);
    assert_key_string (o, "type", "accept");
    assert_true (json_is_true (json_object_get (o, "filed")));
    assert_key_string (o, "handle_due", "2027-01-21");
    json_decref (o);
}

static void test_event_extend (void **state)
{
    (void) state;
    Xf__CaseEvent ev = XF__CASE_EVENT__INIT;
    Xf__Extension body = XF__EXTENSION__INIT;
    body.days = 30;
    body.reason = (char *) "涉及多个部门，需进一步核查";
    body.handle_due = day (2027, 2, 20);
    ev.body_case = XF__CASE_EVENT__BODY_EXTENSION;
    ev.extension = &body;
    json_t *o = event_json (&ev);
    assert_key_string (o, "type", "extend");
    assert_key_int (o, "days", 30);
    assert_key_string (o, "reason", "涉及多个部门，需进一步核查");
    assert_key_string (o, "handle_due", "2027-02-20");
    json_decref (o);
}

static void test_event_close (void **state)
{
    (void) state;
    Xf__CaseEvent ev = XF__CASE_EVENT__INIT;
    Xf__Closing body = XF__CLOSING__INIT;
    body.reply = (char *) "已书面答复";
    body.on_time = false;
    ev.body_case = XF__CASE_EVENT__BODY_CLOSING;
    ev.closing = &body;
    json_t *o = event_json (&ev);
    assert_key_string (o, "type", "close");
    assert_key_string (o, "reply", "已书面答复");
    assert_true (json_is_false (json_object_get (o, "on_time")));
    json_decref (o);
    body.on_time = true;
    o = event_json (&ev);
    assert_true (json_is_true (json_object_get (o, "on_time")));
    json_decref (o);
}

static void test_event_overdue (void **state)
{
    (void) state;
    Xf__CaseEvent ev = XF__CASE_EVENT__INIT;
    Xf__Overdue body = XF__OVERDUE__INIT;
    body.due = day (2026, 12, 7);
    body.stage = (char *) "accept";
    ev.body_case = XF__CASE_EVENT__BODY_OVERDUE;
    ev.overdue = &body;
    json_t *o = event_json (&ev);
    assert_key_string (o, "type", "overdue");
    assert_key_string (o, "due", "2026-12-07");
    assert_key_string (o, "stage", "accept");
    json_decref (o);
}

static void test_event_other_types (void **state)
{
    (void) state;
    static const struct { int body; const char *name; } types[] = {
        {XF__CASE_EVENT__BODY_REGISTRATION, "register"}, {XF__CASE_EVENT__BODY_REJECTION, "reject"},
        {XF__CASE_EVENT__BODY_ESCALATION, "escalate"},   {XF__CASE_EVENT__BODY_ASSIGNMENT, "assign"},
        {XF__CASE_EVENT__BODY_TRANSFER, "transfer"},     {XF__CASE_EVENT__BODY_URGE, "urge"},
        {XF__CASE_EVENT__BODY_REPORT, "report"},         {XF__CASE_EVENT__BODY_SEND_BACK, "send_back"},
        {XF__CASE_EVENT__BODY_INSTRUCTION, "instruct"},  {XF__CASE_EVENT__BODY_REVIEW, "review"},
        {XF__CASE_EVENT__BODY__NOT_SET, "unknown"},
    };
    for (size_t i = 0; i < sizeof types / sizeof types[0]; i++) {
        Xf__CaseEvent ev = XF__CASE_EVENT__INIT;
        ev.body_case = (Xf__CaseEvent__BodyCase) types[i].body;
        assert_string_equal (xf_event_type (&ev), types[i].name);
    }

    Xf__CaseEvent ev = XF__CASE_EVENT__INIT;
    Xf__Registration reg = XF__REGISTRATION__INIT;
    ev.body_case = XF__CASE_EVENT__BODY_REGISTRATION;
    ev.registration = &reg;
    json_t *o = event_json (&ev);
    assert_key_string (o, "type", "register");
    json_decref (o);

    Xf__Rejection rej = XF__REJECTION__INIT;
    rej.reason = (char *) "不属于受理范围";
    ev.body_case = XF__CASE_EVENT__BODY_REJECTION;
    ev.rejection = &rej;
    o = event_json (&ev);
    assert_key_string (o, "type", "reject");
    assert_key_string (o, "reason", "不属于受理范围");
    json_decref (o);
}

int main (void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test (test_from_json_full),
        cmocka_unit_test (test_from_json_defaults),
        cmocka_unit_test (test_from_json_not_an_object),
        cmocka_unit_test (test_from_json_unknown_key),
        cmocka_unit_test (test_from_json_wrong_types),
        cmocka_unit_test (test_from_json_bad_date),
        cmocka_unit_test (test_from_json_bad_enum_lists_values),
        cmocka_unit_test (test_from_json_ignores_assigned_keys),
        cmocka_unit_test (test_case_show_fed_back),
        cmocka_unit_test (test_to_json_keys_and_types),
        cmocka_unit_test (test_to_json_anonymous_has_no_petitioner),
        cmocka_unit_test (test_to_json_dynamic_overdue),
        cmocka_unit_test (test_event_accept),
        cmocka_unit_test (test_event_extend),
        cmocka_unit_test (test_event_close),
        cmocka_unit_test (test_event_overdue),
        cmocka_unit_test (test_event_other_types),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
