/* xf_score.h — 目标管理 scoring (seed 002, 百分制考评): a score and its breakdown for each
 * office below the one that made a consolidated statistics report, by the [score] rules of
 * the config. Pure: a report in, the scores out. */
#ifndef XF_SCORE_H
#define XF_SCORE_H

#include <jansson.h>
#include "xf_conf.h"

/* {"office","period","partial","rules":{…},"scores":[{"code","name","source","score",
 * "breakdown":[{"item","points",…}]}]} for every row of report except the office's own; a
 * missing office has score null. NULL when out of memory. */
json_t *xf_score (const xf_conf_t *conf, const json_t *report);

#endif
