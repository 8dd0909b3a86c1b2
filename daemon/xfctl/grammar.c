/* grammar.c — the table of every xfctl command, and the parser that reads argv against it.
 * Help and usage text come from the same table (help.c), so what is accepted, what is
 * documented and what a usage error prints are one thing. */
#include "grammar.h"

#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include "xf_conf.h"
#include "xf_time.h"
#include "xfctl.h"

#define ENUM_CHANNEL  "letter|visit|phone|email|online"
#define ENUM_CATEGORY "accusation|appeal|inquiry"
#define ENUM_RANK     "province|prefecture|county|township|general|village"
#define ENUM_STATUS   "registered|rejected|in_progress|reported|closed"

#define ARG_ID {"ID", "id", A_TEXT, A_REQUIRED | A_POSITIONAL, "ID", 0, 0, \
                "the case id, e.g. 411324-2026-000001"}
#define ARG_END {NULL, NULL, A_TEXT, 0, NULL, 0, 0, NULL}
#define TEXT(opt, key, req, help) {opt, key, A_TEXT, req, "TEXT", 0, 0, help}
#define TO_CODE(req, help) {"--to", "to", A_CODE, req, "CODE", 0, 0, help}

static const xf_arg_t a_none[] = {ARG_END};
static const xf_arg_t a_id[] = {ARG_ID, ARG_END};

static const xf_arg_t a_backup[] = {
    {"FILE", "file", A_PATH, A_REQUIRED | A_POSITIONAL | A_LOCAL, "FILE", 0, 0,
     "where the copy goes (written as FILE.part, renamed when complete)"},
    ARG_END};

static const xf_arg_t a_keygen[] = {
    {"DIR", "dir", A_PATH, A_REQUIRED | A_POSITIONAL | A_LOCAL, "DIR", 0, 0,
     "an existing directory, e.g. /etc/xfsync"},
    ARG_END};

static const xf_arg_t a_register[] = {
    {"--channel", "channel", A_ENUM, A_REQUIRED, ENUM_CHANNEL, 0, 0,
     "how it came in: 来信, 来访, 电话, 电子邮件, 网上"},
    {"--category", "category", A_ENUM, A_REQUIRED, ENUM_CATEGORY, 0, 0,
     "揭发反映类, 申诉求决类, 询问建议类"},
    TEXT ("--summary", "summary", A_REQUIRED, "what the petition is about (信访事项摘要)"),
    {"--received", "received", A_DATE, 0, "YYYY-MM-DD", 0, 0,
     "the day it was received (default: today on the node clock)"},
    {"--name", "petitioner.name", A_TEXT, 0, "N", 0, 0, "the petitioner's name"},
    {"--id-number", "petitioner.id_number", A_TEXT, 0, "X", 0, 0,
     "the petitioner's resident ID number (身份证号)"},
    {"--phone", "petitioner.phone", A_TEXT, 0, "P", 0, 0, "the petitioner's phone number"},
    {"--address", "petitioner.address", A_TEXT, 0, "A", 0, 0, "the petitioner's address"},
    {"--anonymous", "anonymous", A_FLAG, 0, NULL, 0, 0, "an anonymous petition (匿名)"},
    {"--headcount", "headcount", A_INT, 0, "N", 1, 100000,
     "how many people petitioned together; 5 or more is a group petition (集体访)"},
    {"--representatives", "representatives", A_INT, 0, "N", 1, 100000,
     "how many representatives a group petition chose (at most 5)"},
    {"--subject", "subject", A_INT, 0, "1..8", 1, 8,
     "the area of the 受理范围 it falls under, 1 to 8"},
    {"--accused-name", "accused.name", A_TEXT, 0, "N", 0, 0, "the name of the person accused"},
    {"--accused-unit", "accused.unit", A_TEXT, 0, "U", 0, 0, "the accused's work unit"},
    {"--accused-rank", "accused.rank", A_ENUM, 0, ENUM_RANK, 0, 0,
     "the accused's rank: 省部级, 厅局级, 县处级, 乡科级, 一般干部, 村干部"},
    {"--skip-level", "skip_level", A_FLAG, 0, NULL, 0, 0,
     "the petition skipped a level (越级访)"},
    {"--new-matter", "new_matter", A_FLAG, 0, NULL, 0, 0,
     "a new matter of a petitioner whose earlier matter was made final (终结)"},
    ARG_END};

static const xf_arg_t a_import[] = {
    {"FILE.jsonl", "file", A_PATH, A_REQUIRED | A_POSITIONAL | A_LOCAL, "FILE.jsonl", 0, 0,
     "one case object per line (\"-\" reads standard input)"},
    ARG_END};

static const xf_arg_t a_list[] = {
    {"--status", "status", A_ENUM, 0, ENUM_STATUS, 0, 0, "only cases in this state"},
    {"--owner", "owner", A_CODE, 0, "CODE", 0, 0, "only cases this office owns"},
    {"--overdue", "overdue", A_FLAG, 0, NULL, 0, 0, "only overdue cases"},
    {"--limit", "limit", A_INT, 0, "N", 1, 1000000, "at most N cases (default 100)"},
    ARG_END};

static const xf_arg_t a_accept[] = {
    ARG_ID,
    {"--file", "file", A_FLAG, 0, NULL, 0, 0, "also file it as a formal case (立案)"},
    ARG_END};

static const xf_arg_t a_reject[] = {
    ARG_ID, TEXT ("--reason", "reason", A_REQUIRED, "why it is not accepted"), ARG_END};
static const xf_arg_t a_escalate[] = {
    ARG_ID, TO_CODE (0, "the office above (default: the parent)"),
    TEXT ("--note", "note", A_REQUIRED, "a note for the receiving office"), ARG_END};
static const xf_arg_t a_assign[] = {
    ARG_ID, TO_CODE (A_REQUIRED, "the office that must handle it and report"),
    TEXT ("--note", "note", A_REQUIRED, "instructions for the receiving office"), ARG_END};
static const xf_arg_t a_transfer[] = {
    ARG_ID, TO_CODE (A_REQUIRED, "the office that takes it over"),
    TEXT ("--note", "note", A_REQUIRED, "a note for the receiving office"), ARG_END};
static const xf_arg_t a_urge[] = {
    ARG_ID, TEXT ("--note", "note", A_REQUIRED, "what the owner is pressed for"), ARG_END};
static const xf_arg_t a_extend[] = {
    ARG_ID,
    {"--days", "days", A_INT, A_REQUIRED, "N", 1, 3650, "calendar days to add to the deadline"},
    TEXT ("--reason", "reason", A_REQUIRED, "why more time is needed (told to the petitioner)"),
    ARG_END};
static const xf_arg_t a_report[] = {
    ARG_ID, TEXT ("--result", "result", A_REQUIRED, "the finding of the investigation"),
    {"--items", "items", A_LIST, A_REQUIRED, "a,b,…", 0, 0,
     "the materials enclosed, e.g. investigation,letter,evidence"},
    ARG_END};
static const xf_arg_t a_send_back[] = {
    ARG_ID, TEXT ("--reason", "reason", A_REQUIRED, "what must be redone"), ARG_END};
static const xf_arg_t a_close[] = {
    ARG_ID, TEXT ("--reply", "reply", A_REQUIRED, "the answer given to the petitioner (答复)"),
    ARG_END};
static const xf_arg_t a_review[] = {
    ARG_ID, TEXT ("--reason", "reason", A_REQUIRED, "why the petitioner asks for review"),
    ARG_END};
static const xf_arg_t a_lookup[] = {
    {"QUERY_CODE", "query_code", A_TEXT, A_REQUIRED | A_POSITIONAL, "QUERY_CODE", 0, 0,
     "the petitioner's 查询码, e.g. 7KQ4-M2XD-9PWA"},
    ARG_END};

static const xf_arg_t a_score[] = {
    {"--period", "period", A_PERIOD, 0, "P", 0, 0,
     "2026, 2026Q4, 2026-11 or 2012-01-01..2013-12-31 (default: this quarter)"},
    {"--format", "format", A_ENUM, A_LOCAL, "table|json", 0, 0,
     "output format (default: table, or json with --json)"},
    {"--out", "out", A_PATH, A_LOCAL, "FILE", 0, 0, "write the output to FILE, not stdout"},
    ARG_END};

static const xf_arg_t a_stats[] = {
    {"--period", "period", A_PERIOD, 0, "P", 0, 0,
     "2026, 2026Q4, 2026-11 or 2012-01-01..2013-12-31 (default: this quarter)"},
    {"--consolidated", "consolidated", A_FLAG, A_LOCAL, NULL, 0, 0,
     "the whole subtree: every office below answers, or is filled from its monthly snapshot, or is named missing"},
    {"--format", "format", A_ENUM, A_LOCAL, "table|json|csv|html", 0, 0,
     "output format (default: table, or json with --json); html is one self-contained page with charts"},
    {"--out", "out", A_PATH, A_LOCAL, "FILE", 0, 0, "write the output to FILE, not stdout"},
    ARG_END};

#define CERT_DIR {"DIR", "dir", A_PATH, A_REQUIRED | A_POSITIONAL | A_LOCAL, "DIR", 0, 0, \
                  "where node.key is (xfctl keygen); sign.key is made there if absent"}
#define CERT_OFFICE                                                                         \
    {"--code", "code", A_CODE, A_REQUIRED | A_LOCAL, "CODE", 0, 0, "this office's code"},  \
    {"--name", "name", A_TEXT, A_REQUIRED | A_LOCAL, "NAME", 0, 0, "this office's name"},  \
    {"--profile", "profile", A_ENUM, A_LOCAL, "standard|national", 0, 0,                   \
     "standard (Ed25519, X25519, AES-256-GCM; default) or national (SM2, SM3, SM4)"}
#define CERT_DAYS {"--days", "days", A_INT, A_LOCAL, "N", 1, 3650, \
                   "validity in days (default 1095)"}
static const xf_arg_t a_cert_root[] = {CERT_DIR, CERT_OFFICE, CERT_DAYS, ARG_END};
static const xf_arg_t a_cert_request[] = {CERT_DIR, CERT_OFFICE, ARG_END};
static const xf_arg_t a_cert_issue[] = {
    {"FILE", "file", A_PATH, A_REQUIRED | A_POSITIONAL | A_LOCAL, "FILE", 0, 0,
     "the child's request (node.csr)"},
    CERT_DAYS,
    {"--out", "out", A_PATH, A_LOCAL, "FILE", 0, 0,
     "write the certificate chain to FILE, not stdout"},
    ARG_END};
static const xf_arg_t a_cert_show[] = {
    {"FILE", "file", A_PATH, A_POSITIONAL | A_LOCAL, "FILE", 0, 0,
     "a PEM certificate or chain (default: this office's, from the daemon)"},
    ARG_END};

static const xf_arg_t a_cert_revoke[] = {
    {"--serial", "serial", A_TEXT, 0, "HEX", 0, 0, "the certificate's serial (cert show lists them)"},
    {"--fingerprint", "fingerprint", A_TEXT, 0, "HEX", 0, 0, "or its SHA-256 fingerprint"},
    TEXT ("--reason", "reason", A_REQUIRED, "why: a lost key, an office dissolved, …"),
    ARG_END};

static const xf_arg_t a_clock_set[] = {
    {"TIME", "time", A_TIME, A_REQUIRED | A_POSITIONAL, "YYYY-MM-DDTHH:MM:SS", 0, 0,
     "the new node time, China Standard Time"},
    ARG_END};

static const xf_arg_t a_recuse[] = {
    ARG_ID,
    {"--operator", "operator", A_TEXT, 0, "USER", 0, 0,
     "the operator (user name or uid) related to the case; default: yourself"},
    ARG_END};

static const xf_arg_t a_audit_show[] = {
    {"--case", "id", A_TEXT, 0, "ID", 0, 0, "only records of this case"},
    {"--uid", "uid", A_INT, 0, "UID", -1, 4294967295L, "only this operator's records (-1: the node)"},
    {"--from", "from", A_TIME, 0, "YYYY-MM-DDTHH:MM:SS", 0, 0, "from this time (CST)"},
    {"--to", "to", A_TIME, 0, "YYYY-MM-DDTHH:MM:SS", 0, 0, "up to this time (CST)"},
    {"--action", "action", A_TEXT, 0, "PREFIX", 0, 0,
     "only actions starting so: case., apply., node., cert., …"},
    {"--limit", "limit", A_INT, 0, "N", 1, 1000000, "the newest N records only"},
    ARG_END};

static const xf_arg_t a_config_check[] = {
    {"FILE", "file", A_PATH, A_REQUIRED | A_POSITIONAL | A_LOCAL, "FILE", 0, 0,
     "the configuration, e.g. /etc/xfsync/xfsyncd.conf"},
    ARG_END};

static const xf_arg_t a_help[] = {
    {"COMMAND", "topic", A_TEXT, A_POSITIONAL | A_REST | A_LOCAL, "COMMAND", 0, 0,
     "the command to explain"},
    ARG_END};

#define CASE(w, req, show, args, sum, help) {{"case", w, NULL}, req, RUN_REQUEST, show, args, sum, help}

const xf_cmd_t xf_commands[] = {
    {{"keygen", NULL}, NULL, RUN_KEYGEN, SHOW_PLAIN, a_keygen,
     "write DIR/node.key (0600) and DIR/node.pub; needs no daemon",
     "Makes a CURVE key pair for this node. DIR/node.key holds the secret key (Z85, mode 0600)\n"
     "and is never overwritten; DIR/node.pub holds the public key to give to the parent and\n"
     "child offices for their [parent] / [child CODE] public_key."},
    {{"status", NULL}, "status", RUN_REQUEST, SHOW_STATUS, a_none,
     "this office, its links (state, queue depth, last seen), case counts", NULL},
    {{"topology", NULL}, "topology", RUN_REQUEST, SHOW_TOPOLOGY, a_none,
     "the office tree as this node sees it, offices behind a down link marked",
     "The parent and its link's state; each child with its link's state and the offices it\n"
     "announced below it, which are out of reach while that link is down."},
    {{"metrics", NULL}, "metrics", RUN_REQUEST, SHOW_TEXT, a_none,
     "links, queues, envelopes, cases by status, commit latency, in Prometheus text format",
     "Prints what a Prometheus scraper gets from [metrics] listen (text format 0.0.4): link\n"
     "state, queue depth and bytes, envelopes in, out and rejected, cases by status and\n"
     "overdue, the store's commit latency histogram, control requests. With --json:\n"
     "{\"text\": \"…\"}. For node_exporter's textfile collector: xfctl metrics > FILE.prom."},
    {{"backup", NULL}, "backup", RUN_BACKUP, SHOW_PLAIN, a_backup,
     "a consistent copy of the store, compacted, while the node works",
     "The daemon copies its store (LMDB, compacted, one consistent snapshot) into a pipe xfctl\n"
     "passes it; cases, envelopes, links and the audit log go on meanwhile. xfctl writes\n"
     "FILE.part, shows progress on a terminal, checks the copy is a whole store of this office,\n"
     "syncs it and renames it to FILE. Restore it on a new machine with xfsyncd --restore FILE\n"
     "(the keys in /etc/xfsync are not in it: keep them too). Needs the role admin."},
    CASE ("register", "case.register", SHOW_CASE_ID, a_register,
          "register a petition received here; prints the new case id",
          "With --json the whole case object is printed."),
    {{"case", "import", NULL}, "case.import", RUN_IMPORT, SHOW_PLAIN, a_import,
     "register many cases from a file, all or nothing",
     "Each non-blank line is one case object with the keys of `case show` (keys the office\n"
     "assigns itself, such as id and status, are ignored). The whole file is parsed and then\n"
     "checked by the daemon in batches of 1000 (a dry run) before anything is stored, so a\n"
     "bad line changes nothing and is reported as FILE:LINE. Only then are the batches\n"
     "stored. A failure during that second pass (a full disk, say) leaves the batches\n"
     "before it stored; xfctl then says how many cases were imported. Progress is shown on\n"
     "a terminal."},
    CASE ("show", "case.show", SHOW_CASE, a_id, "one case, as far as this office may read it", NULL),
    CASE ("history", "case.history", SHOW_HISTORY, a_id, "every event of a case", NULL),
    CASE ("list", "case.list", SHOW_LIST, a_list, "cases at this office", NULL),
    CASE ("accept", "case.accept", SHOW_CASE_LINE, a_accept, "受理: accept a registered case", NULL),
    CASE ("reject", "case.reject", SHOW_CASE_LINE, a_reject, "不予受理: do not accept it", NULL),
    CASE ("escalate", "case.escalate", SHOW_CASE_LINE, a_escalate, "上报 to the office above", NULL),
    CASE ("assign", "case.assign", SHOW_CASE_LINE, a_assign, "交办: hand down, a result is owed", NULL),
    CASE ("transfer", "case.transfer", SHOW_CASE_LINE, a_transfer, "转办: pass it on", NULL),
    CASE ("urge", "case.urge", SHOW_CASE_LINE, a_urge, "催办: press the owner (manual)", NULL),
    CASE ("extend", "case.extend", SHOW_CASE_LINE, a_extend, "延期: extend the handling deadline", NULL),
    CASE ("report", "case.report", SHOW_CASE_LINE, a_report,
          "结案报告 to the assigning office", NULL),
    CASE ("send-back", "case.send_back", SHOW_CASE_LINE, a_send_back, "退回重办: send a report back", NULL),
    CASE ("close", "case.close", SHOW_CASE_LINE, a_close, "办结: close with the reply", NULL),
    CASE ("review", "case.review", SHOW_PLAIN, a_review,
          "复查/复核 request, at the office above the last decision", NULL),
    CASE ("lookup", "case.lookup", SHOW_PLAIN, a_lookup,
          "the public status for a petitioner's 查询码, at any office", NULL),
    CASE ("recuse", "case.recuse", SHOW_PLAIN, a_recuse,
          "回避: an operator related to the case can no longer read or act on it",
          "Anyone may recuse themselves; recusing another operator needs the role leader. The\n"
          "recusal is kept in the store and cannot be undone from xfctl. [recusal] cases in the\n"
          "configuration recuses operators as well."),
    {{"stats", NULL}, "stats", RUN_STATS, SHOW_STATS, a_stats,
     "the statistics of a period",
     "csv has one header row and one row per office, columns named like by_channel.letter."},
    {{"stats", "score", NULL}, "stats.score", RUN_STATS, SHOW_STATS, a_score,
     "目标管理: score each office below from the consolidated figures",
     "Gathers the consolidated report of the period (as stats --consolidated) and scores every\n"
     "office below this one by the daemon's [score] rules: points, plus per_filed_above for each\n"
     "case filed above the office's 立案基数 (filed_bases, else filed_base), minus\n"
     "per_5_points_below for each whole 5 points of on-time rate below on_time_target, minus\n"
     "per_overdue for each overdue case. A missing office is not scored."},
    {{"reconcile", NULL}, "reconcile", RUN_REQUEST, SHOW_PLAIN, a_none,
     "对账 now with every office this one shares cases with",
     "Sends the digests that otherwise go every [links] reconcile_seconds to each office whose\n"
     "link is quiet. The answers arrive in the background; `xfctl status` shows the result."},
    {{"cert", "root", NULL}, NULL, RUN_CERT, SHOW_PLAIN, a_cert_root,
     "the root office's own certificate: the anchor every node pins; needs no daemon",
     "Writes DIR/node.crt, self-signed with DIR/sign.key (made when absent), naming the CURVE\n"
     "key of DIR/node.key. Every office's [trust] anchor is this file."},
    {{"cert", "request", NULL}, NULL, RUN_CERT, SHOW_PLAIN, a_cert_request,
     "a certificate request for the parent office; needs no daemon",
     "Writes DIR/node.csr (PKCS#10, PEM) for this office, signed with DIR/sign.key (made when\n"
     "absent) and naming the CURVE key of DIR/node.key. The parent issues it with\n"
     "`xfctl cert issue`; install what it returns as [trust] certificate."},
    {{"cert", "issue", NULL}, "cert.issue", RUN_CERT, SHOW_PLAIN, a_cert_issue,
     "issue a child office's certificate from its request",
     "The daemon signs the request with this office's key, once it checks that the request is\n"
     "well signed, names a configured [child CODE] under this office and uses the tree's\n"
     "profile. The output is the child's certificate followed by this office's chain: the\n"
     "child's [trust] certificate file, and the file its [child CODE] certificate names here."},
    {{"cert", "show", NULL}, "cert.show", RUN_CERT, SHOW_PLAIN, a_cert_show,
     "a certificate file, or this office's certificate and trust state", NULL},
    {{"cert", "revoke", NULL}, "cert.revoke", RUN_REQUEST, SHOW_PLAIN, a_cert_revoke,
     "revoke a certificate this office issued to a child",
     "The child's link is refused at its next handshake with a log line naming the\n"
     "certificate, and what that certificate signs is refused here. The child gets a new\n"
     "certificate the usual way (cert request, then cert issue here); messages queued for it\n"
     "wait and flow once it connects with the new one."},
    {{"clock", "show", NULL}, "clock.show", RUN_REQUEST, SHOW_CLOCK, a_none, "the node's clock", NULL},
    {{"clock", "set", NULL}, "clock.set", RUN_REQUEST, SHOW_CLOCK, a_clock_set,
     "move the node's clock (only with [debug] clock_control = true)", NULL},
    {{"audit", "verify", NULL}, "audit.verify", RUN_REQUEST, SHOW_PLAIN, a_none,
     "check the whole audit log's hash chain; names the first broken record",
     "Every operator action and every message applied here is one record of a hash chain\n"
     "(SHA-256, or SM3 with the national profile). A changed, missing or reordered record\n"
     "breaks it: the command then fails (exit status 1) naming the first broken record. Keep\n"
     "the head it prints elsewhere: a rewrite of the whole tail shows only against that."},
    {{"audit", "show", NULL}, "audit.show", RUN_REQUEST, SHOW_AUDIT, a_audit_show,
     "audit records, filtered by case, operator, time or action", NULL},
    {{"config", "check", NULL}, NULL, RUN_CONFIG, SHOW_PLAIN, a_config_check,
     "check a configuration as xfsyncd would at start; needs no daemon",
     "Every bad line is reported as FILE:LINE. Then the files it names: the node key (a Z85\n"
     "secret readable by its owner only), the tree's identity key, and with [trust] the\n"
     "certificate chain, the signing key and the anchor, checked together as the daemon checks\n"
     "them (the code, the CURVE key, the parent, the validity), and each [child] certificate.\n"
     "Exit status 0 when xfsyncd would start with it, 1 naming what to fix."},
    {{"help", NULL}, NULL, RUN_HELP, SHOW_PLAIN, a_help, "this list, or one command's help", NULL},
    {{NULL}, NULL, RUN_HELP, SHOW_PLAIN, NULL, NULL, NULL},
};

/* ---------------------------------------------------------------- finding the command */

/* Matches the leading words of argv against the table. A word may be abbreviated to any
 * prefix that names one command word ("case sh" is "case show"). */
int xf_grammar_find (int argc, char **argv, const xf_cmd_t **out, int *used)
{
    size_t n = 0;
    while (xf_commands[n].words[0])
        n++;
    bool *cand = xmalloc (n);
    memset (cand, 1, n);
    int rc = XFCTL_USAGE;
    for (int d = 0;; d++) {
        const char *group = d ? argv[d - 1] : NULL;
        if (d >= argc || argv[d][0] == '-') {
            rc = d ? xf_grammar_usage_group (group, "", "%s: a command must follow", group)
                   : xf_grammar_usage (NULL, "a command is needed");
            break;
        }
        const char *w = argv[d], *match = NULL;
        bool exact = false, ambiguous = false;
        for (size_t i = 0; i < n; i++)
            if (cand[i] && strcmp (xf_commands[i].words[d], w) == 0)
                exact = true, match = xf_commands[i].words[d];
        for (size_t i = 0; i < n && !exact; i++) {
            const char *cw = xf_commands[i].words[d];
            if (cand[i] && *w && strncmp (cw, w, strlen (w)) == 0) {
                ambiguous |= match && strcmp (match, cw) != 0;
                match = cw;
            }
        }
        if (!match || ambiguous) {
            const char *what = ambiguous ? "ambiguous" : "unknown";
            rc = d ? xf_grammar_usage_group (group, ambiguous ? w : "", "%s command \"%s %s\"",
                                             what, group, w)
                   : xf_grammar_usage (NULL, "%s command \"%s\"", what, w);
            break;
        }
        size_t left = 0, last = 0, leaf = n;
        for (size_t i = 0; i < n; i++) {
            cand[i] = cand[i] && strcmp (xf_commands[i].words[d], match) == 0;
            if (cand[i])
                left++, last = i;
            if (cand[i] && !xf_commands[i].words[d + 1])
                leaf = i;
        }
        /* a command that is also a group ("stats", "stats score") is itself unless the next
         * word names one of its subcommands */
        bool deeper = false;
        for (size_t i = 0; i < n && leaf < n && d + 1 < argc && argv[d + 1][0] != '-'; i++)
            deeper |= cand[i] && i != leaf && *argv[d + 1]
                      && strncmp (xf_commands[i].words[d + 1], argv[d + 1], strlen (argv[d + 1])) == 0;
        if (leaf < n && (left == 1 || !deeper)) {
            *out = &xf_commands[leaf];
            *used = d + 1;
            rc = 0;
            break;
        }
        if (leaf < n)
            cand[leaf] = false;
        (void) last;
        argv[d] = (char *) match;   /* so "case sh" is named "case show" in messages */
    }
    free (cand);
    return rc;
}

/* ---------------------------------------------------------------- values */

static bool enum_has (const char *choices, const char *v)
{
    size_t len = strlen (v);
    for (const char *c = choices; c; c = strchr (c, '|')) {
        c += *c == '|';
        if (strncmp (c, v, len) == 0 && (c[len] == '|' || c[len] == 0))
            return len > 0;
    }
    return false;
}

static json_t *list_value (const xf_cmd_t *cmd, const xf_arg_t *a, const char *v)
{
    json_t *arr = xjson (json_array ());
    for (const char *s = v;; s++) {
        const char *end = strchr (s, ',');
        size_t len = end ? (size_t) (end - s) : strlen (s);
        json_t *item = len ? json_stringn (s, len) : NULL;
        if (!item) {
            json_decref (arr);
            xf_grammar_usage (cmd, "%s: \"%s\" is not a list like %s (UTF-8, no empty items)",
                              a->name, v, a->meta);
            return NULL;
        }
        xjson_append (arr, item);
        if (!end)
            return arr;
        s = end;
    }
}

/* The JSON value of one argument, or NULL after printing a usage error. */
static json_t *value_of (const xf_cmd_t *cmd, const xf_arg_t *a, const char *v)
{
    xf_err_t err = {0};
    char *end;
    long n;
    switch (a->type) {
    case A_FLAG:
        return json_true ();
    case A_PATH:
        return xjson (json_stringn_nocheck (v, strlen (v)));   /* local only, never printed */
    case A_LIST:
        return list_value (cmd, a, v);
    case A_INT:
        errno = 0;
        n = strtol (v, &end, 10);
        if (errno || end == v || *end || n < a->lo || n > a->hi)
            break;
        return xjson (json_integer (n));
    case A_ENUM:
        if (!enum_has (a->meta, v))
            break;
        return xjson (json_string (v));
    case A_CODE:
        if (!xf_conf_code_valid (v))
            break;
        return xjson (json_string (v));
    case A_DATE: {
        xf_day_t day;
        if (xf_day_parse (v, &day, &err) != XF_OK)
            break;
        return xjson (json_string (v));
    }
    case A_TIME: {
        int64_t t;
        if (xf_time_parse (v, &t, &err) != XF_OK)
            break;
        return xjson (json_string (v));
    }
    case A_PERIOD: {
        xf_period_t per;
        if (xf_period_parse (v, &per, &err) != XF_OK)
            break;
        return xjson (json_string (v));
    }
    case A_TEXT: {
        json_t *s = json_string (v);
        if (s)
            return s;
        xf_grammar_usage (cmd, "%s: the value is not valid UTF-8 (set the terminal to UTF-8)",
                          a->name);
        return NULL;
    }
    }
    if (err.msg[0])
        xf_grammar_usage (cmd, "%s: %s", a->name, err.msg);
    else if (a->type == A_INT)
        xf_grammar_usage (cmd, "%s: \"%s\" is not a whole number from %ld to %ld", a->name, v,
                          a->lo, a->hi);
    else if (a->type == A_CODE)
        xf_grammar_usage (cmd, "%s: \"%s\" is not an office code (6, 9 or 12 digits)", a->name, v);
    else
        xf_grammar_usage (cmd, "%s: \"%s\" is not one of %s", a->name, v, a->meta);
    return NULL;
}

/* ---------------------------------------------------------------- argv */

static const xf_arg_t *find_option (const xf_cmd_t *cmd, const char *name, size_t len)
{
    for (const xf_arg_t *a = cmd->args; a->name; a++)
        if (!(a->flags & A_POSITIONAL) && strlen (a->name) == len && strncmp (a->name, name, len) == 0)
            return a;
    return NULL;
}

static int take_option (xf_parsed_t *p, int argc, char **argv, int *i)
{
    const char *word = argv[*i], *eq = strchr (word, '=');
    size_t len = eq && word[1] == '-' ? (size_t) (eq - word) : strlen (word);
    const xf_arg_t *a = find_option (p->cmd, word, len);
    if (!a)
        return xf_grammar_usage (p->cmd, "unknown option %.*s", (int) len, word);
    if (json_object_get (p->opts, a->key))
        return xf_grammar_usage (p->cmd, "%s given twice", a->name);
    const char *v = eq && len < strlen (word) ? eq + 1 : NULL;
    if (a->type == A_FLAG && v)
        return xf_grammar_usage (p->cmd, "%s takes no value", a->name);
    if (a->type != A_FLAG && !v) {
        if (*i + 1 >= argc)
            return xf_grammar_usage (p->cmd, "%s needs a value (%s)", a->name, a->meta);
        v = argv[++*i];
    }
    json_t *val = value_of (p->cmd, a, v);
    if (!val)
        return XFCTL_USAGE;
    xjson_set (p->opts, a->key, val);
    return 0;
}

static int take_positional (xf_parsed_t *p, const char *word, size_t *pos)
{
    const xf_arg_t *a = p->cmd->args;
    size_t k = 0;
    for (; a->name; a++)
        if ((a->flags & A_POSITIONAL) && k++ == *pos)
            break;
    if (!a->name)
        return xf_grammar_usage (p->cmd, "unexpected argument \"%s\"", word);
    json_t *val = value_of (p->cmd, a, word);
    if (!val)
        return XFCTL_USAGE;
    if (!(a->flags & A_REST)) {
        xjson_set (p->opts, a->key, val);
        ++*pos;
        return 0;
    }
    json_t *rest = json_object_get (p->opts, a->key);
    if (!rest)
        xjson_set (p->opts, a->key, rest = xjson (json_array ()));
    xjson_append (rest, val);
    return 0;
}

static int check_required (const xf_parsed_t *p)
{
    for (const xf_arg_t *a = p->cmd->args; a->name; a++) {
        if (!(a->flags & A_REQUIRED) || json_object_get (p->opts, a->key))
            continue;
        if (a->flags & A_POSITIONAL)
            return xf_grammar_usage (p->cmd, "%s is missing", a->name);
        return xf_grammar_usage (p->cmd, "%s %s is required", a->name, a->meta);
    }
    return 0;
}

/* -h/--help anywhere among the options wins over every other error; the value of an
 * option ("--summary -h") is not an option. */
static bool wants_help (const xf_cmd_t *cmd, int argc, char **argv)
{
    for (int i = 0; i < argc && strcmp (argv[i], "--") != 0; i++) {
        if (strcmp (argv[i], "-h") == 0 || strcmp (argv[i], "--help") == 0)
            return true;
        const xf_arg_t *a = find_option (cmd, argv[i], strlen (argv[i]));
        if (a && a->type != A_FLAG)
            i++;
    }
    return false;
}

int xf_grammar_parse (int argc, char **argv, xf_parsed_t *p)
{
    int used, rc;
    *p = (xf_parsed_t) {0};
    if ((rc = xf_grammar_find (argc, argv, &p->cmd, &used)) != 0)
        return rc;
    p->opts = xjson (json_object ());
    if ((p->help = wants_help (p->cmd, argc - used, argv + used)))
        return 0;
    bool options = true;
    size_t pos = 0;
    for (int i = used; i < argc && rc == 0; i++) {
        const char *w = argv[i];
        if (options && strcmp (w, "--") == 0)
            options = false;
        else if (options && strcmp (w, "--json") == 0)
            p->json = true;
        else if (options && w[0] == '-' && w[1])
            rc = take_option (p, argc, argv, &i);
        else
            rc = take_positional (p, w, &pos);
    }
    if (rc == 0)
        rc = check_required (p);
    if (rc != 0)
        xf_grammar_free (p);
    return rc;
}

void xf_grammar_free (xf_parsed_t *p)
{
    json_decref (p->opts);
    p->opts = NULL;
}

/* ---------------------------------------------------------------- results */

json_t *xf_grammar_request (const xf_parsed_t *p)
{
    json_t *req = xjson (json_object ());
    for (const xf_arg_t *a = p->cmd->args; a->name; a++) {
        json_t *v = json_object_get (p->opts, a->key);
        if (!v || (a->flags & A_LOCAL))
            continue;
        const char *dot = strchr (a->key, '.');
        if (!dot) {
            xjson_set (req, a->key, json_incref (v));
            continue;
        }
        char *outer = xasprintf ("%.*s", (int) (dot - a->key), a->key);
        json_t *sub = json_object_get (req, outer);
        if (!sub)
            xjson_set (req, outer, sub = xjson (json_object ()));
        xjson_set (sub, dot + 1, json_incref (v));
        free (outer);
    }
    return req;
}

const char *xf_opt_str (const xf_parsed_t *p, const char *key)
{
    return json_string_value (json_object_get (p->opts, key));
}

bool xf_opt_flag (const xf_parsed_t *p, const char *key)
{
    return json_is_true (json_object_get (p->opts, key));
}
