/* test_xf_conf.c — the INI configuration: every field and default, and every kind of error
 * reported as "FILE:LINE: message". */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "xf_conf.h"
#include "xf_crypto.h"
#include "xf_test.h"

#define KEY_A "Yne@$w-vo<fVvi]a<NY6T1ed:M$fCG*[IaLV{hID"
#define KEY_B "rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf7"
#define KEY_C "JTKVSB%%)wK0E.X)V>+}o?pNmC{O&4W4b!Ni{Lh6"

/* Lines 1-4: the smallest valid file; tests append to it. */
#define NODE "[node]\n"                          \
             "code = 411324\n"                   \
             "name = 中共镇平县委组织部\n"       \
             "data_dir = /var/lib/xfsync/\n"

static const char FULL[] =
    "; xfsyncd.conf for 南阳市\n"                               /* 1 */
    "[node]\n"
    "code = 411300                 ; GB/T 2260\n"
    "name = 中共南阳市委组织部\n"
    "data_dir = /var/lib/xfsync\n"                              /* 5 */
    "control_socket = /run/xfsync/control.sock\n"
    "listen = tcp://0.0.0.0:7411   ; where children connect\n"
    "key_file = /etc/xfsync/node.key\n"
    "\n"
    "[parent]                      ; omit on the root\n"        /* 10 */
    "code = 410000\n"
    "endpoint = tcp://10.41.0.1:7411\n"
    "public_key = " KEY_A "\n"
    "\n"
    "[child 411324]\n"                                          /* 15 */
    "name = 镇平县委组织部\n"
    "public_key = " KEY_B "\n"
    "\n"
    "# a township node below the city\n"
    "[child 411302001]\n"                                       /* 20 */
    "public_key = " KEY_C "\n"
    "\n"
    "[deadlines]\n"
    "accept_days = 10\n"
    "handle_days = 90\n"                                        /* 25 */
    "max_extension_days = 0\n"
    "urge_before_days = 3\n"
    "urge_every_days = 2\n"
    "\n"
    "[report]\n"                                                /* 30 */
    "required_items =  letter , evidence,review_opinion \n"
    "\n"
    "[debug]\n"
    "clock_control = yes\n";

static xf_conf_t *parse_ok (const char *text)
{
    xf_err_t err = { 0, "" };
    xf_conf_t *conf = xf_conf_parse (text, "t.conf", &err);
    if (!conf)
        fail_msg ("unexpected errors:\n%s", err.msg);
    return conf;
}

/* Parses text, which must fail with XF_ECONFIG; returns the message in err. */
static const char *parse_bad (const char *text, xf_err_t *err)
{
    xf_conf_t *conf = xf_conf_parse (text, "t.conf", err);
    assert_null (conf);
    assert_int_equal (err->code, XF_ECONFIG);
    return err->msg;
}

/* True when one line of msg starts with prefix and contains phrase. */
static bool has_error (const char *msg, const char *prefix, const char *phrase)
{
    for (const char *l = msg; l && *l; l = strchr (l, '\n') ? strchr (l, '\n') + 1 : NULL) {
        size_t len = strcspn (l, "\n");
        char line[600];
        snprintf (line, sizeof line, "%.*s", (int) len, l);
        if (strncmp (line, prefix, strlen (prefix)) == 0 && strstr (line, phrase))
            return true;
    }
    return false;
}

#define assert_error(msg, prefix, phrase)                                         \
    do {                                                                          \
        if (!has_error ((msg), (prefix), (phrase)))                               \
            fail_msg ("no \"%s...%s\" in:\n%s", (prefix), (phrase), (msg));       \
    } while (0)

static size_t count_lines (const char *msg)
{
    size_t n = *msg != '\0';
    for (; *msg; msg++)
        n += *msg == '\n';
    return n;
}

static void test_full_config (void **state)
{
    (void) state;
    xf_conf_t *c = parse_ok (FULL);
    assert_string_equal (c->code, "411300");
    assert_string_equal (c->name, "中共南阳市委组织部");
    assert_string_equal (c->data_dir, "/var/lib/xfsync");
    assert_string_equal (c->control_socket, "/run/xfsync/control.sock");
    assert_string_equal (c->listen, "tcp://0.0.0.0:7411");
    assert_string_equal (c->key_file, "/etc/xfsync/node.key");
    assert_true (c->has_parent);
    assert_string_equal (c->parent_code, "410000");
    assert_string_equal (c->parent_endpoint, "tcp://10.41.0.1:7411");
    assert_string_equal (c->parent_public_key, KEY_A);
    assert_int_equal (c->n_children, 2);
    assert_string_equal (c->children[0].code, "411324");
    assert_string_equal (c->children[0].name, "镇平县委组织部");
    assert_string_equal (c->children[0].public_key, KEY_B);
    assert_int_equal (c->children[0].line, 15);
    assert_string_equal (c->children[1].code, "411302001");
    assert_null (c->children[1].name);
    assert_string_equal (c->children[1].public_key, KEY_C);
    assert_int_equal (c->children[1].line, 20);
    assert_int_equal (c->accept_days, 10);
    assert_int_equal (c->handle_days, 90);
    assert_int_equal (c->max_extension_days, 0);
    assert_int_equal (c->urge_before_days, 3);
    assert_int_equal (c->urge_every_days, 2);
    assert_int_equal (c->n_required_items, 3);
    assert_string_equal (c->required_items[0], "letter");
    assert_string_equal (c->required_items[1], "evidence");
    assert_string_equal (c->required_items[2], "review_opinion");
    assert_true (c->clock_control);
    assert_string_equal (c->path, "t.conf");
    assert_ptr_equal (xf_conf_child (c, "411324"), &c->children[0]);
    assert_ptr_equal (xf_conf_child (c, "411302001"), &c->children[1]);
    assert_null (xf_conf_child (c, "411300"));
    assert_null (xf_conf_child (c, NULL));
    xf_conf_destroy (&c);
    assert_null (c);
}

static void test_defaults_when_omitted (void **state)
{
    (void) state;
    xf_conf_t *c = parse_ok (NODE);
    assert_string_equal (c->code, "411324");
    assert_string_equal (c->name, "中共镇平县委组织部");
    assert_string_equal (c->control_socket, "/var/lib/xfsync/control.sock");
    assert_string_equal (c->key_file, "/var/lib/xfsync/node.key");
    assert_null (c->listen);
    assert_false (c->has_parent);
    assert_null (c->parent_endpoint);
    assert_int_equal (c->n_children, 0);
    assert_int_equal (c->accept_days, 15);
    assert_int_equal (c->handle_days, 60);
    assert_int_equal (c->max_extension_days, 30);
    assert_int_equal (c->urge_before_days, 7);
    assert_int_equal (c->urge_every_days, 7);
    assert_int_equal (c->n_required_items, 7);
    assert_string_equal (c->required_items[0], "investigation");
    assert_string_equal (c->required_items[6], "review_opinion");
    assert_false (c->clock_control);
    xf_conf_destroy (&c);
}

static void test_new_defaults (void **state)
{
    (void) state;
    xf_conf_t *c = xf_conf_new_defaults ();
    assert_non_null (c);
    assert_string_equal (c->code, "");
    assert_null (c->name);
    assert_null (c->data_dir);
    assert_null (c->control_socket);
    assert_null (c->path);
    assert_int_equal (c->accept_days, 15);
    assert_int_equal (c->handle_days, 60);
    assert_int_equal (c->max_extension_days, 30);
    assert_int_equal (c->urge_before_days, 7);
    assert_int_equal (c->urge_every_days, 7);
    static const char *const items[] = { "investigation", "instruction", "letter", "original",
                                         "evidence", "petitioner_opinion", "review_opinion" };
    assert_int_equal (c->n_required_items, 7);
    for (size_t i = 0; i < 7; i++)
        assert_string_equal (c->required_items[i], items[i]);
    assert_false (c->clock_control);
    assert_false (c->has_parent);
    assert_int_equal (c->reconcile_seconds, 600);
    xf_conf_destroy (&c);
    xf_conf_destroy (&c);           /* NULL-safe, twice over */
    xf_conf_destroy (NULL);
}

static void test_code_valid (void **state)
{
    (void) state;
    assert_true (xf_conf_code_valid ("411324"));
    assert_true (xf_conf_code_valid ("411324001"));
    assert_true (xf_conf_code_valid ("411324001001"));
    assert_true (xf_conf_code_valid ("000001"));
    assert_false (xf_conf_code_valid ("000000"));
    assert_false (xf_conf_code_valid ("000000000000"));
    assert_false (xf_conf_code_valid ("41132"));
    assert_false (xf_conf_code_valid ("4113240"));
    assert_false (xf_conf_code_valid ("4113240011"));
    assert_false (xf_conf_code_valid ("4113240010010"));
    assert_false (xf_conf_code_valid ("41132a"));
    assert_false (xf_conf_code_valid (" 411324"));
    assert_false (xf_conf_code_valid ("411324 "));
    assert_false (xf_conf_code_valid ("-41132"));
    assert_false (xf_conf_code_valid ("４１１３２４"));   /* full-width digits */
    assert_false (xf_conf_code_valid (""));
    assert_false (xf_conf_code_valid (NULL));
}

static void test_unknown_section (void **state)
{
    (void) state;
    xf_err_t err = { 0, "" };
    const char *msg = parse_bad (NODE "[foo]\nbar = 1\n[nodes]\n", &err);
    assert_error (msg, "t.conf:5: ", "unknown section [foo]");
    assert_error (msg, "t.conf:7: ", "unknown section [nodes]");
    assert_null (strstr (msg, "bar"));   /* keys of an unknown section are not reported again */
    assert_int_equal (count_lines (msg), 2);
}

static void test_unknown_key (void **state)
{
    (void) state;
    xf_err_t err = { 0, "" };
    const char *msg = parse_bad (NODE "lisen = tcp://*:7411\n", &err);
    assert_string_equal (msg, "t.conf:5: unknown key \"lisen\" in [node]");
    msg = parse_bad (NODE "[child 411324001]\npublic_key = " KEY_A "\nendpoint = x\n", &err);
    assert_error (msg, "t.conf:7: ", "unknown key \"endpoint\" in [child 411324001]");
}

static void test_duplicate_key (void **state)
{
    (void) state;
    xf_err_t err = { 0, "" };
    const char *msg = parse_bad (NODE "\nname = 另一个名字\n", &err);
    assert_string_equal (msg, "t.conf:6: duplicate key \"name\" in [node] (first set on line 3)");
}

static void test_bad_values (void **state)
{
    (void) state;
    xf_err_t err = { 0, "" };
    const char *msg = parse_bad (NODE "[deadlines]\n"
                                      "accept_days = abc\n"           /* 6 */
                                      "handle_days = 0\n"
                                      "max_extension_days = 366\n"
                                      "urge_before_days = -1\n"
                                      "urge_every_days = 7 days\n"    /* 10 */
                                      "[debug]\n"
                                      "clock_control = maybe\n", &err);
    assert_error (msg, "t.conf:6: ",
                  "accept_days must be a whole number from 1 to 365, not \"abc\"");
    assert_error (msg, "t.conf:7: ", "handle_days must be a whole number from 1 to 365, not \"0\"");
    assert_error (msg, "t.conf:8: ", "max_extension_days must be a whole number from 0 to 365");
    assert_error (msg, "t.conf:9: ", "urge_before_days must be a whole number from 1 to 365");
    assert_error (msg, "t.conf:10: ", "not \"7 days\"");
    assert_error (msg, "t.conf:12: ", "clock_control must be true or false");
    assert_int_equal (count_lines (msg), 6);
    msg = parse_bad (NODE "[links]\nreconcile_seconds = 0\n", &err);
    assert_error (msg, "t.conf:6: ", "reconcile_seconds must be a whole number from 1 to 86400");
}

static void test_bad_node_values (void **state)
{
    (void) state;
    xf_err_t err = { 0, "" };
    const char *msg = parse_bad ("[node]\ncode = 41132\nname =\ndata_dir = /d\n", &err);
    assert_error (msg, "t.conf:2: ", "code must be an office code of 6, 9 or 12 digits");
    assert_error (msg, "t.conf:2: ", "not \"41132\"");
    assert_error (msg, "t.conf:3: ", "name must not be empty");
    assert_int_equal (count_lines (msg), 2);   /* no "code is required" on top */
    msg = parse_bad ("[node]\ncode = 000000\n", &err);
    assert_error (msg, "t.conf:2: ", "code must be an office code");
    assert_error (msg, "t.conf:1: ", "name is required in [node]");
    assert_error (msg, "t.conf:1: ", "data_dir is required in [node]");
}

static void test_missing_node (void **state)
{
    (void) state;
    xf_err_t err = { 0, "" };
    const char *msg = parse_bad ("; nothing here\n", &err);
    assert_string_equal (msg, "t.conf: no [node] section (code, name and data_dir are required)");
    msg = parse_bad ("", &err);
    assert_error (msg, "t.conf: ", "no [node] section");
}

static void test_syntax_errors (void **state)
{
    (void) state;
    xf_err_t err = { 0, "" };
    const char *msg = parse_bad (NODE "listen tcp://*:7411\n"   /* 5 */
                                      "name: 冒号\n"
                                      "= 411324\n"
                                      "[deadlines\n"            /* 8 */
                                      "accept_days = 3\n"
                                      "[report] x\n"            /* 10 */
                                      "code = 411300\n", &err);
    assert_error (msg, "t.conf:5: ", "expected \"key = value\" or \"[section]\"");
    assert_error (msg, "t.conf:6: ", "expected \"key = value\" or \"[section]\"");
    assert_error (msg, "t.conf:7: ", "expected \"key = value\" or \"[section]\"");
    assert_error (msg, "t.conf:8: ", "section header has no closing \"]\"");
    assert_error (msg, "t.conf:10: ", "expected \"key = value\" or \"[section]\"");
    /* keys under a broken header are skipped, not blamed on [node] */
    assert_int_equal (count_lines (msg), 5);
}

static void test_key_before_section (void **state)
{
    (void) state;
    xf_err_t err = { 0, "" };
    const char *msg = parse_bad ("code = 411324\n" NODE, &err);
    assert_string_equal (msg, "t.conf:1: key \"code\" comes before any [section]");
}

static void test_duplicate_section (void **state)
{
    (void) state;
    xf_err_t err = { 0, "" };
    const char *msg = parse_bad (NODE "[debug]\n[debug]\nclock_control = on\n", &err);
    assert_string_equal (msg, "t.conf:6: duplicate section [debug] (first on line 5)");
}

static void test_parent_errors (void **state)
{
    (void) state;
    xf_err_t err = { 0, "" };
    const char *msg = parse_bad (NODE "[parent]\n"                     /* 5 */
                                      "code = 411324\n"
                                      "public_key = " KEY_A "x\n", &err);
    assert_error (msg, "t.conf:6: ", "[parent] code 411324 is this node's own code");
    assert_error (msg, "t.conf:7: ", "public_key must be a CURVE public key in Z85");
    assert_error (msg, "t.conf:5: ", "endpoint is required in [parent]");
    assert_int_equal (count_lines (msg), 3);
    msg = parse_bad (NODE "[parent]\n", &err);
    assert_error (msg, "t.conf:5: ", "code is required in [parent]");
    assert_error (msg, "t.conf:5: ", "endpoint is required in [parent]");
    assert_error (msg, "t.conf:5: ", "public_key is required in [parent]");
    /* Z85 characters, but a group of five decodes past 2^32 */
    msg = parse_bad (NODE "[parent]\ncode = 411300\nendpoint = tcp://p:7411\n"
                          "public_key = ########################################\n", &err);
    assert_error (msg, "t.conf:8: ", "public_key must be a CURVE public key");
    msg = parse_bad (NODE "[parent]\ncode = 411300\nendpoint = tcp://p:7411\n"
                          "public_key = Yne@$w-vo<fVvi]a<NY6T1ed:M$fCG*[IaLV{hI\"\n", &err);
    assert_error (msg, "t.conf:8: ", "public_key must be a CURVE public key");
}

static void test_child_errors (void **state)
{
    (void) state;
    xf_err_t err = { 0, "" };
    const char *msg = parse_bad (NODE "[parent]\n"                        /* 5 */
                                      "code = 411300\n"
                                      "endpoint = tcp://10.0.0.1:7411\n"
                                      "public_key = " KEY_A "\n"
                                      "[child 411325]\n"                  /* 9 */
                                      "name = 内乡县\n"
                                      "[child 411325]\n"                  /* 11 */
                                      "public_key = " KEY_B "\n"
                                      "[child 411324]\n"                  /* 13 */
                                      "public_key = " KEY_B "\n"
                                      "[child 411300]\n"                  /* 15 */
                                      "public_key = " KEY_C "\n"
                                      "[child 41132]\n"                   /* 17 */
                                      "[child]\n", &err);
    assert_error (msg, "t.conf:1: ", "listen is required in [node]");
    assert_error (msg, "t.conf:9: ", "public_key is required in [child 411325]");
    assert_error (msg, "t.conf:11: ", "duplicate section [child 411325] (first on line 9)");
    assert_error (msg, "t.conf:13: ", "[child 411324] is this node's own code");
    assert_error (msg, "t.conf:15: ", "[child 411300] is this node's [parent]");
    assert_error (msg, "t.conf:17: ", "[child 41132]: an office code is 6, 9 or 12 digits");
    assert_error (msg, "t.conf:18: ", "[child] needs the child's office code");
    assert_int_equal (count_lines (msg), 7);
    /* each error on its own line, in line order */
    assert_true (strstr (msg, "t.conf:9:") < strstr (msg, "t.conf:11:"));
    assert_true (strstr (msg, "t.conf:1:") == msg);
}

static void test_required_items (void **state)
{
    (void) state;
    xf_err_t err = { 0, "" };
    xf_conf_t *c = parse_ok (NODE "[report]\nrequired_items = 调查报告 ,letter\n");
    assert_int_equal (c->n_required_items, 2);
    assert_string_equal (c->required_items[0], "调查报告");
    assert_string_equal (c->required_items[1], "letter");
    xf_conf_destroy (&c);
    const char *msg = parse_bad (NODE "[report]\nrequired_items = letter,,evidence\n", &err);
    assert_error (msg, "t.conf:6: ", "required_items must be a comma-separated list");
    msg = parse_bad (NODE "[report]\nrequired_items = letter, evidence ,letter\n", &err);
    assert_error (msg, "t.conf:6: ", "required_items lists \"letter\" twice");
    msg = parse_bad (NODE "[report]\nrequired_items = letter,\n", &err);
    assert_error (msg, "t.conf:6: ", "with none empty");
    msg = parse_bad (NODE "[report]\nrequired_items =\n", &err);
    assert_error (msg, "t.conf:6: ", "with none empty");
}

static void test_booleans (void **state)
{
    (void) state;
    static const struct { const char *word; bool value; } cases[] = {
        { "true", true }, { "false", false }, { "yes", true }, { "no", false },
        { "1", true }, { "0", false }, { "on", true }, { "off", false }, { "True", true },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char text[256];
        snprintf (text, sizeof text, NODE "[debug]\nclock_control = %s\n", cases[i].word);
        xf_conf_t *c = parse_ok (text);
        assert_int_equal (c->clock_control, cases[i].value);
        xf_conf_destroy (&c);
    }
}

static void test_several_errors (void **state)
{
    (void) state;
    xf_err_t err = { 0, "" };
    const char *msg = parse_bad ("[node]\n"
                                 "code = 411324\n"
                                 "lisen = tcp://*:7411\n"        /* 3 */
                                 "[deadline]\n"                  /* 4 */
                                 "[deadlines]\n"
                                 "accept_days = 400\n"           /* 6 */
                                 "oops\n", &err);                /* 7 */
    assert_string_equal (msg,
        "t.conf:1: name is required in [node]\n"
        "t.conf:1: data_dir is required in [node]\n"
        "t.conf:3: unknown key \"lisen\" in [node]\n"
        "t.conf:4: unknown section [deadline]\n"
        "t.conf:6: accept_days must be a whole number from 1 to 365, not \"400\"\n"
        "t.conf:7: expected \"key = value\" or \"[section]\"");
}

static void test_too_many_errors (void **state)
{
    (void) state;
    xf_err_t err = { 0, "" };
    char text[4096] = NODE;
    for (int i = 0; i < 60; i++)
        snprintf (text + strlen (text), sizeof text - strlen (text), "bogus_%d = 1\n", i);
    const char *msg = parse_bad (text, &err);
    const char *first = "t.conf:5: unknown key \"bogus_0\" in [node]\n";
    assert_true (strncmp (msg, first, strlen (first)) == 0);
    assert_true (strlen (msg) < sizeof err.msg);
    const char *tail = strrchr (msg, '\n');
    assert_non_null (tail);
    assert_true (strncmp (tail, "\n… and ", strlen ("\n… and ")) == 0);
    size_t shown = count_lines (msg) - 1, more = strtoul (tail + strlen ("\n… and "), NULL, 10);
    assert_int_equal (shown + more, 60);
    assert_non_null (strstr (tail, " more errors"));
}

static void test_long_line (void **state)
{
    (void) state;
    xf_err_t err = { 0, "" };
    char name[301] = "", text[1024];
    for (int i = 0; i < 100; i++)
        strcat (name, "镇");                     /* 300 bytes of UTF-8 */
    snprintf (text, sizeof text, "[node]\ncode = 411324\nname = %s code = 999\n"
              "data_dir = /d\n", name);
    const char *msg = parse_bad (text, &err);
    /* reported once, with its line; neither half of it was parsed as a line of its own */
    assert_string_equal (msg, "t.conf:1: name is required in [node]\n"
                              "t.conf:3: line is 318 bytes long; the limit is 196");
    assert_null (strstr (msg, "999"));
}

static void test_line_limit_exact (void **state)
{
    (void) state;
    xf_err_t err = { 0, "" };
    char text[1024], value[200];
    /* "name = " is 7 bytes: a 189-byte value makes a line of exactly 196 */
    memset (value, 'x', 189);
    value[189] = '\0';
    snprintf (text, sizeof text, "[node]\ncode = 411324\n  name = %s\ndata_dir = /d\n", value);
    /* two spaces of indentation count: 198 bytes */
    const char *msg = parse_bad (text, &err);
    assert_string_equal (msg, "t.conf:1: name is required in [node]\n"
                              "t.conf:3: line is 198 bytes long; the limit is 196");
    snprintf (text, sizeof text, "[node]\ncode = 411324\nname = %s\ndata_dir = /d\n", value);
    xf_conf_t *c = parse_ok (text);
    assert_int_equal (strlen (c->name), 189);
    xf_conf_destroy (&c);
    value[188] = ' ';                           /* a trailing space still counts */
    snprintf (text, sizeof text, "[node]\ncode = 411324\nname = %s \ndata_dir = /d\n", value);
    msg = parse_bad (text, &err);
    assert_error (msg, "t.conf:3: ", "line is 197 bytes long; the limit is 196");
}

static void test_indented_lines (void **state)
{
    (void) state;
    /* with inih's multi-line mode an indented line would continue "code" */
    xf_conf_t *c = parse_ok ("  [node]\n"
                             "code = 411324\n"
                             "    name = 镇平县委组织部\n"
                             "\tdata_dir = /srv/xf\n"
                             "   ; an indented comment\n"
                             "   \n");
    assert_string_equal (c->code, "411324");
    assert_string_equal (c->name, "镇平县委组织部");
    assert_string_equal (c->data_dir, "/srv/xf");
    assert_string_equal (c->control_socket, "/srv/xf/control.sock");
    xf_conf_destroy (&c);
    xf_err_t err = { 0, "" };
    const char *msg = parse_bad (NODE "  nmae = x\n", &err);
    assert_string_equal (msg, "t.conf:5: unknown key \"nmae\" in [node]");
}

static void test_crlf (void **state)
{
    (void) state;
    xf_conf_t *c = parse_ok ("\xEF\xBB\xBF[node]\r\n"
                             "code = 411324\r\n"
                             "name = 镇平县委组织部 ; 注释\r\n"
                             "data_dir = /srv/xf\r\n"
                             "\r\n"
                             "[debug]\r\n"
                             "clock_control = on");      /* no newline at the end */
    assert_string_equal (c->code, "411324");
    assert_string_equal (c->name, "镇平县委组织部");
    assert_string_equal (c->data_dir, "/srv/xf");
    assert_true (c->clock_control);
    xf_conf_destroy (&c);
    xf_err_t err = { 0, "" };
    const char *msg = parse_bad ("[node]\r\ncode = 411324\r\n\r\nname = 镇平\r\n"
                                 "data_dir = /srv/xf\r\nlisen = x\r\n", &err);
    assert_string_equal (msg, "t.conf:6: unknown key \"lisen\" in [node]");
}

static void test_not_utf8 (void **state)
{
    (void) state;
    xf_err_t err = { 0, "" };
    /* GBK bytes for 镇平 */
    const char *msg = parse_bad ("[node]\ncode = 411324\nname = \xd5\xf2\xc6\xbd\n"
                                 "data_dir = /d\n", &err);
    assert_error (msg, "t.conf:3: ", "line is not valid UTF-8 text");
}

static void test_long_value_shown_short (void **state)
{
    (void) state;
    xf_err_t err = { 0, "" };
    char text[512] = NODE "[deadlines]\naccept_days = ";
    for (int i = 0; i < 60; i++)
        strcat (text, "天");
    strcat (text, "\n");
    const char *msg = parse_bad (text, &err);
    assert_error (msg, "t.conf:6: ", "accept_days must be a whole number");
    assert_non_null (strstr (msg, "…\""));
    assert_true (strlen (msg) < 160);
}

static const char *tmp_dir (void)
{
    const char *dir = xf_test_tmp_base ();
    if (!dir)
        fail_msg ("no temp directory");
    return dir;
}

static void test_load_file (void **state)
{
    (void) state;
    char path[4096];
    snprintf (path, sizeof path, "%s/test_xf_conf.XXXXXX", tmp_dir ());
    int fd = mkstemp (path);
    if (fd < 0)
        fail_msg ("mkstemp %s: %s", path, strerror (errno));
    FILE *fp = fdopen (fd, "w");
    assert_non_null (fp);
    fputs (FULL, fp);
    fputs ("[parent]\n", fp);                 /* line 35 */
    fclose (fp);

    xf_err_t err = { 0, "" };
    assert_null (xf_conf_load (path, &err));
    assert_int_equal (err.code, XF_ECONFIG);
    char prefix[4200];
    snprintf (prefix, sizeof prefix, "%s:35: ", path);
    assert_error (err.msg, prefix, "duplicate section [parent] (first on line 10)");

    fp = fopen (path, "w");
    assert_non_null (fp);
    fputs (FULL, fp);
    fclose (fp);
    xf_conf_t *c = xf_conf_load (path, &err);
    if (!c)
        fail_msg ("%s", err.msg);
    assert_string_equal (c->path, path);
    assert_string_equal (c->name, "中共南阳市委组织部");
    assert_int_equal (c->n_children, 2);
    xf_conf_destroy (&c);
    unlink (path);
}

/* The example shipped in config/ is a file the daemon starts with. */
static void test_shipped_example (void **state)
{
    (void) state;
    xf_err_t err = { 0, "" };
    xf_conf_t *c = xf_conf_load (XF_SOURCE_DIR "/config/411324-zhenping.conf", &err);
    if (!c)
        fail_msg ("%s", err.msg);
    assert_string_equal (c->code, "411324");
    assert_int_equal (c->reconcile_seconds, 600);
    xf_conf_destroy (&c);
}

/* Every example in config/ parses: the province, a city and two counties. */
static void test_every_example (void **state)
{
    (void) state;
    static const char *const names[] = {"410000-henan.conf", "411300-nanyang.conf",
                                         "411324-zhenping.conf", "411326-xichuan.conf"};
    static const char *const codes[] = {"410000", "411300", "411324", "411326"};
    for (size_t i = 0; i < sizeof names / sizeof *names; i++) {
        char path[512];
        xf_err_t err = { 0, "" };
        snprintf (path, sizeof path, "%s/config/%s", XF_SOURCE_DIR, names[i]);
        xf_conf_t *c = xf_conf_load (path, &err);
        if (!c)
            fail_msg ("%s: %s", names[i], err.msg);
        assert_string_equal (c->code, codes[i]);
        xf_conf_destroy (&c);
    }
}

static void test_missing_file (void **state)
{
    (void) state;
    xf_err_t err = { 0, "" };
    assert_null (xf_conf_load ("/nonexistent/xfsyncd.conf", &err));
    assert_int_equal (err.code, XF_ECONFIG);
    assert_string_equal (err.msg,
                         "/nonexistent/xfsyncd.conf: cannot open: No such file or directory");
    assert_null (xf_conf_load ("/nonexistent/xfsyncd.conf", NULL));   /* err is optional */
    assert_null (xf_conf_parse ("[nope]\n", "t.conf", NULL));
}

static void test_directory_is_read_error (void **state)
{
    (void) state;
    xf_err_t err = { 0, "" };
    assert_null (xf_conf_load (tmp_dir (), &err));
    assert_int_equal (err.code, XF_ECONFIG);
    assert_non_null (strstr (err.msg, "cannot read: Is a directory"));
}

/* [trust]: the keys of the parent and the children then come from the certificates. */
static void test_trust (void **state)
{
    (void) state;
    xf_conf_t *c = parse_ok (NODE "listen = tcp://127.0.0.1:7411\n"
                             "[parent]\ncode = 410000\nendpoint = tcp://p:7411\n"
                             "[child 411324001]\nname = 镇\ncertificate = /etc/xfsync/411324001.crt\n"
                             "[trust]\nanchor = /etc/xfsync/anchor.pem\nprofile = national\n");
    assert_true (c->has_trust);
    assert_string_equal (c->trust_anchor, "/etc/xfsync/anchor.pem");
    assert_int_equal (c->trust_profile, XF_PROFILE_NATIONAL);
    assert_non_null (strstr (c->trust_certificate, "/node.crt"));
    assert_non_null (strstr (c->trust_signing_key, "/sign.key"));
    assert_string_equal (c->parent_public_key, "");
    assert_string_equal (c->children[0].certificate, "/etc/xfsync/411324001.crt");
    xf_conf_destroy (&c);
    c = parse_ok (NODE);
    assert_false (c->has_trust);
    assert_null (c->trust_certificate);
    xf_conf_destroy (&c);
    xf_err_t err = { 0, "" };
    const char *msg = parse_bad (NODE "[trust]\nprofile = sm2\n"               /* 5 */
                                      "[parent]\ncode = 410000\nendpoint = tcp://p:7411\n", &err);
    assert_error (msg, "t.conf:5: ", "anchor is required in [trust]");
    assert_error (msg, "t.conf:6: ", "profile must be standard");
    assert_int_equal (count_lines (msg), 2);
    msg = parse_bad (NODE "listen = tcp://127.0.0.1:7411\n[child 411324001]\nname = x\n", &err);
    assert_error (msg, "t.conf:6: ", "public_key is required in [child 411324001] (or configure [trust]");
}

static void test_roles_and_recusal (void **state)
{
    (void) state;
    xf_conf_t *c = parse_ok (NODE "[roles]\nviewer = @xf-view\nclerk = alice, 1001\nadmin = root\n"
                             "[recusal]\ncases = 411324-2026-000001:alice\n");
    assert_true (c->has_roles);
    assert_string_equal (c->role_members[XF_ROLE_CLERK], "alice, 1001");
    assert_null (c->role_members[XF_ROLE_LEADER]);
    assert_string_equal (c->recusals, "411324-2026-000001:alice");
    xf_conf_destroy (&c);
    c = parse_ok (NODE);
    assert_false (c->has_roles);
    xf_conf_destroy (&c);
    xf_err_t err = { 0, "" };
    const char *msg = parse_bad (NODE "[roles]\nclerk = Alice Wang\nboss = bob\n"   /* 6, 7 */
                                      "[recusal]\ncases = 411324-2026-000001\n", &err);   /* 9 */
    assert_error (msg, "t.conf:6: ", "[roles] clerk: \"Alice Wang\" is not a user name, a uid or an @group");
    assert_error (msg, "t.conf:7: ", "unknown key \"boss\" in [roles]");
    assert_error (msg, "t.conf:9: ", "[recusal] cases: \"411324-2026-000001\" is not CASE_ID:OPERATOR");
    assert_int_equal (count_lines (msg), 3);
}

/* [metrics] listen: off by default; a numeric HOST:PORT; anything else named with its line. */
static void test_metrics_listen (void **state)
{
    (void) state;
    xf_conf_t *c = parse_ok (NODE);
    assert_null (c->metrics_listen);
    xf_conf_destroy (&c);
    c = parse_ok (NODE "[metrics]\nlisten = 127.0.0.1:9411\n");
    assert_string_equal (c->metrics_listen, "127.0.0.1:9411");
    xf_conf_destroy (&c);
    c = parse_ok (NODE "[metrics]\nlisten = [::1]:9411\n");
    assert_string_equal (c->metrics_listen, "[::1]:9411");
    xf_conf_destroy (&c);
    xf_err_t err = { 0, "" };
    const char *msg = parse_bad (NODE "[metrics]\nlisten = localhost:9411\n", &err);   /* 6 */
    assert_error (msg, "t.conf:6: ", "listen must be HOST:PORT, e.g. 127.0.0.1:9411, not "
                  "\"localhost:9411\": \"localhost\" is not a numeric IPv4 address");
    assert_int_equal (count_lines (msg), 1);
    err = (xf_err_t) { 0, "" };
    msg = parse_bad (NODE "[metrics]\nlisten = 127.0.0.1:99999\nport = 1\n", &err);
    assert_error (msg, "t.conf:6: ", "not \"127.0.0.1:99999\": the port is not a number from 1 to 65535");
    assert_error (msg, "t.conf:7: ", "unknown key \"port\" in [metrics]");
    assert_int_equal (count_lines (msg), 2);
}

int main (void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test (test_metrics_listen),
        cmocka_unit_test (test_roles_and_recusal),
        cmocka_unit_test (test_full_config),
        cmocka_unit_test (test_shipped_example),
        cmocka_unit_test (test_every_example),
        cmocka_unit_test (test_defaults_when_omitted),
        cmocka_unit_test (test_new_defaults),
        cmocka_unit_test (test_code_valid),
        cmocka_unit_test (test_unknown_section),
        cmocka_unit_test (test_unknown_key),
        cmocka_unit_test (test_duplicate_key),
        cmocka_unit_test (test_bad_values),
        cmocka_unit_test (test_bad_node_values),
        cmocka_unit_test (test_missing_node),
        cmocka_unit_test (test_syntax_errors),
        cmocka_unit_test (test_key_before_section),
        cmocka_unit_test (test_duplicate_section),
        cmocka_unit_test (test_parent_errors),
        cmocka_unit_test (test_child_errors),
        cmocka_unit_test (test_required_items),
        cmocka_unit_test (test_booleans),
        cmocka_unit_test (test_several_errors),
        cmocka_unit_test (test_too_many_errors),
        cmocka_unit_test (test_trust),
        cmocka_unit_test (test_long_line),
        cmocka_unit_test (test_line_limit_exact),
        cmocka_unit_test (test_indented_lines),
        cmocka_unit_test (test_crlf),
        cmocka_unit_test (test_not_utf8),
        cmocka_unit_test (test_long_value_shown_short),
        cmocka_unit_test (test_load_file),
        cmocka_unit_test (test_missing_file),
        cmocka_unit_test (test_directory_is_read_error),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
