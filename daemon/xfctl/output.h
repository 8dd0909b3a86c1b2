/* output.h — showing results: human text (output_text.c), JSON (output_json.c) and the
 * CSV of stats (output_csv.c). Each returns 0, or -1 when writing to out failed (errno). */
#ifndef XF_OUTPUT_H
#define XF_OUTPUT_H

#include <stdio.h>
#include <jansson.h>
#include "grammar.h"

/* Text: the result of a command shown the way its table entry says. */
int xf_out_text (xf_show_t show, const json_t *result, FILE *out);

/* JSON: v as one pretty-printed document and a newline. */
int xf_out_json (const json_t *v, FILE *out);
/* {"error":{"code":…,"message":…, …extra}} (extra is stolen, may be NULL). */
int xf_out_json_error (const char *code, const char *message, json_t *extra, FILE *out);

/* stats as a table of every figure, and as CSV (RFC 4180: one header row, one row per
 * office, CRLF line ends). */
int xf_out_stats_table (const json_t *stats, FILE *out);
int xf_out_stats_csv (const json_t *stats, FILE *out);
/* stats as one self-contained XHTML report with inline SVG charts (output_html.c). */
int xf_out_stats_html (const json_t *stats, FILE *out);

/* The figures of a stats "totals" object flattened in order: "received",
 * "by_channel.letter", … Values are borrowed from totals. Free with xf_figures_free. */
typedef struct {
    char *name;
    const json_t *value;
} xf_figure_t;

size_t xf_figures (const json_t *totals, xf_figure_t **out);
void   xf_figures_free (xf_figure_t *f, size_t n);
/* The figure called name ("by_channel.letter") in a totals object, or NULL. */
const json_t *xf_figure_lookup (const json_t *totals, const char *name);
/* A figure's value as shown to people: "12", "87.5%" (on_time_rate), "—" (null). */
char  *xf_figure_text (const char *name, const json_t *value);

#endif
