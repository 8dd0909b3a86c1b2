/* output_html.c — `stats --format html`: one self-contained XHTML file (no script, no
 * external resource) that opens offline in any browser and parses as XML: the office and
 * period, the totals, a row per office with where its figures came from, and inline SVG
 * charts (cases by category and channel, month by month, on-time rate per office). Labels
 * are Chinese, as the offices report them. */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include "output.h"
#include "xfctl.h"

typedef struct {
    const char *key, *label;
} label_t;

static double larger (double a, double b)
{
    return a > b ? a : b;
}

static const label_t FIGURES[] = {
    {"received", "收到信访"},      {"accepted", "受理"},          {"rejected", "不予受理"},
    {"filed", "立案"},             {"due", "应结"},               {"closed", "结案"},
    {"closed_on_time", "按期结案"}, {"on_time_rate", "按期结案率"}, {"overdue", "逾期"},
    {"escalated", "上报"},         {"assigned", "交办"},          {"transferred", "转办"},
    {"urges", "催办"},             {"sent_back", "退回重办"},     {"repeat", "重复信访"},
    {"skip_level", "越级信访"},    {"group", "集体访"},           {NULL, NULL}};
static const label_t CHANNELS[] = {{"letter", "来信"}, {"visit", "来访"}, {"phone", "电话"},
                                   {"email", "电子邮件"}, {"online", "网上信访"}, {NULL, NULL}};
static const label_t CATEGORIES[] = {{"accusation", "揭发反映类"}, {"appeal", "申诉求决类"},
                                     {"inquiry", "询问建议类"}, {NULL, NULL}};
static const label_t SOURCES[] = {{"live", "实时"}, {"snapshot", "月快照"}, {"missing", "缺报"},
                                  {NULL, NULL}};

typedef struct {
    FILE *out;
    int err;
} html_t;

static void put (html_t *h, const char *fmt, ...) __attribute__ ((format (printf, 2, 3)));
static void put (html_t *h, const char *fmt, ...)
{
    va_list ap;
    va_start (ap, fmt);
    if (!h->err && vfprintf (h->out, fmt, ap) < 0)
        h->err = -1;
    va_end (ap);
}

static void text (html_t *h, const char *s)
{
    for (; s && *s && !h->err; s++) {
        switch (*s) {
        case '&': put (h, "&amp;"); break;
        case '<': put (h, "&lt;"); break;
        case '>': put (h, "&gt;"); break;
        case '"': put (h, "&quot;"); break;
        default:
            if ((unsigned char) *s >= 0x20 || *s == '\n')
                put (h, "%c", *s);
        }
    }
}

static const char *label (const label_t *t, const char *key)
{
    for (; t->key; t++)
        if (strcmp (t->key, key) == 0)
            return t->label;
    return key;
}

static const char *str (const json_t *o, const char *key)
{
    const char *s = json_string_value (json_object_get (o, key));
    return s ? s : "";
}

/* A figure as the table shows it too (xf_figure_text): "12", "87.5%", "—". */
static void figure (html_t *h, const char *key, const json_t *v)
{
    char *s = xf_figure_text (key, v);
    text (h, s);
    free (s);
}

/* ---------------------------------------------------------------- charts */

/* Horizontal bars, one per item of obj listed in labels, with the count and the share. */
static void bars (html_t *h, const char *title, const json_t *counts, const json_t *shares,
                  const label_t *labels)
{
    double max = 1;
    size_t n = 0;
    for (const label_t *l = labels; l->key; l++, n++)
        max = larger (max, (double) json_integer_value (json_object_get (counts, l->key)));
    put (h, "<figure><figcaption>");
    text (h, title);
    put (h, "</figcaption>\n<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"520\" height=\"%zu\" "
         "role=\"img\">\n", n * 26 + 8);
    size_t i = 0;
    for (const label_t *l = labels; l->key; l++, i++) {
        json_int_t v = json_integer_value (json_object_get (counts, l->key));
        const json_t *share = json_object_get (shares, l->key);
        double w = 300.0 * (double) v / max;
        put (h, "<text x=\"0\" y=\"%zu\" font-size=\"13\">", i * 26 + 20);
        text (h, l->label);
        put (h, "</text><rect x=\"90\" y=\"%zu\" width=\"%.1f\" height=\"18\" fill=\"#b22222\"/>"
             "<text x=\"%.1f\" y=\"%zu\" font-size=\"12\">%" JSON_INTEGER_FORMAT,
             i * 26 + 6, w, 96 + w, i * 26 + 20, v);
        if (json_is_number (share))
            put (h, " (%.2f%%)", 100.0 * json_number_value (share));
        put (h, "</text>\n");
    }
    put (h, "</svg></figure>\n");
}

/* Received and closed, month by month, as two polylines. */
static void trend (html_t *h, const json_t *months)
{
    size_t n = json_array_size (months);
    if (n == 0)
        return;
    double max = 1;
    for (size_t i = 0; i < n; i++) {
        const json_t *t = json_object_get (json_array_get (months, i), "totals");
        max = larger (max, (double) json_integer_value (json_object_get (t, "received")));
        max = larger (max, (double) json_integer_value (json_object_get (t, "closed")));
    }
    double step = n > 1 ? 600.0 / (double) (n - 1) : 0;
    put (h, "<figure><figcaption>逐月趋势（收到信访 红线，结案 蓝线）</figcaption>\n"
         "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"680\" height=\"240\" role=\"img\">\n"
         "<line x1=\"40\" y1=\"200\" x2=\"650\" y2=\"200\" stroke=\"#888\"/>"
         "<text x=\"0\" y=\"24\" font-size=\"11\">%.0f</text>"
         "<text x=\"0\" y=\"204\" font-size=\"11\">0</text>\n", max);
    static const char *const series[] = {"received", "closed"}, *const colour[] = {"#b22222", "#1f4e9a"};
    for (int s = 0; s < 2; s++) {
        put (h, "<polyline fill=\"none\" stroke=\"%s\" stroke-width=\"2\" points=\"", colour[s]);
        for (size_t i = 0; i < n; i++) {
            const json_t *t = json_object_get (json_array_get (months, i), "totals");
            double v = (double) json_integer_value (json_object_get (t, series[s]));
            put (h, "%s%.1f,%.1f", i ? " " : "", 40 + step * (double) i, 200 - 180 * v / max);
        }
        put (h, "\"/>\n");
    }
    size_t every = n > 12 ? (n + 11) / 12 : 1;
    for (size_t i = 0; i < n; i += every) {
        put (h, "<text x=\"%.1f\" y=\"220\" font-size=\"10\">", 28 + step * (double) i);
        text (h, str (json_array_get (months, i), "month"));
        put (h, "</text>");
    }
    put (h, "\n</svg></figure>\n");
}

/* 按期结案率 per office that had any case due. */
static void rates (html_t *h, const json_t *offices)
{
    size_t n = 0, i;
    json_t *o;
    json_array_foreach (offices, i, o)
        n += json_is_number (json_object_get (json_object_get (o, "totals"), "on_time_rate"));
    put (h, "<figure><figcaption>各单位按期结案率</figcaption>\n");
    if (n == 0) {
        put (h, "<p>本期没有应结案件。</p></figure>\n");
        return;
    }
    put (h, "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"520\" height=\"%zu\" role=\"img\">\n",
         n * 26 + 8);
    size_t row = 0;
    json_array_foreach (offices, i, o) {
        const json_t *r = json_object_get (json_object_get (o, "totals"), "on_time_rate");
        if (!json_is_number (r))
            continue;
        double w = 300.0 * json_number_value (r);
        put (h, "<text x=\"0\" y=\"%zu\" font-size=\"12\">", row * 26 + 20);
        text (h, str (o, "code"));
        put (h, "</text><rect x=\"90\" y=\"%zu\" width=\"%.1f\" height=\"18\" fill=\"#1f4e9a\"/>"
             "<text x=\"%.1f\" y=\"%zu\" font-size=\"12\">%.1f%%</text>\n", row * 26 + 6, w,
             96 + w, row * 26 + 20, 100.0 * json_number_value (r));
        row++;
    }
    put (h, "</svg></figure>\n");
}

/* ---------------------------------------------------------------- tables */

static void totals_table (html_t *h, const json_t *stats)
{
    const json_t *t = json_object_get (stats, "totals"), *cmp = json_object_get (stats, "compare");
    const json_t *before = json_object_get (cmp, "totals"), *pct = json_object_get (cmp, "change_pct");
    const json_t *pp = json_object_get (cmp, "change_pp");
    put (h, "<h2>合计</h2>\n<table><tr><th>项目</th><th>本期</th><th>上年同期 (");
    text (h, str (cmp, "period"));
    put (h, ")</th><th>增减</th></tr>\n");
    for (const label_t *l = FIGURES; l->key; l++) {
        bool rate = strcmp (l->key, "on_time_rate") == 0;
        const json_t *change = json_object_get (rate ? pp : pct, l->key);
        put (h, "<tr><td>");
        text (h, l->label);
        put (h, "</td><td class=\"n\" data-figure=\"%s\">", l->key);
        figure (h, l->key, json_object_get (t, l->key));
        put (h, "</td><td class=\"n\">");
        figure (h, l->key, json_object_get (before, l->key));
        put (h, "</td><td class=\"n\">");
        if (json_is_number (change))
            put (h, rate ? "%+.1f 个百分点" : "%+.1f%%", json_number_value (change));
        else
            put (h, "—");
        put (h, "</td></tr>\n");
    }
    put (h, "</table>\n");
}

static void offices_table (html_t *h, const json_t *offices)
{
    static const char *const cols[] = {"received", "accepted", "filed", "due", "closed",
                                       "closed_on_time", "on_time_rate", "overdue", NULL};
    put (h, "<h2>各单位</h2>\n<table><tr><th>代码</th><th>单位</th><th>来源</th><th>截至</th>");
    for (int c = 0; cols[c]; c++) {
        put (h, "<th>");
        text (h, label (FIGURES, cols[c]));
        put (h, "</th>");
    }
    put (h, "</tr>\n");
    size_t i;
    json_t *o;
    json_array_foreach (offices, i, o) {
        const json_t *t = json_object_get (o, "totals");
        put (h, "<tr><td>");
        text (h, str (o, "code"));
        put (h, "</td><td>");
        text (h, str (o, "name"));
        put (h, "</td><td>");
        text (h, label (SOURCES, str (o, "source")));
        if (json_is_true (json_object_get (o, "partial")))
            put (h, "（部分月份）");
        put (h, "</td><td>");
        text (h, str (o, "as_of"));
        put (h, "</td>");
        for (int c = 0; cols[c]; c++) {
            put (h, "<td class=\"n\">");
            figure (h, cols[c], json_object_get (t, cols[c]));
            put (h, "</td>");
        }
        put (h, "</tr>\n");
    }
    put (h, "</table>\n");
}

int xf_out_stats_html (const json_t *stats, FILE *out)
{
    html_t h = {out, 0};
    const json_t *t = json_object_get (stats, "totals"), *shares = json_object_get (t, "shares");
    const json_t *missing = json_object_get (stats, "missing");
    put (&h, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<!DOCTYPE html>\n"
         "<html xmlns=\"http://www.w3.org/1999/xhtml\" lang=\"zh-CN\" xml:lang=\"zh-CN\">\n"
         "<head><meta charset=\"UTF-8\"/><title>信访统计 ");
    text (&h, str (stats, "office"));
    put (&h, " ");
    text (&h, str (stats, "period"));
    put (&h, "</title>\n<style>body{font-family:sans-serif;margin:2em;color:#222}"
         "table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #bbb;padding:3px 8px}"
         "td.n{text-align:right}figure{display:inline-block;margin:1em 2em 1em 0;vertical-align:top}"
         "figcaption{font-weight:bold;margin-bottom:.5em}.warn{color:#b22222}</style></head>\n<body>\n"
         "<h1>");
    text (&h, str (stats, "name"));
    put (&h, " 信访统计</h1>\n<p>单位代码 <span id=\"office\">");
    text (&h, str (stats, "office"));
    put (&h, "</span>，统计期间 <span id=\"period\">");
    text (&h, str (stats, "period"));
    put (&h, "</span>，%s。</p>\n",
         json_is_true (json_object_get (stats, "consolidated")) ? "汇总本单位及所属各单位" : "本单位");
    if (json_is_true (json_object_get (stats, "partial"))) {
        put (&h, "<p class=\"warn\">本报告不完整：");
        if (json_array_size (missing)) {
            put (&h, "缺报单位 ");
            size_t i;
            json_t *code;
            json_array_foreach (missing, i, code) {
                put (&h, "%s", i ? "、" : "");
                text (&h, json_string_value (code));
            }
            put (&h, "；");
        }
        put (&h, "部分单位的数字取自月快照，未覆盖整个期间的已注明。</p>\n");
    }
    totals_table (&h, stats);
    put (&h, "<h2>图表</h2>\n");
    bars (&h, "按类别", json_object_get (t, "by_category"), json_object_get (shares, "by_category"),
          CATEGORIES);
    bars (&h, "按渠道", json_object_get (t, "by_channel"), json_object_get (shares, "by_channel"),
          CHANNELS);
    trend (&h, json_object_get (stats, "months"));
    rates (&h, json_object_get (stats, "offices"));
    offices_table (&h, json_object_get (stats, "offices"));
    put (&h, "<p>占比为精确值（收到信访的比例，保留两位小数）；增减：件数为相对上年同期的百分比，"
         "比率为百分点。</p>\n</body>\n</html>\n");
    return h.err;
}
