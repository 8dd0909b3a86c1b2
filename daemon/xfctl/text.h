/* text.h — UTF-8 for a terminal: display width (CJK counts 2), clipping to a width, making
 * one clean line out of untrusted text, and aligned tables built from those. */
#ifndef XF_TEXT_H
#define XF_TEXT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

/* Columns s takes on a terminal: East Asian wide and fullwidth characters 2, combining
 * marks 0, everything else 1. s must be valid UTF-8 (see text_clean). */
size_t text_width (const char *s);

/* A copy of s (caller frees) with invalid UTF-8 replaced by U+FFFD and control characters
 * (newlines, tabs, ESC…) replaced by a space, so it is one printable line. */
char *text_clean (const char *s);

/* A copy of clean text s cut to at most width columns, ending in "…" when cut. */
char *text_clip (const char *s, size_t width);

/* Writes s and then spaces up to width columns (no padding when s is wider). */
int text_pad (FILE *out, const char *s, size_t width, bool right);

/* An aligned table: a header row (none when headers is NULL), then rows of n columns;
 * cells are cleaned on add. */
typedef struct text_table text_table_t;

text_table_t *text_table_new (size_t ncols, const char *const *headers);
void text_table_right (text_table_t *t, size_t col);   /* right-align a (numeric) column */
void text_table_add (text_table_t *t, const char *const *cells);   /* NULL cell = "" */
int  text_table_print (const text_table_t *t, FILE *out);          /* 0 or -1 */
void text_table_destroy (text_table_t **t_p);

#endif
