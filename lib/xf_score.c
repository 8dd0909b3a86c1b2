/* xf_score.c — 目标管理 scoring of the offices below, from their own figures of the period:
 * the points, plus per_filed_above for each case filed (立案) above the office's 立案基数,
 * minus per_5_points_below for each full 5 percentage points of on-time rate (按期结案率)
 * below the target, minus per_overdue for each case that went overdue. */
#include "xf_score.h"

#include <string.h>

static int filed_base (const xf_conf_t *conf, const char *code)
{
    for (size_t i = 0; i < conf->n_score_filed_bases; i++)
        if (strcmp (conf->score_filed_bases[i].code, code) == 0)
            return conf->score_filed_bases[i].base;
    return conf->score_filed_base;
}

static json_int_t figure (const json_t *totals, const char *key)
{
    return json_integer_value (json_object_get (totals, key));
}

static json_t *item (json_t *breakdown, const char *name, json_int_t points)
{
    json_t *i = json_pack ("{s:s,s:I}", "item", name, "points", points);
    json_array_append_new (breakdown, i);
    return i;
}

static json_t *score_row (const xf_conf_t *conf, const json_t *row)
{
    const json_t *t = json_object_get (row, "totals");
    json_t *out = json_pack ("{s:O,s:O,s:O}", "code", json_object_get (row, "code"), "name",
                             json_object_get (row, "name"), "source", json_object_get (row, "source"));
    if (!json_is_object (t)) {   /* missing: nothing to score */
        json_object_set_new (out, "score", json_null ());
        json_object_set_new (out, "breakdown", json_array ());
        return out;
    }
    const char *code = json_string_value (json_object_get (row, "code"));
    json_t *b = json_array ();
    json_int_t score = conf->score_points, base = filed_base (conf, code ? code : "");
    json_int_t filed = figure (t, "filed"), due = figure (t, "due"), ok = figure (t, "closed_on_time");
    json_int_t overdue = figure (t, "overdue");
    item (b, "points", conf->score_points);
    json_int_t above = filed > base ? filed - base : 0;
    json_t *f = item (b, "filed_above_base", above * conf->score_per_filed_above);
    json_object_set_new (f, "filed", json_integer (filed));
    json_object_set_new (f, "base", json_integer (base));
    score += above * conf->score_per_filed_above;
    if (due > 0) {
        /* whole 5-point steps below target, in integers: (target·due − 100·ok) / (5·due) */
        json_int_t gap = (json_int_t) conf->score_on_time_target * due - 100 * (ok < due ? ok : due);
        json_int_t steps = gap > 0 ? gap / (5 * due) : 0;
        json_t *i = item (b, "on_time_below_target", -steps * conf->score_per_5_points_below);
        json_object_set_new (i, "rate", json_real ((double) (ok < due ? ok : due) / (double) due));
        json_object_set_new (i, "target", json_real (conf->score_on_time_target / 100.0));
        score -= steps * conf->score_per_5_points_below;
    }
    json_object_set_new (item (b, "overdue", -overdue * conf->score_per_overdue), "overdue",
                         json_integer (overdue));
    score -= overdue * conf->score_per_overdue;
    json_object_set_new (out, "score", json_integer (score));
    json_object_set_new (out, "breakdown", b);
    return out;
}

json_t *xf_score (const xf_conf_t *conf, const json_t *report)
{
    const char *self = json_string_value (json_object_get (report, "office"));
    json_t *scores = json_array (), *bases = json_object ();
    size_t i;
    json_t *row;
    json_array_foreach (json_object_get (report, "offices"), i, row) {
        const char *code = json_string_value (json_object_get (row, "code"));
        if (!self || !code || strcmp (code, self) != 0)
            json_array_append_new (scores, score_row (conf, row));
    }
    for (size_t k = 0; k < conf->n_score_filed_bases; k++)
        json_object_set_new (bases, conf->score_filed_bases[k].code,
                             json_integer (conf->score_filed_bases[k].base));
    json_t *rules = json_pack ("{s:i,s:i,s:o,s:i,s:i,s:i,s:i}", "points", conf->score_points,
                               "filed_base", conf->score_filed_base, "filed_bases", bases,
                               "per_filed_above", conf->score_per_filed_above, "on_time_target",
                               conf->score_on_time_target, "per_5_points_below",
                               conf->score_per_5_points_below, "per_overdue", conf->score_per_overdue);
    return json_pack ("{s:O,s:O,s:O,s:o,s:o}", "office", json_object_get (report, "office"),
                      "period", json_object_get (report, "period"), "partial",
                      json_object_get (report, "partial"), "rules", rules, "scores", scores);
}
